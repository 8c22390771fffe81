/* segments_api.c — saved segments (versioned), members, CSV export and
 * frozen snapshots under /api/v1/segments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "segments_int.h"
#include "csv/csv.h"

#define CTX(r) ((sy_segments *)(r)->ctx)
#define SNAP_CHUNK 5000 /* member rows per write job */

/* --- reading saved segments --- */

int sy_segments_def_load(void *ctx, int64_t id, json_t **def, sy_err *e) {
    sy_segments *s = ctx;
    sy_db *db;
    int rc = sy_store_read_begin(s->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db,
                            "SELECT definition FROM segments WHERE id = ? AND deleted_at IS NULL",
                            &st, e)) == 0) {
        sy_stmt_bind_int(st, 1, id);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW) {
            *def = json_loads(sy_stmt_col_text(st, 0), 0, NULL);
            rc = *def ? 0
                      : sy_err_set(e, SY_E_INTERNAL, "segment %lld has a corrupt definition",
                                   (long long)id);
        } else if (rc == SY_DONE) {
            rc = sy_err_set(e, SY_E_NOT_FOUND, "segment %lld does not exist", (long long)id);
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(s->st, db);
    return rc;
}

static json_t *jstr(const char *s) {
    return s ? json_string(s) : json_null();
}

static json_t *segment_row_json(sy_stmt *st) {
    /* columns: id, name, description, version, definition, created_by, created_at, updated_at */
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(sy_stmt_col_int(st, 0)));
    json_object_set_new(o, "name", jstr(sy_stmt_col_text(st, 1)));
    json_object_set_new(o, "description", jstr(sy_stmt_col_text(st, 2)));
    json_object_set_new(o, "version", json_integer(sy_stmt_col_int(st, 3)));
    json_t *d = json_loads(sy_stmt_col_text(st, 4), 0, NULL);
    json_object_set_new(o, "definition", d ? d : json_null());
    json_object_set_new(o, "created_by",
                        sy_stmt_col_type(st, 5) == SY_NULL ? json_null()
                                                           : json_integer(sy_stmt_col_int(st, 5)));
    json_object_set_new(o, "created_at", json_integer(sy_stmt_col_int(st, 6)));
    json_object_set_new(o, "updated_at", json_integer(sy_stmt_col_int(st, 7)));
    return o;
}

#define SEG_COLS "id, name, description, version, definition, created_by, created_at, updated_at"

static int segment_get(sy_segments *s, int64_t id, json_t **out, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(s->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db,
                            "SELECT " SEG_COLS " FROM segments WHERE id = ? AND deleted_at IS NULL",
                            &st, e)) == 0) {
        sy_stmt_bind_int(st, 1, id);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW)
            *out = segment_row_json(st), rc = 0;
        else if (rc == SY_DONE)
            rc = sy_err_set(e, SY_E_NOT_FOUND, "segment %lld does not exist", (long long)id);
        sy_stmt_finalize(st);
    }
    sy_store_read_end(s->st, db);
    return rc;
}

/* --- request helpers --- */

static int parse_limit(sy_req *r, size_t *limit) {
    return sy_req_limit(r, limit);
}

static int parse_as_of(sy_req *r, json_t *v, int64_t *as_of) {
    *as_of = sy_now_ms();
    const char *q = v ? NULL : sy_req_query(r, "as_of");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return sy_err_field(&r->err, SY_E_INVALID, "as_of", "as_of must be UTC milliseconds");
        *as_of = json_integer_value(v);
    } else if (q) {
        char *end;
        long long x = strtoll(q, &end, 10);
        if (*end || x < 0)
            return sy_err_field(&r->err, SY_E_INVALID, "as_of",
                                "as_of \"%s\" must be UTC milliseconds", q);
        *as_of = x;
    }
    return 0;
}

/* Parses, checks and (optionally) evaluates a definition; errors keep the
 * node's JSON path in r->err.field and details.field. */
static int def_check(sy_req *r, json_t *def, int64_t self) {
    seg_node *root;
    int rc = sy_seg_parse(r->arena, def, &root, &r->err);
    if (!rc) rc = sy_seg_check(&CTX(r)->env, r->arena, root, self, &r->err);
    return rc;
}

