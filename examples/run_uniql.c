/* run_uniql.c - the device side of UniQL: open a .uniql file, choose the pruning rate
   (a flag, or the largest kept model that fits a memory budget) and the LSAQ bit plan
   (a weight budget over the layer importance stored in the file), print the plan, then
   continue a prompt (text through the tokenizer the file carries, or bytes for a
   byte-level model; the output streamed as decoded text) and report size on disk,
   resident memory and decode tokens/s.
   The weights are used in place: the file is mapped (POSIX) and the model is views into
   it, so the chosen model reads only the kept prefixes (how much of the mapped file the
   kernel then keeps resident is its own choice: on the machine of the README's figures it
   was the whole file, see "Packed files"). Public API only.

       make build/run_uniql
       ./build/run_uniql build/demo/nemotronh-bpe-17m.uniql --rate 0.25 --prompt "The Linux kernel" --tokens 48
       ./build/run_uniql FILE --mem-mb 2.5 --bits-budget-mb 3
*/
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "../tools/cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define HAVE_MMAP 1
#endif

static double now_s(void)
{
#ifdef HAVE_MMAP
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

/* resident set size in bytes from /proc/self/statm (Linux), 0 elsewhere */
static double rss_bytes(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    fclose(f);
#ifdef HAVE_MMAP
    return (double)res * (double)sysconf(_SC_PAGESIZE);
#else
    return (double)res * 4096.0;
#endif
}

typedef struct mapped { void *p; size_t n; int mapped; } mapped;

static int map_file(const char *path, mapped *m, uniql_error *err)
{
#ifdef HAVE_MMAP
    struct stat st;
    /* non-blocking open + fstat: a FIFO or device is not mapped (nor waited on); the
       fallback below (uniql_read_file) then refuses it with its message */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p == MAP_FAILED) return 0;
        m->p = p; m->n = (size_t)st.st_size; m->mapped = 1;
        return 1;
    }
    if (fd >= 0) close(fd);
#endif
    m->mapped = 0;
    return uniql_read_file(path, NULL, &m->p, &m->n, err) == UNIQL_OK;
}

static void unmap_file(mapped *m)
{
#ifdef HAVE_MMAP
    if (m->mapped) { munmap(m->p, m->n); return; }
#endif
    uniql_free_buffer(m->p, NULL);
}

static void usage(FILE *f, const char *a0)
{
    fprintf(f,
        "usage: %s FILE.uniql [options]\n"
        "  --rate R            global pruning rate: 0 (full) or one of the file's rate tables\n"
        "  --mem-mb M          instead of --rate: the largest kept model whose int4 weights fit\n"
        "                      M MB; the rest of M then goes to LSAQ int8 upgrades (one budget)\n"
        "  --bits-budget-mb B  LSAQ: upgrade the most important layers to their stored int8\n"
        "                      copies within B MB of weights (at the chosen rate)\n"
        "  --importance K      lsaq (default) or block_influence for the bit plan\n"
        "  --prompt TEXT       prompt text (default \"The \"): tokenized with the tokenizer the\n"
        "                      file carries (the output is decoded text, streamed), or bytes\n"
        "                      for a byte-level model\n"
        "  --tokens N          tokens to generate greedily (default 64; bytes for a byte-level model)\n"
        "  --max-state-mb M    refuse a runtime state (KV cache, SSM state) above M MB (default 4096)\n"
        "  --quiet             print only the measurement line\n", a0);
}

