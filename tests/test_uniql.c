/* test_uniql.c - the UniQL pipeline of API 7 on the tiny reference models of
   tests/data/ref (Llama 3 with llama3 RoPE + biases + GQA, Qwen2 with q/k/v biases, Mamba2,
   Nemotron-H with M * M - blocks):
   - calibration statistics equal a direct recomputation from the forward's observer
     (correlations, block influence, LSAQ Jaccard through uniql_logit_lens/uniql_topk_jaccard);
   - sorting alone keeps the function (logits <= 1e-4 of the original, every family, every
     option), and the orders are the ones the formulas give (recomputed here);
   - a pruned model equals a model sliced by hand from the sorted one;
   - layer rates meet the global target, kept sizes respect their units;
   - bad input gives result codes. */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <stdlib.h>
#include <string.h>

static const char *const FAMS[5] = { "llama", "qwen2", "mamba2", "nemotron_h", "bamba" };

/* deterministic "text": bytes with some repetition so activations have structure */
static int *make_tokens(int n, uint64_t seed)
{
    int *t = (int *)malloc(sizeof(int) * (size_t)n), i;
    trng g;
    g.s = seed;
    for (i = 0; i < n; i++) t[i] = i > 8 && trng_unif(&g) < 0.3 ? t[i - 7] : (int)(32 + trng_u64(&g) % 90);
    return t;
}

#define NCAL 96
#define SEQ 32

static uniql_calib *calibrate(const uniql_model *m, const int *tok, int n, int lsaq)
{
    uniql_calib_options o;
    uniql_calib *cb = NULL;
    uniql_error e;
    memset(&o, 0, sizeof o);
    o.seq_len = SEQ;
    o.max_batch = 8;
    o.lsaq = lsaq;
    if (uniql_calibrate(m, tok, (size_t)n, &o, &cb, &e) != UNIQL_OK) printf("    calibrate: %s\n", e.message);
    return cb;
}

/* ---- 1. calibration statistics against a direct recomputation ---- */

typedef struct stat_e {
    int layer, stat, head, d;
    double *sum;
    long long n;
} stat_e;

typedef struct direct {
    const uniql_model *m;
    stat_e e[512];
    int ne;
    float *xin, *bbuf, *lw, *la, *lb;
    double bi[16], bil[16], jac[16], jacl[16];
    long long nbi[16], nl[16];
    int last;   /* index of the sequence's last token in the chunk, or -1 */
} direct;

static stat_e *dget(direct *D, int layer, int stat, int head, int d)
{
    int i;
    for (i = 0; i < D->ne; i++)
        if (D->e[i].layer == layer && D->e[i].stat == stat && D->e[i].head == head) return &D->e[i];
    D->e[D->ne].layer = layer; D->e[D->ne].stat = stat; D->e[D->ne].head = head; D->e[D->ne].d = d;
    D->e[D->ne].sum = (double *)calloc((size_t)d * d, sizeof(double));
    D->e[D->ne].n = 0;
    return &D->e[D->ne++];
}

static void dadd(stat_e *s, const float *x, int n, size_t ld, const float *unused, size_t sld)
{
    int t, i, j;
    (void)unused; (void)sld;
    for (t = 0; t < n; t++)
        for (i = 0; i < s->d; i++)
            for (j = 0; j < s->d; j++) s->sum[(size_t)i * s->d + j] += (double)x[(size_t)t * ld + i] * x[(size_t)t * ld + j];
    s->n += n;
}

static void direct_obs(void *user, int layer, uniql_site site, int head, const float *x, int n, int width, size_t ld)
{
    direct *D = (direct *)user;
    const uniql_config *c = &D->m->config;
    int t, i, V = c->vocab_size, H = c->hidden_size;
    switch (site) {
    case UNIQL_SITE_BLOCK_IN:
        for (t = 0; t < n; t++) memcpy(D->xin + (size_t)t * H, x + (size_t)t * ld, sizeof(float) * H);
        break;
    case UNIQL_SITE_BLOCK_OUT:
        uniql_logit_lens(D->m, D->xin, n, (size_t)H, D->lw, D->la);
        uniql_logit_lens(D->m, x, n, ld, D->lw, D->lb);
        for (t = 0; t < n; t++) {
            double ab = 0, aa = 0, bb = 0, cs, jac;
            int scratch[64];
            for (i = 0; i < H; i++) {
                double a = D->xin[(size_t)t * H + i], b = x[(size_t)t * ld + i];
                ab += a * b; aa += a * a; bb += b * b;
            }
            cs = ab / sqrt(aa * bb);
            uniql_topk_jaccard(D->la + (size_t)t * V, D->lb + (size_t)t * V, V, 10, scratch, &jac);
            D->bi[layer] += 1 - cs; D->nbi[layer]++;
            D->jac[layer] += jac;
            if (t == D->last) { D->bil[layer] += 1 - cs; D->jacl[layer] += jac; D->nl[layer]++; }
        }
        break;
    case UNIQL_SITE_ATTN_IN: dadd(dget(D, layer, UNIQL_STAT_ATTN_IN, 0, width), x, n, ld, NULL, 0); break;
    case UNIQL_SITE_Q_ROPE: dadd(dget(D, layer, UNIQL_STAT_Q, head, width), x, n, ld, NULL, 0); break;
    case UNIQL_SITE_K_ROPE: dadd(dget(D, layer, UNIQL_STAT_K, head, width), x, n, ld, NULL, 0); break;
    case UNIQL_SITE_MLP_DOWN_IN: dadd(dget(D, layer, UNIQL_STAT_MLP_DOWN_IN, 0, width), x, n, ld, NULL, 0); break;
    case UNIQL_SITE_MAMBA_OUT_IN: dadd(dget(D, layer, UNIQL_STAT_MAMBA_OUT_IN, 0, width), x, n, ld, NULL, 0); break;
    case UNIQL_SITE_MAMBA_B:
        for (t = 0; t < n; t++) memcpy(D->bbuf + (size_t)t * width, x + (size_t)t * ld, sizeof(float) * (size_t)width);
        break;
    case UNIQL_SITE_MAMBA_C: {
        int g, N = c->ssm_state;
        for (g = 0; g < c->ssm_groups; g++) dadd(dget(D, layer, UNIQL_STAT_MAMBA_C, g, N), x + g * N, n, ld, NULL, 0);
        break;
    }
    case UNIQL_SITE_MAMBA_DT: {
        /* rows dt_h * B_g, rounded to float as the runtime's activations are */
        int h, N = c->ssm_state, GN = c->ssm_groups * N, per = c->ssm_heads / c->ssm_groups, i2;
        float *rows = (float *)malloc(sizeof(float) * (size_t)n * N);
        for (h = 0; h < c->ssm_heads; h++) {
            for (t = 0; t < n; t++)
                for (i2 = 0; i2 < N; i2++) rows[t * N + i2] = x[(size_t)t * ld + h] * D->bbuf[(size_t)t * GN + (h / per) * N + i2];
            dadd(dget(D, layer, UNIQL_STAT_MAMBA_DTB, h, N), rows, n, (size_t)N, NULL, 0);
        }
        free(rows);
        break;
    }
    default: break;
    }
}

