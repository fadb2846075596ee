/* bench_pack.c - memory and decode speed of packed .uniql models against the fp16
   checkpoint they came from, measured in one run (issue 6 evaluation):
     - weight bytes of the packed int4 model at 0/15/25/35 % pruning vs the fp16 weights
       (ratios), and the .uniql file size,
     - decode tokens/s of each vs the fp16-weight runtime (same prompt, same machine,
       same process, single thread),
     - held-out perplexity on a slice of the test text, for orientation.
   Byte-level models: tokens are the bytes of --test (data/test.txt), windows of 256, the
   decode prompt a 16-byte string. BPE models (MODEL_DIR has a tokenizer.json): tokens
   from --test-ids (tests/data/bpe/test.u16, little-endian uint16, the tokenizer's output
   on data/corpus/test.txt), windows of 512, the decode prompt the first 16 of those ids.
   Perplexity uses the first 16 windows (--ppl-windows).
   The 16-bit baseline runs the checkpoint's own dtype (fp16 or bf16 weights, fp32 compute).
   Usage: bench_pack [--test FILE] [--test-ids FILE] [--ppl-windows N] MODEL_DIR FILE.uniql [MODEL_DIR FILE.uniql ...]
   Public API only. */
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
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define N_DECODE 128

/* decode tokens/s: prefill a 16-token prompt, then N_DECODE greedy steps; best of 3 */
static double decode_tps(const uniql_model *m, const int *prompt)
{
    int toks[16], i, rep, tok;
    double best = 0;
    float *logits = (float *)malloc(sizeof(float) * (size_t)m->config.vocab_size);
    uniql_state *s;
    if (!logits || uniql_state_create(m, 16 + N_DECODE + 1, 0, NULL, &s) != UNIQL_OK) { free(logits); return 0; }
    for (i = 0; i < 16; i++) toks[i] = prompt[i];
    for (rep = 0; rep < 3; rep++) {
        double t;
        uniql_state_reset(s);
        if (uniql_forward(m, s, toks, 16, logits, 0, NULL) != UNIQL_OK) break;
        t = now_s();
        for (i = 0; i < N_DECODE; i++) {
            tok = uniql_sample_greedy(logits, m->config.vocab_size);
            if (uniql_forward(m, s, &tok, 1, logits, 0, NULL) != UNIQL_OK) break;
        }
        t = now_s() - t;
        if (t > 0 && N_DECODE / t > best) best = N_DECODE / t;
    }
    uniql_state_free(s);
    free(logits);
    return best;
}

static double ppl_of(const uniql_model *m, const int *tok, size_t n, int window)
{
    double ppl = 0;
    uniql_error err;
    if (uniql_perplexity(m, tok, n, window, 0, NULL, &ppl, NULL, NULL, &err) != UNIQL_OK) {
        fprintf(stderr, "perplexity: %s\n", err.message);
        return -1;
    }
    return ppl;
}

static int has_tokenizer(const char *dir)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* the held-out stream of a model's kind: bytes of a text, or little-endian uint16 ids */
static int *read_stream(const char *path, int u16, size_t *n)
{
    void *data = NULL;
    size_t size, i;
    int *t;
    uniql_error err;
    if (uniql_read_file(path, NULL, &data, &size, &err) != UNIQL_OK) { fprintf(stderr, "bench_pack: %s: %s\n", path, err.message); return NULL; }
    *n = u16 ? size / 2 : size;
    t = (int *)malloc(sizeof(int) * (*n + 16));
    if (t) {
        for (i = 0; i < *n; i++)
            t[i] = u16 ? ((const unsigned char *)data)[2 * i] | ((const unsigned char *)data)[2 * i + 1] << 8 : ((const unsigned char *)data)[i];
    }
    uniql_free_buffer(data, NULL);
    return t;
}

