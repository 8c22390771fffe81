/* contacts_api.c — the lead library's HTTP routes. Each handler: parse and
 * validate → (permission bits are checked by the router from the route
 * table) → do, with the data scope inside the SQL → audit where required →
 * reply. Contacts outside the caller's scope answer 404 not_found so their
 * existence does not leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contacts_int.h"
#include "csv/csv.h"

#define CTX(r) ((sy_contacts *)(r)->ctx)

static const sy_actor *actor_of(sy_req *r) {
    return sy_req_actor(r);
}

/* A write operation run as one job on the writer thread. */
typedef struct op {
    sy_contacts *c;
    sy_req *r;
    const sy_actor *actor;
    sy_arena *a;
    int64_t id, id2, out_id;
    contact_fields f;
    json_t *body;
    const char *s1, *s2, *s3;
    int64_t i1;
    json_t *result; /* set on success only */
    int (*fn)(struct op *o, sy_db *db, sy_err *e);
} op;

static int op_job(sy_db *db, void *arg, sy_err *e) {
    op *o = arg;
    return o->fn(o, db, e);
}

static int run_op(op *o) {
    return sy_store_write(o->c->st, op_job, o, &o->r->err);
}

static void op_init(op *o, sy_req *r) {
    memset(o, 0, sizeof *o);
    o->c = CTX(r);
    o->r = r;
    o->actor = actor_of(r);
    o->a = r->arena;
}

static int reply_result(op *o, int status) {
    json_t *v = o->result ? o->result : json_object();
    return sy_reply_json(o->r, status, v);
}

/* Reads a body and rejects unknown keys. */
static int body_only(sy_req *r, const char *const *allowed, json_t **out) {
    int rc = sy_req_json(r, out);
    if (rc) return rc;
    return sy_json_only(*out, allowed, &r->err);
}

static int load_defs(sy_contacts *c, sy_arena *a, attr_defs *d, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    rc = sy_contacts_load_defs(db, a, d, e);
    sy_store_read_end(c->st, db);
    return rc;
}

static int check_refs(sy_contacts *c, contact_fields *f, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    rc = sy_contacts_check_refs(c, db, f, e);
    sy_store_read_end(c->st, db);
    return rc;
}

/* --- contacts --- */

static int job_create(op *o, sy_db *db, sy_err *e) {
    int rc = sy_contacts_insert(db, o->actor, &o->f, 0, sy_now_ms(), &o->out_id, e);
    if (rc) return rc;
    return sy_contacts_get_json(db, o->a, o->actor, o->out_id, 1, &o->result, e);
}

static int h_create(sy_req *r) {
    op o;
    op_init(&o, r);
    attr_defs defs;
    int rc;
    if ((rc = sy_req_json(r, &o.body)) || (rc = load_defs(o.c, r->arena, &defs, &r->err)) ||
        (rc = sy_contacts_parse_fields(r->arena, o.body, &defs, 1, &o.f, &r->err)))
        return rc;
    /* someone who sees only their own contacts keeps what they create */
    if (!(o.f.set & F_OWNER) && o.actor && o.actor->scope == SY_SCOPE_OWN && o.actor->staff_id) {
        o.f.owner_id = o.actor->staff_id;
        o.f.set |= F_OWNER;
    }
    if ((rc = check_refs(o.c, &o.f, &r->err))) return rc;
    o.fn = job_create;
    if ((rc = run_op(&o))) return rc;
    char loc[64];
    snprintf(loc, sizeof loc, "/api/v1/contacts/%lld", (long long)o.out_id);
    sy_reply_header(r, "Location", loc);
    return reply_result(&o, 201);
}

static int h_get(sy_req *r) {
    int64_t id, live;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    json_t *out = NULL;
    rc = sy_contacts_resolve(db, r->arena, actor_of(r), id, &live, &r->err);
    if (rc == 0) rc = sy_contacts_get_json(db, r->arena, actor_of(r), live, 1, &out, &r->err);
    sy_store_read_end(CTX(r)->st, db);
    if (rc) return rc;
    /* a merged id answers with the contact it was merged into */
    if (live != id) json_object_set_new(out, "merged_from", json_integer(id));
    return sy_reply_json(r, 200, out);
}

static int job_patch(op *o, sy_db *db, sy_err *e) {
    int64_t live;
    int rc = sy_contacts_resolve(db, o->a, o->actor, o->id, &live, e);
    if (rc) return rc;
    if ((rc = sy_contacts_apply(db, o->actor, live, &o->f, "api", 0, sy_now_ms(), e))) return rc;
    return sy_contacts_get_json(db, o->a, o->actor, live, 1, &o->result, e);
}

static int h_patch(sy_req *r) {
    op o;
    op_init(&o, r);
    attr_defs defs;
    int rc;
    if ((rc = sy_req_param_id(r, "id", &o.id)) || (rc = sy_req_json(r, &o.body)) ||
        (rc = load_defs(o.c, r->arena, &defs, &r->err)) ||
        (rc = sy_contacts_parse_fields(r->arena, o.body, &defs, 0, &o.f, &r->err)) ||
        (rc = check_refs(o.c, &o.f, &r->err)))
        return rc;
    o.fn = job_patch;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 200);
}

/* --- list, pool, export --- */

static int query_id(sy_req *r, const char *name, int64_t *out) {
    const char *v = sy_req_query(r, name);
    *out = 0;
    if (!v) return 0;
    if (sy_parse_i64(v, out) || *out <= 0)
        return sy_err_field(&r->err, SY_E_INVALID, name,
                            "query parameter %s=\"%s\" must be a positive integer", name, v);
    return 0;
}

static int query_time(sy_req *r, const char *name, int64_t *out, int *has) {
    const char *v = sy_req_query(r, name);
    *has = 0;
    if (!v) return 0;
    if (sy_parse_i64(v, out) && sy_time_parse(v, out))
        return sy_err_field(&r->err, SY_E_INVALID, name,
                            "query parameter %s=\"%s\" must be milliseconds or a date (2026-01-31)",
                            name, v);
    *has = 1;
    return 0;
}

/* Parses the list filter shared by list, pool and export. The filter shape
 * keeps room for tag_id / segment_id (later issues): they are recognised and
 * refused until those modules exist, so scripts do not silently get
 * unfiltered results. */
static int parse_filter(sy_req *r, contact_filter *f) {
    memset(f, 0, sizeof *f);
    int rc;
    f->q = sy_req_query(r, "q");
    if (f->q && strlen(f->q) > 100)
        return sy_err_field(&r->err, SY_E_INVALID, "q", "q is longer than 100 bytes");
    const char *ow = sy_req_query(r, "owner_id");
    if (ow && strcmp(ow, "none") == 0)
        f->unowned = 1;
    else if ((rc = query_id(r, "owner_id", &f->owner_id)))
        return rc;
    if ((rc = query_id(r, "store_id", &f->store_id)) ||
        (rc = query_id(r, "department_id", &f->department_id)) ||
        (rc = query_id(r, "source_id", &f->source_id)))
        return rc;
    const char *st = sy_req_query(r, "status");
    if (st && sy_contacts_status_parse(st, &f->status))
        return sy_err_field(&r->err, SY_E_INVALID, "status",
                            "status \"%s\" is not one of pending, following, won, no_intent, lost",
                            st);
    if ((rc = query_time(r, "created_from", &f->created_from, &f->has_from)) ||
        (rc = query_time(r, "created_to", &f->created_to, &f->has_to)))
        return rc;
    const char *sort = sy_req_query(r, "sort");
    f->sort = "created_at";
    f->desc = 1;
    if (sort) {
        if (sort[0] == '-') sort++;
        if (strcmp(sort, "created_at") && strcmp(sort, "updated_at") && strcmp(sort, "name"))
            return sy_err_field(&r->err, SY_E_INVALID, "sort",
                                "sort \"%s\" is not created_at, updated_at or name", sort);
        f->sort = sort;
        f->desc = sy_req_query(r, "sort")[0] == '-' || strcmp(sort, "name") != 0;
    }
    const char *order = sy_req_query(r, "order");
    if (order) {
        if (strcmp(order, "asc") == 0)
            f->desc = 0;
        else if (strcmp(order, "desc") == 0)
            f->desc = 1;
        else
            return sy_err_field(&r->err, SY_E_INVALID, "order", "order \"%s\" is not asc or desc",
                                order);
    }
    static const char *const later[] = {"tag_id", "segment_id", NULL};
    for (const char *const *k = later; *k; k++)
        if (sy_req_query(r, *k))
            return sy_err_field(&r->err, SY_E_INVALID, *k,
                                "filter %s is not available yet (tags and segments come later)",
                                *k);
    return 0;
}

static int query_limit(sy_req *r, size_t *limit) {
    return sy_req_limit(r, limit);
}

static int list_common(sy_req *r, int pool) {
    contact_filter f;
    size_t limit;
    int rc;
    if ((rc = parse_filter(r, &f)) || (rc = query_limit(r, &limit))) return rc;
    f.pool = pool;
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    json_t *out = NULL;
    rc = sy_contacts_list(db, r->arena, actor_of(r), &f, limit, sy_req_query(r, "cursor"), &out,
                          &r->err);
    sy_store_read_end(CTX(r)->st, db);
    if (rc) return rc;
    return sy_reply_json(r, 200, out);
}

