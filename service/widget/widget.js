/*! fusiondesk chat widget — dependency-free, Shadow DOM. Apache-2.0.
 * Embed: <script src="https://HOST/widget.js" data-key="PUBLIC_KEY" data-title="Support"></script>
 * Protocol: WebSocket /v1/conversations/{id}/ws, falling back to server-sent events
 * (POST /v1/conversations/{id}/messages) and then to POST /v1/messages.
 */
(function () {
  "use strict";
  if (window.FusionDesk && window.FusionDesk.version) return; // loaded twice: keep the first

  var script = document.currentScript;
  var IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
  var MAX_IMAGE_INPUT = 20 * 1024 * 1024; // refuse before even decoding
  var MAX_IMAGE_UPLOAD = 4 * 1024 * 1024; // after downscaling
  var MAX_IMAGE_SIDE = 1600;
  var MAX_ATTACHMENTS = 4;
  var MAX_RECORDING_MS = 60000;
  var HOLD_MS = 500; // a press longer than this is hold-to-record: release sends
  var SEND_TIMEOUT_MS = 20000;
  var WS_FAILURES_BEFORE_FALLBACK = 3;

  var STRINGS = {
    en: {
      title: "Support", subtitle: "We usually reply in seconds",
      greeting: "Hi! How can we help you today?", greetingNamed: "Hi {name}! How can we help you today?",
      open: "Open chat", close: "Close chat", placeholder: "Type your message…", send: "Send",
      attach: "Attach an image", record: "Record a voice message", stopSend: "Send voice message",
      cancel: "Cancel", remove: "Remove image", typing: "Support is typing",
      failed: "Not sent.", retry: "Retry", sending: "Sending…", voice: "Voice message",
      image: "Image", dropHere: "Drop an image to attach it",
      handoff: "You're now connected with our team. A person will reply here shortly.",
      tooBig: "That image is too large (max 20 MB).", badType: "Please attach a PNG, JPEG, WebP or GIF image.",
      tooMany: "You can attach up to 4 images.", noMic: "Microphone unavailable: check your browser's permission.",
      offline: "Connection lost. Reconnecting…", unread: "{n} unread", messages: "Conversation",
      you: "You", bot: "Support", reset: "Start a new conversation"
    },
    de: {
      title: "Kundenservice", subtitle: "Wir antworten meist in Sekunden",
      greeting: "Hallo! Wie können wir helfen?", greetingNamed: "Hallo {name}! Wie können wir helfen?",
      open: "Chat öffnen", close: "Chat schließen", placeholder: "Nachricht schreiben…", send: "Senden",
      attach: "Bild anhängen", record: "Sprachnachricht aufnehmen", stopSend: "Sprachnachricht senden",
      cancel: "Abbrechen", remove: "Bild entfernen", typing: "Der Support schreibt",
      failed: "Nicht gesendet.", retry: "Erneut senden", sending: "Wird gesendet…", voice: "Sprachnachricht",
      image: "Bild", dropHere: "Bild hier ablegen",
      handoff: "Sie sind jetzt mit unserem Team verbunden. Eine Person antwortet hier in Kürze.",
      tooBig: "Das Bild ist zu groß (max. 20 MB).", badType: "Bitte ein PNG-, JPEG-, WebP- oder GIF-Bild anhängen.",
      tooMany: "Höchstens 4 Bilder.", noMic: "Kein Mikrofon: bitte die Berechtigung prüfen.",
      offline: "Verbindung verloren. Neuer Versuch…", unread: "{n} ungelesen", messages: "Unterhaltung",
      you: "Sie", bot: "Support", reset: "Neue Unterhaltung"
    },
    fr: {
      title: "Assistance", subtitle: "Nous répondons en quelques secondes",
      greeting: "Bonjour ! Comment pouvons-nous vous aider ?", greetingNamed: "Bonjour {name} ! Comment pouvons-nous vous aider ?",
      open: "Ouvrir le chat", close: "Fermer le chat", placeholder: "Écrivez votre message…", send: "Envoyer",
      attach: "Joindre une image", record: "Enregistrer un message vocal", stopSend: "Envoyer le message vocal",
      cancel: "Annuler", remove: "Retirer l'image", typing: "L'assistance écrit",
      failed: "Non envoyé.", retry: "Réessayer", sending: "Envoi…", voice: "Message vocal",
      image: "Image", dropHere: "Déposez une image",
      handoff: "Vous êtes maintenant en contact avec notre équipe. Une personne va vous répondre ici.",
      tooBig: "Image trop grande (20 Mo max).", badType: "Joignez une image PNG, JPEG, WebP ou GIF.",
      tooMany: "4 images au maximum.", noMic: "Micro indisponible : vérifiez l'autorisation.",
      offline: "Connexion perdue. Reconnexion…", unread: "{n} non lus", messages: "Conversation",
      you: "Vous", bot: "Assistance", reset: "Nouvelle conversation"
    }
  };

  var CSS = [
    ":host{all:initial;--fd-primary:#2f5bea;--fd-on-primary:#fff;--fd-bg:#fff;--fd-surface:#f3f5f9;--fd-text:#1d2330;",
    "--fd-muted:#566070;--fd-border:#dde2ea;--fd-bot:#eef1f6;--fd-danger:#b42318;--fd-banner:#fff4d6;--fd-banner-text:#5c4300;",
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Ubuntu,sans-serif;color:var(--fd-text)}",
    ":host([data-theme=dark]){--fd-bg:#171a21;--fd-surface:#222733;--fd-text:#eceef3;--fd-muted:#a8b0be;--fd-border:#343b4a;",
    "--fd-bot:#262c39;--fd-danger:#ff8a80;--fd-banner:#3a3220;--fd-banner-text:#ffe3a3}",
    "*{box-sizing:border-box}button{font:inherit;cursor:pointer}",
    ":focus-visible{outline:3px solid var(--fd-primary);outline-offset:2px}",
    ".launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;border:0;",
    "background:var(--fd-primary);color:var(--fd-on-primary);box-shadow:0 6px 24px rgba(16,24,40,.28);display:grid;place-items:center;",
    "transition:transform .15s}.launcher:hover{transform:scale(1.06)}.launcher svg{width:28px;height:28px}",
    ".launcher[aria-expanded=true] .when-closed,.launcher[aria-expanded=false] .when-open{display:none}",
    ":host([data-position=left]) .launcher{right:auto;left:20px}:host([data-position=left]) .panel{right:auto;left:20px}",
    ".badge{position:absolute;top:-2px;right:-2px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#c4161c;",
    "color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center;border:2px solid #fff}",
    ".panel{position:fixed;bottom:92px;right:20px;z-index:2147483001;width:380px;height:min(620px,calc(100vh - 112px));",
    "display:flex;flex-direction:column;background:var(--fd-bg);color:var(--fd-text);border-radius:16px;overflow:hidden;",
    "border:1px solid var(--fd-border);box-shadow:0 16px 48px rgba(16,24,40,.24)}.panel[hidden]{display:none}",
    ".head{display:flex;align-items:center;gap:10px;padding:14px 14px 14px 16px;background:var(--fd-primary);color:var(--fd-on-primary)}",
    ".avatar{width:36px;height:36px;border-radius:50%;background:rgba(255,255,255,.2);display:grid;place-items:center;flex:none}",
    ".avatar svg{width:20px;height:20px}.titles{flex:1;min-width:0}.title{margin:0;font-size:16px;font-weight:650}",
    ".subtitle{margin:0;font-size:12.5px;opacity:.92}.icon{border:0;background:transparent;color:inherit;width:36px;height:36px;",
    "border-radius:10px;display:grid;place-items:center;flex:none}.icon:hover{background:rgba(127,127,127,.16)}.icon svg{width:20px;height:20px}",
    ".head .icon:focus-visible{outline-color:var(--fd-on-primary)}",
    ".banner{margin:0;padding:10px 14px;background:var(--fd-banner);color:var(--fd-banner-text);font-size:13.5px;border-bottom:1px solid var(--fd-border)}",
    ".status{margin:0;padding:6px 14px;font-size:12.5px;color:var(--fd-muted);background:var(--fd-surface)}",
    ".log{flex:1;overflow-y:auto;padding:16px 14px 8px;display:flex;flex-direction:column;gap:10px;background:var(--fd-bg)}",
    ".row{display:flex;flex-direction:column;max-width:84%}.row.customer{align-self:flex-end;align-items:flex-end}",
    ".row.bot{align-self:flex-start;align-items:flex-start}",
    ".bubble{padding:9px 13px;border-radius:16px;white-space:normal;overflow-wrap:anywhere;word-break:normal}",
    ".customer .bubble{background:var(--fd-primary);color:var(--fd-on-primary);border-bottom-right-radius:5px}",
    ".bot .bubble{background:var(--fd-bot);color:var(--fd-text);border-bottom-left-radius:5px}",
    ".bubble p{margin:0}.bubble p+p,.bubble p+ul,.bubble ul+p,.bubble p+ol,.bubble ol+p{margin-top:6px}",
    ".bubble ul,.bubble ol{margin:0;padding-left:20px}.bubble a{color:inherit;text-decoration:underline}",
    ".bubble img{display:block;max-width:220px;max-height:180px;border-radius:10px;margin-bottom:4px}",
    ".tag{display:inline-flex;align-items:center;gap:5px;font-size:13px;opacity:.95}.tag svg{width:15px;height:15px}",
    ".meta{font-size:11.5px;color:var(--fd-muted);margin-top:3px;padding:0 4px}",
    ".failed{color:var(--fd-danger)}.retry{border:0;background:none;color:var(--fd-primary);text-decoration:underline;padding:0 0 0 4px;font-size:12px}",
    ":host([data-theme=dark]) .retry{color:#9db4ff}",
    ".quick{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}.quick button{border:1.5px solid var(--fd-primary);background:var(--fd-bg);",
    "color:var(--fd-primary);border-radius:999px;padding:5px 12px;font-size:13.5px}.quick button:hover{background:var(--fd-primary);color:var(--fd-on-primary)}",
    ":host([data-theme=dark]) .quick button{color:#c5d2ff;border-color:#7d95f0}",
    ".typing .bubble{display:flex;gap:4px;padding:13px 14px}.typing i{width:7px;height:7px;border-radius:50%;background:var(--fd-muted);",
    "animation:fd-bounce 1.2s infinite}.typing i:nth-child(2){animation-delay:.15s}.typing i:nth-child(3){animation-delay:.3s}",
    "@keyframes fd-bounce{0%,60%,100%{transform:none;opacity:.5}30%{transform:translateY(-4px);opacity:1}}",
    "@media (prefers-reduced-motion:reduce){.typing i{animation:none}.launcher{transition:none}}",
    ".composer{border-top:1px solid var(--fd-border);padding:10px;background:var(--fd-bg)}",
    ".previews{display:flex;gap:8px;flex-wrap:wrap;margin-bottom:8px}.previews[hidden]{display:none}",
    ".thumb{position:relative;width:56px;height:56px}.thumb img{width:56px;height:56px;object-fit:cover;border-radius:8px;border:1px solid var(--fd-border)}",
    ".thumb button{position:absolute;top:-7px;right:-7px;width:22px;height:22px;border-radius:50%;border:0;background:#1d2330;color:#fff;",
    "font-size:14px;line-height:22px;padding:0}",
    ".notice{margin:0 0 8px;font-size:13px;color:var(--fd-danger)}.notice[hidden]{display:none}",
    ".inputrow{display:flex;align-items:flex-end;gap:6px}.inputrow[hidden]{display:none}.inputrow .icon{color:var(--fd-muted)}",
    "textarea{flex:1;resize:none;border:1px solid var(--fd-border);border-radius:12px;padding:9px 12px;max-height:120px;min-height:40px;",
    "font:inherit;color:var(--fd-text);background:var(--fd-surface)}textarea::placeholder{color:var(--fd-muted)}",
    "textarea:focus-visible{outline:2px solid var(--fd-primary);outline-offset:0;border-color:transparent}",
    ".sendbtn{border:0;background:var(--fd-primary);color:var(--fd-on-primary);width:40px;height:40px;border-radius:12px;display:grid;place-items:center;flex:none}",
    ".sendbtn svg{width:18px;height:18px}.sendbtn:disabled{opacity:.45;cursor:default}",
    ".recorder{display:flex;align-items:center;gap:10px}.recorder[hidden]{display:none}",
    ".dot{width:10px;height:10px;border-radius:50%;background:#d92d20;animation:fd-pulse 1s infinite}@keyframes fd-pulse{50%{opacity:.35}}",
    ".timer{font-variant-numeric:tabular-nums;font-size:14px;min-width:40px}",
    ".meter{flex:1;height:8px;border-radius:4px;background:var(--fd-surface);overflow:hidden;border:1px solid var(--fd-border)}",
    ".meter span{display:block;height:100%;width:0;background:var(--fd-primary);transition:width 80ms linear}",
    ".drop{position:absolute;inset:0;display:grid;place-items:center;background:rgba(47,91,234,.12);border:3px dashed var(--fd-primary);",
    "border-radius:16px;font-weight:600;color:var(--fd-text);pointer-events:none}.drop[hidden]{display:none}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".foot{text-align:center;font-size:11px;color:var(--fd-muted);padding:0 0 6px;background:var(--fd-bg)}",
    "@media (max-width:480px){.panel{inset:0;width:100%;height:100%;border-radius:0;border:0}.panel:not([hidden])~.launcher{display:none}}"
  ].join("");

  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    down: "M6 9l6 6 6-6",
    send: "M4 12l16-8-6 16-2-7-8-1z",
    mic: "M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM5 11a7 7 0 0 0 14 0M12 18v3",
    image: "M4 5h16v14H4zM4 16l5-5 4 4 3-3 4 4M15.5 8.5h.01",
    refresh: "M20 11a8 8 0 1 0-2.3 5.7M20 5v6h-6",
    trash: "M6 6l12 12M18 6L6 18"
  };

  function icon(name, className) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("fill", "none");
    svg.setAttribute("stroke", "currentColor");
    svg.setAttribute("stroke-width", "2");
    svg.setAttribute("stroke-linecap", "round");
    svg.setAttribute("stroke-linejoin", "round");
    svg.setAttribute("aria-hidden", "true");
    if (className) svg.setAttribute("class", className);
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "class") node.className = attrs[key];
      else if (attrs[key] === true) node.setAttribute(key, "");
      else if (attrs[key] != null && attrs[key] !== false) node.setAttribute(key, attrs[key]);
    }
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  // ---- minimal Markdown, built from DOM nodes: server text never reaches innerHTML ----
  // **bold**, *italic*, [label](https://…) and bare https:// links; nothing else is markup.
  var INLINE = /\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(((?:https?:\/\/|mailto:)[^\s)]+)\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;

  function link(href, label) {
    return el("a", { href: href, target: "_blank", rel: "noopener noreferrer nofollow", text: label });
  }

  function inline(parent, text) {
    var last = 0, match;
    INLINE.lastIndex = 0;
    while ((match = INLINE.exec(text))) {
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (match[1]) parent.appendChild(el("strong", { text: match[1] }));
      else if (match[2]) parent.appendChild(el("em", { text: match[2] }));
      else if (match[3]) parent.appendChild(link(match[4], match[3]));
      else parent.appendChild(link(match[5], match[5]));
      last = INLINE.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function markdown(text) {
    var root = document.createDocumentFragment(), list = null, para = null;
    String(text || "").split(/\r?\n/).forEach(function (line) {
      var item = /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/.exec(line);
      if (item) {
        var tag = item[1] ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) root.appendChild((list = el(tag)));
        var li = el("li"); inline(li, item[3]); list.appendChild(li); para = null;
      } else if (!line.trim()) {
        list = para = null;
      } else {
        list = null;
        if (para) para.appendChild(el("br")); else root.appendChild((para = el("p")));
        inline(para, line);
      }
    });
    return root;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key] == null ? "" : values[key]; });
  }

  function uid() {
    var bytes = new Uint8Array(9);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "m" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function blobToBase64(blob) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(String(reader.result).split(",")[1] || ""); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(blob);
    });
  }

  function clock(seconds) {
    return Math.floor(seconds / 60) + ":" + ("0" + Math.floor(seconds % 60)).slice(-2);
  }

  /** Downscales big photos on a canvas so uploads stay small; small images go as they are. */
  function prepareImage(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var side = Math.max(img.naturalWidth, img.naturalHeight);
        if (side <= MAX_IMAGE_SIDE && file.size <= MAX_IMAGE_UPLOAD || file.type === "image/gif") {
          resolve({ blob: file, url: url });
          return;
        }
        var scale = Math.min(1, MAX_IMAGE_SIDE / side);
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(img.naturalWidth * scale);
        canvas.height = Math.round(img.naturalHeight * scale);
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        // Screenshots stay PNG (sharp text for OCR); photos become JPEG.
        var type = file.type === "image/png" ? "image/png" : "image/jpeg";
        canvas.toBlob(function (blob) {
          if (!blob) { reject(new Error("encode")); return; }
          if (blob.size > MAX_IMAGE_UPLOAD && type === "image/png") {
            canvas.toBlob(function (jpeg) { resolve({ blob: jpeg, url: URL.createObjectURL(jpeg) }); }, "image/jpeg", 0.85);
          } else resolve({ blob: blob, url: URL.createObjectURL(blob) });
        }, type, 0.85);
      };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("decode")); };
      img.src = url;
    });
  }

  // ---- configuration: script data attributes, then FusionDesk.init({...}) ----
  function readScriptConfig() {
    if (!script) return {};
    var data = script.dataset, config = {};
    ["key", "title", "subtitle", "greeting", "color", "position", "theme", "lang", "api", "open"].forEach(function (name) {
      if (data[name] != null) config[name] = data[name];
    });
    if (data.strings) { try { config.strings = JSON.parse(data.strings); } catch (e) { /* ignore bad JSON */ } }
    config.autoInit = data.autoInit !== "false";
    return config;
  }

  function apiBase(config) {
    if (config.api) return config.api.replace(/\/$/, "");
    if (script && script.src) return new URL(script.src, location.href).origin;
    return location.origin;
  }

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

  Widget.prototype.t_ = function (key, values) { return format(this.t[key], values || {}); };

  Widget.prototype.emit = function (name, detail) {
    (this.listeners[name] || []).forEach(function (fn) {
      try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
    });
  };

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

  Widget.prototype.theme = function () {
    var theme = this.config.theme;
    if (theme === "dark" || theme === "light") return theme;
    return window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
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
    this.attachBtn.addEventListener("click", function () { self.fileInput.click(); });
    this.fileInput.addEventListener("change", function () {
      self.addFiles(self.fileInput.files);
      self.fileInput.value = "";
    });
    this.input.addEventListener("paste", function (event) {
      var files = Array.prototype.filter.call((event.clipboardData || {}).files || [], function (f) { return /^image\//.test(f.type); });
      if (files.length) { event.preventDefault(); self.addFiles(files); }
    });
    var depth = 0;
    this.panel.addEventListener("dragenter", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault(); depth++; self.drop.hidden = false;
    });
    this.panel.addEventListener("dragover", function (event) { if (hasFiles(event)) event.preventDefault(); });
    this.panel.addEventListener("dragleave", function () { if (--depth <= 0) { depth = 0; self.drop.hidden = true; } });
    this.panel.addEventListener("drop", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault(); depth = 0; self.drop.hidden = true;
      self.addFiles(event.dataTransfer.files);
    });
    // Tap to record (then send or cancel), or hold the button and release to send.
    // The button hides once recording starts, so the release is caught on the window.
    this.micBtn.addEventListener("pointerdown", function (event) {
      if (event.button !== 0 || self.recording) return;
      var pressedAt = Date.now(), recording;
      self.viaPointer = true;
      self.startRecording();
      recording = self.recording;
      window.addEventListener("pointerup", function () {
        setTimeout(function () { self.viaPointer = false; }); // after the click it causes
        if (self.recording === recording && Date.now() - pressedAt >= HOLD_MS) self.stopRecording(true);
      }, { once: true });
    });
    this.micBtn.addEventListener("click", function () {
      if (!self.viaPointer) self.startRecording(); // keyboard activation
    });
    this.cancelRecBtn.addEventListener("click", function () { self.stopRecording(false); });
    this.sendRecBtn.addEventListener("click", function () { self.stopRecording(true); });
  };

  /** Black or white text, whichever reads better on a brand colour (WCAG relative luminance). */
  function readableOn(hex) {
    var digits = hex.slice(1);
    if (digits.length === 3) digits = digits.replace(/./g, "$&$&");
    var channels = [0, 2, 4].map(function (i) {
      var c = parseInt(digits.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
    return (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) ? "#111" : "#fff";
  }

  function hasFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [], "Files") >= 0;
  }

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

  // ---- open / close / unread ----
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

  Widget.prototype.showUnread = function () {
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = this.unread > 9 ? "9+" : String(this.unread);
    this.launcher.setAttribute("aria-label", this.panel.hidden
      ? this.t.open + (this.unread ? " (" + this.t_("unread", { n: this.unread }) + ")" : "")
      : this.t.close);
  };

  // ---- conversation identity: id + token in localStorage ----
  Widget.prototype.saved = function () {
    try { return JSON.parse(localStorage.getItem(this.storageKey) || "null"); } catch (e) { return null; }
  };

  Widget.prototype.headers = function (json) {
    var headers = {};
    if (json) headers["Content-Type"] = "application/json";
    if (this.config.key) headers["X-API-Key"] = this.config.key;
    if (this.conversation && this.conversation.token) headers.Authorization = "Bearer " + this.conversation.token;
    return headers;
  };

  Widget.prototype.ensureConversation = function () {
    var self = this;
    if (this.conversation) return Promise.resolve(this.conversation);
    var saved = this.saved();
    if (saved && saved.id) { this.conversation = saved; return Promise.resolve(saved); }
    if (!this.creating) {
      this.creating = fetch(this.base + "/v1/conversations", { method: "POST", headers: this.headers(false) })
        .then(function (response) {
          if (response.status === 404 || response.status === 405) return { id: uid(), token: null }; // older server: REST only
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json().then(function (body) { return { id: body.conversation_id, token: body.token }; });
        })
        .then(function (conversation) {
          if (!conversation.token) self.mode = "rest";
          self.conversation = conversation;
          try { localStorage.setItem(self.storageKey, JSON.stringify(conversation)); } catch (e) { /* private mode */ }
          return conversation;
        })
        .finally(function () { self.creating = null; });
    }
    return this.creating;
  };

  Widget.prototype.query = function () {
    var params = [];
    if (this.conversation.token) params.push("token=" + encodeURIComponent(this.conversation.token));
    if (this.config.key) params.push("key=" + encodeURIComponent(this.config.key));
    return params.length ? "?" + params.join("&") : "";
  };

  // ---- WebSocket with reconnect and backoff; SSE and REST fallbacks ----
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
        self.flush();
      })
      .catch(function () { self.socketFailed(false); });
  };

  Widget.prototype.forget = function () {
    this.conversation = null;
    try { localStorage.removeItem(this.storageKey); } catch (e) { /* private mode */ }
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

  // ---- sending: every message is tracked until the server confirms it ----
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
      if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
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

  /** The plain JSON endpoint every fusiondesk server has; its answer becomes the same events. */
  Widget.prototype.deliverRest = function (id) {
    var self = this, item = this.pending[id];
    return fetch(this.base + "/v1/messages", {
      method: "POST", headers: this.headers(true),
      body: JSON.stringify({ conversation_id: this.conversation.id, message_id: id, parts: item.parts })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          var error = body.error || {};
          self.onEvent({ event: "error", message_id: id, code: error.code, message: error.message });
          return;
        }
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

  // ---- server events ----
  Widget.prototype.onEvent = function (event) {
    var item = event.message_id && this.pending[event.message_id];
    switch (event.event) {
      case "history": this.renderHistory(event.turns || [], event.handoff); break;
      case "received":
        if (item) { item.state = "received"; clearTimeout(item.timer); this.setRowState(item.row, "sent"); }
        break;
      case "transcript":
        if (item) this.setTranscript(item.row, event.text);
        break;
      case "typing": this.showTyping(); break;
      case "reply": this.onReply(event, item); break;
      case "handoff": this.onHandoff(event.message_id); break;
      case "error":
        this.hideTyping();
        if (item) { this.failed(event.message_id); this.showNotice(event.message || this.t.failed); }
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
      } else if (turn.text || turn.reply) {
        lastBot = self.renderRow("bot", { text: turn.text || turn.reply, time: time });
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

  // ---- rendering ----
  Widget.prototype.renderRow = function (role, message) {
    var t = this.t, bubble = el("div", { class: "bubble" });
    (message.images || []).forEach(function (url) { bubble.appendChild(el("img", { src: url, alt: t.image })); });
    if (message.imageCount) bubble.appendChild(el("span", { class: "tag" }, [icon("image"), document.createTextNode(t.image + (message.imageCount > 1 ? " ×" + message.imageCount : ""))]));
    if (message.voice) {
      var tag = el("span", { class: "tag voice" }, [icon("mic"), document.createTextNode(t.voice + (message.duration ? " " + clock(message.duration) : ""))]);
      bubble.appendChild(tag);
      if (message.text) bubble.appendChild(el("br"));
    }
    if (message.text) {
      var body = el("div", { class: "text" });
      body.appendChild(markdown(message.text));
      bubble.appendChild(body);
    }
    var meta = el("div", { class: "meta" }, [el("span", { class: "sr", text: (role === "customer" ? t.you : t.bot) + ", " })]);
    if (message.time) {
      var when = new Date(message.time);
      meta.appendChild(el("time", { datetime: when.toISOString(), text: when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) }));
    }
    meta.appendChild(el("span", { class: "state" }));
    return el("div", { class: "row " + role, "data-role": role }, [bubble, meta]);
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

  Widget.prototype.showTyping = function () {
    if (this.typing) return;
    this.typing = el("div", { class: "row bot typing", role: "status", "aria-label": this.t.typing },
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

  // ---- images ----
  Widget.prototype.addFiles = function (files) {
    var self = this;
    this.hideNotice();
    Array.prototype.forEach.call(files || [], function (file) {
      if (IMAGE_TYPES.indexOf(file.type) < 0) { self.showNotice(self.t.badType); return; }
      if (file.size > MAX_IMAGE_INPUT) { self.showNotice(self.t.tooBig); return; }
      if (self.attachments.length >= MAX_ATTACHMENTS) { self.showNotice(self.t.tooMany); return; }
      var slot = { blob: null, url: null };
      self.attachments.push(slot);
      prepareImage(file).then(function (prepared) {
        if (prepared.blob.size > MAX_IMAGE_UPLOAD) throw new Error("size");
        slot.blob = prepared.blob; slot.url = prepared.url;
        self.renderPreviews();
      }).catch(function () {
        self.attachments.splice(self.attachments.indexOf(slot), 1);
        self.showNotice(self.t.tooBig);
        self.renderPreviews();
      });
    });
  };

  Widget.prototype.renderPreviews = function () {
    var self = this;
    this.previews.textContent = "";
    this.attachments.forEach(function (slot) {
      if (!slot.blob) return;
      var remove = el("button", { type: "button", "aria-label": self.t.remove, title: self.t.remove, text: "×" });
      remove.addEventListener("click", function () {
        self.attachments.splice(self.attachments.indexOf(slot), 1);
        URL.revokeObjectURL(slot.url);
        self.renderPreviews();
        self.input.focus();
      });
      self.previews.appendChild(el("div", { class: "thumb" }, [el("img", { src: slot.url, alt: self.t.image }), remove]));
    });
    this.previews.hidden = !this.previews.children.length;
    this.updateSend();
  };

  // ---- voice: MediaRecorder (WebM/Opus), level meter, timer, cancel ----
  Widget.prototype.startRecording = function () {
    var self = this;
    if (this.recording) return;
    if (!navigator.mediaDevices || !window.MediaRecorder) { this.showNotice(this.t.noMic); return; }
    this.recording = { chunks: [], started: Date.now() };
    var recording = this.recording;
    this.inputRow.hidden = true;
    this.recorderRow.hidden = false;
    this.timer.textContent = "0:00";
    this.sendRecBtn.focus();
    navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } }).then(function (stream) {
      if (self.recording !== recording) { stream.getTracks().forEach(function (t) { t.stop(); }); return; }
      var type = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus"].filter(function (m) {
        return MediaRecorder.isTypeSupported(m);
      })[0];
      var recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      recording.stream = stream;
      recording.recorder = recorder;
      recording.started = Date.now();
      recorder.ondataavailable = function (event) { if (event.data.size) recording.chunks.push(event.data); };
      recorder.start(250);
      var AudioCtx = window.AudioContext || window.webkitAudioContext;
      if (AudioCtx) {
        recording.audio = new AudioCtx();
        var analyser = recording.audio.createAnalyser();
        analyser.fftSize = 512;
        recording.audio.createMediaStreamSource(stream).connect(analyser);
        var samples = new Uint8Array(analyser.fftSize);
        recording.meter = setInterval(function () {
          analyser.getByteTimeDomainData(samples);
          var sum = 0;
          for (var i = 0; i < samples.length; i++) { var v = (samples[i] - 128) / 128; sum += v * v; }
          var level = Math.min(100, Math.round(Math.sqrt(sum / samples.length) * 300));
          self.meterBar.style.width = level + "%";
          self.meterBar.parentNode.setAttribute("aria-valuenow", String(level));
        }, 80);
      }
      recording.ticker = setInterval(function () {
        var elapsed = Date.now() - recording.started;
        self.timer.textContent = clock(elapsed / 1000);
        if (elapsed >= MAX_RECORDING_MS) self.stopRecording(true);
      }, 250);
    }).catch(function () {
      self.endRecordingUi();
      self.showNotice(self.t.noMic);
    });
  };

  Widget.prototype.stopRecording = function (send) {
    var self = this, recording = this.recording;
    if (!recording) return;
    this.endRecordingUi();
    var duration = (Date.now() - recording.started) / 1000;
    var finish = function () {
      if (recording.stream) recording.stream.getTracks().forEach(function (t) { t.stop(); });
      if (recording.audio) recording.audio.close();
      if (!send || !recording.chunks.length) return;
      var type = (recording.recorder.mimeType || "audio/webm").split(";")[0];
      var blob = new Blob(recording.chunks, { type: type });
      blobToBase64(blob).then(function (data) {
        self.sendParts([{ type: "audio", data: data, media_type: type }], { voice: true, duration: duration });
      });
    };
    if (recording.recorder && recording.recorder.state !== "inactive") {
      recording.recorder.onstop = finish;
      recording.recorder.stop();
    } else finish();
  };

  Widget.prototype.endRecordingUi = function () {
    var recording = this.recording;
    this.recording = null;
    if (recording) { clearInterval(recording.ticker); clearInterval(recording.meter); }
    this.meterBar.style.width = "0";
    this.recorderRow.hidden = true;
    this.inputRow.hidden = false;
    this.micBtn.focus();
  };

  // ---- public API helpers ----
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

  Widget.prototype.destroySocket = function () {
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pinger);
    var socket = this.socket;
    this.socket = null;
    if (socket && socket !== "connecting") { socket.onclose = null; socket.close(); }
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
})();
