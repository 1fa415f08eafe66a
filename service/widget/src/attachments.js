// Image attachments: picked, pasted or dropped, checked, downscaled, previewed, encoded.
var IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
var MAX_IMAGE_INPUT = 20 * 1024 * 1024; // refuse before even decoding
var MAX_IMAGE_UPLOAD = 4 * 1024 * 1024; // after downscaling
var MAX_IMAGE_SIDE = 1600;
var MAX_ATTACHMENTS = 4;

function blobToBase64(blob) {
  return new Promise(function (resolve, reject) {
    var reader = new FileReader();
    reader.onload = function () { resolve(String(reader.result).split(",")[1] || ""); };
    reader.onerror = function () { reject(reader.error); };
    reader.readAsDataURL(blob);
  });
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

function hasFiles(event) {
  return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [], "Files") >= 0;
}

/** The attach button, pasted images, and files dropped anywhere on the panel. */
Widget.prototype.wireAttachments = function () {
  var self = this;
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
};

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
