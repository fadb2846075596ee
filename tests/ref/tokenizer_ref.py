#!/usr/bin/env python3
"""tokenizer_ref.py - reference token ids of the tokenizer test corpus, from the Rust
`tokenizers` library of Hugging Face (its Python binding), for tests/test_tokenizer.c.

    python3 tests/ref/tokenizer_ref.py [--corpus tests/data/tok/corpus.txt] --out DIR \\
        [NAME=]PATH/tokenizer.json ...

For every tokenizer.json (NAME defaults to the name of the folder holding it) it writes
DIR/NAME.json:

    {"library": "tokenizers", "version": "0.23.2", "name": NAME,
     "tokenizer_sha256": ..., "corpus_sha256": ..., "n_cases": N,
     "cases": [{"ids": [...],            encode(text, add_special_tokens=False)
                "ids_special": [...],    encode(text, add_special_tokens=True)
                "decoded": null | "...", decode(ids, skip_special_tokens=False); null
                                         when it equals the text (the round trip holds)
                "decoded_special": null | "..."   decode(ids_special, same); null when
                                         it equals "decoded" (or the text, if that is null)
               }, ...]}

so "decoded" == null is exactly "decode(encode(x)) == x". Cases are the corpus split by
the rule of tests/ref/make_corpus.py. Output is deterministic (sorted keys, fixed
separators) and compact (one line per case). Needs only the tokenizers package (pip).
"""
import argparse
import hashlib
import json
import os
import sys


def split_cases(text):
    """The corpus split rule (same code as tests/ref/make_corpus.py)."""
    res, blk = [], None
    for ln in text.split("\n"):
        if blk is not None:
            if ln == ">>>":
                res.append("\n".join(blk))
                blk = None
            else:
                blk.append(ln)
        elif ln == "<<<":
            blk = []
        elif ln != "":
            res.append(ln)
    if blk is not None:
        raise ValueError("unterminated <<< block")
    return res


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=os.path.join(here, "..", "data", "tok", "corpus.txt"))
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("tokenizers", nargs="+", metavar="[NAME=]PATH")
    a = ap.parse_args()

    import tokenizers
    from tokenizers import Tokenizer

    with open(a.corpus, "rb") as f:
        corpus_bytes = f.read()
    cases = split_cases(corpus_bytes.decode("utf-8"))
    os.makedirs(a.out, exist_ok=True)
    for spec in a.tokenizers:
        if "=" in spec:
            name, path = spec.split("=", 1)
        else:
            path = spec
            name = os.path.basename(os.path.dirname(os.path.abspath(path)))
        with open(path, "rb") as f:
            tj = f.read()
        tok = Tokenizer.from_str(tj.decode("utf-8"))
        out_cases = []
        n_rt = 0
        for text in cases:
            ids = tok.encode(text, add_special_tokens=False).ids
            ids_s = tok.encode(text, add_special_tokens=True).ids
            dec = tok.decode(ids, skip_special_tokens=False)
            dec_s = tok.decode(ids_s, skip_special_tokens=False)
            n_rt += dec == text
            out_cases.append({
                "ids": ids,
                "ids_special": ids_s,
                "decoded": None if dec == text else dec,
                "decoded_special": None if dec_s == dec else dec_s,
            })
        doc = {
            "library": "tokenizers",
            "version": tokenizers.__version__,
            "name": name,
            "tokenizer_sha256": sha256(tj),
            "corpus_sha256": sha256(corpus_bytes),
            "n_cases": len(cases),
        }
        dst = os.path.join(a.out, name + ".json")
        with open(dst, "w", encoding="utf-8", newline="\n") as f:
            # header fields first, then one case per line: small diffs, easy to read
            head = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            f.write(head[:-1] + ',"cases":[\n')
            for i, c in enumerate(out_cases):
                f.write(json.dumps(c, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
                f.write(",\n" if i + 1 < len(out_cases) else "\n")
            f.write("]}\n")
        print("%s: %d cases, %d round-trip, %d ids, %d bytes (tokenizers %s)" % (
            dst, len(cases), n_rt, sum(len(c["ids"]) for c in out_cases), os.path.getsize(dst),
            tokenizers.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
