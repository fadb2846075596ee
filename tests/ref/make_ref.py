#!/usr/bin/env python3
"""make_ref.py - build the Hugging Face reference data that tests/test_model.c checks uniql.h against.

Run on a machine with torch + transformers (the team ran it with transformers 5.17):

    python3 tests/ref/make_ref.py OUTDIR [FAMILY ...]

For each family (Llama with llama3 RoPE scaling, Qwen2 with q/k/v biases, Mamba2, Nemotron-H
hybrid, Bamba hybrid with partial rotary attention; all of them, or only the FAMILY names
given) it builds a tiny random model (vocab 256 = bytes), scales the random init up so that
attention scores, SSM decays and dt clamps are far from trivial, saves it with save_pretrained
(Llama as BF16 in shards with an index, Qwen2 as F16, Mamba2 as F32, Nemotron-H and Bamba as
BF16), reloads the saved files in float64 on CPU and writes OUTDIR/<family>/ref.bin:

    char[8]  "UQREF001"
    int32    n_prompt, vocab, n_gen, flags      (flags bit 0: generate() == no-cache greedy)
    int32    prompt[n_prompt]
    float32  logits[n_prompt][vocab]            (full forward, every prompt position)
    int32    gen_cached[n_gen]                  (model.generate, greedy, with cache)
    int32    gen_nocache[n_gen]                 (greedy by full recompute each step)
    float32  margin[n_gen]                      (top1 - top2 logit of each no-cache step)

all little-endian, and OUTDIR/<family>/decode.bin, the logits of the cached decode steps of
model.generate (generate(output_logits=True)):

    char[8]  "UQDEC001"
    int32    n_steps, vocab
    float32  logits[n_steps][vocab]   step i: the logits after the prompt and the first i
                                      generated tokens (step 0 is the prompt's last position)

Only the saved files are used for the reference (the reloaded model is checked parameter by
parameter against the in-memory one first). The log line of each family also prints the
rotary dimension of the reloaded model's RoPE (2 x inv_freq entries), which is what decides
partial rotary (Bamba: BambaConfig fixes partial_rotary_factor at 0.5).
"""
import math
import os
import shutil
import struct
import sys

import torch

PROMPT = b"uniql.h: tiny models vs HF, byte by byte"
N_GEN = 32
MIN_MARGIN = 2e-3  # greedy steps closer than this between top-2 logits are re-seeded


def log(*a):
    print(*a, flush=True)


def configs():
    from transformers import BambaConfig, LlamaConfig, Mamba2Config, NemotronHConfig, Qwen2Config

    no_special = dict(bos_token_id=None, eos_token_id=None, pad_token_id=None)
    llama = LlamaConfig(
        vocab_size=256, hidden_size=96, intermediate_size=120, num_hidden_layers=2,
        num_attention_heads=6, num_key_value_heads=2, head_dim=16, hidden_act="silu",
        max_position_embeddings=1024, rms_norm_eps=1e-5, tie_word_embeddings=False,
        attention_bias=True, mlp_bias=True,
        rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0,
                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 256},
        **no_special)
    qwen2 = Qwen2Config(
        vocab_size=256, hidden_size=72, intermediate_size=152, num_hidden_layers=3,
        num_attention_heads=6, num_key_value_heads=2, hidden_act="silu",
        max_position_embeddings=512, rms_norm_eps=1e-6, tie_word_embeddings=True,
        use_sliding_window=False, rope_parameters={"rope_type": "default", "rope_theta": 1000.0},
        **no_special)
    mamba2 = Mamba2Config(
        vocab_size=256, hidden_size=72, num_heads=12, head_dim=12, state_size=16, expand=2,
        n_groups=2, conv_kernel=4, num_hidden_layers=2, layer_norm_epsilon=1e-5,
        use_bias=True, use_conv_bias=True, hidden_act="silu", residual_in_fp32=True,
        chunk_size=16, tie_word_embeddings=True, **no_special)
    nemo = NemotronHConfig(
        vocab_size=256, hidden_size=72,
        layers_block_type=["linear_attention", "full_attention", "linear_attention", "mlp"],
        num_attention_heads=6, num_key_value_heads=2, head_dim=12, max_position_embeddings=512,
        intermediate_size=152, mlp_hidden_act="relu2", mamba_num_heads=12, mamba_head_dim=12,
        ssm_state_size=16, n_groups=2, conv_kernel=4, expand=2, time_step_min=0.03,
        use_conv_bias=True, use_bias=False, chunk_size=16, layer_norm_epsilon=1e-5,
        tie_word_embeddings=False, **no_special)
    # layers M * M * (attention at 1 and 3), an MLP in every layer, head_dim 16 of which the
    # first 8 rotate (partial_rotary_factor 0.5 is fixed by BambaConfig), GQA 4/2, two Mamba
    # groups, in/out projection biases, dt clamped to [0.02, 2.5], chunked scan of 16 tokens
    bamba = BambaConfig(
        vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, attn_layer_indices=[1, 3],
        hidden_act="silu", rms_norm_eps=1e-5, max_position_embeddings=512,
        mamba_n_heads=8, mamba_d_head="auto", mamba_n_groups=2, mamba_d_state=16, mamba_d_conv=4,
        mamba_expand=2, mamba_chunk_size=16, mamba_conv_bias=True, mamba_proj_bias=True,
        time_step_limit=(0.02, 2.5), rope_parameters={"rope_type": "default", "rope_theta": 1000.0},
        tie_word_embeddings=False, **no_special)
    return [
        ("llama", "LlamaForCausalLM", llama, torch.bfloat16, "150KB"),
        ("qwen2", "Qwen2ForCausalLM", qwen2, torch.float16, None),
        ("mamba2", "Mamba2ForCausalLM", mamba2, torch.float32, None),
        ("nemotron_h", "NemotronHForCausalLM", nemo, torch.bfloat16, None),
        ("bamba", "BambaForCausalLM", bamba, torch.bfloat16, None),
    ]


