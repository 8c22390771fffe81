/* api.c — HTTP handlers of the events module: the Segment endpoints under
 * /v1, event listings, a contact's events and profile, the catalog, order
 * settings and identity conflicts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <strings.h>
#include "events_int.h"

/* ---- reading payloads back from the log ---- */

/* Finds the block holding engine position pos (catalog_lock held). */
static int block_of(sy_events *ev, uint32_t pos, int64_t *block_id, uint32_t *row) {
    size_t lo = 0, hi = ev->n_blocks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ev->block_start[mid] <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return SY_E_NOT_FOUND;
    *block_id = ev->block_id[lo - 1];
    *row = pos - ev->block_start[lo - 1];
    return 0;
}

int sy_events_payload(sy_events *ev, sy_arena *a, uint32_t pos, sy_logrow *out, sy_err *e) {
    int64_t bid;
    uint32_t row;
    pthread_mutex_lock(&ev->catalog_lock);
    int rc = block_of(ev, pos, &bid, &row);
    pthread_mutex_unlock(&ev->catalog_lock);
    if (rc) return sy_err_set(e, SY_E_NOT_FOUND, "event %u is not in the log", pos);
    sy_db *db;
    if ((rc = sy_store_read_begin(ev->st, &db, e))) return rc;
    sy_stmt *st;
    rc = sy_db_prepare_cached(db, "SELECT crc, data FROM event_blocks WHERE id = ?1", &st, e);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, bid);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW) {
            size_t len;
            const void *blob = sy_stmt_col_blob(st, 1, &len);
            sy_logrow *rows;
            size_t n;
            rc = sy_log_decode(a, blob, len, (uint32_t)sy_stmt_col_int(st, 0), &rows, &n, e);
            if (rc == 0 && row < n)
                *out = rows[row];
            else if (rc == 0)
                rc = sy_err_set(e, SY_E_INTERNAL, "event block %lld is shorter than its index",
                                (long long)bid);
        } else if (rc == SY_DONE) {
            rc = sy_err_set(e, SY_E_NOT_FOUND, "event block %lld is missing", (long long)bid);
        }
        sy_stmt_done(st);
    }
    sy_store_read_end(ev->st, db);
    return rc;
}

/* Masks phone numbers in an event's traits for viewers without the right
 * to see them (the same 138****1234 form as the contacts API). */
static void mask_phones(json_t *o, const sy_actor *actor) {
    if (!actor || (actor->perms & SY_PERM_PHONE_UNMASK)) return;
    json_t *holders[3] = {json_object_get(o, "traits"), json_object_get(o, "properties"), NULL};
    json_t *ctx = json_object_get(o, "context");
    holders[2] = ctx ? json_object_get(ctx, "traits") : NULL;
    for (int i = 0; i < 3; i++) {
        json_t *ph = holders[i] ? json_object_get(holders[i], "phone") : NULL;
        if (!json_is_string(ph)) continue;
        char norm[32], masked[32];
        if (sy_phone_normalize(json_string_value(ph), norm, sizeof norm, NULL) == 0)
            sy_phone_mask(norm, masked, sizeof masked);
        else
            snprintf(masked, sizeof masked, "****");
        json_object_set_new(holders[i], "phone", json_string(masked));
    }
}

/* JSON of one stored event, as the viewer may see it. */
static json_t *event_json(sy_events *ev, sy_arena *a, const sy_actor *actor, uint32_t pos) {
    sy_logrow row;
    sy_err e;
    if (sy_events_payload(ev, a, pos, &row, &e) != 0) return NULL;
    json_t *payload = row.payload ? json_loadb(row.payload, row.payload_len, 0, NULL) : NULL;
    json_t *o = json_pack("{s:s, s:I, s:s, s:I, s:I, s:s?}", "kind", "event", "position",
                          (json_int_t)pos, "event", row.name, "at", (json_int_t)row.ev.ts,
                          "received_at", (json_int_t)row.received_at, "message_id", row.message_id);
    json_object_set_new(o, "contact_id",
                        json_integer(sy_engine_canonical(ev->engine, row.ev.contact)));
    if (row.ev.flags & (SY_EV_ORDER | SY_EV_REFUND)) {
        json_object_set_new(o, "revenue_fen", json_integer(row.ev.revenue_fen));
        json_object_set_new(o, "order",
                            json_string(row.ev.flags & SY_EV_ORDER ? "order" : "refund"));
    }
    if (payload) {
        const char *k;
        json_t *v;
        json_object_foreach(payload, k, v) json_object_set(o, k, v);
        json_decref(payload);
    }
    mask_phones(o, actor);
    return o;
}

/* ---- Segment endpoints ---- */

