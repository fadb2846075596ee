#!/usr/bin/env python3
"""gen_unicode.py - the Unicode tables of uniql.h's tokenizer, from the Debian package
unicode-data (/usr/share/unicode: UnicodeData.txt, CompositionExclusions.txt).

    python3 tools/gen_unicode.py [--ucd /usr/share/unicode] [--header uniql.h]

Rewrites, in place, the part of uniql.h between the lines
    /* BEGIN generated Unicode tables */   and   /* END generated Unicode tables */
(`make unicode-tables`). The tables, all sorted by code point for binary search:
  uniql__uc_gc      general category runs: (first code point << 5) | category, the
                    category numbered as enum uniql_unicode_category (0 = Cn, unassigned)
  uniql__uc_ccc     canonical combining class runs: (first << 8) | class
  uniql__uc_decomp  canonical decompositions c -> (a, b), one level (the full
                    decomposition applies them recursively), b = 0 for a singleton;
                    (c << 43) | (a << 22) | (b << 1) | e, e = 1 when c is excluded from
                    composition (CompositionExclusions.txt, singletons, non-starter
                    decompositions: the full composition exclusion of UAX #15)
  uniql__uc_lower   simple lowercase mappings as runs of code points with one delta:
                    (first << 43) | (count << 31) | (stride << 30) | (delta + 2^29),
                    stride 1 or 2 (the alternating upper/lower blocks of Latin Extended)
Hangul syllables are composed and decomposed arithmetically, not tabled.
"""
import argparse
import os
import re
import sys

CATS = ["Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe",
        "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"]
BEGIN = "/* BEGIN generated Unicode tables */"
END = "/* END generated Unicode tables */"


def read_ucd(path):
    rows = {}
    first = None
    with open(os.path.join(path, "UnicodeData.txt"), encoding="utf-8") as f:
        for ln in f:
            fld = ln.rstrip("\n").split(";")
            cp = int(fld[0], 16)
            if fld[1].endswith(", First>"):
                first = cp
                continue
            if fld[1].endswith(", Last>"):
                for c in range(first, cp + 1):
                    rows[c] = (fld[2], int(fld[3]), "", "")
                continue
            rows[cp] = (fld[2], int(fld[3]), fld[5], fld[13])
    return rows


def version_of(path):
    with open(os.path.join(path, "CompositionExclusions.txt"), encoding="utf-8") as f:
        m = re.search(r"CompositionExclusions-(\d+\.\d+\.\d+)\.txt", f.read(400))
    if not m:
        raise SystemExit("gen_unicode: no version in CompositionExclusions.txt")
    return m.group(1)


def exclusions(path):
    ex = set()
    with open(os.path.join(path, "CompositionExclusions.txt"), encoding="utf-8") as f:
        for ln in f:
            ln = ln.split("#")[0].strip()
            if not ln:
                continue
            if ".." in ln:
                a, b = ln.split("..")
                ex.update(range(int(a, 16), int(b, 16) + 1))
            else:
                ex.add(int(ln, 16))
    return ex


def runs(values, pack):
    out, prev = [], None
    for c in range(0x110000):
        v = values(c)
        if v != prev:
            out.append(pack(c, v))
            prev = v
    return out


def emit(name, ctype, vals, per_line):
    lines = ["static const %s %s[%d] = {" % (ctype, name, len(vals))]
    suffix = "u" if ctype == "uint32_t" else "ull"
    for i in range(0, len(vals), per_line):
        lines.append("    " + ",".join("0x%x%s" % (v, suffix) for v in vals[i:i + per_line]) + ",")
    lines[-1] = lines[-1].rstrip(",")
    lines.append("};")
    return lines


def generate(ucd):
    rows = read_ucd(ucd)
    ver = version_of(ucd)
    ex = exclusions(ucd)
    cat_index = {c: i for i, c in enumerate(CATS)}
    gc = runs(lambda c: cat_index[rows[c][0]] if c in rows else 0, lambda c, v: (c << 5) | v)
    ccc = runs(lambda c: rows[c][1] if c in rows else 0, lambda c, v: (c << 8) | v)
    dec = []
    for c in sorted(rows):
        d = rows[c][2]
        if not d or d.startswith("<"):
            continue
        parts = [int(x, 16) for x in d.split()]
        assert len(parts) in (1, 2), hex(c)
        a, b = parts[0], parts[1] if len(parts) == 2 else 0
        # full composition exclusion: listed, singleton, or non-starter decomposition
        e = c in ex or b == 0 or rows[c][1] != 0 or rows.get(a, ("", 0))[1] != 0
        dec.append((c << 43) | (a << 22) | (b << 1) | int(e))
    low = sorted((c, int(rows[c][3], 16)) for c in rows if rows[c][3])
    lower = []
    i = 0
    while i < len(low):
        c, l = low[i]
        d = l - c
        j, stride = i + 1, 1
        if j < len(low) and low[j][1] - low[j][0] == d and low[j][0] - c in (1, 2):
            stride = low[j][0] - c
            while j < len(low) and low[j][1] - low[j][0] == d and low[j][0] - low[j - 1][0] == stride and j - i < 4095:
                j += 1
        n = j - i
        lower.append((c << 43) | (n << 31) | ((stride - 1) << 30) | (d + (1 << 29)))
        i = j
    out = [BEGIN,
           "/* Unicode %s, generated by tools/gen_unicode.py from the Debian package unicode-data" % ver,
           "   (UnicodeData.txt, CompositionExclusions.txt); do not edit, run `make unicode-tables`. */",
           '#define UNIQL__UNICODE_VERSION "%s"' % ver]
    out += emit("uniql__uc_gc", "uint32_t", gc, 10)
    out += emit("uniql__uc_ccc", "uint32_t", ccc, 10)
    out += emit("uniql__uc_decomp", "uint64_t", dec, 6)
    out += emit("uniql__uc_lower", "uint64_t", lower, 6)
    out.append(END)
    return "\n".join(out) + "\n", ver, (len(gc), len(ccc), len(dec), len(lower))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--ucd", default="/usr/share/unicode")
    ap.add_argument("--header", default=os.path.join(here, "..", "uniql.h"))
    a = ap.parse_args()
    text, ver, sizes = generate(a.ucd)
    with open(a.header, encoding="utf-8") as f:
        h = f.read()
    i, j = h.find(BEGIN), h.find(END)
    if i < 0 or j < i:
        raise SystemExit("gen_unicode: markers not found in %s" % a.header)
    j = h.index("\n", j) + 1
    new = h[:i] + text + h[j:]
    if new != h:
        with open(a.header, "w", encoding="utf-8") as f:
            f.write(new)
    print("uniql.h: Unicode %s tables: %d category runs, %d combining-class runs, %d decompositions, "
          "%d lowercase runs%s" % ((ver,) + sizes + ("" if new != h else " (unchanged)",)))


if __name__ == "__main__":
    sys.exit(main())