static uq_status check_calib_stats(int f)
{
    uniql_model *m = tutil_load_ref(FAMS[f], 0);
    int *tok = make_tokens(NCAL, 7), s0, l, i, checked = 0;
    direct *D = (direct *)calloc(1, sizeof(direct));
    uniql_calib *cb;
    uniql_state *st;
    uniql_observer obs;
    double worst = 0, imp[16], iml[16], lsaq[16], lsaql[16];
    int V, H;
    ASSERT(m && D);
    V = m->config.vocab_size;
    H = m->config.hidden_size;
    D->m = m;
    D->xin = (float *)malloc(sizeof(float) * SEQ * H);
    D->lw = (float *)malloc(sizeof(float) * SEQ * H);
    D->la = (float *)malloc(sizeof(float) * SEQ * V);
    D->lb = (float *)malloc(sizeof(float) * SEQ * V);
    D->bbuf = (float *)malloc(sizeof(float) * SEQ * 1024);
    obs.fn = direct_obs;
    obs.user = D;
    /* the direct run: each sequence in one prefill (the library used chunks of 8) */
    ASSERT_OK(uniql_state_create(m, SEQ, SEQ, NULL, &st));
    for (s0 = 0; s0 < NCAL; s0 += SEQ) {
        int len = NCAL - s0 < SEQ ? NCAL - s0 : SEQ;
        uniql_state_reset(st);
        D->last = len - 1;
        ASSERT_OK(uniql_forward(m, st, tok + s0, len, NULL, 0, &obs));
    }
    uniql_state_free(st);
    cb = calibrate(m, tok, NCAL, 1);
    ASSERT(cb != NULL);
    ASSERT_EQ(NCAL, uniql_calib_tokens(cb));
    ASSERT_EQ((NCAL + SEQ - 1) / SEQ, uniql_calib_sequences(cb));
    for (i = 0; i < D->ne; i++) {
        stat_e *e = &D->e[i];
        int d = uniql_calib_corr_dim(cb, e->layer, (uniql_calib_stat)e->stat, e->head), a, b;
        double *C = (double *)malloc(sizeof(double) * (size_t)e->d * e->d), scale = 0;
        ASSERT_EQ(e->d, d);
        ASSERT_OK(uniql_calib_corr(cb, e->layer, (uniql_calib_stat)e->stat, e->head, C, (size_t)d));
        for (a = 0; a < d * d; a++) if (fabs(e->sum[a] / e->n) > scale) scale = fabs(e->sum[a] / e->n);
        for (a = 0; a < d; a++)
            for (b = 0; b < d; b++) {
                double err = fabs(C[a * d + b] - e->sum[a * d + b] / (double)e->n) / (scale > 0 ? scale : 1);
                if (err > worst) worst = err;
            }
        free(C);
        free(e->sum);
        checked++;
    }
    ASSERT_OK(uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, imp));
    ASSERT_OK(uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE_LAST, iml));
    ASSERT_OK(uniql_calib_importance(cb, UNIQL_IMPORTANCE_LSAQ, lsaq));
    ASSERT_OK(uniql_calib_importance(cb, UNIQL_IMPORTANCE_LSAQ_LAST, lsaql));
    for (l = 0; l < m->config.n_layers; l++) {
        ASSERT_EQ(NCAL, D->nbi[l]);
        ASSERT_EQ((NCAL + SEQ - 1) / SEQ, D->nl[l]);
        ASSERT_IN_RANGE(D->bi[l] / NCAL, imp[l], 1e-6);
        ASSERT_IN_RANGE(D->bil[l] / D->nl[l], iml[l], 1e-6);
        ASSERT_IN_RANGE(1 - D->jac[l] / NCAL, lsaq[l], 1e-12);
        ASSERT_IN_RANGE(1 - D->jacl[l] / D->nl[l], lsaql[l], 1e-12);
    }
    UQ_NOTE("%s: %d correlation matrices, max rel. diff to direct sums %.2g; block influence %.4f .. LSAQ %.4f ..", FAMS[f], checked,
            worst, imp[0], lsaq[0]);
    ASSERT_LE(worst, 1e-12);
    uniql_calib_free(cb);
    free(D->xin); free(D->lw); free(D->la); free(D->lb); free(D->bbuf); free(D);
    free(tok);
    uniql_model_free(m);
    PASS();
}
TEST calib_stats_equal_direct_sums_llama(void) { return check_calib_stats(0); }
TEST calib_stats_equal_direct_sums_nemotron_h(void) { return check_calib_stats(3); }
TEST calib_stats_equal_direct_sums_bamba(void) { return check_calib_stats(4); }

TEST importance_is_reproducible_and_range_limited(void)
{
    uniql_model *m = tutil_load_ref("nemotron_h", 0);
    int *tok = make_tokens(NCAL, 11), k, l;
    uniql_calib *a, *b, *part = NULL;
    uniql_calib_options o;
    double x[16], y[16];
    ASSERT(m);
    a = calibrate(m, tok, NCAL, 1);
    b = calibrate(m, tok, NCAL, 1);
    ASSERT(a && b);
    for (k = 0; k < 4; k++) {
        ASSERT_OK(uniql_calib_importance(a, (uniql_importance)k, x));
        ASSERT_OK(uniql_calib_importance(b, (uniql_importance)k, y));
        ASSERT_MEM_EQ(x, y, sizeof(double) * m->config.n_layers);
    }
    /* layers [1, 3) only: the same values there, 0 elsewhere, no statistics elsewhere */
    memset(&o, 0, sizeof o);
    o.seq_len = SEQ; o.max_batch = 8; o.lsaq = 1; o.layer_begin = 1; o.layer_end = 3;
    ASSERT_OK(uniql_calibrate(m, tok, NCAL, &o, &part, NULL));
    for (k = 0; k < 4; k++) {
        ASSERT_OK(uniql_calib_importance(a, (uniql_importance)k, x));
        ASSERT_OK(uniql_calib_importance(part, (uniql_importance)k, y));
        for (l = 0; l < 4; l++) {
            if (l >= 1 && l < 3) ASSERT_IN_RANGE(x[l], y[l], 1e-12);
            else ASSERT_EQ(0, y[l] != 0);
        }
    }
    ASSERT_EQ(0, uniql_calib_corr_dim(part, 0, UNIQL_STAT_MAMBA_OUT_IN, 0));
    ASSERT(uniql_calib_corr_dim(part, 1, UNIQL_STAT_ATTN_IN, 0) == m->config.hidden_size);
    /* without lsaq: LSAQ importance is missing */
    uniql_calib_free(part);
    o.lsaq = 0; o.layer_begin = 0; o.layer_end = 0; o.importance_only = 1;
    ASSERT_OK(uniql_calibrate(m, tok, NCAL, &o, &part, NULL));
    ASSERT_ERR(UNIQL_ERR_MISSING, uniql_calib_importance(part, UNIQL_IMPORTANCE_LSAQ, y));
    ASSERT_OK(uniql_calib_importance(part, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, y));
    ASSERT_IN_RANGE(x[0] * 0 + y[0], y[0], 0);
    ASSERT_EQ(0, uniql_calib_corr_dim(part, 0, UNIQL_STAT_MAMBA_OUT_IN, 0));
    {   /* sorting needs correlations */
        uniql_model *s = NULL;
        ASSERT_ERR(UNIQL_ERR_MISSING, uniql_sort_model(m, part, NULL, &s, NULL));
        ASSERT(s == NULL);
    }
    uniql_calib_free(part);
    uniql_calib_free(a);
    uniql_calib_free(b);
    free(tok);
    uniql_model_free(m);
    PASS();
}

/* ---- 2. sorting keeps the function ---- */

static int matmul_supports_views(void)
{
    static const float wt[4] = { 1, 2, 3, 4 }, x[2] = { 1, 10 };
    float y[2] = { 0, 0 };
    uniql_matrix m = uniql_matrix_f32(wt, 2, 2, 2);
    m.transposed = 1;
    return uniql_matmul(&m, x, 1, 2, y, 2) == UNIQL_OK && y[0] == 31 && y[1] == 42;
}

