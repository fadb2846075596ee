/* test_tokenizer.c - the tokenizer.json tokenizer against the Rust `tokenizers` library.

   References: tests/data/tok/ref/NAME.json, written by tests/ref/tokenizer_ref.py (the
   Rust library, run on the device machine) for every corpus case of
   tests/data/tok/corpus.txt: ids with and without special tokens and their decodes.
   Tokenizers: our own committed ones (tests/data/tok/NAME/, models/NAME/) and the npm
   ones `make tokenizers` fetches into build/tok/NAME/ (skipped when absent).
   UNIQL_TOK_REF_DIR overrides the reference folder (to compare with the JavaScript
   peer's output of tests/ref/tokenizer_ref.mjs while developing). */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <stdlib.h>
#include <string.h>

typedef struct tk_case { const char *s; size_t n; } tk_case;

/* the corpus split rule of tests/ref/make_corpus.py */
static int tk_split_cases(char *text, size_t n, tk_case **out)
{
    size_t i = 0, cap = 64, k = 0, blk_start = 0;
    int in_blk = 0;
    tk_case *c = (tk_case *)malloc(cap * sizeof *c);
    while (c && i <= n) {
        size_t e = i;
        while (e < n && text[e] != '\n') e++;
        if (in_blk) {
            if (e - i == 3 && !memcmp(text + i, ">>>", 3)) {
                size_t end = i > blk_start ? i - 1 : blk_start;   /* drop the '\n' before >>> */
                if (k == cap) { cap *= 2; c = (tk_case *)realloc(c, cap * sizeof *c); if (!c) return -1; }
                c[k].s = text + blk_start;
                c[k].n = end - blk_start;
                k++;
                in_blk = 0;
            }
        } else if (e - i == 3 && !memcmp(text + i, "<<<", 3)) {
            in_blk = 1;
            blk_start = e + 1;
        } else if (e > i) {
            if (k == cap) { cap *= 2; c = (tk_case *)realloc(c, cap * sizeof *c); if (!c) return -1; }
            c[k].s = text + i;
            c[k].n = e - i;
            k++;
        }
        if (e >= n) break;
        i = e + 1;
    }
    *out = c;
    return c ? (int)k : -1;
}

static int tk_file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* ids of a JSON array equal to got[0..n)? */
static int tk_ids_equal(const uniql_json *arr, const int *got, size_t n)
{
    const uniql_json *x;
    size_t i = 0;
    if (!arr || arr->type != UNIQL_JSON_ARRAY || (size_t)arr->len != n) return 0;
    for (i = 0; (x = uniql_json_at(arr, (int)i)) != NULL; i++) if ((double)got[i] != x->u.number) return 0;
    return 1;
}

