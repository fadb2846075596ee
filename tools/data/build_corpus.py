#!/usr/bin/env python3
"""build_corpus.py - the English corpus of the BPE model suite, from Debian documentation
packages, cleaned to prose and split deterministically into train / calibration / test.

    apt-get install linux-doc-6.1 python3.11-doc python-django-doc perl-doc \
        postgresql-doc-15 nodejs-doc git-doc rust-doc debian-reference-en manpages manpages-dev
    python3 tools/data/build_corpus.py [--out DIR]      # default DIR: data/corpus

Writes DIR/train.txt (not in git: ~100 MB), DIR/calib.txt and DIR/test.txt (in git),
DIR/manifest.json (per source: package version, files, documents, bytes, licence) and
DIR/LICENSES/ (each package's Debian copyright file and the common licence texts they
refer to). Standard library only, and
deterministic: the same package versions give the same bytes (files are read in sorted
order, nothing depends on hash seeds, time or locale).

Recipe.
 1. Each source is a set of files of one markup (reStructuredText, HTML, POD, AsciiDoc,
    Markdown, man/roff). A format-specific reader turns one file into prose paragraphs:
    code, literal blocks, tables, headings, navigation and directives are dropped, inline
    markup is reduced to its text, lines are joined with single spaces.
 2. Every paragraph is Unicode-NFC-normalised, whitespace-collapsed and kept if it has
    >= 10 words and >= 60 characters, ends in . : ? ! or ), has no control characters,
    at most 3 % non-ASCII characters, and at least 70 % letters or spaces. Exact
    duplicates (across all sources) are dropped, the first one kept.
 3. The kept paragraphs of one file, in order, form documents of at most 6 000 bytes
    (cut at paragraph boundaries). A document is written as its paragraphs, one per line,
    followed by one empty line.
 4. Split by SHA-256 of the document text: bucket = first 8 bytes mod 1000; bucket < 3 ->
    test, < 9 -> calibration, else train (each in source order). test.txt stops at
    256 000 bytes and calib.txt at 512 000 bytes; documents past a cap go to train, so the
    files never share a document (nor, by step 2, a paragraph).
"""
import argparse
import gzip
import hashlib
import html
import html.parser
import json
import os
import re
import subprocess
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_text  # noqa: E402  (the reStructuredText reader of the byte-level data)

MIN_WORDS, MIN_CHARS, MAX_NONASCII = 10, 60, 0.03
DOC_BYTES = 6000
TEST_CAP, CALIB_CAP = 256000, 512000

