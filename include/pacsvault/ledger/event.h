/*
 * event.h: the canonical encoding of an audit event (docs/FORMATS.md
 * "Audit events"), the bytes of one ledger entry.
 *
 * It carries what DICOM PS3.15 A.5 asks of an audit message, and nothing
 * that identifies a patient in clear: the event (DCM 110100..110114), the
 * action (C R U D E), the outcome (0 4 8 12), the time, the active
 * participants (user, role, process, AE title, network address) and the
 * participant objects (a type, an id, a detail): study, series and instance
 * UIDs, the patient only as a keyed pseudonym made by the caller.
 *
 *   pacsvault-audit 1
 *   event 110107
 *   action C
 *   outcome 0
 *   time 2026-11-29T06:04:00.123Z
 *   participant R USER ROLE PROCESS AE ADDR      (R: the requestor, else -)
 *   object TYPE ID [DETAIL]
 *
 * Fields are separated by one space; in a field the bytes 0x00-0x20, 0x7F
 * and '%' are written %XX (upper-case hex) and an empty or absent field is
 * "-" ("-" itself is %2D). Exactly one encoding is valid for an event:
 * lg_event_parse refuses anything lg_event_encode would not write.
 */
#ifndef PV_LEDGER_EVENT_H
#define PV_LEDGER_EVENT_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"

#define LG_EVENT_MAX_PARTICIPANTS 8
#define LG_EVENT_MAX_OBJECTS 64
#define LG_EVENT_FIELD_MAX 1024     /* bytes of one field, unescaped */

struct lg_participant {
	int requestor;
	const char *user, *role, *process, *ae, *addr;   /* NULL or "": absent */
};

struct lg_object {
	const char *type;      /* patient, study, series, instance, query, vault, quarantine, key */
	const char *id;
	const char *detail;    /* NULL: none */
};

struct lg_event {
	uint32_t code;         /* DCM 110100 .. 110114 */
	char action;           /* 'C', 'R', 'U', 'D', 'E' */
	int outcome;           /* 0 success, 4 minor failure, 8 serious failure, 12 major failure */
	int64_t time_ms;       /* milliseconds since 1970 (UTC) */
	size_t np, no;
	struct lg_participant p[LG_EVENT_MAX_PARTICIPANTS];
	struct lg_object o[LG_EVENT_MAX_OBJECTS];
};

/* The display name of a DCM audit event code ("Import"), NULL when not one of 110100..110114. */
const char *lg_event_name(uint32_t code);

/* Appends the canonical encoding of e to out. PV_EINVAL for a bad code, action, outcome or field. */
int lg_event_encode(const struct lg_event *e, struct pv_buf *out) __attribute__((warn_unused_result));

/*
 * Parses an entry. The strings of e point into scratch, which must hold
 * n + 64 * (LG_EVENT_MAX_PARTICIPANTS + LG_EVENT_MAX_OBJECTS) bytes
 * (LG_EVENT_SCRATCH(n)). PV_EPARSE with the line in d for anything not
 * canonical.
 */
#define LG_EVENT_SCRATCH(n) ((n) + 64 * (LG_EVENT_MAX_PARTICIPANTS + LG_EVENT_MAX_OBJECTS) + 64)
int lg_event_parse(const uint8_t *p, size_t n, struct lg_event *e, char *scratch, struct pv_diag *d)
	__attribute__((warn_unused_result));

/* Formats time_ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (25 bytes with NUL). */
void lg_event_time(int64_t time_ms, char out[32]);
/* Parses that form, or "YYYY-MM-DD" (midnight UTC); -1 when malformed. */
int64_t lg_event_time_parse(const char *s);

#endif
