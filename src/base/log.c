/* log.c: PHI-safe logging (see log.h for the rule). */
#include "pacsvault/base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

static enum pv_log_level log_level = PV_LOG_WARN;
static FILE *log_stream;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static unsigned char log_key[16];

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void
pv_log_set_level(enum pv_log_level level)
{
	log_level = level;
}

enum pv_log_level
pv_log_get_level(void)
{
	return log_level;
}

void
pv_log_set_stream(FILE *f)
{
	log_stream = f;
}

void
pv_log(enum pv_log_level level, const char *component, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	FILE *f;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	f = log_stream != NULL ? log_stream : stderr;
	pthread_mutex_lock(&log_lock);
	fprintf(f, "pacsvault: %s: %s: %s\n", level_names[level], component, line);
	fflush(f);
	pthread_mutex_unlock(&log_lock);
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t
load64le(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012). */
unsigned long long
pv_siphash24(const unsigned char key[16], const void *data, size_t n)
{
	const unsigned char *in = data;
	uint64_t k0 = load64le(key), k1 = load64le(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)n << 56, m;
	size_t i, left = n & 7;

	for (i = 0; i + 8 <= n; i += 8) {
		m = load64le(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < left; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static void
log_key_init(void)
{
	if (getrandom(log_key, sizeof(log_key), 0) != (ssize_t)sizeof(log_key)) {
		/* No entropy: fingerprints must still not be a plain hash. */
		uintptr_t a = (uintptr_t)&log_key;
		memcpy(log_key, &a, sizeof(a) < 16 ? sizeof(a) : 16);
	}
}

void
pv_log_fingerprint(const void *p, size_t n, char out[19])
{
	pthread_once(&key_once, log_key_init);
	snprintf(out, 19, "h:%016llx", pv_siphash24(log_key, p, n));
}