static uq_status check_sort_equivalence(int f)
{
    uniql_model *m = tutil_load_ref(FAMS[f], 0), *s;
    int *tok = make_tokens(NCAL, 3), n = 40, v;
    uniql_calib *cb;
    float *ref, *lg;
    double scale;
    uniql_error e;
    ASSERT(m);
    cb = calibrate(m, tok, NCAL, 0);
    ASSERT(cb);
    ref = tutil_prefill_logits(m, tok + 50, n, 16);
    ASSERT(ref);
    scale = tutil_max_abs(ref, (size_t)n * m->config.vocab_size);
    /* variants: scores + QA, scores + sqrt split, random order, scores + prunable layout */
    for (v = 0; v < 4; v++) {
        uniql_sort_options o;
        double d;
        static const char *const names[4] = { "scores, QA-SVD", "scores, sqrt split", "random order", "prunable layout" };
        memset(&o, 0, sizeof o);
        if (v == 1) o.vo_split = UNIQL_VO_SPLIT_SQRT;
        if (v == 2) { o.order = UNIQL_ORDER_RANDOM; o.seed = 5; }
        if (v == 3) {
            if (!matmul_supports_views()) continue;
            o.layout = UNIQL_LAYOUT_PRUNABLE;
        }
        if (uniql_sort_model(m, cb, &o, &s, &e) != UNIQL_OK) FAILm(e.message);
        lg = tutil_prefill_logits(s, tok + 50, n, 16);
        ASSERT(lg);
        d = tutil_max_diff(ref, lg, (size_t)n * m->config.vocab_size);
        UQ_NOTE("%s sorted (%s): max |logit - original| = %.3g (scale %.3g)", FAMS[f], names[v], d, scale);
        ASSERT_LE(d, 1e-4 * scale);
        free(lg);
        uniql_model_free(s);
    }
    free(ref);
    uniql_calib_free(cb);
    free(tok);
    uniql_model_free(m);
    PASS();
}
TEST sorting_keeps_logits_llama(void) { return check_sort_equivalence(0); }
TEST sorting_keeps_logits_qwen2(void) { return check_sort_equivalence(1); }
TEST sorting_keeps_logits_mamba2(void) { return check_sort_equivalence(2); }
TEST sorting_keeps_logits_nemotron_h(void) { return check_sort_equivalence(3); }
TEST sorting_keeps_logits_bamba(void) { return check_sort_equivalence(4); }

/* Solve (C + lam I) X = I by Gauss-Jordan in the test: leverage_i = 1 - lam X_ii */
static void test_leverage(int d, const double *C, double lam, double *out)
{
    double *A = (double *)malloc(sizeof(double) * (size_t)d * 2 * d);
    int i, j, k, w = 2 * d;
    for (i = 0; i < d; i++)
        for (j = 0; j < w; j++) A[i * w + j] = j < d ? C[i * d + j] + (i == j ? lam : 0) : (j - d == i);
    for (k = 0; k < d; k++) {
        double p = A[k * w + k];
        for (j = 0; j < w; j++) A[k * w + j] /= p;
        for (i = 0; i < d; i++)
            if (i != k) {
                double f = A[i * w + k];
                for (j = 0; j < w; j++) A[i * w + j] -= f * A[k * w + j];
            }
    }
    for (i = 0; i < d; i++) out[i] = 1 - lam * A[i * w + d + i];
    free(A);
}

/* The orders are the formulas' orders: MLP rows follow decreasing ridge leverage (computed
   here with Gauss-Jordan), RoPE pairs follow decreasing sum over heads of
   sqrt(Cq_ii Ck_ii) (= |col_i(C^1/2)| products when no eigenvalue is clamped), Mamba state
   dims follow sum_h sqrt(C_DTB,h_nn C_C_nn). Checked as "scores never increase along the
   stored order" (robust to near ties). */
TEST sorted_orders_follow_the_scores(void)
{
    uniql_model *m = tutil_load_ref("nemotron_h", 0), *s, *ml = tutil_load_ref("llama", 0), *sl;
    int *tok = make_tokens(NCAL, 5), i, j, g, h, bad = 0;
    uniql_calib *cb, *cbl;
    ASSERT(m && ml);
    cb = calibrate(m, tok, NCAL, 0);
    cbl = calibrate(ml, tok, NCAL, 0);
    ASSERT(cb && cbl);
    ASSERT_OK(uniql_sort_model(m, cb, NULL, &s, NULL));
    ASSERT_OK(uniql_sort_model(ml, cbl, NULL, &sl, NULL));
    {   /* MLP of layer 3 ('-'): relu2 up rows */
        int I = m->config.intermediate_size, D = m->config.hidden_size, hits = 0;
        double *C = (double *)malloc(sizeof(double) * I * I), *lev = (double *)calloc((size_t)I, sizeof(double)), prev = 2, first = -1;
        const float *up0, *up1;
        uniql_model *mf = tutil_load_ref("nemotron_h", 1);
        ASSERT_OK(uniql_calib_corr(cb, 3, UNIQL_STAT_MLP_DOWN_IN, 0, C, (size_t)I));
        test_leverage(I, C, 1e-4, lev);
        up0 = (const float *)mf->layers[3].mlp.up.data;
        up1 = (const float *)s->layers[3].mlp.up.data;
        for (i = 0; i < I; i++) {   /* which original row is sorted row i? */
            for (j = 0; j < I; j++)
                if (!memcmp(up1 + (size_t)i * D, up0 + (size_t)j * D, sizeof(float) * D)) break;
            ASSERT(j < I);
            hits++;
            if (lev[j] > prev + 1e-9) bad++;
            if (first < 0) first = lev[j];
            prev = lev[j];
        }
        UQ_NOTE("MLP: %d rows found in leverage order (leverage %.4f first, %.4f last), %d out of order", hits, first, prev, bad);
        ASSERT_EQ(0, bad);
        free(C); free(lev);
        uniql_model_free(mf);
    }
    {   /* RoPE pairs of the Llama layers */
        const uniql_config *c = &ml->config;
        int hd = c->head_dim, half = hd / 2, rep = c->n_heads / c->n_kv_heads, l;
        double *Cq = (double *)malloc(sizeof(double) * hd * hd), *Ck = (double *)malloc(sizeof(double) * hd * hd);
        for (l = 0; l < c->n_layers; l++)
            for (g = 0; g < c->n_kv_heads; g++) {
                double sc[64], prev = 1e300;
                const int *pairs = sl->layers[l].attn.rope_pairs + g * half;
                memset(sc, 0, sizeof sc);
                ASSERT_OK(uniql_calib_corr(cbl, l, UNIQL_STAT_K, g, Ck, (size_t)hd));
                for (h = g * rep; h < (g + 1) * rep; h++) {
                    ASSERT_OK(uniql_calib_corr(cbl, l, UNIQL_STAT_Q, h, Cq, (size_t)hd));
                    for (i = 0; i < hd; i++) sc[i % half] += sqrt(Cq[i * hd + i] * Ck[i * hd + i]);
                }
                for (j = 0; j < half; j++) {
                    if (sc[pairs[j]] > prev * (1 + 1e-9)) bad++;
                    prev = sc[pairs[j]];
                }
            }
        UQ_NOTE("RoPE pairs: %d out of score order over %d layers x %d KV heads", bad, c->n_layers, c->n_kv_heads);
        ASSERT_EQ(0, bad);
        free(Cq); free(Ck);
    }
    {   /* Mamba state dims, layer 0 of Nemotron-H: B rows follow the state-aware score */
        const uniql_config *c = &m->config;
        int N = c->ssm_state, D = c->hidden_size, per = c->ssm_heads / c->ssm_groups;
        double *Cc = (double *)malloc(sizeof(double) * N * N), *Cb = (double *)malloc(sizeof(double) * N * N);
        uniql_model *mf = tutil_load_ref("nemotron_h", 1);
        const float *b0 = (const float *)mf->layers[0].mamba.in_B.data, *b1 = (const float *)s->layers[0].mamba.in_B.data;
        for (g = 0; g < c->ssm_groups; g++) {
            double sc[64], prev = 1e300;
            memset(sc, 0, sizeof sc);
            ASSERT_OK(uniql_calib_corr(cb, 0, UNIQL_STAT_MAMBA_C, g, Cc, (size_t)N));
            for (h = g * per; h < (g + 1) * per; h++) {
                ASSERT_OK(uniql_calib_corr(cb, 0, UNIQL_STAT_MAMBA_DTB, h, Cb, (size_t)N));
                for (i = 0; i < N; i++) sc[i] += sqrt(Cb[i * N + i] * Cc[i * N + i]);
            }
            for (i = 0; i < N; i++) {
                for (j = 0; j < N; j++)
                    if (!memcmp(b1 + (size_t)(g * N + i) * D, b0 + (size_t)(g * N + j) * D, sizeof(float) * D)) break;
                ASSERT(j < N);
                if (sc[j] > prev * (1 + 1e-9)) bad++;
                prev = sc[j];
            }
        }
        UQ_NOTE("Mamba state dims: %d out of score order", bad);
        ASSERT_EQ(0, bad);
        free(Cc); free(Cb);
        uniql_model_free(mf);
    }
    uniql_model_free(s); uniql_model_free(sl);
    uniql_calib_free(cb); uniql_calib_free(cbl);
    uniql_model_free(m); uniql_model_free(ml);
    free(tok);
    PASS();
}

