/* uq_threads.h - a small pthreads pool that implements uniql.h's parallel-for
   (uniql_parallel, API 2b) for the project's programs: examples, tools, benches, tests.
   It is NOT part of the library (uniql.h never starts a thread); a program that has its
   own job system hands that to uniql.h instead.

       #include "uniql.h"
       #include "tools/uq_threads.h"      (link with -pthread)
       uq_pool *pool = uq_pool_create(4);           4 threads: the caller + 3 workers
       uniql_parallel par = uq_pool_parallel(pool);
       opts.parallel = &par;                         any uniql.h options struct
       ...
       uq_pool_destroy(pool);

   How it runs a batch: the caller cuts the job indices 0..n_jobs-1 into one consecutive
   share per thread and publishes (fn, ctx, the shares) under a generation number; every
   thread (the caller as worker 0) runs its own share front to back, then takes jobs from
   the back of the others' shares until none are left, and the caller returns when the
   count of finished jobs reaches n_jobs. uniql.h cuts a matmul into jobs of consecutive
   rows, so each thread streams one contiguous stretch of the weights: handing the jobs
   out from one shared counter instead interleaves the threads' jobs (every job a jump
   that the hardware prefetcher has to pick up again) and made 2-thread decode GEMVs of
   the TinyLlama-1.1B shape about 1.3x slower on a Zen 5 (measured in the speed session).
   Idle workers spin for a short while on the generation number (a decode step issues a
   few hundred small batches per token, and a sleeping thread takes tens of microseconds
   to wake), then sleep on a condition variable. One batch at a time: the pool is not
   re-entrant (a job must not start another batch on the same pool; uniql.h never does).
   C99 + pthreads + GCC/Clang __atomic builtins. */
#ifndef UQ_THREADS_H
#define UQ_THREADS_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define UQ_POOL_MAX 64
#define UQ_POOL_SPIN 200000   /* polls of the generation number before a worker sleeps */

typedef struct uq_pool uq_pool;
typedef struct uq_pool_worker {
    uq_pool *pool;
    int index;
} uq_pool_worker;

/* one worker's share of a batch: generation (20 bits) | end (22 bits) | next (22 bits),
   alone on its cache line */
typedef struct uq_pool_seg {
    unsigned long long v;
    char pad[64 - sizeof(unsigned long long)];
} uq_pool_seg;

struct uq_pool {
    int n_threads;                 /* including the calling thread */
    pthread_t threads[UQ_POOL_MAX];
    uq_pool_worker workers[UQ_POOL_MAX];
    pthread_mutex_t mu;
    pthread_cond_t wake;
    /* the current batch: fn / ctx written by the caller before the generation is published,
       and stable until every job of the batch has finished */
    uniql_job_fn fn;
    void *ctx;
    char pad0[64];
    unsigned gen;                  /* atomic: the generation of the current batch */
    char pad1[64];
    int done;                      /* atomic: jobs of the current batch finished */
    int stop;                      /* atomic */
    int sleepers;                  /* under mu */
    char pad2[64];
    uq_pool_seg seg[UQ_POOL_MAX];  /* worker k's share of the batch's job indices */
};

#define UQ_POOL__GEN(v) ((unsigned)((v) >> 44))
#define UQ_POOL__END(v) ((int)(((v) >> 22) & 0x3FFFFFu))
#define UQ_POOL__IDX(v) ((int)((v) & 0x3FFFFFu))

/* Worker `worker` runs its own share from the front (consecutive jobs: consecutive rows
   of a matrix, so one memory stream per thread), then takes jobs from the back of the
   other shares. A job index is taken by compare-and-swap on the share's whole word, so a
   thread still holding an old generation can never take (or run) a job of a newer batch. */
