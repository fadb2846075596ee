/* bench_uniql.c - the UniQL and LSAQ evaluations (issues 6 and 7) on the trained models.
   Public API only. For every model directory (default: the two BPE models and the three
   byte-level models under models/). Token streams per model:
     - byte-level models (vocabulary 256): the bytes of data/calib.txt (calibration) and
       data/test.txt (held-out perplexity), windows of 256 bytes;
     - BPE models (a tokenizer.json in the model directory): the committed token streams
       tests/data/bpe/calib.u16 and test.u16 (little-endian uint16, produced by the model's
       own tokenizer from data/corpus/{calib,test}.txt; tests/test_bpe.c checks that
       uniql.h's tokenizer reproduces them), windows of 512 tokens (the training length).
   Calibration uses S sequences of one window each; perplexity the first W windows.

   UniQL table: perplexity of FP, int4 only, and int4 + 15/25/35 % pruning (rates from
   block influence, SPEC 1.3) with sorted channels vs the same kept sizes with a random
   channel order; QA-SVD vs plain sqrt split of V/O under int4; weight memory vs fp16;
   sorting time with ridge leverage vs an SVD-based leverage on the same MLP correlation;
   and 25 % at one rate in every layer vs the block-influence allocation.
   LSAQ table: at 3 memory budgets between all-4-bit and all-8-bit, perplexity of the
   LSAQ plan (top-k Jaccard importance) vs uniform (layers upgraded in index order) vs
   block-influence importance vs random importance, all through uniql_lsaq_plan with the
   exact per-layer sizes of uniql_layer_bytes.

   usage: bench_uniql [--windows W] [--calib-seqs S] [--window N] [--group G] [--group-transposed G]
                      [--damp D] [--methods LIST] [--threads T] [--act-order] [--asym]
                      [--only LIST] [--calib F] [--test F] [--calib-ids F] [--test-ids F]
                      [model_dir ...]
   W, S, N default per model kind (bytes: 32, 32, 256; BPE: 32, 32, 512).
   --only: a comma-separated subset of uniql (the perplexity tables of UniQL), lsaq (the
   LSAQ table), speed (timings: the whole-model sort, ridge leverage vs SVD-based leverage;
   run these under the exclusive CPU lock), quant (RTN vs RTN + clip vs GPTQ vs Hadamard + GPTQ
   at int4, 0 / 15 / 25 / 35 % pruned), preset (the official preset end to end vs uniql.h's
   defaults, eval_preset); default uniql, lsaq, speed.
   --group-transposed (the quant table only): the group of the transposed o/down/out_proj alone
   (uniql_model_quant_options.group_transposed); default: --group. --asym (the quant table
   only): Q4Z, a scale and a zero point per group, in every row (uniql_model_quant_options.asymmetric).
   --damp D (the quant table's GPTQ rows): uniql_model_quant_options.damp, the fraction of the
   mean Hessian diagonal added to it (default 0.01). --methods LIST: which quant rows to run,
   of rtn, clip, gptq, hadamard (hadamard = Hadamard + GPTQ); default all four.
   --threads: a thread pool (tools/uq_threads.h) for calibration, sorting, quantization and
   perplexity; results are identical for every thread count (uniql.h API 2b).
   Prints markdown tables; every number is measured in this run. */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "../tools/cli.h"
#include "../tools/uq_threads.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu(void) { return (double)clock() / CLOCKS_PER_SEC; }   /* process CPU time, all threads */

static int *read_bytes(const char *path, size_t *n)
{
    void *data;
    size_t size, i;
    int *t;
    uniql_error e;
    if (uniql_read_file(path, NULL, &data, &size, &e) != UNIQL_OK) { fprintf(stderr, "%s\n", e.message); return NULL; }
    t = (int *)malloc(sizeof(int) * (size ? size : 1));
    for (i = 0; i < size; i++) t[i] = ((const unsigned char *)data)[i];
    uniql_free_buffer(data, NULL);
    *n = size;
    return t;
}

/* a little-endian uint16 token stream */
static int *read_u16(const char *path, size_t *n)
{
    void *data;
    size_t size, i;
    int *t;
    uniql_error e;
    if (uniql_read_file(path, NULL, &data, &size, &e) != UNIQL_OK) { fprintf(stderr, "%s\n", e.message); return NULL; }
    if (size % 2) { fprintf(stderr, "%s: odd size %lu for a uint16 stream\n", path, (unsigned long)size); uniql_free_buffer(data, NULL); return NULL; }
    t = (int *)malloc(sizeof(int) * (size / 2 ? size / 2 : 1));
    for (i = 0; i < size / 2; i++) t[i] = ((const unsigned char *)data)[2 * i] | ((const unsigned char *)data)[2 * i + 1] << 8;
    uniql_free_buffer(data, NULL);
    *n = size / 2;
    return t;
}

/* per-model settings: the token streams and window of the model's kind */
static int WIN;                          /* window (and calibration sequence) length */
static int g_windows, g_calib_seqs, g_group = 128, g_act_order, g_group_tr, g_asym;
static double g_damp;                    /* --damp: GPTQ damping (0 = uniql.h's default 0.01) */
static unsigned g_methods = 15;          /* --methods: bit k = quant table row k (rtn, clip, gptq, hadamard) */
static int o_windows, o_calib_seqs, o_window;   /* command line; 0 = the kind's default */
static const int *g_test;
static size_t g_ntest;
static const uniql_parallel *g_par;
static uniql_state_options g_so;
static int g_do_uniql = 1, g_do_lsaq = 1, g_do_speed = 1, g_do_quant = 0, g_do_preset = 0;

