/* an_retention.c — cohorts by the first time a contact did the start event,
 * and who came back in each following period. One pass over contacts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analytics_int.h"
#include "base/bits.h"
#include "base/json.h"

#define MAX_PERIODS 90

typedef struct rplan {
    an_step start, ret;
    int interval; /* AN_DAY or AN_WEEK */
    int periods;
    int on_or_after;
    an_cal cal;       /* days [from, to + periods * period length] */
    int n_cohorts;    /* periods of the cohort range */
    int64_t start_ms; /* the first day's start: earlier start events make no cohort */
    sy_engine *eng;
} rplan;

typedef struct rctx {
    const rplan *p;
    uint64_t *size;  /* n_cohorts */
    uint64_t *cells; /* n_cohorts × periods */
} rctx;

static int step_match(const rplan *p, const an_step *s, const sy_engine_rec *r) {
    if (s->type >= 0 ? r->type != s->type : (s->type == -2 || !AN_ACTIVE(r->flags))) return 0;
    return !s->n_filters || an_filters_match(p->eng, r->pos, s->filters, s->n_filters);
}

static void retention_contact(void *vctx, uint32_t contact, const sy_engine_rec *r, size_t n) {
    (void)contact;
    rctx *c = vctx;
    const rplan *p = c->p;
    const an_cal *cal = &p->cal;
    size_t i = 0;
    /* the cohort: the first start event ever (so a contact belongs to one cohort) */
    while (i < n && !step_match(p, &p->start, &r[i]))
        i++;
    if (i == n || r[i].ts < p->start_ms) return;
    int d0 = an_cal_day(cal, r[i].ts);
    if (d0 >= cal->n_days) return;
    int cohort = cal->period_of_day[d0];
    if (cohort >= p->n_cohorts) return;
    uint64_t seen[(MAX_PERIODS + 63) / 64] = {0};
    int last = -1; /* on_or_after: the latest period with a return */
    for (size_t k = i; k < n; k++) {
        if (!step_match(p, &p->ret, &r[k])) continue;
        int d = an_cal_day(cal, r[k].ts);
        if (d >= cal->n_days) {
            /* after the table's last period: "on or after" every N */
            if (p->on_or_after) last = p->periods - 1;
            break;
        }
        int off = cal->period_of_day[d] - cohort;
        if (off >= p->periods && p->on_or_after) off = p->periods - 1; /* "or after" */
        if (off < 0 || off >= p->periods) continue;
        seen[off >> 6] |= 1ull << (off & 63);
        if (off > last) last = off;
    }
    c->size[cohort]++;
    uint64_t *row = c->cells + (size_t)cohort * (size_t)p->periods;
    if (p->on_or_after) {
        for (int k = 0; k <= last; k++)
            row[k]++;
    } else {
        for (int w = 0; w < (p->periods + 63) / 64; w++) {
            uint64_t b = seen[w];
            while (b) {
                row[w * 64 + __builtin_ctzll(b)]++;
                b &= b - 1;
            }
        }
    }
}

/* --- the same answer from per-day sets (return event "$active", exact) ---
 * A contact's first start event is activity, so it is active on its cohort
 * day at or after that event; every later period's activity comes after it.
 * Cell (c, N) is then |cohort c ∩ active in period c + N|. */

/* Daily cells from the engine's sets as bitmaps, block by block of 65,536
 * ids: cohort c is the set of contacts whose first start event falls on
 * day c, so cell (c, N) = |cohort c ∩ active on day c + N|, one AND and
 * population count per pair of bitmaps (8 KB each, in the cache across a
 * block's days), with no id extracted. */
typedef struct block_cells {
    const rplan *p;
    const sy_idset *only;
    int n_days;
    uint64_t *size;       /* n_cohorts */
    uint64_t *cells;      /* n_cohorts × periods */
    const uint64_t **coh; /* n_cohorts: this block's cohort bitmaps */
    uint64_t *cut;        /* n_cohorts × SY_BLOCK_WORDS: cohorts cut to the scope */
    uint64_t *scope;      /* SY_BLOCK_WORDS */
} block_cells;

