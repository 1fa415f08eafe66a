// Configuration: the embedding script tag's data attributes, then FusionDesk.init({...}).
// This fragment runs first in the bundle's function, so its `return` stops a second copy.
if (window.FusionDesk && window.FusionDesk.version) return; // loaded twice: keep the first

// Only readable while the script first runs: later calls see null.
var script = document.currentScript;

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

Widget.prototype.theme = function () {
  var theme = this.config.theme;
  if (theme === "dark" || theme === "light") return theme;
  return window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
};
