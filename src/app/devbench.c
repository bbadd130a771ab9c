/*
 * devbench.c: `pacsvault __vault-bench` for `make bench` (bench/vault.sh),
 * not a user command: fills an index with synthetic rows and times the
 * index's find in process. It measures the store itself, below the service
 * layer, so it is the one part of the command line that opens a vault
 * directly (scripts/check-layers.sh names it).
 */
#include "app.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/store/vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* mode: VAULT_READ, VAULT_WRITE or VAULT_QUIET (vault.h). */
static int
open_vault(const char *cmd, const struct vopts *o, int mode, struct vault **v)
{
	struct pv_diag d;
	uint64_t placed, shredded;

	pv_diag_clear(&d);
	if (vault_open(o->dir, o->master, mode, v, &d) != 0) {
		app_report(cmd, o->dir, &d);
		return PV_EXIT_FAIL;
	}
	(void)vault_settled(*v, &placed, &shredded);
	return PV_EXIT_OK;
}

/* ---- make bench support (not a user command) ---- */

static int
bench_count(void *ctx, const struct vault_match *m)
{
	(void)m;
	(*(size_t *)ctx)++;
	return 0;
}

static int
dblcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * pacsvault __vault-bench fill DIR N: N synthetic instances in DIR's index.
 * pacsvault __vault-bench find DIR ROUNDS PATIENTS: the in-process latency of
 * a STUDY query by one random Patient ID (median, p99, max in ms).
 */
int
cmd_vault_bench(int argc, char **argv)
{
	struct vopts o;
	struct vault *v = NULL;
	struct pv_diag d;
	int rc;

	o.master = getenv("PACSVAULT_MASTER_KEY");
	if (o.master != NULL && o.master[0] == '\0')
		o.master = NULL;
	if (argc < 4)
		return app_usage_error("__vault-bench", "fill DIR N | find DIR ROUNDS PATIENTS");
	o.dir = argv[2];
	pv_diag_clear(&d);
	if (strcmp(argv[1], "fill") == 0) {
		struct timespec t0, t1;
		uint64_t n = strtoull(argv[3], NULL, 10);

		if ((rc = open_vault("__vault-bench", &o, VAULT_WRITE, &v)) != PV_EXIT_OK)
			return rc;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = vault_bench_fill(v, n, 100, &d);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		vault_close(v);
		if (rc != 0) {
			app_report("__vault-bench", o.dir, &d);
			return PV_EXIT_FAIL;
		}
		printf("%llu instances indexed in %.1f s\n", (unsigned long long)n,
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		return PV_EXIT_OK;
	}
	if (strcmp(argv[1], "find") == 0 && argc >= 5) {
		unsigned rounds = (unsigned)strtoul(argv[3], NULL, 10), patients = (unsigned)strtoul(argv[4], NULL, 10);
		double *t = calloc(rounds ? rounds : 1, sizeof(*t));
		uint64_t seed = 88172645463325252ull;
		size_t total = 0;

		if (t == NULL || rounds == 0 || patients == 0) {
			free(t);
			return app_usage_error("__vault-bench", "find DIR ROUNDS PATIENTS");
		}
		if ((rc = open_vault("__vault-bench", &o, VAULT_READ, &v)) != PV_EXIT_OK) {
			free(t);
			return rc;
		}
		for (unsigned r = 0; r < rounds; r++) {
			struct query_key k;
			struct timespec t0, t1;
			char arg[64];
			size_t n = 0;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			snprintf(arg, sizeof(arg), "PatientID=BENCH%08llu", (unsigned long long)(seed % patients));
			if (query_key_parse(arg, &k, &d) != 0) {
				query_key_free(&k);
				break;
			}
			clock_gettime(CLOCK_MONOTONIC, &t0);
			rc = vault_find(v, QUERY_STUDY, &k, 1, bench_count, &n, &d);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			query_key_free(&k);
			if (rc != 0) {
				app_report("__vault-bench", o.dir, &d);
				break;
			}
			total += n;
			t[r] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		}
		vault_close(v);
		qsort(t, rounds, sizeof(*t), dblcmp);
		printf("find STUDY by PatientID: %u queries, %.1f studies each, median %.3f ms, p99 %.3f ms, "
		    "max %.3f ms\n", rounds, (double)total / rounds, t[rounds / 2], t[rounds * 99 / 100],
		    t[rounds - 1]);
		free(t);
		return PV_EXIT_OK;
	}
	return app_usage_error("__vault-bench", "fill DIR N | find DIR ROUNDS PATIENTS");
}
