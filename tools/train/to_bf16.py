# to_bf16.py IN.safetensors OUT.safetensors: every tensor as BF16 (round to nearest even),
# so the export fits the device transfer; the GPU trains under bf16 autocast anyway.
import json, struct, sys
import numpy as np
src, dst = sys.argv[1:3]
buf = open(src, "rb").read()
(n,) = struct.unpack("<Q", buf[:8]); hdr = json.loads(buf[8:8 + n]); base = 8 + n
out, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
for k in sorted(x for x in hdr if x != "__metadata__"):
    t = hdr[k]; b, e = t["data_offsets"]; assert t["dtype"] == "F32"
    u = np.frombuffer(buf[base + b:base + e], dtype="<u4").astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2").tobytes()
    out[k] = {"dtype": "BF16", "shape": t["shape"], "data_offsets": [off, off + len(r)]}; off += len(r); blobs.append(r)
h = json.dumps(out, separators=(",", ":")).encode(); h += b" " * (-len(h) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h); [f.write(x) for x in blobs]
