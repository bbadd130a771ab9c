/*
 * ini.h: the configuration file's syntax (serve's --config; docs/pacsvault.1,
 * "CONFIGURATION"). Lines are
 *   [section]  or  [section "name"]
 *   key = value
 * with blank lines and comments (a line starting with # or ;, or " #" and
 * " ;" after a value) ignored; spaces around keys and values are dropped.
 * Anything else is an error naming its line. UTF-8 text, no NUL, lines up
 * to 4096 bytes, files up to 1 MiB. No continuation lines, no quoting in
 * values, no includes: what is read is what the line shows.
 */
#ifndef PV_BASE_INI_H
#define PV_BASE_INI_H
#include <stddef.h>
#include "pacsvault/base/err.h"

/*
 * Called for each key: section and its name ("" when none), key, value;
 * line is the 1-based line. Non-zero stops the parse: the callback sets d
 * (naming the line) and returns its code.
 */
typedef int (*pv_ini_fn)(void *ctx, const char *section, const char *name, const char *key, const char *value,
    unsigned line, struct pv_diag *d);

int pv_ini_parse(const char *text, size_t n, pv_ini_fn fn, void *ctx, struct pv_diag *d)
    __attribute__((warn_unused_result));
/* The file at path (at most 1 MiB). */
int pv_ini_parse_file(const char *path, pv_ini_fn fn, void *ctx, struct pv_diag *d)
    __attribute__((warn_unused_result));

#endif
