/* test_layerwise.c - API 10: the layer-by-layer pipeline equals the whole-model one.
   Calibrating layer views one after another from hidden states, sorting and quantizing
   each view, and streaming the tensors into a .uniql through uniql_pack_assemble must
   give the statistics, the sorted weights and the file bytes of the whole-model calls
   (uniql_calibrate, uniql_sort_model, uniql_model_quantize, uniql_pack_model), bit
   for bit, on every reference family. */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <string.h>

static const char *const fams[4] = {"llama", "qwen2", "mamba2", "nemotron_h"};

/* hidden states entering layer 0: the embedding rows of the tokens */
static float *embed_rows(const uniql_model *m, const int *tok, size_t n)
{
    int D = m->config.hidden_size;
    size_t t;
    float *x = (float *)malloc(sizeof(float) * n * (size_t)D);
    for (t = 0; x && t < n; t++)
        if (uniql_dequantize_row(&m->embed, tok[t], x + t * (size_t)D) != UNIQL_OK) { free(x); return NULL; }
    return x;
}

/* statistic (stat, head) of layer la in a and lb in b: the same dimension and bytes */
static int same_stat(const uniql_calib *a, int la, const uniql_calib *b, int lb, uniql_calib_stat st, int head)
{
    int d = uniql_calib_corr_dim(a, la, st, head), ok;
    double *Ca, *Cb;
    if (d != uniql_calib_corr_dim(b, lb, st, head)) return 0;
    if (!d) return 1;
    Ca = (double *)malloc(sizeof(double) * (size_t)d * d);
    Cb = (double *)malloc(sizeof(double) * (size_t)d * d);
    ok = Ca && Cb && uniql_calib_corr(a, la, st, head, Ca, (size_t)d) == UNIQL_OK &&
         uniql_calib_corr(b, lb, st, head, Cb, (size_t)d) == UNIQL_OK && !memcmp(Ca, Cb, sizeof(double) * (size_t)d * d);
    free(Ca);
    free(Cb);
    return ok;
}

static int n_heads_of(const uniql_config *c, uniql_calib_stat st)
{
    switch (st) {
    case UNIQL_STAT_Q: return c->n_heads;
    case UNIQL_STAT_K: return c->n_kv_heads;
    case UNIQL_STAT_MAMBA_C: return c->ssm_groups;
    case UNIQL_STAT_MAMBA_DTB: return c->ssm_heads;
    default: return 1;
    }
}

static uq_status calib_family(const char *fam)
{
    uniql_model *M = tutil_load_ref(fam, 0), V;
    uniql_calib *cw, *cl;
    uniql_calib_options co;
    uniql_calib_stream io;
    uniql_error err;
    int tok[200], L, l, st, h, k, checked = 0;
    size_t n = 200;
    double wi[4][UNIQL_MAX_LAYERS], li[UNIQL_MAX_LAYERS];
    trng r = {11};
    ASSERT(M != NULL);
    L = M->config.n_layers;
    for (k = 0; k < (int)n; k++) tok[k] = (int)(trng_u64(&r) % (uint64_t)M->config.vocab_size);
    memset(&co, 0, sizeof co);
    co.seq_len = 64;     /* 3 whole sequences and a tail of 8 */
    co.max_batch = 16;   /* several chunks per sequence */
    co.lsaq = 1;
    ASSERT_OK(uniql_calibrate(M, tok, n, &co, &cw, &err));
    for (k = 0; k < 4; k++) ASSERT_OK(uniql_calib_importance(cw, (uniql_importance)k, wi[k]));
    memset(&io, 0, sizeof io);
    io.x = embed_rows(M, tok, n);
    io.ld = (size_t)M->config.hidden_size;
    io.topk = (int *)malloc(sizeof(int) * n * 10);
    ASSERT(io.x && io.topk);
    for (l = 0; l < L; l++) {
        ASSERT_OK(uniql_model_layers(M, l, l + 1, &V));
        if (uniql_calibrate_stream(&V, &io, n, &co, &cl, &err) != UNIQL_OK) FAILm(err.message);
        ASSERT_EQ(1, io.topk_valid);
        ASSERT_EQ(uniql_calib_tokens(cw), uniql_calib_tokens(cl));
        ASSERT_EQ(uniql_calib_sequences(cw), uniql_calib_sequences(cl));
        for (st = 0; st <= (int)UNIQL_STAT_MAMBA_DTB; st++)
            for (h = 0; h < n_heads_of(&M->config, (uniql_calib_stat)st); h++) {
                ASSERT(same_stat(cw, l, cl, 0, (uniql_calib_stat)st, h));
                checked += uniql_calib_corr_dim(cl, 0, (uniql_calib_stat)st, h) > 0;
            }
        for (k = 0; k < 4; k++) {
            ASSERT_OK(uniql_calib_importance(cl, (uniql_importance)k, li));
            ASSERT_MEM_EQ(&wi[k][l], &li[0], sizeof(double));
        }
        uniql_calib_free(cl);
    }
    UQ_NOTE("%s: %d layers one by one from hidden states == whole-model calibration (%d matrices, 4 importances, bit for bit)",
            fam, L, checked);
    free(io.x);
    free(io.topk);
    uniql_calib_free(cw);
    uniql_model_free(M);
    PASS();
}

