/* bench_vs_llamacpp - uniql.h and llama.cpp side by side on the same model, one run
   (issue 15). POSIX (fork / exec / wait4 for the peak RSS of every measurement).

     bench_vs_llamacpp --hf DIR [--uniql FILE] [--llamacpp DIR --q4 F.gguf --f16 F.gguf]
                       [--prompt 128] [--gen 32] [--threads 1,2] [--calib 256] [--reps 2]
                       [--only readbw,q4,q4f32,f16,file,lq4,lf16,calib]

   --only picks rows (default: all), so the table can be measured in several exclusive
   holds of under 10 minutes each (make bench-vs-llamacpp ONLY=...).

   Every measurement runs in its own child process (this program with --one ...), so
   its peak RSS (ru_maxrss from wait4) is its own: loading included, nothing shared.
     uniql int4       HF safetensors -> uniql_model_load_dir_quantized (Q4 g128, int8
                      embeddings, each matrix quantized as it is read: the fp16
                      checkpoint is never held); int8 activations (the runtime default)
     uniql int4 fp32act  the same model through the exact fp32-activation path
     uniql F16        the HF checkpoint as loaded (F16 weights, fp32 activations)
     .uniql r         a packed file at pruning rate r (uniql_packed_model_load, views into
                      the file buffer)
     llama.cpp        llama-bench -p P -n G -t T -r R (its own warm-up) on the GGUF files
   prefill = P prompt tokens in one forward (chunks of 64) from an empty cache; decode =
   G tokens one at a time after a prompt of P (llama-bench: tg G from an empty cache).
   Best of `reps` timed runs after one warm-up. Decode GB/s = bytes of the weights one
   decode step reads (every weight matrix and the output head, not the embedding table
   of which one row is read) x tokens/s. Read bandwidth: a plain 64-bit read loop over
   1 GB, one chunk per thread. Calibration: uniql_calibrate on the F16 model, sequences
   of 256 tokens, tokens/s. Timings should run under `flock -x /work/cpu.lock` (make
   bench-vs-llamacpp does). */
#define _GNU_SOURCE
#define UNIQL_IMPLEMENTATION
#include "../uniql.h"
#include "../tools/uq_threads.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/stat.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *m, const char *a)
{
    fprintf(stderr, "bench_vs_llamacpp: %s%s%s\n", m, a ? ": " : "", a ? a : "");
    exit(1);
}

/* bytes one decode step reads: every view except the embedding table (one row of it is
   read), or all of it when lm_head is the embedding */
static double decode_bytes(const uniql_model *m)
{
    const uniql_matrix *e = &m->embed;
    double S = (double)uniql_matrix_storage_rows(e), eb;
    if (m->lm_head.data == e->data) return (double)uniql_model_weight_bytes(m);
    eb = S * (double)e->stride + (e->scales ? S * (double)e->scale_stride * 2 : 0) + (e->zeros ? S * (double)e->scale_stride : 0);
    return (double)uniql_model_weight_bytes(m) - eb;
}

