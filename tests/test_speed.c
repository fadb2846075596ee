/* test_speed.c - the parallel-for of API 2b and everything that runs through it:
   the contract of uniql_parallel_for and of the pthreads pool (tools/uq_threads.h), and
   bit-identical results of matmuls, forwards and calibration for 1, 2 and 3 threads, a
   shuffled serial order and no parallel-for at all. */
#include "../uniql.h"
#include "../tools/uq_threads.h"
#include "uq_test.h"
#include "tutil.h"
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>

/* A "job system" that runs the jobs serially but in a scrambled order with scrambled
   worker ids: any dependence on the order or on the worker shows up as different bits. */
typedef struct shuffle_sys {
    uint64_t seed;
    int n_workers;
} shuffle_sys;

static void shuffle_run(void *user, int n, uniql_job_fn fn, void *ctx)
{
    shuffle_sys *sy = (shuffle_sys *)user;
    int *order = (int *)malloc(sizeof(int) * (size_t)(n > 0 ? n : 1)), i;
    trng r;
    r.s = sy->seed++;
    for (i = 0; i < n; i++) order[i] = i;
    for (i = n - 1; i > 0; i--) {
        int j = (int)(trng_u64(&r) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (i = 0; i < n; i++) fn(ctx, order[i], (int)(trng_u64(&r) % (uint64_t)sy->n_workers));
    free(order);
}

typedef struct count_ctx {
    int *hits;
    int n_workers;
    int bad_worker;
} count_ctx;

static void count_job(void *ctx, int job, int worker)
{
    count_ctx *c = (count_ctx *)ctx;
    __atomic_fetch_add(&c->hits[job], 1, __ATOMIC_RELAXED);
    if (worker < 0 || worker >= c->n_workers) __atomic_store_n(&c->bad_worker, 1, __ATOMIC_RELAXED);
}

TEST parallel_for_runs_every_job_once(void)
{
    int sizes[] = { 0, 1, 2, 3, 7, 64, 1000 }, threads[] = { 1, 2, 3, 5 }, si, ti, rep, i;
    int hits[1000];
    count_ctx c;
    /* no parallel-for: serial, worker 0 */
    memset(hits, 0, sizeof hits);
    c.hits = hits; c.n_workers = 1; c.bad_worker = 0;
    uniql_parallel_for(NULL, 100, count_job, &c);
    for (i = 0; i < 100; i++) ASSERT_EQ(1, hits[i]);
    ASSERT_EQ(0, c.bad_worker);
    ASSERT_EQ(1, uniql_parallel_workers(NULL));
    for (ti = 0; ti < 4; ti++) {
        uq_pool *pool = uq_pool_create(threads[ti]);
        uniql_parallel par = uq_pool_parallel(pool);
        ASSERT(pool != NULL);
        ASSERT_EQ(threads[ti], uniql_parallel_workers(&par));
        for (rep = 0; rep < 200; rep++)         /* many batches back to back */
            for (si = 0; si < 7; si++) {
                memset(hits, 0, sizeof hits);
                c.n_workers = par.n_workers;
                uniql_parallel_for(&par, sizes[si], count_job, &c);
                for (i = 0; i < sizes[si]; i++)
                    if (hits[i] != 1) { uq_pool_destroy(pool); FAILm("a job ran other than once"); }
            }
        ASSERT_EQ(0, c.bad_worker);
        uq_pool_destroy(pool);
    }
    PASS();
}

/* Y of every runner, compared bit for bit with the serial uniql_matmul_ex */
static int mm_same_bits(const uniql_matrix *W, const float *X, int n, int kernel, uniql_parallel *pars, int npar,
                        float *Yref, float *Y, unsigned char *work, size_t work_size)
{
    size_t ny = (size_t)n * (size_t)W->rows;
    int p, w;
    if (uniql_matmul_ex(W, X, n, (size_t)W->cols, Yref, (size_t)W->rows, kernel) != UNIQL_OK) return 0;
    for (p = 0; p < npar; p++)
        for (w = 0; w < 2; w++) {
            uniql_matmul_options o;
            memset(&o, 0, sizeof o);
            o.kernel = kernel;
            o.parallel = &pars[p];
            o.work = w ? work : NULL;
            o.work_size = w ? work_size : 0;
            memset(Y, 0xA5, sizeof(float) * ny);
            if (uniql_matmul_par(W, X, n, (size_t)W->cols, Y, (size_t)W->rows, &o) != UNIQL_OK) return 0;
            if (memcmp(Y, Yref, sizeof(float) * ny)) return 0;
        }
    return 1;
}

TEST matmul_par_bit_identical(void)
{
    /* shapes with partial blocks and groups, several row jobs, blocked (per-head) views */
    int shapes[][2] = { { 300, 257 }, { 96, 4160 }, { 1030, 64 } }, ns[] = { 1, 3, 4, 9 };
    uniql_dtype dts[] = { UNIQL_DTYPE_F16, UNIQL_DTYPE_Q4, UNIQL_DTYPE_Q4Z, UNIQL_DTYPE_Q8 };
    uq_pool *p2 = uq_pool_create(2), *p3 = uq_pool_create(3);
    shuffle_sys sy = { 7, 5 };
    uniql_parallel pars[4];
    unsigned char *work;
    size_t work_size = 1u << 20;
    int si, di, ni, tr, ok = 1, checked = 0;
    trng r = { 42 };
    pars[0] = uq_pool_parallel(p2);
    pars[1] = uq_pool_parallel(p3);
    memset(&pars[2], 0, sizeof pars[2]);            /* no run: serial */
    pars[3].run = shuffle_run; pars[3].user = &sy; pars[3].n_workers = 5;
    work = (unsigned char *)malloc(work_size);
    for (si = 0; si < 3 && ok; si++) {
        int R = shapes[si][0], C = shapes[si][1];
        float *W = (float *)malloc(sizeof(float) * (size_t)R * C), *X = (float *)malloc(sizeof(float) * 9 * (size_t)C);
        float *Y0 = (float *)malloc(sizeof(float) * 9 * (size_t)(R > C ? R : C)), *Y1 = (float *)malloc(sizeof(float) * 9 * (size_t)(R > C ? R : C));
        trng_fill_normal_f32(&r, W, (size_t)R * C, 0.05);
        trng_fill_normal_f32(&r, X, 9 * (size_t)C, 1.0);
        for (di = 0; di < 4 && ok; di++)
            for (tr = 0; tr < 2 && ok; tr++) {
                uniql_matrix q, v;
                void *buf = NULL;
                uint16_t *h16 = NULL;
                if (dts[di] == UNIQL_DTYPE_F16) {
                    size_t i;
                    if (tr) continue;
                    h16 = (uint16_t *)malloc(sizeof(uint16_t) * (size_t)R * C);
                    for (i = 0; i < (size_t)R * C; i++) h16[i] = uniql_fp32_to_fp16(W[i]);
                    memset(&q, 0, sizeof q);
                    q.dtype = UNIQL_DTYPE_F16; q.rows = R; q.cols = C; q.data = h16; q.stride = (size_t)C * 2;
                } else {
                    uniql_quant_desc d;
                    size_t bytes;
                    memset(&d, 0, sizeof d);
                    d.dtype = dts[di];
                    d.group = 64;
                    d.transposed = tr;
                    uniql_quant_size(&d, R, C, &bytes);
                    buf = malloc(bytes);
                    if (uniql_quantize(&d, W, R, C, (size_t)C, buf, bytes, &q) != UNIQL_OK) ok = 0;
                }
                for (ni = 0; ni < 4 && ok; ni++) {
                    int k;
                    for (k = 0; k < 2 && ok; k++) {
                        int kernel = k ? UNIQL_KERNEL_AUTO | UNIQL_KERNEL_I8ACT : UNIQL_KERNEL_AUTO;
                        ok = mm_same_bits(&q, X, ns[ni], kernel, pars, 4, Y0, Y1, work, work_size);
                        checked++;
                        /* a per-head (blocked) prefix view of the storage rows */
                        if (ok && uniql_matrix_storage_rows(&q) % 2 == 0 &&
                            uniql_matrix_block_prefix(&q, uniql_matrix_storage_rows(&q) / 2, uniql_matrix_storage_rows(&q) / 2 - 5, &v) == UNIQL_OK) {
                            ok = mm_same_bits(&v, X, ns[ni], kernel, pars, 4, Y0, Y1, work, work_size);
                            checked++;
                        }
                    }
                }
                if (!ok) UQ_NOTE("differs: shape %dx%d dtype %d transposed %d n %d", R, C, (int)dts[di], tr, ns[ni]);
                free(buf);
                free(h16);
            }
        free(W); free(X); free(Y0); free(Y1);
    }
    free(work);
    uq_pool_destroy(p2);
    uq_pool_destroy(p3);
    ASSERTm("uniql_matmul_par == uniql_matmul_ex bit for bit", ok);
    UQ_NOTE("%d (matrix, n, kernel) cases x 4 runners x with / without work: identical bits", checked);
    PASS();
}

/* logits of 5 prompt tokens and 2 decode steps (default activations) */
static float *stream_logits(const uniql_model *m)
{
    static const int tok[7] = { 3, 17, 1, 42, 9, 5, 11 };
    uniql_state *s;
    int V = m->config.vocab_size, i;
    float *lg = (float *)malloc(sizeof(float) * 7 * (size_t)V);
    if (!lg || uniql_state_create(m, 16, 8, NULL, &s) != UNIQL_OK) { free(lg); return NULL; }
    if (uniql_forward(m, s, tok, 5, lg, 1, NULL) != UNIQL_OK) { free(lg); lg = NULL; }
    for (i = 5; lg && i < 7; i++)
        if (uniql_forward(m, s, tok + i, 1, lg + (size_t)i * V, 0, NULL) != UNIQL_OK) { free(lg); lg = NULL; }
    uniql_state_free(s);
    return lg;
}

/* uniql_model_load_dir_quantized == uniql_model_load_dir + uniql_model_quantize: the
   same logits bit for bit, every family, several option sets (widths per layer, groups,
   Q4Z, 4-bit per-row embeddings, fp32 lm_head), same weight bytes */
TEST load_dir_quantized_equals_load_then_quantize(void)
{
    static const char *fams[5] = { "llama", "qwen2", "mamba2", "nemotron_h", "bamba" };
    int f, oi, cases = 0;
    for (f = 0; f < 5; f++)
        for (oi = 0; oi < 3; oi++) {
            char dir[128];
            uniql_model *m, *q, *z;
            uniql_model_quant_options o;
            uniql_error e;
            int bits[64], l, V;
            float *a, *b;
            snprintf(dir, sizeof dir, "tests/data/ref/%s", fams[f]);
            ASSERT_OK(uniql_model_load_dir(dir, NULL, &m, &e));
            memset(&o, 0, sizeof o);
            for (l = 0; l < m->config.n_layers && l < 64; l++) bits[l] = l % 3 == 0 ? 4 : l % 3 == 1 ? 8 : 32;
            if (oi == 1) { o.group = 64; o.asymmetric = 1; o.lm_head_bits = 32; }
            if (oi == 2) { o.group = 32; o.embed_bits = 4; o.embed_per_row = 1; }
            ASSERT_OK(uniql_model_quantize(m, oi == 1 ? bits : NULL, &o, &q, &e));
            uniql_model_free(m);
            if (uniql_model_load_dir_quantized(dir, NULL, oi == 1 ? bits : NULL, &o, &z, &e) != UNIQL_OK) {
                UQ_NOTE("%s: %s", dir, e.message);
                FAILm("load_dir_quantized failed");
            }
            ASSERT_EQ(uniql_model_weight_bytes(q), uniql_model_weight_bytes(z));
            V = q->config.vocab_size;
            a = stream_logits(q);
            b = stream_logits(z);
            ASSERT(a && b);
            ASSERTm("streamed quantized model == load + quantize, bit for bit", !memcmp(a, b, sizeof(float) * 7 * (size_t)V));
            free(a); free(b);
            uniql_model_free(q);
            uniql_model_free(z);
            cases++;
        }
    {
        uniql_model *z = NULL;
        uniql_model_quant_options o;
        memset(&o, 0, sizeof o);
        o.method = UNIQL_QUANT_GPTQ;
        ASSERT_ERR(UNIQL_ERR_UNSUPPORTED, uniql_model_load_dir_quantized("tests/data/ref/llama", NULL, NULL, &o, &z, NULL));
        o.method = UNIQL_QUANT_RTN;
        o.group_transposed = 48;   /* checked like uniql_model_quantize's options */
        ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_model_load_dir_quantized("tests/data/ref/llama", NULL, NULL, &o, &z, NULL));
        o.group_transposed = 0;
        o.layers_only = 1;
        ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_model_load_dir_quantized("tests/data/ref/llama", NULL, NULL, &o, &z, NULL));
        ASSERT_ERR(UNIQL_ERR_IO, uniql_model_load_dir_quantized("tests/data/ref/no_such_model", NULL, NULL, NULL, &z, NULL));
        ASSERT(z == NULL);
    }
    UQ_NOTE("%d (family, options) cases: identical logits", cases);
    PASS();
}

