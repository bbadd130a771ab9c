/*
 * test_svc.c: the service layer's promises that only a program inside the
 * process can check (issue 16): a slow consumer of query rows holds nothing
 * an ingest needs.
 */
#include "dcmbuild.h"
#include "harness.h"
#include "tests.h"
#include "pacsvault/ledger/log.h"
#include "pacsvault/store/vault.h"
#include "pacsvault/svc/admin.h"
#include "pacsvault/svc/audit.h"
#include "pacsvault/svc/svc.h"

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

/* The consumer: on its first row it says so, then blocks until released (60 s at most: a hang guard). */
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
		until.tv_sec += 60;
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

/* ---- roles, the egress chokepoint and the audit of each call ---- */

static const char *const plants[] = { "PLANTNAME", "PLANTID77", "PLANTACC9", "PLANTHOSPITAL", "PLANTDOC",
	"19610314" };

/* A synthetic CT instance full of planted identifiers (none a real person's). */
static void
planted_instance(struct pv_buf *out, int n)
{
	struct tb t;
	char uid[64];

	tb_init(&t, 0, 0);
	tb_meta(&t, "1.2.840.10008.1.2.1");
	tb_str(&t, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.2");
	snprintf(uid, sizeof(uid), "2.25.7779%d", n);
	tb_str(&t, 0x00080018, "UI", uid);
	tb_str(&t, 0x00080020, "DA", "20240102");
	tb_str(&t, 0x00080050, "SH", "PLANTACC9");
	tb_str(&t, 0x00080060, "CS", "CT");
	tb_str(&t, 0x00080080, "LO", "PLANTHOSPITAL");
	tb_str(&t, 0x00080090, "PN", "PLANTDOC^X");
	tb_str(&t, 0x00100010, "PN", "PLANTNAME^SECRET");
	tb_str(&t, 0x00100020, "LO", "PLANTID77");
	tb_str(&t, 0x00100030, "DA", "19610314");
	tb_str(&t, 0x0020000D, "UI", "2.25.7770001");
	tb_str(&t, 0x0020000E, "UI", "2.25.7770002");
	pv_buf_init(out, 1 << 20);
	T_ASSERT(pv_buf_append(out, t.b.data, t.b.len) == 0);
	tb_free(&t);
}

static int
has_plant(const void *p, size_t n)
{
	for (size_t i = 0; i < sizeof(plants) / sizeof(plants[0]); i++)
		if (memmem(p, n, plants[i], strlen(plants[i])) != NULL)
			return 1;
	return 0;
}

/* How many entries of the vault's ledger hold every one of the needles (NULL-terminated). */
static int
count_events(const char *vault_dir, const char *const *needles)
{
	struct lg_log *l = NULL;
	struct pv_buf e;
	struct pv_diag d;
	char led[600];
	int n = 0;

	snprintf(led, sizeof(led), "%s/ledger", vault_dir);
	pv_diag_clear(&d);
	T_ASSERT(lg_log_open(led, &l, &d) == 0);
	pv_buf_init(&e, 1 << 20);
	for (uint64_t i = 0; l != NULL && i < lg_log_size(l); i++) {
		int all = 1;

		pv_buf_reset(&e);
		T_ASSERT(lg_log_entry(l, i, &e, &d) == 0);
		for (const char *const *k = needles; *k != NULL; k++)
			all &= memmem(e.data, e.len, *k, strlen(*k)) != NULL;
		n += all;
	}
	pv_buf_free(&e);
	lg_log_close(l);
	return n;
}

/* A new vault under the test's folder (dir gets its path), open for writing, with one project. */
static struct svc *
new_service(const char *name, const char *project, uint8_t key_byte, char dir[512])
{
	struct svc_project pj;
	struct pv_buf vk;
	struct pv_diag d;
	struct svc *s = NULL;
	char id[9];

	snprintf(dir, 512, "%s/%s", t_tmpdir(), name);
	pv_diag_clear(&d);
	pv_buf_init(&vk, 4096);
	T_ASSERT(svc_vault_create(dir, NULL, NULL, id, &vk, &d) == 0);
	pv_buf_free(&vk);
	T_ASSERT(svc_open(dir, NULL, VAULT_WRITE, &s, &d) == 0);
	if (s == NULL)
		return NULL;
	memset(&pj, 0, sizeof(pj));
	pj.name = project;
	memset(pj.cfg.key, key_byte, sizeof(pj.cfg.key));
	T_ASSERT(svc_project_add(s, &pj, &d) == 0);
	return s;
}

struct rows {
	int n, planted;
	char study[72];
};

static int
collect_row(void *ctx, const struct vault_match *m)
{
	struct rows *r = ctx;

	r->n++;
	for (size_t i = 0; i < m->n; i++) {
		if (m->value[i] == NULL)
			continue;
		r->planted |= has_plant(m->value[i], strlen(m->value[i]));
		if (m->tag[i] == 0x0020000Du)
			snprintf(r->study, sizeof(r->study), "%s", m->value[i]);
	}
	return 0;
}

struct got {
	int n, planted, same;
	const struct pv_buf *orig[2];
	char sop[2][72];
};

static int
collect_bytes(void *ctx, const char *sop, const void *p, size_t n)
{
	struct got *g = ctx;

	if (g->n < 2)
		snprintf(g->sop[g->n], sizeof(g->sop[0]), "%s", sop);
	g->planted |= has_plant(p, n);
	for (int k = 0; k < 2; k++)
		if (g->orig[k] != NULL && g->orig[k]->len == n && memcmp(g->orig[k]->data, p, n) == 0)
			g->same++;
	g->n++;
	return 0;
}

static int
parse_keys(struct query_key *k, const char *const *args, size_t n)
{
	struct pv_diag d;

	for (size_t i = 0; i < n; i++) {
		pv_diag_clear(&d);
		if (query_key_parse(args[i], &k[i], &d) != 0)
			return -1;
	}
	return 0;
}

void
test_svc_roles_and_egress(void)
{
	static const struct svc_principal modality = { "ct-scanner-1", SVC_MODALITY, "tls-certificate", "127.0.0.1",
		"CT1", NULL, "dimse" };
	static const struct svc_principal clinician = { "dr-synthetic", SVC_CLINICIAN, "password", "127.0.0.2", NULL,
		NULL, "dimse" };
	static const struct svc_principal research = { "researcher-1", SVC_RESEARCH, "token", "127.0.0.3", NULL, "p1", "dicomweb" };
	static const struct svc_principal auditor = { "auditor-1", SVC_AUDITOR, "token", "127.0.0.4", NULL, NULL, "dicomweb" };
	static const char *const all_keys[] = { "PatientName", "PatientID", "PatientBirthDate", "AccessionNumber",
		"ReferringPhysicianName", "StudyInstanceUID", "StudyDate" };
	char dir[512], reason[256];
	struct pv_buf inst[2];
	struct pv_diag d;
	struct svc *s = NULL;
	struct query_key keys[7];
	struct rows r;
	struct got g;
	size_t sent, held;
	int st;

	pv_diag_clear(&d);
	if ((s = new_service("svc-vault", "p1", 0x5a, dir)) == NULL)
		return;
	T_ASSERT(parse_keys(keys, all_keys, 7) == 0);

	/* Store: the modality may, research may not. */
	for (int i = 0; i < 2; i++) {
		planted_instance(&inst[i], i);
		pv_diag_clear(&d);
		T_ASSERT(svc_ingest_mem(s, &modality, inst[i].data, inst[i].len, "C-STORE", &st, reason, sizeof(reason),
		    &d) == 0);
		T_EQ_INT(st, VAULT_STORED);
	}
	pv_diag_clear(&d);
	T_EQ_INT(svc_ingest_mem(s, &research, inst[0].data, inst[0].len, "C-STORE", &st, reason, sizeof(reason), &d),
	    PV_EAUTH);

	/* A clinician: identified rows, the exact bytes. */
	memset(&r, 0, sizeof(r));
	pv_diag_clear(&d);
	T_ASSERT(svc_query(s, &clinician, QUERY_STUDY, keys, 7, collect_row, &r, &d) == 0);
	T_EQ_INT(r.n, 1);
	T_EQ_INT(r.planted, 1);
	T_EQ_STR(r.study, "2.25.7770001");
	memset(&g, 0, sizeof(g));
	g.orig[0] = &inst[0];
	g.orig[1] = &inst[1];
	T_ASSERT(svc_egress(s, &clinician, "2.25.7770001", collect_bytes, &g, &sent, &held, &d) == 0);
	T_EQ_INT(g.n, 2);
	T_EQ_INT(g.same, 2);

	/* Research: no planted value in any row or byte; its pseudonyms resolve back, originals do not. */
	memset(&r, 0, sizeof(r));
	pv_diag_clear(&d);
	T_ASSERT(svc_query(s, &research, QUERY_STUDY, keys, 7, collect_row, &r, &d) == 0);
	T_EQ_INT(r.n, 1);
	T_EQ_INT(r.planted, 0);
	T_ASSERT(r.study[0] != '\0' && strcmp(r.study, "2.25.7770001") != 0);
	memset(&g, 0, sizeof(g));
	g.orig[0] = &inst[0];
	g.orig[1] = &inst[1];
	pv_diag_clear(&d);
	T_ASSERT(svc_egress(s, &research, r.study, collect_bytes, &g, &sent, &held, &d) == 0);
	T_EQ_INT(g.n, 2);
	T_EQ_INT(g.planted, 0);
	T_EQ_INT(g.same, 0);
	T_ASSERT(strncmp(g.sop[0], "2.25.", 5) == 0 && strcmp(g.sop[0], "2.25.77790") != 0);
	pv_diag_clear(&d);
	T_EQ_INT(svc_egress(s, &research, "2.25.7770001", collect_bytes, &g, &sent, &held, &d), PV_ENOTFOUND);
	{
		struct query_key pk;

		T_ASSERT(query_key_parse("PatientID=PLANTID77", &pk, &d) == 0);
		pv_diag_clear(&d);
		T_EQ_INT(svc_query(s, &research, QUERY_STUDY, &pk, 1, collect_row, &r, &d), PV_EAUTH);
		query_key_free(&pk);
	}
	/* Roles without the right: refused. */
	pv_diag_clear(&d);
	T_EQ_INT(svc_egress(s, &auditor, "2.25.7770001", collect_bytes, &g, &sent, &held, &d), PV_EAUTH);
	pv_diag_clear(&d);
	T_EQ_INT(svc_query(s, &modality, QUERY_STUDY, keys, 7, collect_row, &r, &d), PV_EAUTH);
	{
		/* Deleting: not for a clinician; the operator's shreds the study (events first). */
		static const struct svc_principal op = { "root-synthetic", SVC_OPERATOR, "os-user", "localhost", NULL,
			NULL, "pacsvault rm" };
		size_t found = 0, done = 0;

		pv_diag_clear(&d);
		T_EQ_INT(svc_rm(s, &clinician, "2.25.7770001", 0, &found, &done, &d), PV_EAUTH);
		T_EQ_INT(done, 0);
		pv_diag_clear(&d);
		T_ASSERT(svc_rm(s, &op, "2.25.7770001", 0, &found, &done, &d) == 0);
		T_EQ_INT(found, 2);
		T_EQ_INT(done, 2);
		pv_diag_clear(&d);
		T_EQ_INT(svc_egress(s, &clinician, "2.25.7770001", collect_bytes, &g, &sent, &held, &d), PV_ENOTFOUND);
	}
	svc_close(s);
	for (int i = 0; i < 7; i++)
		query_key_free(&keys[i]);

	/* Every call left its event with its principal; the ledger holds no planted value. */
	{
		static const char *const imports[] = { "event 110107", "ct-scanner-1 modality", NULL };
		static const char *const cl_get[] = { "event 110106", "dr-synthetic clinician", NULL };
		static const char *const res_query[] = { "event 110112", "researcher-1 research", NULL };
		static const char *const res_get[] = { "event 110106", "researcher-1 research", NULL };
		static const char *const alerts[] = { "event 110113", "outcome 4", NULL };
		int planted = 0;

		T_EQ_INT(count_events(dir, imports), 2);
		T_EQ_INT(count_events(dir, cl_get), 2);
		T_EQ_INT(count_events(dir, res_query), 1);
		T_EQ_INT(count_events(dir, res_get), 2);
		/* research store, research query on PatientID, auditor retrieve, modality query, clinician delete */
		T_EQ_INT(count_events(dir, alerts), 5);
		for (size_t k = 0; k < sizeof(plants) / sizeof(plants[0]); k++) {
			const char *const one[] = { plants[k], NULL };

			planted += count_events(dir, one);
		}
		T_EQ_INT(planted, 0);
	}
	pv_buf_free(&inst[0]);
	pv_buf_free(&inst[1]);
}

/* A research copy the pipeline holds back (burned-in text risk, no pixel cleaning): never sent. */
void
test_svc_research_held(void)
{
	static const struct svc_principal modality = { "us-cart-1", SVC_MODALITY, "tls-certificate", "127.0.0.5", "US1",
		NULL, "dimse" };
	static const struct svc_principal research = { "researcher-2", SVC_RESEARCH, "token", "127.0.0.6", NULL, "p2",
		"dicomweb" };
	char dir[512], reason[256];
	struct pv_buf b;
	struct pv_diag d;
	struct svc *s = NULL;
	struct query_key k;
	struct rows r;
	struct got g;
	struct tb t;
	size_t sent = 9, held = 9;
	uint8_t px[64 * 64];
	int st;

	pv_diag_clear(&d);
	if ((s = new_service("svc-held", "p2", 0x33, dir)) == NULL)
		return;
	/* An ultrasound frame (a modality that burns text in), 64x64 8-bit. */
	memset(px, 0, sizeof(px));
	tb_init(&t, 0, 0);
	tb_meta(&t, "1.2.840.10008.1.2.1");
	tb_str(&t, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.6.1");
	tb_str(&t, 0x00080018, "UI", "2.25.8881");
	tb_str(&t, 0x00080060, "CS", "US");
	tb_str(&t, 0x00100010, "PN", "PLANTNAME^HELD");
	tb_str(&t, 0x00100020, "LO", "PLANTID77");
	tb_str(&t, 0x0020000D, "UI", "2.25.8882");
	tb_str(&t, 0x0020000E, "UI", "2.25.8883");
	tb_u16(&t, 0x00280002, 1);
	tb_str(&t, 0x00280004, "CS", "MONOCHROME2");
	tb_u16(&t, 0x00280010, 64);
	tb_u16(&t, 0x00280011, 64);
	tb_u16(&t, 0x00280100, 8);
	tb_u16(&t, 0x00280101, 8);
	tb_u16(&t, 0x00280102, 7);
	tb_u16(&t, 0x00280103, 0);
	tb_elem(&t, 0x7FE00010, "OB", px, sizeof(px));
	pv_buf_init(&b, 1 << 20);
	T_ASSERT(pv_buf_append(&b, t.b.data, t.b.len) == 0);
	tb_free(&t);
	T_ASSERT(svc_ingest_mem(s, &modality, b.data, b.len, "C-STORE", &st, reason, sizeof(reason), &d) == 0);
	T_EQ_INT(st, VAULT_STORED);
	/* The project sees the study (pseudonymised), but its instance is held back, never sent. */
	memset(&r, 0, sizeof(r));
	T_ASSERT(query_key_parse("StudyInstanceUID", &k, &d) == 0);
	T_ASSERT(svc_query(s, &research, QUERY_STUDY, &k, 1, collect_row, &r, &d) == 0);
	query_key_free(&k);
	T_EQ_INT(r.n, 1);
	memset(&g, 0, sizeof(g));
	pv_diag_clear(&d);
	T_ASSERT(svc_egress(s, &research, r.study, collect_bytes, &g, &sent, &held, &d) == 0);
	T_EQ_INT(sent, 0);
	T_EQ_INT(held, 1);
	T_EQ_INT(g.n, 0);
	svc_close(s);
	pv_buf_free(&b);
	{
		static const char *const held_ev[] = { "event 110106", "outcome 4", "researcher-2 research", NULL };

		T_EQ_INT(count_events(dir, held_ev), 1);
	}
}

struct evs {
	int n, patient;
};

static int
count_ev(void *ctx, uint64_t index, const struct lg_event *e, size_t size)
{
	struct evs *c = ctx;

	(void)index;
	(void)size;
	if (e != NULL) {
		c->n++;
		c->patient += e->code == 110107;
	}
	return 0;
}

static void
fsck_problem(void *ctx, const char *what, const char *objid, const struct pv_diag *d)
{
	(void)what;
	(void)objid;
	(void)d;
	(*(int *)ctx)++;
}

static int
q_one(void *ctx, const char *objid, uint64_t size, const char *reason, const char *path)
{
	(void)objid;
	(void)size;
	(void)reason;
	(void)path;
	(*(int *)ctx)++;
	return 0;
}

/* Administration through svc: each call checks the role (a refusal is a Security Alert) and leaves its event. */
void
test_svc_admin_roles(void)
{
	static const struct svc_principal modality = { "ct-scanner-2", SVC_MODALITY, "tls-certificate", "127.0.0.7",
		"CT2", NULL, "dimse" };
	static const struct svc_principal research = { "researcher-3", SVC_RESEARCH, "token", "127.0.0.8", NULL, "p3",
		"dicomweb" };
	static const struct svc_principal auditor = { "auditor-3", SVC_AUDITOR, "token", "127.0.0.9", NULL, NULL,
		"dicomweb" };
	static const struct svc_principal admin = { "admin-3", SVC_ADMIN, "tls-certificate", "127.0.0.10", NULL, NULL,
		"dimse" };
	struct svc_ledger_filter f = { NULL, NULL, NULL, NULL, -1, -1, 0 };
	char dir[512], reason[256], copy[600];
	struct vault_fsck r;
	struct pv_buf b;
	struct pv_diag d;
	struct svc *s = NULL;
	struct evs c;
	size_t n = 9, done = 9;
	int st, problems = 0, listed = 0;

	pv_diag_clear(&d);
	if ((s = new_service("svc-admin", "p3", 0x44, dir)) == NULL)
		return;
	planted_instance(&b, 1);
	T_ASSERT(svc_ingest_mem(s, &modality, b.data, b.len, "C-STORE", &st, reason, sizeof(reason), &d) == 0);
	T_EQ_INT(st, VAULT_STORED);
	pv_buf_free(&b);
	/* Refused: a modality, a research user and an auditor cannot administer the vault. */
	T_EQ_INT(svc_fsck(s, &research, 0, fsck_problem, &problems, &r, &d), PV_EAUTH);
	pv_diag_clear(&d);
	T_EQ_INT(svc_fsck(s, &auditor, 0, fsck_problem, &problems, &r, &d), PV_EAUTH);
	pv_diag_clear(&d);
	T_EQ_INT(svc_quarantine_list(s, &modality, q_one, &listed, &n, &d), PV_EAUTH);
	pv_diag_clear(&d);
	T_EQ_INT(svc_quarantine_purge(s, &research, NULL, 0, NULL, NULL, &done, &d), PV_EAUTH);
	pv_diag_clear(&d);
	snprintf(copy, sizeof(copy), "%s/svc-admin-copy", t_tmpdir());
	T_EQ_INT(svc_set_checkpoint_copy(s, &modality, copy, &d), PV_EAUTH);
	pv_diag_clear(&d);
	memset(&c, 0, sizeof(c));
	T_EQ_INT(svc_ledger_events(s, &research, &f, count_ev, &c, &d), PV_EAUTH);
	T_EQ_INT(c.n, 0);
	T_EQ_INT(problems, 0);
	T_EQ_INT(access(copy, F_OK), -1);
	/* Allowed: the admin checks the vault, the auditor reads the trail (by patient too). */
	pv_diag_clear(&d);
	T_ASSERT(svc_fsck(s, &admin, 0, fsck_problem, &problems, &r, &d) == 0);
	T_EQ_INT(problems, 0);
	T_EQ_INT((int)r.instances, 1);
	T_ASSERT(svc_quarantine_list(s, &admin, q_one, &listed, &n, &d) == 0);
	T_EQ_INT((int)n, 0);
	memset(&c, 0, sizeof(c));
	f.patient = "PLANTID77";
	T_ASSERT(svc_ledger_events(s, &auditor, &f, count_ev, &c, &d) == 0);
	T_EQ_INT(c.patient, 1);
	memset(&c, 0, sizeof(c));
	f.patient = "SOMEONE-ELSE";
	T_ASSERT(svc_ledger_events(s, &auditor, &f, count_ev, &c, &d) == 0);
	T_EQ_INT(c.n, 0);
	svc_close(s);
	{
		static const char *const alerts[] = { "event 110113", "outcome 4", NULL };
		static const char *const by_research[] = { "event 110113", "researcher-3 research", NULL };
		static const char *const fsck_ev[] = { "event 110100", "admin-3 admin", NULL };
		static const char *const trail[] = { "event 110101", "auditor-3 auditor", NULL };

		T_EQ_INT(count_events(dir, alerts), 6);
		T_EQ_INT(count_events(dir, by_research), 3);
		T_EQ_INT(count_events(dir, fsck_ev), 1);
		T_EQ_INT(count_events(dir, trail), 2);
	}
}

/* ---- group commit of audit events: many threads' queries, each durable, every event in the log ---- */

struct qthread {
	struct svc *s;
	int ok;
};

static int
no_row(void *ctx, const struct vault_match *m)
{
	(void)ctx;
	(void)m;
	return 0;
}

static void *
query_many(void *arg)
{
	static const struct svc_principal dr = { "dr-group", SVC_CLINICIAN, "token", "127.0.0.9", NULL, NULL, "unit" };
	struct qthread *q = arg;

	for (int i = 0; i < 40; i++) {
		struct pv_diag d;
		struct query_key k;

		pv_diag_clear(&d);
		if (query_key_parse("PatientID=SYN0001", &k, &d) != 0)
			return NULL;
		if (svc_query(q->s, &dr, QUERY_STUDY, &k, 1, no_row, NULL, &d) == 0)
			q->ok++;
		query_key_free(&k);
	}
	return NULL;
}

void
test_svc_audit_group_commit(void)
{
	char dir[512], ledger[600];
	struct qthread q[8];
	pthread_t th[8];
	struct lg_log *l = NULL;
	struct pv_diag d;
	struct svc *s = new_service("groupcommit", "p1", 7, dir);
	uint64_t before = 0, entries = 0, cps = 0;
	int total = 0;

	if (s == NULL)
		return;
	snprintf(ledger, sizeof(ledger), "%s/ledger", dir);
	pv_diag_clear(&d);
	for (int i = 0; i < 8; i++) {
		q[i].s = s;
		q[i].ok = 0;
		T_ASSERT(pthread_create(&th[i], NULL, query_many, &q[i]) == 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		total += q[i].ok;
	}
	T_EQ_INT(total, 320);
	svc_close(s);   /* settles the journal */
	T_ASSERT(lg_log_verify(ledger, &entries, &cps, &d) == 0);
	T_ASSERT(lg_log_open(ledger, &l, &d) == 0);
	if (l != NULL) {
		before = lg_log_size(l);
		lg_log_close(l);
	}
	/* every query's event is there (with the vault's creation and the project's events) */
	T_ASSERT(before >= 320 && entries == before);
	/* each commit signed one checkpoint; how many events a commit grouped depends on timing */
	T_ASSERT(cps > 0 && cps <= before);
}
