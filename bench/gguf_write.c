/* gguf_write - the weights of a Hugging Face Llama / Qwen2 checkpoint as a GGUF v3 file
   (F16 matrices, F32 vectors), for the side-by-side bench with llama.cpp only (its own
   llama-quantize makes Q4_0 from this file). Not part of the library.

     gguf_write HF_DIR OUT.gguf

   What it writes, from the GGUF format as llama.cpp reads it: header "GGUF", version 3,
   tensor count, metadata count; metadata (general.architecture "llama" / "qwen2", the
   shapes, RoPE base, RMSNorm epsilon, general.file_type 1 = mostly F16, and
   tokenizer.ggml.model "no_vocab" with <arch>.vocab_size, so llama.cpp adds dummy tokens:
   the bench needs no tokenizer, llama-bench draws random token ids); the tensor table
   (name, dims innermost first, type F32 = 0 / F16 = 1, offset); the data, each tensor
   32-byte aligned. Tensor names are llama.cpp's (token_embd, blk.N.attn_q, ...). For the
   llama architecture the q / k rows are permuted per head from transformers' rotate_half
   layout to llama.cpp's adjacent-pair RoPE, as its converter does (row 2i + j of a head
   takes row j * head_dim/2 + i), so both engines compute the same function; Qwen2 uses
   the rotate_half ("neox") RoPE in llama.cpp and is written as is. Reads the checkpoint
   through mmap (POSIX), one safetensors file or an index with shards. */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *m, const char *a)
{
    fprintf(stderr, "gguf_write: %s%s%s\n", m, a ? ": " : "", a ? a : "");
    exit(1);
}

/* ---- reading the checkpoint ---- */
#define MAX_SHARDS 64
static uniql_safetensors ST[MAX_SHARDS];
static int n_st;

static void map_shard(const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat sb;
    void *p;
    uniql_error e;
    if (fd < 0 || fstat(fd, &sb)) die("cannot open", path);
    p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) die("cannot map", path);
    if (n_st == MAX_SHARDS) die("too many shards", path);
    if (uniql_safetensors_parse(p, (size_t)sb.st_size, NULL, &ST[n_st], &e)) die(e.message, path);
    n_st++;
}

static const uniql_tensor *find(const char *name, int required)
{
    int i;
    for (i = 0; i < n_st; i++) {
        const uniql_tensor *t = uniql_safetensors_find(&ST[i], name);
        if (t) return t;
    }
    if (required) die("tensor missing", name);
    return NULL;
}

static float elem(const uniql_tensor *t, size_t i)
{
    uint16_t h;
    float f;
    if (t->dtype == UNIQL_DTYPE_F32) { memcpy(&f, (const unsigned char *)t->data + 4 * i, 4); return f; }
    memcpy(&h, (const unsigned char *)t->data + 2 * i, 2);
    return t->dtype == UNIQL_DTYPE_F16 ? uniql_fp16_to_fp32(h) : uniql_bf16_to_fp32(h);
}

/* ---- GGUF writing ---- */
enum { G_U32 = 4, G_I32 = 5, G_F32 = 6, G_STRING = 8, G_U64 = 10 };

typedef struct out_tensor {
    char name[96];
    const uniql_tensor *src;
    int permute_heads;     /* > 0: q/k row permutation with this many heads */
    int f32;               /* 1-D: F32 */
    long long rows, cols;  /* rows = 1 for vectors */
    unsigned long long offset, bytes;
} out_tensor;

static out_tensor OT[4096];
static int n_ot;

static void put(FILE *f, const void *p, size_t n) { if (fwrite(p, 1, n, f) != n) die("write failed", NULL); }
static void put_u32(FILE *f, uint32_t v) { put(f, &v, 4); }
static void put_u64(FILE *f, uint64_t v) { put(f, &v, 8); }
static void put_str(FILE *f, const char *s) { put_u64(f, strlen(s)); put(f, s, strlen(s)); }
static void kv_str(FILE *f, const char *k, const char *v) { put_str(f, k); put_u32(f, G_STRING); put_str(f, v); }
static void kv_u32(FILE *f, const char *k, uint32_t v) { put_str(f, k); put_u32(f, G_U32); put_u32(f, v); }
static void kv_f32(FILE *f, const char *k, float v) { put_str(f, k); put_u32(f, G_F32); put(f, &v, 4); }

