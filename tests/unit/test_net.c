/* test_net.c: upper layer PDUs and DIMSE command sets (src/net/ul.c, dimse.c). */
#include "harness.h"
#include "tests.h"
#include "pacsvault/net/dimse.h"
#include "pacsvault/net/http.h"
#include "pacsvault/net/ul.h"

#include <stdlib.h>
#include <string.h>

static struct ul_assoc *
sample_rq(void)
{
	struct ul_assoc *a = calloc(1, sizeof(*a));

	T_ASSERT(a != NULL);
	if (a == NULL)
		return NULL;
	a->type = UL_ASSOCIATE_RQ;
	strcpy(a->called, "PACSVAULT");
	strcpy(a->calling, "CT 1");
	a->npc = 2;
	a->pc[0].id = 1;
	strcpy(a->pc[0].abstract, "1.2.840.10008.1.1");
	strcpy(a->pc[0].ts[0], "1.2.840.10008.1.2");
	a->pc[0].nts = 1;
	a->pc[1].id = 3;
	strcpy(a->pc[1].abstract, "1.2.840.10008.5.1.4.1.1.2");
	strcpy(a->pc[1].ts[0], "1.2.840.10008.1.2.1");
	strcpy(a->pc[1].ts[1], "1.2.840.10008.1.2");
	a->pc[1].nts = 2;
	a->max_pdu = 16384;
	strcpy(a->impl_uid, "1.2.826.0.1.3680043.9.7777");
	strcpy(a->impl_version, "SYNTH_1");
	a->nroles = 1;
	strcpy(a->roles[0].uid, "1.2.840.10008.5.1.4.1.1.2");
	a->roles[0].scp = 1;
	a->has_identity = 1;
	a->identity.type = 2;
	a->identity.positive_response = 1;
	memcpy(a->identity.primary, "someone", 7);
	a->identity.nprimary = 7;
	memcpy(a->identity.secondary, "not-a-real-secret", 17);
	a->identity.nsecondary = 17;
	return a;
}

void
test_net_assoc_roundtrip(void)
{
	struct ul_assoc *a = sample_rq(), *b = calloc(1, sizeof(*b));
	struct pv_buf out;
	struct pv_diag d;
	uint8_t type;
	uint32_t len;

	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return;
	}
	pv_buf_init(&out, 1 << 20);
	pv_diag_clear(&d);
	T_ASSERT(ul_build_assoc(a, &out) == 0);
	T_ASSERT(ul_header((const uint8_t *)out.data, UL_PDU_MAX, &type, &len, &d) == 0);
	T_EQ_INT(type, UL_ASSOCIATE_RQ);
	T_EQ_INT(len, out.len - UL_HEADER);
	T_ASSERT(ul_parse_assoc(type, (const uint8_t *)out.data + UL_HEADER, len, b, &d) == 0);
	T_EQ_STR(b->called, "PACSVAULT");
	T_EQ_STR(b->calling, "CT 1");
	T_EQ_STR(b->app_context, UL_APP_CONTEXT);
	T_EQ_INT(b->npc, 2);
	T_EQ_INT(b->pc[1].id, 3);
	T_EQ_INT(b->pc[1].nts, 2);
	T_EQ_STR(b->pc[1].ts[1], "1.2.840.10008.1.2");
	T_EQ_INT(b->max_pdu, 16384);
	T_EQ_STR(b->impl_version, "SYNTH_1");
	T_EQ_INT(b->nroles, 1);
	T_EQ_INT(b->roles[0].scp, 1);
	T_EQ_INT(b->identity.type, 2);
	T_EQ_INT(b->identity.nsecondary, 17);
	T_ASSERT(memcmp(b->identity.secondary, "not-a-real-secret", 17) == 0);

	/* Every truncation of the body is refused with an error, never read past. */
	for (size_t cut = 0; cut < len; cut++) {
		pv_diag_clear(&d);
		T_ASSERT(ul_parse_assoc(type, (const uint8_t *)out.data + UL_HEADER, cut, b, &d) != 0);
		T_ASSERT(d.msg[0] != '\0');
	}
	/* An item length one past its PDU. */
	{
		uint8_t *p = (uint8_t *)out.data + UL_HEADER + 68;

		p[3]++;
		pv_diag_clear(&d);
		T_EQ_INT(ul_parse_assoc(type, (const uint8_t *)out.data + UL_HEADER, len, b, &d), PV_EPARSE);
		T_ASSERT(strstr(d.msg, "application context") != NULL || strstr(d.msg, "item") != NULL);
		p[3]--;
	}
	/* An even presentation context ID. */
	a->pc[0].id = 2;
	pv_buf_reset(&out);
	T_ASSERT(ul_build_assoc(a, &out) == 0);
	pv_diag_clear(&d);
	T_EQ_INT(ul_parse_assoc(UL_ASSOCIATE_RQ, (const uint8_t *)out.data + UL_HEADER, out.len - UL_HEADER, b, &d),
	    PV_EPARSE);
	T_ASSERT(strstr(d.msg, "not odd") != NULL);
	/* A header over the limit, and an unknown type. */
	{
		uint8_t h[6] = { 0x04, 0, 0x7f, 0xff, 0xff, 0xff };

		pv_diag_clear(&d);
		T_EQ_INT(ul_header(h, UL_PDU_MAX, &type, &len, &d), PV_ELIMIT);
		h[0] = 0x08;
		pv_diag_clear(&d);
		T_EQ_INT(ul_header(h, UL_PDU_MAX, &type, &len, &d), PV_EPARSE);
	}
	pv_buf_free(&out);
	free(a);
	free(b);
}

