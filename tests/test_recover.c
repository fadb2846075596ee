/* test_recover.c - the recovery hand-over of API 9b (UniQL step 4) on the tiny reference
   models of tests/data/ref:
   - the safetensors writer round-trips through the strict reader (F32 exact, F16 / BF16 as
     the API 2 conversions);
   - export -> load -> re-apply the order gives the sorted model back: logits equal
     (<= 1e-5, in fact bit for bit), pruned at a stored rate too, and the packed .uniql of
     the re-imported model is byte-identical to the packed sorted model;
   - the export alone is an ordinary checkpoint computing the original function (q/k back
     in rotate_half order);
   - the order file round-trips, and every malformed order file gets its documented code;
   - masked forward in PyTorch (tools/train/recover.py, run on the device) equals the C
     pruned model at every stored rate (<= 1e-4), on the committed exports of
     tests/data/recover. */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <stdlib.h>
#include <string.h>

static const char *const RFAMS[5] = { "llama", "qwen2", "mamba2", "nemotron_h", "bamba" };

static int *rec_tokens(int n, uint64_t seed)
{
    int *t = (int *)malloc(sizeof(int) * (size_t)n), i;
    trng g;
    g.s = seed;
    for (i = 0; i < n; i++) t[i] = i > 8 && trng_unif(&g) < 0.3 ? t[i - 7] : (int)(32 + trng_u64(&g) % 90);
    return t;
}

/* ---- safetensors writer ---- */

TEST safetensors_writer_round_trips(void)
{
    float a[6] = { 1.0f, -2.5f, 3.14159274f, -0.0f, 1e-8f, 65504.0f }, b[4] = { 0.1f, 0.2f, -0.3f, 1e30f }, c1[2] = { 7, 8 };
    uniql_safetensors_input in[3];
    uniql_safetensors st;
    uniql_error e;
    void *img;
    size_t size;
    int k, dt;
    memset(in, 0, sizeof in);
    in[0].name = "z.weight"; in[0].ndim = 2; in[0].shape[0] = 2; in[0].shape[1] = 3; in[0].data = a;
    in[1].name = "a.conv"; in[1].ndim = 3; in[1].shape[0] = 2; in[1].shape[1] = 1; in[1].shape[2] = 2; in[1].data = b;
    in[2].name = "m.bias"; in[2].ndim = 1; in[2].shape[0] = 2; in[2].data = c1;
    for (dt = 0; dt < 3; dt++) {
        const uniql_tensor *t;
        ASSERT_OK(uniql_safetensors_write(in, 3, (uniql_dtype)dt, NULL, &img, &size, &e));
        ASSERT_OK(uniql_safetensors_parse(img, size, NULL, &st, &e));
        ASSERT_EQ(3, st.n_tensors);
        ASSERT_STR_EQ("a.conv", st.tensors[0].name);   /* name order */
        t = uniql_safetensors_find(&st, "z.weight");
        ASSERT(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 && (int)t->dtype == dt);
        for (k = 0; k < 6; k++) {
            float want = dt == 0 ? a[k] : dt == 1 ? uniql_fp16_to_fp32(uniql_fp32_to_fp16(a[k])) : uniql_bf16_to_fp32(uniql_fp32_to_bf16(a[k]));
            float got;
            if (dt == 0) memcpy(&got, (const unsigned char *)t->data + 4 * k, 4);
            else {
                uint16_t h;
                memcpy(&h, (const unsigned char *)t->data + 2 * k, 2);
                got = dt == 1 ? uniql_fp16_to_fp32(h) : uniql_bf16_to_fp32(h);
            }
            ASSERT_MEM_EQ(&want, &got, sizeof got);
        }
        t = uniql_safetensors_find(&st, "a.conv");
        ASSERT(t && t->ndim == 3 && t->shape[2] == 2);
        /* header length is a multiple of 8 (the data area starts aligned) */
        ASSERT_EQ(0, (int)((size - st.data_size) % 8));
        uniql_safetensors_free(&st);
        uniql_free_buffer(img, NULL);
    }
    /* bad arguments */
    ASSERT_ERR(UNIQL_ERR_DTYPE, uniql_safetensors_write(in, 3, UNIQL_DTYPE_Q4, NULL, &img, &size, &e));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_safetensors_write(in, 0, UNIQL_DTYPE_F32, NULL, &img, &size, &e));
    in[2].name = "z.weight";
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_safetensors_write(in, 3, UNIQL_DTYPE_F32, NULL, &img, &size, &e));
    in[2].name = "__metadata__";
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_safetensors_write(in, 3, UNIQL_DTYPE_F32, NULL, &img, &size, &e));
    in[2].name = "m.bias";
    in[2].shape[0] = 0;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_safetensors_write(in, 3, UNIQL_DTYPE_F32, NULL, &img, &size, &e));
    in[2].shape[0] = 2;
    in[2].ndim = 0;
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_safetensors_write(in, 3, UNIQL_DTYPE_F32, NULL, &img, &size, &e));
    in[2].ndim = 1;
    in[2].name = "bad\xff";
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_safetensors_write(in, 3, UNIQL_DTYPE_F32, NULL, &img, &size, &e));
    ASSERT(img == NULL);
    PASS();
}

