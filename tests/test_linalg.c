/* test_linalg.c - Jacobi SVD, symmetric eigensolver and C^{+-1/2}, streaming correlation,
   ridge leverage + argsort, quantization-aware V/O decomposition.

   Known answers: every test matrix is built from factors the test knows exactly, e.g.
   A = U diag(s) V^T with U, V orthonormal columns from a Householder QR of a Gaussian
   matrix (written here, independent of the library) and prescribed s; correlations with
   prescribed eigenvalues; integer data whose sums are exact. */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include "../tools/uq_threads.h"
#include <stdlib.h>
#include <string.h>
#include <float.h>

/* ---- helpers: exact constructions and independent measurements ----------------------- */

static double *dalloc(size_t n) { return (double *)calloc(n ? n : 1, sizeof(double)); }

/* Q (n x k, orthonormal columns, row-major) = the Q factor of the Householder QR of an
   n x k Gaussian matrix. */
static void rand_orth(trng *r, int n, int k, double *Q)
{
    double *G = dalloc((size_t)n * k), *beta = dalloc((size_t)k), *y = dalloc((size_t)n);
    int i, j, c, t;
    for (j = 0; j < k; j++)
        for (i = 0; i < n; i++) G[(size_t)j * n + i] = trng_normal(r); /* column j at G + j*n */
    for (j = 0; j < k; j++) {
        double *x = G + (size_t)j * n + j, nn = 0, alpha, vv = 0;
        for (i = 0; i < n - j; i++) nn += x[i] * x[i];
        alpha = x[0] >= 0 ? -sqrt(nn) : sqrt(nn);
        x[0] -= alpha;
        for (i = 0; i < n - j; i++) vv += x[i] * x[i];
        beta[j] = vv > 0 ? 2.0 / vv : 0.0;
        for (c = j + 1; c < k; c++) {
            double *yc = G + (size_t)c * n + j, s = 0;
            for (i = 0; i < n - j; i++) s += x[i] * yc[i];
            for (i = 0; i < n - j; i++) yc[i] -= beta[j] * s * x[i];
        }
    }
    for (c = 0; c < k; c++) {
        for (i = 0; i < n; i++) y[i] = i == c;
        for (j = k - 1; j >= 0; j--) {
            const double *v = G + (size_t)j * n + j;
            double s = 0;
            for (t = 0; t < n - j; t++) s += v[t] * y[j + t];
            for (t = 0; t < n - j; t++) y[j + t] -= beta[j] * s * v[t];
        }
        for (i = 0; i < n; i++) Q[(size_t)i * k + c] = y[i];
    }
    free(G); free(beta); free(y);
}

/* A (m x n) = U diag(s) V^T, U m x k, V n x k */
static void build_usv(int m, int n, int k, const double *U, const double *s, const double *V, double *A)
{
    int i, j, t;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double a = 0;
            for (t = 0; t < k; t++) a += U[(size_t)i * k + t] * s[t] * V[(size_t)j * k + t];
            A[(size_t)i * n + j] = a;
        }
}

/* |A - U diag(S) V^T|_F / |A|_F (absolute when A == 0) */
static double svd_residual(int m, int n, int k, const double *A, const double *U, const double *S, const double *V)
{
    double num = 0, den = 0;
    int i, j, t;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double a = 0, d;
            for (t = 0; t < k; t++) a += U[(size_t)i * k + t] * S[t] * V[(size_t)j * k + t];
            d = A[(size_t)i * n + j] - a;
            num += d * d;
            den += A[(size_t)i * n + j] * A[(size_t)i * n + j];
        }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* max |Q^T Q - I| for Q rows x k (ld k): the largest entry, since the Frobenius norm of
   rounding noise grows with k alone */
static double orth_err(int rows, int k, const double *Q)
{
    double worst = 0;
    int i, j, t;
    for (i = 0; i < k; i++)
        for (j = i; j < k; j++) {
            double s = 0;
            for (t = 0; t < rows; t++) s += Q[(size_t)t * k + i] * Q[(size_t)t * k + j];
            s -= i == j;
            if (fabs(s) > worst) worst = fabs(s);
        }
    return worst;
}

/* prescribed singular values sorted descending (the test keeps its own copy) */
static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* One full SVD check: A = U0 diag(s) V0^T (k = min(m, n) prescribed values, any order),
   residual, orthogonality and values (relative 1e-12, or absolute 1e-13 s_max). */
static uq_status check_svd_case(trng *r, int m, int n, const double *s_in, double tol_res, double tol_orth)
{
    int k = m < n ? m : n, i, sweeps = 0;
    double *U0 = dalloc((size_t)m * k), *V0 = dalloc((size_t)n * k), *A = dalloc((size_t)m * n);
    double *U = dalloc((size_t)m * k), *V = dalloc((size_t)n * k), *S = dalloc((size_t)k), *s = dalloc((size_t)k);
    double res, ou, ov, smax;
    uniql_result rc;
    memcpy(s, s_in, (size_t)k * sizeof *s);
    rand_orth(r, m, k, U0);
    rand_orth(r, n, k, V0);
    build_usv(m, n, k, U0, s, V0, A);
    qsort(s, (size_t)k, sizeof *s, cmp_desc);
    rc = uniql_svd_f64(m, n, A, (size_t)n, S, U, (size_t)k, V, (size_t)k, NULL, &sweeps);
    res = svd_residual(m, n, k, A, U, S, V);
    ou = orth_err(m, k, U);
    ov = orth_err(n, k, V);
    smax = s[0];
    free(U0); free(V0); free(A); free(U); free(V);
    if (rc != UNIQL_OK) { free(S); free(s); UQ__FAILF("%dx%d: svd returned %d", m, n, (int)rc); }
    if (!(res <= tol_res && ou <= tol_orth && ov <= tol_orth)) {
        free(S); free(s);
        UQ__FAILF("%dx%d: residual %.3g, |U^TU-I| %.3g, |V^TV-I| %.3g", m, n, res, ou, ov);
    }
    for (i = 0; i < k; i++) {
        double err = fabs(S[i] - s[i]);
        if (!(err <= 1e-12 * s[i] || err <= 1e-13 * smax)) {
            double got = S[i], want = s[i];
            free(S); free(s);
            UQ__FAILF("%dx%d: sigma[%d] = %.17g, expected %.17g", m, n, i, got, want);
        }
        if (i > 0 && S[i] > S[i - 1]) { free(S); free(s); UQ__FAILF("%dx%d: not descending at %d", m, n, i); }
    }
    free(S); free(s);
    (void)sweeps;
    return UQ_PASS;
}

#define CHECK(call) do { uq_status st_ = (call); if (st_ != UQ_PASS) return st_; } while (0)

/* ---- SVD --------------------------------------------------------------------------------- */

TEST svd_known_spectra_condition_1_to_1e12(void)
{
    trng r = { 11 };
    static const int shapes[][2] = { { 40, 30 }, { 30, 40 }, { 64, 64 }, { 97, 13 }, { 13, 97 } };
    static const double conds[] = { 1.0, 1e4, 1e8, 1e12 };
    double s[128];
    int a, c, i;
    for (a = 0; a < 5; a++)
        for (c = 0; c < 4; c++) {
            int k = shapes[a][0] < shapes[a][1] ? shapes[a][0] : shapes[a][1];
            /* geometric from 1 down to 1/cond, shuffled so the input order is not sorted */
            for (i = 0; i < k; i++) s[i] = k == 1 ? 1.0 : pow(conds[c], -(double)((i * 7) % k) / (k - 1));
            CHECK(check_svd_case(&r, shapes[a][0], shapes[a][1], s, 1e-13, 1e-13));
        }
    PASS();
}

TEST svd_sizes_up_to_256(void)
{
    trng r = { 12 };
    static const int shapes[][2] = { { 128, 128 }, { 256, 256 }, { 256, 100 }, { 100, 256 } };
    double s[256];
    int a, i;
    for (a = 0; a < 4; a++) {
        int k = shapes[a][0] < shapes[a][1] ? shapes[a][0] : shapes[a][1];
        for (i = 0; i < k; i++) s[i] = 1.0 + 10.0 * trng_unif(&r); /* random, dense spectrum */
        CHECK(check_svd_case(&r, shapes[a][0], shapes[a][1], s, 1e-13, 1e-13));
    }
    PASS();
}

TEST svd_repeated_values(void)
{
    trng r = { 13 };
    double s[24];
    int i;
    for (i = 0; i < 24; i++) s[i] = i < 8 ? 3.0 : i < 16 ? 2.0 : 1e-3; /* three 8-fold values */
    CHECK(check_svd_case(&r, 50, 24, s, 1e-13, 1e-13));
    CHECK(check_svd_case(&r, 24, 31, s, 1e-13, 1e-13));
    for (i = 0; i < 24; i++) s[i] = 5.0; /* A = 5 x (orthonormal columns): every value equal */
    CHECK(check_svd_case(&r, 40, 24, s, 1e-13, 1e-13));
    PASS();
}

TEST svd_rank_deficient(void)
{
    trng r = { 14 };
    double s[32];
    int i;
    /* numerically rank 20 of 32: the 12 zero values come back as rounding noise */
    for (i = 0; i < 32; i++) s[i] = i < 20 ? 1.0 + i : 0.0;
    CHECK(check_svd_case(&r, 45, 32, s, 1e-13, 1e-13));
    CHECK(check_svd_case(&r, 32, 45, s, 1e-13, 1e-13));
    PASS();
}

TEST svd_exactly_rank_deficient_and_zero(void)
{
    /* exact zeros: columns 1 and 3 are zero, column 2 equals column 0; rank 2 */
    enum { M = 6, N = 5 };
    double A[M * N], U[M * N], S[N], V[N * N];
    int i;
    for (i = 0; i < M; i++) {
        A[i * N + 0] = i + 1;
        A[i * N + 1] = 0;
        A[i * N + 2] = i + 1;
        A[i * N + 3] = 0;
        A[i * N + 4] = i == 0 ? 6 : i == 5 ? -1 : 0; /* orthogonal to (1..6) */
    }
    ASSERT_OK(uniql_svd_f64(M, N, A, N, S, U, N, V, N, NULL, NULL));
    /* sigma_1 = sqrt(2) |(1..6)| = sqrt(182), sigma_2 = |(6,0,0,0,0,-1)| = sqrt(37) */
    ASSERT_IN_RANGE(sqrt(182.0), S[0], 1e-13 * S[0]);
    ASSERT_IN_RANGE(sqrt(37.0), S[1], 1e-13 * S[0]);
    ASSERT_LE(S[2], 1e-14 * S[0]);
    ASSERT_LE(svd_residual(M, N, N, A, U, S, V), 1e-14);
    ASSERTm("U completed to an orthonormal set", orth_err(M, N, U) <= 1e-14);
    ASSERTm("V orthonormal", orth_err(N, N, V) <= 1e-14);

    /* the zero matrix: S = 0, U and V still orthonormal */
    memset(A, 0, sizeof A);
    ASSERT_OK(uniql_svd_f64(M, N, A, N, S, U, N, V, N, NULL, NULL));
    for (i = 0; i < N; i++) ASSERT_EQ(0, S[i] != 0.0);
    ASSERT_LE(orth_err(M, N, U), 1e-15);
    ASSERT_LE(orth_err(N, N, V), 1e-15);
    ASSERT_OK(uniql_svd_f64(N, M, A, M, S, V, N, U, N, NULL, NULL)); /* wide zero matrix */
    ASSERT_LE(orth_err(M, N, U), 1e-15);
    ASSERT_LE(orth_err(N, N, V), 1e-15);
    PASS();
}

