/* bench_gemv.c - decode GEMV (and small-batch GEMM) speed of uniql_matmul per weight
   format, single thread, against fp32 GEMV and against a plain memory-read loop measured
   in the same run. Every matrix is replicated so the bytes touched per measurement
   exceed the last-level cache several times (a decode step streams weights from DRAM).
   Times are the minimum over repetitions (the machine may be shared). Public API only.
   "q4 T": the same matrix in transposed storage (groups along the outputs), the layout
   of o_proj / down_proj / out_proj in a prunable .uniql.

   usage: bench_gemv [reps]      (default 15) */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "../tools/cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FOOTPRINT (192u << 20) /* bytes touched per timed pass, > 4x a 32 MB L3 */

/* Thread CPU time where the system has it: on a shared machine wall-clock minima still
   include time-slices given to other processes; CPU time does not (cache and memory-bus
   contention from them remains, so run on a quiet machine for the cleanest figures). */
static double now(void)
{
    struct timespec ts;
#ifdef CLOCK_THREAD_CPUTIME_ID
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng_state = 88172645463325252ull;
static double rnd_normal(void)
{
    /* xorshift64 + sum of 4 uniforms: cheap, roughly Gaussian, enough for weights */
    double s = 0;
    int i;
    for (i = 0; i < 4; i++) {
        rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
        s += (double)(rng_state >> 11) * (1.0 / 9007199254740992.0) - 0.5;
    }
    return s * 1.7320508;
}

/* The yardstick: read `bytes` with 8 independent 64-bit accumulators. */
static volatile uint64_t sink;
static double read_gbs(const unsigned char *buf, size_t bytes, int reps)
{
    double best = 1e30;
    int r;
    for (r = 0; r < reps; r++) {
        const uint64_t *p = (const uint64_t *)(const void *)buf;
        size_t i, n = bytes / 8;
        uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        double t0 = now(), dt;
        for (i = 0; i + 8 <= n; i += 8) {
            a0 += p[i]; a1 += p[i + 1]; a2 += p[i + 2]; a3 += p[i + 3];
            a4 += p[i + 4]; a5 += p[i + 5]; a6 += p[i + 6]; a7 += p[i + 7];
        }
        sink = a0 ^ a1 ^ a2 ^ a3 ^ a4 ^ a5 ^ a6 ^ a7;
        dt = now() - t0;
        if (dt < best) best = dt;
    }
    return (double)bytes / best / 1e9;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/* the same read with 256-bit loads (the plain loop may not saturate the memory bus) */
__attribute__((target("avx2"))) static double read_gbs_avx2(const unsigned char *buf, size_t bytes, int reps)
{
    double best = 1e30;
    int r;
    for (r = 0; r < reps; r++) {
        const __m256i *p = (const __m256i *)(const void *)buf;
        size_t i, n = bytes / 32;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        double t0 = now(), dt;
        for (i = 0; i + 4 <= n; i += 4) {
            a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(p + i));
            a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(p + i + 1));
            a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(p + i + 2));
            a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(p + i + 3));
        }
        a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
        sink = (uint64_t)_mm256_extract_epi64(a0, 0) ^ (uint64_t)_mm256_extract_epi64(a0, 3);
        dt = now() - t0;
        if (dt < best) best = dt;
    }
    return (double)bytes / best / 1e9;
}
#define HAVE_READ_AVX2 1
#endif

typedef struct fmt {
    const char *name;
    uniql_dtype dtype;
    int kernel;
    int transposed;   /* storage rows = inputs (o/down/out_proj of the prunable layout) */
} fmt;

/* copies of one matrix (each its own allocation), and the bytes one GEMV reads */
typedef struct mats {
    int count;
    uniql_matrix m[64];
    void *mem[64];
    size_t bytes;
} mats;