void
test_net_pdata_and_dimse(void)
{
	struct dimse_cmd c, e;
	struct pv_buf cmd, pdu;
	struct pv_diag d;
	struct ul_pdv v;
	size_t off = 0;
	uint8_t type;
	uint32_t len;

	memset(&c, 0, sizeof(c));
	c.field = DIMSE_C_STORE_RQ;
	c.msg_id = 7;
	c.priority = 0;
	c.dataset_type = 1;
	strcpy(c.affected_class, "1.2.840.10008.5.1.4.1.1.2");
	strcpy(c.affected_inst, "2.25.12345");
	strcpy(c.move_orig_ae, "WS1");
	c.move_orig_id = 3;
	pv_buf_init(&cmd, 1 << 16);
	pv_buf_init(&pdu, 1 << 20);
	T_ASSERT(dimse_build(&c, &cmd) == 0);
	T_EQ_INT(cmd.len % 2, 0);
	pv_diag_clear(&d);
	T_ASSERT(dimse_parse((const uint8_t *)cmd.data, cmd.len, &e, &d) == 0);
	T_EQ_INT(e.field, DIMSE_C_STORE_RQ);
	T_EQ_INT(e.msg_id, 7);
	T_EQ_STR(e.affected_inst, "2.25.12345");
	T_EQ_STR(e.move_orig_ae, "WS1");
	T_EQ_INT(e.move_orig_id, 3);
	T_ASSERT(e.dataset_type != DIMSE_NO_DATASET);
	/* In two PDVs of one P-DATA-TF. */
	T_ASSERT(ul_build_pdata(5, 1, 0, cmd.data, 10, &pdu) == 0);
	T_ASSERT(ul_header((const uint8_t *)pdu.data, UL_PDU_MAX, &type, &len, &d) == 0);
	T_ASSERT(ul_next_pdv((const uint8_t *)pdu.data + UL_HEADER, len, &off, &v, &d) == 1);
	T_EQ_INT(v.ctx, 5);
	T_EQ_INT(v.command, 1);
	T_EQ_INT(v.last, 0);
	T_EQ_INT(v.len, 10);
	T_EQ_INT(ul_next_pdv((const uint8_t *)pdu.data + UL_HEADER, len, &off, &v, &d), 0);
	/* A PDV length past the PDU. */
	((uint8_t *)pdu.data)[UL_HEADER + 3]++;
	off = 0;
	pv_diag_clear(&d);
	T_EQ_INT(ul_next_pdv((const uint8_t *)pdu.data + UL_HEADER, len, &off, &v, &d), PV_EPARSE);
	/* A command set with an element of another group, one out of order, one cut. */
	{
		uint8_t bad[12] = { 0x08, 0, 0x20, 0, 2, 0, 0, 0, 'A', 'B' };

		pv_diag_clear(&d);
		T_EQ_INT(dimse_parse(bad, 10, &e, &d), PV_EPARSE);
		/* every cut inside an element fails; one between elements parses only with both required ones */
		for (size_t cut = 1; cut < cmd.len; cut++) {
			const uint8_t *q = (const uint8_t *)cmd.data;
			size_t at = 0;

			while (at < cut)
				at += 8 + (size_t)(q[at + 4] | q[at + 5] << 8);
			pv_diag_clear(&d);
			if (dimse_parse(q, cut, &e, &d) == 0)
				T_ASSERT(at == cut && cut > 70);
		}
	}
	pv_buf_free(&cmd);
	pv_buf_free(&pdu);
}

