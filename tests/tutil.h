/* tutil.h - small helpers shared by the test files: a deterministic RNG and a file
   reader. Only the tests use these; the library has its own. */
#ifndef TUTIL_H
#define TUTIL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>

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
#endif
