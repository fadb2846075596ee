#!/usr/bin/env python3
"""train.py - train one byte-level model on data/train.txt and save it in HF layout (fp16).

    python3 tools/train/train.py MODEL_NAME OUT_DIR [--data data/train.txt] [--steps N]

Random windows of SEQ bytes from the training text (torch generator seeded with 1234),
AdamW (betas 0.9/0.95, weight decay 0.1 on matrices), linear warm-up over 100 steps then
cosine decay to 10 %, gradient clipping at 1.0, bf16 autocast on CUDA. Writes
OUT_DIR/{config.json, model.safetensors, generation_config.json} and OUT_DIR/train.json
(steps, seconds, final training loss). --max-seconds stops early (recorded) as a guard
against the device's per-command time limit.
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import BATCH, SEQ, TRAIN, build_model  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("out")
    ap.add_argument("--data", default="data/train.txt")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--max-seconds", type=float, default=1e9)
    a = ap.parse_args()
    torch.manual_seed(1234)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    data = torch.frombuffer(bytearray(open(a.data, "rb").read()), dtype=torch.uint8).long()
    cls, cfg = build_model(a.name)
    model = cls(cfg).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    hp = dict(TRAIN[a.name])
    steps = a.steps or hp["steps"]
    schedule = hp["schedule"] if not a.steps else steps
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "conv1d" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "conv1d" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=hp["lr"], betas=(0.9, 0.95), eps=1e-8)
    warm = 100

    def lr_at(s):
        if s < warm:
            return hp["lr"] * (s + 1) / warm
        t = min(1.0, (s - warm) / max(1, schedule - warm))
        return hp["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    g = torch.Generator().manual_seed(1234)
    print(f"{a.name}: {n_params} params, {len(data)} training bytes, {steps} steps of {BATCH}x{SEQ}", flush=True)
    model.train()
    t0 = time.time()
    done = 0
    for s in range(steps):
        idx = torch.randint(0, len(data) - SEQ - 1, (BATCH,), generator=g)
        x = torch.stack([data[i:i + SEQ] for i in idx.tolist()]).to(dev, non_blocking=True)
        for grp in opt.param_groups:
            grp["lr"] = lr_at(s)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
            logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]),
                                                 x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        done = s + 1
        if s % 100 == 0 or s == steps - 1:
            lv = loss.item()
            print(f"  step {s:5d} loss {lv:.4f} (ppl {math.exp(lv):.3f}) lr {lr_at(s):.2e} "
                  f"{time.time() - t0:.1f}s", flush=True)
        if time.time() - t0 > a.max_seconds:
            print(f"  stopping early at step {done}: time guard", flush=True)
            break
    if dev == "cuda":
        torch.cuda.synchronize()
    secs = time.time() - t0
    model.eval()
    model = model.to(torch.float16)
    model.save_pretrained(a.out)
    info = dict(name=a.name, params=n_params, steps=done, steps_planned=steps, lr_schedule_steps=schedule, batch=BATCH, seq=SEQ,
                train_seconds=round(secs, 1), final_train_loss=round(loss.item(), 4), lr=hp["lr"],
                device=torch.cuda.get_device_name(0) if dev == "cuda" else "cpu",
                torch=torch.__version__)
    import transformers
    info["transformers"] = transformers.__version__
    with open(os.path.join(a.out, "train.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"{a.name}: trained {done} steps in {secs:.1f}s, saved to {a.out}", flush=True)


if __name__ == "__main__":
    main()
