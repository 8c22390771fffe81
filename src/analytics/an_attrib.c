/* an_attrib.c — channel costs (the analytics_channel_costs table) and
 * first-touch attribution: new contacts, conversions, revenue, CAC and ROI
 * per acquisition channel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analytics_int.h"
#include "base/clock.h"
#include "base/json.h"

/* --- costs --- */

int an_channel_costs(sy_analytics *an, int64_t from_day, int64_t to_day, json_t **costs,
                     sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(an->st, &db, e);
    if (rc) return rc;
    char f[11], t[11];
    an_format_day(from_day, f);
    an_format_day(to_day, t);
    json_t *out = json_object();
    sy_stmt *st;
    if ((rc = sy_db_prepare(db,
                            "SELECT channel_id, from_day, to_day, cost_fen FROM "
                            "analytics_channel_costs WHERE from_day <= ?2 AND to_day >= ?1",
                            &st, e)) == 0) {
        sy_stmt_bind_text(st, 1, f);
        sy_stmt_bind_text(st, 2, t);
        while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
            int64_t c0, c1;
            if (an_parse_day(sy_stmt_col_text(st, 1), &c0) ||
                an_parse_day(sy_stmt_col_text(st, 2), &c1) || c1 < c0)
                continue;
            int64_t lo = c0 > from_day ? c0 : from_day, hi = c1 < to_day ? c1 : to_day;
            if (hi < lo) continue;
            /* spread evenly over the cost's days; the overlap gets its share,
             * rounded down (whole fen) */
            int64_t fen = sy_stmt_col_int(st, 3) * (hi - lo + 1) / (c1 - c0 + 1);
            char key[24];
            snprintf(key, sizeof key, "%lld", (long long)sy_stmt_col_int(st, 0));
            json_t *old = json_object_get(out, key);
            json_object_set_new(out, key, json_integer(fen + (old ? json_integer_value(old) : 0)));
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(an->st, db);
    if (rc < 0) {
        json_decref(out);
        return rc;
    }
    *costs = out;
    return 0;
}

typedef struct cost_job {
    const sy_actor *actor;
    int64_t id;
    int64_t channel_id;
    const char *from, *to, *note;
    int64_t cost_fen;
    int has_channel, has_from, has_to, has_cost, has_note;
    int del;
} cost_job;

static json_t *cost_row(sy_stmt *st) {
    const char *note = sy_stmt_col_text(st, 5);
    return json_pack(
        "{s:I,s:I,s:s,s:s,s:I,s:o,s:I,s:I}", "id", (json_int_t)sy_stmt_col_int(st, 0), "channel_id",
        (json_int_t)sy_stmt_col_int(st, 1), "from", sy_stmt_col_text(st, 2), "to",
        sy_stmt_col_text(st, 3), "cost_fen", (json_int_t)sy_stmt_col_int(st, 4), "note",
        note ? json_string(note) : json_null(), "created_at", (json_int_t)sy_stmt_col_int(st, 6),
        "updated_at", (json_int_t)sy_stmt_col_int(st, 7));
}

#define COST_COLS "id, channel_id, from_day, to_day, cost_fen, note, created_at, updated_at"

static int cost_get(sy_analytics *an, int64_t id, json_t **out, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(an->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "SELECT " COST_COLS " FROM analytics_channel_costs WHERE id = ?",
                            &st, e)) == 0) {
        sy_stmt_bind_int(st, 1, id);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW) {
            *out = cost_row(st);
            rc = 0;
        } else if (rc == SY_DONE) {
            rc = sy_err_set(e, SY_E_NOT_FOUND, "channel cost %lld does not exist", (long long)id);
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(an->st, db);
    return rc;
}

