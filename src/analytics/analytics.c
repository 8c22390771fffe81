/* analytics.c — the module, workspace-timezone calendars, the parameters
 * every question shares, and the HTTP routes of the questions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analytics_int.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "store/store.h"

int sy_analytics_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_engine *engine,
                        sy_events *events, sy_segments *segments, sy_lifecycle *lifecycle,
                        sy_analytics **out, sy_err *e) {
    sy_analytics *a = calloc(1, sizeof *a);
    if (!a) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    *a = (sy_analytics){st, staff, contacts, engine, events, segments, lifecycle};
    *out = a;
    return 0;
}

void sy_analytics_destroy(sy_analytics *a) {
    if (!a) return;
    if (a->warming) pthread_join(a->warm, NULL);
    free(a);
}

/* See analytics_int.h. A funnel's per-type lists are built at its first
 * question (0.5 s on the bench's 20 M events): the first look at a
 * dashboard after a restart would wait for them. */
#define WARM_FUNNELS 32
int an_warm_funnels(sy_analytics *a) {
    json_t *qs = json_array();
    sy_db *db;
    sy_err e = {0};
    if (sy_store_read_begin(a->st, &db, &e) == 0) {
        sy_stmt *st;
        if (sy_db_prepare(db, "SELECT DISTINCT question FROM dashboard_cards ORDER BY 1", &st,
                          &e) == 0) {
            while (json_array_size(qs) < WARM_FUNNELS && sy_stmt_step(st, &e) == SY_ROW) {
                json_t *q = json_loads(sy_stmt_col_text(st, 0), 0, NULL);
                const char *kind = json_string_value(json_object_get(q, "kind"));
                if (kind && strcmp(kind, "funnel") == 0)
                    json_array_append_new(qs, q);
                else
                    json_decref(q);
            }
            sy_stmt_finalize(st);
        }
        sy_store_read_end(a->st, db);
    }
    int asked = 0;
    size_t i;
    json_t *q;
    json_array_foreach(qs, i, q) {
        json_t *out = NULL;
        sy_err qe = {0};
        /* a card whose question no longer holds (an event renamed away)
         * fails here as it would on the dashboard: nothing to warm */
        if (sy_analytics_run(a, NULL, q, 0, &out, &qe) == 0) asked++;
        json_decref(out);
    }
    json_decref(qs);
    return asked;
}

static void *warm_main(void *arg) {
    sy_analytics *a = arg;
    char tz[64] = "Asia/Shanghai";
    if (a->staff) sy_staff_timezone(a->staff, tz, sizeof tz);
    int64_t t0 = sy_mono_ms();
    size_t n = 0;
    if (sy_engine_days_warm(a->engine, tz, -1, &n) == 0)
        sy_info("msg=\"day index built\" events=%zu ms=%lld", n, (long long)(sy_mono_ms() - t0));
    else
        sy_warn("msg=\"day index not built ahead: out of memory\"");
    t0 = sy_mono_ms();
    int asked = an_warm_funnels(a);
    if (asked)
        sy_info("msg=\"saved funnels asked ahead\" funnels=%d ms=%lld", asked,
                (long long)(sy_mono_ms() - t0));
    return NULL;
}

void sy_analytics_warm(sy_analytics *a) {
    if (a->warming) return;
    a->warming = pthread_create(&a->warm, NULL, warm_main, a) == 0;
}

void sy_analytics_set_tags(sy_analytics *a, sy_tags *tags) {
    a->tags = tags;
}

/* --- civil days (Howard Hinnant's public-domain algorithms) --- */

int64_t an_days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void an_civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

int an_parse_day(const char *s, int64_t *day) {
    if (!s || sy_date_valid(s)) return SY_E_INVALID;
    int y, m, d;
    if (sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3) return SY_E_INVALID;
    *day = an_days_from_civil(y, m, d);
    return 0;
}

void an_format_day(int64_t day, char out[11]) {
    int y, m, d;
    an_civil_from_days(day, &y, &m, &d);
    char buf[48];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
    memcpy(out, buf, 10);
    out[10] = 0;
}

static int tz_off_ms(const char *tz, int64_t ms) {
    int off = 0;
    if (sy_tz_offset(tz, ms, &off)) off = 8 * 3600; /* unknown zone: Asia/Shanghai */
    return off;
}