static double ppl(const uniql_model *m)
{
    double p = -1;
    uniql_error e;
    if (uniql_perplexity_ex(m, g_test, g_ntest, WIN, g_windows, &g_so, &p, NULL, NULL, &e) != UNIQL_OK) {
        fprintf(stderr, "perplexity: %s\n", e.message);
        return -1;
    }
    return p;
}

static void die_if(uniql_result r, const char *what, const uniql_error *e)
{
    if (r != UNIQL_OK) {
        fprintf(stderr, "%s: %s (%s)\n", what, uniql_result_string(r), e ? e->message : "");
        exit(1);
    }
}

/* int4 everywhere (embeddings int8), then prune by views at the kept sizes (NULL: none) */
static double ppl_q4_pruned(const uniql_model *sorted, const uniql_kept *kept, uint64_t *bytes)
{
    uniql_model *q, *p = NULL;
    uniql_model_quant_options o;
    uniql_error e;
    double v;
    memset(&o, 0, sizeof o);
    o.group = g_group;
    o.embed_bits = 8;
    o.parallel = g_par;
    die_if(uniql_model_quantize(sorted, NULL, &o, &q, &e), "quantize", &e);
    if (kept) die_if(uniql_model_prune(q, kept, 0, NULL, &p, &e), "prune", &e);
    v = ppl(p ? p : q);
    if (bytes) *bytes = uniql_model_bytes(p ? p : q);
    uniql_model_free(p);
    uniql_model_free(q);
    return v;
}

static uint64_t fp16_bytes(const uniql_model *m)
{
    /* every weight at 2 bytes: what the model's fp32-held bytes are, halved */
    return uniql_model_bytes(m) / 2;
}

/* SVD-based ridge leverage (the decomposition-based alternative the paper's speed-up is
   measured against): C = U S V^T, leverage_i = sum_j U_ij^2 s_j / (s_j + lambda) */
static double svd_leverage_time(int d, const double *C, double *lev)
{
    double *U = (double *)malloc(sizeof(double) * (size_t)d * d), *S = (double *)malloc(sizeof(double) * (size_t)d), t0 = now();
    int i, j;
    if (uniql_svd_f64(d, d, C, (size_t)d, S, U, (size_t)d, NULL, 0, NULL, NULL) != UNIQL_OK) fprintf(stderr, "svd failed\n");
    for (i = 0; i < d; i++) {
        double s = 0;
        for (j = 0; j < d; j++) s += U[(size_t)i * d + j] * U[(size_t)i * d + j] * S[j] / (S[j] + UNIQL_RIDGE_LAMBDA_DEFAULT);
        lev[i] = s;
    }
    t0 = now() - t0;
    free(U); free(S);
    return t0;
}