static int def_eval(sy_req *r, json_t *def, int64_t as_of, sy_idset **out) {
    seg_node *root;
    int rc = sy_seg_parse(r->arena, def, &root, &r->err);
    if (!rc) rc = sy_seg_check(&CTX(r)->env, r->arena, root, 0, &r->err);
    if (!rc) rc = sy_seg_eval(&CTX(r)->env, r->arena, root, as_of, out, &r->err);
    return rc;
}

/* Keeps the contacts of m the caller may see; destroys m on error. An
 * evaluation answers live contacts only, which is the whole scope of a
 * caller who sees everyone: nothing to intersect then. */
static int scope_filter(sy_req *r, sy_idset *m) {
    const sy_actor *actor = sy_req_actor(r);
    if (!actor || actor->scope == SY_SCOPE_ALL) return 0;
    sy_idset *scope;
    int rc = sy_contacts_select_scope(CTX(r)->contacts, actor, &scope, &r->err);
    if (rc) {
        sy_idset_destroy(m);
        return rc;
    }
    sy_idset_and(m, scope);
    sy_idset_destroy(scope);
    return 0;
}

/* Members of a saved segment visible to the caller. */
static int scoped_members(sy_req *r, int64_t id, int64_t as_of, sy_idset **out) {
    json_t *def;
    int rc = sy_segments_def_load(CTX(r), id, &def, &r->err);
    if (rc) return rc;
    sy_idset *m = NULL;
    rc = def_eval(r, def, as_of, &m);
    json_decref(def);
    if (rc) return rc;
    if ((rc = scope_filter(r, m))) return rc;
    *out = m;
    return 0;
}

/* Replies one page of a set: {"items","total","next_cursor"}. */
static int reply_page(sy_req *r, sy_idset *set) {
    size_t limit;
    int rc = parse_limit(r, &limit);
    uint32_t from = 0;
    const char *cur = sy_req_query(r, "cursor");
    if (!rc && cur) {
        char *end;
        unsigned long long v = strtoull(cur, &end, 10);
        if (*end || !*cur || v >= UINT32_MAX)
            rc = sy_err_field(&r->err, SY_E_INVALID, "cursor", "cursor \"%s\" is not valid", cur);
        else
            from = (uint32_t)v + 1;
    }
    if (rc) {
        sy_idset_destroy(set);
        return rc;
    }
    uint32_t *ids = sy_alloc(r->arena, (limit + 1) * sizeof *ids);
    size_t n = sy_idset_list(set, from, ids, limit + 1);
    json_t *items = json_array();
    rc = sy_contacts_select_rows(CTX(r)->contacts, sy_req_actor(r), ids, n > limit ? limit : n,
                                 items, &r->err);
    uint64_t total = sy_idset_count(set);
    sy_idset_destroy(set);
    if (rc) {
        json_decref(items);
        return rc;
    }
    json_t *next =
        n > limit ? json_string(sy_sprintf(r->arena, "%u", ids[limit - 1])) : json_null();
    return sy_reply_json(r, 200,
                         json_pack("{s:o,s:I,s:o}", "items", items, "total", (json_int_t)total,
                                   "next_cursor", next));
}

/* --- preview --- */

