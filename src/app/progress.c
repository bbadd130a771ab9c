/* progress.c: the progress bar of the batch commands (deid, scan), on a terminal only. */
#include "app.h"

#include <stdio.h>

static double
since(const struct app_progress *p)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - p->t0.tv_sec) + (double)(t.tv_nsec - p->t0.tv_nsec) / 1e9;
}

static void
draw(struct app_progress *p, int final)
{
	size_t done = atomic_load(&p->done);
	double t = since(p), mb = (double)atomic_load(&p->bytes) / 1048576.0;
	double rate = t > 0 ? (double)done / t : 0, eta = rate > 0 ? (double)(p->total - done) / rate : 0;
	int width = 30, fill = p->total ? (int)((double)width * (double)done / (double)p->total) : width;

	fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu files  %.0f files/s", p->what, fill, "##############################",
	    width - fill, "", done, p->total, rate);
	if (mb > 0)
		fprintf(stderr, "  %.1f MB/s", t > 0 ? mb / t : 0);
	fprintf(stderr, "  ETA %.0fs ", eta);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

void
app_progress_start(struct app_progress *p, int on, const char *what, size_t total)
{
	p->on = on;
	p->what = what;
	p->total = total;
	p->last = 0;
	atomic_store(&p->done, 0);
	atomic_store(&p->bytes, 0);
	pthread_mutex_init(&p->lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
}

void
app_progress_tick(struct app_progress *p, uint64_t bytes)
{
	atomic_fetch_add(&p->done, 1);
	atomic_fetch_add(&p->bytes, bytes);
	if (p->on && pthread_mutex_trylock(&p->lock) == 0) {
		double t = since(p);
		if (t - p->last > 0.1) {
			p->last = t;
			draw(p, 0);
		}
		pthread_mutex_unlock(&p->lock);
	}
}

void
app_progress_end(struct app_progress *p)
{
	if (p->on)
		draw(p, 1);
	pthread_mutex_destroy(&p->lock);
}

double
app_progress_seconds(const struct app_progress *p)
{
	return since(p);
}
