/* pack.c - compress a Hugging Face checkpoint into a .uniql file (UniQL, "in the cloud"):

       load -> calibrate -> sort (prunable layout) -> int4 quantize -> rate tables -> write

   The file holds the sorted int4 weights (int8 embeddings), the kept sizes of every layer
   for each global pruning rate, the kept RoPE pairs, block-influence and LSAQ layer
   importance, and optionally 8-bit copies of the layers an LSAQ plan may upgrade.

   By default the stages run one layer at a time (uniql.h API 10), as the official code
   does: the checkpoint is mapped, not copied; the calibration activations at the current
   layer boundary are the only per-token state; each layer is calibrated, sorted,
   quantized, appended to a scratch store, freed, and the activations go through the
   uncompressed layer to feed the next one. Everything needed to continue lives in
   OUT.partial/ (POSIX; OUT.partial.* files elsewhere), committed after every layer, so an
   interrupted pack resumes at the next layer. The output is byte-identical to the
   whole-model path (--whole-model, kept as the reference). Public API of uniql.h only.
   Run with --help for the options. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE   /* madvise on glibc; ignored elsewhere */
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "cli.h"
#include "uq_threads.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#define PACK_POSIX 1
#endif

static int quiet;
static double t0;

static double now_s(void)
{
#ifdef PACK_POSIX
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return (double)time(NULL);
#endif
}

static void progress(const char *fmt, ...)
{
    va_list ap;
    if (quiet) return;
    fprintf(stderr, "[pack %7.1fs] ", now_s() - t0);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void fmt_secs(double s, char *out, size_t n)
{
    if (s < 0) s = 0;
    if (s < 90) snprintf(out, n, "%.0fs", s);
    else if (s < 5400) snprintf(out, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(out, n, "%dh%02dm", (int)(s / 3600), ((int)s % 3600) / 60);
}

/* peak resident set size of this process in bytes (0 where unknown) */
static double peak_rss(void)
{
#ifdef PACK_POSIX
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
#ifdef __APPLE__
    return (double)ru.ru_maxrss;
#else
    return (double)ru.ru_maxrss * 1024.0;
#endif
#else
    return 0;
#endif
}

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
        "usage: %s [options] MODEL_DIR OUT.uniql\n"
        "\n"
        "Compress a Hugging Face checkpoint (config.json + *.safetensors; Llama, Qwen2,\n"
        "Mamba2, Nemotron-H) into a .uniql file that a device can load at any pruning rate.\n"
        "Text is tokenized with MODEL_DIR/tokenizer.json (Hugging Face format; uniql.h API 5b)\n"
        "when the checkpoint has one, and the tokenizer is stored in OUT.uniql; without one,\n"
        "tokens are bytes (the project's byte-level models).\n"
        "\n"
        "options:\n"
        "  --calib FILE        calibration text, UTF-8 (default data/calib.txt)\n"
        "  --calib-tokens N    use at most N calibration tokens (default 8192)\n"
        "  --seq-len N         tokens per calibration sequence (default 256)\n"
        "  --max-state-mb M    refuse a calibration runtime state above M MB (default 4096)\n"
        "  --group G           int4 group size 32, 64 or 128 (default 128; halved where it\n"
        "                      does not divide a row)\n"
        "  --group-transposed G  group of the transposed o/down/out_proj alone, 32, 64 or 128\n"
        "                      (default: --group). A transposed group is G outputs of one\n"
        "                      input, so an outlier output row sets a scale of every input\n"
        "                      (README, \"Evaluation: quantizers\")\n"
        "  --asym              asymmetric int4 (scale + zero point per group)\n"
        "  --embed-bits B      8 (default) or 4 for the embedding and lm_head\n"
        "  --quantizer Q       rtn (default: round to nearest), clip (RTN with a clip search per\n"
        "                      group) or gptq (GPTQ layer by layer on the calibration stream,\n"
        "                      uniql.h API 7b: each layer against the error of the layers before\n"
        "                      it; runs the whole-model path). Recorded in the file's meta\n"
        "                      (\"gptq\", \"rtn+clip\"; none for rtn)\n"
        "  --damp D            GPTQ relative damping of the Hessian, D > 0 (default 0.01)\n"
        "  --act-order         GPTQ: columns by decreasing Hessian diagonal\n"
        "  --rates LIST        global pruning rates of the stored rate tables, comma-separated\n"
        "                      (default 0.05,0.10,0.15,0.20,0.25,0.30,0.35; 0 = the full model,\n"
        "                      always available)\n"
        "  --bits-budget-mb N  LSAQ: also store 8-bit copies of the layers the LSAQ plan\n"
        "                      upgrades within N MB of weights (at 0%% pruning), so a device\n"
        "                      can re-plan for any smaller budget without recalibrating\n"
        , argv0);
    fprintf(f,
        "  --random-order      sort every dimension in a random order (the baseline)\n"
        "  --calib-ids FILE    calibration tokens as little-endian uint32 ids (a model with its\n"
        "                      own vocabulary); replaces --calib\n"
        "  --export-hf DIR     also write the sorted model for a trainer (UniQL step 4, masked\n"
        "                      LoRA recovery, tools/train/recover.py): DIR/model.safetensors (fp32,\n"
        "                      Hugging Face layout), DIR/config.json (a copy) and DIR/order.json\n"
        "                      (RoPE pair rankings, rate tables, layer importance; uniql.h API 9b);\n"
        "                      runs the whole-model path\n"
        "  --order FILE        MODEL_DIR is a checkpoint in that layout (e.g. after recovery):\n"
        "                      re-apply FILE's order and rate tables, no calibration, no scores\n"
        "                      (--rates, --random-order do not apply; --calib / --calib-ids,\n"
        "                      --calib-tokens, --seq-len only with --quantizer gptq, which needs\n"
        "                      one of the first two: they feed the GPTQ stream alone);\n"
        "                      runs the whole-model path\n"
        "  --no-lsaq           skip the LSAQ importance (the logit lens at every layer boundary,\n"
        "                      about half of the calibration time with a large vocabulary);\n"
        "                      the file then supports no --bits-budget-mb plans\n"
        "  --preset P          uniqlh (default: uniql.h's own choices) or official: the official\n"
        "                      UniQL code's choices (uniql.h API 7b, uniql_preset_fill): GPTQ with\n"
        "                      the official scale rule on the calibration tokens, Hadamard rotation\n"
        "                      (not for Qwen2), 4-bit per-row embeddings and 4-bit GPTQ lm_head,\n"
        "                      ridge lambda 1 on per-sequence sums, last-token block influence,\n"
        "                      clamped softmax rates, widths in multiples of 128 (MLP) / 16 (heads,\n"
        "                      state). Fixes --group(-transposed), --asym, --embed-bits,\n"
        "                      --quantizer, --damp, --act-order; not with --order or\n"
        "                      --random-order. Runs the --whole-model path (the rotation and the\n"
        "                      sequential GPTQ act on the whole model)\n"
        "  --threads N         worker threads for calibration, sorting and quantization\n"
        "                      (default 1; the output is the same bytes for any N)\n"
        "  --whole-model       the reference path: every stage on the whole model in memory\n"
        "                      (same output bytes; needs several times the checkpoint in RAM)\n"
        "  --restart           ignore OUT.partial (start over) instead of resuming from it\n"
        "  --stop-after N      stop after N layers as if interrupted (exit 3; for tests)\n"
        "  -q, --quiet         no progress on stderr\n"
        "  -h, --help          this text\n");
    fputs("\n"
        "Layer by layer (the default), resumable: the work is kept in OUT.partial/ and an\n"
        "interrupted pack (Ctrl-C, a crash, --stop-after) continues at the next unfinished\n"
        "layer when the same command is run again; the folder is removed once OUT is written.\n"
        "Its scratch on disk is about the size of OUT plus the activations below.\n"
        "\n", f);
    fputs("Memory (peak RSS, stated at start and checked at the end; T calibration tokens,\n"
        "D hidden, V vocab, e = bytes per checkpoint weight, P = weights of the largest layer):\n"
        "  4 T D                       activations at the current layer boundary (+ 40 T LSAQ sets)\n"
        "+ e P + e V D                 that layer's mapped weights and the lm_head (logit lens)\n"
        "+ 16 P                        its sorted fp32 copies (at most 3 per weight), int4 and\n"
        "                              int8 copies and one fp32 matrix of quantizer scratch\n"
        "+ 8 (D^2 + I^2 + heads hd^2)  its correlations (I: MLP or Mamba inner width) + 5 MB\n"
        "+ 8 max(2 I^2, 5 D^2)         eigen / ridge-leverage scratch while sorting it + 3 MB\n"
        "+ 4 B V + 16 MB               logit-lens batch (B = 64 rows) and fixed overhead\n"
        "(or, while the embedding / lm_head are quantized at the start, e V D + 5 V D).\n"
        "The checkpoint itself is mapped and its pages dropped after each layer.\n"
        "The whole-model path (--whole-model, --order, --export-hf, --preset official,\n"
        "--quantizer gptq) has no such bound: the fp32 model, its sorted copy and the quantized\n"
        "one are in memory together, and GPTQ adds its stream (4 T D) and one matrix's Hessian.\n"
        "\n", f);
    fputs(
        "OUT.uniql is written to a temporary file beside it (created before the work starts),\n"
        "flushed and renamed over OUT.uniql at the end: an existing OUT.uniql stays intact if\n"
        "anything fails. OUT.uniql must be a regular file (or absent), not one of the inputs.\n"
        "\n"
        "exit status: 0 ok, 1 a step failed (message on stderr), 2 bad usage,\n"
        "3 stopped by --stop-after (resumable)\n", f);
}

/* ---- options and the pieces both paths share ---- */

