/* witness.c: a C2SP tlog-witness and witness policies (see witness.h). */
#include "pacsvault/ledger/witness.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/base/jsonw.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/crypto/sign.h"
#include "pacsvault/ledger/merkle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct lg_witness {
	char *dir;
	char name[LG_NAME_MAX];
	uint8_t seed[32];
	int lockfd;
	struct pv_hasher *h;
};

static int
write_file_atomic(const char *path, const void *p, size_t n, mode_t mode, struct pv_diag *d)
{
	struct pv_atomic af;
	int rc;

	if ((rc = pv_atomic_open(&af, path, mode, d)) != 0)
		return rc;
	if (pv_write_all(af.fd, p, n) != 0) {
		pv_atomic_abort(&af);
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot write", path);
	}
	return pv_atomic_commit(&af, d);
}

int
lg_witness_create(const char *dir, const char *name, struct pv_diag *d)
{
	uint8_t seed[32];
	char p[4096];
	int rc;

	if (!lg_name_valid(name, strlen(name)) || strlen(name) >= LG_NAME_MAX)
		return pv_diag_set(d, PV_EINVAL, -1, "a witness name is UTF-8 without spaces, '+' or controls");
	if (mkdir(dir, 0700) != 0)
		return pv_diag_set(d, errno == EEXIST ? PV_EEXIST : PV_EIO, -1, "%s: cannot create: %s", dir,
		    strerror(errno));
	snprintf(p, sizeof(p), "%s/logs", dir);
	if (mkdir(p, 0700) != 0)
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot create: %s", p, strerror(errno));
	if ((rc = pv_random(seed, sizeof(seed))) != 0)
		return pv_diag_set(d, rc, -1, "no randomness");
	snprintf(p, sizeof(p), "%s/key", dir);
	rc = write_file_atomic(p, seed, sizeof(seed), 0600, d);
	pv_cleanse(seed, sizeof(seed));
	if (rc != 0)
		return rc;
	snprintf(p, sizeof(p), "%s/name", dir);
	return write_file_atomic(p, name, strlen(name), 0644, d);
}

void
lg_witness_close(struct lg_witness *w)
{
	if (w == NULL)
		return;
	if (w->lockfd >= 0)
		close(w->lockfd);
	pv_cleanse(w->seed, sizeof(w->seed));
	pv_hasher_free(w->h);
	free(w->dir);
	free(w);
}