/* Peak memory of the streaming load, measured with the tests' counting allocator (every
   byte the library allocates) on a 24-layer Llama written here as two F16 shards of
   3.6 MB: the peak above the model it returns stays within three times the largest
   tensor (its file bytes + its fp32 copy) plus 1 MB (headers, JSON, tables), below the
   checkpoint's own size, while load_dir + quantize peaks at the checkpoint + the
   quantized copy. */
TEST load_dir_quantized_never_holds_the_checkpoint(void)
{
    enum { D = 128, I = 256, NL = 24, H = 4, KV = 2, HD = 32, VOC = 256 };
    static const char *dir = "build/test_stream_ckpt";
    char path[256], names[NL * 9 + 2][96];
    uniql_safetensors_input in[NL * 9 + 2];
    trng r = { 77 };
    float *w;
    size_t wn = 0, file_bytes = 0, max_tensor = 0, live0, peak, model_bytes;
    int n = 0, l, k, sh;
    uniql_model *m, *q;
    uniql_error e;
    FILE *fp;
    mkdir("build", 0755);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/config.json", dir);
    fp = fopen(path, "wb");
    ASSERT(fp != NULL);
    fprintf(fp, "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": %d, "
                "\"intermediate_size\": %d, \"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
                "\"num_key_value_heads\": %d, \"head_dim\": %d, \"vocab_size\": %d, \"rms_norm_eps\": 1e-5, "
                "\"rope_theta\": 10000.0, \"max_position_embeddings\": 256, \"tie_word_embeddings\": true, "
                "\"hidden_act\": \"silu\"}\n", D, I, NL, H, KV, HD, VOC);
    fclose(fp);
    w = (float *)malloc(sizeof(float) * (size_t)(VOC * D + NL * (2 * D * H * HD + 2 * D * KV * HD + 3 * D * I + 2 * D) + D));
    memset(in, 0, sizeof in);
#define UQ_T(NAME, R, C) do { \
        snprintf(names[n], sizeof names[n], "%s", NAME); \
        in[n].name = names[n]; in[n].ndim = (C) ? 2 : 1; in[n].shape[0] = (R); in[n].shape[1] = (C); in[n].data = w + wn; \
        trng_fill_normal_f32(&r, w + wn, (size_t)(R) * (size_t)((C) ? (C) : 1), (C) ? 0.05 : 1.0); \
        wn += (size_t)(R) * (size_t)((C) ? (C) : 1); \
        if ((size_t)(R) * (size_t)((C) ? (C) : 1) * 2 > max_tensor) max_tensor = (size_t)(R) * (size_t)((C) ? (C) : 1) * 2; \
        n++; } while (0)
    UQ_T("model.embed_tokens.weight", VOC, D);
    UQ_T("model.norm.weight", D, 0);
    for (l = 0; l < NL; l++) {
        char b[96];
#define UQ_L(S, R, C) do { snprintf(b, sizeof b, "model.layers.%d.%s", l, S); UQ_T(b, R, C); } while (0)
        UQ_L("input_layernorm.weight", D, 0);
        UQ_L("post_attention_layernorm.weight", D, 0);
        UQ_L("self_attn.q_proj.weight", H * HD, D);
        UQ_L("self_attn.k_proj.weight", KV * HD, D);
        UQ_L("self_attn.v_proj.weight", KV * HD, D);
        UQ_L("self_attn.o_proj.weight", D, H * HD);
        UQ_L("mlp.gate_proj.weight", I, D);
        UQ_L("mlp.up_proj.weight", I, D);
        UQ_L("mlp.down_proj.weight", D, I);
#undef UQ_L
    }
