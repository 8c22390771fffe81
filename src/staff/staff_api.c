/* staff_api.c — the staff module's HTTP routes under /api/v1: login,
 * logout and me; staff, departments, stores and roles; permissions; API
 * tokens and write keys; workspace settings; the audit log.
 *
 * Every handler has one shape: parse and validate the request (outside the
 * writer), then run one write job that re-checks references, writes and
 * records the audit entry in the same transaction, then read the result back
 * and reply. Validation failures therefore never change anything. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "staff/staff_int.h"

#define V1 "/api/v1"

/* ---- small helpers ------------------------------------------------------ */

static sy_staff *mod(sy_req *r) {
    return r->ctx;
}

/* Parses the body as a JSON object admitting only the allowed keys. */
static int read_body(sy_req *r, const char *const *allowed, json_t **out) {
    int rc = sy_req_json(r, out);
    if (rc) return rc;
    return sy_json_only(*out, allowed, &r->err);
}

static json_t *col_str(sy_stmt *st, int i) {
    const char *t = sy_stmt_col_text(st, i);
    return t ? json_string(t) : json_null();
}

static json_t *col_int_or_null(sy_stmt *st, int i) {
    return sy_stmt_col_type(st, i) == SY_NULL ? json_null() : json_integer(sy_stmt_col_int(st, i));
}

/* A required or optional display text: trimmed of nothing (we reject
 * surrounding spaces instead of silently changing input), 1..max chars. */
static int check_text(sy_err *e, const char *field, const char *v, size_t max, int allow_empty) {
    size_t n = sy_utf8_len(v);
    if (!allow_empty && n == 0)
        return sy_err_field(e, SY_E_INVALID, field, "%s must not be empty", field);
    if (n > max)
        return sy_err_field(e, SY_E_INVALID, field, "%s \"%.40s…\" is longer than %zu characters",
                            field, v, max);
    if (n > 0 && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[strlen(v) - 1])))
        return sy_err_field(e, SY_E_INVALID, field, "%s \"%s\" has leading or trailing spaces",
                            field, v);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20)
            return sy_err_field(e, SY_E_INVALID, field, "%s contains a control character", field);
    return 0;
}

/* Optional string field with a length rule; *present tells if it was sent. */
static int opt_text(sy_req *r, json_t *b, const char *key, size_t max, int allow_empty,
                    const char **out, int *present) {
    int rc = sy_json_str(b, key, out, present, &r->err);
    if (rc == 0 && *present) rc = check_text(&r->err, key, *out, max, allow_empty);
    return rc;
}

/* Optional id field that may be null (clears it). *present: 0 absent,
 * 1 set (id in *out, 0 for null). */
static int opt_ref(sy_req *r, json_t *b, const char *key, int64_t *out, int *present) {
    json_t *v = json_object_get(b, key);
    *present = 0;
    if (!v) return 0;
    *present = 1;
    if (json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return sy_err_field(&r->err, SY_E_INVALID, key,
                            "field \"%s\" must be a positive id or null", key);
    *out = json_integer_value(v);
    return 0;
}

/* Query-string id (?department_id=3). */
static int query_id(sy_req *r, const char *name, int64_t *out, int *present) {
    const char *v = sy_req_query(r, name);
    *present = v != NULL && *v;
    if (!*present) return 0;
    if (sy_parse_i64(v, out) != 0 || *out <= 0)
        return sy_err_field(&r->err, SY_E_INVALID, name, "%s \"%s\" is not a positive id", name, v);
    return 0;
}

/* ?active=true|false */
static int query_bool(sy_req *r, const char *name, int *out, int *present) {
    const char *v = sy_req_query(r, name);
    *present = v != NULL && *v;
    if (!*present) return 0;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = 0;
    else
        return sy_err_field(&r->err, SY_E_INVALID, name, "%s \"%s\" must be true or false", name,
                            v);
    return 0;
}

/* ?from= / ?to=: UTC ms or an RFC 3339 time. */
static int query_time(sy_req *r, const char *name, int64_t *out, int *present) {
    const char *v = sy_req_query(r, name);
    *present = v != NULL && *v;
    if (!*present) return 0;
    if (sy_parse_i64(v, out) == 0 || sy_time_parse(v, out) == 0) return 0;
    return sy_err_field(&r->err, SY_E_INVALID, name,
                        "%s \"%s\" is neither milliseconds nor an RFC 3339 time", name, v);
}

/* ---- entities: how a row becomes JSON ----------------------------------- */

typedef json_t *(*row_fn)(sy_stmt *st);
typedef struct entity {
    const char *what;  /* for messages: "staff", "department" */
    const char *cols;  /* SELECT list, row_fn reads it */
    const char *from;  /* FROM clause */
    const char *idcol; /* primary key column, also the cursor */
    row_fn row;
} entity;

static json_t *staff_row(sy_stmt *st) {
    return json_pack("{s:I,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:b,s:I,s:o}", "id",
                     (json_int_t)sy_stmt_col_int(st, 0), "username", col_str(st, 1), "name",
                     col_str(st, 2), "role_id", (json_int_t)sy_stmt_col_int(st, 3), "role",
                     col_str(st, 4), "role_name", col_str(st, 5), "department_id",
                     col_int_or_null(st, 6), "store_id", col_int_or_null(st, 7), "active",
                     (int)sy_stmt_col_int(st, 8), "created_at", (json_int_t)sy_stmt_col_int(st, 9),
                     "deactivated_at", col_int_or_null(st, 10));
}
static const entity E_STAFF = {
    "staff",
    "s.id, s.username, s.name, s.role_id, r.key, r.name, s.department_id, s.store_id, s.active,"
    " s.created_at, s.deactivated_at",
    "staff s JOIN roles r ON r.id = s.role_id", "s.id", staff_row};

static json_t *dept_row(sy_stmt *st) {
    return json_pack("{s:I,s:o,s:I,s:I}", "id", (json_int_t)sy_stmt_col_int(st, 0), "name",
                     col_str(st, 1), "created_at", (json_int_t)sy_stmt_col_int(st, 2),
                     "staff_count", (json_int_t)sy_stmt_col_int(st, 3));
}
static const entity E_DEPT = {
    "department",
    "d.id, d.name, d.created_at,"
    " (SELECT count(*) FROM staff x WHERE x.department_id = d.id AND x.active = 1)",
    "departments d", "d.id", dept_row};

static json_t *store_row(sy_stmt *st) {
    return json_pack("{s:I,s:o,s:o,s:o,s:I,s:I}", "id", (json_int_t)sy_stmt_col_int(st, 0), "name",
                     col_str(st, 1), "code", col_str(st, 2), "city", col_str(st, 3), "created_at",
                     (json_int_t)sy_stmt_col_int(st, 4), "staff_count",
                     (json_int_t)sy_stmt_col_int(st, 5));
}
static const entity E_STORE = {
    "store",
    "t.id, t.name, t.code, t.city, t.created_at,"
    " (SELECT count(*) FROM staff x WHERE x.store_id = t.id AND x.active = 1)",
    "stores t", "t.id", store_row};

static json_t *role_row(sy_stmt *st) {
    return json_pack("{s:I,s:o,s:o,s:o,s:o,s:b,s:I,s:I,s:I}", "id",
                     (json_int_t)sy_stmt_col_int(st, 0), "key", col_str(st, 1), "name",
                     col_str(st, 2), "perms", sy_perm_to_json((uint64_t)sy_stmt_col_int(st, 3)),
                     "scope", col_str(st, 4), "builtin", (int)sy_stmt_col_int(st, 5), "staff_count",
                     (json_int_t)sy_stmt_col_int(st, 6), "created_at",
                     (json_int_t)sy_stmt_col_int(st, 7), "updated_at",
                     (json_int_t)sy_stmt_col_int(st, 8));
}
static const entity E_ROLE = {
    "role",
    "o.id, o.key, o.name, o.perms, o.scope, o.builtin,"
    " (SELECT count(*) FROM staff x WHERE x.role_id = o.id AND x.active = 1),"
    " o.created_at, o.updated_at",
    "roles o", "o.id", role_row};

static json_t *token_row(sy_stmt *st) {
    return json_pack("{s:I,s:o,s:I,s:o,s:o,s:I,s:o,s:o}", "id", (json_int_t)sy_stmt_col_int(st, 0),
                     "name", col_str(st, 1), "staff_id", (json_int_t)sy_stmt_col_int(st, 2),
                     "username", col_str(st, 3), "prefix", col_str(st, 4), "created_at",
                     (json_int_t)sy_stmt_col_int(st, 5), "last_used_at", col_int_or_null(st, 6),
                     "revoked_at", col_int_or_null(st, 7));
}
static const entity E_TOKEN = {
    "api token",
    "t.id, t.name, t.staff_id, s.username, t.prefix, t.created_at, t.last_used_at, t.revoked_at",
    "api_tokens t JOIN staff s ON s.id = t.staff_id", "t.id", token_row};

static json_t *key_row(sy_stmt *st) {
    return json_pack("{s:I,s:o,s:o,s:I,s:o,s:o}", "id", (json_int_t)sy_stmt_col_int(st, 0), "name",
                     col_str(st, 1), "prefix", col_str(st, 2), "created_at",
                     (json_int_t)sy_stmt_col_int(st, 3), "last_used_at", col_int_or_null(st, 4),
                     "revoked_at", col_int_or_null(st, 5));
}
static const entity E_KEY = {"write key",
                             "k.id, k.name, k.prefix, k.created_at, k.last_used_at, k.revoked_at",
                             "write_keys k", "k.id", key_row};

static json_t *audit_row(sy_stmt *st) {
    json_t *detail = NULL;
    const char *d = sy_stmt_col_text(st, 6);
    if (d) detail = json_loads(d, 0, NULL);
    return json_pack("{s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)sy_stmt_col_int(st, 0),
                     "at", (json_int_t)sy_stmt_col_int(st, 1), "staff_id", col_int_or_null(st, 2),
                     "username", col_str(st, 3), "action", col_str(st, 4), "target", col_str(st, 5),
                     "detail", detail ? detail : json_null(), "ip", col_str(st, 7));
}
static const entity E_AUDIT = {
    "audit entry", "a.id, a.at, a.staff_id, a.username, a.action, a.target, a.detail, a.ip",
    "audit_log a", "a.id", audit_row};

/* Reads one entity by id: SY_E_NOT_FOUND ("staff 42 not found") when absent. */
static int get_one(sy_staff *s, const entity *ent, int64_t id, json_t **out, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(s->st, &db, e);
    if (rc) return rc;
    char sql[768];
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE %s = ?1", ent->cols, ent->from, ent->idcol);
    sy_stmt *st;
    rc = sy_db_prepare(db, sql, &st, e);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, id);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW) {
            *out = ent->row(st);
            rc = 0;
        } else if (rc == SY_DONE) {
            rc = sy_err_set(e, SY_E_NOT_FOUND, "%s %lld not found", ent->what, (long long)id);
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(s->st, db);
    return rc;
}

