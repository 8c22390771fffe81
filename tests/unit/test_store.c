/* Unit tests for store/: migrations, the writer thread, reads, conflicts,
 * backup and restore, refusal of a newer schema. */
#include <pthread.h>
#include <sqlite3.h> /* only to forge a newer user_version in a test */
#include "test.h"
#include "store/store.h"

static int create_table(sy_db *db, void *arg, sy_err *e) {
    (void)arg;
    return sy_db_exec(db, "CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY, v INTEGER)", e);
}

typedef struct kv {
    const char *k;
    int64_t v;
} kv;

static int insert_kv(sy_db *db, void *arg, sy_err *e) {
    kv *x = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(db, "INSERT INTO t(k, v) VALUES (?, ?)", &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, x->k);
    sy_stmt_bind_int(st, 2, x->v);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

static int insert_two_then_fail(sy_db *db, void *arg, sy_err *e) {
    (void)arg;
    kv a = {"a1", 1}, b = {"a1", 2};
    int rc = insert_kv(db, &a, e);
    if (rc) return rc;
    return insert_kv(db, &b, e); /* duplicate key → conflict → whole job rolled back */
}

static int64_t count_rows(sy_store *s) {
    sy_db *db;
    sy_err e = {0};
    int64_t n = -1;
    assert_ok(sy_store_read_begin(s, &db, &e), &e);
    assert_ok(sy_db_query_int(db, "SELECT count(*) FROM t", &n, &e), &e);
    sy_store_read_end(s, db);
    return n;
}

static void test_write_read_rollback(void **state) {
    (void)state;
    char *dir = test_tmpdir();
    sy_store *s;
    sy_err e = {0};
    assert_ok(sy_store_open(dir, &s, &e), &e);
    assert_true(sy_store_schema_version(s) >= 0);
    assert_ok(sy_store_write(s, create_table, NULL, &e), &e);
    kv x = {"k", 7};
    assert_ok(sy_store_write(s, insert_kv, &x, &e), &e);
    assert_int_equal(sy_store_write(s, insert_kv, &x, &e), SY_E_CONFLICT);
    assert_int_equal(sy_store_write(s, insert_two_then_fail, NULL, &e), SY_E_CONFLICT);
    assert_int_equal(count_rows(s), 1); /* nothing of the failed jobs remains */
    sy_store_close(s);
    /* Reopen: data survived, migrations are not re-applied. */
    assert_ok(sy_store_open(dir, &s, &e), &e);
    assert_int_equal(count_rows(s), 1);
    sy_store_close(s);
    test_rmdir(dir);
}

typedef struct writer_arg {
    sy_store *s;
    int id;
} writer_arg;

static void *writer_thread(void *p) {
    writer_arg *w = p;
    for (int i = 0; i < 50; i++) {
        char key[32];
        snprintf(key, sizeof key, "w%d-%d", w->id, i);
        kv x = {key, i};
        sy_err e = {0};
        if (sy_store_write(w->s, insert_kv, &x, &e) != 0) return (void *)1;
    }
    return NULL;
}

static void test_concurrent_writers(void **state) {
    (void)state;
    char *dir = test_tmpdir();
    sy_store *s;
    sy_err e = {0};
    assert_ok(sy_store_open(dir, &s, &e), &e);
    assert_ok(sy_store_write(s, create_table, NULL, &e), &e);
    pthread_t th[4];
    writer_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (writer_arg){s, i};
        pthread_create(&th[i], NULL, writer_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        assert_null(ret);
    }
    assert_int_equal(count_rows(s), 200);
    sy_store_close(s);
    test_rmdir(dir);
}

static void test_backup_restore(void **state) {
    (void)state;
    char *dir = test_tmpdir(), *dir2 = test_tmpdir();
    sy_store *s;
    sy_err e = {0};
    assert_ok(sy_store_open(dir, &s, &e), &e);
    assert_ok(sy_store_write(s, create_table, NULL, &e), &e);
    kv x = {"before", 1};
    assert_ok(sy_store_write(s, insert_kv, &x, &e), &e);
    char backup[600];
    snprintf(backup, sizeof backup, "%s/b.db", dir2);
    assert_ok(sy_store_backup(s, backup, &e), &e);
    kv y = {"after", 2};
    assert_ok(sy_store_write(s, insert_kv, &y, &e), &e);
    assert_int_equal(count_rows(s), 2);
    sy_store_close(s);
    assert_ok(sy_store_restore(dir, backup, &e), &e);
    assert_ok(sy_store_open(dir, &s, &e), &e);
    assert_int_equal(count_rows(s), 1);
    sy_store_close(s);
    /* A file that is not a siyu database is refused. */
    char junk[600];
    snprintf(junk, sizeof junk, "%s/junk.db", dir2);
    FILE *f = fopen(junk, "w");
    fputs("not a database", f);
    fclose(f);
    assert_int_not_equal(sy_store_restore(dir, junk, &e), 0);
    test_rmdir(dir);
    test_rmdir(dir2);
}

static void test_newer_schema_refused(void **state) {
    (void)state;
    char *dir = test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/siyu.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=9999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    sy_store *s = NULL;
    sy_err e = {0};
    assert_int_equal(sy_store_open(dir, &s, &e), SY_E_PRECONDITION);
    assert_non_null(strstr(e.msg, "newer siyu"));
    assert_null(s);
    test_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_read_rollback),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_backup_restore),
        cmocka_unit_test(test_newer_schema_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
