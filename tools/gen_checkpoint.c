/* gen_checkpoint - write a random-weight Hugging Face checkpoint of a real model shape
   (config.json + safetensors shards + model.safetensors.index.json), so that speed and
   memory work at real sizes needs no download.

     gen_checkpoint [options] PRESET OUTDIR
       PRESET   tinyllama-1.1b | llama3-8b | qwen2.5-0.5b | qwen2.5-1.5b | mamba2-1.3b
                | llama-tiny-test (hidden 256, MLP 1024, vocab 2048, 8 layers: for tests)
       --dtype f16|bf16     weight dtype (default f16)
       --seed N             (default 1)
       --layers N           override the number of layers (quick runs)
       --shard-mb N         largest shard in MB (default 5000, as transformers' save)

   The shapes and config keys are those of the published configs (TinyLlama-1.1B,
   Meta-Llama-3-8B, Qwen2.5-0.5B/1.5B, state-spaces mamba2-1.3b in transformers' Mamba2
   layout). Values: every linear / embedding weight ~ N(0, 0.02^2) (transformers'
   initializer_range; a 4-uniform Irwin-Hall approximation of the normal, which is
   bounded by 0.14 and has the right variance), norm weights 1, Qwen2 q/k/v biases
   ~ N(0, 0.02^2), Mamba2 A_log = log U[1, 16], D = 1, dt_bias = softplus^-1 of
   dt = exp U[log 0.001, log 0.1] (Mamba2's initialisation), conv1d taps ~ N(0, 0.1^2),
   conv bias 0. Deterministic: each tensor is filled by its own splitmix64 stream seeded
   from (seed, tensor name), so the bytes do not depend on sharding or on the order of
   writing. Tensors are written in name order; every file is streamed (memory is a
   1 MB buffer), shards are cut at tensor boundaries. */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <errno.h>
#include <sys/stat.h>

typedef struct preset {
    const char *name;
    int mamba, qwen;
    int vocab, hidden, inter, layers, heads, kv_heads, tie;
    double rope_theta, eps;
    int max_pos;
    /* mamba2 */
    int state, head_dim, groups, conv;
} preset;

static const preset PRESETS[] = {
    { "tinyllama-1.1b", 0, 0, 32000, 2048, 5632, 22, 32, 4, 0, 10000.0, 1e-5, 2048, 0, 0, 0, 0 },
    { "llama3-8b", 0, 0, 128256, 4096, 14336, 32, 32, 8, 0, 500000.0, 1e-5, 8192, 0, 0, 0, 0 },
    { "qwen2.5-0.5b", 0, 1, 151936, 896, 4864, 24, 14, 2, 1, 1000000.0, 1e-6, 32768, 0, 0, 0, 0 },
    { "qwen2.5-1.5b", 0, 1, 151936, 1536, 8960, 28, 12, 2, 1, 1000000.0, 1e-6, 32768, 0, 0, 0, 0 },
    { "mamba2-1.3b", 1, 0, 50288, 2048, 0, 48, 0, 0, 1, 0, 1e-5, 0, 128, 64, 1, 4 },
    /* not a published model: a small Llama shape (2 MB of f16 weights per layer) for the
       peak-memory growth test of tools/pack (tests/test_packtool.c) */
    { "llama-tiny-test", 0, 0, 2048, 256, 1024, 8, 8, 2, 0, 10000.0, 1e-5, 2048, 0, 0, 0, 0 },
};

enum { FILL_NORMAL = 0, FILL_ONE, FILL_ZERO, FILL_ALOG, FILL_DTBIAS };

typedef struct tensor {
    char name[96];
    int ndim;
    long long shape[3];
    int fill;
    double scale;
    unsigned long long bytes, offset;
    int shard;
} tensor;

static tensor *T;
static int nT, capT;

