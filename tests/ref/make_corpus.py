#!/usr/bin/env python3
"""make_corpus.py - writes tests/data/tok/corpus.txt, the tokenizer test corpus.

The corpus is our own text (written for this project), UTF-8, and is split into cases by
one rule that tests/ref/tokenizer_ref.py, tests/ref/tokenizer_ref.mjs and
tests/test_tokenizer.c all apply:

  - the file is cut into lines at "\\n" (a "\\r" stays part of its line);
  - a line that is exactly "<<<" opens a block: the lines up to the next line that is
    exactly ">>>" form ONE case, joined with "\\n" (no "\\n" after the last line);
  - every other non-empty line is one case; empty lines outside blocks are skipped.

The cases are spelled here with escapes where the bytes matter (NFD forms, odd spaces,
control characters), so a reader can see what each line tests. Run from the repository
root:  python3 tests/ref/make_corpus.py  (the output is committed; this script only makes
it reviewable and reproducible).
"""
import os
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "tok", "corpus.txt")

lines = []      # single-line cases (no "\n" inside)
blocks = []     # (position, multi-line text) appended in order through add()
cases = []      # final list in file order: ("line", s) or ("block", s)


def add(s):
    assert "\n" not in s, repr(s)
    assert s != "" and s not in ("<<<", ">>>"), repr(s)
    cases.append(("line", s))


def block(s):
    for ln in s.split("\n"):
        assert ln != ">>>", repr(s)
    cases.append(("block", s))


# ---- English prose -----------------------------------------------------------------------
for s in [
    "The quick brown fox jumps over the lazy dog.",
    "A compression method is only as good as the tokens it is calibrated on.",
    "She said, \"Put the kettle on,\" and then went back to reading the manual.",
    "Is it raining? No -- it's only the sprinklers; they start at six.",
    "Our lab keeps three notebooks: one for ideas, one for results, one for regrets.",
    "When the ferry left the harbour, the gulls followed it for a mile or two.",
    "He wrote the number on a napkin (which he later lost) and swore never to do that again.",
    "Every tokenizer has opinions about spaces, and most of them are strong opinions.",
    "Ask three engineers for a name and you will get four names and a spreadsheet.",
    "The library reads the file, checks every byte, and refuses anything it does not understand.",
    "Rain fell on the tin roof all night; by morning the garden was a small lake.",
    "If the budget is tight, prune the layers that matter least and keep the rest in int8.",
    "Bread, cheese, two apples and a thermos: the whole lunch fitted in one coat pocket.",
    "Nobody reads the footnotes, which is why the important warnings live there.",
    "The river bends twice before it reaches the sea, once for each of the old mills.",
    "Good tests fail loudly, bad tests pass quietly, and flaky tests do both.",
    "   leading spaces, then words",
    "trailing spaces after the words   ",
    "Mixed  double  spaces  between  words.",
    "UPPER CASE SHOUTING IS STILL TEXT, AND IT STILL NEEDS TOKENS.",
    "lower case whispering without any capital letters at all",
    "CamelCaseIdentifiersLikeThisOne and snake_case_ones_like_that",
    "e-mail, co-operate, re-entry, well-known, state-of-the-art",
    "Hello,world!No spaces after punctuation here.Really.",
    "...and then... nothing. Ellipses… and em—dashes – and en dashes.",
    "\u201cCurly quotes\u201d and \u2018single ones\u2019 are not the ASCII kind.",
    "\u00abGuillemets\u00bb, \u201eGerman quotes\u201c and \u300cJapanese brackets\u300d.",
    "Email me at someone@example.org or visit https://example.com/path?q=1&r=two#frag.",
    "Markdown: **bold**, _italic_, `code`, [a link](http://example.net), and > quotes.",
    "LaTeX: $\\int_0^1 x^2 \\, dx = \\frac{1}{3}$ and \\alpha + \\beta = \\gamma.",
    "Straße, naïve, café, résumé, jalapeño, Ångström, Øresund, Łódź, Dvořák.",
    "İstanbul and ISTANBUL; ıi Iİ; Greek ΣΊΣΥΦΟΣ and σίσυφος with final ς.",
    "Ligatures: ﬁ ﬂ ﬀ ﬃ; full width: ＡＢＣ ａｂｃ ０１２; circled: ① ② ③; roman: Ⅻ.",
    "Math bold 𝐀𝐁𝐂 and double-struck ℝ ℕ ℤ; Gothic 𐌰𐌱𐌲; Deseret 𐐀𐐨.",
]:
    add(s)

