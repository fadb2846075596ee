/* test_parse.c - JSON, safetensors and config.json readers: known answers, and one test per
   malformed-input class, each built by corrupting a valid file in memory (a real
   save_pretrained file from tests/data/ref, or a small one written here). */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <float.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- JSON ---- */

static uniql_result parse_str(const char *s, unsigned flags, uniql_json_doc *doc, uniql_error *e)
{
    memset(e, 0, sizeof *e);
    return uniql_json_parse(s, strlen(s), flags, NULL, doc, e);
}

TEST json_parses_nested_document(void)
{
    const char *txt = " {\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\\/\"],\n"
                      "  \"b\": {\"c\": {}}, \"d\": [], \"\\u0041\": \"caf\xc3\xa9\"} ";
    static const unsigned char want[] = { 'x', 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, '\n', '/' };
    uniql_json_doc doc;
    uniql_error e;
    const uniql_json *a, *b, *s;
    ASSERT_OK(parse_str(txt, 0, &doc, &e));
    ASSERT_EQ(UNIQL_JSON_OBJECT, doc.root->type);
    ASSERT_EQ(4, doc.root->len);
    a = uniql_json_get(doc.root, "a");
    ASSERT(a && a->type == UNIQL_JSON_ARRAY && a->len == 6);
    ASSERT_IN_RANGE(1.0, uniql_json_at(a, 0)->u.number, 0);
    ASSERT_IN_RANGE(-2500.0, uniql_json_at(a, 1)->u.number, 0);
    ASSERT_EQ(UNIQL_JSON_TRUE, uniql_json_at(a, 2)->type);
    ASSERT_EQ(UNIQL_JSON_FALSE, uniql_json_at(a, 3)->type);
    ASSERT_EQ(UNIQL_JSON_NULL, uniql_json_at(a, 4)->type);
    s = uniql_json_at(a, 5);
    ASSERT_EQ(sizeof want, s->len);
    ASSERT_MEM_EQ(want, s->u.str, sizeof want);
    ASSERT_EQ(0, s->u.str[s->len]);
    ASSERT(uniql_json_at(a, 6) == NULL && uniql_json_at(a, -1) == NULL);
    b = uniql_json_get(doc.root, "b");
    ASSERT(b && uniql_json_get(b, "c") && uniql_json_get(b, "c")->type == UNIQL_JSON_OBJECT && uniql_json_get(b, "c")->len == 0);
    ASSERT(uniql_json_get(doc.root, "d")->len == 0 && uniql_json_get(doc.root, "d")->u.child == NULL);
    ASSERT_STR_EQ("caf\xc3\xa9", uniql_json_get(doc.root, "A")->u.str);   /* escaped key decoded */
    ASSERT(uniql_json_get(doc.root, "zz") == NULL && uniql_json_get(a, "a") == NULL);
    uniql_json_free(&doc);
    ASSERT(doc.mem == NULL);
    PASS();
}

TEST json_numbers_are_correctly_rounded(void)
{
    /* expected values are C literals: the compiler rounds them correctly */
    static const struct { const char *s; double v; } cases[] = {
        { "0", 0.0 }, { "0.1", 0.1 }, { "1e-5", 1e-5 }, { "1E+2", 100.0 }, { "-0.5", -0.5 },
        { "500000.0", 500000.0 }, { "1.7976931348623157e308", DBL_MAX }, { "2.2250738585072014e-308", DBL_MIN },
        { "4.9406564584124654e-324", 4.9406564584124654e-324 }, { "123456789012345678901234567890", 123456789012345678901234567890.0 },
        { "0.30000000000000004", 0.30000000000000004 }, { "9007199254740993", 9007199254740993.0 }, { "1e-400", 0.0 },
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uniql_json_doc doc;
        uniql_error e;
        ASSERT_OK(parse_str(cases[i].s, 0, &doc, &e));
        ASSERT_EQ(UNIQL_JSON_NUMBER, doc.root->type);
        ASSERT(doc.root->u.number == cases[i].v);
        uniql_json_free(&doc);
    }
    {   /* negative zero keeps its sign */
        uniql_json_doc doc;
        uniql_error e;
        ASSERT_OK(parse_str("-0", 0, &doc, &e));
        ASSERT(doc.root->u.number == 0.0 && signbit(doc.root->u.number));
        uniql_json_free(&doc);
    }
    PASS();
}

TEST json_rejects_malformed_text(void)
{
    static const struct { const char *s; int code; const char *msg; } bad[] = {
        { "", UNIQL_ERR_PARSE, "value expected" },
        { "   ", UNIQL_ERR_PARSE, "value expected" },
        { "[1,]", UNIQL_ERR_PARSE, "invalid value" },
        { "{\"a\":1,}", UNIQL_ERR_PARSE, "object key" },
        { "[1 2]", UNIQL_ERR_PARSE, "',' or ']'" },
        { "{\"a\" 1}", UNIQL_ERR_PARSE, "':' expected" },
        { "{1:2}", UNIQL_ERR_PARSE, "object key" },
        { "01", UNIQL_ERR_PARSE, "leading zero" },
        { "[-]", UNIQL_ERR_PARSE, "invalid value" },
        { "1.", UNIQL_ERR_PARSE, "after '.'" },
        { ".5", UNIQL_ERR_PARSE, "invalid value" },
        { "+1", UNIQL_ERR_PARSE, "invalid value" },
        { "1e", UNIQL_ERR_PARSE, "exponent" },
        { "1e999", UNIQL_ERR_RANGE, "double range" },
        { "-1e999", UNIQL_ERR_RANGE, "double range" },
        { "\"abc", UNIQL_ERR_PARSE, "unterminated" },
        { "\"a\x01\"", UNIQL_ERR_PARSE, "control character" },
        { "\"\\q\"", UNIQL_ERR_PARSE, "invalid escape" },
        { "\"\\u12G4\"", UNIQL_ERR_PARSE, "four hex" },
        { "\"\\ud83d\"", UNIQL_ERR_PARSE, "high surrogate" },
        { "\"\\ud83d\\u0041\"", UNIQL_ERR_PARSE, "high surrogate" },
        { "\"\\ude00\"", UNIQL_ERR_PARSE, "lone low surrogate" },
        { "\"\xc3\x28\"", UNIQL_ERR_PARSE, "UTF-8" },
        { "\"\xc0\xaf\"", UNIQL_ERR_PARSE, "UTF-8" },        /* overlong '/' */
        { "\"\xed\xa0\x80\"", UNIQL_ERR_PARSE, "UTF-8" },    /* encoded surrogate */
        { "\"\xf4\x90\x80\x80\"", UNIQL_ERR_PARSE, "UTF-8" },/* above U+10FFFF */
        { "\"\xe2\x82\"", UNIQL_ERR_PARSE, "UTF-8" },        /* cut sequence */
        { "\xef\xbb\xbf{}", UNIQL_ERR_PARSE, "byte order mark" },
        { "// c\n{}", UNIQL_ERR_PARSE, "invalid value" },
        { "{} x", UNIQL_ERR_PARSE, "after the JSON value" },
        { "[1] [2]", UNIQL_ERR_PARSE, "after the JSON value" },
        { "tru", UNIQL_ERR_PARSE, "invalid value" },
        { "NaN", UNIQL_ERR_PARSE, "invalid value" },
        { "[Infinity]", UNIQL_ERR_PARSE, "invalid value" },
        { "{\"a\":1,\"a\":2}", UNIQL_ERR_PARSE, "duplicate key \"a\"" },
        { "{\"k\":{\"x\":1},\"b\":{\"x\":2,\"x\":3}}", UNIQL_ERR_PARSE, "duplicate key \"x\"" },
        /* > 8 members takes the sorted path; the duplicate differs only in its escaping */
        { "{\"a1\":1,\"a2\":1,\"a3\":1,\"a4\":1,\"a5\":1,\"a6\":1,\"a7\":1,\"a8\":1,\"a9\":1,\"\\u0061\\u0035\":1}", UNIQL_ERR_PARSE, "duplicate key \"a5\"" },
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uniql_json_doc doc;
        uniql_error e;
        int r = parse_str(bad[i].s, 0, &doc, &e);
        if (r != bad[i].code || !strstr(e.message, bad[i].msg))
            UQ__FAILF("case %d (%s): got %d '%s', expected %d with '%s'", (int)i, bad[i].s, r, e.message, bad[i].code, bad[i].msg);
        ASSERT(doc.root == NULL && doc.mem == NULL);
    }
    PASS();
}

