/* fuzz_drive.h - the drivers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c), the
   corpus distiller (tests/fuzz/distill.c) and the bad-input replay of `make test`
   (tests/test_bad.c). One driver per entry point that reads untrusted bytes:

     fz_json         uniql_json_parse (strict and with UNIQL_JSON_ALLOW_NONFINITE)
     fz_config       uniql_config_parse
     fz_safetensors  uniql_safetensors_parse
     fz_model        uniql_config_parse + uniql_model_load + a few forward tokens
     fz_order        uniql_order_parse (recovery order files, API 9b) + a re-parse against
                     the fingerprint's own config
     fz_uniql        uniql_packed_open (.uniql container) + every tensor view through
                     uniql_dequantize_row and uniql_matmul
     fz_tokenizer    uniql_tokenizer_load (tokenizer.json) + encode / decode / streaming

   Each returns the library's result code and checks what must hold whatever the bytes:
     - the code is one that the API section documents for that function;
     - an error fills uniql_error (same code, non-empty message);
     - a success is self-consistent (JSON: counts, NUL-terminated strings, no duplicate
       keys, and a print/re-parse round trip gives the same tree; safetensors: every
       tensor inside the buffer, sizes = shape x dtype, sorted, no gaps; config: sizes that
       fit together; model: prefill of 4 tokens == 4 single-token decodes bit for bit,
       and logits finite unless forward said UNIQL_ERR_NONFINITE).
   A violated property calls FZ_FAIL(fmt, ...): abort() in the fuzzers (libFuzzer then
   saves the input), a recorded failure in test_bad.c (define FZ_FAIL before including).
   The memory errors themselves are the sanitizers' job.

   Model input layout (fz_model): u16 little-endian n, then n bytes of config.json, then
   one safetensors file (the rest). tests/fuzz/gen_seeds.c writes such files. */
#ifndef FUZZ_DRIVE_H
#define FUZZ_DRIVE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "../../uniql.h"

#if defined(__GNUC__) || defined(__clang__)
#define FZ_UNUSED __attribute__((unused))
#else
#define FZ_UNUSED
#endif

#ifndef FZ_FAIL
#define FZ_FAIL(...) do { fprintf(stderr, "fuzz property violated: "); fprintf(stderr, __VA_ARGS__); \
                          fprintf(stderr, "\n"); abort(); } while (0)
#endif

/* documented result codes of each entry point (API 5 / API 6 of uniql.h) */
static const uniql_result fz_codes_json[] = {
    UNIQL_OK, UNIQL_ERR_PARSE, UNIQL_ERR_RANGE, UNIQL_ERR_OVERFLOW, UNIQL_ERR_OUT_OF_MEMORY, (uniql_result)1
};
static const uniql_result fz_codes_config[] = {
    UNIQL_OK, UNIQL_ERR_PARSE, UNIQL_ERR_RANGE, UNIQL_ERR_OVERFLOW, UNIQL_ERR_OUT_OF_MEMORY, UNIQL_ERR_MISSING,
    UNIQL_ERR_FORMAT, UNIQL_ERR_SHAPE, UNIQL_ERR_UNSUPPORTED, (uniql_result)1
};
static const uniql_result fz_codes_safetensors[] = {
    UNIQL_OK, UNIQL_ERR_TRUNCATED, UNIQL_ERR_FORMAT, UNIQL_ERR_PARSE, UNIQL_ERR_RANGE, UNIQL_ERR_DTYPE,
    UNIQL_ERR_OVERFLOW, UNIQL_ERR_OFFSETS, UNIQL_ERR_OUT_OF_MEMORY, UNIQL_ERR_UNSUPPORTED, (uniql_result)1
};
static const uniql_result fz_codes_order[] = {
    UNIQL_OK, UNIQL_ERR_FORMAT, UNIQL_ERR_PARSE, UNIQL_ERR_RANGE, UNIQL_ERR_OVERFLOW, UNIQL_ERR_VERSION, UNIQL_ERR_MISSING,
    UNIQL_ERR_SHAPE, UNIQL_ERR_OUT_OF_MEMORY, (uniql_result)1
};
static const uniql_result fz_codes_uniql[] = {
    UNIQL_OK, UNIQL_ERR_TRUNCATED, UNIQL_ERR_BAD_MAGIC, UNIQL_ERR_VERSION, UNIQL_ERR_FORMAT, UNIQL_ERR_OVERFLOW,
    UNIQL_ERR_CHECKSUM, UNIQL_ERR_PARSE, UNIQL_ERR_RANGE, UNIQL_ERR_DTYPE, UNIQL_ERR_SHAPE, UNIQL_ERR_OFFSETS,
    UNIQL_ERR_OUT_OF_MEMORY, (uniql_result)1
};
/* uniql_packed_model_load: uniql_config_parse's codes + MISSING, SHAPE, UNSUPPORTED, OOM */
static const uniql_result fz_codes_packed_load[] = {
    UNIQL_OK, UNIQL_ERR_PARSE, UNIQL_ERR_RANGE, UNIQL_ERR_OVERFLOW, UNIQL_ERR_OUT_OF_MEMORY, UNIQL_ERR_MISSING,
    UNIQL_ERR_FORMAT, UNIQL_ERR_SHAPE, UNIQL_ERR_UNSUPPORTED, UNIQL_ERR_NONFINITE, (uniql_result)1
};
static const uniql_result fz_codes_model_load[] = {
    UNIQL_OK, UNIQL_ERR_PARSE, UNIQL_ERR_RANGE, UNIQL_ERR_OVERFLOW, UNIQL_ERR_OUT_OF_MEMORY, UNIQL_ERR_MISSING,
    UNIQL_ERR_FORMAT, UNIQL_ERR_SHAPE, UNIQL_ERR_UNSUPPORTED, UNIQL_ERR_TRUNCATED, UNIQL_ERR_DTYPE,
    UNIQL_ERR_OFFSETS, UNIQL_ERR_NONFINITE, (uniql_result)1
};