static int reply_one(sy_req *r, const entity *ent, int64_t id, int status) {
    json_t *o;
    int rc = get_one(mod(r), ent, id, &o, &r->err);
    if (rc) return rc;
    return sy_reply_json(r, status, o);
}

/* List filters: conditions joined with AND, each using plain "?" params. */
typedef struct filter {
    sy_buf where;
    int n;
    struct {
        int text;
        int64_t i;
        const char *t;
    } v[12];
} filter;

static void f_int(filter *f, const char *cond, int64_t v) {
    sy_buf_addf(&f->where, " AND %s", cond);
    f->v[f->n].text = 0;
    f->v[f->n++].i = v;
}
static void f_text(filter *f, const char *cond, const char *v) {
    sy_buf_addf(&f->where, " AND %s", cond);
    f->v[f->n].text = 1;
    f->v[f->n++].t = v;
}
static void f_bind(const filter *f, sy_stmt *st) {
    for (int i = 0; i < f->n; i++) {
        if (f->v[i].text)
            sy_stmt_bind_text(st, i + 1, f->v[i].t);
        else
            sy_stmt_bind_int(st, i + 1, f->v[i].i);
    }
}

/* Runs a keyset-paginated list: ?limit= (1..500, default 50) and ?cursor=
 * (the last id of the previous page). Replies {"items","total","next_cursor"}.
 * Takes ownership of f's buffer. */
static int reply_list(sy_req *r, const entity *ent, filter *f, int desc) {
    int64_t cursor = 0;
    size_t ulimit = 0;
    const char *cv = sy_req_query(r, "cursor");
    int rc = sy_req_limit(r, &ulimit);
    int64_t limit = (int64_t)ulimit;
    if (rc == 0 && cv && *cv && (sy_parse_i64(cv, &cursor) != 0 || cursor <= 0))
        rc = sy_err_field(&r->err, SY_E_INVALID, "cursor",
                          "cursor \"%s\" is not one this server returned", cv);
    if (rc) {
        sy_buf_release(&f->where);
        return rc;
    }
    sy_staff *s = mod(r);
    sy_db *db;
    rc = sy_store_read_begin(s->st, &db, &r->err);
    if (rc) {
        sy_buf_release(&f->where);
        return rc;
    }
    const char *where = f->where.p ? f->where.p : "";
    char *count_sql = sy_sprintf(r->arena, "SELECT count(*) FROM %s WHERE 1=1%s", ent->from, where);
    char *list_sql = sy_sprintf(
        r->arena, "SELECT %s FROM %s WHERE 1=1%s AND %s %s ? ORDER BY %s %s LIMIT ?", ent->cols,
        ent->from, where, ent->idcol, desc ? "<" : ">", ent->idcol, desc ? "DESC" : "ASC");
    int64_t total = 0, last = 0;
    json_t *items = json_array();
    int more = 0;
    sy_stmt *st;
    rc = sy_db_prepare(db, count_sql, &st, &r->err);
    if (rc == 0) {
        f_bind(f, st);
        if ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) total = sy_stmt_col_int(st, 0);
        sy_stmt_finalize(st);
    }
    if (rc >= 0 && (rc = sy_db_prepare(db, list_sql, &st, &r->err)) == 0) {
        f_bind(f, st);
        sy_stmt_bind_int(st, f->n + 1, cursor ? cursor : (desc ? INT64_MAX : 0));
        sy_stmt_bind_int(st, f->n + 2, limit + 1);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            if ((int64_t)json_array_size(items) == limit) {
                more = 1;
                break;
            }
            last = sy_stmt_col_int(st, 0);
            json_array_append_new(items, ent->row(st));
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(s->st, db);
    sy_buf_release(&f->where);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    char next[24];
    snprintf(next, sizeof next, "%lld", (long long)last);
    return sy_reply_json(r, 200,
                         json_pack("{s:o,s:I,s:o}", "items", items, "total", (json_int_t)total,
                                   "next_cursor", more ? json_string(next) : json_null()));
}

/* ---- write jobs ---------------------------------------------------------- */

/* One job description shared by every write below; each job uses the fields
 * it needs. Parsed and validated outside the writer. */
typedef struct job {
    sy_staff *s;
    const sy_actor *actor;
    int64_t id; /* target id, or the id created */
    const char *username, *name, *hash, *role_key, *code, *city, *secret;
    const char *workspace_name, *timezone, *currency;
    int has_name, has_code, has_city, has_role, has_dept, has_store, has_perms, has_scope;
    int64_t role_id, dept, store, staff_id;
    uint64_t perms;
    int scope;
    const char *ip;
    /* generic deletes and revocations: table, staff column, noun, audit action */
    const char *table, *column, *what, *action;
    char token[65], csrf[33];
} job;

static int step_done(sy_db *db, const char *sql, const int64_t *ints, int n, const char *txt,
                     sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, sql, &st, e);
    if (rc) return rc;
    for (int i = 0; i < n; i++)
        sy_stmt_bind_int(st, i + 1, ints[i]);
    if (txt) sy_stmt_bind_text(st, n + 1, txt);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

/* SELECT returning one int for one id; SY_DONE-safe: *found 0 when no row. */
static int query_one(sy_db *db, const char *sql, int64_t id, int64_t *out, int *found, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, sql, &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    rc = sy_stmt_step(st, e);
    *found = rc == SY_ROW;
    if (rc == SY_ROW) *out = sy_stmt_col_int(st, 0);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

static int must_exist(sy_db *db, const char *table, int64_t id, const char *field, const char *what,
                      sy_err *e) {
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE id = ?1", table);
    int64_t v;
    int found;
    int rc = query_one(db, sql, id, &v, &found, e);
    if (rc) return rc;
    if (!found)
        return sy_err_field(e, SY_E_INVALID, field, "%s %lld does not exist", what, (long long)id);
    return 0;
}

/* Resolves a role by key or id; fills its id, key and perms. */
static int role_resolve(sy_db *db, job *j, int64_t *role_id, uint64_t *perms, char *key, size_t n,
                        sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           j->role_key ? "SELECT id, perms, key FROM roles WHERE key = ?1"
                                       : "SELECT id, perms, key FROM roles WHERE id = ?1",
                           &st, e);
    if (rc) return rc;
    if (j->role_key)
        sy_stmt_bind_text(st, 1, j->role_key);
    else
        sy_stmt_bind_int(st, 1, j->role_id);
    rc = sy_stmt_step(st, e);
    if (rc == SY_ROW) {
        *role_id = sy_stmt_col_int(st, 0);
        *perms = (uint64_t)sy_stmt_col_int(st, 1);
        snprintf(key, n, "%s", sy_stmt_col_text(st, 2));
        rc = 0;
    } else if (rc == SY_DONE) {
        if (j->role_key)
            rc = sy_err_field(e, SY_E_INVALID, "role", "role \"%s\" does not exist", j->role_key);
        else
            rc = sy_err_field(e, SY_E_INVALID, "role_id", "role %lld does not exist",
                              (long long)j->role_id);
    }
    sy_stmt_finalize(st);
    return rc;
}

/* Nobody hands out rights they do not hold themselves: a staff manager
 * without roles.manage cannot make someone an admin. */
static int no_escalation(const sy_actor *a, uint64_t perms, const char *what, sy_err *e) {
    uint64_t missing = perms & ~a->perms;
    if (!missing) return 0;
    for (const sy_perm_name *p = sy_perm_names; p->name; p++)
        if (missing & p->bit)
            return sy_err_set(e, SY_E_FORBIDDEN, "%s would grant \"%s\", which you do not hold",
                              what, p->name);
    return sy_err_set(e, SY_E_FORBIDDEN, "%s grants permissions you do not hold", what);
}

/* Loads staff j->id (must exist) and checks the actor outranks or equals them. */
static int staff_target(sy_db *db, job *j, char *username, size_t n, int *active, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "SELECT s.username, s.active, r.perms FROM staff s JOIN roles r ON"
                           " r.id = s.role_id WHERE s.id = ?1",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->id);
    rc = sy_stmt_step(st, e);
    uint64_t perms = 0;
    if (rc == SY_ROW) {
        snprintf(username, n, "%s", sy_stmt_col_text(st, 0));
        if (active) *active = (int)sy_stmt_col_int(st, 1);
        perms = (uint64_t)sy_stmt_col_int(st, 2);
        rc = 0;
    } else if (rc == SY_DONE) {
        rc = sy_err_set(e, SY_E_NOT_FOUND, "staff %lld not found", (long long)j->id);
    }
    sy_stmt_finalize(st);
    if (rc) return rc;
    if (perms & ~j->actor->perms)
        return sy_err_set(e, SY_E_FORBIDDEN,
                          "staff \"%s\" holds permissions you do not hold; ask an admin", username);
    return 0;
}

