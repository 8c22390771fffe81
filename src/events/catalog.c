/* catalog.c — the event catalog (数据规范): event names with first/last seen
 * and volume, per-property inferred type, example and fill rate, declared
 * schemas that ingestion enforces; the dimension dictionaries; the order and
 * refund rules. All RAM state here is guarded by ev->catalog_lock. */
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include "events_int.h"

static void free_type(event_type *t) {
    if (!t) return;
    free(t->name);
    free(t->description);
    json_decref(t->schema);
    for (size_t i = 0; i < t->n_props; i++) {
        free(t->props[i].name);
        free(t->props[i].example);
    }
    free(t->props);
    free(t);
}

void sy_catalog_free(sy_events *ev) {
    for (size_t i = 0; i < ev->n_types; i++)
        free_type(ev->types[i]);
    free(ev->types);
    ev->types = NULL;
    ev->n_types = ev->cap_types = 0;
    strdict_free(&ev->type_ids);
    sy_orders_free(ev);
}

static int put_type(sy_events *ev, event_type *t) {
    if (t->id >= ev->cap_types) {
        size_t cap = ev->cap_types ? ev->cap_types : 64;
        while (cap <= t->id)
            cap *= 2;
        event_type **v = realloc(ev->types, cap * sizeof *v);
        if (!v) return SY_E_NOMEM;
        memset(v + ev->cap_types, 0, (cap - ev->cap_types) * sizeof *v);
        ev->types = v;
        ev->cap_types = cap;
    }
    ev->types[t->id] = t;
    if (t->id >= ev->n_types) ev->n_types = t->id + 1;
    return strdict_put(&ev->type_ids, t->name, t->id);
}

static prop_stat *find_prop(event_type *t, const char *name, int create) {
    for (size_t i = 0; i < t->n_props; i++)
        if (strcmp(t->props[i].name, name) == 0) return &t->props[i];
    if (!create || t->n_props >= 200)
        return NULL; /* cap per event: a runaway client cannot grow it forever */
    if (t->n_props == t->cap_props) {
        size_t cap = t->cap_props ? t->cap_props * 2 : 8;
        prop_stat *p = realloc(t->props, cap * sizeof *p);
        if (!p) return NULL;
        t->props = p;
        t->cap_props = cap;
    }
    prop_stat *p = &t->props[t->n_props++];
    memset(p, 0, sizeof *p);
    p->name = strdup(name);
    return p;
}

/* (Re)loads the catalog, dictionaries and order rules from the store,
 * dropping RAM changes of a failed commit. db may be NULL (a read
 * connection is borrowed). */
