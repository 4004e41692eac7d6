// Mechanist in-page model, part 1: loading the exported files.
// A page cannot fetch its neighbours from file://, so every file of the model export (`model/` beside the pages) is a
// set of script chunks, each calling Mechanist.chunk(file, index, base64). The manifest script model/webmodel.js sets
// window.MECHANIST_WEBMODEL (sizes, chunk names, the model's config) and is loaded by a plain <script> tag first.
(function () {
  "use strict";
  var M = window.Mechanist = window.Mechanist || {};
  var received = {};   // file name → array of base64 strings by chunk index

  M.chunk = function (file, index, base64) {
    (received[file] = received[file] || [])[index] = base64;
  };

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = function () { s.remove(); resolve(); };
      s.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
  }

  function decodeBase64(text, into, at) {
    if (typeof Uint8Array.fromBase64 === "function") {
      var part = Uint8Array.fromBase64(text);
      into.set(part, at);
      return at + part.length;
    }
    var bin = atob(text);
    for (var i = 0; i < bin.length; i++) into[at + i] = bin.charCodeAt(i);
    return at + bin.length;
  }

  // Loads one exported file: its chunk scripts one after the other, then the bytes joined (and checked against the size).
  M.loadFile = function (base, entry, onProgress) {
    var chain = Promise.resolve();
    entry.chunks.forEach(function (name, i) {
      chain = chain.then(function () { return loadScript(base + name); }).then(function () { if (onProgress) onProgress(i + 1, entry.chunks.length); });
    });
    return chain.then(function () {
      var parts = received[entry.name] || [], bytes = new Uint8Array(entry.bytes), at = 0;
      for (var i = 0; i < entry.chunks.length; i++) {
        if (typeof parts[i] !== "string") throw new Error(entry.name + ": chunk " + i + " did not arrive");
        at = decodeBase64(parts[i], bytes, at);
      }
      delete received[entry.name];
      if (at !== entry.bytes) throw new Error(entry.name + ": " + at + " bytes arrived, the manifest says " + entry.bytes);
      return bytes;
    });
  };

  // Half-precision bits → float32, as a 65,536-entry table (built on first use).
  var halfTable = null;
  function halfToFloat() {
    if (halfTable) return halfTable;
    halfTable = new Float32Array(65536);
    for (var h = 0; h < 65536; h++) {
      var sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
      halfTable[h] = exp === 0 ? sign * frac * Math.pow(2, -24)
        : exp === 31 ? (frac ? NaN : sign * Infinity)
        : sign * (1 + frac / 1024) * Math.pow(2, exp - 15);
    }
    return halfTable;
  }

  // safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then the data.
  // Returns {name: {shape, data: Float32Array}} with F32, F16 and BF16 widened to float32.
  M.parseSafetensors = function (bytes, what) {
    var view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 8) throw new Error(what + ": too short for a safetensors file");
    var headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 4294967296;
    if (headerLength > bytes.length - 8) throw new Error(what + ": header length " + headerLength + " exceeds the file");
    var header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    var start = 8 + headerLength, tensors = {};
    Object.keys(header).forEach(function (name) {
      if (name === "__metadata__") return;
      var t = header[name], begin = start + t.data_offsets[0], end = start + t.data_offsets[1];
      var count = t.shape.reduce(function (a, b) { return a * b; }, 1), data = new Float32Array(count), i;
      if (end > bytes.length) throw new Error(what + ": tensor " + name + " runs past the end of the file");
      if (t.dtype === "F32") {
        if (end - begin !== count * 4) throw new Error(what + ": " + name + " has the wrong length");
        new Uint8Array(data.buffer).set(bytes.subarray(begin, end));
      } else if (t.dtype === "F16" || t.dtype === "BF16") {
        if (end - begin !== count * 2) throw new Error(what + ": " + name + " has the wrong length");
        var table = t.dtype === "F16" ? halfToFloat() : null, bits = new Uint32Array(data.buffer);
        for (i = 0; i < count; i++) {
          var h = bytes[begin + 2 * i] | (bytes[begin + 2 * i + 1] << 8);
          if (table) data[i] = table[h]; else bits[i] = h << 16;
        }
      } else throw new Error(what + ": tensor " + name + " is " + t.dtype + " (the page reads F32, F16 and BF16)");
      tensors[name] = { shape: t.shape, data: data };
    });
    return tensors;
  };

  function megabytes(n) { return (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MB"; }
  M.megabytes = megabytes;

  // Loads the whole export described by window.MECHANIST_WEBMODEL: tokenizer, model and (if exported) SAE.
  // Refuses before loading anything when the files exceed the limit the export states, so a big model cannot freeze the tab.
  M.loadWebModel = function (base, onStatus) {
    var manifest = window.MECHANIST_WEBMODEL;
    var say = onStatus || function () { };
    if (!manifest) return Promise.reject(new Error("no model was exported with this site (model/webmodel.js is missing)"));
    if (manifest.tooLarge || manifest.totalBytes > manifest.limitBytes)
      return Promise.reject(new Error("The model files are " + megabytes(manifest.totalBytes) + ", more than the " + megabytes(manifest.limitBytes) +
        " this page loads; use `mechanist browse` (the server) for this model, or export a smaller one."));
    var byName = {};
    manifest.files.forEach(function (f) { byName[f.name] = f; });
    var started = performance.now(), out = { manifest: manifest };
    function file(name) {
      var entry = byName[name];
      return M.loadFile(base, entry, function (i, n) { say("Loading " + name + " (" + megabytes(entry.bytes) + ", part " + i + " of " + n + ")…"); });
    }
    return file("tokenizer").then(function (bytes) {
      out.tokenizer = new M.Tokenizer(JSON.parse(new TextDecoder().decode(bytes)));
      return file("model");
    }).then(function (bytes) {
      out.model = new M.Transformer(manifest.config, M.parseSafetensors(bytes, "model"));
      return byName.sae ? file("sae") : null;
    }).then(function (bytes) {
      if (bytes) out.sae = new M.Sae(manifest.sae, M.parseSafetensors(bytes, "sae"));
      out.loadMs = performance.now() - started;
      return out;
    });
  };
})();