static void eval_uniql(const uniql_model *m, const uniql_calib *cb, const double *imp_bi)
{
    uniql_model *sorted, *sq, *rnd;
    uniql_sort_options so;
    uniql_error e;
    const uniql_config *c = &m->config;
    double params[UNIQL_MAX_LAYERS], rates[UNIQL_MAX_LAYERS];
    uniql_kept kept[3][UNIQL_MAX_LAYERS], kept_flat[UNIQL_MAX_LAYERS];
    static const double R[3] = { 0.15, 0.25, 0.35 };
    double t_sort, t_rnd, p_fp, p_orig, p_q4, p_sorted[3], p_random[3], p_fpp[3], p_sq[2], p_qa[2], p_flat;
    uint64_t b_fp16, b_q4, b_pr[3];
    int l, k, L = c->n_layers;
    memset(&so, 0, sizeof so);
    so.layout = UNIQL_LAYOUT_PRUNABLE;
    so.parallel = g_par;
    t_sort = now();
    die_if(uniql_sort_model(m, cb, &so, &sorted, &e), "sort", &e);
    t_sort = now() - t_sort;
    so.vo_split = UNIQL_VO_SPLIT_SQRT;
    die_if(uniql_sort_model(m, cb, &so, &sq, &e), "sort sqrt", &e);
    so.vo_split = UNIQL_VO_SPLIT_QA;
    so.order = UNIQL_ORDER_RANDOM;
    so.seed = 1234;
    t_rnd = now();
    die_if(uniql_sort_model(m, NULL, &so, &rnd, &e), "sort random", &e);
    t_rnd = now() - t_rnd;
    for (l = 0; l < L; l++) params[l] = (double)uniql_prunable_params(c, l, NULL);
    for (k = 0; k < 3; k++) {
        die_if(uniql_layer_rates(L, imp_bi, params, R[k], 0, 0, rates), "rates", NULL);
        die_if(uniql_kept_from_rates(c, rates, NULL, kept[k]), "kept", NULL);
        printf("block-influence rates at %.0f%%:", 100 * R[k]);
        for (l = 0; l < L; l++) printf(" %.3f", rates[l]);
        printf("\n");
    }
    /* the same 25 % in every layer (no SPEC 1.3 allocation), for comparison */
    for (l = 0; l < L; l++) rates[l] = R[1];
    die_if(uniql_kept_from_rates(c, rates, NULL, kept_flat), "kept", NULL);
    printf("sorting %.2f s (random order: %.2f s)\n\n", t_sort, t_rnd);   /* timed again under --only speed */
    fflush(stdout);
    p_fp = ppl(m);
    b_fp16 = fp16_bytes(m);
    p_orig = ppl_q4_pruned(m, NULL, NULL);
    p_q4 = ppl_q4_pruned(sorted, NULL, &b_q4);
    for (k = 0; k < 3; k++) {
        uniql_model *p;
        p_sorted[k] = ppl_q4_pruned(sorted, kept[k], &b_pr[k]);
        p_random[k] = ppl_q4_pruned(rnd, kept[k], NULL);
        die_if(uniql_model_prune(sorted, kept[k], 0, NULL, &p, &e), "prune", &e);
        p_fpp[k] = ppl(p);
        uniql_model_free(p);
    }
    p_flat = ppl_q4_pruned(sorted, kept_flat, NULL);
    p_qa[0] = p_q4;
    p_sq[0] = ppl_q4_pruned(sq, NULL, NULL);
    p_qa[1] = p_sorted[1];
    p_sq[1] = ppl_q4_pruned(sq, kept[1], NULL);
    printf("| configuration (int4 = group %d, embeddings int8) | perplexity | vs FP | weight bytes | vs fp16 |\n", g_group);
    printf("|---|---|---|---|---|\n");
    printf("| FP (fp32 compute) | %.4f | - | %llu (fp16) | 1.00x |\n", p_fp, (unsigned long long)b_fp16);
    printf("| int4, original weights (not sorted) | %.4f | %+.1f%% | | |\n", p_orig, 100 * (p_orig / p_fp - 1));
    printf("| int4, sorted, 0%% pruned | %.4f | %+.1f%% | %llu | %.2fx |\n", p_q4, 100 * (p_q4 / p_fp - 1), (unsigned long long)b_q4,
           (double)b_fp16 / (double)b_q4);
    for (k = 0; k < 3; k++)
        printf("| int4 + %.0f%% pruned, sorted | %.4f | %+.1f%% | %llu | %.2fx |\n", 100 * R[k], p_sorted[k], 100 * (p_sorted[k] / p_fp - 1),
               (unsigned long long)b_pr[k], (double)b_fp16 / (double)b_pr[k]);
    for (k = 0; k < 3; k++)
        printf("| int4 + %.0f%% pruned, random channel order | %.4f | %+.1f%% | same | same |\n", 100 * R[k], p_random[k],
               100 * (p_random[k] / p_fp - 1));
    for (k = 0; k < 3; k++)
        printf("| FP + %.0f%% pruned, sorted (no int4) | %.4f | %+.1f%% | | |\n", 100 * R[k], p_fpp[k], 100 * (p_fpp[k] / p_fp - 1));
    printf("| int4 + 25%% pruned, sorted, the same rate in every layer | %.4f | %+.1f%% | | |\n", p_flat, 100 * (p_flat / p_fp - 1));
    printf("| int4, V/O QA-SVD split (0%% / 25%%) | %.4f / %.4f | %+.1f%% / %+.1f%% | | |\n", p_qa[0], p_qa[1], 100 * (p_qa[0] / p_fp - 1),
           100 * (p_qa[1] / p_fp - 1));
    printf("| int4, V/O plain sqrt split (0%% / 25%%) | %.4f / %.4f | %+.1f%% / %+.1f%% | | |\n", p_sq[0], p_sq[1], 100 * (p_sq[0] / p_fp - 1),
           100 * (p_sq[1] / p_fp - 1));
    fflush(stdout);
    uniql_model_free(rnd);
    uniql_model_free(sq);
    uniql_model_free(sorted);
}

/* timings: the structured sort of the whole model, and the sorting scores of the largest
   MLP / Mamba channel correlation by ridge leverage vs an SVD-based leverage */
