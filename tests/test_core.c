/* test_core.c - result codes, fp16/bf16 conversions, matrix views, float matmul. */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <stdlib.h>
#include <string.h>

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

TEST result_strings_are_distinct(void)
{
    int a, b;
    for (a = 0; a >= -20; a--) {
        const char *s = uniql_result_string((uniql_result)a);
        ASSERT(s != NULL && s[0] != 0);
        ASSERTm("every defined code has its own sentence", strcmp(s, "unknown result code") != 0);
        for (b = a - 1; b >= -20; b--) ASSERT(strcmp(s, uniql_result_string((uniql_result)b)) != 0);
    }
    ASSERT_STR_EQ("unknown result code", uniql_result_string((uniql_result)-999));
    PASS();
}

/* Independent decoder: value = (-1)^s * 2^(e-15) * (1 + m/1024), via ldexp. */
static double half_value(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp((double)m, -24) : ldexp(1.0 + m / 1024.0, e - 15);
    return s ? -v : v;
}

TEST fp16_all_65536_round_trip(void)
{
    uint32_t h;
    for (h = 0; h < 65536; h++) {
        float f = uniql_fp16_to_fp32((uint16_t)h);
        int e = (h >> 10) & 31, m = h & 1023;
        if (e == 31 && m != 0) {
            ASSERT(isnan(f));
            ASSERT(isnan(uniql_fp16_to_fp32(uniql_fp32_to_fp16(f))));
            continue;
        }
        if (e == 31) ASSERT(isinf(f));
        else ASSERT_IN_RANGE(half_value((uint16_t)h), f, 0.0);
        ASSERT_EQ(h, uniql_fp32_to_fp16(f));
    }
    PASS();
}

TEST fp16_rounds_to_nearest_even(void)
{
    /* halfway between 1 and 1+2^-10 rounds down to even (1.0), 3/4 of the way rounds up */
    ASSERT_EQ(0x3C00, uniql_fp32_to_fp16(1.0f + 0.5f / 1024));
    ASSERT_EQ(0x3C02, uniql_fp32_to_fp16(1.0f + 1.5f / 1024));
    ASSERT_EQ(0x3C01, uniql_fp32_to_fp16(1.0f + 0.75f / 1024));
    ASSERT_EQ(0x7BFF, uniql_fp32_to_fp16(65504.0f));
    ASSERT_EQ(0x7BFF, uniql_fp32_to_fp16(65519.0f));
    ASSERT_EQ(0x7C00, uniql_fp32_to_fp16(65520.0f));
    ASSERT_EQ(0xFC00, uniql_fp32_to_fp16(-1e30f));
    ASSERT_EQ(0x0001, uniql_fp32_to_fp16(bits_f32(0x33800000u))); /* 2^-24 */
    ASSERT_EQ(0x0000, uniql_fp32_to_fp16(bits_f32(0x33000000u))); /* 2^-25: tie, to even 0 */
    ASSERT_EQ(0x0001, uniql_fp32_to_fp16(bits_f32(0x33000001u))); /* just above the tie */
    ASSERT_EQ(0x0400, uniql_fp32_to_fp16(6.103515625e-05f));      /* smallest normal */
    ASSERT_EQ(0x8000, uniql_fp32_to_fp16(-0.0f));
    PASS();
}

TEST fp16_matches_exact_rounding_on_random_floats(void)
{
    /* compare against rounding computed in double on the 2^-24-scaled grid */
    trng r = { 1 };
    int i;
    for (i = 0; i < 200000; i++) {
        float f = bits_f32((uint32_t)(trng_u64(&r) & 0xC7FFFFFFu)); /* |f| < 2^17 or so */
        uint16_t h;
        double v = fabs((double)f), best;
        if (isnan(f) || isinf(f)) continue;
        h = uniql_fp32_to_fp16(f);
        if (v >= 65520.0) { ASSERT_EQ(0x7C00, h & 0x7FFF); continue; }
        best = half_value((uint16_t)(h & 0x7FFF));
        /* neighbours of the result must not be closer */
        if ((h & 0x7FFF) > 0) ASSERT(fabs(half_value((uint16_t)((h & 0x7FFF) - 1)) - v) >= fabs(best - v));
        if ((h & 0x7FFF) < 0x7BFF) ASSERT(fabs(half_value((uint16_t)((h & 0x7FFF) + 1)) - v) >= fabs(best - v));
        ASSERT_EQ(f < 0 || (f == 0 && signbit(f)), h >> 15);
    }
    PASS();
}

