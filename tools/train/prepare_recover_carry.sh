#!/bin/sh
# prepare_recover_carry.sh - everything tools/train/run_recover_train.sh needs on the GPU, made
# on the CPU machine (the device then only trains): for each model of MODELS (default
# llama-bpe-21m llama-bytes-6m) the export (tools/pack --export-hf, --no-lsaq, 8192 calibration tokens: tests/data/bpe/calib.u16
# at 512 tokens, data/calib.txt at 256 bytes) and the .uniql BEFORE recovery, the exports'
# weights as bf16 (to_bf16.py) in xz tars, and the training slices: text/train.txt (bytes)
# and text/bpe_train.txt tokenized with our tokenizer (tokdocs.c). Needs
# tools/train/prepare_recover_dev.sh's text/ first. Output: $DEV/$CARRY (default carry; ~39 MiB
# for the default two models: one device call carries at most 64 MiB, so the five models
# go in two carries), $DEV/exp_*,
# $DEV/before_*.uniql. After the run: recover.py merge $DEV/exp_M LORA $DEV/rec_M, then
# pack --order $DEV/rec_M/order.json $DEV/rec_M after_M.uniql and bench/bench_recover.
set -e
DEV=${DEV:-.dev/recover}
PY=${PY:-python3}
CARRY=${CARRY:-carry}
MODELS=${MODELS:-"llama-bpe-21m llama-bytes-6m"}
mkdir -p "$DEV/bin2" "$DEV/$CARRY" "$DEV/stage"
[ -x "$DEV/bin2/pack" ] || cc -std=c99 -O2 -static -o "$DEV/bin2/pack" tools/pack.c -lm -pthread
[ -x "$DEV/bin2/tokdocs" ] || cc -std=c99 -O2 -I. -o "$DEV/bin2/tokdocs" tools/train/tokdocs.c -lm -pthread
case " $MODELS" in *bpe*) $PY -c "import numpy as np; np.fromfile('tests/data/bpe/calib.u16', dtype='<u2').astype('<u4').tofile('$DEV/bpe_calib.u32')";; esac
case " $MODELS" in *bpe*) [ -f "$DEV/bpe_train.u16" ] || "$DEV/bin2/tokdocs" models/llama-bpe-21m "$DEV/text/bpe_train.txt" "$DEV/bpe_train.u16"   ;; esac   # both BPE models share this tokenizer
for M in $MODELS; do
    case $M in *bpe*) cal="--calib-ids $DEV/bpe_calib.u32 --seq-len 512";; *) cal="--calib data/calib.txt --seq-len 256";; esac
    [ -f "$DEV/before_$M.uniql" ] || "$DEV/bin2/pack" --threads 2 --no-lsaq $cal --calib-tokens 8192 --export-hf "$DEV/exp_$M" models/$M "$DEV/before_$M.uniql"
    mkdir -p "$DEV/stage/exp_$M"
    cp "$DEV/exp_$M/config.json" "$DEV/exp_$M/order.json" "$DEV/stage/exp_$M/"
    $PY tools/train/to_bf16.py "$DEV/exp_$M/model.safetensors" "$DEV/stage/exp_$M/model.safetensors"
    tar -C "$DEV/stage" -cJf "$DEV/$CARRY/exp_$M.tar.xz" "exp_$M"
done
case " $MODELS" in *bytes*) xz -c "$DEV/text/train.txt" > "$DEV/$CARRY/train.txt.xz";; esac
case " $MODELS" in *bpe*) xz -c "$DEV/bpe_train.u16" > "$DEV/$CARRY/bpe_train.u16.xz";; esac
du -sh "$DEV/$CARRY"
