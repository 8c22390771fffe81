/* test_analytics.c — differential test of the analytics questions: random
 * small workspaces (contacts and events sent through the events API, as in
 * test_segments.c) and random funnels, retention tables, metrics and trends,
 * answered by sy_analytics_run and by plain loops written from
 * docs/metrics.md over the events the test generated; the answers must be
 * equal. Also hand-written edge cases of an_funnel_level (same second, window
 * boundaries) and of the workspace-timezone calendar (DST days). */
#include <math.h>
#include "test.h"
#include "analytics/analytics_int.h"
#include "base/clock.h"
#include "base/json.h"

#define NC 40
#define NEV 600
#define NT 5 /* event names */
#define DAY 86400000LL
#define SH (8 * 3600000LL) /* Asia/Shanghai, no DST */
/* as_of: 2026-11-20T10:30:00Z (18:30 in Shanghai) */
#define AS_OF 1795170600000LL

static const char *const type_names[NT] = {"add_wechat", "join_group", "view_item", "order_paid",
                                           "share"};
static const char *const chan_names[4] = {NULL, "wecom", "app", "h5"};
enum { T_ADD, T_JOIN, T_VIEW, T_ORDER, T_SHARE };

typedef struct mevent {
    int c, type, ch; /* ch: 0 none, 1 wecom, 2 app, 3 h5 */
    int64_t ts, fen;
    int order; /* an order: order_paid with an order_id not seen before */
} mevent;

typedef struct fixture {
    char *dir;
    sy_store *st;
    sy_staff *staff;
    sy_contacts *c;
    sy_engine *eng;
    sy_events *ev;
    sy_analytics *an;
    char uid[NC][16];
    int64_t id[NC];
    mevent me[NEV];
    int order[NEV]; /* event indices sorted by (ts, index): the engine's (ts, pos) order */
    uint64_t rng;
    int mismatches;
} fixture;

static uint32_t rnd(fixture *f, uint32_t n) {
    f->rng = f->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((f->rng >> 33) % n);
}

/* Reference day arithmetic (Asia/Shanghai has no DST): day number of an
 * instant, the instant a day starts, and "YYYY-MM-DD" from base/clock. */
static int64_t dayn(int64_t ts) {
    int64_t l = ts + SH;
    return l >= 0 ? l / DAY : -((-l + DAY - 1) / DAY);
}
static int64_t day_start(int64_t d) {
    return d * DAY - SH;
}
static void dstr(int64_t d, char out[11]) {
    char b[40];
    sy_time_format(d * DAY, b, sizeof b);
    memcpy(out, b, 10);
    out[10] = 0;
}
/* Monday on or before day d (1970-01-05, day 4, was a Monday). */
static int64_t monday(int64_t d) {
    int64_t r = (d - 4) % 7;
    if (r < 0) r += 7;
    return d - r;
}
#define TODAY dayn(AS_OF)

static void map_id(void *ctx, int64_t id, const char *value) {
    fixture *f = ctx;
    for (int i = 0; i < NC; i++)
        if (strcmp(f->uid[i], value) == 0) f->id[i] = id;
}

static fixture *g_sort_f;
static int cmp_order(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    const mevent *p = &g_sort_f->me[x], *q = &g_sort_f->me[y];
    if (p->ts != q->ts) return p->ts < q->ts ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int ingest(fixture *f, json_t *batch, int64_t received) {
    json_t *body = json_pack("{s:o}", "batch", batch);
    char *s = sy_json_dump(body);
    json_t *details = NULL;
    sy_err e = {0};
    int rc = sy_events_ingest(f->ev, 1, "batch", s, strlen(s), received, &details, &e);
    if (rc) fprintf(stderr, "ingest: %s\n", e.msg);
    free(s);
    json_decref(body);
    json_decref(details);
    return rc;
}

static int setup_seed(void **state, uint64_t seed) {
    fixture *f = calloc(1, sizeof *f);
    sy_err e = {0};
    f->rng = seed;
    f->dir = test_tmpdir();
    f->eng = sy_engine_create();
    if (sy_store_open(f->dir, &f->st, &e) || sy_staff_create(f->st, &f->staff, &e) ||
        sy_contacts_create(f->st, f->staff, 0, &f->c, &e) ||
        sy_events_create(f->st, f->staff, f->c, f->eng, &f->ev, &e) ||
        sy_analytics_create(f->st, f->staff, f->c, f->eng, f->ev, NULL, NULL, &f->an, &e)) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    json_t *batch = json_array();
    char ts[40];
    sy_time_format(AS_OF - 70 * DAY, ts, sizeof ts);
    for (int i = 0; i < NC; i++) {
        snprintf(f->uid[i], sizeof f->uid[i], "u%d", i);
        char mid[32];
        snprintf(mid, sizeof mid, "id-%d", i);
        json_array_append_new(batch, json_pack("{s:s,s:s,s:s,s:{s:s},s:s}", "type", "identify",
                                               "userId", f->uid[i], "messageId", mid, "traits",
                                               "name", f->uid[i], "timestamp", ts));
    }
    if (ingest(f, batch, AS_OF)) return -1;
    sy_contacts_each_identity(f->c, "user_id", map_id, f, &e);
    /* events in sessions over the 40 days before as_of: a few events of one
     * contact minutes apart, some in the same millisecond or second */
    int n = 0, orders = 0;
    while (n < NEV) {
        int c = (int)rnd(f, NC);
        int64_t t = AS_OF - 40 * DAY + (int64_t)rnd(f, 40 * 24 * 60) * 60000LL + rnd(f, 60000);
        int k = 1 + (int)rnd(f, 6);
        for (int j = 0; j < k && n < NEV; j++, n++) {
            mevent *x = &f->me[n];
            x->c = c;
            uint32_t r = rnd(f, 100);
            x->type = r < 12   ? T_ADD
                      : r < 27 ? T_JOIN
                      : r < 62 ? T_VIEW
                      : r < 85 ? T_ORDER
                               : T_SHARE;
            x->ch = (int)rnd(f, 4);
            switch (rnd(f, 8)) {
            case 0:
                break; /* same millisecond */
            case 1:
                t = t / 1000 * 1000 + rnd(f, 1000);
                break; /* same second */
            case 2:
                t += 1000 - t % 1000;
                break; /* the next second exactly */
            case 3: {
                /* whole minutes later, to the second or a millisecond
                 * short of the next one: on the edge of a minute window */
                static const int64_t edge[] = {0, 999, 1000};
                t = t / 1000 * 1000 + (1 + (int64_t)rnd(f, 90)) * 60000 + edge[rnd(f, 3)];
                break;
            }
            default:
                t += (int64_t)rnd(f, 20 * 60000);
                break;
            }
            if (t >= AS_OF) t = AS_OF - 1000;
            x->ts = t;
        }
    }
    batch = json_array();
    for (int i = 0; i < NEV; i++) {
        mevent *x = &f->me[i];
        json_t *props = json_object();
        if (x->ch) json_object_set_new(props, "channel", json_string(chan_names[x->ch]));
        if (x->type == T_ORDER) {
            x->fen = 100 + rnd(f, 50000);
            char amt[32], oid[32];
            snprintf(amt, sizeof amt, "%lld.%02lld", (long long)(x->fen / 100),
                     (long long)(x->fen % 100));
            json_object_set_new(props, "amount", json_string(amt));
            /* now and then an order_id seen before: stored, but not an order */
            if (orders > 0 && rnd(f, 25) == 0) {
                snprintf(oid, sizeof oid, "o-%u", rnd(f, (uint32_t)orders));
            } else {
                snprintf(oid, sizeof oid, "o-%d", orders++);
                x->order = 1;
            }
            json_object_set_new(props, "order_id", json_string(oid));
        }
        char mid[32];
        snprintf(mid, sizeof mid, "ev-%d", i);
        sy_time_format(x->ts, ts, sizeof ts);
        json_array_append_new(batch,
                              json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "type", "track", "userId",
                                        f->uid[x->c], "messageId", mid, "event",
                                        type_names[x->type], "properties", props, "timestamp", ts));
    }
    if (ingest(f, batch, AS_OF)) return -1;
    for (int i = 0; i < NEV; i++)
        f->order[i] = i;
    g_sort_f = f;
    qsort(f->order, NEV, sizeof f->order[0], cmp_order);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    sy_analytics_destroy(f->an);
    sy_events_destroy(f->ev);
    sy_contacts_destroy(f->c);
    sy_staff_destroy(f->staff);
    sy_store_close(f->st);
    sy_engine_destroy(f->eng);
    test_rmdir(f->dir);
    free(f);
    return 0;
}