TEST json_nesting_limit_is_exact(void)
{
    char buf[2 * (UNIQL_JSON_MAX_DEPTH + 1) + 1];
    uniql_json_doc doc;
    uniql_error e;
    int d;
    for (d = 0; d < UNIQL_JSON_MAX_DEPTH; d++) { buf[d] = '['; buf[2 * UNIQL_JSON_MAX_DEPTH - 1 - d] = ']'; }
    buf[2 * UNIQL_JSON_MAX_DEPTH] = 0;
    ASSERT_OK(parse_str(buf, 0, &doc, &e));
    uniql_json_free(&doc);
    for (d = 0; d <= UNIQL_JSON_MAX_DEPTH; d++) { buf[d] = '['; buf[2 * UNIQL_JSON_MAX_DEPTH + 1 - d] = ']'; }
    buf[2 * UNIQL_JSON_MAX_DEPTH + 2] = 0;
    ASSERT_ERR(UNIQL_ERR_PARSE, parse_str(buf, 0, &doc, &e));
    ASSERT(strstr(e.message, "nesting") != NULL);
    PASS();
}

TEST json_nonfinite_only_with_flag(void)
{
    uniql_json_doc doc;
    uniql_error e;
    ASSERT_OK(parse_str("[NaN, Infinity, -Infinity, -1]", UNIQL_JSON_ALLOW_NONFINITE, &doc, &e));
    ASSERT(isnan(uniql_json_at(doc.root, 0)->u.number));
    ASSERT(isinf(uniql_json_at(doc.root, 1)->u.number) && uniql_json_at(doc.root, 1)->u.number > 0);
    ASSERT(isinf(uniql_json_at(doc.root, 2)->u.number) && uniql_json_at(doc.root, 2)->u.number < 0);
    ASSERT(uniql_json_at(doc.root, 3)->u.number == -1.0);
    uniql_json_free(&doc);
    ASSERT_ERR(UNIQL_ERR_PARSE, parse_str("[-Infinity]", 0, &doc, &e));
    PASS();
}

TEST json_keeps_embedded_nul(void)
{
    uniql_json_doc doc;
    uniql_error e;
    ASSERT_OK(parse_str("\"a\\u0000b\"", 0, &doc, &e));
    ASSERT_EQ(3, doc.root->len);
    ASSERT_EQ(1, strlen(doc.root->u.str));
    ASSERT_EQ('b', doc.root->u.str[2]);
    uniql_json_free(&doc);
    PASS();
}

/* --------------------------------------------------------- safetensors ---- */

typedef struct st_entry {
    char name[160];
    char dtype[16];
    int ndim;
    long long shape[UNIQL_MAX_DIMS];
    long long off[2];
} st_entry;

typedef struct st_desc {
    int n;
    st_entry e[256];
    const unsigned char *data;
    size_t data_size;
} st_desc;

/* Read a file's header into an editable description (the data area is referenced). */
static int st_read(const unsigned char *file, size_t size, st_desc *d)
{
    uint64_t hlen = 0;
    uniql_json_doc doc;
    const uniql_json *m, *key;
    int k, i;
    for (k = 0; k < 8; k++) hlen |= (uint64_t)file[k] << (8 * k);
    if (uniql_json_parse((const char *)file + 8, (size_t)hlen, 0, NULL, &doc, NULL)) return 0;
    memset(d, 0, sizeof *d);
    for (i = 0; (m = uniql_json_member(doc.root, i, &key)) != NULL; i++) {
        st_entry *e;
        const uniql_json *v;
        if (!strcmp(key->u.str, "__metadata__")) continue;
        e = &d->e[d->n++];
        snprintf(e->name, sizeof e->name, "%s", key->u.str);
        snprintf(e->dtype, sizeof e->dtype, "%s", uniql_json_get(m, "dtype")->u.str);
        e->ndim = (int)uniql_json_get(m, "shape")->len;
        for (k = 0; (v = uniql_json_at(uniql_json_get(m, "shape"), k)) != NULL; k++) e->shape[k] = (long long)v->u.number;
        e->off[0] = (long long)uniql_json_at(uniql_json_get(m, "data_offsets"), 0)->u.number;
        e->off[1] = (long long)uniql_json_at(uniql_json_get(m, "data_offsets"), 1)->u.number;
    }
    uniql_json_free(&doc);
    d->data = file + 8 + hlen;
    d->data_size = size - 8 - (size_t)hlen;
    return 1;
}

/* Write a description back as a file: header padded with spaces to `align` bytes
   (plus `extra_pad` more), then the data area unchanged. */