static void release_json(void *v) {
    json_decref(v);
}

static int h_ingest(sy_req *r) {
    sy_events *ev = r->ctx;
    const char *kind = strrchr(r->route->pattern, '/') + 1;
    pending *p = sy_alloc(r->arena, sizeof *p);
    p->received_at = sy_now_ms();
    json_t *details = NULL;
    int rc = sy_segment_parse(r->arena, kind, r->body, r->body_len, p->received_at, &p->parsed,
                              &details, &r->err);
    /* authenticate before reporting validation problems: an unknown key is 401 */
    int64_t wk = 0;
    if (r->auth.kind == SY_AUTH_WRITE_KEY) {
        wk = sy_req_actor(r)->write_key_id;
    } else {
        const char *authz = sy_req_header(r, "Authorization");
        sy_err ae = {0};
        int arc = SY_E_UNAUTHENTICATED;
        if (authz && strncasecmp(authz, "Basic ", 6) == 0) {
            /* the authenticator treated it as anonymous on this public route: re-check for the
             * message */
            arc = sy_err_set(&ae, SY_E_UNAUTHENTICATED, "write key is unknown or revoked");
        } else if (p->parsed.write_key || rc == 0) {
            arc = sy_staff_check_write_key(ev->staff, r->arena, p->parsed.write_key, &wk, &ae);
        } else {
            arc = sy_err_set(&ae, SY_E_UNAUTHENTICATED,
                             "send the write key as the HTTP Basic user name or as \"writeKey\"");
        }
        if (arc) {
            json_decref(details);
            json_decref(p->parsed.root);
            r->err = ae;
            return arc;
        }
    }
    if (rc == 0) rc = sy_events_check(ev, r->arena, &p->parsed, &details, &r->err);
    if (rc) {
        json_decref(p->parsed.root);
        r->err_details = details;
        return rc;
    }
    p->write_key_id = wk;
    p->req = r;
    sy_arena_on_destroy(r->arena, release_json, p->parsed.root);
    sy_req_defer(r);
    if (sy_events_submit(ev, p)) {
        /* shutting down: answer at once */
        sy_err_set(&r->err, SY_E_UNAVAILABLE, "the server is shutting down; retry");
        sy_req_resume(r, SY_E_UNAVAILABLE);
    }
    return SY_DEFERRED;
}

/* ---- management API ---- */

static int parse_time_arg(sy_req *r, const char *name, int64_t *out) {
    const char *v = sy_req_query(r, name);
    if (!v) return 0;
    if (sy_parse_i64(v, out) == 0) return 0;
    if (sy_time_parse(v, out) == 0) return 0;
    return sy_err_field(&r->err, SY_E_INVALID, name,
                        "%s \"%s\" must be epoch milliseconds or an ISO-8601 time", name, v);
}

static int parse_limit(sy_req *r, size_t *limit) {
    return sy_req_limit(r, limit);
}

static int event_type_arg(sy_events *ev, sy_req *r, int *type) {
    const char *name = sy_req_query(r, "event");
    *type = -1;
    if (!name) return 0;
    pthread_mutex_lock(&ev->catalog_lock);
    uint32_t id = strdict_get(&ev->type_ids, name);
    pthread_mutex_unlock(&ev->catalog_lock);
    *type = id ? (int)id : 0; /* 0 never matches: an unknown name has no events */
    return 0;
}

/* GET /api/v1/contacts/{id}/events */
static int h_contact_events(sy_req *r) {
    sy_events *ev = r->ctx;
    int64_t id, live, from = INT64_MIN, to = INT64_MAX, offset = 0;
    size_t limit;
    int type;
    if (sy_req_param_id(r, "id", &id) || parse_time_arg(r, "from", &from) ||
        parse_time_arg(r, "to", &to) || parse_limit(r, &limit) || event_type_arg(ev, r, &type))
        return r->err.code;
    const char *cur = sy_req_query(r, "cursor");
    if (cur && (sy_parse_i64(cur, &offset) || offset < 0))
        return sy_err_field(&r->err, SY_E_INVALID, "cursor",
                            "cursor \"%s\" is not one this API returned", cur);
    /* source=user: what the customer did; source=system: what siyu recorded */
    const char *src = sy_req_query(r, "source");
    int source = SY_SRC_ALL;
    if (src && strcmp(src, "all") != 0) {
        if (strcmp(src, "user") == 0)
            source = SY_SRC_USER;
        else if (strcmp(src, "system") == 0)
            source = SY_SRC_SYSTEM;
        else
            return sy_err_field(&r->err, SY_E_INVALID, "source",
                                "source \"%s\" must be user, system or all", src);
    }
    int rc = sy_contacts_visible(ev->contacts, r->arena, sy_req_actor(r), id, &live, &r->err);
    if (rc) return rc;
    uint32_t *pos = sy_alloc(r->arena, limit * sizeof *pos);
    size_t total = sy_engine_contact_events_src(ev->engine, (uint32_t)live, from, to, type, source,
                                                (size_t)offset, pos, limit);
    size_t got = total > (size_t)offset ? total - (size_t)offset : 0;
    if (got > limit) got = limit;
    json_t *items = json_array();
    for (size_t i = 0; i < got; i++) {
        json_t *o = event_json(ev, r->arena, sy_req_actor(r), pos[i]);
        if (o) json_array_append_new(items, o);
    }
    json_t *next =
        (size_t)offset + got < total
            ? json_string(sy_sprintf(r->arena, "%lld", (long long)(offset + (int64_t)got)))
            : json_null();
    return sy_reply_json(r, 200,
                         json_pack("{s:o, s:I, s:o}", "items", items, "total", (json_int_t)total,
                                   "next_cursor", next));
}

