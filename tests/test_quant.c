/* test_quant.c - group int4 / int8 quantization, matrix views and the matmul kernels.
   Known answers come from independent re-implementations here: a nibble decoder written
   from the documented layout, the smallest-fp16-above rule computed by search, and
   double-precision products over dequantized matrices. SIMD kernels are compared with
   the scalar reference on the same inputs. */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include "../tools/uq_threads.h"
#include <stdlib.h>
#include <string.h>

static const uniql_dtype qtypes[3] = { UNIQL_DTYPE_Q4, UNIQL_DTYPE_Q4Z, UNIQL_DTYPE_Q8 };

/* A test matrix whose rows exercise the hard cases: normal data at several magnitudes,
   huge and subnormal values, all-zero and constant stretches, one-signed rows. */
static void fill_adversarial(trng *r, float *w, int rows, int cols)
{
    int i, j;
    for (i = 0; i < rows; i++) {
        int kind = i % 8;
        for (j = 0; j < cols; j++) {
            float v = (float)trng_normal(r);
            switch (kind) {
            case 0: break;
            case 1: v *= 8.0e3f; break;                     /* large (still finite as fp16) */
            case 2: v *= 1.0e-41f; break;                    /* fp32 subnormals */
            case 3: v = 0.0f; break;                          /* all zero */
            case 4: v = -0.3125f; break;                      /* constant */
            case 5: v = (float)fabs(v) + 2.0f; break;         /* one-signed, away from 0 */
            case 6: v = (j / 40) % 2 ? 0.0f : v * 1e-3f; break; /* zero groups inside a row */
            default: v = (j % 7 == 0) ? 50.0f * v : v; break;   /* outliers */
            }
            w[(size_t)i * cols + j] = v;
        }
    }
}

/* Quantize W (rows x cols) into a fresh buffer; the buffer is returned in *buf. */
static uniql_result quantize_new(uniql_dtype dt, int group, int clip, int tr, const float *W, int rows, int cols,
                                 void **buf, uniql_matrix *m)
{
    uniql_quant_desc d;
    size_t need;
    uniql_result res;
    memset(&d, 0, sizeof d);
    d.dtype = dt;
    d.group = group;
    d.clip = clip;
    d.transposed = tr;
    *buf = NULL;
    if ((res = uniql_quant_size(&d, rows, cols, &need)) != UNIQL_OK) return res;
    *buf = malloc(need);
    return uniql_quantize(&d, W, rows, cols, (size_t)cols, *buf, need, m);
}

/* Float-typed matrix (F32/F16/BF16) in either storage orientation, from row-major W. */
static void *float_matrix(uniql_dtype dt, int tr, const float *W, int rows, int cols, uniql_matrix *m)
{
    int S = tr ? cols : rows, L = tr ? rows : cols, s, e;
    size_t es = dt == UNIQL_DTYPE_F32 ? 4 : 2;
    unsigned char *buf = (unsigned char *)malloc((size_t)S * L * es + 1);
    for (s = 0; s < S; s++)
        for (e = 0; e < L; e++) {
            float v = tr ? W[(size_t)e * cols + s] : W[(size_t)s * cols + e];
            unsigned char *p = buf + ((size_t)s * L + e) * es;
            if (dt == UNIQL_DTYPE_F32) memcpy(p, &v, 4);
            else {
                uint16_t h = dt == UNIQL_DTYPE_F16 ? uniql_fp32_to_fp16(v) : uniql_fp32_to_bf16(v);
                memcpy(p, &h, 2);
            }
        }
    memset(m, 0, sizeof *m);
    m->dtype = dt;
    m->rows = rows;
    m->cols = cols;
    m->transposed = tr;
    m->data = buf;
    m->stride = (size_t)L * es;
    m->group = L;
    return buf;
}

/* Independent decoder of the documented layouts: logical element (r, c) of a view. */
static double ref_elem(const uniql_matrix *m, int r, int c, double *scale)
{
    int s = m->transposed ? c : r, e = m->transposed ? r : c;
    size_t p = m->block > 0 ? (size_t)(s / m->block) * m->block_stride + (size_t)(s % m->block) : (size_t)s;
    const unsigned char *row = (const unsigned char *)m->data + p * m->stride;
    if (m->dtype == UNIQL_DTYPE_Q8) {
        double sc = uniql_fp16_to_fp32(m->scales[p * m->scale_stride]);
        if (scale) *scale = sc;
        return (double)(signed char)row[e] * sc;
    } else {
        int blk = e / 32, j = e % 32, byte = row[blk * 16 + (j % 16)];
        int nib = j < 16 ? byte & 15 : byte >> 4;
        size_t gi = p * m->scale_stride + (size_t)(e / m->group);
        double sc = uniql_fp16_to_fp32(m->scales[gi]);
        int q = m->dtype == UNIQL_DTYPE_Q4 ? (nib >= 8 ? nib - 16 : nib) : nib - m->zeros[gi];
        if (scale) *scale = sc;
        return q * sc;
    }
}

/* smallest fp16 >= v, by exhaustive search over the positive halves */
static uint16_t fp16_ceil_search(double v)
{
    uint16_t h;
    if (v <= 0) return 0;
    for (h = 0; h < 0x7C00; h++)
        if ((double)uniql_fp16_to_fp32(h) >= v) return h;
    return 0x7C00;
}

TEST quant_size_is_exact_and_quantize_stays_inside(void)
{
    /* hand-computed: 5 x 100, group 32: 4 blocks/row of 16 B, 4 groups/row */
    static const struct { uniql_dtype dt; int group, tr, rows, cols; size_t bytes; } cases[] = {
        { UNIQL_DTYPE_Q4, 32, 0, 5, 100, 5 * 64 + 5 * 4 * 2 },
        { UNIQL_DTYPE_Q4Z, 32, 0, 5, 100, 5 * 64 + 5 * 4 * 2 + 5 * 4 },
        { UNIQL_DTYPE_Q8, 0, 0, 5, 100, 5 * 128 + 5 * 2 },
        { UNIQL_DTYPE_Q4, 0, 1, 5, 100, 100 * 16 + 100 * 2 },          /* L = 5: one block, one group */
        { UNIQL_DTYPE_Q4Z, 64, 0, 3, 128, 3 * 64 + 3 * 2 * 2 + 3 * 2 },
        { UNIQL_DTYPE_Q4, 128, 1, 300, 7, 7 * 160 + 7 * 3 * 2 },
        { UNIQL_DTYPE_Q8, 32, 1, 33, 2, 2 * 64 + 2 * 2 },
    };
    size_t i;
    trng r = { 11 };
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uniql_quant_desc d;
        size_t need, k;
        unsigned char *buf;
        float *w = (float *)malloc(sizeof(float) * (size_t)cases[i].rows * cases[i].cols);
        uniql_matrix m;
        memset(&d, 0, sizeof d);
        d.dtype = cases[i].dt;
        d.group = cases[i].group;
        d.transposed = cases[i].tr;
        ASSERT_OK(uniql_quant_size(&d, cases[i].rows, cases[i].cols, &need));
        ASSERT_EQ(cases[i].bytes, need);
        buf = (unsigned char *)malloc(need + 64);
        memset(buf, 0xA5, need + 64);
        trng_fill_normal_f32(&r, w, (size_t)cases[i].rows * cases[i].cols, 1.0);
        ASSERT_OK(uniql_quantize(&d, w, cases[i].rows, cases[i].cols, (size_t)cases[i].cols, buf, need, &m));
        for (k = need; k < need + 64; k++) ASSERT_EQ(0xA5, buf[k]);
        ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_quantize(&d, w, cases[i].rows, cases[i].cols, (size_t)cases[i].cols, buf, need - 1, &m));
        free(buf);
        free(w);
    }
    PASS();
}

/* Every element within half a step of its group's scale, the scale the smallest fp16
   meeting the documented rule, and uniql_dequantize equal to the independent decoder. */
