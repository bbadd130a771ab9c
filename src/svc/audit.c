/* audit.c: the audit trail of vault operations (see audit.h). */
#include "pacsvault/svc/audit.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/ledger/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_WAIT_MS 30000

/*
 * The log held open between commits by one service (and every handle
 * derived from its base): each batch is one journal record and one
 * fdatasync (lg_log_hold), the key and the checkpoint copy are checked
 * once when it is opened. It is let go (settled, closed, the lock
 * released) when another process or handle waits for it (seen after each
 * commit, and by the reaper every 50 ms), after HOLD_IDLE_MS without a
 * commit, and when the base handle closes.
 */
#define HOLD_IDLE_MS 1000
struct gc_req;
struct audit_writer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_cond_t cv_done;     /* a group commit ended */
	struct gc_req *head, *tail; /* batches waiting for the next group commit */
	int leader;                 /* a thread is committing a group (the log is its alone meanwhile) */
	struct lg_log *l;
	char copy[PATH_MAX];        /* the copy the held log was checked against */
	int64_t last_ms;            /* monotonic time of the last commit */
	int reaper, stop;
	pthread_t th;
};

struct svc_audit {
	char *ledger_dir;
	struct audit_writer *w;     /* shared by derived handles; owned by the handle with owns_w */
	int owns_w;
	struct vault *v;
	int has_key;
	uint8_t key[PV_KEY_LEN];
	int has_seed;               /* the ledger's signing seed, unsealed from the vault */
	uint8_t seed[32];
	char user[64], process[96], host[256];
	struct svc_actor who;        /* the requestor of this handle's events */
	char who_buf[5][256];
	const struct svc_actor *(*item_actor)(void *cookie);
	char copy[PATH_MAX];        /* where each new checkpoint is appended (outside the vault), or "": under copy_mu */
};

/* Guards every handle's copy path: a service's base handle gets a new one while others derive from it. */
static pthread_mutex_t copy_mu = PTHREAD_MUTEX_INITIALIZER;

int
svc_audit_open(const char *vault_dir, struct vault *v, const char *command, struct svc_audit **out,
    struct pv_diag *d)
{
	struct svc_audit *a;
	struct passwd *pw;
	size_t n = strlen(vault_dir) + sizeof("/ledger");
	int rc;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL || (a->ledger_dir = malloc(n)) == NULL) {
		free(a);
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	}
	snprintf(a->ledger_dir, n, "%s/ledger", vault_dir);
	if ((a->w = calloc(1, sizeof(*a->w))) == NULL) {
		svc_audit_close(a);
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	}
	pthread_mutex_init(&a->w->mu, NULL);
	pthread_cond_init(&a->w->cv, NULL);
	pthread_cond_init(&a->w->cv_done, NULL);
	a->owns_w = 1;
	if (v != NULL) {
		if (vault_audit_key(v, a->key) != 0) {
			svc_audit_close(a);
			return pv_diag_set(d, PV_EINTEGRITY, -1, "the vault's audit key (ledger.key.pvo) does "
			    "not open");
		}
		a->has_key = 1;
		a->v = v;
		if (vault_setting_get(v, "checkpoint_copy", a->copy, sizeof(a->copy)) != 0)
			a->copy[0] = '\0';
		rc = vault_ledger_seed(v, a->seed, d);
		if (rc == 0)
			a->has_seed = 1;
		else if (rc != PV_ENOTFOUND) {
			svc_audit_close(a);
			return rc;
		}
	}
	if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(a->user, sizeof(a->user), "%s", pw->pw_name);
	else
		snprintf(a->user, sizeof(a->user), "uid %u", (unsigned)geteuid());
	snprintf(a->process, sizeof(a->process), "pacsvault %s", command);
	if (gethostname(a->host, sizeof(a->host) - 1) != 0)
		snprintf(a->host, sizeof(a->host), "localhost");
	a->who.user = a->user;
	a->who.role = "operator";
	a->who.process = a->process;
	a->who.addr = a->host;
	a->who.ae = NULL;
	*out = a;
	return 0;
}