static int job_cost(sy_db *db, void *arg, sy_err *e) {
    cost_job *j = arg;
    sy_stmt *st;
    int64_t now = sy_now_ms();
    int rc;
    char target[48];
    if (j->del) {
        if ((rc = sy_db_prepare(db, "DELETE FROM analytics_channel_costs WHERE id = ?", &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, j->id);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        if (sy_db_changes(db) == 0)
            return sy_err_set(e, SY_E_NOT_FOUND, "channel cost %lld does not exist",
                              (long long)j->id);
        snprintf(target, sizeof target, "channel_cost:%lld", (long long)j->id);
        return sy_audit_record(db, j->actor, "analytics.cost.delete", target, NULL, e);
    }
    if (j->id == 0) {
        if ((rc = sy_db_prepare(db,
                                "INSERT INTO analytics_channel_costs(channel_id, from_day, to_day, "
                                "cost_fen, note, created_by, created_at, updated_at) "
                                "VALUES (?,?,?,?,?,?,?,?)",
                                &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, j->channel_id);
        sy_stmt_bind_text(st, 2, j->from);
        sy_stmt_bind_text(st, 3, j->to);
        sy_stmt_bind_int(st, 4, j->cost_fen);
        if (j->note) sy_stmt_bind_text(st, 5, j->note);
        if (j->actor && j->actor->staff_id) sy_stmt_bind_int(st, 6, j->actor->staff_id);
        sy_stmt_bind_int(st, 7, now);
        sy_stmt_bind_int(st, 8, now);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        j->id = sy_db_last_id(db);
        snprintf(target, sizeof target, "channel_cost:%lld", (long long)j->id);
        return sy_audit_record(db, j->actor, "analytics.cost.create", target, NULL, e);
    }
    if ((rc = sy_db_prepare(db,
                            "UPDATE analytics_channel_costs SET channel_id = CASE WHEN ?2 THEN ?3 "
                            "ELSE channel_id END, from_day = coalesce(?4, from_day), to_day = "
                            "coalesce(?5, to_day), cost_fen = CASE WHEN ?6 THEN ?7 ELSE cost_fen "
                            "END, note = CASE WHEN ?8 THEN ?9 ELSE note END, updated_at = ?10 "
                            "WHERE id = ?1",
                            &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, j->id);
    sy_stmt_bind_int(st, 2, j->has_channel);
    sy_stmt_bind_int(st, 3, j->channel_id);
    if (j->has_from) sy_stmt_bind_text(st, 4, j->from);
    if (j->has_to) sy_stmt_bind_text(st, 5, j->to);
    sy_stmt_bind_int(st, 6, j->has_cost);
    sy_stmt_bind_int(st, 7, j->cost_fen);
    sy_stmt_bind_int(st, 8, j->has_note);
    if (j->note) sy_stmt_bind_text(st, 9, j->note);
    sy_stmt_bind_int(st, 10, now);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (sy_db_changes(db) == 0)
        return sy_err_set(e, SY_E_NOT_FOUND, "channel cost %lld does not exist", (long long)j->id);
    /* the stored range must still be ordered after a partial update */
    int64_t bad = 0;
    if ((rc = sy_db_prepare(
             db, "SELECT to_day < from_day FROM analytics_channel_costs WHERE id = ?", &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, j->id);
    if ((rc = sy_stmt_step(st, e)) == SY_ROW) bad = sy_stmt_col_int(st, 0);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (bad) return sy_err_field(e, SY_E_INVALID, "to", "to is before from");
    snprintf(target, sizeof target, "channel_cost:%lld", (long long)j->id);
    return sy_audit_record(db, j->actor, "analytics.cost.update", target, NULL, e);
}

#define CTX(r) ((sy_analytics *)(r)->route->ctx)

static int cost_body(sy_req *r, json_t *b, int creating, cost_job *j) {
    static const char *const keys[] = {"channel_id", "from", "to", "cost_fen", "note", NULL};
    sy_err *e = &r->err;
    if (sy_json_only(b, keys, e)) return SY_E_INVALID;
    json_t *v;
    if ((v = json_object_get(b, "channel_id")) || creating) {
        if (!json_is_integer(v))
            return sy_err_field(e, SY_E_INVALID, "channel_id",
                                "channel_id must be the id of an acquisition channel");
        j->channel_id = json_integer_value(v);
        j->has_channel = 1;
        sy_contact_facts *f;
        int rc = sy_contacts_facts(CTX(r)->contacts, &f, e);
        if (rc) return rc;
        int found = 0;
        for (size_t i = 0; i < f->n_channels; i++)
            if (f->channels[i].id == j->channel_id) found = 1;
        sy_contacts_facts_release(f);
        if (!found)
            return sy_err_field(e, SY_E_INVALID, "channel_id", "channel %lld does not exist",
                                (long long)j->channel_id);
    }
    int64_t d0 = 0, d1 = 0;
    if ((v = json_object_get(b, "from")) || creating) {
        if (an_parse_day(json_string_value(v), &d0))
            return sy_err_field(e, SY_E_INVALID, "from", "from must be a date \"YYYY-MM-DD\"");
        j->from = json_string_value(v);
        j->has_from = 1;
    }
    if ((v = json_object_get(b, "to")) || creating) {
        if (an_parse_day(json_string_value(v), &d1))
            return sy_err_field(e, SY_E_INVALID, "to", "to must be a date \"YYYY-MM-DD\"");
        j->to = json_string_value(v);
        j->has_to = 1;
    }
    if (j->has_from && j->has_to && d1 < d0)
        return sy_err_field(e, SY_E_INVALID, "to", "to (%s) is before from (%s)", j->to, j->from);
    if ((v = json_object_get(b, "cost_fen")) || creating) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 100000000000000LL)
            return sy_err_field(e, SY_E_INVALID, "cost_fen",
                                "cost_fen must be a whole number of fen, 0 or more");
        j->cost_fen = json_integer_value(v);
        j->has_cost = 1;
    }
    if ((v = json_object_get(b, "note"))) {
        if (!json_is_string(v) && !json_is_null(v))
            return sy_err_field(e, SY_E_INVALID, "note", "note must be a string");
        if (json_string_length(v) > 500)
            return sy_err_field(e, SY_E_INVALID, "note", "note is longer than 500 bytes");
        j->note = json_string_value(v);
        j->has_note = 1;
    }
    return 0;
}

static int h_cost_list(sy_req *r) {
    sy_db *db;
    int rc = sy_store_read_begin(CTX(r)->st, &db, &r->err);
    if (rc) return rc;
    json_t *items = json_array();
    sy_stmt *st;
    if ((rc = sy_db_prepare(db,
                            "SELECT " COST_COLS
                            " FROM analytics_channel_costs ORDER BY from_day DESC, id DESC",
                            &st, &r->err)) == 0) {
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW)
            json_array_append_new(items, cost_row(st));
        sy_stmt_finalize(st);
    }
    sy_store_read_end(CTX(r)->st, db);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    return sy_reply_json(r, 200,
                         json_pack("{s:o,s:I,s:n}", "items", items, "total",
                                   (json_int_t)json_array_size(items), "next_cursor"));
}

static int h_cost_create(sy_req *r) {
    json_t *b;
    int rc = sy_req_json(r, &b);
    if (rc) return rc;
    cost_job j = {.actor = sy_req_actor(r)};
    if ((rc = cost_body(r, b, 1, &j))) return rc;
    if ((rc = sy_store_write(CTX(r)->st, job_cost, &j, &r->err))) return rc;
    json_t *out;
    if ((rc = cost_get(CTX(r), j.id, &out, &r->err))) return rc;
    return sy_reply_json(r, 201, out);
}

static int h_cost_update(sy_req *r) {
    int64_t id;
    json_t *b;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc || (rc = sy_req_json(r, &b))) return rc;
    json_t *cur;
    if ((rc = cost_get(CTX(r), id, &cur, &r->err))) return rc;
    json_decref(cur);
    cost_job j = {.actor = sy_req_actor(r), .id = id};
    if ((rc = cost_body(r, b, 0, &j))) return rc;
    if ((rc = sy_store_write(CTX(r)->st, job_cost, &j, &r->err))) return rc;
    json_t *out;
    if ((rc = cost_get(CTX(r), id, &out, &r->err))) return rc;
    return sy_reply_json(r, 200, out);
}

static int h_cost_delete(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    cost_job j = {.actor = sy_req_actor(r), .id = id, .del = 1};
    if ((rc = sy_store_write(CTX(r)->st, job_cost, &j, &r->err))) return rc;
    return sy_reply_json(r, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "deleted", 1));
}

#define S SY_AUTH_STAFF
#define R SY_PERM_CONTACTS_READ
#define M SY_PERM_SETTINGS_MANAGE

static sy_route cost_routes[] = {
    {"GET", "/api/v1/analytics/channel-costs", h_cost_list, NULL, S, R, 0, "list channel costs", 0},
    {"POST", "/api/v1/analytics/channel-costs", h_cost_create, NULL, S, M, 4096,
     "record what a channel cost over a range of days", 0},
    {"PATCH", "/api/v1/analytics/channel-costs/{id}", h_cost_update, NULL, S, M, 4096,
     "change a channel cost", 0},
    {"DELETE", "/api/v1/analytics/channel-costs/{id}", h_cost_delete, NULL, S, M, 0,
     "delete a channel cost", 0},
};

void an_costs_register(sy_analytics *an, sy_http *h) {
    for (size_t i = 0; i < sizeof cost_routes / sizeof cost_routes[0]; i++)
        cost_routes[i].ctx = an;
    sy_http_add_routes(h, cost_routes, sizeof cost_routes / sizeof cost_routes[0]);
}

/* --- attribution --- */

typedef struct actx {
    const sy_contact_facts *f;
    sy_engine *eng;
    int64_t from_ms, to_ms, window_ms;
    an_groups g; /* source → new, converted, revenue */
    int oom;
} actx;

static void attrib_contact(void *vctx, uint32_t contact, const sy_engine_rec *r, size_t n) {
    actx *c = vctx;
    const sy_contact_facts *f = c->f;
    if (contact >= f->n) return;
    int64_t created = f->created_at[contact];
    if (!created || created < c->from_ms || created >= c->to_ms) return;
    int64_t end = created + c->window_ms, rev = 0;
    int conv = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].ts < created) continue;
        if (r[i].ts >= end) break;
        if (r[i].flags & SY_EV_ORDER) {
            conv = 1;
            rev += sy_engine_revenue_unlocked(c->eng, r[i].pos);
        } else if (r[i].flags & SY_EV_REFUND) {
            rev -= sy_engine_revenue_unlocked(c->eng, r[i].pos);
        }
    }
    if (!conv && !rev) return;
    int64_t *row = an_groups_row(&c->g, f->source[contact]);
    if (!row) {
        c->oom = 1;
        return;
    }
    row[1] += conv;
    row[2] += rev;
}