static int h_list(sy_req *r) {
    return list_common(r, 0);
}
static int h_pool(sy_req *r) {
    return list_common(r, 1);
}

static int job_audit(op *o, sy_db *db, sy_err *e) {
    return sy_audit_record(db, o->actor, o->s1, o->s2, o->body, e);
}

static int h_export(sy_req *r) {
    contact_filter f;
    int rc = parse_filter(r, &f);
    if (rc) return rc;
    const sy_actor *actor = actor_of(r);
    int unmask = actor && (actor->perms & SY_PERM_PHONE_UNMASK);
    sy_buf out = SY_BUF_INIT;
    size_t rows = 0;
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    rc = sy_contacts_export_rows(db, r->arena, actor, &f, unmask, &out, &rows, &r->err);
    sy_store_read_end(CTX(r)->st, db);
    if (rc == 0) {
        /* the export is recorded before any byte leaves */
        op o;
        op_init(&o, r);
        o.s1 = "contacts.export";
        o.s2 = "contacts";
        o.body = json_pack("{s:I,s:b,s:o,s:o,s:o,s:o}", "rows", (json_int_t)rows, "phones_unmasked",
                           unmask, "q", sy_contacts_jstr(f.q), "owner_id",
                           sy_contacts_jid(f.owner_id), "store_id", sy_contacts_jid(f.store_id),
                           "status", sy_contacts_jstr(f.status));
        o.fn = job_audit;
        rc = run_op(&o);
        json_decref(o.body);
    }
    if (rc == 0) {
        pthread_mutex_lock(&CTX(r)->lock);
        CTX(r)->n_exports++;
        pthread_mutex_unlock(&CTX(r)->lock);
        sy_reply_header(r, "Content-Disposition", "attachment; filename=\"contacts.csv\"");
        rc = sy_reply_raw(r, 200, "text/csv; charset=utf-8", out.p ? out.p : "", out.len);
    }
    sy_buf_release(&out);
    return rc;
}

/* --- identity lookup --- */

static int h_lookup(sy_req *r) {
    const char *type = sy_req_query(r, "type"), *value = sy_req_query(r, "value");
    if (!type)
        return sy_err_field(&r->err, SY_E_INVALID, "type", "query parameter type is required");
    if (!value)
        return sy_err_field(&r->err, SY_E_INVALID, "value", "query parameter value is required");
    char *nv;
    int rc = sy_contacts_identity_normalize(r->arena, type, value, &nv, &r->err);
    if (rc) return rc;
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    sy_stmt *st;
    int64_t cid = 0, live = 0;
    json_t *out = NULL;
    rc = sy_db_prepare(db, "SELECT contact_id FROM contact_identities WHERE type = ? AND value = ?",
                       &st, &r->err);
    if (rc == 0) {
        sy_stmt_bind_text(st, 1, type);
        sy_stmt_bind_text(st, 2, nv);
        rc = sy_stmt_step(st, &r->err);
        if (rc == SY_ROW) cid = sy_stmt_col_int(st, 0);
        sy_stmt_finalize(st);
        rc = rc < 0 ? rc : 0;
    }
    if (rc == 0 && !cid)
        rc = sy_err_set(&r->err, SY_E_NOT_FOUND, "no contact has %s \"%s\"", type, value);
    if (rc == 0 && sy_contacts_resolve(db, r->arena, actor_of(r), cid, &live, &r->err))
        rc = sy_err_set(&r->err, SY_E_NOT_FOUND, "no contact has %s \"%s\"", type, value);
    if (rc == 0) rc = sy_contacts_get_json(db, r->arena, actor_of(r), live, 1, &out, &r->err);
    sy_store_read_end(CTX(r)->st, db);
    if (rc) return rc;
    return sy_reply_json(r, 200, out);
}

/* --- timeline and follow-ups --- */

/* Masks phone values inside change items for callers without the right. */
static void mask_change(sy_arena *a, const sy_actor *actor, json_t *item) {
    if (!actor || (actor->perms & SY_PERM_PHONE_UNMASK)) return;
    json_t *ch = json_object_get(json_object_get(item, "changes"), "phone");
    if (!ch)
        ch = json_object_get(json_object_get(item, "filled"), "phone")
                 ? json_object_get(item, "filled")
                 : NULL;
    if (!ch) return;
    const char *keys[] = {"from", "to", "phone"};
    for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(ch, keys[i]);
        if (json_is_string(v))
            json_object_set_new(ch, keys[i],
                                json_string(sy_contacts_phone_out(a, actor, json_string_value(v))));
    }
}

/* Orders timeline items newest first (at, then id). */
static int item_cmp(const void *x, const void *y) {
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int64_t ta = json_integer_value(json_object_get(a, "at")),
            tb = json_integer_value(json_object_get(b, "at"));
    if (ta != tb) return ta > tb ? -1 : 1;
    int64_t ia = json_integer_value(json_object_get(a, "id")),
            ib = json_integer_value(json_object_get(b, "id"));
    return ia > ib ? -1 : ia < ib ? 1 : 0;
}

/* The timeline: this module's items (follow-ups, changes, merges …) plus
 * those of registered sources (events, messages), merged newest first. The
 * cursor is "<at>:<id>" of the last item returned. total counts this
 * module's items only (sources may be too large to count per request). */
static int timeline_common(sy_req *r, const char *kind) {
    int64_t id, live;
    size_t limit;
    int rc;
    if ((rc = sy_req_param_id(r, "id", &id)) || (rc = query_limit(r, &limit))) return rc;
    int64_t before_at = INT64_MAX, before_id = INT64_MAX;
    const char *cur = sy_req_query(r, "cursor");
    if (cur) {
        long long ca, ci;
        char tail;
        if (sscanf(cur, "%lld:%lld%c", &ca, &ci, &tail) != 2 || ca < 0 || ci < 0)
            return sy_err_field(&r->err, SY_E_INVALID, "cursor", "cursor \"%.40s\" is not valid",
                                cur);
        before_at = ca;
        before_id = ci;
    }
    sy_contacts *c = CTX(r);
    sy_db *db;
    if ((rc = sy_store_read_begin(c->st, &db, &r->err))) return rc;
    json_t *items = json_array();
    int64_t total = 0;
    rc = sy_contacts_resolve(db, r->arena, actor_of(r), id, &live, &r->err);
    /* the timeline of a winner includes the history of contacts merged into it */
    const char *scope = "contact_id IN (SELECT id FROM contacts WHERE id = ?1 OR merged_into = ?1)";
    const char *kf = kind ? " AND kind = ?2" : "";
    sy_stmt *st;
    if (rc == 0 &&
        (rc = sy_db_prepare(
             db,
             sy_sprintf(r->arena, "SELECT count(*) FROM contact_timeline WHERE %s%s", scope, kf),
             &st, &r->err)) == 0) {
        sy_stmt_bind_int(st, 1, live);
        if (kind) sy_stmt_bind_text(st, 2, kind);
        if (sy_stmt_step(st, &r->err) == SY_ROW) total = sy_stmt_col_int(st, 0);
        sy_stmt_finalize(st);
    }
    if (rc == 0 &&
        (rc = sy_db_prepare(
             db,
             sy_sprintf(
                 r->arena,
                 "SELECT id, contact_id, kind, at, by_staff, data FROM contact_timeline WHERE %s%s "
                 "AND (at < ?3 OR (at = ?3 AND id < ?4)) ORDER BY at DESC, id DESC LIMIT ?5",
                 scope, kf),
             &st, &r->err)) == 0) {
        sy_stmt_bind_int(st, 1, live);
        if (kind) sy_stmt_bind_text(st, 2, kind);
        sy_stmt_bind_int(st, 3, before_at);
        sy_stmt_bind_int(st, 4, before_id);
        sy_stmt_bind_int(st, 5, (int64_t)limit + 1);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            const char *d = sy_stmt_col_text(st, 5);
            json_t *item = d ? json_loads(d, 0, NULL) : NULL;
            if (!item || !json_is_object(item)) {
                json_decref(item);
                item = json_object();
            }
            json_object_set_new(item, "id", json_integer(sy_stmt_col_int(st, 0)));
            json_object_set_new(item, "contact_id", json_integer(sy_stmt_col_int(st, 1)));
            json_object_set_new(item, "kind", json_string(sy_stmt_col_text(st, 2)));
            json_object_set_new(item, "at", json_integer(sy_stmt_col_int(st, 3)));
            json_object_set_new(item, "by", sy_contacts_jid(sy_stmt_col_int(st, 4)));
            mask_change(r->arena, actor_of(r), item);
            json_array_append_new(items, item);
        }
        sy_stmt_finalize(st);
        rc = rc < 0 ? rc : 0;
    }
    sy_store_read_end(c->st, db);
    /* items of other modules (only when no kind filter of ours applies) */
    for (int i = 0; rc == 0 && !kind && i < c->n_timeline_sources; i++) {
        json_t *more = json_array();
        sy_err se;
        sy_err_clear(&se);
        /* sources page by time only: ask for items strictly before the
         * cursor's millisecond, or up to it on the first page */
        int64_t b = cur ? before_at : INT64_MAX;
        if (c->timeline_sources[i].fn(c->timeline_sources[i].ctx, r->arena, sy_req_actor(r), live,
                                      b, limit + 1, more, &se) == 0)
            json_array_extend(items, more);
        else
            sy_warn("msg=\"timeline source failed\" err=\"%s\"", se.msg);
        json_decref(more);
    }
    if (rc) {
        json_decref(items);
        return rc;
    }
    size_t n = json_array_size(items);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(items, i));
    qsort(v, n, sizeof *v, item_cmp);
    json_t *page = json_array();
    json_t *next = json_null();
    for (size_t i = 0; i < n; i++) {
        if (i < limit) json_array_append(page, v[i]);
        json_decref(v[i]);
    }
    if (n > limit) {
        json_t *last = json_array_get(page, limit - 1);
        next = json_string(sy_sprintf(r->arena, "%lld:%lld",
                                      (long long)json_integer_value(json_object_get(last, "at")),
                                      (long long)json_integer_value(json_object_get(last, "id"))));
    }
    free(v);
    json_decref(items);
    return sy_reply_json(
        r, 200,
        json_pack("{s:o,s:I,s:o}", "items", page, "total", (json_int_t)total, "next_cursor", next));
}

