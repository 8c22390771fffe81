/* segments_save.c — saving a segment from another module (analytics saves
 * a funnel step's contacts as a segment over the tag that holds them). */
#include <stdio.h>
#include <stdlib.h>
#include "segments_int.h"

typedef struct save_job {
    const sy_actor *actor;
    const char *name, *description, *definition;
    int64_t now, id;
} save_job;

static int save_run(sy_db *db, void *arg, sy_err *e) {
    save_job *j = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "INSERT INTO segments(name, description, version, definition, "
                           "created_by, created_at, updated_at) VALUES (?,?,1,?,?,?,?)",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, j->name);
    sy_stmt_bind_text(st, 2, j->description);
    sy_stmt_bind_text(st, 3, j->definition);
    if (j->actor && j->actor->staff_id) sy_stmt_bind_int(st, 4, j->actor->staff_id);
    sy_stmt_bind_int(st, 5, j->now);
    sy_stmt_bind_int(st, 6, j->now);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc == SY_E_CONFLICT)
        return sy_err_field(e, SY_E_CONFLICT, "name", "a segment named \"%s\" already exists",
                            j->name);
    if (rc < 0) return rc;
    j->id = sy_db_last_id(db);
    if ((rc = sy_db_prepare(db,
                            "INSERT INTO segment_versions SELECT id, version, name, description, "
                            "definition, created_by, updated_at FROM segments WHERE id = ?",
                            &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, j->id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    char target[40];
    snprintf(target, sizeof target, "segment:%lld", (long long)j->id);
    return sy_audit_record(db, j->actor, "segments.create", target, NULL, e);
}

int sy_segments_save(sy_segments *s, const sy_actor *actor, const char *name,
                     const char *description, json_t *definition, int64_t *id, sy_err *e) {
    int rc = sy_segments_validate(s, definition, e);
    if (rc) return rc;
    char *dump = sy_json_dump(definition);
    if (!dump) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    save_job j = {actor, name, description, dump, sy_now_ms(), 0};
    rc = sy_store_write(s->st, save_run, &j, e);
    free(dump);
    if (rc) return rc;
    *id = j.id;
    return 0;
}