static uq_status check_round_trip(uniql_dtype dt, int group, int tr, int rows, int cols, trng *r)
{
    float *w = (float *)malloc(sizeof(float) * (size_t)rows * cols), *deq = (float *)malloc(sizeof(float) * (size_t)rows * cols);
    void *buf;
    uniql_matrix m;
    int i, j, S = tr ? cols : rows, L = tr ? rows : cols, g = group ? group : 128;
    int gl = dt == UNIQL_DTYPE_Q8 ? L : g, s, e0;
    double sq, mx, sq_ref = 0, mx_ref = 0;
    fill_adversarial(r, w, rows, cols);
    ASSERT_OK(quantize_new(dt, group, 0, tr, w, rows, cols, &buf, &m));
    ASSERT_OK(uniql_dequantize(&m, deq, (size_t)cols));
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++) {
            double sc, v = ref_elem(&m, i, j, &sc), x = w[(size_t)i * cols + j];
            ASSERT_IN_RANGE(v, deq[(size_t)i * cols + j], 0);
            if (!(fabs(v - x) <= 0.5 * sc * (1 + 1e-9))) {
                free(w); free(deq); free(buf);
                FAILm("element outside half a step");
            }
            sq_ref += (v - x) * (v - x);
            if (fabs(v - x) > mx_ref) mx_ref = fabs(v - x);
        }
    /* the scale rule, group by group */
    for (s = 0; s < S; s++)
        for (e0 = 0; e0 < L; e0 += gl) {
            double mxv = 0, mnv = 0, target;
            int e, n = L - e0 < gl ? L - e0 : gl;
            size_t p = (size_t)s;
            uint16_t h = m.scales[p * m.scale_stride + (size_t)(e0 / (dt == UNIQL_DTYPE_Q8 ? L : g))];
            for (e = 0; e < n; e++) {
                double x = tr ? w[(size_t)(e0 + e) * cols + s] : w[(size_t)s * cols + e0 + e];
                if (x > mxv) mxv = x;
                if (x < mnv) mnv = x;
            }
            target = dt == UNIQL_DTYPE_Q4 ? (mxv / 7 > -mnv / 8 ? mxv / 7 : -mnv / 8)
                   : dt == UNIQL_DTYPE_Q4Z ? (mxv - mnv) / 15 : (mxv > -mnv ? mxv : -mnv) / 127;
            ASSERT_EQ(fp16_ceil_search(target), h);
            if (target == 0 && dt == UNIQL_DTYPE_Q4Z) ASSERT_EQ(0, m.zeros[p * m.scale_stride + (size_t)(e0 / g)]);
        }
    ASSERT_OK(uniql_quant_error(&m, w, (size_t)cols, &sq, &mx));
    ASSERT_IN_RANGE(sq_ref, sq, 1e-12 * sq_ref);
    ASSERT_IN_RANGE(mx_ref, mx, 0);
    free(w); free(deq); free(buf);
    PASS();
}

TEST round_trip_within_half_a_step(void)
{
    static const int groups[3] = { 32, 64, 128 };
    static const int shapes[][2] = { { 16, 256 }, { 9, 100 }, { 24, 7 }, { 8, 129 } };
    trng r = { 1 };
    int t, gi, tr, si;
    uq_status st;
    for (t = 0; t < 3; t++)
        for (gi = 0; gi < 3; gi++)
            for (tr = 0; tr < 2; tr++)
                for (si = 0; si < 4; si++)
                    if ((st = check_round_trip(qtypes[t], groups[gi], tr, shapes[si][0], shapes[si][1], &r)) != UQ_PASS) {
                        UQ_NOTE("dtype %d group %d transposed %d shape %dx%d", qtypes[t], groups[gi], tr, shapes[si][0], shapes[si][1]);
                        return st;
                    }
    PASS();
}

TEST zero_and_constant_groups(void)
{
    float w[2 * 64];
    void *buf;
    uniql_matrix m;
    float out[64];
    int t, j;
    for (j = 0; j < 64; j++) { w[j] = 0.0f; w[64 + j] = 3.0f; }
    for (t = 0; t < 3; t++) {
        ASSERT_OK(quantize_new(qtypes[t], 32, 1, 0, w, 2, 64, &buf, &m));
        ASSERT_EQ(0, m.scales[0]);
        ASSERT_OK(uniql_dequantize_row(&m, 0, out));
        for (j = 0; j < 64; j++) ASSERT_EQ(0, out[j] != 0.0f || signbit(out[j]) ? 1 : 0);
        ASSERT_OK(uniql_dequantize_row(&m, 1, out));
        /* 3 = 7 * (3/7 rounded up to fp16), Q4Z: 15 * s with s >= 3/15 */
        for (j = 0; j < 64; j++) ASSERT_IN_RANGE(3.0, out[j], 0.5 * uniql_fp16_to_fp32(m.scales[m.scale_stride]));
        free(buf);
    }
    PASS();
}

TEST quantize_rejects_bad_input(void)
{
    float w[4 * 32];
    unsigned char buf[1024];
    uniql_quant_desc d;
    uniql_matrix m;
    size_t need, k;
    int t;
    memset(&d, 0, sizeof d);
    for (k = 0; k < 4 * 32; k++) w[k] = (float)k;
    for (t = 0; t < 3; t++) {
        d.dtype = qtypes[t];
        ASSERT_OK(uniql_quant_size(&d, 4, 32, &need));
        w[77] = NAN;
        memset(buf, 0x5A, sizeof buf);
        ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_quantize(&d, w, 4, 32, 32, buf, sizeof buf, &m));
        for (k = 0; k < sizeof buf; k++) ASSERT_EQ(0x5A, buf[k]);   /* nothing written */
        w[77] = -INFINITY;
        ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_quantize(&d, w, 4, 32, 32, buf, sizeof buf, &m));
        w[77] = 5e6f;   /* Q4/Q4Z scale above the fp16 maximum, Q8 still fine */
        ASSERT_ERR(t == 2 ? UNIQL_OK : UNIQL_ERR_RANGE, uniql_quantize(&d, w, 4, 32, 32, buf, sizeof buf, &m));
        w[77] = 1e9f;
        ASSERT_ERR(UNIQL_ERR_RANGE, uniql_quantize(&d, w, 4, 32, 32, buf, sizeof buf, &m));
        w[77] = 77.0f;
        ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_quantize(&d, w, 4, 32, 31, buf, sizeof buf, &m));   /* ld < cols */
        ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_quantize(&d, w, 4, 32, 32, buf + 1, sizeof buf - 1, &m)); /* odd address */
        ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_quant_size(&d, 0, 32, &need));
        ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_quant_size(&d, 4, -1, &need));
    }
    d.dtype = UNIQL_DTYPE_Q4;
    d.group = 48;
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_quant_size(&d, 4, 32, &need));
    d.group = 256;
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_quant_size(&d, 4, 32, &need));
    d.group = -32;
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_quantize(&d, w, 4, 32, 32, buf, sizeof buf, &m));
    d.group = 0;
    d.dtype = UNIQL_DTYPE_F16;
    ASSERT_ERR(UNIQL_ERR_DTYPE, uniql_quant_size(&d, 4, 32, &need));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_quant_size(NULL, 4, 32, &need));
    PASS();
}

TEST clip_search_never_worse_and_helps_outliers(void)
{
    trng r = { 5 };
    int rows = 32, cols = 256, t, i;
    float *w = (float *)malloc(sizeof(float) * (size_t)rows * cols);
    double improved = 0;
    /* heavy tails: Student-like outliers make round-to-nearest waste its range */
    for (i = 0; i < rows * cols; i++) {
        double v = trng_normal(&r);
        w[i] = (float)(trng_unif(&r) < 0.02 ? v * 6 : v);
    }
    for (t = 0; t < 2; t++) {
        void *b0, *b1;
        uniql_matrix m0, m1;
        double e0, e1;
        ASSERT_OK(quantize_new(qtypes[t], 128, 0, 0, w, rows, cols, &b0, &m0));
        ASSERT_OK(quantize_new(qtypes[t], 128, 1, 0, w, rows, cols, &b1, &m1));
        ASSERT_OK(uniql_quant_error(&m0, w, (size_t)cols, &e0, NULL));
        ASSERT_OK(uniql_quant_error(&m1, w, (size_t)cols, &e1, NULL));
        ASSERT_LE(e1, e0);
        ASSERT(e1 < 0.99 * e0);
        improved = e1 / e0;
        UQ_NOTE("%s group 128: clip search squared error %.4g vs round-to-nearest %.4g (x%.3f)",
                t ? "Q4Z" : "Q4", e1, e0, improved);
        free(b0); free(b1);
    }
    free(w);
    PASS();
}

