#!/usr/bin/env python3
"""evaluate.py - held-out perplexity and text samples of a saved model, by transformers.

    python3 tools/train/evaluate.py MODEL_DIR [--test data/test.txt]

Loads MODEL_DIR (the fp16 files as saved) in float32, TF32 off, on CUDA if present.
Perplexity: data/test.txt cut into non-overlapping windows of 256 bytes (tail dropped);
each window predicts its bytes 1..255 from the bytes before them in the window; the
mean NLL over all predicted bytes (log-softmax in float64), ppl = exp(mean). This is
the definition uniql_perplexity implements. Also a greedy and a top-p (0.9, T 0.8,
seed 0) continuation of a fixed prompt. Writes MODEL_DIR/eval.json (merging train.json,
which it removes).
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

WINDOW = 256
PROMPT = "The Python interpreter "


def load(model_dir, device):
    import transformers

    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    cls = getattr(transformers, cfg["architectures"][0])
    model = cls.from_pretrained(model_dir, dtype=torch.float32)
    return model.to(device).eval()


def window_nll(model, data, window, n_windows, device, batch=32):
    """Sum of NLL (float64) and count over n_windows non-overlapping windows of data."""
    n_windows = min(n_windows, len(data) // window)
    toks = torch.tensor(list(data[:n_windows * window]), dtype=torch.long).view(n_windows, window)
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, n_windows, batch):
            x = toks[i:i + batch].to(device)
            logits = model(input_ids=x, use_cache=False).logits.double()
            lp = torch.log_softmax(logits[:, :-1], dim=-1)
            nll = -lp.gather(-1, x[:, 1:].unsqueeze(-1)).squeeze(-1)
            total += float(nll.sum())
            count += nll.numel()
    return total, count


def generate(model, prompt, n, device, top_p=None, temperature=1.0, seed=0):
    g = torch.Generator(device="cpu").manual_seed(seed)
    ids = list(prompt.encode())
    with torch.no_grad():
        for _ in range(n):
            x = torch.tensor([ids[-WINDOW:]], device=device)
            logits = model(input_ids=x, use_cache=False).logits[0, -1].double().cpu()
            if top_p is None:
                t = int(torch.argmax(logits))
            else:
                p = torch.softmax(logits / temperature, -1)
                sp, si = torch.sort(p, descending=True)
                keep = (torch.cumsum(sp, 0) - sp) < top_p
                sp = sp * keep
                t = int(si[torch.multinomial(sp / sp.sum(), 1, generator=g)])
            ids.append(t)
    return bytes(ids).decode("ascii", errors="backslashreplace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--test", default="data/test.txt")
    ap.add_argument("--gen", type=int, default=200)
    ap.add_argument("--windows", type=int, default=0, help="use only this many test windows (smoke tests)")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = load(a.model_dir, device)
    data = open(a.test, "rb").read()
    n_win = len(data) // WINDOW if a.windows <= 0 else min(a.windows, len(data) // WINDOW)
    total, count = window_nll(model, data, WINDOW, n_win, device)
    info = {}
    tj = os.path.join(a.model_dir, "train.json")
    if os.path.exists(tj):
        info.update(json.load(open(tj)))
        os.remove(tj)
    info.update(dict(
        test_file=a.test, test_windows=n_win, window=WINDOW, test_predicted_bytes=count,
        test_mean_nll=total / count, test_ppl=math.exp(total / count),
        ppl_measured_by="transformers, fp16 weights loaded as float32, TF32 off, on " + device,
        params_stored=sum(p.numel() for p in model.parameters()),
        sample_prompt=PROMPT,
        sample_greedy=generate(model, PROMPT, a.gen, device),
        sample_top_p=generate(model, PROMPT, a.gen, device, top_p=0.9, temperature=0.8, seed=0),
    ))
    with open(os.path.join(a.model_dir, "eval.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info, indent=1), flush=True)


if __name__ == "__main__":
    main()