/* ---- child: one uniql measurement ---- */
static int child_uniql(const char *mode, const char *path, double rate, int threads, int P, int G, int reps)
{
    uq_pool *pool = uq_pool_create(threads);
    uniql_parallel par = uq_pool_parallel(pool);
    uniql_model *m = NULL, *q = NULL;
    uniql_packed pk;
    void *file = NULL;
    size_t fsize = 0;
    uniql_error e;
    uniql_state_options so;
    uniql_state *s;
    int *tok, i, rep, V;
    float *lg;
    double tp = 1e30, td = 1e30, t0, load_s;
    memset(&pk, 0, sizeof pk);
    t0 = now();
    if (!strcmp(mode, "file")) {
        double rates[UNIQL_PACK_MAX_RATES];
        int nr = 0, ri = -1, k;
        uniql_kept kept[UNIQL_MAX_LAYERS];
        if (uniql_read_file(path, NULL, &file, &fsize, &e)) die(e.message, path);
        if (uniql_packed_open(file, fsize, 0, NULL, &pk, &e)) die(e.message, path);
        if (rate > 0) {
            if (uniql_packed_rates(&pk, rates, UNIQL_PACK_MAX_RATES, &nr, &e)) die(e.message, path);
            for (k = 0; k < nr; k++) if (rates[k] > rate - 1e-9 && rates[k] < rate + 1e-9) ri = k;
            if (ri < 0) die("the .uniql file has no table for this rate", path);
            if (uniql_packed_kept(&pk, ri, kept, &e)) die(e.message, path);
        }
        if (uniql_packed_model_load(&pk, rate > 0 ? kept : NULL, NULL, NULL, &q, &e)) die(e.message, path);
    } else if (!strcmp(mode, "q4") || !strcmp(mode, "q4f32")) {
        /* quantized while loading: the fp16 checkpoint is never held with the int4 copy */
        uniql_model_quant_options qo;
        memset(&qo, 0, sizeof qo);
        qo.embed_bits = 8;
        qo.parallel = &par;
        if (uniql_model_load_dir_quantized(path, NULL, NULL, &qo, &q, &e)) die(e.message, path);
    } else {
        if (uniql_model_load_dir(path, NULL, &m, &e)) die(e.message, path);
        q = m;
    }
    load_s = now() - t0;
    V = q->config.vocab_size;
    tok = (int *)malloc(sizeof(int) * (size_t)(P + G + 8));
    lg = (float *)malloc(sizeof(float) * (size_t)V);
    for (i = 0; i < P + G + 8; i++) tok[i] = (int)((1103515245u * (unsigned)i + 12345u) % (unsigned)V);
    memset(&so, 0, sizeof so);
    so.max_ctx = P + G + 8;
    so.max_batch = 64;
    so.parallel = &par;
    so.activations = !strcmp(mode, "q4f32") ? UNIQL_ACT_F32 : UNIQL_ACT_AUTO;
    if (uniql_state_create_ex(q, &so, &s)) die("state", NULL);
    /* warm-up: a short prompt and a few decode steps */
    if (uniql_forward(q, s, tok, 8, lg, 0, NULL)) die("forward", NULL);
    for (i = 0; i < 2; i++) uniql_forward(q, s, tok + 8 + i, 1, lg, 0, NULL);
    for (rep = 0; rep < reps; rep++) {
        double a;
        uniql_state_reset(s);
        a = now();
        if (uniql_forward(q, s, tok, P, lg, 0, NULL)) die("forward", NULL);
        a = now() - a;
        if (a < tp) tp = a;
        a = now();
        for (i = 0; i < G; i++)
            if (uniql_forward(q, s, tok + P + i, 1, lg, 0, NULL)) die("forward", NULL);
        a = now() - a;
        if (a < td) td = a;
    }
    printf("RESULT prefill=%.3f decode=%.3f bytes=%.0f load=%.2f\n", P / tp, G / td, decode_bytes(q), load_s);
    uniql_state_free(s);
    uniql_model_free(q);
    if (pk.tensors) uniql_packed_free(&pk);
    if (file) uniql_free_buffer(file, NULL);
    uq_pool_destroy(pool);
    free(tok);
    free(lg);
    return 0;
}

typedef struct rd_ctx {
    const unsigned char *buf;
    size_t bytes, per;
    unsigned long long sink[64];
} rd_ctx;