typedef struct pack_opts {
    const char *calib_path, *ids_path, *model_dir, *out_path, *export_dir, *order_path;
    int calib_tokens, seq_len, group, group_tr, asym, embed_bits, random_order, whole, restart, stop_after, threads, rates_given, no_lsaq;
    int official, fixed_given;   /* --preset official; --group / --asym / --embed-bits given */
    int quantizer, quantizer_given, act_order, damp_given, calib_given;   /* --quantizer (QZ_*), --act-order, --damp, --calib */
    double damp;                 /* --damp: GPTQ relative damping (0: the library's 0.01) */
    double rates[UNIQL_PACK_MAX_RATES], budget_mb, max_state_mb;
    uint64_t budget_bytes, max_state;
    int n_rates;
    const uniql_parallel *par;
    cli_out *out;
} pack_opts;

/* The output's temporary file, created only when the file is about to be written: main
   checks at start that it can be created and removes it again, so a pack killed before
   its end (SIGKILL, power) leaves no OUT.tmp.XXXXXX behind, only OUT.partial/. */
static int out_ready(const pack_opts *o)
{
    if (o->out->open) return 1;
    return cli_out_open(o->out, o->out_path) == 1;
}

/* --quantizer: round to nearest (the default; the bytes of every earlier command), RTN with
   the clip search of API 3, GPTQ on the calibration stream (uniql_model_quantize) */
enum { QZ_RTN = 0, QZ_CLIP = 1, QZ_GPTQ = 2 };
static const char *const qz_names[3] = {"rtn", "clip", "gptq"};
/* the .uniql meta "quantizer" (informational): none for RTN, as every earlier file */
static const char *qz_meta(const pack_opts *o) { return o->quantizer == QZ_GPTQ ? "gptq" : o->quantizer == QZ_CLIP ? "rtn+clip" : NULL; }

/* bytes of one layer's matrices in a model (views count their referenced bytes) */
static uint64_t layer_bytes(const uniql_model *m, int l)
{
    uniql_model one = *m;
    uniql_layer ly[UNIQL_MAX_LAYERS];
    uint64_t with, without;
    int i;
    memcpy(ly, m->layers, sizeof(uniql_layer) * (size_t)m->config.n_layers);
    one.layers = ly;
    with = uniql_model_weight_bytes(&one);
    {
        uniql_layer *y = &ly[l];
        uniql_matrix *mats[13] = {&y->attn.q, &y->attn.k, &y->attn.v, &y->attn.o, &y->mlp.gate, &y->mlp.up,
                                  &y->mlp.down, &y->mamba.in_z, &y->mamba.in_x, &y->mamba.in_B, &y->mamba.in_C,
                                  &y->mamba.in_dt, &y->mamba.out};
        for (i = 0; i < 13; i++) mats[i]->data = NULL;
    }
    without = uniql_model_weight_bytes(&one);
    return with - without;
}

/* rate tables (block-influence allocation, weighted by prunable parameters; with --preset
   official the clamped softmax of uniql_layer_rates_official and the preset's width units) */
static int rate_tables(const uniql_config *c, const double *bi, const pack_opts *o, const uniql_preset *pre, uniql_kept *kept)
{
    double params[UNIQL_MAX_LAYERS], lr[UNIQL_MAX_LAYERS];
    int l, i, L = c->n_layers;
    for (l = 0; l < L; l++) params[l] = (double)uniql_prunable_params(c, l, NULL);
    for (i = 0; i < o->n_rates; i++)
        if ((o->official ? uniql_layer_rates_official(L, bi, o->rates[i], 0, 0, lr) : uniql_layer_rates(L, bi, params, o->rates[i], 0, 0, lr)) != UNIQL_OK ||
            uniql_kept_from_rates(c, lr, o->official ? &pre->units : NULL, kept + (size_t)i * (size_t)L) != UNIQL_OK) {
            fprintf(stderr, "pack: layer rates for %.4g failed\n", o->rates[i]);
            return 0;
        }
    return 1;
}

/* LSAQ plan over per-layer matrix bytes at 4 and 8 bits: which layers get "@8" copies */
static int lsaq_upgrades(int L, const double *lsaq, const uint64_t *lb, uint64_t fixed, double budget_mb, uint64_t budget,
                         unsigned char *upgrade)
{
    static const int widths[2] = {4, 8};
    uint64_t total;
    int bits[UNIQL_MAX_LAYERS], n8 = 0, l;
    uniql_result r = uniql_lsaq_plan(L, lsaq, 2, widths, lb, fixed, budget, bits, &total);
    if (r != UNIQL_OK) {
        fprintf(stderr, "pack: --bits-budget-mb %.3f: %s (all-4-bit weights need %.3f MB)\n", budget_mb,
                uniql_result_string(r), (double)total / 1048576.0);
        return 0;
    }
    for (l = 0; l < L; l++) { upgrade[l] = (unsigned char)(bits[l] == 8); n8 += bits[l] == 8; }
    progress("LSAQ plan at %.3f MB: %d of %d layers upgradable to int8 (plan %.3f MB)", budget_mb, n8, L, (double)total / 1048576.0);
    return 1;
}

/* ---- the checkpoint, mapped (POSIX) or read (stdio) ---- */

#define MAX_SHARDS 256
typedef struct shard { void *p; size_t n; int mapped; char name[256]; } shard;
typedef struct ckpt {
    void *cfg, *idx, *tj, *tc;              /* config.json, index, tokenizer.json + its config */
    size_t cfg_len, idx_len, tj_len, tc_len;
    uniql_tokenizer *tk;                    /* NULL: byte tokens */
    shard sh[MAX_SHARDS];
    int n;
    uniql_model *m;
} ckpt;

static int map_file(const char *path, shard *s, uniql_error *err)
{
#ifdef PACK_POSIX
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p != MAP_FAILED) { s->p = p; s->n = (size_t)st.st_size; s->mapped = 1; return 1; }
    } else if (fd >= 0) close(fd);
#endif
    s->mapped = 0;
    return uniql_read_file(path, NULL, &s->p, &s->n, err) == UNIQL_OK;
}

/* forget the pages of the mapped shards (they are read back from the page cache when
   touched again), so the resident set holds only the layer at work */
static void ckpt_drop_pages(ckpt *c)
{
#if defined(PACK_POSIX) && defined(MADV_DONTNEED)
    int i;
    for (i = 0; i < c->n; i++)
        if (c->sh[i].mapped) madvise(c->sh[i].p, c->sh[i].n, MADV_DONTNEED);
#else
    (void)c;
#endif
}

static void ckpt_close(ckpt *c)
{
    int i;
    uniql_model_free(c->m);
    for (i = 0; i < c->n; i++) {
#ifdef PACK_POSIX
        if (c->sh[i].mapped) { munmap(c->sh[i].p, c->sh[i].n); continue; }
#endif
        uniql_free_buffer(c->sh[i].p, NULL);
    }
    uniql_free_buffer(c->cfg, NULL);
    uniql_free_buffer(c->idx, NULL);
    uniql_free_buffer(c->tj, NULL);
    uniql_free_buffer(c->tc, NULL);
    uniql_tokenizer_free(c->tk);
    memset(c, 0, sizeof *c);
}

static int ckpt_open(const char *dir, int defer_check, ckpt *c)
{
    char path[4096];
    uniql_error err;
    uniql_file_view fv[MAX_SHARDS];
    uniql_load_options lo;
    int i;
    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (uniql_read_file(path, NULL, &c->cfg, &c->cfg_len, &err) != UNIQL_OK) { fprintf(stderr, "pack: %s\n", err.message); return 0; }
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    if (uniql_read_file(path, NULL, &c->idx, &c->idx_len, NULL) == UNIQL_OK) {
        uniql_json_doc doc;
        const uniql_json *wm, *e;
        int j;
        if (uniql_json_parse((const char *)c->idx, c->idx_len, 0, NULL, &doc, &err) != UNIQL_OK) {
            fprintf(stderr, "pack: %s: %s\n", path, err.message);
            return 0;
        }
        wm = uniql_json_get(doc.root, "weight_map");
        for (j = 0; wm && wm->type == UNIQL_JSON_OBJECT && j < (int)wm->len; j++) {
            int k;
            e = uniql_json_member(wm, j, NULL);
            if (!e || e->type != UNIQL_JSON_STRING || strchr(e->u.str, '/') || e->len >= sizeof c->sh[0].name) continue;
            for (k = 0; k < c->n && strcmp(c->sh[k].name, e->u.str); k++) {}
            if (k == c->n) {
                if (c->n == MAX_SHARDS) { fprintf(stderr, "pack: more than %d shards\n", MAX_SHARDS); uniql_json_free(&doc); return 0; }
                strcpy(c->sh[c->n++].name, e->u.str);
            }
        }
        uniql_json_free(&doc);
    } else {
        c->idx = NULL;
        c->idx_len = 0;
        strcpy(c->sh[0].name, "model.safetensors");
        c->n = 1;
    }
    for (i = 0; i < c->n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, c->sh[i].name);
        if (!map_file(path, &c->sh[i], &err)) { fprintf(stderr, "pack: cannot read %s\n", path); return 0; }
        fv[i].name = c->sh[i].name;
        fv[i].data = c->sh[i].p;
        fv[i].size = c->sh[i].n;
    }
    memset(&lo, 0, sizeof lo);
    lo.no_finite_check = defer_check;
    if (uniql_model_load((const char *)c->cfg, c->cfg_len, (const char *)c->idx, c->idx_len, fv, c->n, &lo, &c->m, &err) != UNIQL_OK) {
        fprintf(stderr, "pack: %s: %s\n", dir, err.message);
        return 0;
    }
    /* the checkpoint's tokenizer, if it has one: calibration text goes through it, and the
       .uniql carries it */
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (uniql_read_file(path, NULL, &c->tj, &c->tj_len, NULL) == UNIQL_OK) {
        uniql_tokenizer_info ti;
        snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
        if (uniql_read_file(path, NULL, &c->tc, &c->tc_len, NULL) != UNIQL_OK) { c->tc = NULL; c->tc_len = 0; }
        if (uniql_tokenizer_load((const char *)c->tj, c->tj_len, (const char *)c->tc, c->tc_len, NULL, &c->tk, &err) != UNIQL_OK) {
            fprintf(stderr, "pack: %s/tokenizer.json: %s\n", dir, err.message);
            return 0;
        }
        uniql_tokenizer_get_info(c->tk, &ti);
        if (ti.vocab_size > c->m->config.vocab_size) {
            fprintf(stderr, "pack: tokenizer.json has ids up to %d, the model's vocabulary is %d\n", ti.vocab_size - 1, c->m->config.vocab_size);
            return 0;
        }
        progress("tokenizer.json: %d tokens%s", ti.vocab_size, ti.byte_level ? " (byte-level BPE)" : " (BPE)");
    } else c->tj = NULL;
    return 1;
}

