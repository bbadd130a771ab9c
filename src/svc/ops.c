/*
 * ops.c: the vault's administration through the service (svc.h, "Admin"):
 * fsck, key rotation, the quarantine and reading the audit trail. Each call
 * checks the principal's role (a refusal is a Security Alert in the trail)
 * and leaves its own event, as ingest, query and egress do.
 */
#include "pacsvault/svc/svc.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/ledger/event.h"
#include "pacsvault/ledger/log.h"
#include "pacsvault/store/query.h"
#include "pacsvault/svc/admin.h"
#include "pacsvault/svc/audit.h"
#include "svc_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
is_admin(const struct svc_principal *p)
{
	return p->role == SVC_OPERATOR || p->role == SVC_ADMIN;
}

int
svc_fsck(struct svc *s, const struct svc_principal *p, int repair, svc_fsck_fn fn, void *ctx,
    struct vault_fsck *r, struct pv_diag *d)
{
	struct lg_verify_result lr;
	struct pv_diag ld;
	char detail[160];
	int rc;

	memset(r, 0, sizeof(*r));
	if (!is_admin(p))
		return svc__refuse(s, p, "fsck", d);
	if ((rc = vault_fsck(s->v, repair, fn, ctx, r, d)) != 0)
		return rc;
	/* The audit trail is part of the vault: every hash and checkpoint recomputed, with the
	 * key the vault keeps sealed, against the checkpoints copied outside. */
	pv_diag_clear(&ld);
	if (svc_ledger_check(s->v, &lr, &ld) != 0)
		fn(ctx, "ledger", "-", &ld);
	snprintf(detail, sizeof(detail), "fsck%s: %llu instances, %llu damaged, %llu missing, %llu orphans",
	    repair ? " --repair" : "", (unsigned long long)r->instances, (unsigned long long)r->bad,
	    (unsigned long long)r->missing, (unsigned long long)r->orphans);
	return svc__audit_as(s, p, 110100, 'E', 0, "vault", "fsck", detail, d);
}

int
svc_set_checkpoint_copy(struct svc *s, const struct svc_principal *p, const char *path, struct pv_diag *d)
{
	int rc;

	if (!is_admin(p))
		return svc__refuse(s, p, "checkpoint copy", d);
	if ((rc = svc_vault_set_checkpoint_copy(s->v, path, d)) != 0)
		return rc;
	{
		char now[4096];

		/* the path as stored (made absolute) */
		if (vault_setting_get(s->v, "checkpoint_copy", now, sizeof(now)) != 0)
			now[0] = '\0';
		svc_audit_set_copy(s->hook, now);
	}
	return svc__audit_as(s, p, 110100, 'U', 0, "vault", "checkpoint-copy", path == NULL ? "cleared" : "set", d);
}

int
svc_rotate_key(const char *dir, const char *master_key_path, const char *new_key_path,
    const struct svc_principal *p, void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
    char newid[9], uint64_t *objects, struct pv_diag *d)
{
	struct svc *s = NULL;
	char detail[64];
	int rc;

	if (!is_admin(p))
		return pv_diag_set(d, PV_EAUTH, -1, "rotate-key: not allowed for the role %s", svc_role_name(p->role));
	if ((rc = vault_rotate_key(dir, master_key_path, new_key_path, progress, ctx, newid, objects, d)) != 0)
		return rc;
	/* Audited through the vault under its new key (the ledger signs with the sealed seed). */
	if ((rc = svc_open(dir, master_key_path != NULL && new_key_path != NULL ? new_key_path : master_key_path,
	    VAULT_READ, &s, d)) != 0)
		return rc;
	snprintf(detail, sizeof(detail), "master key rotated, %llu objects", (unsigned long long)*objects);
	rc = svc__audit_as(s, p, 110113, 'E', 0, "key", newid, detail, d);
	svc_close(s);
	return rc;
}

struct qcount {
	vault_quarantine_fn fn;
	void *ctx;
	size_t n;
	struct qid {
		char id[33];
	} *ids;                  /* purge all: the ids, kept */
	size_t cap;
	int err;
};

