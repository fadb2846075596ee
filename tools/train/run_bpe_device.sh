#!/bin/bash
# run_bpe_device.sh - the BPE model suite on one GPU machine, inside one command's time limit.
#   OUT=/path LIMIT=540 bash tools/train/run_bpe_device.sh {smoke|real}
# Run from a folder holding tools/ (tools/train, tools/data) and corpus.tar.xz (train.txt,
# calib.txt, test.txt of tools/data/build_corpus.py); tok/tokenizer.json there, if present,
# is used instead of training the tokenizer again.
# Stages (each with its own time guard; a failing model does not stop the other):
#  1. tokenizer (bpe_tokenizer.py train) and the token streams (encode) -> $OUT/common.tar
#  2. Llama trains first with the GPU to itself, planned to 21 tokens per parameter, by a
#     deadline at LSHARE (70) % of the training window at the latest; Nemotron-H compiles meanwhile,
#     waits, and trains from the Llama's end (or that deadline) to the end of the window
#     (train_lm.py: WSD schedule sized from the measured step time).
#  3. each model, as soon as it is trained: export_hf.py (HF checkpoint, transformers
#     checks, references), then packdir.py -> $OUT/<name>.pack.NN
# smoke: the same with 60 steps per model (the tokenizer is the real one).
set -u
export PYTHONUNBUFFERED=1
MODE=${1:-smoke}
DPID=
T0=$(date +%s)
LIMIT=${LIMIT:-540}
OUT=${OUT:-/tmp/out}
W=${W:-/tmp/w}
mkdir -p "$OUT" "$W/corpus" "$W/runs" "$W/pack"
exec > >(tee -a "$OUT/log.txt") 2>&1
el() { echo $(( $(date +%s) - T0 )); }
LNAME=llama-bpe-21m
NNAME=nemotronh-bpe-17m
echo "== $MODE: start $(date -u +%FT%TZ), limit ${LIMIT}s"
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,noheader
python3 -c 'import torch, transformers, tokenizers; print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__, "cuda", torch.cuda.is_available())'
xz -dc corpus.tar.xz | tar -x -C "$W/corpus" || { echo "corpus unpack failed"; exit 1; }
ls -l "$W/corpus"

# 1. tokenizer + token streams. A warm machine keeps the repository copy's ignored build/
#    between calls: the smoke run leaves its tokenizer and streams there for the real run.
CACHE=${CACHE:-../../build/bpe-cache}/$(cat corpus.tar.xz tools/train/bpe_tokenizer.py | sha256sum | cut -c1-16)
if [ -f "$CACHE/ids/train.u16" ] && [ -f "$CACHE/tok/tokenizer.json" ]; then
    cp -r "$CACHE/tok" "$CACHE/ids" "$W/" && echo "tokenizer and token streams: from $CACHE (earlier call)"
else
    if [ -f tok/tokenizer.json ]; then
        mkdir -p "$W/tok" && cp tok/tokenizer.json tok/tokenizer_config.json "$W/tok/" && echo "tokenizer: taken from tok/"
    else
        timeout 240 python3 tools/train/bpe_tokenizer.py train "$W/corpus" "$W/tok" || { echo "tokenizer training failed"; exit 1; }
    fi
    echo "[$(el)s] tokenizer ready"
    if [ "$MODE" = smoke ]; then
        timeout 150 python3 tools/train/bpe_tokenizer.py determinism "$W/corpus" 6000000 &
        DPID=$!
    fi
    timeout 200 python3 tools/train/bpe_tokenizer.py encode "$W/tok/tokenizer.json" "$W/corpus" "$W/ids" || { echo "encoding failed"; exit 1; }
    mkdir -p "$CACHE" && cp -r "$W/tok" "$W/ids" "$CACHE/"
fi
echo "[$(el)s] token streams ready"
(cd "$W" && tar -cf "$OUT/common.tar" tok ids/calib.u16 ids/calib.json ids/test.u16 ids/test.json ids/train.json)

# 2 + 3. training windows
NOW=$(date +%s)
END=$(( T0 + LIMIT - 80 ))                       # the last training stops here; export + pack after
LDEAD=$(( NOW + (END - NOW) * ${LSHARE:-70} / 100 ))
STEPS=""
[ "$MODE" = smoke ] && STEPS="--max-steps 60"
echo "[$(el)s] training window: $((END - NOW))s, Llama deadline at +$((LDEAD - NOW))s"

finish() {   # name run_key: export, pack
    local key=$1 name=$2
    local md="$W/pack/$name"
    if [ ! -f "$W/runs/$key/final.pt" ]; then echo "$key: no final.pt"; return 1; fi
    if ! timeout 170 python3 tools/train/export_hf.py "$key" "$W/runs/$key" "$W/tok" "$W/ids" "$md/model" "$md/ref"; then
        echo "$key: export FAILED: packing the raw weights instead"
        rm -rf "$md/model"; mkdir -p "$md/model" "$md/ref"
        cp "$W/runs/$key"/raw/* "$W/tok"/tokenizer*.json "$md/model/"
    fi
    cp "$W/runs/$key/train.json" "$md/ref/" 2>/dev/null
    [ -d "$md/model" ] && { mkdir -p "$md/all"; cp "$md"/model/* "$md"/ref/* "$md/all/" 2>/dev/null; \
        timeout 60 python3 tools/train/packdir.py pack "$md/all" "$OUT/$name.pack"; }
    echo "[$(el)s] $key: finished"
}

(
    timeout $(( LDEAD - $(date +%s) + 20 )) python3 tools/train/train_lm.py llama "$W/ids/train.u16" "$W/runs/llama" \
        --deadline "$LDEAD" --target-tokens-per-param 21 $STEPS || echo "llama: training FAILED (rc $?)"
    touch "$W/llama.done"
    finish llama "$LNAME"
) &
LPID=$!
(
    timeout $(( END - $(date +%s) + 20 )) python3 tools/train/train_lm.py nemotronh "$W/ids/train.u16" "$W/runs/nemotronh" \
        --deadline "$END" --wait-flag "$W/llama.done" --wait-until "$LDEAD" $STEPS \
        || echo "nemotronh: training FAILED (rc $?)"
    finish nemotronh "$NNAME"
) &
NPID=$!
# (a plain `wait` would also wait for the tee of the log's process substitution: forever)
wait $LPID $NPID ${DPID:-}
echo "[$(el)s] == done"
ls -l "$OUT"
sleep 1
