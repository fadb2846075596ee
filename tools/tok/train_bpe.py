#!/usr/bin/env python3
"""train_bpe.py - a small BPE trainer (Python standard library only) that writes the
project's own test tokenizers as Hugging Face tokenizer.json files:

    python3 tools/tok/train_bpe.py sp  data/calib.txt tests/data/tok/uq-sp   [--vocab 1024]
    python3 tools/tok/train_bpe.py bl  data/calib.txt tests/data/tok/uq-bl   [--vocab 1024]

sp: SentencePiece style (what Llama 2 / Mistral / Gemma files look like): NFC normalizer,
    Metaspace pre-tokenizer (U+2581, prepend_scheme "first", split), BPE with
    byte_fallback to <0x00>..<0xFF>, <unk> (fuse_unk), TemplateProcessing "<s> A",
    decoder Metaspace + ByteFallback + Fuse.
bl: byte-level (what Llama 3 / Qwen files look like): NFC normalizer, Split with the
    Llama 3 regex (Isolated) + ByteLevel, BPE over the GPT-2 byte alphabet,
    TemplateProcessing "<|bos|> A", ByteLevel decoder.

Training: words are counted once (the split below approximates the tokenizers' own
pre-tokenization with Python's re, which has no \\p{L}; the merges are valid for any
input because the model applies them by rank), then the most frequent adjacent pair is
merged until the vocabulary is full (ties: the pair that sorts first, so the result is
deterministic). Each merge updates only the words that hold the pair. The training text
data/calib.txt comes from the Python documentation (PSF licence, data/PSF-LICENSE.txt).
"""
import argparse
import collections
import json
import os
import re
import sys
import unicodedata

META = "\u2581"
LLAMA3_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+")
TRAIN_RE = re.compile(r"'(?:[sdmtSDMT]|ll|ve|re|LL|VE|RE)|[^\r\n\w]?[^\W\d_]+|\d{1,3}| ?[^\s\w]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def bytes_to_unicode():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def train(words, alphabet, n_merges):
    """words: Counter of tuples of symbols. Returns the merges in order."""
    words = {w: c for w, c in words.items()}
    seqs = [list(w) for w in words]
    counts = list(words.values())
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for i, s in enumerate(seqs):
        for a, b in zip(s, s[1:]):
            pairs[(a, b)] += counts[i]
            where[(a, b)].add(i)
    merges = []
    for _ in range(n_merges):
        if not pairs:
            break
        c = max(pairs.values())
        a, b = min(p for p, n in pairs.items() if n == c)
        if c < 2:
            break
        merges.append((a, b))
        new = a + b
        for i in list(where[(a, b)]):
            s = seqs[i]
            for x, y in zip(s, s[1:]):
                pairs[(x, y)] -= counts[i]
                if pairs[(x, y)] <= 0:
                    del pairs[(x, y)]
                where[(x, y)].discard(i)
            out, j = [], 0
            while j < len(s):
                if j + 1 < len(s) and s[j] == a and s[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(s[j])
                    j += 1
            seqs[i] = out
            for x, y in zip(out, out[1:]):
                pairs[(x, y)] += counts[i]
                where[(x, y)].add(i)
        where.pop((a, b), None)
    return merges


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["sp", "bl"])
    ap.add_argument("text")
    ap.add_argument("out_dir")
    ap.add_argument("--vocab", type=int, default=1024)
    a = ap.parse_args()
    with open(a.text, encoding="utf-8") as f:
        text = unicodedata.normalize("NFC", f.read())
    if a.kind == "sp":
        specials = ["<unk>", "<s>", "</s>"]
        vocab = {s: i for i, s in enumerate(specials)}
        for b in range(256):
            vocab["<0x%02X>" % b] = len(vocab)
        chars = collections.Counter(text.replace(" ", META))
        alphabet = sorted(c for c, n in chars.items() if n >= 2)
        for ch in alphabet:
            vocab.setdefault(ch, len(vocab))
        words = collections.Counter()
        for w in (META + text.replace(" ", META)).split(META):
            if w:
                words[tuple(META + w)] += 1
        keep = set(alphabet)
        words = collections.Counter({w: c for w, c in words.items() if all(ch in keep for ch in w)})
    else:
        bmap = bytes_to_unicode()
        vocab = {bmap[b]: i for i, b in enumerate(sorted(bmap))}
        words = collections.Counter()
        for m in TRAIN_RE.finditer(text):
            words[tuple(bmap[b] for b in m.group(0).encode("utf-8"))] += 1
        specials = ["<|bos|>", "<|eos|>"]
    merges = train(words, None, a.vocab - len(vocab) - (len(specials) if a.kind == "bl" else 0))
    for x, y in merges:
        vocab.setdefault(x + y, len(vocab))
    if a.kind == "bl":
        for s in specials:
            vocab[s] = len(vocab)
    added = [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for s in specials]
    bos = specials[1] if a.kind == "sp" else specials[0]
    eos = specials[2] if a.kind == "sp" else specials[1]
    template = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {bos: {"id": bos, "ids": [vocab[bos]], "tokens": [bos]}}}
    model_vocab = {k: v for k, v in vocab.items() if a.kind == "sp" or k not in specials}
    if a.kind == "sp":
        tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
              "normalizer": {"type": "NFC"},
              "pre_tokenizer": {"type": "Metaspace", "replacement": META, "prepend_scheme": "first", "split": True},
              "post_processor": template,
              "decoder": {"type": "Sequence", "decoders": [
                  {"type": "Metaspace", "replacement": META, "prepend_scheme": "first", "split": True},
                  {"type": "ByteFallback"}, {"type": "Fuse"}]},
              "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                        "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                        "vocab": model_vocab, "merges": ["%s %s" % m for m in merges]}}
    else:
        tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
              "normalizer": {"type": "NFC"},
              "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                  {"type": "Split", "pattern": {"Regex": LLAMA3_RE}, "behavior": "Isolated", "invert": False},
                  {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
              "post_processor": template,
              "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
              "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                        "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                        "vocab": model_vocab, "merges": [[x, y] for x, y in merges]}}
    cfg = {"bos_token": bos, "eos_token": eos, "add_bos_token": True, "add_eos_token": False,
           "model_max_length": 4096, "tokenizer_class": "PreTrainedTokenizerFast"}
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
    with open(os.path.join(a.out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    print("%s: %d tokens, %d merges" % (a.out_dir, len(vocab), len(merges)))


if __name__ == "__main__":
    sys.exit(main())