static void block_cells_fn(void *vctx, uint32_t b, const uint64_t *const *active,
                           const uint64_t *const *first) {
    block_cells *w = vctx;
    const int nc = w->p->n_cohorts, periods = w->p->periods;
    const uint64_t *scope = w->only ? sy_idset_block(w->only, b, w->scope) : NULL;
    if (w->only && !scope) return;
    for (int c = 0; c < nc; c++) {
        const uint64_t *m = first[c];
        if (m && scope) {
            uint64_t *cut = w->cut + (size_t)c * SY_BLOCK_WORDS, any = 0;
            for (size_t i = 0; i < SY_BLOCK_WORDS; i++)
                any |= cut[i] = m[i] & scope[i];
            m = any ? cut : NULL;
        }
        w->coh[c] = m;
        if (m) w->size[c] += sy_bits_count(m, SY_BLOCK_WORDS);
    }
    for (int d = 0; d < w->n_days; d++) {
        if (!active[d]) continue;
        int lo = d - periods + 1 > 0 ? d - periods + 1 : 0, hi = d < nc - 1 ? d : nc - 1;
        for (int c = lo; c <= hi; c++)
            if (w->coh[c])
                w->cells[(size_t)c * (size_t)periods + (size_t)(d - c)] +=
                    sy_bits_and_count(active[d], w->coh[c], SY_BLOCK_WORDS);
    }
}

/* Returns 0, SY_E_UNSUPPORTED (merged contacts, or the engine cannot:
 * the caller's way) or SY_E_NOMEM. */
static int daily_by_blocks(sy_analytics *an, an_q *q, const rplan *p, uint64_t *size,
                           uint64_t *cells) {
    size_t n_cells = (size_t)p->n_cohorts * (size_t)p->periods;
    block_cells w[2];
    memset(w, 0, sizeof w);
    int rc = 0;
    for (int t = 0; t < 2 && rc == 0; t++) {
        w[t] = (block_cells){
            p,
            q->only,
            p->cal.n_days,
            calloc((size_t)p->n_cohorts, sizeof(uint64_t)),
            calloc(n_cells, sizeof(uint64_t)),
            calloc((size_t)p->n_cohorts, sizeof(uint64_t *)),
            q->only ? malloc((size_t)p->n_cohorts * SY_BLOCK_WORDS * sizeof(uint64_t)) : NULL,
            q->only ? malloc(SY_BLOCK_WORDS * sizeof(uint64_t)) : NULL};
        if (!w[t].size || !w[t].cells || !w[t].coh || (q->only && (!w[t].cut || !w[t].scope)))
            rc = SY_E_NOMEM;
    }
    if (rc == 0) {
        void *ctx[2] = {&w[0], &w[1]};
        rc = sy_engine_day_blocks(an->engine, q->tz, -1, p->cal.first, p->cal.n_days, p->start.type,
                                  p->cal.first, p->n_cohorts, block_cells_fn, ctx);
    }
    for (int t = 0; t < 2; t++) {
        for (int c = 0; rc == 0 && c < p->n_cohorts; c++)
            size[c] += w[t].size[c];
        for (size_t i = 0; rc == 0 && i < n_cells; i++)
            cells[i] += w[t].cells[i];
        free(w[t].size);
        free(w[t].cells);
        free(w[t].coh);
        free(w[t].cut);
        free(w[t].scope);
    }
    return rc;
}

/* Any interval, merged contacts too: each day's active members (the day's
 * set cut to the members, as arrays, or as sets when merges must be
 * applied) set one bit per (member, period offset), so that the days of one
 * period count a member once; the bits are then added to the cells. */
