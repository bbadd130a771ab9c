/*
 * test_store.c: unit tests of the sealed object format (src/crypto/sealed.c,
 * against vectors from an independent Python implementation) and of C-FIND
 * matching (src/store/query.c).
 */
#include "harness.h"
#include "tests.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/crypto/sealed.h"
#include "pacsvault/store/query.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The fixed master key of the vectors (bytes 0..31) with its key id as keyfile.c derives it. */
static void
fixed_master(struct pv_key *k)
{
	static const char label[] = "pacsvault key id";
	uint8_t buf[sizeof(label) - 1 + 1 + 32], h[32];

	memset(k, 0, sizeof(*k));
	k->type = PV_KEY_MASTER;
	for (int i = 0; i < 32; i++)
		k->key[i] = (uint8_t)i;
	memcpy(buf, label, sizeof(label) - 1);
	buf[sizeof(label) - 1] = PV_KEY_MASTER;
	memcpy(buf + sizeof(label) - 1 + 1, k->key, 32);
	T_ASSERT(pv_sha256(buf, sizeof(buf), h) == 0);
	memcpy(k->id, h, 4);
}

/* Seals n pattern bytes with the fixed inputs into a temporary file; returns its fd (at 0). */
static int
seal_fixed(const struct pv_key *master, size_t n, size_t step)
{
	char path[] = "/tmp/pv-test-sealed-XXXXXX";
	int fd = mkstemp(path);
	uint8_t dk[32], nonce[12], objid[16];
	struct pv_sealer s;
	uint8_t *p = malloc(n + 1);
	struct pv_diag d;

	unlink(path);
	for (int i = 0; i < 32; i++)
		dk[i] = (uint8_t)(0x40 + i);
	for (int i = 0; i < 12; i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 16; i++)
		objid[i] = (uint8_t)(0x10 + i);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i % 251);
	pv_diag_clear(&d);
	T_ASSERT(pv_sealer_begin_fixed(&s, master, objid, dk, nonce, fd, &d) == 0);
	/* Fed in pieces of step bytes: chunking must not depend on how the input arrives. */
	for (size_t off = 0; off < n; off += step)
		T_ASSERT(pv_sealer_update(&s, p + off, n - off < step ? n - off : step, &d) == 0);
	T_ASSERT(pv_sealer_finish(&s, &d) == 0);
	pv_sealer_free(&s);
	free(p);
	return fd;
}

static size_t
file_bytes(int fd, uint8_t **out)
{
	off_t n = lseek(fd, 0, SEEK_END);
	uint8_t *p = malloc((size_t)n + 1);

	T_ASSERT(pread(fd, p, (size_t)n, 0) == n);
	*out = p;
	return (size_t)n;
}

/* Opens every chunk; returns 0 when all authenticate and the plaintext is the pattern of n bytes. */
static int
open_all(const struct pv_key *master, int fd, size_t n, int *code)
{
	struct pv_opener o;
	struct pv_diag d;
	uint8_t *buf = malloc(PV_SEALED_CHUNK);
	uint8_t objid[16];
	size_t total = 0;
	int rc;

	for (int i = 0; i < 16; i++)
		objid[i] = (uint8_t)(0x10 + i);
	pv_diag_clear(&d);
	rc = pv_opener_begin(&o, master, fd, objid, &d);
	for (uint64_t i = 0; rc == 0 && i < o.nchunks; i++) {
		size_t got;

		rc = pv_opener_chunk(&o, i, buf, &got, &d);
		for (size_t k = 0; rc == 0 && k < got; k++)
			if (buf[k] != (uint8_t)((total + k) % 251))
				rc = -100;
		total += got;
	}
	if (rc == 0 && total != n)
		rc = -101;
	pv_opener_free(&o);
	free(buf);
	*code = rc;
	return rc;
}

