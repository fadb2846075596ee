"""uqmask.py - the masked models of UniQL's recovery step (paper step 4), in plain PyTorch.

Written for uniql.h's hand-over (uniql.h API 9b): a directory with the SORTED model in
Hugging Face layout (model.safetensors + config.json, from `tools/pack --export-hf`) and
its order file (order.json: RoPE pair rankings per KV head, one table of kept sizes per
stored rate). This module

  - reads and writes safetensors itself (numpy only; no `safetensors` package needed);
  - implements the three families uniql.h runs (Llama/Qwen2, Mamba2, Nemotron-H) as
    functional forward passes over the HF tensors, so that a masked forward can be checked
    against the C pruned model and against transformers (check-hf on the device);
  - builds the masks of one stored rate table:
      MLP             the first d_int intermediate channels (gate/up outputs);
      V/O             the first v_dim dims of every KV head (v outputs);
      Q/K with RoPE   for KV head g and its query heads, dims i and i + head_dim/2 for the
                      first qk_dim/2 pairs i of g's ranking (ORIGINAL rotate_half layout);
      Q/K, no RoPE    the first qk_dim dims of every head;
      Mamba2          the first head_dim channels of every head (x after conv1d + SiLU),
                      the first `state` dims of every group (B and C after conv1d + SiLU),
                      and the gated RMSNorm averaging over the kept channels of each norm
                      group only (what the pruned model computes);
    the attention scale stays 1/sqrt(head_dim) of the full model;
  - wraps every projection (q, k, v, o, gate, up, down, in_proj, out_proj) in a LoRA
    adapter (y = W x + b + (alpha / r) B A dropout(x), A Kaiming-uniform, B zero) that can
    be merged back into W, and switched off for a forward (UQModel.adapters_off(): the frozen
    base weights alone, i.e. the model before recovery, the teacher of recover.py
    --distill-full).

Works with torch 1.13 (CPU, the unit checks in tools/train/test_uqmask.py) and torch 2.x
(CUDA, bf16 autocast, scaled_dot_product_attention when present).
"""
import contextlib
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------
# safetensors (the layout of uniql.h API 5): u64 header length, JSON header, data


