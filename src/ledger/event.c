/* event.c: the canonical audit event encoding (see event.h). */
#include "pacsvault/ledger/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENT_MAGIC "pacsvault-audit 1"

/* DICOM PS3.16 CID 400 "Audit Event ID" (DCM 110100 .. 110114). */
static const char *const event_names[] = {
	"Application Activity", "Audit Log Used", "Begin Transferring DICOM Instances",
	"DICOM Instances Accessed", "DICOM Instances Transferred", "DICOM Study Deleted", "Export", "Import",
	"Network Entry", "Order Record", "Patient Record", "Procedure Record", "Query", "Security Alert",
	"User Authentication",
};

const char *
lg_event_name(uint32_t code)
{
	if (code < 110100 || code > 110114)
		return NULL;
	return event_names[code - 110100];
}

static int
needs_escape(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || c == '%';
}

static int
put_field(struct pv_buf *out, const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n;

	if (pv_buf_putc(out, ' ') != 0)
		return PV_ENOMEM;
	if (s == NULL || s[0] == '\0')
		return pv_buf_putc(out, '-');
	if ((n = strlen(s)) > LG_EVENT_FIELD_MAX)
		return PV_EINVAL;
	if (strcmp(s, "-") == 0)
		return pv_buf_puts(out, "%2D");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3] = { '%', hexd[c >> 4], hexd[c & 15] };

		if (needs_escape(c) ? pv_buf_append(out, esc, 3) != 0 : pv_buf_putc(out, (char)c) != 0)
			return PV_ENOMEM;
	}
	return 0;
}

static int
valid_action(char a)
{
	return a == 'C' || a == 'R' || a == 'U' || a == 'D' || a == 'E';
}

static int
valid_outcome(int o)
{
	return o == 0 || o == 4 || o == 8 || o == 12;
}

void
lg_event_time(int64_t time_ms, char out[32])
{
	time_t s = (time_t)(time_ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	/* Years past 9999 do not fit the format: clamped (the time came from this machine's clock). */
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000,
	    (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100,
	    (int)(time_ms % 1000));
}

int64_t
lg_event_time_parse(const char *s)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, se = 0, ms = 0, n = 0;
	size_t len = strlen(s);
	time_t t;

	if (len == 10) {
		if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
			return -1;
	} else if (len == 24) {
		if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &y, &mo, &d, &h, &mi, &se, &ms, &n) != 7 || n != 24)
			return -1;
	} else {
		return -1;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || ms < 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return (int64_t)t * 1000 + ms;
}