/* ---- views ---- */

TEST views_are_zero_copy_for_every_dtype_and_orientation(void)
{
    trng r = { 21 };
    int rows = 24, cols = 96, dti, tr;
    float *w = (float *)malloc(sizeof(float) * rows * cols), *full = (float *)malloc(sizeof(float) * rows * cols);
    float *sub = (float *)malloc(sizeof(float) * rows * cols);
    trng_fill_normal_f32(&r, w, (size_t)rows * cols, 1.0);
    for (dti = 0; dti < 6; dti++)
        for (tr = 0; tr < 2; tr++) {
            uniql_dtype dt = (uniql_dtype)dti;
            void *buf;
            uniql_matrix m, v, v2;
            int i, j, S;
            if (dti >= 3) ASSERT_OK(quantize_new(dt, 32, 0, tr, w, rows, cols, &buf, &m));
            else buf = float_matrix(dt, tr, w, rows, cols, &m);
            ASSERT_OK(uniql_dequantize(&m, full, (size_t)cols));
            S = uniql_matrix_storage_rows(&m);
            ASSERT_EQ(tr ? cols : rows, S);
            /* logical prefix, any size (also mid-group / mid-block) */
            ASSERT_OK(uniql_matrix_prefix(&m, 13, 45, &v));
            ASSERT(v.data == m.data);
            ASSERT_OK(uniql_dequantize(&v, sub, 45));
            for (i = 0; i < 13; i++)
                for (j = 0; j < 45; j++) ASSERT_IN_RANGE(full[i * cols + j], sub[i * 45 + j], 0);
            ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_matrix_prefix(&m, rows + 1, 1, &v));
            /* per-block prefix: blocks of 6 (non-transposed: rows; transposed: cols), keep 4, then 2 */
            ASSERT_OK(uniql_matrix_block_prefix(&m, 6, 4, &v));
            ASSERT_EQ(S / 6 * 4, uniql_matrix_storage_rows(&v));
            ASSERT_OK(uniql_dequantize(&v, sub, (size_t)v.cols));
            for (i = 0; i < v.rows; i++)
                for (j = 0; j < v.cols; j++) {
                    int fi = tr ? i : (i / 4) * 6 + i % 4, fj = tr ? (j / 4) * 6 + j % 4 : j;
                    ASSERT_IN_RANGE(full[fi * cols + fj], sub[(size_t)i * v.cols + j], 0);
                }
            /* the same heads cut again: keep 2 of each 4 kept */
            ASSERT_OK(uniql_matrix_block_prefix(&v, 4, 2, &v2));
            ASSERT_OK(uniql_dequantize(&v2, sub, (size_t)v2.cols));
            for (i = 0; i < v2.rows; i++)
                for (j = 0; j < v2.cols; j++) {
                    int fi = tr ? i : (i / 2) * 6 + i % 2, fj = tr ? (j / 2) * 6 + j % 2 : j;
                    ASSERT_IN_RANGE(full[fi * cols + fj], sub[(size_t)i * v2.cols + j], 0);
                }
            /* slice rows [8, 20): for transposed quantized views an offset inside every storage row */
            if (uniql_matrix_slice(&m, 8, 12, 40, &v) == UNIQL_OK) {
                ASSERT(!(tr && dti >= 3));
                ASSERT_OK(uniql_dequantize(&v, sub, 40));
                for (i = 0; i < 12; i++)
                    for (j = 0; j < 40; j++) ASSERT_IN_RANGE(full[(i + 8) * cols + j], sub[i * 40 + j], 0);
            } else {
                ASSERT(tr && dti >= 3);   /* 8 is not a multiple of the group (32) */
            }
            if (tr && dti != 4 && dti != 3) {
                /* transposed slice at a 32 boundary also works for Q8 and floats */
                ASSERT_OK(uniql_matrix_slice(&m, 0, 24, 40, &v));
            }
            free(buf);
        }
    free(w); free(full); free(sub);
    PASS();
}

TEST block_prefix_rules(void)
{
    float w[12 * 4] = { 0 };
    uniql_matrix m = uniql_matrix_f32(w, 12, 4, 4), v, v2;
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_matrix_block_prefix(&m, 5, 2, &v));   /* 12 % 5 */
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_matrix_block_prefix(&m, 4, 5, &v));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_matrix_block_prefix(&m, 0, 0, &v));
    ASSERT_OK(uniql_matrix_block_prefix(&m, 4, 3, &v));
    ASSERT_EQ(9, v.rows);
    ASSERT_EQ(3, v.block);
    ASSERT_EQ(4, v.block_stride);
    ASSERT_OK(uniql_matrix_block_prefix(&v, 3, 1, &v2));   /* same heads, shorter prefix */
    ASSERT_EQ(3, v2.rows);
    ASSERT_EQ(4, v2.block_stride);
    ASSERT_ERR(UNIQL_ERR_UNSUPPORTED, uniql_matrix_block_prefix(&v, 9, 1, &v2));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_matrix_slice(&v, 1, 3, 4, &v2));     /* not a block boundary */
    ASSERT_OK(uniql_matrix_slice(&v, 3, 6, 4, &v2));
    ASSERT(v2.data == (const void *)(w + 16));
    PASS();
}

/* ---- matmul ---- */

/* Y = W X in double over the dequantized view (the independent reference), with the
   magnitude sum |w||x| per output for relative tolerances. */
static void ref_matmul(const uniql_matrix *m, const float *X, int n, size_t ldx, double *Y, double *mag)
{
    float *d = (float *)malloc(sizeof(float) * ((size_t)m->rows * m->cols + 1));
    int i, r, c;
    uniql_dequantize(m, d, (size_t)m->cols);
    for (i = 0; i < n; i++)
        for (r = 0; r < m->rows; r++) {
            double s = 0, a = 0;
            for (c = 0; c < m->cols; c++) {
                double p = (double)d[(size_t)r * m->cols + c] * X[(size_t)i * ldx + c];
                s += p;
                a += fabs(p);
            }
            Y[(size_t)i * m->rows + r] = s;
            mag[(size_t)i * m->rows + r] = a;
        }
    free(d);
}

/* The shape classes every kernel must agree on: (rows, cols) with odd sizes, one row,
   one column, sizes around 32-blocks and groups. */
static const int mm_shapes[][2] = { { 1, 1 }, { 1, 64 }, { 3, 31 }, { 5, 33 }, { 17, 100 }, { 32, 128 }, { 7, 257 }, { 40, 96 } };

static uq_status check_matmul_case(const uniql_matrix *m, const float *X, int n, size_t ldx, int kernel_simd,
                                   double *worst_ref, double *worst_simd)
{
    size_t ny = (size_t)n * m->rows + 1;
    float *y0 = (float *)malloc(sizeof(float) * ny), *y1 = (float *)malloc(sizeof(float) * ny);
    double *yr = (double *)malloc(sizeof(double) * ny), *mag = (double *)malloc(sizeof(double) * ny);
    size_t k;
    ref_matmul(m, X, n, ldx, yr, mag);
    ASSERT_OK(uniql_matmul_ex(m, X, n, ldx, y0, (size_t)m->rows, UNIQL_KERNEL_SCALAR));
    for (k = 0; k + 1 < ny; k++) {
        double e = fabs(y0[k] - yr[k]) / (mag[k] + 1e-30);
        if (e > *worst_ref) *worst_ref = e;
        ASSERT_IN_RANGE(yr[k], y0[k], 1e-5 * mag[k] + 1e-30);
    }
    if (kernel_simd) {
        ASSERT_OK(uniql_matmul_ex(m, X, n, ldx, y1, (size_t)m->rows, kernel_simd));
        for (k = 0; k + 1 < ny; k++) {
            double e = fabs(y0[k] - y1[k]) / (mag[k] + 1e-30);
            if (e > *worst_simd) *worst_simd = e;
            ASSERT_IN_RANGE(y0[k], y1[k], 1e-5 * mag[k] + 1e-30);
        }
    }
    free(y0); free(y1); free(yr); free(mag);
    PASS();
}