static int h_timeline(sy_req *r) {
    const char *kind = sy_req_query(r, "kind");
    if (kind && strlen(kind) > 32)
        return sy_err_field(&r->err, SY_E_INVALID, "kind", "kind is too long");
    return timeline_common(r, kind);
}
static int h_followups(sy_req *r) {
    return timeline_common(r, "follow_up");
}

static int job_followup(op *o, sy_db *db, sy_err *e) {
    int64_t live, now = sy_now_ms();
    int rc = sy_contacts_resolve(db, o->a, o->actor, o->id, &live, e);
    if (rc) return rc;
    json_t *d = json_pack("{s:s}", "note", o->s1);
    if (o->i1) json_object_set_new(d, "next_follow_up_at", json_integer(o->i1));
    rc = sy_contacts_timeline_add(db, live, "follow_up", o->actor ? o->actor->staff_id : 0, d, now,
                                  e);
    int64_t tid = sy_db_last_id(db);
    if (rc) {
        json_decref(d);
        return rc;
    }
    sy_stmt *st;
    if ((rc = sy_db_prepare(db,
                            "UPDATE contacts SET last_follow_up_at = ?, next_follow_up_at = ?, "
                            "updated_at = ? WHERE id = ?",
                            &st, e))) {
        json_decref(d);
        return rc;
    }
    sy_stmt_bind_int(st, 1, now);
    if (o->i1) sy_stmt_bind_int(st, 2, o->i1);
    sy_stmt_bind_int(st, 3, now);
    sy_stmt_bind_int(st, 4, live);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) {
        json_decref(d);
        return rc;
    }
    /* a first follow-up moves 待跟进 to 跟进中 unless a status was given */
    contact_fields f = {0};
    if (o->s2) {
        f.set = F_STATUS;
        f.status = o->s2;
    } else {
        sy_stmt *q;
        if ((rc = sy_db_prepare(db, "SELECT status FROM contacts WHERE id = ?", &q, e))) {
            json_decref(d);
            return rc;
        }
        sy_stmt_bind_int(q, 1, live);
        if (sy_stmt_step(q, e) == SY_ROW && sy_streq(sy_stmt_col_text(q, 0), "pending")) {
            f.set = F_STATUS;
            f.status = "following";
        }
        sy_stmt_finalize(q);
    }
    if (f.set && (rc = sy_contacts_apply(db, o->actor, live, &f, "follow_up", 0, now, e))) {
        json_decref(d);
        return rc;
    }
    json_object_set_new(d, "id", json_integer(tid));
    json_object_set_new(d, "contact_id", json_integer(live));
    json_object_set_new(d, "kind", json_string("follow_up"));
    json_object_set_new(d, "at", json_integer(now));
    json_object_set_new(d, "by", sy_contacts_jid(o->actor ? o->actor->staff_id : 0));
    o->result = d;
    return 0;
}

static int h_followup_add(sy_req *r) {
    static const char *const keys[] = {"note", "next_follow_up_at", "status", NULL};
    op o;
    op_init(&o, r);
    int rc;
    const char *status = NULL;
    if ((rc = sy_req_param_id(r, "id", &o.id)) || (rc = body_only(r, keys, &o.body)) ||
        (rc = sy_json_req_str(o.body, "note", &o.s1, &r->err)) ||
        (rc = sy_json_int(o.body, "next_follow_up_at", &o.i1, NULL, &r->err)) ||
        (rc = sy_json_str(o.body, "status", &status, NULL, &r->err)))
        return rc;
    if (!*o.s1 || strlen(o.s1) > 2000)
        return sy_err_field(&r->err, SY_E_INVALID, "note", "note must be 1 to 2000 bytes");
    if (o.i1 < 0)
        return sy_err_field(&r->err, SY_E_INVALID, "next_follow_up_at",
                            "next_follow_up_at must be UTC milliseconds");
    if (status && sy_contacts_status_parse(status, &o.s2))
        return sy_err_field(&r->err, SY_E_INVALID, "status",
                            "status \"%s\" is not one of pending, following, won, no_intent, lost",
                            status);
    o.fn = job_followup;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 201);
}

/* --- identities, consent, followers --- */

static int job_identity(op *o, sy_db *db, sy_err *e) {
    int64_t live;
    int rc = sy_contacts_resolve(db, o->a, o->actor, o->id, &live, e);
    if (rc) return rc;
    if ((rc = sy_contacts_add_identity(db, live, o->s1, o->s2, sy_now_ms(), e))) return rc;
    json_t *d = json_pack("{s:s,s:s}", "type", o->s1, "value", o->s2);
    rc = sy_contacts_timeline_add(db, live, "identity_added", o->actor ? o->actor->staff_id : 0, d,
                                  sy_now_ms(), e);
    json_decref(d);
    if (rc) return rc;
    const char *shown =
        strcmp(o->s1, "phone") == 0 ? sy_contacts_phone_out(o->a, o->actor, o->s2) : o->s2;
    o->result =
        json_pack("{s:I,s:s,s:s}", "contact_id", (json_int_t)live, "type", o->s1, "value", shown);
    return 0;
}

static int h_identity_add(sy_req *r) {
    static const char *const keys[] = {"type", "value", NULL};
    op o;
    op_init(&o, r);
    int rc;
    const char *value;
    char *nv;
    if ((rc = sy_req_param_id(r, "id", &o.id)) || (rc = body_only(r, keys, &o.body)) ||
        (rc = sy_json_req_str(o.body, "type", &o.s1, &r->err)) ||
        (rc = sy_json_req_str(o.body, "value", &value, &r->err)) ||
        (rc = sy_contacts_identity_normalize(r->arena, o.s1, value, &nv, &r->err)))
        return rc;
    o.s2 = nv;
    o.fn = job_identity;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 201);
}

static int h_consent_get(sy_req *r) {
    int64_t id, live;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    json_t *items = NULL;
    rc = sy_contacts_resolve(db, r->arena, actor_of(r), id, &live, &r->err);
    if (rc == 0 && !(items = sy_contacts_consent_json(db, live, &r->err))) rc = SY_E_IO;
    sy_store_read_end(CTX(r)->st, db);
    if (rc) return rc;
    return sy_reply_json(r, 200,
                         json_pack("{s:I,s:o}", "contact_id", (json_int_t)live, "items", items));
}

static int job_consent(op *o, sy_db *db, sy_err *e) {
    int64_t live;
    int rc = sy_contacts_resolve(db, o->a, o->actor, o->id, &live, e);
    if (rc) return rc;
    contact_consent cs = {o->s1, o->s2, o->s3, NULL, o->i1 ? o->i1 : sy_now_ms()};
    json_t *p = json_object_get(o->body, "purpose");
    cs.purpose = json_is_string(p) ? json_string_value(p) : NULL;
    if ((rc = sy_contacts_set_consent(db, live, &cs, e))) return rc;
    json_t *d =
        json_pack("{s:s,s:s,s:s,s:o,s:I}", "channel", cs.channel, "status", cs.status, "source",
                  cs.source, "purpose", sy_contacts_jstr(cs.purpose), "at", (json_int_t)cs.at);
    rc = sy_contacts_timeline_add(db, live, "consent", o->actor ? o->actor->staff_id : 0, d,
                                  sy_now_ms(), e);
    if (rc) {
        json_decref(d);
        return rc;
    }
    json_object_set_new(d, "contact_id", json_integer(live));
    o->result = d;
    return 0;
}

static int h_consent_put(sy_req *r) {
    static const char *const keys[] = {"status", "source", "purpose", "at", NULL};
    op o;
    op_init(&o, r);
    int rc;
    const char *purpose = NULL;
    if ((rc = sy_req_param_id(r, "id", &o.id)) || (rc = body_only(r, keys, &o.body)) ||
        (rc = sy_json_req_str(o.body, "status", &o.s2, &r->err)) ||
        (rc = sy_json_str(o.body, "source", &o.s3, NULL, &r->err)) ||
        (rc = sy_json_str(o.body, "purpose", &purpose, NULL, &r->err)) ||
        (rc = sy_json_int(o.body, "at", &o.i1, NULL, &r->err)))
        return rc;
    o.s1 = sy_req_param(r, "channel");
    if (!sy_contacts_in_list(sy_consent_channels, o.s1))
        return sy_err_field(&r->err, SY_E_INVALID, "channel",
                            "consent channel \"%s\" is not one of wecom, sms, email, phone", o.s1);
    if (strcmp(o.s2, "granted") && strcmp(o.s2, "withdrawn"))
        return sy_err_field(&r->err, SY_E_INVALID, "status",
                            "status \"%s\" is not granted or withdrawn", o.s2);
    if (!o.s3) o.s3 = "staff";
    if (!sy_contacts_in_list(sy_consent_sources, o.s3))
        return sy_err_field(&r->err, SY_E_INVALID, "source",
                            "source \"%s\" is not one of import, form, sdk, staff", o.s3);
    if (purpose && strlen(purpose) > 200)
        return sy_err_field(&r->err, SY_E_INVALID, "purpose", "purpose is longer than 200 bytes");
    if (o.i1 < 0) return sy_err_field(&r->err, SY_E_INVALID, "at", "at must be UTC milliseconds");
    o.fn = job_consent;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 200);
}