/* --- comparing --- */

static void mismatch(fixture *f, json_t *q, const char *fmt, ...) {
    if (f->mismatches++ < 12) {
        char *qs = q ? sy_json_dump(q) : NULL;
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "MISMATCH ");
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n  question: %s\n", qs ? qs : "-");
        free(qs);
    }
}

static int num_eq(json_t *v, int has, double want) {
    if (!has) return json_is_null(v);
    if (!json_is_number(v)) return 0;
    double x = json_number_value(v);
    double tol = 1e-9 * (fabs(want) > 1 ? fabs(want) : 1);
    return fabs(x - want) <= tol;
}

static json_t *ask(fixture *f, json_t *q) {
    json_t *out = NULL;
    sy_err e = {0};
    int rc = sy_analytics_run(f->an, NULL, q, AS_OF, &out, &e);
    if (rc) {
        char *s = sy_json_dump(q);
        fail_msg("%s: %s (%s): %s", s, sy_err_name(rc), e.field, e.msg);
    }
    return out;
}

/* --- step matching (the filters of docs/metrics.md: the event's own
 * channel is =, != or in the values; a missing channel is not equal) --- */

typedef struct rstep {
    int type;        /* -1 = $active */
    int op;          /* -1 none, 0 =, 1 !=, 2 in */
    int vals[3], nv; /* channel codes; 9 = a value never seen */
} rstep;

static int rstep_match(const rstep *s, const mevent *x) {
    if (s->type >= 0 && x->type != s->type) return 0;
    if (s->op < 0) return 1;
    int hit = 0;
    for (int i = 0; i < s->nv; i++)
        if (x->ch && s->vals[i] == x->ch) hit = 1;
    return s->op == 1 ? !hit : hit;
}

static json_t *rstep_json(const rstep *s) {
    json_t *o = json_pack("{s:s}", "event", s->type < 0 ? "$active" : type_names[s->type]);
    if (s->op >= 0) {
        static const char *const ops[] = {"=", "!=", "in"};
        json_t *v;
        if (s->op == 2) {
            v = json_array();
            for (int i = 0; i < s->nv; i++)
                json_array_append_new(
                    v, json_string(s->vals[i] == 9 ? "nowhere" : chan_names[s->vals[i]]));
        } else {
            v = json_string(s->vals[0] == 9 ? "nowhere" : chan_names[s->vals[0]]);
        }
        json_object_set_new(
            o, "filters",
            json_pack("[{s:s,s:s,s:o}]", "property", "channel", "op", ops[s->op], "value", v));
    }
    return o;
}

static void rand_rstep(fixture *f, rstep *s, int active_ok, int filter_pct) {
    s->type = active_ok && rnd(f, 10) == 0 ? -1 : (int)rnd(f, NT);
    s->op = -1;
    s->nv = 0;
    if ((int)rnd(f, 100) < filter_pct) {
        s->op = (int)rnd(f, 3);
        s->nv = s->op == 2 ? 1 + (int)rnd(f, 2) : 1;
        for (int i = 0; i < s->nv; i++)
            s->vals[i] = rnd(f, 12) == 0 ? 9 : 1 + (int)rnd(f, 3);
    }
}

/* Events of contact c with ts in [lo, hi) in (ts, index) order. */
static int contact_events(fixture *f, int c, int64_t lo, int64_t hi, int *out) {
    int n = 0;
    for (int k = 0; k < NEV; k++) {
        int i = f->order[k];
        if (f->me[i].c == c && f->me[i].ts >= lo && f->me[i].ts < hi) out[n++] = i;
    }
    return n;
}

/* --- funnels: the reference --- */

typedef struct fref {
    int level[NC];
    int64_t dt[NC][AN_MAX_STEPS]; /* ms from step k-1 to step k in the chain giving the level */
    int ch[NC];                   /* channel of that chain's step-1 event */
} fref;

/* Longest chain from step k on, by exhaustive search: an event of step k
 * whose second is no earlier than the previous step's (same second: the
 * step number orders them) and no later than the start + window. memo[k][i]
 * caches the depth reachable after using event i for step k - 1. */
static int chain_from(const int64_t *sec, const uint16_t *m, int n, int k, int nsteps, int64_t cur,
                      int64_t lim, int prev, int memo[][512]) {
    if (k == nsteps) return 0;
    if (prev >= 0 && memo[k][prev] >= 0) return memo[k][prev];
    int best = 0;
    for (int i = 0; i < n && best < nsteps - k; i++) {
        if (!(m[i] >> k & 1) || sec[i] < cur || sec[i] > lim) continue;
        int d = 1 + chain_from(sec, m, n, k + 1, nsteps, sec[i], lim, i, memo);
        if (d > best) best = d;
    }
    if (prev >= 0) memo[k][prev] = best;
    return best;
}

static int64_t sec_of(int64_t ms) {
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static void funnel_ref(fixture *f, const rstep *steps, int ns, int strict, int64_t window_ms,
                       int64_t lo, int64_t hi, fref *out) {
    static int ev[NEV];
    static int64_t sec[512], ts[512];
    static uint16_t m[512];
    static int memo[AN_MAX_STEPS + 1][512];
    for (int c = 0; c < NC; c++) {
        int n = contact_events(f, c, lo, hi, ev);
        assert_true(n < 512);
        for (int i = 0; i < n; i++) {
            ts[i] = f->me[ev[i]].ts;
            sec[i] = sec_of(ts[i]);
            m[i] = 0;
            for (int s = 0; s < ns; s++)
                if (rstep_match(&steps[s], &f->me[ev[i]])) m[i] |= (uint16_t)(1u << s);
        }
        int level = 0;
        memset(out->dt[c], 0, sizeof out->dt[c]);
        if (strict) {
            /* every event here is activity: a chain is consecutive events */
            for (int i = 0; i < n; i++) {
                int l = 0;
                while (l < ns && i + l < n && (m[i + l] >> l & 1) && ts[i + l] - ts[i] <= window_ms)
                    l++;
                if (l > level) { /* the first chain to reach the level */
                    level = l;
                    out->ch[c] = f->me[ev[i]].ch;
                    for (int s = 1; s < l; s++)
                        out->dt[c][s] = ts[i + s] - ts[i + s - 1];
                }
            }
        } else {
            for (int i = 0; i < n; i++) {
                if (!(m[i] & 1)) continue;
                for (int k = 0; k <= ns; k++)
                    for (int x = 0; x < n; x++)
                        memo[k][x] = -1;
                int l =
                    1 + chain_from(sec, m, n, 1, ns, sec[i], sec[i] + window_ms / 1000, i, memo);
                if (l > level) level = l;
            }
            /* level 1: the first step-1 event */
            for (int i = 0; i < n && level == 1; i++)
                if (m[i] & 1) {
                    out->ch[c] = f->me[ev[i]].ch;
                    break;
                }
            /* the chain that gave the level: the first to reach it when the
             * (second, step) pairs are processed in order, each step k
             * extending the chain that reached k - 1 most recently */
            if (level > 1) {
                int chain[AN_MAX_STEPS][AN_MAX_STEPS], set[AN_MAX_STEPS] = {0}, done = 0;
                int64_t start[AN_MAX_STEPS];
                /* pairs sorted by (second, step, ts, index) = events already in
                 * (ts, index) order within a second */
                for (int i = 0; i < n && !done;) {
                    int j = i;
                    while (j < n && sec[j] == sec[i])
                        j++;
                    for (int k = 0; k < ns && !done; k++)
                        for (int x = i; x < j && !done; x++) {
                            if (!(m[x] >> k & 1)) continue;
                            if (k == 0) {
                                set[0] = 1;
                                start[0] = sec[x];
                                chain[0][0] = x;
                            } else if (set[k - 1] && sec[x] <= start[k - 1] + window_ms / 1000) {
                                set[k] = 1;
                                start[k] = start[k - 1];
                                memcpy(chain[k], chain[k - 1], sizeof chain[k]);
                                chain[k][k] = x;
                                if (k + 1 == level) {
                                    out->ch[c] = f->me[ev[chain[k][0]]].ch;
                                    for (int s = 1; s < level; s++)
                                        out->dt[c][s] = ts[chain[k][s]] - ts[chain[k][s - 1]];
                                    done = 1;
                                }
                            }
                        }
                    i = j;
                }
                assert_true(done);
            }
        }
        out->level[c] = level;
    }
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int g_chain_mismatch; /* median_ms / breakdown differences, reported apart */

static void chain_mismatch(json_t *q, const char *fmt, ...) {
    if (g_chain_mismatch++ < 6) {
        char *qs = sy_json_dump(q);
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "CHAIN ");
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n  question: %s\n", qs);
        free(qs);
    }
}

/* A breakdown in which every contact is in one group: its rows (ob,
 * answering qb) add up to the funnel's counts cnt[0..ns). */
static void check_group_sums(fixture *f, json_t *qb, json_t *ob, int ns, const int64_t *cnt) {
    int64_t sum[AN_MAX_STEPS] = {0};
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(ob, "breakdown"), i, row) {
        for (int s = 0; s < ns; s++)
            sum[s] += json_integer_value(json_array_get(json_object_get(row, "counts"), (size_t)s));
    }
    for (int s = 0; s < ns; s++)
        if (sum[s] != cnt[s])
            mismatch(f, qb, "breakdown by %s: step %d sums to %lld, count %lld",
                     json_string_value(json_object_get(json_object_get(qb, "breakdown"), "by")),
                     s + 1, (long long)sum[s], (long long)cnt[s]);
}