static void add(const char *name, int ndim, long long d0, long long d1, long long d2, int fill, double scale)
{
    tensor *t;
    if (nT == capT) {
        capT = capT ? 2 * capT : 256;
        T = (tensor *)realloc(T, sizeof(tensor) * (size_t)capT);
        if (!T) { fprintf(stderr, "out of memory\n"); exit(1); }
    }
    t = &T[nT++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->shape[0] = d0; t->shape[1] = d1; t->shape[2] = d2;
    t->fill = fill;
    t->scale = scale;
}

static int cmp_tensor(const void *a, const void *b) { return strcmp(((const tensor *)a)->name, ((const tensor *)b)->name); }

static unsigned long long splitmix(unsigned long long *s)
{
    unsigned long long z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned long long fnv(const char *s, unsigned long long seed)
{
    unsigned long long h = 1469598103934665603ull ^ (seed * 0x100000001B3ull);
    while (*s) { h ^= (unsigned char)*s++; h *= 1099511628211ull; }
    return h;
}

/* the value of element i of tensor t (the stream advances once per element) */
static float value(const tensor *t, unsigned long long *st)
{
    unsigned long long z = splitmix(st);
    switch (t->fill) {
    case FILL_ONE: return 1.0f;
    case FILL_ZERO: return 0.0f;
    case FILL_ALOG: return (float)log(1.0 + 15.0 * (double)(z >> 11) * (1.0 / 9007199254740992.0));
    case FILL_DTBIAS: {
        double u = (double)(z >> 11) * (1.0 / 9007199254740992.0);
        double dt = exp(log(0.001) + u * (log(0.1) - log(0.001)));
        return (float)(dt + log(-expm1(-dt)));   /* softplus^-1(dt) */
    }
    default: {
        /* Irwin-Hall of 4 uniforms on [0, 1): mean 2, variance 1/3 */
        double s = (double)(z & 0xFFFF) + (double)((z >> 16) & 0xFFFF) + (double)((z >> 32) & 0xFFFF) + (double)(z >> 48);
        s = s / 65536.0 - 2.0;
        return (float)(t->scale * s * 1.7320508075688772);
    }
    }
}

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "gen_checkpoint: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(1);
}

/* a whole-string decimal integer in [lo, hi] (tools/cli.h, as every program), else exit 2
   naming the option */
static long cli_long(const char *opt, const char *s, long lo, long hi)
{
    long long v = 0;
    cli_prog = "gen_checkpoint";
    if (!cli_ll(opt, s, lo, hi, &v)) exit(2);
    return (long)v;
}

static void build_llama(const preset *p)
{
    int l, D = p->hidden, hd = D / p->heads;
    char nm[96];
    add("model.embed_tokens.weight", 2, p->vocab, D, 0, FILL_NORMAL, 0.02);
    add("model.norm.weight", 1, D, 0, 0, FILL_ONE, 0);
    if (!p->tie) add("lm_head.weight", 2, p->vocab, D, 0, FILL_NORMAL, 0.02);
    for (l = 0; l < p->layers; l++) {
#define NM(s) (snprintf(nm, sizeof nm, "model.layers.%d.%s", l, s), nm)
        add(NM("input_layernorm.weight"), 1, D, 0, 0, FILL_ONE, 0);
        add(NM("post_attention_layernorm.weight"), 1, D, 0, 0, FILL_ONE, 0);
        add(NM("self_attn.q_proj.weight"), 2, p->heads * hd, D, 0, FILL_NORMAL, 0.02);
        add(NM("self_attn.k_proj.weight"), 2, p->kv_heads * hd, D, 0, FILL_NORMAL, 0.02);
        add(NM("self_attn.v_proj.weight"), 2, p->kv_heads * hd, D, 0, FILL_NORMAL, 0.02);
        add(NM("self_attn.o_proj.weight"), 2, D, p->heads * hd, 0, FILL_NORMAL, 0.02);
        if (p->qwen) {
            add(NM("self_attn.q_proj.bias"), 1, p->heads * hd, 0, 0, FILL_NORMAL, 0.02);
            add(NM("self_attn.k_proj.bias"), 1, p->kv_heads * hd, 0, 0, FILL_NORMAL, 0.02);
            add(NM("self_attn.v_proj.bias"), 1, p->kv_heads * hd, 0, 0, FILL_NORMAL, 0.02);
        }
        add(NM("mlp.gate_proj.weight"), 2, p->inter, D, 0, FILL_NORMAL, 0.02);
        add(NM("mlp.up_proj.weight"), 2, p->inter, D, 0, FILL_NORMAL, 0.02);
        add(NM("mlp.down_proj.weight"), 2, D, p->inter, 0, FILL_NORMAL, 0.02);
#undef NM
    }
}

static void build_mamba2(const preset *p)
{
    int l, D = p->hidden, Di = 2 * D, H = Di / p->head_dim, GN = p->groups * p->state;
    int proj = 2 * Di + 2 * GN + H, convc = Di + 2 * GN;
    char nm[96];
    add("backbone.embeddings.weight", 2, p->vocab, D, 0, FILL_NORMAL, 0.02);
    add("backbone.norm_f.weight", 1, D, 0, 0, FILL_ONE, 0);
    for (l = 0; l < p->layers; l++) {
#define NM(s) (snprintf(nm, sizeof nm, "backbone.layers.%d.%s", l, s), nm)
        add(NM("norm.weight"), 1, D, 0, 0, FILL_ONE, 0);
        add(NM("mixer.in_proj.weight"), 2, proj, D, 0, FILL_NORMAL, 0.02);
        add(NM("mixer.conv1d.weight"), 3, convc, 1, p->conv, FILL_NORMAL, 0.1);
        add(NM("mixer.conv1d.bias"), 1, convc, 0, 0, FILL_ZERO, 0);
        add(NM("mixer.dt_bias"), 1, H, 0, 0, FILL_DTBIAS, 0);
        add(NM("mixer.A_log"), 1, H, 0, 0, FILL_ALOG, 0);
        add(NM("mixer.D"), 1, H, 0, 0, FILL_ONE, 0);
        add(NM("mixer.norm.weight"), 1, Di, 0, 0, FILL_ONE, 0);
        add(NM("mixer.out_proj.weight"), 2, D, Di, 0, FILL_NORMAL, 0.02);
#undef NM
    }
}

static void write_config(const char *dir, const preset *p, const char *dtype)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!(f = fopen(path, "w"))) die("cannot write", path);
    if (p->mamba) {
        int Di = 2 * p->hidden;
        fprintf(f, "{\n  \"architectures\": [\"Mamba2ForCausalLM\"],\n  \"model_type\": \"mamba2\",\n"
                   "  \"hidden_size\": %d,\n  \"num_hidden_layers\": %d,\n  \"vocab_size\": %d,\n"
                   "  \"state_size\": %d,\n  \"expand\": 2,\n  \"head_dim\": %d,\n  \"num_heads\": %d,\n"
                   "  \"n_groups\": %d,\n  \"conv_kernel\": %d,\n  \"chunk_size\": 256,\n  \"hidden_act\": \"silu\",\n"
                   "  \"layer_norm_epsilon\": %g,\n  \"rms_norm\": true,\n  \"norm_before_gate\": false,\n"
                   "  \"residual_in_fp32\": true,\n  \"tie_word_embeddings\": true,\n  \"use_bias\": false,\n"
                   "  \"use_conv_bias\": true,\n  \"time_step_min\": 0.001,\n  \"time_step_max\": 0.1,\n"
                   "  \"time_step_floor\": 0.0001,\n  \"torch_dtype\": \"%s\"\n}\n",
                p->hidden, p->layers, p->vocab, p->state, p->head_dim, Di / p->head_dim, p->groups, p->conv, p->eps,
                dtype);
    } else {
        fprintf(f, "{\n  \"architectures\": [\"%s\"],\n  \"model_type\": \"%s\",\n  \"hidden_act\": \"silu\",\n"
                   "  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n  \"num_hidden_layers\": %d,\n"
                   "  \"num_attention_heads\": %d,\n  \"num_key_value_heads\": %d,\n  \"vocab_size\": %d,\n"
                   "  \"max_position_embeddings\": %d,\n  \"rms_norm_eps\": %g,\n  \"rope_theta\": %.1f,\n"
                   "  \"tie_word_embeddings\": %s,\n  \"initializer_range\": 0.02,\n",
                p->qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM", p->qwen ? "qwen2" : "llama", p->hidden, p->inter,
                p->layers, p->heads, p->kv_heads, p->vocab, p->max_pos, p->eps, p->rope_theta, p->tie ? "true" : "false");
        if (p->qwen) fprintf(f, "  \"use_sliding_window\": false,\n  \"sliding_window\": %d,\n  \"max_window_layers\": %d,\n", p->max_pos, p->layers);
        else fprintf(f, "  \"attention_bias\": false,\n  \"rope_scaling\": null,\n");
        fprintf(f, "  \"torch_dtype\": \"%s\"\n}\n", dtype);
    }
    if (fclose(f)) die("cannot write", path);
}