# ---- apostrophes and contractions, both cases ------------------------------------------
for s in [
    "DON'T stop, we'll be fine, they're late, I'm here, you've won, she'd know, it's done.",
    "WE'LL SEE. THEY'RE HERE. I'M TIRED. YOU'VE GOT MAIL. SHE'D GO. IT'S OK. HE'S GONE.",
    "Don'T mIxEd CaSe'S, We'Ll, ThEy'Re, I'M, YoU'Ve, ShE'D.",
    "'s 't 're 've 'm 'll 'd at the start of words",
    "rock'n'roll, o'clock, ma'am, y'all'd've, 'tis, '90s",
    "Curly: don\u2019t, we\u2019ll, it\u2019s \u2014 not the ASCII apostrophe.",
    "The dog's bone, the dogs' bones, James's hat, the '80s.",
    "Case folding: IT'\u017f ok, WE'\u212aLL see, \u017f and \u212a alone, \u0130'S, \u0131'LL",
    "''''' five apostrophes, then 'quoted' words, then ' spaced ' ones.",
]:
    add(s)

# ---- numbers -----------------------------------------------------------------------------
for s in [
    "1234567890",
    "12345678901234567890123456789012345678901234567890",
    "3.14159265358979 and 2.718281828 and 0.5 and .5 and 5.",
    "-42, +17, 1e10, 6.02e23, -0.000001, 1_000_000, 0x7fff_ffff, 0b1011, 0o755",
    "Dates: 2026-12-03, 03/12/2026, 12.03.2026, Dec 3rd 2026, 2026年12月3日.",
    "Times: 09:05, 23:59:59.999, 7pm, 07:00Z, 2026-12-03T11:51:00+01:00",
    "Money: $1,234.56, €99,90, £5, ¥1000, ₹2,50,000, 1.000.000,00 EUR",
    "Versions 1.2.3, v10.0.1-rc2, 3.11.7, and IPv4 192.168.0.1, IPv6 fe80::1.",
    "Phone +44 20 7946 0958, ext. 1234; ISBN 978-3-16-148410-0.",
    "1st 2nd 3rd 4th 11th 12th 13th 21st 22nd 101st",
    "Arabic-Indic ١٢٣٤٥٦٧٨٩٠, Devanagari १२३४५, Thai ๑๒๓, full width １２３４.",
    "Superscripts x² y³ 10⁻⁶, subscripts H₂O CO₂, fractions ½ ¾ ⅞.",
    "π ≈ 3.14, e ≈ 2.72, √2 ≈ 1.414, ∞ > 10^100, 5 × 3 ÷ 2 ± 1",
    "Table: 1|2|3\t4\t5\t6 ;; 7,8,9 ;; 10.11.12",
    "000000000000000000000000000000000000007",
]:
    add(s)

# ---- code ---------------------------------------------------------------------------------
block("""#include <stdio.h>

/* add two numbers */
static int add(int a, int b)
{
\treturn a + b;
}

int main(void)
{
\tfor (int i = 0; i < 10; i++) {
\t\tif (i % 2 == 0)
\t\t\tprintf("%d is even\\n", i);
\t}
\treturn 0;
}""")
block("""def tokenize(text, vocab, merges):
    \"\"\"Split text into pieces, then merge pairs by rank.\"\"\"
    pieces = list(text)
    while True:
        best = None
        for i in range(len(pieces) - 1):
            r = merges.get((pieces[i], pieces[i + 1]))
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            return [vocab[p] for p in pieces]
        _, i = best
        pieces[i:i + 2] = [pieces[i] + pieces[i + 1]]""")