static int followers_result(op *o, sy_db *db, int64_t live, sy_err *e) {
    json_t *c;
    int rc = sy_contacts_get_json(db, o->a, o->actor, live, 1, &c, e);
    if (rc) return rc;
    o->result =
        json_pack("{s:I,s:O,s:O}", "contact_id", (json_int_t)live, "owner_id",
                  json_object_get(c, "owner_id"), "followers", json_object_get(c, "followers"));
    json_decref(c);
    return 0;
}

static int job_follower(op *o, sy_db *db, sy_err *e) {
    int64_t live;
    int rc = sy_contacts_resolve(db, o->a, o->actor, o->id, &live, e);
    if (rc) return rc;
    sy_stmt *st;
    const char *sql = o->i1 ? "INSERT OR IGNORE INTO contact_followers(contact_id, staff_id, "
                              "created_at) VALUES (?, ?, ?)"
                            : "DELETE FROM contact_followers WHERE contact_id = ? AND staff_id = ?";
    if ((rc = sy_db_prepare(db, sql, &st, e))) return rc;
    sy_stmt_bind_int(st, 1, live);
    sy_stmt_bind_int(st, 2, o->id2);
    if (o->i1) sy_stmt_bind_int(st, 3, sy_now_ms());
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (sy_db_changes(db)) {
        json_t *d = json_pack("{s:I}", "staff_id", (json_int_t)o->id2);
        rc = sy_contacts_timeline_add(db, live, o->i1 ? "follower_added" : "follower_removed",
                                      o->actor ? o->actor->staff_id : 0, d, sy_now_ms(), e);
        json_decref(d);
        if (rc) return rc;
    } else if (!o->i1) {
        return sy_err_set(e, SY_E_NOT_FOUND, "staff %lld does not follow contact %lld",
                          (long long)o->id2, (long long)o->id);
    }
    return followers_result(o, db, live, e);
}

static int h_follower_add(sy_req *r) {
    static const char *const keys[] = {"staff_id", NULL};
    op o;
    op_init(&o, r);
    int rc;
    if ((rc = sy_req_param_id(r, "id", &o.id)) || (rc = body_only(r, keys, &o.body)) ||
        (rc = sy_json_req_int(o.body, "staff_id", &o.id2, &r->err)))
        return rc;
    if (sy_staff_lookup(o.c->staff, o.id2, NULL, NULL, &r->err))
        return sy_err_field(&r->err, SY_E_INVALID, "staff_id",
                            "staff_id %lld is not an active staff member", (long long)o.id2);
    o.i1 = 1;
    o.fn = job_follower;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 200);
}

static int h_follower_del(sy_req *r) {
    op o;
    op_init(&o, r);
    int rc;
    if ((rc = sy_req_param_id(r, "id", &o.id)) || (rc = sy_req_param_id(r, "staff_id", &o.id2)))
        return rc;
    o.fn = job_follower;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 200);
}

/* --- phone unmasking --- */

static int job_unmask(op *o, sy_db *db, sy_err *e) {
    int64_t live;
    int rc = sy_contacts_resolve(db, o->a, o->actor, o->id, &live, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "SELECT phone FROM contacts WHERE id = ?", &st, e))) return rc;
    sy_stmt_bind_int(st, 1, live);
    char *phone = NULL;
    if (sy_stmt_step(st, e) == SY_ROW && sy_stmt_col_text(st, 0))
        phone = sy_strdup(o->a, sy_stmt_col_text(st, 0));
    sy_stmt_finalize(st);
    json_t *d = json_pack("{s:b}", "had_phone", phone != NULL);
    rc = sy_audit_record(db, o->actor, "contacts.unmask_phone",
                         sy_sprintf(o->a, "contact:%lld", (long long)live), d, e);
    json_decref(d);
    if (rc) return rc;
    o->result = json_pack("{s:I,s:o}", "id", (json_int_t)live, "phone", sy_contacts_jstr(phone));
    return 0;
}

static int h_unmask(sy_req *r) {
    op o;
    op_init(&o, r);
    int rc;
    if ((rc = sy_req_param_id(r, "id", &o.id))) return rc;
    if (r->body_len) {
        static const char *const keys[] = {NULL};
        if ((rc = body_only(r, keys, &o.body))) return rc;
    }
    o.fn = job_unmask;
    if ((rc = run_op(&o))) return rc;
    pthread_mutex_lock(&o.c->lock);
    o.c->n_unmasks++;
    pthread_mutex_unlock(&o.c->lock);
    return reply_result(&o, 200);
}

/* --- merge --- */

static int merge_body(sy_req *r, op *o) {
    static const char *const keys[] = {"winner_id", "loser_id", NULL};
    int rc;
    if ((rc = body_only(r, keys, &o->body)) ||
        (rc = sy_json_req_int(o->body, "winner_id", &o->id, &r->err)) ||
        (rc = sy_json_req_int(o->body, "loser_id", &o->id2, &r->err)))
        return rc;
    if (o->id <= 0)
        return sy_err_field(&r->err, SY_E_INVALID, "winner_id", "winner_id must be a positive id");
    if (o->id2 <= 0)
        return sy_err_field(&r->err, SY_E_INVALID, "loser_id", "loser_id must be a positive id");
    return 0;
}

static int h_merge_preview(sy_req *r) {
    op o;
    op_init(&o, r);
    int rc = merge_body(r, &o);
    if (rc) return rc;
    sy_db *db;
    if ((rc = sy_store_read_begin(o.c->st, &db, &r->err))) return rc;
    json_t *plan = NULL;
    rc = sy_contacts_merge_plan(db, r->arena, o.actor, o.id, o.id2, &plan, &r->err);
    sy_store_read_end(o.c->st, db);
    if (rc) return rc;
    return sy_reply_json(r, 200, plan);
}

static int job_merge(op *o, sy_db *db, sy_err *e) {
    int rc = sy_contacts_merge_apply(db, o->a, o->actor, o->id, o->id2, &o->out_id, e);
    if (rc) return rc;
    int64_t w;
    if ((rc = sy_contacts_resolve(db, o->a, o->actor, o->id, &w, e))) return rc;
    json_t *c;
    if ((rc = sy_contacts_get_json(db, o->a, o->actor, w, 1, &c, e))) return rc;
    o->result = json_pack("{s:I,s:I,s:I,s:o}", "merge_id", (json_int_t)o->out_id, "winner_id",
                          (json_int_t)w, "loser_id", (json_int_t)o->id2, "winner", c);
    return 0;
}

static int h_merge(sy_req *r) {
    op o;
    op_init(&o, r);
    int rc = merge_body(r, &o);
    if (rc) return rc;
    o.fn = job_merge;
    if ((rc = run_op(&o))) return rc;
    pthread_mutex_lock(&o.c->lock);
    o.c->n_merges++;
    pthread_mutex_unlock(&o.c->lock);
    sy_contacts_notify_merge(o.c, json_integer_value(json_object_get(o.result, "winner_id")), o.id2,
                             0);
    return reply_result(&o, 200);
}

static void mask_merge_data(sy_arena *a, const sy_actor *actor, json_t *d) {
    if (!actor || (actor->perms & SY_PERM_PHONE_UNMASK)) return;
    json_t *fills = json_object_get(d, "fills");
    json_t *p = json_object_get(fills, "phone");
    if (json_is_string(p))
        json_object_set_new(fills, "phone",
                            json_string(sy_contacts_phone_out(a, actor, json_string_value(p))));
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(d, "identities_moved"), i, it) {
        if (sy_streq(json_string_value(json_object_get(it, "type")), "phone"))
            json_object_set_new(it, "value",
                                json_string(sy_contacts_phone_out(
                                    a, actor, json_string_value(json_object_get(it, "value")))));
    }
}

static int merge_record(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t id, json_t **out,
                        sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "SELECT winner_id, loser_id, at, by_staff, data, undone_at, undone_by "
                           "FROM contact_merges WHERE id = ?",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    rc = sy_stmt_step(st, e);
    if (rc != SY_ROW) {
        sy_stmt_finalize(st);
        return rc < 0 ? rc : sy_err_set(e, SY_E_NOT_FOUND, "merge %lld not found", (long long)id);
    }
    int64_t w = sy_stmt_col_int(st, 0), live;
    json_t *d = json_loads(sy_stmt_col_text(st, 4), 0, NULL);
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "id", (json_int_t)id, "winner_id", (json_int_t)w,
        "loser_id", (json_int_t)sy_stmt_col_int(st, 1), "at", (json_int_t)sy_stmt_col_int(st, 2),
        "by_staff_id", sy_contacts_jid(sy_stmt_col_int(st, 3)), "undone_at",
        sy_stmt_col_type(st, 5) == SY_NULL ? json_null() : json_integer(sy_stmt_col_int(st, 5)),
        "undone_by", sy_contacts_jid(sy_stmt_col_int(st, 6)));
    sy_stmt_finalize(st);
    if (d) {
        mask_merge_data(a, actor, d);
        json_object_update(o, d);
        json_decref(d);
    }
    /* visible only when the winner's chain is in the caller's scope */
    if (sy_contacts_resolve(db, a, actor, w, &live, e)) {
        json_decref(o);
        return sy_err_set(e, SY_E_NOT_FOUND, "merge %lld not found", (long long)id);
    }
    *out = o;
    return 0;
}