/* ---- 3. pruning equals slicing by hand ---- */

typedef struct arena { void *p[4096]; int n; } arena;
static void *amalloc(arena *a, size_t n) { return a->p[a->n++] = malloc(n ? n : 1); }
static void afree(arena *a) { while (a->n) free(a->p[--a->n]); }

/* rows (per block: the first `kept` of `full`) of a dense fp32 view */
static uniql_matrix hand_rows(arena *a, const uniql_matrix *W, int blocks, int full, int kept)
{
    float *d = (float *)amalloc(a, sizeof(float) * (size_t)blocks * kept * W->cols);
    int b, j;
    for (b = 0; b < blocks; b++)
        for (j = 0; j < kept; j++)
            memcpy(d + ((size_t)b * kept + j) * W->cols, (const char *)W->data + (size_t)(b * full + j) * W->stride, sizeof(float) * W->cols);
    return uniql_matrix_f32(d, blocks * kept, W->cols, (size_t)W->cols);
}

static uniql_matrix hand_cols(arena *a, const uniql_matrix *W, int blocks, int full, int kept)
{
    float *d = (float *)amalloc(a, sizeof(float) * (size_t)W->rows * blocks * kept);
    int r, b, j, n = blocks * kept;
    for (r = 0; r < W->rows; r++) {
        const float *row = (const float *)(const void *)((const char *)W->data + (size_t)r * W->stride);
        for (b = 0; b < blocks; b++)
            for (j = 0; j < kept; j++) d[(size_t)r * n + b * kept + j] = row[b * full + j];
    }
    return uniql_matrix_f32(d, W->rows, n, (size_t)n);
}

static const float *hand_vec(arena *a, const float *v, int blocks, int full, int kept, int width)
{
    float *d;
    int b, j;
    if (!v) return NULL;
    d = (float *)amalloc(a, sizeof(float) * (size_t)blocks * kept * width);
    for (b = 0; b < blocks; b++)
        for (j = 0; j < kept; j++) memcpy(d + ((size_t)b * kept + j) * width, v + ((size_t)b * full + j) * width, sizeof(float) * width);
    return d;
}

static uq_status check_prune(int f, double rate)
{
    uniql_model *m = tutil_load_ref(FAMS[f], 0), *s, *p, *pv = NULL, R;
    const uniql_config *c;
    int *tok = make_tokens(NCAL, 9), n = 40, l, g, j;
    uniql_calib *cb;
    uniql_kept kept[16];
    double rates[16], imp[16], params[16];
    float *lp, *lr;
    arena ar;
    ASSERT(m);
    c = &m->config;
    memset(&ar, 0, sizeof ar);
    cb = calibrate(m, tok, NCAL, 0);
    ASSERT(cb);
    ASSERT_OK(uniql_sort_model(m, cb, NULL, &s, NULL));
    ASSERT_OK(uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, imp));
    for (l = 0; l < c->n_layers; l++) params[l] = (double)uniql_prunable_params(c, l, NULL);
    ASSERT_OK(uniql_layer_rates(c->n_layers, imp, params, rate, 0, 0, rates));
    ASSERT_OK(uniql_kept_from_rates(c, rates, NULL, kept));
    ASSERT_OK(uniql_model_prune(s, kept, 1, NULL, &p, NULL));
    /* the reference, by hand from the sorted model */
    R = *s;
    R.storage = NULL;
    R.layers = (uniql_layer *)amalloc(&ar, sizeof(uniql_layer) * c->n_layers);
    memcpy(R.layers, s->layers, sizeof(uniql_layer) * c->n_layers);
    for (l = 0; l < c->n_layers; l++) {
        uniql_layer *d = &R.layers[l];
        const uniql_layer *o = &s->layers[l];
        const uniql_kept *k = &kept[l];
        if (o->type == UNIQL_BLOCK_DECODER || o->type == UNIQL_BLOCK_ATTENTION) {
            int hd = c->head_dim, H = c->n_heads, KV = c->n_kv_heads;
            d->attn.qk_dim = k->qk_dim;
            d->attn.v_dim = k->v_dim;
            d->attn.q = hand_rows(&ar, &o->attn.q, H, hd, k->qk_dim);
            d->attn.k = hand_rows(&ar, &o->attn.k, KV, hd, k->qk_dim);
            d->attn.v = hand_rows(&ar, &o->attn.v, KV, hd, k->v_dim);
            d->attn.o = hand_cols(&ar, &o->attn.o, H, hd, k->v_dim);
            d->attn.q_bias = hand_vec(&ar, o->attn.q_bias, H, hd, k->qk_dim, 1);
            d->attn.k_bias = hand_vec(&ar, o->attn.k_bias, KV, hd, k->qk_dim, 1);
            d->attn.v_bias = hand_vec(&ar, o->attn.v_bias, KV, hd, k->v_dim, 1);
            if (o->attn.rope_pairs) {
                int *pr = (int *)amalloc(&ar, sizeof(int) * KV * hd);
                for (g = 0; g < KV; g++)
                    for (j = 0; j < k->qk_dim / 2; j++) pr[g * (k->qk_dim / 2) + j] = o->attn.rope_pairs[g * (hd / 2) + j];
                d->attn.rope_pairs = pr;
            }
        }
        if (o->type == UNIQL_BLOCK_DECODER || o->type == UNIQL_BLOCK_MLP || o->type == UNIQL_BLOCK_MAMBA_MLP) {
            int I = c->intermediate_size;
            d->mlp.d_int = k->d_int;
            if (c->mlp_act == UNIQL_MLP_SWIGLU) d->mlp.gate = hand_rows(&ar, &o->mlp.gate, 1, I, k->d_int);
            d->mlp.up = hand_rows(&ar, &o->mlp.up, 1, I, k->d_int);
            d->mlp.down = hand_cols(&ar, &o->mlp.down, 1, I, k->d_int);
            d->mlp.gate_bias = hand_vec(&ar, o->mlp.gate_bias, 1, I, k->d_int, 1);
            d->mlp.up_bias = hand_vec(&ar, o->mlp.up_bias, 1, I, k->d_int, 1);
        }
        if (o->type == UNIQL_BLOCK_MAMBA || o->type == UNIQL_BLOCK_MAMBA_MLP) {
            const uniql_mamba *a = &o->mamba;
            uniql_mamba *b = &d->mamba;
            int H = c->ssm_heads, P = c->ssm_head_dim, G = c->ssm_groups, N = c->ssm_state, K = c->conv_kernel;
            b->head_dim_kept = k->head_dim;
            b->state_kept = k->state;
            b->in_z = hand_rows(&ar, &a->in_z, H, P, k->head_dim);
            b->in_x = hand_rows(&ar, &a->in_x, H, P, k->head_dim);
            b->in_B = hand_rows(&ar, &a->in_B, G, N, k->state);
            b->in_C = hand_rows(&ar, &a->in_C, G, N, k->state);
            b->out = hand_cols(&ar, &a->out, H, P, k->head_dim);
            b->bias_z = hand_vec(&ar, a->bias_z, H, P, k->head_dim, 1);
            b->bias_x = hand_vec(&ar, a->bias_x, H, P, k->head_dim, 1);
            b->bias_B = hand_vec(&ar, a->bias_B, G, N, k->state, 1);
            b->bias_C = hand_vec(&ar, a->bias_C, G, N, k->state, 1);
            b->conv_x = hand_vec(&ar, a->conv_x, H, P, k->head_dim, K);
            b->conv_B = hand_vec(&ar, a->conv_B, G, N, k->state, K);
            b->conv_C = hand_vec(&ar, a->conv_C, G, N, k->state, K);
            b->conv_bias_x = hand_vec(&ar, a->conv_bias_x, H, P, k->head_dim, 1);
            b->conv_bias_B = hand_vec(&ar, a->conv_bias_B, G, N, k->state, 1);
            b->conv_bias_C = hand_vec(&ar, a->conv_bias_C, G, N, k->state, 1);
            b->norm = hand_vec(&ar, a->norm, H, P, k->head_dim, 1);
        }
    }
    ASSERT_OK(uniql_model_check(&R, NULL));
    lp = tutil_prefill_logits(p, tok + 50, n, 16);
    lr = tutil_prefill_logits(&R, tok + 50, n, 16);
    ASSERT(lp && lr);
    {
        double d = tutil_max_diff(lp, lr, (size_t)n * c->vocab_size), sc = tutil_max_abs(lr, (size_t)n * c->vocab_size);
        uint64_t full = 0, kp = 0;
        for (l = 0; l < c->n_layers; l++) { full += uniql_prunable_params(c, l, NULL); kp += uniql_prunable_params(c, l, &kept[l]); }
        UQ_NOTE("%s at %.0f%%: |pruned - sliced by hand| = %.3g (scale %.3g), %.1f%% of prunable weights removed", FAMS[f], 100 * rate, d,
                sc, 100.0 * (1.0 - (double)kp / (double)full));
        ASSERT_LE(d, 1e-6 * sc);
    }
    /* views over the sorted model (prunable layout) give the same numbers */
    if (matmul_supports_views()) {
        uniql_model *sp;
        uniql_sort_options o;
        float *lv;
        memset(&o, 0, sizeof o);
        o.layout = UNIQL_LAYOUT_PRUNABLE;
        ASSERT_OK(uniql_sort_model(m, cb, &o, &sp, NULL));
        ASSERT_OK(uniql_model_prune(sp, kept, 0, NULL, &pv, NULL));
        lv = tutil_prefill_logits(pv, tok + 50, n, 16);
        ASSERT(lv);
        ASSERT_LE(tutil_max_diff(lv, lr, (size_t)n * c->vocab_size), 1e-5 * tutil_max_abs(lr, (size_t)n * c->vocab_size));
        free(lv);
        uniql_model_free(pv);
        uniql_model_free(sp);
    } else {
        /* dense layout: only a dense down_proj cut has a view; per-head input cuts say so */
        uniql_error e;
        int has_attn = 0;
        for (l = 0; l < c->n_layers; l++) has_attn |= c->block[l] == UNIQL_BLOCK_DECODER || c->block[l] == UNIQL_BLOCK_ATTENTION || c->block[l] == UNIQL_BLOCK_MAMBA ||
                                                      c->block[l] == UNIQL_BLOCK_MAMBA_MLP;
        if (has_attn) ASSERT_ERR(UNIQL_ERR_UNSUPPORTED, uniql_model_prune(s, kept, 0, NULL, &pv, &e));
    }
    free(lp); free(lr);
    afree(&ar);
    uniql_model_free(p);
    uniql_model_free(s);
    uniql_calib_free(cb);
    uniql_model_free(m);
    free(tok);
    PASS();
}
TEST pruned_equals_hand_sliced_llama(void) { return check_prune(0, 0.25); }
TEST pruned_equals_hand_sliced_qwen2(void) { return check_prune(1, 0.35); }
TEST pruned_equals_hand_sliced_mamba2(void) { return check_prune(2, 0.25); }
TEST pruned_equals_hand_sliced_nemotron_h(void) { return check_prune(3, 0.15); }
TEST pruned_equals_hand_sliced_bamba(void) { return check_prune(4, 0.25); }

