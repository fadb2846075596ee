/* bench_quant_diag.c - where int4 costs perplexity on a model (issue 14 diagnosis).
   Public API only. Loads one model (fp32 weights), quantizes it once per method and then
   evaluates HYBRID models: the fp32 model with only one class of matrices taken from the
   quantized model (views, nothing requantized), so the perplexity change of each class is
   seen on its own:
     qk    q/k_proj of every layer          v     v_proj          o     o_proj
     gu    gate/up_proj                     down  down_proj
     emb   the embedding and lm_head (one matrix when tied)
     lN    every matrix of layer N only
   Each perplexity is measured with exact fp32 activations (UNIQL_ACT_F32) and, for the
   whole quantized models, also with the runtime default int8 activations (UNIQL_ACT_I8).
   --stats prints, per matrix, the relative weight error, the activation-weighted output
   error sum_ij E_ij^2 E[x_j^2] / sum_ij W_ij^2 E[x_j^2] (diagonal approximation of the
   layer's output error) and the input's channel statistics (largest / median channel RMS),
   from an observer on the calibration stream.

   usage: bench_quant_diag [--windows W] [--calib-seqs S] [--group G] [--group-transposed G]
                           [--damp D] [--gptq] [--q8] [--asym]
                           [--sorted [--dense] [--no-vo]] [--rotate]
                           [--layers] [--stats] [--only-whole] model_dir
   BPE models read tests/data/bpe/{calib,test}.u16 (windows of 512), byte models
   data/{calib,test}.txt (windows of 256). */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "../tools/cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int WIN, g_windows = 8, g_calib_seqs = 16, g_group = 128, g_group_tr;
static const int *g_test;
static size_t g_ntest;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die_if(uniql_result r, const char *what, const uniql_error *e)
{
    if (r != UNIQL_OK) {
        fprintf(stderr, "%s: %s (%s)\n", what, uniql_result_string(r), e ? e->message : "");
        exit(1);
    }
}

static int *read_stream(const char *path, int u16, size_t *n)
{
    void *data;
    size_t size, i;
    int *t;
    uniql_error e;
    if (uniql_read_file(path, NULL, &data, &size, &e) != UNIQL_OK) { fprintf(stderr, "%s\n", e.message); return NULL; }
    *n = u16 ? size / 2 : size;
    t = (int *)malloc(sizeof(int) * (*n ? *n : 1));
    for (i = 0; i < *n; i++)
        t[i] = u16 ? ((const unsigned char *)data)[2 * i] | ((const unsigned char *)data)[2 * i + 1] << 8
                   : ((const unsigned char *)data)[i];
    uniql_free_buffer(data, NULL);
    return t;
}

static double ppl(const uniql_model *m, uniql_activations act)
{
    uniql_state_options so;
    uniql_error e;
    double p = -1;
    memset(&so, 0, sizeof so);
    so.activations = act;
    die_if(uniql_perplexity_ex(m, g_test, g_ntest, WIN, g_windows, &so, &p, NULL, NULL, &e), "perplexity", &e);
    return p;
}

enum { C_QK = 1, C_V = 2, C_O = 4, C_GU = 8, C_DOWN = 16, C_EMB = 32, C_MAMBA = 64, C_ALL = 127 };

/* fp32 model fp with the matrices of `cls` in the layers of `lmask` (bit l) from q */
static uniql_model *hybrid(const uniql_model *fp, const uniql_model *q, int cls, unsigned long long lmask)
{
    uniql_model *h = (uniql_model *)malloc(sizeof *h);
    int l, L = fp->config.n_layers;
    *h = *fp;
    h->storage = NULL;
    h->layers = (uniql_layer *)malloc(sizeof(uniql_layer) * (size_t)L);
    memcpy(h->layers, fp->layers, sizeof(uniql_layer) * (size_t)L);
    if (cls & C_EMB) { h->embed = q->embed; h->lm_head = q->lm_head; }
    for (l = 0; l < L; l++) {
        uniql_layer *d = &h->layers[l];
        const uniql_layer *s = &q->layers[l];
        if (!(lmask >> l & 1)) continue;
        if (cls & C_QK) { d->attn.q = s->attn.q; d->attn.k = s->attn.k; }
        if (cls & C_V) d->attn.v = s->attn.v;
        if (cls & C_O) d->attn.o = s->attn.o;
        if (cls & C_GU) { d->mlp.gate = s->mlp.gate; d->mlp.up = s->mlp.up; }
        if (cls & C_DOWN) d->mlp.down = s->mlp.down;
        if (cls & C_MAMBA) {
            d->mamba.in_z = s->mamba.in_z; d->mamba.in_x = s->mamba.in_x; d->mamba.in_B = s->mamba.in_B;
            d->mamba.in_C = s->mamba.in_C; d->mamba.in_dt = s->mamba.in_dt; d->mamba.out = s->mamba.out;
        }
    }
    return h;
}

