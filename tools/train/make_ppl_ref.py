#!/usr/bin/env python3
"""make_ppl_ref.py - the reference perplexities tests/test_ppl.c checks uniql.h against.

    python3 tools/train/make_ppl_ref.py OUT_JSON MODEL_DIR...

The slice: the first N_WINDOWS = 8 non-overlapping windows of WINDOW = 256 bytes of
data/test.txt (bytes 0..2047); each window predicts its bytes 1..255 from the bytes
before them in the same window (8 x 255 = 2040 predicted bytes). Computed by
transformers on CPU in float32 (the saved fp16 weights upcast), log-softmax in float64;
the float64 model's figure is recorded beside it for scale.
"""
import hashlib
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import load, window_nll  # noqa: E402

WINDOW, N_WINDOWS = 256, 8


def main():
    out, dirs = sys.argv[1], sys.argv[2:]
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    data = open("data/test.txt", "rb").read()
    import transformers
    ref = dict(test_file="data/test.txt", window=WINDOW, n_windows=N_WINDOWS,
               slice_sha256=hashlib.sha256(data[:WINDOW * N_WINDOWS]).hexdigest(),
               computed_by="transformers %s, torch %s, CPU, float32 (fp16 weights upcast), "
                           "log-softmax in float64" % (transformers.__version__, torch.__version__),
               models={})
    for d in dirs:
        model = load(d, "cpu")
        total, count = window_nll(model, data, WINDOW, N_WINDOWS, "cpu", batch=N_WINDOWS)
        t64, _ = window_nll(model.double(), data, WINDOW, N_WINDOWS, "cpu", batch=N_WINDOWS)
        name = os.path.basename(os.path.normpath(d))
        ref["models"][name] = dict(dir="models/" + name, predicted=count, mean_nll=total / count,
                                   ppl=math.exp(total / count), ppl_float64=math.exp(t64 / count))
        print(name, ref["models"][name], flush=True)
    with open(out, "w") as f:
        json.dump(ref, f, indent=1)


if __name__ == "__main__":
    main()
