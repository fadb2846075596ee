#!/usr/bin/env python3
"""export_hf.py - turn a trained lm.py model into a Hugging Face checkpoint, check it in
transformers, and write the references the C tests compare uniql.h with.

    python3 tools/train/export_hf.py {llama|nemotronh} RUN_DIR TOK_DIR IDS_DIR OUT_DIR REF_DIR

RUN_DIR/final.pt (float32 weights from train_lm.py) -> OUT_DIR (the model directory):
config.json, generation_config.json, model.safetensors (bf16) by transformers'
save_pretrained, tokenizer.json + tokenizer_config.json from TOK_DIR, eval.json.
IDS_DIR holds the token streams test.u16 / calib.u16 (bpe_tokenizer.py encode).

Checks and figures (all by transformers loaded from the saved files):
 - same loss: the first 16 windows of 512 test tokens, cross entropy of transformers
   (float32, TF32 off) vs lm.py holding the same bf16-rounded weights;
 - held-out perplexity over all non-overlapping windows of 512 test tokens (each window
   predicts its tokens 1..511 from the ones before it in the window; mean NLL with a
   float64 log-softmax, ppl = exp(mean)) - the definition of uniql_perplexity - and the
   same with windows of 256;
 - REF_DIR/ppl.json: the slice tests/test_ppl.c runs: the first 8 windows of 256 test
   tokens, on CPU in float32 (per-window NLL sums too), float64 figure beside it;
 - REF_DIR/ref.bin: logits of every position of a 16-token prompt (the first 16 test
   tokens) from the float64 model on CPU, 16 greedy tokens by generate() (KV / SSM cache)
   and by full recompute with their top-2 margins, in the UQREF001 layout of
   tests/ref/make_ref.py;
 - samples: greedy and top-p (0.9, T 0.8, seed 0) continuations of two prompts.
"""
import hashlib
import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lm  # noqa: E402
from train_lm import CONFIGS  # noqa: E402

N_PROMPT, N_GEN = 16, 16
PROMPTS = ["The Linux kernel", "In Python, a list is"]


def log(*a):
    print(*a, flush=True)


def window_nll(model, ids, window, n_windows, device, batch=16):
    """per-window NLL sums (float64 log-softmax) over the first n_windows windows."""
    n_windows = min(n_windows, len(ids) // window)
    toks = torch.tensor(ids[:n_windows * window].astype(np.int64)).view(n_windows, window)
    sums = []
    with torch.no_grad():
        for i in range(0, n_windows, batch):
            x = toks[i:i + batch].to(device)
            logits = model(input_ids=x, use_cache=False).logits.double()
            lp = torch.log_softmax(logits[:, :-1], dim=-1)
            nll = -lp.gather(-1, x[:, 1:].unsqueeze(-1)).squeeze(-1)
            sums.extend(float(v) for v in nll.sum(-1))
    return sums, n_windows * (window - 1)


def load_hf(cls, d, dtype):
    try:
        m = cls.from_pretrained(d, dtype=dtype)
    except TypeError:
        m = cls.from_pretrained(d, torch_dtype=dtype)
    return m.eval()


def greedy_nocache(model, ids):
    seq, toks, margins = ids.clone(), [], []
    for _ in range(N_GEN):
        with torch.no_grad():
            last = model(input_ids=seq, use_cache=False).logits[0, -1].double()
        top = torch.topk(last, 2)
        toks.append(int(top.indices[0]))
        margins.append(float(top.values[0] - top.values[1]))
        seq = torch.cat([seq, top.indices[:1].view(1, 1)], dim=1)
    return toks, margins


def greedy_generate(model, ids):
    gc = model.generation_config
    gc.eos_token_id, gc.bos_token_id, gc.pad_token_id = None, None, 0
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=N_GEN, do_sample=False,
                             use_cache=True)
    return out[0, ids.shape[1]:].tolist()


def sample(model, tok, prompt, device, top_p=None, n=60, seed=0):
    ids = tok.encode(prompt).ids
    g = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        for _ in range(n):
            x = torch.tensor([ids[-512:]], device=device)
            lg = model(input_ids=x, use_cache=False).logits[0, -1].double().cpu()
            if top_p is None:
                t = int(torch.argmax(lg))
            else:
                p = torch.softmax(lg / 0.8, -1)
                sp, si = torch.sort(p, descending=True)
                sp = sp * ((torch.cumsum(sp, 0) - sp) < top_p)
                t = int(si[torch.multinomial(sp / sp.sum(), 1, generator=g)])
            ids.append(t)
            if t == 1:
                break
    return tok.decode(ids, skip_special_tokens=False)