int64_t an_local_day(const char *tz, int64_t ms) {
    int64_t l = ms + (int64_t)tz_off_ms(tz, ms) * 1000;
    return l >= 0 ? l / AN_DAY_MS : -((-l + AN_DAY_MS - 1) / AN_DAY_MS);
}

int64_t an_day_start(const char *tz, int64_t day) {
    int64_t guess = day * AN_DAY_MS - (int64_t)tz_off_ms(tz, day * AN_DAY_MS) * 1000;
    int64_t start = day * AN_DAY_MS - (int64_t)tz_off_ms(tz, guess) * 1000;
    /* where the clock jumps at midnight, local midnight does not exist: the
     * day begins at the jump, the first instant whose local day is `day` */
    if (an_local_day(tz, start) != day || an_local_day(tz, start - 1) == day) {
        int64_t lo = start - 6 * 3600000LL, hi = start + 6 * 3600000LL;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (an_local_day(tz, mid) >= day)
                hi = mid;
            else
                lo = mid + 1;
        }
        start = lo;
    }
    return start;
}

int an_cal_build(sy_arena *a, const char *tz, int64_t first, int64_t last, int interval, an_cal *c,
                 sy_err *e) {
    memset(c, 0, sizeof *c);
    int n = (int)(last - first + 1);
    if (n < 1) n = 1;
    c->first = first;
    c->n_days = n;
    c->interval = interval;
    c->start = sy_alloc(a, (size_t)(n + 1) * sizeof *c->start);
    c->period_of_day = sy_alloc(a, (size_t)n * sizeof *c->period_of_day);
    c->period_first = sy_alloc(a, (size_t)(n + 1) * sizeof *c->period_first);
    c->label = sy_alloc(a, (size_t)(n + 1) * sizeof *c->label);
    if (!c->start || !c->period_of_day || !c->period_first || !c->label)
        return sy_err_set(e, SY_E_NOMEM, "out of memory");
    c->uniform = 1;
    for (int i = 0; i <= n; i++) {
        c->start[i] = an_day_start(tz, first + i);
        if (i && c->start[i] - c->start[i - 1] != AN_DAY_MS) c->uniform = 0;
    }
    int p = -1;
    int64_t key_prev = INT64_MIN;
    for (int i = 0; i < n; i++) {
        int64_t day = first + i, key;
        if (interval == AN_WEEK) {
            int64_t wd = ((day + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday; 0 = Monday */
            key = day - wd;
        } else if (interval == AN_MONTH) {
            int y, m, d;
            an_civil_from_days(day, &y, &m, &d);
            key = (int64_t)y * 12 + m;
        } else {
            key = day;
        }
        if (key != key_prev) {
            p++;
            c->period_first[p] = i;
            /* a period is labelled by its own first day, even when the range
             * starts in the middle of it */
            int64_t lab = day;
            if (interval == AN_WEEK) lab = key;
            if (interval == AN_MONTH) {
                int y, m, d;
                an_civil_from_days(day, &y, &m, &d);
                lab = an_days_from_civil(y, m, 1);
            }
            an_format_day(lab, c->label[p]);
            key_prev = key;
        }
        c->period_of_day[i] = p;
    }
    c->n_periods = p + 1;
    c->period_first[c->n_periods] = n;
    return 0;
}

/* --- common parameters --- */

static const char *const dim_names[SY_DIM_COUNT] = {"channel", "store", "category", "sku"};

static int dim_parse(const char *s) {
    for (int d = 0; d < SY_DIM_COUNT; d++)
        if (strcmp(s, dim_names[d]) == 0) return d;
    return -1;
}

static int filter_parse(an_q *q, json_t *f, const char *path, an_filter *out, sy_err *e) {
    static const char *const keys[] = {"property", "op", "value", NULL};
    if (!json_is_object(f))
        return sy_err_field(e, SY_E_INVALID, path, "a filter must be an object");
    if (sy_json_only(f, keys, e)) {
        char *fld = sy_sprintf(q->arena, "%s.%s", path, e->field);
        return sy_err_field(e, SY_E_INVALID, fld, "%s", sy_strdup(q->arena, e->msg));
    }
    const char *prop = json_string_value(json_object_get(f, "property"));
    const char *op = json_string_value(json_object_get(f, "op"));
    json_t *v = json_object_get(f, "value");
    if (!prop || (out->dim = dim_parse(prop)) < 0)
        return sy_err_field(e, SY_E_INVALID, sy_sprintf(q->arena, "%s.property", path),
                            "property \"%s\" cannot be filtered on: use channel, store, category "
                            "or sku",
                            prop ? prop : "");
    if (!op || (strcmp(op, "=") && strcmp(op, "!=") && strcmp(op, "in")))
        return sy_err_field(e, SY_E_INVALID, sy_sprintf(q->arena, "%s.op", path),
                            "op \"%s\" is not one of =, !=, in", op ? op : "");
    out->op = strcmp(op, "=") == 0 ? AN_OP_EQ : strcmp(op, "!=") == 0 ? AN_OP_NE : AN_OP_IN;
    out->n_ids = 0;
    const char *vpath = sy_sprintf(q->arena, "%s.value", path);
    if (out->op == AN_OP_IN) {
        if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > AN_MAX_IDS)
            return sy_err_field(e, SY_E_INVALID, vpath, "\"in\" takes an array of 1 to %d strings",
                                AN_MAX_IDS);
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (!json_is_string(x))
                return sy_err_field(e, SY_E_INVALID, vpath, "\"in\" values must be strings");
            sy_events_dim_id(q->an->events, out->dim, json_string_value(x),
                             &out->ids[out->n_ids++]);
        }
    } else {
        if (!json_is_string(v))
            return sy_err_field(e, SY_E_INVALID, vpath, "the value must be a string");
        sy_events_dim_id(q->an->events, out->dim, json_string_value(v), &out->ids[0]);
        out->n_ids = 1;
    }
    return 0;
}

