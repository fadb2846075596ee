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

   How it runs a batch: the caller publishes (fn, ctx, n_jobs) under a generation number,
   every thread (the caller as worker 0) takes job indices from one atomic counter until
   none are left, and the caller returns when the count of finished jobs reaches n_jobs.
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

struct uq_pool {
    int n_threads;                 /* including the calling thread */
    pthread_t threads[UQ_POOL_MAX];
    uq_pool_worker workers[UQ_POOL_MAX];
    pthread_mutex_t mu;
    pthread_cond_t wake;
    /* the current batch: fn / ctx written by the caller before the ticket is published,
       and stable until every job of the batch has finished */
    uniql_job_fn fn;
    void *ctx;
    /* atomic ticket: generation (20 bits) | n_jobs (22 bits) | next job index (22 bits).
       A job index is taken by compare-and-swap on the whole word, so a thread still
       holding an old generation can never take (or run) a job of a newer batch. */
    unsigned long long ticket;
    int done;                      /* atomic: jobs of the current batch finished */
    int stop;                      /* atomic */
    int sleepers;                  /* under mu */
};

#define UQ_POOL__GEN(v) ((unsigned)((v) >> 44))
#define UQ_POOL__N(v) ((int)(((v) >> 22) & 0x3FFFFFu))
#define UQ_POOL__IDX(v) ((int)((v) & 0x3FFFFFu))

static void uq_pool__drain(uq_pool *p, unsigned gen, int worker)
{
    for (;;) {
        unsigned long long v = __atomic_load_n(&p->ticket, __ATOMIC_ACQUIRE);
        int i;
        if (UQ_POOL__GEN(v) != gen || UQ_POOL__IDX(v) >= UQ_POOL__N(v)) return;
        i = UQ_POOL__IDX(v);
        if (!__atomic_compare_exchange_n(&p->ticket, &v, v + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
        p->fn(p->ctx, i, worker);    /* batch `gen` is live: job i is not done yet */
        __atomic_fetch_add(&p->done, 1, __ATOMIC_ACQ_REL);
    }
}

static void *uq_pool__main(void *arg)
{
    uq_pool_worker *w = (uq_pool_worker *)arg;
    uq_pool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        long spin = 0;
        while ((g = UQ_POOL__GEN(__atomic_load_n(&p->ticket, __ATOMIC_ACQUIRE))) == seen &&
               !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
            if (++spin < UQ_POOL_SPIN) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                continue;
            }
            pthread_mutex_lock(&p->mu);
            p->sleepers++;
            while (UQ_POOL__GEN(__atomic_load_n(&p->ticket, __ATOMIC_ACQUIRE)) == seen &&
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
    unsigned long long v;
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
    v = __atomic_load_n(&p->ticket, __ATOMIC_RELAXED);
    gen = (UQ_POOL__GEN(v) + 1u) & 0xFFFFFu;
    if (gen == 0) gen = 1;           /* workers start with seen = 0 */
    v = ((unsigned long long)gen << 44) | ((unsigned long long)n_jobs << 22);
    __atomic_store_n(&p->ticket, v, __ATOMIC_RELEASE);   /* publishes fn, ctx, done */
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