static int h_merge_get(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    json_t *out = NULL;
    rc = merge_record(db, r->arena, actor_of(r), id, &out, &r->err);
    sy_store_read_end(CTX(r)->st, db);
    if (rc) return rc;
    return sy_reply_json(r, 200, out);
}

static int job_undo(op *o, sy_db *db, sy_err *e) {
    int rc = sy_contacts_merge_undo(db, o->a, o->actor, o->id, e);
    if (rc) return rc;
    return merge_record(db, o->a, o->actor, o->id, &o->result, e);
}

static int h_merge_undo(sy_req *r) {
    op o;
    op_init(&o, r);
    int rc;
    if ((rc = sy_req_param_id(r, "id", &o.id))) return rc;
    if (r->body_len) {
        static const char *const keys[] = {NULL};
        if ((rc = body_only(r, keys, &o.body))) return rc;
    }
    o.fn = job_undo;
    if ((rc = run_op(&o))) return rc;
    sy_contacts_notify_merge(o.c, json_integer_value(json_object_get(o.result, "winner_id")),
                             json_integer_value(json_object_get(o.result, "loser_id")), 1);
    return reply_result(&o, 200);
}

/* --- pool --- */

static int job_claim(op *o, sy_db *db, sy_err *e) {
    int64_t live, now = sy_now_ms();
    int rc = sy_contacts_resolve_pool(db, o->a, o->actor, o->id, &live, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "SELECT owner_id FROM contacts WHERE id = ?", &st, e))) return rc;
    sy_stmt_bind_int(st, 1, live);
    int64_t owner = sy_stmt_step(st, e) == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
    sy_stmt_finalize(st);
    if (owner == o->actor->staff_id)
        return sy_err_set(e, SY_E_CONFLICT, "you already own contact %lld", (long long)o->id);
    if (owner)
        return sy_err_set(e, SY_E_CONFLICT,
                          "contact %lld is owned by someone else; it is not in the pool",
                          (long long)o->id);
    pool_settings ps;
    if ((rc = sy_contacts_pool_settings(db, &ps, e))) return rc;
    if ((rc = sy_db_prepare(db,
                            "SELECT count(*) FROM contacts c WHERE c.owner_id = ? AND "
                            "c.pool_claimed_at IS NOT NULL AND "
                            "c.status IN ('pending','following') AND c.merged_into IS NULL",
                            &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, o->actor->staff_id);
    int64_t held = sy_stmt_step(st, e) == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
    sy_stmt_finalize(st);
    if (held >= ps.claim_limit)
        return sy_err_set(e, SY_E_PRECONDITION,
                          "you already hold %lld open leads claimed from the pool (limit %lld); "
                          "follow them up or return some first",
                          (long long)held, (long long)ps.claim_limit);
    if ((rc = sy_db_prepare(db,
                            "UPDATE contacts SET owner_id = ?, department_id = ?, owned_at = ?, "
                            "pool_claimed_at = ?, "
                            "returned_at = NULL, return_reason = NULL, updated_at = ? WHERE id = ? "
                            "AND owner_id IS NULL",
                            &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, o->actor->staff_id);
    if (o->actor->department_id) sy_stmt_bind_int(st, 2, o->actor->department_id);
    sy_stmt_bind_int(st, 3, now);
    sy_stmt_bind_int(st, 4, now);
    sy_stmt_bind_int(st, 5, now);
    sy_stmt_bind_int(st, 6, live);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    json_t *d = json_pack("{s:I}", "held_before", (json_int_t)held);
    rc = sy_contacts_timeline_add(db, live, "claim", o->actor->staff_id, d, now, e);
    if (rc == 0)
        rc = sy_audit_record(db, o->actor, "contacts.claim",
                             sy_sprintf(o->a, "contact:%lld", (long long)live), d, e);
    json_decref(d);
    if (rc) return rc;
    return sy_contacts_get_json(db, o->a, o->actor, live, 1, &o->result, e);
}

static int h_claim(sy_req *r) {
    op o;
    op_init(&o, r);
    int rc;
    if ((rc = sy_req_param_id(r, "id", &o.id))) return rc;
    if (r->body_len) {
        static const char *const keys[] = {NULL};
        if ((rc = body_only(r, keys, &o.body))) return rc;
    }
    if (!o.actor || !o.actor->staff_id)
        return sy_err_set(&r->err, SY_E_FORBIDDEN, "only a staff member can claim leads");
    o.fn = job_claim;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 200);
}

static int job_return(op *o, sy_db *db, sy_err *e) {
    int64_t live, now = sy_now_ms();
    int rc = sy_contacts_resolve(db, o->a, o->actor, o->id, &live, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "SELECT owner_id FROM contacts WHERE id = ?", &st, e))) return rc;
    sy_stmt_bind_int(st, 1, live);
    int64_t owner = sy_stmt_step(st, e) == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
    sy_stmt_finalize(st);
    if (!owner)
        return sy_err_set(e, SY_E_CONFLICT, "contact %lld is already in the pool",
                          (long long)o->id);
    if (owner != o->actor->staff_id && !(o->actor->perms & SY_PERM_POOL_MANAGE))
        return sy_err_set(e, SY_E_FORBIDDEN,
                          "only the owner or a pool manager can return contact %lld",
                          (long long)o->id);
    if ((rc = sy_db_prepare(db,
                            "UPDATE contacts SET owner_id = NULL, department_id = NULL, owned_at = "
                            "NULL, pool_claimed_at = NULL, "
                            "returned_at = ?, return_reason = ?, updated_at = ? WHERE id = ?",
                            &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, now);
    sy_stmt_bind_text(st, 2, o->s1);
    sy_stmt_bind_int(st, 3, now);
    sy_stmt_bind_int(st, 4, live);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if ((rc = sy_db_prepare(
             db, "DELETE FROM contact_followers WHERE contact_id = ? AND staff_id IN (?, ?)", &st,
             e)))
        return rc;
    sy_stmt_bind_int(st, 1, live);
    sy_stmt_bind_int(st, 2, owner);
    sy_stmt_bind_int(st, 3, o->actor->staff_id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    json_t *d = json_pack("{s:s,s:I}", "reason", o->s1, "from_owner_id", (json_int_t)owner);
    rc = sy_contacts_timeline_add(db, live, "return", o->actor->staff_id, d, now, e);
    if (rc == 0)
        rc = sy_audit_record(db, o->actor, "contacts.return",
                             sy_sprintf(o->a, "contact:%lld", (long long)live), d, e);
    json_decref(d);
    if (rc) return rc;
    o->result = json_pack("{s:I,s:b,s:s}", "id", (json_int_t)live, "in_pool", 1, "reason", o->s1);
    return 0;
}

static int h_return(sy_req *r) {
    static const char *const keys[] = {"reason", NULL};
    op o;
    op_init(&o, r);
    int rc;
    if ((rc = sy_req_param_id(r, "id", &o.id)) || (rc = body_only(r, keys, &o.body)) ||
        (rc = sy_json_req_str(o.body, "reason", &o.s1, &r->err)))
        return rc;
    if (!*o.s1 || strlen(o.s1) > 500)
        return sy_err_field(&r->err, SY_E_INVALID, "reason", "reason must be 1 to 500 bytes");
    if (!o.actor || !o.actor->staff_id)
        return sy_err_set(&r->err, SY_E_FORBIDDEN, "only a staff member can return leads");
    o.fn = job_return;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 200);
}

static json_t *settings_json(const pool_settings *ps) {
    return json_pack("{s:b,s:I,s:I}", "recycle_enabled", ps->recycle_enabled, "recycle_days",
                     (json_int_t)ps->recycle_days, "claim_limit", (json_int_t)ps->claim_limit);
}

static int h_settings_get(sy_req *r) {
    sy_db *db;
    pool_settings ps;
    int rc = sy_store_read_begin(CTX(r)->st, &db, &r->err);
    if (rc) return rc;
    rc = sy_contacts_pool_settings(db, &ps, &r->err);
    sy_store_read_end(CTX(r)->st, db);
    if (rc) return rc;
    return sy_reply_json(r, 200, settings_json(&ps));
}

static int put_setting(sy_db *db, const char *key, int64_t v, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, "INSERT OR REPLACE INTO contact_settings(key, value) VALUES (?, ?)",
                           &st, e);
    if (rc) return rc;
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    sy_stmt_bind_text(st, 1, key);
    sy_stmt_bind_text(st, 2, buf);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

static int job_settings(op *o, sy_db *db, sy_err *e) {
    pool_settings ps;
    int rc = sy_contacts_pool_settings(db, &ps, e);
    if (rc) return rc;
    int en, p;
    int64_t v;
    sy_json_bool(o->body, "recycle_enabled", &en, &p, NULL);
    if (p) ps.recycle_enabled = en;
    sy_json_int(o->body, "recycle_days", &v, &p, NULL);
    if (p) ps.recycle_days = v;
    sy_json_int(o->body, "claim_limit", &v, &p, NULL);
    if (p) ps.claim_limit = v;
    if ((rc = put_setting(db, "pool.recycle_enabled", ps.recycle_enabled, e)) ||
        (rc = put_setting(db, "pool.recycle_days", ps.recycle_days, e)) ||
        (rc = put_setting(db, "pool.claim_limit", ps.claim_limit, e)))
        return rc;
    json_t *d = settings_json(&ps);
    rc = sy_audit_record(db, o->actor, "pool.settings", "pool", d, e);
    if (rc) {
        json_decref(d);
        return rc;
    }
    o->result = d;
    return 0;
}

static int h_settings_patch(sy_req *r) {
    static const char *const keys[] = {"recycle_enabled", "recycle_days", "claim_limit", NULL};
    op o;
    op_init(&o, r);
    int rc, en, p;
    int64_t v;
    if ((rc = body_only(r, keys, &o.body)) ||
        (rc = sy_json_bool(o.body, "recycle_enabled", &en, NULL, &r->err)))
        return rc;
    if ((rc = sy_json_int(o.body, "recycle_days", &v, &p, &r->err))) return rc;
    if (p && (v < 1 || v > 365))
        return sy_err_field(&r->err, SY_E_INVALID, "recycle_days", "recycle_days must be 1 to 365");
    if ((rc = sy_json_int(o.body, "claim_limit", &v, &p, &r->err))) return rc;
    if (p && (v < 0 || v > 100000))
        return sy_err_field(&r->err, SY_E_INVALID, "claim_limit",
                            "claim_limit must be 0 to 100000");
    o.fn = job_settings;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 200);
}

static int h_recycle_now(sy_req *r) {
    int rc;
    if (r->body_len) {
        static const char *const keys[] = {NULL};
        json_t *b;
        if ((rc = body_only(r, keys, &b))) return rc;
    }
    size_t n = 0;
    if ((rc = sy_contacts_recycle_run(CTX(r), actor_of(r), 1, &n, &r->err))) return rc;
    return sy_reply_json(r, 200, json_pack("{s:I}", "recycled", (json_int_t)n));
}

static int h_handover(sy_req *r) {
    static const char *const keys[] = {"from_staff_id", "to_staff_id", NULL};
    json_t *b;
    int64_t from, to;
    int rc;
    if ((rc = body_only(r, keys, &b)) ||
        (rc = sy_json_req_int(b, "from_staff_id", &from, &r->err)) ||
        (rc = sy_json_req_int(b, "to_staff_id", &to, &r->err)))
        return rc;
    if (from <= 0)
        return sy_err_field(&r->err, SY_E_INVALID, "from_staff_id",
                            "from_staff_id must be a positive id");
    if (to <= 0)
        return sy_err_field(&r->err, SY_E_INVALID, "to_staff_id",
                            "to_staff_id must be a positive id");
    size_t n = 0;
    if ((rc = sy_contacts_handover(CTX(r), actor_of(r), from, to, &n, &r->err))) return rc;
    return sy_reply_json(r, 200,
                         json_pack("{s:I,s:I,s:I}", "from_staff_id", (json_int_t)from,
                                   "to_staff_id", (json_int_t)to, "moved", (json_int_t)n));
}

/* --- acquisition channels --- */

static const char *const channel_kinds[] = {"store_code", "ads",   "partner",
                                            "referral",   "other", NULL};

static int channel_json(sy_db *db, int64_t id, json_t **out, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(
        db,
        "SELECT id, name, kind, code, created_at, updated_at FROM contact_channels WHERE id = ?",
        &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    rc = sy_stmt_step(st, e);
    if (rc == SY_ROW)
        *out = json_pack("{s:I,s:s,s:s,s:o,s:I,s:I}", "id", (json_int_t)id, "name",
                         sy_stmt_col_text(st, 1), "kind", sy_stmt_col_text(st, 2), "code",
                         sy_contacts_jstr(sy_stmt_col_text(st, 3)), "created_at",
                         (json_int_t)sy_stmt_col_int(st, 4), "updated_at",
                         (json_int_t)sy_stmt_col_int(st, 5));
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (rc != SY_ROW) return sy_err_set(e, SY_E_NOT_FOUND, "channel %lld not found", (long long)id);
    return 0;
}

static int h_channels(sy_req *r) {
    sy_db *db;
    int rc = sy_store_read_begin(CTX(r)->st, &db, &r->err);
    if (rc) return rc;
    sy_stmt *st;
    json_t *items = json_array();
    if ((rc = sy_db_prepare(db, "SELECT id FROM contact_channels ORDER BY id", &st, &r->err)) ==
        0) {
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            json_t *o;
            if (channel_json(db, sy_stmt_col_int(st, 0), &o, &r->err) == 0)
                json_array_append_new(items, o);
        }
        sy_stmt_finalize(st);
        rc = rc < 0 ? rc : 0;
    }
    sy_store_read_end(CTX(r)->st, db);
    if (rc) {
        json_decref(items);
        return rc;
    }
    return sy_reply_json(r, 200,
                         json_pack("{s:o,s:I,s:n}", "items", items, "total",
                                   (json_int_t)json_array_size(items), "next_cursor"));
}

static int h_channel_get(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    json_t *out = NULL;
    rc = channel_json(db, id, &out, &r->err);
    sy_store_read_end(CTX(r)->st, db);
    if (rc) return rc;
    return sy_reply_json(r, 200, out);
}

static int job_channel(op *o, sy_db *db, sy_err *e) {
    sy_stmt *st;
    int rc;
    int64_t now = sy_now_ms();
    if (o->i1 == 0) { /* create */
        if ((rc = sy_db_prepare(db,
                                "INSERT INTO contact_channels(name, kind, code, created_at, "
                                "updated_at) VALUES (?,?,?,?,?)",
                                &st, e)))
            return rc;
        sy_stmt_bind_text(st, 1, o->s1);
        sy_stmt_bind_text(st, 2, o->s2);
        sy_stmt_bind_text(st, 3, o->s3);
        sy_stmt_bind_int(st, 4, now);
        sy_stmt_bind_int(st, 5, now);
    } else if (o->i1 == 1) { /* patch */
        json_t *cur;
        if ((rc = channel_json(db, o->id, &cur, e))) return rc;
        json_decref(cur);
        if ((rc = sy_db_prepare(
                 db,
                 "UPDATE contact_channels SET name = COALESCE(?, name), kind = COALESCE(?, kind), "
                 "code = CASE WHEN ? THEN ? ELSE code END, updated_at = ? WHERE id = ?",
                 &st, e)))
            return rc;
        sy_stmt_bind_text(st, 1, o->s1);
        sy_stmt_bind_text(st, 2, o->s2);
        sy_stmt_bind_int(st, 3, o->id2);
        sy_stmt_bind_text(st, 4, o->s3);
        sy_stmt_bind_int(st, 5, now);
        sy_stmt_bind_int(st, 6, o->id);
    } else { /* delete: contacts keep their data, source becomes empty */
        json_t *cur;
        if ((rc = channel_json(db, o->id, &cur, e))) return rc;
        json_decref(cur);
        if ((rc = sy_db_prepare(db, "DELETE FROM contact_channels WHERE id = ?", &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, o->id);
    }
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc == SY_E_CONFLICT)
        return sy_err_set(e, SY_E_CONFLICT, "a channel with this name or code already exists");
    if (rc < 0) return rc;
    if (o->i1 == 0) o->id = sy_db_last_id(db);
    if (o->i1 == 2) {
        o->result = json_pack("{s:I,s:b}", "id", (json_int_t)o->id, "deleted", 1);
        return sy_audit_record(db, o->actor, "channels.delete",
                               sy_sprintf(o->a, "channel:%lld", (long long)o->id), NULL, e);
    }
    return channel_json(db, o->id, &o->result, e);
}

static int channel_body(sy_req *r, op *o, int creating) {
    static const char *const keys[] = {"name", "kind", "code", NULL};
    int rc;
    if ((rc = body_only(r, keys, &o->body))) return rc;
    if (creating) {
        if ((rc = sy_json_req_str(o->body, "name", &o->s1, &r->err)) ||
            (rc = sy_json_req_str(o->body, "kind", &o->s2, &r->err)))
            return rc;
    } else if ((rc = sy_json_str(o->body, "name", &o->s1, NULL, &r->err)) ||
               (rc = sy_json_str(o->body, "kind", &o->s2, NULL, &r->err))) {
        return rc;
    }
    int p;
    if ((rc = sy_json_str(o->body, "code", &o->s3, &p, &r->err))) return rc;
    o->id2 = json_object_get(o->body, "code") != NULL;
    if (o->s1 && (!*o->s1 || strlen(o->s1) > 100))
        return sy_err_field(&r->err, SY_E_INVALID, "name", "name must be 1 to 100 bytes");
    if (o->s2 && !sy_contacts_in_list(channel_kinds, o->s2))
        return sy_err_field(&r->err, SY_E_INVALID, "kind",
                            "kind \"%s\" is not one of store_code, ads, partner, referral, other",
                            o->s2);
    if (o->s3 && (!*o->s3 || strlen(o->s3) > 64))
        return sy_err_field(&r->err, SY_E_INVALID, "code", "code must be 1 to 64 bytes");
    if (!creating && !json_object_size(o->body))
        return sy_err_set(&r->err, SY_E_INVALID, "nothing to change: the body has no fields");
    return 0;
}

static int h_channel_create(sy_req *r) {
    op o;
    op_init(&o, r);
    int rc = channel_body(r, &o, 1);
    if (rc) return rc;
    o.fn = job_channel;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 201);
}

static int h_channel_patch(sy_req *r) {
    op o;
    op_init(&o, r);
    int rc;
    if ((rc = sy_req_param_id(r, "id", &o.id)) || (rc = channel_body(r, &o, 0))) return rc;
    o.i1 = 1;
    o.fn = job_channel;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 200);
}