int main(int argc, char **argv)
{
    const preset *p = NULL;
    preset pp;
    const char *dir = NULL, *dtype = "f16";
    long seed = 1, layers = 0, shard_mb = 5000;
    int i, bf16, n_shards = 1, s;
    unsigned long long shard_bytes, cur = 0, total = 0;
    uint16_t *buf;
    char path[1024];
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dtype") && i + 1 < argc) dtype = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = cli_long("--seed", argv[++i], 0, 1L << 40);
        else if (!strcmp(argv[i], "--layers") && i + 1 < argc) layers = cli_long("--layers", argv[++i], 1, 512);
        else if (!strcmp(argv[i], "--shard-mb") && i + 1 < argc) shard_mb = cli_long("--shard-mb", argv[++i], 1, 1L << 30);
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { p = NULL; dir = NULL; break; }
        else if (argv[i][0] == '-') die("unknown option", argv[i]);
        else if (!p) {
            size_t k;
            for (k = 0; k < sizeof PRESETS / sizeof *PRESETS; k++)
                if (!strcmp(argv[i], PRESETS[k].name)) p = &PRESETS[k];
            if (!p) die("unknown preset", argv[i]);
        } else if (!dir) dir = argv[i];
        else die("too many arguments", argv[i]);
    }
    if (!p || !dir) {
        fprintf(stderr, "usage: gen_checkpoint [--dtype f16|bf16] [--seed N] [--layers N] [--shard-mb N] PRESET OUTDIR\n"
                        "presets: tinyllama-1.1b llama3-8b qwen2.5-0.5b qwen2.5-1.5b mamba2-1.3b llama-tiny-test\n");
        return 2;
    }
    if (strcmp(dtype, "f16") && strcmp(dtype, "bf16")) die("--dtype must be f16 or bf16", dtype);
    bf16 = !strcmp(dtype, "bf16");
    pp = *p;
    if (layers) pp.layers = (int)layers;
    if (mkdir(dir, 0777) && errno != EEXIST) die("cannot create", dir);
    if (pp.mamba) build_mamba2(&pp); else build_llama(&pp);
    qsort(T, (size_t)nT, sizeof *T, cmp_tensor);
    /* shards: tensors in name order, a new shard when the next tensor would overflow */
    shard_bytes = (unsigned long long)shard_mb * 1000000ull;
    for (i = 0; i < nT; i++) {
        tensor *t = &T[i];
        unsigned long long n = 1;
        int k;
        for (k = 0; k < t->ndim; k++) n *= (unsigned long long)t->shape[k];
        t->bytes = n * 2;
        if (cur > 0 && cur + t->bytes > shard_bytes) { n_shards++; cur = 0; }
        t->shard = n_shards - 1;
        t->offset = cur;
        cur += t->bytes;
        total += t->bytes;
    }
    write_config(dir, &pp, bf16 ? "bfloat16" : "float16");
    buf = (uint16_t *)malloc(sizeof(uint16_t) * (1u << 19));
    if (!buf) die("out of memory", NULL);
    for (s = 0; s < n_shards; s++) {
        FILE *f;
        char *hdr;
        size_t cap = 1u << 20, len = 0, pad;
        unsigned long long hl;
        hdr = (char *)malloc(cap);
        if (!hdr) die("out of memory", NULL);
        len += (size_t)snprintf(hdr + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
        for (i = 0; i < nT; i++) {
            tensor *t = &T[i];
            int k;
            if (t->shard != s) continue;
            if (cap - len < 512) { cap *= 2; hdr = (char *)realloc(hdr, cap); if (!hdr) die("out of memory", NULL); }
            len += (size_t)snprintf(hdr + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t->name, bf16 ? "BF16" : "F16");
            for (k = 0; k < t->ndim; k++) len += (size_t)snprintf(hdr + len, cap - len, "%s%lld", k ? "," : "", t->shape[k]);
            len += (size_t)snprintf(hdr + len, cap - len, "],\"data_offsets\":[%llu,%llu]}", t->offset, t->offset + t->bytes);
        }
        len += (size_t)snprintf(hdr + len, cap - len, "}");
        pad = (8 - len % 8) % 8;      /* the data area starts 8-byte aligned (spaces, as safetensors does) */
        if (cap - len < 16) { cap += 16; hdr = (char *)realloc(hdr, cap); if (!hdr) die("out of memory", NULL); }
        memset(hdr + len, ' ', pad);
        len += pad;
        if (n_shards == 1) snprintf(path, sizeof path, "%s/model.safetensors", dir);
        else snprintf(path, sizeof path, "%s/model-%05d-of-%05d.safetensors", dir, s + 1, n_shards);
        if (!(f = fopen(path, "wb"))) die("cannot write", path);
        hl = (unsigned long long)len;
        {
            unsigned char le[8];
            int k;
            for (k = 0; k < 8; k++) le[k] = (unsigned char)(hl >> (8 * k));
            if (fwrite(le, 1, 8, f) != 8 || fwrite(hdr, 1, len, f) != len) die("write failed", path);
        }
        for (i = 0; i < nT; i++) {
            tensor *t = &T[i];
            unsigned long long n = t->bytes / 2, done = 0, st = fnv(t->name, (unsigned long long)seed);
            if (t->shard != s) continue;
            while (done < n) {
                size_t m = n - done < (1u << 19) ? (size_t)(n - done) : (1u << 19), k;
                for (k = 0; k < m; k++) {
                    float v = value(t, &st);
                    buf[k] = bf16 ? uniql_fp32_to_bf16(v) : uniql_fp32_to_fp16(v);
                }
                if (fwrite(buf, 2, m, f) != m) die("write failed", path);
                done += m;
            }
        }
        if (fclose(f)) die("write failed", path);
        free(hdr);
        fprintf(stderr, "wrote %s\n", path);
    }
    if (n_shards > 1) {
        FILE *f;
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
        if (!(f = fopen(path, "w"))) die("cannot write", path);
        fprintf(f, "{\n  \"metadata\": {\"total_size\": %llu},\n  \"weight_map\": {\n", total);
        for (i = 0; i < nT; i++)
            fprintf(f, "    \"%s\": \"model-%05d-of-%05d.safetensors\"%s\n", T[i].name, T[i].shard + 1, n_shards, i + 1 < nT ? "," : "");
        fprintf(f, "  }\n}\n");
        if (fclose(f)) die("write failed", path);
    } else {
        /* a single-file checkpoint carries no index; a stale one from a sharded run would mislead the loader */
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
        remove(path);
    }
    printf("%s: %d tensors, %llu bytes of %s weights, %d shard(s) in %s\n", pp.name, nT, total, dtype, n_shards, dir);
    free(buf);
    free(T);
    return 0;
}
