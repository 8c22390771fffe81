/* tags_api.c — the tags module's HTTP routes: the taxonomy (categories,
 * subcategories, tags), a contact's tags, bulk membership changes, the tree
 * for the console and the /metrics hook. Handlers: parse and validate →
 * (permission bits are checked by the router) → do in a write job (audited)
 * → update RAM → reply. Contacts outside the caller's scope are not_found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tags_int.h"

#define CTX(r) ((sy_tags *)(r)->ctx)

/* A taxonomy write run as one job on the writer thread. */
typedef struct op {
    sy_tags *t;
    sy_req *r;
    const sy_actor *actor;
    int64_t id;
    json_t *body;
    json_t *result; /* set on success only */
    int (*fn)(struct op *o, sy_db *db, sy_err *e);
} op;

static int op_job(sy_db *db, void *arg, sy_err *e) {
    op *o = arg;
    return o->fn(o, db, e);
}

static int run_op(sy_req *r, op *o, int (*fn)(op *, sy_db *, sy_err *)) {
    o->t = CTX(r);
    o->r = r;
    o->actor = sy_req_actor(r);
    o->fn = fn;
    int rc = sy_store_write(o->t->st, op_job, o, &r->err);
    if (rc) {
        json_decref(o->result);
        o->result = NULL;
    }
    return rc;
}

static int body_only(sy_req *r, const char *const *allowed, json_t **out) {
    int rc = sy_req_json(r, out);
    if (rc) return rc;
    return sy_json_only(*out, allowed, &r->err);
}

static int audit(sy_db *db, op *o, const char *action, const char *kind, int64_t id, sy_err *e) {
    char target[48];
    snprintf(target, sizeof target, "%s:%lld", kind, (long long)id);
    return sy_audit_record(db, o->actor, action, target, o->body, e);
}

/* ?limit= (default 50, max 500) and ?cursor= (the last id returned). */
static int page_args(sy_req *r, int64_t *limit, int64_t *after) {
    *after = 0;
    *limit = SY_LIST_DEFAULT;
    size_t n;
    if (sy_req_limit(r, &n)) return r->err.code;
    *limit = (int64_t)n;
    const char *c = sy_req_query(r, "cursor");
    if (c && (sy_parse_i64(c, after) || *after < 0))
        return sy_err_field(&r->err, SY_E_INVALID, "cursor", "cursor \"%.40s\" is not valid", c);
    return 0;
}

static json_t *jstr(const char *s) {
    return s ? json_string(s) : json_null();
}

/* --- rows --- */

#define CAT_COLS "id, name, scenario, parent_id, sort_order, created_at, updated_at"
#define TAG_COLS "id, category_id, name, description, kind, created_at, updated_at, definition"

static json_t *cat_row(sy_stmt *st) {
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:o,s:I,s:I,s:I}", "id", (json_int_t)sy_stmt_col_int(st, 0), "name",
        sy_stmt_col_text(st, 1), "scenario", sy_stmt_col_text(st, 2), "parent_id",
        sy_stmt_col_type(st, 3) == SY_NULL ? json_null() : json_integer(sy_stmt_col_int(st, 3)),
        "sort_order", (json_int_t)sy_stmt_col_int(st, 4), "created_at",
        (json_int_t)sy_stmt_col_int(st, 5), "updated_at", (json_int_t)sy_stmt_col_int(st, 6));
    return o;
}

static json_t *tag_row(sy_tags *t, sy_stmt *st) {
    int64_t id = sy_stmt_col_int(st, 0);
    const char *d = sy_stmt_col_text(st, 7);
    json_t *def = d ? json_loads(d, 0, NULL) : NULL;
    return json_pack("{s:I,s:I,s:s,s:o,s:s,s:I,s:I,s:I,s:o}", "id", (json_int_t)id, "category_id",
                     (json_int_t)sy_stmt_col_int(st, 1), "name", sy_stmt_col_text(st, 2),
                     "description", jstr(sy_stmt_col_text(st, 3)), "kind", sy_stmt_col_text(st, 4),
                     "created_at", (json_int_t)sy_stmt_col_int(st, 5), "updated_at",
                     (json_int_t)sy_stmt_col_int(st, 6), "member_count",
                     (json_int_t)sy_tags_ram_count(t, id), "definition", def ? def : json_null());
}