int sy_catalog_load(sy_events *ev, sy_db *db_in, sy_err *e) {
    sy_err local;
    if (!e) e = &local;
    sy_db *db = db_in;
    int rc = 0;
    if (!db && (rc = sy_store_read_begin(ev->st, &db, e))) return rc;
    sy_catalog_free(ev);
    for (int d = 0; d < SY_DIM_COUNT; d++) {
        strdict_free(&ev->dims[d]);
        ev->next_dim[d] = 0;
    }
    sy_stmt *st;
    int n_schemas = 0;
    rc = sy_db_prepare(
        db, "SELECT id, name, first_seen, last_seen, count, description, schema FROM event_types",
        &st, e);
    while (rc == 0 && (rc = sy_stmt_step(st, e)) == SY_ROW) {
        rc = 0;
        event_type *t = calloc(1, sizeof *t);
        if (!t) {
            rc = SY_E_NOMEM;
            break;
        }
        t->id = (uint32_t)sy_stmt_col_int(st, 0);
        t->name = strdup(sy_stmt_col_text(st, 1));
        t->first_seen = sy_stmt_col_int(st, 2);
        t->last_seen = sy_stmt_col_int(st, 3);
        t->count = sy_stmt_col_int(st, 4);
        const char *d = sy_stmt_col_text(st, 5);
        t->description = d ? strdup(d) : NULL;
        const char *sc = sy_stmt_col_text(st, 6);
        t->schema = sc ? json_loads(sc, 0, NULL) : NULL;
        if (t->schema) n_schemas++;
        if (put_type(ev, t)) {
            free_type(t);
            rc = SY_E_NOMEM;
        }
    }
    sy_stmt_finalize(st);
    if (rc == SY_DONE) rc = 0;
    if (rc == 0)
        rc = sy_db_prepare(
            db, "SELECT type_id, name, value_type, example, count FROM event_properties", &st, e);
    while (rc == 0 && (rc = sy_stmt_step(st, e)) == SY_ROW) {
        rc = 0;
        size_t tid = (size_t)sy_stmt_col_int(st, 0);
        event_type *t = tid < ev->n_types ? ev->types[tid] : NULL;
        prop_stat *p = t ? find_prop(t, sy_stmt_col_text(st, 1), 1) : NULL;
        if (!p) continue;
        snprintf(p->value_type, sizeof p->value_type, "%s", sy_stmt_col_text(st, 2));
        const char *ex = sy_stmt_col_text(st, 3);
        p->example = ex ? strdup(ex) : NULL;
        p->count = sy_stmt_col_int(st, 4);
    }
    if (rc == SY_DONE || rc == 0) {
        sy_stmt_finalize(st);
        rc = sy_db_prepare(db, "SELECT dim, value, id FROM event_dims", &st, e);
    }
    while (rc == 0 && (rc = sy_stmt_step(st, e)) == SY_ROW) {
        rc = 0;
        int d = (int)sy_stmt_col_int(st, 0);
        uint32_t id = (uint32_t)sy_stmt_col_int(st, 2);
        if (d < 0 || d >= SY_DIM_COUNT) continue;
        strdict_put(&ev->dims[d], sy_stmt_col_text(st, 1), id);
        if (id > ev->next_dim[d]) ev->next_dim[d] = id;
    }
    sy_stmt_finalize(st);
    if (rc == SY_DONE) rc = 0;
    if (rc == 0) rc = sy_orders_load(ev, db, e);
    atomic_store(&ev->n_schemas, n_schemas);
    if (!db_in) sy_store_read_end(ev->st, db);
    return rc;
}

int sy_catalog_type(sy_events *ev, sy_db *db, const char *name, event_type **out, sy_err *e) {
    uint32_t id = strdict_get(&ev->type_ids, name);
    if (id) {
        *out = ev->types[id];
        return 0;
    }
    if (ev->n_types >= 65535)
        return sy_err_set(e, SY_E_INVALID, "the catalog is full (65535 event names)");
    sy_stmt *st;
    int rc =
        sy_db_prepare_cached(db, "INSERT INTO event_types(name, count) VALUES (?1, 0)", &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, name);
    rc = sy_stmt_step(st, e);
    sy_stmt_done(st);
    if (rc < 0) return rc;
    event_type *t = calloc(1, sizeof *t);
    if (!t) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    t->id = (uint32_t)sy_db_last_id(db);
    t->name = strdup(name);
    if (t->id > 65535 || put_type(ev, t)) {
        free_type(t);
        return sy_err_set(e, SY_E_NOMEM, "out of memory");
    }
    *out = t;
    return 0;
}

static const char *json_kind(json_t *v) {
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    default:
        return "null";
    }
}

void sy_catalog_observe(event_type *t, int64_t ts, json_t *properties) {
    t->count++;
    if (!t->first_seen || ts < t->first_seen) t->first_seen = ts;
    if (ts > t->last_seen) t->last_seen = ts;
    t->dirty = 1;
    if (!properties) return;
    const char *k;
    json_t *v;
    json_object_foreach(properties, k, v) {
        if (json_is_null(v)) continue;
        prop_stat *p = find_prop(t, k, 1);
        if (!p) continue;
        const char *kind = json_kind(v);
        if (!p->value_type[0])
            snprintf(p->value_type, sizeof p->value_type, "%s", kind);
        else if (strcmp(p->value_type, kind) != 0)
            snprintf(p->value_type, sizeof p->value_type, "mixed");
        if (!p->example && (json_is_string(v) || json_is_number(v) || json_is_boolean(v))) {
            char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(12));
            if (s && strlen(s) > 120) s[120] = 0;
            p->example = s;
        }
        p->count++;
        p->dirty = 1;
    }
}