static int funnel_one(fixture *f, int chain_checks) {
    rstep steps[4];
    int ns = 2 + (int)rnd(f, 3);
    for (int s = 0; s < ns; s++)
        rand_rstep(f, &steps[s], 1, 20);
    /* the steps often follow the life cycle, so that chains are long */
    if (rnd(f, 2)) {
        static const int path[] = {T_ADD, T_VIEW, T_ORDER, T_SHARE};
        for (int s = 0; s < ns; s++)
            if (rnd(f, 4)) steps[s].type = path[s];
    }
    static const char *const units[] = {"minute", "hour", "day"};
    int u = (int)rnd(f, 3);
    int64_t v = u == 0 ? 1 + rnd(f, 90) : u == 1 ? 1 + rnd(f, 30) : 1 + rnd(f, 10);
    int64_t window_ms = v * (u == 0 ? 60000LL : u == 1 ? 3600000LL : DAY);
    int strict = rnd(f, 3) == 0;
    int64_t from = TODAY - 41 + rnd(f, 10), to = from + rnd(f, 45);
    if (to > TODAY) to = TODAY;
    if (rnd(f, 4) == 0) from = TODAY - 41, to = TODAY; /* every event: the zone-map path */
    char fs[11], tsd[11];
    dstr(from, fs);
    dstr(to, tsd);
    json_t *js = json_array();
    for (int s = 0; s < ns; s++)
        json_array_append_new(js, rstep_json(&steps[s]));
    json_t *q = json_pack("{s:s,s:o,s:{s:I,s:s},s:s,s:s}", "kind", "funnel", "steps", js, "window",
                          "value", (json_int_t)v, "unit", units[u], "from", fs, "to", tsd);
    if (strict || rnd(f, 2))
        json_object_set_new(q, "order", json_string(strict ? "strict" : "loose"));
    static fref ref;
    funnel_ref(f, steps, ns, strict, window_ms, day_start(from), day_start(to + 1), &ref);
    json_t *out = ask(f, q);
    json_t *jsteps = json_object_get(out, "steps");
    assert_int_equal(json_array_size(jsteps), ns);
    int64_t cnt[AN_MAX_STEPS] = {0};
    for (int c = 0; c < NC; c++)
        for (int s = 0; s < ref.level[c]; s++)
            cnt[s]++;
    for (int s = 0; s < ns; s++) {
        json_t *st = json_array_get(jsteps, (size_t)s);
        int64_t got = json_integer_value(json_object_get(st, "count"));
        if (got != cnt[s])
            mismatch(f, q, "funnel step %d: count %lld, reference %lld", s + 1, (long long)got,
                     (long long)cnt[s]);
        if (!num_eq(json_object_get(st, "conversion"), cnt[0] > 0,
                    cnt[0] ? (double)cnt[s] / (double)cnt[0] : 0))
            mismatch(f, q, "funnel step %d: conversion", s + 1);
        if (s > 0 && !num_eq(json_object_get(st, "step_conversion"), cnt[s - 1] > 0,
                             cnt[s - 1] ? (double)cnt[s] / (double)cnt[s - 1] : 0))
            mismatch(f, q, "funnel step %d: step_conversion", s + 1);
        if (json_integer_value(json_object_get(st, "dropped")) != (s ? cnt[s - 1] - cnt[s] : 0))
            mismatch(f, q, "funnel step %d: dropped", s + 1);
        if (s == 0) {
            if (!json_is_null(json_object_get(st, "median_ms"))) mismatch(f, q, "median of step 1");
            continue;
        }
        if (!chain_checks) continue;
        /* the lower median of the step's durations */
        int64_t d[NC];
        int nd = 0;
        for (int c = 0; c < NC; c++)
            if (ref.level[c] > s)
                d[nd++] = ref.dt[c][s] > 0 ? ref.dt[c][s] : 0; /* documented clamp */
        qsort(d, (size_t)nd, sizeof d[0], cmp64);
        json_t *med = json_object_get(st, "median_ms");
        if (nd ? !json_is_integer(med) || json_integer_value(med) != d[(nd - 1) / 2]
               : !json_is_null(med))
            chain_mismatch(q, "median_ms of step %d: %lld, reference %lld", s + 1,
                           (long long)json_integer_value(med),
                           nd ? (long long)d[(nd - 1) / 2] : -1LL);
    }
    /* a breakdown by the channel of the chain's step-1 event */
    json_t *qb = json_deep_copy(q);
    json_object_set_new(qb, "breakdown", json_pack("{s:s}", "by", "channel"));
    json_t *ob = ask(f, qb);
    int64_t gref[4][AN_MAX_STEPS];
    memset(gref, 0, sizeof gref);
    int ngroups = 0;
    for (int c = 0; c < NC; c++)
        for (int s = 0; s < ref.level[c]; s++)
            gref[ref.ch[c]][s]++;
    for (int g = 0; g < 4; g++)
        ngroups += gref[g][0] > 0;
    size_t gi;
    json_t *row;
    json_array_foreach(json_object_get(ob, "breakdown"), gi, row) {
        const char *key = json_string_value(json_object_get(row, "key"));
        int g = -1;
        for (int k = 0; k < 4; k++)
            if (strcmp(key ?: "", k ? chan_names[k] : "(none)") == 0) g = k;
        json_t *counts = json_object_get(row, "counts");
        for (int s = 0; s < ns; s++) {
            int64_t gv = json_integer_value(json_array_get(counts, (size_t)s));
            if (chain_checks && (g < 0 || gv != gref[g][s]))
                chain_mismatch(qb, "breakdown %s step %d: %lld, reference %lld", key ?: "?", s + 1,
                               (long long)gv, g < 0 ? -1LL : (long long)gref[g][s]);
        }
    }
    if (chain_checks && (int)json_array_size(json_object_get(ob, "breakdown")) != ngroups)
        chain_mismatch(qb, "breakdown: %zu groups, reference %d",
                       json_array_size(json_object_get(ob, "breakdown")), ngroups);
    /* whichever chain decides the group, every contact is in one group */
    check_group_sums(f, qb, ob, ns, cnt);
    json_decref(ob);
    json_decref(qb);
    /* a breakdown by the contact's owner: one group per contact too */
    qb = json_deep_copy(q);
    json_object_set_new(qb, "breakdown", json_pack("{s:s}", "by", "owner"));
    ob = ask(f, qb);
    check_group_sums(f, qb, ob, ns, cnt);
    json_decref(ob);
    json_decref(qb);
    /* reached / dropped sets (funnel/contacts) */
    int k = 1 + (int)rnd(f, (uint32_t)ns);
    int dropped = k > 1 && rnd(f, 2);
    json_t *body = json_deep_copy(q);
    json_object_del(body, "kind");
    json_object_set_new(body, "step", json_integer(k));
    json_object_set_new(body, "status", json_string(dropped ? "dropped" : "reached"));
    json_object_set_new(body, "limit", json_integer(500));
    json_t *who = NULL;
    sy_err e = {0};
    assert_ok(an_funnel_contacts(f->an, NULL, body, AS_OF, &who, &e), &e);
    int want_n = 0;
    for (int c = 0; c < NC; c++) {
        int want = dropped ? ref.level[c] == k - 1 : ref.level[c] >= k;
        want_n += want;
        int have = 0;
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(who, "items"), i, it) {
            if (json_integer_value(json_object_get(it, "id")) == f->id[c]) have = 1;
        }
        if (want != have)
            mismatch(f, body, "funnel/contacts step %d %s: contact %d: %d, reference %d", k,
                     dropped ? "dropped" : "reached", c, have, want);
    }
    if (json_integer_value(json_object_get(who, "total")) != want_n)
        mismatch(f, body, "funnel/contacts total %lld, reference %d",
                 (long long)json_integer_value(json_object_get(who, "total")), want_n);
    json_decref(who);
    json_decref(body);
    json_decref(out);
    json_decref(q);
    return cnt[ns - 1] > 0 && cnt[0] > cnt[ns - 1]; /* telling: some reach the end, some do not */
}