static unsigned char *st_write_pad(const st_desc *d, size_t *size, size_t extra_pad)
{
    size_t cap = 256 + (size_t)d->n * 400, h = 0, total;
    char *hdr = (char *)malloc(cap);
    unsigned char *out;
    int i, k;
    h += (size_t)sprintf(hdr + h, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (i = 0; i < d->n; i++) {
        const st_entry *e = &d->e[i];
        h += (size_t)sprintf(hdr + h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", e->name, e->dtype);
        for (k = 0; k < e->ndim; k++) h += (size_t)sprintf(hdr + h, k ? ",%lld" : "%lld", e->shape[k]);
        h += (size_t)sprintf(hdr + h, "],\"data_offsets\":[%lld,%lld]}", e->off[0], e->off[1]);
    }
    hdr[h++] = '}';
    while (h % 8) hdr[h++] = ' ';
    for (k = 0; k < (int)extra_pad; k++) hdr[h++] = ' ';
    total = 8 + h + d->data_size;
    out = (unsigned char *)malloc(total);
    for (k = 0; k < 8; k++) out[k] = (unsigned char)((uint64_t)h >> (8 * k));
    memcpy(out + 8, hdr, h);
    memcpy(out + 8 + h, d->data, d->data_size);
    free(hdr);
    *size = total;
    return out;
}
static unsigned char *st_write(const st_desc *d, size_t *size) { return st_write_pad(d, size, 0); }

static st_entry *st_entry_named(st_desc *d, const char *name)
{
    int i;
    for (i = 0; i < d->n; i++)
        if (!strcmp(d->e[i].name, name)) return &d->e[i];
    return NULL;
}

static unsigned char *qwen_file(size_t *size)
{
    *size = 0;
    return tutil_read_file("tests/data/ref/qwen2/model.safetensors", size);
}

/* parse `buf` and check the code and a message fragment */
static uq_status st_expect(const unsigned char *buf, size_t size, int code, const char *msg)
{
    uniql_safetensors st;
    uniql_error e;
    int r;
    memset(&e, 0, sizeof e);
    r = uniql_safetensors_parse(buf, size, NULL, &st, &e);
    if (r != code || !strstr(e.message, msg))
        UQ__FAILF("got %d '%s', expected %d with '%s'", r, e.message, code, msg);
    ASSERT(st.tensors == NULL && st.mem == NULL && st.header.mem == NULL);
    UQ_NOTE("%s", e.message);
    PASS();
}

TEST st_parses_hf_file(void)
{
    size_t size;
    unsigned char *buf = qwen_file(&size);
    uniql_safetensors st;
    uniql_error e;
    const uniql_tensor *t;
    int i;
    ASSERT(buf != NULL);
    ASSERT_OK(uniql_safetensors_parse(buf, size, NULL, &st, &e));
    /* 1 embedding + 3 layers x 12 + final norm; tied, so no lm_head */
    ASSERT_EQ(1 + 3 * 12 + 1, st.n_tensors);
    for (i = 1; i < st.n_tensors; i++) ASSERT(strcmp(st.tensors[i - 1].name, st.tensors[i].name) < 0);
    t = uniql_safetensors_find(&st, "model.layers.1.self_attn.k_proj.weight");
    ASSERT(t && t->dtype == UNIQL_DTYPE_F16 && t->ndim == 2 && t->shape[0] == 24 && t->shape[1] == 72 && t->nbytes == 24 * 72 * 2);
    ASSERT((const unsigned char *)t->data >= st.data && (const unsigned char *)t->data + t->nbytes <= st.data + st.data_size);
    ASSERT(uniql_safetensors_find(&st, "lm_head.weight") == NULL);
    uniql_safetensors_free(&st);
    free(buf);
    PASS();
}

TEST st_reads_a_small_file_exactly(void)
{
    /* F32 [2,3], BF16 [2], and a zero-size tensor; values checked after parsing */
    static const float a[6] = { 1, -2, 3.5f, 0, 1e-3f, -7 };
    unsigned char data[24 + 4];
    st_desc d;
    size_t size;
    unsigned char *buf;
    uniql_safetensors st;
    const uniql_tensor *t;
    float f;
    uint16_t h;
    memcpy(data, a, 24);
    h = uniql_fp32_to_bf16(0.5f); memcpy(data + 24, &h, 2);
    h = uniql_fp32_to_bf16(-3.0f); memcpy(data + 26, &h, 2);
    memset(&d, 0, sizeof d);
    d.n = 3;
    strcpy(d.e[0].name, "w"); strcpy(d.e[0].dtype, "F32"); d.e[0].ndim = 2; d.e[0].shape[0] = 2; d.e[0].shape[1] = 3; d.e[0].off[1] = 24;
    strcpy(d.e[1].name, "b"); strcpy(d.e[1].dtype, "BF16"); d.e[1].ndim = 1; d.e[1].shape[0] = 2; d.e[1].off[0] = 24; d.e[1].off[1] = 28;
    strcpy(d.e[2].name, "empty"); strcpy(d.e[2].dtype, "F16"); d.e[2].ndim = 2; d.e[2].shape[0] = 0; d.e[2].shape[1] = 5; d.e[2].off[0] = 28; d.e[2].off[1] = 28;
    d.data = data;
    d.data_size = sizeof data;
    buf = st_write(&d, &size);
    ASSERT_OK(uniql_safetensors_parse(buf, size, NULL, &st, NULL));
    ASSERT_EQ(3, st.n_tensors);
    t = uniql_safetensors_find(&st, "w");
    memcpy(&f, (const unsigned char *)t->data + 4 * 4, 4);
    ASSERT(f == 1e-3f);
    t = uniql_safetensors_find(&st, "b");
    ASSERT(t->dtype == UNIQL_DTYPE_BF16 && t->nbytes == 4);
    memcpy(&h, (const unsigned char *)t->data + 2, 2);
    ASSERT(uniql_bf16_to_fp32(h) == -3.0f);
    t = uniql_safetensors_find(&st, "empty");
    ASSERT(t && t->nbytes == 0 && t->shape[0] == 0);
    ASSERT(uniql_safetensors_find(&st, "nope") == NULL);
    uniql_safetensors_free(&st);
    free(buf);
    PASS();
}

TEST st_rejects_truncated_header(void)
{
    size_t size;
    unsigned char *buf = qwen_file(&size);
    uq_status s = st_expect(buf, 5, UNIQL_ERR_TRUNCATED, "truncated header");
    if (s == UQ_PASS) s = st_expect(buf, 0, UNIQL_ERR_TRUNCATED, "truncated header");
    free(buf);
    return s;
}

TEST st_rejects_header_length_past_end(void)
{
    size_t size;
    unsigned char *buf = qwen_file(&size);
    uq_status s;
    int k;
    for (k = 0; k < 8; k++) buf[k] = (unsigned char)((uint64_t)(size - 7) >> (8 * k));
    s = st_expect(buf, size, UNIQL_ERR_TRUNCATED, "header length");
    if (s == UQ_PASS) {  /* a length near 2^64 must not wrap around */
        memset(buf, 0xFF, 8);
        s = st_expect(buf, size, UNIQL_ERR_TRUNCATED, "header length");
    }
    free(buf);
    return s;
}

TEST st_rejects_file_cut_inside_data(void)
{
    size_t size;
    unsigned char *buf = qwen_file(&size);
    uq_status s = st_expect(buf, size - 100, UNIQL_ERR_OFFSETS, "past the end");
    free(buf);
    return s;
}

TEST st_rejects_bad_json_header(void)
{
    size_t size;
    unsigned char *buf = qwen_file(&size);
    uq_status s;
    buf[8 + 20] = '\x01';   /* inside "__metadata__": a control character in a string */
    s = st_expect(buf, size, UNIQL_ERR_PARSE, "safetensors header: json: byte 20");
    free(buf);
    return s;
}

TEST st_rejects_unknown_and_unsupported_dtypes(void)
{
    size_t size, size2;
    unsigned char *buf = qwen_file(&size), *bad;
    st_desc d;
    uq_status s;
    ASSERT(st_read(buf, size, &d));
    strcpy(st_entry_named(&d, "model.norm.weight")->dtype, "Q17");
    bad = st_write(&d, &size2);
    s = st_expect(bad, size2, UNIQL_ERR_DTYPE, "tensor 'model.norm.weight': unknown dtype 'Q17'");
    free(bad);
    if (s == UQ_PASS) {
        /* a real safetensors dtype of the same width we do not compute with */
        strcpy(st_entry_named(&d, "model.norm.weight")->dtype, "I16");
        bad = st_write(&d, &size2);
        s = st_expect(bad, size2, UNIQL_ERR_DTYPE, "dtype I16 is not supported");
        free(bad);
    }
    free(buf);
    return s;
}

TEST st_rejects_offsets_past_end(void)
{
    size_t size, size2;
    unsigned char *buf = qwen_file(&size), *bad;
    st_desc d;
    st_entry *e;
    uq_status s;
    ASSERT(st_read(buf, size, &d));
    e = st_entry_named(&d, "model.norm.weight");
    e->off[0] += (long long)d.data_size;   /* same size, moved beyond the data area */
    e->off[1] += (long long)d.data_size;
    bad = st_write(&d, &size2);
    s = st_expect(bad, size2, UNIQL_ERR_OFFSETS, "'model.norm.weight': data_offsets");
    if (s == UQ_PASS) s = st_expect(bad, size2, UNIQL_ERR_OFFSETS, "end past the end");
    free(bad);
    free(buf);
    return s;
}

TEST st_rejects_overlapping_tensors(void)
{
    size_t size, size2;
    unsigned char *buf = qwen_file(&size), *bad;
    st_desc d;
    uq_status s;
    ASSERT(st_read(buf, size, &d));
    /* two norm weights of the same size share one byte range */
    memcpy(st_entry_named(&d, "model.layers.2.input_layernorm.weight")->off,
           st_entry_named(&d, "model.layers.0.input_layernorm.weight")->off, sizeof(long long) * 2);
    bad = st_write(&d, &size2);
    s = st_expect(bad, size2, UNIQL_ERR_OFFSETS, "overlap");
    free(bad);
    free(buf);
    return s;
}

TEST st_rejects_gaps_in_the_data(void)
{
    size_t size, size2;
    unsigned char *buf = qwen_file(&size), *bad;
    st_desc d;
    uq_status s;
    ASSERT(st_read(buf, size, &d));
    d.e[3] = d.e[--d.n];   /* drop one tensor: its bytes belong to nobody */
    bad = st_write(&d, &size2);
    s = st_expect(bad, size2, UNIQL_ERR_OFFSETS, "gap");
    free(bad);
    free(buf);
    return s;
}

TEST st_rejects_size_not_matching_shape(void)
{
    size_t size, size2;
    unsigned char *buf = qwen_file(&size), *bad;
    st_desc d;
    uq_status s;
    ASSERT(st_read(buf, size, &d));
    st_entry_named(&d, "model.norm.weight")->shape[0] = 71;
    bad = st_write(&d, &size2);
    s = st_expect(bad, size2, UNIQL_ERR_FORMAT, "hold 144 bytes but shape [71] of F16 needs 142");
    free(bad);
    free(buf);
    return s;
}

TEST st_rejects_shape_overflow(void)
{
    size_t size, size2;
    unsigned char *buf = qwen_file(&size), *bad;
    st_desc d;
    st_entry *e;
    uq_status s;
    ASSERT(st_read(buf, size, &d));
    e = st_entry_named(&d, "model.norm.weight");
    e->ndim = 4;
    e->shape[0] = e->shape[1] = e->shape[2] = e->shape[3] = 1ll << 20;   /* 2^80 elements */
    bad = st_write(&d, &size2);
    s = st_expect(bad, size2, UNIQL_ERR_OVERFLOW, "overflows size_t");
    free(bad);
    free(buf);
    return s;
}

TEST st_rejects_ill_typed_entries(void)
{
    static const char *const hdrs[] = {
        "{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}",
        "{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
        "{\"t\":[1]}",
        "[1]",
    };
    size_t i;
    for (i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
        unsigned char buf[256];
        size_t h = strlen(hdrs[i]), k;
        uq_status s;
        for (k = 0; k < 8; k++) buf[k] = (unsigned char)((uint64_t)h >> (8 * k));
        memcpy(buf + 8, hdrs[i], h);
        memset(buf + 8 + h, 0, 4);
        s = st_expect(buf, 8 + h + 4, UNIQL_ERR_FORMAT, "");
        if (s != UQ_PASS) return s;
    }
    PASS();
}

TEST st_rejects_duplicate_tensor_names(void)
{
    size_t size, size2;
    unsigned char *buf = qwen_file(&size), *bad;
    st_desc d;
    uq_status s;
    ASSERT(st_read(buf, size, &d));
    strcpy(st_entry_named(&d, "model.layers.2.input_layernorm.weight")->name, "model.layers.0.input_layernorm.weight");
    bad = st_write(&d, &size2);
    s = st_expect(bad, size2, UNIQL_ERR_PARSE, "duplicate key \"model.layers.0.input_layernorm.weight\"");
    free(bad);
    free(buf);
    return s;
}

/* ------------------------------------------------------------- config ---- */

static char *read_text(const char *path)
{
    return (char *)tutil_read_file(path, NULL);
}

/* replace the first occurrence of `from` by `to` (in a new malloc'd string) */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    char *out;
    if (!p) return NULL;
    out = (char *)malloc(strlen(s) - strlen(from) + strlen(to) + 1);
    memcpy(out, s, (size_t)(p - s));
    strcpy(out + (p - s), to);
    strcat(out, p + strlen(from));
    return out;
}

static int cfg(const char *json, uniql_config *c, uniql_error *e)
{
    memset(e, 0, sizeof *e);
    return uniql_config_parse(json, strlen(json), NULL, c, e);
}

TEST config_reads_the_four_reference_families(void)
{
    char *txt;
    uniql_config c;
    uniql_error e;
    txt = read_text("tests/data/ref/llama/config.json");
    ASSERT_OK(cfg(txt, &c, &e));
    ASSERT(c.arch == UNIQL_ARCH_LLAMA && c.hidden_size == 96 && c.n_heads == 6 && c.n_kv_heads == 2 && c.head_dim == 16);
    ASSERT(c.rope_type == UNIQL_ROPE_LLAMA3 && c.rope_theta == 10000.0 && c.rope_factor == 8.0 && c.rope_original_max_pos == 256);
    ASSERT(c.rope_low_freq_factor == 1.0 && c.rope_high_freq_factor == 4.0 && c.qkv_bias && c.o_bias && c.mlp_bias && !c.tie_embeddings);
    ASSERT(c.norm_eps == 1e-5f && c.n_layers == 2 && c.block[1] == UNIQL_BLOCK_DECODER && c.mlp_act == UNIQL_MLP_SWIGLU);
    free(txt);
    txt = read_text("tests/data/ref/qwen2/config.json");
    ASSERT_OK(cfg(txt, &c, &e));
    ASSERT(c.arch == UNIQL_ARCH_QWEN2 && c.qkv_bias && !c.o_bias && c.tie_embeddings && c.head_dim == 12 && c.rope_theta == 1000.0);
    ASSERT(c.rope_type == UNIQL_ROPE_DEFAULT && c.norm_eps == 1e-6f && c.intermediate_size == 152);
    free(txt);
    txt = read_text("tests/data/ref/mamba2/config.json");
    ASSERT_OK(cfg(txt, &c, &e));   /* time_step_limit holds {"__float__": "Infinity"} */
    ASSERT(c.arch == UNIQL_ARCH_MAMBA2 && c.ssm_heads == 12 && c.ssm_head_dim == 12 && c.ssm_groups == 2 && c.ssm_state == 16);
    ASSERT(c.dt_min == 0.0f && isinf(c.dt_max) && c.gated_norm_groups == 1 && c.ssm_proj_bias && c.conv_bias && c.tie_embeddings);
    free(txt);
    txt = read_text("tests/data/ref/nemotron_h/config.json");
    ASSERT_OK(cfg(txt, &c, &e));
    ASSERT(c.arch == UNIQL_ARCH_NEMOTRON_H && c.n_layers == 4 && c.block[0] == UNIQL_BLOCK_MAMBA && c.block[1] == UNIQL_BLOCK_ATTENTION);
    ASSERT(c.block[2] == UNIQL_BLOCK_MAMBA && c.block[3] == UNIQL_BLOCK_MLP && c.rope_type == UNIQL_ROPE_NONE);
    ASSERT(c.dt_min == 0.03f && isinf(c.dt_max) && c.gated_norm_groups == 2 && c.mlp_act == UNIQL_MLP_RELU2 && !c.qkv_bias);
    free(txt);
    PASS();
}

TEST config_accepts_legacy_spellings(void)
{
    char *txt = read_text("tests/data/ref/llama/config.json"), *old, *t2;
    uniql_config a, b;
    uniql_error e;
    ASSERT_OK(cfg(txt, &a, &e));
    /* transformers 4.x: rope_theta at the top, rope_scaling with "type" */
    old = replace(txt, "\"rope_parameters\": {", "\"rope_theta\": 10000.0, \"rope_scaling\": {\"type\": \"llama3\", ");
    t2 = replace(old, "\"rope_type\": \"llama3\"", "\"unused\": 0");
    ASSERT_OK(cfg(t2, &b, &e));
    ASSERT(memcmp(&a, &b, sizeof a) == 0);
    free(old); free(t2); free(txt);
    /* Nemotron-H: hybrid_override_pattern and mamba_* aliases, bare Infinity (Python json) */
    txt = read_text("tests/data/ref/nemotron_h/config.json");
    ASSERT_OK(cfg(txt, &a, &e));
    old = replace(txt, "\"layers_block_type\": [", "\"hybrid_override_pattern\": \"M*M-\", \"unused\": [");
    t2 = replace(old, "\"n_groups\": 2", "\"mamba_n_groups\": 2, \"n_groups\": 8");
    free(old);
    old = replace(t2, "\"time_step_min\": 0.03", "\"mamba_dt_min\": 0.03");
    free(t2);
    t2 = replace(old, "{\n      \"__float__\": \"Infinity\"\n    }", "Infinity");
    ASSERT(t2 != NULL);
    ASSERT_OK(cfg(t2, &b, &e));
    ASSERT(memcmp(&a, &b, sizeof a) == 0);
    free(old); free(t2); free(txt);
    PASS();
}

TEST config_uses_class_defaults(void)
{
    uniql_config c;
    uniql_error e;
    ASSERT_OK(cfg("{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4}", &c, &e));
    ASSERT(c.vocab_size == 32000 && c.head_dim == 16 && c.n_kv_heads == 4 && c.n_layers == 32 && c.intermediate_size == 11008);
    ASSERT(c.norm_eps == 1e-6f && c.rope_type == UNIQL_ROPE_DEFAULT && c.rope_theta == 10000.0 && !c.qkv_bias && !c.tie_embeddings);
    ASSERT_OK(cfg("{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_key_value_heads\": null}", &c, &e));
    ASSERT(c.vocab_size == 151936 && c.n_kv_heads == 4 && c.qkv_bias == 1 && c.max_position_embeddings == 32768);
    ASSERT_OK(cfg("{\"model_type\": \"mamba2\", \"hidden_size\": 512, \"num_heads\": 16}", &c, &e));
    ASSERT(c.ssm_head_dim == 64 && c.ssm_state == 128 && c.ssm_groups == 8 && c.dt_min == 0 && isinf(c.dt_max) && c.norm_eps == 1e-5f);
    ASSERT(c.n_layers == 64 && c.conv_kernel == 4 && c.conv_bias && !c.ssm_proj_bias);
    PASS();
}

/* Bamba as BambaConfig (transformers 5.17) writes it: attention at attn_layer_indices, the
   mamba_* mixer keys, rope_parameters with the fixed partial_rotary_factor 0.5. */
static const char *const BAMBA_CFG =
    "{\"architectures\": [\"BambaForCausalLM\"], \"attention_bias\": false, \"attn_layer_indices\": [1, 3],"
    " \"hidden_act\": \"silu\", \"hidden_size\": 64, \"intermediate_size\": 96, \"mamba_chunk_size\": 16,"
    " \"mamba_conv_bias\": true, \"mamba_d_conv\": 4, \"mamba_d_head\": 16, \"mamba_d_state\": 16, \"mamba_expand\": 2,"
    " \"mamba_n_groups\": 2, \"mamba_n_heads\": 8, \"mamba_proj_bias\": true, \"max_position_embeddings\": 512,"
    " \"mlp_bias\": false, \"model_type\": \"bamba\", \"num_attention_heads\": 4, \"num_hidden_layers\": 4,"
    " \"num_key_value_heads\": 2, \"rms_norm_eps\": 1e-05, \"rope_parameters\": {\"partial_rotary_factor\": 0.5,"
    " \"rope_theta\": 1000.0, \"rope_type\": \"default\"}, \"tie_word_embeddings\": false,"
    " \"time_step_limit\": [0.02, 2.5], \"time_step_max\": 0.1, \"time_step_min\": 0.001, \"vocab_size\": 256}";

TEST config_reads_bamba(void)
{
    uniql_config a, b;
    uniql_error e;
    char *t1, *t2;
    ASSERT_OK(cfg(BAMBA_CFG, &a, &e));
    ASSERT(a.arch == UNIQL_ARCH_BAMBA && a.n_layers == 4 && a.vocab_size == 256 && a.hidden_size == 64 && a.intermediate_size == 96);
    ASSERT(a.block[0] == UNIQL_BLOCK_MAMBA_MLP && a.block[1] == UNIQL_BLOCK_DECODER && a.block[2] == UNIQL_BLOCK_MAMBA_MLP &&
           a.block[3] == UNIQL_BLOCK_DECODER);
    ASSERT(a.n_heads == 4 && a.n_kv_heads == 2 && a.head_dim == 16 && a.rotary_dim == 8 && a.rope_type == UNIQL_ROPE_DEFAULT);
    ASSERT(a.rope_theta == 1000.0 && !a.qkv_bias && !a.o_bias && !a.mlp_bias && a.mlp_act == UNIQL_MLP_SWIGLU && !a.tie_embeddings);
    ASSERT(a.ssm_heads == 8 && a.ssm_head_dim == 16 && a.ssm_groups == 2 && a.ssm_state == 16 && a.conv_kernel == 4);
    ASSERT(a.conv_bias && a.ssm_proj_bias && a.gated_norm_groups == 1 && a.dt_min == 0.02f && a.dt_max == 2.5f && a.norm_eps == 1e-5f);
    /* "auto" head dim, no partial factor in rope_parameters (0.5 is fixed anyway), and a
       top-level partial_rotary_factor, which BambaConfig overwrites: the same config */
    t1 = replace(BAMBA_CFG, "\"mamba_d_head\": 16", "\"mamba_d_head\": \"auto\", \"partial_rotary_factor\": 0.25");
    t2 = replace(t1, "\"partial_rotary_factor\": 0.5,", "");
    ASSERT(t1 && t2);
    ASSERT_OK(cfg(t2, &b, &e));
    ASSERT(memcmp(&a, &b, sizeof a) == 0);
    free(t1); free(t2);
    /* the config.json transformers 5.17 saved for the reference model (tests/data/ref/bamba:
       more keys, partial_rotary_factor also at the top level) says the same */
    t1 = read_text("tests/data/ref/bamba/config.json");
    ASSERT(t1 != NULL);
    ASSERT_OK(cfg(t1, &b, &e));
    ASSERT(memcmp(&a, &b, sizeof a) == 0);
    free(t1);
    PASS();
}

TEST config_bamba_class_defaults(void)
{
    uniql_config c;
    uniql_error e;
    int l, mamba = 0;
    ASSERT_OK(cfg("{\"model_type\": \"bamba\"}", &c, &e));
    for (l = 0; l < c.n_layers; l++) mamba += c.block[l] == UNIQL_BLOCK_MAMBA_MLP;
    ASSERT(c.vocab_size == 128000 && c.hidden_size == 4096 && c.intermediate_size == 14336 && c.n_layers == 32 && mamba == 32);
    ASSERT(c.n_heads == 32 && c.n_kv_heads == 8 && c.head_dim == 128 && c.rotary_dim == 64 && c.rope_theta == 10000.0);
    ASSERT(c.ssm_heads == 128 && c.ssm_head_dim == 64 && c.ssm_groups == 1 && c.ssm_state == 256 && c.conv_kernel == 4);
    ASSERT(c.conv_bias && !c.ssm_proj_bias && c.max_position_embeddings == 262144 && c.norm_eps == 1e-5f);
    ASSERT(c.dt_min == 0.0f && isinf(c.dt_max) && !c.tie_embeddings);
    ASSERT_OK(cfg("{\"model_type\": \"bamba\", \"num_key_value_heads\": null, \"attn_layer_indices\": null}", &c, &e));
    ASSERT(c.n_kv_heads == 32 && c.block[0] == UNIQL_BLOCK_MAMBA_MLP);
    ASSERT_OK(cfg("{\"model_type\": \"bamba\", \"hidden_size\": 96, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
                  " \"mamba_n_heads\": 12, \"attn_layer_indices\": [0, 0, 31]}", &c, &e));
    ASSERT(c.head_dim == 24 && c.rotary_dim == 12 && c.ssm_head_dim == 16 && c.block[0] == UNIQL_BLOCK_DECODER &&
           c.block[31] == UNIQL_BLOCK_DECODER && c.block[1] == UNIQL_BLOCK_MAMBA_MLP);
    PASS();
}

TEST config_rejects_bad_bamba_configs(void)
{
    static const struct { const char *s; int code; const char *msg; } bad[] = {
        { "{\"model_type\": \"bamba\", \"num_hidden_layers\": 4, \"attn_layer_indices\": [4]}", UNIQL_ERR_FORMAT, "attn_layer_indices" },
        { "{\"model_type\": \"bamba\", \"attn_layer_indices\": [-1]}", UNIQL_ERR_FORMAT, "attn_layer_indices" },
        { "{\"model_type\": \"bamba\", \"attn_layer_indices\": [1.5]}", UNIQL_ERR_FORMAT, "attn_layer_indices" },
        { "{\"model_type\": \"bamba\", \"attn_layer_indices\": 3}", UNIQL_ERR_FORMAT, "attn_layer_indices" },
        { "{\"model_type\": \"bamba\", \"attn_layer_indices\": [\"1\"]}", UNIQL_ERR_FORMAT, "attn_layer_indices" },
        { "{\"model_type\": \"bamba\", \"mamba_d_head\": 32}", UNIQL_ERR_SHAPE, "mamba_d_head" },
        { "{\"model_type\": \"bamba\", \"mamba_d_head\": \"big\"}", UNIQL_ERR_FORMAT, "mamba_d_head" },
        { "{\"model_type\": \"bamba\", \"hidden_size\": 100, \"mamba_n_heads\": 3}", UNIQL_ERR_SHAPE, "mamba_n_heads" },
        { "{\"model_type\": \"bamba\", \"mamba_n_heads\": 8, \"mamba_n_groups\": 3}", UNIQL_ERR_SHAPE, "groups" },
        { "{\"model_type\": \"bamba\", \"mamba_expand\": 1.5}", UNIQL_ERR_FORMAT, "mamba_expand" },
        { "{\"model_type\": \"bamba\", \"mamba_d_conv\": 0}", UNIQL_ERR_FORMAT, "mamba_d_conv" },
        { "{\"model_type\": \"bamba\", \"time_step_limit\": [0.5, 0.1]}", UNIQL_ERR_FORMAT, "time_step_limit" },
        { "{\"model_type\": \"bamba\", \"time_step_limit\": 0.5}", UNIQL_ERR_FORMAT, "time_step_limit" },
        { "{\"model_type\": \"bamba\", \"hidden_act\": \"gelu\"}", UNIQL_ERR_UNSUPPORTED, "gelu" },
        { "{\"model_type\": \"bamba\", \"rope_parameters\": {\"rope_type\": \"default\", \"partial_rotary_factor\": 0.25}}",
          UNIQL_ERR_UNSUPPORTED, "0.5" },
        { "{\"model_type\": \"bamba\", \"rope_parameters\": {\"rope_type\": \"linear\", \"factor\": 2}}", UNIQL_ERR_UNSUPPORTED, "default" },
        { "{\"model_type\": \"bamba\", \"hidden_size\": 40, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"mamba_n_heads\": 8,"
          " \"attn_layer_indices\": [0]}", UNIQL_ERR_SHAPE, "partial RoPE" },
        { "{\"model_type\": \"bamba\", \"hidden_size\": 24, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"mamba_n_heads\": 8,"
          " \"attn_layer_indices\": [0]}", UNIQL_ERR_SHAPE, "partial RoPE" },
        { "{\"model_type\": \"bamba\", \"num_attention_heads\": 6, \"num_key_value_heads\": 4, \"hidden_size\": 96, \"mamba_n_heads\": 8,"
          " \"attn_layer_indices\": [2]}", UNIQL_ERR_SHAPE, "KV heads" },
        { "{\"model_type\": \"bamba\", \"rms_norm_eps\": 0}", UNIQL_ERR_FORMAT, "epsilon" },
        { "{\"model_type\": \"bamba\", \"mamba_proj_bias\": \"yes\"}", UNIQL_ERR_FORMAT, "mamba_proj_bias" },
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uniql_config c;
        uniql_error e;
        int r = cfg(bad[i].s, &c, &e);
        if (r != bad[i].code || !strstr(e.message, bad[i].msg))
            UQ__FAILF("case %d: got %d '%s', expected %d with '%s'", (int)i, r, e.message, bad[i].code, bad[i].msg);
    }
    PASS();
}

/* Partial rotary (Bamba): HF's inv_freq over rotary_dim, zeros for the pass-through units,
   and the unit interleave of API 6 (first k units hold ceil(k nr / U) rotary pairs). */
TEST rope_partial_frequencies_and_units(void)
{
    static const int shapes[][2] = { { 16, 8 }, { 24, 12 }, { 16, 4 }, { 12, 8 }, { 16, 16 }, { 128, 64 } };
    uniql_config c;
    uniql_error e;
    float inv[64];
    size_t si;
    int i, k;
    ASSERT_OK(cfg(BAMBA_CFG, &c, &e));
    ASSERT_OK(uniql_rope_inv_freq(&c, inv));
    for (i = 0; i < 8; i++) {
        double want = i < 4 ? 1.0 / pow(1000.0, (2.0 * i) / 8.0) : 0.0;   /* dim = int(16 * 0.5) = 8 */
        ASSERT_IN_RANGE(want, inv[i], 2e-7 * want);
    }
    for (i = 0; i < 8; i++) ASSERT_EQ(i % 2 == 0, uniql_rope_unit_rotary(&c, i));   /* R P R P ... */
    ASSERT_EQ(0, uniql_rope_unit_rotary(&c, 8));
    ASSERT_EQ(0, uniql_rope_unit_rotary(&c, -1));
    for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int U = shapes[si][0] / 2, nr = shapes[si][1] / 2, cnt = 0;
        c.head_dim = shapes[si][0];
        c.rotary_dim = shapes[si][1];
        for (k = 1; k <= U; k++) {
            cnt += uniql_rope_unit_rotary(&c, k - 1);
            ASSERT_EQ((k * nr + U - 1) / U, cnt);
        }
        ASSERT_EQ(nr, cnt);
    }
    c.rope_type = UNIQL_ROPE_NONE;
    ASSERT_EQ(0, uniql_rope_unit_rotary(&c, 0));
    PASS();
}

