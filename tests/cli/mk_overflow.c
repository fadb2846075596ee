/* mk_overflow.c - tests/cli helper: copy tests/data/ref/mamba2 into OUTDIR with the final
   norm and the (tied) embedding filled with 3e38, so the model loads (every weight is
   finite) but its activations overflow float and every forward returns
   UNIQL_ERR_NONFINITE. The programs must then exit non-zero with that code. */
#define UNIQL_IMPLEMENTATION
#include "../../uniql.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fill(unsigned char *file, const uniql_safetensors *st, const char *name, float v)
{
    const uniql_tensor *t = uniql_safetensors_find(st, name);
    size_t i;
    if (!t || t->dtype != UNIQL_DTYPE_F32) return 0;
    for (i = 0; i < t->nbytes / 4; i++) memcpy(file + ((const unsigned char *)t->data - file) + 4 * i, &v, 4);
    return 1;
}

static int copy_to(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    return f && fwrite(d, 1, n, f) == n && fclose(f) == 0;
}

int main(int argc, char **argv)
{
    void *cfg = NULL, *st_bytes = NULL;
    size_t cfg_n, st_n;
    uniql_safetensors st;
    uniql_error e;
    char path[1024];
    if (argc != 2) { fprintf(stderr, "usage: %s OUTDIR\n", argv[0]); return 2; }
    if (uniql_read_file("tests/data/ref/mamba2/config.json", NULL, &cfg, &cfg_n, &e) != UNIQL_OK ||
        uniql_read_file("tests/data/ref/mamba2/model.safetensors", NULL, &st_bytes, &st_n, &e) != UNIQL_OK ||
        uniql_safetensors_parse(st_bytes, st_n, NULL, &st, &e) != UNIQL_OK) {
        fprintf(stderr, "mk_overflow: %s\n", e.message);
        return 1;
    }
    if (!fill((unsigned char *)st_bytes, &st, "backbone.norm_f.weight", 3e38f) ||
        !fill((unsigned char *)st_bytes, &st, "backbone.embeddings.weight", 3e38f)) {
        fprintf(stderr, "mk_overflow: tensors not found\n");
        return 1;
    }
    snprintf(path, sizeof path, "%s/config.json", argv[1]);
    if (!copy_to(path, cfg, cfg_n)) return 1;
    snprintf(path, sizeof path, "%s/model.safetensors", argv[1]);
    if (!copy_to(path, st_bytes, st_n)) return 1;
    uniql_safetensors_free(&st);
    uniql_free_buffer(cfg, NULL);
    uniql_free_buffer(st_bytes, NULL);
    return 0;
}
