/* merge_lora.c - the adapters of a recovery run merged onto the export they were trained on,
   on the CPU with no Python: the C twin of `tools/train/recover.py merge` (UniQL step 4).

     cc -std=c99 -O2 -o merge_lora tools/train/merge_lora.c -lm
     ./merge_lora [--alpha A] EXPORT_DIR LORA.safetensors OUT_DIR

   EXPORT_DIR is what `tools/pack --export-hf` wrote (model.safetensors in fp32, config.json,
   order.json); LORA.safetensors is the lora.safetensors of `recover.py train` (pairs
   NAME.lora_A [r, in] and NAME.lora_B [out, r], fp32). Every pair is merged into NAME.weight
   [out, in] as recover.py's merged_weight does: W + (B @ A) * (alpha / r), each product summed
   in fp32 over r with fused multiply-adds in the order k = 0 .. r-1, then scaled and added
   (on the run of README "Evaluation: recovery" this reproduced the device's merged checkpoint
   bit for bit: `tools/pack --order` of both gave the same sha256). Every other tensor and the
   file layout are the export's, byte for byte. OUT_DIR (created if absent) receives
   model.safetensors, config.json and order.json, ready for
   `tools/pack --order OUT_DIR/order.json OUT_DIR OUT.uniql`.

   Refused (exit 1, one line on stderr, nothing written): a pair without its other half or
   without a weight of the right shape and dtype (fp32), r outside 1 .. 4096, non-finite
   adapter values, no pair at all. Exit 2: bad arguments. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L   /* mkdir */
#endif
#define UNIQL_IMPLEMENTATION
#include "../../uniql.h"
#include "../cli.h"
#ifdef _WIN32
#include <direct.h>
#define ML_MKDIR(p) _mkdir(p)
#else
#define ML_MKDIR(p) mkdir((p), 0777)
#endif

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcmp(s + n - m, suffix);
}

static int join(char *out, size_t n, const char *dir, const char *name)
{
    int k = snprintf(out, n, "%s/%s", dir, name);
    return k > 0 && (size_t)k < n;
}

/* DIR/name -> *buf (uniql_read_file), or a message and 0 */
static int read_in(const char *dir, const char *name, void **buf, size_t *n)
{
    char path[4096];
    uniql_error err;
    if (!join(path, sizeof path, dir, name)) return cli_msg("%s/%s: path too long", dir, name);
    if (uniql_read_file(path, NULL, buf, n, &err) != UNIQL_OK) return cli_msg("%s: %s", path, err.message);
    return 1;
}

/* OUT_DIR/name <- data, through cli_out: a temporary file beside it, fsynced, renamed over */
static int write_out(const char *dir, const char *name, const void *data, size_t n)
{
    char path[4096];
    cli_out o;
    if (!join(path, sizeof path, dir, name)) return cli_msg("%s/%s: path too long", dir, name);
    return cli_out_open(&o, path) == 1 && cli_out_commit(&o, data, n);
}

/* a tensor's float at index i, from possibly unaligned file bytes */
static float f32_at(const uniql_tensor *t, size_t i)
{
    float v;
    memcpy(&v, (const unsigned char *)t->data + 4 * i, 4);
    return v;
}