/* one tokenizer against its reference: 1 pass, 0 fail (message in msg), -1 skip */
static int tk_check(const char *name, const char *dir, char *msg, size_t msg_cap, int *n_cases_out, int *n_rt_out)
{
    char path[512];
    const char *refdir = getenv("UNIQL_TOK_REF_DIR");
    unsigned char *corpus, *ref;
    size_t cn, rn;
    tk_case *cases = NULL;
    int nc, i, ok = 1, n_rt = 0;
    uniql_tokenizer *t = NULL;
    uniql_json_doc doc;
    uniql_error e;
    const uniql_json *jc, *c;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (!tk_file_exists(path)) { snprintf(msg, msg_cap, "%.200s absent (make tokenizers)", path); return -1; }
    snprintf(path, sizeof path, "%s/%s.json", refdir ? refdir : "tests/data/tok/ref", name);
    ref = tutil_read_file(path, &rn);
    if (!ref) { snprintf(msg, msg_cap, "no reference %.200s", path); return -1; }
    corpus = tutil_read_file("tests/data/tok/corpus.txt", &cn);
    if (!corpus) { free(ref); snprintf(msg, msg_cap, "tests/data/tok/corpus.txt missing"); return 0; }
    nc = tk_split_cases((char *)corpus, cn, &cases);
    if (uniql_json_parse((const char *)ref, rn, 0, NULL, &doc, &e) != UNIQL_OK) {
        snprintf(msg, msg_cap, "%.100s: %.200s", path, e.message);
        free(ref); free(corpus); free(cases);
        return 0;
    }
    jc = uniql_json_get(doc.root, "cases");
    if (nc < 1 || !jc || jc->len != (uint32_t)nc) {
        snprintf(msg, msg_cap, "%.200s: %d cases, corpus has %d (regenerate the reference)", path, jc ? (int)jc->len : -1, nc);
        ok = 0;
    } else if (uniql_tokenizer_load_dir(dir, NULL, &t, &e) != UNIQL_OK) {
        snprintf(msg, msg_cap, "load %.100s: %.200s", dir, e.message);
        ok = 0;
    }
    for (i = 0; ok && (c = uniql_json_at(jc, i)) != NULL; i++) {
        int *ids = NULL, *ids_s = NULL;
        size_t n = 0, ns = 0, dl = 0, dsl = 0, k, sl = 0;
        char *dec = NULL, *dec_s = NULL, *stream = NULL;
        const uniql_json *d = uniql_json_get(c, "decoded"), *ds = uniql_json_get(c, "decoded_special");
        const char *want = d && d->type == UNIQL_JSON_STRING ? d->u.str : cases[i].s;
        size_t want_n = d && d->type == UNIQL_JSON_STRING ? d->len : cases[i].n;
        uniql_decode_stream st;
        if (uniql_tokenizer_encode(t, cases[i].s, cases[i].n, 0, &ids, &n, &e) != UNIQL_OK ||
            uniql_tokenizer_encode(t, cases[i].s, cases[i].n, UNIQL_TOK_ADD_SPECIAL, &ids_s, &ns, &e) != UNIQL_OK) {
            snprintf(msg, msg_cap, "case %d: encode: %.200s", i, e.message);
            ok = 0;
        } else if (!tk_ids_equal(uniql_json_get(c, "ids"), ids, n)) {
            const uniql_json *r = uniql_json_get(c, "ids");
            size_t j = 0;
            const uniql_json *x = uniql_json_at(r, 0);
            while (x && j < n && x->u.number == (double)ids[j]) { j++; x = uniql_json_at(r, (int)j); }
            snprintf(msg, msg_cap, "case %d (%.40s): ids differ at %lu of %lu (reference %d ids): got %d, want %g", i,
                     cases[i].s, (unsigned long)j, (unsigned long)n, r ? (int)r->len : -1, j < n ? ids[j] : -1, x ? x->u.number : -1.0);
            ok = 0;
        } else if (!tk_ids_equal(uniql_json_get(c, "ids_special"), ids_s, ns)) {
            snprintf(msg, msg_cap, "case %d: ids with special tokens differ", i);
            ok = 0;
        } else if (uniql_tokenizer_decode(t, ids, n, 0, &dec, &dl, &e) != UNIQL_OK ||
                   uniql_tokenizer_decode(t, ids_s, ns, 0, &dec_s, &dsl, &e) != UNIQL_OK) {
            snprintf(msg, msg_cap, "case %d: decode: %.200s", i, e.message);
            ok = 0;
        } else if (dl != want_n || memcmp(dec, want, dl)) {
            snprintf(msg, msg_cap, "case %d (%.40s): decode differs: [%.60s]", i, cases[i].s, dec);
            ok = 0;
        } else if (ds && ds->type == UNIQL_JSON_STRING ? (dsl != ds->len || memcmp(dec_s, ds->u.str, dsl))
                                                        : (dsl != want_n || memcmp(dec_s, want, dsl))) {
            snprintf(msg, msg_cap, "case %d: decode with special tokens differs: [%.60s]", i, dec_s);
            ok = 0;
        } else {
            /* streaming: one id at a time, the pieces add up to the whole decode */
            memset(&st, 0, sizeof st);
            stream = (char *)malloc(dl + 1);
            for (k = 0; k < n && ok; k++) {
                char *piece;
                size_t pl;
                if (uniql_tokenizer_decode_next(t, &st, ids, k + 1, 0, k + 1 == n, &piece, &pl, &e) != UNIQL_OK ||
                    sl + pl > dl || memcmp(dec + sl, piece, pl)) {
                    snprintf(msg, msg_cap, "case %d: streaming decode diverges after %lu ids", i, (unsigned long)k + 1);
                    ok = 0;
                } else sl += pl;
                uniql_free_buffer(piece, NULL);
            }
            if (ok && sl != dl) { snprintf(msg, msg_cap, "case %d: streaming decode gave %lu of %lu bytes", i, (unsigned long)sl, (unsigned long)dl); ok = 0; }
            if (ok && !(d && d->type == UNIQL_JSON_STRING)) n_rt++;
        }
        free(stream);
        uniql_free_buffer(ids, NULL);
        uniql_free_buffer(ids_s, NULL);
        uniql_free_buffer(dec, NULL);
        uniql_free_buffer(dec_s, NULL);
    }
    *n_cases_out = nc;
    *n_rt_out = n_rt;
    uniql_tokenizer_free(t);
    uniql_json_free(&doc);
    free(ref);
    free(corpus);
    free(cases);
    return ok;
}

#define TK_REF_TEST(fn, name, dir) \
    TEST fn(void) { \
        char msg[480]; int nc = 0, nrt = 0, r = tk_check(name, dir, msg, sizeof msg, &nc, &nrt); \
        if (r < 0) SKIPm(msg); \
        if (!r) FAILm(msg); \
        UQ_NOTE("%s: %d corpus cases equal to the reference (ids, ids with specials, decodes, streaming); %d round-trip", name, nc, nrt); \
        PASS(); }