#undef UQ_T
    /* two shards and an index: tensors [0, n/2) and [n/2, n) */
    {
        char idx[65536];
        size_t il = 0;
        il += (size_t)snprintf(idx + il, sizeof idx - il, "{\"metadata\": {}, \"weight_map\": {");
        for (sh = 0; sh < 2; sh++) {
            int a = sh ? n / 2 : 0, z = sh ? n : n / 2;
            void *img;
            size_t size;
            ASSERT_OK(uniql_safetensors_write(in + a, z - a, UNIQL_DTYPE_F16, NULL, &img, &size, &e));
            snprintf(path, sizeof path, "%s/model-%05d-of-00002.safetensors", dir, sh + 1);
            fp = fopen(path, "wb");
            ASSERT(fp != NULL);
            ASSERT_EQ(size, fwrite(img, 1, size, fp));
            fclose(fp);
            uniql_free_buffer(img, NULL);
            file_bytes += size;
            for (k = a; k < z; k++)
                il += (size_t)snprintf(idx + il, sizeof idx - il, "%s\"%s\": \"model-%05d-of-00002.safetensors\"", k ? ", " : "", names[k], sh + 1);
        }
        il += (size_t)snprintf(idx + il, sizeof idx - il, "}}\n");
        ASSERT(il < sizeof idx);
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
        fp = fopen(path, "wb");
        ASSERT(fp != NULL);
        fwrite(idx, 1, il, fp);
        fclose(fp);
    }
    free(w);
    /* the streaming load */
    live0 = tutil_alloc_live;
    tutil_alloc_peak = live0;
    ASSERT_OK(uniql_model_load_dir_quantized(dir, NULL, NULL, NULL, &q, &e));
    peak = tutil_alloc_peak - live0;
    model_bytes = tutil_alloc_live - live0;
    UQ_NOTE("checkpoint %lu bytes, largest tensor %lu; streaming: model %lu bytes, peak %lu (model + %lu)",
            (unsigned long)file_bytes, (unsigned long)max_tensor, (unsigned long)model_bytes, (unsigned long)peak,
            (unsigned long)(peak - model_bytes));
    ASSERT_LE(peak, model_bytes + 3 * max_tensor + ((size_t)1 << 20));
    ASSERT_LE(peak, file_bytes);
    /* the two-step path holds both */
    live0 = tutil_alloc_live;
    tutil_alloc_peak = live0;
    ASSERT_OK(uniql_model_load_dir(dir, NULL, &m, &e));
    {
        uniql_model *q2;
        float *a, *b;
        ASSERT_OK(uniql_model_quantize(m, NULL, NULL, &q2, &e));
        UQ_NOTE("load_dir + quantize: peak %lu bytes", (unsigned long)(tutil_alloc_peak - live0));
        ASSERT(tutil_alloc_peak - live0 >= file_bytes + model_bytes / 2);
        a = stream_logits(q);
        b = stream_logits(q2);
        ASSERT(a && b);
        ASSERTm("streamed == load + quantize", !memcmp(a, b, sizeof(float) * 7 * VOC));
        free(a); free(b);
        uniql_model_free(q2);
    }
    uniql_model_free(m);
    uniql_model_free(q);
    PASS();
}