/* ---- the reference path: every stage on the whole model ---- */

/* UniQL step 4 hand-over: the sorted model in HF layout, its config, the order file */
static int export_hf(const pack_opts *o, const ckpt *ck, const uniql_model *sorted, int n_rates, const double *rates,
                     const uniql_kept *kept, const double *bi, const double *lsaq)
{
    void *st = NULL;
    char *otext = NULL, path[4200];
    size_t st_size = 0, olen = 0;
    cli_out of;
    uniql_error err;
    int ok = 0;
    progress("exporting the sorted model for recovery to %s/", o->export_dir);
    memset(&of, 0, sizeof of);
#ifdef CLI_POSIX
    if (mkdir(o->export_dir, 0777) != 0 && errno != EEXIST) { fprintf(stderr, "pack: cannot create %s: %s\n", o->export_dir, strerror(errno)); return 0; }
#endif
    if (uniql_export_hf(sorted, UNIQL_DTYPE_F32, NULL, &st, &st_size, &err) != UNIQL_OK ||
        uniql_order_write(sorted, n_rates, rates, kept, bi, lsaq, NULL, &otext, &olen, &err) != UNIQL_OK) {
        fprintf(stderr, "pack: --export-hf: %s\n", err.message);
        uniql_free_buffer(st, NULL);
        uniql_free_buffer(otext, NULL);
        return 0;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", o->export_dir);
    if (cli_out_open(&of, path) == 1 && cli_out_commit(&of, st, st_size)) {
        snprintf(path, sizeof path, "%s/config.json", o->export_dir);
        if (cli_out_open(&of, path) == 1 && cli_out_commit(&of, ck->cfg, ck->cfg_len)) {
            snprintf(path, sizeof path, "%s/order.json", o->export_dir);
            if (cli_out_open(&of, path) == 1 && cli_out_commit(&of, otext, olen)) ok = 1;
        }
    }
    cli_out_abort(&of);
    uniql_free_buffer(st, NULL);
    uniql_free_buffer(otext, NULL);
    if (ok) progress("exported %s/{model.safetensors (%.3f MB), config.json, order.json}", o->export_dir, (double)st_size / 1048576.0);
    return ok;
}

static int pack_whole(const pack_opts *o, ckpt *ck, const int *tok, size_t n_tok)
{
    uniql_model *m = ck->m, *sorted = NULL, *q4 = NULL, *q8 = NULL, *rot = NULL;
    const uniql_model *qsrc;
    uniql_preset pre;
    uniql_calib *cb = NULL;
    uniql_calib_options co;
    uniql_sort_options so;
    uniql_model_quant_options qo;
    uniql_pack_model_desc d;
    uniql_error err;
    uniql_order ord;
    uniql_kept *kept = NULL;
    double bi[UNIQL_MAX_LAYERS], lsaq[UNIQL_MAX_LAYERS], rates[UNIQL_PACK_MAX_RATES];
    const double *bip = bi, *lsp = lsaq;
    unsigned char upgrade[UNIQL_MAX_LAYERS];
    void *img = NULL;
    size_t img_size;
    int l, L = m->config.n_layers, ok = 0, n_rates = o->n_rates;
    memset(&ord, 0, sizeof ord);
    memcpy(rates, o->rates, sizeof rates);
    if (uniql_preset_fill(o->official ? UNIQL_PRESET_OFFICIAL : UNIQL_PRESET_UNIQLH, &m->config, o->seq_len, &pre) != UNIQL_OK) {
        fprintf(stderr, "pack: preset: bad configuration\n");
        goto done;
    }
    if (o->order_path) {
        /* recovery: the checkpoint is already in sorted order; the order file says the rest */
        void *ob = NULL;
        size_t on = 0;
        uniql_result rr;
        progress("re-applying the order of %s (no calibration)", o->order_path);
        if (uniql_read_file(o->order_path, NULL, &ob, &on, &err) != UNIQL_OK) { fprintf(stderr, "pack: %s\n", err.message); goto done; }
        rr = uniql_order_parse((const char *)ob, on, &m->config, NULL, &ord, &err);
        uniql_free_buffer(ob, NULL);
        if (rr != UNIQL_OK) { fprintf(stderr, "pack: %s: %s\n", o->order_path, err.message); goto done; }
        if (uniql_apply_order(m, &ord, UNIQL_LAYOUT_PRUNABLE, NULL, &sorted, &err) != UNIQL_OK) { fprintf(stderr, "pack: %s\n", err.message); goto done; }
        n_rates = ord.n_rates;
        memcpy(rates, ord.rates, sizeof(double) * (size_t)n_rates);
        kept = (uniql_kept *)malloc(sizeof(uniql_kept) * (size_t)(n_rates ? n_rates : 1) * (size_t)L);
        if (!kept) { fprintf(stderr, "pack: out of memory\n"); goto done; }
        memcpy(kept, ord.kept, sizeof(uniql_kept) * (size_t)n_rates * (size_t)L);
        for (l = 0; l < L; l++) {
            bi[l] = ord.block_influence ? ord.block_influence[l] : 0;
            lsaq[l] = ord.lsaq ? ord.lsaq[l] : 0;
        }
        if (!ord.block_influence) bip = NULL;
        if (!ord.lsaq) lsp = NULL;
        if (o->budget_mb > 0 && !ord.lsaq) { fprintf(stderr, "pack: --bits-budget-mb needs LSAQ importance, which %s lacks\n", o->order_path); goto done; }
    } else {
        progress("whole model: calibrating on %lu tokens of %s (sequences of %d)", (unsigned long)n_tok, o->calib_path, o->seq_len);
        co = pre.calib;
        co.seq_len = o->seq_len;
        co.lsaq = !o->no_lsaq;
        co.parallel = o->par;
        co.max_state_bytes = o->max_state;   /* the state follows the config: a hostile one is refused, not allocated */
        if (uniql_calibrate(m, tok, n_tok, &co, &cb, &err) != UNIQL_OK) { fprintf(stderr, "pack: calibration: %s\n", err.message); goto done; }
        uniql_calib_importance(cb, pre.importance, bi);   /* official: the last token of each sequence */
        if (o->no_lsaq) lsp = NULL;
        else uniql_calib_importance(cb, UNIQL_IMPORTANCE_LSAQ, lsaq);
        progress("sorting (%s order, prunable layout)", o->random_order ? "random" : "UniQL score");
        so = pre.sort;   /* official: ridge lambda 1 on per-sequence sums = 1 / seq_len here */
        so.layout = UNIQL_LAYOUT_PRUNABLE;
        so.order = o->random_order ? UNIQL_ORDER_RANDOM : UNIQL_ORDER_SCORES;
        so.seed = 1;
        so.parallel = o->par;
        if (uniql_sort_model(m, cb, &so, &sorted, &err) != UNIQL_OK) { fprintf(stderr, "pack: sorting: %s\n", err.message); goto done; }
        uniql_calib_free(cb);
        cb = NULL;
        progress("rate tables for %d global rates (%s)", n_rates, o->official ? "official: clamped softmax of last-token block influence, units 16 / 128"
                                                                            : "block-influence allocation");
        kept = (uniql_kept *)malloc(sizeof(uniql_kept) * (size_t)n_rates * (size_t)L);
        if (!kept) { fprintf(stderr, "pack: out of memory\n"); goto done; }
        if (!rate_tables(&sorted->config, bi, o, &pre, kept)) goto done;
    }
    if (o->export_dir && !export_hf(o, ck, sorted, n_rates, rates, kept, bip, lsp)) goto done;
    qsrc = sorted;
    if (pre.rotate) {
        progress("Hadamard rotation of the residual stream (norms folded)");
        if (uniql_model_rotate(sorted, NULL, &rot, &err) != UNIQL_OK) { fprintf(stderr, "pack: rotation: %s\n", err.message); goto done; }
        qsrc = rot;
    }
    qo = pre.quant;
    qo.parallel = o->par;
    if (o->official) {
        progress("quantizing: GPTQ int4 g128 (official scale rule) on %lu calibration tokens, embeddings int4 per row, lm_head GPTQ int4",
                 (unsigned long)n_tok);
        qo.calib_tokens = tok; qo.n_calib_tokens = n_tok; qo.seq_len = o->seq_len;
    } else {
        progress("quantizing: %s int4 g%d (transposed matrices g%d)%s, embeddings int%d", o->quantizer == QZ_GPTQ ? "GPTQ" : o->quantizer == QZ_CLIP ? "RTN + clip search" : "RTN",
                 o->group, o->group_tr ? o->group_tr : o->group, o->asym ? " asymmetric" : "", o->embed_bits);
        qo.bits = 4; qo.group = o->group; qo.group_transposed = o->group_tr; qo.asymmetric = o->asym; qo.embed_bits = o->embed_bits;
        qo.clip = o->quantizer == QZ_CLIP;
        if (o->quantizer == QZ_GPTQ) {
            /* sequential GPTQ: each layer against the stream the layers already quantized give
               (with --order the tokens feed this stream alone; nothing else is calibrated) */
            progress("GPTQ on %lu calibration tokens of %s (sequences of %d), damp %g%s", (unsigned long)n_tok, o->calib_path, o->seq_len,
                     o->damp > 0 ? o->damp : 0.01, o->act_order ? ", act-order" : "");
            qo.method = UNIQL_QUANT_GPTQ;
            qo.calib_tokens = tok; qo.n_calib_tokens = n_tok; qo.seq_len = o->seq_len;
            qo.damp = o->damp; qo.act_order = o->act_order;
        }
    }
    if (uniql_model_quantize(qsrc, NULL, &qo, &q4, &err) != UNIQL_OK) { fprintf(stderr, "pack: quantization: %s\n", err.message); goto done; }
    memset(upgrade, 0, sizeof upgrade);
    if (o->budget_mb > 0) {
        uint64_t lb[2 * UNIQL_MAX_LAYERS], fixed;
        qo.bits = 8;
        if (uniql_model_quantize(qsrc, NULL, &qo, &q8, &err) != UNIQL_OK) { fprintf(stderr, "pack: int8 copies: %s\n", err.message); goto done; }
        fixed = uniql_model_weight_bytes(q4);
        for (l = 0; l < L; l++) {
            lb[2 * l] = layer_bytes(q4, l);
            lb[2 * l + 1] = layer_bytes(q8, l);
            fixed -= lb[2 * l];
        }
        if (!lsaq_upgrades(L, lsaq, lb, fixed, o->budget_mb, o->budget_bytes, upgrade)) goto done;
    }
    progress("writing %s", o->out_path);
    memset(&d, 0, sizeof d);
    d.config_json = (const char *)ck->cfg; d.config_len = ck->cfg_len;
    d.n_rates = n_rates; d.rates = rates; d.kept = kept;
    d.block_influence = bip; d.lsaq_importance = lsp;
    d.upgrade = q8; d.upgrade_layers = upgrade;
    d.rotation = pre.rotate ? "hadamard" : NULL;
    d.quantizer = o->official ? pre.quantizer_name : qz_meta(o);
    if (ck->tk) {
        d.tokenizer_json = (const char *)ck->tj; d.tokenizer_len = ck->tj_len;
        d.tokenizer_config = (const char *)ck->tc; d.tokenizer_config_len = ck->tc_len;
    }
    if (uniql_pack_model(q4, &d, NULL, &img, &img_size, &err) != UNIQL_OK) { fprintf(stderr, "pack: %s\n", err.message); goto done; }
    if (!out_ready(o) || !cli_out_commit(o->out, img, img_size)) goto done;
    progress("done: %s, %.3f MB (%lu bytes)", o->out_path, (double)img_size / 1048576.0, (unsigned long)img_size);
    if (peak_rss() > 0) progress("peak RSS %.1f MB", peak_rss() / 1048576.0);
    ok = 1;
done:
    uniql_free_buffer(img, NULL);
    uniql_order_free(&ord);
    free(kept);
    uniql_calib_free(cb);
    uniql_model_free(q8);
    uniql_model_free(q4);
    uniql_model_free(rot);
    uniql_model_free(sorted);
    return ok;
}

/* ---- the layer-by-layer path ---- */

/* the partial state: a folder (POSIX) or files with a common prefix */
typedef struct partial {
    char base[4096];
    FILE *store;            /* data.bin: every tensor blob, appended in layer order */
    uint64_t end;           /* bytes of the store that finished parts cover */
} partial;

static void part_path(const partial *p, const char *name, char *out, size_t n)
{
#ifdef PACK_POSIX
    snprintf(out, n, "%s/%s", p->base, name);
#else
    snprintf(out, n, "%s.%s", p->base, name);
#endif
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}
#define FNV0 0xcbf29ce484222325ull

static int flush_file(FILE *f)
{
    if (fflush(f) != 0) return 0;
#ifdef PACK_POSIX
    if (fsync(fileno(f)) != 0) return 0;
#endif
    return 1;
}

/* write `text` to part file `name` atomically: name.tmp, flushed, renamed */
static int part_write_text(const partial *p, const char *name, const char *text, size_t n)
{
    char path[4200], tmp[4300];
    FILE *f;
    part_path(p, name, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f || fwrite(text, 1, n, f) != n || !flush_file(f)) {
        if (f) fclose(f);
        remove(tmp);
        return 0;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) { remove(tmp); return 0; }
    return 1;
}

static char *part_read_text(const partial *p, const char *name, size_t *n)
{
    char path[4200];
    void *d;
    part_path(p, name, path, sizeof path);
    if (uniql_read_file(path, NULL, &d, n, NULL) != UNIQL_OK) return NULL;
    return (char *)d;
}

static uniql_result store_append(void *user, const void *p, size_t n)
{
    partial *pt = (partial *)user;
    if (fwrite(p, 1, n, pt->store) != n) return UNIQL_ERR_IO;
    pt->end += n;
    return UNIQL_OK;
}

static uniql_result store_read_at(void *user, uint64_t off, void *p, size_t n)
{
    FILE *f = (FILE *)user;
#ifdef PACK_POSIX
    if (fseeko(f, (off_t)off, SEEK_SET) != 0) return UNIQL_ERR_IO;
#else
    if (off > 0x7fffffffull || fseek(f, (long)off, SEEK_SET) != 0) return UNIQL_ERR_IO;
#endif
    return fread(p, 1, n, f) == n ? UNIQL_OK : UNIQL_ERR_IO;
}

/* positioned writes into the output's temporary file (tools/cli.h), committed after */
static uniql_result out_write_at(void *user, uint64_t off, const void *p, size_t n)
{
    cli_out *o = (cli_out *)user;
    const unsigned char *b = (const unsigned char *)p;
#ifdef CLI_POSIX
    while (n > 0) {
        ssize_t w = pwrite(o->fd, b, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return UNIQL_ERR_IO;
        b += w;
        off += (uint64_t)w;
        n -= (size_t)w;
    }
    return UNIQL_OK;
#else
    if (off > 0x7fffffffull || fseek(o->f, (long)off, SEEK_SET) != 0) return UNIQL_ERR_IO;
    return fwrite(b, 1, n, o->f) == n ? UNIQL_OK : UNIQL_ERR_IO;
#endif
}

/* one tensor entry of a part record */
typedef struct rec_entry { char name[64]; int dtype, rows, cols, transposed, group; unsigned long long at; } rec_entry;

/* a finished part (layer or globals), as its record file holds it */
typedef struct rec {
    int layer;
    unsigned long long start, end, sum, rng, bytes4, bytes8, vec;
    double bi, lsaq;
    int n_pairs, *pairs;
    int n_ent;
    rec_entry *ent;
} rec;

static void rec_free(rec *r)
{
    free(r->pairs);
    free(r->ent);
    memset(r, 0, sizeof *r);
}

/* text form; doubles with 17 digits so they read back exactly */
static char *rec_format(const rec *r, size_t *len)
{
    size_t cap = 4096 + (size_t)r->n_pairs * 12 + (size_t)r->n_ent * 128, n = 0;
    char *s = (char *)malloc(cap);
    int i;
    if (!s) return NULL;
    n += (size_t)snprintf(s + n, cap - n, "uniql-pack-part 1\nlayer %d\nstart %llu\nend %llu\nsum %llu\nrng %llu\n", r->layer,
                          r->start, r->end, r->sum, r->rng);
    n += (size_t)snprintf(s + n, cap - n, "bi %.17g\nlsaq %.17g\nbytes4 %llu\nbytes8 %llu\nvec %llu\npairs %d", r->bi, r->lsaq,
                          r->bytes4, r->bytes8, r->vec, r->n_pairs);
    for (i = 0; i < r->n_pairs; i++) n += (size_t)snprintf(s + n, cap - n, " %d", r->pairs[i]);
    n += (size_t)snprintf(s + n, cap - n, "\nentries %d\n", r->n_ent);
    for (i = 0; i < r->n_ent; i++) {
        const rec_entry *e = &r->ent[i];
        n += (size_t)snprintf(s + n, cap - n, "%s %d %d %d %d %d %llu\n", e->name, e->dtype, e->rows, e->cols, e->transposed, e->group, e->at);
    }
    n += (size_t)snprintf(s + n, cap - n, "end-of-record\n");
    *len = n;
    return s;
}

static int rec_parse(const char *s, rec *r)
{
    int k, i, used;
    memset(r, 0, sizeof *r);
    if (sscanf(s, "uniql-pack-part 1\nlayer %d\nstart %llu\nend %llu\nsum %llu\nrng %llu\nbi %lf\nlsaq %lf\nbytes4 %llu\nbytes8 %llu\nvec %llu\npairs %d%n",
               &r->layer, &r->start, &r->end, &r->sum, &r->rng, &r->bi, &r->lsaq, &r->bytes4, &r->bytes8, &r->vec, &r->n_pairs, &used) != 11 ||
        r->n_pairs < 0 || r->n_pairs > (1 << 24))
        return 0;
    s += used;
    if (r->n_pairs && !(r->pairs = (int *)malloc(sizeof(int) * (size_t)r->n_pairs))) return 0;
    for (i = 0; i < r->n_pairs; i++) {
        if (sscanf(s, " %d%n", &r->pairs[i], &used) != 1) return 0;
        s += used;
    }
    if (sscanf(s, " entries %d%n", &r->n_ent, &used) != 1 || r->n_ent < 0 || r->n_ent > 4096) return 0;
    s += used;
    if (!(r->ent = (rec_entry *)calloc((size_t)r->n_ent + 1, sizeof *r->ent))) return 0;
    for (i = 0; i < r->n_ent; i++) {
        rec_entry *e = &r->ent[i];
        k = sscanf(s, " %63s %d %d %d %d %d %llu%n", e->name, &e->dtype, &e->rows, &e->cols, &e->transposed, &e->group, &e->at, &used);
        if (k != 7) return 0;
        s += used;
    }
    return strstr(s, "end-of-record") != NULL;
}

/* FNV of store bytes [a, b) */
static int store_sum(FILE *f, uint64_t a, uint64_t b, unsigned long long *h)
{
    static unsigned char buf[1 << 16];
    *h = FNV0;
    while (a < b) {
        size_t k = b - a < sizeof buf ? (size_t)(b - a) : sizeof buf;
        if (store_read_at(f, a, buf, k) != UNIQL_OK) return 0;
        *h = fnv(*h, buf, k);
        a += k;
    }
    return 1;
}

/* serialize the parts' tensors (layer < 0: globals) into the store and the record */
static int store_part(partial *pt, const uniql_model *q, int layer, int name_layer, const uniql_model *up, rec *r)
{
    uniql_pack_input in[96];
    char names[96 * 64];
    int n, i;
    if (uniql_pack_part_inputs(q, layer, name_layer, up, in, names, 96, &n) != UNIQL_OK) return 0;
    r->ent = (rec_entry *)calloc((size_t)n + 1, sizeof *r->ent);
    if (!r->ent) return 0;
    for (i = 0; i < n; i++) {
        rec_entry *e = &r->ent[i];
        snprintf(e->name, sizeof e->name, "%s", in[i].name);
        e->dtype = (int)in[i].m.dtype;
        e->rows = in[i].m.rows;
        e->cols = in[i].m.cols;
        e->transposed = in[i].m.transposed != 0;
        e->group = in[i].m.group;
        e->at = pt->end;
        if (uniql_pack_blob_write(&in[i].m, store_append, pt, NULL) != UNIQL_OK) return 0;
    }
    r->n_ent = n;
    return 1;
}

/* activations file: header, x (T x D floats), LSAQ sets (T x k ints) */
typedef struct acts_hdr { char magic[8]; int layer, D, k, pad; unsigned long long T, sum; } acts_hdr;

static int acts_save(const partial *p, int layer, const float *x, const int *topk, int D, int k, size_t T)
{
    char name[32], path[4200];
    acts_hdr h;
    FILE *f;
    size_t nx = T * (size_t)D, nk = T * (size_t)k;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, "UQACTS1", 8);
    h.layer = layer; h.D = D; h.k = k; h.T = T;
    h.sum = fnv(fnv(FNV0, x, nx * sizeof(float)), topk, nk * sizeof(int));
    snprintf(name, sizeof name, "acts-%d.bin", layer % 2);
    part_path(p, name, path, sizeof path);
    f = fopen(path, "wb");
    if (!f || fwrite(&h, sizeof h, 1, f) != 1 || fwrite(x, sizeof(float), nx, f) != nx || fwrite(topk, sizeof(int), nk, f) != nk ||
        !flush_file(f)) {
        if (f) fclose(f);
        return 0;
    }
    return fclose(f) == 0;
}

static int acts_load(const partial *p, int layer, float *x, int *topk, int D, int k, size_t T)
{
    char name[32], path[4200];
    acts_hdr h;
    FILE *f;
    size_t nx = T * (size_t)D, nk = T * (size_t)k;
    int ok;
    snprintf(name, sizeof name, "acts-%d.bin", layer % 2);
    part_path(p, name, path, sizeof path);
    f = fopen(path, "rb");
    if (!f) return 0;
    ok = fread(&h, sizeof h, 1, f) == 1 && !memcmp(h.magic, "UQACTS1", 8) && h.layer == layer && h.D == D && h.k == k && h.T == T &&
         fread(x, sizeof(float), nx, f) == nx && fread(topk, sizeof(int), nk, f) == nk &&
         h.sum == fnv(fnv(FNV0, x, nx * sizeof(float)), topk, nk * sizeof(int));
    fclose(f);
    return ok;
}

/* identity of a job: options, config, safetensors headers and sizes, calibration tokens */
static uint64_t job_hash(const pack_opts *o, const ckpt *ck, const int *tok, size_t n_tok)
{
    char s[1024];
    uint64_t h = FNV0;
    int i, k;
    k = snprintf(s, sizeof s, "pack-job 1 %d %d %d %d %d %d %.17g n_rates %d%s", o->seq_len, o->group, o->asym, o->embed_bits,
                 o->random_order, (int)n_tok, o->budget_mb, o->n_rates, o->no_lsaq ? " no-lsaq" : "");
    h = fnv(h, s, (size_t)k);
    if (o->group_tr) { k = snprintf(s, sizeof s, " group-transposed %d", o->group_tr); h = fnv(h, s, (size_t)k); }   /* 0: the old hash */
    if (o->quantizer) { k = snprintf(s, sizeof s, " quantizer %s", qz_names[o->quantizer]); h = fnv(h, s, (size_t)k); }   /* rtn: the old hash */
    for (i = 0; i < o->n_rates; i++) { k = snprintf(s, sizeof s, " %.17g", o->rates[i]); h = fnv(h, s, (size_t)k); }
    h = fnv(h, ck->cfg, ck->cfg_len);
    for (i = 0; i < ck->n; i++) {
        const unsigned char *b = (const unsigned char *)ck->sh[i].p;
        uint64_t hl = 0;
        int j;
        h = fnv(h, ck->sh[i].name, strlen(ck->sh[i].name));
        h = fnv(h, &ck->sh[i].n, sizeof ck->sh[i].n);
        for (j = 0; j < 8 && (size_t)j < ck->sh[i].n; j++) hl |= (uint64_t)b[j] << (8 * j);
        if (hl <= ck->sh[i].n - 8) h = fnv(h, b, (size_t)(8 + hl));
    }
    return fnv(h, tok, n_tok * sizeof(int));
}

/* bytes of the globals of a model (weight_bytes of a view whose only layer is empty) */
static uint64_t globals_bytes(const uniql_model *m)
{
    uniql_model v = *m;
    uniql_layer empty;
    memset(&empty, 0, sizeof empty);
    empty.type = (uniql_block_type)m->config.block[0];
    v.config.n_layers = 1;
    v.layers = &empty;
    return uniql_model_weight_bytes(&v);
}

/* the memory bound of the help text, for this model */
static double memory_bound(const uniql_model *m, size_t T, int k)
{
    const uniql_config *c = &m->config;
    double D = c->hidden_size, V = c->vocab_size, e = m->lm_head.dtype == UNIQL_DTYPE_F32 ? 4 : 2, best = 0, glob;
    const double MB = 1048576.0;
    int l;
    for (l = 0; l < c->n_layers; l++) {
        int t = c->block[l];
        double P = 0, I = 0, heads = 0, layer;
        if (t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_ATTENTION) {
            P += D * (double)c->head_dim * (2.0 * c->n_heads + 2.0 * c->n_kv_heads);
            heads += (double)(c->n_heads + c->n_kv_heads) * c->head_dim * c->head_dim;
        }
        if (t == UNIQL_BLOCK_DECODER || t == UNIQL_BLOCK_MLP) {
            I = c->intermediate_size;
            P += D * I * (c->mlp_act == UNIQL_MLP_SWIGLU ? 3 : 2);
        }
        if (t == UNIQL_BLOCK_MAMBA) {
            double di = (double)c->ssm_heads * c->ssm_head_dim, gn = (double)c->ssm_groups * c->ssm_state;
            I = di;
            P += D * (2 * di + 2 * gn + c->ssm_heads) + D * di;
            heads += (double)(c->ssm_groups + c->ssm_heads) * c->ssm_state * c->ssm_state;
        }
        layer = e * P + e * V * D + 16 * P + 8 * (D * D + I * I + heads) + 5 * MB +
                8 * (2 * I * I > 5 * D * D ? 2 * I * I : 5 * D * D) + 3 * MB;
        if (layer > best) best = layer;
    }
    glob = e * V * D + 5 * V * D;
    if (glob > best) best = glob;
    return 4 * (double)T * D + 4.0 * (double)k * (double)T + best + 4 * 64 * V + 16 * MB;
}

static int pack_layerwise(const pack_opts *o, ckpt *ck, const int *tok, size_t n_tok)
{
    uniql_model *m = ck->m, V, *S = NULL, *Q = NULL, *Q8 = NULL, *G = NULL;
    const uniql_config *c = &m->config;
    int L = c->n_layers, D = c->hidden_size, K = 10, l, first = 0, ok = 0, i, n_ent = 0;
    partial pt;
    rec gr, lr[UNIQL_MAX_LAYERS];
    char path[4200], job[256], *txt;
    size_t len, t;
    float *x = NULL;
    int *topk = NULL;
    uint64_t hash = job_hash(o, ck, tok, n_tok);
    uniql_rng rng;
    uniql_calib_options co;
    uniql_sort_options so;
    uniql_model_quant_options qo;
    uniql_error err;
    double t_layers = 0, bound = memory_bound(m, n_tok, K);
    int layers_timed = 0;
    memset(&pt, 0, sizeof pt);
    memset(&gr, 0, sizeof gr);
    memset(lr, 0, sizeof lr);
    snprintf(pt.base, sizeof pt.base, "%s.partial", o->out_path);
    snprintf(job, sizeof job, "uniql-pack-partial 1\njob %016llx\nlayers %d\n", (unsigned long long)hash, L);
    x = (float *)malloc(sizeof(float) * n_tok * (size_t)D);
    topk = (int *)malloc(sizeof(int) * n_tok * (size_t)K);
    if (!x || !topk) { fprintf(stderr, "pack: out of memory for %lu activations\n", (unsigned long)n_tok); goto done; }
    progress("layer by layer: %d layers, %lu calibration tokens (sequences of %d); memory bound %.0f MB", L, (unsigned long)n_tok,
             o->seq_len, bound / 1048576.0);

    /* resume: the job must match, then every consecutive finished layer is taken */
    txt = o->restart ? NULL : part_read_text(&pt, "job", &len);
    if (txt && len == strlen(job) && !memcmp(txt, job, len)) {
        char *g = part_read_text(&pt, "globals.rec", &len);
        part_path(&pt, "data.bin", path, sizeof path);
        pt.store = fopen(path, "r+b");
        if (g && pt.store && rec_parse(g, &gr) && gr.layer == -1) {
            unsigned long long h, end = gr.end;
            int good = store_sum(pt.store, gr.start, gr.end, &h) && h == gr.sum;
            for (l = 0; good && l < L; l++) {
                char name[32], *s;
                snprintf(name, sizeof name, "layer-%04d.rec", l);
                if (!(s = part_read_text(&pt, name, &len))) break;
                if (!rec_parse(s, &lr[l]) || lr[l].layer != l || lr[l].start != end || !store_sum(pt.store, lr[l].start, lr[l].end, &h) ||
                    h != lr[l].sum) {
                    rec_free(&lr[l]);
                    uniql_free_buffer(s, NULL);
                    break;
                }
                uniql_free_buffer(s, NULL);
                end = lr[l].end;
            }
            first = good ? l : 0;
            if (good && first > 0 && !acts_load(&pt, first - 1, x, topk, D, K, n_tok)) {
                progress("resume: the activations after layer %d are damaged; starting over", first - 1);
                good = 0;
            }
            if (good) {
                pt.end = end;
                progress("resuming %s: globals and %d of %d layers done", pt.base, first, L);
            } else {
                for (i = 0; i < L; i++) rec_free(&lr[i]);
                rec_free(&gr);
                first = 0;
            }
            if (!good) { fclose(pt.store); pt.store = NULL; }
        } else if (pt.store) { fclose(pt.store); pt.store = NULL; }
        uniql_free_buffer(g, NULL);
    }
    uniql_free_buffer(txt, NULL);
    if (!pt.store) {
        /* a fresh start: the folder, the job, then the globals */
#ifdef PACK_POSIX
        mkdir(pt.base, 0777);
#endif
        part_path(&pt, "data.bin", path, sizeof path);
        if (!part_write_text(&pt, "job", job, strlen(job)) || !(pt.store = fopen(path, "w+b"))) {
            fprintf(stderr, "pack: cannot create %s\n", pt.base);
            goto done;
        }
        pt.end = 0;
        for (l = 0; l < L; l++) { char name[32]; snprintf(name, sizeof name, "layer-%04d.rec", l); part_path(&pt, name, path, sizeof path); remove(path); }
        /* every weight is checked before any work (a NaN in the last layer fails now, not
           after hours), one layer view at a time with its mapped pages dropped after it:
           checking the whole model at once made the entire checkpoint resident (peak RSS
           = the file size; 2.5 GB on the 22-layer 1.1B shape) */
        for (l = 0; l < L; l++) {
            uniql_model_layers(m, l, l + 1, &V);
            if (uniql_model_check_finite(&V, l == 0, &err) != UNIQL_OK) { fprintf(stderr, "pack: %s\n", err.message); goto done; }
            ckpt_drop_pages(ck);
        }
        progress("quantizing the embedding%s to int%d", c->tie_embeddings ? "" : " and lm_head", o->embed_bits);
        memset(&qo, 0, sizeof qo);
        qo.group = o->group; qo.asymmetric = o->asym; qo.embed_bits = o->embed_bits; qo.globals_only = 1; qo.parallel = o->par;
        qo.clip = o->quantizer == QZ_CLIP;
        if (uniql_model_quantize(m, NULL, &qo, &G, &err) != UNIQL_OK) { fprintf(stderr, "pack: quantization: %s\n", err.message); goto done; }
        gr.layer = -1;
        gr.start = 0;
        gr.vec = globals_bytes(G);
        if (!store_part(&pt, G, -1, 0, NULL, &gr) || !flush_file(pt.store) || !store_sum(pt.store, 0, pt.end, &gr.sum)) {
            fprintf(stderr, "pack: cannot write %s\n", path);
            goto done;
        }
        gr.end = pt.end;
        uniql_model_free(G);
        G = NULL;
        txt = rec_format(&gr, &len);
        if (!txt || !part_write_text(&pt, "globals.rec", txt, len)) { free(txt); fprintf(stderr, "pack: cannot write %s\n", pt.base); goto done; }
        free(txt);
        for (t = 0; t < n_tok; t++)
            if (uniql_dequantize_row(&m->embed, tok[t], x + t * (size_t)D) != UNIQL_OK) { fprintf(stderr, "pack: embedding lookup failed\n"); goto done; }
        ckpt_drop_pages(ck);
    }

    memset(&co, 0, sizeof co);
    co.seq_len = o->seq_len;
    co.lsaq = !o->no_lsaq;
    co.lsaq_k = K;
    co.parallel = o->par;
    co.max_state_bytes = o->max_state;
    memset(&so, 0, sizeof so);
    so.parallel = o->par;
    so.layout = UNIQL_LAYOUT_PRUNABLE;
    so.order = o->random_order ? UNIQL_ORDER_RANDOM : UNIQL_ORDER_SCORES;
    so.seed = 1;
    so.layers_only = 1;
    so.rng = &rng;
    if (first > 0) rng.s = lr[first - 1].rng;
    else uniql_rng_seed(&rng, so.seed);
    for (l = first; l < L; l++) {
        uniql_calib *cb = NULL;
        uniql_calib_stream io;
        rec *r = &lr[l];
        double ta = now_s(), tb, tc, td, te;
        char eta[32], name[32];
        if (o->stop_after >= 0 && l >= o->stop_after) {
            progress("stopped after %d of %d layers (--stop-after); run the same command again to continue", l, L);
            ok = 3;
            goto done;
        }
        uniql_model_layers(m, l, l + 1, &V);
        if (uniql_model_check_finite(&V, 0, &err) != UNIQL_OK) { fprintf(stderr, "pack: layer %d: %s\n", l, err.message); goto done; }
        memset(&io, 0, sizeof io);
        io.x = x;
        io.ld = (size_t)D;
        io.topk = topk;
        io.topk_valid = l > 0;
        if (uniql_calibrate_stream(&V, &io, n_tok, &co, &cb, &err) != UNIQL_OK) {
            fprintf(stderr, "pack: layer %d: calibration: %s\n", l, err.message);
            goto done;
        }
        tb = now_s();
        uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, &r->bi);
        if (!o->no_lsaq) uniql_calib_importance(cb, UNIQL_IMPORTANCE_LSAQ, &r->lsaq);
        if (uniql_sort_model(&V, cb, &so, &S, &err) != UNIQL_OK) {
            uniql_calib_free(cb);
            fprintf(stderr, "pack: layer %d: sorting: %s\n", l, err.message);
            goto done;
        }
        uniql_calib_free(cb);
        tc = now_s();
        memset(&qo, 0, sizeof qo);
        qo.bits = 4; qo.group = o->group; qo.group_transposed = o->group_tr; qo.asymmetric = o->asym; qo.embed_bits = o->embed_bits;
        qo.layers_only = 1;
        qo.parallel = o->par;
        qo.clip = o->quantizer == QZ_CLIP;
        if (uniql_model_quantize(S, NULL, &qo, &Q, &err) != UNIQL_OK) { fprintf(stderr, "pack: layer %d: quantization: %s\n", l, err.message); goto done; }
        if (o->budget_mb > 0) {
            qo.bits = 8;
            if (uniql_model_quantize(S, NULL, &qo, &Q8, &err) != UNIQL_OK) { fprintf(stderr, "pack: layer %d: int8 copy: %s\n", l, err.message); goto done; }
            r->bytes8 = layer_bytes(Q8, 0);
        }
        r->bytes4 = layer_bytes(Q, 0);
        r->vec = uniql_model_weight_bytes(Q) - r->bytes4 - globals_bytes(Q);
        if (S->layers[0].attn.rope_pairs && c->rope_type != UNIQL_ROPE_NONE) {
            r->n_pairs = c->n_kv_heads * (c->head_dim / 2);
            r->pairs = (int *)malloc(sizeof(int) * (size_t)r->n_pairs);
            if (!r->pairs) { fprintf(stderr, "pack: out of memory\n"); goto done; }
            memcpy(r->pairs, S->layers[0].attn.rope_pairs, sizeof(int) * (size_t)r->n_pairs);
        }
        td = now_s();
        /* commit: blobs, activations, then the record that makes them count */
        r->layer = l;
        r->start = pt.end;
        r->rng = rng.s;
#ifdef PACK_POSIX
        if (fseeko(pt.store, (off_t)pt.end, SEEK_SET) != 0) { fprintf(stderr, "pack: cannot seek the store\n"); goto done; }
#else
        if (fseek(pt.store, (long)pt.end, SEEK_SET) != 0) { fprintf(stderr, "pack: cannot seek the store\n"); goto done; }
#endif
        if (!store_part(&pt, Q, 0, l, Q8, r) || !flush_file(pt.store) || !store_sum(pt.store, r->start, pt.end, &r->sum)) {
            fprintf(stderr, "pack: cannot write the store of %s: %s (%s left unchanged)\n", pt.base, strerror(errno), o->out_path);
            goto done;
        }
        r->end = pt.end;
        uniql_model_free(Q8); Q8 = NULL;
        uniql_model_free(Q); Q = NULL;
        uniql_model_free(S); S = NULL;
        if (!acts_save(&pt, l, x, topk, D, K, n_tok)) { fprintf(stderr, "pack: cannot save the activations in %s\n", pt.base); goto done; }
        txt = rec_format(r, &len);
        snprintf(name, sizeof name, "layer-%04d.rec", l);
        if (!txt || !part_write_text(&pt, name, txt, len)) { free(txt); fprintf(stderr, "pack: cannot write %s\n", pt.base); goto done; }
        free(txt);
        ckpt_drop_pages(ck);
        te = now_s();
        t_layers += te - ta;
        layers_timed++;
        fmt_secs(t_layers / layers_timed * (L - 1 - l), eta, sizeof eta);
        progress("layer %d/%d: calibrated %.1fs (%.0f tok/s), sorted %.1fs, quantized %.1fs, written %.1fs; ETA %s", l + 1, L,
                 tb - ta, (double)n_tok / (tb - ta > 1e-9 ? tb - ta : 1e-9), tc - tb, td - tc, te - td, eta);
    }

    /* finish: rate tables, LSAQ plan, meta, then the file assembled from the store */
    {
        double bi[UNIQL_MAX_LAYERS], lsaq[UNIQL_MAX_LAYERS];
        const int *pairs[UNIQL_MAX_LAYERS];
        unsigned char upgrade[UNIQL_MAX_LAYERS];
        uniql_kept *kept = (uniql_kept *)malloc(sizeof(uniql_kept) * (size_t)o->n_rates * (size_t)L);
        uniql_pack_entry *ent;
        uniql_pack_model_desc d;
        char *meta = NULL;
        size_t meta_len;
        uint64_t fsize = 0, fixed = gr.vec;
        int n_all = gr.n_ent, e;
        for (l = 0; l < L; l++) { bi[l] = lr[l].bi; lsaq[l] = lr[l].lsaq; pairs[l] = lr[l].pairs; n_all += lr[l].n_ent; fixed += lr[l].vec; }
        ent = (uniql_pack_entry *)malloc(sizeof *ent * (size_t)(n_all + 1));
        if (!kept || !ent) { free(kept); free(ent); fprintf(stderr, "pack: out of memory\n"); goto done; }
        progress("rate tables for %d global rates (block-influence allocation)", o->n_rates);
        memset(upgrade, 0, sizeof upgrade);
        if (!rate_tables(c, bi, o, NULL, kept)) { free(kept); free(ent); goto done; }
        if (o->budget_mb > 0) {
            uint64_t lb[2 * UNIQL_MAX_LAYERS];
            for (l = 0; l < L; l++) { lb[2 * l] = lr[l].bytes4; lb[2 * l + 1] = lr[l].bytes8; }
            if (!lsaq_upgrades(L, lsaq, lb, fixed, o->budget_mb, o->budget_bytes, upgrade)) { free(kept); free(ent); goto done; }
        }
        memset(&d, 0, sizeof d);
        d.config_json = (const char *)ck->cfg; d.config_len = ck->cfg_len;
        d.n_rates = o->n_rates; d.rates = o->rates; d.kept = kept;
        d.block_influence = bi; d.lsaq_importance = o->no_lsaq ? NULL : lsaq;
        d.upgrade_layers = upgrade;
        d.quantizer = qz_meta(o);
        if (ck->tk) {
            d.tokenizer_json = (const char *)ck->tj; d.tokenizer_len = ck->tj_len;
            d.tokenizer_config = (const char *)ck->tc; d.tokenizer_config_len = ck->tc_len;
        }
        n_ent = 0;
        for (l = -1; l < L; l++) {
            const rec *rr = l < 0 ? &gr : &lr[l];
            for (e = 0; e < rr->n_ent; e++) {
                const rec_entry *re = &rr->ent[e];
                size_t nl = strlen(re->name);
                if (l >= 0 && !upgrade[l] && nl > 2 && !strcmp(re->name + nl - 2, "@8")) continue;
                ent[n_ent].name = re->name;
                ent[n_ent].dtype = (uniql_dtype)re->dtype;
                ent[n_ent].rows = re->rows;
                ent[n_ent].cols = re->cols;
                ent[n_ent].transposed = re->transposed;
                ent[n_ent].group = re->group;
                ent[n_ent].at = re->at;
                n_ent++;
            }
        }
        if (uniql_pack_meta(c, pairs, &d, NULL, &meta, &meta_len, &err) != UNIQL_OK) {
            fprintf(stderr, "pack: %s\n", err.message);
            free(kept); free(ent);
            goto done;
        }
        progress("writing %s (%d tensors from %.1f MB of %s)", o->out_path, n_ent, (double)pt.end / 1048576.0, pt.base);
        if (!out_ready(o)) {
            uniql_free_buffer(meta, NULL);
            free(kept); free(ent);
            goto done;
        }
        if (uniql_pack_assemble((const char *)ck->cfg, ck->cfg_len, meta, meta_len, ent, n_ent, store_read_at, pt.store,
                                out_write_at, o->out, NULL, &fsize, &err) != UNIQL_OK) {
            fprintf(stderr, "pack: cannot write %s: %s\n", o->out_path, err.message);
            uniql_free_buffer(meta, NULL);
            free(kept); free(ent);
            goto done;
        }
        if (!cli_out_commit(o->out, NULL, 0)) {   /* flush and rename what was written */
            uniql_free_buffer(meta, NULL);
            free(kept); free(ent);
            goto done;
        }
        uniql_free_buffer(meta, NULL);
        free(kept);
        free(ent);
        progress("done: %s, %.3f MB (%llu bytes)", o->out_path, (double)fsize / 1048576.0, (unsigned long long)fsize);
    }
    /* the partial state is no longer needed */
    fclose(pt.store);
    pt.store = NULL;
    {
        static const char *const fixed_names[] = {"data.bin", "acts-0.bin", "acts-1.bin", "globals.rec", "job"};
        for (i = 0; i < 5; i++) { part_path(&pt, fixed_names[i], path, sizeof path); remove(path); }
        for (l = 0; l < L; l++) { char name[32]; snprintf(name, sizeof name, "layer-%04d.rec", l); part_path(&pt, name, path, sizeof path); remove(path); }
#ifdef PACK_POSIX
        rmdir(pt.base);
#endif
    }
    {
        double rss = peak_rss(), ckb = 0;
        for (i = 0; i < ck->n; i++) ckb += (double)ck->sh[i].n;
        if (rss > 0)
            progress("peak RSS %.1f MB (bound %.1f MB; checkpoint %.1f MB)", rss / 1048576.0, bound / 1048576.0, ckb / 1048576.0);
    }
    ok = 1;
done:
    if (pt.store) fclose(pt.store);
    uniql_model_free(G);
    uniql_model_free(Q8);
    uniql_model_free(Q);
    uniql_model_free(S);
    rec_free(&gr);
    for (l = 0; l < L; l++) rec_free(&lr[l]);
    free(x);
    free(topk);
    return ok;
}