TEST config_rejects_bad_configs(void)
{
    static const struct { const char *s; int code; const char *msg; } bad[] = {
        { "{\"hidden_size\": 64}", UNIQL_ERR_MISSING, "model_type" },
        { "{\"model_type\": \"gpt2\"}", UNIQL_ERR_UNSUPPORTED, "gpt2" },
        { "[1]", UNIQL_ERR_FORMAT, "not a JSON object" },
        { "{\"model_type\": \"llama\",", UNIQL_ERR_PARSE, "json" },
        { "{\"model_type\": \"llama\", \"hidden_size\": 64.5}", UNIQL_ERR_FORMAT, "hidden_size" },
        { "{\"model_type\": \"llama\", \"hidden_size\": -4}", UNIQL_ERR_FORMAT, "hidden_size" },
        { "{\"model_type\": \"llama\", \"hidden_size\": \"64\"}", UNIQL_ERR_FORMAT, "hidden_size" },
        { "{\"model_type\": \"llama\", \"tie_word_embeddings\": 1}", UNIQL_ERR_FORMAT, "tie_word_embeddings" },
        { "{\"model_type\": \"llama\", \"num_attention_heads\": 6, \"num_key_value_heads\": 4, \"hidden_size\": 96}", UNIQL_ERR_SHAPE, "KV heads" },
        { "{\"model_type\": \"llama\", \"hidden_size\": 60, \"num_attention_heads\": 4}", UNIQL_ERR_SHAPE, "even head_dim" },
        { "{\"model_type\": \"llama\", \"hidden_act\": \"gelu\"}", UNIQL_ERR_UNSUPPORTED, "gelu" },
        { "{\"model_type\": \"llama\", \"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": 4}}", UNIQL_ERR_UNSUPPORTED, "yarn" },
        { "{\"model_type\": \"llama\", \"rope_parameters\": {\"rope_type\": \"llama3\", \"factor\": 8}}", UNIQL_ERR_MISSING, "low_freq_factor" },
        { "{\"model_type\": \"llama\", \"rope_scaling\": {\"type\": \"linear\"}}", UNIQL_ERR_MISSING, "factor" },
        { "{\"model_type\": \"llama\", \"partial_rotary_factor\": 0.5}", UNIQL_ERR_UNSUPPORTED, "partial_rotary_factor" },
        { "{\"model_type\": \"qwen2\", \"use_sliding_window\": true}", UNIQL_ERR_UNSUPPORTED, "sliding" },
        { "{\"model_type\": \"mamba2\", \"hidden_size\": 64, \"num_heads\": 8}", UNIQL_ERR_SHAPE, "expand" },
        { "{\"model_type\": \"mamba2\", \"hidden_size\": 96, \"num_heads\": 3}", UNIQL_ERR_SHAPE, "3 Mamba heads do not split into 8 groups" },
        { "{\"model_type\": \"mamba2\", \"hidden_size\": 64, \"num_heads\": 2, \"n_groups\": 1, \"time_step_limit\": [1, 0]}", UNIQL_ERR_FORMAT, "time_step_limit" },
        { "{\"model_type\": \"nemotron_h\"}", UNIQL_ERR_UNSUPPORTED, "MoE" },
        { "{\"model_type\": \"nemotron_h\", \"hybrid_override_pattern\": \"M*E\"}", UNIQL_ERR_UNSUPPORTED, "MoE" },
        { "{\"model_type\": \"nemotron_h\", \"layers_block_type\": [\"mamba\", \"conv\"]}", UNIQL_ERR_FORMAT, "'conv'" },
        { "{\"model_type\": \"nemotron_h\", \"hybrid_override_pattern\": \"M-\", \"mamba_num_heads\": 6, \"n_groups\": 4}", UNIQL_ERR_SHAPE, "groups" },
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uniql_config c;
        uniql_error e;
        int r = cfg(bad[i].s, &c, &e);
        if (r != bad[i].code || !strstr(e.message, bad[i].msg))
            UQ__FAILF("case %d: got %d '%s', expected %d with '%s'", (int)i, r, e.message, bad[i].code, bad[i].msg);
    }
    PASS();
}

