/*
 * index_sqlite.c: the SQLite backend of the vault's index (see index.h).
 *
 * WAL with synchronous=FULL (a commit is on disk when it returns),
 * secure_delete (freed pages are zeroed, not left with old sealed blobs),
 * foreign keys on, prepared statements with bound parameters only, and
 * schema migrations applied in order inside transactions.
 */
#include "pacsvault/store/index.h"
#include "pacsvault/store/query.h"

#include "pacsvault/base/dynlib.h"

#include <sqlite3.h>

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * SQLite is loaded on first use, not linked (pacsvault/base/dynlib.h): only
 * the vault commands open an index. Its soname has been libsqlite3.so.0
 * since SQLite 3.0.
 */
#define SQ_FUNCS(X) \
	X(sqlite3_bind_blob) X(sqlite3_bind_int64) X(sqlite3_bind_null) X(sqlite3_bind_text) \
	X(sqlite3_busy_timeout) X(sqlite3_changes) X(sqlite3_close) X(sqlite3_column_blob) \
	X(sqlite3_column_bytes) X(sqlite3_column_int64) X(sqlite3_column_text) \
	X(sqlite3_errcode) X(sqlite3_errmsg) X(sqlite3_exec) X(sqlite3_finalize) \
	X(sqlite3_last_insert_rowid) X(sqlite3_open_v2) X(sqlite3_prepare_v2) X(sqlite3_reset) \
	X(sqlite3_step)
PV_DYNLIB_TABLE(sq, SQ_FUNCS, "libsqlite3.so.0")

void
store_index_load(void)
{
	pthread_once(&sq_once, sq_load);
}

#define sqlite3_bind_blob (sq_fns()->sqlite3_bind_blob)
#define sqlite3_bind_int64 (sq_fns()->sqlite3_bind_int64)
#define sqlite3_bind_null (sq_fns()->sqlite3_bind_null)
#define sqlite3_bind_text (sq_fns()->sqlite3_bind_text)
#define sqlite3_busy_timeout (sq_fns()->sqlite3_busy_timeout)
#define sqlite3_changes (sq_fns()->sqlite3_changes)
#define sqlite3_close (sq_fns()->sqlite3_close)
#define sqlite3_column_blob (sq_fns()->sqlite3_column_blob)
#define sqlite3_column_bytes (sq_fns()->sqlite3_column_bytes)
#define sqlite3_column_int64 (sq_fns()->sqlite3_column_int64)
#define sqlite3_column_text (sq_fns()->sqlite3_column_text)
#define sqlite3_errcode (sq_fns()->sqlite3_errcode)
#define sqlite3_errmsg (sq_fns()->sqlite3_errmsg)
#define sqlite3_exec (sq_fns()->sqlite3_exec)
#define sqlite3_finalize (sq_fns()->sqlite3_finalize)
#define sqlite3_last_insert_rowid (sq_fns()->sqlite3_last_insert_rowid)
#define sqlite3_open_v2 (sq_fns()->sqlite3_open_v2)
#define sqlite3_prepare_v2 (sq_fns()->sqlite3_prepare_v2)
#define sqlite3_reset (sq_fns()->sqlite3_reset)
#define sqlite3_step (sq_fns()->sqlite3_step)

struct store_index {
	sqlite3 *db;
	sqlite3_stmt *st_inst_get, *st_pat_get, *st_pat_put, *st_study_get, *st_study_put, *st_series_get,
	    *st_series_put, *st_inst_put;
	int in_txn;
};

