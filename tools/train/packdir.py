#!/usr/bin/env python3
"""packdir.py - lossless compact transport of a model directory (bf16 safetensors compress
poorly as a whole: their low bytes are noise, their high bytes - sign and exponent - are not).

    python3 tools/train/packdir.py pack DIR OUT_PREFIX [--part-mib 15]   # OUT_PREFIX.00, .01, ...
    python3 tools/train/packdir.py unpack OUT_PREFIX DEST_DIR            # checks every sha256

Container: b"UQPACK01", u64 header length, JSON header (files: name, size, sha256, codec,
stored length), then the payloads. Codec "split16": the byte pairs of the tensor data of a
safetensors file with only 2-byte dtypes are stored as their low bytes (raw) followed by
their high bytes (lzma); the safetensors header in front stays as is. Codec "xz": lzma.
"""
import hashlib
import json
import lzma
import os
import struct
import sys

MAGIC = b"UQPACK01"


def enc_split16(raw):
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    if any(v["dtype"] not in ("BF16", "F16") for k, v in head.items() if k != "__metadata__"):
        return None
    body = raw[8 + n:]
    if len(body) % 2:
        return None
    lo, hi = body[0::2], body[1::2]
    hz = lzma.compress(hi, preset=3)
    return struct.pack("<QQ", 8 + n, len(hz)) + raw[:8 + n] + lo + hz


def dec_split16(blob):
    hlen, hzlen = struct.unpack("<QQ", blob[:16])
    head = blob[16:16 + hlen]
    rest = blob[16 + hlen:]
    lo, hi = rest[:len(rest) - hzlen], lzma.decompress(rest[len(rest) - hzlen:])
    body = bytearray(2 * len(lo))
    body[0::2], body[1::2] = lo, hi
    return head + bytes(body)


def pack(d, prefix, part_mib=15):
    files, blobs = [], []
    for nm in sorted(os.listdir(d)):
        p = os.path.join(d, nm)
        if not os.path.isfile(p):
            continue
        raw = open(p, "rb").read()
        blob, codec = (enc_split16(raw), "split16") if nm.endswith(".safetensors") else (None, "")
        if blob is None:
            blob, codec = lzma.compress(raw, preset=6), "xz"
        files.append(dict(name=nm, size=len(raw), sha256=hashlib.sha256(raw).hexdigest(), codec=codec,
                          stored=len(blob)))
        blobs.append(blob)
    h = json.dumps(dict(dir=os.path.basename(os.path.normpath(d)), files=files)).encode()
    data = MAGIC + struct.pack("<Q", len(h)) + h + b"".join(blobs)
    step = part_mib << 20
    names = []
    for i in range(0, len(data), step):
        nm = f"{prefix}.{i // step:02d}"
        with open(nm, "wb") as f:
            f.write(data[i:i + step])
        names.append(nm)
    total = sum(x["size"] for x in files)
    print(f"packed {d}: {total} bytes -> {len(data)} ({len(data) / max(1, total):.3f}) in {len(names)} part(s)",
          flush=True)
    return names


def unpack(prefix, dest):
    parts, i = [], 0
    while os.path.exists(f"{prefix}.{i:02d}"):
        parts.append(open(f"{prefix}.{i:02d}", "rb").read())
        i += 1
    data = b"".join(parts)
    if data[:8] != MAGIC:
        sys.exit("not a UQPACK01 container")
    hl = struct.unpack("<Q", data[8:16])[0]
    h = json.loads(data[16:16 + hl])
    off = 16 + hl
    os.makedirs(dest, exist_ok=True)
    for f in h["files"]:
        blob = data[off:off + f["stored"]]
        off += f["stored"]
        raw = dec_split16(blob) if f["codec"] == "split16" else lzma.decompress(blob)
        if len(raw) != f["size"] or hashlib.sha256(raw).hexdigest() != f["sha256"]:
            sys.exit(f"{f['name']}: checksum mismatch")
        with open(os.path.join(dest, f["name"]), "wb") as g:
            g.write(raw)
    print(f"unpacked {len(h['files'])} files into {dest}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "pack":
        pm = int(sys.argv[sys.argv.index("--part-mib") + 1]) if "--part-mib" in sys.argv else 15
        pack(sys.argv[2], sys.argv[3], pm)
    elif sys.argv[1] == "unpack":
        unpack(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
