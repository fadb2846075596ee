/* test_packtool.c - tools/pack as a user runs it (build/pack, built by `make test`):
   the layer-by-layer pack writes the same bytes as the whole-model path on every
   reference family; an interrupted pack (stopped, killed, or with a damaged record)
   resumes and still writes those bytes; a changed job does not resume; and the peak RSS
   stays under the bound pack states, a bound the whole-model path exceeds. Runs shell
   commands through system(), so it needs a POSIX shell; elsewhere it is skipped. */
#include "../uniql.h"
#include "uq_test.h"
#include "tutil.h"
#include <stdarg.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/wait.h>
#define PT_POSIX 1
#endif

#define PT_DIR "build/packtool"

static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    int st;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    st = system(cmd);
#ifdef PT_POSIX
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
#else
    return st;
#endif
}

static int same_files(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    unsigned char *x = tutil_read_file(a, &na), *y = tutil_read_file(b, &nb);
    int same = x && y && na == nb && na > 48 && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static int log_has(const char *path, const char *needle)
{
    unsigned char *t = tutil_read_file(path, NULL);
    int has = t && strstr((const char *)t, needle) != NULL;
    free(t);
    return has;
}

/* "peak RSS X MB (bound Y MB" / "peak RSS X MB" from a log; 0 if absent */
static double log_num(const char *path, const char *key)
{
    unsigned char *t = tutil_read_file(path, NULL);
    const char *p = t ? strstr((const char *)t, key) : NULL;
    double v = p ? atof(p + strlen(key)) : 0;
    free(t);
    return v;
}

static int have_pack(void)
{
#ifndef PT_POSIX
    return 0;
#else
    FILE *f = fopen("build/pack", "rb");
    if (!f) return 0;
    fclose(f);
    return sh("mkdir -p " PT_DIR) == 0;
#endif
}

#define PACK "./build/pack -q --calib-tokens 300 --seq-len 64 "

TEST packtool_layerwise_equals_whole_model(void)
{
    static const char *const fams[4] = {"llama", "qwen2", "mamba2", "nemotron_h"};
    int f;
    if (!have_pack()) SKIPm("build/pack or a POSIX shell missing");
    for (f = 0; f < 4; f++) {
        ASSERT_EQ(0, sh(PACK "--whole-model tests/data/ref/%s " PT_DIR "/%s.whole.uniql", fams[f], fams[f]));
        ASSERT_EQ(0, sh(PACK "tests/data/ref/%s " PT_DIR "/%s.layer.uniql", fams[f], fams[f]));
        {
            char a[256], b[256];
            snprintf(a, sizeof a, PT_DIR "/%s.whole.uniql", fams[f]);
            snprintf(b, sizeof b, PT_DIR "/%s.layer.uniql", fams[f]);
            ASSERTm(fams[f], same_files(a, b));
        }
        ASSERT(sh("test -e " PT_DIR "/%s.layer.uniql.partial", fams[f]) != 0);   /* cleaned up */
    }
    /* --no-lsaq (no logit lens, no LSAQ importance in the file) is the same on both paths */
    ASSERT_EQ(0, sh(PACK "--no-lsaq --whole-model tests/data/ref/llama " PT_DIR "/nolsaq.whole.uniql"));
    ASSERT_EQ(0, sh(PACK "--no-lsaq tests/data/ref/llama " PT_DIR "/nolsaq.layer.uniql"));
    ASSERT(same_files(PT_DIR "/nolsaq.whole.uniql", PT_DIR "/nolsaq.layer.uniql"));
    ASSERT(!same_files(PT_DIR "/nolsaq.layer.uniql", PT_DIR "/llama.layer.uniql"));
    UQ_NOTE("llama (3 shards + index), qwen2, mamba2, nemotron_h: layer by layer == --whole-model, byte for byte (llama also with --no-lsaq)");
    PASS();
}

TEST packtool_resume(void)
{
    const char *out = PT_DIR "/resume.uniql", *ref = PT_DIR "/resume.whole.uniql", *lg = PT_DIR "/resume.log";
    if (!have_pack()) SKIPm("build/pack or a POSIX shell missing");
    sh("rm -rf %s %s.partial", out, out);
    ASSERT_EQ(0, sh(PACK "--whole-model --random-order tests/data/ref/qwen2 %s", ref));
    /* stopped: exit 3, the partial state kept, then continued */
    ASSERT_EQ(3, sh(PACK "--random-order --stop-after 2 tests/data/ref/qwen2 %s", out));
    ASSERT_EQ(0, sh("test -d %s.partial && test ! -e %s", out, out));
    ASSERT_EQ(0, sh("./build/pack --calib-tokens 300 --seq-len 64 --random-order tests/data/ref/qwen2 %s 2>%s", out, lg));
    ASSERT(log_has(lg, "globals and 2 of 3 layers done"));
    ASSERT(same_files(ref, out));
    /* what a kill in the middle of layer 2 leaves: its blobs appended to the store, its
       activations half written, its record half written (never renamed); all ignored */
    sh("rm -f %s", out);
    ASSERT_EQ(3, sh(PACK "--random-order --stop-after 1 tests/data/ref/qwen2 %s", out));
    ASSERT_EQ(0, sh("printf 'garbage' >> %s.partial/data.bin && printf 'UQACTS1' > %s.partial/acts-1.bin && "
                    "printf 'uniql-pack-part 1' > %s.partial/layer-0001.rec.tmp", out, out, out));
    ASSERT_EQ(0, sh("./build/pack --calib-tokens 300 --seq-len 64 --random-order tests/data/ref/qwen2 %s 2>%s", out, lg));
    ASSERT(log_has(lg, "globals and 1 of 3 layers done"));
    ASSERT(same_files(ref, out));
    /* a damaged record: resumed from the layer before it */
    sh("rm -f %s", out);
    ASSERT_EQ(3, sh(PACK "--random-order --stop-after 2 tests/data/ref/qwen2 %s", out));
    ASSERT_EQ(0, sh("sed -i 's/^bi .*/bi x/' %s.partial/layer-0001.rec", out));
    ASSERT_EQ(0, sh("./build/pack --calib-tokens 300 --seq-len 64 --random-order tests/data/ref/qwen2 %s 2>%s", out, lg));
    ASSERT(log_has(lg, "globals and 1 of 3 layers done"));
    ASSERT(same_files(ref, out));
    /* damaged store bytes: that layer's checksum fails, resumed before it */
    sh("rm -f %s", out);
    ASSERT_EQ(3, sh(PACK "--random-order --stop-after 2 tests/data/ref/qwen2 %s", out));
    ASSERT_EQ(0, sh("printf '\\377\\377\\377\\377' | dd of=%s.partial/data.bin bs=1 seek=$(( $(stat -c %%s %s.partial/data.bin) - 100 )) "
                    "conv=notrunc 2>/dev/null", out, out));
    ASSERT_EQ(0, sh("./build/pack --calib-tokens 300 --seq-len 64 --random-order tests/data/ref/qwen2 %s 2>%s", out, lg));
    ASSERT(log_has(lg, "globals and 1 of 3 layers done"));
    ASSERT(same_files(ref, out));
    /* another job (other sequence length) never resumes a partial state; --restart neither */
    sh("rm -f %s", out);
    ASSERT_EQ(3, sh(PACK "--random-order --stop-after 2 tests/data/ref/qwen2 %s", out));
    ASSERT_EQ(0, sh("./build/pack --calib-tokens 300 --seq-len 32 --random-order tests/data/ref/qwen2 %s 2>%s", out, lg));
    ASSERT(!log_has(lg, "resuming"));
    ASSERT_EQ(0, sh(PACK "--random-order --whole-model --seq-len 32 tests/data/ref/qwen2 %s.w32", out));
    ASSERT_EQ(0, sh("cmp -s %s %s.w32", out, out));
    ASSERT_EQ(3, sh(PACK "--random-order --stop-after 2 tests/data/ref/qwen2 %s", out));
    ASSERT_EQ(0, sh("./build/pack --calib-tokens 300 --seq-len 64 --random-order --restart tests/data/ref/qwen2 %s 2>%s", out, lg));
    ASSERT(!log_has(lg, "resuming"));
    ASSERT(same_files(ref, out));
    UQ_NOTE("stopped after 2 layers; a kill mid-layer (stray blobs, activations, .tmp record); a damaged record, damaged store bytes: resumed, same bytes; other job / --restart: started over");
    PASS();
}

/* The stated bound holds on a trained model, and it is not loose enough to hold the
   whole-model path (which keeps the fp32 sorted model and every layer's statistics). */
TEST packtool_peak_memory_within_bound(void)
{
    static const char *const models[2] = {"llama-bytes-6m", "nemotronh-bytes-6m"};
    int i;
    if (!have_pack()) SKIPm("build/pack or a POSIX shell missing");
    for (i = 0; i < 2; i++) {
        char lw[256], lwh[256];
        double rss, bound, whole;
        if (sh("test -f models/%s/model.safetensors", models[i]) != 0) SKIPm("trained models missing");
        snprintf(lw, sizeof lw, PT_DIR "/mem-%s.log", models[i]);
        snprintf(lwh, sizeof lwh, PT_DIR "/mem-%s-whole.log", models[i]);
        ASSERT_EQ(0, sh("./build/pack --calib-tokens 256 models/%s " PT_DIR "/mem.uniql 2>%s", models[i], lw));
        ASSERT_EQ(0, sh("./build/pack --calib-tokens 256 --whole-model models/%s " PT_DIR "/mem.whole.uniql 2>%s", models[i], lwh));
        ASSERT(same_files(PT_DIR "/mem.uniql", PT_DIR "/mem.whole.uniql"));
        rss = log_num(lw, "peak RSS ");
        bound = log_num(lw, "(bound ");
        whole = log_num(lwh, "peak RSS ");
        if (rss <= 0) SKIPm("no getrusage peak here");
        UQ_NOTE("%s, 256 tokens: layer by layer %.1f MB <= stated bound %.1f MB < whole-model path %.1f MB", models[i], rss, bound, whole);
        ASSERT(bound > 0);
        ASSERT_LE(rss, bound);
        ASSERT(whole > bound);
    }
    PASS();
}

/* Peak RSS does not grow with the layer count: the same small Llama shape
   (build/gen_checkpoint llama-tiny-test, 2 MB of f16 weights per layer) packed with 2 and
   with 24 layers (more than the working set, so a pass over the whole mapped file
   shows too). Whatever a layer leaves behind (its mapped checkpoint pages, its
   statistics, its fp32 copies) would add up over 22 more layers; the peak may grow by less
   than one layer's checkpoint bytes in all, and both runs stay under the bound pack
   states. The peak is getrusage's ru_maxrss of the pack process (pack prints it; the test
   skips where it is not available). */
TEST packtool_peak_memory_flat_in_layers(void)
{
    static const int layers[2] = {2, 24};
    double rss[2], bound[2], ckpt[2], layer_mb;
    int i;
    if (!have_pack()) SKIPm("build/pack or a POSIX shell missing");
    if (sh("test -x build/gen_checkpoint") != 0) SKIPm("build/gen_checkpoint missing");
    for (i = 0; i < 2; i++) {
        char lg[256];
        snprintf(lg, sizeof lg, PT_DIR "/flat%d.log", layers[i]);
        ASSERT_EQ(0, sh("rm -rf " PT_DIR "/flat%d && ./build/gen_checkpoint --layers %d llama-tiny-test " PT_DIR "/flat%d >/dev/null 2>&1",
                        layers[i], layers[i], layers[i]));
        ASSERT_EQ(0, sh("./build/pack --calib-tokens 256 --seq-len 64 " PT_DIR "/flat%d " PT_DIR "/flat%d.uniql 2>%s",
                        layers[i], layers[i], lg));
        rss[i] = log_num(lg, "peak RSS ");
        bound[i] = log_num(lg, "(bound ");
        ckpt[i] = log_num(lg, "checkpoint ");
        if (rss[i] <= 0) SKIPm("no getrusage peak here");
        ASSERT(bound[i] > 0);
        ASSERT_LE(rss[i], bound[i]);
    }
    layer_mb = (ckpt[1] - ckpt[0]) / (layers[1] - layers[0]);
    UQ_NOTE("llama-tiny-test, 256 tokens: peak RSS %.1f MB at 2 layers, %.1f MB at 24 (checkpoint %.1f / %.1f MB, %.2f MB a layer; bound %.1f MB)",
            rss[0], rss[1], ckpt[0], ckpt[1], layer_mb, bound[1]);
    ASSERT(layer_mb > 1.5 && layer_mb < 2.5);
    ASSERT(rss[1] - rss[0] < layer_mb);
    for (i = 0; i < 2; i++) sh("rm -rf " PT_DIR "/flat%d " PT_DIR "/flat%d.uniql " PT_DIR "/flat%d.log", layers[i], layers[i], layers[i]);
    PASS();
}

/* --preset official: the layer-by-layer default has no rotation or sequential GPTQ, so the
   preset runs the whole-model path and says so: the default command and --whole-model write
   the same bytes, the meta names the rotation and the quantizer, and the options the preset
   fixes are refused */
TEST packtool_preset_official(void)
{
    const char *a = PT_DIR "/official.uniql", *b = PT_DIR "/official.whole.uniql", *lg = PT_DIR "/official.log";
    if (!have_pack()) SKIPm("build/pack or a POSIX shell missing");
    ASSERT_EQ(0, sh("./build/pack --calib-tokens 300 --seq-len 64 --preset official tests/data/ref/llama %s 2>%s", a, lg));
    ASSERT(log_has(lg, "--preset official: the whole-model path"));
    ASSERT(log_has(lg, "GPTQ int4 g128"));
    ASSERT_EQ(0, sh(PACK "--preset official --whole-model tests/data/ref/llama %s", b));
    ASSERT(same_files(a, b));
    ASSERT_EQ(0, sh("grep -aq '\"rotation\":\"hadamard\"' %s && grep -aq '\"quantizer\":\"' %s", a, a));
    ASSERT(sh("test -e %s.partial", a) != 0);
    ASSERT_EQ(2, sh(PACK "--preset official --group 64 tests/data/ref/llama %s.x 2>/dev/null", a));
    ASSERT_EQ(2, sh(PACK "--preset official --random-order tests/data/ref/llama %s.x 2>/dev/null", a));
    ASSERT_EQ(2, sh(PACK "--preset bogus tests/data/ref/llama %s.x 2>/dev/null", a));
    ASSERT(sh("test -e %s.x", a) != 0);
    UQ_NOTE("--preset official: default command == --whole-model byte for byte, meta rotation/quantizer, --group/--random-order/bogus refused (exit 2)");
    PASS();
}

/* --group-transposed: the same bytes on both paths, recorded per tensor in the file (the
   transposed down_proj at 32, the rest at --group), refused with --preset official */
TEST packtool_group_transposed(void)
{
    const char *a = PT_DIR "/gt.layer.uniql", *b = PT_DIR "/gt.whole.uniql";
    unsigned char *img;
    size_t size;
    uniql_packed pk;
    const uniql_pack_tensor *t;
    if (!have_pack()) SKIPm("build/pack or a POSIX shell missing");
    ASSERT_EQ(0, sh(PACK "--group 64 --group-transposed 32 tests/data/ref/bamba %s", a));
    ASSERT_EQ(0, sh(PACK "--group 64 --group-transposed 32 --whole-model tests/data/ref/bamba %s", b));
    ASSERT(same_files(a, b));
    img = tutil_read_file(a, &size);
    ASSERT(img != NULL);
    ASSERT_OK(uniql_packed_open(img, size, 0, NULL, &pk, NULL));
    t = uniql_packed_find(&pk, "layers.0.mlp.down");
    ASSERT(t && t->m.transposed && t->m.group == 32);
    t = uniql_packed_find(&pk, "layers.1.attn.o");
    ASSERT(t && t->m.transposed && t->m.group == 32);
    t = uniql_packed_find(&pk, "layers.0.mamba.out");
    ASSERT(t && t->m.transposed && t->m.group == 32);
    t = uniql_packed_find(&pk, "layers.0.mlp.up");
    ASSERT(t && !t->m.transposed && t->m.group == 64);
    uniql_packed_free(&pk);
    free(img);
    ASSERT_EQ(2, sh(PACK "--group-transposed 48 tests/data/ref/llama %s.x 2>/dev/null", a));
    ASSERT_EQ(2, sh(PACK "--preset official --group-transposed 32 tests/data/ref/llama %s.x 2>/dev/null", a));
    ASSERT(sh("test -e %s.x", a) != 0);
    UQ_NOTE("bamba (hidden 64), --group 64 --group-transposed 32: layer by layer == --whole-model; down/o/out at g32, up at g64 in the tensor directory");
    PASS();
}

/* --quantizer gptq with --order (the re-pack after recovery): the .uniql is what the library
   gives. Known answer: the export of tests/data/recover/llama with its order re-applied
   (uniql_apply_order, prunable layout) and uniql_model_quantize (method GPTQ, the same
   group / group_transposed / damp and the same 300 calibration ids in sequences of 64);
   the file loaded at every stored rate (and the full model) has the logits of that model
   pruned to the file's kept sizes, and its meta names the quantizer */
TEST packtool_order_gptq_equals_library(void)
{
    const char *dir = "tests/data/recover/llama", *out = PT_DIR "/order_gptq.uniql", *rtn = PT_DIR "/order_rtn.uniql";
    const char *ids = PT_DIR "/order_gptq.ids", *lg = PT_DIR "/order_gptq.log";
    enum { NT = 300, NE = 48 };
    int tok[NT], k, n_rates = 0, checked = 0;
    unsigned char le[4 * NT];
    char path[256], *otext = NULL;
    size_t olen = 0, size = 0;
    unsigned char *img = NULL;
    FILE *f;
    uniql_model *hf = NULL, *sorted = NULL, *q = NULL;
    uniql_order ord;
    uniql_model_quant_options qo;
    uniql_packed pk;
    uniql_error e;
    double worst = 0;
    if (!have_pack()) SKIPm("build/pack or a POSIX shell missing");
    for (k = 0; k < NT; k++) {
        tok[k] = (k * 37 + 11) % 256;   /* byte vocabulary (256) */
        le[4 * k] = (unsigned char)tok[k]; le[4 * k + 1] = le[4 * k + 2] = le[4 * k + 3] = 0;
    }
    f = fopen(ids, "wb");
    ASSERT(f && fwrite(le, 1, sizeof le, f) == sizeof le);
    fclose(f);
    ASSERT_EQ(0, sh("./build/pack --order %s/order.json --quantizer gptq --calib-ids %s --seq-len 64 --group-transposed 32 --damp 0.1 "
                    "%s %s 2>%s", dir, ids, dir, out, lg));
    ASSERT(log_has(lg, "GPTQ on 300 calibration tokens"));
    ASSERT_EQ(0, sh(PACK "--order %s/order.json %s %s", dir, dir, rtn));
    ASSERT(!same_files(out, rtn));
    ASSERT_EQ(0, sh("grep -aq '\"quantizer\":\"gptq\"' %s && ! grep -aq '\"quantizer\"' %s", out, rtn));

    memset(&ord, 0, sizeof ord);
    ASSERT_OK(uniql_model_load_dir(dir, NULL, &hf, &e));
    snprintf(path, sizeof path, "%s/order.json", dir);
    otext = (char *)tutil_read_file(path, &olen);
    ASSERT(otext != NULL);
    ASSERT_OK(uniql_order_parse(otext, olen, &hf->config, NULL, &ord, &e));
    ASSERT_OK(uniql_apply_order(hf, &ord, UNIQL_LAYOUT_PRUNABLE, NULL, &sorted, &e));
    memset(&qo, 0, sizeof qo);
    qo.method = UNIQL_QUANT_GPTQ;
    qo.bits = 4; qo.group = 128; qo.group_transposed = 32; qo.embed_bits = 8;
    qo.calib_tokens = tok; qo.n_calib_tokens = NT; qo.seq_len = 64; qo.damp = 0.1;
    ASSERT_OK(uniql_model_quantize(sorted, NULL, &qo, &q, &e));

    img = tutil_read_file(out, &size);
    ASSERT(img != NULL);
    ASSERT_OK(uniql_packed_open(img, size, 0, NULL, &pk, &e));
    {
        double rates[16];
        ASSERT_OK(uniql_packed_rates(&pk, rates, 16, &n_rates, &e));
        ASSERT_EQ(ord.n_rates, n_rates);
        ASSERT(n_rates >= 1);
    }
    for (k = -1; k < n_rates; k++) {
        uniql_kept kept[UNIQL_MAX_LAYERS];
        uniql_model *pm = NULL, *lp = NULL;
        float *a, *b;
        double d;
        ASSERT_OK(uniql_packed_kept(&pk, k, kept, &e));
        if (k >= 0) ASSERT_EQ(0, memcmp(kept, ord.kept + (size_t)k * ord.n_layers, sizeof(uniql_kept) * (size_t)ord.n_layers));
        ASSERT_OK(uniql_packed_model_load(&pk, k >= 0 ? kept : NULL, NULL, NULL, &pm, &e));
        if (k >= 0) ASSERT_OK(uniql_model_prune(q, kept, 0, NULL, &lp, &e));
        a = tutil_prefill_logits(pm, tok, NE, 16);
        b = tutil_prefill_logits(lp ? lp : q, tok, NE, 16);
        d = a && b ? tutil_max_diff(a, b, (size_t)NE * (size_t)q->config.vocab_size) : 1e30;
        free(a); free(b);
        uniql_model_free(pm);
        uniql_model_free(lp);
        if (d > worst) worst = d;
        ASSERT(d <= 1e-6);
        checked++;
    }
    UQ_NOTE("pack --order --quantizer gptq (damp 0.1, group-transposed 32, 300 ids) == uniql_model_quantize GPTQ of the re-ordered export: "
            "%d loads (full + %d rates), max |logit diff| %.2g", checked, n_rates, worst);
    uniql_packed_free(&pk);
    free(img);
    free(otext);
    uniql_order_free(&ord);
    uniql_model_free(q);
    uniql_model_free(sorted);
    uniql_model_free(hf);
    PASS();
}

/* --quantizer without --order: gptq runs the whole-model path and says so (the default
   command == --whole-model, byte for byte); clip runs layer by layer and equals the whole
   model path; both differ from RTN; the option errors are exit 2 with a message naming
   the problem, before any output exists */
TEST packtool_quantizer_options(void)
{
    const char *a = PT_DIR "/qz.uniql", *lg = PT_DIR "/qz.log", *m = "tests/data/ref/llama", *dir = "tests/data/recover/llama";
    const char *ids = PT_DIR "/order_gptq.ids";
    if (!have_pack()) SKIPm("build/pack or a POSIX shell missing");
    ASSERT_EQ(0, sh("./build/pack --calib-tokens 300 --seq-len 64 --quantizer gptq --damp 0.05 --act-order %s %s.gptq 2>%s", m, a, lg));
    ASSERT(log_has(lg, "--quantizer gptq: the whole-model path"));
    ASSERT(log_has(lg, "damp 0.05, act-order"));
    ASSERT_EQ(0, sh(PACK "--quantizer gptq --damp 0.05 --act-order --whole-model %s %s.gptqw", m, a));
    ASSERT_EQ(0, sh("cmp -s %s.gptq %s.gptqw", a, a));
    ASSERT_EQ(0, sh(PACK "--quantizer clip %s %s.clip", m, a));
    ASSERT_EQ(0, sh(PACK "--quantizer clip --whole-model %s %s.clipw", m, a));
    ASSERT_EQ(0, sh("cmp -s %s.clip %s.clipw && grep -aq '\"quantizer\":\"rtn+clip\"' %s.clip", a, a, a));
    ASSERT_EQ(0, sh(PACK "--quantizer rtn %s %s.rtn && " PACK "%s %s.def && cmp -s %s.rtn %s.def", m, a, m, a, a, a));
    ASSERT(sh("cmp -s %s.rtn %s.clip", a, a) != 0);
    ASSERT(sh("cmp -s %s.rtn %s.gptqw", a, a) != 0);
    /* errors: exit 2, a clear message, no output */
    sh("rm -f %s", a);
    ASSERT_EQ(2, sh(PACK "--order %s/order.json --quantizer gptq %s %s 2>%s", dir, dir, a, lg));
    ASSERT(log_has(lg, "needs calibration tokens"));
    ASSERT_EQ(2, sh(PACK "--quantizer gptq --calib-ids %s --damp -1 %s %s 2>%s", ids, m, a, lg));
    ASSERT(log_has(lg, "--damp '-1'"));
    ASSERT_EQ(2, sh(PACK "--quantizer gptq --calib-ids %s --damp nan %s %s 2>%s", ids, m, a, lg));
    ASSERT(log_has(lg, "--damp 'nan'"));
    ASSERT_EQ(2, sh(PACK "--quantizer foo %s %s 2>%s", m, a, lg));
    ASSERT(log_has(lg, "--quantizer 'foo': must be rtn, clip or gptq"));
    ASSERT_EQ(2, sh(PACK "--damp 0.1 %s %s 2>%s", m, a, lg));
    ASSERT(log_has(lg, "need --quantizer gptq"));
    ASSERT_EQ(2, sh(PACK "--order %s/order.json --calib-ids %s %s %s 2>%s", dir, ids, dir, a, lg));
    ASSERT(log_has(lg, "only with --quantizer gptq"));
    ASSERT_EQ(2, sh(PACK "--order %s/order.json --quantizer gptq --calib-ids %s --rates 0.1 %s %s 2>/dev/null", dir, ids, dir, a));
    ASSERT_EQ(2, sh(PACK "--preset official --quantizer gptq %s %s 2>/dev/null", m, a));
    ASSERT(sh("test -e %s", a) != 0);
    sh("rm -f %s.gptq %s.gptqw %s.clip %s.clipw %s.rtn %s.def", a, a, a, a, a, a);
    UQ_NOTE("--quantizer gptq: whole-model path (default == --whole-model); clip: layer by layer == whole; rtn == default; 8 bad uses exit 2");
    PASS();
}

/* tools/train/merge_lora (the C twin of recover.py merge): known adapters change exactly
   the named weights, by W + (B @ A) * alpha / r to fp32 rounding, and no other byte; zero
   adapters leave the export's bytes (and so its pack --order) unchanged; bad adapters are
   refused without writing anything */
static int ml_lora(const char *path, int rows_b, int zero_b, int only_a)
{
    enum { R = 2, DI = 120, DO = 96, QI = 96 };
    static float a1[R * DI], b1[DO * R], a2[R * QI], b2[DO * R];
    uniql_safetensors_input t[4];
    void *img = NULL;
    size_t size = 0;
    FILE *f;
    int i, n = 0, ok;
    for (i = 0; i < R * DI; i++) a1[i] = 0.01f * (float)((i * 7) % 11 - 5);
    for (i = 0; i < R * QI; i++) a2[i] = 0.015f * (float)((i * 5) % 13 - 6);
    for (i = 0; i < DO * R; i++) {
        b1[i] = zero_b ? 0.0f : 0.02f * (float)((i * 5) % 9 - 4);
        b2[i] = zero_b ? 0.0f : 0.03f * (float)((i * 3) % 7 - 3);
    }
    memset(t, 0, sizeof t);
    t[n].name = "model.layers.0.mlp.down_proj.lora_A"; t[n].ndim = 2; t[n].shape[0] = R; t[n].shape[1] = DI; t[n++].data = a1;
    if (!only_a) { t[n].name = "model.layers.0.mlp.down_proj.lora_B"; t[n].ndim = 2; t[n].shape[0] = rows_b; t[n].shape[1] = R; t[n++].data = b1; }
    t[n].name = "model.layers.1.self_attn.q_proj.lora_A"; t[n].ndim = 2; t[n].shape[0] = R; t[n].shape[1] = QI; t[n++].data = a2;
    t[n].name = "model.layers.1.self_attn.q_proj.lora_B"; t[n].ndim = 2; t[n].shape[0] = DO; t[n].shape[1] = R; t[n++].data = b2;
    if (uniql_safetensors_write(t, n, UNIQL_DTYPE_F32, NULL, &img, &size, NULL) != UNIQL_OK) return 0;
    f = fopen(path, "wb");
    ok = f && fwrite(img, 1, size, f) == size;
    if (f) ok = (fclose(f) == 0) && ok;
    uniql_free_buffer(img, NULL);
    return ok;
}

TEST packtool_merge_lora(void)
{
    const char *ex = "tests/data/recover/llama", *lora = PT_DIR "/ml_lora.safetensors";
    unsigned char *eb = NULL, *mb = NULL, *lb = NULL;
    size_t en = 0, mn = 0, ln = 0;
    uniql_safetensors es, ms, ls;
    int i, changed = 0, merged_seen = 0;
    double worst = 0;
    FILE *f;
    if (!have_pack()) SKIPm("build/pack or a POSIX shell missing");
    f = fopen("build/merge_lora", "rb");
    if (!f) SKIPm("build/merge_lora missing (make test builds it)");
    fclose(f);
    sh("rm -rf " PT_DIR "/ml_out " PT_DIR "/ml_zero " PT_DIR "/ml_bad");
    ASSERT(ml_lora(lora, 96, 0, 0));
    ASSERT_EQ(0, sh("./build/merge_lora --alpha 4 %s %s " PT_DIR "/ml_out 2>/dev/null", ex, lora));
    eb = tutil_read_file("tests/data/recover/llama/model.safetensors", &en);
    mb = tutil_read_file(PT_DIR "/ml_out/model.safetensors", &mn);
    lb = tutil_read_file(lora, &ln);
    ASSERT(eb && mb && lb && en == mn);
    ASSERT_EQ(UNIQL_OK, uniql_safetensors_parse(eb, en, NULL, &es, NULL));
    ASSERT_EQ(UNIQL_OK, uniql_safetensors_parse(mb, mn, NULL, &ms, NULL));
    ASSERT_EQ(UNIQL_OK, uniql_safetensors_parse(lb, ln, NULL, &ls, NULL));
    ASSERT_EQ(es.n_tensors, ms.n_tensors);
    ASSERT(!memcmp(eb, mb, (size_t)((const unsigned char *)es.tensors[0].data - eb)));   /* same header */
    for (i = 0; i < es.n_tensors; i++) {
        const uniql_tensor *w = &es.tensors[i], *m = uniql_safetensors_find(&ms, w->name), *A, *B;
        char an[256], bn[256];
        size_t L = strlen(w->name), o, c, k, rows, cols;
        ASSERT(m && m->nbytes == w->nbytes);
        A = B = NULL;
        if (L > 7 && !strcmp(w->name + L - 7, ".weight") && L < 200) {
            snprintf(an, sizeof an, "%.*s.lora_A", (int)(L - 7), w->name);
            snprintf(bn, sizeof bn, "%.*s.lora_B", (int)(L - 7), w->name);
            A = uniql_safetensors_find(&ls, an);
            B = uniql_safetensors_find(&ls, bn);
        }
        if (!A) { ASSERTm(w->name, !memcmp(w->data, m->data, w->nbytes)); continue; }
        ASSERT(B);
        merged_seen++;
        rows = (size_t)w->shape[0];
        cols = (size_t)w->shape[1];
        for (o = 0; o < rows; o++)
            for (c = 0; c < cols; c++) {
                float wv, mv, av, bv;
                double d = 0, da = 0, want;
                for (k = 0; k < 2; k++) {
                    memcpy(&av, (const unsigned char *)A->data + 4 * (k * cols + c), 4);
                    memcpy(&bv, (const unsigned char *)B->data + 4 * (o * 2 + k), 4);
                    d += (double)av * bv;
                    da += fabs((double)av * bv);
                }
                memcpy(&wv, (const unsigned char *)w->data + 4 * (o * cols + c), 4);
                memcpy(&mv, (const unsigned char *)m->data + 4 * (o * cols + c), 4);
                want = wv + 2.0 * d;   /* alpha 4 / r 2 */
                /* fp32: the r-term sum, the scaling and the add, each one rounding */
                ASSERT_LE(fabs(mv - want), 4 * 6e-8 * (fabs(wv) + 2.0 * da) + 1e-30);
                if (fabs(mv - want) > worst) worst = fabs(mv - want);
                if (mv != wv) changed++;
            }
    }
    ASSERT_EQ(2, merged_seen);
    ASSERT(changed > 1000);
    ASSERT(same_files(PT_DIR "/ml_out/order.json", "tests/data/recover/llama/order.json"));
    ASSERT(same_files(PT_DIR "/ml_out/config.json", "tests/data/recover/llama/config.json"));
    uniql_safetensors_free(&es);
    uniql_safetensors_free(&ms);
    uniql_safetensors_free(&ls);
    free(eb);
    free(mb);
    free(lb);
    printf("    note: merge_lora: 2 projections, %d weights changed, max |W' - (W + s B A)| %.2e\n", changed, worst);

    /* zero adapters: the export's bytes, and the same .uniql from pack --order */
    ASSERT(ml_lora(lora, 96, 1, 0));
    ASSERT_EQ(0, sh("./build/merge_lora %s %s " PT_DIR "/ml_zero 2>/dev/null", ex, lora));
    ASSERT(same_files(PT_DIR "/ml_zero/model.safetensors", "tests/data/recover/llama/model.safetensors"));
    ASSERT_EQ(0, sh("./build/pack -q --order %s/order.json %s " PT_DIR "/ml_ex.uniql", ex, ex));
    ASSERT_EQ(0, sh("./build/pack -q --order " PT_DIR "/ml_zero/order.json " PT_DIR "/ml_zero " PT_DIR "/ml_zero.uniql"));
    ASSERT(same_files(PT_DIR "/ml_ex.uniql", PT_DIR "/ml_zero.uniql"));

    /* refused: B of the wrong height, A without B, a bad alpha; nothing written */
    ASSERT(ml_lora(lora, 95, 0, 0));
    ASSERT_EQ(1, sh("./build/merge_lora %s %s " PT_DIR "/ml_bad 2>" PT_DIR "/ml_bad.log", ex, lora));
    ASSERT(log_has(PT_DIR "/ml_bad.log", "do not fit"));
    ASSERT(ml_lora(lora, 96, 0, 1));
    ASSERT_EQ(1, sh("./build/merge_lora %s %s " PT_DIR "/ml_bad 2>" PT_DIR "/ml_bad.log", ex, lora));
    ASSERT(log_has(PT_DIR "/ml_bad.log", "has no lora_B"));
    ASSERT_EQ(2, sh("./build/merge_lora --alpha nan %s %s " PT_DIR "/ml_bad 2>/dev/null", ex, lora));
    ASSERT_EQ(1, sh("./build/merge_lora %s tests/data/recover/llama/config.json " PT_DIR "/ml_bad 2>/dev/null", ex));
    ASSERT_EQ(0, sh("test ! -e " PT_DIR "/ml_bad"));
    sh("rm -rf " PT_DIR "/ml_out " PT_DIR "/ml_zero " PT_DIR "/ml_ex.uniql " PT_DIR "/ml_zero.uniql %s", lora);
    PASS();
}

SUITE(packtool_suite)
{
    RUN_TEST(packtool_layerwise_equals_whole_model);
    RUN_TEST(packtool_resume);
    RUN_TEST(packtool_preset_official);
    RUN_TEST(packtool_group_transposed);
    RUN_TEST(packtool_order_gptq_equals_library);
    RUN_TEST(packtool_quantizer_options);
    RUN_TEST(packtool_merge_lora);
    RUN_TEST(packtool_peak_memory_within_bound);
    RUN_TEST(packtool_peak_memory_flat_in_layers);
}