static int build(const fmt *f, const float *W, int rows, int cols, mats *out)
{
    size_t need, k;
    uniql_matrix m;
    void *first;
    memset(out, 0, sizeof *out);
    if (f->dtype == UNIQL_DTYPE_F32) {
        need = sizeof(float) * (size_t)rows * cols;
        first = malloc(need);
        if (!first) return 0;
        memcpy(first, W, need);
        m = uniql_matrix_f32((const float *)first, rows, cols, (size_t)cols);
    } else {
        uniql_quant_desc d;
        memset(&d, 0, sizeof d);
        d.dtype = f->dtype;
        d.group = 128;
        d.transposed = f->transposed;
        if (uniql_quant_size(&d, rows, cols, &need) != UNIQL_OK || !(first = malloc(need))) return 0;
        if (uniql_quantize(&d, W, rows, cols, (size_t)cols, first, need, &m) != UNIQL_OK) return 0;
    }
    out->bytes = need;
    out->count = (int)((FOOTPRINT + need - 1) / need);
    if (out->count > 64) out->count = 64;
    for (k = 0; k < (size_t)out->count; k++) {
        void *p = k == 0 ? first : malloc(need);
        if (!p) return 0;
        if (k) memcpy(p, first, need);
        out->mem[k] = p;
        out->m[k] = m;
        /* same layout, other copy: rebase every pointer of the view */
        out->m[k].data = (const unsigned char *)p + ((const unsigned char *)m.data - (const unsigned char *)first);
        if (m.scales) out->m[k].scales = (const uint16_t *)(const void *)((const unsigned char *)p + ((const unsigned char *)m.scales - (const unsigned char *)first));
        if (m.zeros) out->m[k].zeros = (const uint8_t *)p + (m.zeros - (const uint8_t *)first);
    }
    return 1;
}

static void release(mats *m)
{
    int k;
    for (k = 0; k < m->count; k++) free(m->mem[k]);
}

/* seconds per call (min over reps of the mean over the copies) */
static double time_matmul(const mats *ms, const float *X, int n, float *Y, int kernel, int reps)
{
    double best = 1e30;
    int r, k;
    for (r = 0; r < reps; r++) {
        double t0 = now(), dt;
        for (k = 0; k < ms->count; k++)
            if (uniql_matmul_ex(&ms->m[k], X, n, (size_t)ms->m[k].cols, Y, (size_t)ms->m[k].rows, kernel) != UNIQL_OK) return -1;
        dt = (now() - t0) / ms->count;
        if (dt < best) best = dt;
    }
    return best;
}