TEST svd_vectors_and_matrices_of_one_row_or_column(void)
{
    double a1 = -3.0, s1, u1, v1;
    double row[5] = { 1, -2, 2, 0, 4 }, S[1], U[5], V[5];
    int i;
    ASSERT_OK(uniql_svd_f64(1, 1, &a1, 1, &s1, &u1, 1, &v1, 1, NULL, NULL));
    ASSERT_IN_RANGE(3.0, s1, 0.0);
    ASSERT_IN_RANGE(-3.0, u1 * s1 * v1, 0.0);
    ASSERT_IN_RANGE(1.0, fabs(u1), 0.0);
    /* 1 x 5: sigma = |row| = 5, V = +-row / 5, U = +-1 */
    ASSERT_OK(uniql_svd_f64(1, 5, row, 5, S, U, 1, V, 1, NULL, NULL));
    ASSERT_IN_RANGE(5.0, S[0], 1e-15);
    ASSERT_IN_RANGE(1.0, fabs(U[0]), 1e-15);
    for (i = 0; i < 5; i++) ASSERT_IN_RANGE(row[i] / 5.0, U[0] * V[i], 1e-15);
    /* 5 x 1 */
    ASSERT_OK(uniql_svd_f64(5, 1, row, 1, S, U, 1, V, 1, NULL, NULL));
    ASSERT_IN_RANGE(5.0, S[0], 1e-15);
    for (i = 0; i < 5; i++) ASSERT_IN_RANGE(row[i] / 5.0, U[i] * V[0], 1e-15);
    /* values only */
    ASSERT_OK(uniql_svd_f64(5, 1, row, 1, S, NULL, 0, NULL, 0, NULL, NULL));
    ASSERT_IN_RANGE(5.0, S[0], 1e-15);
    PASS();
}

TEST svd_2x2_closed_form(void)
{
    /* [[3, 0], [4, 5]]: A^T A = [[25, 20], [20, 25]] -> sigma^2 = 45, 5 */
    double A[4] = { 3, 0, 4, 5 }, S[2], U[4], V[4];
    ASSERT_OK(uniql_svd_f64(2, 2, A, 2, S, U, 2, V, 2, NULL, NULL));
    ASSERT_IN_RANGE(sqrt(45.0), S[0], 1e-15 * 8);
    ASSERT_IN_RANGE(sqrt(5.0), S[1], 1e-15 * 8);
    ASSERT_LE(svd_residual(2, 2, 2, A, U, S, V), 1e-15);
    PASS();
}

TEST svd_extreme_magnitudes_scale_exactly(void)
{
    /* powers of two scale a matrix exactly, so its SVD must scale exactly too */
    trng r = { 15 };
    enum { M = 20, N = 12 };
    double A[M * N], B[M * N], S1[N], S2[N], S3[N];
    int i;
    for (i = 0; i < M * N; i++) A[i] = trng_normal(&r);
    ASSERT_OK(uniql_svd_f64(M, N, A, N, S1, NULL, 0, NULL, 0, NULL, NULL));
    for (i = 0; i < M * N; i++) B[i] = ldexp(A[i], 990);
    ASSERT_OK(uniql_svd_f64(M, N, B, N, S2, NULL, 0, NULL, 0, NULL, NULL));
    for (i = 0; i < M * N; i++) B[i] = ldexp(A[i], -1000);
    ASSERT_OK(uniql_svd_f64(M, N, B, N, S3, NULL, 0, NULL, 0, NULL, NULL));
    for (i = 0; i < N; i++) {
        ASSERT_IN_RANGE(S1[i], ldexp(S2[i], -990), 0.0);
        ASSERT_IN_RANGE(S1[i], ldexp(S3[i], 1000), 0.0);
    }
    /* a singular value above DBL_MAX is a range error, not Inf */
    for (i = 0; i < M * N; i++) B[i] = DBL_MAX;
    ASSERT_ERR(UNIQL_ERR_RANGE, uniql_svd_f64(M, N, B, N, S2, NULL, 0, NULL, 0, NULL, NULL));
    PASS();
}

TEST svd_f32_matches_with_float_bounds(void)
{
    trng r = { 16 };
    enum { M = 70, N = 45 };
    double U0[M * N], V0[N * N], s[N], A[M * N];
    float Af[M * N], Uf[M * N], Vf[N * N], Sf[N];
    double Ud[M * N], Vd[N * N], Sd[N];
    int i;
    for (i = 0; i < N; i++) s[i] = pow(10.0, -4.0 * i / (N - 1)); /* cond 1e4 */
    rand_orth(&r, M, N, U0);
    rand_orth(&r, N, N, V0);
    build_usv(M, N, N, U0, s, V0, A);
    for (i = 0; i < M * N; i++) { Af[i] = (float)A[i]; A[i] = Af[i]; } /* the float data, exactly */
    ASSERT_OK(uniql_svd_f32(M, N, Af, N, Sf, Uf, N, Vf, N, NULL, NULL));
    for (i = 0; i < M * N; i++) Ud[i] = Uf[i];
    for (i = 0; i < N * N; i++) Vd[i] = Vf[i];
    for (i = 0; i < N; i++) Sd[i] = Sf[i];
    ASSERT_LE(svd_residual(M, N, N, A, Ud, Sd, Vd), 1e-6);
    ASSERT_LE(orth_err(M, N, Ud), 1e-6);
    ASSERT_LE(orth_err(N, N, Vd), 1e-6);
    /* the float results are the double results rounded */
    ASSERT_OK(uniql_svd_f64(M, N, A, N, Sd, NULL, 0, NULL, 0, NULL, NULL));
    for (i = 0; i < N; i++) ASSERT_IN_RANGE((float)Sd[i], Sf[i], 0.0);
    PASS();
}

