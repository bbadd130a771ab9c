/*
 * svc.h: the service layer every front end goes through (DESIGN.md
 * "Layers": the command line now in part, the DIMSE and DICOMweb servers
 * next). One long-lived object holds the vault, its audit trail and the
 * de-identification projects; every call names its principal, whose role
 * decides what it may do, and every call leaves its audit event naming the
 * principal, refusals included.
 *
 * Roles:
 *   operator   the local command line (the OS user): everything
 *   modality   store only
 *   clinician  store, query and retrieve identified data
 *   research   query and retrieve, only ever de-identified by its project:
 *              rows and instances come through the project's pipeline
 *              (deid/pipeline.h); UIDs are the project's pseudonyms and
 *              resolve back only for that project, once it has seen them
 *   auditor    the ledger only (nothing here)
 *   admin      administration (nothing here)
 * A refusal is PV_EAUTH, audited as a Security Alert (DCM 110113, outcome
 * 4: minor failure) naming the principal and what it asked for.
 *
 * Thread safety: every call may run on many threads at once.
 */
#ifndef PV_SVC_SVC_H
#define PV_SVC_SVC_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/err.h"
#include "pacsvault/deid/engine.h"
#include "pacsvault/deid/pixclean.h"
#include "pacsvault/store/query.h"
#include "pacsvault/store/vault.h"

enum svc_role { SVC_OPERATOR = 0, SVC_MODALITY, SVC_CLINICIAN, SVC_RESEARCH, SVC_AUDITOR, SVC_ADMIN };
const char *svc_role_name(int role);

struct svc_principal {
	const char *name;      /* authenticated name */
	int role;              /* SVC_* */
	const char *auth;      /* how it was authenticated: "os-user", "tls-certificate", "password", "token" */
	const char *addr;      /* peer address (or this host) */
	const char *ae;        /* calling AE title, or NULL */
	const char *project;   /* research: its de-identification project */
	const char *via;       /* how the request came ("pacsvault find", "dimse"), or NULL */
};

struct svc_project {
	const char *name;
	struct deid_config cfg;        /* copied; recipe and reid borrowed */
	const struct pixrules *rules;  /* borrowed; NULL: no pixel rules */
	int clean_pixels, no_ocr;
};

struct svc;

/* Opens the vault in dir (vault_open mode) and its audit trail. */
int svc_open(const char *dir, const char *master_key_path, int mode, struct svc **out, struct pv_diag *d)
	__attribute__((warn_unused_result));
void svc_close(struct svc *s);
struct vault *svc_vault(struct svc *s);

/* Adds a de-identification project (copied). PV_EEXIST for a name taken. */
int svc_project_add(struct svc *s, const struct svc_project *p, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Batch ingest (many files, many threads: the command line's import, a
 * server's C-STOREs): each file is sealed at once; its batch is made
 * durable, audited (one Import event per instance, naming its principal)
 * and committed by the vault's committer; then ack(ctx, cookie, status) is
 * called, with no lock held, for each file svc_ingest_* called STORED or
 * QUARANTINED (vault_import_file's contract). files: per durable batch.
 */
typedef void (*svc_ack_fn)(void *ctx, void *cookie, int status);
void svc_ingest_batching(struct svc *s, size_t files, svc_ack_fn ack, void *ctx);
int svc_ingest_file(struct svc *s, const struct svc_principal *p, const char *path, void *cookie, int *status,
    char *reason, size_t rn, uint64_t *bytes);
/* From a descriptor read to its end (standard input, a socket): memory only, as vault_import_fd. */
int svc_ingest_fd(struct svc *s, const struct svc_principal *p, int fd, const char *label, void *cookie,
    int *status, char *reason, size_t rn, uint64_t *bytes);
/* Makes every queued file durable and acknowledged now. */
int svc_ingest_flush(struct svc *s, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Stores one instance received in memory (vault_import_mem); returns once
 * it is durable and acknowledged (*status: vault_status). The Import event
 * names the principal.
 */
int svc_ingest_mem(struct svc *s, const struct svc_principal *p, const void *data, size_t n, const char *label,
    int *status, char *reason, size_t rn, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * C-FIND: the Query event (the level and keywords, never values) is
 * written first; then rows go to fn with no vault lock held. A research
 * principal may match only on keys that name no one (Modality,
 * ModalitiesInStudy, SOPClassUID, BodyPartExamined, SeriesNumber,
 * InstanceNumber; UIDs it was given), and gets each row de-identified by
 * its project.
 */
int svc_query(struct svc *s, const struct svc_principal *p, int level, const struct query_key *keys, size_t nkeys,
    vault_match_fn fn, void *ctx, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * The one way out, in steps (for writers that want their own files and
 * threads): svc_egress_open resolves uid, applies the role's policy and
 * writes the Export events (detail, e.g. "get"); then, for each of its *n
 * instances, possibly on many threads, svc_egress_name gives its SOP
 * Instance UID as the principal knows it and svc_egress_write writes what
 * the principal may have to fd: the exact stored bytes, every chunk
 * verified first (operator, clinician), or the project's de-identified
 * copy (research: PV_EHELD when the pipeline holds the instance back, its
 * event written). *level: what uid was (QUERY_IMAGE, SERIES, STUDY).
 */
struct svc_egress;
int svc_egress_open(struct svc *s, const struct svc_principal *p, const char *uid, const char *detail,
    struct svc_egress **out, size_t *n, int *level, struct pv_diag *d) __attribute__((warn_unused_result));
int svc_egress_name(const struct svc_egress *e, size_t i, char out[72]) __attribute__((warn_unused_result));
int svc_egress_write(struct svc_egress *e, size_t i, int fd, struct pv_diag *d) __attribute__((warn_unused_result));
void svc_egress_close(struct svc_egress *e);

/*
 * The one way out: uid (a study, series or instance; for research, the
 * project's pseudonym) is resolved, the role decides, the Export event is
 * written, then each instance goes to fn: the exact stored bytes for
 * operator and clinician, the project's de-identified copy for research
 * (an instance the pipeline holds back is not sent: its event says so, and
 * *held counts it). sop_uid is the instance's UID as the principal knows it.
 */
typedef int (*svc_sink_fn)(void *ctx, const char *sop_uid, const void *bytes, size_t n);
int svc_egress(struct svc *s, const struct svc_principal *p, const char *uid, svc_sink_fn fn, void *ctx,
    size_t *sent, size_t *held, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * Crypto-shreds uid (an instance, a series or a study) for the operator or
 * an admin: the Delete events (DCM 110103) first, written ahead; before the
 * first shred of this service's life, sync(2), so any copy taken out before
 * is on disk; then each instance (vault_rm). A failure to resolve, to
 * audit or a refusal is returned (nothing shredded; *found says whether it
 * resolved). Once the events are written 0 is returned: an instance that
 * failed to shred leaves *shredded < *found and the first failure in d.
 * dry: resolve and count only (*found), nothing audited or changed.
 */
int svc_rm(struct svc *s, const struct svc_principal *p, const char *uid, int dry, size_t *found, size_t *shredded,
    struct pv_diag *d) __attribute__((warn_unused_result));

#endif
