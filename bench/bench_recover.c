/* bench_recover.c - the recovery evaluation (issue 18, UniQL step 4): held-out perplexity of
   one .uniql file before and one after masked LoRA recovery, each at int4 + 0 / 15 / 25 /
   35 % pruning (every rate from the same single file), against the FP checkpoint.

   usage: bench_recover [--windows W] [--window T] [--i8] [--threads N] LABEL MODEL_DIR TEST BEFORE.uniql AFTER.uniql [...]

   TEST holds the held-out tokens: *.u16 / *.u32 little-endian ids, anything else bytes (the
   byte-level models). Perplexity is uniql_perplexity over the first W windows of T tokens
   (default: every whole window of 256). Activations stay fp32 (UNIQL_ACT_F32, the exact
   reference path) unless --i8 asks for the runtime's int8 default. Prints one markdown row
   per model; every number is measured in this run. Public API only. */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "../tools/cli.h"
#include "../tools/uq_threads.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_windows = 0, g_window = 256, g_i8 = 0;
static uniql_parallel g_par;
static uq_pool *g_pool;

static int *read_tokens(const char *path, int vocab, size_t *n)
{
    void *d;
    size_t size, i, len = strlen(path);
    int w = len > 4 && !strcmp(path + len - 4, ".u16") ? 2 : len > 4 && !strcmp(path + len - 4, ".u32") ? 4 : 1;
    const unsigned char *b;
    int *t;
    uniql_error e;
    if (uniql_read_file(path, NULL, &d, &size, &e) != UNIQL_OK) { fprintf(stderr, "bench_recover: %s\n", e.message); return NULL; }
    b = (const unsigned char *)d;
    *n = size / (size_t)w;
    t = (int *)malloc(sizeof(int) * (*n ? *n : 1));
    for (i = 0; t && i < *n; i++) {
        unsigned long v = b[w * i];
        if (w >= 2) v |= (unsigned long)b[w * i + 1] << 8;
        if (w == 4) v |= (unsigned long)b[w * i + 2] << 16 | (unsigned long)b[w * i + 3] << 24;
        if (v >= (unsigned long)vocab) { fprintf(stderr, "bench_recover: %s: id %lu >= vocab %d\n", path, v, vocab); free(t); t = NULL; }
        else t[i] = (int)v;
    }
    uniql_free_buffer(d, NULL);
    return t;
}

static double ppl_of(const uniql_model *m, const int *tok, size_t n)
{
    double p = -1;
    uniql_error e;
    uniql_state_options so;
    memset(&so, 0, sizeof so);
    so.activations = g_i8 ? UNIQL_ACT_I8 : UNIQL_ACT_F32;
    so.parallel = g_pool ? &g_par : NULL;
    if (uniql_perplexity_ex(m, tok, n, g_window, g_windows, &so, &p, NULL, NULL, &e) != UNIQL_OK) {
        fprintf(stderr, "bench_recover: perplexity: %s\n", e.message);
        return -1;
    }
    return p;
}

/* perplexity of FILE at the full model and at the stored rates 0.15, 0.25, 0.35 (-1: absent) */
static int file_ppl(const char *path, const int *tok, size_t n, double out[4])
{
    static const double want[3] = { 0.15, 0.25, 0.35 };
    void *buf;
    size_t size;
    uniql_packed pk;
    uniql_error e;
    double rates[UNIQL_PACK_MAX_RATES];
    int n_rates = 0, k, i;
    if (uniql_read_file(path, NULL, &buf, &size, &e) != UNIQL_OK || uniql_packed_open(buf, size, 0, NULL, &pk, &e) != UNIQL_OK ||
        uniql_packed_rates(&pk, rates, UNIQL_PACK_MAX_RATES, &n_rates, &e) != UNIQL_OK) {
        fprintf(stderr, "bench_recover: %s: %s\n", path, e.message);
        return 0;
    }
    for (k = 0; k < 4; k++) {
        uniql_kept kept[UNIQL_MAX_LAYERS];
        uniql_model *m = NULL;
        int ri = -1;
        out[k] = -1;
        if (k > 0) {
            for (i = 0; i < n_rates && !(rates[i] > want[k - 1] - 1e-9 && rates[i] < want[k - 1] + 1e-9); i++) {}
            if (i == n_rates) continue;
            ri = i;
        }
        if (uniql_packed_kept(&pk, ri, kept, &e) != UNIQL_OK || uniql_packed_model_load(&pk, kept, NULL, NULL, &m, &e) != UNIQL_OK) {
            fprintf(stderr, "bench_recover: %s: %s\n", path, e.message);
            continue;
        }
        out[k] = ppl_of(m, tok, n);
        uniql_model_free(m);
    }
    uniql_packed_free(&pk);
    uniql_free_buffer(buf, NULL);
    return 1;
}

static void cell(double v, double fp)
{
    if (v < 0) printf(" - |");
    else printf(" %.4f (%+.1f %%) |", v, 100 * (v / fp - 1));
}

int main(int argc, char **argv)
{
    int a, first = 1, threads = 1;
    cli_prog = "bench_recover";
    for (a = 1; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--windows") && a + 1 < argc) { if (!cli_int(argv[a], argv[a + 1], 1, 1 << 30, &g_windows)) return 2; a++; }
        else if (!strcmp(argv[a], "--window") && a + 1 < argc) { if (!cli_int(argv[a], argv[a + 1], 2, 1 << 20, &g_window)) return 2; a++; }
        else if (!strcmp(argv[a], "--threads") && a + 1 < argc) { if (!cli_int(argv[a], argv[a + 1], 1, UQ_POOL_MAX, &threads)) return 2; a++; }
        else if (!strcmp(argv[a], "--i8")) g_i8 = 1;
        else { fprintf(stderr, "usage: %s [--windows W] [--window T] [--i8] [--threads N] LABEL MODEL_DIR TEST BEFORE.uniql AFTER.uniql [...]\n", argv[0]); return 2; }
    }
    if (threads > 1 && (g_pool = uq_pool_create(threads)) != NULL) g_par = uq_pool_parallel(g_pool);
    if (a == argc || (argc - a) % 5) { fprintf(stderr, "bench_recover: arguments come in groups of 5 (see the top of bench/bench_recover.c)\n"); return 2; }
    for (; a + 4 < argc; a += 5) {
        uniql_model *m = NULL;
        uniql_error e;
        int *tok;
        size_t n = 0;
        double fp, b[4], r[4];
        int k;
        if (uniql_model_load_dir(argv[a + 1], NULL, &m, &e) != UNIQL_OK) { fprintf(stderr, "bench_recover: %s: %s\n", argv[a + 1], e.message); return 1; }
        tok = read_tokens(argv[a + 2], m->config.vocab_size, &n);
        if (!tok) return 1;
        fp = ppl_of(m, tok, n);
        uniql_model_free(m);
        if (!file_ppl(argv[a + 3], tok, n, b) || !file_ppl(argv[a + 4], tok, n, r)) return 1;
        if (first) {
            printf("| model | FP | int4 0 %% before | after | int4 + 15 %% before | after | int4 + 25 %% before | after | int4 + 35 %% before | after |\n");
            printf("|---|---|---|---|---|---|---|---|---|---|\n");
            first = 0;
        }
        printf("| %s | %.4f |", argv[a], fp);
        for (k = 0; k < 4; k++) { cell(b[k], fp); cell(r[k], fp); }
        printf("\n");
        fflush(stdout);
        free(tok);
    }
    if (g_pool) uq_pool_destroy(g_pool);
    return 0;
}
