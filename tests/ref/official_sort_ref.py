#!/usr/bin/env python3
"""official_sort_ref.py - the kept index sets the OFFICIAL UniQL sorting helpers choose on our
trained models, for tests/test_gptq.c ("official sorting oracle") to compare with
uniql_sort_model under UNIQL_PRESET_OFFICIAL.

    /usr/bin/python3 tests/ref/official_sort_ref.py OFFICIAL_DIR MODEL_DIR OUT.json [N_SEQ]

OFFICIAL_DIR  a checkout of github.com/enyac-group/UniQL (commit 4634bde), e.g. the mirror
              exported with `git archive HEAD | tar -x -C /tmp/uniql_off`. Its module
              compress/compress_helpers.py is IMPORTED from there at run time (never copied
              into this repository) and its plain-PyTorch helpers are called as its model
              helpers call them (modeling/{llama,nemotron_h}/*_helper.py):
                mlp_compression(up, down, gate, down_x, width, ridge_lambda=1)
                attn_qk_compression_gqa(q, k, qkv_x, width, H, KV, position_embeddings,
                                        rotary_fn, rotate_half)   (Llama: rotate_half False,
                                        RoPE (cos, sin); Nemotron-H: rotate_half True, no RoPE)
                ssd_BC_compression(B, C, dt, hidden_states, width, ...)  (Nemotron-H Mamba)
              What that module imports and this machine lacks is replaced, before the import,
              by stand-ins written here: einops.rearrange (the few patterns it uses), the
              Triton entry points of mamba_ssm (never called: the state-aware inner-channel
              sorting ssd_state_aware_xo_compression needs them, so Mamba inner channels are
              LEFT OUT), and modeling.bamba.bamba_blocks.causal_conv1d_fn (a depthwise causal
              conv1d + SiLU in plain torch, the function mamba's conv kernel computes).
MODEL_DIR     models/llama-bpe-21m or models/nemotronh-bpe-17m (config.json + model.safetensors,
              read here without the safetensors package).
N_SEQ         calibration sequences (default 4) of 512 tokens: the first N_SEQ * 512 tokens of
              tests/data/bpe/calib.u16 (little-endian uint16), one independent sequence each,
              positions 0..511 - the stream and sequence length the C test calibrates on.

Activations: a float32 forward of the model written here (the transformers 5.17 formulas:
RMSNorm, rotate_half RoPE, GQA causal attention, SiLU-gated / relu^2 MLP, the Mamba2 mixer with
a sequential scan), from the bf16 checkpoint. As in compress/compress_model.py, every layer's
inputs come from the UNCOMPRESSED model (it computes a layer's outputs before compressing it).
The helpers' activation tensors are [n_seq, 512, d] float32, as compress_model.py stacks them.

Kept sets are recovered from what the helpers return: the rows of the truncated up_proj /
k_proj / B_proj are exact copies (x 1.0 selection matmuls in float32) of original rows, so each
is matched to its original row index. Widths: the official rounding for the prune rates
0.15, 0.25, 0.35, 0.5, 0.75 (MLP 128 * round(keep * d / 128), head dims and state
16 * round(keep * d / 16)), de-duplicated.

OUT.json: {"model", "n_seq", "seq_len", "layers": [{"layer", "mlp": {width: [kept channels]},
"qk": {width: [[kept head dims of KV group g] ...]}, "state": {width: [[kept state dims of
group g] ...]}}]}; index lists ascending. Attention V/O is an SVD truncation on both sides
(the first r components), so it has no index set to compare and is not written.
"""
import json
import math
import os
import struct
import sys
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

SEQ = 512
PRUNE = [0.15, 0.25, 0.35, 0.5, 0.75]


# ---- stand-ins for what compress_helpers.py imports and this machine lacks ----

def _parse(side):
    out, i, toks = [], 0, side.split()
    while i < len(toks):
        t = toks[i]
        if t.startswith("("):
            grp = [t[1:]]
            while not toks[i].endswith(")"):
                i += 1
                grp.append(toks[i])
            grp[-1] = grp[-1][:-1]
            out.append([g for g in grp if g])
        else:
            out.append([t])
        i += 1
    return out