int sy_catalog_flush(sy_events *ev, sy_db *db, sy_err *e) {
    for (size_t i = 1; i < ev->n_types; i++) {
        event_type *t = ev->types[i];
        if (!t || !t->dirty) continue;
        sy_stmt *st;
        int rc = sy_db_prepare_cached(
            db, "UPDATE event_types SET first_seen = ?2, last_seen = ?3, count = ?4 WHERE id = ?1",
            &st, e);
        if (rc) return rc;
        sy_stmt_bind_int(st, 1, t->id);
        sy_stmt_bind_int(st, 2, t->first_seen);
        sy_stmt_bind_int(st, 3, t->last_seen);
        sy_stmt_bind_int(st, 4, t->count);
        rc = sy_stmt_step(st, e);
        sy_stmt_done(st);
        if (rc < 0) return rc;
        for (size_t k = 0; k < t->n_props; k++) {
            prop_stat *p = &t->props[k];
            if (!p->dirty) continue;
            if ((rc = sy_db_prepare_cached(
                     db,
                     "INSERT INTO event_properties(type_id, name, value_type, example, count) "
                     "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(type_id, name) DO UPDATE SET "
                     "value_type = excluded.value_type, example = excluded.example, "
                     "count = excluded.count",
                     &st, e)))
                return rc;
            sy_stmt_bind_int(st, 1, t->id);
            sy_stmt_bind_text(st, 2, p->name);
            sy_stmt_bind_text(st, 3, p->value_type);
            sy_stmt_bind_text(st, 4, p->example);
            sy_stmt_bind_int(st, 5, p->count);
            rc = sy_stmt_step(st, e);
            sy_stmt_done(st);
            if (rc < 0) return rc;
            p->dirty = 0;
        }
        t->dirty = 0;
    }
    return 0;
}

/* "properties.amount" in a static-lifetime buffer per call site is not
 * possible with jansson's copies; return a heap-free literal join instead. */
#define sy_json_field_path(a, b) field_path(a, b)
static const char *field_path(const char *a, const char *b) {
    static _Thread_local char buf[256];
    snprintf(buf, sizeof buf, "%s.%s", a, b);
    return buf;
}

/* A declared schema: {"required":["amount"],"properties":{"amount":"number",…}}
 * with types string, number, integer, boolean, object, array. */
int sy_catalog_check(sy_events *ev, const char *name, json_t *properties, long index,
                     json_t *problems) {
    uint32_t id = strdict_get(&ev->type_ids, name);
    event_type *t = id ? ev->types[id] : NULL;
    if (!t || !t->schema) return 0;
    int bad = 0;
    json_t *req = json_object_get(t->schema, "required");
    size_t i;
    json_t *v;
    json_array_foreach(req, i, v) {
        const char *p = json_string_value(v);
        if (p && (!properties || !json_object_get(properties, p) ||
                  json_is_null(json_object_get(properties, p)))) {
            json_array_append_new(problems,
                                  json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index, "field",
                                            sy_json_field_path("properties", p), "reason",
                                            "is required by the declared schema of this event"));
            bad = 1;
        }
    }
    const char *k;
    json_object_foreach(json_object_get(t->schema, "properties"), k, v) {
        json_t *pv = properties ? json_object_get(properties, k) : NULL;
        const char *want = json_string_value(v);
        if (!pv || json_is_null(pv) || !want) continue;
        int ok = (strcmp(want, "string") == 0 && json_is_string(pv)) ||
                 (strcmp(want, "number") == 0 && json_is_number(pv)) ||
                 (strcmp(want, "integer") == 0 && json_is_integer(pv)) ||
                 (strcmp(want, "boolean") == 0 && json_is_boolean(pv)) ||
                 (strcmp(want, "object") == 0 && json_is_object(pv)) ||
                 (strcmp(want, "array") == 0 && json_is_array(pv));
        if (!ok) {
            char reason[80];
            snprintf(reason, sizeof reason, "must be of type %s (declared schema)", want);
            json_array_append_new(problems,
                                  json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index, "field",
                                            sy_json_field_path("properties", k), "reason", reason));
            bad = 1;
        }
    }
    return bad;
}

