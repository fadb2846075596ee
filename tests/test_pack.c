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
    ASSERT(pk.meta && uniql_json_get(pk.meta, "k") && uniql_json_get(pk.meta, "k")->len == 2);
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

/* ---- model layer: pack a sorted-layout model, load it full and pruned ---- */

/* every allocation of one test, freed together */
typedef struct arena { void *p[4096]; int n; } arena;
static void *arena_alloc(arena *a, size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    if (a->n < 4096) a->p[a->n++] = p;
    return p;
}
static void arena_free(arena *a) { while (a->n) free(a->p[--a->n]); }

/* logical element (r, c) of an unblocked F32 view, either orientation */
static float mget(const uniql_matrix *w, int r, int c)
{
    const unsigned char *d = (const unsigned char *)w->data;
    if (w->transposed) return *(const float *)(const void *)(d + (size_t)c * w->stride + (size_t)r * 4);
    return *(const float *)(const void *)(d + (size_t)r * w->stride + (size_t)c * 4);
}

/* new dense F32 matrix: out(r, c) = src(rmap[r], cmap[c]) (NULL map: identity) */
static uniql_matrix remap(arena *a, const uniql_matrix *src, int rows, int cols, const int *rmap, const int *cmap, int transposed)
{
    float *d = (float *)arena_alloc(a, sizeof(float) * (size_t)rows * (size_t)cols);
    uniql_matrix m;
    int r, c;
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++) {
            float v = mget(src, rmap ? rmap[r] : r, cmap ? cmap[c] : c);
            if (transposed) d[(size_t)c * rows + r] = v; else d[(size_t)r * cols + c] = v;
        }
    m = uniql_matrix_f32(d, rows, cols, (size_t)cols);
    if (transposed) { m.transposed = 1; m.stride = sizeof(float) * (size_t)rows; }
    return m;
}
static const float *vmap(arena *a, const float *v, int n, const int *map, int width)
{
    float *d;
    int i, k;
    if (!v) return NULL;
    d = (float *)arena_alloc(a, sizeof(float) * (size_t)n * (size_t)width);
    for (i = 0; i < n; i++) for (k = 0; k < width; k++) d[i * width + k] = v[(map ? map[i] : i) * width + k];
    return d;
}
/* kept prefix of every block: nb blocks of fb, keep kb */
static int *block_map(arena *a, int nb, int fb, int kb)
{
    int *m = (int *)arena_alloc(a, sizeof(int) * (size_t)(nb * kb + 1)), b, i;
    for (b = 0; b < nb; b++) for (i = 0; i < kb; i++) m[b * kb + i] = b * fb + i;
    return m;
}

/* The prunable layout of the sorting stage, built by hand from a HF model: q/k rows of
   every head as interleaved RoPE pairs in a random order per KV head (rope_pairs = that
   order), o/down/out_proj stored transposed. The function is unchanged. */
static uniql_model *sorted_layout(arena *a, const uniql_model *M, trng *r)
{
    const uniql_config *c = &M->config;
    uniql_model *S = (uniql_model *)arena_alloc(a, sizeof *S);
    int l;
    *S = *M;
    S->storage = NULL;
    S->layers = (uniql_layer *)arena_alloc(a, sizeof(uniql_layer) * (size_t)c->n_layers);
    for (l = 0; l < c->n_layers; l++) {
        uniql_layer *y = &S->layers[l];
        *y = M->layers[l];
        if (y->type == UNIQL_BLOCK_DECODER || y->type == UNIQL_BLOCK_ATTENTION) {
            int H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, half = hd / 2, rep = H / KV, g, h, j, D = c->hidden_size;
            if (c->rope_type != UNIQL_ROPE_NONE) {
                int *pairs = (int *)arena_alloc(a, sizeof(int) * (size_t)(KV * half));
                int *qm = (int *)arena_alloc(a, sizeof(int) * (size_t)(H * hd)), *km = (int *)arena_alloc(a, sizeof(int) * (size_t)(KV * hd));
                for (g = 0; g < KV; g++) rand_pairs(r, half, half, pairs + g * half);
                /* unit pi: rotary pair (pi, pi + R/2) if pi < R/2, else the pass-through
                   dims R + 2 (pi - R/2) and the next (API 6; full rotary: (pi, pi + half)) */
                int R = c->rotary_dim > 0 && c->rotary_dim < hd ? c->rotary_dim : hd, nr = R / 2;
                for (h = 0; h < H; h++)
                    for (j = 0; j < half; j++) {
                        int pi = pairs[(h / rep) * half + j];
                        qm[h * hd + 2 * j] = h * hd + (pi < nr ? pi : R + 2 * (pi - nr));
                        qm[h * hd + 2 * j + 1] = h * hd + (pi < nr ? pi + nr : R + 2 * (pi - nr) + 1);
                    }
                for (g = 0; g < KV; g++)
                    for (j = 0; j < half; j++) {
                        int pi = pairs[g * half + j];
                        km[g * hd + 2 * j] = g * hd + (pi < nr ? pi : R + 2 * (pi - nr));
                        km[g * hd + 2 * j + 1] = g * hd + (pi < nr ? pi + nr : R + 2 * (pi - nr) + 1);
                    }
                y->attn.q = remap(a, &M->layers[l].attn.q, H * hd, D, qm, NULL, 0);
                y->attn.k = remap(a, &M->layers[l].attn.k, KV * hd, D, km, NULL, 0);
                y->attn.q_bias = vmap(a, y->attn.q_bias, H * hd, qm, 1);
                y->attn.k_bias = vmap(a, y->attn.k_bias, KV * hd, km, 1);
                y->attn.rope_pairs = pairs;
            }
            y->attn.o = remap(a, &M->layers[l].attn.o, D, H * hd, NULL, NULL, 1);
        }
        if (y->type == UNIQL_BLOCK_DECODER || y->type == UNIQL_BLOCK_MLP || y->type == UNIQL_BLOCK_MAMBA_MLP)
            y->mlp.down = remap(a, &M->layers[l].mlp.down, c->hidden_size, c->intermediate_size, NULL, NULL, 1);
        if (y->type == UNIQL_BLOCK_MAMBA || y->type == UNIQL_BLOCK_MAMBA_MLP)
            y->mamba.out = remap(a, &M->layers[l].mamba.out, c->hidden_size, c->ssm_heads * c->ssm_head_dim, NULL, NULL, 1);
    }
    return S;
}

