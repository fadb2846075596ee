/* bench_linalg.c - timings of the linear algebra section, as ratios measured in one run.

     make bench-linalg            (builds build/bench_linalg and runs it)
     build/bench_linalg [max_d]   max_d caps the leverage / correlation sizes (default 4096)

   1. Jacobi SVD (U, S, V) of square random double matrices, n = 64 .. 512, against LAPACK's
      dgesvj (one-sided Jacobi, the reference for our method) and dgesvd (bidiagonal QR),
      when the Makefile found -llapack (Debian's reference LAPACK + BLAS). The library
      itself never links LAPACK.
   2. Structured-sorting scores: ridge leverage by Cholesky (uniql_ridge_leverage_f64 +
      uniql_argsort_desc_f64) against the same scores from a full eigendecomposition
      (the SVD / pseudo-inverse route the paper says its sorting avoids).
   3. Streaming correlation throughput (C += X^T X, float activations, double sums).
   Uses only the public API. Timings are wall clock on a shared machine: expect noise. */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "../tools/cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#ifdef UNIQL_BENCH_LAPACK
/* Fortran LAPACK, column-major, every argument by reference */
void dgesvj_(const char *joba, const char *jobu, const char *jobv, const int *m, const int *n,
             double *a, const int *lda, double *sva, const int *mv, double *v, const int *ldv,
             double *work, const int *lwork, int *info);
void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
             const int *lda, double *s, double *u, const int *ldu, double *vt, const int *ldvt,
             double *work, const int *lwork, int *info);
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static unsigned long long rng_state = 42;
static double rnd(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
    return p;
}

/* |A - U diag(S) V^T|_F / |A|_F, row-major n x n */
static double residual(int n, const double *A, const double *U, const double *S, const double *V)
{
    double num = 0, den = 0;
    int i, j, t;
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            double a = 0;
            for (t = 0; t < n; t++) a += U[i * n + t] * S[t] * V[j * n + t];
            num += (A[i * n + j] - a) * (A[i * n + j] - a);
            den += A[i * n + j] * A[i * n + j];
        }
    return sqrt(num / den);
}

static void bench_svd(void)
{
    static const int sizes[] = { 64, 128, 256, 512 };
    int a;
    printf("1. SVD with U and V, square, entries uniform in [-1, 1) (seconds, best of reps)\n");
#ifdef UNIQL_BENCH_LAPACK
    printf("   %5s %10s %7s %10s %10s %10s %10s %10s\n", "n", "uniql", "sweeps", "residual", "dgesvj", "dgesvd",
           "uniql/svj", "uniql/svd");
#else
    printf("   LAPACK not available (the Makefile probe found no -llapack): uniql only\n");
    printf("   %5s %10s %7s %10s\n", "n", "uniql", "sweeps", "residual");
#endif
    for (a = 0; a < 4; a++) {
        int n = sizes[a], reps = n <= 128 ? 5 : n <= 256 ? 3 : 1, rep, i, sweeps = 0;
        double *A = (double *)xmalloc(sizeof(double) * n * n), *U = (double *)xmalloc(sizeof(double) * n * n);
        double *V = (double *)xmalloc(sizeof(double) * n * n), *S = (double *)xmalloc(sizeof(double) * n);
        double t_ours = 1e30, res;
        for (i = 0; i < n * n; i++) A[i] = rnd();
        for (rep = 0; rep < reps; rep++) {
            double t0 = now();
            if (uniql_svd_f64(n, n, A, (size_t)n, S, U, (size_t)n, V, (size_t)n, NULL, &sweeps) != UNIQL_OK) {
                printf("   uniql_svd_f64 failed\n");
                exit(1);
            }
            t0 = now() - t0;
            if (t0 < t_ours) t_ours = t0;
        }
        res = residual(n, A, U, S, V);
#ifdef UNIQL_BENCH_LAPACK
        {
            double *B = (double *)xmalloc(sizeof(double) * n * n), *W, q, t_svj = 1e30, t_svd = 1e30;
            int lw = 2 * n + 64, info = 0, mv = 0, lq = -1;
            W = (double *)xmalloc(sizeof(double) * (size_t)lw);
            for (rep = 0; rep < reps; rep++) {
                double t0;
                memcpy(B, A, sizeof(double) * n * n); /* column-major view: A^T, same cost */
                t0 = now();
                dgesvj_("G", "U", "V", &n, &n, B, &n, S, &mv, V, &n, W, &lw, &info);
                t0 = now() - t0;
                if (info != 0) printf("   dgesvj info %d\n", info);
                if (t0 < t_svj) t_svj = t0;
            }
            memcpy(B, A, sizeof(double) * n * n);
            dgesvd_("S", "S", &n, &n, B, &n, S, U, &n, V, &n, &q, &lq, &info);
            lq = (int)q;
            free(W);
            W = (double *)xmalloc(sizeof(double) * (size_t)lq);
            for (rep = 0; rep < reps; rep++) {
                double t0;
                memcpy(B, A, sizeof(double) * n * n);
                t0 = now();
                dgesvd_("S", "S", &n, &n, B, &n, S, U, &n, V, &n, W, &lq, &info);
                t0 = now() - t0;
                if (info != 0) printf("   dgesvd info %d\n", info);
                if (t0 < t_svd) t_svd = t0;
            }
            printf("   %5d %10.4f %7d %10.2e %10.4f %10.4f %10.2f %10.2f\n", n, t_ours, sweeps, res, t_svj, t_svd,
                   t_ours / t_svj, t_ours / t_svd);
            free(B); free(W);
        }
#else
        printf("   %5d %10.4f %7d %10.2e\n", n, t_ours, sweeps, res);
#endif
        free(A); free(U); free(V); free(S);
    }
}

