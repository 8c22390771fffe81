/* tags_store.c — SQL for membership rows (contact_tags). Each function runs on
 * the connection it is given: the writer's inside a job, or a read one. */
#include "tags_int.h"

int sy_tags_db_tag_exists(sy_db *db, int64_t tag_id, int *exists, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(db, "SELECT 1 FROM tags WHERE id = ?1", &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, tag_id);
    rc = sy_stmt_step(st, e);
    *exists = rc == SY_ROW;
    sy_stmt_done(st);
    return rc < 0 ? rc : 0;
}

int sy_tags_db_add(sy_db *db, int64_t tag_id, const int64_t *ids, size_t n, int64_t now,
                   int64_t by_staff, const char *source, size_t *changed, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(
        db,
        "INSERT OR IGNORE INTO contact_tags (contact_id, tag_id, at, by_staff, source) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
        &st, e);
    if (rc) return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sy_stmt_bind_int(st, 1, ids[i]);
        sy_stmt_bind_int(st, 2, tag_id);
        sy_stmt_bind_int(st, 3, now);
        if (by_staff)
            sy_stmt_bind_int(st, 4, by_staff);
        else
            sy_stmt_bind_null(st, 4);
        sy_stmt_bind_text(st, 5, source);
        rc = sy_stmt_step(st, e);
        if (rc == SY_DONE) {
            rc = 0;
            *changed += (size_t)sy_db_changes(db);
        }
        sy_stmt_reset(st);
    }
    sy_stmt_done(st);
    return rc;
}

int sy_tags_db_remove(sy_db *db, int64_t tag_id, const int64_t *ids, size_t n, size_t *changed,
                      sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(
        db, "DELETE FROM contact_tags WHERE contact_id = ?1 AND tag_id = ?2", &st, e);
    if (rc) return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sy_stmt_bind_int(st, 1, ids[i]);
        sy_stmt_bind_int(st, 2, tag_id);
        rc = sy_stmt_step(st, e);
        if (rc == SY_DONE) {
            rc = 0;
            *changed += (size_t)sy_db_changes(db);
        }
        sy_stmt_reset(st);
    }
    sy_stmt_done(st);
    return rc;
}

int sy_tags_db_sweep(sy_db *db, int64_t tag_id, int *more, sy_err *e) {
    sy_stmt *st;
    int rc =
        sy_db_prepare(db,
                      "DELETE FROM contact_tags WHERE rowid IN (SELECT rowid FROM contact_tags "
                      "WHERE tag_id = ?1 LIMIT 2000)",
                      &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, tag_id);
    rc = sy_stmt_step(st, e);
    *more = rc == SY_DONE && sy_db_changes(db) >= SY_TAGS_CHUNK;
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}
