/* pack.c - compress a Hugging Face checkpoint into a .uniql file (UniQL, "in the cloud"):

       load -> calibrate -> sort (prunable layout) -> int4 quantize -> rate tables -> write

   The file holds the sorted int4 weights (int8 embeddings), the kept sizes of every layer
   for each global pruning rate, the kept RoPE pairs, block-influence and LSAQ layer
   importance, and optionally 8-bit copies of the layers an LSAQ plan may upgrade.
   Public API of uniql.h only. Run with --help for the options. */
#define _POSIX_C_SOURCE 200809L
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "cli.h"
#include "uq_threads.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int quiet;
static double t0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void progress(const char *fmt, ...)
{
    va_list ap;
    if (quiet) return;
    fprintf(stderr, "[pack %6.1fs] ", now_s() - t0);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
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
        "  --asym              asymmetric int4 (scale + zero point per group)\n"
        "  --embed-bits B      8 (default) or 4 for the embedding and lm_head\n"
        "  --rates LIST        global pruning rates of the stored rate tables, comma-separated\n"
        "                      (default 0.05,0.10,0.15,0.20,0.25,0.30,0.35; 0 = the full model,\n"
        "                      always available)\n"
        "  --bits-budget-mb N  LSAQ: also store 8-bit copies of the layers the LSAQ plan\n"
        "                      upgrades within N MB of weights (at 0%% pruning), so a device\n"
        "                      can re-plan for any smaller budget without recalibrating\n"
        "  --random-order      sort every dimension in a random order (the baseline)\n"
        "  --calib-ids FILE    calibration tokens as little-endian uint32 ids (a model with its\n"
        "                      own vocabulary); replaces --calib\n"
        "  --export-hf DIR     also write the sorted model for a trainer (UniQL step 4, masked\n"
        "                      LoRA recovery, tools/train/recover.py): DIR/model.safetensors (fp32,\n"
        "                      Hugging Face layout), DIR/config.json (a copy) and DIR/order.json\n"
        "                      (RoPE pair rankings, rate tables, layer importance; uniql.h API 9b)\n"
        "  --order FILE        MODEL_DIR is a checkpoint in that layout (e.g. after recovery):\n"
        "                      re-apply FILE's order and rate tables, no calibration, no scores\n"
        "                      (--calib, --calib-ids, --rates, --random-order do not apply)\n"
        "  --no-lsaq           skip the LSAQ importance (the logit lens at every layer boundary,\n"
        "                      about half of the calibration time with a large vocabulary);\n"
        "                      the file then supports no --bits-budget-mb plans\n"
        "  --threads N         threads for calibration, sorting and quantization (default 1;\n"
        "                      the output is the same bytes for any N)\n"
        "  -q, --quiet         no progress on stderr\n"
        "  -h, --help          this text\n"
        "\n"
        "OUT.uniql is written to a temporary file beside it (created before the work starts),\n"
        "flushed and renamed over OUT.uniql at the end: an existing OUT.uniql stays intact if\n"
        "anything fails. OUT.uniql must be a regular file (or absent), not one of the inputs.\n"
        "\n"
        "exit status: 0 ok, 1 a step failed (message on stderr), 2 bad usage\n", argv0);
}

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