block("""class Stack:
\tdef __init__(self):
\t\tself.items = []

\tdef push(self, x):  # mixed tab and spaces below
\t    self.items.append(x)
        return self""")
block("""{
  "name": "example",
  "values": [1, 2.5, -3e-4, true, null],
  "nested": {"k": "v", "escaped": "line\\nbreak \\u00e9"}
}""")
block("""#!/bin/sh
set -eu
for f in *.txt; do
    wc -l "$f" | awk '{ print $1 }' >> counts.log
done
echo "done: $(date +%F)" && exit 0""")
block("""<!DOCTYPE html>
<html lang="en">
  <body>
    <p class="note">Tokens &amp; bytes &lt;3</p>
  </body>
</html>""")
block("""SELECT name, COUNT(*) AS n
  FROM runs
 WHERE status = 'ok' AND started_at >= '2026-01-01'
 GROUP BY name
 ORDER BY n DESC;""")
for s in [
    "x=a[i]+b[j]*c[k]-d/e%f^g&h|i~j<<2>>3;",
    "if(a==b&&c!=d||!e){f+=1;g-=2;h*=3;i/=4;}",
    "std::vector<std::pair<int, std::string>> v{{1, \"one\"}, {2, \"two\"}};",
    "fn main() -> Result<(), Box<dyn Error>> { println!(\"{:?}\", x); Ok(()) }",
    "lambda x, *args, **kwargs: (x, args, kwargs)  # noqa: E731",
    "console.log(`template ${literal} here`); const f = async () => await g?.h ?? 0;",
    "    four spaces of indentation before this statement;",
    "\t\ttwo tabs of indentation before this statement;",
    "\t    \t  mixed tabs and spaces then text",
    "path/to/some_file.tar.gz C:\\Windows\\System32\\drivers\\etc\\hosts ~/.config/x.toml",
    "regex: ^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)@(?:\\w+\\.)+\\w{2,}$",
    "a_b__c___d____e _leading __dunder__ trailing_",
    "#define MAX(a, b) ((a) > (b) ? (a) : (b))",
]:
    add(s)

# ---- CJK, kana, Korean ---------------------------------------------------------------------
for s in [
    "我们今天在实验室里测试了一个新的分词器，结果还不错。",
    "这是一个没有空格的中文句子它应该被切成很多个词元",
    "繁體中文也需要測試，例如「臺灣」與「香港」。",
    "日本語の文章では、ひらがなとカタカナと漢字が混ざります。",
    "カタカナだけのぶんしょう：コンピュータ、キーボード、マウス。",
    "ひらがなだけでかいたぶんしょうもためしてみましょう。",
    "半角カナ：ｶﾀｶﾅ ﾃｽﾄ ｰ ｧｨｩｪｫ",
    "東京都渋谷区 2026年12月3日（木）午前11時51分",
    "한국어 문장도 시험해 봅시다. 토크나이저가 잘 동작할까요?",
    "띄어쓰기없이붙여쓴한국어문장입니다",
    "Hangul in conjoining jamo (NFD): \u1112\u1161\u11ab\u1100\u1173\u11af \u1110\u1166\u1109\u1173\u1110\u1173",
    "Mixed 中文 English 日本語 한국어 in one line.",
    "CJK punctuation：，。！？、《》【】〔〕……——",
    "Rare ideographs from extension B: 𠀀𠀁𠀂 𪚥 and compatibility 豈 更.",
]:
    add(s)