/* Schema migrations: entry i takes schema version i to i + 1. Never edit one that shipped. */
static const char *const migrations[] = {
	/* 0 -> 1: the first schema (docs/FORMATS.md "Vault index"). */
	"CREATE TABLE patient(pk INTEGER PRIMARY KEY, key_b BLOB NOT NULL UNIQUE, pid_b BLOB NOT NULL,"
	" attrs BLOB NOT NULL);"
	"CREATE INDEX patient_pid ON patient(pid_b);"
	"CREATE TABLE study(pk INTEGER PRIMARY KEY, patient_pk INTEGER NOT NULL REFERENCES patient(pk),"
	" uid_b BLOB NOT NULL UNIQUE, acc_b BLOB, attrs BLOB NOT NULL);"
	"CREATE INDEX study_patient ON study(patient_pk);"
	"CREATE INDEX study_acc ON study(acc_b);"
	"CREATE TABLE series(pk INTEGER PRIMARY KEY, study_pk INTEGER NOT NULL REFERENCES study(pk),"
	" uid_b BLOB NOT NULL UNIQUE, modality TEXT NOT NULL, attrs BLOB NOT NULL);"
	"CREATE INDEX series_study ON series(study_pk);"
	"CREATE TABLE instance(pk INTEGER PRIMARY KEY, series_pk INTEGER NOT NULL REFERENCES series(pk),"
	" uid_b BLOB NOT NULL UNIQUE, sop_class TEXT NOT NULL, objid TEXT NOT NULL UNIQUE,"
	" size INTEGER NOT NULL, mac BLOB NOT NULL, attrs BLOB NOT NULL, stored INTEGER NOT NULL);"
	"CREATE INDEX instance_series ON instance(series_pk);"
	"CREATE TABLE quarantine(pk INTEGER PRIMARY KEY, objid TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,"
	" info BLOB NOT NULL, stored INTEGER NOT NULL);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int
sq_err(struct store_index *ix, struct pv_diag *d, const char *what)
{
	int code = ix != NULL && ix->db != NULL ? sqlite3_errcode(ix->db) : SQLITE_ERROR;

	return pv_diag_set(d, code == SQLITE_CONSTRAINT ? PV_EEXIST : PV_EIO, -1, "index: %s: %s", what,
	    ix != NULL && ix->db != NULL ? sqlite3_errmsg(ix->db) : "cannot open");
}

static int
exec(struct store_index *ix, const char *sql, struct pv_diag *d)
{
	if (sqlite3_exec(ix->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_err(ix, d, "statement failed");
	return 0;
}

static int
prep(struct store_index *ix, sqlite3_stmt **st, const char *sql, struct pv_diag *d)
{
	if (sqlite3_prepare_v2(ix->db, sql, -1, st, NULL) != SQLITE_OK)
		return sq_err(ix, d, "cannot prepare a statement");
	return 0;
}

static int
meta_get(struct store_index *ix, const char *key, char *out, size_t n)
{
	sqlite3_stmt *st = NULL;
	int rc = PV_ENOTFOUND;

	if (sqlite3_prepare_v2(ix->db, "SELECT v FROM meta WHERE k = ?", -1, &st, NULL) != SQLITE_OK)
		return PV_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
meta_set(struct store_index *ix, const char *key, const char *value, struct pv_diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (prep(ix, &st, "INSERT OR REPLACE INTO meta(k, v) VALUES(?, ?)", d) != 0)
		return PV_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sq_err(ix, d, "cannot write a setting");
	sqlite3_finalize(st);
	return rc;
}

static int
migrate(struct store_index *ix, struct pv_diag *d)
{
	char v[32];
	int have = 0, rc;

	if ((rc = exec(ix, "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL)", d)) != 0)
		return rc;
	if (meta_get(ix, "schema_version", v, sizeof(v)) == 0)
		have = atoi(v);
	if (have > SCHEMA_VERSION)
		return pv_diag_set(d, PV_EUNSUPPORTED, -1, "index schema version %d is newer than this "
		    "program knows (%d): upgrade pacsvault", have, SCHEMA_VERSION);
	for (; have < SCHEMA_VERSION; have++) {
		snprintf(v, sizeof(v), "%d", have + 1);
		if ((rc = exec(ix, "BEGIN IMMEDIATE", d)) != 0)
			return rc;
		if ((rc = exec(ix, migrations[have], d)) != 0 || (rc = meta_set(ix, "schema_version", v, d)) != 0) {
			(void)sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
			return rc;
		}
		if ((rc = exec(ix, "COMMIT", d)) != 0)
			return rc;
	}
	return 0;
}

static void
sq_close(struct store_index *ix)
{
	if (ix == NULL)
		return;
	sqlite3_finalize(ix->st_inst_get);
	sqlite3_finalize(ix->st_pat_get);
	sqlite3_finalize(ix->st_pat_put);
	sqlite3_finalize(ix->st_study_get);
	sqlite3_finalize(ix->st_study_put);
	sqlite3_finalize(ix->st_series_get);
	sqlite3_finalize(ix->st_series_put);
	sqlite3_finalize(ix->st_inst_put);
	sqlite3_close(ix->db);
	free(ix);
}

static int
sq_open(const char *path, int create, struct store_index **out, struct pv_diag *d)
{
	struct store_index *ix;
	int rc, flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	*out = NULL;
	if (create && access(path, F_OK) == 0)
		return pv_diag_set(d, PV_EEXIST, -1, "index already exists");
	if (!create && access(path, F_OK) != 0)
		return pv_diag_set(d, PV_ENOTFOUND, -1, "index missing (not a vault, or damaged)");
	if (create) {
		/* Made 0600 before SQLite sees it: its -wal and -shm files copy these permissions. */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd < 0)
			return pv_diag_set(d, PV_EIO, -1, "cannot create the index: %s", strerror(errno));
		close(fd);
		flags |= SQLITE_OPEN_CREATE;
	}
	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	if (sqlite3_open_v2(path, &ix->db, flags, NULL) != SQLITE_OK) {
		rc = sq_err(ix, d, "cannot open");
		sq_close(ix);
		return rc;
	}
	sqlite3_busy_timeout(ix->db, 30000);
	if ((rc = exec(ix, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;"
	    " PRAGMA foreign_keys=ON;", d)) != 0 || (rc = migrate(ix, d)) != 0 ||
	    (rc = prep(ix, &ix->st_inst_get, "SELECT objid, size, mac FROM instance WHERE uid_b = ?", d)) != 0 ||
	    (rc = prep(ix, &ix->st_pat_get, "SELECT pk FROM patient WHERE key_b = ?", d)) != 0 ||
	    (rc = prep(ix, &ix->st_pat_put, "INSERT INTO patient(key_b, pid_b, attrs) VALUES(?, ?, ?)", d)) != 0 ||
	    (rc = prep(ix, &ix->st_study_get, "SELECT pk FROM study WHERE uid_b = ?", d)) != 0 ||
	    (rc = prep(ix, &ix->st_study_put, "INSERT INTO study(patient_pk, uid_b, acc_b, attrs) "
	    "VALUES(?, ?, ?, ?)", d)) != 0 ||
	    (rc = prep(ix, &ix->st_series_get, "SELECT pk FROM series WHERE uid_b = ?", d)) != 0 ||
	    (rc = prep(ix, &ix->st_series_put, "INSERT INTO series(study_pk, uid_b, modality, attrs) "
	    "VALUES(?, ?, ?, ?)", d)) != 0 ||
	    (rc = prep(ix, &ix->st_inst_put, "INSERT INTO instance(series_pk, uid_b, sop_class, objid, size, "
	    "mac, attrs, stored) VALUES(?, ?, ?, ?, ?, ?, ?, ?)", d)) != 0) {
		sq_close(ix);
		return rc;
	}
	*out = ix;
	return 0;
}

static int
sq_begin(struct store_index *ix, struct pv_diag *d)
{
	int rc = exec(ix, "BEGIN IMMEDIATE", d);

	if (rc == 0)
		ix->in_txn = 1;
	return rc;
}

static int
sq_commit(struct store_index *ix, struct pv_diag *d)
{
	int rc = exec(ix, "COMMIT", d);

	if (rc == 0)
		ix->in_txn = 0;
	return rc;
}

static void
sq_rollback(struct store_index *ix)
{
	if (ix->in_txn)
		(void)sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
	ix->in_txn = 0;
}

static int
sq_instance_get(struct store_index *ix, const uint8_t sop_b[STORE_BLIND_LEN], char objid[STORE_OBJID_HEX],
    uint64_t *size, uint8_t mac[STORE_MAC_LEN])
{
	sqlite3_stmt *st = ix->st_inst_get;
	int rc = PV_ENOTFOUND, s;

	sqlite3_reset(st);
	sqlite3_bind_blob(st, 1, sop_b, STORE_BLIND_LEN, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const void *m = sqlite3_column_blob(st, 2);

		snprintf(objid, STORE_OBJID_HEX, "%s", (const char *)sqlite3_column_text(st, 0));
		*size = (uint64_t)sqlite3_column_int64(st, 1);
		if (m != NULL && sqlite3_column_bytes(st, 2) == STORE_MAC_LEN)
			memcpy(mac, m, STORE_MAC_LEN);
		else
			memset(mac, 0, STORE_MAC_LEN);
		rc = 0;
	} else if (s != SQLITE_DONE) {
		rc = PV_EIO;
	}
	sqlite3_reset(st);
	return rc;
}

/* The pk of the row with blind value b (get), else inserts it with put's bindings (2..). */
static int
get_or_put(struct store_index *ix, sqlite3_stmt *get, const uint8_t *b, sqlite3_stmt *put, int64_t *pk,
    struct pv_diag *d)
{
	int s;

	sqlite3_reset(get);
	sqlite3_bind_blob(get, 1, b, STORE_BLIND_LEN, SQLITE_STATIC);
	s = sqlite3_step(get);
	if (s == SQLITE_ROW) {
		*pk = sqlite3_column_int64(get, 0);
		sqlite3_reset(get);
		sqlite3_reset(put);
		return 0;
	}
	sqlite3_reset(get);
	if (s != SQLITE_DONE)
		return sq_err(ix, d, "lookup failed");
	s = sqlite3_step(put);
	sqlite3_reset(put);
	if (s != SQLITE_DONE)
		return sq_err(ix, d, "insert failed");
	*pk = sqlite3_last_insert_rowid(ix->db);
	return 0;
}

static int
sq_instance_put(struct store_index *ix, const struct store_instance_row *r, struct pv_diag *d)
{
	int64_t pat, study, series;
	sqlite3_stmt *st;
	int rc, s;

	st = ix->st_pat_put;
	sqlite3_bind_blob(st, 1, r->pat_key_b, STORE_BLIND_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, r->pid_b, STORE_BLIND_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, r->pat_attrs, (int)r->pat_attrs_n, SQLITE_STATIC);
	if ((rc = get_or_put(ix, ix->st_pat_get, r->pat_key_b, st, &pat, d)) != 0)
		return rc;
	st = ix->st_study_put;
	sqlite3_bind_int64(st, 1, pat);
	sqlite3_bind_blob(st, 2, r->study_b, STORE_BLIND_LEN, SQLITE_STATIC);
	if (r->has_acc)
		sqlite3_bind_blob(st, 3, r->acc_b, STORE_BLIND_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_blob(st, 4, r->study_attrs, (int)r->study_attrs_n, SQLITE_STATIC);
	if ((rc = get_or_put(ix, ix->st_study_get, r->study_b, st, &study, d)) != 0)
		return rc;
	st = ix->st_series_put;
	sqlite3_bind_int64(st, 1, study);
	sqlite3_bind_blob(st, 2, r->series_b, STORE_BLIND_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->modality, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, r->series_attrs, (int)r->series_attrs_n, SQLITE_STATIC);
	if ((rc = get_or_put(ix, ix->st_series_get, r->series_b, st, &series, d)) != 0)
		return rc;
	st = ix->st_inst_put;
	sqlite3_bind_int64(st, 1, series);
	sqlite3_bind_blob(st, 2, r->sop_b, STORE_BLIND_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->sop_class, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->objid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)r->size);
	sqlite3_bind_blob(st, 6, r->mac, STORE_MAC_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, r->inst_attrs, (int)r->inst_attrs_n, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, r->stored);
	s = sqlite3_step(st);
	sqlite3_reset(st);
	if (s != SQLITE_DONE)
		return sq_err(ix, d, "cannot add the instance");
	return 0;
}

static int
run_delete(struct store_index *ix, const char *sql, int64_t pk, struct pv_diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (prep(ix, &st, sql, d) != 0)
		return PV_EIO;
	sqlite3_bind_int64(st, 1, pk);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sq_err(ix, d, "delete failed");
	sqlite3_finalize(st);
	return rc;
}

static int
sq_instance_remove(struct store_index *ix, const uint8_t sop_b[STORE_BLIND_LEN], struct pv_diag *d)
{
	sqlite3_stmt *st = NULL;
	int64_t pk = 0, series = 0, study = 0, patient = 0;
	int rc = PV_ENOTFOUND;

	if (prep(ix, &st, "SELECT i.pk, i.series_pk, se.study_pk, s.patient_pk FROM instance i JOIN series se "
	    "ON i.series_pk = se.pk JOIN study s ON se.study_pk = s.pk WHERE i.uid_b = ?", d) != 0)
		return PV_EIO;
	sqlite3_bind_blob(st, 1, sop_b, STORE_BLIND_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		pk = sqlite3_column_int64(st, 0);
		series = sqlite3_column_int64(st, 1);
		study = sqlite3_column_int64(st, 2);
		patient = sqlite3_column_int64(st, 3);
		rc = 0;
	}
	sqlite3_finalize(st);
	if (rc != 0)
		return pv_diag_set(d, rc, -1, "no such instance in the index");
	if ((rc = run_delete(ix, "DELETE FROM instance WHERE pk = ?", pk, d)) != 0 ||
	    (rc = run_delete(ix, "DELETE FROM series WHERE pk = ? AND NOT EXISTS (SELECT 1 FROM instance "
	    "WHERE series_pk = series.pk)", series, d)) != 0 ||
	    (rc = run_delete(ix, "DELETE FROM study WHERE pk = ? AND NOT EXISTS (SELECT 1 FROM series "
	    "WHERE study_pk = study.pk)", study, d)) != 0 ||
	    (rc = run_delete(ix, "DELETE FROM patient WHERE pk = ? AND NOT EXISTS (SELECT 1 FROM study "
	    "WHERE patient_pk = patient.pk)", patient, d)) != 0)
		return rc;
	return 0;
}

/* Appends " AND col IN (?, ...)" for n values. */
static int
add_in(char *sql, size_t cap, const char *col, size_t n)
{
	size_t len = strlen(sql);

	if (n == 0)
		return 0;
	if (n > STORE_MAX_LIST || len + strlen(col) + 16 + 3 * n >= cap)
		return PV_ELIMIT;
	len += (size_t)snprintf(sql + len, cap - len, " AND %s IN (", col);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(sql + len, cap - len, i == 0 ? "?" : ",?");
	snprintf(sql + len, cap - len, ")");
	return 0;
}

static int
bind_blobs(sqlite3_stmt *st, int *at, const uint8_t (*v)[STORE_BLIND_LEN], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sqlite3_bind_blob(st, (*at)++, v[i], STORE_BLIND_LEN, SQLITE_STATIC) != SQLITE_OK)
			return PV_EIO;
	return 0;
}

static const uint8_t *
col_blob(sqlite3_stmt *st, int c, size_t *n)
{
	*n = (size_t)sqlite3_column_bytes(st, c);
	return sqlite3_column_blob(st, c);
}

static int
sq_query(struct store_index *ix, const struct store_filter *f, store_row_fn fn, void *ctx, struct pv_diag *d)
{
	char sql[16384];
	sqlite3_stmt *st = NULL;
	int at = 1, rc = 0, s;

	switch (f->level) {
	case QUERY_PATIENT:
		snprintf(sql, sizeof(sql), "SELECT p.key_b, p.attrs, (SELECT count(*) FROM study WHERE "
		    "patient_pk = p.pk) FROM patient p WHERE 1");
		break;
	case QUERY_STUDY:
		snprintf(sql, sizeof(sql), "SELECT p.key_b, p.attrs, s.uid_b, s.attrs, "
		    "(SELECT group_concat(m, '\\') FROM (SELECT DISTINCT modality AS m FROM series WHERE "
		    "study_pk = s.pk AND modality <> '' ORDER BY m)), "
		    "(SELECT count(*) FROM series WHERE study_pk = s.pk), "
		    "(SELECT count(*) FROM instance i JOIN series x ON i.series_pk = x.pk WHERE x.study_pk = s.pk) "
		    "FROM study s JOIN patient p ON s.patient_pk = p.pk WHERE 1");
		break;
	case QUERY_SERIES:
		snprintf(sql, sizeof(sql), "SELECT p.key_b, p.attrs, s.uid_b, s.attrs, se.uid_b, se.attrs, "
		    "se.modality, (SELECT count(*) FROM instance WHERE series_pk = se.pk) "
		    "FROM series se JOIN study s ON se.study_pk = s.pk JOIN patient p ON s.patient_pk = p.pk "
		    "WHERE 1");
		break;
	case QUERY_IMAGE:
		snprintf(sql, sizeof(sql), "SELECT p.key_b, p.attrs, s.uid_b, s.attrs, se.uid_b, se.attrs, "
		    "se.modality, i.uid_b, i.attrs, i.sop_class, i.objid, i.size, i.mac "
		    "FROM instance i JOIN series se ON i.series_pk = se.pk JOIN study s ON se.study_pk = s.pk "
		    "JOIN patient p ON s.patient_pk = p.pk WHERE 1");
		break;
	default:
		return pv_diag_set(d, PV_EINVAL, -1, "bad query level");
	}
	if (add_in(sql, sizeof(sql), "p.pid_b", f->n_pid) != 0 ||
	    (f->level >= QUERY_STUDY && (add_in(sql, sizeof(sql), "s.uid_b", f->n_study) != 0 ||
	    add_in(sql, sizeof(sql), "s.acc_b", f->n_acc) != 0)) ||
	    (f->level >= QUERY_SERIES && (add_in(sql, sizeof(sql), "se.uid_b", f->n_series) != 0 ||
	    add_in(sql, sizeof(sql), "se.modality", f->modality != NULL ? 1 : 0) != 0)) ||
	    (f->level >= QUERY_IMAGE && (add_in(sql, sizeof(sql), "i.uid_b", f->n_sop) != 0 ||
	    add_in(sql, sizeof(sql), "i.sop_class", f->n_sop_class) != 0)))
		return pv_diag_set(d, PV_ELIMIT, -1, "too many values in a query list (at most %d)", STORE_MAX_LIST);
	if (prep(ix, &st, sql, d) != 0)
		return PV_EIO;
	(void)bind_blobs(st, &at, f->pid_b, f->n_pid);
	if (f->level >= QUERY_STUDY) {
		(void)bind_blobs(st, &at, f->study_b, f->n_study);
		(void)bind_blobs(st, &at, f->acc_b, f->n_acc);
	}
	if (f->level >= QUERY_SERIES) {
		(void)bind_blobs(st, &at, f->series_b, f->n_series);
		if (f->modality != NULL)
			sqlite3_bind_text(st, at++, f->modality, -1, SQLITE_STATIC);
	}
	if (f->level >= QUERY_IMAGE) {
		(void)bind_blobs(st, &at, f->sop_b, f->n_sop);
		for (size_t i = 0; i < f->n_sop_class; i++)
			sqlite3_bind_text(st, at++, f->sop_class[i], -1, SQLITE_STATIC);
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_row r;
		size_t n;

		memset(&r, 0, sizeof(r));
		r.pat_key_b = col_blob(st, 0, &n);
		r.pat_attrs = col_blob(st, 1, &r.pat_attrs_n);
		if (f->level == QUERY_PATIENT) {
			r.n_studies = (uint64_t)sqlite3_column_int64(st, 2);
		} else {
			r.study_b = col_blob(st, 2, &n);
			r.study_attrs = col_blob(st, 3, &r.study_attrs_n);
		}
		if (f->level == QUERY_STUDY) {
			r.modalities = (const char *)sqlite3_column_text(st, 4);
			r.n_series = (uint64_t)sqlite3_column_int64(st, 5);
			r.n_instances = (uint64_t)sqlite3_column_int64(st, 6);
		}
		if (f->level >= QUERY_SERIES) {
			r.series_b = col_blob(st, 4, &n);
			r.series_attrs = col_blob(st, 5, &r.series_attrs_n);
			r.modality = (const char *)sqlite3_column_text(st, 6);
		}
		if (f->level == QUERY_SERIES)
			r.n_instances = (uint64_t)sqlite3_column_int64(st, 7);
		if (f->level == QUERY_IMAGE) {
			r.sop_b = col_blob(st, 7, &n);
			r.inst_attrs = col_blob(st, 8, &r.inst_attrs_n);
			r.sop_class = (const char *)sqlite3_column_text(st, 9);
			r.objid = (const char *)sqlite3_column_text(st, 10);
			r.size = (uint64_t)sqlite3_column_int64(st, 11);
			r.mac = col_blob(st, 12, &n);
			if (n != STORE_MAC_LEN)
				r.mac = NULL;
		}
		if ((rc = fn(ctx, &r)) != 0)
			break;
	}
	if (rc == 0 && s != SQLITE_DONE && s != SQLITE_ROW)
		rc = sq_err(ix, d, "query failed");
	sqlite3_finalize(st);
	return rc;
}

static int
sq_quarantine_put(struct store_index *ix, const struct store_quarantine_row *r, struct pv_diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (prep(ix, &st, "INSERT INTO quarantine(objid, size, info, stored) VALUES(?, ?, ?, ?)", d) != 0)
		return PV_EIO;
	sqlite3_bind_text(st, 1, r->objid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)r->size);
	sqlite3_bind_blob(st, 3, r->info, (int)r->info_n, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->stored);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sq_err(ix, d, "cannot record a quarantined file");
	sqlite3_finalize(st);
	return rc;
}

static int
sq_quarantine_list(struct store_index *ix, store_quarantine_fn fn, void *ctx, struct pv_diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, s;

	if (prep(ix, &st, "SELECT objid, size, info, stored FROM quarantine ORDER BY pk", d) != 0)
		return PV_EIO;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_quarantine_row r;

		r.objid = (const char *)sqlite3_column_text(st, 0);
		r.size = (uint64_t)sqlite3_column_int64(st, 1);
		r.info = col_blob(st, 2, &r.info_n);
		r.stored = sqlite3_column_int64(st, 3);
		if ((rc = fn(ctx, &r)) != 0)
			break;
	}
	if (rc == 0 && s != SQLITE_DONE && s != SQLITE_ROW)
		rc = sq_err(ix, d, "quarantine list failed");
	sqlite3_finalize(st);
	return rc;
}