/* Reads one row by id into *out (NULL when absent). */
static int load_one(sy_tags *t, sy_db *db, int is_tag, int64_t id, json_t **out, sy_err *e) {
    sy_stmt *st;
    *out = NULL;
    int rc = sy_db_prepare(db,
                           is_tag ? "SELECT " TAG_COLS " FROM tags WHERE id = ?1"
                                  : "SELECT " CAT_COLS " FROM tag_categories WHERE id = ?1",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    rc = sy_stmt_step(st, e);
    if (rc == SY_ROW) *out = is_tag ? tag_row(t, st) : cat_row(st);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (!*out)
        return sy_err_set(e, SY_E_NOT_FOUND, "%s %lld not found", is_tag ? "tag" : "tag category",
                          (long long)id);
    return 0;
}

static int count_q(sy_db *db, const char *sql, int64_t a, int64_t *n, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, sql, &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, a);
    rc = sy_stmt_step(st, e);
    *n = rc == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

/* --- categories --- */

static const char *const cat_fields[] = {"name", "scenario", "parent_id", "sort_order", NULL};

/* Validates a category body (create: name and scenario required). */
static int cat_check(sy_req *r, json_t *b, int create) {
    const char *s;
    int present;
    int64_t v;
    int rc;
    if ((rc = sy_json_str(b, "name", &s, &present, &r->err))) return rc;
    if (!present && create)
        return sy_err_field(&r->err, SY_E_INVALID, "name", "field \"name\" is required");
    if (present && (rc = sy_tags_check_text("name", s, SY_TAGS_NAME_MAX, &r->err))) return rc;
    if ((rc = sy_json_str(b, "scenario", &s, &present, &r->err))) return rc;
    if (!present && create)
        return sy_err_field(
            &r->err, SY_E_INVALID, "scenario",
            "field \"scenario\" is required: state the business scenario the category serves");
    if (present && (rc = sy_tags_check_text("scenario", s, SY_TAGS_SCENARIO_MAX, &r->err)))
        return rc;
    json_t *p = json_object_get(b, "parent_id");
    if (p && !json_is_null(p) && (!json_is_integer(p) || json_integer_value(p) < 1))
        return sy_err_field(&r->err, SY_E_INVALID, "parent_id",
                            "field \"parent_id\" must be a category id or null");
    if ((rc = sy_json_int(b, "sort_order", &v, &present, &r->err))) return rc;
    return 0;
}

/* Checks parent_id (a top-level category, not self, and self has no
 * subcategories) and sibling-name uniqueness inside the write job. */
static int cat_rules(op *o, sy_db *db, int64_t self, int64_t parent, const char *name, sy_err *e) {
    int64_t n;
    int rc;
    if (parent) {
        if (parent == self)
            return sy_err_field(e, SY_E_INVALID, "parent_id",
                                "a category cannot be its own parent");
        sy_stmt *st;
        if ((rc = sy_db_prepare(db, "SELECT parent_id FROM tag_categories WHERE id = ?1", &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, parent);
        rc = sy_stmt_step(st, e);
        int found = rc == SY_ROW, nested = found && sy_stmt_col_type(st, 0) != SY_NULL;
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        if (!found)
            return sy_err_field(e, SY_E_INVALID, "parent_id", "parent category %lld does not exist",
                                (long long)parent);
        if (nested)
            return sy_err_field(e, SY_E_INVALID, "parent_id",
                                "category %lld is a subcategory; categories are two levels deep",
                                (long long)parent);
        if (self && (rc = count_q(db, "SELECT count(*) FROM tag_categories WHERE parent_id = ?1",
                                  self, &n, e)))
            return rc;
        if (self && n)
            return sy_err_field(e, SY_E_INVALID, "parent_id",
                                "category %lld has subcategories and cannot become one",
                                (long long)self);
    }
    sy_stmt *st;
    if ((rc = sy_db_prepare(db,
                            "SELECT id FROM tag_categories WHERE coalesce(parent_id, 0) = ?1 AND "
                            "name = ?2 AND id != ?3",
                            &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, parent);
    sy_stmt_bind_text(st, 2, name);
    sy_stmt_bind_int(st, 3, self);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (rc == SY_ROW)
        return sy_err_field(e, SY_E_CONFLICT, "name",
                            "a category named \"%s\" already exists there", name);
    (void)o;
    return 0;
}

static int64_t parent_of(json_t *b) {
    json_t *p = json_object_get(b, "parent_id");
    return p && json_is_integer(p) ? json_integer_value(p) : 0;
}

static int job_cat_create(op *o, sy_db *db, sy_err *e) {
    const char *name = json_string_value(json_object_get(o->body, "name"));
    int64_t parent = parent_of(o->body);
    int rc = cat_rules(o, db, 0, parent, name, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db,
                            "INSERT INTO tag_categories (name, scenario, parent_id, sort_order, "
                            "created_at, updated_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                            &st, e)))
        return rc;
    sy_stmt_bind_text(st, 1, name);
    sy_stmt_bind_text(st, 2, json_string_value(json_object_get(o->body, "scenario")));
    if (parent)
        sy_stmt_bind_int(st, 3, parent);
    else
        sy_stmt_bind_null(st, 3);
    sy_stmt_bind_int(st, 4, json_integer_value(json_object_get(o->body, "sort_order")));
    sy_stmt_bind_int(st, 5, sy_now_ms());
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    o->id = sy_db_last_id(db);
    if ((rc = audit(db, o, "tags.category.create", "tag_category", o->id, e))) return rc;
    return load_one(o->t, db, 0, o->id, &o->result, e);
}

static int job_cat_patch(op *o, sy_db *db, sy_err *e) {
    json_t *cur;
    int rc = load_one(o->t, db, 0, o->id, &cur, e);
    if (rc) return rc;
    json_t *b = o->body;
    const char *name = json_object_get(b, "name") ? json_string_value(json_object_get(b, "name"))
                                                  : json_string_value(json_object_get(cur, "name"));
    const char *scenario = json_object_get(b, "scenario")
                               ? json_string_value(json_object_get(b, "scenario"))
                               : json_string_value(json_object_get(cur, "scenario"));
    json_t *pj = json_object_get(b, "parent_id") ? json_object_get(b, "parent_id")
                                                 : json_object_get(cur, "parent_id");
    int64_t parent = json_is_integer(pj) ? json_integer_value(pj) : 0;
    int64_t sort = json_integer_value(
        json_object_get(json_object_get(b, "sort_order") ? b : cur, "sort_order"));
    rc = cat_rules(o, db, o->id, parent, name, e);
    sy_stmt *st = NULL;
    if (rc == 0)
        rc = sy_db_prepare(
            db,
            "UPDATE tag_categories SET name = ?2, scenario = ?3, parent_id = ?4, sort_order = ?5, "
            "updated_at = ?6 WHERE id = ?1",
            &st, e);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, o->id);
        sy_stmt_bind_text(st, 2, name);
        sy_stmt_bind_text(st, 3, scenario);
        if (parent)
            sy_stmt_bind_int(st, 4, parent);
        else
            sy_stmt_bind_null(st, 4);
        sy_stmt_bind_int(st, 5, sort);
        sy_stmt_bind_int(st, 6, sy_now_ms());
        rc = sy_stmt_step(st, e);
        if (rc > 0) rc = 0;
    }
    sy_stmt_finalize(st);
    json_decref(cur);
    if (rc) return rc;
    if ((rc = audit(db, o, "tags.category.update", "tag_category", o->id, e))) return rc;
    return load_one(o->t, db, 0, o->id, &o->result, e);
}

static int job_cat_delete(op *o, sy_db *db, sy_err *e) {
    json_t *cur;
    int rc = load_one(o->t, db, 0, o->id, &cur, e);
    if (rc) return rc;
    json_decref(cur);
    int64_t n;
    if ((rc = count_q(db, "SELECT count(*) FROM tags WHERE category_id = ?1", o->id, &n, e)))
        return rc;
    if (n)
        return sy_err_set(e, SY_E_CONFLICT, "tag category %lld still holds %lld tags",
                          (long long)o->id, (long long)n);
    if ((rc =
             count_q(db, "SELECT count(*) FROM tag_categories WHERE parent_id = ?1", o->id, &n, e)))
        return rc;
    if (n)
        return sy_err_set(e, SY_E_CONFLICT, "tag category %lld still has %lld subcategories",
                          (long long)o->id, (long long)n);
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "DELETE FROM tag_categories WHERE id = ?1", &st, e))) return rc;
    sy_stmt_bind_int(st, 1, o->id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    o->result = json_pack("{s:I,s:b}", "id", (json_int_t)o->id, "deleted", 1);
    return audit(db, o, "tags.category.delete", "tag_category", o->id, e);
}

static int h_cat_create(sy_req *r) {
    op o = {0};
    int rc = body_only(r, cat_fields, &o.body);
    if (rc == 0) rc = cat_check(r, o.body, 1);
    if (rc == 0) rc = run_op(r, &o, job_cat_create);
    return rc ? rc : sy_reply_json(r, 201, o.result);
}

static int h_cat_patch(sy_req *r) {
    op o = {0};
    int rc = sy_req_param_id(r, "id", &o.id);
    if (rc == 0) rc = body_only(r, cat_fields, &o.body);
    if (rc == 0) rc = cat_check(r, o.body, 0);
    if (rc == 0) rc = run_op(r, &o, job_cat_patch);
    return rc ? rc : sy_reply_json(r, 200, o.result);
}

static int h_cat_delete(sy_req *r) {
    op o = {0};
    int rc = sy_req_param_id(r, "id", &o.id);
    if (rc == 0) rc = run_op(r, &o, job_cat_delete);
    return rc ? rc : sy_reply_json(r, 200, o.result);
}

/* Runs a read-only callback on a borrowed read connection. */
static int with_read(sy_req *r, int (*fn)(sy_req *r, sy_db *db, json_t **out), json_t **out) {
    sy_db *db;
    int rc = sy_store_read_begin(CTX(r)->st, &db, &r->err);
    if (rc) return rc;
    rc = fn(r, db, out);
    sy_store_read_end(CTX(r)->st, db);
    return rc;
}

static int read_cat(sy_req *r, sy_db *db, json_t **out) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    return rc ? rc : load_one(CTX(r), db, 0, id, out, &r->err);
}

static int read_tag(sy_req *r, sy_db *db, json_t **out) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    return rc ? rc : load_one(CTX(r), db, 1, id, out, &r->err);
}