/* llama3 RoPE against the formula written out here in double (HF's
   _compute_llama3_parameters): the reference config has frequencies in all three
   regimes (kept, divided by factor, blended). */
TEST rope_llama3_frequencies(void)
{
    char *txt = read_text("tests/data/ref/llama/config.json");
    uniql_config c;
    uniql_error e;
    float inv[8];
    int i, regimes[3] = { 0, 0, 0 };
    ASSERT_OK(cfg(txt, &c, &e));
    free(txt);
    ASSERT_OK(uniql_rope_inv_freq(&c, inv));
    for (i = 0; i < 8; i++) {
        double f = pow(10000.0, -(2.0 * i) / 16.0), wl = 2 * 3.14159265358979323846 / f, want;
        if (wl < 256.0 / 4.0) { want = f; regimes[0]++; }
        else if (wl > 256.0 / 1.0) { want = f / 8.0; regimes[1]++; }
        else {
            double s = (256.0 / wl - 1.0) / (4.0 - 1.0);
            want = (1 - s) * f / 8.0 + s * f;
            regimes[2]++;
        }
        ASSERT_IN_RANGE(want, inv[i], 2e-7 * want);
    }
    UQ_NOTE("regimes: %d kept, %d divided, %d blended", regimes[0], regimes[1], regimes[2]);
    ASSERT(regimes[0] > 0 && regimes[1] > 0 && regimes[2] > 0);
    PASS();
}