/* logits of a prefill of `n` tokens and of the decode steps that follow, with a runner,
   activations and kernel (0: AUTO) */
static float *forward_logits(const uniql_model *m, const int *tok, int n, int n_dec, const uniql_parallel *par,
                             uniql_activations act, int kernel)
{
    uniql_state_options o;
    uniql_state *s;
    int V = m->config.vocab_size, i;
    float *lg = (float *)malloc(sizeof(float) * (size_t)(n + n_dec) * (size_t)V);
    memset(&o, 0, sizeof o);
    o.max_ctx = n + n_dec + 1;
    o.max_batch = 16;
    o.parallel = par;
    o.activations = act;
    o.kernel = kernel;
    if (!lg || uniql_state_create_ex(m, &o, &s) != UNIQL_OK) { free(lg); return NULL; }
    if (uniql_forward(m, s, tok, n, lg, 1, NULL) != UNIQL_OK) { free(lg); lg = NULL; }
    for (i = 0; lg && i < n_dec; i++)
        if (uniql_forward(m, s, tok + n + i, 1, lg + (size_t)(n + i) * V, 0, NULL) != UNIQL_OK) { free(lg); lg = NULL; }
    uniql_state_free(s);
    return lg;
}

/* The attention loops (scores q.k, then sum p v) in the 4-lane twin (SSE2 / NEON) give
   the scalar reference's bits: whole forwards (prefill of 30 tokens in chunks of 16, then
   6 decode steps) with the state's kernel SCALAR and AUTO, int8 activations (the integer
   matmuls equal the scalar ones bit for bit, so any difference would be attention's), on
   the attention families at full size (head dims 16 and 12) and pruned with units of 1
   (q/k: 2, whole RoPE pairs), so kept q/k and v dims that are not multiples of 4 run the
   lane tails. */
