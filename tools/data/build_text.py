#!/usr/bin/env python3
"""build_text.py - English prose from the Python 3.11 documentation (Debian package
python3.11-doc), split deterministically into train / calibration / held-out test.

    apt-get install python3.11-doc
    python3 tools/data/build_text.py            # writes data/{train,calib,test}.txt + PSF-LICENSE.txt

Input: the reStructuredText sources the package ships as
/usr/share/doc/python3.11/html/_sources/**/*.rst.txt (read in sorted path order).
Python's documentation is licensed under the PSF License Agreement, which allows
redistribution of derived works with the licence text: data/PSF-LICENSE.txt is taken
from the package's own license page.

Recipe (stdlib only, deterministic: same package version -> same bytes):
 1. Paragraphs: blocks of non-blank lines. Dropped: headings, comments, tables, literal
    blocks (after a paragraph ending in "::" and the bodies of code/table/index-like
    directives), doctest lines, field lists; the bodies of prose directives (note,
    warning, function, class, ...) are kept.
 2. Inline markup is reduced to its text: :role:`text <target>` -> text,
    :role:`~a.b` -> b, ``code`` -> code, `text <url>`_ -> text, **b** / *i* -> b / i,
    "::" at the end -> ":". Lines are joined with single spaces, one paragraph per line.
 3. A paragraph is kept if it is printable ASCII (a few typographic characters are
    mapped to ASCII first), has >= 12 words and >= 80 characters, ends in . : ? ! or ),
    and at least 70 % of its characters are letters or spaces. Exact duplicates are
    dropped (first one kept). whatsnew/changelog (bug-tracker one-liners) is skipped.
 4. Split by sha256 of the paragraph text: bucket = first 8 bytes mod 1000;
    bucket < 30 -> test, < 90 -> calibration, else train, each in document order.
    test.txt stops at 128 KiB and calib.txt at 256 KiB; paragraphs past a cap go to
    train (so the three files never share a paragraph).
"""
import argparse
import hashlib
import os
import re
import sys

SRC = "/usr/share/doc/python3.11/html/_sources"
SKIP_FILES = {"whatsnew/changelog.rst.txt", "license.rst.txt", "copyright.rst.txt"}
# directives whose indented body is not prose
CODE_DIRECTIVES = {
    "code-block", "code", "sourcecode", "highlight", "productionlist", "doctest", "testcode",
    "testoutput", "testsetup", "testcleanup", "literalinclude", "csv-table", "list-table", "table",
    "toctree", "image", "figure", "index", "raw", "parsed-literal", "only", "tabularcolumns",
    "include", "audit-event-table", "availability", "rubric", "opcode", "cmdoption", "option",
    "envvar", "describe", "program", "sectionauthor", "moduleauthor", "module", "currentmodule",
    "impl-detail", "c:macro", "c:type", "c:var", "c:member", "c:function", "grammar-snippet",
    "literalinclude", "pdbcommand", "digraph", "graphviz",
}
MIN_WORDS, MIN_CHARS = 12, 80
TEST_CAP, CALIB_CAP = 128 * 1024, 256 * 1024

TYPO = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": " - ",
        "\u2026": "...", "\u00a0": " ", "\u00e9": "e", "\u00a9": "(c)"}

RE_ROLE = re.compile(r":[a-zA-Z0-9_:+-]+:`([^`]*)`")
RE_LITERAL = re.compile(r"``([^`]*)``")
RE_LINK = re.compile(r"`([^`<]*?)\s*<[^`>]*>`_{1,2}")
RE_REF = re.compile(r"`([^`]*)`_{0,2}")
RE_BOLD = re.compile(r"\*\*([^*]+)\*\*")
RE_EM = re.compile(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])")
RE_SUBST = re.compile(r"\|[a-zA-Z0-9_ -]+\|_?")
RE_WORDREF = re.compile(r"\b(\w+)_\b(?!\w)")
RE_FOOT = re.compile(r"\s*\[[#*0-9a-zA-Z_-]*\]_")


def role_text(m):
    t = m.group(1)
    lt = re.match(r"^(.*?)\s*<[^>]*>$", t, re.S)
    if lt and lt.group(1):
        t = lt.group(1)
    t = t.lstrip("!")
    if t.startswith("~"):
        t = t[1:].split(".")[-1]
    return t


def inline(text):
    text = RE_ROLE.sub(role_text, text)
    text = RE_LITERAL.sub(r"\1", text)
    text = RE_LINK.sub(r"\1", text)
    text = RE_FOOT.sub("", text)
    text = RE_REF.sub(r"\1", text)
    text = RE_BOLD.sub(r"\1", text)
    text = RE_EM.sub(r"\1", text)
    text = RE_SUBST.sub("", text)
    text = RE_WORDREF.sub(r"\1", text)
    text = text.replace("\\", "")
    if text.endswith("::"):
        text = text[:-2].rstrip()
        text = text + ":" if text and text[-1] not in ".:?!" else text
    return re.sub(r"\s+", " ", text).strip()


def indent_of(line):
    return len(line) - len(line.lstrip(" "))