/* Random byte corruption of a real header and config.json (deterministic seeds): every
   outcome must be a clean result code (the sanitizer builds check the "no crash" half). */
TEST random_corruption_gives_clean_errors(void)
{
    size_t size, hlen = 0, k;
    unsigned char *buf = qwen_file(&size);
    char *cfgtxt = read_text("tests/data/ref/nemotron_h/config.json");
    trng g = { 2024 };
    int it, ok = 0, codes[32];
    memset(codes, 0, sizeof codes);
    ASSERT(buf && cfgtxt);
    for (k = 0; k < 8; k++) hlen |= (size_t)buf[k] << (8 * k);
    for (it = 0; it < 1500; it++) {
        size_t pos[4], n = 1 + trng_u64(&g) % 4, j;
        unsigned char old[4];
        uniql_safetensors st;
        int r;
        for (j = 0; j < n; j++) {
            pos[j] = trng_u64(&g) % (8 + hlen);
            old[j] = buf[pos[j]];
            buf[pos[j]] = (unsigned char)trng_u64(&g);
        }
        r = uniql_safetensors_parse(buf, size, NULL, &st, NULL);
        ASSERT(r <= 0 && r >= -20);
        codes[-r]++;
        if (r == UNIQL_OK) { ok++; uniql_safetensors_free(&st); }
        for (j = n; j-- > 0;) buf[pos[j]] = old[j];
    }
    UQ_NOTE("1500 corrupted headers: %d still valid, PARSE %d, FORMAT %d, DTYPE %d, OFFSETS %d, TRUNCATED %d, OVERFLOW %d",
            ok, codes[10], codes[11], codes[12], codes[13], codes[9], codes[15]);
    for (it = 0; it < 1500; it++) {
        size_t len = strlen(cfgtxt), pos = trng_u64(&g) % len;
        char old = cfgtxt[pos];
        uniql_config c;
        int r;
        cfgtxt[pos] = (char)(trng_u64(&g) % 128);
        r = uniql_config_parse(cfgtxt, len, NULL, &c, NULL);
        ASSERT(r <= 0 && r >= -20);
        cfgtxt[pos] = old;
    }
    free(buf);
    free(cfgtxt);
    PASS();
}

