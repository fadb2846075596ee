#!/usr/bin/env python3
"""recover.py - UniQL's recovery step (paper step 4): masked LoRA fine-tuning across the
stored pruning rates, merged back, so that every rate of ONE .uniql file is good.

The input is what `tools/pack --export-hf DIR` writes (uniql.h API 9b): DIR/model.safetensors
(the sorted model in Hugging Face layout), DIR/config.json, DIR/order.json (RoPE pair
rankings, one kept-size table per stored rate). The output directory has the same three
files with the LoRA deltas merged (fp32), ready for `tools/pack --order OUT/order.json OUT
x.uniql`, which re-applies the same order without re-scoring.

    recover.py train EXPORT OUT --tokens FILE [--test-tokens FILE] [--seconds S] ...
    recover.py merge EXPORT OUT/lora.safetensors OUT2   the adapters of a run merged again
    recover.py eval EXPORT --tokens FILE            masked perplexity at every stored rate
    recover.py masked-ref EXPORT OUT.bin            logits of the masked forward (float64),
                                                    the reference of tests/test_recover.c
    recover.py check-hf EXPORT                      our forward vs transformers' (device)

Token files: *.u16 / *.u32 = little-endian ids; anything else is read as bytes (the
byte-level models' tokens).

The recipe, as the official code does it (compress/recovery_finetune.py, SPEC 1.7):
LoRA r 8, alpha 16, dropout 0.05 on every projection (q, k, v, o, gate, up, down, in_proj,
out_proj; embeddings, norms, conv1d, lm_head frozen, biases frozen); each step samples ONE
stored rate table, lower kept ratios drawn more often: the tables ordered from the most
pruned, p_i ~ exp(-0.1 i); the pruned slices masked (uqmask.kept_masks); attention scale
unchanged; AdamW; LoRA merged after training. What differs, and why:
  - data: our own training text (the text the model was trained on, random windows of
    --seq tokens), not alpaca-cleaned instructions: the models are small language models of
    English technical prose, and the evaluation is held-out perplexity on that text;
  - length: a time budget (--seconds, a few minutes of one GPU) instead of 5 epochs; the
    number of steps is fitted to the budget after timing the first steps, so the learning
    rate schedule (linear warm-up, linear decay to 0, as transformers.Trainer) completes;
  - learning rate: --lr default 1e-3 instead of 1e-4: 10x fewer steps than the official
    run and models 1000x smaller (LoRA of r 8 on hidden size 256-512);
  - the full model (rate 0) is one of the sampled tables too (--no-full to drop it), with
    the lowest probability: the official run never trains the unmasked model, and here
    the unpruned model must not lose more than 1 %;
  - Mamba's gated RMSNorm averages over the kept channels (what the pruned model
    computes); the official masked forward averages over all channels, zeros included;
  - our own masked modules instead of peft + the official model classes (the same LoRA
    maths: A Kaiming-uniform, B zero, scale alpha/r; checked against transformers by
    check-hf and against the C pruned model by tests/test_recover.c);
  - optional, not in the official recipe: --distill-full W (default 0: off, the recipe
    above bit for bit). Every step then keeps the sampled table's LM loss and adds
    W * KL(teacher || student) on the FULL (unmasked) model for the same batch, where the
    teacher is the same model with its adapters switched off (uqmask adapters_off(), no
    grad: the frozen base weights, i.e. the unpruned model before recovery) and the student
    is the unmasked model with its adapters. Why: the adapters are shared by every table and
    most steps train pruned ones, so they drift the full model; on nemotronh-bpe-17m, which
    gains nothing at 0 % from more of our text, the unpruned model came out 1-2 % worse
    (README, "Evaluation: recovery"), against the issue's 1 %. The idea is that of
    slimmable networks' "sandwich rule" with in-place distillation (J. Yu, T. Huang,
    "Universally Slimmable Networks and Improved Training Techniques", ICCV 2019): the
    widest network takes part in every step, and a wide network teaches the narrower ones.
    Here the full width takes part in every step, and what it is held to is the original
    model's own output distribution, so the pruned tables can move the shared adapters
    only as far as the full model's outputs allow. Cost: one more forward without grad
    (teacher) and, when the sampled table is not the full model, one more forward and
    backward (student): up to about twice the work per step (not yet timed on the GPU),
    so fewer steps in one time budget.
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uqmask  # noqa: E402


def log(*a):
    print(*a, flush=True)


def read_tokens(path):
    if path.endswith(".u32"):
        return np.fromfile(path, dtype="<u4").astype(np.int64)
    if path.endswith(".u16"):
        return np.fromfile(path, dtype="<u2").astype(np.int64)
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8).astype(np.int64)


def table_probs(order, include_full=True):
    """(list of rate indices from the most pruned, None = full model last), probabilities."""
    n = len(order["rates"])
    idx = list(range(n - 1, -1, -1)) + ([None] if include_full else [])
    w = np.exp(-0.1 * np.arange(len(idx)))
    return idx, w / w.sum()


def windows_loss(model, toks, masks, seq, n_win, batch, device):
    """mean next-token NLL over the first n_win non-overlapping windows (uniql_perplexity)."""
    tot, cnt = 0.0, 0
    n_win = min(n_win, len(toks) // seq)
    with torch.no_grad():
        for s in range(0, n_win, batch):
            w = [toks[(s + i) * seq:(s + i + 1) * seq] for i in range(min(batch, n_win - s))]
            x = torch.tensor(np.stack(w), device=device)
            with amp(device):
                lg = model(x, masks)
            nll = F.cross_entropy(lg[:, :-1].float().reshape(-1, lg.shape[-1]), x[:, 1:].reshape(-1), reduction="sum")
            tot += float(nll)
            cnt += x[:, 1:].numel()
    return tot / max(cnt, 1)


def kl_full(t_lg, s_lg):
    """KL(teacher || student) of the next-token distributions, mean over the positions that
    the LM loss uses (all but the last of each window), in fp32."""
    V = s_lg.shape[-1]
    t = F.log_softmax(t_lg[:, :-1].float().reshape(-1, V), dim=-1)
    s = F.log_softmax(s_lg[:, :-1].float().reshape(-1, V), dim=-1)
    return F.kl_div(s, t, log_target=True, reduction="batchmean")


def amp(device):
    if device.startswith("cuda"):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return uqmask._Null()


def evaluate_all(model, c, order, toks, seq, n_win, batch, device):
    out = {}
    for ri in [None] + list(range(len(order["rates"]))):
        masks = uqmask.kept_masks(c, order, ri, device=device)
        nll = windows_loss(model, toks, masks, seq, n_win, batch, device)
        out["0" if ri is None else "%g" % order["rates"][ri]] = math.exp(nll)
    return out


def cmd_train(a):
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    dev = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    t_start = time.time()
    c, W, order, model = uqmask.load_export(a.export, device=dev)
    toks = read_tokens(a.tokens)
    test = read_tokens(a.test_tokens) if a.test_tokens else None
    model.add_lora(a.r, a.alpha, a.dropout, seed=a.seed)
    params = list(model.lora_parameters())
    n_lora = sum(p.numel() for p in params)
    idx, probs = table_probs(order, not a.no_full)
    log(f"{a.export}: {c.model_type} {c.n_layers} layers, {len(toks)} training tokens, LoRA r {a.r} alpha {a.alpha} "
        f"dropout {a.dropout}: {n_lora} trainable parameters")
    log("tables (rate: p): " + ", ".join(f"{'full' if i is None else order['rates'][i]}: {p:.3f}" for i, p in zip(idx, probs)))
    if a.distill_full > 0:
        log(f"distill-full {a.distill_full:g}: + {a.distill_full:g} * KL(base || adapted) on the unmasked model every step")
    masks = {i: uqmask.kept_masks(c, order, i, device=dev) for i in idx}
    before = evaluate_all(model, c, order, test, a.seq, a.eval_windows, a.batch, dev) if test is not None else None
    if before:
        log("before: " + json.dumps(before))
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    model.train()
    hi = len(toks) - a.seq - 1

    def step(s, total):
        if s < a.warmup:
            lr = a.lr * (s + 1) / a.warmup          # linear warm-up
        elif total is None:
            lr = a.lr
        else:
            lr = a.lr * max(0.0, (total - s) / max(1, total - a.warmup))   # linear decay to 0
        for g in opt.param_groups:
            g["lr"] = lr
        ri = idx[rng.choice(len(idx), p=probs)]
        st = rng.integers(0, hi, size=a.batch)
        x = torch.tensor(np.stack([toks[i:i + a.seq] for i in st]), device=dev)
        with amp(dev):
            lg = model(x, masks[ri])
        loss = F.cross_entropy(lg[:, :-1].float().reshape(-1, lg.shape[-1]), x[:, 1:].reshape(-1))
        total_loss, kl = loss, None
        if a.distill_full > 0:
            # the full width in every step (sandwich rule): held to the model before recovery
            with torch.no_grad(), model.adapters_off(), amp(dev):
                t_lg = model(x)
            if ri is None:
                s_lg = lg                   # the sampled table is the full model already
            else:
                with amp(dev):
                    s_lg = model(x)
            kl = kl_full(t_lg, s_lg)
            total_loss = loss + a.distill_full * kl
        opt.zero_grad(set_to_none=True)
        total_loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if kl is not None:
            kls.append(float(kl))
        return float(loss), ri

    # fit the number of steps to the budget: the first steps (CUDA start-up, allocator
    # warm-up) are slower than the rest, and several runs may share one GPU and end at
    # different times, so the plan is re-made every 100 steps from the rate of the last 100
    # (the linear decay then ends at the deadline; its slope changes only slightly)
    deadline = t_start + a.seconds - a.reserve
    probe = 10
    t0 = time.time()
    losses = []
    kls = []          # KL(teacher || student) of the full model per step (--distill-full)
    for s in range(probe):
        losses.append(step(s, None)[0])
    if dev.startswith("cuda"):
        torch.cuda.synchronize()
    per = (time.time() - t0) / probe

    def plan(s, per_step):
        return int(max(s + 1, min(a.steps, s + (deadline - time.time()) / max(per_step, 1e-4))))

    total = plan(probe, per)
    log(f"{per * 1000:.1f} ms/step over the first {probe}: {total} steps planned in {a.seconds:.0f} s (max --steps {a.steps})")
    t1 = time.time()
    done = probe
    t_mark, s_mark = time.time(), probe
    s = probe
    while s < total:
        if time.time() > deadline + a.reserve / 2:
            log(f"time guard at step {s}")
            break
        loss, ri = step(s, total)
        losses.append(loss)
        done = s + 1
        if s % 100 == 0 or s == total - 1:
            log(f"step {s}/{total} loss {loss:.4f}{f' kl {kls[-1]:.5f}' if kls else ''} "
                f"({'full' if ri is None else order['rates'][ri]})")
        s += 1
        if s - s_mark == 100:
            if dev.startswith("cuda"):
                torch.cuda.synchronize()
            per = (time.time() - t_mark) / 100
            total = plan(s, per)
            t_mark, s_mark = time.time(), s
    train_s = time.time() - t0
    model.eval()
    after = evaluate_all(model, c, order, test, a.seq, a.eval_windows, a.batch, dev) if test is not None else None
    if after:
        log("after: " + json.dumps(after))
    os.makedirs(a.out, exist_ok=True)
    uqmask.st_write(os.path.join(a.out, "model.safetensors"), model.merged_state(W))
    for f in ("config.json", "order.json"):
        shutil.copyfile(os.path.join(a.export, f), os.path.join(a.out, f))
    # the adapters alone (small): merged again by `recover.py merge` onto the same export
    uqmask.st_write(os.path.join(a.out, "lora.safetensors"), model.lora_state())
    rec = dict(model=c.model_type, steps=done, planned=total, seconds=round(train_s, 1), ms_per_step=round(per * 1000, 2),
               batch=a.batch, seq=a.seq, lr=a.lr, r=a.r, alpha=a.alpha, dropout=a.dropout, lora_params=n_lora,
               tables=[None if i is None else order["rates"][i] for i in idx], probs=[round(float(p), 4) for p in probs],
               first_loss=round(float(np.mean(losses[:10])), 4), last_loss=round(float(np.mean(losses[-50:])), 4),
               torch=torch.__version__, device=dev, ppl_before=before, ppl_after=after, eval_windows=a.eval_windows,
               distill_full=a.distill_full)
    if kls:
        rec.update(kl_first=round(float(np.mean(kls[:10])), 6), kl_last=round(float(np.mean(kls[-50:])), 6))
    with open(os.path.join(a.out, "recover.json"), "w") as f:
        json.dump(rec, f, indent=1)
    log("wrote " + a.out + ": " + json.dumps({k: rec[k] for k in ("steps", "seconds", "first_loss", "last_loss")}))


def cmd_merge(a):
    """EXPORT + LORA (lora.safetensors of a train run) -> OUT, as train writes it"""
    c, W, order, model = uqmask.load_export(a.export)
    model.add_lora(a.r, a.alpha, 0.0)
    model.load_lora_state(uqmask.st_read(a.lora))
    os.makedirs(a.out, exist_ok=True)
    uqmask.st_write(os.path.join(a.out, "model.safetensors"), model.merged_state(W))
    for f in ("config.json", "order.json"):
        shutil.copyfile(os.path.join(a.export, f), os.path.join(a.out, f))
    log("merged " + a.lora + " into " + a.out)


def cmd_eval(a):
    dev = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    c, W, order, model = uqmask.load_export(a.export, device=dev)
    toks = read_tokens(a.tokens)
    print(json.dumps(evaluate_all(model, c, order, toks, a.seq, a.eval_windows, a.batch, dev)))


# the committed reference: tokens, then logits at the full model and at every stored rate
MAGIC = b"UQMASK01"


def masked_logits(d, toks):
    c, W, order, model = uqmask.load_export(d, dtype=torch.float64)
    x = torch.tensor([toks])
    cases = [None] + list(range(len(order["rates"])))
    out = []
    with torch.no_grad():
        for ri in cases:
            out.append((-1 if ri is None else ri, model(x, uqmask.kept_masks(c, order, ri, dtype=torch.float64))[0].numpy()))
    return c, out


def cmd_masked_ref(a):
    toks = list(a.prompt.encode())
    c, out = masked_logits(a.export, toks)
    V = out[0][1].shape[1]
    with open(a.out, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<iii", len(toks), V, len(out)))
        f.write(struct.pack(f"<{len(toks)}i", *toks))
        for ri, lg in out:
            f.write(struct.pack("<i", ri))
            f.write(lg.astype("<f4").tobytes())
    log(f"{a.out}: {len(out)} cases ({c.model_type}), {len(toks)} tokens, torch {torch.__version__}")


def cmd_check_hf(a):
    """our unmasked forward vs transformers on the exported checkpoint, float64 CPU"""
    import transformers
    c, W, order, model = uqmask.load_export(a.export, dtype=torch.float64)
    hf = transformers.AutoModelForCausalLM.from_pretrained(a.export, dtype=torch.float64)
    hf.eval()
    toks = torch.tensor([list(a.prompt.encode())])
    with torch.no_grad():
        ours = model(toks)
        theirs = hf(toks).logits
    d = float((ours - theirs).abs().max() / theirs.abs().max())
    ok = d <= 1e-5
    log(f"check-hf {a.export}: max |ours - transformers| / max |logit| = {d:.3e} "
        f"(transformers {transformers.__version__}, float64): {'OK' if ok else 'DIFFERENT'}")
    if not ok:
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("export")
    t.add_argument("out")
    t.add_argument("--tokens", required=True)
    t.add_argument("--test-tokens")
    t.add_argument("--seconds", type=float, default=180)
    t.add_argument("--reserve", type=float, default=20, help="seconds kept for evaluation and saving")
    t.add_argument("--steps", type=int, default=100000)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--seq", type=int, default=256)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--warmup", type=int, default=50)
    t.add_argument("--r", type=int, default=8)
    t.add_argument("--alpha", type=float, default=16)
    t.add_argument("--dropout", type=float, default=0.05)
    t.add_argument("--no-full", action="store_true")
    t.add_argument("--distill-full", type=float, default=0.0, metavar="W",
                   help="add W * KL(model without adapters || model with adapters) on the unmasked model to every "
                        "step's loss (0: off, the official recipe)")
    t.add_argument("--eval-windows", type=int, default=64)
    t.add_argument("--seed", type=int, default=1234)
    t.add_argument("--device")
    e = sub.add_parser("eval")
    e.add_argument("export")
    e.add_argument("--tokens", required=True)
    e.add_argument("--seq", type=int, default=256)
    e.add_argument("--eval-windows", type=int, default=64)
    e.add_argument("--batch", type=int, default=16)
    e.add_argument("--device")
    g = sub.add_parser("merge")
    g.add_argument("export")
    g.add_argument("lora")
    g.add_argument("out")
    g.add_argument("--r", type=int, default=8)
    g.add_argument("--alpha", type=float, default=16)
    m = sub.add_parser("masked-ref")
    m.add_argument("export")
    m.add_argument("out")
    m.add_argument("--prompt", default="masked LoRA: one file, every rate good.")
    h = sub.add_parser("check-hf")
    h.add_argument("export")
    h.add_argument("--prompt", default="masked LoRA: one file, every rate good.")
    a = ap.parse_args()
    {"train": cmd_train, "merge": cmd_merge, "eval": cmd_eval, "masked-ref": cmd_masked_ref, "check-hf": cmd_check_hf}[a.cmd](a)


if __name__ == "__main__":
    main()
