/* test_bad.c - hostile input (issue "hostile input"): the bad-input corpus found by the
   fuzzers replayed through the same drivers (tests/fuzz/fuzz_drive.h), and numerical
   hostility in weights, activations and config values; the programs' shared option parser
   and output writer (tools/cli.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"

/* a driver property that fails is recorded here instead of abort() */
static int bad_fail_count;
static char bad_fail_msg[1024];
#define FZ_FAIL(...) (bad_fail_count++, snprintf(bad_fail_msg, sizeof bad_fail_msg, __VA_ARGS__))
#include "fuzz/fuzz_drive.h"
#include "../tools/cli.h"
#include "fuzz/fuzz_cli.h"
#ifdef CLI_POSIX
#include <sys/resource.h>
#include <sys/wait.h>
#endif

/* ---- corpus replay ---- */

/* Every file listed in tests/data/bad/MANIFEST ("<harness>/<file>") goes through its
   harness's driver: the result must be a documented code with a filled uniql_error, and
   nothing may crash (the sanitizer builds, `make asan` / `make ubsan` / `make valgrind`,
   check the memory side). */
TEST bad_corpus_replays_cleanly(void)
{
    static const char *const names[8] = { "json", "config", "safetensors", "model", "uniql", "order", "tokenizer", "cli" };
    FILE *mf = fopen("tests/data/bad/MANIFEST", "r");
    char line[512], first_fail[1600] = "";
    int count[8] = { 0, 0, 0, 0, 0, 0, 0, 0 }, errors[8] = { 0, 0, 0, 0, 0, 0, 0, 0 }, fails = 0, h;
    if (!mf) FAILm("tests/data/bad/MANIFEST missing (run the tests from the repository root)");
    while (fgets(line, sizeof line, mf)) {
        char path[600];
        size_t n, len = strcspn(line, "\r\n");
        unsigned char *d;
        uniql_result r = UNIQL_OK;
        line[len] = 0;
        if (!len) continue;
        for (h = 0; h < 8; h++)
            if (!strncmp(line, names[h], strlen(names[h])) && line[strlen(names[h])] == '/') break;
        if (h == 8) { fclose(mf); UQ__FAILF("MANIFEST line '%.200s' names no harness", line); }
        snprintf(path, sizeof path, "tests/data/bad/%s", line);
        d = tutil_read_file(path, &n);
        if (!d) { fclose(mf); UQ__FAILF("cannot read %.300s", path); }
        bad_fail_count = 0;
        switch (h) {
        case 0: r = fz_json(d, n); break;
        case 1: r = fz_config(d, n); break;
        case 2: r = fz_safetensors(d, n); break;
        case 3: r = fz_model(d, n); break;
        case 4: r = fz_uniql(d, n); break;
        case 5: r = fz_order(d, n); break;
        case 6: r = fz_tokenizer(d, n); break;
#ifdef CLI_POSIX
        default: r = fz_cli(d, n); break;   /* option values: tools/cli.h against strtod / regex */
#else
        default: break;
#endif
        }
        free(d);
        count[h]++;
        errors[h] += r != UNIQL_OK;
        if (bad_fail_count) {
            if (!fails++) snprintf(first_fail, sizeof first_fail, "%s: %s", line, bad_fail_msg);
        }
    }
    fclose(mf);
    UQ_NOTE("replayed json %d (%d errors), config %d (%d), safetensors %d (%d), model %d (%d), uniql %d (%d), order %d (%d), "
            "tokenizer %d (%d), cli %d (%d)", count[0], errors[0], count[1], errors[1], count[2], errors[2], count[3], errors[3], count[4],
            errors[4], count[5], errors[5], count[6], errors[6], count[7], errors[7]);
    if (fails) UQ__FAILF("%d files broke a driver property; first: %.400s", fails, first_fail);
    for (h = 0; h < 8; h++) ASSERTm("every harness has a bad corpus", count[h] > 0);
    PASS();
}

/* ---- numerical hostility: a reference model with patched bytes ---- */

typedef struct {
    char *cfg;
    size_t cfg_len;
    unsigned char *st;
    size_t st_size;
} bad_model;

static int bad_model_read(const char *arch, bad_model *bm)
{
    char path[256];
    memset(bm, 0, sizeof *bm);
    snprintf(path, sizeof path, "tests/data/ref/%s/config.json", arch);
    bm->cfg = (char *)tutil_read_file(path, &bm->cfg_len);
    snprintf(path, sizeof path, "tests/data/ref/%s/model.safetensors", arch);
    bm->st = tutil_read_file(path, &bm->st_size);
    return bm->cfg && bm->st;
}

static void bad_model_free(bad_model *bm)
{
    free(bm->cfg);
    free(bm->st);
}

/* byte offset of tensor `name` in the file and its info, or -1 */
static long bad_tensor(const bad_model *bm, const char *name, uniql_dtype *dtype, size_t *nbytes)
{
    uniql_safetensors st;
    const uniql_tensor *t;
    long off = -1;
    if (uniql_safetensors_parse(bm->st, bm->st_size, NULL, &st, NULL) != UNIQL_OK) return -1;
    if ((t = uniql_safetensors_find(&st, name)) != NULL) {
        off = (long)((const unsigned char *)t->data - bm->st);
        *dtype = t->dtype;
        *nbytes = t->nbytes;
    }
    uniql_safetensors_free(&st);
    return off;
}

/* set element i of tensor `name` to v (stored in the tensor's dtype) */
static int bad_set(bad_model *bm, const char *name, size_t i, float v)
{
    uniql_dtype dt = UNIQL_DTYPE_F32;
    size_t nb = 0;
    long off = bad_tensor(bm, name, &dt, &nb);
    if (off < 0) return 0;
    if (dt == UNIQL_DTYPE_F32) { if ((i + 1) * 4 > nb) return 0; memcpy(bm->st + off + 4 * i, &v, 4); }
    else {
        uint16_t h = dt == UNIQL_DTYPE_F16 ? uniql_fp32_to_fp16(v) : uniql_fp32_to_bf16(v);
        if ((i + 1) * 2 > nb) return 0;
        memcpy(bm->st + off + 2 * i, &h, 2);
    }
    return 1;
}

static int bad_fill(bad_model *bm, const char *name, float v)
{
    uniql_dtype dt = UNIQL_DTYPE_F32;
    size_t nb = 0, i, es;
    if (bad_tensor(bm, name, &dt, &nb) < 0) return 0;
    es = dt == UNIQL_DTYPE_F32 ? 4 : 2;
    for (i = 0; i < nb / es; i++)
        if (!bad_set(bm, name, i, v)) return 0;
    return 1;
}

static uniql_result bad_load(const bad_model *bm, uniql_model **m, uniql_error *e)
{
    uniql_file_view fv;
    fv.name = "model.safetensors";
    fv.data = bm->st;
    fv.size = bm->st_size;
    memset(e, 0, sizeof *e);
    return uniql_model_load(bm->cfg, bm->cfg_len, NULL, 0, &fv, 1, NULL, m, e);
}

/* NaN or Inf stored in any dtype in any used tensor is refused at load, by name */
TEST nonfinite_weights_rejected_at_load(void)
{
    static const struct { const char *arch, *tensor; size_t i; float v; } cases[] = {
        { "qwen2", "model.layers.1.mlp.down_proj.weight", 77, NAN },                  /* F16 NaN */
        { "qwen2", "model.layers.0.self_attn.q_proj.bias", 3, INFINITY },            /* F16 Inf in a bias */
        { "qwen2", "model.embed_tokens.weight", 0, -INFINITY },                      /* tied embedding */
        { "mamba2", "backbone.layers.1.mixer.A_log", 5, NAN },                       /* F32 vector */
        { "mamba2", "backbone.layers.0.mixer.conv1d.weight", 100, INFINITY },        /* 3-d conv taps */
        { "mamba2", "backbone.norm_f.weight", 71, NAN },
        { "nemotron_h", "backbone.layers.1.mixer.k_proj.weight", 9, NAN },           /* BF16 */
        { "nemotron_h", "lm_head.weight", 256 * 72 - 1, -INFINITY },                 /* last element */
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        bad_model bm;
        uniql_model *m = NULL;
        uniql_error e;
        uniql_result r;
        if (!bad_model_read(cases[k].arch, &bm)) { bad_model_free(&bm); FAILm("cannot read a reference model"); }
        if (!bad_set(&bm, cases[k].tensor, cases[k].i, cases[k].v)) { bad_model_free(&bm); UQ__FAILF("no tensor %s", cases[k].tensor); }
        r = bad_load(&bm, &m, &e);
        uniql_model_free(m);
        bad_model_free(&bm);
        ASSERT_ERR(UNIQL_ERR_NONFINITE, r);
        ASSERTm(cases[k].tensor, strstr(e.message, cases[k].tensor) != NULL);
    }
    PASS();
}

/* huge finite weights: the activations overflow float; forward reports it, and the
   prefill and the token-by-token decode agree on where */
TEST overflowing_activations_give_nonfinite(void)
{
    bad_model bm;
    uniql_model *m = NULL;
    uniql_state *s = NULL;
    uniql_error e;
    int toks[3] = { 1, 2, 3 }, t;
    float *logits;
    uniql_result r;
    ASSERT(bad_model_read("mamba2", &bm));
    ASSERT(bad_fill(&bm, "backbone.norm_f.weight", 3e38f));
    ASSERT(bad_fill(&bm, "backbone.embeddings.weight", 3e38f));   /* tied: lm_head too */
    r = bad_load(&bm, &m, &e);
    if (r != UNIQL_OK) { bad_model_free(&bm); UQ__FAILF("load: %s", e.message); }
    logits = (float *)malloc(sizeof(float) * 3 * 256);
    ASSERT_OK(uniql_state_create(m, 8, 4, NULL, &s));
    r = uniql_forward(m, s, toks, 3, logits, 1, NULL);
    ASSERT_ERR(UNIQL_ERR_NONFINITE, r);
    ASSERT_EQ(3, uniql_state_pos(s));   /* consumed; the state must be reset */
    uniql_state_reset(s);
    for (t = 0; t < 3; t++) ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_forward(m, s, toks + t, 1, logits, 0, NULL));
    uniql_state_free(s);
    uniql_model_free(m);
    bad_model_free(&bm);
    free(logits);
    PASS();
}