/* ---- export, order, re-import ---- */

#define RNCAL 96
#define RSEQ 32
#define RNTOK 20

typedef struct rec_case {
    uniql_model *orig, *sorted, *hf, *back;
    uniql_order ord;
    char *cfg;
    size_t cfg_len;
    void *st;
    size_t st_size;
    char *otext;
    size_t olen;
    double rates[2];
    uniql_kept kept[2 * 16];
} rec_case;

static void rec_free(rec_case *R)
{
    uniql_model_free(R->back);
    uniql_model_free(R->hf);
    uniql_model_free(R->sorted);
    uniql_model_free(R->orig);
    uniql_order_free(&R->ord);
    free(R->cfg);
    uniql_free_buffer(R->st, NULL);
    uniql_free_buffer(R->otext, NULL);
    memset(R, 0, sizeof *R);
}

/* load, calibrate, sort (prunable), rate tables at 0.15 / 0.35 (block influence), export
   F32, write + parse the order, load the export, re-apply: every step must succeed */
static int rec_build(rec_case *R, int f, int no_vo, uniql_error *e)
{
    uniql_calib_options co;
    uniql_calib *cb = NULL;
    uniql_sort_options so;
    uniql_file_view fv;
    double imp[16], lr[16], params[16];
    char path[256];
    int *tok = rec_tokens(RNCAL, 11), i, l, L, ok = 0;
    memset(R, 0, sizeof *R);
    if (!(R->orig = tutil_load_ref(RFAMS[f], 1))) goto out;
    L = R->orig->config.n_layers;
    snprintf(path, sizeof path, "tests/data/ref/%s/config.json", RFAMS[f]);
    if (!(R->cfg = (char *)tutil_read_file(path, &R->cfg_len))) goto out;
    memset(&co, 0, sizeof co);
    co.seq_len = RSEQ;
    co.max_batch = 8;
    if (uniql_calibrate(R->orig, tok, RNCAL, &co, &cb, e) != UNIQL_OK) goto out;
    uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, imp);
    memset(&so, 0, sizeof so);
    so.layout = UNIQL_LAYOUT_PRUNABLE;
    so.no_vo = no_vo;
    if (uniql_sort_model(R->orig, cb, &so, &R->sorted, e) != UNIQL_OK) goto out;
    R->rates[0] = 0.15;
    R->rates[1] = 0.35;
    for (l = 0; l < L; l++) params[l] = (double)uniql_prunable_params(&R->orig->config, l, NULL);
    for (i = 0; i < 2; i++)
        if (uniql_layer_rates(L, imp, params, R->rates[i], 0, 0, lr) != UNIQL_OK ||
            uniql_kept_from_rates(&R->orig->config, lr, NULL, R->kept + i * L) != UNIQL_OK) goto out;
    if (uniql_export_hf(R->sorted, UNIQL_DTYPE_F32, NULL, &R->st, &R->st_size, e) != UNIQL_OK) goto out;
    if (uniql_order_write(R->sorted, 2, R->rates, R->kept, imp, NULL, NULL, &R->otext, &R->olen, e) != UNIQL_OK) goto out;
    if (uniql_order_parse(R->otext, R->olen, &R->orig->config, NULL, &R->ord, e) != UNIQL_OK) goto out;
    fv.name = "model.safetensors";
    fv.data = R->st;
    fv.size = R->st_size;
    if (uniql_model_load(R->cfg, R->cfg_len, NULL, 0, &fv, 1, NULL, &R->hf, e) != UNIQL_OK) goto out;
    if (uniql_apply_order(R->hf, &R->ord, UNIQL_LAYOUT_PRUNABLE, NULL, &R->back, e) != UNIQL_OK) goto out;
    ok = 1;
