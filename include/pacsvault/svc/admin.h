/*
 * admin.h: vault administration through the service layer: creating a
 * vault with its sealed ledger, and checking that ledger against the keys
 * the vault holds and the checkpoints copied outside it.
 */
#ifndef PV_SVC_ADMIN_H
#define PV_SVC_ADMIN_H
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/ledger/log.h"
#include "pacsvault/store/vault.h"

/*
 * Creates a vault in dir (vault_create) with its ledger in dir/ledger: the
 * ledger's Ed25519 seed is made here, sealed under the master key
 * (ledger.sign.pvo) and never written in clear; the ledger keeps only its
 * verifier key. checkpoint_copy (NULL: none) names a file outside the vault
 * folder to which every new checkpoint is appended. The first event (vault
 * init) is signed at once. keyid gets the master key id, vkey the ledger's
 * verifier key.
 */
int svc_vault_create(const char *dir, const char *master_key_path, const char *checkpoint_copy, char keyid[9],
    struct pv_buf *vkey, struct pv_diag *d) __attribute__((warn_unused_result));

/* Sets (path) or clears (NULL) the vault's checkpoint copy; path must lie outside the vault folder. */
int svc_vault_set_checkpoint_copy(struct vault *v, const char *path, struct pv_diag *d)
	__attribute__((warn_unused_result));

/*
 * Verifies the vault's ledger (lg_log_verify_ex) with the public key of the
 * seed the vault keeps sealed (not the folder's vkey file, which whoever
 * writes the folder could replace), and against every checkpoint in the
 * vault's checkpoint copy file when it has one.
 */
int svc_ledger_check(struct vault *v, struct lg_verify_result *r, struct pv_diag *d)
	__attribute__((warn_unused_result));

#endif
