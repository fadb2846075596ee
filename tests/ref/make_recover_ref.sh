#!/bin/sh
# make_recover_ref.sh - the data of tests/test_recover.c's masked-forward tests.
#
#   sh tests/ref/make_recover_ref.sh [exports|refs|all]     (from the repository root)
#
# exports: tools/pack --export-hf of the tiny reference models (tests/data/ref/<fam>),
#          calibrated on 2048 bytes of data/calib.txt in sequences of 64, rate tables at
#          0.15 and 0.35 -> tests/data/recover/<fam>/{model.safetensors,config.json,order.json}
#          (needs build/pack: make build/pack). Only needed when the sorting changes.
# refs:    tools/train/recover.py masked-ref on those exports (PyTorch, float64, CPU):
#          tests/data/recover/<fam>/masked.bin = logits of the masked forward at the full
#          model and at every stored rate. The committed files come from the device run of
#          issue 18 (torch 2.11); torch 1.13 on CPU gives the same to ~1e-7.
set -e
what=${1:-all}
PY=${RECOVER_PY:-python3}
for f in llama mamba2 nemotron_h; do
    if [ "$what" = exports ] || [ "$what" = all ]; then
        ./build/pack -q --calib data/calib.txt --calib-tokens 2048 --seq-len 64 --rates 0.15,0.35 \
            --export-hf tests/data/recover/$f tests/data/ref/$f build/recover_ref_$f.uniql
    fi
    if [ "$what" = refs ] || [ "$what" = all ]; then
        $PY tools/train/recover.py masked-ref tests/data/recover/$f tests/data/recover/$f/masked.bin
    fi
done