/* Timeline source: events as items of the one contact timeline. */
static int timeline_source(void *ctx, sy_arena *a, const sy_actor *actor, int64_t contact_id,
                           int64_t before, size_t limit, json_t *items, sy_err *e) {
    (void)e;
    sy_events *ev = ctx;
    uint32_t *pos = sy_alloc(a, (limit ? limit : 1) * sizeof *pos);
    size_t total = sy_engine_contact_events(ev->engine, (uint32_t)contact_id, INT64_MIN, before, -1,
                                            0, pos, limit);
    for (size_t i = 0; i < total && i < limit; i++) {
        json_t *o = event_json(ev, a, actor, pos[i]);
        if (o) json_array_append_new(items, o);
    }
    return 0;
}

/* GET /api/v1/contacts/{id}/profile */
static int h_profile(sy_req *r) {
    sy_events *ev = r->ctx;
    int64_t id, live;
    if (sy_req_param_id(r, "id", &id)) return r->err.code;
    int rc = sy_contacts_visible(ev->contacts, r->arena, sy_req_actor(r), id, &live, &r->err);
    if (rc) return rc;
    sy_engine_profile p;
    sy_engine_profile_get(ev->engine, (uint32_t)live, &p);
    json_t *counts = json_object();
    pthread_mutex_lock(&ev->catalog_lock);
    size_t n = ev->n_types;
    uint32_t *c = sy_alloc(r->arena, (n ? n : 1) * sizeof *c);
    sy_engine_contact_type_counts(ev->engine, (uint32_t)live, c, n);
    for (size_t i = 1; i < n; i++)
        if (c[i] && ev->types[i])
            json_object_set_new(counts, ev->types[i]->name, json_integer(c[i]));
    pthread_mutex_unlock(&ev->catalog_lock);
#define T(x) ((x) ? json_integer(x) : json_null())
    return sy_reply_json(r, 200,
                         json_pack("{s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:o}", "contact_id",
                                   (json_int_t)live, "first_seen", T(p.first_seen), "last_seen",
                                   T(p.last_seen), "last_order_at", T(p.last_order_at), "events",
                                   (json_int_t)p.events, "orders", (json_int_t)p.orders,
                                   "spend_fen", (json_int_t)p.spend_fen, "event_counts", counts));
#undef T
}

/* GET /api/v1/events — events by name and time across contacts, newest
 * first. Events of contacts outside the caller's scope are left out. */
