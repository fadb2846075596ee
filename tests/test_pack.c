/* test_pack.c - fused RoPE kernel for pruned heads, the .uniql container (writer, strict
   reader, views), rate / memory-budget selection. */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <stdlib.h>
#include <string.h>

/* ---- fused RoPE: against rotate-the-full-head-then-gather, and SIMD == scalar ---- */

/* n distinct indices from [0, half) in random order (a sorted-by-importance kept set) */
static void rand_pairs(trng *r, int half, int n, int *out)
{
    int *perm = (int *)malloc(sizeof(int) * (size_t)half), i;
    for (i = 0; i < half; i++) perm[i] = i;
    for (i = half - 1; i > 0; i--) {
        int j = (int)(trng_u64(r) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j]; perm[j] = t;
    }
    for (i = 0; i < n; i++) out[i] = perm[i];
    free(perm);
}

TEST rope_fused_equals_rotate_then_gather(void)
{
    static const int shapes[][4] = {   /* n_heads, n_kv_heads, head_dim, n_pairs kept */
        {1, 1, 2, 1}, {3, 1, 16, 5}, {5, 5, 32, 13}, {6, 3, 64, 32}, {7, 7, 24, 9}, {4, 2, 8, 4},
        {9, 3, 128, 47}, {130, 1, 16, 7}, {2, 1, 64, 1}
    };
    trng r = {42};
    int si, checked = 0;
    for (si = 0; si < (int)(sizeof shapes / sizeof shapes[0]); si++) {
        int H = shapes[si][0], KV = shapes[si][1], hd = shapes[si][2], np = shapes[si][3], half = hd / 2;
        int T = 3, t, h, j, rep = H / KV;
        size_t ldq = (size_t)H * 2 * np + 3, ldk = (size_t)KV * 2 * np + 1, ldcs = (size_t)half + 2;
        int *pairs = (int *)malloc(sizeof(int) * (size_t)KV * np);
        float *q = (float *)malloc(sizeof(float) * ldq * T), *k = (float *)malloc(sizeof(float) * ldk * T);
        float *q2 = (float *)malloc(sizeof(float) * ldq * T), *k2 = (float *)malloc(sizeof(float) * ldk * T);
        float *cs = (float *)malloc(sizeof(float) * ldcs * T), *sn = (float *)malloc(sizeof(float) * ldcs * T);
        float *full = (float *)malloc(sizeof(float) * (size_t)hd);
        for (h = 0; h < KV; h++) rand_pairs(&r, half, np, pairs + (size_t)h * np);
        trng_fill_normal_f32(&r, q, ldq * T, 1.0);
        trng_fill_normal_f32(&r, k, ldk * T, 1.0);
        for (t = 0; t < T; t++)
            for (j = 0; j < half; j++) {
                double ang = (t + 1) * 6.0 * trng_unif(&r);
                cs[t * ldcs + j] = (float)cos(ang);
                sn[t * ldcs + j] = (float)sin(ang);
            }
        memcpy(q2, q, sizeof(float) * ldq * T);
        memcpy(k2, k, sizeof(float) * ldk * T);
        uniql_rope_apply_kept_qk(q2, ldq, H, k2, ldk, KV, np, pairs, T, cs, sn, ldcs);
        /* reference: scatter each head into a full rotate_half head, rotate, gather */
        for (t = 0; t < T; t++)
            for (h = 0; h < H + KV; h++) {
                int isk = h >= H, g = isk ? h - H : h / rep;
                const float *src = isk ? k + t * ldk + (size_t)g * 2 * np : q + t * ldq + (size_t)h * 2 * np;
                const float *got = isk ? k2 + t * ldk + (size_t)g * 2 * np : q2 + t * ldq + (size_t)h * 2 * np;
                const int *pl = pairs + (size_t)g * np;
                for (j = 0; j < hd; j++) full[j] = (float)trng_normal(&r);   /* dropped pairs: noise */
                for (j = 0; j < np; j++) { full[pl[j]] = src[2 * j]; full[pl[j] + half] = src[2 * j + 1]; }
                uniql_rope_apply(full, hd, cs + t * ldcs, sn + t * ldcs);
                for (j = 0; j < np; j++) {
                    ASSERT_EQ(0, memcmp(&full[pl[j]], &got[2 * j], sizeof(float)));
                    ASSERT_EQ(0, memcmp(&full[pl[j] + half], &got[2 * j + 1], sizeof(float)));
                    checked += 2;
                }
            }
        /* padding between rows untouched */
        for (t = 0; t < T; t++) {
            ASSERT_EQ(0, memcmp(q + t * ldq + (size_t)H * 2 * np, q2 + t * ldq + (size_t)H * 2 * np, 3 * sizeof(float)));
            ASSERT_EQ(0, memcmp(k + t * ldk + (size_t)KV * 2 * np, k2 + t * ldk + (size_t)KV * 2 * np, sizeof(float)));
        }
        /* scalar twin: bit-identical to the dispatching (SIMD when available) kernel */
        memcpy(q, q2, sizeof(float) * ldq * T);
        memcpy(k, k2, sizeof(float) * ldk * T);
        uniql_rope_apply_kept_qk(q2, ldq, H, k2, ldk, KV, np, pairs, T, cs, sn, ldcs);
        uniql_rope_apply_kept_qk_scalar(q, ldq, H, k, ldk, KV, np, pairs, T, cs, sn, ldcs);
        ASSERT_MEM_EQ(q, q2, sizeof(float) * ldq * T);
        ASSERT_MEM_EQ(k, k2, sizeof(float) * ldk * T);
        /* the per-head scalar kernel is the same rotation */
        uniql_rope_apply_kept(q + ldq, np, pairs, cs, sn);
        uniql_rope_apply_kept_qk_scalar(q2 + ldq, ldq, 1, NULL, 0, 1, np, pairs, 1, cs, sn, ldcs);
        ASSERT_MEM_EQ(q + ldq, q2 + ldq, sizeof(float) * 2 * np);
        free(pairs); free(q); free(k); free(q2); free(k2); free(cs); free(sn); free(full);
    }
    UQ_NOTE("%d rotated values equal rotate-full-then-gather bit for bit", checked);
    PASS();
}


