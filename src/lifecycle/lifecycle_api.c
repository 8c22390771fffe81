/* lifecycle_api.c — HTTP: a contact's stage and history, the distribution
 * now and per day, and the rules (settings). */
#include <stdlib.h>
#include <string.h>
#include "lifecycle_int.h"

#define DAY_MS 86400000LL
#define MAX_DAYS 366

/* GET /api/v1/contacts/{id}/stage */
static int h_stage(sy_req *r) {
    sy_lifecycle *lc = r->ctx;
    int64_t id, live;
    if (sy_req_param_id(r, "id", &id)) return r->err.code;
    int rc = sy_contacts_visible(lc->contacts, r->arena, sy_req_actor(r), id, &live, &r->err);
    if (rc) return rc;
    int stage = 0;
    int64_t since = 0;
    pthread_mutex_lock(&lc->lock);
    if ((size_t)live < lc->n) stage = lc->stage[live], since = lc->since[live];
    pthread_mutex_unlock(&lc->lock);
    json_t *hist = json_array();
    sy_db *db;
    if ((rc = sy_store_read_begin(lc->st, &db, &r->err))) {
        json_decref(hist);
        return rc;
    }
    sy_stmt *st;
    rc = sy_db_prepare(db,
                       "SELECT from_stage, to_stage, at FROM stage_history WHERE contact_id = ?1 "
                       "ORDER BY at DESC, id DESC LIMIT 200",
                       &st, &r->err);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, live);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            const char *f = sy_stmt_col_text(st, 0), *t = sy_stmt_col_text(st, 1);
            json_array_append_new(
                hist, json_pack("{s:o, s:o, s:o, s:o, s:I}", "from",
                                f ? json_string(f) : json_null(), "from_label",
                                f ? json_string(sy_stage_label(sy_stage_parse(f))) : json_null(),
                                "to", t ? json_string(t) : json_null(), "to_label",
                                t ? json_string(sy_stage_label(sy_stage_parse(t))) : json_null(),
                                "at", (json_int_t)sy_stmt_col_int(st, 2)));
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(lc->st, db);
    if (rc < 0) {
        json_decref(hist);
        return rc;
    }
    return sy_reply_json(
        r, 200,
        json_pack("{s:I, s:o, s:o, s:o, s:o}", "contact_id", (json_int_t)live, "stage",
                  stage ? json_string(sy_stage_key(stage)) : json_null(), "label",
                  stage ? json_string(sy_stage_label(stage)) : json_null(), "since_at",
                  stage ? json_integer(since) : json_null(), "history", hist));
}

static json_t *stage_rows(const uint64_t *counts) {
    json_t *a = json_array();
    for (int s = 1; s < SY_STAGE_COUNT; s++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:I}", "stage", sy_stage_key(s), "label",
                                           sy_stage_label(s), "count", (json_int_t)counts[s]));
    return a;
}

/* GET /api/v1/lifecycle/distribution */
static int h_distribution(sy_req *r) {
    sy_lifecycle *lc = r->ctx;
    sy_idset *scope;
    int rc = sy_contacts_select_scope(lc->contacts, sy_req_actor(r), &scope, &r->err);
    if (rc) return rc;
    uint64_t counts[SY_STAGE_COUNT] = {0}, total = 0;
    uint32_t ids[4096];
    uint32_t from = 0;
    for (;;) {
        size_t n = sy_idset_list(scope, from, ids, 4096);
        if (!n) break;
        pthread_mutex_lock(&lc->lock);
        for (size_t i = 0; i < n; i++)
            counts[ids[i] < lc->n ? lc->stage[ids[i]] : 0]++;
        pthread_mutex_unlock(&lc->lock);
        total += n;
        if (n < 4096 || ids[n - 1] == UINT32_MAX) break;
        from = ids[n - 1] + 1;
    }
    sy_idset_destroy(scope);
    return sy_reply_json(r, 200,
                         json_pack("{s:I, s:I, s:I, s:o}", "as_of", (json_int_t)sy_now_ms(),
                                   "total", (json_int_t)total, "none", (json_int_t)counts[0],
                                   "stages", stage_rows(counts)));
}

/* UTC ms of 00:00 of the local date whose 00:00 UTC is day_utc. */
static int64_t local_midnight(const char *tz, int64_t day_utc) {
    int off = 8 * 3600;
    if (sy_tz_offset(tz, day_utc, &off)) off = 8 * 3600;
    int64_t guess = day_utc - (int64_t)off * 1000;
    if (sy_tz_offset(tz, guess, &off)) off = 8 * 3600;
    return day_utc - (int64_t)off * 1000;
}