out:
    uniql_calib_free(cb);
    free(tok);
    return ok;
}

static double rel_diff(const float *a, const float *b, size_t n)
{
    double s = tutil_max_abs(b, n);
    return tutil_max_diff(a, b, n) / (s > 0 ? s : 1);
}

static uq_status check_round_trip(int f)
{
    rec_case R;
    uniql_error e;
    int *tok = rec_tokens(RNTOK, 5), i;
    size_t n;
    float *ls = NULL, *lb = NULL, *lh = NULL, *lo = NULL;
    uq_status st = UQ_PASS;
    memset(&e, 0, sizeof e);
    if (!rec_build(&R, f, f == 1, &e)) { rec_free(&R); free(tok); UQ__FAILF("%s: %s", RFAMS[f], e.message); }
    n = (size_t)RNTOK * R.orig->config.vocab_size;
    ls = tutil_prefill_logits(R.sorted, tok, RNTOK, 8);
    lb = tutil_prefill_logits(R.back, tok, RNTOK, 8);
    lh = tutil_prefill_logits(R.hf, tok, RNTOK, 8);
    lo = tutil_prefill_logits(R.orig, tok, RNTOK, 8);
    if (!ls || !lb || !lh || !lo) { st = UQ_FAIL; snprintf(uq__st.fail_msg, sizeof uq__st.fail_msg, "forward failed"); goto out; }
    /* re-imported == sorted (the same fp32 weights in the same layout) */
    if (!(rel_diff(lb, ls, n) <= 1e-5)) { st = UQ_FAIL; snprintf(uq__st.fail_msg, sizeof uq__st.fail_msg, "%s: re-import differs by %g", RFAMS[f], rel_diff(lb, ls, n)); goto out; }
    if (memcmp(lb, ls, sizeof(float) * n)) UQ_NOTE("%s: re-import equal to %g, not bit for bit", RFAMS[f], rel_diff(lb, ls, n));
    /* the export read as a plain checkpoint is the original function */
    if (!(rel_diff(lh, lo, n) <= 1e-4)) { st = UQ_FAIL; snprintf(uq__st.fail_msg, sizeof uq__st.fail_msg, "%s: export as plain HF differs from the original by %g", RFAMS[f], rel_diff(lh, lo, n)); goto out; }
    /* pruned at each stored rate: the same model */
    for (i = 0; i < 2; i++) {
        uniql_model *ps = NULL, *pb = NULL;
        float *a = NULL, *b = NULL;
        int L = R.orig->config.n_layers;
        if (uniql_model_prune(R.sorted, R.ord.kept + i * L, 0, NULL, &ps, &e) == UNIQL_OK &&
            uniql_model_prune(R.back, R.ord.kept + i * L, 0, NULL, &pb, &e) == UNIQL_OK) {
            a = tutil_prefill_logits(ps, tok, RNTOK, 8);
            b = tutil_prefill_logits(pb, tok, RNTOK, 8);
        }
        if (!a || !b || !(rel_diff(b, a, n) <= 1e-5)) {
            st = UQ_FAIL;
            snprintf(uq__st.fail_msg, sizeof uq__st.fail_msg, "%s: pruned at rate %g: %s", RFAMS[f], R.rates[i], a && b ? "differs" : e.message);
        }
        free(a); free(b);
        uniql_model_free(ps); uniql_model_free(pb);
        if (st != UQ_PASS) goto out;
    }
out:
    free(ls); free(lb); free(lh); free(lo); free(tok);
    rec_free(&R);
    return st;
}

TEST export_round_trip_llama(void) { return check_round_trip(0); }
TEST export_round_trip_qwen2_no_vo(void) { return check_round_trip(1); }
TEST export_round_trip_mamba2(void) { return check_round_trip(2); }
TEST export_round_trip_nemotron_h(void) { return check_round_trip(3); }
/* Bamba: partial rotary (pass-through dims exported sorted, rotary pairs ranked), Mamba + MLP layers */
TEST export_round_trip_bamba(void) { return check_round_trip(4); }