TEST attention_simd_scalar_identical(void)
{
    const char *fams[] = { "llama", "qwen2", "nemotron_h", "bamba" };
    int tok[40], i, f, pr, cases = 0;
    for (i = 0; i < 40; i++) tok[i] = (i * 53 + 7) % 200;
    for (f = 0; f < 4; f++) {
        uniql_model *m = tutil_load_ref(fams[f], 0);
        ASSERT(m != NULL);
        for (pr = 0; pr < 2; pr++) {
            uniql_model *pm = NULL, *mq = NULL;
            uniql_error e;
            float *a, *b;
            int V = m->config.vocab_size;
            if (pr) {
                double rates[64];
                uniql_kept kept[64];
                uniql_kept_units u = { 2, 1, 1, 1, 1 };   /* q/k in whole RoPE pairs */
                ASSERT(m->config.n_layers <= 64);
                for (i = 0; i < m->config.n_layers; i++) rates[i] = 0.3 + 0.05 * (i % 3);
                ASSERT_OK(uniql_kept_from_rates(&m->config, rates, &u, kept));
                if (uniql_model_prune(m, kept, 1, NULL, &pm, &e) != UNIQL_OK) FAILm(e.message);
            }
            ASSERT_OK(uniql_model_quantize(pr ? pm : m, NULL, NULL, &mq, &e));
            a = forward_logits(mq, tok, 30, 6, NULL, UNIQL_ACT_I8, UNIQL_KERNEL_SCALAR);
            b = forward_logits(mq, tok, 30, 6, NULL, UNIQL_ACT_I8, UNIQL_KERNEL_AUTO);
            ASSERT(a && b);
            ASSERTm("attention: SIMD forward == scalar forward bit for bit", !memcmp(a, b, sizeof(float) * 36 * (size_t)V));
            free(a); free(b);
            uniql_model_free(mq);
            uniql_model_free(pm);
            cases++;
        }
        uniql_model_free(m);
    }
    UQ_NOTE("%d (family, full / pruned) forwards: kernel AUTO == SCALAR bit for bit", cases);
    PASS();
}