static int filters_parse(an_q *q, json_t *arr, const char *path, an_filter *out, int *n,
                         sy_err *e) {
    *n = 0;
    if (!arr || json_is_null(arr)) return 0;
    if (!json_is_array(arr) || json_array_size(arr) > AN_MAX_FILTERS)
        return sy_err_field(e, SY_E_INVALID, path, "filters must be an array of at most %d",
                            AN_MAX_FILTERS);
    size_t i;
    json_t *f;
    json_array_foreach(arr, i, f) {
        int rc = filter_parse(q, f, sy_sprintf(q->arena, "%s[%zu]", path, i), &out[i], e);
        if (rc) return rc;
        (*n)++;
    }
    return 0;
}

int an_filters_match(const sy_engine *eng, uint32_t pos, const an_filter *f, int n) {
    for (int i = 0; i < n; i++) {
        uint16_t v = sy_engine_dim_unlocked(eng, pos, f[i].dim);
        int hit = 0;
        for (int k = 0; k < f[i].n_ids; k++)
            if (f[i].ids[k] && f[i].ids[k] == v) hit = 1;
        if (f[i].op == AN_OP_NE ? hit : !hit) return 0;
    }
    return 1;
}

int an_step_parse(an_q *q, json_t *event, json_t *filters, const char *path, int allow_any,
                  an_step *out, sy_err *e) {
    memset(out, 0, sizeof *out);
    const char *name = json_string_value(event);
    const char *epath = sy_sprintf(q->arena, "%s%sevent", path, *path ? "." : "");
    if (!name || !*name) return sy_err_field(e, SY_E_INVALID, epath, "an event name is required");
    out->name = sy_strdup(q->arena, name);
    if (strcmp(name, "$active") == 0) {
        if (!allow_any)
            return sy_err_field(e, SY_E_INVALID, epath, "\"$active\" is not allowed here");
        out->type = -1;
    } else {
        sy_err ie;
        if (sy_events_type_id(q->an->events, name, &out->type, &ie))
            return sy_err_field(e, SY_E_INVALID, epath,
                                "event \"%s\" has never been received nor declared", name);
    }
    return filters_parse(q, filters, sy_sprintf(q->arena, "%s%sfilters", path, *path ? "." : ""),
                         out->filters, &out->n_filters, e);
}