int main(int argc, char **argv)
{
    const char *ex_dir, *lora_path, *out_dir;
    double alpha = 16.0;   /* recover.py's default (r 8, alpha 16) */
    char name[1024];
    void *eb = NULL, *lb = NULL, *cb = NULL, *ob = NULL;
    size_t en = 0, ln = 0, cn = 0, on = 0;
    uniql_safetensors es, ls;
    uniql_error err;
    unsigned char *out = NULL;
    int i, argi = 1, merged = 0, rc = 1, have_es = 0, have_ls = 0;

    cli_prog = "merge_lora";
    if (argi + 1 < argc && !strcmp(argv[argi], "--alpha")) {
        if (!cli_double("--alpha", argv[argi + 1], 0.0, 1e6, CLI_OPEN_LO, &alpha)) return 2;
        argi += 2;
    }
    if (argc - argi != 3 || argv[argi][0] == '-') {
        fprintf(stderr, "usage: %s [--alpha A] EXPORT_DIR LORA.safetensors OUT_DIR\n"
                        "  merges recover.py's adapters (W += (B @ A) * alpha / r, alpha default 16)\n"
                        "  onto the export of tools/pack --export-hf; writes OUT_DIR/{model.safetensors,\n"
                        "  config.json, order.json}\n", argv[0]);
        return 2;
    }
    ex_dir = argv[argi];
    lora_path = argv[argi + 1];
    out_dir = argv[argi + 2];

    if (!read_in(ex_dir, "model.safetensors", &eb, &en) || !read_in(ex_dir, "config.json", &cb, &cn) ||
        !read_in(ex_dir, "order.json", &ob, &on))
        goto done;
    if (uniql_safetensors_parse(eb, en, NULL, &es, &err) != UNIQL_OK) { cli_msg("%s/model.safetensors: %s", ex_dir, err.message); goto done; }
    have_es = 1;
    if (uniql_read_file(lora_path, NULL, &lb, &ln, &err) != UNIQL_OK) { cli_msg("%s: %s", lora_path, err.message); goto done; }
    if (uniql_safetensors_parse(lb, ln, NULL, &ls, &err) != UNIQL_OK) { cli_msg("%s: %s", lora_path, err.message); goto done; }
    have_ls = 1;
    out = (unsigned char *)malloc(en ? en : 1);
    if (!out) { cli_msg("out of memory"); goto done; }
    memcpy(out, eb, en);

    /* every lora_B must have its lora_A (checked here; the loop below checks the converse) */
    for (i = 0; i < ls.n_tensors; i++) {
        const char *nm = ls.tensors[i].name;
        size_t L = strlen(nm);
        if (ends_with(nm, ".lora_B")) {
            if (L - 7 + 8 > sizeof name) { cli_msg("name too long: %s", nm); goto done; }
            memcpy(name, nm, L - 7);
            strcpy(name + L - 7, ".lora_A");
            if (!uniql_safetensors_find(&ls, name)) { cli_msg("%s has no %s", nm, name); goto done; }
        } else if (!ends_with(nm, ".lora_A")) {
            cli_msg("%s: not a LoRA tensor (NAME.lora_A / NAME.lora_B)", nm);
            goto done;
        }
    }
    for (i = 0; i < ls.n_tensors; i++) {
        const uniql_tensor *A = &ls.tensors[i], *B, *W;
        size_t L = strlen(A->name), rows, cols, o, c, k, r;
        float scale;
        if (!ends_with(A->name, ".lora_A")) continue;
        if (L - 7 + 8 > sizeof name) { cli_msg("name too long: %s", A->name); goto done; }
        memcpy(name, A->name, L - 7);
        strcpy(name + L - 7, ".lora_B");
        B = uniql_safetensors_find(&ls, name);
        strcpy(name + L - 7, ".weight");
        W = uniql_safetensors_find(&es, name);
        if (!B) { cli_msg("%s has no lora_B", A->name); goto done; }
        if (!W) { cli_msg("%s: the export has no %s", A->name, name); goto done; }
        if (A->dtype != UNIQL_DTYPE_F32 || B->dtype != UNIQL_DTYPE_F32 || W->dtype != UNIQL_DTYPE_F32) {
            cli_msg("%s: adapters and weight must be F32 (the export of tools/pack --export-hf is)", name);
            goto done;
        }
        if (A->ndim != 2 || B->ndim != 2 || W->ndim != 2 || A->shape[0] != B->shape[1] || B->shape[0] != W->shape[0] ||
            A->shape[1] != W->shape[1] || A->shape[0] < 1 || A->shape[0] > 4096) {
            cli_msg("%s: shapes of lora_A / lora_B do not fit the weight (want A [r, in], B [out, r], 1 <= r <= 4096)",
                name);
            goto done;
        }
        r = (size_t)A->shape[0];
        rows = (size_t)W->shape[0];
        cols = (size_t)W->shape[1];
        for (k = 0; k < r * cols; k++)
            if (!isfinite(f32_at(A, k))) { cli_msg("%s: non-finite lora_A value", name); goto done; }
        for (k = 0; k < rows * r; k++)
            if (!isfinite(f32_at(B, k))) { cli_msg("%s: non-finite lora_B value", name); goto done; }
        scale = (float)(alpha / (double)r);
        for (o = 0; o < rows; o++) {
            unsigned char *row = out + ((const unsigned char *)W->data - (const unsigned char *)eb) + 4 * o * cols;
            for (c = 0; c < cols; c++) {
                float s = 0.0f, wv, t;
                for (k = 0; k < r; k++) s = fmaf(f32_at(B, o * r + k), f32_at(A, k * cols + c), s);
                memcpy(&wv, row + 4 * c, 4);
                t = s * scale;
                wv = wv + t;
                memcpy(row + 4 * c, &wv, 4);
            }
        }
        merged++;
    }
    if (!merged) { cli_msg("%s holds no LoRA pair", lora_path); goto done; }

    if (ML_MKDIR(out_dir) != 0 && errno != EEXIST) { cli_msg("cannot create %s: %s", out_dir, strerror(errno)); goto done; }
    if (!write_out(out_dir, "model.safetensors", out, en) || !write_out(out_dir, "config.json", cb, cn) ||
        !write_out(out_dir, "order.json", ob, on))
        goto done;
    fprintf(stderr, "merge_lora: %d projections merged (alpha %g) into %s\n", merged, alpha, out_dir);
    rc = 0;
done:
    if (have_es) uniql_safetensors_free(&es);
    if (have_ls) uniql_safetensors_free(&ls);
    uniql_free_buffer(eb, NULL);
    uniql_free_buffer(lb, NULL);
    uniql_free_buffer(cb, NULL);
    uniql_free_buffer(ob, NULL);
    free(out);
    return rc;
}