int main(int argc, char **argv)
{
    const char *calib_path = "data/calib.txt", *model_dir = NULL, *out_path = NULL, *ids_path = NULL, *export_dir = NULL,
               *order_path = NULL;
    int rates_given = 0, n_threads = 1, no_lsaq = 0;
    uq_pool *pool = NULL;
    uniql_parallel par;
    uniql_order ord;
    char *otext = NULL;
    size_t olen = 0;
    int calib_tokens = 8192, seq_len = 256, group = 128, asym = 0, embed_bits = 8, random_order = 0, i, l, L;
    double rates[UNIQL_PACK_MAX_RATES] = {0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35}, budget_mb = 0;
    uint64_t budget_bytes = 0, max_state = (uint64_t)4096 << 20;
    double max_state_mb = 4096;
    cli_out outf;
    int n_rates = 7;
    uniql_model *m = NULL, *sorted = NULL, *q4 = NULL, *q8 = NULL;
    uniql_calib *cb = NULL;
    uniql_calib_options co;
    uniql_sort_options so;
    uniql_model_quant_options qo;
    uniql_pack_model_desc d;
    uniql_error err;
    uniql_kept *kept = NULL;
    double bi[UNIQL_MAX_LAYERS], lsaq[UNIQL_MAX_LAYERS], params[UNIQL_MAX_LAYERS], lr[UNIQL_MAX_LAYERS];
    unsigned char upgrade[UNIQL_MAX_LAYERS];
    void *cfg = NULL, *text = NULL, *img = NULL, *tj = NULL, *tc = NULL;
    size_t tj_len = 0, tc_len = 0;
    uniql_tokenizer *tk = NULL;
    size_t cfg_len, text_len, img_size, n_tok;
    int *tok = NULL, rc = 1;
    char path[4096];
    uniql_result rr;
    t0 = now_s();
    cli_prog = "pack";
    memset(&ord, 0, sizeof ord);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1, takes = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout, argv[0]); return 0; }
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) { quiet = 1; takes = 0; }
        else if (!strcmp(a, "--asym")) { asym = 1; takes = 0; }
        else if (!strcmp(a, "--random-order")) { random_order = 1; takes = 0; }
        else if (!strcmp(a, "--no-lsaq")) { no_lsaq = 1; takes = 0; }
        else if (a[0] == '-' && a[1] && !v && (!strcmp(a, "--calib") || !strcmp(a, "--calib-tokens") || !strcmp(a, "--seq-len") ||
                                       !strcmp(a, "--group") || !strcmp(a, "--embed-bits") || !strcmp(a, "--bits-budget-mb") ||
                                       !strcmp(a, "--rates") || !strcmp(a, "--calib-ids") || !strcmp(a, "--export-hf") ||
                                       !strcmp(a, "--order") || !strcmp(a, "--threads") || !strcmp(a, "--max-state-mb"))) {
            fprintf(stderr, "pack: %s needs a value\n", a);
            return 2;
        }
        else if (!strcmp(a, "--calib")) calib_path = v;
        else if (!strcmp(a, "--calib-ids")) ids_path = v;
        else if (!strcmp(a, "--export-hf")) export_dir = v;
        else if (!strcmp(a, "--order")) order_path = v;
        else if (!strcmp(a, "--threads")) ok = cli_int(a, v, 1, UQ_POOL_MAX, &n_threads);
        else if (!strcmp(a, "--calib-tokens")) ok = cli_int(a, v, 16, INT_MAX, &calib_tokens);
        else if (!strcmp(a, "--seq-len")) ok = cli_int(a, v, 2, INT_MAX, &seq_len);
        else if (!strcmp(a, "--max-state-mb")) ok = cli_mb(a, v, 1e9, &max_state_mb, &max_state);
        else if (!strcmp(a, "--group")) {
            ok = cli_int(a, v, 32, 128, &group);
            if (ok && group != 32 && group != 64 && group != 128) ok = cli_bad(a, v, "must be 32, 64 or 128");
        } else if (!strcmp(a, "--embed-bits")) {
            ok = cli_int(a, v, 4, 8, &embed_bits);
            if (ok && embed_bits != 4 && embed_bits != 8) ok = cli_bad(a, v, "must be 4 or 8");
        } else if (!strcmp(a, "--bits-budget-mb")) ok = cli_mb(a, v, 1e9, &budget_mb, &budget_bytes);
        else if (!strcmp(a, "--rates") && (rates_given = 1)) ok = cli_double_list(a, v, 0.0, 0.85, CLI_OPEN_LO | CLI_OPEN_HI, 1, rates, UNIQL_PACK_MAX_RATES, &n_rates);
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "pack: unknown option '%s' (see --help)\n", a); return 2; }
        else if (!model_dir) { model_dir = a; takes = 0; }
        else if (!out_path) { out_path = a; takes = 0; }
        else { fprintf(stderr, "pack: unexpected argument '%s'\n", a); return 2; }
        if (!ok) return 2;
        i += takes;
    }
    if (!model_dir || !out_path) { usage(stderr, argv[0]); return 2; }
    if (no_lsaq && budget_mb > 0) { fprintf(stderr, "pack: --bits-budget-mb needs the LSAQ importance that --no-lsaq skips\n"); return 2; }
    if (order_path && (rates_given || random_order || ids_path)) {
        fprintf(stderr, "pack: --order takes the rate tables and the order from its file: --rates, --random-order, --calib-ids do not apply\n");
        return 2;
    }