static int
qcount_one(void *ctx, const char *objid, uint64_t size, const char *reason, const char *path)
{
	struct qcount *q = ctx;

	if (q->fn == NULL) {
		if (q->n == q->cap) {
			size_t cap = q->cap ? 2 * q->cap : 64;
			void *np = realloc(q->ids, cap * sizeof(*q->ids));

			if (np == NULL)
				return q->err = PV_ENOMEM;
			q->ids = np;
			q->cap = cap;
		}
		snprintf(q->ids[q->n].id, sizeof(q->ids[q->n].id), "%s", objid);
	}
	q->n++;
	return q->fn != NULL ? q->fn(q->ctx, objid, size, reason, path) : 0;
}

int
svc_quarantine_list(struct svc *s, const struct svc_principal *p, vault_quarantine_fn fn, void *ctx, size_t *n,
    struct pv_diag *d)
{
	struct qcount q = { fn, ctx, 0, NULL, 0, 0 };
	char detail[64];
	int rc;

	*n = 0;
	if (!is_admin(p))
		return svc__refuse(s, p, "quarantine list", d);
	if ((rc = vault_quarantine_list(s->v, qcount_one, &q, d)) != 0)
		return rc;
	*n = q.n;
	snprintf(detail, sizeof(detail), "%zu quarantined files listed", q.n);
	return svc__audit_as(s, p, 110103, 'R', 0, "quarantine", "list", detail, d);
}

int
svc_quarantine_release(struct svc *s, const struct svc_principal *p, const char *objid, struct pv_atomic *af,
    struct pv_diag *d)
{
	int rc;

	if (!is_admin(p)) {
		pv_atomic_abort(af);
		return svc__refuse(s, p, "quarantine release", d);
	}
	if ((rc = vault_quarantine_get(s->v, objid, af->fd, d)) != 0) {
		pv_atomic_abort(af);
		return rc;
	}
	/* Durable outside before anything is shredded inside. */
	if ((rc = pv_atomic_commit(af, d)) != 0)
		return rc;
	if ((rc = svc__audit_as(s, p, 110106, 'R', 0, "quarantine", objid, "released to a file", d)) != 0 ||
	    (rc = vault_quarantine_remove(s->v, objid, d)) != 0)
		return rc;
	return svc__audit_as(s, p, 110103, 'D', 0, "quarantine", objid, "shredded after release", d);
}

int
svc_quarantine_purge(struct svc *s, const struct svc_principal *p, const char *const *ids, size_t nids,
    svc_purge_fn fn, void *ctx, size_t *done, struct pv_diag *d)
{
	struct qcount q = { NULL, NULL, 0, NULL, 0, 0 };
	int rc = 0, failed = 0;

	*done = 0;
	if (!is_admin(p))
		return svc__refuse(s, p, "quarantine purge", d);
	if (ids == NULL) {
		/* all of them */
		if ((rc = vault_quarantine_list(s->v, qcount_one, &q, d)) != 0 || q.err != 0) {
			free(q.ids);
			return rc != 0 ? rc : pv_diag_set(d, q.err, -1, "out of memory");
		}
		nids = q.n;
	}
	for (size_t i = 0; i < nids; i++) {
		const char *id = ids != NULL ? ids[i] : q.ids[i].id;
		struct pv_diag od;

		pv_diag_clear(&od);
		if ((rc = vault_quarantine_remove(s->v, id, &od)) != 0) {
			/* this one not (unknown, or cannot be shredded): said, the others go on */
			if (fn != NULL)
				fn(ctx, id, &od);
			failed = rc;
			continue;
		}
		if ((rc = svc__audit_as(s, p, 110103, 'D', 0, "quarantine", id, "purged", d)) != 0) {
			free(q.ids);
			return rc;
		}
		(*done)++;
	}
	free(q.ids);
	return failed != 0 ? pv_diag_set(d, failed, -1, "%zu of %zu not purged", nids - *done, nids) : 0;
}

/* ---- the audit trail ---- */

#define PSEUD_MAX 32

