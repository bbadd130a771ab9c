/* atna.c: audit events as DICOM audit messages and RFC 5424/5425 syslog (see atna.h). */
#include "pacsvault/ledger/atna.h"
#include "pacsvault/base/jsonw.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The XML text of s: & < > " ' escaped, characters outside XML 1.0 replaced by U+FFFD. */
static int
xml_text(struct pv_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc = 0;

	while (*p != '\0' && rc == 0) {
		unsigned char c = *p;

		if (c == '&')
			rc = pv_buf_puts(out, "&amp;");
		else if (c == '<')
			rc = pv_buf_puts(out, "&lt;");
		else if (c == '>')
			rc = pv_buf_puts(out, "&gt;");
		else if (c == '"')
			rc = pv_buf_puts(out, "&quot;");
		else if (c == '\'')
			rc = pv_buf_puts(out, "&apos;");
		else if (c < 0x20 || c == 0x7f)
			rc = pv_buf_puts(out, "\xef\xbf\xbd");
		else if (c < 0x80)
			rc = pv_buf_putc(out, (char)c);
		else {
			/* A well-formed UTF-8 sequence is kept; anything else becomes U+FFFD. */
			size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
			size_t k = 1;

			while (k < n && (p[k] & 0xC0) == 0x80)
				k++;
			if (n == 0 || k < n || (n == 2 && c < 0xC2)) {
				rc = pv_buf_puts(out, "\xef\xbf\xbd");
				p++;
				continue;
			}
			rc = pv_buf_append(out, p, n);
			p += n;
			continue;
		}
		p++;
	}
	return rc;
}

static int
attr(struct pv_buf *out, const char *name, const char *value)
{
	int rc;

	if ((rc = pv_buf_printf(out, " %s=\"", name)) != 0 || (rc = xml_text(out, value)) != 0)
		return rc;
	return pv_buf_putc(out, '"');
}

static int
coded(struct pv_buf *out, const char *elem, const char *code, const char *system, const char *text)
{
	int rc;

	if ((rc = pv_buf_printf(out, "<%s", elem)) != 0 || (rc = attr(out, "csd-code", code)) != 0 ||
	    (rc = attr(out, "codeSystemName", system)) != 0 || (rc = attr(out, "originalText", text)) != 0)
		return rc;
	return pv_buf_puts(out, "/>");
}

static int
is_ip(const char *s)
{
	int digits = 0;

	for (; *s != '\0'; s++) {
		if ((*s >= '0' && *s <= '9') || *s == '.' || *s == ':' || (*s >= 'a' && *s <= 'f'))
			digits += *s >= '0' && *s <= '9';
		else
			return 0;
	}
	return digits > 0;
}

static const struct lg_object *
find_obj(const struct lg_event *e, const char *type)
{
	for (size_t i = 0; i < e->no; i++)
		if (strcmp(e->o[i].type, type) == 0)
			return &e->o[i];
	return NULL;
}

static int
study_object(const struct lg_event *e, const struct lg_object *st, struct pv_buf *out)
{
	const struct lg_object *inst = find_obj(e, "instance");
	int rc;

	if ((rc = pv_buf_puts(out, "<ParticipantObjectIdentification")) != 0 ||
	    (rc = attr(out, "ParticipantObjectID", st->id)) != 0 ||
	    (rc = pv_buf_puts(out, " ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"3\">")) != 0 ||
	    (rc = coded(out, "ParticipantObjectIDTypeCode", "110180", "DCM", "Study Instance UID")) != 0 ||
	    (rc = pv_buf_puts(out, strchr(st->id, '.') != NULL ? "<ParticipantObjectName>study</ParticipantObjectName>" :
	    "<ParticipantObjectName>study (keyed hash of its UID)</ParticipantObjectName>")) != 0)
		return rc;
	for (size_t i = 0; i < e->no; i++) {
		if (strcmp(e->o[i].type, "series") != 0)
			continue;
		if ((rc = pv_buf_puts(out, "<ParticipantObjectDetail type=\"SeriesInstanceUID\" value=\"")) != 0 ||
		    (rc = pv_base64_append(out, (const uint8_t *)e->o[i].id, strlen(e->o[i].id))) != 0 ||
		    (rc = pv_buf_puts(out, "\"/>")) != 0)
			return rc;
	}
	if (inst != NULL) {
		/* The instance's detail is its SOP Class UID when it is a UID (import), else the operation. */
		const char *cls = inst->detail != NULL && inst->detail[0] >= '0' && inst->detail[0] <= '9' ?
		    inst->detail : NULL;

		if ((rc = pv_buf_puts(out, "<ParticipantObjectDescription><SOPClass")) != 0 ||
		    (cls != NULL && (rc = attr(out, "UID", cls)) != 0) ||
		    (rc = pv_buf_puts(out, " NumberOfInstances=\"1\"><Instance")) != 0 ||
		    (rc = attr(out, "UID", inst->id)) != 0 ||
		    (rc = pv_buf_puts(out, "/></SOPClass><Encrypted>true</Encrypted></ParticipantObjectDescription>")) != 0)
			return rc;
	}
	return pv_buf_puts(out, "</ParticipantObjectIdentification>");
}

