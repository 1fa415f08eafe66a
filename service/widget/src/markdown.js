// Minimal Markdown, built from DOM nodes: server text never reaches innerHTML.
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