struct show {
	const struct svc_ledger_filter *f;
	char pseud[PSEUD_MAX][33];   /* patient: its pseudonym under each issuer */
	size_t npseud;
	char uid_h[3][33];           /* uid: its keyed hash as a study, a series and an instance UID */
	const struct svc_audit *a;
	const char *pid;
	int err;
};

/* The pseudonyms of a Patient ID under each issuer the vault holds it with (find, PATIENT level). */
static int
issuer_row(void *arg, const struct vault_match *m)
{
	struct show *c = arg;

	for (size_t i = 0; i < m->n; i++) {
		if (m->tag[i] != 0x00100021u || m->value[i] == NULL || m->value[i][0] == '\0')
			continue;
		if (c->npseud == PSEUD_MAX) {
			c->err = PV_ELIMIT;
			return 0;
		}
		if (svc_audit_pseudonym(c->a, c->pid, m->value[i], c->pseud[c->npseud]) != 0)
			c->err = PV_EINTERNAL;
		else
			c->npseud++;
	}
	return 0;
}

static int
patient_pseudonyms(struct vault *v, struct show *c, struct pv_diag *d)
{
	struct query_key k[2];
	char arg[VAULT_PID_MAX + 16];
	int rc;

	c->pid = c->f->patient;
	if (c->f->issuer != NULL)
		return svc_audit_pseudonym(c->a, c->pid, c->f->issuer, c->pseud[c->npseud++]);
	if ((rc = svc_audit_pseudonym(c->a, c->pid, NULL, c->pseud[c->npseud++])) != 0)
		return rc;
	memset(k, 0, sizeof(k));
	if ((size_t)snprintf(arg, sizeof(arg), "PatientID=%s", c->pid) >= sizeof(arg))
		return pv_diag_set(d, PV_EINVAL, -1, "Patient ID too long");
	if ((rc = query_key_parse(arg, &k[0], d)) != 0)
		return rc;
	if ((rc = query_key_parse("IssuerOfPatientID", &k[1], d)) == 0)
		rc = vault_find(v, QUERY_PATIENT, k, 2, issuer_row, c, d);
	query_key_free(&k[0]);
	query_key_free(&k[1]);
	return rc != 0 ? rc : c->err != 0 ? pv_diag_set(d, c->err, -1, "too many issuers for one Patient ID") : 0;
}