TK_REF_TEST(ref_uq_sp, "uq-sp", "tests/data/tok/uq-sp")
TK_REF_TEST(ref_uq_bl, "uq-bl", "tests/data/tok/uq-bl")
TK_REF_TEST(ref_bpe, "bpe", "tests/data/bpe")
TK_REF_TEST(ref_llama3, "llama3", "build/tok/llama3")
TK_REF_TEST(ref_qwen3, "qwen3", "build/tok/qwen3")
TK_REF_TEST(ref_llama2, "llama2", "build/tok/llama2")
TK_REF_TEST(ref_gemma, "gemma", "build/tok/gemma")


static uniql_tokenizer *tk_load(const char *dir)
{
    uniql_tokenizer *t = NULL;
    uniql_error e;
    if (uniql_tokenizer_load_dir(dir, NULL, &t, &e) != UNIQL_OK) { printf("    %s: %s\n", dir, e.message); return NULL; }
    return t;
}

/* ---- Unicode tables against the Debian unicode-data files ---- */

typedef struct tk_dec { uint32_t c, a, b; } tk_dec;
static int tk_dec_cmp(const void *x, const void *y) { uint32_t a = ((const tk_dec *)x)->c, b = ((const tk_dec *)y)->c; return a < b ? -1 : a > b; }
static const tk_dec *tk_dec_find(const tk_dec *d, size_t n, uint32_t c) { tk_dec k; k.c = c; return (const tk_dec *)bsearch(&k, d, n, sizeof k, tk_dec_cmp); }
static size_t tk_full_decomp(const tk_dec *d, size_t n, uint32_t c, uint32_t *out)
{
    const tk_dec *e = tk_dec_find(d, n, c);
    size_t k;
    if (c >= 0xAC00 && c < 0xAC00 + 11172) {   /* Hangul, UAX #15 arithmetic */
        uint32_t s = c - 0xAC00;
        out[0] = 0x1100 + s / 588; out[1] = 0x1161 + (s % 588) / 28;
        if (s % 28) { out[2] = 0x11A7 + s % 28; return 3; }
        return 2;
    }
    if (!e) { out[0] = c; return 1; }
    k = tk_full_decomp(d, n, e->a, out);
    if (e->b) k += tk_full_decomp(d, n, e->b, out + k);
    return k;
}

static const char *const tk_cats[30] = {"Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd",
                                        "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf",
                                        "Cs", "Co"};

