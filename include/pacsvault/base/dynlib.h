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

#endif