static int
head_status(const char *req, struct http_req *r)
{
	struct pv_diag d;
	size_t used = 0;
	int status = 0;

	pv_diag_clear(&d);
	if (http_parse_head(req, strlen(req), r, &used, &status, &d) == 0)
		return used == strlen(req) ? 0 : -2;
	return status;
}

/* HTTP/1.1 framing: what is accepted, what is refused and with which status. */
void
test_net_http_framing(void)
{
	static struct http_req r;
	static const struct { const char *req; int status; } cases[] = {
		{ "GET /dicomweb/studies HTTP/1.1\r\nHost: a\r\n\r\n", 0 },
		{ "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0 },                  /* an empty line first is ignored */
		{ "GET / HTTP/1.0\r\n\r\n", 0 },                                 /* 1.0 needs no Host */
		{ "GET / HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400 },
		{ "GET /a/../b HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /a/%2e%2E/b HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400 },           /* absolute-form: not taken */
		{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
		{ "GET / FTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = head_status(cases[i].req, &r);
		if (st != cases[i].status)
			t_fail(__FILE__, __LINE__, "case %zu: status %d, expected %d", i, st, cases[i].status);
	}
	T_EQ_INT(head_status("GET /x%2Fy?a=1&b=%20c+d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", &r), 0);
	T_EQ_STR(r.method, "GET");
	T_EQ_STR(r.path, "/x/y");
	T_EQ_STR(r.query, "a=1&b=%20c+d");
	T_EQ_INT(r.keep_alive, 0);
	T_EQ_STR(http_header(&r, "host", NULL), "h");
	{
		char n[16], v[16];
		size_t pos = 0;
		T_EQ_INT(http_query_next(r.query, &pos, n, sizeof(n), v, sizeof(v)), 1);
		T_EQ_STR(n, "a");
		T_EQ_STR(v, "1");
		T_EQ_INT(http_query_next(r.query, &pos, n, sizeof(n), v, sizeof(v)), 1);
		T_EQ_STR(v, " c d");
		T_EQ_INT(http_query_next(r.query, &pos, n, sizeof(n), v, sizeof(v)), 0);
		pos = 0;
		T_EQ_INT(http_query_next("a=%00", &pos, n, sizeof(n), v, sizeof(v)), -1);
	}
	/* an incomplete head waits; a bare LF is refused before the end */
	{
		struct pv_diag d;
		size_t used;
		int st;
		pv_diag_clear(&d);
		T_EQ_INT(http_parse_head("GET / HTTP/1.1\r\nHo", 18, &r, &used, &st, &d), PV_ETRUNC);
		pv_diag_clear(&d);
		T_ASSERT(http_parse_head("GET / HTTP/1.1\nHo", 17, &r, &used, &st, &d) != PV_ETRUNC && st == 400);
	}
}

/* Chunked bodies: decoded across any split, extensions and trailers skipped, limits and syntax enforced. */
void
test_net_http_chunked(void)
{
	const char *body = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
	size_t n = strlen(body);

	for (size_t piece = 1; piece <= n; piece++) {
		struct http_chunked c;
		struct pv_diag d;
		char out[64];
		size_t at = 0, total = 0;
		int rc = 0;

		http_chunked_init(&c, 100);
		pv_diag_clear(&d);
		while (at < n && !c.done && rc == 0) {
			size_t k = n - at < piece ? n - at : piece, u = 0, on = 0;
			rc = http_chunked_feed(&c, body + at, k, &u, out + total, &on, &d);
			at += u;
			total += on;
		}
		if (rc != 0 || !c.done || total != 11 || memcmp(out, "hello world", 11) != 0 || strcmp(body + at, "NEXT") != 0)
			t_fail(__FILE__, __LINE__, "pieces of %zu: rc %d, done %d, %zu bytes", piece, rc, c.done, total);
	}
	static const struct { const char *in; int rc; } bad[] = {
		{ "g\r\n", PV_EPARSE }, { "5\nhello\r\n", PV_EPARSE }, { "5\r\nhelloX\r\n", PV_EPARSE },
		{ "1000\r\n", PV_ELIMIT }, { "ffffffffffffffff0\r\n", PV_ELIMIT }, { "\r\n", PV_EPARSE },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_chunked c;
		struct pv_diag d;
		size_t u, on;
		char out[64];

		http_chunked_init(&c, 100);
		pv_diag_clear(&d);
		int rc = http_chunked_feed(&c, bad[i].in, strlen(bad[i].in), &u, out, &on, &d);
		if (rc != bad[i].rc)
			t_fail(__FILE__, __LINE__, "bad case %zu: %d, expected %d", i, rc, bad[i].rc);
	}
}