/* Independent pruned reference: dense non-transposed copies of the kept rows/columns of
   the sorted-layout model S, gathered by index (no views, no blocks). */
static uniql_model *pruned_reference(arena *a, const uniql_model *S, const uniql_kept *k)
{
    const uniql_config *c = &S->config;
    uniql_model *R = (uniql_model *)arena_alloc(a, sizeof *R);
    int l, D = c->hidden_size;
    *R = *S;
    R->layers = (uniql_layer *)arena_alloc(a, sizeof(uniql_layer) * (size_t)c->n_layers);
    for (l = 0; l < c->n_layers; l++) {
        const uniql_layer *x = &S->layers[l];
        uniql_layer *y = &R->layers[l];
        *y = *x;
        if (y->type == UNIQL_BLOCK_DECODER || y->type == UNIQL_BLOCK_ATTENTION) {
            int H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, qk = k[l].qk_dim, v = k[l].v_dim;
            int *qm = block_map(a, H, hd, qk), *km = block_map(a, KV, hd, qk), *vm = block_map(a, KV, hd, v), *om = block_map(a, H, hd, v);
            y->attn.qk_dim = qk; y->attn.v_dim = v;
            y->attn.q = remap(a, &x->attn.q, H * qk, D, qm, NULL, 0);
            y->attn.k = remap(a, &x->attn.k, KV * qk, D, km, NULL, 0);
            y->attn.v = remap(a, &x->attn.v, KV * v, D, vm, NULL, 0);
            y->attn.o = remap(a, &x->attn.o, D, H * v, NULL, om, 0);
            y->attn.q_bias = vmap(a, x->attn.q_bias, H * qk, qm, 1);
            y->attn.k_bias = vmap(a, x->attn.k_bias, KV * qk, km, 1);
            y->attn.v_bias = vmap(a, x->attn.v_bias, KV * v, vm, 1);
            if (x->attn.rope_pairs) {
                int *pm = block_map(a, KV, hd / 2, qk / 2), j;
                int *rp = (int *)arena_alloc(a, sizeof(int) * (size_t)(KV * qk / 2 + 1));
                for (j = 0; j < KV * qk / 2; j++) rp[j] = x->attn.rope_pairs[pm[j]];
                y->attn.rope_pairs = rp;
            }
        }
        if (y->type == UNIQL_BLOCK_DECODER || y->type == UNIQL_BLOCK_MLP || y->type == UNIQL_BLOCK_MAMBA_MLP) {
            int d = k[l].d_int;
            y->mlp.d_int = d;
            if (x->mlp.gate.data) y->mlp.gate = remap(a, &x->mlp.gate, d, D, NULL, NULL, 0);
            y->mlp.up = remap(a, &x->mlp.up, d, D, NULL, NULL, 0);
            y->mlp.down = remap(a, &x->mlp.down, D, d, NULL, NULL, 0);
        }
        if (y->type == UNIQL_BLOCK_MAMBA || y->type == UNIQL_BLOCK_MAMBA_MLP) {
            int Hs = c->ssm_heads, P = k[l].head_dim, G = c->ssm_groups, N = k[l].state, K = c->conv_kernel;
            int *pm = block_map(a, Hs, c->ssm_head_dim, P), *nm = block_map(a, G, c->ssm_state, N);
            y->mamba.head_dim_kept = P; y->mamba.state_kept = N;
            y->mamba.in_z = remap(a, &x->mamba.in_z, Hs * P, D, pm, NULL, 0);
            y->mamba.in_x = remap(a, &x->mamba.in_x, Hs * P, D, pm, NULL, 0);
            y->mamba.in_B = remap(a, &x->mamba.in_B, G * N, D, nm, NULL, 0);
            y->mamba.in_C = remap(a, &x->mamba.in_C, G * N, D, nm, NULL, 0);
            y->mamba.out = remap(a, &x->mamba.out, D, Hs * P, NULL, pm, 0);
            y->mamba.bias_z = vmap(a, x->mamba.bias_z, Hs * P, pm, 1);
            y->mamba.bias_x = vmap(a, x->mamba.bias_x, Hs * P, pm, 1);
            y->mamba.bias_B = vmap(a, x->mamba.bias_B, G * N, nm, 1);
            y->mamba.bias_C = vmap(a, x->mamba.bias_C, G * N, nm, 1);
            y->mamba.conv_x = vmap(a, x->mamba.conv_x, Hs * P, pm, K);
            y->mamba.conv_B = vmap(a, x->mamba.conv_B, G * N, nm, K);
            y->mamba.conv_C = vmap(a, x->mamba.conv_C, G * N, nm, K);
            y->mamba.conv_bias_x = vmap(a, x->mamba.conv_bias_x, Hs * P, pm, 1);
            y->mamba.conv_bias_B = vmap(a, x->mamba.conv_bias_B, G * N, nm, 1);
            y->mamba.conv_bias_C = vmap(a, x->mamba.conv_bias_C, G * N, nm, 1);
            y->mamba.norm = vmap(a, x->mamba.norm, Hs * P, pm, 1);
        }
    }
    return R;
}

