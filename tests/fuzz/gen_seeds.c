/* gen_seeds.c - seed corpora for the fuzz harnesses, from the real files in tests/data/ref.
   `make fuzz-seeds` builds and runs it from the repository root:

       build/fuzz/gen_seeds tests/data/ref build/fuzz/seeds

   writes build/fuzz/seeds/{json,config,safetensors,model}/:
     json         every ref config.json, model.safetensors.index.json and the JSON header
                  of every ref safetensors file, plus a few hand-written edge cases
     config       every ref config.json and its tiny variant (below)
     safetensors  the tiny models' safetensors files (the ref files are 50-380 KB, too slow
                  to mutate; their headers are in json/)
     model        fz_model inputs: u16 LE config length, config.json, safetensors
     uniql        .uniql images of each tiny model: the packer's pipeline (uniql_calibrate
                  on 64 random tokens, uniql_sort_model prunable layout, two rate tables
                  from block influence, uniql_model_quantize Q4 group 32 + Q8 upgrade
                  copies of every other layer, uniql_pack_model), plus two container-only
                  images from uniql_pack_write: every tensor F32, and the projections as
                  Q4 / Q4Z / Q8 in turn (o/down/out_proj transposed)
   A tiny variant keeps a ref config.json as it is (same keys, RoPE type, biases, tying,
   layer pattern) with the sizes shrunk to hidden 8, vocab 16, 2 heads / 1 KV head of 4,
   MLP 12, Mamba 4 heads x 4 with 2 groups of state 4, one layer (Nemotron-H keeps its 4),
   and random weights named as transformers names them, in the ref dtype and in F32. Every
   tiny model is checked to load and run before it is written. */
#define UNIQL_IMPLEMENTATION
#include "../../uniql.h"
#include "../tutil.h"
#include <string.h>

static int write_file(const char *dir, const char *sub, const char *name, const void *a, size_t na, const void *b, size_t nb)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    f = fopen(path, "wb");
    if (!f) { fprintf(stderr, "gen_seeds: cannot write %s (create the folders first)\n", path); return 0; }
    if (na) fwrite(a, 1, na, f);
    if (nb) fwrite(b, 1, nb, f);
    fclose(f);
    return 1;
}

/* replace the number after "key": in JSON text (first occurrence); returns a new string */
static char *set_num(char *text, const char *key, int value)
{
    char pat[128], num[32], *p, *q, *out;
    size_t n;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(text, pat);
    if (!p) return text;
    p += strlen(pat);
    while (*p == ' ') p++;
    q = p;
    while ((*q >= '0' && *q <= '9') || *q == '.' || *q == '-' || *q == 'e' || *q == '+') q++;
    snprintf(num, sizeof num, "%d", value);
    n = strlen(text) - (size_t)(q - p) + strlen(num) + 1;
    out = (char *)malloc(n);
    memcpy(out, text, (size_t)(p - text));
    strcpy(out + (p - text), num);
    strcat(out, q);
    free(text);
    return out;
}

/* ---- a safetensors writer: tensors in the order added, data packed back to back ---- */
typedef struct {
    char name[128];
    int ndim;
    int shape[3];
    size_t n;
} tdesc;

typedef struct {
    tdesc t[160];
    int n;
    const char *dtype;   /* "F32", "F16", "BF16" */
    trng rng;
} twriter;

static void add(twriter *w, const char *name, int ndim, int d0, int d1, int d2)
{
    tdesc *t = &w->t[w->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->shape[0] = d0; t->shape[1] = d1; t->shape[2] = d2;
    t->n = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1) * (ndim > 2 ? (size_t)d2 : 1);
}