def reinit(model, seed):
    """Random weights large enough that every path matters (default init makes attention
    uniform and the SSM nearly a pass-through)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.split(".")[-1]
            mod = name.split(".")[-2] if "." in name else ""
            if leaf == "A_log":
                p.copy_(torch.empty(p.shape).uniform_(math.log(0.5), math.log(8.0), generator=g))
            elif leaf == "D":
                p.copy_(torch.empty(p.shape).uniform_(0.5, 1.5, generator=g))
            elif leaf == "dt_bias":
                p.copy_(torch.empty(p.shape).uniform_(-4.0, 1.0, generator=g))
            elif "norm" in mod:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif mod == "conv1d" and leaf == "weight":
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif leaf == "bias":
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            elif mod in ("embed_tokens", "embeddings", "embedding"):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif leaf == "weight" and p.dim() == 2:
                gain = 1.5 if mod in ("q_proj", "k_proj") else (2.0 if mod == "lm_head" else 1.0)
                p.copy_(gain / math.sqrt(p.shape[1]) * torch.randn(p.shape, generator=g))
            else:
                raise RuntimeError("no init rule for parameter " + name)


def load_saved(cls, path):
    kw = dict(output_loading_info=True)
    try:
        model, info = cls.from_pretrained(path, dtype=torch.float64, **kw)
    except TypeError:
        model, info = cls.from_pretrained(path, torch_dtype=torch.float64, **kw)
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        if info.get(k):  # tied weights may be listed; the parameter comparison decides
            log("  reload of %s: %s = %s" % (path, k, info[k]))
    return model.double().eval()


def greedy_nocache(model, ids):
    seq = ids.clone()
    toks, margins = [], []
    for _ in range(N_GEN):
        with torch.no_grad():
            last = model(input_ids=seq, use_cache=False).logits[0, -1].double()
        top = torch.topk(last, 2)
        toks.append(int(top.indices[0]))
        margins.append(float(top.values[0] - top.values[1]))
        seq = torch.cat([seq, top.indices[:1].view(1, 1)], dim=1)
    return toks, margins


def greedy_generate(model, ids):
    """generate() with its cache: the tokens and the logits of every step"""
    model.generation_config.eos_token_id = None
    model.generation_config.bos_token_id = None
    model.generation_config.pad_token_id = 0
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=N_GEN,
                             do_sample=False, use_cache=True, output_logits=True,
                             return_dict_in_generate=True)
    gen = out.sequences[0, ids.shape[1]:].tolist()
    if len(gen) != N_GEN:
        raise RuntimeError("generate returned %d tokens" % len(gen))
    logits = torch.stack([l[0].double() for l in out.logits]) if out.logits else None
    return gen, logits


def rotary_dim(model):
    """2 x the inv_freq entries of the model's rotary embedding, or 0 without one"""
    for name, buf in model.named_buffers():
        if name.endswith("rotary_emb.inv_freq"):
            return 2 * buf.numel()
    return 0