/* all-zero weights: every hidden state is 0, RMSNorm(0) = 0 (eps > 0), logits exactly 0 */
TEST all_zero_model_gives_zero_logits(void)
{
    bad_model bm;
    uniql_model *m = NULL;
    uniql_state *s = NULL;
    uniql_error e;
    uniql_safetensors st;
    int toks[4] = { 0, 255, 7, 7 }, i;
    float logits[4 * 256];
    ASSERT(bad_model_read("qwen2", &bm));
    ASSERT_OK(uniql_safetensors_parse(bm.st, bm.st_size, NULL, &st, NULL));
    memset(bm.st + (st.data - bm.st), 0, st.data_size);   /* +0.0 in every dtype */
    uniql_safetensors_free(&st);
    ASSERT_OK(bad_load(&bm, &m, &e));
    ASSERT_OK(uniql_state_create(m, 8, 4, NULL, &s));
    ASSERT_OK(uniql_forward(m, s, toks, 4, logits, 1, NULL));
    for (i = 0; i < 4 * 256; i++) ASSERT(logits[i] == 0.0f);
    uniql_state_free(s);
    uniql_model_free(m);
    bad_model_free(&bm);
    PASS();
}

/* one all-zero layer (Mamba2 in_proj, conv, out_proj and biases of layer 0): the layer adds
   exactly 0, so the logits equal those of the model with that layer's out_proj zeroed
   alone (both make the block the identity) and are finite */
TEST zero_layer_is_identity(void)
{
    static const char *const zero_all[] = {
        "backbone.layers.0.mixer.in_proj.weight", "backbone.layers.0.mixer.in_proj.bias",
        "backbone.layers.0.mixer.conv1d.weight", "backbone.layers.0.mixer.conv1d.bias",
        "backbone.layers.0.mixer.out_proj.weight", "backbone.layers.0.mixer.out_proj.bias", NULL
    };
    bad_model a, b;
    uniql_model *ma = NULL, *mb = NULL;
    uniql_state *sa = NULL, *sb = NULL;
    uniql_error e;
    int toks[5] = { 3, 1, 4, 1, 5 }, i;
    float la[5 * 256], lb[5 * 256];
    ASSERT(bad_model_read("mamba2", &a) && bad_model_read("mamba2", &b));
    for (i = 0; zero_all[i]; i++) ASSERT(bad_fill(&a, zero_all[i], 0.0f));
    ASSERT(bad_fill(&b, "backbone.layers.0.mixer.out_proj.weight", 0.0f));
    ASSERT(bad_fill(&b, "backbone.layers.0.mixer.out_proj.bias", 0.0f));
    ASSERT_OK(bad_load(&a, &ma, &e));
    ASSERT_OK(bad_load(&b, &mb, &e));
    ASSERT_OK(uniql_state_create(ma, 8, 8, NULL, &sa));
    ASSERT_OK(uniql_state_create(mb, 8, 8, NULL, &sb));
    ASSERT_OK(uniql_forward(ma, sa, toks, 5, la, 1, NULL));
    ASSERT_OK(uniql_forward(mb, sb, toks, 5, lb, 1, NULL));
    for (i = 0; i < 5 * 256; i++) ASSERT(la[i] == lb[i] && isfinite(la[i]));
    uniql_state_free(sa);
    uniql_state_free(sb);
    uniql_model_free(ma);
    uniql_model_free(mb);
    bad_model_free(&a);
    bad_model_free(&b);
    PASS();
}

/* denormal weights are computed as they are: finite logits, prefill == decode */
TEST denormal_weights_are_handled(void)
{
    bad_model bm;
    uniql_model *m = NULL;
    uniql_state *s = NULL;
    uniql_error e;
    int toks[3] = { 9, 8, 7 }, t, i;
    float lp[3 * 256], ld[3 * 256];
    ASSERT(bad_model_read("mamba2", &bm));
    ASSERT(bad_fill(&bm, "backbone.layers.1.mixer.out_proj.weight", 1e-40f));
    ASSERT(bad_fill(&bm, "backbone.layers.0.mixer.in_proj.weight", -3e-42f));
    ASSERT(bad_fill(&bm, "backbone.layers.0.norm.weight", 1e-39f));
    ASSERT_OK(bad_load(&bm, &m, &e));
    ASSERT_OK(uniql_state_create(m, 8, 4, NULL, &s));
    ASSERT_OK(uniql_forward(m, s, toks, 3, lp, 1, NULL));
    uniql_state_reset(s);
    for (t = 0; t < 3; t++) ASSERT_OK(uniql_forward(m, s, toks + t, 1, ld + 256 * t, 0, NULL));
    for (i = 0; i < 3 * 256; i++) ASSERT(isfinite(lp[i]) && fabsf(lp[i] - ld[i]) <= 1e-4f * (1.0f + fabsf(lp[i])));
    uniql_state_free(s);
    uniql_model_free(m);
    bad_model_free(&bm);
    PASS();
}

/* huge but finite values that do not overflow: softmax stays finite (row max subtracted) */
TEST huge_attention_scores_stay_finite(void)
{
    bad_model bm;
    uniql_model *m = NULL;
    uniql_state *s = NULL;
    uniql_error e;
    int toks[4] = { 1, 2, 3, 4 }, i;
    float lp[4 * 256];
    ASSERT(bad_model_read("qwen2", &bm));
    /* q/k biases of 60000 (near the F16 maximum): scores ~ 1e10, exp(score - max) */
    ASSERT(bad_fill(&bm, "model.layers.0.self_attn.q_proj.bias", 60000.0f));
    ASSERT(bad_fill(&bm, "model.layers.0.self_attn.k_proj.bias", 60000.0f));
    ASSERT_OK(bad_load(&bm, &m, &e));
    ASSERT_OK(uniql_state_create(m, 8, 4, NULL, &s));
    ASSERT_OK(uniql_forward(m, s, toks, 4, lp, 1, NULL));
    for (i = 0; i < 4 * 256; i++) ASSERT(isfinite(lp[i]));
    uniql_state_free(s);
    uniql_model_free(m);
    bad_model_free(&bm);
    PASS();
}

/* the logit lens refuses NaN/Inf hidden states (LSAQ feeds it the residual stream) */
TEST logit_lens_rejects_nonfinite_states(void)
{
    bad_model bm;
    uniql_model *m = NULL;
    uniql_error e;
    float h[2 * 72], work[2 * 72], logits[2 * 256];
    int i;
    ASSERT(bad_model_read("qwen2", &bm));
    ASSERT_OK(bad_load(&bm, &m, &e));
    for (i = 0; i < 2 * 72; i++) h[i] = (float)(i % 5) - 2.0f;
    ASSERT_OK(uniql_logit_lens(m, h, 2, 72, work, logits));
    for (i = 0; i < 2 * 256; i++) ASSERT(isfinite(logits[i]));
    h[72 + 40] = NAN;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_logit_lens(m, h, 2, 72, work, logits));
    h[72 + 40] = -INFINITY;
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_logit_lens(m, h, 2, 72, work, logits));
    h[72 + 40] = 3e38f;   /* finite and huge: RMSNorm scales it back, fine */
    ASSERT_OK(uniql_logit_lens(m, h, 2, 72, work, logits));
    uniql_model_free(m);
    bad_model_free(&bm);
    PASS();
}

/* ---- hostile config values ---- */

static uniql_result bad_cfg(const char *json, uniql_config *c, uniql_error *e)
{
    memset(e, 0, sizeof *e);
    return uniql_config_parse(json, strlen(json), NULL, c, e);
}