TEST svd_errors_and_sweep_cap(void)
{
    trng r = { 17 };
    enum { M = 64, N = 64 };
    double *A = dalloc(M * N), S[N], U[M * N], V[N * N], s[N], *U0 = dalloc(M * N), *V0 = dalloc(N * N);
    float Af[4] = { 1, 2, 3, 4 }, Sf[2];
    uniql_svd_opts o;
    int i, sweeps = 0;
    for (i = 0; i < N; i++) s[i] = pow(10.0, -12.0 * i / (N - 1));
    rand_orth(&r, M, N, U0);
    rand_orth(&r, N, N, V0);
    build_usv(M, N, N, U0, s, V0, A);
    memset(&o, 0, sizeof o);
    o.max_sweeps = 1; /* a condition-1e12 matrix needs several sweeps */
    ASSERT_ERR(UNIQL_ERR_NO_CONVERGENCE, uniql_svd_f64(M, N, A, N, S, U, N, V, N, &o, &sweeps));
    ASSERT_EQ(1, sweeps);
    o.max_sweeps = 0;
    ASSERT_OK(uniql_svd_f64(M, N, A, N, S, U, N, V, N, &o, &sweeps));
    UQ_NOTE("64x64, condition 1e12: %d sweeps (default tol)", sweeps);
    ASSERT(sweeps > 1 && sweeps <= UNIQL_SVD_MAX_SWEEPS);
    o.tol = -1;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_svd_f64(M, N, A, N, S, U, N, V, N, &o, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_svd_f64(0, N, A, N, S, U, N, V, N, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_svd_f64(M, 0, A, N, S, U, N, V, N, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_svd_f64(M, N, A, N - 1, S, U, N, V, N, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_svd_f64(M, N, A, N, S, U, N - 1, V, N, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_svd_f64(M, N, NULL, N, S, U, N, V, N, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_svd_f64(M, N, A, N, NULL, U, N, V, N, NULL, NULL));
    A[5 * N + 7] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_svd_f64(M, N, A, N, S, U, N, V, N, NULL, NULL));
    A[5 * N + 7] = -INFINITY;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_svd_f64(M, N, A, N, S, U, N, V, N, NULL, NULL));
    Af[3] = INFINITY;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_svd_f32(2, 2, Af, 2, Sf, NULL, 0, NULL, 0, NULL, NULL));
    Af[3] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_svd_f32(2, 2, Af, 2, Sf, NULL, 0, NULL, 0, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_svd_f32(2, 0, Af, 2, Sf, NULL, 0, NULL, 0, NULL, NULL));
    free(A); free(U0); free(V0);
    PASS();
}

/* ---- symmetric eigensolver and square roots ------------------------------------------- */

/* C = Q diag(lam) Q^T, Q n x n orthogonal */
static void build_sym(int n, const double *Q, const double *lam, double *C)
{
    build_usv(n, n, n, Q, lam, Q, C);
}

TEST eigh_known_eigenvalues(void)
{
    trng r = { 21 };
    static const int sizes[] = { 1, 2, 3, 50, 130 };
    int a, i, j, t;
    for (a = 0; a < 5; a++) {
        int n = sizes[a];
        double *Q = dalloc((size_t)n * n), *lam = dalloc((size_t)n), *C = dalloc((size_t)n * n);
        double *Z = dalloc((size_t)n * n), *w = dalloc((size_t)n), *w2 = dalloc((size_t)n), res = 0, den = 0, lmax = 0;
        rand_orth(&r, n, n, Q);
        /* indefinite, with a repeated value and a cluster: known descending order */
        for (i = 0; i < n; i++) lam[i] = (i % 5 == 0) ? 2.5 : (i % 7 == 1) ? -1.0 + 1e-9 * i : 10.0 * trng_unif(&r) - 5.0;
        build_sym(n, Q, lam, C);
        for (i = 0; i < n; i++) for (j = 0; j < i; j++) C[(size_t)i * n + j] = 1e300; /* never read */
        ASSERT_OK(uniql_eigh_f64(n, C, (size_t)n, w, Z, (size_t)n, NULL));
        qsort(lam, (size_t)n, sizeof *lam, cmp_desc);
        for (i = 0; i < n; i++) if (fabs(lam[i]) > lmax) lmax = fabs(lam[i]);
        for (i = 0; i < n; i++) ASSERT_IN_RANGE(lam[i], w[i], 1e-13 * lmax);
        for (i = 0; i < n; i++) for (j = 0; j < i; j++) C[(size_t)i * n + j] = C[(size_t)j * n + i];
        for (i = 0; i < n; i++)
            for (j = 0; j < n; j++) {
                double s = 0;
                for (t = 0; t < n; t++) s += Z[(size_t)i * n + t] * w[t] * Z[(size_t)j * n + t];
                res += (s - C[(size_t)i * n + j]) * (s - C[(size_t)i * n + j]);
                den += C[(size_t)i * n + j] * C[(size_t)i * n + j];
            }
        ASSERT_LE(sqrt(res / den), 1e-13);
        ASSERT_LE(orth_err(n, n, Z), 1e-13);
        /* values only give the same numbers */
        ASSERT_OK(uniql_eigh_f64(n, C, (size_t)n, w2, NULL, 0, NULL));
        for (i = 0; i < n; i++) ASSERT_IN_RANGE(w[i], w2[i], 1e-14 * lmax);
        free(Q); free(lam); free(C); free(Z); free(w); free(w2);
    }
    PASS();
}

TEST eigh_agrees_with_jacobi_svd_on_spd(void)
{
    /* cross-check of the two independent algorithms: for SPD C, eigenvalues = singular values */
    trng r = { 22 };
    enum { N = 60, T = 200 };
    double X[T * N], C[N * N], w[N], S[N];
    int i, j, t;
    for (i = 0; i < T * N; i++) X[i] = trng_normal(&r) * (1.0 + (i % N)); /* anisotropic */
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++) {
            double s = 0;
            for (t = 0; t < T; t++) s += X[t * N + i] * X[t * N + j];
            C[i * N + j] = s / T;
        }
    ASSERT_OK(uniql_eigh_f64(N, C, N, w, NULL, 0, NULL));
    ASSERT_OK(uniql_svd_f64(N, N, C, N, S, NULL, 0, NULL, 0, NULL, NULL));
    for (i = 0; i < N; i++) ASSERT_IN_RANGE(S[i], w[i], 1e-13 * S[0]);
    PASS();
}

TEST sqrt_psd_known_roots_and_floor(void)
{
    trng r = { 23 };
    enum { N = 70 };
    double *Q = dalloc(N * N), lam[N], rl[N], *C = dalloc(N * N), *Cs = dalloc(N * N), *Ci = dalloc(N * N);
    double *K = dalloc(N * N), e1 = 0, e2 = 0, e3 = 0, e4 = 0;
    int i, j, t;
    rand_orth(&r, N, N, Q);
    for (i = 0; i < N; i++) lam[i] = pow(10.0, -4.0 * i / (N - 1)) * 3.0; /* SPD, cond 1e4 */
    build_sym(N, Q, lam, C);
    for (i = 0; i < N; i++) rl[i] = sqrt(lam[i]);
    build_sym(N, Q, rl, K); /* the known C^{1/2} */
    ASSERT_OK(uniql_sqrt_psd_f64(N, C, N, UNIQL_EIG_FLOOR_DEFAULT, Cs, N, Ci, N, NULL));
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++) {
            double ss = 0, si = 0;
            for (t = 0; t < N; t++) { ss += Cs[i * N + t] * Cs[t * N + j]; si += Cs[i * N + t] * Ci[t * N + j]; }
            e1 = fmax(e1, fabs(Cs[i * N + j] - K[i * N + j]));
            e2 = fmax(e2, fabs(ss - C[i * N + j]));
            e3 = fmax(e3, fabs(si - (i == j)));
            e4 = fmax(e4, fabs(Cs[i * N + j] - Cs[j * N + i]) + fabs(Ci[i * N + j] - Ci[j * N + i]));
        }
    ASSERT_LE(e1, 1e-13);   /* |C^{1/2} - known| */
    ASSERT_LE(e2, 1e-13);   /* C^{1/2} C^{1/2} = C */
    ASSERT_LE(e3, 1e-11);   /* C^{1/2} C^{-1/2} = I: ~ cond(C)^{1/2} eps growth */
    ASSERT_EQ(0, e4 != 0.0); /* outputs exactly symmetric */

    /* singular C (rank 50 of 70): the null space is clamped to the absolute floor, so
       C^{-1/2} q = q / sqrt(floor) and C^{1/2} q = sqrt(floor) q for a null vector q */
    for (i = 50; i < N; i++) lam[i] = 0.0;
    build_sym(N, Q, lam, C);
    ASSERT_OK(uniql_sqrt_psd_f64(N, C, N, 1e-4, Cs, N, Ci, N, NULL));
    for (i = 0; i < N; i++) {
        double a = 0, b = 0;
        for (t = 0; t < N; t++) { a += Ci[i * N + t] * Q[t * N + 60]; b += Cs[i * N + t] * Q[t * N + 60]; }
        ASSERT_IN_RANGE(Q[i * N + 60] / sqrt(1e-4), a, 1e-9);
        ASSERT_IN_RANGE(Q[i * N + 60] * sqrt(1e-4), b, 1e-13);
    }
    ASSERT_ERR(UNIQL_ERR_NOT_SPD, uniql_sqrt_psd_f64(N, C, N, 0.0, NULL, 0, Ci, N, NULL));
    ASSERT_OK(uniql_sqrt_psd_f64(N, C, N, 0.0, Cs, N, NULL, 0, NULL));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_sqrt_psd_f64(N, C, N, -1.0, Cs, N, NULL, 0, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_sqrt_psd_f64(N, C, N - 1, 1e-6, Cs, N, NULL, 0, NULL));
    C[3 * N + 5] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_sqrt_psd_f64(N, C, N, 1e-6, Cs, N, Ci, N, NULL));
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_eigh_f64(N, C, N, lam, NULL, 0, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_eigh_f64(0, C, N, lam, NULL, 0, NULL));
    free(Q); free(C); free(Cs); free(Ci); free(K);
    PASS();
}

/* ---- streaming correlation -------------------------------------------------------------- */

TEST corr_integer_data_is_exact_for_any_batching(void)
{
    /* small integers: every product and sum is exact in double, so any batching and any
       blocking inside the kernel must give exactly the naive integer result */
    trng r = { 31 };
    enum { D = 37, T = 700 };
    static float X[T * D];
    double C[D * D], C2[D * D];
    long long ref[D * D];
    uniql_corr acc;
    int i, j, t, t0;
    static const int batch[] = { 1, 7, 256, 300 };
    for (i = 0; i < T * D; i++) X[i] = (float)((int)(trng_u64(&r) % 17) - 8);
    for (i = 0; i < D; i++)
        for (j = 0; j < D; j++) {
            long long s = 0;
            for (t = 0; t < T; t++) s += (long long)X[t * D + i] * (long long)X[t * D + j];
            ref[i * D + j] = s;
        }
    ASSERT_OK(uniql_corr_init(&acc, D, NULL));
    ASSERT_OK(uniql_corr_add_f32(&acc, X, T, D));
    ASSERT_OK(uniql_corr_finalize(&acc, C, D));
    uniql_corr_free(&acc);
    for (i = 0; i < D * D; i++) ASSERT_IN_RANGE((double)ref[i] / T, C[i], 0.0);
    for (i = 0; i < 4; i++) {
        ASSERT_OK(uniql_corr_init(&acc, D, NULL));
        for (t0 = 0; t0 < T; t0 += batch[i]) {
            int nb = T - t0 < batch[i] ? T - t0 : batch[i];
            ASSERT_OK(uniql_corr_add_f32(&acc, X + (size_t)t0 * D, nb, D));
        }
        ASSERT_EQ(T, acc.count);
        ASSERT_OK(uniql_corr_finalize(&acc, C2, D));
        uniql_corr_free(&acc);
        ASSERT_MEM_EQ(C, C2, sizeof C);
    }
    PASS();
}

TEST corr_wide_rows_cross_the_kernel_column_blocks(void)
{
    /* d = 1100 > the kernel's 1024-column block: integer data, exact answer */
    enum { D = 1100, T = 5 };
    static float X[T * D];
    static double C[D * D];
    uniql_corr acc;
    int i, j, t;
    for (t = 0; t < T; t++)
        for (j = 0; j < D; j++) X[t * D + j] = (float)((j * 7 + t * 3) % 11 - 5);
    ASSERT_OK(uniql_corr_init(&acc, D, NULL));
    ASSERT_OK(uniql_corr_add_f32(&acc, X, T, D));
    ASSERT_OK(uniql_corr_finalize(&acc, C, D));
    uniql_corr_free(&acc);
    for (i = 0; i < D; i++)
        for (j = 0; j < D; j++) {
            long long s2 = 0;
            for (t = 0; t < T; t++) s2 += (long long)X[t * D + i] * (long long)X[t * D + j];
            if (C[(size_t)i * D + j] != (double)s2 / T) UQ__FAILF("C[%d][%d] = %.17g, expected %lld/%d", i, j, C[(size_t)i * D + j], s2, T);
        }
    PASS();
}

TEST corr_float_data_matches_naive_double_sum(void)
{
    trng r = { 32 };
    enum { D = 100, T = 600, LD = 103 };
    static float X[T * LD];
    static double Xd[T * D], C[D * D], C2[D * D];
    uniql_corr acc;
    int i, j, t;
    double worst = 0;
    for (i = 0; i < T * LD; i++) X[i] = (float)(trng_normal(&r) * (1 + (i % 5)));
    for (t = 0; t < T; t++) for (j = 0; j < D; j++) Xd[t * D + j] = X[t * LD + j];
    ASSERT_OK(uniql_corr_init(&acc, D, NULL));
    ASSERT_OK(uniql_corr_add_f32(&acc, X, 250, LD)); /* strided rows, two batches */
    ASSERT_OK(uniql_corr_add_f32(&acc, X + 250 * LD, T - 250, LD));
    ASSERT_OK(uniql_corr_finalize(&acc, C, D));
    uniql_corr_free(&acc);
    for (i = 0; i < D; i++)
        for (j = 0; j < D; j++) {
            double s = 0, sa = 0;
            for (t = 0; t < T; t++) { s += Xd[t * D + i] * Xd[t * D + j]; sa += fabs(Xd[t * D + i] * Xd[t * D + j]); }
            worst = fmax(worst, fabs(s / T - C[i * D + j]) / (sa / T));
            ASSERT_IN_RANGE(C[i * D + j], C[j * D + i], 0.0);
        }
    ASSERT_LE(worst, 1e-14);
    /* the double entry point gives the same sums */
    ASSERT_OK(uniql_corr_init(&acc, D, NULL));
    ASSERT_OK(uniql_corr_add_f64(&acc, Xd, 250, D));
    ASSERT_OK(uniql_corr_add_f64(&acc, Xd + 250 * D, T - 250, D));
    ASSERT_OK(uniql_corr_finalize(&acc, C2, D));
    uniql_corr_free(&acc);
    ASSERT_MEM_EQ(C, C2, sizeof C);
    /* and so does each kernel by name (AUTO above: the 8 x 8 AVX-512F tile where the CPU
       has it; AVX2: the 4 x 8 tile; SCALAR: the reference) */
    for (i = 0; i < 2; i++) {
        int k = i == 0 ? UNIQL_KERNEL_SCALAR : UNIQL_KERNEL_AVX2;
        if (k == UNIQL_KERNEL_AVX2 && !uniql_kernel_available(UNIQL_KERNEL_AVX2)) continue;
        ASSERT_OK(uniql_corr_init(&acc, D, NULL));
        acc.kernel = k;
        ASSERT_OK(uniql_corr_add_f32(&acc, X, 250, LD));
        ASSERT_OK(uniql_corr_add_f32(&acc, X + 250 * LD, T - 250, LD));
        ASSERT_OK(uniql_corr_finalize(&acc, C2, D));
        uniql_corr_free(&acc);
        ASSERT_MEM_EQ(C, C2, sizeof C);
    }
    PASS();
}

