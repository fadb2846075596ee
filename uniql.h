/* uniql.h - v0.1 - public domain / MIT (see end of file)
   A single-header C99 reference of two LLM compression methods for edge devices:

     UniQL  (Chiang et al., arXiv 2512.03383, ICLR 2026): structured weight sorting,
            quantization-aware SVD, state-aware SSM sorting, group int4 quantization,
            fused RoPE for pruned heads, on-device configurable pruning.
     LSAQ   (Zeng et al., arXiv 2412.18135): layer-specific adaptive bit widths from
            top-k Jaccard layer importance.

   plus the runtimes (Llama / Qwen2 transformer, Mamba2 SSM, Nemotron-H and Bamba hybrids)
   that run what it produced, checked against Hugging Face transformers.

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

   CONTENTS (search for a section's title, e.g. "API 7b.", to jump there; the API sections
   come first, the IMPL sections follow in pipeline order, compiled with UNIQL_IMPLEMENTATION)

     API 1    Results and errors                 IMPL 1    Results and errors
     API 2    Half precision conversions         IMPL 2    Half precision conversions
     API 2b   Threads: the caller's parallel-for IMPL 2b   Threads
     API 3    Matrix views, quantized formats    IMPL 3    Matrix views, matmul dispatch
                                                 IMPL 4    Quantization and kernels (scalar,
                                                           AVX2, NEON)
     API 4    Linear algebra (SVD, eigen,        IMPL 5    Linear algebra, ridge leverage,
              correlations, leverage)                      QA-SVD
     API 5    File readers (JSON, safetensors)   IMPL 6    File readers
     API 5b   Tokenizer and Unicode              IMPL 6b   Tokenizer and Unicode
     API 6    Models and runtimes (Llama/Qwen2,  IMPL 7    Runtimes
              Mamba2, Nemotron-H, Bamba)
     API 7    UniQL: calibration, sorting,       IMPL 8    UniQL (calibration, sorting,
              layer rates, pruning                         QA-SVD, rates, pruning, whole-model
                                                           quantizer, Hadamard rotation)
     API 7b   Quantization: GPTQ, the whole-     IMPL 8b   GPTQ of one matrix, presets
              model quantizer, Hadamard rotation,
              presets (UNIQL_PRESET_OFFICIAL)
     API 8    LSAQ importance and bit plans      IMPL 9    LSAQ
     API 9    Packed .uniql files                IMPL 10   Packed .uniql files
     API 9b   Recovery hand-over (export, order  IMPL 10b  Recovery
              files)

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
     UNIQL_NO_POSIX      the stdio loaders use only fopen/fread (no fstat check that
                         refuses FIFOs and devices before reading; see uniql_read_file).

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
     AUTO    the best available: VNNI, else AVX2+FMA (x86-64, checked at run time), NEON (AArch64),
             else the scalar reference. UNIQL_NO_SIMD compiles only SCALAR.
     SCALAR  the reference kernels (plain C, identical block structure).
     AVX2 / NEON  force that set; UNIQL_ERR_UNSUPPORTED if it is not compiled in or the
             CPU lacks it (AVX2 needs avx2, fma and f16c).
     VNNI    the AVX2 set plus AVX-512 VNNI (avx512f, bw, vl, vnni, checked at run time;
             x86-64 gcc / clang builds): with I8ACT, Q4 / Q4Z prefill tiles (2..4 tokens)
             run two rows at once with vpdpbusd in 512-bit vectors. Same results as
             SCALAR and AVX2, bit for bit (the same integer lane sums and float steps).
             AUTO picks it first where the CPU has it.
     I8ACT   for Q4 / Q4Z / Q8 weights in row storage, and Q4 / Q4Z weights in transposed
             storage: integer dot products with int8 activations.
             Row storage: each token's activations are quantized once per matmul to int8
             per 32-block (d = max|x| / 127 in fp32, q = round-half-away(x * 127 /
             max|x|)); the block dot products are exact integer sums of the unsigned
             weight nibbles (AVX2 maddubs/madd, NEON sdot or widening multiplies), scaled
             by d per block pair with an FMA, the zero-point term z * sum x and the group
             scale applied once per group (uniql__qdot8_scalar has the exact steps).
             Transposed storage (o/down/out_proj of UNIQL_LAYOUT_PRUNABLE, groups along
             the outputs): per block of 32 inputs and output group g the products
             x_c * s(c, g) are quantized to int8 and the group's outputs are exact
             integer sums over the block (uniql__t8_quant_scalar / uniql__t8_dot_scalar).
             The scalar reference does the identical integer sums and float operations in
             the same order, so SIMD == scalar bit for bit (tested). Extra error versus
             fp32 activations: each quantized value moves by at most half its step, so
             |dy| <= sum_b (max_{c in b} |x_c| / 254) * sum_{c in b} |w_c| (row storage;
             transposed: max |x_c s(c, g)| / 254 times sum |w_rc| / s(c, g)); on Gaussian
             data about 0.6 % of |y| (relative L2, tests/test_quant.c). NaN/Inf in X gives
             UNIQL_ERR_NONFINITE (Y partly written). Q4Z zero points must be <= 15 (the
             quantizer writes only 0..15). Float dtypes, transposed Q8 and transposed
             views with groups above 2048 ignore the flag (fp32 activations). Speed:
             bench/bench_gemv.c, bench/bench_vs_llamacpp.c and the README. */
typedef enum uniql_kernel {
    UNIQL_KERNEL_AUTO = 0,
    UNIQL_KERNEL_SCALAR = 1,
    UNIQL_KERNEL_AVX2 = 2,
    UNIQL_KERNEL_NEON = 3,
    UNIQL_KERNEL_VNNI = 4,
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
    size_t work_size;               /*   32-byte aligned; NULL / smaller: bounded stack (below) */
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
   with Wilkinson shifts, as LAPACK's dsteqr: the tridiagonal is split into unreduced
   blocks, each scaled on its own and iterated from its smaller end (QL or QR), at most
   30 n iterations in all, else UNIQL_ERR_NO_CONVERGENCE. Badly scaled input (entries
   from 1e-300 to 1e300 in one matrix) converges. The input is scaled by a power of two
   to max 1; an eigenvalue beyond DBL_MAX (entries near 1e308) is UNIQL_ERR_RANGE, never
   an infinite w. Cost ~ 4/3 n^3 (reduction) + 4/3 n^3 (forming Q) +
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

/* How uniql_sort_model scores attention Q/K dims (API 7). */
typedef enum uniql_qk_score {
    UNIQL_QK_SCORE_UNIQLH = 0,  /* C_Q and C_K after RoPE; GQA group: sum over its query heads */
    UNIQL_QK_SCORE_OFFICIAL = 1 /* the official attn_qk_compression_gqa: C_K BEFORE RoPE (from
                                   the ATTN_IN correlation and mean: W_K C W_K^T + bias terms),
                                   C_Q after; group score sqrt(sum_h (|.| |.|)^2) */
} uniql_qk_score;

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

/* One JSON value: 16 bytes (so a document costs at most 8 bytes per input byte, see
   uniql_json_parse). The children of a container are contiguous, in document order:
     ARRAY   u.child[0 .. len)         the elements
     OBJECT  u.child[0 .. 2 len)       per member its key (a STRING node), then its value
   Strings are decoded and NUL-terminated; `len` counts bytes (a \u0000 escape makes
   len > strlen). Read containers with uniql_json_at / uniql_json_member / uniql_json_get. */
typedef struct uniql_json {
    uniql_json_type type;
    uint32_t len;                           /* STRING: bytes; ARRAY: elements; OBJECT: members */
    union {
        double number;                      /* NUMBER */
        const char *str;                    /* STRING */
        const struct uniql_json *child;     /* ARRAY / OBJECT: first child, NULL if empty */
    } u;
} uniql_json;

/* A parsed document: every node and string lives in one block owned by the document. */
typedef struct uniql_json_doc {
    const uniql_json *root;
    void *mem;
    void *alloc_user;
} uniql_json_doc;

/* Parse `len` bytes of `text` (need not be NUL-terminated). On success `doc` owns one
   allocation (UNIQL_MALLOC with alloc_user) released by uniql_json_free.
   Cost, whatever the text: time linear in len (three passes: validate and count, count
   the children of each container, fill); memory at most 8 bytes per input byte for the
   document (16-byte nodes: the densest text, "[0,0,...]", has one value per 2 bytes)
   plus, during the parse only, a table of 4 bytes per container and 8 bytes per member of
   the largest object (the duplicate-key check): below 10 bytes per input byte in all.
   Errors: UNIQL_ERR_PARSE (message names the byte offset), UNIQL_ERR_RANGE (a number
   outside the double range), UNIQL_ERR_OVERFLOW (sizes: 2^31-2 elements in one container,
   a string of 2^32 bytes, a block beyond size_t), UNIQL_ERR_OUT_OF_MEMORY,
   UNIQL_ERR_INVALID_ARG. On error `doc` is zeroed. */
UNIQLDEF uniql_result uniql_json_parse(const char *text, size_t len, unsigned flags, void *alloc_user,
                                       uniql_json_doc *doc, uniql_error *err);
/* Release a document (NULL or zeroed is fine). */
UNIQLDEF void uniql_json_free(uniql_json_doc *doc);
/* Value of member `key` (a NUL-terminated string) of an object, or NULL (also when `obj`
   is NULL or not an object). Linear in the number of members. */
UNIQLDEF const uniql_json *uniql_json_get(const uniql_json *obj, const char *key);
/* Element i of an array, or NULL. O(1). */
UNIQLDEF const uniql_json *uniql_json_at(const uniql_json *arr, int i);
/* Value of member i (document order) of an object, or NULL; *key (if key is not NULL)
   receives the member's key, a STRING node (NULL when there is no member i). O(1). */
UNIQLDEF const uniql_json *uniql_json_member(const uniql_json *obj, int i, const uniql_json **key);

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

/* stdio: read a whole file into a buffer from UNIQL_MALLOC(alloc_user); the caller
   releases it with uniql_free_buffer(data, alloc_user). One extra NUL byte follows the
   data (not counted in *size), so a text file can be used as a C string.
   On POSIX systems (unless UNIQL_NO_POSIX) the file is opened non-blocking and checked
   with fstat before anything is allocated: a path that is not a regular file (a FIFO, a
   device, a directory, a socket) is refused with UNIQL_ERR_IO, so a FIFO never blocks the
   reader and /dev/zero is never read forever; the buffer is the size fstat reports and a
   file that shrinks while being read is UNIQL_ERR_IO. Elsewhere: fopen/fseek/ftell/fread
   (at most LONG_MAX bytes; a directory is refused by a first read). Errors: UNIQL_ERR_IO,
   UNIQL_ERR_OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_read_file(const char *path, void *alloc_user, void **data, size_t *size,
                                      uniql_error *err);
/* UNIQL_FREE(p, alloc_user), for buffers this library handed to the caller. */
UNIQLDEF void uniql_free_buffer(void *p, void *alloc_user);



/* =====================================================================================
   API 5b. Tokenizer (Hugging Face tokenizer.json) and Unicode
   ===================================================================================== */

/* A reader and runner of Hugging Face `tokenizer.json` files (the format of the Rust
   `tokenizers` library), so real checkpoints take and give text. The reference is that
   library: on tests/data/tok/corpus.txt our ids equal its ids for every tokenizer tested
   (tests/test_tokenizer.c; references in tests/data/tok/ref/ made by
   tests/ref/tokenizer_ref.py). Anything a file asks for that is not implemented is
   refused at load with UNIQL_ERR_UNSUPPORTED and a message naming the component: a
   tokenizer either loads and encodes like the reference, or does not load.

   Pipeline of uniql_tokenizer_encode, as in the Rust library:
     1. added tokens ("added_tokens", special or not) are cut out of the raw text first,
        leftmost-longest (lstrip / rstrip honoured); they never reach the model;
     2. each remaining piece is normalized (normalizer), then added tokens marked
        "normalized": true are cut out of the normalized text;
     3. the pre-tokenizer splits pieces into words;
     4. the model (BPE) turns each word into ids;
     5. with UNIQL_TOK_ADD_SPECIAL the post-processor adds its special tokens (BOS).
   Implemented components:
     normalizer     NFC, NFD, Lowercase, Strip, StripAccents, Replace (string or regex),
                    Prepend, Sequence (NFKC / NFKD / BertNormalizer / Precompiled: refused)
     pre_tokenizer  Split (string or regex; behaviours Removed, Isolated,
                    MergedWithPrevious, MergedWithNext, Contiguous; invert), ByteLevel
                    (add_prefix_space, use_regex), Metaspace (replacement,
                    prepend_scheme always / first / never, split), Digits
                    (individual_digits), Whitespace, WhitespaceSplit, Punctuation,
                    Sequence
     model          BPE: byte-level (GPT-2 byte-to-unicode alphabet, Llama 3, Qwen2/3) and
                    SentencePiece style (the U+2581 metaspace, byte_fallback to <0xXX>,
                    unk_token, fuse_unk; Llama 2, Mistral, Gemma); ignore_merges; merges
                    as "a b" strings or [a, b] pairs. Merges are applied by rank with a
                    heap, O(n log n) in the word length (a 100 kB run of one character is
                    one word and stays fast). dropout > 0 and continuing_subword_prefix /
                    end_of_word_suffix other than "" are refused; so are WordPiece,
                    Unigram and WordLevel models.
     post_processor TemplateProcessing (single sequences), ByteLevel (ids unchanged),
                    BertProcessing, RobertaProcessing, Sequence
     decoder        ByteLevel, ByteFallback, Fuse, Replace (string), Strip, Metaspace,
                    Sequence; without a decoder tokens are joined with " " (as Rust does)
   Split regexes: the dialect these files use (Oniguruma syntax), run by a small
   backtracking matcher over code points: literals and escapes (\r \n \t \f \v \xHH
   \x{H..} \uHHHH, escaped punctuation), classes [...] / [^...] with ranges, \p{..} /
   \P{..} general categories (L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P.. S.. Z.. C..),
   \s \S (White_Space) \d \D (Nd) \w \W (L, M, Nd, Pc), '.', groups ( ) (?: ) (?i: )
   (ASCII case folding plus U+017F and U+212A, as Unicode simple folding gives), lookahead
   (?= ) (?! ), alternation, quantifiers * + ? {n} {n,} {n,m} and their lazy forms. Other
   constructs (lookbehind, anchors, backreferences, atomic groups, scripts) are refused.
   A loop whose body can match the empty string is refused (it could spin forever), and
   a match attempt that backtracks more than UNIQL_TOK_REGEX_STEPS steps per input byte
   ends the encode with UNIQL_ERR_RANGE (hostile patterns cannot hang a caller).
   Unicode data (general category, canonical decompositions and combining classes,
   lowercase) is Unicode 15.0.0, tabled from the Debian package unicode-data by
   tools/gen_unicode.py (uniql_unicode_version()).

   Text is UTF-8 in and out. Encode input must be valid UTF-8 (UNIQL_ERR_PARSE names the
   byte offset otherwise). Decode output is what the Rust library prints: invalid byte
   sequences from byte-level tokens become U+FFFD per maximal invalid subsequence (Rust's
   String::from_utf8_lossy), ByteFallback byte runs that are not UTF-8 become one U+FFFD
   per byte. Ids outside the vocabulary are skipped by decode (as Rust does). */

typedef struct uniql_tokenizer uniql_tokenizer;   /* opaque; immutable after load */

#define UNIQL_TOK_ADD_SPECIAL 1u    /* encode: run the post-processor (e.g. prepend BOS) */
#define UNIQL_TOK_SKIP_SPECIAL 2u   /* decode: drop tokens marked "special" */
#define UNIQL_TOK_REGEX_STEPS 4096  /* backtracking budget per input byte (see above) */

/* What a loaded tokenizer says about itself. bos_id / eos_id come from
   tokenizer_config.json's bos_token / eos_token when given (a string or an
   {"content": ...} object naming a token), else -1 (eos) and, for bos, the first
   special token the post-processor adds (-1 if none). add_bos / add_eos: the config's
   add_bos_token / add_eos_token, -1 when absent or null. The encode flags follow
   tokenizer.json only, as the Rust library does; these fields are for callers (e.g. to
   stop generation at eos). */
typedef struct uniql_tokenizer_info {
    int vocab_size;       /* 1 + the largest id of the model vocabulary and added tokens */
    int bos_id, eos_id;
    int add_bos, add_eos;
    int byte_level;       /* 1 if the model works on the GPT-2 byte alphabet */
    int n_added;          /* entries of "added_tokens" */
} uniql_tokenizer_info;

/* Build a tokenizer from tokenizer.json text (`json`, `len` bytes) and optionally
   tokenizer_config.json text (config may be NULL). Nothing points into the caller's
   buffers afterwards. On success *out owns everything it allocated (UNIQL_MALLOC with
   alloc_user); release with uniql_tokenizer_free. Errors: those of uniql_json_parse
   (UNIQL_ERR_PARSE, UNIQL_ERR_RANGE, UNIQL_ERR_OVERFLOW), UNIQL_ERR_MISSING (no "model",
   a merge or special token naming a token that is not in the vocabulary),
   UNIQL_ERR_FORMAT (ill-typed keys, duplicate ids, ids outside [0, 2^31 - 1)),
   UNIQL_ERR_UNSUPPORTED (a component or option listed above as refused; the message
   names it), UNIQL_ERR_OUT_OF_MEMORY, UNIQL_ERR_INVALID_ARG. */
UNIQLDEF uniql_result uniql_tokenizer_load(const char *json, size_t len, const char *config_json,
                                           size_t config_len, void *alloc_user, uniql_tokenizer **out,
                                           uniql_error *err);
/* stdio: `dir`/tokenizer.json and, if present, `dir`/tokenizer_config.json. UNIQL_ERR_IO
   when tokenizer.json cannot be read, else as uniql_tokenizer_load. */
UNIQLDEF uniql_result uniql_tokenizer_load_dir(const char *dir, void *alloc_user, uniql_tokenizer **out,
                                               uniql_error *err);
UNIQLDEF void uniql_tokenizer_free(uniql_tokenizer *t);
UNIQLDEF void uniql_tokenizer_get_info(const uniql_tokenizer *t, uniql_tokenizer_info *info);

/* Text -> ids. *ids is a buffer from UNIQL_MALLOC(alloc_user of the tokenizer) holding
   *n_ids ids (at least one element is allocated even when *n_ids == 0); release it with
   uniql_free_buffer(*ids, alloc_user). flags: 0 or UNIQL_TOK_ADD_SPECIAL. Errors:
   UNIQL_ERR_INVALID_ARG, UNIQL_ERR_PARSE (text not valid UTF-8), UNIQL_ERR_RANGE (the
   regex budget), UNIQL_ERR_OVERFLOW (more than INT_MAX bytes), UNIQL_ERR_OUT_OF_MEMORY.
   On error *ids is NULL. The tokenizer is not modified: several threads may encode with
   one tokenizer at once. */
UNIQLDEF uniql_result uniql_tokenizer_encode(const uniql_tokenizer *t, const char *text, size_t len,
                                             unsigned flags, int **ids, size_t *n_ids, uniql_error *err);

/* uniql_tokenizer_encode that also reports the work done (stats may be NULL): heap
   operations of the BPE merges, regex steps of the Split patterns, words given to the
   model. For tests of the complexity bounds (the counts, not the clock). */
typedef struct uniql_tokenizer_stats {
    uint64_t heap_ops, regex_steps, words;
} uniql_tokenizer_stats;
UNIQLDEF uniql_result uniql_tokenizer_encode_ex(const uniql_tokenizer *t, const char *text, size_t len,
                                                unsigned flags, int **ids, size_t *n_ids,
                                                uniql_tokenizer_stats *stats, uniql_error *err);

/* Ids -> text (UTF-8, NUL-terminated, *len bytes without the NUL) in a buffer from
   UNIQL_MALLOC(alloc_user of the tokenizer); release with uniql_free_buffer. flags: 0 or
   UNIQL_TOK_SKIP_SPECIAL. Errors: UNIQL_ERR_INVALID_ARG, UNIQL_ERR_OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_tokenizer_decode(const uniql_tokenizer *t, const int *ids, size_t n_ids,
                                             unsigned flags, char **text, size_t *len, uniql_error *err);

/* Streaming decode for generation: text is emitted only when it is complete, so a
   multi-byte character split across tokens comes out whole, once. The caller keeps all
   ids generated so far in one array and calls uniql_tokenizer_decode_next after each new
   id with n_ids = the count so far; *text gets the new text (possibly empty, allocated as
   in uniql_tokenizer_decode). The method is the Rust library's DecodeStream: decode a
   short window of the previous tokens with and without the new ones and emit the
   difference once it does not end in U+FFFD; a window that does not start at id 0 is
   decoded as the continuation it is (no start-of-text stripping). With flush = 1
   whatever is pending is emitted (the end of generation). The concatenation of every
   emitted text equals uniql_tokenizer_decode of all ids (fuzzed: tests/fuzz), except
   with a Strip decoder that strips the END of the fused text (stop > 0), which no
   stream can know in advance. Zero-initialise the stream
   before the first id. Errors as uniql_tokenizer_decode, plus UNIQL_ERR_INVALID_ARG when
   n_ids goes backwards. */
typedef struct uniql_decode_stream {
    size_t prefix, read;    /* window [prefix, read): tokens whose text is already out */
} uniql_decode_stream;
UNIQLDEF uniql_result uniql_tokenizer_decode_next(const uniql_tokenizer *t, uniql_decode_stream *s, const int *ids,
                                                  size_t n_ids, unsigned flags, int flush, char **text,
                                                  size_t *len, uniql_error *err);

/* Id of a token string (model vocabulary or added token), or -1. */
UNIQLDEF int uniql_tokenizer_token_id(const uniql_tokenizer *t, const char *s, size_t len);
/* The string of token `id` (NUL-terminated, owned by the tokenizer; *len may be NULL), or
   NULL for an id no token has. */
UNIQLDEF const char *uniql_tokenizer_token(const uniql_tokenizer *t, int id, size_t *len);
/* 1 if `id` is an added token marked "special", else 0. */
UNIQLDEF int uniql_tokenizer_is_special(const uniql_tokenizer *t, int id);

/* ---- Unicode (the tables the tokenizer uses) ---- */
typedef enum uniql_unicode_category {
    UNIQL_UC_Cn = 0, UNIQL_UC_Lu, UNIQL_UC_Ll, UNIQL_UC_Lt, UNIQL_UC_Lm, UNIQL_UC_Lo, UNIQL_UC_Mn, UNIQL_UC_Mc,
    UNIQL_UC_Me, UNIQL_UC_Nd, UNIQL_UC_Nl, UNIQL_UC_No, UNIQL_UC_Pc, UNIQL_UC_Pd, UNIQL_UC_Ps, UNIQL_UC_Pe,
    UNIQL_UC_Pi, UNIQL_UC_Pf, UNIQL_UC_Po, UNIQL_UC_Sm, UNIQL_UC_Sc, UNIQL_UC_Sk, UNIQL_UC_So, UNIQL_UC_Zs,
    UNIQL_UC_Zl, UNIQL_UC_Zp, UNIQL_UC_Cc, UNIQL_UC_Cf, UNIQL_UC_Cs, UNIQL_UC_Co
} uniql_unicode_category;
/* "15.0.0": the Unicode version of the tables. */
UNIQLDEF const char *uniql_unicode_version(void);
/* General category of a code point (UNIQL_UC_Cn for unassigned and > U+10FFFF). */
UNIQLDEF uniql_unicode_category uniql_unicode_category_of(uint32_t cp);
/* Canonical combining class (0..254). */
UNIQLDEF int uniql_unicode_ccc(uint32_t cp);
/* Simple lowercase mapping (UnicodeData field 13), cp itself when there is none. */
UNIQLDEF uint32_t uniql_unicode_lower(uint32_t cp);
/* NFC (form 0) or NFD (form 1) of valid UTF-8 text into a buffer from
   UNIQL_MALLOC(alloc_user) (NUL-terminated, *out_len bytes). Errors: UNIQL_ERR_PARSE (not
   UTF-8), UNIQL_ERR_INVALID_ARG, UNIQL_ERR_OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_unicode_normalize(int form, const char *text, size_t len, void *alloc_user, char **out,
                                              size_t *out_len, uniql_error *err);


/* =====================================================================================
   API 6. Models and runtimes (Llama/Qwen2, Mamba2, Nemotron-H, Bamba)
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
                Partial rotary (rotary_dim R < head_dim, Bamba): HF rotates the pairs
                (i, i + R/2), i < R/2, and passes dims R..head_dim-1 through. A head is
                then head_dim/2 "units" of two dims: R/2 rotary pairs and
                (head_dim - R)/2 pass-through units, any two pass-through dims. In
                rope_pairs an index i < R/2 is that rotary pair; an index >= R/2 is a
                pass-through unit, whose inverse frequency is 0 (uniql_rope_inv_freq):
                rotation by angle 0 is exactly the identity, so the same fused kernel
                runs both. Stored units interleave the two kinds in a fixed proportion
                (UNIQL_ROPE UNITS below), so every kept prefix keeps rotary and
                pass-through dims at the same rate, as the official code does.
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
    UNIQL_ARCH_NEMOTRON_H = 4,  /* NemotronHForCausalLM (Mamba2 / attention / MLP blocks) */
    UNIQL_ARCH_BAMBA = 5        /* BambaForCausalLM (Mamba2 or attention, an MLP in every layer) */
} uniql_arch;

/* What one layer holds. Every block is pre-norm with a residual around each mixer. */
typedef enum uniql_block_type {
    UNIQL_BLOCK_DECODER = 0,    /* Llama/Qwen2 layer: norm, attention, +res, norm, MLP, +res */
    UNIQL_BLOCK_MAMBA = 1,      /* norm, Mamba2 mixer, +res  (Nemotron-H "M", all of Mamba2) */
    UNIQL_BLOCK_ATTENTION = 2,  /* norm, attention, +res     (Nemotron-H "*") */
    UNIQL_BLOCK_MLP = 3,        /* norm, MLP, +res           (Nemotron-H "-") */
    UNIQL_BLOCK_MAMBA_MLP = 4   /* norm, Mamba2 mixer, +res, norm, MLP, +res (Bamba's Mamba
                                   layers; its attention layers are DECODER blocks) */
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
    int rotary_dim;                         /* dims of each head RoPE rotates (the first ones):
                                               head_dim, or less with partial rotary (Bamba:
                                               head_dim / 2); 0 also means head_dim */
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

/* Parse a transformers config.json (model_type llama, qwen2, mamba2, nemotron_h, bamba).
   Missing keys take the defaults of the transformers 5.x config classes. Both key
   spellings are accepted: rope_parameters or rope_theta + rope_scaling ("type" or
   "rope_type"); layers_block_type / layer_types or hybrid_override_pattern; the
   mamba_* aliases of Nemotron-H; {"__float__": "Infinity"} and bare Infinity.
   Bamba (BambaConfig of transformers 5.17): attention layers at attn_layer_indices (each
   an integer in [0, num_hidden_layers); none: every layer is Mamba), an MLP in every
   layer; the Mamba2 mixer from mamba_n_heads, mamba_d_head ("auto" = mamba_expand *
   hidden_size / mamba_n_heads), mamba_n_groups, mamba_d_state, mamba_d_conv,
   mamba_expand (an integer), mamba_conv_bias, mamba_proj_bias, time_step_limit;
   attention_bias (q/k/v/o), mlp_bias; head_dim = hidden_size / num_attention_heads
   unless given; RoPE "default" only, with partial_rotary_factor 0.5, which BambaConfig
   fixes (a top-level partial_rotary_factor is overwritten there, so it is ignored here;
   another value inside rope_parameters is UNIQL_ERR_UNSUPPORTED), so rotary_dim =
   int(head_dim * 0.5), which must be even, as must head_dim - rotary_dim.
   Errors: those of uniql_json_parse (UNIQL_ERR_PARSE bad JSON, UNIQL_ERR_RANGE a number
   outside the double range, UNIQL_ERR_OVERFLOW, UNIQL_ERR_OUT_OF_MEMORY), UNIQL_ERR_MISSING
   (no model_type / required RoPE key), UNIQL_ERR_FORMAT (ill-typed or out-of-range value,
   a norm epsilon that is not a finite number > 0), UNIQL_ERR_SHAPE (sizes that do not fit
   together, e.g. a default head_dim hidden_size / num_attention_heads of 0),
   UNIQL_ERR_UNSUPPORTED (other model types, activations, RoPE types, sliding windows,
   MoE layers). Ranges (outside: UNIQL_ERR_FORMAT, or SHAPE for products): vocab <= 2^24,
   hidden <= 2^20, layers <= UNIQL_MAX_LAYERS, heads and head_dim <= 4096 with heads x
   head_dim <= 2^18, Mamba2 heads x head_dim (d_inner) <= 2^18, state <= 1024, conv kernel
   <= 16, rope_theta in (1, 1e12], RoPE factor in [1, 1e6] (transformers' own rule) and
   every resulting RoPE frequency finite. The runtime state still follows these sizes,
   not the file's: ask uniql_state_bytes before creating one from an untrusted model. */
UNIQLDEF uniql_result uniql_config_parse(const char *json, size_t len, void *alloc_user, uniql_config *cfg,
                                         uniql_error *err);
/* config.json of real checkpoints is a few KB; longer text is refused (UNIQL_ERR_FORMAT)
   by uniql_config_parse before it is parsed, and by the stdio loaders before it is read */
#define UNIQL_CONFIG_MAX_BYTES (1u << 20)

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
    int no_finite_check;        /* skip the NaN/Inf scan of the weight matrices (API 10:
                                   the caller runs uniql_model_check_finite per part) */
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
   `dir`/model.safetensors (when there is no index file; an index that exists but cannot
   be read is an error). Each file is read once, straight into a block the model then
   owns (peak memory = the files' bytes + what uniql_model_load allocates, no second
   copy). Files are read with uniql_read_file's checks (regular files only: a FIFO is
   refused, never waited on); config.json may hold at most UNIQL_CONFIG_MAX_BYTES and the
   index UNIQL_INDEX_MAX_BYTES (else UNIQL_ERR_FORMAT, before anything is allocated).
   The index's shard names are de-duplicated by sorting (n log n). Adds UNIQL_ERR_IO. */
#define UNIQL_INDEX_MAX_BYTES (64u << 20)
UNIQLDEF uniql_result uniql_model_load_dir(const char *dir, const uniql_load_options *opt, uniql_model **out,
                                           uniql_error *err);
/* Release a model from uniql_model_load[_dir] (NULL is fine). */
UNIQLDEF void uniql_model_free(uniql_model *m);
/* Check that every view and kept size of `m` fits its config (what uniql_state_create
   relies on; use it on hand-built models). UNIQL_ERR_SHAPE / UNIQL_ERR_INVALID_ARG. */
UNIQLDEF uniql_result uniql_model_check(const uniql_model *m, uniql_error *err);

/* ---- RoPE ----
   HF computes inv_freq and the angles in fp32 (also for a float64 model); so do we. */
/* The head_dim/2 inverse frequencies of `c` (default, linear or llama3 scaling). With
   partial rotary (0 < rotary_dim < head_dim) the first rotary_dim/2 are HF's, computed with
   rotary_dim in place of head_dim (1 / theta^(2i / rotary_dim)), and the rest are 0: the
   pass-through units of the kept-pairs layout, rotated by angle 0 = unchanged.

   UNIQL_ROPE UNITS. A sorted or pruned partial-rotary head stores its head_dim/2 units in
   a fixed interleave of the R/2 rotary pairs and the P/2 pass-through units (R =
   rotary_dim, P = head_dim - R, U = head_dim/2 units): the first k units hold
   ceil(k (R/2) / U) rotary pairs and the rest pass-through units, for every k (unit u is
   rotary iff that count grows from k = u to u + 1). With R = head_dim / 2 they alternate
   rotary, pass-through, rotary, ..., so keeping qk_dim = r dims (r a multiple of 4) keeps
   r/4 rotary pairs and r/2 pass-through dims, the official code's split. Full rotary: all
   units are rotary pairs. uniql_rope_unit_rotary(c, u) says which unit u is. */
UNIQLDEF uniql_result uniql_rope_inv_freq(const uniql_config *c, float *inv_freq);
/* 1 if unit u (0 <= u < head_dim/2) of the interleave above is a rotary pair, 0 if it is a
   pass-through unit (or c has no RoPE, or u is out of range). */
UNIQLDEF int uniql_rope_unit_rotary(const uniql_config *c, int u);
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
   UNIQL_MALLOC(alloc_user), owned by the state. The state is bound to `m`.
   Errors: UNIQL_ERR_INVALID_ARG, those of uniql_model_check, UNIQL_ERR_OVERFLOW (a size
   beyond size_t), UNIQL_ERR_OUT_OF_MEMORY, UNIQL_ERR_BUDGET (above
   uniql_state_options.max_bytes, nothing allocated). Its size follows the config, not the
   weights: uniql_state_bytes tells it before anything is allocated. */
UNIQLDEF uniql_result uniql_state_create(const uniql_model *m, int max_ctx, int max_batch, void *alloc_user,
                                         uniql_state **out);

/* How the weights of quantized matrices (Q4 / Q4Z / Q8) meet the activations. */
typedef enum uniql_activations {
    UNIQL_ACT_AUTO = 0,   /* the default: UNIQL_ACT_I8 (fp32 weights and F16/BF16 are unaffected) */
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
    uint64_t max_bytes;             /* refuse (UNIQL_ERR_BUDGET, nothing allocated) a state
                                       larger than this; 0: no cap. The state's size follows
                                       the config (KV cache max_ctx x kept k/v dims per attention
                                       layer, heads x head_dim x state per Mamba layer), not the
                                       weight bytes: a small file with a hostile config can ask
                                       for gigabytes. See uniql_state_bytes. */
} uniql_state_options;

/* uniql_state_create with options (uniql_state_create(m, c, b, u, out) is this with
   max_ctx c, max_batch b, alloc_user u and zeros elsewhere). The default runtime path for
   quantized weights is int8 activations (UNIQL_KERNEL_I8ACT: about 0.6 % relative error
   per matmul; on the trained models perplexity moves by < 0.1 % and logits by < 3 % of
   their RMS, tests/test_speed.c); UNIQL_ACT_F32 is the exact reference path. The state also holds the
   scratch of the int8 activations of one chunk and one attention score row per worker.
   Errors as uniql_state_create, plus UNIQL_ERR_INVALID_ARG for an unknown activations
   value or kernel, UNIQL_ERR_UNSUPPORTED for an instruction set not available here. */
UNIQLDEF uniql_result uniql_state_create_ex(const uniql_model *m, const uniql_state_options *opt, uniql_state **out);
/* The exact bytes uniql_state_create_ex(m, opt) would allocate, computed without
   allocating (ask before committing memory). Errors as uniql_state_create_ex, except that
   opt->max_bytes is not applied; UNIQL_ERR_OVERFLOW when the size does not fit size_t. */
UNIQLDEF uniql_result uniql_state_bytes(const uniql_model *m, const uniql_state_options *opt, uint64_t *bytes);
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
    uint64_t max_state_bytes;   /* cap of the runtime state (uniql_state_options.max_bytes),
                                   0 = none; the state holds min(seq_len, n_tokens) positions */
    int dtb_raw_dt;             /* MAMBA_DTB with the RAW dt projection (in_proj's dt rows times
                                   MAMBA_IN: no dt_bias, in_proj bias, softplus or clamp), as
                                   the official ssd_BC_compression forms dt * B; set by
                                   UNIQL_PRESET_OFFICIAL. 0: the dt the runtime uses */
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
    uniql_qk_score qk_score;    /* Q/K scores: 0 = uniql.h's (below), UNIQL_QK_SCORE_OFFICIAL */
    double ridge_lambda;        /* 0 = UNIQL_RIDGE_LAMBDA_DEFAULT (1e-4, absolute) */
    double eig_floor;           /* 0 = UNIQL_EIG_FLOOR_DEFAULT (1e-6, absolute) */
    void *alloc_user;
    const uniql_parallel *parallel;  /* threads (API 2b) for the sorting's linear algebra; results
                                        do not depend on it */
    int layers_only;            /* the result's embed, lm_head and final_norm are m's own
                                   (views: m must outlive it), not fp32 copies (API 10) */
    uniql_rng *rng;             /* UNIQL_ORDER_RANDOM: NULL = a stream seeded with `seed`;
                                   else this stream is used and advanced, so sorting layer
                                   views one after another draws what one call would */
} uniql_sort_options;

/* A new model, function unchanged up to float rounding, whose every prunable dimension is
   ordered so that "keep the first k" keeps the k most important slices:
     MLP            channels by ridge leverage diag(C (C + lambda I)^-1) of MLP_DOWN_IN;
                    rows of gate/up (and their biases), columns of down (also the MLP of
                    Bamba's Mamba layers).
     attention Q/K  per KV group g: s_i = sum over the query heads h of g of
                    |col_i(C_Q,h^1/2)| |col_i(C_K,g^1/2)|; with RoPE, pair i (dims i and
                    i + head_dim/2 of rotate_half) scores s_i + s_{i+hd/2} and pairs are
                    sorted whole: q/k heads are stored in the kept-pairs layout (API 6:
                    interleaved [a0 b0 a1 b1 ..], rope_pairs = the sorted original pair
                    indices per KV head, shared by its query heads). Partial rotary
                    (Bamba, rotary_dim R): the rotary pairs (i, i + R/2) by s_i + s_{i+R/2},
                    the pass-through dims by their own s_i, stored in the interleave of
                    UNIQL_ROPE UNITS (API 6), two pass-through dims per unit in score
                    order: the official code's "quarter pairs" in the rotated half and
                    plain top-k in the pass-through half (its code scores the
                    pass-through dims with s of the rotated half, s_{i-R}: we take their
                    own). Without RoPE (Nemotron-H) single dims are sorted.
                    qk_score UNIQL_QK_SCORE_OFFICIAL (set by UNIQL_PRESET_OFFICIAL):
                    s_i = sqrt(sum_h (|col_i(C_Q,h^1/2)| |col_i(C_K,g^1/2)|)^2) with C_K,g
                    the correlation of k BEFORE RoPE, W_K,g C W_K,g^T (+ W m b^T + b m^T W^T
                    + b b^T with a k bias, m the ATTN_IN mean), C = ATTN_IN; the pairing and
                    the layout are the same. Checked against the official code's kept sets
                    (tests/test_gptq.c, official sorting oracle).
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
   eps <= 0: 0.1; max_rate <= 0: 0.85. global_rate must be in [0, max_rate). The
   weights are handled in the log domain, so a layer whose softmax weight underflows
   double (importance gaps far above eps) still takes its share.
   On success the mean equals global_rate to 1e-9 relative; when it cannot (the layers
   that carry parameters cannot absorb the rate below max_rate) the result is
   UNIQL_ERR_RANGE, never a silently lower mean.
   Errors: INVALID_ARG (n_layers < 1, NULL, global_rate outside [0, max_rate), negative
   params, all params 0), NONFINITE (importance, or a NaN eps / max_rate / global_rate),
   RANGE (the target mean is not reachable). */
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
   either carry rope_pairs (a sorted model) or be in HF's rotate_half layout (then the
   first qk_dim/2 units of UNIQL_ROPE UNITS are kept, in that order: pairs 0..qk_dim/2-1
   with full rotary).
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

/* ---- Weight bytes (the whole-model quantizer itself is API 7b) ------------------------------ */

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
   API 7b. Quantization: GPTQ for one matrix, one quantizer for a whole model (SPEC 1.5, 1.7)
   ===================================================================================== */

/* GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative
   Pre-trained Transformers", arXiv 2210.17323), the quantizer the official UniQL code
   uses (quantize/gptq.py). For a layer y = W x whose inputs x_t were seen during
   calibration, it quantizes W one input column at a time and pushes each column's
   rounding error onto the columns not yet quantized, so that the layer's OUTPUT error
   E|(W - Q) x|^2 = tr((W - Q) H (W - Q)^T) is small, not the weight error.

     H        the input-side Hessian, any positive multiple of sum_t x_t x_t^T (GPTQ writes
              H = 2 X^T X / n). The result does not depend on that scale: the damping is
              relative and the update uses ratios of H^-1 entries. Accumulate it with
              uniql_corr (API 4; uniql_corr_init(d = W->cols) / uniql_corr_add_f32 over the
              layer's input stream / uniql_corr_finalize gives C = X^T X / n), i.e. with the
              same bounded-memory streaming as the correlations of the sorting stage.
     dead     an input with H_ii = 0 never fired: H_ii := 1 and its weights are set to 0
              (as the official code does).
     damping  H_ii += damp * mean_i(H_ii) (damp 0.01, the official percdamp).
     order    input columns j = 0, 1, ... (or by decreasing H_jj with act_order). With
              U the upper Cholesky factor of H^-1 (H^-1 = U^T U): q_j = quant(w_j),
              e = (w_j - q_j) / U_jj, w_k -= e U_jk for every later k. Updates within a block
              of `block` columns are applied at once, the rest as one matrix product per
              block (GPTQ's lazy batch update; the same arithmetic up to rounding order).
     groups   quantization groups run along STORAGE rows (API 3), so the result is the
              packed matrix the kernels use and every pruning prefix stays whole-group:
              - row storage (q/k/v, gate/up, in_proj, lm_head): a group is `group`
                consecutive inputs of one output row, its scale fixed when the group's first
                column is reached (from the weights as updated so far; the official choice).
                With act_order (and for Q8's one scale per row) the scales are fixed from the
                initial weights instead ("static groups"), since the columns of a group are
                then not processed together;
              - transposed storage (o/down/out_proj of UNIQL_LAYOUT_PRUNABLE): a storage row
                is one input column, a group `group` consecutive outputs of it, and its scale
                is fixed when that column is quantized (it has then received every update).
                The official code stores o/down_proj untransposed; this orientation is what
                keeps input-dimension pruning a prefix without requantization.
     scales   UNIQL_SCALE_UNIQLH: the rule of uniql_quantize (API 3) on the group's current
              values: Q4 s = smallest fp16 >= max(max/7, -min/8), Q4Z scale + zero point,
              Q8 max|w| / 127; q = round-half-away(w / s), clamped (later columns may leave
              the range their group's scale was fixed for); clip = 1 adds the clip search of
              API 3 when a scale is fixed. UNIQL_SCALE_OFFICIAL (Q4 only): the official rule
              s = max|w| * 2/15 in fp32, q = clamp(round-half-even(w / (s + 1e-6)), -8, 7),
              computed in fp32 as the official code does, and the error compensation uses
              that fp32 s; the stored scale is s rounded to fp16 (what the official packing
              ships), so the stored value q * fp16(s) differs from the compensated q * s by
              at most 2^-11 relative. With s = max|w| * 2/15 the largest weight maps to
              7.5 and is clamped to 7 (one step of clipping at the positive end).
   Arithmetic is double throughout (the official code runs GPTQ in fp32). H = NULL means no
   calibration: every weight is rounded to nearest on the same grid (no error is
   propagated, no dead inputs), which gives round-to-nearest with the official scale rule;
   with UNIQL_SCALE_UNIQLH it equals uniql_quantize.

   Known answers (tests/test_gptq.c): with a diagonal H no error is propagated and the
   result equals uniql_quantize byte for byte; the blocked Cholesky form equals the
   definition (sequential optimal-brain-surgeon updates with explicit inverses of the
   remaining Hessian) to rounding. */

typedef enum uniql_scale_rule {
    UNIQL_SCALE_UNIQLH = 0,    /* smallest fp16 >= max(max/7, -min/8): |w - q s| <= s/2 in RTN */
    UNIQL_SCALE_OFFICIAL = 1   /* max|w| * 2/15 (fp32), clamp: the official quantize/gptq.py */
} uniql_scale_rule;

/* Zero means default for every field. */
typedef struct uniql_gptq_options {
    uniql_dtype dtype;           /* UNIQL_DTYPE_Q4 (0 also means Q4), _Q4Z or _Q8 */
    int group;                   /* Q4/Q4Z group along storage rows: 32, 64, 128 (0 = 128) */
    double damp;                 /* relative damping (0 = 0.01); must be >= 0 and finite */
    int block;                   /* lazy-batch block in columns (0 = 128), rounded up to a
                                    multiple of the group for row storage */
    int act_order;               /* 1: columns by decreasing H_jj (static group scales) */
    uniql_scale_rule scale_rule;
    int clip;                    /* UNIQLH rule: clip search when a group scale is fixed */
    void *alloc_user;            /* scratch: UNIQL_MALLOC(.., alloc_user), freed on return */
} uniql_gptq_options;

/* GPTQ-quantize the logical rows x cols matrix W (any dtype, orientation, view; it is
   dequantized first) given the Hessian H (W->cols x W->cols, upper triangle read, ld ldh;
   NULL: round to nearest, see above)
   into the caller's buffer `buf` (buf_size >= uniql_quant_size of {o->dtype, group,
   transposed = W->transposed}, 2-byte aligned), in exactly the layout of uniql_quantize,
   and describe it in *out (a view into buf, W's orientation). `o` may be NULL (Q4, group
   128, UNIQLH scales). Scratch (freed before returning): 13 rows cols + 8 cols^2 + 8 rows
   block bytes plus ~2 MB.
   Errors: UNIQL_ERR_INVALID_ARG (NULL, ldh < cols, buffer too small or odd, bad options,
   the official rule with another dtype than Q4), UNIQL_ERR_DTYPE / UNIQL_ERR_SHAPE (as
   uniql_quant_size), UNIQL_ERR_NONFINITE (NaN/Inf in W or H), UNIQL_ERR_NOT_SPD (the damped
   H has no Cholesky factor: H was not positive semidefinite; retry with a larger damp),
   UNIQL_ERR_RANGE (a scale above the fp16 maximum), UNIQL_ERR_OUT_OF_MEMORY. `err` (may
   be NULL) gets a message. On error *out is not written and buf is unspecified. */
UNIQLDEF uniql_result uniql_gptq_quantize(const uniql_gptq_options *o, const uniql_matrix *W, const double *H,
                                          size_t ldh, void *buf, size_t buf_size, uniql_matrix *out,
                                          uniql_error *err);

/* ---- One quantizer for a whole model: RTN, RTN + clip search, GPTQ (SPEC 1.5) ----------

   uniql_model_quantize turns any model (fp or already quantized, sorted or not, the
   in-memory pipeline and tools/pack alike) into a new model whose weight matrices are
   packed Q4 / Q4Z / Q8, through one options struct:

     method RTN   every matrix rounded to nearest (uniql_quantize), with the clip search
                  of API 3 if clip = 1;
     method GPTQ  the calibration tokens are run through the model ONE LAYER AT A TIME,
                  as the official quantize/quantize_model.py does: the quantized embedding
                  gives layer 0's input stream (all tokens, sequences of seq_len, held in
                  memory: n_calib_tokens x hidden floats); for layer l the FP layer is run
                  on the stream and the input of every matrix feeds its Hessian (uniql_corr:
                  q/k/v <- attention input, o <- attention output, gate/up <- MLP input,
                  down <- its input, every in_proj part <- the Mamba input, out_proj <- the
                  gated-norm output); each matrix is quantized by uniql_gptq_quantize; then
                  the QUANTIZED layer is run on the stream, which becomes layer l+1's input.
                  So each layer is quantized against the error its predecessors already
                  made. lm_head (when not tied) is quantized last with the Hessian of the
                  final-normed stream; a tied embedding / lm_head is rounded to nearest once.

   Widths: bits[l] (argument, may be NULL) or o->bits for every layer: 4 (Q4, Q4Z if
   asymmetric), 8 (Q8 per storage row) or 32 / 0 in bits[] (an fp32 copy; such a layer is
   run as it is in the GPTQ stream). Groups run along storage rows (API 3): `group` (0 = 128)
   is halved while it does not divide a matrix's storage-row length (down to 32; a length
   no group divides gets a partial last group), so a transposed o/down/out_proj of
   UNIQL_LAYOUT_PRUNABLE keeps every pruning prefix whole-group: the quantized model can
   still be pruned by views (uniql_model_prune, the .uniql loader) with no requantization.
   With GPTQ, a prefix is not what GPTQ of the pruned model would give (the error pushed
   onto pruned inputs is lost); the README measures how much that costs.
   Embedding: embed_bits 8 (default, Q8 per row), 4 (Q4 groups along the row) or 32 (fp32
   copy); embed_per_row = 1 with 4 bits is the official 4-bit embedding (one scale per row,
   s = fp16(max|row| / 8), q = clamp(round-half-even(w / s), -8, 7), the scale repeated in
   each group of the Q4 format). lm_head: lm_head_bits (0 = embed_bits), GPTQ'd under method
   GPTQ, never per row.
   scale_rule (API 7b above) applies to every symmetric 4-bit matrix (layers and lm_head, RTN
   and GPTQ alike); Q8 and Q4Z always use the uniql.h rule, so UNIQL_SCALE_OFFICIAL with
   asymmetric is UNIQL_ERR_INVALID_ARG.

   OWNERSHIP. The result owns its quantized matrices, fp32 copies of every vector (norms,
   biases, conv taps, A_log, D, dt_bias, gated-norm weights) and of rope_pairs: it does not
   need m afterwards, except with layers_only = 1, where embed, lm_head and final_norm are
   m's own views (m must outlive the result; for a layer-range view of a model that is
   quantized layer by layer). Release with uniql_model_free. A pruned or blocked input view
   becomes a compact quantized matrix (the logical matrix is quantized). */

typedef enum uniql_quant_method {
    UNIQL_QUANT_RTN = 0,     /* round to nearest (with .clip: the clip search of API 3) */
    UNIQL_QUANT_GPTQ = 1     /* GPTQ, layer by layer on the calibration stream */
} uniql_quant_method;

/* Zero means default for every field. */
typedef struct uniql_model_quant_options {
    int group;          /* Q4 / Q4Z group along storage rows: 32, 64, 128 (0 = 128), halved to divide */
    int asymmetric;     /* 1: Q4Z (scale + zero point) instead of symmetric Q4 */
    int clip;           /* 1: clip search when a group scale is chosen (RTN and GPTQ) */
    int embed_bits;     /* embedding: 8 (0 = 8, Q8 per row), 4 (Q4), 32 (fp32 copy) */
    void *alloc_user;
    const uniql_parallel *parallel;  /* threads (API 2b): matrices, the GPTQ stream's forward and
                                        Hessians; the same bytes for any thread count */
    uniql_quant_method method;
    int bits;           /* layer width when the bits argument is NULL: 4 (0 = 4) or 8 */
    int lm_head_bits;   /* 4, 8, 32; 0 = embed_bits */
    int embed_per_row;  /* 1 (with embed_bits 4): the official per-row 4-bit embedding */
    uniql_scale_rule scale_rule;   /* symmetric 4-bit matrices: UNIQLH (default) or OFFICIAL */
    int layers_only;    /* 1: quantize the layers only; embed / lm_head / final_norm are m's (RTN) */
    int globals_only;   /* 1: quantize embed / lm_head only; the layers are m's (RTN; API 10: a
                           layer-by-layer pack quantizes the globals once, the layers one by one) */
    /* GPTQ (method UNIQL_QUANT_GPTQ) */
    const int *calib_tokens;   /* calibration token ids (required for GPTQ) */
    size_t n_calib_tokens;
    int seq_len;        /* tokens per calibration sequence, state reset between them (0 = 256) */
    int max_batch;      /* tokens per forward chunk (0 = 64) */
    double damp;        /* uniql_gptq_options.damp (0 = 0.01) */
    int act_order;      /* uniql_gptq_options.act_order */
    int block;          /* uniql_gptq_options.block (0 = 128) */
} uniql_model_quant_options;

/* The quantized model (above). `bits` (n_layers entries, may be NULL) and `opt` (may be
   NULL: RTN, Q4 group 128, int8 embeddings). Errors: UNIQL_ERR_INVALID_ARG (NULL, a width
   other than 0/4/8/32, bad options, GPTQ without calibration tokens or a token outside the
   vocabulary, the official rule with asymmetric), UNIQL_ERR_UNSUPPORTED (GPTQ with
   layers_only: it needs the model's own stream; quantize such layers matrix by matrix with
   uniql_gptq_quantize), those of uniql_quantize / uniql_gptq_quantize (NONFINITE, RANGE,
   NOT_SPD), of the forward (GPTQ stream), OUT_OF_MEMORY. `err` (may be NULL) names the
   layer and matrix. */
UNIQLDEF uniql_result uniql_model_quantize(const uniql_model *m, const int *bits, const uniql_model_quant_options *opt,
                                           uniql_model **out, uniql_error *err);

/* ---- Residual-stream rotation (the official offline Hadamard transform) ----------------

   QuaRot-style (Ashkboos et al., arXiv 2404.00456): the residual stream h of every token is
   replaced by R h with R an orthogonal D x D matrix, folded offline into the weights, so
   the function is unchanged and the weights that quantization sees have their outliers
   spread over all inputs. The official UniQL code applies it after sorting and before
   GPTQ (quantize_model.py configure_model; off for Qwen2.5). With every RMSNorm weight w
   first folded into the matrices that read the norm (W diag(w), the norm's weight becomes
   1; rms(R h) = rms(h) as R is orthogonal):
     embedding rows e -> R e;  lm_head L -> L diag(w_final) R^T;
     matrices reading a normed residual (q/k/v, gate/up, every Mamba in_proj part)
       W -> W diag(w_norm) R^T;
     matrices writing to the residual (o_proj, down_proj, out_proj) W -> R W, bias b -> R b.
   Inner dimensions (heads, MLP channels, SSM state) are untouched, so sorting, kept sizes,
   rope_pairs and every pruning prefix stay valid, and a model may be rotated before or
   after sorting. The rotation is computed in double from fp32 inputs, so only the final
   rounding to fp32 differs from exact (logits unchanged to ~1e-6 relative, tested).

   R is the normalized Hadamard matrix H_D / sqrt(D), built as the Kronecker product of a
   Sylvester matrix H_{2^k} and, unless D is a power of two, a Paley (type I) matrix of
   order p = q + 1 with q prime, q = 3 (mod 4) (p = 12, 20, 24, 44, 48, 60, 68, 72, 80, 84,
   ..., 224, ...): D = 2^k p with the largest such k (e.g. 96 = 8 x 12, 72 = 72,
   896 = 4 x 224); applied per vector in O(D (k + p)) operations. Other D (28 * 2^k, which
   the official code takes from a stored matrix) are UNIQL_ERR_UNSUPPORTED. For D a power of two R equals the official transform
   (fast_hadamard_transform, natural Sylvester order, scale 1/sqrt(D)). */

/* R x for x of length n, in place (double). Errors: UNIQL_ERR_INVALID_ARG (NULL, n < 1),
   UNIQL_ERR_UNSUPPORTED (no construction for n, see above). Scratch: n doubles from
   UNIQL_MALLOC(.., user). */
UNIQLDEF uniql_result uniql_hadamard_apply(int n, double *x, void *user);

/* A new model equal in function to m, with norms folded and the residual stream rotated
   (above). Every weight becomes an owned fp32 copy (any dtype in; orientation, kept sizes
   and rope_pairs kept; a tied lm_head is untied, as the official code does), every norm
   weight of the residual stream is 1. Release with uniql_model_free; m is not needed
   afterwards. Errors: INVALID_ARG, UNSUPPORTED (hidden size without a construction),
   NONFINITE, OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_model_rotate(const uniql_model *m, void *alloc_user, uniql_model **out, uniql_error *err);

/* ---- Presets: the official code's choices (SPEC 1.7) next to uniql.h's defaults ----------

   uniql_preset_fill fills every options struct of the pipeline (calibrate -> sort -> layer
   rates -> kept sizes -> rotate -> quantize) for one model, so that a program (tools/pack
   --preset official) runs the paper's pipeline as its authors run it. UNIQL_PRESET_UNIQLH
   gives the zero (default) options. UNIQL_PRESET_OFFICIAL, choice by choice (official file of
   github.com/enyac-group/UniQL 4634bde; uniql.h's default; why the default differs):

     quantizer        GPTQ 4-bit symmetric g128, damp 0.01, scale max|w| 2/15, q clamped to
                      [-8, 7], each layer's GPTQ output feeding the next (quantize/gptq.py,
                      quantize_model.py) -> quant.method GPTQ, scale_rule OFFICIAL, block 128.
                      Default: RTN with the uniql.h scale (smallest fp16 >= max(max/7, -min/8):
                      never clips, |w - q s| <= s/2 provable; GPTQ needs calibration tokens).
                      Tested identical to the official integers (tests/test_gptq.c oracle).
     rotation         Hadamard rotation of the residual stream after sorting, norms folded
                      (quantize_model.py; off for Qwen2) -> rotate = 1 except UNIQL_ARCH_QWEN2.
                      Default: none (a plain model stays readable in HF layout).
     embed / lm_head  embeddings RTN 4-bit, one fp16 scale per row; lm_head GPTQ 4-bit g128
                      -> embed_bits 4, embed_per_row 1, lm_head_bits 4. Default: int8 per row
                      for both (on the project's small-vocabulary models the embedding is a
                      large share of the weights and int4 costs measurable perplexity).
     ridge lambda     1 (MLP; Mamba2 inner channels 1e-4) on correlations summed per sequence
                      and divided by the number of sequences, i.e. seq_len times uniql.h's
                      per-token mean -> sort.ridge_lambda = 1 / seq_len (Mamba2: 1e-4 /
                      seq_len), eig_floor = 1e-6 / seq_len. Default: 1e-4 / 1e-6 absolute on
                      the per-token mean (independent of the sequence length).
     layer importance block influence on the last token of each sequence
                      (get_layer_ratio.py, final_token_only) -> importance
                      UNIQL_IMPORTANCE_BLOCK_INFLUENCE_LAST. Default: the mean over all tokens
                      (seq_len times more samples of the same quantity).
     layer rates      phi = L phi_avg softmax(-s / 0.1), clamped to [0, 0.85], no
                      redistribution after the clamp, unweighted (one rate per decoder layer,
                      its fine_grained mode off) -> rates_official = 1
                      (uniql_layer_rates_official). Default: uniql_layer_rates with parameter
                      weights and exact water filling (the mean rate is met exactly, in
                      parameters, also when layers hit the clamp).
     kept widths      multiples of 128 (MLP), 16 (attention head dims q/k and v), 16 (Mamba
                      state) -> units {qk 16, v 16, mlp 128, mamba 1, state 16} (a size smaller
                      than its unit stays full: uniql_kept_from_rates). Default {2, 1, 8, 1, 1}:
                      the finest cut the prunable layout keeps whole-group.
     calibration      128 x 2048 tokens (sorting), 256 x 2048 (GPTQ): the caller's tokens and
                      seq_len are used for both (the project's models are trained at 512).
     dt * B           the raw dt projection (no dt_bias, softplus or clamp: ssd_BC_compression)
                      -> calib.dtb_raw_dt = 1. Default: the dt the runtime uses.
     q/k scores       C_K BEFORE RoPE (only C_Q after), GQA group score
                      sqrt(sum_h (|C_Q,h^1/2| |C_K^1/2|)^2) (compress_helpers.py
                      attn_qk_compression_gqa) -> sort.qk_score UNIQL_QK_SCORE_OFFICIAL.
                      Default: both after RoPE (the scores then see what the dot product
                      sees), summed over the group's query heads.
   Differences the preset does NOT reproduce (documented, not optional here):
     - Heads without RoPE (Nemotron-H): the official code calls attn_qk_compression_gqa with
       rotate_half = True there too: dims i and i + hd/4 of the first half kept as pairs, the
       second half chosen by the FIRST half's scores; uniql.h sorts single dims by their own.
     - Partial rotary pass-through dims: the official code scores them with the ROTATED half's
       scores (s_{i-R}); uniql.h with their own (API 7, uniql_sort_model).
     - Mamba B, C: the official ssd_BC_compression forms them without in_proj biases (none of
       the project's models has one); uniql.h with the biases the runtime uses.
     - Mamba2 / Nemotron-H inner channels: official ridge leverage on the SSM chunk states
       (Triton-only code); uniql.h on the out_proj input.
     - The official Hadamard for 28 * 2^k sizes comes from a stored matrix: UNSUPPORTED here. */

typedef enum uniql_preset_kind {
    UNIQL_PRESET_UNIQLH = 0,     /* uniql.h's defaults (all options zero) */
    UNIQL_PRESET_OFFICIAL = 1    /* the official code's choices, above */
} uniql_preset_kind;

typedef struct uniql_preset {
    uniql_calib_options calib;       /* seq_len set; lsaq, threads, ... left to the caller */
    uniql_sort_options sort;         /* layout UNIQL_LAYOUT_PRUNABLE in both presets */
    uniql_importance importance;     /* which uniql_calib_importance feeds the layer rates */
    int rates_official;              /* 1: uniql_layer_rates_official, 0: uniql_layer_rates */
    uniql_kept_units units;          /* for uniql_kept_from_rates */
    int rotate;                      /* 1: uniql_model_rotate after sorting, before quantizing */
    uniql_model_quant_options quant; /* method, widths, scales; the caller adds calib_tokens /
                                        n_calib_tokens for GPTQ, parallel, alloc_user */
    const char *quantizer_name;      /* "rtn" / "gptq": for uniql_pack_model_desc.quantizer */
} uniql_preset;

/* Fill *p for preset `kind`, model config c, calibration sequence length seq_len (0 = 256).
   Errors: INVALID_ARG (NULL, unknown kind, seq_len < 0). */
UNIQLDEF uniql_result uniql_preset_fill(uniql_preset_kind kind, const uniql_config *c, int seq_len, uniql_preset *p);

/* The official layer-rate rule (compress/get_layer_ratio.py allocate_layerwise_sparsity):
   rates[l] = min(max_rate, max(0, L * global_rate * softmax(-importance / eps)_l)), with no
   redistribution, so the mean of the rates is below global_rate when a layer is clamped.
   eps <= 0: 0.1; max_rate <= 0: 0.85. Errors: INVALID_ARG (n_layers < 1, NULL, global_rate
   outside [0, 1)), NONFINITE (importance). */
UNIQLDEF uniql_result uniql_layer_rates_official(int n_layers, const double *importance, double global_rate, double eps,
                                                 double max_rate, double *rates);



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
     "upgrades": per layer 0/1, whether "@8" copies exist,
     "tokenizer" (optional): {"json": the tokenizer.json text, "config": the
                 tokenizer_config.json text or null, "fnv1a64": "16 hex digits", FNV-1a 64
                 of the json text}, so that a device needs only the .uniql file (API 5b).
     "rotation", "quantizer": optional strings saying how the stored weights were made
                   (uniql_pack_model_desc; e.g. "hadamard", "gptq"). Informational: the
                   stored weights already include the rotation, so a loader needs nothing;
                   files without them (older writers) mean no rotation, RTN.
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
    const char *tokenizer_json;     /* NULL or tokenizer.json text (UTF-8) to carry in "meta" */
    size_t tokenizer_len;
    const char *tokenizer_config;   /* NULL or its tokenizer_config.json text */
    size_t tokenizer_config_len;
    const char *rotation;           /* NULL, or how the residual stream was rotated ("hadamard",
                                       uniql_model_rotate): meta "rotation" */
    const char *quantizer;          /* NULL, or how the weights were quantized (e.g. "gptq",
                                       "rtn", "rtn+clip"): meta "quantizer" */
} uniql_pack_model_desc;

/* Pack a (sorted, quantized) model into a .uniql image, as uniql_pack_write (the caller
   frees *out with uniql_free_buffer). Every view of `m` must be unpruned (kept sizes ==
   config sizes); rope_pairs, when present, are stored. Errors: UNIQL_ERR_INVALID_ARG,
   UNIQL_ERR_SHAPE (kept sizes in a table outside the config, a model that is already
   pruned, upgrade shapes differing), those of uniql_pack_write. */
UNIQLDEF uniql_result uniql_pack_model(const uniql_model *m, const uniql_pack_model_desc *d, void *alloc_user,
                                       void **out, size_t *out_size, uniql_error *err);

/* The tokenizer a packed model carries (meta "tokenizer"): its FNV-1a 64 is checked
   (UNIQL_ERR_CHECKSUM on a mismatch, so a file opened with UNIQL_PACK_SKIP_CHECKSUM is
   still safe), then it is loaded with uniql_tokenizer_load (its errors). *out is owned
   by the caller (uniql_tokenizer_free) and does not point into p. UNIQL_ERR_MISSING when
   the file carries no tokenizer (a byte-level model: token = byte), UNIQL_ERR_FORMAT when
   the entry is ill-typed. */
UNIQLDEF uniql_result uniql_packed_tokenizer(const uniql_packed *p, void *alloc_user, uniql_tokenizer **out,
                                             uniql_error *err);

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
   q/k without rope_pairs), UNIQL_ERR_FORMAT (rope_pairs not a permutation per KV head,
   or stored for a config without RoPE), UNIQL_ERR_NONFINITE (a NaN/Inf element of a
   float tensor or fp16 scale of a quantized one that the model uses: every such value
   is checked once here, as uniql_model_load does for safetensors; the scales are 1/64 of
   an int4 matrix, so the check reads little), UNIQL_ERR_OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_packed_model_load(const uniql_packed *p, const uniql_kept *kept, const int *bits,
                                              void *alloc_user, uniql_model **out, uniql_error *err);

/* Bytes of weights a model references: for every matrix view, its storage rows x (row
   bytes + scale and zero bytes), each distinct view counted once (tied lm_head once),
   plus every fp32 vector. This is the resident weight memory of a model loaded from a
   .uniql file (the bytes of the file it touches). */
UNIQLDEF uint64_t uniql_model_weight_bytes(const uniql_model *m);

/* Memory-budget selection: the lowest-rate table (the largest kept model) whose
   all-base-width weight bytes fit `budget`. The bytes are computed from the tensor table
   (what uniql_model_weight_bytes would report for the loaded model, to the byte): no
   model is built, so the cost is a few microseconds per layer and rate table. *rate_index = -1 means the full model fits
   (it is tried first). Errors: UNIQL_ERR_BUDGET if even the highest rate does not fit
   (*rate_index is then the highest rate and *bytes its size), errors of the loader. */
UNIQLDEF uniql_result uniql_packed_select_rate(const uniql_packed *p, uint64_t budget, void *alloc_user,
                                               int *rate_index, uint64_t *bytes, uniql_error *err);

/* LSAQ plan for a kept configuration: the widths {4, 8} per layer from the stored
   importance `which` ("lsaq" or "block_influence") within `budget` bytes of weights
   (uniql_lsaq_plan with the exact per-layer sizes of both copies at these kept sizes).
   bits: n_layers ints; *total: bytes of the planned model. The sizes come from the tensor
   table as in uniql_packed_select_rate (no model is loaded). Errors: those of
   uniql_lsaq_plan (UNIQL_ERR_BUDGET when even all-4-bit does not fit),
   uniql_packed_importance, and the loader's shape errors. */
UNIQLDEF uniql_result uniql_packed_plan_bits(const uniql_packed *p, const uniql_kept *kept, const char *which,
                                             uint64_t budget, void *alloc_user, int *bits, uint64_t *total,
                                             uniql_error *err);



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
     Q/K with partial rotary (Bamba, rotary_dim R): the ranking is over the head_dim/2
                RoPE units of API 6: p < R/2 is the rotary pair (p, p + R/2) in its
                original place; p >= R/2 is a pass-through unit, whose two dims need no
                rotation and so ARE exported sorted: unit p holds dims R + 2 (p - R/2) and
                the next. Kept at qk_dim: the dims of units p_0 .. p_(qk_dim/2 - 1).
   A masked forward of the exported model (every dim outside the kept sets multiplied by
   zero before use; Mamba's gated RMSNorm averaging over the kept channels of each norm
   group only) equals the pruned model of uniql_model_prune at the same kept sizes:
   tests/test_recover.c checks this against PyTorch output (tools/train/recover.py).

   ---- Order file, version 1: JSON text (UTF-8, strict as uniql_json_parse) ----
     {"format": "uniql-order", "version": 1,
      "model": {"model_type": "llama"|"qwen2"|"mamba2"|"nemotron_h"|"bamba", "n_layers": L,
                "blocks": "<one character per layer: D decoder, M Mamba2, * attention,
                           - MLP, B Mamba2 + MLP (Bamba)>", "hidden_size": .., "n_heads": .., "n_kv_heads": ..,
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
   Errors: the table above, those of uniql_json_parse (PARSE, RANGE, OVERFLOW),
   UNIQL_ERR_INVALID_ARG, UNIQL_ERR_OUT_OF_MEMORY. Fuzzed: tests/fuzz/fuzz_order.c. */
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

/* =====================================================================================
   API 10. Layer-by-layer compression (bounded memory)
   ===================================================================================== */

/* The pipeline of API 7 and 9 holds a whole model at each stage: the fp32 sorted copy of
   every weight, the correlations of every layer, the whole packed image. For real sizes
   (a 1 B model on a laptop, 8 B in 24 GB) the stages run one layer at a time instead, as
   the official code does (compress/compress_model.py, quantize/quantize_model.py): keep
   the calibration activations at the current layer boundary, calibrate that layer from
   them, sort it, quantize it, write it, free it, and push the activations through the
   uncompressed layer (or, for GPTQ, the quantized one) to feed the next layer.
   tools/pack.c is that loop. The pieces below are the existing stages applied to a
   "layer view": a model made of some of another model's layers. Sorting and quantizing a
   layer view gives exactly the layers uniql_sort_model and uniql_model_quantize (RTN) give
   for the whole model (every statistic is per layer, and the view's calibration sees the
   same activations in the same chunks), and the streaming writer lays out the same bytes
   as uniql_pack_model, so the layer loop reproduces the whole-model file byte for byte
   (tested in tests/test_layerwise.c and by tools/pack's --whole-model switch). */

/* A view of layers [begin, end) of m as a model of end - begin layers: the config is
   copied (n_layers and the block table shifted), `layers` points into m's table, embed,
   lm_head and final_norm are m's. Nothing is allocated: the view owns nothing (storage
   NULL, never uniql_model_free it) and m must outlive it. Running the view runs those
   layers; its observer sees them as layers 0 .. end-begin-1. Errors: INVALID_ARG (NULL,
   0 <= begin < end <= n_layers violated). */
UNIQLDEF uniql_result uniql_model_layers(const uniql_model *m, int begin, int end, uniql_model *view);

/* Run n_tokens rows of the residual stream (x, n_tokens x hidden_size, ld ldx floats)
   through every layer of m, in place, continuing the state: positions pos .. pos+n-1,
   KV caches and SSM states as uniql_forward keeps them; the embedding, final norm and
   lm_head are not used. Chunks of the state's max_batch tokens, each through the same
   code as uniql_forward's (so a layer view fed with the hidden states uniql_forward
   computes gives bit-identical outputs and observer calls). Errors: INVALID_ARG (NULL,
   n_tokens < 1, another model than the state's), SHAPE (ldx < hidden_size), RANGE (past
   max_ctx), NONFINITE (a NaN/Inf in x or in an output row; x then holds partial
   results, reset the state), and errors of uniql_matmul. */
UNIQLDEF uniql_result uniql_forward_hidden(const uniql_model *m, uniql_state *s, float *x, int n_tokens, size_t ldx,
                                           const uniql_observer *obs);

/* Calibration from hidden states (uniql_calibrate for a layer view). */
typedef struct uniql_calib_stream {
    float *x;           /* n_tokens x hidden_size (ld floats apart): the residual stream entering
                           the model's first layer; overwritten with the stream leaving its last
                           layer (the next view's input) */
    size_t ld;
    int *topk;          /* LSAQ (opt->lsaq) only, may be NULL: n_tokens x lsaq_k ints, the top-k
                           sets of the logit lens of the rows of x. Read if topk_valid (the sets
                           the previous view returned), else computed; on return the sets of the
                           output rows, and topk_valid is set to 1 */
    int topk_valid;
} uniql_calib_stream;

/* uniql_calibrate with the calibration tokens replaced by their hidden states at the
   model's first layer: sequences of opt->seq_len rows, each from a fresh state, chunks of
   opt->max_batch rows, statistics and importance exactly as uniql_calibrate accumulates
   them (layer indices of m). Calibrating a model with uniql_calibrate, or calibrating its
   layer views one after another with this function (each fed the previous one's x and
   topk), gives the same numbers bit for bit: the same rows reach the same code in the
   same chunks. The logit lens of LSAQ uses m's final_norm and lm_head (a layer view has
   its model's). Errors: as uniql_calibrate (INVALID_ARG for NULL io/x, n_tokens < 1, ld <
   hidden_size), plus NONFINITE for a NaN/Inf in x; on error x may be partly advanced. */
UNIQLDEF uniql_result uniql_calibrate_stream(const uniql_model *m, uniql_calib_stream *io, size_t n_tokens,
                                             const uniql_calib_options *opt, uniql_calib **out, uniql_error *err);

/* Skipping the load-time NaN/Inf scan. uniql_model_load reads every byte of every weight
   to check it is finite; for a memory-mapped checkpoint that pulls the whole file into
   memory at once. With uniql_load_options.no_finite_check the matrices are not scanned
   at load (vectors always are: they are converted anyway), and the caller checks each
   part before using it with this function: every element of every weight matrix of
   layers [0, n_layers) of m (a layer view checks its layers), and of the embedding and
   lm_head if `globals`. Float dtypes are scanned; quantized ones are finite by
   construction (their fp16 scales are checked). UNIQL_ERR_NONFINITE with the tensor
   named in err. */
UNIQLDEF uniql_result uniql_model_check_finite(const uniql_model *m, int globals, uniql_error *err);

/* ---- Streaming .uniql writer ----
   The file of uniql_pack_model without holding it: tensors are serialized one at a time
   into a store the caller keeps (a scratch file), then uniql_pack_assemble writes the
   header and copies the blobs into their final places. All I/O goes through the caller's
   callbacks (the library still touches no file). */

/* Append n bytes at the end of the caller's store / write n bytes at `offset` of the
   output; read n bytes at `offset` of the store. Return UNIQL_OK or an error that is
   passed back (UNIQL_ERR_IO, typically). */
typedef uniql_result (*uniql_append_fn)(void *user, const void *p, size_t n);
typedef uniql_result (*uniql_write_at_fn)(void *user, uint64_t offset, const void *p, size_t n);
typedef uniql_result (*uniql_read_at_fn)(void *user, uint64_t offset, void *p, size_t n);

/* The tensors uniql_pack_model writes for one part of m, with the names it gives them:
   layer < 0: embed, lm_head (absent when tied), final_norm; else layer `layer` of m,
   named "layers.<name_layer>." (a layer view's layer 0 is its model's layer name_layer),
   plus the "@8" copies from upgrade's layer `layer` when upgrade != NULL. names: cap x 64
   chars of caller scratch holding the names (in[i].name points there). *n receives the
   count. Errors: INVALID_ARG (NULL, layer out of range), RANGE (cap too small; 2 x 40
   always suffices), SHAPE (upgrade shapes differ). */
UNIQLDEF uniql_result uniql_pack_part_inputs(const uniql_model *m, int layer, int name_layer, const uniql_model *upgrade,
                                             uniql_pack_input *in, char *names, int cap, int *n);

/* The "meta" JSON object uniql_pack_model stores (API 9), from per-layer kept RoPE pair
   lists (rope_pairs[l]: n_kv_heads x head_dim/2 ints or NULL; rope_pairs itself may be
   NULL) instead of a model. d->upgrade is not read: d->upgrade_layers (may be NULL) gives
   the "upgrades" flags. *meta is a NUL-terminated buffer from UNIQL_MALLOC(alloc_user)
   (uniql_free_buffer), *len its length. Errors: INVALID_ARG (as uniql_pack_model: rates,
   kept sizes), SHAPE, OUT_OF_MEMORY. */
UNIQLDEF uniql_result uniql_pack_meta(const uniql_config *c, const int *const *rope_pairs, const uniql_pack_model_desc *d,
                                      void *alloc_user, char **meta, size_t *len, uniql_error *err);

/* Serialize one tensor the way the container stores it: its logical storage rows packed
   (data of every storage row, then its scales, then its zero points, back to back) and
   appended to the store. *bytes (may be NULL) = data + scale + zero bytes. Errors:
   INVALID_ARG (NULL, a quantized view without scales / zeros), those of
   uniql_pack_tensor_bytes, and the callback's. */
UNIQLDEF uniql_result uniql_pack_blob_write(const uniql_matrix *m, uniql_append_fn append, void *user, uint64_t *bytes);

/* A tensor already serialized into the store by uniql_pack_blob_write at offset `at`. */
typedef struct uniql_pack_entry {
    const char *name;
    uniql_dtype dtype;
    int rows, cols, transposed, group;   /* group: Q4 / Q4Z only (else ignored) */
    uint64_t at;
} uniql_pack_entry;

/* Write a complete .uniql file through write_at: the same bytes uniql_pack_write produces
   for these tensors (name order, 64-byte aligned blobs, checksum), blobs read from the
   store with read_at in pieces of at most 1 MB (scratch: that plus the header). Writes go
   to increasing offsets except the 8-byte checksum at offset 40, written last.
   *file_size (may be NULL) receives the size. Errors: those of uniql_pack_write, and the
   callbacks'. */
UNIQLDEF uniql_result uniql_pack_assemble(const char *config_json, size_t config_len, const char *meta_json, size_t meta_len,
                                          const uniql_pack_entry *entries, int n_entries, uniql_read_at_fn read_at,
                                          void *read_user, uniql_write_at_fn write_at, void *write_user, void *alloc_user,
                                          uint64_t *file_size, uniql_error *err);

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
/* quantized, int8 activations: out[t] += sum over the chunk's blocks [b0, b0+nb), b0 a
   chunk start; data = the row at b0, last = a zero-padded copy of the chunk's last pair
   or NULL; rec / cv = token 0's pair records and unit vectors (uniql__quant_act), lda
   bytes between tokens */
typedef void (*uniql__qdot8_fn)(const uniql__qk *k, int b0, int nb, const unsigned char *data, const unsigned char *last,
                                const unsigned char *rec, const unsigned char *cv, size_t lda, int nt, float *out);

/* optional: two storage rows of one Q4/Q4Z view against one token (the decode GEMV), the
   same arithmetic per row as qdot8; NULL where a kernel set has none */
typedef void (*uniql__q4x2_fn)(const uniql__qk *k0, const uniql__qk *k1, int b0, int nb, const unsigned char *d0,
                               const unsigned char *d1, const unsigned char *l0, const unsigned char *l1,
                               const unsigned char *rec, const unsigned char *cv, size_t pfd, float *out0, float *out1);

/* transposed Q4 / Q4Z with int8 activations (IMPL 4c'): quantization of one input block
   for up to 16 output groups, and the integer sums of one group */
typedef void (*uniql__t8q_fn)(const uniql_matrix *W, const float *x, int c0, int nc, int gs, int ng, int8_t *qa, float *d,
                              int32_t *Z);
typedef void (*uniql__t8_fn)(uniql_dtype dt, const unsigned char *const *rows, int nc, const int8_t *qa, int nblk, int32_t *I);

/* optional: two storage rows of one Q4/Q4Z view against nt (1..4) tokens (the prefill
   tile), the same arithmetic per row and token as qdot8; NULL where a kernel set has none */
typedef void (*uniql__q4r2_fn)(const uniql__qk *k0, const uniql__qk *k1, int b0, int nb, const unsigned char *d0,
                               const unsigned char *d1, const unsigned char *l0, const unsigned char *l1,
                               const unsigned char *rec, const unsigned char *cv, size_t lda, int nt, float *out0,
                               float *out1);

/* the activation blocks of one token (uniql__quant_act's bytes); 0 if x holds a NaN/Inf
   (xa then undefined) */
typedef int (*uniql__qact_fn)(const float *x, int len, int nb, int up, unsigned char *xa);

typedef struct uniql__kernels {
    uniql__qact_fn qact;
    uniql__q4r2_fn q4r2;
    uniql__t8q_fn t8q;
    uniql__t8_fn t8;
    uniql__q4x2_fn q4x2;
    uniql__fdot_fn fdot;
    uniql__faxpy_fn faxpy;
    uniql__qdot_fn qdot;
    uniql__qaxpy_fn qaxpy;
    uniql__qdot8_fn qdot8;
} uniql__kernels;

static int uniql__kernels_for(int isa, uniql__kernels *k); /* IMPL 4 */
static int uniql__isa_resolve(int kernel);                  /* IMPL 4: 0 = unavailable */
static int uniql__quant_act_scalar(const float *x, int len, int nb, int up, unsigned char *xa); /* IMPL 4 */
static int uniql__unit_pairs(const uniql__qk *k, int np);                                 /* IMPL 4 */
static size_t uniql__act_bytes(int nb, int up);                                           /* IMPL 4 */

#define UNIQL__NT 4            /* tokens that share one decoded weight block */
#define UNIQL__I8_CHUNK 64     /* block pairs per column chunk of the I8ACT path (4096 columns) */
#define UNIQL__XA_BYTES 32768  /* stack activations of the I8ACT path: 4 tokens x one chunk (<= 8 KB) */
#define UNIQL__REC 96          /* bytes of one block pair's activation record (IMPL 4b) */
#define UNIQL__T8_ROWS 128     /* storage rows (inputs) per job of the transposed I8ACT path (IMPL 4c') */

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
    return isa >= UNIQL_KERNEL_AUTO && isa <= UNIQL_KERNEL_VNNI;
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

/* I8ACT. A row is processed in column chunks of UNIQL__I8_CHUNK block pairs (4096
   columns); chunk partial sums are added into Y in chunk order. The chunk is fixed (not
   a function of the token count or of the scratch), so a token gets the same bits in a
   GEMV, in a prefill tile and from any thread split. A token's activations are the
   chunks' activation blocks (uniql__quant_act) one after the other. */

/* bytes of one token's activations for a row of nb blocks */
static size_t uniql__act_row_bytes(const uniql__qk *k, int nb)
{
    int c0;
    size_t tot = 0;
    for (c0 = 0; c0 < nb; c0 += 2 * UNIQL__I8_CHUNK) {
        int cn = nb - c0 < 2 * UNIQL__I8_CHUNK ? nb - c0 : 2 * UNIQL__I8_CHUNK;
        tot += uniql__act_bytes(cn, uniql__unit_pairs(k, (cn + 1) / 2));
    }
    return tot;
}

/* Quantize tokens [0, nt) of X (columns [32 c0, 32 (c0 + cn)) of each, clipped to L) into
   activation blocks at xa, lda bytes apart. UNIQL_ERR_NONFINITE on NaN/Inf. */
static uniql_result uniql__i8_quant(const uniql__kernels *K, const uniql__qk *k, const float *X, size_t ldx, int nt, int L,
                                    int c0, int cn, unsigned char *xa, size_t lda)
{
    int t, up = uniql__unit_pairs(k, (cn + 1) / 2);
    for (t = 0; t < nt; t++) {
        const float *x = X + (size_t)t * ldx + (size_t)c0 * 32;
        int len = L - c0 * 32 < cn * 32 ? L - c0 * 32 : cn * 32;
        if (!K->qact(x, len, cn, up, xa + (size_t)t * lda)) return UNIQL_ERR_NONFINITE;
    }
    return UNIQL_OK;
}

/* the last pair of the chunk [c0, c0 + cn) of `row` as a zero-padded copy in tmp (64
   bytes) when it is not whole in memory (odd block count or a partial last block);
   returns tmp, or NULL when the row's own bytes can be read */
static const unsigned char *uniql__i8_last(const uniql_matrix *W, const unsigned char *row, int c0, int cn, unsigned char *tmp)
{
    int L = W->cols, nbf = L / 32, tl = L % 32, nb = nbf + (tl != 0), fp = c0 + ((cn + 1) / 2 - 1) * 2, blk;
    size_t bb = uniql__block_bytes(W->dtype);
    if (c0 + cn != nb || (!tl && !(cn & 1))) return NULL;
    memset(tmp, 0, 64);
    for (blk = fp; blk < fp + 2 && blk < nb; blk++) {
        if (blk < nbf) memcpy(tmp + (size_t)(blk - fp) * bb, row + (size_t)blk * bb, bb);
        else uniql__tail_block(W->dtype, row + (size_t)nbf * bb, tl, tmp + (size_t)(blk - fp) * bb);
    }
    return tmp;
}

/* Rows [r0, r1), tokens [t0, t0 + nt) (nt <= 4), column chunk starting at block c0 with
   cn blocks; xa = token t0's activation block for that chunk (lda bytes between tokens). */
static void uniql__i8_rows(const uniql_matrix *W, const uniql__kernels *K, const unsigned char *xa, size_t lda, int t0,
                           int nt, int c0, int cn, float *Y, size_t ldy, int r0, int r1)
{
    int r, t, np = (cn + 1) / 2;
    size_t bb = uniql__block_bytes(W->dtype);
    unsigned char tmp0[64], tmp1[64];
    for (r = r0; r < r1; r++) {
        size_t p = uniql__phys(W, r);
        const unsigned char *row = (const unsigned char *)W->data + p * W->stride, *l0;
        float out[UNIQL__NT] = { 0, 0, 0, 0 };
        uniql__qk k;
        const unsigned char *cv;
        uniql__qk_row(W, p, &k);
        cv = xa + (size_t)np * UNIQL__REC;
        l0 = uniql__i8_last(W, row, c0, cn, tmp0);
        if (nt == 1 && K->q4x2 && uniql__is_q4(W->dtype) && r + 1 < r1) {
            /* two rows share every activation load (same arithmetic per row as qdot8) */
            size_t p1 = uniql__phys(W, r + 1);
            const unsigned char *row1 = (const unsigned char *)W->data + p1 * W->stride;
            float out1 = 0;
            uniql__qk k1;
            uniql__qk_row(W, p1, &k1);
            K->q4x2(&k, &k1, c0, cn, row + (size_t)c0 * bb, row1 + (size_t)c0 * bb, l0,
                    uniql__i8_last(W, row1, c0, cn, tmp1), xa, cv, 2 * W->stride, out, &out1);
            Y[(size_t)t0 * ldy + r] = c0 == 0 ? out[0] : Y[(size_t)t0 * ldy + r] + out[0];
            r++;
            Y[(size_t)t0 * ldy + r] = c0 == 0 ? out1 : Y[(size_t)t0 * ldy + r] + out1;
            continue;
        }
        if (nt > 1 && K->q4r2 && uniql__is_q4(W->dtype) && r + 1 < r1) {
            /* the prefill tile: two rows x nt tokens share every decoded pair and activation load */
            size_t p1 = uniql__phys(W, r + 1);
            const unsigned char *row1 = (const unsigned char *)W->data + p1 * W->stride;
            float out1[UNIQL__NT] = { 0, 0, 0, 0 };
            uniql__qk k1;
            uniql__qk_row(W, p1, &k1);
            K->q4r2(&k, &k1, c0, cn, row + (size_t)c0 * bb, row1 + (size_t)c0 * bb, l0, uniql__i8_last(W, row1, c0, cn, tmp1),
                    xa, cv, lda, nt, out, out1);
            for (t = 0; t < nt; t++) {
                float *y = Y + (size_t)(t0 + t) * ldy + r;
                y[0] = c0 == 0 ? out[t] : y[0] + out[t];
                y[1] = c0 == 0 ? out1[t] : y[1] + out1[t];
            }
            r++;
            continue;
        }
        K->qdot8(&k, c0, cn, row + (size_t)c0 * bb, l0, xa, cv, lda, nt, out);
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

/* ---- I8ACT for transposed Q4 / Q4Z views (the arithmetic: IMPL 4c') ---- */
#define UNIQL__T8_GROUPS 16    /* output groups per pass of the serial path (stack) */

/* part[r - g0 * G] += the contributions of inputs [c0, c1) to outputs of groups [g0, g1) */
static void uniql__t8_range(const uniql_matrix *W, const uniql__kernels *K, const float *x, int c0, int c1, int g0, int g1,
                            float *part)
{
    int G = W->group, gb = G / 32, nbR = (W->rows + 31) / 32, cb, i, g, j;
    const unsigned char *rows[32], *gr[32];
    int8_t qa[32 * 16];
    float d[UNIQL__T8_GROUPS];
    int32_t Z[UNIQL__T8_GROUPS], I[32 * 4 * 32];
    int gs;
    for (gs = g0; gs < g1; gs += UNIQL__T8_GROUPS) {
        int ge = gs + UNIQL__T8_GROUPS < g1 ? gs + UNIQL__T8_GROUPS : g1;
        for (cb = c0; cb < c1; cb += 32) {
            int nc = c1 - cb < 32 ? c1 - cb : 32;
            for (i = 0; i < nc; i++) rows[i] = (const unsigned char *)W->data + uniql__phys(W, cb + i) * W->stride;
            K->t8q(W, x, cb, nc, gs, ge - gs, qa, d, Z);
            for (g = gs; g < ge; g++) {
                int b0 = g * gb, done = 0;
                /* the group's blocks, at most 128 (4096 outputs) per kernel call */
                while (done < gb && b0 + done < nbR) {
                    int nblk = gb - done < 128 ? gb - done : 128, r0 = (b0 + done) * 32;
                    if (nblk > nbR - b0 - done) nblk = nbR - b0 - done;
                    for (i = 0; i < nc; i++) gr[i] = rows[i] + (size_t)(b0 + done) * 16;
                    K->t8(W->dtype, gr, nc, qa + (g - gs), nblk, I);
                    for (j = 0; j < 32 * nblk && r0 + j < W->rows; j++) {
                        float *pr = part + (r0 + j - g0 * G);
                        *pr = fmaf(d[g - gs], (float)(I[j] - Z[g - gs]), *pr);
                    }
                    done += nblk;
                }
            }
        }
    }
}

typedef struct uniql__t8_job {
    const uniql_matrix *W;
    const uniql__kernels *K;
    const float *X;
    size_t ldx;
    float *Y;
    size_t ldy;
    float *part;             /* [job][token of the tile][R] */
    int t0, nt, njobs, ng;
} uniql__t8_job;

static void uniql__t8_part_job(void *ctx, int job, int worker)
{
    const uniql__t8_job *J = (const uniql__t8_job *)ctx;
    int c0 = job * UNIQL__T8_ROWS, c1 = c0 + UNIQL__T8_ROWS < J->W->cols ? c0 + UNIQL__T8_ROWS : J->W->cols, t;
    size_t R = (size_t)J->W->rows;
    (void)worker;
    for (t = 0; t < J->nt; t++) {
        float *part = J->part + ((size_t)job * (size_t)J->nt + (size_t)t) * R;
        memset(part, 0, sizeof(float) * R);
        uniql__t8_range(J->W, J->K, J->X + (size_t)(J->t0 + t) * J->ldx, c0, c1, 0, J->ng, part);
    }
}

/* y = part_0 + part_1 + ... in job order, 512 outputs per reduction job */
static void uniql__t8_reduce_job(void *ctx, int job, int worker)
{
    const uniql__t8_job *J = (const uniql__t8_job *)ctx;
    int r0 = job * 512, r1 = r0 + 512 < J->W->rows ? r0 + 512 : J->W->rows, t, k, r;
    size_t R = (size_t)J->W->rows;
    (void)worker;
    for (t = 0; t < J->nt; t++) {
        float *y = J->Y + (size_t)(J->t0 + t) * J->ldy;
        for (r = r0; r < r1; r++) y[r] = J->part[(size_t)t * R + (size_t)r];
        for (k = 1; k < J->njobs; k++) {
            const float *p = J->part + ((size_t)k * (size_t)J->nt + (size_t)t) * R;
            for (r = r0; r < r1; r++) y[r] += p[r];
        }
    }
}

static uniql_result uniql__t8_matmul(const uniql_matrix *W, const uniql__kernels *K, const float *X, int n, size_t ldx,
                                     float *Y, size_t ldy, const uniql_parallel *par, void *work, size_t work_size)
{
    int njobs = (W->cols + UNIQL__T8_ROWS - 1) / UNIQL__T8_ROWS, ng = (W->rows + W->group - 1) / W->group, t, c;
    size_t per_token = (size_t)njobs * (size_t)W->rows * sizeof(float);
    uniql__t8_job J;
    for (t = 0; t < n; t++)
        for (c = 0; c < W->cols; c++)
            if (!(fabsf(X[(size_t)t * ldx + (size_t)c]) <= 3.4028235e38f)) return UNIQL_ERR_NONFINITE;
    memset(&J, 0, sizeof J);
    J.W = W; J.K = K; J.X = X; J.ldx = ldx; J.Y = Y; J.ldy = ldy; J.njobs = njobs; J.ng = ng;
    if (work && work_size >= per_token && !((uintptr_t)work & 31u)) {
        int tile = (int)(work_size / per_token);
        if (tile > n) tile = n;
        J.part = (float *)work;
        for (t = 0; t < n; t += tile) {
            J.t0 = t;
            J.nt = n - t < tile ? n - t : tile;
            uniql_parallel_for(par, njobs, uniql__t8_part_job, &J);
            uniql_parallel_for(par, (W->rows + 511) / 512, uniql__t8_reduce_job, &J);
        }
        return UNIQL_OK;
    }
    /* bounded stack, one thread: the same parts, one output range at a time */
    {
        float part[UNIQL__T8_GROUPS * 128];
        int G = W->group, gpp = (int)(sizeof part / sizeof *part) / G, g0, k, r;
        if (gpp < 1) gpp = 1;   /* G > 2048: one group per pass, part holds G floats only when G <= 2048 */
        for (t = 0; t < n; t++) {
            float *y = Y + (size_t)t * ldy;
            for (g0 = 0; g0 < ng; g0 += gpp) {
                int g1 = g0 + gpp < ng ? g0 + gpp : ng, r0 = g0 * G, r1 = g1 * G < W->rows ? g1 * G : W->rows;
                for (k = 0; k < njobs; k++) {
                    int c0 = k * UNIQL__T8_ROWS, c1 = c0 + UNIQL__T8_ROWS < W->cols ? c0 + UNIQL__T8_ROWS : W->cols;
                    memset(part, 0, sizeof part);
                    uniql__t8_range(W, K, X + (size_t)t * ldx, c0, c1, g0, g1, part);
                    for (r = r0; r < r1; r++) y[r] = k == 0 ? part[r - r0] : y[r] + part[r - r0];
                }
            }
        }
    }
    return UNIQL_OK;
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
    uniql__qk k0;            /* dtype / group of the rows (the unit size of the activations) */
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
        size_t off = 0;
        for (c0 = 0; c0 < nb; c0 += 2 * UNIQL__I8_CHUNK) {
            int cn = nb - c0 < 2 * UNIQL__I8_CHUNK ? nb - c0 : 2 * UNIQL__I8_CHUNK;
            uniql__i8_rows(j->W, j->K, j->xa + (size_t)t0 * j->lda + off, j->lda, t0, nt, c0, cn, j->Y, j->ldy, r0, r1);
            off += uniql__act_bytes(cn, uniql__unit_pairs(&j->k0, (cn + 1) / 2));
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
    if (W->transposed && (kernel & UNIQL_KERNEL_I8ACT) && uniql__is_q4(W->dtype) && W->group <= 2048)
        return uniql__t8_matmul(W, &K, X, n, ldx, Y, ldy, par, work, work_size);
    if (W->transposed) {
        /* output ranges of 128 elements (whole 32-blocks) */
        j.per_job = 128;
        uniql_parallel_for(par, (W->rows + 127) / 128, uniql__mm_cols_job, &j);
        return UNIQL_OK;
    }
    j.per_job = uniql__rows_per_job(W);
    if ((kernel & UNIQL_KERNEL_I8ACT) && uniql__is_quant(W->dtype)) {
        int nb = (W->cols + 31) / 32, njobs = (W->rows + j.per_job - 1) / j.per_job, t0, c0;
        size_t need;
        uniql__qk_row(W, 0, &j.k0);
        j.lda = uniql__act_row_bytes(&j.k0, nb);
        need = (size_t)n * j.lda;
        if (work && work_size >= need && !((uintptr_t)work & 31u)) {
            /* every token quantized once, then one batch of row jobs */
            size_t off = 0;
            j.xa = (const unsigned char *)work;
            j.all_tokens = 1;
            for (c0 = 0; c0 < nb; c0 += 2 * UNIQL__I8_CHUNK) {
                int cn = nb - c0 < 2 * UNIQL__I8_CHUNK ? nb - c0 : 2 * UNIQL__I8_CHUNK;
                if ((res = uniql__i8_quant(&K, &j.k0, X, ldx, n, W->cols, c0, cn, (unsigned char *)work + off, j.lda)) != UNIQL_OK)
                    return res;
                off += uniql__act_bytes(cn, uniql__unit_pairs(&j.k0, (cn + 1) / 2));
            }
            uniql_parallel_for(par, njobs, uniql__mm_i8_job, &j);
            return UNIQL_OK;
        }
        {
            /* bounded stack: one tile of 4 tokens x one column chunk at a time (32-byte aligned) */
            unsigned char xa_raw[UNIQL__XA_BYTES + 32], *xa = xa_raw + ((32u - ((uintptr_t)xa_raw & 31u)) & 31u);
            j.xa = xa;
            j.lda = uniql__act_bytes(2 * UNIQL__I8_CHUNK, uniql__unit_pairs(&j.k0, UNIQL__I8_CHUNK));
            for (t0 = 0; t0 < n; t0 += UNIQL__NT) {
                int nt = n - t0 < UNIQL__NT ? n - t0 : UNIQL__NT;
                for (c0 = 0; c0 < nb; c0 += 2 * UNIQL__I8_CHUNK) {
                    int cn = nb - c0 < 2 * UNIQL__I8_CHUNK ? nb - c0 : 2 * UNIQL__I8_CHUNK;
                    if ((res = uniql__i8_quant(&K, &j.k0, X + (size_t)t0 * ldx, ldx, nt, W->cols, c0, cn, xa, j.lda)) != UNIQL_OK)
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
    uniql__qk k;
    if (!W || n < 1 || !(kernel & UNIQL_KERNEL_I8ACT) || !uniql__is_quant(W->dtype)) return 0;
    if (uniql__check_view(W) != UNIQL_OK || W->rows < 1) return 0;
    if (W->transposed) {
        /* per-job partial outputs of a tile of up to 4 tokens */
        if (!uniql__is_q4(W->dtype) || W->group > 2048) return 0;
        return (size_t)((W->cols + UNIQL__T8_ROWS - 1) / UNIQL__T8_ROWS) * (size_t)(n < 4 ? n : 4) * (size_t)W->rows * sizeof(float);
    }
    uniql__qk_row(W, 0, &k);
    return (size_t)n * uniql__act_row_bytes(&k, (W->cols + 31) / 32);
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
   scalar and SIMD see the same integers and floats). Block b of x (len valid elements,
   zero padded to nb blocks, and to an even count): d = max|x| / 127,
   q = round-half-away(x * (127 / max|x|)), |q| <= 127.

   Layout of one token's activations for nb blocks (np = ceil(nb / 2) block pairs):
     np pair records of UNIQL__REC bytes, pair p = blocks 2p, 2p+1 (h = 0, 1):
       [ 0, 32)  XL: int8 q of elements 0..15 of block 2p, then of block 2p+1
       [32, 64)  XH: elements 16..31 of each block
       [64, 96)  dv: 8 floats, lanes 4h..4h+3 = d of block 2p+h
     then nu = ceil(np / up) unit vectors of 32 bytes (8 floats), unit = up consecutive
     pairs (up = pairs per weight group, uniql__unit_pairs): CV[L] = sum over the unit's
     pairs, in order from 0, of fmaf(dv[L], S[L], .), S[L] = the sum of the 8 q of lane L
     (lane L = 4h + l covers elements 4l..4l+3 and 16+4l..16+4l+3 of block h). CV carries
     the zero-point term of a whole group: sum (u - z) x = sum u x - z sum x. ---- */
/* pairs per unit: the pairs of one weight group when groups hold whole pairs and tile
   the column chunk (Q4 / Q4Z groups of 64, 128, ... 4096), else one pair (groups of 32,
   or sizes that do not divide the chunk); Q8 (one scale per row): every pair of the
   chunk */
static int uniql__unit_pairs(const uniql__qk *k, int np)
{
    if (k->dtype == UNIQL_DTYPE_Q8) return np > 0 ? np : 1;
    return k->gb % 2 == 0 && (2 * UNIQL__I8_CHUNK) % k->gb == 0 ? k->gb / 2 : 1;
}

/* bytes of one token's activations for nb blocks with `up` pairs per unit */
static size_t uniql__act_bytes(int nb, int up)
{
    int np = (nb + 1) / 2;
    return (size_t)np * UNIQL__REC + (size_t)((np + up - 1) / up) * 32;
}

static int uniql__quant_act_scalar(const float *x, int len, int nb, int up, unsigned char *xa)
{
    int b, j, np = (nb + 1) / 2, p;
    float *cv = (float *)(void *)(xa + (size_t)np * UNIQL__REC);
    for (b = 0; b < len; b++)
        if (!(fabsf(x[b]) <= 3.4028235e38f)) return 0;
    for (b = 0; b < 2 * np; b++) {
        int n = len - b * 32 < 32 ? len - b * 32 : 32, h = b & 1, q[32];
        unsigned char *rec = xa + (size_t)(b >> 1) * UNIQL__REC;
        float amax = 0, id, d, f;
        n = n < 0 || b >= nb ? 0 : n;
        for (j = 0; j < n; j++) {
            float a = fabsf(x[b * 32 + j]);
            if (a > amax) amax = a;
        }
        /* amax < 2^-60: 127 / amax would overflow (and x * inf = NaN for x = 0), so x
           and amax are first multiplied by 2^64 (exact); d stays amax / 127 (it may be
           subnormal: the products it makes are then below FLT_MIN anyway) */
        f = amax < 0x1p-60f ? 0x1p64f : 1.0f;
        d = amax / 127.0f;
        id = amax > 0 ? 127.0f / (amax * f) : 0.0f;
        for (j = 0; j < 32; j++) {
            q[j] = 0;
            if (j < n) {
                float v = (x[b * 32 + j] * f) * id;
                q[j] = (int)(v >= 0 ? v + 0.5f : v - 0.5f);
                q[j] = q[j] > 127 ? 127 : q[j] < -127 ? -127 : q[j];
            }
        }
        for (j = 0; j < 16; j++) {
            rec[16 * h + j] = (unsigned char)(int8_t)q[j];         /* XL */
            rec[32 + 16 * h + j] = (unsigned char)(int8_t)q[16 + j];  /* XH */
        }
        for (j = 0; j < 4; j++) memcpy(rec + 64 + 4 * (4 * h + j), &d, 4);
    }
    /* unit vectors */
    for (p = 0; p < np; p++) {
        const unsigned char *rec = xa + (size_t)p * UNIQL__REC;
        float *c = cv + (size_t)(p / up) * 8;
        int L;
        if (p % up == 0) for (L = 0; L < 8; L++) c[L] = 0.0f;
        for (L = 0; L < 8; L++) {
            int h = L >> 2, l = L & 3, e, s = 0;
            float dl;
            for (e = 4 * l; e < 4 * l + 4; e++) s += (int8_t)rec[16 * h + e] + (int8_t)rec[32 + 16 * h + e];
            memcpy(&dl, rec + 64 + 4 * L, 4);
            c[L] = fmaf(dl, (float)s, c[L]);
        }
    }
    return 1;
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

/* The I8ACT reference, in the lane structure of the SIMD twins. Pair p of a row holds
   blocks 2p (h = 0) and 2p+1 (h = 1); int32 lane L = 4h + l sums the exact products of
   the weight integers with the activation q over elements 4l..4l+3 and 16+4l..16+4l+3
   of block h (the weight integers: Q4 u = q + 8 in [0, 15], Q4Z u in [0, 15], Q8 q).
   Float steps, per lane (fmaf: one rounding each, as the SIMD FMAs):
     per pair      acc = fmaf(dv, (float)lane, acc)          acc = 0 at a unit start
     per unit      tmp = fmaf(-z, CV, acc)                   z: 8 (Q4), the zero point
                   total = fmaf(s, tmp, total)                (Q4Z), 0 (Q8); s the scale
   and at the end out += ((t0+t4)+(t2+t6)) + ((t1+t5)+(t3+t7)). A unit is a weight group
   (group >= 64: whole pairs), else one pair whose lanes take the scale of their own block.
   So sum_c (u_c - z) x_c needs no integer correction in the inner loop: the group's
   z sum x is one vector per unit, computed with the activations (uniql__quant_act). */
static float uniql__hsum8(const float *a) { return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7])); }

/* the 2 x 32 weight integers of a pair (pd: 32 bytes Q4/Q4Z, 64 bytes Q8) */
static void uniql__pair_ints(uniql_dtype dt, const unsigned char *pd, int w[2][32])
{
    int h, j;
    for (h = 0; h < 2; h++) {
        if (dt == UNIQL_DTYPE_Q8) {
            for (j = 0; j < 32; j++) w[h][j] = (int8_t)pd[32 * h + j];
            continue;
        }
        for (j = 0; j < 16; j++) {
            int lo = pd[16 * h + j] & 15, hi = pd[16 * h + j] >> 4;
            w[h][j] = dt == UNIQL_DTYPE_Q4 ? lo ^ 8 : lo;
            w[h][j + 16] = dt == UNIQL_DTYPE_Q4 ? hi ^ 8 : hi;
        }
    }
}

/* scale and zero point (as floats) of the lanes of unit u0 (first pair of the unit) */
static void uniql__unit_scales(const uniql__qk *k, int b0, int nb, int u0, float *sv, float *zv)
{
    int L;
    for (L = 0; L < 8; L++) {
        int blk = 2 * u0 + (L >> 2), g;
        if (blk >= nb) blk = 2 * u0;   /* the missing half of an odd last pair: zero lanes */
        g = k->dtype == UNIQL_DTYPE_Q8 ? 0 : (b0 + blk) / k->gb;
        sv[L] = uniql_fp16_to_fp32(k->sc[g]);
        zv[L] = k->dtype == UNIQL_DTYPE_Q4 ? 8.0f : k->dtype == UNIQL_DTYPE_Q4Z ? (float)k->zp[g] : 0.0f;
    }
}

/* out[t] += row . x_t for tokens t < nt over blocks [b0, b0 + nb) (b0 even: a chunk
   start), data = the row at block b0; the last pair's bytes come from `last` when it is
   not NULL (a zero-padded copy); rec / cv: token 0's pair records and unit vectors,
   lda bytes between tokens */
static void uniql__qdot8_scalar(const uniql__qk *k, int b0, int nb, const unsigned char *data, const unsigned char *last,
                                const unsigned char *rec, const unsigned char *cv, size_t lda, int nt, float *out)
{
    int np = (nb + 1) / 2, up = uniql__unit_pairs(k, np), u0, p, t, L, w[2][32];
    size_t pb = k->dtype == UNIQL_DTYPE_Q8 ? 64 : 32;
    float total[UNIQL__NT][8];
    memset(total, 0, sizeof total);
    for (u0 = 0; u0 < np; u0 += up) {
        int u1 = u0 + up < np ? u0 + up : np;
        float acc[UNIQL__NT][8], sv[8], zv[8];
        memset(acc, 0, sizeof acc);
        for (p = u0; p < u1; p++) {
            uniql__pair_ints(k->dtype, p == np - 1 && last ? last : data + (size_t)p * pb, w);
            for (t = 0; t < nt; t++) {
                const unsigned char *r = rec + (size_t)t * lda + (size_t)p * UNIQL__REC;
                for (L = 0; L < 8; L++) {
                    int h = L >> 2, l = L & 3, e;
                    int32_t is = 0;
                    float dl;
                    for (e = 4 * l; e < 4 * l + 4; e++)
                        is += w[h][e] * (int8_t)r[16 * h + e] + w[h][16 + e] * (int8_t)r[32 + 16 * h + e];
                    memcpy(&dl, r + 64 + 4 * L, 4);
                    acc[t][L] = fmaf(dl, (float)is, acc[t][L]);
                }
            }
        }
        uniql__unit_scales(k, b0, nb, u0, sv, zv);
        for (t = 0; t < nt; t++) {
            const float *c = (const float *)(const void *)(cv + (size_t)t * lda) + (size_t)(u0 / up) * 8;
            for (L = 0; L < 8; L++) total[t][L] = fmaf(sv[L], fmaf(-zv[L], c[L], acc[t][L]), total[t][L]);
        }
    }
    for (t = 0; t < nt; t++) out[t] += uniql__hsum8(total[t]);
}

/* ---- 4c'. I8ACT for transposed views (storage rows = inputs c, groups along the
   outputs r), the layout that keeps input pruning a storage-row prefix. The scale of
   weight (r, c) is s(c, g(r)), so the activation cannot be quantized once for all
   outputs; instead, for every block of 32 inputs cb and every output group g:
       a_c = x_c * s(c, g)                       (fp32 multiply)
       d = max_c |a_c| / 127,  qa_c = round-half-away(a_c * (127 / max|a_c|))
       Z = sum_c qa_c * z(c, g)                  (z: 8 for Q4, the zero point for Q4Z)
       I_r = sum_c qa_c * u(c, r)                (exact int32, u in [0, 15])
       part_r = fmaf(d, (float)(I_r - Z), part_r)          for r in g
   the blocks cb in order. The inputs are cut into jobs of UNIQL__T8_ROWS storage rows;
   each job's part starts at 0 and the parts are added into y in job order, so the
   result is the same for any thread count (and without threads). Error: each a_c moves
   by at most d / 2, so |dy_r| <= sum_cb (max_c |x_c s(c, g)| / 254) * sum_c |u - z|. ---- */
/* The int8 activations of input block [c0, c0 + nc) (nc <= 32) for output groups
   [gs, gs + ng) (ng <= 16): qa[i * 16 + (g - gs)], d[g - gs], Z[g - gs] (inputs i >= nc
   are 0). rows / prow: the storage rows' data and scale/zero index (uniql__phys). */
static void uniql__t8_quant_scalar(const uniql_matrix *W, const float *x, int c0, int nc, int gs, int ng, int8_t *qa,
                                   float *d, int32_t *Z)
{
    float a[32][16], amax[16], id[16], f[16];
    int g, i;
    for (g = 0; g < ng; g++) { amax[g] = 0.0f; Z[g] = 0; }
    for (i = 0; i < 32; i++) {
        size_t p = i < nc ? uniql__phys(W, c0 + i) : 0;
        for (g = 0; g < ng; g++) {
            a[i][g] = i < nc ? x[c0 + i] * uniql_fp16_to_fp32(W->scales[p * W->scale_stride + (size_t)(gs + g)]) : 0.0f;
            if (fabsf(a[i][g]) > amax[g]) amax[g] = fabsf(a[i][g]);
        }
    }
    /* amax < 2^-60: scale a and amax by 2^64 first (exact), as uniql__quant_act; amax = inf
       (x s overflowed): id = 0 and the infinite a_c give +-127, so y = d (I - Z) = +-inf */
    for (g = 0; g < ng; g++) {
        f[g] = amax[g] < 0x1p-60f ? 0x1p64f : 1.0f;
        d[g] = amax[g] / 127.0f;
        id[g] = amax[g] > 0 ? 127.0f / (amax[g] * f[g]) : 0.0f;
    }
    for (i = 0; i < 32; i++) {
        size_t p = i < nc ? uniql__phys(W, c0 + i) : 0;
        for (g = 0; g < ng; g++) {
            float v = isinf(a[i][g]) ? copysignf(127.0f, a[i][g]) : (a[i][g] * f[g]) * id[g];
            int q = (int)(v >= 0 ? v + 0.5f : v - 0.5f);
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            qa[i * 16 + g] = (int8_t)q;
            if (i < nc) Z[g] += q * (W->dtype == UNIQL_DTYPE_Q4 ? 8 : (int)W->zeros[p * W->scale_stride + (size_t)(gs + g)]);
        }
    }
}

/* I[j] = sum_{i < nc} qa[16 i] * u(row i, element j) for the nblk 32-blocks starting at
   each row pointer (j < 32 nblk; Q4: u = nibble ^ 8, Q4Z: u = nibble) */
static void uniql__t8_dot_scalar(uniql_dtype dt, const unsigned char *const *rows, int nc, const int8_t *qa, int nblk,
                                 int32_t *I)
{
    int i, b, j, fl = dt == UNIQL_DTYPE_Q4 ? 8 : 0;
    for (j = 0; j < 32 * nblk; j++) I[j] = 0;
    for (i = 0; i < nc; i++) {
        int q = qa[16 * i];
        for (b = 0; b < nblk; b++) {
            const unsigned char *blk = rows[i] + (size_t)b * 16;
            int32_t *o = I + 32 * b;
            for (j = 0; j < 16; j++) {
                o[j] += q * ((blk[j] & 15) ^ fl);
                o[j + 16] += q * ((blk[j] >> 4) ^ fl);
            }
        }
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

/* ---- I8ACT twins (the arithmetic of uniql__qdot8_scalar, lane for lane) ----
   Per Q4 pair: the 32 weight bytes are contiguous, so the low nibbles are already in XL
   order and the high nibbles in XH order; (u ^ 8) for Q4 via one xor of 0x88. */
#ifndef UNIQL__PF_HINT
#define UNIQL__PF_HINT _MM_HINT_T0
#endif

/* lanes of one pair for token record R: cvt(madd(maddubs(lo, XL) + maddubs(hi, XH))) */
#define UNIQL__PAIR_LANES(R) _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_add_epi16( \
        _mm256_maddubs_epi16(lo, _mm256_load_si256((const __m256i *)(const void *)(R))), \
        _mm256_maddubs_epi16(hi, _mm256_load_si256((const __m256i *)(const void *)((R) + 32)))), ones))
#define UNIQL__ACC(R, A) A = _mm256_fmadd_ps(_mm256_load_ps((const float *)(const void *)((R) + 64)), UNIQL__PAIR_LANES(R), A)
#define UNIQL__NIBBLES(PD) do { \
        __m256i v_ = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)(PD)), flip); \
        lo = _mm256_and_si256(v_, m4); \
        hi = _mm256_and_si256(_mm256_srli_epi16(v_, 4), m4); \
    } while (0)
/* end of a unit for one token: T = fma(s, fnmadd(z, CV, A), T) */
#define UNIQL__UNIT(CVP, A, T) T = _mm256_fmadd_ps(sv, _mm256_fnmadd_ps(zv, _mm256_load_ps((const float *)(const void *)(CVP)), A), T)

static UNIQL__AVX2_INLINE void uniql__avx2_unit_scales(const uniql__qk *k, int b0, int nb, int u0, __m256 *sv, __m256 *zv)
{
    if (k->dtype != UNIQL_DTYPE_Q8 && k->gb % 2 == 0) {
        int g = (b0 + 2 * u0) / k->gb;
        *sv = _mm256_set1_ps(_cvtsh_ss(k->sc[g]));
        *zv = _mm256_set1_ps(k->dtype == UNIQL_DTYPE_Q4 ? 8.0f : (float)k->zp[g]);
    } else {
        float s[8], z[8];
        uniql__unit_scales(k, b0, nb, u0, s, z);
        *sv = _mm256_loadu_ps(s);
        *zv = _mm256_loadu_ps(z);
    }
}

/* Q4 / Q4Z, one row; four = 0: one token, 1: four tokens sharing every decoded pair */
UNIQL__AVX2 static void uniql__qdot8_q4_avx2(const uniql__qk *k, int b0, int nb, const unsigned char *data,
                                             const unsigned char *last, const unsigned char *rec, const unsigned char *cv,
                                             size_t lda, int four, float *out)
{
    const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    const __m256i flip = _mm256_set1_epi8(k->dtype == UNIQL_DTYPE_Q4 ? (char)0x88 : 0);
    int np = (nb + 1) / 2, up = uniql__unit_pairs(k, np), u0, p;
    __m256 t0 = _mm256_setzero_ps(), t1 = t0, t2 = t0, t3 = t0, sv, zv;
    __m256i lo, hi;
    for (u0 = 0; u0 < np; u0 += up) {
        int u1 = u0 + up < np ? u0 + up : np;
        const unsigned char *cvu = cv + (size_t)(u0 / up) * 32;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (p = u0; p < u1; p++) {
            const unsigned char *r = rec + (size_t)p * UNIQL__REC;
            UNIQL__NIBBLES(p == np - 1 && last ? last : data + (size_t)p * 32);
            UNIQL__ACC(r, a0);
            if (four) {
                UNIQL__ACC(r + lda, a1);
                UNIQL__ACC(r + 2 * lda, a2);
                UNIQL__ACC(r + 3 * lda, a3);
            }
        }
        uniql__avx2_unit_scales(k, b0, nb, u0, &sv, &zv);
        UNIQL__UNIT(cvu, a0, t0);
        if (four) {
            UNIQL__UNIT(cvu + lda, a1, t1);
            UNIQL__UNIT(cvu + 2 * lda, a2, t2);
            UNIQL__UNIT(cvu + 3 * lda, a3, t3);
        }
    }
    out[0] += uniql__avx2_hsum(t0);
    if (four) {
        out[1] += uniql__avx2_hsum(t1);
        out[2] += uniql__avx2_hsum(t2);
        out[3] += uniql__avx2_hsum(t3);
    }
}

/* Q4 / Q4Z, two rows of one view, one token (the decode GEMV): each activation load
   serves both rows. pfd: prefetch distance in bytes along the rows. */
UNIQL__AVX2 static void uniql__q4x2_avx2(const uniql__qk *k0, const uniql__qk *k1, int b0, int nb, const unsigned char *d0,
                                         const unsigned char *d1, const unsigned char *l0, const unsigned char *l1,
                                         const unsigned char *rec, const unsigned char *cv, size_t pfd, float *out0,
                                         float *out1)
{
    const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    const __m256i flip = _mm256_set1_epi8(k0->dtype == UNIQL_DTYPE_Q4 ? (char)0x88 : 0);
    int np = (nb + 1) / 2, up = uniql__unit_pairs(k0, np), u0, p;
    __m256 t0 = _mm256_setzero_ps(), t1 = t0, sv, zv;
    for (u0 = 0; u0 < np; u0 += up) {
        int u1 = u0 + up < np ? u0 + up : np;
        const unsigned char *cvu = cv + (size_t)(u0 / up) * 32;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        for (p = u0; p < u1; p++) {
            const unsigned char *r = rec + (size_t)p * UNIQL__REC;
            const unsigned char *p0 = p == np - 1 && l0 ? l0 : d0 + (size_t)p * 32;
            const unsigned char *p1 = p == np - 1 && l1 ? l1 : d1 + (size_t)p * 32;
            __m256i xl = _mm256_load_si256((const __m256i *)(const void *)r);
            __m256i xh = _mm256_load_si256((const __m256i *)(const void *)(r + 32)), v, lo, hi;
            __m256 dv = _mm256_load_ps((const float *)(const void *)(r + 64));
            _mm_prefetch((const char *)(d0 + (size_t)p * 32 + pfd), UNIQL__PF_HINT);
            _mm_prefetch((const char *)(d1 + (size_t)p * 32 + pfd), UNIQL__PF_HINT);
            v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)p0), flip);
            lo = _mm256_and_si256(v, m4);
            hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            a0 = _mm256_fmadd_ps(dv, _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(lo, xl), _mm256_maddubs_epi16(hi, xh)), ones)), a0);
            v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)p1), flip);
            lo = _mm256_and_si256(v, m4);
            hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            a1 = _mm256_fmadd_ps(dv, _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(lo, xl), _mm256_maddubs_epi16(hi, xh)), ones)), a1);
        }
        uniql__avx2_unit_scales(k0, b0, nb, u0, &sv, &zv);
        UNIQL__UNIT(cvu, a0, t0);
        uniql__avx2_unit_scales(k1, b0, nb, u0, &sv, &zv);
        UNIQL__UNIT(cvu, a1, t1);
    }
    *out0 += uniql__avx2_hsum(t0);
    *out1 += uniql__avx2_hsum(t1);
}

/* Q8 (one scale per row, signed weights: |w| * (x * sign w) for maddubs), any nt;
   then the Q4 kernel for Q4 / Q4Z */
UNIQL__AVX2 static void uniql__qdot8_avx2(const uniql__qk *k, int b0, int nb, const unsigned char *data, const unsigned char *last,
                                          const unsigned char *rec, const unsigned char *cv, size_t lda, int nt, float *out)
{
    const __m256i ones = _mm256_set1_epi16(1);
    int np = (nb + 1) / 2, p, t;
    __m256 acc[UNIQL__NT], sv, zv;
    if (k->dtype != UNIQL_DTYPE_Q8) {
        /* four tokens share each decoded pair; fewer go one by one (the row is in L1 after the first) */
        if (nt == 4) uniql__qdot8_q4_avx2(k, b0, nb, data, last, rec, cv, lda, 1, out);
        else for (t = 0; t < nt; t++) uniql__qdot8_q4_avx2(k, b0, nb, data, last, rec + (size_t)t * lda, cv + (size_t)t * lda, lda, 0, out + t);
        return;
    }
    for (t = 0; t < UNIQL__NT; t++) acc[t] = _mm256_setzero_ps();
    for (p = 0; p < np; p++) {
        const unsigned char *pd = p == np - 1 && last ? last : data + (size_t)p * 64;
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)pd);
        __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(pd + 32));
        __m256i lo = _mm256_permute2x128_si256(a, c, 0x20), hi = _mm256_permute2x128_si256(a, c, 0x31);
        __m256i alo = _mm256_sign_epi8(lo, lo), ahi = _mm256_sign_epi8(hi, hi);
        for (t = 0; t < nt; t++) {
            const unsigned char *r = rec + (size_t)t * lda + (size_t)p * UNIQL__REC;
            __m256i xl = _mm256_load_si256((const __m256i *)(const void *)r);
            __m256i xh = _mm256_load_si256((const __m256i *)(const void *)(r + 32));
            __m256i is = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(alo, _mm256_sign_epi8(xl, lo)), ones),
                                          _mm256_madd_epi16(_mm256_maddubs_epi16(ahi, _mm256_sign_epi8(xh, hi)), ones));
            acc[t] = _mm256_fmadd_ps(_mm256_load_ps((const float *)(const void *)(r + 64)), _mm256_cvtepi32_ps(is), acc[t]);
        }
    }
    uniql__avx2_unit_scales(k, b0, nb, 0, &sv, &zv);
    for (t = 0; t < nt; t++) {
        __m256 tt = _mm256_setzero_ps();
        UNIQL__UNIT(cv + (size_t)t * lda, acc[t], tt);
        out[t] += uniql__avx2_hsum(tt);
    }
}
#undef UNIQL__PAIR_LANES
#undef UNIQL__ACC
#undef UNIQL__NIBBLES
#undef UNIQL__UNIT

/* uniql__t8_dot_scalar on AVX2: two storage rows at a time, their bytes interleaved
   (unpack) so that maddubs multiplies each output's pair of weights (rows i, i + 1) with
   the pair (qa_i, qa_i+1); int16 sums (|.| <= 2 * 15 * 127 per step) are widened into
   the int32 outputs every 8 row pairs. */
UNIQL__AVX2 static void uniql__t8_dot_avx2(uniql_dtype dt, const unsigned char *const *rows, int nc, const int8_t *qa,
                                           int nblk, int32_t *I)
{
    const __m256i m4 = _mm256_set1_epi8(15), flip = _mm256_set1_epi8(dt == UNIQL_DTYPE_Q4 ? (char)0x88 : 0);
    int b, i, j;
    int16_t qp[16];
    for (i = 0; i < 16; i++) {
        int a = 2 * i < nc ? qa[32 * i] : 0, c = 2 * i + 1 < nc ? qa[32 * i + 16] : 0;
        qp[i] = (int16_t)(uint16_t)((unsigned)(uint8_t)(int8_t)a | ((unsigned)(uint8_t)(int8_t)c << 8));
    }
    for (j = 0; j < 32 * nblk; j++) I[j] = 0;
    for (b = 0; b < nblk; b += 2) {
        int two = b + 1 < nblk, i0;
        for (i0 = 0; i0 < nc; i0 += 16) {
            __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
            int i1 = i0 + 16 < nc ? i0 + 16 : nc;
            for (i = i0; i < i1; i += 2) {
                const unsigned char *ra = rows[i] + (size_t)b * 16, *rb = rows[i + 1 < nc ? i + 1 : i] + (size_t)b * 16;
                __m256i A, B, L, H, q = _mm256_set1_epi16(qp[i >> 1]);
                if (two) {
                    A = _mm256_loadu_si256((const __m256i *)(const void *)ra);
                    B = _mm256_loadu_si256((const __m256i *)(const void *)rb);
                } else {
                    A = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)ra));
                    B = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)rb));
                }
                A = _mm256_xor_si256(A, flip);
                B = _mm256_xor_si256(B, flip);
                L = _mm256_unpacklo_epi8(A, B);
                H = _mm256_unpackhi_epi8(A, B);
                s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(_mm256_and_si256(L, m4), q));
                s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(L, 4), m4), q));
                s2 = _mm256_add_epi16(s2, _mm256_maddubs_epi16(_mm256_and_si256(H, m4), q));
                s3 = _mm256_add_epi16(s3, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 4), m4), q));
            }
            /* widen: low 128 bits -> block b, high -> block b + 1; s0: elements 0..7, s1: 16..23,
               s2: 8..15, s3: 24..31 */
#define UNIQL__T8W(S, OFF) do { \
                __m256i *o_ = (__m256i *)(void *)(I + 32 * b + (OFF)); \
                _mm256_storeu_si256(o_, _mm256_add_epi32(_mm256_loadu_si256(o_), _mm256_cvtepi16_epi32(_mm256_castsi256_si128(S)))); \
                if (two) { \
                    __m256i *p_ = (__m256i *)(void *)(I + 32 * (b + 1) + (OFF)); \
                    _mm256_storeu_si256(p_, _mm256_add_epi32(_mm256_loadu_si256(p_), _mm256_cvtepi16_epi32(_mm256_extracti128_si256(S, 1)))); \
                } \
            } while (0)
            UNIQL__T8W(s0, 0);
            UNIQL__T8W(s1, 16);
            UNIQL__T8W(s2, 8);
            UNIQL__T8W(s3, 24);
#undef UNIQL__T8W
        }
    }
}

/* uniql__t8_quant_scalar with F16C / AVX2: 16 groups per vector pair, the same float
   operations (round half away = add copysign(0.5, v), truncate) */
UNIQL__AVX2 static void uniql__t8_quant_avx2(const uniql_matrix *W, const float *x, int c0, int nc, int gs, int ng, int8_t *qa,
                                             float *d, int32_t *Z)
{
    float a[32][16];
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)), half = _mm256_set1_ps(0.5f);
    const __m256 signm = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    const __m256 one = _mm256_set1_ps(1.0f), big = _mm256_set1_ps(0x1p64f), tiny = _mm256_set1_ps(0x1p-60f);
    const __m256 inf = _mm256_set1_ps(HUGE_VALF);
    __m256 m0 = _mm256_setzero_ps(), m1 = m0, i0, i1, f0, f1;
    __m256i z0 = _mm256_setzero_si256(), z1 = z0;
    int i, g, q4 = W->dtype == UNIQL_DTYPE_Q4;
    for (i = 0; i < 32; i++) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        if (i < nc) {
            size_t p = uniql__phys(W, c0 + i);
            const uint16_t *sp = W->scales + p * W->scale_stride + (size_t)gs;
            uint16_t tmp[16];
            __m256 xv = _mm256_set1_ps(x[c0 + i]);
            if (ng < 16) { memset(tmp, 0, sizeof tmp); memcpy(tmp, sp, sizeof(uint16_t) * (size_t)ng); sp = tmp; }
            a0 = _mm256_mul_ps(xv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)sp)));
            a1 = _mm256_mul_ps(xv, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(sp + 8))));
        }
        _mm256_storeu_ps(a[i], a0);
        _mm256_storeu_ps(a[i] + 8, a1);
        m0 = _mm256_max_ps(m0, _mm256_and_ps(a0, absm));
        m1 = _mm256_max_ps(m1, _mm256_and_ps(a1, absm));
    }
    {
        __m256 c127 = _mm256_set1_ps(127.0f), zero = _mm256_setzero_ps();
        float dd[16];
        _mm256_storeu_ps(dd, _mm256_div_ps(m0, c127));
        _mm256_storeu_ps(dd + 8, _mm256_div_ps(m1, c127));
        for (g = 0; g < ng; g++) d[g] = dd[g];
        f0 = _mm256_blendv_ps(one, big, _mm256_cmp_ps(m0, tiny, _CMP_LT_OQ));
        f1 = _mm256_blendv_ps(one, big, _mm256_cmp_ps(m1, tiny, _CMP_LT_OQ));
        i0 = _mm256_and_ps(_mm256_div_ps(c127, _mm256_mul_ps(m0, f0)), _mm256_cmp_ps(m0, zero, _CMP_GT_OQ));
        i1 = _mm256_and_ps(_mm256_div_ps(c127, _mm256_mul_ps(m1, f1)), _mm256_cmp_ps(m1, zero, _CMP_GT_OQ));
    }
    for (i = 0; i < 32; i++) {
        __m256 r0 = _mm256_loadu_ps(a[i]), r1 = _mm256_loadu_ps(a[i] + 8), c127 = _mm256_set1_ps(127.0f);
        __m256 v0 = _mm256_mul_ps(_mm256_mul_ps(r0, f0), i0), v1 = _mm256_mul_ps(_mm256_mul_ps(r1, f1), i1);
        /* infinite a (x s overflowed): +-127, as the scalar twin */
        v0 = _mm256_blendv_ps(v0, _mm256_or_ps(_mm256_and_ps(r0, signm), c127), _mm256_cmp_ps(_mm256_and_ps(r0, absm), inf, _CMP_EQ_OQ));
        v1 = _mm256_blendv_ps(v1, _mm256_or_ps(_mm256_and_ps(r1, signm), c127), _mm256_cmp_ps(_mm256_and_ps(r1, absm), inf, _CMP_EQ_OQ));
        __m256i q0 = _mm256_cvttps_epi32(_mm256_add_ps(v0, _mm256_or_ps(_mm256_and_ps(v0, signm), half)));
        __m256i q1 = _mm256_cvttps_epi32(_mm256_add_ps(v1, _mm256_or_ps(_mm256_and_ps(v1, signm), half)));
        __m256i p16;
        const __m256i lim = _mm256_set1_epi32(127);
        q0 = _mm256_max_epi32(_mm256_min_epi32(q0, lim), _mm256_sub_epi32(_mm256_setzero_si256(), lim));
        q1 = _mm256_max_epi32(_mm256_min_epi32(q1, lim), _mm256_sub_epi32(_mm256_setzero_si256(), lim));
        /* 16 int32 -> 16 int8 in group order */
        p16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);
        _mm_storeu_si128((__m128i *)(void *)(qa + 16 * i),
                         _mm_packs_epi16(_mm256_castsi256_si128(p16), _mm256_extracti128_si256(p16, 1)));
        if (i < nc) {
            if (q4) {
                z0 = _mm256_add_epi32(z0, q0);
                z1 = _mm256_add_epi32(z1, q1);
            } else {
                size_t p = uniql__phys(W, c0 + i);
                const uint8_t *zp = W->zeros + p * W->scale_stride + (size_t)gs;
                uint8_t tz[16];
                memset(tz, 0, sizeof tz);
                memcpy(tz, zp, (size_t)ng);
                z0 = _mm256_add_epi32(z0, _mm256_mullo_epi32(q0, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)tz))));
                z1 = _mm256_add_epi32(z1, _mm256_mullo_epi32(q1, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(tz + 8)))));
            }
        }
    }
    {
        int32_t zz[16];
        if (q4) { z0 = _mm256_slli_epi32(z0, 3); z1 = _mm256_slli_epi32(z1, 3); }
        _mm256_storeu_si256((__m256i *)(void *)zz, z0);
        _mm256_storeu_si256((__m256i *)(void *)(zz + 8), z1);
        for (g = 0; g < ng; g++) Z[g] = zz[g];
    }
}

/* uniql__quant_act_scalar on AVX2: the same float operations per element (amax as a max,
   v = (x f) id, round half away = add copysign(0.5, v) then truncate, clamp to +-127), the
   unit vectors from exact integer lane sums (maddubs / madd of the stored int8) */
UNIQL__AVX2 static int uniql__quant_act_avx2(const float *x, int len, int nb, int up, unsigned char *xa)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 signm = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    const __m256 half = _mm256_set1_ps(0.5f), fltmax = _mm256_set1_ps(3.4028235e38f);
    const __m256i lim = _mm256_set1_epi32(127), nlim = _mm256_set1_epi32(-127);
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    int b, j, np = (nb + 1) / 2, p;
    float *cv = (float *)(void *)(xa + (size_t)np * UNIQL__REC);
    __m256 bad = _mm256_setzero_ps(), c = bad;
    for (b = 0; b < 2 * np; b++) {
        int n = len - b * 32 < 32 ? len - b * 32 : 32, h = b & 1;
        unsigned char *rec = xa + (size_t)(b >> 1) * UNIQL__REC;
        float tmp[32], mx[8], amax, id, d, f;
        const float *xb = x + (size_t)b * 32;
        __m256 v[4], m, fv, iv;
        __m256i q[4], w;
        n = n < 0 || b >= nb ? 0 : n;
        if (n < 32) {
            memset(tmp, 0, sizeof tmp);
            if (n > 0) memcpy(tmp, xb, sizeof(float) * (size_t)n);
            xb = tmp;
        }
        for (j = 0; j < 4; j++) {
            v[j] = _mm256_loadu_ps(xb + 8 * j);
            bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_and_ps(v[j], absm), fltmax, _CMP_NLE_UQ)); /* NaN, Inf */
        }
        m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], absm), _mm256_and_ps(v[1], absm)),
                          _mm256_max_ps(_mm256_and_ps(v[2], absm), _mm256_and_ps(v[3], absm)));
        _mm256_storeu_ps(mx, m);
        amax = mx[0];
        for (j = 1; j < 8; j++) amax = mx[j] > amax ? mx[j] : amax;
        f = amax < 0x1p-60f ? 0x1p64f : 1.0f;
        d = amax / 127.0f;
        id = amax > 0 ? 127.0f / (amax * f) : 0.0f;
        fv = _mm256_set1_ps(f);
        iv = _mm256_set1_ps(id);
        for (j = 0; j < 4; j++) {
            __m256 t = _mm256_mul_ps(_mm256_mul_ps(v[j], fv), iv);
            t = _mm256_add_ps(t, _mm256_or_ps(_mm256_and_ps(t, signm), half));
            q[j] = _mm256_max_epi32(_mm256_min_epi32(_mm256_cvttps_epi32(t), lim), nlim);
        }
        /* 16 int32 -> 16 int8 in element order: XL (elements 0..15), XH (16..31) */
        w = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8);
        _mm_storeu_si128((__m128i *)(void *)(rec + 16 * h), _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1)));
        w = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xD8);
        _mm_storeu_si128((__m128i *)(void *)(rec + 32 + 16 * h), _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1)));
        _mm_storeu_ps((float *)(void *)(rec + 64 + 16 * h), _mm_set1_ps(d));
    }
    /* unit vectors: lane L = the sum of the 8 q of lane L, fmaf(dv, s, c) pair by pair */
    for (p = 0; p < np; p++) {
        const unsigned char *rec = xa + (size_t)p * UNIQL__REC;
        __m256i xl = _mm256_loadu_si256((const __m256i *)(const void *)rec);
        __m256i xh = _mm256_loadu_si256((const __m256i *)(const void *)(rec + 32));
        __m256i s = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(ones8, xl), ones16),
                                     _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, xh), ones16));
        if (p % up == 0) c = _mm256_setzero_ps();
        c = _mm256_fmadd_ps(_mm256_loadu_ps((const float *)(const void *)(rec + 64)), _mm256_cvtepi32_ps(s), c);
        _mm256_storeu_ps(cv + (size_t)(p / up) * 8, c);
    }
    return _mm256_movemask_ps(bad) == 0;
}

/* ---- AVX-512 VNNI (avx512f/bw/vl/vnni, checked at run time): the prefill tile of two
   Q4 / Q4Z rows x up to 4 tokens. A 512-bit vector holds the 8 lanes of row 0 (low half)
   and of row 1 (high half); each token's XL / XH / dv / CV are broadcast to both halves.
   vpdpbusd(vpdpbusd(0, lo, XL), hi, XH) is the exact int32 lane sum that maddubs / madd
   form in uniql__qdot8_q4_avx2 (no int16 saturation is reachable: |u q| <= 15 * 127), and
   every float step (cvt, fma per pair, fnmadd / fma per unit, the final hsum of each
   half) is uniql__qdot8_scalar's, so the results are the scalar reference's bit for bit. */
#define UNIQL__HAVE_VNNI 1
#define UNIQL__VNNI_T "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#define UNIQL__VNNI __attribute__((target(UNIQL__VNNI_T)))
#define UNIQL__VNNI_INLINE __attribute__((target(UNIQL__VNNI_T), always_inline)) inline

static UNIQL__VNNI_INLINE __m512 uniql__vnni_bcast8(const unsigned char *p)
{
    return _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_loadu_pd((const double *)(const void *)p)));
}

/* scales and zero points of the lanes of unit u0 for two rows (row 0: lanes 0..7) */
static UNIQL__VNNI_INLINE void uniql__vnni_unit_scales(const uniql__qk *k0, const uniql__qk *k1, int b0, int nb, int u0,
                                                       __m512 *sv, __m512 *zv)
{
    if (k0->gb % 2 == 0) {
        int g = (b0 + 2 * u0) / k0->gb, q4 = k0->dtype == UNIQL_DTYPE_Q4;
        *sv = _mm512_mask_blend_ps((__mmask16)0xFF00, _mm512_set1_ps(_cvtsh_ss(k0->sc[g])), _mm512_set1_ps(_cvtsh_ss(k1->sc[g])));
        *zv = _mm512_mask_blend_ps((__mmask16)0xFF00, _mm512_set1_ps(q4 ? 8.0f : (float)k0->zp[g]),
                                   _mm512_set1_ps(q4 ? 8.0f : (float)k1->zp[g]));
    } else {
        float s[16], z[16];
        uniql__unit_scales(k0, b0, nb, u0, s, z);
        uniql__unit_scales(k1, b0, nb, u0, s + 8, z + 8);
        *sv = _mm512_loadu_ps(s);
        *zv = _mm512_loadu_ps(z);
    }
}

#define UNIQL__VT(T, A) \
    if (NT > (T)) { \
        const unsigned char *rt_ = r + (size_t)(T) * lda; \
        __m512i xl_ = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(const void *)rt_)); \
        __m512i xh_ = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(const void *)(rt_ + 32))); \
        __m512i is_ = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, xl_), hi, xh_); \
        A = _mm512_fmadd_ps(uniql__vnni_bcast8(rt_ + 64), _mm512_cvtepi32_ps(is_), A); \
    }
#define UNIQL__VU(T, A, S) \
    if (NT > (T)) S = _mm512_fmadd_ps(sv, _mm512_fnmadd_ps(zv, uniql__vnni_bcast8(cvu + (size_t)(T) * lda), A), S);
#define UNIQL__VO(T, S) \
    if (NT > (T)) { \
        out0[T] += uniql__avx2_hsum(_mm512_castps512_ps256(S)); \
        out1[T] += uniql__avx2_hsum(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(S), 1))); \
    }

static UNIQL__VNNI_INLINE void uniql__q4r2_vnni_nt(const uniql__qk *k0, const uniql__qk *k1, int b0, int nb,
                                                   const unsigned char *d0, const unsigned char *d1, const unsigned char *l0,
                                                   const unsigned char *l1, const unsigned char *rec, const unsigned char *cv,
                                                   size_t lda, const int NT, float *out0, float *out1)
{
    const __m512i m4 = _mm512_set1_epi8(15);
    const __m512i flip = _mm512_set1_epi8(k0->dtype == UNIQL_DTYPE_Q4 ? (char)0x88 : 0);
    int np = (nb + 1) / 2, up = uniql__unit_pairs(k0, np), u0, p;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, sv, zv;
    for (u0 = 0; u0 < np; u0 += up) {
        int u1 = u0 + up < np ? u0 + up : np;
        const unsigned char *cvu = cv + (size_t)(u0 / up) * 32;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (p = u0; p < u1; p++) {
            const unsigned char *r = rec + (size_t)p * UNIQL__REC;
            const unsigned char *p0 = p == np - 1 && l0 ? l0 : d0 + (size_t)p * 32;
            const unsigned char *p1 = p == np - 1 && l1 ? l1 : d1 + (size_t)p * 32;
            __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)p0)),
                                           _mm256_loadu_si256((const __m256i *)(const void *)p1), 1), lo, hi;
            v = _mm512_xor_si512(v, flip);
            lo = _mm512_and_si512(v, m4);
            hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            UNIQL__VT(0, a0)
            UNIQL__VT(1, a1)
            UNIQL__VT(2, a2)
            UNIQL__VT(3, a3)
        }
        uniql__vnni_unit_scales(k0, k1, b0, nb, u0, &sv, &zv);
        UNIQL__VU(0, a0, s0)
        UNIQL__VU(1, a1, s1)
        UNIQL__VU(2, a2, s2)
        UNIQL__VU(3, a3, s3)
    }
    UNIQL__VO(0, s0)
    UNIQL__VO(1, s1)
    UNIQL__VO(2, s2)
    UNIQL__VO(3, s3)
}
#undef UNIQL__VT
#undef UNIQL__VU
#undef UNIQL__VO

UNIQL__VNNI static void uniql__q4r2_vnni(const uniql__qk *k0, const uniql__qk *k1, int b0, int nb, const unsigned char *d0,
                                         const unsigned char *d1, const unsigned char *l0, const unsigned char *l1,
                                         const unsigned char *rec, const unsigned char *cv, size_t lda, int nt, float *out0,
                                         float *out1)
{
    if (nt >= 4) uniql__q4r2_vnni_nt(k0, k1, b0, nb, d0, d1, l0, l1, rec, cv, lda, 4, out0, out1);
    else if (nt == 3) uniql__q4r2_vnni_nt(k0, k1, b0, nb, d0, d1, l0, l1, rec, cv, lda, 3, out0, out1);
    else if (nt == 2) uniql__q4r2_vnni_nt(k0, k1, b0, nb, d0, d1, l0, l1, rec, cv, lda, 2, out0, out1);
    else uniql__q4r2_vnni_nt(k0, k1, b0, nb, d0, d1, l0, l1, rec, cv, lda, 1, out0, out1);
}

static int uniql__cpu_vnni(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
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

/* I8ACT on NEON: the scalar reference's lanes (block h of a pair = one int32x4, lanes
   4h..4h+3) and float steps (vfmaq = fmaf), so the result equals it bit for bit. */
static void uniql__qdot8_neon(const uniql__qk *k, int b0, int nb, const unsigned char *data, const unsigned char *last,
                              const unsigned char *rec, const unsigned char *cv, size_t lda, int nt, float *out)
{
    int np = (nb + 1) / 2, up = uniql__unit_pairs(k, np), u0, p, t, h;
    size_t pb = k->dtype == UNIQL_DTYPE_Q8 ? 64 : 32;
    const uint8x16_t m = vdupq_n_u8(15), fl = vdupq_n_u8(k->dtype == UNIQL_DTYPE_Q4 ? 8 : 0);
    float32x4_t total[UNIQL__NT][2];
    for (t = 0; t < UNIQL__NT; t++) total[t][0] = total[t][1] = vdupq_n_f32(0);
    for (u0 = 0; u0 < np; u0 += up) {
        int u1 = u0 + up < np ? u0 + up : np;
        float32x4_t acc[UNIQL__NT][2];
        float s[8], z[8];
        for (t = 0; t < UNIQL__NT; t++) acc[t][0] = acc[t][1] = vdupq_n_f32(0);
        for (p = u0; p < u1; p++) {
            const unsigned char *pd = p == np - 1 && last ? last : data + (size_t)p * pb;
            int8x16_t wl[2], wh[2];
            for (h = 0; h < 2; h++) {
                if (k->dtype == UNIQL_DTYPE_Q8) {
                    wl[h] = vld1q_s8((const int8_t *)pd + 32 * h);
                    wh[h] = vld1q_s8((const int8_t *)pd + 32 * h + 16);
                } else {
                    uint8x16_t b = vld1q_u8(pd + 16 * h);
                    wl[h] = vreinterpretq_s8_u8(veorq_u8(vandq_u8(b, m), fl));
                    wh[h] = vreinterpretq_s8_u8(veorq_u8(vshrq_n_u8(b, 4), fl));
                }
            }
            for (t = 0; t < nt; t++) {
                const unsigned char *r = rec + (size_t)t * lda + (size_t)p * UNIQL__REC;
                for (h = 0; h < 2; h++) {
                    int32x4_t is = vaddq_s32(uniql__neon_dot4(wl[h], vld1q_s8((const int8_t *)r + 16 * h)),
                                             uniql__neon_dot4(wh[h], vld1q_s8((const int8_t *)r + 32 + 16 * h)));
                    acc[t][h] = vfmaq_f32(acc[t][h], vld1q_f32((const float *)(const void *)(r + 64 + 16 * h)), vcvtq_f32_s32(is));
                }
            }
        }
        uniql__unit_scales(k, b0, nb, u0, s, z);
        for (t = 0; t < nt; t++) {
            const float *c = (const float *)(const void *)(cv + (size_t)t * lda) + (size_t)(u0 / up) * 8;
            for (h = 0; h < 2; h++) {
                float32x4_t tmp = vfmsq_f32(acc[t][h], vld1q_f32(z + 4 * h), vld1q_f32(c + 4 * h));
                total[t][h] = vfmaq_f32(total[t][h], vld1q_f32(s + 4 * h), tmp);
            }
        }
    }
    for (t = 0; t < nt; t++) out[t] += uniql__neon_hsum(total[t][0], total[t][1]);
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
#if defined(UNIQL__HAVE_VNNI)
    if ((isa == UNIQL_KERNEL_AUTO || isa == UNIQL_KERNEL_VNNI) && uniql__cpu_vnni()) return UNIQL_KERNEL_VNNI;
#endif
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
    k->t8q = uniql__t8_quant_scalar;
    k->t8 = uniql__t8_dot_scalar;
    k->qact = uniql__quant_act_scalar;
    k->q4r2 = NULL;
    if (isa == UNIQL_KERNEL_SCALAR) return 1;
#if defined(UNIQL__HAVE_AVX2)
    if (isa == UNIQL_KERNEL_AVX2 || isa == UNIQL_KERNEL_VNNI) {
        k->fdot = uniql__fdot_avx2;
        k->faxpy = uniql__faxpy_avx2;
        k->qdot = uniql__qdot_avx2;
        k->qaxpy = uniql__qaxpy_avx2;
        k->qdot8 = uniql__qdot8_avx2;
        k->q4x2 = uniql__q4x2_avx2;
        k->t8q = uniql__t8_quant_avx2;
        k->t8 = uniql__t8_dot_avx2;
        k->qact = uniql__quant_act_avx2;
#if defined(UNIQL__HAVE_VNNI)
        if (isa == UNIQL_KERNEL_VNNI) k->q4r2 = uniql__q4r2_vnni;
#endif
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
   Q^T = H_2 ... H_{n-1}, built as ((H_2) H_3) ... so that step i only touches its i x i block.
   A row whose largest entry is below 2^-300 is scaled to max 1 (a power of two, exact)
   before its reflector is formed, as LAPACK's dlarfg does: tau v v^T does not change, but
   |x|^2 no longer underflows (a subnormal |x|^2 made tau infinite and the result NaN).
   Rows in the normal range are untouched, so their results are bit for bit as before. */
static void uniql__tridiag(int n, double *T, double *d, double *e, double *tau, double *pv, double *Zt)
{
    int i, r, c;
    for (i = n - 1; i >= 1; i--) {
        double *x = T + (size_t)i * n, ss, xn, alpha, beta, K, xmax = 0.0;
        int l = i, ex = 0;
        tau[i] = 0.0;
        for (r = 0; r < l; r++) if (fabs(x[r]) > xmax) xmax = fabs(x[r]);
        if (xmax > 0.0 && xmax < 0x1p-300) {
            ex = uniql__scale_exponent(xmax);
            for (r = 0; r < l; r++) x[r] = ldexp(x[r], -ex);
        }
        ss = uniql__dot_f64(x, x, l - 1);
        if (ss == 0.0) { e[i - 1] = ldexp(x[l - 1], ex); continue; }
        xn = sqrt(ss + x[l - 1] * x[l - 1]);
        alpha = x[l - 1] >= 0 ? -xn : xn;
        beta = 1.0 / (xn * (xn + fabs(x[l - 1])));
        x[l - 1] -= alpha;
        e[i - 1] = ldexp(alpha, ex);
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
   values only) defers them. A subdiagonal is negligible when |e_m| <= eps (|d_m| + |d_m+1|),
   and inside a block (scaled to max 1) also when |e_m| < sqrt(DBL_MIN) ~ 1.5e-154: far
   under the rounding of the block's eigenvalues, and a smaller one would stop the chase
   (the bulge s * e_m underflows) instead of splitting it.
   Badly scaled input (one entry 1e200 among O(1) and 1e-201 ones) needs two things the
   plain QL iteration lacks, both as in LAPACK's dsteqr: (1) the matrix is first split into
   unreduced blocks and each block is scaled by a power of two (exact) to max 1 on its own,
   so a block of tiny entries is not iterated in the subnormal range; (2) the iteration runs
   from the end with the smaller diagonal entry: QL deflates at the top, so a block whose
   large entries sit at the top is iterated reversed (QR on the original order). Otherwise
   the chase starts in the large entries and its bulge underflows before it reaches the
   small ones: no progress, UNIQL_ERR_NO_CONVERGENCE. Reversal is free: the block's d and e
   are reversed in place and each rotation on reversed rows (i, i+1) is recorded for the
   original rows (lo+hi-i-1, lo+hi-i) with its sine negated. */
static int uniql__ql_small(const double *d, const double *e, int m, double floor)
{
    double a = fabs(e[m]);
    return a <= DBL_EPSILON * (fabs(d[m]) + fabs(d[m + 1])) || a < floor;
}

#define UNIQL__QL_FLOOR 1.4916681462400413e-154 /* sqrt(DBL_MIN) */

static void uniql__ql_reverse(double *d, double *e, int lo, int hi)
{
    int a, b;
    for (a = lo, b = hi; a < b; a++, b--) { double t = d[a]; d[a] = d[b]; d[b] = t; }
    for (a = lo, b = hi - 1; a < b; a++, b--) { double t = e[a]; e[a] = e[b]; e[b] = t; }
}

/* the unreduced block d[lo..hi], e[lo..hi-1] to convergence; e[lo..hi] are 0 after */
static uniql_result uniql__ql_block(int lo, int hi, double *d, double *e, uniql__rotbuf *rb, long *budget)
{
    double amax = 0.0;
    int l, m, i, k, ex, rev;
    for (k = lo; k <= hi; k++) {
        if (fabs(d[k]) > amax) amax = fabs(d[k]);
        if (k < hi && fabs(e[k]) > amax) amax = fabs(e[k]);
    }
    ex = uniql__scale_exponent(amax);
    for (k = lo; k <= hi; k++) { d[k] = ldexp(d[k], -ex); e[k] = k < hi ? ldexp(e[k], -ex) : 0.0; }
    rev = fabs(d[hi]) < fabs(d[lo]);
    if (rev) uniql__ql_reverse(d, e, lo, hi);
    for (l = lo; l <= hi; l++) {
        for (;;) {
            double g, r, s, c, p;
            for (m = l; m < hi; m++)
                if (uniql__ql_small(d, e, m, UNIQL__QL_FLOOR)) break;
            if (m == l) break;
            if (--*budget < 0) return UNIQL_ERR_NO_CONVERGENCE;
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
                    rb->idx[rb->count] = rev ? lo + hi - i - 1 : i;
                    rb->c[rb->count] = c;
                    rb->s[rb->count] = rev ? -s : s;
                    rb->count++;
                }
            }
            if (r == 0.0 && i >= l) continue;
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
    if (rev) uniql__ql_reverse(d, e, lo, hi);
    for (k = lo; k <= hi; k++) { d[k] = ldexp(d[k], ex); e[k] = 0.0; }
    return UNIQL_OK;
}

static uniql_result uniql__tridiag_ql(int n, double *d, double *e, uniql__rotbuf *rb)
{
    int lo = 0, hi;
    long budget = 30L * n;   /* iterations for the whole matrix, as LAPACK's dsteqr */
    uniql_result r;
    while (lo < n) {
        for (hi = lo; hi + 1 < n; hi++)
            if (uniql__ql_small(d, e, hi, 0.0)) break;
        e[hi] = 0.0;
        if (hi > lo && (r = uniql__ql_block(lo, hi, d, e, rb, &budget)) != UNIQL_OK) return r;
        lo = hi + 1;
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
    for (i = 0; i < n; i++) {
        w[i] = ldexp(w[i], ex);
        if (r == UNIQL_OK && !isfinite(w[i])) r = UNIQL_ERR_RANGE; /* |lambda| > DBL_MAX */
    }
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
   Three passes over the text with the same recursive-descent code (uniql__jp_value):
     pass 0  validates everything and counts nodes, containers and string bytes;
     pass 1  records the number of children of every container (pre-order index);
     pass 2  fills one exactly sized block: a container entered in pass 2 reserves its
             children's slots at once (it knows their count from pass 1), so the children
             of every container are contiguous and the nodes can be 16 bytes.
   Only duplicate keys are found in pass 2 (they need the decoded keys). */

typedef struct uniql__jp {
    const unsigned char *s;
    size_t n, i;
    unsigned flags;
    int depth, pass;
    uniql_error *err;
    /* pass 0: sizes */
    size_t n_nodes, n_containers, n_str, max_members;
    /* pass 1 writes, pass 2 reads: children per container, in pre-order */
    uint32_t *counts;
    size_t cont_next;
    /* pass 2: the block being filled */
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
        if (p->str_next - start > 0xFFFFFFFFu)
            return uniql__fail(p->err, UNIQL_ERR_OVERFLOW, "json: byte %lu: a string of 2^32 bytes or more", (unsigned long)raw0);
        p->str[p->str_next] = 0;
        *out = p->str + start;
        *out_len = p->str_next - start;
        p->str_next++;
    } else {
        p->str_next = start;
        if (p->pass == 0) p->n_str += p->i - raw0 + 1;
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

/* key nodes compared as byte strings (qsort comparator over pointers) */
static int uniql__json_key_cmp(const void *a, const void *b)
{
    const uniql_json *x = *(const uniql_json *const *)a, *y = *(const uniql_json *const *)b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->u.str, y->u.str, m);
    if (c) return c;
    return x->len < y->len ? -1 : (x->len > y->len);
}

static uniql_result uniql__jp_dup_keys(uniql__jp *p, const uniql_json *obj)
{
    const uniql_json *kv = obj->u.child, *dup = NULL;
    uint32_t a, b, n = obj->len;
    if (n <= 8) {
        for (a = 0; a < n && !dup; a++)
            for (b = a + 1; b < n; b++)
                if (kv[2 * a].len == kv[2 * b].len && !memcmp(kv[2 * a].u.str, kv[2 * b].u.str, kv[2 * a].len)) { dup = &kv[2 * a]; break; }
    } else {
        for (a = 0; a < n; a++) p->scratch[a] = &kv[2 * a];
        qsort((void *)p->scratch, (size_t)n, sizeof *p->scratch, uniql__json_key_cmp);
        for (a = 1; a < n && !dup; a++)
            if (!uniql__json_key_cmp(&p->scratch[a - 1], &p->scratch[a])) dup = p->scratch[a];
    }
    if (dup)
        return uniql__fail(p->err, UNIQL_ERR_PARSE, "json: duplicate key \"%.60s\" in the object ending at byte %lu",
                           dup->u.str, (unsigned long)p->i);
    return UNIQL_OK;
}

/* One value at p->i (whitespace already skipped); v is its node (NULL before pass 2). */
static uniql_result uniql__jp_value(uniql__jp *p, uniql_json *v)
{
    uniql_result r;
    unsigned char c;
    if (p->i >= p->n) return uniql__jp_fail(p, "value expected");
    c = p->s[p->i];
    if (c == '{' || c == '[') {
        int is_obj = c == '{';
        uint32_t count = 0, want = 0;
        size_t k = p->cont_next++;
        uniql_json *slots = NULL;
        unsigned char close = is_obj ? '}' : ']';
        if (++p->depth > UNIQL_JSON_MAX_DEPTH) return uniql__jp_fail(p, "nesting deeper than UNIQL_JSON_MAX_DEPTH");
        if (p->pass == 0) p->n_containers++;
        if (v) {
            /* pass 2: reserve the children's slots now, so they are contiguous */
            want = p->counts[k];
            v->type = is_obj ? UNIQL_JSON_OBJECT : UNIQL_JSON_ARRAY;
            v->len = want;
            if (want) {
                slots = &p->nodes[p->node_next];
                p->node_next += (size_t)want * (is_obj ? 2u : 1u);
                UNIQL_ASSERT(p->node_next <= p->n_nodes);
                memset(slots, 0, sizeof *slots * (size_t)want * (is_obj ? 2u : 1u));
            }
            v->u.child = slots;
        }
        p->i++;
        uniql__jp_ws(p);
        if (p->i < p->n && p->s[p->i] == close) p->i++;
        else for (;;) {
            uniql_json *child = NULL;
            if (v) {
                UNIQL_ASSERT(count < want);
                child = &slots[is_obj ? 2 * (size_t)count + 1 : count];
            }
            if (p->pass == 0) p->n_nodes += is_obj ? 2 : 1;
            if (is_obj) {
                const char *key = NULL;
                size_t key_len = 0;
                if (p->i >= p->n || p->s[p->i] != '"') return uniql__jp_fail(p, "object key (a string) expected");
                if ((r = uniql__jp_string(p, &key, &key_len)) != UNIQL_OK) return r;
                if (v) {
                    uniql_json *kn = &slots[2 * (size_t)count];
                    kn->type = UNIQL_JSON_STRING;
                    kn->len = (uint32_t)key_len;
                    kn->u.str = key;
                }
                uniql__jp_ws(p);
                if (p->i >= p->n || p->s[p->i] != ':') return uniql__jp_fail(p, "':' expected after object key");
                p->i++;
                uniql__jp_ws(p);
            }
            if ((r = uniql__jp_value(p, child)) != UNIQL_OK) return r;
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
        if (p->pass == 0 && is_obj && (size_t)count > p->max_members) p->max_members = (size_t)count;
        if (p->pass == 1) p->counts[k] = count;
        if (v) {
            UNIQL_ASSERT(count == want);
            if (is_obj && count > 1) return uniql__jp_dup_keys(p, v);
        }
        return UNIQL_OK;
    }
    if (c == '"') {
        const char *s = NULL;
        size_t len = 0;
        if ((r = uniql__jp_string(p, &s, &len)) != UNIQL_OK) return r;
        if (v) { v->type = UNIQL_JSON_STRING; v->u.str = s; v->len = (uint32_t)len; }
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
        if (hit) { if (v) { v->type = UNIQL_JSON_NUMBER; v->u.number = special; } return UNIQL_OK; }
    }
    {
        double num = 0;
        if ((r = uniql__jp_number(p, &num)) != UNIQL_OK) return r;
        if (v) { v->type = UNIQL_JSON_NUMBER; v->u.number = num; }
        return UNIQL_OK;
    }
}

static uniql_result uniql__jp_document(uniql__jp *p, int pass, uniql_json *root)
{
    uniql_result r;
    p->pass = pass;
    p->i = 0;
    p->depth = 0;
    p->cont_next = 0;
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
    size_t node_bytes, total, tmp_bytes, scratch_bytes;
    unsigned char *mem, *tmp;
    if (!doc) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "json: doc is NULL");
    memset(doc, 0, sizeof *doc);
    if (!text && len) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "json: text is NULL");
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)text;
    p.n = len;
    p.flags = flags;
    p.err = err;
    p.n_nodes = 1;   /* the root */
    if ((r = uniql__jp_document(&p, 0, NULL)) != UNIQL_OK) return r;
    /* the document block (nodes, strings) and a temporary one (counts, key pointers) */
    if (!uniql__mul_size(p.n_nodes, sizeof(uniql_json), &node_bytes) || !uniql__add_size(node_bytes, p.n_str, &total) ||
        !uniql__mul_size(p.max_members, sizeof(uniql_json *), &scratch_bytes) ||
        !uniql__mul_size(p.n_containers, sizeof(uint32_t), &tmp_bytes) ||
        !uniql__add_size(tmp_bytes, sizeof(uniql_json *) - 1, &tmp_bytes) ||
        !uniql__add_size(tmp_bytes & ~(sizeof(uniql_json *) - 1), scratch_bytes, &tmp_bytes))
        return uniql__fail(err, UNIQL_ERR_OVERFLOW, "json: document too large");
    mem = (unsigned char *)UNIQL_MALLOC(total, alloc_user);
    tmp = (unsigned char *)UNIQL_MALLOC(tmp_bytes ? tmp_bytes : 1, alloc_user);
    if (!mem || !tmp) {
        if (mem) UNIQL_FREE(mem, alloc_user);
        if (tmp) UNIQL_FREE(tmp, alloc_user);
        return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "json: out of memory (%lu + %lu bytes)", (unsigned long)total,
                           (unsigned long)tmp_bytes);
    }
    p.counts = (uint32_t *)(void *)tmp;
    p.scratch = (const uniql_json **)(void *)(tmp + ((p.n_containers * sizeof(uint32_t) + sizeof(uniql_json *) - 1) &
                                                      ~(sizeof(uniql_json *) - 1)));
    r = uniql__jp_document(&p, 1, NULL);
    UNIQL_ASSERT(r == UNIQL_OK && p.cont_next == p.n_containers);
    p.nodes = (uniql_json *)(void *)mem;
    p.str = (char *)(mem + node_bytes);
    p.node_next = 1;
    p.str_next = 0;
    memset(p.nodes, 0, sizeof *p.nodes);
    r = uniql__jp_document(&p, 2, p.nodes);
    UNIQL_FREE(tmp, alloc_user);
    if (r != UNIQL_OK) {
        UNIQL_FREE(mem, alloc_user);
        return r;
    }
    UNIQL_ASSERT(p.node_next == p.n_nodes && p.str_next <= p.n_str);
    doc->root = p.nodes;
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
    size_t k;
    uint32_t i;
    if (!obj || obj->type != UNIQL_JSON_OBJECT || !key) return NULL;
    k = strlen(key);
    for (i = 0; i < obj->len; i++) {
        const uniql_json *kn = &obj->u.child[2 * (size_t)i];
        if (kn->len == k && !memcmp(kn->u.str, key, k)) return kn + 1;
    }
    return NULL;
}

UNIQLDEF const uniql_json *uniql_json_at(const uniql_json *arr, int i)
{
    if (!arr || arr->type != UNIQL_JSON_ARRAY || i < 0 || (uint32_t)i >= arr->len) return NULL;
    return &arr->u.child[i];
}

UNIQLDEF const uniql_json *uniql_json_member(const uniql_json *obj, int i, const uniql_json **key)
{
    if (key) *key = NULL;
    if (!obj || obj->type != UNIQL_JSON_OBJECT || i < 0 || (uint32_t)i >= obj->len) return NULL;
    if (key) *key = &obj->u.child[2 * (size_t)i];
    return &obj->u.child[2 * (size_t)i + 1];
}

/* iteration over a container's values in document order (for the readers below):
   first / next return NULL at the end; uniql__json_key is the key node of an object
   member's value v (its predecessor, since members are key/value pairs) */
static const uniql_json *uniql__json_first(const uniql_json *c)
{
    if (!c || (c->type != UNIQL_JSON_ARRAY && c->type != UNIQL_JSON_OBJECT) || !c->len) return NULL;
    return c->type == UNIQL_JSON_OBJECT ? c->u.child + 1 : c->u.child;
}
static const uniql_json *uniql__json_next(const uniql_json *c, const uniql_json *v)
{
    size_t k = (size_t)(v - c->u.child) + (c->type == UNIQL_JSON_OBJECT ? 2u : 1u);
    return k < (c->type == UNIQL_JSON_OBJECT ? 2 * (size_t)c->len : (size_t)c->len) ? c->u.child + k : NULL;
}
static const uniql_json *uniql__json_key(const uniql_json *v) { return v - 1; }

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
    if (!v || v->type != UNIQL_JSON_NUMBER || !(v->u.number >= 0.0) || v->u.number > 9007199254740992.0 ||
        v->u.number != floor(v->u.number))
        return 0;
    *out = (uint64_t)v->u.number;
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
    uint32_t j;
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
    for (j = 0; j < st->header.root->len; j++) {
        const uniql_json *key;
        uniql_json_member(st->header.root, (int)j, &key);
        if (strcmp(key->u.str, "__metadata__") != 0) n++;
    }
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
    for (j = 0; j < st->header.root->len && r == UNIQL_OK; j++) {
        uniql_tensor *t = &tensors[i];
        const uniql_json *dt, *shape, *offs, *key;
        uint64_t v, begin, end;
        size_t esize = 0, count = 1;
        int d;
        m = uniql_json_member(st->header.root, (int)j, &key);
        if (!strcmp(key->u.str, "__metadata__")) continue;
        memset(t, 0, sizeof *t);
        t->name = key->u.str;
        if (strlen(key->u.str) != key->len) { r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: a tensor name contains a NUL byte"); break; }
        if (m->type != UNIQL_JSON_OBJECT) { r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': entry is not an object", t->name); break; }
        dt = uniql_json_get(m, "dtype");
        if (!dt || dt->type != UNIQL_JSON_STRING) { r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': no dtype string", t->name); break; }
        if (!strcmp(dt->u.str, "F32")) { t->dtype = UNIQL_DTYPE_F32; esize = 4; }
        else if (!strcmp(dt->u.str, "F16")) { t->dtype = UNIQL_DTYPE_F16; esize = 2; }
        else if (!strcmp(dt->u.str, "BF16")) { t->dtype = UNIQL_DTYPE_BF16; esize = 2; }
        else {
            const char *const *o;
            for (o = uniql__st_other_dtypes; *o && strcmp(*o, dt->u.str); o++) {}
            r = *o ? uniql__fail(err, UNIQL_ERR_DTYPE, "safetensors: tensor '%.80s': dtype %s is not supported (F32, F16, BF16 only)", t->name, dt->u.str)
                   : uniql__fail(err, UNIQL_ERR_DTYPE, "safetensors: tensor '%.80s': unknown dtype '%.20s'", t->name, dt->u.str);
            break;
        }
        shape = uniql_json_get(m, "shape");
        if (!shape || shape->type != UNIQL_JSON_ARRAY || shape->len > UNIQL_MAX_DIMS) {
            r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': shape must be an array of at most %d sizes", t->name, UNIQL_MAX_DIMS);
            break;
        }
        t->ndim = (int)shape->len;
        for (d = 0; d < t->ndim; d++) {
            if (!uniql__json_uint(uniql_json_at(shape, d), &v)) break;
            t->shape[d] = (int64_t)v;
        }
        if (d < t->ndim) { r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': shape entries must be non-negative integers", t->name); break; }
        uniql__shape_str(t->shape, t->ndim, shape_buf, sizeof shape_buf);
        for (d = 0; d < t->ndim; d++)
            if ((uint64_t)t->shape[d] > (uint64_t)(size_t)-1 || !uniql__mul_size(count, (size_t)t->shape[d], &count)) break;
        if (d < t->ndim || !uniql__mul_size(count, esize, &t->nbytes)) {
            r = uniql__fail(err, UNIQL_ERR_OVERFLOW, "safetensors: tensor '%.80s': shape %s overflows size_t", t->name, shape_buf);
            break;
        }
        offs = uniql_json_get(m, "data_offsets");
        if (!offs || offs->type != UNIQL_JSON_ARRAY || offs->len != 2 || !uniql__json_uint(uniql_json_at(offs, 0), &begin) ||
            !uniql__json_uint(uniql_json_at(offs, 1), &end) || end < begin) {
            r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': data_offsets must be [begin, end] with begin <= end", t->name);
            break;
        }
        if (end - begin != (uint64_t)t->nbytes) {
            r = uniql__fail(err, UNIQL_ERR_FORMAT, "safetensors: tensor '%.80s': data_offsets [%llu, %llu) hold %llu bytes but shape %s of %s needs %lu",
                            t->name, (unsigned long long)begin, (unsigned long long)end, (unsigned long long)(end - begin),
                            shape_buf, dt->u.str, (unsigned long)t->nbytes);
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

/* ---- reading files (the stdio convenience loaders) ---- */

#if !defined(UNIQL_NO_POSIX) && (defined(__unix__) || defined(__APPLE__))
#define UNIQL__POSIX_IO 1
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

/* where the bytes of a file go: an own UNIQL_MALLOC block, or (storage != NULL) a block
   of a model's storage list (IMPL 7), so a loader holds each file once */
typedef void *(*uniql__alloc_fn)(void *ctx, size_t bytes);

/* Read `path` whole (plus a NUL) into alloc(ctx, size + 1). A file larger than max_size
   is refused before allocating (UNIQL_ERR_FORMAT). *absent (may be NULL) is set when the
   file does not exist. On failure after the allocation, *data is that buffer (for the
   caller to release), else NULL. */
static uniql_result uniql__read_path(const char *path, uint64_t max_size, uniql__alloc_fn alloc, void *ctx, void **data,
                                     size_t *size, int *absent, uniql_error *err)
{
    unsigned char *buf;
    size_t n, got = 0;
    *data = NULL;
    *size = 0;
    if (absent) *absent = 0;
#ifdef UNIQL__POSIX_IO
    {
        struct stat st;
        int fd = open(path, O_RDONLY | O_NONBLOCK);
        if (fd < 0) {
            if (absent) *absent = errno == ENOENT;
            return uniql__fail(err, UNIQL_ERR_IO, "cannot open '%.200s'", path);
        }
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            return uniql__fail(err, UNIQL_ERR_IO, "'%.200s' is not a regular file (a FIFO, device or directory)", path);
        }
        if (st.st_size < 0 || (uint64_t)st.st_size > max_size || (uint64_t)st.st_size >= (uint64_t)((size_t)-1)) {
            close(fd);
            return uniql__fail(err, st.st_size >= 0 && (uint64_t)st.st_size > max_size ? UNIQL_ERR_FORMAT : UNIQL_ERR_IO,
                               "'%.200s': %llu bytes, more than the %llu this reader accepts", path,
                               (unsigned long long)st.st_size, (unsigned long long)max_size);
        }
        n = (size_t)st.st_size;
        buf = (unsigned char *)alloc(ctx, n + 1);
        if (!buf) {
            close(fd);
            return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory reading '%.200s' (%lu bytes)", path, (unsigned long)n);
        }
        *data = buf;
        while (got < n) {
            size_t want = n - got > ((size_t)1 << 30) ? ((size_t)1 << 30) : n - got;
            ssize_t k = read(fd, buf + got, want);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) break;
            got += (size_t)k;
        }
        close(fd);
    }
#else
    {
        FILE *f;
        long len;
        f = fopen(path, "rb");
        if (!f) {
            if (absent) *absent = 1;
            return uniql__fail(err, UNIQL_ERR_IO, "cannot open '%.200s'", path);
        }
        /* a directory may open and ftell then reports a huge size: read one byte first */
        if (getc(f) == EOF && ferror(f)) {
            fclose(f);
            return uniql__fail(err, UNIQL_ERR_IO, "cannot read '%.200s' (a directory?)", path);
        }
        if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
            fclose(f);
            return uniql__fail(err, UNIQL_ERR_IO, "cannot seek in '%.200s'", path);
        }
        if ((uint64_t)len > max_size) {
            fclose(f);
            return uniql__fail(err, UNIQL_ERR_FORMAT, "'%.200s': %ld bytes, more than the %llu this reader accepts", path, len,
                               (unsigned long long)max_size);
        }
        n = (size_t)len;
        buf = (unsigned char *)alloc(ctx, n + 1);
        if (!buf) {
            fclose(f);
            return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory reading '%.200s' (%lu bytes)", path, (unsigned long)n);
        }
        *data = buf;
        got = n > 0 ? fread(buf, 1, n, f) : 0;
        fclose(f);
    }
#endif
    if (got != n) return uniql__fail(err, UNIQL_ERR_IO, "short read from '%.200s' (%lu of %lu bytes)", path, (unsigned long)got, (unsigned long)n);
    buf[n] = 0;
    *size = n;
    return UNIQL_OK;
}

static void *uniql__alloc_user(void *user, size_t bytes) { return UNIQL_MALLOC(bytes, user); }

UNIQLDEF uniql_result uniql_read_file(const char *path, void *alloc_user, void **data, size_t *size, uniql_error *err)
{
    uniql_result r;
    void *buf = NULL;
    if (!path || !data || !size) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "read_file: NULL argument");
    r = uniql__read_path(path, UINT64_MAX, uniql__alloc_user, alloc_user, &buf, size, NULL, err);
    if (r != UNIQL_OK) {
        if (buf) UNIQL_FREE(buf, alloc_user);
        buf = NULL;
        *size = 0;
    }
    *data = buf;
    return r;
}

UNIQLDEF void uniql_free_buffer(void *p, void *alloc_user)
{
    (void)alloc_user;
    if (p) UNIQL_FREE(p, alloc_user);
}



/* =====================================================================================
   IMPL 6b. Tokenizer (tokenizer.json) and Unicode
   ===================================================================================== */

/* BEGIN generated Unicode tables */
/* Unicode 15.0.0, generated by tools/gen_unicode.py from the Debian package unicode-data
   (UnicodeData.txt, CompositionExclusions.txt); do not edit, run `make unicode-tables`. */
#define UNIQL__UNICODE_VERSION "15.0.0"
static const uint32_t uniql__uc_gc[4007] = {
    0x1au,0x417u,0x432u,0x494u,0x4b2u,0x50eu,0x52fu,0x552u,0x573u,0x592u,
    0x5adu,0x5d2u,0x609u,0x752u,0x793u,0x7f2u,0x821u,0xb6eu,0xb92u,0xbafu,
    0xbd5u,0xbecu,0xc15u,0xc22u,0xf6eu,0xf93u,0xfafu,0xfd3u,0xffau,0x1417u,
    0x1432u,0x1454u,0x14d6u,0x14f2u,0x1515u,0x1536u,0x1545u,0x1570u,0x1593u,0x15bbu,
    0x15d6u,0x15f5u,0x1616u,0x1633u,0x164bu,0x1695u,0x16a2u,0x16d2u,0x1715u,0x172bu,
    0x1745u,0x1771u,0x178bu,0x17f2u,0x1801u,0x1af3u,0x1b01u,0x1be2u,0x1ef3u,0x1f02u,
    0x2001u,0x2022u,0x2041u,0x2062u,0x2081u,0x20a2u,0x20c1u,0x20e2u,0x2101u,0x2122u,
    0x2141u,0x2162u,0x2181u,0x21a2u,0x21c1u,0x21e2u,0x2201u,0x2222u,0x2241u,0x2262u,
    0x2281u,0x22a2u,0x22c1u,0x22e2u,0x2301u,0x2322u,0x2341u,0x2362u,0x2381u,0x23a2u,
    0x23c1u,0x23e2u,0x2401u,0x2422u,0x2441u,0x2462u,0x2481u,0x24a2u,0x24c1u,0x24e2u,
    0x2501u,0x2522u,0x2541u,0x2562u,0x2581u,0x25a2u,0x25c1u,0x25e2u,0x2601u,0x2622u,
    0x2641u,0x2662u,0x2681u,0x26a2u,0x26c1u,0x26e2u,0x2721u,0x2742u,0x2761u,0x2782u,
    0x27a1u,0x27c2u,0x27e1u,0x2802u,0x2821u,0x2842u,0x2861u,0x2882u,0x28a1u,0x28c2u,
    0x28e1u,0x2902u,0x2941u,0x2962u,0x2981u,0x29a2u,0x29c1u,0x29e2u,0x2a01u,0x2a22u,
    0x2a41u,0x2a62u,0x2a81u,0x2aa2u,0x2ac1u,0x2ae2u,0x2b01u,0x2b22u,0x2b41u,0x2b62u,
    0x2b81u,0x2ba2u,0x2bc1u,0x2be2u,0x2c01u,0x2c22u,0x2c41u,0x2c62u,0x2c81u,0x2ca2u,
    0x2cc1u,0x2ce2u,0x2d01u,0x2d22u,0x2d41u,0x2d62u,0x2d81u,0x2da2u,0x2dc1u,0x2de2u,
    0x2e01u,0x2e22u,0x2e41u,0x2e62u,0x2e81u,0x2ea2u,0x2ec1u,0x2ee2u,0x2f01u,0x2f42u,
    0x2f61u,0x2f82u,0x2fa1u,0x2fc2u,0x3021u,0x3062u,0x3081u,0x30a2u,0x30c1u,0x3102u,
    0x3121u,0x3182u,0x31c1u,0x3242u,0x3261u,0x32a2u,0x32c1u,0x3322u,0x3381u,0x33c2u,
    0x33e1u,0x3422u,0x3441u,0x3462u,0x3481u,0x34a2u,0x34c1u,0x3502u,0x3521u,0x3542u,
    0x3581u,0x35a2u,0x35c1u,0x3602u,0x3621u,0x3682u,0x36a1u,0x36c2u,0x36e1u,0x3722u,
    0x3765u,0x3781u,0x37a2u,0x3805u,0x3881u,0x38a3u,0x38c2u,0x38e1u,0x3903u,0x3922u,
    0x3941u,0x3963u,0x3982u,0x39a1u,0x39c2u,0x39e1u,0x3a02u,0x3a21u,0x3a42u,0x3a61u,
    0x3a82u,0x3aa1u,0x3ac2u,0x3ae1u,0x3b02u,0x3b21u,0x3b42u,0x3b61u,0x3b82u,0x3bc1u,
    0x3be2u,0x3c01u,0x3c22u,0x3c41u,0x3c62u,0x3c81u,0x3ca2u,0x3cc1u,0x3ce2u,0x3d01u,
    0x3d22u,0x3d41u,0x3d62u,0x3d81u,0x3da2u,0x3dc1u,0x3de2u,0x3e21u,0x3e43u,0x3e62u,
    0x3e81u,0x3ea2u,0x3ec1u,0x3f22u,0x3f41u,0x3f62u,0x3f81u,0x3fa2u,0x3fc1u,0x3fe2u,
    0x4001u,0x4022u,0x4041u,0x4062u,0x4081u,0x40a2u,0x40c1u,0x40e2u,0x4101u,0x4122u,
    0x4141u,0x4162u,0x4181u,0x41a2u,0x41c1u,0x41e2u,0x4201u,0x4222u,0x4241u,0x4262u,
    0x4281u,0x42a2u,0x42c1u,0x42e2u,0x4301u,0x4322u,0x4341u,0x4362u,0x4381u,0x43a2u,
    0x43c1u,0x43e2u,0x4401u,0x4422u,0x4441u,0x4462u,0x4481u,0x44a2u,0x44c1u,0x44e2u,
    0x4501u,0x4522u,0x4541u,0x4562u,0x4581u,0x45a2u,0x45c1u,0x45e2u,0x4601u,0x4622u,
    0x4641u,0x4662u,0x4741u,0x4782u,0x47a1u,0x47e2u,0x4821u,0x4842u,0x4861u,0x48e2u,
    0x4901u,0x4922u,0x4941u,0x4962u,0x4981u,0x49a2u,0x49c1u,0x49e2u,0x5285u,0x52a2u,
    0x5604u,0x5855u,0x58c4u,0x5a55u,0x5c04u,0x5cb5u,0x5d84u,0x5db5u,0x5dc4u,0x5df5u,
    0x6006u,0x6e01u,0x6e22u,0x6e41u,0x6e62u,0x6e84u,0x6eb5u,0x6ec1u,0x6ee2u,0x6f00u,
    0x6f44u,0x6f62u,0x6fd2u,0x6fe1u,0x7000u,0x7095u,0x70c1u,0x70f2u,0x7101u,0x7160u,
    0x7181u,0x71a0u,0x71c1u,0x7202u,0x7221u,0x7440u,0x7461u,0x7582u,0x79e1u,0x7a02u,
    0x7a41u,0x7aa2u,0x7b01u,0x7b22u,0x7b41u,0x7b62u,0x7b81u,0x7ba2u,0x7bc1u,0x7be2u,
    0x7c01u,0x7c22u,0x7c41u,0x7c62u,0x7c81u,0x7ca2u,0x7cc1u,0x7ce2u,0x7d01u,0x7d22u,
    0x7d41u,0x7d62u,0x7d81u,0x7da2u,0x7dc1u,0x7de2u,0x7e81u,0x7ea2u,0x7ed3u,0x7ee1u,
    0x7f02u,0x7f21u,0x7f62u,0x7fa1u,0x8602u,0x8c01u,0x8c22u,0x8c41u,0x8c62u,0x8c81u,
    0x8ca2u,0x8cc1u,0x8ce2u,0x8d01u,0x8d22u,0x8d41u,0x8d62u,0x8d81u,0x8da2u,0x8dc1u,
    0x8de2u,0x8e01u,0x8e22u,0x8e41u,0x8e62u,0x8e81u,0x8ea2u,0x8ec1u,0x8ee2u,0x8f01u,
    0x8f22u,0x8f41u,0x8f62u,0x8f81u,0x8fa2u,0x8fc1u,0x8fe2u,0x9001u,0x9022u,0x9056u,
    0x9066u,0x9108u,0x9141u,0x9162u,0x9181u,0x91a2u,0x91c1u,0x91e2u,0x9201u,0x9222u,
    0x9241u,0x9262u,0x9281u,0x92a2u,0x92c1u,0x92e2u,0x9301u,0x9322u,0x9341u,0x9362u,
    0x9381u,0x93a2u,0x93c1u,0x93e2u,0x9401u,0x9422u,0x9441u,0x9462u,0x9481u,0x94a2u,
    0x94c1u,0x94e2u,0x9501u,0x9522u,0x9541u,0x9562u,0x9581u,0x95a2u,0x95c1u,0x95e2u,
    0x9601u,0x9622u,0x9641u,0x9662u,0x9681u,0x96a2u,0x96c1u,0x96e2u,0x9701u,0x9722u,
    0x9741u,0x9762u,0x9781u,0x97a2u,0x97c1u,0x97e2u,0x9801u,0x9842u,0x9861u,0x9882u,
    0x98a1u,0x98c2u,0x98e1u,0x9902u,0x9921u,0x9942u,0x9961u,0x9982u,0x99a1u,0x99c2u,
    0x9a01u,0x9a22u,0x9a41u,0x9a62u,0x9a81u,0x9aa2u,0x9ac1u,0x9ae2u,0x9b01u,0x9b22u,
    0x9b41u,0x9b62u,0x9b81u,0x9ba2u,0x9bc1u,0x9be2u,0x9c01u,0x9c22u,0x9c41u,0x9c62u,
    0x9c81u,0x9ca2u,0x9cc1u,0x9ce2u,0x9d01u,0x9d22u,0x9d41u,0x9d62u,0x9d81u,0x9da2u,
    0x9dc1u,0x9de2u,0x9e01u,0x9e22u,0x9e41u,0x9e62u,0x9e81u,0x9ea2u,0x9ec1u,0x9ee2u,
    0x9f01u,0x9f22u,0x9f41u,0x9f62u,0x9f81u,0x9fa2u,0x9fc1u,0x9fe2u,0xa001u,0xa022u,
    0xa041u,0xa062u,0xa081u,0xa0a2u,0xa0c1u,0xa0e2u,0xa101u,0xa122u,0xa141u,0xa162u,
    0xa181u,0xa1a2u,0xa1c1u,0xa1e2u,0xa201u,0xa222u,0xa241u,0xa262u,0xa281u,0xa2a2u,
    0xa2c1u,0xa2e2u,0xa301u,0xa322u,0xa341u,0xa362u,0xa381u,0xa3a2u,0xa3c1u,0xa3e2u,
    0xa401u,0xa422u,0xa441u,0xa462u,0xa481u,0xa4a2u,0xa4c1u,0xa4e2u,0xa501u,0xa522u,
    0xa541u,0xa562u,0xa581u,0xa5a2u,0xa5c1u,0xa5e2u,0xa600u,0xa621u,0xaae0u,0xab24u,
    0xab52u,0xac02u,0xb132u,0xb14du,0xb160u,0xb1b6u,0xb1f4u,0xb200u,0xb226u,0xb7cdu,
    0xb7e6u,0xb812u,0xb826u,0xb872u,0xb886u,0xb8d2u,0xb8e6u,0xb900u,0xba05u,0xbd60u,
    0xbde5u,0xbe72u,0xbea0u,0xc01bu,0xc0d3u,0xc132u,0xc174u,0xc192u,0xc1d6u,0xc206u,
    0xc372u,0xc39bu,0xc3b2u,0xc405u,0xc804u,0xc825u,0xc966u,0xcc09u,0xcd52u,0xcdc5u,
    0xce06u,0xce25u,0xda92u,0xdaa5u,0xdac6u,0xdbbbu,0xdbd6u,0xdbe6u,0xdca4u,0xdce6u,
    0xdd36u,0xdd46u,0xddc5u,0xde09u,0xdf45u,0xdfb6u,0xdfe5u,0xe012u,0xe1c0u,0xe1fbu,
    0xe205u,0xe226u,0xe245u,0xe606u,0xe960u,0xe9a5u,0xf4c6u,0xf625u,0xf640u,0xf809u,
    0xf945u,0xfd66u,0xfe84u,0xfed6u,0xfef2u,0xff44u,0xff60u,0xffa6u,0xffd4u,0x10005u,
    0x102c6u,0x10344u,0x10366u,0x10484u,0x104a6u,0x10504u,0x10526u,0x105c0u,0x10612u,0x107e0u,
    0x10805u,0x10b26u,0x10b80u,0x10bd2u,0x10be0u,0x10c05u,0x10d60u,0x10e05u,0x11115u,0x11125u,
    0x111e0u,0x1121bu,0x11240u,0x11306u,0x11405u,0x11924u,0x11946u,0x11c5bu,0x11c66u,0x12067u,
    0x12085u,0x12746u,0x12767u,0x12786u,0x127a5u,0x127c7u,0x12826u,0x12927u,0x129a6u,0x129c7u,
    0x12a05u,0x12a26u,0x12b05u,0x12c46u,0x12c92u,0x12cc9u,0x12e12u,0x12e24u,0x12e45u,0x13026u,
    0x13047u,0x13080u,0x130a5u,0x131a0u,0x131e5u,0x13220u,0x13265u,0x13520u,0x13545u,0x13620u,
    0x13645u,0x13660u,0x136c5u,0x13740u,0x13786u,0x137a5u,0x137c7u,0x13826u,0x138a0u,0x138e7u,
    0x13920u,0x13967u,0x139a6u,0x139c5u,0x139e0u,0x13ae7u,0x13b00u,0x13b85u,0x13bc0u,0x13be5u,
    0x13c46u,0x13c80u,0x13cc9u,0x13e05u,0x13e54u,0x13e8bu,0x13f56u,0x13f74u,0x13f85u,0x13fb2u,
    0x13fc6u,0x13fe0u,0x14026u,0x14067u,0x14080u,0x140a5u,0x14160u,0x141e5u,0x14220u,0x14265u,
    0x14520u,0x14545u,0x14620u,0x14645u,0x14680u,0x146a5u,0x146e0u,0x14705u,0x14740u,0x14786u,
    0x147a0u,0x147c7u,0x14826u,0x14860u,0x148e6u,0x14920u,0x14966u,0x149c0u,0x14a26u,0x14a40u,
    0x14b25u,0x14ba0u,0x14bc5u,0x14be0u,0x14cc9u,0x14e06u,0x14e45u,0x14ea6u,0x14ed2u,0x14ee0u,
    0x15026u,0x15067u,0x15080u,0x150a5u,0x151c0u,0x151e5u,0x15240u,0x15265u,0x15520u,0x15545u,
    0x15620u,0x15645u,0x15680u,0x156a5u,0x15740u,0x15786u,0x157a5u,0x157c7u,0x15826u,0x158c0u,
    0x158e6u,0x15927u,0x15940u,0x15967u,0x159a6u,0x159c0u,0x15a05u,0x15a20u,0x15c05u,0x15c46u,
    0x15c80u,0x15cc9u,0x15e12u,0x15e34u,0x15e40u,0x15f25u,0x15f46u,0x16000u,0x16026u,0x16047u,
    0x16080u,0x160a5u,0x161a0u,0x161e5u,0x16220u,0x16265u,0x16520u,0x16545u,0x16620u,0x16645u,
    0x16680u,0x166a5u,0x16740u,0x16786u,0x167a5u,0x167c7u,0x167e6u,0x16807u,0x16826u,0x168a0u,
    0x168e7u,0x16920u,0x16967u,0x169a6u,0x169c0u,0x16aa6u,0x16ae7u,0x16b00u,0x16b85u,0x16bc0u,
    0x16be5u,0x16c46u,0x16c80u,0x16cc9u,0x16e16u,0x16e25u,0x16e4bu,0x16f00u,0x17046u,0x17065u,
    0x17080u,0x170a5u,0x17160u,0x171c5u,0x17220u,0x17245u,0x172c0u,0x17325u,0x17360u,0x17385u,
    0x173a0u,0x173c5u,0x17400u,0x17465u,0x174a0u,0x17505u,0x17560u,0x175c5u,0x17740u,0x177c7u,
    0x17806u,0x17827u,0x17860u,0x178c7u,0x17920u,0x17947u,0x179a6u,0x179c0u,0x17a05u,0x17a20u,
    0x17ae7u,0x17b00u,0x17cc9u,0x17e0bu,0x17e76u,0x17f34u,0x17f56u,0x17f60u,0x18006u,0x18027u,
    0x18086u,0x180a5u,0x181a0u,0x181c5u,0x18220u,0x18245u,0x18520u,0x18545u,0x18740u,0x18786u,
    0x187a5u,0x187c6u,0x18827u,0x188a0u,0x188c6u,0x18920u,0x18946u,0x189c0u,0x18aa6u,0x18ae0u,
    0x18b05u,0x18b60u,0x18ba5u,0x18bc0u,0x18c05u,0x18c46u,0x18c80u,0x18cc9u,0x18e00u,0x18ef2u,
    0x18f0bu,0x18ff6u,0x19005u,0x19026u,0x19047u,0x19092u,0x190a5u,0x191a0u,0x191c5u,0x19220u,
    0x19245u,0x19520u,0x19545u,0x19680u,0x196a5u,0x19740u,0x19786u,0x197a5u,0x197c7u,0x197e6u,
    0x19807u,0x198a0u,0x198c6u,0x198e7u,0x19920u,0x19947u,0x19986u,0x199c0u,0x19aa7u,0x19ae0u,
    0x19ba5u,0x19be0u,0x19c05u,0x19c46u,0x19c80u,0x19cc9u,0x19e00u,0x19e25u,0x19e67u,0x19e80u,
    0x1a006u,0x1a047u,0x1a085u,0x1a1a0u,0x1a1c5u,0x1a220u,0x1a245u,0x1a766u,0x1a7a5u,0x1a7c7u,
    0x1a826u,0x1a8a0u,0x1a8c7u,0x1a920u,0x1a947u,0x1a9a6u,0x1a9c5u,0x1a9f6u,0x1aa00u,0x1aa85u,
    0x1aae7u,0x1ab0bu,0x1abe5u,0x1ac46u,0x1ac80u,0x1acc9u,0x1ae0bu,0x1af36u,0x1af45u,0x1b000u,
    0x1b026u,0x1b047u,0x1b080u,0x1b0a5u,0x1b2e0u,0x1b345u,0x1b640u,0x1b665u,0x1b780u,0x1b7a5u,
    0x1b7c0u,0x1b805u,0x1b8e0u,0x1b946u,0x1b960u,0x1b9e7u,0x1ba46u,0x1baa0u,0x1bac6u,0x1bae0u,
    0x1bb07u,0x1bc00u,0x1bcc9u,0x1be00u,0x1be47u,0x1be92u,0x1bea0u,0x1c025u,0x1c626u,0x1c645u,
    0x1c686u,0x1c760u,0x1c7f4u,0x1c805u,0x1c8c4u,0x1c8e6u,0x1c9f2u,0x1ca09u,0x1cb52u,0x1cb80u,
    0x1d025u,0x1d060u,0x1d085u,0x1d0a0u,0x1d0c5u,0x1d160u,0x1d185u,0x1d480u,0x1d4a5u,0x1d4c0u,
    0x1d4e5u,0x1d626u,0x1d645u,0x1d686u,0x1d7a5u,0x1d7c0u,0x1d805u,0x1d8a0u,0x1d8c4u,0x1d8e0u,
    0x1d906u,0x1d9e0u,0x1da09u,0x1db40u,0x1db85u,0x1dc00u,0x1e005u,0x1e036u,0x1e092u,0x1e276u,
    0x1e292u,0x1e2b6u,0x1e306u,0x1e356u,0x1e409u,0x1e54bu,0x1e696u,0x1e6a6u,0x1e6d6u,0x1e6e6u,
    0x1e716u,0x1e726u,0x1e74eu,0x1e76fu,0x1e78eu,0x1e7afu,0x1e7c7u,0x1e805u,0x1e900u,0x1e925u,
    0x1eda0u,0x1ee26u,0x1efe7u,0x1f006u,0x1f0b2u,0x1f0c6u,0x1f105u,0x1f1a6u,0x1f300u,0x1f326u,
    0x1f7a0u,0x1f7d6u,0x1f8c6u,0x1f8f6u,0x1f9a0u,0x1f9d6u,0x1fa12u,0x1fab6u,0x1fb32u,0x1fb60u,
    0x20005u,0x20567u,0x205a6u,0x20627u,0x20646u,0x20707u,0x20726u,0x20767u,0x207a6u,0x207e5u,
    0x20809u,0x20952u,0x20a05u,0x20ac7u,0x20b06u,0x20b45u,0x20bc6u,0x20c25u,0x20c47u,0x20ca5u,
    0x20ce7u,0x20dc5u,0x20e26u,0x20ea5u,0x21046u,0x21067u,0x210a6u,0x210e7u,0x211a6u,0x211c5u,
    0x211e7u,0x21209u,0x21347u,0x213a6u,0x213d6u,0x21401u,0x218c0u,0x218e1u,0x21900u,0x219a1u,
    0x219c0u,0x21a02u,0x21f72u,0x21f84u,0x21fa2u,0x22005u,0x24920u,0x24945u,0x249c0u,0x24a05u,
    0x24ae0u,0x24b05u,0x24b20u,0x24b45u,0x24bc0u,0x24c05u,0x25120u,0x25145u,0x251c0u,0x25205u,
    0x25620u,0x25645u,0x256c0u,0x25705u,0x257e0u,0x25805u,0x25820u,0x25845u,0x258c0u,0x25905u,
    0x25ae0u,0x25b05u,0x26220u,0x26245u,0x262c0u,0x26305u,0x26b60u,0x26ba6u,0x26c12u,0x26d2bu,
    0x26fa0u,0x27005u,0x27216u,0x27340u,0x27401u,0x27ec0u,0x27f02u,0x27fc0u,0x2800du,0x28025u,
    0x2cdb6u,0x2cdd2u,0x2cde5u,0x2d017u,0x2d025u,0x2d36eu,0x2d38fu,0x2d3a0u,0x2d405u,0x2dd72u,
    0x2ddcau,0x2de25u,0x2df20u,0x2e005u,0x2e246u,0x2e2a7u,0x2e2c0u,0x2e3e5u,0x2e646u,0x2e687u,
    0x2e6b2u,0x2e6e0u,0x2e805u,0x2ea46u,0x2ea80u,0x2ec05u,0x2eda0u,0x2edc5u,0x2ee20u,0x2ee46u,
    0x2ee80u,0x2f005u,0x2f686u,0x2f6c7u,0x2f6e6u,0x2f7c7u,0x2f8c6u,0x2f8e7u,0x2f926u,0x2fa92u,
    0x2fae4u,0x2fb12u,0x2fb74u,0x2fb85u,0x2fba6u,0x2fbc0u,0x2fc09u,0x2fd40u,0x2fe0bu,0x2ff40u,
    0x30012u,0x300cdu,0x300f2u,0x30166u,0x301dbu,0x301e6u,0x30209u,0x30340u,0x30405u,0x30864u,
    0x30885u,0x30f20u,0x31005u,0x310a6u,0x310e5u,0x31526u,0x31545u,0x31560u,0x31605u,0x31ec0u,
    0x32005u,0x323e0u,0x32406u,0x32467u,0x324e6u,0x32527u,0x32580u,0x32607u,0x32646u,0x32667u,
    0x32726u,0x32780u,0x32816u,0x32820u,0x32892u,0x328c9u,0x32a05u,0x32dc0u,0x32e05u,0x32ea0u,
    0x33005u,0x33580u,0x33605u,0x33940u,0x33a09u,0x33b4bu,0x33b60u,0x33bd6u,0x34005u,0x342e6u,
    0x34327u,0x34366u,0x34380u,0x343d2u,0x34405u,0x34aa7u,0x34ac6u,0x34ae7u,0x34b06u,0x34be0u,
    0x34c06u,0x34c27u,0x34c46u,0x34c67u,0x34ca6u,0x34da7u,0x34e66u,0x34fa0u,0x34fe6u,0x35009u,
    0x35140u,0x35209u,0x35340u,0x35412u,0x354e4u,0x35512u,0x355c0u,0x35606u,0x357c8u,0x357e6u,
    0x359e0u,0x36006u,0x36087u,0x360a5u,0x36686u,0x366a7u,0x366c6u,0x36767u,0x36786u,0x367a7u,
    0x36846u,0x36867u,0x368a5u,0x369a0u,0x36a09u,0x36b52u,0x36c36u,0x36d66u,0x36e96u,0x36fb2u,
    0x36fe0u,0x37006u,0x37047u,0x37065u,0x37427u,0x37446u,0x374c7u,0x37506u,0x37547u,0x37566u,
    0x375c5u,0x37609u,0x37745u,0x37cc6u,0x37ce7u,0x37d06u,0x37d47u,0x37da6u,0x37dc7u,0x37de6u,
    0x37e47u,0x37e80u,0x37f92u,0x38005u,0x38487u,0x38586u,0x38687u,0x386c6u,0x38700u,0x38772u,
    0x38809u,0x38940u,0x389a5u,0x38a09u,0x38b45u,0x38f04u,0x38fd2u,0x39002u,0x39120u,0x39201u,
    0x39760u,0x397a1u,0x39812u,0x39900u,0x39a06u,0x39a72u,0x39a86u,0x39c27u,0x39c46u,0x39d25u,
    0x39da6u,0x39dc5u,0x39e86u,0x39ea5u,0x39ee7u,0x39f06u,0x39f45u,0x39f60u,0x3a002u,0x3a584u,
    0x3ad62u,0x3af04u,0x3af22u,0x3b364u,0x3b806u,0x3c001u,0x3c022u,0x3c041u,0x3c062u,0x3c081u,
    0x3c0a2u,0x3c0c1u,0x3c0e2u,0x3c101u,0x3c122u,0x3c141u,0x3c162u,0x3c181u,0x3c1a2u,0x3c1c1u,
    0x3c1e2u,0x3c201u,0x3c222u,0x3c241u,0x3c262u,0x3c281u,0x3c2a2u,0x3c2c1u,0x3c2e2u,0x3c301u,
    0x3c322u,0x3c341u,0x3c362u,0x3c381u,0x3c3a2u,0x3c3c1u,0x3c3e2u,0x3c401u,0x3c422u,0x3c441u,
    0x3c462u,0x3c481u,0x3c4a2u,0x3c4c1u,0x3c4e2u,0x3c501u,0x3c522u,0x3c541u,0x3c562u,0x3c581u,
    0x3c5a2u,0x3c5c1u,0x3c5e2u,0x3c601u,0x3c622u,0x3c641u,0x3c662u,0x3c681u,0x3c6a2u,0x3c6c1u,
    0x3c6e2u,0x3c701u,0x3c722u,0x3c741u,0x3c762u,0x3c781u,0x3c7a2u,0x3c7c1u,0x3c7e2u,0x3c801u,
    0x3c822u,0x3c841u,0x3c862u,0x3c881u,0x3c8a2u,0x3c8c1u,0x3c8e2u,0x3c901u,0x3c922u,0x3c941u,
    0x3c962u,0x3c981u,0x3c9a2u,0x3c9c1u,0x3c9e2u,0x3ca01u,0x3ca22u,0x3ca41u,0x3ca62u,0x3ca81u,
    0x3caa2u,0x3cac1u,0x3cae2u,0x3cb01u,0x3cb22u,0x3cb41u,0x3cb62u,0x3cb81u,0x3cba2u,0x3cbc1u,
    0x3cbe2u,0x3cc01u,0x3cc22u,0x3cc41u,0x3cc62u,0x3cc81u,0x3cca2u,0x3ccc1u,0x3cce2u,0x3cd01u,
    0x3cd22u,0x3cd41u,0x3cd62u,0x3cd81u,0x3cda2u,0x3cdc1u,0x3cde2u,0x3ce01u,0x3ce22u,0x3ce41u,
    0x3ce62u,0x3ce81u,0x3cea2u,0x3cec1u,0x3cee2u,0x3cf01u,0x3cf22u,0x3cf41u,0x3cf62u,0x3cf81u,
    0x3cfa2u,0x3cfc1u,0x3cfe2u,0x3d001u,0x3d022u,0x3d041u,0x3d062u,0x3d081u,0x3d0a2u,0x3d0c1u,
    0x3d0e2u,0x3d101u,0x3d122u,0x3d141u,0x3d162u,0x3d181u,0x3d1a2u,0x3d1c1u,0x3d1e2u,0x3d201u,
    0x3d222u,0x3d241u,0x3d262u,0x3d281u,0x3d2a2u,0x3d3c1u,0x3d3e2u,0x3d401u,0x3d422u,0x3d441u,
    0x3d462u,0x3d481u,0x3d4a2u,0x3d4c1u,0x3d4e2u,0x3d501u,0x3d522u,0x3d541u,0x3d562u,0x3d581u,
    0x3d5a2u,0x3d5c1u,0x3d5e2u,0x3d601u,0x3d622u,0x3d641u,0x3d662u,0x3d681u,0x3d6a2u,0x3d6c1u,
    0x3d6e2u,0x3d701u,0x3d722u,0x3d741u,0x3d762u,0x3d781u,0x3d7a2u,0x3d7c1u,0x3d7e2u,0x3d801u,
    0x3d822u,0x3d841u,0x3d862u,0x3d881u,0x3d8a2u,0x3d8c1u,0x3d8e2u,0x3d901u,0x3d922u,0x3d941u,
    0x3d962u,0x3d981u,0x3d9a2u,0x3d9c1u,0x3d9e2u,0x3da01u,0x3da22u,0x3da41u,0x3da62u,0x3da81u,
    0x3daa2u,0x3dac1u,0x3dae2u,0x3db01u,0x3db22u,0x3db41u,0x3db62u,0x3db81u,0x3dba2u,0x3dbc1u,
    0x3dbe2u,0x3dc01u,0x3dc22u,0x3dc41u,0x3dc62u,0x3dc81u,0x3dca2u,0x3dcc1u,0x3dce2u,0x3dd01u,
    0x3dd22u,0x3dd41u,0x3dd62u,0x3dd81u,0x3dda2u,0x3ddc1u,0x3dde2u,0x3de01u,0x3de22u,0x3de41u,
    0x3de62u,0x3de81u,0x3dea2u,0x3dec1u,0x3dee2u,0x3df01u,0x3df22u,0x3df41u,0x3df62u,0x3df81u,
    0x3dfa2u,0x3dfc1u,0x3dfe2u,0x3e101u,0x3e202u,0x3e2c0u,0x3e301u,0x3e3c0u,0x3e402u,0x3e501u,
    0x3e602u,0x3e701u,0x3e802u,0x3e8c0u,0x3e901u,0x3e9c0u,0x3ea02u,0x3eb00u,0x3eb21u,0x3eb40u,
    0x3eb61u,0x3eb80u,0x3eba1u,0x3ebc0u,0x3ebe1u,0x3ec02u,0x3ed01u,0x3ee02u,0x3efc0u,0x3f002u,
    0x3f103u,0x3f202u,0x3f303u,0x3f402u,0x3f503u,0x3f602u,0x3f6a0u,0x3f6c2u,0x3f701u,0x3f783u,
    0x3f7b5u,0x3f7c2u,0x3f7f5u,0x3f842u,0x3f8a0u,0x3f8c2u,0x3f901u,0x3f983u,0x3f9b5u,0x3fa02u,
    0x3fa80u,0x3fac2u,0x3fb01u,0x3fb80u,0x3fbb5u,0x3fc02u,0x3fd01u,0x3fdb5u,0x3fe00u,0x3fe42u,
    0x3fea0u,0x3fec2u,0x3ff01u,0x3ff83u,0x3ffb5u,0x3ffe0u,0x40017u,0x4017bu,0x4020du,0x402d2u,
    0x40310u,0x40331u,0x4034eu,0x40370u,0x403b1u,0x403ceu,0x403f0u,0x40412u,0x40518u,0x40539u,
    0x4055bu,0x405f7u,0x40612u,0x40730u,0x40751u,0x40772u,0x407ecu,0x40832u,0x40893u,0x408aeu,
    0x408cfu,0x408f2u,0x40a53u,0x40a72u,0x40a8cu,0x40ab2u,0x40bf7u,0x40c1bu,0x40ca0u,0x40cdbu,
    0x40e0bu,0x40e24u,0x40e40u,0x40e8bu,0x40f53u,0x40faeu,0x40fcfu,0x40fe4u,0x4100bu,0x41153u,
    0x411aeu,0x411cfu,0x411e0u,0x41204u,0x413a0u,0x41414u,0x41820u,0x41a06u,0x41ba8u,0x41c26u,
    0x41c48u,0x41ca6u,0x41e20u,0x42016u,0x42041u,0x42076u,0x420e1u,0x42116u,0x42142u,0x42161u,
    0x421c2u,0x42201u,0x42262u,0x42296u,0x422a1u,0x422d6u,0x42313u,0x42321u,0x423d6u,0x42481u,
    0x424b6u,0x424c1u,0x424f6u,0x42501u,0x42536u,0x42541u,0x425d6u,0x425e2u,0x42601u,0x42682u,
    0x426a5u,0x42722u,0x42756u,0x42782u,0x427c1u,0x42813u,0x428a1u,0x428c2u,0x42956u,0x42973u,
    0x42996u,0x429c2u,0x429f6u,0x42a0bu,0x42c0au,0x43061u,0x43082u,0x430aau,0x4312bu,0x43156u,
    0x43180u,0x43213u,0x432b6u,0x43353u,0x43396u,0x43413u,0x43436u,0x43473u,0x43496u,0x434d3u,
    0x434f6u,0x435d3u,0x435f6u,0x439d3u,0x43a16u,0x43a53u,0x43a76u,0x43a93u,0x43ab6u,0x43e93u,
    0x46016u,0x4610eu,0x4612fu,0x4614eu,0x4616fu,0x46196u,0x46413u,0x46456u,0x4652eu,0x4654fu,
    0x46576u,0x46f93u,0x46fb6u,0x47373u,0x47696u,0x47b93u,0x47c56u,0x484e0u,0x48816u,0x48960u,
    0x48c0bu,0x49396u,0x49d4bu,0x4a016u,0x4b6f3u,0x4b716u,0x4b833u,0x4b856u,0x4bf13u,0x4c016u,
    0x4cdf3u,0x4ce16u,0x4ed0eu,0x4ed2fu,0x4ed4eu,0x4ed6fu,0x4ed8eu,0x4edafu,0x4edceu,0x4edefu,
    0x4ee0eu,0x4ee2fu,0x4ee4eu,0x4ee6fu,0x4ee8eu,0x4eeafu,0x4eecbu,0x4f296u,0x4f813u,0x4f8aeu,
    0x4f8cfu,0x4f8f3u,0x4fcceu,0x4fcefu,0x4fd0eu,0x4fd2fu,0x4fd4eu,0x4fd6fu,0x4fd8eu,0x4fdafu,
    0x4fdceu,0x4fdefu,0x4fe13u,0x50016u,0x52013u,0x5306eu,0x5308fu,0x530aeu,0x530cfu,0x530eeu,
    0x5310fu,0x5312eu,0x5314fu,0x5316eu,0x5318fu,0x531aeu,0x531cfu,0x531eeu,0x5320fu,0x5322eu,
    0x5324fu,0x5326eu,0x5328fu,0x532aeu,0x532cfu,0x532eeu,0x5330fu,0x53333u,0x53b0eu,0x53b2fu,
    0x53b4eu,0x53b6fu,0x53b93u,0x53f8eu,0x53fafu,0x53fd3u,0x56016u,0x56613u,0x568b6u,0x568f3u,
    0x569b6u,0x56e80u,0x56ed6u,0x572c0u,0x572f6u,0x58001u,0x58602u,0x58c01u,0x58c22u,0x58c41u,
    0x58ca2u,0x58ce1u,0x58d02u,0x58d21u,0x58d42u,0x58d61u,0x58d82u,0x58da1u,0x58e22u,0x58e41u,
    0x58e62u,0x58ea1u,0x58ec2u,0x58f84u,0x58fc1u,0x59022u,0x59041u,0x59062u,0x59081u,0x590a2u,
    0x590c1u,0x590e2u,0x59101u,0x59122u,0x59141u,0x59162u,0x59181u,0x591a2u,0x591c1u,0x591e2u,
    0x59201u,0x59222u,0x59241u,0x59262u,0x59281u,0x592a2u,0x592c1u,0x592e2u,0x59301u,0x59322u,
    0x59341u,0x59362u,0x59381u,0x593a2u,0x593c1u,0x593e2u,0x59401u,0x59422u,0x59441u,0x59462u,
    0x59481u,0x594a2u,0x594c1u,0x594e2u,0x59501u,0x59522u,0x59541u,0x59562u,0x59581u,0x595a2u,
    0x595c1u,0x595e2u,0x59601u,0x59622u,0x59641u,0x59662u,0x59681u,0x596a2u,0x596c1u,0x596e2u,
    0x59701u,0x59722u,0x59741u,0x59762u,0x59781u,0x597a2u,0x597c1u,0x597e2u,0x59801u,0x59822u,
    0x59841u,0x59862u,0x59881u,0x598a2u,0x598c1u,0x598e2u,0x59901u,0x59922u,0x59941u,0x59962u,
    0x59981u,0x599a2u,0x599c1u,0x599e2u,0x59a01u,0x59a22u,0x59a41u,0x59a62u,0x59a81u,0x59aa2u,
    0x59ac1u,0x59ae2u,0x59b01u,0x59b22u,0x59b41u,0x59b62u,0x59b81u,0x59ba2u,0x59bc1u,0x59be2u,
    0x59c01u,0x59c22u,0x59c41u,0x59c62u,0x59cb6u,0x59d61u,0x59d82u,0x59da1u,0x59dc2u,0x59de6u,
    0x59e41u,0x59e62u,0x59e80u,0x59f32u,0x59fabu,0x59fd2u,0x5a002u,0x5a4c0u,0x5a4e2u,0x5a500u,
    0x5a5a2u,0x5a5c0u,0x5a605u,0x5ad00u,0x5ade4u,0x5ae12u,0x5ae20u,0x5afe6u,0x5b005u,0x5b2e0u,
    0x5b405u,0x5b4e0u,0x5b505u,0x5b5e0u,0x5b605u,0x5b6e0u,0x5b705u,0x5b7e0u,0x5b805u,0x5b8e0u,
    0x5b905u,0x5b9e0u,0x5ba05u,0x5bae0u,0x5bb05u,0x5bbe0u,0x5bc06u,0x5c012u,0x5c050u,0x5c071u,
    0x5c090u,0x5c0b1u,0x5c0d2u,0x5c130u,0x5c151u,0x5c172u,0x5c190u,0x5c1b1u,0x5c1d2u,0x5c2edu,
    0x5c312u,0x5c34du,0x5c372u,0x5c390u,0x5c3b1u,0x5c3d2u,0x5c410u,0x5c431u,0x5c44eu,0x5c46fu,
    0x5c48eu,0x5c4afu,0x5c4ceu,0x5c4efu,0x5c50eu,0x5c52fu,0x5c552u,0x5c5e4u,0x5c612u,0x5c74du,
    0x5c792u,0x5c80du,0x5c832u,0x5c84eu,0x5c872u,0x5ca16u,0x5ca52u,0x5caaeu,0x5cacfu,0x5caeeu,
    0x5cb0fu,0x5cb2eu,0x5cb4fu,0x5cb6eu,0x5cb8fu,0x5cbadu,0x5cbc0u,0x5d016u,0x5d340u,0x5d376u,
    0x5de80u,0x5e016u,0x5fac0u,0x5fe16u,0x5ff80u,0x60017u,0x60032u,0x60096u,0x600a4u,0x600c5u,
    0x600eau,0x6010eu,0x6012fu,0x6014eu,0x6016fu,0x6018eu,0x601afu,0x601ceu,0x601efu,0x6020eu,
    0x6022fu,0x60256u,0x6028eu,0x602afu,0x602ceu,0x602efu,0x6030eu,0x6032fu,0x6034eu,0x6036fu,
    0x6038du,0x603aeu,0x603cfu,0x60416u,0x6042au,0x60546u,0x605c7u,0x6060du,0x60624u,0x606d6u,
    0x6070au,0x60764u,0x60785u,0x607b2u,0x607d6u,0x60800u,0x60825u,0x612e0u,0x61326u,0x61375u,
    0x613a4u,0x613e5u,0x6140du,0x61425u,0x61f72u,0x61f84u,0x61fe5u,0x62000u,0x620a5u,0x62600u,
    0x62625u,0x631e0u,0x63216u,0x6324bu,0x632d6u,0x63405u,0x63816u,0x63c80u,0x63e05u,0x64016u,
    0x643e0u,0x6440bu,0x64556u,0x6490bu,0x64a16u,0x64a2bu,0x64c16u,0x6500bu,0x65156u,0x6562bu,
    0x65816u,0x68005u,0x9b816u,0x9c005u,0x1402a4u,0x1402c5u,0x1491a0u,0x149216u,0x1498e0u,0x149a05u,
    0x149f04u,0x149fd2u,0x14a005u,0x14c184u,0x14c1b2u,0x14c205u,0x14c409u,0x14c545u,0x14c580u,0x14c801u,
    0x14c822u,0x14c841u,0x14c862u,0x14c881u,0x14c8a2u,0x14c8c1u,0x14c8e2u,0x14c901u,0x14c922u,0x14c941u,
    0x14c962u,0x14c981u,0x14c9a2u,0x14c9c1u,0x14c9e2u,0x14ca01u,0x14ca22u,0x14ca41u,0x14ca62u,0x14ca81u,
    0x14caa2u,0x14cac1u,0x14cae2u,0x14cb01u,0x14cb22u,0x14cb41u,0x14cb62u,0x14cb81u,0x14cba2u,0x14cbc1u,
    0x14cbe2u,0x14cc01u,0x14cc22u,0x14cc41u,0x14cc62u,0x14cc81u,0x14cca2u,0x14ccc1u,0x14cce2u,0x14cd01u,
    0x14cd22u,0x14cd41u,0x14cd62u,0x14cd81u,0x14cda2u,0x14cdc5u,0x14cde6u,0x14ce08u,0x14ce72u,0x14ce86u,
    0x14cfd2u,0x14cfe4u,0x14d001u,0x14d022u,0x14d041u,0x14d062u,0x14d081u,0x14d0a2u,0x14d0c1u,0x14d0e2u,
    0x14d101u,0x14d122u,0x14d141u,0x14d162u,0x14d181u,0x14d1a2u,0x14d1c1u,0x14d1e2u,0x14d201u,0x14d222u,
    0x14d241u,0x14d262u,0x14d281u,0x14d2a2u,0x14d2c1u,0x14d2e2u,0x14d301u,0x14d322u,0x14d341u,0x14d362u,
    0x14d384u,0x14d3c6u,0x14d405u,0x14dccau,0x14de06u,0x14de52u,0x14df00u,0x14e015u,0x14e2e4u,0x14e415u,
    0x14e441u,0x14e462u,0x14e481u,0x14e4a2u,0x14e4c1u,0x14e4e2u,0x14e501u,0x14e522u,0x14e541u,0x14e562u,
    0x14e581u,0x14e5a2u,0x14e5c1u,0x14e5e2u,0x14e641u,0x14e662u,0x14e681u,0x14e6a2u,0x14e6c1u,0x14e6e2u,
    0x14e701u,0x14e722u,0x14e741u,0x14e762u,0x14e781u,0x14e7a2u,0x14e7c1u,0x14e7e2u,0x14e801u,0x14e822u,
    0x14e841u,0x14e862u,0x14e881u,0x14e8a2u,0x14e8c1u,0x14e8e2u,0x14e901u,0x14e922u,0x14e941u,0x14e962u,
    0x14e981u,0x14e9a2u,0x14e9c1u,0x14e9e2u,0x14ea01u,0x14ea22u,0x14ea41u,0x14ea62u,0x14ea81u,0x14eaa2u,
    0x14eac1u,0x14eae2u,0x14eb01u,0x14eb22u,0x14eb41u,0x14eb62u,0x14eb81u,0x14eba2u,0x14ebc1u,0x14ebe2u,
    0x14ec01u,0x14ec22u,0x14ec41u,0x14ec62u,0x14ec81u,0x14eca2u,0x14ecc1u,0x14ece2u,0x14ed01u,0x14ed22u,
    0x14ed41u,0x14ed62u,0x14ed81u,0x14eda2u,0x14edc1u,0x14ede2u,0x14ee04u,0x14ee22u,0x14ef21u,0x14ef42u,
    0x14ef61u,0x14ef82u,0x14efa1u,0x14efe2u,0x14f001u,0x14f022u,0x14f041u,0x14f062u,0x14f081u,0x14f0a2u,
    0x14f0c1u,0x14f0e2u,0x14f104u,0x14f135u,0x14f161u,0x14f182u,0x14f1a1u,0x14f1c2u,0x14f1e5u,0x14f201u,
    0x14f222u,0x14f241u,0x14f262u,0x14f2c1u,0x14f2e2u,0x14f301u,0x14f322u,0x14f341u,0x14f362u,0x14f381u,
    0x14f3a2u,0x14f3c1u,0x14f3e2u,0x14f401u,0x14f422u,0x14f441u,0x14f462u,0x14f481u,0x14f4a2u,0x14f4c1u,
    0x14f4e2u,0x14f501u,0x14f522u,0x14f541u,0x14f5e2u,0x14f601u,0x14f6a2u,0x14f6c1u,0x14f6e2u,0x14f701u,
    0x14f722u,0x14f741u,0x14f762u,0x14f781u,0x14f7a2u,0x14f7c1u,0x14f7e2u,0x14f801u,0x14f822u,0x14f841u,
    0x14f862u,0x14f881u,0x14f902u,0x14f921u,0x14f942u,0x14f960u,0x14fa01u,0x14fa22u,0x14fa40u,0x14fa62u,
    0x14fa80u,0x14faa2u,0x14fac1u,0x14fae2u,0x14fb01u,0x14fb22u,0x14fb40u,0x14fe44u,0x14fea1u,0x14fec2u,
    0x14fee5u,0x14ff04u,0x14ff42u,0x14ff65u,0x150046u,0x150065u,0x1500c6u,0x1500e5u,0x150166u,0x150185u,
    0x150467u,0x1504a6u,0x1504e7u,0x150516u,0x150586u,0x1505a0u,0x15060bu,0x1506d6u,0x150714u,0x150736u,
    0x150740u,0x150805u,0x150e92u,0x150f00u,0x151007u,0x151045u,0x151687u,0x151886u,0x1518c0u,0x1519d2u,
    0x151a09u,0x151b40u,0x151c06u,0x151e45u,0x151f12u,0x151f65u,0x151f92u,0x151fa5u,0x151fe6u,0x152009u,
    0x152145u,0x1524c6u,0x1525d2u,0x152605u,0x1528e6u,0x152a47u,0x152a80u,0x152bf2u,0x152c05u,0x152fa0u,
    0x153006u,0x153067u,0x153085u,0x153666u,0x153687u,0x1536c6u,0x153747u,0x153786u,0x1537c7u,0x153832u,
    0x1539c0u,0x1539e4u,0x153a09u,0x153b40u,0x153bd2u,0x153c05u,0x153ca6u,0x153cc4u,0x153ce5u,0x153e09u,
    0x153f45u,0x153fe0u,0x154005u,0x154526u,0x1545e7u,0x154626u,0x154667u,0x1546a6u,0x1546e0u,0x154805u,
    0x154866u,0x154885u,0x154986u,0x1549a7u,0x1549c0u,0x154a09u,0x154b40u,0x154b92u,0x154c05u,0x154e04u,
    0x154e25u,0x154ef6u,0x154f45u,0x154f67u,0x154f86u,0x154fa7u,0x154fc5u,0x155606u,0x155625u,0x155646u,
    0x1556a5u,0x1556e6u,0x155725u,0x1557c6u,0x155805u,0x155826u,0x155845u,0x155860u,0x155b65u,0x155ba4u,
    0x155bd2u,0x155c05u,0x155d67u,0x155d86u,0x155dc7u,0x155e12u,0x155e45u,0x155e64u,0x155ea7u,0x155ec6u,
    0x155ee0u,0x156025u,0x1560e0u,0x156125u,0x1561e0u,0x156225u,0x1562e0u,0x156405u,0x1564e0u,0x156505u,
    0x1565e0u,0x156602u,0x156b75u,0x156b84u,0x156c02u,0x156d24u,0x156d55u,0x156d80u,0x156e02u,0x157805u,
    0x157c67u,0x157ca6u,0x157cc7u,0x157d06u,0x157d27u,0x157d72u,0x157d87u,0x157da6u,0x157dc0u,0x157e09u,
    0x157f40u,0x158005u,0x1af480u,0x1af605u,0x1af8e0u,0x1af965u,0x1aff80u,0x1b001cu,0x1c001du,0x1f2005u,
    0x1f4dc0u,0x1f4e05u,0x1f5b40u,0x1f6002u,0x1f60e0u,0x1f6262u,0x1f6300u,0x1f63a5u,0x1f63c6u,0x1f63e5u,
    0x1f6533u,0x1f6545u,0x1f66e0u,0x1f6705u,0x1f67a0u,0x1f67c5u,0x1f67e0u,0x1f6805u,0x1f6840u,0x1f6865u,
    0x1f68a0u,0x1f68c5u,0x1f7655u,0x1f7860u,0x1f7a65u,0x1fa7cfu,0x1fa7eeu,0x1fa816u,0x1faa05u,0x1fb200u,
    0x1fb245u,0x1fb900u,0x1fb9f6u,0x1fba00u,0x1fbe05u,0x1fbf94u,0x1fbfb6u,0x1fc006u,0x1fc212u,0x1fc2eeu,
    0x1fc30fu,0x1fc332u,0x1fc340u,0x1fc406u,0x1fc612u,0x1fc62du,0x1fc66cu,0x1fc6aeu,0x1fc6cfu,0x1fc6eeu,
    0x1fc70fu,0x1fc72eu,0x1fc74fu,0x1fc76eu,0x1fc78fu,0x1fc7aeu,0x1fc7cfu,0x1fc7eeu,0x1fc80fu,0x1fc82eu,
    0x1fc84fu,0x1fc86eu,0x1fc88fu,0x1fc8b2u,0x1fc8eeu,0x1fc90fu,0x1fc932u,0x1fc9acu,0x1fca12u,0x1fca60u,
    0x1fca92u,0x1fcb0du,0x1fcb2eu,0x1fcb4fu,0x1fcb6eu,0x1fcb8fu,0x1fcbaeu,0x1fcbcfu,0x1fcbf2u,0x1fcc53u,
    0x1fcc6du,0x1fcc93u,0x1fcce0u,0x1fcd12u,0x1fcd34u,0x1fcd52u,0x1fcd80u,0x1fce05u,0x1fcea0u,0x1fcec5u,
    0x1fdfa0u,0x1fdffbu,0x1fe000u,0x1fe032u,0x1fe094u,0x1fe0b2u,0x1fe10eu,0x1fe12fu,0x1fe152u,0x1fe173u,
    0x1fe192u,0x1fe1adu,0x1fe1d2u,0x1fe209u,0x1fe352u,0x1fe393u,0x1fe3f2u,0x1fe421u,0x1fe76eu,0x1fe792u,
    0x1fe7afu,0x1fe7d5u,0x1fe7ecu,0x1fe815u,0x1fe822u,0x1feb6eu,0x1feb93u,0x1febafu,0x1febd3u,0x1febeeu,
    0x1fec0fu,0x1fec32u,0x1fec4eu,0x1fec6fu,0x1fec92u,0x1fecc5u,0x1fee04u,0x1fee25u,0x1ff3c4u,0x1ff405u,
    0x1ff7e0u,0x1ff845u,0x1ff900u,0x1ff945u,0x1ffa00u,0x1ffa45u,0x1ffb00u,0x1ffb45u,0x1ffba0u,0x1ffc14u,
    0x1ffc53u,0x1ffc75u,0x1ffc96u,0x1ffcb4u,0x1ffce0u,0x1ffd16u,0x1ffd33u,0x1ffdb6u,0x1ffde0u,0x1fff3bu,
    0x1fff96u,0x1fffc0u,0x200005u,0x200180u,0x2001a5u,0x2004e0u,0x200505u,0x200760u,0x200785u,0x2007c0u,
    0x2007e5u,0x2009c0u,0x200a05u,0x200bc0u,0x201005u,0x201f60u,0x202012u,0x202060u,0x2020ebu,0x202680u,
    0x2026f6u,0x20280au,0x202eabu,0x202f36u,0x20314bu,0x203196u,0x2031e0u,0x203216u,0x2033a0u,0x203416u,
    0x203420u,0x203a16u,0x203fa6u,0x203fc0u,0x205005u,0x2053a0u,0x205405u,0x205a20u,0x205c06u,0x205c2bu,
    0x205f80u,0x206005u,0x20640bu,0x206480u,0x2065a5u,0x20682au,0x206845u,0x20694au,0x206960u,0x206a05u,
    0x206ec6u,0x206f60u,0x207005u,0x2073c0u,0x2073f2u,0x207405u,0x207880u,0x207905u,0x207a12u,0x207a2au,
    0x207ac0u,0x208001u,0x208502u,0x208a05u,0x2093c0u,0x209409u,0x209540u,0x209601u,0x209a80u,0x209b02u,
    0x209f80u,0x20a005u,0x20a500u,0x20a605u,0x20ac80u,0x20adf2u,0x20ae01u,0x20af60u,0x20af81u,0x20b160u,
    0x20b181u,0x20b260u,0x20b281u,0x20b2c0u,0x20b2e2u,0x20b440u,0x20b462u,0x20b640u,0x20b662u,0x20b740u,
    0x20b762u,0x20b7a0u,0x20c005u,0x20e6e0u,0x20e805u,0x20eac0u,0x20ec05u,0x20ed00u,0x20f004u,0x20f0c0u,
    0x20f0e4u,0x20f620u,0x20f644u,0x20f760u,0x210005u,0x2100c0u,0x210105u,0x210120u,0x210145u,0x2106c0u,
    0x2106e5u,0x210720u,0x210785u,0x2107a0u,0x2107e5u,0x210ac0u,0x210af2u,0x210b0bu,0x210c05u,0x210ef6u,
    0x210f2bu,0x211005u,0x2113e0u,0x2114ebu,0x211600u,0x211c05u,0x211e60u,0x211e85u,0x211ec0u,0x211f6bu,
    0x212005u,0x2122cbu,0x212380u,0x2123f2u,0x212405u,0x212740u,0x2127f2u,0x212800u,0x213005u,0x213700u,
    0x21378bu,0x2137c5u,0x21380bu,0x213a00u,0x213a4bu,0x214005u,0x214026u,0x214080u,0x2140a6u,0x2140e0u,
    0x214186u,0x214205u,0x214280u,0x2142a5u,0x214300u,0x214325u,0x2146c0u,0x214706u,0x214760u,0x2147e6u,
    0x21480bu,0x214920u,0x214a12u,0x214b20u,0x214c05u,0x214fabu,0x214ff2u,0x215005u,0x2153abu,0x215400u,
    0x215805u,0x215916u,0x215925u,0x215ca6u,0x215ce0u,0x215d6bu,0x215e12u,0x215ee0u,0x216005u,0x2166c0u,
    0x216732u,0x216805u,0x216ac0u,0x216b0bu,0x216c05u,0x216e60u,0x216f0bu,0x217005u,0x217240u,0x217332u,
    0x2173a0u,0x21752bu,0x217600u,0x218005u,0x218920u,0x219001u,0x219660u,0x219802u,0x219e60u,0x219f4bu,
    0x21a005u,0x21a486u,0x21a500u,0x21a609u,0x21a740u,0x21cc0bu,0x21cfe0u,0x21d005u,0x21d540u,0x21d566u,
    0x21d5adu,0x21d5c0u,0x21d605u,0x21d640u,0x21dfa6u,0x21e005u,0x21e3abu,0x21e4e5u,0x21e500u,0x21e605u,
    0x21e8c6u,0x21ea2bu,0x21eab2u,0x21eb40u,0x21ee05u,0x21f046u,0x21f0d2u,0x21f140u,0x21f605u,0x21f8abu,
    0x21f980u,0x21fc05u,0x21fee0u,0x220007u,0x220026u,0x220047u,0x220065u,0x220706u,0x2208f2u,0x2209c0u,
    0x220a4bu,0x220cc9u,0x220e06u,0x220e25u,0x220e66u,0x220ea5u,0x220ec0u,0x220fe6u,0x221047u,0x221065u,
    0x221607u,0x221666u,0x2216e7u,0x221726u,0x221772u,0x2217bbu,0x2217d2u,0x221846u,0x221860u,0x2219bbu,
    0x2219c0u,0x221a05u,0x221d20u,0x221e09u,0x221f40u,0x222006u,0x222065u,0x2224e6u,0x222587u,0x2225a6u,
    0x2226a0u,0x2226c9u,0x222812u,0x222885u,0x2228a7u,0x2228e5u,0x222900u,0x222a05u,0x222e66u,0x222e92u,
    0x222ec5u,0x222ee0u,0x223006u,0x223047u,0x223065u,0x223667u,0x2236c6u,0x2237e7u,0x223825u,0x2238b2u,
    0x223926u,0x2239b2u,0x2239c7u,0x2239e6u,0x223a09u,0x223b45u,0x223b72u,0x223b85u,0x223bb2u,0x223c00u,
    0x223c2bu,0x223ea0u,0x224005u,0x224240u,0x224265u,0x224587u,0x2245e6u,0x224647u,0x224686u,0x2246a7u,
    0x2246c6u,0x224712u,0x2247c6u,0x2247e5u,0x224826u,0x224840u,0x225005u,0x2250e0u,0x225105u,0x225120u,
    0x225145u,0x2251c0u,0x2251e5u,0x2253c0u,0x2253e5u,0x225532u,0x225540u,0x225605u,0x225be6u,0x225c07u,
    0x225c66u,0x225d60u,0x225e09u,0x225f40u,0x226006u,0x226047u,0x226080u,0x2260a5u,0x2261a0u,0x2261e5u,
    0x226220u,0x226265u,0x226520u,0x226545u,0x226620u,0x226645u,0x226680u,0x2266a5u,0x226740u,0x226766u,
    0x2267a5u,0x2267c7u,0x226806u,0x226827u,0x2268a0u,0x2268e7u,0x226920u,0x226967u,0x2269c0u,0x226a05u,
    0x226a20u,0x226ae7u,0x226b00u,0x226ba5u,0x226c47u,0x226c80u,0x226cc6u,0x226da0u,0x226e06u,0x226ea0u,
    0x228005u,0x2286a7u,0x228706u,0x228807u,0x228846u,0x2288a7u,0x2288c6u,0x2288e5u,0x228972u,0x228a09u,
    0x228b52u,0x228b80u,0x228bb2u,0x228bc6u,0x228be5u,0x228c40u,0x229005u,0x229607u,0x229666u,0x229727u,
    0x229746u,0x229767u,0x2297e6u,0x229827u,0x229846u,0x229885u,0x2298d2u,0x2298e5u,0x229900u,0x229a09u,
    0x229b40u,0x22b005u,0x22b5e7u,0x22b646u,0x22b6c0u,0x22b707u,0x22b786u,0x22b7c7u,0x22b7e6u,0x22b832u,
    0x22bb05u,0x22bb86u,0x22bbc0u,0x22c005u,0x22c607u,0x22c666u,0x22c767u,0x22c7a6u,0x22c7c7u,0x22c7e6u,
    0x22c832u,0x22c885u,0x22c8a0u,0x22ca09u,0x22cb40u,0x22cc12u,0x22cda0u,0x22d005u,0x22d566u,0x22d587u,
    0x22d5a6u,0x22d5c7u,0x22d606u,0x22d6c7u,0x22d6e6u,0x22d705u,0x22d732u,0x22d740u,0x22d809u,0x22d940u,
    0x22e005u,0x22e360u,0x22e3a6u,0x22e407u,0x22e446u,0x22e4c7u,0x22e4e6u,0x22e580u,0x22e609u,0x22e74bu,
    0x22e792u,0x22e7f6u,0x22e805u,0x22e8e0u,0x230005u,0x230587u,0x2305e6u,0x230707u,0x230726u,0x230772u,
    0x230780u,0x231401u,0x231802u,0x231c09u,0x231d4bu,0x231e60u,0x231fe5u,0x2320e0u,0x232125u,0x232140u,
    0x232185u,0x232280u,0x2322a5u,0x2322e0u,0x232305u,0x232607u,0x2326c0u,0x2326e7u,0x232720u,0x232766u,
    0x2327a7u,0x2327c6u,0x2327e5u,0x232807u,0x232825u,0x232847u,0x232866u,0x232892u,0x2328e0u,0x232a09u,
    0x232b40u,0x233405u,0x233500u,0x233545u,0x233a27u,0x233a86u,0x233b00u,0x233b46u,0x233b87u,0x233c06u,
    0x233c25u,0x233c52u,0x233c65u,0x233c87u,0x233ca0u,0x234005u,0x234026u,0x234165u,0x234666u,0x234727u,
    0x234745u,0x234766u,0x2347f2u,0x2348e6u,0x234900u,0x234a05u,0x234a26u,0x234ae7u,0x234b26u,0x234b85u,
    0x235146u,0x2352e7u,0x235306u,0x235352u,0x2353a5u,0x2353d2u,0x235460u,0x235605u,0x235f20u,0x236012u,
    0x236140u,0x238005u,0x238120u,0x238145u,0x2385e7u,0x238606u,0x2386e0u,0x238706u,0x2387c7u,0x2387e6u,
    0x238805u,0x238832u,0x2388c0u,0x238a09u,0x238b4bu,0x238da0u,0x238e12u,0x238e45u,0x239200u,0x239246u,
    0x239500u,0x239527u,0x239546u,0x239627u,0x239646u,0x239687u,0x2396a6u,0x2396e0u,0x23a005u,0x23a0e0u,
    0x23a105u,0x23a140u,0x23a165u,0x23a626u,0x23a6e0u,0x23a746u,0x23a760u,0x23a786u,0x23a7c0u,0x23a7e6u,
    0x23a8c5u,0x23a8e6u,0x23a900u,0x23aa09u,0x23ab40u,0x23ac05u,0x23acc0u,0x23ace5u,0x23ad20u,0x23ad45u,
    0x23b147u,0x23b1e0u,0x23b206u,0x23b240u,0x23b267u,0x23b2a6u,0x23b2c7u,0x23b2e6u,0x23b305u,0x23b320u,
    0x23b409u,0x23b540u,0x23dc05u,0x23de66u,0x23dea7u,0x23def2u,0x23df20u,0x23e006u,0x23e045u,0x23e067u,
    0x23e085u,0x23e220u,0x23e245u,0x23e687u,0x23e6c6u,0x23e760u,0x23e7c7u,0x23e806u,0x23e827u,0x23e846u,
    0x23e872u,0x23ea09u,0x23eb40u,0x23f605u,0x23f620u,0x23f80bu,0x23fab6u,0x23fbb4u,0x23fc36u,0x23fe40u,
    0x23fff2u,0x240005u,0x247340u,0x24800au,0x248de0u,0x248e12u,0x248ea0u,0x249005u,0x24a880u,0x25f205u,
    0x25fe32u,0x25fe60u,0x260005u,0x26861bu,0x268806u,0x268825u,0x2688e6u,0x268ac0u,0x288005u,0x28c8e0u,
    0x2d0005u,0x2d4720u,0x2d4805u,0x2d4be0u,0x2d4c09u,0x2d4d40u,0x2d4dd2u,0x2d4e05u,0x2d57e0u,0x2d5809u,
    0x2d5940u,0x2d5a05u,0x2d5dc0u,0x2d5e06u,0x2d5eb2u,0x2d5ec0u,0x2d6005u,0x2d6606u,0x2d66f2u,0x2d6796u,
    0x2d6804u,0x2d6892u,0x2d68b6u,0x2d68c0u,0x2d6a09u,0x2d6b40u,0x2d6b6bu,0x2d6c40u,0x2d6c65u,0x2d6f00u,
    0x2d6fa5u,0x2d7200u,0x2dc801u,0x2dcc02u,0x2dd00bu,0x2dd2f2u,0x2dd360u,0x2de005u,0x2de960u,0x2de9e6u,
    0x2dea05u,0x2dea27u,0x2df100u,0x2df1e6u,0x2df264u,0x2df400u,0x2dfc04u,0x2dfc52u,0x2dfc64u,0x2dfc86u,
    0x2dfca0u,0x2dfe07u,0x2dfe40u,0x2e0005u,0x30ff00u,0x310005u,0x319ac0u,0x31a005u,0x31a120u,0x35fe04u,
    0x35fe80u,0x35fea4u,0x35ff80u,0x35ffa4u,0x35ffe0u,0x360005u,0x362460u,0x362645u,0x362660u,0x362a05u,
    0x362a60u,0x362aa5u,0x362ac0u,0x362c85u,0x362d00u,0x362e05u,0x365f80u,0x378005u,0x378d60u,0x378e05u,
    0x378fa0u,0x379005u,0x379120u,0x379205u,0x379340u,0x379396u,0x3793a6u,0x3793f2u,0x37941bu,0x379480u,
    0x39e006u,0x39e5c0u,0x39e606u,0x39e8e0u,0x39ea16u,0x39f880u,0x3a0016u,0x3a1ec0u,0x3a2016u,0x3a24e0u,
    0x3a2536u,0x3a2ca7u,0x3a2ce6u,0x3a2d56u,0x3a2da7u,0x3a2e7bu,0x3a2f66u,0x3a3076u,0x3a30a6u,0x3a3196u,
    0x3a3546u,0x3a35d6u,0x3a3d60u,0x3a4016u,0x3a4846u,0x3a48b6u,0x3a48c0u,0x3a580bu,0x3a5a80u,0x3a5c0bu,
    0x3a5e80u,0x3a6016u,0x3a6ae0u,0x3a6c0bu,0x3a6f20u,0x3a8001u,0x3a8342u,0x3a8681u,0x3a89c2u,0x3a8aa0u,
    0x3a8ac2u,0x3a8d01u,0x3a9042u,0x3a9381u,0x3a93a0u,0x3a93c1u,0x3a9400u,0x3a9441u,0x3a9460u,0x3a94a1u,
    0x3a94e0u,0x3a9521u,0x3a95a0u,0x3a95c1u,0x3a96c2u,0x3a9740u,0x3a9762u,0x3a9780u,0x3a97a2u,0x3a9880u,
    0x3a98a2u,0x3a9a01u,0x3a9d42u,0x3aa081u,0x3aa0c0u,0x3aa0e1u,0x3aa160u,0x3aa1a1u,0x3aa2a0u,0x3aa2c1u,
    0x3aa3a0u,0x3aa3c2u,0x3aa701u,0x3aa740u,0x3aa761u,0x3aa7e0u,0x3aa801u,0x3aa8a0u,0x3aa8c1u,0x3aa8e0u,
    0x3aa941u,0x3aaa20u,0x3aaa42u,0x3aad81u,0x3ab0c2u,0x3ab401u,0x3ab742u,0x3aba81u,0x3abdc2u,0x3ac101u,
    0x3ac442u,0x3ac781u,0x3acac2u,0x3ace01u,0x3ad142u,0x3ad4c0u,0x3ad501u,0x3ad833u,0x3ad842u,0x3adb73u,
    0x3adb82u,0x3adc41u,0x3adf73u,0x3adf82u,0x3ae2b3u,0x3ae2c2u,0x3ae381u,0x3ae6b3u,0x3ae6c2u,0x3ae9f3u,
    0x3aea02u,0x3aeac1u,0x3aedf3u,0x3aee02u,0x3af133u,0x3af142u,0x3af201u,0x3af533u,0x3af542u,0x3af873u,
    0x3af882u,0x3af941u,0x3af962u,0x3af980u,0x3af9c9u,0x3b0016u,0x3b4006u,0x3b46f6u,0x3b4766u,0x3b4db6u,
    0x3b4ea6u,0x3b4ed6u,0x3b5086u,0x3b50b6u,0x3b50f2u,0x3b5180u,0x3b5366u,0x3b5400u,0x3b5426u,0x3b5600u,
    0x3be002u,0x3be145u,0x3be162u,0x3be3e0u,0x3be4a2u,0x3be560u,0x3c0006u,0x3c00e0u,0x3c0106u,0x3c0320u,
    0x3c0366u,0x3c0440u,0x3c0466u,0x3c04a0u,0x3c04c6u,0x3c0560u,0x3c0604u,0x3c0dc0u,0x3c11e6u,0x3c1200u,
    0x3c2005u,0x3c25a0u,0x3c2606u,0x3c26e4u,0x3c27c0u,0x3c2809u,0x3c2940u,0x3c29c5u,0x3c29f6u,0x3c2a00u,
    0x3c5205u,0x3c55c6u,0x3c55e0u,0x3c5805u,0x3c5d86u,0x3c5e09u,0x3c5f40u,0x3c5ff4u,0x3c6000u,0x3c9a05u,
    0x3c9d64u,0x3c9d86u,0x3c9e09u,0x3c9f40u,0x3cfc05u,0x3cfce0u,0x3cfd05u,0x3cfd80u,0x3cfda5u,0x3cfde0u,
    0x3cfe05u,0x3cffe0u,0x3d0005u,0x3d18a0u,0x3d18ebu,0x3d1a06u,0x3d1ae0u,0x3d2001u,0x3d2442u,0x3d2886u,
    0x3d2964u,0x3d2980u,0x3d2a09u,0x3d2b40u,0x3d2bd2u,0x3d2c00u,0x3d8e2bu,0x3d9596u,0x3d95abu,0x3d9614u,
    0x3d962bu,0x3d96a0u,0x3da02bu,0x3da5d6u,0x3da5ebu,0x3da7c0u,0x3dc005u,0x3dc080u,0x3dc0a5u,0x3dc400u,
    0x3dc425u,0x3dc460u,0x3dc485u,0x3dc4a0u,0x3dc4e5u,0x3dc500u,0x3dc525u,0x3dc660u,0x3dc685u,0x3dc700u,
    0x3dc725u,0x3dc740u,0x3dc765u,0x3dc780u,0x3dc845u,0x3dc860u,0x3dc8e5u,0x3dc900u,0x3dc925u,0x3dc940u,
    0x3dc965u,0x3dc980u,0x3dc9a5u,0x3dca00u,0x3dca25u,0x3dca60u,0x3dca85u,0x3dcaa0u,0x3dcae5u,0x3dcb00u,
    0x3dcb25u,0x3dcb40u,0x3dcb65u,0x3dcb80u,0x3dcba5u,0x3dcbc0u,0x3dcbe5u,0x3dcc00u,0x3dcc25u,0x3dcc60u,
    0x3dcc85u,0x3dcca0u,0x3dcce5u,0x3dcd60u,0x3dcd85u,0x3dce60u,0x3dce85u,0x3dcf00u,0x3dcf25u,0x3dcfa0u,
    0x3dcfc5u,0x3dcfe0u,0x3dd005u,0x3dd140u,0x3dd165u,0x3dd380u,0x3dd425u,0x3dd480u,0x3dd4a5u,0x3dd540u,
    0x3dd565u,0x3dd780u,0x3dde13u,0x3dde40u,0x3e0016u,0x3e0580u,0x3e0616u,0x3e1280u,0x3e1416u,0x3e15e0u,
    0x3e1636u,0x3e1800u,0x3e1836u,0x3e1a00u,0x3e1a36u,0x3e1ec0u,0x3e200bu,0x3e21b6u,0x3e35c0u,0x3e3cd6u,
    0x3e4060u,0x3e4216u,0x3e4780u,0x3e4816u,0x3e4920u,0x3e4a16u,0x3e4a40u,0x3e4c16u,0x3e4cc0u,0x3e6016u,
    0x3e7f75u,0x3e8016u,0x3edb00u,0x3edb96u,0x3edda0u,0x3ede16u,0x3edfa0u,0x3ee016u,0x3eeee0u,0x3eef76u,
    0x3efb40u,0x3efc16u,0x3efd80u,0x3efe16u,0x3efe20u,0x3f0016u,0x3f0180u,0x3f0216u,0x3f0900u,0x3f0a16u,
    0x3f0b40u,0x3f0c16u,0x3f1100u,0x3f1216u,0x3f15c0u,0x3f1616u,0x3f1640u,0x3f2016u,0x3f4a80u,0x3f4c16u,
    0x3f4dc0u,0x3f4e16u,0x3f4fa0u,0x3f5016u,0x3f5120u,0x3f5216u,0x3f57c0u,0x3f57f6u,0x3f58c0u,0x3f59d6u,
    0x3f5b80u,0x3f5c16u,0x3f5d20u,0x3f5e16u,0x3f5f20u,0x3f6016u,0x3f7260u,0x3f7296u,0x3f7960u,0x3f7e09u,
    0x3f7f40u,0x400005u,0x54dc00u,0x54e005u,0x56e740u,0x56e805u,0x5703c0u,0x570405u,0x59d440u,0x59d605u,
    0x5d7c20u,0x5f0005u,0x5f43c0u,0x600005u,0x626960u,0x626a05u,0x647600u,0x1c0003bu,0x1c00040u,0x1c0041bu,
    0x1c01000u,0x1c02006u,0x1c03e00u,0x1e0001du,0x1ffffc0u,0x200001du,0x21fffc0u
};
static const uint32_t uniql__uc_ccc[581] = {
    0x0u,0x300e6u,0x315e8u,0x316dcu,0x31ae8u,0x31bd8u,0x31cdcu,0x321cau,0x323dcu,0x327cau,
    0x329dcu,0x33401u,0x339dcu,0x33de6u,0x345f0u,0x346e6u,0x347dcu,0x34ae6u,0x34ddcu,0x34f00u,
    0x350e6u,0x353dcu,0x357e6u,0x358e8u,0x359dcu,0x35be6u,0x35ce9u,0x35deau,0x35fe9u,0x360eau,
    0x362e9u,0x363e6u,0x37000u,0x483e6u,0x48800u,0x591dcu,0x592e6u,0x596dcu,0x597e6u,0x59adeu,
    0x59bdcu,0x59ce6u,0x5a2dcu,0x5a8e6u,0x5aadcu,0x5abe6u,0x5addeu,0x5aee4u,0x5afe6u,0x5b00au,
    0x5b10bu,0x5b20cu,0x5b30du,0x5b40eu,0x5b50fu,0x5b610u,0x5b711u,0x5b812u,0x5b913u,0x5bb14u,
    0x5bc15u,0x5bd16u,0x5be00u,0x5bf17u,0x5c000u,0x5c118u,0x5c219u,0x5c300u,0x5c4e6u,0x5c5dcu,
    0x5c600u,0x5c712u,0x5c800u,0x610e6u,0x6181eu,0x6191fu,0x61a20u,0x61b00u,0x64b1bu,0x64c1cu,
    0x64d1du,0x64e1eu,0x64f1fu,0x65020u,0x65121u,0x65222u,0x653e6u,0x655dcu,0x657e6u,0x65cdcu,
    0x65de6u,0x65fdcu,0x66000u,0x67023u,0x67100u,0x6d6e6u,0x6dd00u,0x6dfe6u,0x6e3dcu,0x6e4e6u,
    0x6e500u,0x6e7e6u,0x6e900u,0x6eadcu,0x6ebe6u,0x6eddcu,0x6ee00u,0x71124u,0x71200u,0x730e6u,
    0x731dcu,0x732e6u,0x734dcu,0x735e6u,0x737dcu,0x73ae6u,0x73bdcu,0x73de6u,0x73edcu,0x73fe6u,
    0x742dcu,0x743e6u,0x744dcu,0x745e6u,0x746dcu,0x747e6u,0x748dcu,0x749e6u,0x74b00u,0x7ebe6u,
    0x7f2dcu,0x7f3e6u,0x7f400u,0x7fddcu,0x7fe00u,0x816e6u,0x81a00u,0x81be6u,0x82400u,0x825e6u,
    0x82800u,0x829e6u,0x82e00u,0x859dcu,0x85c00u,0x898e6u,0x899dcu,0x89ce6u,0x8a000u,0x8cae6u,
    0x8cfdcu,0x8d4e6u,0x8e200u,0x8e3dcu,0x8e4e6u,0x8e6dcu,0x8e7e6u,0x8e9dcu,0x8eae6u,0x8eddcu,
    0x8f01bu,0x8f11cu,0x8f21du,0x8f3e6u,0x8f6dcu,0x8f7e6u,0x8f9dcu,0x8fbe6u,0x90000u,0x93c07u,
    0x93d00u,0x94d09u,0x94e00u,0x951e6u,0x952dcu,0x953e6u,0x95500u,0x9bc07u,0x9bd00u,0x9cd09u,
    0x9ce00u,0x9fee6u,0x9ff00u,0xa3c07u,0xa3d00u,0xa4d09u,0xa4e00u,0xabc07u,0xabd00u,0xacd09u,
    0xace00u,0xb3c07u,0xb3d00u,0xb4d09u,0xb4e00u,0xbcd09u,0xbce00u,0xc3c07u,0xc3d00u,0xc4d09u,
    0xc4e00u,0xc5554u,0xc565bu,0xc5700u,0xcbc07u,0xcbd00u,0xccd09u,0xcce00u,0xd3b09u,0xd3d00u,
    0xd4d09u,0xd4e00u,0xdca09u,0xdcb00u,0xe3867u,0xe3a09u,0xe3b00u,0xe486bu,0xe4c00u,0xeb876u,
    0xeba09u,0xebb00u,0xec87au,0xecc00u,0xf18dcu,0xf1a00u,0xf35dcu,0xf3600u,0xf37dcu,0xf3800u,
    0xf39d8u,0xf3a00u,0xf7181u,0xf7282u,0xf7300u,0xf7484u,0xf7500u,0xf7a82u,0xf7e00u,0xf8082u,
    0xf8100u,0xf82e6u,0xf8409u,0xf8500u,0xf86e6u,0xf8800u,0xfc6dcu,0xfc700u,0x103707u,0x103800u,
    0x103909u,0x103b00u,0x108ddcu,0x108e00u,0x135de6u,0x136000u,0x171409u,0x171600u,0x173409u,0x173500u,
    0x17d209u,0x17d300u,0x17dde6u,0x17de00u,0x18a9e4u,0x18aa00u,0x1939deu,0x193ae6u,0x193bdcu,0x193c00u,
    0x1a17e6u,0x1a18dcu,0x1a1900u,0x1a6009u,0x1a6100u,0x1a75e6u,0x1a7d00u,0x1a7fdcu,0x1a8000u,0x1ab0e6u,
    0x1ab5dcu,0x1abbe6u,0x1abddcu,0x1abe00u,0x1abfdcu,0x1ac1e6u,0x1ac3dcu,0x1ac5e6u,0x1acadcu,0x1acbe6u,
    0x1acf00u,0x1b3407u,0x1b3500u,0x1b4409u,0x1b4500u,0x1b6be6u,0x1b6cdcu,0x1b6de6u,0x1b7400u,0x1baa09u,
    0x1bac00u,0x1be607u,0x1be700u,0x1bf209u,0x1bf400u,0x1c3707u,0x1c3800u,0x1cd0e6u,0x1cd300u,0x1cd401u,
    0x1cd5dcu,0x1cdae6u,0x1cdcdcu,0x1ce0e6u,0x1ce100u,0x1ce201u,0x1ce900u,0x1ceddcu,0x1cee00u,0x1cf4e6u,
    0x1cf500u,0x1cf8e6u,0x1cfa00u,0x1dc0e6u,0x1dc2dcu,0x1dc3e6u,0x1dcadcu,0x1dcbe6u,0x1dcdeau,0x1dced6u,
    0x1dcfdcu,0x1dd0cau,0x1dd1e6u,0x1df6e8u,0x1df7e4u,0x1df9dcu,0x1dfadau,0x1dfbe6u,0x1dfce9u,0x1dfddcu,
    0x1dfee6u,0x1dffdcu,0x1e0000u,0x20d0e6u,0x20d201u,0x20d4e6u,0x20d801u,0x20dbe6u,0x20dd00u,0x20e1e6u,
    0x20e200u,0x20e501u,0x20e7e6u,0x20e8dcu,0x20e9e6u,0x20ea01u,0x20ecdcu,0x20f0e6u,0x20f100u,0x2cefe6u,
    0x2cf200u,0x2d7f09u,0x2d8000u,0x2de0e6u,0x2e0000u,0x302adau,0x302be4u,0x302ce8u,0x302ddeu,0x302ee0u,
    0x303000u,0x309908u,0x309b00u,0xa66fe6u,0xa67000u,0xa674e6u,0xa67e00u,0xa69ee6u,0xa6a000u,0xa6f0e6u,
    0xa6f200u,0xa80609u,0xa80700u,0xa82c09u,0xa82d00u,0xa8c409u,0xa8c500u,0xa8e0e6u,0xa8f200u,0xa92bdcu,
    0xa92e00u,0xa95309u,0xa95400u,0xa9b307u,0xa9b400u,0xa9c009u,0xa9c100u,0xaab0e6u,0xaab100u,0xaab2e6u,
    0xaab4dcu,0xaab500u,0xaab7e6u,0xaab900u,0xaabee6u,0xaac000u,0xaac1e6u,0xaac200u,0xaaf609u,0xaaf700u,
    0xabed09u,0xabee00u,0xfb1e1au,0xfb1f00u,0xfe20e6u,0xfe27dcu,0xfe2ee6u,0xfe3000u,0x101fddcu,0x101fe00u,
    0x102e0dcu,0x102e100u,0x10376e6u,0x1037b00u,0x10a0ddcu,0x10a0e00u,0x10a0fe6u,0x10a1000u,0x10a38e6u,0x10a3901u,
    0x10a3adcu,0x10a3b00u,0x10a3f09u,0x10a4000u,0x10ae5e6u,0x10ae6dcu,0x10ae700u,0x10d24e6u,0x10d2800u,0x10eabe6u,
    0x10ead00u,0x10efddcu,0x10f0000u,0x10f46dcu,0x10f48e6u,0x10f4bdcu,0x10f4ce6u,0x10f4ddcu,0x10f5100u,0x10f82e6u,
    0x10f83dcu,0x10f84e6u,0x10f85dcu,0x10f8600u,0x1104609u,0x1104700u,0x1107009u,0x1107100u,0x1107f09u,0x1108000u,
    0x110b909u,0x110ba07u,0x110bb00u,0x11100e6u,0x1110300u,0x1113309u,0x1113500u,0x1117307u,0x1117400u,0x111c009u,
    0x111c100u,0x111ca07u,0x111cb00u,0x1123509u,0x1123607u,0x1123700u,0x112e907u,0x112ea09u,0x112eb00u,0x1133b07u,
    0x1133d00u,0x1134d09u,0x1134e00u,0x11366e6u,0x1136d00u,0x11370e6u,0x1137500u,0x1144209u,0x1144300u,0x1144607u,
    0x1144700u,0x1145ee6u,0x1145f00u,0x114c209u,0x114c307u,0x114c400u,0x115bf09u,0x115c007u,0x115c100u,0x1163f09u,
    0x1164000u,0x116b609u,0x116b707u,0x116b800u,0x1172b09u,0x1172c00u,0x1183909u,0x1183a07u,0x1183b00u,0x1193d09u,
    0x1193f00u,0x1194307u,0x1194400u,0x119e009u,0x119e100u,0x11a3409u,0x11a3500u,0x11a4709u,0x11a4800u,0x11a9909u,
    0x11a9a00u,0x11c3f09u,0x11c4000u,0x11d4207u,0x11d4300u,0x11d4409u,0x11d4600u,0x11d9709u,0x11d9800u,0x11f4109u,
    0x11f4300u,0x16af001u,0x16af500u,0x16b30e6u,0x16b3700u,0x16ff006u,0x16ff200u,0x1bc9e01u,0x1bc9f00u,0x1d165d8u,
    0x1d16701u,0x1d16a00u,0x1d16de2u,0x1d16ed8u,0x1d17300u,0x1d17bdcu,0x1d18300u,0x1d185e6u,0x1d18adcu,0x1d18c00u,
    0x1d1aae6u,0x1d1ae00u,0x1d242e6u,0x1d24500u,0x1e000e6u,0x1e00700u,0x1e008e6u,0x1e01900u,0x1e01be6u,0x1e02200u,
    0x1e023e6u,0x1e02500u,0x1e026e6u,0x1e02b00u,0x1e08fe6u,0x1e09000u,0x1e130e6u,0x1e13700u,0x1e2aee6u,0x1e2af00u,
    0x1e2ece6u,0x1e2f000u,0x1e4ece8u,0x1e4eedcu,0x1e4efe6u,0x1e4f000u,0x1e8d0dcu,0x1e8d700u,0x1e944e6u,0x1e94a07u,
    0x1e94b00u
};
static const uint64_t uniql__uc_decomp[2061] = {
    0x6000010400600ull,0x6080010400602ull,0x6100010400604ull,0x6180010400606ull,0x6200010400610ull,0x6280010400614ull,
    0x6380010c0064eull,0x6400011400600ull,0x6480011400602ull,0x6500011400604ull,0x6580011400610ull,0x6600012400600ull,
    0x6680012400602ull,0x6700012400604ull,0x6780012400610ull,0x6880013800606ull,0x6900013c00600ull,0x6980013c00602ull,
    0x6a00013c00604ull,0x6a80013c00606ull,0x6b00013c00610ull,0x6c80015400600ull,0x6d00015400602ull,0x6d80015400604ull,
    0x6e00015400610ull,0x6e80016400602ull,0x7000018400600ull,0x7080018400602ull,0x7100018400604ull,0x7180018400606ull,
    0x7200018400610ull,0x7280018400614ull,0x7380018c0064eull,0x7400019400600ull,0x7480019400602ull,0x7500019400604ull,
    0x7580019400610ull,0x760001a400600ull,0x768001a400602ull,0x770001a400604ull,0x778001a400610ull,0x788001b800606ull,
    0x790001bc00600ull,0x798001bc00602ull,0x7a0001bc00604ull,0x7a8001bc00606ull,0x7b0001bc00610ull,0x7c8001d400600ull,
    0x7d0001d400602ull,0x7d8001d400604ull,0x7e0001d400610ull,0x7e8001e400602ull,0x7f8001e400610ull,0x8000010400608ull,
    0x8080018400608ull,0x810001040060cull,0x818001840060cull,0x8200010400650ull,0x8280018400650ull,0x8300010c00602ull,
    0x8380018c00602ull,0x8400010c00604ull,0x8480018c00604ull,0x8500010c0060eull,0x8580018c0060eull,0x8600010c00618ull,
    0x8680018c00618ull,0x8700011000618ull,0x8780019000618ull,0x8900011400608ull,0x8980019400608ull,0x8a0001140060cull,
    0x8a8001940060cull,0x8b0001140060eull,0x8b8001940060eull,0x8c00011400650ull,0x8c80019400650ull,0x8d00011400618ull,
    0x8d80019400618ull,0x8e00011c00604ull,0x8e80019c00604ull,0x8f00011c0060cull,0x8f80019c0060cull,0x9000011c0060eull,
    0x9080019c0060eull,0x9100011c0064eull,0x9180019c0064eull,0x9200012000604ull,0x928001a000604ull,0x9400012400606ull,
    0x948001a400606ull,0x9500012400608ull,0x958001a400608ull,0x960001240060cull,0x968001a40060cull,0x9700012400650ull,
    0x978001a400650ull,0x980001240060eull,0x9a00012800604ull,0x9a8001a800604ull,0x9b00012c0064eull,0x9b8001ac0064eull,
    0x9c80013000602ull,0x9d0001b000602ull,0x9d8001300064eull,0x9e0001b00064eull,0x9e80013000618ull,0x9f0001b000618ull,
    0xa180013800602ull,0xa20001b800602ull,0xa28001380064eull,0xa30001b80064eull,0xa380013800618ull,0xa40001b800618ull,
    0xa600013c00608ull,0xa68001bc00608ull,0xa700013c0060cull,0xa78001bc0060cull,0xa800013c00616ull,0xa88001bc00616ull,
    0xaa00014800602ull,0xaa8001c800602ull,0xab0001480064eull,0xab8001c80064eull,0xac00014800618ull,0xac8001c800618ull,
    0xad00014c00602ull,0xad8001cc00602ull,0xae00014c00604ull,0xae8001cc00604ull,0xaf00014c0064eull,0xaf8001cc0064eull,
    0xb000014c00618ull,0xb08001cc00618ull,0xb10001500064eull,0xb18001d00064eull,0xb200015000618ull,0xb28001d000618ull,
    0xb400015400606ull,0xb48001d400606ull,0xb500015400608ull,0xb58001d400608ull,0xb60001540060cull,0xb68001d40060cull,
    0xb700015400614ull,0xb78001d400614ull,0xb800015400616ull,0xb88001d400616ull,0xb900015400650ull,0xb98001d400650ull,
    0xba00015c00604ull,0xba8001dc00604ull,0xbb00016400604ull,0xbb8001e400604ull,0xbc00016400610ull,0xbc80016800602ull,
    0xbd0001e800602ull,0xbd8001680060eull,0xbe0001e80060eull,0xbe80016800618ull,0xbf0001e800618ull,0xd000013c00636ull,
    0xd08001bc00636ull,0xd780015400636ull,0xd80001d400636ull,0xe680010400618ull,0xe700018400618ull,0xe780012400618ull,
    0xe80001a400618ull,0xe880013c00618ull,0xe90001bc00618ull,0xe980015400618ull,0xea0001d400618ull,0xea80037000608ull,
    0xeb0003f000608ull,0xeb80037000602ull,0xec0003f000602ull,0xec80037000618ull,0xed0003f000618ull,0xed80037000600ull,
    0xee0003f000600ull,0xef00031000608ull,0xef80039000608ull,0xf000089800608ull,0xf080089c00608ull,0xf100031800608ull,
    0xf180039800608ull,0xf300011c00618ull,0xf380019c00618ull,0xf400012c00618ull,0xf48001ac00618ull,0xf500013c00650ull,
    0xf58001bc00650ull,0xf60007a800608ull,0xf68007ac00608ull,0xf70006dc00618ull,0xf7800a4800618ull,0xf80001a800618ull,
    0xfa00011c00602ull,0xfa80019c00602ull,0xfc00013800600ull,0xfc8001b800600ull,0xfd00031400602ull,0xfd80039400602ull,
    0xfe00031800602ull,0xfe80039800602ull,0xff00036000602ull,0xff8003e000602ull,0x1000001040061eull,0x1008001840061eull,
    0x10100010400622ull,0x10180018400622ull,0x1020001140061eull,0x1028001940061eull,0x10300011400622ull,0x10380019400622ull,
    0x1040001240061eull,0x1048001a40061eull,0x10500012400622ull,0x1058001a400622ull,0x10600013c0061eull,0x1068001bc0061eull,
    0x10700013c00622ull,0x1078001bc00622ull,0x1080001480061eull,0x1088001c80061eull,0x10900014800622ull,0x1098001c800622ull,
    0x10a0001540061eull,0x10a8001d40061eull,0x10b00015400622ull,0x10b8001d400622ull,0x10c00014c0064cull,0x10c8001cc0064cull,
    0x10d0001500064cull,0x10d8001d00064cull,0x10f00012000618ull,0x10f8001a000618ull,0x1130001040060eull,0x1138001840060eull,
    0x1140001140064eull,0x1148001940064eull,0x11500035800608ull,0x1158003d800608ull,0x11600035400608ull,0x1168003d400608ull,
    0x11700013c0060eull,0x1178001bc0060eull,0x1180008b800608ull,0x1188008bc00608ull,0x11900016400608ull,0x1198001e400608ull,
    0x1a0000c0000001ull,0x1a0800c0400001ull,0x1a1800c4c00001ull,0x1a2000c2000603ull,0x1ba000ae400001ull,0x1bf0000ec00001ull,
    0x1c28002a000602ull,0x1c3000e4400602ull,0x1c38002dc00001ull,0x1c4000e5400602ull,0x1c4800e5c00602ull,0x1c5000e6400602ull,
    0x1c6000e7c00602ull,0x1c7000e9400602ull,0x1c7800ea400602ull,0x1c8000f2800602ull,0x1d5000e6400610ull,0x1d5800e9400610ull,
    0x1d6000ec400602ull,0x1d6800ed400602ull,0x1d7000edc00602ull,0x1d7800ee400602ull,0x1d8000f2c00602ull,0x1e5000ee400610ull,
    0x1e5800f1400610ull,0x1e6000efc00602ull,0x1e6800f1400602ull,0x1e7000f2400602ull,0x1e9800f4800602ull,0x1ea000f4800610ull,
    0x20000105400600ull,0x20080105400610ull,0x20180104c00602ull,0x20380101800610ull,0x20600106800602ull,0x20680106000600ull,
    0x20700108c0060cull,0x20c8010600060cull,0x21c8010e00060cull,0x2280010d400600ull,0x2288010d400610ull,0x2298010cc00602ull,
    0x22b80115800610ull,0x22e0010e800602ull,0x22e8010e000600ull,0x22f00110c0060cull,0x23b0011d00061eull,0x23b8011d40061eull,
    0x2608010580060cull,0x2610010d80060cull,0x2680010400060cull,0x2688010c00060cull,0x26900104000610ull,0x2698010c000610ull,
    0x26b0010540060cull,0x26b8010d40060cull,0x26d00136000610ull,0x26d80136400610ull,0x26e00105800610ull,0x26e8010d800610ull,
    0x26f00105c00610ull,0x26f8010dc00610ull,0x27100106000608ull,0x2718010e000608ull,0x27200106000610ull,0x2728010e000610ull,
    0x27300107800610ull,0x2738010f800610ull,0x2750013a000610ull,0x2758013a400610ull,0x2760010b400610ull,0x27680113400610ull,
    0x27700108c00608ull,0x27780110c00608ull,0x27800108c00610ull,0x27880110c00610ull,0x27900108c00616ull,0x27980110c00616ull,
    0x27a00109c00610ull,0x27a80111c00610ull,0x27c0010ac00610ull,0x27c80112c00610ull,0x31100189c00ca6ull,0x31180189c00ca8ull,
    0x31200192000ca8ull,0x31280189c00caaull,0x31300192800ca8ull,0x360001b5400ca8ull,0x361001b0400ca8ull,0x369801b4800ca8ull,
    0x4948024a001278ull,0x4988024c001278ull,0x49a0024cc01278ull,0x4ac00245401279ull,0x4ac80245801279ull,0x4ad00245c01279ull,
    0x4ad80247001279ull,0x4ae00248401279ull,0x4ae80248801279ull,0x4af0024ac01279ull,0x4af8024bc01279ull,0x4e580271c0137cull,
    0x4e600271c013aeull,0x4ee00268401379ull,0x4ee80268801379ull,0x4ef8026bc01379ull,0x5198028c801479ull,0x51b0028e001479ull,
    0x52c80285801479ull,0x52d00285c01479ull,0x52d80287001479ull,0x52f0028ac01479ull,0x5a4002d1c016acull,0x5a5802d1c0167cull,
    0x5a6002d1c016aeull,0x5ae002c8401679ull,0x5ae802c8801679ull,0x5ca002e48017aeull,0x5e5002f180177cull,0x5e5802f1c0177cull,
    0x5e6002f18017aeull,0x624003118018acull,0x6600032fc019aaull,0x663803318019aaull,0x664003318019acull,0x66500331801984ull,
    0x665803328019aaull,0x6a500351801a7cull,0x6a580351c01a7cull,0x6a600351801aaeull,0x6ed00376401b94ull,0x6ee00376401b9eull,
    0x6ee80377001b94ull,0x6ef00376401bbeull,0x7a1803d0801f6full,0x7a6803d3001f6full,0x7a9003d4401f6full,0x7ab803d5801f6full,
    0x7ae003d6c01f6full,0x7b4803d0001f6bull,0x7b9803dc401ee5ull,0x7ba803dc401ee9ull,0x7bb003ec801f01ull,0x7bc003ecc01f01ull,
    0x7c0803dc401f01ull,0x7c9803e4801f6full,0x7ce803e7001f6full,0x7d1003e8401f6full,0x7d3803e9801f6full,0x7d6003eac01f6full,
    0x7dc803e4001f6bull,0x8130040940205cull,0xd83006c140366aull,0xd84006c1c0366aull,0xd85006c240366aull,0xd86006c2c0366aull,
    0xd87006c340366aull,0xd89006c440366aull,0xd9d806ce80366aull,0xd9e806cf00366aull,0xda0006cf80366aull,0xda0806cfc0366aull,
    0xda1806d080366aull,0xf000001040064aull,0xf008001840064aull,0xf010001080060eull,0xf018001880060eull,0xf0200010800646ull,
    0xf0280018800646ull,0xf0300010800662ull,0xf0380018800662ull,0xf0400031c00602ull,0xf0480039c00602ull,0xf050001100060eull,
    0xf058001900060eull,0xf0600011000646ull,0xf0680019000646ull,0xf0700011000662ull,0xf0780019000662ull,0xf080001100064eull,
    0xf088001900064eull,0xf090001100065aull,0xf098001900065aull,0xf0a00044800600ull,0xf0a80044c00600ull,0xf0b00044800602ull,
    0xf0b80044c00602ull,0xf0c0001140065aull,0xf0c8001940065aull,0xf0d00011400660ull,0xf0d80019400660ull,0xf0e0008a00060cull,
    0xf0e8008a40060cull,0xf0f0001180060eull,0xf0f8001980060eull,0xf1000011c00608ull,0xf1080019c00608ull,0xf110001200060eull,
    0xf118001a00060eull,0xf1200012000646ull,0xf128001a000646ull,0xf1300012000610ull,0xf138001a000610ull,0xf140001200064eull,
    0xf148001a00064eull,0xf150001200065cull,0xf158001a00065cull,0xf1600012400660ull,0xf168001a400660ull,0xf1700033c00602ull,
    0xf178003bc00602ull,0xf1800012c00602ull,0xf188001ac00602ull,0xf1900012c00646ull,0xf198001ac00646ull,0xf1a00012c00662ull,
    0xf1a8001ac00662ull,0xf1b00013000646ull,0xf1b8001b000646ull,0xf1c0078d800608ull,0xf1c8078dc00608ull,0xf1d00013000662ull,
    0xf1d8001b000662ull,0xf1e0001300065aull,0xf1e8001b00065aull,0xf1f00013400602ull,0xf1f8001b400602ull,0xf200001340060eull,
    0xf208001b40060eull,0xf2100013400646ull,0xf218001b400646ull,0xf220001380060eull,0xf228001b80060eull,0xf2300013800646ull,
    0xf238001b800646ull,0xf2400013800662ull,0xf248001b800662ull,0xf250001380065aull,0xf258001b80065aull,0xf2600035400602ull,
    0xf268003d400602ull,0xf2700035400610ull,0xf278003d400610ull,0xf2800053000600ull,0xf2880053400600ull,0xf2900053000602ull,
    0xf2980053400602ull,0xf2a00014000602ull,0xf2a8001c000602ull,0xf2b0001400060eull,0xf2b8001c00060eull,0xf2c0001480060eull,
    0xf2c8001c80060eull,0xf2d00014800646ull,0xf2d8001c800646ull,0xf2e00796800608ull,0xf2e80796c00608ull,0xf2f00014800662ull,
    0xf2f8001c800662ull,0xf3000014c0060eull,0xf308001cc0060eull,0xf3100014c00646ull,0xf318001cc00646ull,0xf320005680060eull,
    0xf3280056c0060eull,0xf330005800060eull,0xf338005840060eull,0xf340079880060eull,0xf3480798c0060eull,0xf350001500060eull,
    0xf358001d00060eull,0xf3600015000646ull,0xf368001d000646ull,0xf3700015000662ull,0xf378001d000662ull,0xf380001500065aull,
    0xf388001d00065aull,0xf3900015400648ull,0xf398001d400648ull,0xf3a00015400660ull,0xf3a8001d400660ull,0xf3b0001540065aull,
    0xf3b8001d40065aull,0xf3c0005a000602ull,0xf3c8005a400602ull,0xf3d0005a800610ull,0xf3d8005ac00610ull,0xf3e00015800606ull,
    0xf3e8001d800606ull,0xf3f00015800646ull,0xf3f8001d800646ull,0xf4000015c00600ull,0xf408001dc00600ull,0xf4100015c00602ull,
    0xf418001dc00602ull,0xf4200015c00610ull,0xf428001dc00610ull,0xf4300015c0060eull,0xf438001dc0060eull,0xf4400015c00646ull,
    0xf448001dc00646ull,0xf450001600060eull,0xf458001e00060eull,0xf4600016000610ull,0xf468001e000610ull,0xf470001640060eull,
    0xf478001e40060eull,0xf4800016800604ull,0xf488001e800604ull,0xf4900016800646ull,0xf498001e800646ull,0xf4a00016800662ull,
    0xf4a8001e800662ull,0xf4b0001a000662ull,0xf4b8001d000610ull,0xf4c0001dc00614ull,0xf4c8001e400614ull,0xf4d8005fc0060eull,
    0xf5000010400646ull,0xf5080018400646ull,0xf5100010400612ull,0xf5180018400612ull,0xf5200030800602ull,0xf5280038800602ull,
    0xf5300030800600ull,0xf5380038800600ull,0xf5400030800612ull,0xf5480038800612ull,0xf5500030800606ull,0xf5580038800606ull,
    0xf56007a8000604ull,0xf56807a8400604ull,0xf5700040800602ull,0xf5780040c00602ull,0xf5800040800600ull,0xf5880040c00600ull,
    0xf5900040800612ull,0xf5980040c00612ull,0xf5a00040800606ull,0xf5a80040c00606ull,0xf5b007a800060cull,0xf5b807a840060cull,
    0xf5c00011400646ull,0xf5c80019400646ull,0xf5d00011400612ull,0xf5d80019400612ull,0xf5e00011400606ull,0xf5e80019400606ull,
    0xf5f00032800602ull,0xf5f8003a800602ull,0xf6000032800600ull,0xf608003a800600ull,0xf6100032800612ull,0xf618003a800612ull,
    0xf6200032800606ull,0xf628003a800606ull,0xf63007ae000604ull,0xf63807ae400604ull,0xf6400012400612ull,0xf648001a400612ull,
    0xf6500012400646ull,0xf658001a400646ull,0xf6600013c00646ull,0xf668001bc00646ull,0xf6700013c00612ull,0xf678001bc00612ull,
    0xf6800035000602ull,0xf688003d000602ull,0xf6900035000600ull,0xf698003d000600ull,0xf6a00035000612ull,0xf6a8003d000612ull,
    0xf6b00035000606ull,0xf6b8003d000606ull,0xf6c007b3000604ull,0xf6c807b3400604ull,0xf6d00068000602ull,0xf6d80068400602ull,
    0xf6e00068000600ull,0xf6e80068400600ull,0xf6f00068000612ull,0xf6f80068400612ull,0xf7000068000606ull,0xf7080068400606ull,
    0xf7100068000646ull,0xf7180068400646ull,0xf7200015400646ull,0xf728001d400646ull,0xf7300015400612ull,0xf738001d400612ull,
    0xf740006bc00602ull,0xf748006c000602ull,0xf750006bc00600ull,0xf758006c000600ull,0xf760006bc00612ull,0xf768006c000612ull,
    0xf770006bc00606ull,0xf778006c000606ull,0xf780006bc00646ull,0xf788006c000646ull,0xf7900016400600ull,0xf798001e400600ull,
    0xf7a00016400646ull,0xf7a8001e400646ull,0xf7b00016400612ull,0xf7b8001e400612ull,0xf7c00016400606ull,0xf7c8001e400606ull,
    0xf80000ec400626ull,0xf80800ec400628ull,0xf81007c0000600ull,0xf81807c0400600ull,0xf82007c0000602ull,0xf82807c0400602ull,
    0xf83007c0000684ull,0xf83807c0400684ull,0xf84000e4400626ull,0xf84800e4400628ull,0xf85007c2000600ull,0xf85807c2400600ull,
    0xf86007c2000602ull,0xf86807c2400602ull,0xf87007c2000684ull,0xf87807c2400684ull,0xf88000ed400626ull,0xf88800ed400628ull,
    0xf89007c4000600ull,0xf89807c4400600ull,0xf8a007c4000602ull,0xf8a807c4400602ull,0xf8c000e5400626ull,0xf8c800e5400628ull,
    0xf8d007c6000600ull,0xf8d807c6400600ull,0xf8e007c6000602ull,0xf8e807c6400602ull,0xf90000edc00626ull,0xf90800edc00628ull,
    0xf91007c8000600ull,0xf91807c8400600ull,0xf92007c8000602ull,0xf92807c8400602ull,0xf93007c8000684ull,0xf93807c8400684ull,
    0xf94000e5c00626ull,0xf94800e5c00628ull,0xf95007ca000600ull,0xf95807ca400600ull,0xf96007ca000602ull,0xf96807ca400602ull,
    0xf97007ca000684ull,0xf97807ca400684ull,0xf98000ee400626ull,0xf98800ee400628ull,0xf99007cc000600ull,0xf99807cc400600ull,
    0xf9a007cc000602ull,0xf9a807cc400602ull,0xf9b007cc000684ull,0xf9b807cc400684ull,0xf9c000e6400626ull,0xf9c800e6400628ull,
    0xf9d007ce000600ull,0xf9d807ce400600ull,0xf9e007ce000602ull,0xf9e807ce400602ull,0xf9f007ce000684ull,0xf9f807ce400684ull,
    0xfa0000efc00626ull,0xfa0800efc00628ull,0xfa1007d0000600ull,0xfa1807d0400600ull,0xfa2007d0000602ull,0xfa2807d0400602ull,
    0xfa4000e7c00626ull,0xfa4800e7c00628ull,0xfa5007d2000600ull,0xfa5807d2400600ull,0xfa6007d2000602ull,0xfa6807d2400602ull,
    0xfa8000f1400626ull,0xfa8800f1400628ull,0xfa9007d4000600ull,0xfa9807d4400600ull,0xfaa007d4000602ull,0xfaa807d4400602ull,
    0xfab007d4000684ull,0xfab807d4400684ull,0xfac800e9400628ull,0xfad807d6400600ull,0xfae807d6400602ull,0xfaf807d6400684ull,
    0xfb0000f2400626ull,0xfb0800f2400628ull,0xfb1007d8000600ull,0xfb1807d8400600ull,0xfb2007d8000602ull,0xfb2807d8400602ull,
    0xfb3007d8000684ull,0xfb3807d8400684ull,0xfb4000ea400626ull,0xfb4800ea400628ull,0xfb5007da000600ull,0xfb5807da400600ull,
    0xfb6007da000602ull,0xfb6807da400602ull,0xfb7007da000684ull,0xfb7807da400684ull,0xfb8000ec400600ull,0xfb8800eb000001ull,
    0xfb9000ed400600ull,0xfb9800eb400001ull,0xfba000edc00600ull,0xfba800eb800001ull,0xfbb000ee400600ull,0xfbb800ebc00001ull,
    0xfbc000efc00600ull,0xfbc800f3000001ull,0xfbd000f1400600ull,0xfbd800f3400001ull,0xfbe000f2400600ull,0xfbe800f3800001ull,
    0xfc0007c000068aull,0xfc0807c040068aull,0xfc1007c080068aull,0xfc1807c0c0068aull,0xfc2007c100068aull,0xfc2807c140068aull,
    0xfc3007c180068aull,0xfc3807c1c0068aull,0xfc4007c200068aull,0xfc4807c240068aull,0xfc5007c280068aull,0xfc5807c2c0068aull,
    0xfc6007c300068aull,0xfc6807c340068aull,0xfc7007c380068aull,0xfc7807c3c0068aull,0xfc8007c800068aull,0xfc8807c840068aull,
    0xfc9007c880068aull,0xfc9807c8c0068aull,0xfca007c900068aull,0xfca807c940068aull,0xfcb007c980068aull,0xfcb807c9c0068aull,
    0xfcc007ca00068aull,0xfcc807ca40068aull,0xfcd007ca80068aull,0xfcd807cac0068aull,0xfce007cb00068aull,0xfce807cb40068aull,
    0xfcf007cb80068aull,0xfcf807cbc0068aull,0xfd0007d800068aull,0xfd0807d840068aull,0xfd1007d880068aull,0xfd1807d8c0068aull,
    0xfd2007d900068aull,0xfd2807d940068aull,0xfd3007d980068aull,0xfd3807d9c0068aull,0xfd4007da00068aull,0xfd4807da40068aull,
    0xfd5007da80068aull,0xfd5807dac0068aull,0xfd6007db00068aull,0xfd6807db40068aull,0xfd7007db80068aull,0xfd7807dbc0068aull,
    0xfd8000ec40060cull,0xfd8800ec400608ull,0xfd9007dc00068aull,0xfd9800ec40068aull,0xfda000eb00068aull,0xfdb000ec400684ull,
    0xfdb807ed80068aull,0xfdc000e440060cull,0xfdc800e4400608ull,0xfdd000e4400600ull,0xfdd800e1800001ull,0xfde000e440068aull,
    0xfdf000ee400001ull,0xfe08002a000684ull,0xfe1007dd00068aull,0xfe1800edc0068aull,0xfe2000eb80068aull,0xfe3000edc00684ull,
    0xfe3807f180068aull,0xfe4000e5400600ull,0xfe4800e2000001ull,0xfe5000e5c00600ull,0xfe5800e2400001ull,0xfe6000e5c0068aull,
    0xfe6807efc00600ull,0xfe7007efc00602ull,0xfe7807efc00684ull,0xfe8000ee40060cull,0xfe8800ee400608ull,0xfe9000f2800600ull,
    0xfe9800e4000001ull,0xfeb000ee400684ull,0xfeb800f2800684ull,0xfec000e640060cull,0xfec800e6400608ull,0xfed000e6400600ull,
    0xfed800e2800001ull,0xfee807ff800600ull,0xfef007ff800602ull,0xfef807ff800684ull,0xff0000f140060cull,0xff0800f1400608ull,
    0xff1000f2c00600ull,0xff1800ec000001ull,0xff2000f0400626ull,0xff2800f0400628ull,0xff3000f1400684ull,0xff3800f2c00684ull,
    0xff4000e940060cull,0xff4800e9400608ull,0xff5000e9400600ull,0xff5800e3800001ull,0xff6000e8400628ull,0xff68002a000600ull,
    0xff7000e1400001ull,0xff780018000001ull,0xff9007df00068aull,0xff9800f240068aull,0xffa000f380068aull,0xffb000f2400684ull,
    0xffb807fd80068aull,0xffc000e7c00600ull,0xffc800e3000001ull,0xffd000ea400600ull,0xffd800e3c00001ull,0xffe000ea40068aull,
    0xffe8002d000001ull,0x100000800800001ull,0x100080800c00001ull,0x1093000ea400001ull,0x109500012c00001ull,0x109580031400001ull,
    0x10cd00864000670ull,0x10cd80864800670ull,0x10d700865000670ull,0x10e680874000670ull,0x10e700875000670ull,0x10e780874800670ull,
    0x110200880c00670ull,0x110480882000670ull,0x110600882c00670ull,0x111200888c00670ull,0x111300889400670ull,0x11208088f000670ull,
    0x112200890c00670ull,0x112380891400670ull,0x112480892000670ull,0x11300000f400670ull,0x113100898400670ull,0x113680893400670ull,
    0x11370000f000670ull,0x11378000f800670ull,0x113800899000670ull,0x113880899400670ull,0x113a0089c800670ull,0x113a8089cc00670ull,
    0x113c0089d800670ull,0x113c8089dc00670ull,0x11400089e800670ull,0x11408089ec00670ull,0x1142008a0800670ull,0x1142808a0c00670ull,
    0x1144008a1800670ull,0x1144808a1c00670ull,0x1156008a8800670ull,0x1156808aa000670ull,0x1157008aa400670ull,0x1157808aac00670ull,
    0x11700089f000670ull,0x11708089f400670ull,0x1171008a4400670ull,0x1171808a4800670ull,0x1175008ac800670ull,0x1175808acc00670ull,
    0x1176008ad000670ull,0x1176808ad400670ull,0x119480c02000001ull,0x119500c02400001ull,0x156e00ab7400671ull,0x182600c12c06132ull,
    0x182700c13406132ull,0x182800c13c06132ull,0x182900c14406132ull,0x182a00c14c06132ull,0x182b00c15406132ull,0x182c00c15c06132ull,
    0x182d00c16406132ull,0x182e00c16c06132ull,0x182f00c17406132ull,0x183000c17c06132ull,0x183100c18406132ull,0x183280c19006132ull,
    0x183380c19806132ull,0x183480c1a006132ull,0x183800c1bc06132ull,0x183880c1bc06134ull,0x183980c1c806132ull,0x183a00c1c806134ull,
    0x183b00c1d406132ull,0x183b80c1d406134ull,0x183c80c1e006132ull,0x183d00c1e006134ull,0x183e00c1ec06132ull,0x183e80c1ec06134ull,
    0x184a00c11806132ull,0x184f00c27406132ull,0x185600c2ac06132ull,0x185700c2b406132ull,0x185800c2bc06132ull,0x185900c2c406132ull,
    0x185a00c2cc06132ull,0x185b00c2d406132ull,0x185c00c2dc06132ull,0x185d00c2e406132ull,0x185e00c2ec06132ull,0x185f00c2f406132ull,
    0x186000c2fc06132ull,0x186100c30406132ull,0x186280c31006132ull,0x186380c31806132ull,0x186480c32006132ull,0x186800c33c06132ull,
    0x186880c33c06134ull,0x186980c34806132ull,0x186a00c34806134ull,0x186b00c35406132ull,0x186b80c35406134ull,0x186c80c36006132ull,
    0x186d00c36006134ull,0x186e00c36c06132ull,0x186e80c36c06134ull,0x187a00c29806132ull,0x187b80c3bc06132ull,0x187c00c3c006132ull,
    0x187c80c3c406132ull,0x187d00c3c806132ull,0x187f00c3f406132ull,0x7c8002312000001ull,0x7c80819bd000001ull,0x7c81023b2800001ull,
    0x7c8182332000001ull,0x7c8201bb4400001ull,0x7c828138c800001ull,0x7c83014f9400001ull,0x7c83827e7000001ull,0x7c84027e7000001ull,
    0x7c8481654400001ull,0x7c8502474400001ull,0x7c8581561c00001ull,0x7c8601652000001ull,0x7c868187d800001ull,0x7c8701d9a400001ull,
    0x7c8781fe1400001ull,0x7c880218fc00001ull,0x7c88821ee800001ull,0x7c890223e000001ull,0x7c8982423c00001ull,0x7c8a01a80800001ull,
    0x7c8a81b46c00001ull,0x7c8b01c36400001ull,0x7c8b81cf7800001ull,0x7c8c0210f400001ull,0x7c8c8245a800001ull,0x7c8d0267c400001ull,
    0x7c8d813a0800001ull,0x7c8e014dd400001ull,0x7c8e81ac1000001ull,0x7c8f01c86c00001ull,0x7c8f8218b400001ull,0x7c9002787800001ull,
    0x7c9081754000001ull,0x7c9101bfac00001ull,0x7c9182173400001ull,0x7c9202259000001ull,0x7c92818b2400001ull,0x7c9302076000001ull,
    0x7c9382207c00001ull,0x7c94017b2800001ull,0x7c94819c5c00001ull,0x7c9501b5a800001ull,0x7c9581cbf000001ull,0x7c9602433800001ull,
    0x7c96813e1800001ull,0x7c970146dc00001ull,0x7c97814b7800001ull,0x7c9801931000001ull,0x7c9881ab4c00001ull,0x7c9901c84000001ull,
    0x7c9981db9c00001ull,0x7c9a02000400001ull,0x7c9a82181800001ull,0x7c9b02197000001ull,0x7c9b8237bc00001ull,0x7c9c025cc800001ull,
    0x7c9c826dbc00001ull,0x7c9d0277e800001ull,0x7c9d81e23000001ull,0x7c9e01e5fc00001ull,0x7c9e81f68000001ull,0x7c9f020f2400001ull,
    0x7c9f824c1000001ull,0x7ca00279fc00001ull,0x7ca0822b5800001ull,0x7ca101637c00001ull,0x7ca1817c1000001ull,0x7ca201f18000001ull,
    0x7ca28201f800001ull,0x7ca301c98800001ull,0x7ca381e32800001ull,0x7ca402330800001ull,0x7ca4825bdc00001ull,0x7ca501636000001ull,
    0x7ca581718800001ull,0x7ca601a84c00001ull,0x7ca681b76800001ull,0x7ca701bc3c00001ull,0x7ca781f4bc00001ull,0x7ca801f8dc00001ull,
    0x7ca882592c00001ull,0x7ca9014b4800001ull,0x7ca982022c00001ull,0x7caa01477000001ull,0x7caa81473000001ull,0x7cab01e87000001ull,
    0x7cab81f6f800001ull,0x7cac020fc400001ull,0x7cac8259d400001ull,0x7cad022e0000001ull,0x7cad818b3c00001ull,0x7cae01a80800001ull,
    0x7cae822bf800001ull,0x7caf0138e400001ull,0x7caf816f9c00001ull,0x7cb001804800001ull,0x7cb081ce1c00001ull,0x7cb101d5c000001ull,
    0x7cb1814c5c00001ull,0x7cb201e3ec00001ull,0x7cb2813efc00001ull,0x7cb3017ea400001ull,0x7cb381383400001ull,0x7cb401b33000001ull,
    0x7cb48195e000001ull,0x7cb501f48800001ull,0x7cb5814f0c00001ull,0x7cb601617800001ull,0x7cb681dc0400001ull,0x7cb702112400001ull,
    0x7cb7822aa800001ull,0x7cb801aee800001ull,0x7cb8823ec000001ull,0x7cb901b22000001ull,0x7cb9818bf800001ull,0x7cba020b9400001ull,
    0x7cba818e8000001ull,0x7cbb01d59400001ull,0x7cbb813ab800001ull,0x7cbc0145a400001ull,0x7cbc81472400001ull,0x7cbd01a20400001ull,
    0x7cbd81f39c00001ull,0x7cbe0209bc00001ull,0x7cbe822b4800001ull,0x7cbf02473c00001ull,0x7cbf814bd400001ull,0x7cc001510800001ull,
    0x7cc08165cc00001ull,0x7cc1017bb000001ull,0x7cc181971400001ull,0x7cc201bff800001ull,0x7cc281e4a800001ull,0x7cc30256b400001ull,
    0x7cc38269a800001ull,0x7cc4027a5c00001ull,0x7cc4827b3800001ull,0x7cc5014a6c00001ull,0x7cc5819b1800001ull,0x7cc601addc00001ull,
    0x7cc6823d8800001ull,0x7cc70179d000001ull,0x7cc781864000001ull,0x7cc801880000001ull,0x7cc881926800001ull,0x7cc901bc8c00001ull,
    0x7cc981c52400001ull,0x7cca01d22400001ull,0x7cca81e72800001ull,0x7ccb01f7d000001ull,0x7ccb8201bc00001ull,0x7ccc023c9800001ull,
    0x7ccc8213b800001ull,0x7ccd02408c00001ull,0x7ccd824d2800001ull,0x7cce01485c00001ull,0x7cce814a8c00001ull,0x7ccf0152f400001ull,
    0x7ccf81c32000001ull,0x7cd002230800001ull,0x7cd0822aa800001ull,0x7cd1017b2400001ull,0x7cd1817fd400001ull,0x7cd2018dec00001ull,
    0x7cd281aeb800001ull,0x7cd301f0f800001ull,0x7cd381cdd400001ull,0x7cd4013b9000001ull,0x7cd4815be400001ull,0x7cd5016f9c00001ull,
    0x7cd58176e800001ull,0x7cd601807000001ull,0x7cd681cec800001ull,0x7cd701d1a400001ull,0x7cd781fe6800001ull,0x7cd802011800001ull,
    0x7cd88248d000001ull,0x7cd9025bd800001ull,0x7cd9825d2000001ull,0x7cda02606000001ull,0x7cda813e2c00001ull,0x7cdb01e6b800001ull,
    0x7cdb8246d000001ull,0x7cdc025ae000001ull,0x7cdc81838400001ull,0x7cdd013a1800001ull,0x7cdd81436800001ull,0x7cde016fb800001ull,
    0x7cde8170fc00001ull,0x7cdf01966400001ull,0x7cdf81a80800001ull,0x7ce001c73800001ull,0x7ce081d90800001ull,0x7ce10213f000001ull,
    0x7ce18241f000001ull,0x7ce2027e3400001ull,0x7ce2819a2000001ull,0x7ce30258b800001ull,0x7ce3814a2400001ull,0x7ce4019dec00001ull,
    0x7ce4819fcc00001ull,0x7ce501b50400001ull,0x7ce581ba7000001ull,0x7ce601d02400001ull,0x7ce681d56400001ull,0x7ce701e1ac00001ull,
    0x7ce781f44000001ull,0x7ce802617800001ull,0x7ce88145b400001ull,0x7ce90188b800001ull,0x7ce98259e000001ull,0x7cea0140ac00001ull,
    0x7cea81746400001ull,0x7ceb01b7a800001ull,0x7ceb823ca800001ull,0x7cec017e2c00001ull,0x7cec81851000001ull,0x7ced01a05c00001ull,
    0x7ced81ce1c00001ull,0x7cee025a1800001ull,0x7cee8148a400001ull,0x7cef01503c00001ull,0x7cef81719400001ull,0x7cf001984c00001ull,
    0x7cf0819d3800001ull,0x7cf101a2a000001ull,0x7cf181b39400001ull,0x7cf201d01800001ull,0x7cf281d78800001ull,0x7cf301fde400001ull,
    0x7cf382233c00001ull,0x7cf402238400001ull,0x7cf482473000001ull,0x7cf5025b8800001ull,0x7cf5814cfc00001ull,0x7cf601bae800001ull,
    0x7cf681507400001ull,0x7cf701c74000001ull,0x7cf781d26000001ull,0x7cf80217e800001ull,0x7cf8825a8c00001ull,0x7cf902715c00001ull,
    0x7cf9827a7c00001ull,0x7cfa019e5c00001ull,0x7cfa81b72c00001ull,0x7cfb0207a000001ull,0x7cfb81eb2c00001ull,0x7cfc01ec8000001ull,
    0x7cfc81f24800001ull,0x7cfd01cb0000001ull,0x7cfd81c26400001ull,0x7cfe022d6000001ull,0x7cfe813b0000001ull,0x7cff020cd800001ull,
    0x7cff8148e800001ull,0x7d0001481c00001ull,0x7d00817a9800001ull,0x7d01018b4c00001ull,0x7d0181f35800001ull,0x7d02016e1400001ull,
    0x7d0281b47800001ull,0x7d03019ad000001ull,0x7d03823cec00001ull,0x7d0402213000001ull,0x7d0482593400001ull,0x7d0502262c00001ull,
    0x7d05817b4c00001ull,0x7d0601450000001ull,0x7d0681570000001ull,0x7d0801616800001ull,0x7d090199d000001ull,0x7d0a81477800001ull,
    0x7d0b01cca800001ull,0x7d0b81db2800001ull,0x7d0c01e4f000001ull,0x7d0c81e57800001ull,0x7d0d01e59400001ull,0x7d0d81e63c00001ull,
    0x7d0e025d5800001ull,0x7d0e81f2f800001ull,0x7d0f01fef400001ull,0x7d1002184800001ull,0x7d11022be000001ull,0x7d128240e000001ull,
    0x7d130243f400001ull,0x7d150263bc00001ull,0x7d158263f000001ull,0x7d160264a000001ull,0x7d168276d000001ull,0x7d1702437800001ull,
    0x7d17825adc00001ull,0x7d18013eb800001ull,0x7d1881439c00001ull,0x7d1901453400001ull,0x7d19814b2400001ull,0x7d1a014b9000001ull,
    0x7d1a814d4400001ull,0x7d1b01567400001ull,0x7d1b81581800001ull,0x7d1c0159a000001ull,0x7d1c81610000001ull,0x7d1d0162a000001ull,
    0x7d1d81719000001ull,0x7d1e0171b800001ull,0x7d1e81825000001ull,0x7d1f0185a000001ull,0x7d1f81863800001ull,0x7d200187c800001ull,
    0x7d2081953c00001ull,0x7d2101978800001ull,0x7d21819a4400001ull,0x7d2201a21400001ull,0x7d2281b5dc00001ull,0x7d2301b86800001ull,
    0x7d2381bc8800001ull,0x7d2401c5b800001ull,0x7d2481c8ac00001ull,0x7d2501d08800001ull,0x7d2581e24400001ull,0x7d2601e4f800001ull,
    0x7d2681e52400001ull,0x7d2701e52000001ull,0x7d2781e54000001ull,0x7d2801e55800001ull,0x7d2881e57400001ull,0x7d2901e63400001ull,
    0x7d2981e63800001ull,0x7d2a01e90000001ull,0x7d2a81ea0400001ull,0x7d2b01ef0000001ull,0x7d2b81f7d000001ull,0x7d2c01f82400001ull,
    0x7d2c81f90400001ull,0x7d2d01fdc800001ull,0x7d2d82001400001ull,0x7d2e0207b400001ull,0x7d2e8209e400001ull,0x7d2f0209e400001ull,
    0x7d2f82115c00001ull,0x7d3002244000001ull,0x7d3082265800001ull,0x7d31022c0400001ull,0x7d31822ce400001ull,0x7d3202334c00001ull,
    0x7d3282342000001ull,0x7d33023ed800001ull,0x7d338240e000001ull,0x7d34025b8c00001ull,0x7d34825ffc00001ull,0x7d350260ec00001ull,
    0x7d358181d400001ull,0x7d36090bb800001ull,0x7d3682086000001ull,0x7d3801389800001ull,0x7d388146d400001ull,0x7d390145a000001ull,
    0x7d39813e0000001ull,0x7d3a01451400001ull,0x7d3a81460000001ull,0x7d3b014b1c00001ull,0x7d3b814be800001ull,0x7d3c01567400001ull,
    0x7d3c81555400001ull,0x7d3d01566400001ull,0x7d3d81578800001ull,0x7d3e01616800001ull,0x7d3e8162cc00001ull,0x7d3f01651000001ull,
    0x7d3f81655000001ull,0x7d4001698800001ull,0x7d40816ca000001ull,0x7d41017b4800001ull,0x7d41817b6400001ull,0x7d42017da400001ull,
    0x7d42817eb400001ull,0x7d4301836000001ull,0x7d4381853800001ull,0x7d4401842000001ull,0x7d4481863800001ull,0x7d4501858000001ull,
    0x7d458187c800001ull,0x7d460188d000001ull,0x7d46818f1000001ull,0x7d4701907000001ull,0x7d4781914800001ull,0x7d4801955800001ull,
    0x7d488199d000001ull,0x7d49019c5c00001ull,0x7d49819c6c00001ull,0x7d4a019d5800001ull,0x7d4a81ade400001ull,0x7d4b01aee800001ull,
    0x7d4b81b50400001ull,0x7d4c01bb6c00001ull,0x7d4c81bb2c00001ull,0x7d4d01bc8800001ull,0x7d4d81c07800001ull,0x7d4e01c5b800001ull,
    0x7d4e81de9c00001ull,0x7d4f01c8d400001ull,0x7d4f81cabc00001ull,0x7d5001cca800001ull,0x7d5081d1c400001ull,0x7d5101d41800001ull,
    0x7d5181d4ec00001ull,0x7d5201d87400001ull,0x7d5281d87c00001ull,0x7d5301db2800001ull,0x7d5381db6c00001ull,0x7d5401dbd000001ull,
    0x7d5481dd2800001ull,0x7d5501dd0000001ull,0x7d5581e33000001ull,0x7d5601eac400001ull,0x7d5681ef0000001ull,0x7d5701f1ec00001ull,
    0x7d5781f56c00001ull,0x7d5801f7d000001ull,0x7d5881fcf800001ull,0x7d5902001400001ull,0x7d59820d4800001ull,0x7d5a020fbc00001ull,
    0x7d5a821de400001ull,0x7d5b02250400001ull,0x7d5b82261800001ull,0x7d5c02265800001ull,0x7d5c822afc00001ull,0x7d5d022be000001ull,
    0x7d5d822b2c00001ull,0x7d5e022c0400001ull,0x7d5e822bf800001ull,0x7d5f022bb400001ull,0x7d5f822ce400001ull,0x7d60022e2800001ull,
    0x7d6082342000001ull,0x7d61023ce000001ull,0x7d618241c800001ull,0x7d6202466400001ull,0x7d628249d800001ull,0x7d630259f000001ull,
    0x7d63825b8c00001ull,0x7d64025d5800001ull,0x7d64825f6c00001ull,0x7d65025ffc00001ull,0x7d6582602c00001ull,0x7d660260ec00001ull,
    0x7d66826c4800001ull,0x7d67027e7000001ull,0x7d6788a12800001ull,0x7d6808a11000001ull,0x7d6888cf5400001ull,0x7d6900ee7400001ull,
    0x7d6981006000001ull,0x7d6a0100e400001ull,0x7d6a89492400001ull,0x7d6b09734000001ull,0x7d6b89fb4c00001ull,0x7d6c027d0c00001ull,
    0x7d6c827e3800001ull,0x7d8e80176400b69ull,0x7d8f8017c800b6full,0x7d950017a400b83ull,0x7d958017a400b85ull,0x7d9603ed2400b83ull,
    0x7d9683ed2400b85ull,0x7d9700174000b6full,0x7d9780174000b71ull,0x7d9800174000b79ull,0x7d9880174400b79ull,0x7d9900174800b79ull,
    0x7d9980174c00b79ull,0x7d9a00175000b79ull,0x7d9a80175400b79ull,0x7d9b00175800b79ull,0x7d9c00176000b79ull,0x7d9c80176400b79ull,
    0x7d9d00176800b79ull,0x7d9d80176c00b79ull,0x7d9e00177000b79ull,0x7d9f00177800b79ull,0x7da000178000b79ull,0x7da080178400b79ull,
    0x7da180178c00b79ull,0x7da200179000b79ull,0x7da300179800b79ull,0x7da380179c00b79ull,0x7da40017a000b79ull,0x7da48017a400b79ull,
    0x7da50017a800b79ull,0x7da580175400b73ull,0x7da600174400b7full,0x7da680176c00b7full,0x7da700179000b7full,0x884d04426422174ull,
    0x884e04426c22174ull,0x885584429422174ull,0x88970444c42224eull,0x88978444c82224eull,0x89a5844d1c2267cull,0x89a6044d1c226aeull,
    0x8a5d8452e422974ull,0x8a5e0452e422960ull,0x8a5f0452e42297aull,0x8add0456e022b5eull,0x8add8456e422b5eull,0x8c9c0464d423260ull,
    0xe8af07455c3a2cbull,0xe8af8745603a2cbull,0xe8b007457c3a2ddull,0xe8b087457c3a2dfull,0xe8b107457c3a2e1ull,0xe8b187457c3a2e3ull,
    0xe8b207457c3a2e5ull,0xe8dd8746e43a2cbull,0xe8de0746e83a2cbull,0xe8de8746ec3a2ddull,0xe8df0746f03a2ddull,0xe8df8746ec3a2dfull,
    0xe8e00746f03a2dfull,0x17c000138f400001ull,0x17c008138e000001ull,0x17c0101390400001ull,0x17c0188048800001ull,0x17c02013d8000001ull,
    0x17c02813eb800001ull,0x17c03013eec00001ull,0x17c0381400800001ull,0x17c040141e800001ull,0x17c0481426400001ull,0x17c0501439c00001ull,
    0x17c0581433c00001ull,0x17c0600d27800001ull,0x17c068818e800001ull,0x17c0701453400001ull,0x17c0781455000001ull,0x17c0801459000001ull,
    0x17c088145dc00001ull,0x17c0908147000001ull,0x17c0980d2e400001ull,0x17c0a01459c00001ull,0x17c0a81463400001ull,0x17c0b08152c00001ull,
    0x17c0b81465c00001ull,0x17c0c01469000001ull,0x17c0c813b3000001ull,0x17c0d0146b000001ull,0x17c0d8146d400001ull,0x17c0e0a477c00001ull,
    0x17c0e8147d400001ull,0x17c0f01480c00001ull,0x17c0f80d37c00001ull,0x17c100148ec00001ull,0x17c1081491800001ull,0x17c110149c800001ull,
    0x17c118149dc00001ull,0x17c1200d45400001ull,0x17c12814b1c00001ull,0x17c13014b2400001ull,0x17c13814b9000001ull,0x17c14014be800001ull,
    0x17c14814c1400001ull,0x17c15014c1800001ull,0x17c15814c5c00001ull,0x17c16014d2400001ull,0x17c16814d4400001ull,0x17c17014d6800001ull,
    0x17c17814dcc00001ull,0x17c18014df400001ull,0x17c18814dfc00001ull,0x17c19014dfc00001ull,0x17c19814dfc00001ull,0x17c1a0828b000001ull,
    0x17c1a81c1c000001ull,0x17c1b014f2800001ull,0x17c1b814f7c00001ull,0x17c1c082d8c00001ull,0x17c1c814fac00001ull,0x17c1d014fc400001ull,
    0x17c1d81501800001ull,0x17c1e01527800001ull,0x17c1e8150e000001ull,0x17c1f01512000001ull,0x17c1f8151a000001ull,0x17c2001528800001ull,
    0x17c208153d800001ull,0x17c2101544000001ull,0x17c2181554c00001ull,0x17c2201558c00001ull,0x17c2281561000001ull,0x17c2301561000001ull,
    0x17c2381566400001ull,0x17c240156ac00001ull,0x17c248156cc00001ull,0x17c2501570800001ull,0x17c25815c5800001ull,0x17c2601581800001ull,
    0x17c26815c5c00001ull,0x17c2701594400001ull,0x17c278159d000001ull,0x17c2801481c00001ull,0x17c288163b800001ull,0x17c29015f3800001ull,
    0x17c29815fd000001ull,0x17c2a01603400001ull,0x17c2a815e2c00001ull,0x17c2b0160c800001ull,0x17c2b8160c400001ull,0x17c2c0162b000001ull,
    0x17c2c88539000001ull,0x17c2d0163c800001ull,0x17c2d8163dc00001ull,0x17c2e01641800001ull,0x17c2e81646800001ull,0x17c2f01648800001ull,
    0x17c2f81658800001ull,0x17c30085aa000001ull,0x17c30885ba800001ull,0x17c310167b000001ull,0x17c3181686c00001ull,0x17c3201689c00001ull,
    0x17c3281676000001ull,0x17c3301699800001ull,0x17c3380dbb800001ull,0x17c3400dbf000001ull,0x17c34816c2000001ull,0x17c35016cf800001ull,
    0x17c35816cf800001ull,0x17c3608672000001ull,0x17c36816f0c00001ull,0x17c37016f6000001ull,0x17c37816f9c00001ull,0x17c38016fcc00001ull,
    0x17c38886c6000001ull,0x17c39016ffc00001ull,0x17c3981701800001ull,0x17c3a017d4c00001ull,0x17c3a81708800001ull,0x17c3b00de0400001ull,
    0x17c3b81718000001ull,0x17c3c0171b800001ull,0x17c3c81730000001ull,0x17c3d01723400001ull,0x17c3d88779000001ull,0x17c3e01750c00001ull,
    0x17c3e88779800001ull,0x17c3f0175b800001ull,0x17c3f8175ac00001ull,0x17c400175f000001ull,0x17c4081778400001ull,0x17c4101778800001ull,
    0x17c4180e0bc00001ull,0x17c420177f400001ull,0x17c428178a000001ull,0x17c430178f400001ull,0x17c438179a400001ull,0x17c4400e18800001ull,
    0x17c4488860c00001ull,0x17c4500e1f000001ull,0x17c45817ac000001ull,0x17c46017acc00001ull,0x17c46817ad800001ull,0x17c47017b2800001ull,
    0x17c478a8e4800001ull,0x17c48017bf800001ull,0x17c48888cc400001ull,0x17c49088cc400001ull,0x17c4982080400001ull,0x17c4a017c8800001ull,
    0x17c4a817c8800001ull,0x17c4b00e31c00001ull,0x17c4b88cae000001ull,0x17c4c09876800001ull,0x17c4c817d8800001ull,0x17c4d017dac00001ull,
    0x17c4d80e38c00001ull,0x17c4e017e6800001ull,0x17c4e817f3400001ull,0x17c4f017f5c00001ull,0x17c4f817fe400001ull,0x17c5001820400001ull,
    0x17c5080e4e800001ull,0x17c5100e47000001ull,0x17c5181825000001ull,0x17c52089b5000001ull,0x17c5281831c00001ull,0x17c5301852000001ull,
    0x17c5381853000001ull,0x17c5401853800001ull,0x17c5481853000001ull,0x17c550185e800001ull,0x17c5581863800001ull,0x17c560186c800001ull,
    0x17c5681869000001ull,0x17c570186bc00001ull,0x17c5781877800001ull,0x17c580187c800001ull,0x17c588187d800001ull,0x17c5901884000001ull,
    0x17c5981886c00001ull,0x17c5a01897400001ull,0x17c5a818ac400001ull,0x17c5b018b5000001ull,0x17c5b818d4000001ull,0x17c5c08ac3000001ull,
    0x17c5c818cf400001ull,0x17c5d018bf000001ull,0x17c5d818da000001ull,0x17c5e018e0c00001ull,0x17c5e818f9000001ull,0x17c5f08afc400001ull,
    0x17c5f81908800001ull,0x17c60018f1400001ull,0x17c60818ea400001ull,0x17c6100e8b800001ull,0x17c618191a400001ull,0x17c620191f800001ull,
    0x17c6281927400001ull,0x17c630191dc00001ull,0x17c6380e9b000001ull,0x17c6401953c00001ull,0x17c648195b000001ull,0x17c6508c02800001ull,
    0x17c6581978c00001ull,0x17c66019be000001ull,0x17c6681992400001ull,0x17c6700ec6400001ull,0x17c67819a4400001ull,0x17c6800ec2000001ull,
    0x17c6880eb9000001ull,0x17c6901464800001ull,0x17c6981465400001ull,0x17c6a019c0000001ull,0x17c6a819a7000001ull,0x17c6b0202b400001ull,
    0x17c6b810f6400001ull,0x17c6c019c5c00001ull,0x17c6c819c6c00001ull,0x17c6d019c8400001ull,0x17c6d819d7800001ull,0x17c6e019d4c00001ull,
    0x17c6e88cf0c00001ull,0x17c6f00ed2400001ull,0x17c6f819fe800001ull,0x17c70019e1400001ull,0x17c7081a14800001ull,0x17c7101a21400001ull,
    0x17c7188d1b400001ull,0x17c7201a23800001ull,0x17c7281a07c00001ull,0x17c7301a45000001ull,0x17c7380ee7400001ull,0x17c7401a50800001ull,
    0x17c7481a68c00001ull,0x17c7501a7a800001ull,0x17c7581aaa000001ull,0x17c7608da8c00001ull,0x17c7681ab6c00001ull,0x17c7700f06000001ull,
    0x17c7781ac8400001ull,0x17c7808e29c00001ull,0x17c7881ad5000001ull,0x17c7900f13800001ull,0x17c7981adc800001ull,0x17c7a01ae7c00001ull,
    0x17c7a81aee800001ull,0x17c7b01aeec00001ull,0x17c7b88ea3400001ull,0x17c7c08742c00001ull,0x17c7c88ebe800001ull,0x17c7d01b13800001ull,
    0x17c7d88f2f000001ull,0x17c7e01b2fc00001ull,0x17c7e81b33400001ull,0x17c7f01b19c00001ull,0x17c7f81b45800001ull,0x17c8001b4f800001ull,
    0x17c8081b5dc00001ull,0x17c8101b50400001ull,0x17c8181b5a400001ull,0x17c8201b5e000001ull,0x17c8281b61400001ull,0x17c8308f47800001ull,
    0x17c8381b4d000001ull,0x17c8401b8bc00001ull,0x17c8481b9b800001ull,0x17c8500f4cc00001ull,0x17c8581bb2c00001ull,0x17c8601bb1c00001ull,
    0x17c8688fb4400001ull,0x17c8701b7e400001ull,0x17c8781bdb800001ull,0x17c8808fd7800001ull,0x17c8888fe3800001ull,0x17c8901bf1800001ull,
    0x17c8981c0e400001ull,0x17c8a01c07800001ull,0x17c8a81c06c00001ull,0x17c8b00f65800001ull,0x17c8b81c12800001ull,0x17c8c01c1f400001ull,
    0x17c8c81c1dc00001ull,0x17c8d01c2b400001ull,0x17c8d88149400001ull,0x17c8e01c51400001ull,0x17c8e89098c00001ull,0x17c8f01c67000001ull,
    0x17c8f890eac00001ull,0x17c9001c8a000001ull,0x17c9081c8d400001ull,0x17c9101c94000001ull,0x17c9189182000001ull,0x17c9201ca0000001ull,
    0x17c9281ca5400001ull,0x17c93091cd400001ull,0x17c9389205000001ull,0x17c9401cde800001ull,0x17c9481ce2c00001ull,0x17c9500fab000001ull,
    0x17c9581ce9400001ull,0x17c9600fae000001ull,0x17c9680fae000001ull,0x17c9701d11c00001ull,0x17c9781d17000001ull,0x17c9801d1c400001ull,
    0x17c9881d21400001ull,0x17c9901d32800001ull,0x17c9980fc6c00001ull,0x17c9a01d49000001ull,0x17c9a8930d800001ull,0x17c9b01d4f800001ull,
    0x17c9b89324800001ull,0x17c9c01d5c000001ull,0x17c9c88867c00001ull,0x17c9d01d84000001ull,0x17c9d893e8400001ull,0x17c9e093ee000001ull,
    0x17c9e89411000001ull,0x17c9f00fff000001ull,0x17c9f81002000001ull,0x17ca001dbd000001ull,0x17ca08943cc00001ull,0x17ca10943c800001ull,
    0x17ca189446400001ull,0x17ca20944cc00001ull,0x17ca281dc7800001ull,0x17ca301dc7c00001ull,0x17ca381dc7c00001ull,0x17ca401dd2800001ull,
    0x17ca48100e400001ull,0x17ca501de2c00001ull,0x17ca581011800001ull,0x17ca601025800001ull,0x17ca689507400001ull,0x17ca701e13800001ull,
    0x17ca781e23000001ull,0x17ca801e33000001ull,0x17ca881038c00001ull,0x17ca909589800001ull,0x17ca981e55800001ull,0x17caa095a6800001ull,
    0x17caa895b1400001ull,0x17cab01e63c00001ull,0x17cab81e7ac00001ull,0x17cac0104bc00001ull,0x17cac81e90000001ull,0x17cad01e92800001ull,
    0x17cad81e93c00001ull,0x17cae0965f000001ull,0x17cae896a9c00001ull,0x17caf096a9c00001ull,0x17caf81ebb800001ull,0x17cb001080800001ull,
    0x17cb0896eac00001ull,0x17cb101ef1800001ull,0x17cb181ef2400001ull,0x17cb201089c00001ull,0x17cb289720000001ull,0x17cb301f34800001ull,
    0x17cb3810a8000001ull,0x17cb401f3a000001ull,0x17cb481f38c00001ull,0x17cb501f40000001ull,0x17cb5897e1800001ull,0x17cb601f58c00001ull,
    0x17cb6810c0400001ull,0x17cb701f71c00001ull,0x17cb781f80800001ull,0x17cb801f91400001ull,0x17cb8810cd000001ull,0x17cb90988a000001ull,
    0x17cb989891c00001ull,0x17cba010d6400001ull,0x17cba898b6400001ull,0x17cbb01fde800001ull,0x17cbb898cf800001ull,0x17cbc01fe5400001ull,
    0x17cbc81ffe800001ull,0x17cbd02001400001ull,0x17cbd89936800001ull,0x17cbe09948c00001ull,0x17cbe82018000001ull,0x17cbf0996a000001ull,
    0x17cbf8201c000001ull,0x17cc008cd7c00001ull,0x17cc0810f5400001ull,0x17cc10202c800001ull,0x17cc182040c00001ull,0x17cc201102c00001ull,
    0x17cc28204f800001ull,0x17cc3016ad400001ull,0x17cc3899e9c00001ull,0x17cc4099ed400001ull,0x17cc488ce4c00001ull,0x17cc508ce7000001ull,
    0x17cc582080400001ull,0x17cc602081000001ull,0x17cc6823e7800001ull,0x17cc70111ac00001ull,0x17cc7820a4400001ull,0x17cc8020a2c00001ull,
    0x17cc8820a7400001ull,0x17cc9014acc00001ull,0x17cc9820ac400001ull,0x17cca020acc00001ull,0x17cca820af400001ull,0x17ccb020b9800001ull,
    0x17ccb89acf000001ull,0x17ccc020b9400001ull,0x17ccc820c7400001ull,0x17ccd020d8c00001ull,0x17ccd820eb400001ull,0x17cce020c8c00001ull,
    0x17cce820ef400001ull,0x17ccf020f9c00001ull,0x17ccf82115c00001ull,0x17cd0020d4c00001ull,0x17cd0820f2800001ull,0x17cd1020f3000001ull,
    0x17cd1820f7000001ull,0x17cd209b0d800001ull,0x17cd289b5ac00001ull,0x17cd309b35400001ull,0x17cd38114ac00001ull,0x17cd40213c400001ull,
    0x17cd48213cc00001ull,0x17cd502145800001ull,0x17cd589cf2800001ull,0x17cd602159000001ull,0x17cd689bcb000001ull,0x17cd701157400001ull,
    0x17cd781158400001ull,0x17cd809bec400001ull,0x17cd889c34800001ull,0x17cd90115ac00001ull,0x17cd982194000001ull,0x17cda02197000001ull,
    0x17cda82199c00001ull,0x17cdb0219a400001ull,0x17cdb821aa400001ull,0x17cdc021a2000001ull,0x17cdc821c3800001ull,0x17cdd021b8800001ull,
    0x17cdd821de400001ull,0x17cde021ca000001ull,0x17cde821dac00001ull,0x17cdf021e1800001ull,0x17cdf81175c00001ull,0x17ce0021f8400001ull,
    0x17ce082200400001ull,0x17ce10117e400001ull,0x17ce182218000001ull,0x17ce202218c00001ull,0x17ce289d99c00001ull,0x17ce302235c00001ull,
    0x17ce382237800001ull,0x17ce40118d400001ull,0x17ce48223e800001ull,0x17ce500d2ec00001ull,0x17ce589e2b800001ull,0x17ce609e59800001ull,
    0x17ce6811af800001ull,0x17ce7011b1c00001ull,0x17ce7822a8000001ull,0x17ce8022bb400001ull,0x17ce8822e2800001ull,0x17ce902315400001ull,
    0x17ce989f2a000001ull,0x17cea0232ac00001ull,0x17cea82330400001ull,0x17ceb02346c00001ull,0x17ceb8235dc00001ull,0x17cec09fcbc00001ull,
    0x17cec88201000001ull,0x17ced02372c00001ull,0x17ced8236f000001ull,0x17cee0237c000001ull,0x17cee88237800001ull,0x17cef023b5000001ull,
    0x17cef823ce000001ull,0x17cf00a174800001ull,0x17cf08a17b400001ull,0x17cf102425000001ull,0x17cf18243c400001ull,0x17cf202444400001ull,
    0x17cf28a1cb800001ull,0x17cf302446c00001ull,0x17cf38248e000001ull,0x17cf4024b5c00001ull,0x17cf4824b6000001ull,0x17cf50249f000001ull,
    0x17cf5824fe400001ull,0x17cf602505400001ull,0x17cf68a2fe800001ull,0x17cf702562c00001ull,0x17cf781265400001ull,0x17cf80256dc00001ull,
    0x17cf88a35dc00001ull,0x17cf901279800001ull,0x17cf9825b0c00001ull,0x17cfa0176c800001ull,0x17cfa825c8c00001ull,0x17cfb0a451400001ull,
    0x17cfb8a486800001ull,0x17cfc0129b800001ull,0x17cfc8129d800001ull,0x17cfd025f8000001ull,0x17cfd8a502800001ull,0x17cfe012ac800001ull,
    0x17cfe8a525800001ull,0x17cff02602c00001ull,0x17cff82602c00001ull,0x17d000260a400001ull,0x17d008a56d800001ull,0x17d0102638800001ull,
    0x17d01812ccc00001ull,0x17d020264a400001ull,0x17d0282669c00001ull,0x17d0302670800001ull,0x17d038267f800001ull,0x17d04012f3800001ull,
    0x17d048a6cc000001ull,0x17d05026c4800001ull,0x17d0582710000001ull,0x17d060273f400001ull,0x17d0681333800001ull,0x17d070133b400001ull,
    0x17d0782759c00001ull,0x17d080a833800001ull,0x17d088133e000001ull,0x17d090a841400001ull,0x17d098a883800001ull,0x17d0a0a8a4400001ull,
    0x17d0a827aec00001ull,0x17d0b01355800001ull,0x17d0b827be400001ull,0x17d0c027bf800001ull,0x17d0c827c1400001ull,0x17d0d027c3c00001ull,
    0x17d0d827c5800001ull,0x17d0e027cec00001ull,0x17d0e8a980000001ull
};
static const uint64_t uniql__uc_lower[182] = {
    0x2080d20000020ull,0x6000ba0000020ull,0x6c003a0000020ull,0x8000c60000001ull,0x980009fffff39ull,0x99001e0000001ull,
    0x9c80460000001ull,0xa500be0000001ull,0xbc0009fffff87ull,0xbc801e0000001ull,0xc0800a00000d2ull,0xc100160000001ull,
    0xc3000a00000ceull,0xc3800a0000001ull,0xc4801200000cdull,0xc5800a0000001ull,0xc7000a000004full,0xc7800a00000caull,
    0xc8000a00000cbull,0xc8800a0000001ull,0xc9800a00000cdull,0xca000a00000cfull,0xcb000a00000d3ull,0xcb800a00000d1ull,
    0xcc000a0000001ull,0xce000a00000d3ull,0xce800a00000d5ull,0xcf800a00000d6ull,0xd0001e0000001ull,0xd3000a00000daull,
    0xd3800a0000001ull,0xd4800a00000daull,0xd6000a0000001ull,0xd7000a00000daull,0xd7800a0000001ull,0xd8801200000d9ull,
    0xd980160000001ull,0xdb800a00000dbull,0xdc000a0000001ull,0xde000a0000001ull,0xe2000a0000002ull,0xe2800a0000001ull,
    0xe3800a0000002ull,0xe4000a0000001ull,0xe5000a0000002ull,0xe5804e0000001ull,0xef004e0000001ull,0xf8800a0000002ull,
    0xf900160000001ull,0xfb0009fffff9full,0xfb8009fffffc8ull,0xfc00a60000001ull,0x1100009fffff7eull,0x111004e0000001ull,
    0x11d000a0002a2bull,0x11d800a0000001ull,0x11e8009fffff5dull,0x11f000a0002a28ull,0x120800a0000001ull,0x1218009fffff3dull,
    0x122000a0000045ull,0x122800a0000047ull,0x123002e0000001ull,0x1b800160000001ull,0x1bb000a0000001ull,0x1bf800a0000074ull,
    0x1c3000a0000026ull,0x1c4001a0000025ull,0x1c6000a0000040ull,0x1c70012000003full,0x1c8808a0000020ull,0x1d1804a0000020ull,
    0x1e7800a0000008ull,0x1ec00660000001ull,0x1fa0009fffffc4ull,0x1fb800a0000001ull,0x1fc8009ffffff9ull,0x1fd000a0000001ull,
    0x1fe8019fffff7eull,0x20000820000050ull,0x20801020000020ull,0x230008e0000001ull,0x24500de0000001ull,0x260000a000000full,
    0x260803e0000001ull,0x26801860000001ull,0x29881320000030ull,0x85001320001c60ull,0x863800a0001c60ull,0x866800a0001c60ull,
    0x9d0028200097d0ull,0x9f800320000008ull,0xe480159ffff440ull,0xe5e8019ffff440ull,0xf00025e0000001ull,0xf4f0009fffe241ull,
    0xf5001860000001ull,0xf840041ffffff8ull,0xf8c0031ffffff8ull,0xf940041ffffff8ull,0xf9c0041ffffff8ull,0xfa40031ffffff8ull,
    0xfac8025ffffff8ull,0xfb40041ffffff8ull,0xfc40041ffffff8ull,0xfcc0041ffffff8ull,0xfd40041ffffff8ull,0xfdc0011ffffff8ull,
    0xfdd0011fffffb6ull,0xfde0009ffffff7ull,0xfe40021fffffaaull,0xfe60009ffffff7ull,0xfec0011ffffff8ull,0xfed0011fffff9cull,
    0xff40011ffffff8ull,0xff50011fffff90ull,0xff60009ffffff9ull,0xffc0011fffff80ull,0xffd0011fffff82ull,0xffe0009ffffff7ull,
    0x10930009fffe2a3ull,0x10950009fffdf41ull,0x10958009fffdfbaull,0x1099000a000001cull,0x10b000820000010ull,0x10c1800a0000001ull,
    0x125b00d2000001aull,0x160001820000030ull,0x1630000a0000001ull,0x16310009fffd609ull,0x16318009ffff11aull,0x16320009fffd619ull,
    0x1633801e0000001ull,0x16368009fffd5e4ull,0x16370009fffd603ull,0x16378009fffd5e1ull,0x16380009fffd5e2ull,0x1639000a0000001ull,
    0x163a800a0000001ull,0x163f0011fffd5c1ull,0x164001960000001ull,0x167580160000001ull,0x1679000a0000001ull,0x532000be0000001ull,
    0x534000760000001ull,0x5391003e0000001ull,0x539900fe0000001ull,0x53bc80160000001ull,0x53be8009fff75fcull,0x53bf002e0000001ull,
    0x53c5800a0000001ull,0x53c68009fff5ad8ull,0x53c800160000001ull,0x53cb00560000001ull,0x53d50009fff5abcull,0x53d58009fff5ab1ull,
    0x53d60009fff5ab5ull,0x53d68009fff5abfull,0x53d70009fff5abcull,0x53d80009fff5aeeull,0x53d88009fff5ad6ull,0x53d90009fff5aebull,
    0x53d9800a00003a0ull,0x53da00460000001ull,0x53e20009fffffd0ull,0x53e28009fff5abdull,0x53e30009fff75c8ull,0x53e380160000001ull,
    0x53e8000a0000001ull,0x53eb00160000001ull,0x53fa800a0000001ull,0x7f9080d20000020ull,0x820001420000028ull,0x825801220000028ull,
    0x82b8005a0000027ull,0x82be007a0000027ull,0x82c6003a0000027ull,0x82ca00120000027ull,0x8640019a0000040ull,0x8c5001020000020ull,
    0xb72001020000020ull,0xf48001120000022ull
};
/* END generated Unicode tables */

/* ---- Unicode lookups ---- */

/* index of the last entry whose first code point (tab[i] >> shift) is <= cp */
static size_t uniql__uc_run32(const uint32_t *tab, size_t n, int shift, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if ((tab[mid] >> shift) <= cp) lo = mid;
        else hi = mid;
    }
    return lo;
}

UNIQLDEF const char *uniql_unicode_version(void) { return UNIQL__UNICODE_VERSION; }

UNIQLDEF uniql_unicode_category uniql_unicode_category_of(uint32_t cp)
{
    const size_t n = sizeof uniql__uc_gc / sizeof uniql__uc_gc[0];
    if (cp > 0x10FFFF) return UNIQL_UC_Cn;
    return (uniql_unicode_category)(uniql__uc_gc[uniql__uc_run32(uniql__uc_gc, n, 5, cp)] & 31u);
}

UNIQLDEF int uniql_unicode_ccc(uint32_t cp)
{
    const size_t n = sizeof uniql__uc_ccc / sizeof uniql__uc_ccc[0];
    if (cp < 0x300 || cp > 0x10FFFF) return 0;
    return (int)(uniql__uc_ccc[uniql__uc_run32(uniql__uc_ccc, n, 8, cp)] & 255u);
}

UNIQLDEF uint32_t uniql_unicode_lower(uint32_t cp)
{
    const size_t n = sizeof uniql__uc_lower / sizeof uniql__uc_lower[0];
    size_t lo = 0, hi = n;
    uint64_t e;
    uint32_t first, count, stride;
    if (cp < 128) return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if ((uint32_t)(uniql__uc_lower[mid] >> 43) <= cp) lo = mid;
        else hi = mid;
    }
    e = uniql__uc_lower[lo];
    first = (uint32_t)(e >> 43);
    count = (uint32_t)(e >> 31) & 4095u;
    stride = ((uint32_t)(e >> 30) & 1u) + 1u;
    if (cp < first || (cp - first) % stride || (cp - first) / stride >= count) return cp;
    return (uint32_t)((int64_t)cp + (int64_t)(e & 0x3FFFFFFFu) - (1 << 29));
}

/* canonical decomposition of cp, one level: 0 (none), 1 (*a) or 2 (*a, *b) code points */
static int uniql__uc_decomp1(uint32_t cp, uint32_t *a, uint32_t *b)
{
    const size_t n = sizeof uniql__uc_decomp / sizeof uniql__uc_decomp[0];
    size_t lo = 0, hi = n;
    if (cp < 0xC0 || cp > 0x2FA1D) return 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint32_t c = (uint32_t)(uniql__uc_decomp[mid] >> 43);
        if (c == cp) {
            uint64_t e = uniql__uc_decomp[mid];
            *a = (uint32_t)(e >> 22) & 0x1FFFFFu;
            *b = (uint32_t)(e >> 1) & 0x1FFFFFu;
            return *b ? 2 : 1;
        }
        if (c < cp) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

/* The primary composites, sorted by (a << 21 | b): made once per tokenizer (or per
   uniql_unicode_normalize call) from the decomposition table. */
typedef struct uniql__uc_comp { uint64_t key; uint32_t c; } uniql__uc_comp;

static int uniql__uc_comp_cmp(const void *x, const void *y)
{
    uint64_t a = ((const uniql__uc_comp *)x)->key, b = ((const uniql__uc_comp *)y)->key;
    return a < b ? -1 : a > b;
}

static size_t uniql__uc_comp_count(void)
{
    size_t i, k = 0, n = sizeof uniql__uc_decomp / sizeof uniql__uc_decomp[0];
    for (i = 0; i < n; i++) k += !(uniql__uc_decomp[i] & 1u);
    return k;
}

static void uniql__uc_comp_fill(uniql__uc_comp *t)
{
    size_t i, k = 0, n = sizeof uniql__uc_decomp / sizeof uniql__uc_decomp[0];
    for (i = 0; i < n; i++) {
        uint64_t e = uniql__uc_decomp[i];
        if (e & 1u) continue;
        t[k].key = (((e >> 22) & 0x1FFFFFu) << 21) | ((e >> 1) & 0x1FFFFFu);
        t[k].c = (uint32_t)(e >> 43);
        k++;
    }
    qsort(t, k, sizeof *t, uniql__uc_comp_cmp);
}

#define UNIQL__HANGUL_S 0xAC00u
#define UNIQL__HANGUL_L 0x1100u
#define UNIQL__HANGUL_V 0x1161u
#define UNIQL__HANGUL_T 0x11A7u
#define UNIQL__HANGUL_NS 11172u

/* composite of (a, b) or 0 */
static uint32_t uniql__uc_compose(const uniql__uc_comp *t, size_t n, uint32_t a, uint32_t b)
{
    size_t lo = 0, hi = n;
    uint64_t key;
    if (a >= UNIQL__HANGUL_L && a < UNIQL__HANGUL_L + 19 && b >= UNIQL__HANGUL_V && b < UNIQL__HANGUL_V + 21)
        return UNIQL__HANGUL_S + ((a - UNIQL__HANGUL_L) * 21 + (b - UNIQL__HANGUL_V)) * 28;
    if (a >= UNIQL__HANGUL_S && a < UNIQL__HANGUL_S + UNIQL__HANGUL_NS && (a - UNIQL__HANGUL_S) % 28 == 0 &&
        b > UNIQL__HANGUL_T && b < UNIQL__HANGUL_T + 28)
        return a + (b - UNIQL__HANGUL_T);
    key = ((uint64_t)a << 21) | b;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t[mid].key == key) return t[mid].c;
        if (t[mid].key < key) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

/* ---- UTF-8 ---- */

/* decode one code point of VALID UTF-8 at s (length in *len) */
static uint32_t uniql__u8dec(const unsigned char *s, int *len)
{
    unsigned c = s[0];
    if (c < 0x80) { *len = 1; return c; }
    if (c < 0xE0) { *len = 2; return ((c & 31u) << 6) | (s[1] & 63u); }
    if (c < 0xF0) { *len = 3; return ((c & 15u) << 12) | ((s[1] & 63u) << 6) | (s[2] & 63u); }
    *len = 4;
    return ((c & 7u) << 18) | ((s[1] & 63u) << 12) | ((s[2] & 63u) << 6) | (s[3] & 63u);
}

static int uniql__u8enc(uint32_t c, unsigned char *o)
{
    if (c < 0x80) { o[0] = (unsigned char)c; return 1; }
    if (c < 0x800) { o[0] = (unsigned char)(0xC0 | (c >> 6)); o[1] = (unsigned char)(0x80 | (c & 63)); return 2; }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (c >> 12)); o[1] = (unsigned char)(0x80 | ((c >> 6) & 63));
        o[2] = (unsigned char)(0x80 | (c & 63)); return 3;
    }
    o[0] = (unsigned char)(0xF0 | (c >> 18)); o[1] = (unsigned char)(0x80 | ((c >> 12) & 63));
    o[2] = (unsigned char)(0x80 | ((c >> 6) & 63)); o[3] = (unsigned char)(0x80 | (c & 63));
    return 4;
}

/* length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one; *sub gets the
   length of its maximal valid prefix (>= 1: the bytes one U+FFFD replaces) */
static int uniql__u8valid(const unsigned char *s, size_t n, int *sub)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    int need, k;
    *sub = 1;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return 0;
    for (k = 1; k <= need; k++) {
        if ((size_t)k >= n || s[k] < lo || s[k] > hi) { *sub = k; return 0; }
        lo = 0x80; hi = 0xBF;
    }
    return need + 1;
}

/* offset of the first invalid byte, or n if s is valid UTF-8 */
static size_t uniql__u8check(const unsigned char *s, size_t n)
{
    size_t i = 0;
    int sub, k;
    while (i < n) {
        if (s[i] < 0x80) { i++; continue; }
        k = uniql__u8valid(s + i, n - i, &sub);
        if (!k) return i;
        i += (size_t)k;
    }
    return n;
}

/* ---- growable buffers (a failed allocation sets oom and later writes are dropped) ---- */
typedef struct uniql__tkb {
    unsigned char *p;
    size_t n, cap;
    void *user;
    int oom;
} uniql__tkb;

static int uniql__tkb_reserve(uniql__tkb *b, size_t extra)
{
    size_t want, cap;
    unsigned char *q;
    if (b->oom) return 0;
    if (extra <= b->cap - b->n) return 1;
    if (!uniql__add_size(b->n, extra, &want)) { b->oom = 1; return 0; }
    cap = b->cap ? b->cap : 64;
    while (cap < want) {
        if (cap > (size_t)-1 / 2) { cap = want; break; }
        cap *= 2;
    }
    q = (unsigned char *)UNIQL_MALLOC(cap, b->user);
    if (!q) { b->oom = 1; return 0; }
    if (b->n) memcpy(q, b->p, b->n);
    if (b->p) UNIQL_FREE(b->p, b->user);
    b->p = q;
    b->cap = cap;
    return 1;
}
static void uniql__tkb_put(uniql__tkb *b, const void *s, size_t n)
{
    if (n <= b->cap - b->n) { if (n) memcpy(b->p + b->n, s, n); b->n += n; return; }
    if (uniql__tkb_reserve(b, n)) { memcpy(b->p + b->n, s, n); b->n += n; }
}
static void uniql__tkb_cp(uniql__tkb *b, uint32_t c)
{
    if (uniql__tkb_reserve(b, 4)) b->n += (size_t)uniql__u8enc(c, b->p + b->n);
}
static void uniql__tkb_free(uniql__tkb *b)
{
    if (b->p) UNIQL_FREE(b->p, b->user);
    b->p = NULL;
    b->n = b->cap = 0;
}
static void uniql__tkb_int(uniql__tkb *b, int v)
{
    if (sizeof v <= b->cap - b->n) { memcpy(b->p + b->n, &v, sizeof v); b->n += sizeof v; return; }   /* inlined store */
    uniql__tkb_put(b, &v, sizeof v);
}

/* ---- NFC / NFD ---- */

static void uniql__uc_decompose_cp(uint32_t c, uniql__tkb *cps)
{
    uint32_t a, b;
    int k;
    if (c >= UNIQL__HANGUL_S && c < UNIQL__HANGUL_S + UNIQL__HANGUL_NS) {
        uint32_t s = c - UNIQL__HANGUL_S, t = s % 28;
        uint32_t l = UNIQL__HANGUL_L + s / (21 * 28), v = UNIQL__HANGUL_V + (s % (21 * 28)) / 28;
        uniql__tkb_put(cps, &l, 4);
        uniql__tkb_put(cps, &v, 4);
        if (t) { t += UNIQL__HANGUL_T; uniql__tkb_put(cps, &t, 4); }
        return;
    }
    k = uniql__uc_decomp1(c, &a, &b);
    if (!k) { uniql__tkb_put(cps, &c, 4); return; }
    uniql__uc_decompose_cp(a, cps);       /* depth <= 4 in Unicode 15 */
    if (k == 2) uniql__uc_decompose_cp(b, cps);
}

/* NFD (form 1) or NFC (form 0) of valid UTF-8 s[0..n), appended to out. comp: the
   composition table (NULL for NFD). */
static void uniql__uc_normalize(int form, const unsigned char *s, size_t n, const uniql__uc_comp *comp,
                                size_t n_comp, uniql__tkb *out)
{
    uniql__tkb cps;
    uint32_t *c;
    size_t i, m, j;
    int len;
    for (i = 0; i < n && s[i] < 0xCC; i++) {}   /* below U+0300 text is NFC and NFD alike... */
    if (i == n) {
        /* ...except for NFD of precomposed Latin-1 letters */
        for (i = 0; i < n && (form == 0 || s[i] < 0xC3); i++) {}
        if (i == n) { uniql__tkb_put(out, s, n); return; }
    }
    memset(&cps, 0, sizeof cps);
    cps.user = out->user;
    for (i = 0; i < n; i += (size_t)len) uniql__uc_decompose_cp(uniql__u8dec(s + i, &len), &cps);
    if (cps.oom) { out->oom = 1; uniql__tkb_free(&cps); return; }
    c = (uint32_t *)cps.p;
    m = cps.n / 4;
    /* canonical ordering: stable insertion sort of each run of non-starters */
    for (i = 1; i < m; i++) {
        int cc = uniql_unicode_ccc(c[i]);
        if (!cc) continue;
        for (j = i; j > 0; j--) {
            int cp = uniql_unicode_ccc(c[j - 1]);
            uint32_t t;
            if (cp <= cc) break;
            t = c[j]; c[j] = c[j - 1]; c[j - 1] = t;
        }
    }
    if (form == 0 && m > 0) {
        /* canonical composition (UAX #15): a character combines with the last starter if
           it is not blocked (no character in between with ccc 0 or ccc >= its own) */
        size_t starter = (size_t)-1, w = 0;
        int last_cc = -1;
        for (i = 0; i < m; i++) {
            int cc = uniql_unicode_ccc(c[i]);
            if (starter != (size_t)-1 && (last_cc < cc || (last_cc == 0 && w == starter + 1 && cc == 0))) {
                uint32_t x = uniql__uc_compose(comp, n_comp, c[starter], c[i]);
                if (x && (last_cc < cc || w == starter + 1)) {
                    c[starter] = x;
                    continue;
                }
            }
            if (cc == 0) { starter = w; last_cc = 0; }
            else last_cc = cc;
            c[w++] = c[i];
            if (cc == 0) last_cc = 0;
        }
        m = w;
    }
    for (i = 0; i < m; i++) uniql__tkb_cp(out, c[i]);
    uniql__tkb_free(&cps);
}

UNIQLDEF uniql_result uniql_unicode_normalize(int form, const char *text, size_t len, void *alloc_user, char **out,
                                              size_t *out_len, uniql_error *err)
{
    uniql__tkb o;
    uniql__uc_comp *comp = NULL;
    size_t nc = 0, bad;
    if (!out || !out_len || (!text && len) || (form != 0 && form != 1))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "unicode_normalize: bad argument");
    *out = NULL;
    *out_len = 0;
    bad = uniql__u8check((const unsigned char *)text, len);
    if (bad != len) return uniql__fail(err, UNIQL_ERR_PARSE, "unicode_normalize: invalid UTF-8 at byte %lu", (unsigned long)bad);
    if (form == 0) {
        nc = uniql__uc_comp_count();
        comp = (uniql__uc_comp *)UNIQL_MALLOC(nc * sizeof *comp, alloc_user);
        if (!comp) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "unicode_normalize: out of memory");
        uniql__uc_comp_fill(comp);
    }
    memset(&o, 0, sizeof o);
    o.user = alloc_user;
    uniql__uc_normalize(form, (const unsigned char *)text, len, comp, nc, &o);
    uniql__tkb_put(&o, "", 1);
    if (comp) UNIQL_FREE(comp, alloc_user);
    if (o.oom) { uniql__tkb_free(&o); return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "unicode_normalize: out of memory"); }
    *out = (char *)o.p;
    *out_len = o.n - 1;
    return UNIQL_OK;
}

/* White_Space (PropList.txt; stable since Unicode 6.3): Rust's char::is_whitespace and
   Oniguruma's \s */
static int uniql__uc_space(uint32_t c)
{
    if (c < 0x80) return c == ' ' || (c >= 9 && c <= 13);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* general category with a per-tokenizer table for the BMP (bmp may be NULL) */
static int uniql__uc_cat(const unsigned char *bmp, uint32_t c)
{
    if (bmp && c < 0x10000) return bmp[c];
    return (int)uniql_unicode_category_of(c);
}

/* ---- regex (the Oniguruma dialect of tokenizer.json Split patterns) ---- */

enum { UNIQL__RX_CHAR, UNIQL__RX_CLASS, UNIQL__RX_ANY, UNIQL__RX_SPLIT, UNIQL__RX_JMP, UNIQL__RX_LOOK,
       UNIQL__RX_MATCH };
enum { UNIQL__RXI_RANGE, UNIQL__RXI_CATS, UNIQL__RXI_SPACE };

typedef struct uniql__rx_item { int kind, neg; uint32_t lo, hi; } uniql__rx_item;
typedef struct uniql__rx_ins { int op, icase, neg; int x, y; uint32_t c; } uniql__rx_ins;
typedef struct uniql__rx {
    uniql__rx_ins *prog;
    int n_prog;
    uniql__rx_item *items;     /* classes: item ranges [cls_first[k], cls_first[k+1]) */
    int *cls_first, *cls_neg;
    int n_cls;
} uniql__rx;

/* AST */
enum { UNIQL__RA_CHAR, UNIQL__RA_CLASS, UNIQL__RA_ANY, UNIQL__RA_SEQ, UNIQL__RA_ALT, UNIQL__RA_REP,
       UNIQL__RA_LOOK, UNIQL__RA_EMPTY };
typedef struct uniql__ra {
    int type, icase, neg, min, max, greedy, cls;
    uint32_t c;
    struct uniql__ra *kid, *next;   /* children list */
} uniql__ra;

typedef struct uniql__rxp {
    const unsigned char *s;
    size_t n, i;
    int depth;
    uniql_error *err;
    void *user;
    uniql__tkb nodes;           /* pointers to every AST node (freed at the end) */
    uniql__tkb items, cls_first, cls_neg;
    int n_cls;
    uniql__tkb prog;
    int bad;                     /* 1 syntax, 2 unsupported, 3 memory */
    char what[96];
} uniql__rxp;

static void uniql__rxp_bad(uniql__rxp *p, int kind, const char *what)
{
    if (p->bad) return;
    p->bad = kind;
    snprintf(p->what, sizeof p->what, "%s at pattern byte %lu", what, (unsigned long)p->i);
}

static uniql__ra *uniql__ra_new(uniql__rxp *p, int type)
{
    uniql__ra *a = (uniql__ra *)UNIQL_MALLOC(sizeof *a, p->user);
    if (!a) { uniql__rxp_bad(p, 3, "out of memory"); return NULL; }
    memset(a, 0, sizeof *a);
    a->type = type;
    uniql__tkb_put(&p->nodes, &a, sizeof a);
    if (p->nodes.oom) { UNIQL_FREE(a, p->user); uniql__rxp_bad(p, 3, "out of memory"); return NULL; }
    return a;
}

static void uniql__rxp_item(uniql__rxp *p, int kind, int neg, uint32_t lo, uint32_t hi)
{
    uniql__rx_item it;
    it.kind = kind; it.neg = neg; it.lo = lo; it.hi = hi;
    uniql__tkb_put(&p->items, &it, sizeof it);
}

static int uniql__rxp_hex(uniql__rxp *p, int digits, uint32_t *out)
{
    uint32_t v = 0;
    int k;
    for (k = 0; k < digits; k++) {
        unsigned c = p->i < p->n ? p->s[p->i] : 0, d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return 0;
        v = v * 16 + d;
        p->i++;
    }
    *out = v;
    return 1;
}

/* \p{..}: category mask, or 0 if unknown */
static uint32_t uniql__rx_catmask(const char *name, size_t n)
{
    static const char *const cats[30] = {"Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc",
                                         "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp",
                                         "Cc", "Cf", "Cs", "Co"};
    uint32_t m = 0;
    int k;
    if (n == 1 || (n == 2 && name[1] == '&' && name[0] == 'L')) {
        for (k = 0; k < 30; k++) if (cats[k][0] == name[0]) m |= 1u << k;
        if (n == 2) m = (1u << UNIQL_UC_Lu) | (1u << UNIQL_UC_Ll) | (1u << UNIQL_UC_Lt);   /* L& */
        return m;
    }
    if (n == 2) for (k = 0; k < 30; k++) if (cats[k][0] == name[0] && cats[k][1] == name[1]) return 1u << k;
#define UNIQL__RXNAME(s, mask) if (n == sizeof(s) - 1 && !memcmp(name, s, n)) return (mask);
    UNIQL__RXNAME("Letter", uniql__rx_catmask("L", 1))
    UNIQL__RXNAME("Mark", uniql__rx_catmask("M", 1))
    UNIQL__RXNAME("Number", uniql__rx_catmask("N", 1))
    UNIQL__RXNAME("Punctuation", uniql__rx_catmask("P", 1))
    UNIQL__RXNAME("Symbol", uniql__rx_catmask("S", 1))
    UNIQL__RXNAME("Separator", uniql__rx_catmask("Z", 1))
    UNIQL__RXNAME("Other", uniql__rx_catmask("C", 1))
#undef UNIQL__RXNAME
    return 0;
}

/* an escape after '\' (p->i at the letter); inside a class or not. Returns 1 and a code
   point in *c, or 2 after adding class items (in_class) / 3 with items for a one-item
   class outside (kind, neg, lo, hi in *it) */
static int uniql__rxp_escape(uniql__rxp *p, uint32_t *c, uniql__rx_item *it)
{
    unsigned e;
    if (p->i >= p->n) { uniql__rxp_bad(p, 1, "pattern ends after '\\'"); return 0; }
    e = p->s[p->i++];
    it->neg = 0; it->lo = it->hi = 0;
    switch (e) {
    case 'n': *c = '\n'; return 1;
    case 'r': *c = '\r'; return 1;
    case 't': *c = '\t'; return 1;
    case 'f': *c = '\f'; return 1;
    case 'v': *c = '\v'; return 1;
    case 'a': *c = 7; return 1;
    case 'e': *c = 27; return 1;
    case 'x':
        if (p->i < p->n && p->s[p->i] == '{') {
            uint32_t v = 0;
            int k = 0;
            p->i++;
            while (p->i < p->n && p->s[p->i] != '}' && k < 8) {
                uint32_t d;
                if (!uniql__rxp_hex(p, 1, &d)) { uniql__rxp_bad(p, 1, "bad \\x{..}"); return 0; }
                v = v * 16 + d;
                k++;
            }
            if (p->i >= p->n || p->s[p->i] != '}' || !k || v > 0x10FFFF) { uniql__rxp_bad(p, 1, "bad \\x{..}"); return 0; }
            p->i++;
            *c = v;
            return 1;
        }
        if (!uniql__rxp_hex(p, 2, c)) { uniql__rxp_bad(p, 1, "bad \\xHH"); return 0; }
        return 1;
    case 'u':
        if (!uniql__rxp_hex(p, 4, c)) { uniql__rxp_bad(p, 1, "bad \\uHHHH"); return 0; }
        if (*c >= 0xD800 && *c < 0xE000) { uniql__rxp_bad(p, 2, "surrogate \\u escape"); return 0; }
        return 1;
    case 's': case 'S':
        it->kind = UNIQL__RXI_SPACE; it->neg = e == 'S'; return 3;
    case 'd': case 'D':
        it->kind = UNIQL__RXI_CATS; it->neg = e == 'D'; it->lo = 1u << UNIQL_UC_Nd; return 3;
    case 'w': case 'W':
        it->kind = UNIQL__RXI_CATS; it->neg = e == 'W';
        it->lo = uniql__rx_catmask("L", 1) | uniql__rx_catmask("M", 1) | (1u << UNIQL_UC_Nd) | (1u << UNIQL_UC_Pc);
        return 3;
    case 'p': case 'P': {
        size_t b;
        int neg = e == 'P';
        if (p->i >= p->n || p->s[p->i] != '{') { uniql__rxp_bad(p, 2, "\\p without {..}"); return 0; }
        p->i++;
        if (p->i < p->n && p->s[p->i] == '^') { neg = !neg; p->i++; }
        b = p->i;
        while (p->i < p->n && p->s[p->i] != '}') p->i++;
        if (p->i >= p->n) { uniql__rxp_bad(p, 1, "unterminated \\p{"); return 0; }
        it->kind = UNIQL__RXI_CATS;
        it->neg = neg;
        it->lo = uniql__rx_catmask((const char *)p->s + b, p->i - b);
        p->i++;
        if (!it->lo) { uniql__rxp_bad(p, 2, "unsupported \\p{..} property"); return 0; }
        return 3;
    }
    default:
        if ((e >= '0' && e <= '9') || (e >= 'A' && e <= 'Z') || (e >= 'a' && e <= 'z') || e >= 0x80) {
            uniql__rxp_bad(p, 2, "unsupported escape");
            return 0;
        }
        *c = e;   /* escaped punctuation is the literal */
        return 1;
    }
}

static int uniql__rx_cased(uint32_t c)
{
    int g = (int)uniql_unicode_category_of(c);
    return g == UNIQL_UC_Lu || g == UNIQL_UC_Ll || g == UNIQL_UC_Lt;
}

/* [...] after the '[' */
static uniql__ra *uniql__rxp_class(uniql__rxp *p, int icase)
{
    uniql__ra *a;
    int neg = 0, first = 1, cls;
    if (p->i < p->n && p->s[p->i] == '^') { neg = 1; p->i++; }
    cls = p->n_cls++;
    uniql__tkb_int(&p->cls_first, (int)(p->items.n / sizeof(uniql__rx_item)));
    uniql__tkb_int(&p->cls_neg, neg);
    for (;;) {
        uint32_t lo, hi;
        uniql__rx_item it;
        int k;
        if (p->i >= p->n) { uniql__rxp_bad(p, 1, "unterminated [...]"); return NULL; }
        if (p->s[p->i] == ']' && !first) { p->i++; break; }
        first = 0;
        if (p->s[p->i] == '[') { uniql__rxp_bad(p, 2, "nested class or [:posix:]"); return NULL; }
        if (p->s[p->i] == '&' && p->i + 1 < p->n && p->s[p->i + 1] == '&') { uniql__rxp_bad(p, 2, "class intersection"); return NULL; }
        if (p->s[p->i] == '\\') {
            p->i++;
            k = uniql__rxp_escape(p, &lo, &it);
            if (!k) return NULL;
            if (k == 3) { uniql__rxp_item(p, it.kind, it.neg, it.lo, it.hi); continue; }
        } else {
            int len;
            if (uniql__u8check(p->s + p->i, p->n - p->i) == 0 && p->s[p->i] >= 0x80) { uniql__rxp_bad(p, 1, "invalid UTF-8"); return NULL; }
            lo = uniql__u8dec(p->s + p->i, &len);
            p->i += (size_t)len;
        }
        hi = lo;
        if (p->i + 1 < p->n && p->s[p->i] == '-' && p->s[p->i + 1] != ']') {
            p->i++;
            if (p->s[p->i] == '\\') {
                p->i++;
                k = uniql__rxp_escape(p, &hi, &it);
                if (!k) return NULL;
                if (k == 3) { uniql__rxp_bad(p, 1, "class as a range end"); return NULL; }
            } else {
                int len;
                hi = uniql__u8dec(p->s + p->i, &len);
                p->i += (size_t)len;
            }
            if (hi < lo) { uniql__rxp_bad(p, 1, "empty range"); return NULL; }
        }
        if (icase && (lo >= 0x80 || hi >= 0x80)) {
            uint32_t c;
            for (c = lo; c <= hi && c < lo + 4096; c++)
                if (c >= 0x80 && uniql__rx_cased(c)) { uniql__rxp_bad(p, 2, "case-insensitive non-ASCII letter"); return NULL; }
        }
        uniql__rxp_item(p, UNIQL__RXI_RANGE, 0, lo, hi);
    }
    a = uniql__ra_new(p, UNIQL__RA_CLASS);
    if (a) { a->cls = cls; a->icase = icase; }
    return a;
}

static uniql__ra *uniql__rxp_alt(uniql__rxp *p, int icase);

static uniql__ra *uniql__rxp_atom(uniql__rxp *p, int icase)
{
    unsigned ch = p->s[p->i];
    uniql__ra *a;
    if (ch == '(') {
        int type = UNIQL__RA_SEQ, neg = 0, ic = icase;
        p->i++;
        if (p->i < p->n && p->s[p->i] == '?') {
            p->i++;
            if (p->i < p->n && p->s[p->i] == ':') p->i++;
            else if (p->i < p->n && (p->s[p->i] == '=' || p->s[p->i] == '!')) { type = UNIQL__RA_LOOK; neg = p->s[p->i] == '!'; p->i++; }
            else if (p->i + 1 < p->n && p->s[p->i] == 'i' && p->s[p->i + 1] == ':') { ic = 1; p->i += 2; }
            else { uniql__rxp_bad(p, 2, "unsupported group (?..)"); return NULL; }
        }
        if (++p->depth > 32) { uniql__rxp_bad(p, 2, "groups nested deeper than 32"); return NULL; }
        a = uniql__rxp_alt(p, ic);
        p->depth--;
        if (!a) return NULL;
        if (p->i >= p->n || p->s[p->i] != ')') { uniql__rxp_bad(p, 1, "missing ')'"); return NULL; }
        p->i++;
        if (type == UNIQL__RA_LOOK) {
            uniql__ra *l = uniql__ra_new(p, UNIQL__RA_LOOK);
            if (!l) return NULL;
            l->neg = neg;
            l->kid = a;
            return l;
        }
        return a;
    }
    if (ch == '[') { p->i++; return uniql__rxp_class(p, icase); }
    if (ch == '.') { p->i++; return uniql__ra_new(p, UNIQL__RA_ANY); }
    if (ch == '^' || ch == '$') { uniql__rxp_bad(p, 2, "anchors ^ $"); return NULL; }
    if (ch == '*' || ch == '+' || ch == '?') { uniql__rxp_bad(p, 1, "quantifier without a target"); return NULL; }
    if (ch == '\\') {
        uint32_t c;
        uniql__rx_item it;
        int k;
        p->i++;
        k = uniql__rxp_escape(p, &c, &it);
        if (!k) return NULL;
        if (k == 3) {
            int cls = p->n_cls++;
            uniql__tkb_int(&p->cls_first, (int)(p->items.n / sizeof(uniql__rx_item)));
            uniql__tkb_int(&p->cls_neg, 0);
            uniql__rxp_item(p, it.kind, it.neg, it.lo, it.hi);
            a = uniql__ra_new(p, UNIQL__RA_CLASS);
            if (a) { a->cls = cls; a->icase = icase; }
            return a;
        }
        a = uniql__ra_new(p, UNIQL__RA_CHAR);
        if (a) { a->c = c; a->icase = icase; }
        if (a && icase && c >= 0x80 && uniql__rx_cased(c)) { uniql__rxp_bad(p, 2, "case-insensitive non-ASCII letter"); return NULL; }
        return a;
    }
    {
        int len;
        uint32_t c;
        if (ch >= 0x80 && uniql__u8check(p->s + p->i, p->n - p->i) == 0) { uniql__rxp_bad(p, 1, "invalid UTF-8"); return NULL; }
        c = uniql__u8dec(p->s + p->i, &len);
        p->i += (size_t)len;
        if (icase && c >= 0x80 && uniql__rx_cased(c)) { uniql__rxp_bad(p, 2, "case-insensitive non-ASCII letter"); return NULL; }
        a = uniql__ra_new(p, UNIQL__RA_CHAR);
        if (a) { a->c = c; a->icase = icase; }
        return a;
    }
}

/* {n}, {n,}, {n,m} at p->i ('{'); returns 1 with min/max (max -1 = inf), 0 if it is not a
   quantifier (then '{' is a literal, as in Oniguruma) */
static int uniql__rxp_braces(uniql__rxp *p, int *mn, int *mx)
{
    size_t i = p->i + 1;
    long a = 0, b;
    int digits = 0;
    while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9' && digits < 6) { a = a * 10 + (p->s[i] - '0'); i++; digits++; }
    if (!digits) return 0;
    b = a;
    if (i < p->n && p->s[i] == ',') {
        i++;
        digits = 0;
        b = 0;
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9' && digits < 6) { b = b * 10 + (p->s[i] - '0'); i++; digits++; }
        if (!digits) b = -1;
    }
    if (i >= p->n || p->s[i] != '}') return 0;
    p->i = i + 1;
    *mn = (int)a;
    *mx = (int)b;
    return 1;
}

static uniql__ra *uniql__rxp_seq(uniql__rxp *p, int icase)
{
    uniql__ra *seq = uniql__ra_new(p, UNIQL__RA_SEQ), *last = NULL;
    if (!seq) return NULL;
    while (p->i < p->n && p->s[p->i] != '|' && p->s[p->i] != ')') {
        uniql__ra *a = uniql__rxp_atom(p, icase);
        if (!a) return NULL;
        for (;;) {
            int mn, mx;
            uniql__ra *r;
            if (p->i >= p->n) break;
            if (p->s[p->i] == '*') { mn = 0; mx = -1; p->i++; }
            else if (p->s[p->i] == '+') { mn = 1; mx = -1; p->i++; }
            else if (p->s[p->i] == '?') { mn = 0; mx = 1; p->i++; }
            else if (p->s[p->i] == '{' && uniql__rxp_braces(p, &mn, &mx)) {
                if ((mx >= 0 && mx < mn) || mn > 1000 || mx > 1000) { uniql__rxp_bad(p, 2, "repetition count above 1000 or reversed"); return NULL; }
            } else break;
            r = uniql__ra_new(p, UNIQL__RA_REP);
            if (!r) return NULL;
            r->min = mn; r->max = mx; r->greedy = 1; r->kid = a;
            if (p->i < p->n && p->s[p->i] == '?') { r->greedy = 0; p->i++; }
            else if (p->i < p->n && p->s[p->i] == '+') { uniql__rxp_bad(p, 2, "possessive quantifier"); return NULL; }
            a = r;
        }
        if (last) last->next = a;
        else seq->kid = a;
        last = a;
    }
    return seq;
}

static uniql__ra *uniql__rxp_alt(uniql__rxp *p, int icase)
{
    uniql__ra *first = uniql__rxp_seq(p, icase), *alt, *last;
    if (!first || p->i >= p->n || p->s[p->i] != '|') return first;
    alt = uniql__ra_new(p, UNIQL__RA_ALT);
    if (!alt) return NULL;
    alt->kid = last = first;
    while (p->i < p->n && p->s[p->i] == '|') {
        uniql__ra *b;
        p->i++;
        b = uniql__rxp_seq(p, icase);
        if (!b) return NULL;
        last->next = b;
        last = b;
    }
    return alt;
}

static int uniql__ra_nullable(const uniql__ra *a)
{
    const uniql__ra *k;
    switch (a->type) {
    case UNIQL__RA_CHAR: case UNIQL__RA_CLASS: case UNIQL__RA_ANY: return 0;
    case UNIQL__RA_SEQ:
        for (k = a->kid; k; k = k->next) if (!uniql__ra_nullable(k)) return 0;
        return 1;
    case UNIQL__RA_ALT:
        for (k = a->kid; k; k = k->next) if (uniql__ra_nullable(k)) return 1;
        return 0;
    case UNIQL__RA_REP: return a->min == 0 || uniql__ra_nullable(a->kid);
    default: return 1;
    }
}

#define UNIQL__RX_MAX_PROG 200000

static int uniql__rx_emit(uniql__rxp *p, int op, int x, int y)
{
    uniql__rx_ins in;
    memset(&in, 0, sizeof in);
    in.op = op; in.x = x; in.y = y;
    if (p->prog.n / sizeof in >= UNIQL__RX_MAX_PROG) { uniql__rxp_bad(p, 2, "pattern too large when expanded"); return 0; }
    uniql__tkb_put(&p->prog, &in, sizeof in);
    if (p->prog.oom) { uniql__rxp_bad(p, 3, "out of memory"); return 0; }
    return (int)(p->prog.n / sizeof in) - 1;
}
#define UNIQL__RX_AT(p, k) (((uniql__rx_ins *)(p)->prog.p)[k])

static void uniql__rx_gen(uniql__rxp *p, const uniql__ra *a)
{
    const uniql__ra *k;
    int pc, i;
    if (p->bad) return;
    switch (a->type) {
    case UNIQL__RA_CHAR:
        pc = uniql__rx_emit(p, UNIQL__RX_CHAR, 0, 0);
        if (pc >= 0 && !p->bad) { UNIQL__RX_AT(p, pc).c = a->c; UNIQL__RX_AT(p, pc).icase = a->icase; }
        break;
    case UNIQL__RA_CLASS:
        pc = uniql__rx_emit(p, UNIQL__RX_CLASS, a->cls, 0);
        if (!p->bad) UNIQL__RX_AT(p, pc).icase = a->icase;
        break;
    case UNIQL__RA_ANY: uniql__rx_emit(p, UNIQL__RX_ANY, 0, 0); break;
    case UNIQL__RA_EMPTY: break;
    case UNIQL__RA_SEQ:
        for (k = a->kid; k; k = k->next) uniql__rx_gen(p, k);
        break;
    case UNIQL__RA_ALT: {
        uniql__tkb jumps;
        memset(&jumps, 0, sizeof jumps);
        jumps.user = p->user;
        for (k = a->kid; k && !p->bad; k = k->next) {
            if (k->next) {
                int sp = uniql__rx_emit(p, UNIQL__RX_SPLIT, 0, 0), j;
                if (p->bad) break;
                UNIQL__RX_AT(p, sp).x = sp + 1;
                uniql__rx_gen(p, k);
                j = uniql__rx_emit(p, UNIQL__RX_JMP, 0, 0);
                if (p->bad) break;
                uniql__tkb_int(&jumps, j);
                UNIQL__RX_AT(p, sp).y = j + 1;
            } else uniql__rx_gen(p, k);
        }
        if (!p->bad) {
            int end = (int)(p->prog.n / sizeof(uniql__rx_ins));
            for (i = 0; i < (int)(jumps.n / sizeof(int)); i++) UNIQL__RX_AT(p, ((int *)jumps.p)[i]).x = end;
        }
        if (jumps.oom) uniql__rxp_bad(p, 3, "out of memory");
        uniql__tkb_free(&jumps);
        break;
    }
    case UNIQL__RA_REP: {
        for (i = 0; i < a->min && !p->bad; i++) uniql__rx_gen(p, a->kid);
        if (a->max < 0) {
            int sp = uniql__rx_emit(p, UNIQL__RX_SPLIT, 0, 0), j;
            if (p->bad) break;
            uniql__rx_gen(p, a->kid);
            j = uniql__rx_emit(p, UNIQL__RX_JMP, sp, 0);
            if (p->bad) break;
            if (a->greedy) { UNIQL__RX_AT(p, sp).x = sp + 1; UNIQL__RX_AT(p, sp).y = j + 1; }
            else { UNIQL__RX_AT(p, sp).x = j + 1; UNIQL__RX_AT(p, sp).y = sp + 1; }
        } else {
            uniql__tkb splits;
            memset(&splits, 0, sizeof splits);
            splits.user = p->user;
            for (i = a->min; i < a->max && !p->bad; i++) {
                int sp = uniql__rx_emit(p, UNIQL__RX_SPLIT, 0, 0);
                if (p->bad) break;
                uniql__tkb_int(&splits, sp);
                uniql__rx_gen(p, a->kid);
            }
            if (!p->bad) {
                int end = (int)(p->prog.n / sizeof(uniql__rx_ins));
                for (i = 0; i < (int)(splits.n / sizeof(int)); i++) {
                    int sp = ((int *)splits.p)[i];
                    if (a->greedy) { UNIQL__RX_AT(p, sp).x = sp + 1; UNIQL__RX_AT(p, sp).y = end; }
                    else { UNIQL__RX_AT(p, sp).x = end; UNIQL__RX_AT(p, sp).y = sp + 1; }
                }
            }
            if (splits.oom) uniql__rxp_bad(p, 3, "out of memory");
            uniql__tkb_free(&splits);
        }
        break;
    }
    case UNIQL__RA_LOOK: {
        int lk = uniql__rx_emit(p, UNIQL__RX_LOOK, 0, 0);
        if (p->bad) break;
        UNIQL__RX_AT(p, lk).neg = a->neg;
        uniql__rx_gen(p, a->kid);
        uniql__rx_emit(p, UNIQL__RX_MATCH, 0, 0);
        if (!p->bad) UNIQL__RX_AT(p, lk).x = (int)(p->prog.n / sizeof(uniql__rx_ins));
        break;
    }
    }
}

static void uniql__rx_free(uniql__rx *r, void *user)
{
    if (!r) return;
    if (r->prog) UNIQL_FREE(r->prog, user);
    if (r->items) UNIQL_FREE(r->items, user);
    if (r->cls_first) UNIQL_FREE(r->cls_first, user);
    if (r->cls_neg) UNIQL_FREE(r->cls_neg, user);
    memset(r, 0, sizeof *r);
}

static int uniql__rxp_loops_ok(uniql__rxp *p, const uniql__ra *a)
{
    const uniql__ra *k;
    if (a->type == UNIQL__RA_REP && a->max != 1 && a->max != 0 && uniql__ra_nullable(a->kid)) {
        uniql__rxp_bad(p, 2, "a repeated group that can match the empty string");
        return 0;
    }
    for (k = a->kid; k; k = k->next) if (!uniql__rxp_loops_ok(p, k)) return 0;
    return 1;
}

/* compile; on failure an error naming the pattern problem (UNIQL_ERR_PARSE syntax,
   UNIQL_ERR_UNSUPPORTED construct) */
static uniql_result uniql__rx_compile(const char *pat, size_t n, void *user, uniql__rx *out, uniql_error *err)
{
    uniql__rxp p;
    uniql__ra *root;
    size_t i;
    uniql_result r = UNIQL_OK;
    memset(&p, 0, sizeof p);
    memset(out, 0, sizeof *out);
    p.s = (const unsigned char *)pat;
    p.n = n;
    p.err = err;
    p.user = user;
    p.nodes.user = p.items.user = p.cls_first.user = p.cls_neg.user = p.prog.user = user;
    root = uniql__rxp_alt(&p, 0);
    if (root && !p.bad && p.i < p.n) uniql__rxp_bad(&p, 1, "unbalanced ')'");
    if (root && !p.bad) uniql__rxp_loops_ok(&p, root);
    if (root && !p.bad) { uniql__rx_gen(&p, root); uniql__rx_emit(&p, UNIQL__RX_MATCH, 0, 0); }
    uniql__tkb_int(&p.cls_first, (int)(p.items.n / sizeof(uniql__rx_item)));
    if (!p.bad && (p.items.oom || p.cls_first.oom || p.cls_neg.oom)) uniql__rxp_bad(&p, 3, "out of memory");
    for (i = 0; i < p.nodes.n / sizeof(uniql__ra *); i++) UNIQL_FREE(((uniql__ra **)p.nodes.p)[i], user);
    uniql__tkb_free(&p.nodes);
    if (p.bad) {
        r = p.bad == 1 ? UNIQL_ERR_PARSE : p.bad == 2 ? UNIQL_ERR_UNSUPPORTED : UNIQL_ERR_OUT_OF_MEMORY;
        uniql__fail(err, r, "regex: %s", p.what);
        uniql__tkb_free(&p.items); uniql__tkb_free(&p.cls_first); uniql__tkb_free(&p.cls_neg); uniql__tkb_free(&p.prog);
        return r;
    }
    out->prog = (uniql__rx_ins *)p.prog.p;
    out->n_prog = (int)(p.prog.n / sizeof(uniql__rx_ins));
    out->items = (uniql__rx_item *)p.items.p;
    out->cls_first = (int *)p.cls_first.p;
    out->cls_neg = (int *)p.cls_neg.p;
    out->n_cls = p.n_cls;
    if (!out->items) {   /* no class: keep a valid pointer anyway */
        out->items = (uniql__rx_item *)UNIQL_MALLOC(sizeof(uniql__rx_item), user);
        if (!out->items) { uniql__rx_free(out, user); return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "regex: out of memory"); }
    }
    if (!out->cls_neg) {
        out->cls_neg = (int *)UNIQL_MALLOC(sizeof(int), user);
        if (!out->cls_neg) { uniql__rx_free(out, user); return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "regex: out of memory"); }
    }
    return UNIQL_OK;
}

static int uniql__rx_cls1(const uniql__rx *r, int cls, uint32_t c, const unsigned char *bmp)
{
    int i, hit = 0;
    for (i = r->cls_first[cls]; i < r->cls_first[cls + 1] && !hit; i++) {
        const uniql__rx_item *it = &r->items[i];
        int m;
        if (it->kind == UNIQL__RXI_RANGE) m = c >= it->lo && c <= it->hi;
        else if (it->kind == UNIQL__RXI_SPACE) m = uniql__uc_space(c);
        else m = (it->lo >> uniql__uc_cat(bmp, c)) & 1u;
        hit = m != it->neg;
    }
    return hit != r->cls_neg[cls];
}

/* case variants of c under (?i): ASCII letters, and the two non-ASCII code points whose
   simple case folding is an ASCII letter (U+017F -> s, U+212A -> k) */
static int uniql__rx_fold(uint32_t c)
{
    if (c >= 'A' && c <= 'Z') return (int)c + 32;
    if (c == 0x17F) return 's';
    if (c == 0x212A) return 'k';
    return (int)c;
}

static int uniql__rx_test(const uniql__rx *r, const uniql__rx_ins *in, uint32_t c, const unsigned char *bmp)
{
    if (in->op == UNIQL__RX_CHAR) {
        if (c == in->c) return 1;
        return in->icase && uniql__rx_fold(c) == uniql__rx_fold(in->c);
    }
    if (in->op == UNIQL__RX_ANY) return c != '\n';
    if (uniql__rx_cls1(r, in->x, c, bmp)) return 1;
    if (in->icase) {
        int f = uniql__rx_fold(c);
        if ((uint32_t)f != c && uniql__rx_cls1(r, in->x, (uint32_t)f, bmp)) return 1;
        if (f >= 'a' && f <= 'z' && uniql__rx_cls1(r, in->x, (uint32_t)f - 32, bmp)) return 1;
    }
    return 0;
}

typedef struct uniql__rx_run {
    const uniql__rx *r;
    const unsigned char *s;
    size_t n;
    const unsigned char *bmp;
    uniql__tkb stack;            /* (pc, pos) pairs as size_t */
    uint64_t steps, budget;
    int over;                    /* budget exceeded or out of memory */
} uniql__rx_run;

/* leftmost-first (Perl / Oniguruma) backtracking match of the program from `pc` at
   byte `pos`; 1 with *end on a match */
static int uniql__rx_exec(uniql__rx_run *x, int pc, size_t pos, size_t *end)
{
    size_t base = x->stack.n;
    size_t e[2];
    e[0] = (size_t)pc; e[1] = pos;
    uniql__tkb_put(&x->stack, e, sizeof e);
    while (x->stack.n > base && !x->over) {
        size_t *top;
        x->stack.n -= sizeof e;
        top = (size_t *)(x->stack.p + x->stack.n);
        pc = (int)top[0];
        pos = top[1];
        for (;;) {
            const uniql__rx_ins *in = &x->r->prog[pc];
            if (++x->steps > x->budget) { x->over = 1; break; }
            if (in->op == UNIQL__RX_CHAR || in->op == UNIQL__RX_CLASS || in->op == UNIQL__RX_ANY) {
                int len;
                uint32_t c;
                if (pos >= x->n) break;
                c = uniql__u8dec(x->s + pos, &len);
                if (!uniql__rx_test(x->r, in, c, x->bmp)) break;
                pos += (size_t)len;
                pc++;
            } else if (in->op == UNIQL__RX_SPLIT) {
                e[0] = (size_t)in->y; e[1] = pos;
                uniql__tkb_put(&x->stack, e, sizeof e);
                if (x->stack.oom) { x->over = 1; break; }
                pc = in->x;
            } else if (in->op == UNIQL__RX_JMP) {
                pc = in->x;
            } else if (in->op == UNIQL__RX_LOOK) {
                size_t dummy;
                int m = uniql__rx_exec(x, pc + 1, pos, &dummy);
                if (x->over || m == in->neg) break;
                pc = in->x;
            } else { /* MATCH */
                x->stack.n = base;
                *end = pos;
                return 1;
            }
        }
    }
    x->stack.n = base;
    return 0;
}

/* ---- the tokenizer object ---- */

/* A split of the text being tokenized: bytes [off, off+len) of a buffer; id >= 0 for an
   added token already resolved; first = it starts at offset 0 of the original text. */
typedef struct uniql__tk_span { size_t off, len; int id, first; } uniql__tk_span;

enum { UNIQL__TN_NFC, UNIQL__TN_NFD, UNIQL__TN_LOWER, UNIQL__TN_STRIP, UNIQL__TN_STRIPACC, UNIQL__TN_REPLACE,
       UNIQL__TN_PREPEND };
enum { UNIQL__TP_SPLIT, UNIQL__TP_BYTELEVEL, UNIQL__TP_METASPACE, UNIQL__TP_DIGITS, UNIQL__TP_WHITESPACE,
       UNIQL__TP_WSSPLIT, UNIQL__TP_PUNCT };
enum { UNIQL__TD_BYTELEVEL, UNIQL__TD_BYTEFALLBACK, UNIQL__TD_FUSE, UNIQL__TD_REPLACE, UNIQL__TD_STRIP,
       UNIQL__TD_METASPACE };
enum { UNIQL__SB_REMOVED, UNIQL__SB_ISOLATED, UNIQL__SB_PREV, UNIQL__SB_NEXT, UNIQL__SB_CONTIG };

/* one normalizer / pre-tokenizer / decoder step (the Sequences are flattened) */
typedef struct uniql__tk_step {
    int kind;
    int a, b, c;                 /* flags: strip left/right, prefix space, scheme, ... */
    char *s1, *s2;               /* strings (owned): pattern / content / replacement */
    size_t n1, n2;
    uint32_t ch;                 /* a single code point (metaspace replacement, strip content) */
    uniql__rx rx;                /* regex pattern (rx.prog != NULL) */
} uniql__tk_step;

typedef struct uniql__tk_merge { uint64_t key; uint32_t rank; int32_t id; } uniql__tk_merge;

/* byte trie of the added tokens (children as sorted sibling lists, root by first byte) */
typedef struct uniql__tk_trie { int child, next, id; unsigned char byte; } uniql__tk_trie;

struct uniql_tokenizer {
    void *alloc_user;
    int n_vocab;                 /* ids [0, n_vocab) */
    char *pool;                  /* every token string, NUL-terminated */
    size_t *tok_off;             /* per id: offset in pool or (size_t)-1 */
    int *tok_len;
    unsigned char *special;      /* per id: 1 special added token, 2 non-special added */
    /* model vocabulary: open-addressing hash of token strings -> id */
    int *vhash;
    size_t vmask;
    int small[512];              /* id of the one-code-point token for cp < 512, or -1 */
    /* merges (a << 32 | b) -> rank, merged id */
    uniql__tk_merge *merges;
    size_t mmask;
    int unk_id, byte_fallback, fuse_unk, ignore_merges, byte_level;
    int byte_tok[256];           /* <0xXX> ids for byte fallback, -1 if absent */
    /* added tokens */
    uniql__tk_trie *trie, *ntrie;   /* raw and normalized ("normalized": true) */
    int n_trie, n_ntrie, root[256], nroot[256];
    int *added_ids;
    unsigned char *added_flags;  /* per added token: 1 lstrip, 2 rstrip, 4 single_word */
    int n_added;
    /* pipeline */
    uniql__tk_step *norm, *pre, *dec;
    int n_norm, n_pre, n_dec, has_decoder;
    int *post;                   /* post-processor: sequence of items, -1 = the text */
    int n_post;
    uniql__uc_comp *comp;
    size_t n_comp;
    unsigned char bl_enc[256][3];   /* UTF-8 of the byte-level character of each byte */
    unsigned char bl_len[256];
    uniql_tokenizer_info info;
    unsigned char bmp[65536];    /* general category of every BMP code point */
};

/* GPT-2 byte-to-unicode map: printable Latin-1 bytes stand for themselves, the other 68
   bytes (0..32, 127..160, 173) become U+0100.. in byte order */
static uint32_t uniql__bl_char(unsigned b)
{
    unsigned k, n = 0;
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
    for (k = 0; k < b; k++) n += !((k >= 33 && k <= 126) || (k >= 161 && k <= 172) || k >= 174);
    return 256 + n;
}
/* inverse: byte of a byte-level code point, or -1 */
static int uniql__bl_byte(uint32_t c)
{
    unsigned b;
    if (c < 256) return ((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174) ? (int)c : -1;
    if (c >= 256 + 68) return -1;
    for (b = 0; b < 256; b++) if (uniql__bl_char(b) == c) return (int)b;
    return -1;
}

static uint64_t uniql__tk_hash(const void *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

/* model vocabulary lookup */
static int uniql__tk_vocab(const uniql_tokenizer *t, const void *s, size_t n)
{
    size_t h = (size_t)uniql__tk_hash(s, n) & t->vmask;
    for (;; h = (h + 1) & t->vmask) {
        int id = t->vhash[h];
        if (id < 0) return -1;
        if ((size_t)t->tok_len[id] == n && !memcmp(t->pool + t->tok_off[id], s, n) && !(t->special[id] & 8)) return id;
    }
}

static const uniql__tk_merge *uniql__tk_merge_find(const uniql_tokenizer *t, int a, int b)
{
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & t->mmask;
    if (!t->merges) return NULL;
    for (;; h = (h + 1) & t->mmask) {
        const uniql__tk_merge *m = &t->merges[h];
        if (m->key == key) return m;
        if (m->key == (uint64_t)-1) return NULL;
    }
}

/* ---- loading ---- */

typedef struct uniql__tkl {
    uniql_tokenizer *t;
    uniql_error *err;
    void *user;
    uniql__tkb pool, trie, ntrie, post;   /* built here, handed to t at the end */
} uniql__tkl;

static uniql_result uniql__tk_normalize_piece(const uniql_tokenizer *t, const unsigned char *s, size_t n, uniql__tkb *out,
                                              size_t *regex_steps);

static uniql_result uniql__tk_oom(uniql__tkl *L) { return uniql__fail(L->err, UNIQL_ERR_OUT_OF_MEMORY, "tokenizer: out of memory"); }

static void *uniql__tk_alloc(uniql__tkl *L, size_t n)
{
    void *p = UNIQL_MALLOC(n ? n : 1, L->user);
    if (p) memset(p, 0, n ? n : 1);
    return p;
}

static char *uniql__tk_strdup(uniql__tkl *L, const char *s, size_t n)
{
    char *p = (char *)UNIQL_MALLOC(n + 1, L->user);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static int uniql__js_is(const uniql_json *j, const char *s)
{
    return j && j->type == UNIQL_JSON_STRING && j->len == strlen(s) && !memcmp(j->u.str, s, j->len);
}

/* every key of `obj` must be in the NULL-terminated list (unknown options are refused:
   they could change the result) */
static uniql_result uniql__tk_keys(uniql__tkl *L, const uniql_json *obj, const char *what, const char *const *keys)
{
    const uniql_json *m;
    for (m = uniql__json_first(obj); m; m = uniql__json_next(obj, m)) {
        const char *const *k;
        for (k = keys; *k; k++) if (strlen(*k) == uniql__json_key(m)->len && !memcmp(*k, uniql__json_key(m)->u.str, uniql__json_key(m)->len)) break;
        if (!*k) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: %s option '%.60s' is not supported", what, uniql__json_key(m)->u.str);
    }
    return UNIQL_OK;
}

/* optional boolean member (absent or null: dflt) */
static uniql_result uniql__tk_bool(uniql__tkl *L, const uniql_json *obj, const char *key, int dflt, int *out)
{
    const uniql_json *v = uniql_json_get(obj, key);
    if (!v || v->type == UNIQL_JSON_NULL) { *out = dflt; return UNIQL_OK; }
    if (v->type != UNIQL_JSON_TRUE && v->type != UNIQL_JSON_FALSE)
        return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: '%s' must be true or false", key);
    *out = v->type == UNIQL_JSON_TRUE;
    return UNIQL_OK;
}

static uniql_result uniql__tk_str(uniql__tkl *L, const uniql_json *obj, const char *key, int required, const uniql_json **out)
{
    const uniql_json *v = uniql_json_get(obj, key);
    *out = NULL;
    if (!v || v->type == UNIQL_JSON_NULL) {
        if (required) return uniql__fail(L->err, UNIQL_ERR_MISSING, "tokenizer: missing string '%s'", key);
        return UNIQL_OK;
    }
    if (v->type != UNIQL_JSON_STRING) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: '%s' must be a string", key);
    *out = v;
    return UNIQL_OK;
}

static uniql_result uniql__tk_uint(uniql__tkl *L, const uniql_json *v, const char *what, int *out)
{
    if (!v || v->type != UNIQL_JSON_NUMBER || !(v->u.number >= 0) || v->u.number > 2147483646.0 || v->u.number != floor(v->u.number))
        return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: %s must be an integer in [0, 2^31 - 1)", what);
    *out = (int)v->u.number;
    return UNIQL_OK;
}

/* exactly one code point */
static int uniql__tk_onechar(const uniql_json *s, uint32_t *c)
{
    int len;
    if (!s || !s->len || uniql__u8check((const unsigned char *)s->u.str, s->len) != s->len) return 0;
    *c = uniql__u8dec((const unsigned char *)s->u.str, &len);
    return (size_t)len == s->len;
}

/* {"String": s} or {"Regex": r} pattern of Split / Replace */
static uniql_result uniql__tk_pattern(uniql__tkl *L, const uniql_json *obj, uniql__tk_step *st, const char *what)
{
    const uniql_json *pat = uniql_json_get(obj, "pattern"), *v;
    if (!pat || pat->type != UNIQL_JSON_OBJECT || pat->len != 1)
        return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: %s needs a pattern {\"String\": ..} or {\"Regex\": ..}", what);
    v = uniql_json_member(pat, 0, NULL);
    if (v->type != UNIQL_JSON_STRING) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: %s pattern must be a string", what);
    if (uniql__json_key(v)->len == 6 && !memcmp(uniql__json_key(v)->u.str, "String", 6)) {
        st->s1 = uniql__tk_strdup(L, v->u.str, v->len);
        st->n1 = v->len;
        return st->s1 ? UNIQL_OK : uniql__tk_oom(L);
    }
    if (uniql__json_key(v)->len == 5 && !memcmp(uniql__json_key(v)->u.str, "Regex", 5)) {
        uniql_result r = uniql__rx_compile(v->u.str, v->len, L->user, &st->rx, L->err);
        if (r != UNIQL_OK) uniql__err_prefix(L->err, what[0] == 'S' ? "tokenizer: Split: " : "tokenizer: Replace: ");
        return r;
    }
    return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: %s pattern kind '%.40s'", what, uniql__json_key(v)->u.str);
}

static uniql_result uniql__tk_push(uniql__tkl *L, uniql__tk_step **arr, int *n, uniql__tk_step **out)
{
    uniql__tk_step *a = (uniql__tk_step *)UNIQL_MALLOC(sizeof(uniql__tk_step) * (size_t)(*n + 1), L->user);
    if (!a) return uniql__tk_oom(L);
    if (*n) memcpy(a, *arr, sizeof(uniql__tk_step) * (size_t)*n);
    if (*arr) UNIQL_FREE(*arr, L->user);
    *arr = a;
    *out = &a[*n];
    memset(*out, 0, sizeof **out);
    (*n)++;
    return UNIQL_OK;
}

static uniql_result uniql__tk_normalizer(uniql__tkl *L, const uniql_json *j, int depth)
{
    static const char *const k_type[] = {"type", NULL};
    static const char *const k_seq[] = {"type", "normalizers", NULL};
    static const char *const k_strip[] = {"type", "strip_left", "strip_right", NULL};
    static const char *const k_rep[] = {"type", "pattern", "content", NULL};
    static const char *const k_pre[] = {"type", "prepend", NULL};
    const uniql_json *ty;
    uniql__tk_step *st;
    uniql_result r;
    if (!j || j->type == UNIQL_JSON_NULL) return UNIQL_OK;
    if (j->type != UNIQL_JSON_OBJECT || !(ty = uniql_json_get(j, "type")) || ty->type != UNIQL_JSON_STRING)
        return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: normalizer must be an object with a \"type\"");
    if (depth > 8) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: normalizer Sequences nested deeper than 8");
    if (uniql__js_is(ty, "Sequence")) {
        const uniql_json *a = uniql_json_get(j, "normalizers"), *k;
        if ((r = uniql__tk_keys(L, j, "Sequence normalizer", k_seq)) != UNIQL_OK) return r;
        if (!a || a->type != UNIQL_JSON_ARRAY) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: Sequence normalizer needs \"normalizers\"");
        for (k = uniql__json_first(a); k; k = uniql__json_next(a, k)) if ((r = uniql__tk_normalizer(L, k, depth + 1)) != UNIQL_OK) return r;
        return UNIQL_OK;
    }
    if ((r = uniql__tk_push(L, &L->t->norm, &L->t->n_norm, &st)) != UNIQL_OK) return r;
    if (uniql__js_is(ty, "NFC") || uniql__js_is(ty, "NFD")) {
        st->kind = uniql__js_is(ty, "NFC") ? UNIQL__TN_NFC : UNIQL__TN_NFD;
        return uniql__tk_keys(L, j, "NFC/NFD", k_type);
    }
    if (uniql__js_is(ty, "Lowercase")) { st->kind = UNIQL__TN_LOWER; return uniql__tk_keys(L, j, "Lowercase", k_type); }
    if (uniql__js_is(ty, "StripAccents")) { st->kind = UNIQL__TN_STRIPACC; return uniql__tk_keys(L, j, "StripAccents", k_type); }
    if (uniql__js_is(ty, "Strip")) {
        st->kind = UNIQL__TN_STRIP;
        if ((r = uniql__tk_keys(L, j, "Strip", k_strip)) != UNIQL_OK) return r;
        if ((r = uniql__tk_bool(L, j, "strip_left", 1, &st->a)) != UNIQL_OK) return r;
        return uniql__tk_bool(L, j, "strip_right", 1, &st->b);
    }
    if (uniql__js_is(ty, "Replace")) {
        const uniql_json *c;
        st->kind = UNIQL__TN_REPLACE;
        if ((r = uniql__tk_keys(L, j, "Replace", k_rep)) != UNIQL_OK) return r;
        if ((r = uniql__tk_pattern(L, j, st, "Replace")) != UNIQL_OK) return r;
        if ((r = uniql__tk_str(L, j, "content", 1, &c)) != UNIQL_OK) return r;
        st->s2 = uniql__tk_strdup(L, c->u.str, c->len);
        st->n2 = c->len;
        return st->s2 ? UNIQL_OK : uniql__tk_oom(L);
    }
    if (uniql__js_is(ty, "Prepend")) {
        const uniql_json *c;
        st->kind = UNIQL__TN_PREPEND;
        if ((r = uniql__tk_keys(L, j, "Prepend", k_pre)) != UNIQL_OK) return r;
        if ((r = uniql__tk_str(L, j, "prepend", 1, &c)) != UNIQL_OK) return r;
        st->s2 = uniql__tk_strdup(L, c->u.str, c->len);
        st->n2 = c->len;
        return st->s2 ? UNIQL_OK : uniql__tk_oom(L);
    }
    return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: normalizer '%.40s' is not supported", ty->u.str);
}

static uniql_result uniql__tk_behavior(uniql__tkl *L, const uniql_json *j, int *out)
{
    const uniql_json *b;
    uniql_result r = uniql__tk_str(L, j, "behavior", 1, &b);
    if (r != UNIQL_OK) return r;
    if (uniql__js_is(b, "Removed")) *out = UNIQL__SB_REMOVED;
    else if (uniql__js_is(b, "Isolated")) *out = UNIQL__SB_ISOLATED;
    else if (uniql__js_is(b, "MergedWithPrevious")) *out = UNIQL__SB_PREV;
    else if (uniql__js_is(b, "MergedWithNext")) *out = UNIQL__SB_NEXT;
    else if (uniql__js_is(b, "Contiguous")) *out = UNIQL__SB_CONTIG;
    else return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: split behavior '%.40s'", b->u.str);
    return UNIQL_OK;
}

/* the regex of ByteLevel's use_regex (GPT-2) and of Whitespace */
static const char uniql__tk_gpt2_re[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char uniql__tk_ws_re[] = "\\w+|[^\\w\\s]+";

static uniql_result uniql__tk_pretok(uniql__tkl *L, const uniql_json *j, int depth)
{
    static const char *const k_type[] = {"type", NULL};
    static const char *const k_seq[] = {"type", "pretokenizers", NULL};
    static const char *const k_split[] = {"type", "pattern", "behavior", "invert", NULL};
    static const char *const k_bl[] = {"type", "add_prefix_space", "trim_offsets", "use_regex", NULL};
    static const char *const k_ms[] = {"type", "replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep", NULL};
    static const char *const k_dig[] = {"type", "individual_digits", NULL};
    static const char *const k_pun[] = {"type", "behavior", NULL};
    const uniql_json *ty;
    uniql__tk_step *st;
    uniql_result r;
    if (!j || j->type == UNIQL_JSON_NULL) return UNIQL_OK;
    if (j->type != UNIQL_JSON_OBJECT || !(ty = uniql_json_get(j, "type")) || ty->type != UNIQL_JSON_STRING)
        return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: pre_tokenizer must be an object with a \"type\"");
    if (depth > 8) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: pre_tokenizer Sequences nested deeper than 8");
    if (uniql__js_is(ty, "Sequence")) {
        const uniql_json *a = uniql_json_get(j, "pretokenizers"), *k;
        if ((r = uniql__tk_keys(L, j, "Sequence pre_tokenizer", k_seq)) != UNIQL_OK) return r;
        if (!a || a->type != UNIQL_JSON_ARRAY) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: Sequence pre_tokenizer needs \"pretokenizers\"");
        for (k = uniql__json_first(a); k; k = uniql__json_next(a, k)) if ((r = uniql__tk_pretok(L, k, depth + 1)) != UNIQL_OK) return r;
        return UNIQL_OK;
    }
    if ((r = uniql__tk_push(L, &L->t->pre, &L->t->n_pre, &st)) != UNIQL_OK) return r;
    if (uniql__js_is(ty, "Split")) {
        st->kind = UNIQL__TP_SPLIT;
        if ((r = uniql__tk_keys(L, j, "Split", k_split)) != UNIQL_OK) return r;
        if ((r = uniql__tk_pattern(L, j, st, "Split")) != UNIQL_OK) return r;
        if ((r = uniql__tk_behavior(L, j, &st->a)) != UNIQL_OK) return r;
        return uniql__tk_bool(L, j, "invert", 0, &st->b);
    }
    if (uniql__js_is(ty, "ByteLevel")) {
        st->kind = UNIQL__TP_BYTELEVEL;
        L->t->byte_level = 1;
        if ((r = uniql__tk_keys(L, j, "ByteLevel", k_bl)) != UNIQL_OK) return r;
        if ((r = uniql__tk_bool(L, j, "add_prefix_space", 1, &st->a)) != UNIQL_OK) return r;
        if ((r = uniql__tk_bool(L, j, "use_regex", 1, &st->b)) != UNIQL_OK) return r;
        if (st->b) return uniql__rx_compile(uniql__tk_gpt2_re, sizeof uniql__tk_gpt2_re - 1, L->user, &st->rx, L->err);
        return UNIQL_OK;
    }
    if (uniql__js_is(ty, "Metaspace")) {
        const uniql_json *rep, *sch;
        st->kind = UNIQL__TP_METASPACE;
        if ((r = uniql__tk_keys(L, j, "Metaspace", k_ms)) != UNIQL_OK) return r;
        if ((r = uniql__tk_str(L, j, "replacement", 1, &rep)) != UNIQL_OK) return r;
        if (!uniql__tk_onechar(rep, &st->ch)) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: Metaspace replacement must be one character");
        if ((r = uniql__tk_bool(L, j, "split", 1, &st->b)) != UNIQL_OK) return r;
        if ((r = uniql__tk_str(L, j, "prepend_scheme", 0, &sch)) != UNIQL_OK) return r;
        if (sch) {
            if (uniql__js_is(sch, "always")) st->a = 0;
            else if (uniql__js_is(sch, "first")) st->a = 1;
            else if (uniql__js_is(sch, "never")) st->a = 2;
            else return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: Metaspace prepend_scheme '%.30s'", sch->u.str);
        } else {   /* files before tokenizers 0.19: add_prefix_space */
            int aps;
            if ((r = uniql__tk_bool(L, j, "add_prefix_space", 1, &aps)) != UNIQL_OK) return r;
            st->a = aps ? 0 : 2;
        }
        return UNIQL_OK;
    }
    if (uniql__js_is(ty, "Digits")) {
        st->kind = UNIQL__TP_DIGITS;
        if ((r = uniql__tk_keys(L, j, "Digits", k_dig)) != UNIQL_OK) return r;
        return uniql__tk_bool(L, j, "individual_digits", 0, &st->a);
    }
    if (uniql__js_is(ty, "Whitespace")) {
        st->kind = UNIQL__TP_WHITESPACE;
        if ((r = uniql__tk_keys(L, j, "Whitespace", k_type)) != UNIQL_OK) return r;
        return uniql__rx_compile(uniql__tk_ws_re, sizeof uniql__tk_ws_re - 1, L->user, &st->rx, L->err);
    }
    if (uniql__js_is(ty, "WhitespaceSplit")) { st->kind = UNIQL__TP_WSSPLIT; return uniql__tk_keys(L, j, "WhitespaceSplit", k_type); }
    if (uniql__js_is(ty, "Punctuation")) {
        st->kind = UNIQL__TP_PUNCT;
        if ((r = uniql__tk_keys(L, j, "Punctuation", k_pun)) != UNIQL_OK) return r;
        if (!uniql_json_get(j, "behavior")) { st->a = UNIQL__SB_ISOLATED; return UNIQL_OK; }
        return uniql__tk_behavior(L, j, &st->a);
    }
    return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: pre_tokenizer '%.40s' is not supported", ty->u.str);
}

static uniql_result uniql__tk_decoder(uniql__tkl *L, const uniql_json *j, int depth)
{
    static const char *const k_type[] = {"type", NULL};
    static const char *const k_seq[] = {"type", "decoders", NULL};
    static const char *const k_bl[] = {"type", "add_prefix_space", "trim_offsets", "use_regex", NULL};
    static const char *const k_rep[] = {"type", "pattern", "content", NULL};
    static const char *const k_strip[] = {"type", "content", "start", "stop", NULL};
    static const char *const k_ms[] = {"type", "replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep", NULL};
    const uniql_json *ty;
    uniql__tk_step *st;
    uniql_result r;
    if (!j || j->type == UNIQL_JSON_NULL) return UNIQL_OK;
    L->t->has_decoder = 1;
    if (j->type != UNIQL_JSON_OBJECT || !(ty = uniql_json_get(j, "type")) || ty->type != UNIQL_JSON_STRING)
        return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: decoder must be an object with a \"type\"");
    if (depth > 8) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: decoder Sequences nested deeper than 8");
    if (uniql__js_is(ty, "Sequence")) {
        const uniql_json *a = uniql_json_get(j, "decoders"), *k;
        if ((r = uniql__tk_keys(L, j, "Sequence decoder", k_seq)) != UNIQL_OK) return r;
        if (!a || a->type != UNIQL_JSON_ARRAY) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: Sequence decoder needs \"decoders\"");
        for (k = uniql__json_first(a); k; k = uniql__json_next(a, k)) if ((r = uniql__tk_decoder(L, k, depth + 1)) != UNIQL_OK) return r;
        return UNIQL_OK;
    }
    if ((r = uniql__tk_push(L, &L->t->dec, &L->t->n_dec, &st)) != UNIQL_OK) return r;
    if (uniql__js_is(ty, "ByteLevel")) { st->kind = UNIQL__TD_BYTELEVEL; return uniql__tk_keys(L, j, "ByteLevel decoder", k_bl); }
    if (uniql__js_is(ty, "ByteFallback")) { st->kind = UNIQL__TD_BYTEFALLBACK; return uniql__tk_keys(L, j, "ByteFallback", k_type); }
    if (uniql__js_is(ty, "Fuse")) { st->kind = UNIQL__TD_FUSE; return uniql__tk_keys(L, j, "Fuse", k_type); }
    if (uniql__js_is(ty, "Replace")) {
        const uniql_json *c;
        st->kind = UNIQL__TD_REPLACE;
        if ((r = uniql__tk_keys(L, j, "Replace decoder", k_rep)) != UNIQL_OK) return r;
        if ((r = uniql__tk_pattern(L, j, st, "Replace")) != UNIQL_OK) return r;
        if (st->rx.prog) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: Replace decoder with a Regex pattern");
        if (!st->n1) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: Replace decoder with an empty pattern");
        if ((r = uniql__tk_str(L, j, "content", 1, &c)) != UNIQL_OK) return r;
        st->s2 = uniql__tk_strdup(L, c->u.str, c->len);
        st->n2 = c->len;
        return st->s2 ? UNIQL_OK : uniql__tk_oom(L);
    }
    if (uniql__js_is(ty, "Strip")) {
        const uniql_json *c;
        st->kind = UNIQL__TD_STRIP;
        if ((r = uniql__tk_keys(L, j, "Strip decoder", k_strip)) != UNIQL_OK) return r;
        if ((r = uniql__tk_str(L, j, "content", 1, &c)) != UNIQL_OK) return r;
        if (!uniql__tk_onechar(c, &st->ch)) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: Strip content must be one character");
        if ((r = uniql__tk_uint(L, uniql_json_get(j, "start"), "Strip start", &st->a)) != UNIQL_OK) return r;
        return uniql__tk_uint(L, uniql_json_get(j, "stop"), "Strip stop", &st->b);
    }
    if (uniql__js_is(ty, "Metaspace")) {
        const uniql_json *rep, *sch;
        st->kind = UNIQL__TD_METASPACE;
        if ((r = uniql__tk_keys(L, j, "Metaspace decoder", k_ms)) != UNIQL_OK) return r;
        if ((r = uniql__tk_str(L, j, "replacement", 1, &rep)) != UNIQL_OK) return r;
        if (!uniql__tk_onechar(rep, &st->ch)) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: Metaspace replacement must be one character");
        if ((r = uniql__tk_str(L, j, "prepend_scheme", 0, &sch)) != UNIQL_OK) return r;
        if (sch) st->a = uniql__js_is(sch, "never") ? 2 : 0;
        else {
            int aps;
            if ((r = uniql__tk_bool(L, j, "add_prefix_space", 1, &aps)) != UNIQL_OK) return r;
            st->a = aps ? 0 : 2;
        }
        return UNIQL_OK;
    }
    return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: decoder '%.40s' is not supported", ty->u.str);
}

/* a special token's ids by name from TemplateProcessing's "special_tokens" */
static uniql_result uniql__tk_post(uniql__tkl *L, const uniql_json *j, uniql__tkb *items, int depth)
{
    static const char *const k_tp[] = {"type", "single", "pair", "special_tokens", NULL};
    static const char *const k_bert[] = {"type", "sep", "cls", "trim_offsets", "add_prefix_space", NULL};
    static const char *const k_bl[] = {"type", "add_prefix_space", "trim_offsets", "use_regex", NULL};
    static const char *const k_seq[] = {"type", "processors", NULL};
    const uniql_json *ty;
    uniql_result r;
    if (!j || j->type == UNIQL_JSON_NULL) return UNIQL_OK;
    if (j->type != UNIQL_JSON_OBJECT || !(ty = uniql_json_get(j, "type")) || ty->type != UNIQL_JSON_STRING)
        return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: post_processor must be an object with a \"type\"");
    if (depth > 8) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: post_processor Sequences nested deeper than 8");
    if (uniql__js_is(ty, "ByteLevel")) return uniql__tk_keys(L, j, "ByteLevel post_processor", k_bl);
    if (uniql__js_is(ty, "Sequence")) {
        const uniql_json *a = uniql_json_get(j, "processors"), *k;
        if ((r = uniql__tk_keys(L, j, "Sequence post_processor", k_seq)) != UNIQL_OK) return r;
        if (!a || a->type != UNIQL_JSON_ARRAY) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: Sequence post_processor needs \"processors\"");
        for (k = uniql__json_first(a); k; k = uniql__json_next(a, k)) if ((r = uniql__tk_post(L, k, items, depth + 1)) != UNIQL_OK) return r;
        return UNIQL_OK;
    }
    if (uniql__js_is(ty, "BertProcessing") || uniql__js_is(ty, "RobertaProcessing")) {
        const uniql_json *cls = uniql_json_get(j, "cls"), *sep = uniql_json_get(j, "sep");
        int ci, si;
        if ((r = uniql__tk_keys(L, j, "Bert/RobertaProcessing", k_bert)) != UNIQL_OK) return r;
        if (!cls || cls->type != UNIQL_JSON_ARRAY || cls->len != 2 || !sep || sep->type != UNIQL_JSON_ARRAY || sep->len != 2)
            return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: BertProcessing needs cls and sep as [token, id]");
        if ((r = uniql__tk_uint(L, uniql_json_at(cls, 1), "cls id", &ci)) != UNIQL_OK) return r;
        if ((r = uniql__tk_uint(L, uniql_json_at(sep, 1), "sep id", &si)) != UNIQL_OK) return r;
        if (items->n) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: two post-processors that both add tokens");
        uniql__tkb_int(items, ci);
        uniql__tkb_int(items, -1);
        uniql__tkb_int(items, si);
        return items->oom ? uniql__tk_oom(L) : UNIQL_OK;
    }
    if (uniql__js_is(ty, "TemplateProcessing")) {
        const uniql_json *single = uniql_json_get(j, "single"), *sp = uniql_json_get(j, "special_tokens"), *it;
        int n_seq = 0;
        if ((r = uniql__tk_keys(L, j, "TemplateProcessing", k_tp)) != UNIQL_OK) return r;
        if (!single || single->type != UNIQL_JSON_ARRAY) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: TemplateProcessing needs \"single\"");
        if (items->n) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: two post-processors that both add tokens");
        for (it = uniql__json_first(single); it; it = uniql__json_next(single, it)) {
            const uniql_json *v, *id;
            if (it->type != UNIQL_JSON_OBJECT || it->len != 1)
                return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: TemplateProcessing item must be {\"Sequence\"|\"SpecialToken\": ..}");
            v = uniql_json_member(it, 0, NULL);
            id = uniql_json_get(v, "id");
            if (!id || id->type != UNIQL_JSON_STRING) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: TemplateProcessing item without an id");
            if (uniql__json_key(v)->len == 8 && !memcmp(uniql__json_key(v)->u.str, "Sequence", 8)) {
                if (!uniql__js_is(id, "A")) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: TemplateProcessing single with sequence '%.20s'", id->u.str);
                uniql__tkb_int(items, -1);
                n_seq++;
            } else if (uniql__json_key(v)->len == 12 && !memcmp(uniql__json_key(v)->u.str, "SpecialToken", 12)) {
                const uniql_json *e = NULL, *ids, *x;
                const uniql_json *m;
                if (sp && sp->type == UNIQL_JSON_OBJECT)
                    for (m = uniql__json_first(sp); m; m = uniql__json_next(sp, m)) if (uniql__json_key(m)->len == id->len && !memcmp(uniql__json_key(m)->u.str, id->u.str, id->len)) e = m;
                if (!e || e->type != UNIQL_JSON_OBJECT || !(ids = uniql_json_get(e, "ids")) || ids->type != UNIQL_JSON_ARRAY)
                    return uniql__fail(L->err, UNIQL_ERR_MISSING, "tokenizer: TemplateProcessing special token '%.60s' is not in special_tokens", id->u.str);
                for (x = uniql__json_first(ids); x; x = uniql__json_next(ids, x)) {
                    int v2;
                    if ((r = uniql__tk_uint(L, x, "special token id", &v2)) != UNIQL_OK) return r;
                    uniql__tkb_int(items, v2);
                }
            } else return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: TemplateProcessing item '%.30s'", uniql__json_key(v)->u.str);
        }
        if (n_seq != 1) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: TemplateProcessing single must hold sequence A once");
        return items->oom ? uniql__tk_oom(L) : UNIQL_OK;
    }
    return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: post_processor '%.40s' is not supported", ty->u.str);
}

static uniql_result uniql__tk_setid(uniql__tkl *L, int id, const char *s, size_t n, uniql__tkb *pool)
{
    uniql_tokenizer *t = L->t;
    if (id < 0 || id >= t->n_vocab) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: id %d out of range", id);
    t->tok_off[id] = pool->n;
    t->tok_len[id] = (int)n;
    uniql__tkb_put(pool, s, n);
    uniql__tkb_put(pool, "", 1);
    return pool->oom ? uniql__tk_oom(L) : UNIQL_OK;
}

static uniql_result uniql__tk_trie_add(uniql__tkl *L, uniql__tkb *nodes, int *root, const char *s, size_t n, int id)
{
    uniql__tk_trie nd;
    size_t i;
    int cur = -1;
    for (i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        int k = cur < 0 ? root[b] : ((uniql__tk_trie *)nodes->p)[cur].child;
        while (k >= 0 && ((uniql__tk_trie *)nodes->p)[k].byte != b) k = ((uniql__tk_trie *)nodes->p)[k].next;
        if (k < 0) {
            k = (int)(nodes->n / sizeof nd);
            nd.byte = b; nd.child = -1; nd.id = -1;
            nd.next = cur < 0 ? -1 : ((uniql__tk_trie *)nodes->p)[cur].child;
            uniql__tkb_put(nodes, &nd, sizeof nd);
            if (nodes->oom) return uniql__tk_oom(L);
            if (cur < 0) root[b] = k;
            else ((uniql__tk_trie *)nodes->p)[cur].child = k;
        }
        cur = k;
    }
    if (cur >= 0 && ((uniql__tk_trie *)nodes->p)[cur].id < 0) ((uniql__tk_trie *)nodes->p)[cur].id = id;
    return UNIQL_OK;
}

static void uniql__tk_steps_free(uniql__tk_step *s, int n, void *user)
{
    int i;
    if (!s) return;
    for (i = 0; i < n; i++) {
        if (s[i].s1) UNIQL_FREE(s[i].s1, user);
        if (s[i].s2) UNIQL_FREE(s[i].s2, user);
        uniql__rx_free(&s[i].rx, user);
    }
    UNIQL_FREE(s, user);
}

UNIQLDEF void uniql_tokenizer_free(uniql_tokenizer *t)
{
    void *u;
    if (!t) return;
    u = t->alloc_user;
#define UNIQL__TKF(p) if (p) UNIQL_FREE(p, u)
    UNIQL__TKF(t->pool); UNIQL__TKF(t->tok_off); UNIQL__TKF(t->tok_len); UNIQL__TKF(t->special);
    UNIQL__TKF(t->vhash); UNIQL__TKF(t->merges); UNIQL__TKF(t->trie); UNIQL__TKF(t->ntrie);
    UNIQL__TKF(t->added_ids); UNIQL__TKF(t->added_flags); UNIQL__TKF(t->post); UNIQL__TKF(t->comp);
#undef UNIQL__TKF
    uniql__tk_steps_free(t->norm, t->n_norm, u);
    uniql__tk_steps_free(t->pre, t->n_pre, u);
    uniql__tk_steps_free(t->dec, t->n_dec, u);
    UNIQL_FREE(t, u);
}

/* the token named by a tokenizer_config.json entry (a string or {"content": ..}), or -1 */
static int uniql__tk_cfg_token(const uniql_tokenizer *t, const uniql_json *v)
{
    if (v && v->type == UNIQL_JSON_OBJECT) v = uniql_json_get(v, "content");
    if (!v || v->type != UNIQL_JSON_STRING) return -1;
    return uniql_tokenizer_token_id(t, v->u.str, v->len);
}

static uniql_result uniql__tk_build(uniql__tkl *L, const uniql_json *root, const uniql_json *cfg)
{
    static const char *const k_top[] = {"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer",
                                        "post_processor", "decoder", "model", NULL};
    static const char *const k_bpe[] = {"type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
                                        "fuse_unk", "byte_fallback", "ignore_merges", "vocab", "merges", NULL};
    static const char *const k_added[] = {"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special", NULL};
    uniql_tokenizer *t = L->t;
    const uniql_json *model, *vocab, *merges, *added, *v, *m;
    uniql__tkb *pool = &L->pool, *trie = &L->trie, *ntrie = &L->ntrie, *post = &L->post;
    uniql_result r;
    size_t i, cap;
    int max_id = -1, k;
    pool->user = trie->user = ntrie->user = post->user = L->user;
    if (root->type != UNIQL_JSON_OBJECT) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: tokenizer.json is not a JSON object");
    if ((r = uniql__tk_keys(L, root, "top-level", k_top)) != UNIQL_OK) return r;
    if ((v = uniql_json_get(root, "truncation")) && v->type != UNIQL_JSON_NULL)
        return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: truncation is set (only null is supported)");
    if ((v = uniql_json_get(root, "padding")) && v->type != UNIQL_JSON_NULL)
        return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: padding is set (only null is supported)");
    model = uniql_json_get(root, "model");
    if (!model || model->type != UNIQL_JSON_OBJECT) return uniql__fail(L->err, UNIQL_ERR_MISSING, "tokenizer: no \"model\" object");
    v = uniql_json_get(model, "type");
    if (v && v->type != UNIQL_JSON_STRING) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: model type must be a string");
    if (v && !uniql__js_is(v, "BPE")) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: model '%.40s' is not supported (BPE only)", v->u.str);
    if ((r = uniql__tk_keys(L, model, "BPE model", k_bpe)) != UNIQL_OK) return r;
    if ((v = uniql_json_get(model, "dropout")) && v->type != UNIQL_JSON_NULL && !(v->type == UNIQL_JSON_NUMBER && v->u.number == 0))
        return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: BPE dropout (random merges) is not supported");
    if (((v = uniql_json_get(model, "continuing_subword_prefix")) && v->type != UNIQL_JSON_NULL && !uniql__js_is(v, "")) ||
        ((v = uniql_json_get(model, "end_of_word_suffix")) && v->type != UNIQL_JSON_NULL && !uniql__js_is(v, "")))
        return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: BPE continuing_subword_prefix / end_of_word_suffix");
    if ((r = uniql__tk_bool(L, model, "fuse_unk", 0, &t->fuse_unk)) != UNIQL_OK) return r;
    if ((r = uniql__tk_bool(L, model, "byte_fallback", 0, &t->byte_fallback)) != UNIQL_OK) return r;
    if ((r = uniql__tk_bool(L, model, "ignore_merges", 0, &t->ignore_merges)) != UNIQL_OK) return r;
    vocab = uniql_json_get(model, "vocab");
    merges = uniql_json_get(model, "merges");
    if (!vocab || vocab->type != UNIQL_JSON_OBJECT) return uniql__fail(L->err, UNIQL_ERR_MISSING, "tokenizer: BPE model without a \"vocab\" object");
    if (merges && merges->type != UNIQL_JSON_ARRAY && merges->type != UNIQL_JSON_NULL)
        return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: BPE \"merges\" must be an array");
    added = uniql_json_get(root, "added_tokens");
    if (added && added->type != UNIQL_JSON_ARRAY && added->type != UNIQL_JSON_NULL)
        return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: \"added_tokens\" must be an array");
    /* ids */
    for (m = uniql__json_first(vocab); m; m = uniql__json_next(vocab, m)) {
        if ((r = uniql__tk_uint(L, m, "a vocabulary id", &k)) != UNIQL_OK) return r;
        if (k > max_id) max_id = k;
    }
    if (added && added->type == UNIQL_JSON_ARRAY)
        for (m = uniql__json_first(added); m; m = uniql__json_next(added, m)) {
            if (m->type != UNIQL_JSON_OBJECT) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: added token must be an object");
            if ((r = uniql__tk_uint(L, uniql_json_get(m, "id"), "an added token id", &k)) != UNIQL_OK) return r;
            if (k > max_id) max_id = k;
        }
    if (max_id < 0) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: empty vocabulary");
    if ((size_t)max_id + 1 > (size_t)vocab->len + (size_t)(added ? added->len : 0) + 65536)
        return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: ids up to %d for %d tokens (too sparse)", max_id, vocab->len);
    t->n_vocab = max_id + 1;
    t->tok_off = (size_t *)uniql__tk_alloc(L, sizeof(size_t) * (size_t)t->n_vocab);
    t->tok_len = (int *)uniql__tk_alloc(L, sizeof(int) * (size_t)t->n_vocab);
    t->special = (unsigned char *)uniql__tk_alloc(L, (size_t)t->n_vocab);
    for (cap = 16; cap < 2 * (size_t)vocab->len + 2; cap *= 2) {}
    t->vhash = (int *)UNIQL_MALLOC(sizeof(int) * cap, L->user);
    if (!t->tok_off || !t->tok_len || !t->special || !t->vhash) return uniql__tk_oom(L);
    t->vmask = cap - 1;
    for (i = 0; i < cap; i++) t->vhash[i] = -1;
    for (k = 0; k < t->n_vocab; k++) t->tok_off[k] = (size_t)-1;
    for (m = uniql__json_first(vocab); m; m = uniql__json_next(vocab, m)) {
        size_t h;
        k = (int)m->u.number;
        if (t->tok_off[k] != (size_t)-1) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: vocabulary id %d used twice", k);
        if ((r = uniql__tk_setid(L, k, uniql__json_key(m)->u.str, uniql__json_key(m)->len, pool)) != UNIQL_OK) return r;
        h = (size_t)uniql__tk_hash(uniql__json_key(m)->u.str, uniql__json_key(m)->len) & t->vmask;
        while (t->vhash[h] >= 0) h = (h + 1) & t->vmask;
        t->vhash[h] = k;
    }
    /* added tokens: their own strings win for decoding, as in Rust */
    for (k = 0; k < 256; k++) t->root[k] = t->nroot[k] = -1;
    if (added && added->type == UNIQL_JSON_ARRAY && added->len) {
        t->added_ids = (int *)uniql__tk_alloc(L, sizeof(int) * (size_t)added->len);
        t->added_flags = (unsigned char *)uniql__tk_alloc(L, (size_t)added->len);
        if (!t->added_ids || !t->added_flags) return uniql__tk_oom(L);
        for (m = uniql__json_first(added); m; m = uniql__json_next(added, m)) {
            const uniql_json *c;
            int sw, ls, rs, nz, spc;
            if ((r = uniql__tk_keys(L, m, "added token", k_added)) != UNIQL_OK) return r;
            if ((r = uniql__tk_str(L, m, "content", 1, &c)) != UNIQL_OK) return r;
            if (!c->len) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: added token with empty content");
            k = (int)uniql_json_get(m, "id")->u.number;
            if ((r = uniql__tk_bool(L, m, "special", 0, &spc)) != UNIQL_OK) return r;
            if ((r = uniql__tk_bool(L, m, "single_word", 0, &sw)) != UNIQL_OK) return r;
            if ((r = uniql__tk_bool(L, m, "lstrip", 0, &ls)) != UNIQL_OK) return r;
            if ((r = uniql__tk_bool(L, m, "rstrip", 0, &rs)) != UNIQL_OK) return r;
            if ((r = uniql__tk_bool(L, m, "normalized", !spc, &nz)) != UNIQL_OK) return r;
            if (sw) return uniql__fail(L->err, UNIQL_ERR_UNSUPPORTED, "tokenizer: added token '%.40s' with single_word", c->u.str);
            if (t->special[k]) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: added token id %d used twice", k);
            if (t->tok_off[k] == (size_t)-1 || (size_t)t->tok_len[k] != c->len || memcmp(pool->p + t->tok_off[k], c->u.str, c->len)) {
                /* not the model's token of that id: it is an added string only (the model
                   never produces it, and vocabulary lookups must not find it) */
                if (t->tok_off[k] != (size_t)-1) {
                    size_t h;
                    for (h = 0; h <= t->vmask; h++) if (t->vhash[h] == k) t->special[k] |= 8;   /* hide the model's entry */
                }
                if ((r = uniql__tk_setid(L, k, c->u.str, c->len, pool)) != UNIQL_OK) return r;
            }
            t->special[k] = (unsigned char)((t->special[k] & 8) | (spc ? 1 : 2));
            t->added_ids[t->n_added] = k;
            t->added_flags[t->n_added] = (unsigned char)((ls ? 1 : 0) | (rs ? 2 : 0));
            t->n_added++;
            if (!nz) { if ((r = uniql__tk_trie_add(L, trie, t->root, c->u.str, c->len, t->n_added - 1)) != UNIQL_OK) return r; }
        }
    }
    t->pool = (char *)pool->p;
    memset(pool, 0, sizeof *pool);
    /* the pipeline */
    if ((r = uniql__tk_normalizer(L, uniql_json_get(root, "normalizer"), 0)) != UNIQL_OK) return r;
    for (k = 0; k < t->n_norm; k++) if (t->norm[k].kind == UNIQL__TN_NFC) break;
    if (k < t->n_norm) {
        t->n_comp = uniql__uc_comp_count();
        t->comp = (uniql__uc_comp *)uniql__tk_alloc(L, sizeof(uniql__uc_comp) * t->n_comp);
        if (!t->comp) return uniql__tk_oom(L);
        uniql__uc_comp_fill(t->comp);
    }
    /* normalized added tokens: their content normalized like the text */
    if (added && added->type == UNIQL_JSON_ARRAY) {
        int a = 0;
        for (m = uniql__json_first(added); m; m = uniql__json_next(added, m), a++) {
            const uniql_json *c = uniql_json_get(m, "content");
            int nz, spc;
            uniql__tk_bool(L, m, "special", 0, &spc);
            uniql__tk_bool(L, m, "normalized", !spc, &nz);
            if (nz) {
                uniql__tkb nb;
                uniql_result r2;
                size_t dummy = 0;
                memset(&nb, 0, sizeof nb);
                nb.user = L->user;
                r2 = uniql__tk_normalize_piece(t, (const unsigned char *)c->u.str, c->len, &nb, &dummy);
                if (r2 == UNIQL_OK && !nb.oom && nb.n)
                    r2 = uniql__tk_trie_add(L, ntrie, t->nroot, (const char *)nb.p, nb.n, a);
                uniql__tkb_free(&nb);
                if (r2 != UNIQL_OK) return r2 == UNIQL_ERR_OUT_OF_MEMORY ? uniql__tk_oom(L) : r2;
            }
        }
    }
    t->trie = (uniql__tk_trie *)trie->p; t->n_trie = (int)(trie->n / sizeof(uniql__tk_trie));
    t->ntrie = (uniql__tk_trie *)ntrie->p; t->n_ntrie = (int)(ntrie->n / sizeof(uniql__tk_trie));
    memset(trie, 0, sizeof *trie);
    memset(ntrie, 0, sizeof *ntrie);
    if ((r = uniql__tk_pretok(L, uniql_json_get(root, "pre_tokenizer"), 0)) != UNIQL_OK) return r;
    if ((r = uniql__tk_decoder(L, uniql_json_get(root, "decoder"), 0)) != UNIQL_OK) return r;
    if ((r = uniql__tk_post(L, uniql_json_get(root, "post_processor"), post, 0)) != UNIQL_OK) return r;
    t->post = (int *)post->p;
    t->n_post = (int)(post->n / sizeof(int));
    memset(post, 0, sizeof *post);
    for (k = 0; k < t->n_post; k++)
        if (t->post[k] >= t->n_vocab) return uniql__fail(L->err, UNIQL_ERR_MISSING, "tokenizer: post-processor id %d is not a token", t->post[k]);
    /* model details */
    v = uniql_json_get(model, "unk_token");
    t->unk_id = -1;
    if (v && v->type != UNIQL_JSON_NULL) {
        if (v->type != UNIQL_JSON_STRING) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: unk_token must be a string");
        t->unk_id = uniql__tk_vocab(t, v->u.str, v->len);
        if (t->unk_id < 0) return uniql__fail(L->err, UNIQL_ERR_MISSING, "tokenizer: unk_token '%.40s' is not in the vocabulary", v->u.str);
    }
    for (k = 0; k < 256; k++) {
        char b[8];
        snprintf(b, sizeof b, "<0x%02X>", k);
        t->byte_tok[k] = uniql__tk_vocab(t, b, 6);
    }
    for (k = 0; k < 512; k++) {
        unsigned char b[4];
        int n = uniql__u8enc((uint32_t)k, b);
        t->small[k] = uniql__tk_vocab(t, b, (size_t)n);
    }
    if (merges && merges->type == UNIQL_JSON_ARRAY && merges->len) {
        for (cap = 16; cap < 2 * (size_t)merges->len + 2; cap *= 2) {}
        t->merges = (uniql__tk_merge *)UNIQL_MALLOC(sizeof(uniql__tk_merge) * cap, L->user);
        if (!t->merges) return uniql__tk_oom(L);
        t->mmask = cap - 1;
        for (i = 0; i < cap; i++) t->merges[i].key = (uint64_t)-1;
        i = 0;
        for (m = uniql__json_first(merges); m; m = uniql__json_next(merges, m), i++) {
            const char *a, *b;
            size_t na, nb, h;
            int ia, ib, inew;
            uint64_t key;
            char stack[256], *cat;
            if (m->type == UNIQL_JSON_STRING) {
                const char *sp = (const char *)memchr(m->u.str, ' ', m->len);
                if (!sp || memchr(sp + 1, ' ', m->len - (size_t)(sp + 1 - m->u.str)))
                    return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: merge %lu is not \"a b\"", (unsigned long)i);
                a = m->u.str; na = (size_t)(sp - m->u.str); b = sp + 1; nb = m->len - na - 1;
            } else if (m->type == UNIQL_JSON_ARRAY && m->len == 2 && uniql_json_at(m, 0)->type == UNIQL_JSON_STRING &&
                       uniql_json_at(m, 1)->type == UNIQL_JSON_STRING) {
                a = uniql_json_at(m, 0)->u.str; na = uniql_json_at(m, 0)->len;
                b = uniql_json_at(m, 1)->u.str; nb = uniql_json_at(m, 1)->len;
            } else return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: merge %lu is neither \"a b\" nor [a, b]", (unsigned long)i);
            ia = uniql__tk_vocab(t, a, na);
            ib = uniql__tk_vocab(t, b, nb);
            if (ia < 0 || ib < 0) return uniql__fail(L->err, UNIQL_ERR_MISSING, "tokenizer: merge %lu names a token not in the vocabulary", (unsigned long)i);
            cat = na + nb <= sizeof stack ? stack : (char *)UNIQL_MALLOC(na + nb, L->user);
            if (!cat) return uniql__tk_oom(L);
            memcpy(cat, a, na);
            memcpy(cat + na, b, nb);
            inew = uniql__tk_vocab(t, cat, na + nb);
            if (cat != stack) UNIQL_FREE(cat, L->user);
            if (inew < 0) return uniql__fail(L->err, UNIQL_ERR_MISSING, "tokenizer: merge %lu makes a token not in the vocabulary", (unsigned long)i);
            key = ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib;
            h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & t->mmask;
            while (t->merges[h].key != (uint64_t)-1 && t->merges[h].key != key) h = (h + 1) & t->mmask;
            t->merges[h].key = key;            /* a repeated pair: the later rank wins, as in Rust */
            t->merges[h].rank = (uint32_t)i;
            t->merges[h].id = inew;
        }
    }
    for (k = 0; k < 65536; k++) t->bmp[k] = (unsigned char)uniql_unicode_category_of((uint32_t)k);
    for (k = 0; k < 256; k++) t->bl_len[k] = (unsigned char)uniql__u8enc(uniql__bl_char((unsigned)k), t->bl_enc[k]);
    /* info */
    t->info.vocab_size = t->n_vocab;
    t->info.byte_level = t->byte_level;
    t->info.n_added = t->n_added;
    t->info.bos_id = t->info.eos_id = -1;
    t->info.add_bos = t->info.add_eos = -1;
    for (k = 0; k < t->n_post && t->post[k] >= 0; k++) { t->info.bos_id = t->post[k]; break; }
    if (cfg && cfg->type == UNIQL_JSON_OBJECT) {
        int b;
        if ((v = uniql_json_get(cfg, "bos_token")) && v->type != UNIQL_JSON_NULL) t->info.bos_id = uniql__tk_cfg_token(t, v);
        if ((v = uniql_json_get(cfg, "eos_token")) && v->type != UNIQL_JSON_NULL) t->info.eos_id = uniql__tk_cfg_token(t, v);
        if ((v = uniql_json_get(cfg, "add_bos_token")) && v->type != UNIQL_JSON_NULL) {
            if ((r = uniql__tk_bool(L, cfg, "add_bos_token", 0, &b)) != UNIQL_OK) return r;
            t->info.add_bos = b;
        }
        if ((v = uniql_json_get(cfg, "add_eos_token")) && v->type != UNIQL_JSON_NULL) {
            if ((r = uniql__tk_bool(L, cfg, "add_eos_token", 0, &b)) != UNIQL_OK) return r;
            t->info.add_eos = b;
        }
    } else if (cfg) return uniql__fail(L->err, UNIQL_ERR_FORMAT, "tokenizer: tokenizer_config.json is not an object");
    return UNIQL_OK;
}

/* ---- encoding ---- */

typedef struct uniql__tke {
    const uniql_tokenizer *t;
    uniql__rx_run rx;
    uniql__tkb a, b, sa, sb;        /* text and span buffers, double-buffered */
    uniql__tkb ids, sym, heap, tmp, tmp2;
    uniql_tokenizer_stats *st;
    /* per-call cache of short words -> ids (text repeats its words; the tokenizer itself
       stays immutable, so callers may share it between threads) */
    uniql__tkb ctab, ckeys, cids;
    size_t cmask, cused;
} uniql__tke;

typedef struct uniql__tk_centry { uint64_t h; size_t key, len, ids, n; } uniql__tk_centry;
#define UNIQL__TK_CACHE_WORD 64       /* longest word cached, bytes */
#define UNIQL__TK_CACHE_SLOTS 16384   /* slots (power of 2), filled to 3/4 at most */

static void uniql__tk_span_add(uniql__tkb *spans, size_t off, size_t len, int id, int first)
{
    uniql__tk_span s;
    s.off = off; s.len = len; s.id = id; s.first = first;
    uniql__tkb_put(spans, &s, sizeof s);
}

/* run the regex over s[0..n): every match as (start, end) appended to out (size_t pairs).
   0 when the step budget is exhausted */
static int uniql__tk_rx_find(uniql__tke *E, const uniql__rx *r, const unsigned char *s, size_t n, uniql__tkb *out)
{
    size_t p = 0, end;
    E->rx.r = r;
    E->rx.s = s;
    E->rx.n = n;
    E->rx.steps = 0;
    E->rx.budget = (uint64_t)UNIQL_TOK_REGEX_STEPS * ((uint64_t)n + 16);
    while (p < n) {
        int len;
        if (uniql__rx_exec(&E->rx, 0, p, &end) && end > p) {
            size_t m[2];
            m[0] = p; m[1] = end;
            uniql__tkb_put(out, m, sizeof m);
            p = end;
            continue;
        }
        if (E->rx.over) break;
        uniql__u8dec(s + p, &len);
        p += (size_t)len;
    }
    if (E->st) E->st->regex_steps += E->rx.steps;
    return !E->rx.over;
}

/* matches of a split pattern in s[0..n) as (start, end) pairs: regex, literal string,
   or one of the character classes of the built-in pre-tokenizers (each character its own
   match) */
enum { UNIQL__CP_NONE, UNIQL__CP_NUMERIC, UNIQL__CP_DIGIT1, UNIQL__CP_SPACE, UNIQL__CP_PUNCT, UNIQL__CP_CHAR };

static int uniql__tk_cp_is(const uniql_tokenizer *t, int kind, uint32_t c, uint32_t ch)
{
    int g;
    switch (kind) {
    case UNIQL__CP_NUMERIC: case UNIQL__CP_DIGIT1:
        g = uniql__uc_cat(t->bmp, c);
        return g == UNIQL_UC_Nd || g == UNIQL_UC_Nl || g == UNIQL_UC_No;
    case UNIQL__CP_SPACE: return uniql__uc_space(c);
    case UNIQL__CP_PUNCT:
        if (c < 128) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
        g = uniql__uc_cat(t->bmp, c);
        return g >= UNIQL_UC_Pc && g <= UNIQL_UC_Po;
    case UNIQL__CP_CHAR: return c == ch;
    default: return 0;
    }
}

static int uniql__tk_find(uniql__tke *E, const uniql__tk_step *st, int cpkind, const unsigned char *s, size_t n, uniql__tkb *out)
{
    size_t p = 0, m[2];
    if (cpkind == UNIQL__CP_NONE && st->rx.prog) return uniql__tk_rx_find(E, &st->rx, s, n, out);
    if (cpkind == UNIQL__CP_NONE) {     /* literal string */
        if (!st->n1) return 1;
        while (p + st->n1 <= n) {
            if (!memcmp(s + p, st->s1, st->n1)) { m[0] = p; m[1] = p + st->n1; uniql__tkb_put(out, m, sizeof m); p += st->n1; }
            else p++;
        }
        return 1;
    }
    while (p < n) {
        int len;
        uint32_t c = uniql__u8dec(s + p, &len);
        if (uniql__tk_cp_is(E->t, cpkind, c, st->ch)) { m[0] = p; m[1] = p + (size_t)len; uniql__tkb_put(out, m, sizeof m); }
        p += (size_t)len;
    }
    return 1;
}

/* Rust's NormalizedString::split: the matches of a pattern in one split, the pieces
   between them, and the delimiter behaviour; non-empty pieces are appended to `spans`
   (offsets into the same text buffer, base = offset of s in it) */
static int uniql__tk_split(uniql__tke *E, const uniql__tk_step *st, int cpkind, int behavior, int invert,
                           const unsigned char *s, size_t n, size_t base, int first, uniql__tkb *spans)
{
    size_t *mt, nm, i, prev = 0, k;
    uniql__tkb *pieces = &E->tmp2;    /* (start, end, is_match) triples */
    size_t *pc;
    size_t np, w;
    E->tmp.n = 0;
    pieces->n = 0;
    if (!uniql__tk_find(E, st, cpkind, s, n, &E->tmp)) return 0;
    mt = (size_t *)E->tmp.p;
    nm = E->tmp.n / (2 * sizeof(size_t));
    for (i = 0; i <= nm; i++) {
        size_t tr[3];
        size_t ms = i < nm ? mt[2 * i] : n;
        if (ms > prev) { tr[0] = prev; tr[1] = ms; tr[2] = (size_t)invert; uniql__tkb_put(pieces, tr, sizeof tr); }
        if (i < nm) { tr[0] = mt[2 * i]; tr[1] = mt[2 * i + 1]; tr[2] = (size_t)!invert; uniql__tkb_put(pieces, tr, sizeof tr); prev = tr[1]; }
    }
    if (pieces->oom) return 1;
    pc = (size_t *)pieces->p;
    np = pieces->n / (3 * sizeof(size_t));
    /* behaviours: rewrite the list in place (w = write index), is_match = "remove" after */
    if (behavior == UNIQL__SB_ISOLATED) { for (i = 0; i < np; i++) pc[3 * i + 2] = 0; }
    else if (behavior == UNIQL__SB_CONTIG || behavior == UNIQL__SB_PREV) {
        size_t pm = 0;
        for (i = 0, w = 0; i < np; i++) {
            size_t im = pc[3 * i + 2];
            int merge = behavior == UNIQL__SB_CONTIG ? im == pm : (im && !pm);
            if (merge && w) pc[3 * (w - 1) + 1] = pc[3 * i + 1];
            else { pc[3 * w] = pc[3 * i]; pc[3 * w + 1] = pc[3 * i + 1]; pc[3 * w + 2] = 0; w++; }
            pm = im;
        }
        np = w;
    } else if (behavior == UNIQL__SB_NEXT) {
        size_t pm = 0, j;
        for (j = np, w = np; j-- > 0;) {   /* right to left, written from the end */
            size_t im = pc[3 * j + 2];
            if (im && !pm && w < np) pc[3 * w] = pc[3 * j];
            else { w--; pc[3 * w] = pc[3 * j]; pc[3 * w + 1] = pc[3 * j + 1]; pc[3 * w + 2] = 0; }
            pm = im;
        }
        for (j = w, k = 0; j < np; j++, k++) { pc[3 * k] = pc[3 * j]; pc[3 * k + 1] = pc[3 * j + 1]; pc[3 * k + 2] = 0; }
        np = k;
    }
    for (i = 0; i < np; i++)
        if (!pc[3 * i + 2] && pc[3 * i + 1] > pc[3 * i])
            uniql__tk_span_add(spans, base + pc[3 * i], pc[3 * i + 1] - pc[3 * i], -1, first && pc[3 * i] == 0);
    return 1;
}

/* normalizers, in order, over one piece; result appended to out */
static uniql_result uniql__tk_normalize_piece(const uniql_tokenizer *t, const unsigned char *s, size_t n, uniql__tkb *out,
                                              size_t *regex_steps)
{
    uniql__tkb x, y;
    int k;
    uniql_result r = UNIQL_OK;
    if (!n) return UNIQL_OK;   /* every normalizer maps "" to "" (Prepend adds nothing to it) */
    if (!t->n_norm) { uniql__tkb_put(out, s, n); return out->oom ? UNIQL_ERR_OUT_OF_MEMORY : UNIQL_OK; }
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    x.user = y.user = out->user;
    uniql__tkb_put(&x, s, n);
    for (k = 0; k < t->n_norm && !x.oom && r == UNIQL_OK; k++) {
        const uniql__tk_step *st = &t->norm[k];
        const unsigned char *p = x.p;
        size_t m = x.n, i;
        int len;
        y.n = 0;
        switch (st->kind) {
        case UNIQL__TN_NFC: uniql__uc_normalize(0, p, m, t->comp, t->n_comp, &y); break;
        case UNIQL__TN_NFD: uniql__uc_normalize(1, p, m, NULL, 0, &y); break;
        case UNIQL__TN_LOWER:
            for (i = 0; i < m; i += (size_t)len) {
                uint32_t c = uniql__u8dec(p + i, &len);
                if (c == 0x130) { uniql__tkb_cp(&y, 'i'); uniql__tkb_cp(&y, 0x307); }   /* SpecialCasing */
                else uniql__tkb_cp(&y, uniql_unicode_lower(c));
            }
            break;
        case UNIQL__TN_STRIPACC:
            for (i = 0; i < m; i += (size_t)len) {
                uint32_t c = uniql__u8dec(p + i, &len);
                int g = uniql__uc_cat(t->bmp, c);
                if (g < UNIQL_UC_Mn || g > UNIQL_UC_Me) uniql__tkb_put(&y, p + i, (size_t)len);
            }
            break;
        case UNIQL__TN_STRIP: {
            size_t b = 0, e = m;
            if (st->a) while (b < e) { uint32_t c = uniql__u8dec(p + b, &len); if (!uniql__uc_space(c)) break; b += (size_t)len; }
            if (st->b) while (e > b) {
                size_t q = e - 1;
                while (q > b && (p[q] & 0xC0) == 0x80) q--;
                if (!uniql__uc_space(uniql__u8dec(p + q, &len))) break;
                e = q;
            }
            uniql__tkb_put(&y, p + b, e - b);
            break;
        }
        case UNIQL__TN_PREPEND:
            if (m) uniql__tkb_put(&y, st->s2, st->n2);
            uniql__tkb_put(&y, p, m);
            break;
        case UNIQL__TN_REPLACE:
            if (st->rx.prog) {
                uniql__tke E;
                size_t *mt, nm, prev = 0;
                memset(&E, 0, sizeof E);
                E.t = t;
                E.rx.bmp = t->bmp;
                E.rx.stack.user = E.tmp.user = out->user;
                if (!uniql__tk_rx_find(&E, &st->rx, p, m, &E.tmp)) r = E.rx.stack.oom ? UNIQL_ERR_OUT_OF_MEMORY : UNIQL_ERR_RANGE;
                if (regex_steps) *regex_steps += (size_t)E.rx.steps;
                mt = (size_t *)E.tmp.p;
                nm = E.tmp.n / (2 * sizeof(size_t));
                for (i = 0; i < nm; i++) {
                    uniql__tkb_put(&y, p + prev, mt[2 * i] - prev);
                    uniql__tkb_put(&y, st->s2, st->n2);
                    prev = mt[2 * i + 1];
                }
                uniql__tkb_put(&y, p + prev, m - prev);
                if (E.tmp.oom) y.oom = 1;
                uniql__tkb_free(&E.tmp);
                uniql__tkb_free(&E.rx.stack);
            } else if (st->n1) {
                i = 0;
                while (i < m) {
                    if (i + st->n1 <= m && !memcmp(p + i, st->s1, st->n1)) { uniql__tkb_put(&y, st->s2, st->n2); i += st->n1; }
                    else { uniql__tkb_put(&y, p + i, 1); i++; }
                }
            } else uniql__tkb_put(&y, p, m);
            break;
        }
        if (y.oom) x.oom = 1;
        else { uniql__tkb t2 = x; x = y; y = t2; }
    }
    if (x.oom || y.oom) r = UNIQL_ERR_OUT_OF_MEMORY;
    if (r == UNIQL_OK) uniql__tkb_put(out, x.p, x.n);
    uniql__tkb_free(&x);
    uniql__tkb_free(&y);
    if (out->oom) r = UNIQL_ERR_OUT_OF_MEMORY;
    return r;
}

/* cut added tokens (trie, leftmost-longest) out of s[0..n); pieces appended to spans
   (text pieces with id -1 at base + offset) */
static void uniql__tk_cut_added(const uniql_tokenizer *t, const uniql__tk_trie *trie, const int *root, const unsigned char *s,
                                size_t n, size_t base, int first, uniql__tkb *spans)
{
    size_t p = 0, start = 0;
    while (p < n) {
        int k = root[s[p]], best = -1;
        size_t q = p, best_end = p;
        while (k >= 0) {
            q++;
            if (trie[k].id >= 0) { best = trie[k].id; best_end = q; }
            if (q >= n) break;
            k = trie[k].child;
            while (k >= 0 && trie[k].byte != s[q]) k = trie[k].next;
        }
        if (best < 0) { p++; continue; }
        {
            size_t b = p, e = best_end;
            int len;
            if (t->added_flags[best] & 1)   /* lstrip: the whitespace before, back to the last cut */
                while (b > start) {
                    size_t q2 = b - 1;
                    while (q2 > start && (s[q2] & 0xC0) == 0x80) q2--;
                    if (!uniql__uc_space(uniql__u8dec(s + q2, &len))) break;
                    b = q2;
                }
            if (t->added_flags[best] & 2)   /* rstrip: the whitespace after */
                while (e < n) { if (!uniql__uc_space(uniql__u8dec(s + e, &len))) break; e += (size_t)len; }
            if (b > start) uniql__tk_span_add(spans, base + start, b - start, -1, first && start == 0);
            uniql__tk_span_add(spans, base + b, e - b, t->added_ids[best], 0);
            p = start = e;
        }
    }
    if (n > start || n == 0) uniql__tk_span_add(spans, base + start, n - start, -1, first && start == 0);
}

typedef struct uniql__tk_sym { int id, prev, next; } uniql__tk_sym;
typedef struct uniql__tk_hent { uint32_t rank; int pos, id; } uniql__tk_hent;

static int uniql__tk_hless(const uniql__tk_hent *a, const uniql__tk_hent *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void uniql__tk_hpush(uniql__tke *E, uint32_t rank, int pos, int id)
{
    uniql__tk_hent e, *h;
    size_t i;
    e.rank = rank; e.pos = pos; e.id = id;
    uniql__tkb_put(&E->heap, &e, sizeof e);
    if (E->heap.oom) return;
    h = (uniql__tk_hent *)E->heap.p;
    i = E->heap.n / sizeof e - 1;
    while (i > 0 && uniql__tk_hless(&e, &h[(i - 1) / 2])) { h[i] = h[(i - 1) / 2]; i = (i - 1) / 2; }
    h[i] = e;
    if (E->st) E->st->heap_ops++;
}

static uniql__tk_hent uniql__tk_hpop(uniql__tke *E)
{
    uniql__tk_hent *h = (uniql__tk_hent *)E->heap.p, top = h[0], last;
    size_t n = E->heap.n / sizeof top - 1, i = 0;
    E->heap.n -= sizeof top;
    last = h[n];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && uniql__tk_hless(&h[c + 1], &h[c])) c++;
        if (!uniql__tk_hless(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (n) h[i] = last;
    if (E->st) E->st->heap_ops++;
    return top;
}

/* the BPE model on one word (merges by rank, lowest position first on ties, with the
   same staleness rule as the Rust library) */
static void uniql__tk_bpe(uniql__tke *E, const unsigned char *w, size_t n)
{
    const uniql_tokenizer *t = E->t;
    uniql__tk_sym *sy;
    size_t i;
    int nsym, len, unk_pending = 0, k;
    uniql__tk_centry *ce = NULL;
    uint64_t hw = 0;
    size_t ids0 = E->ids.n;
    if (E->st) E->st->words++;
    if (t->ignore_merges) {
        int id = uniql__tk_vocab(t, w, n);
        if (id >= 0) { uniql__tkb_int(&E->ids, id); return; }
    }
    if (n <= UNIQL__TK_CACHE_WORD) {
        if (!E->ctab.p && uniql__tkb_reserve(&E->ctab, UNIQL__TK_CACHE_SLOTS * sizeof(uniql__tk_centry))) {
            memset(E->ctab.p, 0, UNIQL__TK_CACHE_SLOTS * sizeof(uniql__tk_centry));
            E->cmask = UNIQL__TK_CACHE_SLOTS - 1;
        }
        if (E->ctab.p) {
            size_t h;
            hw = uniql__tk_hash(w, n) | 1u;   /* 0 marks an empty slot */
            for (h = (size_t)hw & E->cmask;; h = (h + 1) & E->cmask) {
                ce = (uniql__tk_centry *)E->ctab.p + h;
                if (!ce->h) break;
                if (ce->h == hw && ce->len == n && !memcmp(E->ckeys.p + ce->key, w, n)) {
                    uniql__tkb_put(&E->ids, E->cids.p + ce->ids, ce->n * sizeof(int));
                    return;
                }
            }
            if (E->cused >= UNIQL__TK_CACHE_SLOTS / 4 * 3) ce = NULL;
        }
    }
    E->sym.n = 0;
    for (i = 0; i < n; i += (size_t)len) {
        uint32_t c = uniql__u8dec(w + i, &len);
        int id = c < 512 ? t->small[c] : uniql__tk_vocab(t, w + i, (size_t)len);
        uniql__tk_sym s;
        s.prev = s.next = 0;
        if (id >= 0) {
            if (unk_pending) { s.id = t->unk_id; uniql__tkb_put(&E->sym, &s, sizeof s); unk_pending = 0; }
            s.id = id;
            uniql__tkb_put(&E->sym, &s, sizeof s);
            continue;
        }
        if (t->byte_fallback) {
            for (k = 0; k < len && t->byte_tok[w[i + k]] >= 0; k++) {}
            if (k == len) {
                if (unk_pending) { s.id = t->unk_id; uniql__tkb_put(&E->sym, &s, sizeof s); unk_pending = 0; }
                for (k = 0; k < len; k++) { s.id = t->byte_tok[w[i + k]]; uniql__tkb_put(&E->sym, &s, sizeof s); }
                continue;
            }
        }
        if (t->unk_id >= 0) {
            if (unk_pending && !t->fuse_unk) { s.id = t->unk_id; uniql__tkb_put(&E->sym, &s, sizeof s); }
            unk_pending = 1;
        }
    }
    if (unk_pending) { uniql__tk_sym s; s.id = t->unk_id; s.prev = s.next = 0; uniql__tkb_put(&E->sym, &s, sizeof s); }
    if (E->sym.oom) return;
    sy = (uniql__tk_sym *)E->sym.p;
    nsym = (int)(E->sym.n / sizeof *sy);
    for (k = 0; k < nsym; k++) { sy[k].prev = k - 1; sy[k].next = k + 1 < nsym ? k + 1 : -1; }
    E->heap.n = 0;
    if (t->merges)
        for (k = 0; k + 1 < nsym; k++) {
            const uniql__tk_merge *m = uniql__tk_merge_find(t, sy[k].id, sy[k + 1].id);
            if (m) uniql__tk_hpush(E, m->rank, k, m->id);
        }
    while (E->heap.n && !E->heap.oom) {
        uniql__tk_hent top = uniql__tk_hpop(E);
        const uniql__tk_merge *m;
        int nx;
        if (sy[top.pos].id < 0 || sy[top.pos].next < 0) continue;   /* removed, or last */
        nx = sy[top.pos].next;
        m = uniql__tk_merge_find(t, sy[top.pos].id, sy[nx].id);
        if (!m || m->id != top.id) continue;                          /* stale */
        sy[top.pos].id = top.id;
        sy[top.pos].next = sy[nx].next;
        sy[nx].id = -1;
        if (sy[nx].next >= 0) sy[sy[nx].next].prev = top.pos;
        if (sy[top.pos].prev >= 0) {
            m = uniql__tk_merge_find(t, sy[sy[top.pos].prev].id, sy[top.pos].id);
            if (m) uniql__tk_hpush(E, m->rank, sy[top.pos].prev, m->id);
        }
        if (sy[top.pos].next >= 0) {
            m = uniql__tk_merge_find(t, sy[top.pos].id, sy[sy[top.pos].next].id);
            if (m) uniql__tk_hpush(E, m->rank, top.pos, m->id);
        }
    }
    for (k = 0; k < nsym; k++) if (sy[k].id >= 0) uniql__tkb_int(&E->ids, sy[k].id);
    if (ce && !E->ids.oom) {
        ce->h = hw;
        ce->key = E->ckeys.n;
        ce->len = n;
        ce->ids = E->cids.n;
        ce->n = (E->ids.n - ids0) / sizeof(int);
        uniql__tkb_put(&E->ckeys, w, n);
        uniql__tkb_put(&E->cids, E->ids.p + ids0, E->ids.n - ids0);
        if (E->ckeys.oom || E->cids.oom) ce->h = 0;   /* a failed copy is just not cached */
        else E->cused++;
    }
}

/* one pre-tokenizer over every text span: (E->a, E->sa) -> (E->b, E->sb), then swapped */
static int uniql__tk_pre_step(uniql__tke *E, const uniql__tk_step *st)
{
    const uniql__tk_span *sp = (const uniql__tk_span *)E->sa.p;
    size_t i, ns = E->sa.n / sizeof *sp;
    E->b.n = 0;
    E->sb.n = 0;
    for (i = 0; i < ns; i++) {
        const unsigned char *s = E->a.p + sp[i].off;
        size_t n = sp[i].len, base = E->b.n, j;
        int len, ok = 1;
        if (sp[i].id >= 0) { uniql__tk_span_add(&E->sb, 0, 0, sp[i].id, 0); continue; }
        switch (st->kind) {
        case UNIQL__TP_SPLIT:
            uniql__tkb_put(&E->b, s, n);
            ok = uniql__tk_split(E, st, UNIQL__CP_NONE, st->a, st->b, E->a.p + sp[i].off, n, base, sp[i].first, &E->sb);
            break;
        case UNIQL__TP_DIGITS:
            uniql__tkb_put(&E->b, s, n);
            ok = uniql__tk_split(E, st, UNIQL__CP_NUMERIC, st->a ? UNIQL__SB_ISOLATED : UNIQL__SB_CONTIG, 0, s, n, base, sp[i].first, &E->sb);
            break;
        case UNIQL__TP_WSSPLIT:
            uniql__tkb_put(&E->b, s, n);
            ok = uniql__tk_split(E, st, UNIQL__CP_SPACE, UNIQL__SB_REMOVED, 0, s, n, base, sp[i].first, &E->sb);
            break;
        case UNIQL__TP_PUNCT:
            uniql__tkb_put(&E->b, s, n);
            ok = uniql__tk_split(E, st, UNIQL__CP_PUNCT, st->a, 0, s, n, base, sp[i].first, &E->sb);
            break;
        case UNIQL__TP_WHITESPACE:
            uniql__tkb_put(&E->b, s, n);
            ok = uniql__tk_split(E, st, UNIQL__CP_NONE, UNIQL__SB_REMOVED, 1, s, n, base, sp[i].first, &E->sb);
            break;
        case UNIQL__TP_BYTELEVEL: {
            /* prefix space, GPT-2 regex split, then every byte as its byte-level character */
            size_t k0 = E->sb.n / sizeof(uniql__tk_span), k, pre = st->a && !(n && s[0] == ' ');
            uniql__tk_span *nsp;
            E->tmp.n = 0;   /* the (prefixed) split text, then split into E->sb relative to 0 */
            if (pre) uniql__tkb_put(&E->tmp, " ", 1);
            uniql__tkb_put(&E->tmp, s, n);
            if (E->tmp.oom) { ok = 0; break; }
            {
                uniql__tkb whole = E->tmp;     /* keep the text: tk_split reuses E->tmp */
                memset(&E->tmp, 0, sizeof E->tmp);
                E->tmp.user = whole.user;
                if (st->b) ok = uniql__tk_split(E, st, UNIQL__CP_NONE, UNIQL__SB_ISOLATED, 0, whole.p, whole.n, 0, sp[i].first, &E->sb);
                else if (whole.n) uniql__tk_span_add(&E->sb, 0, whole.n, -1, sp[i].first);
                nsp = (uniql__tk_span *)E->sb.p;
                for (k = k0; ok && !E->sb.oom && k < E->sb.n / sizeof(uniql__tk_span); k++) {
                    size_t off = nsp[k].off, nb0 = E->b.n;
                    for (j = 0; j < nsp[k].len; j++) {
                        unsigned by = whole.p[off + j];
                        uniql__tkb_put(&E->b, E->t->bl_enc[by], E->t->bl_len[by]);
                    }
                    nsp = (uniql__tk_span *)E->sb.p;
                    nsp[k].off = nb0;
                    nsp[k].len = E->b.n - nb0;
                }
                uniql__tkb_free(&E->tmp);
                E->tmp = whole;
            }
            break;
        }
        case UNIQL__TP_METASPACE: {
            unsigned char rep[4];
            int rl = uniql__u8enc(st->ch, rep);
            int starts = n >= (size_t)rl && !memcmp(s, rep, (size_t)rl);
            size_t b0 = E->b.n;
            if (!starts && n && (st->a == 0 || (st->a == 1 && sp[i].first)) && !(n && s[0] == ' ')) uniql__tkb_put(&E->b, rep, (size_t)rl);
            for (j = 0; j < n; j += (size_t)len) {
                uniql__u8dec(s + j, &len);
                if (s[j] == ' ') uniql__tkb_put(&E->b, rep, (size_t)rl);
                else uniql__tkb_put(&E->b, s + j, (size_t)len);
            }
            if (E->b.oom) { ok = 0; break; }
            if (st->b) ok = uniql__tk_split(E, st, UNIQL__CP_CHAR, UNIQL__SB_NEXT, 0, E->b.p + b0, E->b.n - b0, b0, sp[i].first, &E->sb);
            else if (E->b.n > b0) uniql__tk_span_add(&E->sb, b0, E->b.n - b0, -1, sp[i].first);
            break;
        }
        }
        if (!ok) return 0;
    }
    {
        uniql__tkb x = E->a; E->a = E->b; E->b = x;
        x = E->sa; E->sa = E->sb; E->sb = x;
    }
    return 1;
}

static void uniql__tke_free(uniql__tke *E)
{
    uniql__tkb_free(&E->a); uniql__tkb_free(&E->b); uniql__tkb_free(&E->sa); uniql__tkb_free(&E->sb);
    uniql__tkb_free(&E->ids); uniql__tkb_free(&E->sym); uniql__tkb_free(&E->heap); uniql__tkb_free(&E->tmp);
    uniql__tkb_free(&E->tmp2); uniql__tkb_free(&E->rx.stack);
    uniql__tkb_free(&E->ctab); uniql__tkb_free(&E->ckeys); uniql__tkb_free(&E->cids);
}

static int uniql__tke_oom(const uniql__tke *E)
{
    return E->a.oom || E->b.oom || E->sa.oom || E->sb.oom || E->ids.oom || E->sym.oom || E->heap.oom || E->tmp.oom ||
           E->tmp2.oom || E->rx.stack.oom;
}

UNIQLDEF uniql_result uniql_tokenizer_encode_ex(const uniql_tokenizer *t, const char *text, size_t len, unsigned flags,
                                                int **ids, size_t *n_ids, uniql_tokenizer_stats *stats, uniql_error *err)
{
    uniql__tke E;
    const unsigned char *s = (const unsigned char *)text;
    size_t bad, i, ns;
    uniql__tkb raw;
    uniql_result r = UNIQL_OK;
    int k;
    if (ids) *ids = NULL;
    if (n_ids) *n_ids = 0;
    if (!t || !ids || !n_ids || (!text && len) || (flags & ~UNIQL_TOK_ADD_SPECIAL))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "tokenizer_encode: bad argument");
    if (len > 0x7FFFFFFF) return uniql__fail(err, UNIQL_ERR_OVERFLOW, "tokenizer_encode: text longer than 2^31 - 1 bytes");
    bad = uniql__u8check(s, len);
    if (bad != len) return uniql__fail(err, UNIQL_ERR_PARSE, "tokenizer_encode: invalid UTF-8 at byte %lu", (unsigned long)bad);
    if (stats) memset(stats, 0, sizeof *stats);
    memset(&E, 0, sizeof E);
    E.t = t;
    E.st = stats;
    E.rx.bmp = t->bmp;
    E.a.user = E.b.user = E.sa.user = E.sb.user = E.ids.user = E.sym.user = E.heap.user = E.tmp.user = E.tmp2.user =
        E.rx.stack.user = E.ctab.user = E.ckeys.user = E.cids.user = t->alloc_user;
    memset(&raw, 0, sizeof raw);
    raw.user = t->alloc_user;
    uniql__tkb_reserve(&E.a, 1);   /* never a NULL base pointer (offsets are added to them) */
    uniql__tkb_reserve(&E.b, 1);
    /* 1. raw added tokens */
    if (t->n_trie) uniql__tk_cut_added(t, t->trie, t->root, s, len, 0, 1, &raw);
    else uniql__tk_span_add(&raw, 0, len, -1, 1);
    /* 2. normalize the text pieces (into E.a), cut normalized added tokens */
    ns = raw.n / sizeof(uniql__tk_span);
    for (i = 0; i < ns && !raw.oom && r == UNIQL_OK; i++) {
        const uniql__tk_span *p = (const uniql__tk_span *)raw.p + i;
        size_t b0 = E.a.n, steps = 0;
        if (p->id >= 0) { uniql__tk_span_add(&E.sa, 0, 0, p->id, 0); continue; }
        r = uniql__tk_normalize_piece(t, s + p->off, p->len, &E.a, &steps);
        if (stats) stats->regex_steps += steps;
        if (r != UNIQL_OK) break;
        if (E.a.n == b0) continue;
        if (t->n_ntrie) uniql__tk_cut_added(t, t->ntrie, t->nroot, E.a.p + b0, E.a.n - b0, b0, p->first, &E.sa);
        else uniql__tk_span_add(&E.sa, b0, E.a.n - b0, -1, p->first);
    }
    if (raw.oom) r = UNIQL_ERR_OUT_OF_MEMORY;
    uniql__tkb_free(&raw);
    /* 3. pre-tokenizers */
    for (k = 0; k < t->n_pre && r == UNIQL_OK; k++)
        if (!uniql__tk_pre_step(&E, &t->pre[k])) r = E.rx.over && !E.rx.stack.oom ? UNIQL_ERR_RANGE : UNIQL_ERR_OUT_OF_MEMORY;
    if (r == UNIQL_OK && uniql__tke_oom(&E)) r = UNIQL_ERR_OUT_OF_MEMORY;
    /* 4. model; 5. post-processor */
    if (r == UNIQL_OK) {
        const uniql__tk_span *sp = (const uniql__tk_span *)E.sa.p;
        size_t n = E.sa.n / sizeof *sp, j;
        int *pp = t->post, np = (flags & UNIQL_TOK_ADD_SPECIAL) ? t->n_post : 0, q;
        for (q = 0; q < np && pp[q] >= 0; q++) uniql__tkb_int(&E.ids, pp[q]);
        for (j = 0; j < n && !uniql__tke_oom(&E); j++) {
            if (sp[j].id >= 0) uniql__tkb_int(&E.ids, sp[j].id);
            else if (sp[j].len) uniql__tk_bpe(&E, E.a.p + sp[j].off, sp[j].len);
        }
        for (q++; q < np; q++) uniql__tkb_int(&E.ids, pp[q]);
        uniql__tkb_int(&E.ids, 0);   /* at least one element allocated */
        if (uniql__tke_oom(&E)) r = UNIQL_ERR_OUT_OF_MEMORY;
    }
    if (r != UNIQL_OK) {
        uniql__tke_free(&E);
        if (r == UNIQL_ERR_RANGE) return uniql__fail(err, r, "tokenizer_encode: regex backtracking budget exceeded");
        return uniql__fail(err, r, "tokenizer_encode: %s", r == UNIQL_ERR_OUT_OF_MEMORY ? "out of memory" : uniql_result_string(r));
    }
    *ids = (int *)E.ids.p;
    *n_ids = E.ids.n / sizeof(int) - 1;
    E.ids.p = NULL;
    uniql__tke_free(&E);
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_tokenizer_encode(const uniql_tokenizer *t, const char *text, size_t len, unsigned flags,
                                             int **ids, size_t *n_ids, uniql_error *err)
{
    return uniql_tokenizer_encode_ex(t, text, len, flags, ids, n_ids, NULL, err);
}

/* ---- decoding ---- */

/* Rust's String::from_utf8_lossy: one U+FFFD per maximal invalid subpart */
static void uniql__tk_lossy(const unsigned char *s, size_t n, uniql__tkb *out)
{
    size_t i = 0;
    while (i < n) {
        int sub, k = uniql__u8valid(s + i, n - i, &sub);
        if (k) { uniql__tkb_put(out, s + i, (size_t)k); i += (size_t)k; }
        else { uniql__tkb_put(out, "\xEF\xBF\xBD", 3); i += (size_t)sub; }
    }
}

/* decoders over a token list (text buffer + spans), result joined into out. at_start = 0:
   the ids continue a sequence (a streaming window), so what the decoders do only at the
   start of the text (Strip's start after Fuse, Metaspace's first token) is not done. */
static uniql_result uniql__tk_decode_all(const uniql_tokenizer *t, const int *ids, size_t n, unsigned flags, int at_start,
                                         uniql__tkb *out)
{
    uniql__tkb a, b, sa, sb;
    size_t i;
    int k, fused = 0;
    uniql_result r = UNIQL_OK;
    memset(&a, 0, sizeof a); memset(&b, 0, sizeof b); memset(&sa, 0, sizeof sa); memset(&sb, 0, sizeof sb);
    a.user = b.user = sa.user = sb.user = t->alloc_user;
    uniql__tkb_reserve(&a, 1);   /* never a NULL base pointer, even when every token is empty */
    uniql__tkb_reserve(&b, 1);
    for (i = 0; i < n; i++) {
        int id = ids[i];
        if (id < 0 || id >= t->n_vocab || t->tok_off[id] == (size_t)-1) continue;
        if ((flags & UNIQL_TOK_SKIP_SPECIAL) && (t->special[id] & 1)) continue;
        uniql__tk_span_add(&sa, a.n, (size_t)t->tok_len[id], id, 0);
        uniql__tkb_put(&a, t->pool + t->tok_off[id], (size_t)t->tok_len[id]);
    }
    if (!t->has_decoder) {   /* Rust joins with spaces */
        const uniql__tk_span *sp = (const uniql__tk_span *)sa.p;
        for (i = 0; i < sa.n / sizeof *sp; i++) {
            if (i) uniql__tkb_put(out, " ", 1);
            uniql__tkb_put(out, a.p + sp[i].off, sp[i].len);
        }
        goto done;
    }
    for (k = 0; k < t->n_dec; k++) {
        const uniql__tk_step *st = &t->dec[k];
        const uniql__tk_span *sp = (const uniql__tk_span *)sa.p;
        size_t ns = sa.n / sizeof *sp, j, b0;
        int len;
        b.n = 0;
        sb.n = 0;
        switch (st->kind) {
        case UNIQL__TD_BYTELEVEL: {
            uniql__tkb bytes;
            memset(&bytes, 0, sizeof bytes);
            bytes.user = t->alloc_user;
            for (i = 0; i < ns; i++) {
                const unsigned char *s = a.p + sp[i].off;
                size_t m = sp[i].len, nb = bytes.n;
                int all = 1;
                for (j = 0; j < m; j += (size_t)len) {
                    int by = uniql__bl_byte(uniql__u8dec(s + j, &len));
                    unsigned char ub = (unsigned char)by;
                    if (by < 0) { all = 0; break; }
                    uniql__tkb_put(&bytes, &ub, 1);
                }
                if (!all) { bytes.n = nb; uniql__tkb_put(&bytes, s, m); }
            }
            uniql__tk_lossy(bytes.p, bytes.n, &b);
            if (bytes.oom) b.oom = 1;
            uniql__tkb_free(&bytes);
            uniql__tk_span_add(&sb, 0, b.n, -1, 0);
            fused = 1;
            break;
        }
        case UNIQL__TD_BYTEFALLBACK: {
            size_t run = 0, rb = 0;   /* pending byte tokens: count, and bytes kept in sb-free area */
            uniql__tkb bytes;
            memset(&bytes, 0, sizeof bytes);
            bytes.user = t->alloc_user;
            for (i = 0; i <= ns; i++) {
                int byte = -1;
                if (i < ns && sp[i].len == 6) {
                    const unsigned char *s = a.p + sp[i].off;
                    if (s[0] == '<' && s[1] == '0' && s[2] == 'x' && s[5] == '>') {
                        int h1 = -1, h2 = -1;
                        unsigned c1 = s[3], c2 = s[4];
                        h2 = (c2 >= '0' && c2 <= '9') ? (int)(c2 - '0') : (c2 >= 'a' && c2 <= 'f') ? (int)(c2 - 'a' + 10) :
                             (c2 >= 'A' && c2 <= 'F') ? (int)(c2 - 'A' + 10) : -1;
                        h1 = (c1 >= '0' && c1 <= '9') ? (int)(c1 - '0') : (c1 >= 'a' && c1 <= 'f') ? (int)(c1 - 'a' + 10) :
                             (c1 >= 'A' && c1 <= 'F') ? (int)(c1 - 'A' + 10) : c1 == '+' ? 0 : -1;   /* u8::from_str_radix takes "+F" */
                        if (h1 >= 0 && h2 >= 0) byte = h1 * 16 + h2;
                    }
                }
                if (byte >= 0) { unsigned char by = (unsigned char)byte; uniql__tkb_put(&bytes, &by, 1); run++; continue; }
                if (run) {
                    if (uniql__u8check(bytes.p, bytes.n) == bytes.n) {
                        b0 = b.n;
                        uniql__tkb_put(&b, bytes.p, bytes.n);
                        uniql__tk_span_add(&sb, b0, bytes.n, -1, 0);
                    } else
                        for (j = 0; j < run; j++) { b0 = b.n; uniql__tkb_put(&b, "\xEF\xBF\xBD", 3); uniql__tk_span_add(&sb, b0, 3, -1, 0); }
                    run = 0;
                    bytes.n = 0;
                }
                if (i < ns) { b0 = b.n; uniql__tkb_put(&b, a.p + sp[i].off, sp[i].len); uniql__tk_span_add(&sb, b0, sp[i].len, -1, 0); }
            }
            (void)rb;
            if (bytes.oom) b.oom = 1;
            uniql__tkb_free(&bytes);
            break;
        }
        case UNIQL__TD_FUSE:
            for (i = 0; i < ns; i++) uniql__tkb_put(&b, a.p + sp[i].off, sp[i].len);
            uniql__tk_span_add(&sb, 0, b.n, -1, 0);
            fused = 1;
            break;
        case UNIQL__TD_REPLACE:
            for (i = 0; i < ns; i++) {
                const unsigned char *s = a.p + sp[i].off;
                size_t m = sp[i].len;
                b0 = b.n;
                j = 0;
                while (j < m) {
                    if (j + st->n1 <= m && !memcmp(s + j, st->s1, st->n1)) { uniql__tkb_put(&b, st->s2, st->n2); j += st->n1; }
                    else { uniql__tkb_put(&b, s + j, 1); j++; }
                }
                uniql__tk_span_add(&sb, b0, b.n - b0, -1, 0);
            }
            break;
        case UNIQL__TD_STRIP:
            for (i = 0; i < ns; i++) {
                const unsigned char *s = a.p + sp[i].off;
                size_t m = sp[i].len, bgn = 0, end = m;
                int c;
                for (c = 0; c < st->a && bgn < end && (at_start || !fused); c++) {
                    if (uniql__u8dec(s + bgn, &len) != st->ch) break;
                    bgn += (size_t)len;
                }
                for (c = 0; c < st->b && end > bgn; c++) {
                    size_t q = end - 1;
                    while (q > bgn && (s[q] & 0xC0) == 0x80) q--;
                    if (uniql__u8dec(s + q, &len) != st->ch) break;
                    end = q;
                }
                b0 = b.n;
                uniql__tkb_put(&b, s + bgn, end - bgn);
                uniql__tk_span_add(&sb, b0, end - bgn, -1, 0);
            }
            break;
        case UNIQL__TD_METASPACE:
            for (i = 0; i < ns; i++) {
                const unsigned char *s = a.p + sp[i].off;
                b0 = b.n;
                for (j = 0; j < sp[i].len; j += (size_t)len) {
                    uint32_t c = uniql__u8dec(s + j, &len);
                    if (c != st->ch) uniql__tkb_put(&b, s + j, (size_t)len);
                    else if (!(i == 0 && at_start && st->a != 2)) uniql__tkb_put(&b, " ", 1);
                }
                uniql__tk_span_add(&sb, b0, b.n - b0, -1, 0);
            }
            break;
        }
        {
            uniql__tkb x = a; a = b; b = x;
            x = sa; sa = sb; sb = x;
        }
        if (a.oom || sa.oom) break;
    }
    {
        const uniql__tk_span *sp = (const uniql__tk_span *)sa.p;
        for (i = 0; i < sa.n / sizeof *sp; i++) uniql__tkb_put(out, a.p + sp[i].off, sp[i].len);
    }
done:
    if (a.oom || b.oom || sa.oom || sb.oom || out->oom) r = UNIQL_ERR_OUT_OF_MEMORY;
    uniql__tkb_free(&a); uniql__tkb_free(&b); uniql__tkb_free(&sa); uniql__tkb_free(&sb);
    return r;
}

UNIQLDEF uniql_result uniql_tokenizer_decode(const uniql_tokenizer *t, const int *ids, size_t n_ids, unsigned flags,
                                             char **text, size_t *len, uniql_error *err)
{
    uniql__tkb out;
    uniql_result r;
    if (text) *text = NULL;
    if (len) *len = 0;
    if (!t || !text || !len || (!ids && n_ids) || (flags & ~UNIQL_TOK_SKIP_SPECIAL))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "tokenizer_decode: bad argument");
    memset(&out, 0, sizeof out);
    out.user = t->alloc_user;
    r = uniql__tk_decode_all(t, ids, n_ids, flags, 1, &out);
    uniql__tkb_put(&out, "", 1);
    if (r != UNIQL_OK || out.oom) { uniql__tkb_free(&out); return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "tokenizer_decode: out of memory"); }
    *text = (char *)out.p;
    *len = out.n - 1;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_tokenizer_decode_next(const uniql_tokenizer *t, uniql_decode_stream *s, const int *ids,
                                                  size_t n_ids, unsigned flags, int flush, char **text, size_t *len,
                                                  uniql_error *err)
{
    uniql__tkb A, B;
    uniql_result r;
    if (text) *text = NULL;
    if (len) *len = 0;
    if (!t || !s || !text || !len || (!ids && n_ids) || s->prefix > s->read || s->read > n_ids || (flags & ~UNIQL_TOK_SKIP_SPECIAL))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "tokenizer_decode_next: bad argument (ids must only grow)");
    memset(&A, 0, sizeof A);
    memset(&B, 0, sizeof B);
    A.user = B.user = t->alloc_user;
    r = uniql__tk_decode_all(t, ids + s->prefix, s->read - s->prefix, flags, s->prefix == 0, &A);
    if (r == UNIQL_OK) r = uniql__tk_decode_all(t, ids + s->prefix, n_ids - s->prefix, flags, s->prefix == 0, &B);
    if (r == UNIQL_OK) {
        int done = B.n > A.n && (B.n < 3 || memcmp(B.p + B.n - 3, "\xEF\xBF\xBD", 3) != 0);
        size_t common = 0;
        if (done || (flush && B.n > A.n)) {
            /* the window's text only grows; where a decoder rewrote the prefix, emit what
               follows the common part */
            while (common < A.n && common < B.n && A.p[common] == B.p[common]) common++;
            memmove(B.p, B.p + common, B.n - common);
            B.n -= common;
            s->prefix = s->read;
            s->read = n_ids;
        } else B.n = 0;
        if (flush) { s->prefix = s->read = n_ids; }
        uniql__tkb_put(&B, "", 1);
    }
    uniql__tkb_free(&A);
    if (r != UNIQL_OK || B.oom) { uniql__tkb_free(&B); return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "tokenizer_decode_next: out of memory"); }
    *text = (char *)B.p;
    *len = B.n - 1;
    return UNIQL_OK;
}

/* ---- loading entry points and lookups ---- */

UNIQLDEF uniql_result uniql_tokenizer_load(const char *json, size_t len, const char *config_json, size_t config_len,
                                           void *alloc_user, uniql_tokenizer **out, uniql_error *err)
{
    uniql_json_doc doc, cdoc;
    uniql__tkl L;
    uniql_result r;
    if (out) *out = NULL;
    if (!json || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "tokenizer_load: NULL argument");
    memset(&cdoc, 0, sizeof cdoc);
    r = uniql_json_parse(json, len, 0, alloc_user, &doc, err);
    if (r != UNIQL_OK) { uniql__err_prefix(err, "tokenizer.json: "); return r; }
    if (config_json) {
        r = uniql_json_parse(config_json, config_len, 0, alloc_user, &cdoc, err);
        if (r != UNIQL_OK) { uniql_json_free(&doc); uniql__err_prefix(err, "tokenizer_config.json: "); return r; }
    }
    memset(&L, 0, sizeof L);
    L.err = err;
    L.user = alloc_user;
    L.t = (uniql_tokenizer *)UNIQL_MALLOC(sizeof(uniql_tokenizer), alloc_user);
    if (!L.t) r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    else {
        memset(L.t, 0, sizeof *L.t);
        L.t->alloc_user = alloc_user;
        r = uniql__tk_build(&L, doc.root, config_json ? cdoc.root : NULL);
        uniql__tkb_free(&L.pool); uniql__tkb_free(&L.trie); uniql__tkb_free(&L.ntrie); uniql__tkb_free(&L.post);
        if (r != UNIQL_OK) { uniql_tokenizer_free(L.t); L.t = NULL; }
    }
    uniql_json_free(&doc);
    uniql_json_free(&cdoc);
    *out = L.t;
    return r;
}

UNIQLDEF uniql_result uniql_tokenizer_load_dir(const char *dir, void *alloc_user, uniql_tokenizer **out, uniql_error *err)
{
    char path[4096];
    void *tj = NULL, *cj = NULL;
    size_t tn = 0, cn = 0;
    uniql_result r;
    if (out) *out = NULL;
    if (!dir || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "tokenizer_load_dir: NULL argument");
    if ((size_t)snprintf(path, sizeof path, "%s/tokenizer.json", dir) >= sizeof path)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "tokenizer_load_dir: path too long");
    r = uniql_read_file(path, alloc_user, &tj, &tn, err);
    if (r != UNIQL_OK) return r;
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (uniql_read_file(path, alloc_user, &cj, &cn, NULL) != UNIQL_OK) cj = NULL;
    r = uniql_tokenizer_load((const char *)tj, tn, (const char *)cj, cn, alloc_user, out, err);
    uniql_free_buffer(tj, alloc_user);
    uniql_free_buffer(cj, alloc_user);
    return r;
}

UNIQLDEF void uniql_tokenizer_get_info(const uniql_tokenizer *t, uniql_tokenizer_info *info)
{
    if (!info) return;
    if (!t) { memset(info, 0, sizeof *info); info->bos_id = info->eos_id = info->add_bos = info->add_eos = -1; return; }
    *info = t->info;
}

UNIQLDEF int uniql_tokenizer_token_id(const uniql_tokenizer *t, const char *s, size_t len)
{
    int i;
    if (!t || (!s && len)) return -1;
    for (i = 0; i < t->n_added; i++) {
        int id = t->added_ids[i];
        if ((size_t)t->tok_len[id] == len && !memcmp(t->pool + t->tok_off[id], s, len)) return id;
    }
    return uniql__tk_vocab(t, s, len);
}

UNIQLDEF const char *uniql_tokenizer_token(const uniql_tokenizer *t, int id, size_t *len)
{
    if (len) *len = 0;
    if (!t || id < 0 || id >= t->n_vocab || t->tok_off[id] == (size_t)-1) return NULL;
    if (len) *len = (size_t)t->tok_len[id];
    return t->pool + t->tok_off[id];
}

UNIQLDEF int uniql_tokenizer_is_special(const uniql_tokenizer *t, int id)
{
    return t && id >= 0 && id < t->n_vocab && (t->special[id] & 1);
}

/* =====================================================================================
   IMPL 7. Runtimes (Llama/Qwen2 block, Mamba2 block, Nemotron-H hybrid, sampling)
   ===================================================================================== */

/* ---- block types: which parts a layer has ---- */

static int uniql__blk_attn(int t) { return t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_ATTENTION; }
static int uniql__blk_mlp(int t) { return t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_MLP || t == UNIQL_BLOCK_MAMBA_MLP; }
static int uniql__blk_mamba(int t) { return t == UNIQL_BLOCK_MAMBA || t == UNIQL_BLOCK_MAMBA_MLP; }
/* a second pre-norm (the MLP's) after the mixer */
static int uniql__blk_two_norms(int t) { return t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_MAMBA_MLP; }

/* the dims of a head RoPE rotates (rotary_dim 0 or out of range: all of them) */
static int uniql__rot_dim(const uniql_config *c)
{
    return c->rotary_dim > 0 && c->rotary_dim < c->head_dim ? c->rotary_dim : c->head_dim;
}

/* The HF-layout dims (a, b) of RoPE unit p (a rope_pairs entry, API 6): rotary pair
   (p, p + R/2) for p < R/2, else pass-through unit p - R/2 = dims R + 2 (p - R/2) and the
   next. This is the canonical place of each unit in an unsorted head; full rotary: HF's
   pair (p, p + head_dim/2). */
static void uniql__unit_dims(const uniql_config *c, int p, int *a, int *b)
{
    int R = uniql__rot_dim(c), nr = R / 2;
    if (p < nr) { *a = p; *b = p + nr; }
    else { *a = R + 2 * (p - nr); *b = *a + 1; }
}

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
    if (v && v->type == UNIQL_JSON_NUMBER) { *out = v->u.number; return 1; }
    if (v && v->type == UNIQL_JSON_OBJECT && v->len == 1) {
        const uniql_json *t = uniql_json_get(v, "__float__");
        if (t && t->type == UNIQL_JSON_STRING) {
            if (!strcmp(t->u.str, "Infinity")) { *out = (double)INFINITY; return 1; }
            if (!strcmp(t->u.str, "-Infinity")) { *out = -(double)INFINITY; return 1; }
            if (!strcmp(t->u.str, "NaN")) { *out = (double)NAN; return 1; }
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
    if (v->type != UNIQL_JSON_NUMBER || v->u.number != floor(v->u.number) || v->u.number < lo || v->u.number > hi)
        return uniql__fail(err, UNIQL_ERR_FORMAT, "config: '%s' must be an integer in [%d, %d]", key, lo, hi);
    *out = (int)v->u.number;
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
    return v && v->type == UNIQL_JSON_STRING ? v->u.str : def;
}

#define UNIQL__TRY(expr) do { uniql_result uniql__r_ = (expr); if (uniql__r_ != UNIQL_OK) return uniql__r_; } while (0)

/* RoPE keys as transformers 5.x standardizes them (modeling_rope_utils.py,
   convert_rope_params_to_dict / standardize_rope_params): rope_scaling (legacy) wins over
   rope_parameters; rope_theta from that dict, else top level, else 10000; rope_type from
   "rope_type", else "type", else "default"; llama3's original_max_position_embeddings
   from the top level (Phi-3 style), else the dict, else max_position_embeddings. */
static uniql_result uniql__cfg_rope(const uniql_json *root, uniql_config *c, int bamba, uniql_error *err)
{
    const uniql_json *rp = uniql_json_get(root, "rope_scaling");
    const uniql_json *v;
    const char *type = "default";
    double partial = 1.0, rotary;
    if (!rp || rp->type != UNIQL_JSON_OBJECT || rp->len == 0) rp = uniql_json_get(root, "rope_parameters");
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
        if (v && v->type == UNIQL_JSON_STRING) type = v->u.str;
        else if (v && v->type != UNIQL_JSON_NULL) return uniql__fail(err, UNIQL_ERR_FORMAT, "config: rope_type must be a string");
        UNIQL__TRY(uniql__cfg_real(rp, "partial_rotary_factor", NULL, 1.0, &partial, err));
    }
    if (bamba) {
        /* BambaConfig.__post_init__ sets kwargs["partial_rotary_factor"] = 0.5 whatever the
           top level says; a rope_parameters value would meet that in the RoPE validation,
           so only 0.5 (or none) is accepted there */
        if (rp && uniql_json_get(rp, "partial_rotary_factor") && partial != 0.5)
            return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: Bamba's partial_rotary_factor is fixed at 0.5 (rope_parameters has %g)",
                               partial);
        partial = 0.5;
    } else {
        if (partial == 1.0) UNIQL__TRY(uniql__cfg_real(root, "partial_rotary_factor", NULL, 1.0, &partial, err));
        if (partial != 1.0) return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: partial_rotary_factor %g is not supported", partial);
    }
    /* modeling_rope_utils: dim = int(head_dim * partial_rotary_factor) */
    rotary = floor((double)c->head_dim * partial);
    c->rotary_dim = (int)rotary;
    if (!(c->rope_theta > 1.0) || !(c->rope_theta <= 1e12))
        return uniql__fail(err, UNIQL_ERR_FORMAT, "config: rope_theta must be a number in (1, 1e12]");
    c->rope_factor = 1.0;
    c->rope_low_freq_factor = c->rope_high_freq_factor = 0.0;
    c->rope_original_max_pos = c->max_position_embeddings;
    if (!strcmp(type, "default")) {
        c->rope_type = UNIQL_ROPE_DEFAULT;
    } else if (!strcmp(type, "linear") || !strcmp(type, "llama3")) {
        if (!uniql_json_get(rp, "factor")) return uniql__fail(err, UNIQL_ERR_MISSING, "config: RoPE type %s needs 'factor'", type);
        UNIQL__TRY(uniql__cfg_real(rp, "factor", NULL, 1.0, &c->rope_factor, err));
        /* transformers' rope validation wants factor >= 1; a tiny one (1e-300) divides every
           frequency into Inf and each forward then fails */
        if (!(c->rope_factor >= 1.0) || !(c->rope_factor <= 1e6))
            return uniql__fail(err, UNIQL_ERR_FORMAT, "config: RoPE factor must be a number in [1, 1e6]");
        c->rope_type = UNIQL_ROPE_LINEAR;
        if (!strcmp(type, "llama3")) {
            c->rope_type = UNIQL_ROPE_LLAMA3;
            if (!uniql_json_get(rp, "low_freq_factor") || !uniql_json_get(rp, "high_freq_factor"))
                return uniql__fail(err, UNIQL_ERR_MISSING, "config: RoPE type llama3 needs low_freq_factor and high_freq_factor");
            UNIQL__TRY(uniql__cfg_real(rp, "low_freq_factor", NULL, 0, &c->rope_low_freq_factor, err));
            UNIQL__TRY(uniql__cfg_real(rp, "high_freq_factor", NULL, 0, &c->rope_high_freq_factor, err));
            if (!(c->rope_high_freq_factor > c->rope_low_freq_factor) || !(c->rope_low_freq_factor > 0.0) ||
                !(c->rope_high_freq_factor <= 1e6))
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
            int i;
            for (i = 0; (e = uniql_json_at(lt, i)) != NULL; i++)
                if (e->type != UNIQL_JSON_STRING || strcmp(e->u.str, "full_attention"))
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
    return uniql__cfg_rope(root, c, 0, err);
}

/* Mamba2 mixer keys. Nemotron-H spells some with a mamba_ prefix (legacy aliases win, as in
   NemotronHConfig.__post_init__) and sizes d_inner as mamba_num_heads * mamba_head_dim. */
static uniql_result uniql__cfg_ssm(const uniql_json *root, uniql_config *c, int nemo, uniql_error *err)
{
    const char *act = uniql__cfg_str(root, nemo ? "mamba_hidden_act" : "hidden_act", "silu");
    UNIQL__TRY(uniql__cfg_int(root, nemo ? "mamba_num_heads" : "num_heads", NULL, 128, 1, 1 << 14, &c->ssm_heads, err));
    UNIQL__TRY(uniql__cfg_int(root, nemo ? "mamba_head_dim" : "head_dim", NULL, 64, 1, 1 << 12, &c->ssm_head_dim, err));
    UNIQL__TRY(uniql__cfg_int(root, nemo ? "ssm_state_size" : "state_size", NULL, 128, 1, 1 << 10, &c->ssm_state, err));
    UNIQL__TRY(uniql__cfg_int(root, "n_groups", nemo ? "mamba_n_groups" : NULL, 8, 1, 1 << 14, &c->ssm_groups, err));
    UNIQL__TRY(uniql__cfg_int(root, "conv_kernel", nemo ? "mamba_d_conv" : NULL, 4, 1, 16, &c->conv_kernel, err));
    UNIQL__TRY(uniql__cfg_bool(root, "use_conv_bias", nemo ? "mamba_conv_bias" : NULL, 1, &c->conv_bias, err));
    UNIQL__TRY(uniql__cfg_bool(root, "use_bias", NULL, 0, &c->ssm_proj_bias, err));
    if (strcmp(act, "silu") != 0)
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: Mamba activation '%.40s' is not supported (silu)", act);
    if (c->ssm_heads % c->ssm_groups != 0)
        return uniql__fail(err, UNIQL_ERR_SHAPE, "config: %d Mamba heads do not split into %d groups", c->ssm_heads, c->ssm_groups);
    /* d_inner bounds the SSM state (d_inner x state floats per layer) and every in_proj
       product; real models have d_inner <= 2^15 */
    if ((long long)c->ssm_heads * c->ssm_head_dim > (1LL << 18))
        return uniql__fail(err, UNIQL_ERR_SHAPE, "config: Mamba d_inner %d x %d exceeds 2^18", c->ssm_heads, c->ssm_head_dim);
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
    if (lim && (lim->type != UNIQL_JSON_ARRAY || lim->len != 2 || !uniql__cfg_number(uniql_json_at(lim, 0), &lim0) ||
                !uniql__cfg_number(uniql_json_at(lim, 1), &lim1) || !(lim0 <= lim1)))
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
        if (lt->type != UNIQL_JSON_ARRAY || lt->len < 1 || lt->len > UNIQL_MAX_LAYERS)
            return uniql__fail(err, UNIQL_ERR_FORMAT, "config: layers_block_type must be a list of 1..%d strings", UNIQL_MAX_LAYERS);
        for (l = 0; (e = uniql_json_at(lt, l)) != NULL; l++) {
            if (e->type != UNIQL_JSON_STRING) return uniql__fail(err, UNIQL_ERR_FORMAT, "config: layers_block_type entries must be strings");
            UNIQL__TRY(uniql__cfg_block_name(e->u.str, e->len, &c->block[l], err));
        }
        c->n_layers = (int)lt->len;
    } else if (pat) {
        size_t k;
        if (pat->type != UNIQL_JSON_STRING || pat->len < 1 || pat->len > UNIQL_MAX_LAYERS)
            return uniql__fail(err, UNIQL_ERR_FORMAT, "config: hybrid_override_pattern must be a string of 1..%d layers", UNIQL_MAX_LAYERS);
        for (k = 0; k < pat->len; k++) UNIQL__TRY(uniql__cfg_block_name(pat->u.str + k, 1, &c->block[k], err));
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

/* BambaConfig (transformers 5.17, a @strict dataclass): attention at attn_layer_indices, an
   MLP in every layer (BambaDecoderLayer), the BambaMixer (a Mamba2 mixer whose gated RMSNorm
   covers all of d_inner), RoPE with partial_rotary_factor fixed at 0.5. */
static uniql_result uniql__cfg_bamba(const uniql_json *root, uniql_config *c, uniql_error *err)
{
    const char *act = uniql__cfg_str(root, "hidden_act", "silu");
    const uniql_json *ai = uniql__cfg_get(root, "attn_layer_indices", NULL), *kv = uniql_json_get(root, "num_key_value_heads");
    const uniql_json *dh = uniql__cfg_get(root, "mamba_d_head", NULL), *lim, *e;
    double eps, lim0 = 0.0, lim1 = (double)INFINITY;
    int l, expand, d_inner;
    UNIQL__TRY(uniql__cfg_int(root, "vocab_size", NULL, 128000, 1, 1 << 24, &c->vocab_size, err));
    UNIQL__TRY(uniql__cfg_int(root, "hidden_size", NULL, 4096, 1, 1 << 20, &c->hidden_size, err));
    UNIQL__TRY(uniql__cfg_int(root, "intermediate_size", NULL, 14336, 1, 1 << 24, &c->intermediate_size, err));
    UNIQL__TRY(uniql__cfg_int(root, "num_hidden_layers", NULL, 32, 1, UNIQL_MAX_LAYERS, &c->n_layers, err));
    UNIQL__TRY(uniql__cfg_int(root, "num_attention_heads", NULL, 32, 1, 1 << 12, &c->n_heads, err));
    /* absent: the class default 8; null: num_attention_heads (__post_init__) */
    UNIQL__TRY(uniql__cfg_int(root, "num_key_value_heads", NULL, kv && kv->type == UNIQL_JSON_NULL ? c->n_heads : 8, 1, 1 << 12,
                              &c->n_kv_heads, err));
    /* not a BambaConfig field: BambaAttention reads getattr(config, "head_dim", hidden // heads) */
    UNIQL__TRY(uniql__cfg_int(root, "head_dim", NULL, c->hidden_size / c->n_heads, 1, 1 << 12, &c->head_dim, err));
    if (c->head_dim < 1)
        return uniql__fail(err, UNIQL_ERR_SHAPE, "config: head_dim (default hidden_size %d / num_attention_heads %d) is 0",
                           c->hidden_size, c->n_heads);
    UNIQL__TRY(uniql__cfg_int(root, "max_position_embeddings", NULL, 262144, 1, INT32_MAX, &c->max_position_embeddings, err));
    UNIQL__TRY(uniql__cfg_real(root, "rms_norm_eps", NULL, 1e-5, &eps, err));
    UNIQL__TRY(uniql__cfg_bool(root, "tie_word_embeddings", NULL, 0, &c->tie_embeddings, err));
    UNIQL__TRY(uniql__cfg_bool(root, "attention_bias", NULL, 0, &c->qkv_bias, err));
    c->o_bias = c->qkv_bias;
    UNIQL__TRY(uniql__cfg_bool(root, "mlp_bias", NULL, 0, &c->mlp_bias, err));
    if (strcmp(act, "silu") != 0)
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: hidden_act '%.40s' is not supported (silu)", act);
    /* the mixer */
    UNIQL__TRY(uniql__cfg_int(root, "mamba_n_heads", NULL, 128, 1, 1 << 14, &c->ssm_heads, err));
    UNIQL__TRY(uniql__cfg_int(root, "mamba_n_groups", NULL, 1, 1, 1 << 14, &c->ssm_groups, err));
    UNIQL__TRY(uniql__cfg_int(root, "mamba_d_state", NULL, 256, 1, 1 << 12, &c->ssm_state, err));
    UNIQL__TRY(uniql__cfg_int(root, "mamba_d_conv", NULL, 4, 1, 64, &c->conv_kernel, err));
    UNIQL__TRY(uniql__cfg_int(root, "mamba_expand", NULL, 2, 1, 1 << 10, &expand, err));
    UNIQL__TRY(uniql__cfg_bool(root, "mamba_conv_bias", NULL, 1, &c->conv_bias, err));
    UNIQL__TRY(uniql__cfg_bool(root, "mamba_proj_bias", NULL, 0, &c->ssm_proj_bias, err));
    d_inner = expand * c->hidden_size;   /* <= 2^30 */
    if (dh && dh->type == UNIQL_JSON_STRING && !strcmp(dh->u.str, "auto")) c->ssm_head_dim = d_inner / c->ssm_heads;
    else UNIQL__TRY(uniql__cfg_int(root, "mamba_d_head", NULL, d_inner / c->ssm_heads, 1, 1 << 12, &c->ssm_head_dim, err));
    /* BambaConfig.validate_architecture */
    if (d_inner % c->ssm_heads != 0 || (long long)c->ssm_head_dim * c->ssm_heads != d_inner || c->ssm_head_dim < 1)
        return uniql__fail(err, UNIQL_ERR_SHAPE, "config: mamba_n_heads %d * mamba_d_head %d != mamba_expand * hidden_size (%d * %d)",
                           c->ssm_heads, c->ssm_head_dim, expand, c->hidden_size);
    if (c->ssm_heads % c->ssm_groups != 0)
        return uniql__fail(err, UNIQL_ERR_SHAPE, "config: %d Mamba heads do not split into %d groups", c->ssm_heads, c->ssm_groups);
    lim = uniql__cfg_get(root, "time_step_limit", NULL);
    if (lim && (lim->type != UNIQL_JSON_ARRAY || lim->len != 2 || !uniql__cfg_number(uniql_json_at(lim, 0), &lim0) ||
                !uniql__cfg_number(uniql_json_at(lim, 1), &lim1) || !(lim0 <= lim1)))
        return uniql__fail(err, UNIQL_ERR_FORMAT, "config: time_step_limit must be [low, high] with low <= high");
    c->dt_min = (float)lim0;
    c->dt_max = (float)lim1;
    c->gated_norm_groups = 1;   /* BambaRMSNormGated normalizes over all of d_inner */
    /* layers_block_type: "attention" if i in attn_layer_indices else "mamba" */
    for (l = 0; l < c->n_layers; l++) c->block[l] = UNIQL_BLOCK_MAMBA_MLP;
    if (ai && ai->type != UNIQL_JSON_ARRAY)
        return uniql__fail(err, UNIQL_ERR_FORMAT, "config: attn_layer_indices must be a list of layer indices");
    for (e = ai ? uniql__json_first(ai) : NULL; e; e = uniql__json_next(ai, e)) {
        if (e->type != UNIQL_JSON_NUMBER || e->u.number != floor(e->u.number) || e->u.number < 0 || e->u.number >= c->n_layers)
            return uniql__fail(err, UNIQL_ERR_FORMAT, "config: attn_layer_indices entries must be integers in [0, %d)", c->n_layers);
        c->block[(int)e->u.number] = UNIQL_BLOCK_DECODER;
    }
    c->norm_eps = (float)eps;
    c->mlp_act = UNIQL_MLP_SWIGLU;
    UNIQL__TRY(uniql__cfg_rope(root, c, 1, err));
    if (c->rope_type != UNIQL_ROPE_DEFAULT)
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: Bamba with a RoPE type other than default is not supported");
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
    if (len > UNIQL_CONFIG_MAX_BYTES)
        return uniql__fail(err, UNIQL_ERR_FORMAT, "config: %lu bytes, more than UNIQL_CONFIG_MAX_BYTES (%u)", (unsigned long)len,
                           (unsigned)UNIQL_CONFIG_MAX_BYTES);
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
    else if (!strcmp(mt, "bamba")) { c.arch = UNIQL_ARCH_BAMBA; r = uniql__cfg_bamba(doc.root, &c, err); }
    else r = uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "config: model_type '%.40s' is not supported (llama, qwen2, mamba2, nemotron_h, bamba)",
                         mt);
    uniql_json_free(&doc);
    if (r != UNIQL_OK) return r;
    /* sizes that must fit together */
    {
        int l, has_attn = 0, has_mamba = 0;
        for (l = 0; l < c.n_layers; l++) {
            has_attn |= uniql__blk_attn(c.block[l]);
            has_mamba |= uniql__blk_mamba(c.block[l]);
        }
        if (has_attn && c.n_heads % c.n_kv_heads != 0)
            return uniql__fail(err, UNIQL_ERR_SHAPE, "config: %d attention heads do not split into %d KV heads", c.n_heads, c.n_kv_heads);
        if (has_attn && c.rope_type != UNIQL_ROPE_NONE && c.head_dim % 2 != 0)
            return uniql__fail(err, UNIQL_ERR_SHAPE, "config: RoPE needs an even head_dim, got %d", c.head_dim);
        /* partial rotary: rotate_half inside the rotated dims, pass-through dims in units of two */
        if (has_attn && c.rope_type != UNIQL_ROPE_NONE && (c.rotary_dim < 2 || c.rotary_dim % 2 != 0 || (c.head_dim - c.rotary_dim) % 2 != 0))
            return uniql__fail(err, UNIQL_ERR_SHAPE, "config: partial RoPE rotates %d of %d head dims; both parts must be even and the rotated one > 0",
                               c.rotary_dim, c.head_dim);
        if (has_attn && (long long)c.n_heads * c.head_dim > (1LL << 18))
            return uniql__fail(err, UNIQL_ERR_SHAPE, "config: %d attention heads x head_dim %d exceed 2^18", c.n_heads, c.head_dim);
        if (has_attn && c.rope_type != UNIQL_ROPE_NONE) {
            /* the frequencies the runtime will use must be finite (each parameter is range
               checked above; this is the guarantee) */
            float inv[2048];
            int i;
            uniql_rope_inv_freq(&c, inv);
            for (i = 0; i < c.head_dim / 2; i++)
                if (!isfinite(inv[i]))
                    return uniql__fail(err, UNIQL_ERR_FORMAT, "config: RoPE frequency %d is not finite (theta %g, factor %g)", i,
                                       c.rope_theta, c.rope_factor);
        }
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
    int no_finite_check;       /* matrices: scan deferred to uniql_model_check_finite */
    int scanning_matrix;       /* the tensor being loaded is a weight matrix */
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
    if (!(L->no_finite_check && L->scanning_matrix)) {
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
    L->scanning_matrix = !L->weights_f32;   /* an fp32 conversion reads the bytes anyway */
    {
        uniql_result r = uniql__ld_tensor(L, 2, rows, cols, 0, &t);
        L->scanning_matrix = 0;
        if (r != UNIQL_OK) return r;
    }
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

/* a + b in buf (names of at most 63 characters here) */
static const char *uniql__cat(char *buf, size_t n, const char *a, const char *b)
{
    snprintf(buf, n, "%s%s", a, b);
    return buf;
}

/* in_proj rows are [z | x | B | C | dt] (Mamba2Mixer.forward splits gate, xBC, dt, then
   x, B, C); conv1d channels are [x | B | C]. `base`: "mixer." (Mamba2, Nemotron-H) or
   "mamba." (Bamba). */
static uniql_result uniql__ld_mamba(uniql__loader *L, int l, const char *base, uniql_mamba *mb)
{
    const uniql_config *c = L->c;
    int D = c->hidden_size, H = c->ssm_heads, Di = H * c->ssm_head_dim, GN = c->ssm_groups * c->ssm_state;
    int K = c->conv_kernel, conv_dim = Di + 2 * GN, proj = Di + conv_dim + H;
    uniql_matrix in;
    const uniql_tensor *t;
    char nm[64];
    mb->head_dim_kept = c->ssm_head_dim;
    mb->state_kept = c->ssm_state;
    UNIQL__TRY(uniql__ld_matrix(L, l, uniql__cat(nm, sizeof nm, base, "in_proj.weight"), proj, D, &in));
    UNIQL__TRY(uniql_matrix_slice(&in, 0, Di, D, &mb->in_z));
    UNIQL__TRY(uniql_matrix_slice(&in, Di, Di, D, &mb->in_x));
    UNIQL__TRY(uniql_matrix_slice(&in, 2 * Di, GN, D, &mb->in_B));
    UNIQL__TRY(uniql_matrix_slice(&in, 2 * Di + GN, GN, D, &mb->in_C));
    UNIQL__TRY(uniql_matrix_slice(&in, 2 * Di + 2 * GN, H, D, &mb->in_dt));
    if (c->ssm_proj_bias) {
        UNIQL__TRY(uniql__ld_name(L, l, uniql__cat(nm, sizeof nm, base, "in_proj.bias")));
        UNIQL__TRY(uniql__ld_tensor(L, 1, proj, 0, 0, &t));
        UNIQL__TRY(uniql__ld_f32(L, t, 0, (size_t)Di, &mb->bias_z));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)Di, (size_t)Di, &mb->bias_x));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)2 * Di, (size_t)GN, &mb->bias_B));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)2 * Di + GN, (size_t)GN, &mb->bias_C));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)2 * Di + 2 * GN, (size_t)H, &mb->bias_dt));
        UNIQL__TRY(uniql__ld_vector(L, l, uniql__cat(nm, sizeof nm, base, "out_proj.bias"), D, &mb->out_bias));
    }
    UNIQL__TRY(uniql__ld_name(L, l, uniql__cat(nm, sizeof nm, base, "conv1d.weight")));
    UNIQL__TRY(uniql__ld_tensor(L, 3, conv_dim, 1, K, &t));
    UNIQL__TRY(uniql__ld_f32(L, t, 0, (size_t)Di * K, &mb->conv_x));
    UNIQL__TRY(uniql__ld_f32(L, t, (size_t)Di * K, (size_t)GN * K, &mb->conv_B));
    UNIQL__TRY(uniql__ld_f32(L, t, (size_t)(Di + GN) * K, (size_t)GN * K, &mb->conv_C));
    if (c->conv_bias) {
        UNIQL__TRY(uniql__ld_name(L, l, uniql__cat(nm, sizeof nm, base, "conv1d.bias")));
        UNIQL__TRY(uniql__ld_tensor(L, 1, conv_dim, 0, 0, &t));
        UNIQL__TRY(uniql__ld_f32(L, t, 0, (size_t)Di, &mb->conv_bias_x));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)Di, (size_t)GN, &mb->conv_bias_B));
        UNIQL__TRY(uniql__ld_f32(L, t, (size_t)Di + GN, (size_t)GN, &mb->conv_bias_C));
    }
    UNIQL__TRY(uniql__ld_vector(L, l, uniql__cat(nm, sizeof nm, base, "A_log"), H, &mb->A_log));
    UNIQL__TRY(uniql__ld_vector(L, l, uniql__cat(nm, sizeof nm, base, "D"), H, &mb->D));
    UNIQL__TRY(uniql__ld_vector(L, l, uniql__cat(nm, sizeof nm, base, "dt_bias"), H, &mb->dt_bias));
    UNIQL__TRY(uniql__ld_vector(L, l, uniql__cat(nm, sizeof nm, base, "norm.weight"), Di, &mb->norm));
    UNIQL__TRY(uniql__ld_matrix(L, l, uniql__cat(nm, sizeof nm, base, "out_proj.weight"), D, Di, &mb->out));
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
    int model_prefix = c->arch == UNIQL_ARCH_LLAMA || c->arch == UNIQL_ARCH_QWEN2 || c->arch == UNIQL_ARCH_BAMBA;
    int bamba = c->arch == UNIQL_ARCH_BAMBA;
    int k, first = model_prefix ? 0 : 1, last = model_prefix ? 0 : 4;
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
        snprintf(full, sizeof full, "%s%s", L->prefix, bamba ? "final_layernorm.weight" : model_prefix ? "norm.weight" : "norm_f.weight");
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
        case UNIQL_BLOCK_DECODER:   /* Bamba: BambaDecoderLayer with self_attn and feed_forward */
            UNIQL__TRY(uniql__ld_vector(L, l, "input_layernorm.weight", D, &ly->norm));
            UNIQL__TRY(uniql__ld_vector(L, l, bamba ? "pre_ff_layernorm.weight" : "post_attention_layernorm.weight", D, &ly->mlp_norm));
            UNIQL__TRY(uniql__ld_attention(L, l, &ly->attn));
            UNIQL__TRY(uniql__ld_mlp(L, l, bamba ? "feed_forward." : "mlp.", &ly->mlp));
            break;
        case UNIQL_BLOCK_MAMBA:
            UNIQL__TRY(uniql__ld_vector(L, l, "norm.weight", D, &ly->norm));
            UNIQL__TRY(uniql__ld_mamba(L, l, "mixer.", &ly->mamba));
            break;
        case UNIQL_BLOCK_MAMBA_MLP:   /* Bamba: BambaDecoderLayer with mamba and feed_forward */
            UNIQL__TRY(uniql__ld_vector(L, l, "input_layernorm.weight", D, &ly->norm));
            UNIQL__TRY(uniql__ld_vector(L, l, "pre_ff_layernorm.weight", D, &ly->mlp_norm));
            UNIQL__TRY(uniql__ld_mamba(L, l, "mamba.", &ly->mamba));
            UNIQL__TRY(uniql__ld_mlp(L, l, "feed_forward.", &ly->mlp));
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

/* a name and the index of what it names, sorted by name for binary search: file names of
   the index (n log n, not names x files), tensor names across files (duplicates) */
typedef struct uniql__named {
    const char *name;
    int i;
} uniql__named;

static int uniql__named_cmp(const void *a, const void *b)
{
    return strcmp(((const uniql__named *)a)->name, ((const uniql__named *)b)->name);
}

static int uniql__named_find(const uniql__named *v, int n, const char *name)
{
    uniql__named key;
    const uniql__named *hit;
    key.name = name;
    key.i = -1;
    hit = n > 0 ? (const uniql__named *)bsearch(&key, v, (size_t)n, sizeof *v, uniql__named_cmp) : NULL;
    return hit ? hit->i : -1;
}

/* model.safetensors.index.json: {"metadata": ..., "weight_map": {tensor: file}} */
static uniql_result uniql__check_index(const char *index_json, size_t index_len, const uniql_file_view *files,
                                       const uniql_safetensors *st, int n_files, void *user, uniql_error *err)
{
    uniql_json_doc doc;
    const uniql_json *wm, *e, *key;
    uniql__named *byname;
    uniql_result r = UNIQL_OK;
    int i, nb = 0;
    UNIQL__TRY(uniql_json_parse(index_json, index_len, 0, user, &doc, err));
    byname = (uniql__named *)UNIQL_MALLOC(sizeof *byname * (size_t)n_files, user);
    if (!byname) { uniql_json_free(&doc); return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "index: out of memory"); }
    for (i = 0; i < n_files; i++)
        if (files[i].name) { byname[nb].name = files[i].name; byname[nb].i = i; nb++; }
    qsort(byname, (size_t)nb, sizeof *byname, uniql__named_cmp);
    wm = uniql_json_get(doc.root, "weight_map");
    if (!wm || wm->type != UNIQL_JSON_OBJECT) r = uniql__fail(err, UNIQL_ERR_FORMAT, "index: no weight_map object");
    for (i = 0; r == UNIQL_OK && (e = uniql_json_member(wm, i, &key)) != NULL; i++) {
        int f;
        if (e->type != UNIQL_JSON_STRING) { r = uniql__fail(err, UNIQL_ERR_FORMAT, "index: weight_map values must be file names"); break; }
        f = uniql__named_find(byname, nb, e->u.str);
        if (f < 0) r = uniql__fail(err, UNIQL_ERR_MISSING, "index: tensor '%.100s' is in file '%.100s', which was not provided", key->u.str, e->u.str);
        else if (!uniql_safetensors_find(&st[f], key->u.str))
            r = uniql__fail(err, UNIQL_ERR_MISSING, "index: tensor '%.100s' is not in '%.100s' as the index says", key->u.str, e->u.str);
    }
    UNIQL_FREE(byname, user);
    uniql_json_free(&doc);
    return r;
}

/* one name, one tensor: the same name in two files is ambiguous (sorted: n log n) */
static uniql_result uniql__check_unique_names(const uniql_safetensors *st, int n_files, void *user, uniql_error *err)
{
    uniql__named *all;
    size_t n = 0, k;
    int f, t;
    uniql_result r = UNIQL_OK;
    for (f = 0; f < n_files; f++) n += (size_t)st[f].n_tensors;
    if (n < 2 || n_files < 2) return UNIQL_OK;   /* one file: its parser already refused duplicates */
    if (n > ((size_t)-1) / sizeof *all) return uniql__fail(err, UNIQL_ERR_OVERFLOW, "too many tensors");
    all = (uniql__named *)UNIQL_MALLOC(sizeof *all * n, user);
    if (!all) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory");
    for (f = 0, k = 0; f < n_files; f++)
        for (t = 0; t < st[f].n_tensors; t++) { all[k].name = st[f].tensors[t].name; all[k].i = f; k++; }
    qsort(all, n, sizeof *all, uniql__named_cmp);
    for (k = 1; k < n && r == UNIQL_OK; k++)
        if (!strcmp(all[k - 1].name, all[k].name))
            r = uniql__fail(err, UNIQL_ERR_FORMAT, "tensor '%.100s' appears in two files", all[k].name);
    UNIQL_FREE(all, user);
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
    int f;
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
    if (r == UNIQL_OK) r = uniql__check_unique_names(st, n_files, o.alloc_user, err);
    if (r == UNIQL_OK && index_json) r = uniql__check_index(index_json, index_len, files, st, n_files, o.alloc_user, err);
    if (r == UNIQL_OK) {
        memset(&L, 0, sizeof L);
        L.st = st;
        L.files = files;
        L.n_files = n_files;
        L.c = &m->config;
        L.m = m;
        L.weights_f32 = o.weights_f32;
        L.no_finite_check = o.no_finite_check;
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

/* alloc callback of uniql__read_path: a block of the storage list *ctx */
typedef struct uniql__own_ctx {
    void **storage;
    void *user;
} uniql__own_ctx;

static void *uniql__alloc_own(void *ctx, size_t bytes)
{
    uniql__own_ctx *c = (uniql__own_ctx *)ctx;
    return uniql__own(c->storage, bytes, c->user);
}

/* dir/name read straight into a block of `storage` (one copy: the model keeps that block) */
static uniql_result uniql__read_owned(const char *dir, const char *name, uint64_t max_size, void **storage, void *user,
                                      uniql_file_view *fv, int *absent, uniql_error *err)
{
    char path[1024];
    void *data = NULL;
    uniql__own_ctx ctx;
    int k = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (absent) *absent = 0;
    if (k < 0 || (size_t)k >= sizeof path) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "path too long");
    ctx.storage = storage;
    ctx.user = user;
    UNIQL__TRY(uniql__read_path(path, max_size, uniql__alloc_own, &ctx, &data, &fv->size, absent, err));
    fv->data = data;
    return UNIQL_OK;
}

static int uniql__str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

UNIQLDEF uniql_result uniql_model_load_dir(const char *dir, const uniql_load_options *opt, uniql_model **out,
                                           uniql_error *err)
{
    void *storage = NULL, *user = opt ? opt->alloc_user : NULL;
    uniql_file_view cfg, idx, *files = NULL;
    uniql_json_doc doc;
    uniql_result r = UNIQL_OK;
    int n_files = 0, have_index, absent = 0, k;
    const char **names = NULL;
    memset(&doc, 0, sizeof doc);
    if (!dir || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "model_load_dir: NULL argument");
    *out = NULL;
    memset(&cfg, 0, sizeof cfg);
    memset(&idx, 0, sizeof idx);
    r = uniql__read_owned(dir, "config.json", UNIQL_CONFIG_MAX_BYTES, &storage, user, &cfg, NULL, err);
    /* no index file means one model.safetensors; an index that exists but cannot be read
       (a FIFO, too large, unreadable) is an error, not a silent fallback */
    if (r == UNIQL_OK) {
        r = uniql__read_owned(dir, "model.safetensors.index.json", UNIQL_INDEX_MAX_BYTES, &storage, user, &idx, &absent, err);
        if (r != UNIQL_OK && absent) r = UNIQL_OK;
    }
    have_index = r == UNIQL_OK && !absent;
    if (r == UNIQL_OK && have_index) {
        const uniql_json *wm, *e;
        r = uniql_json_parse((const char *)idx.data, idx.size, 0, user, &doc, err);
        wm = r == UNIQL_OK ? uniql_json_get(doc.root, "weight_map") : NULL;
        if (r == UNIQL_OK && (!wm || wm->type != UNIQL_JSON_OBJECT)) r = uniql__fail(err, UNIQL_ERR_FORMAT, "index: no weight_map object");
        if (r == UNIQL_OK) {
            names = (const char **)uniql__own(&storage, sizeof *names * ((size_t)wm->len + 1), user);
            if (!names) r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory");
        }
        for (k = 0; r == UNIQL_OK && (e = uniql_json_member(wm, k, NULL)) != NULL; k++) {
            if (e->type != UNIQL_JSON_STRING || strlen(e->u.str) != e->len || !uniql__safe_file_name(e->u.str)) {
                r = uniql__fail(err, UNIQL_ERR_FORMAT, "index: '%.100s' is not a plain file name", e->type == UNIQL_JSON_STRING ? e->u.str : "?");
                break;
            }
            names[n_files++] = e->u.str;
        }
        /* distinct file names: sort and drop repeats (n log n; a million entries is fast) */
        if (r == UNIQL_OK && n_files > 1) {
            int u = 1;
            qsort((void *)names, (size_t)n_files, sizeof *names, uniql__str_ptr_cmp);
            for (k = 1; k < n_files; k++)
                if (strcmp(names[k], names[u - 1])) names[u++] = names[k];
            n_files = u;
        }
    } else if (r == UNIQL_OK) {
        static const char *const single[1] = { "model.safetensors" };
        names = (const char **)single;
        n_files = 1;
    }
    if (r == UNIQL_OK && n_files == 0) r = uniql__fail(err, UNIQL_ERR_FORMAT, "index: empty weight_map");
    if (r == UNIQL_OK) {
        files = (uniql_file_view *)uniql__own(&storage, sizeof *files * (size_t)n_files, user);
        if (!files) r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (k = 0; r == UNIQL_OK && k < n_files; k++) {
        files[k].name = names[k];
        r = uniql__read_owned(dir, names[k], UINT64_MAX, &storage, user, &files[k], NULL, err);
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
        case UNIQL_BLOCK_MAMBA_MLP:
            UNIQL__CHECK(ly->mlp_norm != NULL, "layer %d: pre-MLP norm missing", l);
            UNIQL__TRY(uniql__check_mamba(c, l, &ly->mamba, err));
            UNIQL__TRY(uniql__check_mlp(c, l, &ly->mlp, err));
            break;
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
    int i, half, R;
    if (!c || !inv_freq || c->head_dim < 2) return UNIQL_ERR_INVALID_ARG;
    half = c->head_dim / 2;
    R = uniql__rot_dim(c);
    for (i = 0; i < half; i++) {
        float e = (float)(2 * i) / (float)R;
        if (2 * i >= R) { inv_freq[i] = 0.0f; continue; }   /* pass-through units: angle 0 */
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

UNIQLDEF int uniql_rope_unit_rotary(const uniql_config *c, int u)
{
    long long U, nr;
    if (!c || c->rope_type == UNIQL_ROPE_NONE || c->head_dim < 2 || u < 0 || u >= c->head_dim / 2) return 0;
    U = c->head_dim / 2;
    nr = uniql__rot_dim(c) / 2;
    /* rotary units among the first k: ceil(k nr / U); unit u is rotary iff it grows at u + 1 */
    return ((u + 1) * nr + U - 1) / U > (u * nr + U - 1) / U;
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

/* plans the state's one block; with bytes_only it reports the size instead of allocating */
static uniql_result uniql__state_build(const uniql_model *m, const uniql_state_options *opt, uniql_state **out,
                                       uint64_t *bytes_only)
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
    if (opt->kernel < UNIQL_KERNEL_AUTO || opt->kernel > UNIQL_KERNEL_VNNI) return UNIQL_ERR_INVALID_ARG;
    if (!uniql_kernel_available(opt->kernel)) return UNIQL_ERR_UNSUPPORTED;
    max_ctx = opt->max_ctx;
    max_batch = opt->max_batch;
    alloc_user = opt->alloc_user;
    kernel = opt->kernel | (opt->activations != UNIQL_ACT_F32 ? (int)UNIQL_KERNEL_I8ACT : 0);
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
        if (uniql__blk_mamba(ly->type)) {
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
        if (uniql__blk_mlp(ly->type))
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
    /* int8 activations of a chunk for the widest matrix input (uniql_matmul_work_bytes:
       at most 128 B per 64 inputs plus 32 B per 4096), 32-byte aligned */
    max_in = D > max_att ? D : max_att;
    if (max_i > max_in) max_in = max_i;
    if (max_hp > max_in) max_in = max_hp;
    xa_bytes = (kernel & UNIQL_KERNEL_I8ACT) ? (size_t)B * ((size_t)((max_in + 63) / 64) * 128 + (size_t)((max_in + 4095) / 4096) * 32) : 0;
    o_xa = uniql__plan_take(&pl, xa_bytes / sizeof(float) + 8, 1, 1);
    /* the state struct and four per-layer pointer tables come first */
    head = sizeof(uniql_state) + 4 * (size_t)L * sizeof(float *);
    head = (head + 15) & ~(size_t)15;
    if (!pl.ok || !uniql__mul_size(pl.floats, sizeof(float), &total) || !uniql__add_size(total, head, &total))
        return UNIQL_ERR_OVERFLOW;
    if (bytes_only) { *bytes_only = (uint64_t)total; return UNIQL_OK; }
    if (opt->max_bytes && (uint64_t)total > opt->max_bytes) return UNIQL_ERR_BUDGET;
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
            if (uniql__blk_mamba(ly->type)) { s->conv[l] = f + conv_off[l]; s->ssm[l] = f + ssm_off[l]; }
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
        s->xa += (32u - ((uintptr_t)s->xa & 31u)) & 31u;
    }
    if (c->rope_type != UNIQL_ROPE_NONE && c->head_dim >= 2) uniql_rope_inv_freq(c, s->inv_freq);
    *out = s;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_state_create_ex(const uniql_model *m, const uniql_state_options *opt, uniql_state **out)
{
    if (!out) return UNIQL_ERR_INVALID_ARG;
    *out = NULL;
    return uniql__state_build(m, opt, out, NULL);
}

UNIQLDEF uniql_result uniql_state_bytes(const uniql_model *m, const uniql_state_options *opt, uint64_t *bytes)
{
    uniql_state *unused = NULL;
    if (!bytes) return UNIQL_ERR_INVALID_ARG;
    *bytes = 0;
    return uniql__state_build(m, opt, &unused, bytes);
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
        /* HF layout (qd == head_dim): rotate_half over the first R dims, the rest pass */
        int R = uniql__rot_dim(c);
        for (t = 0; t < n; t++) {
            const float *cs = s->cos_t + (size_t)t * s->half, *sn = s->sin_t + (size_t)t * s->half;
            for (h = 0; h < H; h++) uniql_rope_apply(s->q + t * ldq + (size_t)h * qd, R, cs, sn);
            for (h = 0; h < KV; h++) uniql_rope_apply(s->k + t * ldk + (size_t)h * qd, R, cs, sn);
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

/* Layer l of m on the n residual-stream rows in s->x (in place), positions s->pos.. (cos/sin
   tables of the chunk already filled); s->pos is not advanced. */
static uniql_result uniql__layer_forward(const uniql_model *m, uniql_state *s, int l, int n, const uniql_observer *obs)
{
    const uniql_config *c = &m->config;
    int D = c->hidden_size;
    size_t cnt = (size_t)n * D;
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
    case UNIQL_BLOCK_MAMBA_MLP:
        uniql__observe(obs, l, UNIQL_SITE_MAMBA_IN, -1, s->xn, n, D, (size_t)D);
        UNIQL__TRY(uniql__mamba(m, s, l, &ly->mamba, n, obs));
        uniql__residual(s->x, s->out, cnt);
        uniql__rmsnorm(s->xn, s->x, ly->mlp_norm, n, D, c->norm_eps);
        uniql__observe(obs, l, UNIQL_SITE_MLP_IN, -1, s->xn, n, D, (size_t)D);
        UNIQL__TRY(uniql__mlp(m, s, l, &ly->mlp, n, obs));
        break;
    }
    uniql__residual(s->x, s->out, cnt);
    uniql__observe(obs, l, UNIQL_SITE_BLOCK_OUT, -1, s->x, n, D, (size_t)D);
    return UNIQL_OK;
}


/* The layers of m on the n hidden rows in s->x (the residual stream, in place), with the
   cos/sin tables of positions pos..pos+n-1 already in s: the token forward and the
   hidden-state forward (API 10) share it, so both do the same arithmetic. */
static uniql_result uniql__forward_layers(const uniql_model *m, uniql_state *s, int n, const uniql_observer *obs)
{
    int l;
    for (l = 0; l < m->config.n_layers; l++) UNIQL__TRY(uniql__layer_forward(m, s, l, n, obs));
    return UNIQL_OK;
}

static void uniql__forward_rope_tables(const uniql_model *m, uniql_state *s, int n)
{
    int t;
    if (m->config.rope_type != UNIQL_ROPE_NONE)
        for (t = 0; t < n; t++)
            uniql_rope_cos_sin(s->inv_freq, s->half, s->pos + t, s->cos_t + (size_t)t * s->half, s->sin_t + (size_t)t * s->half);
}

static uniql_result uniql__forward_chunk(const uniql_model *m, uniql_state *s, const int *tokens, int n, float *logits,
                                         int all_logits, const uniql_observer *obs)
{
    const uniql_config *c = &m->config;
    int D = c->hidden_size, V = c->vocab_size, t;
    size_t cnt = (size_t)n * D;
    for (t = 0; t < n; t++) UNIQL__TRY(uniql__matrix_row(&m->embed, tokens[t], s->x + (size_t)t * D, s->row));
    uniql__forward_rope_tables(m, s, n);
    UNIQL__TRY(uniql__forward_layers(m, s, n, obs));
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
    double *attn_sum;                /* sum over tokens of ATTN_IN (hidden): its mean, for the
                                        official pre-RoPE C_K with a k bias */
    long long attn_sum_n;
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
    int raw_dt;                  /* dtb_raw_dt: MAMBA_IN rows are kept in lens_work (free between
                                    a layer's BLOCK_IN and BLOCK_OUT lenses) for the raw dt */
    float *dtw;                  /* raw_dt: ssm_heads x D dt rows of in_proj */
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
    case UNIQL_SITE_ATTN_IN:
        if (cb->corr) r = uniql__acc_add(&L->attn_in, x, n, ld);
        if (cb->corr && L->attn_sum && r == UNIQL_OK) {
            for (t = 0; t < n; t++)
                for (i = 0; i < width && i < cx->D; i++) L->attn_sum[i] += (double)x[(size_t)t * ld + i];
            L->attn_sum_n += n;
        }
        break;
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
    case UNIQL_SITE_MAMBA_IN:
        if (cb->corr && cx->raw_dt)
            for (t = 0; t < n; t++) memcpy(cx->lens_work + (size_t)t * cx->D, x + (size_t)t * ld, sizeof(float) * (size_t)cx->D);
        break;
    case UNIQL_SITE_MAMBA_DT:
        if (cb->corr) {
            int h, H = c->ssm_heads, G = c->ssm_groups, N = L->n_b > 0 ? L->mb[0].d : 0, GN = G * N;
            if (cx->raw_dt)
                for (h = 0; h < L->n_b && r == UNIQL_OK; h++)
                    r = uniql_dequantize_row(&cx->m->layers[layer].mamba.in_dt, h, cx->dtw + (size_t)h * cx->D);
            for (h = 0; h < L->n_b && r == UNIQL_OK; h++) {
                const float *Bg = cx->bbuf + (size_t)(h / (H / G)) * N;
                for (t = 0; t < n; t++) {
                    float dt = x[(size_t)t * ld + h];
                    if (cx->raw_dt) {
                        const float *w = cx->dtw + (size_t)h * cx->D, *xn = cx->lens_work + (size_t)t * cx->D;
                        double a = 0;
                        for (i = 0; i < cx->D; i++) a += (double)w[i] * xn[i];
                        dt = (float)a;
                    }
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
            if (L->attn_sum) UNIQL_FREE(L->attn_sum, user);
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

/* uniql_calibrate (tokens) and uniql_calibrate_stream (io: hidden states), one body */
static uniql_result uniql__calibrate(const uniql_model *m, const int *tokens, uniql_calib_stream *io, size_t n_tokens,
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
    if (!m || (!tokens && (!io || !io->x)) || !out || n_tokens < 1)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "calibrate: NULL argument or no tokens");
    UNIQL__TRY(uniql_model_check(m, err));
    c = &m->config;
    if (io && io->ld < (size_t)c->hidden_size)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "calibrate: hidden-state rows of %lu floats < hidden size %d",
                           (unsigned long)io->ld, c->hidden_size);
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
    for (i = 0; tokens && i < n_tokens; i++)
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
            if (r == UNIQL_OK) {
                L->attn_sum = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)c->hidden_size, user);
                if (!L->attn_sum) r = UNIQL_ERR_OUT_OF_MEMORY;
                else memset(L->attn_sum, 0, sizeof(double) * (size_t)c->hidden_size);
            }
            L->q = uniql__acc_array(c->n_heads, ly->attn.qk_dim, user, &r);
            if (L->q) L->n_q = c->n_heads;
            L->k = uniql__acc_array(c->n_kv_heads, ly->attn.qk_dim, user, &r);
            if (L->k) L->n_k = c->n_kv_heads;
        }
        if (r == UNIQL_OK && uniql__blk_mlp(ly->type)) {
            r = uniql__acc_init(&L->mlp, ly->mlp.d_int, user);
            L->mlp.corr.parallel = o.parallel;
        }
        if (r == UNIQL_OK && uniql__blk_mamba(ly->type)) {
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
        cx.raw_dt = o.dtb_raw_dt && cb->corr && c->ssm_heads > 0;
        if (cx.raw_dt) fl += (size_t)c->ssm_heads * (size_t)c->hidden_size;
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
        if (cx.raw_dt) cx.dtw = (float *)(void *)(cx.tk_out + B * K);
    }
    {
        uniql_state_options so;
        uint64_t sb = 0;
        memset(&so, 0, sizeof so);
        /* the longest sequence it will see, not seq_len: --seq-len 2^31-1 on 8 k tokens
           needs a state for 8 k positions */
        so.max_ctx = (size_t)o.seq_len < n_tokens ? o.seq_len : (int)n_tokens;
        so.max_batch = o.max_batch;
        so.alloc_user = user;
        so.activations = UNIQL_ACT_F32;   /* statistics of the model as it is */
        so.parallel = o.parallel;
        so.max_bytes = o.max_state_bytes;
        r = uniql_state_create_ex(m, &so, &st);
        if (r != UNIQL_OK) {
            uniql_state_bytes(m, &so, &sb);
            uniql_calib_free(cb);
            UNIQL_FREE(scratch, user);
            return uniql__fail(err, r, "calibrate: runtime state for %d positions (%llu bytes%s): %s", so.max_ctx,
                               (unsigned long long)sb, r == UNIQL_ERR_BUDGET ? ", above max_state_bytes" : "",
                               uniql_result_string(r));
        }
    }
    obs.fn = uniql__cal_obs;
    obs.user = &cx;
    for (s0 = 0; s0 < n_tokens && r == UNIQL_OK; s0 += (size_t)o.seq_len) {
        int len = n_tokens - s0 < (size_t)o.seq_len ? (int)(n_tokens - s0) : o.seq_len, c0;
        uniql_state_reset(st);
        cx.tk_layer = -1;
        for (c0 = 0; c0 < len && r == UNIQL_OK; c0 += o.max_batch) {
            int nb = len - c0 < o.max_batch ? len - c0 : o.max_batch;
            size_t row0 = s0 + (size_t)c0, K = (size_t)o.lsaq_k;
            cx.last = c0 + nb == len ? nb - 1 : -1;
            cx.tk_layer = -1;
            if (!io) r = uniql_forward(m, st, tokens + row0, nb, NULL, 0, &obs);
            else {
                /* the sets of these rows from the previous view stand for its last lens */
                if (cb->lsaq && io->topk && io->topk_valid && o.layer_begin == 0) {
                    memcpy(cx.tk_in, io->topk + row0 * K, sizeof(int) * K * (size_t)nb);
                    cx.tk_layer = 0;
                }
                r = uniql_forward_hidden(m, st, io->x + row0 * io->ld, nb, io->ld, &obs);
                if (r == UNIQL_OK && cx.err == UNIQL_OK && cb->lsaq && io->topk && o.layer_end == c->n_layers)
                    memcpy(io->topk + row0 * K, cx.tk_in, sizeof(int) * K * (size_t)nb);
            }
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
    if (io && io->topk && cb->lsaq && o.layer_end == c->n_layers) io->topk_valid = 1;
    else if (io) io->topk_valid = 0;
    *out = cb;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_calibrate(const uniql_model *m, const int *tokens, size_t n_tokens,
                                      const uniql_calib_options *opt, uniql_calib **out, uniql_error *err)
{
    if (!tokens) {
        if (out) *out = NULL;
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "calibrate: NULL argument or no tokens");
    }
    return uniql__calibrate(m, tokens, NULL, n_tokens, opt, out, err);
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

/* |col_i(C^{1/2})| for i < d of the d x d matrix C (ld d; S: d x d scratch) */
static uniql_result uniql__colnorms_of(int d, const double *C, double *S, double floor_, double *out, void *user)
{
    int i, j;
    uniql_result r = uniql_sqrt_psd_f64(d, C, (size_t)d, floor_, S, (size_t)d, NULL, 0, user);
    if (r == UNIQL_OK)
        for (j = 0; j < d; j++) {
            double s = 0;
            for (i = 0; i < d; i++) s += S[(size_t)i * d + j] * S[(size_t)i * d + j];
            out[j] = sqrt(s);
        }
    return r;
}

/* Official Q/K scores: C_K of KV head g BEFORE RoPE = the per-token mean of k k^T with
   k = W_g x + b_g: W_g C W_g^T + (W_g m) b_g^T + b_g (W_g m)^T + b_g b_g^T (C, m: ATTN_IN's
   correlation and mean), then its column norms (C_K^{1/2}). Cx: D x D, T: hd x (D + hd + 1)
   scratch. */
static uniql_result uniql__colnorms_kpre(const uniql_calib *cb, int layer, const float *Wk, const float *kb, int g,
                                         int hd, int D, const double *Cx, double *T, double floor_, double *out,
                                         void *user)
{
    const uniql__cal_layer *L = &cb->layers[layer];
    double *Ck = T + (size_t)hd * D, *wm = Ck + (size_t)hd * hd, *S;
    int i, j, t;
    uniql_result r;
    for (i = 0; i < hd; i++) {      /* T = W_g C */
        const float *w = Wk + (size_t)(g * hd + i) * D;
        double *ti = T + (size_t)i * D;
        for (j = 0; j < D; j++) ti[j] = 0;
        for (t = 0; t < D; t++) {
            const double wt = (double)w[t], *ct = Cx + (size_t)t * D;
            if (wt != 0) for (j = 0; j < D; j++) ti[j] += wt * ct[j];
        }
    }
    for (i = 0; i < hd; i++)        /* Ck = T W_g^T (symmetric up to rounding: symmetrized) */
        for (j = 0; j < hd; j++) {
            const float *w = Wk + (size_t)(g * hd + j) * D;
            const double *ti = T + (size_t)i * D;
            double s = 0;
            for (t = 0; t < D; t++) s += ti[t] * (double)w[t];
            Ck[(size_t)i * hd + j] = s;
        }
    for (i = 0; i < hd; i++)
        for (j = i + 1; j < hd; j++) {
            double a = 0.5 * (Ck[(size_t)i * hd + j] + Ck[(size_t)j * hd + i]);
            Ck[(size_t)i * hd + j] = Ck[(size_t)j * hd + i] = a;
        }
    if (kb) {
        if (!L->attn_sum || L->attn_sum_n <= 0) return UNIQL_ERR_MISSING;
        for (i = 0; i < hd; i++) {
            const float *w = Wk + (size_t)(g * hd + i) * D;
            double s = 0;
            for (t = 0; t < D; t++) s += (double)w[t] * L->attn_sum[t];
            wm[i] = s / (double)L->attn_sum_n;
        }
        for (i = 0; i < hd; i++)
            for (j = 0; j < hd; j++) {
                double bi = (double)kb[g * hd + i], bj = (double)kb[g * hd + j];
                Ck[(size_t)i * hd + j] += wm[i] * bj + bi * wm[j] + bi * bj;
            }
    }
    S = T;                          /* T no longer needed: hd x hd <= hd x D */
    r = uniql__colnorms_of(hd, Ck, S, floor_, out, user);
    return r;
}

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
    int rope = c->rope_type != UNIQL_ROPE_NONE, R = uniql__rot_dim(c), nr = R / 2, g, h, j, i;
    int *kmap = NULL, *qmap = NULL, *vmap = NULL, *omap = NULL, *pairs = NULL, *perm = NULL, *pperm;
    double *sc = NULL, *qn = NULL, *kn = NULL, *Cx = NULL, *Tk = NULL;
    float *Wq, *Wk, *Wv, *Wo, *nq, *nk, *nv, *no;
    const int official = S->o.qk_score == UNIQL_QK_SCORE_OFFICIAL;
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
    kmap = (int *)uniql__own(&dst->storage, sizeof(int) * (size_t)(KV * hd + H * hd + 2 * KV * hd + H * hd + KV * half + 2 * hd), user);
    sc = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)(3 * hd + 1), user);
    if (!kmap || !sc) { r = UNIQL_ERR_OUT_OF_MEMORY; goto done; }
    qmap = kmap + KV * hd;
    vmap = qmap + H * hd;
    omap = vmap + KV * hd;
    pairs = omap + H * hd;
    perm = pairs + KV * half;
    pperm = perm + hd;
    qn = sc + hd;
    kn = qn + hd;
    if (official && S->use_scores) {   /* ATTN_IN correlation + scratch for the pre-RoPE C_K */
        if (uniql_calib_corr_dim(S->cb, l, UNIQL_STAT_ATTN_IN, 0) != D) { r = UNIQL_ERR_MISSING; goto done; }
        Cx = (double *)UNIQL_MALLOC(sizeof(double) * ((size_t)D * D + (size_t)hd * (D + hd + 1)), user);
        if (!Cx) { r = UNIQL_ERR_OUT_OF_MEMORY; goto done; }
        Tk = Cx + (size_t)D * D;
        if ((r = uniql_calib_corr(S->cb, l, UNIQL_STAT_ATTN_IN, 0, Cx, (size_t)D)) != UNIQL_OK) goto done;
    }
    /* Q/K: order of dims per KV group. With RoPE: perm = the nr rotary pairs (i, i + nr) by
       pair score s_i + s_{i+nr}, pperm = the hd - R pass-through dims by their own score
       (partial rotary); the stored units interleave the two (UNIQL_ROPE UNITS, API 6), a
       pass-through unit taking the next two pass-through dims. */
    for (g = 0; g < KV && r == UNIQL_OK; g++) {
        int n = rope ? nr : hd, u, kr = 0, kp = 0;
        if (S->use_scores) {
            for (i = 0; i < hd; i++) sc[i] = 0;
            if (official)
                r = uniql__colnorms_kpre(S->cb, l, Wk, a->k_bias, g, hd, D, Cx, Tk, S->o.eig_floor, kn, user);
            else
                r = uniql__colnorms(S->cb, l, UNIQL_STAT_K, g, S->o.eig_floor, kn, user);
            for (h = g * rep; h < (g + 1) * rep && r == UNIQL_OK; h++) {
                r = uniql__colnorms(S->cb, l, UNIQL_STAT_Q, h, S->o.eig_floor, qn, user);
                for (i = 0; i < hd && r == UNIQL_OK; i++) sc[i] += official ? (qn[i] * kn[i]) * (qn[i] * kn[i]) : qn[i] * kn[i];
            }
            if (r != UNIQL_OK) break;
            if (official) for (i = 0; i < hd; i++) sc[i] = sqrt(sc[i]);
            if (rope && R < hd) r = uniql_argsort_desc_f64(hd - R, sc + R, pperm, user);
            if (rope) for (i = 0; i < nr; i++) sc[i] = sc[i] + sc[i + nr];
            if (r == UNIQL_OK) r = uniql_argsort_desc_f64(n, sc, perm, user);
            if (r != UNIQL_OK) break;
        } else {
            uniql__iota(perm, n);
            uniql__shuffle(perm, n, &S->rng);
            if (rope && R < hd) {
                uniql__iota(pperm, hd - R);
                uniql__shuffle(pperm, hd - R, &S->rng);
            }
        }
        if (!rope)
            for (j = 0; j < hd; j++) kmap[g * hd + j] = g * hd + perm[j];
        for (u = 0; rope && u < half; u++) {
            if (uniql_rope_unit_rotary(c, u)) {
                pairs[g * half + u] = perm[kr];
                kmap[g * hd + 2 * u] = g * hd + perm[kr];
                kmap[g * hd + 2 * u + 1] = g * hd + perm[kr] + nr;
                kr++;
            } else {
                pairs[g * half + u] = nr + kp;
                kmap[g * hd + 2 * u] = g * hd + R + pperm[2 * kp];
                kmap[g * hd + 2 * u + 1] = g * hd + R + pperm[2 * kp + 1];
                kp++;
            }
        }
    }
    if (Cx) { UNIQL_FREE(Cx, user); Cx = NULL; }
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
    if (Cx) UNIQL_FREE(Cx, user);
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
    if (uniql__blk_mlp(ly->type))
        if (ly->mlp.d_int != c->intermediate_size) return 0;
    if (uniql__blk_mamba(ly->type))
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
        (int)S.o.vo_split > 1 || (int)S.o.qk_score < 0 || (int)S.o.qk_score > 1 || S.o.ridge_lambda < 0 ||
        S.o.eig_floor < 0 || !isfinite(S.o.ridge_lambda) || !isfinite(S.o.eig_floor))
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
    if (S.o.rng) S.rng = *S.o.rng;
    else uniql_rng_seed(&S.rng, S.o.seed);
    if (S.o.layers_only) {
        dst->embed = m->embed;
        dst->lm_head = m->lm_head;
        dst->final_norm = m->final_norm;
        r = UNIQL_OK;
    } else r = uniql__copy_globals(dst, m);
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
        if (r == UNIQL_OK && uniql__blk_mlp(src->type))
            r = uniql__sort_mlp(&S, l, &src->mlp, &ly->mlp);
        if (r == UNIQL_OK && uniql__blk_mamba(src->type)) r = uniql__sort_mamba(&S, l, &src->mamba, &ly->mamba);
        if (r != UNIQL_OK) {
            uniql_model_free(dst);
            return uniql__fail(err, r, "sort_model: layer %d: %s", l, uniql_result_string(r));
        }
    }
    if (r != UNIQL_OK) {
        uniql_model_free(dst);
        return uniql__fail(err, r, "sort_model: %s", uniql_result_string(r));
    }
    if (S.o.rng) *S.o.rng = S.rng;
    *out = dst;
    return UNIQL_OK;
}

/* ---- layer-wise rates (SPEC 1.3) ---- */

UNIQLDEF uniql_result uniql_layer_rates(int n_layers, const double *importance, const double *params,
                                        double global_rate, double eps, double max_rate, double *rates)
{
    double *lw, smin, sumP = 0, got = 0;
    unsigned char *clip;
    int l, it;
    if (n_layers < 1 || !importance || !rates) return UNIQL_ERR_INVALID_ARG;
    if (isnan(eps) || isnan(max_rate) || isnan(global_rate)) return UNIQL_ERR_NONFINITE;
    if (!(eps > 0)) eps = 0.1;
    if (!(max_rate > 0)) max_rate = 0.85;
    if (!(global_rate >= 0) || !(global_rate < max_rate) || max_rate > 1 || !isfinite(eps)) return UNIQL_ERR_INVALID_ARG;
    for (l = 0; l < n_layers; l++) {
        if (!isfinite(importance[l])) return UNIQL_ERR_NONFINITE;
        if (params && (!(params[l] >= 0) || !isfinite(params[l]))) return UNIQL_ERR_INVALID_ARG;
        sumP += params ? params[l] : 1.0;
    }
    if (!(sumP > 0) || !isfinite(sumP)) return UNIQL_ERR_INVALID_ARG;
    for (l = 0; l < n_layers; l++) rates[l] = 0;
    if (global_rate == 0) return UNIQL_OK;
    lw = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)n_layers + (size_t)n_layers, NULL);
    if (!lw) return UNIQL_ERR_OUT_OF_MEMORY;
    clip = (unsigned char *)(lw + n_layers);
    /* log of the softmax(-s / eps) weights up to a constant (it cancels in c): in the log
       domain a layer whose weight underflows (importance gap / eps > 745) still gets its
       share; the old linear form gave it 0 and missed the mean (0.2125 for 0.25) */
    smin = importance[0];
    for (l = 1; l < n_layers; l++) if (importance[l] < smin) smin = importance[l];
    for (l = 0; l < n_layers; l++) { lw[l] = -((importance[l] - smin) / eps); clip[l] = 0; }
    /* water filling: c with sum_l P_l min(max, c w_l) = global * sum P. Layers that would
       exceed max_rate sit there and c is solved again for the others (at most L rounds;
       the need left stays > 0: a clipped layer holds less than its c w_l) */
    for (it = 0; it <= n_layers; it++) {
        double need = global_rate * sumP, top = -(double)INFINITY, sum = 0;
        int changed = 0;
        for (l = 0; l < n_layers; l++) {
            double P = params ? params[l] : 1.0;
            if (clip[l]) need -= P * max_rate;
            else if (P > 0 && lw[l] > top) top = lw[l];
        }
        if (!(need > 0) || !isfinite(top)) break;   /* nothing left to give a rate: checked below */
        /* c w_l = need e_l / sum_j P_j e_j with e_l = exp(lw_l - top) <= 1: the same e_l
           in numerator and sum, so the mean is need up to the rounding of the sum, however
           far apart the exponents are (a shared log(c) added to lw_l = -1e9 lost 1e-7) */
        for (l = 0; l < n_layers; l++) {
            double P = params ? params[l] : 1.0;
            if (!clip[l] && P > 0) sum += P * exp(lw[l] - top);
        }
        for (l = 0; l < n_layers; l++) {
            if (clip[l]) { rates[l] = max_rate; continue; }
            rates[l] = need * (exp(lw[l] - top) / sum);
            if (!(rates[l] <= max_rate)) { clip[l] = 1; changed = 1; rates[l] = max_rate; }
        }
        if (!changed) break;
    }
    UNIQL_FREE(lw, NULL);
    /* the contract: the parameter-weighted mean is the target, or an error */
    for (l = 0; l < n_layers; l++) {
        if (!(rates[l] >= 0)) rates[l] = 0;
        if (rates[l] > max_rate) rates[l] = max_rate;
        got += (params ? params[l] : 1.0) * rates[l];
    }
    got /= sumP;
    if (!(fabs(got - global_rate) <= 1e-9 * global_rate)) return UNIQL_ERR_RANGE;
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
    if (uniql__blk_mlp(t))
        n += D * (uint64_t)k.d_int * (uint64_t)(c->mlp_act == UNIQL_MLP_SWIGLU ? 3 : 2);
    if (uniql__blk_mamba(t)) {
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
        if (!a->rope_pairs) {   /* rotate_half layout: gather the first np units (UNIQL_ROPE UNITS) */
            int nr = uniql__rot_dim(c) / 2, kr = 0, kp = 0;
            order = pairs + KV * np;
            for (j = 0; j < np; j++) {
                pairs[j] = uniql_rope_unit_rotary(c, j) ? kr++ : nr + kp++;
                uniql__unit_dims(c, pairs[j], &order[2 * j], &order[2 * j + 1]);
            }
            for (g = 1; g < KV; g++) memcpy(pairs + g * np, pairs, sizeof(int) * (size_t)np);
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
        if (uniql__blk_mlp(t) && (k->d_int < 1 || k->d_int > c->intermediate_size))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "prune: layer %d: d_int %d outside [1, %d]", l, k->d_int, c->intermediate_size);
        if (uniql__blk_mamba(t) && (k->head_dim < 1 || k->head_dim > c->ssm_head_dim || k->state < 1 || k->state > c->ssm_state))
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
        if (r == UNIQL_OK && uniql__blk_mlp(src->type))
            r = uniql__prune_mlp(&P, &src->mlp, &kept[l], &ly->mlp);
        if (r == UNIQL_OK && uniql__blk_mamba(src->type)) r = uniql__prune_mamba(&P, &src->mamba, &kept[l], &ly->mamba);
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


/* ---- quantization of a whole model (RTN, clip, GPTQ: API 7b) ---- */

/* Hessian sites: the input of each group of matrices */
enum { UNIQL__HS_ATTN_IN, UNIQL__HS_O_IN, UNIQL__HS_MLP_IN, UNIQL__HS_DOWN_IN, UNIQL__HS_MAMBA_IN, UNIQL__HS_MAMBA_OUT, UNIQL__HS_N };

typedef struct uniql__mq {
    const uniql_model *m;
    uniql_model *dst;
    uniql_model_quant_options o;
    float *buf;                      /* dense scratch for the largest logical matrix */
    double *H;                       /* one finalized Hessian (GPTQ) */
    uniql_corr acc[UNIQL__HS_N];     /* the current layer's Hessians (GPTQ) */
    int acc_on[UNIQL__HS_N], cur_layer;
    uniql_result obs_err;
} uniql__mq;

/* group for a storage row of length L: o.group halved while it does not divide L */
static int uniql__mq_group(int group, int L)
{
    int g = group ? group : 128;
    while (g > 32 && L % g) g /= 2;
    return g;
}

/* the official 4-bit embedding (quantize_model.py / W4O16Embedding): one scale per row,
   s = max|w| / 8, q = clamp(round(w / s), -8, 7), round half to even; computed in fp32
   with the scale rounded to fp16 first; the row's scale is repeated in each of its Q4
   groups */
static uniql_result uniql__quant_per_row(const float *W, int rows, int cols, int group, void *buf, size_t bytes,
                                         uniql_matrix *out)
{
    uniql_quant_desc d;
    size_t need, stride = (size_t)(cols + 31) / 32 * 16, ng = (size_t)(cols + group - 1) / (size_t)group, r, e;
    unsigned char *data = (unsigned char *)buf;
    uint16_t *scales;
    memset(&d, 0, sizeof d);
    d.dtype = UNIQL_DTYPE_Q4;
    d.group = group;
    UNIQL__TRY(uniql_quant_size(&d, rows, cols, &need));
    if (bytes < need) return UNIQL_ERR_INVALID_ARG;
    memset(buf, 0, need);
    scales = (uint16_t *)(void *)(data + (size_t)rows * stride);
    for (r = 0; r < (size_t)rows; r++) {
        const float *w = W + r * (size_t)cols;
        float mx = 0, s;
        uint16_t h;
        for (e = 0; e < (size_t)cols; e++) {
            if (!isfinite(w[e])) return UNIQL_ERR_NONFINITE;
            if (fabsf(w[e]) > mx) mx = fabsf(w[e]);
        }
        h = uniql_fp32_to_fp16(mx / 8.0f);
        if ((h & 0x7FFFu) >= 0x7C00u) return UNIQL_ERR_RANGE;
        s = uniql_fp16_to_fp32(h);
        for (e = 0; e < ng; e++) scales[r * ng + e] = h;
        for (e = 0; e < (size_t)cols; e++) {
            float v = s > 0 ? w[e] / s : 0.0f;
            int q = v >= 7.0f ? 7 : v <= -8.0f ? -8 : (int)rintf(v);
            size_t j = e & 31;
            unsigned nib = (unsigned)q & 15u;
            data[r * stride + (e >> 5) * 16 + (j & 15)] |= (unsigned char)(j < 16 ? nib : nib << 4);
        }
    }
    memset(out, 0, sizeof *out);
    out->dtype = UNIQL_DTYPE_Q4;
    out->rows = rows;
    out->cols = cols;
    out->data = data;
    out->stride = stride;
    out->scales = scales;
    out->scale_stride = ng;
    out->group = group;
    return UNIQL_OK;
}

/* W (any dtype / view) -> a matrix of `bits` owned by dst, same orientation. H: its
   Hessian (GPTQ) or NULL (round to nearest); per_row: the official 4-bit embedding. */
static uniql_result uniql__quant_matrix(uniql__mq *Q, const uniql_matrix *W, int bits, const double *H, int per_row,
                                        uniql_matrix *out)
{
    uniql_quant_desc d;
    size_t bytes;
    void *mem;
    if (bits == 0 || bits == 32) {
        float *copy;
        UNIQL__TRY(uniql_dequantize(W, Q->buf, (size_t)(W->cols > 0 ? W->cols : 1)));
        if (!(copy = uniql__own_f32(Q->dst, (size_t)W->rows, (size_t)W->cols))) return UNIQL_ERR_OUT_OF_MEMORY;
        memcpy(copy, Q->buf, sizeof(float) * (size_t)W->rows * (size_t)W->cols);
        return uniql__own_matrix(Q->dst, copy, W->rows, W->cols, W->transposed, out);
    }
    memset(&d, 0, sizeof d);
    d.dtype = bits == 8 ? UNIQL_DTYPE_Q8 : Q->o.asymmetric ? UNIQL_DTYPE_Q4Z : UNIQL_DTYPE_Q4;
    d.group = uniql__mq_group(Q->o.group, W->transposed ? W->rows : W->cols);
    d.clip = Q->o.clip;
    d.transposed = W->transposed;
    d.parallel = Q->o.parallel;
    UNIQL__TRY(uniql_quant_size(&d, W->rows, W->cols, &bytes));
    if (!(mem = uniql__own(&Q->dst->storage, bytes, Q->dst->alloc_user))) return UNIQL_ERR_OUT_OF_MEMORY;
    if (per_row && d.dtype == UNIQL_DTYPE_Q4 && !W->transposed) {
        UNIQL__TRY(uniql_dequantize(W, Q->buf, (size_t)W->cols));
        return uniql__quant_per_row(Q->buf, W->rows, W->cols, d.group, mem, bytes, out);
    }
    if (H || (Q->o.scale_rule == UNIQL_SCALE_OFFICIAL && d.dtype == UNIQL_DTYPE_Q4)) {
        uniql_gptq_options g;
        memset(&g, 0, sizeof g);
        g.dtype = d.dtype;
        g.group = d.group;
        g.damp = Q->o.damp;
        g.block = Q->o.block;
        g.act_order = Q->o.act_order;
        g.scale_rule = d.dtype == UNIQL_DTYPE_Q4 ? Q->o.scale_rule : UNIQL_SCALE_UNIQLH;
        g.clip = Q->o.clip;
        g.alloc_user = Q->o.alloc_user;
        return uniql_gptq_quantize(&g, W, H, (size_t)W->cols, mem, bytes, out, NULL);
    }
    UNIQL__TRY(uniql_dequantize(W, Q->buf, (size_t)(W->cols > 0 ? W->cols : 1)));
    return uniql_quantize(&d, Q->buf, W->rows, W->cols, (size_t)W->cols, mem, bytes, out);
}

static size_t uniql__mat_elems(const uniql_matrix *W) { return (size_t)W->rows * (size_t)W->cols; }

/* the finalized Hessian of site k into Q->H (NULL when GPTQ is off for this layer) */
static const double *uniql__mq_hess(uniql__mq *Q, int k, uniql_result *r)
{
    if (*r != UNIQL_OK || !Q->acc_on[k]) return NULL;
    if (Q->acc[k].count <= 0) { *r = UNIQL_ERR_SHAPE; return NULL; }
    *r = uniql_corr_finalize(&Q->acc[k], Q->H, (size_t)Q->acc[k].d);
    return *r == UNIQL_OK ? Q->H : NULL;
}

/* Layer s's type, kept sizes and fp32 copies of all its vectors (norms, biases, rope_pairs,
   conv taps, A_log, D, dt_bias, gated-norm weight) into d, owned by dst; matrices are the
   caller's. */
static uniql_result uniql__copy_layer_vectors(uniql_model *dst, const uniql_config *c, const uniql_layer *s, uniql_layer *d)
{
    uniql_result r;
    *d = *s;   /* kept sizes, type; every pointer is replaced (vectors here, matrices by the caller) */
    r = uniql__copy_vec(dst, s->norm, c->hidden_size, &d->norm);
    if (r == UNIQL_OK) r = uniql__copy_vec(dst, s->mlp_norm, c->hidden_size, &d->mlp_norm);
    if (r == UNIQL_OK && uniql__blk_attn(s->type)) {
        const uniql_attention *a = &s->attn;
        uniql_attention *na = &d->attn;
        int NH = c->n_heads, KV = c->n_kv_heads;
        r = uniql__copy_vec(dst, a->q_bias, NH * a->qk_dim, &na->q_bias);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->k_bias, KV * a->qk_dim, &na->k_bias);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->v_bias, KV * a->v_dim, &na->v_bias);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->o_bias, c->hidden_size, &na->o_bias);
        if (r == UNIQL_OK && a->rope_pairs) {
            int *pr = (int *)uniql__own(&dst->storage, sizeof(int) * (size_t)(KV * (a->qk_dim / 2) + 1), dst->alloc_user);
            if (!pr) r = UNIQL_ERR_OUT_OF_MEMORY;
            else { memcpy(pr, a->rope_pairs, sizeof(int) * (size_t)(KV * (a->qk_dim / 2))); na->rope_pairs = pr; }
        }
    }
    if (r == UNIQL_OK && uniql__blk_mlp(s->type)) {
        const uniql_mlp *p = &s->mlp;
        uniql_mlp *np = &d->mlp;
        r = uniql__copy_vec(dst, p->gate_bias, p->d_int, &np->gate_bias);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, p->up_bias, p->d_int, &np->up_bias);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, p->down_bias, c->hidden_size, &np->down_bias);
    }
    if (r == UNIQL_OK && uniql__blk_mamba(s->type)) {
        const uniql_mamba *a = &s->mamba;
        uniql_mamba *nb = &d->mamba;
        int NH = c->ssm_heads, HP = NH * a->head_dim_kept, GN = c->ssm_groups * a->state_kept, K = c->conv_kernel;
        r = uniql__copy_vec(dst, a->bias_z, HP, &nb->bias_z);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->bias_x, HP, &nb->bias_x);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->bias_B, GN, &nb->bias_B);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->bias_C, GN, &nb->bias_C);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->bias_dt, NH, &nb->bias_dt);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_x, HP * K, &nb->conv_x);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_B, GN * K, &nb->conv_B);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_C, GN * K, &nb->conv_C);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_bias_x, HP, &nb->conv_bias_x);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_bias_B, GN, &nb->conv_bias_B);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->conv_bias_C, GN, &nb->conv_bias_C);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->A_log, NH, &nb->A_log);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->D, NH, &nb->D);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->dt_bias, NH, &nb->dt_bias);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->norm, HP, &nb->norm);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, a->out_bias, c->hidden_size, &nb->out_bias);
    }
    return r;
}

/* layer l of Q->m into Q->dst at width b; with the Hessians of Q->acc if they are on */
static uniql_result uniql__mq_layer(uniql__mq *Q, int l, int b)
{
    const uniql_config *c = &Q->m->config;
    const uniql_layer *s = &Q->m->layers[l];
    uniql_layer *d = &Q->dst->layers[l];
    const double *H;
    uniql_result r = uniql__copy_layer_vectors(Q->dst, c, s, d);
    if (r == UNIQL_OK && uniql__blk_attn(s->type)) {
        H = uniql__mq_hess(Q, UNIQL__HS_ATTN_IN, &r);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->attn.q, b, H, 0, &d->attn.q);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->attn.k, b, H, 0, &d->attn.k);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->attn.v, b, H, 0, &d->attn.v);
        H = uniql__mq_hess(Q, UNIQL__HS_O_IN, &r);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->attn.o, b, H, 0, &d->attn.o);
    }
    if (r == UNIQL_OK && uniql__blk_mlp(s->type)) {
        H = uniql__mq_hess(Q, UNIQL__HS_MLP_IN, &r);
        if (r == UNIQL_OK && c->mlp_act == UNIQL_MLP_SWIGLU) r = uniql__quant_matrix(Q, &s->mlp.gate, b, H, 0, &d->mlp.gate);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->mlp.up, b, H, 0, &d->mlp.up);
        H = uniql__mq_hess(Q, UNIQL__HS_DOWN_IN, &r);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->mlp.down, b, H, 0, &d->mlp.down);
    }
    if (r == UNIQL_OK && uniql__blk_mamba(s->type)) {
        H = uniql__mq_hess(Q, UNIQL__HS_MAMBA_IN, &r);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->mamba.in_z, b, H, 0, &d->mamba.in_z);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->mamba.in_x, b, H, 0, &d->mamba.in_x);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->mamba.in_B, b, H, 0, &d->mamba.in_B);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->mamba.in_C, b, H, 0, &d->mamba.in_C);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->mamba.in_dt, b, H, 0, &d->mamba.in_dt);
        H = uniql__mq_hess(Q, UNIQL__HS_MAMBA_OUT, &r);
        if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &s->mamba.out, b, H, 0, &d->mamba.out);
    }
    return r;
}

/* the GPTQ stream observer: each matrix input of layer cur_layer into its Hessian */
static void uniql__mq_obs(void *user, int layer, uniql_site site, int head, const float *x, int n, int width, size_t ld)
{
    uniql__mq *Q = (uniql__mq *)user;
    int k = -1;
    (void)head; (void)width;
    if (layer != Q->cur_layer || Q->obs_err != UNIQL_OK) return;
    switch (site) {
    case UNIQL_SITE_ATTN_IN: k = UNIQL__HS_ATTN_IN; break;
    case UNIQL_SITE_ATTN_O_IN: k = UNIQL__HS_O_IN; break;
    case UNIQL_SITE_MLP_IN: k = UNIQL__HS_MLP_IN; break;
    case UNIQL_SITE_MLP_DOWN_IN: k = UNIQL__HS_DOWN_IN; break;
    case UNIQL_SITE_MAMBA_IN: k = UNIQL__HS_MAMBA_IN; break;
    case UNIQL_SITE_MAMBA_OUT_IN: k = UNIQL__HS_MAMBA_OUT; break;
    default: return;
    }
    if (Q->acc_on[k]) Q->obs_err = uniql_corr_add_f32(&Q->acc[k], x, n, ld);
}

static void uniql__mq_acc_free(uniql__mq *Q)
{
    int k;
    for (k = 0; k < UNIQL__HS_N; k++)
        if (Q->acc_on[k]) { uniql_corr_free(&Q->acc[k]); Q->acc_on[k] = 0; }
}

/* Hessian accumulators for the matrices of layer l */
static uniql_result uniql__mq_acc_init(uniql__mq *Q, int l)
{
    const uniql_config *c = &Q->m->config;
    const uniql_layer *ly = &Q->m->layers[l];
    int dims[UNIQL__HS_N], k;
    for (k = 0; k < UNIQL__HS_N; k++) dims[k] = 0;
    if (uniql__blk_attn(ly->type)) {
        dims[UNIQL__HS_ATTN_IN] = c->hidden_size;
        dims[UNIQL__HS_O_IN] = c->n_heads * ly->attn.v_dim;
    }
    if (uniql__blk_mlp(ly->type)) {
        dims[UNIQL__HS_MLP_IN] = c->hidden_size;
        dims[UNIQL__HS_DOWN_IN] = ly->mlp.d_int;
    }
    if (uniql__blk_mamba(ly->type)) {
        dims[UNIQL__HS_MAMBA_IN] = c->hidden_size;
        dims[UNIQL__HS_MAMBA_OUT] = c->ssm_heads * ly->mamba.head_dim_kept;
    }
    for (k = 0; k < UNIQL__HS_N; k++) {
        if (!dims[k]) continue;
        UNIQL__TRY(uniql_corr_init(&Q->acc[k], dims[k], Q->o.alloc_user));
        Q->acc[k].parallel = Q->o.parallel;
        Q->acc_on[k] = 1;
    }
    return UNIQL_OK;
}

/* Run layer l of m over the stream X (T tokens x hidden, sequences of seq_len tokens,
   each from a fresh state), writing the layer's output back to X if write_back. */
static uniql_result uniql__layer_stream(const uniql_model *m, uniql_state *st, int l, float *X, size_t T, int seq_len,
                                        int write_back, const uniql_observer *obs)
{
    const uniql_config *c = &m->config;
    size_t D = (size_t)c->hidden_size, s0;
    for (s0 = 0; s0 < T; s0 += (size_t)seq_len) {
        int len = T - s0 < (size_t)seq_len ? (int)(T - s0) : seq_len, c0, t;
        uniql_state_reset(st);
        for (c0 = 0; c0 < len; c0 += st->max_batch) {
            int n = len - c0 < st->max_batch ? len - c0 : st->max_batch;
            float *x = X + (s0 + (size_t)c0) * D;
            memcpy(st->x, x, sizeof(float) * (size_t)n * D);
            if (c->rope_type != UNIQL_ROPE_NONE)
                for (t = 0; t < n; t++)
                    uniql_rope_cos_sin(st->inv_freq, st->half, st->pos + t, st->cos_t + (size_t)t * st->half,
                                       st->sin_t + (size_t)t * st->half);
            UNIQL__TRY(uniql__layer_forward(m, st, l, n, obs));
            if (!uniql__finite_f32(st->x, (size_t)n * D)) return UNIQL_ERR_NONFINITE;
            if (write_back) memcpy(x, st->x, sizeof(float) * (size_t)n * D);
            st->pos += n;
        }
    }
    return UNIQL_OK;
}

/* GPTQ of the layers and lm_head (the embedding is already in Q->dst) */
static uniql_result uniql__mq_gptq(uniql__mq *Q, const int *bits, int lm_bits, int tied, uniql_error *err)
{
    const uniql_model *m = Q->m;
    const uniql_config *c = &m->config;
    size_t T = Q->o.n_calib_tokens, D = (size_t)c->hidden_size, t, dmax = D, bytes;
    int seq = Q->o.seq_len ? Q->o.seq_len : 256, l;
    float *X = NULL;
    uniql_state *st = NULL;
    uniql_state_options so;
    uniql_observer obs;
    uniql_result r = UNIQL_OK;
    for (l = 0; l < c->n_layers; l++) {
        const uniql_layer *ly = &m->layers[l];
        size_t a = (size_t)c->n_heads * (size_t)ly->attn.v_dim, b = (size_t)ly->mlp.d_int,
               e = (size_t)c->ssm_heads * (size_t)ly->mamba.head_dim_kept;
        if (a > dmax) dmax = a;
        if (b > dmax) dmax = b;
        if (e > dmax) dmax = e;
    }
    if (!uniql__mul_size(T, D, &bytes) || !uniql__mul_size(bytes, sizeof(float), &bytes) ||
        !(X = (float *)UNIQL_MALLOC(bytes, Q->o.alloc_user)) ||
        !uniql__mul_size(dmax, dmax, &bytes) || !uniql__mul_size(bytes, sizeof(double), &bytes) ||
        !(Q->H = (double *)UNIQL_MALLOC(bytes, Q->o.alloc_user))) {
        if (X) UNIQL_FREE(X, Q->o.alloc_user);
        return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "quantize: out of memory for the GPTQ stream (%lu tokens)", (unsigned long)T);
    }
    /* layer 0's input: the quantized embedding of the calibration tokens */
    for (t = 0; t < T && r == UNIQL_OK; t++) r = uniql_dequantize_row(&Q->dst->embed, Q->o.calib_tokens[t], X + t * D);
    memset(&so, 0, sizeof so);
    so.max_ctx = (size_t)seq < T ? seq : (int)T;   /* the longest sequence the stream sees */
    so.max_batch = Q->o.max_batch ? Q->o.max_batch : 64;
    if (so.max_batch > seq) so.max_batch = seq;
    so.alloc_user = Q->o.alloc_user;
    so.parallel = Q->o.parallel;
    so.activations = UNIQL_ACT_F32;   /* statistics of the model as it is, as uniql_calibrate */
    if (r == UNIQL_OK) r = uniql_state_create_ex(m, &so, &st);
    obs.fn = uniql__mq_obs;
    obs.user = Q;
    for (l = 0; l < c->n_layers && r == UNIQL_OK; l++) {
        int b = bits ? bits[l] : Q->o.bits;
        Q->cur_layer = l;
        Q->obs_err = UNIQL_OK;
        if (b == 4 || b == 8) {
            r = uniql__mq_acc_init(Q, l);
            if (r == UNIQL_OK) r = uniql__layer_stream(m, st, l, X, T, seq, 0, &obs);
            if (r == UNIQL_OK) r = Q->obs_err;
            if (r != UNIQL_OK) { uniql__fail(err, r, "quantize: GPTQ stream, layer %d: %s", l, uniql_result_string(r)); break; }
        }
        r = uniql__mq_layer(Q, l, b);
        uniql__mq_acc_free(Q);
        if (r != UNIQL_OK) { uniql__fail(err, r, "quantize: layer %d (GPTQ): %s", l, uniql_result_string(r)); break; }
        r = uniql__layer_stream(Q->dst, st, l, X, T, seq, 1, NULL);
        if (r != UNIQL_OK) uniql__fail(err, r, "quantize: GPTQ stream through quantized layer %d: %s", l, uniql_result_string(r));
    }
    /* lm_head: the Hessian of the final-normed stream */
    if (r == UNIQL_OK && !tied && lm_bits != 32) {
        uniql_corr *acc = &Q->acc[0];
        r = uniql_corr_init(acc, (int)D, Q->o.alloc_user);
        if (r == UNIQL_OK) {
            Q->acc_on[0] = 1;
            acc->parallel = Q->o.parallel;
            for (t = 0; t < T && r == UNIQL_OK; t += (size_t)so.max_batch) {
                int n = T - t < (size_t)so.max_batch ? (int)(T - t) : so.max_batch;
                uniql__rmsnorm(st->xn, X + t * D, m->final_norm, n, (int)D, c->norm_eps);
                r = uniql_corr_add_f32(acc, st->xn, n, D);
            }
            if (r == UNIQL_OK) r = uniql_corr_finalize(acc, Q->H, D);
            if (r == UNIQL_OK) r = uniql__quant_matrix(Q, &m->lm_head, lm_bits, Q->H, 0, &Q->dst->lm_head);
        }
        uniql__mq_acc_free(Q);
        if (r != UNIQL_OK) uniql__fail(err, r, "quantize: lm_head (GPTQ): %s", uniql_result_string(r));
    }
    uniql_state_free(st);
    UNIQL_FREE(X, Q->o.alloc_user);
    UNIQL_FREE(Q->H, Q->o.alloc_user);
    Q->H = NULL;
    return r;
}

UNIQLDEF uniql_result uniql_model_quantize(const uniql_model *m, const int *bits, const uniql_model_quant_options *opt,
                                           uniql_model **out, uniql_error *err)
{
    uniql__mq Q;
    uniql_model *dst = NULL;
    const uniql_config *c;
    uniql_result r = UNIQL_OK;
    size_t big, t;
    int l, eb, lb, tied, gptq;
    if (out) *out = NULL;
    if (!m || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: NULL argument");
    UNIQL__TRY(uniql_model_check(m, err));
    c = &m->config;
    memset(&Q, 0, sizeof Q);
    if (opt) Q.o = *opt;
    Q.m = m;
    if (!Q.o.bits) Q.o.bits = 4;
    eb = Q.o.embed_bits ? Q.o.embed_bits : 8;
    lb = Q.o.lm_head_bits ? Q.o.lm_head_bits : eb;
    gptq = Q.o.method == UNIQL_QUANT_GPTQ;
    if ((eb != 4 && eb != 8 && eb != 32) || (lb != 4 && lb != 8 && lb != 32) || (Q.o.bits != 4 && Q.o.bits != 8))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: widths are 4, 8 or 32 (embed_bits %d, lm_head_bits %d, bits %d)",
                           Q.o.embed_bits, Q.o.lm_head_bits, Q.o.bits);
    if (Q.o.group != 0 && Q.o.group != 32 && Q.o.group != 64 && Q.o.group != 128)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: group must be 32, 64 or 128");
    if ((int)Q.o.method < 0 || (int)Q.o.method > 1 || (Q.o.scale_rule != UNIQL_SCALE_UNIQLH && Q.o.scale_rule != UNIQL_SCALE_OFFICIAL) ||
        (Q.o.scale_rule == UNIQL_SCALE_OFFICIAL && Q.o.asymmetric) || (Q.o.embed_per_row && eb != 4) ||
        !(Q.o.damp >= 0) || !isfinite(Q.o.damp) || Q.o.block < 0 || Q.o.seq_len < 0 || Q.o.max_batch < 0)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: bad options (method, scale_rule with asymmetric, embed_per_row "
                           "without 4-bit embeddings, damp, block, seq_len, max_batch)");
    for (l = 0; bits && l < c->n_layers; l++)
        if (bits[l] != 0 && bits[l] != 4 && bits[l] != 8 && bits[l] != 32)
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: layer %d: %d bits", l, bits[l]);
    if (gptq && Q.o.layers_only)
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "quantize: GPTQ needs the model's own stream (layers_only): use uniql_gptq_quantize per matrix");
    if (gptq) {
        if (!Q.o.calib_tokens || Q.o.n_calib_tokens < 1)
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: GPTQ needs calibration tokens");
        for (t = 0; t < Q.o.n_calib_tokens; t++)
            if (Q.o.calib_tokens[t] < 0 || Q.o.calib_tokens[t] >= c->vocab_size)
                return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: calibration token %lu = %d outside the vocabulary",
                                   (unsigned long)t, Q.o.calib_tokens[t]);
    }
    if ((gptq || Q.o.layers_only) && Q.o.globals_only)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "quantize: globals_only goes with neither layers_only nor GPTQ");
    /* scratch for the largest logical matrix that is quantized here (a layer view must not
       pay for the embedding) */
    big = 0;
    if (!Q.o.layers_only) {
        big = uniql__mat_elems(&m->embed);
        if (uniql__mat_elems(&m->lm_head) > big) big = uniql__mat_elems(&m->lm_head);
    }
    for (l = 0; l < c->n_layers && !Q.o.globals_only; l++) {
        const uniql_layer *ly = &m->layers[l];
        const uniql_matrix *ms[8];
        int k, n = 0;
        if (uniql__blk_attn(ly->type)) { ms[n++] = &ly->attn.q; ms[n++] = &ly->attn.o; }
        if (uniql__blk_mlp(ly->type)) { ms[n++] = &ly->mlp.up; ms[n++] = &ly->mlp.down; }
        if (uniql__blk_mamba(ly->type)) { ms[n++] = &ly->mamba.in_z; ms[n++] = &ly->mamba.out; }
        for (k = 0; k < n; k++) if (uniql__mat_elems(ms[k]) > big) big = uniql__mat_elems(ms[k]);
    }
    if ((r = uniql__model_shell(m, Q.o.alloc_user, &dst)) != UNIQL_OK) return uniql__fail(err, r, "quantize: out of memory");
    Q.dst = dst;
    Q.buf = (float *)UNIQL_MALLOC(sizeof(float) * (big ? big : 1), Q.o.alloc_user);
    if (!Q.buf) { uniql_model_free(dst); return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "quantize: out of memory"); }
    tied = m->lm_head.data == m->embed.data && m->lm_head.dtype == m->embed.dtype;
    if (Q.o.layers_only) {
        dst->embed = m->embed;
        dst->lm_head = m->lm_head;
        dst->final_norm = m->final_norm;
    } else {
        r = uniql__quant_matrix(&Q, &m->embed, eb, NULL, Q.o.embed_per_row, &dst->embed);
        if (r == UNIQL_OK && tied) dst->lm_head = dst->embed;
        else if (r == UNIQL_OK && !gptq) r = uniql__quant_matrix(&Q, &m->lm_head, lb, NULL, 0, &dst->lm_head);
        else if (r == UNIQL_OK && lb == 32) r = uniql__quant_matrix(&Q, &m->lm_head, 32, NULL, 0, &dst->lm_head);
        if (r == UNIQL_OK) r = uniql__copy_vec(dst, m->final_norm, c->hidden_size, &dst->final_norm);
        if (r != UNIQL_OK) uniql__fail(err, r, "quantize: embedding / lm_head: %s", uniql_result_string(r));
    }
    if (r == UNIQL_OK && gptq) r = uniql__mq_gptq(&Q, bits, lb, tied, err);
    for (l = 0; l < c->n_layers && r == UNIQL_OK && !gptq && Q.o.globals_only; l++) dst->layers[l] = m->layers[l];
    for (l = 0; l < c->n_layers && r == UNIQL_OK && !gptq && !Q.o.globals_only; l++)
        if ((r = uniql__mq_layer(&Q, l, bits ? bits[l] : Q.o.bits)) != UNIQL_OK)
            uniql__fail(err, r, "quantize: layer %d: %s", l, uniql_result_string(r));
    UNIQL_FREE(Q.buf, Q.o.alloc_user);
    if (r == UNIQL_OK) r = uniql_model_check(dst, err);
    if (r != UNIQL_OK) {
        uniql_model_free(dst);
        return r;
    }
    *out = dst;
    return UNIQL_OK;
}

/* ---- residual-stream rotation (Hadamard) ---- */

static int uniql__is_prime(int q)
{
    int d;
    if (q < 2) return 0;
    for (d = 2; d * d <= q; d++) if (q % d == 0) return 0;
    return 1;
}

/* n = 2^k p: p = 1, or p = q + 1 with q prime, q = 3 mod 4 (Paley I), k as large as
   possible; returns p, or 0 when there is no such factorisation */
static int uniql__hadamard_order(int n)
{
    int p = n;
    if (n < 1) return 0;
    while (p % 2 == 0) p /= 2;
    if (p == 1) return 1;
    for (; p <= n; p *= 2) {
        if (uniql__is_prime(p - 1) && (p - 1) % 4 == 3) return p;
        if (n % (2 * p)) break;
    }
    return 0;
}

UNIQLDEF uniql_result uniql_hadamard_apply(int n, double *x, void *user)
{
    int p, P2, a, b, i, j, h;
    double *y, sc;
    signed char *chi;
    if (!x || n < 1) return UNIQL_ERR_INVALID_ARG;
    if (!(p = uniql__hadamard_order(n))) return UNIQL_ERR_UNSUPPORTED;
    P2 = n / p;
    if (p > 1) {
        /* Paley I: H = I + S, S = [[0, 1^T], [-1, Q]], Q[i][j] = chi(j - i) the quadratic
           character mod q; S is skew for q = 3 mod 4, so H H^T = (q + 1) I */
        int q = p - 1;
        y = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)p + (size_t)q, user);
        if (!y) return UNIQL_ERR_OUT_OF_MEMORY;
        chi = (signed char *)(y + p);
        for (i = 0; i < q; i++) chi[i] = -1;
        chi[0] = 0;
        for (i = 1; i < q; i++) chi[(int)((long long)i * i % q)] = 1;
        for (a = 0; a < P2; a++) {
            double *xa = x + (size_t)a * p;
            double s0 = xa[0];
            for (j = 1; j < p; j++) s0 += xa[j];
            y[0] = s0;
            for (i = 1; i < p; i++) {
                double s = -xa[0] + xa[i];
                for (j = 1; j < p; j++) if (j != i) s += chi[((j - i) % q + q) % q] * xa[j];
                y[i] = s;
            }
            memcpy(xa, y, sizeof(double) * (size_t)p);
        }
        UNIQL_FREE(y, user);
    }
    /* Sylvester H_{P2} across the blocks (fast Walsh-Hadamard transform, stride p) */
    for (h = 1; h < P2; h *= 2)
        for (a = 0; a < P2; a += 2 * h)
            for (i = a; i < a + h; i++)
                for (b = 0; b < p; b++) {
                    double u = x[(size_t)i * p + b], v = x[(size_t)(i + h) * p + b];
                    x[(size_t)i * p + b] = u + v;
                    x[(size_t)(i + h) * p + b] = u - v;
                }
    sc = 1.0 / sqrt((double)n);
    for (i = 0; i < n; i++) x[i] *= sc;
    return UNIQL_OK;
}

typedef struct uniql__rot {
    uniql_model *dst;
    int D;
    double *x;          /* D doubles */
    void *user;
} uniql__rot;

/* W (rows x D) reading the residual through a norm of weight w: W diag(w) R^T, row by row */
static uniql_result uniql__rot_in(uniql__rot *R, const uniql_matrix *W, const float *w, uniql_matrix *out)
{
    float *d;
    int r, k;
    if (!W->data) return UNIQL_OK;
    UNIQL__TRY(uniql__dense(R->dst, W, &d));
    for (r = 0; r < W->rows; r++) {
        float *row = d + (size_t)r * R->D;
        for (k = 0; k < R->D; k++) R->x[k] = (double)row[k] * (w ? (double)w[k] : 1.0);
        UNIQL__TRY(uniql_hadamard_apply(R->D, R->x, R->user));
        for (k = 0; k < R->D; k++) row[k] = (float)R->x[k];
    }
    return uniql__own_matrix(R->dst, d, W->rows, W->cols, W->transposed, out);
}

/* W (D x cols) writing to the residual, and its bias: R W, R b */
static uniql_result uniql__rot_out(uniql__rot *R, const uniql_matrix *W, const float *bias, uniql_matrix *out,
                                   const float **bias_out)
{
    float *d;
    int c, k;
    UNIQL__TRY(uniql__dense(R->dst, W, &d));
    for (c = 0; c < W->cols; c++) {
        for (k = 0; k < R->D; k++) R->x[k] = d[(size_t)k * W->cols + c];
        UNIQL__TRY(uniql_hadamard_apply(R->D, R->x, R->user));
        for (k = 0; k < R->D; k++) d[(size_t)k * W->cols + c] = (float)R->x[k];
    }
    *bias_out = NULL;
    if (bias) {
        float *b = uniql__own_f32(R->dst, (size_t)R->D, 1);
        if (!b) return UNIQL_ERR_OUT_OF_MEMORY;
        for (k = 0; k < R->D; k++) R->x[k] = bias[k];
        UNIQL__TRY(uniql_hadamard_apply(R->D, R->x, R->user));
        for (k = 0; k < R->D; k++) b[k] = (float)R->x[k];
        *bias_out = b;
    }
    return uniql__own_matrix(R->dst, d, W->rows, W->cols, W->transposed, out);
}

UNIQLDEF uniql_result uniql_model_rotate(const uniql_model *m, void *user, uniql_model **out, uniql_error *err)
{
    const uniql_config *c;
    uniql_model *dst = NULL;
    uniql__rot R;
    uniql_result r;
    float *ones, *e;
    int l, k, D;
    if (out) *out = NULL;
    if (!m || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "rotate: NULL argument");
    UNIQL__TRY(uniql_model_check(m, err));
    c = &m->config;
    D = c->hidden_size;
    if (!uniql__hadamard_order(D))
        return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "rotate: no Hadamard construction for hidden size %d", D);
    for (l = 0; l < c->n_layers; l++)
        if (m->layers[l].type != UNIQL_BLOCK_DECODER && m->layers[l].type != UNIQL_BLOCK_ATTENTION &&
            m->layers[l].type != UNIQL_BLOCK_MLP && m->layers[l].type != UNIQL_BLOCK_MAMBA &&
            m->layers[l].type != UNIQL_BLOCK_MAMBA_MLP)
            return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "rotate: layer %d: block type %d", l, (int)m->layers[l].type);
    if ((r = uniql__model_shell(m, user, &dst)) != UNIQL_OK) return uniql__fail(err, r, "rotate: out of memory");
    memset(&R, 0, sizeof R);
    R.dst = dst;
    R.D = D;
    R.user = user;
    R.x = (double *)uniql__own(&dst->storage, sizeof(double) * (size_t)D, user);
    ones = uniql__own_f32(dst, (size_t)D, 1);
    r = R.x && ones ? UNIQL_OK : UNIQL_ERR_OUT_OF_MEMORY;
    if (r == UNIQL_OK) for (k = 0; k < D; k++) ones[k] = 1.0f;
    /* embedding rows e -> R e; lm_head L -> L diag(w_final) R^T (untied) */
    if (r == UNIQL_OK && (r = uniql__dense(dst, &m->embed, &e)) == UNIQL_OK) {
        int t;
        for (t = 0; t < c->vocab_size && r == UNIQL_OK; t++) {
            float *row = e + (size_t)t * D;
            for (k = 0; k < D; k++) R.x[k] = row[k];
            r = uniql_hadamard_apply(D, R.x, user);
            for (k = 0; k < D; k++) row[k] = (float)R.x[k];
        }
        dst->embed = uniql_matrix_f32(e, c->vocab_size, D, (size_t)D);
    }
    if (r == UNIQL_OK) r = uniql__rot_in(&R, &m->lm_head, m->final_norm, &dst->lm_head);
    if (r != UNIQL_OK) uniql__fail(err, r, "rotate: embedding / lm_head: %s", uniql_result_string(r));
    dst->final_norm = ones;
    dst->config.tie_embeddings = 0;
    for (l = 0; l < c->n_layers && r == UNIQL_OK; l++) {
        const uniql_layer *s = &m->layers[l];
        uniql_layer *d = &dst->layers[l];
        const float *mlp_norm = uniql__blk_two_norms(s->type) ? s->mlp_norm : s->norm;
        r = uniql__copy_layer_vectors(dst, c, s, d);
        d->norm = ones;
        if (s->mlp_norm) d->mlp_norm = ones;
        if (r == UNIQL_OK && uniql__blk_attn(s->type)) {
            r = uniql__rot_in(&R, &s->attn.q, s->norm, &d->attn.q);
            if (r == UNIQL_OK) r = uniql__rot_in(&R, &s->attn.k, s->norm, &d->attn.k);
            if (r == UNIQL_OK) r = uniql__rot_in(&R, &s->attn.v, s->norm, &d->attn.v);
            if (r == UNIQL_OK) r = uniql__rot_out(&R, &s->attn.o, s->attn.o_bias, &d->attn.o, &d->attn.o_bias);
        }
        if (r == UNIQL_OK && uniql__blk_mlp(s->type)) {
            if (c->mlp_act == UNIQL_MLP_SWIGLU) r = uniql__rot_in(&R, &s->mlp.gate, mlp_norm, &d->mlp.gate);
            if (r == UNIQL_OK) r = uniql__rot_in(&R, &s->mlp.up, mlp_norm, &d->mlp.up);
            if (r == UNIQL_OK) r = uniql__rot_out(&R, &s->mlp.down, s->mlp.down_bias, &d->mlp.down, &d->mlp.down_bias);
        }
        if (r == UNIQL_OK && uniql__blk_mamba(s->type)) {
            r = uniql__rot_in(&R, &s->mamba.in_z, s->norm, &d->mamba.in_z);
            if (r == UNIQL_OK) r = uniql__rot_in(&R, &s->mamba.in_x, s->norm, &d->mamba.in_x);
            if (r == UNIQL_OK) r = uniql__rot_in(&R, &s->mamba.in_B, s->norm, &d->mamba.in_B);
            if (r == UNIQL_OK) r = uniql__rot_in(&R, &s->mamba.in_C, s->norm, &d->mamba.in_C);
            if (r == UNIQL_OK) r = uniql__rot_in(&R, &s->mamba.in_dt, s->norm, &d->mamba.in_dt);
            if (r == UNIQL_OK) r = uniql__rot_out(&R, &s->mamba.out, s->mamba.out_bias, &d->mamba.out, &d->mamba.out_bias);
        }
        if (r != UNIQL_OK) uniql__fail(err, r, "rotate: layer %d: %s", l, uniql_result_string(r));
    }
    if (r == UNIQL_OK) r = uniql_model_check(dst, err);
    if (r != UNIQL_OK) {
        uniql_model_free(dst);
        return r;
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
    d.group = uniql__mq_group(group, transposed ? rows : cols);
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
    vec += D * (uniql__blk_two_norms(t) ? 2 : 1);   /* norms */
    if (uniql__blk_attn(t)) {
        int H = c->n_heads, KV = c->n_kv_heads;
        n += uniql__mat_bytes(H * k.qk_dim, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(KV * k.qk_dim, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(KV * k.v_dim, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(c->hidden_size, H * k.v_dim, bits, group, asymmetric, tr);
        if (c->qkv_bias) vec += (uint64_t)(H + KV) * (uint64_t)k.qk_dim;   /* the v bias moves into o's */
        if (c->qkv_bias || c->o_bias) vec += D;
        if (c->rope_type != UNIQL_ROPE_NONE) vec += (uint64_t)KV * (uint64_t)(k.qk_dim / 2);   /* rope_pairs (int32) */
    }
    if (uniql__blk_mlp(t)) {
        if (c->mlp_act == UNIQL_MLP_SWIGLU) n += uniql__mat_bytes(k.d_int, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(k.d_int, c->hidden_size, bits, group, asymmetric, 0);
        n += uniql__mat_bytes(c->hidden_size, k.d_int, bits, group, asymmetric, tr);
        if (c->mlp_bias) vec += (uint64_t)k.d_int * (c->mlp_act == UNIQL_MLP_SWIGLU ? 2 : 1) + D;
    }
    if (uniql__blk_mamba(t)) {
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
        if (uniql__blk_attn(ly->type)) {
            const uniql_attention *a = &ly->attn;
            n += uniql__mview_bytes(&a->q) + uniql__mview_bytes(&a->k) + uniql__mview_bytes(&a->v) + uniql__mview_bytes(&a->o);
            if (a->q_bias) vec += (uint64_t)c->n_heads * a->qk_dim;
            if (a->k_bias) vec += (uint64_t)c->n_kv_heads * a->qk_dim;
            if (a->v_bias) vec += (uint64_t)c->n_kv_heads * a->v_dim;
            if (a->o_bias) vec += (uint64_t)c->hidden_size;
            if (a->rope_pairs) vec += (uint64_t)c->n_kv_heads * (a->qk_dim / 2);
        }
        if (uniql__blk_mlp(ly->type)) {
            const uniql_mlp *p = &ly->mlp;
            if (c->mlp_act == UNIQL_MLP_SWIGLU) n += uniql__mview_bytes(&p->gate);
            n += uniql__mview_bytes(&p->up) + uniql__mview_bytes(&p->down);
            if (p->gate_bias) vec += (uint64_t)p->d_int;
            if (p->up_bias) vec += (uint64_t)p->d_int;
            if (p->down_bias) vec += (uint64_t)c->hidden_size;
        }
        if (uniql__blk_mamba(ly->type)) {
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
   IMPL 8b. GPTQ (error-compensating quantization of one matrix)
   ===================================================================================== */

/* Quantization parameters of one group, fixed when its scale is chosen. */
typedef struct uniql__gq {
    double s;        /* the scale the error compensation uses */
    float s32;       /* UNIQL_SCALE_OFFICIAL: the fp32 scale */
    uint16_t h;      /* the stored fp16 scale */
    int z;           /* Q4Z zero point */
} uniql__gq;

/* round-half-away of v, clamped to [lo, hi] before any conversion (v may be huge when a
   later column leaves the range its group's scale was fixed for) */
static int uniql__round_clamp(double v, int lo, int hi)
{
    if (!(v < hi)) return hi;
    if (!(v > lo)) return lo;
    return uniql__round_away(v);
}

/* Fix the parameters of a group from its n current values v[i * stride]. */
static uniql_result uniql__gptq_fix(const uniql_gptq_options *o, const double *v, int n, size_t stride, uniql__gq *g)
{
    float w[128];
    int q[128], i, k, z = 0, zb;
    uint16_t h, hb;
    double best;
    memset(g, 0, sizeof *g);
    if (o->dtype == UNIQL_DTYPE_Q8) {
        double mxa = 0;
        for (i = 0; i < n; i++) if (fabs(v[(size_t)i * stride]) > mxa) mxa = fabs(v[(size_t)i * stride]);
        h = uniql__fp16_ceil(mxa / 127);
        if (h >= 0x7C00u) return UNIQL_ERR_RANGE;
        g->h = h;
        g->s = uniql_fp16_to_fp32(h);
        return UNIQL_OK;
    }
    for (i = 0; i < n; i++) w[i] = (float)v[(size_t)i * stride];
    if (o->scale_rule == UNIQL_SCALE_OFFICIAL) {
        /* torch: s = amax(|w|) * (2 / 15) in the fp32 tensor's arithmetic */
        float mx = 0;
        for (i = 0; i < n; i++) if (fabsf(w[i]) > mx) mx = fabsf(w[i]);
        g->s32 = mx * (float)(2.0 / 15.0);
        h = uniql_fp32_to_fp16(g->s32);
        if ((h & 0x7FFFu) >= 0x7C00u) return UNIQL_ERR_RANGE;
        g->h = h;
        g->s = (double)g->s32;
        return UNIQL_OK;
    }
    best = uniql__quant_group(o->dtype, w, n, 1.0, q, &h, &z);
    if (best == HUGE_VAL) return UNIQL_ERR_RANGE;
    for (k = 1; o->clip && k <= 10; k++) {
        double e = uniql__quant_group(o->dtype, w, n, 1.0 - 0.05 * k, q, &hb, &zb);
        if (e < best) { best = e; h = hb; z = zb; }
    }
    g->h = h;
    g->z = z;
    g->s = uniql_fp16_to_fp32(h);
    return UNIQL_OK;
}

/* Quantize w with the group's parameters: the stored integer in *q, the value returned. */
static double uniql__gptq_quant(const uniql_gptq_options *o, const uniql__gq *g, double w, int *q)
{
    if (o->scale_rule == UNIQL_SCALE_OFFICIAL) {
        /* q = clamp(round(w / (s + 1e-6)) + 8, 0, 15) - 8 in fp32, round half to even */
        float v = (float)w / (g->s32 + 1e-6f);
        int qi = v >= 7.0f ? 7 : v <= -8.0f ? -8 : (int)rintf(v);
        *q = qi;
        return (double)((float)qi * g->s32);
    }
    switch (o->dtype) {
    case UNIQL_DTYPE_Q4Z: {
        int u = g->s > 0 ? g->z + uniql__round_clamp(w / g->s, -g->z, 15 - g->z) : g->z;
        *q = u;
        return (double)(u - g->z) * g->s;
    }
    case UNIQL_DTYPE_Q8:
        *q = g->s > 0 ? uniql__round_clamp(w / g->s, -127, 127) : 0;
        return (double)*q * g->s;
    default:
        *q = g->s > 0 ? uniql__round_clamp(w / g->s, -8, 7) : 0;
        return (double)*q * g->s;
    }
}

/* H (upper triangle, ld ldh) at original indices (a, b) */
static double uniql__sym_at(const double *H, size_t ldh, int a, int b)
{
    return a <= b ? H[(size_t)a * ldh + b] : H[(size_t)b * ldh + a];
}

UNIQLDEF uniql_result uniql_gptq_quantize(const uniql_gptq_options *opt, const uniql_matrix *W, const double *H,
                                          size_t ldh, void *buf, size_t buf_size, uniql_matrix *out, uniql_error *err)
{
    uniql_gptq_options o;
    uniql_quant_desc d;
    uniql__scratch z = { 0, 0 };
    size_t need, S, L, stride, ng, oW, oU, oE, oT, oG, oQ, oP, oD, oGq, oF, i, j;
    int m, n, tr, G, Gs, B, stat, b0, p, r, k;
    unsigned char *base = NULL, *data = (unsigned char *)buf;
    double *Wd, *U, *Err, *tmp, *gw, *dg, mean = 0;
    float *Wf;
    signed char *Q;
    int *perm;
    uniql__gq *gq;
    uint16_t *scales;
    uint8_t *zeros;
    uniql_result res = UNIQL_OK;
    uniql_matrix mo;
    memset(&o, 0, sizeof o);
    if (opt) o = *opt;
    if (o.dtype == UNIQL_DTYPE_F32) o.dtype = UNIQL_DTYPE_Q4;
    if (!W || !buf || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "gptq: NULL argument");
    m = W->rows;
    n = W->cols;
    tr = W->transposed != 0;
    memset(&d, 0, sizeof d);
    d.dtype = o.dtype;
    d.group = o.group;
    d.transposed = tr;
    if ((res = uniql_quant_size(&d, m, n, &need)) != UNIQL_OK)
        return uniql__fail(err, res, "gptq: %d x %d matrix, dtype %d, group %d: %s", m, n, (int)o.dtype, o.group, uniql_result_string(res));
    if ((H && ldh < (size_t)n) || buf_size < need || ((size_t)buf & 1u))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "gptq: ldh < cols, or buffer too small (%lu < %lu bytes) or odd",
                           (unsigned long)buf_size, (unsigned long)need);
    if (!(o.damp >= 0) || !isfinite(o.damp) || o.block < 0 || (o.scale_rule != UNIQL_SCALE_UNIQLH && o.scale_rule != UNIQL_SCALE_OFFICIAL))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "gptq: bad options (damp, block, scale_rule)");
    if (o.scale_rule == UNIQL_SCALE_OFFICIAL && o.dtype != UNIQL_DTYPE_Q4)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "gptq: the official scale rule is defined for symmetric Q4 only");
    if (o.damp == 0) o.damp = 0.01;
    if (H && !uniql__finite_upper(H, n, ldh)) return uniql__fail(err, UNIQL_ERR_NONFINITE, "gptq: NaN or Inf in the Hessian");
    G = o.group ? o.group : 128;
    S = (size_t)(tr ? n : m);
    L = (size_t)(tr ? m : n);
    stride = (L + 31) / 32 * (o.dtype == UNIQL_DTYPE_Q8 ? 32 : 16);
    ng = o.dtype == UNIQL_DTYPE_Q8 ? 1 : (L + (size_t)G - 1) / (size_t)G;
    Gs = o.dtype == UNIQL_DTYPE_Q8 ? (int)L : G;           /* elements per group */
    stat = !tr && (o.act_order || o.dtype == UNIQL_DTYPE_Q8);  /* row storage: scales from the initial weights */
    B = o.block ? o.block : 128;
    if (B > n) B = n;
    if (!tr && !stat) B = (B + G - 1) / G * G;              /* a group's columns lie in one block */
    oW = uniql__scratch_take(&z, (size_t)m * (size_t)n, sizeof(double));
    oU = uniql__scratch_take(&z, H ? (size_t)n * (size_t)n : 1, sizeof(double));
    oE = uniql__scratch_take(&z, (size_t)m * (size_t)B, sizeof(double));
    oT = uniql__scratch_take(&z, H ? (size_t)n * UNIQL__CHOL_NB : 1, sizeof(double));
    oG = uniql__scratch_take(&z, UNIQL__GEMM_WORK, sizeof(double));
    oD = uniql__scratch_take(&z, (size_t)n, sizeof(double));
    oQ = uniql__scratch_take(&z, (size_t)m * (size_t)n, 1);
    oP = uniql__scratch_take(&z, 2 * (size_t)n, sizeof(int));
    oGq = uniql__scratch_take(&z, S * ng, sizeof(uniql__gq));
    oF = uniql__scratch_take(&z, (size_t)m * (size_t)n, sizeof(float));
    if (z.overflow) return uniql__fail(err, UNIQL_ERR_OVERFLOW, "gptq: %d x %d matrix too large", m, n);
    base = (unsigned char *)UNIQL_MALLOC(z.bytes, o.alloc_user);
    if (!base) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "gptq: out of memory (%lu bytes of scratch)", (unsigned long)z.bytes);
    Wd = (double *)(void *)(base + oW);
    U = (double *)(void *)(base + oU);
    Err = (double *)(void *)(base + oE);
    tmp = (double *)(void *)(base + oT);
    gw = (double *)(void *)(base + oG);
    dg = (double *)(void *)(base + oD);
    Q = (signed char *)(base + oQ);
    perm = (int *)(void *)(base + oP);
    gq = (uniql__gq *)(void *)(base + oGq);
    Wf = (float *)(void *)(base + oF);
    /* weights (logical rows x cols, dead inputs zeroed) and the Hessian's diagonal */
    if ((res = uniql_dequantize(W, Wf, (size_t)n)) != UNIQL_OK) { uniql__fail(err, res, "gptq: cannot read W"); goto done; }
    if (!uniql__finite_rect_f32(Wf, m, n, (size_t)n)) { res = uniql__fail(err, UNIQL_ERR_NONFINITE, "gptq: NaN or Inf in W"); goto done; }
    for (j = 0; j < (size_t)n; j++) {
        dg[j] = H ? H[j * ldh + j] : 1.0;
        if (dg[j] == 0) {
            dg[j] = 1;
            for (i = 0; i < (size_t)m; i++) Wf[i * (size_t)n + j] = 0;
        }
        mean += dg[j];
    }
    mean /= n;
    /* column order */
    if (o.act_order) uniql__order_desc(n, dg, perm, perm + n);
    else for (p = 0; p < n; p++) perm[p] = p;
    /* static scales from the initial weights (row storage with act_order, or Q8) */
    if (stat)
        for (r = 0; r < m && res == UNIQL_OK; r++)
            for (j = 0; j < ng && res == UNIQL_OK; j++) {
                size_t e0 = j * (size_t)Gs, cnt = L - e0 < (size_t)Gs ? L - e0 : (size_t)Gs, e;
                for (e = 0; e < cnt; e++) Wd[e] = Wf[(size_t)r * n + e0 + e];   /* Wd as a staging row */
                res = uniql__gptq_fix(&o, Wd, (int)cnt, 1, &gq[(size_t)r * ng + j]);
            }
    if (res != UNIQL_OK) { uniql__fail(err, res, "gptq: a group scale exceeds the fp16 range"); goto done; }
    for (r = 0; r < m; r++)
        for (p = 0; p < n; p++) Wd[(size_t)r * n + p] = Wf[(size_t)r * n + perm[p]];
    /* U = upper Cholesky factor of H^-1 (H damped, in processing order), without forming
       H^-1: with J the reversal, J H J = N^T N (N upper) gives H^-1 = U^T U for
       U = J N^-T J, the anti-transpose of N^-1. */
    for (i = 0; H && i < (size_t)n; i++) {
        double *ui = U + i * (size_t)n;
        memset(ui, 0, i * sizeof *ui);
        for (j = i; j < (size_t)n; j++) {
            int a = perm[n - 1 - i], b = perm[n - 1 - j];
            ui[j] = a == b ? dg[a] + o.damp * mean : uniql__sym_at(H, ldh, a, b);
        }
    }
    if (H && uniql__chol_upper(n, U, gw) != 0) {
        res = uniql__fail(err, UNIQL_ERR_NOT_SPD, "gptq: the damped Hessian (damp %g) is not positive definite", o.damp);
        goto done;
    }
    if (H) uniql__trinv_upper(n, U, tmp, gw);
    for (i = 0; H && i < (size_t)n; i++)
        for (j = i; j < (size_t)n; j++) {
            size_t i2 = (size_t)n - 1 - j, j2 = (size_t)n - 1 - i;
            if (i * (size_t)n + j < i2 * (size_t)n + j2) {
                double t = U[i * (size_t)n + j];
                U[i * (size_t)n + j] = U[i2 * (size_t)n + j2];
                U[i2 * (size_t)n + j2] = t;
            }
        }
    /* column by column, in blocks of B (lazy batch updates) */
    for (b0 = 0; b0 < n && res == UNIQL_OK; b0 += B) {
        int b1 = b0 + B < n ? b0 + B : n, nb = b1 - b0;
        for (p = b0; p < b1 && res == UNIQL_OK; p++) {
            const double *Up = H ? U + (size_t)p * n : NULL;
            int oc = perm[p];
            if (!tr && !stat && oc % G == 0) {   /* a row group starts: scales from its current values */
                int cnt = n - oc < G ? n - oc : G;
                for (r = 0; r < m && res == UNIQL_OK; r++) res = uniql__gptq_fix(&o, Wd + (size_t)r * n + p, cnt, 1, &gq[(size_t)r * ng + (size_t)oc / G]);
            }
            if (tr)                              /* storage row oc: its groups from this column */
                for (j = 0; j < ng && res == UNIQL_OK; j++) {
                    size_t r0 = j * (size_t)Gs, cnt = L - r0 < (size_t)Gs ? L - r0 : (size_t)Gs;
                    res = uniql__gptq_fix(&o, Wd + r0 * (size_t)n + p, (int)cnt, (size_t)n, &gq[(size_t)oc * ng + j]);
                }
            if (res != UNIQL_OK) { uniql__fail(err, res, "gptq: a group scale exceeds the fp16 range"); break; }
            for (r = 0; r < m; r++) {
                double *wr = Wd + (size_t)r * n, w = wr[p], e;
                const uniql__gq *g = tr ? &gq[(size_t)oc * ng + (size_t)r / (size_t)Gs] : &gq[(size_t)r * ng + (size_t)oc / (size_t)Gs];
                int qv;
                if (!isfinite(w)) { res = uniql__fail(err, UNIQL_ERR_NONFINITE, "gptq: the error compensation overflowed"); break; }
                e = w - uniql__gptq_quant(&o, g, w, &qv);
                Q[(size_t)r * n + p] = (signed char)qv;
                if (!Up) continue;                   /* no Hessian: round to nearest */
                e /= Up[p];
                Err[(size_t)r * nb + (p - b0)] = e;
                for (k = p + 1; k < b1; k++) wr[k] -= e * Up[k];
            }
        }
        if (res == UNIQL_OK && H && b1 < n)
            uniql__gemm(m, n - b1, nb, -1.0, Err, (size_t)nb, 0, U + (size_t)b0 * n + b1, (size_t)n, Wd + b1, (size_t)n, 0, gw);
    }
    if (res != UNIQL_OK) goto done;
    /* pack, in the layout of uniql_quantize */
    memset(buf, 0, need);
    scales = (uint16_t *)(void *)(data + S * stride);
    zeros = o.dtype == UNIQL_DTYPE_Q4Z ? (uint8_t *)(scales + S * ng) : NULL;
    for (i = 0; i < S * ng; i++) {
        scales[i] = gq[i].h;
        if (zeros) zeros[i] = (uint8_t)gq[i].z;
    }
    for (r = 0; r < m; r++)
        for (p = 0; p < n; p++) {
            size_t s = (size_t)(tr ? perm[p] : r), e = (size_t)(tr ? r : perm[p]);
            unsigned char *row = data + s * stride;
            int qv = Q[(size_t)r * n + p];
            if (o.dtype == UNIQL_DTYPE_Q8) row[e] = (unsigned char)(signed char)qv;
            else {
                unsigned nib = (unsigned)qv & 15u;
                size_t jj = e & 31;
                row[(e >> 5) * 16 + (jj & 15)] |= (unsigned char)(jj < 16 ? nib : nib << 4);
            }
        }
    memset(&mo, 0, sizeof mo);
    mo.dtype = o.dtype;
    mo.rows = m;
    mo.cols = n;
    mo.transposed = tr;
    mo.data = data;
    mo.stride = stride;
    mo.scales = scales;
    mo.scale_stride = ng;
    mo.zeros = zeros;
    mo.group = o.dtype == UNIQL_DTYPE_Q8 ? (int)L : G;
    *out = mo;
done:
    UNIQL_FREE(base, o.alloc_user);
    return res;
}

/* ---- Presets (API 7b) ---- */

UNIQLDEF uniql_result uniql_preset_fill(uniql_preset_kind kind, const uniql_config *c, int seq_len, uniql_preset *p)
{
    int T;
    if (!c || !p || seq_len < 0 || (kind != UNIQL_PRESET_UNIQLH && kind != UNIQL_PRESET_OFFICIAL)) return UNIQL_ERR_INVALID_ARG;
    memset(p, 0, sizeof *p);
    T = seq_len ? seq_len : 256;
    p->calib.seq_len = T;
    if (kind == UNIQL_PRESET_OFFICIAL) p->calib.dtb_raw_dt = 1;
    p->sort.layout = UNIQL_LAYOUT_PRUNABLE;
    p->quant.seq_len = T;
    p->quantizer_name = "rtn";
    if (kind == UNIQL_PRESET_UNIQLH) return UNIQL_OK;
    /* correlations summed per sequence and divided by the number of sequences are T times
       uniql.h's per-token mean: lambda_official on them is lambda_official / T here */
    p->sort.ridge_lambda = (c->arch == UNIQL_ARCH_MAMBA2 ? 1e-4 : 1.0) / (double)T;
    p->sort.eig_floor = 1e-6 / (double)T;
    p->sort.qk_score = UNIQL_QK_SCORE_OFFICIAL;
    p->importance = UNIQL_IMPORTANCE_BLOCK_INFLUENCE_LAST;
    p->rates_official = 1;
    p->units.qk_unit = 16; p->units.v_unit = 16; p->units.mlp_unit = 128; p->units.mamba_unit = 1; p->units.state_unit = 16;
    p->rotate = c->arch != UNIQL_ARCH_QWEN2;
    p->quant.method = UNIQL_QUANT_GPTQ;
    p->quant.bits = 4;
    p->quant.group = 128;
    p->quant.scale_rule = UNIQL_SCALE_OFFICIAL;
    p->quant.damp = 0.01;
    p->quant.block = 128;
    p->quant.embed_bits = 4;
    p->quant.embed_per_row = 1;
    p->quant.lm_head_bits = 4;
    p->quantizer_name = "gptq";
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_layer_rates_official(int n_layers, const double *importance, double global_rate, double eps,
                                                 double max_rate, double *rates)
{
    double mx = -HUGE_VAL, sum = 0;
    int l;
    if (n_layers < 1 || !importance || !rates || !(global_rate >= 0 && global_rate < 1)) return UNIQL_ERR_INVALID_ARG;
    if (eps <= 0) eps = 0.1;
    if (max_rate <= 0) max_rate = 0.85;
    for (l = 0; l < n_layers; l++) {
        if (!isfinite(importance[l])) return UNIQL_ERR_NONFINITE;
        if (-importance[l] / eps > mx) mx = -importance[l] / eps;
    }
    for (l = 0; l < n_layers; l++) sum += exp(-importance[l] / eps - mx);
    for (l = 0; l < n_layers; l++) {
        double v = (double)n_layers * global_rate * exp(-importance[l] / eps - mx) / sum;
        rates[l] = v < 0 ? 0 : v > max_rate ? max_rate : v;
    }
    return UNIQL_OK;
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

static uint64_t uniql__align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

static int uniql__pack_entry_cmp(const void *a, const void *b)
{
    const uniql_pack_entry *x = *(const uniql_pack_entry *const *)a, *y = *(const uniql_pack_entry *const *)b;
    return strcmp(x->name, y->name);
}

/* The layout both writers share: tensors in name order (*ord_out, owned by the caller
   afterwards), blob offsets (*plan_out, indexed like *ord_out), the JSON header (hb) and
   the sizes. Checks names (non-empty, unique, UTF-8), shapes and the meta object. */
static uniql_result uniql__pack_layout(const char *config_json, size_t config_len, const char *meta_json, size_t meta_len,
                                       const uniql_pack_entry *e, int n, void *user, const uniql_pack_entry ***ord_out,
                                       uniql__pack_plan **plan_out, uniql__sb *hb, uint64_t *doff_out, uint64_t *data_out,
                                       uniql_error *err)
{
    const uniql_pack_entry **ord;
    uniql__pack_plan *plan;
    uniql_json_doc md;
    uniql_result r = UNIQL_OK;
    uint64_t data = 0, hdr_len;
    int i;
    *ord_out = NULL;
    *plan_out = NULL;
    if (meta_json) {
        r = uniql_json_parse(meta_json, meta_len, 0, user, &md, err);
        if (r != UNIQL_OK) return r;
        r = md.root->type == UNIQL_JSON_OBJECT ? UNIQL_OK : UNIQL_ERR_FORMAT;
        uniql_json_free(&md);
        if (r != UNIQL_OK) return uniql__fail(err, r, "pack: meta is not a JSON object");
    }
    ord = (const uniql_pack_entry **)UNIQL_MALLOC(sizeof(*ord) * (size_t)(n + 1), user);
    plan = (uniql__pack_plan *)UNIQL_MALLOC(sizeof(*plan) * (size_t)(n + 1), user);
    *ord_out = ord;
    *plan_out = plan;
    if (!ord || !plan) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack: out of memory");
    for (i = 0; i < n; i++) {
        if (!e[i].name || !e[i].name[0]) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: tensor %d has no name", i);
        ord[i] = &e[i];
    }
    qsort(ord, (size_t)n, sizeof(*ord), uniql__pack_entry_cmp);
    for (i = 0; i < n; i++) {
        const uniql_pack_entry *t = ord[i];
        uniql__pack_plan *pl = &plan[i];
        if (i > 0 && !strcmp(ord[i - 1]->name, t->name))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: tensor name '%s' given twice", t->name);
        r = uniql_pack_tensor_bytes(t->dtype, t->rows, t->cols, t->transposed != 0,
                                    uniql__pack_is_quant(t->dtype) && t->dtype != UNIQL_DTYPE_Q8 ? t->group : 0,
                                    &pl->db, &pl->sb, &pl->zb);
        if (r != UNIQL_OK) return uniql__fail(err, r, "pack: tensor '%s': bad dtype or shape", t->name);
        pl->doff = data; data = uniql__align64(data + pl->db);
        pl->soff = data; data = uniql__align64(data + pl->sb);
        pl->zoff = data; data = uniql__align64(data + pl->zb);
        if (data > ((uint64_t)1 << 62)) return uniql__fail(err, UNIQL_ERR_OVERFLOW, "pack: data too large");
    }
    /* JSON header */
    uniql__sb_str(hb, "{\"format\":\"uniql\",\"version\":1,\"config\":");
    if (!uniql__sb_json_string(hb, config_json ? config_json : "", config_len))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: config text is not valid UTF-8");
    uniql__sb_str(hb, ",\"meta\":");
    if (meta_json) uniql__sb_put(hb, meta_json, meta_len); else uniql__sb_str(hb, "{}");
    uniql__sb_str(hb, ",\n\"tensors\":[");
    for (i = 0; i < n; i++) {
        const uniql_pack_entry *t = ord[i];
        uniql__pack_plan *pl = &plan[i];
        int q = uniql__pack_is_quant(t->dtype);
        uniql__sb_str(hb, i ? ",\n{\"name\":" : "\n{\"name\":");
        if (!uniql__sb_json_string(hb, t->name, strlen(t->name)))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: tensor name %d is not valid UTF-8", i);
        uniql__sb_fmt(hb, ",\"dtype\":\"%s\",\"rows\":%d,\"cols\":%d,\"transposed\":%d,\"group\":%d",
                      uniql__pack_dtype_names[t->dtype], t->rows, t->cols, t->transposed != 0,
                      q && t->dtype != UNIQL_DTYPE_Q8 ? t->group : 0);
        uniql__sb_fmt(hb, ",\"data\":[%llu,%llu]", (unsigned long long)pl->doff, (unsigned long long)pl->db);
        if (q) uniql__sb_fmt(hb, ",\"scales\":[%llu,%llu]", (unsigned long long)pl->soff, (unsigned long long)pl->sb);
        if (t->dtype == UNIQL_DTYPE_Q4Z)
            uniql__sb_fmt(hb, ",\"zeros\":[%llu,%llu]", (unsigned long long)pl->zoff, (unsigned long long)pl->zb);
        uniql__sb_str(hb, "}");
    }
    uniql__sb_str(hb, "]}\n");
    if (hb->oom) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack: out of memory (header)");
    hdr_len = hb->n;
    if (hdr_len > UNIQL_PACK_MAX_HEADER) return uniql__fail(err, UNIQL_ERR_OVERFLOW, "pack: header too large");
    *doff_out = uniql__align64(UNIQL_PACK_FIXED_HEADER + hdr_len);
    *data_out = data;
    return UNIQL_OK;
}

/* the 48 fixed bytes (checksum 0) */
static void uniql__pack_fixed(unsigned char *f, uint64_t hdr_len, uint64_t doff, uint64_t data)
{
    memcpy(f, uniql__pack_magic, 8);
    uniql__put_u32(f + 8, UNIQL_PACK_VERSION);
    uniql__put_u32(f + 12, 0);
    uniql__put_u64(f + 16, hdr_len);
    uniql__put_u64(f + 24, doff);
    uniql__put_u64(f + 32, data);
    uniql__put_u64(f + 40, 0);
}

/* the entry of a view (type, shape, group) for the layout */
static uniql_pack_entry uniql__pack_entry_of(const uniql_pack_input *t)
{
    uniql_pack_entry e;
    memset(&e, 0, sizeof e);
    e.name = t->name;
    e.dtype = t->m.dtype;
    e.rows = t->m.rows;
    e.cols = t->m.cols;
    e.transposed = t->m.transposed != 0;
    e.group = t->m.group;
    return e;
}

UNIQLDEF uniql_result uniql_pack_write(const char *config_json, size_t config_len, const char *meta_json,
                                       size_t meta_len, const uniql_pack_input *tensors, int n_tensors,
                                       void *alloc_user, void **out, size_t *out_size, uniql_error *err)
{
    const uniql_pack_entry **ord = NULL;
    uniql_pack_entry *ent = NULL;
    uniql__pack_plan *plan = NULL;
    uniql__sb hb;
    uniql_result r = UNIQL_OK;
    uint64_t data = 0, doff = 0, total;
    unsigned char *f = NULL;
    int i;
    memset(&hb, 0, sizeof hb);
    hb.user = alloc_user;
    if (out) *out = NULL;
    if (out_size) *out_size = 0;
    if (!out || !out_size || (!config_json && config_len) || n_tensors < 0 || (n_tensors && !tensors))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: NULL argument or negative count");
    ent = (uniql_pack_entry *)UNIQL_MALLOC(sizeof(*ent) * (size_t)(n_tensors + 1), alloc_user);
    if (!ent) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack: out of memory");
    for (i = 0; i < n_tensors; i++) {
        const uniql_matrix *m = &tensors[i].m;
        if (!tensors[i].name || !tensors[i].name[0] || !m->data ||
            (uniql__pack_is_quant(m->dtype) && !m->scales) || (m->dtype == UNIQL_DTYPE_Q4Z && !m->zeros)) {
            r = uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: tensor %d has no name, data, scales or zeros", i);
            goto done;
        }
        ent[i] = uniql__pack_entry_of(&tensors[i]);
        ent[i].at = (uint64_t)i;   /* which view */
    }
    r = uniql__pack_layout(config_json, config_len, meta_json, meta_len, ent, n_tensors, alloc_user, &ord, &plan, &hb,
                           &doff, &data, err);
    if (r != UNIQL_OK) goto done;
    total = doff + data;
    if (total > (uint64_t)((size_t)-1)) { r = uniql__fail(err, UNIQL_ERR_OVERFLOW, "pack: file too large"); goto done; }
    f = (unsigned char *)UNIQL_MALLOC((size_t)total, alloc_user);
    if (!f) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack: out of memory (%llu bytes)", (unsigned long long)total); goto done; }
    memset(f, 0, (size_t)total);
    uniql__pack_fixed(f, hb.n, doff, data);
    memcpy(f + UNIQL_PACK_FIXED_HEADER, hb.p, hb.n);
    for (i = 0; i < n_tensors; i++) {
        const uniql_matrix *m = &tensors[ord[i]->at].m;
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
    UNIQL_FREE(ent, alloc_user);
    return r;
}

/* ---- reader ---- */

static int uniql__json_u64(const uniql_json *j, uint64_t *out)
{
    if (!j || j->type != UNIQL_JSON_NUMBER || !(j->u.number >= 0) || j->u.number > 9007199254740992.0 ||
        j->u.number != floor(j->u.number)) return 0;
    *out = (uint64_t)j->u.number;
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
    return j && j->type == UNIQL_JSON_ARRAY && j->len == 2 && uniql__json_u64(uniql_json_at(j, 0), off) &&
           uniql__json_u64(uniql_json_at(j, 1), len);
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
    if (!uniql__mul_size((size_t)arr->len + 1, sizeof(uniql_pack_tensor) + 3 * sizeof(uniql__range), &bytes))
        return uniql__fail(err, UNIQL_ERR_OVERFLOW, "uniql: too many tensors");
    p->mem = UNIQL_MALLOC(bytes, p->alloc_user);
    if (!p->mem) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "uniql: out of memory");
    T = (uniql_pack_tensor *)p->mem;
    R = (uniql__range *)(void *)(T + arr->len + 1);
    memset(T, 0, sizeof(*T) * (size_t)arr->len);
    for (i = 0; (e = uniql_json_at(arr, i)) != NULL; i++) {
        const uniql_json *nm = uniql_json_get(e, "name"), *dt = uniql_json_get(e, "dtype");
        const uniql_json *zs = uniql_json_get(e, "zeros"), *sc = uniql_json_get(e, "scales");
        uniql_pack_tensor *t = &T[i];
        int d, rows, cols, tr, group, q;
        uint64_t db, sb, zb, off[3], len[3];
        uniql_result r;
        if (e->type != UNIQL_JSON_OBJECT || !nm || nm->type != UNIQL_JSON_STRING || !nm->len || strlen(nm->u.str) != nm->len)
            return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: tensor %d has no valid name", i);
        t->name = nm->u.str;
        if (i > 0 && strcmp(T[i - 1].name, t->name) >= 0)
            return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: tensor '%s' out of name order or duplicated", t->name);
        if (!dt || dt->type != UNIQL_JSON_STRING) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: tensor '%s' has no dtype", t->name);
        for (d = 0; d < 6; d++) if (!strcmp(dt->u.str, uniql__pack_dtype_names[d]) && strlen(dt->u.str) == dt->len) break;
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
    p->n_tensors = arr->len;
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
    if (root->type != UNIQL_JSON_OBJECT || !v || v->type != UNIQL_JSON_STRING || strcmp(v->u.str, "uniql") ||
        !uniql__json_u64(uniql_json_get(root, "version"), &i) || i != UNIQL_PACK_VERSION ||
        !cfg || cfg->type != UNIQL_JSON_STRING || !(p->meta = uniql_json_get(root, "meta")) ||
        p->meta->type != UNIQL_JSON_OBJECT) {
        uniql_packed_free(p);
        return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: header lacks format/version/config/meta");
    }
    p->config_json = cfg->u.str;
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
    int has_mlp = uniql__blk_mlp(t);
    if (s->decoder_only) return uniql__blk_two_norms(t);
    if (s->attn) return has_attn;
    if (s->mlp) return has_mlp;
    if (s->mamba) return uniql__blk_mamba(t);
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
    if (uniql__blk_mlp(t)) k->d_int = c->intermediate_size;
    if (uniql__blk_mamba(t)) { k->head_dim = c->ssm_head_dim; k->state = c->ssm_state; }
}

static void uniql__pk_layer_kept(const uniql_layer *ly, uniql_kept *k)
{
    memset(k, 0, sizeof *k);
    if (ly->type == UNIQL_BLOCK_DECODER || ly->type == UNIQL_BLOCK_ATTENTION) { k->qk_dim = ly->attn.qk_dim; k->v_dim = ly->attn.v_dim; }
    if (uniql__blk_mlp(ly->type)) k->d_int = ly->mlp.d_int;
    if (uniql__blk_mamba(ly->type)) { k->head_dim = ly->mamba.head_dim_kept; k->state = ly->mamba.state_kept; }
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

/* The named tensors of one part of m (layer < 0: the globals), as uniql_pack_model lists
   them; NL bytes per name in `names`. */
#define UNIQL__PK_NAME 64
static uniql_result uniql__pk_part(const uniql_model *m, int layer, int name_layer, const uniql_model *upgrade,
                                   uniql_pack_input *in, char *names, int cap, int *count, uniql_error *err)
{
    const uniql_config *c = &m->config;
    int n = 0, s;
#define UNIQL__PK_ADD(view, ...) do { if (n == cap) return uniql__fail(err, UNIQL_ERR_RANGE, "pack model: more than %d tensors", cap); \
        snprintf(names + UNIQL__PK_NAME * (size_t)n, UNIQL__PK_NAME, __VA_ARGS__); \
        in[n].name = names + UNIQL__PK_NAME * (size_t)n; in[n].m = (view); n++; } while (0)
    *count = 0;
    if (layer < 0) {
        UNIQL__PK_ADD(m->embed, "embed");
        if (!c->tie_embeddings) UNIQL__PK_ADD(m->lm_head, "lm_head");
        UNIQL__PK_ADD(uniql_matrix_f32(m->final_norm, 1, c->hidden_size, (size_t)c->hidden_size), "final_norm");
    } else {
        const uniql_layer *ly = &m->layers[layer];
        uniql_kept f;
        uniql__pk_full_kept(c, layer, &f);
        for (s = 0; s < UNIQL__PK_NSPEC; s++) {
            const uniql__pk_spec *sp = &uniql__pk_specs[s];
            if (!uniql__pk_applies(sp, ly->type)) continue;
            if (sp->kind == 0) {
                const uniql_matrix *w = (const uniql_matrix *)(const void *)((const char *)ly + sp->off);
                if (!w->data) continue;
                UNIQL__PK_ADD(*w, "layers.%d.%s", name_layer, sp->name);
                if (upgrade) {
                    const uniql_matrix *u = (const uniql_matrix *)(const void *)((const char *)&upgrade->layers[layer] + sp->off);
                    if (!u->data || u->rows != w->rows || u->cols != w->cols || u->transposed != w->transposed)
                        return uniql__fail(err, UNIQL_ERR_SHAPE, "pack model: layer %d %s: upgrade copy differs in shape", name_layer,
                                           sp->name);
                    UNIQL__PK_ADD(*u, "layers.%d.%s@8", name_layer, sp->name);
                }
            } else {
                const float *v = *(const float *const *)(const void *)((const char *)ly + sp->off);
                int nb, fb, kb;
                if (!v) continue;
                uniql__pk_dim(c, &f, sp->dim, &nb, &fb, &kb);
                UNIQL__PK_ADD(uniql_matrix_f32(v, 1, nb * fb * (sp->conv ? c->conv_kernel : 1), 0), "layers.%d.%s", name_layer,
                              sp->name);
            }
        }
    }
#undef UNIQL__PK_ADD
    *count = n;
    return UNIQL_OK;
}

/* the meta object (API 9) into mb; rates and kept tables checked here */
static uniql_result uniql__pk_meta(const uniql_config *c, const int *const *rope_pairs, const uniql_pack_model_desc *d,
                                   const unsigned char *upgrades, uniql__sb *mb, uniql_error *err)
{
    int L = c->n_layers, l, i;
    if (d->n_rates < 0 || d->n_rates > UNIQL_PACK_MAX_RATES || (d->n_rates && (!d->rates || !d->kept)))
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack model: NULL or out-of-range argument");
    for (l = 0; l < L; l++)
        for (i = 0; i < d->n_rates; i++)
            if (!uniql__pk_kept_ok(c, l, &d->kept[(size_t)i * (size_t)L + (size_t)l]))
                return uniql__fail(err, UNIQL_ERR_SHAPE, "pack model: rate table %d, layer %d: kept sizes out of range", i, l);
    for (i = 0; i < d->n_rates; i++)
        if (!(d->rates[i] >= 0 && d->rates[i] < 1) || (i && !(d->rates[i] > d->rates[i - 1])))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack model: rates must ascend strictly in [0, 1)");
    uniql__sb_fmt(mb, "{\"kind\":\"uniql-model\",\"n_layers\":%d,\"rope_pairs\":[", L);
    for (l = 0; l < L; l++) {
        const int *rp = rope_pairs ? rope_pairs[l] : NULL;
        if (l) uniql__sb_str(mb, ",");
        if ((c->block[l] == UNIQL_BLOCK_DECODER || c->block[l] == UNIQL_BLOCK_ATTENTION) && rp && c->rope_type != UNIQL_ROPE_NONE) {
            int j, np = c->n_kv_heads * (c->head_dim / 2);
            uniql__sb_str(mb, "[");
            for (j = 0; j < np; j++) uniql__sb_fmt(mb, j ? ",%d" : "%d", rp[j]);
            uniql__sb_str(mb, "]");
        } else uniql__sb_str(mb, "null");
    }
    uniql__sb_str(mb, "],\n\"rates\":[");
    for (i = 0; i < d->n_rates; i++) uniql__sb_fmt(mb, i ? ",%.17g" : "%.17g", d->rates[i]);
    uniql__sb_str(mb, "],\n\"kept\":[");
    for (i = 0; i < d->n_rates; i++) {
        uniql__sb_str(mb, i ? ",\n[" : "[");
        for (l = 0; l < L; l++) {
            uniql_kept km = uniql__pk_mask(c, l, &d->kept[(size_t)i * (size_t)L + (size_t)l]);
            if (l) uniql__sb_str(mb, ",");
            uniql__sb_kept(mb, &km);
        }
        uniql__sb_str(mb, "]");
    }
    uniql__sb_str(mb, "]");
    if (d->block_influence) uniql__sb_doubles(mb, "block_influence", d->block_influence, L);
    if (d->lsaq_importance) uniql__sb_doubles(mb, "lsaq", d->lsaq_importance, L);
    uniql__sb_str(mb, ",\"upgrades\":[");
    for (l = 0; l < L; l++) uniql__sb_str(mb, l ? (upgrades && upgrades[l] ? ",1" : ",0") : (upgrades && upgrades[l] ? "1" : "0"));
    uniql__sb_str(mb, "]");
    if (d->tokenizer_json) {
        uint64_t h = 0xcbf29ce484222325ull;
        size_t q;
        for (q = 0; q < d->tokenizer_len; q++) h = (h ^ (unsigned char)d->tokenizer_json[q]) * 0x100000001b3ull;
        uniql__sb_str(mb, ",\n\"tokenizer\":{\"json\":");
        if (!uniql__sb_json_string(mb, d->tokenizer_json, d->tokenizer_len))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack model: tokenizer.json is not valid UTF-8");
        uniql__sb_str(mb, ",\"config\":");
        if (!d->tokenizer_config) uniql__sb_str(mb, "null");
        else if (!uniql__sb_json_string(mb, d->tokenizer_config, d->tokenizer_config_len))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack model: tokenizer_config.json is not valid UTF-8");
        uniql__sb_fmt(mb, ",\"fnv1a64\":\"%08lx%08lx\"}", (unsigned long)(h >> 32), (unsigned long)(h & 0xFFFFFFFFu));
    }
    if (d->rotation) {
        uniql__sb_str(mb, ",\"rotation\":");
        if (!uniql__sb_json_string(mb, d->rotation, strlen(d->rotation)))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack model: rotation is not UTF-8");
    }
    if (d->quantizer) {
        uniql__sb_str(mb, ",\"quantizer\":");
        if (!uniql__sb_json_string(mb, d->quantizer, strlen(d->quantizer)))
            return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack model: quantizer is not UTF-8");
    }
    uniql__sb_str(mb, "}");
    if (mb->oom) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack model: out of memory (meta)");
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_pack_model(const uniql_model *m, const uniql_pack_model_desc *d, void *alloc_user,
                                       void **out, size_t *out_size, uniql_error *err)
{
    const uniql_config *c;
    uniql_pack_input *in = NULL;
    char *names = NULL;
    const int **pairs = NULL;
    uniql__sb mb;
    int L, l, n = 0, cap, k;
    uniql_result r = UNIQL_OK;
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
        uniql_kept kk, f;
        uniql__pk_layer_kept(&m->layers[l], &kk);
        uniql__pk_full_kept(c, l, &f);
        if (memcmp(&kk, &f, sizeof kk))
            return uniql__fail(err, UNIQL_ERR_SHAPE, "pack model: layer %d is already pruned (pack the full sorted model)", l);
    }
    cap = 3 + L * UNIQL__PK_NSPEC * 2;
    in = (uniql_pack_input *)UNIQL_MALLOC(sizeof(*in) * (size_t)cap, alloc_user);
    names = (char *)UNIQL_MALLOC(UNIQL__PK_NAME * (size_t)cap, alloc_user);
    pairs = (const int **)UNIQL_MALLOC(sizeof(*pairs) * (size_t)L, alloc_user);
    if (!in || !names || !pairs) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack model: out of memory"); goto done; }
    for (l = -1; l < L && r == UNIQL_OK; l++) {
        r = uniql__pk_part(m, l, l, l >= 0 && d->upgrade && d->upgrade_layers[l] ? d->upgrade : NULL, in + n,
                           names + UNIQL__PK_NAME * (size_t)n, cap - n, &k, err);
        n += k;
    }
    for (l = 0; l < L; l++) pairs[l] = m->layers[l].attn.rope_pairs;
    if (r == UNIQL_OK) r = uniql__pk_meta(c, pairs, d, d->upgrade ? d->upgrade_layers : NULL, &mb, err);
    if (r == UNIQL_OK) r = uniql_pack_write(d->config_json, d->config_len, mb.p, mb.n, in, n, alloc_user, out, out_size, err);
done:
    if (mb.p) UNIQL_FREE(mb.p, alloc_user);
    if (in) UNIQL_FREE(in, alloc_user);
    if (names) UNIQL_FREE(names, alloc_user);
    if (pairs) UNIQL_FREE((void *)pairs, alloc_user);
    return r;
}

/* ---- reading the meta tables ---- */

UNIQLDEF uniql_result uniql_packed_tokenizer(const uniql_packed *p, void *alloc_user, uniql_tokenizer **out, uniql_error *err)
{
    const uniql_json *tk, *js, *cf, *h;
    uint64_t hv = 0xcbf29ce484222325ull;
    size_t q;
    char hex[17];
    if (out) *out = NULL;
    if (!p || !out) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL argument");
    tk = uniql_json_get(p->meta, "tokenizer");
    if (!tk || tk->type == UNIQL_JSON_NULL) return uniql__fail(err, UNIQL_ERR_MISSING, "uniql: the file carries no tokenizer");
    js = uniql_json_get(tk, "json");
    cf = uniql_json_get(tk, "config");
    h = uniql_json_get(tk, "fnv1a64");
    if (tk->type != UNIQL_JSON_OBJECT || !js || js->type != UNIQL_JSON_STRING || !h || h->type != UNIQL_JSON_STRING ||
        (cf && cf->type != UNIQL_JSON_STRING && cf->type != UNIQL_JSON_NULL))
        return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: meta \"tokenizer\" must be {\"json\": text, \"config\": text|null, \"fnv1a64\": hex}");
    for (q = 0; q < js->len; q++) hv = (hv ^ (unsigned char)js->u.str[q]) * 0x100000001b3ull;
    snprintf(hex, sizeof hex, "%08lx%08lx", (unsigned long)(hv >> 32), (unsigned long)(hv & 0xFFFFFFFFu));
    if (h->len != 16 || memcmp(h->u.str, hex, 16))
        return uniql__fail(err, UNIQL_ERR_CHECKSUM, "uniql: tokenizer checksum %.16s, its bytes hash to %s", h->u.str, hex);
    return uniql_tokenizer_load(js->u.str, js->len, cf && cf->type == UNIQL_JSON_STRING ? cf->u.str : NULL,
                                cf && cf->type == UNIQL_JSON_STRING ? cf->len : 0, alloc_user, out, err);
}

static const uniql_json *uniql__pk_meta_array(const uniql_packed *p, const char *key, int count)
{
    const uniql_json *a = p ? uniql_json_get(p->meta, key) : NULL;
    if (!a || a->type != UNIQL_JSON_ARRAY || (count >= 0 && a->len != (uint32_t)count)) return NULL;
    return a;
}

static int uniql__pk_n_layers(const uniql_packed *p)
{
    int n;
    const uniql_json *k = p ? uniql_json_get(p->meta, "kind") : NULL;
    if (!k || k->type != UNIQL_JSON_STRING || strcmp(k->u.str, "uniql-model")) return -1;
    if (!uniql__json_int(uniql_json_get(p->meta, "n_layers"), 1, UNIQL_MAX_LAYERS, &n)) return -1;
    return n;
}

UNIQLDEF uniql_result uniql_packed_rates(const uniql_packed *p, double *rates, int cap, int *n_rates, uniql_error *err)
{
    const uniql_json *a = uniql__pk_meta_array(p, "rates", -1), *e;
    int i;
    if (!n_rates || cap < 0 || (cap && !rates)) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL argument");
    *n_rates = 0;
    if (!a || a->len > UNIQL_PACK_MAX_RATES) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: meta has no valid \"rates\"");
    for (i = 0; (e = uniql_json_at(a, i)) != NULL; i++) {
        if (e->type != UNIQL_JSON_NUMBER || !(e->u.number >= 0 && e->u.number < 1)) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: rate %d invalid", i);
        /* the format says strictly ascending: --mem-mb's search and --rate's lookup rely on it */
        if (i > 0 && !(e->u.number > uniql_json_at(a, i - 1)->u.number))
            return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: rates must ascend strictly (rate %d = %g after %g)", i, e->u.number,
                               uniql_json_at(a, i - 1)->u.number);
        if (i < cap) rates[i] = e->u.number;
    }
    *n_rates = (int)a->len;
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
    {
        int n_rates = 0;
        r = uniql_packed_rates(p, NULL, 0, &n_rates, err);
        if (r != UNIQL_OK) return r;
        if (a->len != (uint32_t)n_rates)
            return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: %d kept tables for %d rates", (int)a->len, n_rates);
    }
    if ((uint32_t)rate_index >= a->len) return uniql__fail(err, UNIQL_ERR_RANGE, "uniql: no rate table %d (%d stored)", rate_index, (int)a->len);
    row = uniql_json_at(a, rate_index);
    if (!row || row->type != UNIQL_JSON_ARRAY || row->len != (uint32_t)L) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: rate table %d ill-formed", rate_index);
    for (l = 0; (e = uniql_json_at(row, l)) != NULL; l++) {
        int v[5], j;
        for (j = 0; j < 5; j++)
            if (!uniql__json_int(e->type == UNIQL_JSON_ARRAY && e->len == 5 ? uniql_json_at(e, j) : NULL, 0, 0x7fffffff, &v[j])) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: rate table %d layer %d ill-formed", rate_index, l);
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
    if (a->type != UNIQL_JSON_ARRAY || a->len != (uint32_t)L) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: \"%s\" ill-formed", which);
    for (l = 0; (e = uniql_json_at(a, l)) != NULL; l++) {
        if (e->type != UNIQL_JSON_NUMBER || !isfinite(e->u.number))
            return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: \"%s\"[%d] not a finite number", which, l);
        out[l] = e->u.number;
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

/* Index of the first NaN/Inf among the values a stored tensor can hold non-finite: every
   element of F32/F16/BF16, every fp16 scale of Q4/Q4Z/Q8 (nibbles, int8 and zero points
   are integers). -1 if none. The blobs of an open file are contiguous (API 9). */
static long long uniql__pk_nonfinite(const uniql_matrix *m)
{
    uint64_t S = (uint64_t)(m->transposed ? m->cols : m->rows), L = (uint64_t)(m->transposed ? m->rows : m->cols), i, n;
    const unsigned char *b;
    if (uniql__pack_is_quant(m->dtype)) {
        const uint16_t *sc = m->scales;
        n = S * (uint64_t)m->scale_stride;
        for (i = 0; i < n; i++)
            if ((sc[i] & 0x7C00u) == 0x7C00u) return (long long)i;
        return -1;
    }
    b = (const unsigned char *)m->data;
    n = S * L;
    for (i = 0; i < n; i++) {
        if (m->dtype == UNIQL_DTYPE_F32) {
            uint32_t u;
            memcpy(&u, b + 4 * i, 4);
            if ((u & 0x7F800000u) == 0x7F800000u) return (long long)i;
        } else {
            uint16_t h, e = m->dtype == UNIQL_DTYPE_F16 ? 0x7C00u : 0x7F80u;
            memcpy(&h, b + 2 * i, 2);
            if ((h & e) == e) return (long long)i;
        }
    }
    return -1;
}

static uniql_result uniql__pk_matrix(const uniql_packed *p, const char *name, int rows, int cols, const uniql_matrix **m,
                                     uniql_error *err)
{
    const uniql_pack_tensor *t = uniql_packed_find(p, name);
    long long bad;
    if (!t) return uniql__fail(err, UNIQL_ERR_MISSING, "uniql: tensor '%s' missing", name);
    if (t->m.rows != rows || t->m.cols != cols)
        return uniql__fail(err, UNIQL_ERR_SHAPE, "uniql: tensor '%s' is %dx%d, config expects %dx%d", name, t->m.rows, t->m.cols, rows, cols);
    /* checked once at load, as the safetensors path does: a NaN scale would only surface
       as NaN logits (or, in a Mamba layer, as plausible text) */
    if ((bad = uniql__pk_nonfinite(&t->m)) >= 0)
        return uniql__fail(err, UNIQL_ERR_NONFINITE, "uniql: tensor '%s': %s %lld is NaN or Inf", name,
                           uniql__pack_is_quant(t->m.dtype) ? "scale" : "element", bad);
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
        int use8 = bits && bits[l] == 8 && up && up->type == UNIQL_JSON_NUMBER && up->u.number == 1;
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
            unsigned char seen[2048];   /* head_dim <= 4096 (config range) */
            if (c->rope_type == UNIQL_ROPE_NONE) {
                r = uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: layer %d stores rope_pairs, but the config's model has no RoPE", l);
                goto fail;
            }
            if (pj->len != (uint32_t)(c->n_kv_heads * half)) {
                r = uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: layer %d: rope_pairs has %d entries, expected %d (%d KV heads x %d pairs)", l,
                                (int)pj->len, c->n_kv_heads * half, c->n_kv_heads, half);
                goto fail;
            }
            rp = (int *)uniql__own(&m->storage, sizeof(int) * (size_t)(c->n_kv_heads * kp + 1), alloc_user);
            if (!rp) { r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "uniql: out of memory"); goto fail; }
            /* each KV head's list is a permutation of the original pairs (what sorting writes):
               a repeated pair would rotate two kept pairs by the same angle, silently */
            for (g = 0; g < c->n_kv_heads; g++) {
                memset(seen, 0, (size_t)half);
                for (j = 0; j < half; j++) {
                    int v;
                    if (!uniql__json_int(uniql_json_at(pj, g * half + j), 0, half - 1, &v) || seen[v]) {
                        r = uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: layer %d: rope_pairs of KV head %d is not a permutation of 0..%d", l, g,
                                        half - 1);
                        goto fail;
                    }
                    seen[v] = 1;
                    if (j < kp) rp[g * kp + j] = v;
                }
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

/* The bytes uniql_model_weight_bytes would report for uniql_packed_model_load(p, kept,
   bits), from the tensor table alone: the same view arithmetic (kept storage rows x row
   bytes with scales and zeros, gathered vectors), no model built and no weight byte read,
   so --mem-mb and the LSAQ plan cost microseconds per layer instead of a load each. It
   refuses what the loader refuses about shapes (MISSING, SHAPE, UNSUPPORTED cuts); the
   value checks (NaN scales) stay the loader's. `c` is the parsed config of p. */
#define UNIQL__PKB_FIND(nm, R, C) do { t = uniql_packed_find(p, (nm)); \
        if (!t) return uniql__fail(err, UNIQL_ERR_MISSING, "uniql: tensor '%s' missing", (nm)); \
        if (t->m.rows != (R) || t->m.cols != (C)) return uniql__fail(err, UNIQL_ERR_SHAPE, \
            "uniql: tensor '%s' is %dx%d, config expects %dx%d", (nm), t->m.rows, t->m.cols, (R), (C)); } while (0)

/* embed, lm_head, final norm */
static uniql_result uniql__pk_fixed_bytes(const uniql_packed *p, const uniql_config *c, uint64_t *bytes, uniql_error *err)
{
    const uniql_pack_tensor *t;
    uint64_t b = 0;
    UNIQL__PKB_FIND("embed", c->vocab_size, c->hidden_size);
    b += uniql__view_bytes(&t->m);
    if (!c->tie_embeddings) {
        UNIQL__PKB_FIND("lm_head", c->vocab_size, c->hidden_size);
        b += uniql__view_bytes(&t->m);
    }
    *bytes = b + 4 * (uint64_t)c->hidden_size;
    return UNIQL_OK;
}

/* layer l at kept sizes kept_l (NULL: full), from its "@8" copies if use8 */
static uniql_result uniql__pk_layer_bytes(const uniql_packed *p, const uniql_config *c, int l, const uniql_kept *kept_l,
                                          int use8, uint64_t *bytes, uniql_error *err)
{
    const uniql_pack_tensor *t;
    uniql_kept f, k;
    uniql_block_type type = (uniql_block_type)c->block[l];
    uint64_t b = 0;
    int s;
    char name[96];
    uniql__pk_full_kept(c, l, &f);
    k = kept_l ? uniql__pk_mask(c, l, kept_l) : f;
    if (!uniql__pk_kept_ok(c, l, &k)) return uniql__fail(err, UNIQL_ERR_SHAPE, "uniql: layer %d: kept sizes out of range", l);
    for (s = 0; s < UNIQL__PK_NSPEC; s++) {
        const uniql__pk_spec *sp = &uniql__pk_specs[s];
        int nb, fb, kb, a0, b0, width = sp->conv ? c->conv_kernel : 1;
        if (!uniql__pk_applies(sp, type)) continue;
        uniql__pk_dim(c, &f, sp->dim, &nb, &fb, &kb);
        uniql__pk_dim(c, &k, sp->dim, &a0, &b0, &kb);
        if ((long long)nb * fb * width > 0x7fffffffLL || nb < 1 || fb < 1)
            return uniql__fail(err, UNIQL_ERR_OVERFLOW, "uniql: layer %d %s: config sizes overflow", l, sp->name);
        if (sp->kind == 0) {
            int rows = sp->cut ? c->hidden_size : nb * fb, cols = sp->cut ? nb * fb : c->hidden_size;
            uint64_t S, per;
            if (!strcmp(sp->name, "mlp.gate") && c->mlp_act != UNIQL_MLP_SWIGLU) continue;
            snprintf(name, sizeof name, "layers.%d.%s%s", l, sp->name, use8 ? "@8" : "");
            UNIQL__PKB_FIND(name, rows, cols);
            S = (uint64_t)(t->m.transposed ? t->m.cols : t->m.rows);
            if (kb != fb) {
                if ((sp->cut == 0) == (t->m.transposed != 0))
                    return uniql__fail(err, UNIQL_ERR_UNSUPPORTED, "uniql: layer %d %s: pruning needs the %s dimension as storage rows",
                                       l, sp->name, sp->cut ? "input" : "output");
                S = (uint64_t)nb * (uint64_t)kb;
            }
            per = (uint64_t)t->m.stride;
            if (uniql__pack_is_quant(t->m.dtype)) per += 2 * (uint64_t)t->m.scale_stride + (t->m.zeros ? (uint64_t)t->m.scale_stride : 0);
            b += S * per;
        } else {
            snprintf(name, sizeof name, "layers.%d.%s", l, sp->name);
            if (!uniql_packed_find(p, name)) continue;   /* optional vectors */
            b += 4 * (uint64_t)nb * (uint64_t)kb * (uint64_t)width;
        }
    }
    *bytes = b;
    return UNIQL_OK;
}
#undef UNIQL__PKB_FIND

/* whether layer l has "@8" copies (meta "upgrades") */
static int uniql__pk_has8(const uniql_packed *p, int L, int l)
{
    const uniql_json *ups = uniql__pk_meta_array(p, "upgrades", L), *u = uniql_json_at(ups, l);
    return u && u->type == UNIQL_JSON_NUMBER && u->u.number == 1;
}

/* the whole model at kept sizes, all layers at the base width */
static uniql_result uniql__pk_bytes(const uniql_packed *p, const uniql_config *c, const uniql_kept *kept, uint64_t *bytes,
                                    uniql_error *err)
{
    uint64_t b, lb;
    int l;
    UNIQL__TRY(uniql__pk_fixed_bytes(p, c, &b, err));
    for (l = 0; l < c->n_layers; l++) {
        UNIQL__TRY(uniql__pk_layer_bytes(p, c, l, kept ? &kept[l] : NULL, 0, &lb, err));
        b += lb;
    }
    *bytes = b;
    return UNIQL_OK;
}

static uniql_result uniql__pk_config(const uniql_packed *p, uniql_config *c, uniql_error *err)
{
    int L = uniql__pk_n_layers(p);
    if (L < 1) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: not a packed model (meta kind / n_layers)");
    UNIQL__TRY(uniql_config_parse(p->config_json, p->config_len, p->alloc_user, c, err));
    if (c->n_layers != L) return uniql__fail(err, UNIQL_ERR_SHAPE, "uniql: meta has %d layers, config %d", L, c->n_layers);
    if (!uniql__pk_meta_array(p, "upgrades", L)) return uniql__fail(err, UNIQL_ERR_FORMAT, "uniql: meta lacks rope_pairs / upgrades");
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_packed_select_rate(const uniql_packed *p, uint64_t budget, void *alloc_user,
                                               int *rate_index, uint64_t *bytes, uniql_error *err)
{
    uniql_kept *k;
    uniql_config c;
    double rates[UNIQL_PACK_MAX_RATES];
    int n, i;
    uint64_t b = 0;
    uniql_result r;
    if (!p || !rate_index || !bytes) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL argument");
    UNIQL__TRY(uniql__pk_config(p, &c, err));
    UNIQL__TRY(uniql_packed_rates(p, rates, UNIQL_PACK_MAX_RATES, &n, err));
    k = (uniql_kept *)UNIQL_MALLOC(sizeof *k * (size_t)c.n_layers, alloc_user);
    if (!k) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "uniql: out of memory");
    /* rates ascend (checked), so the model shrinks along i: the first that fits is the
       largest kept model within the budget */
    for (i = -1; i < n; i++) {
        r = uniql_packed_kept(p, i, k, err);
        if (r == UNIQL_OK) r = uniql__pk_bytes(p, &c, k, &b, err);
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
    uniql_config c;
    int L, l;
    double *imp;
    uint64_t *lb, base = 0;
    uniql_result r;
    if (!p || !bits || !which) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "uniql: NULL argument");
    UNIQL__TRY(uniql__pk_config(p, &c, err));
    L = c.n_layers;
    imp = (double *)UNIQL_MALLOC(sizeof(double) * (size_t)L + sizeof(uint64_t) * 2 * (size_t)L, alloc_user);
    if (!imp) return uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "uniql: out of memory");
    lb = (uint64_t *)(void *)(imp + L);
    r = uniql_packed_importance(p, which, imp, err);
    /* per-layer sizes from the table: the base width, and the extra bytes of the 8-bit
       copy (0 when the layer has none, so the plan stays monotone) */
    if (r == UNIQL_OK) r = uniql__pk_fixed_bytes(p, &c, &base, err);
    for (l = 0; l < L && r == UNIQL_OK; l++) {
        uint64_t b4 = 0, b8 = 0;
        r = uniql__pk_layer_bytes(p, &c, l, kept ? &kept[l] : NULL, 0, &b4, err);
        if (r == UNIQL_OK && uniql__pk_has8(p, L, l)) r = uniql__pk_layer_bytes(p, &c, l, kept ? &kept[l] : NULL, 1, &b8, err);
        base += b4;
        lb[2 * l] = 0;
        lb[2 * l + 1] = b8 > b4 ? b8 - b4 : 0;
    }
    if (r == UNIQL_OK) {
        r = uniql_lsaq_plan(L, imp, 2, widths, lb, base, budget, bits, total);
        if (r != UNIQL_OK) uniql__fail(err, r, "uniql: LSAQ plan: %s (all-4-bit needs %llu bytes, budget %llu)",
                                       uniql_result_string(r), (unsigned long long)base, (unsigned long long)budget);
        else
            for (l = 0; l < L; l++)   /* report the widths that can actually be loaded */
                if (!uniql__pk_has8(p, L, l)) bits[l] = 4;
    }
    UNIQL_FREE(imp, alloc_user);
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

/* kept-pairs row j of head-local order -> rotate_half row: 2j, 2j+1 -> the dims of unit p_j
   (p_j and p_j + hd/2; partial rotary: uniql__unit_dims) */
static uniql_result uniql__ex_qk_rows(const uniql_config *c, const int *pairs, int heads, int per_kv, int *map)
{
    int hd = c->head_dim, half = hd / 2, h, j;
    for (h = 0; h < heads; h++) {
        const int *p = pairs ? pairs + (size_t)(h / per_kv) * half : NULL;
        for (j = 0; j < hd; j++) {
            int dst = j;
            if (p) {
                int pj = p[j / 2], da, db;
                if (pj < 0 || pj >= half) return UNIQL_ERR_UNSUPPORTED;
                uniql__unit_dims(c, pj, &da, &db);
                dst = (j % 2) ? db : da;
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
        X->m->config.arch == UNIQL_ARCH_QWEN2 || X->m->config.arch == UNIQL_ARCH_BAMBA ? "model." : "backbone.", l, base, suffix), nm)

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
    const char *base = c->arch == UNIQL_ARCH_BAMBA ? "mamba." : "mixer.";
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
    int l, llama, bamba;
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
    bamba = c->arch == UNIQL_ARCH_BAMBA;
    llama = c->arch == UNIQL_ARCH_LLAMA || c->arch == UNIQL_ARCH_QWEN2 || bamba;   /* the "model." prefix */
    r = uniql__ex_matrix(&X, &m->embed, NULL, llama ? "model.embed_tokens.weight" : "backbone.embeddings.weight");
    if (r == UNIQL_OK)
        r = uniql__ex_vector(&X, m->final_norm, c->hidden_size, NULL,
                             bamba ? "model.final_layernorm.weight" : llama ? "model.norm.weight" : "backbone.norm_f.weight");
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
            if (r == UNIQL_OK) r = UNIQL__EX_VEC(ly->mlp_norm, c->hidden_size, bamba ? "pre_ff_layernorm.weight" : "post_attention_layernorm.weight");
            if (r == UNIQL_OK) r = uniql__ex_attention(&X, l, &ly->attn, "self_attn.", 1);
            if (r == UNIQL_OK) r = uniql__ex_mlp(&X, l, &ly->mlp, bamba ? "feed_forward." : "mlp.");
            break;
        case UNIQL_BLOCK_MAMBA_MLP:   /* Bamba */
            r = UNIQL__EX_VEC(ly->norm, c->hidden_size, "input_layernorm.weight");
            if (r == UNIQL_OK) r = UNIQL__EX_VEC(ly->mlp_norm, c->hidden_size, "pre_ff_layernorm.weight");
            if (r == UNIQL_OK) r = uniql__ex_mamba(&X, l, &ly->mamba);
            if (r == UNIQL_OK) r = uniql__ex_mlp(&X, l, &ly->mlp, "feed_forward.");
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
    case UNIQL_ARCH_BAMBA: return "bamba";
    }
    return "?";
}

static const char uniql__block_chars[5] = { 'D', 'M', '*', '-', 'B' };   /* by uniql_block_type */

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
    for (l = 0; l < L; l++) uniql__sb_put(&b, &uniql__block_chars[c->block[l] < 5 ? c->block[l] : 0], 1);
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
    static const char *const arch_names[5] = { "llama", "qwen2", "mamba2", "nemotron_h", "bamba" };
    uniql_config *c = &o->config;
    const uniql_json *e, *mt, *nl, *bl;
    int v[UNIQL__ORD_NFP], i, l, any[5] = { 0, 0, 0, 0, 0 };
    if (mo->type != UNIQL_JSON_OBJECT) return uniql__fail(err, UNIQL_ERR_FORMAT, "order: \"model\" is not an object");
    for (e = uniql__json_first(mo); e; e = uniql__json_next(mo, e)) {
        int known = !strcmp(uniql__json_key(e)->u.str, "model_type") || !strcmp(uniql__json_key(e)->u.str, "n_layers") || !strcmp(uniql__json_key(e)->u.str, "blocks");
        for (i = 0; i < UNIQL__ORD_NFP && !known; i++) known = !strcmp(uniql__json_key(e)->u.str, uniql__ord_fp_keys[i]);
        if (!known) return uniql__fail(err, UNIQL_ERR_FORMAT, "order: unknown key \"model\".\"%.60s\"", uniql__json_key(e)->u.str);
    }
    mt = uniql_json_get(mo, "model_type");
    nl = uniql_json_get(mo, "n_layers");
    bl = uniql_json_get(mo, "blocks");
    if (!mt || !nl || !bl) return uniql__fail(err, UNIQL_ERR_MISSING, "order: \"model\" lacks model_type, n_layers or blocks");
    if (mt->type != UNIQL_JSON_STRING || bl->type != UNIQL_JSON_STRING || nl->type != UNIQL_JSON_NUMBER)
        return uniql__fail(err, UNIQL_ERR_FORMAT, "order: \"model\" model_type / blocks must be strings, n_layers a number");
    for (i = 0; i < 5 && strcmp(mt->u.str, arch_names[i]); i++) {}
    if (i == 5 || mt->len != strlen(arch_names[i])) return uniql__fail(err, UNIQL_ERR_SHAPE, "order: unknown model_type \"%.40s\"", mt->u.str);
    c->arch = (uniql_arch)(i + 1);
    if (!uniql__json_int(nl, 1, UNIQL_MAX_LAYERS, &c->n_layers)) return uniql__fail(err, UNIQL_ERR_SHAPE, "order: n_layers outside 1..%d", UNIQL_MAX_LAYERS);
    if (bl->len != (size_t)c->n_layers) return uniql__fail(err, UNIQL_ERR_SHAPE, "order: blocks has %lu characters, n_layers is %d", (unsigned long)bl->len, c->n_layers);
    for (l = 0; l < c->n_layers; l++) {
        for (i = 0; i < 5 && bl->u.str[l] != uniql__block_chars[i]; i++) {}
        if (i == 5) return uniql__fail(err, UNIQL_ERR_SHAPE, "order: blocks[%d] is not one of D M * - B", l);
        if ((c->arch == UNIQL_ARCH_MAMBA2 && i != UNIQL_BLOCK_MAMBA) ||
            ((c->arch == UNIQL_ARCH_LLAMA || c->arch == UNIQL_ARCH_QWEN2) && i != UNIQL_BLOCK_DECODER) ||
            (c->arch == UNIQL_ARCH_NEMOTRON_H && (i == UNIQL_BLOCK_DECODER || i == UNIQL_BLOCK_MAMBA_MLP)) ||
            (c->arch == UNIQL_ARCH_BAMBA && i != UNIQL_BLOCK_DECODER && i != UNIQL_BLOCK_MAMBA_MLP))
            return uniql__fail(err, UNIQL_ERR_SHAPE, "order: blocks[%d] '%c' does not occur in %s", l, bl->u.str[l], mt->u.str);
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
    if ((any[UNIQL_BLOCK_DECODER] || any[UNIQL_BLOCK_MLP] || any[UNIQL_BLOCK_MAMBA_MLP]) && c->intermediate_size < 1)
        return uniql__fail(err, UNIQL_ERR_SHAPE, "order: intermediate_size < 1");
    if ((any[UNIQL_BLOCK_MAMBA] || any[UNIQL_BLOCK_MAMBA_MLP]) && (c->ssm_heads < 1 || c->ssm_head_dim < 1 || c->ssm_state < 1 || c->ssm_groups < 1 ||
                                   c->ssm_heads % c->ssm_groups))
        return uniql__fail(err, UNIQL_ERR_SHAPE, "order: Mamba2 sizes inconsistent");
    return UNIQL_OK;
}

/* array of exactly n finite numbers */
static uniql_result uniql__ord_doubles(const uniql_json *a, int n, const char *key, double *out, uniql_error *err)
{
    const uniql_json *e;
    int i = 0;
    if (a->type != UNIQL_JSON_ARRAY || a->len != (uint32_t)n) return uniql__fail(err, UNIQL_ERR_FORMAT, "order: \"%s\" is not an array of %d numbers", key, n);
    for (e = uniql__json_first(a); e; e = uniql__json_next(a, e), i++) {
        if (e->type != UNIQL_JSON_NUMBER || !isfinite(e->u.number)) return uniql__fail(err, UNIQL_ERR_FORMAT, "order: \"%s\"[%d] is not a finite number", key, i);
        out[i] = e->u.number;
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
    for (e = uniql__json_first(root); e; e = uniql__json_next(root, e)) {
        for (i = 0; i < 8 && strcmp(uniql__json_key(e)->u.str, keys[i]); i++) {}
        if (i == 8) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: unknown key \"%.60s\"", uniql__json_key(e)->u.str);
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
    if (fm->type != UNIQL_JSON_STRING || fm->len != 11 || strcmp(fm->u.str, "uniql-order"))
        UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: \"format\" is not \"uniql-order\"");
    if (!ve) UNIQL__ORD_FAIL(UNIQL_ERR_MISSING, "order: no \"version\"");
    if (ve->type != UNIQL_JSON_NUMBER) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: \"version\" is not a number");
    if (ve->u.number != UNIQL_ORDER_VERSION) UNIQL__ORD_FAIL(UNIQL_ERR_VERSION, "order: version %g, this build reads %d", ve->u.number, UNIQL_ORDER_VERSION);
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
    if (rp->type != UNIQL_JSON_ARRAY || rp->len != (uint32_t)L) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: \"rope_pairs\" is not an array of %d entries", L);
    for (l = 0, e = uniql__json_first(rp); e; e = uniql__json_next(rp, e), l++) {
        int want = uniql__layer_has_attn(c->block[l]) && c->rope_type != UNIQL_ROPE_NONE;
        const uniql_json *h;
        if (!want) {
            if (e->type != UNIQL_JSON_NULL) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: rope_pairs[%d] must be null (no RoPE attention)", l);
            continue;
        }
        if (e->type != UNIQL_JSON_ARRAY || e->len != (uint32_t)c->n_kv_heads)
            UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: rope_pairs[%d] must hold %d KV-head rankings", l, c->n_kv_heads);
        for (h = uniql__json_first(e); h; h = uniql__json_next(e, h))
            if (h->type != UNIQL_JSON_ARRAY || h->len != (uint32_t)half)
                UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: rope_pairs[%d]: a ranking must hold %d pair indices", l, half);
        n_pairs += (size_t)c->n_kv_heads * (size_t)half;
    }
    if (ra->type != UNIQL_JSON_ARRAY || ra->len < 1 || ra->len > UNIQL_PACK_MAX_RATES)
        UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: \"rates\" must be an array of 1..%d rates", UNIQL_PACK_MAX_RATES);
    o->n_rates = (int)ra->len;
    for (i = 0, e = uniql__json_first(ra); e; e = uniql__json_next(ra, e), i++) {
        if (e->type != UNIQL_JSON_NUMBER || !(e->u.number >= 0 && e->u.number < 1) || (i && !(e->u.number > o->rates[i - 1])))
            UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: rates[%d] not in [0, 1) or not above the one before", i);
        o->rates[i] = e->u.number;
    }
    if (ke->type != UNIQL_JSON_ARRAY || ke->len != (uint32_t)o->n_rates)
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
        for (l = 0, e = uniql__json_first(rp); e; e = uniql__json_next(rp, e), l++) {
            const uniql_json *h, *x;
            if (e->type == UNIQL_JSON_NULL) continue;
            ptrs[l] = pairs;
            for (g = 0, h = uniql__json_first(e); h; h = uniql__json_next(e, h), g++) {
                memset(seen, 0, (size_t)half);
                for (j = 0, x = uniql__json_first(h); x; x = uniql__json_next(h, x), j++) {
                    int v;
                    if (!uniql__json_int(x, 0, half - 1, &v) || seen[v])
                        UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: rope_pairs[%d][%d] is not a permutation of 0..%d", l, g, half - 1);
                    seen[v] = 1;
                    *pairs++ = v;
                }
            }
        }
        for (i = 0, e = uniql__json_first(ke); e; e = uniql__json_next(ke, e), i++) {
            const uniql_json *row, *x;
            if (e->type != UNIQL_JSON_ARRAY || e->len != (uint32_t)L) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: kept[%d] must hold %d layers", i, L);
            for (l = 0, row = uniql__json_first(e); row; row = uniql__json_next(e, row), l++) {
                int v[5], k;
                uniql_kept *kp = &kept[(size_t)i * L + l], mk;
                if (row->type != UNIQL_JSON_ARRAY || row->len != 5) UNIQL__ORD_FAIL(UNIQL_ERR_FORMAT, "order: kept[%d][%d] is not 5 sizes", i, l);
                for (k = 0, x = uniql__json_first(row); x; x = uniql__json_next(row, x), k++)
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
                int da, db;
                uniql__unit_dims(c, rank[g * half + j], &da, &db);
                kmap[g * hd + 2 * j] = g * hd + da;
                kmap[g * hd + 2 * j + 1] = g * hd + db;
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
        if (r == UNIQL_OK && uniql__blk_mlp(src->type)) r = uniql__ao_mlp(dst, m, &src->mlp, tr, &ly->mlp);
        if (r == UNIQL_OK && uniql__blk_mamba(src->type)) r = uniql__ao_mamba(dst, m, &src->mamba, tr, &ly->mamba);
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

/* =====================================================================================
   IMPL 11. Layer-by-layer compression (layer views, hidden-state forward and
   calibration, deferred finiteness checks, streaming .uniql writer)
   ===================================================================================== */

UNIQLDEF uniql_result uniql_model_layers(const uniql_model *m, int begin, int end, uniql_model *view)
{
    int l;
    if (!m || !view || !m->layers || begin < 0 || end <= begin || end > m->config.n_layers) return UNIQL_ERR_INVALID_ARG;
    *view = *m;
    view->config.n_layers = end - begin;
    for (l = begin; l < end; l++) view->config.block[l - begin] = m->config.block[l];
    for (l = end - begin; l < UNIQL_MAX_LAYERS; l++) view->config.block[l] = 0;
    view->layers = m->layers + begin;
    view->storage = NULL;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_forward_hidden(const uniql_model *m, uniql_state *s, float *x, int n_tokens, size_t ldx,
                                           const uniql_observer *obs)
{
    int done, D, t;
    if (!m || !s || !x || n_tokens < 1 || s->m != m) return UNIQL_ERR_INVALID_ARG;
    D = m->config.hidden_size;
    if (ldx < (size_t)D) return UNIQL_ERR_SHAPE;
    if (n_tokens > s->max_ctx - s->pos) return UNIQL_ERR_RANGE;
    for (done = 0; done < n_tokens; done += s->max_batch) {
        int n = n_tokens - done < s->max_batch ? n_tokens - done : s->max_batch;
        float *xc = x + (size_t)done * ldx;
        for (t = 0; t < n; t++) memcpy(s->x + (size_t)t * D, xc + (size_t)t * ldx, sizeof(float) * (size_t)D);
        if (!uniql__finite_f32(s->x, (size_t)n * D)) return UNIQL_ERR_NONFINITE;
        uniql__forward_rope_tables(m, s, n);
        UNIQL__TRY(uniql__forward_layers(m, s, n, obs));
        s->pos += n;
        if (!uniql__finite_f32(s->x, (size_t)n * D)) return UNIQL_ERR_NONFINITE;
        for (t = 0; t < n; t++) memcpy(xc + (size_t)t * ldx, s->x + (size_t)t * D, sizeof(float) * (size_t)D);
    }
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_calibrate_stream(const uniql_model *m, uniql_calib_stream *io, size_t n_tokens,
                                             const uniql_calib_options *opt, uniql_calib **out, uniql_error *err)
{
    if (!io || !io->x) {
        if (out) *out = NULL;
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "calibrate: NULL argument or no tokens");
    }
    return uniql__calibrate(m, NULL, io, n_tokens, opt, out, err);
}

/* every element of a float-typed view (its logical rows, any layout) finite? */
static long long uniql__view_nonfinite(const uniql_matrix *w)
{
    size_t S, L, i, es;
    if (!w->data || (w->dtype != UNIQL_DTYPE_F32 && w->dtype != UNIQL_DTYPE_F16 && w->dtype != UNIQL_DTYPE_BF16)) return -1;
    S = (size_t)(w->transposed ? w->cols : w->rows);
    L = (size_t)(w->transposed ? w->rows : w->cols);
    es = uniql__dtype_size(w->dtype);
    for (i = 0; i < S; i++) {
        uniql_tensor t;
        long long bad;
        memset(&t, 0, sizeof t);
        t.dtype = w->dtype;
        t.nbytes = L * es;
        t.data = (const unsigned char *)w->data + uniql__pack_phys_row(w, i) * w->stride;
        bad = uniql__tensor_nonfinite(&t);
        if (bad >= 0) return (long long)(i * L) + bad;
    }
    return -1;
}

/* fp16 scales of a quantized view finite? (the quantizer never writes others) */
static int uniql__view_scales_ok(const uniql_matrix *w)
{
    size_t S, ng, i, j;
    if (!uniql__pack_is_quant(w->dtype) || !w->data) return 1;
    S = (size_t)(w->transposed ? w->cols : w->rows);
    ng = w->dtype == UNIQL_DTYPE_Q8 ? 1 : (size_t)(((w->transposed ? w->rows : w->cols) + w->group - 1) / w->group);
    for (i = 0; i < S; i++) {
        const uint16_t *sc = w->scales + uniql__pack_phys_row(w, i) * w->scale_stride;
        for (j = 0; j < ng; j++)
            if ((sc[j] & 0x7C00u) == 0x7C00u) return 0;
    }
    return 1;
}

UNIQLDEF uniql_result uniql_model_check_finite(const uniql_model *m, int globals, uniql_error *err)
{
    int l, s;
    long long bad;
    if (!m || !m->layers) return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "check_finite: NULL model");
    if (globals) {
        if ((bad = uniql__view_nonfinite(&m->embed)) >= 0 || !uniql__view_scales_ok(&m->embed))
            return uniql__fail(err, UNIQL_ERR_NONFINITE, "embedding: element %lld is NaN or Inf", bad);
        if ((bad = uniql__view_nonfinite(&m->lm_head)) >= 0 || !uniql__view_scales_ok(&m->lm_head))
            return uniql__fail(err, UNIQL_ERR_NONFINITE, "lm_head: element %lld is NaN or Inf", bad);
    }
    for (l = 0; l < m->config.n_layers; l++)
        for (s = 0; s < UNIQL__PK_NSPEC; s++) {
            const uniql__pk_spec *sp = &uniql__pk_specs[s];
            const uniql_matrix *w = (const uniql_matrix *)(const void *)((const char *)&m->layers[l] + sp->off);
            if (sp->kind != 0 || !uniql__pk_applies(sp, m->layers[l].type)) continue;
            if ((bad = uniql__view_nonfinite(w)) >= 0 || !uniql__view_scales_ok(w))
                return uniql__fail(err, UNIQL_ERR_NONFINITE, "layer %d %s: element %lld is NaN or Inf", l, sp->name, bad);
        }
    return UNIQL_OK;
}

/* ---- streaming .uniql writer ---- */

UNIQLDEF uniql_result uniql_pack_part_inputs(const uniql_model *m, int layer, int name_layer, const uniql_model *upgrade,
                                             uniql_pack_input *in, char *names, int cap, int *n)
{
    if (n) *n = 0;
    if (!m || !m->layers || !in || !names || !n || cap < 0 || layer >= m->config.n_layers || (layer >= 0 && name_layer < 0) ||
        (upgrade && (!upgrade->layers || upgrade->config.n_layers != m->config.n_layers)))
        return UNIQL_ERR_INVALID_ARG;
    return uniql__pk_part(m, layer, name_layer, layer >= 0 ? upgrade : NULL, in, names, cap, n, NULL);
}

UNIQLDEF uniql_result uniql_pack_meta(const uniql_config *c, const int *const *rope_pairs, const uniql_pack_model_desc *d,
                                      void *alloc_user, char **meta, size_t *len, uniql_error *err)
{
    uniql__sb mb;
    uniql_result r;
    if (meta) *meta = NULL;
    if (len) *len = 0;
    if (!c || !d || !meta || !len || c->n_layers < 1 || c->n_layers > UNIQL_MAX_LAYERS)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack meta: NULL argument");
    memset(&mb, 0, sizeof mb);
    mb.user = alloc_user;
    r = uniql__pk_meta(c, rope_pairs, d, d->upgrade_layers, &mb, err);
    if (r != UNIQL_OK) {
        if (mb.p) UNIQL_FREE(mb.p, alloc_user);
        return r;
    }
    *meta = mb.p;
    *len = mb.n;
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_pack_blob_write(const uniql_matrix *m, uniql_append_fn append, void *user, uint64_t *bytes)
{
    uint64_t db, sb, zb;
    size_t S, s, rb, ng;
    int q;
    if (bytes) *bytes = 0;
    if (!m || !append || !m->data) return UNIQL_ERR_INVALID_ARG;
    q = uniql__pack_is_quant(m->dtype);
    if ((q && !m->scales) || (m->dtype == UNIQL_DTYPE_Q4Z && !m->zeros)) return UNIQL_ERR_INVALID_ARG;
    UNIQL__TRY(uniql_pack_tensor_bytes(m->dtype, m->rows, m->cols, m->transposed != 0,
                                       q && m->dtype != UNIQL_DTYPE_Q8 ? m->group : 0, &db, &sb, &zb));
    S = (size_t)(m->transposed ? m->cols : m->rows);
    rb = (size_t)(db / S);
    ng = (size_t)(sb / 2 / S);
    for (s = 0; s < S; s++) UNIQL__TRY(append(user, (const unsigned char *)m->data + uniql__pack_phys_row(m, s) * m->stride, rb));
    for (s = 0; s < S && ng; s++) UNIQL__TRY(append(user, m->scales + uniql__pack_phys_row(m, s) * m->scale_stride, ng * 2));
    for (s = 0; s < S && zb; s++) UNIQL__TRY(append(user, m->zeros + uniql__pack_phys_row(m, s) * m->scale_stride, ng));
    if (bytes) *bytes = db + sb + zb;
    return UNIQL_OK;
}

/* sequential output with the running checksum (bytes 40..47 excluded) */
typedef struct uniql__pack_out {
    uniql_write_at_fn write_at;
    void *user;
    uint64_t pos, hash;
    unsigned char *buf;     /* zeros / copy buffer */
    size_t cap;
} uniql__pack_out;

static uniql_result uniql__pack_put(uniql__pack_out *o, const unsigned char *p, size_t n)
{
    if (!n) return UNIQL_OK;
    if (o->pos >= 48) o->hash = uniql__fnv1a(o->hash, p, n);
    else {
        /* only the fixed header straddles the checksum field; it is written in one piece */
        size_t i;
        for (i = 0; i < n; i++)
            if (o->pos + i < 40 || o->pos + i >= 48) o->hash = uniql__fnv1a(o->hash, p + i, 1);
    }
    UNIQL__TRY(o->write_at(o->user, o->pos, p, n));
    o->pos += n;
    return UNIQL_OK;
}

static uniql_result uniql__pack_zeros(uniql__pack_out *o, uint64_t upto)
{
    memset(o->buf, 0, o->cap);
    while (o->pos < upto) {
        size_t k = upto - o->pos < (uint64_t)o->cap ? (size_t)(upto - o->pos) : o->cap;
        UNIQL__TRY(uniql__pack_put(o, o->buf, k));
    }
    return UNIQL_OK;
}

static uniql_result uniql__pack_copy(uniql__pack_out *o, uniql_read_at_fn read_at, void *read_user, uint64_t from, uint64_t n)
{
    while (n) {
        size_t k = n < (uint64_t)o->cap ? (size_t)n : o->cap;
        UNIQL__TRY(read_at(read_user, from, o->buf, k));
        UNIQL__TRY(uniql__pack_put(o, o->buf, k));
        from += k;
        n -= k;
    }
    return UNIQL_OK;
}

UNIQLDEF uniql_result uniql_pack_assemble(const char *config_json, size_t config_len, const char *meta_json, size_t meta_len,
                                          const uniql_pack_entry *entries, int n_entries, uniql_read_at_fn read_at,
                                          void *read_user, uniql_write_at_fn write_at, void *write_user, void *alloc_user,
                                          uint64_t *file_size, uniql_error *err)
{
    const uniql_pack_entry **ord = NULL;
    uniql__pack_plan *plan = NULL;
    uniql__sb hb;
    uniql__pack_out o;
    uniql_result r;
    uint64_t doff = 0, data = 0;
    unsigned char fixed[UNIQL_PACK_FIXED_HEADER], sum[8];
    int i;
    memset(&hb, 0, sizeof hb);
    hb.user = alloc_user;
    memset(&o, 0, sizeof o);
    if (file_size) *file_size = 0;
    if ((!config_json && config_len) || n_entries < 0 || (n_entries && !entries) || !read_at || !write_at)
        return uniql__fail(err, UNIQL_ERR_INVALID_ARG, "pack: NULL argument or negative count");
    r = uniql__pack_layout(config_json, config_len, meta_json, meta_len, entries, n_entries, alloc_user, &ord, &plan, &hb,
                           &doff, &data, err);
    o.write_at = write_at;
    o.user = write_user;
    o.hash = 0xcbf29ce484222325ull;
    o.cap = (size_t)1 << 20;
    if (r == UNIQL_OK && !(o.buf = (unsigned char *)UNIQL_MALLOC(o.cap, alloc_user)))
        r = uniql__fail(err, UNIQL_ERR_OUT_OF_MEMORY, "pack: out of memory");
    if (r != UNIQL_OK) goto done;
    /* from here on every failure is a callback's */
    uniql__pack_fixed(fixed, hb.n, doff, data);
    r = uniql__pack_put(&o, fixed, sizeof fixed);
    if (r == UNIQL_OK) r = uniql__pack_put(&o, (const unsigned char *)hb.p, hb.n);
    if (r == UNIQL_OK) r = uniql__pack_zeros(&o, doff);
    for (i = 0; i < n_entries && r == UNIQL_OK; i++) {
        const uniql_pack_entry *e = ord[i];
        const uniql__pack_plan *pl = &plan[i];
        r = uniql__pack_zeros(&o, doff + pl->doff);
        if (r == UNIQL_OK) r = uniql__pack_copy(&o, read_at, read_user, e->at, pl->db);
        if (r == UNIQL_OK) r = uniql__pack_zeros(&o, doff + pl->soff);
        if (r == UNIQL_OK) r = uniql__pack_copy(&o, read_at, read_user, e->at + pl->db, pl->sb);
        if (r == UNIQL_OK) r = uniql__pack_zeros(&o, doff + pl->zoff);
        if (r == UNIQL_OK) r = uniql__pack_copy(&o, read_at, read_user, e->at + pl->db + pl->sb, pl->zb);
    }
    if (r == UNIQL_OK) r = uniql__pack_zeros(&o, doff + data);
    if (r == UNIQL_OK) {
        uniql__put_u64(sum, o.hash);
        r = write_at(write_user, 40, sum, 8);
    }
    if (r == UNIQL_OK && file_size) *file_size = doff + data;
    if (r != UNIQL_OK) uniql__fail(err, r, "pack: writing the file: %s", uniql_result_string(r));
done:
    if (o.buf) UNIQL_FREE(o.buf, alloc_user);
    if (hb.p) UNIQL_FREE(hb.p, alloc_user);
    if (ord) UNIQL_FREE((void *)ord, alloc_user);
    if (plan) UNIQL_FREE(plan, alloc_user);
    return r;
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
