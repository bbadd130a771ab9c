/*
 * users.h: the users of `pacsvault serve`, kept in the vault (users.pvo,
 * sealed under the master key: whoever can write the folder but lacks
 * the key can neither read the list nor add a user), and authentication.
 *
 * A user has a role (modality, clinician, research, auditor, admin), a
 * project (research), a pinned certificate (SHA-256 of its public key)
 * and/or a secret (scrypt), and the calling AE titles it may use (none:
 * any). AE titles are labels checked after authentication, never
 * credentials.
 */
#ifndef PV_SVC_USERS_H
#define PV_SVC_USERS_H
#include <stddef.h>
#include "pacsvault/crypto/passwd.h"
#include "pacsvault/svc/svc.h"

#define SVC_NAME_MAX 64

struct svc_user {
	char name[SVC_NAME_MAX + 1];
	int role;                         /* SVC_MODALITY .. SVC_ADMIN */
	char project[SVC_NAME_MAX + 1];   /* research: its project; "" otherwise */
	char pin[65];                     /* "" without a certificate */
	char secret[PV_PW_MAX];           /* "" without a secret */
	char aes[256];                    /* allowed calling AE titles, comma-separated; "" any */
};

/* The role of a name ("clinician"), or -1. Operator is not a user's role. */
int svc_role_parse(const char *name);
/* A user or project name: 1..64 of letters, digits, '.', '_', '-', '@'. */
int svc_name_valid(const char *name);

/* Administration (operator, admin): each change is an event naming the user, never the secret. */
int svc_user_add(struct svc *s, const struct svc_principal *p, const struct svc_user *u, const char *secret,
    size_t n, struct pv_diag *d) __attribute__((warn_unused_result));
int svc_user_rm(struct svc *s, const struct svc_principal *p, const char *name, struct pv_diag *d)
    __attribute__((warn_unused_result));
int svc_user_passwd(struct svc *s, const struct svc_principal *p, const char *name, const char *secret, size_t n,
    struct pv_diag *d) __attribute__((warn_unused_result));
typedef int (*svc_user_fn)(void *ctx, const struct svc_user *u);
int svc_user_list(struct svc *s, const struct svc_principal *p, svc_user_fn fn, void *ctx, struct pv_diag *d)
    __attribute__((warn_unused_result));
/* How many users there are (0 when none, or they cannot be read). */
size_t svc_user_count(struct svc *s);

/*
 * Authenticates a peer: by its certificate's pin (TLS), or by a user name
 * and secret (User Identity Negotiation type 2). A name without a secret
 * (type 1) only confirms the user its certificate already names. On
 * success *u is the user; every attempt, success or failure, is an event
 * (DCM 110114 User Authentication) naming the peer (addr, calling AE) and
 * the name it gave; the failure's reason goes to d, not to the peer.
 * PV_EAUTH: refused. PV_ENOTFOUND: nothing was presented (anonymous).
 */
struct svc_credentials {
	const char *pin;                  /* the client certificate's pin, or NULL */
	int id_type;                      /* 0 none; 1 user name; 2 user name and secret */
	const char *id_name;              /* NUL-terminated */
	const char *id_secret;
	size_t id_secret_len;
	const char *addr, *ae, *via;      /* for the event */
};
int svc_authenticate(struct svc *s, const struct svc_credentials *c, struct svc_user *u, struct pv_diag *d)
    __attribute__((warn_unused_result));

/* A peer refused before it could present credentials (a TLS handshake without a certificate): its event. */
int svc_auth_refused(struct svc *s, const char *addr, const char *via, const char *why, struct pv_diag *d)
    __attribute__((warn_unused_result));

#endif