static uniql_result run_logits(const uniql_model *m, const int *toks, int n, float *logits)
{
    uniql_state *s;
    uniql_result r = uniql_state_create(m, n + 4, 0, NULL, &s);
    if (r != UNIQL_OK) return r;
    r = uniql_forward(m, s, toks, n, logits, 1, NULL);
    uniql_state_free(s);
    return r;
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double mx = 0, sc = 1e-30;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= mx)) mx = d;
        if (fabs((double)a[i]) > sc) sc = fabs((double)a[i]);
    }
    return mx / sc;
}

/* kept sizes for rate table i: smaller at every table, valid for the layer type */
static void test_kept(const uniql_config *c, int l, int i, uniql_kept *k)
{
    int t = c->block[l];
    memset(k, 0, sizeof *k);
    if (t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_ATTENTION) {
        k->qk_dim = c->head_dim - 2 * (i + 1) - 2 * (l % 2);
        k->v_dim = c->head_dim - 3 * (i + 1);
    }
    if (t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_MLP || t == UNIQL_BLOCK_MAMBA_MLP) k->d_int = c->intermediate_size - 17 * (i + 1) - l;
    if (t == UNIQL_BLOCK_MAMBA || t == UNIQL_BLOCK_MAMBA_MLP) { k->head_dim = c->ssm_head_dim - 2 * (i + 1); k->state = c->ssm_state - 5 * (i + 1) + l; }
}


/* logical element (r, c) of an F32 view of any orientation and block layout */
static float vget(const uniql_matrix *w, int r, int c)
{
    size_t sr = (size_t)(w->transposed ? c : r), in = (size_t)(w->transposed ? r : c), p = sr;
    if (w->block > 0) p = (sr / (size_t)w->block) * (size_t)w->block_stride + sr % (size_t)w->block;
    return *(const float *)(const void *)((const unsigned char *)w->data + p * w->stride + in * 4);
}
static void densify_m(arena *a, uniql_matrix *w)
{
    float *d;
    int r, c;
    if (!w->data) return;
    d = (float *)arena_alloc(a, sizeof(float) * (size_t)w->rows * (size_t)w->cols);
    for (r = 0; r < w->rows; r++) for (c = 0; c < w->cols; c++) d[(size_t)r * w->cols + c] = vget(w, r, c);
    *w = uniql_matrix_f32(d, w->rows, w->cols, (size_t)w->cols);
}
/* A copy of m whose every matrix is a dense row-major F32 copy read through the view
   definition (API 3) by vget: lets the tests check views before the kernels run them. */