static void uq_pool__drain(uq_pool *p, unsigned gen, int worker)
{
    int mine = 0, k, n = p->n_threads;
    for (k = 0; k < n; k++) {
        uq_pool_seg *sg = &p->seg[(worker + k) % n];
        for (;;) {
            unsigned long long v = __atomic_load_n(&sg->v, __ATOMIC_ACQUIRE), w;
            int i;
            if (UQ_POOL__GEN(v) != gen || UQ_POOL__IDX(v) >= UQ_POOL__END(v)) break;
            if (k == 0) { i = UQ_POOL__IDX(v); w = v + 1; }
            else { i = UQ_POOL__END(v) - 1; w = v - (1ull << 22); }
            if (!__atomic_compare_exchange_n(&sg->v, &v, w, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
            p->fn(p->ctx, i, worker);    /* batch `gen` is live: job i is not done yet */
            mine++;
        }
    }
    if (mine) __atomic_fetch_add(&p->done, mine, __ATOMIC_ACQ_REL);
}

static void *uq_pool__main(void *arg)
{
    uq_pool_worker *w = (uq_pool_worker *)arg;
    uq_pool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        long spin = 0;
        while ((g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE)) == seen &&
               !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
            if (++spin < UQ_POOL_SPIN) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                continue;
            }
            pthread_mutex_lock(&p->mu);
            p->sleepers++;
            while (__atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) == seen &&
                   !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
                pthread_cond_wait(&p->wake, &p->mu);
            p->sleepers--;
            pthread_mutex_unlock(&p->mu);
            spin = 0;
        }
        if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) return NULL;
        seen = g;
        uq_pool__drain(p, g, w->index);
    }
}

/* the uniql_parallel.run of a pool */
static void uq_pool__run(void *user, int n_jobs, uniql_job_fn fn, void *ctx)
{
    uq_pool *p = (uq_pool *)user;
    unsigned gen;
    int i;
    if (n_jobs <= 0) return;
    if (p->n_threads <= 1 || n_jobs == 1 || n_jobs > 0x3FFFFF) {
        for (i = 0; i < n_jobs; i++) fn(ctx, i, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    __atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
    gen = (__atomic_load_n(&p->gen, __ATOMIC_RELAXED) + 1u) & 0xFFFFFu;
    if (gen == 0) gen = 1;           /* workers start with seen = 0 */
    for (i = 0; i < p->n_threads; i++) {
        unsigned long long b = (unsigned long long)n_jobs * (unsigned long long)i / (unsigned long long)p->n_threads;
        unsigned long long e = (unsigned long long)n_jobs * (unsigned long long)(i + 1) / (unsigned long long)p->n_threads;
        __atomic_store_n(&p->seg[i].v, ((unsigned long long)gen << 44) | (e << 22) | b, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&p->gen, gen, __ATOMIC_RELEASE);   /* publishes fn, ctx, done, the shares */
    pthread_mutex_lock(&p->mu);
    if (p->sleepers) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    uq_pool__drain(p, gen, 0);
    while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < n_jobs) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

/* n_threads total (the caller included), clamped to [1, UQ_POOL_MAX]; NULL on failure */
static uq_pool *uq_pool_create(int n_threads)
{
    uq_pool *p = (uq_pool *)calloc(1, sizeof *p);
    int i;
    if (!p) return NULL;
    if (n_threads < 1) n_threads = 1;
    if (n_threads > UQ_POOL_MAX) n_threads = UQ_POOL_MAX;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->n_threads = 1;
    for (i = 1; i < n_threads; i++) {
        p->workers[i].pool = p;
        p->workers[i].index = i;
        if (pthread_create(&p->threads[i], NULL, uq_pool__main, &p->workers[i])) break;
        p->n_threads = i + 1;
    }
    return p;
}

static void uq_pool_destroy(uq_pool *p)
{
    int i;
    if (!p) return;
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (i = 1; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* the pool as uniql.h's parallel-for (valid while the pool lives) */
static uniql_parallel uq_pool_parallel(uq_pool *p)
{
    uniql_parallel par;
    memset(&par, 0, sizeof par);
    par.run = uq_pool__run;
    par.user = p;
    par.n_workers = p ? p->n_threads : 1;
    return par;
}

#endif /* UQ_THREADS_H */
