/*
 * index.h: the vault's index behind one interface (DESIGN.md "index_ops"),
 * so that a PostgreSQL backend can follow the SQLite one.
 *
 * A backend stores and returns opaque bytes: keyed blind-index values
 * (HMAC-SHA256 truncated to 16 bytes) for exact matching, sealed blobs of
 * each level's attributes, and the few clear columns that are not PHI
 * (Modality, SOP Class UID, object ids, sizes). It never sees a key or a
 * clear patient value. Four levels: patient, study, series, instance,
 * and a quarantine table for malformed input.
 */
#ifndef PV_STORE_INDEX_H
#define PV_STORE_INDEX_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/err.h"

#define STORE_BLIND_LEN 16
#define STORE_OBJID_HEX 33     /* 32 hex digits and NUL */
#define STORE_MAC_LEN 32
#define STORE_MAX_LIST 1000    /* most values in one UID list key */

struct store_index;

/* Loads SQLite now rather than on first use (see pv_crypto_load in pacsvault/crypto/hash.h). */
void store_index_load(void);

/* One instance with its parents, as import hands it to the index. */
struct store_instance_row {
	uint8_t pat_key_b[STORE_BLIND_LEN];  /* blind(PatientID, Issuer): the patient row */
	uint8_t pid_b[STORE_BLIND_LEN];      /* blind(PatientID) */
	const uint8_t *pat_attrs; size_t pat_attrs_n;
	uint8_t study_b[STORE_BLIND_LEN];
	uint8_t acc_b[STORE_BLIND_LEN];
	int has_acc;
	const uint8_t *study_attrs; size_t study_attrs_n;
	uint8_t series_b[STORE_BLIND_LEN];
	const char *modality;                /* clear; "" when absent */
	const uint8_t *series_attrs; size_t series_attrs_n;
	uint8_t sop_b[STORE_BLIND_LEN];
	const char *sop_class;               /* clear */
	const uint8_t *inst_attrs; size_t inst_attrs_n;
	char objid[STORE_OBJID_HEX];
	uint64_t size;
	uint8_t mac[STORE_MAC_LEN];          /* keyed MAC of the plaintext bytes (duplicates) */
	int64_t stored;                      /* seconds since the epoch */
};

/* What a query narrows by (every list may be empty = no condition). */
struct store_filter {
	int level;                                   /* enum query_level */
	const uint8_t (*pid_b)[STORE_BLIND_LEN]; size_t n_pid;
	const uint8_t (*study_b)[STORE_BLIND_LEN]; size_t n_study;
	const uint8_t (*acc_b)[STORE_BLIND_LEN]; size_t n_acc;
	const uint8_t (*series_b)[STORE_BLIND_LEN]; size_t n_series;
	const uint8_t (*sop_b)[STORE_BLIND_LEN]; size_t n_sop;
	const char *modality;                        /* exact, or NULL */
	const char *const *sop_class; size_t n_sop_class;
};

/* A row of a query, borrowed for the duration of the callback. */
struct store_row {
	const uint8_t *pat_key_b;
	const uint8_t *pat_attrs; size_t pat_attrs_n;
	const uint8_t *study_b;
	const uint8_t *study_attrs; size_t study_attrs_n;   /* level >= STUDY */
	const uint8_t *series_b;
	const uint8_t *series_attrs; size_t series_attrs_n; /* level >= SERIES */
	const char *modality;
	const uint8_t *sop_b;
	const uint8_t *inst_attrs; size_t inst_attrs_n;     /* level IMAGE */
	const char *sop_class;
	const char *objid;
	uint64_t size;
	const uint8_t *mac;
	const char *modalities;      /* STUDY: the distinct modalities, backslash-separated */
	uint64_t n_studies, n_series, n_instances;  /* related counts of the row's level */
};

/* Returns 0 to go on, anything else to stop the query (returned by query). */
typedef int (*store_row_fn)(void *ctx, const struct store_row *row);

/* A quarantined object. */
struct store_quarantine_row {
	const char *objid;
	uint64_t size;
	const uint8_t *info; size_t info_n;  /* sealed: reason and source path */
	int64_t stored;
};
enum { STORE_OBJ_NONE = 0, STORE_OBJ_INSTANCE = 1, STORE_OBJ_QUARANTINE = 2 };

typedef int (*store_quarantine_fn)(void *ctx, const struct store_quarantine_row *row);

struct store_index_ops {
	const char *name;
	/* Opens (create: makes a new one; fails if one is there) the index at path. */
	int (*open)(const char *path, int create, struct store_index **out, struct pv_diag *d);
	void (*close)(struct store_index *ix);
	/* Transactions: everything between begin and commit is durable at commit, or not at all. */
	int (*begin)(struct store_index *ix, struct pv_diag *d);
	int (*commit)(struct store_index *ix, struct pv_diag *d);
	void (*rollback)(struct store_index *ix);
	/* Small clear settings (schema version, key ids). PV_ENOTFOUND when unset. */
	int (*meta_get)(struct store_index *ix, const char *key, char *out, size_t n);
	int (*meta_set)(struct store_index *ix, const char *key, const char *value, struct pv_diag *d);
	/* The instance with sop_b: its object id, size and MAC; PV_ENOTFOUND. */
	int (*instance_get)(struct store_index *ix, const uint8_t sop_b[STORE_BLIND_LEN],
	    char objid[STORE_OBJID_HEX], uint64_t *size, uint8_t mac[STORE_MAC_LEN]);
	/* Adds an instance, creating its patient, study and series rows when new. PV_EEXIST when its sop_b is there. */
	int (*instance_put)(struct store_index *ix, const struct store_instance_row *row, struct pv_diag *d);
	/* Removes the instance; parents left without children go too. PV_ENOTFOUND. */
	int (*instance_remove)(struct store_index *ix, const uint8_t sop_b[STORE_BLIND_LEN], struct pv_diag *d);
	int (*query)(struct store_index *ix, const struct store_filter *f, store_row_fn fn, void *ctx,
	    struct pv_diag *d);
	int (*quarantine_put)(struct store_index *ix, const struct store_quarantine_row *row, struct pv_diag *d);
	int (*quarantine_list)(struct store_index *ix, store_quarantine_fn fn, void *ctx, struct pv_diag *d);
	/* Removes the quarantine row of objid; PV_ENOTFOUND when there is none. */
	int (*quarantine_remove)(struct store_index *ix, const char *objid, struct pv_diag *d);
	/* Which committed row names object objid: STORE_OBJ_NONE, STORE_OBJ_INSTANCE or
	 * STORE_OBJ_QUARANTINE; a negative PV_E* when the index cannot say. */
	int (*object_kind)(struct store_index *ix, const char *objid, struct pv_diag *d);
	/* Consistency of the backend itself (SQLite: PRAGMA integrity_check, foreign keys). */
	int (*check)(struct store_index *ix, struct pv_diag *d);
	/* Parent rows without children (left by an interrupted removal): removes them, returns how many. */
	int (*prune)(struct store_index *ix, uint64_t *removed, struct pv_diag *d);
};

/* The SQLite backend (index_sqlite.c): WAL, synchronous FULL, secure_delete, prepared statements. */
extern const struct store_index_ops store_index_sqlite;

#endif