static int date_arg(sy_req *r, const char *name, int64_t *day_utc) {
    const char *v = sy_req_query(r, name);
    if (!v) return 1; /* absent */
    if (sy_date_valid(v) || sy_time_parse(v, day_utc))
        return sy_err_field(&r->err, SY_E_INVALID, name, "%s \"%s\" is not a date (YYYY-MM-DD)",
                            name, v);
    return 0;
}

/* GET /api/v1/lifecycle/distribution/daily?from=YYYY-MM-DD&to=YYYY-MM-DD
 * (both days included; default the last 30 days). Each day counts the
 * stage contacts were in at the end of that day, from stage_history. */
static int h_daily(sy_req *r) {
    sy_lifecycle *lc = r->ctx;
    char tz[64] = "Asia/Shanghai";
    sy_staff_timezone(lc->staff, tz, sizeof tz);
    int64_t now = sy_now_ms(), from_d, to_d;
    int off = 8 * 3600;
    if (sy_tz_offset(tz, now, &off)) off = 8 * 3600;
    int64_t l = now + (int64_t)off * 1000;
    int64_t today = (l / DAY_MS - (l % DAY_MS < 0)) * DAY_MS;
    int rc = date_arg(r, "to", &to_d);
    if (rc < 0) return rc;
    if (rc) to_d = today;
    rc = date_arg(r, "from", &from_d);
    if (rc < 0) return rc;
    if (rc) from_d = to_d - 29 * DAY_MS;
    if (from_d > to_d) return sy_err_field(&r->err, SY_E_INVALID, "from", "from is after to%s", "");
    int64_t ndays = (to_d - from_d) / DAY_MS + 1;
    if (ndays > MAX_DAYS)
        return sy_err_field(&r->err, SY_E_INVALID, "from", "at most %d days at a time", MAX_DAYS);
    sy_idset *scope;
    if ((rc = sy_contacts_select_scope(lc->contacts, sy_req_actor(r), &scope, &r->err))) return rc;
    uint8_t *cur = NULL;
    size_t cap = 0;
    uint64_t counts[SY_STAGE_COUNT] = {0};
    json_t *days = json_array();
    sy_db *db;
    if ((rc = sy_store_read_begin(lc->st, &db, &r->err))) {
        sy_idset_destroy(scope);
        json_decref(days);
        return rc;
    }
    sy_stmt *st;
    int64_t end_all = local_midnight(tz, to_d + DAY_MS);
    rc = sy_db_prepare(db,
                       "SELECT contact_id, to_stage, at FROM stage_history WHERE at < ?1 "
                       "ORDER BY at, id",
                       &st, &r->err);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, end_all);
        int step = sy_stmt_step(st, &r->err);
        for (int64_t d = 0; d < ndays && step >= 0; d++) {
            int64_t end = local_midnight(tz, from_d + (d + 1) * DAY_MS);
            while (step == SY_ROW && sy_stmt_col_int(st, 2) < end) {
                int64_t id = sy_stmt_col_int(st, 0);
                if (id > 0 && id <= UINT32_MAX && sy_idset_contains(scope, (uint32_t)id)) {
                    if ((size_t)id >= cap) {
                        size_t nc = cap ? cap : 1024;
                        while (nc <= (size_t)id)
                            nc *= 2;
                        uint8_t *x = realloc(cur, nc);
                        if (!x) {
                            step = sy_err_set(&r->err, SY_E_NOMEM, "out of memory");
                            break;
                        }
                        memset(x + cap, 0, nc - cap);
                        cur = x, cap = nc;
                    }
                    int to = sy_stage_parse(sy_stmt_col_text(st, 1));
                    if (cur[id]) counts[cur[id]]--;
                    cur[id] = (uint8_t)to;
                    if (to) counts[to]++;
                }
                step = sy_stmt_step(st, &r->err);
            }
            if (step < 0) break;
            char date[40];
            sy_time_format(from_d + d * DAY_MS, date, sizeof date);
            date[10] = 0;
            json_t *c = json_object();
            for (int s = 1; s < SY_STAGE_COUNT; s++)
                json_object_set_new(c, sy_stage_key(s), json_integer((json_int_t)counts[s]));
            json_array_append_new(days, json_pack("{s:s, s:o}", "date", date, "counts", c));
        }
        if (step < 0) rc = step;
        sy_stmt_finalize(st);
    }
    sy_store_read_end(lc->st, db);
    free(cur);
    sy_idset_destroy(scope);
    if (rc) {
        json_decref(days);
        return rc;
    }
    char f[40], t[40];
    sy_time_format(from_d, f, sizeof f);
    sy_time_format(to_d, t, sizeof t);
    f[10] = t[10] = 0;
    return sy_reply_json(
        r, 200,
        json_pack("{s:s, s:s, s:s, s:o}", "from", f, "to", t, "timezone", tz, "days", days));
}