/* Builds {"items","total","next_cursor"} from a filtered query. where binds
 * ?1 = after-cursor; the caller's extra binds start at ?2. */
static int list_page(sy_req *r, sy_db *db, int is_tag, const char *where, int64_t a2,
                     const char *s3, json_t **out) {
    int64_t limit, after;
    int rc = page_args(r, &limit, &after);
    if (rc) return rc;
    const char *table = is_tag ? "tags" : "tag_categories";
    char sql[600];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s", table, where);
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, sql, &st, &r->err))) return rc;
    sy_stmt_bind_int(st, 1, 0);
    sy_stmt_bind_int(st, 2, a2);
    if (s3) sy_stmt_bind_text(st, 3, s3);
    rc = sy_stmt_step(st, &r->err);
    int64_t total = rc == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE %s ORDER BY id LIMIT %lld",
             is_tag ? TAG_COLS : CAT_COLS, table, where, (long long)limit + 1);
    if ((rc = sy_db_prepare(db, sql, &st, &r->err))) return rc;
    sy_stmt_bind_int(st, 1, after);
    sy_stmt_bind_int(st, 2, a2);
    if (s3) sy_stmt_bind_text(st, 3, s3);
    json_t *items = json_array();
    int64_t last = 0, more = 0;
    while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
        if ((int64_t)json_array_size(items) == limit) {
            more = 1;
            continue;
        }
        last = sy_stmt_col_int(st, 0);
        json_array_append_new(items, is_tag ? tag_row(CTX(r), st) : cat_row(st));
    }
    sy_stmt_finalize(st);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    char cur[24];
    snprintf(cur, sizeof cur, "%lld", (long long)last);
    *out = json_pack("{s:o,s:I,s:o}", "items", items, "total", (json_int_t)total, "next_cursor",
                     more ? json_string(cur) : json_null());
    return 0;
}

static int read_cat_list(sy_req *r, sy_db *db, json_t **out) {
    const char *p = sy_req_query(r, "parent_id");
    int64_t parent = 0;
    if (!p) return list_page(r, db, 0, "id > ?1 AND ?2 = 0", 0, NULL, out);
    if (sy_streq(p, "none"))
        return list_page(r, db, 0, "id > ?1 AND parent_id IS NULL AND ?2 = 0", 0, NULL, out);
    if (sy_parse_i64(p, &parent) || parent < 1)
        return sy_err_field(&r->err, SY_E_INVALID, "parent_id",
                            "parent_id \"%.20s\" is not an id or \"none\"", p);
    return list_page(r, db, 0, "id > ?1 AND parent_id = ?2", parent, NULL, out);
}

static int read_tag_list(sy_req *r, sy_db *db, json_t **out) {
    const char *c = sy_req_query(r, "category_id"), *q = sy_req_query(r, "q");
    int64_t cat = 0;
    if (c && (sy_parse_i64(c, &cat) || cat < 1))
        return sy_err_field(&r->err, SY_E_INVALID, "category_id",
                            "category_id \"%.20s\" is not an id", c);
    if (q && !sy_utf8_valid(q, strlen(q)))
        return sy_err_field(&r->err, SY_E_INVALID, "q", "q is not valid UTF-8");
    return list_page(
        r, db, 1,
        q ? "id > ?1 AND (?2 = 0 OR category_id = ?2) AND instr(lower(name), lower(?3)) > 0"
          : "id > ?1 AND (?2 = 0 OR category_id = ?2)",
        cat, q, out);
}