FZ_UNUSED static int fz_code_in(uniql_result r, const uniql_result *codes)
{
    for (; *codes != (uniql_result)1; codes++)
        if (*codes == r) return 1;
    return 0;
}

/* the code is documented, and an error came with its report */
FZ_UNUSED static int fz_check_result(const char *what, uniql_result r, const uniql_result *codes, const uniql_error *e)
{
    if (!fz_code_in(r, codes)) { FZ_FAIL("%s returned undocumented code %d (%s)", what, (int)r, uniql_result_string(r)); return 0; }
    if (r != UNIQL_OK && (e->code != r || !e->message[0])) {
        FZ_FAIL("%s returned %d but uniql_error holds %d '%s'", what, (int)r, (int)e->code, e->message);
        return 0;
    }
    return 1;
}

/* ---- JSON ---- */

typedef struct fz_buf {
    char *p;
    size_t n, cap;
    int oom;
} fz_buf;

FZ_UNUSED static void fz_put(fz_buf *b, const char *s, size_t k)
{
    if (b->oom) return;
    if (b->n + k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *q;
        while (cap < b->n + k + 1) cap *= 2;
        q = (char *)realloc(b->p, cap);
        if (!q) { b->oom = 1; return; }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, k);
    b->n += k;
    b->p[b->n] = 0;
}

FZ_UNUSED static void fz_put_str(fz_buf *b, const char *s, size_t len)
{
    size_t i;
    fz_put(b, "\"", 1);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; fz_put(b, esc, 2); }
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); fz_put(b, esc, 6); }
        else fz_put(b, (const char *)&c, 1);
    }
    fz_put(b, "\"", 1);
}

/* print a parsed value back as JSON (numbers with 17 significant digits: exact) */
FZ_UNUSED static void fz_print(fz_buf *b, const uniql_json *v)
{
    char num[40];
    uint32_t i;
    switch (v->type) {
    case UNIQL_JSON_NULL: fz_put(b, "null", 4); break;
    case UNIQL_JSON_TRUE: fz_put(b, "true", 4); break;
    case UNIQL_JSON_FALSE: fz_put(b, "false", 5); break;
    case UNIQL_JSON_NUMBER:
        if (isnan(v->u.number)) fz_put(b, "NaN", 3);
        else if (isinf(v->u.number)) { if (v->u.number < 0) fz_put(b, "-Infinity", 9); else fz_put(b, "Infinity", 8); }
        else { snprintf(num, sizeof num, "%.17g", v->u.number); fz_put(b, num, strlen(num)); }
        break;
    case UNIQL_JSON_STRING: fz_put_str(b, v->u.str, v->len); break;
    case UNIQL_JSON_ARRAY:
        fz_put(b, "[", 1);
        for (i = 0; i < v->len; i++) {
            if (i) fz_put(b, ",", 1);
            fz_print(b, &v->u.child[i]);
        }
        fz_put(b, "]", 1);
        break;
    case UNIQL_JSON_OBJECT:
        fz_put(b, "{", 1);
        for (i = 0; i < v->len; i++) {
            const uniql_json *k = &v->u.child[2 * (size_t)i];
            if (i) fz_put(b, ",", 1);
            fz_put_str(b, k->u.str, k->len);
            fz_put(b, ":", 1);
            fz_print(b, k + 1);
        }
        fz_put(b, "}", 1);
        break;
    }
}

