/* tools/train/tokdocs.c (issue 18, built by prepare_recover_carry.sh) - tokdocs TOKDIR IN.txt OUT.u16: the BPE training slice as run_recover_device.sh's python did it
   with HF tokenizers: documents split on "\n\n", empty ones (whitespace only) skipped, each
   stripped of leading/trailing '\n' plus one "\n", encoded with the special tokens, then EOS. */
#define UNIQL_IMPLEMENTATION
#include "uniql.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage\n"); return 2; }
    uniql_tokenizer *t; uniql_error err;
    if (uniql_tokenizer_load_dir(argv[1], NULL, &t, &err) != UNIQL_OK) { fprintf(stderr, "load: %s\n", err.message); return 1; }
    FILE *f = fopen(argv[2], "rb"); if (!f) return 1;
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    char *s = malloc(n + 2); if (fread(s, 1, n, f) != (size_t)n) return 1; fclose(f); s[n] = 0;
    FILE *o = fopen(argv[3], "wb"); if (!o) return 1;
    long p = 0, ndoc = 0, ntok = 0; int eos = 1;
    char *buf = malloc(n + 2);
    while (p <= n) {
        char *e = strstr(s + p, "\n\n"); long q = e ? e - s : n;
        long a = p, b = q, k, blank = 1;
        for (k = a; k < b; k++) if (!isspace((unsigned char)s[k])) { blank = 0; break; }
        if (!blank) {
            while (a < b && s[a] == '\n') a++;
            while (b > a && s[b - 1] == '\n') b--;
            memcpy(buf, s + a, b - a); buf[b - a] = '\n';
            int *ids; size_t ni;
            if (uniql_tokenizer_encode(t, buf, b - a + 1, UNIQL_TOK_ADD_SPECIAL, &ids, &ni, &err) != UNIQL_OK) { fprintf(stderr, "enc: %s\n", err.message); return 1; }
            for (size_t i = 0; i <= ni; i++) { int v = i < ni ? ids[i] : eos; unsigned char w[2] = { v & 255, (v >> 8) & 255 }; fwrite(w, 1, 2, o); }
            ntok += ni + 1; ndoc++;
            uniql_free_buffer(ids, NULL);
        }
        if (!e) break;
        p = q + 2;
    }
    fclose(o);
    printf("%ld documents, %ld tokens\n", ndoc, ntok);
    return 0;
}