int
lg_atna_xml(const struct lg_event *e, const char *source_id, struct pv_buf *out)
{
	char t[32], outcome[8];
	int rc;

	lg_event_time(e->time_ms, t);
	snprintf(outcome, sizeof(outcome), "%d", e->outcome);
	if ((rc = pv_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><AuditMessage>"
	    "<EventIdentification")) != 0 ||
	    (rc = pv_buf_printf(out, " EventActionCode=\"%c\"", e->action)) != 0 ||
	    (rc = attr(out, "EventDateTime", t)) != 0 || (rc = attr(out, "EventOutcomeIndicator", outcome)) != 0 ||
	    (rc = pv_buf_putc(out, '>')) != 0)
		return rc;
	{
		char code[16];

		snprintf(code, sizeof(code), "%u", (unsigned)e->code);
		if ((rc = coded(out, "EventID", code, "DCM", lg_event_name(e->code))) != 0 ||
		    (rc = pv_buf_puts(out, "</EventIdentification>")) != 0)
			return rc;
	}
	/* The schema wants at least one active participant: this program, when the event names none. */
	if (e->np == 0 && (rc = pv_buf_puts(out, "<ActiveParticipant UserID=\"pacsvault\" UserIsRequestor=\"false\"/>")) != 0)
		return rc;
	for (size_t i = 0; i < e->np; i++) {
		const struct lg_participant *p = &e->p[i];
		char alt[256];

		if ((rc = pv_buf_puts(out, "<ActiveParticipant")) != 0 ||
		    (rc = attr(out, "UserID", p->user != NULL ? p->user : p->process != NULL ? p->process : "-")) != 0)
			return rc;
		snprintf(alt, sizeof(alt), "%s%s%s", p->process != NULL ? p->process : "",
		    p->ae != NULL ? (p->process != NULL ? " AETITLES=" : "AETITLES=") : "", p->ae != NULL ? p->ae : "");
		if (alt[0] != '\0' && (rc = attr(out, "AlternativeUserID", alt)) != 0)
			return rc;
		if ((rc = attr(out, "UserIsRequestor", p->requestor ? "true" : "false")) != 0)
			return rc;
		if (p->addr != NULL && (rc = attr(out, "NetworkAccessPointID", p->addr)) != 0)
			return rc;
		if (p->addr != NULL &&
		    (rc = attr(out, "NetworkAccessPointTypeCode", is_ip(p->addr) ? "2" : "1")) != 0)
			return rc;
		if ((rc = pv_buf_puts(out, "/>")) != 0)
			return rc;
	}
	if ((rc = pv_buf_puts(out, "<AuditSourceIdentification")) != 0 ||
	    (rc = attr(out, "AuditSourceID", source_id)) != 0 ||
	    (rc = pv_buf_puts(out, "><AuditSourceTypeCode csd-code=\"4\"/></AuditSourceIdentification>")) != 0)
		return rc;
	for (size_t i = 0; i < e->no; i++) {
		const struct lg_object *o = &e->o[i];

		if (strcmp(o->type, "patient") == 0) {
			if ((rc = pv_buf_puts(out, "<ParticipantObjectIdentification")) != 0 ||
			    (rc = attr(out, "ParticipantObjectID", o->id)) != 0 ||
			    (rc = pv_buf_puts(out, " ParticipantObjectTypeCode=\"1\" ParticipantObjectTypeCodeRole=\"1\">")) != 0 ||
			    (rc = coded(out, "ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number")) != 0 ||
			    (rc = pv_buf_puts(out, "<ParticipantObjectName>keyed pseudonym</ParticipantObjectName>"
			    "</ParticipantObjectIdentification>")) != 0)
				return rc;
		} else if (strcmp(o->type, "study") == 0) {
			if ((rc = study_object(e, o, out)) != 0)
				return rc;
		} else if (strcmp(o->type, "series") == 0 || strcmp(o->type, "instance") == 0) {
			/* Folded into the study's object (details and description). */
			if (find_obj(e, "study") != NULL)
				continue;
			if ((rc = pv_buf_puts(out, "<ParticipantObjectIdentification")) != 0 ||
			    (rc = attr(out, "ParticipantObjectID", o->id)) != 0 ||
			    (rc = pv_buf_puts(out, " ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"3\">")) != 0 ||
			    (rc = coded(out, "ParticipantObjectIDTypeCode", "12", "RFC-3881", "URI")) != 0 ||
			    (rc = pv_buf_printf(out, "<ParticipantObjectName>%s</ParticipantObjectName>"
			    "</ParticipantObjectIdentification>", o->type)) != 0)
				return rc;
		} else if (strcmp(o->type, "query") == 0) {
			if ((rc = pv_buf_puts(out, "<ParticipantObjectIdentification ParticipantObjectID="
			    "\"1.2.840.10008.5.1.4.1.2.2.1\" ParticipantObjectTypeCode=\"2\" "
			    "ParticipantObjectTypeCodeRole=\"3\">")) != 0 ||
			    (rc = coded(out, "ParticipantObjectIDTypeCode", "110181", "DCM", "SOP Class UID")) != 0 ||
			    (rc = pv_buf_puts(out, "<ParticipantObjectName>")) != 0 || (rc = xml_text(out, o->id)) != 0 ||
			    (o->detail != NULL && ((rc = pv_buf_putc(out, ' ')) != 0 || (rc = xml_text(out, o->detail)) != 0)) ||
			    (rc = pv_buf_puts(out, "</ParticipantObjectName></ParticipantObjectIdentification>")) != 0)
				return rc;
		} else {
			if ((rc = pv_buf_puts(out, "<ParticipantObjectIdentification ParticipantObjectID=\"pacsvault:")) != 0 ||
			    (rc = xml_text(out, o->type)) != 0 || (rc = pv_buf_putc(out, '/')) != 0 ||
			    (rc = xml_text(out, o->id)) != 0 ||
			    (rc = pv_buf_puts(out, "\" ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"4\">")) != 0 ||
			    (rc = coded(out, "ParticipantObjectIDTypeCode", "12", "RFC-3881", "URI")) != 0 ||
			    (rc = pv_buf_puts(out, "<ParticipantObjectName>")) != 0 ||
			    (rc = xml_text(out, o->detail != NULL ? o->detail : o->type)) != 0 ||
			    (rc = pv_buf_puts(out, "</ParticipantObjectName></ParticipantObjectIdentification>")) != 0)
				return rc;
		}
	}
	return pv_buf_puts(out, "</AuditMessage>");
}

