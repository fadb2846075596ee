/* test_ppl.c - perplexity (uniql_perplexity).

   1. On the tiny reference models of tests/data/ref, uniql_perplexity equals an
      independent computation written here: token-by-token decode through uniql_forward
      (a different path from the function's batched prefill chunks) and a log-softmax in
      long double.
   2. On the trained models of models/, the perplexity of the fixed slice of
      data/test.txt matches the number transformers computed (tests/data/ppl_ref.json,
      written by tools/train/make_ppl_ref.py on the device). */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <stdlib.h>

/* mean NLL of windows computed one token at a time */
static int ref_mean_nll(const uniql_model *m, const int *toks, int window, int n_windows, double *out)
{
    uniql_state *s;
    float *lg;
    int w, t, j, V = m->config.vocab_size;
    long double nll = 0.0L;
    long n = 0;
    if (uniql_state_create(m, window, 1, NULL, &s) != UNIQL_OK) return -1;
    lg = (float *)malloc(sizeof(float) * (size_t)V);
    for (w = 0; w < n_windows; w++) {
        const int *tw = toks + (size_t)w * (size_t)window;
        uniql_state_reset(s);
        for (t = 0; t + 1 < window; t++) {
            long double mx, sum = 0.0L;
            if (uniql_forward(m, s, tw + t, 1, lg, 0, NULL) != UNIQL_OK) { free(lg); uniql_state_free(s); return -1; }
            mx = lg[0];
            for (j = 1; j < V; j++) if (lg[j] > mx) mx = lg[j];
            for (j = 0; j < V; j++) sum += expl((long double)lg[j] - mx);
            nll += -((long double)lg[tw[t + 1]] - mx - logl(sum));
            n++;
        }
    }
    free(lg);
    uniql_state_free(s);
    *out = (double)(nll / (long double)n);
    return 0;
}

TEST ppl_matches_decode_reference(void)
{
    static const char *fams[] = { "llama", "qwen2", "mamba2", "nemotron_h" };
    int f;
    for (f = 0; f < 4; f++) {
        char dir[128];
        uniql_model *m;
        uniql_error err;
        trng r;
        int toks[3 * 70 + 13], i;
        double ppl, nll, ref, ppl2, ref2;
        size_t npred;
        snprintf(dir, sizeof dir, "tests/data/ref/%s", fams[f]);
        ASSERT_OK(uniql_model_load_dir(dir, NULL, &m, &err));
        r.s = 77 + (uint64_t)f;
        for (i = 0; i < (int)(sizeof toks / sizeof toks[0]); i++) toks[i] = (int)(trng_u64(&r) % 256u);
        /* window 70 crosses the function's 64-token prefill chunks; the 13-token tail is ignored */
        ASSERT_OK(uniql_perplexity(m, toks, sizeof toks / sizeof toks[0], 70, 0, NULL, &ppl, &nll, &npred, &err));
        ASSERT_EQ(3 * 69, npred);
        ASSERT_EQ(0, ref_mean_nll(m, toks, 70, 3, &ref));
        ASSERT_IN_RANGE(ref, nll, 1e-5 * fabs(ref));
        ASSERT_IN_RANGE(exp(ref), ppl, 1e-5 * exp(ref));
        /* random weights on random bytes: printed for the record; a perplexity is > 1 */
        UQ_NOTE("%s: ppl %.4f over %lu predicted random bytes", fams[f], ppl, (unsigned long)npred);
        ASSERT(ppl > 1.0);
        /* n_windows limits the windows used; short windows run in one chunk */
        ASSERT_OK(uniql_perplexity(m, toks, sizeof toks / sizeof toks[0], 9, 2, NULL, &ppl2, NULL, &npred, &err));
        ASSERT_EQ(2 * 8, npred);
        ASSERT_EQ(0, ref_mean_nll(m, toks, 9, 2, &ref2));
        ASSERT_IN_RANGE(exp(ref2), ppl2, 1e-5 * exp(ref2));
        uniql_model_free(m);
    }
    PASS();
}

