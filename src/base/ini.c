/* ini.c: the configuration file's syntax (see ini.h). */
#include "pacsvault/base/ini.h"
#include "pacsvault/base/fsutil.h"

#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 4096
#define FILE_MAX ((size_t)1 << 20)

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static char *
trim(char *s)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int
name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		    *s == '-' || *s == '.'))
			return 0;
	return 1;
}

int
pv_ini_parse(const char *text, size_t n, pv_ini_fn fn, void *ctx, struct pv_diag *d)
{
	char line[LINE_MAX_BYTES + 1], section[128] = "", name[128] = "";
	size_t i = 0;
	unsigned ln = 0;

	if (n > FILE_MAX)
		return pv_diag_set(d, PV_ELIMIT, -1, "configuration of %zu bytes, over 1 MiB", n);
	if (memchr(text, '\0', n) != NULL)
		return pv_diag_set(d, PV_EPARSE, (int64_t)((const char *)memchr(text, '\0', n) - text),
		    "a NUL byte: not a text file");
	while (i < n) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t len = nl != NULL ? (size_t)(nl - (text + i)) : n - i;
		char *s, *eq;
		int rc;

		ln++;
		if (len > LINE_MAX_BYTES)
			return pv_diag_set(d, PV_ELIMIT, -1, "line %u: longer than %d bytes", ln, LINE_MAX_BYTES);
		memcpy(line, text + i, len);
		line[len] = '\0';
		i += len + (nl != NULL);
		s = trim(line);
		if (ln == 1 && (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb && (unsigned char)s[2] == 0xbf)
			s = trim(s + 3);   /* a UTF-8 byte order mark */
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']'), *q;

			if (end == NULL || *trim(end + 1) != '\0')
				return pv_diag_set(d, PV_EPARSE, -1, "line %u: a section header is [name] or [name \"label\"]",
				    ln);
			*end = '\0';
			s = trim(s + 1);
			name[0] = '\0';
			if ((q = strchr(s, '"')) != NULL) {
				char *close = strrchr(s, '"');
				size_t nl2;

				if (close == q || close[1] != '\0')
					return pv_diag_set(d, PV_EPARSE, -1, "line %u: the section's label must be in double "
					    "quotes", ln);
				*close = '\0';
				nl2 = strlen(q + 1);
				if (nl2 == 0 || nl2 >= sizeof(name) || strchr(q + 1, '"') != NULL)
					return pv_diag_set(d, PV_EPARSE, -1, "line %u: an empty or malformed section label", ln);
				memcpy(name, q + 1, nl2 + 1);
				*q = '\0';
				s = trim(s);
			}
			if (!name_ok(s) || strlen(s) >= sizeof(section))
				return pv_diag_set(d, PV_EPARSE, -1, "line %u: a section name is letters, digits, '_', '-'",
				    ln);
			memcpy(section, s, strlen(s) + 1);
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL)
			return pv_diag_set(d, PV_EPARSE, -1, "line %u: not 'key = value', a [section] or a comment", ln);
		*eq = '\0';
		{
			char *key = trim(s), *val = eq + 1, *c;

			/* a comment after the value: " #" or " ;" */
			for (c = val; *c; c++)
				if ((*c == '#' || *c == ';') && c > val && is_space(c[-1])) {
					*c = '\0';
					break;
				}
			val = trim(val);
			if (!name_ok(key))
				return pv_diag_set(d, PV_EPARSE, -1, "line %u: a key is letters, digits, '_', '-'", ln);
			if (section[0] == '\0')
				return pv_diag_set(d, PV_EPARSE, -1, "line %u: '%s' before any [section]", ln, key);
			if ((rc = fn(ctx, section, name, key, val, ln, d)) != 0)
				return rc;
		}
	}
	return 0;
}

int
pv_ini_parse_file(const char *path, pv_ini_fn fn, void *ctx, struct pv_diag *d)
{
	unsigned char *text = NULL;
	size_t n = 0;
	int rc;

	if ((rc = pv_read_file(path, FILE_MAX, &text, &n, d)) != 0)
		return rc;
	rc = pv_ini_parse((const char *)text, n, fn, ctx, d);
	free(text);
	return rc;
}