int an_q_parse(sy_analytics *an, sy_arena *a, const sy_actor *actor, json_t *body, int64_t as_of,
               int fields, an_q *q, sy_err *e) {
    memset(q, 0, sizeof *q);
    q->an = an;
    q->arena = a;
    q->actor = actor;
    q->as_of = as_of ? as_of : sy_now_ms();
    snprintf(q->tz, sizeof q->tz, "Asia/Shanghai");
    sy_staff_timezone(an->staff, q->tz, sizeof q->tz);
    q->today = an_local_day(q->tz, q->as_of);
    q->from_day = q->today - 30;
    q->to_day = q->today;
    int rc;
    if (fields & AN_F_RANGE) {
        json_t *f = json_object_get(body, "from"), *t = json_object_get(body, "to");
        if (f && an_parse_day(json_string_value(f), &q->from_day))
            return sy_err_field(e, SY_E_INVALID, "from", "from must be a date \"YYYY-MM-DD\"");
        if (t && an_parse_day(json_string_value(t), &q->to_day))
            return sy_err_field(e, SY_E_INVALID, "to", "to must be a date \"YYYY-MM-DD\"");
        if (f && !t && q->to_day < q->from_day) q->to_day = q->from_day;
        if (q->to_day < q->from_day)
            return sy_err_field(e, SY_E_INVALID, "to", "to (%s) is before from (%s)",
                                json_string_value(t) ? json_string_value(t) : "today",
                                json_string_value(f) ? json_string_value(f) : "");
        if (q->to_day - q->from_day + 1 > AN_MAX_DAYS)
            return sy_err_field(e, SY_E_INVALID, "to",
                                "the range is %lld days long; at most %d days are allowed",
                                (long long)(q->to_day - q->from_day + 1), AN_MAX_DAYS);
    }
    if (fields & AN_F_INTERVAL) {
        json_t *iv = json_object_get(body, "interval");
        const char *s = iv ? json_string_value(iv) : "day";
        if (!s || (strcmp(s, "day") && strcmp(s, "week") && strcmp(s, "month")))
            return sy_err_field(e, SY_E_INVALID, "interval",
                                "interval must be \"day\", \"week\" or \"month\"");
        q->interval = strcmp(s, "week") == 0    ? AN_WEEK
                      : strcmp(s, "month") == 0 ? AN_MONTH
                                                : AN_DAY;
    }
    if ((fields & AN_F_FILTERS) && (rc = filters_parse(q, json_object_get(body, "filters"),
                                                       "filters", q->filters, &q->n_filters, e)))
        return rc;
    if (fields & AN_F_BREAKDOWN) {
        json_t *b = json_object_get(body, "breakdown");
        if (b && !json_is_null(b)) {
            static const char *const keys[] = {"by", "segment_ids", NULL};
            if (!json_is_object(b))
                return sy_err_field(e, SY_E_INVALID, "breakdown", "breakdown must be an object");
            if (sy_json_only(b, keys, e)) {
                char *fld = sy_sprintf(a, "breakdown.%s", e->field);
                return sy_err_field(e, SY_E_INVALID, fld, "%s", sy_strdup(a, e->msg));
            }
            const char *by = json_string_value(json_object_get(b, "by"));
            if (!by) by = "";
            int d = dim_parse(by);
            if (d >= 0 && (fields & AN_F_CONTACT_BD)) {
                if (d == SY_DIM_CHANNEL) {
                    q->bd = AN_BD_SOURCE;
                } else if (d == SY_DIM_STORE) {
                    q->bd = AN_BD_CSTORE;
                } else {
                    return sy_err_field(e, SY_E_INVALID, "breakdown.by",
                                        "metrics break down by contact: owner, department, "
                                        "source (channel), store or segment, not \"%s\"",
                                        by);
                }
            } else if (d >= 0) {
                q->bd = AN_BD_DIM;
                q->bd_dim = d;
            } else if (strcmp(by, "owner") == 0) {
                q->bd = AN_BD_OWNER;
            } else if (strcmp(by, "department") == 0) {
                q->bd = AN_BD_DEPARTMENT;
            } else if (strcmp(by, "source") == 0) {
                q->bd = AN_BD_SOURCE;
            } else if (strcmp(by, "segment") == 0) {
                q->bd = AN_BD_SEGMENT;
                json_t *ids = json_object_get(b, "segment_ids");
                if (!json_is_array(ids) || json_array_size(ids) < 1 || json_array_size(ids) > 10)
                    return sy_err_field(e, SY_E_INVALID, "breakdown.segment_ids",
                                        "a segment breakdown takes 1 to 10 segment ids");
                size_t i;
                json_t *x;
                json_array_foreach(ids, i, x) {
                    if (!json_is_integer(x))
                        return sy_err_field(e, SY_E_INVALID, "breakdown.segment_ids",
                                            "segment ids are integers");
                    q->seg_ids[q->n_seg++] = json_integer_value(x);
                }
            } else {
                return sy_err_field(e, SY_E_INVALID, "breakdown.by",
                                    "cannot break down by \"%s\": use channel, store, category, "
                                    "sku, owner, department, source or segment",
                                    by);
            }
            if (q->bd != AN_BD_SEGMENT && json_object_get(b, "segment_ids"))
                return sy_err_field(e, SY_E_INVALID, "breakdown.segment_ids",
                                    "segment_ids belong to a segment breakdown");
        }
    }
    /* contacts counted: the caller's scope, narrowed to a segment */
    if (actor && actor->scope != SY_SCOPE_ALL) {
        if ((rc = sy_contacts_select_scope(an->contacts, actor, &q->only, e))) return rc;
    }
    if (fields & AN_F_SEGMENT) {
        json_t *sid = json_object_get(body, "segment_id");
        if (sid && !json_is_null(sid)) {
            if (!json_is_integer(sid)) {
                an_q_done(q);
                return sy_err_field(e, SY_E_INVALID, "segment_id", "segment_id is an integer");
            }
            sy_idset *m;
            if ((rc =
                     sy_segments_members(an->segments, json_integer_value(sid), q->as_of, &m, e))) {
                an_q_done(q);
                if (rc == SY_E_NOT_FOUND)
                    return sy_err_field(e, SY_E_INVALID, "segment_id",
                                        "segment %lld does not exist",
                                        (long long)json_integer_value(sid));
                return rc;
            }
            if (q->only) {
                sy_idset_and(q->only, m);
                sy_idset_destroy(m);
            } else {
                q->only = m;
            }
        }
    }
    return 0;
}