static int simd_kernel(void)
{
    if (uniql_kernel_available(UNIQL_KERNEL_AVX2)) return UNIQL_KERNEL_AVX2;
    if (uniql_kernel_available(UNIQL_KERNEL_NEON)) return UNIQL_KERNEL_NEON;
    return 0;
}

/* Every dtype x orientation x shape x token count, plus prefix and blocked views:
   scalar == double reference over the dequantized matrix, SIMD == scalar. */
static uq_status matmul_all(int simd, double *wr, double *ws)
{
    trng r = { 99 };
    size_t si;
    int dti, tr, n;
    uq_status st;
    for (si = 0; si < sizeof mm_shapes / sizeof mm_shapes[0]; si++) {
        int rows = mm_shapes[si][0], cols = mm_shapes[si][1];
        float *w = (float *)malloc(sizeof(float) * rows * cols), *X = (float *)malloc(sizeof(float) * 7 * (cols + 3));
        fill_adversarial(&r, w, rows, cols);
        trng_fill_normal_f32(&r, X, (size_t)7 * (cols + 3), 1.0);
        for (dti = 0; dti < 6; dti++)
            for (tr = 0; tr < 2; tr++) {
                uniql_matrix m, v;
                void *buf;
                if (dti >= 3) {
                    uniql_result res = quantize_new((uniql_dtype)dti, dti == 4 ? 64 : 32, 0, tr, w, rows, cols, &buf, &m);
                    if (res != UNIQL_OK) { free(buf); free(w); free(X); FAILm("quantize failed"); }
                } else buf = float_matrix((uniql_dtype)dti, tr, w, rows, cols, &m);
                for (n = 1; n <= 7; n++)
                    if ((st = check_matmul_case(&m, X, n, (size_t)cols + 3, simd, wr, ws)) != UQ_PASS) {
                        UQ_NOTE("dtype %d transposed %d %dx%d n %d", dti, tr, rows, cols, n);
                        return st;
                    }
                /* prefixes (mid-block), and a per-block prefix */
                if (uniql_matrix_prefix(&m, rows - rows / 3, cols - cols / 3, &v) == UNIQL_OK)
                    for (n = 1; n <= 5; n += 4)
                        if ((st = check_matmul_case(&v, X, n, (size_t)cols + 3, simd, wr, ws)) != UQ_PASS) return st;
                if (uniql_matrix_block_prefix(&m, tr ? (cols % 4 ? 1 : 4) : (rows % 4 ? 1 : 4), 1, &v) == UNIQL_OK)
                    for (n = 1; n <= 3; n++)
                        if ((st = check_matmul_case(&v, X, n, (size_t)cols + 3, simd, wr, ws)) != UQ_PASS) return st;
                free(buf);
            }
        free(w);
        free(X);
    }
    PASS();
}

TEST matmul_every_dtype_matches_dequantized_reference(void)
{
    double wr = 0, ws = 0;
    uq_status st = matmul_all(0, &wr, &ws);
    UQ_NOTE("scalar vs double reference: max error %.3g of sum |w x|", wr);
    return st;
}

TEST simd_matmul_equals_scalar(void)
{
    double wr = 0, ws = 0;
    int k = simd_kernel();
    uq_status st;
    if (!k) SKIPm("no SIMD kernel on this CPU / build (AVX2+FMA or NEON)");
    st = matmul_all(k, &wr, &ws);
    UQ_NOTE("%s vs scalar: max difference %.3g of sum |w x|", k == UNIQL_KERNEL_AVX2 ? "AVX2" : "NEON", ws);
    return st;
}

/* I8ACT: SIMD == scalar bit for bit (the same integer sums and float steps), AVX2 and,
   where the CPU has it, the VNNI set (its two-row decode kernels for Q4 / Q4Z and Q8 at
   n = 1, odd row counts leaving one row to qdot8), and the documented error bound against
   the exact product. */
TEST int8_activation_path(void)
{
    /* the shape classes, plus widths that cross the activation chunks (4096 columns per
       token for 4-token tiles, 16384 for one token) */
    static const int shapes[][2] = { { 1, 1 }, { 1, 64 }, { 3, 31 }, { 5, 33 }, { 17, 100 }, { 32, 128 }, { 7, 257 },
                                     { 40, 96 }, { 3, 4196 }, { 2, 16424 } };
    static const int groups[3] = { 32, 64, 128 };
    trng r = { 123 };
    size_t si;
    int dti, n, gi, kk, kern[2], nk = 0, vnni = uniql_kernel_available(UNIQL_KERNEL_VNNI);
    double worst_simd = 0, worst_rel = 0;
    if (simd_kernel()) kern[nk++] = simd_kernel();
    if (vnni) kern[nk++] = UNIQL_KERNEL_VNNI;
    for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
    for (gi = 0; gi < 3; gi++) {
        int rows = shapes[si][0], cols = shapes[si][1];
        float *w = (float *)malloc(sizeof(float) * rows * cols), *X = (float *)malloc(sizeof(float) * 7 * cols);
        float *y0 = (float *)malloc(sizeof(float) * 7 * rows), *y1 = (float *)malloc(sizeof(float) * 7 * rows);
        float *dq = (float *)malloc(sizeof(float) * rows * cols);
        fill_adversarial(&r, w, rows, cols);
        trng_fill_normal_f32(&r, X, (size_t)7 * cols, 1.0);
        X[0] = 300.0f;   /* one large activation dominates its block's scale */
        for (dti = 3; dti < 6; dti++) {
            uniql_matrix m;
            void *buf;
            int i, j, k;
            if (dti == 5 && gi > 0) continue;   /* Q8: one scale per row, no groups */
            ASSERT_OK(quantize_new((uniql_dtype)dti, groups[gi], 0, 0, w, rows, cols, &buf, &m));
            ASSERT_OK(uniql_dequantize(&m, dq, (size_t)cols));
            for (n = 1; n <= 7; n += 2) {
                ASSERT_OK(uniql_matmul_ex(&m, X, n, (size_t)cols, y0, (size_t)rows, UNIQL_KERNEL_SCALAR | UNIQL_KERNEL_I8ACT));
                for (kk = 0; kk < nk; kk++) {
                    ASSERT_OK(uniql_matmul_ex(&m, X, n, (size_t)cols, y1, (size_t)rows, kern[kk] | UNIQL_KERNEL_I8ACT));
                    for (k = 0; k < n * rows; k++) {
                        double d = fabs((double)y0[k] - y1[k]) / (fabs(y0[k]) + 1e-30);
                        if (d > worst_simd) worst_simd = d;
                        ASSERTm("I8ACT SIMD == scalar bit for bit", !memcmp(&y0[k], &y1[k], sizeof(float)));
                    }
                }
                /* bound: |dy| <= sum_b (max|x_b| / 254) * sum_{c in b} |w_c|, plus float rounding */
                for (i = 0; i < n; i++)
                    for (j = 0; j < rows; j++) {
                        double exact = 0, bound = 0, mag = 0;
                        int b, c;
                        for (b = 0; b * 32 < cols; b++) {
                            double amax = 0, sw = 0;
                            for (c = b * 32; c < cols && c < b * 32 + 32; c++) {
                                if (fabs(X[i * cols + c]) > amax) amax = fabs(X[i * cols + c]);
                                sw += fabs(dq[j * cols + c]);
                            }
                            bound += amax / 254 * sw * (1 + 1e-5);
                        }
                        for (c = 0; c < cols; c++) {
                            exact += (double)dq[j * cols + c] * X[i * cols + c];
                            mag += fabs((double)dq[j * cols + c] * X[i * cols + c]);
                        }
                        ASSERT_IN_RANGE(exact, y0[i * rows + j], bound + 1e-6 * mag + 1e-30);
                        if (mag > 0 && fabs(exact - y0[i * rows + j]) / mag > worst_rel) worst_rel = fabs(exact - y0[i * rows + j]) / mag;
                    }
            }
            if (dti == UNIQL_DTYPE_Q8) {
                /* raw weight bytes, -128 included (the quantizer writes -127..127 only): the
                   two-row kernel reads |-128| as 128; still the scalar bits */
                unsigned char *d = (unsigned char *)buf + ((const unsigned char *)m.data - (unsigned char *)buf);
                size_t b;
                for (b = 0; b < (size_t)rows * m.stride; b++) d[b] = b % 5 == 0 ? 0x80 : (unsigned char)(trng_u64(&r) >> 56);
                for (n = 1; n <= 3; n += 2) {
                    ASSERT_OK(uniql_matmul_ex(&m, X, n, (size_t)cols, y0, (size_t)rows, UNIQL_KERNEL_SCALAR | UNIQL_KERNEL_I8ACT));
                    for (kk = 0; kk < nk; kk++) {
                        ASSERT_OK(uniql_matmul_ex(&m, X, n, (size_t)cols, y1, (size_t)rows, kern[kk] | UNIQL_KERNEL_I8ACT));
                        ASSERTm("I8ACT Q8 with -128 weights: SIMD == scalar bit for bit", !memcmp(y0, y1, sizeof(float) * (size_t)n * rows));
                    }
                }
            }
            X[cols - 1] = NAN;
            ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_matmul_ex(&m, X, 1, (size_t)cols, y0, (size_t)rows, UNIQL_KERNEL_I8ACT));
            X[cols - 1] = 0.5f;
            free(buf);
        }
        free(w); free(X); free(y0); free(y1); free(dq);
    }
    UQ_NOTE("I8ACT: SIMD%s vs scalar max relative difference %.3g; error vs exact up to %.3g of sum |w x|",
            vnni ? " (AVX2 and VNNI)" : "", worst_simd, worst_rel);
    {
        /* the typical cost on Gaussian data: relative L2 error of y against fp32 activations */
        int rows = 256, cols = 2048, i;
        float *w = (float *)malloc(sizeof(float) * rows * cols), *x = (float *)malloc(sizeof(float) * cols);
        float *y0 = (float *)malloc(sizeof(float) * rows), *y1 = (float *)malloc(sizeof(float) * rows);
        double num = 0, den = 0;
        void *buf;
        uniql_matrix m;
        trng_fill_normal_f32(&r, w, (size_t)rows * cols, 0.02);
        trng_fill_normal_f32(&r, x, (size_t)cols, 1.0);
        ASSERT_OK(quantize_new(UNIQL_DTYPE_Q4, 128, 0, 0, w, rows, cols, &buf, &m));
        ASSERT_OK(uniql_matmul_ex(&m, x, 1, (size_t)cols, y0, (size_t)rows, UNIQL_KERNEL_SCALAR));
        ASSERT_OK(uniql_matmul_ex(&m, x, 1, (size_t)cols, y1, (size_t)rows, UNIQL_KERNEL_AUTO | UNIQL_KERNEL_I8ACT));
        for (i = 0; i < rows; i++) {
            num += ((double)y1[i] - y0[i]) * ((double)y1[i] - y0[i]);
            den += (double)y0[i] * y0[i];
        }
        UQ_NOTE("I8ACT on Gaussian W (Q4 g128) and x: |y_i8 - y_fp32| / |y_fp32| = %.3g", sqrt(num / den));
        ASSERT_LE(sqrt(num / den), 0.01);
        free(w); free(x); free(y0); free(y1); free(buf);
    }
    PASS();
}

