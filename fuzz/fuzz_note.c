/*
 * fuzz_note.c: the ledger's text parsers on arbitrary bytes: verifier keys,
 * signed notes (opened with two known keys), checkpoint bodies and
 * tlog-proof bundles. What
 * parses must format back to the same bytes (checkpoints) and what opens
 * must have a text ending in a newline inside the input.
 */
#include "fuzz.h"
#include "pacsvault/ledger/note.h"
#include "pacsvault/ledger/witness.h"

#include <stdlib.h>
#include <string.h>

int
fuzz_note_one(const uint8_t *data, size_t size)
{
	static const char *const vk[] = {
		"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
		"EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop",
	};
	struct lg_verifier v[2];
	struct lg_checkpoint c;
	struct pv_diag d;
	int verified[2];
	size_t tl;
	char *z = malloc(size + 1);

	if (z == NULL)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	if (lg_vkey_parse(z, &v[0]) == 0 && !lg_name_valid(v[0].name, strlen(v[0].name)))
		abort();
	if (lg_vkey_parse(vk[0], &v[0]) != 0 || lg_vkey_parse(vk[1], &v[1]) != 0)
		abort();
	pv_diag_clear(&d);
	if (lg_note_open(data, size, v, 2, &tl, verified, &d) == 0 && (tl == 0 || tl > size || data[tl - 1] != '\n'))
		abort();
	pv_diag_clear(&d);
	if (lg_checkpoint_parse(z, size, &c, &d) == 0) {
		struct pv_buf b;
		struct lg_checkpoint c2;
		pv_buf_init(&b, 1 << 16);
		if (lg_checkpoint_format(&c, &b) != 0 || lg_checkpoint_parse(b.data, b.len, &c2, &d) != 0 ||
		    c2.size != c.size || memcmp(c2.root, c.root, 32) != 0 || strcmp(c2.origin, c.origin) != 0)
			abort();
		pv_buf_free(&b);
	}
	{
		uint64_t idx;
		uint8_t proof[64][32];
		size_t plen, off;
		if (lg_proof_parse(data, size, &idx, proof, &plen, &off) == 0 && (off >= size || plen > 64))
			abort();
	}
	{
		/* Witness policies; and the input as a note with the cosignature key of a witness. */
		static struct lg_policy p;
		static const char *const cosig_vkey = "example.com/witness+10a1c019+BGSEitir7W6FmBs7OHWyUrh2frtLAvcDrKOx5xu9ao5Q";
		struct lg_verifier w;
		uint64_t ts = 0;

		pv_diag_clear(&d);
		if (lg_policy_parse(z, size, &p, &d) == 0) {
			int cos[LG_POLICY_MAX] = { 0 };

			if (p.quorum_kind < 0 || p.nwit > LG_POLICY_MAX || p.ngroups > LG_POLICY_MAX)
				abort();
			(void)lg_policy_satisfied(&p, cos);
		} else if (d.msg[0] == '\0') {
			abort();
		}
		if (lg_vkey_parse(cosig_vkey, &w) != 0 || w.type != LG_SIG_COSIGNATURE)
			abort();
		pv_diag_clear(&d);
		/* A note that opens was cosigned by that witness: only possible with its key. */
		if (lg_note_open_ts(data, size, &w, 1, &tl, verified, &ts, &d) == 0 && (!verified[0] || tl > size))
			abort();
	}
	free(z);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_note_one)