TEST layerwise_calibration_equals_whole(void)
{
    int f;
    for (f = 0; f < 4; f++) if (calib_family(fams[f]) != UQ_PASS) return UQ_FAIL;
    PASS();
}

/* an in-memory blob store for the streaming writer, and an output image */
typedef struct membuf { unsigned char *p; size_t n, cap; } membuf;
static uniql_result mb_append(void *user, const void *p, size_t n)
{
    membuf *b = (membuf *)user;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        unsigned char *q;
        while (cap < b->n + n) cap *= 2;
        if (!(q = (unsigned char *)realloc(b->p, cap))) return UNIQL_ERR_OUT_OF_MEMORY;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return UNIQL_OK;
}
static uniql_result mb_read_at(void *user, uint64_t off, void *p, size_t n)
{
    membuf *b = (membuf *)user;
    if (off + n > b->n) return UNIQL_ERR_IO;
    memcpy(p, b->p + off, n);
    return UNIQL_OK;
}
static uniql_result mb_write_at(void *user, uint64_t off, const void *p, size_t n)
{
    membuf *b = (membuf *)user;
    if (off > b->n) return UNIQL_ERR_IO;   /* the writer never leaves holes */
    if (off + n > b->n) {
        size_t keep = b->n;
        uniql_result r = mb_append(b, p, (size_t)(off + n - b->n));   /* grow */
        if (r != UNIQL_OK) return r;
        b->n = keep;
        memcpy(b->p + off, p, n);
        if (off + n > b->n) b->n = (size_t)(off + n);
        return UNIQL_OK;
    }
    memcpy(b->p + off, p, n);
    return UNIQL_OK;
}

/* append the tensors of one part to the store and to the entry list (names copied) */
static uniql_result stream_part(const uniql_model *q, int layer, int name_layer, const uniql_model *up, membuf *store,
                                uniql_pack_entry *ent, char (*names)[64], int *n_ent)
{
    uniql_pack_input in[80];
    char nm[80 * 64];
    int n, i;
    uniql_result r = uniql_pack_part_inputs(q, layer, name_layer, up, in, nm, 80, &n);
    for (i = 0; i < n && r == UNIQL_OK; i++) {
        uniql_pack_entry *e = &ent[*n_ent];
        memcpy(names[*n_ent], in[i].name, 64);
        e->name = names[*n_ent];
        e->dtype = in[i].m.dtype;
        e->rows = in[i].m.rows;
        e->cols = in[i].m.cols;
        e->transposed = in[i].m.transposed;
        e->group = in[i].m.group;
        e->at = store->n;
        r = uniql_pack_blob_write(&in[i].m, mb_append, store, NULL);
        (*n_ent)++;
    }
    return r;
}