TEST forward_bit_identical_across_threads(void)
{
    const char *fams[] = { "llama", "qwen2", "mamba2", "nemotron_h" };
    uq_pool *p2 = uq_pool_create(2), *p3 = uq_pool_create(3);
    shuffle_sys sy = { 11, 4 };
    uniql_parallel pars[3];
    int tok[40], i, f, q, a, p, ok = 1, cases = 0;
    for (i = 0; i < 40; i++) tok[i] = (i * 37 + 11) % 200;
    pars[0] = uq_pool_parallel(p2);
    pars[1] = uq_pool_parallel(p3);
    pars[2].run = shuffle_run; pars[2].user = &sy; pars[2].n_workers = 4;
    for (f = 0; f < 4 && ok; f++) {
        uniql_model *m = tutil_load_ref(fams[f], 0), *mq = NULL;
        uniql_error e;
        if (!m) { ok = 0; break; }
        if (uniql_model_quantize(m, NULL, NULL, &mq, &e) != UNIQL_OK) { uniql_model_free(m); ok = 0; break; }
        for (q = 0; q < 2 && ok; q++)
            for (a = 1; a <= 2 && ok; a++) {
                const uniql_model *mm = q ? mq : m;
                int V = mm->config.vocab_size;
                float *ref = forward_logits(mm, tok, 30, 6, NULL, (uniql_activations)a, 0);
                if (!ref) { ok = 0; break; }
                for (p = 0; p < 3 && ok; p++) {
                    float *lg = forward_logits(mm, tok, 30, 6, &pars[p], (uniql_activations)a, 0);
                    ok = lg && !memcmp(lg, ref, sizeof(float) * 36 * (size_t)V);
                    if (!ok) UQ_NOTE("%s quantized %d activations %d runner %d differs", fams[f], q, a, p);
                    free(lg);
                    cases++;
                }
                free(ref);
            }
        uniql_model_free(mq);
        uniql_model_free(m);
    }
    uq_pool_destroy(p2);
    uq_pool_destroy(p3);
    ASSERTm("forward logits identical for every runner", ok);
    UQ_NOTE("%d (model, weights, activations, runner) prefill + decode runs identical to the serial run", cases);
    PASS();
}

/* the packed SYRK: AVX2 == scalar == a plain double loop, bit for bit, and the same bits
   for every runner (sizes with partial panels and tiles, several token blocks) */
TEST corr_simd_scalar_threads_identical(void)
{
    int ds[] = { 5, 131, 300 }, ns[] = { 1, 257, 600 }, di, ni, p;
    uq_pool *p2 = uq_pool_create(2);
    shuffle_sys sy = { 3, 3 };
    uniql_parallel pars[2];
    trng r = { 9 };
    pars[0] = uq_pool_parallel(p2);
    pars[1].run = shuffle_run; pars[1].user = &sy; pars[1].n_workers = 3;
    for (di = 0; di < 3; di++)
        for (ni = 0; ni < 3; ni++) {
            int d = ds[di], n = ns[ni], i, j, t;
            float *X = (float *)malloc(sizeof(float) * (size_t)n * d);
            double *ref = (double *)calloc((size_t)d * d, sizeof(double));
            double *Ca = (double *)malloc(sizeof(double) * (size_t)d * d), *Cb = (double *)malloc(sizeof(double) * (size_t)d * d);
            uniql_corr a, b;
            trng_fill_normal_f32(&r, X, (size_t)n * d, 1.0);
            /* reference: per 256-token block, sum_k in order from 0, then added */
            for (t = 0; t < n; t += 256) {
                int nb = n - t < 256 ? n - t : 256, k;
                for (i = 0; i < d; i++)
                    for (j = i; j < d; j++) {
                        double c = 0;
                        for (k = 0; k < nb; k++) c += (double)X[(size_t)(t + k) * d + i] * (double)X[(size_t)(t + k) * d + j];
                        ref[(size_t)i * d + j] += c;
                    }
            }
            ASSERT_OK(uniql_corr_init(&a, d, NULL));
            a.kernel = UNIQL_KERNEL_SCALAR;
            ASSERT_OK(uniql_corr_add_f32(&a, X, n, (size_t)d));
            for (p = -1; p < 2; p++) {
                ASSERT_OK(uniql_corr_init(&b, d, NULL));
                b.parallel = p < 0 ? NULL : &pars[p];
                ASSERT_OK(uniql_corr_add_f32(&b, X, n / 2, (size_t)d));      /* two calls: blocks restart */
                ASSERT_OK(uniql_corr_add_f32(&b, X + (size_t)(n / 2) * d, n - n / 2, (size_t)d));
                uniql_corr_free(&b);
            }
            /* one call per runner, compared with the scalar kernel and the plain loop */
            for (p = -1; p < 2; p++) {
                ASSERT_OK(uniql_corr_init(&b, d, NULL));
                b.parallel = p < 0 ? NULL : &pars[p];
                ASSERT_OK(uniql_corr_add_f32(&b, X, n, (size_t)d));
                /* the sums are read back through finalize (sum / count, full symmetric) */
                ASSERT_OK(uniql_corr_finalize(&a, Ca, (size_t)d));
                ASSERT_OK(uniql_corr_finalize(&b, Cb, (size_t)d));
                for (i = 0; i < d; i++)
                    for (j = 0; j < d; j++) {
                        double e = (j >= i ? ref[(size_t)i * d + j] : ref[(size_t)j * d + i]) / (double)n;
                        if (Cb[(size_t)i * d + j] != e || Ca[(size_t)i * d + j] != e) {
                            uniql_corr_free(&a); uniql_corr_free(&b); free(Ca); free(Cb);
                            FAILm("SYRK differs from the reference loop");
                        }
                    }
                uniql_corr_free(&b);
            }
            uniql_corr_free(&a);
            free(X); free(ref); free(Ca); free(Cb);
        }
    uq_pool_destroy(p2);
    UQ_NOTE("d in {5, 131, 300} x n in {1, 257, 600}: scalar, AVX2 (where present) and 3 runners equal a plain double loop");
    PASS();
}