/* ---- container: write -> open round trip, truncation, corruption ---- */

typedef struct small_file {
    unsigned char *raw;          /* backing bytes of the source tensors */
    uniql_pack_input in[6];
    int n;
} small_file;

/* six tensors of every dtype and orientation; the Q4 one is a blocked view (every other
   head of 4 storage rows skipped) so the writer must resolve blocks and strides */
static void small_file_make(small_file *sf, trng *r)
{
    size_t i, n = 16384;
    unsigned char *p;
    sf->raw = (unsigned char *)malloc(n);
    for (i = 0; i < n; i++) sf->raw[i] = (unsigned char)trng_u64(r);
    p = sf->raw;
    memset(sf->in, 0, sizeof sf->in);
    sf->in[0].name = "model.norm";             /* F32 vector */
    sf->in[0].m = uniql_matrix_f32((const float *)(void *)p, 1, 24, 24);
    { float *f = (float *)(void *)p; for (i = 0; i < 24; i++) f[i] = (float)i - 3.5f; }
    sf->in[1].name = "embed \"q8\"\\";         /* Q8, odd width, name needs escaping */
    sf->in[1].m.dtype = UNIQL_DTYPE_Q8; sf->in[1].m.rows = 5; sf->in[1].m.cols = 40;
    sf->in[1].m.data = p + 128; sf->in[1].m.stride = 64; sf->in[1].m.scales = (const uint16_t *)(void *)(p + 512);
    sf->in[1].m.scale_stride = 1; sf->in[1].m.group = 40;
    sf->in[2].name = "layers.0.q";            /* Q4 g32, blocked: keep 2 of every 4 rows */
    sf->in[2].m.dtype = UNIQL_DTYPE_Q4; sf->in[2].m.rows = 6; sf->in[2].m.cols = 70;
    sf->in[2].m.data = p + 1024; sf->in[2].m.stride = 48; sf->in[2].m.scales = (const uint16_t *)(void *)(p + 2048);
    sf->in[2].m.scale_stride = 3; sf->in[2].m.group = 32; sf->in[2].m.block = 2; sf->in[2].m.block_stride = 4;
    sf->in[3].name = "layers.0.down";         /* Q4Z g64, transposed */
    sf->in[3].m.dtype = UNIQL_DTYPE_Q4Z; sf->in[3].m.rows = 100; sf->in[3].m.cols = 3; sf->in[3].m.transposed = 1;
    sf->in[3].m.data = p + 4096; sf->in[3].m.stride = 80; sf->in[3].m.scales = (const uint16_t *)(void *)(p + 5000);
    sf->in[3].m.scale_stride = 2; sf->in[3].m.zeros = p + 5100; sf->in[3].m.group = 64;
    sf->in[4].name = "layers.0.up";           /* F16 with a padded stride */
    sf->in[4].m.dtype = UNIQL_DTYPE_F16; sf->in[4].m.rows = 3; sf->in[4].m.cols = 9;
    sf->in[4].m.data = p + 6000; sf->in[4].m.stride = 20;
    sf->in[5].name = "z";                     /* BF16, transposed */
    sf->in[5].m.dtype = UNIQL_DTYPE_BF16; sf->in[5].m.rows = 2; sf->in[5].m.cols = 7; sf->in[5].m.transposed = 1;
    sf->in[5].m.data = p + 7000; sf->in[5].m.stride = 4;
    sf->n = 6;
}

