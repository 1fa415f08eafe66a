// What survives a reload: the conversation's id and token in localStorage, so the same
// conversation (and its history) resumes on the next page.
function uid() {
  var bytes = new Uint8Array(9);
  (window.crypto || window.msCrypto).getRandomValues(bytes);
  return "m" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
}

Widget.prototype.saved = function () {
  try { return JSON.parse(localStorage.getItem(this.storageKey) || "null"); } catch (e) { return null; }
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

Widget.prototype.forget = function () {
  this.conversation = null;
  try { localStorage.removeItem(this.storageKey); } catch (e) { /* private mode */ }
};
