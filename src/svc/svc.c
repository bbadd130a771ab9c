/* svc.c: the service layer (see svc.h). */
#include "pacsvault/svc/svc.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/deid/pipeline.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/dict.h"
#include "pacsvault/dicom/reader.h"
#include "pacsvault/dicom/writer.h"
#include "pacsvault/store/index.h"
#include "pacsvault/svc/audit.h"
#include "svc_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* pseudonym UID -> original UID, per project: what the project was shown resolves back. */
struct umap {
	char **key, **val;
	size_t n, cap;
};

struct proj {
	struct svc_project p;
	char *name;
	struct umap uids;
};


struct ingest_req {
	struct svc_actor who;
	char process[64];
	char name[128], addr[256], ae[20];   /* the principal's strings, kept until the commit */
	void *cookie;                        /* the caller's */
	struct ingest_req *prev, *next;      /* outstanding: freed on ack, or at svc_close for a batch that failed */
};

const char *
svc_role_name(int role)
{
	switch (role) {
	case SVC_OPERATOR: return "operator";
	case SVC_MODALITY: return "modality";
	case SVC_CLINICIAN: return "clinician";
	case SVC_RESEARCH: return "research";
	case SVC_AUDITOR: return "auditor";
	case SVC_ADMIN: return "admin";
	}
	return "unknown";
}

/* ---- the UID map ---- */

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static const char *
umap_get(const struct umap *m, const char *k)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = hash_str(k) & (m->cap - 1); m->key[i] != NULL; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->key[i], k) == 0)
			return m->val[i];
	return NULL;
}

static int
umap_put(struct umap *m, const char *k, const char *v)
{
	size_t i;

	if (umap_get(m, k) != NULL)
		return 0;
	if (2 * (m->n + 1) > m->cap) {
		struct umap g = { NULL, NULL, 0, m->cap ? 2 * m->cap : 1024 };

		if ((g.key = calloc(g.cap, sizeof(char *))) == NULL || (g.val = calloc(g.cap, sizeof(char *))) == NULL) {
			free(g.key);
			return PV_ENOMEM;
		}
		for (size_t j = 0; j < m->cap; j++)
			if (m->key[j] != NULL) {
				for (i = hash_str(m->key[j]) & (g.cap - 1); g.key[i] != NULL; i = (i + 1) & (g.cap - 1))
					;
				g.key[i] = m->key[j];
				g.val[i] = m->val[j];
			}
		g.n = m->n;
		free(m->key);
		free(m->val);
		*m = g;
	}
	for (i = hash_str(k) & (m->cap - 1); m->key[i] != NULL; i = (i + 1) & (m->cap - 1))
		;
	if ((m->key[i] = pv_strdup(k)) == NULL || (m->val[i] = pv_strdup(v)) == NULL) {
		free(m->key[i]);
		m->key[i] = NULL;
		return PV_ENOMEM;
	}
	m->n++;
	return 0;
}

static void
umap_free(struct umap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->key[i]);
		free(m->val[i]);
	}
	free(m->key);
	free(m->val);
}

/* ---- open, close, projects ---- */

static const struct svc_actor *
item_actor(void *cookie)
{
	return &((struct ingest_req *)cookie)->who;
}

static void
req_unlink_free(struct svc *s, struct ingest_req *req)
{
	pthread_mutex_lock(&s->rmu);
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		s->reqs = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	pthread_mutex_unlock(&s->rmu);
	free(req);
}

/* The vault's acknowledgement of a committed file: the caller's, then the request goes. */
static void
vault_ack(void *ctx, void *cookie, int status)
{
	struct svc *s = ctx;
	struct ingest_req *req = cookie;

	if (s->ack != NULL && req->cookie != NULL)
		s->ack(s->ack_ctx, req->cookie, status);
	req_unlink_free(s, req);
}

int
svc_open(const char *dir, const char *master_key_path, int mode, struct svc **out, struct pv_diag *d)
{
	struct svc *s;
	int rc;

	*out = NULL;
	if ((s = pv_calloc(1, sizeof(*s))) == NULL || (s->dir = pv_strdup(dir)) == NULL) {
		free(s);
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->rmu, NULL);
	if ((rc = vault_open(dir, master_key_path, mode, &s->v, d)) != 0) {
		svc_close(s);
		return rc;
	}
	if ((rc = svc_audit_open(dir, s->v, "svc", &s->hook, d)) != 0) {
		svc_close(s);
		return rc;
	}
	if (mode == VAULT_WRITE) {
		svc_audit_item_actors(s->hook, item_actor);
		vault_set_commit_hook(s->v, svc_audit_import_hook, s->hook);
		vault_import_batching(s->v, 128, vault_ack, s);
	}
	*out = s;
	return 0;
}

