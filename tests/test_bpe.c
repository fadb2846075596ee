/* test_bpe.c - the BPE model suite (models/llama-bpe-21m, models/nemotronh-bpe-17m) against
   transformers. References from tools/train/export_hf.py on the GPU machine, committed under
   tests/data/bpe/ (see tools/train/README.md):
   - test.u16 / calib.u16: the token streams of data/corpus/{test,calib}.txt made by the
     Rust `tokenizers` library with the committed tokenizer.json (per document: BOS, the
     document's tokens, EOS), so these tests need no C tokenizer;
   - <model>/ppl.json: transformers' perplexity (CPU, float32) of the first windows of 256
     tokens of test.u16, with the NLL sum of every window;
   - <model>/ref.bin: float64 logits of a 16-token prompt and 16 greedy tokens (UQREF001).
   The C runtime must give the same perplexity (relative 1e-5), logits (1e-4 of the largest)
   and greedy tokens; uniql.h's tokenizer must give the same streams from the text. Two
   windows keep the test fast enough for the sanitizer build. The model tests SKIP while
   models/<model> is absent (the models come from a device run). */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <stdlib.h>
#include <string.h>

static const char *const BPE_MODELS[2] = { "llama-bpe-21m", "nemotronh-bpe-17m" };
#define BPE_VOCAB 8192
#define BPE_BOS 0
#define BPE_EOS 1
#define BPE_PPL_WINDOWS (UQ_SANITIZED ? 1 : 2)   /* of the 8 in ppl.json (one under the sanitizer) */

/* tests/data/bpe/<split>.u16 as ints; NULL if missing */
static int *bpe_ids(const char *split, size_t *n)
{
    char path[128];
    size_t size, i;
    unsigned char *raw;
    int *ids;
    snprintf(path, sizeof path, "tests/data/bpe/%s.u16", split);
    raw = tutil_read_file(path, &size);
    if (!raw || size % 2) { free(raw); return NULL; }
    *n = size / 2;
    ids = (int *)malloc(sizeof(int) * (*n ? *n : 1));
    for (i = 0; i < *n; i++) ids[i] = raw[2 * i] | (raw[2 * i + 1] << 8);   /* little-endian */
    free(raw);
    return ids;
}

static const uniql_json *bpe_num(const uniql_json *o, const char *key)
{
    const uniql_json *v = uniql_json_get(o, key);
    return v && v->type == UNIQL_JSON_NUMBER ? v : NULL;
}

TEST bpe_token_streams_are_well_formed(void)
{
    static const char *splits[2] = { "test", "calib" };
    int s;
    for (s = 0; s < 2; s++) {
        char path[128];
        size_t n, jlen, i, docs = 0, eos = 0;
        int *ids = bpe_ids(splits[s], &n);
        char *jtxt;
        uniql_json_doc doc;
        uniql_error err;
        snprintf(path, sizeof path, "tests/data/bpe/%s.json", splits[s]);
        jtxt = (char *)tutil_read_file(path, &jlen);
        ASSERTm("tests/data/bpe token files missing", ids && jtxt);
        ASSERT_OK(uniql_json_parse(jtxt, jlen, 0, NULL, &doc, &err));
        ASSERT(bpe_num(doc.root, "tokens") && bpe_num(doc.root, "documents"));
        ASSERT_EQ((long long)bpe_num(doc.root, "tokens")->u.number, (long long)n);
        docs = (size_t)bpe_num(doc.root, "documents")->u.number;
        /* BOS ... EOS per document, every id inside the vocabulary */
        ASSERT_EQ(BPE_BOS, ids[0]);
        ASSERT_EQ(BPE_EOS, ids[n - 1]);
        for (i = 0; i < n; i++) {
            ASSERT(ids[i] >= 0 && ids[i] < BPE_VOCAB);
            if (ids[i] == BPE_EOS) {
                eos++;
                if (i + 1 < n) ASSERT_EQ(BPE_BOS, ids[i + 1]);
            }
        }
        ASSERT_EQ((long long)docs, (long long)eos);
        UQ_NOTE("%s.u16: %lu tokens, %lu documents", splits[s], (unsigned long)n, (unsigned long)docs);
        uniql_json_free(&doc);
        free(jtxt);
        free(ids);
    }
    PASS();
}