def st_read(path):
    """name -> float32 numpy array (F32, F16, BF16)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    hdr = json.loads(buf[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in hdr.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        raw = buf[base + b:base + e]
        if t["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif t["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif t["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name}: dtype {t['dtype']} not supported")
        out[name] = a.reshape(t["shape"]) if t["shape"] else a.reshape(())
    return out


def st_write(path, tensors):
    """name -> float32 array-like, written as F32 in name order (as uniql_safetensors_write)."""
    names = sorted(tensors)
    hdr = {"__metadata__": {"format": "pt"}}
    off = 0
    blobs = []
    for k in names:
        a = np.ascontiguousarray(np.asarray(tensors[k], dtype="<f4"))
        hdr[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
        blobs.append(a.tobytes())
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------
# config.json -> the fields the forward needs (the same defaults as uniql_config_parse)


class Cfg:
    pass


def _rope(c, d):
    rp = d.get("rope_scaling")
    if not isinstance(rp, dict) or not rp:
        rp = d.get("rope_parameters")
    rp = rp or {}
    c.rope_theta = float(rp.get("rope_theta") or d.get("rope_theta") or 10000.0)
    c.rope_type = rp.get("rope_type") or rp.get("type") or "default"
    c.rope_factor = float(rp.get("factor", 1.0))
    c.rope_low = float(rp.get("low_freq_factor", 0.0))
    c.rope_high = float(rp.get("high_freq_factor", 0.0))
    c.rope_orig = int(d.get("original_max_position_embeddings", rp.get("original_max_position_embeddings", c.max_pos)))
    if c.rope_type not in ("default", "linear", "llama3"):
        raise ValueError("RoPE type " + c.rope_type)


def load_config(path):
    with open(path) as f:
        d = json.load(f)
    c = Cfg()
    c.model_type = mt = d["model_type"]
    c.vocab = d.get("vocab_size")
    c.hidden = d["hidden_size"]
    c.tie = bool(d.get("tie_word_embeddings", False))
    if mt in ("llama", "qwen2"):
        c.n_layers = d["num_hidden_layers"]
        c.blocks = "D" * c.n_layers
        c.n_heads = d["num_attention_heads"]
        c.n_kv = d.get("num_key_value_heads", c.n_heads)
        c.head_dim = d.get("head_dim") or c.hidden // c.n_heads
        c.inter = d["intermediate_size"]
        c.eps = float(d.get("rms_norm_eps", 1e-6))
        c.max_pos = d.get("max_position_embeddings", 32768 if mt == "qwen2" else 2048)
        c.qkv_bias = True if mt == "qwen2" else bool(d.get("attention_bias", False))
        c.o_bias = False if mt == "qwen2" else c.qkv_bias
        c.mlp_bias = False if mt == "qwen2" else bool(d.get("mlp_bias", False))
        c.mlp_act = "swiglu"
        c.rope = True
        _rope(c, d)
        c.prefix = "model."
    elif mt in ("mamba2", "nemotron_h"):
        nemo = mt == "nemotron_h"
        c.prefix = "backbone."
        c.eps = float(d.get("layer_norm_epsilon", 1e-5))
        c.ssm_heads = d.get("mamba_num_heads" if nemo else "num_heads", 128)
        c.ssm_hd = d.get("mamba_head_dim" if nemo else "head_dim", 64)
        c.ssm_state = d.get("ssm_state_size" if nemo else "state_size", 128)
        c.ssm_groups = d.get("n_groups", d.get("mamba_n_groups", 8))
        c.conv_k = d.get("conv_kernel", d.get("mamba_d_conv", 4))
        c.conv_bias = bool(d.get("use_conv_bias", d.get("mamba_conv_bias", True)))
        c.proj_bias = bool(d.get("use_bias", False))
        if nemo:
            lt = d.get("layers_block_type") or d.get("layer_types")
            kinds = {"mamba": "M", "linear_attention": "M", "M": "M", "attention": "*", "full_attention": "*", "*": "*",
                     "mlp": "-", "-": "-"}
            c.blocks = "".join(kinds[x] for x in lt) if lt else d["hybrid_override_pattern"]
            c.n_layers = len(c.blocks)
            c.n_heads = d.get("num_attention_heads", 32)
            c.n_kv = d.get("num_key_value_heads", 8)
            c.head_dim = d.get("head_dim", 128)
            c.inter = d.get("intermediate_size", 21504)
            c.mlp_bias = bool(d.get("mlp_bias", False))
            c.mlp_act = "relu2"
            c.rope = False
            c.qkv_bias = c.o_bias = False
            c.dt_min = float(d.get("time_step_min", d.get("mamba_dt_min", 0.001)))
            c.dt_max = float("inf")
            c.norm_groups = c.ssm_groups
        else:
            c.n_layers = d["num_hidden_layers"]
            c.blocks = "M" * c.n_layers
            c.n_heads = c.n_kv = c.head_dim = c.inter = 0
            c.rope = False
            lim = d.get("time_step_limit", [0.0, float("inf")])
            hi = lim[1]
            if isinstance(hi, dict):
                hi = float(hi.get("__float__", "inf"))
            c.dt_min, c.dt_max = float(lim[0]), float(hi)
            c.norm_groups = 1
    else:
        raise ValueError("model_type " + mt)
    return c


# ---------------------------------------------------------------------------------------
# LoRA-wrapped projection


class Proj(nn.Module):
    """y = x W^T + b (+ (alpha/r) * dropout(x) A^T B^T once LoRA is attached). W, b frozen."""

    def __init__(self, w, b=None):
        super().__init__()
        self.weight = nn.Parameter(torch.as_tensor(w), requires_grad=False)
        self.bias = nn.Parameter(torch.as_tensor(b), requires_grad=False) if b is not None else None
        self.r = 0
        self.lora_on = True   # False: the adapter is skipped (UQModel.adapters_off)

    def add_lora(self, r, alpha, dropout, gen=None):
        out_f, in_f = self.weight.shape
        self.r, self.scale = r, alpha / r
        a = torch.empty(r, in_f, dtype=torch.float32)
        bound = 1.0 / math.sqrt(in_f)   # kaiming_uniform(a=sqrt(5)) of nn.Linear / peft's default
        with torch.no_grad():
            a.uniform_(-bound, bound, generator=gen)
        self.lora_A = nn.Parameter(a.to(self.weight.device))
        self.lora_B = nn.Parameter(torch.zeros(out_f, r, dtype=torch.float32, device=self.weight.device))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        y = F.linear(x, self.weight, self.bias)
        if self.r and self.lora_on:
            y = y + F.linear(F.linear(self.drop(x), self.lora_A), self.lora_B) * self.scale
        return y

    def merged_weight(self):
        w = self.weight.detach().float()
        if self.r:
            w = w + (self.lora_B.detach().float() @ self.lora_A.detach().float()) * self.scale
        return w


# ---------------------------------------------------------------------------------------
# masks of one rate table


def kept_masks(c, order, rate_index, device="cpu", dtype=torch.float32):
    """Per-layer mask tensors for stored rate table `rate_index` (None: the full model)."""
    L = c.n_layers
    out = []
    for l in range(L):
        blk = c.blocks[l]
        m = {}
        if rate_index is None:
            out.append(None)
            continue
        qk, vd, di, hdk, st = order["kept"][rate_index][l]
        if blk in "D*":
            hd, KV, H = c.head_dim, c.n_kv, c.n_heads
            kmask = torch.zeros(KV, hd, dtype=dtype)
            if c.rope:
                half = hd // 2
                rank = order["rope_pairs"][l]
                for g in range(KV):
                    for i in rank[g][:qk // 2]:
                        kmask[g, i] = 1
                        kmask[g, i + half] = 1
            else:
                kmask[:, :qk] = 1
            m["k"] = kmask.to(device)
            m["q"] = kmask.repeat_interleave(H // KV, dim=0).to(device)
            vmask = torch.zeros(KV, hd, dtype=dtype)
            vmask[:, :vd] = 1
            m["v"] = vmask.to(device)
        if blk in "D-":
            mm = torch.zeros(c.inter, dtype=dtype)
            mm[:di] = 1
            m["mlp"] = mm.to(device)
        if blk == "M":
            xm = torch.zeros(c.ssm_heads, c.ssm_hd, dtype=dtype)
            xm[:, :hdk] = 1
            sm = torch.zeros(c.ssm_groups, c.ssm_state, dtype=dtype)
            sm[:, :st] = 1
            m["x"] = xm.reshape(-1).to(device)
            m["state"] = sm.reshape(-1).to(device)
            m["norm_count"] = (c.ssm_heads // c.norm_groups) * hdk
        out.append(m)
    return out


# ---------------------------------------------------------------------------------------
# the model


def rope_inv_freq(c):
    """HF's inv_freq in fp32 (default, linear, llama3), as uniql_rope_inv_freq."""
    hd = c.head_dim
    inv = 1.0 / (c.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    if c.rope_type == "linear":
        inv = inv / c.rope_factor
    elif c.rope_type == "llama3":
        lo_wl = c.rope_orig / c.rope_low
        hi_wl = c.rope_orig / c.rope_high
        wl = 2 * math.pi / inv
        il = torch.where(wl > lo_wl, inv / c.rope_factor, inv)
        sm = (c.rope_orig / wl - c.rope_low) / (c.rope_high - c.rope_low)
        smoothed = (1 - sm) * il / c.rope_factor + sm * il
        medium = ~(wl < hi_wl) & ~(wl > lo_wl)
        inv = torch.where(medium, smoothed, il)
    return inv


def hi(t):
    """t in at least fp32 (bf16/fp16 activations of autocast go up; a float64 reference stays)"""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class UQModel(nn.Module):
    def __init__(self, c, W, device="cpu", dtype=torch.float32):
        super().__init__()
        self.c = c
        p = c.prefix

        def T(name):
            return torch.tensor(W[name], dtype=dtype, device=device)

        def TB(name, present):
            return T(name) if present else None

        emb = "model.embed_tokens.weight" if p == "model." else "backbone.embeddings.weight"
        self.embed = nn.Parameter(T(emb), requires_grad=False)
        self.final_norm = nn.Parameter(T(p + ("norm.weight" if p == "model." else "norm_f.weight")), requires_grad=False)
        self.lm_head = nn.Parameter(T("lm_head.weight"), requires_grad=False) if "lm_head.weight" in W else None
        self.layers = nn.ModuleList()
        for l in range(c.n_layers):
            blk = c.blocks[l]
            b = f"{p}layers.{l}."
            ly = nn.Module()
            ly.kind = blk
            if blk == "D":
                ly.norm = nn.Parameter(T(b + "input_layernorm.weight"), requires_grad=False)
                ly.mlp_norm = nn.Parameter(T(b + "post_attention_layernorm.weight"), requires_grad=False)
                a = b + "self_attn."
                m = b + "mlp."
            else:
                ly.norm = nn.Parameter(T(b + "norm.weight"), requires_grad=False)
                a = m = b + "mixer."
            if blk in "D*":
                ly.q = Proj(T(a + "q_proj.weight"), TB(a + "q_proj.bias", c.qkv_bias))
                ly.k = Proj(T(a + "k_proj.weight"), TB(a + "k_proj.bias", c.qkv_bias))
                ly.v = Proj(T(a + "v_proj.weight"), TB(a + "v_proj.bias", c.qkv_bias))
                ly.o = Proj(T(a + "o_proj.weight"), TB(a + "o_proj.bias", c.o_bias))
            if blk in "D-":
                if c.mlp_act == "swiglu":
                    ly.gate = Proj(T(m + "gate_proj.weight"), TB(m + "gate_proj.bias", c.mlp_bias))
                ly.up = Proj(T(m + "up_proj.weight"), TB(m + "up_proj.bias", c.mlp_bias))
                ly.down = Proj(T(m + "down_proj.weight"), TB(m + "down_proj.bias", c.mlp_bias))
            if blk == "M":
                ly.in_proj = Proj(T(m + "in_proj.weight"), TB(m + "in_proj.bias", c.proj_bias))
                ly.out_proj = Proj(T(m + "out_proj.weight"), TB(m + "out_proj.bias", c.proj_bias))
                ly.conv_w = nn.Parameter(T(m + "conv1d.weight").reshape(-1, 1, c.conv_k), requires_grad=False)
                ly.conv_b = nn.Parameter(T(m + "conv1d.bias"), requires_grad=False) if c.conv_bias else None
                ly.A_log = nn.Parameter(T(m + "A_log"), requires_grad=False)
                ly.D = nn.Parameter(T(m + "D"), requires_grad=False)
                ly.dt_bias = nn.Parameter(T(m + "dt_bias"), requires_grad=False)
                ly.gnorm = nn.Parameter(T(m + "norm.weight"), requires_grad=False)
            self.layers.append(ly)
        if c.rope:
            self.register_buffer("inv_freq", rope_inv_freq(c).to(device), persistent=False)
        self.chunk = 64
        self.use_sdpa = hasattr(F, "scaled_dot_product_attention")

    # -- pieces --
    def rms(self, x, w):
        xf = hi(x)
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.c.eps)
        return w * xf

    def projections(self):
        for ly in self.layers:
            for n in ("q", "k", "v", "o", "gate", "up", "down", "in_proj", "out_proj"):
                if hasattr(ly, n):
                    yield ly, n, getattr(ly, n)

    def attention(self, ly, x, m, cos, sin):
        c = self.c
        B, T, _ = x.shape
        H, KV, hd = c.n_heads, c.n_kv, c.head_dim
        q = ly.q(x).view(B, T, H, hd)
        k = ly.k(x).view(B, T, KV, hd)
        v = ly.v(x).view(B, T, KV, hd)
        if m is not None:
            q = q * m["q"].to(q.dtype)
            k = k * m["k"].to(k.dtype)
            v = v * m["v"].to(v.dtype)
        if c.rope:
            q = q * cos[:, :, None, :] + rotate_half(q) * sin[:, :, None, :]
            k = k * cos[:, :, None, :] + rotate_half(k) * sin[:, :, None, :]
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if H != KV:
            k = k.repeat_interleave(H // KV, dim=1)
            v = v.repeat_interleave(H // KV, dim=1)
        scale = 1.0 / math.sqrt(hd)   # the full model's scale, also when q/k are masked
        if self.use_sdpa and q.is_cuda:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)
        else:
            s = (q @ k.transpose(-1, -2)) * scale
            causal = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            s = s.masked_fill(causal, float("-inf"))
            o = torch.softmax(hi(s), dim=-1).to(v.dtype) @ v
        o = o.transpose(1, 2).reshape(B, T, H * hd)
        return ly.o(o)

    def mlp(self, ly, x, m):
        if self.c.mlp_act == "swiglu":
            h = F.silu(ly.gate(x)) * ly.up(x)
        else:
            h = torch.relu(ly.up(x)).pow(2)
        if m is not None:
            h = h * m["mlp"].to(h.dtype)
        return ly.down(h)

    def ssd_scan(self, x, dt, A, Bm, Cm):
        """y_t = C_t . h_t, h_t = exp(dt_t A) h_(t-1) + dt_t B_t x_t (per head), chunked.
        x: b,T,H,P  dt: b,T,H  A: H  Bm, Cm: b,T,H,N (already expanded to heads). fp32."""
        b, T, H, P = x.shape
        N = Bm.shape[-1]
        Q = self.chunk
        pad = (-T) % Q
        if pad:
            x = F.pad(x, (0, 0, 0, 0, 0, pad))
            dt = F.pad(dt, (0, 0, 0, pad))
            Bm = F.pad(Bm, (0, 0, 0, 0, 0, pad))
            Cm = F.pad(Cm, (0, 0, 0, 0, 0, pad))
        nc = (T + pad) // Q
        x = x.reshape(b, nc, Q, H, P)
        dt = dt.reshape(b, nc, Q, H)
        Bm = Bm.reshape(b, nc, Q, H, N)
        Cm = Cm.reshape(b, nc, Q, H, N)
        cs = torch.cumsum(dt * A, dim=2)                            # b,nc,Q,H (decreasing)
        seg = cs.permute(0, 1, 3, 2)                                # b,nc,H,Q
        diff = seg[..., :, None] - seg[..., None, :]                # [i, j] = cs_i - cs_j
        tri = torch.ones(Q, Q, dtype=torch.bool, device=x.device).tril()
        Lm = torch.exp(diff.masked_fill(~tri, float("-inf")))       # b,nc,H,Q,Q
        cb = torch.einsum("bcihn,bcjhn->bchij", Cm, Bm) * Lm
        xdt = x * dt[..., None]
        y = torch.einsum("bchij,bcjhp->bcihp", cb, xdt)
        decay_end = torch.exp(cs[:, :, -1:, :] - cs)                # b,nc,Q,H
        states = torch.einsum("bcjhn,bcjhp->bchpn", Bm * decay_end[..., None], xdt)
        chunk_decay = torch.exp(cs[:, :, -1, :])                    # b,nc,H
        S = torch.zeros(b, H, P, N, dtype=x.dtype, device=x.device)
        ys = []
        for ci in range(nc):
            ys.append(torch.einsum("bihn,bhpn->bihp", Cm[:, ci] * torch.exp(cs[:, ci])[..., None], S))
            S = S * chunk_decay[:, ci, :, None, None] + states[:, ci]
        y = y + torch.stack(ys, dim=1)
        return y.reshape(b, nc * Q, H, P)[:, :T]

    def mamba(self, ly, x, m):
        c = self.c
        B, T, _ = x.shape
        H, P, G, N, K = c.ssm_heads, c.ssm_hd, c.ssm_groups, c.ssm_state, c.conv_k
        Di, GN = H * P, G * N
        pr = ly.in_proj(x)
        z, xbc, dt = pr[..., :Di], pr[..., Di:2 * Di + 2 * GN], pr[..., 2 * Di + 2 * GN:]
        xbc = F.conv1d(xbc.transpose(1, 2), ly.conv_w.to(xbc.dtype), ly.conv_b.to(xbc.dtype) if ly.conv_b is not None else None,
                       padding=K - 1, groups=Di + 2 * GN)[..., :T].transpose(1, 2)
        xbc = F.silu(xbc)
        xs, Bm, Cm = xbc[..., :Di], xbc[..., Di:Di + GN], xbc[..., Di + GN:]
        if m is not None:
            xs = xs * m["x"].to(xs.dtype)
            Bm = Bm * m["state"].to(Bm.dtype)
            Cm = Cm * m["state"].to(Cm.dtype)
        dtf = F.softplus(hi(dt) + hi(ly.dt_bias))
        dtf = dtf.clamp(min=c.dt_min, max=c.dt_max) if math.isfinite(c.dt_max) else dtf.clamp(min=c.dt_min)
        A = -torch.exp(hi(ly.A_log))
        rep = H // G
        Bh = hi(Bm).reshape(B, T, G, N).repeat_interleave(rep, dim=2)
        Ch = hi(Cm).reshape(B, T, G, N).repeat_interleave(rep, dim=2)
        xh = hi(xs).reshape(B, T, H, P)
        with torch.autocast(device_type="cuda", enabled=False) if x.is_cuda else _Null():
            y = self.ssd_scan(xh, dtf, A, Bh, Ch)
            y = y + xh * hi(ly.D)[None, None, :, None]
            y = y.reshape(B, T, Di) * F.silu(hi(z))
            ng = c.norm_groups
            yg = y.reshape(B, T, ng, Di // ng)
            cnt = Di // ng if m is None else m["norm_count"]
            var = yg.pow(2).sum(-1, keepdim=True) / cnt
            y = (yg * torch.rsqrt(var + c.eps)).reshape(B, T, Di) * hi(ly.gnorm)
        return ly.out_proj(y if x.dtype == torch.float64 else y.to(torch.float32))

    def forward(self, tokens, masks=None):
        c = self.c
        x = F.embedding(tokens, self.embed)
        cos = sin = None
        if c.rope:
            T = tokens.shape[1]
            pos = torch.arange(T, device=tokens.device, dtype=torch.float32)
            fr = pos[:, None] * self.inv_freq[None, :].float()
            emb = torch.cat((fr, fr), dim=-1)
            cos, sin = emb.cos()[None].to(hi(x).dtype), emb.sin()[None].to(hi(x).dtype)
        for l, ly in enumerate(self.layers):
            m = masks[l] if masks is not None else None
            if ly.kind == "D":
                x = x + self.attention(ly, self.rms(x, ly.norm), m, cos, sin)
                x = x + self.mlp(ly, self.rms(x, ly.mlp_norm), m)
            elif ly.kind == "*":
                x = x + self.attention(ly, self.rms(x, ly.norm), m, cos, sin)
            elif ly.kind == "-":
                x = x + self.mlp(ly, self.rms(x, ly.norm), m)
            else:
                x = x + self.mamba(ly, self.rms(x, ly.norm), m)
        x = self.rms(x, self.final_norm)
        return F.linear(x, self.lm_head if self.lm_head is not None else self.embed)

    # -- LoRA --
    def add_lora(self, r=8, alpha=16, dropout=0.05, seed=0):
        g = torch.Generator().manual_seed(seed)
        for _, _, p in self.projections():
            p.add_lora(r, alpha, dropout, g)

    @contextlib.contextmanager
    def adapters_off(self):
        """Inside this block every forward skips the LoRA adapters (and their dropout): the
        output is the base model's, the same operations as before add_lora, bit for bit.
        The previous state of each adapter is restored on exit. No trainable parameter takes
        part in such a forward (the base weights are frozen): run it under torch.no_grad()."""
        ps = [p for _, _, p in self.projections()]
        prev = [p.lora_on for p in ps]
        for p in ps:
            p.lora_on = False
        try:
            yield self
        finally:
            for p, on in zip(ps, prev):
                p.lora_on = on

    def lora_parameters(self):
        for _, _, p in self.projections():
            if p.r:
                yield p.lora_A
                yield p.lora_B

    def lora_state(self):
        """HF projection name + '.lora_A' / '.lora_B' -> float32 arrays"""
        out = {}
        for name, p in self.named_projections():
            if p.r:
                out[name + ".lora_A"] = p.lora_A.detach().float().cpu().numpy()
                out[name + ".lora_B"] = p.lora_B.detach().float().cpu().numpy()
        return out

    def load_lora_state(self, S):
        for name, p in self.named_projections():
            with torch.no_grad():
                p.lora_A.copy_(torch.as_tensor(S[name + ".lora_A"]))
                p.lora_B.copy_(torch.as_tensor(S[name + ".lora_B"]))

    def named_projections(self):
        """(HF weight name without '.weight', Proj) of every projection"""
        c = self.c
        for l, ly in enumerate(self.layers):
            b = f"{c.prefix}layers.{l}."
            a = b + ("self_attn." if ly.kind == "D" else "mixer.")
            m = b + ("mlp." if ly.kind == "D" else "mixer.")
            for n in ("q", "k", "v", "o"):
                if hasattr(ly, n):
                    yield a + n + "_proj", getattr(ly, n)
            for n in ("gate", "up", "down"):
                if hasattr(ly, n):
                    yield m + n + "_proj", getattr(ly, n)
            for n in ("in_proj", "out_proj"):
                if hasattr(ly, n):
                    yield m + n, getattr(ly, n)

    def merged_state(self, W):
        """The HF tensors W with every LoRA delta merged into its projection weight."""
        out = {k: np.array(v, dtype=np.float32) for k, v in W.items()}
        for name, p in self.named_projections():
            out[name + ".weight"] = p.merged_weight().cpu().numpy()
        return out


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def load_export(d, device="cpu", dtype=torch.float32):
    """(config, HF tensors, order, model) of an export directory."""
    c = load_config(os.path.join(d, "config.json"))
    W = st_read(os.path.join(d, "model.safetensors"))
    with open(os.path.join(d, "order.json")) as f:
        order = json.load(f)
    check_order(c, order)
    return c, W, order, UQModel(c, W, device=device, dtype=dtype)


def check_order(c, order):
    """The order file belongs to this config (uniql.h checks it strictly; this is a sanity check)."""
    mo = order["model"]
    if order.get("format") != "uniql-order" or order.get("version") != 1:
        raise ValueError("not a uniql order file v1")
    if mo["model_type"] != c.model_type or mo["n_layers"] != c.n_layers or mo["blocks"] != c.blocks:
        raise ValueError("order file of another model")
    if any(len(t) != c.n_layers for t in order["kept"]):
        raise ValueError("kept tables do not have one row per layer")