int
lg_event_encode(const struct lg_event *e, struct pv_buf *out)
{
	char tbuf[32];
	int rc = 0;

	if (lg_event_name(e->code) == NULL || !valid_action(e->action) || !valid_outcome(e->outcome) ||
	    e->time_ms < 0 || e->np > LG_EVENT_MAX_PARTICIPANTS || e->no > LG_EVENT_MAX_OBJECTS)
		return PV_EINVAL;
	lg_event_time(e->time_ms, tbuf);
	if (pv_buf_printf(out, EVENT_MAGIC "\nevent %u\naction %c\noutcome %d\ntime %s\n", (unsigned)e->code,
	    e->action, e->outcome, tbuf) != 0)
		return PV_ENOMEM;
	for (size_t i = 0; i < e->np && rc == 0; i++) {
		const struct lg_participant *p = &e->p[i];

		if ((rc = pv_buf_printf(out, "participant %c", p->requestor ? 'R' : '-')) != 0 ||
		    (rc = put_field(out, p->user)) != 0 || (rc = put_field(out, p->role)) != 0 ||
		    (rc = put_field(out, p->process)) != 0 || (rc = put_field(out, p->ae)) != 0 ||
		    (rc = put_field(out, p->addr)) != 0 || (rc = pv_buf_putc(out, '\n')) != 0)
			break;
	}
	for (size_t i = 0; i < e->no && rc == 0; i++) {
		const struct lg_object *o = &e->o[i];

		if (o->type == NULL || o->type[0] == '\0' || o->id == NULL || o->id[0] == '\0')
			return PV_EINVAL;
		if ((rc = pv_buf_puts(out, "object")) != 0 || (rc = put_field(out, o->type)) != 0 ||
		    (rc = put_field(out, o->id)) != 0)
			break;
		if (o->detail != NULL && o->detail[0] != '\0' && (rc = put_field(out, o->detail)) != 0)
			break;
		rc = pv_buf_putc(out, '\n');
	}
	return rc;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Splits line (NUL-terminated, no newline) into up to max space-separated fields, unescaped into sc. */
static int
split(char *line, const char **f, int max, char **sc)
{
	int n = 0;
	char *p = line;

	while (*p != '\0') {
		char *end = strchr(p, ' '), *o = *sc;
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (n == max || len == 0)
			return -1;
		if (len == 1 && p[0] == '-') {
			f[n++] = NULL;
		} else {
			for (size_t i = 0; i < len; i++) {
				if (p[i] == '%') {
					int hi, lo;

					if (i + 2 >= len || (hi = hexval(p[i + 1])) < 0 || (lo = hexval(p[i + 2])) < 0)
						return -1;
					*o++ = (char)(hi << 4 | lo);
					i += 2;
				} else if (needs_escape((unsigned char)p[i])) {
					return -1;
				} else {
					*o++ = p[i];
				}
			}
			*o++ = '\0';
			if ((size_t)(o - *sc) - 1 > LG_EVENT_FIELD_MAX)
				return -1;
			f[n++] = *sc;
			*sc = o;
		}
		p += len;
		if (*p == ' ')
			p++;
		if (*p == '\0' && end != NULL)
			return -1;   /* a trailing space */
	}
	return n;
}

int
lg_event_parse(const uint8_t *in, size_t n, struct lg_event *e, char *scratch, struct pv_diag *d)
{
	char *copy, *line, *next, *sc;
	const char *f[8];
	unsigned lineno = 0;
	int rc = 0, nf;
	struct pv_buf again;

	memset(e, 0, sizeof(*e));
	if (n == 0 || in[n - 1] != '\n' || memchr(in, '\0', n) != NULL)
		return pv_diag_set(d, PV_EPARSE, -1, "an audit event is lines of text ending in a newline");
	if ((copy = malloc(n + 1)) == NULL)
		return PV_ENOMEM;
	memcpy(copy, in, n);
	copy[n] = '\0';
	sc = scratch;
	for (line = copy; *line != '\0'; line = next) {
		char *nl = strchr(line, '\n');

		*nl = '\0';
		next = nl + 1;
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, EVENT_MAGIC) != 0) {
				rc = pv_diag_set(d, PV_EPARSE, -1, "line 1: not '" EVENT_MAGIC "'");
				break;
			}
			continue;
		}
		if (lineno == 2) {
			char *end;
			unsigned long c;

			if (strncmp(line, "event ", 6) != 0 || (c = strtoul(line + 6, &end, 10), *end != '\0') ||
			    lg_event_name((uint32_t)c) == NULL) {
				rc = pv_diag_set(d, PV_EPARSE, -1, "line 2: not 'event 1101NN'");
				break;
			}
			e->code = (uint32_t)c;
			continue;
		}
		if (lineno == 3) {
			if (strncmp(line, "action ", 7) != 0 || strlen(line) != 8 || !valid_action(line[7])) {
				rc = pv_diag_set(d, PV_EPARSE, -1, "line 3: not 'action C|R|U|D|E'");
				break;
			}
			e->action = line[7];
			continue;
		}
		if (lineno == 4) {
			if (strcmp(line, "outcome 0") == 0 || strcmp(line, "outcome 4") == 0 ||
			    strcmp(line, "outcome 8") == 0 || strcmp(line, "outcome 12") == 0) {
				e->outcome = atoi(line + 8);
				continue;
			}
			rc = pv_diag_set(d, PV_EPARSE, -1, "line 4: not 'outcome 0|4|8|12'");
			break;
		}
		if (lineno == 5) {
			if (strncmp(line, "time ", 5) != 0 || strlen(line + 5) != 24 ||
			    (e->time_ms = lg_event_time_parse(line + 5)) < 0) {
				rc = pv_diag_set(d, PV_EPARSE, -1, "line 5: not 'time YYYY-MM-DDTHH:MM:SS.mmmZ'");
				break;
			}
			continue;
		}
		if (strncmp(line, "participant ", 12) == 0 && e->no == 0) {
			struct lg_participant *p;

			/* The requestor flag is "R" or "-" (which split reads as absent). */
			nf = e->np < LG_EVENT_MAX_PARTICIPANTS ? split(line + 12, f, 6, &sc) : -1;
			if (nf != 6 || (f[0] != NULL && strcmp(f[0], "R") != 0)) {
				rc = pv_diag_set(d, PV_EPARSE, -1, "line %u: a participant is R|- and 5 fields", lineno);
				break;
			}
			p = &e->p[e->np++];
			p->requestor = f[0] != NULL;
			p->user = f[1];
			p->role = f[2];
			p->process = f[3];
			p->ae = f[4];
			p->addr = f[5];
			continue;
		}
		if (strncmp(line, "object ", 7) == 0) {
			struct lg_object *o;

			nf = split(line + 7, f, 3, &sc);
			if (e->no == LG_EVENT_MAX_OBJECTS || nf < 2 || f[0] == NULL || f[1] == NULL ||
			    (nf == 3 && f[2] == NULL)) {
				rc = pv_diag_set(d, PV_EPARSE, -1, "line %u: an object is TYPE ID [DETAIL]", lineno);
				break;
			}
			o = &e->o[e->no++];
			o->type = f[0];
			o->id = f[1];
			o->detail = nf == 3 ? f[2] : NULL;
			continue;
		}
		rc = pv_diag_set(d, PV_EPARSE, -1, "line %u: not a participant or object line", lineno);
		break;
	}
	if (rc == 0 && lineno < 5)
		rc = pv_diag_set(d, PV_EPARSE, -1, "an audit event has at least 5 lines");
	/* Canonical: the encoding of what was read is the input, byte for byte. */
	if (rc == 0) {
		pv_buf_init(&again, n + 1);
		if (lg_event_encode(e, &again) != 0 || again.len != n || memcmp(again.data, in, n) != 0)
			rc = pv_diag_set(d, PV_EPARSE, -1, "not the canonical encoding of its event");
		pv_buf_free(&again);
	}
	free(copy);
	if (rc != 0)
		memset(e, 0, sizeof(*e));
	return rc;
}
