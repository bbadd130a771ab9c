/*
 * pool.h: a worker pool for independent jobs.
 *
 * pv_pool_for() runs fn(ctx, i, worker) for every i in [0, count) on up to
 * nthreads threads (0 = one per online CPU) and returns when all are done.
 * Jobs are handed out in index order from an atomic counter, so a slow job
 * does not hold up the others. fn must be thread-safe; worker (0..n-1) lets
 * it keep per-thread state. A job cannot stop the batch: it records its own
 * failure and the caller inspects the results afterwards.
 */
#ifndef PV_BASE_POOL_H
#define PV_BASE_POOL_H

#include <stddef.h>

typedef void (*pv_pool_fn)(void *ctx, size_t index, unsigned worker);

/* Number of online CPUs, at least 1. */
unsigned pv_ncpu(void);

/* The number of threads pv_pool_for() would use for nthreads and count. */
unsigned pv_pool_threads(unsigned nthreads, size_t count);

/* Runs the jobs; returns 0 or PV_ENOMEM when no thread could be started. */
int pv_pool_for(unsigned nthreads, size_t count, pv_pool_fn fn, void *ctx)
	__attribute__((warn_unused_result));

#endif
