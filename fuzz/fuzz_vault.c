/*
 * fuzz_vault.c: the vault's parsers on arbitrary bytes: a sealed object
 * opened with a fixed master key (every chunk; nothing may be handed out
 * that did not authenticate), a small sealed value, and C-FIND query keys
 * parsed and matched against the rest of the input.
 */
#include "fuzz.h"
#include "pacsvault/crypto/sealed.h"
#include "pacsvault/store/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
sealed_case(const uint8_t *data, size_t size)
{
	static struct pv_key master;
	struct pv_opener o;
	struct pv_diag d;
	FILE *f = tmpfile();
	uint8_t *buf;

	if (f == NULL)
		return;
	if (master.type == 0) {
		master.type = PV_KEY_MASTER;
		memset(master.key, 0x42, sizeof(master.key));
		memset(master.id, 0x17, sizeof(master.id));
	}
	if (fwrite(data, 1, size, f) != size || fflush(f) != 0 || (buf = malloc(PV_SEALED_CHUNK)) == NULL) {
		fclose(f);
		return;
	}
	pv_diag_clear(&d);
	if (pv_opener_begin(&o, &master, fileno(f), NULL, &d) == 0) {
		for (uint64_t i = 0; i < o.nchunks && i < 64; i++) {
			size_t n;

			if (pv_opener_chunk(&o, i, buf, &n, &d) == 0 && n > PV_SEALED_CHUNK)
				abort();
		}
	}
	pv_opener_free(&o);
	(void)pv_sealed_plain_size(size);
	free(buf);
	fclose(f);
	{
		uint8_t key[32], out[256];

		memset(key, 1, sizeof(key));
		if (size >= PV_SEALED_SMALL_OVERHEAD && size < sizeof(out) + PV_SEALED_SMALL_OVERHEAD &&
		    pv_open_small(key, "x", 1, data, size, out) == 0)
			abort();   /* a forgery under a key nobody holds */
	}
}

static void
query_case(const uint8_t *data, size_t size)
{
	char *z = malloc(size + 1), *nl;
	struct query_key k;
	struct pv_diag d;

	if (z == NULL)
		return;
	memcpy(z, data, size);
	z[size] = '\0';
	/* First line: the key; the rest: stored values, one per line. */
	nl = strchr(z, '\n');
	if (nl != NULL)
		*nl = '\0';
	pv_diag_clear(&d);
	if (query_key_parse(z, &k, &d) == 0 && nl != NULL) {
		char *v = nl + 1;

		for (int i = 0; i < 16 && v != NULL; i++) {
			char *e = strchr(v, '\n');

			if (e != NULL)
				*e = '\0';
			(void)query_key_match(&k, v);
			(void)query_key_match_any(&k, v);
			v = e != NULL ? e + 1 : NULL;
		}
	}
	query_key_free(&k);
	free(z);
}

int
fuzz_vault_one(const uint8_t *data, size_t size)
{
	sealed_case(data, size);
	query_case(data, size);
	return 0;
}

PV_FUZZ_ENTRY(fuzz_vault_one)