/* uniql_tokenizer on data/corpus/<split>.txt, document by document, == the Rust streams */
TEST bpe_tokenizer_reproduces_rust_streams(void)
{
    static const char *splits[2] = { "test", "calib" };
    int s;
    uniql_tokenizer *t;
    uniql_error err;
    ASSERT_OK(uniql_tokenizer_load_dir("tests/data/bpe", NULL, &t, &err));
    for (s = 0; s < 2; s++) {
        char path[128];
        size_t n, tlen, pos = 0, docs = 0, mism = 0;
        int *want = bpe_ids(splits[s], &n);
        char *text, *p, *end;
        snprintf(path, sizeof path, "data/corpus/%s.txt", splits[s]);
        text = (char *)tutil_read_file(path, &tlen);
        ASSERTm("token stream or corpus slice missing", want && text);
        for (p = text, end = text + tlen; p < end; docs++) {
            char *d = strstr(p, "\n\n");
            size_t len = d ? (size_t)(d - p) + 1 : (size_t)(end - p), ni, i;
            int *ids;
            ASSERT_OK(uniql_tokenizer_encode(t, p, len, UNIQL_TOK_ADD_SPECIAL, &ids, &ni, &err));
            for (i = 0; i <= ni && pos < n; i++, pos++) mism += want[pos] != (i < ni ? ids[i] : BPE_EOS);
            uniql_free_buffer(ids, NULL);
            p += len + (d ? 1 : 0);
        }
        UQ_NOTE("%s.txt: %lu documents, %lu tokens, %lu differ from the Rust tokenizer's", splits[s],
                (unsigned long)docs, (unsigned long)pos, (unsigned long)mism);
        ASSERT_EQ((long long)n, (long long)pos);
        ASSERT_EQ(0, (long long)mism);
        free(text);
        free(want);
    }
    uniql_tokenizer_free(t);
    PASS();
}

static int bpe_have_models(void)
{
    FILE *f = fopen("models/llama-bpe-21m/config.json", "rb"), *g = fopen("models/nemotronh-bpe-17m/config.json", "rb");
    int ok = f && g;
    if (f) fclose(f);
    if (g) fclose(g);
    return ok;
}

TEST bpe_ppl_matches_transformers(void)
{
    size_t n;
    int *ids, k;
    if (!bpe_have_models()) SKIPm("models/*-bpe-* not trained yet");
    ids = bpe_ids("test", &n);
    ASSERTm("tests/data/bpe/test.u16 missing", ids != NULL);
    for (k = 0; k < 2; k++) {
        char path[160];
        size_t jlen, npred;
        char *jtxt;
        uniql_json_doc doc;
        uniql_error err;
        const uniql_json *w, *sums, *e;
        uniql_model *m;
        double ref_sum = 0.0, ref_ppl, ppl, nll;
        int window, i;
        snprintf(path, sizeof path, "tests/data/bpe/%s/ppl.json", BPE_MODELS[k]);
        jtxt = (char *)tutil_read_file(path, &jlen);
        ASSERTm(path, jtxt != NULL);
        ASSERT_OK(uniql_json_parse(jtxt, jlen, 0, NULL, &doc, &err));
        w = bpe_num(doc.root, "window");
        sums = uniql_json_get(doc.root, "window_nll_sums");
        ASSERT(w && sums && sums->type == UNIQL_JSON_ARRAY && sums->len >= BPE_PPL_WINDOWS);
        window = (int)w->u.number;
        ASSERT((size_t)window * BPE_PPL_WINDOWS <= n);
        for (i = 0; i < BPE_PPL_WINDOWS && (e = uniql_json_at(sums, i)) != NULL; i++) {
            ASSERT(e->type == UNIQL_JSON_NUMBER);
            ref_sum += e->u.number;
        }
        ref_ppl = exp(ref_sum / ((double)BPE_PPL_WINDOWS * (window - 1)));
        snprintf(path, sizeof path, "models/%s", BPE_MODELS[k]);
        ASSERT_OK(uniql_model_load_dir(path, NULL, &m, &err));
        ASSERT_EQ(BPE_VOCAB, m->config.vocab_size);
        ASSERT_OK(uniql_perplexity(m, ids, (size_t)window * BPE_PPL_WINDOWS, window, BPE_PPL_WINDOWS, NULL, &ppl,
                                   &nll, &npred, &err));
        uniql_model_free(m);
        ASSERT_EQ((long long)BPE_PPL_WINDOWS * (window - 1), (long long)npred);
        UQ_NOTE("%-18s C ppl %.7f  transformers %.7f  rel diff %.2e (%d windows of %d tokens)", BPE_MODELS[k], ppl,
                ref_ppl, fabs(ppl - ref_ppl) / ref_ppl, BPE_PPL_WINDOWS, window);
        ASSERT_IN_RANGE(ref_ppl, ppl, 1e-5 * ref_ppl);
        /* clearly learnt: far below the 8192 of a uniform guess */
        ASSERT(ppl < 200.0);
        uniql_json_free(&doc);
        free(jtxt);
    }
    free(ids);
    PASS();
}