void
svc_audit_close(struct svc_audit *a)
{
	if (a == NULL)
		return;
	if (a->owns_w && a->w != NULL) {
		struct audit_writer *w = a->w;
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		if (w->reaper)
			pthread_join(w->th, NULL);
		lg_log_close(w->l);   /* settles the journal */
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		pthread_cond_destroy(&w->cv_done);
		free(w);
	}
	pv_cleanse(a->key, sizeof(a->key));
	pv_cleanse(a->seed, sizeof(a->seed));
	free(a->ledger_dir);
	free(a);
}

int
svc_audit_keyed(const struct svc_audit *a, const char *label, const char *value, char out[33])
{
	static const char digits[] = "0123456789abcdef";
	struct pv_buf b;
	uint8_t h[PV_SHA256_LEN];
	int rc;

	if (!a->has_key)
		return PV_EINVAL;
	pv_buf_init(&b, 2 * VAULT_PID_MAX + 16);
	if ((rc = pv_buf_append(&b, label, strlen(label) + 1)) != 0 || (rc = pv_buf_puts(&b, value)) != 0 ||
	    (rc = pv_hmac_sha256(a->key, PV_KEY_LEN, b.data, b.len, h)) != 0) {
		pv_buf_free_scrub(&b);
		return rc;
	}
	pv_buf_free_scrub(&b);
	for (int i = 0; i < 16; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[32] = '\0';
	return 0;
}

int
svc_audit_pseudonym(const struct svc_audit *a, const char *patient_id, const char *issuer, char out[33])
{
	char v[2 * VAULT_PID_MAX + 2];

	/* A Patient ID is one patient only with its issuer: two hospitals' "12345" are two people.
	 * Without an issuer the pseudonym is that of the ID alone (as ledgers always had it). */
	if (issuer == NULL || issuer[0] == '\0')
		return svc_audit_keyed(a, "patient", patient_id, out);
	if ((size_t)snprintf(v, sizeof(v), "%s%c%s", patient_id, 1, issuer) >= sizeof(v))
		return PV_ELIMIT;
	return svc_audit_keyed(a, "patient", v, out);
}

/* The four objects of an event about one instance: patient, study, series, instance, all keyed hashes. */
static int
instance_objects(const struct svc_audit *a, struct lg_event *e, const char *patient_id, const char *issuer,
    const char *study, const char *series, const char *sop, const char *detail, char h[4][33])
{
	int rc;

	if ((rc = svc_audit_pseudonym(a, patient_id, issuer, h[0])) != 0 ||
	    (rc = svc_audit_keyed(a, "study", study, h[1])) != 0 ||
	    (rc = svc_audit_keyed(a, "series", series, h[2])) != 0 ||
	    (rc = svc_audit_keyed(a, "instance", sop, h[3])) != 0)
		return rc;
	e->o[0] = (struct lg_object){ "patient", h[0], NULL };
	e->o[1] = (struct lg_object){ "study", h[1], NULL };
	e->o[2] = (struct lg_object){ "series", h[2], NULL };
	e->o[3] = (struct lg_object){ "instance", h[3], detail };
	e->no = 4;
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
event_init_as(const struct svc_audit *a, struct lg_event *e, uint32_t code, char action, int outcome,
    const struct svc_actor *who)
{
	if (who == NULL)
		who = &a->who;
	memset(e, 0, sizeof(*e));
	e->code = code;
	e->action = action;
	e->outcome = outcome;
	e->time_ms = now_ms();
	e->np = 1;
	e->p[0].requestor = 1;
	e->p[0].user = who->user;
	e->p[0].role = who->role;
	e->p[0].process = who->process;
	e->p[0].ae = who->ae;
	e->p[0].addr = who->addr;
}

static void
event_init(const struct svc_audit *a, struct lg_event *e, uint32_t code, char action, int outcome)
{
	event_init_as(a, e, code, action, outcome, NULL);
}

int
svc_audit_open_as(const char *vault_dir, struct vault *v, const struct svc_actor *who, struct svc_audit **out,
    struct pv_diag *d)
{
	struct svc_audit *base = NULL;
	int rc;

	*out = NULL;
	if ((rc = svc_audit_open(vault_dir, v, who->process != NULL ? who->process : "svc", &base, d)) == 0 &&
	    (rc = svc_audit_derive(base, who, out, d)) == 0) {
		(*out)->owns_w = 1;   /* the derived handle outlives the base */
		base->owns_w = 0;
	}
	svc_audit_close(base);
	return rc;
}

int
svc_audit_derive(const struct svc_audit *base, const struct svc_actor *who, struct svc_audit **out,
    struct pv_diag *d)
{
	struct svc_audit *a;
	const char *f[5];

	*out = NULL;
	if ((a = malloc(sizeof(*a))) == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	pthread_mutex_lock(&copy_mu);
	*a = *base;   /* the keys as unsealed once by the base handle */
	pthread_mutex_unlock(&copy_mu);
	a->item_actor = NULL;
	a->owns_w = 0;
	if ((a->ledger_dir = strdup(base->ledger_dir)) == NULL) {
		pv_cleanse(a, sizeof(*a));
		free(a);
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	}
	f[0] = who->user;
	f[1] = who->role;
	f[2] = who->process;
	f[3] = who->addr;
	f[4] = who->ae;
	for (int i = 0; i < 5; i++)
		snprintf(a->who_buf[i], sizeof(a->who_buf[i]), "%s", f[i] != NULL ? f[i] : "");
	a->who.user = a->who_buf[0];
	a->who.role = a->who_buf[1];
	a->who.process = a->who_buf[2];
	a->who.addr = a->who_buf[3];
	a->who.ae = a->who_buf[4];
	*out = a;
	return 0;
}

void
svc_audit_set_copy(struct svc_audit *a, const char *path)
{
	pthread_mutex_lock(&copy_mu);
	snprintf(a->copy, sizeof(a->copy), "%s", path != NULL ? path : "");
	pthread_mutex_unlock(&copy_mu);
}

void
svc_audit_item_actors(struct svc_audit *a, const struct svc_actor *(*of)(void *cookie))
{
	a->item_actor = of;
}

#define COPY_TAIL 65536

/*
 * The log must extend the last checkpoint in the copy file (outside the
 * vault folder): a log cut back to an earlier checkpoint is consistent by
 * itself, and a writer that signed on top of it would hide the cut from
 * everyone who does not hold the copy.
 */
static int
check_copy(struct lg_log *l, const char *copy, struct pv_diag *d)
{
	uint8_t *buf;
	struct stat st;
	size_t n, start = 0, internal = SIZE_MAX;
	int fd, rc;

	if ((fd = open(copy, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? pv_diag_set(d, PV_EINTEGRITY, -1, "the checkpoint copy %s is missing (it is "
		    "made when it is set): not signing; restore it, or set one anew with 'pacsvault vault "
		    "checkpoint-copy FILE'", copy) : pv_diag_set(d, PV_EIO, -1, "the checkpoint copy %s cannot be "
		    "read: %s", copy, strerror(errno));
	if (fstat(fd, &st) != 0 || (buf = malloc(COPY_TAIL + 1)) == NULL) {
		close(fd);
		return PV_ENOMEM;
	}
	n = (uint64_t)st.st_size < COPY_TAIL ? (size_t)st.st_size : COPY_TAIL;
	if (pv_pread_all(fd, buf, n, (uint64_t)st.st_size - n) != 0) {
		close(fd);
		free(buf);
		return pv_diag_set(d, PV_EIO, -1, "the checkpoint copy %s cannot be read", copy);
	}
	close(fd);
	/* The last note: its text ends at its one blank line; the blank line before that ends the
	 * note before it (each note was appended with a newline after it). */
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	for (size_t i = n; i >= 2; i--) {
		if (buf[i - 1] == '\n' && buf[i - 2] == '\n') {
			if (internal == SIZE_MAX) {
				internal = i;
			} else {
				start = i;
				break;
			}
		}
	}
	rc = 0;
	if (n > 0 && internal != SIZE_MAX) {
		buf[n] = '\n';   /* the newline the strip took (or one past a tail without one) */
		rc = lg_log_check_extends(l, buf + start, n + 1 - start, d);
	}
	free(buf);
	return rc;
}

/*
 * The ledger's signing key for this writer. A vault made before the seed was
 * sealed keeps it in clear in ledger/key: sealed under the master key now,
 * then the clear copy removed (a checkpoint of everything so far signed on
 * the way). Then the seed is handed to the log, which refuses it when
 * someone without it added, rewrote or uncovered entries.
 */
static int
take_key(struct svc_audit *a, struct lg_log *l, const char *copy, struct pv_diag *d)
{
	int rc;

	if (a->v == NULL)
		return 0;  /* a sealed log then refuses appends (lg_log_append) */
	if (!lg_log_sealed(l)) {
		if (lg_log_seed(l, a->seed) != 0)
			return pv_diag_set(d, PV_EINTERNAL, -1, "the ledger's key did not read");
		if ((rc = vault_set_ledger_seed(a->v, a->seed, d)) != 0 || (rc = lg_log_forget_key(l, d)) != 0)
			return rc;
		a->has_seed = 1;
	}
	if (!a->has_seed && vault_ledger_seed(a->v, a->seed, NULL) == 0)
		a->has_seed = 1;   /* sealed since this handle's keys were read (another handle converted it) */
	if (!a->has_seed)
		return pv_diag_set(d, PV_EINTEGRITY, -1, "the ledger keeps no key file, and the vault no sealed "
		    "signing key (ledger.sign.pvo)");
	if ((rc = lg_log_set_seed(l, a->seed, d)) != 0)
		return rc;
	return copy[0] != '\0' ? check_copy(l, copy, d) : 0;
}

/*
 * Appends the log's newest checkpoint to the copy file named by the vault's
 * setting checkpoint_copy (outside the vault folder): whoever rewrites the
 * folder later cannot make its log disagree with what was copied without
 * `ledger verify --checkpoint` and `vault fsck` saying so.
 */
static int
copy_checkpoint(const char *copy, struct lg_log *l, struct pv_diag *d)
{
	struct pv_buf note;
	int fd, rc = 0;

	pv_buf_init(&note, 65536);
	if ((rc = lg_log_last_checkpoint(l, &note, d)) != 0 || note.len == 0) {
		pv_buf_free(&note);
		return rc;
	}
	fd = open(copy, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || pv_write_all(fd, note.data, note.len) != 0 || pv_write_all(fd, "\n", 1) != 0 || fsync(fd) != 0)
		rc = pv_diag_set(d, PV_EIO, -1, "the audit events are committed, but their checkpoint could not be "
		    "copied to %s: %s", copy, strerror(errno));
	if (fd >= 0)
		close(fd);
	pv_buf_free(&note);
	return rc;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Lets the held log go when nobody committed for HOLD_IDLE_MS or someone waits for it. */
static void *
reaper(void *arg)
{
	struct audit_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		if (w->l != NULL && !w->leader && (mono_ms() - w->last_ms >= HOLD_IDLE_MS || lg_log_contended(w->l))) {
			lg_log_close(w->l);
			w->l = NULL;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* One caller's events in a group commit. */
struct gc_req {
	struct svc_audit *a;
	const struct pv_buf *buf;
	const size_t *ends;
	size_t n;
	char copy[PATH_MAX];
	int done, rc;
	struct pv_diag d;
	struct gc_req *next;
};

/*
 * Commits the group g (every batch with one copy path) as the leader, the
 * writer's mutex not held: the log opened (and checked) when it is not held,
 * every batch appended, one commit (one journal record, one fdatasync), the
 * checkpoint copied. Returns the commit's status; d says why.
 */
static int
commit_group(struct audit_writer *w, struct gc_req *g, struct pv_diag *d)
{
	struct svc_audit *a = g->a;
	struct lg_log *l = w->l;
	int rc = 0;

	if (l != NULL && strcmp(w->copy, g->copy) != 0) {
		lg_log_close(l);   /* checked against another copy: opened and checked anew */
		l = w->l = NULL;
	}
	if (l == NULL) {
		if ((rc = lg_log_open_wait(a->ledger_dir, AUDIT_WAIT_MS, &l, d)) == 0 &&
		    (rc = take_key(a, l, g->copy, d)) != 0) {
			lg_log_close(l);
			l = NULL;
		}
		if (l != NULL)
			snprintf(w->copy, sizeof(w->copy), "%s", g->copy);
		/* The first batch after opening goes straight to the files (a one-shot command
		 * leaves a settled log, at the cost it always had); the next ones, while the log
		 * stays held, to the journal. */
		if (l != NULL)
			lg_log_hold(l, 0);
	} else {
		lg_log_hold(l, 1);
	}
	for (struct gc_req *r = g; r != NULL && rc == 0; r = r->next) {
		size_t start = 0;

		for (size_t i = 0; i < r->n && rc == 0; i++) {
			uint64_t idx;

			rc = lg_log_append(l, r->buf->data + start, r->ends[i] - start, &idx, d);
			start = r->ends[i];
		}
	}
	if (rc == 0)
		rc = lg_log_commit(l, d);
	if (rc == 0 && g->copy[0] != '\0' && lg_log_has_seed(l))
		rc = copy_checkpoint(g->copy, l, d);
	if (l != NULL && (rc != 0 || lg_log_contended(l))) {
		/* a failed group leaves no handle in doubt: closed (pending entries dropped), reopened next time */
		lg_log_close(l);
		l = NULL;
	}
	w->l = l;
	return rc;
}

/*
 * Appends the n encoded events of buf (entry boundaries in ends) and commits
 * them, durably, before it returns. Callers on several threads share group
 * commits: one of them (the leader) commits every batch queued meanwhile in
 * one go while the others wait, so N concurrent queries cost one fdatasync,
 * not N.
 */
static int
append_all(struct svc_audit *a, const struct pv_buf *buf, const size_t *ends, size_t n, struct pv_diag *d)
{
	struct audit_writer *w = a->w;
	struct gc_req me;

	if (n == 0)
		return 0;
	memset(&me, 0, sizeof(me));
	me.a = a;
	me.buf = buf;
	me.ends = ends;
	me.n = n;
	pv_diag_clear(&me.d);
	/* the copy as named now (svc_audit_set_copy may have changed it since this handle was made) */
	pthread_mutex_lock(&copy_mu);
	snprintf(me.copy, sizeof(me.copy), "%s", a->copy);
	pthread_mutex_unlock(&copy_mu);
	pthread_mutex_lock(&w->mu);
	if (w->tail != NULL)
		w->tail->next = &me;
	else
		w->head = &me;
	w->tail = &me;
	while (!me.done) {
		struct gc_req *g, *rest = NULL, **gp, **rp;
		struct pv_diag gd;
		int rc;

		if (w->leader) {
			pthread_cond_wait(&w->cv_done, &w->mu);
			continue;
		}
		/* leader: every queued batch with the first one's copy path, in order */
		w->leader = 1;
		g = NULL;
		gp = &g;
		rp = &rest;
		for (struct gc_req *r = w->head, *nx; r != NULL; r = nx) {
			nx = r->next;
			r->next = NULL;
			if (strcmp(r->copy, w->head->copy) == 0) {
				*gp = r;
				gp = &r->next;
			} else {
				*rp = r;
				rp = &r->next;
			}
		}
		w->head = rest;
		w->tail = NULL;
		for (struct gc_req *r = rest; r != NULL; r = r->next)
			w->tail = r;
		pthread_mutex_unlock(&w->mu);
		pv_diag_clear(&gd);
		rc = commit_group(w, g, &gd);
		pthread_mutex_lock(&w->mu);
		for (struct gc_req *r = g, *nx; r != NULL; r = nx) {
			nx = r->next;
			r->rc = rc;
			r->d = gd;
			r->done = 1;
		}
		w->last_ms = mono_ms();
		if (w->l != NULL && !w->reaper && !w->stop) {
			if (pthread_create(&w->th, NULL, reaper, w) == 0)
				w->reaper = 1;
			else {
				lg_log_close(w->l);
				w->l = NULL;
			}
		}
		w->leader = 0;
		pthread_cond_broadcast(&w->cv_done);
	}
	pthread_mutex_unlock(&w->mu);
	if (me.rc != 0 && d != NULL && d->code == 0)
		*d = me.d;   /* (an error already said stays first, as pv_diag_set keeps it) */
	return me.rc;
}

/* Encodes e into buf and records its end. */
static int
add_event(const struct lg_event *e, struct pv_buf *buf, size_t **ends, size_t *n, size_t *cap)
{
	int rc;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void *p = realloc(*ends, nc * sizeof(**ends));

		if (p == NULL)
			return PV_ENOMEM;
		*ends = p;
		*cap = nc;
	}
	if ((rc = lg_event_encode(e, buf)) != 0)
		return rc;
	(*ends)[(*n)++] = buf->len;
	return 0;
}

int
svc_audit_import_hook(void *ctx, const struct vault_batch_item *items, size_t n, struct pv_diag *d)
{
	struct svc_audit *a = ctx;
	struct pv_buf buf;
	size_t *ends = NULL, ne = 0, cap = 0;
	int rc = 0;

	pv_buf_init(&buf, (size_t)1 << 30);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct vault_batch_item *it = &items[i];
		struct lg_event e;
		char h[4][33];

		const struct svc_actor *who = a->item_actor != NULL && it->cookie != NULL ? a->item_actor(it->cookie) : NULL;

		if (it->status == VAULT_QUARANTINED) {
			event_init_as(a, &e, 110107, 'C', 4, who);
			e.o[0] = (struct lg_object){ "quarantine", it->objid, "not a readable instance" };
			e.no = 1;
		} else {
			event_init_as(a, &e, 110107, 'C', 0, who);
			if ((rc = instance_objects(a, &e, it->patient_id, it->issuer, it->study_uid, it->series_uid, it->sop_uid,
			    it->sop_class, h)) != 0)
				break;
		}
		rc = add_event(&e, &buf, &ends, &ne, &cap);
	}
	if (rc == 0)
		rc = append_all(a, &buf, ends, ne, d);
	pv_buf_free(&buf);
	free(ends);
	return rc;
}

int
svc_audit_instances(struct svc_audit *a, uint32_t code, char action, int outcome, const struct vault_instance *in,
    size_t n, const char *detail, struct pv_diag *d)
{
	struct pv_buf buf;
	size_t *ends = NULL, ne = 0, cap = 0;
	int rc = 0;

	pv_buf_init(&buf, (size_t)1 << 30);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct lg_event e;
		char h[4][33];

		event_init(a, &e, code, action, outcome);
		if ((rc = instance_objects(a, &e, in[i].patient_id, in[i].issuer, in[i].study_uid, in[i].series_uid, in[i].sop_uid,
		    detail, h)) != 0)
			break;
		rc = add_event(&e, &buf, &ends, &ne, &cap);
	}
	if (rc == 0)
		rc = append_all(a, &buf, ends, ne, d);
	else
		pv_diag_set(d, rc, -1, "cannot encode an audit event");
	pv_buf_free(&buf);
	free(ends);
	return rc;
}

int
svc_audit_event(struct svc_audit *a, uint32_t code, char action, int outcome, const char *patient_id,
    const char *issuer, const struct lg_object *objects, size_t nobjects, struct pv_diag *d)
{
	struct pv_buf buf;
	struct lg_event e;
	size_t end = 0;
	char pseud[33];
	int rc;

	event_init(a, &e, code, action, outcome);
	if (patient_id != NULL) {
		if ((rc = svc_audit_pseudonym(a, patient_id, issuer, pseud)) != 0)
			return pv_diag_set(d, rc, -1, "no audit key for a patient pseudonym");
		e.o[e.no++] = (struct lg_object){ "patient", pseud, NULL };
	}
	for (size_t i = 0; i < nobjects && e.no < LG_EVENT_MAX_OBJECTS && objects[i].id != NULL; i++)
		e.o[e.no++] = objects[i];
	pv_buf_init(&buf, (size_t)1 << 20);
	if ((rc = lg_event_encode(&e, &buf)) != 0) {
		pv_buf_free(&buf);
		return pv_diag_set(d, rc, -1, "cannot encode an audit event");
	}
	end = buf.len;
	rc = append_all(a, &buf, &end, 1, d);
	pv_buf_free(&buf);
	return rc;
}
