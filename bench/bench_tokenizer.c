/* bench_tokenizer.c - encode throughput of uniql.h's tokenizer against the JavaScript peer
   @huggingface/tokenizers (bench/bench_tokenizer.mjs under node), same text, same machine,
   one run. For every tokenizer found (ours in tests/data/tok/, the npm ones `make
   tokenizers` puts in build/tok/) it prints MB/s of both, the ratio, and whether the two
   produced the same ids (count and FNV-1a of the ids). Text: TEXT (default data/calib.txt
   + data/test.txt repeated) cut to 1 MB (whole characters).

       make bench-tokenizer        (or: build/bench_tokenizer [TEXT] [MB])
*/
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
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

static uint64_t fnv_ids(const int *ids, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        uint32_t v = (uint32_t)ids[i];
        for (k = 0; k < 4; k++) { h = (h ^ (v & 0xFF)) * 0x100000001b3ull; v >>= 8; }
    }
    return h;
}

int main(int argc, char **argv)
{
    static const char *const dirs[] = {"tests/data/tok/uq-bl", "tests/data/tok/uq-sp", "build/tok/llama3", "build/tok/qwen3",
                                       "build/tok/llama2", "build/tok/gemma"};
    const char *text_path = argc > 1 ? argv[1] : NULL;
    double mb = argc > 2 ? atof(argv[2]) : 1.0;
    size_t want = (size_t)(mb * 1048576.0), n = 0, k;
    char *text = (char *)malloc(want + 8), tmp[] = "build/bench_tokenizer_text.txt";
    const char *srcs[2] = {"data/calib.txt", "data/test.txt"};
    int have_node = system("node --version >/dev/null 2>&1") == 0 &&
                    fopen("build/npm/node_modules/@huggingface/tokenizers/package.json", "r") != NULL;
    FILE *f;
    if (!text || mb <= 0) return 2;
    while (n < want) {   /* the source texts, repeated */
        for (k = 0; k < (text_path ? 1u : 2u) && n < want; k++) {
            void *d;
            size_t dn, c;
            if (uniql_read_file(text_path ? text_path : srcs[k], NULL, &d, &dn, NULL) != UNIQL_OK || !dn) {
                fprintf(stderr, "bench_tokenizer: cannot read %s\n", text_path ? text_path : srcs[k]);
                return 1;
            }
            c = dn < want - n ? dn : want - n;
            memcpy(text + n, d, c);
            n += c;
            uniql_free_buffer(d, NULL);
        }
    }
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;   /* cut at a character start */
    f = fopen(tmp, "wb");
    if (!f || fwrite(text, 1, n, f) != n || fclose(f)) { fprintf(stderr, "bench_tokenizer: cannot write %s\n", tmp); return 1; }
    printf("bench_tokenizer: encode %.2f MB of text (%s), one call; C best of 3, JS one run after a warm-up; single thread\n", (double)n / 1048576.0,
           text_path ? text_path : "data/calib.txt + data/test.txt repeated");
    if (!have_node) printf("  (node or build/npm/@huggingface/tokenizers missing: `make tokenizers`; C only)\n");
    printf("  %-8s %10s %10s %8s  %s\n", "tokenizer", "C MB/s", "JS MB/s", "C / JS", "same ids");
    for (k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
        uniql_tokenizer *t;
        uniql_error e;
        int *ids = NULL, r;
        size_t nid = 0;
        double best = 1e30, js = 0;
        char cmd[512], line[256];
        if (uniql_tokenizer_load_dir(dirs[k], NULL, &t, &e) != UNIQL_OK) continue;
        for (r = 0; r < 3; r++) {
            double t0 = now_s(), dt;
            uniql_free_buffer(ids, NULL);
            if (uniql_tokenizer_encode(t, text, n, 0, &ids, &nid, &e) != UNIQL_OK) { fprintf(stderr, "%s: %s\n", dirs[k], e.message); return 1; }
            dt = now_s() - t0;
            if (dt < best) best = dt;
        }
        line[0] = 0;
        if (have_node) {
            FILE *p;
            snprintf(cmd, sizeof cmd, "node bench/bench_tokenizer.mjs %s %s 1", dirs[k], tmp);   /* one timed run: the peer needs up to minutes per MB */
            p = popen(cmd, "r");
            if (p) { if (!fgets(line, sizeof line, p)) line[0] = 0; pclose(p); }
        }
        if (line[0] == 'j') {
            unsigned long long jn = 0, jh = 0;
            sscanf(line, "js %lf %llu %llx", &js, &jn, &jh);
            printf("  %-8s %10.2f %10.2f %7.2fx  %s (%lu ids)\n", strrchr(dirs[k], '/') + 1, n / 1048576.0 / best,
                   n / 1048576.0 / js, js / best, jn == nid && jh == fnv_ids(ids, nid) ? "yes" : "NO", (unsigned long)nid);
        } else
            printf("  %-8s %10.2f %10s %8s  (%lu ids)\n", strrchr(dirs[k], '/') + 1, n / 1048576.0 / best, "-", "-", (unsigned long)nid);
        fflush(stdout);
        uniql_free_buffer(ids, NULL);
        uniql_tokenizer_free(t);
    }
    free(text);
    return 0;
}