/* calibration tokens: bytes of a text, or little-endian uint32 ids checked against the vocabulary */
static int *read_tokens(const pack_opts *o, const ckpt *ck, size_t *n_tok)
{
    const uniql_config *c = &ck->m->config;
    void *text = NULL;
    size_t text_len, n, i;
    int *tok;
    uniql_error err;
    const char *path = o->ids_path ? o->ids_path : o->calib_path;
    if (uniql_read_file(path, NULL, &text, &text_len, &err) != UNIQL_OK) {
        fprintf(stderr, "pack: calibration %s: %s\n", o->ids_path ? "ids" : "text", err.message);
        return NULL;
    }
    if (o->ids_path && text_len % 4) {
        fprintf(stderr, "pack: %s: %lu bytes is not a whole number of uint32 ids\n", path, (unsigned long)text_len);
        uniql_free_buffer(text, NULL);
        return NULL;
    }
    if (!o->ids_path && ck->tk) {
        int *ids = NULL;
        size_t n_ids = 0;
        if (uniql_tokenizer_encode(ck->tk, (const char *)text, text_len, 0, &ids, &n_ids, &err) != UNIQL_OK) {
            fprintf(stderr, "pack: %s: %s\n", path, err.message);
            uniql_free_buffer(text, NULL);
            return NULL;
        }
        n = n_ids < (size_t)o->calib_tokens ? n_ids : (size_t)o->calib_tokens;
        if (n < 16 || !(tok = (int *)malloc(sizeof(int) * n))) {
            fprintf(stderr, n < 16 ? "pack: %s gives only %lu tokens\n" : "pack: out of memory (%s, %lu)\n", path, (unsigned long)n_ids);
            uniql_free_buffer(ids, NULL);
            uniql_free_buffer(text, NULL);
            return NULL;
        }
        memcpy(tok, ids, sizeof(int) * n);
        uniql_free_buffer(ids, NULL);
        progress("%s: %lu bytes of text -> %lu tokens", path, (unsigned long)text_len, (unsigned long)n_ids);
        uniql_free_buffer(text, NULL);
        *n_tok = n;
        return tok;
    }
    n = o->ids_path ? text_len / 4 : text_len;
    if (n > (size_t)o->calib_tokens) n = (size_t)o->calib_tokens;
    if (n < 16) {
        fprintf(stderr, "pack: %s holds only %lu %s\n", path, (unsigned long)(o->ids_path ? text_len / 4 : text_len), o->ids_path ? "ids" : "bytes");
        uniql_free_buffer(text, NULL);
        return NULL;
    }
    tok = (int *)malloc(sizeof(int) * n);
    if (!tok) { fprintf(stderr, "pack: out of memory\n"); uniql_free_buffer(text, NULL); return NULL; }
    for (i = 0; i < n; i++) {
        const unsigned char *b = (const unsigned char *)text;
        if (o->ids_path) {
            uint32_t v = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
            if (v >= (uint32_t)c->vocab_size) {
                fprintf(stderr, "pack: %s: id %lu at %lu is outside the vocabulary (%d)\n", path, (unsigned long)v, (unsigned long)i, c->vocab_size);
                free(tok);
                uniql_free_buffer(text, NULL);
                return NULL;
            }
            tok[i] = (int)v;
        } else tok[i] = b[i];
    }
    uniql_free_buffer(text, NULL);
    *n_tok = n;
    return tok;
}