def paragraphs(lines):
    """Yield prose paragraphs (lists of stripped lines) of one rst file."""
    i, n = 0, len(lines)
    skip_deeper = None  # skip every non-blank line indented deeper than this
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        block, j = [], i
        while j < n and lines[j].strip():
            block.append(lines[j].expandtabs(8).rstrip())
            j += 1
        i = j
        ind = indent_of(block[0])
        if skip_deeper is not None:
            if ind > skip_deeper:
                continue
            skip_deeper = None
        first = block[0].strip()
        m = re.match(r"^\.\.\s+([a-zA-Z0-9:_-]+)::", first)
        if first.startswith(".. "):
            if m and m.group(1) not in CODE_DIRECTIVES:
                # prose directive: the directive line (and its options) go; body follows
                rest = [l for l in block[1:] if not l.strip().startswith(":")]
                if m.group(1) in ("note", "warning", "seealso", "versionadded", "versionchanged",
                                  "deprecated", "important", "tip", "attention", "caution", "hint"):
                    body = first.split("::", 1)[1].strip()
                    if body and m.group(1) in ("note", "warning", "important", "tip", "seealso"):
                        rest = [body] + rest
                    elif m.group(1) in ("versionadded", "versionchanged", "deprecated"):
                        rest = []  # "3.x" + a short remark: not prose worth keeping
                if rest:
                    yield rest
            else:
                skip_deeper = ind   # comment, target or code-like directive: skip its body
            continue
        if first.startswith((">>>", "...", "+-", "+=", "|")):
            continue
        if len(block) >= 2 and re.match(r"^([=\-~^\"'*#+`:.])\1{2,}\s*$", block[-1].strip()):
            continue  # heading (with or without overline)
        if re.match(r"^([=\-~^\"'*#+`:.])\1{2,}\s*$", first):
            continue  # table border or overline
        if first.startswith(":") and re.match(r"^:[^:]+:", first):
            continue  # field list
        if block[-1].rstrip().endswith("::"):
            skip_deeper = ind  # the literal block that follows
        yield block


def clean(block):
    lines = [l.strip() for l in block]
    # list items: drop the bullet / enumerator of the first line
    lines[0] = re.sub(r"^([*+-]|\(?[0-9]+[.)]|#\.)\s+", "", lines[0])
    text = inline(" ".join(lines))
    for k, v in TYPO.items():
        text = text.replace(k, v)
    return re.sub(r"\s+", " ", text).strip()


def keep(text):
    if len(text) < MIN_CHARS or len(text.split()) < MIN_WORDS:
        return False
    if any(ord(c) < 32 or ord(c) > 126 for c in text):
        return False
    if text[-1] not in ".:?!)":
        return False
    letters = sum(c.isalpha() or c == " " for c in text)
    return letters >= 0.7 * len(text)


def license_text(src):
    lines = open(os.path.join(src, "license.rst.txt"), encoding="utf-8").read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("PSF LICENSE AGREEMENT FOR PYTHON"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("BEOPEN.COM"))
    out = [lines[start].replace("|release|", "3.11"), "-" * 38, ""]
    for l in lines[start + 2:end]:
        if l.strip().startswith(".. parsed-literal"):
            continue
        out.append(l[3:] if l.startswith("   ") else l)
    while out and not out[-1].strip():
        out.pop()
    text = "\n".join(out).replace("|release|", "3.11").replace("\u00a9", "(c)")
    return text + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=SRC)
    ap.add_argument("--out", default="data")
    a = ap.parse_args()
    if not os.path.isdir(a.src):
        sys.exit(f"{a.src} not found: apt-get install python3.11-doc")
    files = []
    for root, _, names in os.walk(a.src):
        for nm in names:
            if nm.endswith(".rst.txt"):
                rel = os.path.relpath(os.path.join(root, nm), a.src).replace(os.sep, "/")
                if rel not in SKIP_FILES:
                    files.append(rel)
    files.sort()
    seen, paras = set(), []
    for rel in files:
        with open(os.path.join(a.src, rel), encoding="utf-8") as f:
            lines = f.read().splitlines()
        for block in paragraphs(lines):
            t = clean(block)
            if keep(t) and t not in seen:
                seen.add(t)
                paras.append(t)
    split = {"train": [], "calib": [], "test": []}
    size = {"calib": 0, "test": 0}
    cap = {"calib": CALIB_CAP, "test": TEST_CAP}
    for t in paras:
        b = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "big") % 1000
        name = "test" if b < 30 else "calib" if b < 90 else "train"
        if name != "train":
            if size[name] + len(t) + 1 > cap[name]:
                name = "train"
            else:
                size[name] += len(t) + 1
        split[name].append(t)
    os.makedirs(a.out, exist_ok=True)
    for name, ps in split.items():
        with open(os.path.join(a.out, name + ".txt"), "w", encoding="ascii", newline="\n") as f:
            f.write("".join(p + "\n" for p in ps))
        print(f"{name}.txt: {len(ps)} paragraphs, {sum(len(p) + 1 for p in ps)} bytes")
    with open(os.path.join(a.out, "PSF-LICENSE.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write(license_text(a.src))
    print(f"{len(files)} source files, {len(paras)} unique prose paragraphs")


if __name__ == "__main__":
    main()
