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
#   B. GPU, all models at once: recover.py train (time-guarded to fit LIMIT); DISTILL=W
#      passes --distill-full W to every run (the full model held to the model before
#      recovery by W * KL each step; default 0 = off), EXTRA_DISTILL (default DISTILL) to
#      the EXTRA_MODEL run
#   C. CPU: bin/pack --order on the merged checkpoint -> $OUT/M.after.uniql (round to nearest);
#      with AFTER_QUANT=gptq, for the runs of the models in AFTER_QUANT_MODELS (default
#      llama-bpe-21m), also $OUT/M.after_gptq.uniql: the same order, --quantizer gptq
#      $AFTER_PACK_ARGS (default --group-transposed 32 --damp 0.1) on the calibration tokens of
#      step A's before file (BPE: --calib-ids bpe_calib.u32 --seq-len 512, bytes: --calib
#      data/calib.txt --seq-len 256; --calib-tokens 8192)
# Outputs ($OUT, at most 8 files, 16 MiB each, 64 MiB in all): one <M>.after.uniql per run
# (the five models, and EXTRA_MODEL once more at EXTRA_LR: <M>.lr<EXTRA_LR>.after.uniql, named
# <M>.lr<EXTRA_LR>.d<EXTRA_DISTILL> where EXTRA_DISTILL differs from DISTILL; no extra run
# with EXTRA_MODEL=none), the <M>.after_gptq.uniql files, and results.tar.gz (logs,
# recover.json and lora.safetensors of each run, order files, sha256 sums, the masked
# references tests/data/recover/<fam>/masked.bin made here, check-hf results). The file
# count is checked at the start and the expected bytes (the before files' sizes) after step
# A, before any training: a run whose outputs would not come back stops there. Every
# after file can also be rebuilt on the CPU machine from the run's lora.safetensors (W +=
# (alpha/r) B A merged in fp32, then the same pack command).
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
DISTILL=${DISTILL:-0}                 # recover.py --distill-full of every run (0: off)
EXTRA_DISTILL=${EXTRA_DISTILL:-$DISTILL}   # ... of the EXTRA_MODEL run
PY=${PY:-python3}
AFTER_QUANT=${AFTER_QUANT:-}                        # gptq: step C also writes <R>.after_gptq.uniql
AFTER_QUANT_MODELS=${AFTER_QUANT_MODELS:-llama-bpe-21m}
AFTER_PACK_ARGS=${AFTER_PACK_ARGS:---group-transposed 32 --damp 0.1}
case "$AFTER_QUANT" in ""|gptq) ;; *) echo "AFTER_QUANT must be empty or gptq"; exit 2;; esac
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
echo "== start $(date -u) LIMIT=$LIMIT models: $MODELS lr ${LR:-1e-3} distill $DISTILL; extra: $EXTRA_MODEL lr $EXTRA_LR distill $EXTRA_DISTILL"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
$PY -c "import torch, transformers, numpy; print('torch', torch.__version__, 'transformers', transformers.__version__, 'numpy', numpy.__version__, 'cuda', torch.cuda.is_available())"
PACK="$DEV/bin/pack"
[ -x "$PACK" ] || { echo "no $PACK"; exit 1; }

bpe() { case "$1" in *bpe*) return 0;; *) return 1;; esac; }
# calibration of the before file (step A) = of the GPTQ after file (step C)
calib() { if bpe "$1"; then echo "--calib-ids $W/bpe_calib.u32 --seq-len 512"; else echo "--calib data/calib.txt --seq-len 256"; fi; }
gptq_after() { [ "$AFTER_QUANT" = gptq ] && case " $AFTER_QUANT_MODELS " in *" $1 "*) return 0;; esac; return 1; }
# the runs of a model: itself at LR, and once more at EXTRA_LR if it is EXTRA_MODEL
nruns() { if [ "$1" = "$EXTRA_MODEL" ]; then echo 2; else echo 1; fi; }
# what comes back must fit: at most 8 files (results.tar.gz is one of them)
NF=1
for M in $MODELS; do
    [ -d "$ROOT/$M" ] || continue
    k=$(nruns "$M"); NF=$((NF + k)); gptq_after "$M" && NF=$((NF + k))
