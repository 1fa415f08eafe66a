/* fusiondesk agent inbox: the queue, one conversation, claim / reply / note / hand back /
   resolve, live over WS /v1/agent/feed. The key and name stay in sessionStorage. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var session = window.sessionStorage;
  var state = { key: session.getItem("fd-agent-key") || "", name: session.getItem("fd-agent-name") || "",
    open: null, conversation: null, socket: null, lastTyping: 0, retry: 500 };

  function headers(json) {
    var h = json ? { "Content-Type": "application/json" } : {};
    if (state.key) h["X-API-Key"] = state.key;
    if (state.name) h["X-Agent-Name"] = state.name;
    return h;
  }

  // A FormData body (a reply with files) goes as multipart, with the boundary the browser sets.
  function call(method, path, body) {
    var form = body instanceof FormData;
    return fetch(path, { method: method, headers: headers(!form), body: form ? body : body ? JSON.stringify(body) : undefined })
      .then(function (response) {
        if (response.status === 204) return null;
        return response.json().then(function (data) {
          if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
          return data;
        });
      });
  }

  function problem(error) { $("problem").textContent = error ? String(error.message || error) : ""; }

  function text(tag, value, cls) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (cls) node.className = cls;
    return node;
  }

  function percent(value) { return Math.round((value || 0) * 100) + "%"; }

  function minutes(seconds) {
    return seconds < 60 ? Math.round(seconds) + " s" : Math.round(seconds / 60) + " min";
  }

  function renderQueue(conversations) {
    var list = $("queue");
    list.textContent = "";
    $("queue-count").textContent = "(" + conversations.length + ")";
    conversations.forEach(function (item) {
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.conversation = item.conversation_id;
      if (item.conversation_id === state.open) button.setAttribute("aria-current", "true");
      button.appendChild(text("span", item.state === "waiting" ? "Waiting" : "With " + item.agent, "status"));
      button.appendChild(text("span", (item.intent || "?") + " " + percent(item.confidence) + ", " +
        (item.reason || "") + ", " + minutes(item.waiting_seconds), "meta"));
      button.appendChild(text("span", item.last_message || "", "meta"));
      button.addEventListener("click", function () { openConversation(item.conversation_id); });
      var row = document.createElement("li");
      row.appendChild(button);
      list.appendChild(row);
    });
  }

  function refreshQueue() {
    return call("GET", "/v1/agent/queue").then(function (data) { renderQueue(data.conversations); }, problem);
  }

  // A customer's audio or image (kept once handed off), playable or shown in place.
  function mediaUrl(key) {
    return "/v1/agent/conversations/" + encodeURIComponent(state.open) + "/media/" + encodeURIComponent(key) +
      (state.key ? "?key=" + encodeURIComponent(state.key) : "");
  }

  function media(part) {
    if (!part.media) return text("span", "Attachment: " + part.type + " (kept only after a handoff)", "understood");
    var src = mediaUrl(part.media);
    var node = document.createElement(part.type === "audio" ? "audio" : "img");
    if (part.type === "audio") { node.controls = true; node.setAttribute("aria-label", "Customer's voice message"); }
    else node.alt = "Customer's image";
    node.src = src;
    node.className = "media";
    return node;
  }

  // A file an agent sent: an image in place (named by its file name), anything else as a link.
  function sentFile(file) {
    var image = file.media_type.indexOf("image/") === 0;
    var node = document.createElement(image ? "img" : "a");
    if (image) { node.src = mediaUrl(file.key); node.alt = file.name; node.className = "media"; }
    else { node.href = mediaUrl(file.key); node.textContent = "File: " + file.name; }
    return node;
  }

  var WHO = { customer: "Customer", bot: "Bot", note: "Note" };

  function addEntry(entry) {
    var id = entry.role + ":" + entry.message_id;
    // An entry can come twice: from the feed and from the answer to this agent's own POST.
    if ($("entries").querySelector("[data-id='" + CSS.escape(id) + "']")) return;
    var item = document.createElement("li");
    item.dataset.id = id;
    item.className = entry.role;
    item.dataset.role = entry.role;
    item.appendChild(text("span", entry.role === "agent" ? "Agent " + entry.agent :
      (WHO[entry.role] || entry.role) + (entry.agent ? " by " + entry.agent : ""), "who"));
    if (entry.text) item.appendChild(text("span", entry.text, "said"));
    if (entry.transcript) item.appendChild(text("span", "Transcript: " + entry.transcript, "understood transcript"));
    if (entry.ocr) item.appendChild(text("span", "Text in image: " + entry.ocr, "understood ocr"));
    (entry.parts || []).forEach(function (part) { if (part.type !== "text") item.appendChild(media(part)); });
    (entry.attachments || []).forEach(function (file) { item.appendChild(sentFile(file)); });
    if (entry.role === "customer" && entry.intent) {
      var ranking = (entry.ranking || []).slice(0, 3).map(function (r) { return r.intent + " " + percent(r.confidence); });
      item.appendChild(text("span", "Understood: " + entry.intent + " " + percent(entry.confidence) +
        (ranking.length ? " (" + ranking.join(", ") + ")" : ""), "understood"));
    }
    $("entries").appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function showState(conversationState) {
    state.conversation = conversationState;
    var mine = conversationState.state === "agent" && conversationState.agent === (state.name || "agent");
    var held = conversationState.state === "waiting" || conversationState.state === "agent";
    $("conversation-state").textContent = "State: " + conversationState.state +
      (conversationState.agent ? " (" + conversationState.agent + ")" : "") +
      (conversationState.reason ? ", handed off: " + conversationState.reason : "");
    $("claim").disabled = conversationState.state !== "waiting";
    $("handback").disabled = !(mine || conversationState.state === "waiting");
    $("resolve").disabled = conversationState.state === "resolved" || (conversationState.state === "agent" && !mine);
    $("reply-text").disabled = $("reply-files").disabled = $("send-reply").disabled = !mine;
    $("note-text").disabled = $("send-note").disabled = !held && conversationState.state !== "bot";
  }

  function openConversation(id) {
    state.open = id;
    problem(null);
    return call("GET", "/v1/agent/conversations/" + encodeURIComponent(id)).then(function (data) {
      $("conversation-title").textContent = "Conversation " + id;
      $("entries").textContent = "";
      data.turns.forEach(addEntry);
      showState(data.state);
      refreshQueue();
    }, problem);
  }

  function act(action) {
    if (!state.open) return;
    call("POST", "/v1/agent/conversations/" + encodeURIComponent(state.open) + "/" + action)
      .then(function (data) { showState(data); refreshQueue(); }, problem);
  }

  function onEvent(event) {
    if (event.event === "queue") { renderQueue(event.conversations); return; }
    if (event.event === "pong") return;
    refreshQueue();
    if (event.conversation_id !== state.open) return;
    (event.entries || []).forEach(addEntry);
    if (["agent_joined", "handed_back", "resolved", "handoff"].indexOf(event.event) >= 0) openConversation(state.open);
  }

  function connect() {
    if (state.socket) state.socket.close();
    var query = "?agent=" + encodeURIComponent(state.name) + (state.key ? "&key=" + encodeURIComponent(state.key) : "");
    var socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/agent/feed" + query);
    state.socket = socket;
    socket.onopen = function () { $("connection").textContent = "Connected as " + (state.name || "agent"); state.retry = 500; };
    socket.onmessage = function (message) { onEvent(JSON.parse(message.data)); };
    socket.onclose = function () {
      if (state.socket !== socket) return;
      $("connection").textContent = "Reconnecting…";
      setTimeout(connect, state.retry);
      state.retry = Math.min(state.retry * 2, 10000);
    };
  }

  $("login").addEventListener("submit", function (e) {
    e.preventDefault();
    state.key = $("agent-key").value.trim();
    state.name = $("agent-name").value.trim();
    session.setItem("fd-agent-key", state.key);
    session.setItem("fd-agent-name", state.name);
    connect();
  });
  $("claim").addEventListener("click", function () { act("claim"); });
  $("handback").addEventListener("click", function () { act("handback"); });
  $("resolve").addEventListener("click", function () { act("resolve"); });
  $("reply-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var box = $("reply-text"), picker = $("reply-files");
    if ((!box.value.trim() && !picker.files.length) || !state.open) return;
    var body = { text: box.value };
    if (picker.files.length) {
      body = new FormData();
      body.append("text", box.value);
      Array.prototype.forEach.call(picker.files, function (file) { body.append("files", file, file.name); });
    }
    call("POST", "/v1/agent/conversations/" + encodeURIComponent(state.open) + "/reply", body)
      .then(function (entry) { box.value = ""; picker.value = ""; problem(null); addEntry(entry); }, problem);
  });
  $("reply-text").addEventListener("input", function () {
    var now = Date.now();
    if (state.socket && state.socket.readyState === 1 && now - state.lastTyping > 2000) {
      state.lastTyping = now;
      state.socket.send(JSON.stringify({ type: "typing", conversation_id: state.open }));
    }
  });
  $("note-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var box = $("note-text");
    if (!box.value.trim() || !state.open) return;
    call("POST", "/v1/agent/conversations/" + encodeURIComponent(state.open) + "/notes", { text: box.value })
      .then(function () { box.value = ""; }, problem);
  });

  $("agent-key").value = state.key;
  $("agent-name").value = state.name;
  if (state.key || state.name) connect();
})();