TEST unicode_tables_match_ucd(void)
{
    FILE *f = fopen("/usr/share/unicode/UnicodeData.txt", "r");
    static unsigned char cat[0x110000], ccc[0x110000];
    static uint32_t lower[0x110000];
    tk_dec *d;
    size_t nd = 0, i;
    char line[1024];
    long first = -1;
    uint32_t c, nbad = 0;
    if (!f) SKIPm("/usr/share/unicode/UnicodeData.txt absent (apt-get install unicode-data)");
    ASSERT_STR_EQ("15.0.0", uniql_unicode_version());
    d = (tk_dec *)malloc(4096 * sizeof *d);
    ASSERT(d != NULL);
    memset(cat, 0, sizeof cat);
    memset(ccc, 0, sizeof ccc);
    for (c = 0; c < 0x110000; c++) lower[c] = c;
    while (fgets(line, sizeof line, f)) {
        char *fld[15], *p = line;
        int k, g = -1;
        long cp;
        for (k = 0; k < 15; k++) { fld[k] = p; p = strchr(p, ';'); if (!p) break; *p++ = 0; }
        if (k < 14) continue;
        cp = strtol(fld[0], NULL, 16);
        for (k = 0; k < 30; k++) if (!strcmp(fld[2], tk_cats[k])) g = k;
        ASSERT(g >= 0);
        if (strstr(fld[1], ", First>")) { first = cp; continue; }
        if (strstr(fld[1], ", Last>")) { long q; for (q = first; q <= cp; q++) { cat[q] = (unsigned char)g; ccc[q] = (unsigned char)atoi(fld[3]); } continue; }
        cat[cp] = (unsigned char)g;
        ccc[cp] = (unsigned char)atoi(fld[3]);
        if (fld[13][0]) lower[cp] = (uint32_t)strtol(fld[13], NULL, 16);
        if (fld[5][0] && fld[5][0] != '<') {
            char *e;
            ASSERT(nd < 4096);
            d[nd].c = (uint32_t)cp;
            d[nd].a = (uint32_t)strtol(fld[5], &e, 16);
            d[nd].b = (uint32_t)strtol(e, NULL, 16);
            nd++;
        }
    }
    fclose(f);
    for (c = 0; c < 0x110000; c++) {
        if ((int)uniql_unicode_category_of(c) != cat[c] || uniql_unicode_ccc(c) != ccc[c] || uniql_unicode_lower(c) != lower[c]) {
            if (!nbad) printf("    U+%04X: category %d ccc %d lower %X, file %d %d %X\n", (unsigned)c, (int)uniql_unicode_category_of(c),
                              uniql_unicode_ccc(c), (unsigned)uniql_unicode_lower(c), cat[c], ccc[c], (unsigned)lower[c]);
            nbad++;
        }
    }
    ASSERT_EQ(0, nbad);
    /* NFD of every character with a canonical decomposition = the file's full decomposition */
    qsort(d, nd, sizeof *d, tk_dec_cmp);
    for (i = 0; i < nd; i++) {
        unsigned char in[4], want[64];
        uint32_t full[16];
        size_t k, m = tk_full_decomp(d, nd, d[i].c, full), wl = 0, ol;
        char *out;
        int n = 0;
        if (d[i].c < 0x80) continue;
        /* canonical order of the result (the file's decomposition already is, except for
           sequences of marks that the recursion concatenates) */
        for (k = 1; k < m; k++) {
            size_t j = k;
            while (j > 0 && ccc[full[j]] && ccc[full[j - 1]] > ccc[full[j]]) { uint32_t t = full[j]; full[j] = full[j - 1]; full[j - 1] = t; j--; }
        }
        for (k = 0; k < m; k++) {
            uint32_t x = full[k];
            if (x < 0x80) want[wl++] = (unsigned char)x;
            else if (x < 0x800) { want[wl++] = (unsigned char)(0xC0 | (x >> 6)); want[wl++] = (unsigned char)(0x80 | (x & 63)); }
            else if (x < 0x10000) { want[wl++] = (unsigned char)(0xE0 | (x >> 12)); want[wl++] = (unsigned char)(0x80 | ((x >> 6) & 63)); want[wl++] = (unsigned char)(0x80 | (x & 63)); }
            else { want[wl++] = (unsigned char)(0xF0 | (x >> 18)); want[wl++] = (unsigned char)(0x80 | ((x >> 12) & 63)); want[wl++] = (unsigned char)(0x80 | ((x >> 6) & 63)); want[wl++] = (unsigned char)(0x80 | (x & 63)); }
        }
        c = d[i].c;
        if (c < 0x800) { in[0] = (unsigned char)(0xC0 | (c >> 6)); in[1] = (unsigned char)(0x80 | (c & 63)); n = 2; }
        else if (c < 0x10000) { in[0] = (unsigned char)(0xE0 | (c >> 12)); in[1] = (unsigned char)(0x80 | ((c >> 6) & 63)); in[2] = (unsigned char)(0x80 | (c & 63)); n = 3; }
        else { in[0] = (unsigned char)(0xF0 | (c >> 18)); in[1] = (unsigned char)(0x80 | ((c >> 12) & 63)); in[2] = (unsigned char)(0x80 | ((c >> 6) & 63)); in[3] = (unsigned char)(0x80 | (c & 63)); n = 4; }
        ASSERT_OK(uniql_unicode_normalize(1, (const char *)in, (size_t)n, NULL, &out, &ol, NULL));
        if (ol != wl || memcmp(out, want, wl)) { printf("    NFD(U+%04X) differs\n", (unsigned)c); nbad++; }
        uniql_free_buffer(out, NULL);
    }
    ASSERT_EQ(0, nbad);
    UQ_NOTE("all 1114112 code points: category, combining class, lowercase as UnicodeData.txt; %lu canonical decompositions", (unsigned long)nd);
    free(d);
    PASS();
}

/* NormalizationTest.txt (Unicode's conformance file, unpacked by `make tokenizers` from
   the unicode-data package): c2 == NFC(c1..c3), c4 == NFC(c4, c5), c3 == NFD(c1..c3),
   c5 == NFD(c4, c5) */
static int tk_hexseq(const char *s, char *out, size_t *n)
{
    size_t k = 0;
    while (*s) {
        char *e;
        unsigned long x = strtoul(s, &e, 16);
        if (e == s) break;
        if (x < 0x80) out[k++] = (char)x;
        else if (x < 0x800) { out[k++] = (char)(0xC0 | (x >> 6)); out[k++] = (char)(0x80 | (x & 63)); }
        else if (x < 0x10000) { out[k++] = (char)(0xE0 | (x >> 12)); out[k++] = (char)(0x80 | ((x >> 6) & 63)); out[k++] = (char)(0x80 | (x & 63)); }
        else { out[k++] = (char)(0xF0 | (x >> 18)); out[k++] = (char)(0x80 | ((x >> 12) & 63)); out[k++] = (char)(0x80 | ((x >> 6) & 63)); out[k++] = (char)(0x80 | (x & 63)); }
        s = e;
        while (*s == ' ') s++;
    }
    *n = k;
    return 1;
}