static void test_funnels(void **state) {
    fixture *f = *state;
    int telling = 0;
    for (int i = 0; i < 250; i++)
        telling += funnel_one(f, 0);
    if (f->mismatches) fail_msg("%d funnel mismatches (first ones above)", f->mismatches);
    fprintf(stderr, "funnels: %d of 250 telling\n", telling);
    assert_true(telling > 40);
}

/* the same funnels searched by millisecond times instead of the seconds
 * columns (what times outside [0, 2^32) s use) */
static void test_funnels_by_times(void **state) {
    an_funnel_times_only = 1;
    test_funnels(state);
    an_funnel_times_only = 0;
}

/* Loose funnels compare whole seconds (windowFunnel's unit): a step in the
 * second start + window counts, one a second later does not, however few
 * milliseconds apart; the range's end is exclusive to the millisecond.
 * Hand-placed contacts on those edges, added to a fixture before its first
 * funnel (so that the packed lists hold them), change the counts by
 * exactly their own levels. */
static void funnel_counts(fixture *f, int64_t *cnt) {
    char fs[11], ts[11];
    dstr(TODAY - 20, fs);
    dstr(TODAY - 2, ts);
    json_t *q = json_pack("{s:s,s:[{s:s},{s:s}],s:{s:i,s:s},s:s,s:s}", "kind", "funnel", "steps",
                          "event", type_names[T_ADD], "event", type_names[T_JOIN], "window",
                          "value", 1, "unit", "minute", "from", fs, "to", ts);
    json_t *out = ask(f, q);
    for (int s = 0; s < 2; s++)
        cnt[s] = json_integer_value(
            json_object_get(json_array_get(json_object_get(out, "steps"), (size_t)s), "count"));
    json_decref(out);
    json_decref(q);
}

static void test_funnel_second_edges(void **state) {
    fixture *f = *state;
    const int64_t t = day_start(TODAY - 10) + 3600000; /* a whole second */
    const int64_t end = day_start(TODAY - 1);          /* the range's end */
    const struct {
        int64_t add, join;
        int level;
    } edge[] = {
        {t, t + 61000, 1},         /* second start + 61 s: out */
        {t + 500, t + 60999, 2},   /* second start + 60 s: in */
        {t + 999, t + 61000, 1},   /* 60.001 s later, but a second too late */
        {t + 59000, t + 59000, 2}, /* the same millisecond */
        {end - 30000, end, 1},     /* at the end: out of range */
        {end - 30000, end - 1, 2}, /* the last millisecond in range */
    };
    const int n = (int)(sizeof edge / sizeof edge[0]);
    json_t *batch = json_array();
    char ts[40];
    for (int i = 0; i < n; i++) {
        char uid[16], mid[40];
        snprintf(uid, sizeof uid, "edge%d", i);
        for (int k = 0; k < 2; k++) {
            snprintf(mid, sizeof mid, "edge-%d-%d", i, k);
            sy_time_format(k ? edge[i].join : edge[i].add, ts, sizeof ts);
            json_array_append_new(batch,
                                  json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "track", "userId", uid,
                                            "messageId", mid, "event",
                                            type_names[k ? T_JOIN : T_ADD], "timestamp", ts));
        }
    }
    assert_int_equal(ingest(f, batch, AS_OF), 0);
    /* the same data without the edge contacts */
    void *plain = NULL;
    assert_int_equal(setup_seed(&plain, 1), 0);
    int64_t with[2], without[2], want[2] = {0, 0};
    funnel_counts(f, with);
    funnel_counts(plain, without);
    teardown(&plain);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < edge[i].level; s++)
            want[s]++;
    assert_int_equal(with[0] - without[0], want[0]);
    assert_int_equal(with[1] - without[1], want[1]);
}

/* Funnels over events before 1970 (the lists then hold negative times and
 * no seconds columns): contacts with several starts, seconds rounded
 * down as in an_funnel_level. Steps add_wechat, join_group, view_item;
 * window 1 minute; times in ms from 1970-01-01T00:00:00Z. */
static void test_funnel_before_1970(void **state) {
    fixture *f = *state;
    static const struct {
        int type;
        int64_t ts;
    } ev[][4] = {
        /* level 2: the start at -30 s reaches +20 s */
        {{T_ADD, -90000}, {T_ADD, -30000}, {T_JOIN, 20000}, {-1, 0}},
        /* level 1: -60.5 s is second -61; its window ends with second -1 */
        {{T_ADD, -300000}, {T_ADD, -60500}, {T_JOIN, 500}, {-1, 0}},
        /* level 3: second -60 reaches second 0 (999 ms) */
        {{T_ADD, -120000}, {T_ADD, -60000}, {T_JOIN, -1}, {T_VIEW, 999}},
        /* level 2: 1000 ms is second 1, too late */
        {{T_ADD, -120000}, {T_ADD, -60000}, {T_JOIN, -1}, {T_VIEW, 1000}},
        /* level 2: one start */
        {{T_ADD, -5000}, {T_JOIN, -4000}, {-1, 0}, {-1, 0}},
    };
    const int n = (int)(sizeof ev / sizeof ev[0]);
    json_t *batch = json_array();
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 4 && ev[i][k].type >= 0; k++) {
            char uid[16], mid[40], ts[40];
            snprintf(uid, sizeof uid, "old%d", i);
            snprintf(mid, sizeof mid, "old-%d-%d", i, k);
            sy_time_format(ev[i][k].ts, ts, sizeof ts);
            json_array_append_new(batch, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "track",
                                                   "userId", uid, "messageId", mid, "event",
                                                   type_names[ev[i][k].type], "timestamp", ts));
        }
    assert_int_equal(ingest(f, batch, AS_OF), 0);
    json_t *q = json_pack("{s:s,s:[{s:s},{s:s},{s:s}],s:{s:i,s:s},s:s,s:s}", "kind", "funnel",
                          "steps", "event", type_names[T_ADD], "event", type_names[T_JOIN], "event",
                          type_names[T_VIEW], "window", "value", 1, "unit", "minute", "from",
                          "1969-12-31", "to", "1970-01-01");
    json_t *out = ask(f, q);
    const int64_t want[] = {5, 4, 1};
    for (int s = 0; s < 3; s++)
        assert_int_equal(json_integer_value(json_object_get(
                             json_array_get(json_object_get(out, "steps"), (size_t)s), "count")),
                         want[s]);
    json_decref(out);
    json_decref(q);
}

/* median_ms and a breakdown by an event dimension use "the chain that gave
 * them their level (the first chain to reach it)" (docs/metrics.md); this
 * once returned the last chain when a contact did not complete the funnel. */
static void test_regression_funnel_first_chain(void **state) {
    fixture *f = *state;
    /* the minimal case: steps A, B, C; A@0 B@10s A@60s B@65s, no C. Level 2;
     * the first chain to reach it is A@0 -> B@10s (10 000 ms, its step-1
     * event is the first A); an_funnel_level answers A@60s -> B@65s */
    int reach[AN_MAX_STEPS];
    const int64_t T = 1795170600000LL;
    int64_t ts[] = {T, T + 10000, T + 60000, T + 65000};
    uint16_t m[] = {1, 2, 1, 2};
    assert_int_equal(an_funnel_level(ts, m, 4, 3, DAY, 0, reach), 2);
    if (reach[0] != 0 || reach[1] != 1)
        fprintf(stderr, "CHAIN an_funnel_level: chain of events %d, %d; first chain is 0, 1\n",
                reach[0], reach[1]);
    g_chain_mismatch = reach[0] != 0 || reach[1] != 1;
    for (int i = 0; i < 250; i++)
        funnel_one(f, 1);
    if (f->mismatches) fail_msg("%d funnel mismatches (first ones above)", f->mismatches);
    if (g_chain_mismatch)
        fail_msg("%d funnel medians / breakdown counts other than the reference's (first chain)",
                 g_chain_mismatch);
}