TEST corr_errors_leave_accumulator_unchanged(void)
{
    float X[3 * 4] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
    double C[16], C2[16];
    uniql_corr acc;
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_corr_init(&acc, 0, NULL));
    ASSERT_OK(uniql_corr_init(&acc, 4, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_corr_finalize(&acc, C, 4)); /* no tokens yet */
    ASSERT_OK(uniql_corr_add_f32(&acc, X, 2, 4));
    ASSERT_OK(uniql_corr_add_f32(&acc, X, 0, 4));
    ASSERT_OK(uniql_corr_finalize(&acc, C, 4));
    X[9] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_corr_add_f32(&acc, X, 3, 4));
    X[9] = INFINITY;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_corr_add_f32(&acc, X, 3, 4));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_corr_add_f32(&acc, X, 3, 3));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_corr_add_f32(&acc, X, -1, 4));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_corr_add_f32(&acc, NULL, 3, 4));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_corr_finalize(&acc, C2, 3));
    ASSERT_EQ(2, acc.count);
    ASSERT_OK(uniql_corr_finalize(&acc, C2, 4));
    ASSERT_MEM_EQ(C, C2, sizeof C);
    /* (1,2,3,4) and (5,6,7,8): C[0][3] = (4 + 40) / 2 */
    ASSERT_IN_RANGE(22.0, C[3], 0.0);
    uniql_corr_free(&acc);
    uniql_corr_free(&acc); /* freeing twice is harmless */
    PASS();
}

/* ---- ridge leverage and argsort --------------------------------------------------------- */

/* score_i = sum_k Q_ik^2 mu_k / (mu_k + lambda): the definition evaluated on the known
   eigendecomposition */
static double ridge_known(int n, const double *Q, const double *mu, double lambda, int i)
{
    double s = 0;
    int k;
    for (k = 0; k < n; k++) s += Q[(size_t)i * n + k] * Q[(size_t)i * n + k] * (mu[k] / (mu[k] + lambda));
    return s;
}

TEST ridge_leverage_matches_definition(void)
{
    trng r = { 41 };
    static const int sizes[] = { 1, 5, 64, 150, 300 }; /* 150, 300: several Cholesky blocks / chunks */
    int a, i;
    for (a = 0; a < 5; a++) {
        int n = sizes[a];
        double *Q = dalloc((size_t)n * n), *mu = dalloc((size_t)n), *C = dalloc((size_t)n * n), *sc = dalloc((size_t)n);
        double worst = 0;
        rand_orth(&r, n, n, Q);
        /* a spread spectrum straddling lambda = 1e-4, plus exact zeros (PSD, singular) */
        for (i = 0; i < n; i++) mu[i] = (i % 9 == 4) ? 0.0 : pow(10.0, -7.0 + 8.0 * trng_unif(&r));
        build_sym(n, Q, mu, C);
        ASSERT_OK(uniql_ridge_leverage_f64(n, C, (size_t)n, UNIQL_RIDGE_LAMBDA_DEFAULT, sc, NULL));
        for (i = 0; i < n; i++) {
            worst = fmax(worst, fabs(sc[i] - ridge_known(n, Q, mu, 1e-4, i)));
            ASSERT(sc[i] >= -1e-12 && sc[i] < 1.0);
        }
        ASSERT_LE(worst, 1e-10);
        free(Q); free(mu); free(C); free(sc);
    }
    PASS();
}

TEST ridge_leverage_limits(void)
{
    trng r = { 42 };
    enum { N = 80 };
    double *Q = dalloc(N * N), mu[N], *C = dalloc(N * N), sc[N], s2[N];
    int i;
    rand_orth(&r, N, N, Q);
    for (i = 0; i < N; i++) mu[i] = 1.0 + i; /* full rank, well conditioned */
    build_sym(N, Q, mu, C);
    /* lambda -> 0: C (C + lambda I)^{-1} -> I, every score -> 1 (1 - score ~ lambda / mu) */
    ASSERT_OK(uniql_ridge_leverage_f64(N, C, N, 1e-10, sc, NULL));
    for (i = 0; i < N; i++) ASSERT_IN_RANGE(1.0, sc[i], 1e-9);
    /* lambda -> inf: score = C_ii / lambda (1 + O(mu_max / lambda)) -> 0; the absolute error
       is ~eps because score = 1 - lambda [(C + lambda I)^{-1}]_ii cancels */
    ASSERT_OK(uniql_ridge_leverage_f64(N, C, N, 1e9, sc, NULL));
    for (i = 0; i < N; i++) {
        ASSERT_IN_RANGE(C[i * N + i] / 1e9, sc[i], C[i * N + i] / 1e9 * (80.0 / 1e9) + 1e-15);
        ASSERT_IN_RANGE(ridge_known(N, Q, mu, 1e9, i), sc[i], 1e-15);
    }
    /* a coordinate with zero variance (row/column of zeros) scores exactly 0 */
    for (i = 0; i < N; i++) C[i * N + 17] = C[17 * N + i] = 0.0;
    ASSERT_OK(uniql_ridge_leverage_f64(N, C, N, 1e-4, sc, NULL));
    ASSERT_IN_RANGE(0.0, sc[17], 1e-15);
    /* scores are invariant to scaling C and lambda together */
    for (i = 0; i < N * N; i++) C[i] *= 1024.0;
    ASSERT_OK(uniql_ridge_leverage_f64(N, C, N, 1024e-4, s2, NULL));
    for (i = 0; i < N; i++) ASSERT_IN_RANGE(sc[i], s2[i], 1e-13);
    /* not positive definite: an eigenvalue of -1 beats lambda */
    mu[3] = -1.0;
    build_sym(N, Q, mu, C);
    ASSERT_ERR(UNIQL_ERR_NOT_SPD, uniql_ridge_leverage_f64(N, C, N, 1e-4, sc, NULL));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_ridge_leverage_f64(N, C, N, 0.0, sc, NULL));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_ridge_leverage_f64(N, C, N, NAN, sc, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_ridge_leverage_f64(0, C, N, 1e-4, sc, NULL));
    C[2 * N + 40] = INFINITY;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_ridge_leverage_f64(N, C, N, 1e-4, sc, NULL));
    free(Q); free(C);
    PASS();
}

/* ---- threads: the sorting kernels through the caller's parallel-for -------------------- */

/* eigh / sqrt_psd / ridge leverage / qasvd at sizes where every threaded part runs as
   several jobs (reduction chunks of 64 rows, Q rows, rotation strips of 128 columns, GEMM
   tiles of 256, Cholesky column chunks, triangular-inverse chunks): the known answers at
   that size, and the same bits with no parallel-for, a 1-thread and a 3-thread pool. */