TEST hostile_config_values_rejected(void)
{
    static const struct { const char *json; int code; const char *msg; } cases[] = {
        /* norm epsilon: 0 makes RMSNorm of an all-zero row 0/0 */
        { "{\"model_type\":\"llama\",\"rms_norm_eps\":0}", UNIQL_ERR_FORMAT, "epsilon" },
        { "{\"model_type\":\"llama\",\"rms_norm_eps\":-1e-6}", UNIQL_ERR_FORMAT, "epsilon" },
        { "{\"model_type\":\"llama\",\"rms_norm_eps\":1e-60}", UNIQL_ERR_FORMAT, "epsilon" },   /* 0 as float */
        { "{\"model_type\":\"llama\",\"rms_norm_eps\":NaN}", UNIQL_ERR_FORMAT, "epsilon" },
        { "{\"model_type\":\"mamba2\",\"layer_norm_epsilon\":{\"__float__\":\"Infinity\"}}", UNIQL_ERR_FORMAT, "epsilon" },
        { "{\"model_type\":\"llama\",\"rms_norm_eps\":1e999}", UNIQL_ERR_RANGE, "double range" },
        /* head_dim default hidden_size / heads = 0 */
        { "{\"model_type\":\"llama\",\"hidden_size\":4,\"num_attention_heads\":8,\"num_key_value_heads\":8}", UNIQL_ERR_SHAPE, "head_dim" },
        { "{\"model_type\":\"qwen2\",\"hidden_size\":1,\"num_attention_heads\":2}", UNIQL_ERR_SHAPE, "head_dim" },
        { "{\"model_type\":\"llama\",\"head_dim\":0}", UNIQL_ERR_FORMAT, "head_dim" },
        /* RoPE */
        { "{\"model_type\":\"llama\",\"rope_theta\":Infinity}", UNIQL_ERR_FORMAT, "rope_theta" },
        { "{\"model_type\":\"llama\",\"rope_theta\":NaN}", UNIQL_ERR_FORMAT, "rope_theta" },
        { "{\"model_type\":\"llama\",\"rope_scaling\":{\"type\":\"linear\",\"factor\":NaN}}", UNIQL_ERR_FORMAT, "factor" },
        /* sizes beyond the limits (products stay below 2^31) */
        { "{\"model_type\":\"llama\",\"hidden_size\":2097152}", UNIQL_ERR_FORMAT, "hidden_size" },
        { "{\"model_type\":\"llama\",\"vocab_size\":1e300}", UNIQL_ERR_FORMAT, "vocab_size" },
        { "{\"model_type\":\"llama\",\"num_hidden_layers\":513}", UNIQL_ERR_FORMAT, "num_hidden_layers" },
        { "{\"model_type\":\"llama\",\"num_hidden_layers\":2.5}", UNIQL_ERR_FORMAT, "num_hidden_layers" },
        { "{\"model_type\":\"mamba2\",\"time_step_limit\":[NaN,1]}", UNIQL_ERR_FORMAT, "time_step_limit" },
        { "{\"model_type\":\"mamba2\",\"expand\":NaN}", UNIQL_ERR_SHAPE, "expand" },
        /* round two: RoPE and Mamba2 ranges (a tiny factor made every forward NONFINITE) */
        { "{\"model_type\":\"llama\",\"rope_scaling\":{\"type\":\"linear\",\"factor\":1e-300}}", UNIQL_ERR_FORMAT, "factor" },
        { "{\"model_type\":\"llama\",\"rope_scaling\":{\"type\":\"linear\",\"factor\":0.5}}", UNIQL_ERR_FORMAT, "factor" },
        { "{\"model_type\":\"llama\",\"rope_theta\":1e13}", UNIQL_ERR_FORMAT, "rope_theta" },
        { "{\"model_type\":\"llama\",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":1,"
          "\"high_freq_factor\":1e300}}", UNIQL_ERR_FORMAT, "llama3" },
        { "{\"model_type\":\"mamba2\",\"state_size\":1025}", UNIQL_ERR_FORMAT, "state_size" },
        { "{\"model_type\":\"mamba2\",\"conv_kernel\":17}", UNIQL_ERR_FORMAT, "conv_kernel" },
        { "{\"model_type\":\"mamba2\",\"hidden_size\":1,\"expand\":524288,\"num_heads\":8192,\"head_dim\":64}", UNIQL_ERR_SHAPE, "d_inner" },
        { "{\"model_type\":\"llama\",\"hidden_size\":4096,\"num_attention_heads\":4096,\"head_dim\":128}", UNIQL_ERR_SHAPE, "attention heads" },
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uniql_config c;
        uniql_error e;
        uniql_result r = bad_cfg(cases[k].json, &c, &e);
        if ((int)r != cases[k].code || !strstr(e.message, cases[k].msg))
            UQ__FAILF("%s: got %d '%s', expected %d with '%s'", cases[k].json, (int)r, e.message, cases[k].code, cases[k].msg);
    }
    PASS();
}

/* a directory where a file is expected: opens on POSIX, must not be read as a huge file */
TEST directory_as_file_is_an_io_error(void)
{
    void *d = NULL;
    size_t n = 0;
    uniql_error e;
    memset(&e, 0, sizeof e);
    ASSERT_ERR(UNIQL_ERR_IO, uniql_read_file("tests/data", NULL, &d, &n, &e));
    ASSERT(d == NULL && n == 0 && e.code == UNIQL_ERR_IO);
    PASS();
}

/* ---- memory and time bounded by what the input can back ---- */

/* the densest JSON texts cost at most 8 bytes per input byte once parsed (16-byte nodes),
   below 10 while parsing (API 5) */
TEST json_memory_is_bounded_by_the_text(void)
{
    static const char *const unit[4] = { "0,", "[],", "\"\",", NULL };
    int u;
    for (u = 0; u < 4; u++) {
        size_t n = 0, cap = (size_t)1 << 20, i;
        char *t = (char *)malloc(cap + 64);
        uniql_json_doc doc;
        uniql_error e;
        size_t before, doc_bytes, peak;
        ASSERT(t != NULL);
        t[n++] = u == 3 ? '{' : '[';
        for (i = 0; n + 16 < cap; i++) {
            if (u == 3) n += (size_t)sprintf(t + n, "\"%lx\":0,", (unsigned long)i);   /* distinct keys */
            else { memcpy(t + n, unit[u], strlen(unit[u])); n += strlen(unit[u]); }
        }
        t[n - 1] = u == 3 ? '}' : ']';
        before = tutil_alloc_live;
        tutil_alloc_peak = tutil_alloc_live;
        if (uniql_json_parse(t, n, 0, NULL, &doc, &e) != UNIQL_OK) { free(t); UQ__FAILF("parse: %s", e.message); }
        doc_bytes = tutil_alloc_live - before;
        peak = tutil_alloc_peak - before;
        UQ_NOTE("%-8s %lu bytes of text: document %.2f bytes/byte, peak while parsing %.2f", u == 3 ? "{\"k\":0}" : unit[u],
                (unsigned long)n, (double)doc_bytes / (double)n, (double)peak / (double)n);
        uniql_json_free(&doc);
        free(t);
        ASSERT(doc_bytes <= 8 * n + 64);
        ASSERT(peak <= 10 * n + 64);
        ASSERT_EQ(before, tutil_alloc_live);
    }
    PASS();
}

/* a safetensors header of many tiny tensors: JSON document + tensor table stay a small
   multiple of the header (a 95 MB header used to reach 3 GB) */
