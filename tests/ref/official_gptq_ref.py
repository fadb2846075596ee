#!/usr/bin/env python3
"""official_gptq_ref.py - the integers the OFFICIAL UniQL quantizers give on fixed matrices, for
tests/test_gptq.c ("official oracle") to compare with uniql.h's UNIQL_SCALE_OFFICIAL paths.

    python3 tests/ref/official_gptq_ref.py OFFICIAL_DIR OUT.bin

OFFICIAL_DIR  a checkout of github.com/enyac-group/UniQL (commit 4634bde), e.g.
              /work/.mirror/enyac-group+UniQL/repo exported with `git archive`, or a folder
              holding just OFFICIAL_DIR/quantize/gptq.py and
              OFFICIAL_DIR/quantize/quant_embedding_layers.py. The files are read at run time
              and never copied into this repository. Taken from them, by their definitions
              (so that the modules' imports - the repository's CUDA extensions quant_linear_cuda
              and quant_embedding_cuda - are not needed):
                gptq.py: get_per_channel_scale, quant and the class GPTQ (add_batch, fasterquant)
                quant_embedding_layers.py: the body of W4A16QuantEmbedding.from_fp16 is not
                  runnable without its CUDA module, so its two quantizing lines are evaluated
                  from their source text (the `scales = ...` and `embed_qw = ...` assignments).
              torch.cuda.synchronize / empty_cache are replaced by no-ops: everything runs on
              the CPU in float32 (fasterquant's own dtype for a float32 layer).

The matrices are CONSTRUCTED, from a splitmix64 stream that tests/test_gptq.c reproduces bit for
bit (gptq_oracle_case there), so no input file is needed and the Hessian is the same on both
sides: X (T x D) and W (R x D) hold small integers times powers of two, so H = X^T X is exact in
float32 as well as in double (every partial sum < 2^24). Features that matter for GPTQ: outlier
input channels (x 2, 4, 8), a shared component that correlates a subset of inputs, a dead input
(case 0: H_jj = 0), T < D (case 1: H singular, damping decides), a partial last group (case 2),
heavy-tailed weights with an outlier row.

    case  kind  R    D    T    notes
    0     gptq  64   256  256  dead input 5
    1     gptq  48   384  256  H rank <= 256
    2     gptq  32   200  320  last group 72 wide
    3     embed 80   96   -    per-row 4-bit embedding (no calibration)

GPTQ runs as quantize/quantize_model.py calls it: GPTQ(nn.Linear) ; add_batch(layer, (X[None],),
None) once (one sequence of T tokens, so H = X^T X exactly); fasterquant(group_size=128,
percdamp=0.01, w_bits=4). Codes are recovered from the returned fake-quantized weight and
group_scale: code = round(Q / s) + 8 (exact, Q = (code - 8) * s in float32; s = 0 -> 8).

OUT.bin (little-endian): "UQGR" u32 version=1 u32 n_cases, then per case
    u32 kind (0 gptq, 1 embed), u32 rows, u32 cols, u32 group (128; embed: cols), u32 tokens,
    codes: rows * cols nibbles in row-major order, two per byte (element 2i low nibble,
           2i+1 high nibble; a last odd nibble in a byte whose high half is 0), codes in [0, 15]
    scales: rows * ceil(cols / group) float32, row-major (the official fp32 s before any fp16
            rounding)
Prints one line per case (sizes, code histogram ends, a checksum) and "wrote OUT.bin".
Runs in about a second on one CPU core.
"""
import ast
import math
import struct
import sys

import torch
import torch.nn as nn

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.s = seed & MASK

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n


CASES = [  # kind, rows, cols, tokens, seed, dead input (-1: none)
    ("gptq", 64, 256, 256, 101, 5),
    ("gptq", 48, 384, 256, 102, -1),
    ("gptq", 32, 200, 320, 103, -1),
    ("embed", 80, 96, 0, 104, -1),
]


def make_case(rows, cols, tokens, seed, dead):
    """W (rows x cols) and X (tokens x cols) as lists of floats; the C test has the same code."""
    r = SplitMix64(seed)
    shift = [1 << [0, 0, 0, 1, 2, 3][r.below(6)] for _ in range(cols)]   # input channel scale
    shared = [r.below(2) for _ in range(cols)]                            # in the shared component
    X = []
    for t in range(tokens):
        c = int(r.below(7)) - 3
        X.append([0.0 if j == dead else float(shift[j] * (int(r.below(15)) - 7 + c * shared[j])) for j in range(cols)])
    out_row = r.below(rows)
    W = []
    for i in range(rows):
        row = []
        for j in range(cols):
            k = (int(r.below(31)) - 15) * (1 + int(r.below(4)))          # heavy-ish tail, |k| <= 60
            if r.below(64) == 0:
                k *= 4                                                     # sparse outliers
            if i == out_row:
                k *= 2
            row.append(k / 256.0)
        W.append(row)
    return W, X