static int h_preview(sy_req *r) {
    json_t *body;
    int rc = sy_req_json(r, &body);
    if (rc) return rc;
    static const char *const allowed[] = {"definition", "as_of", NULL};
    if ((rc = sy_json_only(body, allowed, &r->err))) return rc;
    int64_t as_of;
    if ((rc = parse_as_of(
             r, json_object_get(body, "as_of") ? json_object_get(body, "as_of") : json_null(),
             &as_of)))
        return rc;
    json_t *def = json_object_get(body, "definition");
    if (!def) return sy_err_field(&r->err, SY_E_INVALID, "definition", "definition is required");
    sy_idset *m;
    if ((rc = def_eval(r, def, as_of, &m))) return rc;
    if ((rc = scope_filter(r, m))) return rc;
    uint32_t ids[20];
    size_t n = sy_idset_list(m, 0, ids, 20);
    uint64_t count = sy_idset_count(m);
    sy_idset_destroy(m);
    json_t *rows = json_array(), *sample = json_array();
    if ((rc = sy_contacts_select_rows(CTX(r)->contacts, sy_req_actor(r), ids, n, rows, &r->err))) {
        json_decref(rows);
        json_decref(sample);
        return rc;
    }
    size_t i;
    json_t *o;
    json_array_foreach(rows, i, o)
        json_array_append_new(sample, json_pack("{s:O,s:O}", "id", json_object_get(o, "id"), "name",
                                                json_object_get(o, "name")));
    json_decref(rows);
    return sy_reply_json(r, 200,
                         json_pack("{s:I,s:o,s:I}", "count", (json_int_t)count, "sample", sample,
                                   "as_of", (json_int_t)as_of));
}

/* --- create / update / delete (write jobs) --- */

typedef struct seg_job {
    const sy_actor *actor;
    int64_t id;
    const char *name, *description;
    int has_name, has_description;
    char *definition; /* NULL: unchanged */
    int64_t now;
    int64_t version;
    /* snapshots */
    int64_t snap_id;
    const uint32_t *ids;
    size_t n_ids;
    int64_t as_of, count;
    const char *action;
    json_t *detail;
} seg_job;