static int cells_by_bits(sy_analytics *an, an_q *q, const rplan *p, const uint32_t *ids,
                         const int16_t *cohort_of, size_t members, uint32_t max_id,
                         uint64_t *cells) {
    const an_cal *cal = &p->cal;
    int32_t *member_of = malloc(((size_t)max_id + 1) * sizeof *member_of);
    uint64_t(*bits)[2] = calloc(members ? members : 1, sizeof *bits);
    uint32_t **arr = calloc((size_t)cal->n_days, sizeof *arr);
    size_t *cnt = calloc((size_t)cal->n_days, sizeof *cnt);
    sy_idset *within = sy_idset_create(), **day = NULL;
    int rc = member_of && bits && arr && cnt && within ? 0 : SY_E_NOMEM;
    if (rc == 0) {
        memset(member_of, 0xff, ((size_t)max_id + 1) * sizeof *member_of); /* -1: none */
        for (size_t m = 0; m < members; m++)
            member_of[ids[m]] = (int32_t)m;
        sy_idset_add_many(within, ids, members); /* ids[0..members) ascend */
        rc = sy_engine_active_day_arrays(an->engine, q->tz, -1, cal->first, cal->n_days, within,
                                         arr, cnt);
    }
    if (rc == SY_E_UNSUPPORTED) { /* merged contacts: sets apply the merges */
        rc = 0;
        day = calloc((size_t)cal->n_days, sizeof *day);
        if (!day || sy_engine_active_day_sets(an->engine, q->tz, -1, cal->first, cal->n_days, day))
            rc = SY_E_NOMEM;
        for (int d = 0; rc == 0 && d < cal->n_days; d++) {
            cnt[d] = (size_t)sy_idset_count(day[d]);
            if (!(arr[d] = malloc((cnt[d] ? cnt[d] : 1) * sizeof *arr[d])))
                rc = SY_E_NOMEM;
            else
                sy_idset_to_array(day[d], arr[d]);
        }
    }
    for (int d = 0; rc == 0 && d < cal->n_days; d++) {
        int pk = cal->period_of_day[d];
        for (size_t i = 0; i < cnt[d]; i++) {
            uint32_t c = arr[d][i];
            if (c > max_id) break; /* ascending */
            int32_t mi = member_of[c];
            if (mi < 0) continue;
            int off = pk - cohort_of[mi];
            if (off >= 0 && off < p->periods) bits[mi][off >> 6] |= 1ull << (off & 63);
        }
    }
    for (size_t mi = 0; rc == 0 && mi < members; mi++)
        for (int w = 0; w < 2; w++) {
            uint64_t b = bits[mi][w];
            while (b) {
                cells[(size_t)cohort_of[mi] * (size_t)p->periods +
                      (size_t)(w * 64 + __builtin_ctzll(b))]++;
                b &= b - 1;
            }
        }
    for (int d = 0; arr && d < cal->n_days; d++)
        free(arr[d]);
    for (int d = 0; day && d < cal->n_days; d++)
        sy_idset_destroy(day[d]);
    free(day);
    sy_idset_destroy(within);
    free(arr);
    free(cnt);
    free(member_of);
    free(bits);
    return rc ? SY_E_NOMEM : 0;
}

/* Returns 0, 1 (not answerable this way) or SY_E_NOMEM. */
static int retention_by_days(sy_analytics *an, an_q *q, const rplan *p, uint64_t *size,
                             uint64_t *cells) {
    const an_cal *cal = &p->cal;
    if (p->interval == AN_DAY) {
        int r = daily_by_blocks(an, q, p, size, cells);
        if (r != SY_E_UNSUPPORTED) return r;
    }
    uint32_t *ids = NULL;
    int64_t *times = NULL;
    size_t n = 0;
    int all_active = 0;
    /* members start in a cohort: the first times of the cohort range */
    int64_t lo = cal->start[0], hi = cal->start[cal->period_first[p->n_cohorts]];
    if (sy_engine_first_times(an->engine, q->tz, p->start.type, lo, hi, &ids, &times, &n,
                              &all_active))
        return SY_E_NOMEM;
    int rc = all_active ? 0 : 1; /* system start events: the scan answers */
    /* members: contacts whose first start event falls in a cohort, in scope */
    size_t members = 0;
    uint32_t max_id = 0;
    int16_t *cohort_of = rc == 0 ? malloc((n ? n : 1) * sizeof *cohort_of) : NULL;
    if (rc == 0 && !cohort_of) rc = SY_E_NOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int k = cal->period_of_day[an_cal_day(cal, times[i])];
        if (k >= p->n_cohorts) continue;
        if (q->only && !sy_idset_contains(q->only, ids[i])) continue;
        ids[members] = ids[i];
        cohort_of[members++] = (int16_t)k;
        size[k]++;
        if (ids[i] > max_id) max_id = ids[i];
    }
    if (rc == 0) rc = cells_by_bits(an, q, p, ids, cohort_of, members, max_id, cells);
    free(cohort_of);
    free(ids);
    free(times);
    return rc;
}