/* Pruning an unsorted Llama (rotate_half layout) keeps pairs 0..k-1: equal to the model whose
   dropped k rows are zeroed (then q.k ignores them exactly) with the v cut done by hand. */
TEST prune_of_unsorted_rope_model_keeps_leading_pairs(void)
{
    uniql_model *m = tutil_load_ref("llama", 1), *p, Z;
    uniql_kept kept[8];
    int *tok = make_tokens(48, 1), l, h, j, n = 40;
    const uniql_config *c;
    float *a, *b;
    arena ar;
    ASSERT(m);
    c = &m->config;
    memset(&ar, 0, sizeof ar);
    for (l = 0; l < c->n_layers; l++) { kept[l] = uniql_kept_full(c, l); kept[l].qk_dim = 10; }
    ASSERT_OK(uniql_model_prune(m, kept, 1, NULL, &p, NULL));
    ASSERT(p->layers[0].attn.rope_pairs != NULL);
    ASSERT_EQ(4, p->layers[0].attn.rope_pairs[4]);
    Z = *m;
    Z.storage = NULL;
    Z.layers = (uniql_layer *)amalloc(&ar, sizeof(uniql_layer) * c->n_layers);
    memcpy(Z.layers, m->layers, sizeof(uniql_layer) * c->n_layers);
    for (l = 0; l < c->n_layers; l++) {
        int hd = c->head_dim, half = hd / 2, D = c->hidden_size, KV = c->n_kv_heads;
        float *k = (float *)amalloc(&ar, sizeof(float) * KV * hd * D), *kb = (float *)amalloc(&ar, sizeof(float) * KV * hd);
        memcpy(k, m->layers[l].attn.k.data, sizeof(float) * KV * hd * D);
        memcpy(kb, m->layers[l].attn.k_bias, sizeof(float) * KV * hd);
        for (h = 0; h < KV; h++)
            for (j = 5; j < half; j++) {
                memset(k + (size_t)(h * hd + j) * D, 0, sizeof(float) * D);
                memset(k + (size_t)(h * hd + j + half) * D, 0, sizeof(float) * D);
                kb[h * hd + j] = kb[h * hd + j + half] = 0;
            }
        Z.layers[l].attn.k = uniql_matrix_f32(k, KV * hd, D, (size_t)D);
        Z.layers[l].attn.k_bias = kb;
    }
    a = tutil_prefill_logits(p, tok, n, 16);
    b = tutil_prefill_logits(&Z, tok, n, 16);
    ASSERT(a && b);
    ASSERT_LE(tutil_max_diff(a, b, (size_t)n * c->vocab_size), 1e-5 * tutil_max_abs(b, (size_t)n * c->vocab_size));
    free(a); free(b);
    afree(&ar);
    uniql_model_free(p);
    uniql_model_free(m);
    free(tok);
    PASS();
}

/* Bamba's partial-rotary heads after sorting (SPEC 1.2, official "quarter pairs" + plain
   top-k): per KV group the stored units follow the interleave of API 6, the rotary pairs
   (i, i + R/2) in decreasing s_i + s_{i+R/2}, the pass-through dims in decreasing s_i, with
   s_i = sum over the group's query heads of |col_i(C_Q^1/2)| |col_i(C_K^1/2)| (recomputed
   here from the calibration with our own eigendecomposition-free check: the stored k rows
   are matched to the original ones to recover which dim went where). */