/* Qwen2's V/O decomposition folds v's bias into an o_proj bias HF's Qwen2 does not have */
TEST export_refuses_what_hf_cannot_hold(void)
{
    rec_case R;
    uniql_error e;
    void *img = NULL;
    size_t size;
    uniql_model *p = NULL;
    memset(&e, 0, sizeof e);
    if (!rec_build(&R, 1, 1, &e)) { rec_free(&R); FAILm(e.message); }
    {
        uniql_calib *cb = NULL;
        uniql_calib_options co;
        uniql_sort_options so;
        uniql_model *s2 = NULL;
        int *tok = rec_tokens(RNCAL, 11);
        memset(&co, 0, sizeof co);
        co.seq_len = RSEQ;
        memset(&so, 0, sizeof so);
        ASSERT_OK(uniql_calibrate(R.orig, tok, RNCAL, &co, &cb, &e));
        ASSERT_OK(uniql_sort_model(R.orig, cb, &so, &s2, &e));
        ASSERT_ERR(UNIQL_ERR_UNSUPPORTED, uniql_export_hf(s2, UNIQL_DTYPE_F32, NULL, &img, &size, &e));
        ASSERT(strstr(e.message, "no_vo") != NULL);
        ASSERT(img == NULL);
        uniql_model_free(s2);
        uniql_calib_free(cb);
        free(tok);
    }
    /* a pruned model is not exported; re-applying to an already sorted model is refused */
    ASSERT_OK(uniql_model_prune(R.sorted, R.ord.kept, 1, NULL, &p, &e));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_export_hf(p, UNIQL_DTYPE_F32, NULL, &img, &size, &e));
    uniql_model_free(p);
    p = NULL;
    ASSERT_ERR(UNIQL_ERR_UNSUPPORTED, uniql_apply_order(R.sorted, &R.ord, UNIQL_LAYOUT_PRUNABLE, NULL, &p, &e));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_apply_order(R.hf, &R.ord, (uniql_layout)7, NULL, &p, &e));
    ASSERT(p == NULL);
    rec_free(&R);
    /* an order of another model */
    if (!rec_build(&R, 0, 0, &e)) { rec_free(&R); FAILm(e.message); }
    {
        uniql_model *q = tutil_load_ref("qwen2", 1);
        uniql_order o2;
        ASSERT(q);
        ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_apply_order(q, &R.ord, UNIQL_LAYOUT_PRUNABLE, NULL, &p, &e));
        ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_order_parse(R.otext, R.olen, &q->config, NULL, &o2, &e));
        ASSERT(o2.mem == NULL && o2.n_layers == 0);
        uniql_model_free(q);
    }
    rec_free(&R);
    PASS();
}

/* the whole path: pack(sorted) and pack(apply_order(export(sorted))) are the same bytes */
static uq_status check_same_pack(int f)
{
    rec_case R;
    uniql_error e;
    uniql_model *qa = NULL, *qb = NULL;
    uniql_model_quant_options qo;
    uniql_pack_model_desc d;
    void *ia = NULL, *ib = NULL;
    size_t sa = 0, sb = 0;
    uq_status st = UQ_PASS;
    memset(&e, 0, sizeof e);
    if (!rec_build(&R, f, 0, &e)) { rec_free(&R); UQ__FAILF("%s: %s", RFAMS[f], e.message); }
    memset(&qo, 0, sizeof qo);
    memset(&d, 0, sizeof d);
    d.config_json = R.cfg;
    d.config_len = R.cfg_len;
    d.n_rates = R.ord.n_rates;
    d.rates = R.ord.rates;
    d.kept = R.ord.kept;
    d.block_influence = R.ord.block_influence;
    if (uniql_model_quantize(R.sorted, NULL, &qo, &qa, &e) != UNIQL_OK || uniql_model_quantize(R.back, NULL, &qo, &qb, &e) != UNIQL_OK ||
        uniql_pack_model(qa, &d, NULL, &ia, &sa, &e) != UNIQL_OK || uniql_pack_model(qb, &d, NULL, &ib, &sb, &e) != UNIQL_OK) {
        st = UQ_FAIL;
        snprintf(uq__st.fail_msg, sizeof uq__st.fail_msg, "%s: %s", RFAMS[f], e.message);
    } else if (sa != sb || memcmp(ia, ib, sa)) {
        st = UQ_FAIL;
        snprintf(uq__st.fail_msg, sizeof uq__st.fail_msg, "%s: packed files differ (%lu vs %lu bytes)", RFAMS[f], (unsigned long)sa, (unsigned long)sb);
    }
    uniql_free_buffer(ia, NULL);
    uniql_free_buffer(ib, NULL);
    uniql_model_free(qa);
    uniql_model_free(qb);
    rec_free(&R);
    return st;
}

