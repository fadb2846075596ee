#!/usr/bin/env python3
"""bpe_tokenizer.py - train the suite's byte-level BPE tokenizer with Hugging Face
`tokenizers` and encode the corpus splits into token ids.

    python3 tools/train/bpe_tokenizer.py train CORPUS_DIR OUT_DIR     # OUT_DIR/tokenizer.json + tokenizer_config.json
    python3 tools/train/bpe_tokenizer.py encode TOKENIZER_JSON CORPUS_DIR OUT_DIR [--splits train,calib,test]
    python3 tools/train/bpe_tokenizer.py determinism CORPUS_DIR N_BYTES   # train twice on a prefix, compare

Tokenizer (Llama-3 style, built from its parts):
  normalizer     NFC
  pre-tokenizer  Split on the Llama-3 / cl100k regex (isolated), then ByteLevel
                 (add_prefix_space False, no regex of its own)
  model          BPE over the 256 byte symbols, vocabulary 8192 = 2 special tokens
                 (<|begin_of_text|> = 0, <|end_of_text|> = 1) + 256 bytes + 7934 merges,
                 min_frequency 2, trained on the documents of train.txt only
  post-processor TemplateProcessing: <|begin_of_text|> before every encoding
  decoder        ByteLevel

Token streams (what the models are trained and evaluated on): each document of a split
(CORPUS_DIR/<split>.txt holds documents separated by an empty line; a document is its
lines, each ending in "\\n") is encoded with the special tokens (so it starts with
<|begin_of_text|>) and followed by <|end_of_text|>; the streams of all documents are
concatenated in file order. Written as little-endian uint16 to OUT_DIR/<split>.u16 with
OUT_DIR/<split>.json (count, sha256 of the text and of tokenizer.json).
"""
import hashlib
import json
import os
import sys
import time

VOCAB = 8192
BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"
# the pre-tokenizer regex of Llama 3 (and tiktoken's cl100k_base)
SPLIT_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
            r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def documents(path):
    text = open(path, encoding="utf-8").read()
    # the file is the documents, each followed by "\n": "p1\np2\n\np3\n\n" -> "p1\np2\n", "p3\n"
    return [d + "\n" for d in text.split("\n\n") if d]


def build(train_docs):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_RE), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=2, show_progress=False,
                                  special_tokens=[BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(train_docs, trainer=trainer, length=len(train_docs))
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
                                                       special_tokens=[(BOS, tok.token_to_id(BOS))])
    assert tok.token_to_id(BOS) == 0 and tok.token_to_id(EOS) == 1 and tok.get_vocab_size() == VOCAB
    return tok


TOKENIZER_CONFIG = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": BOS, "eos_token": EOS,
                    "add_bos_token": True, "add_eos_token": False, "clean_up_tokenization_spaces": False,
                    "model_max_length": 2048}


def cmd_train(corpus, out):
    t0 = time.time()
    docs = documents(os.path.join(corpus, "train.txt"))
    tok = build(docs)
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(TOKENIZER_CONFIG, f, indent=1)
        f.write("\n")
    sha = hashlib.sha256(open(os.path.join(out, "tokenizer.json"), "rb").read()).hexdigest()
    print(f"tokenizer: {len(docs)} training documents, vocab {tok.get_vocab_size()}, "
          f"{time.time() - t0:.1f}s, tokenizer.json sha256 {sha}", flush=True)
    return sha


def cmd_encode(tok_path, corpus, out, splits):
    import numpy as np
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(tok_path)
    eos = tok.token_to_id(EOS)
    tsha = hashlib.sha256(open(tok_path, "rb").read()).hexdigest()
    os.makedirs(out, exist_ok=True)
    for sp in splits:
        t0 = time.time()
        path = os.path.join(corpus, sp + ".txt")
        docs = documents(path)
        encs = tok.encode_batch(docs, add_special_tokens=True)
        n = sum(len(e.ids) + 1 for e in encs)
        arr = np.empty(n, dtype=np.uint16)
        i = 0
        for e in encs:
            k = len(e.ids)
            arr[i:i + k] = e.ids
            arr[i + k] = eos
            i += k + 1
        arr.astype("<u2").tofile(os.path.join(out, sp + ".u16"))
        nbytes = os.path.getsize(path)
        info = dict(split=sp, text=os.path.basename(path),
                    text_sha256=hashlib.sha256(open(path, "rb").read()).hexdigest(),
                    tokenizer_sha256=tsha, documents=len(docs), tokens=int(n), text_bytes=nbytes,
                    bytes_per_token=nbytes / n,
                    definition="per document: encode(doc, add_special_tokens=True) + [<|end_of_text|>], "
                               "concatenated in file order; little-endian uint16")
        with open(os.path.join(out, sp + ".json"), "w") as f:
            json.dump(info, f, indent=1)
            f.write("\n")
        print(f"encode {sp}: {len(docs)} documents, {n} tokens, {nbytes / n:.3f} bytes/token, "
              f"{time.time() - t0:.1f}s", flush=True)


def cmd_determinism(corpus, nbytes):
    docs, total = [], 0
    for d in documents(os.path.join(corpus, "train.txt")):
        docs.append(d)
        total += len(d)
        if total >= nbytes:
            break
    a = build(docs).to_str()
    b = build(docs).to_str()
    print(f"determinism: two trainings on {len(docs)} documents ({total} chars) give "
          f"{'identical' if a == b else 'DIFFERENT'} tokenizer.json", flush=True)
    return a == b


def main():
    cmd = sys.argv[1]
    if cmd == "train":
        cmd_train(sys.argv[2], sys.argv[3])
    elif cmd == "encode":
        splits = ["train", "calib", "test"]
        if "--splits" in sys.argv:
            splits = sys.argv[sys.argv.index("--splits") + 1].split(",")
        cmd_encode(sys.argv[2], sys.argv[3], sys.argv[4], splits)
    elif cmd == "determinism":
        sys.exit(0 if cmd_determinism(sys.argv[2], int(sys.argv[3])) else 1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