TEST bamba_sorted_units_follow_the_scores(void)
{
    uniql_model *m = tutil_load_ref("bamba", 1), *s;
    const uniql_config *c;
    int *tok = make_tokens(NCAL, 13), l, g, h, i, j, u, bad = 0, units = 0;
    uniql_calib *cb;
    ASSERT(m);
    c = &m->config;
    cb = calibrate(m, tok, NCAL, 0);
    ASSERT(cb);
    ASSERT_OK(uniql_sort_model(m, cb, NULL, &s, NULL));
    for (l = 0; l < c->n_layers; l++) {
        int hd = c->head_dim, R = c->rotary_dim, nr = R / 2, half = hd / 2, rep = c->n_heads / c->n_kv_heads, D = c->hidden_size;
        const float *k0, *k1;
        double *Cq, *Ck, *Sq, *Sk;
        if (c->block[l] != UNIQL_BLOCK_DECODER) continue;
        ASSERT(R < hd && s->layers[l].attn.rope_pairs);
        k0 = (const float *)m->layers[l].attn.k.data;
        k1 = (const float *)s->layers[l].attn.k.data;
        Cq = (double *)malloc(sizeof(double) * hd * hd * 4);
        Ck = Cq + hd * hd; Sq = Ck + hd * hd; Sk = Sq + hd * hd;
        for (g = 0; g < c->n_kv_heads; g++) {
            double sc[128], prev_r = 1e300, prev_p = 1e300;
            int orig[128], kr = 0, kp = 0;
            memset(sc, 0, sizeof sc);
            ASSERT_OK(uniql_calib_corr(cb, l, UNIQL_STAT_K, g, Ck, (size_t)hd));
            ASSERT_OK(uniql_sqrt_psd_f64(hd, Ck, (size_t)hd, UNIQL_EIG_FLOOR_DEFAULT, Sk, (size_t)hd, NULL, 0, NULL));
            for (h = g * rep; h < (g + 1) * rep; h++) {
                ASSERT_OK(uniql_calib_corr(cb, l, UNIQL_STAT_Q, h, Cq, (size_t)hd));
                ASSERT_OK(uniql_sqrt_psd_f64(hd, Cq, (size_t)hd, UNIQL_EIG_FLOOR_DEFAULT, Sq, (size_t)hd, NULL, 0, NULL));
                for (i = 0; i < hd; i++) {
                    double a = 0, b = 0;
                    for (j = 0; j < hd; j++) { a += Sq[j * hd + i] * Sq[j * hd + i]; b += Sk[j * hd + i] * Sk[j * hd + i]; }
                    sc[i] += sqrt(a) * sqrt(b);
                }
            }
            for (i = 0; i < hd; i++) {   /* stored row i of KV head g = original row orig[i] */
                for (j = 0; j < hd; j++)
                    if (!memcmp(k1 + (size_t)(g * hd + i) * D, k0 + (size_t)(g * hd + j) * D, sizeof(float) * D)) break;
                ASSERT(j < hd);
                orig[i] = j;
            }
            for (u = 0; u < half; u++, units++) {
                int a = orig[2 * u], b = orig[2 * u + 1], p = s->layers[l].attn.rope_pairs[g * half + u];
                if (uniql_rope_unit_rotary(c, u)) {
                    double v = sc[a] + sc[a + nr];
                    ASSERT(a < nr && b == a + nr && p == a);
                    if (v > prev_r * (1 + 1e-9)) bad++;
                    prev_r = v;
                    kr++;
                } else {
                    ASSERT(a >= R && b >= R && p >= nr && p < half);
                    if (sc[a] > prev_p * (1 + 1e-9) || sc[b] > sc[a] * (1 + 1e-9)) bad++;
                    prev_p = sc[b];
                    kp++;
                }
            }
            ASSERT(kr == nr && kp == (hd - R) / 2);
        }
        free(Cq);
    }
    UQ_NOTE("Bamba partial-rotary units: %d checked, %d out of score order", units, bad);
    ASSERT(units > 0);
    ASSERT_EQ(0, bad);
    uniql_model_free(s);
    uniql_calib_free(cb);
    uniql_model_free(m);
    free(tok);
    PASS();
}

/* Pruning an unsorted Bamba (HF layout) to 10 of 16 q/k dims keeps the first 5 units of the
   interleave: rotary pairs 0, 1, 2 (dims 0-2, 4-6) and pass-through dims 8-11. Equal to the
   full model with the other k rows zeroed (dims 3, 7 and 12-15). */
TEST prune_of_unsorted_partial_rope_model_keeps_leading_units(void)
{
    uniql_model *m = tutil_load_ref("bamba", 1), *p, Z;
    uniql_kept kept[8];
    int *tok = make_tokens(48, 2), l, h, n = 40;
    static const int drop[6] = { 3, 7, 12, 13, 14, 15 };
    const uniql_config *c;
    float *a, *b;
    arena ar;
    ASSERT(m);
    c = &m->config;
    ASSERT(c->head_dim == 16 && c->rotary_dim == 8);
    memset(&ar, 0, sizeof ar);
    for (l = 0; l < c->n_layers; l++) { kept[l] = uniql_kept_full(c, l); kept[l].qk_dim = 10; }
    ASSERT_OK(uniql_model_prune(m, kept, 1, NULL, &p, NULL));
    Z = *m;
    Z.storage = NULL;
    Z.layers = (uniql_layer *)amalloc(&ar, sizeof(uniql_layer) * c->n_layers);
    memcpy(Z.layers, m->layers, sizeof(uniql_layer) * c->n_layers);
    for (l = 0; l < c->n_layers; l++) {
        int hd = c->head_dim, D = c->hidden_size, KV = c->n_kv_heads, j;
        float *k;
        if (c->block[l] != UNIQL_BLOCK_DECODER) continue;
        ASSERT(p->layers[l].attn.rope_pairs != NULL);
        for (j = 0; j < 5; j++) ASSERT_EQ(j % 2 == 0 ? j / 2 : 4 + j / 2, p->layers[l].attn.rope_pairs[j]);
        k = (float *)amalloc(&ar, sizeof(float) * KV * hd * D);
        memcpy(k, m->layers[l].attn.k.data, sizeof(float) * KV * hd * D);
        for (h = 0; h < KV; h++)
            for (j = 0; j < 6; j++) memset(k + (size_t)(h * hd + drop[j]) * D, 0, sizeof(float) * D);
        Z.layers[l].attn.k = uniql_matrix_f32(k, KV * hd, D, (size_t)D);
    }
    a = tutil_prefill_logits(p, tok, n, 16);
    b = tutil_prefill_logits(&Z, tok, n, 16);
    ASSERT(a && b);
    UQ_NOTE("bamba, unsorted, q/k cut to 10 of 16: |pruned - zeroed| = %.3g", tutil_max_diff(a, b, (size_t)n * c->vocab_size));
    ASSERT_LE(tutil_max_diff(a, b, (size_t)n * c->vocab_size), 1e-5 * tutil_max_abs(b, (size_t)n * c->vocab_size));
    free(a); free(b);
    afree(&ar);
    uniql_model_free(p);
    uniql_model_free(m);
    free(tok);
    PASS();
}

/* ---- 4. rates and kept sizes ---- */