/* Categories → subcategories → tags with member counts, in sort order. */
static int read_tree(sy_req *r, sy_db *db, json_t **out) {
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "SELECT " CAT_COLS
                           " FROM tag_categories ORDER BY parent_id IS NOT NULL, sort_order, id",
                           &st, &r->err);
    if (rc) return rc;
    json_t *byid = json_object(), *items = json_array();
    char key[24];
    while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
        json_t *c = cat_row(st);
        json_object_set_new(c, "tags", json_array());
        json_t *parent = NULL;
        if (sy_stmt_col_type(st, 3) != SY_NULL) {
            snprintf(key, sizeof key, "%lld", (long long)sy_stmt_col_int(st, 3));
            parent = json_object_get(byid, key);
        } else {
            json_object_set_new(c, "children", json_array());
        }
        snprintf(key, sizeof key, "%lld", (long long)sy_stmt_col_int(st, 0));
        json_object_set(byid, key, c);
        json_array_append_new(parent ? json_object_get(parent, "children") : items, c);
    }
    sy_stmt_finalize(st);
    if (rc == SY_DONE)
        rc = sy_db_prepare(db, "SELECT " TAG_COLS " FROM tags ORDER BY id", &st, &r->err);
    if (rc == 0) {
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            snprintf(key, sizeof key, "%lld", (long long)sy_stmt_col_int(st, 1));
            json_t *c = json_object_get(byid, key);
            if (c) json_array_append_new(json_object_get(c, "tags"), tag_row(CTX(r), st));
        }
        sy_stmt_finalize(st);
    }
    json_decref(byid);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    *out = json_pack("{s:o}", "items", items);
    return 0;
}

static int reply_read(sy_req *r, int (*fn)(sy_req *, sy_db *, json_t **)) {
    json_t *out = NULL;
    int rc = with_read(r, fn, &out);
    return rc ? rc : sy_reply_json(r, 200, out);
}

static int h_cat_list(sy_req *r) {
    return reply_read(r, read_cat_list);
}
static int h_cat_get(sy_req *r) {
    return reply_read(r, read_cat);
}
static int h_tag_list(sy_req *r) {
    return reply_read(r, read_tag_list);
}
static int h_tag_get(sy_req *r) {
    return reply_read(r, read_tag);
}
static int h_tree(sy_req *r) {
    return reply_read(r, read_tree);
}

/* --- tags --- */

static const char *const tag_fields[] = {"category_id", "name",       "description",
                                         "kind",        "definition", NULL};

/* 1 when the definition names tag self anywhere ({"tag": self}). */
static int refers_to(json_t *v, int64_t self) {
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x) {
            if (sy_streq(k, "tag") && json_is_integer(x) && json_integer_value(x) == self) return 1;
            if (refers_to(x, self)) return 1;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x) {
            if (refers_to(x, self)) return 1;
        }
    }
    return 0;
}

/* Validates a rule definition through the segments module; the error's
 * field is the JSON path under "definition" ("definition.and[0].event"). */
static int rule_check(sy_req *r, json_t *def, int64_t self) {
    sy_tags *t = CTX(r);
    if (!json_is_object(def))
        return sy_err_field(&r->err, SY_E_INVALID, "definition",
                            "field \"definition\" must be a segment definition object");
    if (!t->hooks.validate)
        return sy_err_set(&r->err, SY_E_UNAVAILABLE, "rule tags are not available yet");
    sy_err e;
    sy_err_clear(&e);
    int rc = t->hooks.validate(t->hooks.ctx, def, &e);
    if (rc) {
        r->err = e;
        const char *p = e.field[0] == '$' ? e.field + 1 : e.field;
        snprintf(r->err.field, sizeof r->err.field, "definition%s%.100s",
                 *p && *p != '.' && *p != '[' ? "." : "", p);
        return rc;
    }
    if (self && refers_to(def, self))
        return sy_err_field(&r->err, SY_E_INVALID, "definition",
                            "a rule tag cannot refer to itself (tag %lld)", (long long)self);
    return 0;
}

static int tag_check(sy_req *r, json_t *b, int create) {
    const char *s;
    int present, rc;
    int64_t v;
    if ((rc = sy_json_int(b, "category_id", &v, &present, &r->err))) return rc;
    if (!present && create)
        return sy_err_field(&r->err, SY_E_INVALID, "category_id",
                            "field \"category_id\" is required");
    if ((rc = sy_json_str(b, "name", &s, &present, &r->err))) return rc;
    if (!present && create)
        return sy_err_field(&r->err, SY_E_INVALID, "name", "field \"name\" is required");
    if (present && (rc = sy_tags_check_text("name", s, SY_TAGS_NAME_MAX, &r->err))) return rc;
    json_t *d = json_object_get(b, "description");
    if (d && !json_is_null(d) && !json_is_string(d))
        return sy_err_field(&r->err, SY_E_INVALID, "description",
                            "field \"description\" must be a string");
    if (d && json_is_string(d) && sy_utf8_len(json_string_value(d)) > SY_TAGS_DESC_MAX)
        return sy_err_field(&r->err, SY_E_INVALID, "description",
                            "description is longer than %d characters", SY_TAGS_DESC_MAX);
    if ((rc = sy_json_str(b, "kind", &s, &present, &r->err))) return rc;
    if (present && !create)
        return sy_err_field(&r->err, SY_E_INVALID, "kind", "the kind of a tag cannot be changed");
    if (present && (rc = sy_tags_check_kind(s, &r->err))) return rc;
    if (create) {
        json_t *def = json_object_get(b, "definition");
        int rule = present && sy_streq(s, "rule");
        if (rule && !def)
            return sy_err_field(&r->err, SY_E_INVALID, "definition",
                                "a rule tag needs a \"definition\" (segments language)");
        if (!rule && def)
            return sy_err_field(&r->err, SY_E_INVALID, "definition",
                                "only rule tags have a \"definition\"");
        if (rule && (rc = rule_check(r, def, 0))) return rc;
    }
    return 0;
}

