/*
 * dynlib.h: shared libraries loaded on first use instead of at start-up.
 *
 * OpenSSL, SQLite and libjpeg are not linked: `pacsvault dump` and other
 * commands that use none of them would otherwise pay for mapping and
 * relocating them on every run (about 3 ms of a 30 ms `dump` of 1,000
 * small files on the reference machine). Each user of such a library
 * keeps a table of typed function pointers, filled once by
 * pv_dynlib_open() and pv_dynlib_sym() under a pthread_once, and calls
 * through it (see include/pacsvault/crypto/ossl.h).
 *
 * A library that cannot be loaded is an installation error, like a missing
 * DT_NEEDED library when a program starts: the process prints which
 * library or symbol is missing and how to install it, and exits with
 * status 70. Libraries are found by their soname through the dynamic
 * linker's normal search path, the same one the link-time dependency used.
 */
#ifndef PV_BASE_DYNLIB_H
#define PV_BASE_DYNLIB_H

/* The handle of soname (RTLD_NOW | RTLD_LOCAL), or exit(70) with a message. */
void *pv_dynlib_open(const char *soname);

/* The address of symbol name in handle h (from soname), or exit(70) with a message. */
void *pv_dynlib_sym(void *h, const char *soname, const char *name);

/*
 * The table of a library, from an X-macro list of its functions
 * (FUNCS(X) expands X(name) for each): a struct with one typed pointer per
 * function. PV_DYNLIB_LOADER(fn, api, FUNCS, soname) defines
 * `static void fn(void)`, which fills the table api (for pthread_once).
 * PV_DYNLIB_TABLE(api, FUNCS, soname) defines a file's own table api, its
 * loader api_load, and `api_fns()`, which loads once and returns the table;
 * the file then redefines each function name as (api_fns()->name).
 */
#define PV_DYNLIB_FIELD(f) __typeof__(&f) f;
#define PV_DYNLIB_LOAD1(f) pv_dl_t->f = (__typeof__(pv_dl_t->f))pv_dynlib_sym(pv_dl_h, pv_dl_soname, #f);
#define PV_DYNLIB_LOADER(fn, api, FUNCS, soname) \
	static void fn(void) \
	{ \
		const char *pv_dl_soname = (soname); \
		void *pv_dl_h = pv_dynlib_open(pv_dl_soname); \
		__typeof__(api) *pv_dl_t = &(api); \
		FUNCS(PV_DYNLIB_LOAD1) \
	}
#define PV_DYNLIB_TABLE(api, FUNCS, soname) \
	static struct { FUNCS(PV_DYNLIB_FIELD) } api; \
	static pthread_once_t api##_once = PTHREAD_ONCE_INIT; \
	PV_DYNLIB_LOADER(api##_load, api, FUNCS, soname) \
	static inline __typeof__(&(api)) api##_fns(void) \
	{ \
		pthread_once(&api##_once, api##_load); \
		return &(api); \
	}

#endif