static void eval_sort_speed(const uniql_model *m, const uniql_calib *cb)
{
    int l, k, L = m->config.n_layers;
    {
        uniql_model *sorted;
        uniql_sort_options so;
        uniql_error e;
        double t = now();
        memset(&so, 0, sizeof so);
        so.layout = UNIQL_LAYOUT_PRUNABLE;
        so.parallel = g_par;
        die_if(uniql_sort_model(m, cb, &so, &sorted, &e), "sort", &e);
        printf("\nStructured sort of the whole model (uniql_sort_model): %.2f s\n", now() - t);
        uniql_model_free(sorted);
    }
    {
        int best = -1, d = 0, st = 0;
        for (l = 0; l < L; l++) {
            int d1 = uniql_calib_corr_dim(cb, l, UNIQL_STAT_MLP_DOWN_IN, 0), d2 = uniql_calib_corr_dim(cb, l, UNIQL_STAT_MAMBA_OUT_IN, 0);
            if (d1 > d) { d = d1; best = l; st = UNIQL_STAT_MLP_DOWN_IN; }
            if (d2 > d) { d = d2; best = l; st = UNIQL_STAT_MAMBA_OUT_IN; }
        }
        if (best >= 0) {
            double *C = (double *)malloc(sizeof(double) * (size_t)d * d), *a = (double *)malloc(sizeof(double) * (size_t)d),
                   *b = (double *)calloc((size_t)d, sizeof(double)), t_r = 0, t_s, mx = 0;
            int *pa = (int *)malloc(sizeof(int) * (size_t)d), *pb = (int *)malloc(sizeof(int) * (size_t)d), same = 0, rep;
            uniql_calib_corr(cb, best, (uniql_calib_stat)st, 0, C, (size_t)d);
            for (rep = 0; rep < 5; rep++) {
                double t0 = now();
                uniql_ridge_leverage_f64(d, C, (size_t)d, UNIQL_RIDGE_LAMBDA_DEFAULT, a, NULL);
                uniql_argsort_desc_f64(d, a, pa, NULL);
                t0 = now() - t0;
                if (rep == 0 || t0 < t_r) t_r = t0;
            }
            t_s = svd_leverage_time(d, C, b);
            uniql_argsort_desc_f64(d, b, pb, NULL);
            for (k = 0; k < d; k++) {
                if (fabs(a[k] - b[k]) > mx) mx = fabs(a[k] - b[k]);
                same += pa[k] == pb[k];
            }
            printf("\nSorting scores for layer %d (d = %d): ridge leverage (Cholesky) %.2f ms, SVD-based leverage %.2f ms, "
                   "speed-up %.1fx; max |score difference| %.2g, %d/%d positions of the order identical\n",
                   best, d, 1e3 * t_r, 1e3 * t_s, t_s / t_r, mx, same, d);
            free(C); free(a); free(b); free(pa); free(pb);
        }
    }
    fflush(stdout);
}

static void eval_lsaq(const uniql_model *m, const double *imp_bi, const double *imp_lsaq)
{
    uniql_error e;
    const uniql_config *c = &m->config;
    int l, k, L = c->n_layers;
    /* LSAQ: budgets between all-4-bit and all-8-bit (full model, original weights) */
    {
        static const int widths[2] = { 4, 8 };
        uint64_t *lb = (uint64_t *)malloc(sizeof(uint64_t) * 2 * (size_t)L), lo4 = 0, hi8 = 0, fixed, total;
        double imp_uni[UNIQL_MAX_LAYERS], imp_rnd[UNIQL_MAX_LAYERS];
        const double *imps[4];
        static const char *const names[4] = { "LSAQ (Jaccard)", "uniform (index order)", "block influence", "random" };
        static const double F[3] = { 0.25, 0.5, 0.75 };
        int bits[UNIQL_MAX_LAYERS], mth;
        uniql_rng rng;
        uniql_model_quant_options o;
        uniql_model *q;
        uint64_t emb;
        memset(&o, 0, sizeof o);
        o.group = g_group;
        o.embed_bits = 8;
        o.parallel = g_par;
        uniql_rng_seed(&rng, 99);
        for (l = 0; l < L; l++) {
            lb[2 * l] = uniql_layer_bytes(c, l, NULL, 4, g_group, 0, UNIQL_LAYOUT_DENSE);
            lb[2 * l + 1] = uniql_layer_bytes(c, l, NULL, 8, g_group, 0, UNIQL_LAYOUT_DENSE);
            lo4 += lb[2 * l];
            hi8 += lb[2 * l + 1];
            imp_uni[l] = (double)(L - l);
            imp_rnd[l] = uniql_rng_uniform(&rng);
        }
        /* fixed part: what the all-4-bit quantized model holds beyond its layers */
        for (l = 0; l < L; l++) bits[l] = 4;
        die_if(uniql_model_quantize(m, bits, &o, &q, &e), "quantize", &e);
        emb = uniql_model_bytes(q);
        uniql_model_free(q);
        fixed = emb > lo4 ? emb - lo4 : 0;
        imps[0] = imp_lsaq; imps[1] = imp_uni; imps[2] = imp_bi; imps[3] = imp_rnd;
        printf("\nLSAQ: budgets between all-4-bit (%llu B) and all-8-bit (%llu B) weights, int4 group %d / int8 per row\n\n",
               (unsigned long long)(lo4 + fixed), (unsigned long long)(hi8 + fixed), g_group);
        printf("| budget | method | 8-bit layers | bytes | perplexity |\n|---|---|---|---|---|\n");
        for (k = 0; k < 2; k++) {
            for (l = 0; l < L; l++) bits[l] = k ? 8 : 4;
            die_if(uniql_model_quantize(m, bits, &o, &q, &e), "quantize", &e);
            printf("| %s | - | %s | %llu | %.4f |\n", k ? "all 8-bit" : "all 4-bit", k ? "all" : "-", (unsigned long long)uniql_model_bytes(q), ppl(q));
            uniql_model_free(q);
        }
        for (k = 0; k < 3; k++) {
            uint64_t budget = fixed + lo4 + (uint64_t)(F[k] * (double)(hi8 - lo4));
            for (mth = 0; mth < 4; mth++) {
                char up[128];
                int n = 0;
                double p;
                die_if(uniql_lsaq_plan(L, imps[mth], 2, widths, lb, fixed, budget, bits, &total), "lsaq_plan", NULL);
                up[0] = 0;
                for (l = 0; l < L; l++)
                    if (bits[l] == 8 && n < 120) n += snprintf(up + n, sizeof up - (size_t)n, "%s%d", n ? "," : "", l);
                die_if(uniql_model_quantize(m, bits, &o, &q, &e), "quantize", &e);
                p = ppl(q);
                printf("| %.0f%% | %s | %s | %llu | %.4f |\n", 100 * F[k], names[mth], n ? up : "-", (unsigned long long)uniql_model_bytes(q), p);
                fflush(stdout);
                uniql_model_free(q);
            }
        }
        free(lb);
    }
}