#ifdef CLI_POSIX
    if (cli_same_file(out_path, calib_path) || cli_file_in_dir(out_path, model_dir)) {
        fprintf(stderr, "pack: %s is one of the inputs (the calibration text or a file of %s): refused\n", out_path, model_dir);
        return 2;
    }
#endif
    /* the output's temporary file first: an unwritable destination fails now, not after calibration */
    if ((i = cli_out_open(&outf, out_path)) != 1) return i < 0 ? 2 : 1;

    memset(&par, 0, sizeof par);
    if (n_threads > 1) {
        if (!(pool = uq_pool_create(n_threads))) { fprintf(stderr, "pack: cannot start %d threads\n", n_threads); goto done; }
        par = uq_pool_parallel(pool);
    }
    progress("loading %s", model_dir);
    if (uniql_model_load_dir(model_dir, NULL, &m, &err) != UNIQL_OK) { fprintf(stderr, "pack: %s: %s\n", model_dir, err.message); goto done; }
    snprintf(path, sizeof path, "%s/config.json", model_dir);
    if (uniql_read_file(path, NULL, &cfg, &cfg_len, &err) != UNIQL_OK) { fprintf(stderr, "pack: %s\n", err.message); goto done; }
    L = m->config.n_layers;
    if (order_path) {
        /* recovery: the checkpoint is already in sorted order; the order file says the rest */
        void *ob = NULL;
        size_t on = 0;
        progress("re-applying the order of %s (no calibration)", order_path);
        if (uniql_read_file(order_path, NULL, &ob, &on, &err) != UNIQL_OK) { fprintf(stderr, "pack: %s\n", err.message); goto done; }
        rr = uniql_order_parse((const char *)ob, on, &m->config, NULL, &ord, &err);
        uniql_free_buffer(ob, NULL);
        if (rr != UNIQL_OK) { fprintf(stderr, "pack: %s: %s\n", order_path, err.message); goto done; }
        if (uniql_apply_order(m, &ord, UNIQL_LAYOUT_PRUNABLE, NULL, &sorted, &err) != UNIQL_OK) { fprintf(stderr, "pack: %s\n", err.message); goto done; }
        n_rates = ord.n_rates;
        memcpy(rates, ord.rates, sizeof(double) * (size_t)n_rates);
        kept = (uniql_kept *)malloc(sizeof(uniql_kept) * (size_t)n_rates * (size_t)L);
        if (!kept) { fprintf(stderr, "pack: out of memory\n"); goto done; }
        memcpy(kept, ord.kept, sizeof(uniql_kept) * (size_t)n_rates * (size_t)L);
        for (l = 0; l < L; l++) {
            bi[l] = ord.block_influence ? ord.block_influence[l] : 0;
            lsaq[l] = ord.lsaq ? ord.lsaq[l] : 0;
        }
        if (budget_mb > 0 && !ord.lsaq) { fprintf(stderr, "pack: --bits-budget-mb needs LSAQ importance, which %s lacks\n", order_path); goto done; }
        goto sorted_ready;
    }
    /* the checkpoint's tokenizer, if it has one: calibration text goes through it, and the
       .uniql carries it */
    snprintf(path, sizeof path, "%s/tokenizer.json", model_dir);
    if (uniql_read_file(path, NULL, &tj, &tj_len, NULL) == UNIQL_OK) {
        uniql_tokenizer_info ti;
        snprintf(path, sizeof path, "%s/tokenizer_config.json", model_dir);
        if (uniql_read_file(path, NULL, &tc, &tc_len, NULL) != UNIQL_OK) tc = NULL;
        if (uniql_tokenizer_load((const char *)tj, tj_len, (const char *)tc, tc_len, NULL, &tk, &err) != UNIQL_OK) {
            fprintf(stderr, "pack: %s/tokenizer.json: %s\n", model_dir, err.message);
            goto done;
        }
        uniql_tokenizer_get_info(tk, &ti);
        if (ti.vocab_size > m->config.vocab_size) {
            fprintf(stderr, "pack: tokenizer.json has ids up to %d, the model's vocabulary is %d\n", ti.vocab_size - 1, m->config.vocab_size);
            goto done;
        }
        progress("tokenizer.json: %d tokens%s", ti.vocab_size, ti.byte_level ? " (byte-level BPE)" : " (BPE)");
    }
    if (!ids_path && !tk && m->config.vocab_size < 256) { fprintf(stderr, "pack: vocabulary of %d < 256: not a byte-level model\n", m->config.vocab_size); goto done; }

    if (ids_path) {
        /* pre-tokenized: little-endian uint32 ids, each checked against the vocabulary */
        const unsigned char *b;
        if (uniql_read_file(ids_path, NULL, &text, &text_len, &err) != UNIQL_OK) { fprintf(stderr, "pack: calibration ids: %s\n", err.message); goto done; }
        if (text_len % 4) { fprintf(stderr, "pack: %s: %lu bytes is not a whole number of uint32 ids\n", ids_path, (unsigned long)text_len); goto done; }
        n_tok = text_len / 4 < (size_t)calib_tokens ? text_len / 4 : (size_t)calib_tokens;
        if (n_tok < 16) { fprintf(stderr, "pack: %s holds only %lu ids\n", ids_path, (unsigned long)(text_len / 4)); goto done; }
        tok = (int *)malloc(sizeof(int) * n_tok);
        if (!tok) { fprintf(stderr, "pack: out of memory\n"); goto done; }
        b = (const unsigned char *)text;
        for (i = 0; i < (int)n_tok; i++) {
            uint32_t v = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
            if (v >= (uint32_t)m->config.vocab_size) { fprintf(stderr, "pack: %s: id %lu at %d is outside the vocabulary (%d)\n", ids_path, (unsigned long)v, i, m->config.vocab_size); goto done; }
            tok[i] = (int)v;
        }
        calib_path = ids_path;
    } else if (tk) {
        int *ids = NULL;
        size_t n_ids = 0;
        if (uniql_read_file(calib_path, NULL, &text, &text_len, &err) != UNIQL_OK) { fprintf(stderr, "pack: calibration text: %s\n", err.message); goto done; }
        if (uniql_tokenizer_encode(tk, (const char *)text, text_len, 0, &ids, &n_ids, &err) != UNIQL_OK) {
            fprintf(stderr, "pack: %s: %s\n", calib_path, err.message);
            goto done;
        }
        n_tok = n_ids < (size_t)calib_tokens ? n_ids : (size_t)calib_tokens;
        if (n_tok < 16) { fprintf(stderr, "pack: %s gives only %lu tokens\n", calib_path, (unsigned long)n_ids); uniql_free_buffer(ids, NULL); goto done; }
        tok = (int *)malloc(sizeof(int) * n_tok);
        if (!tok) { fprintf(stderr, "pack: out of memory\n"); uniql_free_buffer(ids, NULL); goto done; }
        memcpy(tok, ids, sizeof(int) * n_tok);
        uniql_free_buffer(ids, NULL);
        progress("%s: %lu bytes of text -> %lu tokens", calib_path, (unsigned long)text_len, (unsigned long)n_ids);
    } else {
        if (uniql_read_file(calib_path, NULL, &text, &text_len, &err) != UNIQL_OK) { fprintf(stderr, "pack: calibration text: %s\n", err.message); goto done; }
        n_tok = text_len < (size_t)calib_tokens ? text_len : (size_t)calib_tokens;
        if (n_tok < 16) { fprintf(stderr, "pack: %s holds only %lu bytes\n", calib_path, (unsigned long)text_len); goto done; }
        tok = (int *)malloc(sizeof(int) * n_tok);
        if (!tok) { fprintf(stderr, "pack: out of memory\n"); goto done; }
        for (i = 0; i < (int)n_tok; i++) tok[i] = ((const unsigned char *)text)[i];
    }
    progress("calibrating on %lu tokens of %s (sequences of %d)", (unsigned long)n_tok, calib_path, seq_len);
    memset(&co, 0, sizeof co);
    co.seq_len = seq_len;
    co.lsaq = !no_lsaq;
    co.parallel = pool ? &par : NULL;
    co.max_state_bytes = max_state;   /* the state follows the config: a hostile one is refused, not allocated */
    if (uniql_calibrate(m, tok, n_tok, &co, &cb, &err) != UNIQL_OK) { fprintf(stderr, "pack: calibration: %s\n", err.message); goto done; }
    uniql_calib_importance(cb, UNIQL_IMPORTANCE_BLOCK_INFLUENCE, bi);
    if (!no_lsaq) uniql_calib_importance(cb, UNIQL_IMPORTANCE_LSAQ, lsaq);

    progress("sorting (%s order, prunable layout)", random_order ? "random" : "UniQL score");
    memset(&so, 0, sizeof so);
    so.layout = UNIQL_LAYOUT_PRUNABLE;
    so.order = random_order ? UNIQL_ORDER_RANDOM : UNIQL_ORDER_SCORES;
    so.seed = 1;
    so.parallel = pool ? &par : NULL;
    if (uniql_sort_model(m, cb, &so, &sorted, &err) != UNIQL_OK) { fprintf(stderr, "pack: sorting: %s\n", err.message); goto done; }
    uniql_calib_free(cb);
    cb = NULL;

    progress("rate tables for %d global rates (block-influence allocation)", n_rates);
    kept = (uniql_kept *)malloc(sizeof(uniql_kept) * (size_t)n_rates * (size_t)L);
    if (!kept) { fprintf(stderr, "pack: out of memory\n"); goto done; }
    for (l = 0; l < L; l++) params[l] = (double)uniql_prunable_params(&sorted->config, l, NULL);
    for (i = 0; i < n_rates; i++) {
        if ((rr = uniql_layer_rates(L, bi, params, rates[i], 0, 0, lr)) != UNIQL_OK ||
            (rr = uniql_kept_from_rates(&sorted->config, lr, NULL, kept + (size_t)i * (size_t)L)) != UNIQL_OK) {
            fprintf(stderr, "pack: layer rates for %.4g failed: %s (%d)\n", rates[i], uniql_result_string(rr), (int)rr);
            goto done;
        }
    }

