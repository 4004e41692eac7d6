// The Generate page: continue a prompt with the model in the page, colour each token by a chosen feature, steer or
// clamp features at the SAE's hook, and show the steered continuation beside the unsteered one. Its state lives in the
// URL (?prompt=…&tokens=…&temperature=…&topk=…&seed=…&steer=ID:α,…&clamp=ID:v,…&color=ID), so a link reproduces a run.
(function () {
  "use strict";
  var M = window.Mechanist;
  var app = document.getElementById("genapp");
  if (!app || !M) return;
  var $ = function (id) { return document.getElementById(id); };
  var status = $("modelstatus"), form = $("gen"), featureRows = $("featurerows");
  var units = window.MECHANIST_UNITS, featureHref = app.dataset.featureHref || "";
  var web = null, chosen = [], running = null;

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; });
  }
  function shown(t) { return t.replace(/\n/g, "↵\n").replace(/\t/g, "⇥").replace(/\r/g, ""); }
  function maxActivation(id) { return units && units.units[id] ? units.units[id][2] : 0; }

  // --- URL state -------------------------------------------------------------------------------------------------
  function pairs(text, mode) {
    return (text || "").split(",").map(function (p) { return p.trim().split(":"); }).filter(function (p) { return p[0] !== "" && !isNaN(p[0]); })
      .map(function (p) { return { feature: Number(p[0]), mode: mode, value: p.length > 1 && !isNaN(p[1]) ? Number(p[1]) : 0 }; });
  }
  function readUrl() {
    var q = new URLSearchParams(location.search);
    if (q.has("prompt")) $("prompt").value = q.get("prompt");
    if (q.has("tokens")) $("tokens").value = q.get("tokens");
    if (q.has("temperature")) $("temperature").value = q.get("temperature");
    if (q.has("topk")) $("topk").value = q.get("topk");
    if (q.has("seed")) $("seed").value = q.get("seed");
    chosen = pairs(q.getAll("steer").join(","), "steer").concat(pairs(q.getAll("clamp").join(","), "clamp"));
    var color = q.get("color");
    chosen.forEach(function (f) { f.color = String(f.feature) === color; });
    if (chosen.length && !chosen.some(function (f) { return f.color; })) chosen[0].color = true;
    return q.has("prompt");
  }
  function writeUrl() {
    var q = new URLSearchParams();
    q.set("prompt", $("prompt").value);
    q.set("tokens", $("tokens").value);
    q.set("temperature", $("temperature").value);
    q.set("topk", $("topk").value);
    q.set("seed", $("seed").value);
    var steer = chosen.filter(function (f) { return f.mode === "steer"; }).map(function (f) { return f.feature + ":" + f.value; });
    var clamp = chosen.filter(function (f) { return f.mode === "clamp"; }).map(function (f) { return f.feature + ":" + f.value; });
    if (steer.length) q.set("steer", steer.join(","));
    if (clamp.length) q.set("clamp", clamp.join(","));
    var color = chosen.filter(function (f) { return f.color; })[0];
    if (color) q.set("color", color.feature);
    history.replaceState(null, "", location.pathname + "?" + q.toString().replace(/%3A/g, ":").replace(/%2C/g, ","));
  }

  // --- chosen features: a slider each ------------------------------------------------------------------------------
  function renderFeatures() {
    featureRows.innerHTML = chosen.map(function (f, i) {
      var range = Math.max(10, Math.ceil(maxActivation(f.feature) * 2), Math.ceil(Math.abs(f.value)));
      var name = featureHref ? "<a href=\"" + featureHref.replace("{id}", f.feature) + "\">" + f.feature + "</a>" : String(f.feature);
      return "<div class=\"frow\" data-i=\"" + i + "\"><span class=\"fid\">Feature " + name + "</span>" +
        "<select class=\"fmode\"><option value=\"steer\"" + (f.mode === "steer" ? " selected" : "") + ">steer (add α·d)</option>" +
        "<option value=\"clamp\"" + (f.mode === "clamp" ? " selected" : "") + ">clamp to</option></select>" +
        "<input type=\"range\" class=\"fval\" min=\"" + (-range) + "\" max=\"" + range + "\" step=\"0.1\" value=\"" + f.value + "\">" +
        "<output class=\"fout\">" + f.value + "</output>" +
        "<label><input type=\"radio\" name=\"color\" class=\"fcolor\"" + (f.color ? " checked" : "") + "> colour by</label>" +
        "<button type=\"button\" class=\"fdel\" title=\"remove\">×</button></div>";
    }).join("");
  }
  featureRows.addEventListener("input", function (e) {
    var row = e.target.closest(".frow");
    if (!row) return;
    var f = chosen[Number(row.dataset.i)];
    if (e.target.classList.contains("fval")) { f.value = Number(e.target.value); row.querySelector(".fout").textContent = f.value; }
  });
  featureRows.addEventListener("change", function (e) {
    var row = e.target.closest(".frow");
    if (!row) return;
    var f = chosen[Number(row.dataset.i)];
    if (e.target.classList.contains("fmode")) f.mode = e.target.value;
    if (e.target.classList.contains("fcolor")) chosen.forEach(function (g) { g.color = g === f; });
    writeUrl();
    if (web) run();
  });
  featureRows.addEventListener("click", function (e) {
    if (!e.target.classList.contains("fdel")) return;
    chosen.splice(Number(e.target.closest(".frow").dataset.i), 1);
    if (chosen.length && !chosen.some(function (g) { return g.color; })) chosen[0].color = true;
    renderFeatures();
    writeUrl();
  });
  $("addfeature").addEventListener("click", function () {
    var id = Number($("newfeature").value);
    if (!web || !web.sae || !(id >= 0 && id < web.sae.dSae) || $("newfeature").value === "") {
      status.textContent = web && web.sae ? "Feature ids run from 0 to " + (web.sae.dSae - 1) + "." : "No SAE was exported with this model.";
      return;
    }
    chosen.push({ feature: id, mode: "steer", value: 0, color: chosen.length === 0 });
    $("newfeature").value = "";
    renderFeatures();
    writeUrl();
  });

  // --- generation ------------------------------------------------------------------------------------------------
  // One column: a Generator and the spans of its tokens, the text streamed as the CLI prints it (complete characters only).
  function Column(el, textEl, model, options, colorFeature) {
    this.el = el; this.textEl = textEl; this.gen = new M.Generator({ model: model, sae: web.sae }, options);
    this.promptLength = options.prompt.length; this.count = 0; this.done = false;
    this.colorIndex = (options.watch || []).indexOf(colorFeature);
    this.scale = Math.max(1e-6, maxActivation(colorFeature));
    this.promptText = options.promptText; this.shownText = "";
    el.innerHTML = "";
    textEl.textContent = "";
    delete textEl.dataset.done;
  }
  Column.prototype.step = function (total) {
    this.gen.next();
    this.count++;
    if (this.count >= total) { this.gen.finish(); this.done = true; }
    var ids = this.gen.history.slice(this.promptLength);
    var text = web.tokenizer.decode(ids);
    if (!text.endsWith("\uFFFD") && text.startsWith(this.shownText)) this.shownText = text;
  };
  Column.prototype.render = function () {
    var g = this.gen, ids = g.history, display = web.tokenizer.inContext(ids), html = [], self = this;
    for (var i = 0; i < ids.length; i++) {
      var f = g.positions[i], a = f && self.colorIndex >= 0 ? f.watch[self.colorIndex] : 0;
      if (a > self.scale) self.scale = a;
      var title = web.tokenizer.display[ids[i]] + ": " + (f ? (f.top.length ? f.top.map(function (t) { return "f" + t[0] + " " + t[1].toFixed(2); }).join(" · ") : "no feature fires") : "…");
      var alpha = a > 0 ? Math.min(1, Math.max(0.08, a / self.scale)) : 0;
      html.push("<span class=\"tok" + (i < this.promptLength ? " prompt" : "") + "\" data-i=\"" + i + "\" title=\"" + esc(title) + "\"" +
        (alpha > 0 ? " style=\"background:rgba(255,128,0," + alpha.toFixed(2) + ")\"" : "") + ">" + esc(shown(display[i])) + "</span>");
    }
    this.el.innerHTML = html.join("");
    if (this.done) {
      this.textEl.textContent = this.promptText + this.shownText;
      this.textEl.dataset.done = "1";
    }
  };

  function run() {
    if (!web) return;
    if (running) running.cancelled = true;
    writeUrl();
    var prompt = web.tokenizer.encode($("prompt").value), total = Math.max(1, Math.min(4096, Number($("tokens").value) || 1));
    if (!prompt.length) { status.textContent = "Type a prompt first."; return; }
    var interventions = chosen.filter(function (f) { return f.value !== 0 || f.mode === "clamp"; });
    var colorFeature = (chosen.filter(function (f) { return f.color; })[0] || {}).feature;
    var base = {
      prompt: prompt, promptText: $("prompt").value, temperature: Number($("temperature").value) || 0, topK: Number($("topk").value) || 0,
      seed: Number($("seed").value) || 0, top: web.sae ? 5 : 0, watch: colorFeature == null ? [] : [colorFeature],
    };
    var columns = [new Column($("plain"), $("generated"), web.model, base, colorFeature)];
    var steered = interventions.length > 0 && web.sae;
    $("steeredcol").hidden = !steered;
    if (steered) {
      // The steered run gets its own cache on the same weights, so the two continue side by side.
      web.fork = web.fork || web.model.fork();
      columns.push(new Column($("steeredtokens"), $("steered"), web.fork, Object.assign({}, base, { interventions: interventions }), colorFeature));
    }
    var job = running = { cancelled: false }, started = performance.now();
    var channel = new MessageChannel();
    function slice() {
      if (job.cancelled) return;
      var until = performance.now() + 40;
      do columns.forEach(function (col) { if (!col.done) col.step(total); });
      while (performance.now() < until && columns.some(function (col) { return !col.done; }));
      columns.forEach(function (col) { col.render(); });
      var made = columns[0].count, seconds = (performance.now() - started) / 1000;
      status.textContent = made + " of " + total + " tokens · " + (made / Math.max(seconds, 1e-3)).toFixed(0) + " tokens/s" + (steered ? " per column" : "");
      if (columns.some(function (col) { return !col.done; })) channel.port2.postMessage(0);
      else running = null;
    }
    channel.port1.onmessage = slice;
    slice();
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); run(); });

  var autorun = readUrl();
  renderFeatures();
  status.textContent = "Loading the model…";
  M.loadWebModel(app.dataset.modelBase, function (s) { status.textContent = s; }).then(function (loaded) {
    web = loaded;
    window.mechanistWeb = web;
    var m = loaded.manifest;
    status.textContent = "Model loaded in " + (loaded.loadMs / 1000).toFixed(2) + " s (" + M.megabytes(m.totalBytes) + ", " + m.precision + ")." +
      (loaded.sae ? "" : " No SAE was exported, so there are no features to show or steer.");
    app.dataset.ready = "1";
    if (autorun) run();
  }, function (e) {
    status.textContent = e.message;
    status.classList.add("error");
    app.dataset.failed = "1";
  });
})();
