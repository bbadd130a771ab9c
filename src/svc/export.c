/*
 * export.c: what the ATNA exporter sends (export.h): the ledger's entries as
 * RFC 5424 frames of DICOM audit messages, with the checkpoint covering
 * them, and the cursor of what the collector has. The transport (TLS) is
 * net/syslog.c's.
 */
#include "pacsvault/svc/export.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/ledger/atna.h"
#include "pacsvault/ledger/event.h"
#include "pacsvault/ledger/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CURSOR_MAGIC "pacsvault-export 1"

int
svc_syslog_cursor_read(const char *dir, uint64_t *next, struct pv_diag *d)
{
	char path[4096], buf[128];
	unsigned char *text = NULL;
	size_t len = 0;
	unsigned long long n;
	char tail;

	*next = 0;
	snprintf(path, sizeof(path), "%s/export.cursor", dir);
	if (access(path, F_OK) != 0)
		return 0;
	if (pv_read_file(path, sizeof(buf) - 1, &text, &len, d) != 0)
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot read", path);
	memcpy(buf, text, len);
	buf[len] = '\0';
	free(text);
	if (sscanf(buf, CURSOR_MAGIC "\nnext %llu%c", &n, &tail) != 2 || tail != '\n')
		return pv_diag_set(d, PV_EPARSE, -1, "%s: not '" CURSOR_MAGIC "\\nnext N\\n'", path);
	*next = n;
	return 0;
}

int
svc_syslog_cursor_write(const char *dir, uint64_t next, struct pv_diag *d)
{
	struct pv_atomic af;
	char path[4096], buf[64];
	int n, rc;

	snprintf(path, sizeof(path), "%s/export.cursor", dir);
	n = snprintf(buf, sizeof(buf), CURSOR_MAGIC "\nnext %llu\n", (unsigned long long)next);
	if ((rc = pv_atomic_open(&af, path, 0644, d)) != 0)
		return rc;
	if (pv_write_all(af.fd, buf, (size_t)n) != 0) {
		pv_atomic_abort(&af);
		return pv_diag_set(d, PV_EIO, -1, "%s: cannot write", path);
	}
	return pv_atomic_commit(&af, d);
}

int
svc_syslog_batch(const char *dir, const char *source_id, const char *host, uint64_t batch, uint64_t from,
    uint64_t *to, struct pv_buf *out, uint64_t *skipped, uint64_t *size, struct pv_diag *d)
{
	struct lg_log *l = NULL;
	struct pv_buf entry, xml;
	char *scratch = NULL, origin[256];
	uint64_t end;
	int rc;

	if ((rc = lg_log_open_wait(dir, 30000, &l, d)) != 0)
		return rc;
	*size = lg_log_size(l);
	snprintf(origin, sizeof(origin), "%s", lg_log_origin(l));
	end = *size;
	if (end > from + batch)
		end = from + batch;
	pv_buf_init(&entry, LG_ENTRY_MAX + 16);
	pv_buf_init(&xml, (size_t)1 << 24);
	if ((scratch = malloc(LG_EVENT_SCRATCH(LG_ENTRY_MAX))) == NULL)
		rc = PV_ENOMEM;
	for (uint64_t i = from; i < end && rc == 0; i++) {
		struct lg_event e;
		struct pv_diag ed;

		pv_buf_reset(&entry);
		if ((rc = lg_log_entry(l, i, &entry, d)) != 0)
			break;
		pv_diag_clear(&ed);
		if (lg_event_parse((const uint8_t *)entry.data, entry.len, &e, scratch, &ed) != 0) {
			(*skipped)++;
			continue;
		}
		pv_buf_reset(&xml);
		if ((rc = lg_atna_xml(&e, source_id != NULL ? source_id : host, &xml)) != 0 ||
		    (rc = lg_syslog_frame(&e, xml.data, xml.len, host, origin, i, out)) != 0)
			pv_diag_set(d, rc, -1, "entry %llu: cannot build its audit message", (unsigned long long)i);
	}
	/* With the events, the log's checkpoint that covers the most of them: the collector holds
	 * the signed tree heads outside the vault folder too (FORMATS.md "ATNA export"). */
	if (rc == 0 && end > from) {
		struct pv_buf note;
		uint64_t csz = 0;

		pv_buf_init(&note, 65536);
		if ((rc = lg_log_checkpoint_upto(l, end, &note, &csz, d)) == 0 && note.len > 0)
			rc = lg_syslog_checkpoint_frame(note.data, note.len, host, origin, csz, out);
		pv_buf_free(&note);
	}
	*to = end;
	free(scratch);
	pv_buf_free(&entry);
	pv_buf_free(&xml);
	lg_log_close(l);
	return rc;
}

