/*
 * fuzz_pdu.c: the DICOM upper layer and DIMSE parsers on arbitrary bytes,
 * read as a stream of PDUs, as a peer would send them: each header
 * checked, each A-ASSOCIATE parsed, built again and parsed to the same
 * structure, each P-DATA-TF's PDVs walked and the command fragments
 * reassembled and parsed as a command set, built again and parsed the same.
 */
#include "fuzz.h"
#include "pacsvault/net/dimse.h"
#include "pacsvault/net/ul.h"

#include <stdlib.h>
#include <string.h>

static void
assoc_roundtrip(const struct ul_assoc *a)
{
	struct ul_assoc *b = malloc(sizeof(*b));
	struct pv_buf out;
	struct pv_diag d;
	uint8_t type;
	uint32_t len;

	if (b == NULL)
		return;
	pv_buf_init(&out, (size_t)1 << 24);
	pv_diag_clear(&d);
	if (ul_build_assoc(a, &out) == 0) {
		if (ul_header((const uint8_t *)out.data, UL_PDU_MAX, &type, &len, &d) != 0 || len != out.len - UL_HEADER ||
		    ul_parse_assoc(type, (const uint8_t *)out.data + UL_HEADER, len, b, &d) != 0)
			abort();
		if (strcmp(a->called, b->called) != 0 || strcmp(a->calling, b->calling) != 0 || a->npc != b->npc ||
		    a->max_pdu != b->max_pdu || a->nroles != b->nroles || a->has_identity != b->has_identity)
			abort();
		for (size_t i = 0; i < a->npc; i++)
			if (a->pc[i].id != b->pc[i].id || a->pc[i].nts != b->pc[i].nts ||
			    strcmp(a->pc[i].abstract, b->pc[i].abstract) != 0)
				abort();
	}
	pv_buf_free(&out);
	free(b);
}

static void
command(const uint8_t *p, size_t n)
{
	struct dimse_cmd c, c2;
	struct pv_buf out;
	struct pv_diag d;

	pv_diag_clear(&d);
	if (dimse_parse(p, n, &c, &d) != 0)
		return;
	pv_buf_init(&out, DIMSE_CMD_MAX * 2);
	if (dimse_build(&c, &out) == 0) {
		if (dimse_parse((const uint8_t *)out.data, out.len, &c2, &d) != 0 || c2.field != c.field ||
		    strcmp(c2.affected_inst, c.affected_inst) != 0)
			abort();
	}
	pv_buf_free(&out);
}

int
fuzz_pdu_one(const uint8_t *data, size_t size)
{
	struct ul_assoc *a = malloc(sizeof(*a));
	struct pv_buf cmd;
	size_t off = 0;

	if (a == NULL)
		return 0;
	pv_buf_init(&cmd, DIMSE_CMD_MAX);
	while (size - off >= UL_HEADER) {
		struct pv_diag d;
		uint8_t type;
		uint32_t len;
		const uint8_t *body;

		pv_diag_clear(&d);
		if (ul_header(data + off, 1 << 20, &type, &len, &d) != 0 || len > size - off - UL_HEADER)
			break;
		body = data + off + UL_HEADER;
		switch (type) {
		case UL_ASSOCIATE_RQ:
		case UL_ASSOCIATE_AC:
			if (ul_parse_assoc(type, body, len, a, &d) == 0)
				assoc_roundtrip(a);
			break;
		case UL_P_DATA_TF: {
			struct ul_pdv v;
			size_t po = 0;
			int r;

			while ((r = ul_next_pdv(body, len, &po, &v, &d)) == 1) {
				if (v.len > len || v.data < body || v.data + v.len > body + len)
					abort();
				if (!v.command)
					continue;
				if (pv_buf_append(&cmd, v.data, v.len) != 0)
					pv_buf_reset(&cmd);
				else if (v.last) {
					command((const uint8_t *)cmd.data, cmd.len);
					pv_buf_reset(&cmd);
				}
			}
			break;
		}
		case UL_ASSOCIATE_RJ: {
			struct ul_reject r;

			if (ul_parse_reject(body, len, &r, &d) == 0 && r.result == 0 && r.source > 3)
				pv_diag_clear(&d);   /* any values parse; nothing to check */
			break;
		}
		case UL_ABORT: {
			struct ul_abort r;

			if (ul_parse_abort(body, len, &r, &d) == 0 && r.source > 2)
				pv_diag_clear(&d);
			break;
		}
		default:
			if (ul_parse_release(body, len, &d) != 0 && len == 4)
				abort();   /* four bytes are always a release body */
			break;
		}
		off += UL_HEADER + len;
	}
	/* the input as one command set too */
	command(data, size);
	pv_buf_free(&cmd);
	free(a);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_pdu_one)