/* structural invariants of one parsed value; returns 0 after FZ_FAIL */
FZ_UNUSED static int fz_json_valid(const uniql_json *v, int depth)
{
    uint32_t i, j;
    if (depth > UNIQL_JSON_MAX_DEPTH + 1) { FZ_FAIL("json: tree deeper than UNIQL_JSON_MAX_DEPTH"); return 0; }
    if ((int)v->type < (int)UNIQL_JSON_NULL || (int)v->type > (int)UNIQL_JSON_OBJECT) { FZ_FAIL("json: bad type %d", (int)v->type); return 0; }
    if (v->type == UNIQL_JSON_STRING && (!v->u.str || v->u.str[v->len] != 0)) { FZ_FAIL("json: string not NUL-terminated at len"); return 0; }
    if (v->type != UNIQL_JSON_ARRAY && v->type != UNIQL_JSON_OBJECT) return 1;
    if ((v->len == 0) != (v->u.child == NULL)) { FZ_FAIL("json: %u children but child %p", (unsigned)v->len, (const void *)v->u.child); return 0; }
    for (i = 0; i < v->len; i++) {
        if (v->type == UNIQL_JSON_OBJECT) {
            const uniql_json *k = &v->u.child[2 * (size_t)i], *key = NULL;
            if (k->type != UNIQL_JSON_STRING || !k->u.str || k->u.str[k->len] != 0) { FZ_FAIL("json: member key is not a NUL-terminated string"); return 0; }
            if (uniql_json_member(v, (int)i, &key) != k + 1 || key != k) { FZ_FAIL("json: uniql_json_member(%u) disagrees", (unsigned)i); return 0; }
            /* a key without an embedded NUL is found by name (keys are unique) */
            if (strlen(k->u.str) == k->len && uniql_json_get(v, k->u.str) != k + 1) { FZ_FAIL("json: uniql_json_get('%.40s') misses", k->u.str); return 0; }
            for (j = i + 1; j < v->len; j++) {
                const uniql_json *d = &v->u.child[2 * (size_t)j];
                if (d->len == k->len && !memcmp(d->u.str, k->u.str, k->len)) { FZ_FAIL("json: duplicate key accepted"); return 0; }
            }
            if (!fz_json_valid(k + 1, depth + 1)) return 0;
        } else {
            if (uniql_json_at(v, (int)i) != &v->u.child[i]) { FZ_FAIL("json: uniql_json_at(%u) disagrees", (unsigned)i); return 0; }
            if (!fz_json_valid(&v->u.child[i], depth + 1)) return 0;
        }
    }
    if (v->type == UNIQL_JSON_ARRAY && uniql_json_at(v, (int)v->len) != NULL) { FZ_FAIL("json: uniql_json_at past the end"); return 0; }
    if (v->type == UNIQL_JSON_OBJECT && uniql_json_member(v, (int)v->len, NULL) != NULL) { FZ_FAIL("json: uniql_json_member past the end"); return 0; }
    return 1;
}

FZ_UNUSED static int fz_json_equal(const uniql_json *a, const uniql_json *b)
{
    uint32_t i, n;
    if (a->type != b->type || a->len != b->len) return 0;
    switch (a->type) {
    case UNIQL_JSON_NUMBER:
        if (isnan(a->u.number)) return isnan(b->u.number);
        return a->u.number == b->u.number && signbit(a->u.number) == signbit(b->u.number);
    case UNIQL_JSON_STRING: return !memcmp(a->u.str, b->u.str, a->len);
    case UNIQL_JSON_ARRAY: case UNIQL_JSON_OBJECT:
        n = a->type == UNIQL_JSON_OBJECT ? 2 * a->len : a->len;
        for (i = 0; i < n; i++)
            if (!fz_json_equal(&a->u.child[i], &b->u.child[i])) return 0;
        return 1;
    default: return 1;
    }
}

FZ_UNUSED static uniql_result fz_json(const unsigned char *data, size_t size)
{
    uniql_json_doc doc, doc2, doc3;
    uniql_error e;
    uniql_result r, r2, r3;
    memset(&e, 0, sizeof e);
    r = uniql_json_parse((const char *)data, size, 0, NULL, &doc, &e);
    if (!fz_check_result("uniql_json_parse", r, fz_codes_json, &e)) return r;
    /* the extension only adds literals: whatever strict mode accepts it accepts too */
    memset(&e, 0, sizeof e);
    r2 = uniql_json_parse((const char *)data, size, UNIQL_JSON_ALLOW_NONFINITE, NULL, &doc2, &e);
    if (!fz_check_result("uniql_json_parse(ALLOW_NONFINITE)", r2, fz_codes_json, &e)) { uniql_json_free(&doc); return r; }
    if (r == UNIQL_OK && r2 != UNIQL_OK) FZ_FAIL("json: strict parse accepts, ALLOW_NONFINITE rejects (%d)", (int)r2);
    if (r == UNIQL_OK && r2 == UNIQL_OK && !fz_json_equal(doc.root, doc2.root)) FZ_FAIL("json: the two modes give different trees");
    if (r2 == UNIQL_OK && fz_json_valid(doc2.root, 0)) {
        fz_buf b;
        memset(&b, 0, sizeof b);
        fz_print(&b, doc2.root);
        if (!b.oom) {
            memset(&e, 0, sizeof e);
            r3 = uniql_json_parse(b.p, b.n, UNIQL_JSON_ALLOW_NONFINITE, NULL, &doc3, &e);
            if (r3 != UNIQL_OK) FZ_FAIL("json: printed document does not re-parse (%d: %s)", (int)r3, e.message);
            else if (!fz_json_equal(doc2.root, doc3.root)) FZ_FAIL("json: print/re-parse round trip changed the tree");
            uniql_json_free(&doc3);
        }
        free(b.p);
    }
    uniql_json_free(&doc);
    uniql_json_free(&doc2);
    return r;
}

/* ---- config.json ---- */

