#!/bin/bash
# run_recover_device.sh - issue 18 on one GPU machine, in one command: UniQL's recovery step
# (masked LoRA, tools/train/recover.py) for every trained model, plus the PyTorch references
# of tests/test_recover.c. Run from the repository root:
#
#     OUT=/some/dir LIMIT=540 bash tools/train/run_recover_device.sh
#
# Inputs: the checkout (models/, data/, tests/data/{recover,bpe}/, tools/train/) and $DEV
# (default .dev/recover, made by tools/train/prepare_recover_dev.sh): bin/pack (tools/pack,
# static x86-64), text/train.txt (the byte models' training text), text/bpe_train.txt (a
# slice of the BPE models' training text, tokenized here by HF tokenizers).
# Per model M (MODELS, default the five below; absent ones are skipped):
#   A. CPU: bin/pack --export-hf (8192 calibration tokens, --no-lsaq: no bit plans needed) -> the sorted model in HF layout + order.json, and the
#      .uniql BEFORE recovery (only its sha256 comes back: it is rebuilt bit for bit from
#      the same binary and inputs on the CPU machine); check-hf: our forward == transformers
#   B. GPU, all models at once: recover.py train (time-guarded to fit LIMIT)
#   C. CPU: bin/pack --order on the merged checkpoint -> $OUT/M.after.uniql
# Outputs ($OUT, at most 8 files): one <M>.after.uniql per run (the five models, and
# EXTRA_MODEL once more at EXTRA_LR: <M>.lr<EXTRA_LR>.after.uniql) and results.tar.gz (logs,
# recover.json and lora.safetensors of each run, order files, sha256 sums, the masked
# references tests/data/recover/<fam>/masked.bin made here, check-hf results).
set -u
LIMIT=${LIMIT:-540}
DEV=${DEV:-.dev/recover}
OUT=${OUT:?set OUT}
DEVICE=${DEVICE:-}
MODELS=${MODELS:-"llama-bpe-21m nemotronh-bpe-17m llama-bytes-6m mamba2-bytes-6m nemotronh-bytes-6m"}
ROOT=${MODELROOT:-models}      # tests/data/ref with MODELS="llama mamba2 nemotron_h": a dry run
BATCH=${BATCH:-32}
EXTRA_MODEL=${EXTRA_MODEL:-llama-bpe-21m}   # one more run of this model at EXTRA_LR (lr sensitivity)
EXTRA_LR=${EXTRA_LR:-3e-4}
PY=${PY:-python3}
W=${WORK:-/tmp/recover_work}
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
mkdir -p "$W" "$OUT" "$W/res"
export PYTHONUNBUFFERED=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}   # six trainers share 16 cores; the GPU does the work
LOG="$W/res/run.log"
# every background job's pid, so that `waitall` never waits for anything else
PIDS=""
bg() { "$@" & PIDS="$PIDS $!"; }
waitall() { for p in $PIDS; do wait "$p"; done; PIDS=""; }
main() {
echo "== start $(date -u) LIMIT=$LIMIT models: $MODELS"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
$PY -c "import torch, transformers, numpy; print('torch', torch.__version__, 'transformers', transformers.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available())"
PACK="$DEV/bin/pack"
[ -x "$PACK" ] || { echo "no $PACK"; exit 1; }

bpe() { case "$1" in *bpe*) return 0;; *) return 1;; esac; }

