// tokenizer_ref.mjs - the same output as tokenizer_ref.py, from the JavaScript peer
// @huggingface/tokenizers (npm), for developing here before the Rust reference arrives.
// The committed references (tests/data/tok/ref/) come from the Rust library only.
//
//   node tests/ref/tokenizer_ref.mjs [--lib DIR] [--corpus FILE] --out DIR [NAME=]PATH ...
//
// --lib: folder of the installed package (default build/npm/node_modules/@huggingface/
// tokenizers, which `make tokenizers` installs). The tokenizer is built with an empty
// tokenizer_config (the Rust library reads tokenizer.json only) and decoding never cleans
// up spaces, as Rust's decode does not.
import { readFileSync, writeFileSync, mkdirSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, basename, resolve, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");

// the corpus split rule of tests/ref/make_corpus.py
export function splitCases(text) {
  const res = [];
  let blk = null;
  for (const ln of text.split("\n")) {
    if (blk !== null) {
      if (ln === ">>>") { res.push(blk.join("\n")); blk = null; } else blk.push(ln);
    } else if (ln === "<<<") blk = [];
    else if (ln !== "") res.push(ln);
  }
  if (blk !== null) throw new Error("unterminated <<< block");
  return res;
}

// the peer refuses to decode an empty list; Rust decodes it to ""
function decode(tok, ids) {
  return ids.length ? tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) : "";
}

function sha256(buf) { return createHash("sha256").update(buf).digest("hex"); }

async function main() {
  const args = process.argv.slice(2);
  let lib = join(root, "build", "npm", "node_modules", "@huggingface", "tokenizers");
  let corpus = join(root, "tests", "data", "tok", "corpus.txt");
  let out = null;
  const toks = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--lib") lib = args[++i];
    else if (args[i] === "--corpus") corpus = args[++i];
    else if (args[i] === "--out") out = args[++i];
    else toks.push(args[i]);
  }
  if (!out || toks.length === 0) {
    console.error("usage: node tokenizer_ref.mjs [--lib DIR] [--corpus FILE] --out DIR [NAME=]PATH ...");
    process.exit(2);
  }
  const pkg = JSON.parse(readFileSync(join(lib, "package.json"), "utf8"));
  const { Tokenizer } = await import(pathToFileURL(join(lib, "dist", "tokenizers.mjs")).href);
  const corpusBytes = readFileSync(corpus);
  const cases = splitCases(corpusBytes.toString("utf8"));
  mkdirSync(out, { recursive: true });
  for (const spec of toks) {
    const eq = spec.indexOf("=");
    const path = eq >= 0 ? spec.slice(eq + 1) : spec;
    const name = eq >= 0 ? spec.slice(0, eq) : basename(dirname(resolve(path)));
    const tj = readFileSync(path);
    const tok = new Tokenizer(JSON.parse(tj.toString("utf8")), {});
    const lines = [];
    let nRt = 0, nIds = 0;
    for (const text of cases) {
      const ids = tok.encode(text, { add_special_tokens: false }).ids.map(Number);
      const idsS = tok.encode(text, { add_special_tokens: true }).ids.map(Number);
      const dec = decode(tok, ids);
      const decS = decode(tok, idsS);
      nRt += dec === text;
      nIds += ids.length;
      // keys in sorted order, as the Python script writes them
      lines.push(JSON.stringify({
        decoded: dec === text ? null : dec,
        decoded_special: decS === dec ? null : decS,
        ids,
        ids_special: idsS,
      }));
    }
    const head = JSON.stringify({
      corpus_sha256: sha256(corpusBytes),
      library: pkg.name,
      n_cases: cases.length,
      name,
      tokenizer_sha256: sha256(tj),
      version: pkg.version,
    });
    const dst = join(out, name + ".json");
    writeFileSync(dst, head.slice(0, -1) + ',"cases":[\n' + lines.join(",\n") + "\n]}\n");
    console.log(`${dst}: ${cases.length} cases, ${nRt} round-trip, ${nIds} ids, ${statSync(dst).size} bytes (${pkg.name} ${pkg.version})`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
