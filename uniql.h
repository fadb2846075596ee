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

/* LSAQ (Zeng et al., arXiv 2412.18135) scores a layer by how much it changes the model's
   prediction: project the layer's input and output hidden states to the vocabulary
   ("logit lens": final norm + lm_head), take the top-k token sets A and B, and use
   importance = 1 - |A n B| / |A u B|. The runtime-facing part (collecting the hidden
   states) is in API 7; these are the pure pieces. */

/* Jaccard similarity of the top-k index sets of two score vectors of length n.
   Ties inside a vector are broken by the lower index, so the sets are deterministic.
   `scratch` must hold 2*k ints (caller-owned). Result in [0, 1] written to *out.
   Errors: INVALID_ARG (NULL, n < 1, k < 1 or k > n), NONFINITE (NaN/Inf in a or b). */
UNIQLDEF uniql_result uniql_topk_jaccard(const float *a, const float *b, int n, int k,
                                         int *scratch, double *out);

/* Indices of the k largest entries of x[0..n) in descending order of value (ties: lower
   index first) written to idx[0..k). O(n log k). Errors as uniql_topk_jaccard. */
UNIQLDEF uniql_result uniql_topk(const float *x, int n, int k, int *idx);

/* Memory-budgeted bit widths (LSAQ §3.3, generalised to several widths so that the
   allocation is monotone in the budget).
   Each layer l can be stored at any of the n_widths widths `widths[0..n_widths)`
   (strictly ascending, e.g. {4, 8}); layer_bytes[l * n_widths + w] is its exact size at
   width w (caller computes it: it depends on pruning). fixed_bytes is everything that
   does not depend on the plan (embeddings, norms, ...).
   The plan is the longest prefix that fits in `budget` of one fixed upgrade sequence:
   start with every layer at widths[0]; then for each next width in ascending order,
   raise the layers to it one by one in order of decreasing importance (ties: lower layer
   index first). Consequences, each tested: the total never exceeds the budget; a more
   important layer never gets fewer bits than a less important one; more memory never
   lowers any layer's width (monotone); the same inputs give the same plan.
   Output: bits[l] (caller-owned, n_layers ints) and *total (may be NULL).
   Errors: INVALID_ARG, NONFINITE (importance), OVERFLOW (sizes), BUDGET when even
   all-widths[0] does not fit (bits[] is then filled with widths[0] and *total set). */
UNIQLDEF uniql_result uniql_lsaq_plan(int n_layers, const double *importance,
                                      int n_widths, const int *widths,
                                      const uint64_t *layer_bytes, uint64_t fixed_bytes,
                                      uint64_t budget, int *bits, uint64_t *total);


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

/* "a ranks before b": larger value first, then lower index (total order, deterministic) */
static int uniql__rank_before(const float *x, int a, int b)
{
    return x[a] > x[b] || (x[a] == x[b] && a < b);
}

/* idx[0..k) is a binary min-heap by rank (root = the weakest kept entry); restore it
   after the root was replaced */
static void uniql__heap_sift_down(const float *x, int *idx, int k, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i, t;
        if (l < k && uniql__rank_before(x, idx[w], idx[l])) w = l;
        if (r < k && uniql__rank_before(x, idx[w], idx[r])) w = r;
        if (w == i) return;
        t = idx[i]; idx[i] = idx[w]; idx[w] = t;
        i = w;
    }
}

UNIQLDEF uniql_result uniql_topk(const float *x, int n, int k, int *idx)
{
    int i;
    if (!x || !idx || n < 1 || k < 1 || k > n) return UNIQL_ERR_INVALID_ARG;
    for (i = 0; i < n; i++) if (!isfinite(x[i])) return UNIQL_ERR_NONFINITE;
    for (i = 0; i < k; i++) idx[i] = i;
    for (i = k / 2 - 1; i >= 0; i--) uniql__heap_sift_down(x, idx, k, i);
    for (i = k; i < n; i++)
        if (uniql__rank_before(x, i, idx[0])) { idx[0] = i; uniql__heap_sift_down(x, idx, k, 0); }
    /* heap sort: repeatedly move the weakest to the end -> strongest first */
    for (i = k - 1; i > 0; i--) {
        int t = idx[0]; idx[0] = idx[i]; idx[i] = t;
        uniql__heap_sift_down(x, idx, i, 0);
    }
    return UNIQL_OK;
}