/* --- retention --- */

static int cmp_evt(fixture *f, int a, int b) {
    g_sort_f = f;
    return cmp_order(&a, &b);
}

static int retention_one(fixture *f, int ooa) {
    rstep st, rt;
    rand_rstep(f, &st, 1, 0);
    int ret_given = rnd(f, 3) != 0;
    rand_rstep(f, &rt, 1, 0);
    if (!ret_given) rt.type = -1;
    int week = rnd(f, 2);
    int periods = 1 + (int)rnd(f, week ? 7 : 20);
    if (rnd(f, 8) == 0) periods = 90;
    int64_t from = TODAY - 42 + rnd(f, 30), to = from + rnd(f, 30);
    if (to > TODAY) to = TODAY;
    char fs[11], tsd[11];
    dstr(from, fs);
    dstr(to, tsd);
    json_t *q =
        json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s}", "kind", "retention", "start_event",
                  st.type < 0 ? "$active" : type_names[st.type], "interval", week ? "week" : "day",
                  "periods", periods, "mode", ooa ? "on_or_after" : "exact", "from", fs, "to", tsd);
    if (ret_given)
        json_object_set_new(q, "return_event",
                            json_string(rt.type < 0 ? "$active" : type_names[rt.type]));
    /* reference, from docs/metrics.md */
    int64_t plen = week ? 7 : 1;
    int64_t c0 = week ? monday(from) : from, c1 = week ? monday(to) + 6 : to;
    int nco = (int)((c1 - c0 + 1) / plen);
    int64_t size[64] = {0}, cell[64][90];
    memset(cell, 0, sizeof cell);
    static int ev[NEV];
    for (int c = 0; c < NC; c++) {
        int n = contact_events(f, c, INT64_MIN, INT64_MAX, ev);
        int first = -1;
        for (int i = 0; i < n && first < 0; i++)
            if (rstep_match(&st, &f->me[ev[i]])) first = ev[i];
        if (first < 0) continue;
        int64_t sd = dayn(f->me[first].ts);
        if (sd < c0 || sd > c1) continue;
        int co = (int)((sd - c0) / plen);
        size[co]++;
        for (int k = 0; k < periods; k++) {
            int hit = 0;
            for (int i = 0; i < n && !hit; i++) {
                const mevent *x = &f->me[ev[i]];
                if (!rstep_match(&rt, x)) continue;
                int64_t d = dayn(x->ts);
                if (d < c0) continue;
                int64_t p = (d - c0) / plen;
                /* returns at or after the start event (the start event
                 * itself included): docs/metrics.md leaves open whether a
                 * return earlier in the cohort's own period counts; the
                 * code says no, and so does this reference */
                if (cmp_evt(f, ev[i], first) < 0) continue;
                hit = ooa ? p >= co + k : p == co + k;
            }
            cell[co][k] += hit;
        }
    }
    json_t *out = ask(f, q);
    json_t *cohorts = json_object_get(out, "cohorts");
    if ((int)json_array_size(cohorts) != nco)
        mismatch(f, q, "retention: %zu cohorts, reference %d", json_array_size(cohorts), nco);
    int telling = 0;
    for (int co = 0; co < nco && co < (int)json_array_size(cohorts); co++) {
        json_t *jc = json_array_get(cohorts, (size_t)co);
        char lab[11];
        dstr(c0 + co * plen, lab);
        if (strcmp(json_string_value(json_object_get(jc, "cohort")), lab))
            mismatch(f, q, "retention cohort %d: label %s, reference %s", co,
                     json_string_value(json_object_get(jc, "cohort")), lab);
        if (json_integer_value(json_object_get(jc, "size")) != size[co])
            mismatch(f, q, "retention cohort %s: size %lld, reference %lld", lab,
                     (long long)json_integer_value(json_object_get(jc, "size")),
                     (long long)size[co]);
        json_t *vals = json_object_get(jc, "values");
        if ((int)json_array_size(vals) != periods) mismatch(f, q, "retention: values length");
        for (int k = 0; k < periods; k++) {
            int begun = c0 + (co + k) * plen <= TODAY;
            json_t *v = json_array_get(vals, (size_t)k);
            if (!num_eq(v, begun, (double)cell[co][k])) {
                char got[24];
                snprintf(got, sizeof got, "%lld", (long long)json_integer_value(v));
                mismatch(f, q, "retention cohort %s cell %d: %s, reference %lld%s", lab, k,
                         json_is_null(v) ? "null" : got, (long long)cell[co][k],
                         begun ? "" : " (null: not begun)");
            }
            if (begun && k > 0 && cell[co][k] > 0 && cell[co][k] < size[co]) telling = 1;
        }
    }
    json_t *avg = json_object_get(out, "average");
    for (int k = 0; k < periods; k++) {
        double sum = 0, den = 0;
        for (int co = 0; co < nco; co++)
            if (c0 + (co + k) * plen <= TODAY) {
                sum += (double)cell[co][k];
                den += (double)size[co];
            }
        if (!num_eq(json_array_get(avg, (size_t)k), den > 0, den > 0 ? sum / den : 0))
            mismatch(f, q, "retention average[%d]", k);
    }
    json_decref(out);
    json_decref(q);
    return telling;
}

static void test_retention(void **state) {
    fixture *f = *state;
    int telling = 0;
    for (int i = 0; i < 150; i++)
        telling += retention_one(f, 0);
    if (f->mismatches) fail_msg("%d retention mismatches (first ones above)", f->mismatches);
    fprintf(stderr, "retention: %d of 150 telling\n", telling);
    assert_true(telling > 30);
}

/* regression (reported to the lead): "on_or_after" cell N counts those
 * who returned in ANY period >= cohort + N (docs/metrics.md); an_retention.c
 * only looks at periods < cohort + `periods`, so the last cell equals the
 * exact one and a return after the table's horizon is lost. */
static void test_regression_retention_on_or_after(void **state) {
    fixture *f = *state;
    for (int i = 0; i < 150; i++)
        retention_one(f, 1);
    if (f->mismatches) fail_msg("%d retention mismatches (first ones above)", f->mismatches);
}

/* --- metrics: dau, gmv, repurchase_rate --- */