static int h_events(sy_req *r) {
    sy_events *ev = r->ctx;
    int64_t from = INT64_MIN, to = INT64_MAX, cursor = -1;
    size_t limit;
    int type;
    if (parse_time_arg(r, "from", &from) || parse_time_arg(r, "to", &to) ||
        parse_limit(r, &limit) || event_type_arg(ev, r, &type))
        return r->err.code;
    const char *cur = sy_req_query(r, "cursor");
    if (cur && (sy_parse_i64(cur, &cursor) || cursor < 0))
        return sy_err_field(&r->err, SY_E_INVALID, "cursor",
                            "cursor \"%s\" is not one this API returned", cur);
    const sy_actor *actor = sy_req_actor(r);
    int64_t size = (int64_t)sy_engine_size(ev->engine);
    int64_t start = cursor >= 0 && cursor < size ? cursor : size - 1;
    json_t *items = json_array();
    int64_t pos = start, scanned = 0;
    for (; pos >= 0 && json_array_size(items) < limit && scanned < 2000000; pos--, scanned++) {
        sy_engine_event e1;
        sy_engine_event_at(ev->engine, (uint32_t)pos, &e1);
        if (e1.ts < from || e1.ts >= to || (type >= 0 && e1.type != type)) continue;
        if (actor->scope != SY_SCOPE_ALL) {
            int64_t live;
            sy_err ignored;
            if (sy_contacts_visible(ev->contacts, r->arena, actor, e1.contact, &live, &ignored))
                continue;
        }
        json_t *o = event_json(ev, r->arena, actor, (uint32_t)pos);
        if (o) json_array_append_new(items, o);
    }
    json_t *next =
        pos >= 0 ? json_string(sy_sprintf(r->arena, "%lld", (long long)pos)) : json_null();
    return sy_reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

/* Volume per day (workspace timezone) of one event type over the last `days` days. */
static json_t *daily_volume(sy_events *ev, uint32_t type, int days) {
    char tz[64];
    sy_staff_timezone(ev->staff, tz, sizeof tz);
    int64_t now = sy_now_ms();
    int off = 0;
    sy_tz_offset(tz, now, &off);
    int64_t day_ms = 86400000LL, local_now = now + off * 1000LL;
    int64_t today = local_now - ((local_now % day_ms) + day_ms) % day_ms - off * 1000LL;
    int64_t from = today - (days - 1) * day_ms;
    int64_t *counts = calloc((size_t)days, sizeof *counts);
    size_t n = sy_engine_size(ev->engine);
    for (size_t pos = 0; pos < n && counts; pos++) {
        sy_engine_event e1;
        sy_engine_event_at(ev->engine, (uint32_t)pos, &e1);
        if (e1.type != type || e1.ts < from) continue;
        int64_t d = (e1.ts - from) / day_ms;
        if (d >= 0 && d < days) counts[d]++;
    }
    json_t *arr = json_array();
    for (int d = 0; d < days && counts; d++) {
        char date[40];
        sy_time_format(from + d * day_ms + off * 1000LL, date, sizeof date);
        date[10] = 0;
        json_array_append_new(arr,
                              json_pack("{s:s, s:I}", "day", date, "count", (json_int_t)counts[d]));
    }
    free(counts);
    return arr;
}

static json_t *type_json(event_type *t, int full) {
    json_t *o =
        json_pack("{s:s, s:I, s:o, s:o, s:o, s:o}", "name", t->name, "count", (json_int_t)t->count,
                  "first_seen", t->first_seen ? json_integer(t->first_seen) : json_null(),
                  "last_seen", t->last_seen ? json_integer(t->last_seen) : json_null(),
                  "description", t->description ? json_string(t->description) : json_null(),
                  "schema", t->schema ? json_incref(t->schema) : json_null());
    if (full) {
        json_t *props = json_array();
        for (size_t i = 0; i < t->n_props; i++) {
            prop_stat *p = &t->props[i];
            json_array_append_new(props,
                                  json_pack("{s:s, s:s, s:o, s:I, s:f}", "name", p->name, "type",
                                            p->value_type, "example",
                                            p->example ? json_string(p->example) : json_null(),
                                            "count", (json_int_t)p->count, "fill_rate",
                                            t->count ? (double)p->count / (double)t->count : 0.0));
        }
        json_object_set_new(o, "properties", props);
    }
    return o;
}

/* GET /api/v1/events/catalog */
static int h_catalog(sy_req *r) {
    sy_events *ev = r->ctx;
    json_t *items = json_array();
    pthread_mutex_lock(&ev->catalog_lock);
    for (size_t i = 1; i < ev->n_types; i++)
        if (ev->types[i]) json_array_append_new(items, type_json(ev->types[i], 0));
    pthread_mutex_unlock(&ev->catalog_lock);
    size_t n = json_array_size(items);
    return sy_reply_json(
        r, 200,
        json_pack("{s:o, s:I, s:n}", "items", items, "total", (json_int_t)n, "next_cursor"));
}

static event_type *type_by_name(sy_events *ev, const char *name) {
    uint32_t id = name ? strdict_get(&ev->type_ids, name) : 0;
    return id ? ev->types[id] : NULL;
}

/* GET /api/v1/events/catalog/{name} */
static int h_catalog_one(sy_req *r) {
    sy_events *ev = r->ctx;
    const char *name = sy_req_param(r, "name");
    const char *dv = sy_req_query(r, "days");
    int64_t days = 30;
    if (dv && (sy_parse_i64(dv, &days) || days < 1 || days > 366))
        return sy_err_field(&r->err, SY_E_INVALID, "days", "days \"%s\" must be from 1 to 366", dv);
    pthread_mutex_lock(&ev->catalog_lock);
    event_type *t = type_by_name(ev, name);
    json_t *o = t ? type_json(t, 1) : NULL;
    uint32_t id = t ? t->id : 0;
    pthread_mutex_unlock(&ev->catalog_lock);
    if (!o)
        return sy_err_set(&r->err, SY_E_NOT_FOUND, "no event named \"%s\" has been received", name);
    json_object_set_new(o, "daily", daily_volume(ev, id, (int)days));
    return sy_reply_json(r, 200, o);
}

typedef struct schema_job {
    uint32_t type_id;
    const char *schema; /* NULL clears */
    const char *description;
    int set_description;
    const sy_actor *actor;
    const char *name;
} schema_job;

static int schema_write(sy_db *db, void *arg, sy_err *e) {
    schema_job *j = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(
        db,
        j->set_description ? "UPDATE event_types SET schema = ?2, description = ?3 WHERE id = ?1"
                           : "UPDATE event_types SET schema = ?2 WHERE id = ?1",
        &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->type_id);
    sy_stmt_bind_text(st, 2, j->schema);
    if (j->set_description) sy_stmt_bind_text(st, 3, j->description);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    json_t *detail = json_pack("{s:s, s:s?}", "event", j->name, "schema", j->schema);
    char target[256];
    snprintf(target, sizeof target, "event:%s", j->name);
    rc = sy_audit_record(db, j->actor, "events.schema", target, detail, e);
    json_decref(detail);
    return rc;
}

/* PUT /api/v1/events/catalog/{name} {"schema": {...}|null, "description": "..."} */
static int h_catalog_put(sy_req *r) {
    sy_events *ev = r->ctx;
    const char *name = sy_req_param(r, "name");
    json_t *body;
    static const char *const allowed[] = {"schema", "description", NULL};
    if (sy_req_json(r, &body) || sy_json_only(body, allowed, &r->err)) return r->err.code;
    json_t *schema = json_object_get(body, "schema");
    schema_job j = {0};
    j.actor = sy_req_actor(r);
    j.name = name;
    if (schema && !json_is_null(schema)) {
        if (!json_is_object(schema))
            return sy_err_field(&r->err, SY_E_INVALID, "schema",
                                "field \"schema\" must be an object or null");
        static const char *const skeys[] = {"required", "properties", NULL};
        if (sy_json_only(schema, skeys, &r->err)) {
            char inner[sizeof r->err.field];
            snprintf(inner, sizeof inner, "%s", r->err.field);
            snprintf(r->err.field, sizeof r->err.field, "schema.%.100s", inner);
            return r->err.code;
        }
        json_t *req = json_object_get(schema, "required"),
               *props = json_object_get(schema, "properties");
        if (req && !json_is_array(req))
            return sy_err_field(&r->err, SY_E_INVALID, "schema.required",
                                "\"required\" must be an array of property names");
        size_t i;
        json_t *v;
        json_array_foreach(req, i, v) if (!json_is_string(v)) return sy_err_field(
            &r->err, SY_E_INVALID, "schema.required",
            "\"required\" must be an array of property names");
        if (props && !json_is_object(props))
            return sy_err_field(&r->err, SY_E_INVALID, "schema.properties",
                                "\"properties\" must map names to types");
        const char *k;
        json_object_foreach(props, k, v) {
            const char *t = json_string_value(v);
            static const char *const types[] = {"string", "number", "integer", "boolean",
                                                "object", "array",  NULL};
            int ok = 0;
            for (const char *const *tt = types; *tt && t; tt++)
                ok |= strcmp(*tt, t) == 0;
            if (!ok)
                return sy_err_field(
                    &r->err, SY_E_INVALID, sy_sprintf(r->arena, "schema.properties.%s", k),
                    "type of \"%s\" must be string, number, integer, boolean, object or array", k);
        }
        char *s = json_dumps(schema, JSON_COMPACT);
        j.schema = sy_strdup(r->arena, s);
        free(s);
    }
    const char *desc = NULL;
    int has_desc = 0;
    if (sy_json_str(body, "description", &desc, &has_desc, &r->err)) return r->err.code;
    j.description = desc;
    j.set_description = json_object_get(body, "description") != NULL;
    pthread_mutex_lock(&ev->catalog_lock);
    event_type *t = type_by_name(ev, name);
    if (t) j.type_id = t->id;
    pthread_mutex_unlock(&ev->catalog_lock);
    if (!t)
        return sy_err_set(&r->err, SY_E_NOT_FOUND, "no event named \"%s\" has been received", name);
    if (!json_object_get(body, "schema")) {
        /* keep the schema as it is */
        pthread_mutex_lock(&ev->catalog_lock);
        char *s = t->schema ? json_dumps(t->schema, JSON_COMPACT) : NULL;
        pthread_mutex_unlock(&ev->catalog_lock);
        j.schema = s ? sy_strdup(r->arena, s) : NULL;
        free(s);
    }
    int rc = sy_store_write(ev->st, schema_write, &j, &r->err);
    if (rc) return rc;
    pthread_mutex_lock(&ev->catalog_lock);
    if (t->schema) atomic_fetch_sub(&ev->n_schemas, 1);
    json_decref(t->schema);
    t->schema = j.schema ? json_loads(j.schema, 0, NULL) : NULL;
    if (t->schema) atomic_fetch_add(&ev->n_schemas, 1);
    if (j.set_description) {
        free(t->description);
        t->description = desc ? strdup(desc) : NULL;
    }
    json_t *o = type_json(t, 1);
    pthread_mutex_unlock(&ev->catalog_lock);
    return sy_reply_json(r, 200, o);
}

/* ---- order settings ---- */

static int h_settings_get(sy_req *r) {
    sy_events *ev = r->ctx;
    sy_db *db;
    int rc = sy_store_read_begin(ev->st, &db, &r->err);
    if (rc) return rc;
    sy_stmt *st;
    json_t *v = NULL;
    rc = sy_db_prepare(db, "SELECT value FROM events_settings WHERE key = 'orders'", &st, &r->err);
    if (rc == 0 && sy_stmt_step(st, &r->err) == SY_ROW)
        v = json_loads(sy_stmt_col_text(st, 0), 0, NULL);
    sy_stmt_finalize(st);
    sy_store_read_end(ev->st, db);
    if (rc) return rc;
    return sy_reply_json(r, 200, v ? v : json_object());
}

typedef struct settings_job {
    const char *value;
    const sy_actor *actor;
} settings_job;

static int settings_write(sy_db *db, void *arg, sy_err *e) {
    settings_job *j = arg;
    sy_stmt *st;
    int rc =
        sy_db_prepare(db, "UPDATE events_settings SET value = ?1 WHERE key = 'orders'", &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, j->value);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    json_t *detail = json_loads(j->value, 0, NULL);
    rc = sy_audit_record(db, j->actor, "events.order_settings", "settings:orders", detail, e);
    json_decref(detail);
    return rc;
}

static int check_rules(sy_req *r, json_t *arr, const char *field) {
    if (!json_is_array(arr))
        return sy_err_field(&r->err, SY_E_INVALID, field, "field \"%s\" must be an array", field);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char *f = sy_sprintf(r->arena, "%s[%zu]", field, i);
        static const char *const keys[] = {"event", "amount", NULL};
        if (!json_is_object(v))
            return sy_err_field(&r->err, SY_E_INVALID, f, "each rule must be an object");
        if (sy_json_only(v, keys, &r->err)) {
            char inner[sizeof r->err.field];
            snprintf(inner, sizeof inner, "%s", r->err.field);
            snprintf(r->err.field, sizeof r->err.field, "%.60s.%.60s", f, inner);
            return r->err.code;
        }
        json_t *ename = json_object_get(v, "event"), *am = json_object_get(v, "amount");
        if (!json_is_string(ename) || !json_string_length(ename))
            return sy_err_field(&r->err, SY_E_INVALID, sy_sprintf(r->arena, "%s.event", f),
                                "\"event\" is required");
        if (!json_is_array(am) || json_array_size(am) == 0 || json_array_size(am) > 4)
            return sy_err_field(
                &r->err, SY_E_INVALID, sy_sprintf(r->arena, "%s.amount", f),
                "\"amount\" must list 1 to 4 property names holding the amount in yuan");
        size_t k;
        json_t *a;
        json_array_foreach(am, k, a) if (!json_is_string(a)) return sy_err_field(
            &r->err, SY_E_INVALID, sy_sprintf(r->arena, "%s.amount", f),
            "\"amount\" must list property names");
    }
    return 0;
}