/* I8ACT on transposed Q4 / Q4Z views (o/down/out_proj of the prunable layout): SIMD ==
   scalar bit for bit (the scalar set runs token by token, the SIMD sets' prefill tile
   n >= 2 tokens at a time), the same bits with and without scratch, blocked (per-head) views,
   and the error bound of API 3: |dy_r| <= sum over input blocks of
   max_c |x_c s(c, g)| / 254 * sum_c |w_rc| / s(c, g), plus float rounding. */
TEST int8_activation_transposed(void)
{
    static const int shapes[][2] = { { 1, 1 }, { 31, 5 }, { 64, 33 }, { 100, 70 }, { 257, 129 }, { 128, 300 }, { 4160, 40 } };
    static const int groups[3] = { 32, 64, 128 };
    trng r = { 77 };
    size_t si;
    static const int ns[5] = { 1, 2, 5, 9, 12 };
    int dti, gi, n, ni, simd = simd_kernel(), vnni = uniql_kernel_available(UNIQL_KERNEL_VNNI) ? UNIQL_KERNEL_VNNI : 0;
    uq_pool *pool = uq_pool_create(3);
    uniql_parallel par = uq_pool_parallel(pool);
    double worst = 0;
    for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (gi = 0; gi < 3; gi++)
            for (dti = 3; dti < 5; dti++) {
                int rows = shapes[si][0], cols = shapes[si][1], i, j, c;
                float *w = (float *)malloc(sizeof(float) * rows * cols), *X = (float *)malloc(sizeof(float) * 12 * cols);
                float *y0 = (float *)malloc(sizeof(float) * 12 * rows), *y1 = (float *)malloc(sizeof(float) * 12 * rows);
                float *dq = (float *)malloc(sizeof(float) * rows * cols);
                size_t wb;
                void *buf, *work;
                uniql_matrix m;
                uniql_matmul_options o;
                fill_adversarial(&r, w, rows, cols);
                trng_fill_normal_f32(&r, X, (size_t)12 * cols, 1.0);
                X[0] = 300.0f;
                ASSERT_OK(quantize_new((uniql_dtype)dti, groups[gi], 0, 1, w, rows, cols, &buf, &m));
                ASSERT_OK(uniql_dequantize(&m, dq, (size_t)cols));
                wb = uniql_matmul_work_bytes(&m, 12, UNIQL_KERNEL_I8ACT);
                ASSERT(wb > 0);
                work = malloc(wb + 32);
                for (ni = 0; ni < 5; ni++) {
                    n = ns[ni];
                    /* scalar: token by token (uniql__t8_dot); AVX2 / VNNI with n >= 2: the
                       prefill tile (uniql__t8r, tokens x group ranges, no partial buffers) */
                    ASSERT_OK(uniql_matmul_ex(&m, X, n, (size_t)cols, y0, (size_t)rows, UNIQL_KERNEL_SCALAR | UNIQL_KERNEL_I8ACT));
                    if (simd) {
                        ASSERT_OK(uniql_matmul_ex(&m, X, n, (size_t)cols, y1, (size_t)rows, simd | UNIQL_KERNEL_I8ACT));
                        ASSERT_MEM_EQ(y0, y1, sizeof(float) * (size_t)n * rows);
                    }
                    if (vnni) {
                        ASSERT_OK(uniql_matmul_ex(&m, X, n, (size_t)cols, y1, (size_t)rows, vnni | UNIQL_KERNEL_I8ACT));
                        ASSERT_MEM_EQ(y0, y1, sizeof(float) * (size_t)n * rows);
                    }
                    memset(&o, 0, sizeof o);
                    o.kernel = UNIQL_KERNEL_I8ACT;
                    o.parallel = &par;
                    ASSERT_OK(uniql_matmul_par(&m, X, n, (size_t)cols, y1, (size_t)rows, &o));
                    ASSERT_MEM_EQ(y0, y1, sizeof(float) * (size_t)n * rows);
                    memset(&o, 0, sizeof o);
                    o.kernel = UNIQL_KERNEL_SCALAR | UNIQL_KERNEL_I8ACT;
                    o.work = (unsigned char *)work + ((32u - ((uintptr_t)work & 31u)) & 31u);
                    o.work_size = wb;
                    ASSERT_OK(uniql_matmul_par(&m, X, n, (size_t)cols, y1, (size_t)rows, &o));
                    ASSERT_MEM_EQ(y0, y1, sizeof(float) * (size_t)n * rows);
                    for (i = 0; i < n; i++)
                        for (j = 0; j < rows; j++) {
                            double exact = 0, bound = 0, mag = 0;
                            int g = j / m.group, cb;
                            for (cb = 0; cb < cols; cb += 32) {
                                double amax = 0, sw = 0;
                                for (c = cb; c < cols && c < cb + 32; c++) {
                                    double s = uniql_fp16_to_fp32(m.scales[(size_t)c * m.scale_stride + (size_t)g]);
                                    double a = fabs((double)X[i * cols + c] * s);
                                    if (a > amax) amax = a;
                                    if (s > 0) sw += fabs(dq[j * cols + c]) / s;
                                }
                                bound += amax / 254 * sw * (1 + 1e-5);
                            }
                            for (c = 0; c < cols; c++) {
                                exact += (double)dq[j * cols + c] * X[i * cols + c];
                                mag += fabs((double)dq[j * cols + c] * X[i * cols + c]);
                            }
                            ASSERT_IN_RANGE(exact, y0[i * rows + j], bound + 1e-5 * mag + 1e-30);
                            if (mag > 0 && fabs(exact - y0[i * rows + j]) / mag > worst) worst = fabs(exact - y0[i * rows + j]) / mag;
                        }
                }
                /* a per-head prefix of the storage rows (inputs): still the same bits on every path */
                if (cols % 2 == 0 && cols >= 4) {
                    uniql_matrix v;
                    ASSERT_OK(uniql_matrix_block_prefix(&m, cols / 2, cols / 2 - 1, &v));
                    for (n = 1; n <= 9; n += 8) {
                        ASSERT_OK(uniql_matmul_ex(&v, X, n, (size_t)v.cols, y0, (size_t)rows, UNIQL_KERNEL_SCALAR | UNIQL_KERNEL_I8ACT));
                        if (simd) {
                            ASSERT_OK(uniql_matmul_ex(&v, X, n, (size_t)v.cols, y1, (size_t)rows, simd | UNIQL_KERNEL_I8ACT));
                            ASSERT_MEM_EQ(y0, y1, sizeof(float) * (size_t)n * rows);
                        }
                        if (vnni) {
                            ASSERT_OK(uniql_matmul_ex(&v, X, n, (size_t)v.cols, y1, (size_t)rows, vnni | UNIQL_KERNEL_I8ACT));
                            ASSERT_MEM_EQ(y0, y1, sizeof(float) * (size_t)n * rows);
                        }
                    }
                }
                X[cols - 1] = NAN;
                ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_matmul_ex(&m, X, 1, (size_t)cols, y0, (size_t)rows, UNIQL_KERNEL_I8ACT));
                free(buf); free(work); free(w); free(X); free(y0); free(y1); free(dq);
            }
    uq_pool_destroy(pool);
    UQ_NOTE("I8ACT transposed: SIMD == scalar == with scratch == 3 workers bit for bit (n = 1, 2, 5, 9, 12%s); error vs exact up to %.3g of sum |w x|",
            vnni ? "; AVX2 and VNNI" : "", worst);
    PASS();
}

