/*
 * web.c: `pacsvault serve`'s HTTPS listener: HTTP/1.1 (http.c) with keep-
 * alive, bearer tokens (svc tokens), and DICOMweb (PS3.18) on svc:
 *   QIDO-RS  GET /dicomweb/studies, /series, /instances, and the same
 *            under /studies/{study}[/series/{series}]: DICOM JSON;
 *   WADO-RS  GET /dicomweb/studies/{study}[/series/{series}[/instances/{sop}]]:
 *            multipart/related; type="application/dicom", streamed (chunked);
 *   the viewer: GET of static files under the configured folder, no token.
 * Every answer about patients goes through svc (svc_query, svc_egress):
 * the role's policy, the research project's de-identification, the audit.
 * One thread per connection, counted with the DIMSE associations; a head
 * must arrive whole within http_timeout, a kept-alive connection closes
 * after idle_timeout without a request.
 */
#include "pacsvault/base/buf.h"
#include "pacsvault/base/jsonw.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/dicom/dataset.h"
#include "pacsvault/dicom/json.h"
#include "pacsvault/dicom/reader.h"
#include "pacsvault/net/http.h"
#include "pacsvault/svc/dicomweb.h"
#include "pacsvault/svc/tokens.h"
#include "server_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define WEB_BUF (HTTP_HEAD_MAX + 65536)
#define QIDO_KEYS 48
#define QIDO_LIMIT_MAX 100000

struct web {
	struct server *srv;
	struct net_conn *c;
	uint64_t id;
	char addr[64];
	char buf[WEB_BUF];
	size_t have;
	struct http_req rq;
	int authed;                     /* the token's success event was written on this connection */
	char token_id[17];
	struct svc_user user;
	struct svc_principal p;
	int keep;
	int cors;                       /* the request's Origin is the configured one: CORS headers on the answer */
};

static int fill(struct web *w, int64_t deadline);
static int skip_body(struct web *w, int64_t deadline);

static void
wlog(const struct web *w, const char *fmt, ...)
{
	char m[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	fprintf(stderr, "pacsvault serve: [h%llu] %s %s\n", (unsigned long long)w->id, w->addr, m);
}

/* Status line and headers; body of n bytes (or chunked when n is SIZE_MAX). */
static int
send_head(struct web *w, int status, const char *ctype, size_t n, const char *extra)
{
	char h[2048];
	int k = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\nServer: pacsvault\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n%s%s%s", status, http_reason(status), ctype != NULL ? "Content-Type: " : "",
	    ctype != NULL ? ctype : "", ctype != NULL ? "\r\n" : "");
	struct pv_diag d;

	if (w->cors)
		k += snprintf(h + k, sizeof(h) - (size_t)k, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n"
		    "Access-Control-Expose-Headers: Content-Type, Content-Length\r\n", w->srv->cfg->cors_origin);
	if (n == SIZE_MAX)
		k += snprintf(h + k, sizeof(h) - (size_t)k, "Transfer-Encoding: chunked\r\n");
	else if (status != 204)
		k += snprintf(h + k, sizeof(h) - (size_t)k, "Content-Length: %zu\r\n", n);
	k += snprintf(h + k, sizeof(h) - (size_t)k, "%s%s\r\n", extra != NULL ? extra : "",
	    w->keep ? "" : "Connection: close\r\n");
	if (k <= 0 || (size_t)k >= sizeof(h))
		return PV_ELIMIT;
	pv_diag_clear(&d);
	return net_conn_write(w->c, h, (size_t)k, &d);
}

static int
send_all(struct web *w, int status, const char *ctype, const void *body, size_t n, const char *extra)
{
	struct pv_diag d;
	int rc = send_head(w, status, ctype, n, extra);

	pv_diag_clear(&d);
	if (rc == 0 && n > 0)
		rc = net_conn_write(w->c, body, n, &d);
	return rc;
}

/* An error answer: a short text body that names no patient value. */
static int
send_error(struct web *w, int status, const char *why, const char *extra)
{
	char b[512];
	int n = snprintf(b, sizeof(b), "%d %s: %s\n", status, http_reason(status), why);

	return send_all(w, status, "text/plain; charset=utf-8", b, (size_t)n, extra);
}

static int
send_chunk(struct web *w, const void *p, size_t n)
{
	char h[24];
	struct pv_diag d;
	int k = snprintf(h, sizeof(h), "%zx\r\n", n);

	pv_diag_clear(&d);
	if (n == 0)
		return net_conn_write(w->c, "0\r\n\r\n", 5, &d);
	if (net_conn_write(w->c, h, (size_t)k, &d) != 0 || net_conn_write(w->c, p, n, &d) != 0 ||
	    net_conn_write(w->c, "\r\n", 2, &d) != 0)
		return PV_EIO;
	return 0;
}

/* ---- QIDO-RS ---- */

struct qido {
	struct web *w;
	int level;
	uint64_t offset, limit, seen, sent;
	struct pv_buf out;
	struct pv_jw j;
};

static const struct query_attr *
attr_by_tag(uint32_t tag)
{
	for (const struct query_attr *a = query_attrs; a->tag != 0; a++)
		if (a->tag == tag)
			return a;
	return NULL;
}

static int
numeric_vr(const char *vr)
{
	return strcmp(vr, "IS") == 0 || strcmp(vr, "DS") == 0 || strcmp(vr, "US") == 0 || strcmp(vr, "UL") == 0 ||
	    strcmp(vr, "SS") == 0 || strcmp(vr, "SL") == 0;
}

/* One attribute in DICOM JSON (PS3.18 F.2): multiple values split on '\', PN as Alphabetic. */
static void
json_attr(struct pv_jw *j, uint32_t tag, const char *vr, const char *v)
{
	char key[9];

	snprintf(key, sizeof(key), "%08X", tag);
	pv_jw_key(j, key, 8);
	pv_jw_begin_object(j);
	pv_jw_key(j, "vr", 2);
	pv_jw_string(j, vr, strlen(vr));
	if (v != NULL && v[0] != '\0') {
		pv_jw_key(j, "Value", 5);
		pv_jw_begin_array(j);
		for (const char *p = v;;) {
			size_t n = strcspn(p, "\\");
			const char *s = p;
			size_t k = n;

			while (k > 0 && s[0] == ' ')
				s++, k--;
			while (k > 0 && s[k - 1] == ' ')
				k--;
			if (strcmp(vr, "PN") == 0) {
				pv_jw_begin_object(j);
				pv_jw_key(j, "Alphabetic", 10);
				pv_jw_string(j, s, k);
				pv_jw_end_object(j);
			} else if (numeric_vr(vr) && dcm_json_number_ok(s, k)) {
				pv_jw_raw(j, s, k);
			} else {
				pv_jw_string(j, s, k);
			}
			if (p[n] == '\0')
				break;
			p += n + 1;
		}
		pv_jw_end_array(j);
	}
	pv_jw_end_object(j);
}