/* PUT /api/v1/events/settings {"orders":[…],"refunds":[…]} */
static int h_settings_put(sy_req *r) {
    sy_events *ev = r->ctx;
    json_t *body;
    static const char *const allowed[] = {"orders", "refunds", NULL};
    if (sy_req_json(r, &body) || sy_json_only(body, allowed, &r->err)) return r->err.code;
    if (!json_object_get(body, "orders"))
        return sy_err_field(&r->err, SY_E_INVALID, "orders", "field \"orders\" is required");
    if (!json_object_get(body, "refunds"))
        return sy_err_field(&r->err, SY_E_INVALID, "refunds", "field \"refunds\" is required");
    if (check_rules(r, json_object_get(body, "orders"), "orders") ||
        check_rules(r, json_object_get(body, "refunds"), "refunds"))
        return r->err.code;
    char *s = json_dumps(body, JSON_COMPACT);
    settings_job j = {sy_strdup(r->arena, s), sy_req_actor(r)};
    free(s);
    int rc = sy_store_write(ev->st, settings_write, &j, &r->err);
    if (rc) return rc;
    /* the committer reads the rules under catalog_lock */
    pthread_mutex_lock(&ev->catalog_lock);
    sy_db *db;
    if (sy_store_read_begin(ev->st, &db, &r->err) == 0) {
        sy_orders_load(ev, db, &r->err);
        sy_store_read_end(ev->st, db);
    }
    pthread_mutex_unlock(&ev->catalog_lock);
    return sy_reply_json(r, 200, json_incref(body));
}

