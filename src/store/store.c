/* store.c — SQLite in WAL mode: migrations, the single writer thread, the
 * read-connection pool and the statement wrapper. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include "store.h"
#include "base/base.h"

/* Provided by the generated embedded.c (cmake/embed.cmake). */
extern const struct {
    const char *name;
    const char *sql;
} sy_migrations[];

#define STMT_CACHE 64

struct sy_stmt {
    sqlite3_stmt *st;
    struct sy_db *db;
};

struct sy_db {
    sqlite3 *h;
    int in_use; /* read pool: borrowed */
    /* prepared statements kept for reuse, keyed by SQL text */
    const char *cache_sql[STMT_CACHE];
    sy_stmt cache[STMT_CACHE];
    int n_cache;
};

/* A write job waiting for the writer; lives on the caller's stack. */
typedef struct write_req {
    sy_write_job job;
    void *arg;
    sy_err *err;
    int rc;
    int done;
    struct write_req *next;
} write_req;

#define READ_POOL 8

struct sy_store {
    char dir[512];
    char path[600];
    int schema_version;
    sy_db writer;
    pthread_t writer_thread;
    int writer_running;
    pthread_mutex_t lock; /* guards queue, stopping, pool in_use */
    pthread_cond_t wake;  /* writer: work arrived or stop */
    pthread_cond_t done;  /* callers: a job finished */
    pthread_cond_t pool_free;
    write_req *head, *tail;
    int stopping;
    sy_db readers[READ_POOL];
    _Atomic uint64_t generation; /* committed write jobs */
};

static void close_conn(sy_db *db);

static int db_err(sy_db *db, sy_err *e, const char *what) {
    int code = sqlite3_extended_errcode(db->h);
    int rc = (code & 0xff) == SQLITE_CONSTRAINT ? SY_E_CONFLICT : SY_E_IO;
    return sy_err_set(e, rc, "%s: %s", what, sqlite3_errmsg(db->h));
}

static int open_conn(const char *path, sy_db *db, int readonly, sy_err *e) {
    int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    flags |= SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
        int rc = sy_err_set(e, SY_E_IO, "cannot open database \"%s\": %s", path,
                            db->h ? sqlite3_errmsg(db->h) : "out of memory");
        sqlite3_close(db->h);
        db->h = NULL;
        return rc;
    }
    sqlite3_busy_timeout(db->h, 10000);
    /* 64 MB page cache and 256 MB of memory-mapped reads keep the hot
     * B-trees (identities, contacts) in memory for large workspaces. */
    const char *pragmas =
        readonly ? "PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384; PRAGMA mmap_size=268435456;"
                 : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                   "PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;";
    return sy_db_exec(db, pragmas, e);
}

static int migration_number(const char *name) {
    return atoi(name);
}

static int migrate(sy_store *s, sy_err *e) {
    sy_db *db = &s->writer;
    int64_t v = 0;
    int rc = sy_db_query_int(db, "PRAGMA user_version", &v, e);
    if (rc) return rc;
    int latest = 0;
    for (int i = 0; sy_migrations[i].name; i++)
        latest = migration_number(sy_migrations[i].name);
    if (v > latest)
        return sy_err_set(e, SY_E_PRECONDITION,
                          "database \"%s\" has schema version %lld, written by a newer siyu "
                          "(this binary knows up to %d); upgrade siyu or restore a backup",
                          s->path, (long long)v, latest);
    for (int i = 0; sy_migrations[i].name; i++) {
        int n = migration_number(sy_migrations[i].name);
        if (n <= v) continue;
        char sql[64];
        if ((rc = sy_db_exec(db, "BEGIN IMMEDIATE", e))) return rc;
        if ((rc = sy_db_exec(db, sy_migrations[i].sql, e))) {
            sy_db_exec(db, "ROLLBACK", NULL);
            return sy_err_set(e, SY_E_IO, "migration %s failed: %s", sy_migrations[i].name, e->msg);
        }
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", n);
        if ((rc = sy_db_exec(db, sql, e)) || (rc = sy_db_exec(db, "COMMIT", e))) {
            sy_db_exec(db, "ROLLBACK", NULL);
            return rc;
        }
        sy_info("msg=\"migration applied\" name=%s", sy_migrations[i].name);
        v = n;
    }
    s->schema_version = (int)v;
    return 0;
}

/* The writer: runs queued jobs one by one, each in its own IMMEDIATE
 * transaction, and wakes the callers. */
