// Times GPT-2's encoding (r50k_base) in npm peers on one UTF-8 text file; prints one JSON line per peer.
//   js-tiktoken: pure JavaScript port.   tiktoken: OpenAI's Rust core compiled to WebAssembly.
// Usage: node tokenizer-peers-bench.mjs FILE [REPEATS] [PEER...]   (run `npm install` here first)
// idsHash: SHA-256 of the ids as 32-bit little-endian integers (hashed after timing), so `mechanist bench
// tokenizer` can check that every contender gave the same ids.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";

const [file, repeatsArg, ...wanted] = process.argv.slice(2);
const text = readFileSync(file, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const repeats = Number(repeatsArg ?? 3);

async function load(name) {
  if (name === "js-tiktoken") {
    const { getEncoding } = await import("js-tiktoken");
    const enc = getEncoding("r50k_base");
    return (t) => enc.encode(t);
  }
  if (name === "tiktoken") {
    const { get_encoding } = await import("tiktoken");
    const enc = get_encoding("r50k_base");
    return (t) => enc.encode(t);
  }
  throw new Error(`unknown peer ${name}`);
}

for (const name of wanted.length ? wanted : ["js-tiktoken", "tiktoken"]) {
  let encode;
  try { encode = await load(name); } catch (e) { console.log(JSON.stringify({ peer: name, error: String(e.message ?? e) })); continue; }
  encode(text.slice(0, 200000)); // warm up
  let best = Infinity, ids = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    ids = encode(text);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const idsHash = createHash("sha256").update(Buffer.from(Int32Array.from(ids).buffer)).digest("hex");
  console.log(JSON.stringify({ peer: name, bytes, tokens: ids.length, idsHash, seconds: best, mbPerSecond: bytes / best / 1e6 }));
}