/* A hand-made transposed view with groups of 256 and 512 outputs (the quantizer writes at
   most 128; the kernels take up to 2048): the prefill tile cuts such a group into 128-output
   pieces, which must give the token-by-token scalar bits. Random nibbles, scales and zero
   points; 600 outputs (a partial last block and group), 70 inputs (a partial input block). */
TEST int8_activation_transposed_big_group(void)
{
    static const int groups[2] = { 256, 512 };
    const int R = 600, C = 70, nbR = (600 + 31) / 32;
    int simd = simd_kernel(), vnni = uniql_kernel_available(UNIQL_KERNEL_VNNI) ? UNIQL_KERNEL_VNNI : 0, gi, q4z, n, i;
    trng r = { 31337 };
    unsigned char *data = (unsigned char *)malloc((size_t)C * nbR * 16);
    uint16_t *sc = (uint16_t *)malloc(sizeof(uint16_t) * C * 3);
    uint8_t *zp = (uint8_t *)malloc((size_t)C * 3);
    float *X = (float *)malloc(sizeof(float) * 9 * C), *y0 = (float *)malloc(sizeof(float) * 9 * R), *y1 = (float *)malloc(sizeof(float) * 9 * R);
    uq_pool *pool = uq_pool_create(2);
    uniql_parallel par = uq_pool_parallel(pool);
    int checked = 0;
    for (i = 0; i < C * nbR * 16; i++) data[i] = (unsigned char)(trng_u64(&r) >> 56);
    for (i = 0; i < C * 3; i++) {
        sc[i] = uniql_fp32_to_fp16(0.01f + (float)(trng_u64(&r) % 1000) / 1000.0f);
        zp[i] = (uint8_t)(trng_u64(&r) % 16);
    }
    trng_fill_normal_f32(&r, X, (size_t)9 * C, 1.0);
    for (gi = 0; gi < 2; gi++)
        for (q4z = 0; q4z < 2; q4z++) {
            uniql_matrix m;
            memset(&m, 0, sizeof m);
            m.dtype = q4z ? UNIQL_DTYPE_Q4Z : UNIQL_DTYPE_Q4;
            m.rows = R; m.cols = C; m.transposed = 1; m.group = groups[gi];
            m.data = data; m.stride = (size_t)nbR * 16;
            m.scales = sc; m.zeros = q4z ? zp : NULL; m.scale_stride = (size_t)(R + groups[gi] - 1) / (size_t)groups[gi];
            for (n = 1; n <= 9; n += 4) {
                uniql_matmul_options o;
                ASSERT_OK(uniql_matmul_ex(&m, X, n, (size_t)C, y0, (size_t)R, UNIQL_KERNEL_SCALAR | UNIQL_KERNEL_I8ACT));
                if (simd) {
                    ASSERT_OK(uniql_matmul_ex(&m, X, n, (size_t)C, y1, (size_t)R, simd | UNIQL_KERNEL_I8ACT));
                    ASSERT_MEM_EQ(y0, y1, sizeof(float) * (size_t)n * R);
                    checked++;
                }
                if (vnni) {
                    ASSERT_OK(uniql_matmul_ex(&m, X, n, (size_t)C, y1, (size_t)R, vnni | UNIQL_KERNEL_I8ACT));
                    ASSERT_MEM_EQ(y0, y1, sizeof(float) * (size_t)n * R);
                    checked++;
                }
                memset(&o, 0, sizeof o);
                o.kernel = UNIQL_KERNEL_I8ACT;
                o.parallel = &par;
                ASSERT_OK(uniql_matmul_par(&m, X, n, (size_t)C, y1, (size_t)R, &o));
                ASSERT_MEM_EQ(y0, y1, sizeof(float) * (size_t)n * R);
                checked++;
            }
        }
    uq_pool_destroy(pool);
    free(data); free(sc); free(zp); free(X); free(y0); free(y1);
    UQ_NOTE("%d results (groups 256 / 512, Q4 / Q4Z, n = 1, 5, 9) equal to the scalar bits", checked);
    PASS();
}

/* I8ACT with tiny activations: max|x| below 127 / FLT_MAX (127 / max|x| overflows) and
   subnormal x. Known answer: y = sum dq(w) x within 1e-2 relative (the int8 step), the same
   for scalar and SIMD; zeros next to a tiny value stay zero (before the fix, 0 * inf = NaN
   became -127 on AVX2). */
TEST int8_activation_tiny_scales(void)
{
    static const float mags[4] = { 1e-39f, 3e-38f, 1e-37f, 1e-30f };
    float w[32 * 64], dq[32 * 64], x[64], y[32];
    int dti, tr, mi, k, j, simd = simd_kernel();
    for (j = 0; j < 32 * 64; j++) w[j] = (float)((j * 7) % 13 - 6) / 6.0f;
    for (dti = 3; dti < 6; dti++)
    for (tr = 0; tr < 2; tr++)
    for (mi = 0; mi < 4; mi++) {
        uniql_matrix m;
        void *buf;
        int rows = tr ? 32 : 2, cols = 64, kk;
        if (tr && dti == 5) continue;   /* Q8 has no transposed view */
        ASSERT_OK(quantize_new((uniql_dtype)dti, 32, 0, tr, w, rows, cols, &buf, &m));
        ASSERT_OK(uniql_dequantize(&m, dq, (size_t)cols));
        for (j = 0; j < 64; j++) x[j] = 0.0f;
        for (j = 0; j < cols; j += 5) x[j] = mags[mi] * (float)(j % 3 - 1 ? 1 : -1) * (1.0f + (float)j / 64.0f);
        for (kk = 0; kk < 2; kk++) {
            int kern = (kk ? simd : UNIQL_KERNEL_SCALAR) | UNIQL_KERNEL_I8ACT;
            ASSERT_OK(uniql_matmul_ex(&m, x, 1, (size_t)cols, y, (size_t)rows, kern));
            for (k = 0; k < rows; k++) {
                double ex = 0, ab = 0;
                for (j = 0; j < cols; j++) { ex += (double)dq[k * cols + j] * x[j]; ab += fabs((double)dq[k * cols + j] * x[j]); }
                ASSERTm("I8ACT tiny scale: finite", isfinite(y[k]));
                ASSERTm("I8ACT tiny scale: known answer", fabs((double)y[k] - ex) <= 1e-2 * ab + 1e-44);
            }
        }
        free(buf);
    }
    PASS();
}

