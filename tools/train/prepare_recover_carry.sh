#!/bin/sh
# prepare_recover_carry.sh - everything tools/train/run_recover_train.sh needs on the GPU, made
# on the CPU machine (the device then only trains): for llama-bpe-21m and llama-bytes-6m
# the export (tools/pack --export-hf, --no-lsaq, 8192 calibration tokens: tests/data/bpe/calib.u16
# at 512 tokens, data/calib.txt at 256 bytes) and the .uniql BEFORE recovery, the exports'
# weights as bf16 (to_bf16.py) in xz tars, and the training slices: text/train.txt (bytes)
# and text/bpe_train.txt tokenized with our tokenizer (tokdocs.c). Needs
# tools/train/prepare_recover_dev.sh's text/ first. Output: $DEV/carry (~39 MiB), $DEV/exp_*,
# $DEV/before_*.uniql. After the run: recover.py merge $DEV/exp_M LORA $DEV/rec_M, then
# pack --order $DEV/rec_M/order.json $DEV/rec_M after_M.uniql and bench/bench_recover.
set -e
DEV=${DEV:-.dev/recover}
PY=${PY:-python3}
mkdir -p "$DEV/bin2" "$DEV/carry" "$DEV/stage"
cc -std=c99 -O2 -static -o "$DEV/bin2/pack" tools/pack.c -lm -pthread
cc -std=c99 -O2 -I. -o "$DEV/bin2/tokdocs" tools/train/tokdocs.c -lm -pthread
$PY -c "import numpy as np; np.fromfile('tests/data/bpe/calib.u16', dtype='<u2').astype('<u4').tofile('$DEV/bpe_calib.u32')"
"$DEV/bin2/tokdocs" models/llama-bpe-21m "$DEV/text/bpe_train.txt" "$DEV/bpe_train.u16"
for M in llama-bpe-21m llama-bytes-6m; do
    case $M in *bpe*) cal="--calib-ids $DEV/bpe_calib.u32 --seq-len 512";; *) cal="--calib data/calib.txt --seq-len 256";; esac
    "$DEV/bin2/pack" --threads 2 --no-lsaq $cal --calib-tokens 8192 --export-hf "$DEV/exp_$M" models/$M "$DEV/before_$M.uniql"
    mkdir -p "$DEV/stage/exp_$M"
    cp "$DEV/exp_$M/config.json" "$DEV/exp_$M/order.json" "$DEV/stage/exp_$M/"
    $PY tools/train/to_bf16.py "$DEV/exp_$M/model.safetensors" "$DEV/stage/exp_$M/model.safetensors"
    tar -C "$DEV/stage" -cJf "$DEV/carry/exp_$M.tar.xz" "exp_$M"
done
xz -c "$DEV/text/train.txt" > "$DEV/carry/train.txt.xz"
xz -c "$DEV/bpe_train.u16" > "$DEV/carry/bpe_train.u16.xz"
du -sh "$DEV/carry"