void
test_sealed_vectors(void)
{
	FILE *f = fopen("tests/vectors/sealed.tsv", "r");
	struct pv_key m;
	char line[1024];
	int rows = 0;

	T_ASSERT(f != NULL);
	if (f == NULL)
		return;
	fixed_master(&m);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *len, *sha, *hexs;
		uint8_t *p, h[32];
		char hx[65];
		size_t n, sz;
		int fd, code;

		if (line[0] == '#')
			continue;
		line[strcspn(line, "\n")] = '\0';
		len = strtok(line, "\t");
		sha = strtok(NULL, "\t");
		hexs = strtok(NULL, "\t");
		T_ASSERT(len != NULL && sha != NULL && hexs != NULL);
		if (len == NULL || sha == NULL || hexs == NULL)
			break;
		n = strtoul(len, NULL, 10);
		for (size_t step = 1000; step <= 70000; step += 69000) {
			fd = seal_fixed(&m, n, step);
			sz = file_bytes(fd, &p);
			T_ASSERT(pv_sha256(p, sz, h) == 0);
			for (int i = 0; i < 32; i++)
				snprintf(hx + 2 * i, 3, "%02x", h[i]);
			if (strcmp(hx, sha) != 0)
				t_fail(__FILE__, __LINE__, "sealed %zu bytes (step %zu): sha256 %s, vector %s", n, step,
				    hx, sha);
			T_EQ_INT(pv_sealed_plain_size(sz), (long long)n);
			T_EQ_INT(open_all(&m, fd, n, &code), 0);
			free(p);
			close(fd);
		}
		rows++;
	}
	fclose(f);
	T_EQ_INT(rows, 6);
}

void
test_sealed_tamper(void)
{
	struct pv_key m, other, next;
	uint8_t *p, junk[PV_SEALED_CHUNK + PV_SEALED_TAG];
	size_t n = 3 * PV_SEALED_CHUNK + 100, sz;
	int fd, code;
	struct pv_diag d;

	fixed_master(&m);
	T_ASSERT(pv_key_generate(&other, PV_KEY_MASTER) == 0);
	T_ASSERT(pv_key_generate(&next, PV_KEY_MASTER) == 0);
	fd = seal_fixed(&m, n, 4096);
	sz = file_bytes(fd, &p);
	T_EQ_INT(open_all(&m, fd, n, &code), 0);
	/* Every 97th byte flipped (header, slot 0, every chunk, tags): never opens. Slot 1 is
	 * unused here: no key reads it until a rotation writes it. */
	for (size_t off = 0; off < sz; off += 97) {
		uint8_t b = p[off] ^ 0x01;

		if (off >= 96 && off < 160)
			continue;
		T_ASSERT(pwrite(fd, &b, 1, (off_t)off) == 1);
		if (open_all(&m, fd, n, &code) == 0)
			t_fail(__FILE__, __LINE__, "a flipped bit at %zu went unnoticed", off);
		T_ASSERT(pwrite(fd, &p[off], 1, (off_t)off) == 1);
	}
	/* Unused slot 1 is outside every check until a rotation uses it. */
	T_EQ_INT(open_all(&m, fd, n, &code), 0);
	/* Truncated at every chunk boundary and inside the last chunk. */
	for (size_t cut = PV_SEALED_HDR; cut < sz; cut += (PV_SEALED_CHUNK + PV_SEALED_TAG) / 2) {
		T_ASSERT(ftruncate(fd, (off_t)cut) == 0);
		T_ASSERT(open_all(&m, fd, n, &code) != 0);
		T_ASSERT(pwrite(fd, p, sz, 0) == (ssize_t)sz);
	}
	T_ASSERT(ftruncate(fd, (off_t)sz - 1) == 0);
	T_ASSERT(open_all(&m, fd, n, &code) != 0);
	T_ASSERT(pwrite(fd, p, sz, 0) == (ssize_t)sz);
	/* Chunks 0 and 1 swapped. */
	memcpy(junk, p + PV_SEALED_HDR, sizeof(junk));
	T_ASSERT(pwrite(fd, p + PV_SEALED_HDR + sizeof(junk), sizeof(junk), PV_SEALED_HDR) == (ssize_t)sizeof(junk));
	T_ASSERT(pwrite(fd, junk, sizeof(junk), PV_SEALED_HDR + sizeof(junk)) == (ssize_t)sizeof(junk));
	T_ASSERT(open_all(&m, fd, n, &code) == PV_EINTEGRITY);
	T_ASSERT(pwrite(fd, p, sz, 0) == (ssize_t)sz);
	/* An extra chunk appended (a copy of the last). */
	T_ASSERT(pwrite(fd, p + sz - 116, 116, (off_t)sz) == 116);
	T_ASSERT(open_all(&m, fd, n, &code) != 0);
	T_ASSERT(ftruncate(fd, (off_t)sz) == 0);
	/* The wrong master key: an authentication error, not data. */
	T_EQ_INT(open_all(&other, fd, n, &code), PV_EAUTH);
	/* Rotation: new wrap in slot 1, both open; after the drop only the new one. */
	pv_diag_clear(&d);
	T_EQ_INT(pv_sealed_rewrap(fd, &m, &next, NULL, &d), 0);
	T_EQ_INT(pv_sealed_rewrap(fd, &m, &next, NULL, &d), 0);   /* idempotent */
	T_EQ_INT(open_all(&m, fd, n, &code), 0);
	T_EQ_INT(open_all(&next, fd, n, &code), 0);
	T_EQ_INT(pv_sealed_drop_other_slots(fd, &next, &d), 0);
	T_EQ_INT(open_all(&m, fd, n, &code), PV_EAUTH);
	T_EQ_INT(open_all(&next, fd, n, &code), 0);
	/* The body was not rewritten. */
	{
		uint8_t *q;
		size_t qn = file_bytes(fd, &q);

		T_EQ_INT(qn, sz);
		T_ASSERT(memcmp(q + PV_SEALED_HDR, p + PV_SEALED_HDR, sz - PV_SEALED_HDR) == 0);
		free(q);
	}
	/* Shredded: no key opens it. */
	T_EQ_INT(pv_sealed_shred(fd, &d), 0);
	T_ASSERT(open_all(&next, fd, n, &code) != 0);
	T_ASSERT(open_all(&m, fd, n, &code) != 0);
	free(p);
	close(fd);
}