int main(int argc, char **argv)
{
    const char *test_path = "data/test.txt", *ids_path = "tests/data/bpe/test.u16";
    int ppl_windows = 16, a, first = 1, i;
    uniql_error err;
    static const double want[4] = {0, 0.15, 0.25, 0.35};
    static const char byte_prompt[] = "The module provi";
    cli_prog = "bench_pack";
    for (a = 1; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--test") && a + 1 < argc) test_path = argv[++a];
        else if (!strcmp(argv[a], "--test-ids") && a + 1 < argc) ids_path = argv[++a];
        else if (!strcmp(argv[a], "--ppl-windows") && a + 1 < argc) {
            if (!cli_int(argv[a], argv[a + 1], 0, 1 << 20, &ppl_windows)) return 2;
            a++;
        }
        else { fprintf(stderr, "usage: %s [--test FILE] [--test-ids FILE] [--ppl-windows N] MODEL_DIR FILE.uniql ...\n", argv[0]); return 2; }
    }
    if (a >= argc || (argc - a) % 2) { fprintf(stderr, "usage: %s [--test FILE] [--test-ids FILE] [--ppl-windows N] MODEL_DIR FILE.uniql ...\n", argv[0]); return 2; }
    printf("bench_pack: single thread, decode of %d tokens after a 16-token prompt (best of 3);\n"
           "memory = weight bytes a model references (fp16: as stored; packed: int4 g128 layers with fp16\n"
           "scales, int8 embeddings, the kept prefixes only); ppl on the first %d windows of the held-out\n"
           "stream (bytes of %s, windows of 256; BPE models: ids of %s, windows of 512)\n\n",
           N_DECODE, ppl_windows, test_path, ids_path);
    for (; a + 1 < argc; a += 2) {
        const char *dir = argv[a], *file = argv[a + 1];
        uniql_model *f16 = NULL, *m;
        uniql_packed pk;
        void *buf = NULL;
        size_t size, n_all = 0, n_tok;
        uint64_t b16;
        double tps16, ppl16, rates[UNIQL_PACK_MAX_RATES];
        int n_rates, k, r, bpe = has_tokenizer(dir), window = bpe ? 512 : 256, prompt[16];
        int *tok = read_stream(bpe ? ids_path : test_path, bpe, &n_all);
        uniql_kept kept[UNIQL_MAX_LAYERS];
        if (!tok) return 1;
        n_tok = (size_t)ppl_windows * (size_t)window;
        if (n_tok > n_all) n_tok = n_all - n_all % (size_t)window;
        for (i = 0; i < 16; i++) prompt[i] = bpe ? (i < (int)n_all ? tok[i] : 0) : (unsigned char)byte_prompt[i];
        if (uniql_model_load_dir(dir, NULL, &f16, &err) != UNIQL_OK) { fprintf(stderr, "%s: %s\n", dir, err.message); return 1; }
        if (uniql_read_file(file, NULL, &buf, &size, &err) != UNIQL_OK ||
            uniql_packed_open(buf, size, 0, NULL, &pk, &err) != UNIQL_OK ||
            uniql_packed_rates(&pk, rates, UNIQL_PACK_MAX_RATES, &n_rates, &err) != UNIQL_OK) {
            fprintf(stderr, "%s: %s\n", file, err.message);
            return 1;
        }
        b16 = uniql_model_weight_bytes(f16);
        tps16 = decode_tps(f16, prompt);
        ppl16 = n_tok ? ppl_of(f16, tok, n_tok, window) : 0;
        if (first) {
            printf("| model | weights | rate | weight MB | vs fp16 | decode tok/s | vs fp16 | ppl |\n");
            printf("|---|---|---|---|---|---|---|---|\n");
            first = 0;
        }
        printf("| %s | %s (HF) | 0 | %.3f | 1.00x | %.1f | 1.00x | %.4f |\n", dir,
               f16->embed.dtype == UNIQL_DTYPE_BF16 ? "bf16" : f16->embed.dtype == UNIQL_DTYPE_F32 ? "fp32" : "fp16", (double)b16 / 1048576.0,
               tps16, ppl16);
        fflush(stdout);
        for (k = 0; k < 4; k++) {
            uint64_t b;
            double tps, ppl;
            int ri = -1;
            for (r = 0; r < n_rates; r++) if (rates[r] > want[k] - 1e-9 && rates[r] < want[k] + 1e-9) ri = r;
            if (k > 0 && ri < 0) { printf("| %s | packed | %.2f | (no rate table) | | | | |\n", dir, want[k]); continue; }
            if (uniql_packed_kept(&pk, ri, kept, &err) != UNIQL_OK ||
                uniql_packed_model_load(&pk, kept, NULL, NULL, &m, &err) != UNIQL_OK) {
                fprintf(stderr, "%s: %s\n", file, err.message);
                return 1;
            }
            b = uniql_model_weight_bytes(m);
            tps = decode_tps(m, prompt);
            ppl = n_tok ? ppl_of(m, tok, n_tok, window) : 0;
            printf("| %s | packed int4 | %.2f | %.3f | %.2fx | %.1f | %.2fx | %.4f |\n", dir, want[k], (double)b / 1048576.0,
                   (double)b16 / (double)b, tps, tps16 > 0 ? tps / tps16 : 0, ppl);
            fflush(stdout);
            uniql_model_free(m);
        }
        printf("| %s | .uniql file | | %.3f on disk | | | | |\n", dir, (double)size / 1048576.0);
        uniql_packed_free(&pk);
        uniql_free_buffer(buf, NULL);
        uniql_model_free(f16);
        free(tok);
    }
    return 0;
}