/* The prefill tiles of the I8ACT row path: AVX2 (4-token tile, AVX2 activation quantizer)
   and VNNI (two rows x 2..8 tokens, and two rows x 1 token: the decode GEMV, both with
   vpdpbusd) give the scalar reference's bits for
   Q4 / Q4Z at every group, odd row counts (a single row left over, whose tokens go to the
   4-token qdot8), partial blocks, odd block counts, the 4096-column chunk boundary, 1..17
   tokens (AVX2: tiles of 4 plus 1..3; VNNI: tiles of 8 plus 1..7),
   blocked (per-head) views, with and without the caller's work buffer, activations of
   very different magnitudes per token (tiny, zero blocks, huge), and NaN / Inf anywhere
   in a token. */
TEST int8_prefill_tiles_equal_scalar(void)
{
    static const int shapes[][2] = { { 1, 64 }, { 2, 33 }, { 3, 96 }, { 7, 257 }, { 33, 2048 }, { 6, 4196 }, { 5, 8192 } };
    static const int groups[3] = { 32, 64, 128 };
    static const float scale_of[9] = { 1.0f, 1e-39f, 300.0f, 1e-30f, 1.0f, 0.0f, 7.5f, 3e-38f, 1.0f };
    int kern[3], nk = 0, si, gi, dti, n, t, c, i, k, checked = 0;
    trng r = { 321 };
    size_t work_size = 1u << 20;
    /* 32-byte aligned, as the all-tokens path of uniql_matmul_par requires (a misaligned
       buffer falls back to the bounded per-tile path, which this test also runs) */
    unsigned char *work_raw = (unsigned char *)malloc(work_size + 32);
    unsigned char *work = work_raw ? work_raw + ((32u - ((uintptr_t)work_raw & 31u)) & 31u) : NULL;
    if (uniql_kernel_available(UNIQL_KERNEL_AVX2)) kern[nk++] = UNIQL_KERNEL_AVX2;
    if (uniql_kernel_available(UNIQL_KERNEL_VNNI)) kern[nk++] = UNIQL_KERNEL_VNNI;
    if (uniql_kernel_available(UNIQL_KERNEL_NEON)) kern[nk++] = UNIQL_KERNEL_NEON;
    ASSERT(work != NULL);
    if (!nk) { free(work_raw); SKIPm("no SIMD kernel set on this CPU / build"); }
    for (si = 0; si < (int)(sizeof shapes / sizeof shapes[0]); si++)
    for (gi = 0; gi < 3; gi++) {
        int rows = shapes[si][0], cols = shapes[si][1];
        float *w = (float *)malloc(sizeof(float) * (size_t)rows * cols), *X = (float *)malloc(sizeof(float) * 17 * (size_t)cols);
        float *y0 = (float *)malloc(sizeof(float) * 17 * (size_t)rows), *y1 = (float *)malloc(sizeof(float) * 17 * (size_t)rows);
        fill_adversarial(&r, w, rows, cols);
        trng_fill_normal_f32(&r, X, (size_t)17 * cols, 1.0);
        for (t = 0; t < 17; t++)
            for (c = 0; c < cols; c++) X[(size_t)t * cols + c] *= scale_of[t % 9];
        for (c = 32; c < 64 && c < cols; c++) X[(size_t)4 * cols + c] = 0.0f;   /* a zero block in token 4 */
        for (dti = 3; dti < 5; dti++) {
            uniql_matrix m, v;
            void *buf;
            int vi;
            ASSERT_OK(quantize_new((uniql_dtype)dti, groups[gi], 0, 0, w, rows, cols, &buf, &m));
            for (vi = 0; vi < 2; vi++) {
                const uniql_matrix *M = &m;
                if (vi) {
                    if (rows % 3 || uniql_matrix_block_prefix(&m, 3, 2, &v) != UNIQL_OK) continue;
                    M = &v;
                }
                for (n = 1; n <= 17; n++) {
                    ASSERT_OK(uniql_matmul_ex(M, X, n, (size_t)cols, y0, (size_t)M->rows, UNIQL_KERNEL_SCALAR | UNIQL_KERNEL_I8ACT));
                    for (k = 0; k < nk; k++) {
                        uniql_matmul_options o;
                        memset(&o, 0, sizeof o);
                        o.kernel = kern[k] | UNIQL_KERNEL_I8ACT;
                        ASSERT_OK(uniql_matmul_ex(M, X, n, (size_t)cols, y1, (size_t)M->rows, o.kernel));
                        ASSERTm("I8ACT prefill tile == scalar bit for bit", !memcmp(y0, y1, sizeof(float) * (size_t)n * M->rows));
                        o.work = work;
                        o.work_size = work_size;
                        ASSERT(uniql_matmul_work_bytes(M, n, o.kernel) <= work_size);
                        memset(y1, 0, sizeof(float) * (size_t)n * M->rows);
                        ASSERT_OK(uniql_matmul_par(M, X, n, (size_t)cols, y1, (size_t)M->rows, &o));
                        ASSERTm("I8ACT prefill tile with work == scalar bit for bit", !memcmp(y0, y1, sizeof(float) * (size_t)n * M->rows));
                        checked++;
                    }
                }
            }
            /* a NaN / Inf in the middle or at the end of any token of a tile */
            for (i = 0; i < 4; i++) {
                size_t at = (size_t)(i % 3) * cols + (size_t)(i < 2 ? cols / 2 : cols - 1);
                float keep = X[at];
                X[at] = i & 1 ? INFINITY : NAN;
                for (k = 0; k < nk; k++) {
                    uniql_matmul_options o;
                    memset(&o, 0, sizeof o);
                    o.kernel = kern[k] | UNIQL_KERNEL_I8ACT;
                    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_matmul_ex(&m, X, 4, (size_t)cols, y1, (size_t)rows, o.kernel));
                    o.work = work;
                    o.work_size = work_size;
                    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_matmul_par(&m, X, 4, (size_t)cols, y1, (size_t)rows, &o));
                }
                X[at] = keep;
            }
            free(buf);
        }
        free(w); free(X); free(y0); free(y1);
    }
    free(work_raw);
    UQ_NOTE("%d (matrix, n, kernel) cases: SIMD prefill tiles == scalar, with and without work", checked);
    PASS();
}

/* Float weights in row storage (the prefill / calibration GEMM, uniql__fgemm_*): the AVX2
   register tiles and the VNNI set's 512-bit tiles (4 row pairs x 8 tokens) equal the scalar reference bit for bit (same fused multiply-adds in the
   same order), a token's outputs are the same bits whatever the batch (n = 1..9, any place
   in it) and the thread count (none / 1 / 3 workers), and every output is within the
   rounding bound of its summation tree against the exact sum in double:
   |y - sum w x| <= gamma_k sum |w x|, k = floor(L/8) + 3 + 2 (L mod 8), gamma_k = k u / (1 - k u),
   u = 2^-24 (lane chains of floor(L/8) FMAs, the 3-level lane sum, a multiply and an add per
   tail column), plus k 2^-149 for results in the subnormal range. Shapes: tails of every width, 3-row / 8-row tile edges, 2051 columns. */