static void metric_one(fixture *f, const char *key, int week) {
    int64_t from = TODAY - 41 + rnd(f, 20), to = from + rnd(f, 40);
    if (to > TODAY) to = TODAY;
    char fs[11], tsd[11];
    dstr(from, fs);
    dstr(to, tsd);
    json_t *q = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "metric", "metric", key, "from", fs,
                          "to", tsd, "interval", week ? "week" : "day");
    int nd = (int)(to - from + 1);
    /* per day: active contacts, gmv, orders per contact */
    static int active[64][NC], orders[64][NC];
    static int64_t gmv[64];
    memset(active, 0, sizeof active);
    memset(orders, 0, sizeof orders);
    memset(gmv, 0, sizeof gmv);
    for (int i = 0; i < NEV; i++) {
        const mevent *x = &f->me[i];
        int64_t d = dayn(x->ts) - from;
        if (d < 0 || d >= nd) continue;
        active[d][x->c] = 1;
        if (x->order) {
            orders[d][x->c]++;
            gmv[d] += x->fen;
        }
    }
    /* periods: days, or Monday weeks cut by the range */
    int np = 0, pfirst[64], plast[64];
    for (int d = 0; d < nd; d++) {
        if (d == 0 || !week || monday(from + d) == from + d) pfirst[np++] = d;
        plast[np - 1] = d;
    }
    pfirst[np] = 0;
    json_t *out = ask(f, q);
    json_t *periods = json_object_get(out, "periods");
    json_t *series = json_object_get(out, "series");
    if ((int)json_array_size(periods) != np)
        mismatch(f, q, "metric %s: %zu periods, reference %d", key, json_array_size(periods), np);
    json_t *vals = json_object_get(json_array_get(series, 0), "values");
    for (int p = 0; p <= np && p < (int)json_array_size(periods) + 1; p++) {
        int d0 = p < np ? pfirst[p] : 0, d1 = p < np ? plast[p] : nd - 1;
        double want = 0;
        int has = 1;
        if (strcmp(key, "dau") == 0) {
            double s = 0;
            for (int d = d0; d <= d1; d++)
                for (int c = 0; c < NC; c++)
                    s += active[d][c];
            want = s / (double)(d1 - d0 + 1);
        } else if (strcmp(key, "gmv") == 0) {
            for (int d = d0; d <= d1; d++)
                want += (double)gmv[d];
        } else { /* repurchase_rate: orders counted over the whole period */
            int buyers = 0, repeat = 0;
            for (int c = 0; c < NC; c++) {
                int o = 0;
                for (int d = d0; d <= d1; d++)
                    o += orders[d][c];
                buyers += o >= 1;
                repeat += o >= 2;
            }
            has = buyers > 0;
            want = has ? (double)repeat / buyers : 0;
        }
        json_t *v = p < np ? json_array_get(vals, (size_t)p) : json_object_get(out, "total");
        if (p < np) {
            char lab[11];
            dstr(week ? (p == 0 ? monday(from) : from + d0) : from + d0, lab);
            if (strcmp(json_string_value(json_array_get(periods, (size_t)p)) ?: "", lab))
                mismatch(f, q, "metric %s: period %d label %s, reference %s", key, p,
                         json_string_value(json_array_get(periods, (size_t)p)), lab);
        }
        if (!num_eq(v, has, want))
            mismatch(f, q, "metric %s %s: %g, reference %s%g", key,
                     p < np ? json_string_value(json_array_get(periods, (size_t)p)) : "total",
                     json_number_value(v), has ? "" : "null ", want);
        if (p == np && !num_eq(json_object_get(json_array_get(series, 0), "total"), has, want))
            mismatch(f, q, "metric %s: series total", key);
    }
    json_decref(out);
    json_decref(q);
}

static void test_metrics(void **state) {
    fixture *f = *state;
    for (int i = 0; i < 15; i++) {
        metric_one(f, "dau", 0);
        metric_one(f, "dau", 1);
        metric_one(f, "gmv", (int)rnd(f, 2));
        metric_one(f, "repurchase_rate", 0);
        metric_one(f, "repurchase_rate", 1);
    }
    if (f->mismatches) fail_msg("%d metric mismatches (first ones above)", f->mismatches);
}

/* regression under ASan (reported to the lead): a metric broken down by
 * "channel" (the synonym of "source") reads breakdown.by after replacing it
 * (heap-use-after-free in an_metric); it must equal the "source" answer. */
static void test_regression_metric_breakdown_channel(void **state) {
    fixture *f = *state;
    json_t *q = json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "kind", "metric", "metric", "dau", "from",
                          "2026-10-20", "to", "2026-11-19", "breakdown", "by", "channel");
    json_t *src = json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "kind", "metric", "metric", "dau", "from",
                            "2026-10-20", "to", "2026-11-19", "breakdown", "by", "source");
    json_t *a = ask(f, q), *b = ask(f, src);
    assert_true(json_array_size(json_object_get(a, "series")) > 0);
    assert_true(json_equal(json_object_get(a, "series"), json_object_get(b, "series")));
    json_decref(a);
    json_decref(b);
    json_decref(q);
    json_decref(src);
}

/* --- trends --- */

static void trend_one(fixture *f) {
    rstep ev;
    rand_rstep(f, &ev, 1, 30);
    int measure = (int)rnd(f, ev.type == T_ORDER ? 3 : 2); /* count, uniques, sum */
    int bd = rnd(f, 2);
    int week = rnd(f, 3) == 0;
    int64_t from = TODAY - 41 + rnd(f, 20), to = from + rnd(f, 40);
    if (to > TODAY) to = TODAY;
    char fs[11], tsd[11];
    dstr(from, fs);
    dstr(to, tsd);
    static const char *const mn[] = {"count", "uniques", "sum"};
    json_t *step = rstep_json(&ev);
    json_t *q = json_pack("{s:s,s:O,s:s,s:s,s:s,s:s}", "kind", "trend", "event",
                          json_object_get(step, "event"), "measure", mn[measure], "from", fs, "to",
                          tsd, "interval", week ? "week" : "day");
    if (json_object_get(step, "filters"))
        json_object_set(q, "filters", json_object_get(step, "filters"));
    json_decref(step);
    if (measure == 2) json_object_set_new(q, "property", json_string("amount"));
    if (bd) json_object_set_new(q, "breakdown", json_pack("{s:s}", "by", "channel"));
    int nd = (int)(to - from + 1);
    int np = 0, pof[64];
    for (int d = 0; d < nd; d++) {
        if (d == 0 || !week || monday(from + d) == from + d) np++;
        pof[d] = np - 1;
    }
    /* per group (channel code, or 0 for "all"), per period (np = total) */
    int64_t val[4][65];
    int seen[4][65][NC];
    int present[4] = {0};
    memset(val, 0, sizeof val);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < NEV; i++) {
        const mevent *x = &f->me[i];
        int64_t d = dayn(x->ts) - from;
        if (d < 0 || d >= nd || !rstep_match(&ev, x)) continue;
        int g = bd ? x->ch : 0, p = pof[d];
        present[g] = 1;
        for (int k = 0; k < 2; k++) {
            int pp = k ? np : p;
            if (measure == 0) val[g][pp]++;
            if (measure == 1 && !seen[g][pp][x->c]) {
                seen[g][pp][x->c] = 1;
                val[g][pp]++;
            }
            if (measure == 2 && x->order) val[g][pp] += x->fen;
        }
    }
    if (!bd) present[0] = 1;
    json_t *out = ask(f, q);
    json_t *series = json_object_get(out, "series");
    int want_series = 0;
    for (int g = 0; g < 4; g++)
        want_series += present[g];
    if ((int)json_array_size(series) != want_series)
        mismatch(f, q, "trend: %zu series, reference %d", json_array_size(series), want_series);
    for (int g = 0; g < 4; g++) {
        if (!present[g]) continue;
        const char *key = !bd ? "all" : g ? chan_names[g] : "(none)";
        json_t *s = NULL, *x;
        size_t i;
        json_array_foreach(series, i, x) {
            if (strcmp(json_string_value(json_object_get(x, "key")) ?: "", key) == 0) s = x;
        }
        if (!s) {
            mismatch(f, q, "trend: no series %s", key);
            continue;
        }
        json_t *vals = json_object_get(s, "values");
        if ((int)json_array_size(vals) != np) mismatch(f, q, "trend: values length");
        for (int p = 0; p <= np; p++) {
            json_t *v = p < np ? json_array_get(vals, (size_t)p) : json_object_get(s, "total");
            if (!num_eq(v, 1, (double)val[g][p]))
                mismatch(f, q, "trend series %s period %d: %g, reference %lld", key, p,
                         json_number_value(v), (long long)val[g][p]);
        }
    }
    /* the series are ordered largest first */
    for (size_t i = 1; i < json_array_size(series); i++)
        if (json_number_value(json_object_get(json_array_get(series, i), "total")) >
            json_number_value(json_object_get(json_array_get(series, i - 1), "total")))
            mismatch(f, q, "trend: series %zu larger than the one before", i);
    json_decref(out);
    json_decref(q);
}

static void test_trends(void **state) {
    fixture *f = *state;
    for (int i = 0; i < 120; i++)
        trend_one(f);
    if (f->mismatches) fail_msg("%d trend mismatches (first ones above)", f->mismatches);
}

/* The engine's per-contact order is the reference's: (ts, stored order).
 * Checked first so that any later difference is the analytics' own. */
static void engine_order_cb(void *ctx, uint32_t contact, const sy_engine_rec *r, size_t n) {
    fixture *f = ctx;
    static int ev[NEV];
    int ci = -1;
    for (int c = 0; c < NC; c++)
        if ((uint32_t)f->id[c] == contact) ci = c;
    if (ci < 0) {
        f->mismatches++;
        return;
    }
    int m = contact_events(f, ci, INT64_MIN, INT64_MAX, ev);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!AN_ACTIVE(r[i].flags)) continue; /* the identify message */
        if ((int)k >= m || r[i].ts != f->me[ev[k]].ts ||
            ((r[i].flags & SY_EV_ORDER) != 0) != (f->me[ev[k]].order != 0))
            f->mismatches++;
        k++;
    }
    if ((int)k != m) f->mismatches++;
}

