/*
 * users.c: serve's users in the vault and authentication (see users.h).
 * users.pvo holds, sealed, "pacsvault-users 1" and one line per user:
 *   NAME TAB ROLE TAB PROJECT TAB PIN TAB SECRET TAB AES
 * with "-" for an empty field. It is read whole at every authentication,
 * so a change made by `pacsvault user` reaches a running server at its
 * next association, and a removed user is refused from then on.
 */
#include "pacsvault/svc/users.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/store/vault.h"
#include "svc_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define MAGIC "pacsvault-users 1\n"
#define USERS_MAX 10000

int
svc_role_parse(const char *name)
{
	static const int roles[] = { SVC_MODALITY, SVC_CLINICIAN, SVC_RESEARCH, SVC_AUDITOR, SVC_ADMIN };

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(name, svc_role_name(roles[i])) == 0)
			return roles[i];
	return -1;
}

int
svc_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SVC_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		    *s == '_' || *s == '-' || *s == '@'))
			return 0;
	return 1;
}

struct ulist {
	struct svc_user *u;
	size_t n, cap;
};

static void
ulist_free(struct ulist *l)
{
	if (l->u != NULL)
		pv_cleanse(l->u, l->cap * sizeof(*l->u));
	free(l->u);
	memset(l, 0, sizeof(*l));
}

static int
field(char **p, char *out, size_t cap, int last)
{
	char *end = strchr(*p, last ? '\n' : '\t');
	size_t n;

	if (end == NULL)
		return -1;
	n = (size_t)(end - *p);
	if (n >= cap)
		return -1;
	if (n == 1 && **p == '-')
		n = 0;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = end + 1;
	return 0;
}

/* The users (none when there is no users.pvo). */
static int
load(struct svc *s, struct ulist *l, struct pv_diag *d)
{
	struct pv_buf b;
	char *p, *end;
	int rc;

	memset(l, 0, sizeof(*l));
	pv_buf_init(&b, (size_t)16 << 20);
	if ((rc = vault_blob_get(s->v, "users.pvo", &b, d)) == PV_ENOTFOUND) {
		pv_buf_free(&b);
		return 0;
	}
	if (rc == 0 && pv_buf_putc(&b, '\0') != 0)
		rc = PV_ENOMEM;
	if (rc != 0) {
		pv_buf_free_scrub(&b);
		return rc;
	}
	p = b.data;
	end = b.data + b.len - 1;
	if (strncmp(p, MAGIC, strlen(MAGIC)) != 0) {
		pv_buf_free_scrub(&b);
		return pv_diag_set(d, PV_EPARSE, -1, "users.pvo: not a list of users");
	}
	p += strlen(MAGIC);
	while (p < end) {
		struct svc_user u;
		char role[32];

		memset(&u, 0, sizeof(u));
		if (field(&p, u.name, sizeof(u.name), 0) != 0 || field(&p, role, sizeof(role), 0) != 0 ||
		    field(&p, u.project, sizeof(u.project), 0) != 0 || field(&p, u.pin, sizeof(u.pin), 0) != 0 ||
		    field(&p, u.secret, sizeof(u.secret), 0) != 0 || field(&p, u.aes, sizeof(u.aes), 1) != 0 ||
		    (u.role = svc_role_parse(role)) < 0 || l->n == USERS_MAX) {
			ulist_free(l);
			pv_buf_free_scrub(&b);
			return pv_diag_set(d, PV_EPARSE, -1, "users.pvo: user %zu malformed", l->n + 1);
		}
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 16;
			struct svc_user *nu = calloc(cap, sizeof(*nu));

			if (nu == NULL) {
				ulist_free(l);
				pv_buf_free_scrub(&b);
				return PV_ENOMEM;
			}
			if (l->u != NULL)
				memcpy(nu, l->u, l->n * sizeof(*nu));
			ulist_free(&(struct ulist){ l->u, l->n, l->cap });
			l->u = nu;
			l->cap = cap;
		}
		l->u[l->n++] = u;
		pv_cleanse(&u, sizeof(u));
	}
	pv_buf_free_scrub(&b);
	return 0;
}

static int
save(struct svc *s, const struct ulist *l, struct pv_diag *d)
{
	struct pv_buf b;
	int rc = 0;

#define F(x) ((x)[0] != '\0' ? (x) : "-")
	pv_buf_init(&b, (size_t)16 << 20);
	if (pv_buf_puts(&b, MAGIC) != 0)
		rc = PV_ENOMEM;
	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		const struct svc_user *u = &l->u[i];

		if (pv_buf_printf(&b, "%s\t%s\t%s\t%s\t%s\t%s\n", u->name, svc_role_name(u->role), F(u->project), F(u->pin),
		    F(u->secret), F(u->aes)) != 0)
			rc = PV_ENOMEM;
	}