def rearrange(t, pattern, **sizes):
    """einops.rearrange for plain / parenthesised axis names (no ellipsis, no 1)."""
    lhs, rhs = [s.strip() for s in pattern.split("->")]
    L, R = _parse(lhs), _parse(rhs)
    known = dict(sizes)
    for grp, n in zip(L, t.shape):
        unknown = [a for a in grp if a not in known]
        prod = 1
        for a in grp:
            if a in known:
                prod *= known[a]
        if len(unknown) == 1:
            known[unknown[0]] = n // prod
        elif len(unknown) > 1:
            raise ValueError("rearrange: cannot infer " + str(unknown))
    flat = [a for grp in L for a in grp]
    t = t.reshape([known[a] for a in flat])
    order = [a for grp in R for a in grp]
    t = t.permute([flat.index(a) for a in order])
    return t.reshape([int(math.prod(known[a] for a in grp)) for grp in R])


def causal_conv1d_fn(x, weight, bias=None, activation=None):
    """x [b, c, l], weight [c, k]: depthwise causal convolution (+ SiLU)."""
    k = weight.shape[1]
    y = F.conv1d(F.pad(x, (k - 1, 0)), weight.unsqueeze(1), bias, groups=weight.shape[0])
    return F.silu(y) if activation in ("silu", "swish") else y


def _not_here(*a, **k):
    raise NotImplementedError("mamba_ssm Triton kernels are not available here")


def install_stubs():
    ein = types.ModuleType("einops")
    ein.rearrange = rearrange
    sys.modules.setdefault("einops", ein)
    for name in ["mamba_ssm", "mamba_ssm.ops", "mamba_ssm.ops.triton", "mamba_ssm.ops.triton.ssd_chunk_state"]:
        sys.modules[name] = types.ModuleType(name)
    sys.modules["mamba_ssm.ops.triton.ssd_chunk_state"]._chunk_cumsum_fwd = _not_here
    sys.modules["mamba_ssm.ops.triton.ssd_chunk_state"]._chunk_state_fwd = _not_here
    bb = types.ModuleType("modeling.bamba.bamba_blocks")
    bb.causal_conv1d_fn = causal_conv1d_fn
    bb.BambaRMSNormGated = None
    sys.modules["modeling.bamba.bamba_blocks"] = bb


# ---- checkpoint ----

def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    out = {}
    dt = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=dt[v["dtype"]])
        out[k] = t.reshape(v["shape"]).to(torch.float32)
    return out


def linear(w):
    m = nn.Linear(w.shape[1], w.shape[0], bias=False)
    m.weight.data = w.clone()
    return m


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rope(q, k, cos, sin):
    """the rotary function the official Llama helper passes (transformers' formula);
    q, k [b, 1, l, d], cos / sin [l, d]."""
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