static uniql_model *densify(arena *a, const uniql_model *m)
{
    uniql_model *D = (uniql_model *)arena_alloc(a, sizeof *D);
    int l;
    *D = *m;
    D->storage = NULL;
    D->layers = (uniql_layer *)arena_alloc(a, sizeof(uniql_layer) * (size_t)m->config.n_layers);
    densify_m(a, &D->embed);
    densify_m(a, &D->lm_head);
    for (l = 0; l < m->config.n_layers; l++) {
        uniql_layer *y = &D->layers[l];
        *y = m->layers[l];
        densify_m(a, &y->attn.q); densify_m(a, &y->attn.k); densify_m(a, &y->attn.v); densify_m(a, &y->attn.o);
        densify_m(a, &y->mlp.gate); densify_m(a, &y->mlp.up); densify_m(a, &y->mlp.down);
        densify_m(a, &y->mamba.in_z); densify_m(a, &y->mamba.in_x); densify_m(a, &y->mamba.in_B);
        densify_m(a, &y->mamba.in_C); densify_m(a, &y->mamba.in_dt); densify_m(a, &y->mamba.out);
    }
    return D;
}

/* Does uniql_matmul honour transposed and blocked views (the quantization work adds
   them)? A 2x3 transposed matrix and a blocked row view, checked by hand. */
static int matmul_views_supported(void)
{
    static const float wt[6] = {1, 4, 2, 5, 3, 6};    /* W = [[1 2 3], [4 5 6]] stored by columns */
    static const float wb[12] = {1, 0, 0, 9, 9, 9, 0, 1, 0, 9, 9, 9};   /* rows 0 and 2 of 4 */
    float x[3] = {1, 10, 100}, y[2] = {0, 0};
    uniql_matrix m = uniql_matrix_f32(wt, 2, 3, 3);
    m.transposed = 1; m.stride = 2 * sizeof(float);
    if (uniql_matmul(&m, x, 1, 3, y, 2) != UNIQL_OK || y[0] != 321 || y[1] != 654) return 0;
    m = uniql_matrix_f32(wb, 2, 3, 3);
    m.block = 1; m.block_stride = 2;
    if (uniql_matmul(&m, x, 1, 3, y, 2) != UNIQL_OK || y[0] != 1 || y[1] != 10) return 0;
    return 1;
}

/* run a model directly when the kernels take every view, else through its dense copy */
static uniql_result run_any(arena *a, int direct, const uniql_model *m, const int *toks, int n, float *logits)
{
    return run_logits(direct ? m : densify(a, m), toks, n, logits);
}