#undef F
	if (rc == 0)
		rc = vault_blob_put(s->v, "users.pvo", b.data, b.len, d);
	pv_buf_free_scrub(&b);
	return rc;
}

/*
 * An exclusive flock on VAULT/name, serialising the changes of a sealed
 * list between processes (a running serve reads the list without it): the
 * descriptor, or a negative PV_E* with d set.
 */
int
svc__lock_file(struct svc *s, const char *name, struct pv_diag *d)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", s->dir, name);
	if ((fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot open", name);
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot lock", name);
	}
	return fd;
}

static int
lock_users(struct svc *s, struct pv_diag *d)
{
	return svc__lock_file(s, "users.lock", d);
}

static struct svc_user *
find(struct ulist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->u[i].name, name) == 0)
			return &l->u[i];
	return NULL;
}

static int
is_admin(const struct svc_principal *p)
{
	return p->role == SVC_OPERATOR || p->role == SVC_ADMIN;
}

static int
aes_valid(const char *aes)
{
	/* comma-separated AE titles: 1..16 printable characters, no backslash, no leading or trailing space */
	const char *a = aes;

	while (*a) {
		const char *c = strchr(a, ',');
		size_t n = c != NULL ? (size_t)(c - a) : strlen(a);

		if (n == 0 || n > 16 || a[0] == ' ' || a[n - 1] == ' ')
			return 0;
		for (size_t i = 0; i < n; i++)
			if (a[i] < 0x20 || a[i] > 0x7e || a[i] == '\\' || a[i] == '\t')
				return 0;
		a += n + (c != NULL);
	}
	return 1;
}

static int
user_add_locked(struct svc *s, const struct svc_principal *p, const struct svc_user *u0, const char *secret, size_t n,
    struct pv_diag *d)
{
	struct ulist l;
	struct svc_user u = *u0;
	char detail[160];
	int rc;

	if (!is_admin(p))
		return svc__refuse(s, p, "user add", d);
	if (!svc_name_valid(u.name))
		return pv_diag_set(d, PV_EINVAL, -1, "a user name is 1 to 64 letters, digits, '.', '_', '-' or '@'");
	if (u.role < SVC_MODALITY || u.role > SVC_ADMIN)
		return pv_diag_set(d, PV_EINVAL, -1, "no such role");
	if ((u.role == SVC_RESEARCH) != (u.project[0] != '\0'))
		return pv_diag_set(d, PV_EINVAL, -1, u.role == SVC_RESEARCH ? "a research user needs --project" :
		    "only a research user has a project");
	if (u.project[0] != '\0' && !svc_name_valid(u.project))
		return pv_diag_set(d, PV_EINVAL, -1, "a project name is 1 to 64 letters, digits, '.', '_', '-' or '@'");
	if (!aes_valid(u.aes))
		return pv_diag_set(d, PV_EINVAL, -1, "AE titles are 1 to 16 characters, comma-separated");
	if (u.pin[0] == '\0' && secret == NULL)
		return pv_diag_set(d, PV_EINVAL, -1, "a user needs a certificate (--cert) or a secret (--password-stdin)");
	u.secret[0] = '\0';
	if (secret != NULL && (rc = pv_pw_hash(secret, n, u.secret, d)) != 0)
		return rc;
	if ((rc = load(s, &l, d)) != 0)
		return rc;
	if (find(&l, u.name) != NULL) {
		ulist_free(&l);
		pv_cleanse(&u, sizeof(u));
		return pv_diag_set(d, PV_EEXIST, -1, "user %s exists", u0->name);
	}
	for (size_t i = 0; i < l.n; i++)
		if (u.pin[0] != '\0' && strcmp(l.u[i].pin, u.pin) == 0) {
			rc = pv_diag_set(d, PV_EEXIST, -1, "that certificate is already user %s's", l.u[i].name);
			ulist_free(&l);
			pv_cleanse(&u, sizeof(u));
			return rc;
		}
	{
		struct ulist m = { calloc(l.n + 1, sizeof(struct svc_user)), l.n + 1, l.n + 1 };

		if (m.u == NULL) {
			ulist_free(&l);
			return PV_ENOMEM;
		}
		if (l.n > 0)
			memcpy(m.u, l.u, l.n * sizeof(*m.u));
		m.u[l.n] = u;
		/* The event first: who added whom, with which role. */
		snprintf(detail, sizeof(detail), "user added: role %s%s%s%s%s", svc_role_name(u.role),
		    u.project[0] ? ", project " : "", u.project, u.pin[0] ? ", certificate" : "", u.secret[0] ? ", secret" : "");
		if ((rc = svc__audit_as(s, p, 110113, 'C', 0, "user", u.name, detail, d)) == 0)
			rc = save(s, &m, d);
		ulist_free(&m);
	}
	ulist_free(&l);
	pv_cleanse(&u, sizeof(u));
	return rc;
}

