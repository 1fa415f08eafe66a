// The conversation's messages: every message sent is tracked until the server confirms it;
// server events update those rows and add the bot's.
var SEND_TIMEOUT_MS = 20000;
// Passing faults (the service starting or stopping, no worker or store for a moment): the
// message goes again, with the same id, which the server answers once however often it comes.
var RETRYABLE_CODES = ["not_ready", "shutting_down", "store_unavailable", "broker_unavailable", "no_workers", "conversation_busy", "rate_limited"];
var AUTO_RETRIES = 6;
var RETRY_DELAY_MS = 5000; // the server's Retry-After for these, when the event carries none

Widget.prototype.submit = function () {
  var text = this.input.value.trim();
  if (!text && !this.attachments.length) return;
  if (this.attachments.some(function (a) { return !a.blob; })) return; // still downscaling
  var parts = [], previews = [], self = this;
  var images = this.attachments.splice(0);
  this.renderPreviews();
  Promise.all(images.map(function (a) { return blobToBase64(a.blob); })).then(function (encoded) {
    encoded.forEach(function (data, i) {
      parts.push({ type: "image", data: data, media_type: images[i].blob.type || "image/png" });
      previews.push(images[i].url);
    });
    if (text) parts.push({ type: "text", text: text });
    self.sendParts(parts, { text: text, images: previews });
  });
  this.input.value = "";
  this.autosize();
  this.updateSend();
  this.hideNotice();
};

Widget.prototype.sendParts = function (parts, shown) {
  var id = uid();
  var row = this.renderRow("customer", { text: shown.text, images: shown.images, voice: shown.voice, time: Date.now() });
  this.log.appendChild(row);
  this.clearQuickReplies();
  this.scrollDown();
  this.pending[id] = { parts: parts, row: row };
  this.emit("message", { role: "customer", message_id: id, text: shown.text || "", parts: parts.map(function (p) { return p.type; }) });
  this.deliver(id);
};

Widget.prototype.deliver = function (id) {
  var self = this, item = this.pending[id];
  if (!item) return;
  this.setRowState(item.row, "sending");
  clearTimeout(item.timer);
  item.timer = setTimeout(function () { self.failed(id); }, SEND_TIMEOUT_MS);
  this.ensureConversation().then(function () {
    if (self.mode === "ws") {
      item.sent = self.sendFrame({ type: "message", message_id: id, parts: item.parts });
      if (!item.sent) self.connect(); // queued: flushed once the socket opens
    } else self.deliverHttp(id);
  }, function () { self.failed(id); });
};

Widget.prototype.failed = function (id) {
  var item = this.pending[id];
  if (!item) return;
  clearTimeout(item.timer);
  item.sent = false;
  this.hideTyping();
  this.setRowState(item.row, "failed", id);
};

Widget.prototype.retry = function (id) {
  var item = this.pending[id];
  if (!item) return;
  if (this.mode === "ws" && !this.socket) { this.backoff = 0; this.connect(); }
  this.deliver(id);
};

Widget.prototype.retryLater = function (id, seconds) {
  var self = this, item = this.pending[id];
  item.retries = (item.retries || 0) + 1;
  item.sent = false;
  clearTimeout(item.timer);
  this.setRowState(item.row, "sending");
  item.timer = setTimeout(function () { self.retry(id); }, seconds > 0 ? seconds * 1000 : RETRY_DELAY_MS);
};

// Server events, from whichever channel delivered them.
Widget.prototype.onEvent = function (event) {
  var item = event.message_id && this.pending[event.message_id];
  switch (event.event) {
    case "history": this.renderHistory(event.turns || [], event.handoff); this.showAgentState(event.state, event.agent); break;
    case "received":
      if (item) { item.state = "received"; clearTimeout(item.timer); this.setRowState(item.row, "sent"); }
      break;
    case "transcript":
      if (item) this.setTranscript(item.row, event.text);
      break;
    case "typing": this.showTyping(); break;
    case "reply": this.onReply(event, item); break;
    case "handoff": this.onHandoff(event.message_id); break;
    // A person has the conversation: the message is stored for them, the bot stays silent.
    case "held": this.hideTyping(); if (item) { clearTimeout(item.timer); delete this.pending[event.message_id]; } break;
    case "agent_joined": this.showAgentState("agent", event.agent); break;
    case "agent_typing": this.hideTyping(); this.showTyping(this.t_("agentTyping", { name: event.agent })); break;
    case "agent_message": this.onAgentMessage(event.entries || []); break;
    case "handed_back": case "resolved": this.showAgentState("bot", null); break;
    case "error":
      this.hideTyping();
      if (item && RETRYABLE_CODES.indexOf(event.code) >= 0 && (item.retries || 0) < AUTO_RETRIES) {
        this.retryLater(event.message_id, event.retry_after);
        this.showNotice(this.t.delayed);
      } else if (item) { this.failed(event.message_id); this.showNotice(event.message || this.t.failed); }
      break;
  }
};

