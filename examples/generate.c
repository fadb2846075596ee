/* generate.c - load a Hugging Face checkpoint folder (config.json + safetensors) of a
   byte-level model and continue a prompt, one byte per token. Public API only.

       make build/generate
       ./build/generate tests/data/ref/llama "The quick brown fox" 64
       ./build/generate models/llama-bytes-6m "The Python interpreter " 200 --top-p 0.9 --temp 0.8 --seed 1

   Greedy by default; --top-p P (with --temp T, default 1, and --seed S, default 0)
   samples from the nucleus (uniql_sample_top_p). After the text it prints one line:
   prompt and decode speed in tokens/s (wall clock, single thread). */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

int main(int argc, char **argv)
{
    uniql_model *m;
    uniql_state *s;
    uniql_error err;
    uniql_rng rng;
    uniql_prob_index *work;
    const char *prompt;
    int n_new = 64, n_prompt, i, tok, *toks, n_done = 0, argi;
    float *logits, top_p = 0.0f, temp = 1.0f;
    unsigned long seed = 0;
    double t0, t1, t2;
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR PROMPT [N_TOKENS] [--top-p P] [--temp T] [--seed S]\n", argv[0]);
        return 2;
    }
    prompt = argv[2];
    n_prompt = (int)strlen(prompt);
    argi = 3;
    if (argi < argc && argv[argi][0] != '-') n_new = atoi(argv[argi++]);
    for (; argi < argc; argi++) {
        if (argi + 1 < argc && !strcmp(argv[argi], "--top-p")) top_p = (float)atof(argv[++argi]);
        else if (argi + 1 < argc && !strcmp(argv[argi], "--temp")) temp = (float)atof(argv[++argi]);
        else if (argi + 1 < argc && !strcmp(argv[argi], "--seed")) seed = strtoul(argv[++argi], NULL, 10);
        else {
            fprintf(stderr, "unknown argument %s\n", argv[argi]);
            return 2;
        }
    }
    if (n_prompt < 1 || n_new < 0 || top_p < 0.0f || top_p > 1.0f) {
        fprintf(stderr, "need a non-empty prompt, N_TOKENS >= 0 and 0 <= top-p <= 1\n");
        return 2;
    }
    if (uniql_model_load_dir(argv[1], NULL, &m, &err) != UNIQL_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], err.message);
        return 1;
    }
    if (m->config.vocab_size < 256) {
        fprintf(stderr, "not a byte-level model (vocab %d)\n", m->config.vocab_size);
        uniql_model_free(m);
        return 1;
    }
    if (uniql_state_create(m, n_prompt + n_new, 0, NULL, &s) != UNIQL_OK) {
        fprintf(stderr, "out of memory for the runtime state\n");
        uniql_model_free(m);
        return 1;
    }
    uniql_rng_seed(&rng, (uint64_t)seed);
    toks = (int *)malloc(sizeof(int) * (size_t)n_prompt);
    logits = (float *)malloc(sizeof(float) * (size_t)m->config.vocab_size);
    work = (uniql_prob_index *)malloc(sizeof(uniql_prob_index) * (size_t)m->config.vocab_size);
    for (i = 0; i < n_prompt; i++) toks[i] = (unsigned char)prompt[i];   /* token = byte */
    fputs(prompt, stdout);
    t0 = now_s();
    t1 = t0;
    if (uniql_forward(m, s, toks, n_prompt, logits, 0, NULL) == UNIQL_OK) {
        t1 = now_s();
        for (i = 0; i < n_new; i++) {
            tok = top_p > 0.0f ? uniql_sample_top_p(logits, m->config.vocab_size, temp, top_p, &rng, work)
                               : uniql_sample_greedy(logits, m->config.vocab_size);
            if ((tok < 32 && tok != '\n' && tok != '\t') || tok == 127) printf("\\x%02x", tok);
            else putchar(tok);   /* bytes >= 128 pass through: a byte model writes UTF-8 */
            if (i + 1 < n_new && uniql_forward(m, s, &tok, 1, logits, 0, NULL) != UNIQL_OK) break;
            n_done++;
        }
    }
    t2 = now_s();
    putchar('\n');
    printf("[%s | %s | prefill %d tokens %.1f tok/s | decode %d tokens %.1f tok/s]\n",
           argv[1], top_p > 0.0f ? "top-p" : "greedy", n_prompt, n_prompt / (t1 - t0 > 0 ? t1 - t0 : 1e-9),
           n_done, n_done / (t2 - t1 > 0 ? t2 - t1 : 1e-9));
    free(toks);
    free(logits);
    free(work);
    uniql_state_free(s);
    uniql_model_free(m);
    return 0;
}
