/* bench_runtime.c - prefill and decode speed of the four runtimes (single thread, the
   kernels uniql_matmul picks: VNNI (AVX2 + AVX-512) or AVX2 when the CPU has it, NEON on
   AArch64, else scalar), on the tiny reference
   models of tests/data/ref (or the model directories given) with weights converted to fp32
   at load. Prefill runs a 128-token prompt through uniql_forward in one call (batched
   matmuls); decode feeds 128 tokens one at a time after a 1-token start. Each figure is
   the best of several repetitions of at least 0.2 s of CPU time; ratios come from the
   same run.

       make bench-runtime            (from the repository root)
       ./build/bench_runtime [model_dir ...]
*/
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_TOK 128

static double now(void) { return (double)clock() / CLOCKS_PER_SEC; }

/* weights + biases + norms + SSM vectors, to compare with the counts make_ref.py logged */
static long long count_params(const uniql_model *m)
{
    const uniql_config *c = &m->config;
    long long n = (long long)m->embed.rows * m->embed.cols + c->hidden_size;
    int l;
    if (!c->tie_embeddings) n += (long long)m->lm_head.rows * m->lm_head.cols;
    for (l = 0; l < c->n_layers; l++) {
        const uniql_layer *y = &m->layers[l];
        n += c->hidden_size * (y->mlp_norm ? 2 : 1);
        if (y->type == UNIQL_BLOCK_DECODER || y->type == UNIQL_BLOCK_ATTENTION) {
            const uniql_attention *a = &y->attn;
            n += (long long)(a->q.rows + a->k.rows + a->v.rows) * a->q.cols + (long long)a->o.rows * a->o.cols;
            if (c->qkv_bias) n += a->q.rows + a->k.rows + a->v.rows;
            if (c->o_bias) n += a->o.rows;
        }
        if (y->type == UNIQL_BLOCK_DECODER || y->type == UNIQL_BLOCK_MLP || y->type == UNIQL_BLOCK_MAMBA_MLP) {
            const uniql_mlp *p = &y->mlp;
            int gates = c->mlp_act == UNIQL_MLP_SWIGLU ? 2 : 1;
            n += (long long)gates * p->up.rows * p->up.cols + (long long)p->down.rows * p->down.cols;
            if (c->mlp_bias) n += (long long)gates * p->up.rows + p->down.rows;
        }
        if (y->type == UNIQL_BLOCK_MAMBA || y->type == UNIQL_BLOCK_MAMBA_MLP) {
            const uniql_mamba *mb = &y->mamba;
            int ch = mb->in_x.rows + mb->in_B.rows + mb->in_C.rows, proj = mb->in_z.rows + ch + mb->in_dt.rows;
            n += (long long)proj * mb->in_z.cols + (long long)mb->out.rows * mb->out.cols;
            n += (long long)ch * (c->conv_kernel + (c->conv_bias ? 1 : 0)) + 3LL * c->ssm_heads + mb->in_z.rows;
            if (c->ssm_proj_bias) n += proj + mb->out.rows;
        }
    }
    return n;
}

/* tokens per CPU-second: best of `reps` runs, each repeated until >= 0.2 s */
static double bench(const uniql_model *m, uniql_state *s, const int *toks, int decode, float *logits)
{
    double best = 0;
    int rep;
    for (rep = 0; rep < 3; rep++) {
        double t0 = now(), dt;
        long long done = 0;
        do {
            uniql_state_reset(s);
            if (decode) {
                int t;
                uniql_forward(m, s, toks, 1, logits, 0, NULL);
                for (t = 1; t <= N_TOK; t++) uniql_forward(m, s, toks + t, 1, logits, 0, NULL);
                done += N_TOK;
            } else {
                uniql_forward(m, s, toks, N_TOK, logits, 0, NULL);
                done += N_TOK;
            }
            dt = now() - t0;
        } while (dt < 0.2);
        if (done / dt > best) best = done / dt;
    }
    return best;
}

int main(int argc, char **argv)
{
    static const char *const defaults[4] = { "tests/data/ref/llama", "tests/data/ref/qwen2", "tests/data/ref/mamba2",
                                             "tests/data/ref/nemotron_h" };
    const char *const *dirs = argc > 1 ? (const char *const *)(argv + 1) : defaults;
    int n_dirs = argc > 1 ? argc - 1 : 4, d, t, toks[N_TOK + 1];
    for (t = 0; t <= N_TOK; t++) toks[t] = (t * 37 + 11) % 256;
    printf("uniql.h runtime bench: fp32 weights, %s kernels, 1 thread, %d-token prompt / %d decoded tokens\n",
           uniql_kernel_available(UNIQL_KERNEL_VNNI)   ? "VNNI (AVX2 + AVX-512)"
           : uniql_kernel_available(UNIQL_KERNEL_AVX2) ? "AVX2"
           : uniql_kernel_available(UNIQL_KERNEL_NEON) ? "NEON" : "scalar",
           N_TOK, N_TOK);
    printf("%-26s %9s %14s %14s %9s\n", "model", "params", "prefill tok/s", "decode tok/s", "pre/dec");
    for (d = 0; d < n_dirs; d++) {
        uniql_load_options o;
        uniql_model *m;
        uniql_state *s;
        uniql_error e;
        float *logits;
        double pre, dec;
        memset(&o, 0, sizeof o);
        o.weights_f32 = 1;
        if (uniql_model_load_dir(dirs[d], &o, &m, &e) != UNIQL_OK) {
            printf("%-26s load failed: %s\n", dirs[d], e.message);
            continue;
        }
        if (uniql_state_create(m, N_TOK + 2, N_TOK, NULL, &s) != UNIQL_OK) {
            printf("%-26s state failed\n", dirs[d]);
            uniql_model_free(m);
            continue;
        }
        for (t = 0; t <= N_TOK; t++) toks[t] %= m->config.vocab_size;
        logits = (float *)malloc(sizeof(float) * m->config.vocab_size);
        pre = bench(m, s, toks, 0, logits);
        dec = bench(m, s, toks, 1, logits);
        printf("%-26s %9lld %14.0f %14.0f %9.2f\n", dirs[d], count_params(m), pre, dec, pre / dec);
        free(logits);
        uniql_state_free(s);
        uniql_model_free(m);
    }
    return 0;
}
