/*
 * atna.h: an audit event as a DICOM audit message (PS3.15 A.5.1, the
 * RFC 3881 based schema IHE ATNA collectors read) and as an RFC 5424
 * syslog message framed for RFC 5425 (TLS, octet counting).
 *
 * Mapping (docs/FORMATS.md "ATNA export"): the event's code, action,
 * outcome and time make EventIdentification; each participant an
 * ActiveParticipant (UserID the user, AlternativeUserID the process and
 * AE title, NetworkAccessPointID the address, type 2 for an IP address,
 * else 1); the patient object a ParticipantObjectIdentification of type 1
 * role 1 (Patient Number, RFC-3881 code 2) whose ID is the pseudonym; the
 * study a type 2 role 3 object (DCM 110180 Study Instance UID) whose
 * description lists the instances by SOP Class and whose details carry the
 * series UIDs (base64); a query the Study Root FIND SOP Class (DCM 110181)
 * named by the level and keywords; other objects (vault, quarantine, key,
 * ledger) type 2 role 4 with an RFC-3881 code 12 (URI) "pacsvault:TYPE/ID".
 * Every object has a ParticipantObjectName (the current schema requires a
 * name or a query). The XML is one line, UTF-8, characters XML 1.0 does not
 * allow replaced by U+FFFD.
 */
#ifndef PV_LEDGER_ATNA_H
#define PV_LEDGER_ATNA_H
#include <stdint.h>
#include "pacsvault/base/buf.h"
#include "pacsvault/ledger/event.h"

/* Appends the AuditMessage of e to out; source_id names this audit source (AuditSourceID). */
int lg_atna_xml(const struct lg_event *e, const char *source_id, struct pv_buf *out)
	__attribute__((warn_unused_result));

/*
 * Appends one RFC 5425 frame: "LEN SP" and the RFC 5424 message
 * <85>1 TIME HOST pacsvault PROCID DICOM+RFC3881 [ledger@32473 origin="O" index="N"] BOM XML
 * (facility 10 authpriv, severity 5 notice; MSGID as PS3.15 A.5.1 asks).
 */
int lg_syslog_frame(const struct lg_event *e, const char *xml, size_t xml_len, const char *host,
    const char *origin, uint64_t index, struct pv_buf *out) __attribute__((warn_unused_result));

/*
 * A signed checkpoint of the log (its note) as an RFC 5424 message with
 * octet counting: MSGID PVCHECKPOINT, [ledger@32473 origin size], the note
 * as MSG. The collector then holds the log's checkpoints outside the vault
 * folder ('ledger verify --checkpoint' takes them).
 */
int lg_syslog_checkpoint_frame(const char *note, size_t n, const char *host, const char *origin, uint64_t size,
    struct pv_buf *out) __attribute__((warn_unused_result));

#endif
