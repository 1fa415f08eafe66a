// The interface's words in each language; config.strings and data-strings override them.
var STRINGS = {
  en: {
    title: "Support", subtitle: "We usually reply in seconds",
    greeting: "Hi! How can we help you today?", greetingNamed: "Hi {name}! How can we help you today?",
    open: "Open chat", close: "Close chat", placeholder: "Type your message…", send: "Send",
    attach: "Attach an image", record: "Record a voice message", stopSend: "Send voice message",
    cancel: "Cancel", remove: "Remove image", typing: "Support is typing",
    failed: "Not sent.", delayed: "Delayed: sending again shortly…", retry: "Retry", sending: "Sending…", voice: "Voice message",
    image: "Image", dropHere: "Drop an image to attach it",
    handoff: "You're now connected with our team. A person will reply here shortly.",
    tooBig: "That image is too large (max 20 MB).", badType: "Please attach a PNG, JPEG, WebP or GIF image.",
    tooMany: "You can attach up to 4 images.", noMic: "Microphone unavailable: check your browser's permission.",
    offline: "Connection lost. Reconnecting…", unread: "{n} unread", messages: "Conversation",
    you: "You", bot: "Support", reset: "Start a new conversation",
    agentJoined: "{name} from our team joined the chat.", agentTyping: "{name} is typing", handedBack: "You're chatting with our assistant again."
  },
  de: {
    title: "Kundenservice", subtitle: "Wir antworten meist in Sekunden",
    greeting: "Hallo! Wie können wir helfen?", greetingNamed: "Hallo {name}! Wie können wir helfen?",
    open: "Chat öffnen", close: "Chat schließen", placeholder: "Nachricht schreiben…", send: "Senden",
    attach: "Bild anhängen", record: "Sprachnachricht aufnehmen", stopSend: "Sprachnachricht senden",
    cancel: "Abbrechen", remove: "Bild entfernen", typing: "Der Support schreibt",
    failed: "Nicht gesendet.", delayed: "Verzögert: wird gleich erneut gesendet…", retry: "Erneut senden", sending: "Wird gesendet…", voice: "Sprachnachricht",
    image: "Bild", dropHere: "Bild hier ablegen",
    handoff: "Sie sind jetzt mit unserem Team verbunden. Eine Person antwortet hier in Kürze.",
    tooBig: "Das Bild ist zu groß (max. 20 MB).", badType: "Bitte ein PNG-, JPEG-, WebP- oder GIF-Bild anhängen.",
    tooMany: "Höchstens 4 Bilder.", noMic: "Kein Mikrofon: bitte die Berechtigung prüfen.",
    offline: "Verbindung verloren. Neuer Versuch…", unread: "{n} ungelesen", messages: "Unterhaltung",
    you: "Sie", bot: "Support", reset: "Neue Unterhaltung",
    agentJoined: "{name} aus unserem Team ist im Chat.", agentTyping: "{name} schreibt", handedBack: "Sie chatten wieder mit unserem Assistenten."
  },
  fr: {
    title: "Assistance", subtitle: "Nous répondons en quelques secondes",
    greeting: "Bonjour ! Comment pouvons-nous vous aider ?", greetingNamed: "Bonjour {name} ! Comment pouvons-nous vous aider ?",
    open: "Ouvrir le chat", close: "Fermer le chat", placeholder: "Écrivez votre message…", send: "Envoyer",
    attach: "Joindre une image", record: "Enregistrer un message vocal", stopSend: "Envoyer le message vocal",
    cancel: "Annuler", remove: "Retirer l'image", typing: "L'assistance écrit",
    failed: "Non envoyé.", delayed: "Retardé : nouvel envoi dans un instant…", retry: "Réessayer", sending: "Envoi…", voice: "Message vocal",
    image: "Image", dropHere: "Déposez une image",
    handoff: "Vous êtes maintenant en contact avec notre équipe. Une personne va vous répondre ici.",
    tooBig: "Image trop grande (20 Mo max).", badType: "Joignez une image PNG, JPEG, WebP ou GIF.",
    tooMany: "4 images au maximum.", noMic: "Micro indisponible : vérifiez l'autorisation.",
    offline: "Connexion perdue. Reconnexion…", unread: "{n} non lus", messages: "Conversation",
    you: "Vous", bot: "Assistance", reset: "Nouvelle conversation",
    agentJoined: "{name} de notre équipe a rejoint le chat.", agentTyping: "{name} écrit", handedBack: "Vous discutez de nouveau avec notre assistant."
  }
};

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key] == null ? "" : values[key]; });
}

Widget.prototype.t_ = function (key, values) { return format(this.t[key], values || {}); };