TEST safetensors_memory_is_bounded_by_the_header(void)
{
    int nt = 20000, i;
    size_t cap = (size_t)nt * 80 + 64, n = 0, before, peak;
    unsigned char *f = (unsigned char *)malloc(8 + cap + 4 * (size_t)nt);
    uniql_safetensors st;
    uniql_error e;
    char *h;
    ASSERT(f != NULL);
    h = (char *)f + 8;
    h[n++] = '{';
    for (i = 0; i < nt; i++)
        n += (size_t)sprintf(h + n, "%s\"%x\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[%d,%d]}", i ? "," : "", (unsigned)i,
                             4 * i, 4 * i + 4);
    h[n++] = '}';
    for (i = 0; i < 8; i++) f[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memset(f + 8 + n, 0, 4 * (size_t)nt);
    before = tutil_alloc_live;
    tutil_alloc_peak = tutil_alloc_live;
    if (uniql_safetensors_parse(f, 8 + n + 4 * (size_t)nt, NULL, &st, &e) != UNIQL_OK) { free(f); UQ__FAILF("%s", e.message); }
    peak = tutil_alloc_peak - before;
    UQ_NOTE("%d tensors, %lu header bytes: peak %.2f bytes per header byte", nt, (unsigned long)n, (double)peak / (double)n);
    ASSERT_EQ(nt, st.n_tensors);
    uniql_safetensors_free(&st);
    free(f);
    ASSERT(peak <= 11 * n + 4096);
    PASS();
}

/* config.json over UNIQL_CONFIG_MAX_BYTES is refused before it is parsed */
TEST config_size_is_capped(void)
{
    size_t n = UNIQL_CONFIG_MAX_BYTES + 1;
    char *t = (char *)malloc(n);
    uniql_config c;
    uniql_error e;
    ASSERT(t != NULL);
    memset(t, ' ', n);
    memcpy(t, "{\"model_type\":\"llama\"}", 22);
    tutil_alloc_peak = tutil_alloc_live;
    ASSERT_ERR(UNIQL_ERR_FORMAT, uniql_config_parse(t, n, NULL, &c, &e));
    ASSERT(strstr(e.message, "UNIQL_CONFIG_MAX_BYTES") != NULL);
    ASSERT(tutil_alloc_peak == tutil_alloc_live);   /* nothing allocated */
    ASSERT_OK(uniql_config_parse(t, n - 1, NULL, &c, &e));
    free(t);
    PASS();
}

#ifdef CLI_POSIX
/* copy tests/data/ref/<fam> into dir (every file) */
static int bad_copy_ref(const char *fam, const char *dir)
{
    static const char *const names[] = { "config.json", "model.safetensors", "model.safetensors.index.json",
                                         "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                         "model-00003-of-00003.safetensors", NULL };
    int i;
    for (i = 0; names[i]; i++) {
        char src[256], dst[256];
        size_t n;
        unsigned char *d;
        FILE *f;
        snprintf(src, sizeof src, "tests/data/ref/%s/%s", fam, names[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, names[i]);
        if (!(d = tutil_read_file(src, &n))) continue;
        f = fopen(dst, "wb");
        if (!f || fwrite(d, 1, n, f) != n || fclose(f) != 0) { free(d); return 0; }
        free(d);
    }
    return 1;
}

static void bad_rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* uniql_model_load_dir on dir in a child process with a 10 s alarm: a reader that blocks
   (a FIFO) is a failure, not a hung test. Returns the result code, or 1000 + signal. */
static int bad_load_dir_child(const char *dir, char *msg, size_t cap)
{
    int fds[2], status = 0;
    pid_t pid;
    ssize_t k;
    msg[0] = 0;
    if (pipe(fds) != 0) return 2000;
    pid = fork();
    if (pid < 0) return 2001;
    if (pid == 0) {
        uniql_model *m = NULL;
        uniql_error e;
        uniql_result r;
        close(fds[0]);
        alarm(10);
        memset(&e, 0, sizeof e);
        r = uniql_model_load_dir(dir, NULL, &m, &e);
        uniql_model_free(m);
        if (write(fds[1], e.message, strlen(e.message) + 1) < 0) _exit(99);
        _exit(r == UNIQL_OK ? 0 : (int)-r);
    }
    close(fds[1]);
    k = read(fds[0], msg, cap - 1);
    msg[k > 0 ? k : 0] = 0;
    close(fds[0]);
    if (waitpid(pid, &status, 0) != pid) return 2002;
    if (WIFSIGNALED(status)) return 1000 + WTERMSIG(status);
    return -WEXITSTATUS(status);
}
#endif

/* non-regular files where a file is expected are refused up front, never waited on:
   a FIFO as config.json, as the index, as a shard, as any file given to uniql_read_file;
   a character device (/dev/zero would be read forever) */
TEST non_regular_files_are_refused(void)
{
#ifdef CLI_POSIX
    char dir[] = "/tmp/uniql_fifo_XXXXXX", p[256], msg[300];
    static const char *const victims[] = { "config.json", "model.safetensors.index.json", "model-00002-of-00003.safetensors", NULL };
    int v, rc;
    void *d = NULL;
    size_t n = 0;
    uniql_error e;
    ASSERT(mkdtemp(dir) != NULL);
    ASSERT(bad_copy_ref("llama", dir));
    ASSERT_EQ(0, bad_load_dir_child(dir, msg, sizeof msg));   /* the copy loads */
    for (v = 0; victims[v]; v++) {
        snprintf(p, sizeof p, "%s/%s", dir, victims[v]);
        ASSERT(unlink(p) == 0 && mkfifo(p, 0600) == 0);
        rc = bad_load_dir_child(dir, msg, sizeof msg);
        if (rc != UNIQL_ERR_IO || !strstr(msg, "not a regular file")) UQ__FAILF("FIFO %s: %d '%s'", victims[v], rc, msg);
        memset(&e, 0, sizeof e);
        ASSERT_ERR(UNIQL_ERR_IO, uniql_read_file(p, NULL, &d, &n, &e));
        ASSERT(d == NULL && n == 0);
        unlink(p);
        ASSERT(bad_copy_ref("llama", dir));
    }
    ASSERT_ERR(UNIQL_ERR_IO, uniql_read_file("/dev/zero", NULL, &d, &n, &e));
    ASSERT_ERR(UNIQL_ERR_IO, uniql_read_file("/dev/null", NULL, &d, &n, &e));
    /* an index that exists but is over UNIQL_INDEX_MAX_BYTES: refused before it is read */
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    {
        FILE *f = fopen(p, "r+b");
        ASSERT(f && ftruncate(fileno(f), (off_t)UNIQL_INDEX_MAX_BYTES + 1) == 0 && fclose(f) == 0);
    }
    tutil_alloc_peak = tutil_alloc_live;
    {
        uniql_model *m = NULL;
        ASSERT_ERR(UNIQL_ERR_FORMAT, uniql_model_load_dir(dir, NULL, &m, &e));
        ASSERT(tutil_alloc_peak - tutil_alloc_live < 65536);   /* config.json only */
    }
    bad_rm_dir(dir);
    PASS();
#else
    SKIPm("POSIX only");
#endif
}

/* uniql_model_load_dir reads every file once, into the block the model keeps: its peak
   is the files' bytes plus what uniql_model_load allocates from the same bytes in memory
   (it used to hold each file twice, a 401 MB checkpoint peaking at 821 MB) */
TEST load_dir_holds_each_file_once(void)
{
    static const char *const names[3] = { "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                          "model-00003-of-00003.safetensors" };
    uniql_file_view fv[3];
    unsigned char *bytes[3];
    char *cfg, *idx, p[256];
    size_t cfg_n = 0, idx_n = 0, files = 0, peak_mem, peak_dir, base;
    uniql_model *m = NULL;
    uniql_error e;
    int i;
    cfg = (char *)tutil_read_file("tests/data/ref/llama/config.json", &cfg_n);
    idx = (char *)tutil_read_file("tests/data/ref/llama/model.safetensors.index.json", &idx_n);
    ASSERT(cfg && idx);
    for (i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "tests/data/ref/llama/%s", names[i]);
        bytes[i] = tutil_read_file(p, &fv[i].size);
        ASSERT(bytes[i] != NULL);
        fv[i].name = names[i];
        fv[i].data = bytes[i];
        files += fv[i].size;
    }
    base = tutil_alloc_peak = tutil_alloc_live;
    ASSERT_OK(uniql_model_load(cfg, cfg_n, idx, idx_n, fv, 3, NULL, &m, &e));
    peak_mem = tutil_alloc_peak - base;
    uniql_model_free(m);
    base = tutil_alloc_peak = tutil_alloc_live;
    ASSERT_OK(uniql_model_load_dir("tests/data/ref/llama", NULL, &m, &e));
    peak_dir = tutil_alloc_peak - base;
    uniql_model_free(m);
    UQ_NOTE("files %lu bytes (+ config %lu, index %lu); load from memory peaks at %lu, load_dir at %lu", (unsigned long)files,
            (unsigned long)cfg_n, (unsigned long)idx_n, (unsigned long)peak_mem, (unsigned long)peak_dir);
    for (i = 0; i < 3; i++) free(bytes[i]);
    free(cfg);
    free(idx);
    /* the files, config and index text (+ the NUL each) and the load; a second copy of
       the largest shard (146 KB) would not fit in the slack */
    ASSERT(peak_dir <= files + cfg_n + idx_n + 5 * 64 + peak_mem + 8192);
    PASS();
}

/* shard names are de-duplicated in n log n: 100 000 distinct names (a quadratic loop took
   seconds here; a million, minutes) fail at once with the first missing file, in order */
TEST index_with_many_shard_names_fails_fast(void)
{
#ifdef CLI_POSIX
    char dir[] = "/tmp/uniql_idx_XXXXXX", p[256], msg[300];
    int i, nn = 100000, rc;
    FILE *f;
    ASSERT(mkdtemp(dir) != NULL);
    ASSERT(bad_copy_ref("llama", dir));
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    f = fopen(p, "wb");
    ASSERT(f != NULL);
    fputs("{\"weight_map\":{", f);
    for (i = 0; i < nn; i++) fprintf(f, "%s\"t%d\":\"s%06d.safetensors\"", i ? "," : "", i, nn - 1 - i);
    fputs("}}", f);
    ASSERT(fclose(f) == 0);
    rc = bad_load_dir_child(dir, msg, sizeof msg);
    bad_rm_dir(dir);
    if (rc != UNIQL_ERR_IO || !strstr(msg, "s000000.safetensors")) UQ__FAILF("got %d '%s'", rc, msg);
    PASS();
#else
    SKIPm("POSIX only");
#endif
}

/* ---- .uniql model layer: tables the format constrains ---- */

/* a packed image of the llama reference model (int4) with rate tables `rates` (every
   table: full sizes) and, if pairs, identity rope_pairs; config text cfg (NULL: its own) */
static void *bad_pack(const char *cfg, const double *rates, int n_rates, int pairs, size_t *size)
{
    uniql_model *m = tutil_load_ref("llama", 1), *q = NULL;
    uniql_pack_model_desc d;
    uniql_kept kept[4 * UNIQL_MAX_LAYERS];
    static int rp[64];
    char *own_cfg = NULL;
    size_t cfg_n = 0;
    void *img = NULL;
    uniql_error e;
    int i, l;
    if (!m) return NULL;
    for (i = 0; i < 64; i++) rp[i] = i % (m->config.head_dim / 2);
    if (pairs)
        for (l = 0; l < m->config.n_layers; l++) m->layers[l].attn.rope_pairs = rp;
    if (uniql_model_quantize(m, NULL, NULL, &q, &e) != UNIQL_OK) { uniql_model_free(m); return NULL; }
    for (i = 0; i < n_rates; i++)
        for (l = 0; l < m->config.n_layers; l++) kept[i * m->config.n_layers + l] = uniql_kept_full(&m->config, l);
    if (!cfg) cfg = own_cfg = (char *)tutil_read_file("tests/data/ref/llama/config.json", &cfg_n);
    memset(&d, 0, sizeof d);
    d.config_json = cfg;
    d.config_len = strlen(cfg);
    d.n_rates = n_rates;
    d.rates = rates;
    d.kept = kept;
    if (uniql_pack_model(q, &d, NULL, &img, size, &e) != UNIQL_OK) img = NULL;
    free(own_cfg);
    uniql_model_free(q);
    uniql_model_free(m);
    return img;
}

/* replace the first occurrence of `from` in the image by `to` (same length) */
static int bad_patch(void *img, size_t size, const char *from, const char *to)
{
    unsigned char *b = (unsigned char *)img;
    size_t k = strlen(from), i;
    if (strlen(to) != k) return 0;
    for (i = 0; i + k <= size; i++)
        if (!memcmp(b + i, from, k)) { memcpy(b + i, to, k); return 1; }
    return 0;
}

/* rate tables must ascend strictly (the format says so; --mem-mb's search and --rate's
   lookup rely on it); kept tables match the rates; importance is finite; rope_pairs are
   a permutation per KV head; a relabelled file gets a message that says what is wrong */
TEST packed_tables_are_checked(void)
{
    static const double rates[2] = { 0.25, 0.5 };
    static const struct { const char *from, *to; int code; const char *msg; } cases[] = {
        { "\"rates\":[0.25,0.5]", "\"rates\":[0.5,0.25]", UNIQL_ERR_FORMAT, "ascend strictly" },
        { "\"rates\":[0.25,0.5]", "\"rates\":[0.25,.25]", UNIQL_ERR_PARSE, "json" },
        { "\"rates\":[0.25,0.5]", "\"rates\":[0.50,0.5]", UNIQL_ERR_FORMAT, "ascend strictly" },
        { "\"rates\":[0.25,0.5]", "\"rates\":[0.25]    ", UNIQL_ERR_FORMAT, "kept tables for" },
    };
    size_t size = 0, k;
    void *img = bad_pack(NULL, rates, 2, 1, &size);
    uniql_packed pk;
    uniql_error e;
    uniql_kept kept[UNIQL_MAX_LAYERS];
    double r[4];
    int n = 0;
    if (!img) FAILm("packing the reference model failed");
    ASSERT_OK(uniql_packed_open(img, size, 0, NULL, &pk, &e));
    ASSERT_OK(uniql_packed_rates(&pk, r, 4, &n, &e));
    ASSERT(n == 2 && r[1] == 0.5);
    ASSERT_OK(uniql_packed_kept(&pk, 1, kept, &e));
    uniql_packed_free(&pk);
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        unsigned char *c = (unsigned char *)malloc(size);
        uniql_result rr;
        ASSERT(c != NULL);
        memcpy(c, img, size);
        if (!bad_patch(c, size, cases[k].from, cases[k].to)) { free(c); uniql_free_buffer(img, NULL); FAILm("patch site not found"); }
        memset(&e, 0, sizeof e);
        rr = uniql_packed_open(c, size, UNIQL_PACK_SKIP_CHECKSUM, NULL, &pk, &e);
        if (rr == UNIQL_OK) {
            rr = uniql_packed_rates(&pk, r, 4, &n, &e);
            if (rr == UNIQL_OK) rr = uniql_packed_kept(&pk, 0, kept, &e);
            uniql_packed_free(&pk);
        }
        free(c);
        if ((int)rr != cases[k].code || !strstr(e.message, cases[k].msg)) {
            uniql_free_buffer(img, NULL);
            UQ__FAILF("%s: got %d '%s'", cases[k].to, (int)rr, e.message);
        }
    }
    /* a repeated RoPE pair in a head's list ("rope_pairs":[[0,1,... -> [[1,1,...) */
    {
        unsigned char *c = (unsigned char *)malloc(size);
        uniql_model *m = NULL;
        ASSERT(c != NULL);
        memcpy(c, img, size);
        ASSERT(bad_patch(c, size, "\"rope_pairs\":[[0,1,", "\"rope_pairs\":[[1,1,"));
        ASSERT_OK(uniql_packed_open(c, size, UNIQL_PACK_SKIP_CHECKSUM, NULL, &pk, &e));
        ASSERT_ERR(UNIQL_ERR_FORMAT, uniql_packed_model_load(&pk, NULL, NULL, NULL, &m, &e));
        ASSERT(strstr(e.message, "not a permutation") != NULL);
        uniql_packed_free(&pk);
        free(c);
    }
    uniql_free_buffer(img, NULL);
    /* the llama file relabelled as Nemotron-H (no RoPE there): say so, not "has 64
       entries, expected 64" */
    {
        char *cfg = (char *)tutil_read_file("tests/data/ref/llama/config.json", &size), *t;
        char relabel[2048];
        uniql_model *m = NULL;
        ASSERT(cfg != NULL);
        t = strstr(cfg, "\"model_type\": \"llama\"");
        ASSERT(t != NULL);
        snprintf(relabel, sizeof relabel, "%.*s\"model_type\": \"nemotron_h\", \"hybrid_override_pattern\": \"**\"%s",
                 (int)(t - cfg), cfg, t + strlen("\"model_type\": \"llama\""));
        free(cfg);
        img = bad_pack(relabel, rates, 2, 1, &size);
        ASSERT(img != NULL);
        ASSERT_OK(uniql_packed_open(img, size, 0, NULL, &pk, &e));
        ASSERT_ERR(UNIQL_ERR_FORMAT, uniql_packed_model_load(&pk, NULL, NULL, NULL, &m, &e));
        if (!strstr(e.message, "no RoPE")) { uniql_packed_free(&pk); uniql_free_buffer(img, NULL); UQ__FAILF("'%s'", e.message); }
        uniql_packed_free(&pk);
        uniql_free_buffer(img, NULL);
    }
    PASS();
}

/* ---- runtime state: sized from the config, asked for before allocating ---- */

/* A 1-layer Mamba2 checkpoint of ~3.6 MB (hidden 1, d_inner 2^18, state 1024, all within
   the config ranges) whose SSM state alone is 1 GiB: uniql_state_bytes says so without
   allocating, and max_bytes refuses it (it used to allocate 4-16 GB from such files) */
TEST state_size_is_asked_and_capped(void)
{
    const int H = 4096, P = 64, N = 1024, K = 4, Di = H * P, conv_dim = Di + 2 * N, proj = Di + conv_dim + H;
    static const char cfg[] = "{\"model_type\":\"mamba2\",\"vocab_size\":256,\"hidden_size\":1,\"num_hidden_layers\":1,"
                              "\"expand\":262144,\"num_heads\":4096,\"head_dim\":64,\"state_size\":1024,\"n_groups\":1,"
                              "\"conv_kernel\":4,\"tie_word_embeddings\":true}";
    uniql_safetensors_input in[11];
    float *zero = (float *)calloc((size_t)conv_dim * K, sizeof(float));
    void *img = NULL;
    size_t size = 0;
    uniql_file_view fv;
    uniql_model *m = NULL;
    uniql_state *st = NULL;
    uniql_state_options so;
    uniql_error e;
    uint64_t bytes = 0;
    size_t live;
    int i;
    ASSERT(zero != NULL);
    memset(in, 0, sizeof in);
    in[0].name = "backbone.embeddings.weight"; in[0].ndim = 2; in[0].shape[0] = 256; in[0].shape[1] = 1;
    in[1].name = "backbone.norm_f.weight"; in[1].ndim = 1; in[1].shape[0] = 1;
    in[2].name = "backbone.layers.0.norm.weight"; in[2].ndim = 1; in[2].shape[0] = 1;
    in[3].name = "backbone.layers.0.mixer.in_proj.weight"; in[3].ndim = 2; in[3].shape[0] = proj; in[3].shape[1] = 1;
    in[4].name = "backbone.layers.0.mixer.conv1d.weight"; in[4].ndim = 3; in[4].shape[0] = conv_dim; in[4].shape[1] = 1; in[4].shape[2] = K;
    in[5].name = "backbone.layers.0.mixer.conv1d.bias"; in[5].ndim = 1; in[5].shape[0] = conv_dim;
    in[6].name = "backbone.layers.0.mixer.A_log"; in[6].ndim = 1; in[6].shape[0] = H;
    in[7].name = "backbone.layers.0.mixer.D"; in[7].ndim = 1; in[7].shape[0] = H;
    in[8].name = "backbone.layers.0.mixer.dt_bias"; in[8].ndim = 1; in[8].shape[0] = H;
    in[9].name = "backbone.layers.0.mixer.norm.weight"; in[9].ndim = 1; in[9].shape[0] = Di;
    in[10].name = "backbone.layers.0.mixer.out_proj.weight"; in[10].ndim = 2; in[10].shape[0] = 1; in[10].shape[1] = Di;
    for (i = 0; i < 11; i++) in[i].data = zero;
    ASSERT_OK(uniql_safetensors_write(in, 11, UNIQL_DTYPE_BF16, NULL, &img, &size, &e));
    fv.name = "model.safetensors";
    fv.data = img;
    fv.size = size;
    if (uniql_model_load(cfg, strlen(cfg), NULL, 0, &fv, 1, NULL, &m, &e) != UNIQL_OK) {
        free(zero);
        uniql_free_buffer(img, NULL);
        UQ__FAILF("load: %s", e.message);
    }
    memset(&so, 0, sizeof so);
    so.max_ctx = 8;
    ASSERT_OK(uniql_state_bytes(m, &so, &bytes));
    UQ_NOTE("%.2f MB checkpoint, runtime state %.0f MB", (double)size / 1048576.0, (double)bytes / 1048576.0);
    ASSERT(bytes >= (uint64_t)Di * N * 4);
    so.max_bytes = (uint64_t)64 << 20;
    live = tutil_alloc_live;
    tutil_alloc_peak = live;
    ASSERT_ERR(UNIQL_ERR_BUDGET, uniql_state_create_ex(m, &so, &st));
    ASSERT(st == NULL && tutil_alloc_peak == live);   /* nothing allocated */
    uniql_model_free(m);
    uniql_free_buffer(img, NULL);
    free(zero);
    /* on a model of ordinary size the answer is the allocation, to the byte */
    m = tutil_load_ref("nemotron_h", 0);
    ASSERT(m != NULL);
    so.max_ctx = 37;
    so.max_batch = 5;
    so.max_bytes = 0;
    ASSERT_OK(uniql_state_bytes(m, &so, &bytes));
    live = tutil_alloc_live;
    ASSERT_OK(uniql_state_create_ex(m, &so, &st));
    ASSERT_EQ((long long)bytes, (long long)(tutil_alloc_live - live));
    uniql_state_free(st);
    so.max_bytes = bytes;
    ASSERT_OK(uniql_state_create_ex(m, &so, &st));
    uniql_state_free(st);
    so.max_bytes = bytes - 1;
    ASSERT_ERR(UNIQL_ERR_BUDGET, uniql_state_create_ex(m, &so, &st));
    uniql_model_free(m);
    PASS();
}

/* calibration sizes its state by the tokens it sees: seq_len 2^31-1 on 300 tokens is a
   300-position state (it failed as "out of memory"); a state cap gives its own message */
TEST calibration_state_follows_the_tokens(void)
{
    uniql_model *m = tutil_load_ref("llama", 0);
    uniql_calib_options o;
    uniql_calib *cb = NULL;
    uniql_error e;
    int tok[300], i;
    ASSERT(m != NULL);
    for (i = 0; i < 300; i++) tok[i] = (i * 37 + 11) % 256;
    memset(&o, 0, sizeof o);
    o.seq_len = 2147483647;
    o.importance_only = 1;
    if (uniql_calibrate(m, tok, 300, &o, &cb, &e) != UNIQL_OK) { uniql_model_free(m); UQ__FAILF("%s", e.message); }
    ASSERT_EQ(300, uniql_calib_tokens(cb));
    ASSERT_EQ(1, uniql_calib_sequences(cb));
    uniql_calib_free(cb);
    o.max_state_bytes = 1024;
    ASSERT_ERR(UNIQL_ERR_BUDGET, uniql_calibrate(m, tok, 300, &o, &cb, &e));
    ASSERT(strstr(e.message, "runtime state for 300 positions") != NULL);
    uniql_model_free(m);
    PASS();
}

/* ---- .uniql: values checked at load, selection from the tables ---- */

/* a NaN scale in a Mamba layer, or a NaN in an F32 vector, of a .uniql file is refused at
   load (it used to run with exit 0 and plausible text) */
TEST packed_nonfinite_refused_at_load(void)
{
    uniql_model *m = tutil_load_ref("nemotron_h", 1), *q = NULL, *pm = NULL;
    uniql_pack_model_desc d;
    uniql_packed pk;
    uniql_error e;
    char *cfg;
    size_t cfg_n = 0, size = 0;
    void *img = NULL;
    static const char *const victims[3] = { "layers.0.mamba.in_x", "layers.3.mlp.up", "final_norm" };
    int v;
    ASSERT(m != NULL);
    cfg = (char *)tutil_read_file("tests/data/ref/nemotron_h/config.json", &cfg_n);
    ASSERT(cfg != NULL);
    ASSERT_OK(uniql_model_quantize(m, NULL, NULL, &q, &e));
    memset(&d, 0, sizeof d);
    d.config_json = cfg;
    d.config_len = cfg_n;
    ASSERT_OK(uniql_pack_model(q, &d, NULL, &img, &size, &e));
    for (v = 0; v < 3; v++) {
        unsigned char *c = (unsigned char *)malloc(size);
        const uniql_pack_tensor *t;
        ASSERT(c != NULL);
        memcpy(c, img, size);
        ASSERT_OK(uniql_packed_open(c, size, 0, NULL, &pk, &e));
        ASSERT_OK(uniql_packed_model_load(&pk, NULL, NULL, NULL, &pm, &e));   /* the clean file loads */
        uniql_model_free(pm);
        t = uniql_packed_find(&pk, victims[v]);
        ASSERT(t != NULL);
        if (t->m.scales) {
            uint16_t nan16 = 0x7E00;
            memcpy((unsigned char *)c + ((const unsigned char *)t->m.scales - c) + 2 * 5, &nan16, 2);
        } else {
            float nan32 = NAN;
            memcpy((unsigned char *)c + ((const unsigned char *)t->m.data - c) + 4 * 7, &nan32, 4);
        }
        ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_packed_model_load(&pk, NULL, NULL, NULL, &pm, &e));
        if (!strstr(e.message, victims[v])) { uniql_packed_free(&pk); free(c); UQ__FAILF("'%s'", e.message); }
        uniql_packed_free(&pk);
        free(c);
    }
    uniql_free_buffer(img, NULL);
    free(cfg);
    uniql_model_free(q);
    uniql_model_free(m);
    PASS();
}

/* --mem-mb and the LSAQ plan on a 512-layer file: sizes come from the tensor table (no
   model is built: the selection allocates a few KB, a load of 512 layers half a MB) and
   equal the weight bytes of the model then loaded, at every rate and for the plan */
TEST packed_selection_from_the_tables(void)
{
    enum { LL = 512, NR = 4 };
    static const double rates[NR] = { 0.1, 0.2, 0.3, 0.5 };
    uniql_model *fp = tutil_load_ref("llama", 1), *ref = NULL, big, *q4 = NULL, *q8 = NULL, *pm = NULL;
    uniql_sort_options sopt;
    uniql_layer *layers;
    uniql_kept *kept, full[LL], k[LL];
    unsigned char up[LL];
    double imp[LL];
    uniql_pack_model_desc d;
    uniql_packed pk;
    uniql_error e;
    uniql_model_quant_options qo;
    char *cfg, *t, big_cfg[2048];
    size_t cfg_n = 0, size = 0, live;
    void *img = NULL;
    int i, l, ri = -2, bits[LL];
    uint64_t b = 0, total = 0;
    ASSERT(fp != NULL);
    /* random order in the prunable layout: transposed o/down, rope_pairs (cheap, no calibration) */
    memset(&sopt, 0, sizeof sopt);
    sopt.order = UNIQL_ORDER_RANDOM;
    sopt.layout = UNIQL_LAYOUT_PRUNABLE;
    sopt.seed = 7;
    ASSERT_OK(uniql_sort_model(fp, NULL, &sopt, &ref, &e));
    uniql_model_free(fp);
    cfg = (char *)tutil_read_file("tests/data/ref/llama/config.json", &cfg_n);
    ASSERT(cfg && (t = strstr(cfg, "\"num_hidden_layers\": 2")) != NULL);
    snprintf(big_cfg, sizeof big_cfg, "%.*s\"num_hidden_layers\": 512%s", (int)(t - cfg), cfg, t + strlen("\"num_hidden_layers\": 2"));
    free(cfg);
    /* the reference's two layers repeated 256 times (views into its weights) */
    layers = (uniql_layer *)malloc(sizeof *layers * LL);
    kept = (uniql_kept *)malloc(sizeof *kept * NR * LL);
    ASSERT(layers && kept);
    big = *ref;
    big.config.n_layers = LL;
    for (l = 0; l < LL; l++) { layers[l] = ref->layers[l % 2]; big.config.block[l] = ref->config.block[0]; }
    big.layers = layers;
    big.storage = NULL;
    memset(&qo, 0, sizeof qo);
    ASSERT_OK(uniql_model_quantize(&big, NULL, &qo, &q4, &e));
    qo.bits = 8;
    ASSERT_OK(uniql_model_quantize(&big, NULL, &qo, &q8, &e));
    for (l = 0; l < LL; l++) {
        full[l] = uniql_kept_full(&big.config, l);
        up[l] = (unsigned char)(l % 3 == 0);
        imp[l] = (double)((l * 7919) % 1000);
    }
    for (i = 0; i < NR; i++)
        for (l = 0; l < LL; l++) {
            uniql_kept *kk = &kept[i * LL + l];
            *kk = full[l];
            kk->d_int = full[l].d_int - 8 * (i + 1);
            kk->v_dim = full[l].v_dim - (i + 1);
            kk->qk_dim = full[l].qk_dim - 2 * (i + 1);
        }
    memset(&d, 0, sizeof d);
    d.config_json = big_cfg;
    d.config_len = strlen(big_cfg);
    d.n_rates = NR;
    d.rates = rates;
    d.kept = kept;
    d.lsaq_importance = imp;
    d.upgrade = q8;
    d.upgrade_layers = up;
    ASSERT_OK(uniql_pack_model(q4, &d, NULL, &img, &size, &e));
    uniql_model_free(q8);
    uniql_model_free(q4);
    ASSERT_OK(uniql_packed_open(img, size, 0, NULL, &pk, &e));
    for (i = -1; i < NR; i++) {
        uint64_t want;
        ASSERT_OK(uniql_packed_kept(&pk, i, k, &e));
        ASSERT_OK(uniql_packed_model_load(&pk, k, NULL, NULL, &pm, &e));
        want = uniql_model_weight_bytes(pm);
        uniql_model_free(pm);
        live = tutil_alloc_live;
        tutil_alloc_peak = live;
        ASSERT_OK(uniql_packed_select_rate(&pk, want, NULL, &ri, &b, &e));
        ASSERT(tutil_alloc_peak - live < 64 * 1024);   /* no model was loaded */
        ASSERT(ri == i && b == want);
        if (i >= 0) {
            ASSERT(uniql_packed_select_rate(&pk, want - 1, NULL, &ri, &b, &e) == (i + 1 < NR ? UNIQL_OK : UNIQL_ERR_BUDGET));
            if (i + 1 < NR) ASSERT_EQ(i + 1, ri);
        }
    }
    /* the LSAQ plan at rate 1: its total is the loaded model's bytes */
    ASSERT_OK(uniql_packed_kept(&pk, 1, k, &e));
    ASSERT_OK(uniql_packed_model_load(&pk, k, NULL, NULL, &pm, &e));
    b = uniql_model_weight_bytes(pm);
    uniql_model_free(pm);
    live = tutil_alloc_live;
    tutil_alloc_peak = live;
    ASSERT_OK(uniql_packed_plan_bits(&pk, k, "lsaq", b + b / 20, NULL, bits, &total, &e));
    ASSERT(tutil_alloc_peak - live < 64 * 1024);
    ASSERT_OK(uniql_packed_model_load(&pk, k, bits, NULL, &pm, &e));
    ASSERT_EQ((long long)total, (long long)uniql_model_weight_bytes(pm));
    for (l = 0, i = 0; l < LL; l++) { ASSERT(bits[l] == 4 || up[l]); i += bits[l] == 8; }
    UQ_NOTE("512 layers: plan within +5%%: %d layers at int8, %llu bytes", i, (unsigned long long)total);
    ASSERT(i > 0);
    uniql_model_free(pm);
    uniql_packed_free(&pk);
    uniql_free_buffer(img, NULL);
    free(layers);
    free(kept);
    uniql_model_free(ref);
    PASS();
}

/* ---- the programs' command-line values (tools/cli.h) ---- */

/* every numeric option of every program goes through these: the whole string, a range,
   finite; what atoi/atof silently turned into another value is refused, naming the option */
TEST cli_numbers_are_parsed_strictly(void)
{
    static const struct { const char *s; int ok; long long v; } ints[] = {
        { "16", 1, 16 }, { "+16", 1, 16 }, { "2147483647", 1, 2147483647LL },
        { "4294967312", 0, 0 },            /* atoi: 16 */
        { "99999999999999999999999", 0, 0 }, { "-1", 0, 0 }, { "", 0, 0 }, { " 16", 0, 0 },
        { "16 ", 0, 0 }, { "16abc", 0, 0 }, { "0x10", 0, 0 }, { "1e3", 0, 0 }, { "abc", 0, 0 }, { "-", 0, 0 },
        { "15", 0, 0 },                    /* below the range */
    };
    static const struct { const char *s; int ok; double v; } dbl[] = {
        { "0.25", 1, 0.25 }, { "0", 1, 0.0 }, { "1e-3", 1, 1e-3 }, { ".5", 1, 0.5 }, { "0.", 1, 0.0 }, { "+0.5E+0", 1, 0.5 },
        { "-1", 0, 0 }, { "nan", 0, 0 }, { "NaN", 0, 0 }, { "inf", 0, 0 }, { "-Infinity", 0, 0 }, { "abc", 0, 0 },
        { "0.25abc", 0, 0 },               /* atof: 0.25 */
        { "1e999", 0, 0 }, { "1e-400", 0, 0 }, { "0x1p-2", 0, 0 }, { "", 0, 0 }, { ".", 0, 0 }, { "1e", 0, 0 },
        { " 0.5", 0, 0 }, { "1.5", 0, 0 },  /* above the range */
    };
    size_t k;
    cli_quiet = 1;
    cli_prog = "test";
    for (k = 0; k < sizeof ints / sizeof ints[0]; k++) {
        int v = -7, ok = cli_int("--calib-tokens", ints[k].s, 16, INT_MAX, &v);
        if (ok != ints[k].ok || (ok && v != ints[k].v)) UQ__FAILF("cli_int('%s'): %d, %d", ints[k].s, ok, v);
        if (!ok && (v != -7 || !strstr(cli_last_error, "--calib-tokens"))) UQ__FAILF("cli_int('%s'): '%.300s'", ints[k].s, cli_last_error);
    }
    for (k = 0; k < sizeof dbl / sizeof dbl[0]; k++) {
        double v = -7;
        int ok = cli_double("--rate", dbl[k].s, 0.0, 1.0, CLI_OPEN_HI, &v);
        if (ok != dbl[k].ok || (ok && v != dbl[k].v)) UQ__FAILF("cli_double('%s'): %d, %g", dbl[k].s, ok, v);
        if (!ok && (v != -7 || !strstr(cli_last_error, "--rate"))) UQ__FAILF("cli_double('%s'): '%.300s'", dbl[k].s, cli_last_error);
    }
    {
        double v;
        uint64_t b = 0, u = 0;
        long long x = 0;
        ASSERT(!cli_double("--rate", "1", 0.0, 1.0, CLI_OPEN_HI, &v));          /* open end */
        ASSERT(!cli_double("--rate", "0", 0.0, 1.0, CLI_OPEN_LO, &v));
        ASSERT(cli_mb("--mem-mb", "2.5", 1e9, &v, &b) && b == 2621440u);
        ASSERT(!cli_mb("--mem-mb", "1e30", 1e9, &v, &b));                        /* UB as (uint64_t)(1e30 * 2^20) */
        ASSERT(!cli_mb("--mem-mb", "-5", 1e9, &v, &b));
        ASSERT(cli_u64("--seed", "18446744073709551615", &u) && u == UINT64_MAX);
        ASSERT(!cli_u64("--seed", "18446744073709551616", &u) && !cli_u64("--seed", "-1", &u));
        ASSERT(cli_ll("--n", "-9223372036854775808", LLONG_MIN, 0, &x) && x == LLONG_MIN);
        ASSERT(!cli_ll("--n", "9223372036854775808", 0, LLONG_MAX, &x));
    }
    {
        double r[4];
        int n = 0;
        ASSERT(cli_double_list("--rates", "0.1,0.2,0.35", 0.0, 0.85, CLI_OPEN_LO | CLI_OPEN_HI, 1, r, 4, &n) && n == 3 && r[2] == 0.35);
        ASSERT(!cli_double_list("--rates", "0.2,0.1", 0.0, 0.85, CLI_OPEN_LO | CLI_OPEN_HI, 1, r, 4, &n));
        ASSERT(!cli_double_list("--rates", "0.1,0.1", 0.0, 0.85, CLI_OPEN_LO | CLI_OPEN_HI, 1, r, 4, &n));
        ASSERT(!cli_double_list("--rates", "0.1,,0.2", 0.0, 0.85, CLI_OPEN_LO | CLI_OPEN_HI, 1, r, 4, &n));
        ASSERT(!cli_double_list("--rates", "0.1,", 0.0, 0.85, CLI_OPEN_LO | CLI_OPEN_HI, 1, r, 4, &n));
        ASSERT(!cli_double_list("--rates", "0.1,nan", 0.0, 0.85, CLI_OPEN_LO | CLI_OPEN_HI, 1, r, 4, &n));
        ASSERT(!cli_double_list("--rates", "0.9", 0.0, 0.85, CLI_OPEN_LO | CLI_OPEN_HI, 1, r, 4, &n));
        ASSERT(!cli_double_list("--rates", "0.1,0.2,0.3,0.4,0.5", 0.0, 0.85, CLI_OPEN_LO | CLI_OPEN_HI, 1, r, 4, &n));
        ASSERT(strstr(cli_last_error, "--rates") != NULL);
    }
    cli_quiet = 0;
    PASS();
}

#ifdef CLI_POSIX
static int bad_file_is(const char *path, const char *want)
{
    size_t n = 0;
    unsigned char *d = tutil_read_file(path, &n);
    int ok = d && n == strlen(want) && !memcmp(d, want, n);
    free(d);
    return ok;
}

/* files in dir other than "." and ".." */
static int bad_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}
#endif

