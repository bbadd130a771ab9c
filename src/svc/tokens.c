/*
 * tokens.c: bearer tokens in the vault (see tokens.h). tokens.pvo holds,
 * sealed, "pacsvault-tokens 1" and one line per live token:
 *   ID TAB USER TAB SHA256HEX(SECRET) TAB ISSUED TAB EXPIRES
 * Expired tokens are dropped at the next change. Read whole at each check,
 * so a revocation reaches a running server at the next request.
 */
#include "pacsvault/svc/tokens.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/store/vault.h"
#include "svc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "pacsvault-tokens 1\n"
#define TOKENS_MAX 100000

struct tok {
	struct svc_token_info i;
	char hash[65];
};

struct tlist {
	struct tok *t;
	size_t n, cap;
};

static void
tlist_free(struct tlist *l)
{
	if (l->t != NULL)
		pv_cleanse(l->t, l->cap * sizeof(*l->t));
	free(l->t);
	memset(l, 0, sizeof(*l));
}

static int
tlist_add(struct tlist *l, const struct tok *t)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct tok *n = calloc(cap, sizeof(*n));

		if (n == NULL)
			return PV_ENOMEM;
		if (l->t != NULL)
			memcpy(n, l->t, l->n * sizeof(*n));
		if (l->t != NULL)
			pv_cleanse(l->t, l->cap * sizeof(*l->t));
		free(l->t);
		l->t = n;
		l->cap = cap;
	}
	l->t[l->n++] = *t;
	return 0;
}

static int
is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

static int
load(struct svc *s, struct tlist *l, struct pv_diag *d)
{
	struct pv_buf b;
	char *p, *line;
	int rc;

	memset(l, 0, sizeof(*l));
	pv_buf_init(&b, (size_t)64 << 20);
	if ((rc = vault_blob_get(s->v, "tokens.pvo", &b, d)) == PV_ENOTFOUND) {
		pv_buf_free(&b);
		return 0;
	}
	if (rc == 0 && pv_buf_putc(&b, '\0') != 0)
		rc = PV_ENOMEM;
	if (rc != 0) {
		pv_buf_free_scrub(&b);
		return rc;
	}
	if (strncmp(b.data, MAGIC, strlen(MAGIC)) != 0) {
		pv_buf_free_scrub(&b);
		return pv_diag_set(d, PV_EPARSE, -1, "tokens.pvo: not a list of tokens");
	}
	p = b.data + strlen(MAGIC);
	while (*p != '\0') {
		struct tok t;
		char *f[5], *nl = strchr(p, '\n');
		long long a = 0, e = 0;
		int nf = 0;

		if (nl == NULL)
			break;
		*nl = '\0';
		line = p;
		p = nl + 1;
		memset(&t, 0, sizeof(t));
		for (char *q = line; nf < 5; nf++) {
			f[nf] = q;
			if ((q = strchr(q, '\t')) == NULL) {
				nf++;
				break;
			}
			*q++ = '\0';
		}
		if (nf != 5 || strlen(f[0]) != 16 || !is_hex(f[0], 16) || !svc_name_valid(f[1]) || strlen(f[2]) != 64 ||
		    !is_hex(f[2], 64) || sscanf(f[3], "%lld", &a) != 1 || sscanf(f[4], "%lld", &e) != 1 ||
		    l->n == TOKENS_MAX) {
			tlist_free(l);
			pv_buf_free_scrub(&b);
			return pv_diag_set(d, PV_EPARSE, -1, "tokens.pvo: token %zu malformed", l->n + 1);
		}
		memcpy(t.i.id, f[0], 17);
		snprintf(t.i.user, sizeof(t.i.user), "%s", f[1]);
		memcpy(t.hash, f[2], 65);
		t.i.issued = a;
		t.i.expires = e;
		if ((rc = tlist_add(l, &t)) != 0) {
			tlist_free(l);
			pv_buf_free_scrub(&b);
			return rc;
		}
	}
	pv_buf_free_scrub(&b);
	return 0;
}