FZ_UNUSED static uniql_result fz_config(const unsigned char *data, size_t size)
{
    uniql_config c;
    uniql_error e;
    uniql_result r;
    int l, attn = 0, mamba = 0;
    memset(&e, 0, sizeof e);
    r = uniql_config_parse((const char *)data, size, NULL, &c, &e);
    if (!fz_check_result("uniql_config_parse", r, fz_codes_config, &e) || r != UNIQL_OK) return r;
    if (c.arch < UNIQL_ARCH_LLAMA || c.arch > UNIQL_ARCH_NEMOTRON_H) FZ_FAIL("config: arch %d", (int)c.arch);
    if (c.n_layers < 1 || c.n_layers > UNIQL_MAX_LAYERS || c.vocab_size < 1 || c.hidden_size < 1)
        FZ_FAIL("config: n_layers %d vocab %d hidden %d", c.n_layers, c.vocab_size, c.hidden_size);
    if (!(c.norm_eps > 0.0f) || !isfinite(c.norm_eps)) FZ_FAIL("config: norm_eps %g accepted", (double)c.norm_eps);
    for (l = 0; l < c.n_layers && l < UNIQL_MAX_LAYERS; l++) {
        if (c.block[l] > UNIQL_BLOCK_MLP) FZ_FAIL("config: block[%d] = %d", l, c.block[l]);
        attn |= c.block[l] == UNIQL_BLOCK_DECODER || c.block[l] == UNIQL_BLOCK_ATTENTION;
        mamba |= c.block[l] == UNIQL_BLOCK_MAMBA;
        if (c.block[l] != UNIQL_BLOCK_MAMBA && c.intermediate_size < 1 && c.block[l] != UNIQL_BLOCK_ATTENTION)
            FZ_FAIL("config: intermediate_size %d", c.intermediate_size);
    }
    if (attn) {
        if (c.n_heads < 1 || c.n_kv_heads < 1 || c.n_heads % c.n_kv_heads || c.head_dim < 1)
            FZ_FAIL("config: heads %d kv %d head_dim %d", c.n_heads, c.n_kv_heads, c.head_dim);
        if (c.rope_type != UNIQL_ROPE_NONE && (c.head_dim % 2 || !(c.rope_theta > 1.0) || !isfinite(c.rope_theta)))
            FZ_FAIL("config: RoPE with head_dim %d theta %g", c.head_dim, c.rope_theta);
        if ((c.rope_type == UNIQL_ROPE_LINEAR || c.rope_type == UNIQL_ROPE_LLAMA3) && (!(c.rope_factor > 0) || !isfinite(c.rope_factor)))
            FZ_FAIL("config: RoPE factor %g", c.rope_factor);
    }
    if (mamba) {
        if (c.ssm_heads < 1 || c.ssm_groups < 1 || c.ssm_heads % c.ssm_groups || c.ssm_head_dim < 1 || c.ssm_state < 1 ||
            c.conv_kernel < 1 || c.gated_norm_groups < 1 || (c.ssm_heads * c.ssm_head_dim) % c.gated_norm_groups)
            FZ_FAIL("config: Mamba sizes heads %d groups %d head_dim %d state %d conv %d norm groups %d", c.ssm_heads,
                    c.ssm_groups, c.ssm_head_dim, c.ssm_state, c.conv_kernel, c.gated_norm_groups);
    }
    return r;
}

/* ---- safetensors ---- */

FZ_UNUSED static uniql_result fz_safetensors(const unsigned char *data, size_t size)
{
    uniql_safetensors st;
    uniql_error e;
    uniql_result r;
    int i, d;
    size_t total = 0;
    memset(&e, 0, sizeof e);
    r = uniql_safetensors_parse(data, size, NULL, &st, &e);
    if (!fz_check_result("uniql_safetensors_parse", r, fz_codes_safetensors, &e) || r != UNIQL_OK) return r;
    if (st.data < data || st.data + st.data_size != data + size) FZ_FAIL("safetensors: data area not at the end of the file");
    for (i = 0; i < st.n_tensors; i++) {
        const uniql_tensor *t = &st.tensors[i];
        size_t count = t->dtype == UNIQL_DTYPE_F32 ? 4 : 2;
        if (t->dtype != UNIQL_DTYPE_F32 && t->dtype != UNIQL_DTYPE_F16 && t->dtype != UNIQL_DTYPE_BF16) FZ_FAIL("safetensors: dtype %d", (int)t->dtype);
        if (t->ndim < 0 || t->ndim > UNIQL_MAX_DIMS) { FZ_FAIL("safetensors: ndim %d", t->ndim); break; }
        for (d = 0; d < t->ndim; d++) count *= (size_t)t->shape[d];   /* validated: no overflow */
        if (count != t->nbytes) FZ_FAIL("safetensors: '%s' nbytes %lu != shape x dtype %lu", t->name, (unsigned long)t->nbytes, (unsigned long)count);
        if ((const unsigned char *)t->data < st.data || (const unsigned char *)t->data + t->nbytes > st.data + st.data_size)
            FZ_FAIL("safetensors: '%s' outside the data area", t->name);
        if (i > 0 && strcmp(st.tensors[i - 1].name, t->name) >= 0) FZ_FAIL("safetensors: names not sorted/unique at '%s'", t->name);
        if (uniql_safetensors_find(&st, t->name) != t) FZ_FAIL("safetensors: find('%s') misses", t->name);
        total += t->nbytes;
    }
    if (total != st.data_size) FZ_FAIL("safetensors: tensors cover %lu of %lu data bytes", (unsigned long)total, (unsigned long)st.data_size);
    uniql_safetensors_free(&st);
    return r;
}

/* ---- whole model ---- */

#define FZ_MODEL_TOKENS 4

