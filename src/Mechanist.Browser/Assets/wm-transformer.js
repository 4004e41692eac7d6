// Mechanist in-page model, part 3: the GPT-2-layout transformer (Mechanist.Models.Transformer's math): token + learned
// position embeddings, pre-LN blocks (causal multi-head attention; MLP with relu, gelu (erf) or gelu_new (tanh)), final
// LayerNorm, unembedding tied to W_E or its own lm_head. Weights in Hugging Face GPT-2 names, Conv1D [in, out] layout.
// One position at a time with a key/value cache: every buffer is allocated once, so a token costs no allocation.
// Arithmetic in float64 on float32 weights: at least as accurate as the C# float32 kernels.
(function () {
  "use strict";
  var M = window.Mechanist = window.Mechanist || {};

  // TransformerLens hook names the page can act on, per block: name suffix → [kind, width key].
  var HOOKS = {
    "hook_resid_pre": "resid_pre", "attn.hook_z": "z", "hook_attn_out": "attn_out", "hook_resid_mid": "resid_mid",
    "mlp.hook_pre": "mlp_pre", "mlp.hook_post": "mlp_post", "hook_mlp_out": "mlp_out", "hook_resid_post": "resid_post",
  };

  // {layer, kind} of a hook name such as "blocks.0.mlp.hook_post", or an Error naming what is supported.
  M.parseHook = function (name, config) {
    var m = /^blocks\.(\d+)\.(.+)$/.exec(name || "");
    var kind = m && HOOKS[m[2]], layer = m ? Number(m[1]) : -1;
    if (!kind || layer >= config.layers || (config.attnOnly && /^(resid_mid|mlp_)/.test(kind)))
      throw new Error("the page cannot run hook '" + name + "' (it runs blocks.L.{" + Object.keys(HOOKS).join(", ") + "})");
    return { layer: layer, kind: kind, width: /^mlp_(pre|post)$/.test(kind) ? config.dMlp : config.dModel };
  };

  function weight(tensors, name, shape) {
    var t = tensors[name];
    if (!t) throw new Error("model: tensor " + name + " is missing");
    var count = shape.reduce(function (a, b) { return a * b; }, 1);
    if (t.data.length !== count) throw new Error("model: " + name + " has shape [" + t.shape + "], expected [" + shape + "]");
    return t.data;
  }

  // config: {layers, dModel, heads, dMlp, context, vocab, activation: relu|gelu|gelu_new, attnOnly, tied, scaleByLayer, eps}
  function Transformer(config, tensors) {
    var c = this.config = config, d = c.dModel, L = c.layers, i;
    this.dHead = d / c.heads;
    this.wte = weight(tensors, "transformer.wte.weight", [c.vocab, d]);
    this.wpe = weight(tensors, "transformer.wpe.weight", [c.context, d]);
    this.unembed = c.tied ? this.wte : weight(tensors, "lm_head.weight", [c.vocab, d]);
    this.lnfG = weight(tensors, "transformer.ln_f.weight", [d]);
    this.lnfB = weight(tensors, "transformer.ln_f.bias", [d]);
    this.blocks = [];
    for (i = 0; i < L; i++) {
      var p = "transformer.h." + i + ".", b = {
        ln1G: weight(tensors, p + "ln_1.weight", [d]), ln1B: weight(tensors, p + "ln_1.bias", [d]),
        attnW: weight(tensors, p + "attn.c_attn.weight", [d, 3 * d]), attnB: weight(tensors, p + "attn.c_attn.bias", [3 * d]),
        projW: weight(tensors, p + "attn.c_proj.weight", [d, d]), projB: weight(tensors, p + "attn.c_proj.bias", [d]),
        keys: new Float64Array(c.context * d), values: new Float64Array(c.context * d),
      };
      if (!c.attnOnly) {
        b.ln2G = weight(tensors, p + "ln_2.weight", [d]); b.ln2B = weight(tensors, p + "ln_2.bias", [d]);
        b.fcW = weight(tensors, p + "mlp.c_fc.weight", [d, c.dMlp]); b.fcB = weight(tensors, p + "mlp.c_fc.bias", [c.dMlp]);
        b.outW = weight(tensors, p + "mlp.c_proj.weight", [c.dMlp, d]); b.outB = weight(tensors, p + "mlp.c_proj.bias", [d]);
      }
      this.blocks.push(b);
    }
    this.resid = new Float64Array(d);
    this.normed = new Float64Array(d);
    this.qkv = new Float64Array(3 * d);
    this.z = new Float64Array(d);
    this.delta = new Float64Array(d);
    this.hidden = new Float64Array(c.attnOnly ? 1 : c.dMlp);
    this.post = new Float64Array(c.attnOnly ? 1 : c.dMlp);
    this.scores = new Float64Array(c.context);
    this.logits = new Float64Array(c.vocab);
    this.length = 0;         // positions in the cache
    this.hook = null;        // {layer, kind, fn(vector)}: fn reads or changes the activation in place
  }

  Transformer.prototype.reset = function () { this.length = 0; };

  // A second model on the same weights with its own cache and buffers (the steered run beside the unsteered one).
  Transformer.prototype.fork = function () {
    var copy = Object.create(Transformer.prototype), c = this.config, self = this;
    Object.keys(this).forEach(function (k) { copy[k] = self[k]; });
    copy.blocks = this.blocks.map(function (b) {
      var nb = Object.assign({}, b);
      nb.keys = new Float64Array(b.keys.length); nb.values = new Float64Array(b.values.length);
      return nb;
    });
    ["resid", "normed", "qkv", "z", "delta", "hidden", "post", "scores", "logits"].forEach(function (k) { copy[k] = new Float64Array(self[k].length); });
    copy.length = 0;
    copy.hook = null;
    return copy;
  };

  Transformer.prototype.runHook = function (layer, kind, vector) {
    var h = this.hook;
    if (h && h.layer === layer && h.kind === kind) h.fn(vector);
  };

  function layerNorm(x, g, b, eps, out) {
    var n = x.length, mean = 0, v = 0, i;
    for (i = 0; i < n; i++) mean += x[i];
    mean /= n;
    for (i = 0; i < n; i++) { var t = x[i] - mean; v += t * t; }
    var rstd = 1 / Math.sqrt(v / n + eps);
    for (i = 0; i < n; i++) out[i] = (x[i] - mean) * rstd * g[i] + b[i];
  }

  // out = x·W + bias with W [nIn, nOut] row-major (Conv1D).
  function linear(x, W, bias, out) {
    var nIn = x.length, nOut = out.length, i, o;
    for (o = 0; o < nOut; o++) out[o] = bias[o];
    for (i = 0; i < nIn; i++) {
      var xi = x[i];
      if (xi === 0) continue;
      var row = i * nOut;
      for (o = 0; o < nOut; o++) out[o] += xi * W[row + o];
    }
  }

  // Abramowitz & Stegun 7.1.26, the erf of Mechanist's GELU kernel (VectorMath.ErfFast).
  function erf(x) {
    var a = Math.abs(x), t = 1 / (1 + 0.3275911 * a);
    var y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
    return x < 0 ? -y : y;
  }

  function activate(kind, x, y) {
    var n = x.length, i, v;
    if (kind === "relu") for (i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
    else if (kind === "gelu") for (i = 0; i < n; i++) { v = x[i]; y[i] = 0.5 * v * (1 + erf(v * 0.7071067811865476)); }
    else if (kind === "gelu_new")
      for (i = 0; i < n; i++) { v = x[i]; y[i] = 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))); }
    else throw new Error("unknown MLP activation " + kind);
  }

  // Feeds one token at the next position; returns the logits (a buffer reused by the next call).
  Transformer.prototype.step = function (token) {
    var c = this.config, d = c.dModel, dh = this.dHead, pos = this.length, i, j, h, l;
    if (pos >= c.context) throw new Error("the context of " + c.context + " positions is full");
    if (!(token >= 0 && token < c.vocab)) throw new Error("token " + token + " is outside the vocabulary of " + c.vocab);
    var x = this.resid, normed = this.normed, qkv = this.qkv, z = this.z, delta = this.delta;
    for (i = 0; i < d; i++) x[i] = this.wte[token * d + i] + this.wpe[pos * d + i];
    for (l = 0; l < c.layers; l++) {
      var b = this.blocks[l];
      this.runHook(l, "resid_pre", x);
      layerNorm(x, b.ln1G, b.ln1B, c.eps, normed);
      linear(normed, b.attnW, b.attnB, qkv);
      for (i = 0; i < d; i++) { b.keys[pos * d + i] = qkv[d + i]; b.values[pos * d + i] = qkv[2 * d + i]; }
      var scale = 1 / Math.sqrt(dh) / (c.scaleByLayer ? l + 1 : 1), scores = this.scores;
      for (h = 0; h < c.heads; h++) {
        var q0 = h * dh, max = -Infinity, sum = 0;
        for (j = 0; j <= pos; j++) {
          var s = 0, k0 = j * d + q0;
          for (i = 0; i < dh; i++) s += qkv[q0 + i] * b.keys[k0 + i];
          s *= scale;
          scores[j] = s;
          if (s > max) max = s;
        }
        for (j = 0; j <= pos; j++) { scores[j] = Math.exp(scores[j] - max); sum += scores[j]; }
        for (i = 0; i < dh; i++) z[q0 + i] = 0;
        for (j = 0; j <= pos; j++) {
          var p = scores[j] / sum, v0 = j * d + q0;
          for (i = 0; i < dh; i++) z[q0 + i] += p * b.values[v0 + i];
        }
      }
      this.runHook(l, "z", z);
      linear(z, b.projW, b.projB, delta);
      this.runHook(l, "attn_out", delta);
      for (i = 0; i < d; i++) x[i] += delta[i];
      if (c.attnOnly) { this.runHook(l, "resid_post", x); continue; }
      this.runHook(l, "resid_mid", x);
      layerNorm(x, b.ln2G, b.ln2B, c.eps, normed);
      linear(normed, b.fcW, b.fcB, this.hidden);
      this.runHook(l, "mlp_pre", this.hidden);
      activate(c.activation, this.hidden, this.post);
      this.runHook(l, "mlp_post", this.post);
      linear(this.post, b.outW, b.outB, delta);
      this.runHook(l, "mlp_out", delta);
      for (i = 0; i < d; i++) x[i] += delta[i];
      this.runHook(l, "resid_post", x);
    }
    this.length = pos + 1;
    layerNorm(x, this.lnfG, this.lnfB, c.eps, normed);
    var U = this.unembed, logits = this.logits;
    for (var v = 0; v < c.vocab; v++) {
      var row = v * d, a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (i = 0; i + 3 < d; i += 4) {
        a0 += normed[i] * U[row + i]; a1 += normed[i + 1] * U[row + i + 1];
        a2 += normed[i + 2] * U[row + i + 2]; a3 += normed[i + 3] * U[row + i + 3];
      }
      for (; i < d; i++) a0 += normed[i] * U[row + i];
      logits[v] = (a0 + a1) + (a2 + a3);
    }
    return logits;
  };

  // The last position's logits for a token sequence (the tail that fits the context), from an empty cache.
  Transformer.prototype.logitsOf = function (ids) {
    if (ids.length > this.config.context) ids = ids.slice(ids.length - this.config.context);
    this.reset();
    var out = null;
    for (var i = 0; i < ids.length; i++) out = this.step(ids[i]);
    return Array.from(out);
  };

  M.Transformer = Transformer;
})();