void
svc_close(struct svc *s)
{
	if (s == NULL)
		return;
	vault_close(s->v);  /* stops the committer before its audit handle goes */
	svc_audit_close(s->hook);
	while (s->reqs != NULL) {   /* files of a batch that never committed: never acknowledged */
		struct ingest_req *r = s->reqs;

		s->reqs = r->next;
		free(r);
	}
	pthread_mutex_destroy(&s->rmu);
	for (size_t i = 0; i < s->nproj; i++) {
		pv_cleanse(&s->proj[i].p.cfg, sizeof(s->proj[i].p.cfg));
		free(s->proj[i].name);
		umap_free(&s->proj[i].uids);
	}
	free(s->proj);
	pthread_mutex_destroy(&s->mu);
	free(s->dir);
	free(s);
}

void
svc_load_index(void)
{
	store_index_load();
}

struct vault *
svc_vault(struct svc *s)
{
	return s->v;
}

int
svc_committed(struct svc *s, const struct svc_principal *p, const char *sop_class, const char *sop_uid,
    struct pv_diag *d)
{
	struct vault_instance *in = NULL;
	size_t n = 0;
	int level = 0, rc;

	if (p->role != SVC_MODALITY && p->role != SVC_CLINICIAN && p->role != SVC_OPERATOR)
		return svc__refuse(s, p, "storage commitment", d);
	(void)sop_class;
	rc = vault_resolve(s->v, sop_uid, &in, &n, &level, d);
	if (in != NULL)
		pv_cleanse(in, n * sizeof(*in));
	free(in);
	if (rc == PV_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	return level == QUERY_IMAGE && n == 1 ? 1 : 0;
}

int
svc_setting(struct svc *s, const char *key, char *out, size_t n)
{
	return vault_setting_get(s->v, key, out, n);
}

int
svc_master_inside(struct svc *s)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/master.key", s->dir);
	return access(p, F_OK) == 0;
}

int
svc_settled(struct svc *s, uint64_t *placed, uint64_t *shredded)
{
	return vault_settled(s->v, placed, shredded);
}