/* the source bytes of logical storage row s of a view, for the independent comparison */
static size_t src_row(const uniql_matrix *m, size_t s)
{
    return m->block > 0 ? (s / (size_t)m->block) * (size_t)m->block_stride + s % (size_t)m->block : s;
}

static const char small_config[] = "{\"model_type\": \"llama\", \"note\": \"tab\\t \xc3\xa9 \\\"q\\\"\"}\n";

static uq_status check_roundtrip(const small_file *sf, const uniql_packed *pk)
{
    static const size_t row_bytes[6] = {96, 64, 48, 64, 18, 4};   /* by hand from the format */
    static const size_t n_scales[6] = {0, 1, 3, 2, 0, 0};
    int i;
    ASSERT_EQ(sf->n, pk->n_tensors);
    ASSERT_EQ(strlen(small_config), pk->config_len);
    ASSERT_MEM_EQ(small_config, pk->config_json, pk->config_len);
    for (i = 0; i < sf->n; i++) {
        const uniql_matrix *a = &sf->in[i].m;
        const uniql_pack_tensor *t = uniql_packed_find(pk, sf->in[i].name);
        size_t S, s;
        ASSERT(t != NULL);
        ASSERT_EQ(a->dtype, t->m.dtype);
        ASSERT_EQ(a->rows, t->m.rows);
        ASSERT_EQ(a->cols, t->m.cols);
        ASSERT_EQ(a->transposed, t->m.transposed);
        ASSERT_EQ(row_bytes[i], t->m.stride);
        ASSERT_EQ(0, t->m.block);
        ASSERT_EQ(0, (size_t)((const unsigned char *)t->m.data - pk->data) % 64);
        S = (size_t)(a->transposed ? a->cols : a->rows);
        for (s = 0; s < S; s++) {
            size_t p = src_row(a, s);
            ASSERT_MEM_EQ((const unsigned char *)a->data + p * a->stride, (const unsigned char *)t->m.data + s * t->m.stride, row_bytes[i]);
            if (n_scales[i]) {
                ASSERT_EQ(n_scales[i], t->m.scale_stride);
                ASSERT_MEM_EQ(a->scales + p * a->scale_stride, t->m.scales + s * t->m.scale_stride, 2 * n_scales[i]);
            }
            if (a->zeros) ASSERT_MEM_EQ(a->zeros + p * a->scale_stride, t->m.zeros + s * t->m.scale_stride, n_scales[i]);
        }
    }
    ASSERT(uniql_packed_find(pk, "nope") == NULL);
    PASS();
}