TEST bf16_round_trip_and_rounding(void)
{
    uint32_t h;
    for (h = 0; h < 65536; h++) {
        float f = uniql_bf16_to_fp32((uint16_t)h);
        ASSERT_EQ(h << 16, f32_bits(f));
        if (isnan(f)) ASSERT(isnan(uniql_bf16_to_fp32(uniql_fp32_to_bf16(f))));
        else ASSERT_EQ(h, uniql_fp32_to_bf16(f));
    }
    ASSERT_EQ(0x3F80, uniql_fp32_to_bf16(bits_f32(0x3F808000u))); /* tie -> even */
    ASSERT_EQ(0x3F82, uniql_fp32_to_bf16(bits_f32(0x3F818000u))); /* tie -> even (up) */
    ASSERT_EQ(0x3F81, uniql_fp32_to_bf16(bits_f32(0x3F808001u)));
    PASS();
}

TEST matrix_slice_bounds(void)
{
    float w[12] = { 0 };
    uniql_matrix m = uniql_matrix_f32(w, 3, 4, 4), v;
    ASSERT_OK(uniql_matrix_slice(&m, 1, 2, 3, &v));
    ASSERT_EQ(2, v.rows);
    ASSERT_EQ(3, v.cols);
    ASSERT(v.data == (const void *)(w + 4));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_matrix_slice(&m, 2, 2, 4, &v));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_matrix_slice(&m, 0, 1, 5, &v));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_matrix_slice(&m, -1, 1, 1, &v));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_matrix_slice(NULL, 0, 1, 1, &v));
    PASS();
}

TEST matmul_float_types_match_double_reference(void)
{
    trng r = { 7 };
    int shapes[][3] = { { 1, 1, 1 }, { 5, 3, 1 }, { 17, 300, 3 }, { 64, 513, 4 }, { 2, 7, 9 } };
    size_t si;
    for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int rows = shapes[si][0], cols = shapes[si][1], n = shapes[si][2], i, j, k, t;
        float *w = malloc(sizeof(float) * rows * cols), *x = malloc(sizeof(float) * n * cols);
        float *y = malloc(sizeof(float) * n * rows);
        uint16_t *h = malloc(2 * (size_t)rows * cols);
        trng_fill_normal_f32(&r, w, (size_t)rows * cols, 1.0);
        trng_fill_normal_f32(&r, x, (size_t)n * cols, 1.0);
        for (t = 0; t < 3; t++) {
            uniql_matrix m = uniql_matrix_f32(w, rows, cols, (size_t)cols);
            if (t > 0) {
                for (i = 0; i < rows * cols; i++) h[i] = t == 1 ? uniql_fp32_to_fp16(w[i]) : uniql_fp32_to_bf16(w[i]);
                m.dtype = t == 1 ? UNIQL_DTYPE_F16 : UNIQL_DTYPE_BF16;
                m.data = h;
                m.stride = 2 * (size_t)cols;
            }
            ASSERT_OK(uniql_matmul(&m, x, n, (size_t)cols, y, (size_t)rows));
            for (k = 0; k < n; k++)
                for (i = 0; i < rows; i++) {
                    double ref = 0, mag = 0;
                    for (j = 0; j < cols; j++) {
                        double wv = t == 0 ? w[i * cols + j] : t == 1 ? uniql_fp16_to_fp32(h[i * cols + j]) : uniql_bf16_to_fp32(h[i * cols + j]);
                        ref += wv * x[k * cols + j];
                        mag += fabs(wv * x[k * cols + j]);
                    }
                    ASSERT_IN_RANGE(ref, y[k * rows + i], 1e-6 * mag + 1e-30);
                }
        }
        free(w); free(x); free(y); free(h);
    }
    PASS();
}

SUITE(core_suite)
{
    RUN_TEST(result_strings_are_distinct);
    RUN_TEST(fp16_all_65536_round_trip);
    RUN_TEST(fp16_rounds_to_nearest_even);
    RUN_TEST(fp16_matches_exact_rounding_on_random_floats);
    RUN_TEST(bf16_round_trip_and_rounding);
    RUN_TEST(matrix_slice_bounds);
    RUN_TEST(matmul_float_types_match_double_reference);
}