/* Category exists (400 naming category_id otherwise) and name is free in it. */
static int tag_rules(sy_db *db, int64_t self, int64_t cat, const char *name, sy_err *e) {
    int64_t n;
    int rc = count_q(db, "SELECT count(*) FROM tag_categories WHERE id = ?1", cat, &n, e);
    if (rc) return rc;
    if (!n)
        return sy_err_field(e, SY_E_INVALID, "category_id", "tag category %lld does not exist",
                            (long long)cat);
    sy_stmt *st;
    if ((rc = sy_db_prepare(
             db, "SELECT 1 FROM tags WHERE category_id = ?1 AND name = ?2 AND id != ?3", &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, cat);
    sy_stmt_bind_text(st, 2, name);
    sy_stmt_bind_int(st, 3, self);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (rc == SY_ROW)
        return sy_err_field(e, SY_E_CONFLICT, "name",
                            "a tag named \"%s\" already exists in category %lld", name,
                            (long long)cat);
    return 0;
}

static int job_tag_create(op *o, sy_db *db, sy_err *e) {
    const char *name = json_string_value(json_object_get(o->body, "name"));
    int64_t cat = json_integer_value(json_object_get(o->body, "category_id"));
    int rc = tag_rules(db, 0, cat, name, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(
             db,
             "INSERT INTO tags (category_id, name, description, kind, created_at, updated_at, "
             "definition) VALUES (?1, ?2, ?3, ?5, ?4, ?4, ?6)",
             &st, e)))
        return rc;
    const char *kind = json_string_value(json_object_get(o->body, "kind"));
    json_t *def = json_object_get(o->body, "definition");
    char *deftext = def ? json_dumps(def, JSON_COMPACT) : NULL;
    sy_stmt_bind_int(st, 1, cat);
    sy_stmt_bind_text(st, 2, name);
    sy_stmt_bind_text(st, 3, json_string_value(json_object_get(o->body, "description")));
    sy_stmt_bind_int(st, 4, sy_now_ms());
    sy_stmt_bind_text(st, 5, kind ? kind : "manual");
    if (deftext)
        sy_stmt_bind_text(st, 6, deftext);
    else
        sy_stmt_bind_null(st, 6);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    free(deftext);
    if (rc < 0) return rc;
    o->id = sy_db_last_id(db);
    if ((rc = audit(db, o, "tags.tag.create", "tag", o->id, e))) return rc;
    return load_one(o->t, db, 1, o->id, &o->result, e);
}

static int job_tag_patch(op *o, sy_db *db, sy_err *e) {
    json_t *cur;
    int rc = load_one(o->t, db, 1, o->id, &cur, e);
    if (rc) return rc;
    json_t *b = o->body;
    const char *name =
        json_string_value(json_object_get(json_object_get(b, "name") ? b : cur, "name"));
    int64_t cat = json_integer_value(
        json_object_get(json_object_get(b, "category_id") ? b : cur, "category_id"));
    const char *desc = json_string_value(
        json_object_get(json_object_get(b, "description") ? b : cur, "description"));
    json_t *def = json_object_get(json_object_get(b, "definition") ? b : cur, "definition");
    rc = tag_rules(db, o->id, cat, name, e);
    if (rc == 0 && json_object_get(b, "definition") &&
        !sy_streq(json_string_value(json_object_get(cur, "kind")), "rule"))
        rc = sy_err_field(e, SY_E_INVALID, "definition", "only rule tags have a \"definition\"");
    char *deftext = def && !json_is_null(def) ? json_dumps(def, JSON_COMPACT) : NULL;
    sy_stmt *st = NULL;
    if (rc == 0)
        rc = sy_db_prepare(db,
                           "UPDATE tags SET category_id = ?2, name = ?3, description = ?4, "
                           "updated_at = ?5, definition = ?6 WHERE id = ?1",
                           &st, e);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, o->id);
        sy_stmt_bind_int(st, 2, cat);
        sy_stmt_bind_text(st, 3, name);
        sy_stmt_bind_text(st, 4, desc);
        sy_stmt_bind_int(st, 5, sy_now_ms());
        if (deftext)
            sy_stmt_bind_text(st, 6, deftext);
        else
            sy_stmt_bind_null(st, 6);
        rc = sy_stmt_step(st, e);
        if (rc > 0) rc = 0;
    }
    sy_stmt_finalize(st);
    free(deftext);
    json_decref(cur);
    if (rc) return rc;
    if ((rc = audit(db, o, "tags.tag.update", "tag", o->id, e))) return rc;
    return load_one(o->t, db, 1, o->id, &o->result, e);
}

static int job_tag_delete(op *o, sy_db *db, sy_err *e) {
    json_t *cur;
    int rc = load_one(o->t, db, 1, o->id, &cur, e);
    if (rc) return rc;
    json_decref(cur);
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "DELETE FROM tags WHERE id = ?1", &st, e))) return rc;
    sy_stmt_bind_int(st, 1, o->id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    o->result = json_pack("{s:I,s:b,s:I}", "id", (json_int_t)o->id, "deleted", 1, "members_removed",
                          (json_int_t)sy_tags_ram_count(o->t, o->id));
    return audit(db, o, "tags.tag.delete", "tag", o->id, e);
}

static int h_tag_create(sy_req *r) {
    op o = {0};
    int rc = body_only(r, tag_fields, &o.body);
    if (rc == 0) rc = tag_check(r, o.body, 1);
    if (rc) return rc;
    /* held so no membership write can slip between the commit and the new set */
    pthread_mutex_lock(&CTX(r)->write_lock);
    rc = run_op(r, &o, job_tag_create);
    if (rc == 0 &&
        sy_tags_ram_add_tag(CTX(r), o.id,
                            sy_streq(json_string_value(json_object_get(o.result, "kind")), "rule")))
        rc = sy_err_set(&r->err, SY_E_NOMEM, "out of memory");
    pthread_mutex_unlock(&CTX(r)->write_lock);
    if (rc == 0) json_object_set_new(o.result, "member_count", json_integer(0));
    return rc ? rc : sy_reply_json(r, 201, o.result);
}