static unsigned char *aligned_copy(const void *src, size_t n)
{
    unsigned char *b = (unsigned char *)malloc(n ? n : 1);
    if (n) memcpy(b, src, n);
    return b;
}

TEST container_roundtrip_bit_exact(void)
{
    small_file sf;
    trng r = {7};
    void *img;
    size_t size;
    uniql_packed pk;
    uniql_error err;
    uq_status st;
    small_file_make(&sf, &r);
    ASSERT_OK(uniql_pack_write(small_config, strlen(small_config), "{\"k\": [1, 2]}", 13, sf.in, sf.n, NULL, &img, &size, &err));
    ASSERT_EQ(0, size % 64);
    ASSERT_OK(uniql_packed_open(img, size, 0, NULL, &pk, &err));
    st = check_roundtrip(&sf, &pk);
    ASSERT(pk.meta && uniql_json_get(pk.meta, "k") && uniql_json_get(pk.meta, "k")->count == 2);
    UQ_NOTE("%d tensors, file %lu bytes, checksum %016llx", pk.n_tensors, (unsigned long)size, (unsigned long long)pk.checksum);
    uniql_packed_free(&pk);
    uniql_free_buffer(img, NULL);
    /* duplicate names and bad meta are refused by the writer */
    sf.in[5].name = "model.norm";
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_pack_write(NULL, 0, NULL, 0, sf.in, sf.n, NULL, &img, &size, &err));
    ASSERT_ERR(UNIQL_ERR_FORMAT, uniql_pack_write(NULL, 0, "[1]", 3, sf.in, 1, NULL, &img, &size, &err));
    ASSERT_ERR(UNIQL_ERR_PARSE, uniql_pack_write(NULL, 0, "{", 1, sf.in, 1, NULL, &img, &size, &err));
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_pack_write("\xff", 1, NULL, 0, sf.in, 1, NULL, &img, &size, &err));
    ASSERT(img == NULL);
    free(sf.raw);
    return st;
}

TEST container_truncated_and_corrupt_rejected(void)
{
    small_file sf;
    trng r = {8};
    unsigned char *img, *buf;
    size_t size, n, i;
    uniql_packed pk;
    uniql_error err;
    int counts[32] = {0}, bit;
    small_file_make(&sf, &r);
    ASSERT_OK(uniql_pack_write(small_config, strlen(small_config), NULL, 0, sf.in, sf.n, NULL, (void **)&img, &size, &err));
    /* every truncation */
    for (n = 0; n < size; n++) {
        int rc;
        buf = aligned_copy(img, n);
        rc = uniql_packed_open(buf, n, 0, NULL, &pk, &err);
        free(buf);
        ASSERTm("a truncated file was accepted", rc < 0);
        ASSERT_EQ(rc, err.code);
        ASSERT(rc == UNIQL_ERR_TRUNCATED || (n < 8 && rc == UNIQL_ERR_BAD_MAGIC && n == 0));
    }
    /* every single-byte corruption (two different flips per byte) */
    buf = aligned_copy(img, size);
    for (i = 0; i < size; i++)
        for (bit = 0; bit < 2; bit++) {
            unsigned char old = buf[i];
            int rc;
            buf[i] = (unsigned char)(old ^ (bit ? 0x80 : 0x01));
            rc = uniql_packed_open(buf, size, 0, NULL, &pk, &err);
            buf[i] = old;
            ASSERTm("a corrupted file was accepted", rc < 0);
            counts[-rc]++;
        }
    UQ_NOTE("%lu truncations rejected; %lu byte flips: %d checksum, %d magic, %d version, %d format, %d truncated, %d overflow",
            (unsigned long)size, (unsigned long)(2 * size), counts[-UNIQL_ERR_CHECKSUM], counts[-UNIQL_ERR_BAD_MAGIC],
            counts[-UNIQL_ERR_VERSION], counts[-UNIQL_ERR_FORMAT], counts[-UNIQL_ERR_TRUNCATED], counts[-UNIQL_ERR_OVERFLOW]);
    /* the same flips without the checksum: each is refused structurally or opens to an
       image whose every tensor still lies inside the data area */
    for (i = 0; i < size; i++) {
        unsigned char old = buf[i];
        int rc;
        buf[i] = (unsigned char)(old ^ 0x01);
        rc = uniql_packed_open(buf, size, UNIQL_PACK_SKIP_CHECKSUM, NULL, &pk, &err);
        buf[i] = old;
        if (rc == UNIQL_OK) {
            int t;
            for (t = 0; t < pk.n_tensors; t++)
                ASSERT((const unsigned char *)pk.tensors[t].m.data >= pk.data &&
                       (const unsigned char *)pk.tensors[t].m.data + pk.tensors[t].nbytes <= pk.data + pk.data_size + pk.tensors[t].nbytes);
            uniql_packed_free(&pk);
        } else ASSERT_EQ(rc, err.code);
    }
    /* trailing byte, misaligned buffer */
    free(buf);
    buf = (unsigned char *)malloc(size + 17);
    memcpy(buf, img, size);
    buf[size] = 0;
    ASSERT_ERR(UNIQL_ERR_FORMAT, uniql_packed_open(buf, size + 1, 0, NULL, &pk, &err));
    memmove(buf + 1, buf, size);
    ASSERT_ERR(UNIQL_ERR_INVALID_ARG, uniql_packed_open(buf + 1, size, 0, NULL, &pk, &err));
    free(buf);
    uniql_free_buffer(img, NULL);
    free(sf.raw);
    PASS();
}

