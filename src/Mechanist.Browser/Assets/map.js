// Mechanist browser: the feature map. Lays out the attached neighbour graph of decoder directions (window.MECHANIST_MAP,
// from `features splits`) with umap-js (15 neighbours, min_dist 0.05), seeded so every load draws the same map, in
// slices of epochs so the page stays responsive; then draws one SVG circle per latent, coloured by dictionary width.
(function () {
  "use strict";
  var svg = document.getElementById("map");
  var status = document.getElementById("mapstatus");
  if (!svg) return;
  var data = window.MECHANIST_MAP;
  function fail(text) { status.textContent = text; status.classList.add("error"); }
  if (!data || !window.UMAP) { fail("The map's data or its layout script did not load."); return; }

  var n = data.points.length;
  var neighbours = data.neighbours.length ? data.neighbours[0].length : 0;
  if (n <= neighbours || neighbours < 2) { fail("Too few live latents (" + n + ") to lay out a map."); return; }

  // xorshift32: a fixed seed, so the layout is the same on every load and machine.
  var state = 20261203;
  function random() {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    return (state >>> 0) / 4294967296;
  }
  var umap = new window.UMAP.UMAP({ nComponents: 2, nNeighbors: neighbours, minDist: 0.05, spread: 1, random: random });
  umap.setPrecomputedKNN(data.neighbours, data.distances);
  var started = performance.now();
  var epochs = umap.initializeFit(data.points);
  var done = 0;

  var palette = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777"];
  var own = Number(svg.dataset.width);
  var href = svg.dataset.featureHref;
  function colour(width) { return palette[data.widths.indexOf(width) % palette.length]; }

  function slice() {
    var until = Math.min(epochs, done + 20);
    for (; done < until; done++) umap.step();
    status.textContent = "Laying out " + n.toLocaleString("en") + " points: epoch " + done + " of " + epochs + "…";
    if (done < epochs) setTimeout(slice, 0); else draw(umap.getEmbedding());
  }

  function draw(xy) {
    var minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    xy.forEach(function (p) { minX = Math.min(minX, p[0]); maxX = Math.max(maxX, p[0]); minY = Math.min(minY, p[1]); maxY = Math.max(maxY, p[1]); });
    var sx = 960 / Math.max(maxX - minX, 1e-9), sy = 660 / Math.max(maxY - minY, 1e-9);
    var ns = "http://www.w3.org/2000/svg";
    var order = data.points.map(function (_, i) { return i; });
    order.sort(function (a, b) { return (data.points[a][0] === own) - (data.points[b][0] === own); }); // this store's points on top
    order.forEach(function (i) {
      var p = data.points[i];
      var c = document.createElementNS(ns, "circle");
      c.setAttribute("cx", (20 + (xy[i][0] - minX) * sx).toFixed(1));
      c.setAttribute("cy", (20 + (xy[i][1] - minY) * sy).toFixed(1));
      c.setAttribute("r", p[0] === own ? 4.5 : 3);
      c.setAttribute("fill", colour(p[0]));
      c.setAttribute("class", p[0] === own ? "pt link" : "pt");
      c.dataset.width = p[0];
      c.dataset.latent = p[1];
      c.dataset.text = p[2] || "";
      if (p[0] === own) c.dataset.href = href.replace("{id}", p[1]);
      svg.appendChild(c);
    });
    var legend = document.getElementById("maplegend");
    data.widths.forEach(function (w) {
      var count = data.points.filter(function (p) { return p[0] === w; }).length;
      var item = document.createElement("span");
      item.className = "item";
      item.innerHTML = "<i style=\"background:" + colour(w) + "\"></i>" + w.toLocaleString("en") + " latents (" + count.toLocaleString("en") + " shown)";
      legend.appendChild(item);
    });
    status.textContent = n.toLocaleString("en") + " live latents of " + data.widths.length + " dictionaries, laid out in " +
      ((performance.now() - started) / 1000).toFixed(1) + " s.";
    svg.dataset.ready = "1";
  }

  var hover = document.getElementById("hover");
  svg.addEventListener("mouseover", function (e) {
    var c = e.target.closest ? e.target.closest("circle.pt") : null;
    if (!c || !hover) return;
    hover.textContent = "";
    var b = document.createElement("b");
    b.textContent = "width " + Number(c.dataset.width).toLocaleString("en") + " · latent " + c.dataset.latent;
    hover.appendChild(b);
    hover.appendChild(document.createTextNode(" " + (c.dataset.text || "(no explanation)")));
    var r = c.getBoundingClientRect();
    hover.style.left = Math.max(4, r.left + window.scrollX + 8) + "px";
    hover.style.top = (r.bottom + window.scrollY + 6) + "px";
    hover.hidden = false;
  });
  svg.addEventListener("mouseout", function (e) {
    if (hover && e.target.closest && e.target.closest("circle.pt")) hover.hidden = true;
  });
  svg.addEventListener("click", function (e) {
    var c = e.target.closest ? e.target.closest("circle.pt.link") : null;
    if (c) window.location.href = c.dataset.href;
  });
  setTimeout(slice, 0);
})();