static char *target_of(const char *kind, int64_t id, char *buf, size_t n) {
    snprintf(buf, n, "%s:%lld", kind, (long long)id);
    return buf;
}

static int audit(sy_db *db, const job *j, const char *action, const char *kind, int64_t id,
                 json_t *detail, sy_err *e) {
    char t[48];
    int rc = sy_audit_record(db, j->actor, action, kind ? target_of(kind, id, t, sizeof t) : NULL,
                             detail, e);
    json_decref(detail);
    return rc;
}

static int run(sy_req *r, sy_write_job fn, job *j) {
    j->s = mod(r);
    j->actor = sy_req_actor(r);
    return sy_store_write(j->s->st, fn, j, &r->err);
}

/* ---- auth ------------------------------------------------------------- */

static void set_cookie(sy_req *r, const char *token) {
    if (token)
        sy_reply_header(
            r, "Set-Cookie",
            sy_sprintf(r->arena, SY_SESSION_COOKIE "=%s; HttpOnly; SameSite=Lax; Path=/", token));
    else
        sy_reply_header(r, "Set-Cookie",
                        SY_SESSION_COOKIE "=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
}

/* {staff, role, perms, scope, csrf_token} for an actor. */
static int me_reply(sy_req *r, const sy_actor *a, const char *csrf) {
    json_t *staff, *role;
    int rc = get_one(mod(r), &E_STAFF, a->staff_id, &staff, &r->err);
    if (rc) return rc;
    rc = get_one(mod(r), &E_ROLE, a->role_id, &role, &r->err);
    if (rc) {
        json_decref(staff);
        return rc;
    }
    return sy_reply_json(r, 200,
                         json_pack("{s:o,s:o,s:o,s:s,s:o,s:s}", "staff", staff, "role", role,
                                   "perms", sy_perm_to_json(a->perms), "scope",
                                   sy_scope_name(a->scope), "csrf_token",
                                   csrf ? json_string(csrf) : json_null(), "via", a->via));
}

static int login_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    int64_t now = sy_now_ms();
    /* Expired sessions are dropped here, at the rate people log in. */
    int rc = step_done(db, "DELETE FROM sessions WHERE expires_at < ?1", &now, 1, NULL, e);
    if (rc == 0)
        rc = sy_staff_session_insert(db, j->staff_id, now, j->s->idle_ms, j->ip, j->token, j->csrf,
                                     e);
    if (rc == 0) rc = audit(db, j, "auth.login", "staff", j->staff_id, NULL, e);
    return rc;
}

static int audit_only_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    json_t *d = json_pack("{s:s,s:s}", "username", j->username, "reason", j->code);
    return audit(db, j, j->name, NULL, 0, d, e);
}

/* Records a failed or refused login (no actor: the attempted user name). */
static void audit_login_problem(sy_req *r, const char *action, const char *username,
                                const char *reason) {
    sy_actor who;
    memset(&who, 0, sizeof who);
    who.username = sy_sprintf(r->arena, "%.64s", username);
    who.ip = r->remote_ip;
    job j;
    memset(&j, 0, sizeof j);
    j.s = mod(r);
    j.actor = &who;
    j.name = action;
    j.username = who.username;
    j.code = reason;
    sy_err e;
    if (sy_store_write(j.s->st, audit_only_run, &j, &e) != 0)
        sy_warn("msg=\"could not audit a login\" err=\"%s\"", e.msg);
}

static const char *dummy_hash(sy_staff *s) {
    pthread_mutex_lock(&s->mu);
    if (!s->dummy_hash[0]) {
        char pw[33];
        sy_random_hex(pw, 16);
        sy_err e;
        if (sy_staff_password_hash(pw, 0, s->dummy_hash, &e) != 0) s->dummy_hash[0] = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return s->dummy_hash;
}

static int h_login(sy_req *r) {
    static const char *const allowed[] = {"username", "password", NULL};
    sy_staff *s = mod(r);
    json_t *b;
    const char *user, *pw;
    int rc = read_body(r, allowed, &b);
    if (rc || (rc = sy_json_req_str(b, "username", &user, &r->err)) ||
        (rc = sy_json_req_str(b, "password", &pw, &r->err)))
        return rc;
    char key[192];
    snprintf(key, sizeof key, "%.120s|%s", user, r->remote_ip ? r->remote_ip : "");
    for (char *p = key; *p && *p != '|'; p++)
        *p = (char)tolower((unsigned char)*p);
    int64_t wait = sy_ratelimit_check(&s->rl, key, sy_mono_ms());
    if (wait > 0) {
        __atomic_add_fetch(&s->logins_limited, 1, __ATOMIC_RELAXED);
        audit_login_problem(r, "auth.login_rate_limited", user, "rate_limited");
        long long secs = (long long)((wait + 999) / 1000);
        sy_reply_header(r, "Retry-After", sy_sprintf(r->arena, "%lld", secs));
        return sy_err_set(&r->err, SY_E_RATE_LIMIT,
                          "too many failed logins for \"%s\"; try again in %lld seconds", user,
                          secs);
    }

    /* Find the account; an unknown name still costs one hash verification. */
    int64_t id = 0;
    int active = 0;
    char hash[crypto_pwhash_STRBYTES] = "";
    sy_db *db;
    if ((rc = sy_store_read_begin(s->st, &db, &r->err))) return rc;
    sy_stmt *st;
    rc = sy_db_prepare(db, "SELECT id, password_hash, active FROM staff WHERE username = ?1", &st,
                       &r->err);
    if (rc == 0) {
        sy_stmt_bind_text(st, 1, user);
        if ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            id = sy_stmt_col_int(st, 0);
            snprintf(hash, sizeof hash, "%s", sy_stmt_col_text(st, 1));
            active = (int)sy_stmt_col_int(st, 2);
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(s->st, db);
    if (rc < 0) return rc;
    int ok = sy_staff_password_verify(id ? hash : dummy_hash(s), pw) && id;
    if (!ok || !active) {
        sy_ratelimit_fail(&s->rl, key, sy_mono_ms());
        __atomic_add_fetch(&s->logins_failed, 1, __ATOMIC_RELAXED);
        audit_login_problem(r, "auth.login_failed", user,
                            !id   ? "unknown_user"
                            : !ok ? "bad_password"
                                  : "deactivated");
        if (ok && !active)
            return sy_err_set(&r->err, SY_E_UNAUTHENTICATED, "staff account \"%s\" is deactivated",
                              user);
        return sy_err_set(&r->err, SY_E_UNAUTHENTICATED, "wrong username or password");
    }
    sy_ratelimit_reset(&s->rl, key);

    sy_actor *a = sy_alloc(r->arena, sizeof *a);
    if ((rc = sy_store_read_begin(s->st, &db, &r->err))) return rc;
    rc = sy_staff_load_actor(db, r->arena, id, a, &r->err);
    sy_store_read_end(s->st, db);
    if (rc) return rc;
    a->via = "session";
    a->ip = r->remote_ip;
    job j;
    memset(&j, 0, sizeof j);
    j.s = s;
    j.actor = a;
    j.staff_id = id;
    j.ip = r->remote_ip;
    if ((rc = sy_store_write(s->st, login_run, &j, &r->err))) return rc;
    __atomic_add_fetch(&s->logins_ok, 1, __ATOMIC_RELAXED);
    set_cookie(r, j.token);
    return me_reply(r, a, j.csrf);
}

static int logout_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    char h[65];
    sy_staff_secret_hash(j->secret, h);
    int rc = step_done(db, "DELETE FROM sessions WHERE token_hash = ?1", NULL, 0, h, e);
    if (rc == 0) rc = audit(db, j, "auth.logout", "staff", j->actor->staff_id, NULL, e);
    return rc;
}

static int h_logout(sy_req *r) {
    const sy_actor *a = sy_req_actor(r);
    const char *cookie = sy_req_cookie(r, SY_SESSION_COOKIE);
    if (a && a->staff_id && a->via && strcmp(a->via, "session") == 0 && cookie) {
        job j;
        memset(&j, 0, sizeof j);
        j.secret = cookie;
        int rc = run(r, logout_run, &j);
        if (rc) return rc;
    }
    set_cookie(r, NULL);
    return sy_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

static int h_me(sy_req *r) {
    const sy_actor *a = sy_req_actor(r);
    const char *csrf = NULL;
    const char *cookie = sy_req_cookie(r, SY_SESSION_COOKIE);
    if (strcmp(a->via, "session") == 0 && cookie) {
        char h[65];
        sy_staff_secret_hash(cookie, h);
        sy_db *db;
        int rc = sy_store_read_begin(mod(r)->st, &db, &r->err);
        if (rc) return rc;
        sy_stmt *st;
        if (sy_db_prepare(db, "SELECT csrf_token FROM sessions WHERE token_hash = ?1", &st,
                          &r->err) == 0) {
            sy_stmt_bind_text(st, 1, h);
            if (sy_stmt_step(st, &r->err) == SY_ROW)
                csrf = sy_strdup(r->arena, sy_stmt_col_text(st, 0));
            sy_stmt_finalize(st);
        }
        sy_store_read_end(mod(r)->st, db);
    }
    return me_reply(r, a, csrf);
}

static int password_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    int64_t now = sy_now_ms();
    sy_stmt *st;
    int rc = sy_db_prepare(db, "UPDATE staff SET password_hash = ?1, updated_at = ?2 WHERE id = ?3",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, j->hash);
    sy_stmt_bind_int(st, 2, now);
    sy_stmt_bind_int(st, 3, j->id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    /* A new password ends every session (but the caller's own, when they
     * changed it themselves: j->secret is their cookie). */
    if (j->secret) {
        char h[65];
        sy_staff_secret_hash(j->secret, h);
        rc = step_done(db, "DELETE FROM sessions WHERE staff_id = ?1 AND token_hash <> ?2", &j->id,
                       1, h, e);
    } else {
        rc = step_done(db, "DELETE FROM sessions WHERE staff_id = ?1", &j->id, 1, NULL, e);
    }
    if (rc == 0)
        rc = audit(db, j,
                   j->secret || j->id == j->actor->staff_id ? "auth.password_change"
                                                            : "staff.password_reset",
                   "staff", j->id, NULL, e);
    return rc;
}

static int h_password_change(sy_req *r) {
    static const char *const allowed[] = {"current_password", "new_password", NULL};
    const sy_actor *a = sy_req_actor(r);
    json_t *b;
    const char *cur, *pw;
    int rc = read_body(r, allowed, &b);
    if (rc || (rc = sy_json_req_str(b, "current_password", &cur, &r->err)) ||
        (rc = sy_json_req_str(b, "new_password", &pw, &r->err)))
        return rc;
    if ((rc = sy_staff_password_policy(pw, &r->err))) {
        sy_err_field(&r->err, SY_E_INVALID, "new_password", "%s", r->err.msg);
        return rc;
    }
    char old[crypto_pwhash_STRBYTES] = "";
    sy_db *db;
    if ((rc = sy_store_read_begin(mod(r)->st, &db, &r->err))) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "SELECT password_hash FROM staff WHERE id = ?1", &st, &r->err)) ==
        0) {
        sy_stmt_bind_int(st, 1, a->staff_id);
        if (sy_stmt_step(st, &r->err) == SY_ROW)
            snprintf(old, sizeof old, "%s", sy_stmt_col_text(st, 0));
        sy_stmt_finalize(st);
    }
    sy_store_read_end(mod(r)->st, db);
    if (rc) return rc;
    if (!sy_staff_password_verify(old, cur))
        return sy_err_field(&r->err, SY_E_INVALID, "current_password",
                            "current_password is not your password");
    char hash[crypto_pwhash_STRBYTES];
    if ((rc = sy_staff_password_hash(pw, 0, hash, &r->err))) return rc;
    job j;
    memset(&j, 0, sizeof j);
    j.id = a->staff_id;
    j.hash = hash;
    j.secret = strcmp(a->via, "session") == 0 ? sy_req_cookie(r, SY_SESSION_COOKIE) : NULL;
    if ((rc = run(r, password_run, &j))) return rc;
    return sy_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