TEST linalg_threads_same_bits_and_known_answers(void)
{
    trng r = { 77 };
    enum { N = 600, NL = 700, HD = 24, NQ = 2 };
    double *Q = dalloc(N * N), lam[N], rl[N], *C = dalloc(N * N), *K = dalloc(N * N);
    double *QL = dalloc((size_t)NL * NL), *mu = dalloc(NL), *CL = dalloc((size_t)NL * NL);
    double *w[3], *Z[3], *Cs[3], *Ci[3], *sc[3], e1 = 0, e2 = 0, lmax = 0, worst = 0;
    float *Wv = (float *)calloc((size_t)HD * N, sizeof(float)), *Wo = (float *)calloc((size_t)N * NQ * HD, sizeof(float));
    float *Wvn[3], *Won[3];
    uq_pool *p1 = uq_pool_create(1), *p3 = uq_pool_create(3);
    uniql_parallel pars[2];
    const uniql_parallel *pp[3];
    int v, i, j, t;
    pars[0] = uq_pool_parallel(p1);
    pars[1] = uq_pool_parallel(p3);
    pp[0] = NULL; pp[1] = &pars[0]; pp[2] = &pars[1];
    rand_orth(&r, N, N, Q);
    for (i = 0; i < N; i++) lam[i] = (i % 11 == 3) ? 0.5 : pow(10.0, -5.0 * i / (N - 1)) * 4.0;   /* SPD, cond 1e5, repeats */
    build_sym(N, Q, lam, C);
    for (i = 0; i < N; i++) rl[i] = sqrt(lam[i]);
    build_sym(N, Q, rl, K);   /* the known C^{1/2} */
    qsort(lam, N, sizeof *lam, cmp_desc);
    lmax = lam[0];
    rand_orth(&r, NL, NL, QL);
    for (i = 0; i < NL; i++) mu[i] = (i % 9 == 4) ? 0.0 : pow(10.0, -7.0 + 8.0 * trng_unif(&r));
    build_sym(NL, QL, mu, CL);
    for (i = 0; i < HD * N; i++) Wv[i] = (float)(0.05 * trng_normal(&r));
    for (i = 0; i < N * NQ * HD; i++) Wo[i] = (float)(0.05 * trng_normal(&r));
    for (v = 0; v < 3; v++) {
        uniql_svd_opts so;
        w[v] = dalloc(N); Z[v] = dalloc(N * N); Cs[v] = dalloc(N * N); Ci[v] = dalloc(N * N); sc[v] = dalloc(NL);
        Wvn[v] = (float *)calloc((size_t)HD * N, sizeof(float));
        Won[v] = (float *)calloc((size_t)N * NQ * HD, sizeof(float));
        ASSERT_OK(uniql_eigh_f64_par(N, C, N, w[v], Z[v], N, pp[v], NULL));
        ASSERT_OK(uniql_sqrt_psd_f64_par(N, C, N, 1e-12, Cs[v], N, Ci[v], N, pp[v], NULL));
        ASSERT_OK(uniql_ridge_leverage_f64_par(NL, CL, NL, 1e-4, sc[v], pp[v], NULL));
        memset(&so, 0, sizeof so);
        so.parallel = pp[v];
        ASSERT_OK(uniql_qasvd_group(N, HD, NQ, Cs[v], Ci[v], N, Wv, N, Wo, NQ * HD, UNIQL_VO_SPLIT_QA, Wvn[v], N, Won[v],
                                    NQ * HD, NULL, &so));
    }
    /* known answers (the threaded path, 3 workers) */
    for (i = 0; i < N; i++) ASSERT_IN_RANGE(lam[i], w[2][i], 1e-13 * lmax);
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++) {
            double s = 0;
            for (t = 0; t < N; t++) s += Z[2][(size_t)i * N + t] * w[2][t] * Z[2][(size_t)j * N + t];
            e1 = fmax(e1, fabs(s - C[(size_t)i * N + j]));
            e2 = fmax(e2, fabs(Cs[2][(size_t)i * N + j] - K[(size_t)i * N + j]));
        }
    ASSERT_LE(e1, 1e-13 * lmax);   /* Z diag(w) Z^T = C */
    ASSERT_LE(orth_err(N, N, Z[2]), 1e-12);
    ASSERT_LE(e2, 1e-12);          /* |C^{1/2} - known| */
    for (i = 0; i < NL; i++) worst = fmax(worst, fabs(sc[2][i] - ridge_known(NL, QL, mu, 1e-4, i)));
    ASSERT_LE(worst, 1e-10);
    /* the same bits for any thread count */
    for (v = 1; v < 3; v++) {
        ASSERT_EQ(0, memcmp(w[0], w[v], sizeof(double) * N));
        ASSERT_EQ(0, memcmp(Z[0], Z[v], sizeof(double) * N * N));
        ASSERT_EQ(0, memcmp(Cs[0], Cs[v], sizeof(double) * N * N));
        ASSERT_EQ(0, memcmp(Ci[0], Ci[v], sizeof(double) * N * N));
        ASSERT_EQ(0, memcmp(sc[0], sc[v], sizeof(double) * NL));
        ASSERT_EQ(0, memcmp(Wvn[0], Wvn[v], sizeof(float) * HD * N));
        ASSERT_EQ(0, memcmp(Won[0], Won[v], sizeof(float) * N * NQ * HD));
    }
    UQ_NOTE("n = %d eigh / sqrt_psd, n = %d ridge leverage, qasvd_group %d x %d x %d: known answers (eig %.1e, root %.1e, "
            "leverage %.1e), bits equal at 0 / 1 / 3 workers", N, NL, N, HD, NQ, e1 / lmax, e2, worst);
    for (v = 0; v < 3; v++) { free(w[v]); free(Z[v]); free(Cs[v]); free(Ci[v]); free(sc[v]); free(Wvn[v]); free(Won[v]); }
    free(Q); free(C); free(K); free(QL); free(mu); free(CL); free(Wv); free(Wo);
    uq_pool_destroy(p1);
    uq_pool_destroy(p3);
    PASS();
}

TEST argsort_is_stable_descending(void)
{
    double s[7] = { 1, 3, 3, 2, 3, -INFINITY, INFINITY };
    int perm[7], expect[7] = { 6, 1, 2, 4, 3, 0, 5 }, i, j;
    trng r = { 43 };
    enum { N = 1000 };
    double big[N];
    int p[N], seen[N];
    ASSERT_OK(uniql_argsort_desc_f64(7, s, perm, NULL));
    for (i = 0; i < 7; i++) ASSERT_EQ(expect[i], perm[i]);
    /* many ties: compare with the definition (a before b iff s_a > s_b, or equal and a < b) */
    for (i = 0; i < N; i++) big[i] = (double)(trng_u64(&r) % 10);
    ASSERT_OK(uniql_argsort_desc_f64(N, big, p, NULL));
    memset(seen, 0, sizeof seen);
    for (i = 0; i < N; i++) { ASSERT(p[i] >= 0 && p[i] < N && !seen[p[i]]); seen[p[i]] = 1; }
    for (i = 0; i + 1 < N; i++) {
        j = p[i];
        ASSERT(big[j] > big[p[i + 1]] || (big[j] == big[p[i + 1]] && j < p[i + 1]));
    }
    s[2] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_argsort_desc_f64(7, s, perm, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_argsort_desc_f64(0, s, perm, NULL));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_argsort_desc_f64(7, s, NULL, NULL));
    PASS();
}

/* ---- quantization-aware V/O ------------------------------------------------------------- */

/* Anisotropic correlation with known factors: C = Q diag(lam) Q^T, C^{+-1/2} exact. */
typedef struct vo_setup {
    int h, d;
    double *Q, *lam, *C, *Cs, *Ci;
} vo_setup;

static void vo_setup_make(vo_setup *v, trng *r, int h, int d)
{
    double *tmp = dalloc((size_t)h);
    int i;
    v->h = h;
    v->d = d;
    v->Q = dalloc((size_t)h * h); v->lam = dalloc((size_t)h); v->C = dalloc((size_t)h * h);
    v->Cs = dalloc((size_t)h * h); v->Ci = dalloc((size_t)h * h);
    rand_orth(r, h, h, v->Q);
    for (i = 0; i < h; i++) v->lam[i] = pow(10.0, -3.0 * i / (h - 1)); /* spectrum 1 .. 1e-3 */
    build_sym(h, v->Q, v->lam, v->C);
    for (i = 0; i < h; i++) tmp[i] = sqrt(v->lam[i]);
    build_sym(h, v->Q, tmp, v->Cs);
    for (i = 0; i < h; i++) tmp[i] = 1.0 / sqrt(v->lam[i]);
    build_sym(h, v->Q, tmp, v->Ci);
    free(tmp);
}

static void vo_setup_free(vo_setup *v)
{
    free(v->Q); free(v->lam); free(v->C); free(v->Cs); free(v->Ci);
}

/* P (h x h) = HF product Wo Wv restricted to the first r components:
   P[a][b] = sum_{c<r} Wo[a][c] Wv[c][b] (Wo h x d with ld ldo, Wv d x h with ld ldv) */
static void hf_product(int h, int r, const float *Wo, size_t ldo, const float *Wv, size_t ldv, double *P)
{
    int a, b, c;
    for (a = 0; a < h; a++)
        for (b = 0; b < h; b++) {
            double s = 0;
            for (c = 0; c < r; c++) s += (double)Wo[(size_t)a * ldo + c] * Wv[(size_t)c * ldv + b];
            P[(size_t)a * h + b] = s;
        }
}

/* |C^{1/2} (P - Pref)^T|_F: the exact expected output error E|x (W - W~)|^2 in SPEC's
   row-vector form, since P^T = W_V W_O. */
static double c_weighted_err(int h, const double *Cs, const double *P, const double *Pref)
{
    double s2 = 0;
    int a, b, t;
    for (a = 0; a < h; a++)
        for (b = 0; b < h; b++) {
            double s = 0;
            for (t = 0; t < h; t++) s += Cs[(size_t)a * h + t] * (P[(size_t)b * h + t] - Pref[(size_t)b * h + t]);
            s2 += s * s;
        }
    return sqrt(s2);
}

/* Independent reference: the SVD of M = C^{1/2} W_V W_O (h x h) and its best rank-r
   approximation M_r. Uses uniql_svd_f64, itself checked against known answers above. */
static uq_status best_rank_r(int h, const double *Cs, const double *Pref, int r, double *S, double *Mr)
{
    double *M = dalloc((size_t)h * h), *U = dalloc((size_t)h * h), *V = dalloc((size_t)h * h);
    int a, b, t;
    for (a = 0; a < h; a++)
        for (b = 0; b < h; b++) {
            double s = 0;
            for (t = 0; t < h; t++) s += Cs[(size_t)a * h + t] * Pref[(size_t)b * h + t];
            M[(size_t)a * h + b] = s;
        }
    if (uniql_svd_f64(h, h, M, (size_t)h, S, U, (size_t)h, V, (size_t)h, NULL, NULL) != UNIQL_OK) {
        free(M); free(U); free(V);
        UQ__FAILF("reference svd failed");
    }
    for (a = 0; a < h; a++)
        for (b = 0; b < h; b++) {
            double s = 0;
            for (t = 0; t < r; t++) s += U[(size_t)a * h + t] * S[t] * V[(size_t)b * h + t];
            Mr[(size_t)a * h + b] = s;
        }
    free(M); free(U); free(V);
    return UQ_PASS;
}

