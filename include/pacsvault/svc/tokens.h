/*
 * tokens.h: bearer tokens for `pacsvault serve`'s HTTPS listener
 * (DICOMweb), kept in the vault (tokens.pvo, sealed under the master key
 * like users.pvo).
 *
 * A token is "pvt." ID "." SECRET: ID 16 hex digits (public: it names the
 * token in `token list` and `token revoke`), SECRET 43 characters of
 * base64url (32 random bytes). Only SHA-256(SECRET) is stored, with the
 * user it acts as, when it was issued and when it expires; revoking
 * removes it. A token acts with its user's role and project as they are
 * at each request: a removed user's tokens stop working.
 */
#ifndef PV_SVC_TOKENS_H
#define PV_SVC_TOKENS_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/svc/users.h"

#define SVC_TOKEN_MAX 96
#define SVC_TOKEN_TTL_MAX (366 * 24 * 3600)

struct svc_token_info {
	char id[17];
	char user[SVC_NAME_MAX + 1];
	int64_t issued, expires;   /* Unix seconds */
};

/* Issues a token for user (operator, admin): the token is written to token (once; never stored). */
int svc_token_issue(struct svc *s, const struct svc_principal *p, const char *user, int64_t ttl_s,
    char token[SVC_TOKEN_MAX], struct svc_token_info *info, struct pv_diag *d) __attribute__((warn_unused_result));
int svc_token_revoke(struct svc *s, const struct svc_principal *p, const char *id, struct pv_diag *d)
    __attribute__((warn_unused_result));
typedef int (*svc_token_fn)(void *ctx, const struct svc_token_info *t);
int svc_token_list(struct svc *s, const struct svc_principal *p, svc_token_fn fn, void *ctx, struct pv_diag *d)
    __attribute__((warn_unused_result));

/*
 * The user a token acts as. PV_EAUTH (reason in d, never to the peer) for
 * a malformed, unknown, expired or revoked token or a removed user.
 * Audits nothing: the caller writes the authentication event (once per
 * connection for a success, every time for a failure: svc_token_event).
 */
int svc_token_check(struct svc *s, const char *token, struct svc_user *u, struct svc_token_info *info,
    struct pv_diag *d) __attribute__((warn_unused_result));
/* The DCM 110114 User Authentication event of a token: outcome 0 (u) or 4 (why). */
int svc_token_event(struct svc *s, const struct svc_user *u, const char *id, const char *addr, const char *via,
    const char *why, struct pv_diag *d) __attribute__((warn_unused_result));

/* "8h", "30m", "2d", "3600" (seconds) -> seconds; -1 when malformed or over a year. */
int64_t svc_ttl_parse(const char *s);

#endif