TEST unicode_normalization_conformance(void)
{
    FILE *f = fopen("build/unicode/NormalizationTest.txt", "r");
    char line[2048], col[5][512];
    size_t len[5];
    long n_lines = 0, nbad = 0;
    if (!f) SKIPm("build/unicode/NormalizationTest.txt absent (make tokenizers unpacks it from unicode-data)");
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        int k, form;
        if (line[0] == '#' || line[0] == '@' || line[0] == '\n') continue;
        for (k = 0; k < 5; k++) {
            char *q = strchr(p, ';');
            if (!q) break;
            *q = 0;
            tk_hexseq(p, col[k], &len[k]);
            p = q + 1;
        }
        if (k < 5) continue;
        n_lines++;
        for (form = 0; form < 2; form++)
            for (k = 0; k < 5; k++) {
                int want = form == 0 ? (k < 3 ? 1 : 3) : (k < 3 ? 2 : 4);
                char *out;
                size_t ol;
                if (uniql_unicode_normalize(form, col[k], len[k], NULL, &out, &ol, NULL) != UNIQL_OK) { nbad++; continue; }
                if (ol != len[want] || memcmp(out, col[want], ol)) {
                    if (nbad < 3) printf("    line %ld column %d form %s differs\n", n_lines, k + 1, form ? "NFD" : "NFC");
                    nbad++;
                }
                uniql_free_buffer(out, NULL);
            }
    }
    fclose(f);
    ASSERT_EQ(0, nbad);
    ASSERT(n_lines > 10000);
    UQ_NOTE("NormalizationTest.txt: %ld lines x 5 columns x NFC/NFD as the conformance file says", n_lines);
    PASS();
}

/* ---- complexity: merges are O(n log n) in the word length (O(n) heap operations of
   O(log n) each), regex scans linear ---- */
TEST bpe_long_run_is_n_log_n(void)
{
    uniql_tokenizer *t = tk_load("tests/data/tok/uq-sp");
    static char buf[100001];
    uint64_t ops[3];
    int k;
    ASSERT(t != NULL);
    for (k = 0; k < 3; k++) {
        size_t n = (size_t)25000 << k, nid, i;
        int *ids;
        char *dec;
        size_t dl;
        uniql_tokenizer_stats st;
        memset(buf, 'l', n);   /* "l l" is a merge of uq-sp: every pair is a candidate */
        ASSERT_OK(uniql_tokenizer_encode_ex(t, buf, n, 0, &ids, &nid, &st, NULL));
        ASSERT_OK(uniql_tokenizer_decode(t, ids, nid, 0, &dec, &dl, NULL));
        ASSERT(dl == n && !memcmp(dec, buf, n));   /* one word of n characters, exact round trip */
        ASSERT_EQ(1, st.words);
        for (i = 0; i < nid; i++) ASSERT(ids[i] >= 0);
        ops[k] = st.heap_ops;
        ASSERT(st.heap_ops >= n);
        UQ_NOTE("%lu x 'l': %lu ids, %llu heap operations (%.2f per character)", (unsigned long)n, (unsigned long)nid,
                (unsigned long long)st.heap_ops, (double)st.heap_ops / (double)n);
        uniql_free_buffer(ids, NULL);
        uniql_free_buffer(dec, NULL);
    }
    /* a quadratic method would make each doubling cost 4x; n log n costs ~2.1x */
    ASSERT_LE((double)ops[1] / (double)ops[0], 2.3);
    ASSERT_LE((double)ops[2] / (double)ops[1], 2.3);
    ASSERT_LE((double)ops[2], 100000.0 * 17 * 4);   /* <= 4 n log2 n */
    uniql_tokenizer_free(t);
    PASS();
}

TEST regex_long_runs_are_linear(void)
{
    uniql_tokenizer *t = tk_load("tests/data/tok/uq-bl");
    static char buf[100001];
    const char fill[4] = {' ', '\n', 'a', '7'};
    int f;
    ASSERT(t != NULL);
    for (f = 0; f < 4; f++) {
        size_t nid;
        int *ids;
        uniql_tokenizer_stats st;
        memset(buf, fill[f], 100000);
        buf[99999] = 'x';
        ASSERT_OK(uniql_tokenizer_encode_ex(t, buf, 100000, 0, &ids, &nid, &st, NULL));
        UQ_NOTE("100000 x 0x%02x: %lu ids, %llu regex steps (%.1f per byte), %llu heap operations", fill[f], (unsigned long)nid,
                (unsigned long long)st.regex_steps, st.regex_steps / 1e5, (unsigned long long)st.heap_ops);
        ASSERT_LE((double)st.regex_steps, 100.0 * 100000);
        uniql_free_buffer(ids, NULL);
    }
    uniql_tokenizer_free(t);
    PASS();
}

