/* distill.c - pick the bad-input corpus from what the fuzzers found (`make fuzz-distill`).

       build/fuzz/distill HARNESS OUTDIR CORPUSDIR [ARTIFACTDIR]

   Runs every file of CORPUSDIR through the harness's driver (tests/fuzz/fuzz_drive.h) and
   keeps the malformed ones (result != UNIQL_OK): grouped by result code + error message
   with the digits blanked, the 2 smallest of each group, at most 2 KB each (8 KB for the
   model and .uniql harnesses), at most 200 per harness. Every ARTIFACTDIR/HARNESS-crash-* (or -leak-,
   -oom-, -timeout-) file is kept whatever its size: once fixed, a crasher is a regression
   test. Files are named CODE-HASH (result code, FNV-1a of the bytes), so a rerun adds no
   duplicates. */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "fuzz_drive.h"
#include <dirent.h>
#include <ctype.h>

typedef struct {
    char path[512];
    size_t size;
} entry;

static int by_size(const void *a, const void *b)
{
    const entry *x = (const entry *)a, *y = (const entry *)b;
    if (x->size != y->size) return x->size < y->size ? -1 : 1;
    return strcmp(x->path, y->path);
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long k;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) || (k = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) { fclose(f); return NULL; }
    b = (unsigned char *)malloc((size_t)k + 1);
    if (b && fread(b, 1, (size_t)k, f) != (size_t)k) { free(b); b = NULL; }
    fclose(f);
    *n = (size_t)k;
    return b;
}

/* the error message of the harness's entry point, digits and quoted names blanked */
static void signature(const char *h, const unsigned char *d, size_t n, uniql_result r, char *sig, size_t cap)
{
    uniql_error e;
    char raw[300];
    size_t i, k = 0;
    int quote = 0;
    memset(&e, 0, sizeof e);
    if (!strcmp(h, "json")) { uniql_json_doc doc; if (uniql_json_parse((const char *)d, n, 0, NULL, &doc, &e) == UNIQL_OK) uniql_json_free(&doc); }
    else if (!strcmp(h, "config")) { uniql_config c; (void)uniql_config_parse((const char *)d, n, NULL, &c, &e); }
    else if (!strcmp(h, "safetensors")) { uniql_safetensors st; if (uniql_safetensors_parse(d, n, NULL, &st, &e) == UNIQL_OK) uniql_safetensors_free(&st); }
    else if (!strcmp(h, "order")) { uniql_order o; if (uniql_order_parse((const char *)d, n, NULL, NULL, &o, &e) == UNIQL_OK) uniql_order_free(&o); }
    else if (!strcmp(h, "uniql")) {
        uniql_packed pk;
        unsigned char *b = (unsigned char *)malloc(n ? n : 1);
        if (b) {
            if (n) memcpy(b, d, n);
            if (uniql_packed_open(b, n, UNIQL_PACK_SKIP_CHECKSUM, NULL, &pk, &e) == UNIQL_OK) uniql_packed_free(&pk);
            free(b);
        }
    } else if (!strcmp(h, "tokenizer")) {
        uniql_tokenizer *t = NULL;
        size_t tl = n >= 2 ? ((size_t)d[0] | (size_t)d[1] << 8) : 0;
        if (n < 2) tl = 0;
        else if (tl > n - 2) tl = n - 2;
        if (n >= 2 && uniql_tokenizer_load((const char *)d + 2 + tl, n - 2 - tl, NULL, 0, NULL, &t, &e) == UNIQL_OK) {
            uniql_tokenizer_free(t);
            snprintf(e.message, sizeof e.message, "encode");
        }
    } else if (n >= 2) {
        size_t cl = (size_t)d[0] | (size_t)d[1] << 8;
        uniql_file_view fv;
        uniql_model *m = NULL;
        if (cl > n - 2) cl = n - 2;
        fv.name = "model.safetensors";
        fv.data = d + 2 + cl;
        fv.size = n - 2 - cl;
        if (uniql_model_load((const char *)d + 2, cl, NULL, 0, &fv, 1, NULL, &m, &e) == UNIQL_OK) {
            uniql_model_free(m);
            snprintf(e.message, sizeof e.message, "forward");
        }
    }
    snprintf(raw, sizeof raw, "%d %s", (int)r, e.message);
    for (i = 0; raw[i] && k + 1 < cap; i++) {
        char c = raw[i];
        if (c == '\'') { quote = !quote; continue; }
        if (quote || isdigit((unsigned char)c)) continue;
        sig[k++] = c;
    }
    sig[k] = 0;
}