static int
user_rm_locked(struct svc *s, const struct svc_principal *p, const char *name, struct pv_diag *d)
{
	struct ulist l;
	struct svc_user *u;
	int rc;

	if (!is_admin(p))
		return svc__refuse(s, p, "user rm", d);
	if ((rc = load(s, &l, d)) != 0)
		return rc;
	if ((u = find(&l, name)) == NULL) {
		ulist_free(&l);
		return pv_diag_set(d, PV_ENOTFOUND, -1, "no user %s", name);
	}
	memmove(u, u + 1, (size_t)(l.u + l.n - (u + 1)) * sizeof(*u));
	l.n--;
	if ((rc = svc__audit_as(s, p, 110113, 'D', 0, "user", name, "user removed", d)) == 0)
		rc = save(s, &l, d);
	ulist_free(&l);
	return rc;
}

static int
user_passwd_locked(struct svc *s, const struct svc_principal *p, const char *name, const char *secret, size_t n,
    struct pv_diag *d)
{
	struct ulist l;
	struct svc_user *u;
	int rc;

	if (!is_admin(p))
		return svc__refuse(s, p, "user passwd", d);
	if ((rc = load(s, &l, d)) != 0)
		return rc;
	if ((u = find(&l, name)) == NULL) {
		ulist_free(&l);
		return pv_diag_set(d, PV_ENOTFOUND, -1, "no user %s", name);
	}
	if ((rc = pv_pw_hash(secret, n, u->secret, d)) == 0 &&
	    (rc = svc__audit_as(s, p, 110113, 'U', 0, "user", name, "secret changed", d)) == 0)
		rc = save(s, &l, d);
	ulist_free(&l);
	return rc;
}

int
svc_user_list(struct svc *s, const struct svc_principal *p, svc_user_fn fn, void *ctx, struct pv_diag *d)
{
	struct ulist l;
	int rc;

	if (!is_admin(p))
		return svc__refuse(s, p, "user list", d);
	if ((rc = load(s, &l, d)) != 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		struct svc_user u = l.u[i];

		if (u.secret[0] != '\0')
			snprintf(u.secret, sizeof(u.secret), "set");   /* never the hash */
		rc = fn(ctx, &u);
	}
	ulist_free(&l);
	return rc;
}

size_t
svc_user_count(struct svc *s)
{
	struct ulist l;
	size_t n;

	if (load(s, &l, NULL) != 0)
		return 0;
	n = l.n;
	ulist_free(&l);
	return n;
}

static int
ae_allowed(const char *aes, const char *ae)
{
	const char *a = aes;
	size_t n = ae != NULL ? strlen(ae) : 0;

	if (*aes == '\0')
		return 1;
	while (*a) {
		const char *c = strchr(a, ',');
		size_t m = c != NULL ? (size_t)(c - a) : strlen(a);

		if (m == n && ae != NULL && strncmp(a, ae, n) == 0)
			return 1;
		a += m + (c != NULL);
	}
	return 0;
}

/* The authentication event: outcome 0 for the user, 4 (with what was given) for a refusal. */
static int
auth_event(struct svc *s, const struct svc_credentials *c, const char *name, int role, const char *how, int outcome,
    const char *why, struct pv_diag *d)
{
	struct svc_principal p = { name, role, how, c->addr, c->ae, NULL, c->via };
	char detail[200];

	snprintf(detail, sizeof(detail), "%s%s%s", outcome == 0 ? "authenticated by " : "refused: ",
	    outcome == 0 ? how : why, "");
	return svc__audit_as(s, &p, 110114, 'E', outcome, "user", name != NULL ? name : "-", detail, d);
}

