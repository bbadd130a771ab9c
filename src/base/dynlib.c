/* dynlib.c: libraries loaded on first use (see dynlib.h). */
#include "pacsvault/base/dynlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static _Noreturn void
dynlib_fail(const char *soname, const char *what)
{
	fprintf(stderr, "pacsvault: cannot load %s: %s\n"
	    "pacsvault: the installation is incomplete (scripts/install-deps.sh installs what pacsvault needs)\n",
	    soname, what != NULL ? what : "unknown error");
	exit(70);
}

void *
pv_dynlib_open(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		dynlib_fail(soname, dlerror());
	return h;
}

void *
pv_dynlib_sym(void *h, const char *soname, const char *name)
{
	void *p;
	char msg[160];

	(void)dlerror();
	p = dlsym(h, name);
	if (p == NULL) {
		snprintf(msg, sizeof(msg), "it has no symbol %s (a version older than the one pacsvault was built with?)", name);
		dynlib_fail(soname, msg);
	}
	return p;
}
