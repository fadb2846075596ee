/* tutil.h - small helpers shared by the test files: a deterministic RNG, a file reader
   and (after uniql.h) model loading, prefill logits and float comparisons. Only the tests use these; the library has its own. */
#ifndef TUTIL_H
#define TUTIL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>

/* bytes the library holds now / at most since the last reset (tests/test_main.c counts
   every UNIQL_MALLOC); reset the peak with tutil_alloc_peak = tutil_alloc_live */
extern size_t tutil_alloc_live, tutil_alloc_peak;

/* splitmix64: deterministic, seedable, identical on every platform */
typedef struct { uint64_t s; } trng;
static inline uint64_t trng_u64(trng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform in [0, 1) with 53 random bits */
static inline double trng_unif(trng *r) { return (double)(trng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }
/* standard normal (Box-Muller) */
static inline double trng_normal(trng *r)
{
    double u1 = trng_unif(r), u2 = trng_unif(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
static inline void trng_fill_normal_f32(trng *r, float *x, size_t n, double scale)
{
    size_t i;
    for (i = 0; i < n; i++) x[i] = (float)(scale * trng_normal(r));
}

/* Read a whole file into a malloc'd buffer (+1 NUL byte). Returns NULL on failure. */
static inline unsigned char *tutil_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) { fclose(f); return NULL; }
    buf = (unsigned char *)malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) { buf[n] = 0; if (size) *size = (size_t)n; }
    return buf;
}
/* Helpers over uniql.h types, for test files that include uniql.h before this header. */
#ifdef UNIQL_H_INCLUDED
#include <string.h>

/* largest |a[i]|, and largest |a[i] - b[i]| (a NaN makes the result NaN-like: never <= m) */
static inline double tutil_max_abs(const float *a, size_t n)
{
    double m = 0;
    size_t i;
    for (i = 0; i < n; i++) if (fabs(a[i]) > m) m = fabs(a[i]);
    return m;
}
static inline double tutil_max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m)) m = d;   /* NaN propagates */
    }
    return m;
}

/* tests/data/ref/<fam> loaded (f32: weights converted to fp32); NULL (and a printed
   reason) on failure */
static inline uniql_model *tutil_load_ref(const char *fam, int f32)
{
    char dir[256];
    uniql_model *m = NULL;
    uniql_load_options o;
    uniql_error e;
    memset(&o, 0, sizeof o);
    o.weights_f32 = f32;
    snprintf(dir, sizeof dir, "tests/data/ref/%s", fam);
    if (uniql_model_load_dir(dir, &o, &m, &e) != UNIQL_OK) {
        printf("    load %s: %s\n", fam, e.message);
        return NULL;
    }
    return m;
}

/* all n x vocab logits of `tokens` in one prefill from a fresh state (malloc'd; NULL on
   any error) */
static inline float *tutil_prefill_logits(const uniql_model *m, const int *tokens, int n, int max_batch)
{
    uniql_state *s;
    float *lg = (float *)malloc(sizeof(float) * (size_t)n * (size_t)m->config.vocab_size);
    if (!lg || uniql_state_create(m, n + 8, max_batch, NULL, &s) != UNIQL_OK) { free(lg); return NULL; }
    if (uniql_forward(m, s, tokens, n, lg, 1, NULL) != UNIQL_OK) { free(lg); lg = NULL; }
    uniql_state_free(s);
    return lg;
}
#endif
#endif