static int
qido_row(void *ctx, const struct vault_match *m)
{
	struct qido *q = ctx;
	uint32_t tags[50];
	size_t order[50], n = m->n < 48 ? m->n : 48;

	if (q->seen++ < q->offset)
		return 0;
	if (q->sent == q->limit)
		return 1;   /* enough: stops the query */
	for (size_t i = 0; i < n; i++) {
		tags[i] = m->tag[i];
		order[i] = i;
	}
	for (size_t i = 1; i < n; i++)   /* ascending tags, as DICOM JSON lists them */
		for (size_t k = i; k > 0 && tags[order[k - 1]] > tags[order[k]]; k--) {
			size_t t = order[k];
			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	pv_jw_begin_object(&q->j);
	json_attr(&q->j, 0x00080005u, "CS", "ISO_IR 192");
	for (size_t i = 0; i < n; i++) {
		const struct query_attr *a = attr_by_tag(tags[order[i]]);
		if (a == NULL || (i > 0 && tags[order[i]] == tags[order[i - 1]]))
			continue;
		json_attr(&q->j, a->tag, a->vr, m->value[order[i]]);
	}
	pv_jw_end_object(&q->j);
	q->sent++;
	return q->j.err != 0 ? q->j.err : 0;
}

/* The attributes a QIDO answer carries by default at level: every indexed one of its level and above. */
static int
add_key(struct query_key *keys, size_t *n, const char *text, struct pv_diag *d)
{
	if (*n == QIDO_KEYS)
		return pv_diag_set(d, PV_ELIMIT, -1, "over %d query keys", QIDO_KEYS);
	if (query_key_parse(text, &keys[*n], d) != 0)
		return PV_EINVAL;
	(*n)++;
	return 0;
}

static int
has_key(const struct query_key *keys, size_t n, uint32_t tag)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i].attr->tag == tag)
			return 1;
	return 0;
}

static int
qido(struct web *w, int level, const char *study, const char *series)
{
	struct query_key keys[QIDO_KEYS];
	struct qido q;
	struct pv_diag d;
	char name[128], value[1024], kv[1200];
	size_t nk = 0, pos = 0;
	int r, rc = 0, fuzzy = 0;

	memset(&q, 0, sizeof(q));
	memset(keys, 0, sizeof(keys));
	q.w = w;
	q.level = level;
	q.limit = QIDO_LIMIT_MAX;
	pv_diag_clear(&d);
	if (study != NULL) {
		snprintf(kv, sizeof(kv), "StudyInstanceUID=%s", study);
		rc = add_key(keys, &nk, kv, &d);
	}
	if (rc == 0 && series != NULL) {
		snprintf(kv, sizeof(kv), "SeriesInstanceUID=%s", series);
		rc = add_key(keys, &nk, kv, &d);
	}
	while (rc == 0 && (r = http_query_next(w->rq.query, &pos, name, sizeof(name), value, sizeof(value))) != 0) {
		if (r < 0) {
			rc = pv_diag_set(&d, PV_EINVAL, -1, "a malformed query parameter");
			break;
		}
		if (strcmp(name, "limit") == 0 || strcmp(name, "offset") == 0) {
			char *end;
			unsigned long long v = strtoull(value, &end, 10);
			if (value[0] < '0' || value[0] > '9' || *end != '\0' || v > QIDO_LIMIT_MAX * 100ULL)
				rc = pv_diag_set(&d, PV_EINVAL, -1, "%s is not a number", name);
			else if (name[0] == 'l')
				q.limit = v < QIDO_LIMIT_MAX ? v : QIDO_LIMIT_MAX;
			else
				q.offset = v;
		} else if (strcmp(name, "fuzzymatching") == 0) {
			fuzzy = strcmp(value, "true") == 0;
			if (!fuzzy && strcmp(value, "false") != 0)
				rc = pv_diag_set(&d, PV_EINVAL, -1, "fuzzymatching is true or false");
		} else if (strcmp(name, "includefield") == 0) {
			/* each comma-separated keyword or tag becomes a return key; "all": every indexed one */
			for (char *t = value; rc == 0 && *t != '\0';) {
				size_t k = strcspn(t, ",");
				char one[128];
				const struct query_attr *a;

				snprintf(one, sizeof(one), "%.*s", (int)(k < 120 ? k : 120), t);
				t += k + (t[k] == ',');
				if (strcmp(one, "all") == 0)
					continue;   /* every indexed attribute is returned anyway */
				if ((a = query_attr_find(one)) == NULL)
					rc = pv_diag_set(&d, PV_EINVAL, -1, "includefield: '%.64s' is not an attribute the archive "
					    "indexes", one);
				else if (!has_key(keys, nk, a->tag)) {
					snprintf(kv, sizeof(kv), "%s=", a->keyword);
					rc = add_key(keys, &nk, kv, &d);
				}
			}
		} else {
			snprintf(kv, sizeof(kv), "%s=%s", name, value);
			rc = add_key(keys, &nk, kv, &d);
		}
	}
	if (rc == 0 && fuzzy)
		rc = pv_diag_set(&d, PV_EINVAL, -1, "fuzzy matching is not offered (fuzzymatching=false)");
	/* the default return keys: the indexed attributes of this level and above */
	for (const struct query_attr *a = query_attrs; rc == 0 && a->tag != 0; a++) {
		if (a->level > level || (a->level == QUERY_PATIENT && level != QUERY_PATIENT && 0) || has_key(keys, nk, a->tag))
			continue;
		snprintf(kv, sizeof(kv), "%s=", a->keyword);
		if (add_key(keys, &nk, kv, &d) != 0) {
			pv_diag_clear(&d);   /* the table holds more than one answer carries: the first ones */
			break;
		}
	}
	if (rc != 0) {
		for (size_t i = 0; i < nk; i++)
			query_key_free(&keys[i]);
		wlog(w, "QIDO refused: a query parameter was not accepted (400)");   /* (its text may hold a value) */
		return send_error(w, 400, d.msg, NULL);
	}
	pv_buf_init(&q.out, (size_t)256 << 20);
	pv_jw_init(&q.j, &q.out, 0);
	pv_jw_begin_array(&q.j);
	rc = svc_query(w->srv->s, &w->p, level, keys, nk, qido_row, &q, &d);
	for (size_t i = 0; i < nk; i++)
		query_key_free(&keys[i]);
	if (rc == 1)
		rc = 0;   /* stopped at the limit */
	pv_jw_end_array(&q.j);
	if (rc == 0 && q.j.err != 0)
		rc = pv_diag_set(&d, q.j.err, -1, "the answer is too large");
	if (rc == PV_EAUTH) {
		wlog(w, "QIDO %s refused: %s", query_level_name(level), d.msg);
		rc = send_error(w, 403, "not allowed for this user's role (a research user matches only on keys "
		    "that name no one)", NULL);
	} else if (rc != 0) {
		wlog(w, "QIDO %s failed: %s", query_level_name(level), d.msg);
		rc = send_error(w, rc == PV_EINVAL ? 400 : 500, rc == PV_EINVAL ? d.msg : "the query could not be run",
		    NULL);
	} else {
		wlog(w, "QIDO %s on %zu keys: %llu answers", query_level_name(level), nk, (unsigned long long)q.sent);
		rc = send_all(w, 200, "application/dicom+json", q.out.data, q.out.len, NULL);
	}
	pv_buf_free_scrub(&q.out);
	return rc;
}