TEST quantize_and_calibrate_identical_across_threads(void)
{
    uq_pool *p2 = uq_pool_create(2);
    uniql_parallel par = uq_pool_parallel(p2);
    uniql_model *m = tutil_load_ref("llama", 0), *q1 = NULL, *q2 = NULL;
    uniql_model_quant_options qo;
    uniql_calib_options co;
    uniql_calib *c1 = NULL, *c2 = NULL;
    uniql_error e;
    int tok[96], i, l, ok = 1;
    ASSERT(m != NULL);
    memset(&qo, 0, sizeof qo);
    ASSERT_OK(uniql_model_quantize(m, NULL, &qo, &q1, &e));
    qo.parallel = &par;
    ASSERT_OK(uniql_model_quantize(m, NULL, &qo, &q2, &e));
    ASSERT_EQ(uniql_model_bytes(q1), uniql_model_bytes(q2));
    for (l = 0; l < m->config.n_layers && ok; l++) {
        const uniql_matrix *a = &q1->layers[l].mlp.down, *b = &q2->layers[l].mlp.down;
        size_t S = (size_t)uniql_matrix_storage_rows(a);
        ok = !memcmp(a->data, b->data, S * a->stride) && !memcmp(a->scales, b->scales, S * a->scale_stride * 2);
    }
    ASSERTm("quantized bytes identical with threads", ok);
    for (i = 0; i < 96; i++) tok[i] = (i * 53 + 7) % 256;
    memset(&co, 0, sizeof co);
    co.seq_len = 48;
    co.max_batch = 16;
    ASSERT_OK(uniql_calibrate(m, tok, 96, &co, &c1, &e));
    co.parallel = &par;
    ASSERT_OK(uniql_calibrate(m, tok, 96, &co, &c2, &e));
    for (l = 0; l < m->config.n_layers && ok; l++) {
        int d = uniql_calib_corr_dim(c1, l, UNIQL_STAT_MLP_DOWN_IN, -1);
        double *A = (double *)malloc(sizeof(double) * (size_t)d * d), *B = (double *)malloc(sizeof(double) * (size_t)d * d);
        ok = d > 0 && uniql_calib_corr(c1, l, UNIQL_STAT_MLP_DOWN_IN, -1, A, (size_t)d) == UNIQL_OK &&
             uniql_calib_corr(c2, l, UNIQL_STAT_MLP_DOWN_IN, -1, B, (size_t)d) == UNIQL_OK &&
             !memcmp(A, B, sizeof(double) * (size_t)d * d);
        free(A); free(B);
    }
    ASSERTm("calibration statistics identical with threads", ok);
    uniql_calib_free(c1); uniql_calib_free(c2);
    uniql_model_free(q1); uniql_model_free(q2); uniql_model_free(m);
    uq_pool_destroy(p2);
    PASS();
}

/* The runtime's default for quantized weights is int8 activations (UNIQL_ACT_AUTO =
   I8). On the five trained models (three byte-level, the two BPE ones on their
   tokenizer's ids of the held-out text, tests/data/bpe/test.u16), quantized as uniql_model_quantize does (Q4 g128,
   int8 embeddings), against the exact fp32-activation path: held-out perplexity within
   0.5 % (the bar) and the logits of every position within 5 % of their RMS (an
   observed margin of several times: each matmul adds ~0.6 % relative error, see
   int8_activation_path, and the error does not compound beyond that through the
   residual stream). */
