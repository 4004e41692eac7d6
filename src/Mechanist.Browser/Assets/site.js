// Mechanist browser: hover panel for tokens, client-side search/sort for the static export, the playground.
// Plain script, no dependencies; every page's content is already in the HTML, this only adds interaction.
(function () {
  "use strict";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function tokenText(t) { return t.length === 0 ? "∅" : t.replace(/\n/g, "↵").replace(/\t/g, "⇥").replace(/\r/g, ""); }
  function tokenLabel(t) {
    var s = tokenText(t), core = s.trim();
    if (core.length === 0) return "·".repeat(Math.max(1, s.length));
    var lead = s.length - s.replace(/^ +/, "").length, trail = s.replace(/^ +/, "").length - s.trim().length;
    return "·".repeat(lead) + core + "·".repeat(trail);
  }
  function fmt(v, digits) { return Number(v).toFixed(digits); }
  function density(d) { return d <= 0 ? "0%" : Number((d * 100).toPrecision(3)) + "%"; }

  // Hover panel: token and activation next to the pointer (the title attribute remains as a fallback).
  var hover = document.getElementById("hover");
  document.addEventListener("mouseover", function (e) {
    var t = e.target.closest ? e.target.closest(".tok[title]") : null;
    if (!t || !hover) return;
    var title = t.getAttribute("title"), cut = title.lastIndexOf(": ");
    hover.innerHTML = "<b>" + esc(title.slice(0, cut)) + "</b> " + esc(title.slice(cut + 2));
    var r = t.getBoundingClientRect();
    hover.style.left = Math.max(4, r.left + window.scrollX) + "px";
    hover.style.top = (r.bottom + window.scrollY + 6) + "px";
    hover.hidden = false;
  });
  document.addEventListener("mouseout", function (e) {
    if (hover && e.target.closest && e.target.closest(".tok[title]")) hover.hidden = true;
  });

  // Static export: sort and search every unit from data/units-*.js, since there is no server to ask.
  var data = window.MECHANIST_UNITS, table = document.getElementById("units");
  if (data && table) {
    var form = document.querySelector("form.search"), input = document.getElementById("q");
    var status = document.getElementById("status"), more = document.getElementById("more");
    var sort = "density";
    var unitHref = function (id) { return data.kind + "/" + id + ".html"; };
    var render = function () {
      var q = input.value.trim().toLowerCase(), ids;
      if (q) {
        var byToken = [], byText = [];
        data.units.forEach(function (u) {
          var rank = u[4].findIndex(function (t) { return t.trim().toLowerCase() === q; });
          if (rank >= 0) byToken.push([rank, u[0]]);
          else if (u[5] && u[5].toLowerCase().indexOf(q) >= 0) byText.push(u[0]);
        });
        byToken.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
        var pos = {};
        data.order[sort].forEach(function (id, i) { pos[id] = i; });
        ids = byToken.map(function (p) { return p[1]; }).concat(byText);
        ids.sort(function (a, b) { return pos[a] - pos[b]; }); // "id" too: matches come in relevance order
        status.innerHTML = ids.length + (ids.length === 1 ? " match" : " matches") + " for “" + esc(input.value.trim()) + "”.";
      } else {
        ids = data.order[sort];
        status.textContent = "Sorted by " + sort + ".";
      }
      var rows = ids.slice(0, 100).map(function (id) {
        var u = data.units[id];
        return "<tr" + (u[1] <= 0 ? " class=\"dead\"" : "") + "><td class=\"id\"><a href=\"" + unitHref(id) + "\">" + id + "</a></td>" +
          "<td class=\"num\">" + density(u[1]) + "</td><td class=\"num\">" + fmt(u[2], 2) + "</td><td class=\"toks\">" +
          u[4].slice(0, 5).map(function (t) { return "<span class=\"chip\">" + esc(tokenLabel(t)) + "</span>"; }).join("") +
          "</td><td class=\"expl\">" + esc(u[5]) + "</td><td class=\"num\">" + (u[3] == null ? "" : fmt(u[3], 2)) + "</td></tr>";
      });
      table.tBodies[0].innerHTML = rows.join("");
      if (more) more.textContent = ids.length > 100 ? "Showing the first 100 of " + ids.length + "; search or sort to see others." : "";
      table.querySelectorAll("th").forEach(function (th) {
        var a = th.querySelector("a[data-sort]");
        if (a) th.classList.toggle("on", a.getAttribute("data-sort") === sort);
      });
    };
    form.addEventListener("submit", function (e) { e.preventDefault(); render(); });
    input.addEventListener("input", function () { if (!input.value) render(); });
    table.querySelectorAll("a[data-sort]").forEach(function (a) {
      a.addEventListener("click", function (e) { e.preventDefault(); sort = a.getAttribute("data-sort"); render(); });
    });
  }

  // Playground: encode typed text (on the server, or with the model in the page for a static export), shade each token
  // by its strongest feature, click for details.
  var play = document.getElementById("play");
  if (play) {
    var text = document.getElementById("text"), out = document.getElementById("tokens");
    var playStatus = document.getElementById("playstatus"), detail = document.getElementById("detail");
    var featureHref = play.dataset.featureHref || "/feature/{id}";
    var tokens = [], timer = 0, selected = -1;
    var show = function (i) {
      selected = i;
      out.querySelectorAll(".tok").forEach(function (el) { el.classList.toggle("sel", Number(el.dataset.i) === i); });
      var t = tokens[i];
      document.getElementById("detailtitle").textContent = "Top features on “" + tokenLabel(t.token) + "”";
      detail.querySelector("tbody").innerHTML = t.top.length === 0
        ? "<tr><td colspan=\"4\" class=\"muted\">No feature fires on this token.</td></tr>"
        : t.top.map(function (f) {
          return "<tr><td class=\"id\"><a href=\"" + featureHref.replace("{id}", f.id) + "\">" + f.id + "</a></td><td class=\"num\" data-value=\"" + f.activation + "\">" + fmt(f.activation, 2) +
            "</td><td class=\"toks\">" + f.topTokens.map(function (s) { return "<span class=\"chip\">" + esc(tokenLabel(s)) + "</span>"; }).join("") +
            "</td><td class=\"expl\">" + esc(f.explanation) + "</td></tr>";
        }).join("");
      detail.hidden = false;
    };
    var shade = function (j) {
      tokens = j.tokens;
      out.innerHTML = tokens.map(function (t, i) {
        var f = t.top[0], a = f ? f.activation : 0, alpha = f && f.max > 0 ? Math.min(1, Math.max(0.08, a / f.max)) : 0;
        return "<span class=\"tok\" data-i=\"" + i + "\" title=\"" + esc(tokenLabel(t.token)) + ": " +
          (f ? "feature " + f.id + " · " + fmt(a, 2) : "none") + "\"" +
          (alpha > 0 ? " style=\"background:rgba(255,128,0," + alpha.toFixed(2) + ")\"" : "") + ">" + esc(tokenText(t.text != null ? t.text : t.token)) + "</span>";
      }).join("");
      playStatus.textContent = tokens.length + " tokens. Click one to see its features.";
      if (tokens.length > 0) show(selected >= 0 && selected < tokens.length ? selected : 0);
    };
    // The static export's playground: the same answer as the server's /api/encode, computed by the model in the page.
    var local = null;
    var encodeLocally = function (web) {
      var units = window.MECHANIST_UNITS, ids = web.tokenizer.encode(text.value).slice(0, 2048);
      var shown = web.tokenizer.inContext(ids), top = window.Mechanist.encodeFeatures(web, ids, 5);
      return {
        tokens: ids.map(function (id, i) {
          return {
            token: web.tokenizer.display[id], text: shown[i],
            top: top[i].map(function (f) {
              var u = units && units.units[f[0]];
              return { id: f[0], activation: f[1], max: u ? u[2] : 0, explanation: u ? u[5] : null, topTokens: u ? u[4].slice(0, 5) : [] };
            }),
          };
        }),
      };
    };
    var encode = function () {
      playStatus.textContent = "Encoding…";
      if (play.dataset.local) {
        local = local || window.Mechanist.loadWebModel(play.dataset.modelBase, function (s) { playStatus.textContent = s; });
        local.then(function (web) { shade(encodeLocally(web)); play.dataset.ready = "1"; })
          .catch(function (e) { playStatus.textContent = "Could not encode: " + e.message; });
        return;
      }
      fetch("/api/encode", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: text.value }) })
        .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || r.status); return j; }); })
        .then(shade)
        .catch(function (e) { playStatus.textContent = "Could not encode: " + e.message; });
    };
    out.addEventListener("click", function (e) {
      var t = e.target.closest(".tok");
      if (t) show(Number(t.dataset.i));
    });
    play.addEventListener("submit", function (e) { e.preventDefault(); encode(); });
    text.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(encode, 300); });
    encode();
  }

  // Filterable tables (the universal-neurons page): a search box hides rows without its text, a checkbox rows without class "universal".
  document.querySelectorAll("input[data-filter]").forEach(function (box) {
    var table = document.getElementById(box.dataset.filter);
    var only = document.querySelector("input[data-filter-universal='" + box.dataset.filter + "']");
    function apply() {
      var q = box.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = (q && r.textContent.toLowerCase().indexOf(q) < 0) || (only && only.checked && !r.classList.contains("universal"));
      });
    }
    box.addEventListener("input", apply);
    if (only) only.addEventListener("change", apply);
  });

  // Sortable tables (the A/B page): clicking a header sorts by that column's data-v (numbers) or text; again reverses.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("th[data-sort]");
    heads.forEach(function (th, col) {
      th.style.cursor = "pointer";
      th.addEventListener("click", function () {
        var numeric = th.dataset.sort === "num";
        var down = !(th.classList.contains("on") && th.dataset.dir === "down");
        heads.forEach(function (h) { h.classList.remove("on"); });
        th.classList.add("on");
        th.dataset.dir = down ? "down" : "up";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        function key(r) {
          var c = r.cells[col];
          if (!numeric) return c.textContent.toLowerCase();
          var v = parseFloat(c.dataset.v);
          return isNaN(v) ? -Infinity : v;
        }
        rows.sort(function (a, b) { var x = key(a), y = key(b); var c = x < y ? -1 : x > y ? 1 : 0; return down ? -c : c; });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