static void read_job(void *ctx, int job, int worker)
{
    rd_ctx *c = (rd_ctx *)ctx;
    const unsigned long long *p = (const unsigned long long *)(const void *)(c->buf + (size_t)job * c->per);
    unsigned long long s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    size_t i, n = c->per / 8;
    for (i = 0; i + 8 <= n; i += 8) {
        s0 += p[i]; s1 += p[i + 1]; s2 += p[i + 2]; s3 += p[i + 3];
        s4 += p[i + 4]; s5 += p[i + 5]; s6 += p[i + 6]; s7 += p[i + 7];
    }
    c->sink[worker] += s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

static int child_readbw(int threads, int reps)
{
    uq_pool *pool = uq_pool_create(threads);
    uniql_parallel par = uq_pool_parallel(pool);
    rd_ctx c;
    unsigned char *buf;
    double best = 1e30;
    int rep;
    memset(&c, 0, sizeof c);
    c.bytes = (size_t)1 << 30;
    buf = (unsigned char *)malloc(c.bytes);
    if (!buf) die("out of memory", NULL);
    memset(buf, 1, c.bytes);
    c.buf = buf;
    c.per = c.bytes / (size_t)threads;
    for (rep = 0; rep < reps + 1; rep++) {
        double a = now();
        uniql_parallel_for(&par, threads, read_job, &c);
        a = now() - a;
        if (rep > 0 && a < best) best = a;
    }
    printf("RESULT gbs=%.3f\n", (double)c.bytes / best / 1e9);
    free(buf);
    uq_pool_destroy(pool);
    return 0;
}

static int child_calib(const char *dir, int threads, int T)
{
    uq_pool *pool = uq_pool_create(threads);
    uniql_parallel par = uq_pool_parallel(pool);
    uniql_model *m;
    uniql_calib *cb;
    uniql_calib_options co;
    uniql_error e;
    int *tok = (int *)malloc(sizeof(int) * (size_t)T), i;
    double a;
    if (uniql_model_load_dir(dir, NULL, &m, &e)) die(e.message, dir);
    for (i = 0; i < T; i++) tok[i] = (int)((1103515245u * (unsigned)i + 12345u) % (unsigned)m->config.vocab_size);
    memset(&co, 0, sizeof co);
    co.seq_len = 256;
    co.parallel = &par;
    a = now();
    if (uniql_calibrate(m, tok, (size_t)T, &co, &cb, &e)) die(e.message, dir);
    a = now() - a;
    printf("RESULT calib=%.3f\n", T / a);
    uniql_calib_free(cb);
    uniql_model_free(m);
    uq_pool_destroy(pool);
    free(tok);
    return 0;
}

/* ---- parent: run a child, collect its RESULT line and peak RSS ---- */
typedef struct result {
    double v[4];       /* parsed values in the order of `keys` */
    double rss_mb;
    int ok;
} result;

/* run argv[0] with stdout captured into out (NUL-terminated; stderr dropped when quiet);
   fills r->rss_mb (the child's peak RSS) and r->ok (exit status 0) */
static void spawn_capture(const char *bin, char *const argv[], int quiet, char *out, size_t cap, result *r)
{
    int fd[2], status;
    pid_t pid;
    struct rusage ru;
    size_t len = 0;
    ssize_t got;
    if (pipe(fd)) die("pipe", NULL);
    fflush(stdout);
    pid = fork();
    if (pid < 0) die("fork", NULL);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (quiet && !freopen("/dev/null", "w", stderr)) _exit(126);
        execv(bin, argv);
        _exit(127);
    }
    close(fd[1]);
    while ((got = read(fd[0], out + len, cap - 1 - len)) > 0) len += (size_t)got;
    close(fd[0]);
    out[len] = 0;
    if (wait4(pid, &status, 0, &ru) < 0) die("wait4", NULL);
    r->rss_mb = (double)ru.ru_maxrss / 1024.0;
    r->ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static result run_child(char *const argv[], const char *const *keys, int nkeys)
{
    result r;
    int k;
    static char out[65536];
    memset(&r, 0, sizeof r);
    spawn_capture(argv[0], argv, 0, out, sizeof out, &r);
    for (k = 0; k < nkeys; k++) {
        char pat[64];
        const char *p;
        snprintf(pat, sizeof pat, "%s=", keys[k]);
        p = strstr(out, pat);
        if (!p) { r.ok = 0; continue; }
        r.v[k] = atof(p + strlen(pat));
    }
    if (!r.ok) fprintf(stderr, "child %s failed:\n%s\n", argv[1], out);
    return r;
}

/* llama-bench JSON: the avg_ts of the test with n_prompt P (pp) and n_gen G (tg) */
static result run_llamacpp(const char *dir, const char *gguf, int P, int G, int threads, int reps)
{
    char bin[1024], ps[32], gs[32], ts[32], rs[32];
    char *argv[20];
    int a = 0;
    static char out[1 << 20];
    result r;
    const char *p;
    memset(&r, 0, sizeof r);
    snprintf(bin, sizeof bin, "%s/bin/llama-bench", dir);
    if (access(bin, X_OK)) snprintf(bin, sizeof bin, "%s/build/bin/llama-bench", dir);
    snprintf(ps, sizeof ps, "%d", P);
    snprintf(gs, sizeof gs, "%d", G);
    snprintf(ts, sizeof ts, "%d", threads);
    snprintf(rs, sizeof rs, "%d", reps);
    argv[a++] = bin; argv[a++] = (char *)"-m"; argv[a++] = (char *)gguf;
    argv[a++] = (char *)"-p"; argv[a++] = ps; argv[a++] = (char *)"-n"; argv[a++] = gs;
    argv[a++] = (char *)"-t"; argv[a++] = ts; argv[a++] = (char *)"-r"; argv[a++] = rs;
    argv[a++] = (char *)"-o"; argv[a++] = (char *)"json"; argv[a] = NULL;
    spawn_capture(bin, argv, 1, out, sizeof out, &r);
    /* each test object carries "n_prompt": P, "n_gen": G ... "avg_ts": v */
    for (p = out; (p = strstr(p, "\"n_prompt\":")) != NULL; p++) {
        int np = atoi(p + 11);
        const char *q = strstr(p, "\"n_gen\":"), *t = strstr(p, "\"avg_ts\":");
        if (!q || !t) break;
        if (np > 0 && atoi(q + 8) == 0) r.v[0] = atof(t + 9);
        if (np == 0 && atoi(q + 8) > 0) r.v[1] = atof(t + 9);
    }
    if (!r.ok || r.v[0] <= 0 || r.v[1] <= 0) {
        fprintf(stderr, "llama-bench on %s failed or printed no result\n", gguf);
        r.ok = 0;
    }
    return r;
}

/* ---- GGUF: bytes of every tensor but token_embd (what a decode step reads) ---- */
static double gguf_decode_bytes(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char h[24];
    uint64_t nt, nkv, i, prev = 0, embd_off = 0, total = 0, embd_bytes = 0;
    uint64_t *offs;
    char **names;
    long data_start;
    struct stat sb;
    if (!f || fread(h, 1, 24, f) != 24 || memcmp(h, "GGUF", 4)) { if (f) fclose(f); return 0; }
    memcpy(&nt, h + 8, 8);
    memcpy(&nkv, h + 16, 8);
    /* skip the metadata: key string, type, value */
    for (i = 0; i < nkv; i++) {
        uint64_t kl, cnt;
        uint32_t ty, at;
        static const int sz[13] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
        if (fread(&kl, 8, 1, f) != 1 || fseek(f, (long)kl, SEEK_CUR) || fread(&ty, 4, 1, f) != 1) { fclose(f); return 0; }
        if (ty == 8) { if (fread(&kl, 8, 1, f) != 1) break; fseek(f, (long)kl, SEEK_CUR); }
        else if (ty == 9) {
            if (fread(&at, 4, 1, f) != 1 || fread(&cnt, 8, 1, f) != 1) break;
            if (at == 8) { uint64_t j; for (j = 0; j < cnt; j++) { if (fread(&kl, 8, 1, f) != 1) break; fseek(f, (long)kl, SEEK_CUR); } }
            else if (at < 13) fseek(f, (long)(cnt * (uint64_t)sz[at]), SEEK_CUR);
        } else if (ty < 13) fseek(f, sz[ty], SEEK_CUR);
    }
    offs = (uint64_t *)calloc((size_t)nt + 1, sizeof *offs);
    names = (char **)calloc((size_t)nt + 1, sizeof *names);
    for (i = 0; i < nt; i++) {
        uint64_t kl, dim;
        uint32_t nd, ty, d;
        if (fread(&kl, 8, 1, f) != 1 || kl > 1000) break;
        names[i] = (char *)calloc(1, (size_t)kl + 1);
        if (fread(names[i], 1, (size_t)kl, f) != kl || fread(&nd, 4, 1, f) != 1) break;
        for (d = 0; d < nd; d++) if (fread(&dim, 8, 1, f) != 1) break;
        if (fread(&ty, 4, 1, f) != 1 || fread(&offs[i], 8, 1, f) != 1) break;
    }
    data_start = (ftell(f) + 31) / 32 * 32;
    fstat(fileno(f), &sb);
    fclose(f);
    /* a tensor's bytes: up to the next offset (offsets are ascending as written) */
    for (i = 0; i < nt; i++) {
        uint64_t next = (uint64_t)sb.st_size - (uint64_t)data_start, j;
        for (j = 0; j < nt; j++) if (offs[j] > offs[i] && offs[j] < next) next = offs[j];
        total += next - offs[i];
        if (names[i] && !strcmp(names[i], "token_embd.weight")) { embd_bytes = next - offs[i]; embd_off = offs[i]; }
        free(names[i]);
    }
    (void)prev; (void)embd_off;
    free(offs);
    free(names);
    return (double)(total - embd_bytes);
}

static const char *only_list = NULL;

/* is row kind `what` selected by --only (a comma-separated list; NULL = all)? */
static int want(const char *what)
{
    const char *p = only_list;
    size_t n = strlen(what);
    if (!p) return 1;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !strncmp(p, what, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static int parse_threads(const char *s, int *t, int cap)
{
    int n = 0;
    while (*s && n < cap) {
        t[n++] = atoi(s);
        while (*s && *s != ',') s++;
        if (*s == ',') s++;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *hf = NULL, *uq = NULL, *lc = NULL, *q4 = NULL, *f16 = NULL, *thr = "1,2";
    int P = 128, G = 32, calib = 256, reps = 2, i, k, nth, th[8];
    char self[4096];
    ssize_t sl;
    if (argc > 1 && !strcmp(argv[1], "--one")) {
        /* --one MODE PATH RATE THREADS P G REPS (uniql) | --one readbw THREADS REPS | --one calib DIR THREADS T */
        if (argc >= 9 && (!strcmp(argv[2], "q4") || !strcmp(argv[2], "q4f32") || !strcmp(argv[2], "f16") || !strcmp(argv[2], "file")))
            return child_uniql(argv[2], argv[3], atof(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]), atoi(argv[8]));
        if (argc >= 5 && !strcmp(argv[2], "readbw")) return child_readbw(atoi(argv[3]), atoi(argv[4]));
        if (argc >= 6 && !strcmp(argv[2], "calib")) return child_calib(argv[3], atoi(argv[4]), atoi(argv[5]));
        die("bad --one call", NULL);
    }
    for (i = 1; i < argc; i++) {
        if (i + 1 >= argc) die("option without value", argv[i]);
        if (!strcmp(argv[i], "--hf")) hf = argv[++i];
        else if (!strcmp(argv[i], "--uniql")) uq = argv[++i];
        else if (!strcmp(argv[i], "--llamacpp")) lc = argv[++i];
        else if (!strcmp(argv[i], "--q4")) q4 = argv[++i];
        else if (!strcmp(argv[i], "--f16")) f16 = argv[++i];
        else if (!strcmp(argv[i], "--threads")) thr = argv[++i];
        else if (!strcmp(argv[i], "--prompt")) P = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--gen")) G = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--calib")) calib = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only")) only_list = argv[++i];
        else die("unknown option", argv[i]);
    }
    if (!hf) {
        fprintf(stderr, "usage: bench_vs_llamacpp --hf DIR [--uniql FILE] [--llamacpp DIR --q4 F.gguf --f16 F.gguf]\n"
                        "       [--prompt 128] [--gen 32] [--threads 1,2] [--calib 256] [--reps 2]\n"
                        "       [--only readbw,q4,q4f32,f16,file,lq4,lf16,calib]\n");
        return 2;
    }
    if (P < 1 || G < 1 || reps < 1) die("prompt, gen and reps must be >= 1", NULL);
    sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) die("cannot find my own executable", NULL);
    self[sl] = 0;
    nth = parse_threads(thr, th, 8);
    printf("uniql.h vs llama.cpp: %s, prompt %d, decode %d tokens, best of %d runs\n\n", hf, P, G, reps);
    {
        static const char *rk[1] = { "gbs" };
        printf("%-28s %7s %12s %12s %10s %12s\n", "engine, weights", "threads", "prefill t/s", "decode t/s", "decode GB/s", "peak RSS MB");
        for (k = 0; k < nth && want("readbw"); k++) {
            char ts[16], rs[16];
            char *av[6];
            result r;
            snprintf(ts, sizeof ts, "%d", th[k]);
            snprintf(rs, sizeof rs, "%d", 3);
            av[0] = self; av[1] = (char *)"--one"; av[2] = (char *)"readbw"; av[3] = ts; av[4] = rs; av[5] = NULL;
            r = run_child(av, rk, 1);
            printf("%-28s %7d %12s %12s %10.2f %12s\n", "read bandwidth (1 GB loop)", th[k], "-", "-", r.v[0], "-");
        }
    }
    {
        static const char *uk[3] = { "prefill", "decode", "bytes" };
        struct { const char *label, *mode, *path; double rate; } cfg[6];
        int nc = 0, c;
        cfg[nc].label = "uniql int4 g128 (HF+quant)"; cfg[nc].mode = "q4"; cfg[nc].path = hf; cfg[nc++].rate = 0;
        cfg[nc].label = "uniql int4, fp32 activations"; cfg[nc].mode = "q4f32"; cfg[nc].path = hf; cfg[nc++].rate = 0;
        cfg[nc].label = "uniql F16"; cfg[nc].mode = "f16"; cfg[nc].path = hf; cfg[nc++].rate = 0;
        if (uq) {
            cfg[nc].label = ".uniql int4, rate 0"; cfg[nc].mode = "file"; cfg[nc].path = uq; cfg[nc++].rate = 0;
            cfg[nc].label = ".uniql int4, rate 0.35"; cfg[nc].mode = "file"; cfg[nc].path = uq; cfg[nc++].rate = 0.35;
        }
        for (c = 0; c < nc; c++)
            for (k = 0; k < nth; k++) {
                char rs[32], ts[16], ps[16], gs[16], rp[16];
                char *av[10];
                result r;
                if (!strcmp(cfg[c].mode, "q4f32") && th[k] != 1) continue;
                if (!want(cfg[c].mode)) continue;
                snprintf(rs, sizeof rs, "%g", cfg[c].rate);
                snprintf(ts, sizeof ts, "%d", th[k]);
                snprintf(ps, sizeof ps, "%d", P);
                snprintf(gs, sizeof gs, "%d", G);
                snprintf(rp, sizeof rp, "%d", reps);
                av[0] = self; av[1] = (char *)"--one"; av[2] = (char *)cfg[c].mode; av[3] = (char *)cfg[c].path;
                av[4] = rs; av[5] = ts; av[6] = ps; av[7] = gs; av[8] = rp; av[9] = NULL;
                r = run_child(av, uk, 3);
                if (!r.ok) continue;
                printf("%-28s %7d %12.2f %12.2f %10.2f %12.0f\n", cfg[c].label, th[k], r.v[0], r.v[1], r.v[1] * r.v[2] / 1e9,
                       r.rss_mb);
            }
    }
    if (lc) {
        const char *files[2], *labels[2];
        int f;
        files[0] = q4; labels[0] = "llama.cpp Q4_0";
        files[1] = f16; labels[1] = "llama.cpp F16";
        for (f = 0; f < 2; f++) {
            double bytes;
            if (!files[f] || !want(f ? "lf16" : "lq4")) continue;
            bytes = gguf_decode_bytes(files[f]);
            for (k = 0; k < nth; k++) {
                result r = run_llamacpp(lc, files[f], P, G, th[k], reps + 1);
                if (!r.ok) continue;
                printf("%-28s %7d %12.2f %12.2f %10.2f %12.0f\n", labels[f], th[k], r.v[0], r.v[1], r.v[1] * bytes / 1e9, r.rss_mb);
            }
        }
    } else if (want("lq4") || want("lf16")) {
        printf("(llama.cpp not given: LLAMACPP=/path to a build with bin/llama-bench)\n");
    }
    if (calib > 0 && want("calib")) {
        static const char *ck[1] = { "calib" };
        printf("\n%-28s %7s %12s %12s\n", "calibration (F16 model)", "threads", "tokens/s", "peak RSS MB");
        for (k = 0; k < nth; k++) {
            char ts[16], cs[16];
            char *av[7];
            result r;
            snprintf(ts, sizeof ts, "%d", th[k]);
            snprintf(cs, sizeof cs, "%d", calib);
            av[0] = self; av[1] = (char *)"--one"; av[2] = (char *)"calib"; av[3] = (char *)hf; av[4] = ts; av[5] = cs; av[6] = NULL;
            r = run_child(av, ck, 1);
            if (r.ok) printf("%-28s %7d %12.2f %12.0f\n", "uniql_calibrate", th[k], r.v[0], r.rss_mb);
        }
    }
    return 0;
}