TEST int8_activations_keep_perplexity(void)
{
    static const char *names[] = { "llama-bytes-6m", "mamba2-bytes-6m", "nemotronh-bytes-6m", "llama-bpe-21m",
                                   "nemotronh-bpe-17m" };
    size_t n = 0, nb = 0, i;
    unsigned char *txt = tutil_read_file("data/test.txt", &n), *ids = tutil_read_file("tests/data/bpe/test.u16", &nb);
    int *tok, *btok, f;
    if (!txt || !ids) SKIPm("data/test.txt or tests/data/bpe/test.u16 not found");
    tok = (int *)malloc(sizeof(int) * n);
    for (i = 0; i < n; i++) tok[i] = txt[i];
    nb /= 2;
    btok = (int *)malloc(sizeof(int) * nb);
    for (i = 0; i < nb; i++) btok[i] = ids[2 * i] | ids[2 * i + 1] << 8;
    for (f = 0; f < 5; f++) {
        char dir[128];
        uniql_model *m, *q;
        uniql_error e;
        uniql_state_options so;
        double p_f32, p_i8, worst = 0, rms = 0;
        float *l0, *l1;
        int V, k, bpe = f >= 3, nw = bpe ? 4 : 8, nl = UQ_SANITIZED ? 24 : 100;
        const int *t = bpe ? btok : tok;
        size_t nt = bpe ? nb : n;
        snprintf(dir, sizeof dir, "models/%s", names[f]);
        ASSERT_OK(uniql_model_load_dir(dir, NULL, &m, &e));
        ASSERT_OK(uniql_model_quantize(m, NULL, NULL, &q, &e));
        memset(&so, 0, sizeof so);
        so.activations = UNIQL_ACT_F32;
        /* the perplexity half (thousands of tokens) is for make test; under the sanitizer
           only the logit bound on a short prefix runs, through the same kernels */
        if (!UQ_SANITIZED) {
            ASSERT_OK(uniql_perplexity_ex(q, t, nt, 256, nw, &so, &p_f32, NULL, NULL, &e));
            so.activations = UNIQL_ACT_AUTO;
            ASSERT_OK(uniql_perplexity_ex(q, t, nt, 256, nw, &so, &p_i8, NULL, NULL, &e));
        } else
            p_f32 = p_i8 = 1.0;
        V = q->config.vocab_size;
        l0 = forward_logits(q, t, nl, 0, NULL, UNIQL_ACT_F32, 0);
        l1 = forward_logits(q, t, nl, 0, NULL, UNIQL_ACT_AUTO, 0);
        ASSERT(l0 && l1);
        for (k = 0; k < nl * V; k++) {
            double dd = fabs((double)l0[k] - l1[k]);
            if (dd > worst) worst = dd;
            rms += (double)l0[k] * l0[k];
        }
        rms = sqrt(rms / ((double)nl * V));
        if (!UQ_SANITIZED)
            UQ_NOTE("%-20s ppl fp32-act %.4f  int8-act %.4f (%+.3f %%); max |dlogit| %.4f = %.2f %% of logit RMS %.3f",
                    names[f], p_f32, p_i8, 100 * (p_i8 / p_f32 - 1), worst, 100 * worst / rms, rms);
        else
            UQ_NOTE("%-20s %d tokens: max |dlogit| %.4f = %.2f %% of logit RMS %.3f (perplexity: make test)",
                    names[f], nl, worst, 100 * worst / rms, rms);
        ASSERT_LE(fabs(p_i8 / p_f32 - 1), 0.005);
        /* byte models: observed <= 2.7 % of RMS; BPE models (vocabulary 8192, sharper
           logits): observed 8.6 % (llama-bpe-21m) and 4.9 % (nemotronh-bpe-17m), bound 15 % */
        ASSERT_LE(worst, (bpe ? 0.15 : 0.05) * rms);
        free(l0); free(l1);
        uniql_model_free(q);
        uniql_model_free(m);
    }
    free(tok);
    free(txt);
    free(btok);
    free(ids);
    PASS();
}

SUITE(speed_suite)
{
    RUN_TEST(parallel_for_runs_every_job_once);
    RUN_TEST(matmul_par_bit_identical);
    RUN_TEST(load_dir_quantized_equals_load_then_quantize);
    RUN_TEST(load_dir_quantized_never_holds_the_checkpoint);
    RUN_TEST(forward_bit_identical_across_threads);
    RUN_TEST(attention_simd_scalar_identical);
    RUN_TEST(corr_simd_scalar_threads_identical);
    RUN_TEST(quantize_and_calibrate_identical_across_threads);
    RUN_TEST(int8_activations_keep_perplexity);
}