static int
sq_quarantine_remove(struct store_index *ix, const char *objid, struct pv_diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (prep(ix, &st, "DELETE FROM quarantine WHERE objid = ?", d) != 0)
		return PV_EIO;
	sqlite3_bind_text(st, 1, objid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sq_err(ix, d, "cannot remove a quarantine row");
	else if (sqlite3_changes(ix->db) == 0)
		rc = pv_diag_set(d, PV_ENOTFOUND, -1, "not in the quarantine");
	sqlite3_finalize(st);
	return rc;
}

static int
sq_object_kind(struct store_index *ix, const char *objid, struct pv_diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc, s;

	if (prep(ix, &st, "SELECT 1 FROM instance WHERE objid = ?1 UNION ALL "
	    "SELECT 2 FROM quarantine WHERE objid = ?1", d) != 0)
		return PV_EIO;
	sqlite3_bind_text(st, 1, objid, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		rc = sqlite3_column_int64(st, 0) == 1 ? STORE_OBJ_INSTANCE : STORE_OBJ_QUARANTINE;
	else if (s == SQLITE_DONE)
		rc = STORE_OBJ_NONE;
	else
		rc = sq_err(ix, d, "cannot look up an object id");
	sqlite3_finalize(st);
	return rc;
}

static int
sq_check(struct store_index *ix, struct pv_diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (prep(ix, &st, "PRAGMA integrity_check", d) != 0)
		return PV_EIO;
	if (sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
		rc = pv_diag_set(d, PV_EINTEGRITY, -1, "index: SQLite integrity check failed");
	sqlite3_finalize(st);
	if (rc != 0)
		return rc;
	if (prep(ix, &st, "PRAGMA foreign_key_check", d) != 0)
		return PV_EIO;
	if (sqlite3_step(st) == SQLITE_ROW)
		rc = pv_diag_set(d, PV_EINTEGRITY, -1, "index: a row refers to a missing parent (table %s)",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc;
}

static int
sq_prune(struct store_index *ix, uint64_t *removed, struct pv_diag *d)
{
	static const char *const sql[] = {
		"DELETE FROM series WHERE NOT EXISTS (SELECT 1 FROM instance WHERE series_pk = series.pk)",
		"DELETE FROM study WHERE NOT EXISTS (SELECT 1 FROM series WHERE study_pk = study.pk)",
		"DELETE FROM patient WHERE NOT EXISTS (SELECT 1 FROM study WHERE patient_pk = patient.pk)",
	};
	int rc;

	*removed = 0;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((rc = exec(ix, sql[i], d)) != 0)
			return rc;
		*removed += (uint64_t)sqlite3_changes(ix->db);
	}
	return 0;
}

const struct store_index_ops store_index_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.meta_get = meta_get,
	.meta_set = meta_set,
	.instance_get = sq_instance_get,
	.instance_put = sq_instance_put,
	.instance_remove = sq_instance_remove,
	.query = sq_query,
	.quarantine_put = sq_quarantine_put,
	.quarantine_list = sq_quarantine_list,
	.quarantine_remove = sq_quarantine_remove,
	.object_kind = sq_object_kind,
	.check = sq_check,
	.prune = sq_prune,
};
