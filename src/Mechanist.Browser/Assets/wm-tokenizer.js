// Mechanist in-page model, part 2: the byte-level BPE tokenizer (GPT-2's scheme, as Mechanist.Text.BpeTokenizer).
// text → pieces (GPT-2's pre-tokenizer, the same scanner as PreTokenizer.PieceEnd on UTF-16 code units) → each piece's
// UTF-8 bytes → merged pairwise by rank (lowest rank first, leftmost among equals). Special tokens are ordinary text,
// as in `mechanist model generate`. The character classes come from the export (computed by .NET), so the page and
// the C# tokenizer agree even where the browser's Unicode tables differ.
(function () {
  "use strict";
  var M = window.Mechanist = window.Mechanist || {};
  var OTHER = 0, LETTER = 1, NUMBER = 2, SPACE = 3;

  // json: {tokens: [latin-1 string of each token's bytes, or null for a special], merges: [left, right, ...] in rank
  // order, special: {text: id}, classes: [run length, class, ...] over code points 0..0x10FFFF, display: [text per token]}
  function Tokenizer(json) {
    var n = json.tokens.length, i;
    this.vocabSize = n;
    this.display = json.display;
    this.tokenBytes = new Array(n);
    this.byteToken = new Int32Array(256).fill(-1);
    var idOf = new Map();
    Object.keys(json.special || {}).forEach(function (text) {
      this.tokenBytes[json.special[text]] = new TextEncoder().encode(text);
    }, this);
    for (i = 0; i < n; i++) {
      var s = json.tokens[i];
      if (s == null) continue;
      var b = new Uint8Array(s.length);
      for (var k = 0; k < s.length; k++) b[k] = s.charCodeAt(k);
      this.tokenBytes[i] = b;
      idOf.set(s, i);
      if (b.length === 1) this.byteToken[b[0]] = i;
    }
    this.rank = new Map();       // left·vocab + right → rank
    var merges = json.merges, count = merges.length / 2;
    this.mergeResult = new Int32Array(count);
    for (var r = 0; r < count; r++) {
      var left = merges[2 * r], right = merges[2 * r + 1], key = left * n + right;
      this.mergeResult[r] = idOf.get(json.tokens[left] + json.tokens[right]);
      if (!this.rank.has(key)) this.rank.set(key, r); // a repeated merge keeps its first rank, as GPT-2 does
    }
    this.classes = new Uint8Array(0x110000);
    for (var at = 0, j = 0; j < json.classes.length; j += 2) {
      this.classes.fill(json.classes[j + 1], at, at + json.classes[j]);
      at += json.classes[j];
    }
    this.cache = new Map();
    this.encoder = new TextEncoder();
  }

  // Class of the character at s[i] and its width in code units (a surrogate pair is one character).
  Tokenizer.prototype.classAt = function (s, i, out) {
    var c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) { out.width = 1; return this.classes[c]; }
    if (c <= 0xdbff && i + 1 < s.length) {
      var d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { out.width = 2; return this.classes[0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)]; }
    }
    out.width = 1;
    return OTHER; // a lone surrogate
  };

  // Where the piece starting at `start` ends: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  Tokenizer.prototype.pieceEnd = function (s, start) {
    var n = s.length, c = s[start], w = { width: 1 };
    if (c === "'" && start + 1 < n) {
      var d = s[start + 1];
      if (d === "s" || d === "t" || d === "m" || d === "d") return start + 2;
      if (start + 2 < n) {
        var e = s[start + 2];
        if ((d === "r" && e === "e") || (d === "v" && e === "e") || (d === "l" && e === "l")) return start + 3;
      }
    }
    var j = start, cls = this.classAt(s, j, w), width = w.width;
    if (c === " " && start + 1 < n) {
      var next = this.classAt(s, start + 1, w);
      if (next !== SPACE) { j = start + 1; cls = next; width = w.width; }
    }
    if (cls === SPACE) {
      var k = start + 1;
      while (k < n && this.classes[s.charCodeAt(k)] === SPACE) k++;
      if (k === n) return n;
      return k - start >= 2 ? k - 1 : start + 1;
    }
    j += width;
    while (j < n && this.classAt(s, j, w) === cls) j += w.width;
    return j;
  };

  Tokenizer.prototype.encodePiece = function (piece) {
    var bytes = this.encoder.encode(piece), n = bytes.length, ids = new Array(n), ranks = new Array(n), vocab = this.vocabSize, k;
    var rankOf = this.rank;
    function rank(a, b) { var r = rankOf.get(a * vocab + b); return r === undefined ? Infinity : r; }
    for (k = 0; k < n; k++) ids[k] = this.byteToken[bytes[k]];
    for (k = 0; k < n - 1; k++) ranks[k] = rank(ids[k], ids[k + 1]);
    while (n > 1) {
      var best = Infinity, at = -1;
      for (k = 0; k < n - 1; k++) if (ranks[k] < best) { best = ranks[k]; at = k; }
      if (at < 0) break;
      ids[at] = this.mergeResult[best];
      ids.splice(at + 1, 1);
      ranks.splice(at, 1);
      n--;
      if (at > 0) ranks[at - 1] = rank(ids[at - 1], ids[at]);
      if (at < n - 1) ranks[at] = rank(ids[at], ids[at + 1]);
    }
    ids.length = n;
    return ids;
  };

  Tokenizer.prototype.encode = function (text) {
    var out = [];
    for (var i = 0; i < text.length;) {
      var end = this.pieceEnd(text, i), piece = text.slice(i, end), ids = this.cache.get(piece);
      i = end;
      if (!ids) {
        ids = this.encodePiece(piece);
        if (this.cache.size > 100000) this.cache.clear();
        this.cache.set(piece, ids);
      }
      for (var k = 0; k < ids.length; k++) out.push(ids[k]);
    }
    return out;
  };

  Tokenizer.prototype.decodeBytes = function (ids) {
    var total = 0, i;
    for (i = 0; i < ids.length; i++) total += this.tokenBytes[ids[i]].length;
    var bytes = new Uint8Array(total), at = 0;
    for (i = 0; i < ids.length; i++) { bytes.set(this.tokenBytes[ids[i]], at); at += this.tokenBytes[ids[i]].length; }
    return bytes;
  };

  // The text the ids stand for; bytes that are not valid UTF-8 become U+FFFD (as .NET's Encoding.UTF8).
  Tokenizer.prototype.decode = function (ids) { return new TextDecoder().decode(this.decodeBytes(ids)); };

  // Per token, the text to show in running text: a character split over tokens appears on the token that completes it,
  // "◌" on the tokens that only begin it (as Mechanist.Text.TokenDisplay.InContext).
  Tokenizer.prototype.inContext = function (ids) {
    var decoder = new TextDecoder(), self = this;
    return ids.map(function (id) {
      var s = decoder.decode(self.tokenBytes[id], { stream: true });
      return s.length ? s : "\u25CC";
    });
  };

  M.Tokenizer = Tokenizer;
})();