int
svc_authenticate(struct svc *s, const struct svc_credentials *c, struct svc_user *out, struct pv_diag *d)
{
	struct ulist l;
	struct svc_user *u = NULL;
	const char *how = NULL, *why = NULL, *given = NULL;
	struct pv_diag ad;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((c->pin == NULL || c->pin[0] == '\0') && c->id_type == 0)
		return PV_ENOTFOUND;
	if ((rc = load(s, &l, d)) != 0)
		return rc;
	if (c->id_type != 0)
		given = c->id_name;
	if (c->pin != NULL && c->pin[0] != '\0') {
		for (size_t i = 0; i < l.n && u == NULL; i++)
			if (l.u[i].pin[0] != '\0' && strcmp(l.u[i].pin, c->pin) == 0)
				u = &l.u[i];
		how = "tls-certificate";
		if (u == NULL)
			why = "an unknown certificate";
		else if (c->id_type != 0 && strcmp(c->id_name, u->name) != 0)
			why = "a user identity that is not the certificate's user", u = NULL;
		else if (c->id_type == 2 && (u->secret[0] == '\0' || pv_pw_verify(c->id_secret, c->id_secret_len,
		    u->secret, NULL) != 0))
			why = "a wrong secret", u = NULL;
	} else if (c->id_type == 2) {
		how = "password";
		u = find(&l, c->id_name);
		/* the secret is checked even for an unknown name, so that the time says nothing */
		if (u == NULL || u->secret[0] == '\0') {
			int dummy = pv_pw_verify(c->id_secret, c->id_secret_len,
			    "scrypt$15$8$1$00000000000000000000000000000000$"
			    "0000000000000000000000000000000000000000000000000000000000000000", NULL);

			(void)dummy;
			why = u == NULL ? "an unknown user" : "a user without a secret", u = NULL;
		} else if (pv_pw_verify(c->id_secret, c->id_secret_len, u->secret, NULL) != 0) {
			why = "a wrong secret", u = NULL;
		}
	} else {
		how = "user-name";
		why = "a user name without a secret or certificate proves nothing";
	}
	if (u != NULL && !ae_allowed(u->aes, c->ae))
		why = "a calling AE title this user may not use", u = NULL;
	pv_diag_clear(&ad);
	if (u == NULL) {
		rc = auth_event(s, c, given != NULL ? given : "-", -1, how, 4, why, &ad);
		ulist_free(&l);
		if (rc != 0) {
			*d = ad;
			return rc;
		}
		return pv_diag_set(d, PV_EAUTH, -1, "authentication failed: %s", why);
	}
	*out = *u;
	out->secret[0] = '\0';
	rc = auth_event(s, c, u->name, u->role, how, 0, NULL, &ad);
	ulist_free(&l);
	if (rc != 0) {
		*d = ad;
		return rc;
	}
	return 0;
}

int
svc__user_get(struct svc *s, const char *name, struct svc_user *out, struct pv_diag *d)
{
	struct ulist l;
	struct svc_user *u;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load(s, &l, d)) != 0)
		return rc;
	if ((u = find(&l, name)) != NULL) {
		*out = *u;
		pv_cleanse(out->secret, sizeof(out->secret));
	}
	ulist_free(&l);
	return u != NULL ? 0 : PV_ENOTFOUND;
}

int
svc_user_add(struct svc *s, const struct svc_principal *p, const struct svc_user *u, const char *secret, size_t n,
    struct pv_diag *d)
{
	int fd, rc;

	if (!is_admin(p))
		return svc__refuse(s, p, "user add", d);
	if ((fd = lock_users(s, d)) < 0)
		return fd;
	rc = user_add_locked(s, p, u, secret, n, d);
	close(fd);
	return rc;
}

int
svc_user_rm(struct svc *s, const struct svc_principal *p, const char *name, struct pv_diag *d)
{
	int fd, rc;

	if (!is_admin(p))
		return svc__refuse(s, p, "user rm", d);
	if ((fd = lock_users(s, d)) < 0)
		return fd;
	rc = user_rm_locked(s, p, name, d);
	close(fd);
	return rc;
}

int
svc_user_passwd(struct svc *s, const struct svc_principal *p, const char *name, const char *secret, size_t n,
    struct pv_diag *d)
{
	int fd, rc;

	if (!is_admin(p))
		return svc__refuse(s, p, "user passwd", d);
	if ((fd = lock_users(s, d)) < 0)
		return fd;
	rc = user_passwd_locked(s, p, name, secret, n, d);
	close(fd);
	return rc;
}

int
svc_auth_refused(struct svc *s, const char *addr, const char *via, const char *why, struct pv_diag *d)
{
	struct svc_credentials c;

	memset(&c, 0, sizeof(c));
	c.addr = addr;
	c.via = via;
	return auth_event(s, &c, "-", -1, "tls", 4, why, d);
}