/* ---- staff ------------------------------------------------------------- */

static int h_staff_list(sy_req *r) {
    filter f;
    memset(&f, 0, sizeof f);
    int64_t dept = 0, store = 0, role = 0;
    int has_dept, has_store, has_role, active = 0, has_active;
    int rc;
    if ((rc = query_id(r, "department_id", &dept, &has_dept)) ||
        (rc = query_id(r, "store_id", &store, &has_store)) ||
        (rc = query_id(r, "role_id", &role, &has_role)) ||
        (rc = query_bool(r, "active", &active, &has_active)))
        return rc;
    if (has_dept) f_int(&f, "s.department_id = ?", dept);
    if (has_store) f_int(&f, "s.store_id = ?", store);
    if (has_role) f_int(&f, "s.role_id = ?", role);
    if (has_active) f_int(&f, "s.active = ?", active);
    const char *q = sy_req_query(r, "q");
    if (q && *q) {
        char *like = sy_sprintf(r->arena, "%%%s%%", q);
        sy_buf_addf(&f.where, " AND (s.username LIKE ? OR s.name LIKE ?)");
        f.v[f.n].text = 1;
        f.v[f.n++].t = like;
        f.v[f.n].text = 1;
        f.v[f.n++].t = like;
    }
    return reply_list(r, &E_STAFF, &f, 0);
}

static int h_staff_get(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    return reply_one(r, &E_STAFF, id, 200);
}

/* Parses role / role_id (at most one), department_id, store_id. */
static int parse_staff_refs(sy_req *r, json_t *b, job *j) {
    int has_key, has_id, rc;
    if ((rc = sy_json_str(b, "role", &j->role_key, &has_key, &r->err)) ||
        (rc = sy_json_int(b, "role_id", &j->role_id, &has_id, &r->err)))
        return rc;
    if (has_key && has_id)
        return sy_err_field(&r->err, SY_E_INVALID, "role", "send either role or role_id, not both");
    if (!has_key) j->role_key = NULL;
    j->has_role = has_key || has_id;
    if ((rc = opt_ref(r, b, "department_id", &j->dept, &j->has_dept)) ||
        (rc = opt_ref(r, b, "store_id", &j->store, &j->has_store)))
        return rc;
    return 0;
}

static int staff_refs_check(sy_db *db, job *j, int64_t *role_id, char *role_key, sy_err *e) {
    int rc;
    if (j->has_role) {
        uint64_t perms = 0;
        if ((rc = role_resolve(db, j, role_id, &perms, role_key, 32, e))) return rc;
        char what[64];
        snprintf(what, sizeof what, "role \"%s\"", role_key);
        if ((rc = no_escalation(j->actor, perms, what, e))) return rc;
    }
    if (j->has_dept && j->dept &&
        (rc = must_exist(db, "departments", j->dept, "department_id", "department", e)))
        return rc;
    if (j->has_store && j->store &&
        (rc = must_exist(db, "stores", j->store, "store_id", "store", e)))
        return rc;
    return 0;
}

static int staff_create_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    int64_t role_id = 0;
    char role_key[32] = "";
    int rc = staff_refs_check(db, j, &role_id, role_key, e);
    if (rc) return rc;
    rc = sy_staff_insert(db, j->username, j->name, j->hash, NULL, role_id, j->dept, j->store,
                         &j->id, e);
    if (rc) return rc;
    return audit(
        db, j, "staff.create", "staff", j->id,
        json_pack("{s:s,s:s,s:s}", "username", j->username, "name", j->name, "role", role_key), e);
}

static int h_staff_create(sy_req *r) {
    static const char *const allowed[] = {"username", "name",          "password", "role",
                                          "role_id",  "department_id", "store_id", NULL};
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    const char *pw;
    int rc = read_body(r, allowed, &b);
    if (rc || (rc = sy_json_req_str(b, "username", &j.username, &r->err)) ||
        (rc = sy_json_req_str(b, "name", &j.name, &r->err)) ||
        (rc = sy_json_req_str(b, "password", &pw, &r->err)) || (rc = parse_staff_refs(r, b, &j)))
        return rc;
    if (!sy_staff_username_valid(j.username))
        return sy_err_field(&r->err, SY_E_INVALID, "username",
                            "username \"%s\" must be 2–32 letters, digits, '.', '_' or '-'",
                            j.username);
    if ((rc = check_text(&r->err, "name", j.name, 32, 0)) ||
        (rc = sy_staff_password_policy(pw, &r->err)))
        return rc;
    if (!j.has_role)
        return sy_err_field(&r->err, SY_E_INVALID, "role",
                            "field \"role\" (or \"role_id\") is required");
    char hash[crypto_pwhash_STRBYTES];
    if ((rc = sy_staff_password_hash(pw, 0, hash, &r->err))) return rc;
    j.hash = hash;
    if ((rc = run(r, staff_create_run, &j))) return rc;
    return reply_one(r, &E_STAFF, j.id, 201);
}

static int staff_patch_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    char username[64];
    int rc = staff_target(db, j, username, sizeof username, NULL, e);
    if (rc) return rc;
    int64_t role_id = 0, old_role = 0;
    int found;
    char role_key[32] = "";
    if ((rc = staff_refs_check(db, j, &role_id, role_key, e))) return rc;
    if ((rc =
             query_one(db, "SELECT role_id FROM staff WHERE id = ?1", j->id, &old_role, &found, e)))
        return rc;
    if (j->has_role && role_id != old_role && j->id == j->actor->staff_id)
        return sy_err_field(e, SY_E_FORBIDDEN, "role", "you cannot change your own role");
    sy_stmt *st;
    rc = sy_db_prepare(db,
                       "UPDATE staff SET"
                       " name = CASE WHEN ?1 THEN ?2 ELSE name END,"
                       " role_id = CASE WHEN ?3 THEN ?4 ELSE role_id END,"
                       " department_id = CASE WHEN ?5 THEN ?6 ELSE department_id END,"
                       " store_id = CASE WHEN ?7 THEN ?8 ELSE store_id END,"
                       " updated_at = ?9 WHERE id = ?10",
                       &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->has_name);
    sy_stmt_bind_text(st, 2, j->name);
    sy_stmt_bind_int(st, 3, j->has_role);
    sy_stmt_bind_int(st, 4, role_id);
    sy_stmt_bind_int(st, 5, j->has_dept);
    if (j->dept)
        sy_stmt_bind_int(st, 6, j->dept);
    else
        sy_stmt_bind_null(st, 6);
    sy_stmt_bind_int(st, 7, j->has_store);
    if (j->store)
        sy_stmt_bind_int(st, 8, j->store);
    else
        sy_stmt_bind_null(st, 8);
    sy_stmt_bind_int(st, 9, sy_now_ms());
    sy_stmt_bind_int(st, 10, j->id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    json_t *d = json_object();
    if (j->has_name) json_object_set_new(d, "name", json_string(j->name));
    if (j->has_dept)
        json_object_set_new(d, "department_id", j->dept ? json_integer(j->dept) : json_null());
    if (j->has_store)
        json_object_set_new(d, "store_id", j->store ? json_integer(j->store) : json_null());
    if (j->has_role && role_id != old_role) {
        json_object_set_new(d, "role", json_string(role_key));
        rc = audit(db, j, "staff.role_change", "staff", j->id,
                   json_pack("{s:s,s:I,s:I,s:s}", "username", username, "from_role_id",
                             (json_int_t)old_role, "to_role_id", (json_int_t)role_id, "to_role",
                             role_key),
                   e);
        if (rc) {
            json_decref(d);
            return rc;
        }
    }
    return audit(db, j, "staff.update", "staff", j->id, d, e);
}

