/*
 * log.h: PHI-safe logging.
 *
 * Log lines go to stderr (or a set stream) with a level and a component.
 * The rule that keeps patient data out of logs: callers pass tags, offsets,
 * lengths, counts and codes, never element values. Where a value must be
 * correlated across lines (the same patient in two messages), log
 * pv_log_fingerprint() of it: a keyed 64-bit hash under a key drawn at
 * process start, useless outside this process. Every formatted line is also
 * scrubbed of control characters so input cannot forge log lines.
 */
#ifndef PV_BASE_LOG_H
#define PV_BASE_LOG_H

#include <stddef.h>
#include <stdio.h>

enum pv_log_level { PV_LOG_ERROR = 0, PV_LOG_WARN, PV_LOG_INFO, PV_LOG_DEBUG };

/* Lines above level are dropped. Default PV_LOG_WARN. */
void pv_log_set_level(enum pv_log_level level);
enum pv_log_level pv_log_get_level(void);
/* Sends log lines to f (default stderr). Not owned. */
void pv_log_set_stream(FILE *f);

/* Writes one line "pacsvault: LEVEL: component: message". Thread-safe. */
void pv_log(enum pv_log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Writes "h:" + 16 hex digits of SipHash-2-4 of (p, n) under the process
 * key into out (at least 19 bytes). Same value, same fingerprint, within one
 * process only.
 */
void pv_log_fingerprint(const void *p, size_t n, char out[19]);

/* SipHash-2-4 of (p, n) under a 16-byte key (exposed for tests). */
unsigned long long pv_siphash24(const unsigned char key[16], const void *p, size_t n);

#endif