static void hybrid_free(uniql_model *h)
{
    if (!h) return;
    free(h->layers);
    free(h);
}

/* ---- activation statistics: per-channel sum of squares at the matrix inputs ---- */
enum { S_ATTN_IN, S_O_IN, S_MLP_IN, S_DOWN_IN, S_FINAL, S_N };
typedef struct {
    int L;
    int width[S_N];
    double *ss[S_N][64];   /* [site][layer] per channel sum x^2 */
    double *mx[S_N][64];   /* per channel max |x| */
    long long n[S_N][64];
} act_stats;

static void obs_fn(void *user, int layer, uniql_site site, int head, const float *x, int n, int width, size_t ld)
{
    act_stats *A = (act_stats *)user;
    int s = site == UNIQL_SITE_ATTN_IN ? S_ATTN_IN : site == UNIQL_SITE_ATTN_O_IN ? S_O_IN
            : site == UNIQL_SITE_MLP_IN ? S_MLP_IN : site == UNIQL_SITE_MLP_DOWN_IN ? S_DOWN_IN
            : site == UNIQL_SITE_FINAL_NORM ? S_FINAL : -1;
    int t, j;
    (void)head;
    if (s < 0) return;
    if (s == S_FINAL) layer = 0;
    if (!A->ss[s][layer]) {
        A->width[s] = width;
        A->ss[s][layer] = (double *)calloc((size_t)width, sizeof(double));
        A->mx[s][layer] = (double *)calloc((size_t)width, sizeof(double));
    }
    for (t = 0; t < n; t++)
        for (j = 0; j < width; j++) {
            double v = x[(size_t)t * ld + j];
            A->ss[s][layer][j] += v * v;
            if (fabs(v) > A->mx[s][layer][j]) A->mx[s][layer][j] = fabs(v);
        }
    A->n[s][layer] += n;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* largest / median channel RMS, largest max|x| / median channel RMS */
static void chan_summary(const act_stats *A, int s, int l, double *top_med, double *max_med, int *argtop)
{
    int w = A->width[s], j, best = 0;
    double *r = (double *)malloc(sizeof(double) * (size_t)w), med, top = 0, mx = 0;
    for (j = 0; j < w; j++) {
        r[j] = sqrt(A->ss[s][l][j] / (double)A->n[s][l]);
        if (r[j] > top) { top = r[j]; best = j; }
        if (A->mx[s][l][j] > mx) mx = A->mx[s][l][j];
    }
    qsort(r, (size_t)w, sizeof(double), cmp_d);
    med = r[w / 2];
    *top_med = top / med;
    *max_med = mx / med;
    *argtop = best;
    free(r);
}

/* relative weight error and activation-weighted output error of W (fp) vs Q, plus the
   largest group max/rms of W along storage rows */
static void mat_err(const uniql_matrix *W, const uniql_matrix *Q, const double *ss, long long n, double *werr, double *oerr)
{
    int R = W->rows, C = W->cols, i, j;
    float *a = (float *)malloc(sizeof(float) * (size_t)R * (size_t)C);
    float *b = (float *)malloc(sizeof(float) * (size_t)R * (size_t)C);
    double e2 = 0, w2 = 0, oe = 0, ow = 0;
    uniql_dequantize(W, a, (size_t)C);
    uniql_dequantize(Q, b, (size_t)C);
    for (i = 0; i < R; i++)
        for (j = 0; j < C; j++) {
            double w = a[(size_t)i * C + j], e = w - b[(size_t)i * C + j], x2 = ss ? ss[j] / (double)n : 1;
            e2 += e * e; w2 += w * w; oe += e * e * x2; ow += w * w * x2;
        }
    *werr = sqrt(e2 / w2);
    *oerr = sqrt(oe / ow);
    free(a);
    free(b);
}

static void print_stats(const uniql_model *fp, const uniql_model *q, const char *qname, const int *calib, size_t ncal)
{
    act_stats *A = (act_stats *)calloc(1, sizeof *A);
    uniql_observer obs;
    uniql_state *st;
    size_t off;
    int l, L = fp->config.n_layers, s, arg;
    double tm, mm, we, oe;
    static const char *const sname[S_N] = { "attn_in", "o_in", "mlp_in", "down_in", "final_norm" };
    obs.fn = obs_fn;
    obs.user = A;
    die_if(uniql_state_create(fp, WIN, 64, NULL, &st), "state", NULL);
    for (off = 0; off + (size_t)WIN <= ncal; off += (size_t)WIN) {
        uniql_state_reset(st);
        die_if(uniql_forward(fp, st, calib + off, WIN, NULL, 0, &obs), "forward", NULL);
    }
    uniql_state_free(st);
    printf("\nactivation channels (calibration stream, fp32 model): largest / median channel RMS, max|x| / median RMS\n");
    printf("| layer | site | top/med RMS (channel) | max/med |\n|---|---|---|---|\n");
    for (s = 0; s < S_N; s++)
        for (l = 0; l < (s == S_FINAL ? 1 : L); l++) {
            if (!A->ss[s][l]) continue;
            chan_summary(A, s, l, &tm, &mm, &arg);
            printf("| %d | %s | %.1f (%d) | %.1f |\n", s == S_FINAL ? L : l, sname[s], tm, arg, mm);
        }
    printf("\n%s per matrix: relative weight error |W-Q|/|W|, activation-weighted output error (diag. approx.)\n", qname);
    printf("| layer | matrix | rows x cols | weight err | output err |\n|---|---|---|---|---|\n");
    for (l = 0; l < L; l++) {
        const uniql_layer *f = &fp->layers[l], *g = &q->layers[l];
        if (f->type != UNIQL_BLOCK_DECODER) continue;
#define ROW(NAME, FM, QM, SITE)                                                                  \
        mat_err(&f->FM, &g->QM, A->ss[SITE][l], A->n[SITE][l], &we, &oe);                        \
        printf("| %d | %s | %d x %d | %.4f | %.4f |\n", l, NAME, f->FM.rows, f->FM.cols, we, oe);
        ROW("q", attn.q, attn.q, S_ATTN_IN) ROW("k", attn.k, attn.k, S_ATTN_IN) ROW("v", attn.v, attn.v, S_ATTN_IN)
        ROW("o", attn.o, attn.o, S_O_IN) ROW("gate", mlp.gate, mlp.gate, S_MLP_IN) ROW("up", mlp.up, mlp.up, S_MLP_IN)
        ROW("down", mlp.down, mlp.down, S_DOWN_IN)
#undef ROW
    }
    mat_err(&fp->lm_head, &q->lm_head, A->ss[S_FINAL][0], A->n[S_FINAL][0], &we, &oe);
    printf("| - | lm_head%s | %d x %d | %.4f | %.4f |\n", fp->lm_head.data == fp->embed.data ? " (= embed)" : "",
           fp->lm_head.rows, fp->lm_head.cols, we, oe);
    for (s = 0; s < S_N; s++)
        for (l = 0; l < 64; l++) { free(A->ss[s][l]); free(A->mx[s][l]); }
    free(A);
    fflush(stdout);
}

static void classes(const char *name, const uniql_model *fp, const uniql_model *q, double p_fp, int layers)
{
    static const char *const cn[7] = { "q/k", "v", "o", "gate/up", "down", "embed = lm_head", "mamba" };
    int c, l, L = fp->config.n_layers;
    double p8, p32;
    uniql_model *h;
    p32 = ppl(q, UNIQL_ACT_F32);
    p8 = ppl(q, UNIQL_ACT_I8);
    printf("%s, whole model: fp32 act %.4f (%+.2f %%), int8 act %.4f (%+.2f %%)\n", name, p32, 100 * (p32 / p_fp - 1), p8,
           100 * (p8 / p_fp - 1));
    fflush(stdout);
    for (c = 0; c < 7; c++) {
        int bit = 1 << c;
        if (bit == C_MAMBA) {
            for (l = 0; l < L; l++) if (fp->layers[l].type == UNIQL_BLOCK_MAMBA) break;
            if (l == L) continue;
        }
        h = hybrid(fp, q, bit, ~0ull);
        p32 = ppl(h, UNIQL_ACT_F32);
        hybrid_free(h);
        printf("%s, only %s quantized: %.4f (%+.2f %%)\n", name, cn[c], p32, 100 * (p32 / p_fp - 1));
        fflush(stdout);
    }
    h = hybrid(fp, q, C_ALL & ~C_EMB, ~0ull);
    p32 = ppl(h, UNIQL_ACT_F32);
    hybrid_free(h);
    printf("%s, every layer matrix quantized, embed/lm_head fp32: %.4f (%+.2f %%)\n", name, p32, 100 * (p32 / p_fp - 1));
    fflush(stdout);
    if (layers)
        for (l = 0; l < L; l++) {
            h = hybrid(fp, q, C_ALL & ~C_EMB, 1ull << l);
            p32 = ppl(h, UNIQL_ACT_F32);
            hybrid_free(h);
            printf("%s, only layer %d quantized: %.4f (%+.2f %%)\n", name, l, p32, 100 * (p32 / p_fp - 1));
            fflush(stdout);
        }
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int i, bpe, gptq = 0, sorted = 0, dense = 0, no_vo = 0, rotate = 0, layers = 0, stats = 0, whole = 0, q8 = 0, asym = 0;
    double damp = 0;
    size_t ncalib, ncal;
    int *calib, *test;
    uniql_model *m, *fp, *q;
    uniql_load_options lo;
    uniql_model_quant_options o;
    uniql_error e;
    double p_fp, t;
    char path[4096];
    FILE *f;
    cli_prog = "bench_quant_diag";
    for (i = 1; i < argc; i++) {
        int ok = 1;
        if (!strcmp(argv[i], "--windows") && i + 1 < argc) { ok = cli_int(argv[i], argv[i + 1], 1, 1 << 20, &g_windows); i++; }
        else if (!strcmp(argv[i], "--calib-seqs") && i + 1 < argc) { ok = cli_int(argv[i], argv[i + 1], 1, 1 << 20, &g_calib_seqs); i++; }
        else if (!strcmp(argv[i], "--group") && i + 1 < argc) { ok = cli_group(argv[i], argv[i + 1], &g_group); i++; }
        else if (!strcmp(argv[i], "--group-transposed") && i + 1 < argc) { ok = cli_group(argv[i], argv[i + 1], &g_group_tr); i++; }
        else if (!strcmp(argv[i], "--damp") && i + 1 < argc) { ok = cli_double(argv[i], argv[i + 1], 0, 10, 0, &damp); i++; }
        else if (!strcmp(argv[i], "--gptq")) gptq = 1;
        else if (!strcmp(argv[i], "--q8")) q8 = 1;
        else if (!strcmp(argv[i], "--asym")) asym = 1;       /* Q4Z (scale + zero point) instead of Q4 */
        else if (!strcmp(argv[i], "--sorted")) sorted = 1;
        else if (!strcmp(argv[i], "--dense")) dense = 1;     /* --sorted: UNIQL_LAYOUT_DENSE */
        else if (!strcmp(argv[i], "--no-vo")) no_vo = 1;     /* --sorted: V/O kept as they are */
        else if (!strcmp(argv[i], "--rotate")) rotate = 1;   /* Hadamard rotation before quantizing */
        else if (!strcmp(argv[i], "--layers")) layers = 1;
        else if (!strcmp(argv[i], "--stats")) stats = 1;
        else if (!strcmp(argv[i], "--only-whole")) whole = 1;
        else if (argv[i][0] == '-') {
            printf("usage: %s [--windows W] [--calib-seqs S] [--group G] [--group-transposed G] [--damp D] [--gptq] [--q8] [--asym] [--sorted [--dense] [--no-vo]] [--rotate] [--layers] [--stats] [--only-whole] model_dir\n", argv[0]);
            return 2;
        }
        else dir = argv[i];
        if (!ok) return 2;
    }
    if (!dir) { fprintf(stderr, "bench_quant_diag: no model directory\n"); return 2; }
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    f = fopen(path, "rb");
    bpe = f != NULL;
    if (f) fclose(f);
    calib = read_stream(bpe ? "tests/data/bpe/calib.u16" : "data/calib.txt", bpe, &ncalib);
    test = read_stream(bpe ? "tests/data/bpe/test.u16" : "data/test.txt", bpe, &g_ntest);
    if (!calib || !test) return 1;
    WIN = bpe ? 512 : 256;
    g_test = test;
    ncal = (size_t)g_calib_seqs * WIN;
    if (ncal > ncalib) ncal = ncalib;
    memset(&lo, 0, sizeof lo);
    lo.weights_f32 = 1;
    die_if(uniql_model_load_dir(dir, &lo, &m, &e), dir, &e);
    fp = m;
    if (sorted) {   /* the bench's sorted, prunable model (o/down transposed) */
        uniql_calib_options co;
        uniql_sort_options so;
        uniql_calib *cb;
        memset(&co, 0, sizeof co);
        co.seq_len = WIN;
        die_if(uniql_calibrate(m, calib, ncal, &co, &cb, &e), "calibrate", &e);
        memset(&so, 0, sizeof so);
        so.layout = dense ? UNIQL_LAYOUT_DENSE : UNIQL_LAYOUT_PRUNABLE;
        so.no_vo = no_vo;
        die_if(uniql_sort_model(m, cb, &so, &fp, &e), "sort", &e);
        uniql_calib_free(cb);
    }
    if (rotate) {
        uniql_model *r;
        die_if(uniql_model_rotate(fp, NULL, &r, &e), "rotate", &e);
        if (fp != m) uniql_model_free(fp);
        fp = r;
    }
    printf("# %s: %s model%s%s, int4%s g%d, %d windows of %d, %lu calibration tokens\n", dir, !sorted ? "unsorted" : dense ? "sorted (dense)" : "sorted (prunable)",
           sorted && no_vo ? ", V/O not decomposed" : "", rotate ? ", Hadamard-rotated" : "", asym ? " (Q4Z)" : "", g_group, g_windows, WIN, (unsigned long)ncal);
    p_fp = ppl(fp, UNIQL_ACT_F32);
    if (g_group_tr) printf("(transposed matrices: group %d)\n", g_group_tr);
    printf("FP: %.4f\n", p_fp);
    fflush(stdout);
    if (q8) {
        memset(&o, 0, sizeof o);
        o.bits = 8;
        o.embed_bits = 8;
        die_if(uniql_model_quantize(fp, NULL, &o, &q, &e), "quantize q8", &e);
        classes("Q8 (RTN)", fp, q, p_fp, 0);
        uniql_model_free(q);
    }
    memset(&o, 0, sizeof o);
    o.group = g_group;
    o.group_transposed = g_group_tr;
    o.embed_bits = 8;
    o.asymmetric = asym;
    if (gptq) {
        o.method = UNIQL_QUANT_GPTQ;
        o.calib_tokens = calib;
        o.n_calib_tokens = ncal;
        o.seq_len = WIN;
        o.damp = damp;
    }
    t = now();
    die_if(uniql_model_quantize(fp, NULL, &o, &q, &e), "quantize", &e);
    printf("(%s quantized in %.1f s, %.3f MB)\n", gptq ? "GPTQ" : "RTN", now() - t, (double)uniql_model_bytes(q) / 1e6);
    if (whole) {
        double p32 = ppl(q, UNIQL_ACT_F32), p8 = ppl(q, UNIQL_ACT_I8);
        printf("%s whole: fp32 act %.4f (%+.2f %%), int8 act %.4f (%+.2f %%)\n", gptq ? "GPTQ" : "RTN", p32,
               100 * (p32 / p_fp - 1), p8, 100 * (p8 / p_fp - 1));
    } else classes(gptq ? "GPTQ int4" : "RTN int4", fp, q, p_fp, layers);
    if (stats) print_stats(fp, q, gptq ? "GPTQ int4" : "RTN int4", calib, ncal);
    uniql_model_free(q);
    if (fp != m) uniql_model_free(fp);
    uniql_model_free(m);
    free(calib);
    free(test);
    return 0;
}