FZ_UNUSED static int fz_all_finite(const float *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* The scalar kernels compute a token the same way in a batch and alone: bit-equal. SIMD
   GEMM and GEMV kernels may sum in another order: then a relative tolerance. */
FZ_UNUSED static int fz_same_logits(const float *a, const float *b, size_t n)
{
#ifdef UNIQL_NO_SIMD
    return memcmp(a, b, sizeof(float) * n) == 0;
#else
    size_t i;
    double mx = 0;
    for (i = 0; i < n; i++) if (fabs(a[i]) > mx) mx = fabs(a[i]);
    for (i = 0; i < n; i++) if (!(fabs((double)a[i] - b[i]) <= 1e-4 * (1.0 + mx))) return 0;
    return 1;
#endif
}

/* Returns the load code, or the forward code when the model loaded (OK / NONFINITE). */
FZ_UNUSED static uniql_result fz_model(const unsigned char *data, size_t size)
{
    uniql_file_view fv;
    uniql_model *m = NULL;
    uniql_state *s1 = NULL, *s2 = NULL;
    uniql_error e;
    uniql_result r, rp, rd = UNIQL_OK;
    size_t clen, V;
    int tokens[FZ_MODEL_TOKENS], t;
    float *lp = NULL, *ld = NULL;
    if (size < 2) return UNIQL_ERR_TRUNCATED;
    clen = (size_t)data[0] | (size_t)data[1] << 8;
    if (clen > size - 2) clen = size - 2;
    fv.name = "model.safetensors";
    fv.data = data + 2 + clen;
    fv.size = size - 2 - clen;
    memset(&e, 0, sizeof e);
    r = uniql_model_load((const char *)data + 2, clen, NULL, 0, &fv, 1, NULL, &m, &e);
    if (!fz_check_result("uniql_model_load", r, fz_codes_model_load, &e) || r != UNIQL_OK) return r;
    if (uniql_model_check(m, NULL) != UNIQL_OK) FZ_FAIL("model: loaded model fails uniql_model_check");
    V = (size_t)m->config.vocab_size;
    /* prefill in chunks of 3 (so 3 + 1) vs. one token at a time on a second state */
    if (uniql_state_create(m, 8, 3, NULL, &s1) != UNIQL_OK || uniql_state_create(m, 8, 1, NULL, &s2) != UNIQL_OK) {
        FZ_FAIL("model: uniql_state_create failed on a loaded tiny model");
        goto done;
    }
    lp = (float *)malloc(sizeof(float) * V * FZ_MODEL_TOKENS);
    ld = (float *)malloc(sizeof(float) * V * FZ_MODEL_TOKENS);
    if (!lp || !ld) goto done;
    for (t = 0; t < FZ_MODEL_TOKENS; t++) tokens[t] = (int)((size_t)(t * 7 + 3 + (size > 2 ? data[size - 1] : 0)) % V);
    rp = uniql_forward(m, s1, tokens, FZ_MODEL_TOKENS, lp, 1, NULL);
    for (t = 0; t < FZ_MODEL_TOKENS && rd == UNIQL_OK; t++) rd = uniql_forward(m, s2, tokens + t, 1, ld + (size_t)t * V, 0, NULL);
    if ((rp != UNIQL_OK && rp != UNIQL_ERR_NONFINITE) || (rd != UNIQL_OK && rd != UNIQL_ERR_NONFINITE)) {
        FZ_FAIL("model: forward returned %d / %d (only OK or NONFINITE expected)", (int)rp, (int)rd);
        goto done;
    }
    if (rp != rd) { FZ_FAIL("model: prefill says %d, token-by-token decode says %d", (int)rp, (int)rd); goto done; }
    if (rp == UNIQL_OK) {
        if (!fz_all_finite(lp, V * FZ_MODEL_TOKENS)) FZ_FAIL("model: forward returned OK with non-finite logits");
        else if (!fz_same_logits(lp, ld, V * FZ_MODEL_TOKENS)) FZ_FAIL("model: prefill logits != decode logits");
        else {
            int g = uniql_sample_greedy(lp, (int)V);
            if (g < 0 || (size_t)g >= V) FZ_FAIL("model: greedy token %d outside the vocab", g);
        }
    }
    r = rp;
done:
    free(lp);
    free(ld);
    uniql_state_free(s1);
    uniql_state_free(s2);
    uniql_model_free(m);
    return r;
}

/* a code that API 1 defines, with its report filled */
FZ_UNUSED static void fz_check_known(const char *what, uniql_result r, const uniql_error *e)
{
    if (r > 0 || r < UNIQL_ERR_BUDGET) FZ_FAIL("%s returned unknown code %d", what, (int)r);
    else if (r != UNIQL_OK && (e->code != r || !e->message[0])) FZ_FAIL("%s returned %d without a uniql_error report", what, (int)r);
}

/* The model layer of an opened .uniql: rate tables, kept sizes, the loader at the full size
   and at every stored rate (4-bit, and 8-bit where copies exist), 3 tokens of forward. */
FZ_UNUSED static void fz_packed_model(const uniql_packed *p)
{
    double rates[UNIQL_PACK_MAX_RATES];
    int n_rates = 0, ri, l, bits[UNIQL_MAX_LAYERS];
    uniql_error e;
    uniql_result r;
    memset(&e, 0, sizeof e);
    r = uniql_packed_rates(p, rates, UNIQL_PACK_MAX_RATES, &n_rates, &e);
    fz_check_known("uniql_packed_rates", r, &e);
    if (r != UNIQL_OK) n_rates = 0;
    if (n_rates > UNIQL_PACK_MAX_RATES) { FZ_FAIL("uniql: %d rate tables", n_rates); n_rates = 0; }
    for (l = 0; l < UNIQL_MAX_LAYERS; l++) bits[l] = 8;
    for (ri = -1; ri < n_rates && ri < 4; ri++) {
        static uniql_kept kept[UNIQL_MAX_LAYERS];   /* 10 KB: off the stack */
        int b;
        memset(&e, 0, sizeof e);
        r = uniql_packed_kept(p, ri, kept, &e);
        fz_check_known("uniql_packed_kept", r, &e);
        if (r != UNIQL_OK) continue;
        for (b = 0; b < 2; b++) {
            uniql_model *m = NULL;
            uniql_state *s = NULL;
            int toks[3] = { 0, 1, 2 }, t;
            float *logits;
            memset(&e, 0, sizeof e);
            r = uniql_packed_model_load(p, ri < 0 ? NULL : kept, b ? bits : NULL, NULL, &m, &e);
            if (!fz_check_result("uniql_packed_model_load", r, fz_codes_packed_load, &e) || r != UNIQL_OK) continue;
            if (uniql_model_check(m, NULL) != UNIQL_OK) FZ_FAIL("uniql: packed model fails uniql_model_check");
            {
                /* the selection's sizes come from the tensor table: they must be the loaded
                   model's weight bytes (rate search at exactly that budget; LSAQ plan with
                   an unlimited budget = every layer with a copy at 8 bits, as loaded here) */
                uint64_t want = uniql_model_weight_bytes(m), got = 0;
                int sel = -2, pb[UNIQL_MAX_LAYERS];
                uniql_result rs;
                memset(&e, 0, sizeof e);
                if (b == 0) {
                    rs = uniql_packed_select_rate(p, want, NULL, &sel, &got, &e);
                    fz_check_known("uniql_packed_select_rate", rs, &e);
                    if (rs == UNIQL_OK && (got > want || (sel == ri && got != want)))
                        FZ_FAIL("uniql: select_rate says %llu bytes at rate %d, the model at rate %d has %llu", (unsigned long long)got,
                                sel, ri, (unsigned long long)want);
                } else {
                    rs = uniql_packed_plan_bits(p, ri < 0 ? NULL : kept, "lsaq", UINT64_MAX, NULL, pb, &got, &e);
                    fz_check_known("uniql_packed_plan_bits", rs, &e);
                    if (rs == UNIQL_OK && got != want)
                        FZ_FAIL("uniql: plan_bits total %llu, the loaded model has %llu", (unsigned long long)got, (unsigned long long)want);
                }
            }
            for (t = 0; t < 3; t++) toks[t] %= m->config.vocab_size;
            logits = (float *)malloc(sizeof(float) * 3 * (size_t)m->config.vocab_size);
            if (logits && uniql_state_create(m, 4, 2, NULL, &s) == UNIQL_OK) {
                r = uniql_forward(m, s, toks, 3, logits, 1, NULL);
                if (r != UNIQL_OK && r != UNIQL_ERR_NONFINITE) FZ_FAIL("uniql: forward of a packed model returned %d", (int)r);
                if (r == UNIQL_OK && !fz_all_finite(logits, 3 * (size_t)m->config.vocab_size)) FZ_FAIL("uniql: OK with non-finite logits");
            }
            uniql_state_free(s);
            free(logits);
            uniql_model_free(m);
        }
    }
}

/* ---- .uniql container ----
   The bytes are copied into a malloc'd (16-byte aligned) buffer, as the API requires, and
   opened with UNIQL_PACK_SKIP_CHECKSUM (else nearly every mutation stops at the checksum)
   and again without it. Every tensor of an opened file must be a view the kernels can
   read whole: the sanitizers then check that the reader's size checks are right. */
/* ---- order files (recovery, API 9b) ---- */

/* What a parsed order must satisfy: sizes in range, rates ascending, rankings permutations,
   kept sizes inside the fingerprint, and the same result when parsed against the
   fingerprint's own config. */
FZ_UNUSED static uniql_result fz_order(const unsigned char *data, size_t size)
{
    uniql_order o, o2;
    uniql_error e;
    uniql_result r;
    int l, i, g, j, half;
    memset(&e, 0, sizeof e);
    r = uniql_order_parse((const char *)data, size, NULL, NULL, &o, &e);
    if (!fz_check_result("uniql_order_parse", r, fz_codes_order, &e)) return r;
    if (r != UNIQL_OK) {
        if (o.mem || o.n_layers || o.kept) FZ_FAIL("order: error %d left a filled uniql_order", (int)r);
        return r;
    }
    if (o.n_layers < 1 || o.n_layers > UNIQL_MAX_LAYERS || o.n_rates < 1 || o.n_rates > UNIQL_PACK_MAX_RATES || !o.kept ||
        !o.rope_pairs || !uniql_order_matches(&o, &o.config)) {
        FZ_FAIL("order: accepted with sizes out of range");
        uniql_order_free(&o);
        return r;
    }
    half = o.config.head_dim / 2;
    for (i = 0; i < o.n_rates; i++)
        if (!(o.rates[i] >= 0 && o.rates[i] < 1) || (i && !(o.rates[i] > o.rates[i - 1]))) FZ_FAIL("order: rates not ascending in [0, 1)");
    for (l = 0; l < o.n_layers; l++) {
        int attn = o.config.block[l] == UNIQL_BLOCK_DECODER || o.config.block[l] == UNIQL_BLOCK_ATTENTION;
        if ((o.rope_pairs[l] != NULL) != (attn && o.config.rope_type != UNIQL_ROPE_NONE)) FZ_FAIL("order: layer %d ranking presence", l);
        if (o.rope_pairs[l])
            for (g = 0; g < o.config.n_kv_heads; g++) {
                long long sum = 0;
                for (j = 0; j < half; j++) {
                    int v = o.rope_pairs[l][g * half + j];
                    if (v < 0 || v >= half) FZ_FAIL("order: layer %d ranking entry %d out of range", l, v);
                    sum += v;
                }
                if (sum != (long long)half * (half - 1) / 2) FZ_FAIL("order: layer %d ranking is not a permutation", l);
            }
        for (i = 0; i < o.n_rates; i++) {
            const uniql_kept *k = &o.kept[(size_t)i * o.n_layers + l];
            if (k->qk_dim > o.config.head_dim || k->v_dim > o.config.head_dim || k->d_int > o.config.intermediate_size ||
                k->head_dim > o.config.ssm_head_dim || k->state > o.config.ssm_state || k->qk_dim < 0 || k->v_dim < 0 ||
                k->d_int < 0 || k->head_dim < 0 || k->state < 0)
                FZ_FAIL("order: kept sizes of rate %d layer %d outside the fingerprint", i, l);
        }
    }
    memset(&e, 0, sizeof e);
    r = uniql_order_parse((const char *)data, size, &o.config, NULL, &o2, &e);
    if (r != UNIQL_OK) FZ_FAIL("order: refused (%d: %s) against its own fingerprint", (int)r, e.message);
    else if (o2.n_rates != o.n_rates || memcmp(o2.kept, o.kept, sizeof(uniql_kept) * (size_t)o.n_rates * o.n_layers))
        FZ_FAIL("order: a second parse differs");
    uniql_order_free(&o2);
    uniql_order_free(&o);
    return UNIQL_OK;
}

FZ_UNUSED static uniql_result fz_uniql(const unsigned char *data, size_t size)
{
    uniql_packed p, q;
    uniql_error e;
    uniql_result r, r0;
    unsigned char *buf = (unsigned char *)malloc(size ? size : 1);
    int i;
    if (!buf) return UNIQL_ERR_OUT_OF_MEMORY;
    if (size) memcpy(buf, data, size);
    memset(&e, 0, sizeof e);
    r = uniql_packed_open(buf, size, UNIQL_PACK_SKIP_CHECKSUM, NULL, &p, &e);
    if (!fz_check_result("uniql_packed_open", r, fz_codes_uniql, &e)) { free(buf); return r; }
    if (r == UNIQL_ERR_CHECKSUM) FZ_FAIL("uniql: CHECKSUM returned with UNIQL_PACK_SKIP_CHECKSUM");
    memset(&e, 0, sizeof e);
    r0 = uniql_packed_open(buf, size, 0, NULL, &q, &e);
    if (fz_check_result("uniql_packed_open(checksum)", r0, fz_codes_uniql, &e)) {
        if (r != UNIQL_OK && r0 == UNIQL_OK) FZ_FAIL("uniql: accepted with the checksum, refused without (%d)", (int)r);
        if (r == UNIQL_OK && r0 != UNIQL_OK && r0 != UNIQL_ERR_CHECKSUM) FZ_FAIL("uniql: checksum pass says %d", (int)r0);
        if (r0 == UNIQL_OK && q.checksum != uniql_pack_checksum(buf, size)) FZ_FAIL("uniql: stored checksum != computed");
    }
    uniql_packed_free(&q);
    if (r != UNIQL_OK) { free(buf); return r; }
    if (p.version != UNIQL_PACK_VERSION || !p.config_json || p.config_json[p.config_len] != 0 ||
        p.data_offset + p.data_size != (uint64_t)size || p.data != buf + p.data_offset)
        FZ_FAIL("uniql: header fields inconsistent");
    for (i = 0; i < p.n_tensors; i++) {
        const uniql_pack_tensor *t = &p.tensors[i];
        const uniql_matrix *m = &t->m;
        uint64_t db = 0, sb = 0, zb = 0;
        float *x, *y, *row;
        int S = m->transposed ? m->cols : m->rows;
        if (i > 0 && strcmp(p.tensors[i - 1].name, t->name) >= 0) FZ_FAIL("uniql: names not sorted/unique at '%s'", t->name);
        if (uniql_packed_find(&p, t->name) != t) FZ_FAIL("uniql: find('%s') misses", t->name);
        if (uniql_pack_tensor_bytes(m->dtype, m->rows, m->cols, m->transposed, m->group, &db, &sb, &zb) != UNIQL_OK ||
            db + sb + zb != t->nbytes || t->data_offset % UNIQL_PACK_ALIGN || t->data_offset + db > p.data_size ||
            (const unsigned char *)m->data != p.data + t->data_offset) {
            FZ_FAIL("uniql: tensor '%s' blobs inconsistent with its shape", t->name);
            continue;
        }
        if ((double)m->rows * m->cols > 4.0 * (double)size + 4096.0) { FZ_FAIL("uniql: '%s' larger than the file", t->name); continue; }
        (void)S;
        x = (float *)malloc(sizeof(float) * 2 * (size_t)m->cols);
        y = (float *)malloc(sizeof(float) * 2 * (size_t)m->rows);
        row = (float *)malloc(sizeof(float) * (size_t)m->cols);
        if (x && y && row) {
            int c;
            uniql_result rm;
            for (c = 0; c < 2 * m->cols; c++) x[c] = (float)((c % 7) - 3) * 0.25f;
            if ((rm = uniql_dequantize_row(m, 0, row)) != UNIQL_OK) FZ_FAIL("uniql: dequantize_row(0) of '%s': %d", t->name, (int)rm);
            if ((rm = uniql_dequantize_row(m, m->rows - 1, row)) != UNIQL_OK) FZ_FAIL("uniql: dequantize_row(last) of '%s': %d", t->name, (int)rm);
            if ((rm = uniql_matmul(m, x, 1, (size_t)m->cols, y, (size_t)m->rows)) != UNIQL_OK) FZ_FAIL("uniql: matmul of '%s': %d", t->name, (int)rm);
            if ((rm = uniql_matmul(m, x, 2, (size_t)m->cols, y, (size_t)m->rows)) != UNIQL_OK) FZ_FAIL("uniql: matmul n=2 of '%s': %d", t->name, (int)rm);
        }
        free(x);
        free(y);
        free(row);
    }
    fz_packed_model(&p);
    uniql_packed_free(&p);
    free(buf);
    return r;
}

/* ---- tokenizer.json (uniql.h API 5b) ----
   Input layout: u16 little-endian t, then t bytes of text, then tokenizer.json (the rest).
   Checked: load's code is documented with a filled error; after a load, encode of the
   text (both flags) gives ids inside the vocabulary or a documented error (PARSE only for
   invalid UTF-8), decode succeeds, and the streaming decode adds up to the whole decode. */
static const uniql_result fz_codes_tokenizer[] = {
    UNIQL_OK, UNIQL_ERR_PARSE, UNIQL_ERR_RANGE, UNIQL_ERR_OVERFLOW, UNIQL_ERR_OUT_OF_MEMORY, UNIQL_ERR_MISSING,
    UNIQL_ERR_FORMAT, UNIQL_ERR_UNSUPPORTED, (uniql_result)1
};
static const uniql_result fz_codes_tok_encode[] = {
    UNIQL_OK, UNIQL_ERR_PARSE, UNIQL_ERR_RANGE, UNIQL_ERR_OUT_OF_MEMORY, (uniql_result)1
};

FZ_UNUSED static uniql_result fz_tokenizer(const unsigned char *data, size_t size)
{
    uniql_tokenizer *t = NULL;
    uniql_tokenizer_info info;
    uniql_error e;
    uniql_result r;
    size_t tl, f;
    const char *text;
    if (size < 2) return UNIQL_ERR_TRUNCATED;
    tl = (size_t)data[0] | (size_t)data[1] << 8;
    if (tl > size - 2) tl = size - 2;
    text = (const char *)data + 2;
    memset(&e, 0, sizeof e);
    r = uniql_tokenizer_load((const char *)data + 2 + tl, size - 2 - tl, NULL, 0, NULL, &t, &e);
    if (!fz_check_result("tokenizer_load", r, fz_codes_tokenizer, &e)) return r;
    if (r != UNIQL_OK) { if (t) FZ_FAIL("tokenizer_load failed but returned a tokenizer"); return r; }
    uniql_tokenizer_get_info(t, &info);
    for (f = 0; f < 2; f++) {
        int *ids = NULL;
        size_t n = 0, i, dl = 0, sl = 0;
        char *dec = NULL;
        uniql_result re = uniql_tokenizer_encode(t, text, tl, f ? UNIQL_TOK_ADD_SPECIAL : 0, &ids, &n, &e);
        if (!fz_check_result("tokenizer_encode", re, fz_codes_tok_encode, &e)) break;
        if (re != UNIQL_OK) { if (ids) FZ_FAIL("tokenizer_encode failed but returned ids"); continue; }
        for (i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= info.vocab_size) { FZ_FAIL("tokenizer_encode: id %d outside [0, %d)", ids[i], info.vocab_size); break; }
        if (uniql_tokenizer_decode(t, ids, n, 0, &dec, &dl, &e) != UNIQL_OK) FZ_FAIL("tokenizer_decode of encoded ids: %s", e.message);
        else if (strlen(dec) > dl) FZ_FAIL("tokenizer_decode: length %lu beyond the NUL", (unsigned long)dl);
        else if (n <= 512) {
            uniql_decode_stream st;
            memset(&st, 0, sizeof st);
            for (i = 0; i < n; i++) {
                char *piece = NULL;
                size_t pl = 0;
                if (uniql_tokenizer_decode_next(t, &st, ids, i + 1, 0, i + 1 == n, &piece, &pl, &e) != UNIQL_OK) { FZ_FAIL("decode_next: %s", e.message); break; }
                if (sl + pl > dl || memcmp(dec + sl, piece, pl)) { FZ_FAIL("streaming decode diverges from decode after %lu ids", (unsigned long)i + 1); uniql_free_buffer(piece, NULL); break; }
                sl += pl;
                uniql_free_buffer(piece, NULL);
            }
            if (i == n && sl != dl) FZ_FAIL("streaming decode gave %lu of %lu bytes", (unsigned long)sl, (unsigned long)dl);
        }
        uniql_free_buffer(dec, NULL);
        uniql_free_buffer(ids, NULL);
    }
    uniql_tokenizer_free(t);
    return r;
}

#endif /* FUZZ_DRIVE_H */