static void *writer_main(void *arg) {
    sy_store *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->wake, &s->lock);
        if (!s->head && s->stopping) break;
        write_req *w = s->head;
        s->head = w->next;
        if (!s->head) s->tail = NULL;
        pthread_mutex_unlock(&s->lock);

        sy_err local;
        sy_err *e = w->err ? w->err : &local;
        int rc = sy_db_exec(&s->writer, "BEGIN IMMEDIATE", e);
        if (rc == 0) {
            rc = w->job(&s->writer, w->arg, e);
            if (rc == 0) rc = sy_db_exec(&s->writer, "COMMIT", e);
            if (rc == 0) atomic_fetch_add(&s->generation, 1);
            if (rc != 0 && !sqlite3_get_autocommit(s->writer.h))
                sy_db_exec(&s->writer, "ROLLBACK", NULL);
        }

        pthread_mutex_lock(&s->lock);
        w->rc = rc;
        w->done = 1;
        pthread_cond_broadcast(&s->done);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Set on the writer thread so that a job calling sy_store_write again runs
 * inline inside the current transaction instead of deadlocking. */
static _Thread_local sy_store *writer_of;

static void *writer_entry(void *arg) {
    writer_of = arg;
    return writer_main(arg);
}

int sy_store_open(const char *dir, sy_store **out, sy_err *e) {
    *out = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return sy_err_set(e, SY_E_IO, "cannot create data directory \"%s\": %s", dir,
                          strerror(errno));
    sy_store *s = calloc(1, sizeof *s);
    if (!s) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->path, sizeof s->path, "%s/siyu.db", dir);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->done, NULL);
    pthread_cond_init(&s->pool_free, NULL);
    int rc = open_conn(s->path, &s->writer, 0, e);
    if (rc == 0) rc = migrate(s, e);
    if (rc) {
        sy_store_close(s);
        return rc;
    }
    if (pthread_create(&s->writer_thread, NULL, writer_entry, s) != 0) {
        sy_store_close(s);
        return sy_err_set(e, SY_E_INTERNAL, "cannot start the writer thread");
    }
    s->writer_running = 1;
    *out = s;
    return 0;
}

void sy_store_close(sy_store *s) {
    if (!s) return;
    if (s->writer_running) {
        pthread_mutex_lock(&s->lock);
        s->stopping = 1;
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->writer_thread, NULL);
    }
    for (int i = 0; i < READ_POOL; i++)
        close_conn(&s->readers[i]);
    if (s->writer.h) {
        sqlite3_exec(s->writer.h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
        close_conn(&s->writer);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->done);
    pthread_cond_destroy(&s->pool_free);
    free(s);
}

const char *sy_store_path(const sy_store *s) {
    return s->path;
}
uint64_t sy_store_generation(sy_store *s) {
    return atomic_load(&s->generation);
}
int sy_store_schema_version(const sy_store *s) {
    return s->schema_version;
}

int64_t sy_store_size_bytes(sy_store *s) {
    struct stat st;
    int64_t n = 0;
    char p[640];
    if (stat(s->path, &st) == 0) n += st.st_size;
    snprintf(p, sizeof p, "%s-wal", s->path);
    if (stat(p, &st) == 0) n += st.st_size;
    return n;
}

int sy_store_write(sy_store *s, sy_write_job job, void *arg, sy_err *e) {
    if (writer_of == s) return job(&s->writer, arg, e); /* nested: same transaction */
    write_req w = {.job = job, .arg = arg, .err = e};
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->lock);
        return sy_err_set(e, SY_E_UNAVAILABLE, "the store is shutting down; retry");
    }
    if (s->tail)
        s->tail->next = &w;
    else
        s->head = &w;
    s->tail = &w;
    pthread_cond_signal(&s->wake);
    while (!w.done)
        pthread_cond_wait(&s->done, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return w.rc;
}

/* Runs a statement without results from the connection's cache: BEGIN and
 * COMMIT of every read transaction, parsed once per connection. */
static int run_cached(sy_db *db, const char *sql, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(db, sql, &st, e);
    if (rc == SY_E_INTERNAL) return sy_db_exec(db, sql, e); /* cache full: parse it */
    if (rc) return rc;
    rc = sy_stmt_step(st, e);
    sy_stmt_done(st);
    return rc < 0 ? rc : 0;
}

int sy_store_read_begin(sy_store *s, sy_db **out, sy_err *e) {
    sy_db *db = NULL;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        for (int i = 0; i < READ_POOL; i++)
            if (!s->readers[i].in_use) {
                db = &s->readers[i];
                break;
            }
        if (db) break;
        pthread_cond_wait(&s->pool_free, &s->lock);
    }
    db->in_use = 1;
    pthread_mutex_unlock(&s->lock);
    int rc = 0;
    if (!db->h) rc = open_conn(s->path, db, 1, e);
    if (rc == 0) rc = run_cached(db, "BEGIN", e);
    if (rc) {
        sy_store_read_end(s, db);
        return rc;
    }
    *out = db;
    return 0;
}

