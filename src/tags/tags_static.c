/* tags_static.c — a manual tag holding a list of contacts saved from an
 * analysis (a funnel step's drop-outs, …), so that the list can be targeted
 * like any other tag and wrapped in a segment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tags_int.h"

#define LIST_CATEGORY "分析人群"
#define LIST_SCENARIO "从漏斗、留存等分析中保存的人群，用于再触达"

typedef struct list_job {
    const sy_actor *actor;
    const char *name;
    int64_t now, id;
} list_job;

static int list_create(sy_db *db, void *arg, sy_err *e) {
    list_job *j = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(
        db, "SELECT id FROM tag_categories WHERE name = ?1 AND parent_id IS NULL", &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, LIST_CATEGORY);
    rc = sy_stmt_step(st, e);
    int64_t cat = rc == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (!cat) {
        if ((rc =
                 sy_db_prepare(db,
                               "INSERT INTO tag_categories(name, scenario, created_at, updated_at) "
                               "VALUES (?1, ?2, ?3, ?3)",
                               &st, e)))
            return rc;
        sy_stmt_bind_text(st, 1, LIST_CATEGORY);
        sy_stmt_bind_text(st, 2, LIST_SCENARIO);
        sy_stmt_bind_int(st, 3, j->now);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        cat = sy_db_last_id(db);
    }
    if ((rc = sy_db_prepare(db,
                            "INSERT INTO tags(category_id, name, kind, description, created_at, "
                            "updated_at) VALUES (?1, ?2, 'manual', '保存自分析', ?3, ?3)",
                            &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, cat);
    sy_stmt_bind_text(st, 2, j->name);
    sy_stmt_bind_int(st, 3, j->now);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc == SY_E_CONFLICT)
        return sy_err_field(e, SY_E_CONFLICT, "name", "a tag named \"%s\" already exists in %s",
                            j->name, LIST_CATEGORY);
    if (rc < 0) return rc;
    j->id = sy_db_last_id(db);
    char target[40];
    snprintf(target, sizeof target, "tag:%lld", (long long)j->id);
    return sy_audit_record(db, j->actor, "tags.create", target, NULL, e);
}

int sy_tags_save_list(sy_tags *t, const sy_actor *actor, const char *name, const sy_idset *members,
                      int64_t *tag_id, sy_err *e) {
    list_job j = {actor, name, sy_now_ms(), 0};
    int rc = sy_store_write(t->st, list_create, &j, e);
    if (rc) return rc;
    if ((rc = sy_tags_ram_add_tag(t, j.id, 0))) return sy_err_set(e, rc, "out of memory");
    uint64_t n = sy_idset_count(members);
    int64_t *ids = n ? malloc(n * sizeof *ids) : NULL;
    uint32_t buf[4096];
    size_t k = 0, got;
    uint32_t from = 0;
    if (n && !ids) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    while (k < n && (got = sy_idset_list(members, from, buf, 4096)) > 0) {
        for (size_t i = 0; i < got; i++)
            ids[k++] = buf[i];
        from = buf[got - 1] + 1;
        if (from == 0) break;
    }
    size_t changed = 0;
    rc = k ? sy_tags_write_members(t, actor, j.id, ids, k, 1, &changed, e) : 0;
    free(ids);
    if (rc) return rc;
    *tag_id = j.id;
    return 0;
}
