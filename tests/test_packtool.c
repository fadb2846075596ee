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

SUITE(packtool_suite)
{
    RUN_TEST(packtool_layerwise_equals_whole_model);
    RUN_TEST(packtool_resume);
    RUN_TEST(packtool_preset_official);
    RUN_TEST(packtool_group_transposed);
    RUN_TEST(packtool_peak_memory_within_bound);
    RUN_TEST(packtool_peak_memory_flat_in_layers);
}