# name, Debian package, root folder, file suffixes, reader, sub-folders (None: all), licence
SOURCES = [
    ("linux", "linux-doc-6.1", "/usr/share/doc/linux-doc-6.1/Documentation", (".rst.gz", ".txt.gz"), "rst",
     None, "GPL-2.0 (Linux kernel documentation; a few files dual GPL-2.0 / CC-BY-4.0 or BSD)"),
    ("python", "python3.11-doc", "/usr/share/doc/python3.11/html/_sources", (".rst.txt",), "rst", None,
     "PSF-2.0 (Python Software Foundation License)"),
    ("django", "python-django-doc", "/usr/share/doc/python-django-doc/html", (".html",), "html", None,
     "BSD-3-Clause"),
    ("perl", "perl-doc", "/usr/share/perl/5.36.0/pod", (".pod",), "pod", None, "GPL-1.0+ or Artistic-1.0"),
    ("postgresql", "postgresql-doc-15", "/usr/share/doc/postgresql-doc-15/html", (".html",), "html", None,
     "PostgreSQL License (BSD-like)"),
    ("nodejs", "nodejs-doc", "/usr/share/doc/nodejs/api", (".md.gz", ".md"), "md", None, "MIT (Expat)"),
    ("git", "git-doc", "/usr/share/doc/git-doc", (".txt",), "asciidoc", None, "GPL-2.0"),
    ("rust-books", "rust-doc", "/usr/share/doc/rust-doc/html", (".html",), "html",
     ("book", "reference", "nomicon", "rust-by-example", "edition-guide", "embedded-book", "rustc", "rustdoc",
      "unstable-book"), "MIT or Apache-2.0"),
    ("rust-std", "rust-doc", "/usr/share/doc/rust-doc/html", (".html",), "html",
     ("std", "core", "alloc", "proc_macro", "test"), "MIT or Apache-2.0"),
    ("debian-reference", "debian-reference-en", "/usr/share/doc/debian-reference-en/docs", (".html",), "html",
     None, "GPL-2.0+"),
    ("openjdk", "openjdk-17-doc", "/usr/share/doc/openjdk-17-jre-headless/api", (".html",), "html", None,
     "GPL-2.0 with the Classpath exception"),
    ("sqlalchemy", "python-sqlalchemy-doc", "/usr/share/doc/python-sqlalchemy-doc/rst", (".rst",), "rst", None,
     "MIT"),
    ("erlang", "erlang-doc", "/usr/share/doc/erlang-doc", (".html",), "html", None, "Apache-2.0"),
    ("debian-handbook", "debian-handbook", "/usr/share/doc/debian-handbook/html/en-US", (".html",), "html", None,
     "GPL-2.0+ or CC-BY-SA-3.0"),
    ("apache", "apache2-doc", "/usr/share/doc/apache2-doc/manual/en", (".html",), "html", None, "Apache-2.0"),
    ("cmake", "cmake-doc", "/usr/share/doc/cmake-data/html/_sources", (".rst.txt",), "rst", None, "BSD-3-Clause"),
    ("scipy", "python-scipy-doc", "/usr/share/doc/python-scipy-doc/html", (".html",), "html", None,
     "BSD-3-Clause"),
    ("pandas", "python-pandas-doc", "/usr/share/doc/python-pandas-doc/html", (".html",), "html", None,
     "BSD-3-Clause"),
    ("sympy", "python-sympy-doc", "/usr/share/doc/python-sympy-doc/html", (".html",), "html", None,
     "BSD-3-Clause"),
    ("perl-man", "perl-doc", None, (".gz",), "man", None, "GPL-1.0+ or Artistic-1.0 (Perl core module manuals)"),
    ("man-pages", "manpages manpages-dev", None, (".gz",), "man", None,
     "Linux man-pages: per page, mostly the 'Linux-man-pages-copyleft' verbatim licence, some GPL-2.0+ / BSD / MIT"),
]
SKIP_RST = build_text.SKIP_FILES
COMMON_LICENSES = ["GPL-1", "GPL-2", "GPL-3", "Artistic", "Apache-2.0", "LGPL-2.1", "CC0-1.0"]


# ---------------------------------------------------------------- paragraph filter

def normalise(text):
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\u00ad", "").replace("\ufeff", "")
    return re.sub(r"\s+", " ", text).strip()


def keep(text):
    if len(text) < MIN_CHARS or len(text.split()) < MIN_WORDS:
        return False
    if text[-1] not in ".:?!)":
        return False
    nonascii = 0
    for c in text:
        o = ord(c)
        if o < 32 or 127 <= o < 160:
            return False
        if o > 127:
            nonascii += 1
            if unicodedata.category(c)[0] in "CZ":
                return False
    if nonascii > MAX_NONASCII * len(text):
        return False
    letters = sum(c.isalpha() or c == " " for c in text)
    return letters >= 0.7 * len(text)


# ---------------------------------------------------------------- readers

def read_text(path):
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    return raw.decode("utf-8", errors="replace")


def rst_paragraphs(text):
    for block in build_text.paragraphs(text.splitlines()):
        lines = [l.strip() for l in block]
        lines[0] = re.sub(r"^([*+-]|\(?[0-9]+[.)]|#\.)\s+", "", lines[0])
        yield build_text.inline(" ".join(lines))


BLOCK_TAGS = {"p", "li", "dd", "dt", "blockquote", "div", "section", "article", "td", "th", "tr", "table",
              "ul", "ol", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "br", "hr", "body", "figcaption",
              "caption", "summary", "details", "main", "aside", "header", "footer", "nav", "form", "title"}
