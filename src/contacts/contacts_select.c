/* contacts_select.c — sets of live contacts matching one condition, for the
 * segments compiler (issue 5). Each selection is one SQL query over the
 * contacts tables on a borrowed read connection; the ids go into an idset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contacts_int.h"
#include "engine/engine.h"

#define DAY_MS 86400000LL

/* Attribute kinds: which operators and values make sense. */
enum { K_TEXT, K_ENUM, K_NUM, K_DATE, K_TIME, K_BOOL };

typedef struct std_attr {
    const char *key, *col;
    int kind;
} std_attr;

static const std_attr std_attrs[] = {
    {"name", "c.name", K_TEXT},
    {"city", "c.city", K_TEXT},
    {"company", "c.company", K_TEXT},
    {"gender", "c.gender", K_ENUM},
    {"status", "c.status", K_ENUM},
    {"source_id", "c.source_id", K_NUM},
    {"birthday", "c.birthday", K_DATE},
    {"created_at", "c.created_at", K_TIME},
    {NULL, NULL, 0},
};

static const char *const kind_names[] = {"text", "enum", "number", "date", "datetime", "bool"};

/* Operators allowed per kind (NULL-terminated). */
static const char *const ops_text[] = {"=", "!=", "in", "contains", "is_set", "not_set", NULL};
static const char *const ops_enum[] = {"=", "!=", "in", "is_set", "not_set", NULL};
static const char *const ops_num[] = {"=", "!=", "<", ">", "in", "is_set", "not_set", NULL};
static const char *const ops_date[] = {"=", "!=", "<", ">", "is_set", "not_set", "within_last_days",
                                       NULL};
static const char *const ops_time[] = {"<", ">", "within_last_days", NULL};
static const char *const ops_bool[] = {"=", "!=", "is_set", "not_set", NULL};
static const char *const *const kind_ops[] = {ops_text, ops_enum, ops_num,
                                              ops_date, ops_time, ops_bool};
static const char *const all_ops[] = {
    "=", "!=", "<", ">", "in", "contains", "is_set", "not_set", "within_last_days", NULL};

/* A resolved attribute: standard column or custom key (with its definition). */
typedef struct attr_ref {
    const char *col; /* NULL for custom */
    int kind;
    const attr_def *def;
} attr_ref;

static int resolve_attr(sy_db *db, sy_arena *a, const char *key, attr_ref *out, sy_err *e) {
    memset(out, 0, sizeof *out);
    for (const std_attr *s = std_attrs; s->key; s++)
        if (strcmp(s->key, key) == 0) {
            out->col = s->col;
            out->kind = s->kind;
            return 0;
        }
    attr_defs defs;
    int rc = sy_contacts_load_defs(db, a, &defs, e);
    if (rc) return rc;
    const attr_def *d = sy_contacts_find_def(&defs, key);
    if (!d)
        return sy_err_field(
            e, SY_E_INVALID, "attribute",
            "attribute \"%s\" is neither a standard nor a declared custom attribute", key);
    out->def = d;
    out->kind = strcmp(d->type, "number") == 0 ? K_NUM
                : strcmp(d->type, "date") == 0 ? K_DATE
                : strcmp(d->type, "enum") == 0 ? K_ENUM
                : strcmp(d->type, "bool") == 0 ? K_BOOL
                                               : K_TEXT;
    return 0;
}