def main():
    key, run_dir, tok_dir, ids_dir, out, ref_dir = sys.argv[1:7]
    t0 = time.time()
    import transformers
    from tokenizers import Tokenizer

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    c = dict(CONFIGS[key])
    hfc = lm.hf_config_dict(c)
    cls = getattr(transformers, hfc["architectures"][0])
    conf_cls = transformers.LlamaConfig if c["arch"] == "llama" else transformers.NemotronHConfig
    conf = conf_cls(**{k: v for k, v in hfc.items() if k not in ("architectures", "model_type", "dtype")})
    sd32 = torch.load(os.path.join(run_dir, "final.pt"), map_location="cpu")
    sd = {k: v.to(torch.bfloat16).float() for k, v in sd32.items()}      # the weights as saved
    mine = lm.build(c)
    mine.load_state_dict(sd)
    hf = cls(conf)
    full = dict(sd)
    if c["tie_word_embeddings"]:
        full["lm_head.weight"] = sd["model.embed_tokens.weight"]
    # transformers 5 names Nemotron-H's trunk "model." inside the class (its checkpoints keep
    # "backbone."; from_pretrained maps one to the other)
    hf_keys = set(hf.state_dict().keys())

    def to_hf(k):
        if k not in hf_keys and k.startswith("backbone.") and "model." + k[len("backbone."):] in hf_keys:
            return "model." + k[len("backbone."):]
        return k

    full = {to_hf(k): v for k, v in full.items()}
    sd_hf = {to_hf(k): v for k, v in sd.items()}
    res = hf.load_state_dict(full, strict=False)
    bad = [k for k in res.missing_keys if not (c["tie_word_embeddings"] and k == "lm_head.weight")]
    if bad or res.unexpected_keys:
        raise RuntimeError(f"state dict mismatch: missing {bad}, unexpected {res.unexpected_keys}")
    hf.generation_config.bos_token_id, hf.generation_config.eos_token_id = 0, 1
    hf = hf.to(torch.bfloat16)
    shutil.rmtree(out, ignore_errors=True)
    hf.save_pretrained(out)
    for f in os.listdir(out):
        if not (f in ("config.json", "generation_config.json") or f.endswith(".safetensors")):
            os.remove(os.path.join(out, f))
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, f), os.path.join(out, f))
    del hf
    log(f"{key}: saved {sorted(os.listdir(out))} in {time.time() - t0:.1f}s")

    test = np.fromfile(os.path.join(ids_dir, "test.u16"), dtype="<u2")
    model = load_hf(cls, out, torch.float32).to(dev)
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if k in sd_hf and not torch.equal(v.cpu(), sd_hf[k]):
                raise RuntimeError("reloaded parameter differs: " + k)
    # same loss: transformers vs lm.py on identical weights and windows
    x = torch.tensor(test[:16 * 512].astype(np.int64)).view(16, 512).to(dev)
    with torch.no_grad():
        lg_hf = model(input_ids=x, use_cache=False).logits.float()
        loss_hf = float(torch.nn.functional.cross_entropy(lg_hf[:, :-1].reshape(-1, lg_hf.shape[-1]),
                                                          x[:, 1:].reshape(-1)))
        mine = mine.to(dev).eval()
        lg_me = mine(x[:, :-1]).float()
        loss_me = float(lm.loss_fn(mine, x))
        max_dlogit = float((lg_me - lg_hf[:, :-1]).abs().max())
    mine = mine.cpu()
    log(f"{key}: same-loss check: transformers {loss_hf:.6f}, lm.py {loss_me:.6f}, "
        f"max |logit diff| {max_dlogit:.2e}")
    ppl = {}
    for w in (512, 256):
        sums, cnt = window_nll(model, test, w, len(test) // w, dev)
        ppl[w] = dict(window=w, windows=len(sums), predicted=cnt, mean_nll=sum(sums) / cnt,
                      ppl=math.exp(sum(sums) / cnt))
        log(f"{key}: held-out ppl (windows of {w}): {ppl[w]['ppl']:.4f} over {cnt} tokens")
    tok = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    samples = {}
    for pr in PROMPTS:
        samples[pr] = dict(greedy=sample(model, tok, pr, dev), top_p=sample(model, tok, pr, dev, top_p=0.9))
    log(json.dumps(samples, indent=1))
    auto_ok = None
    try:
        at = transformers.AutoTokenizer.from_pretrained(out)
        doc = open(os.path.join(ids_dir, "..", "corpus", "test.txt"), encoding="utf-8").read().split("\n\n")[0] + "\n"
        auto_ok = at(doc)["input_ids"] == tok.encode(doc).ids
    except Exception as e:  # informative only
        auto_ok = "AutoTokenizer failed: %r" % (e,)
    del model
    if dev == "cuda":
        torch.cuda.empty_cache()

    # references for the C tests: CPU float32 (perplexity slice) and float64 (logits)
    os.makedirs(ref_dir, exist_ok=True)
    torch.set_num_threads(8)
    cpu = load_hf(cls, out, torch.float32)
    sums, cnt = window_nll(cpu, test, 256, 8, "cpu", batch=8)
    t64, _ = window_nll(cpu.double(), test, 256, 8, "cpu", batch=8)
    name = os.path.basename(os.path.normpath(out))
    if name == "model":   # run_bpe_device.sh exports into <name>/model
        name = os.path.basename(os.path.dirname(os.path.normpath(out)))
    pref = dict(model=name, ids="test.u16", window=256, n_windows=8,
                predicted=cnt, window_nll_sums=sums, mean_nll=sum(sums) / cnt, ppl=math.exp(sum(sums) / cnt),
                ppl_float64=math.exp(sum(t64) / cnt),
                ids_sha256=hashlib.sha256(test[:256 * 8].astype("<u2").tobytes()).hexdigest(),
                computed_by="transformers %s, torch %s, CPU, float32 (bf16 weights upcast), log-softmax in "
                            "float64" % (transformers.__version__, torch.__version__))
    with open(os.path.join(ref_dir, "ppl.json"), "w") as f:
        json.dump(pref, f, indent=1)
    log(f"{key}: C-test slice ppl {pref['ppl']:.6f} (float64 {pref['ppl_float64']:.6f})")
    m64 = cpu.double().eval()
    ids = torch.from_numpy(test[:N_PROMPT].astype(np.int64)).view(1, N_PROMPT)
    with torch.no_grad():
        logits = m64(input_ids=ids, use_cache=False).logits[0].double()
    toks_nc, margins = greedy_nocache(m64, ids)
    try:
        toks_c = greedy_generate(m64, ids)
    except Exception as e:
        log(f"  generate() failed: {e!r}")
        toks_c = [-1] * N_GEN
    with open(os.path.join(ref_dir, "ref.bin"), "wb") as f:
        f.write(b"UQREF001")
        f.write(struct.pack("<4i", N_PROMPT, c["vocab_size"], N_GEN, 1 if toks_c == toks_nc else 0))
        f.write(struct.pack("<%di" % N_PROMPT, *ids[0].tolist()))
        f.write(logits.float().numpy().astype("<f4").tobytes())
        f.write(struct.pack("<%di" % N_GEN, *toks_c))
        f.write(struct.pack("<%di" % N_GEN, *toks_nc))
        f.write(struct.pack("<%df" % N_GEN, *margins))
    log(f"{key}: ref.bin: generate == no-cache {toks_c == toks_nc}, min margin {min(margins):.3g}")

    info = {}
    tj = os.path.join(run_dir, "train.json")
    if os.path.exists(tj):
        info["training"] = json.load(open(tj))
    info.update(dict(same_loss=dict(windows="first 16 x 512 test tokens", transformers=loss_hf, lm_py=loss_me,
                                    rel_diff=abs(loss_hf - loss_me) / loss_hf, max_abs_logit_diff=max_dlogit),
                     heldout=ppl, heldout_measured_by="transformers %s, bf16 weights loaded as float32, TF32 off, "
                     "on %s" % (transformers.__version__, dev),
                     c_test_slice=dict(ppl=pref["ppl"], window=256, n_windows=8),
                     autotokenizer_matches=auto_ok, samples=samples,
                     params_stored=sum(v.numel() for v in sd.values())))
    with open(os.path.join(out, "eval.json"), "w") as f:
        json.dump(info, f, indent=1)
    log(f"{key}: export done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