static int
save(struct svc *s, const struct tlist *l, struct pv_diag *d)
{
	struct pv_buf b;
	int64_t now = (int64_t)time(NULL);
	int rc = 0;

	pv_buf_init(&b, (size_t)64 << 20);
	if (pv_buf_puts(&b, MAGIC) != 0)
		rc = PV_ENOMEM;
	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		const struct tok *t = &l->t[i];

		if (t->i.expires <= now)
			continue;  /* expired: dropped */
		if (pv_buf_printf(&b, "%s\t%s\t%s\t%lld\t%lld\n", t->i.id, t->i.user, t->hash, (long long)t->i.issued,
		    (long long)t->i.expires) != 0)
			rc = PV_ENOMEM;
	}
	if (rc == 0)
		rc = vault_blob_put(s->v, "tokens.pvo", b.data, b.len, d);
	pv_buf_free_scrub(&b);
	return rc;
}

static void
hexs(const uint8_t *p, size_t n, char *out)
{
	static const char dg[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = dg[p[i] >> 4];
		out[2 * i + 1] = dg[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
b64url(const uint8_t *p, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t k = 0;
	uint32_t v = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		v = (v << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			out[k++] = a[(v >> (bits - 6)) & 63];
			bits -= 6;
		}
	}
	if (bits > 0)
		out[k++] = a[(v << (6 - bits)) & 63];
	out[k] = '\0';
}

static int
is_admin(const struct svc_principal *p)
{
	return p->role == SVC_OPERATOR || p->role == SVC_ADMIN;
}

int64_t
svc_ttl_parse(const char *s)
{
	char *end;
	long long v;
	int64_t mul = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v <= 0)
		return -1;
	if (strcmp(end, "s") == 0 || *end == '\0')
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60;
	else if (strcmp(end, "h") == 0)
		mul = 3600;
	else if (strcmp(end, "d") == 0)
		mul = 86400;
	else
		return -1;
	if (v > SVC_TOKEN_TTL_MAX / mul)
		return -1;
	return (int64_t)v * mul;
}

int
svc_token_issue(struct svc *s, const struct svc_principal *p, const char *user, int64_t ttl_s,
    char token[SVC_TOKEN_MAX], struct svc_token_info *info, struct pv_diag *d)
{
	struct svc_user u;
	struct tlist l;
	struct tok t;
	uint8_t id[8], sec[32], h[PV_SHA256_LEN];
	char sec64[48];
	int fd, rc;

	token[0] = '\0';
	if (!is_admin(p))
		return svc__refuse(s, p, "token issue", d);
	if (ttl_s <= 0 || ttl_s > SVC_TOKEN_TTL_MAX)
		return pv_diag_set(d, PV_EINVAL, -1, "a token lives from 1 second to 366 days");
	if ((rc = svc__user_get(s, user, &u, d)) != 0)
		return rc == PV_ENOTFOUND ? pv_diag_set(d, PV_ENOTFOUND, -1, "no user '%s'", user) : rc;
	if ((fd = svc__lock_file(s, "tokens.lock", d)) < 0)
		return fd;
	if ((rc = load(s, &l, d)) != 0) {
		close(fd);
		return rc;
	}
	memset(&t, 0, sizeof(t));
	if (pv_random(id, sizeof(id)) != 0 || pv_random(sec, sizeof(sec)) != 0) {
		rc = pv_diag_set(d, PV_EINTERNAL, -1, "no randomness");
		goto out;
	}
	hexs(id, sizeof(id), t.i.id);
	b64url(sec, sizeof(sec), sec64);
	if ((rc = pv_sha256(sec64, strlen(sec64), h)) != 0)
		goto out;
	hexs(h, sizeof(h), t.hash);
	snprintf(t.i.user, sizeof(t.i.user), "%s", u.name);
	t.i.issued = (int64_t)time(NULL);
	t.i.expires = t.i.issued + ttl_s;
	if ((rc = tlist_add(&l, &t)) != 0 || (rc = save(s, &l, d)) != 0)
		goto out;
	snprintf(token, SVC_TOKEN_MAX, "pvt.%s.%s", t.i.id, sec64);
	if (info != NULL)
		*info = t.i;
	rc = svc__audit_as(s, p, 110110, 'U', 0, "token", t.i.id, u.name, d);   /* Security Configuration */
out:
	pv_cleanse(sec, sizeof(sec));
	pv_cleanse(sec64, sizeof(sec64));
	tlist_free(&l);
	close(fd);
	if (rc != 0)
		token[0] = '\0';
	return rc;
}

int
svc_token_revoke(struct svc *s, const struct svc_principal *p, const char *id, struct pv_diag *d)
{
	struct tlist l;
	size_t k = 0;
	int fd, rc, found = 0;

	if (!is_admin(p))
		return svc__refuse(s, p, "token revoke", d);
	if ((fd = svc__lock_file(s, "tokens.lock", d)) < 0)
		return fd;
	if ((rc = load(s, &l, d)) != 0) {
		close(fd);
		return rc;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (strcmp(l.t[i].i.id, id) == 0)
			found = 1;
		else
			l.t[k++] = l.t[i];
	}
	l.n = k;
	if (!found)
		rc = pv_diag_set(d, PV_ENOTFOUND, -1, "no token %.32s", id);
	else if ((rc = save(s, &l, d)) == 0)
		rc = svc__audit_as(s, p, 110110, 'D', 0, "token", id, "revoked", d);
	tlist_free(&l);
	close(fd);
	return rc;
}

int
svc_token_list(struct svc *s, const struct svc_principal *p, svc_token_fn fn, void *ctx, struct pv_diag *d)
{
	struct tlist l;
	int rc;

	if (!is_admin(p) && p->role != SVC_AUDITOR)
		return svc__refuse(s, p, "token list", d);
	if ((rc = load(s, &l, d)) != 0)
		return rc;
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = fn(ctx, &l.t[i].i);
	tlist_free(&l);
	return rc;
}

int
svc_token_check(struct svc *s, const char *token, struct svc_user *u, struct svc_token_info *info,
    struct pv_diag *d)
{
	struct tlist l;
	const struct tok *t = NULL;
	uint8_t h[PV_SHA256_LEN];
	char hx[65];
	int rc;

	memset(u, 0, sizeof(*u));
	memset(info, 0, sizeof(*info));
	if (token == NULL || strncmp(token, "pvt.", 4) != 0 || strlen(token) != 4 + 16 + 1 + 43 || token[20] != '.')
		return pv_diag_set(d, PV_EAUTH, -1, "a malformed token");
	memcpy(info->id, token + 4, 16);
	info->id[16] = '\0';
	if (!is_hex(info->id, 16))
		return pv_diag_set(d, PV_EAUTH, -1, "a malformed token");
	if ((rc = pv_sha256(token + 21, 43, h)) != 0)
		return rc;
	hexs(h, sizeof(h), hx);
	if ((rc = load(s, &l, d)) != 0)
		return rc;
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.t[i].i.id, info->id) == 0)
			t = &l.t[i];
	if (t == NULL) {
		tlist_free(&l);
		return pv_diag_set(d, PV_EAUTH, -1, "an unknown or revoked token");
	}
	/* constant time in the secret's hash */
	unsigned diff = 0;
	for (int i = 0; i < 64; i++)
		diff |= (unsigned)(hx[i] ^ t->hash[i]);
	*info = t->i;
	tlist_free(&l);
	if (diff != 0)
		return pv_diag_set(d, PV_EAUTH, -1, "a wrong token secret");
	if (info->expires <= (int64_t)time(NULL))
		return pv_diag_set(d, PV_EAUTH, -1, "an expired token");
	rc = svc__user_get(s, info->user, u, d);
	if (rc == PV_ENOTFOUND)
		return pv_diag_set(d, PV_EAUTH, -1, "a token of a removed user");
	return rc;
}

int
svc_token_event(struct svc *s, const struct svc_user *u, const char *id, const char *addr, const char *via,
    const char *why, struct pv_diag *d)
{
	struct svc_principal p = { u != NULL && u->name[0] ? u->name : "-", u != NULL && why == NULL ? u->role : -1,
	    "token", addr, NULL, NULL, via };
	char detail[200];

	snprintf(detail, sizeof(detail), "%s%s token %.16s", why == NULL ? "authenticated by" : "refused: ",
	    why == NULL ? "" : why, id != NULL && id[0] ? id : "-");
	return svc__audit_as(s, &p, 110114, 'E', why == NULL ? 0 : 4, "user", p.name, detail, d);
}