done
[ "$NF" -le 8 ] || { echo "== $NF output files (> 8): set fewer MODELS, EXTRA_MODEL=none or AFTER_QUANT_MODELS"; exit 2; }

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
    cal=$(calib "$M")
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
# the after files are about as large as the before files (less the tokenizer): stop now,
# before any training, if they would not come back (16 MiB each, 64 MiB with ~6 MiB of results)
TOT=6291456
for M in $MODELS; do
    [ -f "$W/before_$M.uniql" ] || continue
    b=$(stat -c %s "$W/before_$M.uniql"); k=$(nruns "$M"); gptq_after "$M" && k=$((k * 2))
    [ "$b" -le 16777216 ] || { echo "== before_$M.uniql is $b bytes (> 16 MiB): its after file would not come back"; exit 2; }
    TOT=$((TOT + k * b))
done
[ "$TOT" -le 67108864 ] || { echo "== about $TOT bytes of output (> 64 MiB): set fewer MODELS, EXTRA_MODEL=none or AFTER_QUANT_MODELS"; exit 2; }

# ---- B: recovery, every model at once on the one GPU ----
# what is left after training: step C (RTN packs ~10 s; a GPTQ pack of llama-bpe-21m on 8192
# tokens took 61 s at 2 threads on the 2-core CPU machine) and the tarball
RESERVE=${RESERVE:-75}; [ "$AFTER_QUANT" = gptq ] && RESERVE=$((RESERVE + 90))
LEFT=$(( LIMIT - $(el) - RESERVE ))
echo "== B: $LEFT s of training per model"
for M in $MODELS; do
    [ -f "$W/exp_$M/order.json" ] || continue
    # the windows the models were trained with: 512 BPE tokens, 256 bytes
    if bpe "$M"; then tr="$W/bpe_train.u16"; te=tests/data/bpe/test.u16; sq=512; else tr="$DEV/text/train.txt"; te=data/test.txt; sq=256; fi
    # runs: "name lr distill" (the model at LR, and the extra run of EXTRA_MODEL)
    runs="$M ${LR:-1e-3} $DISTILL"
    if [ "$M" = "$EXTRA_MODEL" ]; then
        R=$M.lr$EXTRA_LR; [ "$EXTRA_DISTILL" = "$DISTILL" ] || R=$R.d$EXTRA_DISTILL
        runs="$runs $R $EXTRA_LR $EXTRA_DISTILL"
    fi
    set -- $runs
    while [ $# -ge 3 ]; do
        R=$1 lr=$2 d=$3; shift 3
        bg sh -c "$PY tools/train/recover.py train '$W/exp_$M' '$W/rec_$R' --tokens '$tr' --test-tokens '$te' --seconds $LEFT \
            --reserve 30 --batch $BATCH --seq $sq --lr $lr --distill-full $d --eval-windows 64 ${DEVICE:+--device $DEVICE} \
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
    B=${M%%.lr*}   # the model of run M (M or M.lr<LR>)
    if gptq_after "$B"; then
        bg sh -c "'$PACK' --threads 3 --order '$W/rec_$M/order.json' --quantizer gptq $AFTER_PACK_ARGS $(calib "$B") --calib-tokens 8192 \
            '$W/rec_$M' '$OUT/$M.after_gptq.uniql' > '$W/res/pack_after_gptq_$M.log' 2>&1 || echo 'PACK AFTER GPTQ FAILED $M'"
    fi
done
waitall
for M in $RUNS; do
    [ -d "$W/rec_$M" ] || continue
    mkdir -p "$W/res/rec_$M"
    cp "$W/rec_$M/recover.json" "$W/rec_$M/lora.safetensors" "$W/res/rec_$M/" 2>/dev/null
done
( cd "$OUT" && sha256sum *.after.uniql *.after_gptq.uniql > "$W/res/sha256_after.txt" 2>/dev/null )
echo "== end at $(el) s"
ls -la "$OUT"
}
main 2>&1 | tee -a "$LOG"
tar -C "$W" -czf "$OUT/results.tar.gz" res
