#!/bin/bash
# GPU-only recovery run (issue 18): the exports were made on the CPU machine with the same
# pack binary and calibration as run_recover_device.sh (--no-lsaq, 8192 calibration tokens,
# 512 BPE tokens / 256 bytes per sequence), weights sent as bf16 (xz). Every model trains
# at once for S seconds; only the adapters, recover.json and the logs come back.
#   OUT=dir S=150 bash tools/train/run_recover_train.sh        (PY, MODELS, D=.dev/recover/carry)
set -u
S=${S:-150}; OUT=${OUT:?set OUT}; PY=${PY:-python3}
D=${D:-.dev/recover/carry}; W=${WORK:-/tmp/recover_train}   # D: made by tools/train/prepare_recover_carry.sh
MODELS=${MODELS:-"llama-bpe-21m llama-bytes-6m"}
mkdir -p "$W" "$OUT"; export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
T0=$(date +%s)
{
echo "== start $(date -u) S=$S models: $MODELS"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
for f in "$D"/*.tar.xz; do tar -C "$W" -xJf "$f" & done; wait
for f in "$D"/*.xz; do case "$f" in *.tar.xz) ;; *) b=$(basename "$f" .xz); xz -dc "$f" > "$W/$b";; esac; done
ls -la "$W"; echo "== unpacked at $(( $(date +%s) - T0 )) s"
for M in $MODELS; do
    case "$M" in *bpe*) tr="$W/bpe_train.u16"; te=tests/data/bpe/test.u16; sq=512;;
                 *) tr="$W/train.txt"; te=data/test.txt; sq=256;; esac
    [ -f "$W/exp_$M/order.json" ] || { echo "no export $M"; continue; }
    $PY tools/train/recover.py train "$W/exp_$M" "$W/rec_$M" --tokens "$tr" --test-tokens "$te" --seconds "$S" \
        --reserve 30 --batch 32 --seq $sq --lr 1e-3 --eval-windows 64 > "$OUT/train_$M.log" 2>&1 &
done
wait
echo "== trained at $(( $(date +%s) - T0 )) s"
for M in $MODELS; do
    cp "$W/rec_$M/lora.safetensors" "$OUT/$M.lora.safetensors" 2>/dev/null || echo "NO LORA $M"
    cp "$W/rec_$M/recover.json" "$OUT/$M.recover.json" 2>/dev/null
done
ls -la "$OUT"
} 2>&1 | tee "$OUT/run.log"