/* tools/pack's output: a failed write (here a file-size limit) leaves the old file intact
   and no temporary behind; a path that is not a regular file (FIFO, directory, device,
   symbolic link) is refused and left alone; a good write replaces the file atomically */
TEST cli_output_never_loses_or_unlinks(void)
{
#ifdef CLI_POSIX
    char dir[] = "/tmp/uniql_cli_XXXXXX", good[64], fifo[64], link_path[64], sub[64];
    static unsigned char big[65536];
    struct stat st;
    pid_t pid;
    int status = -1;
    cli_out o;
    FILE *f;
    cli_quiet = 1;
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(good, sizeof good, "%s/good.uniql", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(link_path, sizeof link_path, "%s/link", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    f = fopen(good, "wb");
    ASSERT(f && fputs("good", f) >= 0 && fclose(f) == 0);
    memset(big, 'x', sizeof big);
    /* a child with a 4 KB file-size limit tries to replace the file with 64 KB */
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        struct rlimit rl;
        int ok;
        rl.rlim_cur = rl.rlim_max = 4096;
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(3);
        if (cli_out_open(&o, good) != 1) _exit(4);
        ok = cli_out_commit(&o, big, sizeof big);
        _exit(ok ? 5 : strstr(cli_last_error, "left unchanged") ? 0 : 6);
    }
    ASSERT(waitpid(pid, &status, 0) == pid);
    ASSERT_EQ(0, WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status));
    ASSERT(bad_file_is(good, "good"));
    ASSERT_EQ(1, bad_dir_entries(dir));   /* no temporary file left */
    /* refused up front, and left in place */
    ASSERT(mkfifo(fifo, 0600) == 0 && symlink(good, link_path) == 0 && mkdir(sub, 0700) == 0);
    ASSERT_EQ(-1, cli_out_open(&o, fifo));
    ASSERT_EQ(-1, cli_out_open(&o, link_path));
    ASSERT_EQ(-1, cli_out_open(&o, sub));
    ASSERT_EQ(-1, cli_out_open(&o, "/dev/null"));
    ASSERT(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode) && lstat(link_path, &st) == 0 && S_ISLNK(st.st_mode));
    ASSERT(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    ASSERT(bad_file_is(good, "good"));
    /* the destination's directory must be writable when the work starts */
    {
        char missing[96];
        snprintf(missing, sizeof missing, "%s/no/such/dir.uniql", dir);
        ASSERT_EQ(0, cli_out_open(&o, missing));
    }
    /* inputs are recognised: the output may not be a file of the model folder */
    ASSERT(cli_file_in_dir(good, dir) && cli_same_file(good, link_path) && !cli_file_in_dir(good, sub));
    /* a write that works replaces the content, keeps the mode, leaves no temporary */
    ASSERT(chmod(good, 0640) == 0);
    ASSERT_EQ(1, cli_out_open(&o, good));
    ASSERT(cli_out_commit(&o, "new content", 11));
    ASSERT(bad_file_is(good, "new content"));
    ASSERT(stat(good, &st) == 0 && (st.st_mode & 0777) == 0640);
    ASSERT_EQ(4, bad_dir_entries(dir));
    /* an aborted write removes its temporary file only */
    ASSERT_EQ(1, cli_out_open(&o, good));
    cli_out_abort(&o);
    ASSERT(bad_file_is(good, "new content"));
    ASSERT_EQ(4, bad_dir_entries(dir));
    unlink(good);
    unlink(fifo);
    unlink(link_path);
    rmdir(sub);
    ASSERT(rmdir(dir) == 0);
    cli_quiet = 0;
    PASS();
#else
    SKIPm("POSIX only");
#endif
}