static int h_tag_patch(sy_req *r) {
    op o = {0};
    int rc = sy_req_param_id(r, "id", &o.id);
    if (rc == 0) rc = body_only(r, tag_fields, &o.body);
    if (rc == 0) rc = tag_check(r, o.body, 0);
    json_t *def = rc == 0 ? json_object_get(o.body, "definition") : NULL;
    if (def && sy_tags_ram_is_rule(CTX(r), o.id) == 1) rc = rule_check(r, def, o.id);
    if (rc == 0) rc = run_op(r, &o, job_tag_patch);
    return rc ? rc : sy_reply_json(r, 200, o.result);
}

static int h_tag_delete(sy_req *r) {
    op o = {0};
    int rc = sy_req_param_id(r, "id", &o.id);
    if (rc) return rc;
    pthread_mutex_lock(&CTX(r)->write_lock);
    rc = run_op(r, &o, job_tag_delete);
    if (rc == 0) sy_tags_ram_drop_tag(CTX(r), o.id);
    pthread_mutex_unlock(&CTX(r)->write_lock);
    if (rc) return rc;
    /* the membership rows go in chunks after the tag itself is gone */
    sy_err e;
    sy_err_clear(&e);
    if (sy_tags_sweep(CTX(r), o.id, &e))
        sy_warn("msg=\"sweeping a deleted tag's members failed; retried at next start\" tag=%lld "
                "err=\"%s\"",
                (long long)o.id, e.msg);
    return sy_reply_json(r, 200, o.result);
}

/* --- a contact's tags --- */

/* 409 when tag is a rule tag: its members follow its definition only. */
static int not_rule(sy_req *r, int64_t tag, const char *field) {
    if (sy_tags_ram_is_rule(CTX(r), tag) != 1) return 0;
    return sy_err_field(&r->err, SY_E_CONFLICT, field,
                        "tag %lld is a rule tag: its members follow its definition and cannot "
                        "be edited by hand",
                        (long long)tag);
}

static int contact_of(sy_req *r, int64_t *live) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    return sy_contacts_visible(CTX(r)->contacts, r->arena, sy_req_actor(r), id, live, &r->err);
}

/* The contact's tags as stored, ordered by tag id. */
static int contact_tags_json(sy_tags *t, int64_t contact, json_t **out, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(t->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    rc = sy_db_prepare(
        db,
        "SELECT t.id, t.name, t.category_id, ct.at, ct.by_staff, ct.source FROM contact_tags ct "
        "JOIN tags t ON t.id = ct.tag_id WHERE ct.contact_id = ?1 ORDER BY t.id",
        &st, e);
    json_t *items = json_array();
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, contact);
        while ((rc = sy_stmt_step(st, e)) == SY_ROW)
            json_array_append_new(items, json_pack("{s:I,s:s,s:I,s:I,s:o,s:s}", "tag_id",
                                                   (json_int_t)sy_stmt_col_int(st, 0), "name",
                                                   sy_stmt_col_text(st, 1), "category_id",
                                                   (json_int_t)sy_stmt_col_int(st, 2), "at",
                                                   (json_int_t)sy_stmt_col_int(st, 3), "by_staff",
                                                   sy_stmt_col_type(st, 4) == SY_NULL
                                                       ? json_null()
                                                       : json_integer(sy_stmt_col_int(st, 4)),
                                                   "source", sy_stmt_col_text(st, 5)));
        if (rc == SY_DONE) rc = 0;
        sy_stmt_finalize(st);
    }
    sy_store_read_end(t->st, db);
    if (rc) {
        json_decref(items);
        return rc;
    }
    *out = json_pack("{s:I,s:o,s:I,s:n}", "contact_id", (json_int_t)contact, "items", items,
                     "total", (json_int_t)json_array_size(items), "next_cursor");
    return 0;
}

static int h_ct_list(sy_req *r) {
    int64_t live;
    json_t *out;
    int rc = contact_of(r, &live);
    if (rc == 0) rc = contact_tags_json(CTX(r), live, &out, &r->err);
    return rc ? rc : sy_reply_json(r, 200, out);
}

/* Reads a non-empty array of positive ids at key (at most max). */
static int id_array(sy_req *r, json_t *b, const char *key, size_t max, int64_t **ids, size_t *n) {
    json_t *a = json_object_get(b, key);
    if (!json_is_array(a))
        return sy_err_field(&r->err, SY_E_INVALID, key, "field \"%s\" must be an array of ids",
                            key);
    *n = json_array_size(a);
    if (*n == 0)
        return sy_err_field(&r->err, SY_E_INVALID, key, "field \"%s\" must not be empty", key);
    if (*n > max)
        return sy_err_field(&r->err, SY_E_INVALID, key, "field \"%s\" has more than %zu entries",
                            key, max);
    *ids = sy_alloc(r->arena, *n * sizeof **ids);
    for (size_t i = 0; i < *n; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            char field[64];
            snprintf(field, sizeof field, "%s[%zu]", key, i);
            return sy_err_field(&r->err, SY_E_INVALID, field, "%s must be a positive integer id",
                                field);
        }
        (*ids)[i] = json_integer_value(v);
    }
    return 0;
}