int
lg_witness_open(const char *dir, struct lg_witness **out, struct pv_diag *d)
{
	struct lg_witness *w;
	unsigned char *buf = NULL;
	size_t len = 0;
	struct stat st;
	char p[4096];

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return PV_ENOMEM;
	w->lockfd = -1;
	if ((w->dir = strdup(dir)) == NULL || (w->h = pv_hasher_new()) == NULL) {
		lg_witness_close(w);
		return PV_ENOMEM;
	}
	snprintf(p, sizeof(p), "%s/lock", dir);
	if ((w->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 || flock(w->lockfd, LOCK_EX | LOCK_NB) != 0) {
		lg_witness_close(w);
		return pv_diag_set(d, PV_EEXIST, -1, "%s: not a witness folder, or in use", dir);
	}
	snprintf(p, sizeof(p), "%s/key", dir);
	if (stat(p, &st) != 0 || (st.st_mode & 077) != 0 || pv_read_file(p, 32, &buf, &len, d) != 0 || len != 32) {
		free(buf);
		lg_witness_close(w);
		return pv_diag_set(d, PV_EAUTH, -1, "%s: the witness key is missing, short or readable by others", dir);
	}
	memcpy(w->seed, buf, 32);
	pv_cleanse(buf, len);
	free(buf);
	buf = NULL;
	snprintf(p, sizeof(p), "%s/name", dir);
	if (pv_read_file(p, LG_NAME_MAX - 1, &buf, &len, d) != 0 || !lg_name_valid((const char *)buf, len)) {
		free(buf);
		lg_witness_close(w);
		return pv_diag_set(d, PV_EPARSE, -1, "%s: the witness name is missing or invalid", dir);
	}
	memcpy(w->name, buf, len);
	w->name[len] = '\0';
	free(buf);
	*out = w;
	return 0;
}

int
lg_witness_vkey(const struct lg_witness *w, struct pv_buf *out)
{
	uint8_t pub[32];
	int rc;

	if ((rc = pv_ed25519_public(w->seed, pub)) != 0)
		return rc;
	return lg_vkey_format_typed(w->name, LG_SIG_COSIGNATURE, pub, out);
}

static void
state_path(const struct lg_witness *w, const char *origin, char *out, size_t n)
{
	uint8_t h[32];
	char hx[65];

	if (pv_sha256(origin, strlen(origin), h) != 0)
		memset(h, 0, sizeof(h));
	for (int i = 0; i < 32; i++)
		snprintf(hx + 2 * i, 3, "%02x", h[i]);
	snprintf(out, n, "%s/logs/%s", w->dir, hx);
}

/* The last size and root cosigned for origin (size 0 when none). */
static int
load_state(const struct lg_witness *w, const char *origin, uint64_t *size, uint8_t root[32], struct pv_diag *d)
{
	char p[4096], text[256], b64[64];
	unsigned char *buf = NULL;
	unsigned long long sz;
	size_t len = 0;

	*size = 0;
	memset(root, 0, 32);
	state_path(w, origin, p, sizeof(p));
	if (access(p, F_OK) != 0)
		return 0;
	if (pv_read_file(p, sizeof(text) - 1, &buf, &len, d) != 0)
		return PV_EIO;
	memcpy(text, buf, len);
	text[len] = '\0';
	free(buf);
	if (sscanf(text, "size %llu\nroot %63s\n", &sz, b64) != 2 || lg_b64_decode(b64, strlen(b64), root, 32) != 32)
		return pv_diag_set(d, PV_EPARSE, -1, "%s: damaged witness state", p);
	*size = sz;
	return 0;
}

static int
store_state(const struct lg_witness *w, const char *origin, uint64_t size, const uint8_t root[32], struct pv_diag *d)
{
	struct pv_buf b;
	char p[4096];
	int rc;

	pv_buf_init(&b, 256);
	if (pv_buf_printf(&b, "size %llu\nroot ", (unsigned long long)size) != 0 || pv_base64_append(&b, root, 32) != 0 ||
	    pv_buf_putc(&b, '\n') != 0) {
		pv_buf_free(&b);
		return PV_ENOMEM;
	}
	state_path(w, origin, p, sizeof(p));
	rc = write_file_atomic(p, b.data, b.len, 0644, d);
	pv_buf_free(&b);
	return rc;
}

int
lg_witness_add_checkpoint(struct lg_witness *w, const struct lg_verifier *v, size_t nv, const uint8_t *body,
    size_t n, uint64_t now, struct pv_buf *out, uint64_t *cur_size, struct pv_diag *d)
{
	uint8_t proof[LG_MAX_PROOF][32], root[32];
	struct lg_checkpoint c;
	const struct lg_verifier *logv = NULL;
	const uint8_t *p = body, *end = body + n, *eol;
	size_t plen = 0, tl;
	uint64_t old = 0, have;
	int verified = 0;

	*cur_size = 0;
	/* "old N\n" (canonical decimal) */
	if ((eol = memchr(p, '\n', n)) == NULL || eol - p < 5 || memcmp(p, "old ", 4) != 0 ||
	    (eol - p > 5 && p[4] == '0') || eol - p > 24) {
		pv_diag_set(d, PV_EPARSE, 0, "the request does not start with 'old N'");
		return 400;
	}
	for (const uint8_t *q = p + 4; q < eol; q++) {
		if (*q < '0' || *q > '9' || old > (UINT64_MAX - 9) / 10) {
			pv_diag_set(d, PV_EPARSE, 0, "'old' is not a decimal size");
			return 400;
		}
		old = old * 10 + (uint64_t)(*q - '0');
	}
	p = eol + 1;
	/* proof lines until the blank line */
	for (;;) {
		if (p >= end || (eol = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			pv_diag_set(d, PV_EPARSE, p - body, "the request has no blank line before the checkpoint");
			return 400;
		}
		if (eol == p) {
			p++;
			break;
		}
		if (plen == LG_MAX_PROOF || lg_b64_decode((const char *)p, (size_t)(eol - p), proof[plen], 32) != 32) {
			pv_diag_set(d, PV_EPARSE, p - body, "a proof line is not the base64 of 32 bytes");
			return 400;
		}
		plen++;
		p = eol + 1;
	}
	/* The checkpoint: its origin must be a configured log, and signed by it. */
	{
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ol = nl != NULL ? (size_t)(nl - p) : 0;

		for (size_t i = 0; i < nv && nl != NULL; i++)
			if (v[i].type == LG_SIG_ED25519 && strlen(v[i].name) == ol && memcmp(v[i].name, p, ol) == 0)
				logv = &v[i];
		if (logv == NULL) {
			pv_diag_set(d, PV_ENOTFOUND, -1, "the checkpoint's origin is not a log this witness knows");
			return 404;
		}
	}
	if (lg_note_open(p, (size_t)(end - p), logv, 1, &tl, &verified, d) != 0 || !verified) {
		pv_diag_set(d, PV_EAUTH, -1, "the checkpoint is not signed by the log's key");
		return 403;
	}
	if (lg_checkpoint_parse((const char *)p, tl, &c, d) != 0)
		return 400;
	if (load_state(w, c.origin, &have, root, d) != 0)
		return 500;
	if (old != have) {
		*cur_size = have;
		pv_diag_set(d, PV_EEXIST, -1, "the witness is at size %llu, not %llu", (unsigned long long)have,
		    (unsigned long long)old);
		return 409;
	}
	if (c.size < old) {
		pv_diag_set(d, PV_EINVAL, -1, "the checkpoint is smaller than the size cosigned before");
		return 400;
	}
	if (c.size == old) {
		if (plen != 0 || (old > 0 && memcmp(root, c.root, 32) != 0)) {
			pv_diag_set(d, PV_EINTEGRITY, -1, "a different root at the size cosigned before");
			return 422;
		}
	} else if (old == 0) {
		if (plen != 0) {
			pv_diag_set(d, PV_EINTEGRITY, -1, "a proof from the empty tree");
			return 422;
		}
	} else if (lg_verify_consistency(w->h, old, c.size, root, c.root, (const uint8_t (*)[32])proof, plen) != 0) {
		pv_diag_set(d, PV_EINTEGRITY, -1, "the consistency proof from size %llu does not verify",
		    (unsigned long long)old);
		return 422;
	}
	/* Durable before the answer: never two inconsistent views, across restarts. */
	if (store_state(w, c.origin, c.size, c.root, d) != 0)
		return 500;
	*cur_size = c.size;
	if (lg_cosign((const char *)p, tl, w->name, w->seed, now, out) != 0) {
		pv_diag_set(d, PV_EINTERNAL, -1, "cannot sign");
		return 500;
	}
	return 200;
}

/* ---- policy ---- */

static int
find_name(const struct lg_policy *p, const char *name, int *kind, int *index)
{
	for (size_t i = 0; i < p->nwit; i++)
		if (strcmp(p->wit_name[i], name) == 0) {
			*kind = 1;
			*index = (int)i;
			return 0;
		}
	for (size_t i = 0; i < p->ngroups; i++)
		if (strcmp(p->group[i].name, name) == 0) {
			*kind = 2;
			*index = (int)i;
			return 0;
		}
	return -1;
}

int
lg_policy_parse(const char *text, size_t n, struct lg_policy *p, struct pv_diag *d)
{
	char line[2048];
	size_t pos = 0;
	unsigned lineno = 0;

	memset(p, 0, sizeof(*p));
	p->quorum_kind = -1;
	while (pos < n) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t ll = nl != NULL ? (size_t)(nl - text - pos) : n - pos;
		char *f[LG_POLICY_MAX + 4], *save = NULL, *tok;
		int nf = 0;

		lineno++;
		if (ll >= sizeof(line))
			return pv_diag_set(d, PV_ELIMIT, -1, "policy line %u is too long", lineno);
		memcpy(line, text + pos, ll);
		line[ll] = '\0';
		pos += ll + 1;
		if (memchr(line, '\0', ll) != NULL)
			return pv_diag_set(d, PV_EPARSE, -1, "policy line %u has a NUL byte", lineno);
		if ((tok = strchr(line, '#')) != NULL)
			*tok = '\0';
		for (tok = strtok_r(line, " \t\r", &save); tok != NULL && nf < (int)(sizeof(f) / sizeof(f[0]));
		    tok = strtok_r(NULL, " \t\r", &save))
			f[nf++] = tok;
		if (nf == 0)
			continue;
		if (strcmp(f[0], "log") == 0) {
			if (nf != 2 && nf != 3)
				return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: log VKEY [URL]", lineno);
			if (p->nlogs == sizeof(p->logs) / sizeof(p->logs[0]) || lg_vkey_parse(f[1], &p->logs[p->nlogs]) != 0 ||
			    p->logs[p->nlogs].type != LG_SIG_ED25519)
				return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: not a log verifier key", lineno);
			p->nlogs++;
		} else if (strcmp(f[0], "witness") == 0) {
			int k, i;

			if (nf != 3 && nf != 4)
				return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: witness NAME VKEY [URL]", lineno);
			if (strlen(f[1]) >= sizeof(p->wit_name[0]) || find_name(p, f[1], &k, &i) == 0 ||
			    strcmp(f[1], "none") == 0)
				return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: '%s' is defined twice or reserved",
				    lineno, f[1]);
			if (p->nwit == LG_POLICY_MAX || lg_vkey_parse(f[2], &p->wit[p->nwit]) != 0 ||
			    p->wit[p->nwit].type != LG_SIG_COSIGNATURE)
				return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: not a cosignature/v1 verifier key "
				    "(type 0x04)", lineno);
			snprintf(p->wit_name[p->nwit], sizeof(p->wit_name[0]), "%s", f[1]);
			if (nf == 4 && ((strncmp(f[3], "https://", 8) != 0 && strncmp(f[3], "http://", 7) != 0) ||
			    strlen(f[3]) >= sizeof(p->wit_url[0])))
				return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: the witness URL is not http(s):// (or over "
				    "255 characters)", lineno);
			snprintf(p->wit_url[p->nwit], sizeof(p->wit_url[0]), "%s", nf == 4 ? f[3] : "");
			p->nwit++;
		} else if (strcmp(f[0], "group") == 0) {
			int k, i;
			char *e;
			unsigned long th;

			if (nf < 4 || p->ngroups == LG_POLICY_MAX)
				return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: group NAME K|all|any MEMBER...",
				    lineno);
			if (strlen(f[1]) >= sizeof(p->group[0].name) || find_name(p, f[1], &k, &i) == 0 ||
			    strcmp(f[1], "none") == 0)
				return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: '%s' is defined twice or reserved",
				    lineno, f[1]);
			if (strcmp(f[2], "all") == 0)
				th = (unsigned long)(nf - 3);
			else if (strcmp(f[2], "any") == 0)
				th = 1;
			else if ((th = strtoul(f[2], &e, 10)) == 0 || *e != '\0' || th > (unsigned long)(nf - 3))
				return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: the threshold is 1 to the number "
				    "of members, all or any", lineno);
			snprintf(p->group[p->ngroups].name, sizeof(p->group[0].name), "%s", f[1]);
			p->group[p->ngroups].k = (unsigned)th;
			for (int m = 3; m < nf; m++) {
				if (find_name(p, f[m], &k, &i) != 0)
					return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: '%s' is not defined above",
					    lineno, f[m]);
				for (size_t o = 0; o < p->group[p->ngroups].n; o++)
					if (p->group[p->ngroups].member[o] == (k == 1 ? i : -i - 1))
						return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: '%s' twice", lineno,
						    f[m]);
				p->group[p->ngroups].member[p->group[p->ngroups].n++] = k == 1 ? i : -i - 1;
			}
			p->ngroups++;
		} else if (strcmp(f[0], "quorum") == 0) {
			if (nf != 2 || p->quorum_kind != -1)
				return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: one 'quorum NAME|none'", lineno);
			if (strcmp(f[1], "none") == 0)
				p->quorum_kind = 0;
			else if (find_name(p, f[1], &p->quorum_kind, &p->quorum_index) != 0)
				return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: '%s' is not defined above", lineno, f[1]);
		} else {
			return pv_diag_set(d, PV_EPARSE, -1, "policy line %u: unknown statement '%.40s'", lineno, f[0]);
		}
	}
	if (p->quorum_kind == -1)
		return pv_diag_set(d, PV_EPARSE, -1, "the policy has no 'quorum' line");
	return 0;
}

static int
group_ok(const struct lg_policy *p, size_t g, const int *cosigned, int depth)
{
	unsigned have = 0;

	if (depth > LG_POLICY_MAX)
		return 0;
	for (size_t i = 0; i < p->group[g].n; i++) {
		int m = p->group[g].member[i];

		have += m >= 0 ? cosigned[m] != 0 : group_ok(p, (size_t)(-m - 1), cosigned, depth + 1);
	}
	return have >= p->group[g].k;
}

int
lg_policy_satisfied(const struct lg_policy *p, const int *cosigned)
{
	switch (p->quorum_kind) {
	case 0:
		return 1;
	case 1:
		return cosigned[p->quorum_index] != 0;
	case 2:
		return group_ok(p, (size_t)p->quorum_index, cosigned, 0);
	}
	return 0;
}
