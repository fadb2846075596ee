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
    if (!arr || arr->type != UNIQL_JSON_ARRAY || (size_t)arr->count != n) return 0;
    for (x = arr->child; x; x = x->next, i++) if ((double)got[i] != x->number) return 0;
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
    if (nc < 1 || !jc || jc->count != nc) {
        snprintf(msg, msg_cap, "%.200s: %d cases, corpus has %d (regenerate the reference)", path, jc ? jc->count : -1, nc);
        ok = 0;
    } else if (uniql_tokenizer_load_dir(dir, NULL, &t, &e) != UNIQL_OK) {
        snprintf(msg, msg_cap, "load %.100s: %.200s", dir, e.message);
        ok = 0;
    }
    for (i = 0, c = ok ? jc->child : NULL; ok && c; c = c->next, i++) {
        int *ids = NULL, *ids_s = NULL;
        size_t n = 0, ns = 0, dl = 0, dsl = 0, k, sl = 0;
        char *dec = NULL, *dec_s = NULL, *stream = NULL;
        const uniql_json *d = uniql_json_get(c, "decoded"), *ds = uniql_json_get(c, "decoded_special");
        const char *want = d && d->type == UNIQL_JSON_STRING ? d->str : cases[i].s;
        size_t want_n = d && d->type == UNIQL_JSON_STRING ? d->len : cases[i].n;
        uniql_decode_stream st;
        if (uniql_tokenizer_encode(t, cases[i].s, cases[i].n, 0, &ids, &n, &e) != UNIQL_OK ||
            uniql_tokenizer_encode(t, cases[i].s, cases[i].n, UNIQL_TOK_ADD_SPECIAL, &ids_s, &ns, &e) != UNIQL_OK) {
            snprintf(msg, msg_cap, "case %d: encode: %.200s", i, e.message);
            ok = 0;
        } else if (!tk_ids_equal(uniql_json_get(c, "ids"), ids, n)) {
            const uniql_json *r = uniql_json_get(c, "ids");
            size_t j = 0;
            const uniql_json *x = r ? r->child : NULL;
            while (x && j < n && x->number == (double)ids[j]) { x = x->next; j++; }
            snprintf(msg, msg_cap, "case %d (%.40s): ids differ at %lu of %lu (reference %d ids): got %d, want %g", i,
                     cases[i].s, (unsigned long)j, (unsigned long)n, r ? r->count : -1, j < n ? ids[j] : -1, x ? x->number : -1.0);
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
        } else if (ds && ds->type == UNIQL_JSON_STRING ? (dsl != ds->len || memcmp(dec_s, ds->str, dsl))
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

TK_REF_TEST(ref_llama3, "llama3", "build/tok/llama3")
TK_REF_TEST(ref_qwen3, "qwen3", "build/tok/qwen3")
TK_REF_TEST(ref_llama2, "llama2", "build/tok/llama2")
TK_REF_TEST(ref_gemma, "gemma", "build/tok/gemma")

SUITE(tokenizer_suite)
{
    RUN_TEST(ref_llama3);
    RUN_TEST(ref_qwen3);
    RUN_TEST(ref_llama2);
    RUN_TEST(ref_gemma);
}
