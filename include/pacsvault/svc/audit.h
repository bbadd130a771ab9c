/*
 * audit.h: the audit trail of vault operations (DESIGN.md "audit hooks").
 *
 * Every vault operation appends its events (ledger/event.h) to the vault's
 * ledger (DIR/ledger) before it reports success; when the append fails the
 * operation fails. Events are written ahead of the action they record where
 * the action cannot be undone (rm), and with the batch before the index
 * commit for import: a crash can leave an event for an action that did not
 * complete, never an action without its event.
 *
 * Patients, studies, series and instances appear only as keyed hashes:
 * the first 16 bytes of HMAC-SHA256(audit key, LABEL 0x00 VALUE) in hex,
 * LABEL "patient" (VALUE the Patient ID), "study", "series" or "instance"
 * (VALUE the UID), under the vault's audit key (ledger.key.pvo), apart from
 * the data and index keys: a copied vault's ledger names no patient and no
 * UID, and whoever holds the master key can still ask it about one. The ledger itself is opened per batch (waiting up to 30 s
 * for another process that holds it), so concurrent commands interleave.
 */
#ifndef PV_SVC_AUDIT_H
#define PV_SVC_AUDIT_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/err.h"
#include "pacsvault/ledger/event.h"
#include "pacsvault/store/vault.h"

struct svc_audit;

/*
 * The audit trail of command (e.g. "import") on vault v (NULL: a vault
 * folder without an open vault, for events that name no patient). The
 * participant is this process: the user of its effective uid, role
 * "operator", process "pacsvault COMMAND", this host's name.
 */
int svc_audit_open(const char *vault_dir, struct vault *v, const char *command, struct svc_audit **out,
    struct pv_diag *d) __attribute__((warn_unused_result));
void svc_audit_close(struct svc_audit *a);

/* Who asked: the requestor participant of an event (PS3.15 A.5.3.1 Active Participant). */
struct svc_actor {
	const char *user;     /* the principal's name */
	const char *role;     /* its role: operator, modality, clinician, research, auditor, admin */
	const char *process;  /* how it came: "pacsvault import", "dimse", "dicomweb" */
	const char *addr;     /* its network address or host name */
	const char *ae;       /* its AE title, or NULL */
};
/* svc_audit_open, with who (copied) as the requestor of every event of the handle. */
int svc_audit_open_as(const char *vault_dir, struct vault *v, const struct svc_actor *who, struct svc_audit **out,
    struct pv_diag *d) __attribute__((warn_unused_result));
/*
 * A handle for who over base's keys and setting, unsealed once by base (a
 * long-lived service derives one per request instead of opening again).
 */
int svc_audit_derive(const struct svc_audit *base, const struct svc_actor *who, struct svc_audit **out,
    struct pv_diag *d) __attribute__((warn_unused_result));
/* The import hook names each item's requestor by of(item cookie) (NULL: the handle's). */
void svc_audit_item_actors(struct svc_audit *a, const struct svc_actor *(*of)(void *cookie));

/* The keyed hash of value under label ("patient", "study", "series", "instance"): 33 bytes with NUL. */
int svc_audit_keyed(const struct svc_audit *a, const char *label, const char *value, char out[33])
	__attribute__((warn_unused_result));
/*
 * The pseudonym of a patient: svc_audit_keyed(a, "patient", VALUE) with
 * VALUE the Patient ID, then 0x01 and the IssuerOfPatientID when there is
 * one (the index keys patients the same way): the same ID from two issuers
 * is two patients. Without an issuer: the ID alone, as earlier ledgers had.
 */
int svc_audit_pseudonym(const struct svc_audit *a, const char *patient_id, const char *issuer, char out[33])
	__attribute__((warn_unused_result));

/* The commit hook of import (vault_set_commit_hook): one Import event per file of the batch. */
int svc_audit_import_hook(void *ctx, const struct vault_batch_item *items, size_t n, struct pv_diag *d);

/* One event per instance (code, action) with its patient, study, series and instance. */
int svc_audit_instances(struct svc_audit *a, uint32_t code, char action, int outcome,
    const struct vault_instance *in, size_t n, const char *detail, struct pv_diag *d)
	__attribute__((warn_unused_result));

/*
 * One event with the given objects (type, id, detail triples; id NULL ends
 * early), plus the patient pseudonym of patient_id (with issuer, may be
 * NULL) when not NULL.
 */
int svc_audit_event(struct svc_audit *a, uint32_t code, char action, int outcome, const char *patient_id,
    const char *issuer, const struct lg_object *objects, size_t nobjects, struct pv_diag *d) __attribute__((warn_unused_result));

/* Names the checkpoint copy of this handle and every one derived from it from now on (NULL: none). */
void svc_audit_set_copy(struct svc_audit *a, const char *path);

#endif