TEST float_gemm_tiles_equal_scalar(void)
{
    static const int shapes[][2] = { { 1, 1 }, { 2, 7 }, { 3, 8 }, { 5, 9 }, { 8, 16 }, { 9, 100 }, { 25, 257 }, { 50, 600 }, { 30, 2051 } };
    const int N = 9, simd = uniql_kernel_available(UNIQL_KERNEL_AVX2) ? UNIQL_KERNEL_AVX2 : 0;
    const int vnni = uniql_kernel_available(UNIQL_KERNEL_VNNI) ? UNIQL_KERNEL_VNNI : 0;
    uq_pool *p1 = uq_pool_create(1), *p3 = uq_pool_create(3);
    uniql_parallel pars[2];
    trng r = { 2024 };
    size_t si;
    int dti, n, t, i, checked = 0, views;
    double worst = 0;
    uq_status st = UQ_PASS;
    pars[0] = uq_pool_parallel(p1);
    pars[1] = uq_pool_parallel(p3);
    for (si = 0; si < sizeof shapes / sizeof shapes[0] && st == UQ_PASS; si++) {
        int rows = shapes[si][0], cols = shapes[si][1];
        size_t ldx = (size_t)cols + 5, ny = (size_t)N * rows;
        float *w = (float *)malloc(sizeof(float) * rows * cols), *X = (float *)malloc(sizeof(float) * N * ldx);
        float *ys = (float *)malloc(sizeof(float) * ny), *ya = (float *)malloc(sizeof(float) * ny);
        float *y1 = (float *)malloc(sizeof(float) * ny), *d = (float *)malloc(sizeof(float) * rows * cols);
        fill_adversarial(&r, w, rows, cols);
        trng_fill_normal_f32(&r, X, (size_t)N * ldx, 1.0);
        for (dti = 0; dti < 3 && st == UQ_PASS; dti++) {
            uniql_matrix m, v;
            void *buf = float_matrix((uniql_dtype)dti, 0, w, rows, cols, &m);
            for (views = 0; views < 2 && st == UQ_PASS; views++) {
                const uniql_matrix *M = &m;
                int R, C, L8, k;
                if (views) {
                    if (rows < 3 || cols < 3 || uniql_matrix_prefix(&m, rows - rows / 3, cols - cols / 3, &v) != UNIQL_OK) break;
                    M = &v;
                }
                R = M->rows; C = M->cols; L8 = C / 8 * 8;
                k = C / 8 + 3 + 2 * (C - L8);
                uniql_dequantize(M, d, (size_t)C);
                /* each token alone (n = 1, the decode GEMV), scalar */
                for (t = 0; t < N && st == UQ_PASS; t++)
                    if (uniql_matmul_ex(M, X + (size_t)t * ldx, 1, ldx, y1 + (size_t)t * R, (size_t)R, UNIQL_KERNEL_SCALAR) != UNIQL_OK) st = UQ_FAIL;
                for (n = 1; n <= N && st == UQ_PASS; n++) {
                    int v2;
                    if (uniql_matmul_ex(M, X, n, ldx, ys, (size_t)R, UNIQL_KERNEL_SCALAR) != UNIQL_OK) { st = UQ_FAIL; break; }
                    if (memcmp(ys, y1, sizeof(float) * (size_t)n * R)) { UQ_NOTE("dtype %d %dx%d n %d: batch != alone", dti, R, C, n); st = UQ_FAIL; break; }
                    for (t = 0; t < n; t++)
                        for (i = 0; i < R; i++) {
                            double s = 0, a = 0, g = (double)k * 0x1p-24 / (1.0 - (double)k * 0x1p-24), e;
                            int c;
                            for (c = 0; c < C; c++) {
                                double pr = (double)d[(size_t)i * C + c] * X[(size_t)t * ldx + c];
                                s += pr;
                                a += fabs(pr);
                            }
                            e = fabs(ys[(size_t)t * R + i] - s);
                            if (a > 0 && e / a > worst) worst = e / a;
                            if (!(e <= g * a * (1 + 1e-12) + k * 0x1p-149)) { UQ_NOTE("dtype %d %dx%d n %d: |err| %.3g > bound %.3g", dti, R, C, n, e, g * a); st = UQ_FAIL; }
                        }
                    /* variants: 0 AVX2, 1 VNNI (the 512-bit tile), 2-4 the best set with no pool /
                       1 / 3 workers */
                    for (v2 = 0; v2 < 5 && st == UQ_PASS; v2++) {
                        uniql_matmul_options o;
                        memset(&o, 0, sizeof o);
                        if (v2 < 2) {
                            int kv = v2 == 0 ? simd : vnni;
                            if (!kv) continue;
                            if (uniql_matmul_ex(M, X, n, ldx, ya, (size_t)R, kv) != UNIQL_OK) { st = UQ_FAIL; break; }
                        } else {
                            o.kernel = vnni ? vnni : simd ? simd : UNIQL_KERNEL_SCALAR;
                            o.parallel = v2 == 2 ? NULL : &pars[v2 - 3];
                            if (uniql_matmul_par(M, X, n, ldx, ya, (size_t)R, &o) != UNIQL_OK) { st = UQ_FAIL; break; }
                        }
                        if (memcmp(ys, ya, sizeof(float) * (size_t)n * R)) {
                            UQ_NOTE("dtype %d %dx%d n %d variant %d: not the scalar bits", dti, R, C, n, v2);
                            st = UQ_FAIL;
                        }
                        checked++;
                    }
                }
            }
            free(buf);
        }
        free(w); free(X); free(ys); free(ya); free(y1); free(d);
    }
    uq_pool_destroy(p1);
    uq_pool_destroy(p3);
    UQ_NOTE("%d SIMD / threaded results equal to the scalar bits (%s); worst |err| / sum |w x| %.3g", checked,
            vnni ? "AVX2 and the 512-bit VNNI set" : simd ? "AVX2; no AVX-512 VNNI here" : "no AVX2 here: threads only", worst);
    if (st != UQ_PASS) FAILm("float GEMM: see the note above");
    PASS();
}

TEST matmul_rejects_bad_calls(void)
{
    float w[4] = { 1, 2, 3, 4 }, x[2] = { 1, 1 }, y[2];
    uniql_matrix m = uniql_matrix_f32(w, 2, 2, 2), q = m;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_matmul_ex(&m, x, 1, 2, y, 2, 7));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_matmul_ex(&m, x, 1, 2, y, 2, 32));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_matmul_ex(&m, x, 1, 2, y, 2, 5));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_matmul(&m, x, -1, 2, y, 2));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_matmul(&m, x, 2, 1, y, 2));
#if !(defined(__aarch64__) && defined(__ARM_NEON)) || defined(UNIQL_NO_SIMD)
    ASSERT_ERR(UNIQL_ERR_UNSUPPORTED, uniql_matmul_ex(&m, x, 1, 2, y, 2, UNIQL_KERNEL_NEON));
    ASSERT_EQ(0, uniql_kernel_available(UNIQL_KERNEL_NEON));
#endif
    ASSERT_EQ(1, uniql_kernel_available(UNIQL_KERNEL_SCALAR | UNIQL_KERNEL_I8ACT));
    q.dtype = UNIQL_DTYPE_Q4;   /* no scales */
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_matmul(&q, x, 1, 2, y, 2));
    q.dtype = (uniql_dtype)9;
    ASSERT_ERR(UNIQL_ERR_DTYPE, uniql_matmul(&q, x, 1, 2, y, 2));
    ASSERT_OK(uniql_matmul_ex(&m, x, 1, 2, y, 2, UNIQL_KERNEL_AUTO | UNIQL_KERNEL_I8ACT));   /* floats ignore the flag */
    ASSERT_IN_RANGE(3, y[0], 0);
    ASSERT_IN_RANGE(7, y[1], 0);
    PASS();
}

SUITE(quant_suite)
{
    RUN_TEST(int8_activation_tiny_scales);
    RUN_TEST(int8_prefill_tiles_equal_scalar);
    RUN_TEST(quant_size_is_exact_and_quantize_stays_inside);
    RUN_TEST(round_trip_within_half_a_step);
    RUN_TEST(zero_and_constant_groups);
    RUN_TEST(quantize_rejects_bad_input);
    RUN_TEST(clip_search_never_worse_and_helps_outliers);
    RUN_TEST(views_are_zero_copy_for_every_dtype_and_orientation);
    RUN_TEST(block_prefix_rules);
    RUN_TEST(matmul_every_dtype_matches_dequantized_reference);
    RUN_TEST(simd_matmul_equals_scalar);
    RUN_TEST(float_gemm_tiles_equal_scalar);
    RUN_TEST(int8_activation_path);
    RUN_TEST(int8_activation_transposed);
    RUN_TEST(int8_activation_transposed_big_group);
    RUN_TEST(matmul_rejects_bad_calls);
}
