/* test_lsaq.c - LSAQ pure pieces: top-k selection, Jaccard of top-k sets, and the
   memory-budgeted bit allocation (never over budget, monotone, importance-ordered,
   reproducible). Expected values are hand-built sets or brute-force re-computations. */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <stdlib.h>

TEST topk_hand_built(void)
{
    float x[8] = { 0.5f, 3.0f, -1.0f, 3.0f, 2.0f, 7.0f, 0.0f, 2.0f };
    int idx[8];
    ASSERT_OK(uniql_topk(x, 8, 4, idx));
    /* 7 (5), 3 (1), 3 (3: tie, higher index after), 2 (4) */
    ASSERT_EQ(5, idx[0]); ASSERT_EQ(1, idx[1]); ASSERT_EQ(3, idx[2]); ASSERT_EQ(4, idx[3]);
    ASSERT_OK(uniql_topk(x, 8, 8, idx));
    ASSERT_EQ(2, idx[7]);
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_topk(x, 8, 9, idx));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_topk(x, 8, 0, idx));
    x[6] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_topk(x, 8, 2, idx));
    PASS();
}

TEST topk_matches_brute_force(void)
{
    trng r = { 11 };
    int trial;
    for (trial = 0; trial < 200; trial++) {
        int n = 1 + (int)(trng_u64(&r) % 300), k = 1 + (int)(trng_u64(&r) % (unsigned)n), i, j;
        float *x = malloc(sizeof(float) * n);
        int *idx = malloc(sizeof(int) * k), *used = calloc((size_t)n, sizeof(int));
        /* few distinct values -> many ties */
        for (i = 0; i < n; i++) x[i] = (float)(trng_u64(&r) % 7);
        ASSERT_OK(uniql_topk(x, n, k, idx));
        for (j = 0; j < k; j++) {
            /* brute force: the j-th best is the best unused by (value desc, index asc) */
            int best = -1;
            for (i = 0; i < n; i++)
                if (!used[i] && (best < 0 || x[i] > x[best])) best = i;
            ASSERT_EQ(best, idx[j]);
            used[best] = 1;
        }
        free(x); free(idx); free(used);
    }
    PASS();
}

TEST jaccard_hand_built(void)
{
    /* top-3 of a = {0,1,2}, top-3 of b = {1,2,5}: |n| = 2, |u| = 4 */
    float a[6] = { 9, 8, 7, 1, 1, 1 }, b[6] = { 0, 8, 9, 1, 2, 10 };
    int scratch[12]; /* 2*k for the largest k used below */
    double j;
    ASSERT_OK(uniql_topk_jaccard(a, b, 6, 3, scratch, &j));
    ASSERT_IN_RANGE(0.5, j, 1e-15);
    ASSERT_OK(uniql_topk_jaccard(a, a, 6, 3, scratch, &j));
    ASSERT_IN_RANGE(1.0, j, 0);
    {   /* disjoint sets */
        float c[6] = { 0, 0, 0, 5, 6, 7 };
        ASSERT_OK(uniql_topk_jaccard(a, c, 6, 3, scratch, &j));
        ASSERT_IN_RANGE(0.0, j, 0);
    }
    /* k = n: both sets are everything */
    ASSERT_OK(uniql_topk_jaccard(a, b, 6, 6, scratch, &j));
    ASSERT_IN_RANGE(1.0, j, 0);
    b[2] = INFINITY;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_topk_jaccard(a, b, 6, 3, scratch, &j));
    PASS();
}

/* Check every promised property of a plan against a brute-force reading of the rule. */
static int plan_ok(int L, const double *imp, int W, const int *widths, const uint64_t *bytes,
                   uint64_t fixed, uint64_t budget, const int *bits, uint64_t total)
{
    uint64_t sum = fixed;
    int l, m;
    for (l = 0; l < L; l++) {
        int w;
        for (w = 0; w < W && widths[w] != bits[l]; w++) {}
        if (w == W) return 0;
        sum += bytes[(size_t)l * W + w];
    }
    if (sum != total || total > budget) return 0;
    for (l = 0; l < L; l++)
        for (m = 0; m < L; m++)
            if ((imp[l] > imp[m] || (imp[l] == imp[m] && l < m)) && bits[l] < bits[m]) return 0;
    return 1;
}

