/* generate.c - load a Hugging Face checkpoint folder (config.json + safetensors) of a
   model and continue a prompt. With MODEL_DIR/tokenizer.json the prompt is text through
   that tokenizer (BOS as its post-processor says) and the continuation is printed as
   decoded text, streamed, until eos; without one, one byte per token (the project's
   byte-level models). Public API only.

       make build/generate
       ./build/generate tests/data/ref/llama "The quick brown fox" 64
       ./build/generate models/llama-bytes-6m "The Python interpreter " 200 --top-p 0.9 --temp 0.8 --seed 1

   Greedy by default; --top-p P (with --temp T, default 1, and --seed S, default 0)
   samples from the nucleus (uniql_sample_top_p). After the text it prints one line:
   prompt and decode speed in tokens/s (wall clock, single thread). */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "../tools/cli.h"
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
    int n_new = 64, n_prompt, i, tok, *toks, n_done = 0, argi, eos = -1, *ptoks = NULL, *gen = NULL;
    uniql_tokenizer *tk = NULL;
    uniql_decode_stream ds;
    FILE *f;
    float *logits, top_p = 0.0f, temp = 1.0f;
    uint64_t seed = 0;
    double t0, t1, t2;
    double top_p_d = 0.0, temp_d = 1.0;
    uint64_t seed64 = 0, max_state = (uint64_t)4096 << 20;
    double max_state_mb = 4096;
    uniql_state_options so;
    uniql_result r;
    cli_prog = "generate";
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR PROMPT [N_TOKENS] [--top-p P] [--temp T] [--seed S] [--max-state-mb M]\n"
                        "  (--max-state-mb: refuse a runtime state (KV cache, SSM state) above M MB, default 4096)\n", argv[0]);
        return 2;
    }
    prompt = argv[2];
    n_prompt = (int)strlen(prompt);
    memset(&ds, 0, sizeof ds);
    argi = 3;
    if (argi < argc && argv[argi][0] != '-' && !cli_int("N_TOKENS", argv[argi++], 0, 1 << 20, &n_new)) return 2;
    for (; argi < argc; argi++) {
        const char *a = argv[argi], *v = argi + 1 < argc ? argv[argi + 1] : NULL;
        int ok;
        if (!v && (!strcmp(a, "--top-p") || !strcmp(a, "--temp") || !strcmp(a, "--seed") || !strcmp(a, "--max-state-mb"))) {
            fprintf(stderr, "generate: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--top-p")) ok = cli_double(a, v, 0.0, 1.0, 0, &top_p_d);
        else if (!strcmp(a, "--temp")) ok = cli_double(a, v, 0.0, 1e6, 0, &temp_d);
        else if (!strcmp(a, "--seed")) ok = cli_u64(a, v, &seed64);
        else if (!strcmp(a, "--max-state-mb")) ok = cli_mb(a, v, 1e9, &max_state_mb, &max_state);
        else {
            fprintf(stderr, "generate: unknown argument %s\n", a);
            return 2;
        }
        if (!ok) return 2;
        argi++;
    }
    top_p = (float)top_p_d;
    temp = (float)temp_d;
    seed = seed64;
    if (n_prompt < 1 || n_prompt > (1 << 20)) {
        fprintf(stderr, "generate: the prompt must hold 1 to 1048576 bytes\n");
        return 2;
    }
    if (uniql_model_load_dir(argv[1], NULL, &m, &err) != UNIQL_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], err.message);
        return 1;
    }
    {   /* MODEL_DIR/tokenizer.json: text in, text out; without one, token = byte */
        char tp[4096];
        snprintf(tp, sizeof tp, "%s/tokenizer.json", argv[1]);
        if ((f = fopen(tp, "rb")) != NULL) {
            fclose(f);
            if (uniql_tokenizer_load_dir(argv[1], NULL, &tk, &err) != UNIQL_OK) {
                fprintf(stderr, "%s: %s\n", argv[1], err.message);
                uniql_model_free(m);
                return 1;
            }
        }
    }
    if (tk) {
        size_t nt = 0;
        uniql_tokenizer_info ti;
        uniql_tokenizer_get_info(tk, &ti);
        eos = ti.eos_id;
        if (uniql_tokenizer_encode(tk, prompt, strlen(prompt), UNIQL_TOK_ADD_SPECIAL, &ptoks, &nt, &err) != UNIQL_OK ||
            nt < 1 || nt > (1u << 20)) {
            fprintf(stderr, "generate: prompt: %s\n", nt ? err.message : "no tokens");
            return 2;
        }
        n_prompt = (int)nt;
        for (i = 0; i < n_prompt; i++)
            if (ptoks[i] >= m->config.vocab_size) { fprintf(stderr, "generate: token %d outside the model's vocabulary\n", ptoks[i]); return 1; }
        gen = (int *)malloc(sizeof(int) * (size_t)(n_new > 0 ? n_new : 1));
        if (!gen) { fprintf(stderr, "generate: out of memory\n"); return 1; }
    } else if (m->config.vocab_size < 256) {
        fprintf(stderr, "not a byte-level model (vocab %d) and no tokenizer.json in %s\n", m->config.vocab_size, argv[1]);
        uniql_model_free(m);
        return 1;
    }
    /* the state's size follows the config, not the file: ask first, refuse above the cap */
    memset(&so, 0, sizeof so);
    so.max_ctx = n_prompt + n_new;
    so.max_bytes = max_state;
    if ((r = uniql_state_create_ex(m, &so, &s)) != UNIQL_OK) {
        uint64_t need = 0;
        uniql_state_bytes(m, &so, &need);
        fprintf(stderr, "generate: runtime state for %d positions (%.1f MB%s): %s (%d)\n", n_prompt + n_new,
                (double)need / 1048576.0, r == UNIQL_ERR_BUDGET ? ", above --max-state-mb" : "", uniql_result_string(r), (int)r);
        uniql_model_free(m);
        return 1;
    }
    uniql_rng_seed(&rng, (uint64_t)seed);
    toks = (int *)malloc(sizeof(int) * (size_t)n_prompt);
    logits = (float *)malloc(sizeof(float) * (size_t)m->config.vocab_size);
    work = (uniql_prob_index *)malloc(sizeof(uniql_prob_index) * (size_t)m->config.vocab_size);
    if (!toks || !logits || !work) {
        fprintf(stderr, "generate: out of memory\n");
        return 1;
    }
    for (i = 0; i < n_prompt; i++) toks[i] = tk ? ptoks[i] : (unsigned char)prompt[i];   /* byte model: token = byte */
    fputs(prompt, stdout);
    t0 = now_s();
    t1 = t0;
    r = uniql_forward(m, s, toks, n_prompt, logits, 0, NULL);
    if (r == UNIQL_OK) {
        t1 = now_s();
        for (i = 0; i < n_new; i++) {
            tok = top_p > 0.0f ? uniql_sample_top_p(logits, m->config.vocab_size, temp, top_p, &rng, work)
                               : uniql_sample_greedy(logits, m->config.vocab_size);
            if (tk) {
                /* streaming decode: a character split across tokens is printed once, whole */
                char *piece;
                size_t pl;
                int stop = tok == eos;
                gen[i] = tok;
                if (uniql_tokenizer_decode_next(tk, &ds, gen, (size_t)i + (stop ? 0 : 1), 0, stop || i + 1 == n_new, &piece,
                                                &pl, &err) == UNIQL_OK) {
                    fwrite(piece, 1, pl, stdout);
                    uniql_free_buffer(piece, NULL);
                }
                fflush(stdout);
                if (stop) { n_done++; break; }
            } else if ((tok < 32 && tok != '\n' && tok != '\t') || tok == 127) printf("\\x%02x", tok);
            else putchar(tok);   /* bytes >= 128 pass through: a byte model writes UTF-8 */
            n_done++;
            if (i + 1 < n_new && (r = uniql_forward(m, s, &tok, 1, logits, 0, NULL)) != UNIQL_OK) break;
        }
    }
    t2 = now_s();
    putchar('\n');
    if (r != UNIQL_OK) {
        /* no speed line for a run that did not happen: the forward's code instead */
        fflush(stdout);
        fprintf(stderr, "generate: forward failed at position %d: %s (%d)\n", uniql_state_pos(s), uniql_result_string(r), (int)r);
        n_new = -1;
    } else
        printf("[%s | %s | prefill %d tokens %.1f tok/s | decode %d tokens %.1f tok/s]\n",
               argv[1], top_p > 0.0f ? "top-p" : "greedy", n_prompt, n_prompt / (t1 - t0 > 0 ? t1 - t0 : 1e-9),
               n_done > 0 ? n_done - 1 : 0, (n_done > 1 ? n_done - 1 : 0) / (t2 - t1 > 0 ? t2 - t1 : 1e-9));
    free(toks);
    free(gen);
    uniql_free_buffer(ptoks, NULL);
    uniql_tokenizer_free(tk);
    free(logits);
    free(work);
    uniql_state_free(s);
    uniql_model_free(m);
    return n_new < 0 ? 1 : 0;
}
