/* test_pack.c - fused RoPE kernel for pruned heads, the .uniql container (writer, strict
   reader, views), rate / memory-budget selection. */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <stdlib.h>
#include <string.h>

/* ---- fused RoPE: against rotate-the-full-head-then-gather, and SIMD == scalar ---- */

/* n distinct indices from [0, half) in random order (a sorted-by-importance kept set) */
static void rand_pairs(trng *r, int half, int n, int *out)
{
    int *perm = (int *)malloc(sizeof(int) * (size_t)half), i;
    for (i = 0; i < half; i++) perm[i] = i;
    for (i = half - 1; i > 0; i--) {
        int j = (int)(trng_u64(r) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j]; perm[j] = t;
    }
    for (i = 0; i < n; i++) out[i] = perm[i];
    free(perm);
}

TEST rope_fused_equals_rotate_then_gather(void)
{
    static const int shapes[][4] = {   /* n_heads, n_kv_heads, head_dim, n_pairs kept */
        {1, 1, 2, 1}, {3, 1, 16, 5}, {5, 5, 32, 13}, {6, 3, 64, 32}, {7, 7, 24, 9}, {4, 2, 8, 4},
        {9, 3, 128, 47}, {130, 1, 16, 7}, {2, 1, 64, 1}
    };
    trng r = {42};
    int si, checked = 0;
    for (si = 0; si < (int)(sizeof shapes / sizeof shapes[0]); si++) {
        int H = shapes[si][0], KV = shapes[si][1], hd = shapes[si][2], np = shapes[si][3], half = hd / 2;
        int T = 3, t, h, j, rep = H / KV;
        size_t ldq = (size_t)H * 2 * np + 3, ldk = (size_t)KV * 2 * np + 1, ldcs = (size_t)half + 2;
        int *pairs = (int *)malloc(sizeof(int) * (size_t)KV * np);
        float *q = (float *)malloc(sizeof(float) * ldq * T), *k = (float *)malloc(sizeof(float) * ldk * T);
        float *q2 = (float *)malloc(sizeof(float) * ldq * T), *k2 = (float *)malloc(sizeof(float) * ldk * T);
        float *cs = (float *)malloc(sizeof(float) * ldcs * T), *sn = (float *)malloc(sizeof(float) * ldcs * T);
        float *full = (float *)malloc(sizeof(float) * (size_t)hd);
        for (h = 0; h < KV; h++) rand_pairs(&r, half, np, pairs + (size_t)h * np);
        trng_fill_normal_f32(&r, q, ldq * T, 1.0);
        trng_fill_normal_f32(&r, k, ldk * T, 1.0);
        for (t = 0; t < T; t++)
            for (j = 0; j < half; j++) {
                double ang = (t + 1) * 6.0 * trng_unif(&r);
                cs[t * ldcs + j] = (float)cos(ang);
                sn[t * ldcs + j] = (float)sin(ang);
            }
        memcpy(q2, q, sizeof(float) * ldq * T);
        memcpy(k2, k, sizeof(float) * ldk * T);
        uniql_rope_apply_kept_qk(q2, ldq, H, k2, ldk, KV, np, pairs, T, cs, sn, ldcs);
        /* reference: scatter each head into a full rotate_half head, rotate, gather */
        for (t = 0; t < T; t++)
            for (h = 0; h < H + KV; h++) {
                int isk = h >= H, g = isk ? h - H : h / rep;
                const float *src = isk ? k + t * ldk + (size_t)g * 2 * np : q + t * ldq + (size_t)h * 2 * np;
                const float *got = isk ? k2 + t * ldk + (size_t)g * 2 * np : q2 + t * ldq + (size_t)h * 2 * np;
                const int *pl = pairs + (size_t)g * np;
                for (j = 0; j < hd; j++) full[j] = (float)trng_normal(&r);   /* dropped pairs: noise */
                for (j = 0; j < np; j++) { full[pl[j]] = src[2 * j]; full[pl[j] + half] = src[2 * j + 1]; }
                uniql_rope_apply(full, hd, cs + t * ldcs, sn + t * ldcs);
                for (j = 0; j < np; j++) {
                    ASSERT_EQ(0, memcmp(&full[pl[j]], &got[2 * j], sizeof(float)));
                    ASSERT_EQ(0, memcmp(&full[pl[j] + half], &got[2 * j + 1], sizeof(float)));
                    checked += 2;
                }
            }
        /* padding between rows untouched */
        for (t = 0; t < T; t++) {
            ASSERT_EQ(0, memcmp(q + t * ldq + (size_t)H * 2 * np, q2 + t * ldq + (size_t)H * 2 * np, 3 * sizeof(float)));
            ASSERT_EQ(0, memcmp(k + t * ldk + (size_t)KV * 2 * np, k2 + t * ldk + (size_t)KV * 2 * np, sizeof(float)));
        }
        /* scalar twin: bit-identical to the dispatching (SIMD when available) kernel */
        memcpy(q, q2, sizeof(float) * ldq * T);
        memcpy(k, k2, sizeof(float) * ldk * T);
        uniql_rope_apply_kept_qk(q2, ldq, H, k2, ldk, KV, np, pairs, T, cs, sn, ldcs);
        uniql_rope_apply_kept_qk_scalar(q, ldq, H, k, ldk, KV, np, pairs, T, cs, sn, ldcs);
        ASSERT_MEM_EQ(q, q2, sizeof(float) * ldq * T);
        ASSERT_MEM_EQ(k, k2, sizeof(float) * ldk * T);
        /* the per-head scalar kernel is the same rotation */
        uniql_rope_apply_kept(q + ldq, np, pairs, cs, sn);
        uniql_rope_apply_kept_qk_scalar(q2 + ldq, ldq, 1, NULL, 0, 1, np, pairs, 1, cs, sn, ldcs);
        ASSERT_MEM_EQ(q + ldq, q2 + ldq, sizeof(float) * 2 * np);
        free(pairs); free(q); free(k); free(q2); free(k2); free(cs); free(sn); free(full);
    }
    UQ_NOTE("%d rotated values equal rotate-full-then-gather bit for bit", checked);
    PASS();
}

SUITE(pack_suite)
{
    RUN_TEST(rope_fused_equals_rotate_then_gather);
}