TEST ppl_rejects_bad_arguments(void)
{
    uniql_model *m;
    uniql_error err;
    int toks[32], i;
    double ppl;
    ASSERT_OK(uniql_model_load_dir("tests/data/ref/llama", NULL, &m, &err));
    for (i = 0; i < 32; i++) toks[i] = i * 7;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_perplexity(m, toks, 32, 1, 0, NULL, &ppl, NULL, NULL, &err));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_perplexity(m, NULL, 32, 8, 0, NULL, &ppl, NULL, NULL, &err));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_perplexity(m, toks, 32, 8, 0, NULL, NULL, NULL, NULL, &err));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_perplexity(m, toks, 7, 8, 0, NULL, &ppl, NULL, NULL, &err));
    toks[20] = 256;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_perplexity(m, toks, 32, 8, 0, NULL, &ppl, NULL, NULL, &err));
    /* the bad token lies past the windows used: fine */
    ASSERT_OK(uniql_perplexity(m, toks, 32, 8, 2, NULL, &ppl, NULL, NULL, &err));
    uniql_model_free(m);
    PASS();
}


/* The trained models against transformers: the first n_windows windows of `window` bytes
   of data/test.txt, perplexity in C vs tests/data/ppl_ref.json (transformers, CPU, float32
   from the same fp16 files). 3 significant digits are asked for; the bound is tighter. */
#define PPL_REL_TOL 1e-5

TEST ppl_trained_models_match_transformers(void)
{
    static const char *names[] = { "llama-bytes-6m", "mamba2-bytes-6m", "nemotronh-bytes-6m" };
    size_t jlen = 0, tlen = 0, i;
    char *jtxt = (char *)tutil_read_file("tests/data/ppl_ref.json", &jlen);
    unsigned char *text = tutil_read_file("data/test.txt", &tlen);
    uniql_json_doc doc;
    uniql_error err;
    const uniql_json *models, *w, *nw;
    int window, n_windows, k, *toks;
    if (UQ_SANITIZED) {
        free(jtxt);
        free(text);
        SKIPm("2040 tokens x 3 models against transformers: in make test, not the sanitizer build");
    }
    if (!jtxt || !text) {
        free(jtxt);
        free(text);
        FAILm("tests/data/ppl_ref.json or data/test.txt missing");
    }
    ASSERT_OK(uniql_json_parse(jtxt, jlen, 0, NULL, &doc, &err));
    w = uniql_json_get(doc.root, "window");
    nw = uniql_json_get(doc.root, "n_windows");
    models = uniql_json_get(doc.root, "models");
    ASSERT(w && nw && models && w->type == UNIQL_JSON_NUMBER && nw->type == UNIQL_JSON_NUMBER);
    window = (int)w->u.number;
    n_windows = (int)nw->u.number;
    ASSERT(window >= 2 && n_windows >= 1 && (size_t)window * (size_t)n_windows <= tlen);
    toks = (int *)malloc(sizeof(int) * (size_t)window * (size_t)n_windows);
    for (i = 0; i < (size_t)window * (size_t)n_windows; i++) toks[i] = text[i];   /* token = byte */
    for (k = 0; k < 3; k++) {
        const uniql_json *e = uniql_json_get(models, names[k]), *ref_ppl, *ref_n;
        char dir[128];
        uniql_model *m;
        double ppl, nll;
        size_t npred;
        ASSERTm(names[k], e);
        ref_ppl = uniql_json_get(e, "ppl");
        ref_n = uniql_json_get(e, "predicted");
        ASSERT(ref_ppl && ref_n && ref_ppl->type == UNIQL_JSON_NUMBER);
        snprintf(dir, sizeof dir, "models/%s", names[k]);
        ASSERT_OK(uniql_model_load_dir(dir, NULL, &m, &err));
        ASSERT_OK(uniql_perplexity(m, toks, (size_t)window * (size_t)n_windows, window, n_windows, NULL, &ppl,
                                   &nll, &npred, &err));
        uniql_model_free(m);
        ASSERT_EQ((long long)ref_n->u.number, (long long)npred);
        UQ_NOTE("%-20s C ppl %.7f  transformers %.7f  rel diff %.2e", names[k], ppl, ref_ppl->u.number,
                fabs(ppl - ref_ppl->u.number) / ref_ppl->u.number);
        ASSERT_IN_RANGE(ref_ppl->u.number, ppl, PPL_REL_TOL * ref_ppl->u.number);
        /* clearly learnt: far below the 256 of a uniform byte guess */
        ASSERT(ppl < 4.0);
    }
    free(toks);
    uniql_json_free(&doc);
    free(jtxt);
    free(text);
    PASS();
}

SUITE(ppl_suite)
{
    RUN_TEST(ppl_trained_models_match_transformers);
    RUN_TEST(ppl_matches_decode_reference);
    RUN_TEST(ppl_rejects_bad_arguments);
}