/* ---- WADO-RS ---- */

/*
 * 1 when the Accept header admits multipart/related of part_type (or is
 * absent, or any type); want_ts gets the transfer-syntax asked for ("" any).
 */
static int
accept_multipart(const char *acc, const char *part_type, char *want_ts, size_t n)
{
	want_ts[0] = '\0';
	if (acc == NULL || acc[0] == '\0')
		return 1;
	for (const char *p = acc; *p != '\0';) {
		size_t k = strcspn(p, ",");
		char one[512], type[128], ts[128];

		snprintf(one, sizeof(one), "%.*s", (int)(k < 500 ? k : 500), p);
		p += k + (p[k] == ',');
		char *s = one + strspn(one, " \t");
		size_t tl = strcspn(s, "; \t");
		if (tl == 3 && strncmp(s, "*/*", 3) == 0)
			return 1;
		if (tl == 17 && strncasecmp(s, "multipart/related", 17) == 0) {
			if (http_media_param(s, "type", type, sizeof(type)) == 0 && strcasecmp(type, part_type) != 0)
				continue;
			if (http_media_param(s, "transfer-syntax", ts, sizeof(ts)) == 0 && strcmp(ts, "*") != 0)
				snprintf(want_ts, n, "%s", ts);
			return 1;
		}
	}
	return 0;
}

/* A random multipart boundary ("pv" and 24 hex digits); 0, or -1 without randomness. */
static int
make_boundary(char out[40])
{
	uint8_t rnd[12];

	if (pv_random(rnd, sizeof(rnd)) != 0)
		return -1;
	snprintf(out, 40, "pv");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(out + 2 + 2 * i, 40 - 2 - 2 * i, "%02x", rnd[i]);
	return 0;
}

static int
wado(struct web *w, const char *uid)
{
	struct svc_egress *e = NULL;
	struct pv_diag d;
	struct pv_buf b;
	size_t n = 0, sent = 0, held = 0;
	int level, rc;
	char want[128], boundary[40], ctype[160];

	if (!accept_multipart(http_header(&w->rq, "Accept", NULL), "application/dicom", want, sizeof(want)))
		return send_error(w, 406, "the instances are sent as multipart/related; type=\"application/dicom\"", NULL);
	if (want[0] != '\0')
		return send_error(w, 406, "only the stored transfer syntax is sent (transfer-syntax=* or none)", NULL);
	pv_diag_clear(&d);
	rc = svc_egress_open(w->srv->s, &w->p, uid, "wado-rs", &e, &n, &level, &d);
	if (rc == PV_EAUTH)
		return send_error(w, 403, "not allowed for this user's role", NULL);
	if (rc == PV_ENOTFOUND)
		return send_error(w, 404, "no such study, series or instance", NULL);
	if (rc != 0) {
		wlog(w, "WADO failed: %s", d.msg);
		return send_error(w, 500, "the retrieval could not be prepared", NULL);
	}
	if (make_boundary(boundary) != 0) {
		svc_egress_close(e);
		return send_error(w, 500, "no randomness", NULL);
	}
	snprintf(ctype, sizeof(ctype), "multipart/related; type=\"application/dicom\"; boundary=%s", boundary);
	if ((rc = send_head(w, 200, ctype, SIZE_MAX, NULL)) != 0) {
		svc_egress_close(e);
		return rc;
	}
	pv_buf_init(&b, (size_t)4 << 30);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char part[128];
		int k;

		pv_buf_reset(&b);
		pv_diag_clear(&d);
		rc = svc_egress_mem(e, i, &b, &d);
		if (rc == PV_EHELD) {
			held++;
			rc = 0;
			continue;
		}
		if (rc != 0) {
			wlog(w, "WADO: instance %zu of %zu: %s", i + 1, n, d.msg);
			break;   /* the stream ends without its closing boundary: the client sees it incomplete */
		}
		k = snprintf(part, sizeof(part), "--%s\r\nContent-Type: application/dicom\r\n\r\n", boundary);
		if ((rc = send_chunk(w, part, (size_t)k)) == 0 && (rc = send_chunk(w, b.data, b.len)) == 0)
			rc = send_chunk(w, "\r\n", 2);
		sent++;
	}
	pv_buf_free_scrub(&b);
	svc_egress_close(e);
	if (rc == 0) {
		char end[64];
		int k = snprintf(end, sizeof(end), "--%s--\r\n", boundary);
		if ((rc = send_chunk(w, end, (size_t)k)) == 0)
			rc = send_chunk(w, NULL, 0);
	} else {
		w->keep = 0;
	}
	wlog(w, "WADO %s: %zu of %zu instances sent%s", level == QUERY_STUDY ? "study" : level == QUERY_SERIES ?
	    "series" : "instance", sent, n, held ? " (some held back by the project's pipeline)" : "");
	return rc;
}

/* ---- WADO-RS metadata, bulk data, frames ---- */

