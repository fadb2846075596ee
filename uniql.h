/* uniql.h - v0.1 - public domain / MIT (see end of file)
   A single-header C99 reference of two LLM compression methods for edge devices:

     UniQL  (Chiang et al., arXiv 2512.03383, ICLR 2026): structured weight sorting,
            quantization-aware SVD, state-aware SSM sorting, group int4 quantization,
            fused RoPE for pruned heads, on-device configurable pruning.
     LSAQ   (Zeng et al., arXiv 2412.18135): layer-specific adaptive bit widths from
            top-k Jaccard layer importance.

   plus the runtimes (Llama / Qwen2 transformer, Mamba2 SSM, Nemotron-H hybrid) that run
   what it produced, checked against Hugging Face transformers.

   ------------------------------------------------------------------------------------
   HOW TO USE

     In exactly ONE C file:
         #define UNIQL_IMPLEMENTATION
         #include "uniql.h"
     Everywhere else include "uniql.h" normally. Link with -lm. Nothing else is needed:
     the library uses the C99 standard library and libm only, keeps no global state,
     never prints and never exits. Every fallible call returns a uniql_result.

   OPTIONS (define before the #include that has UNIQL_IMPLEMENTATION)

     UNIQL_MALLOC(size, user) / UNIQL_FREE(ptr, user)
                         allocator; `user` is the pointer the caller passed to the
                         allocating function (may be NULL). Default: malloc/free.
     UNIQL_ASSERT(x)     internal invariant checks (programming errors, never bad input).
                         Default: assert(x).
     UNIQL_STATIC        make every function static (UNIQLDEF = static), for a private
                         copy inside another library.
     UNIQLDEF            linkage of every public function (default: extern).
     UNIQL_NO_SIMD       compile only the scalar reference kernels.

   ERRORS

     Every fallible function returns uniql_result (UNIQL_OK == 0, errors < 0).
     uniql_result_string(r) gives a fixed English description. Functions that read
     untrusted data also take a `uniql_error *` (may be NULL) that receives the code
     and a specific message ("tensor 'x' offsets [a, b) end past the data (n bytes)").

   MEMORY

     Caller-owned buffers wherever sizes are known in advance; objects that allocate
     (models, packed files) document their owner and have a matching *_free().
     Matrices are passed as views (uniql_matrix): pointer + shape + stride, so a pruned
     model is a prefix view of the packed weights, never a copy.

   VERSION HISTORY
     0.1   first public layout.
*/
#ifndef UNIQL_H_INCLUDED
#define UNIQL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifndef UNIQLDEF
#ifdef UNIQL_STATIC
#define UNIQLDEF static
#else
#define UNIQLDEF extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define UNIQL_VERSION_MAJOR 0
#define UNIQL_VERSION_MINOR 1

/* =====================================================================================
   API 1. Results and errors
   ===================================================================================== */

typedef enum uniql_result {
    UNIQL_OK = 0,
    UNIQL_ERR_INVALID_ARG = -1,     /* NULL pointer, negative size, unknown enum value */
    UNIQL_ERR_OUT_OF_MEMORY = -2,   /* UNIQL_MALLOC returned NULL */
    UNIQL_ERR_NONFINITE = -3,       /* NaN or Inf found in an input that must be finite */
    UNIQL_ERR_SHAPE = -4,           /* shapes disagree, or a size is not allowed */
    UNIQL_ERR_RANGE = -5,           /* a value cannot be represented (e.g. scale > fp16 max) */
    UNIQL_ERR_NO_CONVERGENCE = -6,  /* an iterative method hit its iteration cap */
    UNIQL_ERR_NOT_SPD = -7,         /* a matrix that must be positive definite is not */
    UNIQL_ERR_IO = -8,              /* a file could not be opened, read or written */
    UNIQL_ERR_TRUNCATED = -9,       /* the data ends before a declared size */
    UNIQL_ERR_PARSE = -10,          /* malformed text (JSON, numbers, strings) */
    UNIQL_ERR_FORMAT = -11,         /* well-formed but not a valid file of this kind */
    UNIQL_ERR_DTYPE = -12,          /* unknown or unsupported tensor data type */
    UNIQL_ERR_OFFSETS = -13,        /* tensor offsets outside the data area or overlapping */
    UNIQL_ERR_MISSING = -14,        /* a required tensor or config key is absent */
    UNIQL_ERR_OVERFLOW = -15,       /* a size computed from file data overflows */
    UNIQL_ERR_UNSUPPORTED = -16,    /* valid, but a feature this library does not implement */
    UNIQL_ERR_BAD_MAGIC = -17,      /* not a .uniql file */
    UNIQL_ERR_VERSION = -18,        /* a .uniql file of a version this build cannot read */
    UNIQL_ERR_CHECKSUM = -19,       /* stored checksum does not match the content */
    UNIQL_ERR_BUDGET = -20          /* nothing fits in the requested memory budget */
} uniql_result;

/* A fixed English sentence for a result code (never NULL). */
UNIQLDEF const char *uniql_result_string(uniql_result r);

/* Detailed error report filled by functions that parse untrusted input. */
typedef struct uniql_error {
    uniql_result code;
    char message[256];
} uniql_error;

/* =====================================================================================
   API 2. Numbers: half precision conversions
   ===================================================================================== */

/* IEEE binary16 <-> binary32. fp32->fp16 rounds to nearest even, overflows to +-Inf,
   keeps NaN a NaN. fp16->fp32 is exact for all 65536 inputs. */
UNIQLDEF uint16_t uniql_fp32_to_fp16(float f);
UNIQLDEF float uniql_fp16_to_fp32(uint16_t h);
/* bfloat16 <-> binary32, round to nearest even, NaN kept NaN. */
UNIQLDEF uint16_t uniql_fp32_to_bf16(float f);
UNIQLDEF float uniql_bf16_to_fp32(uint16_t h);

/* =====================================================================================
   API 3. Matrix views and quantized formats
   ===================================================================================== */

typedef enum uniql_dtype {
    UNIQL_DTYPE_F32 = 0,
    UNIQL_DTYPE_F16 = 1,
    UNIQL_DTYPE_BF16 = 2,
    UNIQL_DTYPE_Q4 = 3,   /* group-wise 4-bit, symmetric, one fp16 scale per group */
    UNIQL_DTYPE_Q4Z = 4,  /* group-wise 4-bit, asymmetric: fp16 scale + u8 zero point */
    UNIQL_DTYPE_Q8 = 5    /* 8-bit, symmetric, one fp16 scale per row */
} uniql_dtype;

/* A read-only view of a weight matrix W (rows = outputs, cols = inputs), used as
   y = W x. The view never owns memory.

   Storage. The matrix is stored as "storage rows" of equal length:
     transposed == 0: storage row r holds W[r][0..cols)   (rows storage rows of cols)
     transposed == 1: storage row c holds W[0..rows)[c]   (cols storage rows of rows)
   Matrices whose *input* dimension gets pruned (o_proj, down_proj, Mamba out_proj) are
   stored transposed, so that both kinds of pruning cut storage rows, never the middle
   of a quantization group: every pruning rate is a prefix, with no requantization.
   - data points at storage row 0; `stride` is the byte distance between storage rows.
   - Q4/Q4Z: groups of `group` consecutive elements of a storage row share one fp16
     scale (and Q4Z one u8 zero point); `scales` points at the first scale of storage
     row 0 and `scale_stride` is the number of scales between storage rows; `zeros` is
     indexed like `scales`. Q8: one scale per storage row (group = storage row length).
   - Blocks: if block > 0, logical storage row i lives at physical storage row
     (i / block) * block_stride + i % block. This is how a per-head prefix (keep the
     first k of every head's sorted rows) stays a view without a copy.
   Nibble order and scale layouts of the quantized types are documented with the
   quantization API below. */
typedef struct uniql_matrix {
    uniql_dtype dtype;
    int rows, cols;
    int transposed;
    const void *data;
    size_t stride;
    const uint16_t *scales;
    size_t scale_stride;
    const uint8_t *zeros;
    int group;
    int block, block_stride;
} uniql_matrix;

/* Row-major fp32 matrix as a view (ld = elements between rows). */
UNIQLDEF uniql_matrix uniql_matrix_f32(const float *data, int rows, int cols, size_t ld);

/* Sub-view: rows [row0, row0+rows), cols [0, cols). Fails with UNIQL_ERR_SHAPE if the
   range is outside `m` or cols is not a multiple of m->group for Q4/Q4Z. */
UNIQLDEF uniql_result uniql_matrix_slice(const uniql_matrix *m, int row0, int rows, int cols,
                                         uniql_matrix *out);

/* Y[i][r] = sum_c W[r][c] * X[i][c] for i < n tokens, r < W->rows.
   X is n x W->cols with row stride ldx (floats), Y is n x W->rows with stride ldy.
   X and Y must not overlap. n == 1 is the decode GEMV; n > 1 the prefill GEMM. */
UNIQLDEF uniql_result uniql_matmul(const uniql_matrix *W, const float *X, int n, size_t ldx,
                                   float *Y, size_t ldy);

/* ---- (quantization API: group int4 / int8, see issue "foundation") ---- */


/* =====================================================================================
   API 4. Linear algebra (Jacobi SVD, symmetric eigensolver, correlations, leverage)
   ===================================================================================== */

/* Conventions of this section.
   - Matrices are row-major with an explicit leading dimension ld (elements between rows):
     X[i][j] = X[i*ld + j]; ld >= the row length, else UNIQL_ERR_SHAPE.
   - Symmetric inputs (correlations, C^{1/2}): only the upper triangle (j >= i) is read.
   - Outputs are caller-owned buffers of the stated shape. Scratch space is taken with
     UNIQL_MALLOC(size, user) from the `user` the caller passes (opts->user for the SVD)
     and freed before the function returns, on success and on every error path; nothing
     is kept between calls. On an error return the outputs' contents are unspecified.
   - Arithmetic is double throughout; the f32 entry points convert at their interfaces.
   - Every entry point returns UNIQL_ERR_NONFINITE if an input it reads holds NaN/Inf,
     UNIQL_ERR_SHAPE for empty or inconsistent shapes, UNIQL_ERR_INVALID_ARG for NULL
     required pointers or bad parameters, UNIQL_ERR_OUT_OF_MEMORY if UNIQL_MALLOC fails. */

/* ---- Singular value decomposition (one-sided Jacobi) ------------------------------- */

typedef struct uniql_svd_opts {
    double tol;      /* stop when every column pair has |cos angle| <= tol;
                        0 = default sqrt(max(m,n)) * DBL_EPSILON (LAPACK dgesvj's default) */
    int max_sweeps;  /* sweep cap; 0 = default UNIQL_SVD_MAX_SWEEPS */
    void *user;      /* handed to UNIQL_MALLOC / UNIQL_FREE */
} uniql_svd_opts;

#define UNIQL_SVD_MAX_SWEEPS 60

/* Thin SVD A = U diag(S) V^T of the m x n matrix A (row-major, ld lda), k = min(m, n):
   S[k] descending (>= 0), U m x k (ld ldu), V n x k (ld ldv), columns matched to S.
   U and/or V may be NULL when not wanted (S is required). A is not modified.

   Method (Drmac-Veselic preconditioned Jacobi, cf. LAPACK dgejsv): work on the tall form
   M (A, or A^T when m < n); QR with column pivoting M P = Q R; one-sided Jacobi on the
   columns of R^T with de Rijk pivoting, rotations from each 2x2 Gram block. Jacobi on R^T
   rather than A sees R R^T, which the pivoted QR has already pushed towards diagonal,
   so it needs fewer sweeps; the QR also shrinks a tall m x n problem to n x n.
   Convergence: a sweep in which every pair (i, j) already satisfies
   |x_i . x_j| <= tol * |x_i| |x_j| (norms recomputed at the start of each sweep) ends the
   iteration, so U and V are orthonormal to about tol regardless of the singular values'
   sizes. No such sweep within max_sweeps -> UNIQL_ERR_NO_CONVERGENCE.
   Cost: O(m n^2) for the QR and for applying Q, plus O(sweeps * n^3) for Jacobi
   (k replaces n when m < n); typically 5-10 sweeps. Scratch: m n + 2 k^2 doubles, plus
   m n (when U is wanted, or V for m < n) and k^2 (for the other factor), plus O(m + n).
   Rank deficiency: singular vectors of exactly zero singular values are completed to an
   orthonormal set (U and V are always orthonormal). The input is scaled by a power of two
   so that max |a_ij| is in [1/2, 1); singular values below ~1e-150 * max|a_ij| are
   returned as 0. UNIQL_ERR_RANGE if a singular value overflows (only when
   |a_ij| ~ DBL_MAX). `sweeps` (may be NULL) receives the number of sweeps used. */