static void add(const char *name, const char *src, int permute_heads)
{
    out_tensor *o = &OT[n_ot++];
    const uniql_tensor *t = find(src, 1);
    snprintf(o->name, sizeof o->name, "%s", name);
    o->src = t;
    o->permute_heads = permute_heads;
    o->f32 = t->ndim == 1;
    o->rows = t->ndim == 1 ? 1 : t->shape[0];
    o->cols = t->ndim == 1 ? t->shape[0] : t->shape[1];
    o->bytes = (unsigned long long)o->rows * (unsigned long long)o->cols * (o->f32 ? 4 : 2);
}

int main(int argc, char **argv)
{
    char path[1024], nm[96], src[128], arch[16];
    void *cfg_text, *idx_text;
    size_t cfg_len, idx_len;
    uniql_config c;
    uniql_error e;
    FILE *f;
    int l, i, qwen, hd, n_kv = 0;
    unsigned long long off = 0;
    if (argc != 3) {
        fprintf(stderr, "usage: gguf_write HF_DIR OUT.gguf   (Llama / Qwen2 checkpoints)\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/config.json", argv[1]);
    if (uniql_read_file(path, NULL, &cfg_text, &cfg_len, &e)) die(e.message, path);
    if (uniql_config_parse((const char *)cfg_text, cfg_len, NULL, &c, &e)) die(e.message, path);
    if (c.arch != UNIQL_ARCH_LLAMA && c.arch != UNIQL_ARCH_QWEN2) die("only Llama and Qwen2 checkpoints", argv[1]);
    qwen = c.arch == UNIQL_ARCH_QWEN2;
    hd = c.head_dim;
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", argv[1]);
    if (uniql_read_file(path, NULL, &idx_text, &idx_len, NULL) == UNIQL_OK) {
        /* shard names: every distinct "model-....safetensors" string in the index */
        const char *p = (const char *)idx_text;
        char seen[MAX_SHARDS][128];
        int ns = 0, k;
        while ((p = strstr(p, "\"model-")) != NULL) {
            const char *q = strchr(p + 1, '"');
            char name[128];
            if (!q || q - p - 1 >= (long)sizeof name) break;
            memcpy(name, p + 1, (size_t)(q - p - 1));
            name[q - p - 1] = 0;
            for (k = 0; k < ns && strcmp(seen[k], name); k++) {}
            if (k == ns && ns < MAX_SHARDS) {
                strcpy(seen[ns++], name);
                snprintf(path, sizeof path, "%s/%s", argv[1], name);
                map_shard(path);
            }
            p = q + 1;
        }
    } else {
        snprintf(path, sizeof path, "%s/model.safetensors", argv[1]);
        map_shard(path);
    }
    snprintf(arch, sizeof arch, "%s", qwen ? "qwen2" : "llama");
    add("token_embd.weight", "model.embed_tokens.weight", 0);
    add("output_norm.weight", "model.norm.weight", 0);
    if (!c.tie_embeddings) add("output.weight", "lm_head.weight", 0);
    for (l = 0; l < c.n_layers; l++) {
#define ADD(gg, hf, perm) do { snprintf(nm, sizeof nm, "blk.%d.%s", l, gg); \
            snprintf(src, sizeof src, "model.layers.%d.%s", l, hf); add(nm, src, perm); } while (0)
        ADD("attn_norm.weight", "input_layernorm.weight", 0);
        ADD("attn_q.weight", "self_attn.q_proj.weight", qwen ? 0 : c.n_heads);
        ADD("attn_k.weight", "self_attn.k_proj.weight", qwen ? 0 : c.n_kv_heads);
        ADD("attn_v.weight", "self_attn.v_proj.weight", 0);
        ADD("attn_output.weight", "self_attn.o_proj.weight", 0);
        if (qwen) {
            ADD("attn_q.bias", "self_attn.q_proj.bias", 0);
            ADD("attn_k.bias", "self_attn.k_proj.bias", 0);
            ADD("attn_v.bias", "self_attn.v_proj.bias", 0);
        }
        ADD("ffn_norm.weight", "post_attention_layernorm.weight", 0);
        ADD("ffn_gate.weight", "mlp.gate_proj.weight", 0);
        ADD("ffn_up.weight", "mlp.up_proj.weight", 0);
        ADD("ffn_down.weight", "mlp.down_proj.weight", 0);
#undef ADD
    }
    for (i = 0; i < n_ot; i++) {
        OT[i].offset = off;
        off += (OT[i].bytes + 31) / 32 * 32;
    }
    if (!(f = fopen(argv[2], "wb"))) die("cannot write", argv[2]);
    put(f, "GGUF", 4);
    put_u32(f, 3);
    put_u64(f, (uint64_t)n_ot);
    put_u64(f, 14);
    kv_str(f, "general.architecture", arch); n_kv++;
    kv_str(f, "general.name", "uniql-bench-random"); n_kv++;
    kv_u32(f, "general.file_type", 1); n_kv++;
#define KEY(s) (snprintf(nm, sizeof nm, "%s.%s", arch, s), nm)
    kv_u32(f, KEY("context_length"), (uint32_t)c.max_position_embeddings); n_kv++;
    kv_u32(f, KEY("embedding_length"), (uint32_t)c.hidden_size); n_kv++;
    kv_u32(f, KEY("block_count"), (uint32_t)c.n_layers); n_kv++;
    kv_u32(f, KEY("feed_forward_length"), (uint32_t)c.intermediate_size); n_kv++;
    kv_u32(f, KEY("rope.dimension_count"), (uint32_t)hd); n_kv++;
    kv_u32(f, KEY("attention.head_count"), (uint32_t)c.n_heads); n_kv++;
    kv_u32(f, KEY("attention.head_count_kv"), (uint32_t)c.n_kv_heads); n_kv++;
    kv_f32(f, KEY("attention.layer_norm_rms_epsilon"), c.norm_eps); n_kv++;
    kv_f32(f, KEY("rope.freq_base"), (float)c.rope_theta); n_kv++;
    kv_u32(f, KEY("vocab_size"), (uint32_t)c.vocab_size); n_kv++;
#undef KEY
    kv_str(f, "tokenizer.ggml.model", "no_vocab"); n_kv++;
    if (n_kv != 14) die("metadata count mismatch", NULL);
    for (i = 0; i < n_ot; i++) {
        put_str(f, OT[i].name);
        put_u32(f, OT[i].rows == 1 && OT[i].f32 ? 1 : 2);
        put_u64(f, (uint64_t)OT[i].cols);
        if (!(OT[i].rows == 1 && OT[i].f32)) put_u64(f, (uint64_t)OT[i].rows);
        put_u32(f, OT[i].f32 ? 0 : 1);
        put_u64(f, OT[i].offset);
    }
    {
        long pos = ftell(f);
        static const unsigned char zero[32];
        put(f, zero, (size_t)((32 - pos % 32) % 32));
    }
    for (i = 0; i < n_ot; i++) {
        const out_tensor *o = &OT[i];
        static const unsigned char zero[32];
        long long r, k;
        uint16_t *row = (uint16_t *)malloc(sizeof(uint16_t) * (size_t)o->cols);
        if (!row) die("out of memory", NULL);
        if (o->f32) {
            for (k = 0; k < o->cols; k++) { float v = elem(o->src, (size_t)k); put(f, &v, 4); }
        } else {
            for (r = 0; r < o->rows; r++) {
                long long sr = r;
                if (o->permute_heads > 0) {
                    long long h = r / hd, w = r % hd, half = hd / 2;
                    sr = h * hd + (w % 2) * half + w / 2;   /* row 2i + j <- row j * half + i */
                }
                for (k = 0; k < o->cols; k++) {
                    size_t at = (size_t)sr * (size_t)o->cols + (size_t)k;
                    if (o->src->dtype == UNIQL_DTYPE_F16) memcpy(&row[k], (const unsigned char *)o->src->data + 2 * at, 2);
                    else row[k] = uniql_fp32_to_fp16(elem(o->src, at));
                }
                put(f, row, sizeof(uint16_t) * (size_t)o->cols);
            }
        }
        free(row);
        put(f, zero, (size_t)((32 - o->bytes % 32) % 32));
    }
    if (fclose(f)) die("write failed", argv[2]);
    printf("%s: %d tensors, %llu data bytes (F16 matrices, F32 vectors), arch %s\n", argv[2], n_ot, off, arch);
    return 0;
}