TEST lsaq_plan_properties(void)
{
    trng r = { 5 };
    int trial;
    for (trial = 0; trial < 100; trial++) {
        int L = 1 + (int)(trng_u64(&r) % 24), W = 1 + (int)(trng_u64(&r) % 4), l, w;
        int widths[4] = { 2, 3, 4, 8 }, *bits = malloc(sizeof(int) * L), *prev = malloc(sizeof(int) * L);
        double *imp = malloc(sizeof(double) * L);
        uint64_t *bytes = malloc(sizeof(uint64_t) * L * W), fixed = trng_u64(&r) % 1000, lo = fixed, hi = fixed, b, total;
        if (W < 4) { widths[0] = 4; widths[1] = 8; widths[2] = 16; }
        for (l = 0; l < L; l++) {
            uint64_t n = 100 + trng_u64(&r) % 5000;
            imp[l] = (double)(trng_u64(&r) % 5) / 4.0; /* ties on purpose */
            for (w = 0; w < W; w++) bytes[(size_t)l * W + w] = n * (uint64_t)widths[w] / 8 + 16;
            lo += bytes[(size_t)l * W];
            hi += bytes[(size_t)l * W + W - 1];
        }
        ASSERT_ERR(UNIQL_ERR_BUDGET, uniql_lsaq_plan(L, imp, W, widths, bytes, fixed, lo - 1, bits, &total));
        for (l = 0; l < L; l++) prev[l] = widths[0];
        for (b = lo; ; b += 1 + (hi - lo) / 37) {
            if (b > hi) b = hi;
            ASSERT_OK(uniql_lsaq_plan(L, imp, W, widths, bytes, fixed, b, bits, &total));
            ASSERT(plan_ok(L, imp, W, widths, bytes, fixed, b, bits, total));
            for (l = 0; l < L; l++) ASSERTm("more memory never lowers a width", bits[l] >= prev[l]);
            for (l = 0; l < L; l++) prev[l] = bits[l];
            {   /* reproducible */
                int *again = malloc(sizeof(int) * L);
                uint64_t t2;
                ASSERT_OK(uniql_lsaq_plan(L, imp, W, widths, bytes, fixed, b, again, &t2));
                ASSERT_MEM_EQ(bits, again, sizeof(int) * L);
                free(again);
            }
            if (b == hi) break;
        }
        for (l = 0; l < L; l++) ASSERT_EQ(widths[W - 1], bits[l]); /* all-max fits at hi */
        free(bits); free(prev); free(imp); free(bytes);
    }
    PASS();
}

TEST lsaq_plan_upgrades_most_important_first(void)
{
    /* 4 equal layers, importance 0.1 0.9 0.5 0.9; room for exactly two upgrades */
    double imp[4] = { 0.1, 0.9, 0.5, 0.9 };
    int widths[2] = { 4, 8 }, bits[4];
    uint64_t bytes[8] = { 50, 100, 50, 100, 50, 100, 50, 100 }, total;
    ASSERT_OK(uniql_lsaq_plan(4, imp, 2, widths, bytes, 10, 10 + 200 + 100, bits, &total));
    ASSERT_EQ(4, bits[0]); ASSERT_EQ(8, bits[1]); ASSERT_EQ(4, bits[2]); ASSERT_EQ(8, bits[3]);
    ASSERT_EQ(310, total);
    /* one byte less: only layer 1 (tie with 3, lower index first) */
    ASSERT_OK(uniql_lsaq_plan(4, imp, 2, widths, bytes, 10, 309, bits, &total));
    ASSERT_EQ(8, bits[1]); ASSERT_EQ(4, bits[3]);
    ASSERT_EQ(260, total);
    imp[2] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_lsaq_plan(4, imp, 2, widths, bytes, 10, 1000, bits, &total));
    widths[1] = 4;
    imp[2] = 0.5;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_lsaq_plan(4, imp, 2, widths, bytes, 10, 1000, bits, &total));
    PASS();
}

SUITE(lsaq_suite)
{
    RUN_TEST(topk_hand_built);
    RUN_TEST(topk_matches_brute_force);
    RUN_TEST(jaccard_hand_built);
    RUN_TEST(lsaq_plan_properties);
    RUN_TEST(lsaq_plan_upgrades_most_important_first);
}
