// The widget's DOM: the launcher and panel, message rows, typing, notices and accessibility
// labels. Rendering only: what to show is decided in messages.js and main.js.
function clock(seconds) {
  return Math.floor(seconds / 60) + ":" + ("0" + Math.floor(seconds % 60)).slice(-2);
}

Widget.prototype.build = function () {
  var t = this.t, self = this, config = this.config;
  this.host = el("div", { id: "fusiondesk-widget", "data-theme": this.theme(), "data-position": config.position === "left" ? "left" : "right" });
  var shadow = this.host.attachShadow({ mode: "open" });
  var style = el("style", { text: CSS });
  if (config.color && /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(config.color)) {
    style.textContent += ":host{--fd-primary:" + config.color + ";--fd-on-primary:" + readableOn(config.color) + "}";
  }
  this.badge = el("span", { class: "badge", hidden: true, "aria-hidden": "true" });
  this.launcher = el("button", { class: "launcher", type: "button", "aria-label": t.open, "aria-expanded": "false", "aria-controls": "fd-panel" },
    [icon("chat", "when-closed"), icon("down", "when-open"), this.badge]);
  this.launcher.addEventListener("click", function () { self.toggle(); });

  this.banner = el("p", { class: "banner", role: "status", hidden: true, text: t.handoff });
  this.status = el("p", { class: "status", role: "status", hidden: true });
  this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t.messages, tabindex: "0" });
  this.notice = el("p", { class: "notice", role: "alert", hidden: true });
  this.previews = el("div", { class: "previews", hidden: true });
  this.input = el("textarea", { rows: "1", placeholder: t.placeholder, "aria-label": t.placeholder, enterkeyhint: "send" });
  this.fileInput = el("input", { type: "file", accept: IMAGE_TYPES.join(","), multiple: true, hidden: true, tabindex: "-1", "aria-hidden": "true" });
  this.attachBtn = el("button", { class: "icon", type: "button", "aria-label": t.attach, title: t.attach }, [icon("image")]);
  this.micBtn = el("button", { class: "icon", type: "button", "aria-label": t.record, title: t.record }, [icon("mic")]);
  this.sendBtn = el("button", { class: "sendbtn", type: "button", "aria-label": t.send, title: t.send, disabled: true }, [icon("send")]);
  this.inputRow = el("div", { class: "inputrow" }, [this.attachBtn, this.micBtn, this.input, this.sendBtn, this.fileInput]);
  this.timer = el("span", { class: "timer", "aria-live": "off", text: "0:00" });
  this.meterBar = el("span");
  this.cancelRecBtn = el("button", { class: "icon", type: "button", "aria-label": t.cancel, title: t.cancel }, [icon("close")]);
  this.sendRecBtn = el("button", { class: "sendbtn", type: "button", "aria-label": t.stopSend, title: t.stopSend }, [icon("send")]);
  this.recorderRow = el("div", { class: "recorder", hidden: true, role: "group", "aria-label": t.voice }, [
    el("span", { class: "dot", "aria-hidden": "true" }), this.timer,
    el("div", { class: "meter", role: "meter", "aria-label": "Level", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" }, [this.meterBar]),
    this.cancelRecBtn, this.sendRecBtn]);
  this.drop = el("div", { class: "drop", hidden: true, text: t.dropHere });
  this.titleEl = el("h2", { class: "title", id: "fd-title", text: t.title });
  this.resetBtn = el("button", { class: "icon", type: "button", "aria-label": t.reset, title: t.reset }, [icon("refresh")]);
  this.closeBtn = el("button", { class: "icon", type: "button", "aria-label": t.close, title: t.close }, [icon("close")]);
  this.panel = el("div", { class: "panel", id: "fd-panel", role: "dialog", "aria-labelledby": "fd-title", hidden: true }, [
    el("div", { class: "head" }, [
      el("div", { class: "avatar", "aria-hidden": "true" }, [icon("chat")]),
      el("div", { class: "titles" }, [this.titleEl, el("p", { class: "subtitle", text: t.subtitle })]),
      this.resetBtn, this.closeBtn]),
    this.banner, this.status, this.log,
    el("div", { class: "composer" }, [this.notice, this.previews, this.inputRow, this.recorderRow]),
    this.drop]);
  shadow.appendChild(style);
  shadow.appendChild(this.panel);
  shadow.appendChild(this.launcher);
  this.shadow = shadow;
  this.wire();
  this.greet();
  (document.body || document.documentElement).appendChild(this.host);
};

Widget.prototype.autosize = function () {
  this.input.style.height = "auto";
  this.input.style.height = Math.min(this.input.scrollHeight + 2, 120) + "px";
};

Widget.prototype.updateSend = function () {
  this.sendBtn.disabled = !this.input.value.trim() && !this.attachments.length;
};

Widget.prototype.greet = function () {
  var text = this.user && this.user.name ? this.t_("greetingNamed", { name: this.user.name }) : this.t.greeting;
  if (this.greeting) this.greeting.remove();
  this.greeting = this.renderRow("bot", { text: text, time: null });
  this.log.insertBefore(this.greeting, this.log.firstChild);
};

Widget.prototype.showUnread = function () {
  this.badge.hidden = this.unread === 0;
  this.badge.textContent = this.unread > 9 ? "9+" : String(this.unread);
  this.launcher.setAttribute("aria-label", this.panel.hidden
    ? this.t.open + (this.unread ? " (" + this.t_("unread", { n: this.unread }) + ")" : "")
    : this.t.close);
};

Widget.prototype.renderRow = function (role, message) {
  var t = this.t, bubble = el("div", { class: "bubble" });
  (message.images || []).forEach(function (url) { bubble.appendChild(el("img", { src: url, alt: t.image })); });
  if (message.imageCount) bubble.appendChild(el("span", { class: "tag" }, [icon("image"), document.createTextNode(t.image + (message.imageCount > 1 ? " ×" + message.imageCount : ""))]));
  if (message.voice) {
    var tag = el("span", { class: "tag voice" }, [icon("mic"), document.createTextNode(t.voice + (message.duration ? " " + clock(message.duration) : ""))]);
    bubble.appendChild(tag);
    if (message.text) bubble.appendChild(el("br"));
  }
  // An agent's files: images inline (named by their file name), anything else as a download.
  var self = this;
  (message.files || []).forEach(function (file) {
    var url = self.mediaUrl(file.key);
    bubble.appendChild(file.media_type.indexOf("image/") === 0
      ? el("img", { src: url, alt: file.name })
      : el("a", { class: "file", href: url, download: file.name, text: file.name }));
  });
  if (message.text) {
    var body = el("div", { class: "text" });
    body.appendChild(markdown(message.text));
    bubble.appendChild(body);
  }
  var who = message.agent || (role === "customer" ? t.you : t.bot);
  var meta = el("div", { class: "meta" }, [el("span", { class: message.agent ? "who" : "sr", text: who + (message.agent ? " " : ", ") })]);
  if (message.time) {
    var when = new Date(message.time);
    meta.appendChild(el("time", { datetime: when.toISOString(), text: when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) }));
  }
  meta.appendChild(el("span", { class: "state" }));
  return el("div", { class: "row " + role + (message.agent ? " agent" : ""), "data-role": message.agent ? "agent" : role }, [bubble, meta]);
};