static uq_status pack_family(const char *fam, uniql_sort_order order)
{
    char path[256];
    unsigned char *cfg;
    size_t cfg_len, size_a;
    uniql_model *M = tutil_load_ref(fam, 0), V, *S, *Q, *Q8, *G;
    uniql_calib *cb;
    uniql_calib_options co;
    uniql_calib_stream io;
    uniql_sort_options so;
    uniql_model_quant_options qo;
    uniql_pack_model_desc d;
    uniql_error err;
    uniql_rng rng;
    uniql_kept kept[2 * UNIQL_MAX_LAYERS];
    unsigned char upl[UNIQL_MAX_LAYERS];
    double rates[2] = {0.2, 0.35}, bi[UNIQL_MAX_LAYERS], lsaq[UNIQL_MAX_LAYERS], params[UNIQL_MAX_LAYERS], lr[UNIQL_MAX_LAYERS];
    int *pairs[UNIQL_MAX_LAYERS];
    int tok[160], L, l, i, n_ent = 0;
    uniql_pack_entry *ent;
    char (*names)[64];
    char *meta;
    size_t meta_len;
    uint64_t fsize;
    void *img_a;
    membuf store = {NULL, 0, 0}, out = {NULL, 0, 0};
    trng r = {23};
    ASSERT(M != NULL);
    L = M->config.n_layers;
    snprintf(path, sizeof path, "tests/data/ref/%s/config.json", fam);
    cfg = tutil_read_file(path, &cfg_len);
    ASSERT(cfg != NULL);
    for (i = 0; i < 160; i++) tok[i] = (int)(trng_u64(&r) % (uint64_t)M->config.vocab_size);
    for (l = 0; l < L; l++) upl[l] = (unsigned char)(l % 2 == 1);
    memset(&co, 0, sizeof co);
    co.seq_len = 48;
    co.lsaq = 1;
    memset(&so, 0, sizeof so);
    so.layout = UNIQL_LAYOUT_PRUNABLE;
    so.order = order;
    so.seed = 7;
    memset(&qo, 0, sizeof qo);
    memset(&d, 0, sizeof d);
    d.config_json = (const char *)cfg;
    d.config_len = cfg_len;
    d.n_rates = 2;
    d.rates = rates;
    d.kept = kept;
    d.block_influence = bi;
    d.lsaq_importance = lsaq;
    d.upgrade_layers = upl;

    /* whole model */
    ASSERT_OK(uniql_calibrate(M, tok, 160, &co, &cb, &err));
    ASSERT_OK(uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, bi));
    ASSERT_OK(uniql_calib_importance(cb, UNIQL_IMPORTANCE_LSAQ, lsaq));
    if (uniql_sort_model(M, cb, &so, &S, &err) != UNIQL_OK) FAILm(err.message);
    uniql_calib_free(cb);
    for (l = 0; l < L; l++) params[l] = (double)uniql_prunable_params(&M->config, l, NULL);
    for (i = 0; i < 2; i++) {
        ASSERT_OK(uniql_layer_rates(L, bi, params, rates[i], 0, 0, lr));
        ASSERT_OK(uniql_kept_from_rates(&M->config, lr, NULL, kept + i * L));
    }
    ASSERT_OK(uniql_model_quantize(S, NULL, &qo, &Q, &err));
    qo.bits = 8;
    ASSERT_OK(uniql_model_quantize(S, NULL, &qo, &Q8, &err));
    d.upgrade = Q8;
    if (uniql_pack_model(Q, &d, NULL, &img_a, &size_a, &err) != UNIQL_OK) FAILm(err.message);
    uniql_model_free(Q8);
    uniql_model_free(Q);
    uniql_model_free(S);
    d.upgrade = NULL;

    /* layer by layer: one view at a time, statistics freed after each */
    ent = (uniql_pack_entry *)malloc(sizeof *ent * (size_t)(3 + 80 * L));
    names = (char (*)[64])malloc(64 * (size_t)(3 + 80 * L));
    memset(&io, 0, sizeof io);
    io.x = embed_rows(M, tok, 160);
    io.ld = (size_t)M->config.hidden_size;
    io.topk = (int *)malloc(sizeof(int) * 160 * 10);
    ASSERT(ent && names && io.x && io.topk);
    uniql_rng_seed(&rng, so.seed);
    so.layers_only = 1;
    so.rng = &rng;
    for (l = 0; l < L; l++) {
        double v[1];
        ASSERT_OK(uniql_model_layers(M, l, l + 1, &V));
        if (uniql_calibrate_stream(&V, &io, 160, &co, &cb, &err) != UNIQL_OK) FAILm(err.message);
        ASSERT_OK(uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, v));
        ASSERT_MEM_EQ(&bi[l], v, sizeof v);
        ASSERT_OK(uniql_calib_importance(cb, UNIQL_IMPORTANCE_LSAQ, v));
        ASSERT_MEM_EQ(&lsaq[l], v, sizeof v);
        if (uniql_sort_model(&V, cb, &so, &S, &err) != UNIQL_OK) FAILm(err.message);
        uniql_calib_free(cb);
        ASSERT(S->embed.data == M->embed.data);   /* layers_only: no copies of the globals */
        memset(&qo, 0, sizeof qo);
        qo.layers_only = 1;
        ASSERT_OK(uniql_model_quantize(S, NULL, &qo, &Q, &err));
        qo.bits = 8;
        ASSERT_OK(uniql_model_quantize(S, NULL, &qo, &Q8, &err));
        ASSERT_OK(stream_part(Q, 0, l, upl[l] ? Q8 : NULL, &store, ent, names, &n_ent));
        pairs[l] = NULL;
        if (S->layers[0].attn.rope_pairs) {
            size_t np = (size_t)M->config.n_kv_heads * (size_t)(M->config.head_dim / 2);
            pairs[l] = (int *)malloc(sizeof(int) * np);
            memcpy(pairs[l], S->layers[0].attn.rope_pairs, sizeof(int) * np);
        }
        uniql_model_free(Q8);
        uniql_model_free(Q);
        uniql_model_free(S);
    }
    memset(&qo, 0, sizeof qo);
    qo.globals_only = 1;
    ASSERT_OK(uniql_model_quantize(M, NULL, &qo, &G, &err));
    ASSERT_OK(stream_part(G, -1, 0, NULL, &store, ent, names, &n_ent));
    uniql_model_free(G);
    ASSERT_OK(uniql_pack_meta(&M->config, (const int *const *)pairs, &d, NULL, &meta, &meta_len, &err));
    if (uniql_pack_assemble((const char *)cfg, cfg_len, meta, meta_len, ent, n_ent, mb_read_at, &store, mb_write_at, &out, NULL,
                            &fsize, &err) != UNIQL_OK)
        FAILm(err.message);
    ASSERT_EQ(size_a, fsize);
    ASSERT_EQ(size_a, out.n);
    ASSERT_MEM_EQ(img_a, out.p, size_a);
    UQ_NOTE("%s (%s order): layer-by-layer stream == uniql_pack_model, %lu bytes identical (%d tensors, store %lu bytes)", fam,
            order == UNIQL_ORDER_RANDOM ? "random" : "score", (unsigned long)size_a, n_ent, (unsigned long)store.n);
    for (l = 0; l < L; l++) free(pairs[l]);
    uniql_free_buffer(meta, NULL);
    uniql_free_buffer(img_a, NULL);
    free(store.p);
    free(out.p);
    free(ent);
    free(names);
    free(io.x);
    free(io.topk);
    free(cfg);
    uniql_model_free(M);
    PASS();
}