static uq_status pack_family(const char *dir)
{
    char path[256];
    unsigned char *cfg;
    size_t cfg_len, size;
    uniql_model *M, *P;
    uniql_load_options lo;
    uniql_packed pk;
    uniql_error err;
    uniql_pack_model_desc d;
    uniql_kept kept[2 * UNIQL_MAX_LAYERS], got[UNIQL_MAX_LAYERS];
    unsigned char up[UNIQL_MAX_LAYERS];
    double rates[2] = {0.15, 0.35}, bi[UNIQL_MAX_LAYERS], rr[4];
    uint64_t bytes[3];
    void *img;
    arena a;
    trng r = {11};
    int toks[7] = {3, 200, 17, 42, 99, 0, 255}, T = 7, L, l, i, nr, ri, V;
    float *ref, *lg;
    const uniql_model *S;
    int direct = matmul_views_supported();
    a.n = 0;
    memset(&lo, 0, sizeof lo);
    lo.weights_f32 = 1;
    snprintf(path, sizeof path, "tests/data/ref/%s/config.json", dir);
    cfg = tutil_read_file(path, &cfg_len);
    ASSERT(cfg != NULL);
    snprintf(path, sizeof path, "tests/data/ref/%s", dir);
    ASSERT_OK(uniql_model_load_dir(path, &lo, &M, &err));
    L = M->config.n_layers;
    V = M->config.vocab_size;
    ref = (float *)arena_alloc(&a, sizeof(float) * (size_t)(T * V));
    lg = (float *)arena_alloc(&a, sizeof(float) * (size_t)(T * V));
    S = sorted_layout(&a, M, &r);
    ASSERT_OK(run_logits(M, toks, T, ref));
    ASSERT_OK(run_any(&a, direct, S, toks, T, lg));
    ASSERT_LE(max_rel_diff(ref, lg, (size_t)(T * V)), 1e-5);   /* the layout change keeps the function */
    ASSERT_OK(run_any(&a, direct, S, toks, T, ref));
    for (i = 0; i < 2; i++) for (l = 0; l < L; l++) test_kept(&M->config, l, i, &kept[i * L + l]);
    for (l = 0; l < L; l++) { bi[l] = 0.1 * (l + 1); up[l] = (unsigned char)(l == 0); }
    memset(&d, 0, sizeof d);
    d.config_json = (const char *)cfg; d.config_len = cfg_len;
    d.n_rates = 2; d.rates = rates; d.kept = kept; d.block_influence = bi;
    d.upgrade = S; d.upgrade_layers = up;
    ASSERT_OK(uniql_pack_model(S, &d, NULL, &img, &size, &err));
    ASSERT_OK(uniql_packed_open(img, size, 0, NULL, &pk, &err));
    ASSERT_OK(uniql_packed_rates(&pk, rr, 4, &nr, &err));
    ASSERT_EQ(2, nr);
    ASSERT(rr[0] == 0.15 && rr[1] == 0.35);
    ASSERT_OK(uniql_packed_importance(&pk, "block_influence", rr, &err));
    ASSERT_ERR(UNIQL_ERR_MISSING, uniql_packed_importance(&pk, "lsaq", rr, &err));
    ASSERT_ERR(UNIQL_ERR_RANGE, uniql_packed_kept(&pk, 2, got, &err));
    /* full load: same matrices, same kernels -> the very same logits */
    ASSERT_OK(uniql_packed_model_load(&pk, NULL, NULL, NULL, &P, &err));
    ASSERT_OK(run_any(&a, direct, P, toks, T, lg));
    ASSERT_MEM_EQ(ref, lg, sizeof(float) * (size_t)(T * V));
    bytes[0] = uniql_model_weight_bytes(P);
    uniql_model_free(P);
    {   /* 8-bit copies where stored: layer 0 from its "@8" tensor, identical weights here */
        int bits[UNIQL_MAX_LAYERS];
        for (l = 0; l < L; l++) bits[l] = 8;
        ASSERT_OK(uniql_packed_model_load(&pk, NULL, bits, NULL, &P, &err));
        ASSERT_OK(run_any(&a, direct, P, toks, T, lg));
        ASSERT_MEM_EQ(ref, lg, sizeof(float) * (size_t)(T * V));
        {
            int mb0 = P->layers[0].type == UNIQL_BLOCK_MAMBA || P->layers[0].type == UNIQL_BLOCK_MAMBA_MLP;
            const uniql_matrix *w0 = mb0 ? &P->layers[0].mamba.in_x :
                                     P->layers[0].type == UNIQL_BLOCK_MLP ? &P->layers[0].mlp.up : &P->layers[0].attn.v;
            const char *nm = mb0 ? "layers.0.mamba.in_x@8" :
                             P->layers[0].type == UNIQL_BLOCK_MLP ? "layers.0.mlp.up@8" : "layers.0.attn.v@8";
            ASSERT(uniql_packed_find(&pk, nm) && w0->data == uniql_packed_find(&pk, nm)->m.data);
        }
        uniql_model_free(P);
    }
    /* pruned loads against the independently gathered reference */
    for (ri = 0; ri < 2; ri++) {
        const uniql_model *R;
        double dv;
        ASSERT_OK(uniql_packed_kept(&pk, ri, got, &err));
        ASSERT_MEM_EQ(&kept[ri * L], got, sizeof(uniql_kept) * (size_t)L);
        ASSERT_OK(uniql_packed_model_load(&pk, got, NULL, NULL, &P, &err));
        R = pruned_reference(&a, S, got);
        ASSERT_OK(run_any(&a, direct, R, toks, T, ref));
        ASSERT_OK(run_any(&a, direct, P, toks, T, lg));
        dv = max_rel_diff(ref, lg, (size_t)(T * V));
        bytes[ri + 1] = uniql_model_weight_bytes(P);
        /* zero-copy: every pruned matrix points into the file */
        for (l = 0; l < L; l++) {
            const uniql_layer *y = &P->layers[l];
            const uniql_matrix *w = y->type == UNIQL_BLOCK_MAMBA || y->type == UNIQL_BLOCK_MAMBA_MLP ? &y->mamba.out
                                    : y->type == UNIQL_BLOCK_MLP ? &y->mlp.down : &y->attn.q;
            ASSERT((const unsigned char *)w->data >= pk.data && (const unsigned char *)w->data < pk.data + pk.data_size);
        }
        uniql_model_free(P);
        ASSERT_OK(run_any(&a, direct, S, toks, T, ref));
        if (!(dv <= 1e-5)) { UQ__FAILF("%s rate %d: pruned load differs from the gathered reference by %g", dir, ri, dv); }
    }
    ASSERT(bytes[1] < bytes[0] && bytes[2] < bytes[1]);
    {   /* memory budget: the largest kept model that fits */
        int idx;
        uint64_t b;
        ASSERT_OK(uniql_packed_select_rate(&pk, bytes[0], NULL, &idx, &b, &err));
        ASSERT_EQ(-1, idx); ASSERT_EQ(bytes[0], b);
        ASSERT_OK(uniql_packed_select_rate(&pk, bytes[0] - 1, NULL, &idx, &b, &err));
        ASSERT_EQ(0, idx); ASSERT_EQ(bytes[1], b);
        ASSERT_OK(uniql_packed_select_rate(&pk, bytes[1], NULL, &idx, &b, &err));
        ASSERT_EQ(0, idx);
        ASSERT_OK(uniql_packed_select_rate(&pk, bytes[1] - 1, NULL, &idx, &b, &err));
        ASSERT_EQ(1, idx);
        ASSERT_ERR(UNIQL_ERR_BUDGET, uniql_packed_select_rate(&pk, bytes[2] - 1, NULL, &idx, &b, &err));
    }
    if (!direct) UQ_NOTE("kernels lack transposed/blocked views: models checked through dense copies of their views");
    UQ_NOTE("%s: file %lu B; weights full %llu B, 15%% %llu B, 35%% %llu B; pruned loads == gathered reference",
            dir, (unsigned long)size, (unsigned long long)bytes[0], (unsigned long long)bytes[1], (unsigned long long)bytes[2]);
    uniql_packed_free(&pk);
    uniql_free_buffer(img, NULL);
    uniql_model_free(M);
    free(cfg);
    arena_free(&a);
    PASS();
}

