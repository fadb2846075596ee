"""test_uqmask.py - unit checks of the recovery trainer that run without a GPU and without
transformers (torch >= 1.13 on CPU): `make test-recover-py`.

The committed exports of tests/data/recover (made by tools/pack --export-hf from the tiny
reference models) are the inputs. What the C side checks against these modules is in
tests/test_recover.c (masked forward == pruned model); here:
  - safetensors read/write round trip, bit for bit;
  - a zero LoRA merges to the exported weights bit for bit, and the saved checkpoint packs
    (tools/pack --order) to the same .uniql bytes as the export itself;
  - the masks: q/k keep whole RoPE pairs (i, i + head_dim/2) of the ranking's prefix, per
    KV head, shared by its query heads; v / MLP / Mamba masks are prefixes of the sizes;
  - an all-ones mask is the unmasked model; masked slices get no gradient in LoRA;
  - the chunked SSD scan equals the step-by-step recurrence (uneven lengths, padding);
  - a few training steps run end to end and write a loadable checkpoint, also with
    --distill-full (its teacher, the forward with the adapters switched off, is the model
    before add_lora bit for bit).
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import uqmask  # noqa: E402

DATA = os.path.join(ROOT, "tests", "data", "recover")
FAMS = ["llama", "mamba2", "nemotron_h"]
PACK = os.path.join(ROOT, "build", "pack")


class SafetensorsIO(unittest.TestCase):
    def test_round_trip(self):
        W = uqmask.st_read(os.path.join(DATA, "llama", "model.safetensors"))
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.safetensors")
            uqmask.st_write(p, W)
            W2 = uqmask.st_read(p)
        self.assertEqual(sorted(W), sorted(W2))
        for k in W:
            self.assertEqual(W[k].shape, W2[k].shape)
            self.assertTrue(np.array_equal(W[k].view(np.uint32), W2[k].view(np.uint32)), k)

    def test_bf16_and_f16_decode(self):
        vals = np.array([1.0, -2.5, 0.1, 65504.0], dtype=np.float32)
        bf = (vals.view(np.uint32) >> 16).astype("<u2")   # truncation: exact for these?
        hdr = {"a": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]},
               "b": {"dtype": "F16", "shape": [2, 2], "data_offsets": [8, 16]}}
        h = json.dumps(hdr).encode()
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "y.safetensors")
            with open(p, "wb") as f:
                f.write(len(h).to_bytes(8, "little") + h + bf.tobytes() + vals.astype("<f2").tobytes())
            W = uqmask.st_read(p)
        self.assertTrue(np.array_equal(W["a"], (bf.astype(np.uint32) << 16).view(np.float32)))
        self.assertTrue(np.array_equal(W["b"].reshape(-1), vals.astype(np.float16).astype(np.float32)))


class Masks(unittest.TestCase):
    def test_shapes_and_pairs(self):
        for fam in FAMS:
            c, W, order, model = uqmask.load_export(os.path.join(DATA, fam))
            for ri in range(len(order["rates"])):
                ms = uqmask.kept_masks(c, order, ri)
                for l, m in enumerate(ms):
                    qk, vd, di, hdk, st = order["kept"][ri][l]
                    blk = c.blocks[l]
                    if blk in "D*":
                        self.assertEqual(int(m["k"].sum()), c.n_kv * qk)
                        self.assertEqual(int(m["q"].sum()), c.n_heads * qk)
                        for h in range(c.n_heads):
                            self.assertTrue(torch.equal(m["q"][h], m["k"][h // (c.n_heads // c.n_kv)]))
                        if c.rope:
                            half = c.head_dim // 2
                            self.assertTrue(torch.equal(m["k"][:, :half], m["k"][:, half:]))   # whole pairs
                            for g in range(c.n_kv):
                                kept = sorted(int(i) for i in torch.nonzero(m["k"][g, :half]).flatten())
                                self.assertEqual(kept, sorted(order["rope_pairs"][l][g][:qk // 2]))
                        else:
                            self.assertTrue(torch.all(m["k"][:, :qk] == 1) and torch.all(m["k"][:, qk:] == 0))
                        self.assertTrue(torch.all(m["v"][:, :vd] == 1) and torch.all(m["v"][:, vd:] == 0))
                    if blk in "D-":
                        self.assertEqual(int(m["mlp"].sum()), di)
                        self.assertEqual(float(m["mlp"][:di].min()), 1.0)
                    if blk == "M":
                        xm = m["x"].view(c.ssm_heads, c.ssm_hd)
                        self.assertTrue(torch.all(xm[:, :hdk] == 1) and torch.all(xm[:, hdk:] == 0))
                        sm = m["state"].view(c.ssm_groups, c.ssm_state)
                        self.assertTrue(torch.all(sm[:, :st] == 1) and torch.all(sm[:, st:] == 0))
                        self.assertEqual(m["norm_count"], c.ssm_heads // c.norm_groups * hdk)

    def test_all_ones_mask_is_the_full_model(self):
        for fam in FAMS:
            c, W, order, model = uqmask.load_export(os.path.join(DATA, fam))
            ms = uqmask.kept_masks(c, order, 0)
            for m in ms:
                for k in list(m):
                    if k == "norm_count":
                        m[k] = (c.ssm_heads // c.norm_groups) * c.ssm_hd
                    else:
                        m[k] = torch.ones_like(m[k])
            x = torch.tensor([list(b"all ones is no mask at all")])
            with torch.no_grad():
                self.assertTrue(torch.allclose(model(x, ms), model(x), rtol=0, atol=1e-6), fam)

    def test_masked_slices_get_no_lora_gradient(self):
        c, W, order, model = uqmask.load_export(os.path.join(DATA, "llama"))
        model.add_lora(8, 16, 0.0, seed=1)
        ri = len(order["rates"]) - 1
        ms = uqmask.kept_masks(c, order, ri)
        x = torch.tensor([list(b"gradients stop at the mask")])
        # B = 0 gives A no gradient at the first step: nudge B so both are live
        for p in model.lora_parameters():
            if p.shape[1] == 8:
                torch.nn.init.normal_(p, std=0.01)
        loss = torch.nn.functional.cross_entropy(model(x, ms)[0, :-1], x[0, 1:])
        loss.backward()
        for l, ly in enumerate(model.layers):
            qk, vd, di, _, _ = order["kept"][ri][l]
            gB = ly.up.lora_B.grad
            self.assertGreater(float(gB[:di].abs().sum()), 0)
            self.assertEqual(float(gB[di:].abs().sum()), 0.0)   # masked MLP channels
            gv = ly.v.lora_B.grad.view(c.n_kv, c.head_dim, -1)
            self.assertEqual(float(gv[:, vd:].abs().sum()), 0.0)
            gk = ly.k.lora_B.grad.view(c.n_kv, c.head_dim, -1)
            self.assertEqual(float((gk * (1 - ms[l]["k"])[..., None]).abs().sum()), 0.0)


class Scan(unittest.TestCase):
    def test_chunked_scan_equals_recurrence(self):
        c, W, order, model = uqmask.load_export(os.path.join(DATA, "mamba2"))
        g = torch.Generator().manual_seed(3)
        b, T, H, P, N = 2, 37, 3, 4, 5
        x = torch.randn(b, T, H, P, generator=g, dtype=torch.float64)
        dt = torch.rand(b, T, H, generator=g, dtype=torch.float64) * 0.5
        A = -torch.rand(H, generator=g, dtype=torch.float64) * 2
        Bm = torch.randn(b, T, H, N, generator=g, dtype=torch.float64)
        Cm = torch.randn(b, T, H, N, generator=g, dtype=torch.float64)
        for chunk in (8, 16, 64):
            model.chunk = chunk
            y = model.ssd_scan(x, dt, A, Bm, Cm)
            S = torch.zeros(b, H, P, N, dtype=torch.float64)
            ref = torch.zeros_like(x)
            for t in range(T):
                S = S * torch.exp(dt[:, t] * A)[..., None, None] + (dt[:, t, :, None, None] * x[:, t, :, :, None] * Bm[:, t, :, None, :])
                ref[:, t] = torch.einsum("bhpn,bhn->bhp", S, Cm[:, t])
            self.assertLess(float((y - ref).abs().max()), 1e-10, chunk)


class LoRAMerge(unittest.TestCase):
    def test_zero_lora_merges_to_the_export_and_packs_the_same(self):
        for fam in FAMS:
            src = os.path.join(DATA, fam)
            c, W, order, model = uqmask.load_export(src)
            model.add_lora(8, 16, 0.05, seed=7)
            M = model.merged_state(W)
            for k in W:
                self.assertTrue(np.array_equal(W[k].view(np.uint32), np.asarray(M[k], np.float32).view(np.uint32)), k)
            if not os.path.exists(PACK):
                continue
            with tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "m")
                os.makedirs(out)
                uqmask.st_write(os.path.join(out, "model.safetensors"), M)
                for f in ("config.json", "order.json"):
                    with open(os.path.join(src, f), "rb") as a, open(os.path.join(out, f), "wb") as b:
                        b.write(a.read())
                subprocess.run([PACK, "-q", "--order", os.path.join(src, "order.json"), src, os.path.join(d, "a.uniql")], check=True)
                subprocess.run([PACK, "-q", "--order", os.path.join(out, "order.json"), out, os.path.join(d, "b.uniql")], check=True)
                with open(os.path.join(d, "a.uniql"), "rb") as fa, open(os.path.join(d, "b.uniql"), "rb") as fb:
                    self.assertEqual(fa.read(), fb.read(), fam)

    def test_merge_is_w_plus_scaled_ba(self):
        c, W, order, model = uqmask.load_export(os.path.join(DATA, "nemotron_h"))
        model.add_lora(8, 16, 0.0, seed=2)
        for p in model.lora_parameters():
            torch.nn.init.normal_(p, std=0.1)
        x = torch.tensor([list(b"merged == adapter")])
        with torch.no_grad():
            y1 = model(x)
            m2 = uqmask.UQModel(c, model.merged_state(W))
            y2 = m2(x)
        self.assertLess(float((y1 - y2).abs().max() / y1.abs().max()), 1e-5)


class AdaptersOff(unittest.TestCase):
    def test_adapters_off_is_the_base_model(self):
        for fam in FAMS:
            c, W, order, model = uqmask.load_export(os.path.join(DATA, fam))
            x = torch.tensor([list(b"the teacher is the model before recovery")])
            ms = uqmask.kept_masks(c, order, len(order["rates"]) - 1)
            with torch.no_grad():
                base, base_m = model(x), model(x, ms)
            model.add_lora(8, 16, 0.05, seed=5)
            for p in model.lora_parameters():
                torch.nn.init.normal_(p, std=0.1)
            model.train()    # dropout on: it must not reach the adapters-off forward either
            with torch.no_grad():
                with model.adapters_off():
                    off, off_m = model(x), model(x, ms)
                model.eval()
                on = model(x)
            self.assertTrue(torch.equal(off, base), fam)        # same operations, same bits
            self.assertTrue(torch.equal(off_m, base_m), fam)
            self.assertGreater(float((on - base).abs().max()), 1e-3, fam)   # the adapters are back on
            self.assertTrue(all(p.lora_on for _, _, p in model.projections()))


class TrainSmoke(unittest.TestCase):
    @staticmethod
    def train(d, fam, *extra):
        """14 steps of `recover.py train` on the test model `fam` (CPU); returns (out dir, recover.json)"""
        import recover
        toks = os.path.join(d, "t.bin")
        with open(os.path.join(ROOT, "data", "calib.txt"), "rb") as f, open(toks, "wb") as g:
            g.write(f.read()[:20000])
        out = os.path.join(d, "out")
        sys.argv = ["recover.py", "train", os.path.join(DATA, fam), out, "--tokens", toks, "--test-tokens", toks,
                    "--seconds", "25", "--reserve", "5", "--steps", "14", "--batch", "2", "--seq", "40",
                    "--eval-windows", "2", "--warmup", "3", "--device", "cpu", *extra]
        recover.main()
        with open(os.path.join(out, "recover.json")) as f:
            return out, json.load(f)

    def test_a_few_steps_end_to_end(self):
        import recover
        with tempfile.TemporaryDirectory() as d:
            out, rec = self.train(d, "mamba2")
            self.assertEqual(rec["steps"], 14)
            self.assertEqual(set(rec["ppl_after"]), {"0", "0.15", "0.35"})
            W = uqmask.st_read(os.path.join(out, "model.safetensors"))
            W0 = uqmask.st_read(os.path.join(DATA, "mamba2", "model.safetensors"))
            changed = [k for k in W if not np.array_equal(W[k], W0[k])]
            self.assertTrue(changed and all(k.endswith("proj.weight") for k in changed), changed)
            if os.path.exists(PACK):
                subprocess.run([PACK, "-q", "--order", os.path.join(out, "order.json"), out, os.path.join(d, "r.uniql")], check=True)
            # the saved adapters merge again to the same checkpoint
            sys.argv = ["recover.py", "merge", os.path.join(DATA, "mamba2"), os.path.join(out, "lora.safetensors"), out + "2"]
            recover.main()
            W2 = uqmask.st_read(os.path.join(out + "2", "model.safetensors"))
            for k in W:
                self.assertTrue(np.array_equal(W[k], W2[k]), k)
            self.assertEqual(rec["distill_full"], 0.0)
            self.assertNotIn("kl_first", rec)

    def test_distill_full(self):
        with tempfile.TemporaryDirectory() as d:
            out, rec = self.train(d, "nemotron_h", "--distill-full", "1.0")
            self.assertEqual(rec["steps"], 14)
            self.assertEqual(rec["distill_full"], 1.0)
            # the first step's student is the teacher (B = 0): KL 0; then the adapters move
            self.assertGreaterEqual(rec["kl_first"], 0.0)
            self.assertTrue(np.isfinite(rec["kl_last"]))
            W = uqmask.st_read(os.path.join(out, "model.safetensors"))
            W0 = uqmask.st_read(os.path.join(DATA, "nemotron_h", "model.safetensors"))
            self.assertTrue(any(not np.array_equal(W[k], W0[k]) for k in W))


if __name__ == "__main__":
    unittest.main()