TEST bpe_logits_and_greedy_match_transformers(void)
{
    int k;
    if (!bpe_have_models()) SKIPm("models/*-bpe-* not trained yet");
    for (k = 0; k < 2; k++) {
        char path[160];
        size_t size;
        unsigned char *buf;
        int h[4], np, V, ng, t, tok, same_c = 1, same_nc = 1;
        const int *prompt, *gen_c, *gen_nc;
        const float *ref;
        float *lg;
        double err, scale;
        uniql_model *m;
        uniql_state *s;
        uniql_error e;
        snprintf(path, sizeof path, "tests/data/bpe/%s/ref.bin", BPE_MODELS[k]);
        buf = tutil_read_file(path, &size);
        ASSERTm(path, buf && size >= 24 && !memcmp(buf, "UQREF001", 8));
        memcpy(h, buf + 8, sizeof h);
        np = h[0]; V = h[1]; ng = h[2];
        ASSERT(size == 24 + 4 * ((size_t)np + (size_t)np * V + 3 * (size_t)ng));
        prompt = (const int *)(void *)(buf + 24);
        ref = (const float *)(void *)(prompt + np);
        gen_c = (const int *)(void *)(ref + (size_t)np * V);
        gen_nc = gen_c + ng;
        snprintf(path, sizeof path, "models/%s", BPE_MODELS[k]);
        ASSERT_OK(uniql_model_load_dir(path, NULL, &m, &e));
        ASSERT_EQ(V, m->config.vocab_size);
        lg = tutil_prefill_logits(m, prompt, np, 0);
        ASSERT(lg != NULL);
        err = tutil_max_diff(lg, ref, (size_t)np * V);
        scale = tutil_max_abs(ref, (size_t)np * V);
        UQ_NOTE("%-18s max |logit - HF| = %.3g over %d positions, max |HF logit| = %.4g", BPE_MODELS[k], err, np, scale);
        ASSERT_LE(err, 1e-4 * scale);
        free(lg);
        ASSERT_OK(uniql_state_create(m, np + ng, 0, NULL, &s));
        lg = (float *)malloc(sizeof(float) * (size_t)V);
        ASSERT_OK(uniql_forward(m, s, prompt, np, lg, 0, NULL));
        for (t = 0; t < ng; t++) {
            tok = uniql_sample_greedy(lg, V);
            same_c &= tok == gen_c[t];
            same_nc &= tok == gen_nc[t];
            ASSERT_OK(uniql_forward(m, s, &tok, 1, lg, 0, NULL));
        }
        ASSERTm("greedy tokens equal transformers' full-recompute greedy", same_nc);
        ASSERTm("greedy tokens equal transformers' generate() with its cache", same_c);
        free(lg);
        uniql_state_free(s);
        uniql_model_free(m);
        free(buf);
    }
    PASS();
}

SUITE(bpe_suite)
{
    RUN_TEST(bpe_token_streams_are_well_formed);
    RUN_TEST(bpe_tokenizer_reproduces_rust_streams);
    RUN_TEST(bpe_ppl_matches_transformers);
    RUN_TEST(bpe_logits_and_greedy_match_transformers);
}