TEST qasvd_head_reconstructs_and_truncates_optimally(void)
{
    trng r = { 51 };
    enum { H = 96, D = 32 };
    vo_setup v;
    float Wv[D * H], Wo[H * D], Wvn[D * H], Won[H * D];
    double *P0 = dalloc(H * H), *P = dalloc(H * H), *Mr = dalloc(H * H), Sref[H], sig[D], rel, worst = 0;
    double *Zero = dalloc(H * H), err8 = 0, tail8 = 0;
    int i, a, b, t, rank;
    static const int ranks[] = { 1, 8, 20, 31 };
    vo_setup_make(&v, &r, H, D);
    for (i = 0; i < D * H; i++) Wv[i] = (float)trng_normal(&r);
    for (i = 0; i < H * D; i++) Wo[i] = (float)(0.1 * trng_normal(&r));
    hf_product(H, D, Wo, D, Wv, H, P0);
    ASSERT_OK(uniql_qasvd_head(H, D, v.Cs, v.Ci, H, Wv, H, Wo, D, UNIQL_VO_SPLIT_QA, Wvn, H, Won, D, sig, NULL));
    /* full rank: the V->O map is reproduced up to float storage of the factors */
    hf_product(H, D, Won, D, Wvn, H, P);
    rel = c_weighted_err(H, v.Cs, P, P0) / c_weighted_err(H, v.Cs, P0, Zero);
    ASSERT_LE(rel, 1e-6);
    /* QA: W_O' = V'^T has orthonormal rows, i.e. Wo_new orthonormal columns */
    for (a = 0; a < D; a++)
        for (b = 0; b < D; b++) {
            double s = 0;
            for (t = 0; t < H; t++) s += (double)Won[t * D + a] * Won[t * D + b];
            worst = fmax(worst, fabs(s - (a == b)));
        }
    ASSERT_LE(worst, 1e-6);
    /* rank r prefix = best rank-r approximation of C^{1/2} W_V W_O (Eckart-Young), checked
       against a direct SVD of that product */
    for (i = 0; i < 4; i++) {
        double tail = 0, err, dev;
        rank = ranks[i];
        CHECK(best_rank_r(H, v.Cs, P0, rank, Sref, Mr));
        hf_product(H, rank, Won, D, Wvn, H, P);
        err = c_weighted_err(H, v.Cs, P, P0);
        for (t = rank; t < H; t++) tail += Sref[t] * Sref[t];
        /* C^{1/2} P^T vs M_r */
        dev = 0;
        for (a = 0; a < H; a++)
            for (b = 0; b < H; b++) {
                double s = 0;
                for (t = 0; t < H; t++) s += v.Cs[a * H + t] * P[b * H + t];
                dev += (s - Mr[a * H + b]) * (s - Mr[a * H + b]);
            }
        ASSERT_LE(sqrt(dev), 1e-5 * Sref[0]);
        ASSERT_IN_RANGE(sqrt(tail), err, 1e-5 * Sref[0]);
        if (rank == 8) { err8 = err; tail8 = sqrt(tail); }
    }
    for (i = 0; i < D; i++) ASSERT_IN_RANGE(Sref[i], sig[i], 1e-12 * Sref[0]);
    UQ_NOTE("sigma' 1st %.4f, 8th %.4f, 32nd %.3g; rank-8 C-weighted error %.5f = sqrt(sum_{i>8} s_i^2) %.5f",
            sig[0], sig[7], sig[31], err8, tail8);
    /* the SQRT split gives the same products */
    ASSERT_OK(uniql_qasvd_head(H, D, v.Cs, v.Ci, H, Wv, H, Wo, D, UNIQL_VO_SPLIT_SQRT, Wvn, H, Won, D, NULL, NULL));
    hf_product(H, D, Won, D, Wvn, H, P);
    ASSERT_LE(c_weighted_err(H, v.Cs, P, P0) / c_weighted_err(H, v.Cs, P0, Zero), 1e-6);
    vo_setup_free(&v);
    free(P0); free(P); free(Mr); free(Zero);
    PASS();
}

TEST qasvd_group_reconstructs_and_its_guarantee(void)
{
    trng r = { 52 };
    enum { H = 80, D = 16, NQ = 3 };
    vo_setup v;
    float Wv[D * H], Wo[H * NQ * D], Wvn[D * H], Won[H * NQ * D];
    double *P0 = dalloc(H * H), *P = dalloc(H * H), *Zero = dalloc(H * H), sig[D];
    double *B = dalloc(H * D), *U = dalloc(H * D), *V = dalloc(D * D), S[D];
    int i, q, a, b, c, t, rank = 6;
    vo_setup_make(&v, &r, H, D);
    for (i = 0; i < D * H; i++) Wv[i] = (float)trng_normal(&r);
    for (i = 0; i < H * NQ * D; i++) Wo[i] = (float)(0.1 * trng_normal(&r));
    ASSERT_OK(uniql_qasvd_group(H, D, NQ, v.Cs, v.Ci, H, Wv, H, Wo, NQ * D, UNIQL_VO_SPLIT_QA, Wvn, H, Won, NQ * D, sig, NULL));
    /* reference SVD of C^{1/2} W_Vg (h x d) */
    for (a = 0; a < H; a++)
        for (c = 0; c < D; c++) {
            double s = 0;
            for (t = 0; t < H; t++) s += v.Cs[a * H + t] * Wv[c * H + t];
            B[a * D + c] = s;
        }
    ASSERT_OK(uniql_svd_f64(H, D, B, D, S, U, D, V, D, NULL, NULL));
    for (i = 0; i < D; i++) ASSERT_IN_RANGE(S[i], sig[i], 1e-12 * S[0]);
    for (q = 0; q < NQ; q++) {
        double dev = 0, scale = 0, best_prod;
        double *Sp = dalloc(H), *Mr = dalloc(H * H);
        hf_product(H, D, Wo + q * D, NQ * D, Wv, H, P0);
        hf_product(H, D, Won + q * D, NQ * D, Wvn, H, P);
        ASSERT_LE(c_weighted_err(H, v.Cs, P, P0) / c_weighted_err(H, v.Cs, P0, Zero), 1e-6);
        /* what the formula guarantees at rank r: C^{1/2} W_V' W_Oi' = B_r W_Oi, with B_r the
           best rank-r approximation of C^{1/2} W_Vg (from the reference SVD) */
        hf_product(H, rank, Won + q * D, NQ * D, Wvn, H, P);
        for (a = 0; a < H; a++)
            for (b = 0; b < H; b++) {
                double lhs = 0, rhs = 0;
                for (t = 0; t < H; t++) lhs += v.Cs[a * H + t] * P[b * H + t];
                for (c = 0; c < D; c++) {
                    double br = 0;
                    for (t = 0; t < rank; t++) br += U[a * D + t] * S[t] * V[c * D + t];
                    rhs += br * Wo[b * NQ * D + q * D + c];
                }
                dev += (lhs - rhs) * (lhs - rhs);
                scale += rhs * rhs;
            }
        ASSERT_LE(sqrt(dev / scale), 1e-5);
        /* and what it does not: per head it is not the best rank-r map of W_Vg W_Oi */
        CHECK(best_rank_r(H, v.Cs, P0, rank, Sp, Mr));
        best_prod = 0;
        for (t = rank; t < H; t++) best_prod += Sp[t] * Sp[t];
        if (q == 0)
            UQ_NOTE("GQA head 0, rank %d: C-weighted error %.4f vs per-head optimum %.4f",
                    rank, c_weighted_err(H, v.Cs, P, P0), sqrt(best_prod));
        ASSERT(c_weighted_err(H, v.Cs, P, P0) >= sqrt(best_prod) * (1 - 1e-6));
        free(Sp); free(Mr);
    }
    vo_setup_free(&v);
    free(P0); free(P); free(Zero); free(B); free(U); free(V);
    PASS();
}

/* The int4 quantizer of this test: symmetric, groups of 32 consecutive elements of a storage
   row, scale = absmax / 7 rounded to fp16, q = round(x / scale) clamped to [-8, 7]. Written
   here because the library's quantizer is being written in parallel by another helper. */
static void fake_quant_rows(float *W, int rows, int cols, size_t ld)
{
    int i, g, j;
    for (i = 0; i < rows; i++)
        for (g = 0; g < cols; g += 32) {
            float *x = W + (size_t)i * ld + g, amax = 0, sc;
            int len = cols - g < 32 ? cols - g : 32;
            for (j = 0; j < len; j++) amax = fmaxf(amax, fabsf(x[j]));
            sc = uniql_fp16_to_fp32(uniql_fp32_to_fp16(amax / 7.0f));
            for (j = 0; j < len; j++) {
                float qv = sc > 0 ? roundf(x[j] / sc) : 0.0f;
                x[j] = (qv > 7 ? 7 : qv < -8 ? -8 : qv) * sc;
            }
        }
}

/* transpose-quantize-transpose: groups along the columns of the HF matrix instead */
static void fake_quant_cols(float *W, int rows, int cols, size_t ld)
{
    float *T = (float *)malloc((size_t)rows * cols * sizeof *T);
    int i, j;
    for (i = 0; i < rows; i++) for (j = 0; j < cols; j++) T[(size_t)j * rows + i] = W[(size_t)i * ld + j];
    fake_quant_rows(T, cols, rows, (size_t)rows);
    for (i = 0; i < rows; i++) for (j = 0; j < cols; j++) W[(size_t)i * ld + j] = T[(size_t)j * rows + i];
    free(T);
}

/* Output error after int4 of both factors, on sampled inputs x = z C^{1/2} (correlation C):
   mean over samples of |x (W_V W_O - W~)|^2 / mean |x W_V W_O|^2, W~ from the factors. */
static double sampled_rel_err(trng *r, const vo_setup *v, const double *P0, const double *P, int nsamp)
{
    int h = v->h, s, a, b;
    double num = 0, den = 0, *z = dalloc((size_t)h), *x = dalloc((size_t)h);
    for (s = 0; s < nsamp; s++) {
        for (a = 0; a < h; a++) z[a] = trng_normal(r);
        for (a = 0; a < h; a++) {
            double t = 0;
            for (b = 0; b < h; b++) t += v->Cs[(size_t)a * h + b] * z[b];
            x[a] = t;
        }
        for (a = 0; a < h; a++) {
            double y0 = 0, y = 0;
            for (b = 0; b < h; b++) { y0 += P0[(size_t)a * h + b] * x[b]; y += P[(size_t)a * h + b] * x[b]; }
            num += (y - y0) * (y - y0);
            den += y0 * y0;
        }
    }
    free(z); free(x);
    return num / den;
}

/* Relative C-weighted output error of the V->O map after quantizing the factors; which
   factors are quantized and how: qv / qo = 0 none, 1 groups along HF rows (the input
   dimension of each Linear), 2 (o_proj only) groups along hidden, i.e. o_proj stored
   transposed as uniql_matrix does for input-pruned matrices. */
static double vo_quant_err(const vo_setup *v, const float *Wvn, const float *Won, int qv, int qo,
                           const double *P0, double den, double *P)
{
    int h = v->h, d = v->d;
    float *a = (float *)malloc((size_t)d * h * sizeof *a), *b = (float *)malloc((size_t)h * d * sizeof *b);
    double e;
    memcpy(a, Wvn, (size_t)d * h * sizeof *a);
    memcpy(b, Won, (size_t)h * d * sizeof *b);
    if (qv) fake_quant_rows(a, d, h, (size_t)h);
    if (qo == 1) fake_quant_rows(b, h, d, (size_t)d);
    if (qo == 2) fake_quant_cols(b, h, d, (size_t)d);
    hf_product(h, d, b, (size_t)d, a, (size_t)h, P);
    e = c_weighted_err(h, v->Cs, P, P0) / den;
    free(a); free(b);
    return e;
}

/* int4 (the RTN quantizer above) of both factors, QA split vs sqrt(Sigma) split, on heads
   whose weights have a flat or a fast-decaying spectrum (tau = decay length in singular
   components). SPEC expects QA to quantize better. What holds with this quantizer:
   - v_proj rows are quantized in groups inside one rank component, and absmax RTN is
     scale-equivariant, so moving Sigma' between rows changes nothing on the V side;
   - likewise when o_proj is stored transposed (groups along hidden);
   - only HF-layout o_proj (groups across rank components) tells the splits apart, and
     there the sign of the difference depends on the spectrum: measured and printed, not
     asserted (see the report: with RTN the sqrt split wins on decaying spectra, because
     the group's absmax entry, which RTN represents exactly, is then the dominant one). */