static int h_channel_delete(sy_req *r) {
    op o;
    op_init(&o, r);
    int rc;
    if ((rc = sy_req_param_id(r, "id", &o.id))) return rc;
    o.i1 = 2;
    o.fn = job_channel;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 200);
}

/* --- custom attribute definitions --- */

static json_t *def_json(const attr_def *d) {
    return json_pack("{s:s,s:s,s:s,s:O?}", "key", d->key, "label", d->label, "type", d->type,
                     "options", d->options);
}

static int h_attrs(sy_req *r) {
    attr_defs defs;
    int rc = load_defs(CTX(r), r->arena, &defs, &r->err);
    if (rc) return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < defs.n; i++)
        json_array_append_new(items, def_json(&defs.v[i]));
    return sy_reply_json(
        r, 200,
        json_pack("{s:o,s:I,s:n}", "items", items, "total", (json_int_t)defs.n, "next_cursor"));
}

static int valid_key(const char *k) {
    size_t n = strlen(k);
    if (n < 1 || n > 40 || k[0] < 'a' || k[0] > 'z') return 0;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return 0;
    return 1;
}

static int check_options(sy_req *r, json_t *opts) {
    if (!json_is_array(opts) || json_array_size(opts) == 0 || json_array_size(opts) > 100)
        return sy_err_field(&r->err, SY_E_INVALID, "options",
                            "options must be an array of 1 to 100 strings");
    size_t i, j;
    json_t *v, *w;
    json_array_foreach(opts, i, v) {
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 100)
            return sy_err_field(&r->err, SY_E_INVALID, "options",
                                "options[%zu] must be a string of 1 to 100 bytes", i);
        json_array_foreach(opts, j, w) if (j < i && json_equal(v, w)) return sy_err_field(
            &r->err, SY_E_INVALID, "options", "option \"%s\" appears twice", json_string_value(v));
    }
    return 0;
}