int
svc_project_add(struct svc *s, const struct svc_project *p, struct pv_diag *d)
{
	struct proj *np;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nproj; i++)
		if (strcmp(s->proj[i].name, p->name) == 0)
			rc = pv_diag_set(d, PV_EEXIST, -1, "project %s exists", p->name);
	if (rc == 0 && (np = realloc(s->proj, (s->nproj + 1) * sizeof(*np))) == NULL)
		rc = pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	if (rc == 0) {
		s->proj = np;
		memset(&s->proj[s->nproj], 0, sizeof(s->proj[s->nproj]));
		s->proj[s->nproj].p = *p;
		if ((s->proj[s->nproj].name = pv_strdup(p->name)) == NULL) {
			rc = pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		} else {
			s->proj[s->nproj].p.name = s->proj[s->nproj].name;
			s->nproj++;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The principal's project (research); NULL when it names none the service has. Under s->mu. */
static struct proj *
project_of(struct svc *s, const struct svc_principal *p)
{
	if (p->project == NULL)
		return NULL;
	for (size_t i = 0; i < s->nproj; i++)
		if (strcmp(s->proj[i].name, p->project) == 0)
			return &s->proj[i];
	return NULL;
}

/* ---- audit ---- */

void
svc__actor_of(const struct svc_principal *p, struct svc_actor *a, char *process, size_t n)
{
	if (p->via != NULL)
		snprintf(process, n, "%s", p->via);
	else
		snprintf(process, n, "pacsvault/%s", p->auth != NULL ? p->auth : "unknown");
	a->user = p->name;
	a->role = svc_role_name(p->role);
	a->process = process;
	a->addr = p->addr;
	a->ae = p->ae;
}

/* One event as p: code, action, outcome, one object. */
int
svc__audit_as(struct svc *s, const struct svc_principal *p, uint32_t code, char action, int outcome, const char *type,
    const char *id, const char *detail, struct pv_diag *d)
{
	struct svc_actor who;
	struct svc_audit *a = NULL;
	struct lg_object o = { type, id, detail };
	char process[64];
	int rc;

	svc__actor_of(p, &who, process, sizeof(process));
	if ((rc = svc_audit_derive(s->hook, &who, &a, d)) == 0)
		rc = svc_audit_event(a, code, action, outcome, NULL, NULL, &o, 1, d);
	svc_audit_close(a);
	return rc;
}

/* A refusal: a Security Alert naming the principal and what it asked; then PV_EAUTH. */
int
svc__refuse(struct svc *s, const struct svc_principal *p, const char *what, struct pv_diag *d)
{
	char detail[160];
	struct pv_diag ad;

	snprintf(detail, sizeof(detail), "refused: %s for role %s", what, svc_role_name(p->role));
	pv_diag_clear(&ad);
	if (svc__audit_as(s, p, 110113, 'E', 4, "request", what, detail, &ad) != 0) {
		*d = ad;
		return d->code != 0 ? d->code : PV_EIO;
	}
	return pv_diag_set(d, PV_EAUTH, -1, "%s: not allowed for the role %s", what, svc_role_name(p->role));
}

/* ---- ingest ---- */

void
svc_ingest_batching(struct svc *s, size_t files, svc_ack_fn ack, void *ctx)
{
	s->ack = ack;
	s->ack_ctx = ctx;
	vault_import_batching(s->v, files, vault_ack, s);
}

/* A request naming p, for the Import event its batch writes. */
static struct ingest_req *
request_of(struct svc *s, const struct svc_principal *p, void *cookie)
{
	struct ingest_req *req = pv_calloc(1, sizeof(*req));

	if (req == NULL)
		return NULL;
	svc__actor_of(p, &req->who, req->process, sizeof(req->process));
	snprintf(req->name, sizeof(req->name), "%s", p->name != NULL ? p->name : "");
	snprintf(req->addr, sizeof(req->addr), "%s", p->addr != NULL ? p->addr : "");
	snprintf(req->ae, sizeof(req->ae), "%s", p->ae != NULL ? p->ae : "");
	req->who.user = req->name;
	req->who.addr = req->addr;
	req->who.ae = p->ae != NULL ? req->ae : NULL;
	req->who.process = req->process;
	req->cookie = cookie;
	pthread_mutex_lock(&s->rmu);
	req->next = s->reqs;
	if (s->reqs != NULL)
		s->reqs->prev = req;
	s->reqs = req;
	pthread_mutex_unlock(&s->rmu);
	return req;
}

/* After vault_import_*: a file that will not be acknowledged frees its request now. */
static void
request_done(struct svc *s, struct ingest_req *req, int status)
{
	if (status != VAULT_STORED && status != VAULT_QUARANTINED)
		req_unlink_free(s, req);
}

static int
store_allowed(const struct svc_principal *p)
{
	return p->role == SVC_OPERATOR || p->role == SVC_MODALITY || p->role == SVC_CLINICIAN;
}

/* One file (path) or descriptor (fd, with label) into the vault's batches, as p. */
static int
ingest_one(struct svc *s, const struct svc_principal *p, const char *path, int fd, const char *label, void *cookie,
    int *status, char *reason, size_t rn, uint64_t *bytes)
{
	struct ingest_req *req;
	struct pv_diag d;
	int rc;

	*status = VAULT_FAILED;
	*bytes = 0;
	pv_diag_clear(&d);
	if (!store_allowed(p)) {
		rc = svc__refuse(s, p, "store", &d);
		pv_diag_format(&d, NULL, reason, rn);
		return rc;
	}
	if ((req = request_of(s, p, cookie)) == NULL) {
		snprintf(reason, rn, "out of memory");
		return PV_ENOMEM;
	}
	rc = path != NULL ? vault_import_file(s->v, path, req, status, reason, rn, bytes) :
	    vault_import_fd(s->v, fd, label, req, status, reason, rn, bytes);
	request_done(s, req, *status);
	return rc;
}

int
svc_ingest_file(struct svc *s, const struct svc_principal *p, const char *path, void *cookie, int *status,
    char *reason, size_t rn, uint64_t *bytes)
{
	return ingest_one(s, p, path, -1, NULL, cookie, status, reason, rn, bytes);
}

int
svc_ingest_fd(struct svc *s, const struct svc_principal *p, int fd, const char *label, void *cookie, int *status,
    char *reason, size_t rn, uint64_t *bytes)
{
	return ingest_one(s, p, NULL, fd, label, cookie, status, reason, rn, bytes);
}

int
svc_ingest_flush(struct svc *s, struct pv_diag *d)
{
	return vault_import_flush(s->v, d);
}

int
svc_ingest_mem(struct svc *s, const struct svc_principal *p, const void *data, size_t n, const char *label,
    int *status, char *reason, size_t rn, struct pv_diag *d)
{
	struct ingest_req *req;
	uint64_t bytes;
	int rc;

	*status = VAULT_FAILED;
	reason[0] = '\0';
	if (!store_allowed(p))
		return svc__refuse(s, p, "store", d);
	if ((req = request_of(s, p, NULL)) == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	/* A network store: its thread waits for this one acknowledgement, others alongside. */
	vault_import_sync_each(s->v, 1);
	rc = vault_import_mem(s->v, data, n, label, req, status, reason, rn, &bytes);
	request_done(s, req, *status);
	/* Acknowledged only once durable, with its Import event naming p. */
	if (rc == 0 && (*status == VAULT_STORED || *status == VAULT_QUARANTINED))
		rc = vault_import_flush(s->v, d);
	else if (rc != 0)
		pv_diag_set(d, rc, -1, "%s", reason);
	return rc;
}

/* ---- query ---- */

/* Keys a research principal may match on: they name no one. */
static int
research_key_ok(uint32_t tag)
{
	switch (tag) {
	case 0x00080060u: /* Modality */
	case 0x00080061u: /* ModalitiesInStudy */
	case 0x00080016u: /* SOPClassUID */
	case 0x00180015u: /* BodyPartExamined */
	case 0x00200011u: /* SeriesNumber */
	case 0x00200013u: /* InstanceNumber */
		return 1;
	}
	return 0;
}

static int
is_uid_tag(uint32_t tag)
{
	return tag == 0x0020000du || tag == 0x0020000eu || tag == 0x00080018u;
}

struct qctx {
	struct svc *s;
	struct proj *pj;       /* research: the project; NULL: identified rows */
	vault_match_fn fn;
	void *ctx;
	struct pv_diag *d;
};

/* One row de-identified by the project: the row's values in a small data set through deid_apply. */
static int
research_row(void *arg, const struct vault_match *m)
{
	struct qctx *c = arg;
	struct dcm_file *f = NULL;
	struct vault_match out;
	char (*val)[256] = NULL;
	int rc;

	if ((val = calloc(48, sizeof(*val))) == NULL || dcm_file_new(&f) != 0) {
		free(val);
		return pv_diag_set(c->d, PV_ENOMEM, -1, "out of memory");
	}
	rc = dcm_ds_set_str(f, &f->ds, 0x00080005u, DCM_VR_CS, "ISO_IR 192");
	for (size_t i = 0; i < m->n && rc == 0; i++) {
		const struct dcm_dict_entry *e = dcm_dict_lookup(m->tag[i]);

		if (m->value[i] != NULL && e != NULL)
			rc = dcm_ds_set_str(f, &f->ds, m->tag[i], (enum dcm_vr)e->vr, m->value[i]);
	}
	if (rc == 0)
		rc = deid_apply(f, &c->pj->p.cfg, NULL, NULL, c->d);
	memset(&out, 0, sizeof(out));
	out.level = m->level;
	out.size = m->size;
	for (size_t i = 0; i < m->n && rc == 0; i++) {
		out.tag[out.n] = m->tag[i];
		if (m->value[i] != NULL && dcm_ds_get_str(f, &f->ds, m->tag[i], val[i], sizeof(val[i])) == 0) {
			out.value[out.n] = val[i];
			if (is_uid_tag(m->tag[i])) {
				pthread_mutex_lock(&c->s->mu);
				rc = umap_put(&c->pj->uids, val[i], m->value[i]);
				pthread_mutex_unlock(&c->s->mu);
			}
		}
		out.n++;
	}
	dcm_file_free(f);
	if (rc == 0)
		rc = c->fn(c->ctx, &out);
	else
		rc = pv_diag_set(c->d, rc, -1, "a row could not be de-identified");
	pv_cleanse(val, 48 * sizeof(*val));
	free(val);
	return rc;
}

int
svc_query(struct svc *s, const struct svc_principal *p, int level, const struct query_key *keys, size_t nkeys,
    vault_match_fn fn, void *ctx, struct pv_diag *d)
{
	struct qctx c = { s, NULL, fn, ctx, d };
	struct query_key *k2 = NULL;
	struct pv_buf detail;
	const char *pid = NULL, *issuer = NULL;
	int rc = 0;

	if (p->role != SVC_OPERATOR && p->role != SVC_CLINICIAN && p->role != SVC_RESEARCH)
		return svc__refuse(s, p, "query", d);
	if (p->role == SVC_RESEARCH) {
		pthread_mutex_lock(&s->mu);
		c.pj = project_of(s, p);
		pthread_mutex_unlock(&s->mu);
		if (c.pj == NULL)
			return svc__refuse(s, p, "query without a project", d);
		if (nkeys > 0 && (k2 = pv_calloc(nkeys, sizeof(*k2))) == NULL)
			return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		for (size_t i = 0; i < nkeys && rc == 0; i++) {
			k2[i] = keys[i];
			if (keys[i].kind == QK_UNIVERSAL || research_key_ok(keys[i].attr->tag))
				continue;
			if (is_uid_tag(keys[i].attr->tag) && keys[i].kind == QK_SINGLE) {
				/* a pseudonym the project was shown: matched as the UID it stands for */
				pthread_mutex_lock(&s->mu);
				k2[i].value = (char *)umap_get(&c.pj->uids, keys[i].value);
				pthread_mutex_unlock(&s->mu);
				if (k2[i].value != NULL)
					continue;
				k2[i].value = (char *)"0.0";  /* a pseudonym it was not shown matches nothing */
				continue;
			}
			rc = -1;
		}
		if (rc != 0) {
			free(k2);
			return svc__refuse(s, p, "query on a key that names a person (research)", d);
		}
		keys = k2;
	}
	/* The Query event first: the level and the keywords, never the values; the patient's
	 * pseudonym when the query names one Patient ID (with its issuer when it names one). */
	pv_buf_init(&detail, 4096);
	rc = pv_buf_puts(&detail, "keys=");
	for (size_t i = 0; i < nkeys && rc == 0; i++) {
		rc = pv_buf_printf(&detail, "%s%s", i ? "," : "", keys[i].attr->keyword);
		if (keys[i].attr->tag == 0x00100020u && keys[i].kind == QK_SINGLE)
			pid = keys[i].value;
		if (keys[i].attr->tag == 0x00100021u && keys[i].kind == QK_SINGLE)
			issuer = keys[i].value;
	}
	if (rc == 0) {
		struct svc_actor who;
		struct svc_audit *a = NULL;
		struct lg_object o = { "query", query_level_name(level), detail.data };
		char process[64];

		svc__actor_of(p, &who, process, sizeof(process));
		if ((rc = svc_audit_derive(s->hook, &who, &a, d)) == 0)
			rc = svc_audit_event(a, 110112, 'E', 0, pid, issuer, &o, 1, d);
		svc_audit_close(a);
	}
	pv_buf_free(&detail);
	if (rc == 0)
		rc = vault_find(s->v, level, keys, nkeys, c.pj != NULL ? research_row : fn, c.pj != NULL ? (void *)&c : ctx, d);
	free(k2);
	return rc;
}

/* ---- egress ---- */

/* f written to memory (an anonymous memory file) into out. */
static int
write_mem(struct dcm_file *f, struct pv_buf *out, struct pv_diag *d)
{
	struct stat st;
	int fd = memfd_create("pacsvault-egress", MFD_CLOEXEC), rc;

	if (fd < 0)
		return pv_diag_set(d, PV_EIO, -1, "cannot make an anonymous memory file: %s", strerror(errno));
	if ((rc = dcm_write_fd(f, NULL, fd, d)) == 0) {
		if (fstat(fd, &st) != 0 || pv_buf_fill(out, 0, (size_t)st.st_size) != 0 ||
		    pv_pread_all(fd, out->data, (size_t)st.st_size, 0) != 0)
			rc = pv_diag_set(d, PV_EIO, -1, "cannot read the de-identified copy back");
	}
	if (ftruncate(fd, 0) != 0) {
		/* closing frees it */
	}
	close(fd);
	return rc;
}

struct svc_egress {
	struct svc *s;
	struct proj *pj;             /* research: its project; NULL: identified */
	struct vault_instance *in;
	size_t *uid_of;              /* which of the UIDs asked for each instance came from */
	size_t n;
	struct svc_audit *a;         /* the principal's: a held instance's event */
	pthread_mutex_t amu;
};

int
svc_egress_open_many(struct svc *s, const struct svc_principal *p, const char *const *uids, size_t nuids,
    const char *detail, struct svc_egress **out, size_t *n, int *level, struct pv_diag *d)
{
	struct svc_egress *e;
	struct svc_actor who;
	char process[64], orig[72], what[128];
	int rc;

	*out = NULL;
	*n = 0;
	if (p->role != SVC_OPERATOR && p->role != SVC_CLINICIAN && p->role != SVC_RESEARCH)
		return svc__refuse(s, p, "retrieve", d);
	if (nuids == 0)
		return pv_diag_set(d, PV_EINVAL, -1, "no UID to retrieve");
	if ((e = pv_calloc(1, sizeof(*e))) == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	e->s = s;
	pthread_mutex_init(&e->amu, NULL);
	if (p->role == SVC_RESEARCH) {
		pthread_mutex_lock(&s->mu);
		e->pj = project_of(s, p);
		pthread_mutex_unlock(&s->mu);
		if (e->pj == NULL) {
			svc_egress_close(e);
			return svc__refuse(s, p, "retrieve without a project", d);
		}
	}
	/* Every UID resolved before any event: one unknown, nothing taken. */
	for (size_t u = 0; u < nuids; u++) {
		struct vault_instance *in = NULL;
		size_t m = 0;
		void *q;

		snprintf(orig, sizeof(orig), "%s", uids[u]);
		if (e->pj != NULL) {
			const char *o;

			pthread_mutex_lock(&s->mu);
			o = umap_get(&e->pj->uids, uids[u]);
			if (o != NULL)
				snprintf(orig, sizeof(orig), "%s", o);
			pthread_mutex_unlock(&s->mu);
			if (o == NULL) {
				/* an original UID, or a pseudonym of another project: nothing (and nothing said of it) */
				rc = pv_diag_set(d, PV_ENOTFOUND, -1, "no such UID for project %s", e->pj->name);
				svc_egress_close(e);
				return rc;
			}
		}
		if ((rc = vault_resolve(s->v, orig, &in, &m, level, d)) != 0) {
			if (nuids > 1 && rc == PV_ENOTFOUND) {
				/* which one, in the caller's own words */
				char msg[sizeof(d->msg)];

				snprintf(msg, sizeof(msg), "%s", d->msg);
				pv_diag_clear(d);
				pv_diag_set(d, rc, -1, "%s: %s", uids[u], msg);
			}
			svc_egress_close(e);
			return rc;
		}
		if ((q = realloc(e->in, (e->n + m) * sizeof(*e->in))) != NULL)
			e->in = q;
		if (q == NULL || (q = realloc(e->uid_of, (e->n + m) * sizeof(*e->uid_of))) == NULL) {
			free(in);
			svc_egress_close(e);
			return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
		}
		e->uid_of = q;
		memcpy(e->in + e->n, in, m * sizeof(*in));
		for (size_t k = 0; k < m; k++)
			e->uid_of[e->n + k] = u;
		e->n += m;
		pv_cleanse(in, m * sizeof(*in));
		free(in);
	}
	/* The events first: who takes what, in which form. */
	svc__actor_of(p, &who, process, sizeof(process));
	snprintf(what, sizeof(what), "%s%s", detail != NULL ? detail : "retrieve",
	    e->pj != NULL ? " de-identified (project)" : "");
	if ((rc = svc_audit_derive(s->hook, &who, &e->a, d)) == 0)
		rc = svc_audit_instances(e->a, 110106, 'R', 0, e->in, e->n, what, d);
	if (rc != 0) {
		svc_egress_close(e);
		return rc;
	}
	*n = e->n;
	*out = e;
	return 0;
}

int
svc_egress_open(struct svc *s, const struct svc_principal *p, const char *uid, const char *detail,
    struct svc_egress **out, size_t *n, int *level, struct pv_diag *d)
{
	return svc_egress_open_many(s, p, &uid, 1, detail, out, n, level, d);
}

size_t
svc_egress_uid_index(const struct svc_egress *e, size_t i)
{
	return i < e->n ? e->uid_of[i] : 0;
}

int
svc_egress_uids(const struct svc_egress *e, size_t i, char study[72], char series[72], char sop[72])
{
	const struct vault_instance *in;
	int rc;

	if (i >= e->n)
		return PV_EINVAL;
	in = &e->in[i];
	if (e->pj == NULL) {
		snprintf(study, 72, "%s", in->study_uid);
		snprintf(series, 72, "%s", in->series_uid);
		snprintf(sop, 72, "%s", in->sop_uid);
		return 0;
	}
	if ((rc = deid_uid_pseudonym(e->pj->p.cfg.key, in->study_uid, strlen(in->study_uid), study)) != 0 ||
	    (rc = deid_uid_pseudonym(e->pj->p.cfg.key, in->series_uid, strlen(in->series_uid), series)) != 0 ||
	    (rc = deid_uid_pseudonym(e->pj->p.cfg.key, in->sop_uid, strlen(in->sop_uid), sop)) != 0)
		return rc;
	/* given out to the project: they resolve back for it (a WADO-RS BulkDataURI, a later retrieve) */
	pthread_mutex_lock(&e->s->mu);
	if ((rc = umap_put(&e->pj->uids, study, in->study_uid)) == 0 && (rc = umap_put(&e->pj->uids, series,
	    in->series_uid)) == 0)
		rc = umap_put(&e->pj->uids, sop, in->sop_uid);
	pthread_mutex_unlock(&e->s->mu);
	return rc;
}

int
svc_egress_name(const struct svc_egress *e, size_t i, char out[72])
{
	if (i >= e->n)
		return PV_EINVAL;
	if (e->pj == NULL) {
		snprintf(out, 72, "%s", e->in[i].sop_uid);
		return 0;
	}
	return deid_uid_pseudonym(e->pj->p.cfg.key, e->in[i].sop_uid, strlen(e->in[i].sop_uid), out);
}

/* The instance as the principal may have it: to fd, or (fd < 0) into *mem. */
static int
egress_out(struct svc_egress *e, size_t i, int fd, struct pv_buf *mem, struct pv_diag *d)
{
	struct deid_pipeline pl;
	struct deid_outcome oc;
	struct dcm_reader *r = NULL;
	struct dcm_file *f = NULL;
	struct pv_buf b, o;
	int rc;

	if (i >= e->n)
		return pv_diag_set(d, PV_EINVAL, -1, "no instance %zu", i);
	if (e->pj == NULL)   /* every chunk verified; the exact bytes */
		return fd >= 0 ? vault_get(e->s->v, &e->in[i], fd, d) : vault_get_mem(e->s->v, &e->in[i], mem, d);
	pv_buf_init(&b, (size_t)1 << 40);
	pv_buf_init(&o, (size_t)1 << 40);
	pl = (struct deid_pipeline){ &e->pj->p.cfg, e->pj->p.rules, e->pj->p.clean_pixels, e->pj->p.no_ocr, 0 };
	if ((rc = vault_get_mem(e->s->v, &e->in[i], &b, d)) == 0 &&
	    (rc = dcm_reader_open_mem(b.data, b.len, NULL, &r, d)) == 0 && (rc = dcm_file_read(r, &f, d)) == 0 &&
	    (rc = deid_process(&pl, f, &oc, NULL, d)) == 0) {
		if (oc.held) {
			/* never sent: the event says so, the reason names no value */
			pthread_mutex_lock(&e->amu);
			rc = svc_audit_instances(e->a, 110106, 'R', 4, &e->in[i], 1, "held back by the de-identification "
			    "pipeline: not sent", d);
			pthread_mutex_unlock(&e->amu);
			if (rc == 0)
				rc = pv_diag_set(d, PV_EHELD, -1, "held back by the de-identification pipeline: %s", oc.reason);
		} else if ((rc = write_mem(f, &o, d)) == 0) {
			if (fd < 0) {
				pv_buf_free_scrub(mem);
				*mem = o;
				pv_buf_init(&o, (size_t)1 << 40);
			} else if (pv_write_all(fd, o.data, o.len) != 0) {
				rc = pv_diag_set(d, PV_EIO, -1, "cannot write the de-identified copy: %s", strerror(errno));
			}
		}
	}
	dcm_file_free(f);  /* and its reader; a failed dcm_file_read freed it already */
	pv_buf_free_scrub(&b);
	pv_buf_free_scrub(&o);
	return rc;
}

int
svc_egress_write(struct svc_egress *e, size_t i, int fd, struct pv_diag *d)
{
	if (fd < 0)
		return pv_diag_set(d, PV_EINVAL, -1, "no output");
	return egress_out(e, i, fd, NULL, d);
}

int
svc_egress_mem(struct svc_egress *e, size_t i, struct pv_buf *out, struct pv_diag *d)
{
	return egress_out(e, i, -1, out, d);
}

void
svc_egress_close(struct svc_egress *e)
{
	if (e == NULL)
		return;
	svc_audit_close(e->a);
	if (e->in != NULL)
		pv_cleanse(e->in, e->n * sizeof(*e->in));
	free(e->in);
	free(e->uid_of);
	pthread_mutex_destroy(&e->amu);
	free(e);
}

int
svc_egress(struct svc *s, const struct svc_principal *p, const char *uid, svc_sink_fn fn, void *ctx, size_t *sent,
    size_t *held, struct pv_diag *d)
{
	struct svc_egress *e = NULL;
	size_t n = 0;
	int level, rc;

	*sent = *held = 0;
	if ((rc = svc_egress_open(s, p, uid, "retrieve", &e, &n, &level, d)) != 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int fd = memfd_create("pacsvault-egress", MFD_CLOEXEC);
		struct pv_buf b;
		struct stat st;
		char name[72];

		if (fd < 0) {
			rc = pv_diag_set(d, PV_EIO, -1, "cannot make an anonymous memory file: %s", strerror(errno));
			break;
		}
		pv_buf_init(&b, (size_t)1 << 40);
		rc = svc_egress_write(e, i, fd, d);
		if (rc == PV_EHELD) {
			(*held)++;
			pv_diag_clear(d);
			rc = 0;
		} else if (rc == 0 && (rc = svc_egress_name(e, i, name)) == 0) {
			if (fstat(fd, &st) != 0 || pv_buf_fill(&b, 0, (size_t)st.st_size) != 0 ||
			    pv_pread_all(fd, b.data, (size_t)st.st_size, 0) != 0)
				rc = pv_diag_set(d, PV_EIO, -1, "cannot read the instance back");
			else if ((rc = fn(ctx, name, b.data, b.len)) == 0)
				(*sent)++;
		}
		if (ftruncate(fd, 0) != 0) {
			/* closing frees it */
		}
		close(fd);
		pv_buf_free_scrub(&b);
	}
	svc_egress_close(e);
	return rc;
}

/* ---- rm ---- */

int
svc_rm(struct svc *s, const struct svc_principal *p, const char *uid, int dry, size_t *found, size_t *shredded,
    struct pv_diag *d)
{
	struct vault_instance *in = NULL;
	struct svc_audit *a = NULL;
	struct svc_actor who;
	char process[64];
	size_t n = 0;
	int level, rc, first = 0;

	*found = *shredded = 0;
	if (p->role != SVC_OPERATOR && p->role != SVC_ADMIN)
		return svc__refuse(s, p, "delete", d);
	if ((rc = vault_resolve(s->v, uid, &in, &n, &level, d)) != 0)
		return rc;
	*found = n;
	if (dry) {
		free(in);
		return 0;
	}
	/* Written ahead: the deletion is in the audit trail before it cannot be undone. */
	svc__actor_of(p, &who, process, sizeof(process));
	if ((rc = svc_audit_derive(s->hook, &who, &a, d)) == 0)
		rc = svc_audit_instances(a, 110103, 'D', 0, in, n, "rm (crypto-shred)", d);
	svc_audit_close(a);
	if (rc != 0) {
		free(in);
		return rc;
	}
	/* get and export leave their outputs to writeback: whatever was copied out before
	 * (on any file system) is on disk before a shred. */
	if (!s->synced) {
		sync();
		s->synced = 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct pv_diag id;

		pv_diag_clear(&id);
		if ((rc = vault_rm(s->v, &in[i], &id)) != 0) {
			if (first == 0) {
				first = rc;
				*d = id;
			}
			continue;
		}
		(*shredded)++;
	}
	free(in);
	return 0;   /* the events are written; a failed shred is in d, with *shredded < *found */
}