void an_q_done(an_q *q) {
    sy_idset_destroy(q->only);
    q->only = NULL;
}

void an_group_label(an_q *q, int64_t key, char *out, size_t n) {
    if (q->bd == AN_BD_DIM) {
        sy_events_dim_name(q->an->events, q->bd_dim, (uint16_t)key, out, n);
        if (!*out) snprintf(out, n, "(none)");
        return;
    }
    snprintf(out, n, "%lld", (long long)key);
}

/* --- dispatch and routes --- */

typedef int (*question_fn)(sy_analytics *, const sy_actor *, json_t *, int64_t, json_t **,
                           sy_err *);
static const struct {
    const char *kind;
    question_fn fn;
} questions[] = {
    {"metric", an_metric},           {"trend", an_trend},
    {"funnel", an_funnel},           {"retention", an_retention},
    {"attribution", an_attribution},
};

int sy_analytics_run(sy_analytics *a, const sy_actor *actor, json_t *question, int64_t as_of,
                     json_t **out, sy_err *e) {
    if (!json_is_object(question))
        return sy_err_field(e, SY_E_INVALID, "question", "a question is a JSON object");
    const char *kind = json_string_value(json_object_get(question, "kind"));
    if (!kind) return sy_err_field(e, SY_E_INVALID, "kind", "kind is required");
    for (size_t i = 0; i < sizeof questions / sizeof questions[0]; i++)
        if (strcmp(kind, questions[i].kind) == 0) {
            json_t *body = json_deep_copy(question);
            if (!body) return sy_err_set(e, SY_E_NOMEM, "out of memory");
            json_object_del(body, "kind");
            int rc = questions[i].fn(a, actor, body, as_of, out, e);
            json_decref(body);
            return rc;
        }
    return sy_err_field(e, SY_E_INVALID, "kind",
                        "kind \"%s\" is not one of metric, trend, funnel, retention, attribution",
                        kind);
}

#define CTX(r) ((sy_analytics *)(r)->route->ctx)

static int run_route(sy_req *r, question_fn fn) {
    json_t *body;
    int rc = sy_req_json(r, &body);
    if (rc) return rc;
    json_t *out = NULL;
    if ((rc = fn(CTX(r), sy_req_actor(r), body, 0, &out, &r->err))) return rc;
    return sy_reply_json(r, 200, out);
}

