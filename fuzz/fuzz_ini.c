/*
 * fuzz_ini.c: the configuration syntax (base/ini.c) on arbitrary bytes:
 * every key handed over lies in a section, has a valid name and a value
 * without a newline, and an error names a line.
 */
#include "fuzz.h"
#include "pacsvault/base/ini.h"

#include <stdlib.h>
#include <string.h>

static int
on_key(void *ctx, const char *section, const char *name, const char *key, const char *value, unsigned line,
    struct pv_diag *d)
{
	(void)d;
	(void)name;
	if (section[0] == '\0' || key[0] == '\0' || strchr(value, '\n') != NULL || line == 0 || line > *(unsigned *)ctx)
		abort();
	return 0;
}

int
fuzz_ini_one(const uint8_t *data, size_t size)
{
	struct pv_diag d;
	unsigned lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	pv_diag_clear(&d);
	if (pv_ini_parse((const char *)data, size, on_key, &lines, &d) != 0 && d.msg[0] == '\0')
		abort();
	return 0;
}

PV_FUZZ_ENTRY(fuzz_ini_one)