static int
show_match(const struct show *c, const struct lg_event *e)
{
	const struct svc_ledger_filter *f = c->f;

	if (f->since >= 0 && e->time_ms < f->since)
		return 0;
	if (f->until >= 0 && e->time_ms >= f->until)
		return 0;
	if (f->code != 0 && e->code != f->code)
		return 0;
	if (f->user != NULL) {
		int ok = 0;

		for (size_t i = 0; i < e->np; i++)
			ok |= e->p[i].requestor && e->p[i].user != NULL && strcmp(e->p[i].user, f->user) == 0;
		if (!ok)
			return 0;
	}
	if (f->patient != NULL) {
		int ok = 0;

		for (size_t i = 0; i < e->no; i++)
			for (size_t k = 0; k < c->npseud; k++)
				ok |= strcmp(e->o[i].type, "patient") == 0 && strcmp(e->o[i].id, c->pseud[k]) == 0;
		if (!ok)
			return 0;
	}
	if (f->uid != NULL) {
		static const char *const types[3] = { "study", "series", "instance" };
		int ok = 0;

		for (size_t i = 0; i < e->no; i++)
			for (int k = 0; k < 3; k++)
				ok |= strcmp(e->o[i].type, types[k]) == 0 && strcmp(e->o[i].id, c->uid_h[k]) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

static int
filtered(const struct svc_ledger_filter *f)
{
	return f->patient != NULL || f->uid != NULL || f->user != NULL || f->since >= 0 || f->until >= 0 ||
	    f->code != 0;
}

/* Every entry of the ledger in dir that c's filter keeps, to fn. */
static int
walk(const char *dir, struct show *c, svc_event_fn fn, void *ctx, uint64_t *shown, struct pv_diag *d)
{
	struct lg_log *l = NULL;
	struct pv_buf entry;
	char *scratch = NULL;
	uint64_t size;
	int rc;

	*shown = 0;
	pv_buf_init(&entry, LG_ENTRY_MAX + 16);
	if ((scratch = malloc(LG_EVENT_SCRATCH(LG_ENTRY_MAX))) == NULL) {
		rc = pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		goto done;
	}
	if ((rc = lg_log_open_wait(dir, 30000, &l, d)) != 0)
		goto done;
	size = lg_log_size(l);
	for (uint64_t i = 0; i < size; i++) {
		struct lg_event e;
		struct pv_diag ed;

		pv_buf_reset(&entry);
		if ((rc = lg_log_entry(l, i, &entry, d)) != 0)
			goto done;
		pv_diag_clear(&ed);
		if (lg_event_parse((const uint8_t *)entry.data, entry.len, &e, scratch, &ed) != 0) {
			/* not an audit event: shown as such when nothing is filtered */
			if (!filtered(c->f) && (rc = fn(ctx, i, NULL, entry.len)) != 0)
				goto done;
			continue;
		}
		if (!show_match(c, &e))
			continue;
		(*shown)++;
		if ((rc = fn(ctx, i, &e, entry.len)) != 0)
			goto done;
	}
done:
	lg_log_close(l);
	free(scratch);
	pv_buf_free(&entry);
	return rc;
}

int
svc_ledger_events(struct svc *s, const struct svc_principal *p, const struct svc_ledger_filter *f,
    svc_event_fn fn, void *ctx, struct pv_diag *d)
{
	struct show c;
	struct svc_audit *a = NULL;
	struct svc_actor who;
	char process[64], dir[PATH_MAX], detail[96];
	struct lg_object ob = { "ledger", "show", detail };
	uint64_t shown = 0;
	int rc;

	if (p->role != SVC_OPERATOR && p->role != SVC_ADMIN && p->role != SVC_AUDITOR)
		return svc__refuse(s, p, "audit trail", d);
	if (f->issuer != NULL && f->patient == NULL)
		return pv_diag_set(d, PV_EINVAL, -1, "an issuer goes with a Patient ID");
	memset(&c, 0, sizeof(c));
	c.f = f;
	svc__actor_of(p, &who, process, sizeof(process));
	if ((rc = svc_audit_derive(s->hook, &who, &a, d)) != 0)
		return rc;
	c.a = a;
	if (f->patient != NULL && (rc = patient_pseudonyms(s->v, &c, d)) != 0)
		goto done;
	if (f->uid != NULL && (svc_audit_keyed(a, "study", f->uid, c.uid_h[0]) != 0 ||
	    svc_audit_keyed(a, "series", f->uid, c.uid_h[1]) != 0 ||
	    svc_audit_keyed(a, "instance", f->uid, c.uid_h[2]) != 0)) {
		rc = pv_diag_set(d, PV_EINTERNAL, -1, "cannot compute the keyed hash of the UID");
		goto done;
	}
	snprintf(dir, sizeof(dir), "%s/ledger", s->dir);
	if ((rc = walk(dir, &c, fn, ctx, &shown, d)) != 0)
		goto done;
	/* Reading the trail is itself in it (Audit Log Used), naming the patient asked about by pseudonym. */
	snprintf(detail, sizeof(detail), "%llu events shown%s", (unsigned long long)shown,
	    f->patient != NULL ? " for a patient" : "");
	rc = svc_audit_event(a, 110101, 'R', 0, f->patient, f->issuer, &ob, 1, d);
done:
	svc_audit_close(a);
	pv_cleanse(&c, sizeof(c));
	return rc;
}

int
svc_ledger_events_dir(const char *dir, const struct svc_ledger_filter *f, svc_event_fn fn, void *ctx,
    struct pv_diag *d)
{
	struct show c;
	uint64_t shown;

	if (f->patient != NULL || f->uid != NULL)
		return pv_diag_set(d, PV_EINVAL, -1, "a patient or UID filter needs the vault (its audit key makes the "
		    "keyed hash)");
	memset(&c, 0, sizeof(c));
	c.f = f;
	return walk(dir, &c, fn, ctx, &shown, d);
}