def build_one(outdir, fam, clsname, cfg, dtype, shard):
    import transformers

    cls = getattr(transformers, clsname)
    ids = torch.tensor([list(PROMPT)], dtype=torch.long)
    for seed in range(1, 9):
        torch.manual_seed(seed)
        model = cls(cfg).eval()
        reinit(model, 1000 * seed + len(fam))
        model = model.to(dtype)
        d = os.path.join(outdir, fam)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        if shard:
            try:
                model.save_pretrained(d, max_shard_size=shard)
            except TypeError:
                model.save_pretrained(d)
        else:
            model.save_pretrained(d)
        for f in os.listdir(d):
            if not (f == "config.json" or f.endswith(".safetensors") or f.endswith(".index.json")):
                os.remove(os.path.join(d, f))

        ref = load_saved(cls, d)
        mem = model.double().eval()
        sd_ref, sd_mem = ref.state_dict(), mem.state_dict()
        for k, v in sd_mem.items():
            if k not in sd_ref or not torch.equal(sd_ref[k], v):
                raise RuntimeError("%s: reloaded parameter %s differs from the saved one" % (fam, k))

        with torch.no_grad():
            logits = ref(input_ids=ids, use_cache=False).logits[0].double()
        toks_nc, margins = greedy_nocache(ref, ids)
        dec_logits = None
        try:
            toks_c, dec_logits = greedy_generate(ref, ids)
        except Exception as e:  # keep going: the C test reports which list it compared
            log("  %s: generate() failed: %r" % (fam, e))
            toks_c = [-1] * N_GEN
        same = toks_c == toks_nc
        nparam = sum(p.numel() for p in ref.parameters())
        log("%s seed %d: %d params, max|logit| %.4f, min greedy margin %.3g, generate==nocache %s, "
            "rotary dim %d" % (fam, seed, nparam, float(logits.abs().max()), min(margins), same,
                               rotary_dim(ref)))
        if min(margins) < MIN_MARGIN:
            log("  margin too small, re-seeding")
            continue
        with open(os.path.join(d, "ref.bin"), "wb") as f:
            f.write(b"UQREF001")
            f.write(struct.pack("<4i", len(PROMPT), cfg.vocab_size, N_GEN, 1 if same else 0))
            f.write(struct.pack("<%di" % len(PROMPT), *list(PROMPT)))
            f.write(struct.pack("<%df" % logits.numel(), *logits.float().flatten().tolist()))
            f.write(struct.pack("<%di" % N_GEN, *toks_c))
            f.write(struct.pack("<%di" % N_GEN, *toks_nc))
            f.write(struct.pack("<%df" % N_GEN, *margins))
        if dec_logits is not None:
            if dec_logits.shape != (N_GEN, cfg.vocab_size):
                raise RuntimeError("%s: generate logits have shape %s" % (fam, tuple(dec_logits.shape)))
            # step 0 is the prompt's last position: it must equal the full forward's last row
            d0 = float((dec_logits[0] - logits[-1]).abs().max())
            log("  generate step 0 vs full forward: max |diff| %.3g" % d0)
            with open(os.path.join(d, "decode.bin"), "wb") as f:
                f.write(b"UQDEC001")
                f.write(struct.pack("<2i", N_GEN, cfg.vocab_size))
                f.write(struct.pack("<%df" % dec_logits.numel(), *dec_logits.float().flatten().tolist()))
        try:  # per-layer hidden states, only to debug a mismatch (not committed)
            with torch.no_grad():
                hs = ref(input_ids=ids, use_cache=False, output_hidden_states=True).hidden_states
            with open(os.path.join(d, "hidden.bin"), "wb") as f:
                f.write(struct.pack("<3i", len(hs), hs[0].shape[1], hs[0].shape[2]))
                for h in hs:
                    f.write(struct.pack("<%df" % h.numel(), *h.float().flatten().tolist()))
        except Exception as e:
            log("  hidden states not saved: %r" % e)
        log("  prompt  %r" % PROMPT)
        log("  gen     %r" % bytes(t for t in toks_nc))
        with open(os.path.join(d, "config.json")) as f:
            log("  config.json:", f.read().replace("\n", " "))
        log("  files   %s" % sorted((f, os.path.getsize(os.path.join(d, f))) for f in os.listdir(d)))
        return
    raise RuntimeError(fam + ": no seed gave clear greedy margins")


def main():
    import transformers

    assert len(PROMPT) == 40
    outdir = sys.argv[1] if len(sys.argv) > 1 else "ref"
    only = set(sys.argv[2:])
    known = set(c[0] for c in configs())
    if only - known:
        raise SystemExit("unknown family %s (known: %s)" % (sorted(only - known), sorted(known)))
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(4)
    log("torch", torch.__version__, "transformers", transformers.__version__)
    failed = []
    for fam, clsname, cfg, dtype, shard in configs():
        if only and fam not in only:
            continue
        try:
            build_one(outdir, fam, clsname, cfg, dtype, shard)
        except Exception as e:
            import traceback
            traceback.print_exc()
            failed.append(fam)
    log("FAILED: %s" % failed if failed else "ALL OK")


if __name__ == "__main__":
    main()