static int h_staff_patch(sy_req *r) {
    static const char *const allowed[] = {"name",          "role",     "role_id",
                                          "department_id", "store_id", NULL};
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    int rc = sy_req_param_id(r, "id", &j.id);
    if (rc || (rc = read_body(r, allowed, &b)) ||
        (rc = opt_text(r, b, "name", 32, 0, &j.name, &j.has_name)) ||
        (rc = parse_staff_refs(r, b, &j)))
        return rc;
    if ((rc = run(r, staff_patch_run, &j))) return rc;
    return reply_one(r, &E_STAFF, j.id, 200);
}

static int staff_active_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg; /* j->scope doubles as the new active flag */
    char username[64];
    int active;
    int rc = staff_target(db, j, username, sizeof username, &active, e);
    if (rc) return rc;
    int64_t now = sy_now_ms();
    if (!j->scope) {
        if (j->id == j->actor->staff_id)
            return sy_err_set(e, SY_E_CONFLICT, "you cannot deactivate yourself");
        int64_t v[2] = {now, j->id};
        if ((rc = step_done(db,
                            "UPDATE staff SET active = 0, deactivated_at = ?1, updated_at = ?1"
                            " WHERE id = ?2",
                            v, 2, NULL, e)))
            return rc;
        /* Deactivation ends the person's sessions and revokes their tokens
         * at once: nothing they held keeps working. */
        if ((rc = step_done(db, "DELETE FROM sessions WHERE staff_id = ?1", &j->id, 1, NULL, e)))
            return rc;
        int sessions = sy_db_changes(db);
        if ((rc = step_done(db,
                            "UPDATE api_tokens SET revoked_at = ?1 WHERE staff_id = ?2 AND"
                            " revoked_at IS NULL",
                            v, 2, NULL, e)))
            return rc;
        int tokens = sy_db_changes(db);
        return audit(db, j, "staff.deactivate", "staff", j->id,
                     json_pack("{s:s,s:i,s:i}", "username", username, "sessions_ended", sessions,
                               "tokens_revoked", tokens),
                     e);
    }
    int64_t v[2] = {now, j->id};
    if ((rc = step_done(db,
                        "UPDATE staff SET active = 1, deactivated_at = NULL, updated_at = ?1"
                        " WHERE id = ?2",
                        v, 2, NULL, e)))
        return rc;
    return audit(db, j, "staff.activate", "staff", j->id, json_pack("{s:s}", "username", username),
                 e);
}

static int staff_active(sy_req *r, int active) {
    job j;
    memset(&j, 0, sizeof j);
    int rc = sy_req_param_id(r, "id", &j.id);
    if (rc) return rc;
    if (r->body_len > 0) {
        static const char *const allowed[] = {NULL};
        json_t *b;
        if ((rc = read_body(r, allowed, &b))) return rc;
    }
    j.scope = active;
    if ((rc = run(r, staff_active_run, &j))) return rc;
    return reply_one(r, &E_STAFF, j.id, 200);
}
static int h_staff_deactivate(sy_req *r) {
    return staff_active(r, 0);
}
static int h_staff_activate(sy_req *r) {
    return staff_active(r, 1);
}

static int staff_reset_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    char username[64];
    int rc = staff_target(db, j, username, sizeof username, NULL, e);
    if (rc) return rc;
    return password_run(db, arg, e);
}

static int h_staff_password(sy_req *r) {
    static const char *const allowed[] = {"password", NULL};
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    const char *pw;
    int rc = sy_req_param_id(r, "id", &j.id);
    if (rc || (rc = read_body(r, allowed, &b)) ||
        (rc = sy_json_req_str(b, "password", &pw, &r->err)) ||
        (rc = sy_staff_password_policy(pw, &r->err)))
        return rc;
    char hash[crypto_pwhash_STRBYTES];
    if ((rc = sy_staff_password_hash(pw, 0, hash, &r->err))) return rc;
    j.hash = hash;
    if ((rc = run(r, staff_reset_run, &j))) return rc;
    return reply_one(r, &E_STAFF, j.id, 200);
}

/* ---- departments and stores ------------------------------------------- */

static int h_dept_list(sy_req *r) {
    filter f;
    memset(&f, 0, sizeof f);
    return reply_list(r, &E_DEPT, &f, 0);
}

static int h_dept_get(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    return rc ? rc : reply_one(r, &E_DEPT, id, 200);
}

static int dept_write_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    int rc;
    int64_t now = sy_now_ms();
    const char *action = j->id ? "departments.update" : "departments.create";
    if (j->id == 0) {
        rc = step_done(db, "INSERT INTO departments (created_at, name) VALUES (?1, ?2)", &now, 1,
                       j->name, e);
        if (rc == 0) j->id = sy_db_last_id(db);
    } else {
        int64_t v;
        int found;
        if ((rc = query_one(db, "SELECT id FROM departments WHERE id = ?1", j->id, &v, &found, e)))
            return rc;
        if (!found)
            return sy_err_set(e, SY_E_NOT_FOUND, "department %lld not found", (long long)j->id);
        rc = step_done(db, "UPDATE departments SET name = ?2 WHERE id = ?1", &j->id, 1, j->name, e);
    }
    if (rc == SY_E_CONFLICT)
        return sy_err_field(e, SY_E_CONFLICT, "name", "department \"%s\" already exists", j->name);
    if (rc) return rc;
    return audit(db, j, action, "department", j->id, json_pack("{s:s}", "name", j->name), e);
}

static int h_dept_create(sy_req *r) {
    static const char *const allowed[] = {"name", NULL};
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    int rc = read_body(r, allowed, &b);
    if (rc || (rc = sy_json_req_str(b, "name", &j.name, &r->err)) ||
        (rc = check_text(&r->err, "name", j.name, 64, 0)) || (rc = run(r, dept_write_run, &j)))
        return rc;
    return reply_one(r, &E_DEPT, j.id, 201);
}

static int h_dept_patch(sy_req *r) {
    static const char *const allowed[] = {"name", NULL};
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    int rc = sy_req_param_id(r, "id", &j.id);
    if (rc || (rc = read_body(r, allowed, &b)) ||
        (rc = opt_text(r, b, "name", 64, 0, &j.name, &j.has_name)))
        return rc;
    if (j.has_name && (rc = run(r, dept_write_run, &j))) return rc;
    return reply_one(r, &E_DEPT, j.id, 200);
}

/* Deletes from table when no staff (of any state) refer to it; anything else
 * referring to it (contacts, later) makes the delete fail with 409. */
static int ref_delete_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    int64_t n = 0;
    int found;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE id = ?1", j->table);
    int rc = query_one(db, sql, j->id, &n, &found, e);
    if (rc) return rc;
    if (!found)
        return sy_err_set(e, SY_E_NOT_FOUND, "%s %lld not found", j->what, (long long)j->id);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM staff WHERE %s = ?1", j->column);
    if ((rc = query_one(db, sql, j->id, &n, &found, e))) return rc;
    if (n > 0)
        return sy_err_set(e, SY_E_CONFLICT, "%s %lld still has %lld staff; move them first",
                          j->what, (long long)j->id, (long long)n);
    for (int i = 0; i < j->s->n_ref_checks; i++) {
        const char *noun = "records";
        if ((rc =
                 j->s->ref_checks[i].fn(j->s->ref_checks[i].ctx, db, j->what, j->id, &n, &noun, e)))
            return rc;
        if (n > 0)
            return sy_err_set(e, SY_E_CONFLICT, "%s %lld still has %lld %s; move them first",
                              j->what, (long long)j->id, (long long)n, noun);
    }
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?1", j->table);
    rc = step_done(db, sql, &j->id, 1, NULL, e);
    if (rc == SY_E_CONFLICT)
        return sy_err_set(e, SY_E_CONFLICT, "%s %lld is still in use (contacts refer to it)",
                          j->what, (long long)j->id);
    if (rc) return rc;
    return audit(db, j, j->action, j->what, j->id, NULL, e);
}

static int ref_delete(sy_req *r, const char *table, const char *col, const char *what,
                      const char *action) {
    job j;
    memset(&j, 0, sizeof j);
    int rc = sy_req_param_id(r, "id", &j.id);
    if (rc) return rc;
    j.table = table;
    j.column = col;
    j.what = what;
    j.action = action;
    if ((rc = run(r, ref_delete_run, &j))) return rc;
    return sy_reply_json(r, 200, json_pack("{s:b,s:I}", "deleted", 1, "id", (json_int_t)j.id));
}

static int h_dept_delete(sy_req *r) {
    return ref_delete(r, "departments", "department_id", "department", "departments.delete");
}

static int h_store_list(sy_req *r) {
    filter f;
    memset(&f, 0, sizeof f);
    const char *city = sy_req_query(r, "city");
    if (city && *city) f_text(&f, "t.city = ?", city);
    return reply_list(r, &E_STORE, &f, 0);
}

static int h_store_get(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    return rc ? rc : reply_one(r, &E_STORE, id, 200);
}

static int store_code_check(sy_err *e, const char *code) {
    size_t n = strlen(code);
    int ok = n >= 1 && n <= 32;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)code[i]) || code[i] == '-' || code[i] == '_';
    if (!ok)
        return sy_err_field(e, SY_E_INVALID, "code",
                            "store code \"%s\" must be 1–32 letters, digits, '-' or '_'", code);
    return 0;
}