sorted_ready:
    if (export_dir) {
        /* UniQL step 4 hand-over: the sorted model in HF layout, its config, the order file */
        void *st = NULL;
        size_t st_size = 0;
        cli_out of;
        int ok = 0;
        progress("exporting the sorted model for recovery to %s/", export_dir);
        memset(&of, 0, sizeof of);
#ifdef CLI_POSIX
        if (mkdir(export_dir, 0777) != 0 && errno != EEXIST) { fprintf(stderr, "pack: cannot create %s: %s\n", export_dir, strerror(errno)); goto done; }
#endif
        if (uniql_export_hf(sorted, UNIQL_DTYPE_F32, NULL, &st, &st_size, &err) != UNIQL_OK ||
            uniql_order_write(sorted, n_rates, rates, kept, order_path && !ord.block_influence ? NULL : bi,
                              (order_path && !ord.lsaq) || no_lsaq ? NULL : lsaq, NULL, &otext, &olen, &err) != UNIQL_OK) {
            fprintf(stderr, "pack: --export-hf: %s\n", err.message);
            uniql_free_buffer(st, NULL);
            goto done;
        }
        snprintf(path, sizeof path, "%s/model.safetensors", export_dir);
        if (cli_out_open(&of, path) == 1 && cli_out_commit(&of, st, st_size)) {
            snprintf(path, sizeof path, "%s/config.json", export_dir);
            if (cli_out_open(&of, path) == 1 && cli_out_commit(&of, cfg, cfg_len)) {
                snprintf(path, sizeof path, "%s/order.json", export_dir);
                if (cli_out_open(&of, path) == 1 && cli_out_commit(&of, otext, olen)) ok = 1;
            }
        }
        cli_out_abort(&of);
        uniql_free_buffer(st, NULL);
        if (!ok) goto done;
        progress("exported %s/{model.safetensors (%.3f MB), config.json, order.json}", export_dir, (double)st_size / 1048576.0);
    }

    progress("quantizing: int4 g%d%s, embeddings int%d", group, asym ? " asymmetric" : "", embed_bits);
    memset(&qo, 0, sizeof qo);
    qo.parallel = pool ? &par : NULL;
    qo.bits = 4; qo.group = group; qo.asymmetric = asym; qo.embed_bits = embed_bits;
    if (uniql_model_quantize(sorted, NULL, &qo, &q4, &err) != UNIQL_OK) { fprintf(stderr, "pack: quantization: %s\n", err.message); goto done; }

    memset(upgrade, 0, sizeof upgrade);
    if (budget_mb > 0) {
        static const int widths[2] = {4, 8};
        uint64_t lb[2 * UNIQL_MAX_LAYERS], fixed, total, budget = budget_bytes;
        int bits[UNIQL_MAX_LAYERS], n8 = 0;
        uniql_result r;
        qo.bits = 8;
        if (uniql_model_quantize(sorted, NULL, &qo, &q8, &err) != UNIQL_OK) { fprintf(stderr, "pack: int8 copies: %s\n", err.message); goto done; }
        fixed = uniql_model_weight_bytes(q4);
        for (l = 0; l < L; l++) {
            lb[2 * l] = layer_bytes(q4, l);
            lb[2 * l + 1] = layer_bytes(q8, l);
            fixed -= lb[2 * l];
        }
        r = uniql_lsaq_plan(L, lsaq, 2, widths, lb, fixed, budget, bits, &total);
        if (r != UNIQL_OK) {
            fprintf(stderr, "pack: --bits-budget-mb %.3f: %s (all-4-bit weights need %.3f MB)\n", budget_mb,
                    uniql_result_string(r), (double)total / 1048576.0);
            goto done;
        }
        for (l = 0; l < L; l++) { upgrade[l] = (unsigned char)(bits[l] == 8); n8 += bits[l] == 8; }
        progress("LSAQ plan at %.3f MB: %d of %d layers upgradable to int8 (plan %.3f MB)", budget_mb, n8, L, (double)total / 1048576.0);
    }

    progress("writing %s", out_path);
    memset(&d, 0, sizeof d);
    d.config_json = (const char *)cfg; d.config_len = cfg_len;
    d.n_rates = n_rates; d.rates = rates; d.kept = kept;
    d.block_influence = order_path && !ord.block_influence ? NULL : bi;
    d.lsaq_importance = (order_path && !ord.lsaq) || no_lsaq ? NULL : lsaq;
    d.upgrade = q8; d.upgrade_layers = upgrade;
    if (tk) {
        d.tokenizer_json = (const char *)tj; d.tokenizer_len = tj_len;
        d.tokenizer_config = (const char *)tc; d.tokenizer_config_len = tc ? tc_len : 0;
    }
    if (uniql_pack_model(q4, &d, NULL, &img, &img_size, &err) != UNIQL_OK) { fprintf(stderr, "pack: %s\n", err.message); goto done; }
    if (!cli_out_commit(&outf, img, img_size)) goto done;
    progress("done: %s, %.3f MB (%lu bytes)", out_path, (double)img_size / 1048576.0, (unsigned long)img_size);
    rc = 0;
done:
    cli_out_abort(&outf);   /* a no-op after a commit */
    uniql_free_buffer(img, NULL);
    uniql_free_buffer(otext, NULL);
    uniql_order_free(&ord);
    free(kept);
    free(tok);
    uniql_free_buffer(text, NULL);
    uniql_free_buffer(cfg, NULL);
    uniql_free_buffer(tj, NULL);
    uniql_free_buffer(tc, NULL);
    uniql_tokenizer_free(tk);
    uniql_calib_free(cb);
    uniql_model_free(q8);
    uniql_model_free(q4);
    uniql_model_free(sorted);
    uniql_model_free(m);
    if (pool) uq_pool_destroy(pool);
    return rc;
}