int main(int argc, char **argv)
{
    pack_opts o;
    ckpt ck;
    cli_out outf;
    uq_pool *pool = NULL;
    uniql_parallel par;
    size_t n_tok = 0;
    int *tok = NULL, rc = 1, i;
    static const double def_rates[7] = {0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35};
    t0 = now_s();
    cli_prog = "pack";
    memset(&o, 0, sizeof o);
    memset(&ck, 0, sizeof ck);
    memset(&outf, 0, sizeof outf);
    o.calib_path = "data/calib.txt";
    o.calib_tokens = 8192; o.seq_len = 256; o.group = 128; o.embed_bits = 8; o.stop_after = -1; o.threads = 1;
    o.max_state_mb = 4096; o.max_state = (uint64_t)4096 << 20;
    memcpy(o.rates, def_rates, sizeof def_rates);
    o.n_rates = 7;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1, takes = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout, argv[0]); return 0; }
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) { quiet = 1; takes = 0; }
        else if (!strcmp(a, "--asym")) { o.asym = 1; takes = 0; o.fixed_given = 1; }
        else if (!strcmp(a, "--random-order")) { o.random_order = 1; takes = 0; }
        else if (!strcmp(a, "--whole-model")) { o.whole = 1; takes = 0; }
        else if (!strcmp(a, "--restart")) { o.restart = 1; takes = 0; }
        else if (!strcmp(a, "--no-lsaq")) { o.no_lsaq = 1; takes = 0; }
        else if (!strcmp(a, "--act-order")) { o.act_order = 1; takes = 0; }
        else if (a[0] == '-' && a[1] && !v && (!strcmp(a, "--calib") || !strcmp(a, "--calib-tokens") || !strcmp(a, "--seq-len") ||
                                       !strcmp(a, "--group") || !strcmp(a, "--group-transposed") || !strcmp(a, "--embed-bits") || !strcmp(a, "--bits-budget-mb") ||
                                       !strcmp(a, "--rates") || !strcmp(a, "--calib-ids") || !strcmp(a, "--export-hf") ||
                                       !strcmp(a, "--order") || !strcmp(a, "--threads") || !strcmp(a, "--stop-after") ||
                                       !strcmp(a, "--max-state-mb") || !strcmp(a, "--preset") || !strcmp(a, "--quantizer") ||
                                       !strcmp(a, "--damp"))) {
            fprintf(stderr, "pack: %s needs a value\n", a);
            return 2;
        }
        else if (!strcmp(a, "--calib")) { o.calib_path = v; o.calib_given = 1; }
        else if (!strcmp(a, "--calib-ids")) o.ids_path = v;
        else if (!strcmp(a, "--export-hf")) o.export_dir = v;
        else if (!strcmp(a, "--order")) o.order_path = v;
        else if (!strcmp(a, "--preset")) {
            if (!strcmp(v, "official")) o.official = 1;
            else if (!strcmp(v, "uniqlh")) o.official = 0;
            else ok = cli_bad(a, v, "must be uniqlh or official");
        }
        else if (!strcmp(a, "--quantizer")) {
            int q;
            for (q = 0; q < 3 && strcmp(v, qz_names[q]); q++) {}
            if (q < 3) { o.quantizer = q; o.quantizer_given = 1; }
            else ok = cli_bad(a, v, "must be rtn, clip or gptq");
        }
        else if (!strcmp(a, "--damp")) { o.damp_given = 1; ok = cli_double(a, v, 0.0, 100.0, CLI_OPEN_LO, &o.damp); }
        else if (!strcmp(a, "--calib-tokens")) ok = cli_int(a, v, 16, INT_MAX, &o.calib_tokens);
        else if (!strcmp(a, "--seq-len")) ok = cli_int(a, v, 2, INT_MAX, &o.seq_len);
        else if (!strcmp(a, "--threads")) ok = cli_int(a, v, 1, UQ_POOL_MAX, &o.threads);
        else if (!strcmp(a, "--max-state-mb")) ok = cli_mb(a, v, 1e9, &o.max_state_mb, &o.max_state);
        else if (!strcmp(a, "--stop-after")) ok = cli_int(a, v, 0, UNIQL_MAX_LAYERS, &o.stop_after);
        else if (!strcmp(a, "--group")) {
            o.fixed_given = 1;
            ok = cli_group(a, v, &o.group);
        } else if (!strcmp(a, "--group-transposed")) {
            o.fixed_given = 1;
            ok = cli_group(a, v, &o.group_tr);
        } else if (!strcmp(a, "--embed-bits")) {
            o.fixed_given = 1;
            ok = cli_int(a, v, 4, 8, &o.embed_bits);
            if (ok && o.embed_bits != 4 && o.embed_bits != 8) ok = cli_bad(a, v, "must be 4 or 8");
        } else if (!strcmp(a, "--bits-budget-mb")) ok = cli_mb(a, v, 1e9, &o.budget_mb, &o.budget_bytes);
        else if (!strcmp(a, "--rates") && (o.rates_given = 1))
            ok = cli_double_list(a, v, 0.0, 0.85, CLI_OPEN_LO | CLI_OPEN_HI, 1, o.rates, UNIQL_PACK_MAX_RATES, &o.n_rates);
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "pack: unknown option '%s' (see --help)\n", a); return 2; }
        else if (!o.model_dir) { o.model_dir = a; takes = 0; }
        else if (!o.out_path) { o.out_path = a; takes = 0; }
        else { fprintf(stderr, "pack: unexpected argument '%s'\n", a); return 2; }
        if (!ok) return 2;
        i += takes;
    }
    if (!o.model_dir || !o.out_path) { usage(stderr, argv[0]); return 2; }
    if (o.official && (o.fixed_given || o.order_path || o.random_order || o.quantizer_given || o.damp_given || o.act_order)) {
        fprintf(stderr, "pack: --preset official fixes the quantizer and needs calibration: --group, --group-transposed, --asym, --embed-bits, --quantizer, --damp, --act-order, --order, --random-order do not apply\n");
        return 2;
    }
    if (o.quantizer != QZ_GPTQ && (o.damp_given || o.act_order)) {
        fprintf(stderr, "pack: --damp and --act-order are GPTQ options: they need --quantizer gptq\n");
        return 2;
    }
    if (o.no_lsaq && o.budget_mb > 0) { fprintf(stderr, "pack: --bits-budget-mb needs the LSAQ importance that --no-lsaq skips\n"); return 2; }
    if (o.order_path && (o.rates_given || o.random_order || (o.quantizer != QZ_GPTQ && (o.ids_path || o.calib_given)))) {
        fprintf(stderr, "pack: --order takes the rate tables and the order from its file: --rates, --random-order do not apply, "
                        "and --calib / --calib-ids only with --quantizer gptq (its calibration stream)\n");
        return 2;
    }
    if (o.order_path && o.quantizer == QZ_GPTQ && !o.ids_path && !o.calib_given) {
        /* nothing else is calibrated with --order: no default text is guessed for GPTQ */
        fprintf(stderr, "pack: --quantizer gptq with --order needs calibration tokens: give --calib FILE or --calib-ids FILE\n");
        return 2;
    }
    if (o.order_path || o.export_dir) o.whole = 1;   /* both need the whole sorted model */
    if (o.quantizer == QZ_GPTQ && !o.whole) {
        /* sequential GPTQ needs the model's own stream through the layers already quantized:
           the layer-by-layer path does not have it */
        progress("--quantizer gptq: the whole-model path (the layer-by-layer default has no sequential GPTQ stream)");
        o.whole = 1;
    }
    if (o.official && !o.whole) {
        /* the rotation and the sequential GPTQ (each layer's calibration input is the output of
           the layers already quantized) act on the whole model: the layer-by-layer path has
           neither, so the preset runs the reference path, and says so */
        progress("--preset official: the whole-model path (the layer-by-layer default has no rotation or sequential GPTQ)");
        o.whole = 1;
    }
