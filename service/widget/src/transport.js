// Talking to the server: a WebSocket (/v1/conversations/{id}/ws) with reconnect and backoff,
// falling back to server-sent events (POST /v1/conversations/{id}/messages) and then to
// POST /v1/messages. Every channel's answers become the same events for onEvent.
var WS_FAILURES_BEFORE_FALLBACK = 3;

Widget.prototype.headers = function (json) {
  var headers = {};
  if (json) headers["Content-Type"] = "application/json";
  if (this.config.key) headers["X-API-Key"] = this.config.key;
  if (this.conversation && this.conversation.token) headers.Authorization = "Bearer " + this.conversation.token;
  return headers;
};

Widget.prototype.query = function () {
  var params = [];
  if (this.conversation.token) params.push("token=" + encodeURIComponent(this.conversation.token));
  if (this.config.key) params.push("key=" + encodeURIComponent(this.config.key));
  return params.length ? "?" + params.join("&") : "";
};

/** Where a file an agent sent is fetched; the token goes in the query, as an <img> sends no header. */
Widget.prototype.mediaUrl = function (key) {
  return this.base + "/v1/conversations/" + encodeURIComponent(this.conversation.id) + "/media/" + encodeURIComponent(key) + this.query();
};

Widget.prototype.connect = function () {
  var self = this;
  if (this.socket || this.mode !== "ws" || this.destroyed) return;
  this.socket = "connecting";
  this.ensureConversation().then(function (conversation) {
    if (self.mode !== "ws" || self.destroyed) { self.socket = null; return; }
    var url = self.base.replace(/^http/, "ws") + "/v1/conversations/" + encodeURIComponent(conversation.id) + "/ws" + self.query();
    var socket;
    try { socket = new WebSocket(url); } catch (e) { self.socket = null; self.socketFailed(false); return; }
    var opened = false;
    self.socket = socket;
    socket.onopen = function () {
      opened = true; self.backoff = 0; self.wsFailures = 0; self.setStatus(null);
      clearInterval(self.pinger);
      self.pinger = setInterval(function () { self.sendFrame({ type: "ping" }); }, 25000);
      self.flush();
    };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      self.onEvent(data);
    };
    socket.onclose = function (event) {
      clearInterval(self.pinger);
      if (self.socket === socket) self.socket = null;
      if (!self.destroyed) self.socketFailed(opened, event.code);
    };
  }, function () {
    self.socket = null;
    self.socketFailed(false);
  });
};

Widget.prototype.socketFailed = function (wasOpen, code) {
  var self = this;
  if (!wasOpen) this.wsFailures++;
  if (this.wsFailures >= WS_FAILURES_BEFORE_FALLBACK && this.conversation) {
    this.wsFailures = 0;
    this.diagnose();
    return;
  }
  if (wasOpen) this.setStatus(this.t.offline);
  var delay = Math.min(30000, 1000 * Math.pow(2, this.backoff++)) * (0.75 + Math.random() / 2);
  clearTimeout(this.reconnectTimer);
  this.reconnectTimer = setTimeout(function () { self.connect(); }, delay);
};

/** The socket never opens: either the stored conversation is gone (start a new one) or
 * WebSockets do not get through here (a proxy, an old server): keep chatting over HTTP. */
Widget.prototype.diagnose = function () {
  var self = this;
  fetch(this.base + "/v1/conversations/" + encodeURIComponent(this.conversation.id), { headers: this.headers(false) })
    .then(function (response) {
      if (response.status === 404 && !self.forgotOnce) {
        self.forgotOnce = true;
        self.forget();
        self.connect();
        return;
      }
      self.mode = "sse";
      self.setStatus(null);
      self.loadHistory();
      self.followAgents();
      self.flush();
    })
    .catch(function () { self.socketFailed(false); });
};

/** Without a WebSocket, an agent's events (joined, typing, replies) come as server-sent events. */
Widget.prototype.followAgents = function () {
  var self = this;
  if (this.following || !this.conversation || !this.conversation.token || !window.EventSource) return;
  this.following = new EventSource(this.base + "/v1/conversations/" + encodeURIComponent(this.conversation.id) + "/events" + this.query());
  this.following.onmessage = function (message) { self.onEvent(JSON.parse(message.data)); };
};

