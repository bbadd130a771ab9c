/*
 * svc_int.h: the service object's insides, shared by the files of src/svc
 * (svc.c: ingest, query, egress, rm; ops.c: administration). Not installed,
 * not for other modules.
 */
#ifndef PV_SVC_INT_H
#define PV_SVC_INT_H
#include <pthread.h>
#include "pacsvault/svc/audit.h"
#include "pacsvault/svc/svc.h"

struct proj;
struct ingest_req;

struct svc {
	struct vault *v;
	char *dir;
	struct svc_audit *hook;     /* the audit keys, unsealed once; the committer's hook (writers) */
	pthread_mutex_t mu;         /* projects and their UID maps */
	struct proj *proj;
	size_t nproj;
	int synced;                 /* rm: sync(2) done once */
	svc_ack_fn ack;             /* the ingest caller's acknowledgement */
	void *ack_ctx;
	pthread_mutex_t rmu;        /* the outstanding requests */
	struct ingest_req *reqs;
};

/* The audit actor of a principal (process: its buffer for the process name). */
void svc__actor_of(const struct svc_principal *p, struct svc_actor *a, char *process, size_t n);
/* One event as p: code, action, outcome, one object. */
int svc__audit_as(struct svc *s, const struct svc_principal *p, uint32_t code, char action, int outcome,
    const char *type, const char *id, const char *detail, struct pv_diag *d) __attribute__((warn_unused_result));
struct svc_user;
/* An exclusive flock on VAULT/name (users.lock, tokens.lock): its descriptor, or a negative PV_E*. */
int svc__lock_file(struct svc *s, const char *name, struct pv_diag *d);
/* A user by name, its secret cleared (PV_ENOTFOUND: none). */
int svc__user_get(struct svc *s, const char *name, struct svc_user *out, struct pv_diag *d);
/* A refusal: a Security Alert naming the principal and what it asked; then PV_EAUTH. */
int svc__refuse(struct svc *s, const struct svc_principal *p, const char *what, struct pv_diag *d)
    __attribute__((warn_unused_result));

#endif