static void test_engine_order(void **state) {
    fixture *f = *state;
    void *ctx[1] = {f};
    assert_int_equal(sy_engine_scan_contacts(f->eng, NULL, 1, engine_order_cb, ctx), 0);
    assert_int_equal(f->mismatches, 0);
}

/* --- an_funnel_level on hand-written cases --- */

static int lvl(const int64_t *ts, const uint16_t *m, size_t n, int ns, int64_t w, int strict,
               int *reach) {
    return an_funnel_level(ts, m, n, ns, w, strict, reach);
}

static void test_funnel_level_edges(void **state) {
    (void)state;
    int reach[AN_MAX_STEPS];
    const int64_t T = 1795170600000LL; /* a whole second */
    { /* before 1970 seconds are rounded down too: -60.5 s is second -61,
       * whose window of 60 s ends with second -1, before 0.5 s; -59.5 s
       * (second -60) reaches second 0 */
        int64_t ts[] = {-60500, 500}, ts2[] = {-59500, 500};
        uint16_t m[] = {1, 2};
        assert_int_equal(lvl(ts, m, 2, 2, 60000, 0, NULL), 1);
        assert_int_equal(lvl(ts2, m, 2, 2, 60000, 0, NULL), 2);
        /* -1 ms and -999 ms share second -1; 0 ms is the next one */
        int64_t ts3[] = {-999, -1}, ts4[] = {-1, 0};
        uint16_t m2[] = {2, 1};
        assert_int_equal(lvl(ts3, m2, 2, 2, 0, 0, NULL), 2);
        assert_int_equal(lvl(ts4, m2, 2, 2, 60000, 0, NULL), 1);
    }
    { /* same second: step 2 at .100, step 1 at .900: (second, step) order
       * puts step 1 first, so the chain is complete (loose); strict goes by
       * the millisecond order and sees step 2 before step 1 */
        int64_t ts[] = {T + 100, T + 900};
        uint16_t m[] = {2, 1};
        assert_int_equal(lvl(ts, m, 2, 2, 60000, 0, reach), 2);
        assert_int_equal(reach[0], 1);
        assert_int_equal(reach[1], 0);
        assert_int_equal(lvl(ts, m, 2, 2, 60000, 1, NULL), 1);
    }
    { /* same millisecond, stored step 2 first: the same */
        int64_t ts[] = {T, T};
        uint16_t m[] = {2, 1};
        assert_int_equal(lvl(ts, m, 2, 2, 1000, 0, NULL), 2);
        assert_int_equal(lvl(ts, m, 2, 2, 1000, 1, NULL), 1);
    }
    { /* the previous second does not extend a chain started later */
        int64_t ts[] = {T - 1, T};
        uint16_t m[] = {2, 1};
        assert_int_equal(lvl(ts, m, 2, 2, 60000, 0, NULL), 1);
    }
    { /* window boundary: exactly start + window is included */
        int64_t ts[] = {T, T + 60000};
        uint16_t m[] = {1, 2};
        assert_int_equal(lvl(ts, m, 2, 2, 60000, 0, NULL), 2);
        assert_int_equal(lvl(ts, m, 2, 2, 60000, 1, NULL), 2);
    }
    { /* one ms later is still the same second: loose includes it (whole
       * seconds), strict (milliseconds) does not */
        int64_t ts[] = {T, T + 60001};
        uint16_t m[] = {1, 2};
        assert_int_equal(lvl(ts, m, 2, 2, 60000, 0, NULL), 2);
        assert_int_equal(lvl(ts, m, 2, 2, 60000, 1, NULL), 1);
    }
    { /* start late in its second, step 2 at the last ms of start+window's
       * second: included; the first ms of the next second: not */
        int64_t ts[] = {T + 999, T + 60999};
        uint16_t m[] = {1, 2};
        assert_int_equal(lvl(ts, m, 2, 2, 60000, 0, NULL), 2);
        int64_t ts2[] = {T + 999, T + 61000};
        assert_int_equal(lvl(ts2, m, 2, 2, 60000, 0, NULL), 1);
        /* 60.001 s after the start: the second boundary is crossed by 1 ms */
        int64_t ts3[] = {T + 999, T + 61000};
        assert_int_equal(lvl(ts3, m, 2, 2, 60002, 0, NULL), 1);
    }
    { /* a restart with a later step 1 keeps the most window: A@0 A@8 B@9 C@12, window 10 s */
        int64_t ts[] = {T, T + 8000, T + 9000, T + 12000};
        uint16_t m[] = {1, 1, 2, 4};
        assert_int_equal(lvl(ts, m, 4, 3, 10000, 0, reach), 3);
        assert_int_equal(reach[0], 1);
        assert_int_equal(reach[1], 2);
        assert_int_equal(reach[2], 3);
        /* A@0 B@5 A@8 C@12: the chain of B started at 0 and C is too late */
        int64_t ts2[] = {T, T + 5000, T + 8000, T + 12000};
        uint16_t m2[] = {1, 2, 1, 4};
        assert_int_equal(lvl(ts2, m2, 4, 3, 10000, 0, NULL), 2);
    }
    { /* one event matching two steps counts for each (loose), not strict */
        int64_t ts[] = {T};
        uint16_t m[] = {3};
        assert_int_equal(lvl(ts, m, 1, 2, 1000, 0, NULL), 2);
        assert_int_equal(lvl(ts, m, 1, 2, 1000, 1, NULL), 1);
    }
    { /* strict: another activity in between breaks the chain */
        int64_t ts[] = {T, T + 1, T + 2, T + 3, T + 4};
        uint16_t m[] = {1, 0, 2, 1, 2};
        assert_int_equal(lvl(ts, m, 5, 2, 1000, 1, reach), 2);
        assert_int_equal(reach[0], 3);
        assert_int_equal(reach[1], 4);
        assert_int_equal(lvl(ts, m, 3, 2, 1000, 1, NULL), 1);
        assert_int_equal(lvl(ts, m, 3, 2, 1000, 0, NULL), 2);
    }
    { /* steps out of order never complete; nothing is level 0 */
        int64_t ts[] = {T, T + 1000};
        uint16_t m[] = {4, 2};
        assert_int_equal(lvl(ts, m, 2, 3, 60000, 0, NULL), 0);
        assert_int_equal(lvl(ts, m, 0, 3, 60000, 0, NULL), 0);
    }
    { /* ten steps, one a second */
        int64_t ts[10];
        uint16_t m[10];
        for (int i = 0; i < 10; i++) {
            ts[i] = T + i * 1000;
            m[i] = (uint16_t)(1u << i);
        }
        assert_int_equal(lvl(ts, m, 10, 10, 9000, 0, NULL), 10);
        assert_int_equal(lvl(ts, m, 10, 10, 8999, 0, NULL), 9);
        assert_int_equal(lvl(ts, m, 10, 10, 9000, 1, NULL), 10);
        assert_int_equal(lvl(ts, m, 10, 10, 8999, 1, NULL), 9);
    }
}

/* --- civil days and calendars with DST --- */

