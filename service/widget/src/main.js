// The widget element and the public API, window.FusionDesk. Embed:
// <script src="https://HOST/widget.js" data-key="PUBLIC_KEY" data-title="Support"></script>
// Last in the bundle: everything it starts is defined by then.
function Widget(config) {
  this.config = config;
  this.base = apiBase(config);
  var lang = (config.lang || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  this.t = Object.assign({}, STRINGS.en, STRINGS[lang] || {}, config.strings || {});
  if (config.title) this.t.title = config.title;
  if (config.subtitle) this.t.subtitle = config.subtitle;
  if (config.greeting) this.t.greeting = config.greeting;
  this.storageKey = "fusiondesk:" + this.base + ":" + (config.key || "default");
  this.listeners = {};
  this.pending = {}; // message id -> {parts, row, timer}
  this.attachments = [];
  this.unread = 0;
  this.backoff = 0;
  this.wsFailures = 0;
  this.mode = "ws"; // "ws" | "sse" | "rest": downgraded when the server lacks a channel
  this.user = null;
  this.build();
  var saved = this.saved();
  if (saved) this.connect(); // resume: history and unread replies arrive without opening
  if (config.open === true || config.open === "true") this.open();
}

Widget.prototype.emit = function (name, detail) {
  (this.listeners[name] || []).forEach(function (fn) {
    try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
  });
};

Widget.prototype.wire = function () {
  var self = this;
  this.closeBtn.addEventListener("click", function () { self.close(); });
  this.resetBtn.addEventListener("click", function () { self.reset(); self.input.focus(); });
  this.panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); self.close(); }
  });
  this.input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      self.submit();
    }
  });
  this.input.addEventListener("input", function () { self.autosize(); self.updateSend(); });
  this.sendBtn.addEventListener("click", function () { self.submit(); });
  this.wireAttachments();
  this.wireRecorder();
};

// Opening and closing the panel (focus moves in, and back to the launcher).
Widget.prototype.open = function () {
  if (!this.panel.hidden) return;
  this.lastFocus = document.activeElement;
  this.panel.hidden = false;
  this.launcher.setAttribute("aria-expanded", "true");
  this.launcher.setAttribute("aria-label", this.t.close);
  this.unread = 0;
  this.showUnread();
  this.scrollDown();
  this.input.focus();
  if (!this.socket && this.mode === "ws") this.connect();
  this.emit("open", {});
};

Widget.prototype.close = function () {
  if (this.panel.hidden) return;
  if (this.recording) this.stopRecording(false);
  this.panel.hidden = true;
  this.launcher.setAttribute("aria-expanded", "false");
  this.launcher.setAttribute("aria-label", this.t.open);
  this.launcher.focus(); // focus returns to what opened the chat
  this.emit("close", {});
};

Widget.prototype.toggle = function () { if (this.panel.hidden) this.open(); else this.close(); };

Widget.prototype.reset = function () {
  this.destroySocket();
  this.forget();
  this.pending = {};
  this.mode = "ws";
  this.wsFailures = 0;
  this.backoff = 0;
  this.log.textContent = "";
  this.banner.hidden = true;
  this.hideTyping();
  this.clearQuickReplies();
  this.greet();
  if (!this.panel.hidden) this.connect();
};

Widget.prototype.destroy = function () {
  this.destroyed = true;
  this.destroySocket();
  if (this.recording) this.stopRecording(false);
  this.host.remove();
};

var widget = null;
var queued = {}; // listeners registered before init
var api = {
  version: "0.1.0",
  init: function (options) {
    var previous = widget ? widget.config : readScriptConfig();
    var listeners = widget ? widget.listeners : queued;
    if (widget) widget.destroy();
    widget = new Widget(Object.assign({}, previous, options || {}));
    widget.listeners = listeners;
    return api;
  },
  open: function () { ensure().open(); return api; },
  close: function () { ensure().close(); return api; },
  toggle: function () { ensure().toggle(); return api; },
  send: function (text) {
    if (text && String(text).trim()) ensure().sendParts([{ type: "text", text: String(text) }], { text: String(text) });
    return api;
  },
  setUser: function (user) {
    var w = ensure();
    w.user = user || null;
    w.greet();
    return api;
  },
  reset: function () { ensure().reset(); return api; },
  on: function (name, fn) {
    var target = widget ? widget.listeners : queued;
    (target[name] = target[name] || []).push(fn);
    return api;
  },
  off: function (name, fn) {
    var target = widget ? widget.listeners : queued;
    target[name] = (target[name] || []).filter(function (f) { return f !== fn; });
    return api;
  }
};

function ensure() { if (!widget) api.init(); return widget; }

window.FusionDesk = api;
var initial = readScriptConfig();
if (initial.autoInit !== false) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { if (!widget) api.init(); });
  else api.init();
}
