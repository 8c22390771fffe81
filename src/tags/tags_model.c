/* tags_model.c — model tags: created on demand by the models module, their
 * members set from its results (system-managed, like rule tags). */
#include <string.h>
#include "tags_int.h"

typedef struct ensure_job {
    const char *category, *scenario, *name;
    int64_t now, id;
    int created;
} ensure_job;

static int one_id(sy_db *db, const char *sql, const char *a, int64_t b, int64_t *id, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, sql, &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, a);
    if (b) sy_stmt_bind_int(st, 2, b);
    rc = sy_stmt_step(st, e);
    *id = rc == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

static int ensure_run(sy_db *db, void *arg, sy_err *e) {
    ensure_job *j = arg;
    int64_t cat;
    int rc = one_id(db, "SELECT id FROM tag_categories WHERE name = ?1 AND parent_id IS NULL",
                    j->category, 0, &cat, e);
    if (rc) return rc;
    sy_stmt *st;
    if (!cat) {
        if ((rc = sy_db_prepare(db,
                                "INSERT INTO tag_categories(name, scenario, created_at, "
                                "updated_at) VALUES (?1, ?2, ?3, ?3)",
                                &st, e)))
            return rc;
        sy_stmt_bind_text(st, 1, j->category);
        sy_stmt_bind_text(st, 2, j->scenario);
        sy_stmt_bind_int(st, 3, j->now);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        cat = sy_db_last_id(db);
    }
    int64_t tag;
    if ((rc = one_id(db, "SELECT id FROM tags WHERE name = ?1 AND category_id = ?2", j->name, cat,
                     &tag, e)))
        return rc;
    if (tag) {
        int64_t model;
        if ((rc = one_id(
                 db, "SELECT id FROM tags WHERE name = ?1 AND category_id = ?2 AND kind = 'model'",
                 j->name, cat, &model, e)))
            return rc;
        if (!model)
            return sy_err_set(e, SY_E_CONFLICT,
                              "tag \"%s\" in \"%s\" exists and is not a model tag", j->name,
                              j->category);
        j->id = tag;
        return 0;
    }
    if ((rc = sy_db_prepare(
             db,
             "INSERT INTO tags(category_id, name, kind, description, created_at, updated_at) "
             "VALUES (?1, ?2, 'model', '由模型计算（docs/models.md）', ?3, ?3)",
             &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, cat);
    sy_stmt_bind_text(st, 2, j->name);
    sy_stmt_bind_int(st, 3, j->now);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    j->id = sy_db_last_id(db);
    j->created = 1;
    return 0;
}

int sy_tags_ensure_model_tag(sy_tags *t, const char *category, const char *scenario,
                             const char *name, int64_t *id, sy_err *e) {
    ensure_job j = {category, scenario, name, sy_now_ms(), 0, 0};
    int rc = sy_store_write(t->st, ensure_run, &j, e);
    if (rc) return rc;
    if (j.created && (rc = sy_tags_ram_add_tag(t, j.id, 1)))
        return sy_err_set(e, rc, "out of memory");
    *id = j.id;
    return 0;
}

int sy_tags_set_model_members(sy_tags *t, int64_t tag_id, const sy_idset *want, size_t *added,
                              size_t *removed, sy_err *e) {
    return sy_tags_set_system_members(t, tag_id, want, "model", added, removed, e);
}
