/* an_trend.c — event count, unique contacts, sum or average of the order
 * amount per period, with property filters and a breakdown.
 *
 * Counts and sums read only the positions of the event's type (position
 * order, no per-contact work); unique contacts need each contact once per
 * period, so they walk contacts instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analytics_int.h"
#include "base/json.h"

enum { M_COUNT, M_UNIQUES, M_SUM, M_AVG };

typedef struct tplan {
    an_q *q;
    an_step ev;
    int measure;
    an_cal cal;
    int64_t from_ms, to_ms;
    int width; /* per group: count[P+1] (+ sum[P+1]); column P is the whole range */
    const an_cgroups *cg;
    sy_engine *eng;
    const sy_idset *only;
} tplan;

typedef struct tctx {
    const tplan *p;
    an_groups g;
    int32_t *dim_row; /* event-dimension breakdowns: dim id → row index + 1 */
    /* uniques: (key, period) pairs already counted for the current contact */
    int64_t *seen_k;
    int *seen_p;
    size_t n_seen, cap_seen;
    int oom;
} tctx;

static int keys_of(const tplan *p, uint32_t contact, uint32_t pos, int64_t *keys) {
    switch (p->q->bd) {
    case AN_BD_NONE:
        keys[0] = 0;
        return 1;
    case AN_BD_DIM:
        keys[0] = sy_engine_dim_unlocked(p->eng, pos, p->q->bd_dim);
        return 1;
    default:
        return an_cgroups_of(p->cg, contact, keys);
    }
}

static int ev_match(const tplan *p, const sy_engine_rec *r) {
    const an_step *s = &p->ev;
    if (s->type >= 0 ? r->type != s->type : (s->type == -2 || !AN_ACTIVE(r->flags))) return 0;
    if (s->n_filters && !an_filters_match(p->eng, r->pos, s->filters, s->n_filters)) return 0;
    return 1;
}

static void trend_event(void *vctx, uint32_t contact, const sy_engine_rec *r) {
    tctx *c = vctx;
    const tplan *p = c->p;
    if (c->oom || !ev_match(p, r)) return;
    if (p->only && !sy_idset_contains(p->only, contact)) return;
    int d = an_cal_day(&p->cal, r->ts);
    if (d < 0 || d >= p->cal.n_days) return;
    int per = p->cal.period_of_day[d], P = p->cal.n_periods;
    int64_t keys[10];
    int nk = keys_of(p, contact, r->pos, keys);
    int64_t fen =
        p->measure == M_SUM || p->measure == M_AVG ? sy_engine_revenue_unlocked(p->eng, r->pos) : 0;
    for (int k = 0; k < nk; k++) {
        int64_t *row;
        /* one lookup per event: a direct table beats the hash for dim ids */
        if (c->dim_row && c->dim_row[keys[k]]) {
            row = c->g.vals + (size_t)(c->dim_row[keys[k]] - 1) * (size_t)c->g.width;
        } else {
            row = an_groups_row(&c->g, keys[k]);
            if (row && c->dim_row)
                c->dim_row[keys[k]] = (int32_t)((row - c->g.vals) / c->g.width) + 1;
        }
        if (!row) {
            c->oom = 1;
            return;
        }
        row[per]++;
        row[P]++;
        if (p->width > P + 1) {
            row[P + 1 + per] += fen;
            row[P + 1 + P] += fen;
        }
    }
}

/* From the engine's per-day counts (no event is read). */
static void trend_count(void *vctx, int day, uint16_t value, int64_t count, int64_t sum_fen) {
    tctx *c = vctx;
    const tplan *p = c->p;
    int per = p->cal.period_of_day[day], P = p->cal.n_periods;
    int64_t *row = an_groups_row(&c->g, p->q->bd == AN_BD_DIM ? value : 0);
    if (!row) {
        c->oom = 1;
        return;
    }
    row[per] += count;
    row[P] += count;
    if (p->width > P + 1) {
        row[P + 1 + per] += sum_fen;
        row[P + 1 + P] += sum_fen;
    }
}

static int seen_add(tctx *c, int64_t key, int per) {
    for (size_t i = 0; i < c->n_seen; i++)
        if (c->seen_k[i] == key && c->seen_p[i] == per) return 0;
    if (c->n_seen == c->cap_seen) {
        size_t cap = c->cap_seen ? c->cap_seen * 2 : 64;
        int64_t *k = realloc(c->seen_k, cap * sizeof *k);
        if (k) c->seen_k = k;
        int *pp = realloc(c->seen_p, cap * sizeof *pp);
        if (pp) c->seen_p = pp;
        if (!k || !pp) {
            c->oom = 1;
            return 0;
        }
        c->cap_seen = cap;
    }
    c->seen_k[c->n_seen] = key;
    c->seen_p[c->n_seen++] = per;
    return 1;
}

