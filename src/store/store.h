/* store.h — the one place siyu keeps its data.
 *
 * A workspace is one SQLite database (WAL) inside its data directory. Only
 * store/ includes sqlite3.h; domain modules use this small interface so that a
 * PostgreSQL backend can be added later without touching them.
 *
 * Threads. One writer thread owns every write for all modules: a domain hands
 * it a job with sy_store_write() and waits for the job's transaction to
 * commit. A job must not hold the writer for more than about 100 ms; long work
 * commits in chunks (several sy_store_write calls), through a staging table
 * when the result must appear atomically. Readers borrow a read connection
 * from a pool with sy_store_read_begin/end; each borrowed connection sees a
 * consistent snapshot for as long as it is borrowed.
 *
 * Statements. sy_stmt wraps a prepared statement of one connection. Bind
 * parameters are 1-based; columns 0-based. Text results borrow from the
 * statement and stay valid until the next step/reset/finalize. */
#ifndef SY_STORE_H
#define SY_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

typedef struct sy_store sy_store; /* a workspace's database, with its threads */
typedef struct sy_db sy_db;       /* one connection (read or write) */
typedef struct sy_stmt sy_stmt;   /* one prepared statement */

enum { SY_ROW = 1, SY_DONE = 0 };                                        /* sy_stmt_step results */
enum { SY_NULL = 0, SY_INT = 1, SY_REAL = 2, SY_TEXT = 3, SY_BLOB = 4 }; /* column types */

/* Opens (creating if needed) DIR/siyu.db, applies pending migrations and
 * starts the writer thread. Refuses with SY_E_PRECONDITION when the file was
 * written by a newer binary (its schema version is above ours). The caller
 * owns *out (sy_store_close). Errors: SY_E_IO, SY_E_PRECONDITION. */
int sy_store_open(const char *dir, sy_store **out, sy_err *e);
/* Stops the writer after its queue drains and closes every connection. NULL ok. */
void sy_store_close(sy_store *s);
/* Path of the database file (borrowed, valid while s is open). */
const char *sy_store_path(const sy_store *s);
/* Schema version applied (highest migration number). */
int sy_store_schema_version(const sy_store *s);
/* Database file size in bytes (for /metrics). */
int64_t sy_store_size_bytes(sy_store *s);

/* Runs job(db, arg, e) on the writer thread inside one transaction
 * (BEGIN IMMEDIATE … COMMIT) and waits for it. When job returns non-zero the
 * transaction is rolled back and its code returned with e filled by the job.
 * Any thread except the writer itself may call this. */
typedef int (*sy_write_job)(sy_db *db, void *arg, sy_err *e);
int sy_store_write(sy_store *s, sy_write_job job, void *arg, sy_err *e);

/* Number of write jobs committed since the store opened. A module that
 * caches what it read on the writer can tell, from inside its next job,
 * whether anyone else wrote in between (the value then advanced by more
 * than its own commits). */
uint64_t sy_store_generation(sy_store *s);

/* Borrows a read connection; each call opens a read transaction, so reads
 * through it see one snapshot. Return it with sy_store_read_end. */
int sy_store_read_begin(sy_store *s, sy_db **db, sy_err *e);
void sy_store_read_end(sy_store *s, sy_db *db);

/* Copies the live database to file `to` with SQLite's online backup, while
 * the server may be writing. Errors: SY_E_IO. */
int sy_store_backup(sy_store *s, const char *to, sy_err *e);
/* Replaces DIR/siyu.db by the backup file `from` (server must be stopped).
 * Validates that `from` is a siyu database first. */
int sy_store_restore(const char *dir, const char *from, sy_err *e);

/* --- statements (any connection) --- */

/* Prepares sql on db. The caller finalizes *out. Errors: SY_E_IO (with the
 * SQL error in the message — a bug, since SQL is written by us). */
int sy_db_prepare(sy_db *db, const char *sql, sy_stmt **out, sy_err *e);
/* Like sy_db_prepare but keeps the statement on the connection for reuse
 * (hot paths such as ingestion): sql must be a string literal or otherwise
 * outlive the connection. Release with sy_stmt_done, never finalize. */
int sy_db_prepare_cached(sy_db *db, const char *sql, sy_stmt **out, sy_err *e);
/* Resets a cached statement and clears its bindings for the next use. */
void sy_stmt_done(sy_stmt *st);
/* Runs sql (may hold several statements, no parameters). */
int sy_db_exec(sy_db *db, const char *sql, sy_err *e);
int64_t sy_db_last_id(sy_db *db);
int sy_db_changes(sy_db *db);

void sy_stmt_bind_int(sy_stmt *st, int i, int64_t v);
void sy_stmt_bind_real(sy_stmt *st, int i, double v);
/* Binds a copy of s (NULL binds SQL NULL). */
void sy_stmt_bind_text(sy_stmt *st, int i, const char *s);
void sy_stmt_bind_textn(sy_stmt *st, int i, const char *s, size_t n);
void sy_stmt_bind_blob(sy_stmt *st, int i, const void *p, size_t n);
void sy_stmt_bind_null(sy_stmt *st, int i);
/* Steps once: SY_ROW, SY_DONE, or a negative code (SY_E_CONFLICT for a
 * UNIQUE/constraint violation, SY_E_IO otherwise) with e filled. */
int sy_stmt_step(sy_stmt *st, sy_err *e);
void sy_stmt_reset(sy_stmt *st);
void sy_stmt_finalize(sy_stmt *st); /* NULL ok */

int sy_stmt_col_type(sy_stmt *st, int i);
int64_t sy_stmt_col_int(sy_stmt *st, int i);
double sy_stmt_col_real(sy_stmt *st, int i);
/* NULL when the column is NULL. */
const char *sy_stmt_col_text(sy_stmt *st, int i);
const void *sy_stmt_col_blob(sy_stmt *st, int i, size_t *n);
int sy_stmt_col_count(sy_stmt *st);
const char *sy_stmt_col_name(sy_stmt *st, int i);

/* Convenience: prepares sql, binds nothing, steps once and returns column 0
 * of the first row as an int in *out (0 when there is no row). */
int sy_db_query_int(sy_db *db, const char *sql, int64_t *out, sy_err *e);

#endif