TEST model_pack_llama(void) { return pack_family("llama"); }
TEST model_pack_qwen2(void) { return pack_family("qwen2"); }
TEST model_pack_mamba2(void) { return pack_family("mamba2"); }
TEST model_pack_nemotron_h(void) { return pack_family("nemotron_h"); }
TEST model_pack_bamba(void) { return pack_family("bamba"); }

/* ---- the real pipeline: calibrate, sort (prunable layout), quantize, pack, load ---- */

static uq_status pipeline_family(const char *dir)
{
    char path[256];
    unsigned char *cfg;
    size_t cfg_len, size;
    uniql_model *M, *S, *Q, *Q8, *P, *V;
    uniql_calib *cb;
    uniql_calib_options co;
    uniql_sort_options so;
    uniql_model_quant_options qo;
    uniql_pack_model_desc d;
    uniql_packed pk;
    uniql_error err;
    uniql_kept kept[3 * UNIQL_MAX_LAYERS];
    unsigned char upl[UNIQL_MAX_LAYERS];
    double rates[3] = {0.15, 0.25, 0.35}, bi[UNIQL_MAX_LAYERS], lsaq[UNIQL_MAX_LAYERS], params[UNIQL_MAX_LAYERS], lr[UNIQL_MAX_LAYERS];
    int tok[256], toks[6] = {72, 101, 108, 108, 111, 32}, T = 6, L, l, i, V_;
    int bits[UNIQL_MAX_LAYERS], prev[UNIQL_MAX_LAYERS];
    uint64_t all4, all8, total;
    float *a, *b;
    void *img;
    trng r = {5};
    snprintf(path, sizeof path, "tests/data/ref/%s/config.json", dir);
    cfg = tutil_read_file(path, &cfg_len);
    ASSERT(cfg != NULL);
    snprintf(path, sizeof path, "tests/data/ref/%s", dir);
    ASSERT_OK(uniql_model_load_dir(path, NULL, &M, &err));
    L = M->config.n_layers;
    V_ = M->config.vocab_size;
    for (i = 0; i < 256; i++) tok[i] = (int)(trng_u64(&r) % (uint64_t)V_);
    memset(&co, 0, sizeof co);
    co.seq_len = 64; co.lsaq = 1;
    ASSERT_OK(uniql_calibrate(M, tok, 256, &co, &cb, &err));
    ASSERT_OK(uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, bi));
    ASSERT_OK(uniql_calib_importance(cb, UNIQL_IMPORTANCE_LSAQ, lsaq));
    memset(&so, 0, sizeof so);
    so.layout = UNIQL_LAYOUT_PRUNABLE;
    ASSERT_OK(uniql_sort_model(M, cb, &so, &S, &err));
    uniql_calib_free(cb);
    for (l = 0; l < L; l++) params[l] = (double)uniql_prunable_params(&S->config, l, NULL);
    for (i = 0; i < 3; i++) {
        ASSERT_OK(uniql_layer_rates(L, bi, params, rates[i], 0, 0, lr));
        ASSERT_OK(uniql_kept_from_rates(&S->config, lr, NULL, &kept[i * L]));
    }
    memset(&qo, 0, sizeof qo);
    ASSERT_OK(uniql_model_quantize(S, NULL, &qo, &Q, &err));
    qo.bits = 8;
    ASSERT_OK(uniql_model_quantize(S, NULL, &qo, &Q8, &err));
    for (l = 0; l < L; l++) upl[l] = (unsigned char)(l % 2 == 0);   /* copies for half the layers */
    memset(&d, 0, sizeof d);
    d.config_json = (const char *)cfg; d.config_len = cfg_len;
    d.n_rates = 3; d.rates = rates; d.kept = kept; d.block_influence = bi; d.lsaq_importance = lsaq;
    d.upgrade = Q8; d.upgrade_layers = upl;
    if (uniql_pack_model(Q, &d, NULL, &img, &size, &err) != UNIQL_OK) FAILm(err.message);
    ASSERT_OK(uniql_packed_open(img, size, 0, NULL, &pk, &err));
    a = (float *)malloc(sizeof(float) * (size_t)(T * V_));
    b = (float *)malloc(sizeof(float) * (size_t)(T * V_));
    /* 0 %: the packed model IS the in-memory quantized model: identical logits */
    ASSERT_OK(uniql_packed_model_load(&pk, NULL, NULL, NULL, &P, &err));
    ASSERT_EQ(UNIQL_DTYPE_Q4, P->layers[0].type == UNIQL_BLOCK_MAMBA || P->layers[0].type == UNIQL_BLOCK_MAMBA_MLP ? P->layers[0].mamba.out.dtype :
                              P->layers[0].type == UNIQL_BLOCK_MLP ? P->layers[0].mlp.down.dtype : P->layers[0].attn.o.dtype);
    ASSERT_EQ(UNIQL_DTYPE_Q8, P->embed.dtype);
    {   /* group 128 halved until it divides the storage rows (hidden 96 / 72: 32 / 64 -> 32, 8) */
        int hs = P->config.hidden_size, g = 128;
        const uniql_matrix *w = P->layers[0].type == UNIQL_BLOCK_MAMBA || P->layers[0].type == UNIQL_BLOCK_MAMBA_MLP ? &P->layers[0].mamba.in_x :
                                P->layers[0].type == UNIQL_BLOCK_MLP ? &P->layers[0].mlp.up : &P->layers[0].attn.q;
        while (g > 32 && hs % g) g /= 2;
        ASSERT_EQ(g, w->group);
    }
    ASSERT_OK(run_logits(Q, toks, T, a));
    ASSERT_OK(run_logits(P, toks, T, b));
    ASSERT_MEM_EQ(a, b, sizeof(float) * (size_t)(T * V_));
    all4 = uniql_model_weight_bytes(P);
    uniql_model_free(P);
    /* every rate: the packed load equals uniql_model_prune's views of the same model */
    for (i = 0; i < 3; i++) {
        uniql_kept k2[UNIQL_MAX_LAYERS];
        ASSERT_OK(uniql_packed_kept(&pk, i, k2, &err));
        ASSERT_OK(uniql_packed_model_load(&pk, k2, NULL, NULL, &P, &err));
        ASSERT_OK(uniql_model_prune(Q, &kept[i * L], 0, NULL, &V, &err));
        ASSERT_OK(run_logits(V, toks, T, a));
        ASSERT_OK(run_logits(P, toks, T, b));
        ASSERT_MEM_EQ(a, b, sizeof(float) * (size_t)(T * V_));
        uniql_model_free(V);
        uniql_model_free(P);
    }
    /* LSAQ plans from the stored importance: within budget, monotone, loadable */
    for (l = 0; l < L; l++) { bits[l] = 8; prev[l] = 4; }
    ASSERT_OK(uniql_packed_model_load(&pk, NULL, bits, NULL, &P, &err));
    all8 = uniql_model_weight_bytes(P);
    ASSERT_OK(run_logits(P, toks, T, b));
    uniql_model_free(P);
    ASSERT(all8 > all4);
    for (i = 0; i <= 4; i++) {
        uint64_t budget = all4 + (all8 - all4) * (uint64_t)i / 4;
        ASSERT_OK(uniql_packed_plan_bits(&pk, NULL, "lsaq", budget, NULL, bits, &total, &err));
        ASSERT_LE((double)total, (double)budget);
        for (l = 0; l < L; l++) {
            ASSERT(bits[l] >= prev[l]);
            ASSERT(bits[l] == 4 || upl[l]);
            prev[l] = bits[l];
        }
        ASSERT_OK(uniql_packed_model_load(&pk, NULL, bits, NULL, &P, &err));
        ASSERT_EQ(total, uniql_model_weight_bytes(P));
        uniql_model_free(P);
    }
    for (l = 0; l < L; l++) ASSERT_EQ(upl[l] ? 8 : 4, bits[l]);   /* the full budget upgrades every stored copy */
    ASSERT_ERR(UNIQL_ERR_BUDGET, uniql_packed_plan_bits(&pk, NULL, "lsaq", all4 - 1, NULL, bits, &total, &err));
    UQ_NOTE("%s: sorted + Q4 packed %lu B; weights all-4 %llu B, all-8 %llu B; 0%% == in-memory, 15/25/35%% == uniql_model_prune views",
            dir, (unsigned long)size, (unsigned long long)all4, (unsigned long long)all8);
    free(a); free(b);
    uniql_packed_free(&pk);
    uniql_free_buffer(img, NULL);
    uniql_model_free(Q8);
    uniql_model_free(Q);
    uniql_model_free(S);
    uniql_model_free(M);
    free(cfg);
    PASS();
}