# ---- right-to-left and Indic scripts, Thai, others ---------------------------------------------
for s in [
    "العربية لغة جميلة، وتكتب من اليمين إلى اليسار.",
    "مرحبا بالعالم! هذا اختبار للمحلل اللغوي مع أرقام 2026 و ١٢٣.",
    "Arabic with harakat: \u0643\u064e\u062a\u064e\u0628\u064e \u0627\u0644\u0652\u0648\u064e\u0644\u064e\u062f\u064f",
    "Persian: این یک جمله فارسی است با نیم‌فاصله.",
    "עברית נכתבת מימין לשמאל, גם היא.",
    "Hebrew with niqqud: \u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd \u05e2\u05d5\u05b9\u05dc\u05b8\u05dd",
    "Mixed direction: the word שלום means peace, and سلام too.",
    "हिन्दी एक सुंदर भाषा है, और यह देवनागरी लिपि में लिखी जाती है।",
    "संस्कृतम् क्षत्रिय ज्ञान श्री द्वार",
    "Devanagari nukta (decomposed): \u0915\u093c \u0916\u093c \u0917\u093c \u091c\u093c \u0921\u093c \u092b\u093c",
    "Devanagari nukta (precomposed): \u0958 \u0959 \u095a \u095b \u095c \u095e",
    "বাংলা ভাষাও পরীক্ষা করা দরকার।",
    "தமிழ் மொழி மிகவும் பழமையானது.",
    "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำเลยสักนิดเดียว",
    "ภาษาไทย มี วรรณยุกต์ ่ ้ ๊ ๋ และ สระ ะ า ิ ี ึ ื ุ ู",
    "Ελληνικά: Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο.",
    "Русский: Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Українська: Ґанок, їжак, є, і. Беларуская: ў.",
    "ქართული ენა, Հայերեն լեզու, አማርኛ ቋንቋ, ᏣᎳᎩ",
    "Tiếng Việt có nhiều dấu: Nguyễn, Trường, Phượng, ước mơ.",
]:
    add(s)

# ---- emoji ---------------------------------------------------------------------------------
for s in [
    "Emoji 😀😃😄😁 and 🎉🎊 and ❤️ and ✨.",
    "Family ZWJ: \U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 and couple \U0001F469\u200D\u2764\uFE0F\u200D\U0001F468",
    "Skin tones: \U0001F44D\U0001F3FB \U0001F44D\U0001F3FC \U0001F44D\U0001F3FD \U0001F44D\U0001F3FE \U0001F44D\U0001F3FF",
    "Professions: \U0001F469\U0001F3FD\u200D\U0001F52C \U0001F468\U0001F3FF\u200D\U0001F4BB \U0001F9D1\u200D\U0001F680",
    "Flags: \U0001F1E9\U0001F1EA \U0001F1EF\U0001F1F5 \U0001F1FA\U0001F1F8 \U0001F1E7\U0001F1F7 \U0001F1EE\U0001F1F3 \U0001F1FA\U0001F1E6",
    "Subdivision flag: \U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F and rainbow \U0001F3F3\uFE0F\u200D\U0001F308",
    "Keycaps: 1\uFE0F\u20E3 #\uFE0F\u20E3 *\uFE0F\u20E3, text vs emoji: \u2603\uFE0E \u2603\uFE0F",
    "No spaces:😀a😀b😀c🙂🙃🙂🙃",
    "Symbols: ★☆♠♣♥♦ ←↑→↓ ⌘⌥⇧ ☃☂☀ ✓✗ ©®™ §¶†‡",
    "Box drawing: ┌─┬─┐ │ │ │ └─┴─┘ ░▒▓█",
]:
    add(s)