/* the quantizers (issue 14): one quantized model per method, on the sorted (prunable) model,
   then pruned by views at the block-influence kept sizes: RTN, RTN + clip search, GPTQ, and
   GPTQ after the Hadamard rotation of the residual stream. int4 group g_group, embeddings
   int8 (as the UniQL table), uniql.h scale rule. GPTQ runs on the calibration stream (the same
   tokens as the sorting statistics, sequences of WIN). The pruned rows of a GPTQ model are
   prefixes of matrices GPTQ made for the full width: what they show is how much of GPTQ's
   gain survives the cut. */
static void eval_quant(const uniql_model *m, const uniql_calib *cb, const double *imp_bi, const int *calib, size_t ncal)
{
    static const double R[3] = { 0.15, 0.25, 0.35 };
    static const char *const name[4] = { "RTN", "RTN + clip search", "GPTQ", "Hadamard + GPTQ" };
    const uniql_config *c = &m->config;
    uniql_model *sorted, *rot = NULL, *pr;
    uniql_sort_options so;
    uniql_error e;
    double params[UNIQL_MAX_LAYERS], rates[UNIQL_MAX_LAYERS], pp[4][4], p_fp[4], t_q[4], mb[4];
    uniql_kept kept[3][UNIQL_MAX_LAYERS];
    int l, k, meth, L = c->n_layers;
    memset(&so, 0, sizeof so);
    so.layout = UNIQL_LAYOUT_PRUNABLE;
    so.parallel = g_par;
    die_if(uniql_sort_model(m, cb, &so, &sorted, &e), "sort", &e);
    for (l = 0; l < L; l++) params[l] = (double)uniql_prunable_params(c, l, NULL);
    for (k = 0; k < 3; k++) {
        die_if(uniql_layer_rates(L, imp_bi, params, R[k], 0, 0, rates), "rates", NULL);
        die_if(uniql_kept_from_rates(c, rates, NULL, kept[k]), "kept", NULL);
    }
    p_fp[0] = ppl(sorted);
    for (k = 0; k < 3; k++) {
        die_if(uniql_model_prune(sorted, kept[k], 0, NULL, &pr, &e), "prune", &e);
        p_fp[k + 1] = ppl(pr);
        uniql_model_free(pr);
    }
    for (meth = 0; meth < 4; meth++) {
        uniql_model_quant_options o;
        uniql_model *q;
        double t = now();
        if (!(g_methods >> meth & 1)) { for (k = 0; k < 4; k++) pp[meth][k] = -1; continue; }
        memset(&o, 0, sizeof o);
        o.group = g_group;
        o.embed_bits = 8;
        o.parallel = g_par;
        o.group_transposed = g_group_tr;
        o.asymmetric = g_asym;
        o.clip = meth == 1;
        if (meth >= 2) {
            o.method = UNIQL_QUANT_GPTQ;
            o.calib_tokens = calib;
            o.n_calib_tokens = ncal;
            o.seq_len = WIN;
            o.act_order = g_act_order;
            o.damp = g_damp;
        }
        if (meth == 3) {
            uniql_result r = uniql_model_rotate(sorted, NULL, &rot, &e);
            if (r == UNIQL_ERR_UNSUPPORTED) {   /* hidden size without a Hadamard construction */
                printf("(Hadamard: %s)\n", e.message);
                for (k = 0; k < 4; k++) pp[meth][k] = -1;
                t_q[meth] = 0;
                continue;
            }
            die_if(r, "rotate", &e);
        }
        die_if(uniql_model_quantize(meth == 3 ? rot : sorted, NULL, &o, &q, &e), "quantize", &e);
        t_q[meth] = now() - t;
        mb[meth] = (double)uniql_model_bytes(q) / 1e6;
        pp[meth][0] = ppl(q);
        for (k = 0; k < 3; k++) {
            die_if(uniql_model_prune(q, kept[k], 0, NULL, &pr, &e), "prune", &e);
            pp[meth][k + 1] = ppl(pr);
            uniql_model_free(pr);
        }
        uniql_model_free(q);
        printf("%s: quantized in %.1f s, %.3f MB, perplexity %.4f / %.4f / %.4f / %.4f at 0 / 15 / 25 / 35 %%\n", name[meth], t_q[meth],
               mb[meth], pp[meth][0], pp[meth][1], pp[meth][2], pp[meth][3]);
        fflush(stdout);
    }
    if (g_group_tr) printf("\n(transposed o/down/out_proj: group %d)", g_group_tr);
    printf("\n| quantizer (int4 g%d, embeddings int8; one model per row, pruned by views) | 0%% | 15%% | 25%% | 35%% |\n", g_group);
    printf("|---|---|---|---|---|\n");
    printf("| FP, sorted (no quantization) | %.4f | %.4f | %.4f | %.4f |\n", p_fp[0], p_fp[1], p_fp[2], p_fp[3]);
    for (meth = 0; meth < 4; meth++) {
        if (pp[meth][0] < 0) continue;
        printf("| %s |", name[meth]);
        for (k = 0; k < 4; k++) printf(" %.4f (%+.2f%%) |", pp[meth][k], 100 * (pp[meth][k] / p_fp[k] - 1));
        printf("\n");
    }
    printf("(percentages: vs the FP sorted model pruned to the same kept sizes; %lu calibration tokens for GPTQ, damp %g%s%s)\n",
           (unsigned long)ncal, g_damp > 0 ? g_damp : 0.01, g_act_order ? ", act-order" : "", g_asym ? ", Q4Z (asymmetric)" : "");
    fflush(stdout);
    uniql_model_free(rot);
    uniql_model_free(sorted);
}