TEST layer_rates_meet_the_target_and_follow_importance(void)
{
    double s[6] = { 0.30, 0.05, 0.10, 0.02, 0.20, 0.08 }, P[6] = { 1, 2, 1, 3, 1, 1 }, r[6], g;
    int l, k;
    for (k = 0; k < 3; k++) {
        double target = k == 0 ? 0.15 : k == 1 ? 0.25 : 0.35, num = 0, den = 0;
        ASSERT_OK(uniql_layer_rates(6, s, P, target, 0.1, 0.5, r));
        for (l = 0; l < 6; l++) { num += P[l] * r[l]; den += P[l]; ASSERT(r[l] >= 0 && r[l] <= 0.5); }
        ASSERT_IN_RANGE(target, num / den, 1e-12);
        for (l = 0; l < 6; l++)
            for (g = 0; g < 6; g++)
                if (s[l] < s[(int)g]) ASSERT(r[l] >= r[(int)g]);   /* less important -> pruned at least as hard */
        UQ_NOTE("target %.2f: rates %.3f %.3f %.3f %.3f %.3f %.3f", target, r[0], r[1], r[2], r[3], r[4], r[5]);
    }
    /* equal params, no clipping: L * phi * softmax(-s/eps) exactly (SPEC 1.3) */
    ASSERT_OK(uniql_layer_rates(6, s, NULL, 0.05, 0.5, 0.99, r));
    {
        double z = 0;
        for (l = 0; l < 6; l++) z += exp(-s[l] / 0.5);
        for (l = 0; l < 6; l++) ASSERT_IN_RANGE(6 * 0.05 * exp(-s[l] / 0.5) / z, r[l], 1e-12);
    }
    /* rate 0 -> all 0; equal importance -> all equal */
    ASSERT_OK(uniql_layer_rates(6, s, P, 0.0, 0, 0, r));
    for (l = 0; l < 6; l++) ASSERT_EQ(0, r[l] != 0);
    {
        double e[6] = { 0.1, 0.1, 0.1, 0.1, 0.1, 0.1 };
        ASSERT_OK(uniql_layer_rates(6, e, P, 0.25, 0, 0, r));
        for (l = 0; l < 6; l++) ASSERT_IN_RANGE(0.25, r[l], 1e-12);
    }
    /* errors */
    s[2] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_layer_rates(6, s, P, 0.2, 0, 0, r));
    s[2] = 0.1;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_layer_rates(6, s, P, 0.9, 0, 0.5, r));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_layer_rates(6, s, P, -0.1, 0, 0, r));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_layer_rates(0, s, P, 0.1, 0, 0, r));
    P[1] = -1;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_layer_rates(6, s, P, 0.1, 0, 0, r));
    PASS();
}

TEST kept_sizes_respect_units_and_the_global_rate(void)
{
    uniql_model *m = tutil_load_ref("nemotron_h", 0);
    const uniql_config *c;
    double rates[8], imp[4] = { 0.2, 0.05, 0.1, 0.02 }, params[8];
    uniql_kept kept[8];
    uniql_kept_units u;
    int l, k;
    ASSERT(m);
    c = &m->config;
    for (l = 0; l < c->n_layers; l++) params[l] = (double)uniql_prunable_params(c, l, NULL);
    memset(&u, 0, sizeof u);
    u.mlp_unit = 8; u.mamba_unit = 3; u.state_unit = 4;
    for (k = 1; k <= 3; k++) {
        double target = 0.05 + 0.1 * k;
        uint64_t full = 0, kp = 0;
        ASSERT_OK(uniql_layer_rates(c->n_layers, imp, params, target, 0.1, 0.85, rates));
        ASSERT_OK(uniql_kept_from_rates(c, rates, &u, kept));
        for (l = 0; l < c->n_layers; l++) {
            ASSERT_EQ(0, kept[l].qk_dim % 2);
            ASSERT_EQ(0, kept[l].d_int % 8);
            ASSERT_EQ(0, kept[l].head_dim % 3);
            ASSERT_EQ(0, kept[l].state % 4);
            ASSERT(kept[l].d_int >= 8 && kept[l].head_dim >= 3 && kept[l].state >= 4);
        }
        /* the global share with the default (fine) units: the target within rounding */
        ASSERT_OK(uniql_kept_from_rates(c, rates, NULL, kept));
        for (l = 0; l < c->n_layers; l++) {
            full += uniql_prunable_params(c, l, NULL);
            kp += uniql_prunable_params(c, l, &kept[l]);
        }
        UQ_NOTE("target %.2f: %.4f of prunable weights removed after rounding", target, 1.0 - (double)kp / (double)full);
        ASSERT_IN_RANGE(target, 1.0 - (double)kp / (double)full, 0.03);
    }
    rates[0] = 1.0;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_kept_from_rates(c, rates, NULL, kept));
    rates[0] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_kept_from_rates(c, rates, NULL, kept));
    uniql_model_free(m);
    PASS();
}


/* ---- 5. quantization of a whole model ---- */

/* int8 stays close to fp, int4 further, fp32 "quantization" is exact; every family */
static uq_status check_quantize(int f)
{
    uniql_model *m = tutil_load_ref(FAMS[f], 0), *q;
    int *tok = make_tokens(64, 21), n = 48, b, l, bits[16];
    float *ref, *lg;
    double scale, errs[3];
    uniql_model_quant_options o;
    ASSERT(m);
    ref = tutil_prefill_logits(m, tok, n, 16);
    ASSERT(ref);
    scale = tutil_max_abs(ref, (size_t)n * m->config.vocab_size);
    memset(&o, 0, sizeof o);
    o.group = 32;
    o.embed_bits = 8;
    for (b = 0; b < 3; b++) {
        for (l = 0; l < m->config.n_layers; l++) bits[l] = b == 0 ? 32 : b == 1 ? 8 : 4;
        o.embed_bits = b == 0 ? 32 : 8;
        ASSERT_OK(uniql_model_quantize(m, bits, &o, &q, NULL));
        lg = tutil_prefill_logits(q, tok, n, 16);
        ASSERT(lg);
        errs[b] = tutil_max_diff(ref, lg, (size_t)n * m->config.vocab_size) / scale;
        if (b == 0) ASSERT_LE(errs[0], 1e-6);
        free(lg);
        uniql_model_free(q);
    }
    UQ_NOTE("%s: max |logit - fp| / scale: fp32 copy %.2g, int8 %.3g, int4 (group 32) %.3g", FAMS[f], errs[0], errs[1], errs[2]);
    /* random-weight models are sensitive (Nemotron-H's relu^2 most); the ordering and the
       finite size of the error is what is checked here, perplexity is measured in bench/ */
    ASSERT(3 * errs[1] < errs[2]);
    ASSERT_LE(errs[2], 1.0);
    free(ref);
    free(tok);
    uniql_model_free(m);
    PASS();
}
TEST quantize_model_llama(void) { return check_quantize(0); }
TEST quantize_model_mamba2(void) { return check_quantize(2); }
TEST quantize_model_nemotron_h(void) { return check_quantize(3); }
TEST quantize_model_bamba(void) { return check_quantize(4); }

/* SPEC 1.5: quantize once, prune by views. Pruning the quantized prunable-layout model by
   views equals quantizing the compact pruned model (no requantization on the device), and
   uniql_layer_bytes is exactly what the quantized pruned model holds. */
