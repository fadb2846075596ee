#!/bin/sh
# tokenizer_ref_device.sh - the device-machine run of tests/ref/tokenizer_ref.py (the Rust
# `tokenizers` library is installed there, not here). Run from the repository root with
# .dev/tok carried (it holds NAME/tokenizer.json[.gz] copies of the npm tokenizers, made by
# `make tokenizers` here); the committed tokenizers of tests/data/tok/*/ and models/*/ are
# included too. Output: $OUT/tokref/NAME.json, one per tokenizer, plus versions.txt.
set -eu
: "${OUT:?set OUT to the output folder}"
mkdir -p "$OUT/tokref"
for z in .dev/tok/*/tokenizer.json.gz; do
    [ -f "$z" ] && gunzip -kf "$z"
done
set --
for t in .dev/tok/*/tokenizer.json tests/data/tok/*/tokenizer.json models/*/tokenizer.json; do
    [ -f "$t" ] && set -- "$@" "$t"
done
python3 -c 'import sys, tokenizers; print("python", sys.version.split()[0], "tokenizers", tokenizers.__version__)' | tee "$OUT/tokref/versions.txt"
python3 tests/ref/tokenizer_ref.py --out "$OUT/tokref" "$@"
