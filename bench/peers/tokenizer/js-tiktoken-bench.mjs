// Times js-tiktoken (r50k_base, GPT-2's encoding) on a UTF-8 text file and prints one JSON line.
// Usage: node js-tiktoken-bench.mjs FILE [REPEATS]
import { readFileSync } from "node:fs";
import { getEncoding } from "js-tiktoken";

const [file, repeatsArg] = process.argv.slice(2);
const text = readFileSync(file, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const enc = getEncoding("r50k_base");
enc.encode(text.slice(0, 200000)); // warm up the JIT
const repeats = Number(repeatsArg ?? 3);
let best = Infinity, tokens = 0;
for (let r = 0; r < repeats; r++) {
  const t0 = process.hrtime.bigint();
  tokens = enc.encode(text).length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  best = Math.min(best, seconds);
}
console.log(JSON.stringify({ peer: "js-tiktoken r50k_base", bytes, tokens, seconds: best, mbPerSecond: bytes / best / 1e6 }));