static int h_ct_add(sy_req *r) {
    static const char *const fields[] = {"tag_ids", NULL};
    sy_tags *t = CTX(r);
    json_t *b;
    int64_t live, *tags;
    size_t n;
    int rc = contact_of(r, &live);
    if (rc == 0) rc = body_only(r, fields, &b);
    if (rc == 0) rc = id_array(r, b, "tag_ids", 200, &tags, &n);
    /* every tag must exist before anything changes */
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (sy_tags_exists(t, tags[i], NULL)) {
            char field[32];
            snprintf(field, sizeof field, "tag_ids[%zu]", i);
            rc = sy_err_field(&r->err, SY_E_NOT_FOUND, field, "tag %lld not found",
                              (long long)tags[i]);
        } else {
            char field[32];
            snprintf(field, sizeof field, "tag_ids[%zu]", i);
            rc = not_rule(r, tags[i], field);
        }
    size_t changed, added = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = sy_tags_write_members(t, sy_req_actor(r), tags[i], &live, 1, 1, &changed, &r->err);
        added += changed;
    }
    json_t *out;
    if (rc == 0) rc = contact_tags_json(t, live, &out, &r->err);
    if (rc) return rc;
    json_object_set_new(out, "added", json_integer((json_int_t)added));
    return sy_reply_json(r, 200, out);
}

static int h_ct_del(sy_req *r) {
    sy_tags *t = CTX(r);
    int64_t live, tag;
    int rc = contact_of(r, &live);
    if (rc == 0) rc = sy_req_param_id(r, "tag_id", &tag);
    if (rc == 0) rc = sy_tags_exists(t, tag, &r->err);
    if (rc == 0) rc = not_rule(r, tag, "tag_id");
    size_t changed = 0;
    if (rc == 0)
        rc = sy_tags_write_members(t, sy_req_actor(r), tag, &live, 1, 0, &changed, &r->err);
    if (rc) return rc;
    return sy_reply_json(r, 200,
                         json_pack("{s:I,s:I,s:b}", "contact_id", (json_int_t)live, "tag_id",
                                   (json_int_t)tag, "removed", changed > 0));
}

/* --- bulk membership --- */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* A whole saved segment's current members, limited to the caller's scope. */
static int segment_targets(sy_req *r, json_t *sj, int64_t **live, size_t *n_live, size_t *found) {
    sy_tags *t = CTX(r);
    if (!json_is_integer(sj) || json_integer_value(sj) < 1)
        return sy_err_field(&r->err, SY_E_INVALID, "segment_id",
                            "field \"segment_id\" must be a segment id");
    if (!t->hooks.segment_members)
        return sy_err_set(&r->err, SY_E_UNAVAILABLE, "segments are not available yet");
    sy_idset *m = NULL, *scope = NULL;
    int rc = t->hooks.segment_members(t->hooks.ctx, json_integer_value(sj), &m, &r->err);
    if (rc == SY_E_NOT_FOUND) snprintf(r->err.field, sizeof r->err.field, "segment_id");
    if (rc == 0) rc = sy_contacts_select_scope(t->contacts, sy_req_actor(r), &scope, &r->err);
    if (rc == 0) {
        sy_idset_and(m, scope);
        uint64_t c = sy_idset_count(m);
        *live = sy_alloc(r->arena, (c ? c : 1) * sizeof **live);
        *n_live = 0;
        uint32_t buf[4096], from = 0;
        for (;;) {
            size_t k = sy_idset_list(m, from, buf, SY_ARRAY_LEN(buf));
            for (size_t i = 0; i < k && *n_live < c; i++)
                (*live)[(*n_live)++] = buf[i];
            if (k < SY_ARRAY_LEN(buf) || buf[k - 1] == UINT32_MAX) break;
            from = buf[k - 1] + 1;
        }
        *found = *n_live;
    }
    sy_idset_destroy(m);
    sy_idset_destroy(scope);
    return rc;
}

/* Resolves the body's contact_ids or phones to live, in-scope contact ids
 * (sorted, unique). Entries that match nothing visible go to not_found as
 * given; *found counts the entries that matched. */
static int resolve_targets(sy_req *r, json_t *b, int64_t **live, size_t *n_live, size_t *found,
                           json_t *not_found) {
    sy_tags *t = CTX(r);
    json_t *cj = json_object_get(b, "contact_ids"), *pj = json_object_get(b, "phones"),
           *sj = json_object_get(b, "segment_id");
    if ((cj != NULL) + (pj != NULL) + (sj != NULL) != 1)
        return sy_err_field(&r->err, SY_E_INVALID,
                            sj   ? "segment_id"
                            : cj ? "phones"
                                 : "contact_ids",
                            "give exactly one of \"contact_ids\", \"phones\" or \"segment_id\"");
    if (sj) return segment_targets(r, sj, live, n_live, found);
    int64_t *ids;
    size_t n;
    int rc;
    if (cj) {
        if ((rc = id_array(r, b, "contact_ids", SY_TAGS_BULK_MAX, &ids, &n))) return rc;
    } else {
        if (!json_is_array(pj))
            return sy_err_field(&r->err, SY_E_INVALID, "phones",
                                "field \"phones\" must be an array of strings");
        n = json_array_size(pj);
        if (n == 0)
            return sy_err_field(&r->err, SY_E_INVALID, "phones",
                                "field \"phones\" must not be empty");
        if (n > SY_TAGS_BULK_MAX)
            return sy_err_field(&r->err, SY_E_INVALID, "phones",
                                "field \"phones\" has more than %d entries", SY_TAGS_BULK_MAX);
        ids = sy_alloc(r->arena, n * sizeof *ids);
        char field[32], norm[32];
        /* validate every phone before looking anything up */
        char **norms = sy_alloc(r->arena, n * sizeof *norms);
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(pj, i);
            snprintf(field, sizeof field, "phones[%zu]", i);
            if (!json_is_string(v))
                return sy_err_field(&r->err, SY_E_INVALID, field, "%s must be a string", field);
            if (sy_phone_normalize(json_string_value(v), norm, sizeof norm, &r->err)) {
                snprintf(r->err.field, sizeof r->err.field, "%s", field);
                return SY_E_INVALID;
            }
            norms[i] = sy_strdup(r->arena, norm);
        }
        sy_db *db;
        if ((rc = sy_store_read_begin(t->st, &db, &r->err))) return rc;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = sy_contacts_ident_find(db, "phone", norms[i], &ids[i], &r->err);
        sy_store_read_end(t->st, db);
        if (rc) return rc;
    }
    *live = sy_alloc(r->arena, n * sizeof **live);
    *n_live = 0;
    *found = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t id = 0;
        sy_err e;
        sy_err_clear(&e);
        rc = ids[i] ? sy_contacts_visible(t->contacts, r->arena, sy_req_actor(r), ids[i], &id, &e)
                    : SY_E_NOT_FOUND;
        if (rc == SY_E_NOT_FOUND) {
            json_array_append(not_found, json_array_get(cj ? cj : pj, i));
            continue;
        }
        if (rc) {
            r->err = e;
            return rc;
        }
        (*live)[(*n_live)++] = id;
        (*found)++;
    }
    qsort(*live, *n_live, sizeof **live, cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < *n_live; i++)
        if (k == 0 || (*live)[k - 1] != (*live)[i]) (*live)[k++] = (*live)[i];
    *n_live = k;
    return 0;
}