static void trend_contact(void *vctx, uint32_t contact, const sy_engine_rec *r, size_t n) {
    tctx *c = vctx;
    const tplan *p = c->p;
    int P = p->cal.n_periods;
    c->n_seen = 0;
    for (size_t i = 0; i < n && !c->oom; i++) {
        if (r[i].ts < p->from_ms) continue;
        if (r[i].ts >= p->to_ms) break;
        if (!ev_match(p, &r[i])) continue;
        int d = an_cal_day(&p->cal, r[i].ts);
        int per = p->cal.period_of_day[d];
        int64_t keys[10];
        int nk = keys_of(p, contact, r[i].pos, keys);
        for (int k = 0; k < nk; k++) {
            int new_p = seen_add(c, keys[k], per), new_t = seen_add(c, keys[k], P);
            if (!new_p && !new_t) continue;
            int64_t *row = an_groups_row(&c->g, keys[k]);
            if (!row) {
                c->oom = 1;
                return;
            }
            if (new_p) row[per]++;
            if (new_t) row[P]++;
        }
    }
}

int an_trend(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of, json_t **out,
             sy_err *e) {
    static const char *const keys[] = {"event",    "measure", "property",  "from",       "to",
                                       "interval", "filters", "breakdown", "segment_id", NULL};
    if (sy_json_only(body, keys, e)) return SY_E_INVALID;
    sy_arena *a = sy_arena_create();
    if (!a) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    an_q q;
    tplan p;
    memset(&p, 0, sizeof p);
    an_cgroups cg = {0};
    tctx ctx[AN_THREADS];
    memset(ctx, 0, sizeof ctx);
    json_t *names = NULL;
    int rc = an_q_parse(an, a, actor, body, as_of,
                        AN_F_RANGE | AN_F_INTERVAL | AN_F_FILTERS | AN_F_BREAKDOWN | AN_F_SEGMENT,
                        &q, e);
    if (rc) {
        sy_arena_destroy(a);
        return rc;
    }
    p.q = &q;
    if ((rc = an_step_parse(&q, json_object_get(body, "event"), json_object_get(body, "filters"),
                            "", 1, &p.ev, e)))
        goto done;
    const char *m = json_string_value(json_object_get(body, "measure"));
    if (json_object_get(body, "measure") && !m) m = "";
    p.measure = !m || strcmp(m, "count") == 0 ? M_COUNT
                : strcmp(m, "uniques") == 0   ? M_UNIQUES
                : strcmp(m, "sum") == 0       ? M_SUM
                : strcmp(m, "avg") == 0       ? M_AVG
                                              : -1;
    if (p.measure < 0) {
        rc = sy_err_field(e, SY_E_INVALID, "measure",
                          "measure \"%s\" is not one of count, uniques, sum, avg", m);
        goto done;
    }
    const char *prop = json_string_value(json_object_get(body, "property"));
    if (p.measure == M_SUM || p.measure == M_AVG) {
        if (!prop || strcmp(prop, "amount")) {
            rc = sy_err_field(e, SY_E_INVALID, "property",
                              "sum and avg take property \"amount\" (the order amount in fen)");
            goto done;
        }
    } else if (json_object_get(body, "property")) {
        rc = sy_err_field(e, SY_E_INVALID, "property", "property belongs to sum and avg");
        goto done;
    }
    if ((rc = an_cal_build(a, q.tz, q.from_day, q.to_day, q.interval, &p.cal, e))) goto done;
    if (q.bd != AN_BD_NONE && q.bd != AN_BD_DIM && (rc = an_cgroups_init(&q, &cg, e))) goto done;
    p.cg = &cg;
    p.eng = an->engine;
    p.only = q.only;
    p.from_ms = p.cal.start[0];
    p.to_ms = p.cal.start[p.cal.n_days];
    int P = p.cal.n_periods;
    p.width = (P + 1) * (p.measure == M_SUM || p.measure == M_AVG ? 2 : 1);
    for (int t = 0; t < AN_THREADS; t++) {
        ctx[t].p = &p;
        an_groups_init(&ctx[t].g, p.width);
    }
    if (p.measure == M_UNIQUES) {
        void *ptrs[AN_THREADS];
        for (int t = 0; t < AN_THREADS; t++)
            ptrs[t] = &ctx[t];
        if (sy_engine_scan_contacts(an->engine, q.only, AN_THREADS, trend_contact, ptrs))
            ctx[0].oom = 1;
    } else if (p.ev.type >= 0 && !p.ev.n_filters && !q.only &&
               (q.bd == AN_BD_NONE || q.bd == AN_BD_DIM) &&
               sy_engine_type_day_counts(an->engine, q.tz, p.ev.type,
                                         q.bd == AN_BD_DIM ? q.bd_dim : -1, q.from_day,
                                         p.cal.n_days, trend_count, &ctx[0]) == 0) {
        /* answered from the per-day counts */
    } else if (p.ev.type != -2) {
        an_groups_free(&ctx[0].g); /* the counts may have failed half way */
        an_groups_init(&ctx[0].g, p.width);
        ctx[0].oom = 0;
        if (q.bd == AN_BD_DIM && !(ctx[0].dim_row = calloc(65536, sizeof *ctx[0].dim_row)))
            ctx[0].oom = 1;
        else
            sy_engine_scan_type(an->engine, p.ev.type, p.from_ms, p.to_ms, trend_event, &ctx[0]);
    }
    for (int t = 0; t < AN_THREADS; t++)
        if (ctx[t].oom || ctx[t].g.failed) {
            rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
            goto done;
        }
    for (int t = 1; t < AN_THREADS; t++)
        an_groups_merge(&ctx[0].g, &ctx[t].g);
    an_groups *g = &ctx[0].g;
    if (q.bd == AN_BD_NONE && g->n == 0 && !an_groups_row(g, 0)) {
        rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        goto done;
    }
    double *rank = calloc(g->n + 1, sizeof *rank);
    if (!rank) {
        rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < g->n; i++)
        rank[i] = (double)g->vals[i * (size_t)g->width + (size_t)(p.width > P + 1 ? 2 * P + 1 : P)];
    size_t *ord = an_groups_order(g, rank);
    free(rank);
    if (!ord) {
        rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        goto done;
    }
    if (q.bd == AN_BD_OWNER) sy_staff_names(an->staff, "staff", &names, e);
    if (q.bd == AN_BD_DEPARTMENT) sy_staff_names(an->staff, "department", &names, e);
    json_t *series = json_array(), *periods = json_array();
    for (int k = 0; k < P; k++)
        json_array_append_new(periods, json_string(p.cal.label[k]));
    int64_t *other = calloc((size_t)p.width, sizeof *other);
    int has_other = 0;
    for (size_t i = 0; i <= g->n; i++) {
        const int64_t *v;
        char label[128], key[140];
        if (i < g->n && i < AN_TOP) {
            v = g->vals + ord[i] * (size_t)g->width;
            int64_t gk = g->keys[ord[i]];
            if (q.bd == AN_BD_NONE) {
                snprintf(label, sizeof label, "%s", p.ev.name);
                snprintf(key, sizeof key, "all");
            } else if (q.bd == AN_BD_DIM) {
                an_group_label(&q, gk, label, sizeof label);
                snprintf(key, sizeof key, "%s", label);
            } else {
                an_cgroups_label(&cg, names, gk, label, sizeof label);
                snprintf(key, sizeof key, "%lld", (long long)gk);
            }
        } else if (i < g->n) {
            /* beyond the top groups: summed into "other" (unique contacts
             * may then count a contact in two groups once each) */
            const int64_t *x = g->vals + ord[i] * (size_t)g->width;
            for (int w = 0; w < p.width && other; w++)
                other[w] += x[w];
            has_other = 1;
            continue;
        } else {
            if (!has_other || !other) break;
            v = other;
            snprintf(label, sizeof label, "other");
            snprintf(key, sizeof key, "other");
        }
        json_t *vals = json_array();
        for (int k = 0; k <= P; k++) {
            double x;
            int ok = 1;
            if (p.measure == M_SUM)
                x = (double)v[P + 1 + k];
            else if (p.measure == M_AVG) {
                ok = v[k] > 0;
                x = ok ? (double)v[P + 1 + k] / (double)v[k] : 0;
            } else
                x = (double)v[k];
            if (k < P)
                json_array_append_new(vals, an_num(x, ok));
            else
                json_array_append_new(series,
                                      json_pack("{s:s,s:s,s:o,s:o}", "key", key, "label", label,
                                                "values", vals, "total", an_num(x, ok)));
        }
    }
    free(other);
    free(ord);
    static const char *const units[] = {"count", "contacts", "fen", "fen"};
    static const char *const mnames[] = {"count", "uniques", "sum", "avg"};
    static const char *const inames[] = {"day", "week", "month"};
    *out = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:b}", "event", p.ev.name, "measure",
                     mnames[p.measure], "interval", inames[q.interval], "unit", units[p.measure],
                     "periods", periods, "series", series, "truncated", has_other);
done:
    for (int t = 0; t < AN_THREADS; t++) {
        an_groups_free(&ctx[t].g);
        free(ctx[t].dim_row);
        free(ctx[t].seen_k);
        free(ctx[t].seen_p);
    }
    json_decref(names);
    an_cgroups_free(&cg);
    an_q_done(&q);
    sy_arena_destroy(a);
    return rc;
}