TEST reapplied_order_packs_to_the_same_bytes_llama(void) { return check_same_pack(0); }
TEST reapplied_order_packs_to_the_same_bytes_nemotron_h(void) { return check_same_pack(3); }

/* ---- order files ---- */

TEST order_file_round_trips(void)
{
    rec_case R;
    uniql_error e;
    int L, i, l, g, j, half;
    char *t2 = NULL;
    size_t n2 = 0;
    uniql_order o2;
    memset(&e, 0, sizeof e);
    if (!rec_build(&R, 0, 0, &e)) { rec_free(&R); FAILm(e.message); }
    L = R.orig->config.n_layers;
    half = R.orig->config.head_dim / 2;
    ASSERT_EQ(L, R.ord.n_layers);
    ASSERT_EQ(2, R.ord.n_rates);
    ASSERT_IN_RANGE(0.15, R.ord.rates[0], 0);
    ASSERT_IN_RANGE(0.35, R.ord.rates[1], 0);
    ASSERT(R.ord.block_influence && !R.ord.lsaq);
    ASSERT(uniql_order_matches(&R.ord, &R.orig->config));
    for (l = 0; l < L; l++) {
        ASSERT(R.ord.rope_pairs[l] != NULL);
        for (g = 0; g < R.orig->config.n_kv_heads; g++)
            for (j = 0; j < half; j++)
                ASSERT_EQ(R.sorted->layers[l].attn.rope_pairs[g * half + j], R.ord.rope_pairs[l][g * half + j]);
        for (i = 0; i < 2; i++) {
            const uniql_kept *a = &R.kept[i * L + l], *b = &R.ord.kept[i * L + l];
            ASSERT(a->qk_dim == b->qk_dim && a->v_dim == b->v_dim && a->d_int == b->d_int);
            ASSERT(b->head_dim == 0 && b->state == 0);   /* parts a decoder layer lacks */
        }
    }
    /* writing the re-imported model gives the same text */
    ASSERT_OK(uniql_order_write(R.back, 2, R.rates, R.kept, R.ord.block_influence, NULL, NULL, &t2, &n2, &e));
    ASSERT_EQ(R.olen, n2);
    ASSERT_MEM_EQ(R.otext, t2, n2);
    uniql_free_buffer(t2, NULL);
    /* without a config, only the file's own consistency is checked */
    ASSERT_OK(uniql_order_parse(R.otext, R.olen, NULL, NULL, &o2, &e));
    ASSERT(uniql_order_matches(&o2, &R.orig->config));
    uniql_order_free(&o2);
    uniql_order_free(&o2);   /* twice is fine */
    /* writer arguments */
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_order_write(R.sorted, 0, R.rates, R.kept, NULL, NULL, NULL, &t2, &n2, &e));
    {
        double bad[2] = { 0.35, 0.15 };
        ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_order_write(R.sorted, 2, bad, R.kept, NULL, NULL, NULL, &t2, &n2, &e));
    }
    R.kept[0].d_int = R.orig->config.intermediate_size + 1;
    ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_order_write(R.sorted, 2, R.rates, R.kept, NULL, NULL, NULL, &t2, &n2, &e));
    ASSERT(t2 == NULL);
    rec_free(&R);
    PASS();
}

/* replace the first occurrence of `from` by `to` in text (a new malloc'd string) */
static char *subst(const char *text, const char *from, const char *to)
{
    const char *p = strstr(text, from);
    size_t a, b, c;
    char *s;
    if (!p) return NULL;
    a = (size_t)(p - text);
    b = strlen(to);
    c = strlen(p + strlen(from));
    s = (char *)malloc(a + b + c + 1);
    memcpy(s, text, a);
    memcpy(s + a, to, b);
    memcpy(s + a + b, p + strlen(from), c + 1);
    return s;
}