static int uniql__cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

UNIQLDEF uniql_result uniql_topk_jaccard(const float *a, const float *b, int n, int k,
                                         int *scratch, double *out)
{
    int *sa, *sb, i = 0, j = 0, inter = 0;
    uniql_result r;
    if (!a || !b || !scratch || !out) return UNIQL_ERR_INVALID_ARG;
    sa = scratch; sb = scratch + k;
    if ((r = uniql_topk(a, n, k, sa)) != UNIQL_OK) return r;
    if ((r = uniql_topk(b, n, k, sb)) != UNIQL_OK) return r;
    qsort(sa, (size_t)k, sizeof *sa, uniql__cmp_int);
    qsort(sb, (size_t)k, sizeof *sb, uniql__cmp_int);
    while (i < k && j < k) {
        if (sa[i] == sb[j]) { inter++; i++; j++; }
        else if (sa[i] < sb[j]) i++;
        else j++;
    }
    *out = (double)inter / (double)(2 * k - inter);
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_lsaq_plan(int n_layers, const double *importance,
                                      int n_widths, const int *widths,
                                      const uint64_t *layer_bytes, uint64_t fixed_bytes,
                                      uint64_t budget, int *bits, uint64_t *total)
{
    int l, w, step, *order;
    uint64_t sum = fixed_bytes;
    if (n_layers < 1 || n_widths < 1 || !importance || !widths || !layer_bytes || !bits) return UNIQL_ERR_INVALID_ARG;
    for (w = 1; w < n_widths; w++) if (widths[w] <= widths[w - 1]) return UNIQL_ERR_INVALID_ARG;
    for (l = 0; l < n_layers; l++) {
        if (!isfinite(importance[l])) return UNIQL_ERR_NONFINITE;
        bits[l] = widths[0];
        if (layer_bytes[(size_t)l * n_widths] > UINT64_MAX - sum) return UNIQL_ERR_OVERFLOW;
        sum += layer_bytes[(size_t)l * n_widths];
    }
    if (total) *total = sum;
    if (sum > budget) return UNIQL_ERR_BUDGET;
    order = (int *)UNIQL_MALLOC(sizeof(int) * (size_t)n_layers, NULL);
    if (!order) return UNIQL_ERR_OUT_OF_MEMORY;
    /* layer order by decreasing importance, ties by index: insertion sort keeps it
       stable and n_layers is small */
    for (l = 0; l < n_layers; l++) {
        int k = l;
        while (k > 0 && importance[order[k - 1]] < importance[l]) { order[k] = order[k - 1]; k--; }
        order[k] = l;
    }
    for (w = 1; w < n_widths; w++) {
        for (step = 0; step < n_layers; step++) {
            int L = order[step];
            uint64_t cur = layer_bytes[(size_t)L * n_widths + (w - 1)], nxt = layer_bytes[(size_t)L * n_widths + w];
            /* sizes may shrink or grow with width; compute the new total exactly */
            uint64_t t = sum - cur;
            if (nxt > UINT64_MAX - t) { UNIQL_FREE(order, NULL); return UNIQL_ERR_OVERFLOW; }
            t += nxt;
            if (t > budget) goto done; /* the first step that does not fit ends the prefix */
            sum = t;
            bits[L] = widths[w];
        }
    }
done:
    UNIQL_FREE(order, NULL);
    if (total) *total = sum;
    return UNIQL_OK;
}


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