def attention(x, Wq, Wk, Wv, Wo, H, KV, hd, rope):
    b, l, _ = x.shape
    q = (x @ Wq.t()).view(b, l, H, hd).transpose(1, 2)
    k = (x @ Wk.t()).view(b, l, KV, hd).transpose(1, 2)
    v = (x @ Wv.t()).view(b, l, KV, hd).transpose(1, 2)
    if rope is not None:
        cos, sin = rope
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
    k = k.repeat_interleave(H // KV, dim=1)
    v = v.repeat_interleave(H // KV, dim=1)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
    mask = torch.triu(torch.ones(l, l, dtype=torch.bool), 1)
    s = s.masked_fill(mask, float("-inf"))
    o = torch.softmax(s, dim=-1) @ v
    return o.transpose(1, 2).reshape(b, l, H * hd) @ Wo.t()


def widths(d, unit):
    out = []
    for p in PRUNE:
        w = unit * int(round((1 - p) * d / unit))
        if 0 < w < d and w not in out:
            out.append(w)
    return out


def match_rows(trunc, orig):
    """index in orig of each row of trunc (exact copies)"""
    idx = []
    for r in trunc:
        hit = (orig == r).all(dim=1).nonzero().flatten()
        if len(hit) != 1:
            raise RuntimeError("row not matched uniquely")
        idx.append(int(hit[0]))
    return idx


# ---- the official helpers on one layer ----

def mlp_sets(ch, up, down, gate, down_x):
    d = up.shape[0]
    res = {}
    for w in widths(d, 128):
        u, _, _ = ch.mlp_compression(linear(up), linear(down), linear(gate) if gate is not None else None, down_x, w,
                                     ridge_lambda=1)
        res[str(w)] = sorted(match_rows(u.weight.data, up))
    return res


def qk_sets(ch, Wq, Wk, qkv_x, H, KV, hd, rope, rotate_half_flag):
    res = {}
    for w in widths(hd, 16):
        _, kt, _ = ch.attn_qk_compression_gqa(linear(Wq), linear(Wk), qkv_x, w, H, KV,
                                              position_embeddings=rope, rotary_fn=apply_rope if rope else None,
                                              rotate_half=rotate_half_flag)
        groups = []
        for g in range(KV):
            rows = kt.weight.data[g * w:(g + 1) * w]
            groups.append(sorted(match_rows(rows, Wk[g * hd:(g + 1) * hd])))
        res[str(w)] = groups
    return res


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    off, mdir, outp = sys.argv[1], sys.argv[2], sys.argv[3]
    nseq = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    torch.set_grad_enabled(False)
    torch.manual_seed(0)
    install_stubs()
    sys.path.insert(0, off)
    import compress.compress_helpers as ch  # the official module, read from OFFICIAL_DIR
    cfg = json.load(open(os.path.join(mdir, "config.json")))
    W = load_safetensors(os.path.join(mdir, "model.safetensors"))
    here = os.path.dirname(os.path.abspath(__file__))
    raw = open(os.path.join(here, "..", "data", "bpe", "calib.u16"), "rb").read()
    toks = torch.tensor(struct.unpack("<%dH" % (len(raw) // 2), raw)[:nseq * SEQ], dtype=torch.long).view(nseq, SEQ)
    mt = cfg["model_type"]
    out = {"model": os.path.basename(os.path.normpath(mdir)), "n_seq": nseq, "seq_len": SEQ,
           "official": "github.com/enyac-group/UniQL 4634bde compress/compress_helpers.py", "layers": []}
    H, KV, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
    hd = cfg.get("head_dim") or D // H
    if mt == "llama":
        eps = cfg["rms_norm_eps"]
        theta = cfg.get("rope_parameters", {}).get("rope_theta", cfg.get("rope_theta", 10000.0))
        inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        fr = torch.outer(torch.arange(SEQ, dtype=torch.float32), inv)
        emb = torch.cat((fr, fr), dim=-1)
        rope = (emb.cos(), emb.sin())
        x = W["model.embed_tokens.weight"][toks]
        for l in range(cfg["num_hidden_layers"]):
            p = "model.layers.%d." % l
            xn = rmsnorm(x, W[p + "input_layernorm.weight"], eps)
            Wq, Wk = W[p + "self_attn.q_proj.weight"], W[p + "self_attn.k_proj.weight"]
            rec = {"layer": l, "qk": qk_sets(ch, Wq, Wk, xn, H, KV, hd, rope, False)}
            x = x + attention(xn, Wq, Wk, W[p + "self_attn.v_proj.weight"], W[p + "self_attn.o_proj.weight"], H, KV, hd, rope)
            xn = rmsnorm(x, W[p + "post_attention_layernorm.weight"], eps)
            g, u, dn = W[p + "mlp.gate_proj.weight"], W[p + "mlp.up_proj.weight"], W[p + "mlp.down_proj.weight"]
            down_x = F.silu(xn @ g.t()) * (xn @ u.t())
            rec["mlp"] = mlp_sets(ch, u, dn, g, down_x)
            x = x + down_x @ dn.t()
            out["layers"].append(rec)
            print("layer %d: mlp widths %s, qk widths %s" % (l, list(rec["mlp"]), list(rec["qk"])), flush=True)
    elif mt == "nemotron_h":
        eps = cfg["layer_norm_epsilon"]
        I, NH, P = cfg["mamba_num_heads"] * cfg["mamba_head_dim"], cfg["mamba_num_heads"], cfg["mamba_head_dim"]
        G, N, K = cfg["n_groups"], cfg["ssm_state_size"], cfg["conv_kernel"]
        x = W["backbone.embeddings.weight"][toks]
        for l, kind in enumerate(cfg["layers_block_type"]):
            p = "backbone.layers.%d." % l
            xn = rmsnorm(x, W[p + "norm.weight"], eps)
            rec = {"layer": l}
            if kind == "mlp":
                u, dn = W[p + "mixer.up_proj.weight"], W[p + "mixer.down_proj.weight"]
                down_x = torch.relu(xn @ u.t()) ** 2
                rec["mlp"] = mlp_sets(ch, u, dn, None, down_x)
                y = down_x @ dn.t()
            elif kind in ("attention", "full_attention"):
                Wq, Wk = W[p + "mixer.q_proj.weight"], W[p + "mixer.k_proj.weight"]
                rec["qk"] = qk_sets(ch, Wq, Wk, xn, H, KV, hd, None, True)
                y = attention(xn, Wq, Wk, W[p + "mixer.v_proj.weight"], W[p + "mixer.o_proj.weight"], H, KV, hd, None)
            else:  # Mamba2 mixer (transformers' torch path; sequential scan)
                Win = W[p + "mixer.in_proj.weight"]
                z, xs, Bw, Cw, dtw = torch.split(Win, [I, I, G * N, G * N, NH], dim=0)
                cw = W[p + "mixer.conv1d.weight"].squeeze(1)
                cb = W[p + "mixer.conv1d.bias"]
                conv = nn.Conv1d(I + 2 * G * N, I + 2 * G * N, K, groups=I + 2 * G * N, padding=K - 1)
                conv.weight.data, conv.bias.data = cw.unsqueeze(1).clone(), cb.clone()
                rec["state"] = {}
                for w in widths(N, 16):
                    bt, _, _ = ch.ssd_BC_compression(linear(Bw), linear(Cw), linear(dtw), xn, w, I, NH, G, N, conv)
                    rec["state"][str(w)] = [sorted(match_rows(bt.weight.data[g * w:(g + 1) * w], Bw[g * N:(g + 1) * N]))
                                            for g in range(G)]
                zz = xn @ z.t()
                xbc = torch.cat([xn @ xs.t(), xn @ Bw.t(), xn @ Cw.t()], dim=-1)
                xbc = causal_conv1d_fn(xbc.transpose(1, 2), cw, cb, "silu").transpose(1, 2)
                xh, Bm, Cm = torch.split(xbc, [I, G * N, G * N], dim=-1)
                dt = F.softplus(xn @ dtw.t() + W[p + "mixer.dt_bias"])
                # transformers 5.17's NemotronHMamba2Mixer clamps dt to (time_step_min, inf): the
                # config's time_step_limit is not used there
                dt = dt.clamp(min=float(cfg.get("time_step_min", 0.001)))
                A = -torch.exp(W[p + "mixer.A_log"])
                b, L = xh.shape[0], xh.shape[1]
                xh = xh.view(b, L, NH, P)
                Bm = Bm.view(b, L, G, N).repeat_interleave(NH // G, dim=2)
                Cm = Cm.view(b, L, G, N).repeat_interleave(NH // G, dim=2)
                hs = torch.zeros(b, NH, P, N)
                ys = []
                for t in range(L):
                    dA = torch.exp(dt[:, t] * A)  # [b, NH]
                    hs = hs * dA[:, :, None, None] + (dt[:, t, :, None, None] * xh[:, t, :, :, None] * Bm[:, t, :, None, :])
                    ys.append((hs * Cm[:, t, :, None, :]).sum(-1) + W[p + "mixer.D"][None, :, None] * xh[:, t])
                yv = torch.stack(ys, dim=1).reshape(b, L, I)
                yv = yv * F.silu(zz)
                yg = yv.view(b, L, G, I // G)
                yg = yg * torch.rsqrt(yg.pow(2).mean(-1, keepdim=True) + eps)
                yv = yg.reshape(b, L, I) * W[p + "mixer.norm.weight"]
                y = yv @ W[p + "mixer.out_proj.weight"].t()
            x = x + y
            out["layers"].append(rec)
            print("layer %d (%s): %s" % (l, kind, {k: list(v) for k, v in rec.items() if k != "layer"}), flush=True)
    else:
        raise SystemExit("model_type %s: not covered here" % mt)
    with open(outp, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", outp)


if __name__ == "__main__":
    main()
