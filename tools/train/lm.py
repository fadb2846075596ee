"""lm.py - compact PyTorch Llama and Nemotron-H for training the BPE model suite.

The modules' parameter names are the Hugging Face ones (LlamaForCausalLM,
NemotronHForCausalLM in transformers 5.x), so `state_dict()` loads into transformers'
classes unchanged (Llama's tied lm_head is not a separate parameter). The math follows
transformers' eager / PyTorch paths: RMSNorm in float32, rotate_half RoPE (Llama), no RoPE
(Nemotron-H attention), SwiGLU (Llama) and relu^2 (Nemotron-H) MLPs, and the Mamba2 mixer
of Nemotron-H: in_proj -> [z, xBC, dt], causal depthwise conv1d + SiLU on xBC, dt =
softplus(dt + dt_bias) clamped below at time_step_min, A = -exp(A_log), the SSM scan,
+ D x, gated RMSNorm over groups of d_inner / n_groups of y * silu(z), out_proj.

The SSM scan is the chunked "state space duality" form (Dao & Gu 2024): within a chunk of
Q steps a masked (Q x Q) decay matrix times C B^T, across chunks a recurrence over the
chunk states, all as batched matrix products (no Python loop over time); `ssd_reference`
is the plain step-by-step recurrence the tests compare it with. Works with torch 1.13
(CPU, tests here) and 2.x (CUDA, torch.compile, scaled_dot_product_attention).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# The two architectures of the suite (sizes: multiples of 128 where int4 groups of 128
# run along them; head_dim 64).
LLAMA_21M = dict(arch="llama", vocab_size=8192, hidden_size=512, intermediate_size=1408, num_hidden_layers=6,
                 num_attention_heads=8, num_key_value_heads=2, head_dim=64, rms_norm_eps=1e-5,
                 rope_theta=10000.0, max_position_embeddings=2048, tie_word_embeddings=True)
# M = Mamba2 mixer, * = attention, - = relu2 MLP; Nemotron-H's own pattern alternates
# M and - with an attention block about every 7 blocks.
NEMOTRONH_17M = dict(arch="nemotron_h", vocab_size=8192, hidden_size=384, pattern="M-M*-M-M-M*-M-",
                     num_attention_heads=6, num_key_value_heads=2, head_dim=64, intermediate_size=1024,
                     mamba_num_heads=12, mamba_head_dim=64, ssm_state_size=64, n_groups=1, conv_kernel=4,
                     layer_norm_epsilon=1e-5, time_step_min=0.001, time_step_max=0.1, time_step_floor=1e-4,
                     chunk_size=128, max_position_embeddings=2048, tie_word_embeddings=False)

HAVE_SDPA = hasattr(F, "scaled_dot_product_attention")


def rms_norm(x, weight, eps):
    dt = x.dtype
    xf = x.float()
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return weight * xf.to(dt)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


def attention(q, k, v):
    """q (b, h, t, d), k/v (b, kv, t, d): causal softmax attention, GQA by head groups."""
    h, kv = q.shape[1], k.shape[1]
    if h != kv:
        k = k.repeat_interleave(h // kv, dim=1)
        v = v.repeat_interleave(h // kv, dim=1)
    if HAVE_SDPA:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    t = q.shape[2]
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    mask = torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
    s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s.float(), -1).to(v.dtype) @ v


class Attention(nn.Module):
    def __init__(self, d, heads, kv_heads, head_dim, rope_theta=None):
        super().__init__()
        self.h, self.kv, self.hd = heads, kv_heads, head_dim
        self.q_proj = nn.Linear(d, heads * head_dim, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(heads * head_dim, d, bias=False)
        self.rope_theta = rope_theta

    def forward(self, x):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        if self.rope_theta is not None:
            cos, sin = rope_tables(t, self.hd, self.rope_theta, x.device)
            q = apply_rope(q, cos, sin)
            k = apply_rope(k, cos, sin)
        y = attention(q, k, v)
        return self.o_proj(y.transpose(1, 2).reshape(b, t, self.h * self.hd))


def rope_tables(t, d, theta, device):
    inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64, device=device).float() / d))
    f = torch.arange(t, device=device, dtype=torch.float32)[:, None] * inv[None, :]
    emb = torch.cat([f, f], dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin):
    d = x.shape[-1] // 2
    rot = torch.cat([-x[..., d:], x[..., :d]], dim=-1)
    return (x.float() * cos + rot.float() * sin).to(x.dtype)


class SwiGLU(nn.Module):
    def __init__(self, d, inter):
        super().__init__()
        self.gate_proj = nn.Linear(d, inter, bias=False)
        self.up_proj = nn.Linear(d, inter, bias=False)
        self.down_proj = nn.Linear(inter, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Relu2MLP(nn.Module):
    def __init__(self, d, inter):
        super().__init__()
        self.up_proj = nn.Linear(d, inter, bias=False)
        self.down_proj = nn.Linear(inter, d, bias=False)

    def forward(self, x):
        return self.down_proj(torch.relu(self.up_proj(x)).square())


# ------------------------------------------------------------------------------ Mamba2 SSD

def ssd_chunked(x, dt, A, B, C, chunk):
    """Mamba2 scan from a zero state, chunked.
    x (b, l, h, p), dt (b, l, h) > 0, A (h,) < 0, B and C (b, l, g, n) with h % g == 0.
    Recurrence: S_t = exp(dt_t A) S_{t-1} + dt_t x_t B_t^T, y_t = S_t C_t (per head; the
    head's group supplies B, C). Returns y (b, l, h, p) in float32."""
    b, l, h, p = x.shape
    g, n = B.shape[2], B.shape[3]
    if l % chunk:
        pad = chunk - l % chunk
        y = ssd_chunked(F.pad(x, (0, 0, 0, 0, 0, pad)), F.pad(dt, (0, 0, 0, pad)), A,
                        F.pad(B, (0, 0, 0, 0, 0, pad)), F.pad(C, (0, 0, 0, 0, 0, pad)), chunk)
        return y[:, :l]
    c, q, r = l // chunk, chunk, h // g
    a = (dt * A.view(1, 1, h)).float()                       # log decay per step, <= 0
    xd = (x.float() * dt.float()[..., None])                  # discretised input
    a = a.view(b, c, q, h).permute(0, 1, 3, 2)               # (b, c, h, q)
    acs = torch.cumsum(a, dim=-1)                             # (b, c, h, q)
    xd = xd.view(b, c, q, g, r, p).permute(0, 1, 3, 4, 2, 5)  # (b, c, g, r, q, p)
    Bc = B.view(b, c, q, g, n).permute(0, 1, 3, 2, 4).float()  # (b, c, g, q, n)
    Cc = C.view(b, c, q, g, n).permute(0, 1, 3, 2, 4).float()
    acs_g = acs.view(b, c, g, r, q)
    # 1. within a chunk: y_i += sum_{j<=i} exp(acs_i - acs_j) (C_i . B_j) xd_j
    tril = torch.ones(q, q, dtype=torch.bool, device=x.device).tril()
    seg = (acs_g[..., :, None] - acs_g[..., None, :]).masked_fill(~tril, float("-inf"))
    cb = Cc @ Bc.transpose(-1, -2)                            # (b, c, g, q, q)
    m = torch.exp(seg) * cb[:, :, :, None]                   # (b, c, g, r, q, q)
    y = m.to(xd.dtype) @ xd                                   # (b, c, g, r, q, p)
    # 2. each chunk's own final state: sum_j exp(acs_last - acs_j) xd_j B_j^T
    w = torch.exp(acs_g[..., -1:] - acs_g)                    # (b, c, g, r, q)
    st = (xd * w[..., None]).transpose(-1, -2) @ Bc[:, :, :, None]   # (b, c, g, r, p, n)
    # 3. states entering each chunk: S_in[k] = sum_{m<k} exp(sum_{m<j<k} A_j) st[m]
    tot = acs_g[..., -1]                                      # (b, c, g, r) decay of a whole chunk
    cs = torch.cumsum(F.pad(tot.permute(0, 2, 3, 1), (1, 0)), dim=-1)   # (b, g, r, c+1)
    trc = torch.ones(c + 1, c + 1, dtype=torch.bool, device=x.device).tril()
    dec = torch.exp((cs[..., :, None] - cs[..., None, :]).masked_fill(~trc, float("-inf")))  # (b,g,r,c+1,c+1)
    st_all = torch.cat([torch.zeros_like(st[:, :1]), st], dim=1)          # (b, c+1, g, r, p, n)
    st_flat = st_all.permute(0, 2, 3, 1, 4, 5).reshape(b, g, r, c + 1, p * n)
    s_in = (dec[..., :c, :] @ st_flat).view(b, g, r, c, p, n).permute(0, 3, 1, 2, 4, 5)  # (b, c, g, r, p, n)
    # 4. contribution of the entering state: y_i += exp(acs_i) S_in C_i
    y_off = (Cc[:, :, :, None] @ s_in.transpose(-1, -2)) * torch.exp(acs_g)[..., None]   # (b, c, g, r, q, p)
    y = y + y_off
    return y.permute(0, 1, 4, 2, 3, 5).reshape(b, l, h, p)


def ssd_reference(x, dt, A, B, C):
    """The same scan step by step (float64), for tests."""
    b, l, h, p = x.shape
    g, n = B.shape[2], B.shape[3]
    r = h // g
    S = torch.zeros(b, h, p, n, dtype=torch.float64)
    ys = []
    for t in range(l):
        dA = torch.exp(dt[:, t].double() * A.double())                     # (b, h)
        Bt = B[:, t].double().repeat_interleave(r, dim=1)                   # (b, h, n)
        Ct = C[:, t].double().repeat_interleave(r, dim=1)
        S = S * dA[..., None, None] + (dt[:, t].double()[..., None] * x[:, t].double())[..., None] * Bt[:, :, None]
        ys.append((S @ Ct[..., None])[..., 0])
    return torch.stack(ys, dim=1)


class Mamba2Mixer(nn.Module):
    def __init__(self, d, heads, head_dim, state, groups, conv_kernel, eps, dt_min, chunk):
        super().__init__()
        self.d, self.h, self.p, self.n, self.g = d, heads, head_dim, state, groups
        self.di = heads * head_dim
        self.conv_dim = self.di + 2 * groups * state
        self.eps, self.dt_min, self.chunk = eps, dt_min, chunk
        self.in_proj = nn.Linear(d, self.di + self.conv_dim + heads, bias=False)
        self.conv1d = nn.Conv1d(self.conv_dim, self.conv_dim, conv_kernel, groups=self.conv_dim,
                                padding=conv_kernel - 1, bias=True)
        self.dt_bias = nn.Parameter(torch.zeros(heads))
        self.A_log = nn.Parameter(torch.zeros(heads))
        self.D = nn.Parameter(torch.ones(heads))
        self.norm = nn.Module()
        self.norm.weight = nn.Parameter(torch.ones(self.di))
        self.out_proj = nn.Linear(self.di, d, bias=False)

    def forward(self, u):
        b, l, _ = u.shape
        zxbcdt = self.in_proj(u)
        z, xbc, dt = torch.split(zxbcdt, [self.di, self.conv_dim, self.h], dim=-1)
        xbc = F.silu(self.conv1d(xbc.transpose(1, 2))[..., :l].transpose(1, 2))
        x, B, C = torch.split(xbc, [self.di, self.g * self.n, self.g * self.n], dim=-1)
        dt = F.softplus(dt.float() + self.dt_bias.float()).clamp(min=self.dt_min)
        A = -torch.exp(self.A_log.float())
        xh = x.reshape(b, l, self.h, self.p)
        y = ssd_chunked(xh, dt, A, B.reshape(b, l, self.g, self.n), C.reshape(b, l, self.g, self.n), self.chunk)
        y = y + xh.float() * self.D.float()[:, None]
        y = y.reshape(b, l, self.di)
        # gated RMSNorm, groups of d_inner / n_groups
        y = y * F.silu(z.float())
        yg = y.view(b, l, self.g, self.di // self.g)
        yg = yg * torch.rsqrt(yg.pow(2).mean(-1, keepdim=True) + self.eps)
        y = self.norm.weight * yg.view(b, l, self.di).to(u.dtype)
        return self.out_proj(y)


# ------------------------------------------------------------------------------ models

class LlamaLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"],
                                   c["head_dim"], c["rope_theta"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.mlp = SwiGLU(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = dict(c)
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.model.layers = nn.ModuleList([LlamaLayer(c) for _ in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        if not c["tie_word_embeddings"]:
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def head_weight(self):
        return self.model.embed_tokens.weight if self.c["tie_word_embeddings"] else self.lm_head.weight

    def hidden(self, ids):
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x)
        return self.model.norm(x)

    def forward(self, ids):
        return F.linear(self.hidden(ids), self.head_weight())

    def init_weights(self, seed):
        g = torch.Generator().manual_seed(seed)
        L = self.c["num_hidden_layers"]
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
                    p.fill_(1.0)
                elif name.endswith(("o_proj.weight", "down_proj.weight")):
                    p.copy_(torch.randn(p.shape, generator=g) * (0.02 / math.sqrt(2 * L)))
                else:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.02)


class NemotronHBlock(nn.Module):
    def __init__(self, c, kind):
        super().__init__()
        d = c["hidden_size"]
        self.norm = RMSNorm(d, c["layer_norm_epsilon"])
        self.kind = kind
        if kind == "M":
            self.mixer = Mamba2Mixer(d, c["mamba_num_heads"], c["mamba_head_dim"], c["ssm_state_size"],
                                     c["n_groups"], c["conv_kernel"], c["layer_norm_epsilon"], c["time_step_min"],
                                     c.get("train_chunk", 64))
        elif kind == "*":
            self.mixer = Attention(d, c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], None)
        elif kind == "-":
            self.mixer = Relu2MLP(d, c["intermediate_size"])
        else:
            raise ValueError(kind)

    def forward(self, x):
        return x + self.mixer(self.norm(x))


class NemotronH(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = dict(c)
        self.backbone = nn.Module()
        self.backbone.embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.backbone.layers = nn.ModuleList([NemotronHBlock(c, k) for k in c["pattern"]])
        self.backbone.norm_f = RMSNorm(c["hidden_size"], c["layer_norm_epsilon"])
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def head_weight(self):
        return self.lm_head.weight

    def hidden(self, ids):
        x = self.backbone.embeddings(ids)
        for layer in self.backbone.layers:
            x = layer(x)
        return self.backbone.norm_f(x)

    def forward(self, ids):
        return F.linear(self.hidden(ids), self.lm_head.weight)

    def init_weights(self, seed):
        g = torch.Generator().manual_seed(seed)
        c = self.c
        n_res = len(c["pattern"])
        with torch.no_grad():
            for name, p in self.named_parameters():
                leaf = name.split(".")[-1]
                if name.endswith("norm.weight") or name.endswith("norm_f.weight"):
                    p.fill_(1.0)
                elif leaf == "A_log":
                    p.copy_(torch.log(torch.empty(p.shape).uniform_(1.0, 16.0, generator=g)))
                elif leaf == "D":
                    p.fill_(1.0)
                elif leaf == "dt_bias":
                    lo, hi = math.log(c["time_step_min"]), math.log(c["time_step_max"])
                    dt = torch.exp(torch.rand(p.shape, generator=g) * (hi - lo) + lo).clamp(min=c["time_step_floor"])
                    p.copy_(dt + torch.log(-torch.expm1(-dt)))       # inverse softplus
                elif "conv1d" in name:
                    bound = 1.0 / math.sqrt(c["conv_kernel"])
                    p.copy_(torch.empty(p.shape).uniform_(-bound, bound, generator=g))
                elif leaf == "weight" and p.dim() == 2:
                    std = 0.02
                    if name.endswith(("o_proj.weight", "down_proj.weight", "out_proj.weight")):
                        std = 0.02 / math.sqrt(2 * n_res)
                    p.copy_(torch.randn(p.shape, generator=g) * std)
                else:
                    raise RuntimeError("no init rule for " + name)


def build(c):
    return Llama(c) if c["arch"] == "llama" else NemotronH(c)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def loss_fn(model, ids):
    """Mean next-token cross entropy over ids (b, t): positions 0..t-2 predict 1..t-1."""
    logits = model(ids[:, :-1])
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


# ------------------------------------------------------------------------------ HF layout

def hf_config_dict(c, dtype="bfloat16", bos=0, eos=1):
    """config.json fields of the transformers class (the rest are the class defaults)."""
    if c["arch"] == "llama":
        return dict(architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=c["vocab_size"],
                    hidden_size=c["hidden_size"], intermediate_size=c["intermediate_size"],
                    num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
                    num_key_value_heads=c["num_key_value_heads"], head_dim=c["head_dim"], hidden_act="silu",
                    max_position_embeddings=c["max_position_embeddings"], rms_norm_eps=c["rms_norm_eps"],
                    tie_word_embeddings=c["tie_word_embeddings"], attention_bias=False, mlp_bias=False,
                    rope_parameters={"rope_type": "default", "rope_theta": c["rope_theta"]},
                    bos_token_id=bos, eos_token_id=eos, pad_token_id=None, dtype=dtype)
    kinds = {"M": "linear_attention", "*": "full_attention", "-": "mlp"}
    return dict(architectures=["NemotronHForCausalLM"], model_type="nemotron_h", vocab_size=c["vocab_size"],
                hidden_size=c["hidden_size"], layers_block_type=[kinds[k] for k in c["pattern"]],
                num_attention_heads=c["num_attention_heads"], num_key_value_heads=c["num_key_value_heads"],
                head_dim=c["head_dim"], max_position_embeddings=c["max_position_embeddings"],
                intermediate_size=c["intermediate_size"], mlp_hidden_act="relu2", mamba_num_heads=c["mamba_num_heads"],
                mamba_head_dim=c["mamba_head_dim"], ssm_state_size=c["ssm_state_size"], n_groups=c["n_groups"],
                conv_kernel=c["conv_kernel"], expand=c["mamba_num_heads"] * c["mamba_head_dim"] // c["hidden_size"],
                use_conv_bias=True, use_bias=False, mlp_bias=False, attention_bias=False,
                chunk_size=c["chunk_size"], layer_norm_epsilon=c["layer_norm_epsilon"],
                time_step_min=c["time_step_min"], time_step_max=c["time_step_max"],
                time_step_floor=c["time_step_floor"], tie_word_embeddings=False, residual_in_fp32=False,
                bos_token_id=bos, eos_token_id=eos, pad_token_id=None, dtype=dtype)


def hf_state_dict(model):
    """Parameters under their transformers names (a tied lm_head is left out, as
    save_pretrained does)."""
    return {k: v for k, v in model.state_dict().items()}


def write_safetensors(path, tensors, dtype=torch.bfloat16):
    """Minimal safetensors writer (no dependency): every tensor cast to dtype."""
    import json
    import struct
    name = {torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32"}[dtype]
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for k in sorted(tensors):
        t = tensors[k].detach().to("cpu", dtype).contiguous()
        raw = (t.view(torch.int16) if dtype != torch.float32 else t).numpy().tobytes()
        header[k] = {"dtype": name, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)