static int bulk(sy_req *r, int add) {
    static const char *const fields[] = {"contact_ids", "phones", "segment_id", NULL};
    sy_tags *t = CTX(r);
    int64_t tag, *live = NULL;
    json_t *b;
    size_t n_live = 0, found = 0, changed = 0;
    int rc = sy_req_param_id(r, "id", &tag);
    if (rc == 0) rc = sy_tags_exists(t, tag, &r->err);
    if (rc == 0) rc = not_rule(r, tag, "id");
    if (rc == 0) rc = body_only(r, fields, &b);
    json_t *not_found = json_array();
    if (rc == 0) rc = resolve_targets(r, b, &live, &n_live, &found, not_found);
    if (rc == 0)
        rc = sy_tags_write_members(t, sy_req_actor(r), tag, live, n_live, add, &changed, &r->err);
    if (rc) {
        json_decref(not_found);
        return rc;
    }
    return sy_reply_json(r, 200,
                         json_pack("{s:I,s:I,s:o,s:I}", add ? "added" : "removed",
                                   (json_int_t)changed, "skipped", (json_int_t)(found - changed),
                                   "not_found", not_found, "member_count",
                                   (json_int_t)sy_tags_ram_count(t, tag)));
}

static int h_members_add(sy_req *r) {
    return bulk(r, 1);
}
static int h_members_remove(sy_req *r) {
    return bulk(r, 0);
}

/* --- /metrics --- */

void sy_tags_metrics(void *ctx, sy_buf *out) {
    sy_tags *t = ctx;
    uint64_t members = 0;
    size_t n;
    pthread_rwlock_rdlock(&t->lock);
    n = t->n_sets;
    for (size_t i = 0; i < t->n_sets; i++)
        members += sy_idset_count(t->sets[i].members);
    pthread_rwlock_unlock(&t->lock);
    sy_buf_addf(out,
                "# HELP siyu_tags_total Tags in the taxonomy.\n# TYPE siyu_tags_total "
                "gauge\nsiyu_tags_total %zu\n",
                n);
    sy_buf_addf(out,
                "# HELP siyu_contact_tags_total Tag memberships of live contacts.\n# TYPE "
                "siyu_contact_tags_total "
                "gauge\nsiyu_contact_tags_total %llu\n",
                (unsigned long long)members);
}

/* --- the route table --- */

#define BULK_LIMIT ((size_t)4 * 1024 * 1024)
#define R SY_PERM_CONTACTS_READ
#define W SY_PERM_CONTACTS_WRITE
#define M SY_PERM_SETTINGS_MANAGE
#define S SY_AUTH_STAFF

/* Literal paths before {id} patterns so a first-match router never reads
 * "tree" as an id. */
static sy_route routes[] = {
    {"GET", "/api/v1/tag-categories", h_cat_list, NULL, S, R, 0, "list tag categories"},
    {"POST", "/api/v1/tag-categories", h_cat_create, NULL, S, M, 0,
     "create a tag category or subcategory"},
    {"GET", "/api/v1/tag-categories/{id}", h_cat_get, NULL, S, R, 0, "read a tag category"},
    {"PATCH", "/api/v1/tag-categories/{id}", h_cat_patch, NULL, S, M, 0, "change a tag category"},
    {"DELETE", "/api/v1/tag-categories/{id}", h_cat_delete, NULL, S, M, 0,
     "delete an empty tag category"},
    {"GET", "/api/v1/tags/tree", h_tree, NULL, S, R, 0, "the tag taxonomy tree with member counts"},
    {"GET", "/api/v1/tags", h_tag_list, NULL, S, R, 0, "list and search tags"},
    {"POST", "/api/v1/tags", h_tag_create, NULL, S, M, 0, "create a tag"},
    {"GET", "/api/v1/tags/{id}", h_tag_get, NULL, S, R, 0, "read a tag"},
    {"PATCH", "/api/v1/tags/{id}", h_tag_patch, NULL, S, M, 0, "change a tag"},
    {"DELETE", "/api/v1/tags/{id}", h_tag_delete, NULL, S, M, 0,
     "delete a tag and its memberships"},
    {"POST", "/api/v1/tags/{id}/members", h_members_add, NULL, S, R | W, BULK_LIMIT,
     "tag many contacts (ids, phones or a whole segment)"},
    {"POST", "/api/v1/tags/{id}/members/remove", h_members_remove, NULL, S, R | W, BULK_LIMIT,
     "untag many contacts (ids or phones)"},
    {"GET", "/api/v1/contacts/{id}/tags", h_ct_list, NULL, S, R, 0, "a contact's tags"},
    {"POST", "/api/v1/contacts/{id}/tags", h_ct_add, NULL, S, R | W, 0, "add tags to a contact"},
    {"DELETE", "/api/v1/contacts/{id}/tags/{tag_id}", h_ct_del, NULL, S, R | W, 0,
     "remove a tag from a contact"},
};

void sy_tags_register(sy_tags *t, sy_http *h) {
    /* the table is static; one tags module per process */
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++)
        routes[i].ctx = t;
    sy_http_add_routes(h, routes, SY_ARRAY_LEN(routes));
    sy_http_add_metrics(h, sy_tags_metrics, t);
    sy_tags_forms_register(t, h);
}
