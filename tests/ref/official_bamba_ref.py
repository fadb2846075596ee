#!/usr/bin/env python3
"""official_bamba_ref.py - which channels, pairs and state dims the OFFICIAL UniQL code keeps in a
Bamba model, for tests/test_uniql.c to compare with uniql.h's sorting (issue 14, Bamba part).

    python3 tests/ref/official_bamba_ref.py OFFICIAL_DIR MODEL_DIR CALIB_FILE OUT.json

OFFICIAL_DIR  the two files of github.com/enyac-group/UniQL (commit 4634bde) this script runs, as
              they are: OFFICIAL_DIR/compress/compress_helpers.py and
              OFFICIAL_DIR/modeling/bamba/bamba_rope.py. They are read at run time and never
              copied into this repository. Only these functions are taken from them (by their
              definitions, so that the module's other imports - mamba_ssm's Triton kernels, the
              repository's own modeling package - are not needed): mlp_compression,
              attn_qk_compression_gqa, ssd_BC_compression, ssd_xo_compression and
              apply_rotary_pos_emb. The one kernel they call, causal_conv1d_fn (CUDA in the
              official setup), is given here by its definition: depthwise causal conv1d with
              K-1 zeros of left padding, then SiLU. Left out (Triton only, mamba_ssm absent):
              ssd_state_aware_xo_compression, which the official code uses for Mamba2 and
              Nemotron-H, not for Bamba (bamba_helper.compress_mamba uses ssd_xo_compression).
MODEL_DIR     a Bamba checkpoint (tests/data/ref/bamba or a trained one), loaded with
              transformers (5.17) in float32 on CPU.
CALIB_FILE    calibration text read as bytes (the project's models are byte-level): the first
              N_SEQ x SEQ_LEN bytes, N_SEQ sequences of SEQ_LEN (defaults 8 x 64; environment
              UQ_N_SEQ, UQ_SEQ_LEN).

What the official pipeline feeds its helpers (compress/compress_model.py with bamba_helper.py),
recorded here with forward hooks on the HF model: per attention layer the normed block input
(qkv_x) and the rotary (cos, sin); per Mamba layer the normed block input (hidden_states) and
the out_proj input (y_normed, the gated RMSNorm output); per layer the down_proj input (down_x).
Every helper runs on the ORIGINAL (uncompressed) model's activations, at several ranks, with the
official arguments: ridge_lambda=1 for the MLP and for ssd_xo_compression (bamba_helper.py),
rotate_half=True for Q/K. The kept sets are recovered from the returned matrices (each helper
selects rows/columns with a 0/1 matrix, so every kept row equals an original row exactly) or,
for Q/K, from the returned indices.

OUT.json: {"model": MODEL_DIR, "n_seq": .., "seq_len": .., "tokens": [first n_seq*seq_len bytes],
  "layers": [{"layer": l, "type": "attention"|"mamba",
     "mlp": {"RANK": [kept intermediate channels, ascending]},
     "qk": {"RANK": [[kept q/k dims of KV group g, in the official order]]},     (attention)
     "state": {"RANK": [[kept state dims of group g, ascending]]},               (mamba)
     "head": {"RANK": [[kept channels of head h (0..head_dim-1), ascending]]}}]} (mamba)
"""
import ast
import json
import math
import os
import sys

import torch
import torch.nn.functional as F


def log(*a):
    print(*a, flush=True)