SKIP_TAGS = {"pre", "script", "style", "nav", "header", "footer", "head", "title", "h1", "h2", "h3", "h4", "h5",
             "h6", "table", "form", "button", "select", "textarea", "svg", "math", "noscript", "aside"}
SKIP_CLASS = {"sidebar", "sphinxsidebar", "sphinxsidebarwrapper", "related", "navigation", "nav", "toc", "toctree",
              "toctree-wrapper", "breadcrumbs", "footer", "header", "headerlink", "highlight", "srclink",
              "sidebar-elems", "search", "menu-bar", "docs-nav", "navheader", "navfooter", "example-wrap",
              "code-header", "item-table", "literal-block", "global-nav", "hd", "ft", "searchbox",
              "sidebar-scrollbox", "nav-wrapper", "nav-wide-wrapper", "mobile-nav-chapters", "search-wrapper",
              "out-of-band", "main-heading", "rustdoc-breadcrumbs", "toolbar", "column", "gutter"}
VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


class ProseHTML(html.parser.HTMLParser):
    """Text of the block elements of an HTML page, one paragraph per block, skipping code
    blocks, tables, headings and navigation (by tag or class)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []      # (tag, skipping) for open non-void elements
        self.skip = 0
        self.buf = []
        self.out = []

    def flush(self):
        t = "".join(self.buf)
        self.buf = []
        if t.strip():
            self.out.append(t)

    def handle_starttag(self, tag, attrs):
        if tag in BLOCK_TAGS:
            self.flush()
        if tag in VOID:
            if tag in ("br",) and not self.skip:
                self.buf.append(" ")
            return
        names = " ".join(v or "" for k, v in attrs if k in ("class", "id", "role")).split()
        skipping = tag in SKIP_TAGS or any(n in SKIP_CLASS for n in names)
        self.stack.append((tag, skipping))
        if skipping:
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        # close up to the matching tag (tolerates unclosed <p>, <li>, ...)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for t, s in self.stack[i:]:
                    if s:
                        self.skip -= 1
                del self.stack[i:]
                break
        if tag in BLOCK_TAGS:
            self.flush()

    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)


def html_paragraphs(text):
    p = ProseHTML()
    p.feed(text)
    p.close()
    p.flush()
    return p.out


RE_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
RE_MD_REF = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
RE_MD_CODE = re.compile(r"`+([^`]*)`+")
RE_MD_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
RE_MD_EM = re.compile(r"(?<![\w*])[*_]([^*_\s][^*_]*?)[*_](?![\w*])")


def blocks(lines):
    """Runs of non-blank lines."""
    cur = []
    for line in lines:
        if line.strip():
            cur.append(line.rstrip())
        elif cur:
            yield cur
            cur = []
    if cur:
        yield cur


def md_paragraphs(text):
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    lines, out, fence = text.splitlines(), [], False
    kept = []
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            kept.append("")
            continue
        kept.append("" if fence else line)
    for b in blocks(kept):
        first = b[0].lstrip()
        if first.startswith(("#", "|", "[", "<")) or b[0].startswith(("    ", "\t")):
            continue
        if re.match(r"^\s*([-*+]|[0-9]+\.)\s+", first):
            b = [re.sub(r"^\s*([-*+]|[0-9]+\.)\s+", "", b[0])] + b[1:]
        t = " ".join(l.strip().lstrip(">").strip() for l in b)
        t = RE_MD_LINK.sub(r"\1", t)
        t = RE_MD_REF.sub(r"\1", t)
        t = RE_MD_CODE.sub(r"\1", t)
        t = RE_MD_BOLD.sub(r"\2", t)
        t = RE_MD_EM.sub(r"\1", t)
        out.append(html.unescape(t))
    return out


def asciidoc_paragraphs(text):
    lines, kept, delim = text.splitlines(), [], None
    for line in lines:
        s = line.strip()
        if re.match(r"^(-{4,}|\.{4,}|={4,}|\+{4,}|\*{4,}|_{4,}|/{4,}|\|={3,})$", s):
            delim = None if delim == s[0] else (delim or s[0])
            kept.append("")
            continue
        if delim and delim != "_" and delim != "=":   # ---- listing, .... literal, //// comment, |=== table
            kept.append("")
            continue
        kept.append(line)
    out = []
    for b in blocks(kept):
        if len(b) >= 2 and re.match(r"^[-=~^+]{3,}$", b[-1].strip()):
            continue  # title
        first = b[0]
        if first.startswith((" ", "\t", "[", "//", "include::", ":", "=", ".")) or first.strip().endswith("::"):
            continue
        b = [re.sub(r"^\s*([-*]+|[0-9]+\.)\s+", "", l) for l in b if not l.startswith(("//", "+"))]
        if not b:
            continue
        t = " ".join(l.strip() for l in b)
        t = re.sub(r"<<[^,>]*,([^>]*)>>", r"\1", t)
        t = re.sub(r"<<([^>]*)>>", r"\1", t)
        t = re.sub(r"linkgit:([\w.-]+)\[\d\]", r"\1", t)
        t = re.sub(r"\b(?:link|https?):[^\s\[]*\[([^\]]*)\]", r"\1", t)
        t = re.sub(r"`([^`]*)`", r"\1", t)
        t = re.sub(r"(?<!\w)'([^'\s][^']*?)'(?!\w)", r"\1", t)
        t = re.sub(r"(?<!\w)\*([^*\s][^*]*?)\*(?!\w)", r"\1", t)
        t = re.sub(r"(?<!\w)_([^_\s][^_]*?)_(?!\w)", r"\1", t)
        t = re.sub(r"\{(litdd|tilde|caret|apos|quot|startsb|endsb)\}",
                   lambda m: {"litdd": "--", "tilde": "~", "caret": "^", "apos": "'", "quot": '"',
                              "startsb": "[", "endsb": "]"}[m.group(1)], t)
        out.append(t)
    return out


POD_ESC = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/", "quot": '"', "amp": "&", "apos": "'"}


def pod_inline(t):
    for _ in range(4):   # nested codes, innermost first
        t2 = re.sub(r"[A-Z]<<+\s+(.*?)\s+>>+", r"\1", t)
        t2 = re.sub(r"E<([^<>]*)>", lambda m: POD_ESC.get(m.group(1), ""), t2)
        t2 = re.sub(r"L<([^<>|]*)\|[^<>]*>", r"\1", t2)
        t2 = re.sub(r"L<\"?([^<>\"]*)\"?>", lambda m: m.group(1).split("/")[-1].strip('"'), t2)
        t2 = re.sub(r"[XZ]<[^<>]*>", "", t2)
        t2 = re.sub(r"[BICFS]<([^<>]*)>", r"\1", t2)
        if t2 == t:
            break
        t = t2
    return t


def pod_paragraphs(text):
    out, skip = [], False
    for b in blocks(text.splitlines()):
        first = b[0]
        if first.startswith("=begin"):
            skip = True
            continue
        if first.startswith("=end"):
            skip = False
            continue
        if skip or first.startswith(("=", " ", "\t")):
            continue
        out.append(pod_inline(" ".join(l.strip() for l in b)))
    return out


MAN_ESC = {"em": " - ", "en": "-", "hy": "-", "aq": "'", "dq": '"', "lq": '"', "rq": '"', "oq": "'",
           "cq": "'", "bu": "*", "co": "(c)", "rg": "(R)", "tm": "(TM)", "mu": "x", "<=": "<=", ">=": ">=",
           "ti": "~", "ha": "^", "ga": "`", "rs": "\\", "at": "@", "sh": "#", "Do": "$", "sl": "/",
           "->": "->", "<-": "<-", "ua": "^", "da": "v", "pl": "+", "mi": "-", "eq": "="}


def man_inline(t):
    t = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", t)
    t = re.sub(r"\\\(([^ ]{2})", lambda m: MAN_ESC.get(m.group(1), ""), t)
    t = re.sub(r"\\\[([^\]]*)\]", lambda m: MAN_ESC.get(m.group(1), ""), t)
    t = re.sub(r"\\[*n](\(..|\[[^\]]*\]|.)", "", t)
    t = re.sub(r"\\s[-+]?\d", "", t)
    t = t.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "").replace("\\ ", " ").replace("\\~", " ")
    t = t.replace("\\|", "").replace("\\^", "").replace("\\%", "").replace("\\c", "").replace("\\0", " ")
    t = re.sub(r"\\.", "", t)
    return t


def man_args(rest):
    args, cur, q = [], "", False
    for ch in rest:
        if ch == '"':
            q = not q
        elif ch in " \t" and not q:
            if cur:
                args.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        args.append(cur)
    return args


def man_paragraphs(text):
    out, cur, nofill, section = [], [], False, ""

    def flush():
        if cur:
            out.append(man_inline(" ".join(cur)))
        cur.clear()

    for line in text.splitlines():
        if line.startswith((".\\\"", "'\\\"", '.\\"')) or line.strip() in (".", "'"):
            continue
        if line.startswith((".", "'")):
            m = re.match(r"^[.']\s*(\S+)\s*(.*)$", line)
            if not m:
                continue
            mac, rest = m.group(1), m.group(2)
            if mac in ("SH", "SS"):
                flush()
                section = rest.strip('"').upper()
            elif mac in ("PP", "P", "LP", "TP", "IP", "HP", "sp", "br", "RS", "RE", "TH", "in", "ti", "TQ"):
                flush()
            elif mac in ("nf", "EX", "TS"):
                flush()
                nofill = True
            elif mac in ("fi", "EE", "TE"):
                nofill = False
            elif mac in ("B", "I", "SM", "SB") and not nofill:
                cur.append(" ".join(man_args(rest)))
            elif mac in ("BR", "RB", "IR", "RI", "BI", "IB") and not nofill:
                cur.append("".join(man_args(rest)))
            elif mac in ("UR", "UE", "MT", "ME") and not nofill:
                if mac in ("UE", "ME") and rest:
                    cur.append(rest)
            continue
        if nofill or section in ("SYNOPSIS", "NAME", "SEE ALSO", "COLOPHON", "EXAMPLES", "EXAMPLE"):
            continue
        if line.startswith((" ", "\t")):
            flush()
            continue
        cur.append(line)
    flush()
    return out


READERS = {"rst": rst_paragraphs, "html": html_paragraphs, "md": md_paragraphs, "asciidoc": asciidoc_paragraphs,
           "pod": pod_paragraphs, "man": man_paragraphs}


# ---------------------------------------------------------------- sources

def pkg_version(pkgs):
    out = []
    for p in pkgs.split():
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"package {p} is not installed: apt-get install {p}")
        out.append(f"{p} {r.stdout.strip()}")
    return ", ".join(out)


def source_files(name, pkgs, root, suffixes, subdirs):
    if root is None:   # man pages: the files the packages ship
        files = []
        for p in pkgs.split():
            r = subprocess.run(["dpkg", "-L", p], capture_output=True, text=True, check=True)
            for f in r.stdout.splitlines():
                if re.match(r"^/usr/share/man/man[1-8]/", f) and f.endswith(suffixes) and os.path.isfile(f) \
                        and not os.path.islink(f):
                    files.append(f)
        return sorted(set(files))
    tops = [os.path.join(root, s) for s in subdirs] if subdirs else [root]
    files = []
    for top in tops:
        for dirpath, dirnames, names in os.walk(top):
            dirnames.sort()
            for nm in sorted(names):
                path = os.path.join(dirpath, nm)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                if not nm.endswith(suffixes) or os.path.islink(path):
                    continue
                if name == "python" and rel in SKIP_RST:
                    continue
                if name == "linux" and ("/devicetree/bindings/" in "/" + rel or rel.startswith("ABI/")):
                    continue   # yaml-like binding and ABI descriptions: not prose
                if name.startswith("rust") and (nm in ("all.html", "index.html", "print.html", "toc.html",
                                                       "SUMMARY.html") or "/implementors/" in rel):
                    continue   # print.html repeats a whole book; index pages are lists
                if rel.startswith(("_modules/", "_sources/", "_static/")) or nm in ("genindex.html", "search.html",
                                                                                     "py-modindex.html"):
                    if name in ("django", "scipy", "pandas", "sympy"):
                        continue
                if name == "openjdk" and (nm.endswith(("-tree.html", "-use.html")) or "/class-use/" in rel
                                          or nm in ("allclasses-index.html", "allpackages-index.html",
                                                    "index-all.html", "deprecated-list.html",
                                                    "constant-values.html", "serialized-form.html")):
                    continue
                    continue
                if name == "nodejs" and nm in ("all.md", "all.md.gz", "index.md", "index.md.gz"):
                    continue
                files.append(path)
    return sorted(files)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="data/corpus")
    ap.add_argument("--only", default="", help="comma-separated source names (testing)")
    a = ap.parse_args()
    seen = set()
    docs = []        # (source, text)
    manifest = {"recipe": "tools/data/build_corpus.py", "sources": []}
    only = set(a.only.split(",")) if a.only else None
    for name, pkgs, root, suffixes, reader, subdirs, licence in SOURCES:
        if only and name not in only:
            continue
        version = pkg_version(pkgs)
        files = source_files(name, pkgs, root, suffixes, subdirs)
        n_par = n_bytes = n_docs = 0
        for path in files:
            try:
                text = read_text(path)
            except (OSError, EOFError) as e:
                sys.exit(f"{path}: {e}")
            cur, cur_len = [], 0
            for para in READERS[reader](text):
                t = normalise(para)
                if not keep(t) or t in seen:
                    continue
                seen.add(t)
                n = len(t.encode()) + 1
                if cur and cur_len + n > DOC_BYTES:
                    docs.append((name, "".join(p + "\n" for p in cur)))
                    n_docs += 1
                    cur, cur_len = [], 0
                cur.append(t)
                cur_len += n
                n_par += 1
                n_bytes += n
            if cur:
                docs.append((name, "".join(p + "\n" for p in cur)))
                n_docs += 1
        manifest["sources"].append(dict(name=name, packages=version, reader=reader, files=len(files),
                                        paragraphs=n_par, documents=n_docs, bytes=n_bytes, licence=licence))
        print(f"{name:17s} {len(files):6d} files {n_par:7d} paragraphs {n_docs:6d} docs {n_bytes:10d} bytes",
              flush=True)
    split = {"train": [], "calib": [], "test": []}
    size = {"calib": 0, "test": 0}
    cap = {"calib": CALIB_CAP, "test": TEST_CAP}
    for src, d in docs:
        b = int.from_bytes(hashlib.sha256(d.encode()).digest()[:8], "big") % 1000
        nm = "test" if b < 3 else "calib" if b < 9 else "train"
        n = len(d.encode()) + 1
        if nm != "train":
            if size[nm] + n > cap[nm]:
                nm = "train"
            else:
                size[nm] += n
        split[nm].append(d)
    os.makedirs(a.out, exist_ok=True)
    manifest["splits"] = {}
    for nm, ds in split.items():
        body = "".join(d + "\n" for d in ds).encode("utf-8")
        with open(os.path.join(a.out, nm + ".txt"), "wb") as f:
            f.write(body)
        manifest["splits"][nm] = dict(documents=len(ds), bytes=len(body), sha256=hashlib.sha256(body).hexdigest())
        print(f"{nm}.txt: {len(ds)} documents, {len(body)} bytes", flush=True)
    lic = os.path.join(a.out, "LICENSES")
    os.makedirs(lic, exist_ok=True)
    for name, pkgs, *_ in SOURCES:
        if only and name not in only:
            continue
        for p in pkgs.split():
            src = f"/usr/share/doc/{p}/copyright"   # (python3.11-doc's is a real file beside its html link)
            with open(src, "rb") as f, open(os.path.join(lic, p + ".copyright"), "wb") as g:
                g.write(f.read())
    for nm in COMMON_LICENSES:   # the full texts the copyright files refer to
        with open("/usr/share/common-licenses/" + nm, "rb") as f, open(os.path.join(lic, nm), "wb") as g:
            g.write(f.read())
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