TEST pipeline_llama(void) { return pipeline_family("llama"); }
TEST pipeline_nemotron_h(void) { return pipeline_family("nemotron_h"); }
TEST pipeline_mamba2(void) { return pipeline_family("mamba2"); }
TEST pipeline_bamba(void) { return pipeline_family("bamba"); }

/* Hostile packed models: flip every byte of the fixed and JSON headers of a real packed
   model and open it WITHOUT the checksum (so the structural checks alone must hold);
   whatever opens must load (full and pruned) into a model that passes uniql_model_check
   or be refused with a code - never crash (this runs under the sanitizers too). */
TEST model_header_flips_never_crash(void)
{
    uniql_model *M, *S, *Q, *P;
    uniql_load_options lo;
    uniql_pack_model_desc d;
    uniql_error err;
    uniql_packed pk;
    uniql_kept kept[2 * UNIQL_MAX_LAYERS], k2[UNIQL_MAX_LAYERS];
    double rates[1] = {0.25};
    unsigned char *img, *buf, *cfg;
    size_t size, cfg_len, hdr, i;
    int l, opened = 0, loaded = 0, bit;
    arena a;
    trng r = {3};
    a.n = 0;
    memset(&lo, 0, sizeof lo);
    lo.weights_f32 = 1;
    cfg = tutil_read_file("tests/data/ref/qwen2/config.json", &cfg_len);
    ASSERT(cfg);
    ASSERT_OK(uniql_model_load_dir("tests/data/ref/qwen2", &lo, &M, &err));
    S = sorted_layout(&a, M, &r);
    ASSERT_OK(uniql_model_quantize(S, NULL, NULL, &Q, &err));
    for (l = 0; l < M->config.n_layers; l++) test_kept(&M->config, l, 1, &kept[l]);
    memset(&d, 0, sizeof d);
    d.config_json = (const char *)cfg; d.config_len = cfg_len;
    d.n_rates = 1; d.rates = rates; d.kept = kept;
    ASSERT_OK(uniql_pack_model(Q, &d, NULL, (void **)&img, &size, &err));
    hdr = 48;
    for (i = 0; i < 8; i++) hdr += (size_t)img[16 + i] << (8 * i);
    buf = (unsigned char *)malloc(size);
    memcpy(buf, img, size);
    for (i = 0; i < hdr; i++)
        for (bit = 0; bit < 2; bit++) {
            unsigned char old = buf[i];
            buf[i] = (unsigned char)(old ^ (bit ? 0x04 : 0x01));
            if (uniql_packed_open(buf, size, UNIQL_PACK_SKIP_CHECKSUM, NULL, &pk, &err) == UNIQL_OK) {
                int ri;
                opened++;
                for (ri = -1; ri < 1; ri++) {
                    if (uniql_packed_kept(&pk, ri, k2, &err) != UNIQL_OK) continue;
                    if (uniql_packed_model_load(&pk, k2, NULL, NULL, &P, &err) == UNIQL_OK) {
                        loaded++;
                        ASSERT_OK(uniql_model_check(P, NULL));
                        uniql_model_free(P);
                    } else ASSERT(err.code < 0);
                }
                uniql_packed_free(&pk);
            } else ASSERT(err.code < 0);
            buf[i] = old;
        }
    UQ_NOTE("%lu header bytes x 2 flips without checksum: %d opened, %d loads succeeded (all checked models)",
            (unsigned long)hdr, opened, loaded);
    free(buf);
    uniql_free_buffer(img, NULL);
    uniql_model_free(Q);
    uniql_model_free(M);
    free(cfg);
    arena_free(&a);
    PASS();
}

SUITE(pack_suite)
{
    RUN_TEST(model_header_flips_never_crash);
    RUN_TEST(pipeline_llama);
    RUN_TEST(pipeline_nemotron_h);
    RUN_TEST(pipeline_bamba);
    RUN_TEST(pipeline_mamba2);
    RUN_TEST(model_pack_llama);
    RUN_TEST(model_pack_qwen2);
    RUN_TEST(model_pack_mamba2);
    RUN_TEST(model_pack_nemotron_h);
    RUN_TEST(model_pack_bamba);
    RUN_TEST(container_roundtrip_bit_exact);
    RUN_TEST(container_truncated_and_corrupt_rejected);
    RUN_TEST(container_header_rules);
    RUN_TEST(rope_fused_equals_rotate_then_gather);
}