def official_functions(official_dir):
    """The named function definitions of the two official files, compiled in a namespace that
    holds what their bodies use."""
    try:
        from einops import rearrange
    except ImportError:   # the device may lack einops: the six patterns these helpers use
        def rearrange(t, pattern, **axes):
            p = " ".join(pattern.split())
            n = axes.get("n", axes.get("g"))
            if p in ("(n d) h -> n h d", "(g d) h -> g h d"):
                return t.reshape(n, t.shape[0] // n, t.shape[1]).permute(0, 2, 1)
            if p in ("(n d) -> n d", "(g d) -> g d"):
                return t.reshape(n, -1)
            if p in ("n h r -> (n r) h", "g h r -> (g r) h"):
                return t.permute(0, 2, 1).reshape(-1, t.shape[1])
            raise NotImplementedError("rearrange pattern %r" % pattern)
        log("einops not installed: using the script's own rearrange for the helpers' six patterns")

    def causal_conv1d_fn(x, weight, bias=None, activation=None, seq_idx=None):
        # x [b, channels, T], weight [channels, K]: out[t] = bias + sum_k w[k] x[t - (K-1) + k]
        K = weight.shape[-1]
        y = F.conv1d(x, weight.unsqueeze(1), bias, padding=K - 1, groups=x.shape[1])[..., : x.shape[-1]]
        return F.silu(y) if activation in ("silu", "swish") else y

    class _Quiet:
        def info(self, *a, **k):
            pass
        warning = debug = info

    ns = {"torch": torch, "rearrange": rearrange, "causal_conv1d_fn": causal_conv1d_fn, "logger": _Quiet()}
    want = {
        "compress/compress_helpers.py": ["mlp_compression", "attn_qk_compression_gqa", "ssd_BC_compression",
                                         "ssd_xo_compression"],
        "modeling/bamba/bamba_rope.py": ["rotate_half", "apply_rotary_pos_emb"],
    }
    for rel, names in want.items():
        path = os.path.join(official_dir, rel)
        src = open(path).read()
        tree = ast.parse(src, path)
        found = {}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in names:
                node.decorator_list = []   # @torch.no_grad(): we run everything under no_grad
                found[node.name] = node
        missing = [n for n in names if n not in found]
        if missing:
            raise SystemExit("%s lacks %s" % (path, missing))
        mod = ast.Module(body=[found[n] for n in names], type_ignores=[])
        exec(compile(mod, path, "exec"), ns)
    return ns


def linear_from_rows(W, b, rows):
    """rows of in_proj as the official BambaMixerSimple splits it (module_helpers.split_linear:
    the bias slice goes with the rows)"""
    lin = torch.nn.Linear(W.shape[1], rows.stop - rows.start, bias=b is not None)
    lin.weight.data = W[rows].clone()
    if b is not None:
        lin.bias.data = b[rows].clone()
    return lin


def kept_rows(orig, trunc):
    """indices i of the rows of `orig` that `trunc`'s rows equal (each exactly one)"""
    out = []
    for r in trunc:
        hit = torch.nonzero((orig == r).all(dim=1)).flatten().tolist()
        if len(hit) != 1:
            raise RuntimeError("a kept row matches %d original rows" % len(hit))
        out.append(hit[0])
    return out


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    official_dir, model_dir, calib, out_path = sys.argv[1:]
    n_seq = int(os.environ.get("UQ_N_SEQ", "8"))
    seq_len = int(os.environ.get("UQ_SEQ_LEN", "64"))
    torch.manual_seed(0)
    ns = official_functions(official_dir)

    import transformers
    from transformers import BambaForCausalLM
    log("torch", torch.__version__, "transformers", transformers.__version__)
    try:
        model = BambaForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    except TypeError:
        model = BambaForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
    model.eval()
    cfg = model.config
    raw = open(calib, "rb").read()[: n_seq * seq_len]
    if len(raw) < n_seq * seq_len:
        raise SystemExit("calibration file shorter than %d bytes" % (n_seq * seq_len))
    ids = torch.tensor(list(raw), dtype=torch.long).view(n_seq, seq_len)

    layers = model.model.layers
    acts = {}

    def save(key):
        def hook(mod, inp, out):
            acts.setdefault(key, []).append((out if key[1] == "normed" else inp[0]).detach().clone())
        return hook

    hooks = []
    for l, ly in enumerate(layers):
        hooks.append(ly.input_layernorm.register_forward_hook(save((l, "normed"))))
        hooks.append(ly.feed_forward.down_proj.register_forward_hook(save((l, "down_x"))))
        if ly.layer_type == "mamba":
            hooks.append(ly.mamba.out_proj.register_forward_hook(save((l, "y_normed"))))
    with torch.no_grad():
        model(input_ids=ids, use_cache=False)
        pos = torch.arange(seq_len).unsqueeze(0).expand(n_seq, -1)
        cos, sin = model.model.rotary_emb(acts[(0, "normed")][0], position_ids=pos)
    for h in hooks:
        h.remove()
    log("rotary (cos) width %d of head_dim %d" % (cos.shape[-1], cfg.hidden_size // cfg.num_attention_heads))

    res = {"model": model_dir, "n_seq": n_seq, "seq_len": seq_len, "tokens": list(raw), "layers": []}
    I = cfg.intermediate_size
    with torch.no_grad():
        for l, ly in enumerate(layers):
            ent = {"layer": l, "type": ly.layer_type, "mlp": {}}
            x_norm = acts[(l, "normed")][0]
            down_x = acts[(l, "down_x")][0]
            ff = ly.feed_forward
            for rank in sorted({I // 4, I // 2, (3 * I) // 4}):
                up, down, gate = ns["mlp_compression"](ff.up_proj, ff.down_proj, ff.gate_proj, down_x, rank, ridge_lambda=1)
                ent["mlp"][str(rank)] = sorted(kept_rows(ff.up_proj.weight, up.weight))
            if ly.layer_type == "attention":
                at = ly.self_attn
                hd = at.head_dim
                ent["qk"] = {}
                for rank in range(4, hd, 4):
                    q, k, idx = ns["attn_qk_compression_gqa"](at.q_proj, at.k_proj, x_norm, rank, cfg.num_attention_heads,
                                                            cfg.num_key_value_heads, position_embeddings=(cos, sin),
                                                            rotary_fn=ns["apply_rotary_pos_emb"], rotate_half=True)
                    # idx: the rotated part of each group's kept dims; the pass-through part is
                    # recovered from k's rows (rank // 2 of them follow the rotated ones)
                    kw = at.k_proj.weight.view(cfg.num_key_value_heads, hd, -1)
                    kt = k.weight.view(cfg.num_key_value_heads, rank, -1)
                    ent["qk"][str(rank)] = [kept_rows(kw[g], kt[g]) for g in range(cfg.num_key_value_heads)]
            else:
                mb = ly.mamba
                Di, H, G, N = mb.intermediate_size, mb.num_heads, mb.n_groups, mb.ssm_state_size
                P = Di // H
                W, bi = mb.in_proj.weight, mb.in_proj.bias
                z_proj = linear_from_rows(W, bi, slice(0, Di))
                x_proj = linear_from_rows(W, bi, slice(Di, 2 * Di))
                B_proj = linear_from_rows(W, bi, slice(2 * Di, 2 * Di + G * N))
                C_proj = linear_from_rows(W, bi, slice(2 * Di + G * N, 2 * Di + 2 * G * N))
                dt_proj = linear_from_rows(W, bi, slice(2 * Di + 2 * G * N, 2 * Di + 2 * G * N + H))
                # (ssd_BC_compression forms B and C as X @ W, without these biases; dt_proj(X) has its own)
                ent["state"], ent["head"] = {}, {}
                for rank in sorted({N // 4, N // 2, (3 * N) // 4}):
                    Bt, Ct, conv = ns["ssd_BC_compression"](B_proj, C_proj, dt_proj, x_norm, rank, Di, H, G, N, mb.conv1d)
                    bw = B_proj.weight.view(G, N, -1)
                    btw = Bt.weight.view(G, rank, -1)
                    ent["state"][str(rank)] = [sorted(kept_rows(bw[g], btw[g])) for g in range(G)]
                for rank in sorted({P // 4, P // 2, (3 * P) // 4}):
                    class _Norm:   # stand-ins with a .weight, as the helper expects
                        pass
                    gn, cgn = _Norm(), _Norm()
                    gn.weight = mb.norm.weight
                    cgn.weight = torch.nn.Parameter(torch.empty(rank * H))
                    xt, ot, zt, _, _ = ns["ssd_xo_compression"](x_proj, mb.out_proj, z_proj, acts[(l, "y_normed")][0], rank,
                                                                 Di, H, G, gn, cgn, mb.conv1d, ridge_lambda=1)
                    xw = x_proj.weight.view(H, P, -1)
                    xtw = xt.weight.view(H, rank, -1)
                    ent["head"][str(rank)] = [sorted(kept_rows(xw[h], xtw[h])) for h in range(H)]
            res["layers"].append(ent)
            log("layer %d (%s): %s" % (l, ly.layer_type, ", ".join("%s %d ranks" % (k, len(v)) for k, v in ent.items()
                                                                  if isinstance(v, dict))))
    with open(out_path, "w") as f:
        json.dump(res, f)
    log("wrote", out_path)


if __name__ == "__main__":
    main()
