/* generate.c - load a Hugging Face checkpoint folder (config.json + safetensors) of a
   byte-level model and continue a prompt greedily, one byte per token. Public API only.

       make build/generate
       ./build/generate tests/data/ref/llama "The quick brown fox" 64
*/
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    uniql_model *m;
    uniql_state *s;
    uniql_error err;
    const char *prompt;
    int n_new, n_prompt, i, tok, *toks;
    float *logits;
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR PROMPT [N_TOKENS]\n", argv[0]);
        return 2;
    }
    prompt = argv[2];
    n_prompt = (int)strlen(prompt);
    n_new = argc > 3 ? atoi(argv[3]) : 64;
    if (n_prompt < 1 || n_new < 0) {
        fprintf(stderr, "need a non-empty prompt and N_TOKENS >= 0\n");
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
    toks = (int *)malloc(sizeof(int) * (size_t)n_prompt);
    logits = (float *)malloc(sizeof(float) * (size_t)m->config.vocab_size);
    for (i = 0; i < n_prompt; i++) toks[i] = (unsigned char)prompt[i];   /* token = byte */
    fputs(prompt, stdout);
    if (uniql_forward(m, s, toks, n_prompt, logits, 0, NULL) == UNIQL_OK) {
        for (i = 0; i < n_new; i++) {
            tok = uniql_sample_greedy(logits, m->config.vocab_size);
            if ((tok < 32 && tok != '\n' && tok != '\t') || tok == 127) printf("\\x%02x", tok);
            else putchar(tok);   /* bytes >= 128 pass through: a byte model writes UTF-8 */
            if (i + 1 < n_new && uniql_forward(m, s, &tok, 1, logits, 0, NULL) != UNIQL_OK) break;
        }
    }
    putchar('\n');
    free(toks);
    free(logits);
    uniql_state_free(s);
    uniql_model_free(m);
    return 0;
}