static int job_attr(op *o, sy_db *db, sy_err *e) {
    sy_stmt *st;
    int rc;
    int64_t now = sy_now_ms();
    json_t *opts = json_object_get(o->body, "options");
    char *otxt = opts && !json_is_null(opts) ? sy_json_dump(opts) : NULL;
    if (o->i1 == 0) {
        rc = sy_db_prepare(db,
                           "INSERT INTO contact_attr_defs(key, label, type, options, created_at, "
                           "updated_at) VALUES (?,?,?,?,?,?)",
                           &st, e);
        if (rc == 0) {
            sy_stmt_bind_text(st, 1, o->s1);
            sy_stmt_bind_text(st, 2, o->s2);
            sy_stmt_bind_text(st, 3, o->s3);
            sy_stmt_bind_text(st, 4, otxt);
            sy_stmt_bind_int(st, 5, now);
            sy_stmt_bind_int(st, 6, now);
        }
    } else if (o->i1 == 1) {
        rc = sy_db_prepare(db,
                           "UPDATE contact_attr_defs SET label = COALESCE(?, label), options = "
                           "COALESCE(?, options), "
                           "updated_at = ? WHERE key = ?",
                           &st, e);
        if (rc == 0) {
            sy_stmt_bind_text(st, 1, o->s2);
            sy_stmt_bind_text(st, 2, otxt);
            sy_stmt_bind_int(st, 3, now);
            sy_stmt_bind_text(st, 4, o->s1);
        }
    } else {
        rc = sy_db_prepare(db, "DELETE FROM contact_attr_defs WHERE key = ?", &st, e);
        if (rc == 0) sy_stmt_bind_text(st, 1, o->s1);
    }
    free(otxt);
    if (rc) return rc;
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc == SY_E_CONFLICT)
        return sy_err_field(e, SY_E_CONFLICT, "key", "attribute \"%s\" already exists", o->s1);
    if (rc < 0) return rc;
    if (o->i1 && sy_db_changes(db) == 0)
        return sy_err_set(e, SY_E_NOT_FOUND, "attribute \"%s\" not found", o->s1);
    if (o->i1 == 2) {
        o->result = json_pack("{s:s,s:b}", "key", o->s1, "deleted", 1);
        return 0;
    }
    attr_defs defs;
    if ((rc = sy_contacts_load_defs(db, o->a, &defs, e))) return rc;
    const attr_def *d = sy_contacts_find_def(&defs, o->s1);
    if (!d) return sy_err_set(e, SY_E_INTERNAL, "attribute vanished");
    if (strcmp(d->type, "enum") == 0 && !d->options)
        return sy_err_field(e, SY_E_INVALID, "options", "an enum attribute needs options");
    o->result = def_json(d);
    return 0;
}

static int h_attr_create(sy_req *r) {
    static const char *const keys[] = {"key", "label", "type", "options", NULL};
    static const char *const types[] = {"text", "number", "date", "enum", "bool", NULL};
    op o;
    op_init(&o, r);
    int rc;
    if ((rc = body_only(r, keys, &o.body)) ||
        (rc = sy_json_req_str(o.body, "key", &o.s1, &r->err)) ||
        (rc = sy_json_req_str(o.body, "label", &o.s2, &r->err)) ||
        (rc = sy_json_req_str(o.body, "type", &o.s3, &r->err)))
        return rc;
    if (!valid_key(o.s1))
        return sy_err_field(
            &r->err, SY_E_INVALID, "key",
            "key \"%s\" must be lowercase letters, digits and _ (1 to 40, a letter first)", o.s1);
    if (!*o.s2 || strlen(o.s2) > 100)
        return sy_err_field(&r->err, SY_E_INVALID, "label", "label must be 1 to 100 bytes");
    if (!sy_contacts_in_list(types, o.s3))
        return sy_err_field(&r->err, SY_E_INVALID, "type",
                            "type \"%s\" is not one of text, number, date, enum, bool", o.s3);
    json_t *opts = json_object_get(o.body, "options");
    if (strcmp(o.s3, "enum") == 0) {
        if (!opts)
            return sy_err_field(&r->err, SY_E_INVALID, "options",
                                "an enum attribute needs options");
        if ((rc = check_options(r, opts))) return rc;
    } else if (opts && !json_is_null(opts)) {
        return sy_err_field(&r->err, SY_E_INVALID, "options",
                            "options apply to enum attributes only");
    }
    o.fn = job_attr;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 201);
}

static int h_attr_patch(sy_req *r) {
    static const char *const keys[] = {"label", "options", NULL};
    op o;
    op_init(&o, r);
    int rc;
    o.s1 = sy_req_param(r, "key");
    if ((rc = body_only(r, keys, &o.body)) ||
        (rc = sy_json_str(o.body, "label", &o.s2, NULL, &r->err)))
        return rc;
    if (!json_object_size(o.body))
        return sy_err_set(&r->err, SY_E_INVALID, "nothing to change: the body has no fields");
    if (o.s2 && (!*o.s2 || strlen(o.s2) > 100))
        return sy_err_field(&r->err, SY_E_INVALID, "label", "label must be 1 to 100 bytes");
    json_t *opts = json_object_get(o.body, "options");
    if (opts) {
        attr_defs defs;
        if ((rc = load_defs(o.c, r->arena, &defs, &r->err))) return rc;
        const attr_def *d = sy_contacts_find_def(&defs, o.s1);
        if (!d) return sy_err_set(&r->err, SY_E_NOT_FOUND, "attribute \"%s\" not found", o.s1);
        if (strcmp(d->type, "enum"))
            return sy_err_field(&r->err, SY_E_INVALID, "options",
                                "options apply to enum attributes only");
        if ((rc = check_options(r, opts))) return rc;
    }
    o.i1 = 1;
    o.fn = job_attr;
    if ((rc = run_op(&o))) return rc;
    return reply_result(&o, 200);
}

static int h_attr_delete(sy_req *r) {
    op o;
    op_init(&o, r);
    o.s1 = sy_req_param(r, "key");
    o.i1 = 2;
    o.fn = job_attr;
    int rc = run_op(&o);
    if (rc) return rc;
    return reply_result(&o, 200);
}

/* --- imports --- */

static int h_import(sy_req *r) {
    return sy_contacts_import_http(r, CTX(r), 0);
}
static int h_import_preview(sy_req *r) {
    return sy_contacts_import_http(r, CTX(r), 1);
}

static int h_imports(sy_req *r) {
    json_t *out;
    int rc = sy_contacts_import_list(CTX(r), actor_of(r), &out, &r->err);
    if (rc) return rc;
    return sy_reply_json(r, 200, out);
}