/* The scheme and authority this request reached us by, for absolute BulkDataURIs ("" if the Host is odd). */
static void
origin_of(struct web *w, char *out, size_t n)
{
	const char *h = http_header(&w->rq, "Host", NULL);

	out[0] = '\0';
	if (h == NULL || h[0] == '\0' || strlen(h) > 255 || h[strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-:[]")] != '\0')
		return;
	snprintf(out, n, "%s://%s", w->srv->web_tls != NULL ? "https" : "http", h);
}

static int
open_egress(struct web *w, const char *uid, const char *detail, struct svc_egress **e, size_t *n, int *sent)
{
	struct pv_diag d;
	int level, rc;

	*sent = 0;
	pv_diag_clear(&d);
	rc = svc_egress_open(w->srv->s, &w->p, uid, detail, e, n, &level, &d);
	if (rc == 0)
		return 0;
	*sent = 1;
	if (rc == PV_EAUTH)
		return send_error(w, 403, "not allowed for this user's role", NULL) == 0 ? rc : PV_EIO;
	if (rc == PV_ENOTFOUND)
		return send_error(w, 404, "no such study, series or instance", NULL) == 0 ? rc : PV_EIO;
	wlog(w, "%s failed: %s", detail, d.msg);
	return send_error(w, 500, "the retrieval could not be prepared", NULL) == 0 ? rc : PV_EIO;
}

static int
metadata(struct web *w, const char *uid)
{
	struct svc_egress *e = NULL;
	struct pv_buf out;
	struct pv_diag d;
	char org[300], prefix[700], st[72], se[72], sop[72];
	size_t n = 0, done = 0, held = 0;
	int sent, rc;

	if ((rc = open_egress(w, uid, "wado-rs metadata", &e, &n, &sent)) != 0)
		return sent ? (rc == PV_EIO ? rc : 0) : rc;
	origin_of(w, org, sizeof(org));
	pv_buf_init(&out, (size_t)1 << 30);
	rc = pv_buf_putc(&out, '[');
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t mark = out.len;

		pv_diag_clear(&d);
		if ((rc = svc_egress_uids(e, i, st, se, sop)) != 0)
			break;
		snprintf(prefix, sizeof(prefix), "%s/dicomweb/studies/%s/series/%s/instances/%s/bulkdata", org, st, se, sop);
		if (done > 0 && (rc = pv_buf_putc(&out, ',')) != 0)
			break;
		rc = svc_egress_metadata(e, i, prefix, &out, &d);
		if (rc == PV_EHELD) {
			out.len = mark;
			held++;
			rc = 0;
			continue;
		}
		if (rc != 0)
			wlog(w, "metadata: instance %zu of %zu: %s", i + 1, n, d.msg);
		done++;
	}
	if (rc == 0)
		rc = pv_buf_putc(&out, ']');
	svc_egress_close(e);
	if (rc != 0) {
		pv_buf_free_scrub(&out);
		return send_error(w, 500, "the metadata could not be made", NULL);
	}
	wlog(w, "WADO metadata: %zu of %zu instances%s", done, n, held ? " (some held back)" : "");
	rc = send_all(w, 200, "application/dicom+json", out.data, out.len, NULL);
	pv_buf_free_scrub(&out);
	return rc;
}

/* One multipart/related answer of octet-stream parts: p[ends[k-1]..ends[k]) each; ts names their syntax when set. */
static int
send_octets(struct web *w, const char *p, const size_t *ends, size_t np, const char *ts)
{
	char boundary[40], ctype[200], part[256];
	size_t from = 0;
	int rc;

	if (make_boundary(boundary) != 0)
		return send_error(w, 500, "no randomness", NULL);
	snprintf(ctype, sizeof(ctype), "multipart/related; type=\"application/octet-stream\"; boundary=%s", boundary);
	if ((rc = send_head(w, 200, ctype, SIZE_MAX, NULL)) != 0)
		return rc;
	for (size_t k = 0; k < np && rc == 0; k++) {
		int m = snprintf(part, sizeof(part), "--%s\r\nContent-Type: application/octet-stream%s%s\r\n\r\n", boundary,
		    ts != NULL && ts[0] ? "; transfer-syntax=" : "", ts != NULL ? ts : "");
		if ((rc = send_chunk(w, part, (size_t)m)) == 0 && ends[k] > from)
			rc = send_chunk(w, p + from, ends[k] - from);
		if (rc == 0)
			rc = send_chunk(w, "\r\n", 2);
		from = ends[k];
	}
	if (rc == 0) {
		int m = snprintf(part, sizeof(part), "--%s--\r\n", boundary);
		if ((rc = send_chunk(w, part, (size_t)m)) == 0)
			rc = send_chunk(w, NULL, 0);
	}
	return rc;
}

static int
frames(struct web *w, const char *uid, const char *list)
{
	struct svc_egress *e = NULL;
	struct pv_buf out;
	struct pv_diag d;
	uint32_t fr[SVC_FRAMES_MAX];
	size_t nf = 0, n = 0, ends[SVC_FRAMES_MAX];
	char want[128], ts[65];
	int sent, rc;

	if (!accept_multipart(http_header(&w->rq, "Accept", NULL), "application/octet-stream", want, sizeof(want)))
		return send_error(w, 406, "frames are sent as multipart/related; type=\"application/octet-stream\"", NULL);
	for (const char *p = list; *p != '\0';) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (*p < '0' || *p > '9' || v == 0 || v > 1000000 || (*end != ',' && *end != '\0') || nf == SVC_FRAMES_MAX)
			return send_error(w, 400, "frames are listed as 1-based numbers separated by commas", NULL);
		fr[nf++] = (uint32_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	if ((rc = open_egress(w, uid, "wado-rs frames", &e, &n, &sent)) != 0)
		return sent ? (rc == PV_EIO ? rc : 0) : rc;
	if (n != 1) {
		svc_egress_close(e);
		return send_error(w, 404, "frames are of one instance", NULL);
	}
	pv_buf_init(&out, (size_t)4 << 30);
	pv_diag_clear(&d);
	rc = svc_egress_frames(e, 0, fr, nf, &out, ends, ts, &d);
	svc_egress_close(e);
	if (rc == 0 && want[0] != '\0' && strcmp(want, ts) != 0) {
		pv_buf_free_scrub(&out);
		return send_error(w, 406, "frames are sent in the stored transfer syntax only (transfer-syntax=* or none)", NULL);
	}
	if (rc != 0) {
		pv_buf_free_scrub(&out);
		wlog(w, "frames failed: %s", d.msg);
		return send_error(w, rc == PV_EINVAL ? 400 : rc == PV_ENOTFOUND ? 404 : rc == PV_EHELD ? 404 :
		    rc == PV_EUNSUPPORTED ? 406 : 500, rc == PV_EINVAL ? "a frame number is out of range" :
		    rc == PV_ENOTFOUND ? "the instance has no pixel data" : rc == PV_EHELD ? "held back by the project" :
		    rc == PV_EUNSUPPORTED ? "these frames cannot be cut out as stored" : "the frames could not be read", NULL);
	}
	wlog(w, "WADO frames: %zu", nf);
	rc = send_octets(w, out.data, ends, nf, ts);
	pv_buf_free_scrub(&out);
	return rc;
}

static int
bulkdata(struct web *w, const char *uid)
{
	struct svc_egress *e = NULL;
	struct pv_buf out;
	struct pv_diag d;
	char name[32], value[32], want[128];
	size_t pos = 0, n = 0, end;
	unsigned long long off = 0, len = 0;
	int have = 0, r, sent, rc;

	if (!accept_multipart(http_header(&w->rq, "Accept", NULL), "application/octet-stream", want, sizeof(want)))
		return send_error(w, 406, "bulk data is sent as multipart/related; type=\"application/octet-stream\"", NULL);
	while ((r = http_query_next(w->rq.query, &pos, name, sizeof(name), value, sizeof(value))) == 1) {
		char *e2;
		unsigned long long v = strtoull(value, &e2, 10);
		if (value[0] < '0' || value[0] > '9' || *e2 != '\0')
			return send_error(w, 400, "offset and length are numbers", NULL);
		if (strcmp(name, "offset") == 0)
			off = v, have |= 1;
		else if (strcmp(name, "length") == 0)
			len = v, have |= 2;
	}
	if (r < 0 || have != 3 || len > ((unsigned long long)1 << 32))
		return send_error(w, 400, "bulkdata needs offset and length (as the metadata's BulkDataURI gives them)", NULL);
	if ((rc = open_egress(w, uid, "wado-rs bulkdata", &e, &n, &sent)) != 0)
		return sent ? (rc == PV_EIO ? rc : 0) : rc;
	if (n != 1) {
		svc_egress_close(e);
		return send_error(w, 404, "bulk data is of one instance", NULL);
	}
	pv_buf_init(&out, (size_t)4 << 30);
	pv_diag_clear(&d);
	rc = svc_egress_range(e, 0, off, len, &out, &d);
	svc_egress_close(e);
	if (rc != 0) {
		wlog(w, "bulkdata failed: %s", d.msg);
		pv_buf_free_scrub(&out);
		return send_error(w, rc == PV_EINVAL ? 400 : rc == PV_EHELD ? 404 : 500, rc == PV_EINVAL ?
		    "the range is outside the instance" : rc == PV_EHELD ? "held back by the project" :
		    "the bulk data could not be read", NULL);
	}
	end = out.len;
	rc = send_octets(w, out.data, &end, 1, NULL);
	pv_buf_free_scrub(&out);
	return rc;
}

/* ---- STOW-RS ---- */

struct stow {
	struct web *w;
	const char *study;            /* POST /studies/{study}: every instance must be of it */
	struct http_multipart mp;
	struct pv_jw ok, bad;
	struct pv_buf okb, badb;
	size_t nok, nbad, nparts;
};

/* SOP Class, SOP Instance and Study Instance UIDs of a Part 10 body ("" when not found). */
static void
part_uids(const char *p, size_t n, char cls[72], char inst[72], char study[72])
{
	struct dcm_reader_opts ro;
	struct dcm_reader *r = NULL;
	struct dcm_file *f = NULL;
	struct pv_diag d;

	cls[0] = inst[0] = study[0] = '\0';
	memset(&ro, 0, sizeof(ro));
	pv_diag_clear(&d);
	if (dcm_reader_open_mem(p, n, &ro, &r, &d) != 0 || dcm_file_read(r, &f, &d) != 0)
		return;
	if (dcm_ds_get_str(f, &f->meta, 0x00020002u, cls, 72) != 0 && dcm_ds_get_str(f, &f->ds, 0x00080016u, cls, 72) != 0)
		cls[0] = '\0';
	if (dcm_ds_get_str(f, &f->meta, 0x00020003u, inst, 72) != 0 && dcm_ds_get_str(f, &f->ds, 0x00080018u, inst, 72) != 0)
		inst[0] = '\0';
	if (dcm_ds_get_str(f, &f->ds, 0x0020000Du, study, 72) != 0)
		study[0] = '\0';
	dcm_file_free(f);
}

static void
stow_item(struct pv_jw *j, const char *cls, const char *inst, const char *url, int reason)
{
	char r[16];

	pv_jw_begin_object(j);
	json_attr(j, 0x00081150u, "UI", cls);
	json_attr(j, 0x00081155u, "UI", inst);
	if (url != NULL)
		json_attr(j, 0x00081190u, "UR", url);
	if (reason >= 0) {
		snprintf(r, sizeof(r), "%d", reason);
		json_attr(j, 0x00081197u, "US", r);
	}
	pv_jw_end_object(j);
}

/* One part: stored through svc (durable before the answer), its outcome in the answer's sequences. */
static int
stow_part(void *ctx, const char *p, size_t n, int type_ok)
{
	struct stow *st = ctx;
	char cls[72], inst[72], study[72], reason[256], url[512], org[300];
	struct pv_diag d;
	int status = VAULT_FAILED, rc, failure = -1;

	st->nparts++;
	part_uids(p, n, cls, inst, study);
	if (!type_ok)
		failure = 0xC122;   /* not application/dicom: refused, nothing stored */
	else if (st->study != NULL && strcmp(study, st->study) != 0)
		failure = 0xA902;   /* not of the study the request named */
	else {
		pv_diag_clear(&d);
		rc = svc_ingest_mem(st->w->srv->s, &st->w->p, p, n, "STOW-RS", &status, reason, sizeof(reason), &d);
		if (rc == PV_EAUTH)
			return PV_EAUTH;
		if (rc != 0 || (status != VAULT_STORED && status != VAULT_DUPLICATE))
			failure = status == VAULT_CONFLICT ? 0xA900 : status == VAULT_QUARANTINED || status == VAULT_SKIPPED ?
			    0xC000 : 0x0110;
	}
	if (failure >= 0) {
		stow_item(&st->bad, cls, inst, NULL, failure);
		st->nbad++;
		wlog(st->w, "STOW-RS part %zu refused (0x%04X)", st->nparts, (unsigned)failure);
	} else {
		origin_of(st->w, org, sizeof(org));
		snprintf(url, sizeof(url), "%s/dicomweb/studies/%s", org, study);
		stow_item(&st->ok, cls, inst, url, -1);
		st->nok++;
	}
	return 0;
}

static int
stow(struct web *w, const char *study)
{
	const char *ct = http_header(&w->rq, "Content-Type", NULL);
	char type[128], boundary[72];
	struct stow st;
	struct pv_diag d;
	int rc = 0;
	int64_t deadline;

	if (ct == NULL || strncasecmp(ct, "multipart/related", 17) != 0 ||
	    (http_media_param(ct, "type", type, sizeof(type)) == 0 && strcasecmp(type, "application/dicom") != 0)) {
		w->keep = 0;
		return send_error(w, 415, "STOW-RS takes multipart/related; type=\"application/dicom\"", NULL);
	}
	if (http_media_param(ct, "boundary", boundary, sizeof(boundary)) != 0 || boundary[0] == '\0' ||
	    strlen(boundary) > 70) {
		w->keep = 0;
		return send_error(w, 400, "the multipart boundary is missing or over 70 characters", NULL);
	}
	if (w->rq.content_length < 0 && !w->rq.chunked) {
		w->keep = 0;
		return send_error(w, 411, "a body needs Content-Length or chunked transfer coding", NULL);
	}
	memset(&st, 0, sizeof(st));
	st.w = w;
	st.study = study;
	http_multipart_init(&st.mp, boundary, "application/dicom", w->srv->cfg->max_dataset, stow_part, &st);
	pv_buf_init(&st.okb, (size_t)64 << 20);
	pv_buf_init(&st.badb, (size_t)64 << 20);
	pv_jw_init(&st.ok, &st.okb, 0);
	pv_jw_init(&st.bad, &st.badb, 0);
	pv_jw_begin_array(&st.ok);
	pv_jw_begin_array(&st.bad);
	pv_diag_clear(&d);
	/* the body, as it arrives: each part stored once whole, never the whole body held */
	if (w->rq.chunked) {
		struct http_chunked ck;
		char *dec = malloc(sizeof(w->buf));

		http_chunked_init(&ck, 0);
		while (rc == 0 && dec != NULL) {
			size_t used = 0, on = 0;

			if (w->have > 0 && http_chunked_feed(&ck, w->buf, w->have, &used, dec, &on, &d) != 0) {
				rc = PV_EPARSE;
				snprintf(st.mp.why, sizeof(st.mp.why), "%.150s", d.msg);
				break;
			}
			memmove(w->buf, w->buf + used, w->have - used);
			w->have -= used;
			if (on > 0 && (rc = http_multipart_feed(&st.mp, dec, on)) != 0)
				break;
			if (ck.done)
				break;
			deadline = net_now_ms() + (int64_t)w->srv->cfg->idle_timeout_s * 1000;
			if (fill(w, deadline) != 0)
				rc = PV_EIO;
		}
		if (dec == NULL)
			rc = PV_ENOMEM;
		free(dec);
	} else {
		uint64_t left = (uint64_t)w->rq.content_length;
		while (rc == 0 && left > 0) {
			size_t k = w->have < left ? w->have : (size_t)left;

			if (k > 0 && (rc = http_multipart_feed(&st.mp, w->buf, k)) != 0)
				break;
			memmove(w->buf, w->buf + k, w->have - k);
			w->have -= k;
			left -= k;
			deadline = net_now_ms() + (int64_t)w->srv->cfg->idle_timeout_s * 1000;
			if (left > 0 && fill(w, deadline) != 0)
				rc = PV_EIO;
		}
	}
	pv_jw_end_array(&st.ok);
	pv_jw_end_array(&st.bad);
	if (rc == 0 && !st.mp.done) {
		rc = PV_EPARSE;
		snprintf(st.mp.why, sizeof(st.mp.why), "the body ends before the closing boundary");
	}
	char why[sizeof(st.mp.why)];
	snprintf(why, sizeof(why), "%s", st.mp.why);
	http_multipart_free(&st.mp);
	if (rc != 0) {
		w->keep = 0;
		if (rc == PV_EAUTH)
			rc = send_error(w, 403, "storing is not allowed for this user's role", NULL);
		else if (rc == PV_EIO)   /* the body stalled (or the client went away): said if it can hear */
			rc = send_error(w, 408, "the body stopped before its end (what was stored before is kept; see "
			    "the answer of a complete request for which)", NULL) == 0 ? 0 : PV_EIO;
		else
			rc = send_error(w, rc == PV_ELIMIT ? 413 : 400, rc == PV_ELIMIT ? "a part is over max_dataset" :
			    why[0] ? why : "a malformed multipart body", NULL);
		wlog(w, "STOW-RS ended after %zu parts (%zu stored)", st.nparts, st.nok);
		pv_buf_free(&st.okb);
		pv_buf_free(&st.badb);
		return rc;
	}
	/* the answer (PS3.18 10.5.3): 200 all stored, 202 some, 409 none */
	struct pv_buf out;
	struct pv_jw j;
	pv_buf_init(&out, (size_t)128 << 20);
	pv_jw_init(&j, &out, 0);
	pv_jw_begin_object(&j);
	if (st.nbad > 0) {
		pv_jw_key(&j, "00081198", 8);
		pv_jw_begin_object(&j);
		pv_jw_key(&j, "vr", 2);
		pv_jw_string(&j, "SQ", 2);
		pv_jw_key(&j, "Value", 5);
		pv_jw_raw(&j, st.badb.data, st.badb.len);
		pv_jw_end_object(&j);
	}
	if (st.nok > 0) {
		pv_jw_key(&j, "00081199", 8);
		pv_jw_begin_object(&j);
		pv_jw_key(&j, "vr", 2);
		pv_jw_string(&j, "SQ", 2);
		pv_jw_key(&j, "Value", 5);
		pv_jw_raw(&j, st.okb.data, st.okb.len);
		pv_jw_end_object(&j);
	}
	pv_jw_end_object(&j);
	pv_buf_free(&st.okb);
	pv_buf_free(&st.badb);
	wlog(w, "STOW-RS: %zu parts, %zu stored, %zu refused", st.nparts, st.nok, st.nbad);
	rc = send_all(w, st.nbad == 0 && st.nok > 0 ? 200 : st.nok > 0 ? 202 : 409, "application/dicom+json", out.data,
	    out.len, NULL);
	pv_buf_free(&out);
	return rc;
}

/* ---- the viewer's static files ---- */

static const char *
mime_of(const char *path)
{
	static const struct { const char *ext, *type; } t[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" }, { ".svg", "image/svg+xml" }, { ".png", "image/png" },
		{ ".ico", "image/x-icon" }, { ".wasm", "application/wasm" }, { ".woff2", "font/woff2" },
		{ ".woff", "font/woff" }, { ".txt", "text/plain; charset=utf-8" }, { ".map", "application/json" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(dot, t[i].ext) == 0)
			return t[i].type;
	return "application/octet-stream";
}

static int
static_file(struct web *w)
{
	const char *root = w->srv->cfg->viewer;
	char p[PATH_MAX], real[PATH_MAX], rroot[PATH_MAX];
	struct stat st;
	int fd, rc;

	if (root[0] == '\0')
		return send_error(w, 404, "no such resource", NULL);
	if ((size_t)snprintf(p, sizeof(p), "%s%s%s", root, w->rq.path, strcmp(w->rq.path, "/") == 0 ? "index.html" : "")
	    >= sizeof(p))
		return send_error(w, 414, "the path is too long", NULL);
	/* inside the folder, symbolic links resolved: nothing outside it is served */
	if (realpath(root, rroot) == NULL || realpath(p, real) == NULL || strncmp(real, rroot, strlen(rroot)) != 0 ||
	    (real[strlen(rroot)] != '/' && real[strlen(rroot)] != '\0'))
		return send_error(w, 404, "no such resource", NULL);
	if ((fd = open(real, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return send_error(w, 404, "no such resource", NULL);
	}
	if ((rc = send_head(w, 200, mime_of(real), (size_t)st.st_size, NULL)) == 0 && strcmp(w->rq.method, "HEAD") != 0) {
		char b[65536];
		ssize_t r;
		struct pv_diag d;

		pv_diag_clear(&d);
		while (rc == 0 && (r = read(fd, b, sizeof(b))) > 0)
			rc = net_conn_write(w->c, b, (size_t)r, &d);
	}
	close(fd);
	return rc;
}

/* ---- requests ---- */

/* The bearer token of the request, checked; 0 with w->p set, else the 401 was sent (*sent). */
static int
authenticate(struct web *w, int *sent)
{
	const char *a = http_header(&w->rq, "Authorization", NULL);
	const char *challenge = "WWW-Authenticate: Bearer realm=\"pacsvault\"\r\n";
	struct svc_token_info ti;
	struct pv_diag d, ed;
	char tok[SVC_TOKEN_MAX + 1];
	int rc;

	*sent = 0;
	pv_diag_clear(&d);
	pv_diag_clear(&ed);
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0) {
		if (svc_token_event(w->srv->s, NULL, NULL, w->addr, "dicomweb", "no bearer token", &ed) != 0)
			wlog(w, "audit failed: %s", ed.msg);
		*sent = 1;
		wlog(w, "refused: no bearer token");
		send_error(w, 401, "a bearer token is required", challenge);
		return PV_EAUTH;
	}
	snprintf(tok, sizeof(tok), "%s", a + 7 + strspn(a + 7, " "));
	rc = svc_token_check(w->srv->s, tok, &w->user, &ti, &d);
	pv_cleanse(tok, sizeof(tok));
	if (rc != 0) {
		if (svc_token_event(w->srv->s, NULL, ti.id, w->addr, "dicomweb", rc == PV_EAUTH ? d.msg : "the token "
		    "could not be checked", &ed) != 0)
			wlog(w, "audit failed: %s", ed.msg);
		wlog(w, "refused: %s", d.msg);
		*sent = 1;
		send_error(w, rc == PV_EAUTH ? 401 : 500, rc == PV_EAUTH ? "the token is not valid" : "the token could not "
		    "be checked", challenge);
		return PV_EAUTH;
	}
	if (!w->authed || strcmp(w->token_id, ti.id) != 0) {
		if (svc_token_event(w->srv->s, &w->user, ti.id, w->addr, "dicomweb", NULL, &ed) != 0) {
			wlog(w, "audit failed: %s", ed.msg);
			*sent = 1;
			send_error(w, 500, "the audit trail cannot be written", NULL);
			return PV_EIO;
		}
		w->authed = 1;
		snprintf(w->token_id, sizeof(w->token_id), "%s", ti.id);
		wlog(w, "authenticated %s (%s) by token %s", w->user.name, svc_role_name(w->user.role), ti.id);
	}
	w->p.name = w->user.name;
	w->p.role = w->user.role;
	w->p.auth = "token";
	w->p.addr = w->addr;
	w->p.ae = NULL;
	w->p.project = w->user.project[0] ? w->user.project : NULL;
	w->p.via = "dicomweb";
	return 0;
}

/* Splits "/dicomweb/..." into segments; returns how many (at most max), -1 when it is not under /dicomweb. */
static int
segments(char *path, char **seg, int max)
{
	int n = 0;

	if (strcmp(path, "/dicomweb") != 0 && strncmp(path, "/dicomweb/", 10) != 0)
		return -1;
	for (char *p = path + 9; *p == '/' && n < max + 1;) {
		*p++ = '\0';
		if (*p == '\0')
			break;
		seg[n++] = p;
		p += strcspn(p, "/");
	}
	return n > max ? max + 1 : n;
}

static int
route(struct web *w)
{
	char path[HTTP_TARGET_MAX], *s[10];
	int n, sent, rc;

	snprintf(path, sizeof(path), "%s", w->rq.path);
	n = segments(path, s, 8);
	{
		const char *origin = http_header(&w->rq, "Origin", NULL);
		w->cors = origin != NULL && w->srv->cfg->cors_origin[0] != '\0' && n >= 0 &&
		    strcmp(origin, w->srv->cfg->cors_origin) == 0;
	}
	if (strcmp(w->rq.method, "OPTIONS") == 0 && n >= 0) {
		/* a CORS preflight: answered for the configured origin only, without a token */
		if (skip_body(w, net_now_ms() + (int64_t)w->srv->cfg->idle_timeout_s * 1000) != 0) {
			w->keep = 0;
			return send_error(w, 400, "the body could not be read", NULL);
		}
		if (!w->cors)
			return send_error(w, 403, "this origin may not call the API from a browser", NULL);
		return send_all(w, 204, NULL, NULL, 0, "Access-Control-Allow-Methods: GET, POST\r\n"
		    "Access-Control-Allow-Headers: Authorization, Accept, Content-Type\r\nAccess-Control-Max-Age: 600\r\n");
	}
	if (strcmp(w->rq.method, "POST") == 0 && n >= 1 && n <= 2 && strcmp(s[0], "studies") == 0) {
		/* STOW-RS reads its own body, part by part */
		if ((rc = authenticate(w, &sent)) != 0) {
			w->keep = 0;   /* the body was not read */
			return sent ? 0 : rc;
		}
		return stow(w, n == 2 ? s[1] : NULL);
	}
	if ((rc = skip_body(w, net_now_ms() + (int64_t)w->srv->cfg->idle_timeout_s * 1000)) != 0) {
		w->keep = 0;
		return send_error(w, rc == PV_ELIMIT ? 413 : 400, rc == PV_ELIMIT ? "the body is over the limit" :
		    "the body could not be read", NULL);
	}
	if (strcmp(w->rq.method, "GET") != 0 && strcmp(w->rq.method, "HEAD") != 0)
		return send_error(w, 405, "only GET and HEAD are served here (and POST to /dicomweb/studies)",
		    "Allow: GET, HEAD\r\n");
	if (n < 0)
		return static_file(w);
	if ((rc = authenticate(w, &sent)) != 0)
		return sent ? 0 : rc;
	if (strcmp(w->rq.method, "HEAD") == 0)
		return send_error(w, 405, "HEAD is served for the viewer's files only", "Allow: GET\r\n");
#define IS(i, x) (n > (i) && strcmp(s[i], x) == 0)
	if (n == 1 && IS(0, "studies"))
		return qido(w, QUERY_STUDY, NULL, NULL);
	if (n == 1 && IS(0, "series"))
		return qido(w, QUERY_SERIES, NULL, NULL);
	if (n == 1 && IS(0, "instances"))
		return qido(w, QUERY_IMAGE, NULL, NULL);
	if (n == 3 && IS(0, "studies") && IS(2, "series"))
		return qido(w, QUERY_SERIES, s[1], NULL);
	if (n == 3 && IS(0, "studies") && IS(2, "instances"))
		return qido(w, QUERY_IMAGE, s[1], NULL);
	if (n == 5 && IS(0, "studies") && IS(2, "series") && IS(4, "instances"))
		return qido(w, QUERY_IMAGE, s[1], s[3]);
	if (n == 3 && IS(0, "studies") && IS(2, "metadata"))
		return metadata(w, s[1]);
	if (n == 5 && IS(0, "studies") && IS(2, "series") && IS(4, "metadata"))
		return metadata(w, s[3]);
	if (n == 7 && IS(0, "studies") && IS(2, "series") && IS(4, "instances") && IS(6, "metadata"))
		return metadata(w, s[5]);
	if (n == 7 && IS(0, "studies") && IS(2, "series") && IS(4, "instances") && IS(6, "bulkdata"))
		return bulkdata(w, s[5]);
	if (n == 8 && IS(0, "studies") && IS(2, "series") && IS(4, "instances") && IS(6, "frames"))
		return frames(w, s[5], s[7]);
	if (n == 2 && IS(0, "studies"))
		return wado(w, s[1]);
	if (n == 4 && IS(0, "studies") && IS(2, "series"))
		return wado(w, s[3]);
	if (n == 6 && IS(0, "studies") && IS(2, "series") && IS(4, "instances"))
		return wado(w, s[5]);
#undef IS
	return send_error(w, 404, "no such DICOMweb resource", NULL);
}

/* Reads more bytes into w->buf before deadline; 0, PV_ETRUNC (closed), PV_EIO. */
static int
fill(struct web *w, int64_t deadline)
{
	struct pv_diag d;
	size_t got = 0;
	int rc;

	if (w->have == sizeof(w->buf))
		return PV_ELIMIT;
	pv_diag_clear(&d);
	rc = net_conn_read_some(w->c, w->buf + w->have, sizeof(w->buf) - w->have, deadline, &got, &d);
	w->have += got;
	return got > 0 ? 0 : rc;
}

/* Reads and drops a request body (GET with one): within the data set limit. */
static int
skip_body(struct web *w, int64_t deadline)
{
	uint64_t max = w->srv->cfg->max_dataset;

	if (w->rq.chunked) {
		struct http_chunked ck;
		struct pv_diag d;

		http_chunked_init(&ck, max);
		pv_diag_clear(&d);
		for (;;) {
			size_t used = 0, on = 0;

			if (w->have > 0 && http_chunked_feed(&ck, w->buf, w->have, &used, NULL, &on, &d) != 0)
				return PV_EPARSE;
			memmove(w->buf, w->buf + used, w->have - used);
			w->have -= used;
			if (ck.done)
				return 0;
			if (fill(w, deadline) != 0)
				return PV_EIO;
		}
	}
	if (w->rq.content_length < 0)
		return 0;
	if ((uint64_t)w->rq.content_length > max)
		return PV_ELIMIT;
	uint64_t left = (uint64_t)w->rq.content_length;
	while (left > 0) {
		size_t k = w->have < left ? w->have : (size_t)left;

		memmove(w->buf, w->buf + k, w->have - k);
		w->have -= k;
		left -= k;
		if (left > 0 && fill(w, deadline) != 0)
			return PV_EIO;
	}
	return 0;
}

static void
serve_conn(struct web *w)
{
	const struct net_server_cfg *cfg = w->srv->cfg;

	for (;;) {
		int64_t start = net_now_ms(), deadline;
		size_t used = 0;
		int status = 0, rc;
		struct pv_diag d;

		/* a kept-alive connection waits idle_timeout for its next request; a head, once begun,
		 * must be whole within http_timeout (one byte a second holds nothing for long) */
		if (w->have == 0) {
			if (fill(w, start + (int64_t)cfg->idle_timeout_s * 1000) != 0)
				return;
			start = net_now_ms();
		}
		deadline = start + (int64_t)cfg->http_timeout_s * 1000;
		pv_diag_clear(&d);
		while ((rc = http_parse_head(w->buf, w->have, &w->rq, &used, &status, &d)) == PV_ETRUNC) {
			int fr = fill(w, deadline);
			if (fr != 0) {
				if (fr == PV_EIO && w->have > 0) {
					w->keep = 0;
					send_error(w, 408, "the request's head did not arrive in time", NULL);
					wlog(w, "closed: the request's head did not arrive within %d s", cfg->http_timeout_s);
				}
				return;
			}
			pv_diag_clear(&d);
		}
		if (rc != 0) {
			w->keep = 0;
			wlog(w, "bad request (%d): %s", status, d.msg);
			send_error(w, status, d.msg, NULL);
			/* a lingering close: what the client is still sending is read and dropped for a moment,
			 * so that closing does not reset the connection before it has read the answer */
			for (int64_t until = net_now_ms() + 1000, got = 0; got < ((int64_t)1 << 20);) {
				w->have = 0;
				if (fill(w, until) != 0)
					break;
				got += (int64_t)w->have;
			}
			return;
		}
		memmove(w->buf, w->buf + used, w->have - used);
		w->have -= used;
		w->keep = w->rq.keep_alive && !*w->srv->stop;
		if (route(w) != 0 || !w->keep)
			return;
	}
}

void *
net__web_thread(void *arg)
{
	struct assoc *a = arg;   /* (the listener's slot bookkeeping: its fd, id, addr, srv) */
	struct web *w = calloc(1, sizeof(*w));
	struct pv_diag d;

	pv_diag_clear(&d);
	if (w != NULL) {
		w->srv = a->srv;
		w->id = a->id;
		snprintf(w->addr, sizeof(w->addr), "%s", a->addr);
		if (net_conn_accept(a->srv->web_tls, a->fd, a->srv->cfg->http_timeout_s * 1000, &w->c, &d) != 0) {
			wlog(w, "refused: %s", d.msg);
			close(a->fd);
		} else {
			serve_conn(w);
			net_conn_close(w->c);
		}
		pv_cleanse(w, sizeof(*w));
		free(w);
	} else {
		close(a->fd);
	}
	net__conn_done(a);
	return NULL;
}