#ifdef CLI_POSIX
    if (cli_same_file(o.out_path, o.calib_path) || cli_file_in_dir(o.out_path, o.model_dir)) {
        fprintf(stderr, "pack: %s is one of the inputs (the calibration text or a file of %s): refused\n", o.out_path, o.model_dir);
        return 2;
    }
#endif
    /* can the output's temporary file be made? An unwritable destination fails now, not
       after calibration; the file itself goes again until the end (out_ready) */
    if ((i = cli_out_open(&outf, o.out_path)) != 1) return i < 0 ? 2 : 1;
    cli_out_abort(&outf);
    o.out = &outf;
    if (o.threads > 1) {
        if (!(pool = uq_pool_create(o.threads))) { fprintf(stderr, "pack: cannot start %d threads\n", o.threads); goto done; }
        par = uq_pool_parallel(pool);
        o.par = &par;
    }

    progress("loading %s%s", o.model_dir, o.whole ? "" : " (mapped)");
    if (!ckpt_open(o.model_dir, !o.whole, &ck)) goto done;
    if (!o.order_path || o.quantizer == QZ_GPTQ) {
        if (!o.ids_path && !ck.tk && ck.m->config.vocab_size < 256) {
            fprintf(stderr, "pack: vocabulary of %d < 256: not a byte-level model\n", ck.m->config.vocab_size);
            goto done;
        }
        if (!(tok = read_tokens(&o, &ck, &n_tok))) goto done;
        if (o.ids_path) o.calib_path = o.ids_path;
    }
    if (o.whole) rc = pack_whole(&o, &ck, tok, n_tok) ? 0 : 1;
    else {
        int r = pack_layerwise(&o, &ck, tok, n_tok);
        rc = r == 1 ? 0 : r == 3 ? 3 : 1;
    }
done:
    cli_out_abort(&outf);   /* a no-op after a commit */
    free(tok);
    ckpt_close(&ck);
    if (pool) uq_pool_destroy(pool);
    return rc;
}