/* Checks one scalar value for the attribute's kind. */
static int check_scalar(const char *key, const attr_ref *ar, json_t *v, sy_err *e) {
    switch (ar->kind) {
    case K_TEXT:
        if (!json_is_string(v) || json_string_length(v) > 500)
            return sy_err_field(e, SY_E_INVALID, "value",
                                "attribute \"%s\" is text: the value must be a string", key);
        return 0;
    case K_ENUM: {
        if (!json_is_string(v))
            return sy_err_field(e, SY_E_INVALID, "value", "attribute \"%s\" takes a string value",
                                key);
        const char *s = json_string_value(v), *k;
        if (strcmp(key, "gender") == 0 && ar->col) {
            if (sy_contacts_gender_parse(s, &k) || strcmp(s, k) != 0)
                return sy_err_field(e, SY_E_INVALID, "value",
                                    "gender \"%s\" is not one of male, female, unknown", s);
        } else if (strcmp(key, "status") == 0 && ar->col) {
            if (sy_contacts_status_parse(s, &k) || strcmp(s, k) != 0)
                return sy_err_field(e, SY_E_INVALID, "value",
                                    "status \"%s\" is not a follow-up status key", s);
        } else if (ar->def && json_is_array(ar->def->options)) {
            size_t i;
            json_t *o;
            int found = 0;
            json_array_foreach(ar->def->options, i,
                               o) if (json_is_string(o) && strcmp(json_string_value(o), s) == 0)
                found = 1;
            if (!found)
                return sy_err_field(e, SY_E_INVALID, "value",
                                    "\"%s\" is not an option of attribute \"%s\"", s, key);
        }
        return 0;
    }
    case K_NUM:
        if (!json_is_number(v))
            return sy_err_field(e, SY_E_INVALID, "value",
                                "attribute \"%s\" is a number: the value must be a number", key);
        return 0;
    case K_DATE:
        if (!json_is_string(v) || sy_date_valid(json_string_value(v)))
            return sy_err_field(
                e, SY_E_INVALID, "value",
                "attribute \"%s\" is a date: the value must be a real date \"YYYY-MM-DD\"%s%s%s",
                key, json_is_string(v) ? ", not \"" : "",
                json_is_string(v) ? json_string_value(v) : "", json_is_string(v) ? "\"" : "");
        return 0;
    case K_TIME: {
        int64_t ms;
        if (json_is_integer(v)) return 0;
        if (json_is_string(v) && sy_date_valid(json_string_value(v)) == 0 &&
            sy_time_parse(json_string_value(v), &ms) == 0)
            return 0;
        return sy_err_field(e, SY_E_INVALID, "value",
                            "attribute \"%s\" is a time: the value must be UTC milliseconds or a "
                            "real date \"YYYY-MM-DD\"",
                            key);
    }
    case K_BOOL:
        if (!json_is_boolean(v))
            return sy_err_field(
                e, SY_E_INVALID, "value",
                "attribute \"%s\" is a yes/no attribute: the value must be true or false", key);
        return 0;
    }
    return 0;
}

static int cond_check(sy_db *db, sy_arena *a, const char *key, const char *op, json_t *value,
                      attr_ref *ar, sy_err *e) {
    if (!key || !*key)
        return sy_err_field(e, SY_E_INVALID, "attribute", "attribute must be a non-empty string");
    int rc = resolve_attr(db, a, key, ar, e);
    if (rc) return rc;
    if (!op || !sy_contacts_in_list(all_ops, op))
        return sy_err_field(e, SY_E_INVALID, "op",
                            "operator \"%s\" is not one of =, !=, <, >, in, contains, is_set, "
                            "not_set, within_last_days",
                            op ? op : "");
    if (!sy_contacts_in_list(kind_ops[ar->kind], op))
        return sy_err_field(e, SY_E_INVALID, "op",
                            "operator \"%s\" does not apply to attribute \"%s\" of type %s", op,
                            key, kind_names[ar->kind]);
    if (strcmp(op, "is_set") == 0 || strcmp(op, "not_set") == 0) {
        if (value)
            return sy_err_field(e, SY_E_INVALID, "value", "operator \"%s\" takes no value", op);
        return 0;
    }
    if (!value) return sy_err_field(e, SY_E_INVALID, "value", "operator \"%s\" needs a value", op);
    if (strcmp(op, "within_last_days") == 0) {
        if (!json_is_integer(value) || json_integer_value(value) < 1 ||
            json_integer_value(value) > 36500)
            return sy_err_field(e, SY_E_INVALID, "value",
                                "within_last_days needs a whole number of days from 1 to 36500");
        return 0;
    }
    if (strcmp(op, "in") == 0) {
        if (!json_is_array(value) || json_array_size(value) == 0 || json_array_size(value) > 500)
            return sy_err_field(e, SY_E_INVALID, "value",
                                "operator \"in\" needs an array of 1 to 500 values");
        size_t i;
        json_t *v;
        json_array_foreach(value, i, v) if ((rc = check_scalar(key, ar, v, e))) return rc;
        return 0;
    }
    if (strcmp(op, "contains") == 0 && (!json_is_string(value) || json_string_length(value) == 0))
        return sy_err_field(e, SY_E_INVALID, "value",
                            "operator \"contains\" needs a non-empty string");
    return check_scalar(key, ar, value, e);
}