/* ---- identity conflicts ---- */

static int h_conflicts(sy_req *r) {
    sy_events *ev = r->ctx;
    size_t limit;
    if (parse_limit(r, &limit)) return r->err.code;
    const char *status = sy_req_query(r, "status");
    if (!status) status = "open";
    if (strcmp(status, "open") && strcmp(status, "dismissed") && strcmp(status, "all"))
        return sy_err_field(&r->err, SY_E_INVALID, "status",
                            "status \"%s\" must be open, dismissed or all", status);
    const char *cur = sy_req_query(r, "cursor");
    int64_t after = INT64_MAX;
    if (cur && (sy_parse_i64(cur, &after) || after <= 0))
        return sy_err_field(&r->err, SY_E_INVALID, "cursor",
                            "cursor \"%s\" is not one this API returned", cur);
    sy_db *db;
    int rc = sy_store_read_begin(ev->st, &db, &r->err);
    if (rc) return rc;
    sy_stmt *st;
    int64_t total = 0;
    json_t *items = json_array();
    rc =
        sy_db_prepare(db, "SELECT count(*) FROM identity_conflicts WHERE ?1 = 'all' OR status = ?1",
                      &st, &r->err);
    if (rc == 0) {
        sy_stmt_bind_text(st, 1, status);
        if (sy_stmt_step(st, &r->err) == SY_ROW) total = sy_stmt_col_int(st, 0);
        sy_stmt_finalize(st);
        rc = sy_db_prepare(db,
                           "SELECT id, at, contact_a, contact_b, identity_type, identity_value, "
                           "message_id, status "
                           "FROM identity_conflicts WHERE (?1 = 'all' OR status = ?1) AND id < ?2 "
                           "ORDER BY id DESC LIMIT ?3",
                           &st, &r->err);
    }
    int64_t last = 0;
    if (rc == 0) {
        sy_stmt_bind_text(st, 1, status);
        sy_stmt_bind_int(st, 2, after);
        sy_stmt_bind_int(st, 3, (int64_t)limit);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            last = sy_stmt_col_int(st, 0);
            json_array_append_new(
                items,
                json_pack("{s:I, s:I, s:I, s:o, s:s, s:s, s:s?, s:s}", "id", (json_int_t)last, "at",
                          (json_int_t)sy_stmt_col_int(st, 1), "contact_id",
                          (json_int_t)sy_stmt_col_int(st, 2), "other_contact_id",
                          sy_stmt_col_int(st, 3) ? json_integer(sy_stmt_col_int(st, 3))
                                                 : json_null(),
                          "identity_type", sy_stmt_col_text(st, 4), "identity_value",
                          sy_stmt_col_text(st, 5), "message_id", sy_stmt_col_text(st, 6), "status",
                          sy_stmt_col_text(st, 7)));
        }
        sy_stmt_finalize(st);
        if (rc == SY_DONE) rc = 0;
    }
    sy_store_read_end(ev->st, db);
    if (rc) {
        json_decref(items);
        return rc;
    }
    json_t *next = json_array_size(items) == limit
                       ? json_string(sy_sprintf(r->arena, "%lld", (long long)last))
                       : json_null();
    return sy_reply_json(r, 200,
                         json_pack("{s:o, s:I, s:o}", "items", items, "total", (json_int_t)total,
                                   "next_cursor", next));
}