/* ---- order rules ---- */

void sy_orders_free(sy_events *ev) {
    order_rule *lists[2] = {ev->orders_rules, ev->refund_rules};
    size_t ns[2] = {ev->n_order_rules, ev->n_refund_rules};
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < ns[l]; i++) {
            free(lists[l][i].event);
            for (size_t k = 0; k < lists[l][i].n_amount; k++)
                free(lists[l][i].amount[k]);
        }
        free(lists[l]);
    }
    ev->orders_rules = ev->refund_rules = NULL;
    ev->n_order_rules = ev->n_refund_rules = 0;
}

static int load_rules(json_t *arr, order_rule **out, size_t *n) {
    size_t cnt = json_array_size(arr);
    *out = calloc(cnt ? cnt : 1, sizeof **out);
    *n = 0;
    if (!*out) return SY_E_NOMEM;
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r) {
        const char *ename = json_string_value(json_object_get(r, "event"));
        if (!ename) continue;
        order_rule *o = &(*out)[(*n)++];
        o->event = strdup(ename);
        size_t k;
        json_t *a;
        json_array_foreach(json_object_get(r, "amount"), k, a) {
            if (o->n_amount < SY_ARRAY_LEN(o->amount) && json_is_string(a))
                o->amount[o->n_amount++] = strdup(json_string_value(a));
        }
    }
    return 0;
}

int sy_orders_load(sy_events *ev, sy_db *db, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, "SELECT value FROM events_settings WHERE key = 'orders'", &st, e);
    if (rc) return rc;
    json_t *v = NULL;
    if ((rc = sy_stmt_step(st, e)) == SY_ROW) v = json_loads(sy_stmt_col_text(st, 0), 0, NULL);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    sy_orders_free(ev);
    rc = load_rules(json_object_get(v, "orders"), &ev->orders_rules, &ev->n_order_rules);
    if (rc == 0)
        rc = load_rules(json_object_get(v, "refunds"), &ev->refund_rules, &ev->n_refund_rules);
    json_decref(v);
    return rc ? sy_err_set(e, rc, "out of memory") : 0;
}

int sy_events_check(sy_events *ev, sy_arena *a, sy_parsed *p, json_t **details, sy_err *e) {
    json_t *problems = json_array();
    if (atomic_load(&ev->n_schemas) > 0) {
        pthread_mutex_lock(&ev->catalog_lock);
        for (size_t i = 0; i < p->n; i++)
            sy_catalog_check(ev, p->msgs[i].event, p->msgs[i].properties, (long)i, problems);
        pthread_mutex_unlock(&ev->catalog_lock);
    }
    /* identify traits, all messages checked with one read of the
     * attribute definitions (none when the request has no traits) */
    json_t **traits = sy_alloc(a, (p->n ? p->n : 1) * sizeof *traits);
    size_t with_traits = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->msgs[i].type == SY_MSG_IDENTIFY && p->msgs[i].traits)
            traits[i] = p->msgs[i].traits, with_traits++;
    if (with_traits) {
        sy_err *errs = sy_alloc(a, p->n * sizeof *errs);
        int rc = sy_contacts_check_traits(ev->contacts, a, traits, p->n, errs, e);
        if (rc) {
            json_decref(problems);
            return rc;
        }
        for (size_t i = 0; i < p->n; i++)
            if (errs[i].code)
                json_array_append_new(problems,
                                      json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i, "field",
                                                errs[i].field, "reason", errs[i].msg));
    }
    if (json_array_size(problems) == 0) {
        json_decref(problems);
        return 0;
    }
    json_t *first = json_array_get(problems, 0);
    sy_err_field(e, SY_E_INVALID, json_string_value(json_object_get(first, "field")),
                 "message %lld: %s %s%s",
                 (long long)json_integer_value(json_object_get(first, "index")),
                 json_string_value(json_object_get(first, "field")),
                 json_string_value(json_object_get(first, "reason")),
                 json_array_size(problems) > 1 ? " (and more problems)" : "");
    if (details)
        *details = json_pack("{s:o}", "errors", problems);
    else
        json_decref(problems);
    return SY_E_INVALID;
}