/* ---- byte-level details ---- */
TEST byte_level_alphabet(void)
{
    uniql_tokenizer *t = tk_load("tests/data/tok/uq-bl");
    int b;
    ASSERT(t != NULL);
    /* the GPT-2 map: printable Latin-1 as itself, the 68 others from U+0100 in byte order */
    ASSERT_STR_EQ("\xC4\x80", uniql_tokenizer_token(t, uniql_tokenizer_token_id(t, "\xC4\x80", 2), NULL));   /* U+0100 */
    for (b = 0; b < 256; b++) {
        unsigned char in[1];
        int *ids;
        size_t n, dl;
        char *dec;
        in[0] = (unsigned char)b;
        if (b >= 0x80) continue;   /* a lone high byte is not UTF-8: encode refuses it */
        ASSERT_OK(uniql_tokenizer_encode(t, (const char *)in, 1, 0, &ids, &n, NULL));
        ASSERT_EQ(1, n);
        ASSERT_OK(uniql_tokenizer_decode(t, ids, 1, 0, &dec, &dl, NULL));
        ASSERT(dl == 1 && (unsigned char)dec[0] == b);
        if (b == ' ') ASSERT_STR_EQ("\xC4\xA0", uniql_tokenizer_token(t, ids[0], NULL));   /* U+0120 */
        if (b == '\n') ASSERT_STR_EQ("\xC4\x8A", uniql_tokenizer_token(t, ids[0], NULL));  /* U+010A */
        if (b == 'A') ASSERT_STR_EQ("A", uniql_tokenizer_token(t, ids[0], NULL));
        uniql_free_buffer(ids, NULL);
        uniql_free_buffer(dec, NULL);
    }
    {   /* a lone continuation byte token decodes to U+FFFD (Rust's from_utf8_lossy) */
        int id = uniql_tokenizer_token_id(t, "\xC2\x80", 2);   /* U+0080 = byte 0x80 in the map? no: 0x80 maps to U+0122 */
        int id2 = uniql_tokenizer_token_id(t, "\xC4\xA2", 2);  /* U+0122: byte 0x80 */
        char *dec;
        size_t dl;
        ASSERT_EQ(-1, id);
        ASSERT(id2 >= 0);
        ASSERT_OK(uniql_tokenizer_decode(t, &id2, 1, 0, &dec, &dl, NULL));
        ASSERT_STR_EQ("\xEF\xBF\xBD", dec);
        uniql_free_buffer(dec, NULL);
    }
    uniql_tokenizer_free(t);
    PASS();
}

TEST streaming_emits_whole_characters(void)
{
    uniql_tokenizer *t = tk_load("tests/data/tok/uq-bl");
    const char *text = "\xF0\x9F\x98\x80 caf\xC3\xA9 \xE6\xBC\xA2\xE5\xAD\x97";   /* emoji, é, CJK */
    int *ids;
    size_t n, k, total = 0;
    uniql_decode_stream st;
    char out[64];
    ASSERT(t != NULL);
    ASSERT_OK(uniql_tokenizer_encode(t, text, strlen(text), 0, &ids, &n, NULL));
    ASSERT(n > 8);   /* the rare characters are byte tokens: split across tokens */
    memset(&st, 0, sizeof st);
    for (k = 0; k < n; k++) {
        char *piece;
        size_t pl;
        ASSERT_OK(uniql_tokenizer_decode_next(t, &st, ids, k + 1, 0, 0, &piece, &pl, NULL));
        ASSERT(!strstr(piece, "\xEF\xBF\xBD"));   /* never half a character */
        ASSERT(total + pl < sizeof out);
        memcpy(out + total, piece, pl);
        total += pl;
        uniql_free_buffer(piece, NULL);
    }
    out[total] = 0;
    ASSERT_STR_EQ(text, out);
    uniql_free_buffer(ids, NULL);
    uniql_tokenizer_free(t);
    PASS();
}