/* C = X^T X / T from T random tokens with per-channel scales spread over 3 decades */
static double *make_corr(int d, int T)
{
    float *X = (float *)xmalloc(sizeof(float) * (size_t)T * d);
    double *C = (double *)xmalloc(sizeof(double) * (size_t)d * d);
    uniql_corr acc;
    int t, j;
    for (t = 0; t < T; t++)
        for (j = 0; j < d; j++) X[(size_t)t * d + j] = (float)(rnd() * pow(10.0, -1.5 * j / d));
    if (uniql_corr_init(&acc, d, NULL) != UNIQL_OK || uniql_corr_add_f32(&acc, X, T, (size_t)d) != UNIQL_OK ||
        uniql_corr_finalize(&acc, C, (size_t)d) != UNIQL_OK) {
        printf("   correlation failed\n");
        exit(1);
    }
    uniql_corr_free(&acc);
    free(X);
    return C;
}

static void bench_leverage(int max_d)
{
    static const int sizes[] = { 1024, 2048, 4096 };
    int a;
    printf("\n2. Structured-sorting scores, lambda = 1e-4 (seconds)\n");
    printf("   %5s %14s %14s %8s %14s\n", "d", "ridge+argsort", "eigh-based", "ratio", "max |diff|");
    for (a = 0; a < 3; a++) {
        int d = sizes[a], i, k, *p1, *p2;
        double *C, *s1, *s2, *w, *Z, t1, t2, diff = 0;
        if (d > max_d) break;
        C = make_corr(d, d + d / 2);
        s1 = (double *)xmalloc(sizeof(double) * d);
        s2 = (double *)xmalloc(sizeof(double) * d);
        w = (double *)xmalloc(sizeof(double) * d);
        Z = (double *)xmalloc(sizeof(double) * (size_t)d * d);
        p1 = (int *)xmalloc(sizeof(int) * d);
        p2 = (int *)xmalloc(sizeof(int) * d);
        t1 = now();
        if (uniql_ridge_leverage_f64(d, C, (size_t)d, 1e-4, s1, NULL) != UNIQL_OK ||
            uniql_argsort_desc_f64(d, s1, p1, NULL) != UNIQL_OK) { printf("   ridge failed\n"); exit(1); }
        t1 = now() - t1;
        /* baseline: C = Z diag(w) Z^T, score_i = sum_k Z_ik^2 w_k / (w_k + lambda) */
        t2 = now();
        if (uniql_eigh_f64(d, C, (size_t)d, w, Z, (size_t)d, NULL) != UNIQL_OK) { printf("   eigh failed\n"); exit(1); }
        for (k = 0; k < d; k++) w[k] = w[k] > 0 ? w[k] / (w[k] + 1e-4) : 0.0;
        for (i = 0; i < d; i++) {
            double s = 0;
            for (k = 0; k < d; k++) s += Z[(size_t)i * d + k] * Z[(size_t)i * d + k] * w[k];
            s2[i] = s;
        }
        if (uniql_argsort_desc_f64(d, s2, p2, NULL) != UNIQL_OK) { printf("   argsort failed\n"); exit(1); }
        t2 = now() - t2;
        for (i = 0; i < d; i++) diff = fmax(diff, fabs(s1[i] - s2[i]));
        printf("   %5d %14.3f %14.3f %7.1fx %14.2e\n", d, t1, t2, t2 / t1, diff);
        fflush(stdout);
        free(C); free(s1); free(s2); free(w); free(Z); free(p1); free(p2);
    }
}

static void bench_corr(int max_d)
{
    static const int sizes[] = { 1024, 2048, 4096 };
    int a;
    printf("\n3. Streaming correlation, float tokens in batches of 512, double sums\n");
    printf("   %5s %8s %10s %10s %22s\n", "d", "tokens", "seconds", "GFLOP/s", "1e5 tokens (estimate)");
    for (a = 0; a < 3; a++) {
        int d = sizes[a], T = 4096, t, b;
        float *X;
        uniql_corr acc;
        double sec, gf;
        if (d > max_d) break;
        X = (float *)xmalloc(sizeof(float) * (size_t)T * d);
        for (t = 0; t < T * d; t++) X[t] = (float)rnd();
        if (uniql_corr_init(&acc, d, NULL) != UNIQL_OK) { printf("   init failed\n"); exit(1); }
        sec = now();
        for (b = 0; b < T; b += 512)
            if (uniql_corr_add_f32(&acc, X + (size_t)b * d, 512, (size_t)d) != UNIQL_OK) { printf("   add failed\n"); exit(1); }
        sec = now() - sec;
        /* d (d + 1) / 2 multiply-adds per token = d (d + 1) flops */
        gf = (double)T * d * (d + 1) / sec / 1e9;
        printf("   %5d %8d %10.3f %10.2f %20.1f s\n", d, T, sec, gf, sec * 1e5 / T);
        uniql_corr_free(&acc);
        free(X);
    }
}

int main(int argc, char **argv)
{
    int max_d = 4096;
    cli_prog = "bench_linalg";
    if (argc > 2 || (argc == 2 && !cli_int("MAX_D", argv[1], 1, 65536, &max_d))) {
        fprintf(stderr, "usage: %s [MAX_D]  (largest matrix size, default 4096)\n", argv[0]);
        return 2;
    }
    printf("bench_linalg (uniql.h %d.%d); wall-clock times on a shared machine, expect noise\n\n",
           UNIQL_VERSION_MAJOR, UNIQL_VERSION_MINOR);
    bench_svd();
    bench_leverage(max_d);
    bench_corr(max_d);
    return 0;
}
