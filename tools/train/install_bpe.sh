#!/bin/sh
# install_bpe.sh DEVOUT - place a run_bpe_device.sh result (DEVOUT: the folder of its $OUT files)
# into the repository: models/<model>/ (config, generation_config, safetensors, tokenizer files,
# eval.json) and tests/data/bpe/<model>/ (ppl.json, ref.bin, train.json). Checks every sha256.
set -e
D=${1:?usage: install_bpe.sh DEVOUT}
T=$(mktemp -d)
for name in llama-bpe-21m nemotronh-bpe-17m; do
    [ -f "$D/$name.pack.00" ] || { echo "$name: no pack in $D"; continue; }
    python3 tools/train/packdir.py unpack "$D/$name.pack" "$T/$name"
    mkdir -p "models/$name" "tests/data/bpe/$name"
    for f in config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json eval.json; do
        [ -f "$T/$name/$f" ] && cp "$T/$name/$f" "models/$name/"
    done
    for f in ppl.json ref.bin train.json; do
        [ -f "$T/$name/$f" ] && cp "$T/$name/$f" "tests/data/bpe/$name/"
    done
    cmp "models/$name/tokenizer.json" tests/data/bpe/tokenizer.json && echo "$name: tokenizer.json = tests/data/bpe/tokenizer.json"
    ls -l "models/$name" "tests/data/bpe/$name"
done
rm -rf "$T"