static int h_import_get(sy_req *r) {
    int64_t id;
    json_t *out;
    int rc;
    if ((rc = sy_req_param_id(r, "id", &id)) ||
        (rc = sy_contacts_import_get(CTX(r), actor_of(r), id, &out, &r->err)))
        return rc;
    return sy_reply_json(r, 200, out);
}

static int h_import_errors(sy_req *r) {
    int64_t id;
    int rc;
    if ((rc = sy_req_param_id(r, "id", &id))) return rc;
    sy_buf out = SY_BUF_INIT;
    rc = sy_contacts_import_errors_csv(CTX(r), actor_of(r), id, &out, &r->err);
    if (rc == 0) {
        char cd[96];
        snprintf(cd, sizeof cd, "attachment; filename=\"import-%lld-errors.csv\"", (long long)id);
        sy_reply_header(r, "Content-Disposition", cd);
        rc = sy_reply_raw(r, 200, "text/csv; charset=utf-8", out.p ? out.p : "", out.len);
    }
    sy_buf_release(&out);
    return rc;
}

/* --- the route table --- */

#define IMPORT_LIMIT ((size_t)50 * 1024 * 1024)
#define R SY_PERM_CONTACTS_READ
#define W SY_PERM_CONTACTS_WRITE
#define S SY_AUTH_STAFF

/* Literal paths come before {id} patterns so a first-match router never
 * reads "pool" as an id. */
static sy_route routes[] = {
    {"GET", "/api/v1/contacts", h_list, NULL, S, R, 0, "list and search contacts"},
    {"POST", "/api/v1/contacts", h_create, NULL, S, W, 0, "create a contact"},
    {"GET", "/api/v1/contacts/pool", h_pool, NULL, S, R, 0, "list the lead pool (公海)"},
    {"GET", "/api/v1/contacts/lookup", h_lookup, NULL, S, R, 0, "find a contact by identity"},
    {"GET", "/api/v1/contacts/export.csv", h_export, NULL, S, R | SY_PERM_CONTACTS_EXPORT, 0,
     "export contacts as CSV"},
    {"POST", "/api/v1/contacts/import", h_import, NULL, S, SY_PERM_CONTACTS_IMPORT, IMPORT_LIMIT,
     "import contacts from CSV"},
    {"POST", "/api/v1/contacts/import/preview", h_import_preview, NULL, S, SY_PERM_CONTACTS_IMPORT,
     IMPORT_LIMIT, "preview a CSV import"},
    {"POST", "/api/v1/contacts/merge/preview", h_merge_preview, NULL, S, R | SY_PERM_CONTACTS_MERGE,
     0, "preview a merge"},
    {"POST", "/api/v1/contacts/merge", h_merge, NULL, S, R | SY_PERM_CONTACTS_MERGE, 0,
     "merge two contacts"},
    {"POST", "/api/v1/contacts/handover", h_handover, NULL, S, SY_PERM_POOL_MANAGE, 0,
     "hand over a departing person's contacts"},
    {"GET", "/api/v1/contacts/merges/{id}", h_merge_get, NULL, S, R | SY_PERM_CONTACTS_MERGE, 0,
     "read a merge record"},
    {"POST", "/api/v1/contacts/merges/{id}/undo", h_merge_undo, NULL, S,
     R | SY_PERM_CONTACTS_MERGE | SY_PERM_SETTINGS_MANAGE, 0, "undo a merge (admins)"},
    {"GET", "/api/v1/contacts/{id}", h_get, NULL, S, R, 0, "read a contact"},
    {"PATCH", "/api/v1/contacts/{id}", h_patch, NULL, S, W, 0, "change a contact"},
    {"GET", "/api/v1/contacts/{id}/timeline", h_timeline, NULL, S, R, 0, "a contact's timeline"},
    {"GET", "/api/v1/contacts/{id}/follow-ups", h_followups, NULL, S, R, 0,
     "a contact's follow-up records"},
    {"POST", "/api/v1/contacts/{id}/follow-ups", h_followup_add, NULL, S, W, 0,
     "record a follow-up"},
    {"POST", "/api/v1/contacts/{id}/identities", h_identity_add, NULL, S, W, 0, "add an identity"},
    {"GET", "/api/v1/contacts/{id}/consent", h_consent_get, NULL, S, R, 0, "read consent records"},
    {"PUT", "/api/v1/contacts/{id}/consent/{channel}", h_consent_put, NULL, S, W, 0,
     "set consent for a channel"},
    {"POST", "/api/v1/contacts/{id}/followers", h_follower_add, NULL, S, W, 0, "add a follower"},
    {"DELETE", "/api/v1/contacts/{id}/followers/{staff_id}", h_follower_del, NULL, S, W, 0,
     "remove a follower"},
    {"POST", "/api/v1/contacts/{id}/claim", h_claim, NULL, S, W, 0, "claim a lead from the pool"},
    {"POST", "/api/v1/contacts/{id}/return", h_return, NULL, S, W, 0, "return a lead to the pool"},
    {"POST", "/api/v1/contacts/{id}/unmask-phone", h_unmask, NULL, S, R | SY_PERM_PHONE_UNMASK, 0,
     "reveal a full phone number (audited)"},
    {"GET", "/api/v1/pool/settings", h_settings_get, NULL, S, R, 0, "read lead-pool settings"},
    {"PATCH", "/api/v1/pool/settings", h_settings_patch, NULL, S, SY_PERM_POOL_MANAGE, 0,
     "change lead-pool settings"},
    {"POST", "/api/v1/pool/recycle", h_recycle_now, NULL, S, SY_PERM_POOL_MANAGE, 0,
     "run lead recycling now"},
    {"GET", "/api/v1/channels", h_channels, NULL, S, R, 0, "list acquisition channels"},
    {"POST", "/api/v1/channels", h_channel_create, NULL, S, SY_PERM_SETTINGS_MANAGE, 0,
     "create an acquisition channel"},
    {"GET", "/api/v1/channels/{id}", h_channel_get, NULL, S, R, 0, "read an acquisition channel"},
    {"PATCH", "/api/v1/channels/{id}", h_channel_patch, NULL, S, SY_PERM_SETTINGS_MANAGE, 0,
     "change an acquisition channel"},
    {"DELETE", "/api/v1/channels/{id}", h_channel_delete, NULL, S, SY_PERM_SETTINGS_MANAGE, 0,
     "delete an acquisition channel"},
    {"GET", "/api/v1/contact-attributes", h_attrs, NULL, S, R, 0,
     "list custom attribute definitions"},
    {"POST", "/api/v1/contact-attributes", h_attr_create, NULL, S, SY_PERM_SETTINGS_MANAGE, 0,
     "define a custom attribute"},
    {"PATCH", "/api/v1/contact-attributes/{key}", h_attr_patch, NULL, S, SY_PERM_SETTINGS_MANAGE, 0,
     "change a custom attribute"},
    {"DELETE", "/api/v1/contact-attributes/{key}", h_attr_delete, NULL, S, SY_PERM_SETTINGS_MANAGE,
     0, "delete a custom attribute"},
    {"GET", "/api/v1/imports", h_imports, NULL, S, SY_PERM_CONTACTS_IMPORT, 0, "list imports"},
    {"GET", "/api/v1/imports/{id}", h_import_get, NULL, S, SY_PERM_CONTACTS_IMPORT, 0,
     "an import's status and counts"},
    {"GET", "/api/v1/imports/{id}/errors.csv", h_import_errors, NULL, S, SY_PERM_CONTACTS_IMPORT, 0,
     "an import's per-row error report"},
};

void sy_contacts_register(sy_contacts *c, sy_http *h) {
    /* the table is static; one contacts module per process */
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++)
        routes[i].ctx = c;
    sy_http_add_routes(h, routes, SY_ARRAY_LEN(routes));
    sy_contacts_metrics_register(c, h);
    sy_contacts_guard_refs(c);
}

int sy_contacts_export_file(sy_contacts *c, const char *path, int unmask, size_t *rows, sy_err *e) {
    sy_actor sys;
    sy_contacts_system_actor(&sys);
    sy_arena *a = sy_arena_create();
    contact_filter f;
    memset(&f, 0, sizeof f);
    f.sort = "created_at";
    sy_buf out = SY_BUF_INIT;
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc == 0) {
        rc = sy_contacts_export_rows(db, a, &sys, &f, unmask, &out, rows, e);
        sy_store_read_end(c->st, db);
    }
    if (rc == 0) {
        FILE *fp = fopen(path, "wb");
        if (!fp)
            rc = sy_err_set(e, SY_E_IO, "cannot create \"%s\"", path);
        else {
            if (fwrite(out.p, 1, out.len, fp) != out.len)
                rc = sy_err_set(e, SY_E_IO, "cannot write \"%s\"", path);
            if (fclose(fp) != 0 && rc == 0)
                rc = sy_err_set(e, SY_E_IO, "cannot write \"%s\"", path);
        }
    }
    if (rc == 0) {
        op o;
        memset(&o, 0, sizeof o);
        o.actor = &sys;
        o.s1 = "contacts.export";
        o.s2 = "contacts";
        o.body = json_pack("{s:I,s:b,s:s}", "rows", (json_int_t)*rows, "phones_unmasked", unmask,
                           "file", path);
        o.fn = job_audit;
        rc = sy_store_write(c->st, op_job, &o, e);
        json_decref(o.body);
    }
    sy_buf_release(&out);
    sy_arena_destroy(a);
    return rc;
}
