/*
 * projects.h: de-identification projects kept in the vault (projects.pvo,
 * sealed under the master key: the project keys never lie in clear), for
 * research users. A project is its key and the deid options of
 * `pacsvault deid` (the PS3.15 options, pixel cleaning, OCR).
 */
#ifndef PV_SVC_PROJECTS_H
#define PV_SVC_PROJECTS_H
#include "pacsvault/svc/svc.h"

/* Stores a new project (operator, admin); its event names it, never its key. PV_EEXIST for a name taken. */
int svc_project_store(struct svc *s, const struct svc_principal *p, const struct svc_project *pj, struct pv_diag *d)
    __attribute__((warn_unused_result));
/* Adds every stored project to s (svc_project_add); *n says how many. */
int svc_projects_load(struct svc *s, size_t *n, struct pv_diag *d) __attribute__((warn_unused_result));
/* The names of the stored projects, to fn. */
int svc_project_names(struct svc *s, int (*fn)(void *ctx, const char *name, unsigned opts, int clean_pixels),
    void *ctx, struct pv_diag *d) __attribute__((warn_unused_result));

#endif