static int store_write_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    int rc;
    const char *action = j->id ? "stores.update" : "stores.create";
    if (j->id == 0) {
        sy_stmt *st;
        if ((rc = sy_db_prepare(
                 db, "INSERT INTO stores (name, code, city, created_at) VALUES (?1, ?2, ?3, ?4)",
                 &st, e)))
            return rc;
        sy_stmt_bind_text(st, 1, j->name);
        sy_stmt_bind_text(st, 2, j->code);
        sy_stmt_bind_text(st, 3, j->city ? j->city : "");
        sy_stmt_bind_int(st, 4, sy_now_ms());
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc >= 0) j->id = sy_db_last_id(db);
    } else {
        int64_t v;
        int found;
        if ((rc = query_one(db, "SELECT id FROM stores WHERE id = ?1", j->id, &v, &found, e)))
            return rc;
        if (!found) return sy_err_set(e, SY_E_NOT_FOUND, "store %lld not found", (long long)j->id);
        sy_stmt *st;
        if ((rc = sy_db_prepare(
                 db,
                 "UPDATE stores SET name = coalesce(?1, name), code = coalesce(?2, code),"
                 " city = coalesce(?3, city) WHERE id = ?4",
                 &st, e)))
            return rc;
        sy_stmt_bind_text(st, 1, j->has_name ? j->name : NULL);
        sy_stmt_bind_text(st, 2, j->has_code ? j->code : NULL);
        sy_stmt_bind_text(st, 3, j->has_city ? j->city : NULL);
        sy_stmt_bind_int(st, 4, j->id);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
    }
    if (rc == SY_E_CONFLICT)
        return sy_err_field(e, SY_E_CONFLICT, "name", "a store named \"%s\" or coded \"%s\" exists",
                            j->name ? j->name : "", j->code ? j->code : "");
    if (rc < 0) return rc;
    json_t *d = json_object();
    if (j->name) json_object_set_new(d, "name", json_string(j->name));
    if (j->code) json_object_set_new(d, "code", json_string(j->code));
    if (j->city) json_object_set_new(d, "city", json_string(j->city));
    return audit(db, j, action, "store", j->id, d, e);
}

static int parse_store(sy_req *r, json_t *b, job *j, int create) {
    int rc;
    if ((rc = opt_text(r, b, "name", 64, 0, &j->name, &j->has_name)) ||
        (rc = opt_text(r, b, "code", 32, 0, &j->code, &j->has_code)) ||
        (rc = opt_text(r, b, "city", 32, 1, &j->city, &j->has_city)))
        return rc;
    if (create && !j->has_name)
        return sy_err_field(&r->err, SY_E_INVALID, "name", "field \"name\" is required");
    if (create && !j->has_code)
        return sy_err_field(&r->err, SY_E_INVALID, "code", "field \"code\" is required");
    if (j->has_code && (rc = store_code_check(&r->err, j->code))) return rc;
    return 0;
}

static int h_store_create(sy_req *r) {
    static const char *const allowed[] = {"name", "code", "city", NULL};
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    int rc = read_body(r, allowed, &b);
    if (rc || (rc = parse_store(r, b, &j, 1)) || (rc = run(r, store_write_run, &j))) return rc;
    return reply_one(r, &E_STORE, j.id, 201);
}

static int h_store_patch(sy_req *r) {
    static const char *const allowed[] = {"name", "code", "city", NULL};
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    int rc = sy_req_param_id(r, "id", &j.id);
    if (rc || (rc = read_body(r, allowed, &b)) || (rc = parse_store(r, b, &j, 0)) ||
        (rc = run(r, store_write_run, &j)))
        return rc;
    return reply_one(r, &E_STORE, j.id, 200);
}

static int h_store_delete(sy_req *r) {
    return ref_delete(r, "stores", "store_id", "store", "stores.delete");
}

/* ---- roles and permissions --------------------------------------------- */

static const char *const perm_descriptions[] = {
    "查看客户 — list and view contacts, timelines",
    "编辑客户 — create and edit contacts, follow-ups, claim and return",
    "合并客户 — merge and unmerge contacts",
    "导入客户 — import CSV files",
    "导出客户 — export contacts to CSV",
    "查看完整手机号 — see full phone numbers",
    "公海管理 — recycling rules, assign from the pool, handover",
    "员工管理 — staff, departments, stores",
    "角色管理 — roles and their permissions",
    "系统设置 — workspace settings, API tokens of others, write keys",
    "审计日志 — read the audit log",
};

static int h_permissions(sy_req *r) {
    json_t *items = json_array();
    size_t i = 0;
    for (const sy_perm_name *p = sy_perm_names; p->name; p++, i++)
        json_array_append_new(
            items,
            json_pack("{s:s,s:I,s:s}", "name", p->name, "bit", (json_int_t)p->bit, "description",
                      i < SY_ARRAY_LEN(perm_descriptions) ? perm_descriptions[i] : ""));
    return sy_reply_json(
        r, 200, json_pack("{s:o,s:I,s:n}", "items", items, "total", (json_int_t)i, "next_cursor"));
}

static int h_role_list(sy_req *r) {
    filter f;
    memset(&f, 0, sizeof f);
    return reply_list(r, &E_ROLE, &f, 0);
}

static int h_role_get(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    return rc ? rc : reply_one(r, &E_ROLE, id, 200);
}

static int parse_role(sy_req *r, json_t *b, job *j, int create) {
    int rc;
    const char *scope;
    int has_scope;
    if ((rc = opt_text(r, b, "name", 32, 0, &j->name, &j->has_name)) ||
        (rc = sy_json_str(b, "scope", &scope, &has_scope, &r->err)))
        return rc;
    if (has_scope && sy_scope_parse(scope, &j->scope) != 0)
        return sy_err_field(&r->err, SY_E_INVALID, "scope",
                            "scope \"%s\" must be own, department, store or all", scope);
    j->has_scope = has_scope;
    json_t *perms = json_object_get(b, "perms");
    if (perms) {
        if ((rc = sy_perm_from_json(perms, &j->perms, &r->err))) return rc;
        j->has_perms = 1;
    }
    if (create) {
        int has_key;
        if ((rc = sy_json_str(b, "key", &j->role_key, &has_key, &r->err))) return rc;
        if (!has_key) {
            j->role_key = NULL; /* the job names it custom_<id> */
        } else {
            size_t n = strlen(j->role_key);
            int ok = n >= 2 && n <= 32 && islower((unsigned char)j->role_key[0]);
            for (size_t i = 0; ok && i < n; i++)
                ok = islower((unsigned char)j->role_key[i]) ||
                     isdigit((unsigned char)j->role_key[i]) || j->role_key[i] == '_';
            if (!ok)
                return sy_err_field(
                    &r->err, SY_E_INVALID, "key",
                    "role key \"%s\" must be 2–32 of a-z, 0-9 and '_', starting with a letter",
                    j->role_key);
        }
        if (!j->has_name)
            return sy_err_field(&r->err, SY_E_INVALID, "name", "field \"name\" is required");
        if (!j->has_perms)
            return sy_err_field(&r->err, SY_E_INVALID, "perms", "field \"perms\" is required");
        if (!j->has_scope)
            return sy_err_field(&r->err, SY_E_INVALID, "scope", "field \"scope\" is required");
    }
    return 0;
}

static json_t *role_json(uint64_t perms, int scope, const char *name) {
    return json_pack("{s:o,s:s,s:s}", "perms", sy_perm_to_json(perms), "scope",
                     sy_scope_name(scope), "name", name);
}

static int role_write_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    int rc;
    int64_t now = sy_now_ms();
    if (j->has_perms && (rc = no_escalation(j->actor, j->perms, "this role", e))) return rc;
    if (j->id == 0) {
        sy_stmt *st;
        if ((rc = sy_db_prepare(db,
                                "INSERT INTO roles (key, name, perms, scope, builtin, created_at,"
                                " updated_at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5)",
                                &st, e)))
            return rc;
        char tmp[40];
        if (!j->role_key) {
            sy_random_hex(tmp, 8);
            j->role_key = tmp;
        }
        sy_stmt_bind_text(st, 1, j->role_key);
        sy_stmt_bind_text(st, 2, j->name);
        sy_stmt_bind_int(st, 3, (int64_t)j->perms);
        sy_stmt_bind_text(st, 4, sy_scope_name(j->scope));
        sy_stmt_bind_int(st, 5, now);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc == SY_E_CONFLICT)
            return sy_err_field(e, SY_E_CONFLICT, "key", "role \"%s\" already exists", j->role_key);
        if (rc < 0) return rc;
        j->id = sy_db_last_id(db);
        if (j->role_key == tmp) {
            if ((rc = step_done(db, "UPDATE roles SET key = 'custom_' || id WHERE id = ?1", &j->id,
                                1, NULL, e)))
                return rc;
            snprintf(tmp, sizeof tmp, "custom_%lld", (long long)j->id);
        }
        return audit(db, j, "roles.create", "role", j->id,
                     json_pack("{s:s,s:o}", "key", j->role_key, "after",
                               role_json(j->perms, j->scope, j->name)),
                     e);
    }
    /* update: read the current state for the audit's before/after */
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "SELECT key, name, perms, scope, builtin FROM roles WHERE id = ?1",
                            &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, j->id);
    rc = sy_stmt_step(st, e);
    char key[40] = "", name[128] = "";
    uint64_t perms = 0;
    int scope = 0, builtin = 0;
    if (rc == SY_ROW) {
        snprintf(key, sizeof key, "%s", sy_stmt_col_text(st, 0));
        snprintf(name, sizeof name, "%s", sy_stmt_col_text(st, 1));
        perms = (uint64_t)sy_stmt_col_int(st, 2);
        sy_scope_parse(sy_stmt_col_text(st, 3), &scope);
        builtin = (int)sy_stmt_col_int(st, 4);
    }
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (rc == SY_DONE)
        return sy_err_set(e, SY_E_NOT_FOUND, "role %lld not found", (long long)j->id);
    if ((rc = no_escalation(j->actor, perms, "changing this role", e))) return rc;
    if (builtin && strcmp(key, "admin") == 0 &&
        ((j->has_perms && j->perms != SY_PERM_ALL) || (j->has_scope && j->scope != SY_SCOPE_ALL)))
        return sy_err_field(e, SY_E_CONFLICT, j->has_perms ? "perms" : "scope",
                            "the built-in admin role always holds every permission and scope all");
    uint64_t nperms = j->has_perms ? j->perms : perms;
    int nscope = j->has_scope ? j->scope : scope;
    const char *nname = j->has_name ? j->name : name;
    if ((rc = sy_db_prepare(db,
                            "UPDATE roles SET name = ?1, perms = ?2, scope = ?3, updated_at = ?4"
                            " WHERE id = ?5",
                            &st, e)))
        return rc;
    sy_stmt_bind_text(st, 1, nname);
    sy_stmt_bind_int(st, 2, (int64_t)nperms);
    sy_stmt_bind_text(st, 3, sy_scope_name(nscope));
    sy_stmt_bind_int(st, 4, now);
    sy_stmt_bind_int(st, 5, j->id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    return audit(db, j, "roles.update", "role", j->id,
                 json_pack("{s:s,s:o,s:o}", "key", key, "before", role_json(perms, scope, name),
                           "after", role_json(nperms, nscope, nname)),
                 e);
}