static int job_update(sy_db *db, void *arg, sy_err *e) {
    seg_job *j = arg;
    sy_stmt *st;
    int rc =
        sy_db_prepare(db,
                      "UPDATE segments SET version = version + 1, updated_at = ?2, "
                      "name = CASE WHEN ?3 THEN ?4 ELSE name END, "
                      "description = CASE WHEN ?5 THEN ?6 ELSE description END, "
                      "definition = COALESCE(?7, definition) WHERE id = ?1 AND deleted_at IS NULL",
                      &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->id);
    sy_stmt_bind_int(st, 2, j->now);
    sy_stmt_bind_int(st, 3, j->has_name);
    sy_stmt_bind_text(st, 4, j->name);
    sy_stmt_bind_int(st, 5, j->has_description);
    sy_stmt_bind_text(st, 6, j->description);
    sy_stmt_bind_text(st, 7, j->definition);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (sy_db_changes(db) == 0)
        return sy_err_set(e, SY_E_NOT_FOUND, "segment %lld does not exist", (long long)j->id);
    if ((rc = sy_db_prepare(db,
                            "INSERT INTO segment_versions(segment_id, version, name, description, "
                            "definition, created_by, created_at) "
                            "SELECT id, version, name, description, definition, ?2, updated_at "
                            "FROM segments WHERE id = ?1",
                            &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, j->id);
    if (j->actor && j->actor->staff_id) sy_stmt_bind_int(st, 2, j->actor->staff_id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    char target[40];
    snprintf(target, sizeof target, "segment:%lld", (long long)j->id);
    return sy_audit_record(db, j->actor, "segments.update", target, NULL, e);
}

/* Deleting a segment other live segments refer to would break them. */
static int referenced_by(sy_db *db, int64_t id, int64_t *by, sy_err *e) {
    sy_stmt *st;
    *by = 0;
    int rc = sy_db_prepare(
        db, "SELECT id, definition FROM segments WHERE deleted_at IS NULL AND id != ?", &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    sy_arena *a = sy_arena_create();
    while (!*by && (rc = sy_stmt_step(st, e)) == SY_ROW) {
        json_t *d = json_loads(sy_stmt_col_text(st, 1), 0, NULL);
        seg_node *root;
        sy_err ie = {0};
        /* walk the tree for {"segment": id} */
        if (d && sy_seg_parse(a, d, &root, &ie) == 0) {
            seg_node *stack[SEG_MAX_NODES + 1];
            size_t n = 0;
            stack[n++] = root;
            while (n && !*by) {
                seg_node *x = stack[--n];
                if (x->kind == SN_SEGMENT && x->id == id) *by = sy_stmt_col_int(st, 0);
                for (size_t i = 0; i < x->n_kids && n < SEG_MAX_NODES; i++)
                    stack[n++] = x->kids[i];
            }
        }
        json_decref(d);
    }
    sy_arena_destroy(a);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

static int job_delete(sy_db *db, void *arg, sy_err *e) {
    seg_job *j = arg;
    int64_t by;
    int rc = referenced_by(db, j->id, &by, e);
    if (rc) return rc;
    if (by)
        return sy_err_set(e, SY_E_CONFLICT, "segment %lld is used by segment %lld",
                          (long long)j->id, (long long)by);
    sy_stmt *st;
    if ((rc = sy_db_prepare(
             db, "UPDATE segments SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL", &st,
             e)))
        return rc;
    sy_stmt_bind_int(st, 1, j->id);
    sy_stmt_bind_int(st, 2, j->now);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (sy_db_changes(db) == 0)
        return sy_err_set(e, SY_E_NOT_FOUND, "segment %lld does not exist", (long long)j->id);
    char target[40];
    snprintf(target, sizeof target, "segment:%lld", (long long)j->id);
    return sy_audit_record(db, j->actor, "segments.delete", target, NULL, e);
}

/* Validates name / description of a body; creating requires name. */
static int body_fields(sy_req *r, json_t *body, int creating, seg_job *j) {
    int rc, present = 0;
    if ((rc = sy_json_str(body, "name", &j->name, &present, &r->err))) return rc;
    j->has_name = present;
    if (creating && !present)
        return sy_err_field(&r->err, SY_E_INVALID, "name", "name is required");
    if (present && (!j->name[0] || strlen(j->name) > 200))
        return sy_err_field(&r->err, SY_E_INVALID, "name", "name must be 1 to 200 bytes");
    json_t *d = json_object_get(body, "description");
    if (d && !json_is_null(d) && !json_is_string(d))
        return sy_err_field(&r->err, SY_E_INVALID, "description", "description must be a string");
    if (d) {
        j->has_description = 1;
        j->description = json_is_string(d) ? json_string_value(d) : NULL;
        if (j->description && strlen(j->description) > 2000)
            return sy_err_field(&r->err, SY_E_INVALID, "description",
                                "description must be at most 2000 bytes");
    }
    return 0;
}

static int h_create(sy_req *r) {
    json_t *body;
    int rc = sy_req_json(r, &body);
    if (rc) return rc;
    static const char *const allowed[] = {"name", "description", "definition", NULL};
    if ((rc = sy_json_only(body, allowed, &r->err))) return rc;
    seg_job j = {0};
    if ((rc = body_fields(r, body, 1, &j))) return rc;
    json_t *def = json_object_get(body, "definition");
    if (!def) return sy_err_field(&r->err, SY_E_INVALID, "definition", "definition is required");
    if ((rc = def_check(r, def, 0))) return rc;
    int64_t id;
    if ((rc = sy_segments_save(CTX(r), sy_req_actor(r), j.name, j.description, def, &id, &r->err)))
        return rc;
    json_t *out;
    if ((rc = segment_get(CTX(r), id, &out, &r->err))) return rc;
    return sy_reply_json(r, 201, out);
}

static int h_update(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    json_t *body;
    if ((rc = sy_req_json(r, &body))) return rc;
    static const char *const allowed[] = {"name", "description", "definition", NULL};
    if ((rc = sy_json_only(body, allowed, &r->err))) return rc;
    json_t *cur;
    if ((rc = segment_get(CTX(r), id, &cur, &r->err))) return rc;
    json_decref(cur);
    seg_job j = {0};
    j.id = id;
    if ((rc = body_fields(r, body, 0, &j))) return rc;
    json_t *def = json_object_get(body, "definition");
    char *dump = NULL;
    if (def) {
        if ((rc = def_check(r, def, id))) return rc;
        dump = sy_json_dump(def);
    }
    j.definition = dump;
    j.actor = sy_req_actor(r);
    j.now = sy_now_ms();
    rc = sy_store_write(CTX(r)->st, job_update, &j, &r->err);
    free(dump);
    if (rc) return rc;
    json_t *out;
    if ((rc = segment_get(CTX(r), id, &out, &r->err))) return rc;
    return sy_reply_json(r, 200, out);
}

static int h_delete(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    seg_job j = {0};
    j.id = id;
    j.actor = sy_req_actor(r);
    j.now = sy_now_ms();
    if ((rc = sy_store_write(CTX(r)->st, job_delete, &j, &r->err))) return rc;
    return sy_reply_json(r, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "deleted", 1));
}

static int h_get(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    json_t *out = NULL;
    if ((rc = segment_get(CTX(r), id, &out, &r->err))) return rc;
    return sy_reply_json(r, 200, out);
}

static int h_list(sy_req *r) {
    size_t limit;
    int rc = parse_limit(r, &limit);
    if (rc) return rc;
    int64_t after = 0;
    const char *cur = sy_req_query(r, "cursor");
    if (cur) {
        char *end;
        long long v = strtoll(cur, &end, 10);
        if (*end || !*cur || v < 0)
            return sy_err_field(&r->err, SY_E_INVALID, "cursor", "cursor \"%s\" is not valid", cur);
        after = v;
    }
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    sy_stmt *st;
    json_t *items = json_array();
    int64_t total = 0, last = 0;
    size_t n = 0;
    int more = 0;
    if ((rc = sy_db_query_int(db, "SELECT count(*) FROM segments WHERE deleted_at IS NULL", &total,
                              &r->err)) == 0 &&
        (rc =
             sy_db_prepare(db,
                           "SELECT " SEG_COLS
                           " FROM segments WHERE deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?",
                           &st, &r->err)) == 0) {
        sy_stmt_bind_int(st, 1, after);
        sy_stmt_bind_int(st, 2, (int64_t)limit + 1);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            if (n == limit) {
                more = 1;
                break;
            }
            json_array_append_new(items, segment_row_json(st));
            last = sy_stmt_col_int(st, 0);
            n++;
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(CTX(r)->st, db);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    json_t *next = more ? json_string(sy_sprintf(r->arena, "%lld", (long long)last)) : json_null();
    return sy_reply_json(r, 200,
                         json_pack("{s:o,s:I,s:o}", "items", items, "total", (json_int_t)total,
                                   "next_cursor", next));
}

static int h_versions(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    json_t *cur;
    if ((rc = segment_get(CTX(r), id, &cur, &r->err))) return rc;
    json_decref(cur);
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    sy_stmt *st;
    json_t *items = json_array();
    if ((rc = sy_db_prepare(db,
                            "SELECT version, name, description, definition, created_by, created_at "
                            "FROM segment_versions "
                            "WHERE segment_id = ? ORDER BY version DESC",
                            &st, &r->err)) == 0) {
        sy_stmt_bind_int(st, 1, id);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            json_t *d = json_loads(sy_stmt_col_text(st, 3), 0, NULL);
            json_array_append_new(
                items,
                json_pack("{s:I,s:o,s:o,s:o,s:o,s:I}", "version",
                          (json_int_t)sy_stmt_col_int(st, 0), "name", jstr(sy_stmt_col_text(st, 1)),
                          "description", jstr(sy_stmt_col_text(st, 2)), "definition",
                          d ? d : json_null(), "created_by",
                          sy_stmt_col_type(st, 4) == SY_NULL ? json_null()
                                                             : json_integer(sy_stmt_col_int(st, 4)),
                          "created_at", (json_int_t)sy_stmt_col_int(st, 5)));
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(CTX(r)->st, db);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    size_t n = json_array_size(items);
    return sy_reply_json(
        r, 200, json_pack("{s:o,s:I,s:n}", "items", items, "total", (json_int_t)n, "next_cursor"));
}

/* --- members --- */

static int h_members(sy_req *r) {
    int64_t id, as_of;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc || (rc = parse_as_of(r, NULL, &as_of))) return rc;
    sy_idset *m;
    if ((rc = scoped_members(r, id, as_of, &m))) return rc;
    return reply_page(r, m);
}

static int job_audit(sy_db *db, void *arg, sy_err *e) {
    seg_job *j = arg;
    char target[40];
    snprintf(target, sizeof target, "segment:%lld", (long long)j->id);
    return sy_audit_record(db, j->actor, j->action, target, j->detail, e);
}

static int h_members_csv(sy_req *r) {
    int64_t id, as_of;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc || (rc = parse_as_of(r, NULL, &as_of))) return rc;
    sy_idset *m;
    if ((rc = scoped_members(r, id, as_of, &m))) return rc;
    sy_buf out = SY_BUF_INIT;
    sy_csv_write_bom(&out);
    static const char *const head[] = {"id",   "姓名",     "手机",   "城市",
                                       "状态", "负责人ID", "门店ID", "创建时间"};
    sy_csv_write_row(&out, head, 8);
    uint32_t ids[500];
    uint32_t from = 0;
    size_t n, rows = 0;
    while (rc == 0 && (n = sy_idset_list(m, from, ids, 500)) > 0) {
        json_t *items = json_array();
        rc = sy_contacts_select_rows(CTX(r)->contacts, sy_req_actor(r), ids, n, items, &r->err);
        size_t i;
        json_t *o;
        json_array_foreach(items, i, o) {
            const char *f[8];
            static const char *const keys[] = {"id",     "name",     "phone",    "city",
                                               "status", "owner_id", "store_id", "created_at"};
            for (int k = 0; k < 8; k++) {
                json_t *v = json_object_get(o, keys[k]);
                if (json_is_string(v))
                    f[k] = json_string_value(v);
                else if (json_is_integer(v)) {
                    if (k == 7) {
                        char *t = sy_alloc(r->arena, 40);
                        sy_time_format(json_integer_value(v), t, 40);
                        f[k] = t;
                    } else {
                        f[k] = sy_sprintf(r->arena, "%lld", (long long)json_integer_value(v));
                    }
                } else
                    f[k] = "";
            }
            sy_csv_write_row(&out, f, 8);
            rows++;
        }
        json_decref(items);
        from = ids[n - 1] + 1;
        if (ids[n - 1] == UINT32_MAX) break;
    }
    sy_idset_destroy(m);
    if (rc == 0) {
        /* recorded before any byte leaves */
        const sy_actor *actor = sy_req_actor(r);
        seg_job j = {0};
        j.id = id;
        j.actor = actor;
        j.action = "segments.export";
        j.detail = json_pack("{s:I,s:b}", "rows", (json_int_t)rows, "phones_unmasked",
                             actor && (actor->perms & SY_PERM_PHONE_UNMASK));
        rc = sy_store_write(CTX(r)->st, job_audit, &j, &r->err);
        json_decref(j.detail);
    }
    if (rc == 0) {
        sy_reply_header(
            r, "Content-Disposition",
            sy_sprintf(r->arena, "attachment; filename=\"segment-%lld.csv\"", (long long)id));
        rc = sy_reply_raw(r, 200, "text/csv; charset=utf-8", out.p ? out.p : "", out.len);
    }
    sy_buf_release(&out);
    return rc;
}

/* --- snapshots --- */

static int job_snap_begin(sy_db *db, void *arg, sy_err *e) {
    seg_job *j = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "INSERT INTO segment_snapshots(segment_id, version, as_of, count, "
                           "status, created_by, created_at) "
                           "SELECT id, version, ?2, ?3, 'building', ?4, ?5 FROM segments WHERE id "
                           "= ?1 AND deleted_at IS NULL",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->id);
    sy_stmt_bind_int(st, 2, j->as_of);
    sy_stmt_bind_int(st, 3, j->count);
    if (j->actor && j->actor->staff_id) sy_stmt_bind_int(st, 4, j->actor->staff_id);
    sy_stmt_bind_int(st, 5, j->now);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (sy_db_changes(db) == 0)
        return sy_err_set(e, SY_E_NOT_FOUND, "segment %lld does not exist", (long long)j->id);
    j->snap_id = sy_db_last_id(db);
    return 0;
}

static int job_snap_rows(sy_db *db, void *arg, sy_err *e) {
    seg_job *j = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(
        db, "INSERT INTO segment_snapshot_members(snapshot_id, contact_id) VALUES (?, ?)", &st, e);
    if (rc) return rc;
    for (size_t i = 0; i < j->n_ids && rc >= 0; i++) {
        sy_stmt_bind_int(st, 1, j->snap_id);
        sy_stmt_bind_int(st, 2, j->ids[i]);
        rc = sy_stmt_step(st, e);
        sy_stmt_reset(st);
    }
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

static int job_snap_end(sy_db *db, void *arg, sy_err *e) {
    seg_job *j = arg;
    sy_stmt *st;
    int rc =
        sy_db_prepare(db, "UPDATE segment_snapshots SET status = 'ready' WHERE id = ?", &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->snap_id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    char target[40];
    snprintf(target, sizeof target, "segment:%lld", (long long)j->id);
    json_t *d = json_pack("{s:I,s:I}", "snapshot_id", (json_int_t)j->snap_id, "count",
                          (json_int_t)j->count);
    rc = sy_audit_record(db, j->actor, "segments.snapshot", target, d, e);
    json_decref(d);
    return rc;
}

/* A snapshot freezes every member (not scope-filtered: campaigns address
 * the whole audience); listing its members is scope-filtered. Written in
 * chunks; a snapshot stays 'building' (and unlisted) until the last chunk. */
static int h_snapshot(sy_req *r) {
    int64_t id, as_of;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    json_t *body = NULL;
    if (r->body_len) {
        if ((rc = sy_req_json(r, &body))) return rc;
        static const char *const allowed[] = {"as_of", NULL};
        if ((rc = sy_json_only(body, allowed, &r->err))) return rc;
    }
    json_t *av = body ? json_object_get(body, "as_of") : NULL;
    if ((rc = parse_as_of(r, av ? av : json_null(), &as_of))) return rc;
    json_t *def;
    if ((rc = sy_segments_def_load(CTX(r), id, &def, &r->err))) return rc;
    sy_idset *m;
    rc = def_eval(r, def, as_of, &m);
    json_decref(def);
    if (rc) return rc;
    seg_job j = {0};
    j.id = id;
    j.actor = sy_req_actor(r);
    j.now = sy_now_ms();
    j.as_of = as_of;
    j.count = (int64_t)sy_idset_count(m);
    uint32_t *ids = malloc(SNAP_CHUNK * sizeof *ids);
    if (!ids) {
        sy_idset_destroy(m);
        return sy_err_set(&r->err, SY_E_NOMEM, "out of memory");
    }
    rc = sy_store_write(CTX(r)->st, job_snap_begin, &j, &r->err);
    uint32_t from = 0;
    size_t n;
    while (rc == 0 && (n = sy_idset_list(m, from, ids, SNAP_CHUNK)) > 0) {
        j.ids = ids;
        j.n_ids = n;
        rc = sy_store_write(CTX(r)->st, job_snap_rows, &j, &r->err);
        if (ids[n - 1] == UINT32_MAX) break;
        from = ids[n - 1] + 1;
    }
    if (rc == 0) rc = sy_store_write(CTX(r)->st, job_snap_end, &j, &r->err);
    free(ids);
    sy_idset_destroy(m);
    if (rc) return rc;
    return sy_reply_json(r, 201,
                         json_pack("{s:I,s:I,s:I,s:I}", "id", (json_int_t)j.snap_id, "segment_id",
                                   (json_int_t)id, "count", (json_int_t)j.count, "as_of",
                                   (json_int_t)as_of));
}

static int h_snapshot_members(sy_req *r) {
    int64_t id, sid;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc || (rc = sy_req_param_id(r, "sid", &sid))) return rc;
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    sy_stmt *st;
    sy_idset *m = sy_idset_create();
    int found = 0;
    if ((rc = sy_db_prepare(
             db,
             "SELECT 1 FROM segment_snapshots WHERE id = ? AND segment_id = ? AND status = 'ready'",
             &st, &r->err)) == 0) {
        sy_stmt_bind_int(st, 1, sid);
        sy_stmt_bind_int(st, 2, id);
        rc = sy_stmt_step(st, &r->err);
        found = rc == SY_ROW;
        sy_stmt_finalize(st);
    }
    if (rc >= 0 && found &&
        (rc = sy_db_prepare(db,
                            "SELECT contact_id FROM segment_snapshot_members WHERE snapshot_id = ?",
                            &st, &r->err)) == 0) {
        sy_stmt_bind_int(st, 1, sid);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW)
            sy_idset_add(m, (uint32_t)sy_stmt_col_int(st, 0));
        sy_stmt_finalize(st);
    }
    sy_store_read_end(CTX(r)->st, db);
    if (rc < 0 || !found) {
        sy_idset_destroy(m);
        return rc < 0 ? rc
                      : sy_err_set(&r->err, SY_E_NOT_FOUND,
                                   "snapshot %lld of segment %lld does not exist", (long long)sid,
                                   (long long)id);
    }
    /* frozen ids may have been merged away since: always intersect */
    sy_idset *scope;
    if ((rc = sy_contacts_select_scope(CTX(r)->contacts, sy_req_actor(r), &scope, &r->err))) {
        sy_idset_destroy(m);
        return rc;
    }
    sy_idset_and(m, scope);
    sy_idset_destroy(scope);
    return reply_page(r, m);
}

/* --- routes --- */

#define S SY_AUTH_STAFF
#define R SY_PERM_CONTACTS_READ
#define W SY_PERM_CONTACTS_WRITE

static sy_route routes[] = {
    {"POST", "/api/v1/segments/preview", h_preview, NULL, S, R, 256 * 1024,
     "count and a sample of 20 contacts of a definition", 0},
    {"GET", "/api/v1/segments", h_list, NULL, S, R, 0, "list saved segments", 0},
    {"POST", "/api/v1/segments", h_create, NULL, S, W, 256 * 1024, "save a segment (version 1)", 0},
    {"GET", "/api/v1/segments/{id}", h_get, NULL, S, R, 0, "get a segment", 0},
    {"PATCH", "/api/v1/segments/{id}", h_update, NULL, S, W, 256 * 1024,
     "update a segment (new version)", 0},
    {"DELETE", "/api/v1/segments/{id}", h_delete, NULL, S, W, 0, "delete a segment", 0},
    {"GET", "/api/v1/segments/{id}/versions", h_versions, NULL, S, R, 0, "versions of a segment",
     0},
    {"GET", "/api/v1/segments/{id}/members", h_members, NULL, S, R, 0,
     "members in the caller's scope", 0},
    {"GET", "/api/v1/segments/{id}/members.csv", h_members_csv, NULL, S,
     R | SY_PERM_CONTACTS_EXPORT, 0, "export members as CSV", 0},
    {"POST", "/api/v1/segments/{id}/snapshots", h_snapshot, NULL, S, W, 4096,
     "freeze the current members", 0},
    {"GET", "/api/v1/segments/{id}/snapshots/{sid}/members", h_snapshot_members, NULL, S, R, 0,
     "members of a snapshot in the caller's scope", 0},
};

/* --- callbacks for the tags module (rule tags, tagging a whole segment) ---
 * segments.h includes tags.h, so tags cannot call segments; it is handed
 * these instead. */
static int tags_validate(void *ctx, json_t *def, sy_err *e) {
    return sy_segments_validate(ctx, def, e);
}

static int tags_segment_members(void *ctx, int64_t id, sy_idset **out, sy_err *e) {
    json_t *def;
    int rc = sy_segments_def_load(ctx, id, &def, e);
    if (rc) return rc;
    rc = sy_segments_eval(ctx, def, sy_now_ms(), out, e);
    json_decref(def);
    return rc;
}

void sy_segments_register(sy_segments *s, sy_http *h) {
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        routes[i].ctx = s;
    if (s->tags) {
        sy_tags_hooks hooks = {s, tags_validate, tags_segment_members};
        sy_tags_set_hooks(s->tags, &hooks);
    }
    sy_http_add_routes(h, routes, sizeof routes / sizeof routes[0]);
    sy_err e;
    if (sy_segments_live_start(s, &e))
        sy_error("msg=\"segment membership tracking not started\" error=\"%s\"", e.msg);
}
