/*
 * export.h: the ATNA export's content (RFC 5424 over TLS, RFC 5425; DICOM
 * PS3.15 A.5): net/syslog.c sends what these build. docs/FORMATS.md, "ATNA
 * export".
 */
#ifndef PV_SVC_EXPORT_H
#define PV_SVC_EXPORT_H
#include <stdint.h>
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"

/* The next entry the collector has not acknowledged (DIR/export.cursor; 0 when there is none). */
int svc_syslog_cursor_read(const char *dir, uint64_t *next, struct pv_diag *d) __attribute__((warn_unused_result));
/* Records that everything before next was received (written atomically). */
int svc_syslog_cursor_write(const char *dir, uint64_t next, struct pv_diag *d) __attribute__((warn_unused_result));
/*
 * Entries [from, *to) of the ledger in dir (at most batch) as syslog frames
 * into out, each an audit message (AuditSourceID source_id, or host), and
 * after them the checkpoint covering the most of them; entries that are
 * not audit events are skipped and counted. *size: the log's size.
 */
int svc_syslog_batch(const char *dir, const char *source_id, const char *host, uint64_t batch, uint64_t from,
    uint64_t *to, struct pv_buf *out, uint64_t *skipped, uint64_t *size, struct pv_diag *d)
    __attribute__((warn_unused_result));

#endif