UNIQLDEF uniql_result uniql_svd_f64(int m, int n, const double *A, size_t lda, double *S,
                                    double *U, size_t ldu, double *V, size_t ldv,
                                    const uniql_svd_opts *opts, int *sweeps);
/* The same for float data: converts A to double, runs uniql_svd_f64, rounds the results
   to float (so the only float errors are the roundings at the interface). Scratch as
   above plus (m n + m k + n k + k) doubles. */
UNIQLDEF uniql_result uniql_svd_f32(int m, int n, const float *A, size_t lda, float *S,
                                    float *U, size_t ldu, float *V, size_t ldv,
                                    const uniql_svd_opts *opts, int *sweeps);

/* ---- Symmetric eigendecomposition and matrix square roots --------------------------- */

/* A = Z diag(w) Z^T for the symmetric n x n matrix A (upper triangle read). w[n] is
   DESCENDING (the same order as singular values and "keep the first r" slicing); Z is
   n x n (ld ldz), column j the unit eigenvector of w[j]; Z may be NULL (values only,
   O(n^2) after the reduction). Method: Householder tridiagonalisation, then implicit QL
   with Wilkinson shifts (at most 30 iterations per eigenvalue, else
   UNIQL_ERR_NO_CONVERGENCE). Cost ~ 4/3 n^3 (reduction) + 4/3 n^3 (forming Q) +
   ~5 n^3 (QL rotations applied to Z, deferred and applied in cache-sized strips) flops;
   scratch 2 n^2 + ~170 n doubles (n^2 + ~170 n when Z is NULL). */
UNIQLDEF uniql_result uniql_eigh_f64(int n, const double *A, size_t lda, double *w,
                                     double *Z, size_t ldz, void *user);

#define UNIQL_EIG_FLOOR_DEFAULT 1e-6

/* C^{1/2} = Z diag(sqrt(max(w, f))) Z^T and C^{-1/2} = Z diag(1/sqrt(max(w, f))) Z^T, with
   f = eig_floor, for the symmetric n x n C (upper triangle read); either output (n x n,
   full symmetric) may be NULL. The floor is ABSOLUTE (eigenvalues of C are in the units of
   C, activation^2): UniQL's official code clamps that way (torch.clamp(eigvals, min=1e-6),
   compress/compress_helpers.py), so the pipeline reproduces the method, and the clamp also
   absorbs the small negative eigenvalues rounding gives a PSD correlation. Default
   UNIQL_EIG_FLOOR_DEFAULT = 1e-6. eig_floor < 0 -> UNIQL_ERR_INVALID_ARG; eig_floor == 0
   with Cisqrt requested and a clamped eigenvalue of 0 -> UNIQL_ERR_NOT_SPD.
   Cost: eigh + n^3 flops per requested root (a SYRK); scratch 2 n^2 + ~170 n + 280K
   doubles. */
UNIQLDEF uniql_result uniql_sqrt_psd_f64(int n, const double *C, size_t ldc, double eig_floor,
                                         double *Csqrt, size_t lds, double *Cisqrt, size_t ldi,
                                         void *user);

/* ---- Streaming correlation C = (1/T) sum_t x_t^T x_t -------------------------------- */

/* Accumulates x_t^T x_t over batches of activations (rows = tokens) without keeping them:
   a d x d double sum (upper triangle), updated by a blocked packed kernel (~d^2 flops per
   token); products of float inputs are exact in double, sums are double. All memory is
   owned by the struct: uniql_corr_init allocates it in one block (d^2 + 256 d + 280K
   doubles) with `user`, uniql_corr_free releases it. Not thread safe per object; separate
   objects are independent. */
typedef struct uniql_corr {
    int d;
    long long count;   /* tokens added so far */
    double *sum;       /* d x d, upper triangle holds sum_t x_t^T x_t */
    double *buf;       /* scratch: a converted token block and packed panels */
    void *user;
} uniql_corr;

UNIQLDEF uniql_result uniql_corr_init(uniql_corr *acc, int d, void *user);
/* Adds n tokens X (n x d, ld ldx). NaN/Inf anywhere in X -> UNIQL_ERR_NONFINITE and the
   accumulator is left unchanged. n == 0 is allowed (no-op). */
UNIQLDEF uniql_result uniql_corr_add_f32(uniql_corr *acc, const float *X, int n, size_t ldx);
UNIQLDEF uniql_result uniql_corr_add_f64(uniql_corr *acc, const double *X, int n, size_t ldx);
/* C (d x d, ld ldc, full symmetric) = sum / count. UNIQL_ERR_SHAPE if no token was added.
   Note: the official UniQL code divides by the number of calibration *sequences*, not
   tokens, so its C (and the absolute lambda / floor applied to it) is T_seq times ours;
   multiply C by the sequence length to reproduce it exactly. */
UNIQLDEF uniql_result uniql_corr_finalize(const uniql_corr *acc, double *C, size_t ldc);
UNIQLDEF void uniql_corr_free(uniql_corr *acc);

/* ---- Ridge leverage scores and sorting ---------------------------------------------- */

#define UNIQL_RIDGE_LAMBDA_DEFAULT 1e-4

/* scores[i] = [C (C + lambda I)^{-1}]_ii = 1 - lambda [(C + lambda I)^{-1}]_ii for the
   symmetric n x n C (upper triangle read), lambda > 0 ABSOLUTE (as the official code:
   torch.linalg.inv(C_sigma + ridge_lambda * I), ridge_lambda = 1e-4, no rescaling).
   No explicit inverse of C: blocked Cholesky C + lambda I = R^T R, then R^{-1} in place,
   [(C + lambda I)^{-1}]_ii = |row i of R^{-1}|^2. For PSD C every score is in [0, 1).
   C + lambda I not positive definite -> UNIQL_ERR_NOT_SPD. Cost ~ 2/3 n^3 flops;
   scratch n^2 + 64 n + 280K doubles. */
UNIQLDEF uniql_result uniql_ridge_leverage_f64(int n, const double *C, size_t ldc, double lambda,
                                               double *scores, void *user);

/* perm[0..n) = indices of scores sorted descending, ties by lower index first (stable
   merge sort), so "keep the first r" keeps the r highest scores. NaN -> NONFINITE
   (+-Inf are ordered normally). Scratch n ints. */
UNIQLDEF uniql_result uniql_argsort_desc_f64(int n, const double *scores, int *perm, void *user);

/* ---- Quantization-aware V/O decomposition (SPEC 1.2) -------------------------------- */

/* Layout: Hugging Face storage, as the runtime uses it. For one head (or KV group)
     Wv : head_dim x hidden   rows of v_proj.weight for this head   (v = Wv x)
     Wo : hidden x head_dim   columns of o_proj.weight for this head (out = Wo v)
   so the SPEC's row-vector matrices are W_V = Wv^T (hidden x head_dim), W_O = Wo^T.
   C^{1/2}, C^{-1/2}: hidden x hidden (from uniql_sqrt_psd_f64 of the block-input
   correlation), full symmetric. Outputs are rank-ordered: Wv_new row r and Wo_new column r
   belong to component r, so keeping the first r rows / columns is the rank-r truncation.
   Requires head_dim <= hidden. Arithmetic in double, weights in/out float. Bias of v_proj
   (Qwen2): not touched here; the caller folds it exactly as b_o += Wo b_v with the
   ORIGINAL matrices (attention weights sum to 1), and the new v_proj has no bias. */
/* SPEC expects the QA split to quantize better. With absmax round-to-nearest int4 that
   held in our tests only for flat spectra; with fast-decaying ones the SQRT split won
   (tests/test_linalg.c, qasvd_int4_rtn_qa_vs_sqrt_split, explains why). */
typedef enum uniql_vo_split {
    UNIQL_VO_SPLIT_QA = 0,    /* Sigma folded into V: W_O orthonormal (quantization-aware) */
    UNIQL_VO_SPLIT_SQRT = 1   /* plain split: sqrt(Sigma) on each side, for comparison */
} uniql_vo_split;

/* One attention head (MHA), two SVDs (SPEC 1.2, official attn_vo_compression):
     SVD(C^{1/2} W_V) = U S V^T,  SVD(S V^T W_O) = U' S' V'^T,
     QA:   W_V' = C^{-1/2} U U' S',      W_O' = V'^T
     SQRT: W_V' = C^{-1/2} U U' S'^{1/2}, W_O' = S'^{1/2} V'^T
   In HF layout: Wv_new = W_V'^T (head_dim x hidden), Wo_new = W_O'^T (hidden x head_dim).
   Since C^{1/2} W_V W_O = (U U') S' V'^T is an SVD, the first r components give the best
   rank-r approximation of the head's V->O map in the C-weighted norm
   E|x W_V W_O - x W~|^2 = |C^{1/2}(W_V W_O - W~)|_F^2 (exact when C is not clamped).
   sigma (may be NULL) receives S' (head_dim). Scratch 6 hidden*head_dim + 3 head_dim^2
   + 280K doubles, plus the SVDs' own. */
UNIQLDEF uniql_result uniql_qasvd_head(int hidden, int head_dim,
                                       const double *Csqrt, const double *Cisqrt, size_t ldc,
                                       const float *Wv, size_t ldv, const float *Wo, size_t ldo,
                                       uniql_vo_split split, float *Wv_new, size_t ldvn,
                                       float *Wo_new, size_t ldon, double *sigma,
                                       const uniql_svd_opts *opts);

/* One GQA group: a shared Wv (head_dim x hidden) and n_q query heads whose o_proj blocks
   are Wo + i*head_dim (i < n_q), each hidden x head_dim with row stride ldo (so pass
   o_proj.weight + first_head*head_dim and ldo = its row length). One SVD (SPEC 1.2):
     SVD(C^{1/2} W_Vg) = U S V^T,
     QA:   W_Vg' = C^{-1/2} U S,       W_Oi' = V^T W_Oi
     SQRT: W_Vg' = C^{-1/2} U S^{1/2}, W_Oi' = S^{1/2} V^T W_Oi
   HF layout out: Wv_new (head_dim x hidden), Wo_new + i*head_dim (hidden x head_dim each,
   row stride ldon). What the formula guarantees: the rank-r prefix turns every head's
   V->O map W_Vg W_Oi into C^{-1/2} B_r W_Oi, B_r = U_r S_r V_r^T the best rank-r
   approximation of C^{1/2} W_Vg: optimal for the shared value activations x W_Vg in the
   C-weighted norm (error^2 = sum_{i>r} S_i^2),
   not for each head's product W_Vg W_Oi. sigma (may be NULL) receives S. */
UNIQLDEF uniql_result uniql_qasvd_group(int hidden, int head_dim, int n_q,
                                        const double *Csqrt, const double *Cisqrt, size_t ldc,
                                        const float *Wv, size_t ldv, const float *Wo, size_t ldo,
                                        uniql_vo_split split, float *Wv_new, size_t ldvn,
                                        float *Wo_new, size_t ldon, double *sigma,
                                        const uniql_svd_opts *opts);

/* =====================================================================================
   API 5. File readers (JSON, safetensors)
   ===================================================================================== */


/* =====================================================================================
   API 6. Models and runtimes (Llama/Qwen2, Mamba2, Nemotron-H)
   ===================================================================================== */


/* =====================================================================================
   API 7. UniQL: calibration, structured sorting, layer rates, packing, pruning
   ===================================================================================== */


/* =====================================================================================
   API 8. LSAQ: layer importance and bit allocation
   ===================================================================================== */


#ifdef __cplusplus
}
#endif
#endif /* UNIQL_H_INCLUDED */

/* #####################################################################################
   IMPLEMENTATION
   ##################################################################################### */
#ifdef UNIQL_IMPLEMENTATION
#ifndef UNIQL_IMPLEMENTATION_DONE
#define UNIQL_IMPLEMENTATION_DONE

#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdio.h>
#include <stdarg.h>

#ifndef UNIQL_MALLOC
#define UNIQL_MALLOC(size, user) ((void)(user), malloc(size))
#define UNIQL_FREE(ptr, user) ((void)(user), free(ptr))
#endif
#ifndef UNIQL_ASSERT
#include <assert.h>
#define UNIQL_ASSERT(x) assert(x)
#endif