int sy_contacts_attr_cond_check(sy_contacts *c, const char *key, const char *op, json_t *value,
                                sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    sy_arena *a = sy_arena_create();
    attr_ref ar;
    rc = a ? cond_check(db, a, key, op, value, &ar, e) : sy_err_set(e, SY_E_NOMEM, "out of memory");
    sy_arena_destroy(a);
    sy_store_read_end(c->st, db);
    return rc;
}

/* Runs sql (binds via bind callback data) and adds column 0 of each row. */
typedef struct bindv {
    json_t *vals;     /* array of values to bind from ?2 on */
    const char *path; /* ?1 when custom */
} bindv;

static void bind_json(sy_stmt *st, int i, json_t *v) {
    if (json_is_integer(v))
        sy_stmt_bind_int(st, i, json_integer_value(v));
    else if (json_is_real(v))
        sy_stmt_bind_real(st, i, json_real_value(v));
    else if (json_is_boolean(v))
        sy_stmt_bind_int(st, i, json_is_true(v));
    else if (json_is_string(v))
        sy_stmt_bind_text(st, i, json_string_value(v));
    else
        sy_stmt_bind_null(st, i);
}

static int run_ids(sy_contacts *c, const char *sql, const bindv *b, sy_idset **out, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    sy_idset *s = sy_idset_create();
    if (!s) {
        sy_store_read_end(c->st, db);
        return sy_err_set(e, SY_E_NOMEM, "out of memory");
    }
    if ((rc = sy_db_prepare(db, sql, &st, e)) == 0) {
        if (b) {
            if (b->path) sy_stmt_bind_text(st, 1, b->path);
            size_t i;
            json_t *v;
            if (b->vals) json_array_foreach(b->vals, i, v) bind_json(st, (int)i + 2, v);
        }
        while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
            int64_t id = sy_stmt_col_int(st, 0);
            if (id > 0 && id <= UINT32_MAX) sy_idset_add(s, (uint32_t)id);
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(c->st, db);
    if (rc < 0) {
        sy_idset_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int select_all_fp(sy_contacts *c, const int64_t fp[4], sy_idset **out, sy_err *e);

/* What decides who is live: the highest contact id, merges made and undone,
 * imports published. Index lookups only (well under a millisecond). */
static int live_fingerprint(sy_contacts *c, int64_t fp[4], sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    /* most evaluations ask: kept prepared */
    rc = sy_db_prepare_cached(
        db,
        "SELECT (SELECT max(id) FROM contacts), (SELECT max(id) FROM contact_merges), "
        "(SELECT count(*) FROM contact_merges WHERE undone_at IS NOT NULL), "
        "(SELECT count(*) FROM contact_imports WHERE published_at IS NOT NULL)",
        &st, e);
    if (rc == 0) {
        rc = sy_stmt_step(st, e);
        for (int i = 0; i < 4; i++)
            fp[i] = rc == SY_ROW ? sy_stmt_col_int(st, i) : -1;
        sy_stmt_done(st);
    }
    sy_store_read_end(c->st, db);
    return rc < 0 ? rc : 0;
}

/* The cached set is also trusted without reading the fingerprint while no
 * write job committed since it was last checked (every in-process write,
 * contacts created by ingestion included, is a write job), for at most
 * LIVE_TRUST_MS: another process writing the same workspace (a CLI import)
 * does not move this process's generation. */
#define LIVE_TRUST_MS 1000
static pthread_mutex_t live_gen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const sy_contacts *c;
    uint64_t gen;
    int64_t at;
} live_gen;

int sy_contacts_select_all(sy_contacts *c, sy_idset **out, sy_err *e) {
    uint64_t gen = sy_store_generation(c->st);
    int64_t now = sy_mono_ms();
    pthread_mutex_lock(&live_gen_lock);
    int trusted = live_gen.c == c && live_gen.gen == gen && now - live_gen.at < LIVE_TRUST_MS;
    pthread_mutex_unlock(&live_gen_lock);
    if (trusted) {
        pthread_mutex_lock(&c->live_lock);
        *out = c->live ? sy_idset_copy(c->live) : NULL;
        pthread_mutex_unlock(&c->live_lock);
        if (*out) return 0;
    }
    int64_t fp[4];
    int rc = live_fingerprint(c, fp, e);
    if (rc) return rc;
    rc = select_all_fp(c, fp, out, e);
    if (rc == 0) {
        /* gen was read before the fingerprint: a commit in between only
         * makes the next call check again */
        pthread_mutex_lock(&live_gen_lock);
        live_gen.c = c, live_gen.gen = gen, live_gen.at = now;
        pthread_mutex_unlock(&live_gen_lock);
    }
    return rc;
}

static int select_all_fp(sy_contacts *c, const int64_t fp[4], sy_idset **out, sy_err *e) {
    int rc;
    pthread_mutex_lock(&c->live_lock);
    if (c->live && memcmp(fp, c->live_fp, 4 * sizeof fp[0]) == 0) {
        *out = sy_idset_copy(c->live);
        pthread_mutex_unlock(&c->live_lock);
        return *out ? 0 : sy_err_set(e, SY_E_NOMEM, "out of memory");
    }
    /* Only new contacts since (ids above the cached highest one, nothing
     * merged, undone or published): read just those. Ingestion creating
     * contacts all the time then costs one index range per call. */
    if (c->live && fp[0] > c->live_fp[0] && memcmp(fp + 1, c->live_fp + 1, 3 * sizeof fp[0]) == 0) {
        int64_t from = c->live_fp[0];
        sy_idset *more = NULL;
        pthread_mutex_unlock(&c->live_lock);
        bindv b = {json_pack("[I]", (json_int_t)from), NULL};
        rc = run_ids(c, "SELECT c.id FROM contacts c WHERE c.id > ?2 AND " SY_CONTACT_LIVE("c"), &b,
                     &more, e);
        json_decref(b.vals);
        if (rc) return rc;
        pthread_mutex_lock(&c->live_lock);
        if (c->live && c->live_fp[0] == from) { /* nobody refreshed meanwhile */
            sy_idset_or(c->live, more);
            memcpy(c->live_fp, fp, 4 * sizeof fp[0]);
        }
        sy_idset_destroy(more);
        if (c->live && memcmp(fp, c->live_fp, 4 * sizeof fp[0]) == 0) {
            *out = sy_idset_copy(c->live);
            pthread_mutex_unlock(&c->live_lock);
            return *out ? 0 : sy_err_set(e, SY_E_NOMEM, "out of memory");
        }
    }
    pthread_mutex_unlock(&c->live_lock);
    sy_idset *s;
    rc = run_ids(c, "SELECT c.id FROM contacts c WHERE " SY_CONTACT_LIVE("c"), NULL, &s, e);
    if (rc) return rc;
    /* The set was read after the fingerprint: if something changed in
     * between, the set is newer than fp and the next call reads again. */
    pthread_mutex_lock(&c->live_lock);
    sy_idset_destroy(c->live);
    c->live = sy_idset_copy(s);
    memcpy(c->live_fp, fp, 4 * sizeof fp[0]);
    pthread_mutex_unlock(&c->live_lock);
    *out = s;
    return 0;
}

int sy_contacts_select_scope(sy_contacts *c, const sy_actor *actor, sy_idset **out, sy_err *e) {
    if (!actor || actor->scope == SY_SCOPE_ALL) return sy_contacts_select_all(c, out, e);
    sy_arena *a = sy_arena_create();
    if (!a) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    char *sql = sy_sprintf(a, "SELECT c.id FROM contacts c WHERE " SY_CONTACT_LIVE("c") " AND %s",
                           sy_contacts_scope_sql(a, actor, "c"));
    int rc = run_ids(c, sql, NULL, out, e);
    sy_arena_destroy(a);
    return rc;
}

/* Formats the workspace-timezone date of instant ms into out (11 bytes). */
static void tz_date(sy_contacts *c, int64_t ms, char *out, size_t n) {
    char tz[64];
    int off = 0;
    sy_staff_timezone(c->staff, tz, sizeof tz);
    if (sy_tz_offset(tz, ms, &off)) off = 8 * 3600;
    char buf[40];
    sy_time_format(ms + (int64_t)off * 1000, buf, sizeof buf);
    snprintf(out, n, "%.10s", buf);
}

int sy_contacts_select_attr(sy_contacts *c, const char *key, const char *op, json_t *value,
                            int64_t as_of, sy_idset **out, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    sy_arena *a = sy_arena_create();
    attr_ref ar;
    rc = a ? cond_check(db, a, key, op, value, &ar, e) : sy_err_set(e, SY_E_NOMEM, "out of memory");
    sy_store_read_end(c->st, db);
    if (rc) {
        sy_arena_destroy(a);
        return rc;
    }
    bindv b = {json_array(), NULL};
    const char *x = ar.col;
    if (!x) {
        b.path = sy_sprintf(a, "$.\"%s\"", key);
        x = "json_extract(c.attrs, ?1)";
    }
    sy_buf w = SY_BUF_INIT;
    sy_buf_adds(&w, "SELECT c.id FROM contacts c WHERE " SY_CONTACT_LIVE("c") " AND ");
    json_t *tv = value;
    /* created_at compares with ms: a date value means 00:00 UTC of that day */
    if (ar.kind == K_TIME && value && json_is_string(value)) {
        int64_t ms = 0;
        sy_time_parse(json_string_value(value), &ms);
        tv = json_integer(ms);
    } else if (value) {
        json_incref(tv);
    }
    if (strcmp(op, "is_set") == 0) {
        sy_buf_addf(&w, "%s IS NOT NULL%s", x,
                    ar.kind == K_TEXT || ar.kind == K_ENUM ? sy_sprintf(a, " AND %s != ''", x)
                                                           : "");
    } else if (strcmp(op, "not_set") == 0) {
        sy_buf_addf(&w, "(%s IS NULL%s)", x,
                    ar.kind == K_TEXT || ar.kind == K_ENUM ? sy_sprintf(a, " OR %s = ''", x) : "");
    } else if (strcmp(op, "in") == 0) {
        sy_buf_addf(&w, "%s IN (", x);
        for (size_t i = 0; i < json_array_size(tv); i++) {
            sy_buf_addf(&w, "%s?%zu", i ? "," : "", i + 2);
            json_array_append(b.vals, json_array_get(tv, i));
        }
        sy_buf_adds(&w, ")");
    } else if (strcmp(op, "contains") == 0) {
        sy_buf_addf(&w, "instr(%s, ?2) > 0", x);
        json_array_append(b.vals, tv);
    } else if (strcmp(op, "within_last_days") == 0) {
        int64_t d = json_integer_value(tv);
        if (ar.kind == K_TIME) {
            sy_buf_addf(&w, "%s >= ?2 AND %s < ?3", x, x);
            json_array_append_new(b.vals, json_integer(as_of - d * DAY_MS));
            json_array_append_new(b.vals, json_integer(as_of));
        } else {
            /* whole days in the workspace timezone, today included */
            char from[16], to[16];
            tz_date(c, as_of - d * DAY_MS, from, sizeof from);
            tz_date(c, as_of, to, sizeof to);
            sy_buf_addf(&w, "%s > ?2 AND %s <= ?3", x, x);
            json_array_append_new(b.vals, json_string(from));
            json_array_append_new(b.vals, json_string(to));
        }
    } else { /* = != < > */
        sy_buf_addf(&w, "%s IS NOT NULL AND %s %s ?2", x, x, op);
        json_array_append(b.vals, tv);
    }
    json_decref(tv);
    sy_buf_addc(&w, '\0');
    rc = run_ids(c, w.p, &b, out, e);
    sy_buf_release(&w);
    json_decref(b.vals);
    sy_arena_destroy(a);
    return rc;
}

int sy_contacts_identity_type_known(const char *type) {
    return sy_contacts_identity_type_valid(type);
}

int sy_contacts_select_identity(sy_contacts *c, const char *type, sy_idset **out, sy_err *e) {
    if (!sy_contacts_identity_type_valid(type))
        return sy_err_set(e, SY_E_INVALID, "identity type \"%s\" is unknown", type);
    bindv b = {json_array(), NULL};
    json_array_append_new(b.vals, json_string(type));
    int rc = run_ids(
        c,
        "SELECT DISTINCT c.id FROM contact_identities i JOIN contacts c ON c.id = i.contact_id "
        "WHERE i.type = ?2 AND " SY_CONTACT_LIVE("c"),
        &b, out, e);
    json_decref(b.vals);
    return rc;
}

int sy_contacts_select_ref(sy_contacts *c, const char *field, int64_t id, sy_idset **out,
                           sy_err *e) {
    const char *sql =
        strcmp(field, "owner") == 0
            ? "SELECT c.id FROM contacts c WHERE c.owner_id = ?2 AND " SY_CONTACT_LIVE("c")
        : strcmp(field, "store") == 0
            ? "SELECT c.id FROM contacts c WHERE c.store_id = ?2 AND " SY_CONTACT_LIVE("c")
        : strcmp(field, "department") == 0
            ? "SELECT c.id FROM contacts c WHERE c.department_id = ?2 AND " SY_CONTACT_LIVE("c")
            : NULL;
    if (!sql) return sy_err_set(e, SY_E_INVALID, "\"%s\" is not owner, store or department", field);
    bindv b = {json_array(), NULL};
    json_array_append_new(b.vals, json_integer(id));
    int rc = run_ids(c, sql, &b, out, e);
    json_decref(b.vals);
    return rc;
}

int sy_contacts_select_rows(sy_contacts *c, const sy_actor *actor, const uint32_t *ids, size_t n,
                            json_t *items, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    sy_arena *a = sy_arena_create();
    sy_stmt *st = NULL;
    rc = sy_db_prepare_cached(
        db,
        "SELECT c.id, c.name, c.phone, c.city, c.status, c.owner_id, c.store_id, c.created_at "
        "FROM contacts c WHERE c.id = ? AND " SY_CONTACT_LIVE("c"),
        &st, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sy_stmt_bind_int(st, 1, ids[i]);
        int s = sy_stmt_step(st, e);
        if (s < 0) {
            rc = s;
        } else if (s == SY_ROW) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(sy_stmt_col_int(st, 0)));
            json_object_set_new(o, "name", sy_contacts_jstr(sy_stmt_col_text(st, 1)));
            json_object_set_new(
                o, "phone",
                sy_contacts_jstr(sy_contacts_phone_out(a, actor, sy_stmt_col_text(st, 2))));
            json_object_set_new(o, "city", sy_contacts_jstr(sy_stmt_col_text(st, 3)));
            json_object_set_new(o, "status", sy_contacts_jstr(sy_stmt_col_text(st, 4)));
            json_object_set_new(o, "owner_id", sy_contacts_jid(sy_stmt_col_int(st, 5)));
            json_object_set_new(o, "store_id", sy_contacts_jid(sy_stmt_col_int(st, 6)));
            json_object_set_new(o, "created_at", json_integer(sy_stmt_col_int(st, 7)));
            json_array_append_new(items, o);
        }
        sy_stmt_reset(st);
    }
    if (st) sy_stmt_done(st);
    sy_arena_destroy(a);
    sy_store_read_end(c->st, db);
    return rc;
}