static int h_metric(sy_req *r) {
    return run_route(r, an_metric);
}
static int h_trend(sy_req *r) {
    return run_route(r, an_trend);
}
static int h_funnel(sy_req *r) {
    return run_route(r, an_funnel);
}
static int h_funnel_contacts(sy_req *r) {
    return run_route(r, an_funnel_contacts);
}
static int h_retention(sy_req *r) {
    return run_route(r, an_retention);
}
static int h_attribution(sy_req *r) {
    return run_route(r, an_attribution);
}
static int h_dictionary(sy_req *r) {
    return sy_reply_json(r, 200, json_pack("{s:o}", "items", an_metric_dictionary()));
}

#define S SY_AUTH_STAFF
#define R SY_PERM_CONTACTS_READ

static sy_route routes[] = {
    {"GET", "/api/v1/analytics/metrics", h_dictionary, NULL, S, R, 0,
     "the metric dictionary (definitions of every metric)", 0},
    {"POST", "/api/v1/analytics/metric", h_metric, NULL, S, R, 16384,
     "a dictionary metric per period, optionally broken down", 0},
    {"POST", "/api/v1/analytics/trend", h_trend, NULL, S, R, 16384,
     "event count, unique contacts, sum or average per period", 0},
    {"POST", "/api/v1/analytics/funnel", h_funnel, NULL, S, R, 65536,
     "ordered funnel of 2-10 steps with a conversion window", 0},
    {"POST", "/api/v1/analytics/funnel/contacts", h_funnel_contacts, NULL, S, R, 65536,
     "contacts who reached or dropped at a funnel step", 0},
    {"POST", "/api/v1/analytics/retention", h_retention, NULL, S, R, 16384,
     "cohort retention by day or week", 0},
    {"POST", "/api/v1/analytics/attribution", h_attribution, NULL, S, R, 16384,
     "first-touch channel attribution with CAC and ROI", 0},
};

void sy_analytics_register(sy_analytics *a, sy_http *h) {
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        routes[i].ctx = a;
    sy_http_add_routes(h, routes, sizeof routes / sizeof routes[0]);
    an_costs_register(a, h);
}

/* --- headlines (dashboard cards, alerts) --- */

static void day_str(int64_t d, json_t *q, const char *key) {
    char b[11];
    an_format_day(d, b);
    json_object_set_new(q, key, json_string(b));
}

static int headline_series(sy_analytics *a, const sy_actor *actor, json_t *q, int64_t as_of,
                           sy_headline *h, sy_err *e) {
    char tz[64] = "Asia/Shanghai";
    sy_staff_timezone(a->staff, tz, sizeof tz);
    int64_t today = an_local_day(tz, as_of ? as_of : sy_now_ms());
    const char *iv = json_string_value(json_object_get(q, "interval"));
    const char *kind = json_string_value(json_object_get(q, "kind"));
    if (kind && strcmp(kind, "metric") == 0 &&
        strcmp(json_string_value(json_object_get(q, "metric"))
                   ? json_string_value(json_object_get(q, "metric"))
                   : "",
               "next_month_repurchase") == 0)
        iv = "month";
    int64_t to, from;
    if (iv && strcmp(iv, "week") == 0) {
        int64_t monday = today - ((today + 3) % 7 + 7) % 7;
        to = monday - 1;
        from = monday - 8 * 7;
    } else if (iv && strcmp(iv, "month") == 0) {
        int y, m, d;
        an_civil_from_days(today, &y, &m, &d);
        to = an_days_from_civil(y, m, 1) - 1;
        int fy = y, fm = m - 8;
        while (fm < 1) {
            fm += 12;
            fy--;
        }
        from = an_days_from_civil(fy, fm, 1);
    } else {
        to = today - 1;
        from = today - 8;
    }
    json_t *c = json_deep_copy(q);
    day_str(from, c, "from");
    day_str(to, c, "to");
    json_object_del(c, "breakdown");
    json_t *ans = NULL;
    int rc = sy_analytics_run(a, actor, c, as_of, &ans, e);
    json_decref(c);
    if (rc) return rc;
    json_t *s0 = json_array_get(json_object_get(ans, "series"), 0);
    json_t *vals = json_object_get(s0, "values");
    json_t *periods = json_object_get(ans, "periods");
    size_t n = json_array_size(vals);
    snprintf(h->unit, sizeof h->unit, "%s", json_string_value(json_object_get(ans, "unit")) ?: "");
    if (n) {
        json_t *v = json_array_get(vals, n - 1);
        h->has_value = json_is_number(v);
        h->value = json_number_value(v);
        snprintf(h->period, sizeof h->period, "%s",
                 json_string_value(json_array_get(periods, n - 1)) ?: "");
        double sum = 0;
        int cnt = 0;
        for (size_t i = n - 1 > 7 ? n - 1 - 7 : 0; i + 1 < n; i++) {
            json_t *x = json_array_get(vals, i);
            if (json_is_number(x)) {
                sum += json_number_value(x);
                cnt++;
            }
        }
        h->has_trailing = cnt > 0;
        h->trailing_mean = cnt ? sum / cnt : 0;
    }
    json_decref(ans);
    return 0;
}