void sy_store_read_end(sy_store *s, sy_db *db) {
    if (!db) return;
    if (db->h && !sqlite3_get_autocommit(db->h)) {
        sy_err ie;
        if (run_cached(db, "COMMIT", &ie)) sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
    }
    pthread_mutex_lock(&s->lock);
    db->in_use = 0;
    pthread_cond_signal(&s->pool_free);
    pthread_mutex_unlock(&s->lock);
}

static int copy_db(sqlite3 *from, const char *to, sy_err *e) {
    sqlite3 *dst = NULL;
    if (sqlite3_open(to, &dst) != SQLITE_OK) {
        int rc = sy_err_set(e, SY_E_IO, "cannot create \"%s\": %s", to, sqlite3_errmsg(dst));
        sqlite3_close(dst);
        return rc;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", from, "main");
    int rc = 0;
    if (!b) {
        rc = sy_err_set(e, SY_E_IO, "backup to \"%s\" failed: %s", to, sqlite3_errmsg(dst));
    } else {
        int r;
        /* Copy in steps so a busy writer is not starved; SQLite restarts the
         * copy when the source changes, which WAL keeps rare. */
        while ((r = sqlite3_backup_step(b, 256)) == SQLITE_OK || r == SQLITE_BUSY ||
               r == SQLITE_LOCKED)
            if (r != SQLITE_OK) sqlite3_sleep(5);
        sqlite3_backup_finish(b);
        if (r != SQLITE_DONE)
            rc = sy_err_set(e, SY_E_IO, "backup to \"%s\" failed: %s", to, sqlite3_errstr(r));
    }
    if (rc == 0 && sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK)
        rc = sy_err_set(e, SY_E_IO, "backup to \"%s\" failed: %s", to, sqlite3_errmsg(dst));
    sqlite3_close(dst);
    return rc;
}

int sy_store_backup(sy_store *s, const char *to, sy_err *e) {
    sy_db db = {0};
    int rc = open_conn(s->path, &db, 1, e);
    if (rc == 0) rc = copy_db(db.h, to, e);
    sqlite3_close(db.h);
    return rc;
}

int sy_store_restore(const char *dir, const char *from, sy_err *e) {
    sy_db src = {0};
    int rc = open_conn(from, &src, 1, e);
    int64_t v = 0, tables = 0;
    if (rc == 0) rc = sy_db_query_int(&src, "PRAGMA user_version", &v, e);
    if (rc == 0) rc = sy_db_query_int(&src, "SELECT count(*) FROM sqlite_master", &tables, e);
    if (rc == 0 && (v <= 0 || tables == 0))
        rc = sy_err_set(e, SY_E_INVALID, "\"%s\" is not a siyu backup (no schema version)", from);
    int64_t latest = 0;
    for (int i = 0; sy_migrations[i].name; i++)
        latest = migration_number(sy_migrations[i].name);
    if (rc == 0 && v > latest)
        rc = sy_err_set(e, SY_E_PRECONDITION,
                        "backup \"%s\" has schema version %lld, newer than this siyu (%lld)", from,
                        (long long)v, (long long)latest);
    if (rc == 0) {
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            rc = sy_err_set(e, SY_E_IO, "cannot create data directory \"%s\": %s", dir,
                            strerror(errno));
    }
    if (rc == 0) {
        char path[600], tmp[640], side[640];
        snprintf(path, sizeof path, "%s/siyu.db", dir);
        snprintf(tmp, sizeof tmp, "%s.restore", path);
        unlink(tmp);
        rc = copy_db(src.h, tmp, e);
        if (rc == 0) {
            snprintf(side, sizeof side, "%s-wal", path);
            unlink(side);
            snprintf(side, sizeof side, "%s-shm", path);
            unlink(side);
            if (rename(tmp, path) != 0)
                rc = sy_err_set(e, SY_E_IO, "cannot replace \"%s\": %s", path, strerror(errno));
        }
    }
    sqlite3_close(src.h);
    return rc;
}

/* --- statements --- */

int sy_db_prepare(sy_db *db, const char *sql, sy_stmt **out, sy_err *e) {
    sqlite3_stmt *st = NULL;
    *out = NULL;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(db, e, "prepare failed");
    sy_stmt *s = malloc(sizeof *s);
    if (!s) {
        sqlite3_finalize(st);
        return sy_err_set(e, SY_E_NOMEM, "out of memory");
    }
    s->st = st;
    s->db = db;
    *out = s;
    return 0;
}

int sy_db_prepare_cached(sy_db *db, const char *sql, sy_stmt **out, sy_err *e) {
    for (int i = 0; i < db->n_cache; i++)
        if (db->cache_sql[i] == sql || strcmp(db->cache_sql[i], sql) == 0) {
            *out = &db->cache[i];
            return 0;
        }
    if (db->n_cache == STMT_CACHE) return sy_err_set(e, SY_E_INTERNAL, "statement cache is full");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return db_err(db, e, "prepare failed");
    int i = db->n_cache++;
    db->cache_sql[i] = sql;
    db->cache[i].st = st;
    db->cache[i].db = db;
    *out = &db->cache[i];
    return 0;
}

void sy_stmt_done(sy_stmt *st) {
    sqlite3_reset(st->st);
    sqlite3_clear_bindings(st->st);
}

static void close_conn(sy_db *db) {
    for (int i = 0; i < db->n_cache; i++)
        sqlite3_finalize(db->cache[i].st);
    db->n_cache = 0;
    sqlite3_close(db->h);
    db->h = NULL;
}

int sy_db_exec(sy_db *db, const char *sql, sy_err *e) {
    char *msg = NULL;
    if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int code = sqlite3_extended_errcode(db->h);
        int rc = sy_err_set(e, (code & 0xff) == SQLITE_CONSTRAINT ? SY_E_CONFLICT : SY_E_IO, "%s",
                            msg ? msg : sqlite3_errmsg(db->h));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

int64_t sy_db_last_id(sy_db *db) {
    return sqlite3_last_insert_rowid(db->h);
}
int sy_db_changes(sy_db *db) {
    return sqlite3_changes(db->h);
}

void sy_stmt_bind_int(sy_stmt *st, int i, int64_t v) {
    sqlite3_bind_int64(st->st, i, v);
}
void sy_stmt_bind_real(sy_stmt *st, int i, double v) {
    sqlite3_bind_double(st->st, i, v);
}
void sy_stmt_bind_text(sy_stmt *st, int i, const char *s) {
    if (s)
        sqlite3_bind_text(st->st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st->st, i);
}
void sy_stmt_bind_textn(sy_stmt *st, int i, const char *s, size_t n) {
    sqlite3_bind_text(st->st, i, s, (int)n, SQLITE_TRANSIENT);
}
void sy_stmt_bind_blob(sy_stmt *st, int i, const void *p, size_t n) {
    sqlite3_bind_blob(st->st, i, p, (int)n, SQLITE_TRANSIENT);
}
void sy_stmt_bind_null(sy_stmt *st, int i) {
    sqlite3_bind_null(st->st, i);
}

int sy_stmt_step(sy_stmt *st, sy_err *e) {
    int r = sqlite3_step(st->st);
    if (r == SQLITE_ROW) return SY_ROW;
    if (r == SQLITE_DONE) return SY_DONE;
    return db_err(st->db, e, "query failed");
}

void sy_stmt_reset(sy_stmt *st) {
    sqlite3_reset(st->st);
    sqlite3_clear_bindings(st->st);
}

void sy_stmt_finalize(sy_stmt *st) {
    if (!st) return;
    sqlite3_finalize(st->st);
    free(st);
}

int sy_stmt_col_type(sy_stmt *st, int i) {
    switch (sqlite3_column_type(st->st, i)) {
    case SQLITE_INTEGER:
        return SY_INT;
    case SQLITE_FLOAT:
        return SY_REAL;
    case SQLITE_TEXT:
        return SY_TEXT;
    case SQLITE_BLOB:
        return SY_BLOB;
    default:
        return SY_NULL;
    }
}
int64_t sy_stmt_col_int(sy_stmt *st, int i) {
    return sqlite3_column_int64(st->st, i);
}
double sy_stmt_col_real(sy_stmt *st, int i) {
    return sqlite3_column_double(st->st, i);
}
const char *sy_stmt_col_text(sy_stmt *st, int i) {
    return (const char *)sqlite3_column_text(st->st, i);
}
const void *sy_stmt_col_blob(sy_stmt *st, int i, size_t *n) {
    const void *p = sqlite3_column_blob(st->st, i);
    if (n) *n = (size_t)sqlite3_column_bytes(st->st, i);
    return p;
}
int sy_stmt_col_count(sy_stmt *st) {
    return sqlite3_column_count(st->st);
}
const char *sy_stmt_col_name(sy_stmt *st, int i) {
    return sqlite3_column_name(st->st, i);
}

int sy_db_query_int(sy_db *db, const char *sql, int64_t *out, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, sql, &st, e);
    if (rc) return rc;
    rc = sy_stmt_step(st, e);
    *out = rc == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}