TEST layerwise_pack_equals_whole(void)
{
    int f;
    for (f = 0; f < 4; f++)
        if (pack_family(fams[f], UNIQL_ORDER_SCORES) != UQ_PASS) return UQ_FAIL;
    if (pack_family("llama", UNIQL_ORDER_RANDOM) != UQ_PASS || pack_family("mamba2", UNIQL_ORDER_RANDOM) != UQ_PASS) return UQ_FAIL;
    PASS();
}

TEST layerwise_views_and_hidden_forward_errors(void)
{
    uniql_model *M = tutil_load_ref("llama", 0), V;
    uniql_state *s;
    float *x;
    int D;
    ASSERT(M != NULL);
    D = M->config.hidden_size;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_model_layers(NULL, 0, 1, &V));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_model_layers(M, 1, 1, &V));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_model_layers(M, -1, 1, &V));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_model_layers(M, 0, M->config.n_layers + 1, &V));
    ASSERT_OK(uniql_model_layers(M, 1, M->config.n_layers, &V));
    ASSERT_EQ(M->config.n_layers - 1, V.config.n_layers);
    ASSERT(V.layers == M->layers + 1 && V.storage == NULL);
    ASSERT_OK(uniql_model_check(&V, NULL));
    ASSERT_OK(uniql_state_create(&V, 4, 4, NULL, &s));
    x = (float *)calloc((size_t)8 * D, sizeof(float));
    ASSERT(x != NULL);
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_forward_hidden(M, s, x, 1, (size_t)D, NULL));   /* another model */
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_forward_hidden(&V, s, x, 0, (size_t)D, NULL));
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_forward_hidden(&V, s, x, 1, (size_t)D - 1, NULL));
    ASSERT_ERR(UNIQL_ERR_RANGE, uniql_forward_hidden(&V, s, x, 5, (size_t)D, NULL));
    x[3] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_forward_hidden(&V, s, x, 2, (size_t)D, NULL));
    uniql_state_reset(s);
    x[3] = 0;
    ASSERT_OK(uniql_forward_hidden(&V, s, x, 3, (size_t)D, NULL));   /* zero rows: RMSNorm gives 0, finite */
    ASSERT_EQ(3, uniql_state_pos(s));
    uniql_state_free(s);
    free(x);
    uniql_model_free(M);
    PASS();
}