def official_namespace(official_dir):
    ns = {"torch": torch, "nn": nn, "math": math, "gc": __import__("gc")}

    class HadLinear(nn.Module):   # only named in an isinstance check of GPTQ.__init__
        pass

    ns["HadLinear"] = HadLinear
    path = official_dir + "/quantize/gptq.py"
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    want = {"get_per_channel_scale", "quant", "GPTQ"}
    body = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in want]
    if {n.name for n in body} != want:
        raise SystemExit("%s: missing %s" % (path, sorted(want - {n.name for n in body})))
    exec(compile(ast.Module(body=body, type_ignores=[]), path, "exec"), ns)

    path = official_dir + "/quantize/quant_embedding_layers.py"
    with open(path) as f:
        src = f.read()
    lines = [ln.strip() for ln in src.splitlines()]
    emb = [ln for ln in lines if ln.startswith("scales = embed_w") or ln.startswith("embed_qw = torch.round(")]
    if len(emb) != 2:
        raise SystemExit("%s: the two quantizing lines of from_fp16 not found" % path)
    ns["embed_lines"] = emb
    return ns


def run_gptq(ns, W, X):
    rows, cols = len(W), len(W[0])
    layer = nn.Linear(cols, rows, bias=False)
    layer.weight.data = torch.tensor(W, dtype=torch.float32)
    g = ns["GPTQ"](layer)
    g.add_batch(layer, (torch.tensor(X, dtype=torch.float32)[None],), None)
    g.fasterquant(group_size=128, percdamp=0.01, w_bits=4)
    Q = layer.weight.data.to(torch.float32)
    S = layer.group_scale.t().contiguous()          # [n_groups, out] -> [out, n_groups]
    gidx = torch.arange(cols) // 128
    s_full = S[:, gidx]
    code = torch.where(s_full == 0, torch.full_like(Q, 8.0), torch.round(Q / torch.where(s_full == 0, torch.ones_like(s_full), s_full)) + 8)
    # the recovery is exact: check that (code - 8) * s gives back Q bit for bit
    back = (code - 8) * s_full
    assert torch.equal(back, Q), "code recovery is not exact"
    return code.to(torch.int64), S


def run_embed(ns, W):
    env = {"torch": torch, "embed_w": torch.tensor(W, dtype=torch.float32), "max_val": 16, "zero_point": 8}
    for ln in ns["embed_lines"]:
        exec(ln, env)
    return env["embed_qw"].to(torch.int64), env["scales"].to(torch.float32)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    official_dir, out_path = sys.argv[1], sys.argv[2]
    torch.cuda.synchronize = lambda *a, **k: None
    torch.cuda.empty_cache = lambda *a, **k: None
    torch.set_num_threads(1)
    ns = official_namespace(official_dir)
    blob = bytearray(b"UQGR" + struct.pack("<II", 1, len(CASES)))
    for ci, (kind, rows, cols, tokens, seed, dead) in enumerate(CASES):
        W, X = make_case(rows, cols, tokens, seed, dead)
        if kind == "gptq":
            code, S = run_gptq(ns, W, X)
            group = 128
        else:
            code, S = run_embed(ns, W)
            group = cols
        assert int(code.min()) >= 0 and int(code.max()) <= 15
        flat = code.flatten().tolist()
        if len(flat) % 2:
            flat.append(0)
        blob += struct.pack("<5I", 0 if kind == "gptq" else 1, rows, cols, group, tokens)
        blob += bytes(flat[2 * i] | flat[2 * i + 1] << 4 for i in range(len(flat) // 2))
        sc = S.flatten().tolist()
        blob += struct.pack("<%df" % len(sc), *sc)
        n0 = sum(1 for v in flat[: rows * cols] if v == 0)
        n15 = sum(1 for v in flat[: rows * cols] if v == 15)
        print("case %d %s %dx%d tokens %d: codes 0: %d, 15: %d, sum %d, scale sum %.6f" %
              (ci, kind, rows, cols, tokens, n0, n15, sum(flat), sum(sc)), flush=True)
    with open(out_path, "wb") as f:
        f.write(blob)
    print("wrote %s (%d bytes)" % (out_path, len(blob)))


if __name__ == "__main__":
    main()