typedef struct dismiss_job {
    int64_t id;
    const sy_actor *actor;
} dismiss_job;

static int dismiss_write(sy_db *db, void *arg, sy_err *e) {
    dismiss_job *j = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(
        db, "UPDATE identity_conflicts SET status = 'dismissed' WHERE id = ?1 AND status = 'open'",
        &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (sy_db_changes(db) == 0)
        return sy_err_set(e, SY_E_NOT_FOUND, "no open identity conflict %lld", (long long)j->id);
    char target[48];
    snprintf(target, sizeof target, "identity_conflict:%lld", (long long)j->id);
    return sy_audit_record(db, j->actor, "identity.conflict_dismiss", target, NULL, e);
}

static int h_conflict_dismiss(sy_req *r) {
    sy_events *ev = r->ctx;
    dismiss_job j = {0, sy_req_actor(r)};
    if (sy_req_param_id(r, "id", &j.id)) return r->err.code;
    if (r->body_len) {
        json_t *body;
        static const char *const none[] = {NULL};
        if (sy_req_json(r, &body) || sy_json_only(body, none, &r->err)) return r->err.code;
    }
    int rc = sy_store_write(ev->st, dismiss_write, &j, &r->err);
    if (rc) return rc;
    return sy_reply_json(r, 200,
                         json_pack("{s:I, s:s}", "id", (json_int_t)j.id, "status", "dismissed"));
}

/* ---- metrics ---- */

static void metrics(void *ctx, sy_buf *out) {
    sy_events *ev = ctx;
    sy_events_stats s;
    sy_events_get_stats(ev, &s);
    size_t total, base;
    sy_engine_memory(ev->engine, &total, &base);
    sy_buf_addf(
        out,
        "# HELP siyu_events_total Events stored in the log.\n# TYPE siyu_events_total "
        "counter\nsiyu_events_total %llu\n"
        "# HELP siyu_events_duplicates_total Messages acknowledged again without storing (same "
        "messageId).\n"
        "# TYPE siyu_events_duplicates_total counter\nsiyu_events_duplicates_total %llu\n"
        "# HELP siyu_events_commits_total Group commits.\n# TYPE siyu_events_commits_total "
        "counter\n"
        "siyu_events_commits_total %llu\n"
        "# HELP siyu_engine_bytes Memory held by the event index.\n# TYPE siyu_engine_bytes gauge\n"
        "siyu_engine_bytes %zu\n",
        (unsigned long long)s.events, (unsigned long long)s.duplicates,
        (unsigned long long)s.commits, total);
}

#define SEG(path)                                                                                  \
    { "POST", path, h_ingest, NULL, SY_AUTH_NONE, 0, SY_EV_MAX_BODY, "Segment-spec ingestion", 1 }

static sy_route routes[] = {
    SEG("/v1/batch"),
    SEG("/v1/identify"),
    SEG("/v1/track"),
    SEG("/v1/page"),
    SEG("/v1/screen"),
    SEG("/v1/group"),
    SEG("/v1/alias"),
    {"GET", "/api/v1/events", h_events, NULL, SY_AUTH_STAFF, SY_PERM_CONTACTS_READ, 0,
     "Events by name and time"},
    {"GET", "/api/v1/contacts/{id}/events", h_contact_events, NULL, SY_AUTH_STAFF,
     SY_PERM_CONTACTS_READ, 0, "A contact's events, newest first"},
    {"GET", "/api/v1/contacts/{id}/profile", h_profile, NULL, SY_AUTH_STAFF, SY_PERM_CONTACTS_READ,
     0, "A contact's computed profile"},
    {"GET", "/api/v1/events/catalog", h_catalog, NULL, SY_AUTH_STAFF, SY_PERM_CONTACTS_READ, 0,
     "Event catalog"},
    {"GET", "/api/v1/events/catalog/{name}", h_catalog_one, NULL, SY_AUTH_STAFF,
     SY_PERM_CONTACTS_READ, 0, "One event: properties, fill rates, daily volume"},
    {"PUT", "/api/v1/events/catalog/{name}", h_catalog_put, NULL, SY_AUTH_STAFF,
     SY_PERM_SETTINGS_MANAGE, 0, "Declare an event's schema and description"},
    {"GET", "/api/v1/events/settings", h_settings_get, NULL, SY_AUTH_STAFF, SY_PERM_CONTACTS_READ,
     0, "Order and refund rules"},
    {"PUT", "/api/v1/events/settings", h_settings_put, NULL, SY_AUTH_STAFF, SY_PERM_SETTINGS_MANAGE,
     0, "Set order and refund rules"},
    {"GET", "/api/v1/identity/conflicts", h_conflicts, NULL, SY_AUTH_STAFF, SY_PERM_CONTACTS_MERGE,
     0, "Identity conflicts for review"},
    {"POST", "/api/v1/identity/conflicts/{id}/dismiss", h_conflict_dismiss, NULL, SY_AUTH_STAFF,
     SY_PERM_CONTACTS_MERGE, 0, "Dismiss an identity conflict"},
};

void sy_events_api_register(sy_events *ev, sy_http *h) {
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++)
        routes[i].ctx = ev;
    sy_http_add_routes(h, routes, SY_ARRAY_LEN(routes));
    sy_http_add_metrics(h, metrics, ev);
    sy_contacts_add_timeline_source(ev->contacts, timeline_source, ev);
}

void sy_events_register(sy_events *ev, sy_http *h) {
    sy_events_api_register(ev, h);
}
