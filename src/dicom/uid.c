/* uid.c: UID validation and generation (PS3.5 9, B.2). */
#include "pacsvault/dicom/uid.h"
#include "pacsvault/base/err.h"

#include <string.h>
#include <sys/random.h>

int
dcm_uid_valid(const char *s, size_t n)
{
	size_t comp = 0;

	if (n > 0 && s[n - 1] == '\0')
		n--;
	if (n == 0 || n > DCM_UID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (comp == 0)
				return 0;
			comp = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (comp == 1 && s[i - 1] == '0')
			return 0;  /* leading zero */
		comp++;
	}
	return comp > 0;
}

size_t
dcm_uid_from_128(const uint8_t b[16], char out[48])
{
	/* In base 10^19 (two 128-bit divisions, then 64-bit ones): one UID is
	 * made for every UID of every file de-identified. */
	static const uint64_t p19 = 10000000000000000000ull;
	unsigned __int128 v = 0;
	uint64_t part[3];
	int np = 0;
	size_t n = 5;

	for (int i = 0; i < 16; i++)
		v = v << 8 | b[i];
	do {
		part[np++] = (uint64_t)(v % p19);
		v /= p19;
	} while (v != 0);
	memcpy(out, "2.25.", 5);
	for (int k = np - 1; k >= 0; k--) {
		char d[20];
		int nd = 0;
		uint64_t x = part[k];

		do {
			d[nd++] = (char)('0' + (int)(x % 10));
			x /= 10;
		} while (x != 0);
		if (k != np - 1)
			while (nd < 19)
				d[nd++] = '0';  /* a lower part has all its 19 digits */
		while (nd > 0)
			out[n++] = d[--nd];
	}
	out[n] = '\0';
	return n;
}

int
dcm_uid_generate(char out[48])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return PV_EIO;
	dcm_uid_from_128(b, out);
	return 0;
}
