#!/bin/sh
# prepare_recover_dev.sh - the folder that tools/train/run_recover_device.sh needs besides
# the checkout (default .dev/recover, ignored by git; carried to the device machine):
#   bin/pack            tools/pack built static for x86-64 (so the device runs the same binary)
#   text/train.txt      the byte models' training text (make data)
#   text/bpe_train.txt  about BPE_MB MB of whole documents of the BPE corpus' train split, evenly spread
#                       (data/corpus/train.txt, or train.txt inside CORPUS_TAR)
# XZ=1 compresses both texts (*.txt.xz); run_recover_device.sh unpacks them.
set -e
DEV=${DEV:-.dev/recover}
BPE_MB=${BPE_MB:-8}
CORPUS_TAR=${CORPUS_TAR:-.dev/train/corpus.tar.xz}
mkdir -p "$DEV/bin" "$DEV/text"
cc -std=c99 -O2 -static -o "$DEV/bin/pack" tools/pack.c -lm -pthread
[ -f data/train.txt ] || make data
cp data/train.txt "$DEV/text/train.txt"
if [ -f data/corpus/train.txt ]; then src=data/corpus/train.txt
else
    tmp=$(mktemp -d)
    tar -C "$tmp" -xJf "$CORPUS_TAR"
    src=$(find "$tmp" -name train.txt | head -1)
fi
python3 - "$src" "$DEV/text/bpe_train.txt" "$BPE_MB" <<'PY'
import sys
src, dst, mb = sys.argv[1], sys.argv[2], float(sys.argv[3])
all_docs = open(src, encoding="utf-8").read().split("\n\n")
total = sum(len(d.encode()) + 2 for d in all_docs)
step = max(1.0, total / (mb * 1e6))      # every step-th document: all sources, in file order
docs = [all_docs[int(i * step)] for i in range(int(len(all_docs) / step))]
open(dst, "w", encoding="utf-8").write("\n\n".join(docs) + "\n")
print(f"{dst}: {len(docs)} of {len(all_docs)} documents (every {step:.2f}th), {sum(len(d.encode()) + 2 for d in docs)} bytes of {src}")
PY
[ -n "${tmp:-}" ] && rm -rf "$tmp"
# XZ=1: both texts xz-compressed (run_recover_device.sh unpacks them), about 4x smaller
if [ "${XZ:-0}" = 1 ]; then xz -f -9 "$DEV/text/train.txt" "$DEV/text/bpe_train.txt"; fi
du -sh "$DEV"