/* ---- the .uniql file carries the tokenizer ---- */
TEST packed_file_carries_tokenizer(void)
{
    uniql_model *M = tutil_load_ref("qwen2", 0), *Q = NULL;
    unsigned char *cfg, *tj, *tc, *img = NULL, *buf;
    size_t cfg_len = 0, tj_len = 0, tc_len = 0, size, n1, n2;
    uniql_pack_model_desc d;
    uniql_packed pk;
    uniql_tokenizer *t1 = tk_load("tests/data/tok/uq-sp"), *t2 = NULL;
    uniql_error err;
    const char *text = "The packed file brings its own tokenizer: caf\xC3\xA9 \xE6\xBC\xA2\xE5\xAD\x97.";
    int *ids1, *ids2;
    char *pos;
    ASSERT(M && t1);
    cfg = tutil_read_file("tests/data/ref/qwen2/config.json", &cfg_len);
    tj = tutil_read_file("tests/data/tok/uq-sp/tokenizer.json", &tj_len);
    tc = tutil_read_file("tests/data/tok/uq-sp/tokenizer_config.json", &tc_len);
    ASSERT(cfg && tj && tc);
    ASSERT_OK(uniql_model_quantize(M, NULL, NULL, &Q, &err));
    memset(&d, 0, sizeof d);
    d.config_json = (const char *)cfg; d.config_len = cfg_len;
    /* without a tokenizer: MISSING (a byte-level model) */
    ASSERT_OK(uniql_pack_model(Q, &d, NULL, (void **)&img, &size, &err));
    ASSERT_OK(uniql_packed_open(img, size, 0, NULL, &pk, &err));
    ASSERT_ERR(UNIQL_ERR_MISSING, uniql_packed_tokenizer(&pk, NULL, &t2, &err));
    uniql_packed_free(&pk);
    uniql_free_buffer(img, NULL);
    /* with one: the same ids as the tokenizer loaded from its folder */
    d.tokenizer_json = (const char *)tj; d.tokenizer_len = tj_len;
    d.tokenizer_config = (const char *)tc; d.tokenizer_config_len = tc_len;
    ASSERT_OK(uniql_pack_model(Q, &d, NULL, (void **)&img, &size, &err));
    ASSERT_OK(uniql_packed_open(img, size, 0, NULL, &pk, &err));
    ASSERT_OK(uniql_packed_tokenizer(&pk, NULL, &t2, &err));
    ASSERT_OK(uniql_tokenizer_encode(t1, text, strlen(text), UNIQL_TOK_ADD_SPECIAL, &ids1, &n1, NULL));
    ASSERT_OK(uniql_tokenizer_encode(t2, text, strlen(text), UNIQL_TOK_ADD_SPECIAL, &ids2, &n2, NULL));
    ASSERT(n1 == n2 && !memcmp(ids1, ids2, n1 * sizeof(int)));
    {
        uniql_tokenizer_info a, b;
        uniql_tokenizer_get_info(t1, &a);
        uniql_tokenizer_get_info(t2, &b);
        ASSERT(!memcmp(&a, &b, sizeof a));
        ASSERT_EQ(uniql_tokenizer_token_id(t1, "</s>", 4), b.eos_id);   /* from tokenizer_config.json */
        ASSERT_EQ(1, b.add_bos);
    }
    uniql_free_buffer(ids1, NULL);
    uniql_free_buffer(ids2, NULL);
    uniql_tokenizer_free(t2);
    uniql_packed_free(&pk);
    /* one changed byte of the carried tokenizer: the file checksum catches it, and with
       the file checksum skipped the tokenizer's own checksum still does */
    buf = (unsigned char *)malloc(size + 16);
    ASSERT(buf != NULL);
    memcpy(buf, img, size);
    pos = (char *)buf;
    {
        size_t i;
        const char *needle = "\"<unk>\"";   /* inside the carried tokenizer.json string: \"<unk>\" */
        for (i = 0; i + 7 < size; i++) if (!memcmp(buf + i, "unk>\\\"", 6)) break;
        (void)needle;
        ASSERT(i + 7 < size);
        pos = (char *)buf + i;
        pos[0] = 'U';
    }
    ASSERT_ERR(UNIQL_ERR_CHECKSUM, uniql_packed_open(buf, size, 0, NULL, &pk, &err));
    ASSERT_OK(uniql_packed_open(buf, size, UNIQL_PACK_SKIP_CHECKSUM, NULL, &pk, &err));
    ASSERT_ERR(UNIQL_ERR_CHECKSUM, uniql_packed_tokenizer(&pk, NULL, &t2, &err));
    UQ_NOTE("%s", err.message);
    uniql_packed_free(&pk);
    free(buf);
    uniql_free_buffer(img, NULL);
    uniql_tokenizer_free(t1);
    uniql_model_free(Q);
    uniql_model_free(M);
    free(cfg); free(tj); free(tc);
    PASS();
}