# ---- combining marks and normalization (NFD input, so NFC matters) -----------------------------
for s in [
    "NFD: e\u0301 a\u0300 o\u0302 u\u0308 n\u0303 c\u0327 A\u030a",
    "NFD words: cafe\u0301, nai\u0308ve, re\u0301sume\u0301, jalapen\u0303o, A\u030angstro\u0308m",
    "NFC words: caf\u00e9, na\u00efve, r\u00e9sum\u00e9, jalape\u00f1o, \u00c5ngstr\u00f6m",
    "Marks out of canonical order: a\u0302\u0323 a\u0323\u0302 q\u0307\u0323 q\u0323\u0307",
    "Vietnamese NFD: Nguye\u0302\u0303n Tru\u031bo\u031b\u0300ng Phu\u031bo\u031b\u0323ng",
    "Stacked marks: Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333",
    "Singletons: \u212b (Angstrom sign) \u2126 (Ohm sign) \u212a (Kelvin sign) \u00c5 \u03a9 K",
    "Composition exclusions: \u0958 \u2adc \ufb1d and decomposed \u05d9\u05b4",
    "Hangul syllables NFC \ud55c\uad6d and NFD \u1112\u1161\u11ab\u1100\u116e\u11a8 and LV+T \uac00\u11a8",
    "Greek with tonos NFD: \u03b1\u0301 \u03b5\u0301 \u0399\u0308\u0301 and oxia \u1f71",
    "Lone combining mark at the start: \u0301abc and after space: x \u0308y",
    "Combining after emoji: \U0001F600\u0301 and after digit: 7\u20dd",
    "Cyrillic NFD: \u0438\u0306 \u0435\u0308 \u0419 \u0401",
]:
    add(s)

# ---- odd whitespace ------------------------------------------------------------------------
for s in [
    "no-break\u00a0space and narrow\u202fno-break and figure\u2007space",
    "ideographic\u3000space\u3000between\u3000words",
    "en\u2002em\u2003thin\u2009hair\u200apunct\u2008six\u2006four\u2005three\u2004spaces",
    "zero\u200bwidth\u200cnon\u200djoiner\u2060word joiner\ufeffBOM inside",
    "tabs\tbetween\t\twords\t\t\tand\t\t\t\tmore",
    "vertical\u000btab and form\u000cfeed",
    "next line\u0085NEL, line\u2028separator, paragraph\u2029separator",
    "lone\rcarriage\rreturns\rhere",
    "ogham\u1680space and mongolian\u180evowel separator",
    "trailing tab\t",
    "\tleading tab",
    " a",
    "  two spaces",
    "   ",
    " ",
    "\t",
    "\u00a0",
    "\u3000",
]:
    add(s)
block("Windows line endings\r\nsecond line\r\nthird line\r\n")
block("Unix line\nnext\n\n\nafter three newlines\n")
block("\n\nstarts with newlines")
block("spaces before newline   \n   spaces after newline")
block("mixed \r\n \n\r \r\r\n\n end")
block("")
block("\n")
block(" \n \n \n")
block("tab\n\tindented\n\t\tdeeper\n\t\t\tdeepest")

# ---- special-token look-alikes ----------------------------------------------------------
for s in [
    "<s>",
    "</s>",
    "<unk>",
    "<s>Hello</s>",
    "<s> Hello </s>",
    "<s><s><s></s></s>",
    "<|endoftext|>",
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|begin_of_text|>Hello world<|end_of_text|>",
    "text before <|endoftext|> text after",
    "<|endoftext|><|endoftext|>",
    "<|im_start|>user\nHi there<|im_end|>".replace("\n", " "),
    "<|im_start|>assistant<|im_end|>",
    "<|start_header_id|>system<|end_header_id|>",
    "<|eot_id|> <|reserved_special_token_5|>",
    "<bos><eos><pad><start_of_turn>user<end_of_turn>",
    "partial: <|endoftext| <|endof <|end |endoftext|> <|begin_of_text <s </ s> < s > <un k>",
    "nearly: <S> </S> <UNK> <|ENDOFTEXT|> <|endoftext |> < |endoftext|>",
    "nested: <<s>> <</s>> <|<|endoftext|>|>",
    "byte tokens: <0x41> <0xFF> <0x0A> <0x> <0xGG>",
    "▁metaspace▁characters▁typed▁by▁hand and ▁ alone",
    "ĠĊ byte-level look-alikes: Ġhello Ċ ĉ",
    "</s>trailing and leading<s>",
    "@@ ## ▁▁ Ġ ## @@ subword markers",
]:
    add(s)
