// Voice messages: MediaRecorder (WebM/Opus), level meter, timer, cancel; tap or hold to record.
var MAX_RECORDING_MS = 60000;
var HOLD_MS = 500; // a press longer than this is hold-to-record: release sends

Widget.prototype.wireRecorder = function () {
  var self = this;
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