static int h_role_create(sy_req *r) {
    static const char *const allowed[] = {"key", "name", "perms", "scope", NULL};
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    int rc = read_body(r, allowed, &b);
    if (rc || (rc = parse_role(r, b, &j, 1)) || (rc = run(r, role_write_run, &j))) return rc;
    return reply_one(r, &E_ROLE, j.id, 201);
}

static int h_role_patch(sy_req *r) {
    static const char *const allowed[] = {"name", "perms", "scope", NULL};
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    int rc = sy_req_param_id(r, "id", &j.id);
    if (rc || (rc = read_body(r, allowed, &b)) || (rc = parse_role(r, b, &j, 0)) ||
        (rc = run(r, role_write_run, &j)))
        return rc;
    return reply_one(r, &E_ROLE, j.id, 200);
}

static int role_delete_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(db, "SELECT key, builtin, perms FROM roles WHERE id = ?1", &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->id);
    rc = sy_stmt_step(st, e);
    char key[40] = "";
    int builtin = 0;
    uint64_t perms = 0;
    if (rc == SY_ROW) {
        snprintf(key, sizeof key, "%s", sy_stmt_col_text(st, 0));
        builtin = (int)sy_stmt_col_int(st, 1);
        perms = (uint64_t)sy_stmt_col_int(st, 2);
    }
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (rc == SY_DONE)
        return sy_err_set(e, SY_E_NOT_FOUND, "role %lld not found", (long long)j->id);
    if (builtin) return sy_err_set(e, SY_E_CONFLICT, "built-in role \"%s\" cannot be deleted", key);
    if ((rc = no_escalation(j->actor, perms, "deleting this role", e))) return rc;
    int64_t n = 0;
    int found;
    if ((rc = query_one(db, "SELECT count(*) FROM staff WHERE role_id = ?1", j->id, &n, &found, e)))
        return rc;
    if (n > 0)
        return sy_err_set(e, SY_E_CONFLICT,
                          "role \"%s\" is held by %lld staff; reassign them first", key,
                          (long long)n);
    if ((rc = step_done(db, "DELETE FROM roles WHERE id = ?1", &j->id, 1, NULL, e))) return rc;
    return audit(db, j, "roles.delete", "role", j->id,
                 json_pack("{s:s,s:o}", "key", key, "perms", sy_perm_to_json(perms)), e);
}

static int h_role_delete(sy_req *r) {
    job j;
    memset(&j, 0, sizeof j);
    int rc = sy_req_param_id(r, "id", &j.id);
    if (rc || (rc = run(r, role_delete_run, &j))) return rc;
    return sy_reply_json(r, 200, json_pack("{s:b,s:I}", "deleted", 1, "id", (json_int_t)j.id));
}

/* ---- API tokens and write keys ---------------------------------------- */

static int h_token_list(sy_req *r) {
    const sy_actor *a = sy_req_actor(r);
    filter f;
    memset(&f, 0, sizeof f);
    int64_t sid = 0;
    int has_sid;
    int rc = query_id(r, "staff_id", &sid, &has_sid);
    if (rc) return rc;
    /* Everyone sees their own tokens; settings managers see all. */
    if (!(a->perms & SY_PERM_SETTINGS_MANAGE))
        f_int(&f, "t.staff_id = ?", a->staff_id);
    else if (has_sid)
        f_int(&f, "t.staff_id = ?", sid);
    return reply_list(r, &E_TOKEN, &f, 0);
}

static int token_create_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    int64_t active = 0;
    int found;
    int rc =
        query_one(db, "SELECT active FROM staff WHERE id = ?1", j->staff_id, &active, &found, e);
    if (rc) return rc;
    if (!found || !active)
        return sy_err_field(e, SY_E_INVALID, "staff_id",
                            "staff %lld does not exist or is deactivated", (long long)j->staff_id);
    if ((rc = sy_staff_token_insert(db, j->staff_id, j->name, j->secret, &j->id, e))) return rc;
    return audit(db, j, "api_tokens.create", "api_token", j->id,
                 json_pack("{s:s,s:I}", "name", j->name, "staff_id", (json_int_t)j->staff_id), e);
}

static int h_token_create(sy_req *r) {
    static const char *const allowed[] = {"name", "staff_id", NULL};
    const sy_actor *a = sy_req_actor(r);
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    int has_sid;
    int rc = read_body(r, allowed, &b);
    if (rc || (rc = sy_json_req_str(b, "name", &j.name, &r->err)) ||
        (rc = check_text(&r->err, "name", j.name, 64, 0)) ||
        (rc = sy_json_int(b, "staff_id", &j.staff_id, &has_sid, &r->err)))
        return rc;
    if (!has_sid) j.staff_id = a->staff_id;
    if (j.staff_id != a->staff_id && !(a->perms & SY_PERM_SETTINGS_MANAGE))
        return sy_err_field(&r->err, SY_E_FORBIDDEN, "staff_id",
                            "creating tokens for someone else needs settings.manage");
    char token[96];
    sy_staff_new_token(token, sizeof token);
    j.secret = token;
    if ((rc = run(r, token_create_run, &j))) return rc;
    json_t *o;
    if ((rc = get_one(mod(r), &E_TOKEN, j.id, &o, &r->err))) return rc;
    json_object_set_new(o, "token", json_string(token));
    return sy_reply_json(r, 201, o);
}

static int revoke_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    char sql[160];
    int64_t owner = 0;
    int found;
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id = ?1",
             strcmp(j->table, "api_tokens") == 0 ? "staff_id" : "0", j->table);
    int rc = query_one(db, sql, j->id, &owner, &found, e);
    if (rc) return rc;
    if (!found)
        return sy_err_set(e, SY_E_NOT_FOUND, "%s %lld not found", j->what, (long long)j->id);
    if (owner && owner != j->actor->staff_id && !(j->actor->perms & SY_PERM_SETTINGS_MANAGE))
        return sy_err_set(e, SY_E_FORBIDDEN, "revoking someone else's token needs settings.manage");
    int64_t v[2] = {sy_now_ms(), j->id};
    snprintf(sql, sizeof sql, "UPDATE %s SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
             j->table);
    if ((rc = step_done(db, sql, v, 2, NULL, e))) return rc;
    if (sy_db_changes(db) == 0) return 0; /* already revoked: nothing to audit */
    return audit(db, j, j->action, strcmp(j->table, "api_tokens") == 0 ? "api_token" : "write_key",
                 j->id, NULL, e);
}

static int h_token_delete(sy_req *r) {
    job j;
    memset(&j, 0, sizeof j);
    int rc = sy_req_param_id(r, "id", &j.id);
    j.table = "api_tokens";
    j.what = "api token";
    j.action = "api_tokens.revoke";
    if (rc || (rc = run(r, revoke_run, &j))) return rc;
    return reply_one(r, &E_TOKEN, j.id, 200);
}

static int h_key_list(sy_req *r) {
    filter f;
    memset(&f, 0, sizeof f);
    return reply_list(r, &E_KEY, &f, 0);
}

static int key_create_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    int rc = sy_staff_write_key_insert(db, j->name, j->secret, &j->id, e);
    if (rc) return rc;
    return audit(db, j, "write_keys.create", "write_key", j->id,
                 json_pack("{s:s}", "name", j->name), e);
}

static int h_key_create(sy_req *r) {
    static const char *const allowed[] = {"name", NULL};
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    int rc = read_body(r, allowed, &b);
    if (rc || (rc = sy_json_req_str(b, "name", &j.name, &r->err)) ||
        (rc = check_text(&r->err, "name", j.name, 64, 0)))
        return rc;
    char key[96];
    sy_staff_new_write_key(key, sizeof key);
    j.secret = key;
    if ((rc = run(r, key_create_run, &j))) return rc;
    json_t *o;
    if ((rc = get_one(mod(r), &E_KEY, j.id, &o, &r->err))) return rc;
    json_object_set_new(o, "key", json_string(key));
    return sy_reply_json(r, 201, o);
}

static int h_key_delete(sy_req *r) {
    job j;
    memset(&j, 0, sizeof j);
    int rc = sy_req_param_id(r, "id", &j.id);
    j.table = "write_keys";
    j.what = "write key";
    j.action = "write_keys.revoke";
    if (rc || (rc = run(r, revoke_run, &j))) return rc;
    return reply_one(r, &E_KEY, j.id, 200);
}

/* ---- settings ---------------------------------------------------------- */

static int settings_reply(sy_req *r) {
    sy_db *db;
    int rc = sy_store_read_begin(mod(r)->st, &db, &r->err);
    if (rc) return rc;
    sy_stmt *st;
    json_t *o = NULL;
    rc = sy_db_prepare(
        db, "SELECT workspace_name, timezone, currency, updated_at FROM settings WHERE id = 1", &st,
        &r->err);
    if (rc == 0) {
        if ((rc = sy_stmt_step(st, &r->err)) == SY_ROW)
            o = json_pack("{s:o,s:o,s:o,s:I}", "workspace_name", col_str(st, 0), "timezone",
                          col_str(st, 1), "currency", col_str(st, 2), "updated_at",
                          (json_int_t)sy_stmt_col_int(st, 3));
        sy_stmt_finalize(st);
    }
    sy_store_read_end(mod(r)->st, db);
    if (rc < 0) return rc;
    if (!o) return sy_err_set(&r->err, SY_E_INTERNAL, "settings row is missing");
    return sy_reply_json(r, 200, o);
}