static json_t *attrib_row(json_t *id, const char *name, int64_t nw, int64_t conv, int64_t rev,
                          int64_t cost, int has_cost) {
    return json_pack("{s:o,s:s,s:I,s:I,s:o,s:I,s:o,s:o,s:o}", "channel_id", id, "channel", name,
                     "new_contacts", (json_int_t)nw, "converted", (json_int_t)conv,
                     "conversion_rate", an_num(nw ? (double)conv / (double)nw : 0, nw > 0),
                     "revenue_fen", (json_int_t)rev, "cost_fen",
                     has_cost ? json_integer(cost) : json_null(), "cac_fen",
                     an_num(nw ? (double)cost / (double)nw : 0, has_cost && nw > 0), "roi",
                     an_num(cost ? (double)(rev - cost) / (double)cost : 0, has_cost && cost > 0));
}

int an_attribution(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of,
                   json_t **out, sy_err *e) {
    static const char *const keys[] = {"from", "to", "conversion_days", "segment_id", NULL};
    if (sy_json_only(body, keys, e)) return SY_E_INVALID;
    json_t *cd = json_object_get(body, "conversion_days");
    if (cd && (!json_is_integer(cd) || json_integer_value(cd) < 1 || json_integer_value(cd) > 365))
        return sy_err_field(e, SY_E_INVALID, "conversion_days", "conversion_days must be 1 to 365");
    sy_arena *a = sy_arena_create();
    if (!a) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    an_q q;
    int rc = an_q_parse(an, a, actor, body, as_of, AN_F_RANGE | AN_F_SEGMENT, &q, e);
    if (rc) {
        sy_arena_destroy(a);
        return rc;
    }
    sy_contact_facts *f = NULL;
    json_t *costs = NULL;
    actx ctx[AN_THREADS];
    memset(ctx, 0, sizeof ctx);
    if ((rc = sy_contacts_facts(an->contacts, &f, e)) ||
        (rc = an_channel_costs(an, q.from_day, q.to_day, &costs, e)))
        goto done;
    int64_t from_ms = an_day_start(q.tz, q.from_day), to_ms = an_day_start(q.tz, q.to_day + 1);
    void *ptrs[AN_THREADS];
    for (int t = 0; t < AN_THREADS; t++) {
        ctx[t] = (actx){
            f, an->engine, from_ms, to_ms, (cd ? json_integer_value(cd) : 30) * AN_DAY_MS, {0}, 0};
        an_groups_init(&ctx[t].g, 3);
        ptrs[t] = &ctx[t];
    }
    if (sy_engine_scan_contacts(an->engine, q.only, AN_THREADS, attrib_contact, ptrs))
        ctx[0].oom = 1;
    for (int t = 1; t < AN_THREADS; t++) {
        an_groups_merge(&ctx[0].g, &ctx[t].g);
        if (ctx[t].oom) ctx[0].oom = 1;
    }
    /* new contacts per source, contacts without events included */
    for (uint32_t k = 1; k < f->n && !ctx[0].oom; k++) {
        if (f->created_at[k] < from_ms || f->created_at[k] >= to_ms) continue;
        if (q.only && !sy_idset_contains(q.only, k)) continue;
        int64_t *row = an_groups_row(&ctx[0].g, f->source[k]);
        if (!row)
            ctx[0].oom = 1;
        else
            row[0]++;
    }
    if (ctx[0].oom || ctx[0].g.failed) {
        rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        goto done;
    }
    json_t *rows = json_array();
    int64_t tn = 0, tc = 0, tr = 0, tcost = 0;
    int any_cost = 0;
    /* every channel gets a row (a channel with cost and no contacts matters most) */
    for (size_t i = 0; i <= f->n_channels; i++) {
        int64_t id = i < f->n_channels ? f->channels[i].id : 0;
        int64_t *row = an_groups_row(&ctx[0].g, id);
        if (!row) break;
        char key[24];
        snprintf(key, sizeof key, "%lld", (long long)id);
        json_t *cv = json_object_get(costs, key);
        int64_t cost = cv ? json_integer_value(cv) : 0;
        if (id == 0 && !row[0] && !row[1] && !row[2]) continue;
        json_array_append_new(rows, attrib_row(id ? json_integer(id) : json_null(),
                                               id ? f->channels[i].name : "unattributed", row[0],
                                               row[1], row[2], cost, cv != NULL));
        tn += row[0];
        tc += row[1];
        tr += row[2];
        tcost += cost;
        if (cv) any_cost = 1;
    }
    char fr[11], to[11];
    an_format_day(q.from_day, fr);
    an_format_day(q.to_day, to);
    *out = json_pack("{s:s,s:s,s:I,s:o,s:o}", "from", fr, "to", to, "conversion_days",
                     (json_int_t)(cd ? json_integer_value(cd) : 30), "rows", rows, "total",
                     attrib_row(json_null(), "total", tn, tc, tr, tcost, any_cost));
done:
    for (int t = 0; t < AN_THREADS; t++)
        an_groups_free(&ctx[t].g);
    json_decref(costs);
    sy_contacts_facts_release(f);
    an_q_done(&q);
    sy_arena_destroy(a);
    return rc;
}
