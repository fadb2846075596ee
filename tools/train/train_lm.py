#!/usr/bin/env python3
"""train_lm.py - train one model of the BPE suite (lm.py) on a uint16 token stream, inside
a wall-clock deadline, and save its float32 weights.

    python3 tools/train/train_lm.py {llama|nemotronh} TOKENS.u16 OUT_DIR --deadline UNIX_TIME
            [--max-steps N] [--batch 128] [--seq 512] [--lr 2e-3] [--seed 1234]

Samples random windows of SEQ + 1 tokens from the stream (GPU generator, seeded), AdamW
(betas 0.9 / 0.95, eps 1e-8, weight decay 0.1 on matrices only), gradient clipping 1.0,
bf16 autocast, torch.compile on CUDA. Learning rate: warm-up-stable-decay (WSD): linear
warm-up over 200 steps, constant, then a linear decay to 0 over the last 20 % of the
training time. The step count is not fixed in advance: the decay starts when 80 % of the
time until the deadline is used, and its length in steps is set then from the measured
step time, so the run ends (weights saved) before the deadline whatever the throughput
(another model may share the GPU). --max-steps caps the steps (smoke tests; the decay
then covers the last 20 % of them).

Writes OUT_DIR/final.pt (float32 state dict under transformers' names), OUT_DIR/raw/ (the
same as bf16 safetensors + config.json, written without transformers), OUT_DIR/stable.pt
(the weights when the decay began) and OUT_DIR/train.json (steps, tokens, tokens per
parameter, seconds, loss curve).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lm  # noqa: E402

CONFIGS = {"llama": lm.LLAMA_21M, "nemotronh": lm.NEMOTRONH_17M}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(CONFIGS))
    ap.add_argument("tokens")
    ap.add_argument("out")
    ap.add_argument("--deadline", type=float, required=True)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--decay-frac", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--target-tokens-per-param", type=float, default=0.0,
                    help="plan the schedule to end at this many tokens per parameter (or the deadline)")
    ap.add_argument("--wait-flag", default="", help="after compiling, wait until this file exists ...")
    ap.add_argument("--wait-until", type=float, default=0.0, help="... or until this time")
    a = ap.parse_args()
    t_begin = time.time()
    os.makedirs(a.out, exist_ok=True)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(a.seed)
    if dev == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    cfg = dict(CONFIGS[a.model])
    data = torch.from_numpy(np.fromfile(a.tokens, dtype="<u2").astype(np.int32)).to(dev)
    n_data = data.numel()
    model = lm.build(cfg)
    model.init_weights(a.seed)
    model = model.to(dev)
    n_par = lm.n_params(model)
    decay, other = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and "conv1d" not in name else other).append(p)
    kw = dict(fused=True) if dev == "cuda" else {}
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8, **kw)

    def step_loss(ids):
        if dev != "cuda":
            return lm.loss_fn(model, ids)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            return lm.loss_fn(model, ids)

    fn = step_loss
    if dev == "cuda" and not a.no_compile and hasattr(torch, "compile"):
        fn = torch.compile(step_loss)
    gen = torch.Generator(device=dev).manual_seed(a.seed)
    ar = torch.arange(a.seq + 1, device=dev)
    tok_per_step = a.batch * a.seq
    target_steps = int(math.ceil(a.target_tokens_per_param * n_par / tok_per_step)) if a.target_tokens_per_param else 0
    print(f"{a.model}: {n_par} params, {n_data} training tokens, batch {a.batch} x {a.seq}, lr {a.lr}, "
          f"deadline in {a.deadline - time.time():.0f}s", flush=True)

    curve, step, decay_start, decay_steps = [], 0, None, None
    t_train0, t_last, last_step, step_time = None, None, 0, None
    loss_v = float("nan")
    stop_reason = "deadline"
    save_reserve = 15.0   # seconds kept for the final save
    while True:
        now = time.time()
        # the learning rate of this step (WSD)
        if decay_start is None:
            lr = a.lr * min(1.0, (step + 1) / a.warmup)
            start_decay = False
            if a.max_steps and step >= int(a.max_steps * (1 - a.decay_frac)):
                start_decay = True
                decay_steps = max(1, a.max_steps - step)
            elif t_train0 is not None and step_time is not None and not a.max_steps:
                # planned total: the token target, or what the time left allows at the measured step time
                left = int((a.deadline - save_reserve - now) / step_time * 0.97)
                total = step + left if not target_steps else min(target_steps, step + left)
                if step >= (1 - a.decay_frac) * total:
                    start_decay = True
                    decay_steps = max(1, total - step)
            if start_decay:
                decay_start = step
                torch.save({k: v.detach().float().cpu() for k, v in model.state_dict().items()},
                           os.path.join(a.out, "stable.pt"))
                print(f"  step {step}: decay starts, {decay_steps} decay steps "
                      f"(step time {step_time if step_time else 0:.4f}s)", flush=True)
        if decay_start is not None:
            k = step - decay_start
            if k >= decay_steps:
                stop_reason = "schedule complete"
                break
            lr = a.lr * (1.0 - k / decay_steps)
        if now > a.deadline - save_reserve:
            stop_reason = "deadline"
            break
        for grp in opt.param_groups:
            grp["lr"] = lr
        off = torch.randint(0, n_data - a.seq - 1, (a.batch,), device=dev, generator=gen)
        ids = data[off[:, None] + ar[None, :]].long()
        loss = fn(ids)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step == 3 and t_train0 is None:     # the first steps hold the compilation
            if dev == "cuda":
                torch.cuda.synchronize()
            print(f"  compiled and warm after {time.time() - t_begin:.1f}s", flush=True)
            if a.wait_flag:
                while not os.path.exists(a.wait_flag) and time.time() < a.wait_until:
                    time.sleep(0.5)
                print(f"  waited until {time.time() - t_begin:.1f}s "
                      f"({'flag' if os.path.exists(a.wait_flag) else 'time'})", flush=True)
            t_train0 = t_last = time.time()
            last_step = step
        if step % 25 == 0 and t_last is not None:
            loss_v = loss.item()              # synchronises
            tn = time.time()
            st = (tn - t_last) / max(1, step - last_step)
            step_time = st if step_time is None else 0.7 * step_time + 0.3 * st
            t_last, last_step = tn, step
            if not math.isfinite(loss_v):
                stop_reason = "non-finite loss"
                break
            if step % 100 == 0 or a.max_steps:
                curve.append([step, step * tok_per_step, round(loss_v, 4), round(tn - t_begin, 1)])
                print(f"  step {step:6d} loss {loss_v:.4f} lr {lr:.2e} gnorm {float(gn):.2f} "
                      f"{tok_per_step / step_time / 1e3:.0f}k tok/s {tn - t_begin:.0f}s", flush=True)
        if a.max_steps and step >= a.max_steps:
            stop_reason = "max steps"
            break
    if dev == "cuda":
        torch.cuda.synchronize()
    loss_v = float(loss.item()) if step else float("nan")
    t_end = time.time()
    sd = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    torch.save(sd, os.path.join(a.out, "final.pt"))
    # the same weights in HF layout without transformers (bf16 safetensors + config.json):
    # what comes back if the export step fails
    raw = os.path.join(a.out, "raw")
    os.makedirs(raw, exist_ok=True)
    lm.write_safetensors(os.path.join(raw, "model.safetensors"), sd)
    with open(os.path.join(raw, "config.json"), "w") as f:
        json.dump(lm.hf_config_dict(cfg), f, indent=1)
    info = dict(model=a.model, config=cfg, params=n_par, steps=step, batch=a.batch, seq=a.seq,
                tokens=step * tok_per_step, tokens_per_param=round(step * tok_per_step / n_par, 2),
                train_tokens_available=n_data, epochs=round(step * tok_per_step / n_data, 2),
                lr=a.lr, schedule=f"WSD: warm-up {a.warmup}, decay over the last {a.decay_frac:.0%} of the time",
                decay_start_step=decay_start, decay_steps=decay_steps, stop=stop_reason,
                target_tokens_per_param=a.target_tokens_per_param or None,
                tokens_per_second=round(tok_per_step / step_time) if step_time else None,
                seconds_total=round(t_end - t_begin, 1),
                seconds_training=round(t_end - (t_train0 or t_begin), 1),
                final_train_loss=round(loss_v, 4), curve=curve,
                device=torch.cuda.get_device_name(0) if dev == "cuda" else "cpu", torch=torch.__version__)
    with open(os.path.join(a.out, "train.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"{a.model}: {step} steps, {step * tok_per_step} tokens ({info['tokens_per_param']} per param), "
          f"{t_end - t_begin:.0f}s, final loss {loss_v:.4f}, stop: {stop_reason}", flush=True)


if __name__ == "__main__":
    main()