/* uniql_layer_rates: the parameter-weighted mean is the target or the call fails. The
   known answer: importance {0,1,1,1}, eps 1e-3: layer 0's softmax weight is e^1000 times
   the others', so it sits at max_rate 0.85 and the three others share the rest equally,
   (0.25 * 4 - 0.85) / 3 = 0.05 each (the linear softmax underflowed them to 0: mean
   0.2125). Random inputs: mean within 1e-9, rates in [0, max_rate], a less important layer
   never gets a lower rate. NaN eps / max_rate / target are NONFINITE. */
TEST layer_rates_mean_is_exact_or_an_error(void)
{
    static const double imp[4] = { 0, 1, 1, 1 }, gap[2] = { 0, 1e6 };
    double r[16], imp2[16], P[16], nan = strtod("nan", NULL);
    unsigned s = 12345;
    int l, t, a, b;
    ASSERT_OK(uniql_layer_rates(4, imp, NULL, 0.25, 1e-3, 0.85, r));
    ASSERT_IN_RANGE(0.85, r[0], 1e-12);
    for (l = 1; l < 4; l++) ASSERT_IN_RANGE(0.05, r[l], 1e-12);
    /* a gap of 1e9 in the exponent: the second layer still takes its share */
    ASSERT_OK(uniql_layer_rates(2, gap, NULL, 0.5, 1e-3, 0.85, r));
    ASSERT_IN_RANGE(0.85, r[0], 1e-12);
    ASSERT_IN_RANGE(0.15, r[1], 1e-12);
    for (t = 0; t < 200; t++) {
        int L = 1 + t % 16;
        double target, eps, mx, mean = 0, sp = 0;
        for (l = 0; l < L; l++) {
            s = s * 1103515245u + 12345u; imp2[l] = (double)(s >> 8) / 16777216.0 * (t % 3 ? 1.0 : 100.0);
            s = s * 1103515245u + 12345u; P[l] = 1.0 + (double)(s >> 20);
        }
        mx = 0.3 + 0.6 * (double)(t % 7) / 6.0;
        target = mx * (double)(t % 10) / 10.0;
        eps = t % 4 == 0 ? 1e-4 : 0.05 * (1 + t % 5);
        ASSERT_OK(uniql_layer_rates(L, imp2, P, target, eps, mx, r));
        for (l = 0; l < L; l++) {
            ASSERT(r[l] >= 0 && r[l] <= mx);
            mean += P[l] * r[l];
            sp += P[l];
        }
        ASSERT_IN_RANGE(target, mean / sp, 1e-9 * target);
        for (a = 0; a < L; a++)
            for (b = 0; b < L; b++)
                if (imp2[a] < imp2[b]) ASSERT(r[a] >= r[b] - 1e-15);
    }
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_layer_rates(4, imp, NULL, 0.25, nan, 0.85, r));
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_layer_rates(4, imp, NULL, 0.25, 0.1, nan, r));
    ASSERT_ERR(UNIQL_ERR_NONFINITE, uniql_layer_rates(4, imp, NULL, nan, 0.1, 0.85, r));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_layer_rates(4, imp, NULL, 0.25, HUGE_VAL, 0.85, r));
    PASS();
}

