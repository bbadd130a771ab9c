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
	unsigned __int128 v = 0;
	char digits[40];
	size_t nd = 0, n;

	for (int i = 0; i < 16; i++)
		v = v << 8 | b[i];
	do {
		digits[nd++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v != 0);
	memcpy(out, "2.25.", 5);
	n = 5;
	while (nd > 0)
		out[n++] = digits[--nd];
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