/* ---- untrusted tokenizer.json: each refusal with its code and a message naming the part ---- */
TEST bad_tokenizer_files(void)
{
    static const struct { const char *json; uniql_result code; const char *says; } cases[] = {
        {"", UNIQL_ERR_PARSE, "tokenizer.json"},
        {"[]", UNIQL_ERR_FORMAT, "not a JSON object"},
        {"{}", UNIQL_ERR_MISSING, "model"},
        {"{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", UNIQL_ERR_UNSUPPORTED, "WordPiece"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"dropout\":0.1}}", UNIQL_ERR_UNSUPPORTED, "dropout"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a b\"]}}", UNIQL_ERR_MISSING, "merge 0"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]}}", UNIQL_ERR_MISSING, "makes a token"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}}", UNIQL_ERR_FORMAT, "used twice"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}", UNIQL_ERR_FORMAT, "vocabulary id"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":2000000000},\"merges\":[]}}", UNIQL_ERR_FORMAT, "sparse"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"unk_token\":\"<unk>\"}}", UNIQL_ERR_MISSING, "unk_token"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"weird\":1}}", UNIQL_ERR_UNSUPPORTED, "weird"},
        {"{\"normalizer\":{\"type\":\"NFKC\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", UNIQL_ERR_UNSUPPORTED, "NFKC"},
        {"{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?<=a)b\"},\"behavior\":\"Isolated\",\"invert\":false},"
         "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", UNIQL_ERR_UNSUPPORTED, "regex"},
        {"{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(a*)*\"},\"behavior\":\"Isolated\",\"invert\":false},"
         "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", UNIQL_ERR_UNSUPPORTED, "empty string"},
        {"{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"[a-\"},\"behavior\":\"Isolated\",\"invert\":false},"
         "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", UNIQL_ERR_PARSE, "regex"},
        {"{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Sideways\",\"invert\":false},"
         "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", UNIQL_ERR_UNSUPPORTED, "Sideways"},
        {"{\"pre_tokenizer\":{\"type\":\"UnicodeScripts\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", UNIQL_ERR_UNSUPPORTED, "UnicodeScripts"},
        {"{\"decoder\":{\"type\":\"WordPiece\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", UNIQL_ERR_UNSUPPORTED, "WordPiece"},
        {"{\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
         "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"special_tokens\":{}},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
         UNIQL_ERR_MISSING, "<s>"},
        {"{\"truncation\":{\"max_length\":8},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", UNIQL_ERR_UNSUPPORTED, "truncation"},
        {"{\"added_tokens\":[{\"id\":1,\"content\":\"<x>\",\"single_word\":true}],\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
         UNIQL_ERR_UNSUPPORTED, "single_word"},
        {"{\"added_tokens\":[{\"id\":1,\"content\":\"\"}],\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", UNIQL_ERR_FORMAT, "empty"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uniql_tokenizer *t = (uniql_tokenizer *)&i;
        uniql_error e;
        uniql_result r = uniql_tokenizer_load(cases[i].json, strlen(cases[i].json), NULL, 0, NULL, &t, &e);
        if (r != cases[i].code || !strstr(e.message, cases[i].says) || t != NULL || e.code != r) {
            printf("    case %lu: %d (%s) [%s]\n", (unsigned long)i, (int)r, uniql_result_string(r), r ? e.message : "");
            FAILm("a bad tokenizer.json was not refused as documented");
        }
    }
    {   /* encode refuses invalid UTF-8, naming the byte */
        uniql_tokenizer *t = tk_load("tests/data/tok/uq-bl");
        int *ids = (int *)&i;
        size_t n;
        uniql_error e;
        ASSERT(t != NULL);
        ASSERT_ERR(UNIQL_ERR_PARSE, uniql_tokenizer_encode(t, "ab\xC3(", 4, 0, &ids, &n, &e));
        ASSERT(ids == NULL && strstr(e.message, "byte 2"));
        ASSERT_ERR(UNIQL_ERR_PARSE, uniql_tokenizer_encode(t, "\xED\xA0\x80", 3, 0, &ids, &n, &e));   /* a surrogate */
        uniql_tokenizer_free(t);
    }
    UQ_NOTE("%lu malformed or unsupported tokenizer.json files refused with their codes", (unsigned long)(sizeof cases / sizeof cases[0]));
    PASS();
}

SUITE(tokenizer_suite)
{
    RUN_TEST(packed_file_carries_tokenizer);
    RUN_TEST(bad_tokenizer_files);
    RUN_TEST(unicode_tables_match_ucd);
    RUN_TEST(unicode_normalization_conformance);
    RUN_TEST(bpe_long_run_is_n_log_n);
    RUN_TEST(regex_long_runs_are_linear);
    RUN_TEST(byte_level_alphabet);
    RUN_TEST(streaming_emits_whole_characters);
    RUN_TEST(ref_uq_sp);
    RUN_TEST(ref_uq_bl);
    RUN_TEST(ref_bpe);
    RUN_TEST(ref_llama3);
    RUN_TEST(ref_qwen3);
    RUN_TEST(ref_llama2);
    RUN_TEST(ref_gemma);
}