/* the backward error of an eigendecomposition, max_ij |A Z - Z diag(w)| / max|A|, and
   max |Z^T Z - I|: both are O(n eps) for a backward-stable method, whatever the scaling */
static void bad_eig_errors(int n, const double *A, const double *w, const double *Z, double *res, double *orth)
{
    double amax = 0;
    int i, j, t;
    *res = *orth = 0;
    for (i = 0; i < n; i++)
        for (j = i; j < n; j++) amax = fabs(A[i * n + j]) > amax ? fabs(A[i * n + j]) : amax;
    for (t = 0; t < n; t++)
        for (i = 0; i < n; i++) {
            double s = 0, o = 0;
            for (j = 0; j < n; j++) {
                s += (i <= j ? A[i * n + j] : A[j * n + i]) / amax * Z[j * n + t];
                o += Z[j * n + i] * Z[j * n + t];
            }
            s -= w[t] / amax * Z[i * n + t];
            if (fabs(s) > *res) *res = fabs(s);
            if (fabs(o - (i == t)) > *orth) *orth = fabs(o - (i == t));
        }
}

/* uniql_eigh_f64 on badly scaled input: the 5x5 of the issue (one 1e200 pair, entries O(1)
   and ~1e-201) made the QL iteration stall (bulge underflow: NO_CONVERGENCE); a 100 x 100
   matrix graded from 1 to 1e-20 needed 57 iterations for one eigenvalue (the budget was 30
   per value; it is 30 n in all now); entries graded over 1e-600 made the reduction divide
   by a subnormal |x|^2 (NaN). Each must now succeed with backward error and orthogonality
   O(n eps). Eigenvalues beyond DBL_MAX are UNIQL_ERR_RANGE (it returned OK with inf). */