int main(int argc, char **argv)
{
    const char *h, *outdir;
    entry *list = NULL;
    size_t n_list = 0, cap_list = 0, i, max_size;
    char (*sigs)[256] = NULL;
    int *sig_count = NULL, n_sigs = 0, kept = 0, a, crashers = 0;
    if (argc < 4) { fprintf(stderr, "usage: %s HARNESS OUTDIR CORPUSDIR [ARTIFACTDIR]\n", argv[0]); return 2; }
    h = argv[1];
    outdir = argv[2];
    max_size = strcmp(h, "model") && strcmp(h, "uniql") ? 2048 : 8192;
    for (a = 3; a < argc; a++) {
        DIR *dir = opendir(argv[a]);
        struct dirent *de;
        if (!dir) continue;
        while ((de = readdir(dir)) != NULL) {
            char path[512];
            FILE *f;
            long sz;
            int art = a == 4;
            if (de->d_name[0] == '.') continue;
            if (art) {   /* only this harness's crash/leak/oom/timeout files */
                size_t hl = strlen(h);
                if (strncmp(de->d_name, h, hl) || de->d_name[hl] != '-') continue;
            }
            snprintf(path, sizeof path, "%s/%s", argv[a], de->d_name);
            if (!(f = fopen(path, "rb"))) continue;
            fseek(f, 0, SEEK_END);
            sz = ftell(f);
            fclose(f);
            if (sz < 0 || (!art && (size_t)sz > max_size)) continue;
            if (n_list == cap_list) {
                cap_list = cap_list ? 2 * cap_list : 1024;
                list = (entry *)realloc(list, cap_list * sizeof *list);
            }
            snprintf(list[n_list].path, sizeof list[n_list].path, "%s", path);
            list[n_list].size = art ? 0 : (size_t)sz;   /* artifacts first */
            n_list++;
        }
        closedir(dir);
    }
    if (n_list) qsort(list, n_list, sizeof *list, by_size);
    sigs = (char (*)[256])calloc(n_list + 1, sizeof *sigs);
    sig_count = (int *)calloc(n_list + 1, sizeof *sig_count);
    for (i = 0; i < n_list && kept < 200; i++) {
        size_t n;
        unsigned char *d = read_all(list[i].path, &n);
        uniql_result r;
        char sig[256], out[600];
        uint64_t hash = 1469598103934665603ull;
        int s, artifact = list[i].size == 0;
        size_t k;
        FILE *f;
        if (!d) continue;
        if (!strcmp(h, "json")) r = fz_json(d, n);
        else if (!strcmp(h, "config")) r = fz_config(d, n);
        else if (!strcmp(h, "safetensors")) r = fz_safetensors(d, n);
        else if (!strcmp(h, "model")) r = fz_model(d, n);
        else if (!strcmp(h, "order")) r = fz_order(d, n);
        else if (!strcmp(h, "tokenizer")) r = fz_tokenizer(d, n);
        else r = fz_uniql(d, n);
        if (r == UNIQL_OK && !artifact) { free(d); continue; }
        signature(h, d, n, r, sig, sizeof sig);
        for (s = 0; s < n_sigs && strcmp(sigs[s], sig); s++) {}
        if (s == n_sigs) { snprintf(sigs[s], sizeof sigs[s], "%s", sig); n_sigs++; }
        if (sig_count[s] >= 2 && !artifact) { free(d); continue; }
        sig_count[s]++;
        for (k = 0; k < n; k++) hash = (hash ^ d[k]) * 1099511628211ull;
        snprintf(out, sizeof out, "%s/%s%d-%016llx", outdir, artifact ? "crash" : "", -(int)r, (unsigned long long)hash);
        if ((f = fopen(out, "wb")) != NULL) {
            fwrite(d, 1, n, f);
            fclose(f);
            kept++;
            crashers += artifact;
        }
        free(d);
    }
    printf("distill %s: %lu candidates, %d error signatures, %d files kept (%d former crashers)\n", h, (unsigned long)n_list,
           n_sigs, kept, crashers);
    free(list);
    free(sigs);
    free(sig_count);
    return 0;
}
