/* test_crypto.c: unit tests of src/crypto. */
#include "harness.h"
#include "tests.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/crypto/keyfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

void
test_sha256_hmac_vectors(void)
{
	uint8_t h[32], key[20], k2[4] = { 'J', 'e', 'f', 'e' };
	char x[65];

	/* FIPS 180-4 example "abc" */
	T_EQ_INT(pv_sha256("abc", 3, h), 0);
	hex(h, 32, x);
	T_EQ_STR(x, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* RFC 4231 test case 1 */
	memset(key, 0x0b, sizeof(key));
	T_EQ_INT(pv_hmac_sha256(key, 20, "Hi There", 8, h), 0);
	hex(h, 32, x);
	T_EQ_STR(x, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* RFC 4231 test case 2, fed in two parts */
	T_EQ_INT(pv_hmac_sha256_2(k2, 4, "what do ya want ", 16, "for nothing?", 12, h), 0);
	hex(h, 32, x);
	T_EQ_STR(x, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	T_ASSERT(pv_memeq_ct("abc", "abc", 3));
	T_ASSERT(!pv_memeq_ct("abc", "abd", 3));
}

/* The primitives that need no library (hash.c): getrandom, explicit_bzero, a constant-time compare. */
void
test_random_cleanse_compare(void)
{
	static uint8_t big[1 << 20], big2[1 << 20];
	uint8_t a[64] = { 0 }, b[64] = { 0 }, z[64] = { 0 };
	size_t zeros = 0;

	/* Two draws of 64 bytes: each non-zero and different (a failure has probability 2^-512). */
	T_EQ_INT(pv_random(a, sizeof(a)), 0);
	T_EQ_INT(pv_random(b, sizeof(b)), 0);
	T_ASSERT(memcmp(a, z, sizeof(a)) != 0);
	T_ASSERT(memcmp(a, b, sizeof(a)) != 0);
	/* A draw longer than one getrandom call (256 bytes here): filled to the end. */
	T_EQ_INT(pv_random(big, sizeof(big)), 0);
	T_EQ_INT(pv_random(big2, sizeof(big2)), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		zeros += big[i] == 0;
	T_ASSERT(zeros < sizeof(big) / 128);   /* about 1/256 of the bytes are zero */
	T_ASSERT(memcmp(big + sizeof(big) - 64, big2 + sizeof(big2) - 64, 64) != 0);
	T_ASSERT(memcmp(big + sizeof(big) - 64, z, 64) != 0);
	T_EQ_INT(pv_random(a, 0), 0);
	/* Wiping */
	pv_cleanse(a, sizeof(a));
	T_ASSERT(memcmp(a, z, sizeof(a)) == 0);
	pv_cleanse(NULL, 8);
	/* Comparison: equal, a difference at every position, empty input. */
	memcpy(b, big, sizeof(b));
	memcpy(a, big, sizeof(a));
	T_ASSERT(pv_memeq_ct(a, b, sizeof(a)));
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		T_ASSERT(!pv_memeq_ct(a, b, sizeof(a)));
		b[i] ^= 0x80;
	}
	T_ASSERT(pv_memeq_ct(a, b, 0));
}

void
test_keyfile(void)
{
	char path[300], id1[9], id2[9];
	struct pv_key k, r;
	struct pv_diag d;
	uint8_t buf[64];
	int fd;

	snprintf(path, sizeof(path), "%s/project.key", t_tmpdir());
	pv_diag_clear(&d);
	T_EQ_INT(pv_key_generate(&k, PV_KEY_PROJECT), 0);
	T_EQ_INT(pv_key_write(path, &k, &d), 0);
	{
		struct stat st;
		T_EQ_INT(stat(path, &st), 0);
		T_EQ_INT(st.st_mode & 0777, 0600);
		T_EQ_INT(st.st_size, PV_KEYFILE_SIZE);
	}
	pv_diag_clear(&d);
	T_EQ_INT(pv_key_write(path, &k, &d), PV_EEXIST);   /* never overwritten */
	pv_diag_clear(&d);
	T_EQ_INT(pv_key_read(path, PV_KEY_PROJECT, &r, &d), 0);
	T_EQ_MEM(r.key, k.key, PV_KEY_LEN);
	pv_key_id_hex(&k, id1);
	pv_key_id_hex(&r, id2);
	T_EQ_STR(id1, id2);
	pv_diag_clear(&d);
	T_EQ_INT(pv_key_read(path, PV_KEY_MASTER, &r, &d), PV_EPARSE);  /* wrong type */

	/* open to others: refused */
	T_EQ_INT(chmod(path, 0640), 0);
	pv_diag_clear(&d);
	T_EQ_INT(pv_key_read(path, PV_KEY_PROJECT, &r, &d), PV_EAUTH);
	T_ASSERT(strstr(d.msg, "0640") != NULL);
	T_EQ_INT(chmod(path, 0600), 0);

	/* a flipped key bit: the key id no longer matches */
	fd = open(path, O_RDWR);
	T_ASSERT(fd >= 0);
	T_EQ_INT(pread(fd, buf, 48, 0), 48);
	buf[20] ^= 1;
	T_EQ_INT(pwrite(fd, buf, 48, 0), 48);
	pv_diag_clear(&d);
	T_EQ_INT(pv_key_read(path, PV_KEY_PROJECT, &r, &d), PV_EINTEGRITY);
	/* truncated */
	T_EQ_INT(ftruncate(fd, 40), 0);
	close(fd);
	pv_diag_clear(&d);
	T_EQ_INT(pv_key_read(path, PV_KEY_PROJECT, &r, &d), PV_EPARSE);
	pv_diag_clear(&d);
	T_EQ_INT(pv_key_read("/nonexistent.key", PV_KEY_PROJECT, &r, &d), PV_ENOTFOUND);
	pv_key_clear(&k);
	for (size_t i = 0; i < sizeof(k); i++)
		T_EQ_INT(((uint8_t *)&k)[i], 0);
}