TEST malformed_order_files_get_their_codes(void)
{
    /* edits of a valid order file of the llama reference (2 layers, 2 KV heads, 8 pairs) */
    static const struct { const char *from, *to; uniql_result code; } cases[] = {
        { "{\"format\"", "x{\"format\"", UNIQL_ERR_PARSE },
        { "\"uniql-order\"", "\"uniql-orders\"", UNIQL_ERR_FORMAT },
        { "\"format\":\"uniql-order\",", "", UNIQL_ERR_MISSING },
        { "\"version\":1", "\"version\":2", UNIQL_ERR_VERSION },
        { "\"version\":1", "\"version\":\"1\"", UNIQL_ERR_FORMAT },
        { "\"version\":1,", "", UNIQL_ERR_MISSING },
        { "\"version\":1,", "\"version\":1,\"extra\":0,", UNIQL_ERR_FORMAT },
        { "\"model\":{", "\"model\":{\"x\":1,", UNIQL_ERR_FORMAT },
        { "\"model_type\":\"llama\"", "\"model_type\":\"gpt2\"", UNIQL_ERR_SHAPE },
        { "\"blocks\":\"DD\"", "\"blocks\":\"D\"", UNIQL_ERR_SHAPE },
        { "\"blocks\":\"DD\"", "\"blocks\":\"DM\"", UNIQL_ERR_SHAPE },
        { "\"head_dim\":16", "\"head_dim\":15", UNIQL_ERR_SHAPE },
        { "\"n_kv_heads\":2", "\"n_kv_heads\":4", UNIQL_ERR_SHAPE },
        { "\"hidden_size\":96,", "", UNIQL_ERR_MISSING },
        { "\"rope\":1", "\"rope\":true", UNIQL_ERR_FORMAT },
        { "\"rope_pairs\":[\n[", "\"rope_pairs\":[null,\n[", UNIQL_ERR_FORMAT },
        { "\"rope_pairs\":[\n[", "\"rope_pairs\":[\n[[0],", UNIQL_ERR_FORMAT },
        { "\"rates\":[0.14999999999999999,", "\"rates\":[0.5,", UNIQL_ERR_FORMAT },
        { "\"rates\":[0.14999999999999999,", "\"rates\":[1,", UNIQL_ERR_FORMAT },
        { "\"rates\":[0.14999999999999999,", "\"rates\":[0.1,0.14999999999999999,", UNIQL_ERR_FORMAT },
        { "\"kept\":[", "\"kept\":[[],", UNIQL_ERR_FORMAT },
        { ",\"block_influence\":[", ",\"block_influence\":[1,", UNIQL_ERR_FORMAT },
        { ",\"block_influence\":[", ",\"block_influence\":[1e999,", UNIQL_ERR_RANGE },
        { "\"kept\":[", "\"kept\":", UNIQL_ERR_PARSE },
    };
    rec_case R;
    uniql_error e;
    uniql_order o;
    size_t k;
    int checked = 0;
    memset(&e, 0, sizeof e);
    if (!rec_build(&R, 0, 0, &e)) { rec_free(&R); FAILm(e.message); }
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *t = subst(R.otext, cases[k].from, cases[k].to);
        uniql_result r;
        if (!t) { rec_free(&R); UQ__FAILF("case %d: '%s' not in the order file", (int)k, cases[k].from); }
        memset(&e, 0, sizeof e);
        r = uniql_order_parse(t, strlen(t), &R.orig->config, NULL, &o, &e);
        free(t);
        if (r != cases[k].code || e.code != r || !e.message[0] || o.mem) {
            rec_free(&R);
            UQ__FAILF("case %d ('%s' -> '%s'): got %d (%s), expected %d", (int)k, cases[k].from, cases[k].to, (int)r, e.message, (int)cases[k].code);
        }
        checked++;
    }
    /* a ranking that is not a permutation, a kept size out of range, non-zero for a part the
       layer lacks, odd q/k with RoPE: edits inside the tables */
    {
        char *t = (char *)malloc(R.olen + 1), *p;
        memcpy(t, R.otext, R.olen + 1);
        p = strstr(t, "\"rope_pairs\":[\n[[");
        ASSERT(p);
        p += strlen("\"rope_pairs\":[\n[[");
        /* first entry := second entry (a duplicate) */
        {
            char *q = strchr(p, ','), *r2 = q ? strchr(q + 1, ',') : NULL;
            ASSERT(q && r2);
            if (r2 - (q + 1) == q - p) { memcpy(p, q + 1, (size_t)(q - p)); }
            else { free(t); rec_free(&R); FAILm("rope_pairs entries of different widths"); }
        }
        ASSERT_ERR(UNIQL_ERR_FORMAT, uniql_order_parse(t, strlen(t), &R.orig->config, NULL, &o, &e));
        free(t);
        checked++;
    }
    {
        char want[64], bad[64];
        const uniql_kept *k0 = &R.ord.kept[0];
        char *t;
        snprintf(want, sizeof want, "[%d,%d,%d,0,0]", k0->qk_dim, k0->v_dim, k0->d_int);
        snprintf(bad, sizeof bad, "[%d,%d,%d,0,0]", k0->qk_dim, k0->v_dim, R.orig->config.intermediate_size + 8);
        ASSERT((t = subst(R.otext, want, bad)) != NULL);
        ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_order_parse(t, strlen(t), &R.orig->config, NULL, &o, &e));
        free(t);
        snprintf(bad, sizeof bad, "[%d,%d,%d,1,0]", k0->qk_dim, k0->v_dim, k0->d_int);
        ASSERT((t = subst(R.otext, want, bad)) != NULL);
        ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_order_parse(t, strlen(t), &R.orig->config, NULL, &o, &e));
        free(t);
        snprintf(bad, sizeof bad, "[%d,%d,%d,0,0]", k0->qk_dim - 1, k0->v_dim, k0->d_int);
        ASSERT((t = subst(R.otext, want, bad)) != NULL);
        ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_order_parse(t, strlen(t), &R.orig->config, NULL, &o, &e));
        free(t);
        snprintf(bad, sizeof bad, "[%d,0,%d,0,0]", k0->qk_dim, k0->d_int);
        ASSERT((t = subst(R.otext, want, bad)) != NULL);
        ASSERT_ERR(UNIQL_ERR_SHAPE, uniql_order_parse(t, strlen(t), &R.orig->config, NULL, &o, &e));
        free(t);
        checked += 4;
    }
    /* not an object, too long, NULL */
    ASSERT_ERR(UNIQL_ERR_FORMAT, uniql_order_parse("[1]", 3, NULL, NULL, &o, &e));
    ASSERT_ERR(UNIQL_ERR_FORMAT, uniql_order_parse(R.otext, (size_t)UNIQL_ORDER_MAX_BYTES + 1, NULL, NULL, &o, &e));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_order_parse(NULL, 3, NULL, NULL, &o, &e));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_order_parse("{}", 2, NULL, NULL, NULL, &e));
    ASSERT_ERR(UNIQL_ERR_MISSING, uniql_order_parse("{}", 2, NULL, NULL, &o, &e));
    ASSERT(checked > 25);
    rec_free(&R);
    PASS();
}