static uq_status check_quant_prefix(int f)
{
    uniql_model *m = tutil_load_ref(FAMS[f], 0), *s, *q, *qv, *pc, *qc;
    const uniql_config *c;
    int *tok = make_tokens(NCAL, 31), n = 40, l, bits[16];
    uniql_calib *cb;
    uniql_sort_options so;
    uniql_model_quant_options o;
    uniql_kept kept[16];
    double rates[16];
    uint64_t lay = 0, fixed;
    size_t eb;
    uniql_quant_desc d;
    float *a, *b;
    ASSERT(m);
    c = &m->config;
    cb = calibrate(m, tok, NCAL, 0);
    ASSERT(cb);
    memset(&so, 0, sizeof so);
    so.layout = UNIQL_LAYOUT_PRUNABLE;
    ASSERT_OK(uniql_sort_model(m, cb, &so, &s, NULL));
    memset(&o, 0, sizeof o);
    o.group = 32;
    o.embed_bits = 8;
    for (l = 0; l < c->n_layers; l++) { bits[l] = l % 2 ? 8 : 4; rates[l] = 0.1 + 0.1 * l; }
    ASSERT_OK(uniql_kept_from_rates(c, rates, NULL, kept));
    ASSERT_OK(uniql_model_quantize(s, bits, &o, &q, NULL));
    ASSERT_OK(uniql_model_prune(q, kept, 0, NULL, &qv, NULL));
    ASSERT_OK(uniql_model_prune(s, kept, 1, NULL, &pc, NULL));
    ASSERT_OK(uniql_model_quantize(pc, bits, &o, &qc, NULL));
    a = tutil_prefill_logits(qv, tok, n, 16);
    b = tutil_prefill_logits(qc, tok, n, 16);
    ASSERT(a && b);
    UQ_NOTE("%s: |views of quantized - quantized compact| = %.3g", FAMS[f], tutil_max_diff(a, b, (size_t)n * c->vocab_size));
    ASSERT_LE(tutil_max_diff(a, b, (size_t)n * c->vocab_size), 1e-5 * tutil_max_abs(b, (size_t)n * c->vocab_size));
    for (l = 0; l < c->n_layers; l++) lay += uniql_layer_bytes(c, l, &kept[l], bits[l], 32, 0, UNIQL_LAYOUT_PRUNABLE);
    memset(&d, 0, sizeof d);
    d.dtype = UNIQL_DTYPE_Q8;
    ASSERT_OK(uniql_quant_size(&d, c->vocab_size, c->hidden_size, &eb));
    fixed = (uint64_t)eb * (c->tie_embeddings ? 1 : 2) + 4u * (uint64_t)c->hidden_size;
    UQ_NOTE("%s: model bytes %llu (views) / %llu (compact) = layers %llu + embeddings and final norm %llu", FAMS[f],
            (unsigned long long)uniql_model_bytes(qv), (unsigned long long)uniql_model_bytes(qc), (unsigned long long)lay,
            (unsigned long long)fixed);
    ASSERT_EQ(lay + fixed, uniql_model_bytes(qc));
    ASSERT(uniql_model_bytes(qv) <= uniql_model_bytes(qc) + 64 * (uint64_t)c->n_layers);
    free(a); free(b);
    uniql_model_free(qc); uniql_model_free(pc); uniql_model_free(qv); uniql_model_free(q); uniql_model_free(s);
    uniql_calib_free(cb);
    uniql_model_free(m);
    free(tok);
    PASS();
}
TEST quantized_prefix_views_equal_requantized_llama(void) { return check_quant_prefix(0); }
TEST quantized_prefix_views_equal_requantized_qwen2(void) { return check_quant_prefix(1); }
TEST quantized_prefix_views_equal_requantized_nemotron_h(void) { return check_quant_prefix(3); }
TEST quantized_prefix_views_equal_requantized_bamba(void) { return check_quant_prefix(4); }

/* ---- 6. bad input ---- */

TEST bad_input_gives_codes(void)
{
    uniql_model *m = tutil_load_ref("llama", 1), *s = NULL, *p = NULL;
    int *tok = make_tokens(NCAL, 2);
    uniql_calib *cb = NULL;
    uniql_calib_options o;
    uniql_kept kept[4];
    uniql_error e;
    float *w;
    ASSERT(m);
    memset(&o, 0, sizeof o);
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_calibrate(NULL, tok, NCAL, NULL, &cb, &e));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_calibrate(m, tok, 0, NULL, &cb, &e));
    tok[5] = 999;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_calibrate(m, tok, NCAL, NULL, &cb, &e));
    tok[5] = 40;
    o.layer_begin = 1; o.layer_end = 1;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_calibrate(m, tok, NCAL, &o, &cb, &e));
    o.layer_end = 5;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_calibrate(m, tok, NCAL, &o, &cb, &e));
    ASSERT(cb == NULL);
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_sort_model(m, NULL, NULL, &s, &e));   /* scores need a calibration */
    /* all-zero MLP (up = 0): zero correlation, leverage 0 everywhere, identity order, OK */
    w = (float *)(void *)m->layers[1].mlp.up.data;
    memset(w, 0, sizeof(float) * (size_t)m->layers[1].mlp.up.rows * m->layers[1].mlp.up.cols);
    memset((float *)(void *)m->layers[1].mlp.up_bias, 0, sizeof(float) * m->config.intermediate_size);
    ASSERT_OK(uniql_calibrate(m, tok, NCAL, NULL, &cb, &e));
    ASSERT_OK(uniql_sort_model(m, cb, NULL, &s, &e));
    ASSERT_MEM_EQ(m->layers[1].mlp.gate.data, s->layers[1].mlp.gate.data, sizeof(float) * m->layers[1].mlp.gate.rows * m->layers[1].mlp.gate.cols);
    /* sorted models cannot be sorted again; prune checks kept sizes */
    ASSERT_ERR(UNIQL_ERR_UNSUPPORTED, uniql_sort_model(s, cb, NULL, &p, &e));
    kept[0] = kept[1] = uniql_kept_full(&m->config, 0);
    kept[1].qk_dim = 7;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_model_prune(s, kept, 1, NULL, &p, &e));
    kept[1].qk_dim = 16; kept[1].d_int = 0;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_model_prune(s, kept, 1, NULL, &p, &e));
    kept[1].d_int = 60;
    ASSERT_OK(uniql_model_prune(s, kept, 1, NULL, &p, &e));
    {
        uniql_model *q = NULL;
        ASSERT_ERR(UNIQL_ERR_UNSUPPORTED, uniql_model_prune(p, kept, 1, NULL, &q, &e));   /* already pruned */
        ASSERT(q == NULL);
    }
    uniql_model_free(p);
    uniql_calib_free(cb);
    cb = NULL;
    /* NaN in a weight -> NONFINITE from calibration, with the place in the message */
    w[3] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_calibrate(m, tok, NCAL, NULL, &cb, &e));
    UQ_NOTE("NaN weight: %s", e.message);
    ASSERT(cb == NULL);
    uniql_model_free(s);
    uniql_model_free(m);
    free(tok);
    PASS();
}

SUITE(uniql_suite)
{
    RUN_TEST(calib_stats_equal_direct_sums_llama);
    RUN_TEST(calib_stats_equal_direct_sums_nemotron_h);
    RUN_TEST(calib_stats_equal_direct_sums_bamba);
    RUN_TEST(importance_is_reproducible_and_range_limited);
    RUN_TEST(sorting_keeps_logits_llama);
    RUN_TEST(sorting_keeps_logits_qwen2);
    RUN_TEST(sorting_keeps_logits_mamba2);
    RUN_TEST(sorting_keeps_logits_nemotron_h);
    RUN_TEST(sorting_keeps_logits_bamba);
    RUN_TEST(sorted_orders_follow_the_scores);
    RUN_TEST(bamba_sorted_units_follow_the_scores);
    RUN_TEST(pruned_equals_hand_sliced_llama);
    RUN_TEST(pruned_equals_hand_sliced_qwen2);
    RUN_TEST(pruned_equals_hand_sliced_mamba2);
    RUN_TEST(pruned_equals_hand_sliced_nemotron_h);
    RUN_TEST(pruned_equals_hand_sliced_bamba);
    RUN_TEST(prune_of_unsorted_rope_model_keeps_leading_pairs);
    RUN_TEST(prune_of_unsorted_partial_rope_model_keeps_leading_units);
    RUN_TEST(layer_rates_meet_the_target_and_follow_importance);
    RUN_TEST(kept_sizes_respect_units_and_the_global_rate);
    RUN_TEST(quantize_model_llama);
    RUN_TEST(quantize_model_mamba2);
    RUN_TEST(quantize_model_nemotron_h);
    RUN_TEST(quantize_model_bamba);
    RUN_TEST(quantized_prefix_views_equal_requantized_llama);
    RUN_TEST(quantized_prefix_views_equal_requantized_qwen2);
    RUN_TEST(quantized_prefix_views_equal_requantized_nemotron_h);
    RUN_TEST(quantized_prefix_views_equal_requantized_bamba);
    RUN_TEST(bad_input_gives_codes);
}