/* Rewrite the JSON header of a valid image (keeping data and the fixed fields, fixing
   the checksum) so that each structural rule can be broken on its own. */
static unsigned char *with_header(const unsigned char *img, size_t size, const char *from, const char *to, size_t *out_size)
{
    uint64_t hlen = 0, doff = 0, dsize = 0, nh, ndoff, cs;
    const char *h;
    char *nhdr;
    unsigned char *o;
    size_t fl = strlen(from), tl = strlen(to), k;
    const char *hit;
    int i;
    for (i = 0; i < 8; i++) { hlen |= (uint64_t)img[16 + i] << (8 * i); doff |= (uint64_t)img[24 + i] << (8 * i); dsize |= (uint64_t)img[32 + i] << (8 * i); }
    (void)size;
    h = (const char *)img + 48;
    nhdr = (char *)malloc((size_t)hlen + 1);
    memcpy(nhdr, h, (size_t)hlen); nhdr[hlen] = 0;
    hit = strstr(nhdr, from);
    if (!hit) { free(nhdr); return NULL; }
    nh = hlen - fl + tl;
    ndoff = (48 + nh + 63) / 64 * 64;
    o = (unsigned char *)calloc((size_t)(ndoff + dsize), 1);
    memcpy(o, img, 48);
    k = (size_t)(hit - nhdr);
    memcpy(o + 48, nhdr, k);
    memcpy(o + 48 + k, to, tl);
    memcpy(o + 48 + k + tl, hit + fl, (size_t)hlen - k - fl);
    memcpy(o + ndoff, img + doff, (size_t)dsize);
    for (i = 0; i < 8; i++) { o[16 + i] = (unsigned char)(nh >> (8 * i)); o[24 + i] = (unsigned char)(ndoff >> (8 * i)); }
    cs = uniql_pack_checksum(o, (size_t)(ndoff + dsize));
    for (i = 0; i < 8; i++) o[40 + i] = (unsigned char)(cs >> (8 * i));
    free(nhdr);
    *out_size = (size_t)(ndoff + dsize);
    return o;
}