/* the official preset end to end (uniql_preset_fill: official sort options and q/k scores,
   last-token block influence, clamped softmax rates, 128 / 16 width units, Hadamard rotation,
   GPTQ with the official scale rule, 4-bit embedding and lm_head) next to uniql.h's defaults
   (default sort, mean block influence, water-filled rates, RTN, int8 embeddings), both on
   this calibration and at the global rates 0 / 15 / 25 / 35 %. Each pipeline's FP row is its
   own sorted model pruned to its own kept sizes (the official rates, clamped at 0.85 without
   redistribution, and its coarser widths keep other sizes than ours). */
static void eval_preset(const uniql_model *m, const uniql_calib *cb, const int *calib, size_t ncal)
{
    static const double R[3] = { 0.15, 0.25, 0.35 };
    static const char *const name[2] = { "uniql.h defaults", "official preset" };
    const uniql_config *c = &m->config;
    uniql_error e;
    double imp[UNIQL_MAX_LAYERS], rates[UNIQL_MAX_LAYERS], params[UNIQL_MAX_LAYERS], pf[2][4], pq[2][4], kf[2][3];
    int l, k, w, L = c->n_layers;
    for (l = 0; l < L; l++) params[l] = (double)uniql_prunable_params(c, l, NULL);
    for (w = 0; w < 2; w++) {
        uniql_preset p;
        uniql_model *s, *rot = NULL, *q, *pr;
        uniql_kept kept[3][UNIQL_MAX_LAYERS];
        double t = now();
        die_if(uniql_preset_fill(w ? UNIQL_PRESET_OFFICIAL : UNIQL_PRESET_UNIQLH, c, WIN, &p), "preset", NULL);
        p.sort.parallel = g_par;
        die_if(uniql_sort_model(m, cb, &p.sort, &s, &e), "sort", &e);
        die_if(uniql_calib_importance(cb, p.importance, imp), "importance", NULL);
        for (k = 0; k < 3; k++) {
            double kp = 0, tot = 0;
            if (p.rates_official) die_if(uniql_layer_rates_official(L, imp, R[k], 0, 0, rates), "rates", NULL);
            else die_if(uniql_layer_rates(L, imp, params, R[k], 0, 0, rates), "rates", NULL);
            die_if(uniql_kept_from_rates(c, rates, p.rates_official ? &p.units : NULL, kept[k]), "kept", NULL);
            for (l = 0; l < L; l++) {
                kp += (double)uniql_prunable_params(c, l, &kept[k][l]);
                tot += params[l];
            }
            kf[w][k] = tot > 0 ? 1 - kp / tot : 0;
        }
        pf[w][0] = ppl(s);
        for (k = 0; k < 3; k++) {
            die_if(uniql_model_prune(s, kept[k], 0, NULL, &pr, &e), "prune", &e);
            pf[w][k + 1] = ppl(pr);
            uniql_model_free(pr);
        }
        if (p.rotate) {
            uniql_result r = uniql_model_rotate(s, NULL, &rot, &e);
            if (r == UNIQL_ERR_UNSUPPORTED) printf("(Hadamard: %s; preset run without rotation)\n", e.message);
            else die_if(r, "rotate", &e);
        }
        p.quant.parallel = g_par;
        if (p.quant.method == UNIQL_QUANT_GPTQ) {
            p.quant.calib_tokens = calib;
            p.quant.n_calib_tokens = ncal;
            p.quant.seq_len = WIN;
        }
        die_if(uniql_model_quantize(rot ? rot : s, NULL, &p.quant, &q, &e), "quantize", &e);
        pq[w][0] = ppl(q);
        for (k = 0; k < 3; k++) {
            die_if(uniql_model_prune(q, kept[k], 0, NULL, &pr, &e), "prune", &e);
            pq[w][k + 1] = ppl(pr);
            uniql_model_free(pr);
        }
        printf("%s: %.1f s, FP %.4f / %.4f / %.4f / %.4f, quantized %.4f / %.4f / %.4f / %.4f at 0 / 15 / 25 / 35 %%"
               " (pruned parameter share %.1f / %.1f / %.1f %%)\n", name[w], now() - t, pf[w][0], pf[w][1], pf[w][2], pf[w][3],
               pq[w][0], pq[w][1], pq[w][2], pq[w][3], 100 * kf[w][0], 100 * kf[w][1], 100 * kf[w][2]);
        fflush(stdout);
        uniql_model_free(q);
        uniql_model_free(rot);
        uniql_model_free(s);
    }
    printf("\n| pipeline (global rate 0 / 15 / 25 / 35 %%) | 0%% | 15%% | 25%% | 35%% |\n|---|---|---|---|---|\n");
    for (w = 0; w < 2; w++) {
        printf("| %s, FP |", name[w]);
        for (k = 0; k < 4; k++) printf(" %.4f |", pf[w][k]);
        printf("\n| %s, quantized |", name[w]);
        for (k = 0; k < 4; k++) printf(" %.4f (%+.2f%%) |", pq[w][k], 100 * (pq[w][k] / pf[w][k] - 1));
        printf("\n");
    }
    printf("(pruned share of the prunable parameters, defaults / preset: %.1f / %.1f, %.1f / %.1f, %.1f / %.1f %%)\n",
           100 * kf[0][0], 100 * kf[1][0], 100 * kf[0][1], 100 * kf[1][1], 100 * kf[0][2], 100 * kf[1][2]);
    fflush(stdout);
}