/* Private helpers that some build configurations (UNIQL_NO_SIMD, no parsers used) leave
   unused; the attribute keeps -Wunused-function quiet without hiding real dead code. */
#if defined(__GNUC__) || defined(__clang__)
#define UNIQL__MAYBE_UNUSED __attribute__((unused))
#else
#define UNIQL__MAYBE_UNUSED
#endif

/* =====================================================================================
   IMPL 1. Results and errors
   ===================================================================================== */

UNIQLDEF const char *uniql_result_string(uniql_result r)
{
    switch (r) {
    case UNIQL_OK: return "success";
    case UNIQL_ERR_INVALID_ARG: return "invalid argument";
    case UNIQL_ERR_OUT_OF_MEMORY: return "out of memory";
    case UNIQL_ERR_NONFINITE: return "input contains NaN or Inf";
    case UNIQL_ERR_SHAPE: return "shape mismatch or size not allowed";
    case UNIQL_ERR_RANGE: return "value out of representable range";
    case UNIQL_ERR_NO_CONVERGENCE: return "iteration did not converge within its cap";
    case UNIQL_ERR_NOT_SPD: return "matrix is not symmetric positive definite";
    case UNIQL_ERR_IO: return "file could not be opened, read or written";
    case UNIQL_ERR_TRUNCATED: return "data ends before a declared size";
    case UNIQL_ERR_PARSE: return "malformed text";
    case UNIQL_ERR_FORMAT: return "invalid file structure";
    case UNIQL_ERR_DTYPE: return "unknown or unsupported data type";
    case UNIQL_ERR_OFFSETS: return "tensor offsets out of range or overlapping";
    case UNIQL_ERR_MISSING: return "required tensor or key missing";
    case UNIQL_ERR_OVERFLOW: return "size computation overflows";
    case UNIQL_ERR_UNSUPPORTED: return "feature not supported";
    case UNIQL_ERR_BAD_MAGIC: return "not a .uniql file (bad magic)";
    case UNIQL_ERR_VERSION: return "unsupported .uniql file version";
    case UNIQL_ERR_CHECKSUM: return "checksum mismatch";
    case UNIQL_ERR_BUDGET: return "nothing fits in the memory budget";
    }
    return "unknown result code";
}

/* Record an error in `err` (if non-NULL) and return `code`, so parsers can write
   `return uniql__fail(err, UNIQL_ERR_PARSE, "…%d", x);`. */
UNIQL__MAYBE_UNUSED static uniql_result uniql__fail(uniql_error *err, uniql_result code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Overflow-checked size arithmetic for every size derived from untrusted data. */
UNIQL__MAYBE_UNUSED static int uniql__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > (size_t)-1 / a) return 0;
    *out = a * b;
    return 1;
}
UNIQL__MAYBE_UNUSED static int uniql__add_size(size_t a, size_t b, size_t *out)
{
    if (b > (size_t)-1 - a) return 0;
    *out = a + b;
    return 1;
}

/* =====================================================================================
   IMPL 2. Numbers: half precision conversions
   ===================================================================================== */

static uint32_t uniql__f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float uniql__bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