TEST container_header_rules(void)
{
    static const struct { const char *from, *to; int code; } cases[] = {
        {"\"dtype\":\"F32\"", "\"dtype\":\"F64\"", UNIQL_ERR_DTYPE},
        {"\"dtype\":\"F32\"", "\"dtype\":7", UNIQL_ERR_FORMAT},
        {"\"rows\":1,", "\"rows\":0,", UNIQL_ERR_SHAPE},
        {"\"rows\":1,", "\"rows\":2,", UNIQL_ERR_SHAPE},
        {"\"rows\":1,", "\"rows\":1.5,", UNIQL_ERR_FORMAT},
        {"\"rows\":1,", "\"rows\":-1,", UNIQL_ERR_FORMAT},
        {"\"rows\":1,", "\"rows\":4294967296,", UNIQL_ERR_FORMAT},
        {"\"group\":32", "\"group\":48", UNIQL_ERR_FORMAT},
        {"\"transposed\":1", "\"transposed\":2", UNIQL_ERR_FORMAT},
        {"\"name\":\"z\"", "\"name\":\"a\"", UNIQL_ERR_FORMAT},        /* out of order */
        {"\"name\":\"z\"", "\"name\":\"model.norm\"", UNIQL_ERR_FORMAT}, /* duplicate */
        {"\"name\":\"z\"", "\"name\":\"\"", UNIQL_ERR_FORMAT},
        {"\"format\":\"uniql\"", "\"format\":\"gguf\"", UNIQL_ERR_FORMAT},
        {"\"version\":1", "\"version\":2", UNIQL_ERR_FORMAT},
        {"\"meta\":{}", "\"meta\":[]", UNIQL_ERR_FORMAT},
        {"\"data\":[0,", "\"data\":[1,", UNIQL_ERR_OFFSETS},
        {"\"data\":[0,", "\"data\":[64,", UNIQL_ERR_OFFSETS},          /* overlaps the next blob */
        {"\"data\":[0,", "\"data\":[18446744073709551616,", UNIQL_ERR_FORMAT},
        {"\"data\":[0,", "\"data\":[1099511627776,", UNIQL_ERR_OFFSETS}, /* past the end */
        {"\"data\":[0,320]", "\"data\":[0,320,0]", UNIQL_ERR_FORMAT},
        {"\"group\":64", "\"group\":64,\"scales\":[0,0]", UNIQL_ERR_PARSE}, /* duplicate key */
        {"\"tensors\":[", "\"tensors\":{\"a\":1,\"b\":[", UNIQL_ERR_PARSE},
        {"\"config\":\"", "\"config\":7,\"x\":\"", UNIQL_ERR_FORMAT},
    };
    small_file sf;
    trng r = {9};
    unsigned char *img;
    size_t size, i;
    uniql_packed pk;
    uniql_error err;
    small_file_make(&sf, &r);
    ASSERT_OK(uniql_pack_write(small_config, strlen(small_config), NULL, 0, sf.in, sf.n, NULL, (void **)&img, &size, &err));
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n2;
        unsigned char *b = with_header(img, size, cases[i].from, cases[i].to, &n2);
        int rc;
        if (!b) { free(sf.raw); uniql_free_buffer(img, NULL); UQ__FAILF("case %lu: '%s' not in the header", (unsigned long)i, cases[i].from); }
        rc = uniql_packed_open(b, n2, 0, NULL, &pk, &err);
        free(b);
        if (rc != cases[i].code) {
            free(sf.raw); uniql_free_buffer(img, NULL);
            UQ__FAILF("case %lu (%s -> %s): got %d (%s), expected %d", (unsigned long)i, cases[i].from, cases[i].to, rc, err.message, cases[i].code);
        }
    }
    {   /* the unchanged rewrite opens: the helper itself is sound */
        size_t n2;
        unsigned char *b = with_header(img, size, "\"format\"", "\"format\"", &n2);
        ASSERT_OK(uniql_packed_open(b, n2, 0, NULL, &pk, &err));
        uniql_packed_free(&pk);
        free(b);
    }
    UQ_NOTE("%lu hand-broken headers each rejected with its code", (unsigned long)(sizeof cases / sizeof cases[0]));
    uniql_free_buffer(img, NULL);
    free(sf.raw);
    PASS();
}

SUITE(pack_suite)
{
    RUN_TEST(container_roundtrip_bit_exact);
    RUN_TEST(container_truncated_and_corrupt_rejected);
    RUN_TEST(container_header_rules);
    RUN_TEST(rope_fused_equals_rotate_then_gather);
}