Widget.prototype.setTranscript = function (row, text) {
  var bubble = row.querySelector(".bubble"), body = bubble.querySelector(".text");
  if (!body) { bubble.appendChild(el("br")); body = bubble.appendChild(el("div", { class: "text" })); }
  body.textContent = "";
  body.appendChild(markdown(text));
};

Widget.prototype.setRowState = function (row, state, id) {
  var self = this, slot = row.querySelector(".state");
  var item = id && this.pending[id];
  for (var key in this.pending) if (this.pending[key].row === row) this.pending[key].state = state;
  slot.textContent = "";
  slot.className = "state";
  if (state === "sending") slot.textContent = " · " + this.t.sending;
  if (state === "failed" && item) {
    slot.className = "state failed";
    slot.textContent = " · " + this.t.failed;
    var retry = el("button", { class: "retry", type: "button", text: this.t.retry });
    retry.addEventListener("click", function () { self.retry(id); });
    slot.appendChild(retry);
  }
};

Widget.prototype.showQuickReplies = function (row, replies) {
  var self = this;
  this.clearQuickReplies();
  if (!replies || !replies.length) return;
  var box = el("div", { class: "quick", role: "group", "aria-label": "Suggestions" });
  replies.forEach(function (text) {
    var button = el("button", { type: "button", text: text });
    button.addEventListener("click", function () { self.sendParts([{ type: "text", text: text }], { text: text }); self.input.focus(); });
    box.appendChild(button);
  });
  row.appendChild(box);
  this.quick = box;
};

Widget.prototype.clearQuickReplies = function () {
  if (this.quick) { this.quick.remove(); this.quick = null; }
};

Widget.prototype.showTyping = function (label) {
  if (this.typing) return;
  this.typing = el("div", { class: "row bot typing", role: "status", "aria-label": label || this.t.typing },
    [el("div", { class: "bubble" }, [el("i"), el("i"), el("i")])]);
  this.log.appendChild(this.typing);
  this.scrollDown();
};

Widget.prototype.hideTyping = function () {
  if (this.typing) { this.typing.remove(); this.typing = null; }
};

Widget.prototype.scrollDown = function () { this.log.scrollTop = this.log.scrollHeight; };

Widget.prototype.setStatus = function (text) {
  this.status.hidden = !text;
  this.status.textContent = text || "";
};

Widget.prototype.showNotice = function (text) { this.notice.textContent = text; this.notice.hidden = false; };
Widget.prototype.hideNotice = function () { this.notice.hidden = true; };