int an_retention(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of, json_t **out,
                 sy_err *e) {
    static const char *const keys[] = {"start_event",   "return_event",   "interval", "periods",
                                       "mode",          "from",           "to",       "segment_id",
                                       "start_filters", "return_filters", NULL};
    if (sy_json_only(body, keys, e)) return SY_E_INVALID;
    sy_arena *a = sy_arena_create();
    if (!a) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    an_q q;
    rplan p;
    memset(&p, 0, sizeof p);
    rctx ctx[AN_THREADS];
    memset(ctx, 0, sizeof ctx);
    int rc = an_q_parse(an, a, actor, body, as_of, AN_F_RANGE | AN_F_SEGMENT, &q, e);
    if (rc) {
        sy_arena_destroy(a);
        return rc;
    }
    const char *iv = json_string_value(json_object_get(body, "interval"));
    const char *mode = json_string_value(json_object_get(body, "mode"));
    json_t *per = json_object_get(body, "periods");
    json_t *ret = json_object_get(body, "return_event");
    if ((rc = an_step_parse(&q, json_object_get(body, "start_event"),
                            json_object_get(body, "start_filters"), "", 1, &p.start, e))) {
        if (strcmp(e->field, "event") == 0) snprintf(e->field, sizeof e->field, "start_event");
        if (strncmp(e->field, "filters", 7) == 0) {
            char tmp[sizeof e->field + 8];
            snprintf(tmp, sizeof tmp, "start_%s", e->field);
            memcpy(e->field, tmp, sizeof e->field - 1);
            e->field[sizeof e->field - 1] = 0;
        }
        goto done;
    }
    json_t *any = json_string("$active");
    rc = an_step_parse(&q, ret ? ret : any, json_object_get(body, "return_filters"), "", 1, &p.ret,
                       e);
    json_decref(any);
    if (rc) {
        if (strcmp(e->field, "event") == 0) snprintf(e->field, sizeof e->field, "return_event");
        if (strncmp(e->field, "filters", 7) == 0) {
            char tmp[sizeof e->field + 8];
            snprintf(tmp, sizeof tmp, "return_%s", e->field);
            memcpy(e->field, tmp, sizeof e->field - 1);
            e->field[sizeof e->field - 1] = 0;
        }
        goto done;
    }
    if (json_object_get(body, "interval") && (!iv || (strcmp(iv, "day") && strcmp(iv, "week")))) {
        rc = sy_err_field(e, SY_E_INVALID, "interval", "interval must be \"day\" or \"week\"");
        goto done;
    }
    p.interval = iv && strcmp(iv, "week") == 0 ? AN_WEEK : AN_DAY;
    if (json_object_get(body, "mode") &&
        (!mode || (strcmp(mode, "exact") && strcmp(mode, "on_or_after")))) {
        rc = sy_err_field(e, SY_E_INVALID, "mode", "mode must be \"exact\" or \"on_or_after\"");
        goto done;
    }
    p.on_or_after = mode && strcmp(mode, "on_or_after") == 0;
    p.periods = per ? (int)json_integer_value(per) : (p.interval == AN_WEEK ? 8 : 30);
    if (per && (!json_is_integer(per) || json_integer_value(per) < 1 ||
                json_integer_value(per) > MAX_PERIODS)) {
        rc = sy_err_field(e, SY_E_INVALID, "periods", "periods must be 1 to %d", MAX_PERIODS);
        goto done;
    }
    /* weeks are whole weeks: the cohort range starts on a Monday */
    int64_t from = q.from_day, to = q.to_day;
    if (p.interval == AN_WEEK) {
        from -= ((from + 3) % 7 + 7) % 7;
        to += 6 - ((to + 3) % 7 + 7) % 7;
    }
    int64_t plen = p.interval == AN_WEEK ? 7 : 1;
    int64_t last = to + (int64_t)p.periods * plen;
    if ((rc = an_cal_build(a, q.tz, from, last, p.interval, &p.cal, e))) goto done;
    p.n_cohorts = (int)((to - from + 1) / plen);
    p.start_ms = p.cal.start[0];
    p.eng = an->engine;
    void *ptrs[AN_THREADS];
    for (int t = 0; t < AN_THREADS; t++) {
        ctx[t].p = &p;
        ctx[t].size = calloc((size_t)p.n_cohorts, sizeof *ctx[t].size);
        ctx[t].cells = calloc((size_t)p.n_cohorts * (size_t)p.periods, sizeof *ctx[t].cells);
        if (!ctx[t].size || !ctx[t].cells) {
            rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
            goto done;
        }
        ptrs[t] = &ctx[t];
    }
    int fast = p.ret.type == -1 && !p.ret.n_filters && !p.on_or_after && p.start.type >= 0 &&
               !p.start.n_filters;
    if (fast) {
        rc = retention_by_days(an, &q, &p, ctx[0].size, ctx[0].cells);
        if (rc == 1) { /* a start event that is not activity: answer by scanning */
            fast = 0;
            rc = 0;
            memset(ctx[0].size, 0, (size_t)p.n_cohorts * sizeof *ctx[0].size);
            memset(ctx[0].cells, 0, (size_t)p.n_cohorts * (size_t)p.periods * sizeof *ctx[0].cells);
        } else if (rc) {
            rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
            goto done;
        }
    }
    if (!fast &&
        (rc = sy_engine_scan_contacts(an->engine, q.only, AN_THREADS, retention_contact, ptrs))) {
        rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        goto done;
    }
    for (int t = 1; t < AN_THREADS; t++) {
        for (int c = 0; c < p.n_cohorts; c++)
            ctx[0].size[c] += ctx[t].size[c];
        for (size_t k = 0; k < (size_t)p.n_cohorts * (size_t)p.periods; k++)
            ctx[0].cells[k] += ctx[t].cells[k];
    }
    /* a period that has not begun yet has no value (null), not zero */
    int today_idx = q.today < p.cal.first ? -1
                    : q.today - p.cal.first >= p.cal.n_days
                        ? p.cal.n_periods
                        : p.cal.period_of_day[q.today - p.cal.first];
    json_t *cohorts = json_array();
    double *sum = calloc((size_t)p.periods, sizeof *sum);
    uint64_t *den = calloc((size_t)p.periods, sizeof *den);
    for (int c = 0; c < p.n_cohorts && sum && den; c++) {
        json_t *vals = json_array();
        uint64_t size = ctx[0].size[c];
        for (int k = 0; k < p.periods; k++) {
            int begun = c + k <= today_idx;
            uint64_t v = ctx[0].cells[(size_t)c * (size_t)p.periods + (size_t)k];
            json_array_append_new(vals, begun ? json_integer((json_int_t)v) : json_null());
            if (begun && size) {
                sum[k] += (double)v;
                den[k] += size;
            }
        }
        json_array_append_new(cohorts, json_pack("{s:s,s:I,s:o}", "cohort", p.cal.label[c], "size",
                                                 (json_int_t)size, "values", vals));
    }
    json_t *avg = json_array();
    for (int k = 0; k < p.periods && sum && den; k++)
        json_array_append_new(avg, an_num(den[k] ? sum[k] / (double)den[k] : 0, den[k] > 0));
    free(sum);
    free(den);
    *out = json_pack("{s:s,s:i,s:s,s:o,s:o}", "interval", p.interval == AN_WEEK ? "week" : "day",
                     "periods", p.periods, "mode", p.on_or_after ? "on_or_after" : "exact",
                     "cohorts", cohorts, "average", avg);
done:
    for (int t = 0; t < AN_THREADS; t++) {
        free(ctx[t].size);
        free(ctx[t].cells);
    }
    an_q_done(&q);
    sy_arena_destroy(a);
    return rc;
}
