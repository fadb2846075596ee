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

   EXAMPLE (compress a Hugging Face checkpoint and run it; error checks shortened)

         uniql_model *m, *s, *q, *p; uniql_calib *cb; uniql_kept kept[64];
         double imp[64], rate[64], ppl; uniql_sort_options so = {0};
         uniql_model_load_dir("models/llama-bytes-6m", NULL, &m, &err);
         uniql_calibrate(m, calib_tokens, n_calib, NULL, &cb, &err);   // statistics
         so.layout = UNIQL_LAYOUT_PRUNABLE;                              // rates = prefixes
         uniql_sort_model(m, cb, &so, &s, &err);                         // same function
         uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, imp);
         uniql_layer_rates(m->config.n_layers, imp, NULL, 0.25, 0, 0, rate);
         uniql_kept_from_rates(&m->config, rate, NULL, kept);
         uniql_model_quantize(s, NULL, NULL, &q, &err);                  // group int4
         uniql_model_prune(q, kept, 0, NULL, &p, &err);                  // views, no copy
         uniql_perplexity(p, test_tokens, n_test, 256, 0, NULL, &ppl, NULL, NULL, &err);

     Then generate with uniql_state_create + uniql_forward + uniql_sample_top_p, or write
     everything a device needs (int4 weights, rate tables, LSAQ importance) to one .uniql
     file with uniql_pack_model / uniql_pack_write (tools/pack.c) and open it on the
     device at any pruning rate or memory budget with uniql_packed_open +
     uniql_packed_model_load (examples/run_uniql.c). README.md has the full program.
     The paper's recovery step (masked LoRA fine-tuning, API 9b): uniql_export_hf and
     uniql_order_write hand the sorted model to a trainer (tools/train/recover.py),
     uniql_order_parse + uniql_apply_order take the fine-tuned checkpoint back
     (tools/pack --order).

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
     0.1   first release: runtimes (Llama/Qwen2, Mamba2, Nemotron-H) matching
           transformers; Jacobi SVD / eigh / ridge leverage / QA-SVD; group int4 and int8
           with scalar, AVX2 and NEON kernels; UniQL calibration, sorting, layer rates,
           pruning by views; LSAQ importance and bit plans; .uniql file format v1;
           recovery hand-over: safetensors writer, HF export, order file format v1.
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
   API 2b. Threads: the caller's parallel-for
   ===================================================================================== */

/* The library never starts a thread and links nothing beyond libc + libm. A caller that
   wants several cores hands it a parallel-for, job-system style: a function pointer and
   a user pointer, through the options structs (uniql_state_options, uniql_matmul_options,
   uniql_calib_options, uniql_sort_options, the quantization options, uniql_corr).

   Contract of `run`: run(user, n_jobs, fn, ctx) calls fn(ctx, i, worker) exactly once for
   every i in [0, n_jobs), in any order, from any threads (the calling thread included),
   and returns only after every call has returned. `worker` identifies the thread doing
   the call, 0 <= worker < n_workers, and no two calls run at the same time with the same
   worker (so a job may use per-worker scratch indexed by it). The library never calls
   run from inside a job (no nesting), and never from two threads at once for one
   options struct.

   Determinism: the library cuts its work into jobs whose boundaries depend only on the
   problem (matrix rows in fixed chunks, attention / SSM heads, correlation tiles), never
   on n_workers or on which thread runs which job, and every output element is computed
   by one job in a fixed order. Results are therefore bit-identical for any thread count,
   any scheduling and with no parallel-for at all (tested). A NULL uniql_parallel, or one
   with run == NULL, runs the jobs in order on the calling thread (worker 0).
   tools/uq_threads.h (outside the library) is a small pthreads pool with this contract. */
typedef void (*uniql_job_fn)(void *ctx, int job, int worker);

typedef struct uniql_parallel {
    void (*run)(void *user, int n_jobs, uniql_job_fn fn, void *ctx);
    void *user;
    int n_workers;      /* bound on `worker`; <= 0 means 1 */
} uniql_parallel;

/* fn(ctx, i, worker) for i < n_jobs through p (serially in order when p or p->run is
   NULL, or n_jobs == 1). n_jobs <= 0 does nothing. */
UNIQLDEF void uniql_parallel_for(const uniql_parallel *p, int n_jobs, uniql_job_fn fn, void *ctx);
/* Number of distinct `worker` values p may pass (1 for NULL). */
UNIQLDEF int uniql_parallel_workers(const uniql_parallel *p);

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

/* Sub-view: logical rows [row0, row0+rows), cols [0, cols). Zero-copy, every dtype, both
   orientations. Fails with UNIQL_ERR_SHAPE if the range is outside `m`, or if row0 cannot
   be expressed as a pointer offset: blocked non-transposed views need row0 % block == 0;
   transposed Q4/Q4Z views need row0 % group == 0 (row0 is then an offset inside every
   storage row). Any cols <= m->cols is accepted (a prefix, see uniql_matrix_prefix). */
UNIQLDEF uniql_result uniql_matrix_slice(const uniql_matrix *m, int row0, int rows, int cols,
                                         uniql_matrix *out);

/* Prefix view: the first `rows` logical rows and first `cols` logical columns of `m`
   (pruning). Zero-copy, every dtype, both orientations, blocks kept. A prefix of the
   storage-row dimension just drops storage rows; a prefix inside storage rows may end
   anywhere, also in the middle of a quantization group or 32-block (the kernels handle
   the tail). UNIQL_ERR_SHAPE if rows/cols are negative or larger than m's. */
UNIQLDEF uniql_result uniql_matrix_prefix(const uniql_matrix *m, int rows, int cols, uniql_matrix *out);

/* Per-block prefix: the storage rows of `m` are split into consecutive blocks of `block`
   storage rows and the view keeps the first `keep` of every block (per-head prefix of
   q/k/v rows, or of o_proj input channels when o_proj is stored transposed). The result
   has storage_rows(m) / block * keep storage rows. m may already be blocked only with
   the same `block` (then keep <= m->block). Errors: UNIQL_ERR_SHAPE if block <= 0,
   keep outside [0, block] or storage_rows(m) % block != 0; UNIQL_ERR_UNSUPPORTED if m is
   blocked with a different block size (the composition is not a (block, stride) pair). */
UNIQLDEF uniql_result uniql_matrix_block_prefix(const uniql_matrix *m, int block, int keep,
                                                uniql_matrix *out);

/* Number of logical storage rows: m->rows, or m->cols when m->transposed. */
UNIQLDEF int uniql_matrix_storage_rows(const uniql_matrix *m);

/* Y[i][r] = sum_c W[r][c] * X[i][c] for i < n tokens, r < W->rows.
   X is n x W->cols with row stride ldx (floats), Y is n x W->rows with stride ldy.
   X and Y must not overlap. n == 1 is the decode GEMV; n > 1 the prefill GEMM (each
   decoded weight block is reused for up to 4 tokens). Every dtype, both orientations,
   blocks and prefixes. Activations stay fp32 (UNIQL_KERNEL_AUTO). No allocation: the
   kernels work in bounded stack buffers (< 40 KB).
   Errors: UNIQL_ERR_INVALID_ARG (NULL, negative n, a quantized view without scales /
   zeros), UNIQL_ERR_SHAPE (ldx < cols or ldy < rows when n > 1, Q4 group not a positive
   multiple of 32), UNIQL_ERR_DTYPE (unknown dtype). */
UNIQLDEF uniql_result uniql_matmul(const uniql_matrix *W, const float *X, int n, size_t ldx,
                                   float *Y, size_t ldy);

/* Kernel choice for uniql_matmul_ex. The instruction set (one of the first four) may be
   OR'ed with UNIQL_KERNEL_I8ACT:
     AUTO    the best available: AVX2+FMA (x86-64, checked at run time), NEON (AArch64),
             else the scalar reference. UNIQL_NO_SIMD compiles only SCALAR.
     SCALAR  the reference kernels (plain C, identical block structure).
     AVX2 / NEON  force that set; UNIQL_ERR_UNSUPPORTED if it is not compiled in or the
             CPU lacks it (AVX2 needs avx2, fma and f16c).
     I8ACT   for Q4 / Q4Z / Q8 weights in row (non-transposed) storage: each token's
             activation vector is first quantized to int8 per 32-block (scale
             d = max|x| / 127 in fp32, q = round-half-away(x * 127 / max|x|)), then the
             block dot products are exact integer sums (AVX2 maddubs/madd, NEON sdot or
             widening multiplies). The scalar reference does the identical integer sums
             and the same float operations in the same order (lane layout: see
             uniql__qdot8_scalar), so SIMD == scalar bit for bit (tested). Extra error
             versus fp32 activations: each activation moves by at most d/2, so
             |dy| <= sum_b (max|x_b| / 254) * sum_{c in b} |w_c|; on Gaussian data about
             0.6 % of |y| (relative L2, measured in tests/test_quant.c). NaN/Inf in X gives
             UNIQL_ERR_NONFINITE (Y partly written). Q4Z zero points must be <= 15 (the
             quantizer writes only 0..15; larger hand-made ones overflow the 16-bit SIMD
             sums). Float dtypes and transposed views ignore the flag (they always use
             fp32 activations). Speed: see bench/bench_gemv.c and the README. */
typedef enum uniql_kernel {
    UNIQL_KERNEL_AUTO = 0,
    UNIQL_KERNEL_SCALAR = 1,
    UNIQL_KERNEL_AVX2 = 2,
    UNIQL_KERNEL_NEON = 3,
    UNIQL_KERNEL_I8ACT = 16
} uniql_kernel;

/* uniql_matmul with an explicit kernel (`kernel` = a uniql_kernel value, optionally
   | UNIQL_KERNEL_I8ACT). Same contract and errors as uniql_matmul, plus
   UNIQL_ERR_UNSUPPORTED for an instruction set that is not available and
   UNIQL_ERR_INVALID_ARG for an unknown value. */
UNIQLDEF uniql_result uniql_matmul_ex(const uniql_matrix *W, const float *X, int n, size_t ldx,
                                      float *Y, size_t ldy, int kernel);

/* 1 if uniql_matmul_ex would accept this kernel (instruction set) here, else 0. */
UNIQLDEF int uniql_kernel_available(int kernel);

/* uniql_matmul_ex on several threads (API 2b) and with caller scratch. Zero means default
   for every field; opt NULL = uniql_matmul. */
typedef struct uniql_matmul_options {
    int kernel;                     /* a uniql_kernel value (| UNIQL_KERNEL_I8ACT), 0 = AUTO */
    const uniql_parallel *parallel; /* NULL: the calling thread does all of it */
    void *work;                     /* I8ACT scratch: uniql_matmul_work_bytes(W, n, kernel) bytes, */
    size_t work_size;               /*   16-byte aligned; NULL / smaller: bounded stack (below) */
} uniql_matmul_options;

/* Same contract, errors and results as uniql_matmul_ex(W, X, n, ldx, Y, ldy, opt->kernel),
   bit for bit, for every thread count: the rows of a row-stored W are cut into jobs of a
   fixed number of rows (about 32 KB of weights each), the outputs of a transposed W into
   ranges of 128 elements, and every output element is computed by one job exactly as the
   serial call computes it. I8ACT with `work`: all n tokens' activations are quantized
   once, then each job runs its rows over every 4-token tile (its weights stay in cache:
   the prefill GEMM); without `work`, one tile of 4 tokens x 4096 columns is quantized at
   a time on the stack (32 KB) and the jobs run per tile, same results. No allocation. */
UNIQLDEF uniql_result uniql_matmul_par(const uniql_matrix *W, const float *X, int n, size_t ldx, float *Y, size_t ldy,
                                       const uniql_matmul_options *opt);
/* Bytes of `work` that uniql_matmul_par uses for n tokens with this kernel (0: none). */
UNIQLDEF size_t uniql_matmul_work_bytes(const uniql_matrix *W, int n, int kernel);

/* ---- Quantization: group int4 (Q4, Q4Z) and per-row int8 (Q8) ----

   All formats quantize along STORAGE rows (length L = cols, or rows when transposed),
   so pruning prefixes never cut the bookkeeping. Elements are packed in 32-blocks.

   Q4 (symmetric). Groups of `group` (32, 64 or 128) consecutive elements of a storage
     row share one fp16 scale s. Element w is stored as q in [-8, 7], a two's complement
     nibble; value = q * s. In each 32-block (16 bytes), byte j holds element j in its
     low nibble and element j + 16 in its high nibble. With a = max(max_g w, 0) / 7 and
     b = max(-min_g w, 0) / 8, s is the smallest fp16 >= max(a, b) (so the negative end
     can use q = -8), and q = round-half-away(w / s); hence |w - q s| <= s / 2 for every
     element (q never needs clamping). A group of zeros gets s = 0 and q = 0.
   Q4Z (asymmetric). Unsigned nibbles u in [0, 15] (same nibble order), fp16 scale s and
     a u8 zero point z per group: value = (u - z) * s. lo = min(min_g w, 0),
     hi = max(max_g w, 0) (the range always contains 0, so constant groups are exact at 0
     and never need s = 0 unless all zero), s = smallest fp16 >= (hi - lo) / 15,
     z = round(-lo / s) in [0, 15], u = clamp(round(w / s) + z, 0, 15). Again
     |w - (u - z) s| <= s / 2 (proof: |z + lo/s| <= 1/2 and 15 s >= hi - lo).
   Q8 (symmetric, per storage row). int8 q in [-127, 127], one fp16 scale per storage
     row: s = smallest fp16 >= max|w| / 127, |w - q s| <= s / 2. `group` is ignored.
   Clip search (desc.clip = 1, Q4 / Q4Z only): per group, the range is shrunk by factors
     1, 0.95, ..., 0.50 and the candidate with the least squared error is kept (factor 1
     included, so never worse than round-to-nearest). Clipped elements may then exceed
     the s/2 bound; that is the trade.
   Scale range: a scale above the fp16 maximum (65504) is UNIQL_ERR_RANGE, i.e.
     |w| up to about 4.5e5 (Q4), 9.8e5 range (Q4Z), 8.3e6 (Q8). Tiny and subnormal
     weights are fine: the scale becomes an fp16 subnormal (down to 2^-24) and elements
     smaller than half a step quantize to 0, still within s / 2.
   Lengths that are not a multiple of the group: the last group is partial (its scale
     comes from the elements that exist) and the last 32-block is padded with zero
     nibbles (Q4: q = 0, Q4Z: u = 0; Q8: zero bytes). Nothing is rejected.

   Buffer layout written by uniql_quantize (S storage rows, nb = ceil(L / 32) blocks,
   ng = ceil(L / group) groups; offsets from the start of the buffer):
     data    S rows of `stride` bytes: Q4/Q4Z stride = 16 nb, Q8 stride = 32 nb
     scales  at S * stride, S * ng fp16 values (Q8: ng = 1), scale_stride = ng
     zeros   (Q4Z) after the scales, S * ng bytes, indexed like the scales
   Views made from such a buffer (prefix, block prefix, slice) stay valid for the kernels
   because every storage row keeps whole 16-byte blocks in memory. A hand-made view must
   also keep whole 16-byte Q4 blocks; Q8 rows may end anywhere. */
typedef struct uniql_quant_desc {
    uniql_dtype dtype;   /* UNIQL_DTYPE_Q4, _Q4Z or _Q8 */
    int group;           /* Q4/Q4Z group size: 32, 64, 128; 0 means 128 */
    int clip;            /* 1: per-group clip search minimising squared error */
    int transposed;      /* 1: store storage row c = column c (input-pruned matrices) */
    const uniql_parallel *parallel;  /* threads (API 2b): jobs of 64 storage rows; NULL: serial.
                                        The bytes written do not depend on it. */
} uniql_quant_desc;

/* Exact size in bytes of the buffer uniql_quantize needs for a rows x cols matrix
   (data + scales + zeros, as laid out above). Errors: UNIQL_ERR_INVALID_ARG (NULL),
   UNIQL_ERR_DTYPE (not Q4/Q4Z/Q8), UNIQL_ERR_SHAPE (rows or cols < 1, group not 32, 64
   or 128), UNIQL_ERR_OVERFLOW (does not fit size_t). */
UNIQLDEF uniql_result uniql_quant_size(const uniql_quant_desc *d, int rows, int cols, size_t *bytes);

/* Quantize the row-major fp32 matrix W (rows x cols, ld floats between rows) into the
   caller's buffer `buf` (buf_size >= uniql_quant_size, 2-byte aligned) and describe it in
   *out, a view into buf (the caller owns buf; the view borrows it). Errors as
   uniql_quant_size, plus UNIQL_ERR_INVALID_ARG (NULL, ld < cols, buf too small or odd
   address), UNIQL_ERR_NONFINITE (a NaN or Inf in W; checked before anything is
   written), UNIQL_ERR_RANGE (a scale above the fp16 maximum; buf contents are then
   unspecified and *out is not written). */
UNIQLDEF uniql_result uniql_quantize(const uniql_quant_desc *d, const float *W, int rows, int cols, size_t ld,
                                     void *buf, size_t buf_size, uniql_matrix *out);

/* Dequantize any view (every dtype, orientation, block layout) to a row-major fp32
   rows x cols matrix `out` with ld floats between rows (ld >= cols). Exact: every stored
   value is representable in fp32. Errors: UNIQL_ERR_INVALID_ARG, UNIQL_ERR_SHAPE,
   UNIQL_ERR_DTYPE (as uniql_matmul). */
UNIQLDEF uniql_result uniql_dequantize(const uniql_matrix *m, float *out, size_t ld);
/* Logical row r of any view as cols floats (the embedding lookup). UNIQL_ERR_SHAPE if r
   is outside [0, rows). */
UNIQLDEF uniql_result uniql_dequantize_row(const uniql_matrix *m, int r, float *out);

/* Error of a quantized view q against the fp32 matrix W (q->rows x q->cols, ld floats
   between rows): *sq_err = sum of squared differences, *max_err = largest absolute
   difference (either pointer may be NULL). Accumulated in double. Errors as
   uniql_dequantize. */
UNIQLDEF uniql_result uniql_quant_error(const uniql_matrix *q, const float *W, size_t ld,
                                        double *sq_err, double *max_err);


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
   a d x d double sum (upper triangle), updated by a packed SYRK (d^2 flops per token, a
   4 x 8 register tile, AVX2 + FMA when available; products of float inputs are exact
   in double, sums are double, so the AVX2 and scalar kernels agree bit for bit). Blocks
   of 256 tokens are packed once, then the upper triangle is cut into 128 x 128 output
   tiles, one job each through `parallel` (API 2b): bit-identical for any thread count.
   All memory is owned by the struct: uniql_corr_init allocates it in one block
   (d^2 + 256 ceil(d/8)*8 + 4 doubles) with `user`, uniql_corr_free releases it. Not
   thread safe per object (one add at a time); separate objects are independent. */
typedef struct uniql_corr {
    int d;
    long long count;   /* tokens added so far */
    double *sum;       /* d x d, upper triangle holds sum_t x_t^T x_t (the rest stays 0) */
    double *buf;       /* scratch: the packed token block */
    void *user;
    /* set by the caller after uniql_corr_init (init zeroes them): */
    const uniql_parallel *parallel;  /* threads for the tiles; NULL: the calling thread */
    int kernel;        /* UNIQL_KERNEL_AUTO (AVX2 + FMA for float input where available) or
                          UNIQL_KERNEL_SCALAR (the reference); double input is always scalar */
} uniql_corr;

UNIQLDEF uniql_result uniql_corr_init(uniql_corr *acc, int d, void *user);
/* Adds n tokens X (n x d, ld ldx). NaN/Inf anywhere in X -> UNIQL_ERR_NONFINITE and the
   accumulator is left unchanged. n == 0 is allowed (no-op). An unknown acc->kernel is
   UNIQL_ERR_INVALID_ARG. */
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

/* The library never touches the file system except in the convenience loaders marked
   "stdio": every parser reads caller-provided memory (map or read the file as you like).
   Parsed structures point into that memory, so it must outlive them. */

/* ---- JSON (RFC 8259, strict) ----
   Accepted: exactly one value with optional surrounding whitespace; strings with every
   escape including \uXXXX surrogate pairs (decoded to UTF-8); raw UTF-8 is validated
   (no overlongs, no encoded surrogates, nothing above U+10FFFF); numbers per the RFC
   grammar, at most 256 characters, converted by the C library's strtod (correctly
   rounded in glibc/musl/MSVC) with the decimal point adapted to the current locale
   (localeconv, so not thread-safe against a concurrent setlocale). Rejected with UNIQL_ERR_PARSE: a byte
   order mark, comments, trailing commas, leading zeros, unescaped control characters,
   lone surrogates, nesting deeper than UNIQL_JSON_MAX_DEPTH, and duplicate keys in one
   object (RFC 8259 leaves them undefined; we refuse rather than guess). A number outside
   the double range is UNIQL_ERR_RANGE.
   The one extension, UNIQL_JSON_ALLOW_NONFINITE, accepts the literals NaN, Infinity and
   -Infinity that Python's json module writes (older transformers config.json files). */
#define UNIQL_JSON_MAX_DEPTH 64
#define UNIQL_JSON_ALLOW_NONFINITE 1u

typedef enum uniql_json_type {
    UNIQL_JSON_NULL = 0,
    UNIQL_JSON_FALSE = 1,
    UNIQL_JSON_TRUE = 2,
    UNIQL_JSON_NUMBER = 3,
    UNIQL_JSON_STRING = 4,
    UNIQL_JSON_ARRAY = 5,
    UNIQL_JSON_OBJECT = 6
} uniql_json_type;

/* One JSON value. Containers hold their children as a list (child, then next ...) in
   document order; members of an object also carry their key. Strings are decoded and
   NUL-terminated; `len` counts bytes (a \u0000 escape makes len > strlen). */
typedef struct uniql_json {
    uniql_json_type type;
    int count;                      /* ARRAY / OBJECT: number of children */
    double number;                  /* NUMBER */
    const char *str;                /* STRING */
    size_t len;
    const char *key;                /* set when this value is an object member */
    size_t key_len;
    const struct uniql_json *child; /* ARRAY / OBJECT: first child, NULL if empty */
    const struct uniql_json *next;  /* next sibling, NULL after the last */
} uniql_json;

/* A parsed document: every node and string lives in one block owned by the document. */
typedef struct uniql_json_doc {
    const uniql_json *root;
    void *mem;
    void *alloc_user;
} uniql_json_doc;

/* Parse `len` bytes of `text` (need not be NUL-terminated). On success `doc` owns one
   allocation (UNIQL_MALLOC with alloc_user) released by uniql_json_free. Errors:
   UNIQL_ERR_PARSE (message names the byte offset), UNIQL_ERR_RANGE (a number outside the
   double range), UNIQL_ERR_OVERFLOW (sizes: 2^31-1 elements in one container, a block
   beyond size_t), UNIQL_ERR_OUT_OF_MEMORY, UNIQL_ERR_INVALID_ARG. On error `doc` is zeroed. */
UNIQLDEF uniql_result uniql_json_parse(const char *text, size_t len, unsigned flags, void *alloc_user,
                                       uniql_json_doc *doc, uniql_error *err);
/* Release a document (NULL or zeroed is fine). */
UNIQLDEF void uniql_json_free(uniql_json_doc *doc);
/* Member `key` of an object, or NULL (also when `obj` is NULL or not an object). */
UNIQLDEF const uniql_json *uniql_json_get(const uniql_json *obj, const char *key);
/* Element i of an array, or NULL. */
UNIQLDEF const uniql_json *uniql_json_at(const uniql_json *arr, int i);

/* ---- safetensors ----
   Layout: u64 little-endian header length N, N bytes of JSON header, then the data area.
   The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end)}
   (offsets relative to the data area); "__metadata__" is ignored. Checked, each with its
   code and a message naming the tensor:
     file shorter than 8 bytes .................. UNIQL_ERR_TRUNCATED ("truncated header")
     header length past the end of the file ..... UNIQL_ERR_TRUNCATED ("header length")
     header larger than 100 MB, not an object ... UNIQL_ERR_FORMAT
     header not valid JSON, duplicate names ..... UNIQL_ERR_PARSE
     a header number outside the double range ... UNIQL_ERR_RANGE
     dtype other than F32/F16/BF16 .............. UNIQL_ERR_DTYPE ("unsupported"/"unknown")
     missing/ill-typed dtype, shape, offsets .... UNIQL_ERR_FORMAT
     shape x dtype size overflows size_t ........ UNIQL_ERR_OVERFLOW
     end - begin != shape x dtype size .......... UNIQL_ERR_FORMAT ("holds N bytes")
     a range ending past the data area .......... UNIQL_ERR_OFFSETS ("past the end")
     two ranges overlapping ..................... UNIQL_ERR_OFFSETS ("overlap")
     bytes of the data area no tensor covers .... UNIQL_ERR_OFFSETS ("gap"), as the
                                                  reference safetensors reader does
   Data is little-endian; on a big-endian host the parser returns UNIQL_ERR_UNSUPPORTED.
   Tensor data pointers may be unaligned (the format does not promise alignment): the
   model loader copies such tensors, other callers must too before casting. */
#define UNIQL_MAX_DIMS 8

typedef struct uniql_tensor {
    const char *name;          /* NUL-terminated, owned by the uniql_safetensors */
    uniql_dtype dtype;         /* F32, F16 or BF16 */
    int ndim;
    int64_t shape[UNIQL_MAX_DIMS];
    size_t nbytes;
    const void *data;          /* points into the caller's buffer */
} uniql_tensor;

typedef struct uniql_safetensors {
    int n_tensors;
    const uniql_tensor *tensors;    /* sorted by name (strcmp order) */
    const unsigned char *data;      /* the data area inside the caller's buffer */
    size_t data_size;
    uniql_json_doc header;          /* owns the names */
    void *mem;                      /* owns `tensors` */
    void *alloc_user;
} uniql_safetensors;

/* Parse and validate a whole safetensors file held in memory (`buf`, `size` bytes).
   `st` then owns two allocations (the header document and the tensor table), released
   by uniql_safetensors_free; tensor data stays in `buf`. On error `st` is zeroed. */
UNIQLDEF uniql_result uniql_safetensors_parse(const void *buf, size_t size, void *alloc_user,
                                              uniql_safetensors *st, uniql_error *err);
/* The tensor called `name`, or NULL (binary search). */
UNIQLDEF const uniql_tensor *uniql_safetensors_find(const uniql_safetensors *st, const char *name);
UNIQLDEF void uniql_safetensors_free(uniql_safetensors *st);

/* stdio: read a whole file (fopen/fseek/ftell/fread, so at most LONG_MAX bytes) into a
   buffer from UNIQL_MALLOC(alloc_user); the caller releases it with
   uniql_free_buffer(data, alloc_user). One extra NUL byte follows the data (not counted in *size), so a
   text file can be used as a C string. Errors: UNIQL_ERR_IO (also for a directory: it
   opens on POSIX but cannot be read), UNIQL_ERR_OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_read_file(const char *path, void *alloc_user, void **data, size_t *size,
                                      uniql_error *err);
/* UNIQL_FREE(p, alloc_user), for buffers this library handed to the caller. */
UNIQLDEF void uniql_free_buffer(void *p, void *alloc_user);



/* =====================================================================================
   API 6. Models and runtimes (Llama/Qwen2, Mamba2, Nemotron-H)
   ===================================================================================== */

/* Models are built from Hugging Face checkpoints (config.json + *.safetensors) and run in
   fp32. Weight matrices stay in the dtype they were stored in (F32/F16/BF16 now, the
   packed Q4/Q8 of the .uniql format later) and are used only through uniql_matrix views
   and uniql_matmul; small vectors (norms, biases, conv1d taps, A_log, D, dt_bias) are
   converted to compact fp32 arrays at load time.

   OWNERSHIP. A uniql_model holds views, never the bytes behind them:
     - uniql_model_load: views point into the caller's file buffers, which must outlive
       the model; the model owns only what it allocated (layer table, fp32 vectors,
       copies of unaligned tensors, fp32 conversions if asked for).
     - uniql_model_load_dir (stdio): the model also owns the file bytes it read.
   Either way uniql_model_free releases everything the model owns. A caller may build a
   model by hand (e.g. the pruning stage: copy a loaded model, point layers at sliced
   views, shrink the kept sizes); such a model has storage == NULL and the caller owns
   all of it. The runtime state (KV cache, SSM state, scratch) is separate and sized from
   one model with uniql_state_create.

   PRUNED LAYOUTS. Every sorted dimension is described per layer by a kept size next to
   the original size in uniql_config, so a pruned model runs the same code:
     attention  qk_dim  kept q/k dims per head (even), v_dim kept v dims per KV head
                (= o_proj input dims per query head). q/k/v rows are per-head blocks: a
                kept prefix of every head is a uniql_matrix with block = kept,
                block_stride = original. o_proj may be stored transposed. The scale
                stays 1/sqrt(head_dim) of the original model. Optional o_proj bias
                (V biases folded there by the V/O decomposition).
                rope_pairs (optional, per KV head, qk_dim/2 entries, query heads use
                their KV head's list): q/k head vectors are stored as interleaved pairs
                [a0 b0 a1 b1 ...] and pair j rotates with ORIGINAL frequency index
                rope_pairs[j], i.e. it is HF's pair (i, i + head_dim/2), i = rope_pairs[j].
                Without it, q/k use HF's rotate_half layout and qk_dim == head_dim.
     MLP        d_int kept intermediate channels (gate/up rows, down_proj input;
                down_proj may be stored transposed).
     Mamba2     head_dim_kept channels per head (z, x, conv taps of x, gated-norm weight,
                out_proj input), state_kept state dims per group (B, C and their conv
                taps). z/x/B/C/dt are storage-row range views of the one in_proj matrix
                (blocked for per-head / per-group prefixes); out_proj may be transposed.
   fp32 vectors are always compact (the pruning stage gathers the kept entries: a few KB
   per layer, where a view would save nothing). */

typedef enum uniql_arch {
    UNIQL_ARCH_LLAMA = 1,       /* LlamaForCausalLM (Llama 2/3, incl. "llama3" RoPE scaling) */
    UNIQL_ARCH_QWEN2 = 2,       /* Qwen2ForCausalLM (q/k/v biases) */
    UNIQL_ARCH_MAMBA2 = 3,      /* Mamba2ForCausalLM */
    UNIQL_ARCH_NEMOTRON_H = 4   /* NemotronHForCausalLM (Mamba2 / attention / MLP blocks) */
} uniql_arch;

/* What one layer holds. Every block is pre-norm with a residual around each mixer. */
typedef enum uniql_block_type {
    UNIQL_BLOCK_DECODER = 0,    /* Llama/Qwen2 layer: norm, attention, +res, norm, MLP, +res */
    UNIQL_BLOCK_MAMBA = 1,      /* norm, Mamba2 mixer, +res  (Nemotron-H "M", all of Mamba2) */
    UNIQL_BLOCK_ATTENTION = 2,  /* norm, attention, +res     (Nemotron-H "*") */
    UNIQL_BLOCK_MLP = 3         /* norm, MLP, +res           (Nemotron-H "-") */
} uniql_block_type;

typedef enum uniql_rope_type {
    UNIQL_ROPE_NONE = 0,        /* no rotary embedding (Nemotron-H attention) */
    UNIQL_ROPE_DEFAULT = 1,
    UNIQL_ROPE_LINEAR = 2,      /* inv_freq / factor */
    UNIQL_ROPE_LLAMA3 = 3       /* Llama 3.1 wavelength-dependent scaling */
} uniql_rope_type;

typedef enum uniql_mlp_act {
    UNIQL_MLP_SWIGLU = 0,       /* down(silu(gate x) * up x)   Llama/Qwen2 */
    UNIQL_MLP_RELU2 = 1         /* down(relu(up x)^2)          Nemotron-H, no gate */
} uniql_mlp_act;

#define UNIQL_MAX_LAYERS 512

/* Original (unpruned) architecture, as read from config.json. */
typedef struct uniql_config {
    uniql_arch arch;
    int vocab_size, hidden_size, n_layers;
    unsigned char block[UNIQL_MAX_LAYERS];  /* uniql_block_type of each layer */
    float norm_eps;                         /* every RMSNorm, the gated one included */
    int tie_embeddings;                     /* lm_head is the embedding matrix */
    /* attention */
    int n_heads, n_kv_heads, head_dim;
    int qkv_bias, o_bias;                   /* Qwen2: qkv; Llama attention_bias: both */
    uniql_rope_type rope_type;
    double rope_theta, rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_original_max_pos, max_position_embeddings;
    /* MLP */
    int intermediate_size;
    uniql_mlp_act mlp_act;
    int mlp_bias;
    /* Mamba2 mixer */
    int ssm_heads, ssm_head_dim, ssm_state, ssm_groups, conv_kernel;
    int ssm_proj_bias, conv_bias;           /* in_proj/out_proj bias, conv1d bias */
    float dt_min, dt_max;                   /* dt = clamp(softplus(dt + dt_bias), dt_min, dt_max) */
    int gated_norm_groups;                  /* 1: Mamba2 (whole d_inner), n_groups: Nemotron-H */
} uniql_config;

/* Parse a transformers config.json (model_type llama, qwen2, mamba2, nemotron_h).
   Missing keys take the defaults of the transformers 5.x config classes. Both key
   spellings are accepted: rope_parameters or rope_theta + rope_scaling ("type" or
   "rope_type"); layers_block_type / layer_types or hybrid_override_pattern; the
   mamba_* aliases of Nemotron-H; {"__float__": "Infinity"} and bare Infinity.
   Errors: those of uniql_json_parse (UNIQL_ERR_PARSE bad JSON, UNIQL_ERR_RANGE a number
   outside the double range, UNIQL_ERR_OVERFLOW, UNIQL_ERR_OUT_OF_MEMORY), UNIQL_ERR_MISSING
   (no model_type / required RoPE key), UNIQL_ERR_FORMAT (ill-typed or out-of-range value,
   a norm epsilon that is not a finite number > 0), UNIQL_ERR_SHAPE (sizes that do not fit
   together, e.g. a default head_dim hidden_size / num_attention_heads of 0),
   UNIQL_ERR_UNSUPPORTED (other model types, activations, RoPE types, sliding windows,
   MoE layers). */
UNIQLDEF uniql_result uniql_config_parse(const char *json, size_t len, void *alloc_user, uniql_config *cfg,
                                         uniql_error *err);

typedef struct uniql_attention {
    int qk_dim, v_dim;                  /* kept sizes, see PRUNED LAYOUTS */
    uniql_matrix q, k, v, o;            /* q: n_heads*qk_dim x hidden, k: n_kv*qk_dim x hidden,
                                           v: n_kv*v_dim x hidden, o: hidden x n_heads*v_dim */
    const float *q_bias, *k_bias, *v_bias, *o_bias;   /* compact, NULL if absent */
    const int *rope_pairs;              /* NULL or n_kv_heads * qk_dim/2 frequency indices */
} uniql_attention;

typedef struct uniql_mlp {
    int d_int;                          /* kept intermediate size */
    uniql_matrix gate, up, down;        /* gate unused for RELU2; down: hidden x d_int */
    const float *gate_bias, *up_bias, *down_bias;
} uniql_mlp;

typedef struct uniql_mamba {
    int head_dim_kept, state_kept;
    /* in_proj row ranges: z, x: ssm_heads*head_dim_kept rows; B, C: ssm_groups*state_kept;
       dt: ssm_heads. Heads of one group are contiguous (head h uses group
       h / (ssm_heads / ssm_groups)). */
    uniql_matrix in_z, in_x, in_B, in_C, in_dt;
    const float *bias_z, *bias_x, *bias_B, *bias_C, *bias_dt;  /* in_proj bias parts or NULL */
    const float *conv_x, *conv_B, *conv_C;            /* depthwise taps [channel][conv_kernel] */
    const float *conv_bias_x, *conv_bias_B, *conv_bias_C;  /* or NULL */
    const float *A_log, *D, *dt_bias;                 /* [ssm_heads] */
    const float *norm;                                /* gated RMSNorm weight [ssm_heads*head_dim_kept] */
    uniql_matrix out;                                 /* hidden x ssm_heads*head_dim_kept */
    const float *out_bias;
} uniql_mamba;

typedef struct uniql_layer {
    uniql_block_type type;
    const float *norm;          /* the block's pre-norm (Llama: input_layernorm) */
    const float *mlp_norm;      /* DECODER only: post_attention_layernorm */
    uniql_attention attn;       /* DECODER, ATTENTION */
    uniql_mlp mlp;              /* DECODER, MLP */
    uniql_mamba mamba;          /* MAMBA */
} uniql_layer;

typedef struct uniql_model {
    uniql_config config;
    uniql_matrix embed;         /* vocab x hidden, rows looked up by token */
    uniql_matrix lm_head;       /* vocab x hidden (the same view as embed when tied) */
    const float *final_norm;
    uniql_layer *layers;        /* config.n_layers entries */
    void *storage;              /* what the model owns (NULL for a hand-built model) */
    void *alloc_user;
} uniql_model;

/* A file held in memory, named as in model.safetensors.index.json. */
typedef struct uniql_file_view {
    const char *name;
    const void *data;
    size_t size;
} uniql_file_view;

typedef struct uniql_load_options {
    void *alloc_user;           /* passed to UNIQL_MALLOC/UNIQL_FREE for everything the model owns */
    int weights_f32;            /* convert every weight matrix to an owned fp32 copy */
} uniql_load_options;

/* Build a model from config.json text and safetensors files in memory. `index_json`
   (model.safetensors.index.json, may be NULL) is checked against the files: each name
   in its weight_map must be in the file it names. Tensors are looked up by their HF
   names across all files (a name in two files is an error). `opt` may be NULL.
   Errors: those of uniql_config_parse and uniql_safetensors_parse, and
   UNIQL_ERR_MISSING (a tensor the config needs, or a file the index names),
   UNIQL_ERR_SHAPE ("tensor 'x' has shape [..], config expects [..]"),
   UNIQL_ERR_NONFINITE (a tensor the model uses holds NaN or Inf: every element of
   every used tensor is checked once at load), UNIQL_ERR_FORMAT, UNIQL_ERR_OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_model_load(const char *config_json, size_t config_len, const char *index_json,
                                       size_t index_len, const uniql_file_view *files, int n_files,
                                       const uniql_load_options *opt, uniql_model **out, uniql_error *err);
/* stdio: load `dir`/config.json and `dir`/model.safetensors.index.json with its shards, or
   `dir`/model.safetensors. The model owns the file bytes. Adds UNIQL_ERR_IO. */
UNIQLDEF uniql_result uniql_model_load_dir(const char *dir, const uniql_load_options *opt, uniql_model **out,
                                           uniql_error *err);
/* Release a model from uniql_model_load[_dir] (NULL is fine). */
UNIQLDEF void uniql_model_free(uniql_model *m);
/* Check that every view and kept size of `m` fits its config (what uniql_state_create
   relies on; use it on hand-built models). UNIQL_ERR_SHAPE / UNIQL_ERR_INVALID_ARG. */
UNIQLDEF uniql_result uniql_model_check(const uniql_model *m, uniql_error *err);

/* ---- RoPE ----
   HF computes inv_freq and the angles in fp32 (also for a float64 model); so do we. */
/* The head_dim/2 inverse frequencies of `c` (default, linear or llama3 scaling). */
UNIQLDEF uniql_result uniql_rope_inv_freq(const uniql_config *c, float *inv_freq);
/* cos/sin of pos * inv_freq[i] for i < n_freq. */
UNIQLDEF void uniql_rope_cos_sin(const float *inv_freq, int n_freq, int pos, float *cos_out, float *sin_out);
/* HF rotate_half layout: x[i], x[i + head_dim/2] rotate by angle i. */
UNIQLDEF void uniql_rope_apply(float *x, int head_dim, const float *cos_t, const float *sin_t);
/* Kept-pairs layout: x = [a0 b0 a1 b1 ...], pair j rotates by angle pairs[j] (an index
   into the ORIGINAL cos/sin tables). Equals rotate_half RoPE followed by the gather. */
UNIQLDEF void uniql_rope_apply_kept(float *x, int n_pairs, const int *pairs, const float *cos_t,
                                    const float *sin_t);
/* Fused RoPE for pruned attention (UniQL, SPEC 1 step 6): rotates in one pass the q of
   n_heads query heads and the k of n_kv_heads KV heads, for n_tokens tokens, in the
   kept-pairs layout above. Token t: q head h at q + t*ldq + h*2*n_pairs, k head g at
   k + t*ldk + g*2*n_pairs, cos/sin tables of the ORIGINAL head_dim/2 angles at
   cos_t + t*ld_cs (sin_t likewise). pairs: n_kv_heads lists of n_pairs original pair
   indices (each in [0, head_dim/2)); query head h uses list h / (n_heads/n_kv_heads),
   so the cos/sin of a list are gathered once and applied to its KV head and all its
   query heads. Equals uniql_rope_apply_kept on every head (which equals rotating the full
   head with uniql_rope_apply and gathering the kept pairs), bit for bit: the SIMD paths
   (AVX2 with a runtime check, NEON) do the same multiplies and adds without FMA.
   n_heads must be a multiple of n_kv_heads; q or k may be NULL (0 heads rotated). */
UNIQLDEF void uniql_rope_apply_kept_qk(float *q, size_t ldq, int n_heads, float *k, size_t ldk, int n_kv_heads,
                                       int n_pairs, const int *pairs, int n_tokens, const float *cos_t,
                                       const float *sin_t, size_t ld_cs);
/* The scalar reference of uniql_rope_apply_kept_qk (same arguments, same result). */
UNIQLDEF void uniql_rope_apply_kept_qk_scalar(float *q, size_t ldq, int n_heads, float *k, size_t ldk,
                                              int n_kv_heads, int n_pairs, const int *pairs, int n_tokens,
                                              const float *cos_t, const float *sin_t, size_t ld_cs);

/* ---- Observer ----
   Calibration (correlations) and LSAQ (logit lens) watch the forward through one
   callback. `x` points at token 0 of a n_tokens x width block with `ld` floats between
   tokens; it is valid only during the call. `head` is the head index for the per-head
   sites, -1 otherwise. A long prompt is processed in chunks of at most max_batch tokens:
   the callback then sees each chunk in order. */
typedef enum uniql_site {
    UNIQL_SITE_BLOCK_IN = 0,     /* residual stream entering layer `layer` (width hidden) */
    UNIQL_SITE_ATTN_IN = 1,      /* normed input of q/k/v */
    UNIQL_SITE_Q_ROPE = 2,       /* q of query head `head` after RoPE (width qk_dim) */
    UNIQL_SITE_K_ROPE = 3,       /* k of KV head `head` after RoPE (width qk_dim) */
    UNIQL_SITE_ATTN_O_IN = 4,    /* attention output = o_proj input (width n_heads*v_dim) */
    UNIQL_SITE_MLP_IN = 5,       /* normed input of gate/up */
    UNIQL_SITE_MLP_DOWN_IN = 6,  /* down_proj input act(gate)*up (width d_int) */
    UNIQL_SITE_MAMBA_IN = 7,     /* normed input of in_proj */
    UNIQL_SITE_MAMBA_X = 8,      /* x after conv1d + SiLU (width ssm_heads*head_dim_kept) */
    UNIQL_SITE_MAMBA_B = 9,      /* B after conv1d + SiLU (width ssm_groups*state_kept) */
    UNIQL_SITE_MAMBA_C = 10,     /* C after conv1d + SiLU */
    UNIQL_SITE_MAMBA_DT = 11,    /* dt after softplus and limits (width ssm_heads) */
    UNIQL_SITE_MAMBA_OUT_IN = 12,/* out_proj input: gated RMSNorm output */
    UNIQL_SITE_BLOCK_OUT = 13,   /* residual stream leaving layer `layer` */
    UNIQL_SITE_FINAL_NORM = 14   /* final normed hidden state, layer = n_layers */
} uniql_site;

typedef struct uniql_observer {
    void (*fn)(void *user, int layer, uniql_site site, int head, const float *x, int n_tokens, int width,
               size_t ld);
    void *user;
} uniql_observer;

/* ---- Runtime state and forward ---- */
typedef struct uniql_state uniql_state;  /* KV cache, SSM/conv state, scratch; opaque */

/* Size a state for `m` (checked with uniql_model_check): KV cache for max_ctx positions
   of every attention layer (kept sizes), conv window + SSM state of every Mamba layer,
   scratch for max_batch tokens per forward chunk (<= 0: 64). One allocation from
   UNIQL_MALLOC(alloc_user), owned by the state. The state is bound to `m`. */
UNIQLDEF uniql_result uniql_state_create(const uniql_model *m, int max_ctx, int max_batch, void *alloc_user,
                                         uniql_state **out);

/* How the weights of quantized matrices (Q4 / Q4Z / Q8) meet the activations. */
typedef enum uniql_activations {
    UNIQL_ACT_AUTO = 0,   /* the default: UNIQL_ACT_F32 */
    UNIQL_ACT_F32 = 1,    /* exact fp32 activations (the reference path) */
    UNIQL_ACT_I8 = 2      /* int8 activations per 32-block (UNIQL_KERNEL_I8ACT, API 3) */
} uniql_activations;

/* Zero means default for every field but max_ctx. */
typedef struct uniql_state_options {
    int max_ctx;                    /* positions of the KV cache, >= 1 */
    int max_batch;                  /* tokens per forward chunk; <= 0: 64 */
    void *alloc_user;
    uniql_activations activations;
    int kernel;                     /* instruction set (UNIQL_KERNEL_AUTO / SCALAR / AVX2 / NEON) */
    const uniql_parallel *parallel; /* threads (API 2b) for matmul rows, attention heads and SSM
                                       heads; the struct must outlive the state (it is kept by
                                       pointer). NULL: the calling thread only. Results are
                                       bit-identical for every thread count. */
} uniql_state_options;

/* uniql_state_create with options (uniql_state_create(m, c, b, u, out) is this with
   max_ctx c, max_batch b, alloc_user u and zeros elsewhere). The state also holds the
   scratch of the int8 activations of one chunk and one attention score row per worker.
   Errors as uniql_state_create, plus UNIQL_ERR_INVALID_ARG for an unknown activations
   value or kernel, UNIQL_ERR_UNSUPPORTED for an instruction set not available here. */
UNIQLDEF uniql_result uniql_state_create_ex(const uniql_model *m, const uniql_state_options *opt, uniql_state **out);
/* Forget the sequence: position 0, SSM and conv states zeroed. */
UNIQLDEF void uniql_state_reset(uniql_state *s);
/* Number of tokens processed since create/reset. */
UNIQLDEF int uniql_state_pos(const uniql_state *s);
UNIQLDEF void uniql_state_free(uniql_state *s);

/* Run `n_tokens` tokens at positions pos..pos+n_tokens-1, appending to the caches
   (n_tokens > 1: prefill, batched through uniql_matmul with n = tokens; 1: decode).
   logits (may be NULL): n_tokens x vocab if all_logits, else vocab floats for the last
   token. `obs` may be NULL. Errors, with the state unchanged: UNIQL_ERR_INVALID_ARG
   (token outside the vocab, another model than the state's), UNIQL_ERR_RANGE (past
   max_ctx). An error from uniql_matmul (e.g. a dtype it does not support) is returned
   as is and leaves the state partly advanced: reset it. UNIQL_ERR_NONFINITE: a NaN/Inf
   reached the final normed hidden state or the logits (activations overflowing float:
   weights are finite, uniql_model_load checks them); the tokens were consumed (pos
   advanced), the caches hold non-finite values, and `logits` may hold NaN/Inf: reset.
   Numerical hostility that is handled, not rejected: all-zero weights or hidden states
   (RMSNorm gives 0 as eps > 0), denormal weights (computed as they are, only slower on
   some CPUs), huge but finite values (softmax subtracts the row max; an overflow to Inf
   ends as UNIQL_ERR_NONFINITE, never as silently wrong logits). */
UNIQLDEF uniql_result uniql_forward(const uniql_model *m, uniql_state *s, const int *tokens, int n_tokens,
                                    float *logits, int all_logits, const uniql_observer *obs);
/* Logit lens: final norm + lm_head on any hidden states h (n x hidden, ld floats apart).
   work: n x hidden floats; logits: n x vocab. UNIQL_ERR_NONFINITE if h holds a NaN/Inf
   (nothing written) or the logits overflow float (then `logits` may hold NaN/Inf). */
UNIQLDEF uniql_result uniql_logit_lens(const uniql_model *m, const float *h, int n, size_t ld, float *work,
                                       float *logits);

/* ---- Sampling (the caller owns the RNG state; no global state) ---- */
typedef struct uniql_rng {
    uint64_t s;
} uniql_rng;
typedef struct uniql_prob_index {
    float p;
    int i;
} uniql_prob_index;

UNIQLDEF void uniql_rng_seed(uniql_rng *r, uint64_t seed);
/* Uniform in [0, 1) with 53 random bits (splitmix64). */
UNIQLDEF double uniql_rng_uniform(uniql_rng *r);
/* Index of the largest logit (the first one on ties, like torch.argmax); NaNs skipped. */
UNIQLDEF int uniql_sample_greedy(const float *logits, int n);
/* Nucleus sampling: softmax(logits / temperature), keep the most probable tokens whose
   mass first reaches top_p (ties broken by lower index), draw one with `rng`.
   temperature <= 0 is greedy; top_p >= 1 samples the full distribution. work: n
   entries of scratch. Returns the token, or -1 for bad arguments. */
UNIQLDEF int uniql_sample_top_p(const float *logits, int n, float temperature, float top_p, uniql_rng *rng,
                                uniql_prob_index *work);

/* ---- Perplexity ----
   Perplexity of `m` on a token stream, in non-overlapping windows. The stream is cut into
   windows of `window` tokens: tokens[w*window .. (w+1)*window), w = 0, 1, ..., using the
   first max(n_windows) whole windows (n_windows <= 0: every whole window; a shorter tail
   is ignored). Each window starts from an empty state (position 0, no cache), so window
   w predicts its tokens 1..window-1 from the tokens before them IN THE SAME WINDOW:
       mean_nll = mean over the (window-1) * n_used predicted positions of
                  -log softmax(logits at position i-1)[token i],   ppl = exp(mean_nll),
   the log-softmax taken in double. This equals transformers' loss with labels = input_ids
   on each window (the loss shifts by one), averaged over windows of equal size.
   Runs the window in prefill chunks of at most 64 tokens with all logits kept, so the
   scratch is about 64 x vocab floats plus a state for `window` positions, all allocated
   with UNIQL_MALLOC(alloc_user) and released before returning. `mean_nll`,
   `n_predicted` (may be NULL) receive the mean NLL and the number of predicted positions.
   Errors: UNIQL_ERR_INVALID_ARG (NULL model/tokens/ppl, window < 2, a token outside the
   vocab), UNIQL_ERR_SHAPE (not one whole window in n_tokens), UNIQL_ERR_OUT_OF_MEMORY,
   UNIQL_ERR_NONFINITE (a NaN/Inf logit), and any error of uniql_state_create or
   uniql_forward; `err` (may be NULL) gets a message. */
UNIQLDEF uniql_result uniql_perplexity(const uniql_model *m, const int *tokens, size_t n_tokens, int window,
                                       int n_windows, void *alloc_user, double *ppl, double *mean_nll,
                                       size_t *n_predicted, uniql_error *err);
/* uniql_perplexity with the runtime options of a state (activations, kernel, threads,
   alloc_user; max_ctx and max_batch are set from the window). */
UNIQLDEF uniql_result uniql_perplexity_ex(const uniql_model *m, const int *tokens, size_t n_tokens, int window,
                                          int n_windows, const uniql_state_options *opt, double *ppl, double *mean_nll,
                                          size_t *n_predicted, uniql_error *err);



/* =====================================================================================
   API 7. UniQL: calibration, structured sorting, layer rates, pruning
   ===================================================================================== */

/* The UniQL pipeline of SPEC 1 up to quantization, on uniql_model objects:

     uniql_calibrate      run calibration tokens through the FP model, stream statistics
     uniql_sort_model     structured sorting (SPEC 1.2): a new model, same function, every
                          prunable dimension in decreasing order of importance
     uniql_layer_rates    per-layer pruning rates from block influence (SPEC 1.3)
     uniql_kept_from_rates  rates -> kept sizes, rounded to the pruning units
     uniql_model_prune    keep the first kept sizes of every sorted dimension
     uniql_model_quantize in-memory group int4 / int8 weights (SPEC 1.5), per-layer widths

   Every function that makes a model returns a NEW model (uniql_model_free releases it);
   the input model is never modified. */

/* ---- Calibration ---------------------------------------------------------------------- */

/* Statistics one calibration run collects (all per layer; only the layers in
   [layer_begin, layer_end)):
     UNIQL_STAT_ATTN_IN      attention: corr. of the normed block input (q/k/v input), hidden
     UNIQL_STAT_Q            attention: corr. of query head `head` after RoPE, qk_dim
     UNIQL_STAT_K            attention: corr. of KV head `head` after RoPE, qk_dim
     UNIQL_STAT_MLP_DOWN_IN  MLP: corr. of the down_proj input act(gate)*up, d_int
     UNIQL_STAT_MAMBA_OUT_IN Mamba2: corr. of the out_proj input (gated-norm output), d_inner
     UNIQL_STAT_MAMBA_C      Mamba2: corr. of C of group `head` after conv1d + SiLU, state
     UNIQL_STAT_MAMBA_DTB    Mamba2: corr. of dt_h * B_g for head `head` (g = its group)
   Each is C = (1/T) sum_t x_t^T x_t over the T calibration tokens, summed in double. */
typedef enum uniql_calib_stat {
    UNIQL_STAT_ATTN_IN = 0,
    UNIQL_STAT_Q = 1,
    UNIQL_STAT_K = 2,
    UNIQL_STAT_MLP_DOWN_IN = 3,
    UNIQL_STAT_MAMBA_OUT_IN = 4,
    UNIQL_STAT_MAMBA_C = 5,
    UNIQL_STAT_MAMBA_DTB = 6
} uniql_calib_stat;

/* Layer importance scores, one value per layer (higher = more important):
     BLOCK_INFLUENCE       mean over all calibration tokens of 1 - cos(x_in, x_out), x the
                           residual stream entering / leaving the layer (SPEC 1.3)
     BLOCK_INFLUENCE_LAST  the same over the last token of each calibration sequence only
     LSAQ                  1 - mean Jaccard(top-k(lens(x_in)), top-k(lens(x_out))), lens =
                           final norm + lm_head (SPEC 2), over all tokens
     LSAQ_LAST             the same over the last token of each sequence
   cos of a zero vector: 1 if both vectors are zero, else 0. */
typedef enum uniql_importance {
    UNIQL_IMPORTANCE_BLOCK_INFLUENCE = 0,
    UNIQL_IMPORTANCE_BLOCK_INFLUENCE_LAST = 1,
    UNIQL_IMPORTANCE_LSAQ = 2,
    UNIQL_IMPORTANCE_LSAQ_LAST = 3
} uniql_importance;

/* Zero means default for every field. */
typedef struct uniql_calib_options {
    int seq_len;            /* tokens per calibration sequence; the state is reset between
                               sequences; a shorter tail is its own sequence. 0 = 256 */
    int max_batch;          /* tokens per forward call (prefill chunk). 0 = 64 */
    int layer_begin;        /* collect layers [layer_begin, layer_end) only; 0, 0 = all. */
    int layer_end;          /*   Bounds memory: run several passes for very large models. */
    int lsaq;               /* also collect the LSAQ Jaccard importance (logit lens at every
                               layer boundary: 2 x n_layers extra lm_head products per token,
                               the output of layer l is the input of l+1, so it is one lens
                               per boundary) */
    int lsaq_k;             /* top-k of the LSAQ sets, 0 = 10 (LSAQ's default) */
    int importance_only;    /* no correlation matrices: block influence (and LSAQ) only */
    void *alloc_user;       /* UNIQL_MALLOC / UNIQL_FREE user pointer for everything */
    const uniql_parallel *parallel;  /* threads (API 2b): the forward (matmul rows, heads) and the
                                        correlation tiles; statistics are bit-identical for any
                                        thread count */
} uniql_calib_options;

typedef struct uniql_calib uniql_calib;   /* opaque; owns all its memory */

/* Run tokens[0..n_tokens) through `m` (sequences of seq_len tokens, each from a fresh
   state) and accumulate, per layer in the range, by block type:
     attention (DECODER, ATTENTION): ATTN_IN, Q (every query head), K (every KV head)
     MLP (DECODER, MLP): MLP_DOWN_IN
     Mamba2: MAMBA_OUT_IN, MAMBA_C (every group), MAMBA_DTB (every head)
   plus block influence for every layer in range, and LSAQ if asked. Activations are seen
   through the forward's observer (API 6), streamed: memory is the correlation matrices
   (sum over layers of d^2 doubles, plus the packing scratch of uniql_corr, 256 d
   doubles per matrix of size >= 128; per-head matrices carry none) plus max_batch rows of scratch,
   independent of n_tokens.
   Dimensions follow the model's kept sizes (a pruned model can be calibrated too; the
   sorting stage needs an unpruned, unsorted one). On success *out owns everything;
   release with uniql_calib_free.
   Errors: UNIQL_ERR_INVALID_ARG (NULL, n_tokens < 1, a token outside the vocabulary, bad
   options), UNIQL_ERR_NONFINITE (NaN/Inf in an activation: the model's weights are
   broken; the message names layer and site), UNIQL_ERR_OUT_OF_MEMORY, and what
   uniql_state_create / uniql_forward return. */
UNIQLDEF uniql_result uniql_calibrate(const uniql_model *m, const int *tokens, size_t n_tokens,
                                      const uniql_calib_options *opt, uniql_calib **out,
                                      uniql_error *err);
UNIQLDEF void uniql_calib_free(uniql_calib *cb);
/* Number of tokens / sequences seen. */
UNIQLDEF long long uniql_calib_tokens(const uniql_calib *cb);
UNIQLDEF long long uniql_calib_sequences(const uniql_calib *cb);
/* Layer range the calibration covers. */
UNIQLDEF void uniql_calib_layers(const uniql_calib *cb, int *layer_begin, int *layer_end);
/* Size d of statistic `stat` of `layer` (`head` selects the head / group where the
   statistic has one per head), or 0 if it was not collected. */
UNIQLDEF int uniql_calib_corr_dim(const uniql_calib *cb, int layer, uniql_calib_stat stat, int head);
/* C = sum / T (d x d, full symmetric, ld ldc >= d) into a caller buffer.
   UNIQL_ERR_MISSING if not collected, UNIQL_ERR_SHAPE if ldc < d, INVALID_ARG. */
UNIQLDEF uniql_result uniql_calib_corr(const uniql_calib *cb, int layer, uniql_calib_stat stat, int head,
                                       double *C, size_t ldc);
/* out[l] for every layer l < n_layers (caller-owned); layers outside the calibrated range
   get 0. UNIQL_ERR_MISSING for LSAQ kinds when lsaq was not collected. */
UNIQLDEF uniql_result uniql_calib_importance(const uniql_calib *cb, uniql_importance kind, double *out);

/* ---- Structured sorting (SPEC 1.2) ------------------------------------------------------- */

typedef enum uniql_sort_order {
    UNIQL_ORDER_SCORES = 0,   /* the paper's scores (below) */
    UNIQL_ORDER_RANDOM = 1    /* a random permutation of every sorted dimension (baseline:
                                 "random channel choice" at the same rates); V/O stay in
                                 their original basis, permuted */
} uniql_sort_order;

typedef enum uniql_layout {
    UNIQL_LAYOUT_DENSE = 0,     /* every matrix row-major (rows = outputs) */
    UNIQL_LAYOUT_PRUNABLE = 1   /* o_proj, down_proj and Mamba out_proj stored transposed
                                   (uniql_matrix.transposed = 1), so that pruning their
                                   input dimension keeps a storage-row prefix (per head:
                                   blocks) and needs no copy. Running such a model needs
                                   uniql_matmul support of transposed views. */
} uniql_layout;

typedef struct uniql_sort_options {
    uniql_sort_order order;
    uint64_t seed;              /* UNIQL_ORDER_RANDOM: permutation seed */
    uniql_vo_split vo_split;    /* UNIQL_VO_SPLIT_QA (default) or _SQRT (API 4) */
    int no_vo;                  /* keep V/O as they are (no joint decomposition) */
    uniql_layout layout;
    double ridge_lambda;        /* 0 = UNIQL_RIDGE_LAMBDA_DEFAULT (1e-4, absolute) */
    double eig_floor;           /* 0 = UNIQL_EIG_FLOOR_DEFAULT (1e-6, absolute) */
    void *alloc_user;
    const uniql_parallel *parallel;  /* threads (API 2b) for the sorting's linear algebra; results
                                        do not depend on it */
} uniql_sort_options;

/* A new model, function unchanged up to float rounding, whose every prunable dimension is
   ordered so that "keep the first k" keeps the k most important slices:
     MLP            channels by ridge leverage diag(C (C + lambda I)^-1) of MLP_DOWN_IN;
                    rows of gate/up (and their biases), columns of down.
     attention Q/K  per KV group g: s_i = sum over the query heads h of g of
                    |col_i(C_Q,h^1/2)| |col_i(C_K,g^1/2)|; with RoPE, pair i (dims i and
                    i + head_dim/2 of rotate_half) scores s_i + s_{i+hd/2} and pairs are
                    sorted whole: q/k heads are stored in the kept-pairs layout (API 6:
                    interleaved [a0 b0 a1 b1 ..], rope_pairs = the sorted original pair
                    indices per KV head, shared by its query heads). Without RoPE
                    (Nemotron-H) single dims are sorted.
     attention V/O  the quantization-aware joint decomposition per KV group
                    (uniql_qasvd_head for MHA, uniql_qasvd_group for GQA) with C^{+-1/2}
                    of ATTN_IN; components in decreasing singular value order; a v_proj
                    bias is folded into o_proj's bias (created if absent).
     Mamba2 state   per group g: s_n = sum over heads h of g of
                    |col_n(C_DTB,h^1/2)| |col_n(C_C,g^1/2)| (state-aware); rows of B and C,
                    their biases and conv1d taps.
     Mamba2 inner   per head: channels by ridge leverage of MAMBA_OUT_IN (the out_proj
                    input, as MLP channels use the down_proj input), restricted to the
                    head's channels; rows of z and x, conv1d taps of x, gated-norm
                    weight, columns of out_proj.
   Ties: lower index first (stable). Layers outside the calibration's range keep their
   order (`cb` may be NULL for UNIQL_ORDER_RANDOM). The result owns fp32 copies of every
   weight (storage allocated with opt->alloc_user); `m` is not needed afterwards.
   Requirements: `m` unpruned (kept sizes == config) without rope_pairs, i.e. as loaded.
   Errors: INVALID_ARG, UNIQL_ERR_MISSING (cb lacks a statistic a layer needs, e.g.
   importance_only), UNIQL_ERR_UNSUPPORTED (m pruned or already sorted), those of the
   linear algebra (NONFINITE, NO_CONVERGENCE), OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_sort_model(const uniql_model *m, const uniql_calib *cb,
                                       const uniql_sort_options *opt, uniql_model **out,
                                       uniql_error *err);

/* ---- Layer-wise rates and kept sizes (SPEC 1.3) ------------------------------------------- */

/* Kept sizes of one layer (fields of other block types are ignored). */
typedef struct uniql_kept {
    int qk_dim;      /* attention: q/k dims per head (even with RoPE: 2 x kept pairs) */
    int v_dim;       /* attention: v dims per KV head = o_proj inputs per query head */
    int d_int;       /* MLP intermediate channels */
    int head_dim;    /* Mamba2: channels per head */
    int state;       /* Mamba2: state dims per group */
} uniql_kept;

/* Per-layer pruning rates phi_l from importance s_l (e.g. block influence):
     w_l = softmax(-s / eps)_l,   phi_l = min(max_rate, c * w_l)
   with c chosen so that the parameter-weighted mean sum_l P_l phi_l / sum_l P_l equals
   `global_rate` (P_l = params[l], or 1 for every layer when params is NULL: then c =
   L * global_rate before clipping, SPEC 1.3's L * phi_avg * softmax). Clipped layers sit
   at max_rate and c is raised for the others (water filling) until the mean is met, so
   the result is exact up to rounding. Less important layers are pruned harder.
   eps <= 0: 0.1; max_rate <= 0: 0.85. global_rate must be in [0, max_rate).
   Errors: INVALID_ARG (n_layers < 1, NULL, global_rate outside [0, max_rate), negative
   params, all params 0), NONFINITE (importance). */
UNIQLDEF uniql_result uniql_layer_rates(int n_layers, const double *importance, const double *params,
                                        double global_rate, double eps, double max_rate, double *rates);

/* Rounding units of uniql_kept_from_rates: each kept size is round((1 - rate) * full) to
   the nearest multiple of its unit, at least one unit (or the full size when that is
   smaller than a unit). Zero fields take the defaults in brackets.
     qk_unit     q/k dims per head [2: one RoPE pair; also used without RoPE]
     v_unit      v dims per head [1]
     mlp_unit    MLP channels [8]. Quantization groups run along the input dimension
                 (API 3), so a cut of d_int goes through groups only where down_proj is
                 stored dense: use the group size (e.g. 128) there; with the PRUNABLE
                 layout any unit keeps every group whole.
     mamba_unit  channels per head [1] (per-head prefixes never split a group of the
                 transposed out_proj; use the group size for dense storage)
     state_unit  state dims per group [1] */
typedef struct uniql_kept_units {
    int qk_unit, v_unit, mlp_unit, mamba_unit, state_unit;
} uniql_kept_units;

/* kept[l] for every layer from rates[l] in [0, 1). units may be NULL (defaults).
   INVALID_ARG for NULL, rates outside [0, 1) or a unit < 0; NONFINITE for NaN rates. */
UNIQLDEF uniql_result uniql_kept_from_rates(const uniql_config *c, const double *rates,
                                            const uniql_kept_units *units, uniql_kept *kept);
/* The full (unpruned) sizes of layer l. */
UNIQLDEF uniql_kept uniql_kept_full(const uniql_config *c, int layer);
/* Weights of layer l that pruning can remove (the matrix and conv-tap entries that depend
   on a kept size), at kept sizes k (NULL: full). Vectors (norms, biases) not counted. */
UNIQLDEF uint64_t uniql_prunable_params(const uniql_config *c, int layer, const uniql_kept *k);

/* ---- Pruning ------------------------------------------------------------------------------ */

/* A new model that keeps, in every layer, the first kept[l] slices of each sorted
   dimension: the first qk_dim rows of each q/k head (and the first qk_dim/2 entries of
   each KV head's rope_pairs), the first v_dim rows of each v head and the matching
   o_proj inputs of each query head, the first d_int MLP channels, the first head_dim
   channels of each Mamba head and the first `state` dims of each group.
   `m` must be unpruned (kept sizes == config); with RoPE and qk_dim < head_dim it must
   either carry rope_pairs (a sorted model) or be in HF's rotate_half layout (then pairs
   0..qk_dim/2-1 are kept, in that order).
   compact = 1: the new model owns compact fp32 copies of everything (any dtype in);
     transposed matrices stay transposed, so quantizing the result gives exactly the
     bytes of the compact = 0 views of the quantized model (the prefix property).
   compact = 0: weight matrices are views into m's storage (m must outlive the result):
     per-head row prefixes as blocked views (uniql_matrix_block_prefix), gate/up as row
     prefixes, input-dimension cuts of o/down/out_proj as storage-row blocks / prefixes of
     their transposed storage (UNIQL_LAYOUT_PRUNABLE) or, for a dense down_proj only, a
     column prefix (uniql_matrix_prefix). Only the small vectors are copied, nothing is
     requantized. UNIQL_ERR_UNSUPPORTED when a cut has no view (dense o_proj / out_proj
     with a cut, the rotate_half layout with a q/k cut).
   Errors: INVALID_ARG (NULL, kept sizes outside [1, full] or odd qk_dim with RoPE),
   UNSUPPORTED, OUT_OF_MEMORY. Release with uniql_model_free. */
UNIQLDEF uniql_result uniql_model_prune(const uniql_model *m, const uniql_kept *kept, int compact,
                                        void *alloc_user, uniql_model **out, uniql_error *err);

/* ---- Quantization of a whole model (SPEC 1.5) --------------------------------------------- */

/* Zero means default for every field. */
typedef struct uniql_model_quant_options {
    int group;          /* Q4 / Q4Z group size along storage rows: 32, 64, 128 (0 = 128) */
    int asymmetric;     /* 1: Q4Z (scale + zero point) instead of symmetric Q4 */
    int clip;           /* 1: per-group clip search (uniql_quant_desc.clip) */
    int embed_bits;     /* embedding / lm_head: 8 (Q8 per row) or 0 (fp32 copies). 0 = keep */
    void *alloc_user;
    const uniql_parallel *parallel;  /* threads (API 2b) for each matrix; same bytes for any count */
} uniql_model_quant_options;

/* A new model whose every weight matrix in layer l is quantized with bits[l]: 4 (Q4 /
   Q4Z, groups along storage rows), 8 (Q8 per storage row) or 0 (fp32 copy); bits NULL =
   4 everywhere. Each matrix keeps its orientation (a transposed o/down/out_proj of
   UNIQL_LAYOUT_PRUNABLE stays transposed, so the quantized model can still be pruned by
   views: every pruning rate is a prefix of whole storage rows, never a cut through a
   group). The logical matrix is quantized: a pruned or blocked view becomes a compact
   quantized matrix. Small vectors (norms, biases, conv taps, A_log, D, dt_bias) stay
   fp32. The result owns everything and does not need m.
   Errors: INVALID_ARG (NULL, a width other than 0/4/8, bad options), UNIQL_ERR_NONFINITE /
   UNIQL_ERR_RANGE (from uniql_quantize: NaN weights, a scale above fp16's range),
   OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_model_quantize(const uniql_model *m, const int *bits, const uniql_model_quant_options *opt,
                                           uniql_model **out, uniql_error *err);

/* Exact bytes of the weights of layer l at kept sizes k (NULL: full) when its matrices are
   quantized with `bits` (4: Q4, or Q4Z if asymmetric; 8: Q8; 0 or 32: fp32) and group
   `group` (0 = 128), oriented as `layout` says; vectors counted as fp32. This is what
   uniql_model_quantize allocates for the layer's matrices (uniql_quant_size) plus 4 bytes
   per vector entry, so it is the exact input LSAQ's uniql_lsaq_plan needs. 0 on bad
   arguments. */
UNIQLDEF uint64_t uniql_layer_bytes(const uniql_config *c, int layer, const uniql_kept *k, int bits, int group,
                                    int asymmetric, uniql_layout layout);
/* Bytes of every weight matrix and vector of a model as it is held (views count the bytes
   they reach: storage rows x row bytes + their scales / zero points). */
UNIQLDEF uint64_t uniql_model_bytes(const uniql_model *m);



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


/* =====================================================================================
   API 9. Packed .uniql files: format, writer, loader, rate / memory-budget selection
   ===================================================================================== */

/* A .uniql file is what tools/pack writes once ("in the cloud") and a device opens many
   times: the sorted, quantized weights of one model laid out so that every pruning rate
   is a prefix of every matrix, plus what the device needs to choose a rate and a bit
   plan without recalibrating. Two layers:
     - the CONTAINER (this part): a fixed binary header, a JSON header, 64-byte aligned
       tensor blobs, a checksum; a writer and a strict, zero-copy reader;
     - the MODEL layer (below): tensor names, rate tables, kept RoPE pairs, layer
       importance and optional 8-bit copies, and the loader that builds a uniql_model
       from views into the file for a chosen rate and bit plan.

   ---- Container, version 1. All integers little-endian. ----
     offset  bytes  field
     0       8      magic 89 55 4E 49 51 4C 0D 0A ("\x89UNIQL\r\n": a high-bit byte and
                    a CRLF, so 7-bit or newline-translating transfers are caught, as PNG)
     8       4      u32 version = UNIQL_PACK_VERSION (a reader refuses other versions)
     12      4      u32 flags, must be 0
     16      8      u64 header_len  bytes of the JSON header (1 .. UNIQL_PACK_MAX_HEADER)
     24      8      u64 data_offset start of the data area: a multiple of 64, >= 48 + header_len
     32      8      u64 data_size   the file is exactly data_offset + data_size bytes
     40      8      u64 checksum    FNV-1a 64 (offset basis 0xcbf29ce484222325, prime
                                    0x100000001b3) over every byte of the file except these
                                    8, in file order (bytes 0..39, then 48..end)
     48      header_len  JSON header, then zero bytes up to data_offset
     data_offset         data area: tensor blobs, each starting at a multiple of 64 from
                         data_offset (so at 64-byte file offsets: mmap and SIMD friendly)
   JSON header (strict JSON, as uniql_json_parse):
     {"format": "uniql", "version": 1,
      "config": "<the model's config.json text, as one JSON string>",
      "meta": { ... }                          free-form object (the model layer's tables)
      "tensors": [ {"name": "...", "dtype": "F32"|"F16"|"BF16"|"Q4"|"Q4Z"|"Q8",
                    "rows": R, "cols": C, "transposed": 0|1, "group": G,
                    "data": [offset, bytes], "scales": [offset, bytes],
                    "zeros": [offset, bytes]}, ... ]}
     Tensor names are unique, non-empty and listed in strcmp order. "scales" is present
     exactly for Q4/Q4Z/Q8, "zeros" exactly for Q4Z; "group" is 32, 64 or 128 for Q4/Q4Z
     and 0 otherwise. Offsets are relative to data_offset.
   Tensor blobs. A tensor is an R x C matrix (a vector is 1 x C) stored as S storage rows
     of length L (S = R, L = C; transposed: S = C, L = R), rows packed back to back with
     no gaps, in the layout of the quantization API: row bytes F32 4L, F16/BF16 2L,
     Q4/Q4Z 16 ceil(L/32), Q8 32 ceil(L/32); scales S x ng fp16 (ng = ceil(L/group),
     Q8: 1), zeros S x ng bytes. Blobs of different tensors never overlap.
   The reader checks, each failure with its code and a message naming the tensor:
     file shorter than 48 bytes ......................... UNIQL_ERR_TRUNCATED
     wrong magic ........................................ UNIQL_ERR_BAD_MAGIC
     other version ...................................... UNIQL_ERR_VERSION
     flags != 0, data_offset not aligned or inside the
       header, header_len 0 or too large, non-zero
       padding, bytes after the data area ............... UNIQL_ERR_FORMAT
     data_offset + data_size overflows .................. UNIQL_ERR_OVERFLOW
     file shorter than data_offset + data_size ........... UNIQL_ERR_TRUNCATED
     checksum mismatch (unless UNIQL_PACK_SKIP_CHECKSUM) . UNIQL_ERR_CHECKSUM
     header not JSON .................................... UNIQL_ERR_PARSE
     missing/ill-typed keys, names out of order or
       duplicated, transposed/group invalid .............. UNIQL_ERR_FORMAT
     unknown dtype ...................................... UNIQL_ERR_DTYPE
     rows/cols < 1 or > INT_MAX, blob sizes that do not
       match the shape ................................... UNIQL_ERR_SHAPE
     shape x row bytes overflows ........................ UNIQL_ERR_OVERFLOW
     blob unaligned, past the data area, overlapping .... UNIQL_ERR_OFFSETS
   The checksum is checked before the JSON is parsed, so a damaged file is refused
   cheaply; UNIQL_PACK_SKIP_CHECKSUM (for fuzzing, or a file already verified) skips it
   and every structural check still runs. */
#define UNIQL_PACK_VERSION 1u
#define UNIQL_PACK_ALIGN 64u
#define UNIQL_PACK_FIXED_HEADER 48u
#define UNIQL_PACK_MAX_HEADER (64u << 20)
#define UNIQL_PACK_SKIP_CHECKSUM 1u

/* One tensor to write: a name and any view (any dtype, stride, block layout; the writer
   copies its logical storage rows in order, so a blocked or strided view is written
   compactly). */
typedef struct uniql_pack_input {
    const char *name;
    uniql_matrix m;
} uniql_pack_input;

/* One tensor of an open file. `m` is a view into the file buffer (stride = row bytes,
   scale_stride = ng, no blocks). data_offset is relative to the data area; nbytes is
   data + scales + zeros. */
typedef struct uniql_pack_tensor {
    const char *name;            /* NUL-terminated, owned by the uniql_packed */
    uniql_matrix m;
    uint64_t data_offset, nbytes;
} uniql_pack_tensor;

typedef struct uniql_packed {
    uint32_t version;
    uint64_t checksum, data_offset, data_size, file_size;
    const char *config_json;     /* the config.json text (NUL-terminated), owned here */
    size_t config_len;
    const uniql_json *meta;      /* the "meta" object */
    int n_tensors;
    const uniql_pack_tensor *tensors;   /* in name order */
    const unsigned char *data;   /* the data area inside the caller's buffer */
    uniql_json_doc header;       /* owns names, config text and meta */
    void *mem;                   /* owns `tensors` */
    void *alloc_user;
} uniql_packed;

/* FNV-1a 64 of a whole file image as the format defines it (bytes 40..47 skipped).
   size < 48 hashes what there is, skipping the part of 40..47 that exists. */
UNIQLDEF uint64_t uniql_pack_checksum(const void *buf, size_t size);

/* Bytes of the blobs of a tensor with this shape (data, scales, zeros; any may be NULL).
   Errors: UNIQL_ERR_DTYPE, UNIQL_ERR_SHAPE (rows/cols < 1, bad group), UNIQL_ERR_OVERFLOW. */
UNIQLDEF uniql_result uniql_pack_tensor_bytes(uniql_dtype dtype, int rows, int cols, int transposed, int group,
                                              uint64_t *data_bytes, uint64_t *scale_bytes, uint64_t *zero_bytes);

/* Write a complete .uniql image into one buffer from UNIQL_MALLOC(alloc_user), returned in
   *out / *out_size; the caller releases it with uniql_free_buffer(*out, alloc_user) (or
   writes it to disk first). config_json: the model's config.json text (any bytes up to
   config_len; stored as a JSON string). meta_json: a JSON object (NULL: {}), checked by
   parsing. Tensors are written in name order. Errors: UNIQL_ERR_INVALID_ARG (NULL
   pointers, empty or duplicate names, a quantized view without scales/zeros),
   UNIQL_ERR_PARSE / UNIQL_ERR_FORMAT (meta not a JSON object), those of
   uniql_pack_tensor_bytes, UNIQL_ERR_OUT_OF_MEMORY. On error *out is NULL. */
UNIQLDEF uniql_result uniql_pack_write(const char *config_json, size_t config_len, const char *meta_json,
                                       size_t meta_len, const uniql_pack_input *tensors, int n_tensors,
                                       void *alloc_user, void **out, size_t *out_size, uniql_error *err);

/* Open a .uniql image held in memory (read or mmap it; `buf` must be 16-byte aligned,
   as malloc and mmap give, else UNIQL_ERR_INVALID_ARG, and must outlive `p`). Validates
   everything listed above. On success `p` owns two allocations (header document and
   tensor table), released by uniql_packed_free; tensor views point into `buf`.
   flags: 0 or UNIQL_PACK_SKIP_CHECKSUM. On error `p` is zeroed. */
UNIQLDEF uniql_result uniql_packed_open(const void *buf, size_t size, unsigned flags, void *alloc_user,
                                        uniql_packed *p, uniql_error *err);
/* The tensor called `name`, or NULL (binary search). */
UNIQLDEF const uniql_pack_tensor *uniql_packed_find(const uniql_packed *p, const char *name);
/* Release what uniql_packed_open allocated (NULL or zeroed is fine). */
UNIQLDEF void uniql_packed_free(uniql_packed *p);

/* ---- Model layer: what a packed model holds, and the loader ----
   Tensor names (all vectors are F32, 1 x n; matrices keep the dtype, orientation and
   storage order they had in the uniql_model that was packed):
     embed, lm_head (absent when tied), final_norm,
     layers.L.norm, layers.L.mlp_norm,
     layers.L.attn.{q,k,v,o}, layers.L.attn.{q,k,v,o}_bias,
     layers.L.mlp.{gate,up,down}, layers.L.mlp.{gate,up,down}_bias,
     layers.L.mamba.{in_z,in_x,in_B,in_C,in_dt,out}, layers.L.mamba.bias_{z,x,B,C,dt},
     layers.L.mamba.{conv_x,conv_B,conv_C} ([channel][conv_kernel]),
     layers.L.mamba.conv_bias_{x,B,C}, layers.L.mamba.{A_log,D,dt_bias,norm,out_bias};
     an LSAQ upgrade copy of a layer matrix is the same name + "@8" (e.g. a Q8 copy).
   "meta" object:
     "kind": "uniql-model", "n_layers": L,
     "rope_pairs": per layer null or the n_kv_heads x head_dim/2 original pair indices of
                   the stored (sorted) q/k rows, each head's list in importance order,
     "rates": [r_0 < r_1 < ...] global pruning rates, "kept": per rate, per layer
              [qk_dim, v_dim, d_int, head_dim, state] (uniql_kept) (0 where a layer has no
              such part),
     "block_influence", "lsaq": per-layer importance (optional; 1 - cos, 1 - Jaccard),
     "upgrades": per layer 0/1, whether "@8" copies exist.
   Pruning at load is pure view arithmetic on the sorted layout (API 6 PRUNED LAYOUTS):
   q/k/v rows and a transposed o_proj's storage rows are per-head blocks (kept prefix of
   each), gate/up rows and a transposed down_proj's storage rows are a prefix, Mamba z/x
   and a transposed out_proj per head, B/C per group. No weight byte is copied or
   requantized; only the small fp32 vectors of pruned per-head parts (biases, conv taps,
   gated-norm weights) and the kept RoPE lists are gathered into the model's storage.

   LSAQ bit plans. The file may carry 8-bit copies of the layers pack was told could be
   upgraded (tools/pack --bits-budget-mb: the layers the plan upgrades at that budget).
   We chose stored copies over requantizing at load: the device then never needs the
   fp weights (which a .uniql does not hold), loading stays zero-copy, and the cost is
   file size only for layers that may be upgraded. A layer without a copy stays at the
   base width whatever the plan says (its upgrade is priced at 0 extra bytes so the plan
   stays monotone); uniql_packed_plan_bits reports the widths actually loadable. */
#define UNIQL_PACK_MAX_RATES 64

/* Kept sizes are uniql_kept (API 7): qk_dim, v_dim, d_int, head_dim, state. */
typedef struct uniql_pack_model_desc {
    const char *config_json;        /* config.json text of the model (required) */
    size_t config_len;
    int n_rates;                    /* 0..UNIQL_PACK_MAX_RATES rate tables */
    const double *rates;            /* strictly ascending, in [0, 1) */
    const uniql_kept *kept;    /* n_rates x n_layers kept sizes */
    const double *block_influence;  /* n_layers or NULL */
    const double *lsaq_importance;  /* n_layers or NULL */
    const uniql_model *upgrade;     /* NULL or a model of identical shapes (e.g. Q8 weights) */
    const unsigned char *upgrade_layers;  /* n_layers flags: layers of `upgrade` stored as "@8" */
} uniql_pack_model_desc;

/* Pack a (sorted, quantized) model into a .uniql image, as uniql_pack_write (the caller
   frees *out with uniql_free_buffer). Every view of `m` must be unpruned (kept sizes ==
   config sizes); rope_pairs, when present, are stored. Errors: UNIQL_ERR_INVALID_ARG,
   UNIQL_ERR_SHAPE (kept sizes in a table outside the config, a model that is already
   pruned, upgrade shapes differing), those of uniql_pack_write. */
UNIQLDEF uniql_result uniql_pack_model(const uniql_model *m, const uniql_pack_model_desc *d, void *alloc_user,
                                       void **out, size_t *out_size, uniql_error *err);

/* Rate tables of an open packed model: *n_rates (<= cap written to rates). */
UNIQLDEF uniql_result uniql_packed_rates(const uniql_packed *p, double *rates, int cap, int *n_rates,
                                         uniql_error *err);
/* Kept sizes of every layer (n_layers entries) for rate table `rate_index`, or the full
   sizes for rate_index = -1. Errors: UNIQL_ERR_RANGE (no such table), UNIQL_ERR_FORMAT. */
UNIQLDEF uniql_result uniql_packed_kept(const uniql_packed *p, int rate_index, uniql_kept *kept,
                                        uniql_error *err);
/* Per-layer importance "block_influence" or "lsaq" (n_layers doubles).
   UNIQL_ERR_MISSING if the file has none. */
UNIQLDEF uniql_result uniql_packed_importance(const uniql_packed *p, const char *which, double *out,
                                              uniql_error *err);

/* Build a runnable model from an open packed file: `kept` (n_layers entries, NULL = full)
   selects the pruning, `bits` (n_layers entries of 4 or 8, NULL = all 4) the layers
   loaded from their "@8" copies (a layer without a copy stays at its base width). Every
   weight matrix is a view into the file buffer. The model owns only its layer table,
   gathered vectors and RoPE lists (uniql_model_free); p and its buffer must outlive it.
   Errors: those of uniql_config_parse, UNIQL_ERR_MISSING (a tensor), UNIQL_ERR_SHAPE
   (tensor shapes vs config, kept sizes out of range), UNIQL_ERR_UNSUPPORTED (pruning a
   dimension the stored layout cannot cut as a prefix: o/down/out_proj not transposed,
   q/k without rope_pairs), UNIQL_ERR_OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_packed_model_load(const uniql_packed *p, const uniql_kept *kept, const int *bits,
                                              void *alloc_user, uniql_model **out, uniql_error *err);

/* Bytes of weights a model references: for every matrix view, its storage rows x (row
   bytes + scale and zero bytes), each distinct view counted once (tied lm_head once),
   plus every fp32 vector. This is the resident weight memory of a model loaded from a
   .uniql file (the bytes of the file it touches). */
UNIQLDEF uint64_t uniql_model_weight_bytes(const uniql_model *m);

/* Memory-budget selection: the lowest-rate table (the largest kept model) whose
   all-base-width weight bytes fit `budget`. *rate_index = -1 means the full model fits
   (it is tried first). Errors: UNIQL_ERR_BUDGET if even the highest rate does not fit
   (*rate_index is then the highest rate and *bytes its size), errors of the loader. */
UNIQLDEF uniql_result uniql_packed_select_rate(const uniql_packed *p, uint64_t budget, void *alloc_user,
                                               int *rate_index, uint64_t *bytes, uniql_error *err);

/* LSAQ plan for a kept configuration: the widths {4, 8} per layer from the stored
   importance `which` ("lsaq" or "block_influence") within `budget` bytes of weights
   (uniql_lsaq_plan with the exact per-layer sizes of both copies at these kept sizes).
   bits: n_layers ints; *total: bytes of the planned model. Errors: those of
   uniql_lsaq_plan (UNIQL_ERR_BUDGET when even all-4-bit does not fit),
   uniql_packed_importance, the loader. */
UNIQLDEF uniql_result uniql_packed_plan_bits(const uniql_packed *p, const uniql_kept *kept, const char *which,
                                             uint64_t budget, void *alloc_user, int *bits, uint64_t *total,
                                             uniql_error *err);

/* Quantize every weight matrix of a model for packing (SPEC 1 step 5): layer matrices to
   group int4 (Q4, or Q4Z if asymmetric; bits = 8: Q8), the embedding and lm_head to Q8
   (embed_bits 8, the default) or Q4. Quantization runs along storage rows (API 3), so a
   transposed (input-pruned) matrix keeps whole groups under every prefix. The group of a
   matrix is `group` (0: 128) halved while it does not divide the storage-row length
   (down to 32; a length no group divides gets a partial last group). Zero means default
   for every field. */
typedef struct uniql_pack_quant_options {
    int bits;                   /* layer matrices: 4 (default) or 8 */
    int asymmetric;             /* 4-bit: Q4Z (scale + zero point) instead of Q4 */
    int group;                  /* 32, 64, 128 (0: 128) */
    int embed_bits;             /* embed / lm_head: 8 (default) or 4 */
    int clip;                   /* per-group clip search (uniql_quant_desc.clip) */
    void *alloc_user;
    const uniql_parallel *parallel;  /* threads (API 2b) for each matrix; same bytes for any count */
} uniql_pack_quant_options;

/* A new model whose weight matrices are quantized copies of m's (any dtype and layout
   in: each is dequantized, then quantized with the same orientation). The new model owns
   the quantized buffers and its layer table; its fp32 vectors and rope_pairs point into
   `m`, which must outlive it. Release with uniql_model_free. Errors: INVALID_ARG (NULL,
   bits not 4/8, group not 0/32/64/128), those of uniql_quantize (NONFINITE, RANGE),
   OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_pack_quantize_model(const uniql_model *m, const uniql_pack_quant_options *opt,
                                                uniql_model **out, uniql_error *err);


/* =====================================================================================
   API 9b. Recovery (UniQL step 4): a sorted model for a trainer, order files, and the
           same order re-applied to the fine-tuned checkpoint
   ===================================================================================== */

/* The paper's step 4 fine-tunes the SORTED model with masked LoRA (each training step
   keeps the kept prefixes of one stored rate table and masks the rest to zero), merges
   the LoRA deltas into the weights, and packs the result with the SAME order and rate
   tables, so that one .uniql file is good at every rate. The training itself runs in
   PyTorch (tools/train/recover.py); this section is the C side of the hand-over:

     uniql_export_hf          a sorted model -> one safetensors file in Hugging Face layout
                              (the architecture's tensor names and shapes, so the trainer
                              loads it with the original config.json)
     uniql_order_write        the order file: what that layout cannot hold (the RoPE pair
                              rankings) plus every rate table and the layer importance
     uniql_order_parse        its strict reader (untrusted input)
     uniql_apply_order        a checkpoint in that layout (the fine-tuned one) + its order
                              file -> the sorted model again: no calibration, no scores
     uniql_safetensors_write  the writer behind the export (any F32/F16/BF16 tensors)

   WHAT THE HF LAYOUT HOLDS. The sorted model (uniql_sort_model) is the original function
   with permuted channels and, for V/O, another basis; all of it but one piece is ordinary
   weights, and every mask is a prefix:
     MLP        gate/up rows and down_proj columns in sorted order: at kept size d_int the
                first d_int intermediate channels are kept.
     Mamba2     rows z and x of in_proj, the conv1d x channels, the gated-norm weight and
                out_proj's columns sorted within each head; rows B and C and their conv1d
                channels sorted within each group: the first head_dim channels of every
                head and the first `state` dims of every group are kept.
     V/O        the QA-SVD basis (v_proj rows, o_proj columns of each head): the first v_dim
                dims of every head. A v_proj bias was folded into o_proj's bias by the
                sorting (Llama with attention_bias: written as o_proj.bias, with v_proj.bias
                written as zeros; Qwen2 has no o_proj bias in HF: UNIQL_ERR_UNSUPPORTED
                unless sorted with no_vo).
     Q/K, no RoPE (Nemotron-H): dims permuted within each head: the first qk_dim dims.
     Q/K with RoPE: this is the piece the layout cannot hold. HF rotates dims (i, i + hd/2)
                of a head by frequency i (rotate_half), so a reordering of pairs cannot be
                written as weights. q/k are therefore exported in their ORIGINAL order and
                the order file carries, per layer and KV head, the ranking p_0, p_1, ... of
                the head_dim/2 pairs (original frequency indices, most important first). At
                kept size qk_dim, KV head g and every query head of g keep the pair set
                {p_0, ..., p_(qk_dim/2 - 1)} of g's ranking, i.e. dims i and i + hd/2 for
                each kept i (so the sets of the stored rates are nested). The attention
                scale stays 1/sqrt(head_dim) of the full model.
   A masked forward of the exported model (every dim outside the kept sets multiplied by
   zero before use; Mamba's gated RMSNorm averaging over the kept channels of each norm
   group only) equals the pruned model of uniql_model_prune at the same kept sizes:
   tests/test_recover.c checks this against PyTorch output (tools/train/recover.py).

   ---- Order file, version 1: JSON text (UTF-8, strict as uniql_json_parse) ----
     {"format": "uniql-order", "version": 1,
      "model": {"model_type": "llama"|"qwen2"|"mamba2"|"nemotron_h", "n_layers": L,
                "blocks": "<one character per layer: D decoder, M Mamba2, * attention,
                           - MLP>", "hidden_size": .., "n_heads": .., "n_kv_heads": ..,
                "head_dim": .., "rope": 0|1, "intermediate_size": .., "ssm_heads": ..,
                "ssm_head_dim": .., "ssm_state": .., "ssm_groups": ..},
      "rope_pairs": [ one entry per layer: null, or (layers with RoPE attention) an array
                      of n_kv_heads arrays, each a permutation of 0 .. head_dim/2 - 1 ],
      "rates": [r_0, r_1, ...]      global pruning rates, strictly ascending in [0, 1),
                                    1 .. UNIQL_PACK_MAX_RATES of them,
      "kept": [ per rate: [ per layer: [qk_dim, v_dim, d_int, head_dim, state] ] ]
              (uniql_kept; 0 in the fields of parts the layer does not have),
      "block_influence": [L numbers], "lsaq": [L numbers]    (both optional)}
   "model" is the fingerprint of the checkpoint the order belongs to: its values are those
   of uniql_config (0 where an architecture has no such part). The reader checks, each
   failure with its code and a message naming the key, layer or rate:
     text longer than UNIQL_ORDER_MAX_BYTES ............. UNIQL_ERR_FORMAT
     not JSON ........................................... UNIQL_ERR_PARSE (RANGE: a number
                                                          outside the double range)
     not an object, "format" not "uniql-order", an
       unknown or ill-typed key, rope_pairs null where a
       layer has RoPE attention or a list where it has
       none, a list of the wrong length or not a
       permutation, rates not strictly ascending in
       [0, 1) or more than UNIQL_PACK_MAX_RATES, "kept"
       not one table of L rows per rate, importance not
       L finite numbers ................................... UNIQL_ERR_FORMAT
     "version" other than 1 ............................. UNIQL_ERR_VERSION
     a required key absent .............................. UNIQL_ERR_MISSING
     "model" inconsistent (blocks not L characters, sizes
       out of range) or other than the config given ....... UNIQL_ERR_SHAPE
     kept sizes outside [1, full] for the parts a layer
       has, non-zero for parts it lacks, odd qk_dim with
       RoPE, Mamba channels not splitting into the
       gated-norm groups ................................. UNIQL_ERR_SHAPE */
#define UNIQL_ORDER_VERSION 1
#define UNIQL_ORDER_MAX_BYTES (64u << 20)

typedef struct uniql_order {
    int n_layers, n_rates;
    int n_kv_heads, head_dim;               /* rope_pairs lists: n_kv_heads x head_dim/2 */
    double rates[UNIQL_PACK_MAX_RATES];
    const uniql_kept *kept;                 /* n_rates x n_layers, rate-major */
    const int *const *rope_pairs;           /* n_layers entries: NULL, or n_kv_heads rankings
                                               of head_dim/2 pair indices, back to back */
    const double *block_influence, *lsaq;   /* n_layers each, or NULL */
    uniql_config config;                    /* the fingerprint as a config (sizes, blocks,
                                               rope != 0; other fields zero) */
    void *mem;                              /* owns everything above */
    void *alloc_user;
} uniql_order;

/* The order file of a sorted model `m` (from uniql_sort_model, unpruned; for a layer with
   RoPE attention but no rope_pairs the identity ranking 0, 1, ... is written, which is
   what pruning a rotate_half model keeps), with n_rates rate tables (rates strictly
   ascending in [0, 1), kept: n_rates x n_layers as uniql_kept_from_rates gives them; the
   fields of parts a layer lacks are written as 0) and the optional per-layer importance.
   *out (NUL-terminated text, *out_len bytes without the NUL) comes from
   UNIQL_MALLOC(alloc_user): release it with uniql_free_buffer. It parses back with
   uniql_order_parse. Errors: UNIQL_ERR_INVALID_ARG (NULL, n_rates outside
   1..UNIQL_PACK_MAX_RATES, rates not ascending, m pruned), UNIQL_ERR_SHAPE (kept sizes
   outside the config), UNIQL_ERR_NONFINITE (importance), UNIQL_ERR_OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_order_write(const uniql_model *m, int n_rates, const double *rates, const uniql_kept *kept,
                                        const double *block_influence, const double *lsaq, void *alloc_user,
                                        char **out, size_t *out_len, uniql_error *err);

/* Parse and validate an order file (`len` bytes of `text`). `cfg` (may be NULL) is the
   config of the checkpoint it will be applied to: then "model" must match it. On success
   `o` owns one allocation (release with uniql_order_free); on error `o` is zeroed.
   Errors: the table above, UNIQL_ERR_INVALID_ARG, UNIQL_ERR_OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_order_parse(const char *text, size_t len, const uniql_config *cfg, void *alloc_user,
                                        uniql_order *o, uniql_error *err);
/* Release what uniql_order_parse allocated (NULL or zeroed is fine). */
UNIQLDEF void uniql_order_free(uniql_order *o);
/* 1 if the order's fingerprint is `cfg` (arch, block types, every size), else 0. */
UNIQLDEF int uniql_order_matches(const uniql_order *o, const uniql_config *cfg);

/* The sorted model that an order describes, from a checkpoint `m` in the exported layout
   (uniql_export_hf's output, or that model after fine-tuning; loaded as usual, unpruned,
   rotate_half q/k): for every layer with a ranking, q/k rows (and biases) are gathered
   into the kept-pairs layout of API 6 with rope_pairs = the ranking, exactly as
   uniql_sort_model stores them; everything else is taken as it is (it is already in
   sorted order). layout UNIQL_LAYOUT_PRUNABLE stores o/down/out_proj transposed, as the
   sorting does. The result owns fp32 copies of every weight (alloc_user) and can be
   quantized, pruned and packed like uniql_sort_model's output, with the order's rate
   tables (o->kept). Applied to the export of a sorted model it gives that model back
   bit for bit. Errors: UNIQL_ERR_INVALID_ARG (NULL, bad layout), UNIQL_ERR_SHAPE (the
   order belongs to another architecture or size), UNIQL_ERR_UNSUPPORTED (m pruned or
   already in the kept-pairs layout), UNIQL_ERR_OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_apply_order(const uniql_model *m, const uniql_order *o, uniql_layout layout,
                                        void *alloc_user, uniql_model **out, uniql_error *err);

/* One tensor for uniql_safetensors_write: `ndim` dims (1 .. UNIQL_MAX_DIMS, each >= 1),
   row-major fp32 values (converted to the file's dtype when written). */
typedef struct uniql_safetensors_input {
    const char *name;
    int ndim;
    int64_t shape[UNIQL_MAX_DIMS];
    const float *data;
} uniql_safetensors_input;

/* A safetensors image (the layout of API 5; header {"__metadata__": {"format": "pt"},
   then the tensors in strcmp order of their names, data back to back in that order,
   header padded with spaces to a multiple of 8 bytes) with every tensor stored as
   `dtype` (F32, F16 or BF16; fp32 -> half rounds to nearest even, as API 2). *out from
   UNIQL_MALLOC(alloc_user), release with uniql_free_buffer. Parses back with
   uniql_safetensors_parse. Errors: UNIQL_ERR_INVALID_ARG (NULL, n < 1, empty, duplicate,
   non-UTF-8 or "__metadata__" names, bad ndim or dims), UNIQL_ERR_DTYPE, UNIQL_ERR_OVERFLOW,
   UNIQL_ERR_OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_safetensors_write(const uniql_safetensors_input *t, int n, uniql_dtype dtype,
                                              void *alloc_user, void **out, size_t *out_size, uniql_error *err);

/* The weights of model `m` as one safetensors file in the Hugging Face layout of its
   architecture (tensor names as transformers 5.17 saves them: "model." for Llama/Qwen2,
   "backbone." for Mamba2 / Nemotron-H; in_proj and conv1d of Mamba2 re-concatenated
   [z | x | B | C | dt] / [x | B | C]; lm_head only when not the embedding; transposed
   matrices written row-major; q/k of a kept-pairs layout written back in rotate_half
   order), every tensor as `dtype` (F32 keeps every fp32 weight exactly). Quantized
   weights are written dequantized. Write it next to the model's original config.json:
   the sizes are unchanged. `m` must be unpruned. Errors: UNIQL_ERR_INVALID_ARG (NULL, m
   pruned), UNIQL_ERR_UNSUPPORTED (a bias the HF layout has no place for, e.g. a folded
   o_proj bias in Qwen2 or any bias in a Nemotron-H attention block; rope_pairs that are
   not a permutation), those of uniql_safetensors_write. */
UNIQLDEF uniql_result uniql_export_hf(const uniql_model *m, uniql_dtype dtype, void *alloc_user, void **out,
                                      size_t *out_size, uniql_error *err);

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
   IMPL 2b. Threads: the caller's parallel-for
   ===================================================================================== */

UNIQLDEF int uniql_parallel_workers(const uniql_parallel *p)
{
    return p && p->run && p->n_workers > 1 ? p->n_workers : 1;
}

UNIQLDEF void uniql_parallel_for(const uniql_parallel *p, int n_jobs, uniql_job_fn fn, void *ctx)
{
    int i;
    if (n_jobs <= 0 || !fn) return;
    if (!p || !p->run || n_jobs == 1) {
        for (i = 0; i < n_jobs; i++) fn(ctx, i, 0);
        return;
    }
    p->run(p->user, n_jobs, fn, ctx);
}

/* =====================================================================================
   IMPL 3. Matrix views and matmul dispatch
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

static int uniql__is_quant(uniql_dtype t) { return t == UNIQL_DTYPE_Q4 || t == UNIQL_DTYPE_Q4Z || t == UNIQL_DTYPE_Q8; }
static int uniql__is_q4(uniql_dtype t) { return t == UNIQL_DTYPE_Q4 || t == UNIQL_DTYPE_Q4Z; }

UNIQLDEF int uniql_matrix_storage_rows(const uniql_matrix *m)
{
    return m ? (m->transposed ? m->cols : m->rows) : 0;
}

/* physical storage row of logical storage row i (blocks map i to (i/block)*stride + i%block) */
static size_t uniql__phys(const uniql_matrix *m, int i)
{
    return m->block > 0 ? (size_t)(i / m->block) * (size_t)m->block_stride + (size_t)(i % m->block) : (size_t)i;
}

/* The checks every consumer of a view makes: known dtype, sane sizes, the side arrays a
   quantized type needs. */
static uniql_result uniql__check_view(const uniql_matrix *m)
{
    if (!m || m->rows < 0 || m->cols < 0) return UNIQL_ERR_INVALID_ARG;
    if ((unsigned)m->dtype > (unsigned)UNIQL_DTYPE_Q8) return UNIQL_ERR_DTYPE;
    if (m->block < 0 || (m->block > 0 && m->block_stride < m->block)) return UNIQL_ERR_SHAPE;
    if (m->rows == 0 || m->cols == 0) return UNIQL_OK;
    if (!m->data) return UNIQL_ERR_INVALID_ARG;
    if (uniql__is_quant(m->dtype) && !m->scales) return UNIQL_ERR_INVALID_ARG;
    if (m->dtype == UNIQL_DTYPE_Q4Z && !m->zeros) return UNIQL_ERR_INVALID_ARG;
    if (uniql__is_q4(m->dtype) && (m->group <= 0 || m->group % 32)) return UNIQL_ERR_SHAPE;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_matrix_slice(const uniql_matrix *m, int row0, int rows, int cols,
                                         uniql_matrix *out)
{
    uniql_matrix v;
    if (!m || !out) return UNIQL_ERR_INVALID_ARG;
    if (row0 < 0 || rows < 0 || cols < 0 || row0 > m->rows || rows > m->rows - row0 || cols > m->cols)
        return UNIQL_ERR_SHAPE;
    v = *m;
    v.rows = rows;
    v.cols = cols;
    if (!m->transposed) {
        /* row0 whole storage rows further (whole blocks of them for a blocked view) */
        size_t p;
        if (m->block > 0 && row0 % m->block) return UNIQL_ERR_SHAPE;
        p = uniql__phys(m, row0);
        v.data = (const unsigned char *)m->data + p * m->stride;
        if (m->scales) v.scales = m->scales + p * m->scale_stride;
        if (m->zeros) v.zeros = m->zeros + p * m->scale_stride;
    } else if (row0 > 0) {
        /* an offset inside every storage row */
        switch (m->dtype) {
        case UNIQL_DTYPE_F32: v.data = (const float *)m->data + row0; break;
        case UNIQL_DTYPE_F16: case UNIQL_DTYPE_BF16: v.data = (const uint16_t *)m->data + row0; break;
        case UNIQL_DTYPE_Q8: v.data = (const int8_t *)m->data + row0;
            if (row0 % 32) return UNIQL_ERR_SHAPE; /* keep 32-blocks aligned for the kernels */
            break;
        case UNIQL_DTYPE_Q4: case UNIQL_DTYPE_Q4Z:
            if (m->group <= 0 || m->group % 32 || row0 % m->group) return UNIQL_ERR_SHAPE;
            v.data = (const unsigned char *)m->data + (size_t)row0 / 2;
            if (m->scales) v.scales = m->scales + row0 / m->group;
            if (m->zeros) v.zeros = m->zeros + row0 / m->group;
            break;
        default: return UNIQL_ERR_DTYPE;
        }
    }
    *out = v;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_matrix_prefix(const uniql_matrix *m, int rows, int cols, uniql_matrix *out)
{
    if (!m || !out) return UNIQL_ERR_INVALID_ARG;
    if (rows < 0 || cols < 0 || rows > m->rows || cols > m->cols) return UNIQL_ERR_SHAPE;
    *out = *m;
    out->rows = rows;
    out->cols = cols;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_matrix_block_prefix(const uniql_matrix *m, int block, int keep,
                                                uniql_matrix *out)
{
    int S, nS;
    uniql_matrix v;
    if (!m || !out) return UNIQL_ERR_INVALID_ARG;
    S = uniql_matrix_storage_rows(m);
    if (block <= 0 || keep < 0 || keep > block || S % block) return UNIQL_ERR_SHAPE;
    if (m->block > 0 && m->block != block) return UNIQL_ERR_UNSUPPORTED;
    v = *m;
    if (m->block <= 0) v.block_stride = block;
    v.block = keep;
    nS = S / block * keep;
    if (m->transposed) v.cols = nS; else v.rows = nS;
    if (keep == 0) v.block = 0, v.block_stride = 0; /* empty view: no mapping needed */
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

/* Element e of logical storage row s, decoded exactly (the ground truth of every layout;
   the kernels below must agree with it). */
static float uniql__elem(const uniql_matrix *m, int s, int e)
{
    size_t p = uniql__phys(m, s);
    const unsigned char *row = (const unsigned char *)m->data + p * m->stride;
    switch (m->dtype) {
    case UNIQL_DTYPE_F32: { float f; memcpy(&f, row + (size_t)e * 4, 4); return f; }
    case UNIQL_DTYPE_F16: { uint16_t h; memcpy(&h, row + (size_t)e * 2, 2); return uniql_fp16_to_fp32(h); }
    case UNIQL_DTYPE_BF16: { uint16_t h; memcpy(&h, row + (size_t)e * 2, 2); return uniql_bf16_to_fp32(h); }
    case UNIQL_DTYPE_Q4: case UNIQL_DTYPE_Q4Z: {
        int j = e & 31, by = row[(size_t)(e >> 5) * 16 + (j & 15)];
        int nib = j < 16 ? by & 15 : by >> 4, g = e / m->group;
        float s16 = uniql_fp16_to_fp32(m->scales[p * m->scale_stride + (size_t)g]);
        int q = m->dtype == UNIQL_DTYPE_Q4 ? (nib ^ 8) - 8 : nib - (int)m->zeros[p * m->scale_stride + (size_t)g];
        return (float)q * s16;
    }
    case UNIQL_DTYPE_Q8:
        return (float)(int8_t)row[e] * uniql_fp16_to_fp32(m->scales[p * m->scale_stride]);
    }
    return 0.0f;
}

/* ---- kernel table: one scalar reference and its SIMD twins (IMPL 4) share these
   signatures. A "row" is one storage row; quantized kernels see whole 32-blocks only
   (the dispatcher hands the last, partial block over through zero-padded copies). ---- */

typedef struct uniql__qk {
    uniql_dtype dtype;
    int gb;                  /* 32-blocks per group (Q4/Q4Z); 0 for Q8 (one scale) */
    const uint16_t *sc;      /* scales of this storage row */
    const uint8_t *zp;       /* zero points of this storage row (Q4Z) */
} uniql__qk;

/* float dtypes: out[t] = sum_{e<L} w[e] * X[t*ldx + e], t < nt */
typedef void (*uniql__fdot_fn)(uniql_dtype dt, const unsigned char *row, int L, const float *X, size_t ldx, int nt, float *out);
/* float dtypes: Y[t*ldy + e] += coef[t] * w[e] */
typedef void (*uniql__faxpy_fn)(uniql_dtype dt, const unsigned char *row, int L, const float *coef, float *Y, size_t ldy, int nt);
/* quantized, fp32 activations: out[t] += sum over blocks [b0, b0+nb) (data = first block,
   X = activations of block b0) */
typedef void (*uniql__qdot_fn)(const uniql__qk *k, int b0, int nb, const unsigned char *data, const float *X, size_t ldx, int nt, float *out);
/* quantized, transposed: Y[t*ldy + 32(b-b0) + j] += coef[t] * w */
typedef void (*uniql__qaxpy_fn)(const uniql__qk *k, int b0, int nb, const unsigned char *data, const float *coef, float *Y, size_t ldy, int nt);
/* quantized, int8 activations: out[t] += sum over blocks [b0, b0+nb), b0 even; xa = the
   activation records (uniql__quant_act) of the pair holding block b0, lda bytes between
   tokens */
typedef void (*uniql__qdot8_fn)(const uniql__qk *k, int b0, int nb, const unsigned char *data, const unsigned char *xa,
                                size_t lda, int nt, float *out);

/* optional: two storage rows of one Q4/Q4Z view against one token (the decode GEMV), the
   same arithmetic per row as qdot8; NULL where a kernel set has none */
typedef void (*uniql__q4x2_fn)(const uniql__qk *k0, const uniql__qk *k1, int b0, int nb, const unsigned char *d0,
                               const unsigned char *d1, const unsigned char *xa, size_t pfd, float *out0, float *out1);

typedef struct uniql__kernels {
    uniql__q4x2_fn q4x2;
    uniql__fdot_fn fdot;
    uniql__faxpy_fn faxpy;
    uniql__qdot_fn qdot;
    uniql__qaxpy_fn qaxpy;
    uniql__qdot8_fn qdot8;
} uniql__kernels;

static int uniql__kernels_for(int isa, uniql__kernels *k); /* IMPL 4 */
static int uniql__isa_resolve(int kernel);                  /* IMPL 4: 0 = unavailable */
static void uniql__quant_act(const float *x, int len, int nb, unsigned char *xa); /* IMPL 4 */

#define UNIQL__NT 4            /* tokens that share one decoded weight block */
#define UNIQL__XA_BYTES 32768  /* activation records of the I8ACT path (stack): 128 B per block pair */

static size_t uniql__block_bytes(uniql_dtype t) { return t == UNIQL_DTYPE_Q8 ? 32 : 16; }

static void uniql__qk_row(const uniql_matrix *W, size_t p, uniql__qk *k)
{
    k->dtype = W->dtype;
    k->gb = W->dtype == UNIQL_DTYPE_Q8 ? 0 : W->group / 32;
    k->sc = W->scales + p * W->scale_stride;
    k->zp = W->zeros ? W->zeros + p * W->scale_stride : NULL;
}

/* copy the valid bytes of the partial last block (t < 32 elements) into a zeroed block */
static void uniql__tail_block(uniql_dtype dt, const unsigned char *blk, int t, unsigned char *tmp)
{
    memset(tmp, 0, 32);
    memcpy(tmp, blk, dt == UNIQL_DTYPE_Q8 ? (size_t)t : (size_t)(t < 16 ? t : 16));
}

static int uniql__kernel_ok(int kernel)
{
    int isa = kernel & ~(int)UNIQL_KERNEL_I8ACT;
    return isa >= UNIQL_KERNEL_AUTO && isa <= UNIQL_KERNEL_NEON && (kernel & ~(int)UNIQL_KERNEL_I8ACT & ~3) == 0;
}

UNIQLDEF int uniql_kernel_available(int kernel)
{
    return uniql__kernel_ok(kernel) && uniql__isa_resolve(kernel) != 0;
}

/* Rows [r0, r1) of Y = W X for a row-stored W, fp32 activations. */
static void uniql__matmul_rows(const uniql_matrix *W, const uniql__kernels *K, const float *X, int n, size_t ldx,
                               float *Y, size_t ldy, int r0, int r1)
{
    int L = W->cols, nbf = L / 32, tl = L % 32, t0, r, t;
    int quant = uniql__is_quant(W->dtype);
    size_t bb = uniql__block_bytes(W->dtype);
    for (t0 = 0; t0 < n; t0 += UNIQL__NT) {
        int nt = n - t0 < UNIQL__NT ? n - t0 : UNIQL__NT;
        const float *Xt = X + (size_t)t0 * ldx;
        float xt[UNIQL__NT * 32];
        if (quant && tl) { /* zero-padded activations of the partial last block */
            memset(xt, 0, sizeof xt);
            for (t = 0; t < nt; t++) memcpy(xt + t * 32, Xt + (size_t)t * ldx + (size_t)nbf * 32, sizeof(float) * (size_t)tl);
        }
        for (r = r0; r < r1; r++) {
            size_t p = uniql__phys(W, r);
            const unsigned char *row = (const unsigned char *)W->data + p * W->stride;
            float out[UNIQL__NT] = { 0, 0, 0, 0 };
            if (!quant) {
                K->fdot(W->dtype, row, L, Xt, ldx, nt, out);
            } else {
                uniql__qk k;
                uniql__qk_row(W, p, &k);
                if (nbf) K->qdot(&k, 0, nbf, row, Xt, ldx, nt, out);
                if (tl) {
                    unsigned char tmp[32];
                    uniql__tail_block(W->dtype, row + (size_t)nbf * bb, tl, tmp);
                    K->qdot(&k, nbf, 1, tmp, xt, 32, nt, out);
                }
            }
            for (t = 0; t < nt; t++) Y[(size_t)(t0 + t) * ldy + r] = out[t];
        }
    }
}

/* I8ACT. The activation records of a token are one array of ceil(nb / 2) pair records
   (128 B each, uniql__quant_act); the dot products run in column chunks of
   UNIQL__I8_CHUNK block pairs, chunk partial sums added into Y in chunk order. The chunk
   is fixed (not a function of the token count or of the scratch), so a token gets the
   same bits in a GEMV, in a prefill tile and from any thread split. */
#define UNIQL__I8_CHUNK 64    /* block pairs = 4096 columns; 4 tokens x 64 x 128 B = UNIQL__XA_BYTES */

/* Quantize tokens [0, nt) of X (columns [32 c0, 32 (c0 + cn)) of each, clipped to L) into
   records at xa, lda bytes apart. UNIQL_ERR_NONFINITE on NaN/Inf. */
static uniql_result uniql__i8_quant(const float *X, size_t ldx, int nt, int L, int c0, int cn, unsigned char *xa, size_t lda)
{
    int t, b;
    for (t = 0; t < nt; t++) {
        const float *x = X + (size_t)t * ldx + (size_t)c0 * 32;
        int len = L - c0 * 32 < cn * 32 ? L - c0 * 32 : cn * 32;
        for (b = 0; b < len; b++)
            if (!(fabsf(x[b]) <= 3.4028235e38f)) return UNIQL_ERR_NONFINITE;
        uniql__quant_act(x, len, cn, xa + (size_t)t * lda);
    }
    return UNIQL_OK;
}

/* Rows [r0, r1), tokens [t0, t0 + nt) (nt <= 4), column chunk starting at block c0 with
   cn blocks; xa = records of token t0 for that chunk (lda bytes between tokens). */
static void uniql__i8_rows(const uniql_matrix *W, const uniql__kernels *K, const unsigned char *xa, size_t lda, int t0,
                           int nt, int c0, int cn, float *Y, size_t ldy, int r0, int r1)
{
    int L = W->cols, nbf = L / 32, tl = L % 32, nb = nbf + (tl != 0), r, t;
    int fp = c0 + (cn - 1) / 2 * 2;  /* first block of the chunk's last pair */
    int tail = tl && c0 + cn == nb;  /* the partial last block is in this chunk */
    size_t bb = uniql__block_bytes(W->dtype);
    for (r = r0; r < r1; r++) {
        size_t p = uniql__phys(W, r);
        const unsigned char *row = (const unsigned char *)W->data + p * W->stride;
        float out[UNIQL__NT] = { 0, 0, 0, 0 };
        uniql__qk k;
        uniql__qk_row(W, p, &k);
        if (nt == 1 && !tail && K->q4x2 && uniql__is_q4(W->dtype) && k.gb % 2 == 0 && r + 1 < r1) {
            /* two rows share every activation load (same arithmetic per row as qdot8) */
            size_t p1 = uniql__phys(W, r + 1);
            float out1 = 0;
            uniql__qk k1;
            uniql__qk_row(W, p1, &k1);
            K->q4x2(&k, &k1, c0, cn, row + (size_t)c0 * bb, (const unsigned char *)W->data + p1 * W->stride + (size_t)c0 * bb,
                    xa, 2 * W->stride, out, &out1);
            Y[(size_t)t0 * ldy + r] = c0 == 0 ? out[0] : Y[(size_t)t0 * ldy + r] + out[0];
            r++;
            Y[(size_t)t0 * ldy + r] = c0 == 0 ? out1 : Y[(size_t)t0 * ldy + r] + out1;
            continue;
        }
        if (!tail) {
            K->qdot8(&k, c0, cn, row + (size_t)c0 * bb, xa, lda, nt, out);
        } else {
            /* whole pairs from the row, the last pair (1 or 2 blocks, the last one
               partial) from a zero-padded copy */
            unsigned char tmp[64];
            memset(tmp, 0, sizeof tmp);
            if (fp > c0) K->qdot8(&k, c0, fp - c0, row + (size_t)c0 * bb, xa, lda, nt, out);
            if (fp < nbf) memcpy(tmp, row + (size_t)fp * bb, bb);
            uniql__tail_block(W->dtype, row + (size_t)nbf * bb, tl, tmp + (size_t)(nbf - fp) * bb);
            K->qdot8(&k, fp, nb - fp, tmp, xa + (size_t)(fp - c0) / 2 * 128, lda, nt, out);
        }
        for (t = 0; t < nt; t++) {
            float *y = Y + (size_t)(t0 + t) * ldy + r;
            *y = c0 == 0 ? out[t] : *y + out[t];
        }
    }
}

/* Output elements [e0, e1) (e0 a multiple of 32, e1 = L or a multiple of 32) of Y = W X
   for a transposed W (storage rows = inputs): Y is accumulated over the storage rows in
   order, so every element gets the same sum whatever range computes it. */
static void uniql__matmul_cols(const uniql_matrix *W, const uniql__kernels *K, const float *X, int n, size_t ldx,
                               float *Y, size_t ldy, int e0, int e1)
{
    int L = W->rows, nbf = L / 32, tl = L % 32, t0, c, t;
    int quant = uniql__is_quant(W->dtype), b0 = e0 / 32, b1 = e1 < nbf * 32 ? e1 / 32 : nbf;
    int has_tail = tl && e1 == L;
    size_t bb = uniql__block_bytes(W->dtype), es = quant ? 0 : uniql__dtype_row_bytes(W->dtype, 1);
    for (t = 0; t < n; t++) memset(Y + (size_t)t * ldy + e0, 0, sizeof(float) * (size_t)(e1 - e0));
    for (t0 = 0; t0 < n; t0 += UNIQL__NT) {
        int nt = n - t0 < UNIQL__NT ? n - t0 : UNIQL__NT;
        float *Yt = Y + (size_t)t0 * ldy;
        for (c = 0; c < W->cols; c++) {
            size_t p = uniql__phys(W, c);
            const unsigned char *row = (const unsigned char *)W->data + p * W->stride;
            float coef[UNIQL__NT] = { 0, 0, 0, 0 };
            for (t = 0; t < nt; t++) coef[t] = X[(size_t)(t0 + t) * ldx + c];
            if (!quant) {
                K->faxpy(W->dtype, row + (size_t)e0 * es, e1 - e0, coef, Yt + e0, ldy, nt);
            } else {
                uniql__qk k;
                uniql__qk_row(W, p, &k);
                if (b1 > b0) K->qaxpy(&k, b0, b1 - b0, row + (size_t)b0 * bb, coef, Yt + (size_t)b0 * 32, ldy, nt);
                if (has_tail) {
                    unsigned char tmp[32];
                    float yt[UNIQL__NT * 32];
                    int j;
                    memset(yt, 0, sizeof yt);
                    uniql__tail_block(W->dtype, row + (size_t)nbf * bb, tl, tmp);
                    K->qaxpy(&k, nbf, 1, tmp, coef, yt, 32, nt);
                    for (t = 0; t < nt; t++)
                        for (j = 0; j < tl; j++) Yt[(size_t)t * ldy + (size_t)nbf * 32 + j] += yt[t * 32 + j];
                }
            }
        }
    }
}

/* ---- the job split (fixed by the shape of W, never by the thread count) ---- */

/* rows per job of a row-stored W: about 32 KB of weights, an even number (the two-row
   decode kernel pairs rows r, r + 1 from r0) */
static int uniql__rows_per_job(const uniql_matrix *W)
{
    size_t rb = uniql__block_bytes(W->dtype) * (size_t)((W->cols + 31) / 32);
    size_t r;
    if (!uniql__is_quant(W->dtype)) rb = uniql__dtype_row_bytes(W->dtype, W->cols);
    r = rb ? (size_t)32768 / rb : 64;
    if (r < 8) r = 8;
    if (r > 256) r = 256;
    return (int)(r & ~(size_t)1);
}

typedef struct uniql__mm_job {
    const uniql_matrix *W;
    const uniql__kernels *K;
    const float *X;
    int n;
    size_t ldx;
    float *Y;
    size_t ldy;
    int per_job;             /* rows (row storage) or output elements (transposed) per job */
    /* I8ACT */
    const unsigned char *xa;
    size_t lda;              /* bytes between the records of consecutive tokens */
    int all_tokens;          /* xa holds every token and every chunk (else: one tile, one chunk) */
    int t0, nt, c0, cn;      /* the tile / chunk when !all_tokens */
} uniql__mm_job;

static void uniql__mm_rows_job(void *ctx, int job, int worker)
{
    const uniql__mm_job *j = (const uniql__mm_job *)ctx;
    int r0 = job * j->per_job, r1 = r0 + j->per_job < j->W->rows ? r0 + j->per_job : j->W->rows;
    (void)worker;
    uniql__matmul_rows(j->W, j->K, j->X, j->n, j->ldx, j->Y, j->ldy, r0, r1);
}

static void uniql__mm_cols_job(void *ctx, int job, int worker)
{
    const uniql__mm_job *j = (const uniql__mm_job *)ctx;
    int e0 = job * j->per_job, e1 = e0 + j->per_job < j->W->rows ? e0 + j->per_job : j->W->rows;
    (void)worker;
    uniql__matmul_cols(j->W, j->K, j->X, j->n, j->ldx, j->Y, j->ldy, e0, e1);
}

static void uniql__mm_i8_job(void *ctx, int job, int worker)
{
    const uniql__mm_job *j = (const uniql__mm_job *)ctx;
    int r0 = job * j->per_job, r1 = r0 + j->per_job < j->W->rows ? r0 + j->per_job : j->W->rows;
    int nb = (j->W->cols + 31) / 32, t0, c0;
    (void)worker;
    if (!j->all_tokens) {
        uniql__i8_rows(j->W, j->K, j->xa, j->lda, j->t0, j->nt, j->c0, j->cn, j->Y, j->ldy, r0, r1);
        return;
    }
    /* row chunk outside, token tiles inside: the job's rows stay in cache for every tile */
    for (t0 = 0; t0 < j->n; t0 += UNIQL__NT) {
        int nt = j->n - t0 < UNIQL__NT ? j->n - t0 : UNIQL__NT;
        for (c0 = 0; c0 < nb; c0 += 2 * UNIQL__I8_CHUNK) {
            int cn = nb - c0 < 2 * UNIQL__I8_CHUNK ? nb - c0 : 2 * UNIQL__I8_CHUNK;
            uniql__i8_rows(j->W, j->K, j->xa + (size_t)t0 * j->lda + (size_t)c0 / 2 * 128, j->lda, t0, nt, c0, cn, j->Y,
                           j->ldy, r0, r1);
        }
    }
}

static uniql_result uniql__matmul_run(const uniql_matrix *W, const float *X, int n, size_t ldx, float *Y, size_t ldy,
                                      int kernel, const uniql_parallel *par, void *work, size_t work_size)
{
    uniql__kernels K;
    uniql__mm_job j;
    uniql_result res;
    int isa, t;
    if (!W || !X || !Y || n < 0) return UNIQL_ERR_INVALID_ARG;
    if (!uniql__kernel_ok(kernel)) return UNIQL_ERR_INVALID_ARG;
    if ((res = uniql__check_view(W)) != UNIQL_OK) return res;
    if (n > 1 && (ldx < (size_t)W->cols || ldy < (size_t)W->rows)) return UNIQL_ERR_SHAPE;
    isa = uniql__isa_resolve(kernel);
    if (!isa || !uniql__kernels_for(isa, &K)) return UNIQL_ERR_UNSUPPORTED;
    if (n == 0 || W->rows == 0) return UNIQL_OK;
    if (W->cols == 0) {
        for (t = 0; t < n; t++) memset(Y + (size_t)t * ldy, 0, sizeof(float) * (size_t)W->rows);
        return UNIQL_OK;
    }
    memset(&j, 0, sizeof j);
    j.W = W; j.K = &K; j.X = X; j.n = n; j.ldx = ldx; j.Y = Y; j.ldy = ldy;
    if (W->transposed) {
        /* output ranges of 128 elements (whole 32-blocks) */
        j.per_job = 128;
        uniql_parallel_for(par, (W->rows + 127) / 128, uniql__mm_cols_job, &j);
        return UNIQL_OK;
    }
    j.per_job = uniql__rows_per_job(W);
    if ((kernel & UNIQL_KERNEL_I8ACT) && uniql__is_quant(W->dtype)) {
        int nb = (W->cols + 31) / 32, np = (nb + 1) / 2, njobs = (W->rows + j.per_job - 1) / j.per_job, t0, c0;
        size_t need = (size_t)n * (size_t)np * 128;
        if (work && work_size >= need && !((uintptr_t)work & 15u)) {
            /* every token quantized once, then one batch of row jobs */
            j.xa = (const unsigned char *)work;
            j.lda = (size_t)np * 128;
            j.all_tokens = 1;
            if ((res = uniql__i8_quant(X, ldx, n, W->cols, 0, nb, (unsigned char *)work, j.lda)) != UNIQL_OK) return res;
            uniql_parallel_for(par, njobs, uniql__mm_i8_job, &j);
            return UNIQL_OK;
        }
        {
            /* bounded stack: one tile of 4 tokens x one column chunk at a time */
            unsigned char xa[UNIQL__XA_BYTES];
            j.xa = xa;
            j.lda = (size_t)UNIQL__I8_CHUNK * 128;
            for (t0 = 0; t0 < n; t0 += UNIQL__NT) {
                int nt = n - t0 < UNIQL__NT ? n - t0 : UNIQL__NT;
                for (c0 = 0; c0 < nb; c0 += 2 * UNIQL__I8_CHUNK) {
                    int cn = nb - c0 < 2 * UNIQL__I8_CHUNK ? nb - c0 : 2 * UNIQL__I8_CHUNK;
                    if ((res = uniql__i8_quant(X + (size_t)t0 * ldx, ldx, nt, W->cols, c0, cn, xa, j.lda)) != UNIQL_OK)
                        return res;
                    j.t0 = t0; j.nt = nt; j.c0 = c0; j.cn = cn;
                    uniql_parallel_for(par, njobs, uniql__mm_i8_job, &j);
                }
            }
        }
        return UNIQL_OK;
    }
    uniql_parallel_for(par, (W->rows + j.per_job - 1) / j.per_job, uniql__mm_rows_job, &j);
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_matmul_ex(const uniql_matrix *W, const float *X, int n, size_t ldx,
                                      float *Y, size_t ldy, int kernel)
{
    return uniql__matmul_run(W, X, n, ldx, Y, ldy, kernel, NULL, NULL, 0);
}

UNIQLDEF size_t uniql_matmul_work_bytes(const uniql_matrix *W, int n, int kernel)
{
    if (!W || n < 1 || W->transposed || !(kernel & UNIQL_KERNEL_I8ACT) || !uniql__is_quant(W->dtype)) return 0;
    return (size_t)n * (size_t)((W->cols + 63) / 64) * 128;
}

UNIQLDEF uniql_result uniql_matmul_par(const uniql_matrix *W, const float *X, int n, size_t ldx, float *Y, size_t ldy,
                                       const uniql_matmul_options *opt)
{
    if (!opt) return uniql__matmul_run(W, X, n, ldx, Y, ldy, UNIQL_KERNEL_AUTO, NULL, NULL, 0);
    return uniql__matmul_run(W, X, n, ldx, Y, ldy, opt->kernel, opt->parallel, opt->work, opt->work_size);
}

UNIQLDEF uniql_result uniql_matmul(const uniql_matrix *W, const float *X, int n, size_t ldx,
                                   float *Y, size_t ldy)
{
    return uniql_matmul_ex(W, X, n, ldx, Y, ldy, UNIQL_KERNEL_AUTO);
}

UNIQLDEF uniql_result uniql_dequantize_row(const uniql_matrix *m, int r, float *out)
{
    uniql_result res;
    int c;
    if (!m || !out) return UNIQL_ERR_INVALID_ARG;
    if ((res = uniql__check_view(m)) != UNIQL_OK) return res;
    if (r < 0 || r >= m->rows) return UNIQL_ERR_SHAPE;
    for (c = 0; c < m->cols; c++) out[c] = m->transposed ? uniql__elem(m, c, r) : uniql__elem(m, r, c);
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_dequantize(const uniql_matrix *m, float *out, size_t ld)
{
    uniql_result res;
    int r;
    if (!m || !out) return UNIQL_ERR_INVALID_ARG;
    if ((res = uniql__check_view(m)) != UNIQL_OK) return res;
    if (m->rows > 1 && ld < (size_t)m->cols) return UNIQL_ERR_SHAPE;
    for (r = 0; r < m->rows; r++) uniql_dequantize_row(m, r, out + (size_t)r * ld);
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_quant_error(const uniql_matrix *q, const float *W, size_t ld,
                                        double *sq_err, double *max_err)
{
    uniql_result res;
    double sq = 0, mx = 0;
    int r, c;
    if (!q || !W) return UNIQL_ERR_INVALID_ARG;
    if ((res = uniql__check_view(q)) != UNIQL_OK) return res;
    if (q->rows > 1 && ld < (size_t)q->cols) return UNIQL_ERR_SHAPE;
    for (r = 0; r < q->rows; r++)
        for (c = 0; c < q->cols; c++) {
            double v = q->transposed ? uniql__elem(q, c, r) : uniql__elem(q, r, c);
            double d = fabs(v - (double)W[(size_t)r * ld + c]);
            sq += d * d;
            if (d > mx || d != d) mx = d;
        }
    if (sq_err) *sq_err = sq;
    if (max_err) *max_err = mx;
    return UNIQL_OK;
}

/* =====================================================================================
   IMPL 4. Quantization and kernels (group int4 / int8; scalar, then AVX2 / NEON twins)
   ===================================================================================== */

/* ---- 4a. Quantizers (scalar; run once per matrix, exactness over speed) ---- */

/* smallest fp16 >= v (v >= 0, finite); 0x7C00 (Inf) when v exceeds the fp16 maximum */
static uint16_t uniql__fp16_ceil(double v)
{
    uint16_t h;
    if (!(v > 0)) return 0;
    if (v > 65504.0) return 0x7C00u;
    h = uniql_fp32_to_fp16((float)v);
    while (h > 0 && (double)uniql_fp16_to_fp32((uint16_t)(h - 1)) >= v) h--;
    while ((double)uniql_fp16_to_fp32(h) < v) h++;
    return h;
}

static int uniql__round_away(double v) { return v >= 0 ? (int)floor(v + 0.5) : -(int)floor(-v + 0.5); }

static uniql_result uniql__desc_check(const uniql_quant_desc *d, int rows, int cols, int *group)
{
    if (!d) return UNIQL_ERR_INVALID_ARG;
    if (!uniql__is_quant(d->dtype)) return UNIQL_ERR_DTYPE;
    if (rows < 1 || cols < 1) return UNIQL_ERR_SHAPE;
    *group = d->group == 0 ? 128 : d->group;
    if (uniql__is_q4(d->dtype) && *group != 32 && *group != 64 && *group != 128) return UNIQL_ERR_SHAPE;
    return UNIQL_OK;
}

/* storage geometry of a quantized matrix: S storage rows of L elements, stride bytes,
   ng scales per storage row */
static void uniql__qgeom(const uniql_quant_desc *d, int rows, int cols, int group, size_t *S, size_t *L,
                         size_t *stride, size_t *ng)
{
    *S = (size_t)(d->transposed ? cols : rows);
    *L = (size_t)(d->transposed ? rows : cols);
    *stride = (*L + 31) / 32 * (d->dtype == UNIQL_DTYPE_Q8 ? 32 : 16);
    *ng = d->dtype == UNIQL_DTYPE_Q8 ? 1 : (*L + (size_t)group - 1) / (size_t)group;
}

UNIQLDEF uniql_result uniql_quant_size(const uniql_quant_desc *d, int rows, int cols, size_t *bytes)
{
    size_t S, L, stride, ng, a, b, tot;
    int group;
    uniql_result res;
    if (!bytes) return UNIQL_ERR_INVALID_ARG;
    if ((res = uniql__desc_check(d, rows, cols, &group)) != UNIQL_OK) return res;
    uniql__qgeom(d, rows, cols, group, &S, &L, &stride, &ng);
    if (!uniql__mul_size(S, stride, &a) || !uniql__mul_size(S, ng, &b) ||
        !uniql__add_size(a, b, &tot) || !uniql__add_size(tot, b, &tot))
        return UNIQL_ERR_OVERFLOW;
    if (d->dtype == UNIQL_DTYPE_Q4Z && !uniql__add_size(tot, b, &tot)) return UNIQL_ERR_OVERFLOW;
    *bytes = tot;
    return UNIQL_OK;
}

/* Quantize one group w[0..n) at clip factor alpha; q receives the stored integers
   (Q4: q in [-8,7]; Q4Z: u in [0,15]; Q8: q in [-127,127]). Returns the squared error
   (HUGE_VAL when the scale overflows fp16). */
static double uniql__quant_group(uniql_dtype dt, const float *w, int n, double alpha, int *q, uint16_t *scale, int *zero)
{
    double mx = 0, mn = 0, s, err = 0;
    int i, z = 0, lo = dt == UNIQL_DTYPE_Q4 ? -8 : dt == UNIQL_DTYPE_Q8 ? -127 : 0;
    int hi = dt == UNIQL_DTYPE_Q4 ? 7 : dt == UNIQL_DTYPE_Q8 ? 127 : 15;
    uint16_t h;
    for (i = 0; i < n; i++) {
        if (w[i] > mx) mx = w[i];
        if (w[i] < mn) mn = w[i];
    }
    mx *= alpha;
    mn *= alpha;
    if (dt == UNIQL_DTYPE_Q4) h = uniql__fp16_ceil(mx / 7 > -mn / 8 ? mx / 7 : -mn / 8);
    else if (dt == UNIQL_DTYPE_Q8) h = uniql__fp16_ceil((mx > -mn ? mx : -mn) / 127);
    else h = uniql__fp16_ceil((mx - mn) / 15);
    if (h >= 0x7C00u) return HUGE_VAL;
    s = uniql_fp16_to_fp32(h);
    if (dt == UNIQL_DTYPE_Q4Z && s > 0) {
        z = uniql__round_away(-mn / s);
        z = z < 0 ? 0 : z > 15 ? 15 : z;
    }
    for (i = 0; i < n; i++) {
        int v = s > 0 ? uniql__round_away((double)w[i] / s) + z : z;
        double d;
        v = v < lo ? lo : v > hi ? hi : v;
        q[i] = v;
        d = (double)(v - z) * s - (double)w[i];
        err += d * d;
    }
    *scale = h;
    *zero = z;
    return err;
}

/* storage rows [s0, s1) of a quantization (uniql_quantize); rows are independent */
typedef struct uniql__qjob {
    const uniql_quant_desc *d;
    const float *W;
    size_t ld, S, L, ng;
    int group, gq;
    size_t stride;
    unsigned char *data;
    uint16_t *scales;
    uint8_t *zeros;
    uniql_result *res;       /* per job of the batch */
    int first;               /* job index of the batch's job 0 */
} uniql__qjob;

#define UNIQL__QUANT_ROWS 64  /* storage rows per job */

static uniql_result uniql__quant_rows(const uniql__qjob *J, size_t s0, size_t s1)
{
    const uniql_quant_desc *d = J->d;
    const float *W = J->W;
    size_t ld = J->ld, L = J->L, ng = J->ng, stride = J->stride, s, g, e;
    int gq = J->gq, q[128], qb[128];
    float w[128];
    unsigned char *data = J->data;
    uint16_t *scales = J->scales;
    uint8_t *zeros = J->zeros;
    for (s = s0; s < s1; s++) {
        unsigned char *row = data + s * stride;
        if (d->dtype == UNIQL_DTYPE_Q8) {
            /* scale from the whole row, then quantize piecewise with that scale */
            double mxa = 0, sc;
            uint16_t h;
            for (e = 0; e < L; e++) {
                double v = fabs((double)(d->transposed ? W[e * ld + s] : W[s * ld + e]));
                if (v > mxa) mxa = v;
            }
            h = uniql__fp16_ceil(mxa / 127);
            if (h >= 0x7C00u) return UNIQL_ERR_RANGE;
            scales[s] = h;
            sc = uniql_fp16_to_fp32(h);
            for (e = 0; e < L; e++) {
                double v = d->transposed ? W[e * ld + s] : W[s * ld + e];
                int qv = sc > 0 ? uniql__round_away(v / sc) : 0;
                qv = qv < -127 ? -127 : qv > 127 ? 127 : qv;
                row[e] = (unsigned char)(int8_t)qv;
            }
            continue;
        }
        for (g = 0; g < ng; g++) {
            size_t e0 = g * (size_t)gq, n = L - e0 < (size_t)gq ? L - e0 : (size_t)gq;
            uint16_t h = 0, hb;
            int z = 0, zb, k;
            double best;
            for (e = 0; e < n; e++) w[e] = d->transposed ? W[(e0 + e) * ld + s] : W[s * ld + e0 + e];
            best = uniql__quant_group(d->dtype, w, (int)n, 1.0, q, &h, &z);
            if (best == HUGE_VAL) return UNIQL_ERR_RANGE;
            for (k = 1; d->clip && k <= 10; k++) {
                double err = uniql__quant_group(d->dtype, w, (int)n, 1.0 - 0.05 * k, qb, &hb, &zb);
                if (err < best) {
                    best = err;
                    h = hb;
                    z = zb;
                    memcpy(q, qb, sizeof(int) * n);
                }
            }
            scales[s * ng + g] = h;
            if (zeros) zeros[s * ng + g] = (uint8_t)z;
            for (e = 0; e < n; e++) {
                size_t el = e0 + e, j = el & 31;
                unsigned nib = (unsigned)q[e] & 15u;
                row[(el >> 5) * 16 + (j & 15)] |= (unsigned char)(j < 16 ? nib : nib << 4);
            }
        }
    }
    return UNIQL_OK;
}

static void uniql__quant_job(void *ctx, int job, int worker)
{
    const uniql__qjob *J = (const uniql__qjob *)ctx;
    size_t s0 = (size_t)(J->first + job) * UNIQL__QUANT_ROWS, s1 = s0 + UNIQL__QUANT_ROWS < J->S ? s0 + UNIQL__QUANT_ROWS : J->S;
    (void)worker;
    J->res[job] = uniql__quant_rows(J, s0, s1);
}

UNIQLDEF uniql_result uniql_quantize(const uniql_quant_desc *d, const float *W, int rows, int cols, size_t ld,
                                     void *buf, size_t buf_size, uniql_matrix *out)
{
    size_t S, L, stride, ng, need, e, r;
    int group = 128, gq, nj, i;
    unsigned char *data = (unsigned char *)buf;
    uniql__qjob J;
    uniql_result jres[64];
    uint16_t *scales;
    uint8_t *zeros;
    uniql_result res;
    uniql_matrix m;
    if (!W || !buf || !out) return UNIQL_ERR_INVALID_ARG;
    if ((res = uniql_quant_size(d, rows, cols, &need)) != UNIQL_OK) return res;
    if (ld < (size_t)cols || buf_size < need || ((size_t)buf & 1u)) return UNIQL_ERR_INVALID_ARG;
    for (r = 0; r < (size_t)rows; r++)
        for (e = 0; e < (size_t)cols; e++)
            if (!(fabsf(W[r * ld + e]) <= 3.4028235e38f)) return UNIQL_ERR_NONFINITE;
    uniql__desc_check(d, rows, cols, &group);
    uniql__qgeom(d, rows, cols, group, &S, &L, &stride, &ng);
    scales = (uint16_t *)(void *)(data + S * stride);
    zeros = d->dtype == UNIQL_DTYPE_Q4Z ? (uint8_t *)(scales + S * ng) : NULL;
    memset(buf, 0, need);
    /* Q8: one "group" = the whole storage row, processed in pieces of 128 below */
    gq = d->dtype == UNIQL_DTYPE_Q8 ? 128 : group;
    J.d = d; J.W = W; J.ld = ld; J.S = S; J.L = L; J.ng = ng; J.group = group; J.gq = gq; J.stride = stride;
    J.data = data; J.scales = scales; J.zeros = zeros; J.res = jres;
    nj = (int)((S + UNIQL__QUANT_ROWS - 1) / UNIQL__QUANT_ROWS);
    /* batches of up to 64 jobs; the first error in row order is the result */
    for (i = 0; i < nj; i += 64) {
        int k, cnt = nj - i < 64 ? nj - i : 64;
        J.first = i;
        uniql_parallel_for(d->parallel, cnt, uniql__quant_job, &J);
        for (k = 0; k < cnt; k++) if (jres[k] != UNIQL_OK) return jres[k];
    }
    memset(&m, 0, sizeof m);
    m.dtype = d->dtype;
    m.rows = rows;
    m.cols = cols;
    m.transposed = d->transposed ? 1 : 0;
    m.data = data;
    m.stride = stride;
    m.scales = scales;
    m.scale_stride = ng;
    m.zeros = zeros;
    m.group = d->dtype == UNIQL_DTYPE_Q8 ? (int)L : group;
    *out = m;
    return UNIQL_OK;
}

/* ---- 4b. Activation quantization for UNIQL_KERNEL_I8ACT (shared by every kernel, so
   scalar and SIMD see the same integers). Block b of x (len valid elements, zero padded
   to nb blocks): d = max|x| / 127, q = round-half-away(x * (127 / max|x|)). ---- */
static void uniql__quant_act(const float *x, int len, int nb, unsigned char *xa)
{
    int b, j;
    for (b = 0; b < nb + (nb & 1); b++) {
        int n = len - b * 32 < 32 ? len - b * 32 : 32, h = b & 1, q[32];
        unsigned char *rec = xa + (size_t)(b >> 1) * 128;
        float amax = 0, id, d;
        n = n < 0 || b >= nb ? 0 : n;
        for (j = 0; j < n; j++) {
            float a = fabsf(x[b * 32 + j]);
            if (a > amax) amax = a;
        }
        d = amax / 127.0f;
        id = amax > 0 ? 127.0f / amax : 0.0f;
        for (j = 0; j < 32; j++) {
            q[j] = 0;
            if (j < n) {
                float v = x[b * 32 + j] * id;
                q[j] = (int)(v >= 0 ? v + 0.5f : v - 0.5f);
                q[j] = q[j] > 127 ? 127 : q[j] < -127 ? -127 : q[j];
            }
        }
        for (j = 0; j < 16; j++) {
            rec[16 * h + j] = (unsigned char)(int8_t)q[j];        /* XL */
            rec[32 + 16 * h + j] = (unsigned char)(int8_t)q[16 + j]; /* XH */
        }
        for (j = 0; j < 8; j++) {
            int16_t s16 = (int16_t)(q[2 * j] + q[2 * j + 1] + q[16 + 2 * j] + q[17 + 2 * j]);
            memcpy(rec + 64 + 2 * (8 * h + j), &s16, 2);
        }
        for (j = 0; j < 4; j++) memcpy(rec + 96 + 4 * (4 * h + j), &d, 4);
    }
}

/* ---- 4c. Scalar reference kernels ---- */

/* The integers of one 32-block: Q4 q (two's complement nibble), Q4Z u - z, Q8 q. */
static void uniql__decode_block(uniql_dtype dt, const unsigned char *blk, int z, int *w)
{
    int j;
    if (dt == UNIQL_DTYPE_Q8) {
        for (j = 0; j < 32; j++) w[j] = (int8_t)blk[j];
        return;
    }
    for (j = 0; j < 16; j++) {
        int lo = blk[j] & 15, hi = blk[j] >> 4;
        w[j] = dt == UNIQL_DTYPE_Q4 ? (lo ^ 8) - 8 : lo - z;
        w[j + 16] = dt == UNIQL_DTYPE_Q4 ? (hi ^ 8) - 8 : hi - z;
    }
}

/* scale (as float) and zero point of block b */
static float uniql__block_scale(const uniql__qk *k, int b, int *z)
{
    int g = k->gb ? b / k->gb : 0;
    *z = k->dtype == UNIQL_DTYPE_Q4Z ? k->zp[g] : 0;
    return uniql_fp16_to_fp32(k->sc[g]);
}

static float uniql__load_f(uniql_dtype dt, const unsigned char *row, int e)
{
    uint16_t h;
    float f;
    if (dt == UNIQL_DTYPE_F32) { memcpy(&f, row + (size_t)e * 4, 4); return f; }
    memcpy(&h, row + (size_t)e * 2, 2);
    return dt == UNIQL_DTYPE_F16 ? uniql_fp16_to_fp32(h) : uniql_bf16_to_fp32(h);
}

static void uniql__fdot_scalar(uniql_dtype dt, const unsigned char *row, int L, const float *X, size_t ldx, int nt, float *out)
{
    int t, c;
    if (dt == UNIQL_DTYPE_F32) {
        for (t = 0; t < nt; t++) out[t] = uniql__dot_f32((const float *)(const void *)row, X + (size_t)t * ldx, L);
        return;
    }
    /* f16/bf16: widen 256 weights at a time, reuse them for every token */
    for (t = 0; t < nt; t++) out[t] = 0.0f;
    for (c = 0; c < L; c += 256) {
        float buf[256];
        int k, len = L - c < 256 ? L - c : 256;
        for (k = 0; k < len; k++) buf[k] = uniql__load_f(dt, row, c + k);
        for (t = 0; t < nt; t++) out[t] += uniql__dot_f32(buf, X + (size_t)t * ldx + c, len);
    }
}

static void uniql__faxpy_scalar(uniql_dtype dt, const unsigned char *row, int L, const float *coef, float *Y, size_t ldy, int nt)
{
    int t, e;
    for (e = 0; e < L; e++) {
        float w = uniql__load_f(dt, row, e);
        for (t = 0; t < nt; t++) Y[(size_t)t * ldy + e] += coef[t] * w;
    }
}

static void uniql__qdot_scalar(const uniql__qk *k, int b0, int nb, const unsigned char *data, const float *X, size_t ldx,
                               int nt, float *out)
{
    int b, t, j, z, w[32];
    size_t bb = uniql__block_bytes(k->dtype);
    for (b = 0; b < nb; b++) {
        float s = uniql__block_scale(k, b0 + b, &z);
        uniql__decode_block(k->dtype, data + (size_t)b * bb, z, w);
        for (t = 0; t < nt; t++) {
            const float *x = X + (size_t)t * ldx + (size_t)b * 32;
            float p[4] = { 0, 0, 0, 0 };
            for (j = 0; j < 32; j++) p[j & 3] += (float)w[j] * x[j];
            out[t] += s * ((p[0] + p[1]) + (p[2] + p[3]));
        }
    }
}

static void uniql__qaxpy_scalar(const uniql__qk *k, int b0, int nb, const unsigned char *data, const float *coef, float *Y,
                                size_t ldy, int nt)
{
    int b, t, j, z, w[32];
    size_t bb = uniql__block_bytes(k->dtype);
    for (b = 0; b < nb; b++) {
        float s = uniql__block_scale(k, b0 + b, &z);
        uniql__decode_block(k->dtype, data + (size_t)b * bb, z, w);
        for (t = 0; t < nt; t++) {
            float cs = coef[t] * s, *y = Y + (size_t)t * ldy + (size_t)b * 32;
            for (j = 0; j < 32; j++) y[j] += cs * (float)w[j];
        }
    }
}

/* The I8ACT reference, in the lane structure of the SIMD twins. Blocks go in pairs (2p,
   2p+1) counted from b0; block h of a pair owns int32 lanes 4h..4h+3, lane 4h+l summing
   the exact products of elements 4l..4l+3 and 16+4l..16+4l+3. Per block f = s * d, then
   acc[l] += f * lane as two float roundings (multiply, add; no FMA), with one
   accumulator for even pairs and one for odd pairs (two dependency chains). The end is
   a[l] = acc0[l] + acc1[l], reduced as ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)): exactly
   the AVX2 / NEON order, so SIMD == scalar bit for bit. */
static float uniql__hsum8(const float *a) { return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7])); }

static void uniql__qdot8_scalar(const uniql__qk *k, int b0, int nb, const unsigned char *data, const unsigned char *xa,
                                size_t lda, int nt, float *out)
{
    int b, t, l, z, w[32];
    float acc[UNIQL__NT][2][8];
    size_t bb = uniql__block_bytes(k->dtype);
    memset(acc, 0, sizeof acc);
    for (b = 0; b < nb; b++) {
        int h = b & 1, par = (b >> 1) & 1;
        float s = uniql__block_scale(k, b0 + b, &z);
        uniql__decode_block(k->dtype, data + (size_t)b * bb, z, w);
        for (t = 0; t < nt; t++) {
            const unsigned char *rec = xa + (size_t)t * lda + (size_t)(b >> 1) * 128;
            const int8_t *xl = (const int8_t *)rec + 16 * h, *xh = (const int8_t *)rec + 32 + 16 * h;
            float d, f;
            memcpy(&d, rec + 96 + 16 * h, 4);
            f = s * d;
            for (l = 0; l < 4; l++) {
                int32_t is = 0;
                int e;
                for (e = 4 * l; e < 4 * l + 4; e++) is += w[e] * xl[e] + w[16 + e] * xh[e];
                {
                    float p = f * (float)is;
                    acc[t][par][4 * h + l] = acc[t][par][4 * h + l] + p;
                }
            }
        }
    }
    for (t = 0; t < nt; t++) {
        float a[8];
        for (l = 0; l < 8; l++) a[l] = acc[t][0][l] + acc[t][1][l];
        out[t] += uniql__hsum8(a);
    }
}

/* ---- 4d. AVX2 + FMA + F16C twins (x86-64; compiled with target attributes so the
   header builds at plain -O2, selected only after a run-time CPU check) ---- */
#if !defined(UNIQL_NO_SIMD) && (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define UNIQL__HAVE_AVX2 1
#include <immintrin.h>
#define UNIQL__AVX2 __attribute__((target("avx2,fma,f16c")))
/* small helpers: always inlined, so their vectors stay in registers */
#define UNIQL__AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) inline

static UNIQL__AVX2_INLINE float uniql__avx2_hsum(__m256 v)
{
    /* ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)): the order uniql__hsum8 reproduces */
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 8 weights of a float dtype as fp32 */
static UNIQL__AVX2_INLINE __m256 uniql__avx2_load8(uniql_dtype dt, const unsigned char *p)
{
    if (dt == UNIQL_DTYPE_F32) return _mm256_loadu_ps((const float *)(const void *)p);
    if (dt == UNIQL_DTYPE_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p)), 16));
}

UNIQL__AVX2 static void uniql__fdot_avx2(uniql_dtype dt, const unsigned char *row, int L, const float *X, size_t ldx, int nt, float *out)
{
    size_t es = dt == UNIQL_DTYPE_F32 ? 4 : 2;
    int e = 0, t;
    __m256 a[UNIQL__NT][2];
    for (t = 0; t < UNIQL__NT; t++) a[t][0] = a[t][1] = _mm256_setzero_ps();
    for (; e + 16 <= L; e += 16) {
        __m256 w0 = uniql__avx2_load8(dt, row + (size_t)e * es), w1 = uniql__avx2_load8(dt, row + (size_t)(e + 8) * es);
        for (t = 0; t < nt; t++) {
            const float *x = X + (size_t)t * ldx + e;
            a[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x), a[t][0]);
            a[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + 8), a[t][1]);
        }
    }
    for (t = 0; t < nt; t++) {
        float s = uniql__avx2_hsum(_mm256_add_ps(a[t][0], a[t][1]));
        int c;
        for (c = e; c < L; c++) s += uniql__load_f(dt, row, c) * X[(size_t)t * ldx + c];
        out[t] = s;
    }
}

UNIQL__AVX2 static void uniql__faxpy_avx2(uniql_dtype dt, const unsigned char *row, int L, const float *coef, float *Y, size_t ldy, int nt)
{
    size_t es = dt == UNIQL_DTYPE_F32 ? 4 : 2;
    int e = 0, t;
    for (; e + 8 <= L; e += 8) {
        __m256 w = uniql__avx2_load8(dt, row + (size_t)e * es);
        for (t = 0; t < nt; t++) {
            float *y = Y + (size_t)t * ldy + e;
            _mm256_storeu_ps(y, _mm256_fmadd_ps(_mm256_set1_ps(coef[t]), w, _mm256_loadu_ps(y)));
        }
    }
    for (; e < L; e++) {
        float w = uniql__load_f(dt, row, e);
        for (t = 0; t < nt; t++) Y[(size_t)t * ldy + e] += coef[t] * w;
    }
}

/* The 32 weights of a block as four fp32 vectors (elements 0-7, 8-15, 16-23, 24-31):
   nibbles through a 16-entry table n -> n - z (Q4: (n ^ 8) - 8), Q8 bytes sign-extended. */
static UNIQL__AVX2_INLINE void uniql__avx2_block_f32(uniql_dtype dt, const unsigned char *blk, __m128i lut, __m256 *w)
{
    __m128i lo, hi;
    if (dt == UNIQL_DTYPE_Q8) {
        lo = _mm_loadu_si128((const __m128i *)(const void *)blk);
        hi = _mm_loadu_si128((const __m128i *)(const void *)(blk + 16));
    } else {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)blk), m = _mm_set1_epi8(15);
        lo = _mm_shuffle_epi8(lut, _mm_and_si128(v, m));
        hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(v, 4), m));
    }
    w[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
    w[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
    w[2] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
    w[3] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
}

/* scale of group g and the nibble table of its zero point */
static UNIQL__AVX2_INLINE __m256 uniql__avx2_group(const uniql__qk *k, int g, __m128i *lut)
{
    int z = k->dtype == UNIQL_DTYPE_Q4Z ? k->zp[g] : 0;
    const __m128i id = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    if (k->dtype == UNIQL_DTYPE_Q4) *lut = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1);
    else *lut = _mm_sub_epi8(id, _mm_set1_epi8((char)z));
    return _mm256_set1_ps(_cvtsh_ss(k->sc[g]));
}

UNIQL__AVX2 static void uniql__qdot_avx2(const uniql__qk *k, int b0, int nb, const unsigned char *data, const float *X, size_t ldx,
                                         int nt, float *out)
{
    size_t bb = uniql__block_bytes(k->dtype);
    __m128i lut = _mm_setzero_si128();
    __m256 acc[UNIQL__NT], sv = _mm256_setzero_ps(), w[4];
    int b = 0, t, g = 0, next = 0;
    if (nt == 1) { /* decode GEMV: two accumulators (even / odd blocks), split product chains */
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), tmp;
        for (b = 0; b < nb; b++) {
            const float *x = X + (size_t)b * 32;
            __m256 p, q;
            if (b == next) { g = k->gb ? (b0 + b) / k->gb : 0; sv = uniql__avx2_group(k, g, &lut); next = k->gb ? (g + 1) * k->gb - b0 : nb; }
            uniql__avx2_block_f32(k->dtype, data + (size_t)b * bb, lut, w);
            p = _mm256_mul_ps(w[0], _mm256_loadu_ps(x));
            q = _mm256_mul_ps(w[1], _mm256_loadu_ps(x + 8));
            p = _mm256_fmadd_ps(w[2], _mm256_loadu_ps(x + 16), p);
            q = _mm256_fmadd_ps(w[3], _mm256_loadu_ps(x + 24), q);
            a0 = _mm256_fmadd_ps(sv, _mm256_add_ps(p, q), a0);
            tmp = a0; a0 = a1; a1 = tmp;
        }
        out[0] += uniql__avx2_hsum(_mm256_add_ps(a0, a1));
        return;
    }
    if (nt == 4) { /* prefill tile: each decoded block serves four tokens, accumulators in registers */
        __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
        for (b = 0; b < nb; b++) {
            const float *x = X + (size_t)b * 32;
            if (b == next) { g = k->gb ? (b0 + b) / k->gb : 0; sv = uniql__avx2_group(k, g, &lut); next = k->gb ? (g + 1) * k->gb - b0 : nb; }
            uniql__avx2_block_f32(k->dtype, data + (size_t)b * bb, lut, w);
#define UNIQL__F4TOK(XT, C) do { \
                __m256 p_ = _mm256_mul_ps(w[0], _mm256_loadu_ps(XT)), q_ = _mm256_mul_ps(w[1], _mm256_loadu_ps((XT) + 8)); \
                p_ = _mm256_fmadd_ps(w[2], _mm256_loadu_ps((XT) + 16), p_); \
                q_ = _mm256_fmadd_ps(w[3], _mm256_loadu_ps((XT) + 24), q_); \
                C = _mm256_fmadd_ps(sv, _mm256_add_ps(p_, q_), C); \
            } while (0)
            UNIQL__F4TOK(x, c0);
            UNIQL__F4TOK(x + ldx, c1);
            UNIQL__F4TOK(x + 2 * ldx, c2);
            UNIQL__F4TOK(x + 3 * ldx, c3);
#undef UNIQL__F4TOK
        }
        out[0] += uniql__avx2_hsum(c0);
        out[1] += uniql__avx2_hsum(c1);
        out[2] += uniql__avx2_hsum(c2);
        out[3] += uniql__avx2_hsum(c3);
        return;
    }
    for (t = 0; t < UNIQL__NT; t++) acc[t] = _mm256_setzero_ps();
    for (b = 0; b < nb; b++) {
        if (b == next) { g = k->gb ? (b0 + b) / k->gb : 0; sv = uniql__avx2_group(k, g, &lut); next = k->gb ? (g + 1) * k->gb - b0 : nb; }
        uniql__avx2_block_f32(k->dtype, data + (size_t)b * bb, lut, w);
        for (t = 0; t < nt; t++) {
            const float *x = X + (size_t)t * ldx + (size_t)b * 32;
            __m256 p = _mm256_mul_ps(w[0], _mm256_loadu_ps(x)), q = _mm256_mul_ps(w[1], _mm256_loadu_ps(x + 8));
            p = _mm256_fmadd_ps(w[2], _mm256_loadu_ps(x + 16), p);
            q = _mm256_fmadd_ps(w[3], _mm256_loadu_ps(x + 24), q);
            acc[t] = _mm256_fmadd_ps(sv, _mm256_add_ps(p, q), acc[t]);
        }
    }
    for (t = 0; t < nt; t++) out[t] += uniql__avx2_hsum(acc[t]);
}

UNIQL__AVX2 static void uniql__qaxpy_avx2(const uniql__qk *k, int b0, int nb, const unsigned char *data, const float *coef, float *Y,
                                          size_t ldy, int nt)
{
    size_t bb = uniql__block_bytes(k->dtype);
    __m128i lut = _mm_setzero_si128();
    __m256 sv = _mm256_setzero_ps(), wf[4];
    int b, t, g = 0, next = 0;
    for (b = 0; b < nb; b++) {
        if (b == next) { g = k->gb ? (b0 + b) / k->gb : 0; sv = uniql__avx2_group(k, g, &lut); next = k->gb ? (g + 1) * k->gb - b0 : nb; }
        uniql__avx2_block_f32(k->dtype, data + (size_t)b * bb, lut, wf);
        for (t = 0; t < nt; t++) {
            __m256 cs = _mm256_mul_ps(_mm256_set1_ps(coef[t]), sv);
            float *y = Y + (size_t)t * ldy + (size_t)b * 32;
            int q;
            for (q = 0; q < 4; q++) _mm256_storeu_ps(y + 8 * q, _mm256_fmadd_ps(cs, wf[q], _mm256_loadu_ps(y + 8 * q)));
        }
    }
}

/* The decode GEMV hot path (one token, Q4/Q4Z, groups of an even number of 32-blocks, so
   a pair never straddles two groups): group loop outside, branch-free pair loop inside,
   the accumulator in a register. Same integer lanes and float steps as below. */
/* Q4/Q4Z block pairs with int8 activations (the hot path). The pair's 32 weight bytes
   are contiguous, so the low nibbles are already in XL order and the high nibbles in XH
   order. For token record R: p16 = sum u x over lane pairs minus the zero-point term
   CORR(s16) (z * pair sums of x), then ACC += (s * d) * lanes. */
#define UNIQL__Q4TOK(R, ACC, CORR) do { \
        const unsigned char *r_ = (R); \
        __m256i s16_ = _mm256_loadu_si256((const __m256i *)(const void *)(r_ + 64)), p16_; \
        __m256 f_ = _mm256_mul_ps(sv, _mm256_loadu_ps((const float *)(const void *)(r_ + 96))); \
        p16_ = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(const void *)r_)), \
                                _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(const void *)(r_ + 32)))); \
        p16_ = _mm256_sub_epi16(p16_, CORR); \
        ACC = _mm256_add_ps(ACC, _mm256_mul_ps(f_, _mm256_cvtepi32_ps(_mm256_madd_epi16(p16_, ones)))); \
    } while (0)
#define UNIQL__Q4DECODE(V) do { \
        __m256i v_ = _mm256_xor_si256((V), flip); \
        lo = _mm256_and_si256(v_, m4); \
        hi = _mm256_and_si256(_mm256_srli_epi16(v_, 4), m4); \
    } while (0)
#define UNIQL__SWAP(A, B) do { __m256 t_ = A; A = B; B = t_; } while (0)

/* one token (decode GEMV) or four tokens (prefill tile), Q4/Q4Z, groups of an even
   number of 32-blocks (a pair never straddles two groups): group loop outside,
   branch-free pair loop inside, accumulators in registers (even / odd pairs alternate
   between two of them; a + b == b + a at the end). Same integer lanes and float steps
   as uniql__qdot8_scalar. */
UNIQL__AVX2 static void uniql__qdot8_q4_avx2(const uniql__qk *k, int b0, int nb, const unsigned char *data,
                                             const unsigned char *xa, size_t lda, int four, float *out)
{
    const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    const __m256i flip = _mm256_set1_epi8(k->dtype == UNIQL_DTYPE_Q4 ? (char)0x88 : 0);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0, e0 = a0, e1 = a0;
    __m256i lo, hi;
    int b = 0, g = b0 / k->gb;
    for (; b < nb; g++) {
        int end = (g + 1) * k->gb - b0, sym = k->dtype == UNIQL_DTYPE_Q4;
        __m256 sv = _mm256_set1_ps(_cvtsh_ss(k->sc[g]));
        __m256i zv = _mm256_set1_epi16((short)(sym ? 8 : k->zp[g]));
        if (end > nb) end = nb;
        if (!four && sym) {
            for (; b + 1 < end; b += 2) { /* z = 8: a shift instead of a multiply */
                UNIQL__Q4DECODE(_mm256_loadu_si256((const __m256i *)(const void *)(data + (size_t)b * 16)));
                UNIQL__Q4TOK(xa + (size_t)(b >> 1) * 128, a0, _mm256_slli_epi16(s16_, 3));
                UNIQL__SWAP(a0, a1);
            }
        } else if (!four) {
            for (; b + 1 < end; b += 2) {
                UNIQL__Q4DECODE(_mm256_loadu_si256((const __m256i *)(const void *)(data + (size_t)b * 16)));
                UNIQL__Q4TOK(xa + (size_t)(b >> 1) * 128, a0, _mm256_mullo_epi16(zv, s16_));
                UNIQL__SWAP(a0, a1);
            }
        } else {
            for (; b + 1 < end; b += 2) {
                const unsigned char *r = xa + (size_t)(b >> 1) * 128;
                UNIQL__Q4DECODE(_mm256_loadu_si256((const __m256i *)(const void *)(data + (size_t)b * 16)));
                UNIQL__Q4TOK(r, a0, _mm256_mullo_epi16(zv, s16_));
                UNIQL__Q4TOK(r + lda, c0, _mm256_mullo_epi16(zv, s16_));
                UNIQL__Q4TOK(r + 2 * lda, d0, _mm256_mullo_epi16(zv, s16_));
                UNIQL__Q4TOK(r + 3 * lda, e0, _mm256_mullo_epi16(zv, s16_));
                UNIQL__SWAP(a0, a1); UNIQL__SWAP(c0, c1); UNIQL__SWAP(d0, d1); UNIQL__SWAP(e0, e1);
            }
        }
        if (b < end) { /* a single last block (odd nb): upper half zero */
            const unsigned char *r = xa + (size_t)(b >> 1) * 128;
            UNIQL__Q4DECODE(_mm256_inserti128_si256(_mm256_setzero_si256(), _mm_loadu_si128((const __m128i *)(const void *)(data + (size_t)b * 16)), 0));
            UNIQL__Q4TOK(r, a0, _mm256_mullo_epi16(zv, s16_));
            if (four) {
                UNIQL__Q4TOK(r + lda, c0, _mm256_mullo_epi16(zv, s16_));
                UNIQL__Q4TOK(r + 2 * lda, d0, _mm256_mullo_epi16(zv, s16_));
                UNIQL__Q4TOK(r + 3 * lda, e0, _mm256_mullo_epi16(zv, s16_));
            }
            b++;
        }
    }
    out[0] += uniql__avx2_hsum(_mm256_add_ps(a0, a1));
    if (four) {
        out[1] += uniql__avx2_hsum(_mm256_add_ps(c0, c1));
        out[2] += uniql__avx2_hsum(_mm256_add_ps(d0, d1));
        out[3] += uniql__avx2_hsum(_mm256_add_ps(e0, e1));
    }
}

/* Two rows, one token: the activation record of a pair is loaded once for both rows. */
UNIQL__AVX2 static void uniql__q4x2_avx2(const uniql__qk *k0, const uniql__qk *k1, int b0, int nb, const unsigned char *d0,
                                         const unsigned char *d1, const unsigned char *xa, size_t pfd, float *out0, float *out1)
{
    const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    const __m256i flip = _mm256_set1_epi8(k0->dtype == UNIQL_DTYPE_Q4 ? (char)0x88 : 0);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, c0 = a0, c1 = a0;
    int b = 0, g = b0 / k0->gb, sym = k0->dtype == UNIQL_DTYPE_Q4;
#define UNIQL__X2ROW(D, SV, CORR, ACC) do { \
        __m256i v_ = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)((D) + (size_t)b * 16)), flip); \
        __m256i p16_ = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(v_, m4), xl), \
                                        _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v_, 4), m4), xh)); \
        p16_ = _mm256_sub_epi16(p16_, CORR); \
        ACC = _mm256_add_ps(ACC, _mm256_mul_ps(_mm256_mul_ps(SV, dv), _mm256_cvtepi32_ps(_mm256_madd_epi16(p16_, ones)))); \
    } while (0)
    for (; b < nb; g++) {
        int end = (g + 1) * k0->gb - b0;
        __m256 s0 = _mm256_set1_ps(_cvtsh_ss(k0->sc[g])), s1 = _mm256_set1_ps(_cvtsh_ss(k1->sc[g]));
        if (end > nb) end = nb;
        if (sym) {
            for (; b + 1 < end; b += 2) {
                const unsigned char *rec = xa + (size_t)(b >> 1) * 128;
                __m256i xl = _mm256_loadu_si256((const __m256i *)(const void *)rec);
                __m256i xh = _mm256_loadu_si256((const __m256i *)(const void *)(rec + 32));
                __m256i cr;
                /* the next pass's rows: the hardware prefetcher alone left the memory bus
                   half idle (measured 8 -> 13 GB/s on 4096-wide rows) */
                _mm_prefetch((const char *)((uintptr_t)(d0 + (size_t)b * 16) + pfd), _MM_HINT_T0);
                _mm_prefetch((const char *)((uintptr_t)(d1 + (size_t)b * 16) + pfd), _MM_HINT_T0);
                cr = _mm256_slli_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(rec + 64)), 3);
                __m256 dv = _mm256_loadu_ps((const float *)(const void *)(rec + 96));
                UNIQL__X2ROW(d0, s0, cr, a0);
                UNIQL__X2ROW(d1, s1, cr, c0);
                UNIQL__SWAP(a0, a1); UNIQL__SWAP(c0, c1);
            }
        } else {
            __m256i z0 = _mm256_set1_epi16((short)k0->zp[g]), z1 = _mm256_set1_epi16((short)k1->zp[g]);
            for (; b + 1 < end; b += 2) {
                const unsigned char *rec = xa + (size_t)(b >> 1) * 128;
                __m256i xl = _mm256_loadu_si256((const __m256i *)(const void *)rec);
                __m256i xh = _mm256_loadu_si256((const __m256i *)(const void *)(rec + 32));
                __m256i s16 = _mm256_loadu_si256((const __m256i *)(const void *)(rec + 64));
                __m256 dv = _mm256_loadu_ps((const float *)(const void *)(rec + 96));
                _mm_prefetch((const char *)((uintptr_t)(d0 + (size_t)b * 16) + pfd), _MM_HINT_T0);
                _mm_prefetch((const char *)((uintptr_t)(d1 + (size_t)b * 16) + pfd), _MM_HINT_T0);
                UNIQL__X2ROW(d0, s0, _mm256_mullo_epi16(z0, s16), a0);
                UNIQL__X2ROW(d1, s1, _mm256_mullo_epi16(z1, s16), c0);
                UNIQL__SWAP(a0, a1); UNIQL__SWAP(c0, c1);
            }
        }
        if (b < end) break; /* odd last block: finished row by row below */
    }
#undef UNIQL__X2ROW
    if (b < nb) { /* odd nb: the single last block of each row, upper half zero (as in the one-row kernel) */
        const unsigned char *rec = xa + (size_t)(b >> 1) * 128;
        __m256i s16 = _mm256_loadu_si256((const __m256i *)(const void *)(rec + 64)), p16, v;
        __m256 dv = _mm256_loadu_ps((const float *)(const void *)(rec + 96));
        int r;
        for (r = 0; r < 2; r++) {
            const uniql__qk *k = r ? k1 : k0;
            __m256 sv = _mm256_set1_ps(_cvtsh_ss(k->sc[g])), add;
            __m256i zv = _mm256_set1_epi16((short)(sym ? 8 : k->zp[g]));
            v = _mm256_inserti128_si256(_mm256_setzero_si256(), _mm_loadu_si128((const __m128i *)(const void *)((r ? d1 : d0) + (size_t)b * 16)), 0);
            v = _mm256_xor_si256(v, flip);
            p16 = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(v, m4), _mm256_loadu_si256((const __m256i *)(const void *)rec)),
                                   _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), _mm256_loadu_si256((const __m256i *)(const void *)(rec + 32))));
            p16 = _mm256_sub_epi16(p16, _mm256_mullo_epi16(zv, s16));
            add = _mm256_mul_ps(_mm256_mul_ps(sv, dv), _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones)));
            if (r) c0 = _mm256_add_ps(c0, add);
            else a0 = _mm256_add_ps(a0, add);
        }
    }
    *out0 += uniql__avx2_hsum(_mm256_add_ps(a0, a1));
    *out1 += uniql__avx2_hsum(_mm256_add_ps(c0, c1));
}

/* one block pair (or a single block when `two` is 0) as 8 int32 lanes; Q4: pair bytes are
   contiguous, so the low nibbles ARE the XL order and the high nibbles the XH order */
UNIQL__AVX2 static void uniql__qdot8_avx2(const uniql__qk *k, int b0, int nb, const unsigned char *data, const unsigned char *xa,
                                          size_t lda, int nt, float *out)
{
    const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    const __m256i flip = _mm256_set1_epi8(k->dtype == UNIQL_DTYPE_Q4 ? (char)0x88 : 0);
    __m256 acc[UNIQL__NT][2], sv = _mm256_setzero_ps();
    __m256i zv = _mm256_setzero_si256();
    int b, t, g = 0, next = 0;
    if (k->dtype != UNIQL_DTYPE_Q8 && k->gb % 2 == 0) {
        /* four tokens share each decoded pair; fewer go one by one (the row is in L1 after the first) */
        if (nt == 4) uniql__qdot8_q4_avx2(k, b0, nb, data, xa, lda, 1, out);
        else for (t = 0; t < nt; t++) uniql__qdot8_q4_avx2(k, b0, nb, data, xa + (size_t)t * lda, lda, 0, out + t);
        return;
    }
    for (t = 0; t < UNIQL__NT; t++) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    for (b = 0; b < nb; b += 2) {
        int two = b + 1 < nb, par = (b >> 1) & 1;
        const unsigned char *rec = xa + (size_t)(b >> 1) * 128;
        __m256i lo, hi = _mm256_setzero_si256();
        if (b >= next || (two && b + 1 >= next)) {
            /* scales / zero points of the pair: [s0 x4 | s1 x4], [z0 x8 | z1 x8] (int16) */
            int g0 = k->gb ? (b0 + b) / k->gb : 0, g1 = two && k->gb ? (b0 + b + 1) / k->gb : g0;
            int z0 = k->dtype == UNIQL_DTYPE_Q4Z ? k->zp[g0] : 8, z1 = k->dtype == UNIQL_DTYPE_Q4Z ? k->zp[g1] : 8;
            sv = _mm256_setr_m128(_mm_set1_ps(_cvtsh_ss(k->sc[g0])), _mm_set1_ps(_cvtsh_ss(k->sc[g1])));
            zv = _mm256_setr_m128i(_mm_set1_epi16((short)z0), _mm_set1_epi16((short)z1));
            g = g1;
            next = k->gb ? (g + 1) * k->gb - b0 : nb;
            if (g0 != g1) next = b + 2; /* group boundary inside the pair: reload next time */
        }
        if (k->dtype == UNIQL_DTYPE_Q8) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(data + (size_t)b * 32));
            __m256i c = two ? _mm256_loadu_si256((const __m256i *)(const void *)(data + (size_t)b * 32 + 32)) : _mm256_setzero_si256();
            lo = _mm256_permute2x128_si256(a, c, 0x20);
            hi = _mm256_permute2x128_si256(a, c, 0x31);
        } else {
            __m256i v = two ? _mm256_loadu_si256((const __m256i *)(const void *)(data + (size_t)b * 16))
                            : _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(data + (size_t)b * 16)));
            if (!two) v = _mm256_inserti128_si256(v, _mm_setzero_si128(), 1);
            v = _mm256_xor_si256(v, flip);
            lo = _mm256_and_si256(v, m4);
            hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
        }
        for (t = 0; t < nt; t++) {
            const unsigned char *rt = rec + (size_t)t * lda;
            __m256i xl = _mm256_loadu_si256((const __m256i *)(const void *)rt);
            __m256i xh = _mm256_loadu_si256((const __m256i *)(const void *)(rt + 32)), p;
            __m256 f = _mm256_mul_ps(sv, _mm256_loadu_ps((const float *)(const void *)(rt + 96)));
            if (k->dtype == UNIQL_DTYPE_Q8) {
                /* signed x signed: |w| * (x * sign w); two halves summed in int32 */
                p = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(lo, lo), _mm256_sign_epi8(xl, lo)), ones),
                                     _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(hi, hi), _mm256_sign_epi8(xh, hi)), ones));
            } else {
                /* unsigned nibbles u: sum (u - z) x = sum u x - z * (pair sums of x); |.| <= 15240 fits int16 */
                __m256i s16 = _mm256_loadu_si256((const __m256i *)(const void *)(rt + 64));
                __m256i p16 = _mm256_add_epi16(_mm256_maddubs_epi16(lo, xl), _mm256_maddubs_epi16(hi, xh));
                p = _mm256_madd_epi16(_mm256_sub_epi16(p16, _mm256_mullo_epi16(zv, s16)), ones);
            }
            acc[t][par] = _mm256_add_ps(acc[t][par], _mm256_mul_ps(f, _mm256_cvtepi32_ps(p)));
        }
    }
    for (t = 0; t < nt; t++) out[t] += uniql__avx2_hsum(_mm256_add_ps(acc[t][0], acc[t][1]));
}

static int uniql__cpu_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif /* AVX2 */

/* ---- 4e. NEON twins (AArch64). The I8ACT kernel keeps the AVX2 lane structure (two
   int32x4 halves = lanes 0..7), so its results equal the scalar reference. ---- */
#if !defined(UNIQL_NO_SIMD) && defined(__ARM_NEON) && defined(__aarch64__)
#define UNIQL__HAVE_NEON 1
#include <arm_neon.h>

static int8x16x2_t uniql__neon_block(uniql_dtype dt, const unsigned char *blk, int8x16_t xr, int8x16_t zv)
{
    int8x16x2_t r;
    uint8x16_t b, m = vdupq_n_u8(15);
    if (dt == UNIQL_DTYPE_Q8) {
        r.val[0] = vld1q_s8((const int8_t *)blk);
        r.val[1] = vld1q_s8((const int8_t *)blk + 16);
        return r;
    }
    b = vld1q_u8(blk);
    r.val[0] = vsubq_s8(veorq_s8(vreinterpretq_s8_u8(vandq_u8(b, m)), xr), zv);
    r.val[1] = vsubq_s8(veorq_s8(vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), xr), zv);
    return r;
}

/* lane l = sum of the products of bytes 4l..4l+3 */
static int32x4_t uniql__neon_dot4(int8x16_t a, int8x16_t b)
{
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(vdupq_n_s32(0), a, b);
#else
    int16x8_t p0 = vmull_s8(vget_low_s8(a), vget_low_s8(b)), p1 = vmull_s8(vget_high_s8(a), vget_high_s8(b));
    return vpaddlq_s16(vpaddq_s16(p0, p1));
#endif
}

static float uniql__neon_hsum(float32x4_t lo, float32x4_t hi)
{
    float32x4_t s = vaddq_f32(lo, hi);
    return (vgetq_lane_f32(s, 0) + vgetq_lane_f32(s, 2)) + (vgetq_lane_f32(s, 1) + vgetq_lane_f32(s, 3));
}

static float uniql__neon_scale(const uniql__qk *k, int g, int8x16_t *zv)
{
    int z = k->dtype == UNIQL_DTYPE_Q4Z ? k->zp[g] : k->dtype == UNIQL_DTYPE_Q4 ? 8 : 0;
    *zv = vdupq_n_s8((int8_t)z);
    return uniql_fp16_to_fp32(k->sc[g]);
}

static void uniql__qdot8_neon(const uniql__qk *k, int b0, int nb, const unsigned char *data, const unsigned char *xa,
                              size_t lda, int nt, float *out)
{
    size_t bb = uniql__block_bytes(k->dtype);
    int8x16_t xr = vdupq_n_s8(k->dtype == UNIQL_DTYPE_Q4 ? 8 : 0), zv = vdupq_n_s8(0);
    float32x4_t acc[UNIQL__NT][2][2];
    int b, t, g = 0, next = 0;
    float s = 0;
    for (t = 0; t < UNIQL__NT; t++) acc[t][0][0] = acc[t][0][1] = acc[t][1][0] = acc[t][1][1] = vdupq_n_f32(0);
    for (b = 0; b < nb; b++) {
        int h = b & 1, par = (b >> 1) & 1;
        int8x16x2_t w;
        if (b == next) { g = k->gb ? (b0 + b) / k->gb : 0; s = uniql__neon_scale(k, g, &zv); next = k->gb ? (g + 1) * k->gb - b0 : nb; }
        w = uniql__neon_block(k->dtype, data + (size_t)b * bb, xr, zv);
        for (t = 0; t < nt; t++) {
            const unsigned char *rec = xa + (size_t)t * lda + (size_t)(b >> 1) * 128;
            int32x4_t is = vaddq_s32(uniql__neon_dot4(w.val[0], vld1q_s8((const int8_t *)rec + 16 * h)),
                                     uniql__neon_dot4(w.val[1], vld1q_s8((const int8_t *)rec + 32 + 16 * h)));
            float32x4_t f = vmulq_f32(vdupq_n_f32(s), vld1q_f32((const float *)(const void *)(rec + 96 + 16 * h)));
            acc[t][par][h] = vaddq_f32(acc[t][par][h], vmulq_f32(f, vcvtq_f32_s32(is)));
        }
    }
    for (t = 0; t < nt; t++)
        out[t] += uniql__neon_hsum(vaddq_f32(acc[t][0][0], acc[t][1][0]), vaddq_f32(acc[t][0][1], acc[t][1][1]));
}

static void uniql__qdot_neon(const uniql__qk *k, int b0, int nb, const unsigned char *data, const float *X, size_t ldx,
                             int nt, float *out)
{
    size_t bb = uniql__block_bytes(k->dtype);
    int8x16_t xr = vdupq_n_s8(k->dtype == UNIQL_DTYPE_Q4 ? 8 : 0), zv = vdupq_n_s8(0);
    float32x4_t acc[UNIQL__NT];
    int b, t, g = 0, next = 0, q;
    float s = 0;
    for (t = 0; t < UNIQL__NT; t++) acc[t] = vdupq_n_f32(0);
    for (b = 0; b < nb; b++) {
        int8x16x2_t w;
        float32x4_t wf[8];
        if (b == next) { g = k->gb ? (b0 + b) / k->gb : 0; s = uniql__neon_scale(k, g, &zv); next = k->gb ? (g + 1) * k->gb - b0 : nb; }
        w = uniql__neon_block(k->dtype, data + (size_t)b * bb, xr, zv);
        for (q = 0; q < 2; q++) {
            int16x8_t l = vmovl_s8(vget_low_s8(w.val[q])), h = vmovl_s8(vget_high_s8(w.val[q]));
            wf[4 * q + 0] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(l)));
            wf[4 * q + 1] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(l)));
            wf[4 * q + 2] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(h)));
            wf[4 * q + 3] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(h)));
        }
        for (t = 0; t < nt; t++) {
            const float *x = X + (size_t)t * ldx + (size_t)b * 32;
            float32x4_t p = vmulq_f32(wf[0], vld1q_f32(x));
            for (q = 1; q < 8; q++) p = vfmaq_f32(p, wf[q], vld1q_f32(x + 4 * q));
            acc[t] = vfmaq_f32(acc[t], vdupq_n_f32(s), p);
        }
    }
    for (t = 0; t < nt; t++) out[t] += vaddvq_f32(acc[t]);
}

static void uniql__fdot_neon(uniql_dtype dt, const unsigned char *row, int L, const float *X, size_t ldx, int nt, float *out)
{
    int e, t;
    if (dt != UNIQL_DTYPE_F32) { uniql__fdot_scalar(dt, row, L, X, ldx, nt, out); return; }
    for (t = 0; t < nt; t++) {
        const float *w = (const float *)(const void *)row, *x = X + (size_t)t * ldx;
        float32x4_t a0 = vdupq_n_f32(0), a1 = vdupq_n_f32(0);
        float s;
        for (e = 0; e + 8 <= L; e += 8) {
            a0 = vfmaq_f32(a0, vld1q_f32(w + e), vld1q_f32(x + e));
            a1 = vfmaq_f32(a1, vld1q_f32(w + e + 4), vld1q_f32(x + e + 4));
        }
        s = vaddvq_f32(vaddq_f32(a0, a1));
        for (; e < L; e++) s += w[e] * x[e];
        out[t] = s;
    }
}
#endif /* NEON */

/* ---- 4f. Kernel selection ---- */

static int uniql__isa_resolve(int kernel)
{
    int isa = kernel & ~(int)UNIQL_KERNEL_I8ACT;
    if (isa == UNIQL_KERNEL_SCALAR) return UNIQL_KERNEL_SCALAR;
#if defined(UNIQL__HAVE_AVX2)
    if ((isa == UNIQL_KERNEL_AUTO || isa == UNIQL_KERNEL_AVX2) && uniql__cpu_avx2()) return UNIQL_KERNEL_AVX2;
#endif
#if defined(UNIQL__HAVE_NEON)
    if (isa == UNIQL_KERNEL_AUTO || isa == UNIQL_KERNEL_NEON) return UNIQL_KERNEL_NEON;
#endif
    return isa == UNIQL_KERNEL_AUTO ? UNIQL_KERNEL_SCALAR : 0;
}

static int uniql__kernels_for(int isa, uniql__kernels *k)
{
    k->fdot = uniql__fdot_scalar;
    k->faxpy = uniql__faxpy_scalar;
    k->qdot = uniql__qdot_scalar;
    k->qaxpy = uniql__qaxpy_scalar;
    k->qdot8 = uniql__qdot8_scalar;
    k->q4x2 = NULL;
    if (isa == UNIQL_KERNEL_SCALAR) return 1;
#if defined(UNIQL__HAVE_AVX2)
    if (isa == UNIQL_KERNEL_AVX2) {
        k->fdot = uniql__fdot_avx2;
        k->faxpy = uniql__faxpy_avx2;
        k->qdot = uniql__qdot_avx2;
        k->qaxpy = uniql__qaxpy_avx2;
        k->qdot8 = uniql__qdot8_avx2;
        k->q4x2 = uniql__q4x2_avx2;
        return 1;
    }
#endif
#if defined(UNIQL__HAVE_NEON)
    if (isa == UNIQL_KERNEL_NEON) {
        k->fdot = uniql__fdot_neon;
        k->qdot = uniql__qdot_neon;
        k->qdot8 = uniql__qdot8_neon;
        return 1;
    }
#endif
    return 0;
}

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
static double uniql__dot_f64(const double *x, const double *y, int n)
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
        nrm[j] = ref[j] = uniql__dot_f64(c, c, p);
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
        xn2 = uniql__dot_f64(v, v, len);
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
            uniql__axpy(y, -beta * uniql__dot_f64(v, y, len), v, len);
            nrm[j] -= y[0] * y[0];
            if (nrm[j] <= 1e-6 * ref[j]) nrm[j] = ref[j] = uniql__dot_f64(y + 1, y + 1, len - 1);
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
        for (j = 0; j < q; j++) nrm[j] = uniql__dot_f64(W + (size_t)j * len, W + (size_t)j * len, len);
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
                g = uniql__dot_f64(xi, xj, len);
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
                if (nrm[i] < 1e-3 * a) nrm[i] = uniql__dot_f64(xi, xi, len);
                if (nrm[j] < 1e-3 * b) nrm[j] = uniql__dot_f64(xj, xj, len);
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
                    if (!missing[u]) uniql__axpy(tmp, -uniql__dot_f64(qu, tmp, len), qu, len);
                }
            nn = uniql__dot_f64(tmp, tmp, len);
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
    for (j = 0; j < q; j++) sig[j] = sqrt(uniql__dot_f64(W + (size_t)j * q, W + (size_t)j * q, q));
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
                uniql__axpy(y, -tau[k] * uniql__dot_f64(v, y, p - k), v, p - k);
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
        ss = uniql__dot_f64(x, x, l - 1);
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
            pv[r] += uniql__dot_f64(br, x, r) + br[r] * x[r];
            uniql__axpy(pv, x[r], br, r);
        }
        for (r = 0; r < l; r++) pv[r] *= beta;
        K = 0.5 * beta * uniql__dot_f64(x, pv, l);
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
            uniql__axpy(zr, -tau[i] * uniql__dot_f64(zr, v, i), v, i);
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

#define UNIQL__CORR_BLOCK 256 /* tokens per packed block */
#define UNIQL__CORR_TILE 128  /* side of the output tile of one job */

static size_t uniql__corr_d8(int d) { return ((size_t)d + 7) / 8 * 8; }

UNIQLDEF uniql_result uniql_corr_init(uniql_corr *acc, int d, void *user)
{
    size_t nsum, nbuf, total;
    if (!acc) return UNIQL_ERR_INVALID_ARG;
    memset(acc, 0, sizeof *acc);
    if (d <= 0) return UNIQL_ERR_SHAPE;
    if (!uniql__mul_size((size_t)d, (size_t)d, &nsum) || !uniql__mul_size(uniql__corr_d8(d), UNIQL__CORR_BLOCK, &nbuf) ||
        !uniql__add_size(nsum, nbuf, &total) || !uniql__add_size(total, 4, &total) ||
        !uniql__mul_size(total, sizeof(double), &total))
        return UNIQL_ERR_OVERFLOW;
    acc->sum = (double *)UNIQL_MALLOC(total, user);
    if (!acc->sum) return UNIQL_ERR_OUT_OF_MEMORY;
    memset(acc->sum, 0, nsum * sizeof(double));
    acc->buf = acc->sum + nsum;
    acc->buf += ((32u - ((uintptr_t)acc->buf & 31u)) & 31u) / sizeof(double);   /* 32-byte aligned panels */
    acc->d = d;
    acc->user = user;
    return UNIQL_OK;
}

/* The kernel of the SYRK: a 4 x 8 tile of sums over nb tokens, acc[r][c] =
   sum_k a[8k + r] * b[8k + c] (a, b: panels of 8 columns, token-major), each started at
   0 and accumulated in token order. For float inputs every product is exact in double,
   so c + a*b rounded once is also what an FMA gives: the AVX2 twin equals this bit for
   bit. */
static void uniql__syrk_4x8_scalar(int nb, const double *a, const double *b, double *acc)
{
    double c[32];
    int k, r, j;
    for (r = 0; r < 32; r++) c[r] = 0.0;
    for (k = 0; k < nb; k++, a += 8, b += 8)
        for (r = 0; r < 4; r++)
            for (j = 0; j < 8; j++) c[r * 8 + j] += a[r] * b[j];
    for (r = 0; r < 32; r++) acc[r] = c[r];
}

#if !defined(UNIQL_NO_SIMD) && (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
__attribute__((target("avx2,fma"))) static void uniql__syrk_4x8_avx2(int nb, const double *a, const double *b, double *acc)
{
    __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    int k;
    for (k = 0; k < nb; k++, a += 8, b += 8) {
        __m256d b0 = _mm256_load_pd(b), b1 = _mm256_load_pd(b + 4), x;
        x = _mm256_broadcast_sd(a);     c00 = _mm256_fmadd_pd(x, b0, c00); c01 = _mm256_fmadd_pd(x, b1, c01);
        x = _mm256_broadcast_sd(a + 1); c10 = _mm256_fmadd_pd(x, b0, c10); c11 = _mm256_fmadd_pd(x, b1, c11);
        x = _mm256_broadcast_sd(a + 2); c20 = _mm256_fmadd_pd(x, b0, c20); c21 = _mm256_fmadd_pd(x, b1, c21);
        x = _mm256_broadcast_sd(a + 3); c30 = _mm256_fmadd_pd(x, b0, c30); c31 = _mm256_fmadd_pd(x, b1, c31);
    }
    _mm256_storeu_pd(acc, c00); _mm256_storeu_pd(acc + 4, c01);
    _mm256_storeu_pd(acc + 8, c10); _mm256_storeu_pd(acc + 12, c11);
    _mm256_storeu_pd(acc + 16, c20); _mm256_storeu_pd(acc + 20, c21);
    _mm256_storeu_pd(acc + 24, c30); _mm256_storeu_pd(acc + 28, c31);
}
#define UNIQL__HAVE_SYRK_AVX2 1
#endif

typedef void (*uniql__syrk_fn)(int nb, const double *a, const double *b, double *acc);

typedef struct uniql__corr_job {
    uniql_corr *acc;
    const double *P;         /* packed block: panel p at P + p * nb * 8 */
    int nb, nt;              /* tokens in the block, tiles per side */
    uniql__syrk_fn kern;
} uniql__corr_job;

/* job = output tile (bi, bj), bi <= bj, numbered row by row of the upper triangle */
static void uniql__corr_tile_job(void *ctx, int job, int worker)
{
    const uniql__corr_job *J = (const uniql__corr_job *)ctx;
    int d = J->acc->d, bi = 0, bj, i0, i1, j0, j1, ir, jr, r, c, rest = job;
    double acc[32];
    (void)worker;
    while (rest >= J->nt - bi) { rest -= J->nt - bi; bi++; }
    bj = bi + rest;
    i0 = bi * UNIQL__CORR_TILE; i1 = i0 + UNIQL__CORR_TILE < d ? i0 + UNIQL__CORR_TILE : d;
    j0 = bj * UNIQL__CORR_TILE; j1 = j0 + UNIQL__CORR_TILE < d ? j0 + UNIQL__CORR_TILE : d;
    for (jr = j0; jr < j1; jr += 8) {
        const double *b = J->P + (size_t)(jr / 8) * (size_t)J->nb * 8;
        for (ir = i0; ir < i1 && ir <= jr + 7; ir += 4) {
            const double *a = J->P + (size_t)(ir / 8) * (size_t)J->nb * 8 + (ir % 8);
            J->kern(J->nb, a, b, acc);
            for (r = 0; r < 4 && ir + r < d; r++) {
                double *row = J->acc->sum + (size_t)(ir + r) * (size_t)d;
                for (c = 0; c < 8 && jr + c < d; c++)
                    if (ir + r <= jr + c) row[jr + c] += acc[r * 8 + c];
            }
        }
    }
}

/* Shared body: X is float (xf) or double (xd). Checks everything first, so an error leaves
   the accumulator as it was. */
static uniql_result uniql__corr_add(uniql_corr *acc, const float *xf, const double *xd, int n, size_t ldx)
{
    int d, t0, t, j, p, np, nt;
    uniql__corr_job J;
    if (!acc || !acc->sum || (!xf && !xd && n > 0)) return UNIQL_ERR_INVALID_ARG;
    d = acc->d;
    if (n < 0 || (n > 0 && ldx < (size_t)d)) return UNIQL_ERR_SHAPE;
    if (acc->kernel != UNIQL_KERNEL_AUTO && acc->kernel != UNIQL_KERNEL_SCALAR && acc->kernel != UNIQL_KERNEL_AVX2 &&
        acc->kernel != UNIQL_KERNEL_NEON)
        return UNIQL_ERR_INVALID_ARG;
    if (n == 0) return UNIQL_OK;
    if (xf ? !uniql__finite_rect_f32(xf, n, d, ldx) : !uniql__finite_rect(xd, n, d, ldx)) return UNIQL_ERR_NONFINITE;
    np = (int)(uniql__corr_d8(d) / 8);
    nt = (d + UNIQL__CORR_TILE - 1) / UNIQL__CORR_TILE;
    J.acc = acc;
    J.P = acc->buf;
    J.nt = nt;
    J.kern = uniql__syrk_4x8_scalar;
#if defined(UNIQL__HAVE_SYRK_AVX2) && defined(UNIQL__HAVE_AVX2)
    /* FMA == multiply-then-add only when the products are exact: float inputs */
    if (xf && (acc->kernel == UNIQL_KERNEL_AUTO || acc->kernel == UNIQL_KERNEL_AVX2) && uniql__cpu_avx2())
        J.kern = uniql__syrk_4x8_avx2;
#endif
    for (t0 = 0; t0 < n; t0 += UNIQL__CORR_BLOCK) {
        int nb = n - t0 < UNIQL__CORR_BLOCK ? n - t0 : UNIQL__CORR_BLOCK;
        /* pack: panel p holds columns 8p..8p+7 of the block, token-major, zero padded */
        for (p = 0; p < np; p++) {
            double *dst = acc->buf + (size_t)p * (size_t)nb * 8;
            for (t = 0; t < nb; t++, dst += 8)
                for (j = 0; j < 8; j++) {
                    int col = 8 * p + j;
                    dst[j] = col >= d ? 0.0 : xf ? (double)xf[(size_t)(t0 + t) * ldx + (size_t)col] : xd[(size_t)(t0 + t) * ldx + (size_t)col];
                }
        }
        /* sum += block^T block, upper triangle, one job per output tile */
        J.nb = nb;
        uniql_parallel_for(acc->parallel, nt * (nt + 1) / 2, uniql__corr_tile_job, &J);
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
            double s = uniql__dot_f64(wi, wi, n - i);
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

#include <locale.h>

/* ---- JSON ----
   Two passes over the text with the same recursive-descent code: the first validates
   everything and counts nodes and string bytes, the second fills one exactly sized
   block. Only duplicate keys are found in the second pass (they need the decoded keys). */

typedef struct uniql__jp {
    const unsigned char *s;
    size_t n, i;
    unsigned flags;
    int depth;
    uniql_error *err;
    /* pass 1: sizes */
    size_t n_nodes, n_str, max_members;
    /* pass 2: the block being filled (NULL in pass 1) */
    uniql_json *nodes;
    size_t node_next;
    char *str;
    size_t str_next;
    const uniql_json **scratch;
} uniql__jp;

static uniql_result uniql__jp_fail(uniql__jp *p, const char *what)
{
    return uniql__fail(p->err, UNIQL_ERR_PARSE, "json: byte %lu: %s", (unsigned long)p->i, what);
}

static void uniql__jp_ws(uniql__jp *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int uniql__jp_lit(uniql__jp *p, const char *lit)
{
    size_t k = strlen(lit);
    if (p->n - p->i < k || memcmp(p->s + p->i, lit, k) != 0) return 0;
    p->i += k;
    return 1;
}

static int uniql__hex4(const unsigned char *s, unsigned *out)
{
    unsigned v = 0;
    int k;
    for (k = 0; k < 4; k++) {
        unsigned c = s[k], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return 0;
        v = v * 16 + d;
    }
    *out = v;
    return 1;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629 table), 0 if ill-formed. */
static size_t uniql__utf8_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t len, k;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;     /* no overlongs */
        if (c == 0xED) hi = 0x9F;     /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;     /* nothing above U+10FFFF */
    } else return 0;
    if (avail < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return len;
}

static void uniql__jp_emit(uniql__jp *p, const unsigned char *b, size_t k)
{
    if (p->str) memcpy(p->str + p->str_next, b, k);
    p->str_next += k;
}

static void uniql__jp_emit_cp(uniql__jp *p, unsigned cp)
{
    unsigned char b[4];
    size_t k;
    if (cp < 0x80) { b[0] = (unsigned char)cp; k = 1; }
    else if (cp < 0x800) { b[0] = (unsigned char)(0xC0 | (cp >> 6)); b[1] = (unsigned char)(0x80 | (cp & 0x3F)); k = 2; }
    else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12)); b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F)); k = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18)); b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); b[3] = (unsigned char)(0x80 | (cp & 0x3F)); k = 4;
    }
    uniql__jp_emit(p, b, k);
}

/* A string at p->i (which is '"'). Pass 1 counts its raw size + 1 (decoding never
   grows it); pass 2 writes the decoded, NUL-terminated bytes. */
static uniql_result uniql__jp_string(uniql__jp *p, const char **out, size_t *out_len)
{
    size_t start = p->str_next, raw0 = p->i;
    p->i++;
    for (;;) {
        unsigned c;
        if (p->i >= p->n) return uniql__jp_fail(p, "unterminated string");
        c = p->s[p->i];
        if (c == '"') { p->i++; break; }
        if (c < 0x20) return uniql__jp_fail(p, "unescaped control character in string");
        if (c == '\\') {
            unsigned char e;
            if (p->i + 1 >= p->n) return uniql__jp_fail(p, "unterminated string");
            e = p->s[p->i + 1];
            if (e == 'u') {
                unsigned cp, lo;
                if (p->n - p->i < 6 || !uniql__hex4(p->s + p->i + 2, &cp))
                    return uniql__jp_fail(p, "\\u needs four hex digits");
                if (cp >= 0xDC00 && cp <= 0xDFFF) return uniql__jp_fail(p, "lone low surrogate");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (p->n - p->i < 12 || p->s[p->i + 6] != '\\' || p->s[p->i + 7] != 'u' ||
                        !uniql__hex4(p->s + p->i + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return uniql__jp_fail(p, "high surrogate not followed by a \\u low surrogate");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p->i += 6;
                }
                uniql__jp_emit_cp(p, cp);
                p->i += 6;
                continue;
            }
            switch (e) {
            case '"': case '\\': case '/': break;
            case 'b': e = '\b'; break;
            case 'f': e = '\f'; break;
            case 'n': e = '\n'; break;
            case 'r': e = '\r'; break;
            case 't': e = '\t'; break;
            default: p->i++; return uniql__jp_fail(p, "invalid escape");
            }
            uniql__jp_emit(p, &e, 1);
            p->i += 2;
            continue;
        }
        {
            size_t k = uniql__utf8_len(p->s + p->i, p->n - p->i);
            if (!k) return uniql__jp_fail(p, "invalid UTF-8 in string");
            uniql__jp_emit(p, p->s + p->i, k);
            p->i += k;
        }
    }
    if (p->str) {
        p->str[p->str_next] = 0;
        *out = p->str + start;
        *out_len = p->str_next - start;
        p->str_next++;
    } else {
        p->str_next = start;
        p->n_str += p->i - raw0 + 1;
    }
    return UNIQL_OK;
}

static uniql_result uniql__jp_number(uniql__jp *p, double *out)
{
    size_t start = p->i, len, k;
    char buf[257];
    char dp = '.';
    const struct lconv *lc;
    double v;
    if (p->i < p->n && p->s[p->i] == '-') p->i++;
    if (p->i < p->n && p->s[p->i] == '0') {
        p->i++;
        if (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') return uniql__jp_fail(p, "leading zero in number");
    } else if (p->i < p->n && p->s[p->i] >= '1' && p->s[p->i] <= '9') {
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    } else return uniql__jp_fail(p, "invalid value");
    if (p->i < p->n && p->s[p->i] == '.') {
        p->i++;
        if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') return uniql__jp_fail(p, "digit expected after '.'");
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
        if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') return uniql__jp_fail(p, "digit expected in exponent");
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    }
    len = p->i - start;
    if (len > 256) { p->i = start; return uniql__jp_fail(p, "number longer than 256 characters"); }
    /* strtod reads the locale's decimal point: hand it that character */
    lc = localeconv();
    if (lc && lc->decimal_point && lc->decimal_point[0] && !lc->decimal_point[1]) dp = lc->decimal_point[0];
    for (k = 0; k < len; k++) buf[k] = (p->s[start + k] == '.') ? dp : (char)p->s[start + k];
    buf[len] = 0;
    v = strtod(buf, NULL);
    if (isinf(v)) {
        p->i = start;
        return uniql__fail(p->err, UNIQL_ERR_RANGE, "json: byte %lu: number outside the double range",
                           (unsigned long)start);
    }
    *out = v;
    return UNIQL_OK;
}

static int uniql__json_key_cmp(const void *a, const void *b)
{
    const uniql_json *x = *(const uniql_json *const *)a, *y = *(const uniql_json *const *)b;
    size_t m = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, m);
    if (c) return c;
    return x->key_len < y->key_len ? -1 : (x->key_len > y->key_len);
}

static uniql_result uniql__jp_dup_keys(uniql__jp *p, const uniql_json *obj)
{
    const uniql_json *a, *b, *dup = NULL;
    if (obj->count <= 8) {
        for (a = obj->child; a && !dup; a = a->next)
            for (b = a->next; b; b = b->next)
                if (a->key_len == b->key_len && !memcmp(a->key, b->key, a->key_len)) { dup = a; break; }
    } else {
        int k = 0;
        for (a = obj->child; a; a = a->next) p->scratch[k++] = a;
        qsort((void *)p->scratch, (size_t)k, sizeof *p->scratch, uniql__json_key_cmp);
        for (k = 1; k < obj->count && !dup; k++)
            if (!uniql__json_key_cmp(&p->scratch[k - 1], &p->scratch[k])) dup = p->scratch[k];
    }
    if (dup)
        return uniql__fail(p->err, UNIQL_ERR_PARSE, "json: duplicate key \"%.60s\" in the object ending at byte %lu",
                           dup->key, (unsigned long)p->i);
    return UNIQL_OK;
}

static uniql_json *uniql__jp_node(uniql__jp *p)
{
    if (!p->nodes) { p->n_nodes++; return NULL; }
    {
        uniql_json *v = &p->nodes[p->node_next++];
        memset(v, 0, sizeof *v);
        return v;
    }
}

/* One value at p->i (whitespace already skipped); v is its node (NULL in pass 1). */
static uniql_result uniql__jp_value(uniql__jp *p, uniql_json *v)
{
    uniql_result r;
    unsigned char c;
    if (p->i >= p->n) return uniql__jp_fail(p, "value expected");
    c = p->s[p->i];
    if (c == '{' || c == '[') {
        int is_obj = c == '{', count = 0;
        uniql_json *last = NULL;
        unsigned char close = is_obj ? '}' : ']';
        if (++p->depth > UNIQL_JSON_MAX_DEPTH) return uniql__jp_fail(p, "nesting deeper than UNIQL_JSON_MAX_DEPTH");
        if (v) v->type = is_obj ? UNIQL_JSON_OBJECT : UNIQL_JSON_ARRAY;
        p->i++;
        uniql__jp_ws(p);
        if (p->i < p->n && p->s[p->i] == close) p->i++;
        else for (;;) {
            uniql_json *child = uniql__jp_node(p);
            const char *key = NULL;
            size_t key_len = 0;
            if (is_obj) {
                if (p->i >= p->n || p->s[p->i] != '"') return uniql__jp_fail(p, "object key (a string) expected");
                if ((r = uniql__jp_string(p, &key, &key_len)) != UNIQL_OK) return r;
                uniql__jp_ws(p);
                if (p->i >= p->n || p->s[p->i] != ':') return uniql__jp_fail(p, "':' expected after object key");
                p->i++;
                uniql__jp_ws(p);
            }
            if ((r = uniql__jp_value(p, child)) != UNIQL_OK) return r;
            if (child) {
                child->key = key;
                child->key_len = key_len;
                if (last) last->next = child; else v->child = child;
                last = child;
            }
            if (++count == INT32_MAX)
                return uniql__fail(p->err, UNIQL_ERR_OVERFLOW, "json: byte %lu: more than 2^31-2 elements in one container",
                                   (unsigned long)p->i);
            uniql__jp_ws(p);
            if (p->i < p->n && p->s[p->i] == ',') {
                p->i++;
                uniql__jp_ws(p);
                continue;
            }
            if (p->i < p->n && p->s[p->i] == close) { p->i++; break; }
            return uniql__jp_fail(p, is_obj ? "',' or '}' expected" : "',' or ']' expected");
        }
        p->depth--;
        if (is_obj && (size_t)count > p->max_members) p->max_members = (size_t)count;
        if (v) {
            v->count = count;
            if (is_obj && count > 1) return uniql__jp_dup_keys(p, v);
        }
        return UNIQL_OK;
    }
    if (c == '"') {
        const char *s = NULL;
        size_t len = 0;
        if ((r = uniql__jp_string(p, &s, &len)) != UNIQL_OK) return r;
        if (v) { v->type = UNIQL_JSON_STRING; v->str = s; v->len = len; }
        return UNIQL_OK;
    }
    if (uniql__jp_lit(p, "true")) { if (v) v->type = UNIQL_JSON_TRUE; return UNIQL_OK; }
    if (uniql__jp_lit(p, "false")) { if (v) v->type = UNIQL_JSON_FALSE; return UNIQL_OK; }
    if (uniql__jp_lit(p, "null")) { if (v) v->type = UNIQL_JSON_NULL; return UNIQL_OK; }
    if (p->flags & UNIQL_JSON_ALLOW_NONFINITE) {
        double special = 0;
        int hit = 1;
        if (uniql__jp_lit(p, "NaN")) special = (double)NAN;
        else if (uniql__jp_lit(p, "Infinity")) special = (double)INFINITY;
        else if (uniql__jp_lit(p, "-Infinity")) special = -(double)INFINITY;
        else hit = 0;
        if (hit) { if (v) { v->type = UNIQL_JSON_NUMBER; v->number = special; } return UNIQL_OK; }
    }
    {
        double num = 0;
        if ((r = uniql__jp_number(p, &num)) != UNIQL_OK) return r;
        if (v) { v->type = UNIQL_JSON_NUMBER; v->number = num; }
        return UNIQL_OK;
    }
}

static uniql_result uniql__jp_document(uniql__jp *p, uniql_json *root)
{
    uniql_result r;
    p->i = 0;
    p->depth = 0;
    if (p->n >= 3 && p->s[0] == 0xEF && p->s[1] == 0xBB && p->s[2] == 0xBF)
        return uniql__jp_fail(p, "byte order mark (not allowed in JSON text)");
    uniql__jp_ws(p);
    if ((r = uniql__jp_value(p, root)) != UNIQL_OK) return r;
    uniql__jp_ws(p);
    if (p->i != p->n) return uniql__jp_fail(p, "characters after the JSON value");
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_json_parse(const char *text, size_t len, unsigned flags, void *alloc_user,
                                       uniql_json_doc *doc, uniql_error *err)
{
    uniql__jp p;
    uniql_result r;
    size_t node_bytes, scratch_bytes, total;
    unsigned char *mem;
    if (!doc) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "json: doc is NULL");
    memset(doc, 0, sizeof *doc);
    if (!text && len) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "json: text is NULL");
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)text;
    p.n = len;
    p.flags = flags;
    p.err = err;
    p.n_nodes = 1;
    if ((r = uniql__jp_document(&p, NULL)) != UNIQL_OK) return r;
    if (!uniql__mul_size(p.n_nodes, sizeof(uniql_json), &node_bytes) ||
        !uniql__mul_size(p.max_members, sizeof(uniql_json *), &scratch_bytes) ||
        !uniql__add_size(node_bytes, scratch_bytes, &total) || !uniql__add_size(total, p.n_str, &total))
        return uniql__fail(err, UNIQL_ERR_OVERFLOW, "json: document too large");
    mem = (unsigned char *)UNIQL_MALLOC(total ? total : 1, alloc_user);
    if (!mem) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "json: out of memory (%lu bytes)", (unsigned long)total);
    p.nodes = (uniql_json *)(void *)mem;
    p.scratch = (const uniql_json **)(void *)(mem + node_bytes);
    p.str = (char *)(mem + node_bytes + scratch_bytes);
    p.node_next = 0;
    p.str_next = 0;
    {
        uniql_json *root = uniql__jp_node(&p);
        if ((r = uniql__jp_document(&p, root)) != UNIQL_OK) {
            UNIQL_FREE(mem, alloc_user);
            return r;
        }
        UNIQL_ASSERT(p.node_next == p.n_nodes && p.str_next <= p.n_str);
        doc->root = root;
    }
    doc->mem = mem;
    doc->alloc_user = alloc_user;
    return UNIQL_OK;
}

UNIQLDEF void uniql_json_free(uniql_json_doc *doc)
{
    if (!doc) return;
    if (doc->mem) UNIQL_FREE(doc->mem, doc->alloc_user);
    memset(doc, 0, sizeof *doc);
}

UNIQLDEF const uniql_json *uniql_json_get(const uniql_json *obj, const char *key)
{
    const uniql_json *c;
    size_t k;
    if (!obj || obj->type != UNIQL_JSON_OBJECT || !key) return NULL;
    k = strlen(key);
    for (c = obj->child; c; c = c->next)
        if (c->key_len == k && !memcmp(c->key, key, k)) return c;
    return NULL;
}

UNIQLDEF const uniql_json *uniql_json_at(const uniql_json *arr, int i)
{
    const uniql_json *c;
    if (!arr || arr->type != UNIQL_JSON_ARRAY || i < 0 || i >= arr->count) return NULL;
    for (c = arr->child; i > 0; i--) c = c->next;
    return c;
}

/* ---- safetensors ---- */

/* Put `prefix` in front of the message already in err (truncating its tail). */
static void uniql__err_prefix(uniql_error *err, const char *prefix)
{
    size_t p, m, cap = sizeof err->message;
    if (!err) return;
    p = strlen(prefix);
    m = strlen(err->message);
    if (p >= cap) return;
    if (p + m >= cap) m = cap - 1 - p;
    memmove(err->message + p, err->message, m);
    memcpy(err->message, prefix, p);
    err->message[p + m] = 0;
}

static int uniql__host_is_le(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* A JSON number that is an exact integer in [0, 2^53] (what Python's json writes for
   Python ints small enough to be sizes). */
static int uniql__json_uint(const uniql_json *v, uint64_t *out)
{
    if (!v || v->type != UNIQL_JSON_NUMBER || !(v->number >= 0.0) || v->number > 9007199254740992.0 ||
        v->number != floor(v->number))
        return 0;
    *out = (uint64_t)v->number;
    return 1;
}

static void uniql__shape_str(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t k = 0;
    int d;
    buf[0] = 0;
    k += (size_t)snprintf(buf, cap, "[");
    for (d = 0; d < ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

typedef struct uniql__range {
    size_t begin, end;
    int t;
} uniql__range;

static int uniql__range_cmp(const void *a, const void *b)
{
    const uniql__range *x = (const uniql__range *)a, *y = (const uniql__range *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int uniql__tensor_name_cmp(const void *a, const void *b)
{
    return strcmp(((const uniql_tensor *)a)->name, ((const uniql_tensor *)b)->name);
}

/* dtype names of the safetensors format that this library does not compute with */
static const char *const uniql__st_other_dtypes[] = {
    "BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F64",
    "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64", NULL
};

UNIQLDEF uniql_result uniql_safetensors_parse(const void *buf, size_t size, void *alloc_user,
                                              uniql_safetensors *st, uniql_error *err)
{
    const unsigned char *b = (const unsigned char *)buf;
    uint64_t hlen = 0;
    size_t data_size, n = 0, k, cap;
    const uniql_json *m;
    uniql_tensor *tensors = NULL;
    uniql__range *ranges;
    uniql_result r;
    int i;
    char shape_buf[160];

    if (!st) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "safetensors: st is NULL");
    memset(st, 0, sizeof *st);
    if (!buf && size) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "safetensors: buffer is NULL");
    if (!uniql__host_is_le())
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "safetensors: little-endian data on a big-endian host");
    if (size < 8)
        return uniql__fail(err, UNIQL_ERR_TRUNCATED, "safetensors: truncated header: %lu bytes, the header length alone needs 8",
                           (unsigned long)size);
    for (k = 0; k < 8; k++) hlen |= (uint64_t)b[k] << (8 * k);
    if (hlen > (uint64_t)(size - 8))
        return uniql__fail(err, UNIQL_ERR_TRUNCATED, "safetensors: header length %llu runs past the end of the %lu-byte file",
                           (unsigned long long)hlen, (unsigned long)size);
    if (hlen > 100000000u)
        return uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: header of %llu bytes exceeds the 100 MB limit",
                           (unsigned long long)hlen);
    data_size = size - 8 - (size_t)hlen;
    if ((r = uniql_json_parse((const char *)b + 8, (size_t)hlen, 0, alloc_user, &st->header, err)) != UNIQL_OK) {
        uniql__err_prefix(err, "safetensors header: ");
        return r;
    }
    if (st->header.root->type != UNIQL_JSON_OBJECT) {
        uniql_json_free(&st->header);
        return uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: header is not a JSON object");
    }
    for (m = st->header.root->child; m; m = m->next)
        if (strcmp(m->key, "__metadata__") != 0) n++;
    cap = n ? n : 1;
    if (cap > (size_t)INT32_MAX / 2 || !uniql__mul_size(cap, sizeof(uniql_tensor) + sizeof(uniql__range), &k)) {
        uniql_json_free(&st->header);
        return uniql__fail(err, UNIQL_ERR_OVERFLOW, "safetensors: too many tensors");
    }
    tensors = (uniql_tensor *)UNIQL_MALLOC(k, alloc_user);
    if (!tensors) {
        uniql_json_free(&st->header);
        return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "safetensors: out of memory");
    }
    ranges = (uniql__range *)(void *)(tensors + cap);
    i = 0;
    r = UNIQL_OK;
    for (m = st->header.root->child; m && r == UNIQL_OK; m = m->next) {
        uniql_tensor *t = &tensors[i];
        const uniql_json *dt, *shape, *offs, *e;
        uint64_t v, begin, end;
        size_t esize = 0, count = 1;
        int d;
        if (!strcmp(m->key, "__metadata__")) continue;
        memset(t, 0, sizeof *t);
        t->name = m->key;
        if (strlen(m->key) != m->key_len) { r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: a tensor name contains a NUL byte"); break; }
        if (m->type != UNIQL_JSON_OBJECT) { r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': entry is not an object", t->name); break; }
        dt = uniql_json_get(m, "dtype");
        if (!dt || dt->type != UNIQL_JSON_STRING) { r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': no dtype string", t->name); break; }
        if (!strcmp(dt->str, "F32")) { t->dtype = UNIQL_DTYPE_F32; esize = 4; }
        else if (!strcmp(dt->str, "F16")) { t->dtype = UNIQL_DTYPE_F16; esize = 2; }
        else if (!strcmp(dt->str, "BF16")) { t->dtype = UNIQL_DTYPE_BF16; esize = 2; }
        else {
            const char *const *o;
            for (o = uniql__st_other_dtypes; *o && strcmp(*o, dt->str); o++) {}
            r = *o ? uniql__fail(err, UNIQL_ERR_DTYPE, "safetensors: tensor '%.80s': dtype %s is not supported (F32, F16, BF16 only)", t->name, dt->str)
                   : uniql__fail(err, UNIQL_ERR_DTYPE, "safetensors: tensor '%.80s': unknown dtype '%.20s'", t->name, dt->str);
            break;
        }
        shape = uniql_json_get(m, "shape");
        if (!shape || shape->type != UNIQL_JSON_ARRAY || shape->count > UNIQL_MAX_DIMS) {
            r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': shape must be an array of at most %d sizes", t->name, UNIQL_MAX_DIMS);
            break;
        }
        t->ndim = shape->count;
        for (d = 0, e = shape->child; e; e = e->next, d++) {
            if (!uniql__json_uint(e, &v)) break;
            t->shape[d] = (int64_t)v;
        }
        if (e) { r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': shape entries must be non-negative integers", t->name); break; }
        uniql__shape_str(t->shape, t->ndim, shape_buf, sizeof shape_buf);
        for (d = 0; d < t->ndim; d++)
            if ((uint64_t)t->shape[d] > (uint64_t)(size_t)-1 || !uniql__mul_size(count, (size_t)t->shape[d], &count)) break;
        if (d < t->ndim || !uniql__mul_size(count, esize, &t->nbytes)) {
            r = uniql__fail(err, UNIQL_ERR_OVERFLOW, "safetensors: tensor '%.80s': shape %s overflows size_t", t->name, shape_buf);
            break;
        }
        offs = uniql_json_get(m, "data_offsets");
        if (!offs || offs->type != UNIQL_JSON_ARRAY || offs->count != 2 || !uniql__json_uint(offs->child, &begin) ||
            !uniql__json_uint(offs->child->next, &end) || end < begin) {
            r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': data_offsets must be [begin, end] with begin <= end", t->name);
            break;
        }
        if (end - begin != (uint64_t)t->nbytes) {
            r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': data_offsets [%llu, %llu) hold %llu bytes but shape %s of %s needs %lu",
                            t->name, (unsigned long long)begin, (unsigned long long)end, (unsigned long long)(end - begin),
                            shape_buf, dt->str, (unsigned long)t->nbytes);
            break;
        }
        if (end > (uint64_t)data_size) {
            r = uniql__fail(err, UNIQL_ERR_OFFSETS, "safetensors: tensor '%.80s': data_offsets [%llu, %llu) end past the end of the %lu-byte data area",
                            t->name, (unsigned long long)begin, (unsigned long long)end, (unsigned long)data_size);
            break;
        }
        t->data = b + 8 + (size_t)hlen + (size_t)begin;
        ranges[i].begin = (size_t)begin;
        ranges[i].end = (size_t)end;
        ranges[i].t = i;
        i++;
    }
    if (r == UNIQL_OK && n) {
        size_t pos = 0;
        qsort(ranges, n, sizeof *ranges, uniql__range_cmp);
        /* overlaps first, so a moved tensor is reported as the overlap it causes */
        for (k = 1; k < n && r == UNIQL_OK; k++)
            if (ranges[k].begin < ranges[k - 1].end)
                r = uniql__fail(err, UNIQL_ERR_OFFSETS, "safetensors: tensors '%.60s' [%lu, %lu) and '%.60s' [%lu, %lu) overlap",
                                tensors[ranges[k - 1].t].name, (unsigned long)ranges[k - 1].begin, (unsigned long)ranges[k - 1].end,
                                tensors[ranges[k].t].name, (unsigned long)ranges[k].begin, (unsigned long)ranges[k].end);
        for (k = 0; k < n && r == UNIQL_OK; k++) {
            if (ranges[k].begin > pos)
                r = uniql__fail(err, UNIQL_ERR_OFFSETS, "safetensors: gap: bytes [%lu, %lu) of the data area belong to no tensor",
                                (unsigned long)pos, (unsigned long)ranges[k].begin);
            pos = ranges[k].end;
        }
        if (r == UNIQL_OK && pos != data_size)
            r = uniql__fail(err, UNIQL_ERR_OFFSETS, "safetensors: gap: bytes [%lu, %lu) of the data area belong to no tensor",
                            (unsigned long)pos, (unsigned long)data_size);
    } else if (r == UNIQL_OK && data_size)
        r = uniql__fail(err, UNIQL_ERR_OFFSETS, "safetensors: gap: %lu data bytes but no tensors", (unsigned long)data_size);
    if (r != UNIQL_OK) {
        UNIQL_FREE(tensors, alloc_user);
        uniql_json_free(&st->header);
        memset(st, 0, sizeof *st);
        return r;
    }
    qsort(tensors, n, sizeof *tensors, uniql__tensor_name_cmp);
    st->n_tensors = (int)n;
    st->tensors = tensors;
    st->data = b + 8 + (size_t)hlen;
    st->data_size = data_size;
    st->mem = tensors;
    st->alloc_user = alloc_user;
    return UNIQL_OK;
}

/* Binary search in an array of n structs of `size` bytes, sorted by name, whose first
   member is `const char *name` (uniql_tensor, uniql_pack_tensor). NULL if absent. */
static const void *uniql__find_by_name(const void *base, int n, size_t size, const char *name)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const char *const *e = (const char *const *)(const void *)((const char *)base + (size_t)mid * size);
        int c = strcmp(*e, name);
        if (!c) return e;
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return NULL;
}

UNIQLDEF const uniql_tensor *uniql_safetensors_find(const uniql_safetensors *st, const char *name)
{
    if (!st || !name) return NULL;
    return (const uniql_tensor *)uniql__find_by_name(st->tensors, st->n_tensors, sizeof *st->tensors, name);
}

UNIQLDEF void uniql_safetensors_free(uniql_safetensors *st)
{
    if (!st) return;
    if (st->mem) UNIQL_FREE(st->mem, st->alloc_user);
    uniql_json_free(&st->header);
    memset(st, 0, sizeof *st);
}

UNIQLDEF uniql_result uniql_read_file(const char *path, void *alloc_user, void **data, size_t *size, uniql_error *err)
{
    FILE *f;
    long n;
    unsigned char *buf;
    if (!path || !data || !size) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "read_file: NULL argument");
    *data = NULL;
    *size = 0;
    f = fopen(path, "rb");
    if (!f) return uniql__fail(err, UNIQL_ERR_IO, "cannot open '%.200s'", path);
    /* a directory opens on POSIX and ftell then reports a huge size: read one byte first */
    if (getc(f) == EOF && ferror(f)) {
        fclose(f);
        return uniql__fail(err, UNIQL_ERR_IO, "cannot read '%.200s' (a directory?)", path);
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return uniql__fail(err, UNIQL_ERR_IO, "cannot seek in '%.200s'", path);
    }
    buf = (unsigned char *)UNIQL_MALLOC((size_t)n + 1, alloc_user);
    if (!buf) {
        fclose(f);
        return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory reading '%.200s' (%ld bytes)", path, n);
    }
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        UNIQL_FREE(buf, alloc_user);
        return uniql__fail(err, UNIQL_ERR_IO, "short read from '%.200s'", path);
    }
    fclose(f);
    buf[n] = 0;
    *data = buf;
    *size = (size_t)n;
    return UNIQL_OK;
}

UNIQLDEF void uniql_free_buffer(void *p, void *alloc_user)
{
    (void)alloc_user;
    if (p) UNIQL_FREE(p, alloc_user);
}



/* =====================================================================================
   IMPL 7. Runtimes (Llama/Qwen2 block, Mamba2 block, Nemotron-H hybrid, sampling)
   ===================================================================================== */

/* ---- owned storage: a list of blocks with one owner, freed together ---- */

typedef union uniql__block {
    union uniql__block *next;
    double d;
    long long ll;
    void *p;
} uniql__block;

static void *uniql__own(void **storage, size_t bytes, void *user)
{
    uniql__block *h;
    size_t total;
    if (!uniql__add_size(bytes, sizeof *h, &total)) return NULL;
    h = (uniql__block *)UNIQL_MALLOC(total, user);
    if (!h) return NULL;
    h->next = (uniql__block *)*storage;
    *storage = h;
    return h + 1;
}

static void uniql__own_free(void *storage, void *user)
{
    uniql__block *h = (uniql__block *)storage;
    (void)user;
    while (h) {
        uniql__block *next = h->next;
        UNIQL_FREE(h, user);
        h = next;
    }
}

/* ---- config.json ---- */

/* A number, or transformers' {"__float__": "Infinity" | "-Infinity" | "NaN"} encoding. */
static int uniql__cfg_number(const uniql_json *v, double *out)
{
    if (v && v->type == UNIQL_JSON_NUMBER) { *out = v->number; return 1; }
    if (v && v->type == UNIQL_JSON_OBJECT && v->count == 1) {
        const uniql_json *t = uniql_json_get(v, "__float__");
        if (t && t->type == UNIQL_JSON_STRING) {
            if (!strcmp(t->str, "Infinity")) { *out = (double)INFINITY; return 1; }
            if (!strcmp(t->str, "-Infinity")) { *out = -(double)INFINITY; return 1; }
            if (!strcmp(t->str, "NaN")) { *out = (double)NAN; return 1; }
        }
    }
    return 0;
}

/* The value of `alias` if present (transformers lets legacy aliases win), else `key`;
   NULL when absent or JSON null (both mean "use the class default"). */
static const uniql_json *uniql__cfg_get(const uniql_json *root, const char *key, const char *alias)
{
    const uniql_json *v = alias ? uniql_json_get(root, alias) : NULL;
    if (!v || v->type == UNIQL_JSON_NULL) v = uniql_json_get(root, key);
    return v && v->type != UNIQL_JSON_NULL ? v : NULL;
}

static uniql_result uniql__cfg_int(const uniql_json *root, const char *key, const char *alias, int def, int lo, int hi,
                                   int *out, uniql_error *err)
{
    const uniql_json *v = uniql__cfg_get(root, key, alias);
    if (!v) { *out = def; return UNIQL_OK; }
    if (v->type != UNIQL_JSON_NUMBER || v->number != floor(v->number) || v->number < lo || v->number > hi)
        return uniql__fail(err, UNIQL_ERR_FORMAT, "config: '%s' must be an integer in [%d, %d]", key, lo, hi);
    *out = (int)v->number;
    return UNIQL_OK;
}

static uniql_result uniql__cfg_real(const uniql_json *root, const char *key, const char *alias, double def, double *out,
                                    uniql_error *err)
{
    const uniql_json *v = uniql__cfg_get(root, key, alias);
    if (!v) { *out = def; return UNIQL_OK; }
    if (!uniql__cfg_number(v, out)) return uniql__fail(err, UNIQL_ERR_FORMAT, "config: '%s' must be a number", key);
    return UNIQL_OK;
}

static uniql_result uniql__cfg_bool(const uniql_json *root, const char *key, const char *alias, int def, int *out,
                                    uniql_error *err)
{
    const uniql_json *v = uniql__cfg_get(root, key, alias);
    if (!v) { *out = def; return UNIQL_OK; }
    if (v->type != UNIQL_JSON_TRUE && v->type != UNIQL_JSON_FALSE)
        return uniql__fail(err, UNIQL_ERR_FORMAT, "config: '%s' must be true or false", key);
    *out = v->type == UNIQL_JSON_TRUE;
    return UNIQL_OK;
}

static const char *uniql__cfg_str(const uniql_json *root, const char *key, const char *def)
{
    const uniql_json *v = uniql__cfg_get(root, key, NULL);
    return v && v->type == UNIQL_JSON_STRING ? v->str : def;
}

#define UNIQL__TRY(expr) do { uniql_result uniql__r_ = (expr); if (uniql__r_ != UNIQL_OK) return uniql__r_; } while (0)

/* RoPE keys as transformers 5.x standardizes them (modeling_rope_utils.py,
   convert_rope_params_to_dict / standardize_rope_params): rope_scaling (legacy) wins over
   rope_parameters; rope_theta from that dict, else top level, else 10000; rope_type from
   "rope_type", else "type", else "default"; llama3's original_max_position_embeddings
   from the top level (Phi-3 style), else the dict, else max_position_embeddings. */
static uniql_result uniql__cfg_rope(const uniql_json *root, uniql_config *c, uniql_error *err)
{
    const uniql_json *rp = uniql_json_get(root, "rope_scaling");
    const uniql_json *v;
    const char *type = "default";
    double partial = 1.0;
    if (!rp || rp->type != UNIQL_JSON_OBJECT || rp->count == 0) rp = uniql_json_get(root, "rope_parameters");
    if (rp && rp->type == UNIQL_JSON_NULL) rp = NULL;
    if (rp && rp->type != UNIQL_JSON_OBJECT)
        return uniql__fail(err, UNIQL_ERR_FORMAT, "config: rope_parameters must be an object");
    if (rp && (uniql_json_get(rp, "full_attention") || uniql_json_get(rp, "sliding_attention")))
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: per-layer-type RoPE parameters are not supported");
    UNIQL__TRY(uniql__cfg_real(root, "rope_theta", NULL, 10000.0, &c->rope_theta, err));
    if (rp && (v = uniql_json_get(rp, "rope_theta")) != NULL && v->type != UNIQL_JSON_NULL)
        UNIQL__TRY(uniql__cfg_real(rp, "rope_theta", NULL, 0, &c->rope_theta, err));
    if (rp) {
        if ((v = uniql_json_get(rp, "rope_type")) == NULL || v->type == UNIQL_JSON_NULL) v = uniql_json_get(rp, "type");
        if (v && v->type == UNIQL_JSON_STRING) type = v->str;
        else if (v && v->type != UNIQL_JSON_NULL) return uniql__fail(err, UNIQL_ERR_FORMAT, "config: rope_type must be a string");
        UNIQL__TRY(uniql__cfg_real(rp, "partial_rotary_factor", NULL, 1.0, &partial, err));
    }
    if (partial == 1.0) UNIQL__TRY(uniql__cfg_real(root, "partial_rotary_factor", NULL, 1.0, &partial, err));
    if (partial != 1.0) return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: partial_rotary_factor %g is not supported", partial);
    if (!(c->rope_theta > 1.0) || !isfinite(c->rope_theta))
        return uniql__fail(err, UNIQL_ERR_FORMAT, "config: rope_theta must be a finite number > 1");
    c->rope_factor = 1.0;
    c->rope_low_freq_factor = c->rope_high_freq_factor = 0.0;
    c->rope_original_max_pos = c->max_position_embeddings;
    if (!strcmp(type, "default")) {
        c->rope_type = UNIQL_ROPE_DEFAULT;
    } else if (!strcmp(type, "linear") || !strcmp(type, "llama3")) {
        if (!uniql_json_get(rp, "factor")) return uniql__fail(err, UNIQL_ERR_MISSING, "config: RoPE type %s needs 'factor'", type);
        UNIQL__TRY(uniql__cfg_real(rp, "factor", NULL, 1.0, &c->rope_factor, err));
        if (!(c->rope_factor > 0.0) || !isfinite(c->rope_factor))
            return uniql__fail(err, UNIQL_ERR_FORMAT, "config: RoPE factor must be a finite number > 0");
        c->rope_type = UNIQL_ROPE_LINEAR;
        if (!strcmp(type, "llama3")) {
            c->rope_type = UNIQL_ROPE_LLAMA3;
            if (!uniql_json_get(rp, "low_freq_factor") || !uniql_json_get(rp, "high_freq_factor"))
                return uniql__fail(err, UNIQL_ERR_MISSING, "config: RoPE type llama3 needs low_freq_factor and high_freq_factor");
            UNIQL__TRY(uniql__cfg_real(rp, "low_freq_factor", NULL, 0, &c->rope_low_freq_factor, err));
            UNIQL__TRY(uniql__cfg_real(rp, "high_freq_factor", NULL, 0, &c->rope_high_freq_factor, err));
            if (!(c->rope_high_freq_factor > c->rope_low_freq_factor) || !(c->rope_low_freq_factor > 0.0) ||
                !isfinite(c->rope_high_freq_factor))
                return uniql__fail(err, UNIQL_ERR_FORMAT, "config: llama3 RoPE needs 0 < low_freq_factor < high_freq_factor");
            UNIQL__TRY(uniql__cfg_int(rp, "original_max_position_embeddings", NULL, c->max_position_embeddings, 1, INT32_MAX,
                                      &c->rope_original_max_pos, err));
            UNIQL__TRY(uniql__cfg_int(root, "original_max_position_embeddings", NULL, c->rope_original_max_pos, 1, INT32_MAX,
                                      &c->rope_original_max_pos, err));
        }
    } else {
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: RoPE type '%.40s' is not supported (default, linear, llama3)", type);
    }
    return UNIQL_OK;
}

static uniql_result uniql__cfg_llama(const uniql_json *root, uniql_config *c, int qwen, uniql_error *err)
{
    const char *act = uniql__cfg_str(root, "hidden_act", "silu");
    double eps;
    int l, sliding = 0;
    /* defaults: LlamaConfig / Qwen2Config of transformers 5.17 */
    UNIQL__TRY(uniql__cfg_int(root, "vocab_size", NULL, qwen ? 151936 : 32000, 1, 1 << 24, &c->vocab_size, err));
    UNIQL__TRY(uniql__cfg_int(root, "hidden_size", NULL, 4096, 1, 1 << 20, &c->hidden_size, err));
    UNIQL__TRY(uniql__cfg_int(root, "intermediate_size", NULL, qwen ? 22016 : 11008, 1, 1 << 24, &c->intermediate_size, err));
    UNIQL__TRY(uniql__cfg_int(root, "num_hidden_layers", NULL, 32, 1, UNIQL_MAX_LAYERS, &c->n_layers, err));
    UNIQL__TRY(uniql__cfg_int(root, "num_attention_heads", NULL, 32, 1, 1 << 12, &c->n_heads, err));
    UNIQL__TRY(uniql__cfg_int(root, "num_key_value_heads", NULL, c->n_heads, 1, 1 << 12, &c->n_kv_heads, err));
    UNIQL__TRY(uniql__cfg_int(root, "head_dim", NULL, c->hidden_size / c->n_heads, 1, 1 << 12, &c->head_dim, err));
    /* the default hidden_size / num_attention_heads skips the range check: 0 when heads > hidden */
    if (c->head_dim < 1 || c->head_dim > (1 << 12))
        return uniql__fail(err, UNIQL_ERR_SHAPE, "config: head_dim (default hidden_size %d / num_attention_heads %d) is %d",
                           c->hidden_size, c->n_heads, c->head_dim);
    UNIQL__TRY(uniql__cfg_int(root, "max_position_embeddings", NULL, qwen ? 32768 : 2048, 1, INT32_MAX,
                              &c->max_position_embeddings, err));
    UNIQL__TRY(uniql__cfg_real(root, "rms_norm_eps", NULL, 1e-6, &eps, err));
    UNIQL__TRY(uniql__cfg_bool(root, "tie_word_embeddings", NULL, 0, &c->tie_embeddings, err));
    if (qwen) {
        const uniql_json *lt = uniql_json_get(root, "layer_types");
        c->qkv_bias = 1;   /* Qwen2Attention: bias=True on q/k/v, False on o */
        c->o_bias = 0;
        c->mlp_bias = 0;
        UNIQL__TRY(uniql__cfg_bool(root, "use_sliding_window", NULL, 0, &sliding, err));
        if (sliding) return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: Qwen2 sliding-window attention is not supported");
        if (lt && lt->type == UNIQL_JSON_ARRAY) {
            const uniql_json *e;
            for (e = lt->child; e; e = e->next)
                if (e->type != UNIQL_JSON_STRING || strcmp(e->str, "full_attention"))
                    return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: Qwen2 layer type other than full_attention");
        }
    } else {
        UNIQL__TRY(uniql__cfg_bool(root, "attention_bias", NULL, 0, &c->qkv_bias, err));
        c->o_bias = c->qkv_bias;
        UNIQL__TRY(uniql__cfg_bool(root, "mlp_bias", NULL, 0, &c->mlp_bias, err));
    }
    if (strcmp(act, "silu") != 0)
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: hidden_act '%.40s' is not supported (silu)", act);
    c->norm_eps = (float)eps;
    c->mlp_act = UNIQL_MLP_SWIGLU;
    for (l = 0; l < c->n_layers; l++) c->block[l] = UNIQL_BLOCK_DECODER;
    return uniql__cfg_rope(root, c, err);
}

/* Mamba2 mixer keys. Nemotron-H spells some with a mamba_ prefix (legacy aliases win, as in
   NemotronHConfig.__post_init__) and sizes d_inner as mamba_num_heads * mamba_head_dim. */
static uniql_result uniql__cfg_ssm(const uniql_json *root, uniql_config *c, int nemo, uniql_error *err)
{
    const char *act = uniql__cfg_str(root, nemo ? "mamba_hidden_act" : "hidden_act", "silu");
    UNIQL__TRY(uniql__cfg_int(root, nemo ? "mamba_num_heads" : "num_heads", NULL, 128, 1, 1 << 14, &c->ssm_heads, err));
    UNIQL__TRY(uniql__cfg_int(root, nemo ? "mamba_head_dim" : "head_dim", NULL, 64, 1, 1 << 12, &c->ssm_head_dim, err));
    UNIQL__TRY(uniql__cfg_int(root, nemo ? "ssm_state_size" : "state_size", NULL, 128, 1, 1 << 12, &c->ssm_state, err));
    UNIQL__TRY(uniql__cfg_int(root, "n_groups", nemo ? "mamba_n_groups" : NULL, 8, 1, 1 << 14, &c->ssm_groups, err));
    UNIQL__TRY(uniql__cfg_int(root, "conv_kernel", nemo ? "mamba_d_conv" : NULL, 4, 1, 64, &c->conv_kernel, err));
    UNIQL__TRY(uniql__cfg_bool(root, "use_conv_bias", nemo ? "mamba_conv_bias" : NULL, 1, &c->conv_bias, err));
    UNIQL__TRY(uniql__cfg_bool(root, "use_bias", NULL, 0, &c->ssm_proj_bias, err));
    if (strcmp(act, "silu") != 0)
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: Mamba activation '%.40s' is not supported (silu)", act);
    if (c->ssm_heads % c->ssm_groups != 0)
        return uniql__fail(err, UNIQL_ERR_SHAPE, "config: %d Mamba heads do not split into %d groups", c->ssm_heads, c->ssm_groups);
    return UNIQL_OK;
}

static uniql_result uniql__cfg_mamba2(const uniql_json *root, uniql_config *c, uniql_error *err)
{
    double eps, expand, lim0 = 0.0, lim1 = (double)INFINITY;
    const uniql_json *lim;
    int l;
    UNIQL__TRY(uniql__cfg_int(root, "vocab_size", NULL, 32768, 1, 1 << 24, &c->vocab_size, err));
    UNIQL__TRY(uniql__cfg_int(root, "hidden_size", NULL, 4096, 1, 1 << 20, &c->hidden_size, err));
    UNIQL__TRY(uniql__cfg_int(root, "num_hidden_layers", NULL, 64, 1, UNIQL_MAX_LAYERS, &c->n_layers, err));
    UNIQL__TRY(uniql__cfg_real(root, "layer_norm_epsilon", NULL, 1e-5, &eps, err));
    UNIQL__TRY(uniql__cfg_real(root, "expand", NULL, 2.0, &expand, err));
    UNIQL__TRY(uniql__cfg_bool(root, "tie_word_embeddings", NULL, 0, &c->tie_embeddings, err));
    UNIQL__TRY(uniql__cfg_ssm(root, c, 0, err));
    /* Mamba2Config.validate_architecture: hidden_size * expand == num_heads * head_dim */
    if ((double)c->ssm_heads * c->ssm_head_dim != floor(expand * c->hidden_size))
        return uniql__fail(err, UNIQL_ERR_SHAPE, "config: num_heads * head_dim (%d * %d) != expand * hidden_size (%g * %d)",
                           c->ssm_heads, c->ssm_head_dim, expand, c->hidden_size);
    lim = uniql__cfg_get(root, "time_step_limit", NULL);
    if (lim && (lim->type != UNIQL_JSON_ARRAY || lim->count != 2 || !uniql__cfg_number(lim->child, &lim0) ||
                !uniql__cfg_number(lim->child->next, &lim1) || !(lim0 <= lim1)))
        return uniql__fail(err, UNIQL_ERR_FORMAT, "config: time_step_limit must be [low, high] with low <= high");
    c->dt_min = (float)lim0;
    c->dt_max = (float)lim1;
    c->norm_eps = (float)eps;
    c->gated_norm_groups = 1;    /* MambaRMSNormGated normalizes over all of d_inner */
    for (l = 0; l < c->n_layers; l++) c->block[l] = UNIQL_BLOCK_MAMBA;
    return UNIQL_OK;
}

static uniql_result uniql__cfg_block_name(const char *s, size_t len, unsigned char *out, uniql_error *err)
{
    if ((len == 1 && s[0] == 'M') || !strcmp(s, "mamba") || !strcmp(s, "linear_attention")) *out = UNIQL_BLOCK_MAMBA;
    else if ((len == 1 && s[0] == '*') || !strcmp(s, "attention") || !strcmp(s, "full_attention")) *out = UNIQL_BLOCK_ATTENTION;
    else if ((len == 1 && s[0] == '-') || !strcmp(s, "mlp")) *out = UNIQL_BLOCK_MLP;
    else if ((len == 1 && s[0] == 'E') || !strcmp(s, "moe"))
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: Nemotron-H MoE layers are not supported");
    else return uniql__fail(err, UNIQL_ERR_FORMAT, "config: unknown Nemotron-H layer type '%.*s'", (int)(len > 40 ? 40 : len), s);
    return UNIQL_OK;
}

static uniql_result uniql__cfg_nemotron_h(const uniql_json *root, uniql_config *c, uniql_error *err)
{
    const uniql_json *lt = uniql__cfg_get(root, "layers_block_type", "layer_types");
    const uniql_json *pat = uniql__cfg_get(root, "hybrid_override_pattern", NULL);
    const char *act = uniql__cfg_str(root, "mlp_hidden_act", "relu2");
    double eps, dt_min;
    int l;
    /* layers_block_type wins over the legacy pattern (NemotronHConfig.__post_init__); the
       class default ["linear_attention", "moe", "full_attention", "mlp"] has MoE */
    if (lt) {
        const uniql_json *e;
        if (lt->type != UNIQL_JSON_ARRAY || lt->count < 1 || lt->count > UNIQL_MAX_LAYERS)
            return uniql__fail(err, UNIQL_ERR_FORMAT, "config: layers_block_type must be a list of 1..%d strings", UNIQL_MAX_LAYERS);
        for (l = 0, e = lt->child; e; e = e->next, l++) {
            if (e->type != UNIQL_JSON_STRING) return uniql__fail(err, UNIQL_ERR_FORMAT, "config: layers_block_type entries must be strings");
            UNIQL__TRY(uniql__cfg_block_name(e->str, e->len, &c->block[l], err));
        }
        c->n_layers = lt->count;
    } else if (pat) {
        size_t k;
        if (pat->type != UNIQL_JSON_STRING || pat->len < 1 || pat->len > UNIQL_MAX_LAYERS)
            return uniql__fail(err, UNIQL_ERR_FORMAT, "config: hybrid_override_pattern must be a string of 1..%d layers", UNIQL_MAX_LAYERS);
        for (k = 0; k < pat->len; k++) UNIQL__TRY(uniql__cfg_block_name(pat->str + k, 1, &c->block[k], err));
        c->n_layers = (int)pat->len;
    } else {
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: no layers_block_type: the NemotronHConfig default has MoE layers");
    }
    UNIQL__TRY(uniql__cfg_int(root, "vocab_size", NULL, 131072, 1, 1 << 24, &c->vocab_size, err));
    UNIQL__TRY(uniql__cfg_int(root, "hidden_size", NULL, 4096, 1, 1 << 20, &c->hidden_size, err));
    UNIQL__TRY(uniql__cfg_int(root, "num_attention_heads", NULL, 32, 1, 1 << 12, &c->n_heads, err));
    UNIQL__TRY(uniql__cfg_int(root, "num_key_value_heads", NULL, 8, 1, 1 << 12, &c->n_kv_heads, err));
    UNIQL__TRY(uniql__cfg_int(root, "head_dim", NULL, 128, 1, 1 << 12, &c->head_dim, err));
    UNIQL__TRY(uniql__cfg_int(root, "max_position_embeddings", NULL, 4096, 1, INT32_MAX, &c->max_position_embeddings, err));
    UNIQL__TRY(uniql__cfg_int(root, "intermediate_size", NULL, 21504, 1, 1 << 24, &c->intermediate_size, err));
    UNIQL__TRY(uniql__cfg_bool(root, "mlp_bias", NULL, 0, &c->mlp_bias, err));
    UNIQL__TRY(uniql__cfg_real(root, "layer_norm_epsilon", NULL, 1e-5, &eps, err));
    UNIQL__TRY(uniql__cfg_real(root, "time_step_min", "mamba_dt_min", 0.001, &dt_min, err));
    UNIQL__TRY(uniql__cfg_bool(root, "tie_word_embeddings", NULL, 0, &c->tie_embeddings, err));
    UNIQL__TRY(uniql__cfg_ssm(root, c, 1, err));
    if (strcmp(act, "relu2") != 0)
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: mlp_hidden_act '%.40s' is not supported (relu2)", act);
    c->norm_eps = (float)eps;
    c->mlp_act = UNIQL_MLP_RELU2;
    c->qkv_bias = c->o_bias = 0;            /* NemotronHAttention: bias=False throughout */
    c->rope_type = UNIQL_ROPE_NONE;         /* NemotronHAttention applies no rotary embedding */
    /* NemotronHMamba2Mixer: time_step_limit = (time_step_min, inf), the config's own
       time_step_limit is not used */
    c->dt_min = (float)dt_min;
    c->dt_max = (float)INFINITY;
    /* Zamba2RMSNormGated(group_size = d_inner / n_groups) */
    c->gated_norm_groups = c->ssm_groups;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_config_parse(const char *json, size_t len, void *alloc_user, uniql_config *cfg,
                                         uniql_error *err)
{
    uniql_json_doc doc;
    const char *mt;
    uniql_result r;
    uniql_config c;
    if (!cfg || (!json && len)) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "config: NULL argument");
    memset(cfg, 0, sizeof *cfg);
    memset(&c, 0, sizeof c);
    if ((r = uniql_json_parse(json, len, UNIQL_JSON_ALLOW_NONFINITE, alloc_user, &doc, err)) != UNIQL_OK) return r;
    if (doc.root->type != UNIQL_JSON_OBJECT) {
        uniql_json_free(&doc);
        return uniql__fail(err, UNIQL_ERR_FORMAT, "config: not a JSON object");
    }
    mt = uniql__cfg_str(doc.root, "model_type", NULL);
    if (!mt) r = uniql__fail(err, UNIQL_ERR_MISSING, "config: no model_type");
    else if (!strcmp(mt, "llama")) { c.arch = UNIQL_ARCH_LLAMA; r = uniql__cfg_llama(doc.root, &c, 0, err); }
    else if (!strcmp(mt, "qwen2")) { c.arch = UNIQL_ARCH_QWEN2; r = uniql__cfg_llama(doc.root, &c, 1, err); }
    else if (!strcmp(mt, "mamba2")) { c.arch = UNIQL_ARCH_MAMBA2; r = uniql__cfg_mamba2(doc.root, &c, err); }
    else if (!strcmp(mt, "nemotron_h")) { c.arch = UNIQL_ARCH_NEMOTRON_H; r = uniql__cfg_nemotron_h(doc.root, &c, err); }
    else r = uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: model_type '%.40s' is not supported (llama, qwen2, mamba2, nemotron_h)", mt);
    uniql_json_free(&doc);
    if (r != UNIQL_OK) return r;
    /* sizes that must fit together */
    {
        int l, has_attn = 0, has_mamba = 0;
        for (l = 0; l < c.n_layers; l++) {
            has_attn |= c.block[l] == UNIQL_BLOCK_DECODER || c.block[l] == UNIQL_BLOCK_ATTENTION;
            has_mamba |= c.block[l] == UNIQL_BLOCK_MAMBA;
        }
        if (has_attn && c.n_heads % c.n_kv_heads != 0)
            return uniql__fail(err, UNIQL_ERR_SHAPE, "config: %d attention heads do not split into %d KV heads", c.n_heads, c.n_kv_heads);
        if (has_attn && c.rope_type != UNIQL_ROPE_NONE && c.head_dim % 2 != 0)
            return uniql__fail(err, UNIQL_ERR_SHAPE, "config: RoPE needs an even head_dim, got %d", c.head_dim);
        if (has_mamba && (c.ssm_heads * c.ssm_head_dim) % c.gated_norm_groups != 0)
            return uniql__fail(err, UNIQL_ERR_SHAPE, "config: d_inner %d does not split into %d norm groups",
                               c.ssm_heads * c.ssm_head_dim, c.gated_norm_groups);
        /* eps = 0 turns an all-zero hidden state into 0/0 = NaN inside RMSNorm; a float
           underflow (1e-50) is the same; rms_norm_eps of real models is 1e-6 .. 1e-5 */
        if (!(c.norm_eps > 0.0f) || !isfinite(c.norm_eps))
            return uniql__fail(err, UNIQL_ERR_FORMAT, "config: norm epsilon must be a finite number > 0");
    }
    memcpy(cfg, &c, sizeof c);   /* padding stays zero: configs compare with memcmp */
    return UNIQL_OK;
}

/* ---- loading weights ---- */

typedef struct uniql__loader {
    const uniql_safetensors *st;
    const uniql_file_view *files;
    int n_files;
    const uniql_config *c;
    uniql_model *m;
    int weights_f32;
    void *user;
    uniql_error *err;
    const char *prefix;        /* "model." or "backbone." */
    char name[256];
} uniql__loader;

static size_t uniql__dtype_size(uniql_dtype t) { return t == UNIQL_DTYPE_F32 ? 4 : 2; }

static float uniql__elem_f32(uniql_dtype t, const unsigned char *p)
{
    if (t == UNIQL_DTYPE_F32) { float f; memcpy(&f, p, 4); return f; }
    {
        uint16_t h;
        memcpy(&h, p, 2);
        return t == UNIQL_DTYPE_F16 ? uniql_fp16_to_fp32(h) : uniql_bf16_to_fp32(h);
    }
}

static const uniql_tensor *uniql__ld_find(uniql__loader *L, const char *name)
{
    int f;
    for (f = 0; f < L->n_files; f++) {
        const uniql_tensor *t = uniql_safetensors_find(&L->st[f], name);
        if (t) return t;
    }
    return NULL;
}

static uniql_result uniql__ld_name(uniql__loader *L, int layer, const char *suffix)
{
    int k = layer < 0 ? snprintf(L->name, sizeof L->name, "%s", suffix)
                      : snprintf(L->name, sizeof L->name, "%slayers.%d.%s", L->prefix, layer, suffix);
    if (k < 0 || (size_t)k >= sizeof L->name) return uniql__fail(L->err, UNIQL_ERR_INVALID_ARG, "tensor name too long");
    return UNIQL_OK;
}

/* Index of the first NaN/Inf element of t (exponent bits all ones), or -1. */
static long long uniql__tensor_nonfinite(const uniql_tensor *t)
{
    const unsigned char *p = (const unsigned char *)t->data;
    size_t i, n = t->nbytes / uniql__dtype_size(t->dtype);
    for (i = 0; i < n; i++) {
        if (t->dtype == UNIQL_DTYPE_F32) {
            uint32_t u;
            memcpy(&u, p + 4 * i, 4);
            if ((u & 0x7F800000u) == 0x7F800000u) return (long long)i;
        } else {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            if ((h & (t->dtype == UNIQL_DTYPE_F16 ? 0x7C00u : 0x7F80u)) == (t->dtype == UNIQL_DTYPE_F16 ? 0x7C00u : 0x7F80u))
                return (long long)i;
        }
    }
    return -1;
}

/* The tensor L->name with shape d0 (x d1 (x d2)); ndim = number of dims expected. A conv1d
   weight [C, 1, K] is also accepted as [C, K]. Every element must be finite: a NaN/Inf
   weight would only surface later as NaN logits. */
static uniql_result uniql__ld_tensor(uniql__loader *L, int ndim, int64_t d0, int64_t d1, int64_t d2, const uniql_tensor **out)
{
    const uniql_tensor *t = uniql__ld_find(L, L->name);
    int64_t want[3];
    int ok, d;
    char have_s[160], want_s[160];
    if (!t) return uniql__fail(L->err, UNIQL_ERR_MISSING, "tensor '%.200s' not found", L->name);
    want[0] = d0; want[1] = d1; want[2] = d2;
    ok = t->ndim == ndim;
    for (d = 0; ok && d < ndim; d++) ok = t->shape[d] == want[d];
    if (!ok && ndim == 3 && d1 == 1 && t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d2) ok = 1;
    if (!ok) {
        uniql__shape_str(t->shape, t->ndim, have_s, sizeof have_s);
        uniql__shape_str(want, ndim, want_s, sizeof want_s);
        return uniql__fail(L->err, UNIQL_ERR_SHAPE, "tensor '%.150s' has shape %s, config expects %s", L->name, have_s, want_s);
    }
    {
        long long bad = uniql__tensor_nonfinite(t);
        if (bad >= 0)
            return uniql__fail(L->err, UNIQL_ERR_NONFINITE, "tensor '%.200s': element %lld is NaN or Inf", L->name, bad);
    }
    *out = t;
    return UNIQL_OK;
}

/* A weight matrix view over the file bytes; an owned copy when asked for fp32 or when the
   file leaves the data misaligned for its element type (casting would be undefined). */
static uniql_result uniql__ld_matrix(uniql__loader *L, int layer, const char *suffix, int rows, int cols, uniql_matrix *out)
{
    const uniql_tensor *t;
    size_t es, n;
    UNIQL__TRY(uniql__ld_name(L, layer, suffix));
    UNIQL__TRY(uniql__ld_tensor(L, 2, rows, cols, 0, &t));
    es = uniql__dtype_size(t->dtype);
    n = (size_t)rows * (size_t)cols;
    memset(out, 0, sizeof *out);
    out->dtype = t->dtype;
    out->rows = rows;
    out->cols = cols;
    out->stride = (size_t)cols * es;
    out->group = cols;
    out->data = t->data;
    if (L->weights_f32 && t->dtype != UNIQL_DTYPE_F32) {
        float *dst;
        size_t i, bytes;
        if (!uniql__mul_size(n, 4, &bytes)) return uniql__fail(L->err, UNIQL_ERR_OVERFLOW, "tensor '%.200s' too large", L->name);
        dst = (float *)uniql__own(&L->m->storage, bytes, L->user);
        if (!dst) return uniql__fail(L->err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory converting '%.200s'", L->name);
        for (i = 0; i < n; i++) dst[i] = uniql__elem_f32(t->dtype, (const unsigned char *)t->data + i * es);
        out->dtype = UNIQL_DTYPE_F32;
        out->stride = (size_t)cols * 4;
        out->data = dst;
    } else if (((size_t)t->data) % es != 0) {
        void *dst = uniql__own(&L->m->storage, t->nbytes, L->user);
        if (!dst) return uniql__fail(L->err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory copying '%.200s'", L->name);
        memcpy(dst, t->data, t->nbytes);
        out->data = dst;
    }
    return UNIQL_OK;
}

/* Elements [off, off+count) of tensor t as an owned compact fp32 array. */
static uniql_result uniql__ld_f32(uniql__loader *L, const uniql_tensor *t, size_t off, size_t count, const float **out)
{
    float *dst = (float *)uniql__own(&L->m->storage, count * sizeof(float), L->user);
    size_t i, es = uniql__dtype_size(t->dtype);
    if (!dst) return uniql__fail(L->err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory converting '%.200s'", L->name);
    for (i = 0; i < count; i++) dst[i] = uniql__elem_f32(t->dtype, (const unsigned char *)t->data + (off + i) * es);
    *out = dst;
    return UNIQL_OK;
}

static uniql_result uniql__ld_vector(uniql__loader *L, int layer, const char *suffix, int n, const float **out)
{
    const uniql_tensor *t;
    UNIQL__TRY(uniql__ld_name(L, layer, suffix));
    UNIQL__TRY(uniql__ld_tensor(L, 1, n, 0, 0, &t));
    return uniql__ld_f32(L, t, 0, (size_t)n, out);
}

static uniql_result uniql__ld_attention(uniql__loader *L, int l, uniql_attention *a)
{
    const uniql_config *c = L->c;
    int D = c->hidden_size, qr = c->n_heads * c->head_dim, kr = c->n_kv_heads * c->head_dim;
    a->qk_dim = a->v_dim = c->head_dim;
    UNIQL__TRY(uniql__ld_matrix(L, l, "self_attn.q_proj.weight", qr, D, &a->q));
    UNIQL__TRY(uniql__ld_matrix(L, l, "self_attn.k_proj.weight", kr, D, &a->k));
    UNIQL__TRY(uniql__ld_matrix(L, l, "self_attn.v_proj.weight", kr, D, &a->v));
    UNIQL__TRY(uniql__ld_matrix(L, l, "self_attn.o_proj.weight", D, qr, &a->o));
    if (c->qkv_bias) {
        UNIQL__TRY(uniql__ld_vector(L, l, "self_attn.q_proj.bias", qr, &a->q_bias));
        UNIQL__TRY(uniql__ld_vector(L, l, "self_attn.k_proj.bias", kr, &a->k_bias));
        UNIQL__TRY(uniql__ld_vector(L, l, "self_attn.v_proj.bias", kr, &a->v_bias));
    }
    if (c->o_bias) UNIQL__TRY(uniql__ld_vector(L, l, "self_attn.o_proj.bias", D, &a->o_bias));
    return UNIQL_OK;
}

/* Nemotron-H names the attention projections of its "*" blocks mixer.q_proj etc. */
static uniql_result uniql__ld_attention_mixer(uniql__loader *L, int l, uniql_attention *a)
{
    const uniql_config *c = L->c;
    int D = c->hidden_size, qr = c->n_heads * c->head_dim, kr = c->n_kv_heads * c->head_dim;
    a->qk_dim = a->v_dim = c->head_dim;
    UNIQL__TRY(uniql__ld_matrix(L, l, "mixer.q_proj.weight", qr, D, &a->q));
    UNIQL__TRY(uniql__ld_matrix(L, l, "mixer.k_proj.weight", kr, D, &a->k));
    UNIQL__TRY(uniql__ld_matrix(L, l, "mixer.v_proj.weight", kr, D, &a->v));
    UNIQL__TRY(uniql__ld_matrix(L, l, "mixer.o_proj.weight", D, qr, &a->o));
    return UNIQL_OK;
}

static uniql_result uniql__ld_mlp(uniql__loader *L, int l, const char *base, uniql_mlp *p)
{
    const uniql_config *c = L->c;
    int D = c->hidden_size, I = c->intermediate_size;
    char s[64];
    p->d_int = I;
    if (c->mlp_act == UNIQL_MLP_SWIGLU) {
        snprintf(s, sizeof s, "%sgate_proj.weight", base);
        UNIQL__TRY(uniql__ld_matrix(L, l, s, I, D, &p->gate));
        if (c->mlp_bias) { snprintf(s, sizeof s, "%sgate_proj.bias", base); UNIQL__TRY(uniql__ld_vector(L, l, s, I, &p->gate_bias)); }
    }
    snprintf(s, sizeof s, "%sup_proj.weight", base);
    UNIQL__TRY(uniql__ld_matrix(L, l, s, I, D, &p->up));
    snprintf(s, sizeof s, "%sdown_proj.weight", base);
    UNIQL__TRY(uniql__ld_matrix(L, l, s, D, I, &p->down));
    if (c->mlp_bias) {
        snprintf(s, sizeof s, "%sup_proj.bias", base);
        UNIQL__TRY(uniql__ld_vector(L, l, s, I, &p->up_bias));
        snprintf(s, sizeof s, "%sdown_proj.bias", base);
        UNIQL__TRY(uniql__ld_vector(L, l, s, D, &p->down_bias));
    }
    return UNIQL_OK;
}

/* in_proj rows are [z | x | B | C | dt] (Mamba2Mixer.forward splits gate, xBC, dt, then
   x, B, C); conv1d channels are [x | B | C]. */
static uniql_result uniql__ld_mamba(uniql__loader *L, int l, uniql_mamba *mb)
{
    const uniql_config *c = L->c;
    int D = c->hidden_size, H = c->ssm_heads, Di = H * c->ssm_head_dim, GN = c->ssm_groups * c->ssm_state;
    int K = c->conv_kernel, conv_dim = Di + 2 * GN, proj = Di + conv_dim + H;
    uniql_matrix in;
    const uniql_tensor *t;
    mb->head_dim_kept = c->ssm_head_dim;
    mb->state_kept = c->ssm_state;
    UNIQL__TRY(uniql__ld_matrix(L, l, "mixer.in_proj.weight", proj, D, &in));
    UNIQL__TRY(uniql_matrix_slice(&in, 0, Di, D, &mb->in_z));
    UNIQL__TRY(uniql_matrix_slice(&in, Di, Di, D, &mb->in_x));
    UNIQL__TRY(uniql_matrix_slice(&in, 2 * Di, GN, D, &mb->in_B));
    UNIQL__TRY(uniql_matrix_slice(&in, 2 * Di + GN, GN, D, &mb->in_C));
    UNIQL__TRY(uniql_matrix_slice(&in, 2 * Di + 2 * GN, H, D, &mb->in_dt));
    if (c->ssm_proj_bias) {
        UNIQL__TRY(uniql__ld_name(L, l, "mixer.in_proj.bias"));
        UNIQL__TRY(uniql__ld_tensor(L, 1, proj, 0, 0, &t));
        UNIQL__TRY(uniql__ld_f32(L, t, 0, (size_t)Di, &mb->bias_z));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)Di, (size_t)Di, &mb->bias_x));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)2 * Di, (size_t)GN, &mb->bias_B));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)2 * Di + GN, (size_t)GN, &mb->bias_C));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)2 * Di + 2 * GN, (size_t)H, &mb->bias_dt));
        UNIQL__TRY(uniql__ld_vector(L, l, "mixer.out_proj.bias", D, &mb->out_bias));
    }
    UNIQL__TRY(uniql__ld_name(L, l, "mixer.conv1d.weight"));
    UNIQL__TRY(uniql__ld_tensor(L, 3, conv_dim, 1, K, &t));
    UNIQL__TRY(uniql__ld_f32(L, t, 0, (size_t)Di * K, &mb->conv_x));
    UNIQL__TRY(uniql__ld_f32(L, t, (size_t)Di * K, (size_t)GN * K, &mb->conv_B));
    UNIQL__TRY(uniql__ld_f32(L, t, (size_t)(Di + GN) * K, (size_t)GN * K, &mb->conv_C));
    if (c->conv_bias) {
        UNIQL__TRY(uniql__ld_name(L, l, "mixer.conv1d.bias"));
        UNIQL__TRY(uniql__ld_tensor(L, 1, conv_dim, 0, 0, &t));
        UNIQL__TRY(uniql__ld_f32(L, t, 0, (size_t)Di, &mb->conv_bias_x));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)Di, (size_t)GN, &mb->conv_bias_B));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)Di + GN, (size_t)GN, &mb->conv_bias_C));
    }
    UNIQL__TRY(uniql__ld_vector(L, l, "mixer.A_log", H, &mb->A_log));
    UNIQL__TRY(uniql__ld_vector(L, l, "mixer.D", H, &mb->D));
    UNIQL__TRY(uniql__ld_vector(L, l, "mixer.dt_bias", H, &mb->dt_bias));
    UNIQL__TRY(uniql__ld_vector(L, l, "mixer.norm.weight", Di, &mb->norm));
    UNIQL__TRY(uniql__ld_matrix(L, l, "mixer.out_proj.weight", D, Di, &mb->out));
    return UNIQL_OK;
}

static uniql_result uniql__ld_model(uniql__loader *L)
{
    const uniql_config *c = L->c;
    uniql_model *m = L->m;
    int V = c->vocab_size, D = c->hidden_size, l;
    const char *embed = NULL;
    size_t bytes;
    /* prefixes: Llama/Qwen2 "model."; Mamba2 "backbone." (older dumps "embedding."); Nemotron-H
       "model." in transformers 5, "backbone." in NVIDIA's original checkpoints */
    static const char *const cand[][2] = {
        { "model.", "embed_tokens.weight" }, { "backbone.", "embeddings.weight" }, { "backbone.", "embedding.weight" },
        { "model.", "embeddings.weight" }, { "model.", "embedding.weight" }
    };
    int k, first = (c->arch == UNIQL_ARCH_LLAMA || c->arch == UNIQL_ARCH_QWEN2) ? 0 : 1;
    int last = (c->arch == UNIQL_ARCH_LLAMA || c->arch == UNIQL_ARCH_QWEN2) ? 0 : 4;
    for (k = first; k <= last && !embed; k++) {
        snprintf(L->name, sizeof L->name, "%s%s", cand[k][0], cand[k][1]);
        if (uniql__ld_find(L, L->name)) { L->prefix = cand[k][0]; embed = cand[k][1]; }
    }
    if (!embed)
        return uniql__fail(L->err, UNIQL_ERR_MISSING, "tensor '%s%s' not found", cand[first][0], cand[first][1]);
    if (!uniql__mul_size((size_t)c->n_layers, sizeof(uniql_layer), &bytes) ||
        !(m->layers = (uniql_layer *)uniql__own(&m->storage, bytes, L->user)))
        return uniql__fail(L->err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory");
    memset(m->layers, 0, bytes);
    {
        char full[64];
        snprintf(full, sizeof full, "%s%s", L->prefix, embed);
        UNIQL__TRY(uniql__ld_matrix(L, -1, full, V, D, &m->embed));
        snprintf(full, sizeof full, "%s%s", L->prefix, c->arch == UNIQL_ARCH_LLAMA || c->arch == UNIQL_ARCH_QWEN2 ? "norm.weight" : "norm_f.weight");
        UNIQL__TRY(uniql__ld_vector(L, -1, full, D, &m->final_norm));
    }
    /* tied: HF replaces lm_head.weight by the embedding whatever the file holds, except
       Nemotron-H, whose _tied_weights_keys is empty (a stored lm_head.weight is used) */
    if (c->tie_embeddings && !(c->arch == UNIQL_ARCH_NEMOTRON_H && uniql__ld_find(L, "lm_head.weight")))
        m->lm_head = m->embed;
    else UNIQL__TRY(uniql__ld_matrix(L, -1, "lm_head.weight", V, D, &m->lm_head));
    for (l = 0; l < c->n_layers; l++) {
        uniql_layer *ly = &m->layers[l];
        ly->type = (uniql_block_type)c->block[l];
        switch (ly->type) {
        case UNIQL_BLOCK_DECODER:
            UNIQL__TRY(uniql__ld_vector(L, l, "input_layernorm.weight", D, &ly->norm));
            UNIQL__TRY(uniql__ld_vector(L, l, "post_attention_layernorm.weight", D, &ly->mlp_norm));
            UNIQL__TRY(uniql__ld_attention(L, l, &ly->attn));
            UNIQL__TRY(uniql__ld_mlp(L, l, "mlp.", &ly->mlp));
            break;
        case UNIQL_BLOCK_MAMBA:
            UNIQL__TRY(uniql__ld_vector(L, l, "norm.weight", D, &ly->norm));
            UNIQL__TRY(uniql__ld_mamba(L, l, &ly->mamba));
            break;
        case UNIQL_BLOCK_ATTENTION:
            UNIQL__TRY(uniql__ld_vector(L, l, "norm.weight", D, &ly->norm));
            UNIQL__TRY(uniql__ld_attention_mixer(L, l, &ly->attn));
            break;
        case UNIQL_BLOCK_MLP:
            UNIQL__TRY(uniql__ld_vector(L, l, "norm.weight", D, &ly->norm));
            UNIQL__TRY(uniql__ld_mlp(L, l, "mixer.", &ly->mlp));
            break;
        }
    }
    return UNIQL_OK;
}

/* model.safetensors.index.json: {"metadata": ..., "weight_map": {tensor: file}} */
static uniql_result uniql__check_index(const char *index_json, size_t index_len, const uniql_file_view *files,
                                       const uniql_safetensors *st, int n_files, void *user, uniql_error *err)
{
    uniql_json_doc doc;
    const uniql_json *wm, *e;
    uniql_result r = UNIQL_OK;
    UNIQL__TRY(uniql_json_parse(index_json, index_len, 0, user, &doc, err));
    wm = uniql_json_get(doc.root, "weight_map");
    if (!wm || wm->type != UNIQL_JSON_OBJECT) r = uniql__fail(err, UNIQL_ERR_FORMAT, "index: no weight_map object");
    for (e = wm && r == UNIQL_OK ? wm->child : NULL; e && r == UNIQL_OK; e = e->next) {
        int f;
        if (e->type != UNIQL_JSON_STRING) { r = uniql__fail(err, UNIQL_ERR_FORMAT, "index: weight_map values must be file names"); break; }
        for (f = 0; f < n_files && (!files[f].name || strcmp(files[f].name, e->str)); f++) {}
        if (f == n_files) r = uniql__fail(err, UNIQL_ERR_MISSING, "index: tensor '%.100s' is in file '%.100s', which was not provided", e->key, e->str);
        else if (!uniql_safetensors_find(&st[f], e->key))
            r = uniql__fail(err, UNIQL_ERR_MISSING, "index: tensor '%.100s' is not in '%.100s' as the index says", e->key, e->str);
    }
    uniql_json_free(&doc);
    return r;
}

UNIQLDEF uniql_result uniql_model_load(const char *config_json, size_t config_len, const char *index_json,
                                       size_t index_len, const uniql_file_view *files, int n_files,
                                       const uniql_load_options *opt, uniql_model **out, uniql_error *err)
{
    uniql_load_options o;
    uniql_safetensors *st = NULL;
    uniql_model *m = NULL;
    uniql__loader L;
    uniql_result r;
    int f, g, k;
    if (!out || !config_json || n_files < 1 || !files) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "model_load: NULL argument or no files");
    *out = NULL;
    memset(&o, 0, sizeof o);
    if (opt) o = *opt;
    st = (uniql_safetensors *)UNIQL_MALLOC(sizeof *st * (size_t)n_files, o.alloc_user);
    m = (uniql_model *)UNIQL_MALLOC(sizeof *m, o.alloc_user);
    if (!st || !m) {
        if (st) UNIQL_FREE(st, o.alloc_user);
        if (m) UNIQL_FREE(m, o.alloc_user);
        return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory");
    }
    memset(st, 0, sizeof *st * (size_t)n_files);
    memset(m, 0, sizeof *m);
    m->alloc_user = o.alloc_user;
    r = uniql_config_parse(config_json, config_len, o.alloc_user, &m->config, err);
    for (f = 0; f < n_files && r == UNIQL_OK; f++) {
        r = uniql_safetensors_parse(files[f].data, files[f].size, o.alloc_user, &st[f], err);
        if (r != UNIQL_OK) {
            char pre[72];
            snprintf(pre, sizeof pre, "%.60s: ", files[f].name ? files[f].name : "file");
            uniql__err_prefix(err, pre);
        }
    }
    /* one name, one tensor: the same name in two files is ambiguous */
    for (f = 0; f < n_files && r == UNIQL_OK; f++)
        for (k = 0; k < st[f].n_tensors && r == UNIQL_OK; k++)
            for (g = f + 1; g < n_files && r == UNIQL_OK; g++)
                if (uniql_safetensors_find(&st[g], st[f].tensors[k].name))
                    r = uniql__fail(err, UNIQL_ERR_FORMAT, "tensor '%.100s' appears in two files", st[f].tensors[k].name);
    if (r == UNIQL_OK && index_json) r = uniql__check_index(index_json, index_len, files, st, n_files, o.alloc_user, err);
    if (r == UNIQL_OK) {
        memset(&L, 0, sizeof L);
        L.st = st;
        L.files = files;
        L.n_files = n_files;
        L.c = &m->config;
        L.m = m;
        L.weights_f32 = o.weights_f32;
        L.user = o.alloc_user;
        L.err = err;
        r = uniql__ld_model(&L);
    }
    if (r == UNIQL_OK) r = uniql_model_check(m, err);
    for (f = 0; f < n_files; f++) uniql_safetensors_free(&st[f]);
    UNIQL_FREE(st, o.alloc_user);
    if (r != UNIQL_OK) {
        uniql_model_free(m);
        return r;
    }
    *out = m;
    return UNIQL_OK;
}

UNIQLDEF void uniql_model_free(uniql_model *m)
{
    void *user;
    if (!m) return;
    user = m->alloc_user;
    uniql__own_free(m->storage, user);
    UNIQL_FREE(m, user);
}

/* A file name from an index must stay inside the model folder. */
static int uniql__safe_file_name(const char *s)
{
    if (!s[0] || s[0] == '.') return 0;
    for (; *s; s++)
        if (*s == '/' || *s == '\\' || *s == ':') return 0;
    return 1;
}

static uniql_result uniql__read_owned(const char *dir, const char *name, void **storage, void *user, uniql_file_view *fv,
                                      uniql_error *err)
{
    char path[1024];
    void *data;
    size_t size;
    int k = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= sizeof path) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "path too long");
    UNIQL__TRY(uniql_read_file(path, user, &data, &size, err));
    {
        /* move the bytes into a storage block so the model owns them */
        unsigned char *own = (unsigned char *)uniql__own(storage, size + 1, user);
        if (!own) {
            UNIQL_FREE(data, user);
            return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory holding '%.200s'", path);
        }
        memcpy(own, data, size + 1);
        UNIQL_FREE(data, user);
        fv->data = own;
        fv->size = size;
    }
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_model_load_dir(const char *dir, const uniql_load_options *opt, uniql_model **out,
                                           uniql_error *err)
{
    void *storage = NULL, *user = opt ? opt->alloc_user : NULL;
    uniql_file_view cfg, idx, *files = NULL;
    uniql_json_doc doc;
    uniql_result r;
    int n_files = 0, have_index;
    const char **names = NULL;
    memset(&doc, 0, sizeof doc);
    if (!dir || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "model_load_dir: NULL argument");
    *out = NULL;
    memset(&idx, 0, sizeof idx);
    UNIQL__TRY(uniql__read_owned(dir, "config.json", &storage, user, &cfg, err));
    have_index = uniql__read_owned(dir, "model.safetensors.index.json", &storage, user, &idx, NULL) == UNIQL_OK;
    if (have_index) {
        const uniql_json *wm, *e;
        r = uniql_json_parse((const char *)idx.data, idx.size, 0, user, &doc, err);
        wm = r == UNIQL_OK ? uniql_json_get(doc.root, "weight_map") : NULL;
        if (r == UNIQL_OK && (!wm || wm->type != UNIQL_JSON_OBJECT)) r = uniql__fail(err, UNIQL_ERR_FORMAT, "index: no weight_map object");
        if (r == UNIQL_OK) {
            names = (const char **)uniql__own(&storage, sizeof *names * (size_t)(wm->count + 1), user);
            if (!names) r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory");
        }
        for (e = r == UNIQL_OK ? wm->child : NULL; e && r == UNIQL_OK; e = e->next) {
            int k;
            if (e->type != UNIQL_JSON_STRING || !uniql__safe_file_name(e->str)) {
                r = uniql__fail(err, UNIQL_ERR_FORMAT, "index: '%.100s' is not a plain file name", e->type == UNIQL_JSON_STRING ? e->str : "?");
                break;
            }
            for (k = 0; k < n_files && strcmp(names[k], e->str); k++) {}
            if (k == n_files) names[n_files++] = e->str;
        }
    } else {
        static const char *const single[1] = { "model.safetensors" };
        names = (const char **)single;
        n_files = 1;
        r = UNIQL_OK;
    }
    if (r == UNIQL_OK && n_files == 0) r = uniql__fail(err, UNIQL_ERR_FORMAT, "index: empty weight_map");
    if (r == UNIQL_OK) {
        files = (uniql_file_view *)uniql__own(&storage, sizeof *files * (size_t)n_files, user);
        if (!files) r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (r == UNIQL_OK) {
        int k;
        for (k = 0; k < n_files && r == UNIQL_OK; k++) {
            files[k].name = names[k];
            r = uniql__read_owned(dir, names[k], &storage, user, &files[k], err);
        }
    }
    if (r == UNIQL_OK)
        r = uniql_model_load((const char *)cfg.data, cfg.size, have_index ? (const char *)idx.data : NULL, idx.size, files,
                             n_files, opt, out, err);
    uniql_json_free(&doc);
    if (r != UNIQL_OK) {
        uniql__own_free(storage, user);
        return r;
    }
    /* hand the file bytes to the model: append our block list to its storage */
    {
        uniql__block *h = (uniql__block *)storage;
        if (h) {
            while (h->next) h = h->next;
            h->next = (uniql__block *)(*out)->storage;
            (*out)->storage = storage;
        }
    }
    return UNIQL_OK;
}


/* ---- model check ---- */

static int uniql__view_ok(const uniql_matrix *w, int rows, int cols)
{
    if (w->rows != rows || w->cols != cols) return 0;
    if ((size_t)rows * (size_t)cols > 0 && !w->data) return 0;
    return (int)w->dtype >= (int)UNIQL_DTYPE_F32 && (int)w->dtype <= (int)UNIQL_DTYPE_Q8;
}

#define UNIQL__CHECK(cond, ...) do { if (!(cond)) return uniql__fail(err, UNIQL_ERR_SHAPE, __VA_ARGS__); } while (0)

static uniql_result uniql__check_attn(const uniql_config *c, int l, const uniql_attention *a, uniql_error *err)
{
    int H = c->n_heads, KV = c->n_kv_heads, D = c->hidden_size, j;
    int rope = c->rope_type != UNIQL_ROPE_NONE;
    UNIQL__CHECK(a->qk_dim >= 1 && a->qk_dim <= c->head_dim && (!rope || a->qk_dim % 2 == 0),
                 "layer %d: qk_dim %d must be in [1, %d]%s", l, a->qk_dim, c->head_dim, rope ? " and even" : "");
    UNIQL__CHECK(a->v_dim >= 1 && a->v_dim <= c->head_dim, "layer %d: v_dim %d must be in [1, %d]", l, a->v_dim, c->head_dim);
    UNIQL__CHECK(!rope || a->rope_pairs || a->qk_dim == c->head_dim,
                 "layer %d: qk_dim %d < head_dim %d needs rope_pairs", l, a->qk_dim, c->head_dim);
    UNIQL__CHECK(uniql__view_ok(&a->q, H * a->qk_dim, D), "layer %d: q is %dx%d, expected %dx%d", l, a->q.rows, a->q.cols, H * a->qk_dim, D);
    UNIQL__CHECK(uniql__view_ok(&a->k, KV * a->qk_dim, D), "layer %d: k is %dx%d, expected %dx%d", l, a->k.rows, a->k.cols, KV * a->qk_dim, D);
    UNIQL__CHECK(uniql__view_ok(&a->v, KV * a->v_dim, D), "layer %d: v is %dx%d, expected %dx%d", l, a->v.rows, a->v.cols, KV * a->v_dim, D);
    UNIQL__CHECK(uniql__view_ok(&a->o, D, H * a->v_dim), "layer %d: o is %dx%d, expected %dx%d", l, a->o.rows, a->o.cols, D, H * a->v_dim);
    if (rope && a->rope_pairs)
        for (j = 0; j < KV * (a->qk_dim / 2); j++)
            UNIQL__CHECK(a->rope_pairs[j] >= 0 && a->rope_pairs[j] < c->head_dim / 2,
                         "layer %d: rope_pairs[%d] = %d outside [0, %d)", l, j, a->rope_pairs[j], c->head_dim / 2);
    return UNIQL_OK;
}

static uniql_result uniql__check_mlp(const uniql_config *c, int l, const uniql_mlp *p, uniql_error *err)
{
    int D = c->hidden_size;
    UNIQL__CHECK(p->d_int >= 1 && p->d_int <= c->intermediate_size, "layer %d: d_int %d must be in [1, %d]", l, p->d_int, c->intermediate_size);
    UNIQL__CHECK(c->mlp_act != UNIQL_MLP_SWIGLU || uniql__view_ok(&p->gate, p->d_int, D), "layer %d: gate is %dx%d, expected %dx%d",
                 l, p->gate.rows, p->gate.cols, p->d_int, D);
    UNIQL__CHECK(uniql__view_ok(&p->up, p->d_int, D), "layer %d: up is %dx%d, expected %dx%d", l, p->up.rows, p->up.cols, p->d_int, D);
    UNIQL__CHECK(uniql__view_ok(&p->down, D, p->d_int), "layer %d: down is %dx%d, expected %dx%d", l, p->down.rows, p->down.cols, D, p->d_int);
    return UNIQL_OK;
}

static uniql_result uniql__check_mamba(const uniql_config *c, int l, const uniql_mamba *mb, uniql_error *err)
{
    int D = c->hidden_size, H = c->ssm_heads, P = mb->head_dim_kept, N = mb->state_kept, G = c->ssm_groups;
    UNIQL__CHECK(P >= 1 && P <= c->ssm_head_dim, "layer %d: head_dim_kept %d must be in [1, %d]", l, P, c->ssm_head_dim);
    UNIQL__CHECK(N >= 1 && N <= c->ssm_state, "layer %d: state_kept %d must be in [1, %d]", l, N, c->ssm_state);
    UNIQL__CHECK((H * P) % c->gated_norm_groups == 0, "layer %d: %d kept channels do not split into %d norm groups", l, H * P,
                 c->gated_norm_groups);
    UNIQL__CHECK(uniql__view_ok(&mb->in_z, H * P, D) && uniql__view_ok(&mb->in_x, H * P, D), "layer %d: in_proj z/x views must be %dx%d", l, H * P, D);
    UNIQL__CHECK(uniql__view_ok(&mb->in_B, G * N, D) && uniql__view_ok(&mb->in_C, G * N, D), "layer %d: in_proj B/C views must be %dx%d", l, G * N, D);
    UNIQL__CHECK(uniql__view_ok(&mb->in_dt, H, D), "layer %d: in_proj dt view must be %dx%d", l, H, D);
    UNIQL__CHECK(uniql__view_ok(&mb->out, D, H * P), "layer %d: out_proj is %dx%d, expected %dx%d", l, mb->out.rows, mb->out.cols, D, H * P);
    UNIQL__CHECK(mb->conv_x && mb->conv_B && mb->conv_C && mb->A_log && mb->D && mb->dt_bias && mb->norm,
                 "layer %d: Mamba vectors missing", l);
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_model_check(const uniql_model *m, uniql_error *err)
{
    const uniql_config *c;
    int l;
    if (!m || !m->layers) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "model is NULL or has no layers");
    c = &m->config;
    UNIQL__CHECK(c->n_layers >= 1 && c->n_layers <= UNIQL_MAX_LAYERS && c->hidden_size >= 1 && c->vocab_size >= 1,
                 "config sizes out of range");
    UNIQL__CHECK(uniql__view_ok(&m->embed, c->vocab_size, c->hidden_size), "embedding is %dx%d, expected %dx%d",
                 m->embed.rows, m->embed.cols, c->vocab_size, c->hidden_size);
    UNIQL__CHECK(uniql__view_ok(&m->lm_head, c->vocab_size, c->hidden_size), "lm_head is %dx%d, expected %dx%d",
                 m->lm_head.rows, m->lm_head.cols, c->vocab_size, c->hidden_size);
    UNIQL__CHECK(m->final_norm != NULL, "final norm missing");
    for (l = 0; l < c->n_layers; l++) {
        const uniql_layer *ly = &m->layers[l];
        UNIQL__CHECK(ly->norm != NULL && (int)ly->type == (int)c->block[l], "layer %d: norm missing or block type differs from config", l);
        switch (ly->type) {
        case UNIQL_BLOCK_DECODER:
            UNIQL__CHECK(ly->mlp_norm != NULL, "layer %d: post-attention norm missing", l);
            UNIQL__TRY(uniql__check_attn(c, l, &ly->attn, err));
            UNIQL__TRY(uniql__check_mlp(c, l, &ly->mlp, err));
            break;
        case UNIQL_BLOCK_ATTENTION: UNIQL__TRY(uniql__check_attn(c, l, &ly->attn, err)); break;
        case UNIQL_BLOCK_MLP: UNIQL__TRY(uniql__check_mlp(c, l, &ly->mlp, err)); break;
        case UNIQL_BLOCK_MAMBA: UNIQL__TRY(uniql__check_mamba(c, l, &ly->mamba, err)); break;
        default: return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "layer %d: unknown block type", l);
        }
    }
    return UNIQL_OK;
}

/* ---- RoPE ---- */

/* modeling_rope_utils.py: inv_freq[i] = 1 / theta^(2i/d) in fp32; "linear" divides by
   factor; "llama3" (_compute_llama3_parameters) keeps wavelengths below
   original_max_pos/high_freq_factor, divides those above original_max_pos/low_freq_factor
   by factor and blends linearly in 1/wavelength between the two. */
UNIQLDEF uniql_result uniql_rope_inv_freq(const uniql_config *c, float *inv_freq)
{
    int i, half;
    if (!c || !inv_freq || c->head_dim < 2) return UNIQL_ERR_INVALID_ARG;
    half = c->head_dim / 2;
    for (i = 0; i < half; i++) {
        float e = (float)(2 * i) / (float)c->head_dim;
        float f = (float)(1.0 / (double)(float)pow(c->rope_theta, (double)e));
        if (c->rope_type == UNIQL_ROPE_LINEAR) f = (float)(f / c->rope_factor);
        if (c->rope_type == UNIQL_ROPE_LLAMA3) {
            double wavelen = 2.0 * 3.14159265358979323846 / f, old = c->rope_original_max_pos;
            double low_wl = old / c->rope_low_freq_factor, high_wl = old / c->rope_high_freq_factor;
            if (wavelen > low_wl) f = (float)(f / c->rope_factor);
            else if (wavelen >= high_wl) {
                double smooth = (old / wavelen - c->rope_low_freq_factor) / (c->rope_high_freq_factor - c->rope_low_freq_factor);
                f = (float)((1.0 - smooth) * f / c->rope_factor + smooth * f);
            }
        }
        inv_freq[i] = f;
    }
    return UNIQL_OK;
}

UNIQLDEF void uniql_rope_cos_sin(const float *inv_freq, int n_freq, int pos, float *cos_out, float *sin_out)
{
    int i;
    for (i = 0; i < n_freq; i++) {
        float a = inv_freq[i] * (float)pos;   /* the fp32 product HF's rotary forward forms */
        cos_out[i] = (float)cos((double)a);
        sin_out[i] = (float)sin((double)a);
    }
}

/* q_embed = q * cos + rotate_half(q) * sin, rotate_half(q) = [-q2, q1] */
UNIQLDEF void uniql_rope_apply(float *x, int head_dim, const float *cos_t, const float *sin_t)
{
    int i, half = head_dim / 2;
    for (i = 0; i < half; i++) {
        float a = x[i], b = x[i + half];
        x[i] = a * cos_t[i] - b * sin_t[i];
        x[i + half] = b * cos_t[i] + a * sin_t[i];
    }
}

/* The fused kernel for pruned heads (UniQL, SPEC 2 step 6): the same rotation, pair j at
   its original angle pairs[j], compact interleaved storage. */
UNIQLDEF void uniql_rope_apply_kept(float *x, int n_pairs, const int *pairs, const float *cos_t, const float *sin_t)
{
    int j;
    for (j = 0; j < n_pairs; j++) {
        float a = x[2 * j], b = x[2 * j + 1], cs = cos_t[pairs[j]], sn = sin_t[pairs[j]];
        x[2 * j] = a * cs - b * sn;
        x[2 * j + 1] = b * cs + a * sn;
    }
}

/* Fused kernel over all heads of a layer: per token and KV list, gather cos/sin of the
   kept pairs once, rotate the KV head and its rep query heads. */
static void uniql__rope_kept_rows_scalar(float *const *rows, int n_rows, int n_pairs, const int *pairs,
                                         const float *cos_t, const float *sin_t)
{
    int j, r;
    for (j = 0; j < n_pairs; j++) {
        float cs = cos_t[pairs[j]], sn = sin_t[pairs[j]];
        for (r = 0; r < n_rows; r++) {
            float *x = rows[r] + 2 * j, a = x[0], b = x[1];
            x[0] = a * cs - b * sn;
            x[1] = b * cs + a * sn;
        }
    }
}

#if !defined(UNIQL_NO_SIMD) && (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__GNUC__) || defined(__clang__))
#define UNIQL__ROPE_AVX2 1
#include <immintrin.h>
/* 4 pairs per step: lanes [a0 b0 .. a3 b3]; cos/sin gathered to [c0 c0 .. c3 c3],
   sin signed [-s0 +s0 ..]; out = x*c + swap(x)*s' (a*c - b*s, b*c + a*s; mul then add,
   no FMA, so it rounds exactly like the scalar code). */
__attribute__((target("avx2"))) static void uniql__rope_kept_rows_avx2(float *const *rows, int n_rows, int n_pairs,
                                                                      const int *pairs, const float *cos_t,
                                                                      const float *sin_t)
{
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256 neg_even = _mm256_castsi256_ps(_mm256_setr_epi32((int)0x80000000u, 0, (int)0x80000000u, 0,
                                                                   (int)0x80000000u, 0, (int)0x80000000u, 0));
    int j = 0, r;
    for (; j + 4 <= n_pairs; j += 4) {
        __m256i idx = _mm256_permutevar8x32_epi32(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(pairs + j))), dup);
        __m256 c = _mm256_i32gather_ps(cos_t, idx, 4);
        __m256 sn = _mm256_xor_ps(_mm256_i32gather_ps(sin_t, idx, 4), neg_even);
        for (r = 0; r < n_rows; r++) {
            float *x = rows[r] + 2 * j;
            __m256 v = _mm256_loadu_ps(x);
            __m256 w = _mm256_permute_ps(v, 0xB1);
            _mm256_storeu_ps(x, _mm256_add_ps(_mm256_mul_ps(v, c), _mm256_mul_ps(w, sn)));
        }
    }
    if (j < n_pairs) {
        float *tail[64];
        int r0;
        for (r0 = 0; r0 < n_rows; r0 += 64) {
            int nr = n_rows - r0 < 64 ? n_rows - r0 : 64;
            for (r = 0; r < nr; r++) tail[r] = rows[r0 + r] + 2 * j;
            uniql__rope_kept_rows_scalar(tail, nr, n_pairs - j, pairs + j, cos_t, sin_t);
        }
    }
}
static int uniql__rope_have_avx2(void)
{
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}
#elif !defined(UNIQL_NO_SIMD) && (defined(__ARM_NEON) || defined(__ARM_NEON__))
#define UNIQL__ROPE_NEON 1
#include <arm_neon.h>
/* NEON has no gather: 4 cos/sin loaded by index, a/b de-interleaved by vld2q. */
static void uniql__rope_kept_rows_neon(float *const *rows, int n_rows, int n_pairs, const int *pairs,
                                       const float *cos_t, const float *sin_t)
{
    int j = 0, r;
    for (; j + 4 <= n_pairs; j += 4) {
        float cb[4], sb[4];
        float32x4_t c, sn;
        int i;
        for (i = 0; i < 4; i++) { cb[i] = cos_t[pairs[j + i]]; sb[i] = sin_t[pairs[j + i]]; }
        c = vld1q_f32(cb);
        sn = vld1q_f32(sb);
        for (r = 0; r < n_rows; r++) {
            float *x = rows[r] + 2 * j;
            float32x4x2_t v = vld2q_f32(x), o;
            o.val[0] = vsubq_f32(vmulq_f32(v.val[0], c), vmulq_f32(v.val[1], sn));
            o.val[1] = vaddq_f32(vmulq_f32(v.val[1], c), vmulq_f32(v.val[0], sn));
            vst2q_f32(x, o);
        }
    }
    if (j < n_pairs) {
        float *tail[64];
        int r0;
        for (r0 = 0; r0 < n_rows; r0 += 64) {
            int nr = n_rows - r0 < 64 ? n_rows - r0 : 64;
            for (r = 0; r < nr; r++) tail[r] = rows[r0 + r] + 2 * j;
            uniql__rope_kept_rows_scalar(tail, nr, n_pairs - j, pairs + j, cos_t, sin_t);
        }
    }
}
#endif

typedef void (*uniql__rope_rows_fn)(float *const *, int, int, const int *, const float *, const float *);

static void uniql__rope_kept_qk(uniql__rope_rows_fn fn, float *q, size_t ldq, int n_heads, float *k, size_t ldk,
                                int n_kv_heads, int n_pairs, const int *pairs, int n_tokens, const float *cos_t,
                                const float *sin_t, size_t ld_cs)
{
    float *rows[64];
    int t, g, i, n, rep;
    size_t hd = (size_t)2 * (size_t)n_pairs;
    if (n_kv_heads < 1 || n_pairs < 1 || n_tokens < 1) return;
    rep = q ? n_heads / n_kv_heads : 0;
    for (t = 0; t < n_tokens; t++) {
        const float *cs = cos_t + (size_t)t * ld_cs, *sn = sin_t + (size_t)t * ld_cs;
        for (g = 0; g < n_kv_heads; g++) {
            const int *pl = pairs + (size_t)g * (size_t)n_pairs;
            n = 0;
            if (k) rows[n++] = k + (size_t)t * ldk + (size_t)g * hd;
            for (i = 0; i < rep; i++) {
                rows[n++] = q + (size_t)t * ldq + ((size_t)g * (size_t)rep + (size_t)i) * hd;
                if (n == 64) { fn(rows, n, n_pairs, pl, cs, sn); n = 0; }
            }
            if (n > 0) fn(rows, n, n_pairs, pl, cs, sn);
        }
    }
}

UNIQLDEF void uniql_rope_apply_kept_qk_scalar(float *q, size_t ldq, int n_heads, float *k, size_t ldk,
                                              int n_kv_heads, int n_pairs, const int *pairs, int n_tokens,
                                              const float *cos_t, const float *sin_t, size_t ld_cs)
{
    uniql__rope_kept_qk(uniql__rope_kept_rows_scalar, q, ldq, n_heads, k, ldk, n_kv_heads, n_pairs, pairs,
                        n_tokens, cos_t, sin_t, ld_cs);
}

UNIQLDEF void uniql_rope_apply_kept_qk(float *q, size_t ldq, int n_heads, float *k, size_t ldk, int n_kv_heads,
                                       int n_pairs, const int *pairs, int n_tokens, const float *cos_t,
                                       const float *sin_t, size_t ld_cs)
{
    uniql__rope_rows_fn fn = uniql__rope_kept_rows_scalar;
#if defined(UNIQL__ROPE_AVX2)
    if (uniql__rope_have_avx2()) fn = uniql__rope_kept_rows_avx2;
#elif defined(UNIQL__ROPE_NEON)
    fn = uniql__rope_kept_rows_neon;
#endif
    uniql__rope_kept_qk(fn, q, ldq, n_heads, k, ldk, n_kv_heads, n_pairs, pairs, n_tokens, cos_t, sin_t, ld_cs);
}

/* ---- runtime state ---- */

struct uniql_state {
    const uniql_model *m;
    int max_ctx, max_batch, pos, half;
    void *alloc_user;
    int kernel;                    /* uniql_matmul kernel value, I8ACT included when chosen */
    const uniql_parallel *par;
    int n_workers;
    unsigned char *xa;             /* I8ACT records of one chunk (uniql_matmul_par work) */
    size_t xa_bytes;
    float **kc, **vc;          /* per layer: [max_ctx][n_kv][qk_dim], [max_ctx][n_kv][v_dim] */
    float **conv, **ssm;       /* per layer: [conv_kernel-1][channels], [heads][head_dim_kept][state_kept] */
    size_t recurrent_floats;   /* conv + ssm floats, zeroed by reset */
    float *recurrent;
    /* scratch, max_batch tokens */
    float *x, *xn, *q, *k, *v, *att, *scores, *g, *u, *z, *xbc, *dt, *y, *out, *cos_t, *sin_t, *inv_freq, *row;
};

typedef struct uniql__plan {
    size_t floats;
    int ok;
} uniql__plan;

/* reserve a*b*c floats (overflow-checked); returns the offset */
static size_t uniql__plan_take(uniql__plan *p, size_t a, size_t b, size_t c)
{
    size_t n, off = p->floats;
    if (!uniql__mul_size(a, b, &n) || !uniql__mul_size(n, c, &n) || !uniql__add_size(p->floats, n, &p->floats)) p->ok = 0;
    return off;
}

UNIQLDEF uniql_result uniql_state_create(const uniql_model *m, int max_ctx, int max_batch, void *alloc_user,
                                         uniql_state **out)
{
    uniql_state_options o;
    memset(&o, 0, sizeof o);
    o.max_ctx = max_ctx;
    o.max_batch = max_batch;
    o.alloc_user = alloc_user;
    return uniql_state_create_ex(m, &o, out);
}

UNIQLDEF uniql_result uniql_state_create_ex(const uniql_model *m, const uniql_state_options *opt, uniql_state **out)
{
    const uniql_config *c;
    uniql__plan pl;
    size_t o_x, o_xn, o_q, o_k, o_v, o_att, o_sc, o_g, o_u, o_z, o_xbc, o_dt, o_y, o_out, o_cos, o_sin, o_inv, o_row, o_rec, head, total;
    size_t o_xa, xa_bytes;
    size_t *kc_off, *vc_off, *conv_off, *ssm_off;
    size_t offs[4 * UNIQL_MAX_LAYERS];
    int l, L, D, V, B, max_q = 1, max_k = 1, max_v = 1, max_att = 1, max_i = 1, max_hp = 1, max_w = 1, max_h = 1;
    int max_ctx, max_batch, kernel, n_workers, max_in;
    void *alloc_user;
    unsigned char *mem;
    uniql_state *s;
    if (!out) return UNIQL_ERR_INVALID_ARG;
    *out = NULL;
    if (!opt || opt->max_ctx < 1) return UNIQL_ERR_INVALID_ARG;
    if ((unsigned)opt->activations > (unsigned)UNIQL_ACT_I8) return UNIQL_ERR_INVALID_ARG;
    if (opt->kernel < UNIQL_KERNEL_AUTO || opt->kernel > UNIQL_KERNEL_NEON) return UNIQL_ERR_INVALID_ARG;
    if (!uniql_kernel_available(opt->kernel)) return UNIQL_ERR_UNSUPPORTED;
    max_ctx = opt->max_ctx;
    max_batch = opt->max_batch;
    alloc_user = opt->alloc_user;
    kernel = opt->kernel | (opt->activations == UNIQL_ACT_I8 ? (int)UNIQL_KERNEL_I8ACT : 0);
    n_workers = uniql_parallel_workers(opt->parallel);
    UNIQL__TRY(uniql_model_check(m, NULL));
    c = &m->config;
    L = c->n_layers;
    D = c->hidden_size;
    V = c->vocab_size;
    B = max_batch > 0 ? max_batch : 64;
    if (B > max_ctx) B = max_ctx;
    kc_off = offs;
    vc_off = offs + L;
    conv_off = offs + 2 * L;
    ssm_off = offs + 3 * L;
    memset(&pl, 0, sizeof pl);
    pl.ok = 1;
    /* recurrent state first (contiguous, so reset is one memset), then KV caches, scratch */
    for (l = 0; l < L; l++) {
        const uniql_layer *ly = &m->layers[l];
        if (ly->type == UNIQL_BLOCK_MAMBA) {
            int P = ly->mamba.head_dim_kept, N = ly->mamba.state_kept, hp = c->ssm_heads * P, w = hp + 2 * c->ssm_groups * N;
            conv_off[l] = uniql__plan_take(&pl, (size_t)(c->conv_kernel - 1), (size_t)w, 1);
            ssm_off[l] = uniql__plan_take(&pl, (size_t)c->ssm_heads * P, (size_t)N, 1);
            if (hp > max_hp) max_hp = hp;
            if (w > max_w) max_w = w;
            if (c->ssm_heads > max_h) max_h = c->ssm_heads;
        }
    }
    o_rec = pl.floats;
    for (l = 0; l < L; l++) {
        const uniql_layer *ly = &m->layers[l];
        if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_ATTENTION) {
            int qd = ly->attn.qk_dim, vd = ly->attn.v_dim;
            kc_off[l] = uniql__plan_take(&pl, (size_t)max_ctx, (size_t)c->n_kv_heads, (size_t)qd);
            vc_off[l] = uniql__plan_take(&pl, (size_t)max_ctx, (size_t)c->n_kv_heads, (size_t)vd);
            if (c->n_heads * qd > max_q) max_q = c->n_heads * qd;
            if (c->n_kv_heads * qd > max_k) max_k = c->n_kv_heads * qd;
            if (c->n_kv_heads * vd > max_v) max_v = c->n_kv_heads * vd;
            if (c->n_heads * vd > max_att) max_att = c->n_heads * vd;
        }
        if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_MLP)
            if (ly->mlp.d_int > max_i) max_i = ly->mlp.d_int;
    }
    o_x = uniql__plan_take(&pl, (size_t)B, (size_t)D, 1);
    o_xn = uniql__plan_take(&pl, (size_t)B, (size_t)D, 1);
    o_out = uniql__plan_take(&pl, (size_t)B, (size_t)D, 1);
    o_q = uniql__plan_take(&pl, (size_t)B, (size_t)max_q, 1);
    o_k = uniql__plan_take(&pl, (size_t)B, (size_t)max_k, 1);
    o_v = uniql__plan_take(&pl, (size_t)B, (size_t)max_v, 1);
    o_att = uniql__plan_take(&pl, (size_t)B, (size_t)max_att, 1);
    o_sc = uniql__plan_take(&pl, (size_t)max_ctx, (size_t)n_workers, 1);  /* one score row per worker */
    o_g = uniql__plan_take(&pl, (size_t)B, (size_t)max_i, 1);
    o_u = uniql__plan_take(&pl, (size_t)B, (size_t)max_i, 1);
    o_z = uniql__plan_take(&pl, (size_t)B, (size_t)max_hp, 1);
    o_xbc = uniql__plan_take(&pl, (size_t)B, (size_t)max_w, 1);
    o_dt = uniql__plan_take(&pl, (size_t)B, (size_t)max_h, 1);
    o_y = uniql__plan_take(&pl, (size_t)B, (size_t)max_hp, 1);
    o_cos = uniql__plan_take(&pl, (size_t)B, (size_t)(c->head_dim / 2 + 1), 1);
    o_sin = uniql__plan_take(&pl, (size_t)B, (size_t)(c->head_dim / 2 + 1), 1);
    o_inv = uniql__plan_take(&pl, (size_t)(c->head_dim / 2 + 1), 1, 1);
    o_row = uniql__plan_take(&pl, (size_t)(V > D ? V : D), 1, 1);
    /* int8 activation records of a chunk for the widest matrix input (128 B per 64
       inputs: 32 floats' worth per 64 inputs), 16-byte aligned */
    max_in = D > max_att ? D : max_att;
    if (max_i > max_in) max_in = max_i;
    if (max_hp > max_in) max_in = max_hp;
    xa_bytes = (kernel & UNIQL_KERNEL_I8ACT) ? (size_t)B * (size_t)((max_in + 63) / 64) * 128 : 0;
    o_xa = uniql__plan_take(&pl, xa_bytes / sizeof(float) + 4, 1, 1);
    /* the state struct and four per-layer pointer tables come first */
    head = sizeof(uniql_state) + 4 * (size_t)L * sizeof(float *);
    head = (head + 15) & ~(size_t)15;
    if (!pl.ok || !uniql__mul_size(pl.floats, sizeof(float), &total) || !uniql__add_size(total, head, &total))
        return UNIQL_ERR_OVERFLOW;
    mem = (unsigned char *)UNIQL_MALLOC(total, alloc_user);
    if (!mem) return UNIQL_ERR_OUT_OF_MEMORY;
    memset(mem, 0, head + o_rec * sizeof(float));
    s = (uniql_state *)(void *)mem;
    s->m = m;
    s->max_ctx = max_ctx;
    s->max_batch = B;
    s->alloc_user = alloc_user;
    s->kernel = kernel;
    s->par = opt->parallel;
    s->n_workers = n_workers;
    s->xa_bytes = xa_bytes;
    s->half = c->head_dim / 2;
    s->kc = (float **)(void *)(mem + sizeof(uniql_state));
    s->vc = s->kc + L;
    s->conv = s->kc + 2 * L;
    s->ssm = s->kc + 3 * L;
    {
        float *f = (float *)(void *)(mem + head);
        for (l = 0; l < L; l++) {
            const uniql_layer *ly = &m->layers[l];
            s->kc[l] = s->vc[l] = s->conv[l] = s->ssm[l] = NULL;
            if (ly->type == UNIQL_BLOCK_MAMBA) { s->conv[l] = f + conv_off[l]; s->ssm[l] = f + ssm_off[l]; }
            if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_ATTENTION) { s->kc[l] = f + kc_off[l]; s->vc[l] = f + vc_off[l]; }
        }
        s->recurrent = f;
        s->recurrent_floats = o_rec;
        s->x = f + o_x; s->xn = f + o_xn; s->out = f + o_out;
        s->q = f + o_q; s->k = f + o_k; s->v = f + o_v; s->att = f + o_att; s->scores = f + o_sc;
        s->g = f + o_g; s->u = f + o_u;
        s->z = f + o_z; s->xbc = f + o_xbc; s->dt = f + o_dt; s->y = f + o_y;
        s->cos_t = f + o_cos; s->sin_t = f + o_sin; s->inv_freq = f + o_inv; s->row = f + o_row;
        s->xa = (unsigned char *)(void *)(f + o_xa);
        s->xa += (16u - ((uintptr_t)s->xa & 15u)) & 15u;
    }
    if (c->rope_type != UNIQL_ROPE_NONE && c->head_dim >= 2) uniql_rope_inv_freq(c, s->inv_freq);
    *out = s;
    return UNIQL_OK;
}

UNIQLDEF void uniql_state_reset(uniql_state *s)
{
    if (!s) return;
    s->pos = 0;
    memset(s->recurrent, 0, s->recurrent_floats * sizeof(float));
}

UNIQLDEF int uniql_state_pos(const uniql_state *s) { return s ? s->pos : 0; }

UNIQLDEF void uniql_state_free(uniql_state *s)
{
    if (s) UNIQL_FREE(s, s->alloc_user);
}

/* ---- forward ---- */

static void uniql__observe(const uniql_observer *obs, int layer, uniql_site site, int head, const float *x, int n,
                           int width, size_t ld)
{
    if (obs && obs->fn) obs->fn(obs->user, layer, site, head, x, n, width, ld);
}

/* LlamaRMSNorm: w * (x * rsqrt(mean(x^2) + eps)); the mean is accumulated in double */
static void uniql__rmsnorm(float *out, const float *x, const float *w, int n, int D, float eps)
{
    int t, i;
    for (t = 0; t < n; t++) {
        const float *xt = x + (size_t)t * D;
        float *ot = out + (size_t)t * D, inv;
        double ss = 0;
        for (i = 0; i < D; i++) ss += (double)xt[i] * xt[i];
        inv = (float)(1.0 / sqrt(ss / D + eps));
        for (i = 0; i < D; i++) ot[i] = w[i] * (xt[i] * inv);
    }
}

static void uniql__add_bias(float *y, const float *b, int n, int width, size_t ld)
{
    int t, i;
    if (!b) return;
    for (t = 0; t < n; t++)
        for (i = 0; i < width; i++) y[(size_t)t * ld + i] += b[i];
}

static float uniql__silu(float x) { return x / (1.0f + expf(-x)); }

/* torch.nn.functional.softplus (beta 1, threshold 20) */
static float uniql__softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

static float uniql__dot(const float *a, const float *b, int n)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) { s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3]; }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

/* Row r of W in fp32, whatever the view's layout. Float types are decoded directly; the
   packed types go through uniql_matmul on a one-storage-row transposed view (row r is
   the only storage row) or, for a transposed W, through W^T times a one-hot vector. */
static uniql_result uniql__matrix_row(const uniql_matrix *W, int r, float *out, float *work)
{
    int c;
    if (W->dtype == UNIQL_DTYPE_F32 || W->dtype == UNIQL_DTYPE_F16 || W->dtype == UNIQL_DTYPE_BF16) {
        size_t es = uniql__dtype_size(W->dtype);
        if (!W->transposed) {
            size_t p = W->block > 0 ? (size_t)(r / W->block) * W->block_stride + (size_t)(r % W->block) : (size_t)r;
            const unsigned char *row = (const unsigned char *)W->data + p * W->stride;
            for (c = 0; c < W->cols; c++) out[c] = uniql__elem_f32(W->dtype, row + (size_t)c * es);
        } else {
            for (c = 0; c < W->cols; c++) {
                size_t p = W->block > 0 ? (size_t)(c / W->block) * W->block_stride + (size_t)(c % W->block) : (size_t)c;
                out[c] = uniql__elem_f32(W->dtype, (const unsigned char *)W->data + p * W->stride + (size_t)r * es);
            }
        }
        return UNIQL_OK;
    }
    if (!W->transposed) {
        uniql_matrix T = *W;
        size_t p = W->block > 0 ? (size_t)(r / W->block) * W->block_stride + (size_t)(r % W->block) : (size_t)r;
        float one = 1.0f;
        T.transposed = 1;
        T.rows = W->cols;
        T.cols = 1;
        T.block = T.block_stride = 0;
        T.data = (const unsigned char *)W->data + p * W->stride;
        if (W->scales) T.scales = W->scales + p * W->scale_stride;
        if (W->zeros) T.zeros = W->zeros + p * W->scale_stride;
        return uniql_matmul(&T, &one, 1, 1, out, (size_t)W->cols);
    } else {
        uniql_matrix T = *W;
        T.transposed = 0;
        T.rows = W->cols;
        T.cols = W->rows;
        memset(work, 0, sizeof(float) * (size_t)W->rows);
        work[r] = 1.0f;
        return uniql_matmul(&T, work, 1, (size_t)W->rows, out, (size_t)W->cols);
    }
}

/* y = W x through the state's kernel, threads and int8 scratch */
static uniql_result uniql__smm(uniql_state *s, const uniql_matrix *W, const float *X, int n, size_t ldx, float *Y,
                               size_t ldy)
{
    return uniql__matmul_run(W, X, n, ldx, Y, ldy, s->kernel, s->par, s->xa, s->xa_bytes);
}

/* One query head h over the chunk's n tokens: causal softmax(q k^T * scale) v, reading
   KV head h / rep (repeat_kv). One job per head; the score row is the worker's. */
typedef struct uniql__attn_job {
    uniql_state *s;
    int l, n, rep, qd, vd;
    size_t ldq, ldk, ldv, lda;
    float scale;
} uniql__attn_job;

static void uniql__attn_head_job(void *ctx, int h, int worker)
{
    const uniql__attn_job *a = (const uniql__attn_job *)ctx;
    uniql_state *s = a->s;
    float *scores = s->scores + (size_t)worker * (size_t)s->max_ctx;
    const float *kc = s->kc[a->l] + (size_t)(h / a->rep) * a->qd, *vc = s->vc[a->l] + (size_t)(h / a->rep) * a->vd;
    int t, j;
    for (t = 0; t < a->n; t++) {
        int T = s->pos + t + 1;
        const float *qv = s->q + t * a->ldq + (size_t)h * a->qd;
        float *o = s->att + t * a->lda + (size_t)h * a->vd, mx = -INFINITY, inv;
        double sum = 0;
        for (j = 0; j < T; j++) {
            float sc = uniql__dot(qv, kc + (size_t)j * a->ldk, a->qd) * a->scale;
            scores[j] = sc;
            if (sc > mx) mx = sc;
        }
        for (j = 0; j < T; j++) { scores[j] = expf(scores[j] - mx); sum += scores[j]; }
        inv = (float)(1.0 / sum);
        memset(o, 0, sizeof(float) * (size_t)a->vd);
        for (j = 0; j < T; j++) {
            const float *vj = vc + (size_t)j * a->ldv;
            float p = scores[j] * inv;
            int i;
            for (i = 0; i < a->vd; i++) o[i] += p * vj[i];
        }
    }
}

static uniql_result uniql__attention(const uniql_model *m, uniql_state *s, int l, const uniql_attention *a, int n,
                                     const uniql_observer *obs)
{
    const uniql_config *c = &m->config;
    int H = c->n_heads, KV = c->n_kv_heads, rep = H / KV, qd = a->qk_dim, vd = a->v_dim, D = c->hidden_size;
    size_t ldq = (size_t)H * qd, ldk = (size_t)KV * qd, ldv = (size_t)KV * vd, lda = (size_t)H * vd;
    float scale = (float)(1.0 / sqrt((double)c->head_dim));   /* original head_dim, also when pruned */
    int t, h;
    UNIQL__TRY(uniql__smm(s, &a->q, s->xn, n, (size_t)D, s->q, ldq));
    UNIQL__TRY(uniql__smm(s, &a->k, s->xn, n, (size_t)D, s->k, ldk));
    UNIQL__TRY(uniql__smm(s, &a->v, s->xn, n, (size_t)D, s->v, ldv));
    uniql__add_bias(s->q, a->q_bias, n, (int)ldq, ldq);
    uniql__add_bias(s->k, a->k_bias, n, (int)ldk, ldk);
    uniql__add_bias(s->v, a->v_bias, n, (int)ldv, ldv);
    if (c->rope_type != UNIQL_ROPE_NONE && a->rope_pairs) {
        /* pruned q/k: the fused kernel, original angles of the kept pairs, all heads at once */
        uniql_rope_apply_kept_qk(s->q, ldq, H, s->k, ldk, KV, qd / 2, a->rope_pairs, n, s->cos_t, s->sin_t,
                                 (size_t)s->half);
    } else if (c->rope_type != UNIQL_ROPE_NONE) {
        for (t = 0; t < n; t++) {
            const float *cs = s->cos_t + (size_t)t * s->half, *sn = s->sin_t + (size_t)t * s->half;
            for (h = 0; h < H; h++) uniql_rope_apply(s->q + t * ldq + (size_t)h * qd, qd, cs, sn);
            for (h = 0; h < KV; h++) uniql_rope_apply(s->k + t * ldk + (size_t)h * qd, qd, cs, sn);
        }
    }
    if (obs && obs->fn) {
        for (h = 0; h < H; h++) uniql__observe(obs, l, UNIQL_SITE_Q_ROPE, h, s->q + (size_t)h * qd, n, qd, ldq);
        for (h = 0; h < KV; h++) uniql__observe(obs, l, UNIQL_SITE_K_ROPE, h, s->k + (size_t)h * qd, n, qd, ldk);
    }
    memcpy(s->kc[l] + (size_t)s->pos * ldk, s->k, sizeof(float) * ldk * (size_t)n);
    memcpy(s->vc[l] + (size_t)s->pos * ldv, s->v, sizeof(float) * ldv * (size_t)n);
    {
        uniql__attn_job aj;
        aj.s = s; aj.l = l; aj.n = n; aj.rep = rep; aj.qd = qd; aj.vd = vd;
        aj.ldq = ldq; aj.ldk = ldk; aj.ldv = ldv; aj.lda = lda; aj.scale = scale;
        uniql_parallel_for(s->par, H, uniql__attn_head_job, &aj);
    }
    uniql__observe(obs, l, UNIQL_SITE_ATTN_O_IN, -1, s->att, n, (int)lda, lda);
    UNIQL__TRY(uniql__smm(s, &a->o, s->att, n, lda, s->out, (size_t)D));
    uniql__add_bias(s->out, a->o_bias, n, D, (size_t)D);
    return UNIQL_OK;
}

static uniql_result uniql__mlp(const uniql_model *m, uniql_state *s, int l, const uniql_mlp *p, int n, const uniql_observer *obs)
{
    int D = m->config.hidden_size, I = p->d_int;
    size_t i, cnt = (size_t)n * I;
    if (m->config.mlp_act == UNIQL_MLP_SWIGLU) {
        UNIQL__TRY(uniql__smm(s, &p->gate, s->xn, n, (size_t)D, s->g, (size_t)I));
        UNIQL__TRY(uniql__smm(s, &p->up, s->xn, n, (size_t)D, s->u, (size_t)I));
        uniql__add_bias(s->g, p->gate_bias, n, I, (size_t)I);
        uniql__add_bias(s->u, p->up_bias, n, I, (size_t)I);
        for (i = 0; i < cnt; i++) s->g[i] = uniql__silu(s->g[i]) * s->u[i];
    } else {
        UNIQL__TRY(uniql__smm(s, &p->up, s->xn, n, (size_t)D, s->g, (size_t)I));
        uniql__add_bias(s->g, p->up_bias, n, I, (size_t)I);
        for (i = 0; i < cnt; i++) { float r = s->g[i] > 0 ? s->g[i] : 0.0f; s->g[i] = r * r; }
    }
    uniql__observe(obs, l, UNIQL_SITE_MLP_DOWN_IN, -1, s->g, n, I, (size_t)I);
    UNIQL__TRY(uniql__smm(s, &p->down, s->g, n, (size_t)I, s->out, (size_t)D));
    uniql__add_bias(s->out, p->down_bias, n, D, (size_t)D);
    return UNIQL_OK;
}

/* Depthwise causal conv1d + SiLU over `cnt` channels starting at channel `off` of the
   xBC rows (width W), continuing from the last K-1 inputs kept in `win`. out[t] =
   b + sum_k w[k] * in[t - (K-1) + k]: F.conv1d with K-1 zeros of left padding at the
   start of a sequence (causal_conv1d_fn), the cached window afterwards (_update). */
static void uniql__conv_silu(float *xbc, int n, int W, int off, int cnt, const float *w, const float *b, float *win, int K)
{
    int t, ch, k;
    for (t = 0; t < n; t++) {
        float *row = xbc + (size_t)t * W + off;
        for (ch = 0; ch < cnt; ch++) {
            const float *wc = w + (size_t)ch * K;
            float in = row[ch], acc = b ? b[ch] : 0.0f;
            for (k = 0; k < K - 1; k++) acc += wc[k] * win[(size_t)k * W + off + ch];
            acc += wc[K - 1] * in;
            for (k = 0; k + 1 < K - 1; k++) win[(size_t)k * W + off + ch] = win[(size_t)(k + 1) * W + off + ch];
            if (K > 1) win[(size_t)(K - 2) * W + off + ch] = in;
            row[ch] = uniql__silu(acc);
        }
    }
}

/* Selective scan of one SSM head h over the chunk, one token at a time:
   S = exp(dt*A) S + dt B x^T, y = C.S + D x, A = -exp(A_log); head h reads group
   h / (heads per group) of B and C. One job per head (heads are independent). */
typedef struct uniql__scan_job {
    uniql_state *s;
    const uniql_mamba *mb;
    float *S;
    int n, H, P, N, HP, GN, W, per_group;
} uniql__scan_job;

static void uniql__scan_head_job(void *ctx, int h, int worker)
{
    const uniql__scan_job *j = (const uniql__scan_job *)ctx;
    const uniql_mamba *mb = j->mb;
    int t, p, i, P = j->P, N = j->N;
    (void)worker;
    for (t = 0; t < j->n; t++) {
        const float *row = j->s->xbc + (size_t)t * j->W;
        float *yt = j->s->y + (size_t)t * j->HP;
        float dt = j->s->dt[(size_t)t * j->H + h], dA = expf(-expf(mb->A_log[h]) * dt);
        const float *Bv = row + j->HP + (size_t)(h / j->per_group) * N, *Cv = row + j->HP + j->GN + (size_t)(h / j->per_group) * N;
        for (p = 0; p < P; p++) {
            float xv = row[h * P + p], dtx = dt * xv, acc = 0;
            float *Sp = j->S + ((size_t)h * P + p) * N;
            for (i = 0; i < N; i++) {
                Sp[i] = Sp[i] * dA + dtx * Bv[i];
                acc += Sp[i] * Cv[i];
            }
            yt[h * P + p] = acc + mb->D[h] * xv;
        }
    }
}

static uniql_result uniql__mamba(const uniql_model *m, uniql_state *s, int l, const uniql_mamba *mb, int n, const uniql_observer *obs)
{
    const uniql_config *c = &m->config;
    int D = c->hidden_size, H = c->ssm_heads, P = mb->head_dim_kept, N = mb->state_kept, G = c->ssm_groups;
    int HP = H * P, GN = G * N, W = HP + 2 * GN, K = c->conv_kernel, per_group = H / G;
    int ng = c->gated_norm_groups, gsz = HP / ng;
    float *S = s->ssm[l];
    int t, h, i, g;
    UNIQL__TRY(uniql__smm(s, &mb->in_z, s->xn, n, (size_t)D, s->z, (size_t)HP));
    UNIQL__TRY(uniql__smm(s, &mb->in_x, s->xn, n, (size_t)D, s->xbc, (size_t)W));
    UNIQL__TRY(uniql__smm(s, &mb->in_B, s->xn, n, (size_t)D, s->xbc + HP, (size_t)W));
    UNIQL__TRY(uniql__smm(s, &mb->in_C, s->xn, n, (size_t)D, s->xbc + HP + GN, (size_t)W));
    UNIQL__TRY(uniql__smm(s, &mb->in_dt, s->xn, n, (size_t)D, s->dt, (size_t)H));
    uniql__add_bias(s->z, mb->bias_z, n, HP, (size_t)HP);
    uniql__add_bias(s->xbc, mb->bias_x, n, HP, (size_t)W);
    uniql__add_bias(s->xbc + HP, mb->bias_B, n, GN, (size_t)W);
    uniql__add_bias(s->xbc + HP + GN, mb->bias_C, n, GN, (size_t)W);
    uniql__add_bias(s->dt, mb->bias_dt, n, H, (size_t)H);
    uniql__conv_silu(s->xbc, n, W, 0, HP, mb->conv_x, mb->conv_bias_x, s->conv[l], K);
    uniql__conv_silu(s->xbc, n, W, HP, GN, mb->conv_B, mb->conv_bias_B, s->conv[l], K);
    uniql__conv_silu(s->xbc, n, W, HP + GN, GN, mb->conv_C, mb->conv_bias_C, s->conv[l], K);
    uniql__observe(obs, l, UNIQL_SITE_MAMBA_X, -1, s->xbc, n, HP, (size_t)W);
    uniql__observe(obs, l, UNIQL_SITE_MAMBA_B, -1, s->xbc + HP, n, GN, (size_t)W);
    uniql__observe(obs, l, UNIQL_SITE_MAMBA_C, -1, s->xbc + HP + GN, n, GN, (size_t)W);
    /* dt = softplus(dt + dt_bias) clamped to the config's limits. HF clamps only in its
       chunked (prefill) path, not in the single-token update; we clamp in both, which is
       what the model was trained with, so decode equals recomputation. */
    for (t = 0; t < n; t++)
        for (h = 0; h < H; h++) {
            float *d = s->dt + (size_t)t * H + h, v = uniql__softplus(*d + mb->dt_bias[h]);
            if (v < c->dt_min) v = c->dt_min;
            if (v > c->dt_max) v = c->dt_max;
            *d = v;
        }
    uniql__observe(obs, l, UNIQL_SITE_MAMBA_DT, -1, s->dt, n, H, (size_t)H);
    {
        uniql__scan_job sj;
        sj.s = s; sj.mb = mb; sj.S = S; sj.n = n; sj.H = H; sj.P = P; sj.N = N;
        sj.HP = HP; sj.GN = GN; sj.W = W; sj.per_group = per_group;
        uniql_parallel_for(s->par, H, uniql__scan_head_job, &sj);
    }
    for (t = 0; t < n; t++) {
        float *yt = s->y + (size_t)t * HP;
        /* gated RMSNorm, norm_before_gate=False: normalize y * silu(z) over each norm group
           (all of d_inner for Mamba2's MambaRMSNormGated, d_inner/n_groups contiguous
           channels for Nemotron-H's Zamba2RMSNormGated) */
        for (g = 0; g < ng; g++) {
            float *yg = yt + (size_t)g * gsz, inv;
            const float *zg = s->z + (size_t)t * HP + (size_t)g * gsz, *wg = mb->norm + (size_t)g * gsz;
            double ss = 0;
            for (i = 0; i < gsz; i++) { yg[i] *= uniql__silu(zg[i]); ss += (double)yg[i] * yg[i]; }
            inv = (float)(1.0 / sqrt(ss / gsz + c->norm_eps));
            for (i = 0; i < gsz; i++) yg[i] = wg[i] * (yg[i] * inv);
        }
    }
    uniql__observe(obs, l, UNIQL_SITE_MAMBA_OUT_IN, -1, s->y, n, HP, (size_t)HP);
    UNIQL__TRY(uniql__smm(s, &mb->out, s->y, n, (size_t)HP, s->out, (size_t)D));
    uniql__add_bias(s->out, mb->out_bias, n, D, (size_t)D);
    return UNIQL_OK;
}

static int uniql__finite_f32(const float *x, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static void uniql__residual(float *x, const float *out, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++) x[i] += out[i];
}

static uniql_result uniql__forward_chunk(const uniql_model *m, uniql_state *s, const int *tokens, int n, float *logits,
                                         int all_logits, const uniql_observer *obs)
{
    const uniql_config *c = &m->config;
    int D = c->hidden_size, V = c->vocab_size, t, l;
    size_t cnt = (size_t)n * D;
    for (t = 0; t < n; t++) UNIQL__TRY(uniql__matrix_row(&m->embed, tokens[t], s->x + (size_t)t * D, s->row));
    if (c->rope_type != UNIQL_ROPE_NONE)
        for (t = 0; t < n; t++)
            uniql_rope_cos_sin(s->inv_freq, s->half, s->pos + t, s->cos_t + (size_t)t * s->half, s->sin_t + (size_t)t * s->half);
    for (l = 0; l < c->n_layers; l++) {
        const uniql_layer *ly = &m->layers[l];
        uniql__observe(obs, l, UNIQL_SITE_BLOCK_IN, -1, s->x, n, D, (size_t)D);
        uniql__rmsnorm(s->xn, s->x, ly->norm, n, D, c->norm_eps);
        switch (ly->type) {
        case UNIQL_BLOCK_DECODER:
            uniql__observe(obs, l, UNIQL_SITE_ATTN_IN, -1, s->xn, n, D, (size_t)D);
            UNIQL__TRY(uniql__attention(m, s, l, &ly->attn, n, obs));
            uniql__residual(s->x, s->out, cnt);
            uniql__rmsnorm(s->xn, s->x, ly->mlp_norm, n, D, c->norm_eps);
            uniql__observe(obs, l, UNIQL_SITE_MLP_IN, -1, s->xn, n, D, (size_t)D);
            UNIQL__TRY(uniql__mlp(m, s, l, &ly->mlp, n, obs));
            break;
        case UNIQL_BLOCK_ATTENTION:
            uniql__observe(obs, l, UNIQL_SITE_ATTN_IN, -1, s->xn, n, D, (size_t)D);
            UNIQL__TRY(uniql__attention(m, s, l, &ly->attn, n, obs));
            break;
        case UNIQL_BLOCK_MLP:
            uniql__observe(obs, l, UNIQL_SITE_MLP_IN, -1, s->xn, n, D, (size_t)D);
            UNIQL__TRY(uniql__mlp(m, s, l, &ly->mlp, n, obs));
            break;
        case UNIQL_BLOCK_MAMBA:
            uniql__observe(obs, l, UNIQL_SITE_MAMBA_IN, -1, s->xn, n, D, (size_t)D);
            UNIQL__TRY(uniql__mamba(m, s, l, &ly->mamba, n, obs));
            break;
        }
        uniql__residual(s->x, s->out, cnt);
        uniql__observe(obs, l, UNIQL_SITE_BLOCK_OUT, -1, s->x, n, D, (size_t)D);
    }
    uniql__rmsnorm(s->xn, s->x, m->final_norm, n, D, c->norm_eps);
    s->pos += n;   /* the caches hold these tokens now, whatever follows */
    /* NaN/Inf anywhere upstream reaches the residual stream (NaN + x = NaN, and RMSNorm of
       an Inf row is Inf * 0 = NaN), so one check of the normed state catches it; the logits
       are checked too (finite weights times finite states can still overflow). */
    if (!uniql__finite_f32(s->xn, cnt)) return UNIQL_ERR_NONFINITE;
    uniql__observe(obs, c->n_layers, UNIQL_SITE_FINAL_NORM, -1, s->xn, n, D, (size_t)D);
    if (logits && all_logits) {
        UNIQL__TRY(uniql__smm(s, &m->lm_head, s->xn, n, (size_t)D, logits, (size_t)V));
        if (!uniql__finite_f32(logits, (size_t)n * V)) return UNIQL_ERR_NONFINITE;
    } else if (logits) {
        UNIQL__TRY(uniql__smm(s, &m->lm_head, s->xn + (size_t)(n - 1) * D, 1, (size_t)D, logits, (size_t)V));
        if (!uniql__finite_f32(logits, (size_t)V)) return UNIQL_ERR_NONFINITE;
    }
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_forward(const uniql_model *m, uniql_state *s, const int *tokens, int n_tokens,
                                    float *logits, int all_logits, const uniql_observer *obs)
{
    int t, done;
    if (!m || !s || !tokens || n_tokens < 1 || s->m != m) return UNIQL_ERR_INVALID_ARG;
    for (t = 0; t < n_tokens; t++)
        if (tokens[t] < 0 || tokens[t] >= m->config.vocab_size) return UNIQL_ERR_INVALID_ARG;
    if (n_tokens > s->max_ctx - s->pos) return UNIQL_ERR_RANGE;
    for (done = 0; done < n_tokens; done += s->max_batch) {
        int n = n_tokens - done < s->max_batch ? n_tokens - done : s->max_batch;
        float *lg = NULL;
        if (logits && all_logits) lg = logits + (size_t)done * m->config.vocab_size;
        else if (logits && done + n == n_tokens) lg = logits;
        UNIQL__TRY(uniql__forward_chunk(m, s, tokens + done, n, lg, all_logits, obs));
    }
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_logit_lens(const uniql_model *m, const float *h, int n, size_t ld, float *work, float *logits)
{
    int t, D;
    if (!m || !h || !work || !logits || n < 1) return UNIQL_ERR_INVALID_ARG;
    D = m->config.hidden_size;
    if (ld < (size_t)D) return UNIQL_ERR_SHAPE;
    for (t = 0; t < n; t++)
        if (!uniql__finite_f32(h + (size_t)t * ld, (size_t)D)) return UNIQL_ERR_NONFINITE;
    for (t = 0; t < n; t++) uniql__rmsnorm(work + (size_t)t * D, h + (size_t)t * ld, m->final_norm, 1, D, m->config.norm_eps);
    UNIQL__TRY(uniql_matmul(&m->lm_head, work, n, (size_t)D, logits, (size_t)m->config.vocab_size));
    return uniql__finite_f32(logits, (size_t)n * m->config.vocab_size) ? UNIQL_OK : UNIQL_ERR_NONFINITE;
}

/* ---- sampling ---- */

UNIQLDEF void uniql_rng_seed(uniql_rng *r, uint64_t seed)
{
    if (r) r->s = seed;
}

UNIQLDEF double uniql_rng_uniform(uniql_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

UNIQLDEF int uniql_sample_greedy(const float *logits, int n)
{
    int i, best = -1;
    if (!logits) return -1;
    for (i = 0; i < n; i++)
        if (logits[i] == logits[i] && (best < 0 || logits[i] > logits[best])) best = i;
    return best;
}

static int uniql__prob_desc(const void *a, const void *b)
{
    const uniql_prob_index *x = (const uniql_prob_index *)a, *y = (const uniql_prob_index *)b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->i < y->i ? -1 : (x->i > y->i);
}

UNIQLDEF int uniql_sample_top_p(const float *logits, int n, float temperature, float top_p, uniql_rng *rng,
                                uniql_prob_index *work)
{
    int i, best, kept;
    double sum = 0, cum, u;
    if (!logits || n < 1 || !rng || !work || !(top_p > 0.0f)) return -1;
    best = uniql_sample_greedy(logits, n);
    if (best < 0 || !(temperature > 0.0f)) return best;
    for (i = 0; i < n; i++) {
        float p = logits[i] == logits[i] ? expf((logits[i] - logits[best]) / temperature) : 0.0f;
        work[i].p = p;
        work[i].i = i;
        sum += p;
    }
    kept = n;
    if (top_p < 1.0f) {
        qsort(work, (size_t)n, sizeof *work, uniql__prob_desc);
        for (cum = 0, kept = 0; kept < n;) {
            cum += work[kept++].p;
            if (cum >= top_p * sum) break;
        }
        sum = cum;
    }
    u = uniql_rng_uniform(rng) * sum;
    for (i = 0, cum = 0; i < kept; i++) {
        cum += work[i].p;
        if (u < cum) return work[i].i;
    }
    for (i = kept - 1; i > 0 && work[i].p == 0.0f; i--) {}
    return work[i].i;   /* rounding left u at the very top: the last token with mass */
}

/* ---- perplexity ---- */

#define UNIQL__PPL_CHUNK 64

UNIQLDEF uniql_result uniql_perplexity(const uniql_model *m, const int *tokens, size_t n_tokens, int window,
                                       int n_windows, void *alloc_user, double *ppl, double *mean_nll,
                                       size_t *n_predicted, uniql_error *err)
{
    uniql_state_options o;
    memset(&o, 0, sizeof o);
    o.alloc_user = alloc_user;
    return uniql_perplexity_ex(m, tokens, n_tokens, window, n_windows, &o, ppl, mean_nll, n_predicted, err);
}

UNIQLDEF uniql_result uniql_perplexity_ex(const uniql_model *m, const int *tokens, size_t n_tokens, int window,
                                          int n_windows, const uniql_state_options *opt, double *ppl, double *mean_nll,
                                          size_t *n_predicted, uniql_error *err)
{
    uniql_state_options so;
    void *alloc_user;
    uniql_state *s = NULL;
    float *logits = NULL;
    size_t total_windows, w, n_pred = 0, i;
    double nll = 0.0;
    int V, chunk;
    uniql_result r = UNIQL_OK;
    if (!m || !tokens || !ppl || !opt || window < 2)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "perplexity: NULL argument or window < 2");
    so = *opt;
    alloc_user = so.alloc_user;
    V = m->config.vocab_size;
    total_windows = n_tokens / (size_t)window;
    if (total_windows < 1)
        return uniql__fail(err, UNIQL_ERR_SHAPE, "perplexity: %lu tokens hold no window of %d",
                           (unsigned long)n_tokens, window);
    if (n_windows > 0 && (size_t)n_windows < total_windows) total_windows = (size_t)n_windows;
    for (i = 0; i < total_windows * (size_t)window; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "perplexity: token %lu = %d is outside the vocab (%d)",
                               (unsigned long)i, tokens[i], V);
    chunk = window < UNIQL__PPL_CHUNK ? window : UNIQL__PPL_CHUNK;
    so.max_ctx = window;
    so.max_batch = chunk;
    r = uniql_state_create_ex(m, &so, &s);
    if (r != UNIQL_OK) return uniql__fail(err, r, "perplexity: cannot create a state for %d positions", window);
    logits = (float *)UNIQL_MALLOC(sizeof(float) * (size_t)chunk * (size_t)V, alloc_user);
    if (!logits) {
        uniql_state_free(s);
        return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "perplexity: no memory for %d x %d logits", chunk, V);
    }
    for (w = 0; w < total_windows && r == UNIQL_OK; w++) {
        const int *tw = tokens + w * (size_t)window;
        int done, t, j;
        uniql_state_reset(s);
        for (done = 0; done < window && r == UNIQL_OK; done += chunk) {
            int n = window - done < chunk ? window - done : chunk;
            r = uniql_forward(m, s, tw + done, n, logits, 1, NULL);
            if (r != UNIQL_OK) {
                uniql__fail(err, r, "perplexity: forward failed in window %lu", (unsigned long)w);
                break;
            }
            for (t = 0; t < n && done + t + 1 < window; t++) {
                const float *lg = logits + (size_t)t * (size_t)V;
                double mx = lg[0], sum = 0.0;
                for (j = 0; j < V; j++) {
                    if (!(lg[j] - lg[j] == 0.0f)) { r = UNIQL_ERR_NONFINITE; break; }
                    if (lg[j] > mx) mx = lg[j];
                }
                if (r != UNIQL_OK) {
                    uniql__fail(err, r, "perplexity: non-finite logit in window %lu", (unsigned long)w);
                    break;
                }
                for (j = 0; j < V; j++) sum += exp((double)lg[j] - mx);
                nll += log(sum) + mx - (double)lg[tw[done + t + 1]];
                n_pred++;
            }
        }
    }
    UNIQL_FREE(logits, alloc_user);
    uniql_state_free(s);
    if (r != UNIQL_OK) return r;
    nll /= (double)n_pred;
    *ppl = exp(nll);
    if (mean_nll) *mean_nll = nll;
    if (n_predicted) *n_predicted = n_pred;
    return UNIQL_OK;
}



/* =====================================================================================
   IMPL 8. UniQL (calibration, sorting, QA-SVD, layer rates, pruning)
   ===================================================================================== */

/* ---- small correlation accumulator (per-head statistics, d < 128) ----
   uniql_corr carries 256 d doubles of packing scratch per object: right for the hidden / d_int
   sized matrices, too much for dozens of head_dim x head_dim ones. This one keeps only
   the d x d double sum (upper triangle) and adds one token at a time (d^2/2 multiply-adds
   per token, cheap at these sizes). */
#define UNIQL__SMALL_CORR 128

typedef struct uniql__acc {
    int d, big;
    long long count;
    double *sum;        /* small: d x d upper triangle */
    uniql_corr corr;    /* big */
} uniql__acc;

static uniql_result uniql__acc_init(uniql__acc *a, int d, void *user)
{
    memset(a, 0, sizeof *a);
    a->d = d;
    if (d >= UNIQL__SMALL_CORR) {
        a->big = 1;
        return uniql_corr_init(&a->corr, d, user);
    }
    a->sum = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)d * (size_t)d, user);
    if (!a->sum) return UNIQL_ERR_OUT_OF_MEMORY;
    memset(a->sum, 0, sizeof(double) * (size_t)d * (size_t)d);
    return UNIQL_OK;
}

static void uniql__acc_free(uniql__acc *a, void *user)
{
    if (a->big) uniql_corr_free(&a->corr);
    else if (a->sum) UNIQL_FREE(a->sum, user);
    memset(a, 0, sizeof *a);
}

/* n rows of X (ld apart); finite rows checked first */
static uniql_result uniql__acc_add(uniql__acc *a, const float *X, int n, size_t ld)
{
    int t, i, j, d = a->d;
    if (!a->d) return UNIQL_OK;
    if (a->big) return uniql_corr_add_f32(&a->corr, X, n, ld);
    for (t = 0; t < n; t++)
        for (i = 0; i < d; i++)
            if (!isfinite(X[(size_t)t * ld + i])) return UNIQL_ERR_NONFINITE;
    for (t = 0; t < n; t++) {
        const float *x = X + (size_t)t * ld;
        for (i = 0; i < d; i++) {
            double xi = x[i], *row = a->sum + (size_t)i * d;
            for (j = i; j < d; j++) row[j] += xi * (double)x[j];
        }
    }
    a->count += n;
    return UNIQL_OK;
}

static long long uniql__acc_count(const uniql__acc *a) { return a->big ? a->corr.count : a->count; }

static uniql_result uniql__acc_final(const uniql__acc *a, double *C, size_t ldc)
{
    int i, j, d = a->d;
    if (a->big) return uniql_corr_finalize(&a->corr, C, ldc);
    if (a->count <= 0) return UNIQL_ERR_SHAPE;
    for (i = 0; i < d; i++)
        for (j = i; j < d; j++)
            C[(size_t)i * ldc + j] = C[(size_t)j * ldc + i] = a->sum[(size_t)i * d + j] / (double)a->count;
    return UNIQL_OK;
}

/* ---- calibration ---- */

typedef struct uniql__cal_layer {
    int type, active, n_q, n_k, n_c, n_b;
    uniql__acc attn_in, mlp, mout;
    uniql__acc *q, *k, *mc, *mb;     /* per query head, KV head, Mamba group, Mamba head */
    double bi_sum, bi_last, jac_sum, jac_last;
    long long bi_n, bi_last_n, jac_n, jac_last_n;
} uniql__cal_layer;

struct uniql_calib {
    int n_layers, layer_begin, layer_end, lsaq, lsaq_k, corr;
    long long tokens, seqs;
    uniql__cal_layer *layers;
    void *user;
};

typedef struct uniql__cal_ctx {
    uniql_calib *cb;
    const uniql_model *m;
    uniql_result err;
    int err_layer, err_site;
    int last;                    /* index in the current chunk of a sequence's last token, or -1 */
    int B, D;
    float *xin;                  /* B x D: BLOCK_IN of the current layer */
    float *bbuf;                 /* B x G*N: Mamba B of the current layer */
    float *rows;                 /* B x max(N, D): scaled rows */
    float *lens_work, *logits;   /* B x D, B x V */
    int *tk_in, *tk_out;         /* B x k top-k sets */
    int tk_layer;                /* layer whose input tk_in holds, or -1 */
} uniql__cal_ctx;

static void uniql__cal_fail(uniql__cal_ctx *cx, uniql_result r, int layer, int site)
{
    if (r != UNIQL_OK && cx->err == UNIQL_OK) { cx->err = r; cx->err_layer = layer; cx->err_site = site; }
}

/* top-k of the logit lens of n rows of x into tk (n x k) */
static uniql_result uniql__cal_topk(uniql__cal_ctx *cx, const float *x, int n, size_t ld, int *tk)
{
    int t, k = cx->cb->lsaq_k, V = cx->m->config.vocab_size;
    UNIQL__TRY(uniql_logit_lens(cx->m, x, n, ld, cx->lens_work, cx->logits));
    for (t = 0; t < n; t++) UNIQL__TRY(uniql_topk(cx->logits + (size_t)t * V, V, k, tk + (size_t)t * k));
    return UNIQL_OK;
}

static void uniql__cal_obs(void *user, int layer, uniql_site site, int head, const float *x, int n, int width, size_t ld)
{
    uniql__cal_ctx *cx = (uniql__cal_ctx *)user;
    uniql_calib *cb = cx->cb;
    const uniql_config *c = &cx->m->config;
    uniql__cal_layer *L;
    uniql_result r = UNIQL_OK;
    int t, i;
    if (cx->err != UNIQL_OK || layer < cb->layer_begin || layer >= cb->layer_end || site == UNIQL_SITE_FINAL_NORM) return;
    L = &cb->layers[layer];
    switch (site) {
    case UNIQL_SITE_BLOCK_IN:
        for (t = 0; t < n; t++) memcpy(cx->xin + (size_t)t * cx->D, x + (size_t)t * ld, sizeof(float) * (size_t)cx->D);
        if (cb->lsaq && cx->tk_layer != layer) r = uniql__cal_topk(cx, x, n, ld, cx->tk_in);
        cx->tk_layer = layer;
        break;
    case UNIQL_SITE_BLOCK_OUT: {
        int k = cb->lsaq_k;
        for (t = 0; t < n; t++) {
            const float *a = cx->xin + (size_t)t * cx->D, *b = x + (size_t)t * ld;
            double ab = 0, aa = 0, bb = 0, cs;
            for (i = 0; i < cx->D; i++) { ab += (double)a[i] * b[i]; aa += (double)a[i] * a[i]; bb += (double)b[i] * b[i]; }
            if (!isfinite(ab) || !isfinite(aa) || !isfinite(bb)) { r = UNIQL_ERR_NONFINITE; break; }
            cs = aa > 0 && bb > 0 ? ab / (sqrt(aa) * sqrt(bb)) : (aa == bb ? 1.0 : 0.0);
            L->bi_sum += 1.0 - cs;
            L->bi_n++;
            if (t == cx->last) { L->bi_last += 1.0 - cs; L->bi_last_n++; }
        }
        if (r == UNIQL_OK && cb->lsaq) {
            int *tmp;
            r = uniql__cal_topk(cx, x, n, ld, cx->tk_out);
            for (t = 0; t < n && r == UNIQL_OK; t++) {
                const int *A = cx->tk_in + (size_t)t * k, *Bs = cx->tk_out + (size_t)t * k;
                int inter = 0, j;
                double jac;
                for (i = 0; i < k; i++)
                    for (j = 0; j < k; j++) inter += A[i] == Bs[j];
                jac = (double)inter / (double)(2 * k - inter);
                L->jac_sum += jac;
                L->jac_n++;
                if (t == cx->last) { L->jac_last += jac; L->jac_last_n++; }
            }
            tmp = cx->tk_in; cx->tk_in = cx->tk_out; cx->tk_out = tmp;   /* output of l = input of l + 1 */
            cx->tk_layer = layer + 1;
        }
        break;
    }
    case UNIQL_SITE_ATTN_IN: if (cb->corr) r = uniql__acc_add(&L->attn_in, x, n, ld); break;
    case UNIQL_SITE_Q_ROPE: if (cb->corr && head >= 0 && head < L->n_q) r = uniql__acc_add(&L->q[head], x, n, ld); break;
    case UNIQL_SITE_K_ROPE: if (cb->corr && head >= 0 && head < L->n_k) r = uniql__acc_add(&L->k[head], x, n, ld); break;
    case UNIQL_SITE_MLP_DOWN_IN: if (cb->corr) r = uniql__acc_add(&L->mlp, x, n, ld); break;
    case UNIQL_SITE_MAMBA_OUT_IN: if (cb->corr) r = uniql__acc_add(&L->mout, x, n, ld); break;
    case UNIQL_SITE_MAMBA_B:
        if (cb->corr)
            for (t = 0; t < n; t++) memcpy(cx->bbuf + (size_t)t * width, x + (size_t)t * ld, sizeof(float) * (size_t)width);
        break;
    case UNIQL_SITE_MAMBA_C:
        if (cb->corr) {
            int g, N = width / c->ssm_groups;
            for (g = 0; g < L->n_c && r == UNIQL_OK; g++) r = uniql__acc_add(&L->mc[g], x + (size_t)g * N, n, ld);
        }
        break;
    case UNIQL_SITE_MAMBA_DT:
        if (cb->corr) {
            int h, H = c->ssm_heads, G = c->ssm_groups, N = L->n_b > 0 ? L->mb[0].d : 0, GN = G * N;
            for (h = 0; h < L->n_b && r == UNIQL_OK; h++) {
                const float *Bg = cx->bbuf + (size_t)(h / (H / G)) * N;
                for (t = 0; t < n; t++) {
                    float dt = x[(size_t)t * ld + h];
                    for (i = 0; i < N; i++) cx->rows[(size_t)t * N + i] = dt * Bg[(size_t)t * GN + i];
                }
                r = uniql__acc_add(&L->mb[h], cx->rows, n, (size_t)N);
            }
        }
        break;
    default: break;
    }
    uniql__cal_fail(cx, r, layer, (int)site);
}

UNIQLDEF void uniql_calib_free(uniql_calib *cb)
{
    int l, h;
    void *user;
    if (!cb) return;
    user = cb->user;
    if (cb->layers) {
        for (l = 0; l < cb->n_layers; l++) {
            uniql__cal_layer *L = &cb->layers[l];
            uniql__acc_free(&L->attn_in, user);
            uniql__acc_free(&L->mlp, user);
            uniql__acc_free(&L->mout, user);
            for (h = 0; h < L->n_q; h++) uniql__acc_free(&L->q[h], user);
            for (h = 0; h < L->n_k; h++) uniql__acc_free(&L->k[h], user);
            for (h = 0; h < L->n_c; h++) uniql__acc_free(&L->mc[h], user);
            for (h = 0; h < L->n_b; h++) uniql__acc_free(&L->mb[h], user);
            if (L->q) UNIQL_FREE(L->q, user);
            if (L->k) UNIQL_FREE(L->k, user);
            if (L->mc) UNIQL_FREE(L->mc, user);
            if (L->mb) UNIQL_FREE(L->mb, user);
        }
        UNIQL_FREE(cb->layers, user);
    }
    UNIQL_FREE(cb, user);
}

static uniql__acc *uniql__acc_array(int n, int d, void *user, uniql_result *r)
{
    uniql__acc *a;
    int i;
    if (*r != UNIQL_OK) return NULL;
    a = (uniql__acc *)UNIQL_MALLOC(sizeof *a * (size_t)(n > 0 ? n : 1), user);
    if (!a) { *r = UNIQL_ERR_OUT_OF_MEMORY; return NULL; }
    memset(a, 0, sizeof *a * (size_t)(n > 0 ? n : 1));
    for (i = 0; i < n && *r == UNIQL_OK; i++) *r = uniql__acc_init(&a[i], d, user);
    return a;
}

static const char *uniql__site_name(int s)
{
    static const char *const names[] = { "block input", "attention input", "q after RoPE", "k after RoPE",
                                         "attention output", "MLP input", "down_proj input", "Mamba input", "Mamba x",
                                         "Mamba B", "Mamba C", "Mamba dt", "out_proj input", "block output", "final norm" };
    return s >= 0 && s <= 14 ? names[s] : "?";
}

UNIQLDEF uniql_result uniql_calibrate(const uniql_model *m, const int *tokens, size_t n_tokens,
                                      const uniql_calib_options *opt, uniql_calib **out, uniql_error *err)
{
    uniql_calib_options o;
    uniql_calib *cb = NULL;
    uniql__cal_ctx cx;
    uniql_state *st = NULL;
    uniql_observer obs;
    uniql_result r = UNIQL_OK;
    const uniql_config *c;
    void *user, *scratch = NULL;
    size_t i, s0;
    int l, maxGN = 1, maxN = 1;
    if (out) *out = NULL;
    if (!m || !tokens || !out || n_tokens < 1) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "calibrate: NULL argument or no tokens");
    UNIQL__TRY(uniql_model_check(m, err));
    c = &m->config;
    memset(&o, 0, sizeof o);
    if (opt) o = *opt;
    user = o.alloc_user;
    if (o.seq_len < 0 || o.max_batch < 0 || o.lsaq_k < 0 || o.layer_begin < 0 || o.layer_end < 0 ||
        o.layer_end > c->n_layers || (o.layer_end && o.layer_begin >= o.layer_end) || (!o.layer_end && o.layer_begin))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "calibrate: bad options (seq_len, max_batch, lsaq_k, layer range)");
    if (!o.seq_len) o.seq_len = 256;
    if (!o.max_batch) o.max_batch = 64;
    if (o.max_batch > o.seq_len) o.max_batch = o.seq_len;
    if (!o.lsaq_k) o.lsaq_k = 10;
    if (!o.layer_end) o.layer_end = c->n_layers;
    if (o.lsaq && o.lsaq_k > c->vocab_size) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "calibrate: lsaq_k > vocab");
    for (i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "calibrate: token %lu = %d outside the vocabulary", (unsigned long)i, tokens[i]);
    cb = (uniql_calib *)UNIQL_MALLOC(sizeof *cb, user);
    if (!cb) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "calibrate: out of memory");
    memset(cb, 0, sizeof *cb);
    cb->user = user;
    cb->n_layers = c->n_layers;
    cb->layer_begin = o.layer_begin;
    cb->layer_end = o.layer_end;
    cb->lsaq = o.lsaq != 0;
    cb->lsaq_k = o.lsaq_k;
    cb->corr = !o.importance_only;
    cb->layers = (uniql__cal_layer *)UNIQL_MALLOC(sizeof *cb->layers * (size_t)c->n_layers, user);
    if (!cb->layers) { UNIQL_FREE(cb, user); return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "calibrate: out of memory"); }
    memset(cb->layers, 0, sizeof *cb->layers * (size_t)c->n_layers);
    for (l = o.layer_begin; l < o.layer_end && r == UNIQL_OK; l++) {
        const uniql_layer *ly = &m->layers[l];
        uniql__cal_layer *L = &cb->layers[l];
        L->type = (int)ly->type;
        L->active = 1;
        if (!cb->corr) continue;
        if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_ATTENTION) {
            r = uniql__acc_init(&L->attn_in, c->hidden_size, user);
            L->attn_in.corr.parallel = o.parallel;
            L->q = uniql__acc_array(c->n_heads, ly->attn.qk_dim, user, &r);
            if (L->q) L->n_q = c->n_heads;
            L->k = uniql__acc_array(c->n_kv_heads, ly->attn.qk_dim, user, &r);
            if (L->k) L->n_k = c->n_kv_heads;
        }
        if (r == UNIQL_OK && (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_MLP))
        {
            r = uniql__acc_init(&L->mlp, ly->mlp.d_int, user);
            L->mlp.corr.parallel = o.parallel;
        }
        if (r == UNIQL_OK && ly->type == UNIQL_BLOCK_MAMBA) {
            int N = ly->mamba.state_kept;
            r = uniql__acc_init(&L->mout, c->ssm_heads * ly->mamba.head_dim_kept, user);
            L->mout.corr.parallel = o.parallel;
            L->mc = uniql__acc_array(c->ssm_groups, N, user, &r);
            if (L->mc) L->n_c = c->ssm_groups;
            L->mb = uniql__acc_array(c->ssm_heads, N, user, &r);
            if (L->mb) L->n_b = c->ssm_heads;
            if (c->ssm_groups * N > maxGN) maxGN = c->ssm_groups * N;
            if (N > maxN) maxN = N;
        }
    }
    if (r != UNIQL_OK) { uniql_calib_free(cb); return uniql__fail(err, r, "calibrate: cannot allocate the statistics"); }
    /* scratch: xin, bbuf, rows, lens work, logits, 2 top-k sets */
    memset(&cx, 0, sizeof cx);
    cx.cb = cb;
    cx.m = m;
    cx.B = o.max_batch;
    cx.D = c->hidden_size;
    cx.last = -1;
    cx.tk_layer = -1;
    {
        size_t B = (size_t)o.max_batch, fl = B * (size_t)c->hidden_size * 2 + B * (size_t)maxGN + B * (size_t)maxN;
        size_t V = cb->lsaq ? (size_t)c->vocab_size : 0, K = cb->lsaq ? (size_t)o.lsaq_k : 0, bytes;
        fl += B * V;
        if (!uniql__mul_size(fl, sizeof(float), &bytes) || !uniql__add_size(bytes, 2 * B * K * sizeof(int), &bytes) ||
            !(scratch = UNIQL_MALLOC(bytes, user))) {
            uniql_calib_free(cb);
            return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "calibrate: out of memory for scratch");
        }
        cx.xin = (float *)scratch;
        cx.lens_work = cx.xin + B * (size_t)c->hidden_size;
        cx.bbuf = cx.lens_work + B * (size_t)c->hidden_size;
        cx.rows = cx.bbuf + B * (size_t)maxGN;
        cx.logits = cx.rows + B * (size_t)maxN;
        cx.tk_in = (int *)(void *)(cx.logits + B * V);
        cx.tk_out = cx.tk_in + B * K;
    }
    {
        uniql_state_options so;
        memset(&so, 0, sizeof so);
        so.max_ctx = o.seq_len;
        so.max_batch = o.max_batch;
        so.alloc_user = user;
        so.activations = UNIQL_ACT_F32;   /* statistics of the model as it is */
        so.parallel = o.parallel;
        r = uniql_state_create_ex(m, &so, &st);
    }
    obs.fn = uniql__cal_obs;
    obs.user = &cx;
    for (s0 = 0; s0 < n_tokens && r == UNIQL_OK; s0 += (size_t)o.seq_len) {
        int len = n_tokens - s0 < (size_t)o.seq_len ? (int)(n_tokens - s0) : o.seq_len, c0;
        uniql_state_reset(st);
        cx.tk_layer = -1;
        for (c0 = 0; c0 < len && r == UNIQL_OK; c0 += o.max_batch) {
            int nb = len - c0 < o.max_batch ? len - c0 : o.max_batch;
            cx.last = c0 + nb == len ? nb - 1 : -1;
            cx.tk_layer = -1;
            r = uniql_forward(m, st, tokens + s0 + c0, nb, NULL, 0, &obs);
            if (r == UNIQL_OK && cx.err != UNIQL_OK) r = cx.err;
        }
        cb->seqs++;
        cb->tokens += len;
    }
    uniql_state_free(st);
    UNIQL_FREE(scratch, user);
    if (r != UNIQL_OK) {
        uniql_calib_free(cb);
        if (cx.err != UNIQL_OK)
            return uniql__fail(err, r, "calibrate: layer %d, %s: %s", cx.err_layer, uniql__site_name(cx.err_site), uniql_result_string(r));
        return uniql__fail(err, r, "calibrate: forward failed: %s", uniql_result_string(r));
    }
    *out = cb;
    return UNIQL_OK;
}

UNIQLDEF long long uniql_calib_tokens(const uniql_calib *cb) { return cb ? cb->tokens : 0; }
UNIQLDEF long long uniql_calib_sequences(const uniql_calib *cb) { return cb ? cb->seqs : 0; }
UNIQLDEF void uniql_calib_layers(const uniql_calib *cb, int *layer_begin, int *layer_end)
{
    if (layer_begin) *layer_begin = cb ? cb->layer_begin : 0;
    if (layer_end) *layer_end = cb ? cb->layer_end : 0;
}

static const uniql__acc *uniql__calib_acc(const uniql_calib *cb, int layer, uniql_calib_stat stat, int head)
{
    const uniql__cal_layer *L;
    const uniql__acc *a = NULL;
    if (!cb || layer < 0 || layer >= cb->n_layers || !cb->layers[layer].active || !cb->corr) return NULL;
    L = &cb->layers[layer];
    switch (stat) {
    case UNIQL_STAT_ATTN_IN: a = &L->attn_in; break;
    case UNIQL_STAT_Q: a = head >= 0 && head < L->n_q ? &L->q[head] : NULL; break;
    case UNIQL_STAT_K: a = head >= 0 && head < L->n_k ? &L->k[head] : NULL; break;
    case UNIQL_STAT_MLP_DOWN_IN: a = &L->mlp; break;
    case UNIQL_STAT_MAMBA_OUT_IN: a = &L->mout; break;
    case UNIQL_STAT_MAMBA_C: a = head >= 0 && head < L->n_c ? &L->mc[head] : NULL; break;
    case UNIQL_STAT_MAMBA_DTB: a = head >= 0 && head < L->n_b ? &L->mb[head] : NULL; break;
    }
    return a && a->d > 0 ? a : NULL;
}

UNIQLDEF int uniql_calib_corr_dim(const uniql_calib *cb, int layer, uniql_calib_stat stat, int head)
{
    const uniql__acc *a = uniql__calib_acc(cb, layer, stat, head);
    return a && uniql__acc_count(a) > 0 ? a->d : 0;
}

UNIQLDEF uniql_result uniql_calib_corr(const uniql_calib *cb, int layer, uniql_calib_stat stat, int head,
                                       double *C, size_t ldc)
{
    const uniql__acc *a;
    if (!cb || !C) return UNIQL_ERR_INVALID_ARG;
    a = uniql__calib_acc(cb, layer, stat, head);
    if (!a || uniql__acc_count(a) <= 0) return UNIQL_ERR_MISSING;
    if (ldc < (size_t)a->d) return UNIQL_ERR_SHAPE;
    return uniql__acc_final(a, C, ldc);
}

UNIQLDEF uniql_result uniql_calib_importance(const uniql_calib *cb, uniql_importance kind, double *out)
{
    int l;
    if (!cb || !out || (int)kind < 0 || (int)kind > 3) return UNIQL_ERR_INVALID_ARG;
    if ((kind == UNIQL_IMPORTANCE_LSAQ || kind == UNIQL_IMPORTANCE_LSAQ_LAST) && !cb->lsaq) return UNIQL_ERR_MISSING;
    for (l = 0; l < cb->n_layers; l++) {
        const uniql__cal_layer *L = &cb->layers[l];
        double v = 0;
        if (L->active) switch (kind) {
        case UNIQL_IMPORTANCE_BLOCK_INFLUENCE: v = L->bi_n ? L->bi_sum / (double)L->bi_n : 0; break;
        case UNIQL_IMPORTANCE_BLOCK_INFLUENCE_LAST: v = L->bi_last_n ? L->bi_last / (double)L->bi_last_n : 0; break;
        case UNIQL_IMPORTANCE_LSAQ: v = L->jac_n ? 1.0 - L->jac_sum / (double)L->jac_n : 0; break;
        case UNIQL_IMPORTANCE_LSAQ_LAST: v = L->jac_last_n ? 1.0 - L->jac_last / (double)L->jac_last_n : 0; break;
        }
        out[l] = v;
    }
    return UNIQL_OK;
}

/* ---- building new models ---- */

/* A fresh model shell: config copied, a zeroed layer table, nothing else. */
static uniql_result uniql__model_shell(const uniql_model *src, void *user, uniql_model **out)
{
    uniql_model *m = (uniql_model *)UNIQL_MALLOC(sizeof *m, user);
    size_t bytes = sizeof(uniql_layer) * (size_t)src->config.n_layers;
    *out = NULL;
    if (!m) return UNIQL_ERR_OUT_OF_MEMORY;
    memset(m, 0, sizeof *m);
    m->config = src->config;
    m->alloc_user = user;
    m->layers = (uniql_layer *)uniql__own(&m->storage, bytes, user);
    if (!m->layers) { UNIQL_FREE(m, user); return UNIQL_ERR_OUT_OF_MEMORY; }
    memset(m->layers, 0, bytes);
    *out = m;
    return UNIQL_OK;
}

static float *uniql__own_f32(uniql_model *m, size_t a, size_t b)
{
    size_t n;
    if (!uniql__mul_size(a, b, &n) || !uniql__mul_size(n, sizeof(float), &n)) return NULL;
    return (float *)uniql__own(&m->storage, n ? n : sizeof(float), m->alloc_user);
}

/* The whole of W as a dense row-major fp32 array owned by m (any dtype / layout W has). */
static uniql_result uniql__dense(uniql_model *m, const uniql_matrix *W, float **out)
{
    float *d = uniql__own_f32(m, (size_t)W->rows, (size_t)W->cols), *work;
    int r;
    *out = d;
    if (!d) return UNIQL_ERR_OUT_OF_MEMORY;
    work = (float *)UNIQL_MALLOC(sizeof(float) * (size_t)(W->rows > 0 ? W->rows : 1), m->alloc_user);
    if (!work) return UNIQL_ERR_OUT_OF_MEMORY;
    for (r = 0; r < W->rows; r++) {
        uniql_result e = uniql__matrix_row(W, r, d + (size_t)r * W->cols, work);
        if (e != UNIQL_OK) { UNIQL_FREE(work, m->alloc_user); return e; }
    }
    UNIQL_FREE(work, m->alloc_user);
    return UNIQL_OK;
}

/* A view of the dense rows x cols array d; stored transposed (a new owned copy) if asked. */
static uniql_result uniql__own_matrix(uniql_model *m, const float *d, int rows, int cols, int transposed, uniql_matrix *out)
{
    if (!transposed) {
        *out = uniql_matrix_f32(d, rows, cols, (size_t)cols);
        return UNIQL_OK;
    } else {
        float *t = uniql__own_f32(m, (size_t)rows, (size_t)cols);
        int r, c;
        if (!t) return UNIQL_ERR_OUT_OF_MEMORY;
        for (r = 0; r < rows; r++)
            for (c = 0; c < cols; c++) t[(size_t)c * rows + r] = d[(size_t)r * cols + c];
        *out = uniql_matrix_f32(t, rows, cols, (size_t)rows);
        out->transposed = 1;
        return UNIQL_OK;
    }
}

/* rows map[0..n) of the dense rows x cols array src, as a new owned dense array */
static float *uniql__gather_rows(uniql_model *m, const float *src, int cols, const int *map, int n)
{
    float *d = uniql__own_f32(m, (size_t)n, (size_t)cols);
    int i;
    if (!d) return NULL;
    for (i = 0; i < n; i++) memcpy(d + (size_t)i * cols, src + (size_t)map[i] * cols, sizeof(float) * (size_t)cols);
    return d;
}

/* columns map[0..n) of the dense rows x cols array src */
static float *uniql__gather_cols(uniql_model *m, const float *src, int rows, int cols, const int *map, int n)
{
    float *d = uniql__own_f32(m, (size_t)rows, (size_t)n);
    int r, i;
    if (!d) return NULL;
    for (r = 0; r < rows; r++)
        for (i = 0; i < n; i++) d[(size_t)r * n + i] = src[(size_t)r * cols + map[i]];
    return d;
}

/* entries map[0..n) (each a block of `width` floats) of v; NULL stays NULL */
static uniql_result uniql__gather_vec(uniql_model *m, const float *v, const int *map, int n, int width, const float **out)
{
    float *d;
    int i;
    *out = NULL;
    if (!v) return UNIQL_OK;
    if (!(d = uniql__own_f32(m, (size_t)n, (size_t)width))) return UNIQL_ERR_OUT_OF_MEMORY;
    for (i = 0; i < n; i++) memcpy(d + (size_t)i * width, v + (size_t)map[i] * width, sizeof(float) * (size_t)width);
    *out = d;
    return UNIQL_OK;
}

static uniql_result uniql__copy_vec(uniql_model *m, const float *v, int n, const float **out)
{
    float *d;
    *out = NULL;
    if (!v) return UNIQL_OK;
    if (!(d = uniql__own_f32(m, (size_t)n, 1))) return UNIQL_ERR_OUT_OF_MEMORY;
    memcpy(d, v, sizeof(float) * (size_t)n);
    *out = d;
    return UNIQL_OK;
}

/* identity map 0..n-1 (owned by m, or by the caller's scratch) */
static void uniql__iota(int *map, int n)
{
    int i;
    for (i = 0; i < n; i++) map[i] = i;
}

/* Fisher-Yates with the library's RNG (deterministic for a seed) */
static void uniql__shuffle(int *p, int n, uniql_rng *rng)
{
    int i;
    for (i = n - 1; i > 0; i--) {
        int k = (int)(uniql_rng_uniform(rng) * (double)(i + 1)), t;
        if (k > i) k = i;
        t = p[i]; p[i] = p[k]; p[k] = t;
    }
}

/* embedding, lm_head, final norm: fp32 copies (lm_head shared when tied) */
static uniql_result uniql__copy_globals(uniql_model *dst, const uniql_model *src)
{
    float *e;
    const uniql_config *c = &src->config;
    UNIQL__TRY(uniql__dense(dst, &src->embed, &e));
    dst->embed = uniql_matrix_f32(e, c->vocab_size, c->hidden_size, (size_t)c->hidden_size);
    if (src->lm_head.data == src->embed.data && src->lm_head.dtype == src->embed.dtype) dst->lm_head = dst->embed;
    else {
        UNIQL__TRY(uniql__dense(dst, &src->lm_head, &e));
        dst->lm_head = uniql_matrix_f32(e, c->vocab_size, c->hidden_size, (size_t)c->hidden_size);
    }
    return uniql__copy_vec(dst, src->final_norm, c->hidden_size, &dst->final_norm);
}

/* ---- scores ---- */

/* |col_i(C^{1/2})| for i < d, from statistic (stat, head) of `layer` */
static uniql_result uniql__colnorms(const uniql_calib *cb, int layer, uniql_calib_stat stat, int head, double floor_,
                                    double *out, void *user)
{
    int d = uniql_calib_corr_dim(cb, layer, stat, head), i, j;
    double *C, *S;
    uniql_result r;
    if (d <= 0) return UNIQL_ERR_MISSING;
    C = (double *)UNIQL_MALLOC(sizeof(double) * 2 * (size_t)d * d, user);
    if (!C) return UNIQL_ERR_OUT_OF_MEMORY;
    S = C + (size_t)d * d;
    r = uniql_calib_corr(cb, layer, stat, head, C, (size_t)d);
    if (r == UNIQL_OK) r = uniql_sqrt_psd_f64(d, C, (size_t)d, floor_, S, (size_t)d, NULL, 0, user);
    if (r == UNIQL_OK)
        for (j = 0; j < d; j++) {
            double s = 0;
            for (i = 0; i < d; i++) s += S[(size_t)i * d + j] * S[(size_t)i * d + j];
            out[j] = sqrt(s);
        }
    UNIQL_FREE(C, user);
    return r;
}

/* ridge leverage scores of statistic (stat) of `layer` */
static uniql_result uniql__leverage(const uniql_calib *cb, int layer, uniql_calib_stat stat, double lambda, double *out,
                                    void *user)
{
    int d = uniql_calib_corr_dim(cb, layer, stat, 0);
    double *C;
    uniql_result r;
    if (d <= 0) return UNIQL_ERR_MISSING;
    C = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)d * d, user);
    if (!C) return UNIQL_ERR_OUT_OF_MEMORY;
    r = uniql_calib_corr(cb, layer, stat, 0, C, (size_t)d);
    if (r == UNIQL_OK) r = uniql_ridge_leverage_f64(d, C, (size_t)d, lambda, out, user);
    UNIQL_FREE(C, user);
    return r;
}

/* ---- sorting one block ---- */

typedef struct uniql__sorter {
    const uniql_model *src;
    const uniql_calib *cb;
    uniql_sort_options o;
    uniql_model *dst;
    uniql_rng rng;
    uniql_error *err;
    int use_scores;     /* this layer has statistics and order == SCORES */
    int random;
} uniql__sorter;

static uniql_result uniql__sort_attention(uniql__sorter *S, int l, const uniql_attention *a, uniql_attention *na)
{
    const uniql_config *c = &S->src->config;
    uniql_model *dst = S->dst;
    void *user = dst->alloc_user;
    int H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, half = hd / 2, D = c->hidden_size, rep = H / KV;
    int rope = c->rope_type != UNIQL_ROPE_NONE, g, h, j, i;
    int *kmap = NULL, *qmap = NULL, *vmap = NULL, *omap = NULL, *pairs = NULL, *perm = NULL;
    double *sc = NULL, *qn = NULL, *kn = NULL;
    float *Wq, *Wk, *Wv, *Wo, *nq, *nk, *nv, *no;
    uniql_result r = UNIQL_OK;
    int transposed_o = S->o.layout == UNIQL_LAYOUT_PRUNABLE;
    *na = *a;
    UNIQL__TRY(uniql__dense(dst, &a->q, &Wq));
    UNIQL__TRY(uniql__dense(dst, &a->k, &Wk));
    UNIQL__TRY(uniql__dense(dst, &a->v, &Wv));
    UNIQL__TRY(uniql__dense(dst, &a->o, &Wo));
    nq = Wq; nk = Wk; nv = Wv; no = Wo;
    UNIQL__TRY(uniql__copy_vec(dst, a->q_bias, H * hd, &na->q_bias));
    UNIQL__TRY(uniql__copy_vec(dst, a->k_bias, KV * hd, &na->k_bias));
    UNIQL__TRY(uniql__copy_vec(dst, a->v_bias, KV * hd, &na->v_bias));
    UNIQL__TRY(uniql__copy_vec(dst, a->o_bias, D, &na->o_bias));
    if (!S->use_scores && !S->random) goto build;
    /* scratch: maps (ints) and scores (doubles) */
    kmap = (int *)uniql__own(&dst->storage, sizeof(int) * (size_t)(KV * hd + H * hd + 2 * KV * hd + H * hd + KV * half + hd), user);
    sc = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)(3 * hd + 1), user);
    if (!kmap || !sc) { r = UNIQL_ERR_OUT_OF_MEMORY; goto done; }
    qmap = kmap + KV * hd;
    vmap = qmap + H * hd;
    omap = vmap + KV * hd;
    pairs = omap + H * hd;
    perm = pairs + KV * half;
    qn = sc + hd;
    kn = qn + hd;
    /* Q/K: order of dims per KV group */
    for (g = 0; g < KV && r == UNIQL_OK; g++) {
        int n = rope ? half : hd;
        if (S->use_scores) {
            for (i = 0; i < hd; i++) sc[i] = 0;
            r = uniql__colnorms(S->cb, l, UNIQL_STAT_K, g, S->o.eig_floor, kn, user);
            for (h = g * rep; h < (g + 1) * rep && r == UNIQL_OK; h++) {
                r = uniql__colnorms(S->cb, l, UNIQL_STAT_Q, h, S->o.eig_floor, qn, user);
                for (i = 0; i < hd && r == UNIQL_OK; i++) sc[i] += qn[i] * kn[i];
            }
            if (r != UNIQL_OK) break;
            if (rope) for (i = 0; i < half; i++) sc[i] = sc[i] + sc[i + half];
            r = uniql_argsort_desc_f64(n, sc, perm, user);
            if (r != UNIQL_OK) break;
        } else {
            uniql__iota(perm, n);
            uniql__shuffle(perm, n, &S->rng);
        }
        for (j = 0; j < n; j++) {
            if (rope) {
                pairs[g * half + j] = perm[j];
                kmap[g * hd + 2 * j] = g * hd + perm[j];
                kmap[g * hd + 2 * j + 1] = g * hd + perm[j] + half;
            } else kmap[g * hd + j] = g * hd + perm[j];
        }
    }
    if (r != UNIQL_OK) goto done;
    for (h = 0; h < H; h++)
        for (j = 0; j < hd; j++) qmap[h * hd + j] = h * hd + (kmap[(h / rep) * hd + j] - (h / rep) * hd);
    if (!(nq = uniql__gather_rows(dst, Wq, D, qmap, H * hd)) || !(nk = uniql__gather_rows(dst, Wk, D, kmap, KV * hd))) {
        r = UNIQL_ERR_OUT_OF_MEMORY;
        goto done;
    }
    if ((r = uniql__gather_vec(dst, a->q_bias, qmap, H * hd, 1, &na->q_bias)) != UNIQL_OK) goto done;
    if ((r = uniql__gather_vec(dst, a->k_bias, kmap, KV * hd, 1, &na->k_bias)) != UNIQL_OK) goto done;
    if (rope) na->rope_pairs = pairs;
    /* V/O */
    if (S->random) {
        for (g = 0; g < KV; g++) {
            uniql__iota(perm, hd);
            uniql__shuffle(perm, hd, &S->rng);
            for (j = 0; j < hd; j++) vmap[g * hd + j] = g * hd + perm[j];
            for (h = g * rep; h < (g + 1) * rep; h++)
                for (j = 0; j < hd; j++) omap[h * hd + j] = h * hd + perm[j];
        }
        if (!(nv = uniql__gather_rows(dst, Wv, D, vmap, KV * hd)) || !(no = uniql__gather_cols(dst, Wo, D, H * hd, omap, H * hd))) {
            r = UNIQL_ERR_OUT_OF_MEMORY;
            goto done;
        }
        r = uniql__gather_vec(dst, a->v_bias, vmap, KV * hd, 1, &na->v_bias);
    } else if (!S->o.no_vo) {
        double *C = NULL, *Cs, *Ci;
        uniql_svd_opts so;
        memset(&so, 0, sizeof so);
        so.user = user;
        if (uniql_calib_corr_dim(S->cb, l, UNIQL_STAT_ATTN_IN, 0) != D) { r = UNIQL_ERR_MISSING; goto done; }
        C = (double *)UNIQL_MALLOC(sizeof(double) * 3 * (size_t)D * D, user);
        nv = uniql__own_f32(dst, (size_t)KV * hd, (size_t)D);
        no = uniql__own_f32(dst, (size_t)D, (size_t)H * hd);
        if (!C || !nv || !no) { if (C) UNIQL_FREE(C, user); r = UNIQL_ERR_OUT_OF_MEMORY; goto done; }
        Cs = C + (size_t)D * D;
        Ci = Cs + (size_t)D * D;
        r = uniql_calib_corr(S->cb, l, UNIQL_STAT_ATTN_IN, 0, C, (size_t)D);
        if (r == UNIQL_OK) r = uniql_sqrt_psd_f64(D, C, (size_t)D, S->o.eig_floor, Cs, (size_t)D, Ci, (size_t)D, user);
        for (g = 0; g < KV && r == UNIQL_OK; g++) {
            const float *wv = Wv + (size_t)g * hd * D, *wo = Wo + (size_t)g * rep * hd;
            float *wvn = nv + (size_t)g * hd * D, *won = no + (size_t)g * rep * hd;
            if (rep == 1)
                r = uniql_qasvd_head(D, hd, Cs, Ci, (size_t)D, wv, (size_t)D, wo, (size_t)H * hd, S->o.vo_split, wvn, (size_t)D,
                                     won, (size_t)H * hd, NULL, &so);
            else
                r = uniql_qasvd_group(D, hd, rep, Cs, Ci, (size_t)D, wv, (size_t)D, wo, (size_t)H * hd, S->o.vo_split, wvn,
                                      (size_t)D, won, (size_t)H * hd, NULL, &so);
        }
        UNIQL_FREE(C, user);
        if (r != UNIQL_OK) goto done;
        if (a->v_bias) {
            /* attention weights sum to 1: sum_j p_j (W_v x_j + b_v) = (...) + b_v, so b_v
               moves through the ORIGINAL o_proj into its bias */
            float *ob = uniql__own_f32(dst, (size_t)D, 1);
            if (!ob) { r = UNIQL_ERR_OUT_OF_MEMORY; goto done; }
            for (i = 0; i < D; i++) {
                double s = a->o_bias ? a->o_bias[i] : 0.0;
                for (h = 0; h < H; h++)
                    for (j = 0; j < hd; j++) s += (double)Wo[(size_t)i * H * hd + h * hd + j] * a->v_bias[(h / rep) * hd + j];
                ob[i] = (float)s;
            }
            na->o_bias = ob;
            na->v_bias = NULL;
        }
    }
build:
    if (r == UNIQL_OK) r = uniql__own_matrix(dst, nq, H * hd, D, 0, &na->q);
    if (r == UNIQL_OK) r = uniql__own_matrix(dst, nk, KV * hd, D, 0, &na->k);
    if (r == UNIQL_OK) r = uniql__own_matrix(dst, nv, KV * hd, D, 0, &na->v);
    if (r == UNIQL_OK) r = uniql__own_matrix(dst, no, D, H * hd, transposed_o, &na->o);
done:
    if (sc) UNIQL_FREE(sc, user);
    return r;
}

static uniql_result uniql__sort_mlp(uniql__sorter *S, int l, const uniql_mlp *p, uniql_mlp *np)
{
    const uniql_config *c = &S->src->config;
    uniql_model *dst = S->dst;
    void *user = dst->alloc_user;
    int I = c->intermediate_size, D = c->hidden_size, glu = c->mlp_act == UNIQL_MLP_SWIGLU;
    float *Wg = NULL, *Wu, *Wd;
    int *perm;
    uniql_result r = UNIQL_OK;
    *np = *p;
    if (glu) UNIQL__TRY(uniql__dense(dst, &p->gate, &Wg));
    UNIQL__TRY(uniql__dense(dst, &p->up, &Wu));
    UNIQL__TRY(uniql__dense(dst, &p->down, &Wd));
    UNIQL__TRY(uniql__copy_vec(dst, p->gate_bias, I, &np->gate_bias));
    UNIQL__TRY(uniql__copy_vec(dst, p->up_bias, I, &np->up_bias));
    UNIQL__TRY(uniql__copy_vec(dst, p->down_bias, D, &np->down_bias));
    if (S->use_scores || S->random) {
        perm = (int *)UNIQL_MALLOC(sizeof(int) * (size_t)I, user);
        if (!perm) return UNIQL_ERR_OUT_OF_MEMORY;
        if (S->use_scores) {
            double *sc = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)I, user);
            if (!sc) r = UNIQL_ERR_OUT_OF_MEMORY;
            if (r == UNIQL_OK) r = uniql__leverage(S->cb, l, UNIQL_STAT_MLP_DOWN_IN, S->o.ridge_lambda, sc, user);
            if (r == UNIQL_OK) r = uniql_argsort_desc_f64(I, sc, perm, user);
            if (sc) UNIQL_FREE(sc, user);
        } else {
            uniql__iota(perm, I);
            uniql__shuffle(perm, I, &S->rng);
        }
        if (r == UNIQL_OK && ((glu && !(Wg = uniql__gather_rows(dst, Wg, D, perm, I))) || !(Wu = uniql__gather_rows(dst, Wu, D, perm, I)) ||
                              !(Wd = uniql__gather_cols(dst, Wd, D, I, perm, I))))
            r = UNIQL_ERR_OUT_OF_MEMORY;
        if (r == UNIQL_OK) r = uniql__gather_vec(dst, p->gate_bias, perm, I, 1, &np->gate_bias);
        if (r == UNIQL_OK) r = uniql__gather_vec(dst, p->up_bias, perm, I, 1, &np->up_bias);
        UNIQL_FREE(perm, user);
        if (r != UNIQL_OK) return r;
    }
    if (glu) UNIQL__TRY(uniql__own_matrix(dst, Wg, I, D, 0, &np->gate));
    UNIQL__TRY(uniql__own_matrix(dst, Wu, I, D, 0, &np->up));
    return uniql__own_matrix(dst, Wd, D, I, S->o.layout == UNIQL_LAYOUT_PRUNABLE, &np->down);
}

static uniql_result uniql__sort_mamba(uniql__sorter *S, int l, const uniql_mamba *mb, uniql_mamba *nm)
{
    const uniql_config *c = &S->src->config;
    uniql_model *dst = S->dst;
    void *user = dst->alloc_user;
    int H = c->ssm_heads, P = c->ssm_head_dim, G = c->ssm_groups, N = c->ssm_state, K = c->conv_kernel, D = c->hidden_size;
    int HP = H * P, GN = G * N, per = H / G, g, h, j;
    float *Wz, *Wx, *WB, *WC, *Wdt, *Wout;
    int *xmap = NULL, *bmap = NULL, *perm;
    double *sc = NULL, *cn, *bn, *lev;
    uniql_result r = UNIQL_OK;
    *nm = *mb;
    UNIQL__TRY(uniql__dense(dst, &mb->in_z, &Wz));
    UNIQL__TRY(uniql__dense(dst, &mb->in_x, &Wx));
    UNIQL__TRY(uniql__dense(dst, &mb->in_B, &WB));
    UNIQL__TRY(uniql__dense(dst, &mb->in_C, &WC));
    UNIQL__TRY(uniql__dense(dst, &mb->in_dt, &Wdt));
    UNIQL__TRY(uniql__dense(dst, &mb->out, &Wout));
    UNIQL__TRY(uniql__copy_vec(dst, mb->bias_dt, H, &nm->bias_dt));
    UNIQL__TRY(uniql__copy_vec(dst, mb->A_log, H, &nm->A_log));
    UNIQL__TRY(uniql__copy_vec(dst, mb->D, H, &nm->D));
    UNIQL__TRY(uniql__copy_vec(dst, mb->dt_bias, H, &nm->dt_bias));
    UNIQL__TRY(uniql__copy_vec(dst, mb->out_bias, D, &nm->out_bias));
    xmap = (int *)UNIQL_MALLOC(sizeof(int) * (size_t)(HP + GN + (P > N ? P : N)), user);
    sc = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)(3 * N + HP + 1), user);
    if (!xmap || !sc) { r = UNIQL_ERR_OUT_OF_MEMORY; goto done; }
    bmap = xmap + HP;
    perm = bmap + GN;
    cn = sc + N;
    bn = cn + N;
    lev = bn + N;
    uniql__iota(xmap, HP);
    uniql__iota(bmap, GN);
    if (S->use_scores) {
        /* state dims, per group: sum over the group's heads of |col(C_B,h^1/2)| |col(C_C^1/2)| */
        for (g = 0; g < G && r == UNIQL_OK; g++) {
            for (j = 0; j < N; j++) sc[j] = 0;
            r = uniql__colnorms(S->cb, l, UNIQL_STAT_MAMBA_C, g, S->o.eig_floor, cn, user);
            for (h = g * per; h < (g + 1) * per && r == UNIQL_OK; h++) {
                r = uniql__colnorms(S->cb, l, UNIQL_STAT_MAMBA_DTB, h, S->o.eig_floor, bn, user);
                for (j = 0; j < N && r == UNIQL_OK; j++) sc[j] += bn[j] * cn[j];
            }
            if (r == UNIQL_OK) r = uniql_argsort_desc_f64(N, sc, perm, user);
            for (j = 0; j < N && r == UNIQL_OK; j++) bmap[g * N + j] = g * N + perm[j];
        }
        /* inner channels, per head: ridge leverage of the out_proj input */
        if (r == UNIQL_OK) r = uniql__leverage(S->cb, l, UNIQL_STAT_MAMBA_OUT_IN, S->o.ridge_lambda, lev, user);
        for (h = 0; h < H && r == UNIQL_OK; h++) {
            r = uniql_argsort_desc_f64(P, lev + (size_t)h * P, perm, user);
            for (j = 0; j < P && r == UNIQL_OK; j++) xmap[h * P + j] = h * P + perm[j];
        }
    } else if (S->random) {
        for (g = 0; g < G; g++) {
            uniql__iota(perm, N);
            uniql__shuffle(perm, N, &S->rng);
            for (j = 0; j < N; j++) bmap[g * N + j] = g * N + perm[j];
        }
        for (h = 0; h < H; h++) {
            uniql__iota(perm, P);
            uniql__shuffle(perm, P, &S->rng);
            for (j = 0; j < P; j++) xmap[h * P + j] = h * P + perm[j];
        }
    }
    if (r != UNIQL_OK) goto done;
    if (!(Wz = uniql__gather_rows(dst, Wz, D, xmap, HP)) || !(Wx = uniql__gather_rows(dst, Wx, D, xmap, HP)) ||
        !(WB = uniql__gather_rows(dst, WB, D, bmap, GN)) || !(WC = uniql__gather_rows(dst, WC, D, bmap, GN)) ||
        !(Wout = uniql__gather_cols(dst, Wout, D, HP, xmap, HP))) {
        r = UNIQL_ERR_OUT_OF_MEMORY;
        goto done;
    }
    if ((r = uniql__gather_vec(dst, mb->bias_z, xmap, HP, 1, &nm->bias_z)) != UNIQL_OK) goto done;
    if ((r = uniql__gather_vec(dst, mb->bias_x, xmap, HP, 1, &nm->bias_x)) != UNIQL_OK) goto done;
    if ((r = uniql__gather_vec(dst, mb->bias_B, bmap, GN, 1, &nm->bias_B)) != UNIQL_OK) goto done;
    if ((r = uniql__gather_vec(dst, mb->bias_C, bmap, GN, 1, &nm->bias_C)) != UNIQL_OK) goto done;
    if ((r = uniql__gather_vec(dst, mb->conv_x, xmap, HP, K, &nm->conv_x)) != UNIQL_OK) goto done;
    if ((r = uniql__gather_vec(dst, mb->conv_B, bmap, GN, K, &nm->conv_B)) != UNIQL_OK) goto done;
    if ((r = uniql__gather_vec(dst, mb->conv_C, bmap, GN, K, &nm->conv_C)) != UNIQL_OK) goto done;
    if ((r = uniql__gather_vec(dst, mb->conv_bias_x, xmap, HP, 1, &nm->conv_bias_x)) != UNIQL_OK) goto done;
    if ((r = uniql__gather_vec(dst, mb->conv_bias_B, bmap, GN, 1, &nm->conv_bias_B)) != UNIQL_OK) goto done;
    if ((r = uniql__gather_vec(dst, mb->conv_bias_C, bmap, GN, 1, &nm->conv_bias_C)) != UNIQL_OK) goto done;
    if ((r = uniql__gather_vec(dst, mb->norm, xmap, HP, 1, &nm->norm)) != UNIQL_OK) goto done;
    if ((r = uniql__own_matrix(dst, Wz, HP, D, 0, &nm->in_z)) != UNIQL_OK) goto done;
    if ((r = uniql__own_matrix(dst, Wx, HP, D, 0, &nm->in_x)) != UNIQL_OK) goto done;
    if ((r = uniql__own_matrix(dst, WB, GN, D, 0, &nm->in_B)) != UNIQL_OK) goto done;
    if ((r = uniql__own_matrix(dst, WC, GN, D, 0, &nm->in_C)) != UNIQL_OK) goto done;
    if ((r = uniql__own_matrix(dst, Wdt, H, D, 0, &nm->in_dt)) != UNIQL_OK) goto done;
    r = uniql__own_matrix(dst, Wout, D, HP, S->o.layout == UNIQL_LAYOUT_PRUNABLE, &nm->out);
done:
    if (xmap) UNIQL_FREE(xmap, user);
    if (sc) UNIQL_FREE(sc, user);
    return r;
}

/* 1 if layer l of m has the full sizes of its config (and no kept-pairs layout) */
static int uniql__layer_unpruned(const uniql_model *m, int l, int allow_pairs)
{
    const uniql_config *c = &m->config;
    const uniql_layer *ly = &m->layers[l];
    if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_ATTENTION)
        if (ly->attn.qk_dim != c->head_dim || ly->attn.v_dim != c->head_dim || (!allow_pairs && ly->attn.rope_pairs)) return 0;
    if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_MLP)
        if (ly->mlp.d_int != c->intermediate_size) return 0;
    if (ly->type == UNIQL_BLOCK_MAMBA)
        if (ly->mamba.head_dim_kept != c->ssm_head_dim || ly->mamba.state_kept != c->ssm_state) return 0;
    return 1;
}

UNIQLDEF uniql_result uniql_sort_model(const uniql_model *m, const uniql_calib *cb,
                                       const uniql_sort_options *opt, uniql_model **out, uniql_error *err)
{
    uniql__sorter S;
    uniql_model *dst = NULL;
    uniql_result r;
    int l;
    if (out) *out = NULL;
    if (!m || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "sort_model: NULL argument");
    memset(&S, 0, sizeof S);
    if (opt) S.o = *opt;
    if ((int)S.o.order < 0 || (int)S.o.order > 1 || (int)S.o.layout < 0 || (int)S.o.layout > 1 || (int)S.o.vo_split < 0 ||
        (int)S.o.vo_split > 1 || S.o.ridge_lambda < 0 || S.o.eig_floor < 0 || !isfinite(S.o.ridge_lambda) || !isfinite(S.o.eig_floor))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "sort_model: bad options");
    if (S.o.order == UNIQL_ORDER_SCORES && !cb) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "sort_model: sorting by scores needs a calibration");
    if (cb && cb->n_layers != m->config.n_layers) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "sort_model: calibration of another model");
    if (S.o.ridge_lambda == 0) S.o.ridge_lambda = UNIQL_RIDGE_LAMBDA_DEFAULT;
    if (S.o.eig_floor == 0) S.o.eig_floor = UNIQL_EIG_FLOOR_DEFAULT;
    UNIQL__TRY(uniql_model_check(m, err));
    for (l = 0; l < m->config.n_layers; l++)
        if (!uniql__layer_unpruned(m, l, 0))
            return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "sort_model: layer %d is pruned or already sorted", l);
    if (cb && S.o.order == UNIQL_ORDER_SCORES && !cb->corr)
        return uniql__fail(err, UNIQL_ERR_MISSING, "sort_model: the calibration has no correlations (importance_only)");
    if ((r = uniql__model_shell(m, S.o.alloc_user, &dst)) != UNIQL_OK) return uniql__fail(err, r, "sort_model: out of memory");
    S.src = m;
    S.cb = cb;
    S.dst = dst;
    S.err = err;
    uniql_rng_seed(&S.rng, S.o.seed);
    r = uniql__copy_globals(dst, m);
    for (l = 0; l < m->config.n_layers && r == UNIQL_OK; l++) {
        const uniql_layer *src = &m->layers[l];
        uniql_layer *ly = &dst->layers[l];
        ly->type = src->type;
        S.random = S.o.order == UNIQL_ORDER_RANDOM;
        S.use_scores = !S.random && cb && cb->layers[l].active;
        r = uniql__copy_vec(dst, src->norm, m->config.hidden_size, &ly->norm);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, src->mlp_norm, m->config.hidden_size, &ly->mlp_norm);
        if (r == UNIQL_OK && (src->type == UNIQL_BLOCK_DECODER || src->type == UNIQL_BLOCK_ATTENTION))
            r = uniql__sort_attention(&S, l, &src->attn, &ly->attn);
        if (r == UNIQL_OK && (src->type == UNIQL_BLOCK_DECODER || src->type == UNIQL_BLOCK_MLP))
            r = uniql__sort_mlp(&S, l, &src->mlp, &ly->mlp);
        if (r == UNIQL_OK && src->type == UNIQL_BLOCK_MAMBA) r = uniql__sort_mamba(&S, l, &src->mamba, &ly->mamba);
        if (r != UNIQL_OK) {
            uniql_model_free(dst);
            return uniql__fail(err, r, "sort_model: layer %d: %s", l, uniql_result_string(r));
        }
    }
    if (r != UNIQL_OK) {
        uniql_model_free(dst);
        return uniql__fail(err, r, "sort_model: %s", uniql_result_string(r));
    }
    *out = dst;
    return UNIQL_OK;
}

/* ---- layer-wise rates (SPEC 1.3) ---- */

UNIQLDEF uniql_result uniql_layer_rates(int n_layers, const double *importance, const double *params,
                                        double global_rate, double eps, double max_rate, double *rates)
{
    double *w, smax, tot = 0, sumP = 0;
    unsigned char *clip;
    int l, it;
    if (n_layers < 1 || !importance || !rates) return UNIQL_ERR_INVALID_ARG;
    if (!(eps > 0)) eps = 0.1;
    if (!(max_rate > 0)) max_rate = 0.85;
    if (!(global_rate >= 0) || !(global_rate < max_rate) || max_rate > 1 || !isfinite(eps)) return UNIQL_ERR_INVALID_ARG;
    for (l = 0; l < n_layers; l++) {
        if (!isfinite(importance[l])) return UNIQL_ERR_NONFINITE;
        if (params && (!(params[l] >= 0) || !isfinite(params[l]))) return UNIQL_ERR_INVALID_ARG;
        sumP += params ? params[l] : 1.0;
    }
    if (!(sumP > 0)) return UNIQL_ERR_INVALID_ARG;
    w = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)n_layers + (size_t)n_layers, NULL);
    if (!w) return UNIQL_ERR_OUT_OF_MEMORY;
    clip = (unsigned char *)(w + n_layers);
    /* softmax(-s / eps), shifted by the smallest s for range */
    smax = importance[0];
    for (l = 1; l < n_layers; l++) if (importance[l] < smax) smax = importance[l];
    for (l = 0; l < n_layers; l++) { w[l] = exp(-(importance[l] - smax) / eps); tot += w[l]; clip[l] = 0; }
    for (l = 0; l < n_layers; l++) w[l] /= tot;
    /* water filling: c such that sum_l P_l min(max, c w_l) = global * sum P */
    for (it = 0; it <= n_layers; it++) {
        double need = global_rate * sumP, free_w = 0, cst;
        int changed = 0;
        for (l = 0; l < n_layers; l++) {
            double P = params ? params[l] : 1.0;
            if (clip[l]) need -= P * max_rate;
            else free_w += P * w[l];
        }
        cst = free_w > 0 ? need / free_w : 0;
        for (l = 0; l < n_layers; l++) {
            if (clip[l]) { rates[l] = max_rate; continue; }
            rates[l] = cst * w[l];
            if (rates[l] > max_rate) { clip[l] = 1; changed = 1; }
        }
        if (!changed) break;
    }
    for (l = 0; l < n_layers; l++) {
        if (rates[l] > max_rate) rates[l] = max_rate;
        if (rates[l] < 0) rates[l] = 0;
    }
    UNIQL_FREE(w, NULL);
    return UNIQL_OK;
}

UNIQLDEF uniql_kept uniql_kept_full(const uniql_config *c, int layer)
{
    uniql_kept k;
    (void)layer;
    memset(&k, 0, sizeof k);
    if (!c) return k;
    k.qk_dim = k.v_dim = c->head_dim;
    k.d_int = c->intermediate_size;
    k.head_dim = c->ssm_head_dim;
    k.state = c->ssm_state;
    return k;
}

/* round (1 - rate) * full to a multiple of unit, at least one unit, at most full */
static int uniql__kept_round(int full, double rate, int unit)
{
    double x = (1.0 - rate) * full;
    int k;
    if (unit <= 0) unit = 1;
    if (full <= unit) return full;
    k = (int)floor(x / unit + 0.5) * unit;
    if (k < unit) k = unit;
    if (k > full) k = full;
    return k;
}

UNIQLDEF uniql_result uniql_kept_from_rates(const uniql_config *c, const double *rates,
                                            const uniql_kept_units *units, uniql_kept *kept)
{
    uniql_kept_units u;
    int l;
    if (!c || !rates || !kept || c->n_layers < 1 || c->n_layers > UNIQL_MAX_LAYERS) return UNIQL_ERR_INVALID_ARG;
    memset(&u, 0, sizeof u);
    if (units) u = *units;
    if (u.qk_unit < 0 || u.v_unit < 0 || u.mlp_unit < 0 || u.mamba_unit < 0 || u.state_unit < 0) return UNIQL_ERR_INVALID_ARG;
    if (!u.qk_unit) u.qk_unit = 2;
    if (!u.v_unit) u.v_unit = 1;
    if (!u.mlp_unit) u.mlp_unit = 8;
    if (!u.mamba_unit) u.mamba_unit = 1;
    if (!u.state_unit) u.state_unit = 1;
    if (c->rope_type != UNIQL_ROPE_NONE && u.qk_unit % 2) return UNIQL_ERR_INVALID_ARG;
    for (l = 0; l < c->n_layers; l++) {
        if (isnan(rates[l])) return UNIQL_ERR_NONFINITE;
        if (!(rates[l] >= 0 && rates[l] < 1)) return UNIQL_ERR_INVALID_ARG;
    }
    for (l = 0; l < c->n_layers; l++) {
        double r = rates[l];
        uniql_kept k = uniql_kept_full(c, l);
        k.qk_dim = uniql__kept_round(c->head_dim, r, u.qk_unit);
        if (c->rope_type != UNIQL_ROPE_NONE && k.qk_dim % 2) k.qk_dim--;   /* odd head_dim smaller than the unit */
        if (k.qk_dim < 1) k.qk_dim = c->head_dim;
        k.v_dim = uniql__kept_round(c->head_dim, r, u.v_unit);
        k.d_int = uniql__kept_round(c->intermediate_size, r, u.mlp_unit);
        k.head_dim = uniql__kept_round(c->ssm_head_dim, r, u.mamba_unit);
        k.state = uniql__kept_round(c->ssm_state, r, u.state_unit);
        kept[l] = k;
    }
    return UNIQL_OK;
}

UNIQLDEF uint64_t uniql_prunable_params(const uniql_config *c, int layer, const uniql_kept *kp)
{
    uniql_kept k;
    uint64_t n = 0, D;
    int t;
    if (!c || layer < 0 || layer >= c->n_layers) return 0;
    k = kp ? *kp : uniql_kept_full(c, layer);
    D = (uint64_t)c->hidden_size;
    t = c->block[layer];
    if (t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_ATTENTION)
        n += D * (uint64_t)k.qk_dim * (uint64_t)(c->n_heads + c->n_kv_heads) + D * (uint64_t)k.v_dim * (uint64_t)(c->n_kv_heads + c->n_heads);
    if (t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_MLP)
        n += D * (uint64_t)k.d_int * (uint64_t)(c->mlp_act == UNIQL_MLP_SWIGLU ? 3 : 2);
    if (t == UNIQL_BLOCK_MAMBA) {
        uint64_t hp = (uint64_t)c->ssm_heads * (uint64_t)k.head_dim, gn = (uint64_t)c->ssm_groups * (uint64_t)k.state;
        n += D * hp * 3 + D * gn * 2 + (hp + 2 * gn) * (uint64_t)c->conv_kernel;
    }
    return n;
}

/* ---- pruning ---- */

typedef struct uniql__pruner {
    const uniql_model *src;
    uniql_model *dst;
    int compact;
    uniql_error *err;
} uniql__pruner;

/* rows map[0..n) of W as an owned compact fp32 matrix */
static uniql_result uniql__take_rows(uniql__pruner *P, const uniql_matrix *W, const int *map, int n, uniql_matrix *out)
{
    float *d = uniql__own_f32(P->dst, (size_t)n, (size_t)W->cols), *work;
    int i;
    uniql_result r = UNIQL_OK;
    if (!d) return UNIQL_ERR_OUT_OF_MEMORY;
    work = (float *)UNIQL_MALLOC(sizeof(float) * (size_t)(W->rows > 0 ? W->rows : 1), P->dst->alloc_user);
    if (!work) return UNIQL_ERR_OUT_OF_MEMORY;
    for (i = 0; i < n && r == UNIQL_OK; i++) r = uniql__matrix_row(W, map[i], d + (size_t)i * W->cols, work);
    UNIQL_FREE(work, P->dst->alloc_user);
    *out = uniql_matrix_f32(d, n, W->cols, (size_t)W->cols);
    return r;
}

/* columns map[0..n) of W as an owned compact fp32 matrix */
static uniql_result uniql__take_cols(uniql__pruner *P, const uniql_matrix *W, const int *map, int n, uniql_matrix *out)
{
    float *d = uniql__own_f32(P->dst, (size_t)W->rows, (size_t)n), *row, *work;
    int r_, i;
    uniql_result r = UNIQL_OK;
    if (!d) return UNIQL_ERR_OUT_OF_MEMORY;
    row = (float *)UNIQL_MALLOC(sizeof(float) * ((size_t)W->cols + (size_t)W->rows + 1), P->dst->alloc_user);
    if (!row) return UNIQL_ERR_OUT_OF_MEMORY;
    work = row + W->cols;
    for (r_ = 0; r_ < W->rows && r == UNIQL_OK; r_++) {
        r = uniql__matrix_row(W, r_, row, work);
        for (i = 0; i < n; i++) d[(size_t)r_ * n + i] = row[map[i]];
    }
    UNIQL_FREE(row, P->dst->alloc_user);
    *out = uniql_matrix_f32(d, W->rows, n, (size_t)n);
    return r;
}

/* Rows of n_blocks blocks of `full` rows: the first `kept` of each block, in the within-block
   order `order` (NULL: 0, 1, ..). Views: a blocked view of W, only for order == NULL. */
static uniql_result uniql__prune_rows(uniql__pruner *P, const uniql_matrix *W, int n_blocks, int full, int kept, const int *order,
                                      uniql_matrix *out)
{
    int *map, b, j;
    uniql_result r;
    if (!P->compact) {
        if (order || W->transposed)
            return uniql__fail(P->err, UNIQL_ERR_UNSUPPORTED, "prune: this row cut has no view (use compact = 1)");
        if (kept == full) { *out = *W; return UNIQL_OK; }
        r = n_blocks > 1 ? uniql_matrix_block_prefix(W, full, kept, out) : uniql_matrix_prefix(W, kept, W->cols, out);
        if (r != UNIQL_OK) return uniql__fail(P->err, r, "prune: no view for keeping %d of %d rows", kept, full);
        return UNIQL_OK;
    }
    map = (int *)UNIQL_MALLOC(sizeof(int) * (size_t)(n_blocks * kept > 0 ? n_blocks * kept : 1), P->dst->alloc_user);
    if (!map) return UNIQL_ERR_OUT_OF_MEMORY;
    for (b = 0; b < n_blocks; b++)
        for (j = 0; j < kept; j++) map[b * kept + j] = b * full + (order ? order[j] : j);
    r = uniql__take_rows(P, W, map, n_blocks * kept, out);
    UNIQL_FREE(map, P->dst->alloc_user);
    return r;
}

/* Columns (inputs) of n_blocks blocks of `full`: the first `kept` of each. Views: storage-row
   prefixes / blocks of a transposed W, or a column prefix of a dense W with one block. */
static uniql_result uniql__prune_cols(uniql__pruner *P, const uniql_matrix *W, int n_blocks, int full, int kept, uniql_matrix *out)
{
    int *map, b, j;
    uniql_result r;
    if (!P->compact) {
        if (kept == full) { *out = *W; return UNIQL_OK; }
        if (W->transposed || n_blocks == 1) {
            /* transposed: the inputs are storage rows (per-head blocks); dense with one block:
               a prefix inside every storage row (the kernels handle a partial group) */
            r = W->transposed && n_blocks > 1 ? uniql_matrix_block_prefix(W, full, kept, out) : uniql_matrix_prefix(W, W->rows, kept, out);
            if (r != UNIQL_OK) return uniql__fail(P->err, r, "prune: no view for keeping %d of %d inputs", kept, full);
            return UNIQL_OK;
        }
        return uniql__fail(P->err, UNIQL_ERR_UNSUPPORTED,
                           "prune: per-head input cuts of a dense matrix have no view (sort with UNIQL_LAYOUT_PRUNABLE, or compact = 1)");
    }
    map = (int *)UNIQL_MALLOC(sizeof(int) * (size_t)(n_blocks * kept > 0 ? n_blocks * kept : 1), P->dst->alloc_user);
    if (!map) return UNIQL_ERR_OUT_OF_MEMORY;
    for (b = 0; b < n_blocks; b++)
        for (j = 0; j < kept; j++) map[b * kept + j] = b * full + j;
    r = uniql__take_cols(P, W, map, n_blocks * kept, out);
    UNIQL_FREE(map, P->dst->alloc_user);
    if (r == UNIQL_OK && W->transposed) {   /* keep the orientation: quantizing it later gives the view's bytes */
        uniql_matrix dense = *out;
        r = uniql__own_matrix(P->dst, (const float *)dense.data, dense.rows, dense.cols, 1, out);
    }
    return r;
}

/* the first `kept` entries (each `width` floats) of every block of `full` entries */
static uniql_result uniql__prune_vec(uniql__pruner *P, const float *v, int n_blocks, int full, int kept, const int *order, int width,
                                     const float **out)
{
    float *d;
    int b, j;
    *out = NULL;
    if (!v) return UNIQL_OK;
    if (!(d = uniql__own_f32(P->dst, (size_t)n_blocks * kept, (size_t)width))) return UNIQL_ERR_OUT_OF_MEMORY;
    for (b = 0; b < n_blocks; b++)
        for (j = 0; j < kept; j++)
            memcpy(d + ((size_t)b * kept + j) * width, v + ((size_t)b * full + (order ? order[j] : j)) * width, sizeof(float) * (size_t)width);
    *out = d;
    return UNIQL_OK;
}

static uniql_result uniql__prune_keep(uniql__pruner *P, const uniql_matrix *W, uniql_matrix *out)
{
    float *d;
    if (!P->compact) { *out = *W; return UNIQL_OK; }
    UNIQL__TRY(uniql__dense(P->dst, W, &d));
    *out = uniql_matrix_f32(d, W->rows, W->cols, (size_t)W->cols);
    return UNIQL_OK;
}

static uniql_result uniql__prune_attention(uniql__pruner *P, const uniql_attention *a, const uniql_kept *k, uniql_attention *na)
{
    const uniql_config *c = &P->src->config;
    int H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, half = hd / 2, D = c->hidden_size, rope = c->rope_type != UNIQL_ROPE_NONE;
    int qk = k->qk_dim, vk = k->v_dim, np = qk / 2, g, j, *order = NULL, *pairs;
    uniql_result r = UNIQL_OK;
    *na = *a;
    na->qk_dim = qk;
    na->v_dim = vk;
    if (rope && qk < hd) {
        pairs = (int *)uniql__own(&P->dst->storage, sizeof(int) * (size_t)(KV * np + 2 * np + 1), P->dst->alloc_user);
        if (!pairs) return UNIQL_ERR_OUT_OF_MEMORY;
        for (g = 0; g < KV; g++)
            for (j = 0; j < np; j++) pairs[g * np + j] = a->rope_pairs ? a->rope_pairs[g * half + j] : j;
        if (!a->rope_pairs) {   /* rotate_half layout: gather pairs (j, j + half) interleaved */
            order = pairs + KV * np;
            for (j = 0; j < np; j++) { order[2 * j] = j; order[2 * j + 1] = j + half; }
        }
        na->rope_pairs = pairs;
    } else if (rope && a->rope_pairs) {
        int *cp = (int *)uniql__own(&P->dst->storage, sizeof(int) * (size_t)(KV * half), P->dst->alloc_user);
        if (!cp) return UNIQL_ERR_OUT_OF_MEMORY;
        memcpy(cp, a->rope_pairs, sizeof(int) * (size_t)(KV * half));
        na->rope_pairs = cp;
    }
    if (r == UNIQL_OK) r = uniql__prune_rows(P, &a->q, H, hd, qk, order, &na->q);
    if (r == UNIQL_OK) r = uniql__prune_rows(P, &a->k, KV, hd, qk, order, &na->k);
    if (r == UNIQL_OK) r = uniql__prune_rows(P, &a->v, KV, hd, vk, NULL, &na->v);
    if (r == UNIQL_OK) r = uniql__prune_cols(P, &a->o, H, hd, vk, &na->o);
    if (r == UNIQL_OK) r = uniql__prune_vec(P, a->q_bias, H, hd, qk, order, 1, &na->q_bias);
    if (r == UNIQL_OK) r = uniql__prune_vec(P, a->k_bias, KV, hd, qk, order, 1, &na->k_bias);
    if (r == UNIQL_OK) r = uniql__prune_vec(P, a->v_bias, KV, hd, vk, NULL, 1, &na->v_bias);
    if (r == UNIQL_OK) r = uniql__prune_vec(P, a->o_bias, 1, D, D, NULL, 1, &na->o_bias);
    return r;
}

static uniql_result uniql__prune_mlp(uniql__pruner *P, const uniql_mlp *p, const uniql_kept *k, uniql_mlp *np)
{
    const uniql_config *c = &P->src->config;
    int I = c->intermediate_size, D = c->hidden_size, dk = k->d_int;
    *np = *p;
    np->d_int = dk;
    if (c->mlp_act == UNIQL_MLP_SWIGLU) UNIQL__TRY(uniql__prune_rows(P, &p->gate, 1, I, dk, NULL, &np->gate));
    UNIQL__TRY(uniql__prune_rows(P, &p->up, 1, I, dk, NULL, &np->up));
    UNIQL__TRY(uniql__prune_cols(P, &p->down, 1, I, dk, &np->down));
    UNIQL__TRY(uniql__prune_vec(P, p->gate_bias, 1, I, dk, NULL, 1, &np->gate_bias));
    UNIQL__TRY(uniql__prune_vec(P, p->up_bias, 1, I, dk, NULL, 1, &np->up_bias));
    return uniql__prune_vec(P, p->down_bias, 1, D, D, NULL, 1, &np->down_bias);
}

static uniql_result uniql__prune_mamba(uniql__pruner *P, const uniql_mamba *mb, const uniql_kept *k, uniql_mamba *nm)
{
    const uniql_config *c = &P->src->config;
    int H = c->ssm_heads, Pd = c->ssm_head_dim, G = c->ssm_groups, N = c->ssm_state, K = c->conv_kernel, D = c->hidden_size;
    int pk = k->head_dim, nk = k->state;
    *nm = *mb;
    nm->head_dim_kept = pk;
    nm->state_kept = nk;
    UNIQL__TRY(uniql__prune_rows(P, &mb->in_z, H, Pd, pk, NULL, &nm->in_z));
    UNIQL__TRY(uniql__prune_rows(P, &mb->in_x, H, Pd, pk, NULL, &nm->in_x));
    UNIQL__TRY(uniql__prune_rows(P, &mb->in_B, G, N, nk, NULL, &nm->in_B));
    UNIQL__TRY(uniql__prune_rows(P, &mb->in_C, G, N, nk, NULL, &nm->in_C));
    UNIQL__TRY(uniql__prune_keep(P, &mb->in_dt, &nm->in_dt));
    UNIQL__TRY(uniql__prune_cols(P, &mb->out, H, Pd, pk, &nm->out));
    UNIQL__TRY(uniql__prune_vec(P, mb->bias_z, H, Pd, pk, NULL, 1, &nm->bias_z));
    UNIQL__TRY(uniql__prune_vec(P, mb->bias_x, H, Pd, pk, NULL, 1, &nm->bias_x));
    UNIQL__TRY(uniql__prune_vec(P, mb->bias_B, G, N, nk, NULL, 1, &nm->bias_B));
    UNIQL__TRY(uniql__prune_vec(P, mb->bias_C, G, N, nk, NULL, 1, &nm->bias_C));
    UNIQL__TRY(uniql__prune_vec(P, mb->bias_dt, 1, H, H, NULL, 1, &nm->bias_dt));
    UNIQL__TRY(uniql__prune_vec(P, mb->conv_x, H, Pd, pk, NULL, K, &nm->conv_x));
    UNIQL__TRY(uniql__prune_vec(P, mb->conv_B, G, N, nk, NULL, K, &nm->conv_B));
    UNIQL__TRY(uniql__prune_vec(P, mb->conv_C, G, N, nk, NULL, K, &nm->conv_C));
    UNIQL__TRY(uniql__prune_vec(P, mb->conv_bias_x, H, Pd, pk, NULL, 1, &nm->conv_bias_x));
    UNIQL__TRY(uniql__prune_vec(P, mb->conv_bias_B, G, N, nk, NULL, 1, &nm->conv_bias_B));
    UNIQL__TRY(uniql__prune_vec(P, mb->conv_bias_C, G, N, nk, NULL, 1, &nm->conv_bias_C));
    UNIQL__TRY(uniql__prune_vec(P, mb->A_log, 1, H, H, NULL, 1, &nm->A_log));
    UNIQL__TRY(uniql__prune_vec(P, mb->D, 1, H, H, NULL, 1, &nm->D));
    UNIQL__TRY(uniql__prune_vec(P, mb->dt_bias, 1, H, H, NULL, 1, &nm->dt_bias));
    UNIQL__TRY(uniql__prune_vec(P, mb->norm, H, Pd, pk, NULL, 1, &nm->norm));
    return uniql__prune_vec(P, mb->out_bias, 1, D, D, NULL, 1, &nm->out_bias);
}

UNIQLDEF uniql_result uniql_model_prune(const uniql_model *m, const uniql_kept *kept, int compact,
                                        void *alloc_user, uniql_model **out, uniql_error *err)
{
    uniql__pruner P;
    uniql_model *dst = NULL;
    const uniql_config *c;
    uniql_result r;
    int l;
    if (out) *out = NULL;
    if (err) err->code = UNIQL_OK;
    if (!m || !kept || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "prune: NULL argument");
    UNIQL__TRY(uniql_model_check(m, err));
    c = &m->config;
    for (l = 0; l < c->n_layers; l++) {
        const uniql_kept *k = &kept[l];
        int t = c->block[l];
        if (!uniql__layer_unpruned(m, l, 1)) return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "prune: layer %d is already pruned", l);
        if ((t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_ATTENTION) &&
            (k->qk_dim < 1 || k->qk_dim > c->head_dim || k->v_dim < 1 || k->v_dim > c->head_dim ||
             (c->rope_type != UNIQL_ROPE_NONE && k->qk_dim % 2)))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "prune: layer %d: qk_dim %d / v_dim %d outside [1, %d] (qk even with RoPE)", l,
                               k->qk_dim, k->v_dim, c->head_dim);
        if ((t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_MLP) && (k->d_int < 1 || k->d_int > c->intermediate_size))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "prune: layer %d: d_int %d outside [1, %d]", l, k->d_int, c->intermediate_size);
        if (t == UNIQL_BLOCK_MAMBA && (k->head_dim < 1 || k->head_dim > c->ssm_head_dim || k->state < 1 || k->state > c->ssm_state))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "prune: layer %d: Mamba head_dim %d / state %d out of range", l, k->head_dim, k->state);
    }
    if ((r = uniql__model_shell(m, alloc_user, &dst)) != UNIQL_OK) return uniql__fail(err, r, "prune: out of memory");
    memset(&P, 0, sizeof P);
    P.src = m;
    P.dst = dst;
    P.compact = compact != 0;
    P.err = err;
    if (P.compact) r = uniql__copy_globals(dst, m);
    else {
        dst->embed = m->embed;
        dst->lm_head = m->lm_head;
        r = uniql__copy_vec(dst, m->final_norm, c->hidden_size, &dst->final_norm);
    }
    for (l = 0; l < c->n_layers && r == UNIQL_OK; l++) {
        const uniql_layer *src = &m->layers[l];
        uniql_layer *ly = &dst->layers[l];
        ly->type = src->type;
        r = uniql__copy_vec(dst, src->norm, c->hidden_size, &ly->norm);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, src->mlp_norm, c->hidden_size, &ly->mlp_norm);
        if (r == UNIQL_OK && (src->type == UNIQL_BLOCK_DECODER || src->type == UNIQL_BLOCK_ATTENTION))
            r = uniql__prune_attention(&P, &src->attn, &kept[l], &ly->attn);
        if (r == UNIQL_OK && (src->type == UNIQL_BLOCK_DECODER || src->type == UNIQL_BLOCK_MLP))
            r = uniql__prune_mlp(&P, &src->mlp, &kept[l], &ly->mlp);
        if (r == UNIQL_OK && src->type == UNIQL_BLOCK_MAMBA) r = uniql__prune_mamba(&P, &src->mamba, &kept[l], &ly->mamba);
        if (r != UNIQL_OK) {
            uniql_model_free(dst);
            if (err && err->code == r) return r;   /* message already set */
            return uniql__fail(err, r, "prune: layer %d: %s", l, uniql_result_string(r));
        }
    }
    if (r == UNIQL_OK) r = uniql_model_check(dst, err);
    if (r != UNIQL_OK) {
        uniql_model_free(dst);
        return r;
    }
    *out = dst;
    return UNIQL_OK;
}


/* ---- quantization of a whole model ---- */

typedef struct uniql__quantizer {
    uniql_model *dst;
    uniql_model_quant_options o;
    float *buf;          /* dense scratch for the largest matrix */
} uniql__quantizer;

/* W (any dtype / view) -> a matrix of `bits` owned by dst, same orientation */
static uniql_result uniql__quant_matrix(uniql__quantizer *Q, const uniql_matrix *W, int bits, uniql_matrix *out)
{
    uniql_quant_desc d;
    size_t bytes;
    void *mem;
    UNIQL__TRY(uniql_dequantize(W, Q->buf, (size_t)(W->cols > 0 ? W->cols : 1)));
    if (bits == 0) {
        float *copy = uniql__own_f32(Q->dst, (size_t)W->rows, (size_t)W->cols);
        if (!copy) return UNIQL_ERR_OUT_OF_MEMORY;
        memcpy(copy, Q->buf, sizeof(float) * (size_t)W->rows * (size_t)W->cols);
        return uniql__own_matrix(Q->dst, copy, W->rows, W->cols, W->transposed, out);
    }
    memset(&d, 0, sizeof d);
    d.dtype = bits == 8 ? UNIQL_DTYPE_Q8 : Q->o.asymmetric ? UNIQL_DTYPE_Q4Z : UNIQL_DTYPE_Q4;
    d.group = Q->o.group;
    d.clip = Q->o.clip;
    d.transposed = W->transposed;
    d.parallel = Q->o.parallel;
    UNIQL__TRY(uniql_quant_size(&d, W->rows, W->cols, &bytes));
    if (!(mem = uniql__own(&Q->dst->storage, bytes, Q->dst->alloc_user))) return UNIQL_ERR_OUT_OF_MEMORY;
    return uniql_quantize(&d, Q->buf, W->rows, W->cols, (size_t)W->cols, mem, bytes, out);
}

static size_t uniql__mat_elems(const uniql_matrix *W) { return (size_t)W->rows * (size_t)W->cols; }

UNIQLDEF uniql_result uniql_model_quantize(const uniql_model *m, const int *bits, const uniql_model_quant_options *opt,
                                           uniql_model **out, uniql_error *err)
{
    uniql__quantizer Q;
    uniql_model *dst = NULL;
    const uniql_config *c;
    uniql_result r;
    size_t big;
    int l;
    if (out) *out = NULL;
    if (!m || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: NULL argument");
    UNIQL__TRY(uniql_model_check(m, err));
    c = &m->config;
    memset(&Q, 0, sizeof Q);
    if (opt) Q.o = *opt;
    if (Q.o.embed_bits != 0 && Q.o.embed_bits != 8) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: embed_bits must be 0 or 8");
    if (Q.o.group != 0 && Q.o.group != 32 && Q.o.group != 64 && Q.o.group != 128)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: group must be 32, 64 or 128");
    for (l = 0; bits && l < c->n_layers; l++)
        if (bits[l] != 0 && bits[l] != 4 && bits[l] != 8) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: layer %d: %d bits", l, bits[l]);
    /* scratch for the largest logical matrix */
    big = uniql__mat_elems(&m->embed);
    if (uniql__mat_elems(&m->lm_head) > big) big = uniql__mat_elems(&m->lm_head);
    for (l = 0; l < c->n_layers; l++) {
        const uniql_layer *ly = &m->layers[l];
        const uniql_matrix *ms[8];
        int k, n = 0;
        if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_ATTENTION) { ms[n++] = &ly->attn.q; ms[n++] = &ly->attn.o; }
        if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_MLP) { ms[n++] = &ly->mlp.up; ms[n++] = &ly->mlp.down; }
        if (ly->type == UNIQL_BLOCK_MAMBA) { ms[n++] = &ly->mamba.in_z; ms[n++] = &ly->mamba.out; }
        for (k = 0; k < n; k++) if (uniql__mat_elems(ms[k]) > big) big = uniql__mat_elems(ms[k]);
    }
    if ((r = uniql__model_shell(m, Q.o.alloc_user, &dst)) != UNIQL_OK) return uniql__fail(err, r, "quantize: out of memory");
    Q.dst = dst;
    Q.buf = (float *)UNIQL_MALLOC(sizeof(float) * (big ? big : 1), Q.o.alloc_user);
    if (!Q.buf) { uniql_model_free(dst); return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "quantize: out of memory"); }
    r = uniql__quant_matrix(&Q, &m->embed, Q.o.embed_bits, &dst->embed);
    if (r == UNIQL_OK) {
        if (m->lm_head.data == m->embed.data && m->lm_head.dtype == m->embed.dtype) dst->lm_head = dst->embed;
        else r = uniql__quant_matrix(&Q, &m->lm_head, Q.o.embed_bits, &dst->lm_head);
    }
    if (r == UNIQL_OK) r = uniql__copy_vec(dst, m->final_norm, c->hidden_size, &dst->final_norm);
    for (l = 0; l < c->n_layers && r == UNIQL_OK; l++) {
        const uniql_layer *s = &m->layers[l];
        uniql_layer *d = &dst->layers[l];
        int b = bits ? bits[l] : 4;
        *d = *s;   /* kept sizes, rope_pairs (copied below), type */
        r = uniql__copy_vec(dst, s->norm, c->hidden_size, &d->norm);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, s->mlp_norm, c->hidden_size, &d->mlp_norm);
        if (r == UNIQL_OK && (s->type == UNIQL_BLOCK_DECODER || s->type == UNIQL_BLOCK_ATTENTION)) {
            const uniql_attention *a = &s->attn;
            uniql_attention *na = &d->attn;
            int H = c->n_heads, KV = c->n_kv_heads;
            r = uniql__quant_matrix(&Q, &a->q, b, &na->q);
            if (r == UNIQL_OK) r = uniql__quant_matrix(&Q, &a->k, b, &na->k);
            if (r == UNIQL_OK) r = uniql__quant_matrix(&Q, &a->v, b, &na->v);
            if (r == UNIQL_OK) r = uniql__quant_matrix(&Q, &a->o, b, &na->o);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->q_bias, H * a->qk_dim, &na->q_bias);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->k_bias, KV * a->qk_dim, &na->k_bias);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->v_bias, KV * a->v_dim, &na->v_bias);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->o_bias, c->hidden_size, &na->o_bias);
            if (r == UNIQL_OK && a->rope_pairs) {
                int *pr = (int *)uniql__own(&dst->storage, sizeof(int) * (size_t)(KV * (a->qk_dim / 2) + 1), dst->alloc_user);
                if (!pr) r = UNIQL_ERR_OUT_OF_MEMORY;
                else { memcpy(pr, a->rope_pairs, sizeof(int) * (size_t)(KV * (a->qk_dim / 2))); na->rope_pairs = pr; }
            }
        }
        if (r == UNIQL_OK && (s->type == UNIQL_BLOCK_DECODER || s->type == UNIQL_BLOCK_MLP)) {
            const uniql_mlp *p = &s->mlp;
            uniql_mlp *np = &d->mlp;
            if (c->mlp_act == UNIQL_MLP_SWIGLU) r = uniql__quant_matrix(&Q, &p->gate, b, &np->gate);
            if (r == UNIQL_OK) r = uniql__quant_matrix(&Q, &p->up, b, &np->up);
            if (r == UNIQL_OK) r = uniql__quant_matrix(&Q, &p->down, b, &np->down);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, p->gate_bias, p->d_int, &np->gate_bias);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, p->up_bias, p->d_int, &np->up_bias);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, p->down_bias, c->hidden_size, &np->down_bias);
        }
        if (r == UNIQL_OK && s->type == UNIQL_BLOCK_MAMBA) {
            const uniql_mamba *a = &s->mamba;
            uniql_mamba *nb = &d->mamba;
            int H = c->ssm_heads, HP = H * a->head_dim_kept, GN = c->ssm_groups * a->state_kept, K = c->conv_kernel;
            r = uniql__quant_matrix(&Q, &a->in_z, b, &nb->in_z);
            if (r == UNIQL_OK) r = uniql__quant_matrix(&Q, &a->in_x, b, &nb->in_x);
            if (r == UNIQL_OK) r = uniql__quant_matrix(&Q, &a->in_B, b, &nb->in_B);
            if (r == UNIQL_OK) r = uniql__quant_matrix(&Q, &a->in_C, b, &nb->in_C);
            if (r == UNIQL_OK) r = uniql__quant_matrix(&Q, &a->in_dt, b, &nb->in_dt);
            if (r == UNIQL_OK) r = uniql__quant_matrix(&Q, &a->out, b, &nb->out);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->bias_z, HP, &nb->bias_z);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->bias_x, HP, &nb->bias_x);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->bias_B, GN, &nb->bias_B);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->bias_C, GN, &nb->bias_C);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->bias_dt, H, &nb->bias_dt);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_x, HP * K, &nb->conv_x);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_B, GN * K, &nb->conv_B);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_C, GN * K, &nb->conv_C);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_bias_x, HP, &nb->conv_bias_x);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_bias_B, GN, &nb->conv_bias_B);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_bias_C, GN, &nb->conv_bias_C);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->A_log, H, &nb->A_log);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->D, H, &nb->D);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->dt_bias, H, &nb->dt_bias);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->norm, HP, &nb->norm);
            if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->out_bias, c->hidden_size, &nb->out_bias);
        }
        if (r != UNIQL_OK) {
            UNIQL_FREE(Q.buf, Q.o.alloc_user);
            uniql_model_free(dst);
            return uniql__fail(err, r, "quantize: layer %d: %s", l, uniql_result_string(r));
        }
    }
    UNIQL_FREE(Q.buf, Q.o.alloc_user);
    if (r == UNIQL_OK) r = uniql_model_check(dst, err);
    if (r != UNIQL_OK) {
        uniql_model_free(dst);
        return uniql__fail(err, r, "quantize: %s", uniql_result_string(r));
    }
    *out = dst;
    return UNIQL_OK;
}

/* bytes of a rows x cols matrix at `bits` (0/32: fp32) */
static uint64_t uniql__mat_bytes(int rows, int cols, int bits, int group, int asym, int transposed)
{
    uniql_quant_desc d;
    size_t b;
    if (rows < 1 || cols < 1) return 0;
    if (bits == 0 || bits == 32) return (uint64_t)rows * (uint64_t)cols * 4u;
    memset(&d, 0, sizeof d);
    d.dtype = bits == 8 ? UNIQL_DTYPE_Q8 : asym ? UNIQL_DTYPE_Q4Z : UNIQL_DTYPE_Q4;
    d.group = group;
    d.transposed = transposed;
    if (uniql_quant_size(&d, rows, cols, &b) != UNIQL_OK) return 0;
    return (uint64_t)b;
}

UNIQLDEF uint64_t uniql_layer_bytes(const uniql_config *c, int layer, const uniql_kept *kp, int bits, int group,
                                    int asymmetric, uniql_layout layout)
{
    uniql_kept k;
    uint64_t n = 0, D, vec = 0;
    int t, tr = layout == UNIQL_LAYOUT_PRUNABLE;
    if (!c || layer < 0 || layer >= c->n_layers || (bits != 0 && bits != 4 && bits != 8 && bits != 32)) return 0;
    k = kp ? *kp : uniql_kept_full(c, layer);
    D = (uint64_t)c->hidden_size;
    t = c->block[layer];
    vec += D * (t == UNIQL_BLOCK_DECODER ? 2 : 1);   /* norms */
    if (t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_ATTENTION) {
        int H = c->n_heads, KV = c->n_kv_heads;
        n += uniql__mat_bytes(H * k.qk_dim, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(KV * k.qk_dim, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(KV * k.v_dim, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(c->hidden_size, H * k.v_dim, bits, group, asymmetric, tr);
        if (c->qkv_bias) vec += (uint64_t)(H + KV) * (uint64_t)k.qk_dim;   /* the v bias moves into o's */
        if (c->qkv_bias || c->o_bias) vec += D;
        if (c->rope_type != UNIQL_ROPE_NONE) vec += (uint64_t)KV * (uint64_t)(k.qk_dim / 2);   /* rope_pairs (int32) */
    }
    if (t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_MLP) {
        if (c->mlp_act == UNIQL_MLP_SWIGLU) n += uniql__mat_bytes(k.d_int, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(k.d_int, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(c->hidden_size, k.d_int, bits, group, asymmetric, tr);
        if (c->mlp_bias) vec += (uint64_t)k.d_int * (c->mlp_act == UNIQL_MLP_SWIGLU ? 2 : 1) + D;
    }
    if (t == UNIQL_BLOCK_MAMBA) {
        int H = c->ssm_heads, HP = H * k.head_dim, GN = c->ssm_groups * k.state;
        n += 2 * uniql__mat_bytes(HP, c->hidden_size, bits, group, asymmetric, 0);
        n += 2 * uniql__mat_bytes(GN, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(H, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(c->hidden_size, HP, bits, group, asymmetric, tr);
        vec += (uint64_t)(HP + 2 * GN) * (uint64_t)c->conv_kernel + 3u * (uint64_t)H + (uint64_t)HP;
        if (c->conv_bias) vec += (uint64_t)(HP + 2 * GN);
        if (c->ssm_proj_bias) vec += (uint64_t)(2 * HP + 2 * GN + H) + D;
    }
    return n + 4 * vec;
}

/* bytes a view reaches: storage rows x row bytes + scales / zeros */
static uint64_t uniql__mview_bytes(const uniql_matrix *W)
{
    uint64_t S = (uint64_t)uniql_matrix_storage_rows(W), L = (uint64_t)(W->transposed ? W->rows : W->cols), nb = (L + 31) / 32, ng;
    switch (W->dtype) {
    case UNIQL_DTYPE_F32: return S * L * 4;
    case UNIQL_DTYPE_F16: case UNIQL_DTYPE_BF16: return S * L * 2;
    case UNIQL_DTYPE_Q4: case UNIQL_DTYPE_Q4Z:
        ng = W->group > 0 ? (L + (uint64_t)W->group - 1) / (uint64_t)W->group : 1;
        return S * (16 * nb + 2 * ng + (W->dtype == UNIQL_DTYPE_Q4Z ? ng : 0));
    case UNIQL_DTYPE_Q8: return S * (32 * nb + 2);
    }
    return 0;
}

UNIQLDEF uint64_t uniql_model_bytes(const uniql_model *m)
{
    const uniql_config *c;
    uint64_t n = 0, vec;
    int l;
    if (!m || !m->layers) return 0;
    c = &m->config;
    n += uniql__mview_bytes(&m->embed);
    if (!(m->lm_head.data == m->embed.data && m->lm_head.dtype == m->embed.dtype)) n += uniql__mview_bytes(&m->lm_head);
    vec = (uint64_t)c->hidden_size;
    for (l = 0; l < c->n_layers; l++) {
        const uniql_layer *ly = &m->layers[l];
        vec += (uint64_t)c->hidden_size * (ly->mlp_norm ? 2 : 1);
        if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_ATTENTION) {
            const uniql_attention *a = &ly->attn;
            n += uniql__mview_bytes(&a->q) + uniql__mview_bytes(&a->k) + uniql__mview_bytes(&a->v) + uniql__mview_bytes(&a->o);
            if (a->q_bias) vec += (uint64_t)c->n_heads * a->qk_dim;
            if (a->k_bias) vec += (uint64_t)c->n_kv_heads * a->qk_dim;
            if (a->v_bias) vec += (uint64_t)c->n_kv_heads * a->v_dim;
            if (a->o_bias) vec += (uint64_t)c->hidden_size;
            if (a->rope_pairs) vec += (uint64_t)c->n_kv_heads * (a->qk_dim / 2);
        }
        if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_MLP) {
            const uniql_mlp *p = &ly->mlp;
            if (c->mlp_act == UNIQL_MLP_SWIGLU) n += uniql__mview_bytes(&p->gate);
            n += uniql__mview_bytes(&p->up) + uniql__mview_bytes(&p->down);
            if (p->gate_bias) vec += (uint64_t)p->d_int;
            if (p->up_bias) vec += (uint64_t)p->d_int;
            if (p->down_bias) vec += (uint64_t)c->hidden_size;
        }
        if (ly->type == UNIQL_BLOCK_MAMBA) {
            const uniql_mamba *a = &ly->mamba;
            uint64_t HP = (uint64_t)c->ssm_heads * a->head_dim_kept, GN = (uint64_t)c->ssm_groups * a->state_kept;
            n += uniql__mview_bytes(&a->in_z) + uniql__mview_bytes(&a->in_x) + uniql__mview_bytes(&a->in_B) + uniql__mview_bytes(&a->in_C) +
                 uniql__mview_bytes(&a->in_dt) + uniql__mview_bytes(&a->out);
            vec += (HP + 2 * GN) * (uint64_t)c->conv_kernel + 3u * (uint64_t)c->ssm_heads + HP;
            if (a->conv_bias_x) vec += HP + 2 * GN;
            if (a->bias_z) vec += 2 * HP + 2 * GN + (uint64_t)c->ssm_heads;
            if (a->out_bias) vec += (uint64_t)c->hidden_size;
        }
    }
    return n + 4 * vec;
}


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


/* =====================================================================================
   IMPL 10. Packed .uniql files (writer, loader, selection)
   ===================================================================================== */

static const unsigned char uniql__pack_magic[8] = {0x89, 'U', 'N', 'I', 'Q', 'L', '\r', '\n'};

static uint64_t uniql__fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

UNIQLDEF uint64_t uniql_pack_checksum(const void *buf, size_t size)
{
    const unsigned char *b = (const unsigned char *)buf;
    uint64_t h = 0xcbf29ce484222325ull;
    h = uniql__fnv1a(h, b, size < 40 ? size : 40);
    if (size > 48) h = uniql__fnv1a(h, b + 48, size - 48);
    return h;
}

static void uniql__put_u32(unsigned char *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void uniql__put_u64(unsigned char *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t uniql__get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t uniql__get_u64(const unsigned char *p)
{
    return (uint64_t)uniql__get_u32(p) | (uint64_t)uniql__get_u32(p + 4) << 32;
}

static const char *uniql__pack_dtype_names[] = {"F32", "F16", "BF16", "Q4", "Q4Z", "Q8"};

static int uniql__pack_is_quant(uniql_dtype d)
{
    return d == UNIQL_DTYPE_Q4 || d == UNIQL_DTYPE_Q4Z || d == UNIQL_DTYPE_Q8;
}

/* bytes of one storage row of length L, and scales per storage row */
static uniql_result uniql__pack_row_layout(uniql_dtype dtype, uint64_t L, int group, uint64_t *row_bytes,
                                           uint64_t *ng)
{
    uint64_t nb = (L + 31) / 32;
    switch (dtype) {
    case UNIQL_DTYPE_F32: *row_bytes = 4 * L; *ng = 0; break;
    case UNIQL_DTYPE_F16: case UNIQL_DTYPE_BF16: *row_bytes = 2 * L; *ng = 0; break;
    case UNIQL_DTYPE_Q4: case UNIQL_DTYPE_Q4Z:
        if (group != 32 && group != 64 && group != 128) return UNIQL_ERR_SHAPE;
        *row_bytes = 16 * nb; *ng = (L + (uint64_t)group - 1) / (uint64_t)group; break;
    case UNIQL_DTYPE_Q8: *row_bytes = 32 * nb; *ng = 1; break;
    default: return UNIQL_ERR_DTYPE;
    }
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_pack_tensor_bytes(uniql_dtype dtype, int rows, int cols, int transposed, int group,
                                              uint64_t *data_bytes, uint64_t *scale_bytes, uint64_t *zero_bytes)
{
    uint64_t S, L, rb, ng;
    uniql_result r;
    if (rows < 1 || cols < 1) return UNIQL_ERR_SHAPE;
    S = (uint64_t)(transposed ? cols : rows);
    L = (uint64_t)(transposed ? rows : cols);
    if ((r = uniql__pack_row_layout(dtype, L, group, &rb, &ng)) != UNIQL_OK) return r;
    /* S, L < 2^31 and rb, ng <= 4L: products stay below 2^64 */
    if (data_bytes) *data_bytes = S * rb;
    if (scale_bytes) *scale_bytes = S * ng * 2;
    if (zero_bytes) *zero_bytes = dtype == UNIQL_DTYPE_Q4Z ? S * ng : 0;
    return UNIQL_OK;
}

/* growable text buffer for the JSON header */
typedef struct uniql__sb {
    char *p;
    size_t n, cap;
    void *user;
    int oom;
} uniql__sb;

static void uniql__sb_put(uniql__sb *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *q;
        while (cap < b->n + n + 1) {
            if (cap > ((size_t)-1) / 2) { b->oom = 1; return; }
            cap *= 2;
        }
        q = (char *)UNIQL_MALLOC(cap, b->user);
        if (!q) { b->oom = 1; return; }
        if (b->n) memcpy(q, b->p, b->n);
        if (b->p) UNIQL_FREE(b->p, b->user);
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void uniql__sb_str(uniql__sb *b, const char *s) { uniql__sb_put(b, s, strlen(s)); }
static void uniql__sb_fmt(uniql__sb *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int k;
    va_start(ap, fmt);
    k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0 || k >= (int)sizeof tmp) { b->oom = 1; return; }
    uniql__sb_put(b, tmp, (size_t)k);
}
/* Append n bytes as a JSON string literal: quote, backslash and control characters
   escaped, UTF-8 copied as is after validation (the reader's strict parser would refuse
   invalid sequences, so the writer refuses them first). Returns 0 on invalid UTF-8. */
static int uniql__sb_json_string(uniql__sb *b, const char *s, size_t n)
{
    size_t i = 0;
    uniql__sb_put(b, "\"", 1);
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { char e[2]; e[0] = '\\'; e[1] = (char)c; uniql__sb_put(b, e, 2); i++; }
        else if (c < 0x20) { uniql__sb_fmt(b, "\\u%04x", (unsigned)c); i++; }
        else if (c < 0x80) { uniql__sb_put(b, s + i, 1); i++; }
        else {
            /* validate one UTF-8 sequence: no overlongs, no surrogates, <= U+10FFFF */
            int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0, k;
            uint32_t cp;
            if (!len || c > 0xF4 || i + (size_t)len > n) return 0;
            cp = c & (len == 2 ? 0x1Fu : len == 3 ? 0x0Fu : 0x07u);
            for (k = 1; k < len; k++) {
                unsigned char d = (unsigned char)s[i + (size_t)k];
                if ((d & 0xC0) != 0x80) return 0;
                cp = cp << 6 | (d & 0x3Fu);
            }
            if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
            uniql__sb_put(b, s + i, (size_t)len);
            i += (size_t)len;
        }
    }
    uniql__sb_put(b, "\"", 1);
    return 1;
}

static size_t uniql__pack_phys_row(const uniql_matrix *m, size_t i)
{
    if (m->block > 0) return (i / (size_t)m->block) * (size_t)m->block_stride + i % (size_t)m->block;
    return i;
}

typedef struct uniql__pack_plan {
    uint64_t db, sb, zb, doff, soff, zoff;
} uniql__pack_plan;

static int uniql__pack_name_cmp(const void *a, const void *b)
{
    const uniql_pack_input *x = *(const uniql_pack_input *const *)a, *y = *(const uniql_pack_input *const *)b;
    return strcmp(x->name, y->name);
}

static uint64_t uniql__align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

UNIQLDEF uniql_result uniql_pack_write(const char *config_json, size_t config_len, const char *meta_json,
                                       size_t meta_len, const uniql_pack_input *tensors, int n_tensors,
                                       void *alloc_user, void **out, size_t *out_size, uniql_error *err)
{
    const uniql_pack_input **ord = NULL;
    uniql__pack_plan *plan = NULL;
    uniql__sb hb;
    uniql_json_doc md;
    uniql_result r = UNIQL_OK;
    uint64_t data = 0, hdr_len, doff, total;
    unsigned char *f = NULL;
    int i;
    memset(&hb, 0, sizeof hb);
    hb.user = alloc_user;
    if (out) *out = NULL;
    if (out_size) *out_size = 0;
    if (!out || !out_size || (!config_json && config_len) || n_tensors < 0 || (n_tensors && !tensors))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: NULL argument or negative count");
    if (meta_json) {
        r = uniql_json_parse(meta_json, meta_len, 0, alloc_user, &md, err);
        if (r != UNIQL_OK) return r;
        r = md.root->type == UNIQL_JSON_OBJECT ? UNIQL_OK : UNIQL_ERR_FORMAT;
        uniql_json_free(&md);
        if (r != UNIQL_OK) return uniql__fail(err, r, "pack: meta is not a JSON object");
    }
    ord = (const uniql_pack_input **)UNIQL_MALLOC(sizeof(*ord) * (size_t)(n_tensors + 1), alloc_user);
    plan = (uniql__pack_plan *)UNIQL_MALLOC(sizeof(*plan) * (size_t)(n_tensors + 1), alloc_user);
    if (!ord || !plan) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack: out of memory"); goto done; }
    for (i = 0; i < n_tensors; i++) {
        const uniql_matrix *m = &tensors[i].m;
        if (!tensors[i].name || !tensors[i].name[0] || !m->data ||
            (uniql__pack_is_quant(m->dtype) && !m->scales) || (m->dtype == UNIQL_DTYPE_Q4Z && !m->zeros)) {
            r = uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: tensor %d has no name, data, scales or zeros", i);
            goto done;
        }
        ord[i] = &tensors[i];
    }
    qsort(ord, (size_t)n_tensors, sizeof(*ord), uniql__pack_name_cmp);
    for (i = 0; i < n_tensors; i++) {
        const uniql_matrix *m = &ord[i]->m;
        uniql__pack_plan *pl = &plan[i];
        if (i > 0 && !strcmp(ord[i - 1]->name, ord[i]->name)) {
            r = uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: tensor name '%s' given twice", ord[i]->name);
            goto done;
        }
        r = uniql_pack_tensor_bytes(m->dtype, m->rows, m->cols, m->transposed != 0,
                                    uniql__pack_is_quant(m->dtype) && m->dtype != UNIQL_DTYPE_Q8 ? m->group : 0,
                                    &pl->db, &pl->sb, &pl->zb);
        if (r != UNIQL_OK) { uniql__fail(err, r, "pack: tensor '%s': bad dtype or shape", ord[i]->name); goto done; }
        pl->doff = data; data = uniql__align64(data + pl->db);
        pl->soff = data; data = uniql__align64(data + pl->sb);
        pl->zoff = data; data = uniql__align64(data + pl->zb);
        if (data > ((uint64_t)1 << 62)) { r = uniql__fail(err, UNIQL_ERR_OVERFLOW, "pack: data too large"); goto done; }
    }
    /* JSON header */
    uniql__sb_str(&hb, "{\"format\":\"uniql\",\"version\":1,\"config\":");
    if (!uniql__sb_json_string(&hb, config_json ? config_json : "", config_len)) {
        r = uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: config text is not valid UTF-8");
        goto done;
    }
    uniql__sb_str(&hb, ",\"meta\":");
    if (meta_json) uniql__sb_put(&hb, meta_json, meta_len); else uniql__sb_str(&hb, "{}");
    uniql__sb_str(&hb, ",\n\"tensors\":[");
    for (i = 0; i < n_tensors; i++) {
        const uniql_matrix *m = &ord[i]->m;
        uniql__pack_plan *pl = &plan[i];
        int q = uniql__pack_is_quant(m->dtype);
        uniql__sb_str(&hb, i ? ",\n{\"name\":" : "\n{\"name\":");
        if (!uniql__sb_json_string(&hb, ord[i]->name, strlen(ord[i]->name))) {
            r = uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: tensor name %d is not valid UTF-8", i);
            goto done;
        }
        uniql__sb_fmt(&hb, ",\"dtype\":\"%s\",\"rows\":%d,\"cols\":%d,\"transposed\":%d,\"group\":%d",
                      uniql__pack_dtype_names[m->dtype], m->rows, m->cols, m->transposed != 0,
                      q && m->dtype != UNIQL_DTYPE_Q8 ? m->group : 0);
        uniql__sb_fmt(&hb, ",\"data\":[%llu,%llu]", (unsigned long long)pl->doff, (unsigned long long)pl->db);
        if (q) uniql__sb_fmt(&hb, ",\"scales\":[%llu,%llu]", (unsigned long long)pl->soff, (unsigned long long)pl->sb);
        if (m->dtype == UNIQL_DTYPE_Q4Z)
            uniql__sb_fmt(&hb, ",\"zeros\":[%llu,%llu]", (unsigned long long)pl->zoff, (unsigned long long)pl->zb);
        uniql__sb_str(&hb, "}");
    }
    uniql__sb_str(&hb, "]}\n");
    if (hb.oom) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack: out of memory (header)"); goto done; }
    hdr_len = hb.n;
    if (hdr_len > UNIQL_PACK_MAX_HEADER) { r = uniql__fail(err, UNIQL_ERR_OVERFLOW, "pack: header too large"); goto done; }
    doff = uniql__align64(UNIQL_PACK_FIXED_HEADER + hdr_len);
    total = doff + data;
    if (total > (uint64_t)((size_t)-1)) { r = uniql__fail(err, UNIQL_ERR_OVERFLOW, "pack: file too large"); goto done; }
    f = (unsigned char *)UNIQL_MALLOC((size_t)total, alloc_user);
    if (!f) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack: out of memory (%llu bytes)", (unsigned long long)total); goto done; }
    memset(f, 0, (size_t)total);
    memcpy(f, uniql__pack_magic, 8);
    uniql__put_u32(f + 8, UNIQL_PACK_VERSION);
    uniql__put_u32(f + 12, 0);
    uniql__put_u64(f + 16, hdr_len);
    uniql__put_u64(f + 24, doff);
    uniql__put_u64(f + 32, data);
    memcpy(f + UNIQL_PACK_FIXED_HEADER, hb.p, (size_t)hdr_len);
    for (i = 0; i < n_tensors; i++) {
        const uniql_matrix *m = &ord[i]->m;
        uniql__pack_plan *pl = &plan[i];
        size_t S = (size_t)(m->transposed ? m->cols : m->rows), s, rb = (size_t)(pl->db / S), ng = (size_t)(pl->sb / 2 / S);
        unsigned char *d = f + doff + pl->doff;
        for (s = 0; s < S; s++) {
            size_t p = uniql__pack_phys_row(m, s);
            memcpy(d + s * rb, (const unsigned char *)m->data + p * m->stride, rb);
            if (ng) memcpy(f + doff + pl->soff + s * ng * 2, m->scales + p * m->scale_stride, ng * 2);
            if (pl->zb) memcpy(f + doff + pl->zoff + s * ng, m->zeros + p * m->scale_stride, ng);
        }
    }
    uniql__put_u64(f + 40, uniql_pack_checksum(f, (size_t)total));
    *out = f;
    *out_size = (size_t)total;
done:
    if (hb.p) UNIQL_FREE(hb.p, alloc_user);
    if (ord) UNIQL_FREE((void *)ord, alloc_user);
    if (plan) UNIQL_FREE(plan, alloc_user);
    return r;
}

/* ---- reader ---- */

static int uniql__json_u64(const uniql_json *j, uint64_t *out)
{
    if (!j || j->type != UNIQL_JSON_NUMBER || !(j->number >= 0) || j->number > 9007199254740992.0 ||
        j->number != floor(j->number)) return 0;
    *out = (uint64_t)j->number;
    return 1;
}
static int uniql__json_int(const uniql_json *j, int lo, int hi, int *out)
{
    uint64_t v;
    if (!uniql__json_u64(j, &v) || v < (uint64_t)lo || v > (uint64_t)hi) return 0;
    *out = (int)v;
    return 1;
}
static int uniql__json_range(const uniql_json *j, uint64_t *off, uint64_t *len)
{
    return j && j->type == UNIQL_JSON_ARRAY && j->count == 2 && uniql__json_u64(j->child, off) &&
           uniql__json_u64(j->child->next, len);
}

UNIQLDEF void uniql_packed_free(uniql_packed *p)
{
    if (!p) return;
    uniql_json_free(&p->header);
    if (p->mem) UNIQL_FREE(p->mem, p->alloc_user);
    memset(p, 0, sizeof *p);
}

static uniql_result uniql__packed_tensors(uniql_packed *p, const uniql_json *arr, uniql_error *err)
{
    uniql_pack_tensor *T;
    uniql__range *R;
    const uniql_json *e;
    int i, nr = 0;
    size_t bytes;
    if (!arr || arr->type != UNIQL_JSON_ARRAY) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: header has no \"tensors\" array");
    if (!uniql__mul_size((size_t)arr->count + 1, sizeof(uniql_pack_tensor) + 3 * sizeof(uniql__range), &bytes))
        return uniql__fail(err, UNIQL_ERR_OVERFLOW, "uniql: too many tensors");
    p->mem = UNIQL_MALLOC(bytes, p->alloc_user);
    if (!p->mem) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "uniql: out of memory");
    T = (uniql_pack_tensor *)p->mem;
    R = (uniql__range *)(void *)(T + arr->count + 1);
    memset(T, 0, sizeof(*T) * (size_t)arr->count);
    for (i = 0, e = arr->child; e; e = e->next, i++) {
        const uniql_json *nm = uniql_json_get(e, "name"), *dt = uniql_json_get(e, "dtype");
        const uniql_json *zs = uniql_json_get(e, "zeros"), *sc = uniql_json_get(e, "scales");
        uniql_pack_tensor *t = &T[i];
        int d, rows, cols, tr, group, q;
        uint64_t db, sb, zb, off[3], len[3];
        uniql_result r;
        if (e->type != UNIQL_JSON_OBJECT || !nm || nm->type != UNIQL_JSON_STRING || !nm->len || strlen(nm->str) != nm->len)
            return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: tensor %d has no valid name", i);
        t->name = nm->str;
        if (i > 0 && strcmp(T[i - 1].name, t->name) >= 0)
            return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: tensor '%s' out of name order or duplicated", t->name);
        if (!dt || dt->type != UNIQL_JSON_STRING) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: tensor '%s' has no dtype", t->name);
        for (d = 0; d < 6; d++) if (!strcmp(dt->str, uniql__pack_dtype_names[d]) && strlen(dt->str) == dt->len) break;
        if (d == 6) return uniql__fail(err, UNIQL_ERR_DTYPE, "uniql: tensor '%s' has unknown dtype", t->name);
        q = uniql__pack_is_quant((uniql_dtype)d);
        if (!uniql__json_int(uniql_json_get(e, "rows"), 0, 0x7fffffff, &rows) ||
            !uniql__json_int(uniql_json_get(e, "cols"), 0, 0x7fffffff, &cols))
            return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: tensor '%s' has no valid rows/cols", t->name);
        if (rows < 1 || cols < 1) return uniql__fail(err, UNIQL_ERR_SHAPE, "uniql: tensor '%s' has an empty shape", t->name);
        if (!uniql__json_int(uniql_json_get(e, "transposed"), 0, 1, &tr) ||
            !uniql__json_int(uniql_json_get(e, "group"), 0, 128, &group) ||
            ((d == UNIQL_DTYPE_Q4 || d == UNIQL_DTYPE_Q4Z) ? (group != 32 && group != 64 && group != 128) : group != 0))
            return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: tensor '%s' has an invalid transposed/group", t->name);
        if (!uniql__json_range(uniql_json_get(e, "data"), &off[0], &len[0]) ||
            (q ? !uniql__json_range(sc, &off[1], &len[1]) : sc != NULL) ||
            (d == UNIQL_DTYPE_Q4Z ? !uniql__json_range(zs, &off[2], &len[2]) : zs != NULL))
            return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: tensor '%s' has ill-formed data/scales/zeros", t->name);
        if ((r = uniql_pack_tensor_bytes((uniql_dtype)d, rows, cols, tr, group, &db, &sb, &zb)) != UNIQL_OK)
            return uniql__fail(err, r, "uniql: tensor '%s' has an invalid shape", t->name);
        if (len[0] != db || (q && len[1] != sb) || (d == UNIQL_DTYPE_Q4Z && len[2] != zb))
            return uniql__fail(err, UNIQL_ERR_SHAPE, "uniql: tensor '%s' blob sizes do not match its shape", t->name);
        {
            int k, nk = d == UNIQL_DTYPE_Q4Z ? 3 : q ? 2 : 1;
            for (k = 0; k < nk; k++) {
                if (off[k] % UNIQL_PACK_ALIGN) return uniql__fail(err, UNIQL_ERR_OFFSETS, "uniql: tensor '%s' blob %d not 64-byte aligned", t->name, k);
                if (off[k] > p->data_size || len[k] > p->data_size - off[k])
                    return uniql__fail(err, UNIQL_ERR_OFFSETS, "uniql: tensor '%s' blob [%llu, +%llu) past the end of the data (%llu bytes)",
                                       t->name, (unsigned long long)off[k], (unsigned long long)len[k], (unsigned long long)p->data_size);
                R[nr].begin = (size_t)off[k]; R[nr].end = (size_t)(off[k] + len[k]); R[nr].t = i; nr++;
            }
        }
        t->m.dtype = (uniql_dtype)d;
        t->m.rows = rows;
        t->m.cols = cols;
        t->m.transposed = tr;
        t->m.group = d == UNIQL_DTYPE_Q8 ? (tr ? rows : cols) : group;
        t->m.data = p->data + off[0];
        t->m.stride = (size_t)(db / (uint64_t)(tr ? cols : rows));
        if (q) {
            t->m.scales = (const uint16_t *)(const void *)(p->data + off[1]);
            t->m.scale_stride = (size_t)(sb / 2 / (uint64_t)(tr ? cols : rows));
        }
        if (d == UNIQL_DTYPE_Q4Z) t->m.zeros = p->data + off[2];
        t->data_offset = off[0];
        t->nbytes = db + sb + zb;
    }
    qsort(R, (size_t)nr, sizeof *R, uniql__range_cmp);
    for (i = 1; i < nr; i++)
        if (R[i].begin < R[i - 1].end)
            return uniql__fail(err, UNIQL_ERR_OFFSETS, "uniql: tensors '%s' and '%s' overlap", T[R[i - 1].t].name, T[R[i].t].name);
    p->n_tensors = arr->count;
    p->tensors = T;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_packed_open(const void *buf, size_t size, unsigned flags, void *alloc_user,
                                        uniql_packed *p, uniql_error *err)
{
    const unsigned char *b = (const unsigned char *)buf;
    uint64_t hlen, doff, dsize, end, i;
    const uniql_json *root, *cfg, *v;
    uniql_result r;
    if (!p) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL argument");
    memset(p, 0, sizeof *p);
    p->alloc_user = alloc_user;
    if (!buf || (flags & ~UNIQL_PACK_SKIP_CHECKSUM)) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL buffer or unknown flags");
    if (((uintptr_t)buf) % 16) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: buffer not 16-byte aligned");
    if (size < 8 || memcmp(b, uniql__pack_magic, 8)) {
        if (size < 8 && !memcmp(b, uniql__pack_magic, size)) return uniql__fail(err, UNIQL_ERR_TRUNCATED, "uniql: file of %lu bytes is truncated", (unsigned long)size);
        return uniql__fail(err, UNIQL_ERR_BAD_MAGIC, "uniql: not a .uniql file (bad magic)");
    }
    if (size < UNIQL_PACK_FIXED_HEADER) return uniql__fail(err, UNIQL_ERR_TRUNCATED, "uniql: file of %lu bytes is truncated (fixed header is 48)", (unsigned long)size);
    p->version = uniql__get_u32(b + 8);
    if (p->version != UNIQL_PACK_VERSION) return uniql__fail(err, UNIQL_ERR_VERSION, "uniql: version %lu, this build reads %u", (unsigned long)p->version, UNIQL_PACK_VERSION);
    if (uniql__get_u32(b + 12) != 0) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: unknown flags 0x%lx", (unsigned long)uniql__get_u32(b + 12));
    hlen = uniql__get_u64(b + 16);
    doff = uniql__get_u64(b + 24);
    dsize = uniql__get_u64(b + 32);
    if (hlen < 2 || hlen > UNIQL_PACK_MAX_HEADER) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: header length %llu out of range", (unsigned long long)hlen);
    if (doff % UNIQL_PACK_ALIGN || doff < UNIQL_PACK_FIXED_HEADER + hlen)
        return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: data offset %llu not aligned or inside the header", (unsigned long long)doff);
    if (dsize > UINT64_MAX - doff) return uniql__fail(err, UNIQL_ERR_OVERFLOW, "uniql: data offset + size overflows");
    end = doff + dsize;
    if (end > (uint64_t)size) return uniql__fail(err, UNIQL_ERR_TRUNCATED, "uniql: file of %lu bytes is truncated (needs %llu)", (unsigned long)size, (unsigned long long)end);
    if (end < (uint64_t)size) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: %llu bytes after the data area", (unsigned long long)((uint64_t)size - end));
    p->checksum = uniql__get_u64(b + 40);
    if (!(flags & UNIQL_PACK_SKIP_CHECKSUM) && uniql_pack_checksum(b, size) != p->checksum)
        return uniql__fail(err, UNIQL_ERR_CHECKSUM, "uniql: checksum mismatch (file damaged)");
    for (i = UNIQL_PACK_FIXED_HEADER + hlen; i < doff; i++)
        if (b[i]) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: non-zero padding after the header");
    p->data_offset = doff;
    p->data_size = dsize;
    p->file_size = end;
    p->data = b + doff;
    r = uniql_json_parse((const char *)b + UNIQL_PACK_FIXED_HEADER, (size_t)hlen, 0, alloc_user, &p->header, err);
    if (r != UNIQL_OK) { uniql__err_prefix(err, "uniql header: "); uniql_packed_free(p); return r; }
    root = p->header.root;
    v = uniql_json_get(root, "format");
    cfg = uniql_json_get(root, "config");
    if (root->type != UNIQL_JSON_OBJECT || !v || v->type != UNIQL_JSON_STRING || strcmp(v->str, "uniql") ||
        !uniql__json_u64(uniql_json_get(root, "version"), &i) || i != UNIQL_PACK_VERSION ||
        !cfg || cfg->type != UNIQL_JSON_STRING || !(p->meta = uniql_json_get(root, "meta")) ||
        p->meta->type != UNIQL_JSON_OBJECT) {
        uniql_packed_free(p);
        return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: header lacks format/version/config/meta");
    }
    p->config_json = cfg->str;
    p->config_len = cfg->len;
    r = uniql__packed_tensors(p, uniql_json_get(root, "tensors"), err);
    if (r != UNIQL_OK) { uniql_packed_free(p); return r; }
    return UNIQL_OK;
}

UNIQLDEF const uniql_pack_tensor *uniql_packed_find(const uniql_packed *p, const char *name)
{
    if (!p || !name) return NULL;
    return (const uniql_pack_tensor *)uniql__find_by_name(p->tensors, p->n_tensors, sizeof *p->tensors, name);
}

/* ---- model layer ---- */

enum { UNIQL__PD_HID, UNIQL__PD_Q_QK, UNIQL__PD_KV_QK, UNIQL__PD_KV_V, UNIQL__PD_H_V, UNIQL__PD_INT,
       UNIQL__PD_SH_P, UNIQL__PD_SG_N, UNIQL__PD_SH };

/* one tensor of a layer: kind 0 matrix (cut 0: rows pruned, 1: input columns pruned),
   1 vector (width floats per channel) */
typedef struct uniql__pk_spec {
    const char *name;
    int kind, dim, cut, conv, attn, mlp, mamba, decoder_only;
    size_t off;
} uniql__pk_spec;

#define UNIQL__PKM(nm, member, dim, cut, a, ml, mb) {nm, 0, dim, cut, 0, a, ml, mb, 0, offsetof(uniql_layer, member)}
#define UNIQL__PKV(nm, member, dim, conv, a, ml, mb) {nm, 1, dim, 0, conv, a, ml, mb, 0, offsetof(uniql_layer, member)}
static const uniql__pk_spec uniql__pk_specs[] = {
    {"norm", 1, UNIQL__PD_HID, 0, 0, 0, 0, 0, 0, offsetof(uniql_layer, norm)},
    {"mlp_norm", 1, UNIQL__PD_HID, 0, 0, 0, 0, 0, 1, offsetof(uniql_layer, mlp_norm)},
    UNIQL__PKM("attn.q", attn.q, UNIQL__PD_Q_QK, 0, 1, 0, 0),
    UNIQL__PKM("attn.k", attn.k, UNIQL__PD_KV_QK, 0, 1, 0, 0),
    UNIQL__PKM("attn.v", attn.v, UNIQL__PD_KV_V, 0, 1, 0, 0),
    UNIQL__PKM("attn.o", attn.o, UNIQL__PD_H_V, 1, 1, 0, 0),
    UNIQL__PKV("attn.q_bias", attn.q_bias, UNIQL__PD_Q_QK, 0, 1, 0, 0),
    UNIQL__PKV("attn.k_bias", attn.k_bias, UNIQL__PD_KV_QK, 0, 1, 0, 0),
    UNIQL__PKV("attn.v_bias", attn.v_bias, UNIQL__PD_KV_V, 0, 1, 0, 0),
    UNIQL__PKV("attn.o_bias", attn.o_bias, UNIQL__PD_HID, 0, 1, 0, 0),
    UNIQL__PKM("mlp.gate", mlp.gate, UNIQL__PD_INT, 0, 0, 1, 0),
    UNIQL__PKM("mlp.up", mlp.up, UNIQL__PD_INT, 0, 0, 1, 0),
    UNIQL__PKM("mlp.down", mlp.down, UNIQL__PD_INT, 1, 0, 1, 0),
    UNIQL__PKV("mlp.gate_bias", mlp.gate_bias, UNIQL__PD_INT, 0, 0, 1, 0),
    UNIQL__PKV("mlp.up_bias", mlp.up_bias, UNIQL__PD_INT, 0, 0, 1, 0),
    UNIQL__PKV("mlp.down_bias", mlp.down_bias, UNIQL__PD_HID, 0, 0, 1, 0),
    UNIQL__PKM("mamba.in_z", mamba.in_z, UNIQL__PD_SH_P, 0, 0, 0, 1),
    UNIQL__PKM("mamba.in_x", mamba.in_x, UNIQL__PD_SH_P, 0, 0, 0, 1),
    UNIQL__PKM("mamba.in_B", mamba.in_B, UNIQL__PD_SG_N, 0, 0, 0, 1),
    UNIQL__PKM("mamba.in_C", mamba.in_C, UNIQL__PD_SG_N, 0, 0, 0, 1),
    UNIQL__PKM("mamba.in_dt", mamba.in_dt, UNIQL__PD_SH, 0, 0, 0, 1),
    UNIQL__PKM("mamba.out", mamba.out, UNIQL__PD_SH_P, 1, 0, 0, 1),
    UNIQL__PKV("mamba.bias_z", mamba.bias_z, UNIQL__PD_SH_P, 0, 0, 0, 1),
    UNIQL__PKV("mamba.bias_x", mamba.bias_x, UNIQL__PD_SH_P, 0, 0, 0, 1),
    UNIQL__PKV("mamba.bias_B", mamba.bias_B, UNIQL__PD_SG_N, 0, 0, 0, 1),
    UNIQL__PKV("mamba.bias_C", mamba.bias_C, UNIQL__PD_SG_N, 0, 0, 0, 1),
    UNIQL__PKV("mamba.bias_dt", mamba.bias_dt, UNIQL__PD_SH, 0, 0, 0, 1),
    UNIQL__PKV("mamba.conv_x", mamba.conv_x, UNIQL__PD_SH_P, 1, 0, 0, 1),
    UNIQL__PKV("mamba.conv_B", mamba.conv_B, UNIQL__PD_SG_N, 1, 0, 0, 1),
    UNIQL__PKV("mamba.conv_C", mamba.conv_C, UNIQL__PD_SG_N, 1, 0, 0, 1),
    UNIQL__PKV("mamba.conv_bias_x", mamba.conv_bias_x, UNIQL__PD_SH_P, 0, 0, 0, 1),
    UNIQL__PKV("mamba.conv_bias_B", mamba.conv_bias_B, UNIQL__PD_SG_N, 0, 0, 0, 1),
    UNIQL__PKV("mamba.conv_bias_C", mamba.conv_bias_C, UNIQL__PD_SG_N, 0, 0, 0, 1),
    UNIQL__PKV("mamba.A_log", mamba.A_log, UNIQL__PD_SH, 0, 0, 0, 1),
    UNIQL__PKV("mamba.D", mamba.D, UNIQL__PD_SH, 0, 0, 0, 1),
    UNIQL__PKV("mamba.dt_bias", mamba.dt_bias, UNIQL__PD_SH, 0, 0, 0, 1),
    UNIQL__PKV("mamba.norm", mamba.norm, UNIQL__PD_SH_P, 0, 0, 0, 1),
    UNIQL__PKV("mamba.out_bias", mamba.out_bias, UNIQL__PD_HID, 0, 0, 0, 1)
};
#define UNIQL__PK_NSPEC ((int)(sizeof uniql__pk_specs / sizeof uniql__pk_specs[0]))

static int uniql__pk_applies(const uniql__pk_spec *s, uniql_block_type t)
{
    int has_attn = t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_ATTENTION;
    int has_mlp = t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_MLP;
    if (s->decoder_only) return t == UNIQL_BLOCK_DECODER;
    if (s->attn) return has_attn;
    if (s->mlp) return has_mlp;
    if (s->mamba) return t == UNIQL_BLOCK_MAMBA;
    return 1;
}

/* blocks, full block length, kept block length of a dimension */
static void uniql__pk_dim(const uniql_config *c, const uniql_kept *k, int dim, int *nb, int *fb, int *kb)
{
    switch (dim) {
    case UNIQL__PD_Q_QK: *nb = c->n_heads; *fb = c->head_dim; *kb = k->qk_dim; break;
    case UNIQL__PD_KV_QK: *nb = c->n_kv_heads; *fb = c->head_dim; *kb = k->qk_dim; break;
    case UNIQL__PD_KV_V: *nb = c->n_kv_heads; *fb = c->head_dim; *kb = k->v_dim; break;
    case UNIQL__PD_H_V: *nb = c->n_heads; *fb = c->head_dim; *kb = k->v_dim; break;
    case UNIQL__PD_INT: *nb = 1; *fb = c->intermediate_size; *kb = k->d_int; break;
    case UNIQL__PD_SH_P: *nb = c->ssm_heads; *fb = c->ssm_head_dim; *kb = k->head_dim; break;
    case UNIQL__PD_SG_N: *nb = c->ssm_groups; *fb = c->ssm_state; *kb = k->state; break;
    case UNIQL__PD_SH: *nb = 1; *fb = c->ssm_heads; *kb = c->ssm_heads; break;
    default: *nb = 1; *fb = c->hidden_size; *kb = c->hidden_size; break;
    }
}

static void uniql__pk_full_kept(const uniql_config *c, int l, uniql_kept *k)
{
    int t = c->block[l];
    memset(k, 0, sizeof *k);
    if (t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_ATTENTION) { k->qk_dim = c->head_dim; k->v_dim = c->head_dim; }
    if (t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_MLP) k->d_int = c->intermediate_size;
    if (t == UNIQL_BLOCK_MAMBA) { k->head_dim = c->ssm_head_dim; k->state = c->ssm_state; }
}

static void uniql__pk_layer_kept(const uniql_layer *ly, uniql_kept *k)
{
    memset(k, 0, sizeof *k);
    if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_ATTENTION) { k->qk_dim = ly->attn.qk_dim; k->v_dim = ly->attn.v_dim; }
    if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_MLP) k->d_int = ly->mlp.d_int;
    if (ly->type == UNIQL_BLOCK_MAMBA) { k->head_dim = ly->mamba.head_dim_kept; k->state = ly->mamba.state_kept; }
}

/* kept sizes of layer l with the fields of other block types zeroed (API 7 ignores them) */
static uniql_kept uniql__pk_mask(const uniql_config *c, int l, const uniql_kept *k)
{
    uniql_kept f, o;
    uniql__pk_full_kept(c, l, &f);
    memset(&o, 0, sizeof o);
    if (f.qk_dim) { o.qk_dim = k->qk_dim; o.v_dim = k->v_dim; }
    if (f.d_int) o.d_int = k->d_int;
    if (f.head_dim) { o.head_dim = k->head_dim; o.state = k->state; }
    return o;
}

/* kept sizes allowed for layer l: within the config, even q/k with RoPE, norm groups */
static int uniql__pk_kept_ok(const uniql_config *c, int l, const uniql_kept *kin)
{
    uniql_kept f, m = uniql__pk_mask(c, l, kin), *k = &m;
    uniql__pk_full_kept(c, l, &f);
    if (k->qk_dim > f.qk_dim || k->v_dim > f.v_dim || k->d_int > f.d_int || k->head_dim > f.head_dim ||
        k->state > f.state) return 0;
    if ((f.qk_dim && (k->qk_dim < 1 || k->v_dim < 1 || (c->rope_type != UNIQL_ROPE_NONE && k->qk_dim % 2))) ||
        (f.d_int && k->d_int < 1) || (f.head_dim && (k->head_dim < 1 || k->state < 1)))
        return 0;
    if (f.head_dim && (c->ssm_heads * k->head_dim) % c->gated_norm_groups) return 0;
    return 1;
}

static void uniql__sb_kept(uniql__sb *b, const uniql_kept *k)
{
    uniql__sb_fmt(b, "[%d,%d,%d,%d,%d]", k->qk_dim, k->v_dim, k->d_int, k->head_dim, k->state);
}

static void uniql__sb_doubles(uniql__sb *b, const char *key, const double *v, int n)
{
    int i;
    uniql__sb_fmt(b, ",\"%s\":[", key);
    for (i = 0; i < n; i++) uniql__sb_fmt(b, i ? ",%.17g" : "%.17g", v[i]);
    uniql__sb_str(b, "]");
}

UNIQLDEF uniql_result uniql_pack_model(const uniql_model *m, const uniql_pack_model_desc *d, void *alloc_user,
                                       void **out, size_t *out_size, uniql_error *err)
{
    const uniql_config *c;
    uniql_pack_input *in = NULL;
    char *names = NULL;
    uniql__sb mb;
    int L, l, s, i, n = 0, cap;
    uniql_result r = UNIQL_OK;
    const size_t NL = 64;
    memset(&mb, 0, sizeof mb);
    mb.user = alloc_user;
    if (out) *out = NULL;
    if (!m || !d || !d->config_json || !out || !out_size || d->n_rates < 0 || d->n_rates > UNIQL_PACK_MAX_RATES ||
        (d->n_rates && (!d->rates || !d->kept)) || (d->upgrade && !d->upgrade_layers))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack model: NULL or out-of-range argument");
    c = &m->config;
    L = c->n_layers;
    UNIQL__TRY(uniql_model_check(m, err));
    for (l = 0; l < L; l++) {
        uniql_kept k, f;
        uniql__pk_layer_kept(&m->layers[l], &k);
        uniql__pk_full_kept(c, l, &f);
        if (memcmp(&k, &f, sizeof k))
            return uniql__fail(err, UNIQL_ERR_SHAPE, "pack model: layer %d is already pruned (pack the full sorted model)", l);
        for (i = 0; i < d->n_rates; i++)
            if (!uniql__pk_kept_ok(c, l, &d->kept[(size_t)i * (size_t)L + (size_t)l]))
                return uniql__fail(err, UNIQL_ERR_SHAPE, "pack model: rate table %d, layer %d: kept sizes out of range", i, l);
    }
    for (i = 0; i < d->n_rates; i++)
        if (!(d->rates[i] >= 0 && d->rates[i] < 1) || (i && !(d->rates[i] > d->rates[i - 1])))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack model: rates must ascend strictly in [0, 1)");
    cap = 3 + L * UNIQL__PK_NSPEC * 2;
    in = (uniql_pack_input *)UNIQL_MALLOC(sizeof(*in) * (size_t)cap, alloc_user);
    names = (char *)UNIQL_MALLOC(NL * (size_t)cap, alloc_user);
    if (!in || !names) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack model: out of memory"); goto done; }
#define UNIQL__PK_ADD(view, ...) do { snprintf(names + NL * (size_t)n, NL, __VA_ARGS__); \
        in[n].name = names + NL * (size_t)n; in[n].m = (view); n++; } while (0)
    UNIQL__PK_ADD(m->embed, "embed");
    if (!c->tie_embeddings) UNIQL__PK_ADD(m->lm_head, "lm_head");
    UNIQL__PK_ADD(uniql_matrix_f32(m->final_norm, 1, c->hidden_size, (size_t)c->hidden_size), "final_norm");
    for (l = 0; l < L; l++) {
        const uniql_layer *ly = &m->layers[l];
        uniql_kept f;
        uniql__pk_full_kept(c, l, &f);
        for (s = 0; s < UNIQL__PK_NSPEC; s++) {
            const uniql__pk_spec *sp = &uniql__pk_specs[s];
            if (!uniql__pk_applies(sp, ly->type)) continue;
            if (sp->kind == 0) {
                const uniql_matrix *w = (const uniql_matrix *)(const void *)((const char *)ly + sp->off);
                if (!w->data) continue;
                UNIQL__PK_ADD(*w, "layers.%d.%s", l, sp->name);
                if (d->upgrade && d->upgrade_layers[l]) {
                    const uniql_matrix *u = (const uniql_matrix *)(const void *)((const char *)&d->upgrade->layers[l] + sp->off);
                    if (!u->data || u->rows != w->rows || u->cols != w->cols || u->transposed != w->transposed) {
                        r = uniql__fail(err, UNIQL_ERR_SHAPE, "pack model: layer %d %s: upgrade copy differs in shape", l, sp->name);
                        goto done;
                    }
                    UNIQL__PK_ADD(*u, "layers.%d.%s@8", l, sp->name);
                }
            } else {
                const float *v = *(const float *const *)(const void *)((const char *)ly + sp->off);
                int nb, fb, kb;
                if (!v) continue;
                uniql__pk_dim(c, &f, sp->dim, &nb, &fb, &kb);
                UNIQL__PK_ADD(uniql_matrix_f32(v, 1, nb * fb * (sp->conv ? c->conv_kernel : 1), 0), "layers.%d.%s", l, sp->name);
            }
        }
    }
#undef UNIQL__PK_ADD
    /* meta */
    uniql__sb_fmt(&mb, "{\"kind\":\"uniql-model\",\"n_layers\":%d,\"rope_pairs\":[", L);
    for (l = 0; l < L; l++) {
        const uniql_layer *ly = &m->layers[l];
        if (l) uniql__sb_str(&mb, ",");
        if ((ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_ATTENTION) && ly->attn.rope_pairs &&
            c->rope_type != UNIQL_ROPE_NONE) {
            int j, np = c->n_kv_heads * (c->head_dim / 2);
            uniql__sb_str(&mb, "[");
            for (j = 0; j < np; j++) uniql__sb_fmt(&mb, j ? ",%d" : "%d", ly->attn.rope_pairs[j]);
            uniql__sb_str(&mb, "]");
        } else uniql__sb_str(&mb, "null");
    }
    uniql__sb_str(&mb, "],\n\"rates\":[");
    for (i = 0; i < d->n_rates; i++) uniql__sb_fmt(&mb, i ? ",%.17g" : "%.17g", d->rates[i]);
    uniql__sb_str(&mb, "],\n\"kept\":[");
    for (i = 0; i < d->n_rates; i++) {
        uniql__sb_str(&mb, i ? ",\n[" : "[");
        for (l = 0; l < L; l++) {
            uniql_kept km = uniql__pk_mask(c, l, &d->kept[(size_t)i * (size_t)L + (size_t)l]);
            if (l) uniql__sb_str(&mb, ",");
            uniql__sb_kept(&mb, &km);
        }
        uniql__sb_str(&mb, "]");
    }
    uniql__sb_str(&mb, "]");
    if (d->block_influence) uniql__sb_doubles(&mb, "block_influence", d->block_influence, L);
    if (d->lsaq_importance) uniql__sb_doubles(&mb, "lsaq", d->lsaq_importance, L);
    uniql__sb_str(&mb, ",\"upgrades\":[");
    for (l = 0; l < L; l++) uniql__sb_str(&mb, l ? (d->upgrade && d->upgrade_layers[l] ? ",1" : ",0") : (d->upgrade && d->upgrade_layers[l] ? "1" : "0"));
    uniql__sb_str(&mb, "]}");
    if (mb.oom) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack model: out of memory (meta)"); goto done; }
    r = uniql_pack_write(d->config_json, d->config_len, mb.p, mb.n, in, n, alloc_user, out, out_size, err);
done:
    if (mb.p) UNIQL_FREE(mb.p, alloc_user);
    if (in) UNIQL_FREE(in, alloc_user);
    if (names) UNIQL_FREE(names, alloc_user);
    return r;
}

/* ---- reading the meta tables ---- */

static const uniql_json *uniql__pk_meta_array(const uniql_packed *p, const char *key, int count)
{
    const uniql_json *a = p ? uniql_json_get(p->meta, key) : NULL;
    if (!a || a->type != UNIQL_JSON_ARRAY || (count >= 0 && a->count != count)) return NULL;
    return a;
}

static int uniql__pk_n_layers(const uniql_packed *p)
{
    int n;
    const uniql_json *k = p ? uniql_json_get(p->meta, "kind") : NULL;
    if (!k || k->type != UNIQL_JSON_STRING || strcmp(k->str, "uniql-model")) return -1;
    if (!uniql__json_int(uniql_json_get(p->meta, "n_layers"), 1, UNIQL_MAX_LAYERS, &n)) return -1;
    return n;
}

UNIQLDEF uniql_result uniql_packed_rates(const uniql_packed *p, double *rates, int cap, int *n_rates, uniql_error *err)
{
    const uniql_json *a = uniql__pk_meta_array(p, "rates", -1), *e;
    int i;
    if (!n_rates || cap < 0 || (cap && !rates)) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL argument");
    *n_rates = 0;
    if (!a || a->count > UNIQL_PACK_MAX_RATES) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: meta has no valid \"rates\"");
    for (i = 0, e = a->child; e; e = e->next, i++) {
        if (e->type != UNIQL_JSON_NUMBER || !(e->number >= 0 && e->number < 1)) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: rate %d invalid", i);
        if (i < cap) rates[i] = e->number;
    }
    *n_rates = a->count;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_packed_kept(const uniql_packed *p, int rate_index, uniql_kept *kept, uniql_error *err)
{
    uniql_config c;
    const uniql_json *a, *row, *e;
    int L = uniql__pk_n_layers(p), l;
    uniql_result r;
    if (!p || !kept) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL argument");
    if (L < 1) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: not a packed model (meta kind / n_layers)");
    r = uniql_config_parse(p->config_json, p->config_len, p->alloc_user, &c, err);
    if (r != UNIQL_OK) return r;
    if (c.n_layers != L) return uniql__fail(err, UNIQL_ERR_SHAPE, "uniql: meta has %d layers, config %d", L, c.n_layers);
    if (rate_index < 0) {
        for (l = 0; l < L; l++) uniql__pk_full_kept(&c, l, &kept[l]);
        return UNIQL_OK;
    }
    a = uniql__pk_meta_array(p, "kept", -1);
    if (!a) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: meta has no \"kept\" tables");
    if (rate_index >= a->count) return uniql__fail(err, UNIQL_ERR_RANGE, "uniql: no rate table %d (%d stored)", rate_index, a->count);
    row = uniql_json_at(a, rate_index);
    if (!row || row->type != UNIQL_JSON_ARRAY || row->count != L) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: rate table %d ill-formed", rate_index);
    for (l = 0, e = row->child; e; e = e->next, l++) {
        int v[5], j;
        const uniql_json *x = e->type == UNIQL_JSON_ARRAY && e->count == 5 ? e->child : NULL;
        for (j = 0; j < 5; j++, x = x ? x->next : NULL)
            if (!uniql__json_int(x, 0, 0x7fffffff, &v[j])) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: rate table %d layer %d ill-formed", rate_index, l);
        kept[l].qk_dim = v[0]; kept[l].v_dim = v[1]; kept[l].d_int = v[2]; kept[l].head_dim = v[3]; kept[l].state = v[4];
        if (!uniql__pk_kept_ok(&c, l, &kept[l])) return uniql__fail(err, UNIQL_ERR_SHAPE, "uniql: rate table %d layer %d kept sizes out of range", rate_index, l);
    }
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_packed_importance(const uniql_packed *p, const char *which, double *out, uniql_error *err)
{
    int L = uniql__pk_n_layers(p), l;
    const uniql_json *a, *e;
    if (!p || !which || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL argument");
    if (L < 1) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: not a packed model");
    a = uniql_json_get(p->meta, which);
    if (!a) return uniql__fail(err, UNIQL_ERR_MISSING, "uniql: the file stores no \"%s\" importance", which);
    if (a->type != UNIQL_JSON_ARRAY || a->count != L) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: \"%s\" ill-formed", which);
    for (l = 0, e = a->child; e; e = e->next, l++) {
        if (e->type != UNIQL_JSON_NUMBER) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: \"%s\"[%d] not a number", which, l);
        out[l] = e->number;
    }
    return UNIQL_OK;
}

/* the view of a pruned dimension: per-block kept prefix of the storage rows */
static uniql_result uniql__pk_cut(const uniql_matrix *full, int cut, int nb, int fb, int kb, uniql_matrix *out)
{
    *out = *full;
    if (kb == fb) return UNIQL_OK;
    if ((cut == 0) == (full->transposed != 0)) return UNIQL_ERR_UNSUPPORTED;   /* not a storage-row cut */
    if (cut == 0) out->rows = nb * kb; else out->cols = nb * kb;
    if (nb > 1) { out->block = kb; out->block_stride = fb; }
    return UNIQL_OK;
}

static uniql_result uniql__pk_matrix(const uniql_packed *p, const char *name, int rows, int cols, const uniql_matrix **m,
                                     uniql_error *err)
{
    const uniql_pack_tensor *t = uniql_packed_find(p, name);
    if (!t) return uniql__fail(err, UNIQL_ERR_MISSING, "uniql: tensor '%s' missing", name);
    if (t->m.rows != rows || t->m.cols != cols)
        return uniql__fail(err, UNIQL_ERR_SHAPE, "uniql: tensor '%s' is %dx%d, config expects %dx%d", name, t->m.rows, t->m.cols, rows, cols);
    *m = &t->m;
    return UNIQL_OK;
}

static uniql_result uniql__pk_vector(const uniql_packed *p, const char *name, int n, const float **v, uniql_error *err)
{
    const uniql_matrix *m = NULL;
    UNIQL__TRY(uniql__pk_matrix(p, name, 1, n, &m, err));
    if (m->dtype != UNIQL_DTYPE_F32) return uniql__fail(err, UNIQL_ERR_DTYPE, "uniql: vector '%s' is not F32", name);
    *v = (const float *)m->data;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_packed_model_load(const uniql_packed *p, const uniql_kept *kept, const int *bits,
                                              void *alloc_user, uniql_model **out, uniql_error *err)
{
    uniql_model *m;
    uniql_config *c;
    const uniql_json *pairs_all, *ups;
    const uniql_matrix *w = NULL;
    char name[96];
    int L, l, s;
    uniql_result r;
    if (!p || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL argument");
    *out = NULL;
    L = uniql__pk_n_layers(p);
    if (L < 1) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: not a packed model (meta kind / n_layers)");
    m = (uniql_model *)UNIQL_MALLOC(sizeof *m, alloc_user);
    if (!m) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "uniql: out of memory");
    memset(m, 0, sizeof *m);
    m->alloc_user = alloc_user;
    c = &m->config;
#define UNIQL__PK_TRY(expr) do { r = (expr); if (r != UNIQL_OK) goto fail; } while (0)
    UNIQL__PK_TRY(uniql_config_parse(p->config_json, p->config_len, alloc_user, c, err));
    if (c->n_layers != L) { r = uniql__fail(err, UNIQL_ERR_SHAPE, "uniql: meta has %d layers, config %d", L, c->n_layers); goto fail; }
    pairs_all = uniql__pk_meta_array(p, "rope_pairs", L);
    ups = uniql__pk_meta_array(p, "upgrades", L);
    if (!pairs_all || !ups) { r = uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: meta lacks rope_pairs / upgrades"); goto fail; }
    m->layers = (uniql_layer *)uniql__own(&m->storage, sizeof(uniql_layer) * (size_t)L, alloc_user);
    if (!m->layers) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "uniql: out of memory"); goto fail; }
    memset(m->layers, 0, sizeof(uniql_layer) * (size_t)L);
    UNIQL__PK_TRY(uniql__pk_matrix(p, "embed", c->vocab_size, c->hidden_size, &w, err));
    m->embed = *w;
    if (c->tie_embeddings) m->lm_head = m->embed;
    else { UNIQL__PK_TRY(uniql__pk_matrix(p, "lm_head", c->vocab_size, c->hidden_size, &w, err)); m->lm_head = *w; }
    UNIQL__PK_TRY(uniql__pk_vector(p, "final_norm", c->hidden_size, &m->final_norm, err));
    for (l = 0; l < L; l++) {
        uniql_layer *ly = &m->layers[l];
        uniql_kept f, k;
        const uniql_json *up = uniql_json_at(ups, l), *pj = uniql_json_at(pairs_all, l);
        int use8 = bits && bits[l] == 8 && up && up->type == UNIQL_JSON_NUMBER && up->number == 1;
        ly->type = (uniql_block_type)c->block[l];
        uniql__pk_full_kept(c, l, &f);
        k = kept ? uniql__pk_mask(c, l, &kept[l]) : f;
        if (!uniql__pk_kept_ok(c, l, &k)) { r = uniql__fail(err, UNIQL_ERR_SHAPE, "uniql: layer %d: kept sizes out of range", l); goto fail; }
        ly->attn.qk_dim = k.qk_dim; ly->attn.v_dim = k.v_dim; ly->mlp.d_int = k.d_int;
        ly->mamba.head_dim_kept = k.head_dim; ly->mamba.state_kept = k.state;
        for (s = 0; s < UNIQL__PK_NSPEC; s++) {
            const uniql__pk_spec *sp = &uniql__pk_specs[s];
            int nb, fb, kb, rows, cols;
            if (!uniql__pk_applies(sp, ly->type)) continue;
            uniql__pk_dim(c, &f, sp->dim, &nb, &fb, &kb);
            kb = 0;
            { int a, b; uniql__pk_dim(c, &k, sp->dim, &a, &b, &kb); }
            /* sizes from an untrusted config.json: products must stay ints */
            if ((long long)nb * fb * (sp->conv ? c->conv_kernel : 1) > 0x7fffffffLL || nb < 1 || fb < 1) {
                r = uniql__fail(err, UNIQL_ERR_OVERFLOW, "uniql: layer %d %s: config sizes overflow", l, sp->name);
                goto fail;
            }
            if (sp->kind == 0) {
                uniql_matrix *dst = (uniql_matrix *)(void *)((char *)ly + sp->off);
                rows = sp->cut ? c->hidden_size : nb * fb;
                cols = sp->cut ? nb * fb : c->hidden_size;
                if (!strcmp(sp->name, "mlp.gate") && c->mlp_act != UNIQL_MLP_SWIGLU) continue;
                snprintf(name, sizeof name, "layers.%d.%s%s", l, sp->name, use8 ? "@8" : "");
                UNIQL__PK_TRY(uniql__pk_matrix(p, name, rows, cols, &w, err));
                r = uniql__pk_cut(w, sp->cut, nb, fb, kb, dst);
                if (r != UNIQL_OK) {
                    uniql__fail(err, r, "uniql: layer %d %s: pruning needs the %s dimension as storage rows", l, sp->name,
                                sp->cut ? "input" : "output");
                    goto fail;
                }
            } else {
                const float **dst = (const float **)(void *)((char *)ly + sp->off);
                const float *v;
                int width = sp->conv ? c->conv_kernel : 1;
                snprintf(name, sizeof name, "layers.%d.%s", l, sp->name);
                if (!uniql_packed_find(p, name)) continue;   /* optional vectors; required ones: model check */
                UNIQL__PK_TRY(uniql__pk_vector(p, name, nb * fb * width, &v, err));
                if (kb == fb) *dst = v;
                else {   /* gather the kept prefix of every block (a few KB) */
                    float *g = (float *)uniql__own(&m->storage, sizeof(float) * (size_t)nb * (size_t)kb * (size_t)width, alloc_user);
                    int b;
                    if (!g) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "uniql: out of memory"); goto fail; }
                    for (b = 0; b < nb; b++)
                        memcpy(g + (size_t)b * (size_t)kb * (size_t)width, v + (size_t)b * (size_t)fb * (size_t)width,
                               sizeof(float) * (size_t)kb * (size_t)width);
                    *dst = g;
                }
            }
        }
        /* kept RoPE pair lists: the first qk_dim/2 entries of each KV head's list */
        if ((ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_ATTENTION) && pj && pj->type == UNIQL_JSON_ARRAY) {
            int half = c->head_dim / 2, kp = k.qk_dim / 2, g, j, *rp;
            const uniql_json *e;
            if (c->rope_type == UNIQL_ROPE_NONE || pj->count != c->n_kv_heads * half) {
                r = uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: layer %d: rope_pairs has %d entries, expected %d", l, pj->count, c->n_kv_heads * half);
                goto fail;
            }
            rp = (int *)uniql__own(&m->storage, sizeof(int) * (size_t)(c->n_kv_heads * kp + 1), alloc_user);
            if (!rp) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "uniql: out of memory"); goto fail; }
            for (g = 0, e = pj->child; g < c->n_kv_heads; g++)
                for (j = 0; j < half; j++, e = e->next) {
                    int v;
                    if (!uniql__json_int(e, 0, half - 1, &v)) {
                        r = uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: layer %d: rope pair index out of range", l);
                        goto fail;
                    }
                    if (j < kp) rp[g * kp + j] = v;
                }
            ly->attn.rope_pairs = rp;
        } else if ((ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_ATTENTION) && k.qk_dim < c->head_dim &&
                   c->rope_type != UNIQL_ROPE_NONE) {
            r = uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "uniql: layer %d: q/k pruning needs stored rope_pairs", l);
            goto fail;
        }
    }
#undef UNIQL__PK_TRY
    r = uniql_model_check(m, err);
    if (r != UNIQL_OK) goto fail;
    *out = m;
    return UNIQL_OK;
fail:
    uniql_model_free(m);
    return r;
}

static uint64_t uniql__view_bytes(const uniql_matrix *w)
{
    uint64_t S, per;
    if (!w->data) return 0;
    S = (uint64_t)(w->transposed ? w->cols : w->rows);
    per = (uint64_t)w->stride;
    if (uniql__pack_is_quant(w->dtype)) per += 2 * (uint64_t)w->scale_stride + (w->zeros ? (uint64_t)w->scale_stride : 0);
    return S * per;
}

UNIQLDEF uint64_t uniql_model_weight_bytes(const uniql_model *m)
{
    const uniql_config *c;
    uint64_t b = 0;
    int l, s;
    if (!m || !m->layers) return 0;
    c = &m->config;
    b += uniql__view_bytes(&m->embed);
    if (m->lm_head.data != m->embed.data) b += uniql__view_bytes(&m->lm_head);
    b += 4 * (uint64_t)c->hidden_size;
    for (l = 0; l < c->n_layers; l++) {
        const uniql_layer *ly = &m->layers[l];
        uniql_kept k;
        uniql__pk_layer_kept(ly, &k);
        for (s = 0; s < UNIQL__PK_NSPEC; s++) {
            const uniql__pk_spec *sp = &uniql__pk_specs[s];
            int nb, fb, kb;
            if (!uniql__pk_applies(sp, ly->type)) continue;
            if (sp->kind == 0) { b += uniql__view_bytes((const uniql_matrix *)(const void *)((const char *)ly + sp->off)); continue; }
            if (!*(const float *const *)(const void *)((const char *)ly + sp->off)) continue;
            uniql__pk_dim(c, &k, sp->dim, &nb, &fb, &kb);
            b += 4 * (uint64_t)nb * (uint64_t)kb * (uint64_t)(sp->conv ? c->conv_kernel : 1);
        }
    }
    return b;
}

static uniql_result uniql__pk_bytes(const uniql_packed *p, const uniql_kept *kept, const int *bits, void *user,
                                    uint64_t *bytes, uniql_error *err)
{
    uniql_model *m = NULL;
    UNIQL__TRY(uniql_packed_model_load(p, kept, bits, user, &m, err));
    *bytes = uniql_model_weight_bytes(m);
    uniql_model_free(m);
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_packed_select_rate(const uniql_packed *p, uint64_t budget, void *alloc_user,
                                               int *rate_index, uint64_t *bytes, uniql_error *err)
{
    uniql_kept *k;
    double rates[UNIQL_PACK_MAX_RATES];
    int n, i, L = uniql__pk_n_layers(p);
    uint64_t b = 0;
    uniql_result r;
    if (!rate_index || !bytes) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL argument");
    if (L < 1) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: not a packed model");
    UNIQL__TRY(uniql_packed_rates(p, rates, UNIQL_PACK_MAX_RATES, &n, err));
    k = (uniql_kept *)UNIQL_MALLOC(sizeof *k * (size_t)L, alloc_user);
    if (!k) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "uniql: out of memory");
    for (i = -1; i < n; i++) {
        r = uniql_packed_kept(p, i, k, err);
        if (r == UNIQL_OK) r = uniql__pk_bytes(p, k, NULL, alloc_user, &b, err);
        if (r != UNIQL_OK) { UNIQL_FREE(k, alloc_user); return r; }
        *rate_index = i;
        *bytes = b;
        if (b <= budget) { UNIQL_FREE(k, alloc_user); return UNIQL_OK; }
    }
    UNIQL_FREE(k, alloc_user);
    return uniql__fail(err, UNIQL_ERR_BUDGET, "uniql: even the highest rate needs %llu bytes > budget %llu",
                       (unsigned long long)b, (unsigned long long)budget);
}

UNIQLDEF uniql_result uniql_packed_plan_bits(const uniql_packed *p, const uniql_kept *kept, const char *which,
                                             uint64_t budget, void *alloc_user, int *bits, uint64_t *total,
                                             uniql_error *err)
{
    static const int widths[2] = {4, 8};
    int L = uniql__pk_n_layers(p), l;
    double *imp;
    uint64_t *lb, base = 0, all4 = 0;
    int *tmp;
    uniql_result r;
    if (!bits || !which) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL argument");
    if (L < 1) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: not a packed model");
    imp = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)L + sizeof(uint64_t) * 2 * (size_t)L + sizeof(int) * (size_t)L, alloc_user);
    if (!imp) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "uniql: out of memory");
    lb = (uint64_t *)(void *)(imp + L);
    tmp = (int *)(void *)(lb + 2 * L);
    r = uniql_packed_importance(p, which, imp, err);
    /* per-layer sizes: load with all 4, then each layer alone at 8 (small models: cheap) */
    for (l = 0; l < L; l++) tmp[l] = 4;
    if (r == UNIQL_OK) r = uniql__pk_bytes(p, kept, tmp, alloc_user, &all4, err);
    for (l = 0; l < L && r == UNIQL_OK; l++) {
        uint64_t b8 = 0;
        tmp[l] = 8;
        r = uniql__pk_bytes(p, kept, tmp, alloc_user, &b8, err);
        tmp[l] = 4;
        lb[2 * l] = 0;
        lb[2 * l + 1] = b8 >= all4 ? b8 - all4 : 0;   /* 0 when the layer has no 8-bit copy */
    }
    base = all4;
    if (r == UNIQL_OK) {
        r = uniql_lsaq_plan(L, imp, 2, widths, lb, base, budget, bits, total);
        if (r != UNIQL_OK) uniql__fail(err, r, "uniql: LSAQ plan: %s (all-4-bit needs %llu bytes, budget %llu)",
                                       uniql_result_string(r), (unsigned long long)base, (unsigned long long)budget);
        else {
            const uniql_json *ups = uniql__pk_meta_array(p, "upgrades", L);
            for (l = 0; l < L; l++) {   /* report the widths that can actually be loaded */
                const uniql_json *u = ups ? uniql_json_at(ups, l) : NULL;
                if (!(u && u->type == UNIQL_JSON_NUMBER && u->number == 1)) bits[l] = 4;
            }
        }
    }
    UNIQL_FREE(imp, alloc_user);
    return r;
}

/* ---- quantizing a model for packing ---- */

static uniql_result uniql__pk_quant_one(uniql_model *q, const uniql_matrix *w, uniql_dtype dt, int group, int clip,
                                        const uniql_parallel *par, void *user, uniql_matrix *out, uniql_error *err)
{
    uniql_quant_desc d;
    size_t bytes, n;
    float *tmp;
    void *buf;
    int L = w->transposed ? w->rows : w->cols;
    uniql_result r;
    memset(&d, 0, sizeof d);
    d.dtype = dt;
    d.clip = clip;
    d.parallel = par;
    d.transposed = w->transposed != 0;
    d.group = group;
    while (d.group > 32 && L % d.group) d.group /= 2;
    if ((r = uniql_quant_size(&d, w->rows, w->cols, &bytes)) != UNIQL_OK) return uniql__fail(err, r, "quantize: bad shape");
    if (!uniql__mul_size((size_t)w->rows, (size_t)w->cols, &n) || !uniql__mul_size(n, sizeof(float), &n))
        return uniql__fail(err, UNIQL_ERR_OVERFLOW, "quantize: matrix too large");
    buf = uniql__own(&q->storage, bytes, user);
    tmp = (float *)UNIQL_MALLOC(n, user);
    if (!buf || !tmp) {
        if (tmp) UNIQL_FREE(tmp, user);
        return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "quantize: out of memory");
    }
    r = uniql_dequantize(w, tmp, (size_t)w->cols);
    if (r == UNIQL_OK) r = uniql_quantize(&d, tmp, w->rows, w->cols, (size_t)w->cols, buf, bytes, out);
    UNIQL_FREE(tmp, user);
    if (r != UNIQL_OK) return uniql__fail(err, r, "quantize: %s", uniql_result_string(r));
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_pack_quantize_model(const uniql_model *m, const uniql_pack_quant_options *opt,
                                                uniql_model **out, uniql_error *err)
{
    uniql_pack_quant_options o;
    uniql_model *q;
    uniql_dtype dt, edt;
    int l, s;
    uniql_result r = UNIQL_OK;
    if (!m || !out || !m->layers) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: NULL argument");
    *out = NULL;
    memset(&o, 0, sizeof o);
    if (opt) o = *opt;
    if (!o.bits) o.bits = 4;
    if (!o.embed_bits) o.embed_bits = 8;
    if (!o.group) o.group = 128;
    if ((o.bits != 4 && o.bits != 8) || (o.embed_bits != 4 && o.embed_bits != 8) ||
        (o.group != 32 && o.group != 64 && o.group != 128))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: bits must be 4 or 8, group 32/64/128");
    dt = o.bits == 8 ? UNIQL_DTYPE_Q8 : o.asymmetric ? UNIQL_DTYPE_Q4Z : UNIQL_DTYPE_Q4;
    edt = o.embed_bits == 8 ? UNIQL_DTYPE_Q8 : o.asymmetric ? UNIQL_DTYPE_Q4Z : UNIQL_DTYPE_Q4;
    q = (uniql_model *)UNIQL_MALLOC(sizeof *q, o.alloc_user);
    if (!q) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "quantize: out of memory");
    *q = *m;
    q->storage = NULL;
    q->alloc_user = o.alloc_user;
    q->layers = (uniql_layer *)uniql__own(&q->storage, sizeof(uniql_layer) * (size_t)m->config.n_layers, o.alloc_user);
    if (!q->layers) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "quantize: out of memory"); goto fail; }
    memcpy(q->layers, m->layers, sizeof(uniql_layer) * (size_t)m->config.n_layers);
    r = uniql__pk_quant_one(q, &m->embed, edt, o.group, o.clip, o.parallel, o.alloc_user, &q->embed, err);
    if (r != UNIQL_OK) goto fail;
    if (m->lm_head.data == m->embed.data && m->lm_head.stride == m->embed.stride) q->lm_head = q->embed;
    else if ((r = uniql__pk_quant_one(q, &m->lm_head, edt, o.group, o.clip, o.parallel, o.alloc_user, &q->lm_head, err)) != UNIQL_OK) goto fail;
    for (l = 0; l < m->config.n_layers; l++)
        for (s = 0; s < UNIQL__PK_NSPEC; s++) {
            const uniql__pk_spec *sp = &uniql__pk_specs[s];
            const uniql_matrix *w = (const uniql_matrix *)(const void *)((const char *)&m->layers[l] + sp->off);
            if (sp->kind != 0 || !uniql__pk_applies(sp, m->layers[l].type) || !w->data) continue;
            r = uniql__pk_quant_one(q, w, dt, o.group, o.clip, o.parallel, o.alloc_user,
                                    (uniql_matrix *)(void *)((char *)&q->layers[l] + sp->off), err);
            if (r != UNIQL_OK) { uniql__err_prefix(err, "layer matrix: "); goto fail; }
        }
    *out = q;
    return UNIQL_OK;
fail:
    uniql_model_free(q);
    return r;
}

/* =====================================================================================
   IMPL 10b. Recovery (export in HF layout, order files, re-applying an order)
   ===================================================================================== */

/* ---- safetensors writer ---- */

static int uniql__st_cmp_name(const void *a, const void *b)
{
    const uniql_safetensors_input *x = *(const uniql_safetensors_input *const *)a;
    const uniql_safetensors_input *y = *(const uniql_safetensors_input *const *)b;
    return strcmp(x->name, y->name);
}

UNIQLDEF uniql_result uniql_safetensors_write(const uniql_safetensors_input *t, int n, uniql_dtype dtype,
                                              void *alloc_user, void **out, size_t *out_size, uniql_error *err)
{
    const uniql_safetensors_input **ord = NULL;
    size_t *count = NULL, es, off = 0, hlen, total;
    uniql__sb hb;
    unsigned char *img = NULL, *p;
    uniql_result r = UNIQL_OK;
    int i, d;
    memset(&hb, 0, sizeof hb);
    hb.user = alloc_user;
    if (out) *out = NULL;
    if (out_size) *out_size = 0;
    if (!t || n < 1 || !out || !out_size) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "safetensors write: NULL argument or no tensors");
    if (dtype != UNIQL_DTYPE_F32 && dtype != UNIQL_DTYPE_F16 && dtype != UNIQL_DTYPE_BF16)
        return uniql__fail(err, UNIQL_ERR_DTYPE, "safetensors write: dtype must be F32, F16 or BF16");
    es = dtype == UNIQL_DTYPE_F32 ? 4 : 2;
    ord = (const uniql_safetensors_input **)UNIQL_MALLOC(sizeof *ord * (size_t)n, alloc_user);
    count = (size_t *)UNIQL_MALLOC(sizeof *count * (size_t)n, alloc_user);
    if (!ord || !count) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "safetensors write: out of memory"); goto done; }
    for (i = 0; i < n; i++) {
        size_t c = 1;
        ord[i] = &t[i];
        if (!t[i].name || !t[i].name[0] || !strcmp(t[i].name, "__metadata__") || !t[i].data || t[i].ndim < 1 ||
            t[i].ndim > UNIQL_MAX_DIMS) {
            r = uniql__fail(err, UNIQL_ERR_INVALID_ARG, "safetensors write: tensor %d: bad name, data or ndim", i);
            goto done;
        }
        for (d = 0; d < t[i].ndim; d++) {
            if (t[i].shape[d] < 1 || (uint64_t)t[i].shape[d] > (uint64_t)((size_t)-1)) {
                r = uniql__fail(err, UNIQL_ERR_INVALID_ARG, "safetensors write: tensor '%.100s': dim %d < 1", t[i].name, d);
                goto done;
            }
            if (!uniql__mul_size(c, (size_t)t[i].shape[d], &c)) {
                r = uniql__fail(err, UNIQL_ERR_OVERFLOW, "safetensors write: tensor '%.100s' too large", t[i].name);
                goto done;
            }
        }
        count[i] = c;
    }
    qsort(ord, (size_t)n, sizeof *ord, uniql__st_cmp_name);
    for (i = 1; i < n; i++)
        if (!strcmp(ord[i - 1]->name, ord[i]->name)) {
            r = uniql__fail(err, UNIQL_ERR_INVALID_ARG, "safetensors write: duplicate tensor name '%.100s'", ord[i]->name);
            goto done;
        }
    uniql__sb_str(&hb, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (i = 0; i < n; i++) {
        size_t k = (size_t)(ord[i] - t), bytes;
        if (!uniql__mul_size(count[k], es, &bytes) || !uniql__add_size(off, bytes, &total)) {
            r = uniql__fail(err, UNIQL_ERR_OVERFLOW, "safetensors write: data too large");
            goto done;
        }
        uniql__sb_str(&hb, ",");
        if (!uniql__sb_json_string(&hb, ord[i]->name, strlen(ord[i]->name))) {
            r = uniql__fail(err, UNIQL_ERR_INVALID_ARG, "safetensors write: tensor name is not UTF-8");
            goto done;
        }
        uniql__sb_fmt(&hb, ":{\"dtype\":\"%s\",\"shape\":[", dtype == UNIQL_DTYPE_F32 ? "F32" : dtype == UNIQL_DTYPE_F16 ? "F16" : "BF16");
        for (d = 0; d < ord[i]->ndim; d++) uniql__sb_fmt(&hb, d ? ",%llu" : "%llu", (unsigned long long)ord[i]->shape[d]);
        uniql__sb_fmt(&hb, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)total);
        off = total;
    }
    uniql__sb_str(&hb, "}");
    while (!hb.oom && hb.n % 8) uniql__sb_str(&hb, " ");
    if (hb.oom) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "safetensors write: out of memory (header)"); goto done; }
    hlen = hb.n;
    if (!uniql__add_size(8 + hlen, off, &total)) { r = uniql__fail(err, UNIQL_ERR_OVERFLOW, "safetensors write: file too large"); goto done; }
    img = (unsigned char *)UNIQL_MALLOC(total ? total : 1, alloc_user);
    if (!img) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "safetensors write: out of memory (%llu bytes)", (unsigned long long)total); goto done; }
    for (i = 0; i < 8; i++) img[i] = (unsigned char)(((uint64_t)hlen >> (8 * i)) & 0xFF);
    memcpy(img + 8, hb.p, hlen);
    p = img + 8 + hlen;
    for (i = 0; i < n; i++) {
        size_t k = (size_t)(ord[i] - t), j;
        const float *src = ord[i]->data;
        for (j = 0; j < count[k]; j++) {
            if (dtype == UNIQL_DTYPE_F32) {
                uint32_t u;
                memcpy(&u, &src[j], 4);
                p[0] = (unsigned char)u; p[1] = (unsigned char)(u >> 8); p[2] = (unsigned char)(u >> 16); p[3] = (unsigned char)(u >> 24);
                p += 4;
            } else {
                uint16_t h = dtype == UNIQL_DTYPE_F16 ? uniql_fp32_to_fp16(src[j]) : uniql_fp32_to_bf16(src[j]);
                p[0] = (unsigned char)h; p[1] = (unsigned char)(h >> 8);
                p += 2;
            }
        }
    }
    *out = img;
    *out_size = total;
    img = NULL;
done:
    if (img) UNIQL_FREE(img, alloc_user);
    if (hb.p) UNIQL_FREE(hb.p, alloc_user);
    if (ord) UNIQL_FREE((void *)ord, alloc_user);
    if (count) UNIQL_FREE(count, alloc_user);
    return r;
}

/* ---- export in Hugging Face layout ---- */

typedef struct uniql__exporter {
    const uniql_model *m;
    void *storage;              /* the fp32 arrays of every tensor */
    uniql_safetensors_input *t;
    char *names;
    int n, cap;
    void *user;
    uniql_error *err;
} uniql__exporter;

#define UNIQL__EX_NAME 96

/* a new tensor of the given shape (zero-filled fp32), named by a printf format */
static float *uniql__ex_add(uniql__exporter *X, int ndim, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...)
{
    uniql_safetensors_input *e;
    size_t cnt;
    float *v;
    va_list ap;
    if (X->n == X->cap) return NULL;
    e = &X->t[X->n];
    memset(e, 0, sizeof *e);
    e->name = X->names + (size_t)X->n * UNIQL__EX_NAME;
    va_start(ap, fmt);
    vsnprintf(X->names + (size_t)X->n * UNIQL__EX_NAME, UNIQL__EX_NAME, fmt, ap);
    va_end(ap);
    e->ndim = ndim;
    e->shape[0] = d0; e->shape[1] = d1; e->shape[2] = d2;
    cnt = (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1) * (size_t)(ndim > 2 ? d2 : 1);
    v = (float *)uniql__own(&X->storage, sizeof(float) * (cnt ? cnt : 1), X->user);
    if (!v) return NULL;
    memset(v, 0, sizeof(float) * cnt);
    e->data = v;
    X->n++;
    return v;
}

/* W (any dtype / layout) row-major into dst at rows dst_row[r] (NULL: r) */
static uniql_result uniql__ex_rows(uniql__exporter *X, const uniql_matrix *W, float *dst, const int *dst_row)
{
    float *work = (float *)UNIQL_MALLOC(sizeof(float) * (size_t)(W->rows > W->cols ? W->rows : W->cols) + sizeof(float), X->user);
    int r;
    uniql_result e = UNIQL_OK;
    if (!work) return UNIQL_ERR_OUT_OF_MEMORY;
    for (r = 0; r < W->rows && e == UNIQL_OK; r++)
        e = uniql__matrix_row(W, r, dst + (size_t)(dst_row ? dst_row[r] : r) * (size_t)W->cols, work);
    UNIQL_FREE(work, X->user);
    return e;
}

static uniql_result uniql__ex_matrix(uniql__exporter *X, const uniql_matrix *W, const int *dst_row, const char *name)
{
    float *d = uniql__ex_add(X, 2, W->rows, W->cols, 0, "%s", name);
    if (!d) return UNIQL_ERR_OUT_OF_MEMORY;
    return uniql__ex_rows(X, W, d, dst_row);
}

/* a vector (zeros when v is NULL), entries placed at dst_idx[i] (NULL: i) */
static uniql_result uniql__ex_vector(uniql__exporter *X, const float *v, int n, const int *dst_idx, const char *name)
{
    float *d = uniql__ex_add(X, 1, n, 0, 0, "%s", name);
    int i;
    if (!d) return UNIQL_ERR_OUT_OF_MEMORY;
    if (v) for (i = 0; i < n; i++) d[dst_idx ? dst_idx[i] : i] = v[i];
    return UNIQL_OK;
}

/* kept-pairs row j of head-local order -> rotate_half row: 2j -> p_j, 2j+1 -> p_j + hd/2 */
static uniql_result uniql__ex_qk_rows(const uniql_config *c, const int *pairs, int heads, int per_kv, int *map)
{
    int hd = c->head_dim, half = hd / 2, h, j;
    for (h = 0; h < heads; h++) {
        const int *p = pairs ? pairs + (size_t)(h / per_kv) * half : NULL;
        for (j = 0; j < hd; j++) {
            int dst = j;
            if (p) {
                int pj = p[j / 2];
                if (pj < 0 || pj >= half) return UNIQL_ERR_UNSUPPORTED;
                dst = (j % 2) ? pj + half : pj;
            }
            map[h * hd + j] = h * hd + dst;
        }
    }
    return UNIQL_OK;
}

/* 1 if every KV list of a layer's rope_pairs is a permutation of 0..half-1 */
static int uniql__pairs_are_perms(const int *pairs, int n_kv, int half, unsigned char *seen)
{
    int g, j;
    for (g = 0; g < n_kv; g++) {
        memset(seen, 0, (size_t)half);
        for (j = 0; j < half; j++) {
            int v = pairs[(size_t)g * half + j];
            if (v < 0 || v >= half || seen[v]) return 0;
            seen[v] = 1;
        }
    }
    return 1;
}

/* the HF name of a layer tensor: prefix, layer, block base ("self_attn.", "mixer." ...) */
#define UNIQL__EX_NM(suffix) (snprintf(nm, sizeof nm, "%slayers.%d.%s%s", X->m->config.arch == UNIQL_ARCH_LLAMA || \
        X->m->config.arch == UNIQL_ARCH_QWEN2 ? "model." : "backbone.", l, base, suffix), nm)

static uniql_result uniql__ex_attention(uniql__exporter *X, int l, const uniql_attention *a, const char *base, int with_bias)
{
    const uniql_config *c = &X->m->config;
    int H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, rep = H / KV, D = c->hidden_size;
    int rope = c->rope_type != UNIQL_ROPE_NONE && a->rope_pairs;
    int *qmap = NULL, *kmap;
    char nm[UNIQL__EX_NAME];
    uniql_result r = UNIQL_OK;
    if (!with_bias && (a->q_bias || a->k_bias || a->v_bias || a->o_bias))
        return uniql__fail(X->err, UNIQL_ERR_UNSUPPORTED, "export: layer %d: the HF layout of this attention block has no biases", l);
    if (a->o_bias && !c->o_bias)
        return uniql__fail(X->err, UNIQL_ERR_UNSUPPORTED,
                           "export: layer %d: o_proj bias (a v_proj bias folded by the V/O decomposition) has no place in the HF "
                           "layout of this model; sort with no_vo", l);
    if ((a->q_bias || a->k_bias || a->v_bias) && !c->qkv_bias)
        return uniql__fail(X->err, UNIQL_ERR_UNSUPPORTED, "export: layer %d: q/k/v biases the HF layout has no place for", l);
    qmap = (int *)UNIQL_MALLOC(sizeof(int) * (size_t)(H + KV) * (size_t)hd + (size_t)hd, X->user);
    if (!qmap) return uniql__fail(X->err, UNIQL_ERR_OUT_OF_MEMORY, "export: out of memory");
    kmap = qmap + (size_t)H * hd;
    if (rope && !uniql__pairs_are_perms(a->rope_pairs, KV, hd / 2, (unsigned char *)(kmap + (size_t)KV * hd))) r = UNIQL_ERR_UNSUPPORTED;
    if (r == UNIQL_OK) r = uniql__ex_qk_rows(c, rope ? a->rope_pairs : NULL, H, rep, qmap);
    if (r == UNIQL_OK) r = uniql__ex_qk_rows(c, rope ? a->rope_pairs : NULL, KV, 1, kmap);
    if (r != UNIQL_OK) {
        UNIQL_FREE(qmap, X->user);
        return uniql__fail(X->err, r, "export: layer %d: rope_pairs are not a permutation of each head's pairs", l);
    }
    r = uniql__ex_matrix(X, &a->q, qmap, UNIQL__EX_NM("q_proj.weight"));
    if (r == UNIQL_OK) r = uniql__ex_matrix(X, &a->k, kmap, UNIQL__EX_NM("k_proj.weight"));
    if (r == UNIQL_OK) r = uniql__ex_matrix(X, &a->v, NULL, UNIQL__EX_NM("v_proj.weight"));
    if (r == UNIQL_OK) r = uniql__ex_matrix(X, &a->o, NULL, UNIQL__EX_NM("o_proj.weight"));
    if (r == UNIQL_OK && with_bias && c->qkv_bias) {
        r = uniql__ex_vector(X, a->q_bias, H * hd, qmap, UNIQL__EX_NM("q_proj.bias"));
        if (r == UNIQL_OK) r = uniql__ex_vector(X, a->k_bias, KV * hd, kmap, UNIQL__EX_NM("k_proj.bias"));
        if (r == UNIQL_OK) r = uniql__ex_vector(X, a->v_bias, KV * hd, NULL, UNIQL__EX_NM("v_proj.bias"));
    }
    if (r == UNIQL_OK && with_bias && c->o_bias) r = uniql__ex_vector(X, a->o_bias, D, NULL, UNIQL__EX_NM("o_proj.bias"));
    UNIQL_FREE(qmap, X->user);
    if (r != UNIQL_OK) return uniql__fail(X->err, r, "export: layer %d attention: %s", l, uniql_result_string(r));
    return UNIQL_OK;
}

static uniql_result uniql__ex_mlp(uniql__exporter *X, int l, const uniql_mlp *p, const char *base)
{
    const uniql_config *c = &X->m->config;
    char nm[UNIQL__EX_NAME];
    uniql_result r = UNIQL_OK;
    int I = c->intermediate_size, D = c->hidden_size;
    if (!c->mlp_bias && (p->gate_bias || p->up_bias || p->down_bias))
        return uniql__fail(X->err, UNIQL_ERR_UNSUPPORTED, "export: layer %d: MLP biases the HF layout has no place for", l);
    if (c->mlp_act == UNIQL_MLP_SWIGLU) r = uniql__ex_matrix(X, &p->gate, NULL, UNIQL__EX_NM("gate_proj.weight"));
    if (r == UNIQL_OK) r = uniql__ex_matrix(X, &p->up, NULL, UNIQL__EX_NM("up_proj.weight"));
    if (r == UNIQL_OK) r = uniql__ex_matrix(X, &p->down, NULL, UNIQL__EX_NM("down_proj.weight"));
    if (r == UNIQL_OK && c->mlp_bias) {
        if (c->mlp_act == UNIQL_MLP_SWIGLU) r = uniql__ex_vector(X, p->gate_bias, I, NULL, UNIQL__EX_NM("gate_proj.bias"));
        if (r == UNIQL_OK) r = uniql__ex_vector(X, p->up_bias, I, NULL, UNIQL__EX_NM("up_proj.bias"));
        if (r == UNIQL_OK) r = uniql__ex_vector(X, p->down_bias, D, NULL, UNIQL__EX_NM("down_proj.bias"));
    }
    if (r != UNIQL_OK) return uniql__fail(X->err, r, "export: layer %d MLP: %s", l, uniql_result_string(r));
    return UNIQL_OK;
}

/* rows of in_proj [z | x | B | C | dt], conv1d channels [x | B | C] (the loader's split, undone) */
static uniql_result uniql__ex_mamba(uniql__exporter *X, int l, const uniql_mamba *mb)
{
    const uniql_config *c = &X->m->config;
    int D = c->hidden_size, H = c->ssm_heads, Di = H * c->ssm_head_dim, GN = c->ssm_groups * c->ssm_state;
    int K = c->conv_kernel, conv_dim = Di + 2 * GN, proj = Di + conv_dim + H, i;
    char nm[UNIQL__EX_NAME];
    const char *base = "mixer.";
    float *in, *cw, *v;
    uniql_result r;
    if (!c->ssm_proj_bias && (mb->bias_z || mb->bias_x || mb->bias_B || mb->bias_C || mb->bias_dt || mb->out_bias))
        return uniql__fail(X->err, UNIQL_ERR_UNSUPPORTED, "export: layer %d: Mamba projection biases the HF layout has no place for", l);
    if (!(in = uniql__ex_add(X, 2, proj, D, 0, "%s", UNIQL__EX_NM("in_proj.weight")))) return UNIQL_ERR_OUT_OF_MEMORY;
    r = uniql__ex_rows(X, &mb->in_z, in, NULL);
    if (r == UNIQL_OK) r = uniql__ex_rows(X, &mb->in_x, in + (size_t)Di * D, NULL);
    if (r == UNIQL_OK) r = uniql__ex_rows(X, &mb->in_B, in + (size_t)2 * Di * D, NULL);
    if (r == UNIQL_OK) r = uniql__ex_rows(X, &mb->in_C, in + (size_t)(2 * Di + GN) * D, NULL);
    if (r == UNIQL_OK) r = uniql__ex_rows(X, &mb->in_dt, in + (size_t)(2 * Di + 2 * GN) * D, NULL);
    if (r != UNIQL_OK) return uniql__fail(X->err, r, "export: layer %d in_proj: %s", l, uniql_result_string(r));
    if (c->ssm_proj_bias) {
        const float *parts[5];
        int sizes[5], off = 0, k;
        parts[0] = mb->bias_z; parts[1] = mb->bias_x; parts[2] = mb->bias_B; parts[3] = mb->bias_C; parts[4] = mb->bias_dt;
        sizes[0] = Di; sizes[1] = Di; sizes[2] = GN; sizes[3] = GN; sizes[4] = H;
        if (!(v = uniql__ex_add(X, 1, proj, 0, 0, "%s", UNIQL__EX_NM("in_proj.bias")))) return UNIQL_ERR_OUT_OF_MEMORY;
        for (k = 0; k < 5; k++) {
            if (parts[k]) memcpy(v + off, parts[k], sizeof(float) * (size_t)sizes[k]);
            off += sizes[k];
        }
        UNIQL__TRY(uniql__ex_vector(X, mb->out_bias, D, NULL, UNIQL__EX_NM("out_proj.bias")));
    }
    if (!(cw = uniql__ex_add(X, 3, conv_dim, 1, K, "%s", UNIQL__EX_NM("conv1d.weight")))) return UNIQL_ERR_OUT_OF_MEMORY;
    memcpy(cw, mb->conv_x, sizeof(float) * (size_t)Di * K);
    memcpy(cw + (size_t)Di * K, mb->conv_B, sizeof(float) * (size_t)GN * K);
    memcpy(cw + (size_t)(Di + GN) * K, mb->conv_C, sizeof(float) * (size_t)GN * K);
    if (c->conv_bias) {
        if (!(v = uniql__ex_add(X, 1, conv_dim, 0, 0, "%s", UNIQL__EX_NM("conv1d.bias")))) return UNIQL_ERR_OUT_OF_MEMORY;
        for (i = 0; i < Di; i++) v[i] = mb->conv_bias_x ? mb->conv_bias_x[i] : 0.0f;
        for (i = 0; i < GN; i++) {
            v[Di + i] = mb->conv_bias_B ? mb->conv_bias_B[i] : 0.0f;
            v[Di + GN + i] = mb->conv_bias_C ? mb->conv_bias_C[i] : 0.0f;
        }
    } else if (mb->conv_bias_x || mb->conv_bias_B || mb->conv_bias_C)
        return uniql__fail(X->err, UNIQL_ERR_UNSUPPORTED, "export: layer %d: conv1d bias the HF layout has no place for", l);
    UNIQL__TRY(uniql__ex_vector(X, mb->A_log, H, NULL, UNIQL__EX_NM("A_log")));
    UNIQL__TRY(uniql__ex_vector(X, mb->D, H, NULL, UNIQL__EX_NM("D")));
    UNIQL__TRY(uniql__ex_vector(X, mb->dt_bias, H, NULL, UNIQL__EX_NM("dt_bias")));
    UNIQL__TRY(uniql__ex_vector(X, mb->norm, Di, NULL, UNIQL__EX_NM("norm.weight")));
    r = uniql__ex_matrix(X, &mb->out, NULL, UNIQL__EX_NM("out_proj.weight"));
    if (r != UNIQL_OK) return uniql__fail(X->err, r, "export: layer %d out_proj: %s", l, uniql_result_string(r));
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_export_hf(const uniql_model *m, uniql_dtype dtype, void *alloc_user, void **out,
                                      size_t *out_size, uniql_error *err)
{
    uniql__exporter X;
    const uniql_config *c;
    char nm[UNIQL__EX_NAME];
    int l, llama;
    uniql_result r = UNIQL_OK;
    if (out) *out = NULL;
    if (!m || !out || !out_size || !m->layers) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "export: NULL argument");
    c = &m->config;
    UNIQL__TRY(uniql_model_check(m, err));
    for (l = 0; l < c->n_layers; l++)
        if (!uniql__layer_unpruned(m, l, 1)) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "export: layer %d is pruned (export the full model)", l);
    memset(&X, 0, sizeof X);
    X.m = m;
    X.user = alloc_user;
    X.err = err;
    X.cap = 3 + 16 * c->n_layers;
    X.t = (uniql_safetensors_input *)UNIQL_MALLOC(sizeof *X.t * (size_t)X.cap, alloc_user);
    X.names = (char *)UNIQL_MALLOC((size_t)UNIQL__EX_NAME * (size_t)X.cap, alloc_user);
    if (!X.t || !X.names) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "export: out of memory"); goto done; }
    llama = c->arch == UNIQL_ARCH_LLAMA || c->arch == UNIQL_ARCH_QWEN2;
    r = uniql__ex_matrix(&X, &m->embed, NULL, llama ? "model.embed_tokens.weight" : "backbone.embeddings.weight");
    if (r == UNIQL_OK) r = uniql__ex_vector(&X, m->final_norm, c->hidden_size, NULL, llama ? "model.norm.weight" : "backbone.norm_f.weight");
    if (r == UNIQL_OK && !(m->lm_head.data == m->embed.data && m->lm_head.stride == m->embed.stride && m->lm_head.dtype == m->embed.dtype))
        r = uniql__ex_matrix(&X, &m->lm_head, NULL, "lm_head.weight");
    if (r != UNIQL_OK) { r = uniql__fail(err, r, "export: embeddings: %s", uniql_result_string(r)); goto done; }
    for (l = 0; l < c->n_layers && r == UNIQL_OK; l++) {
        const uniql_layer *ly = &m->layers[l];
        uniql__exporter *Xp = &X;
#define UNIQL__EX_VEC(v, n, suffix) (snprintf(nm, sizeof nm, "%slayers.%d.%s", llama ? "model." : "backbone.", l, suffix), \
        uniql__ex_vector(Xp, v, n, NULL, nm))
        switch (ly->type) {
        case UNIQL_BLOCK_DECODER:
            r = UNIQL__EX_VEC(ly->norm, c->hidden_size, "input_layernorm.weight");
            if (r == UNIQL_OK) r = UNIQL__EX_VEC(ly->mlp_norm, c->hidden_size, "post_attention_layernorm.weight");
            if (r == UNIQL_OK) r = uniql__ex_attention(&X, l, &ly->attn, "self_attn.", 1);
            if (r == UNIQL_OK) r = uniql__ex_mlp(&X, l, &ly->mlp, "mlp.");
            break;
        case UNIQL_BLOCK_MAMBA:
            r = UNIQL__EX_VEC(ly->norm, c->hidden_size, "norm.weight");
            if (r == UNIQL_OK) r = uniql__ex_mamba(&X, l, &ly->mamba);
            break;
        case UNIQL_BLOCK_ATTENTION:
            r = UNIQL__EX_VEC(ly->norm, c->hidden_size, "norm.weight");
            if (r == UNIQL_OK) r = uniql__ex_attention(&X, l, &ly->attn, "mixer.", 0);
            break;
        case UNIQL_BLOCK_MLP:
            r = UNIQL__EX_VEC(ly->norm, c->hidden_size, "norm.weight");
            if (r == UNIQL_OK) r = uniql__ex_mlp(&X, l, &ly->mlp, "mixer.");
            break;
        }
#undef UNIQL__EX_VEC
        if (r == UNIQL_ERR_OUT_OF_MEMORY) r = uniql__fail(err, r, "export: layer %d: out of memory", l);
    }
#undef UNIQL__EX_NM
    if (r == UNIQL_OK) r = uniql_safetensors_write(X.t, X.n, dtype, alloc_user, out, out_size, err);
done:
    uniql__own_free(X.storage, alloc_user);
    if (X.t) UNIQL_FREE(X.t, alloc_user);
    if (X.names) UNIQL_FREE(X.names, alloc_user);
    return r;
}

/* ---- order files ---- */

static const char *uniql__arch_name(uniql_arch a)
{
    switch (a) {
    case UNIQL_ARCH_LLAMA: return "llama";
    case UNIQL_ARCH_QWEN2: return "qwen2";
    case UNIQL_ARCH_MAMBA2: return "mamba2";
    case UNIQL_ARCH_NEMOTRON_H: return "nemotron_h";
    }
    return "?";
}

static const char uniql__block_chars[4] = { 'D', 'M', '*', '-' };   /* by uniql_block_type */

/* the fingerprint fields, in file order */
#define UNIQL__ORD_NFP 10
static const char *const uniql__ord_fp_keys[UNIQL__ORD_NFP] = {
    "hidden_size", "n_heads", "n_kv_heads", "head_dim", "rope", "intermediate_size", "ssm_heads", "ssm_head_dim",
    "ssm_state", "ssm_groups"
};

static void uniql__ord_fp_values(const uniql_config *c, int *v)
{
    v[0] = c->hidden_size; v[1] = c->n_heads; v[2] = c->n_kv_heads; v[3] = c->head_dim;
    v[4] = c->rope_type != UNIQL_ROPE_NONE; v[5] = c->intermediate_size; v[6] = c->ssm_heads;
    v[7] = c->ssm_head_dim; v[8] = c->ssm_state; v[9] = c->ssm_groups;
}

static int uniql__layer_has_attn(int t) { return t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_ATTENTION; }

UNIQLDEF int uniql_order_matches(const uniql_order *o, const uniql_config *cfg)
{
    int a[UNIQL__ORD_NFP], b[UNIQL__ORD_NFP], l;
    if (!o || !cfg || o->n_layers < 1 || o->config.arch != cfg->arch || o->config.n_layers != cfg->n_layers) return 0;
    uniql__ord_fp_values(&o->config, a);
    uniql__ord_fp_values(cfg, b);
    if (memcmp(a, b, sizeof a)) return 0;
    for (l = 0; l < cfg->n_layers; l++)
        if (o->config.block[l] != cfg->block[l]) return 0;
    return 1;
}

UNIQLDEF uniql_result uniql_order_write(const uniql_model *m, int n_rates, const double *rates, const uniql_kept *kept,
                                        const double *block_influence, const double *lsaq, void *alloc_user,
                                        char **out, size_t *out_len, uniql_error *err)
{
    const uniql_config *c;
    uniql__sb b;
    int L, l, i, j, g, v[UNIQL__ORD_NFP];
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!m || !m->layers || !out || !out_len || n_rates < 1 || n_rates > UNIQL_PACK_MAX_RATES || !rates || !kept)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "order write: NULL argument or n_rates outside 1..%d", UNIQL_PACK_MAX_RATES);
    c = &m->config;
    L = c->n_layers;
    UNIQL__TRY(uniql_model_check(m, err));
    for (l = 0; l < L; l++)
        if (!uniql__layer_unpruned(m, l, 1)) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "order write: layer %d is pruned", l);
    for (i = 0; i < n_rates; i++)
        if (!(rates[i] >= 0 && rates[i] < 1) || (i && !(rates[i] > rates[i - 1])))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "order write: rates must ascend strictly in [0, 1)");
    for (i = 0; i < n_rates; i++)
        for (l = 0; l < L; l++)
            if (!uniql__pk_kept_ok(c, l, &kept[(size_t)i * L + l]))
                return uniql__fail(err, UNIQL_ERR_SHAPE, "order write: rate table %d, layer %d: kept sizes out of range", i, l);
    for (l = 0; l < L; l++)
        if ((block_influence && !isfinite(block_influence[l])) || (lsaq && !isfinite(lsaq[l])))
            return uniql__fail(err, UNIQL_ERR_NONFINITE, "order write: importance of layer %d is not finite", l);
    memset(&b, 0, sizeof b);
    b.user = alloc_user;
    uniql__sb_fmt(&b, "{\"format\":\"uniql-order\",\"version\":%d,\n\"model\":{\"model_type\":\"%s\",\"n_layers\":%d,\"blocks\":\"",
                  UNIQL_ORDER_VERSION, uniql__arch_name(c->arch), L);
    for (l = 0; l < L; l++) uniql__sb_put(&b, &uniql__block_chars[c->block[l] & 3], 1);
    uniql__sb_str(&b, "\"");
    uniql__ord_fp_values(c, v);
    for (i = 0; i < UNIQL__ORD_NFP; i++) uniql__sb_fmt(&b, ",\"%s\":%d", uniql__ord_fp_keys[i], v[i]);
    uniql__sb_str(&b, "},\n\"rope_pairs\":[");
    for (l = 0; l < L; l++) {
        const uniql_attention *a = &m->layers[l].attn;
        int half = c->head_dim / 2;
        if (l) uniql__sb_str(&b, ",");
        if (!uniql__layer_has_attn(c->block[l]) || c->rope_type == UNIQL_ROPE_NONE) { uniql__sb_str(&b, "null"); continue; }
        uniql__sb_str(&b, "\n[");
        for (g = 0; g < c->n_kv_heads; g++) {
            uniql__sb_str(&b, g ? ",[" : "[");
            for (j = 0; j < half; j++) uniql__sb_fmt(&b, j ? ",%d" : "%d", a->rope_pairs ? a->rope_pairs[(size_t)g * half + j] : j);
            uniql__sb_str(&b, "]");
        }
        uniql__sb_str(&b, "]");
    }
    uniql__sb_str(&b, "],\n\"rates\":[");
    for (i = 0; i < n_rates; i++) uniql__sb_fmt(&b, i ? ",%.17g" : "%.17g", rates[i]);
    uniql__sb_str(&b, "],\n\"kept\":[");
    for (i = 0; i < n_rates; i++) {
        uniql__sb_str(&b, i ? ",\n[" : "\n[");
        for (l = 0; l < L; l++) {
            uniql_kept km = uniql__pk_mask(c, l, &kept[(size_t)i * L + l]);
            if (l) uniql__sb_str(&b, ",");
            uniql__sb_kept(&b, &km);
        }
        uniql__sb_str(&b, "]");
    }
    uniql__sb_str(&b, "]");
    if (block_influence) uniql__sb_doubles(&b, "block_influence", block_influence, L);
    if (lsaq) uniql__sb_doubles(&b, "lsaq", lsaq, L);
    uniql__sb_str(&b, "}\n");
    if (b.oom) {
        if (b.p) UNIQL_FREE(b.p, alloc_user);
        return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "order write: out of memory");
    }
    *out = b.p;
    *out_len = b.n;
    return UNIQL_OK;
}

UNIQLDEF void uniql_order_free(uniql_order *o)
{
    if (!o) return;
    if (o->mem) UNIQL_FREE(o->mem, o->alloc_user);
    memset(o, 0, sizeof *o);
}

/* the fingerprint object -> o->config (arch, blocks, sizes) with its own consistency checks */
static uniql_result uniql__ord_model(const uniql_json *mo, uniql_order *o, uniql_error *err)
{
    static const char *const arch_names[4] = { "llama", "qwen2", "mamba2", "nemotron_h" };
    uniql_config *c = &o->config;
    const uniql_json *e, *mt, *nl, *bl;
    int v[UNIQL__ORD_NFP], i, l, any[4] = { 0, 0, 0, 0 };
    if (mo->type != UNIQL_JSON_OBJECT) return uniql__fail(err, UNIQL_ERR_FORMAT, "order: \"model\" is not an object");
    for (e = mo->child; e; e = e->next) {
        int known = !strcmp(e->key, "model_type") || !strcmp(e->key, "n_layers") || !strcmp(e->key, "blocks");
        for (i = 0; i < UNIQL__ORD_NFP && !known; i++) known = !strcmp(e->key, uniql__ord_fp_keys[i]);
        if (!known) return uniql__fail(err, UNIQL_ERR_FORMAT, "order: unknown key \"model\".\"%.60s\"", e->key);
    }
    mt = uniql_json_get(mo, "model_type");
    nl = uniql_json_get(mo, "n_layers");
    bl = uniql_json_get(mo, "blocks");
    if (!mt || !nl || !bl) return uniql__fail(err, UNIQL_ERR_MISSING, "order: \"model\" lacks model_type, n_layers or blocks");
    if (mt->type != UNIQL_JSON_STRING || bl->type != UNIQL_JSON_STRING || nl->type != UNIQL_JSON_NUMBER)
        return uniql__fail(err, UNIQL_ERR_FORMAT, "order: \"model\" model_type / blocks must be strings, n_layers a number");
    for (i = 0; i < 4 && strcmp(mt->str, arch_names[i]); i++) {}
    if (i == 4 || mt->len != strlen(arch_names[i])) return uniql__fail(err, UNIQL_ERR_SHAPE, "order: unknown model_type \"%.40s\"", mt->str);
    c->arch = (uniql_arch)(i + 1);
    if (!uniql__json_int(nl, 1, UNIQL_MAX_LAYERS, &c->n_layers)) return uniql__fail(err, UNIQL_ERR_SHAPE, "order: n_layers outside 1..%d", UNIQL_MAX_LAYERS);
    if (bl->len != (size_t)c->n_layers) return uniql__fail(err, UNIQL_ERR_SHAPE, "order: blocks has %lu characters, n_layers is %d", (unsigned long)bl->len, c->n_layers);
    for (l = 0; l < c->n_layers; l++) {
        for (i = 0; i < 4 && bl->str[l] != uniql__block_chars[i]; i++) {}
        if (i == 4) return uniql__fail(err, UNIQL_ERR_SHAPE, "order: blocks[%d] is not one of D M * -", l);
        if ((c->arch == UNIQL_ARCH_MAMBA2 && i != UNIQL_BLOCK_MAMBA) ||
            ((c->arch == UNIQL_ARCH_LLAMA || c->arch == UNIQL_ARCH_QWEN2) && i != UNIQL_BLOCK_DECODER) ||
            (c->arch == UNIQL_ARCH_NEMOTRON_H && i == UNIQL_BLOCK_DECODER))
            return uniql__fail(err, UNIQL_ERR_SHAPE, "order: blocks[%d] '%c' does not occur in %s", l, bl->str[l], mt->str);
        c->block[l] = (unsigned char)i;
        any[i] = 1;
    }
    for (i = 0; i < UNIQL__ORD_NFP; i++) {
        const uniql_json *x = uniql_json_get(mo, uniql__ord_fp_keys[i]);
        if (!x) return uniql__fail(err, UNIQL_ERR_MISSING, "order: \"model\" lacks %s", uniql__ord_fp_keys[i]);
        if (x->type != UNIQL_JSON_NUMBER) return uniql__fail(err, UNIQL_ERR_FORMAT, "order: \"model\".%s is not a number", uniql__ord_fp_keys[i]);
        if (!uniql__json_int(x, 0, i == 4 ? 1 : (1 << 24), &v[i]))
            return uniql__fail(err, UNIQL_ERR_SHAPE, "order: \"model\".%s out of range", uniql__ord_fp_keys[i]);
    }
    c->hidden_size = v[0]; c->n_heads = v[1]; c->n_kv_heads = v[2]; c->head_dim = v[3];
    c->rope_type = v[4] ? UNIQL_ROPE_DEFAULT : UNIQL_ROPE_NONE; c->intermediate_size = v[5]; c->ssm_heads = v[6];
    c->ssm_head_dim = v[7]; c->ssm_state = v[8]; c->ssm_groups = v[9];
    c->gated_norm_groups = c->arch == UNIQL_ARCH_NEMOTRON_H ? c->ssm_groups : 1;
    if (c->hidden_size < 1) return uniql__fail(err, UNIQL_ERR_SHAPE, "order: hidden_size < 1");
    if ((any[UNIQL_BLOCK_DECODER] || any[UNIQL_BLOCK_ATTENTION]) &&
        (c->n_heads < 1 || c->n_kv_heads < 1 || c->head_dim < 1 || c->n_heads % c->n_kv_heads || (v[4] && c->head_dim % 2)))
        return uniql__fail(err, UNIQL_ERR_SHAPE, "order: attention sizes inconsistent (heads %d / %d, head_dim %d)", c->n_heads,
                           c->n_kv_heads, c->head_dim);
    if ((any[UNIQL_BLOCK_DECODER] || any[UNIQL_BLOCK_MLP]) && c->intermediate_size < 1)
        return uniql__fail(err, UNIQL_ERR_SHAPE, "order: intermediate_size < 1");
    if (any[UNIQL_BLOCK_MAMBA] && (c->ssm_heads < 1 || c->ssm_head_dim < 1 || c->ssm_state < 1 || c->ssm_groups < 1 ||
                                   c->ssm_heads % c->ssm_groups))
        return uniql__fail(err, UNIQL_ERR_SHAPE, "order: Mamba2 sizes inconsistent");
    return UNIQL_OK;
}

/* array of exactly n finite numbers */
static uniql_result uniql__ord_doubles(const uniql_json *a, int n, const char *key, double *out, uniql_error *err)
{
    const uniql_json *e;
    int i = 0;
    if (a->type != UNIQL_JSON_ARRAY || a->count != n) return uniql__fail(err, UNIQL_ERR_FORMAT, "order: \"%s\" is not an array of %d numbers", key, n);
    for (e = a->child; e; e = e->next, i++) {
        if (e->type != UNIQL_JSON_NUMBER || !isfinite(e->number)) return uniql__fail(err, UNIQL_ERR_FORMAT, "order: \"%s\"[%d] is not a finite number", key, i);
        out[i] = e->number;
    }
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_order_parse(const char *text, size_t len, const uniql_config *cfg, void *alloc_user,
                                        uniql_order *o, uniql_error *err)
{
    static const char *const keys[8] = { "format", "version", "model", "rope_pairs", "rates", "kept", "block_influence", "lsaq" };
    uniql_json_doc doc;
    const uniql_json *root, *e, *fm, *ve, *mo, *rp, *ra, *ke, *bi, *ls;
    uniql_result r = UNIQL_OK;
    uniql_config *c;
    size_t n_pairs = 0, bytes, off;
    int L, l, i, g, j, half;
    unsigned char *seen = NULL;
    if (!o) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "order: NULL argument");
    memset(o, 0, sizeof *o);
    if (!text) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "order: NULL argument");
    if (len > UNIQL_ORDER_MAX_BYTES) return uniql__fail(err, UNIQL_ERR_FORMAT, "order: %lu bytes, more than %u", (unsigned long)len, UNIQL_ORDER_MAX_BYTES);
    UNIQL__TRY(uniql_json_parse(text, len, 0, alloc_user, &doc, err));
    root = doc.root;
#define UNIQL__ORD_FAIL(...) do { r = uniql__fail(err, __VA_ARGS__); goto done; } while (0)
    if (root->type != UNIQL_JSON_OBJECT) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: not a JSON object");
    for (e = root->child; e; e = e->next) {
        for (i = 0; i < 8 && strcmp(e->key, keys[i]); i++) {}
        if (i == 8) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: unknown key \"%.60s\"", e->key);
    }
    fm = uniql_json_get(root, "format");
    ve = uniql_json_get(root, "version");
    mo = uniql_json_get(root, "model");
    rp = uniql_json_get(root, "rope_pairs");
    ra = uniql_json_get(root, "rates");
    ke = uniql_json_get(root, "kept");
    bi = uniql_json_get(root, "block_influence");
    ls = uniql_json_get(root, "lsaq");
    if (!fm) UNIQL__ORD_FAIL(UNIQL_ERR_MISSING, "order: no \"format\"");
    if (fm->type != UNIQL_JSON_STRING || fm->len != 11 || strcmp(fm->str, "uniql-order"))
        UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: \"format\" is not \"uniql-order\"");
    if (!ve) UNIQL__ORD_FAIL(UNIQL_ERR_MISSING, "order: no \"version\"");
    if (ve->type != UNIQL_JSON_NUMBER) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: \"version\" is not a number");
    if (ve->number != UNIQL_ORDER_VERSION) UNIQL__ORD_FAIL(UNIQL_ERR_VERSION, "order: version %g, this build reads %d", ve->number, UNIQL_ORDER_VERSION);
    if (!mo || !rp || !ra || !ke) UNIQL__ORD_FAIL(UNIQL_ERR_MISSING, "order: \"%s\" missing", !mo ? "model" : !rp ? "rope_pairs" : !ra ? "rates" : "kept");
    if ((r = uniql__ord_model(mo, o, err)) != UNIQL_OK) goto done;
    c = &o->config;
    L = o->n_layers = c->n_layers;
    o->n_kv_heads = c->n_kv_heads;
    o->head_dim = c->head_dim;
    half = c->head_dim / 2;
    if (cfg && !uniql_order_matches(o, cfg))
        UNIQL__ORD_FAIL(UNIQL_ERR_SHAPE, "order: written for another model (fingerprint differs from the config: %s, %d layers)",
                        uniql__arch_name(c->arch), L);
    /* shapes of every list first, so that the allocation is bounded by the text */
    if (rp->type != UNIQL_JSON_ARRAY || rp->count != L) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: \"rope_pairs\" is not an array of %d entries", L);
    for (l = 0, e = rp->child; e; e = e->next, l++) {
        int want = uniql__layer_has_attn(c->block[l]) && c->rope_type != UNIQL_ROPE_NONE;
        const uniql_json *h;
        if (!want) {
            if (e->type != UNIQL_JSON_NULL) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: rope_pairs[%d] must be null (no RoPE attention)", l);
            continue;
        }
        if (e->type != UNIQL_JSON_ARRAY || e->count != c->n_kv_heads)
            UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: rope_pairs[%d] must hold %d KV-head rankings", l, c->n_kv_heads);
        for (h = e->child; h; h = h->next)
            if (h->type != UNIQL_JSON_ARRAY || h->count != half)
                UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: rope_pairs[%d]: a ranking must hold %d pair indices", l, half);
        n_pairs += (size_t)c->n_kv_heads * (size_t)half;
    }
    if (ra->type != UNIQL_JSON_ARRAY || ra->count < 1 || ra->count > UNIQL_PACK_MAX_RATES)
        UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: \"rates\" must be an array of 1..%d rates", UNIQL_PACK_MAX_RATES);
    o->n_rates = ra->count;
    for (i = 0, e = ra->child; e; e = e->next, i++) {
        if (e->type != UNIQL_JSON_NUMBER || !(e->number >= 0 && e->number < 1) || (i && !(e->number > o->rates[i - 1])))
            UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: rates[%d] not in [0, 1) or not above the one before", i);
        o->rates[i] = e->number;
    }
    if (ke->type != UNIQL_JSON_ARRAY || ke->count != o->n_rates)
        UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: \"kept\" must hold one table per rate (%d)", o->n_rates);
    /* one block: kept, pointer table, pairs, importance, seen-flags scratch */
    bytes = sizeof(uniql_kept) * (size_t)o->n_rates * (size_t)L + sizeof(int *) * (size_t)L + sizeof(int) * n_pairs +
            sizeof(double) * 2 * (size_t)L + (size_t)half + 16;
    o->mem = UNIQL_MALLOC(bytes, alloc_user);
    o->alloc_user = alloc_user;
    if (!o->mem) UNIQL__ORD_FAIL(UNIQL_ERR_OUT_OF_MEMORY, "order: out of memory");
    memset(o->mem, 0, bytes);
    {
        unsigned char *p = (unsigned char *)o->mem;
        uniql_kept *kept;
        const int **ptrs;
        int *pairs;
        double *imp;
        /* doubles first, then pointers, then ints: every part aligned for its type */
        imp = (double *)(void *)p;
        off = sizeof(double) * 2 * (size_t)L;
        ptrs = (const int **)(void *)(p + off);
        off += sizeof(int *) * (size_t)L;
        kept = (uniql_kept *)(void *)(p + off);
        off += sizeof(uniql_kept) * (size_t)o->n_rates * (size_t)L;
        pairs = (int *)(void *)(p + off);
        off += sizeof(int) * n_pairs;
        seen = p + off;
        o->kept = kept;
        o->rope_pairs = ptrs;
        for (l = 0, e = rp->child; e; e = e->next, l++) {
            const uniql_json *h, *x;
            if (e->type == UNIQL_JSON_NULL) continue;
            ptrs[l] = pairs;
            for (g = 0, h = e->child; h; h = h->next, g++) {
                memset(seen, 0, (size_t)half);
                for (j = 0, x = h->child; x; x = x->next, j++) {
                    int v;
                    if (!uniql__json_int(x, 0, half - 1, &v) || seen[v])
                        UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: rope_pairs[%d][%d] is not a permutation of 0..%d", l, g, half - 1);
                    seen[v] = 1;
                    *pairs++ = v;
                }
            }
        }
        for (i = 0, e = ke->child; e; e = e->next, i++) {
            const uniql_json *row, *x;
            if (e->type != UNIQL_JSON_ARRAY || e->count != L) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: kept[%d] must hold %d layers", i, L);
            for (l = 0, row = e->child; row; row = row->next, l++) {
                int v[5], k;
                uniql_kept *kp = &kept[(size_t)i * L + l], mk;
                if (row->type != UNIQL_JSON_ARRAY || row->count != 5) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: kept[%d][%d] is not 5 sizes", i, l);
                for (k = 0, x = row->child; x; x = x->next, k++)
                    if (!uniql__json_int(x, 0, 0x7fffffff, &v[k])) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: kept[%d][%d] holds a non-integer", i, l);
                kp->qk_dim = v[0]; kp->v_dim = v[1]; kp->d_int = v[2]; kp->head_dim = v[3]; kp->state = v[4];
                mk = uniql__pk_mask(c, l, kp);
                if (memcmp(&mk, kp, sizeof mk) || !uniql__pk_kept_ok(c, l, kp))
                    UNIQL__ORD_FAIL(UNIQL_ERR_SHAPE, "order: kept[%d][%d] = [%d,%d,%d,%d,%d] out of range for this layer", i, l, v[0], v[1], v[2], v[3], v[4]);
            }
        }
        if (bi) {
            if ((r = uniql__ord_doubles(bi, L, "block_influence", imp, err)) != UNIQL_OK) goto done;
            o->block_influence = imp;
        }
        if (ls) {
            if ((r = uniql__ord_doubles(ls, L, "lsaq", imp + L, err)) != UNIQL_OK) goto done;
            o->lsaq = imp + L;
        }
    }
#undef UNIQL__ORD_FAIL
done:
    uniql_json_free(&doc);
    if (r != UNIQL_OK) uniql_order_free(o);
    return r;
}

/* ---- re-applying an order ---- */

static uniql_result uniql__ao_attention(uniql_model *dst, const uniql_model *m, const uniql_attention *a, const int *rank,
                                        int transposed_o, uniql_attention *na)
{
    const uniql_config *c = &m->config;
    int H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, half = hd / 2, D = c->hidden_size, rep = H / KV, g, h, j;
    float *Wq, *Wk, *Wv, *Wo;
    *na = *a;
    UNIQL__TRY(uniql__dense(dst, &a->q, &Wq));
    UNIQL__TRY(uniql__dense(dst, &a->k, &Wk));
    UNIQL__TRY(uniql__dense(dst, &a->v, &Wv));
    UNIQL__TRY(uniql__dense(dst, &a->o, &Wo));
    UNIQL__TRY(uniql__copy_vec(dst, a->q_bias, H * hd, &na->q_bias));
    UNIQL__TRY(uniql__copy_vec(dst, a->k_bias, KV * hd, &na->k_bias));
    UNIQL__TRY(uniql__copy_vec(dst, a->o_bias, D, &na->o_bias));
    na->v_bias = NULL;
    if (a->v_bias) {
        /* the export writes zeros where the sorting folded v's bias into o's: drop them */
        for (j = 0; j < KV * hd && a->v_bias[j] == 0.0f; j++) {}
        if (j < KV * hd) UNIQL__TRY(uniql__copy_vec(dst, a->v_bias, KV * hd, &na->v_bias));
    }
    if (rank) {
        int *kmap = (int *)uniql__own(&dst->storage, sizeof(int) * ((size_t)(H + KV) * hd + (size_t)KV * half), dst->alloc_user);
        int *qmap, *pairs;
        if (!kmap) return UNIQL_ERR_OUT_OF_MEMORY;
        qmap = kmap + (size_t)KV * hd;
        pairs = qmap + (size_t)H * hd;
        memcpy(pairs, rank, sizeof(int) * (size_t)KV * half);
        for (g = 0; g < KV; g++)
            for (j = 0; j < half; j++) {
                kmap[g * hd + 2 * j] = g * hd + rank[g * half + j];
                kmap[g * hd + 2 * j + 1] = g * hd + rank[g * half + j] + half;
            }
        for (h = 0; h < H; h++)
            for (j = 0; j < hd; j++) qmap[h * hd + j] = h * hd + (kmap[(h / rep) * hd + j] - (h / rep) * hd);
        if (!(Wq = uniql__gather_rows(dst, Wq, D, qmap, H * hd)) || !(Wk = uniql__gather_rows(dst, Wk, D, kmap, KV * hd)))
            return UNIQL_ERR_OUT_OF_MEMORY;
        UNIQL__TRY(uniql__gather_vec(dst, a->q_bias, qmap, H * hd, 1, &na->q_bias));
        UNIQL__TRY(uniql__gather_vec(dst, a->k_bias, kmap, KV * hd, 1, &na->k_bias));
        na->rope_pairs = pairs;
    }
    UNIQL__TRY(uniql__own_matrix(dst, Wq, H * hd, D, 0, &na->q));
    UNIQL__TRY(uniql__own_matrix(dst, Wk, KV * hd, D, 0, &na->k));
    UNIQL__TRY(uniql__own_matrix(dst, Wv, KV * hd, D, 0, &na->v));
    return uniql__own_matrix(dst, Wo, D, H * hd, transposed_o, &na->o);
}

static uniql_result uniql__ao_mlp(uniql_model *dst, const uniql_model *m, const uniql_mlp *p, int transposed, uniql_mlp *np)
{
    const uniql_config *c = &m->config;
    int I = c->intermediate_size, D = c->hidden_size;
    float *Wg, *Wu, *Wd;
    *np = *p;
    if (c->mlp_act == UNIQL_MLP_SWIGLU) {
        UNIQL__TRY(uniql__dense(dst, &p->gate, &Wg));
        UNIQL__TRY(uniql__own_matrix(dst, Wg, I, D, 0, &np->gate));
    }
    UNIQL__TRY(uniql__dense(dst, &p->up, &Wu));
    UNIQL__TRY(uniql__dense(dst, &p->down, &Wd));
    UNIQL__TRY(uniql__copy_vec(dst, p->gate_bias, I, &np->gate_bias));
    UNIQL__TRY(uniql__copy_vec(dst, p->up_bias, I, &np->up_bias));
    UNIQL__TRY(uniql__copy_vec(dst, p->down_bias, D, &np->down_bias));
    UNIQL__TRY(uniql__own_matrix(dst, Wu, I, D, 0, &np->up));
    return uniql__own_matrix(dst, Wd, D, I, transposed, &np->down);
}

static uniql_result uniql__ao_mamba(uniql_model *dst, const uniql_model *m, const uniql_mamba *mb, int transposed, uniql_mamba *nm)
{
    const uniql_config *c = &m->config;
    int H = c->ssm_heads, HP = H * c->ssm_head_dim, GN = c->ssm_groups * c->ssm_state, K = c->conv_kernel, D = c->hidden_size;
    float *W;
    *nm = *mb;
#define UNIQL__AO_MAT(field, rows, cols, tr) do { UNIQL__TRY(uniql__dense(dst, &mb->field, &W)); \
        UNIQL__TRY(uniql__own_matrix(dst, W, rows, cols, tr, &nm->field)); } while (0)
    UNIQL__AO_MAT(in_z, HP, D, 0);
    UNIQL__AO_MAT(in_x, HP, D, 0);
    UNIQL__AO_MAT(in_B, GN, D, 0);
    UNIQL__AO_MAT(in_C, GN, D, 0);
    UNIQL__AO_MAT(in_dt, H, D, 0);
    UNIQL__AO_MAT(out, D, HP, transposed);
#undef UNIQL__AO_MAT
    UNIQL__TRY(uniql__copy_vec(dst, mb->bias_z, HP, &nm->bias_z));
    UNIQL__TRY(uniql__copy_vec(dst, mb->bias_x, HP, &nm->bias_x));
    UNIQL__TRY(uniql__copy_vec(dst, mb->bias_B, GN, &nm->bias_B));
    UNIQL__TRY(uniql__copy_vec(dst, mb->bias_C, GN, &nm->bias_C));
    UNIQL__TRY(uniql__copy_vec(dst, mb->bias_dt, H, &nm->bias_dt));
    UNIQL__TRY(uniql__copy_vec(dst, mb->conv_x, HP * K, &nm->conv_x));
    UNIQL__TRY(uniql__copy_vec(dst, mb->conv_B, GN * K, &nm->conv_B));
    UNIQL__TRY(uniql__copy_vec(dst, mb->conv_C, GN * K, &nm->conv_C));
    UNIQL__TRY(uniql__copy_vec(dst, mb->conv_bias_x, HP, &nm->conv_bias_x));
    UNIQL__TRY(uniql__copy_vec(dst, mb->conv_bias_B, GN, &nm->conv_bias_B));
    UNIQL__TRY(uniql__copy_vec(dst, mb->conv_bias_C, GN, &nm->conv_bias_C));
    UNIQL__TRY(uniql__copy_vec(dst, mb->A_log, H, &nm->A_log));
    UNIQL__TRY(uniql__copy_vec(dst, mb->D, H, &nm->D));
    UNIQL__TRY(uniql__copy_vec(dst, mb->dt_bias, H, &nm->dt_bias));
    UNIQL__TRY(uniql__copy_vec(dst, mb->norm, HP, &nm->norm));
    return uniql__copy_vec(dst, mb->out_bias, D, &nm->out_bias);
}

UNIQLDEF uniql_result uniql_apply_order(const uniql_model *m, const uniql_order *o, uniql_layout layout,
                                        void *alloc_user, uniql_model **out, uniql_error *err)
{
    uniql_model *dst = NULL;
    uniql_result r;
    int l, tr;
    if (out) *out = NULL;
    if (!m || !o || !out || !m->layers || (int)layout < 0 || (int)layout > 1)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "apply order: NULL argument or bad layout");
    if (!uniql_order_matches(o, &m->config))
        return uniql__fail(err, UNIQL_ERR_SHAPE, "apply order: the order was written for another model (fingerprint differs)");
    UNIQL__TRY(uniql_model_check(m, err));
    for (l = 0; l < m->config.n_layers; l++)
        if (!uniql__layer_unpruned(m, l, 0))
            return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "apply order: layer %d is pruned or already in the kept-pairs layout", l);
    if ((r = uniql__model_shell(m, alloc_user, &dst)) != UNIQL_OK) return uniql__fail(err, r, "apply order: out of memory");
    tr = layout == UNIQL_LAYOUT_PRUNABLE;
    r = uniql__copy_globals(dst, m);
    for (l = 0; l < m->config.n_layers && r == UNIQL_OK; l++) {
        const uniql_layer *src = &m->layers[l];
        uniql_layer *ly = &dst->layers[l];
        ly->type = src->type;
        r = uniql__copy_vec(dst, src->norm, m->config.hidden_size, &ly->norm);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, src->mlp_norm, m->config.hidden_size, &ly->mlp_norm);
        if (r == UNIQL_OK && uniql__layer_has_attn(src->type))
            r = uniql__ao_attention(dst, m, &src->attn, m->config.rope_type != UNIQL_ROPE_NONE ? o->rope_pairs[l] : NULL, tr, &ly->attn);
        if (r == UNIQL_OK && (src->type == UNIQL_BLOCK_DECODER || src->type == UNIQL_BLOCK_MLP)) r = uniql__ao_mlp(dst, m, &src->mlp, tr, &ly->mlp);
        if (r == UNIQL_OK && src->type == UNIQL_BLOCK_MAMBA) r = uniql__ao_mamba(dst, m, &src->mamba, tr, &ly->mamba);
        if (r != UNIQL_OK) {
            uniql_model_free(dst);
            return uniql__fail(err, r, "apply order: layer %d: %s", l, uniql_result_string(r));
        }
    }
    if (r != UNIQL_OK) {
        uniql_model_free(dst);
        return uniql__fail(err, r, "apply order: %s", uniql_result_string(r));
    }
    *out = dst;
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