block("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n")
block("<s>[INST] Write a haiku. [/INST] Leaves fall</s>\n<s>[INST] Again [/INST]")

# ---- odd code points -----------------------------------------------------------------------
for s in [
    "Private use: \ue000\ue001\uf8ff and plane 15: \U000f0000",
    "Replacement \ufffd character and unassigned \u0378\u0379 code points",
    "Noncharacters \ufdd0 \ufffe \uffff \U0001fffe",
    "Control characters: \u0001\u0002\u0007\u001b[31mred\u001b[0m \u007f \u0080 \u009f",
    "Soft\u00adhyphen and combining grapheme joiner a\u034fb",
    "Bidi controls: \u202aLRE\u202c \u202bRLE\u202c \u2066LRI\u2069 \u200eLRM \u200fRLM",
    "Variation selectors: \u8fbb\U000e0100 \u845b\U000e0101 a\ufe00",
    "Mongolian ᠮᠣᠩᠭᠣᠯ, Tibetan བོད་སྐད, Khmer ភាសាខ្មែរ, Myanmar မြန်မာ",
    "Sinhala සිංහල, Lao ພາສາລາວ, Gujarati ગુજરાતી, Telugu తెలుగు, Malayalam മലയാളം",
    "Cuneiform 𒀀𒀁𒀂, Egyptian 𓀀𓀁𓀂, Linear B 𐀀𐀁, musical 𝄞𝄢",
]:
    add(s)

# ---- long runs (1000+ repeated characters) ------------------------------------------------
add("a" * 1200)
add("ab" * 600)
add("1" * 1100)
add("=" * 2000)
add("-" * 1000 + ">")
add("x" + " " * 1500 + "y")
add("\u3042" * 1000)
add("\U0001F642" * 1000)
add("e\u0301" * 500)
add("\t" * 1000)
add("." * 1024)
add("the " * 300)
block("\n" * 1100)
block("line\r\n" * 300)

# ---- a few paragraphs of prose ------------------------------------------------------------
block("""The workshop at the end of the lane had been a bakery once, and on warm days the walls
still smelled faintly of bread. Inside, two long tables carried the machines: a lathe that
was older than anyone who used it, a drill press with a hand-painted warning, and a row of
small computers that ran tests all night.

Nobody remembered who had first put the kettle next to the oscilloscope. It had simply
always been there, the way the cat had always slept on the warm power supply.""")
block("""Step 1. Read the file into memory.
Step 2. Check every length against the size of the buffer.
Step 3. Refuse anything that does not add up, and say why.
Step 4. Only then build the tables.

Notes:
  - never trust a length field;
  - never index with an unchecked id;
  - a clear error beats a silent guess.""")
block("""Q: How many tokens is this sentence?
A: It depends on the tokenizer, which is rather the point.

Q: And this one?
A: Also depends.""")

# ---- write -------------------------------------------------------------------------------
def main():
    out = []
    for kind, s in cases:
        if kind == "line":
            out.append(s)
        else:
            out.append("<<<")
            out.append(s)
            out.append(">>>")
    text = "\n".join(out) + "\n"
    # the file must split back into exactly these cases
    from_file = split_cases(text)
    assert from_file == [s for _, s in cases], "corpus does not round-trip through the split rule"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    print("%s: %d cases, %d bytes" % (os.path.relpath(OUT), len(cases), len(text.encode("utf-8"))))


def split_cases(text):
    """The split rule of the module docstring (tokenizer_ref.py has the same code)."""
    res, blk = [], None
    for ln in text.split("\n"):
        if blk is not None:
            if ln == ">>>":
                res.append("\n".join(blk))
                blk = None
            else:
                blk.append(ln)
        elif ln == "<<<":
            blk = []
        elif ln != "":
            res.append(ln)
    if blk is not None:
        raise ValueError("unterminated <<< block")
    return res


if __name__ == "__main__":
    sys.exit(main())
