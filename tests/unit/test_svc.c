/*
 * test_svc.c: the service layer's promises that only a program inside the
 * process can check (issue 16): a slow consumer of query rows holds nothing
 * an ingest needs.
 */
#include "dcmbuild.h"
#include "harness.h"
#include "tests.h"
#include "pacsvault/store/vault.h"
#include "pacsvault/svc/admin.h"
#include "pacsvault/svc/audit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A synthetic CT instance (no real person) written to dir/name. */
static void
write_instance(const char *path, int patient, int n)
{
	struct tb t;
	char uid[64], pid[32];
	FILE *f;

	tb_init(&t, 0, 0);
	tb_meta(&t, "1.2.840.10008.1.2.1");
	tb_str(&t, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.2");
	snprintf(uid, sizeof(uid), "2.25.1234%d.%d", patient, n);
	tb_str(&t, 0x00080018, "UI", uid);
	tb_str(&t, 0x00080060, "CS", "CT");
	tb_str(&t, 0x00100010, "PN", "SYNTHETIC^PATIENT");
	snprintf(pid, sizeof(pid), "SYN%04d", patient);
	tb_str(&t, 0x00100020, "LO", pid);
	snprintf(uid, sizeof(uid), "2.25.5678%d", patient);
	tb_str(&t, 0x0020000D, "UI", uid);
	snprintf(uid, sizeof(uid), "2.25.9012%d.1", patient);
	tb_str(&t, 0x0020000E, "UI", uid);
	f = fopen(path, "wb");
	T_ASSERT(f != NULL);
	if (f != NULL) {
		T_ASSERT(fwrite(t.b.data, 1, t.b.len, f) == t.b.len);
		fclose(f);
	}
	tb_free(&t);
}

struct slow {
	struct vault *v;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int entered, release, rows, rc, timed_out;
};

/* The consumer: on its first row it says so, then blocks until released (10 s at most). */
static int
slow_row(void *ctx, const struct vault_match *m)
{
	struct slow *s = ctx;
	struct timespec until;

	(void)m;
	pthread_mutex_lock(&s->mu);
	s->rows++;
	if (!s->entered) {
		s->entered = 1;
		pthread_cond_broadcast(&s->cv);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 10;
		while (!s->release)
			if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) {
				s->timed_out = 1;
				break;
			}
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void *
slow_find(void *arg)
{
	struct slow *s = arg;
	struct pv_diag d;

	pv_diag_clear(&d);
	s->rc = vault_find(s->v, QUERY_STUDY, NULL, 0, slow_row, s, &d);
	return NULL;
}

struct acks {
	pthread_mutex_t mu;
	int n, while_blocked;
	struct slow *s;
};

static void
count_ack(void *ctx, void *cookie, int status)
{
	struct acks *a = ctx;

	(void)cookie;
	(void)status;
	pthread_mutex_lock(&a->mu);
	a->n++;
	pthread_mutex_lock(&a->s->mu);
	if (a->s->entered && !a->s->release)
		a->while_blocked++;
	pthread_mutex_unlock(&a->s->mu);
	pthread_mutex_unlock(&a->mu);
}

void
test_svc_slow_query_consumer(void)
{
	char dir[512], path[600], id[9];
	struct pv_buf vk;
	struct pv_diag d;
	struct vault *v = NULL;
	struct svc_audit *audit = NULL;
	struct slow s;
	struct acks a;
	pthread_t th;
	int st;
	char reason[256];
	uint64_t bytes;

	snprintf(dir, sizeof(dir), "%s/vault", t_tmpdir());
	pv_diag_clear(&d);
	pv_buf_init(&vk, 4096);
	T_ASSERT(svc_vault_create(dir, NULL, NULL, id, &vk, &d) == 0);
	pv_buf_free(&vk);
	T_ASSERT(vault_open(dir, NULL, VAULT_WRITE, &v, &d) == 0);
	if (v == NULL)
		return;
	T_ASSERT(svc_audit_open(dir, v, "test", &audit, &d) == 0);
	vault_set_commit_hook(v, svc_audit_import_hook, audit);
	memset(&s, 0, sizeof(s));
	memset(&a, 0, sizeof(a));
	s.v = v;
	a.s = &s;
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	pthread_mutex_init(&a.mu, NULL);
	vault_import_batching(v, 4, count_ack, &a);
	/* Three studies to find. */
	for (int p = 0; p < 3; p++) {
		snprintf(path, sizeof(path), "%s/first%d.dcm", t_tmpdir(), p);
		write_instance(path, p, 0);
		T_ASSERT(vault_import_file(v, path, NULL, &st, reason, sizeof(reason), &bytes) == 0);
	}
	T_ASSERT(vault_import_flush(v, &d) == 0);
	T_EQ_INT(a.n, 3);
	/* A consumer blocks inside find's first row... */
	T_ASSERT(pthread_create(&th, NULL, slow_find, &s) == 0);
	pthread_mutex_lock(&s.mu);
	while (!s.entered)
		pthread_cond_wait(&s.cv, &s.mu);
	pthread_mutex_unlock(&s.mu);
	/* ... while 20 instances are ingested, committed, audited and acknowledged. */
	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "%s/more%d.dcm", t_tmpdir(), i);
		write_instance(path, 10 + i % 5, i);
		T_ASSERT(vault_import_file(v, path, NULL, &st, reason, sizeof(reason), &bytes) == 0);
		T_EQ_INT(st, VAULT_STORED);
	}
	T_ASSERT(vault_import_flush(v, &d) == 0);
	pthread_mutex_lock(&a.mu);
	T_EQ_INT(a.n, 23);
	T_EQ_INT(a.while_blocked, 20);   /* every acknowledgement arrived while the consumer was blocked */
	pthread_mutex_unlock(&a.mu);
	pthread_mutex_lock(&s.mu);
	T_EQ_INT(s.timed_out, 0);
	s.release = 1;
	pthread_cond_broadcast(&s.cv);
	pthread_mutex_unlock(&s.mu);
	pthread_join(th, NULL);
	T_EQ_INT(s.rc, 0);
	T_ASSERT(s.rows >= 3);
	vault_close(v);
	svc_audit_close(audit);
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&a.mu);
}
