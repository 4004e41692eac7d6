// Mechanist in-page model, part 5: sampling, with features read (and steered) at the SAE's hook.
// The sampling loop is Mechanist.Models.Sampler.Generate's: the prompt's last `context` tokens are fed, each new token
// is fed alone, and when the context is full the cache is rebuilt from the last context/2 tokens. Temperature 0 is
// greedy (the first of equal maxima); otherwise softmax(logits/T) over the top k (0 = all), drawn with a seeded
// generator, so a URL reproduces its text (the draws differ from the C# sampler's; greedy text is the same).
(function () {
  "use strict";
  var M = window.Mechanist = window.Mechanist || {};

  // mulberry32 on a 32-bit seed: small, fast, and the same sequence in every browser.
  function Rng(seed) { this.state = (seed >>> 0) ^ 0x6d2b79f5; }
  Rng.prototype.next = function () {
    var t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  M.Rng = Rng;

  // Picks the next token from logits; `scratch` holds preallocated arrays so sampling allocates nothing.
  function sample(logits, settings, rng, scratch) {
    var n = logits.length, i, best = 0;
    for (i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
    if (!(settings.temperature > 0)) return best;
    var k = settings.topK > 0 && settings.topK < n ? settings.topK : n, max = logits[best], T = settings.temperature, total = 0;
    if (k === n) {
      var p = scratch.probs;
      for (i = 0; i < n; i++) total += p[i] = Math.exp((logits[i] - max) / T);
      var u = rng.next() * total;
      for (i = 0; i < n; i++) { u -= p[i]; if (u < 0) return i; }
      return n - 1;
    }
    var vals = scratch.topValues, idx = scratch.topIndex, count = 0, s;
    for (i = 0; i < n; i++) {
      var v = logits[i];
      if (count === k && v <= vals[k - 1]) continue;
      for (s = count < k ? count++ : k - 1; s > 0 && vals[s - 1] < v; s--) { vals[s] = vals[s - 1]; idx[s] = idx[s - 1]; }
      vals[s] = v; idx[s] = i;
    }
    for (i = 0; i < k; i++) total += vals[i] = Math.exp((vals[i] - max) / T);
    var w = rng.next() * total;
    for (i = 0; i < k; i++) { w -= vals[i]; if (w < 0) return idx[i]; }
    return idx[k - 1];
  }
  M.sample = sample;

  // One continuation. web: {model, sae?}; options: {prompt: ids, temperature, topK, seed,
  // interventions: [{feature, mode: "steer"|"clamp", value}], watch: [feature ids], top: features per token (0 = none)}.
  // After each next(), `history` holds prompt and tokens, and `positions[i]` the features at token i once it was fed:
  // {top: [[id, activation], ...], watch: [activation per watched feature]}.
  function Generator(web, options) {
    var model = this.model = web.model, ctx = model.config.context;
    if (!options.prompt.length) throw new Error("the prompt encodes to no tokens");
    this.settings = { temperature: Number(options.temperature) || 0, topK: options.topK | 0 };
    this.rng = new Rng(options.seed | 0);
    this.history = options.prompt.slice();
    this.feed = this.history.slice(Math.max(0, this.history.length - ctx));
    this.fedUpTo = this.history.length - this.feed.length; // index in history of the next token fed
    this.positions = [];
    var vocab = model.config.vocab, k = Math.max(1, Math.min(vocab, this.settings.topK));
    this.scratch = { probs: new Float64Array(vocab), topValues: new Float64Array(k), topIndex: new Int32Array(k) };
    var sae = web.sae, interventions = options.interventions || [], watch = options.watch || [], top = options.top | 0, self = this;
    if (sae && (interventions.length || watch.length || top)) {
      var hook = M.parseHook(sae.cfg.hook, model.config);
      if (hook.width !== sae.dIn) throw new Error("the SAE reads " + sae.dIn + " values but " + sae.cfg.hook + " has " + hook.width);
      var needsCodes = interventions.some(function (v) { return v.mode === "clamp"; });
      model.hook = {
        layer: hook.layer, kind: hook.kind, fn: function (x) {
          if (needsCodes) sae.encode(x);
          for (var i = 0; i < interventions.length; i++) {
            var v = interventions[i];
            sae.addDirection(x, v.feature, v.mode === "clamp" ? v.value - sae.acts[v.feature] : v.value);
          }
          var at = self.fedUpTo;
          if (self.positions[at]) return; // a rebuilt cache re-feeds tokens: keep what was seen first
          var acts = watch.length || top ? sae.encode(x) : null;
          self.positions[at] = {
            top: top ? sae.top(top) : [],
            watch: watch.map(function (f) { return acts[f]; }),
          };
        },
      };
    } else model.hook = null;
    model.reset();
  }

  Generator.prototype.feedAll = function () {
    var logits = null, model = this.model;
    for (var i = 0; i < this.feed.length; i++) { logits = model.step(this.feed[i]); this.fedUpTo++; }
    return logits;
  };

  // Samples one token and returns it.
  Generator.prototype.next = function () {
    var model = this.model, ctx = model.config.context;
    if (model.length + this.feed.length > ctx) {
      model.reset();
      var keep = Math.floor(ctx / 2);
      this.feed = this.history.slice(Math.max(0, this.history.length - keep));
      this.fedUpTo = this.history.length - this.feed.length;
    }
    var logits = this.feedAll();
    var next = sample(logits, this.settings, this.rng, this.scratch);
    this.history.push(next);
    this.feed.length = 1;
    this.feed[0] = next;
    return next;
  };

  // Feeds the last token without sampling, so its features are known too (at the end of a run).
  Generator.prototype.finish = function () {
    if (this.positions[this.history.length - 1] || !this.model.hook) return;
    if (this.model.length + this.feed.length > this.model.config.context) return;
    this.feedAll();
    this.feed.length = 0;
  };

  M.Generator = Generator;

  // Each token's strongest features ([[id, activation], ...] per token), as the server's playground computes them:
  // text longer than the context is cut into consecutive windows of the context, each run from an empty cache.
  M.encodeFeatures = function (web, ids, top) {
    var model = web.model, sae = web.sae, ctx = model.config.context, out = [];
    if (!sae) throw new Error("no SAE was exported with this model");
    var hook = M.parseHook(sae.cfg.hook, model.config);
    model.hook = { layer: hook.layer, kind: hook.kind, fn: function (x) { sae.encode(x); out.push(sae.top(top)); } };
    try {
      for (var start = 0; start < ids.length; start += ctx) {
        model.reset();
        for (var i = start; i < Math.min(ids.length, start + ctx); i++) model.step(ids[i]);
      }
    } finally { model.hook = null; }
    return out;
  };

  // Greedy-or-sampled generation of `count` tokens in one go (tests and the benchmark): {ids, text, ms}.
  M.generateText = function (web, promptText, count, options) {
    var o = Object.assign({ temperature: 0, topK: 0, seed: 0 }, options || {});
    o.prompt = web.tokenizer.encode(promptText);
    var started = performance.now(), g = new Generator(web, o), ids = [];
    for (var i = 0; i < count; i++) ids.push(g.next());
    var ms = performance.now() - started;
    web.model.hook = null;
    return { ids: ids, text: promptText + web.tokenizer.decode(ids), ms: ms };
  };
})();