/* ---- masked forward (PyTorch) == pruned model (C) ---- */

/* tests/data/recover/<fam>/: an export made by `tools/pack --export-hf` from
   tests/data/ref/<fam> (model.safetensors, config.json, order.json) and masked.bin, made
   by `tools/train/recover.py masked-ref` (float64):
       char[8] "UQMASK01"; int32 n_tok, vocab, n_cases; int32 tokens[n_tok];
       n_cases x { int32 rate_index (-1: the full model); float32 logits[n_tok][vocab] } */
static uq_status check_masked_ref(const char *fam)
{
    char path[256], *cfg = NULL, *otext = NULL;
    unsigned char *st = NULL, *ref = NULL;
    size_t cfg_len = 0, st_len = 0, olen = 0, ref_len = 0, off;
    uniql_model *hf = NULL, *sorted = NULL;
    uniql_order ord;
    uniql_error e;
    uniql_file_view fv;
    int n_tok, V, n_cases, k, *tok = NULL, checked = 0;
    double worst = 0;
    uq_status res = UQ_PASS;
    memset(&ord, 0, sizeof ord);
    memset(&e, 0, sizeof e);
#define MR_FAIL(...) do { res = UQ_FAIL; snprintf(uq__st.fail_msg, sizeof uq__st.fail_msg, __VA_ARGS__); goto out; } while (0)
    snprintf(path, sizeof path, "tests/data/recover/%s/config.json", fam);
    cfg = (char *)tutil_read_file(path, &cfg_len);
    snprintf(path, sizeof path, "tests/data/recover/%s/model.safetensors", fam);
    st = tutil_read_file(path, &st_len);
    snprintf(path, sizeof path, "tests/data/recover/%s/order.json", fam);
    otext = (char *)tutil_read_file(path, &olen);
    snprintf(path, sizeof path, "tests/data/recover/%s/masked.bin", fam);
    ref = tutil_read_file(path, &ref_len);
    if (!cfg || !st || !otext || !ref) MR_FAIL("%s: tests/data/recover files missing", fam);
    if (ref_len < 20 || memcmp(ref, "UQMASK01", 8)) MR_FAIL("%s: masked.bin is not a UQMASK01 file", fam);
    memcpy(&n_tok, ref + 8, 4); memcpy(&V, ref + 12, 4); memcpy(&n_cases, ref + 16, 4);
    off = 20 + 4 * (size_t)n_tok;
    if (n_tok < 1 || n_tok > 4096 || V < 1 || n_cases < 1 || ref_len != off + (size_t)n_cases * (4 + 4 * (size_t)n_tok * V))
        MR_FAIL("%s: masked.bin sizes inconsistent", fam);
    tok = (int *)malloc(sizeof(int) * (size_t)n_tok);
    memcpy(tok, ref + 20, sizeof(int) * (size_t)n_tok);
    fv.name = "model.safetensors"; fv.data = st; fv.size = st_len;
    if (uniql_model_load(cfg, cfg_len, NULL, 0, &fv, 1, NULL, &hf, &e) != UNIQL_OK ||
        uniql_order_parse(otext, olen, &hf->config, NULL, &ord, &e) != UNIQL_OK ||
        uniql_apply_order(hf, &ord, UNIQL_LAYOUT_PRUNABLE, NULL, &sorted, &e) != UNIQL_OK)
        MR_FAIL("%s: %s", fam, e.message);
    if (V != hf->config.vocab_size || n_cases != ord.n_rates + 1) MR_FAIL("%s: masked.bin has %d cases for %d rates", fam, n_cases, ord.n_rates);
    for (k = 0; k < n_cases; k++) {
        const unsigned char *c0 = ref + off + (size_t)k * (4 + 4 * (size_t)n_tok * V);
        int ri;
        uniql_model *p = NULL;
        float *want = (float *)malloc(sizeof(float) * (size_t)n_tok * V), *got;
        double d;
        memcpy(&ri, c0, 4);
        memcpy(want, c0 + 4, sizeof(float) * (size_t)n_tok * V);
        if (ri < -1 || ri >= ord.n_rates) { free(want); MR_FAIL("%s: case %d has rate index %d", fam, k, ri); }
        if (ri >= 0 && uniql_model_prune(sorted, ord.kept + (size_t)ri * ord.n_layers, 0, NULL, &p, &e) != UNIQL_OK) {
            free(want);
            MR_FAIL("%s: prune: %s", fam, e.message);
        }
        got = tutil_prefill_logits(p ? p : sorted, tok, n_tok, 16);
        d = got ? tutil_max_diff(got, want, (size_t)n_tok * V) / (1 + tutil_max_abs(want, (size_t)n_tok * V)) : 1e30;
        if (d > worst) worst = d;
        free(got);
        free(want);
        uniql_model_free(p);
        if (!(d <= 1e-4)) MR_FAIL("%s: rate index %d: C pruned vs PyTorch masked differ by %g (relative)", fam, ri, d);
        checked++;
    }
    UQ_NOTE("%s: %d cases, C pruned vs PyTorch masked: max diff %.2e of the largest logit", fam, checked, worst);
out:
#undef MR_FAIL
    free(cfg); free(st); free(otext); free(ref); free(tok);
    uniql_order_free(&ord);
    uniql_model_free(sorted);
    uniql_model_free(hf);
    return res;
}

TEST masked_forward_equals_pruned_llama(void) { return check_masked_ref("llama"); }
TEST masked_forward_equals_pruned_mamba2(void) { return check_masked_ref("mamba2"); }
TEST masked_forward_equals_pruned_nemotron_h(void) { return check_masked_ref("nemotron_h"); }

SUITE(recover_suite)
{
    RUN_TEST(safetensors_writer_round_trips);
    RUN_TEST(export_round_trip_llama);
    RUN_TEST(export_round_trip_qwen2_no_vo);
    RUN_TEST(export_round_trip_mamba2);
    RUN_TEST(export_round_trip_nemotron_h);
    RUN_TEST(export_round_trip_bamba);
    RUN_TEST(export_refuses_what_hf_cannot_hold);
    RUN_TEST(reapplied_order_packs_to_the_same_bytes_llama);
    RUN_TEST(reapplied_order_packs_to_the_same_bytes_nemotron_h);
    RUN_TEST(order_file_round_trips);
    RUN_TEST(malformed_order_files_get_their_codes);
    RUN_TEST(masked_forward_equals_pruned_llama);
    RUN_TEST(masked_forward_equals_pruned_mamba2);
    RUN_TEST(masked_forward_equals_pruned_nemotron_h);
}