static void eval_model(const char *dir, const int *calib, size_t ncalib)
{
    uniql_model *m;
    uniql_load_options lo;
    uniql_calib_options co;
    uniql_calib *cb;
    uniql_error e;
    const uniql_config *c;
    double imp_bi[UNIQL_MAX_LAYERS], imp_lsaq[UNIQL_MAX_LAYERS], t_cal;
    size_t ncal;
    int l, L;
    double t_all = now(), c_all = cpu();
    memset(&lo, 0, sizeof lo);
    lo.weights_f32 = 1;
    die_if(uniql_model_load_dir(dir, &lo, &m, &e), dir, &e);
    c = &m->config;
    L = c->n_layers;
    ncal = (size_t)g_calib_seqs * WIN;
    if (ncal > ncalib) ncal = ncalib;
    memset(&co, 0, sizeof co);
    co.seq_len = WIN;
    co.lsaq = g_do_lsaq;
    co.importance_only = !g_do_uniql && !g_do_speed && !g_do_quant && !g_do_preset;
    co.parallel = g_par;
    t_cal = now();
    die_if(uniql_calibrate(m, calib, ncal, &co, &cb, &e), "calibrate", &e);
    t_cal = now() - t_cal;
    die_if(uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, imp_bi), "importance", NULL);
    if (g_do_lsaq) die_if(uniql_calib_importance(cb, UNIQL_IMPORTANCE_LSAQ, imp_lsaq), "importance", NULL);
    printf("\n### %s\n\n", dir);
    printf("%d layers, hidden %d, vocabulary %d; calibration %lu tokens (%d x %d) in %.1f s; perplexity on %d windows of %d tokens\n\n",
           L, c->hidden_size, c->vocab_size, (unsigned long)ncal, (int)(ncal / (size_t)WIN), WIN, t_cal, g_windows, WIN);
    printf("block influence per layer:");
    for (l = 0; l < L; l++) printf(" %.3f", imp_bi[l]);
    if (g_do_lsaq) {
        printf("\nLSAQ (1 - top-10 Jaccard) per layer:");
        for (l = 0; l < L; l++) printf(" %.3f", imp_lsaq[l]);
    }
    printf("\n");
    fflush(stdout);
    if (g_do_uniql) eval_uniql(m, cb, imp_bi);
    if (g_do_speed) eval_sort_speed(m, cb);
    if (g_do_lsaq) eval_lsaq(m, imp_bi, imp_lsaq);
    if (g_do_quant) eval_quant(m, cb, imp_bi, calib, ncal);
    if (g_do_preset) eval_preset(m, cb, calib, ncal);
    printf("\n(%s: %.0f s wall, %.0f s CPU for the whole model)\n", dir, now() - t_all, cpu() - c_all);
    uniql_calib_free(cb);
    uniql_model_free(m);
}

static int has_tokenizer(const char *dir)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

