// The widget's CSS, scoped by its shadow root (data-color overrides --fd-primary: readableOn).
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
  ".row.bot{align-self:flex-start;align-items:flex-start}.meta .who{font-weight:600}",
  ".bubble{padding:9px 13px;border-radius:16px;white-space:normal;overflow-wrap:anywhere;word-break:normal}",
  ".customer .bubble{background:var(--fd-primary);color:var(--fd-on-primary);border-bottom-right-radius:5px}",
  ".bot .bubble{background:var(--fd-bot);color:var(--fd-text);border-bottom-left-radius:5px}",
  ".bubble p{margin:0}.bubble p+p,.bubble p+ul,.bubble ul+p,.bubble p+ol,.bubble ol+p{margin-top:6px}",
  ".bubble ul,.bubble ol{margin:0;padding-left:20px}.bubble a{color:inherit;text-decoration:underline}.bubble a.file{display:block;margin-bottom:4px}",
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