static int funnel_rate(sy_analytics *a, const sy_actor *actor, json_t *q, int64_t from, int64_t to,
                       int64_t as_of, double *rate, int *ok, sy_err *e) {
    json_t *c = json_deep_copy(q);
    day_str(from, c, "from");
    day_str(to, c, "to");
    json_object_del(c, "breakdown");
    json_t *ans = NULL;
    int rc = sy_analytics_run(a, actor, c, as_of, &ans, e);
    json_decref(c);
    if (rc) return rc;
    json_t *steps = json_object_get(ans, "steps");
    json_t *last = json_array_get(steps, json_array_size(steps) - 1);
    json_t *conv = json_object_get(last, "conversion");
    *ok = json_is_number(conv);
    *rate = json_number_value(conv);
    json_decref(ans);
    return 0;
}

int sy_analytics_headline(sy_analytics *a, const sy_actor *actor, json_t *question, int64_t as_of,
                          sy_headline *h, sy_err *e) {
    memset(h, 0, sizeof *h);
    const char *kind = json_string_value(json_object_get(question, "kind"));
    if (!kind) return sy_err_field(e, SY_E_INVALID, "kind", "kind is required");
    if (strcmp(kind, "metric") == 0 || strcmp(kind, "trend") == 0)
        return headline_series(a, actor, question, as_of, h, e);
    if (strcmp(kind, "funnel") == 0) {
        char tz[64] = "Asia/Shanghai";
        sy_staff_timezone(a->staff, tz, sizeof tz);
        int64_t today = an_local_day(tz, as_of ? as_of : sy_now_ms()), from = today - 30,
                to = today;
        if (json_object_get(question, "from"))
            an_parse_day(json_string_value(json_object_get(question, "from")), &from);
        if (json_object_get(question, "to"))
            an_parse_day(json_string_value(json_object_get(question, "to")), &to);
        if (to < from) to = from;
        int64_t len = to - from + 1;
        int ok;
        int rc = funnel_rate(a, actor, question, from, to, as_of, &h->value, &ok, e);
        if (rc) return rc;
        h->has_value = ok;
        an_format_day(from, h->period);
        snprintf(h->unit, sizeof h->unit, "ratio");
        double sum = 0;
        int cnt = 0;
        for (int k = 1; k <= 7; k++) {
            double r;
            if ((rc = funnel_rate(a, actor, question, from - k * len, to - k * len, as_of, &r, &ok,
                                  e)))
                return rc;
            if (ok) {
                sum += r;
                cnt++;
            }
        }
        h->has_trailing = cnt > 0;
        h->trailing_mean = cnt ? sum / cnt : 0;
        return 0;
    }
    json_t *ans = NULL;
    int rc = sy_analytics_run(a, actor, question, as_of, &ans, e);
    if (rc) return rc;
    snprintf(h->unit, sizeof h->unit, "ratio");
    json_t *v = strcmp(kind, "retention") == 0
                    ? json_array_get(json_object_get(ans, "average"), 1)
                    : json_object_get(json_object_get(ans, "total"), "conversion_rate");
    h->has_value = json_is_number(v);
    h->value = json_number_value(v);
    json_decref(ans);
    return 0;
}
