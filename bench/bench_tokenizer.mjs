// bench_tokenizer.mjs - the JavaScript peer's side of bench/bench_tokenizer.c: encode one
// text file with @huggingface/tokenizers (installed by `make tokenizers` into build/npm/)
// and print "js SECONDS N_IDS FNV1A64_OF_IDS" (best of REPS runs, one encode call each).
//   node bench/bench_tokenizer.mjs TOKENIZER_DIR TEXT_FILE [REPS]
import { readFileSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const lib = join(root, "build", "npm", "node_modules", "@huggingface", "tokenizers", "dist", "tokenizers.mjs");
const { Tokenizer } = await import(pathToFileURL(lib).href);
const [dir, textFile, repsArg] = process.argv.slice(2);
const tok = new Tokenizer(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")), {});
const text = readFileSync(textFile, "utf8");
const reps = Number(repsArg || 3);
tok.encode(text.slice(0, 20000), { add_special_tokens: false });   // warm up the JIT
let best = Infinity, ids = null;
for (let r = 0; r < reps; r++) {
  const t0 = process.hrtime.bigint();
  ids = tok.encode(text, { add_special_tokens: false }).ids;
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  if (dt < best) best = dt;
}
let h = 0xcbf29ce484222325n;
const mask = (1n << 64n) - 1n;
for (const id of ids) {
  let v = BigInt(id) & 0xffffffffn;
  for (let k = 0; k < 4; k++) { h = ((h ^ (v & 0xffn)) * 0x100000001b3n) & mask; v >>= 8n; }
}
console.log(`js ${best.toFixed(6)} ${ids.length} ${h.toString(16).padStart(16, "0")}`);