static unsigned char *st_bytes(twriter *w, size_t *size)
{
    size_t es = strcmp(w->dtype, "F32") ? 2 : 4, off = 0, hl, data = 0, i, pos;
    char *h = (char *)malloc(65536);
    unsigned char *out;
    int k, d;
    strcpy(h, "{");
    for (k = 0; k < w->n; k++) {
        char buf[256];
        int len = snprintf(buf, sizeof buf, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", k ? "," : "", w->t[k].name, w->dtype);
        for (d = 0; d < w->t[k].ndim; d++) len += snprintf(buf + len, sizeof buf - (size_t)len, d ? ",%d" : "%d", w->t[k].shape[d]);
        snprintf(buf + len, sizeof buf - (size_t)len, "],\"data_offsets\":[%lu,%lu]}", (unsigned long)off,
                 (unsigned long)(off + w->t[k].n * es));
        strcat(h, buf);
        off += w->t[k].n * es;
    }
    strcat(h, "}");
    hl = strlen(h);
    while ((8 + hl) % 8) h[hl++] = ' ';   /* pad like the reference writer */
    data = off;
    out = (unsigned char *)malloc(8 + hl + data);
    for (i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(out + 8, h, hl);
    pos = 8 + hl;
    for (k = 0; k < w->n; k++) {
        int norm = strstr(w->t[k].name, "norm") != NULL || strstr(w->t[k].name, ".D") != NULL;
        for (i = 0; i < w->t[k].n; i++) {
            float v = (float)(norm ? 1.0 + 0.1 * trng_normal(&w->rng) : 0.5 * trng_normal(&w->rng));
            if (es == 4) memcpy(out + pos, &v, 4);
            else {
                uint16_t hv = strcmp(w->dtype, "F16") ? uniql_fp32_to_bf16(v) : uniql_fp32_to_fp16(v);
                memcpy(out + pos, &hv, 2);
            }
            pos += es;
        }
    }
    free(h);
    *size = pos;
    return out;
}

static void L(char *buf, const char *prefix, int l, const char *suffix) { sprintf(buf, "%slayers.%d.%s", prefix, l, suffix); }

static void attn(twriter *w, const uniql_config *c, const char *pre, int l, const char *mix, int bias)
{
    char n[128], s[64];
    int D = c->hidden_size, q = c->n_heads * c->head_dim, k = c->n_kv_heads * c->head_dim;
    sprintf(s, "%sq_proj.weight", mix); L(n, pre, l, s); add(w, n, 2, q, D, 0);
    sprintf(s, "%sk_proj.weight", mix); L(n, pre, l, s); add(w, n, 2, k, D, 0);
    sprintf(s, "%sv_proj.weight", mix); L(n, pre, l, s); add(w, n, 2, k, D, 0);
    sprintf(s, "%so_proj.weight", mix); L(n, pre, l, s); add(w, n, 2, D, q, 0);
    if (bias & 1) {
        sprintf(s, "%sq_proj.bias", mix); L(n, pre, l, s); add(w, n, 1, q, 0, 0);
        sprintf(s, "%sk_proj.bias", mix); L(n, pre, l, s); add(w, n, 1, k, 0, 0);
        sprintf(s, "%sv_proj.bias", mix); L(n, pre, l, s); add(w, n, 1, k, 0, 0);
    }
    if (bias & 2) { sprintf(s, "%so_proj.bias", mix); L(n, pre, l, s); add(w, n, 1, D, 0, 0); }
}

static void mlp(twriter *w, const uniql_config *c, const char *pre, int l, const char *mix)
{
    char n[128], s[64];
    int D = c->hidden_size, I = c->intermediate_size;
    if (c->mlp_act == UNIQL_MLP_SWIGLU) { sprintf(s, "%sgate_proj.weight", mix); L(n, pre, l, s); add(w, n, 2, I, D, 0); }
    sprintf(s, "%sup_proj.weight", mix); L(n, pre, l, s); add(w, n, 2, I, D, 0);
    sprintf(s, "%sdown_proj.weight", mix); L(n, pre, l, s); add(w, n, 2, D, I, 0);
    if (c->mlp_bias) {
        if (c->mlp_act == UNIQL_MLP_SWIGLU) { sprintf(s, "%sgate_proj.bias", mix); L(n, pre, l, s); add(w, n, 1, I, 0, 0); }
        sprintf(s, "%sup_proj.bias", mix); L(n, pre, l, s); add(w, n, 1, I, 0, 0);
        sprintf(s, "%sdown_proj.bias", mix); L(n, pre, l, s); add(w, n, 1, D, 0, 0);
    }
}

static void mamba(twriter *w, const uniql_config *c, const char *pre, int l)
{
    char n[128], s[64];
    const char *mix = c->arch == UNIQL_ARCH_BAMBA ? "mamba." : "mixer.";
    int D = c->hidden_size, H = c->ssm_heads, Di = H * c->ssm_head_dim, GN = c->ssm_groups * c->ssm_state;
    int conv = Di + 2 * GN, proj = Di + conv + H;
    sprintf(s, "%sin_proj.weight", mix); L(n, pre, l, s); add(w, n, 2, proj, D, 0);
    if (c->ssm_proj_bias) {
        sprintf(s, "%sin_proj.bias", mix); L(n, pre, l, s); add(w, n, 1, proj, 0, 0);
        sprintf(s, "%sout_proj.bias", mix); L(n, pre, l, s); add(w, n, 1, D, 0, 0);
    }
    sprintf(s, "%sconv1d.weight", mix); L(n, pre, l, s); add(w, n, 3, conv, 1, c->conv_kernel);
    if (c->conv_bias) { sprintf(s, "%sconv1d.bias", mix); L(n, pre, l, s); add(w, n, 1, conv, 0, 0); }
    sprintf(s, "%sA_log", mix); L(n, pre, l, s); add(w, n, 1, H, 0, 0);
    sprintf(s, "%sD", mix); L(n, pre, l, s); add(w, n, 1, H, 0, 0);
    sprintf(s, "%sdt_bias", mix); L(n, pre, l, s); add(w, n, 1, H, 0, 0);
    sprintf(s, "%snorm.weight", mix); L(n, pre, l, s); add(w, n, 1, Di, 0, 0);
    sprintf(s, "%sout_proj.weight", mix); L(n, pre, l, s); add(w, n, 2, D, Di, 0);
}

static void model_tensors(twriter *w, const uniql_config *c)
{
    int bamba = c->arch == UNIQL_ARCH_BAMBA, llama = c->arch == UNIQL_ARCH_LLAMA || c->arch == UNIQL_ARCH_QWEN2 || bamba, l;
    const char *pre = llama ? "model." : "backbone.";
    char n[128];
    sprintf(n, "%s%s", pre, llama ? "embed_tokens.weight" : "embeddings.weight"); add(w, n, 2, c->vocab_size, c->hidden_size, 0);
    sprintf(n, "%s%s", pre, bamba ? "final_layernorm.weight" : llama ? "norm.weight" : "norm_f.weight"); add(w, n, 1, c->hidden_size, 0, 0);
    if (!c->tie_embeddings) add(w, "lm_head.weight", 2, c->vocab_size, c->hidden_size, 0);
    for (l = 0; l < c->n_layers; l++) {
        switch (c->block[l]) {
        case UNIQL_BLOCK_DECODER:
            L(n, pre, l, "input_layernorm.weight"); add(w, n, 1, c->hidden_size, 0, 0);
            L(n, pre, l, bamba ? "pre_ff_layernorm.weight" : "post_attention_layernorm.weight"); add(w, n, 1, c->hidden_size, 0, 0);
            attn(w, c, pre, l, "self_attn.", (c->qkv_bias ? 1 : 0) | (c->o_bias ? 2 : 0));
            mlp(w, c, pre, l, bamba ? "feed_forward." : "mlp.");
            break;
        case UNIQL_BLOCK_MAMBA_MLP:   /* Bamba */
            L(n, pre, l, "input_layernorm.weight"); add(w, n, 1, c->hidden_size, 0, 0);
            L(n, pre, l, "pre_ff_layernorm.weight"); add(w, n, 1, c->hidden_size, 0, 0);
            mamba(w, c, pre, l);
            mlp(w, c, pre, l, "feed_forward.");
            break;
        case UNIQL_BLOCK_ATTENTION:
            L(n, pre, l, "norm.weight"); add(w, n, 1, c->hidden_size, 0, 0);
            attn(w, c, pre, l, "mixer.", 0);
            break;
        case UNIQL_BLOCK_MLP:
            L(n, pre, l, "norm.weight"); add(w, n, 1, c->hidden_size, 0, 0);
            mlp(w, c, pre, l, "mixer.");
            break;
        case UNIQL_BLOCK_MAMBA:
            L(n, pre, l, "norm.weight"); add(w, n, 1, c->hidden_size, 0, 0);
            mamba(w, c, pre, l);
            break;
        }
    }
}

/* the tiny model's tensors into a .uniql image (quant = 0: all F32) */
static int write_uniql(const char *out, const char *arch, int quant, const char *cfg, const unsigned char *st_buf, size_t st_size)
{
    uniql_safetensors st;
    uniql_pack_input in[160];
    void *bufs[160], *img = NULL;
    size_t img_size = 0;
    uniql_error e;
    uniql_packed p;
    int k, n = 0, ok = 1, qi = 0;
    char name[128];
    if (uniql_safetensors_parse(st_buf, st_size, NULL, &st, &e) != UNIQL_OK) return 0;
    for (k = 0; k < st.n_tensors && n < 160; k++) {
        const uniql_tensor *t = &st.tensors[k];
        int rows = t->ndim >= 2 ? (int)t->shape[0] : 1;
        int cols = t->ndim == 1 ? (int)t->shape[0] : (int)(t->nbytes / ((t->dtype == UNIQL_DTYPE_F32 ? 4u : 2u) * (size_t)rows));
        size_t cnt = (size_t)rows * (size_t)cols, i, es = t->dtype == UNIQL_DTYPE_F32 ? 4 : 2;
        float *f = (float *)malloc(sizeof(float) * cnt);
        for (i = 0; i < cnt; i++) {
            const unsigned char *b = (const unsigned char *)t->data + i * es;
            if (es == 4) memcpy(&f[i], b, 4);
            else {
                uint16_t h;
                memcpy(&h, b, 2);
                f[i] = t->dtype == UNIQL_DTYPE_F16 ? uniql_fp16_to_fp32(h) : uniql_bf16_to_fp32(h);
            }
        }
        in[n].name = t->name;
        in[n].m = uniql_matrix_f32(f, rows, cols, (size_t)cols);
        bufs[n] = f;
        if (quant && t->ndim == 2 && strstr(t->name, "proj")) {
            static const uniql_dtype kinds[3] = { UNIQL_DTYPE_Q4, UNIQL_DTYPE_Q4Z, UNIQL_DTYPE_Q8 };
            uniql_quant_desc d;
            size_t qb = 0;
            void *q;
            memset(&d, 0, sizeof d);
            d.dtype = kinds[qi++ % 3];
            d.group = 32;
            d.transposed = strstr(t->name, "o_proj") || strstr(t->name, "down_proj") || strstr(t->name, "out_proj");
            if (uniql_quant_size(&d, rows, cols, &qb) != UNIQL_OK || !(q = malloc(qb)) ||
                uniql_quantize(&d, f, rows, cols, (size_t)cols, q, qb, &in[n].m) != UNIQL_OK) { ok = 0; break; }
            free(f);
            bufs[n] = q;
        }
        n++;
    }
    if (ok && uniql_pack_write(cfg, strlen(cfg), "{\"seed\": \"gen_seeds\", \"rates\": [1.0, 0.75]}", 43, in, n, NULL, &img,
                               &img_size, &e) != UNIQL_OK) {
        fprintf(stderr, "gen_seeds: pack_write %s: %s\n", arch, e.message);
        ok = 0;
    }
    if (ok && uniql_packed_open(img, img_size, 0, NULL, &p, &e) != UNIQL_OK) {
        fprintf(stderr, "gen_seeds: packed_open %s: %s\n", arch, e.message);
        ok = 0;
    } else if (ok) uniql_packed_free(&p);
    if (ok) {
        snprintf(name, sizeof name, "%s_%s.uniql", arch, quant ? "quant" : "f32");
        ok = write_file(out, "uniql", name, img, img_size, NULL, 0);
    }
    uniql_free_buffer(img, NULL);
    for (k = 0; k < n; k++) free(bufs[k]);
    uniql_safetensors_free(&st);
    return ok;
}

/* what tools/pack does, on the tiny model: calibrate, sort, rate tables, quantize, pack */
static int write_packed_model(const char *out, const char *arch, const char *cfg, const uniql_model *M)
{
    uniql_calib_options co;
    uniql_sort_options so;
    uniql_model_quant_options qo;
    uniql_pack_model_desc d;
    uniql_calib *cb = NULL;
    uniql_model *S = NULL, *Q = NULL, *Q8 = NULL, *P = NULL;
    uniql_kept kept[2 * UNIQL_MAX_LAYERS];
    unsigned char upl[UNIQL_MAX_LAYERS];
    double rates[2] = { 0.2, 0.4 }, bi[UNIQL_MAX_LAYERS], lsaq[UNIQL_MAX_LAYERS], params[UNIQL_MAX_LAYERS], lr[UNIQL_MAX_LAYERS];
    int tok[64], L = M->config.n_layers, l, i, ok = 0;
    uniql_error e;
    uniql_packed pk;
    void *img = NULL;
    size_t size = 0;
    char name[128];
    trng r;
    r.s = 99;
    memset(&e, 0, sizeof e);
    for (i = 0; i < 64; i++) tok[i] = (int)(trng_u64(&r) % (uint64_t)M->config.vocab_size);
    memset(&co, 0, sizeof co);
    co.seq_len = 16;
    co.lsaq = 1;
    co.lsaq_k = 4;
    memset(&so, 0, sizeof so);
    so.layout = UNIQL_LAYOUT_PRUNABLE;
    memset(&qo, 0, sizeof qo);
    qo.group = 32;
    if (uniql_calibrate(M, tok, 64, &co, &cb, &e) != UNIQL_OK ||
        uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, bi) != UNIQL_OK ||
        uniql_calib_importance(cb, UNIQL_IMPORTANCE_LSAQ, lsaq) != UNIQL_OK || uniql_sort_model(M, cb, &so, &S, &e) != UNIQL_OK)
        goto done;
    for (l = 0; l < L; l++) { params[l] = (double)uniql_prunable_params(&S->config, l, NULL); upl[l] = (unsigned char)(l % 2 == 0); }
    for (i = 0; i < 2; i++)
        if (uniql_layer_rates(L, bi, params, rates[i], 0, 0, lr) != UNIQL_OK ||
            uniql_kept_from_rates(&S->config, lr, NULL, &kept[i * L]) != UNIQL_OK)
            goto done;
    if (uniql_model_quantize(S, NULL, &qo, &Q, &e) != UNIQL_OK) goto done;
    qo.bits = 8;
    if (uniql_model_quantize(S, NULL, &qo, &Q8, &e) != UNIQL_OK) goto done;
    memset(&d, 0, sizeof d);
    d.config_json = cfg;
    d.config_len = strlen(cfg);
    d.n_rates = 2;
    d.rates = rates;
    d.kept = kept;
    d.block_influence = bi;
    d.lsaq_importance = lsaq;
    d.upgrade = Q8;
    d.upgrade_layers = upl;
    if (uniql_pack_model(Q, &d, NULL, &img, &size, &e) != UNIQL_OK || uniql_packed_open(img, size, 0, NULL, &pk, &e) != UNIQL_OK)
        goto done;
    ok = uniql_packed_model_load(&pk, &kept[L], NULL, NULL, &P, &e) == UNIQL_OK;   /* the 40 % table loads */
    uniql_model_free(P);
    uniql_packed_free(&pk);
    if (ok) {
        snprintf(name, sizeof name, "%s_packed.uniql", arch);
        ok = write_file(out, "uniql", name, img, size, NULL, 0);
    }
done:
    if (!ok) fprintf(stderr, "gen_seeds: packing the tiny %s model failed: %s\n", arch, e.message);
    uniql_free_buffer(img, NULL);
    uniql_model_free(Q8);
    uniql_model_free(Q);
    uniql_model_free(S);
    uniql_calib_free(cb);
    return ok;
}

static const char *const json_extra[] = {
    "{}", "[]", "[1, -0, 0.5e-3, 1E+2, -12.75e10, 1.7976931348623157e308, 5e-324]",
    "{\"a\\u0000b\": \"\\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
    "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]", "{\"a\":null,\"b\":true,\"c\":false,\"d\":[NaN,Infinity,-Infinity]}",
    "{\"__float__\": \"Infinity\"}", NULL
};

int main(int argc, char **argv)
{
    static const char *const archs[] = { "llama", "qwen2", "mamba2", "nemotron_h", "bamba" };
    static const char *const ref_dtype[] = { "BF16", "F16", "F32", "BF16", "BF16" };
    const char *ref, *out;
    int a, k, n_written = 0;
    char path[1024], name[128];
    if (argc != 3) { fprintf(stderr, "usage: %s tests/data/ref OUTDIR\n", argv[0]); return 2; }
    ref = argv[1];
    out = argv[2];
    for (k = 0; json_extra[k]; k++) {
        snprintf(name, sizeof name, "extra_%d.json", k);
        n_written += write_file(out, "json", name, json_extra[k], strlen(json_extra[k]), NULL, 0);
    }
    for (a = 0; a < 5; a++) {
        size_t n;
        char *cfg_text;
        unsigned char *raw;
        uniql_config c;
        uniql_error e;
        int d, f;
        /* ref config.json, index, safetensors headers */
        snprintf(path, sizeof path, "%s/%s/config.json", ref, archs[a]);
        raw = tutil_read_file(path, &n);
        if (!raw) { fprintf(stderr, "gen_seeds: cannot read %s\n", path); return 1; }
        snprintf(name, sizeof name, "%s_config.json", archs[a]);
        n_written += write_file(out, "json", name, raw, n, NULL, 0);
        n_written += write_file(out, "config", name, raw, n, NULL, 0);
        cfg_text = (char *)raw;
        snprintf(path, sizeof path, "%s/%s/model.safetensors.index.json", ref, archs[a]);
        if ((raw = tutil_read_file(path, &n)) != NULL) {
            snprintf(name, sizeof name, "%s_index.json", archs[a]);
            n_written += write_file(out, "json", name, raw, n, NULL, 0);
            free(raw);
        }
        for (f = 0; f <= 3; f++) {
            uint64_t hl = 0;
            int i;
            if (f == 0) snprintf(path, sizeof path, "%s/%s/model.safetensors", ref, archs[a]);
            else snprintf(path, sizeof path, "%s/%s/model-%05d-of-00003.safetensors", ref, archs[a], f);
            if (!(raw = tutil_read_file(path, &n))) continue;
            for (i = 0; i < 8 && (size_t)i < n; i++) hl |= (uint64_t)raw[i] << (8 * i);
            if (n >= 8 && hl <= n - 8) {
                snprintf(name, sizeof name, "%s_header%d.json", archs[a], f);
                n_written += write_file(out, "json", name, raw + 8, (size_t)hl, NULL, 0);
            }
            free(raw);
        }
        /* tiny variant of the same config */
        cfg_text = set_num(cfg_text, "hidden_size", 8);
        cfg_text = set_num(cfg_text, "vocab_size", 16);
        cfg_text = set_num(cfg_text, "intermediate_size", 12);
        cfg_text = set_num(cfg_text, "num_attention_heads", 2);
        cfg_text = set_num(cfg_text, "num_key_value_heads", 1);
        if (a == 2) {
            cfg_text = set_num(cfg_text, "num_heads", 4);
            cfg_text = set_num(cfg_text, "head_dim", 4);
            cfg_text = set_num(cfg_text, "state_size", 4);
            cfg_text = set_num(cfg_text, "n_groups", 2);
        } else if (a == 4) {   /* Bamba: head_dim 8 / 2 = 4 (2 rotary, 2 pass-through), d_inner 16 = 4 x 4 */
            cfg_text = set_num(cfg_text, "mamba_n_heads", 4);
            cfg_text = set_num(cfg_text, "mamba_d_head", 4);
            cfg_text = set_num(cfg_text, "mamba_d_state", 4);
            cfg_text = set_num(cfg_text, "mamba_n_groups", 2);
        } else {
            cfg_text = set_num(cfg_text, "head_dim", 4);
            cfg_text = set_num(cfg_text, "mamba_num_heads", 4);
            cfg_text = set_num(cfg_text, "mamba_head_dim", 4);
            cfg_text = set_num(cfg_text, "ssm_state_size", 4);
            cfg_text = set_num(cfg_text, "n_groups", 2);
        }
        if (a != 3 && a != 4) cfg_text = set_num(cfg_text, "num_hidden_layers", 1);   /* hybrids keep their pattern */
        snprintf(name, sizeof name, "%s_tiny.json", archs[a]);
        n_written += write_file(out, "config", name, cfg_text, strlen(cfg_text), NULL, 0);
        memset(&e, 0, sizeof e);
        if (uniql_config_parse(cfg_text, strlen(cfg_text), NULL, &c, &e) != UNIQL_OK) {
            fprintf(stderr, "gen_seeds: tiny %s config does not parse: %s\n", archs[a], e.message);
            return 1;
        }
        for (d = 0; d < 2; d++) {
            twriter w;
            unsigned char *st, len[2];
            size_t st_size, cl = strlen(cfg_text);
            uniql_file_view fv;
            uniql_model *m = NULL;
            uniql_state *s = NULL;
            int toks[3] = { 1, 5, 9 };
            float logits[3 * 16];
            memset(&w, 0, sizeof w);
            w.dtype = d == 0 ? ref_dtype[a] : "F32";
            if (d == 1 && !strcmp(ref_dtype[a], "F32")) w.dtype = "F16";
            w.rng.s = 1234u + 17u * (unsigned)a + (unsigned)d;
            model_tensors(&w, &c);
            st = st_bytes(&w, &st_size);
            fv.name = "model.safetensors";
            fv.data = st;
            fv.size = st_size;
            if (uniql_model_load(cfg_text, cl, NULL, 0, &fv, 1, NULL, &m, &e) != UNIQL_OK ||
                uniql_state_create(m, 8, 4, NULL, &s) != UNIQL_OK || uniql_forward(m, s, toks, 3, logits, 1, NULL) != UNIQL_OK) {
                fprintf(stderr, "gen_seeds: tiny %s %s model does not run: %s\n", archs[a], w.dtype, e.message);
                return 1;
            }
            uniql_state_free(s);
            if (d == 0) {
                if (!write_packed_model(out, archs[a], cfg_text, m)) return 1;
                n_written++;
            }
            uniql_model_free(m);
            snprintf(name, sizeof name, "%s_%s.safetensors", archs[a], w.dtype);
            n_written += write_file(out, "safetensors", name, st, st_size, NULL, 0);
            snprintf(name, sizeof name, "%s_%s.bin", archs[a], w.dtype);
            len[0] = (unsigned char)(cl & 255);
            len[1] = (unsigned char)(cl >> 8);
            {
                unsigned char *both = (unsigned char *)malloc(2 + cl + st_size);
                memcpy(both, len, 2);
                memcpy(both + 2, cfg_text, cl);
                memcpy(both + 2 + cl, st, st_size);
                n_written += write_file(out, "model", name, both, 2 + cl + st_size, NULL, 0);
                free(both);
            }
            if (d == 0) {
                if (!write_uniql(out, archs[a], 0, cfg_text, st, st_size) || !write_uniql(out, archs[a], 1, cfg_text, st, st_size))
                    return 1;
                n_written += 2;
            }
            free(st);
        }
        free(cfg_text);
    }
    printf("gen_seeds: %d seed files in %s/{json,config,safetensors,model,uniql}\n", n_written, out);
    return 0;
}