void
test_sealed_small(void)
{
	uint8_t key[32], out[64 + PV_SEALED_SMALL_OVERHEAD], back[64];

	memset(key, 7, sizeof(key));
	T_EQ_INT(pv_seal_small(key, "aad", 3, "DOE^JOHN", 8, out), 0);
	T_EQ_INT(pv_open_small(key, "aad", 3, out, 8 + PV_SEALED_SMALL_OVERHEAD, back), 0);
	T_EQ_MEM(back, "DOE^JOHN", 8);
	T_EQ_INT(pv_open_small(key, "aab", 3, out, 8 + PV_SEALED_SMALL_OVERHEAD, back), PV_EINTEGRITY);
	out[14] ^= 1;
	T_EQ_INT(pv_open_small(key, "aad", 3, out, 8 + PV_SEALED_SMALL_OVERHEAD, back), PV_EINTEGRITY);
	T_EQ_INT(pv_open_small(key, "aad", 3, out, 10, back), PV_EINTEGRITY);
}

struct qcase {
	const char *key;
	const char *value;   /* NULL: absent */
	int match;
};

void
test_query_matching(void)
{
	/* PS3.4 C.2.2.2: each row is a key, a stored value and whether it matches. */
	static const struct qcase cases[] = {
		{ "PatientName=", "DOE^JOHN", 1 },
		{ "PatientName=", NULL, 1 },
		{ "PatientName=DOE^JOHN", "DOE^JOHN", 1 },
		{ "PatientName=doe^john", "DOE^JOHN", 1 },
		{ "PatientName=DOE^JOHN", "DOE^JOHN^^^", 1 },
		{ "PatientName=DOE^JOHN", "DOE^JOHNNY", 0 },
		{ "PatientName=DOE", "DOE^JOHN", 0 },
		{ "PatientName=DOE*", "DOE^JOHN", 1 },
		{ "PatientName=*JOHN", "DOE^JOHN", 1 },
		{ "PatientName=D?E^*", "DOE^JOHN", 1 },
		{ "PatientName=D?E^*", "DE^JOHN", 0 },
		{ "PatientName=*", NULL, 0 },
		{ "PatientName=*", "", 1 },
		{ "PatientName=王*", "王^小明", 1 },
		{ "PatientName=?^小明", "王^小明", 1 },
		{ "PatientName=??^小明", "王^小明", 0 },
		{ "PatientName=DOE", NULL, 0 },
		{ "PatientID=ID1", "ID1", 1 },
		{ "PatientID=id1", "ID1", 0 },
		{ "PatientID=ID*", "ID1", 1 },
		{ "PatientID=ID1 ", "ID1", 1 },
		{ "StudyDescription=*chest*", "CT chest w/o", 1 },
		{ "StudyDescription=*CHEST*", "CT chest w/o", 0 },
		{ "StudyDate=20200101", "20200101", 1 },
		{ "StudyDate=20200101", "20200102", 0 },
		{ "StudyDate=20200101-20201231", "20200615", 1 },
		{ "StudyDate=20200101-20201231", "20210101", 0 },
		{ "StudyDate=20200101-20201231", "20191231", 0 },
		{ "StudyDate=20200101-20201231", "20201231", 1 },
		{ "StudyDate=20200101-", "20991231", 1 },
		{ "StudyDate=-20200101", "19000101", 1 },
		{ "StudyDate=-20200101", "20200102", 0 },
		{ "StudyDate=20200101-20201231", "", 0 },
		{ "StudyDate=20200101-20201231", "1997.04.24", 0 },
		{ "StudyTime=0800-1200", "0930", 1 },
		{ "StudyTime=0800-1200", "120059.5", 1 },
		{ "StudyTime=0800-1200", "1201", 0 },
		{ "StudyTime=0800-1200", "075959", 0 },
		{ "StudyTime=-0800", "070000.123", 1 },
		{ "StudyTime=101500", "101500", 1 },
		{ "StudyInstanceUID=1.2.3\\1.2.4", "1.2.4", 1 },
		{ "StudyInstanceUID=1.2.3\\1.2.4", "1.2.5", 0 },
		{ "StudyInstanceUID=1.2.3\\1.2.4", "1.2", 0 },
		{ "StudyInstanceUID=1.2.3", "1.2.3", 1 },
		{ "SeriesNumber=2", "02", 1 },
		{ "SeriesNumber=2", " 2", 1 },
		{ "SeriesNumber=2", "3", 0 },
		{ "Modality=CT", "CT", 1 },
		{ "Modality=ct", "CT", 0 },
		{ "Modality=C?", "CT", 1 },
		{ "AccessionNumber=*", NULL, 0 },
	};
	int fails = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct query_key k;
		struct pv_diag d;
		int got;

		pv_diag_clear(&d);
		if (query_key_parse(cases[i].key, &k, &d) != 0) {
			t_fail(__FILE__, __LINE__, "key '%s' refused: %s", cases[i].key, d.msg);
			query_key_free(&k);
			continue;
		}
		got = query_key_match(&k, cases[i].value);
		if (got != cases[i].match) {
			t_fail(__FILE__, __LINE__, "key '%s' on '%s': %d, want %d", cases[i].key,
			    cases[i].value ? cases[i].value : "(absent)", got, cases[i].match);
			fails++;
		}
		query_key_free(&k);
	}
	/* Multi-valued stored values (ModalitiesInStudy). */
	{
		struct query_key k;
		struct pv_diag d;

		T_EQ_INT(query_key_parse("ModalitiesInStudy=MR", &k, &d), 0);
		T_EQ_INT(query_key_match_any(&k, "CT\\MR\\SR"), 1);
		T_EQ_INT(query_key_match_any(&k, "CT\\SR"), 0);
		query_key_free(&k);
	}
	/* Refused keys: not indexed, a range on a non-date VR, malformed dates, return-only keys. */
	{
		static const char *const bad[] = {
			"PatientWeight=70", "Nonsense=1", "StudyDate=2020", "StudyDate=2020-01-01x",
			"StudyTime=25", "NumberOfStudyRelatedInstances=3", "=x",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct query_key k;
			struct pv_diag d;

			pv_diag_clear(&d);
			if (query_key_parse(bad[i], &k, &d) == 0)
				t_fail(__FILE__, __LINE__, "key '%s' accepted", bad[i]);
			else
				T_ASSERT(d.msg[0] != '\0');
			query_key_free(&k);
		}
	}
	/* Pathological wildcards stay linear. */
	{
		char s[4001];

		memset(s, 'a', 4000);
		s[4000] = '\0';
		T_EQ_INT(query_wild_match("*a*a*a*a*a*a*a*a*a*a*b", s, 0), 0);
		T_EQ_INT(query_wild_match("*a*a*a*a*a*a*a*a*a*a*", s, 0), 1);
	}
	T_EQ_INT(fails, 0);
}