/* An RFC 5424 PARAM-VALUE: '"', '\' and ']' escaped with '\'. */
static int
sd_value(struct pv_buf *out, const char *s)
{
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++) {
		if (*s == '"' || *s == '\\' || *s == ']')
			rc = pv_buf_putc(out, '\\');
		if (rc == 0)
			rc = pv_buf_putc(out, *s);
	}
	return rc;
}

/* An RFC 5424 header field: printable US-ASCII without space, at most max, "-" when empty. */
static int
header_field(struct pv_buf *out, const char *s, size_t max)
{
	size_t n = 0;
	int rc = 0;

	for (; *s != '\0' && n < max && rc == 0; s++, n++)
		rc = pv_buf_putc(out, *s > 32 && *s < 127 ? *s : '_');
	if (n == 0 && rc == 0)
		rc = pv_buf_putc(out, '-');
	return rc;
}

/*
 * One RFC 5425 frame ("LEN SP" and the RFC 5424 message): <85>1 TIME HOST
 * pacsvault PID MSGID [ledger@32473 origin="O" KEY="N"] BOM BODY. PRI =
 * facility 10 (authpriv) * 8 + severity 5 (notice); VERSION 1 (RFC 5424 6.2).
 */
static int
frame(int64_t time_ms, const char *host, const char *msgid, const char *origin, const char *key, uint64_t num,
    const char *body, size_t n, struct pv_buf *out)
{
	struct pv_buf msg;
	char t[32], pid[16];
	int rc;

	pv_buf_init(&msg, n + 4096);
	lg_event_time(time_ms, t);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if ((rc = pv_buf_printf(&msg, "<85>1 %s ", t)) != 0 || (rc = header_field(&msg, host, 255)) != 0 ||
	    (rc = pv_buf_puts(&msg, " pacsvault ")) != 0 || (rc = header_field(&msg, pid, 128)) != 0 ||
	    (rc = pv_buf_printf(&msg, " %s [ledger@32473 origin=\"", msgid)) != 0 ||
	    (rc = sd_value(&msg, origin)) != 0 ||
	    (rc = pv_buf_printf(&msg, "\" %s=\"%llu\"] \xef\xbb\xbf", key, (unsigned long long)num)) != 0 ||
	    (rc = pv_buf_append(&msg, body, n)) != 0) {
		pv_buf_free(&msg);
		return rc;
	}
	/* RFC 5425 4.3: octet counting. */
	rc = pv_buf_printf(out, "%zu ", msg.len);
	if (rc == 0)
		rc = pv_buf_append(out, msg.data, msg.len);
	pv_buf_free(&msg);
	return rc;
}

int
lg_syslog_frame(const struct lg_event *e, const char *xml, size_t xml_len, const char *host, const char *origin,
    uint64_t index, struct pv_buf *out)
{
	return frame(e->time_ms, host, "DICOM+RFC3881", origin, "index", index, xml, xml_len, out);
}

int
lg_syslog_checkpoint_frame(const char *note, size_t n, const char *host, const char *origin, uint64_t size,
    struct pv_buf *out)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return frame((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, host, "PVCHECKPOINT", origin, "size", size,
	    note, n, out);
}