TEST eigh_badly_scaled_converges_and_overflow_is_range(void)
{
    static const double A5[25] = {
        -4.57244e-202, 0.352224, 3.98583e-202, 3.06679e-202, -0.371909,
        0, 1e+200, 1e+200, -3.30072e-202, 2.5038e-202,
        0, 0, 0.452303, -0.413818, -1.16706e-202,
        0, 0, 0, -0.00980081, 0.164437,
        0, 0, 0, 0, 8.65795e-204 };
    static const int sizes[3] = { 100, 60, 40 };
    static const double spans[3] = { 10, 300, 600 };
    double w[100], res, orth, *A = (double *)malloc(100 * 100 * sizeof(double)), *Z = (double *)malloc(100 * 100 * sizeof(double));
    unsigned s = 99;
    int i, j, k;
    ASSERT(A && Z);
    ASSERT_OK(uniql_eigh_f64(5, A5, 5, w, Z, 5, NULL));
    bad_eig_errors(5, A5, w, Z, &res, &orth);
    ASSERT_LE(res, 1e-14);
    ASSERT_LE(orth, 1e-14);
    ASSERT_IN_RANGE(1.618033988749895e200, w[0], 1e186);   /* the 1e200 pair: 1e200 (1 +- sqrt 5) / 2 */
    ASSERT_IN_RANGE(-0.618033988749895e200, w[4], 1e186);
    for (k = 0; k < 3; k++) {
        int n = sizes[k];
        for (i = 0; i < n; i++)
            for (j = 0; j < n; j++) {
                s = s * 1103515245u + 12345u;
                A[i * n + j] = ((double)(s >> 8) / 16777216.0 - 0.5) * pow(10.0, -(i + j) * spans[k] / n);
            }
        ASSERT_OK(uniql_eigh_f64(n, A, (size_t)n, w, Z, (size_t)n, NULL));
        bad_eig_errors(n, A, w, Z, &res, &orth);
        ASSERT_LE(res, 1e-13);
        ASSERT_LE(orth, 1e-13);
    }
    /* all entries 8e307: the eigenvalue 3 * 8e307 is not a double */
    for (i = 0; i < 9; i++) A[i] = 8e307;
    ASSERT_ERR(UNIQL_ERR_RANGE, uniql_eigh_f64(3, A, 3, w, NULL, 0, NULL));
    ASSERT_ERR(UNIQL_ERR_RANGE, uniql_sqrt_psd_f64(3, A, 3, 1e-6, Z, 3, NULL, 0, NULL));
    /* diag(1e308, 5, -1e308) is: exact values */
    memset(A, 0, 9 * sizeof(double));
    A[0] = 1e308; A[4] = -1e308; A[8] = 5;
    ASSERT_OK(uniql_eigh_f64(3, A, 3, w, Z, 3, NULL));
    ASSERT_EQ(1, w[0] == 1e308 && w[1] == 5 && w[2] == -1e308);
    free(A); free(Z);
    PASS();
}

/* every result code has its own sentence (API 1 documents them all) */
TEST every_result_code_has_a_string(void)
{
    int r, k;
    for (r = 0; r >= (int)UNIQL_ERR_BUDGET; r--) {
        const char *s = uniql_result_string((uniql_result)r);
        ASSERT(s && strcmp(s, "unknown result code") != 0);
        for (k = 0; k > r; k--) ASSERT(strcmp(s, uniql_result_string((uniql_result)k)) != 0);
    }
    ASSERT_STR_EQ("unknown result code", uniql_result_string((uniql_result)1));
    PASS();
}

SUITE(bad_suite)
{
    RUN_TEST(bad_corpus_replays_cleanly);
    RUN_TEST(nonfinite_weights_rejected_at_load);
    RUN_TEST(overflowing_activations_give_nonfinite);
    RUN_TEST(all_zero_model_gives_zero_logits);
    RUN_TEST(zero_layer_is_identity);
    RUN_TEST(denormal_weights_are_handled);
    RUN_TEST(huge_attention_scores_stay_finite);
    RUN_TEST(logit_lens_rejects_nonfinite_states);
    RUN_TEST(hostile_config_values_rejected);
    RUN_TEST(directory_as_file_is_an_io_error);
    RUN_TEST(every_result_code_has_a_string);
    RUN_TEST(json_memory_is_bounded_by_the_text);
    RUN_TEST(safetensors_memory_is_bounded_by_the_header);
    RUN_TEST(config_size_is_capped);
    RUN_TEST(non_regular_files_are_refused);
    RUN_TEST(load_dir_holds_each_file_once);
    RUN_TEST(index_with_many_shard_names_fails_fast);
    RUN_TEST(packed_tables_are_checked);
    RUN_TEST(state_size_is_asked_and_capped);
    RUN_TEST(calibration_state_follows_the_tokens);
    RUN_TEST(packed_nonfinite_refused_at_load);
    RUN_TEST(packed_selection_from_the_tables);
    RUN_TEST(cli_numbers_are_parsed_strictly);
    RUN_TEST(cli_output_never_loses_or_unlinks);
    RUN_TEST(layer_rates_mean_is_exact_or_an_error);
    RUN_TEST(eigh_badly_scaled_converges_and_overflow_is_range);
}