int main(int argc, char **argv)
{
    static const int shapes[2][2] = { { 4096, 4096 }, { 4096, 11008 } };
    static const fmt fmts[] = {
        { "fp32", UNIQL_DTYPE_F32, UNIQL_KERNEL_AUTO, 0 },
        { "q8   fp32-act", UNIQL_DTYPE_Q8, UNIQL_KERNEL_AUTO, 0 },
        { "q8   int8-act", UNIQL_DTYPE_Q8, UNIQL_KERNEL_AUTO | UNIQL_KERNEL_I8ACT, 0 },
        { "q4   fp32-act", UNIQL_DTYPE_Q4, UNIQL_KERNEL_AUTO, 0 },
        { "q4   int8-act", UNIQL_DTYPE_Q4, UNIQL_KERNEL_AUTO | UNIQL_KERNEL_I8ACT, 0 },
        { "q4 T fp32-act", UNIQL_DTYPE_Q4, UNIQL_KERNEL_AUTO, 1 },
        { "q4 T int8-act", UNIQL_DTYPE_Q4, UNIQL_KERNEL_AUTO | UNIQL_KERNEL_I8ACT, 1 },
        { "q4z  fp32-act", UNIQL_DTYPE_Q4Z, UNIQL_KERNEL_AUTO, 0 },
        { "q4z  int8-act", UNIQL_DTYPE_Q4Z, UNIQL_KERNEL_AUTO | UNIQL_KERNEL_I8ACT, 0 },
        { "q4   int8-act AVX2", UNIQL_DTYPE_Q4, UNIQL_KERNEL_AVX2 | UNIQL_KERNEL_I8ACT, 0 },
        { "q4   scalar  ", UNIQL_DTYPE_Q4, UNIQL_KERNEL_SCALAR, 0 },
        { "q4   scalar i8", UNIQL_DTYPE_Q4, UNIQL_KERNEL_SCALAR | UNIQL_KERNEL_I8ACT, 0 },
    };
    int reps = 15, si;
    size_t fi, rb = (size_t)FOOTPRINT * 2;
    unsigned char *rbuf;
    double bw;
    const char *isa = uniql_kernel_available(UNIQL_KERNEL_VNNI) ? "AVX2+FMA, AVX-512 VNNI" :
                      uniql_kernel_available(UNIQL_KERNEL_AVX2) ? "AVX2+FMA" : uniql_kernel_available(UNIQL_KERNEL_NEON) ? "NEON" : "scalar";
    cli_prog = "bench_gemv";
    if (argc > 2 || (argc == 2 && !cli_int("REPS", argv[1], 1, 1000000, &reps))) {
        fprintf(stderr, "usage: %s [REPS]  (timed repetitions, default 15)\n", argv[0]);
        return 2;
    }
    rbuf = (unsigned char *)malloc(rb);
    if (!rbuf) return 1;
    memset(rbuf, 1, rb);
    bw = read_gbs(rbuf, rb, reps);
    printf("uniql.h GEMV bench: single thread, kernels AUTO = %s, min of %d runs (thread CPU time)\n", isa, reps);
    printf("memory-read loop (%zu MB): plain C %.2f GB/s", rb >> 20, bw);
#ifdef HAVE_READ_AVX2
    if (__builtin_cpu_supports("avx2")) {
        double b2 = read_gbs_avx2(rbuf, rb, reps);
        printf(", AVX2 %.2f GB/s", b2);
        if (b2 > bw) bw = b2;
    }
#endif
    printf(" -> read bandwidth %.2f GB/s (the faster)\n\n", bw);
    for (si = 0; si < 2; si++) {
        int rows = shapes[si][0], cols = shapes[si][1], i;
        float *W = (float *)malloc(sizeof(float) * (size_t)rows * cols), *X = (float *)malloc(sizeof(float) * 8 * (size_t)cols);
        float *Y = (float *)malloc(sizeof(float) * 8 * (size_t)rows);
        double t_f32 = 0;
        if (!W || !X || !Y) return 1;
        for (i = 0; i < rows * cols; i++) W[i] = (float)(0.02 * rnd_normal());
        for (i = 0; i < 8 * cols; i++) X[i] = (float)rnd_normal();
        printf("W %d x %d                bytes/GEMV   ms/GEMV    GB/s  %%read-bw  x fp32   GEMM n=8 tok/s (x n=1)\n", rows, cols);
        for (fi = 0; fi < sizeof fmts / sizeof fmts[0]; fi++) {
            mats ms;
            double t1, t8;
            if (!uniql_kernel_available(fmts[fi].kernel)) continue;   /* a forced kernel set this CPU lacks */
            if (!build(&fmts[fi], W, rows, cols, &ms)) { printf("  %s: out of memory\n", fmts[fi].name); return 1; }
            t1 = time_matmul(&ms, X, 1, Y, fmts[fi].kernel, fmts[fi].kernel & UNIQL_KERNEL_SCALAR ? 2 : reps);
            t8 = time_matmul(&ms, X, 8, Y, fmts[fi].kernel, fmts[fi].kernel & UNIQL_KERNEL_SCALAR ? 1 : (reps + 2) / 3);
            if (t1 < 0 || t8 < 0) { printf("  %s: matmul failed\n", fmts[fi].name); return 1; }
            if (fi == 0) t_f32 = t1;
            printf("  %-22s %9.2f MB %9.3f %7.2f %8.1f %8.2f %10.0f  (x%.2f)\n", fmts[fi].name, ms.bytes / 1048576.0, t1 * 1e3,
                   ms.bytes / t1 / 1e9, 100.0 * ms.bytes / t1 / 1e9 / bw, t_f32 / t1, 8 / t8, (8 / t8) / (1 / t1));
            release(&ms);
        }
        printf("\n");
        free(W); free(X); free(Y);
    }
    printf("GB/s counts the bytes of weights + scales (+ zero points) one GEMV reads.\n");
    free(rbuf);
    return 0;
}
