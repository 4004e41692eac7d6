// Mechanist in-page model, part 4: the sparse autoencoder's encoder at its hook (SAELens layout, Mechanist's
// semantics as in Mechanist.Sae.SaeKernel): x̄ = x − b_dec, z = x̄·W_enc + b_enc, then per architecture
//   relu: z where z > 0 · topk: the k largest z, kept where > 0 · batchtopk: z where z > 0 and z ≥ the batch threshold
//   jumprelu: z where z > θ · gated: gate open where z > 0 (b_gate), value exp(r_mag)·(z − b_gate) + b_mag where > 0.
// Steering adds α·W_dec[i] to the activation; clamping sets feature i to a value by adding (value − f_i)·W_dec[i].
(function () {
  "use strict";
  var M = window.Mechanist = window.Mechanist || {};

  function tensor(tensors, name, count) {
    var t = tensors[name];
    if (!t) throw new Error("sae: tensor " + name + " is missing");
    if (t.data.length !== count) throw new Error("sae: " + name + " has shape [" + t.shape + "], expected " + count + " values");
    return t.data;
  }

  // cfg: {architecture, dIn, dSae, k, batchThreshold, hook}
  function Sae(cfg, tensors) {
    var n = cfg.dIn, m = cfg.dSae, gated = cfg.architecture === "gated";
    this.cfg = cfg;
    this.arch = cfg.architecture;
    this.dIn = n; this.dSae = m;
    this.wEnc = tensor(tensors, "W_enc", n * m);
    this.wDec = tensor(tensors, "W_dec", m * n);
    this.bEnc = tensor(tensors, gated ? "b_gate" : "b_enc", m);
    this.bDec = tensor(tensors, "b_dec", n);
    if (gated) {
      var r = tensor(tensors, "r_mag", m);
      this.magScale = new Float64Array(m);
      for (var i = 0; i < m; i++) this.magScale[i] = Math.exp(r[i]);
      this.bMag = tensor(tensors, "b_mag", m);
    }
    if (this.arch === "jumprelu") this.theta = tensor(tensors, "threshold", m);
    this.xbar = new Float64Array(n);
    this.acts = new Float64Array(m);   // the last encode's activations (0 where inactive)
    this.topValues = new Float64Array(Math.max(1, cfg.k || 1));
    this.topIndex = new Int32Array(Math.max(1, cfg.k || 1));
  }

  // Encodes one activation vector into this.acts; returns it.
  Sae.prototype.encode = function (x) {
    var n = this.dIn, m = this.dSae, z = this.acts, W = this.wEnc, xbar = this.xbar, i, j;
    for (i = 0; i < n; i++) xbar[i] = x[i] - this.bDec[i];
    for (j = 0; j < m; j++) z[j] = 0;
    for (i = 0; i < n; i++) {
      var xi = xbar[i];
      if (xi === 0) continue;
      var row = i * m;
      for (j = 0; j < m; j++) z[j] += xi * W[row + j];
    }
    var b = this.bEnc;
    switch (this.arch) {
      case "relu": for (j = 0; j < m; j++) { var v = z[j] + b[j]; z[j] = v > 0 ? v : 0; } break;
      case "batchtopk":
        var t = this.cfg.batchThreshold;
        for (j = 0; j < m; j++) { var u = z[j] + b[j]; z[j] = u > 0 && u >= t ? u : 0; }
        break;
      case "jumprelu":
        for (j = 0; j < m; j++) { var w = z[j] + b[j], theta = this.theta[j] > 1e-30 ? this.theta[j] : 1e-30; z[j] = w > theta ? w : 0; }
        break;
      case "gated":
        for (j = 0; j < m; j++) {
          var g = z[j] + b[j], mag = this.magScale[j] * (g - b[j]) + this.bMag[j];
          z[j] = g > 0 && mag > 0 ? mag : 0;
        }
        break;
      case "topk": this.keepTopK(b); break;
      default: throw new Error("unknown SAE architecture " + this.arch);
    }
    return z;
  };

  // topk: the k largest pre-activations (a small sorted list; k is tens), kept where positive.
  Sae.prototype.keepTopK = function (b) {
    var z = this.acts, m = this.dSae, k = Math.min(this.cfg.k, m), vals = this.topValues, idx = this.topIndex, count = 0, j, s;
    for (j = 0; j < m; j++) {
      var v = z[j] + b[j];
      if (count === k && v <= vals[k - 1]) continue;
      for (s = count < k ? count++ : k - 1; s > 0 && vals[s - 1] < v; s--) { vals[s] = vals[s - 1]; idx[s] = idx[s - 1]; }
      vals[s] = v; idx[s] = j;
    }
    z.fill(0);
    for (s = 0; s < count; s++) if (vals[s] > 0) z[idx[s]] = vals[s];
  };

  // The strongest active features of the last encode: [[id, activation], ...], strongest first, ties by id.
  Sae.prototype.top = function (count) {
    var z = this.acts, best = [];
    for (var j = 0; j < z.length; j++) {
      if (!(z[j] > 0)) continue;
      if (best.length === count && z[j] <= best[count - 1][1]) continue;
      var s = best.length < count ? best.length : count - 1;
      best[s] = [j, z[j]];
      for (; s > 0 && best[s - 1][1] < best[s][1]; s--) { var tmp = best[s - 1]; best[s - 1] = best[s]; best[s] = tmp; }
    }
    return best;
  };

  // x += α·W_dec[feature]
  Sae.prototype.addDirection = function (x, feature, alpha) {
    var n = this.dIn, row = feature * n;
    for (var i = 0; i < n; i++) x[i] += alpha * this.wDec[row + i];
  };

  M.Sae = Sae;
})();
