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
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/deid/engine.h"
#include "pacsvault/deid/pixclean.h"
#include "pacsvault/ledger/event.h"
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

/* Loads the index's library (SQLite) now rather than on first use (store_index_load). */
void svc_load_index(void);

/* Opens the vault in dir (vault_open mode) and its audit trail. */
int svc_open(const char *dir, const char *master_key_path, int mode, struct svc **out, struct pv_diag *d)
	__attribute__((warn_unused_result));
void svc_close(struct svc *s);
struct vault *svc_vault(struct svc *s);
/*
 * Storage commitment: 1 when the vault holds the instance sop_uid (stored
 * and committed), 0 when not; modality, clinician and operator only. The
 * SOP class is not checked against the stored one (the index does not
 * keep it by instance). No event: nothing leaves but "held" or "not".
 */
int svc_committed(struct svc *s, const struct svc_principal *p, const char *sop_class, const char *sop_uid,
    struct pv_diag *d) __attribute__((warn_unused_result));
/* A setting of the vault ("checkpoint_copy"): 0, or PV_ENOTFOUND. */
int svc_setting(struct svc *s, const char *key, char *out, size_t n) __attribute__((warn_unused_result));
/* 1 when the vault keeps its master key inside its folder (whoever copies the folder has the data). */
int svc_master_inside(struct svc *s);
/* What the open found of an interrupted import (vault_settled): non-zero when there was one. */
int svc_settled(struct svc *s, uint64_t *placed, uint64_t *shredded);

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
/*
 * Several UIDs at once (export): every one is resolved, and refused or not
 * found as a whole, before the events are written; svc_egress_uid_index
 * says which of uids instance i came from. *level: the last UID's.
 */
int svc_egress_open_many(struct svc *s, const struct svc_principal *p, const char *const *uids, size_t nuids,
    const char *detail, struct svc_egress **out, size_t *n, int *level, struct pv_diag *d)
    __attribute__((warn_unused_result));
size_t svc_egress_uid_index(const struct svc_egress *e, size_t i);
/* Its Study, Series and SOP Instance UIDs as the principal knows them (a research project's pseudonyms). */
int svc_egress_uids(const struct svc_egress *e, size_t i, char study[72], char series[72], char sop[72])
    __attribute__((warn_unused_result));
/* As svc_egress_write, into memory (out is replaced; the caller scrubs and frees it). */
int svc_egress_mem(struct svc_egress *e, size_t i, struct pv_buf *out, struct pv_diag *d)
    __attribute__((warn_unused_result));
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

/*
 * Administration (ops.c): operator and admin only; any other role is
 * refused with a Security Alert. Each call leaves its event.
 *
 * svc_fsck: vault_fsck (repair: a writer's svc) and the audit trail
 * verified with the sealed key against the checkpoint copy outside (a
 * problem reported as "ledger"); then its event (DCM 110100).
 */
typedef void (*svc_fsck_fn)(void *ctx, const char *what, const char *objid, const struct pv_diag *d);
int svc_fsck(struct svc *s, const struct svc_principal *p, int repair, svc_fsck_fn fn, void *ctx,
    struct vault_fsck *r, struct pv_diag *d) __attribute__((warn_unused_result));
/* Sets (path) or clears (NULL) the copy of every checkpoint outside the vault folder (a writer's svc). */
int svc_set_checkpoint_copy(struct svc *s, const struct svc_principal *p, const char *path, struct pv_diag *d)
    __attribute__((warn_unused_result));
/* vault_rotate_key of the closed vault in dir, then its event, written under the new key. */
int svc_rotate_key(const char *dir, const char *master_key_path, const char *new_key_path,
    const struct svc_principal *p, void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
    char newid[9], uint64_t *objects, struct pv_diag *d) __attribute__((warn_unused_result));
/* The quarantined objects to fn (*n of them), then the event of the listing. */
int svc_quarantine_list(struct svc *s, const struct svc_principal *p, vault_quarantine_fn fn, void *ctx, size_t *n,
    struct pv_diag *d) __attribute__((warn_unused_result));
/*
 * The original bytes of a quarantined object into af (opened by the
 * caller, never over a file), made durable, the Export event, then the
 * object shredded and its Delete event. af is committed or aborted.
 */
int svc_quarantine_release(struct svc *s, const struct svc_principal *p, const char *objid, struct pv_atomic *af,
    struct pv_diag *d) __attribute__((warn_unused_result));
/* Shreds the quarantined objects ids (NULL: all), each with its event; one that cannot be goes to fn. */
typedef void (*svc_purge_fn)(void *ctx, const char *objid, const struct pv_diag *d);
int svc_quarantine_purge(struct svc *s, const struct svc_principal *p, const char *const *ids, size_t nids,
    svc_purge_fn fn, void *ctx, size_t *done, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * The audit trail, read (operator, admin, auditor): every event the filter
 * keeps, oldest first, to fn (e NULL: an entry that is not an audit event,
 * given only when nothing is filtered; size its length); then an Audit Log
 * Used event (110101). A patient or UID is matched by its keyed hash under
 * the vault's audit key; a patient without an issuer matches under every
 * IssuerOfPatientID the vault holds it with, and without one.
 */
struct svc_ledger_filter {
	const char *patient, *issuer, *uid, *user;
	int64_t since, until;      /* ms since 1970, -1: none */
	uint32_t code;             /* DCM event code, 0: any */
};
typedef int (*svc_event_fn)(void *ctx, uint64_t index, const struct lg_event *e, size_t size);
int svc_ledger_events(struct svc *s, const struct svc_principal *p, const struct svc_ledger_filter *f,
    svc_event_fn fn, void *ctx, struct pv_diag *d) __attribute__((warn_unused_result));
/* The same over a ledger folder without its vault (an auditor's copy): no patient or UID filter, no event. */
int svc_ledger_events_dir(const char *dir, const struct svc_ledger_filter *f, svc_event_fn fn, void *ctx,
    struct pv_diag *d) __attribute__((warn_unused_result));

#endif