Widget.prototype.onReply = function (event, item) {
  if (event.chunk) { // a streamed chunk: grow one bubble until the final reply replaces it
    this.hideTyping();
    if (!this.streaming) { this.streaming = this.renderRow("bot", { text: "", time: Date.now() }); this.log.appendChild(this.streaming); }
    var bubble = this.streaming.querySelector(".bubble");
    bubble.textContent += event.text || "";
    this.scrollDown();
    return;
  }
  this.hideTyping();
  if (this.streaming) { this.streaming.remove(); this.streaming = null; }
  if (item) { clearTimeout(item.timer); delete this.pending[event.message_id]; }
  var row = this.renderRow("bot", { text: event.text, time: Date.now() });
  this.log.appendChild(row);
  this.showQuickReplies(row, event.quick_replies);
  this.scrollDown();
  if (this.panel.hidden) { this.unread++; this.showUnread(); }
  this.emit("message", { role: "bot", message_id: event.message_id, text: event.text, intent: event.intent,
    confidence: event.confidence, quick_replies: event.quick_replies || [], handoff: !!event.handoff });
  if (event.handoff) this.onHandoff(event.message_id);
};

Widget.prototype.onHandoff = function (messageId) {
  if (!this.banner.hidden) return;
  this.banner.hidden = false;
  this.emit("handoff", { message_id: messageId || null });
};

Widget.prototype.showAgentState = function (state, agent) {
  if (state === "agent" && agent) {
    this.banner.textContent = this.t_("agentJoined", { name: agent });
    this.banner.hidden = false;
  } else if (state === "bot" && !this.banner.hidden) {
    this.banner.textContent = this.t.handedBack;
  }
};

Widget.prototype.onAgentMessage = function (entries) {
  var self = this;
  this.hideTyping();
  entries.forEach(function (entry) {
    self.log.appendChild(self.renderRow("bot", { text: entry.text, agent: entry.agent, files: entry.attachments, time: (entry.created_at || 0) * 1000 }));
    self.emit("message", { role: "agent", message_id: entry.message_id, text: entry.text, agent: entry.agent, attachments: entry.attachments || [] });
  });
  if (this.panel.hidden) { this.unread++; this.showUnread(); }
  this.scrollDown();
};

Widget.prototype.renderHistory = function (turns, handoff) {
  var self = this, lastBot = null;
  this.hideTyping();
  // Rows of messages still waiting for the server stay; everything else is redrawn from history.
  var keep = Object.keys(this.pending).filter(function (id) {
    return !turns.some(function (turn) { return turn.message_id === id; });
  });
  Array.prototype.slice.call(this.log.children).forEach(function (row) {
    if (row !== self.greeting && !keep.some(function (id) { return self.pending[id].row === row; })) row.remove();
  });
  turns.forEach(function (turn) {
    var time = (turn.created_at || 0) * 1000;
    if (turn.role === "customer") {
      var kinds = (turn.parts || []).map(function (p) { return p.type; });
      self.log.insertBefore(self.renderRow("customer", {
        text: turn.transcript || (kinds.indexOf("audio") < 0 ? turn.text : "") || "",
        voice: kinds.indexOf("audio") >= 0, imageCount: kinds.filter(function (k) { return k === "image"; }).length, time: time
      }), self.firstPendingRow(keep));
      if (self.pending[turn.message_id]) { clearTimeout(self.pending[turn.message_id].timer); self.pending[turn.message_id].row.remove(); delete self.pending[turn.message_id]; }
    } else if (turn.text || turn.reply || turn.attachments) {
      lastBot = self.renderRow("bot", { text: turn.text || turn.reply, agent: turn.agent, files: turn.attachments, time: time });
      lastBot.quick = turn.quick_replies;
      self.log.insertBefore(lastBot, self.firstPendingRow(keep));
      if (turn.handoff) handoff = true;
    }
  });
  if (lastBot && !keep.length) this.showQuickReplies(lastBot, lastBot.quick);
  if (handoff) this.onHandoff(null);
  this.scrollDown();
};

Widget.prototype.firstPendingRow = function (ids) {
  return ids.length ? this.pending[ids[0]].row : null;
};