static int h_settings_get(sy_req *r) {
    return settings_reply(r);
}

static int settings_run(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "UPDATE settings SET workspace_name = coalesce(?1, workspace_name),"
                           " timezone = coalesce(?2, timezone), currency = coalesce(?3, currency),"
                           " updated_at = ?4 WHERE id = 1",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, j->workspace_name);
    sy_stmt_bind_text(st, 2, j->timezone);
    sy_stmt_bind_text(st, 3, j->currency);
    sy_stmt_bind_int(st, 4, sy_now_ms());
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    json_t *d = json_object();
    if (j->workspace_name) json_object_set_new(d, "workspace_name", json_string(j->workspace_name));
    if (j->timezone) json_object_set_new(d, "timezone", json_string(j->timezone));
    if (j->currency) json_object_set_new(d, "currency", json_string(j->currency));
    return audit(db, j, "settings.update", NULL, 0, d, e);
}

static int h_settings_patch(sy_req *r) {
    static const char *const allowed[] = {"workspace_name", "timezone", "currency", NULL};
    json_t *b;
    job j;
    memset(&j, 0, sizeof j);
    int has_name, has_tz, has_cur;
    int rc = read_body(r, allowed, &b);
    if (rc || (rc = opt_text(r, b, "workspace_name", 64, 0, &j.workspace_name, &has_name)) ||
        (rc = sy_json_str(b, "timezone", &j.timezone, &has_tz, &r->err)) ||
        (rc = sy_json_str(b, "currency", &j.currency, &has_cur, &r->err)))
        return rc;
    if (!has_name) j.workspace_name = NULL;
    if (!has_tz) j.timezone = NULL;
    if (!has_cur) j.currency = NULL;
    if (j.timezone && !sy_tz_valid(j.timezone))
        return sy_err_field(&r->err, SY_E_INVALID, "timezone",
                            "timezone \"%s\" is not a known IANA zone such as Asia/Shanghai",
                            j.timezone);
    if (j.currency) {
        int ok = strlen(j.currency) == 3;
        for (int i = 0; ok && i < 3; i++)
            ok = isupper((unsigned char)j.currency[i]);
        if (!ok)
            return sy_err_field(&r->err, SY_E_INVALID, "currency",
                                "currency \"%s\" must be an ISO 4217 code such as CNY", j.currency);
    }
    if ((has_name || has_tz || has_cur) && (rc = run(r, settings_run, &j))) return rc;
    sy_staff_reload_settings(mod(r));
    return settings_reply(r);
}

/* ---- audit ------------------------------------------------------------- */

static int h_audit_list(sy_req *r) {
    filter f;
    memset(&f, 0, sizeof f);
    int64_t sid = 0, from = 0, to = 0;
    int has_sid, has_from, has_to;
    int rc;
    if ((rc = query_id(r, "staff_id", &sid, &has_sid)) ||
        (rc = query_time(r, "from", &from, &has_from)) || (rc = query_time(r, "to", &to, &has_to)))
        return rc;
    const char *action = sy_req_query(r, "action");
    const char *target = sy_req_query(r, "target");
    if (action && *action) {
        size_t n = strlen(action);
        if (n > 1 && action[n - 1] == '*')
            /* "auth.*": every action with that prefix (GLOB keeps '_' literal) */
            f_text(&f, "a.action GLOB ?", sy_sprintf(r->arena, "%.*s*", (int)(n - 1), action));
        else
            f_text(&f, "a.action = ?", action);
    }
    if (target && *target) f_text(&f, "a.target = ?", target);
    if (has_sid) f_int(&f, "a.staff_id = ?", sid);
    if (has_from) f_int(&f, "a.at >= ?", from);
    if (has_to) f_int(&f, "a.at < ?", to);
    return reply_list(r, &E_AUDIT, &f, 1);
}

/* ---- route table ------------------------------------------------------- */

#define STAFF SY_AUTH_STAFF
static sy_route routes[] = {
    {"POST", V1 "/auth/login", h_login, NULL, SY_AUTH_NONE, 0, 4096,
     "Log in with username and password", 0},
    {"POST", V1 "/auth/logout", h_logout, NULL, SY_AUTH_NONE, 0, 1024, "Log out (ends the session)",
     0},
    {"GET", V1 "/auth/me", h_me, NULL, STAFF, 0, 0, "The caller: staff, role, permissions, scope",
     0},
    {"POST", V1 "/auth/password", h_password_change, NULL, STAFF, 0, 4096,
     "Change your own password", 0},
    {"GET", V1 "/staff", h_staff_list, NULL, STAFF, 0, 0, "List staff", 0},
    {"POST", V1 "/staff", h_staff_create, NULL, STAFF, SY_PERM_STAFF_MANAGE, 0,
     "Create a staff member", 0},
    {"GET", V1 "/staff/{id}", h_staff_get, NULL, STAFF, 0, 0, "Get a staff member", 0},
    {"PATCH", V1 "/staff/{id}", h_staff_patch, NULL, STAFF, SY_PERM_STAFF_MANAGE, 0,
     "Update a staff member", 0},
    {"POST", V1 "/staff/{id}/deactivate", h_staff_deactivate, NULL, STAFF, SY_PERM_STAFF_MANAGE,
     1024, "Deactivate (ends sessions, revokes tokens)", 0},
    {"POST", V1 "/staff/{id}/activate", h_staff_activate, NULL, STAFF, SY_PERM_STAFF_MANAGE, 1024,
     "Reactivate a staff member", 0},
    {"POST", V1 "/staff/{id}/password", h_staff_password, NULL, STAFF, SY_PERM_STAFF_MANAGE, 4096,
     "Reset a staff member's password", 0},
    {"GET", V1 "/departments", h_dept_list, NULL, STAFF, 0, 0, "List departments", 0},
    {"POST", V1 "/departments", h_dept_create, NULL, STAFF, SY_PERM_STAFF_MANAGE, 0,
     "Create a department", 0},
    {"GET", V1 "/departments/{id}", h_dept_get, NULL, STAFF, 0, 0, "Get a department", 0},
    {"PATCH", V1 "/departments/{id}", h_dept_patch, NULL, STAFF, SY_PERM_STAFF_MANAGE, 0,
     "Rename a department", 0},
    {"DELETE", V1 "/departments/{id}", h_dept_delete, NULL, STAFF, SY_PERM_STAFF_MANAGE, 0,
     "Delete an empty department", 0},
    {"GET", V1 "/stores", h_store_list, NULL, STAFF, 0, 0, "List stores", 0},
    {"POST", V1 "/stores", h_store_create, NULL, STAFF, SY_PERM_STAFF_MANAGE, 0, "Create a store",
     0},
    {"GET", V1 "/stores/{id}", h_store_get, NULL, STAFF, 0, 0, "Get a store", 0},
    {"PATCH", V1 "/stores/{id}", h_store_patch, NULL, STAFF, SY_PERM_STAFF_MANAGE, 0,
     "Update a store", 0},
    {"DELETE", V1 "/stores/{id}", h_store_delete, NULL, STAFF, SY_PERM_STAFF_MANAGE, 0,
     "Delete an unused store", 0},
    {"GET", V1 "/roles", h_role_list, NULL, STAFF, 0, 0, "List roles", 0},
    {"POST", V1 "/roles", h_role_create, NULL, STAFF, SY_PERM_ROLES_MANAGE, 0,
     "Create a custom role", 0},
    {"GET", V1 "/roles/{id}", h_role_get, NULL, STAFF, 0, 0, "Get a role", 0},
    {"PATCH", V1 "/roles/{id}", h_role_patch, NULL, STAFF, SY_PERM_ROLES_MANAGE, 0,
     "Change a role's name, permissions or scope", 0},
    {"DELETE", V1 "/roles/{id}", h_role_delete, NULL, STAFF, SY_PERM_ROLES_MANAGE, 0,
     "Delete an unused custom role", 0},
    {"GET", V1 "/permissions", h_permissions, NULL, STAFF, 0, 0, "List permission names", 0},
    {"GET", V1 "/api-tokens", h_token_list, NULL, STAFF, 0, 0, "List API tokens", 0},
    {"POST", V1 "/api-tokens", h_token_create, NULL, STAFF, 0, 0,
     "Create an API token (shown once)", 0},
    {"DELETE", V1 "/api-tokens/{id}", h_token_delete, NULL, STAFF, 0, 0, "Revoke an API token", 0},
    {"GET", V1 "/write-keys", h_key_list, NULL, STAFF, SY_PERM_SETTINGS_MANAGE, 0,
     "List write keys", 0},
    {"POST", V1 "/write-keys", h_key_create, NULL, STAFF, SY_PERM_SETTINGS_MANAGE, 0,
     "Create a write key (shown once)", 0},
    {"DELETE", V1 "/write-keys/{id}", h_key_delete, NULL, STAFF, SY_PERM_SETTINGS_MANAGE, 0,
     "Revoke a write key", 0},
    {"GET", V1 "/settings", h_settings_get, NULL, STAFF, 0, 0, "Workspace settings", 0},
    {"PATCH", V1 "/settings", h_settings_patch, NULL, STAFF, SY_PERM_SETTINGS_MANAGE, 0,
     "Change workspace settings", 0},
    {"GET", V1 "/audit", h_audit_list, NULL, STAFF, SY_PERM_AUDIT_READ, 0, "Read the audit log", 0},
};

void sy_staff_api_register(sy_staff *s, sy_http *h) {
    /* One module per process, so the table's ctx can be filled in place. */
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++)
        routes[i].ctx = s;
    sy_http_add_routes(h, routes, SY_ARRAY_LEN(routes));
}