Widget.prototype.sendFrame = function (frame) {
  if (!this.socket || this.socket === "connecting" || this.socket.readyState !== 1) return false;
  this.socket.send(JSON.stringify(frame));
  return true;
};

Widget.prototype.loadHistory = function () {
  var self = this;
  if (!this.conversation || !this.conversation.token) return;
  fetch(this.base + "/v1/conversations/" + encodeURIComponent(this.conversation.id), { headers: this.headers(false) })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (body) { if (body) self.onEvent({ event: "history", turns: body.turns, handoff: body.handoff }); })
    .catch(function () { /* history is a nicety in fallback mode */ });
};

Widget.prototype.flush = function () {
  for (var id in this.pending) {
    var item = this.pending[id];
    if (item.state === "sending" && !item.sent) {
      if (this.mode === "ws") item.sent = this.sendFrame({ type: "message", message_id: id, parts: item.parts });
      else this.deliverHttp(id);
    }
  }
};

Widget.prototype.deliverHttp = function (id) {
  var self = this, item = this.pending[id];
  if (!item || item.sent) return;
  item.sent = true;
  var body = JSON.stringify({ type: "message", message_id: id, parts: item.parts });
  var request = this.mode === "sse"
    ? fetch(this.base + "/v1/conversations/" + encodeURIComponent(this.conversation.id) + "/messages",
        { method: "POST", headers: Object.assign(this.headers(true), { Accept: "text/event-stream" }), body: body })
    : Promise.resolve({ status: 404 });
  request.then(function (response) {
    if (response.status === 404 || response.status === 405) {
      self.mode = "rest";
      return self.deliverRest(id);
    }
    if (!response.ok || !response.body) return self.refused(id, response);
    return self.readEvents(response.body);
  }).catch(function () { item.sent = false; self.failed(id); });
};

/** Reads a text/event-stream body, handing each `data:` JSON to onEvent. */
Widget.prototype.readEvents = function (body) {
  var self = this, reader = body.getReader(), decoder = new TextDecoder(), buffer = "";
  function pump() {
    return reader.read().then(function (chunk) {
      buffer += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
      var blocks = buffer.split("\n\n");
      buffer = blocks.pop();
      blocks.forEach(function (block) {
        var data = block.split("\n").filter(function (l) { return l.indexOf("data:") === 0; })
          .map(function (l) { return l.slice(5).trim(); }).join("\n");
        if (data) { try { self.onEvent(JSON.parse(data)); } catch (e) { /* skip a bad event */ } }
      });
      if (!chunk.done) return pump();
    });
  }
  return pump();
};

/** A refused POST as an error event, with its code and Retry-After (a 503 is retried). */
Widget.prototype.refused = function (id, response) {
  var self = this;
  return response.json().then(function (body) {
    var error = (body && body.error) || {};
    self.onEvent({ event: "error", message_id: id, code: error.code, message: error.message,
      retry_after: Number(response.headers.get("Retry-After")) || null });
  });
};

/** The plain JSON endpoint every fusiondesk server has; its answer becomes the same events. */
Widget.prototype.deliverRest = function (id) {
  var self = this, item = this.pending[id];
  return fetch(this.base + "/v1/messages", {
    method: "POST", headers: this.headers(true),
    body: JSON.stringify({ conversation_id: this.conversation.id, message_id: id, parts: item.parts })
  }).then(function (response) {
    if (!response.ok) return self.refused(id, response);
    return response.json().then(function (body) {
      self.onEvent({ event: "received", message_id: id });
      (body.parts || []).forEach(function (part) {
        var transcript = part.details && part.details.transcript;
        if (transcript) self.onEvent({ event: "transcript", message_id: id, text: transcript });
      });
      self.onEvent({ event: "reply", message_id: id, text: body.reply, quick_replies: body.quick_replies,
        intent: body.intent, confidence: body.confidence, handoff: body.handoff, chunk: false });
      if (body.handoff) self.onEvent({ event: "handoff", message_id: id });
    });
  });
};

Widget.prototype.destroySocket = function () {
  clearTimeout(this.reconnectTimer);
  clearInterval(this.pinger);
  var socket = this.socket;
  this.socket = null;
  if (socket && socket !== "connecting") { socket.onclose = null; socket.close(); }
  if (this.following) { this.following.close(); this.following = null; }
};