TEST qasvd_int4_rtn_qa_vs_sqrt_split(void)
{
    trng r = { 53 };
    enum { H = 128, D = 64 };
    static const double taus[2] = { 1000.0, 4.0 };
    vo_setup v;
    float Wv[D * H], Wo[H * D], Vq[D * H], Oq[H * D], Vs[D * H], Os[H * D];
    double *P0 = dalloc(H * H), *P = dalloc(H * H), *Zero = dalloc(H * H);
    double *A = dalloc(D * D), *B = dalloc(H * D), *E = dalloc(H * D), *F = dalloc(D * D);
    int it, i, j, t;
    vo_setup_make(&v, &r, H, D);
    for (it = 0; it < 2; it++) {
        double den, vq, vs, oq, os, bq, bs, tq, ts, sq, ss;
        rand_orth(&r, D, D, A); rand_orth(&r, H, D, B); rand_orth(&r, H, D, E); rand_orth(&r, D, D, F);
        for (i = 0; i < D; i++)
            for (j = 0; j < H; j++) {
                double s = 0;
                for (t = 0; t < D; t++) s += A[i * D + t] * exp(-t / taus[it]) * B[j * D + t];
                Wv[i * H + j] = (float)s;
            }
        for (i = 0; i < H; i++)
            for (j = 0; j < D; j++) {
                double s = 0;
                for (t = 0; t < D; t++) s += E[i * D + t] * exp(-t / taus[it]) * F[j * D + t];
                Wo[i * D + j] = (float)s;
            }
        hf_product(H, D, Wo, D, Wv, H, P0);
        den = c_weighted_err(H, v.Cs, P0, Zero);
        ASSERT_OK(uniql_qasvd_head(H, D, v.Cs, v.Ci, H, Wv, H, Wo, D, UNIQL_VO_SPLIT_QA, Vq, H, Oq, D, NULL, NULL));
        ASSERT_OK(uniql_qasvd_head(H, D, v.Cs, v.Ci, H, Wv, H, Wo, D, UNIQL_VO_SPLIT_SQRT, Vs, H, Os, D, NULL, NULL));
        vq = vo_quant_err(&v, Vq, Oq, 1, 0, P0, den, P); vs = vo_quant_err(&v, Vs, Os, 1, 0, P0, den, P);
        oq = vo_quant_err(&v, Vq, Oq, 0, 1, P0, den, P); os = vo_quant_err(&v, Vs, Os, 0, 1, P0, den, P);
        bq = vo_quant_err(&v, Vq, Oq, 1, 1, P0, den, P);
        sq = sampled_rel_err(&r, &v, P0, P, 200);
        bs = vo_quant_err(&v, Vs, Os, 1, 1, P0, den, P);
        ss = sampled_rel_err(&r, &v, P0, P, 200);
        tq = vo_quant_err(&v, Vq, Oq, 1, 2, P0, den, P); ts = vo_quant_err(&v, Vs, Os, 1, 2, P0, den, P);
        UQ_NOTE("tau %-4g int4 g32 RTN, rel. C-weighted output error   QA      sqrt-split", taus[it]);
        UQ_NOTE("  v_proj only                                     %.4f  %.4f", vq, vs);
        UQ_NOTE("  o_proj only (HF layout, groups across rank)     %.4f  %.4f", oq, os);
        UQ_NOTE("  both (HF layout)                                %.4f  %.4f", bq, bs);
        UQ_NOTE("  both, sampled x = z C^{1/2} (200), rel. MSE     %.5f %.5f", sq, ss);
        UQ_NOTE("  both, o_proj stored transposed                  %.4f  %.4f", tq, ts);
        ASSERT(fabs(vq - vs) <= 0.03 * vs);
        ASSERT(fabs(tq - ts) <= 0.05 * ts);
        ASSERT(bq > 0 && bs > 0 && bq < 0.5 && bs < 0.5); /* int4 g32 is a ~10% error, not a breakage */
    }
    vo_setup_free(&v);
    free(P0); free(P); free(Zero); free(A); free(B); free(E); free(F);
    PASS();
}