# texts may travel xz-compressed (prepare_recover_dev.sh XZ=1: a 4x smaller carry, so more
# models fit one call's 64 MiB): unpacked here once
for z in "$DEV"/text/*.xz; do
    [ -f "$z" ] || continue
    [ -f "${z%.xz}" ] || $PY -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$z" "${z%.xz}"
done

# BPE training slice: tokenized here by the reference tokenizer (per document: encode with
# the special tokens + EOS, as the models' own streams were made)
if [ -f "$DEV/text/bpe_train.txt" ] && [ -f tests/data/bpe/tokenizer.json ]; then
    $PY - "$DEV/text/bpe_train.txt" tests/data/bpe/tokenizer.json "$W/bpe_train.u16" "$W/bpe_calib.u32" <<'EOF'
import sys, numpy as np
from tokenizers import Tokenizer
text, tok, out, calib = sys.argv[1:5]
t = Tokenizer.from_file(tok)
eos = t.token_to_id("<|end_of_text|>")
docs = [d for d in open(text, encoding="utf-8").read().split("\n\n") if d.strip()]
ids = []
for enc in t.encode_batch([d.strip("\n") + "\n" for d in docs], add_special_tokens=True):
    ids.extend(enc.ids)
    ids.append(eos)
np.asarray(ids, dtype="<u2").tofile(out)
np.fromfile("tests/data/bpe/calib.u16", dtype="<u2").astype("<u4").tofile(calib)
print(f"bpe_train: {len(docs)} documents, {len(ids)} tokens; calib ids {calib}")
EOF
fi

# ---- A: exports (CPU, in parallel) + the masked references of the committed test exports ----
for M in $MODELS; do
    [ -d "$ROOT/$M" ] || { echo "skip $M (no $ROOT/$M)"; continue; }
    if bpe "$M"; then cal="--calib-ids $W/bpe_calib.u32 --seq-len 512"; else cal="--calib data/calib.txt --seq-len 256"; fi
    bg sh -c "'$PACK' --threads 3 --no-lsaq $cal --calib-tokens 8192 --export-hf '$W/exp_$M' '$ROOT/$M' '$W/before_$M.uniql' \
        > '$W/res/pack_before_$M.log' 2>&1 && echo 'exported $M' || echo 'EXPORT FAILED $M (see pack_before_$M.log)'"
done
mkdir -p "$W/res/masked"
for f in llama mamba2 nemotron_h; do
    $PY tools/train/recover.py masked-ref "tests/data/recover/$f" "$W/res/masked/$f.bin" &&
        $PY tools/train/recover.py check-hf "tests/data/recover/$f" || echo "MASKED-REF/CHECK-HF FAILED $f"
done
waitall
echo "== A done at $(el) s"
for M in $MODELS; do
    [ -f "$W/exp_$M/order.json" ] || continue
    $PY tools/train/recover.py check-hf "$W/exp_$M" || echo "CHECK-HF FAILED $M"
    cp "$W/exp_$M/order.json" "$W/res/order_$M.json"
done
( cd "$W" && sha256sum before_*.uniql exp_*/order.json exp_*/model.safetensors > res/sha256_before.txt )

# ---- B: recovery, every model at once on the one GPU ----
LEFT=$(( LIMIT - $(el) - 75 ))
echo "== B: $LEFT s of training per model"
for M in $MODELS; do
    [ -f "$W/exp_$M/order.json" ] || continue
    # the windows the models were trained with: 512 BPE tokens, 256 bytes
    if bpe "$M"; then tr="$W/bpe_train.u16"; te=tests/data/bpe/test.u16; sq=512; else tr="$DEV/text/train.txt"; te=data/test.txt; sq=256; fi
    for lr in ${LR:-1e-3} $( [ "$M" = "$EXTRA_MODEL" ] && echo "$EXTRA_LR" ); do
        R=$M; [ "$lr" = "${LR:-1e-3}" ] || R=$M.lr$lr
        bg sh -c "$PY tools/train/recover.py train '$W/exp_$M' '$W/rec_$R' --tokens '$tr' --test-tokens '$te' --seconds $LEFT \
            --reserve 30 --batch $BATCH --seq $sq --lr $lr --eval-windows 64 ${DEVICE:+--device $DEVICE} \
            > '$W/res/train_$R.log' 2>&1 && echo 'trained $R' || echo 'TRAIN FAILED $R (see train_$R.log)'"
    done
done
waitall
echo "== B done at $(el) s"

# ---- C: the same order re-applied, quantized, packed ----
RUNS=$(cd "$W" && ls -d rec_* 2>/dev/null | sed 's/^rec_//')
for M in $RUNS; do
    [ -f "$W/rec_$M/model.safetensors" ] || continue
    bg sh -c "'$PACK' --threads 3 --order '$W/rec_$M/order.json' '$W/rec_$M' '$OUT/$M.after.uniql' > '$W/res/pack_after_$M.log' 2>&1 ||
        echo 'PACK AFTER FAILED $M'"
done
waitall
for M in $RUNS; do
    [ -d "$W/rec_$M" ] || continue
    mkdir -p "$W/res/rec_$M"
    cp "$W/rec_$M/recover.json" "$W/rec_$M/lora.safetensors" "$W/res/rec_$M/" 2>/dev/null
done
( cd "$OUT" && sha256sum *.after.uniql > "$W/res/sha256_after.txt" 2>/dev/null )
echo "== end at $(el) s"
ls -la "$OUT"
}
main 2>&1 | tee -a "$LOG"
tar -C "$W" -czf "$OUT/results.tar.gz" res