/* A NaN planted in a weight matrix: refused at load, or, with the scan deferred, by
   uniql_model_check_finite on the part that holds it (and only there). */
TEST layerwise_deferred_finite_check(void)
{
    unsigned char *cfg, *buf;
    size_t cfg_len = 0, size = 0;
    uniql_safetensors st;
    const uniql_tensor *t;
    uniql_file_view fv;
    uniql_load_options lo;
    uniql_model *M, V;
    uniql_error err;
    int l;
    cfg = tutil_read_file("tests/data/ref/mamba2/config.json", &cfg_len);
    buf = tutil_read_file("tests/data/ref/mamba2/model.safetensors", &size);
    ASSERT(cfg && buf);
    ASSERT_OK(uniql_safetensors_parse(buf, size, NULL, &st, &err));
    t = uniql_safetensors_find(&st, "backbone.layers.1.mixer.out_proj.weight");
    ASSERT(t != NULL);
    memset((unsigned char *)(uintptr_t)t->data + 16, 0xFF, 4);   /* all-ones: NaN in f32, f16 and bf16 */
    uniql_safetensors_free(&st);
    fv.name = "model.safetensors";
    fv.data = buf;
    fv.size = size;
    memset(&lo, 0, sizeof lo);
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_model_load((const char *)cfg, cfg_len, NULL, 0, &fv, 1, &lo, &M, &err));
    lo.no_finite_check = 1;
    ASSERT_OK(uniql_model_load((const char *)cfg, cfg_len, NULL, 0, &fv, 1, &lo, &M, &err));
    ASSERT_OK(uniql_model_check_finite(M, 1, &err) == UNIQL_OK ? UNIQL_ERR_INVALID_ARG : UNIQL_OK);
    ASSERT(strstr(err.message, "layer 1 mamba.out") != NULL);
    for (l = 0; l < M->config.n_layers; l++) {
        ASSERT_OK(uniql_model_layers(M, l, l + 1, &V));
        if (l == 1) ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_model_check_finite(&V, 0, &err));
        else ASSERT_OK(uniql_model_check_finite(&V, l == 0, &err));
    }
    uniql_model_free(M);
    free(buf);
    free(cfg);
    PASS();
}

SUITE(layerwise_suite)
{
    RUN_TEST(layerwise_views_and_hidden_forward_errors);
    RUN_TEST(layerwise_deferred_finite_check);
    RUN_TEST(layerwise_calibration_equals_whole);
    RUN_TEST(layerwise_pack_equals_whole);
}