SUITE(parse_suite)
{
    RUN_TEST(json_parses_nested_document);
    RUN_TEST(json_numbers_are_correctly_rounded);
    RUN_TEST(json_rejects_malformed_text);
    RUN_TEST(json_nesting_limit_is_exact);
    RUN_TEST(json_nonfinite_only_with_flag);
    RUN_TEST(json_keeps_embedded_nul);
    RUN_TEST(st_parses_hf_file);
    RUN_TEST(st_reads_a_small_file_exactly);
    RUN_TEST(st_rejects_truncated_header);
    RUN_TEST(st_rejects_header_length_past_end);
    RUN_TEST(st_rejects_file_cut_inside_data);
    RUN_TEST(st_rejects_bad_json_header);
    RUN_TEST(st_rejects_unknown_and_unsupported_dtypes);
    RUN_TEST(st_rejects_offsets_past_end);
    RUN_TEST(st_rejects_overlapping_tensors);
    RUN_TEST(st_rejects_gaps_in_the_data);
    RUN_TEST(st_rejects_size_not_matching_shape);
    RUN_TEST(st_rejects_shape_overflow);
    RUN_TEST(st_rejects_ill_typed_entries);
    RUN_TEST(st_rejects_duplicate_tensor_names);
    RUN_TEST(config_reads_the_four_reference_families);
    RUN_TEST(config_accepts_legacy_spellings);
    RUN_TEST(config_uses_class_defaults);
    RUN_TEST(config_rejects_bad_configs);
    RUN_TEST(config_reads_bamba);
    RUN_TEST(config_bamba_class_defaults);
    RUN_TEST(config_rejects_bad_bamba_configs);
    RUN_TEST(rope_partial_frequencies_and_units);
    RUN_TEST(rope_llama3_frequencies);
    RUN_TEST(random_corruption_gives_clean_errors);
}