static void test_calendar(void **state) {
    (void)state;
    /* civil days against base/clock's formatter, over four centuries */
    for (int64_t d = -800; d < 146097 + 1000; d += 37) {
        char lab[11];
        dstr(d, lab);
        int y, m, dd;
        an_civil_from_days(d, &y, &m, &dd);
        char mine[16];
        snprintf(mine, sizeof mine, "%04d-%02d-%02d", y, m, dd);
        assert_string_equal(lab, mine);
        assert_int_equal(an_days_from_civil(y, m, dd), d);
        int64_t back;
        assert_int_equal(an_parse_day(lab, &back), 0);
        assert_int_equal(back, d);
    }
    assert_int_equal(an_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(an_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(an_days_from_civil(2026, 11, 20), dayn(AS_OF));
    int64_t x;
    assert_int_equal(an_parse_day("2026-02-29", &x), SY_E_INVALID);
    assert_int_equal(an_parse_day("2028-02-29", &x), 0);

    /* America/New_York 2026: 23-hour Sunday 8 March, 25-hour Sunday 1 November */
    sy_arena *a = sy_arena_create();
    an_cal cal;
    sy_err e = {0};
    const char *ny = "America/New_York";
    int64_t d0 = an_days_from_civil(2026, 3, 6);
    assert_ok(an_cal_build(a, ny, d0, d0 + 4, AN_DAY, &cal, &e), &e);
    assert_int_equal(cal.n_days, 5);
    assert_false(cal.uniform);
    int64_t mar6 = 1772773200000LL; /* 2026-03-06T05:00:00Z = 00:00 EST */
    assert_int_equal(cal.start[0], mar6);
    assert_int_equal(cal.start[1] - cal.start[0], 24 * 3600000LL);
    assert_int_equal(cal.start[2], mar6 + 2 * DAY);                /* 8 March 00:00 EST */
    assert_int_equal(cal.start[3] - cal.start[2], 23 * 3600000LL); /* 9 March 00:00 EDT */
    assert_int_equal(cal.start[4] - cal.start[3], 24 * 3600000LL);
    /* 8 March 23:30 EDT is 9 March 03:30Z, still the 8th */
    assert_int_equal(an_cal_day(&cal, cal.start[3] - 1800000), 2);
    assert_int_equal(an_cal_day(&cal, cal.start[3]), 3);
    assert_int_equal(an_cal_day(&cal, cal.start[0] - 1), -1);
    assert_int_equal(an_cal_day(&cal, cal.start[5]), 5);
    assert_int_equal(an_local_day(ny, cal.start[3] - 1), d0 + 2);
    assert_int_equal(an_local_day(ny, cal.start[3]), d0 + 3);
    int64_t n1 = an_days_from_civil(2026, 10, 31);
    assert_ok(an_cal_build(a, ny, n1, n1 + 2, AN_WEEK, &cal, &e), &e);
    assert_false(cal.uniform);
    assert_int_equal(cal.start[1] - cal.start[0], 24 * 3600000LL);
    assert_int_equal(cal.start[2] - cal.start[1], 25 * 3600000LL); /* 1 November */
    assert_int_equal(cal.start[1], 1793505600000LL); /* 2026-11-01T04:00:00Z = 00:00 EDT */
    assert_int_equal(cal.start[2], 1793595600000LL); /* 2026-11-02T05:00:00Z = 00:00 EST */
    /* Saturday 31 Oct and Sunday 1 Nov are one week (from Monday 26 Oct),
     * Monday 2 Nov starts the next */
    assert_int_equal(cal.n_periods, 2);
    assert_string_equal(cal.label[0], "2026-10-26");
    assert_string_equal(cal.label[1], "2026-11-02");
    assert_int_equal(cal.period_of_day[1], 0);
    assert_int_equal(cal.period_of_day[2], 1);
    /* 1 November 01:30 happens twice (EDT, then EST): both on the 1st */
    assert_int_equal(an_cal_day(&cal, 1793511000000LL), 1); /* 05:30Z = 01:30 EDT */
    assert_int_equal(an_cal_day(&cal, 1793514600000LL), 1); /* 06:30Z = 01:30 EST */
    /* Shanghai: uniform; months labelled by their first day */
    int64_t s0 = an_days_from_civil(2026, 1, 30);
    assert_ok(an_cal_build(a, "Asia/Shanghai", s0, s0 + 40, AN_MONTH, &cal, &e), &e);
    assert_true(cal.uniform);
    assert_int_equal(cal.start[0], day_start(s0));
    assert_int_equal(cal.n_periods, 3);
    assert_string_equal(cal.label[0], "2026-01-01");
    assert_string_equal(cal.label[1], "2026-02-01");
    assert_string_equal(cal.label[2], "2026-03-01");
    assert_int_equal(cal.period_first[1], 2);
    assert_int_equal(cal.period_first[2], 30);
    sy_arena_destroy(a);
}

/* regression (reported to the lead): every day of 2026 in zones with
 * DST starts at the first instant whose local day is that day. Zones whose
 * clocks jump forward at midnight (the day begins at 01:00: Santiago,
 * Havana) get a start one hour early from an_day_start, an instant that
 * an_local_day puts on the day before. */
static void test_regression_day_start_midnight_dst(void **state) {
    (void)state;
    static const char *const zones[] = {
        "America/New_York", "Europe/London",  "Australia/Sydney", "Australia/Lord_Howe",
        "America/Santiago", "America/Havana", "Asia/Beirut",      "Africa/Cairo"};
    int bad = 0;
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        if (!sy_tz_valid(zones[z])) continue;
        int64_t first = an_days_from_civil(2026, 1, 1);
        for (int64_t d = first; d < first + 365; d++) {
            int64_t s = an_day_start(zones[z], d);
            if (an_local_day(zones[z], s) != d || an_local_day(zones[z], s - 1) != d - 1) {
                char lab[11];
                dstr(d, lab);
                if (bad++ < 10)
                    fprintf(stderr,
                            "DAY START %s %s: starts at %lld, local day there %lld, "
                            "1 ms before %lld (want %lld, %lld)\n",
                            zones[z], lab, (long long)s, (long long)an_local_day(zones[z], s),
                            (long long)an_local_day(zones[z], s - 1), (long long)d,
                            (long long)(d - 1));
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* Saved cards' funnels asked ahead (sy_analytics_warm): each distinct
 * funnel question once, nothing else, and not a card that fails. */
static int seed_cards(sy_db *db, void *arg, sy_err *e) {
    (void)arg;
    return sy_db_exec(
        db,
        "INSERT INTO dashboards (id, name, created_at, updated_at) VALUES (900, 'd', 0, 0);"
        "INSERT INTO dashboard_cards (dashboard_id, title, question, chart, position, "
        "created_at, updated_at) VALUES "
        "(900, 'a', '{\"kind\":\"funnel\",\"steps\":[{\"event\":\"add_wechat\"},"
        "{\"event\":\"join_group\"}]}', 'funnel', 1, 0, 0),"
        "(900, 'a again', '{\"kind\":\"funnel\",\"steps\":[{\"event\":\"add_wechat\"},"
        "{\"event\":\"join_group\"}]}', 'funnel', 2, 0, 0),"
        "(900, 'b', '{\"kind\":\"funnel\",\"steps\":[{\"event\":\"view_item\"},"
        "{\"event\":\"order_paid\",\"filters\":[{\"property\":\"channel\",\"op\":\"=\","
        "\"value\":\"app\"}]}]}', 'funnel', 3, 0, 0),"
        "(900, 'gone', '{\"kind\":\"funnel\",\"steps\":[{\"event\":\"no_such_event\"},"
        "{\"event\":\"join_group\"}]}', 'funnel', 4, 0, 0),"
        "(900, 'trend', '{\"kind\":\"trend\",\"event\":\"order_paid\"}', 'line', 5, 0, 0)",
        e);
}

static void test_warm_funnels(void **state) {
    fixture *f = *state;
    assert_int_equal(an_warm_funnels(f->an), 0); /* no cards yet */
    sy_err e = {0};
    assert_ok(sy_store_write(f->st, seed_cards, NULL, &e), &e);
    assert_int_equal(an_warm_funnels(f->an), 2);
}

static int setup1(void **state) {
    return setup_seed(state, 1);
}
static int setup2(void **state) {
    return setup_seed(state, 42);
}
static int setup3(void **state) {
    return setup_seed(state, 2026);
}

#define ALL(setup)                                                                                 \
    cmocka_unit_test_setup_teardown(test_engine_order, setup, teardown),                           \
        cmocka_unit_test_setup_teardown(test_funnels, setup, teardown),                            \
        cmocka_unit_test_setup_teardown(test_funnels_by_times, setup, teardown),                   \
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),                          \
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),                            \
        cmocka_unit_test_setup_teardown(test_trends, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_funnel_level_edges),
        cmocka_unit_test(test_calendar),
        ALL(setup1),
        ALL(setup2),
        ALL(setup3),
        /* regressions found by this test (see their comments) */
        cmocka_unit_test(test_regression_day_start_midnight_dst),
        cmocka_unit_test_setup_teardown(test_regression_funnel_first_chain, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_funnel_second_edges, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_funnel_before_1970, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_regression_retention_on_or_after, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_regression_metric_breakdown_channel, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_warm_funnels, setup1, teardown),
    };
    /* TEST_FILTER / TEST_SKIP: a cmocka name pattern ("*funnel*") */
    if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
    if (getenv("TEST_SKIP")) cmocka_set_skip_filter(getenv("TEST_SKIP"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