UNIQLDEF float uniql_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
    if (exp == 0x1F) /* Inf / NaN: keep payload */
        return uniql__bits_f32(sign | 0x7F800000u | (man << 13));
    if (exp == 0) {
        /* zero or subnormal: value = man * 2^-24, exact in fp32 */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return uniql__bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

UNIQLDEF uint16_t uniql_fp32_to_fp16(float f)
{
    uint32_t u = uniql__f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7FFFFFFFu;
    if (a >= 0x7F800000u) /* Inf or NaN (NaN stays NaN: force a mantissa bit) */
        return (uint16_t)(sign | 0x7C00u | (a > 0x7F800000u ? (0x200u | ((a >> 13) & 0x3FFu)) : 0u));
    if (a >= 0x477FF000u) /* >= 65520 rounds to Inf */
        return (uint16_t)(sign | 0x7C00u);
    if (a < 0x38800000u) {
        /* result is subnormal or zero: round a * 2^24 to nearest even integer */
        uint32_t man, shift, q, rem, half;
        if (a < 0x33000000u) return sign; /* < 2^-25: rounds to zero */
        man = (a & 0x7FFFFFu) | 0x800000u;
        shift = 126u - (a >> 23); /* value = man * 2^(e-150); want man * 2^(e-150+24) */
        q = man >> shift;
        rem = man & ((1u << shift) - 1u);
        half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    {
        /* normal: rebias exponent, round mantissa 23 -> 10 bits to nearest even */
        uint32_t r = a - 0x38000000u; /* exponent 127 -> 15 */
        uint32_t q = r >> 13, rem = r & 0x1FFFu;
        if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
}

UNIQLDEF float uniql_bf16_to_fp32(uint16_t h) { return uniql__bits_f32((uint32_t)h << 16); }

UNIQLDEF uint16_t uniql_fp32_to_bf16(float f)
{
    uint32_t u = uniql__f32_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* =====================================================================================
   IMPL 3. Matrix views and matmul dispatch (scalar reference for float types)
   ===================================================================================== */

UNIQLDEF uniql_matrix uniql_matrix_f32(const float *data, int rows, int cols, size_t ld)
{
    uniql_matrix m;
    memset(&m, 0, sizeof m);
    m.dtype = UNIQL_DTYPE_F32;
    m.rows = rows;
    m.cols = cols;
    m.data = data;
    m.stride = ld * sizeof(float);
    m.group = cols;
    return m;
}

UNIQL__MAYBE_UNUSED static size_t uniql__dtype_row_bytes(uniql_dtype t, int cols)
{
    switch (t) {
    case UNIQL_DTYPE_F32: return (size_t)cols * 4;
    case UNIQL_DTYPE_F16: case UNIQL_DTYPE_BF16: return (size_t)cols * 2;
    case UNIQL_DTYPE_Q4: case UNIQL_DTYPE_Q4Z: return (size_t)cols / 2;
    case UNIQL_DTYPE_Q8: return (size_t)cols;
    }
    return 0;
}

UNIQLDEF uniql_result uniql_matrix_slice(const uniql_matrix *m, int row0, int rows, int cols,
                                         uniql_matrix *out)
{
    uniql_matrix v;
    if (!m || !out) return UNIQL_ERR_INVALID_ARG;
    if (row0 < 0 || rows < 0 || cols < 0 || row0 > m->rows || rows > m->rows - row0 || cols > m->cols)
        return UNIQL_ERR_SHAPE;
    if ((m->dtype == UNIQL_DTYPE_Q4 || m->dtype == UNIQL_DTYPE_Q4Z) && (m->group <= 0 || cols % m->group))
        return UNIQL_ERR_SHAPE;
    v = *m;
    v.rows = rows;
    v.cols = cols;
    v.data = (const unsigned char *)m->data + (size_t)row0 * m->stride;
    if (m->scales) v.scales = m->scales + (size_t)row0 * m->scale_stride;
    if (m->zeros) v.zeros = m->zeros + (size_t)row0 * m->scale_stride;
    *out = v;
    return UNIQL_OK;
}

static float uniql__dot_f32(const float *w, const float *x, int n)
{
    /* four partial sums: independent FMA chains, and the same order for every caller */
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int c = 0;
    for (; c + 4 <= n; c += 4) {
        s0 += w[c] * x[c]; s1 += w[c + 1] * x[c + 1];
        s2 += w[c + 2] * x[c + 2]; s3 += w[c + 3] * x[c + 3];
    }
    for (; c < n; c++) s0 += w[c] * x[c];
    return (s0 + s1) + (s2 + s3);
}

static void uniql__matmul_float_scalar(const uniql_matrix *W, const float *X, int n, size_t ldx,
                                       float *Y, size_t ldy)
{
    int r, i, c;
    float buf[256];
    for (r = 0; r < W->rows; r++) {
        const unsigned char *row = (const unsigned char *)W->data + (size_t)r * W->stride;
        if (W->dtype == UNIQL_DTYPE_F32) {
            for (i = 0; i < n; i++) Y[(size_t)i * ldy + r] = uniql__dot_f32((const float *)row, X + (size_t)i * ldx, W->cols);
            continue;
        }
        /* f16/bf16: widen 256 weights at a time, reuse them for every token */
        for (i = 0; i < n; i++) Y[(size_t)i * ldy + r] = 0.0f;
        for (c = 0; c < W->cols; c += 256) {
            int k, len = W->cols - c < 256 ? W->cols - c : 256;
            const uint16_t *h = (const uint16_t *)row + c;
            if (W->dtype == UNIQL_DTYPE_F16) for (k = 0; k < len; k++) buf[k] = uniql_fp16_to_fp32(h[k]);
            else for (k = 0; k < len; k++) buf[k] = uniql_bf16_to_fp32(h[k]);
            for (i = 0; i < n; i++) Y[(size_t)i * ldy + r] += uniql__dot_f32(buf, X + (size_t)i * ldx + c, len);
        }
    }
}

UNIQLDEF uniql_result uniql_matmul(const uniql_matrix *W, const float *X, int n, size_t ldx,
                                   float *Y, size_t ldy)
{
    if (!W || !X || !Y || n < 0 || W->rows < 0 || W->cols < 0) return UNIQL_ERR_INVALID_ARG;
    if (n > 1 && (ldx < (size_t)W->cols || ldy < (size_t)W->rows)) return UNIQL_ERR_SHAPE;
    if (W->rows > 0 && W->cols > 0 && !W->data) return UNIQL_ERR_INVALID_ARG;
    switch (W->dtype) {
    case UNIQL_DTYPE_F32: case UNIQL_DTYPE_F16: case UNIQL_DTYPE_BF16:
        uniql__matmul_float_scalar(W, X, n, ldx, Y, ldy);
        return UNIQL_OK;
    default:
        return UNIQL_ERR_UNSUPPORTED;
    }
}

/* =====================================================================================
   IMPL 4. Quantization and kernels (group int4 / int8; scalar, then AVX2 / NEON twins)
   ===================================================================================== */


/* =====================================================================================
   IMPL 5. Linear algebra (Jacobi SVD, eigen, correlations, ridge leverage, QA-SVD)
   ===================================================================================== */

#include <float.h>

/* ---- scratch, checks and small vector kernels ---------------------------------------- */

/* One UNIQL_MALLOC per call: sizes are summed with overflow checks, then carved. */
typedef struct uniql__scratch {
    size_t bytes;
    int overflow;
} uniql__scratch;

static size_t uniql__scratch_take(uniql__scratch *z, size_t count, size_t elem)
{
    size_t off = z->bytes, b;
    if (!uniql__mul_size(count, elem, &b) || !uniql__add_size(b, 7, &b) || !uniql__add_size(z->bytes, b & ~(size_t)7, &z->bytes))
        z->overflow = 1;
    return off;
}

static int uniql__finite_rect(const double *A, int rows, int cols, size_t ld)
{
    int i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            if (!isfinite(A[(size_t)i * ld + j])) return 0;
    return 1;
}

static int uniql__finite_rect_f32(const float *A, int rows, int cols, size_t ld)
{
    int i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            if (!isfinite(A[(size_t)i * ld + j])) return 0;
    return 1;
}

static int uniql__finite_upper(const double *A, int n, size_t ld)
{
    int i, j;
    for (i = 0; i < n; i++)
        for (j = i; j < n; j++)
            if (!isfinite(A[(size_t)i * ld + j])) return 0;
    return 1;
}

/* Four partial sums: independent chains the compiler vectorises without reassociating. */
static double uniql__dot(const double *x, const double *y, int n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += x[k] * y[k]; s1 += x[k + 1] * y[k + 1];
        s2 += x[k + 2] * y[k + 2]; s3 += x[k + 3] * y[k + 3];
    }
    for (; k < n; k++) s0 += x[k] * y[k];
    return (s0 + s1) + (s2 + s3);
}

static void uniql__axpy(double *y, double a, const double *x, int n)
{
    int k;
    for (k = 0; k < n; k++) y[k] += a * x[k];
}

/* (x, y) <- (c x - s y, s x + c y), computed as x - s (y + tau x), y + s (x - tau y),
   tau = s / (1 + c) (Rutishauser).
   For the tiny angles of late Jacobi sweeps c rounds to 1 and [c -s; s c] grows norms by
   ~s^2 per rotation; thousands of rotations per column then drift |U| by ~1e-13. This form
   keeps the second-order term and the drift disappears. */
static void uniql__rot_small(double *x, double *y, int n, double c, double s)
{
    double tau = s / (1.0 + c);
    int k;
    for (k = 0; k < n; k++) {
        double xk = x[k], yk = y[k];
        x[k] = xk - s * (yk + tau * xk);
        y[k] = yk + s * (xk - tau * yk);
    }
}

static void uniql__swap_rows(double *x, double *y, int n)
{
    int k;
    for (k = 0; k < n; k++) { double t = x[k]; x[k] = y[k]; y[k] = t; }
}

/* Exponent e with max|a| * 2^-e in [1/2, 1): scaling by a power of two is exact and keeps
   every sum of squares clear of overflow and (for all but ~1e-150-relative entries) of
   underflow. */
static int uniql__scale_exponent(double amax)
{
    int e = 0;
    if (amax > 0) frexp(amax, &e);
    return e;
}

/* ---- packed GEMM: the one level-3 kernel of this section ------------------------------ */

#define UNIQL__MR 4
#define UNIQL__NR 8
#define UNIQL__KC 256
#define UNIQL__MC 64
#define UNIQL__NC 1024
#define UNIQL__GEMM_WORK ((size_t)UNIQL__MC * UNIQL__KC + (size_t)UNIQL__KC * UNIQL__NC)

/* 4 x 8 register tile over kc packed steps; gcc and clang vectorise these plain loops at
   -O2, and the order of every sum is fixed (no reassociation). */
static void uniql__gemm_tile(int kc, const double *a, const double *b, double *acc)
{
    double c[UNIQL__MR * UNIQL__NR];
    int i, j, k;
    for (i = 0; i < UNIQL__MR * UNIQL__NR; i++) c[i] = 0.0;
    for (k = 0; k < kc; k++) {
        for (i = 0; i < UNIQL__MR; i++)
            for (j = 0; j < UNIQL__NR; j++) c[i * UNIQL__NR + j] += a[i] * b[j];
        a += UNIQL__MR;
        b += UNIQL__NR;
    }
    for (i = 0; i < UNIQL__MR * UNIQL__NR; i++) acc[i] = c[i];
}

/* C += alpha op(A) B with op(A) M x K (A[i*lda+k] if ta == 0, A[k*lda+i] if ta == 1) and
   B K x N row-major. upper != 0 (then M == N): only entries i <= j are touched (SYRK).
   Goto-style blocking: an MC x KC block of op(A) stays in L2, a KC x NR panel of B in L1.
   work: UNIQL__GEMM_WORK doubles. */
static void uniql__gemm(int M, int N, int K, double alpha, const double *A, size_t lda, int ta,
                        const double *B, size_t ldb, double *C, size_t ldc, int upper, double *work)
{
    double *Ap = work, *Bp = work + (size_t)UNIQL__MC * UNIQL__KC;
    double acc[UNIQL__MR * UNIQL__NR];
    int jc, pc, ic, jr, ir, i, j, k;
    for (jc = 0; jc < N; jc += UNIQL__NC) {
        int nc = N - jc < UNIQL__NC ? N - jc : UNIQL__NC;
        int mlim = upper && jc + nc < M ? jc + nc : M;
        for (pc = 0; pc < K; pc += UNIQL__KC) {
            int kc = K - pc < UNIQL__KC ? K - pc : UNIQL__KC;
            for (jr = 0; jr < nc; jr += UNIQL__NR) {
                double *dst = Bp + (size_t)jr * kc;
                int nr = nc - jr < UNIQL__NR ? nc - jr : UNIQL__NR;
                for (k = 0; k < kc; k++, dst += UNIQL__NR) {
                    const double *src = B + (size_t)(pc + k) * ldb + jc + jr;
                    for (j = 0; j < nr; j++) dst[j] = src[j];
                    for (; j < UNIQL__NR; j++) dst[j] = 0.0;
                }
            }
            for (ic = 0; ic < mlim; ic += UNIQL__MC) {
                int mc = mlim - ic < UNIQL__MC ? mlim - ic : UNIQL__MC;
                for (ir = 0; ir < mc; ir += UNIQL__MR) {
                    double *dst = Ap + (size_t)ir * kc;
                    int mr = mc - ir < UNIQL__MR ? mc - ir : UNIQL__MR;
                    for (k = 0; k < kc; k++, dst += UNIQL__MR)
                        for (i = 0; i < UNIQL__MR; i++) {
                            size_t r = (size_t)(ic + ir + i), c = (size_t)(pc + k);
                            dst[i] = i >= mr ? 0.0 : ta ? A[c * lda + r] : A[r * lda + c];
                        }
                }
                for (jr = 0; jr < nc; jr += UNIQL__NR) {
                    int nr = nc - jr < UNIQL__NR ? nc - jr : UNIQL__NR;
                    for (ir = 0; ir < mc; ir += UNIQL__MR) {
                        int mr = mc - ir < UNIQL__MR ? mc - ir : UNIQL__MR;
                        int gi = ic + ir, gj = jc + jr;
                        if (upper && gi > gj + UNIQL__NR - 1) continue; /* below the diagonal */
                        uniql__gemm_tile(kc, Ap + (size_t)ir * kc, Bp + (size_t)jr * kc, acc);
                        for (i = 0; i < mr; i++) {
                            double *crow = C + (size_t)(gi + i) * ldc + gj;
                            for (j = 0; j < nr; j++)
                                if (!upper || gi + i <= gj + j) crow[j] += alpha * acc[i * UNIQL__NR + j];
                        }
                    }
                }
            }
        }
    }
}

/* ---- Jacobi SVD ----------------------------------------------------------------------- */

/* Householder QR with column pivoting of the p x q matrix M (p >= q), stored by columns:
   Mt[j*p + i] = M[i][j]. Afterwards M P = Q R with P e_c = e_perm[c]; R[k][k] = rdiag[k],
   R[k][j] = Mt[j*p + k] (j > k); the reflector H_k = I - tau[k] v v^T has v = Mt[k*p + k..p).
   Partial column norms are downdated and recomputed once they lose ~6 digits (they only
   choose pivots). nrm, ref: q doubles of scratch. */
static void uniql__qrp(int p, int q, double *Mt, double *rdiag, double *tau, int *perm,
                       double *nrm, double *ref)
{
    int j, k;
    for (j = 0; j < q; j++) {
        const double *c = Mt + (size_t)j * p;
        nrm[j] = ref[j] = uniql__dot(c, c, p);
        perm[j] = j;
    }
    for (k = 0; k < q; k++) {
        double *v = Mt + (size_t)k * p + k, xn2, xn, x0, alpha, beta;
        int len = p - k, piv = k;
        for (j = k + 1; j < q; j++) if (nrm[j] > nrm[piv]) piv = j;
        if (piv != k) {
            double t;
            int ti;
            uniql__swap_rows(Mt + (size_t)k * p, Mt + (size_t)piv * p, p);
            t = nrm[k]; nrm[k] = nrm[piv]; nrm[piv] = t;
            t = ref[k]; ref[k] = ref[piv]; ref[piv] = t;
            ti = perm[k]; perm[k] = perm[piv]; perm[piv] = ti;
        }
        xn2 = uniql__dot(v, v, len);
        if (xn2 == 0.0) { rdiag[k] = 0.0; tau[k] = 0.0; continue; }
        xn = sqrt(xn2);
        x0 = v[0];
        alpha = x0 >= 0 ? -xn : xn;
        beta = 1.0 / (xn * (xn + fabs(x0)));
        v[0] = x0 - alpha;
        rdiag[k] = alpha;
        tau[k] = beta;
        for (j = k + 1; j < q; j++) {
            double *y = Mt + (size_t)j * p + k;
            uniql__axpy(y, -beta * uniql__dot(v, y, len), v, len);
            nrm[j] -= y[0] * y[0];
            if (nrm[j] <= 1e-6 * ref[j]) nrm[j] = ref[j] = uniql__dot(y + 1, y + 1, len - 1);
        }
    }
}

/* One-sided Jacobi on the q columns x_j (rows of W, length len), rotations also applied
   to the rows of Vt when non-NULL. A pair is rotated when |x_i.x_j| > tol |x_i| |x_j|;
   the rotation zeroes the pair's 2x2 Gram block [a g; g b] (Rutishauser: t = tan of the
   smaller root, a' = a - t g, b' = b + t g). Squared norms are recomputed exactly at the
   start of every sweep, so the sweep that rotates nothing has verified the criterion
   against exact norms. de Rijk: each row of the sweep starts from the largest remaining
   column, which sorts the columns on the way and speeds convergence. */
static uniql_result uniql__jacobi(int q, int len, double *W, double *Vt, int vlen, double tol,
                                  int max_sweeps, double *nrm, int *sweeps)
{
    int sweep, i, j;
    for (sweep = 1; sweep <= max_sweeps; sweep++) {
        long rotated = 0;
        for (j = 0; j < q; j++) nrm[j] = uniql__dot(W + (size_t)j * len, W + (size_t)j * len, len);
        for (i = 0; i + 1 < q; i++) {
            double *xi = W + (size_t)i * len;
            int piv = i;
            for (j = i + 1; j < q; j++) if (nrm[j] > nrm[piv]) piv = j;
            if (piv != i) {
                double t = nrm[i]; nrm[i] = nrm[piv]; nrm[piv] = t;
                uniql__swap_rows(xi, W + (size_t)piv * len, len);
                if (Vt) uniql__swap_rows(Vt + (size_t)i * vlen, Vt + (size_t)piv * vlen, vlen);
            }
            if (nrm[i] == 0.0) break; /* the largest remaining column is zero: all are */
            for (j = i + 1; j < q; j++) {
                double *xj = W + (size_t)j * len;
                double a = nrm[i], b = nrm[j], g, zeta, t, c, s;
                if (b == 0.0) continue;
                g = uniql__dot(xi, xj, len);
                if (fabs(g) <= tol * sqrt(a) * sqrt(b)) continue;
                rotated++;
                zeta = (b - a) / (2.0 * g);
                if (fabs(zeta) > 1e150) t = 0.5 / zeta; /* 1 + zeta^2 would overflow */
                else t = (zeta >= 0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1.0 + zeta * zeta));
                c = 1.0 / sqrt(1.0 + t * t);
                s = c * t;
                uniql__rot_small(xi, xj, len, c, s);
                if (Vt) uniql__rot_small(Vt + (size_t)i * vlen, Vt + (size_t)j * vlen, vlen, c, s);
                /* the shrinking norm loses digits to cancellation: recompute it if it fell a lot */
                nrm[i] = a - t * g;
                nrm[j] = b + t * g;
                if (nrm[i] < 1e-3 * a) nrm[i] = uniql__dot(xi, xi, len);
                if (nrm[j] < 1e-3 * b) nrm[j] = uniql__dot(xj, xj, len);
            }
        }
        if (rotated == 0) {
            if (sweeps) *sweeps = sweep;
            return UNIQL_OK;
        }
    }
    if (sweeps) *sweeps = max_sweeps;
    return UNIQL_ERR_NO_CONVERGENCE;
}

/* Rows of Q (k rows of length len) flagged in `missing` are filled so that all k rows are
   orthonormal: Gram-Schmidt (twice, "twice is enough") of unit vectors e_c against the
   rows present. A candidate is kept if |residual|^2 >= 1/(2 len); one always exists since
   the untried candidates' residuals sum to at least 1/2. tmp: len doubles. */
static void uniql__complete_basis(int k, int len, double *Q, unsigned char *missing, double *tmp)
{
    int t, u, pass, cand = 0;
    for (t = 0; t < k; t++) {
        if (!missing[t]) continue;
        for (;;) {
            double nn;
            UNIQL_ASSERT(cand < len);
            memset(tmp, 0, (size_t)len * sizeof *tmp);
            tmp[cand++] = 1.0;
            for (pass = 0; pass < 2; pass++)
                for (u = 0; u < k; u++) {
                    const double *qu = Q + (size_t)u * len;
                    if (!missing[u]) uniql__axpy(tmp, -uniql__dot(qu, tmp, len), qu, len);
                }
            nn = uniql__dot(tmp, tmp, len);
            if (nn >= 0.5 / len) {
                double inv = 1.0 / sqrt(nn);
                for (u = 0; u < len; u++) Q[(size_t)t * len + u] = tmp[u] * inv;
                missing[t] = 0;
                break;
            }
        }
    }
}

/* Stable descending order of x[0..n) into idx (merge sort; tmp: n ints). */
static void uniql__order_desc(int n, const double *x, int *idx, int *tmp)
{
    int w, lo, i;
    for (i = 0; i < n; i++) idx[i] = i;
    for (w = 1; w < n; w *= 2) {
        for (lo = 0; lo < n; lo += 2 * w) {
            int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int a = lo, b = mid, o = lo;
            while (a < mid && b < hi) tmp[o++] = x[idx[b]] > x[idx[a]] ? idx[b++] : idx[a++];
            while (a < mid) tmp[o++] = idx[a++];
            while (b < hi) tmp[o++] = idx[b++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

UNIQLDEF uniql_result uniql_svd_f64(int m, int n, const double *A, size_t lda, double *S,
                                    double *U, size_t ldu, double *V, size_t ldv,
                                    const uniql_svd_opts *opts, int *sweeps)
{
    /* Work on the tall form M (p x q, p >= q): M = A, or A^T when m < n. */
    int trans = m < n, p = trans ? n : m, q = trans ? m : n;
    double *Uo = trans ? V : U, *Vo = trans ? U : V; /* receive U_M (p x q), V_M (q x q) */
    size_t ldUo = trans ? ldv : ldu, ldVo = trans ? ldu : ldv;
    double tol, amax = 0.0, *Mt, *W, *Vt = NULL, *rdiag, *tau, *nrm, *ref, *sig, *Y, *Z;
    int max_sweeps, e, i, j, t, k, *perm, *order, *itmp;
    unsigned char *missing, *base;
    void *user = opts ? opts->user : NULL;
    uniql__scratch z = { 0, 0 };
    size_t oMt, oW, oVt, oR, oTau, oN, oRef, oSig, oY, oZ, oPerm, oOrd, oItmp, oMiss;
    uniql_result r;

    if (sweeps) *sweeps = 0;
    if (!A || !S) return UNIQL_ERR_INVALID_ARG;
    if (m <= 0 || n <= 0 || lda < (size_t)n) return UNIQL_ERR_SHAPE;
    if ((U && ldu < (size_t)q) || (V && ldv < (size_t)q)) return UNIQL_ERR_SHAPE;
    tol = opts && opts->tol != 0.0 ? opts->tol : sqrt((double)p) * DBL_EPSILON;
    max_sweeps = opts && opts->max_sweeps != 0 ? opts->max_sweeps : UNIQL_SVD_MAX_SWEEPS;
    if (!(tol > 0.0 && tol < 1.0) || max_sweeps < 0) return UNIQL_ERR_INVALID_ARG;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double a = A[(size_t)i * lda + j];
            if (!isfinite(a)) return UNIQL_ERR_NONFINITE;
            if (fabs(a) > amax) amax = fabs(a);
        }

    oMt = uniql__scratch_take(&z, (size_t)p * q, sizeof(double));
    oW = uniql__scratch_take(&z, (size_t)q * q, sizeof(double));
    oVt = uniql__scratch_take(&z, Uo ? (size_t)q * q : 0, sizeof(double));
    oR = uniql__scratch_take(&z, (size_t)q, sizeof(double));
    oTau = uniql__scratch_take(&z, (size_t)q, sizeof(double));
    oN = uniql__scratch_take(&z, (size_t)q, sizeof(double));
    oRef = uniql__scratch_take(&z, (size_t)q, sizeof(double));
    oSig = uniql__scratch_take(&z, (size_t)q, sizeof(double));
    oY = uniql__scratch_take(&z, Uo ? (size_t)p * q : (size_t)p, sizeof(double));
    oZ = uniql__scratch_take(&z, Vo ? (size_t)q * q : 0, sizeof(double));
    oPerm = uniql__scratch_take(&z, (size_t)q, sizeof(int));
    oOrd = uniql__scratch_take(&z, (size_t)q, sizeof(int));
    oItmp = uniql__scratch_take(&z, (size_t)q, sizeof(int));
    oMiss = uniql__scratch_take(&z, (size_t)q, 1);
    if (z.overflow) return UNIQL_ERR_OVERFLOW;
    base = (unsigned char *)UNIQL_MALLOC(z.bytes, user);
    if (!base) return UNIQL_ERR_OUT_OF_MEMORY;
    Mt = (double *)(void *)(base + oMt); W = (double *)(void *)(base + oW);
    if (Uo) Vt = (double *)(void *)(base + oVt);
    rdiag = (double *)(void *)(base + oR); tau = (double *)(void *)(base + oTau);
    nrm = (double *)(void *)(base + oN); ref = (double *)(void *)(base + oRef);
    sig = (double *)(void *)(base + oSig); Y = (double *)(void *)(base + oY);
    Z = (double *)(void *)(base + oZ);
    perm = (int *)(void *)(base + oPerm); order = (int *)(void *)(base + oOrd);
    itmp = (int *)(void *)(base + oItmp); missing = base + oMiss;

    /* columns of M, scaled by 2^-e */
    e = uniql__scale_exponent(amax);
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double a = ldexp(A[(size_t)i * lda + j], -e);
            if (trans) Mt[(size_t)i * p + j] = a;
            else Mt[(size_t)j * p + i] = a;
        }
    uniql__qrp(p, q, Mt, rdiag, tau, perm, nrm, ref);

    /* Jacobi on X = R^T: column j of X is row j of R */
    for (j = 0; j < q; j++)
        for (k = 0; k < q; k++)
            W[(size_t)j * q + k] = k < j ? 0.0 : k == j ? rdiag[j] : Mt[(size_t)k * p + j];
    if (Vt) {
        memset(Vt, 0, (size_t)q * q * sizeof *Vt);
        for (j = 0; j < q; j++) Vt[(size_t)j * q + j] = 1.0;
    }
    r = uniql__jacobi(q, q, W, Vt, q, tol, max_sweeps, nrm, sweeps);
    if (r != UNIQL_OK) goto done;

    /* X V~ = U~ Sigma: sigma_j = |column j|, sorted descending */
    for (j = 0; j < q; j++) sig[j] = sqrt(uniql__dot(W + (size_t)j * q, W + (size_t)j * q, q));
    uniql__order_desc(q, sig, order, itmp);
    for (t = 0; t < q; t++) {
        S[t] = ldexp(sig[order[t]], e);
        if (!isfinite(S[t])) { r = UNIQL_ERR_RANGE; goto done; }
    }

    /* V_M = P U~: row t of Z holds column t of V_M */
    if (Vo) {
        for (t = 0; t < q; t++) {
            const double *x = W + (size_t)order[t] * q;
            double s = sig[order[t]], inv = s > 0 ? 1.0 / s : 0.0;
            missing[t] = s == 0.0;
            for (k = 0; k < q; k++) Z[(size_t)t * q + perm[k]] = x[k] * inv;
        }
        uniql__complete_basis(q, q, Z, missing, Y);
        for (i = 0; i < q; i++)
            for (t = 0; t < q; t++) Vo[(size_t)i * ldVo + t] = Z[(size_t)t * q + i];
    }
    /* U_M = Q [V~; 0]: row t of Y holds column t of U_M, H_{q-1} applied first */
    if (Uo) {
        memset(Y, 0, (size_t)p * q * sizeof *Y);
        for (t = 0; t < q; t++) memcpy(Y + (size_t)t * p, Vt + (size_t)order[t] * q, (size_t)q * sizeof *Y);
        for (k = q - 1; k >= 0; k--) {
            const double *v = Mt + (size_t)k * p + k;
            if (tau[k] == 0.0) continue;
            for (t = 0; t < q; t++) {
                double *y = Y + (size_t)t * p + k;
                uniql__axpy(y, -tau[k] * uniql__dot(v, y, p - k), v, p - k);
            }
        }
        for (i = 0; i < p; i++)
            for (t = 0; t < q; t++) Uo[(size_t)i * ldUo + t] = Y[(size_t)t * p + i];
    }
done:
    UNIQL_FREE(base, user);
    return r;
}

UNIQLDEF uniql_result uniql_svd_f32(int m, int n, const float *A, size_t lda, float *S,
                                    float *U, size_t ldu, float *V, size_t ldv,
                                    const uniql_svd_opts *opts, int *sweeps)
{
    int k = m < n ? m : n, i, j;
    void *user = opts ? opts->user : NULL;
    double *Ad, *Sd, *Ud, *Vd, *base;
    uniql__scratch z = { 0, 0 };
    size_t oA, oS, oU, oV;
    uniql_result r;
    if (sweeps) *sweeps = 0;
    if (!A || !S) return UNIQL_ERR_INVALID_ARG;
    if (m <= 0 || n <= 0 || lda < (size_t)n) return UNIQL_ERR_SHAPE;
    if ((U && ldu < (size_t)k) || (V && ldv < (size_t)k)) return UNIQL_ERR_SHAPE;
    if (!uniql__finite_rect_f32(A, m, n, lda)) return UNIQL_ERR_NONFINITE;
    oA = uniql__scratch_take(&z, (size_t)m * n, sizeof(double));
    oS = uniql__scratch_take(&z, (size_t)k, sizeof(double));
    oU = uniql__scratch_take(&z, U ? (size_t)m * k : 0, sizeof(double));
    oV = uniql__scratch_take(&z, V ? (size_t)n * k : 0, sizeof(double));
    if (z.overflow) return UNIQL_ERR_OVERFLOW;
    base = (double *)UNIQL_MALLOC(z.bytes, user);
    if (!base) return UNIQL_ERR_OUT_OF_MEMORY;
    Ad = (double *)(void *)((unsigned char *)base + oA);
    Sd = (double *)(void *)((unsigned char *)base + oS);
    Ud = U ? (double *)(void *)((unsigned char *)base + oU) : NULL;
    Vd = V ? (double *)(void *)((unsigned char *)base + oV) : NULL;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) Ad[(size_t)i * n + j] = A[(size_t)i * lda + j];
    r = uniql_svd_f64(m, n, Ad, (size_t)n, Sd, Ud, (size_t)k, Vd, (size_t)k, opts, sweeps);
    if (r == UNIQL_OK) {
        for (j = 0; j < k; j++) {
            S[j] = (float)Sd[j];
            if (!isfinite(S[j])) r = UNIQL_ERR_RANGE;
        }
        if (U) for (i = 0; i < m; i++) for (j = 0; j < k; j++) U[(size_t)i * ldu + j] = (float)Ud[(size_t)i * k + j];
        if (V) for (i = 0; i < n; i++) for (j = 0; j < k; j++) V[(size_t)i * ldv + j] = (float)Vd[(size_t)i * k + j];
    }
    UNIQL_FREE(base, user);
    return r;
}

/* ---- symmetric eigendecomposition ------------------------------------------------------ */

/* Why tridiagonalisation + implicit QL rather than cyclic Jacobi: the pipeline needs C^{1/2}
   of hidden x hidden correlations (n up to 4096); Householder + QL costs ~9 n^3 flops once,
   cyclic Jacobi ~5-10 sweeps of ~4 n^3 each, and QL is as accurate in the absolute sense
   C^{1/2} needs. The SVD above serves as the independent cross-check in the tests.

   Householder reduction of the scaled symmetric matrix in T (lower triangle, row-major),
   from the last row up, so every step reads and writes whole contiguous rows: step i
   annihilates T[i][0..i-2] with H_i = I - tau_i v v^T (v kept in row i) and updates the
   leading i x i block B <- H B H = B - v w^T - w v^T, w = p - (tau/2)(v.p) v, p = tau B v.
   Afterwards diag = d, subdiagonal e[k] = T_{k+1,k}. Zt (if non-NULL) receives
   Q^T = H_2 ... H_{n-1}, built as ((H_2) H_3) ... so that step i only touches its i x i block. */
static void uniql__tridiag(int n, double *T, double *d, double *e, double *tau, double *pv, double *Zt)
{
    int i, r, c;
    for (i = n - 1; i >= 1; i--) {
        double *x = T + (size_t)i * n, ss, xn, alpha, beta, K;
        int l = i;
        tau[i] = 0.0;
        ss = uniql__dot(x, x, l - 1);
        if (ss == 0.0) { e[i - 1] = x[l - 1]; continue; }
        xn = sqrt(ss + x[l - 1] * x[l - 1]);
        alpha = x[l - 1] >= 0 ? -xn : xn;
        beta = 1.0 / (xn * (xn + fabs(x[l - 1])));
        x[l - 1] -= alpha;
        e[i - 1] = alpha;
        tau[i] = beta;
        /* pv = B v from the lower triangle: row r gives B[r][0..r] v and B[r][0..r) v_r */
        for (r = 0; r < l; r++) pv[r] = 0.0;
        for (r = 0; r < l; r++) {
            const double *br = T + (size_t)r * n;
            pv[r] += uniql__dot(br, x, r) + br[r] * x[r];
            uniql__axpy(pv, x[r], br, r);
        }
        for (r = 0; r < l; r++) pv[r] *= beta;
        K = 0.5 * beta * uniql__dot(x, pv, l);
        uniql__axpy(pv, -K, x, l);
        for (r = 0; r < l; r++) {
            double *br = T + (size_t)r * n, vr = x[r], wr = pv[r];
            for (c = 0; c <= r; c++) br[c] -= vr * pv[c] + wr * x[c];
        }
    }
    for (i = 0; i < n; i++) d[i] = T[(size_t)i * n + i];
    e[n - 1] = 0.0;
    if (!Zt) return;
    memset(Zt, 0, (size_t)n * n * sizeof *Zt);
    for (i = 0; i < n; i++) Zt[(size_t)i * n + i] = 1.0;
    for (i = 2; i < n; i++) {
        const double *v = T + (size_t)i * n;
        if (tau[i] == 0.0) continue;
        for (r = 0; r < i; r++) {
            double *zr = Zt + (size_t)r * n;
            uniql__axpy(zr, -tau[i] * uniql__dot(zr, v, i), v, i);
        }
    }
}

/* Deferred plane rotations for the eigenvectors. The QL recurrence never reads Z, so the
   rotations of many QL iterations are recorded and then applied strip by strip: a strip of
   UNIQL__ROT_STRIP columns of all n rows stays in cache while every recorded rotation
   passes over it, instead of every rotation streaming two full rows of a Z that does not
   fit in cache (n = 4096: 128 MB). Same operations in the same order per element. */
#define UNIQL__ROT_STRIP 128

typedef struct uniql__rotbuf {
    int n, count, cap;
    int *idx;        /* rotation k acts on rows idx[k] + 1 and idx[k] */
    double *c, *s;
    double *Zt;
} uniql__rotbuf;

static void uniql__rotbuf_flush(uniql__rotbuf *rb)
{
    int c0, k, j, n = rb->n;
    for (c0 = 0; c0 < n; c0 += UNIQL__ROT_STRIP) {
        int w = n - c0 < UNIQL__ROT_STRIP ? n - c0 : UNIQL__ROT_STRIP;
        for (k = 0; k < rb->count; k++) {
            double *x = rb->Zt + (size_t)(rb->idx[k] + 1) * n + c0, *y = rb->Zt + (size_t)rb->idx[k] * n + c0;
            double c = rb->c[k], s = rb->s[k];
            if (w == UNIQL__ROT_STRIP) {
                for (j = 0; j < UNIQL__ROT_STRIP; j++) {
                    double t = x[j];
                    x[j] = c * t + s * y[j];
                    y[j] = c * y[j] - s * t;
                }
            } else {
                for (j = 0; j < w; j++) {
                    double t = x[j];
                    x[j] = c * t + s * y[j];
                    y[j] = c * y[j] - s * t;
                }
            }
        }
    }
    rb->count = 0;
}

/* Implicit QL with Wilkinson shifts on the tridiagonal (d, e). Each plane rotation of the
   chase acts on rows i, i+1 of Zt (eigenvectors kept as contiguous rows); rb (NULL for
   values only) defers them. A subdiagonal is negligible when |e_m| <= eps (|d_m| + |d_m+1|). */
static uniql_result uniql__tridiag_ql(int n, double *d, double *e, uniql__rotbuf *rb)
{
    int l, m, i, iter;
    for (l = 0; l < n; l++) {
        iter = 0;
        for (;;) {
            double g, r, s, c, p;
            for (m = l; m + 1 < n; m++)
                if (fabs(e[m]) <= DBL_EPSILON * (fabs(d[m]) + fabs(d[m + 1]))) break;
            if (m == l) break;
            if (++iter > 30) return UNIQL_ERR_NO_CONVERGENCE;
            if (rb && rb->count + (m - l) > rb->cap) uniql__rotbuf_flush(rb);
            /* shift: the eigenvalue of the leading 2 x 2 block closer to d_l */
            g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            r = hypot(g, 1.0);
            g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
            s = c = 1.0;
            p = 0.0;
            for (i = m - 1; i >= l; i--) {
                double f = s * e[i], b = c * e[i];
                r = hypot(f, g);
                e[i + 1] = r;
                if (r == 0.0) { d[i + 1] -= p; e[m] = 0.0; break; } /* underflow: split here */
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
                if (rb) {
                    rb->idx[rb->count] = i;
                    rb->c[rb->count] = c;
                    rb->s[rb->count] = s;
                    rb->count++;
                }
            }
            if (r == 0.0 && i >= l) continue;
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
    if (rb) uniql__rotbuf_flush(rb);
    return UNIQL_OK;
}

/* Eigenvalues (unsorted) into w and, if Zt, eigenvectors as rows of Zt. Scratch T: n*n
   doubles, aux: uniql__eigh_aux(n) bytes. The matrix is scaled by a power of two (exact)
   for the reduction. */
#define UNIQL__ROT_CAP(n) ((size_t)(n) * 64)
static size_t uniql__eigh_aux(int n)
{
    return (3 * (size_t)n + 2 * UNIQL__ROT_CAP(n)) * sizeof(double) + UNIQL__ROT_CAP(n) * sizeof(int);
}

static uniql_result uniql__eigh_rows(int n, const double *A, size_t lda, double *w, double *Zt,
                                     double *T, double *aux)
{
    double amax = 0.0;
    int i, j, ex;
    uniql__rotbuf rb;
    uniql_result r;
    for (i = 0; i < n; i++)
        for (j = i; j < n; j++) if (fabs(A[(size_t)i * lda + j]) > amax) amax = fabs(A[(size_t)i * lda + j]);
    ex = uniql__scale_exponent(amax);
    for (i = 0; i < n; i++)
        for (j = 0; j <= i; j++) T[(size_t)i * n + j] = ldexp(A[(size_t)j * lda + i], -ex);
    uniql__tridiag(n, T, w, aux, aux + n, aux + 2 * (size_t)n, Zt);
    rb.n = n;
    rb.count = 0;
    rb.cap = (int)UNIQL__ROT_CAP(n);
    rb.c = aux + 3 * (size_t)n;
    rb.s = rb.c + UNIQL__ROT_CAP(n);
    rb.idx = (int *)(void *)(rb.s + UNIQL__ROT_CAP(n));
    rb.Zt = Zt;
    r = uniql__tridiag_ql(n, w, aux, Zt ? &rb : NULL);
    for (i = 0; i < n; i++) w[i] = ldexp(w[i], ex);
    return r;
}

UNIQLDEF uniql_result uniql_eigh_f64(int n, const double *A, size_t lda, double *w,
                                     double *Z, size_t ldz, void *user)
{
    uniql__scratch z = { 0, 0 };
    size_t oT, oZt, oAux, oW, oOrd;
    unsigned char *base;
    double *T, *Zt = NULL, *aux, *wu;
    int *ord, i, t;
    uniql_result r;
    if (!A || !w) return UNIQL_ERR_INVALID_ARG;
    if (n <= 0 || lda < (size_t)n || (Z && ldz < (size_t)n)) return UNIQL_ERR_SHAPE;
    if (!uniql__finite_upper(A, n, lda)) return UNIQL_ERR_NONFINITE;
    oT = uniql__scratch_take(&z, (size_t)n * n, sizeof(double));
    oZt = uniql__scratch_take(&z, Z ? (size_t)n * n : 0, sizeof(double));
    oAux = uniql__scratch_take(&z, uniql__eigh_aux(n), 1);
    oW = uniql__scratch_take(&z, (size_t)n, sizeof(double));
    oOrd = uniql__scratch_take(&z, 2 * (size_t)n, sizeof(int));
    if (z.overflow) return UNIQL_ERR_OVERFLOW;
    base = (unsigned char *)UNIQL_MALLOC(z.bytes, user);
    if (!base) return UNIQL_ERR_OUT_OF_MEMORY;
    T = (double *)(void *)(base + oT);
    if (Z) Zt = (double *)(void *)(base + oZt);
    aux = (double *)(void *)(base + oAux);
    wu = (double *)(void *)(base + oW);
    ord = (int *)(void *)(base + oOrd);
    r = uniql__eigh_rows(n, A, lda, wu, Zt, T, aux);
    if (r == UNIQL_OK) {
        uniql__order_desc(n, wu, ord, ord + n);
        for (t = 0; t < n; t++) w[t] = wu[ord[t]];
        if (Z)
            for (i = 0; i < n; i++)
                for (t = 0; t < n; t++) Z[(size_t)i * ldz + t] = Zt[(size_t)ord[t] * n + i];
    }
    UNIQL_FREE(base, user);
    return r;
}

/* out = sum_k f_k z_k z_k^T = Y^T Y with Y[k] = sqrt(f_k) z_k: one SYRK, then mirrored. */
static void uniql__spectral_fn(int n, const double *Zt, const double *f, double *Y, double *out,
                               size_t ldo, double *gw)
{
    int i, j;
    for (i = 0; i < n; i++) {
        double s = sqrt(f[i]);
        for (j = 0; j < n; j++) Y[(size_t)i * n + j] = s * Zt[(size_t)i * n + j];
    }
    for (i = 0; i < n; i++) memset(out + (size_t)i * ldo, 0, (size_t)n * sizeof *out);
    uniql__gemm(n, n, n, 1.0, Y, (size_t)n, 1, Y, (size_t)n, out, ldo, 1, gw);
    for (i = 0; i < n; i++)
        for (j = 0; j < i; j++) out[(size_t)i * ldo + j] = out[(size_t)j * ldo + i];
}

UNIQLDEF uniql_result uniql_sqrt_psd_f64(int n, const double *C, size_t ldc, double eig_floor,
                                         double *Csqrt, size_t lds, double *Cisqrt, size_t ldi,
                                         void *user)
{
    uniql__scratch z = { 0, 0 };
    size_t oT, oZt, oAux, oW, oF, oG;
    unsigned char *base;
    double *T, *Zt, *aux, *w, *f, *gw;
    int i;
    uniql_result r;
    if (!C) return UNIQL_ERR_INVALID_ARG;
    if (!(eig_floor >= 0.0) || !isfinite(eig_floor)) return UNIQL_ERR_INVALID_ARG;
    if (n <= 0 || ldc < (size_t)n || (Csqrt && lds < (size_t)n) || (Cisqrt && ldi < (size_t)n)) return UNIQL_ERR_SHAPE;
    if (!uniql__finite_upper(C, n, ldc)) return UNIQL_ERR_NONFINITE;
    oT = uniql__scratch_take(&z, (size_t)n * n, sizeof(double)); /* reduction, then Y */
    oZt = uniql__scratch_take(&z, (size_t)n * n, sizeof(double));
    oAux = uniql__scratch_take(&z, uniql__eigh_aux(n), 1);
    oW = uniql__scratch_take(&z, (size_t)n, sizeof(double));
    oF = uniql__scratch_take(&z, (size_t)n, sizeof(double));
    oG = uniql__scratch_take(&z, UNIQL__GEMM_WORK, sizeof(double));
    if (z.overflow) return UNIQL_ERR_OVERFLOW;
    base = (unsigned char *)UNIQL_MALLOC(z.bytes, user);
    if (!base) return UNIQL_ERR_OUT_OF_MEMORY;
    T = (double *)(void *)(base + oT); Zt = (double *)(void *)(base + oZt);
    aux = (double *)(void *)(base + oAux); w = (double *)(void *)(base + oW);
    f = (double *)(void *)(base + oF); gw = (double *)(void *)(base + oG);
    r = uniql__eigh_rows(n, C, ldc, w, Zt, T, aux);
    if (r == UNIQL_OK) {
        for (i = 0; i < n; i++) w[i] = w[i] > eig_floor ? w[i] : eig_floor;
        if (Csqrt) {
            for (i = 0; i < n; i++) f[i] = sqrt(w[i]);
            uniql__spectral_fn(n, Zt, f, T, Csqrt, lds, gw);
        }
        if (Cisqrt) {
            for (i = 0; i < n && r == UNIQL_OK; i++) {
                if (w[i] <= 0.0) r = UNIQL_ERR_NOT_SPD;
                else f[i] = 1.0 / sqrt(w[i]);
            }
            if (r == UNIQL_OK) uniql__spectral_fn(n, Zt, f, T, Cisqrt, ldi, gw);
        }
    }
    UNIQL_FREE(base, user);
    return r;
}

/* ---- streaming correlation ------------------------------------------------------------- */

#define UNIQL__CORR_BLOCK 256 /* tokens per SYRK call: one KC block of the GEMM */

UNIQLDEF uniql_result uniql_corr_init(uniql_corr *acc, int d, void *user)
{
    size_t nsum, nbuf, total;
    if (!acc) return UNIQL_ERR_INVALID_ARG;
    memset(acc, 0, sizeof *acc);
    if (d <= 0) return UNIQL_ERR_SHAPE;
    if (!uniql__mul_size((size_t)d, (size_t)d, &nsum) || !uniql__mul_size((size_t)d, UNIQL__CORR_BLOCK, &nbuf) ||
        !uniql__add_size(nsum, nbuf, &total) || !uniql__add_size(total, UNIQL__GEMM_WORK, &total) ||
        !uniql__mul_size(total, sizeof(double), &total))
        return UNIQL_ERR_OVERFLOW;
    acc->sum = (double *)UNIQL_MALLOC(total, user);
    if (!acc->sum) return UNIQL_ERR_OUT_OF_MEMORY;
    memset(acc->sum, 0, nsum * sizeof(double));
    acc->buf = acc->sum + nsum;
    acc->d = d;
    acc->user = user;
    return UNIQL_OK;
}

/* Shared body: X is float (xf) or double (xd). Checks everything first, so an error leaves
   the accumulator as it was. */
static uniql_result uniql__corr_add(uniql_corr *acc, const float *xf, const double *xd, int n, size_t ldx)
{
    int d, t0, t, j;
    double *blk, *gw;
    if (!acc || !acc->sum || (!xf && !xd && n > 0)) return UNIQL_ERR_INVALID_ARG;
    d = acc->d;
    if (n < 0 || (n > 0 && ldx < (size_t)d)) return UNIQL_ERR_SHAPE;
    if (n == 0) return UNIQL_OK;
    if (xf ? !uniql__finite_rect_f32(xf, n, d, ldx) : !uniql__finite_rect(xd, n, d, ldx)) return UNIQL_ERR_NONFINITE;
    blk = acc->buf;
    gw = acc->buf + (size_t)d * UNIQL__CORR_BLOCK;
    for (t0 = 0; t0 < n; t0 += UNIQL__CORR_BLOCK) {
        int nb = n - t0 < UNIQL__CORR_BLOCK ? n - t0 : UNIQL__CORR_BLOCK;
        for (t = 0; t < nb; t++) {
            double *dst = blk + (size_t)t * d;
            if (xf) { const float *s = xf + (size_t)(t0 + t) * ldx; for (j = 0; j < d; j++) dst[j] = s[j]; }
            else memcpy(dst, xd + (size_t)(t0 + t) * ldx, (size_t)d * sizeof *dst);
        }
        /* sum += blk^T blk, upper triangle: products of floats are exact in double */
        uniql__gemm(d, d, nb, 1.0, blk, (size_t)d, 1, blk, (size_t)d, acc->sum, (size_t)d, 1, gw);
    }
    acc->count += n;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_corr_add_f32(uniql_corr *acc, const float *X, int n, size_t ldx)
{
    return uniql__corr_add(acc, X, NULL, n, ldx);
}

UNIQLDEF uniql_result uniql_corr_add_f64(uniql_corr *acc, const double *X, int n, size_t ldx)
{
    return uniql__corr_add(acc, NULL, X, n, ldx);
}

UNIQLDEF uniql_result uniql_corr_finalize(const uniql_corr *acc, double *C, size_t ldc)
{
    int i, j, d;
    double cnt;
    if (!acc || !acc->sum || !C) return UNIQL_ERR_INVALID_ARG;
    d = acc->d;
    if (ldc < (size_t)d || acc->count <= 0) return UNIQL_ERR_SHAPE;
    cnt = (double)acc->count;
    for (i = 0; i < d; i++)
        for (j = i; j < d; j++)
            C[(size_t)i * ldc + j] = C[(size_t)j * ldc + i] = acc->sum[(size_t)i * d + j] / cnt;
    return UNIQL_OK;
}

UNIQLDEF void uniql_corr_free(uniql_corr *acc)
{
    if (!acc) return;
    if (acc->sum) UNIQL_FREE(acc->sum, acc->user);
    memset(acc, 0, sizeof *acc);
}

/* ---- ridge leverage ---------------------------------------------------------------------- */

#define UNIQL__CHOL_NB 64

/* In-place blocked right-looking Cholesky A = R^T R (R upper, row-major, ld n; only the
   upper triangle is read or written). A panel of NB rows is finished with row operations,
   then the trailing block takes one SYRK update from the panel. Returns 0, or -1 when a
   pivot is not positive (A not positive definite). */
static int uniql__chol_upper(int n, double *R, double *gw)
{
    int k0, k, c;
    for (k0 = 0; k0 < n; k0 += UNIQL__CHOL_NB) {
        int k1 = n - k0 < UNIQL__CHOL_NB ? n : k0 + UNIQL__CHOL_NB;
        for (k = k0; k < k1; k++) {
            double *rk = R + (size_t)k * n, piv, inv;
            for (c = k0; c < k; c++) uniql__axpy(rk + k, -R[(size_t)c * n + k], R + (size_t)c * n + k, n - k);
            if (!(rk[k] > 0.0)) return -1;
            piv = sqrt(rk[k]);
            rk[k] = piv;
            inv = 1.0 / piv;
            for (c = k + 1; c < n; c++) rk[c] *= inv;
        }
        if (k1 < n)
            uniql__gemm(n - k1, n - k1, k1 - k0, -1.0, R + (size_t)k0 * n + k1, (size_t)n, 1,
                        R + (size_t)k0 * n + k1, (size_t)n, R + (size_t)k1 * n + k1, (size_t)n, 1, gw);
    }
    return 0;
}

/* In-place R <- R^{-1} for upper triangular R (strict lower triangle must be zero, and
   stays zero). Block rows from the bottom: with W = R^{-1} known below block I,
   W[I, >I] = -R_II^{-1} (R[I, >I] W[>I, >I]). The product only needs the rows k <= j of W
   for column j, so it runs in column chunks with a growing K. tmp: NB * n doubles. */
static void uniql__trinv_upper(int n, double *R, double *tmp, double *gw)
{
    int i0, i, j, k, j0;
    for (i0 = ((n - 1) / UNIQL__CHOL_NB) * UNIQL__CHOL_NB; i0 >= 0; i0 -= UNIQL__CHOL_NB) {
        int i1 = n - i0 < UNIQL__CHOL_NB ? n : i0 + UNIQL__CHOL_NB, nb = i1 - i0, rest = n - i1;
        /* tmp = R[I, i1..n) W[i1..n, i1..n) */
        if (rest > 0) {
            memset(tmp, 0, (size_t)nb * rest * sizeof *tmp);
            for (j0 = 0; j0 < rest; j0 += UNIQL__KC) {
                int nc = rest - j0 < UNIQL__KC ? rest - j0 : UNIQL__KC;
                uniql__gemm(nb, nc, j0 + nc, 1.0, R + (size_t)i0 * n + i1, (size_t)n, 0,
                            R + (size_t)i1 * n + i1 + j0, (size_t)n, tmp + j0, (size_t)rest, 0, gw);
            }
        }
        /* diagonal block inverse, rows from the bottom (row i still holds R while built) */
        for (i = i1 - 1; i >= i0; i--) {
            double *ri = R + (size_t)i * n, inv = 1.0 / ri[i], acc[UNIQL__CHOL_NB];
            for (j = i + 1; j < i1; j++) acc[j - i0] = 0.0;
            for (k = i + 1; k < i1; k++) {
                const double *wk = R + (size_t)k * n;
                for (j = k; j < i1; j++) acc[j - i0] += ri[k] * wk[j];
            }
            ri[i] = inv;
            for (j = i + 1; j < i1; j++) ri[j] = -inv * acc[j - i0];
        }
        /* W[I, i1..n) = -W_II tmp */
        if (rest > 0) {
            for (i = i0; i < i1; i++) memset(R + (size_t)i * n + i1, 0, (size_t)rest * sizeof *R);
            uniql__gemm(nb, rest, nb, -1.0, R + (size_t)i0 * n + i0, (size_t)n, 0, tmp, (size_t)rest,
                        R + (size_t)i0 * n + i1, (size_t)n, 0, gw);
        }
    }
}

UNIQLDEF uniql_result uniql_ridge_leverage_f64(int n, const double *C, size_t ldc, double lambda,
                                               double *scores, void *user)
{
    uniql__scratch z = { 0, 0 };
    size_t oR, oT, oG;
    unsigned char *base;
    double *R, *tmp, *gw;
    int i;
    uniql_result r = UNIQL_OK;
    if (!C || !scores) return UNIQL_ERR_INVALID_ARG;
    if (!(lambda > 0.0) || !isfinite(lambda)) return UNIQL_ERR_INVALID_ARG;
    if (n <= 0 || ldc < (size_t)n) return UNIQL_ERR_SHAPE;
    if (!uniql__finite_upper(C, n, ldc)) return UNIQL_ERR_NONFINITE;
    oR = uniql__scratch_take(&z, (size_t)n * n, sizeof(double));
    oT = uniql__scratch_take(&z, (size_t)n * UNIQL__CHOL_NB, sizeof(double));
    oG = uniql__scratch_take(&z, UNIQL__GEMM_WORK, sizeof(double));
    if (z.overflow) return UNIQL_ERR_OVERFLOW;
    base = (unsigned char *)UNIQL_MALLOC(z.bytes, user);
    if (!base) return UNIQL_ERR_OUT_OF_MEMORY;
    R = (double *)(void *)(base + oR); tmp = (double *)(void *)(base + oT); gw = (double *)(void *)(base + oG);
    for (i = 0; i < n; i++) {
        double *ri = R + (size_t)i * n;
        memset(ri, 0, (size_t)i * sizeof *ri);
        memcpy(ri + i, C + (size_t)i * ldc + i, (size_t)(n - i) * sizeof *ri);
        ri[i] += lambda;
    }
    if (uniql__chol_upper(n, R, gw) != 0) r = UNIQL_ERR_NOT_SPD;
    else {
        uniql__trinv_upper(n, R, tmp, gw);
        for (i = 0; i < n; i++) {
            const double *wi = R + (size_t)i * n + i;
            double s = uniql__dot(wi, wi, n - i);
            scores[i] = 1.0 - lambda * s;
            if (!isfinite(scores[i])) r = UNIQL_ERR_RANGE;
        }
    }
    UNIQL_FREE(base, user);
    return r;
}

UNIQLDEF uniql_result uniql_argsort_desc_f64(int n, const double *scores, int *perm, void *user)
{
    int i, *tmp;
    if (!scores || !perm) return UNIQL_ERR_INVALID_ARG;
    if (n <= 0) return UNIQL_ERR_SHAPE;
    for (i = 0; i < n; i++) if (isnan(scores[i])) return UNIQL_ERR_NONFINITE;
    tmp = (int *)UNIQL_MALLOC((size_t)n * sizeof *tmp, user);
    if (!tmp) return UNIQL_ERR_OUT_OF_MEMORY;
    uniql__order_desc(n, scores, perm, tmp);
    UNIQL_FREE(tmp, user);
    return UNIQL_OK;
}

/* ---- quantization-aware V/O decomposition ------------------------------------------------ */

/* Checks shared by the two V/O entry points. */
static uniql_result uniql__vo_check(int hidden, int head_dim, int n_q, const double *Csqrt,
                                    const double *Cisqrt, size_t ldc, const float *Wv, size_t ldv,
                                    const float *Wo, size_t ldo, uniql_vo_split split,
                                    const float *Wv_new, size_t ldvn, const float *Wo_new, size_t ldon)
{
    int i;
    if (!Csqrt || !Cisqrt || !Wv || !Wo || !Wv_new || !Wo_new) return UNIQL_ERR_INVALID_ARG;
    if (split != UNIQL_VO_SPLIT_QA && split != UNIQL_VO_SPLIT_SQRT) return UNIQL_ERR_INVALID_ARG;
    if (hidden <= 0 || head_dim <= 0 || n_q <= 0 || head_dim > hidden) return UNIQL_ERR_SHAPE;
    if (ldc < (size_t)hidden || ldv < (size_t)hidden || ldvn < (size_t)hidden ||
        ldo < (size_t)n_q * head_dim || ldon < (size_t)n_q * head_dim)
        return UNIQL_ERR_SHAPE;
    if (!uniql__finite_rect(Csqrt, hidden, hidden, ldc) || !uniql__finite_rect(Cisqrt, hidden, hidden, ldc) ||
        !uniql__finite_rect_f32(Wv, head_dim, hidden, ldv))
        return UNIQL_ERR_NONFINITE;
    for (i = 0; i < n_q; i++)
        if (!uniql__finite_rect_f32(Wo + (size_t)i * head_dim, hidden, head_dim, ldo)) return UNIQL_ERR_NONFINITE;
    return UNIQL_OK;
}

/* float(x) with overflow reported: 1 if representable. */
static int uniql__to_f32(double x, float *out)
{
    *out = (float)x;
    return isfinite(*out);
}

/* Common first step: A1 = C^{1/2} W_V (hidden x d, W_V = Wv^T) and its SVD U1 S1 V1^T. */
static uniql_result uniql__vo_first_svd(int h, int d, const double *Csqrt, size_t ldc, const float *Wv,
                                        size_t ldv, double *WvT, double *A1, double *U1, double *S1,
                                        double *V1, double *gw, const uniql_svd_opts *opts)
{
    int i, j;
    for (i = 0; i < h; i++)
        for (j = 0; j < d; j++) WvT[(size_t)i * d + j] = Wv[(size_t)j * ldv + i];
    memset(A1, 0, (size_t)h * d * sizeof *A1);
    uniql__gemm(h, d, h, 1.0, Csqrt, ldc, 0, WvT, (size_t)d, A1, (size_t)d, 0, gw);
    return uniql_svd_f64(h, d, A1, (size_t)d, S1, U1, (size_t)d, V1, (size_t)d, opts, NULL);
}

UNIQLDEF uniql_result uniql_qasvd_head(int hidden, int head_dim,
                                       const double *Csqrt, const double *Cisqrt, size_t ldc,
                                       const float *Wv, size_t ldv, const float *Wo, size_t ldo,
                                       uniql_vo_split split, float *Wv_new, size_t ldvn,
                                       float *Wo_new, size_t ldon, double *sigma,
                                       const uniql_svd_opts *opts)
{
    int h = hidden, d = head_dim, i, j;
    void *user = opts ? opts->user : NULL;
    uniql__scratch z = { 0, 0 };
    size_t oA, oB, oU1, oS1, oV1, oWoT, oA2, oU2, oS2, oV2, oG;
    unsigned char *base;
    double *Ah, *Bh, *U1, *S1, *V1, *WoT, *A2, *U2, *S2, *V2, *gw;
    uniql_result r = uniql__vo_check(h, d, 1, Csqrt, Cisqrt, ldc, Wv, ldv, Wo, ldo, split, Wv_new, ldvn, Wo_new, ldon);
    if (r != UNIQL_OK) return r;
    oA = uniql__scratch_take(&z, (size_t)h * d, sizeof(double));  /* Wv^T, later U1 U2 */
    oB = uniql__scratch_take(&z, (size_t)h * d, sizeof(double));  /* A1, later C^{-1/2} U1 U2 */
    oU1 = uniql__scratch_take(&z, (size_t)h * d, sizeof(double));
    oS1 = uniql__scratch_take(&z, (size_t)d, sizeof(double));
    oV1 = uniql__scratch_take(&z, (size_t)d * d, sizeof(double));
    oWoT = uniql__scratch_take(&z, (size_t)d * h, sizeof(double));
    oA2 = uniql__scratch_take(&z, (size_t)d * h, sizeof(double));
    oU2 = uniql__scratch_take(&z, (size_t)d * d, sizeof(double));
    oS2 = uniql__scratch_take(&z, (size_t)d, sizeof(double));
    oV2 = uniql__scratch_take(&z, (size_t)h * d, sizeof(double));
    oG = uniql__scratch_take(&z, UNIQL__GEMM_WORK, sizeof(double));
    if (z.overflow) return UNIQL_ERR_OVERFLOW;
    base = (unsigned char *)UNIQL_MALLOC(z.bytes, user);
    if (!base) return UNIQL_ERR_OUT_OF_MEMORY;
    Ah = (double *)(void *)(base + oA); Bh = (double *)(void *)(base + oB);
    U1 = (double *)(void *)(base + oU1); S1 = (double *)(void *)(base + oS1);
    V1 = (double *)(void *)(base + oV1); WoT = (double *)(void *)(base + oWoT);
    A2 = (double *)(void *)(base + oA2); U2 = (double *)(void *)(base + oU2);
    S2 = (double *)(void *)(base + oS2); V2 = (double *)(void *)(base + oV2);
    gw = (double *)(void *)(base + oG);

    r = uniql__vo_first_svd(h, d, Csqrt, ldc, Wv, ldv, Ah, Bh, U1, S1, V1, gw, opts);
    if (r != UNIQL_OK) goto done;
    /* A2 = S1 V1^T W_O  (d x hidden; W_O = Wo^T) */
    for (j = 0; j < d; j++)
        for (i = 0; i < h; i++) WoT[(size_t)j * h + i] = Wo[(size_t)i * ldo + j];
    memset(A2, 0, (size_t)d * h * sizeof *A2);
    uniql__gemm(d, h, d, 1.0, V1, (size_t)d, 1, WoT, (size_t)h, A2, (size_t)h, 0, gw);
    for (i = 0; i < d; i++)
        for (j = 0; j < h; j++) A2[(size_t)i * h + j] *= S1[i];
    r = uniql_svd_f64(d, h, A2, (size_t)h, S2, U2, (size_t)d, V2, (size_t)d, opts, NULL);
    if (r != UNIQL_OK) goto done;
    /* W_V' = C^{-1/2} (U1 U2) diag(fv),  W_O' = diag(fo) V2^T */
    memset(Ah, 0, (size_t)h * d * sizeof *Ah);
    uniql__gemm(h, d, d, 1.0, U1, (size_t)d, 0, U2, (size_t)d, Ah, (size_t)d, 0, gw);
    memset(Bh, 0, (size_t)h * d * sizeof *Bh);
    uniql__gemm(h, d, h, 1.0, Cisqrt, ldc, 0, Ah, (size_t)d, Bh, (size_t)d, 0, gw);
    for (j = 0; j < d; j++) {
        double fv = split == UNIQL_VO_SPLIT_QA ? S2[j] : sqrt(S2[j]);
        double fo = split == UNIQL_VO_SPLIT_QA ? 1.0 : sqrt(S2[j]);
        if (sigma) sigma[j] = S2[j];
        for (i = 0; i < h; i++) {
            if (!uniql__to_f32(Bh[(size_t)i * d + j] * fv, &Wv_new[(size_t)j * ldvn + i]) ||
                !uniql__to_f32(V2[(size_t)i * d + j] * fo, &Wo_new[(size_t)i * ldon + j])) {
                r = UNIQL_ERR_RANGE;
                goto done;
            }
        }
    }
done:
    UNIQL_FREE(base, user);
    return r;
}

UNIQLDEF uniql_result uniql_qasvd_group(int hidden, int head_dim, int n_q,
                                        const double *Csqrt, const double *Cisqrt, size_t ldc,
                                        const float *Wv, size_t ldv, const float *Wo, size_t ldo,
                                        uniql_vo_split split, float *Wv_new, size_t ldvn,
                                        float *Wo_new, size_t ldon, double *sigma,
                                        const uniql_svd_opts *opts)
{
    int h = hidden, d = head_dim, i, j, q;
    void *user = opts ? opts->user : NULL;
    uniql__scratch z = { 0, 0 };
    size_t oA, oB, oU1, oS1, oV1, oG;
    unsigned char *base;
    double *Ah, *Bh, *U1, *S1, *V1, *gw;
    uniql_result r = uniql__vo_check(h, d, n_q, Csqrt, Cisqrt, ldc, Wv, ldv, Wo, ldo, split, Wv_new, ldvn, Wo_new, ldon);
    if (r != UNIQL_OK) return r;
    oA = uniql__scratch_take(&z, (size_t)h * d, sizeof(double));
    oB = uniql__scratch_take(&z, (size_t)h * d, sizeof(double));
    oU1 = uniql__scratch_take(&z, (size_t)h * d, sizeof(double));
    oS1 = uniql__scratch_take(&z, (size_t)d, sizeof(double));
    oV1 = uniql__scratch_take(&z, (size_t)d * d, sizeof(double));
    oG = uniql__scratch_take(&z, UNIQL__GEMM_WORK, sizeof(double));
    if (z.overflow) return UNIQL_ERR_OVERFLOW;
    base = (unsigned char *)UNIQL_MALLOC(z.bytes, user);
    if (!base) return UNIQL_ERR_OUT_OF_MEMORY;
    Ah = (double *)(void *)(base + oA); Bh = (double *)(void *)(base + oB);
    U1 = (double *)(void *)(base + oU1); S1 = (double *)(void *)(base + oS1);
    V1 = (double *)(void *)(base + oV1); gw = (double *)(void *)(base + oG);

    r = uniql__vo_first_svd(h, d, Csqrt, ldc, Wv, ldv, Ah, Bh, U1, S1, V1, gw, opts);
    if (r != UNIQL_OK) goto done;
    if (sigma) for (j = 0; j < d; j++) sigma[j] = S1[j];
    /* W_Vg' = C^{-1/2} U1 diag(fv) */
    memset(Bh, 0, (size_t)h * d * sizeof *Bh);
    uniql__gemm(h, d, h, 1.0, Cisqrt, ldc, 0, U1, (size_t)d, Bh, (size_t)d, 0, gw);
    for (j = 0; j < d; j++) {
        double fv = split == UNIQL_VO_SPLIT_QA ? S1[j] : sqrt(S1[j]);
        for (i = 0; i < h; i++)
            if (!uniql__to_f32(Bh[(size_t)i * d + j] * fv, &Wv_new[(size_t)j * ldvn + i])) { r = UNIQL_ERR_RANGE; goto done; }
    }
    /* per query head: W_Oi' = diag(fo) V1^T W_Oi, i.e. HF Wo_i' = Wo_i V1 diag(fo) */
    for (q = 0; q < n_q; q++) {
        const float *wo = Wo + (size_t)q * d;
        float *out = Wo_new + (size_t)q * d;
        for (i = 0; i < h; i++)
            for (j = 0; j < d; j++) Ah[(size_t)i * d + j] = wo[(size_t)i * ldo + j];
        memset(Bh, 0, (size_t)h * d * sizeof *Bh);
        uniql__gemm(h, d, d, 1.0, Ah, (size_t)d, 0, V1, (size_t)d, Bh, (size_t)d, 0, gw);
        for (j = 0; j < d; j++) {
            double fo = split == UNIQL_VO_SPLIT_QA ? 1.0 : sqrt(S1[j]);
            for (i = 0; i < h; i++)
                if (!uniql__to_f32(Bh[(size_t)i * d + j] * fo, &out[(size_t)i * ldon + j])) { r = UNIQL_ERR_RANGE; goto done; }
        }
    }
done:
    UNIQL_FREE(base, user);
    return r;
}

/* =====================================================================================
   IMPL 6. File readers (JSON, safetensors)
   ===================================================================================== */


/* =====================================================================================
   IMPL 7. Runtimes (Llama/Qwen2 block, Mamba2 block, Nemotron-H hybrid, sampling)
   ===================================================================================== */


/* =====================================================================================
   IMPL 8. UniQL (calibration, sorting, QA-SVD, layer rates, packing, pruning)
   ===================================================================================== */


/* =====================================================================================
   IMPL 9. LSAQ (Jaccard importance, bit allocation)
   ===================================================================================== */


#endif /* UNIQL_IMPLEMENTATION_DONE */
#endif /* UNIQL_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the uniql.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
------------------------------------------------------------------------------
*/
