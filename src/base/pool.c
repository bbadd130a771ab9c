/* pool.c: a worker pool for independent jobs. */
#include "pacsvault/base/pool.h"
#include "pacsvault/base/err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define POOL_MAX_THREADS 256

struct pool_run {
	pv_pool_fn fn;
	void *ctx;
	size_t count;
	atomic_size_t next;
};

struct pool_worker {
	struct pool_run *run;
	unsigned id;
};

unsigned
pv_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (unsigned)n;
}

unsigned
pv_pool_threads(unsigned nthreads, size_t count)
{
	unsigned n = nthreads == 0 ? pv_ncpu() : nthreads;
	if (n > POOL_MAX_THREADS)
		n = POOL_MAX_THREADS;
	if (count < n)
		n = count == 0 ? 1 : (unsigned)count;
	return n;
}

static void *
pool_main(void *arg)
{
	struct pool_worker *w = arg;
	struct pool_run *run = w->run;
	size_t i;

	while ((i = atomic_fetch_add(&run->next, 1)) < run->count)
		run->fn(run->ctx, i, w->id);
	return NULL;
}

int
pv_pool_for(unsigned nthreads, size_t count, pv_pool_fn fn, void *ctx)
{
	pthread_t th[POOL_MAX_THREADS];
	struct pool_worker wk[POOL_MAX_THREADS];
	struct pool_run run = { fn, ctx, count, 0 };
	unsigned n = pv_pool_threads(nthreads, count), started = 0;

	/* Worker 0 is the calling thread. */
	for (unsigned t = 1; t < n; t++) {
		wk[t].run = &run;
		wk[t].id = t;
		if (pthread_create(&th[t], NULL, pool_main, &wk[t]) != 0)
			break;
		started++;
	}
	wk[0].run = &run;
	wk[0].id = 0;
	pool_main(&wk[0]);
	for (unsigned t = 1; t <= started; t++)
		pthread_join(th[t], NULL);
	return 0;
}