int main(int argc, char **argv)
{
    static const char *const defaults[5] = { "models/llama-bpe-21m", "models/nemotronh-bpe-17m", "models/llama-bytes-6m",
                                             "models/mamba2-bytes-6m", "models/nemotronh-bytes-6m" };
    const char *dirs[16];
    const char *calib_path = "data/calib.txt", *test_path = "data/test.txt";
    const char *calib_ids = "tests/data/bpe/calib.u16", *test_ids = "tests/data/bpe/test.u16";
    int nd = 0, i, threads = 1, kind;
    uq_pool *pool = NULL;
    uniql_parallel par;
    cli_prog = "bench_uniql";
    for (i = 1; i < argc; i++) {
        int ok = 1;
        if (!strcmp(argv[i], "--windows") && i + 1 < argc) { ok = cli_int(argv[i], argv[i + 1], 1, 1 << 20, &o_windows); i++; }
        else if (!strcmp(argv[i], "--calib-seqs") && i + 1 < argc) { ok = cli_int(argv[i], argv[i + 1], 1, 1 << 20, &o_calib_seqs); i++; }
        else if (!strcmp(argv[i], "--window") && i + 1 < argc) { ok = cli_int(argv[i], argv[i + 1], 16, 1 << 16, &o_window); i++; }
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) { ok = cli_int(argv[i], argv[i + 1], 1, UQ_POOL_MAX, &threads); i++; }
        else if (!strcmp(argv[i], "--act-order")) g_act_order = 1;   /* GPTQ rows of --only quant */
        else if (!strcmp(argv[i], "--asym")) g_asym = 1;             /* every row of --only quant: Q4Z */
        else if (!strcmp(argv[i], "--group") && i + 1 < argc) {
            ok = cli_group(argv[i], argv[i + 1], &g_group);
            i++;
        }
        else if (!strcmp(argv[i], "--group-transposed") && i + 1 < argc) {   /* --only quant: o/down/out_proj group */
            ok = cli_group(argv[i], argv[i + 1], &g_group_tr);
            i++;
        }
        else if (!strcmp(argv[i], "--damp") && i + 1 < argc) {   /* --only quant: GPTQ damping, fraction of mean diag(H) */
            ok = cli_double(argv[i], argv[i + 1], 0, 10, CLI_OPEN_LO, &g_damp);
            i++;
        }
        else if (!strcmp(argv[i], "--methods") && i + 1 < argc) {   /* --only quant: which rows */
            const char *v = argv[++i];
            g_methods = (strstr(v, "rtn") ? 1u : 0u) | (strstr(v, "clip") ? 2u : 0u) | (strstr(v, "gptq") ? 4u : 0u) |
                        (strstr(v, "hadamard") ? 8u : 0u);
            if (strspn(v, "rtnclipgqhadm,") != strlen(v) || !g_methods) ok = cli_bad(argv[i - 1], v, "a list of rtn, clip, gptq, hadamard");
        }
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            const char *v = argv[++i];
            g_do_uniql = strstr(v, "uniql") != NULL;
            g_do_lsaq = strstr(v, "lsaq") != NULL;
            g_do_speed = strstr(v, "speed") != NULL;
            g_do_quant = strstr(v, "quant") != NULL;
            g_do_preset = strstr(v, "preset") != NULL;
            if (strspn(v, "uniqlsapdequantr,") != strlen(v) || !(g_do_uniql || g_do_lsaq || g_do_speed || g_do_quant || g_do_preset))
                ok = cli_bad("--only", v, "must be a comma-separated list of uniql, lsaq, speed, quant, preset");
        }
        else if (!strcmp(argv[i], "--calib") && i + 1 < argc) calib_path = argv[++i];
        else if (!strcmp(argv[i], "--test") && i + 1 < argc) test_path = argv[++i];
        else if (!strcmp(argv[i], "--calib-ids") && i + 1 < argc) calib_ids = argv[++i];
        else if (!strcmp(argv[i], "--test-ids") && i + 1 < argc) test_ids = argv[++i];
        else if (argv[i][0] == '-') {
            printf("usage: %s [--windows W] [--calib-seqs S] [--window N] [--group G] [--group-transposed G] [--damp D] [--methods LIST]\n"
                   "          [--threads T] [--act-order] [--asym]\n"
                   "          [--only uniql,lsaq,speed,quant,preset]\n"
                   "          [--calib F] [--test F] [--calib-ids F] [--test-ids F] [model_dir ...]\n", argv[0]);
            return 2;
        }
        else if (nd < 16) dirs[nd++] = argv[i];
        if (!ok) return 2;
    }
    if (!nd) for (i = 0; i < 5; i++) dirs[nd++] = defaults[i];
    if (threads > 1) {
        pool = uq_pool_create(threads);
        if (!pool) { fprintf(stderr, "bench_uniql: no thread pool\n"); return 1; }
        par = uq_pool_parallel(pool);
        g_par = &par;
    }
    memset(&g_so, 0, sizeof g_so);
    g_so.parallel = g_par;
    printf("# bench_uniql: int4 group %d, %d thread%s; per model: calibration and held-out streams below\n", g_group, threads,
           threads > 1 ? "s" : "");
    for (i = 0; i < nd; i++) {
        size_t ncalib;
        int *calib, *test;
        kind = has_tokenizer(dirs[i]);     /* 1: BPE token streams, 0: bytes */
        calib = kind ? read_u16(calib_ids, &ncalib) : read_bytes(calib_path, &ncalib);
        test = kind ? read_u16(test_ids, &g_ntest) : read_bytes(test_path, &g_ntest);
        if (!calib || !test) return 1;
        WIN = o_window ? o_window : kind ? 512 : 256;
        g_calib_seqs = o_calib_seqs ? o_calib_seqs : 32;
        g_windows = o_windows ? o_windows : 32;
        if (g_ntest < (size_t)g_windows * WIN) g_windows = (int)(g_ntest / (size_t)WIN);
        g_test = test;
        printf("\n## %s: %s; calibration %s, held-out %s\n", dirs[i], kind ? "BPE tokens (tokenizer.json)" : "byte tokens",
               kind ? calib_ids : calib_path, kind ? test_ids : test_path);
        eval_model(dirs[i], calib, ncalib);
        free(calib);
        free(test);
    }
    if (pool) uq_pool_destroy(pool);
    return 0;
}