/* GET /api/v1/lifecycle/settings */
static int h_settings_get(sy_req *r) {
    sy_lifecycle *lc = r->ctx;
    sy_lc_rules rules;
    pthread_mutex_lock(&lc->lock);
    rules = lc->rules;
    pthread_mutex_unlock(&lc->lock);
    return sy_reply_json(r, 200, sy_lc_rules_json(&rules));
}

static int event_field(sy_req *r, json_t *body, const char *name, char *out, size_t n) {
    json_t *v = json_object_get(body, name);
    if (!v) return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200)
        return sy_err_field(&r->err, SY_E_INVALID, name,
                            "%s must be an event name of 1 to 200 characters", name);
    snprintf(out, n, "%s", json_string_value(v));
    return 0;
}

static int days_field(sy_req *r, json_t *body, const char *name, int *out) {
    json_t *v = json_object_get(body, name);
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3650) {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        char *shown = sy_strdup(r->arena, s ? s : "?");
        free(s);
        return sy_err_field(&r->err, SY_E_INVALID, name,
                            "%s %s must be a whole number of days from 1 to 3650", name, shown);
    }
    *out = (int)json_integer_value(v);
    return 0;
}

/* PUT /api/v1/lifecycle/settings — fields absent keep their value. */
static int h_settings_put(sy_req *r) {
    sy_lifecycle *lc = r->ctx;
    json_t *body;
    static const char *const allowed[] = {"added_event", "in_group_event", "active_days",
                                          "silent_days", "churned_days",   NULL};
    if (sy_req_json(r, &body) || sy_json_only(body, allowed, &r->err)) return r->err.code;
    sy_lc_rules rules;
    pthread_mutex_lock(&lc->lock);
    rules = lc->rules;
    pthread_mutex_unlock(&lc->lock);
    if (event_field(r, body, "added_event", rules.added_event, sizeof rules.added_event) ||
        event_field(r, body, "in_group_event", rules.in_group_event, sizeof rules.in_group_event) ||
        days_field(r, body, "active_days", &rules.active_days) ||
        days_field(r, body, "silent_days", &rules.silent_days) ||
        days_field(r, body, "churned_days", &rules.churned_days))
        return r->err.code;
    if (rules.silent_days <= rules.active_days)
        return sy_err_field(&r->err, SY_E_INVALID, "silent_days",
                            "silent_days (%d) must be more than active_days (%d)",
                            rules.silent_days, rules.active_days);
    if (rules.churned_days <= rules.silent_days)
        return sy_err_field(&r->err, SY_E_INVALID, "churned_days",
                            "churned_days (%d) must be more than silent_days (%d)",
                            rules.churned_days, rules.silent_days);
    int rc = sy_lc_settings_save(lc, sy_req_actor(r), &rules, &r->err);
    if (rc) return rc;
    return sy_reply_json(r, 200, sy_lc_rules_json(&rules));
}

static sy_route routes[] = {
    {"GET", "/api/v1/contacts/{id}/stage", h_stage, NULL, SY_AUTH_STAFF, SY_PERM_CONTACTS_READ, 0,
     "A contact's life-cycle stage and its history", 0},
    {"GET", "/api/v1/lifecycle/distribution", h_distribution, NULL, SY_AUTH_STAFF,
     SY_PERM_CONTACTS_READ, 0, "Contacts per life-cycle stage now (scope-filtered)", 0},
    {"GET", "/api/v1/lifecycle/distribution/daily", h_daily, NULL, SY_AUTH_STAFF,
     SY_PERM_CONTACTS_READ, 0, "Contacts per life-cycle stage at the end of each day", 0},
    {"GET", "/api/v1/lifecycle/settings", h_settings_get, NULL, SY_AUTH_STAFF,
     SY_PERM_CONTACTS_READ, 0, "The life-cycle stage rules", 0},
    {"PUT", "/api/v1/lifecycle/settings", h_settings_put, NULL, SY_AUTH_STAFF,
     SY_PERM_SETTINGS_MANAGE, 0, "Change the life-cycle stage rules", 0},
};

void sy_lifecycle_register(sy_lifecycle *lc, sy_http *h) {
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++)
        routes[i].ctx = lc;
    sy_http_add_routes(h, routes, SY_ARRAY_LEN(routes));
    sy_err e = {0};
    if (sy_lc_start(lc, &e)) sy_warn("msg=\"life-cycle stages not evaluated\" error=\"%s\"", e.msg);
}