int main(int argc, char **argv)
{
    const char *path = NULL, *prompt = "The ", *which = "lsaq";
    double rate = -1, mem_mb = -1, bits_mb = -1;
    int n_new = 64, quiet = 0, i, l, L, ri = -1, n_rates, n_prompt, tok, *toks, bits[UNIQL_MAX_LAYERS], *bp = NULL, n8 = 0;
    double rates[UNIQL_PACK_MAX_RATES], rss0, rss1, t_prefill, t_decode;
    mapped mf;
    uniql_packed pk;
    uniql_model *m;
    uniql_state *s;
    uniql_error err;
    uniql_kept kept[UNIQL_MAX_LAYERS];
    uint64_t wbytes, plan_total = 0;
    float *logits;
    char out[4096];
    int n_out = 0, n_gen = 0, eos = -1, *gen = NULL;
    uniql_tokenizer *tk = NULL;
    uniql_decode_stream ds;
    uint64_t mem_bytes = 0, bits_bytes = 0, max_state = (uint64_t)4096 << 20;
    double max_state_mb = 4096;
    uniql_state_options so;
    uniql_result r;
    cli_prog = "run_uniql";
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout, argv[0]); return 0; }
        else if (!strcmp(a, "--quiet")) { quiet = 1; continue; }
        else if (!v && (!strcmp(a, "--rate") || !strcmp(a, "--mem-mb") || !strcmp(a, "--bits-budget-mb") ||
                        !strcmp(a, "--importance") || !strcmp(a, "--prompt") || !strcmp(a, "--tokens") ||
                        !strcmp(a, "--max-state-mb"))) {
            fprintf(stderr, "run_uniql: %s needs a value\n", a);
            return 2;
        }
        else if (!strcmp(a, "--rate")) ok = cli_double(a, v, 0.0, 1.0, CLI_OPEN_HI, &rate);
        else if (!strcmp(a, "--mem-mb")) ok = cli_mb(a, v, 1e9, &mem_mb, &mem_bytes);
        else if (!strcmp(a, "--bits-budget-mb")) ok = cli_mb(a, v, 1e9, &bits_mb, &bits_bytes);
        else if (!strcmp(a, "--importance")) {
            which = v;
            if (strcmp(v, "lsaq") && strcmp(v, "block_influence")) ok = cli_bad(a, v, "must be lsaq or block_influence");
        }
        else if (!strcmp(a, "--prompt")) prompt = v;
        else if (!strcmp(a, "--tokens")) ok = cli_int(a, v, 1, 4000, &n_new);
        else if (!strcmp(a, "--max-state-mb")) ok = cli_mb(a, v, 1e9, &max_state_mb, &max_state);
        else if (a[0] == '-' || path) { fprintf(stderr, "run_uniql: unexpected '%s' (see --help)\n", a); return 2; }
        else { path = a; continue; }
        if (!ok) return 2;
        i++;
    }
    n_prompt = (int)strlen(prompt);
    if (!path) { usage(stderr, argv[0]); return 2; }
    if (n_prompt < 1 || n_prompt > (1 << 20)) { fprintf(stderr, "run_uniql: the prompt must hold 1 to 1048576 bytes\n"); return 2; }
    if (rate >= 0 && mem_mb >= 0) { fprintf(stderr, "run_uniql: --rate and --mem-mb exclude each other\n"); return 2; }
    rss0 = rss_bytes();
    /* verify the whole file once (checksum), then map it afresh so that only the pages
       the chosen model touches become resident */
    memset(&err, 0, sizeof err);
    memset(&ds, 0, sizeof ds);
    if (!map_file(path, &mf, &err)) {
        fprintf(stderr, "run_uniql: cannot read %s%s%s\n", path, err.message[0] ? ": " : "", err.message);
        return 1;
    }
    if (uniql_packed_open(mf.p, mf.n, 0, NULL, &pk, &err) != UNIQL_OK) {
        fprintf(stderr, "run_uniql: %s: %s (%s)\n", path, err.message, uniql_result_string(err.code));
        unmap_file(&mf);
        return 1;
    }
    if (mf.mapped) {
        uniql_packed_free(&pk);
        unmap_file(&mf);
        if (!map_file(path, &mf, &err) || uniql_packed_open(mf.p, mf.n, UNIQL_PACK_SKIP_CHECKSUM, NULL, &pk, &err) != UNIQL_OK) {
            fprintf(stderr, "run_uniql: %s changed while opening\n", path);
            return 1;
        }
    }
    if (uniql_packed_rates(&pk, rates, UNIQL_PACK_MAX_RATES, &n_rates, &err) != UNIQL_OK ||
        uniql_packed_kept(&pk, -1, kept, &err) != UNIQL_OK) {
        fprintf(stderr, "run_uniql: %s: %s\n", path, err.message);
        goto fail;
    }
    if (mem_mb >= 0) {
        uint64_t b;
        r = uniql_packed_select_rate(&pk, mem_bytes, NULL, &ri, &b, &err);
        if (r != UNIQL_OK) { fprintf(stderr, "run_uniql: --mem-mb %.3f: %s\n", mem_mb, err.message); goto fail; }
    } else if (rate > 0) {
        for (i = 0; i < n_rates; i++) if (rates[i] > rate - 1e-9 && rates[i] < rate + 1e-9) ri = i;
        if (ri < 0) {
            fprintf(stderr, "run_uniql: the file has no rate table %.3f; it has 0", rate);
            for (i = 0; i < n_rates; i++) fprintf(stderr, ", %.2f", rates[i]);
            fputc('\n', stderr);
            goto fail;
        }
    }
    if (uniql_packed_kept(&pk, ri, kept, &err) != UNIQL_OK) { fprintf(stderr, "run_uniql: %s\n", err.message); goto fail; }
    if (bits_mb < 0 && mem_mb >= 0) {
        /* one budget for both: the rate that fits at all-int4, then LSAQ upgrades in what is
           left, when the file carries int8 copies and importance */
        double imp[UNIQL_MAX_LAYERS];
        if (uniql_packed_importance(&pk, which, imp, &err) == UNIQL_OK) { bits_mb = mem_mb; bits_bytes = mem_bytes; }
    }
    if (bits_mb >= 0) {
        if (uniql_packed_plan_bits(&pk, kept, which, bits_bytes, NULL, bits, &plan_total, &err) != UNIQL_OK) {
            fprintf(stderr, "run_uniql: --bits-budget-mb %.3f: %s\n", bits_mb, err.message);
            goto fail;
        }
        bp = bits;
    }
    if (uniql_packed_model_load(&pk, kept, bp, NULL, &m, &err) != UNIQL_OK) { fprintf(stderr, "run_uniql: %s\n", err.message); goto fail; }
    L = m->config.n_layers;
    wbytes = uniql_model_weight_bytes(m);
    if (!quiet) {
        printf("file %s: %.3f MB on disk, %d rate tables\n", path, (double)mf.n / 1048576.0, n_rates);
        printf("plan: pruning rate %.2f%s; kept per layer (qk,v,mlp | ssm head,state):", ri < 0 ? 0.0 : rates[ri],
               mem_mb >= 0 ? " (lowest rate, i.e. largest model, that fits --mem-mb)" : "");
        for (l = 0; l < L; l++) {
            const uniql_layer *y = &m->layers[l];
            if (y->type == UNIQL_BLOCK_MAMBA) printf(" [%d,%d]", y->mamba.head_dim_kept, y->mamba.state_kept);
            else if (y->type == UNIQL_BLOCK_MAMBA_MLP)
                printf(" [%d | %d,%d]", y->mlp.d_int, y->mamba.head_dim_kept, y->mamba.state_kept);
            else printf(" [%d,%d,%d]", y->attn.qk_dim, y->attn.v_dim, y->mlp.d_int);
        }
        printf("\n");
        if (bp) {
            printf("plan: LSAQ (%s importance) within %.3f MB: bits per layer", which, bits_mb);
            for (l = 0; l < L; l++) { printf(" %d", bits[l]); n8 += bits[l] == 8; }
            printf(" (%d at int8), weights %.3f MB\n", n8, (double)plan_total / 1048576.0);
        }
    }
    /* the tokenizer the file carries (text in, text out), or bytes (the byte-level models) */
    r = uniql_packed_tokenizer(&pk, NULL, &tk, &err);
    if (r != UNIQL_OK && r != UNIQL_ERR_MISSING) { fprintf(stderr, "run_uniql: %s: %s\n", path, err.message); goto fail; }
    if (tk) {
        size_t nt = 0;
        uniql_tokenizer_info ti;
        uniql_tokenizer_get_info(tk, &ti);
        eos = ti.eos_id;
        if (uniql_tokenizer_encode(tk, prompt, strlen(prompt), UNIQL_TOK_ADD_SPECIAL, &toks, &nt, &err) != UNIQL_OK) {
            fprintf(stderr, "run_uniql: --prompt: %s\n", err.message);
            return 2;
        }
        if (nt < 1 || nt > (1u << 20)) { fprintf(stderr, "run_uniql: the prompt gives %lu tokens\n", (unsigned long)nt); return 2; }
        n_prompt = (int)nt;
        for (i = 0; i < n_prompt; i++)
            if (toks[i] >= m->config.vocab_size) { fprintf(stderr, "run_uniql: token %d is outside the model's vocabulary\n", toks[i]); return 1; }
        gen = (int *)malloc(sizeof(int) * (size_t)n_new);
        if (!gen) { fprintf(stderr, "run_uniql: out of memory\n"); return 1; }
    } else {
        toks = (int *)malloc(sizeof(int) * (size_t)n_prompt);
        if (toks) for (i = 0; i < n_prompt; i++) toks[i] = (unsigned char)prompt[i];
    }
    logits = (float *)malloc(sizeof(float) * (size_t)m->config.vocab_size);
    if (!toks || !logits) { fprintf(stderr, "run_uniql: out of memory\n"); return 1; }
    /* the state's size follows the config stored in the file: ask first, refuse above the cap */
    memset(&so, 0, sizeof so);
    so.max_ctx = n_prompt + n_new;
    so.max_bytes = max_state;
    if ((r = uniql_state_create_ex(m, &so, &s)) != UNIQL_OK) {
        uint64_t need = 0;
        uniql_state_bytes(m, &so, &need);
        fprintf(stderr, "run_uniql: runtime state for %d positions (%.1f MB%s): %s (%d)\n", n_prompt + n_new,
                (double)need / 1048576.0, r == UNIQL_ERR_BUDGET ? ", above --max-state-mb" : "", uniql_result_string(r), (int)r);
        return 1;
    }
    t_prefill = now_s();
    if ((r = uniql_forward(m, s, toks, n_prompt, logits, 0, NULL)) != UNIQL_OK) {
        fprintf(stderr, "run_uniql: forward failed on the prompt: %s (%d)\n", uniql_result_string(r), (int)r);
        return 1;
    }
    t_decode = now_s();
    t_prefill = t_decode - t_prefill;
    if (tk && !quiet) { printf("text: %s", prompt); fflush(stdout); }
    for (i = 0; i < n_new; i++) {
        tok = uniql_sample_greedy(logits, m->config.vocab_size);
        n_gen++;
        if (tk) {
            /* streaming decode: a character split across tokens is printed once, whole */
            char *piece;
            size_t pl;
            int stop = tok == eos;
            gen[i] = tok;
            if (uniql_tokenizer_decode_next(tk, &ds, gen, (size_t)i + (stop ? 0 : 1), 0, stop || i + 1 == n_new, &piece, &pl, &err) == UNIQL_OK) {
                if (!quiet) { fwrite(piece, 1, pl, stdout); fflush(stdout); }
                uniql_free_buffer(piece, NULL);
            }
            if (stop) break;
        } else if (n_out < (int)sizeof out - 5) {
            if ((tok < 32 && tok != '\n') || tok == 127 || tok > 255) n_out += snprintf(out + n_out, 5, "\\x%02x", tok & 0xff);
            else out[n_out++] = tok == '\n' ? ' ' : (char)tok;
        }
        if (i + 1 < n_new && (r = uniql_forward(m, s, &tok, 1, logits, 0, NULL)) != UNIQL_OK) {
            fprintf(stderr, "run_uniql: forward failed at position %d: %s (%d)\n", uniql_state_pos(s), uniql_result_string(r), (int)r);
            return 1;
        }
    }
    t_decode = now_s() - t_decode;
    out[n_out] = 0;
    rss1 = rss_bytes();
    if (!quiet) {
        if (tk) printf("%s\n", n_gen < n_new ? " [eos]" : "");
        else printf("text: %s%s\n", prompt, out);
    }
    printf("rate %.2f | disk %.3f MB | weights used %.3f MB | resident %.2f MB (+%.2f MB for this model) | decode %.1f tok/s | prefill %.1f tok/s\n",
           ri < 0 ? 0.0 : rates[ri], (double)mf.n / 1048576.0, (double)wbytes / 1048576.0, rss1 / 1048576.0,
           (rss1 - rss0) / 1048576.0, (n_gen - 1) / (t_decode > 0 ? t_decode : 1e-9), n_prompt / (t_prefill > 0 ? t_prefill : 1e-9));
    if (tk) uniql_free_buffer(toks, NULL);
    else free(toks);
    free(gen);
    uniql_tokenizer_free(tk);
    free(logits);
    uniql_state_free(s);
    uniql_model_free(m);
    uniql_packed_free(&pk);
    unmap_file(&mf);
    return 0;
fail:
    uniql_packed_free(&pk);
    unmap_file(&mf);
    return 1;
}