TEST qasvd_errors(void)
{
    trng r = { 54 };
    enum { H = 40, D = 8 };
    vo_setup v;
    float Wv[D * H], Wo[H * 2 * D], Wvn[D * H], Won[H * 2 * D];
    int i;
    vo_setup_make(&v, &r, H, D);
    for (i = 0; i < D * H; i++) Wv[i] = (float)trng_normal(&r);
    for (i = 0; i < H * 2 * D; i++) Wo[i] = (float)trng_normal(&r);
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_qasvd_head(H, H + 1, v.Cs, v.Ci, H, Wv, H, Wo, D, UNIQL_VO_SPLIT_QA, Wvn, H, Won, D, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_qasvd_head(H, D, v.Cs, v.Ci, H, Wv, H, Wo, D - 1, UNIQL_VO_SPLIT_QA, Wvn, H, Won, D, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_qasvd_group(H, D, 2, v.Cs, v.Ci, H, Wv, H, Wo, D, UNIQL_VO_SPLIT_QA, Wvn, H, Won, 2 * D, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_qasvd_group(H, D, 0, v.Cs, v.Ci, H, Wv, H, Wo, 2 * D, UNIQL_VO_SPLIT_QA, Wvn, H, Won, 2 * D, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_qasvd_head(H, D, v.Cs, v.Ci, H, Wv, H, Wo, D, (uniql_vo_split)7, Wvn, H, Won, D, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_qasvd_head(H, D, NULL, v.Ci, H, Wv, H, Wo, D, UNIQL_VO_SPLIT_QA, Wvn, H, Won, D, NULL, NULL));
    Wo[(H - 1) * 2 * D + 2 * D - 1] = NAN; /* last element of the second head */
    ASSERT_OK(uniql_qasvd_head(H, D, v.Cs, v.Ci, H, Wv, H, Wo, 2 * D, UNIQL_VO_SPLIT_QA, Wvn, H, Won, D, NULL, NULL));
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_qasvd_group(H, D, 2, v.Cs, v.Ci, H, Wv, H, Wo, 2 * D, UNIQL_VO_SPLIT_QA, Wvn, H, Won, 2 * D, NULL, NULL));
    Wv[3] = INFINITY;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_qasvd_head(H, D, v.Cs, v.Ci, H, Wv, H, Wo, 2 * D, UNIQL_VO_SPLIT_QA, Wvn, H, Won, D, NULL, NULL));
    Wv[3] = 0;
    v.Ci[H + 1] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_qasvd_head(H, D, v.Cs, v.Ci, H, Wv, H, Wo, 2 * D, UNIQL_VO_SPLIT_QA, Wvn, H, Won, D, NULL, NULL));
    vo_setup_free(&v);
    PASS();
}

/* ---- allocation: every scratch buffer is returned, also on error paths ----------------- */

TEST linalg_paths_run_without_leaks_under_failure(void)
{
    /* the error paths after allocation (NO_CONVERGENCE, NOT_SPD, RANGE) must free; asan's
       leak checker verifies this test */
    double A[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 10 }, S[3], C[4] = { 1, 2, 2, 1 }, sc[2], w[2];
    uniql_svd_opts o;
    memset(&o, 0, sizeof o);
    o.max_sweeps = 1;
    ASSERT_ERR(UNIQL_ERR_NO_CONVERGENCE, uniql_svd_f64(3, 3, A, 3, S, NULL, 0, NULL, 0, &o, NULL));
    ASSERT_ERR(UNIQL_ERR_NOT_SPD, uniql_ridge_leverage_f64(2, C, 2, 1e-4, sc, NULL)); /* eigenvalues 3, -1 */
    ASSERT_OK(uniql_eigh_f64(2, C, 2, w, NULL, 0, NULL));
    ASSERT_IN_RANGE(3.0, w[0], 1e-15);
    ASSERT_IN_RANGE(-1.0, w[1], 1e-15);
    ASSERT_ERR(UNIQL_ERR_NOT_SPD, uniql_sqrt_psd_f64(2, C, 2, 0.0, NULL, 0, A, 2, NULL));
    PASS();
}

/* uniql_gemm_f64 (the packed GEMM under eigh, the square roots and ridge leverage): the
   AVX2 tile equals the scalar tile bit for bit (multiply, then add, in the same order), and
   both are within the rounding bound of their summation against a long double reference:
   |C - C_exact| <= gamma_k (|C0| + |alpha| sum |a b|), k = K + 2 ceil(K/256) + 2,
   u = 2^-53. Shapes with tile edges (4 x 8), k blocks (256), both orientations of A. */
TEST gemm_f64_simd_equals_scalar_and_known_answer(void)
{
    static const int sh[][4] = { { 1, 1, 1, 0 }, { 5, 9, 3, 1 }, { 37, 29, 300, 0 }, { 70, 65, 513, 1 }, { 130, 17, 257, 0 }, { 4, 8, 256, 1 } };
    int simd = uniql_kernel_available(UNIQL_KERNEL_AVX2), si, i, j, k;
    double worst = 0, alpha = -0.75;
    trng r = { 77 };
    for (si = 0; si < (int)(sizeof sh / sizeof sh[0]); si++) {
        int M = sh[si][0], N = sh[si][1], K = sh[si][2], ta = sh[si][3], nblk = (K + 255) / 256;
        size_t lda = (size_t)(ta ? M : K) + 3, ldb = (size_t)N + 2, ldc = (size_t)N + 1;
        double *A = (double *)malloc(sizeof(double) * (size_t)(ta ? K : M) * lda), *B = (double *)malloc(sizeof(double) * (size_t)K * ldb);
        double *C0 = (double *)malloc(sizeof(double) * (size_t)M * ldc), *Cs = (double *)malloc(sizeof(double) * (size_t)M * ldc);
        double *Ca = (double *)malloc(sizeof(double) * (size_t)M * ldc), g = (double)(K + 2 * nblk + 2) * 0x1p-53;
        int ok = 1;
        g = g / (1 - g);
        for (i = 0; i < (ta ? K : M) * (int)lda; i++) A[i] = trng_normal(&r);
        for (i = 0; i < K * (int)ldb; i++) B[i] = trng_normal(&r);
        for (i = 0; i < M * (int)ldc; i++) C0[i] = trng_normal(&r);
        memcpy(Cs, C0, sizeof(double) * (size_t)M * ldc);
        memcpy(Ca, C0, sizeof(double) * (size_t)M * ldc);
        ASSERT_OK(uniql_gemm_f64(M, N, K, alpha, A, lda, ta, B, ldb, Cs, ldc, UNIQL_KERNEL_SCALAR, NULL));
        if (simd) {
            ASSERT_OK(uniql_gemm_f64(M, N, K, alpha, A, lda, ta, B, ldb, Ca, ldc, UNIQL_KERNEL_AVX2, NULL));
            ok = !memcmp(Cs, Ca, sizeof(double) * (size_t)M * ldc);
        }
        for (i = 0; i < M && ok; i++)
            for (j = 0; j < N; j++) {
                long double s = 0, m = 0;
                double e;
                for (k = 0; k < K; k++) {
                    long double p = (long double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) * B[(size_t)k * ldb + j];
                    s += p;
                    m += p < 0 ? -p : p;
                }
                e = fabs((double)((long double)Cs[(size_t)i * ldc + j] - ((long double)C0[(size_t)i * ldc + j] + alpha * s)));
                m = fabs(C0[(size_t)i * ldc + j]) + fabs(alpha) * m;
                if (e / (double)m > worst) worst = e / (double)m;
                if (!(e <= g * (double)m)) ok = 0;
            }
        free(A); free(B); free(C0); free(Cs); free(Ca);
        if (!ok) { UQ_NOTE("%d x %d x %d (trans %d)", M, N, K, ta); FAILm("AVX2 != scalar or outside the bound"); }
    }
    {
        double a = 1, b = 1, c = 0;
        ASSERT_EQ(UNIQL_ERR_INVALID_ARG, uniql_gemm_f64(-1, 1, 1, 1.0, &a, 1, 0, &b, 1, &c, 1, 0, NULL));
        ASSERT_EQ(UNIQL_ERR_SHAPE, uniql_gemm_f64(1, 2, 2, 1.0, &a, 1, 0, &b, 2, &c, 2, 0, NULL));
        ASSERT_EQ(UNIQL_ERR_INVALID_ARG, uniql_gemm_f64(1, 1, 1, 1.0, &a, 1, 2, &b, 1, &c, 1, 0, NULL));
        ASSERT_OK(uniql_gemm_f64(0, 1, 1, 1.0, NULL, 1, 0, NULL, 1, NULL, 1, 0, NULL));
    }
    UQ_NOTE("%s; worst |err| / (|C0| + |alpha| sum |a b|) %.3g", simd ? "AVX2 == scalar bit for bit" : "no AVX2: scalar only", worst);
    PASS();
}

/* The QL rotation kernel of eigh (uniql_rotate_rows_f64): AVX2 equals the scalar loop bit
   for bit on strips of every width (vector tails 1..3, 8 and 128 columns, padded rows), and
   both are plane rotations: (c, s) = (0, 1) maps (x, y) to (y, -x) exactly; every column's
   2-norm is kept to count * 8 u; the list applied again in reverse with -s restores Z to
   count * 16 u of the column norm. */
TEST rotate_rows_f64_simd_equals_scalar_and_known_answer(void)
{
    static const int widths[] = { 1, 3, 4, 7, 8, 33, 128, 131 };
    const int rows = 37, count = 600;
    int simd = uniql_kernel_available(UNIQL_KERNEL_AVX2), wi, i, j, k;
    int *idx = (int *)malloc(sizeof(int) * count), *ridx = (int *)malloc(sizeof(int) * count);
    double *c = (double *)malloc(sizeof(double) * count), *s = (double *)malloc(sizeof(double) * count);
    double *rc = (double *)malloc(sizeof(double) * count), *rs = (double *)malloc(sizeof(double) * count);
    double worst_norm = 0, worst_back = 0, u = 0x1p-53;
    trng r = { 4242 };
    for (k = 0; k < count; k++) {
        double th = 6.283185307179586 * trng_unif(&r);
        /* chase-like runs (falling and rising by one) mixed with random pairs */
        idx[k] = k % 3 == 0 || k == 0 ? (int)(trng_unif(&r) * (rows - 1)) : idx[k - 1] + (k % 6 < 3 ? -1 : 1);
        if (idx[k] < 0) idx[k] = 0;
        if (idx[k] > rows - 2) idx[k] = rows - 2;
        c[k] = cos(th);
        s[k] = sin(th);
    }
    for (k = 0; k < count; k++) { ridx[k] = idx[count - 1 - k]; rc[k] = c[count - 1 - k]; rs[k] = -s[count - 1 - k]; }
    for (wi = 0; wi < (int)(sizeof widths / sizeof widths[0]); wi++) {
        int w = widths[wi];
        size_t ld = (size_t)w + 3, nz = (size_t)rows * ld;
        double *Z0 = (double *)malloc(sizeof(double) * nz), *Zs = (double *)malloc(sizeof(double) * nz), *Za = (double *)malloc(sizeof(double) * nz);
        for (i = 0; i < (int)nz; i++) Z0[i] = trng_normal(&r);
        memcpy(Zs, Z0, sizeof(double) * nz);
        memcpy(Za, Z0, sizeof(double) * nz);
        ASSERT_OK(uniql_rotate_rows_f64(rows, w, Zs, ld, count, idx, c, s, UNIQL_KERNEL_SCALAR));
        if (simd) {
            ASSERT_OK(uniql_rotate_rows_f64(rows, w, Za, ld, count, idx, c, s, UNIQL_KERNEL_AVX2));
            if (memcmp(Zs, Za, sizeof(double) * nz)) { UQ_NOTE("width %d", w); FAILm("AVX2 rotations != scalar"); }
        }
        for (i = 0; i < rows; i++)   /* the padding columns are never touched */
            for (j = w; j < (int)ld; j++) ASSERT(Zs[(size_t)i * ld + j] == Z0[(size_t)i * ld + j]);
        for (j = 0; j < w; j++) {
            double n0 = 0, n1 = 0, e;
            for (i = 0; i < rows; i++) { n0 += Z0[(size_t)i * ld + j] * Z0[(size_t)i * ld + j]; n1 += Zs[(size_t)i * ld + j] * Zs[(size_t)i * ld + j]; }
            e = fabs(sqrt(n1) - sqrt(n0)) / sqrt(n0);
            if (e > worst_norm) worst_norm = e;
            ASSERT(e <= count * 8 * u);
        }
        ASSERT_OK(uniql_rotate_rows_f64(rows, w, Zs, ld, count, ridx, rc, rs, UNIQL_KERNEL_AUTO));
        for (j = 0; j < w; j++) {
            double n0 = 0, d = 0;
            for (i = 0; i < rows; i++) {
                double a = Z0[(size_t)i * ld + j], b = Zs[(size_t)i * ld + j];
                n0 += a * a;
                d += (a - b) * (a - b);
            }
            if (sqrt(d / n0) > worst_back) worst_back = sqrt(d / n0);
            ASSERT(sqrt(d) <= count * 16 * u * sqrt(n0));
        }
        free(Z0); free(Zs); free(Za);
    }
    {   /* exact: (c, s) = (0, 1) on x = row 1, y = row 0: x' = y, y' = -x */
        double Z[6] = { 1, 2, 3, 4, 5, 6 }, zc = 0, zs = 1, zero[6];
        int i0 = 0, bad = 2;
        ASSERT_OK(uniql_rotate_rows_f64(2, 3, Z, 3, 1, &i0, &zc, &zs, UNIQL_KERNEL_AUTO));
        ASSERT(Z[3] == 1 && Z[4] == 2 && Z[5] == 3 && Z[0] == -4 && Z[1] == -5 && Z[2] == -6);
        memcpy(zero, Z, sizeof zero);
        ASSERT_EQ(UNIQL_ERR_INVALID_ARG, uniql_rotate_rows_f64(2, 3, Z, 3, 1, &bad, &zc, &zs, UNIQL_KERNEL_AUTO));
        i0 = -1;
        ASSERT_EQ(UNIQL_ERR_INVALID_ARG, uniql_rotate_rows_f64(2, 3, Z, 3, 1, &i0, &zc, &zs, UNIQL_KERNEL_AUTO));
        ASSERT(!memcmp(zero, Z, sizeof zero));   /* a refused call leaves Z as it was */
        i0 = 0;
        ASSERT_EQ(UNIQL_ERR_SHAPE, uniql_rotate_rows_f64(2, 3, Z, 2, 1, &i0, &zc, &zs, UNIQL_KERNEL_AUTO));
        ASSERT_EQ(UNIQL_ERR_INVALID_ARG, uniql_rotate_rows_f64(2, 3, NULL, 3, 1, &i0, &zc, &zs, UNIQL_KERNEL_AUTO));
        ASSERT_EQ(UNIQL_ERR_INVALID_ARG, uniql_rotate_rows_f64(2, 3, Z, 3, 1, &i0, &zc, &zs, UNIQL_KERNEL_I8ACT));
    }
    free(idx); free(ridx); free(c); free(s); free(rc); free(rs);
    UQ_NOTE("%s; worst column-norm change %.3g, worst restore %.3g (relative)", simd ? "AVX2 == scalar bit for bit" : "no AVX2: scalar only",
            worst_norm, worst_back);
    PASS();
}

SUITE(linalg_suite)
{
    RUN_TEST(svd_known_spectra_condition_1_to_1e12);
    RUN_TEST(svd_sizes_up_to_256);
    RUN_TEST(svd_repeated_values);
    RUN_TEST(svd_rank_deficient);
    RUN_TEST(svd_exactly_rank_deficient_and_zero);
    RUN_TEST(svd_vectors_and_matrices_of_one_row_or_column);
    RUN_TEST(svd_2x2_closed_form);
    RUN_TEST(svd_extreme_magnitudes_scale_exactly);
    RUN_TEST(svd_f32_matches_with_float_bounds);
    RUN_TEST(svd_errors_and_sweep_cap);
    RUN_TEST(eigh_known_eigenvalues);
    RUN_TEST(eigh_agrees_with_jacobi_svd_on_spd);
    RUN_TEST(sqrt_psd_known_roots_and_floor);
    RUN_TEST(corr_integer_data_is_exact_for_any_batching);
    RUN_TEST(corr_wide_rows_cross_the_kernel_column_blocks);
    RUN_TEST(corr_float_data_matches_naive_double_sum);
    RUN_TEST(corr_errors_leave_accumulator_unchanged);
    RUN_TEST(ridge_leverage_matches_definition);
    RUN_TEST(ridge_leverage_limits);
    RUN_TEST(argsort_is_stable_descending);
    RUN_TEST(qasvd_head_reconstructs_and_truncates_optimally);
    RUN_TEST(qasvd_group_reconstructs_and_its_guarantee);
    RUN_TEST(qasvd_int4_rtn_qa_vs_sqrt_split);
    RUN_TEST(qasvd_errors);
    RUN_TEST(linalg_paths_run_without_leaks_under_failure);
    RUN_TEST(linalg_threads_same_bits_and_known_answers);
    RUN_TEST(gemm_f64_simd_equals_scalar_and_known_answer);
    RUN_TEST(rotate_rows_f64_simd_equals_scalar_and_known_answer);
}
