/* an_funnel.c — ordered funnels over each contact's events in time order.
 *
 * Loose funnels follow ClickHouse's windowFunnel (the bench checks siyu
 * against it; docs/metrics.md says where same-second ties differ): whole
 * seconds, a chain per step-1 event, each later step extending the chain of
 * the step before it when it comes no later than the chain's start +
 * window. Strict funnels need the steps to be consecutive activity events. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analytics_int.h"
#include "base/json.h"
#include "base/scratch.h"

int an_funnel_level(const int64_t *ts_ms, const uint16_t *match, size_t n, int n_steps,
                    int64_t window_ms, int strict, int *reach) {
    if (n_steps < 1 || n == 0) return 0;
    if (strict) {
        int best = 0;
        for (size_t i = 0; i < n; i++) {
            if (!(match[i] & 1)) continue;
            int lvl = 1;
            while (lvl < n_steps && i + (size_t)lvl < n && (match[i + lvl] & (1u << lvl)) &&
                   ts_ms[i + lvl] - ts_ms[i] <= window_ms)
                lvl++;
            if (lvl > best) {
                best = lvl;
                if (reach)
                    for (int k = 0; k < lvl; k++)
                        reach[k] = (int)(i + (size_t)k);
            }
            if (best == n_steps) break;
        }
        return best;
    }
    int64_t start[AN_MAX_STEPS];
    int set[AN_MAX_STEPS] = {0};
    /* rows as structs: a row is copied by assignment, a few moves, where a
     * loop or memcpy becomes a libc call per copy */
    typedef struct {
        int v[AN_MAX_STEPS];
    } row;
    row chain[AN_MAX_STEPS];
    /* the first chain to reach each level: what reach reports */
    row first[AN_MAX_STEPS];
    int64_t window_s = window_ms / 1000;
    size_t i = 0;
    while (i < n) {
        int64_t sec = an_floor_sec(ts_ms[i]);
        size_t j = i;
        uint16_t any = 0;
        int64_t end = (sec + 1) * 1000; /* the same second, without a division per event */
        while (j < n && ts_ms[j] < end)
            any |= match[j++];
        for (int k = 0; k < n_steps; k++) {
            if (!(any & (1u << k))) continue;
            for (size_t x = i; x < j; x++) {
                if (!(match[x] & (1u << k))) continue;
                if (k == 0) {
                    start[0] = sec;
                    if (!set[0]) first[0].v[0] = (int)x;
                    set[0] = 1;
                    chain[0].v[0] = (int)x;
                } else if (set[k - 1] && sec <= start[k - 1] + window_s) {
                    start[k] = start[k - 1];
                    chain[k] = chain[k - 1];
                    chain[k].v[k] = (int)x;
                    if (!set[k]) first[k] = chain[k];
                    set[k] = 1;
                    if (k + 1 == n_steps) {
                        if (reach) memcpy(reach, chain[k].v, (size_t)n_steps * sizeof *reach);
                        return n_steps;
                    }
                }
            }
        }
        i = j;
    }
    for (int k = n_steps; k > 0; k--)
        if (set[k - 1]) {
            if (reach) memcpy(reach, first[k - 1].v, (size_t)k * sizeof *reach);
            return k;
        }
    return 0;
}

/* --- the question --- */

typedef struct fplan {
    sy_engine *eng;
    an_step steps[AN_MAX_STEPS];
    int n_steps;
    int strict;
    int64_t window_ms;
    int64_t from_ms, to_ms;
    int bd;
    int bd_dim;
    const an_cgroups *cg;
    /* contacts wanted (funnel/contacts): level test */
    int want_step, want_dropped;
    /* steps matched by type alone (no filters), by event type; steps with
     * filters or "$active" are tested one by one */
    uint16_t *type_mask;
    size_t n_type_mask;
    uint16_t slow_steps; /* steps needing the per-event test */
    /* of those, the steps of an event type with property filters: the
     * per-type lists hold their candidates, each tested when a search or
     * a merge reaches it */
    uint16_t filtered;
    /* loose funnels over per-type lists: the distinct step types, step 1's
     * first, and the steps each one matches */
    int list_types[AN_MAX_STEPS];
    uint16_t list_mask[AN_MAX_STEPS];
    int n_lists;
    int step_list[AN_MAX_STEPS]; /* the list holding each step's type */
    int distinct;                /* list l holds exactly step l (no type in two steps) */
    /* the range is whole seconds from 0 on (dates always are): the lists'
     * seconds columns answer the searches */
    int by_secs;
    /* durations' histogram buckets: 2^dt_shift ms each, MEDIAN_BUCKETS of
     * them over [0, window + 1 s) (a chain's step follows the previous one
     * within the window; whole seconds: up to 999 ms more) */
    int dt_shift;
} fplan;

#define MEDIAN_BUCKETS 4096
_Static_assert(MEDIAN_BUCKETS == 1 << 12, "median_of's sub-buckets take 12 bits");

/* One extension of a chain to a step (windowFunnel's update of the step's
 * start time), for funnel_levels. */
typedef struct fext {
    int64_t sec, start; /* the event's second; its chain's start second */
    uint32_t ev;        /* the event: its index in its step's list */
    uint32_t back;      /* the extension of the step before that it extended */
} fext;

typedef struct fctx {
    const fplan *p;
    uint64_t reached[AN_MAX_STEPS];
    int64_t *dts[AN_MAX_STEPS];
    size_t n_dt[AN_MAX_STEPS], cap_dt[AN_MAX_STEPS];
    /* step s's durations counted by bucket (fplan.dt_shift) as they are
     * written: the median then reads them once, not twice */
    uint32_t *dt_hist; /* n_steps x MEDIAN_BUCKETS, from the scratch buffers */
    size_t dt_hist_bytes;
    an_groups groups;
    sy_idset *who;
    int64_t *ts;
    uint16_t *m;
    uint32_t *pos;
    size_t cap;
    fext *ext; /* funnel_levels' extensions */
    size_t cap_ext;
    int oom;
} fctx;

static inline size_t dt_bucket(int shift, int64_t dt) {
    size_t b = (size_t)(dt >> shift);
    return b < MEDIAN_BUCKETS - 1 ? b : MEDIAN_BUCKETS - 1;
}

static int grow_bufs(fctx *c, size_t need) {
    if (need <= c->cap) return 0;
    size_t cap = c->cap ? c->cap : 256;
    while (cap < need)
        cap *= 2;
    int64_t *t = realloc(c->ts, cap * sizeof *t);
    if (t) c->ts = t;
    uint16_t *m = realloc(c->m, cap * sizeof *m);
    if (m) c->m = m;
    uint32_t *p = realloc(c->pos, cap * sizeof *p);
    if (p) c->pos = p;
    if (!t || !m || !p) return -1;
    c->cap = cap;
    return 0;
}

/* Room in c->dts[s] for need more durations: at least double, from the
 * scratch buffers (kept mapped between questions: fresh pages cost a fault
 * each, more than the durations written to them). -1 when out of memory. */
static int dts_room(fctx *c, int s, size_t need) {
    if (c->cap_dt[s] - c->n_dt[s] >= need) return 0;
    size_t want = c->n_dt[s] + need > 2 * c->cap_dt[s] ? c->n_dt[s] + need : 2 * c->cap_dt[s];
    if (want < 1024) want = 1024;
    size_t bytes;
    int64_t *d = sy_scratch_take(want * sizeof *d, &bytes);
    if (!d) return -1;
    if (c->n_dt[s]) memcpy(d, c->dts[s], c->n_dt[s] * sizeof *d);
    sy_scratch_give(c->dts[s], c->cap_dt[s] * sizeof *d);
    c->dts[s] = d;
    c->cap_dt[s] = bytes / sizeof *d;
    return 0;
}

/* Whether the event at pos passes step k's filters (none: it does). */
static inline int step_passes(const fplan *p, int k, uint32_t pos) {
    const an_step *st = &p->steps[k];
    return !st->n_filters || an_filters_match(p->eng, pos, st->filters, st->n_filters);
}

/* funnel/contacts: whether a contact at level lvl is one of those asked for. */
static inline int wanted(const fplan *p, int lvl) {
    return p->want_dropped ? lvl == p->want_step - 1 : lvl >= p->want_step;
}

/* Adds contact at level lvl (>= 1), whose chain starts with the event at
 * start_pos, to its breakdown rows: that event's dimension, or the
 * contact's groups. -1 (c->oom set) when out of memory. */
static int add_to_groups(fctx *c, uint32_t contact, uint32_t start_pos, int lvl) {
    const fplan *p = c->p;
    int64_t keys[10];
    int nk = 1;
    if (p->bd == AN_BD_DIM)
        keys[0] = sy_engine_dim_unlocked(p->eng, start_pos, p->bd_dim);
    else
        nk = an_cgroups_of(p->cg, contact, keys);
    for (int g = 0; g < nk; g++) {
        int64_t *row = an_groups_row(&c->groups, keys[g]);
        if (!row) {
            c->oom = 1;
            return -1;
        }
        for (int s = 0; s < lvl; s++)
            row[s]++;
    }
    return 0;
}

static inline uint16_t step_mask(const fplan *p, const sy_engine_rec *r) {
    uint16_t m = r->type < p->n_type_mask ? p->type_mask[r->type] : 0;
    for (int s = 0; p->slow_steps && s < p->n_steps; s++) {
        if (!(p->slow_steps & (1u << s))) continue;
        const an_step *st = &p->steps[s];
        if (st->type >= 0 ? r->type != st->type : (st->type == -2 || !AN_ACTIVE(r->flags)))
            continue;
        if (!step_passes(p, s, r->pos)) continue;
        m |= (uint16_t)(1u << s);
    }
    return m;
}

/* Adds one contact's level (and its chain's times) to the accumulators. */
static void funnel_count(fctx *c, uint32_t contact, int lvl, const int *reach, const int64_t *tsv,
                         const uint32_t *posv) {
    const fplan *p = c->p;

    if (c->who) {
        if (wanted(p, lvl)) sy_idset_add(c->who, contact);
        return;
    }
    if (lvl == 0) return;
    for (int s = 0; s < lvl; s++) {
        c->reached[s]++;
        if (s == 0) continue;
        if (c->n_dt[s] == c->cap_dt[s] && dts_room(c, s, 1)) {
            c->oom = 1;
            return;
        }
        /* loose funnels order by whole seconds: a step may come a few ms
         * before the previous one within the same second; that counts as 0 */
        int64_t dt = tsv[reach[s]] - tsv[reach[s - 1]];
        dt = dt > 0 ? dt : 0;
        c->dts[s][c->n_dt[s]++] = dt;
        c->dt_hist[(size_t)s * MEDIAN_BUCKETS + dt_bucket(p->dt_shift, dt)]++;
    }
    if (p->bd != AN_BD_NONE) add_to_groups(c, contact, posv[reach[0]], lvl);
}

static void funnel_contact(void *vctx, uint32_t contact, const sy_engine_rec *r, size_t n) {
    fctx *c = vctx;
    const fplan *p = c->p;
    if (c->oom) return;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].ts < p->from_ms) continue;
        if (r[i].ts >= p->to_ms) break;
        uint16_t m = step_mask(p, &r[i]);
        /* loose order needs only step events; strict order every activity */
        if (!m && (!p->strict || !AN_ACTIVE(r[i].flags))) continue;
        if (k == c->cap && grow_bufs(c, k + 1)) {
            c->oom = 1;
            return;
        }
        c->ts[k] = r[i].ts;
        c->m[k] = m;
        c->pos[k] = r[i].pos;
        k++;
    }
    if (k == 0) return;
    int reach[AN_MAX_STEPS];
    int lvl = an_funnel_level(c->ts, c->m, k, p->n_steps, p->window_ms, p->strict, reach);
    funnel_count(c, contact, lvl, reach, c->ts, c->pos);
}

/* The first index of v[0..n) whose time is >= ts (v is in time order).
 * Most calls fall before the first event or after the last one; the rest
 * search without branches (a contact's lists are short and the branches
 * unpredictable). */
static inline __attribute__((always_inline)) size_t tev_lower(const sy_engine_tev *v, size_t n,
                                                              int64_t ts) {
    if (n == 0 || v[0].ts >= ts) return 0;
    if (v[n - 1].ts < ts) return n;
    const sy_engine_tev *base = v;
    while (n > 1) {
        size_t half = n / 2;
        base = base[half].ts < ts ? base + half : base;
        n -= half;
    }
    return (size_t)(base - v) + (base->ts < ts);
}

int an_funnel_times_only = 0; /* see analytics_int.h */

/* tev_lower for whole seconds: the first index of v[0..n) >= s (ascending). */
static inline __attribute__((always_inline)) size_t sec_lower(const uint32_t *v, size_t n,
                                                              int64_t s) {
    if (n == 0 || (int64_t)v[0] >= s) return 0;
    if ((int64_t)v[n - 1] < s) return n;
    const uint32_t *base = v;
    while (n > 1) {
        size_t half = n / 2;
        base = (int64_t)base[half] < s ? base + half : base;
        n -= half;
    }
    return (size_t)(base - v) + ((int64_t)*base < s);
}

/* A contact with one step-1 event in range, steps of distinct types (list
 * l holds step l), step 1 without filters, times >= 0: an_funnel_level's
 * answer without merging. (Below, a step's events are those of its list
 * that pass its filters, if it has any.)
 * With one start, start[0] never moves and an event of step k extends a
 * chain iff some step k-1 event extended one before it was processed and
 * it is within the window; within a second every step k-1 event is
 * processed before any step k event. So:
 *  - the first extension of step k, f[k], is the first event of list k in
 *    a second >= f[k-1]'s (and <= start + window); the level is how many
 *    exist;
 *  - the chain reported (the chain completing the funnel, or the first to
 *    reach the level) ends with f[level-1], and each earlier link is the
 *    latest extension processed before the next link: the last event of
 *    its list in a second <= the next link's.
 * test_analytics checks both against plain loops. */
/* The searches of funnel_single_start read the seconds columns when given
 * (every bound is then a whole second: ts >= b iff ts / 1000 >= b / 1000)
 * and the times otherwise. */
#define SS_LOWER(k, b)                                                                             \
    (secs ? sec_lower(secs[k].sec, counts[k], (b) / 1000) : tev_lower(lists[k], counts[k], (b)))
#define SS_SEC(k, i) (secs ? (int64_t)secs[k].sec[i] : lists[k][i].ts / 1000)
/* step k's filters (list k holds step k) pass on its event i */
#define SS_OK(k, i) step_passes(p, k, lists[k][i].pos)

static inline __attribute__((always_inline)) void
funnel_single_start(fctx *c, uint32_t contact, const sy_engine_tev *const *lists,
                    const sy_engine_tsec *secs, const size_t *counts, size_t first, int n) {
    const fplan *p = c->p;
    int64_t s0 = SS_SEC(0, first);
    /* times of the seconds <= s0 + window, before to */
    int64_t stop = (s0 + p->window_ms / 1000 + 1) * 1000;
    if (stop > p->to_ms) stop = p->to_ms;
    size_t f[AN_MAX_STEPS];
    f[0] = first;
    int lvl = 1;
    int64_t prev = s0;
    for (int k = 1; k < n; k++) {
        int64_t lo = prev * 1000 > p->from_ms ? prev * 1000 : p->from_ms;
        size_t i = SS_LOWER(k, lo);
        while (i < counts[k] && (secs ? (int64_t)secs[k].sec[i] * 1000 : lists[k][i].ts) < stop &&
               !SS_OK(k, i))
            i++;
        if (i >= counts[k] || (secs ? (int64_t)secs[k].sec[i] * 1000 : lists[k][i].ts) >= stop)
            break;
        f[k] = i;
        prev = SS_SEC(k, i);
        lvl++;
    }
    size_t link[AN_MAX_STEPS];
    link[lvl - 1] = f[lvl - 1];
    for (int k = lvl - 2; k >= 1; k--) {
        int64_t next = (SS_SEC(k + 1, link[k + 1]) + 1) * 1000;
        link[k] = SS_LOWER(k, next < stop ? next : stop) - 1;
        /* the last event passing the step's filters: f[k] does, at worst */
        while (link[k] > f[k] && !SS_OK(k, link[k]))
            link[k]--;
    }
    link[0] = first;
    int64_t ts[AN_MAX_STEPS];
    uint32_t pos[AN_MAX_STEPS];
    int reach[AN_MAX_STEPS];
    /* the positions only for a breakdown by an event's dimension: reading
     * lists[] costs a cache miss per link */
    int want_pos = !secs || p->bd == AN_BD_DIM;
    for (int k = 0; k < lvl; k++) {
        size_t i = link[k];
        ts[k] = secs ? (int64_t)secs[k].sec[i] * 1000 + secs[k].ms[i] : lists[k][i].ts;
        pos[k] = want_pos ? lists[k][i].pos : 0;
        reach[k] = k;
    }
    funnel_count(c, contact, lvl, reach, ts, pos);
}
#undef SS_LOWER
#undef SS_SEC
#undef SS_OK

/* A contact with several starts (loose order): an_funnel_level's
 * answer step by step, without merging its lists. windowFunnel's state for
 * step k, the start of the chain that reached k most recently, only grows:
 * step 1's is the latest start, and an extension copies step k-1's. So
 * step k's extensions are, in list order, its events x such that step k-1
 * has an extension in a second <= x's (within a second every step k-1 pair
 * is processed first) and the latest of those started no more than the
 * window before x's second; x extends that one. The level is the deepest
 * step with an extension; the chain reported is that step's first
 * extension (the first completion, or the first chain to reach the level,
 * as an_funnel_level reports) and the extensions it extended, back to its
 * start. Returns the level and fills ts[0..level) and, for a breakdown by an
 * event's dimension or without secs, pos[0..level) with that chain's
 * events; -1 (c->oom set) when out of memory. The caller counts it.
 * test_analytics checks it against plain loops. */
static int funnel_levels(fctx *c, const sy_engine_tev *const *lists, const sy_engine_tsec *secs,
                         const size_t *counts, int64_t *ts, uint32_t *pos) {
    const fplan *p = c->p;
    const int64_t wsec = p->window_ms / 1000;
#define LV_SEC(l, i) (secs ? (int64_t)secs[l].sec[i] : an_floor_sec(lists[l][i].ts))
    /* each list's events in range, [at, end); from the seconds columns
     * when given (reading lists[] costs a cache miss per contact and list) */
    size_t at[SY_TYPELISTS_MAX], end[SY_TYPELISTS_MAX], total = 0;
    for (int l = 0; l < p->n_lists; l++) {
        if (secs) {
            const uint32_t *v = secs[l].sec;
            at[l] = sec_lower(v, counts[l], p->from_ms / 1000);
            end[l] = at[l] + sec_lower(v + at[l], counts[l] - at[l], p->to_ms / 1000);
        } else {
            at[l] = tev_lower(lists[l], counts[l], p->from_ms);
            end[l] = at[l] + tev_lower(lists[l] + at[l], counts[l] - at[l], p->to_ms);
        }
    }
    for (int k = 0; k < p->n_steps; k++)
        total += end[p->step_list[k]] - at[p->step_list[k]];
    if (total > c->cap_ext) {
        fext *x = realloc(c->ext, total * 2 * sizeof *x);
        if (!x) {
            c->oom = 1;
            return -1;
        }
        c->ext = x;
        c->cap_ext = total * 2;
    }
    fext *u = c->ext;
    size_t lv[AN_MAX_STEPS + 1]; /* step k's extensions: u[lv[k]..lv[k + 1]) */
    size_t nu = 0;
    lv[0] = 0;
    /* Without filters on step 1 its extensions are its events in range,
     * read where they are: step 2 finds the latest start no later than
     * each of its events (a contact may have many starts and few of them
     * lead anywhere); with filters they are listed first. */
    const int direct = !(p->filtered & 1);
    if (direct) {
        if (at[0] == end[0]) return 0;
    } else {
        for (size_t i = at[0]; i < end[0]; i++) {
            if (!step_passes(p, 0, lists[0][i].pos)) continue;
            int64_t sec = LV_SEC(0, i);
            u[nu++] = (fext){sec, sec, (uint32_t)i, 0};
        }
        if (nu == 0) return 0; /* no start passes step 1's filters */
    }
    lv[1] = nu;
    int lvl = 1;
    for (int k = 1; k < p->n_steps; k++) {
        const int l = p->step_list[k];
        if (k == 1 && direct) {
            const int64_t last = LV_SEC(0, end[0] - 1) + wsec;
            size_t i =
                at[l] +
                (secs ? sec_lower(secs[l].sec + at[l], end[l] - at[l], secs[0].sec[at[0]])
                      : tev_lower(lists[l] + at[l], end[l] - at[l], LV_SEC(0, at[0]) * 1000));
            size_t j = at[0]; /* the starts in seconds <= sec: [at[0], j) */
            /* as many step-2 events as starts or more (a type in both
             * steps): j moves one start at a time */
            const int dense = end[l] - i >= end[0] - at[0];
            for (; i < end[l]; i++) {
                int64_t sec = LV_SEC(l, i);
                if (sec > last) break;
                if (dense) {
                    while (j < end[0] && LV_SEC(0, j) <= sec)
                        j++;
                } else {
                    /* j moves on from the previous event's: galloping,
                     * then a binary search (a step-2 event usually lies a
                     * few starts on, but after many when step 2 is rarer) */
                    size_t lo = j, hi = end[0];
                    for (size_t step = 1;; step *= 2) {
                        size_t probe = lo + step - 1;
                        if (probe >= end[0]) break;
                        if (LV_SEC(0, probe) > sec) {
                            hi = probe;
                            break;
                        }
                        lo = probe + 1;
                    }
                    while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (LV_SEC(0, mid) <= sec)
                            lo = mid + 1;
                        else
                            hi = mid;
                    }
                    j = lo;
                }
                int64_t start = LV_SEC(0, j - 1);
                if (sec > start + wsec) continue;
                if ((p->filtered & 2) && !step_passes(p, 1, lists[l][i].pos)) continue;
                u[nu++] = (fext){sec, start, (uint32_t)i, (uint32_t)(j - 1)};
            }
            if (nu == lv[1]) break;
            lv[2] = nu;
            lvl = 2;
            continue;
        }
        const size_t qb = lv[k - 1], pb = lv[k]; /* step k-1's extensions: [qb, pb) */
        /* none before the first extension's second, none after the latest
         * start's window */
        const int64_t first = u[qb].sec, last = u[pb - 1].start + wsec;
        size_t i = at[l] + (secs ? sec_lower(secs[l].sec + at[l], end[l] - at[l], first)
                                 : tev_lower(lists[l] + at[l], end[l] - at[l], first * 1000));
        size_t j = qb; /* step k-1's extensions in seconds <= x's: [qb, j) */
        for (; i < end[l]; i++) {
            int64_t sec = LV_SEC(l, i);
            if (sec > last) break;
            while (j < pb && u[j].sec <= sec)
                j++;
            if (sec > u[j - 1].start + wsec) continue;
            if (((p->filtered >> k) & 1) && !step_passes(p, k, lists[l][i].pos)) continue;
            u[nu++] = (fext){sec, u[j - 1].start, (uint32_t)i, (uint32_t)(j - 1)};
        }
        if (nu == pb) break;
        lv[k + 1] = nu;
        lvl = k + 1;
    }
#undef LV_SEC
    /* the positions only for a breakdown by an event's dimension */
    const int want_pos = !secs || p->bd == AN_BD_DIM;
    /* (step 1's first extension, when read directly, is its first event) */
    size_t x = lvl == 1 && direct ? at[0] : lv[lvl - 1];
    for (int k = lvl - 1; k >= 0; k--) {
        const int l = p->step_list[k];
        uint32_t i = (uint32_t)x; /* step 1 read directly: x is its event */
        if (k > 0 || !direct) {
            i = u[x].ev;
            x = u[x].back;
        }
        ts[k] = secs ? (int64_t)secs[l].sec[i] * 1000 + secs[l].ms[i] : lists[l][i].ts;
        pos[k] = want_pos ? lists[l][i].pos : 0;
    }
    return lvl;
}

/* A contact's step events from the per-type lists (loose order): the level
 * of a contact without a step-2 event, or with one start, found directly;
 * the others' by funnel_levels. The shortcuts that take a list's events as
 * its steps' own are for an unfiltered step 1. */
static void funnel_lists(void *vctx, uint32_t contact, const sy_engine_tev *const *lists,
                         const sy_engine_tsec *secs, const size_t *counts, int n) {
    fctx *c = vctx;
    const fplan *p = c->p;
    if (c->oom) return;
    if (!p->by_secs) secs = NULL;
    /* the first step-1 event in range, and whether it is the only one */
    size_t a0;
    int started, single;
    if (secs) {
        int64_t from_s = p->from_ms / 1000, to_s = p->to_ms / 1000;
        a0 = sec_lower(secs[0].sec, counts[0], from_s);
        started = a0 < counts[0] && secs[0].sec[a0] < to_s;
        single = started && (a0 + 1 == counts[0] || secs[0].sec[a0 + 1] >= to_s);
    } else {
        a0 = tev_lower(lists[0], counts[0], p->from_ms);
        started = a0 < counts[0] && lists[0][a0].ts < p->to_ms;
        single = started && (a0 + 1 == counts[0] || lists[0][a0 + 1].ts >= p->to_ms);
    }
    if (p->step_list[1] > 0 && counts[p->step_list[1]] == 0 && !(p->filtered & 1)) {
        /* no step-2 event at all (a third of contacts or more): the level is
         * 1 at most, reached by the first step-1 event in range */
        int reach[AN_MAX_STEPS] = {0};
        if (started)
            funnel_count(c, contact, 1, reach, &lists[0][a0].ts, &lists[0][a0].pos);
        else
            funnel_count(c, contact, 0, NULL, NULL, NULL);
        return;
    }
    if (p->distinct && !(p->filtered & 1) && p->from_ms >= 0 && single) {
        funnel_single_start(c, contact, lists, secs, counts, a0, n);
        return;
    }
    /* without a start in range the level is 0, which counts nowhere */
    if (!started) return;
    int64_t ts[AN_MAX_STEPS];
    uint32_t pos[AN_MAX_STEPS];
    int lvl = funnel_levels(c, lists, secs, counts, ts, pos);
    if (lvl <= 0) return;
    int reach[AN_MAX_STEPS];
    for (int k = 0; k < lvl; k++)
        reach[k] = k;
    funnel_count(c, contact, lvl, reach, ts, pos);
}

/* Contact id's views of the packed lists, as the per-contact callback gets
 * them. */
static void views_of(const sy_engine_tcol *col, int n, uint32_t id, const sy_engine_tev **lists,
                     sy_engine_tsec *secs, size_t *counts) {
    for (int k = 0; k < n; k++) {
        const sy_engine_tcol *ck = &col[k];
        uint32_t x = id < ck->n_ids ? ck->off[id] : 0, y = id < ck->n_ids ? ck->off[id + 1] : 0;
        lists[k] = ck->ev + x;
        secs[k] = (sy_engine_tsec){ck->sec + x, ck->ms + x};
        counts[k] = y - x;
    }
}

/* funnel_columns for the commonest questions: loose order (a filtered
 * step searches on to its first passing event, and back to its last, as
 * funnel_single_start does), a range of whole seconds, the durations'
 * room taken unless listing contacts. funnel_single_start and
 * funnel_count written out on the columns (no per-contact views, no
 * call); a contact with several starts in range goes through
 * funnel_levels. Compiled five times (funnel_plain…): the constant flags
 * leave out what a question does not need; with the filter tests in it,
 * the unfiltered funnel's loop cost 1-2 ms more of its 17.
 *   any: some step may have filters;
 *   grouped: a breakdown (add_to_groups);
 *   who: funnel/contacts, the contacts at the level asked for (wanted),
 *        no durations;
 *   shared: an event type in two steps (list p->step_list[k] holds step
 *        k; otherwise list k does). */
static inline __attribute__((always_inline)) void plain_loop(fctx *c, uint32_t lo, uint32_t end,
                                                             const sy_engine_tcol *col, int n,
                                                             const int any, const int grouped,
                                                             const int who, const int shared) {
    const fplan *p = c->p;
    /* step k's list: col[k], or with a type in two steps the one of its
     * type (the constant flag keeps the distinct copies' indexing as it
     * was); ns steps over n lists */
    const int ns = shared ? p->n_steps : n;
#define SC(k) (&col[shared ? p->step_list[k] : (k)])
    const uint16_t filtered = any ? p->filtered : 0;
    const int64_t from_s = p->from_ms / 1000, to_s = p->to_ms / 1000, wsec = p->window_ms / 1000;
    uint32_t *const hist = c->dt_hist;
    const int shift = p->dt_shift;
    const sy_engine_tcol *c0 = &col[0], *c1 = SC(1);
    /* the counters in locals: through c they could alias the durations,
     * and every increment would go to memory */
    uint64_t reached[AN_MAX_STEPS];
    uint64_t at_level[AN_MAX_STEPS + 1] = {0}; /* one-start contacts by level */
    int64_t *dts[AN_MAX_STEPS];
    size_t nd[AN_MAX_STEPS];
    for (int k = 0; k < ns; k++)
        reached[k] = c->reached[k], dts[k] = c->dts[k], nd[k] = c->n_dt[k];
    /* Contacts by the lists' bitmaps of who has events. When the range
     * holds every step-1 event (min/max seconds, a zone map), a contact
     * with a step-1 event and none of step 2 is at level 1 without a look
     * at its events: those are counted 64 at a time (unless step 1 has
     * filters: its events are then not all starts). */
    const int all_in = !grouped && !who && !(filtered & 1) && c0->min_sec <= c0->max_sec &&
                       from_s <= (int64_t)c0->min_sec && to_s > (int64_t)c0->max_sec;
    const uint32_t w1 = (c1->n_ids + 63) / 64;
    for (uint32_t w = lo / 64; w <= (end - 1) / 64; w++) {
        uint64_t m0 = c0->has[w], m1 = w < w1 ? c1->has[w] : 0;
        if ((uint64_t)w * 64 < lo) m0 &= ~0ull << (lo - w * 64);
        if ((uint64_t)w * 64 + 64 > end) m0 &= ~0ull >> (64 - (end - w * 64));
        uint64_t visit = m0;
        if (all_in) {
            reached[0] += (uint64_t)__builtin_popcountll(m0 & ~m1);
            visit = m0 & m1;
        }
        for (; visit; visit &= visit - 1) {
            const uint32_t id = w * 64 + (uint32_t)__builtin_ctzll(visit);
            uint32_t o = c0->off[id], e = c0->off[id + 1];
            uint32_t a = o + (uint32_t)sec_lower(c0->sec + o, e - o, from_s);
            if (filtered & 1) /* the first start passing step 1's filters */
                while (a < e && c0->sec[a] < to_s && !step_passes(p, 0, c0->ev[a].pos))
                    a++;
            if (a == e || c0->sec[a] >= to_s) continue; /* level 0 */
            if (!((m1 >> (id & 63)) & 1)) {
                reached[0]++; /* level 1: no step-2 event */
                if (grouped && add_to_groups(c, id, c0->ev[a].pos, 1)) goto out;
                if (who && wanted(p, 1)) sy_idset_add(c->who, id);
                continue;
            }
            /* another step-1 event in range (passing or not): step by step
             * (the durations' room holds theirs too: one per step at most,
             * and only with a step-2 event) */
            if (a + 1 < e && c0->sec[a + 1] < to_s) {
                const sy_engine_tev *lists[SY_TYPELISTS_MAX];
                sy_engine_tsec secs[SY_TYPELISTS_MAX];
                size_t counts[SY_TYPELISTS_MAX];
                int64_t ts[AN_MAX_STEPS];
                uint32_t pos[AN_MAX_STEPS];
                views_of(col, n, id, lists, secs, counts);
                const int lvl = funnel_levels(c, lists, secs, counts, ts, pos);
                if (lvl < 0) goto out;
                if (lvl == 0) continue;
                at_level[lvl]++;
                if (grouped && add_to_groups(c, id, pos[0], lvl)) goto out;
                if (who) {
                    if (wanted(p, lvl)) sy_idset_add(c->who, id);
                    continue;
                }
                for (int k = 1; k < lvl; k++) {
                    int64_t dt = ts[k] - ts[k - 1] > 0 ? ts[k] - ts[k - 1] : 0;
                    dts[k][nd[k]++] = dt;
                    hist[(size_t)k * MEDIAN_BUCKETS + dt_bucket(shift, dt)]++;
                }
                continue;
            }
            /* one start: as funnel_single_start */
            const int64_t s0 = c0->sec[a];
            const int64_t stop = s0 + wsec + 1 < to_s ? s0 + wsec + 1 : to_s;
            uint32_t f[AN_MAX_STEPS], ko[AN_MAX_STEPS], kn[AN_MAX_STEPS];
            f[0] = a;
            int lvl = 1;
            int64_t prev = s0;
            for (int k = 1; k < ns; k++) {
                const sy_engine_tcol *ck = SC(k);
                uint32_t x = id < ck->n_ids ? ck->off[id] : 0,
                         y = id < ck->n_ids ? ck->off[id + 1] : 0;
                ko[k] = x;
                kn[k] = y - x;
                uint32_t i =
                    x + (uint32_t)sec_lower(ck->sec + x, y - x, prev > from_s ? prev : from_s);
                if (filtered & (1u << k))
                    while (i < y && ck->sec[i] < stop && !step_passes(p, k, ck->ev[i].pos))
                        i++;
                if (i == y || ck->sec[i] >= stop) break;
                f[k] = i;
                prev = ck->sec[i];
                lvl++;
            }
            /* The chain, backwards from the last step reached: each link
             * the last event of its step in a second no later than the
             * next link's, and each step's duration from the link before.
             * One loop whose length the level decides, not two: its exit
             * is the branch the machine mispredicts. */
            at_level[lvl]++;
            if (grouped && add_to_groups(c, id, c0->ev[a].pos, lvl)) goto out;
            if (who) {
                if (wanted(p, lvl)) sy_idset_add(c->who, id);
                continue;
            }
            if (lvl == 1) continue;
            int k = lvl - 1;
            uint32_t li = f[k];
            int64_t tk = (int64_t)SC(k)->sec[li] * 1000 + SC(k)->ms[li];
            for (; k >= 2; k--) {
                const sy_engine_tcol *cp = SC(k - 1);
                int64_t next = (int64_t)SC(k)->sec[li] + 1;
                uint32_t lp =
                    ko[k - 1] +
                    (uint32_t)sec_lower(cp->sec + ko[k - 1], kn[k - 1], next < stop ? next : stop) -
                    1;
                if (filtered & (1u << (k - 1)))
                    while (lp > f[k - 1] && !step_passes(p, k - 1, cp->ev[lp].pos))
                        lp--;
                int64_t tp = (int64_t)cp->sec[lp] * 1000 + cp->ms[lp];
                int64_t dt = tk - tp > 0 ? tk - tp : 0;
                dts[k][nd[k]++] = dt;
                hist[(size_t)k * MEDIAN_BUCKETS + dt_bucket(shift, dt)]++;
                tk = tp;
                li = lp;
            }
            int64_t dt = tk - (s0 * 1000 + c0->ms[a]);
            dt = dt > 0 ? dt : 0;
            dts[1][nd[1]++] = dt;
            hist[MEDIAN_BUCKETS + dt_bucket(shift, dt)]++;
        }
    }
out:
    /* a contact at level l reached steps 1..l */
    uint64_t above = 0;
    for (int k = ns - 1; k >= 0; k--) {
        above += at_level[k + 1];
        c->reached[k] = reached[k] + above;
        c->n_dt[k] = nd[k];
    }
#undef SC
}

static void funnel_plain(fctx *c, uint32_t lo, uint32_t end, const sy_engine_tcol *col, int n) {
    plain_loop(c, lo, end, col, n, 0, 0, 0, 0);
}

static void funnel_plain_filtered(fctx *c, uint32_t lo, uint32_t end, const sy_engine_tcol *col,
                                  int n) {
    plain_loop(c, lo, end, col, n, 1, 0, 0, 0);
}

static void funnel_plain_who(fctx *c, uint32_t lo, uint32_t end, const sy_engine_tcol *col, int n) {
    plain_loop(c, lo, end, col, n, 1, 0, 1, 0);
}

static void funnel_plain_grouped(fctx *c, uint32_t lo, uint32_t end, const sy_engine_tcol *col,
                                 int n) {
    plain_loop(c, lo, end, col, n, 1, 1, 0, 0);
}

/* An event type in two steps (view_item twice; order_paid, then
 * order_paid in a channel): one copy for every form of the question, the
 * rarer one. With a single start the searches hold as for distinct types:
 * they need only that a second's step k-1 events come before its step k
 * events, whatever their types (an event matching both counts for both,
 * as in windowFunnel). */
static void funnel_plain_shared(fctx *c, uint32_t lo, uint32_t end, const sy_engine_tcol *col,
                                int n) {
    plain_loop(c, lo, end, col, n, 1, c->p->bd != AN_BD_NONE, c->who != NULL, 1);
}

/* funnel_lists' loop over a range of contacts, on the lists as the engine
 * packed them. Loose funnels over whole seconds run as funnel_plain (or a
 * sibling); otherwise every contact gets its views of the lists and goes
 * through funnel_lists. Calling back per contact cost more than the
 * funnel itself. */
static void funnel_columns(void *vctx, uint32_t lo, uint32_t hi, const sy_engine_tcol *col, int n) {
    fctx *c = vctx;
    const fplan *p = c->p;
    const sy_engine_tcol *c0 = &col[0];
    uint32_t end = hi < c0->n_ids ? hi : c0->n_ids;
    if (c->who && p->by_secs && lo < end) {
        (p->distinct ? funnel_plain_who : funnel_plain_shared)(c, lo, end, col, n);
        return;
    }
    if (!c->who && lo < end) {
        /* room for every duration up front, the first time a thread takes
         * a range: growing by copies cost more than the durations
         * themselves. At most one per contact with an event of the second
         * list, over all the ranges this thread may get. */
        const sy_engine_tcol *c1 = &col[p->step_list[1]];
        size_t all = c1->off[c1->n_ids];
        if (all > c0->n_ids) all = c0->n_ids;
        int room = 1;
        for (int s = 1; s < p->n_steps && room; s++)
            if (c->cap_dt[s] < all) /* funnel_count grows them as it goes when this fails */
                room = dts_room(c, s, all - c->n_dt[s]) == 0;
        if (room && p->by_secs) {
            (!p->distinct          ? funnel_plain_shared
             : p->bd != AN_BD_NONE ? funnel_plain_grouped
             : p->filtered         ? funnel_plain_filtered
                                   : funnel_plain)(c, lo, end, col, n);
            return;
        }
    }
    const sy_engine_tev *lists[SY_TYPELISTS_MAX];
    sy_engine_tsec secs[SY_TYPELISTS_MAX];
    size_t counts[SY_TYPELISTS_MAX];
    for (uint32_t id = lo; id < end && !c->oom; id++) {
        if (c0->off[id] == c0->off[id + 1]) continue;
        views_of(col, n, id, lists, secs, counts);
        funnel_lists(c, id, lists, secs, counts, n);
    }
}

static int64_t select_kth(int64_t *v, size_t n, size_t k);

/* The lower median (a real observed duration) of the values >= 0 in
 * parts[0..np) taken together, without copying them all: their histogram,
 * hists[0..np) added up (counted as the scan wrote them), finds the bucket
 * holding it, and only that bucket is copied and selected from. Exact
 * whatever the values: the last bucket takes everything above. The buckets
 * are few enough for the first-level cache; when values pile up in one the
 * selection is still linear. Returns 1 and sets *out, 0 when there are no
 * values, -1 when out of memory. */
static int median_of(const int64_t *const *parts, const size_t *counts,
                     const uint32_t *const *hists, int np, int shift, int64_t *out) {
    size_t n = 0;
    for (int t = 0; t < np; t++)
        n += counts[t];
    if (n == 0) return 0;
    size_t k = (n - 1) / 2;
    size_t b = 0, below = 0, nb = 0;
    for (;; b++) {
        nb = 0;
        for (int t = 0; t < np; t++)
            nb += hists[t][b];
        if (below + nb > k) break;
        below += nb;
    }
    size_t bytes;
    int64_t *v = sy_scratch_take(nb * sizeof *v, &bytes);
    if (!v) return -1;
    /* bucket b as a range: one subtraction and compare a value. Its
     * values are copied and counted again in MEDIAN_BUCKETS sub-buckets:
     * a bucket may hold tens of thousands of durations of a few hundred
     * distinct values, where a selection among them all cost more than
     * the pass. */
    const int last = b == MEDIAN_BUCKETS - 1; /* open-ended: selected from whole */
    const int64_t lo = (int64_t)b << shift;
    const uint64_t width = last ? (uint64_t)INT64_MAX : (uint64_t)1 << shift;
    const int sub = shift > 12 ? shift - 12 : 0; /* 2^12 = MEDIAN_BUCKETS */
    uint32_t hist2[MEDIAN_BUCKETS] = {0};
    size_t o = 0;
    for (int t = 0; t < np; t++)
        for (size_t i = 0; i < counts[t]; i++) {
            int64_t x = parts[t][i];
            if ((uint64_t)(x - lo) < width) {
                v[o++] = x;
                if (!last) hist2[(size_t)(x - lo) >> sub]++;
            }
        }
    k -= below;
    if (!last) {
        size_t sb = 0;
        while (k >= hist2[sb])
            k -= hist2[sb++];
        const int64_t slo = lo + ((int64_t)sb << sub), sw = (int64_t)1 << sub;
        size_t m = 0;
        for (size_t i = 0; i < nb; i++)
            if (v[i] - slo < sw && v[i] >= slo) v[m++] = v[i];
        nb = m;
    }
    *out = select_kth(v, nb, k);
    sy_scratch_give(v, bytes);
    return 1;
}

/* The medians of steps 1.. (durations from the previous step), steps
 * shared out over two threads: each median reads every duration of its
 * step once. */
typedef struct median_job {
    const fctx *ctx; /* AN_THREADS */
    int from, n_steps;
    int shift;
    int64_t m[AN_MAX_STEPS];
    int r[AN_MAX_STEPS]; /* median_of's answer */
} median_job;

static void *median_run(void *arg) {
    median_job *j = arg;
    for (int s = j->from; s < j->n_steps; s += 2) {
        const int64_t *parts[AN_THREADS];
        const uint32_t *hists[AN_THREADS];
        size_t counts[AN_THREADS];
        for (int t = 0; t < AN_THREADS; t++) {
            parts[t] = j->ctx[t].dts[s], counts[t] = j->ctx[t].n_dt[s];
            hists[t] = j->ctx[t].dt_hist + (size_t)s * MEDIAN_BUCKETS;
        }
        j->r[s] = median_of(parts, counts, hists, AN_THREADS, j->shift, &j->m[s]);
    }
    return NULL;
}

/* Fills m[s], r[s] for s in [1, n_steps). */
static void step_medians(const fctx *ctx, int n_steps, int shift, int64_t *m, int *r) {
    median_job j[2] = {{ctx, 1, n_steps, shift, {0}, {0}}, {ctx, 2, n_steps, shift, {0}, {0}}};
    pthread_t tid;
    int started = n_steps > 2 && pthread_create(&tid, NULL, median_run, &j[1]) == 0;
    median_run(&j[0]);
    if (started)
        pthread_join(tid, NULL);
    else
        median_run(&j[1]);
    for (int s = 1; s < n_steps; s++) {
        const median_job *o = &j[(s - 1) % 2];
        m[s] = o->m[s];
        r[s] = o->r[s];
    }
}

/* The k-th smallest of v[0..n) (Hoare's selection; v is reordered). */
static int64_t select_kth(int64_t *v, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi];
        int64_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                int64_t t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

static const char *const funnel_keys[] = {"steps",  "window",    "order",      "from",
                                          "to",     "breakdown", "segment_id", "step",
                                          "status", "limit",     "save_as",    NULL};

/* Parses the funnel body into q and p. contacts: the /contacts variant. */
static int funnel_parse(sy_analytics *an, sy_arena *a, const sy_actor *actor, json_t *body,
                        int64_t as_of, int contacts, an_q *q, fplan *p, sy_err *e) {
    if (sy_json_only(body,
                     contacts ? funnel_keys
                              : (const char *const[]){"steps", "window", "order", "from", "to",
                                                      "breakdown", "segment_id", NULL},
                     e))
        return SY_E_INVALID;
    memset(p, 0, sizeof *p);
    json_t *steps = json_object_get(body, "steps");
    if (!json_is_array(steps) || json_array_size(steps) < 2 ||
        json_array_size(steps) > AN_MAX_STEPS)
        return sy_err_field(e, SY_E_INVALID, "steps", "a funnel has 2 to %d steps (got %zu)",
                            AN_MAX_STEPS, json_is_array(steps) ? json_array_size(steps) : 0);
    int64_t window_ms = 7 * AN_DAY_MS;
    json_t *w = json_object_get(body, "window");
    if (w) {
        static const char *const wkeys[] = {"value", "unit", NULL};
        if (!json_is_object(w))
            return sy_err_field(e, SY_E_INVALID, "window",
                                "window is {\"value\": n, \"unit\": \"day\"|\"hour\"|\"minute\"}");
        if (sy_json_only(w, wkeys, e))
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "window.%s", e->field), "%s",
                                sy_strdup(a, e->msg));
        json_t *v = json_object_get(w, "value");
        const char *u = json_string_value(json_object_get(w, "unit"));
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return sy_err_field(e, SY_E_INVALID, "window.value",
                                "the window must be a positive whole number");
        int64_t unit = !u || strcmp(u, "day") == 0 ? AN_DAY_MS
                       : strcmp(u, "hour") == 0    ? 3600000LL
                       : strcmp(u, "minute") == 0  ? 60000LL
                                                   : 0;
        if (!unit)
            return sy_err_field(e, SY_E_INVALID, "window.unit",
                                "unit \"%s\" is not day, hour or minute", u);
        if (json_integer_value(v) * unit > 366 * AN_DAY_MS)
            return sy_err_field(e, SY_E_INVALID, "window.value",
                                "the window is longer than 366 days");
        window_ms = json_integer_value(v) * unit;
    }
    const char *order = json_string_value(json_object_get(body, "order"));
    if (json_object_get(body, "order") &&
        (!order || (strcmp(order, "loose") && strcmp(order, "strict"))))
        return sy_err_field(e, SY_E_INVALID, "order", "order must be \"loose\" or \"strict\"");
    p->strict = order && strcmp(order, "strict") == 0;
    p->window_ms = window_ms;
    p->dt_shift = 0;
    while (((window_ms + 1000) >> p->dt_shift) >= MEDIAN_BUCKETS)
        p->dt_shift++;
    int rc =
        an_q_parse(an, a, actor, body, as_of, AN_F_RANGE | AN_F_BREAKDOWN | AN_F_SEGMENT, q, e);
    if (rc) return rc;
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s) {
        static const char *const skeys[] = {"event", "filters", NULL};
        char *path = sy_sprintf(a, "steps[%zu]", i);
        if (!json_is_object(s)) {
            rc = sy_err_field(e, SY_E_INVALID, path,
                              "a step is {\"event\": name, \"filters\": [...]}");
            break;
        }
        if (sy_json_only(s, skeys, e)) {
            rc = sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.%s", path, e->field), "%s",
                              sy_strdup(a, e->msg));
            break;
        }
        if ((rc = an_step_parse(q, json_object_get(s, "event"), json_object_get(s, "filters"), path,
                                1, &p->steps[i], e)))
            break;
    }
    if (rc) {
        an_q_done(q);
        return rc;
    }
    p->n_steps = (int)json_array_size(steps);
    p->eng = an->engine;
    p->from_ms = an_day_start(q->tz, q->from_day);
    p->to_ms = an_day_start(q->tz, q->to_day + 1);
    p->bd = q->bd;
    p->bd_dim = q->bd_dim;
    int max_type = 0;
    for (int k = 0; k < p->n_steps; k++)
        if (p->steps[k].type > max_type) max_type = p->steps[k].type;
    p->n_type_mask = (size_t)max_type + 1;
    p->type_mask = sy_alloc(a, p->n_type_mask * sizeof *p->type_mask);
    if (!p->type_mask) {
        an_q_done(q);
        return sy_err_set(e, SY_E_NOMEM, "out of memory");
    }
    memset(p->type_mask, 0, p->n_type_mask * sizeof *p->type_mask);
    for (int k = 0; k < p->n_steps; k++) {
        if (p->steps[k].type >= 0 && !p->steps[k].n_filters)
            p->type_mask[p->steps[k].type] |= (uint16_t)(1u << k);
        else if (p->steps[k].type != -2)
            p->slow_steps |= (uint16_t)(1u << k);
        if (p->steps[k].type >= 0 && p->steps[k].n_filters) p->filtered |= (uint16_t)(1u << k);
    }
    for (int k = 0; k < p->n_steps && p->steps[0].type >= 0; k++) {
        int l = 0;
        while (l < p->n_lists && p->list_types[l] != p->steps[k].type)
            l++;
        if (l == p->n_lists) p->list_types[p->n_lists++] = p->steps[k].type;
        p->list_mask[l] |= (uint16_t)(1u << k);
        p->step_list[k] = l;
    }
    p->distinct = p->n_lists == p->n_steps;
    for (int l = 0; l < p->n_lists; l++)
        if (p->list_mask[l] != (uint16_t)(1u << l)) p->distinct = 0;
    return 0;
}

/* Loose funnels whose steps are event types, with or without filters,
 * read only those types' events (per-type lists); the rest ("$active"
 * steps, strict order) walk every contact's events. */
static int funnel_run(an_q *q, fplan *p, void **ptrs) {
    if (!p->strict && !(p->slow_steps & ~p->filtered) && p->n_lists > 0) {
        p->by_secs = !an_funnel_times_only && p->from_ms >= 0 && p->from_ms % 1000 == 0 &&
                     p->to_ms % 1000 == 0;
        int rc = sy_engine_scan_type_lists(q->an->engine, p->list_types, p->n_lists, q->only,
                                           AN_THREADS, funnel_lists, funnel_columns, ptrs);
        if (rc != SY_E_UNSUPPORTED) return rc;
    }
    return sy_engine_scan_contacts(q->an->engine, q->only, AN_THREADS, funnel_contact, ptrs);
}

static int funnel_scan(an_q *q, fplan *p, fctx *ctx, sy_err *e) {
    void *ptrs[AN_THREADS];
    for (int t = 0; t < AN_THREADS; t++) {
        memset(&ctx[t], 0, sizeof ctx[t]);
        ctx[t].p = p;
        size_t hb = (size_t)p->n_steps * MEDIAN_BUCKETS * sizeof *ctx[t].dt_hist;
        ctx[t].dt_hist = sy_scratch_take(hb, &ctx[t].dt_hist_bytes);
        if (ctx[t].dt_hist) memset(ctx[t].dt_hist, 0, hb);
        an_groups_init(&ctx[t].groups, p->n_steps);
        ptrs[t] = &ctx[t];
    }
    for (int t = 0; t < AN_THREADS; t++)
        if (!ctx[t].dt_hist) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    int rc = funnel_run(q, p, ptrs);
    int oom = rc != 0;
    for (int t = 0; t < AN_THREADS; t++)
        if (ctx[t].oom || ctx[t].groups.failed) oom = 1;
    return oom ? sy_err_set(e, SY_E_NOMEM, "out of memory") : 0;
}

static void fctx_free(fctx *c) {
    for (int s = 0; s < AN_MAX_STEPS; s++)
        sy_scratch_give(c->dts[s], c->cap_dt[s] * sizeof *c->dts[s]);
    sy_scratch_give(c->dt_hist, c->dt_hist_bytes);
    an_groups_free(&c->groups);
    free(c->ts);
    free(c->m);
    free(c->pos);
    free(c->ext);
}

int an_funnel(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of, json_t **out,
              sy_err *e) {
    sy_arena *a = sy_arena_create();
    if (!a) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    an_q q;
    fplan p;
    an_cgroups cg = {0};
    fctx ctx[AN_THREADS];
    json_t *names = NULL;
    int rc = funnel_parse(an, a, actor, body, as_of, 0, &q, &p, e);
    if (rc) {
        sy_arena_destroy(a);
        return rc;
    }
    if (q.bd != AN_BD_NONE && q.bd != AN_BD_DIM && (rc = an_cgroups_init(&q, &cg, e))) goto done;
    p.cg = &cg;
    if ((rc = funnel_scan(&q, &p, ctx, e))) goto free_ctx;
    /* merge threads */
    uint64_t reached[AN_MAX_STEPS] = {0};
    for (int t = 0; t < AN_THREADS; t++) {
        for (int s = 0; s < p.n_steps; s++)
            reached[s] += ctx[t].reached[s];
        if (t) an_groups_merge(&ctx[0].groups, &ctx[t].groups);
    }
    json_t *steps = json_array();
    int64_t med[AN_MAX_STEPS];
    int med_r[AN_MAX_STEPS];
    step_medians(ctx, p.n_steps, p.dt_shift, med, med_r);
    for (int s = 0; s < p.n_steps; s++) {
        json_t *median = json_null();
        if (s > 0) {
            int64_t m = med[s];
            int r = med_r[s];
            if (r < 0) {
                rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
                json_decref(steps);
                goto free_ctx;
            }
            if (r > 0) {
                json_decref(median);
                median = json_integer(m);
            }
        }
        json_array_append_new(
            steps,
            json_pack(
                "{s:i,s:s,s:I,s:o,s:o,s:I,s:o}", "index", s + 1, "event", p.steps[s].name, "count",
                (json_int_t)reached[s], "conversion",
                an_num(reached[0] ? (double)reached[s] / (double)reached[0] : 0, reached[0] > 0),
                "step_conversion",
                s == 0 ? json_null()
                       : an_num(reached[s - 1] ? (double)reached[s] / (double)reached[s - 1] : 0,
                                reached[s - 1] > 0),
                "dropped", (json_int_t)(s == 0 ? 0 : reached[s - 1] - reached[s]), "median_ms",
                median));
    }
    char fr[11], to[11];
    an_format_day(q.from_day, fr);
    an_format_day(q.to_day, to);
    *out =
        json_pack("{s:o,s:s,s:s,s:s,s:I}", "steps", steps, "order", p.strict ? "strict" : "loose",
                  "from", fr, "to", to, "window_ms", (json_int_t)p.window_ms);
    if (q.bd != AN_BD_NONE) {
        an_groups *g = &ctx[0].groups;
        double *rank = malloc((g->n ? g->n : 1) * sizeof *rank);
        size_t *ord = NULL;
        if (rank) {
            for (size_t i = 0; i < g->n; i++)
                rank[i] = (double)g->vals[i * (size_t)g->width];
            ord = an_groups_order(g, rank);
        }
        if (!rank || !ord) {
            free(rank);
            json_decref(*out);
            *out = NULL;
            rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
            goto free_ctx;
        }
        if (q.bd == AN_BD_OWNER) sy_staff_names(an->staff, "staff", &names, e);
        if (q.bd == AN_BD_DEPARTMENT) sy_staff_names(an->staff, "department", &names, e);
        json_t *rows = json_array();
        int64_t other[AN_MAX_STEPS] = {0};
        int has_other = 0;
        for (size_t i = 0; i < g->n; i++) {
            const int64_t *v = g->vals + ord[i] * (size_t)g->width;
            if (i >= AN_TOP) {
                for (int s = 0; s < p.n_steps; s++)
                    other[s] += v[s];
                has_other = 1;
                continue;
            }
            char label[128];
            if (q.bd == AN_BD_DIM)
                an_group_label(&q, g->keys[ord[i]], label, sizeof label);
            else
                an_cgroups_label(&cg, names, g->keys[ord[i]], label, sizeof label);
            json_t *counts = json_array();
            for (int s = 0; s < p.n_steps; s++)
                json_array_append_new(counts, json_integer(v[s]));
            char key[140];
            if (q.bd == AN_BD_DIM)
                snprintf(key, sizeof key, "%s", label);
            else
                snprintf(key, sizeof key, "%lld", (long long)g->keys[ord[i]]);
            json_array_append_new(
                rows, json_pack("{s:s,s:s,s:o}", "key", key, "label", label, "counts", counts));
        }
        if (has_other) {
            json_t *counts = json_array();
            for (int s = 0; s < p.n_steps; s++)
                json_array_append_new(counts, json_integer(other[s]));
            json_array_append_new(rows, json_pack("{s:s,s:s,s:o}", "key", "other", "label", "other",
                                                  "counts", counts));
        }
        json_object_set_new(*out, "breakdown", rows);
        json_object_set_new(*out, "truncated", json_boolean(has_other));
        free(rank);
        free(ord);
    } else {
        json_object_set_new(*out, "truncated", json_false());
    }
free_ctx:
    for (int t = 0; t < AN_THREADS; t++)
        fctx_free(&ctx[t]);
done:
    json_decref(names);
    an_cgroups_free(&cg);
    an_q_done(&q);
    sy_arena_destroy(a);
    return rc;
}

int an_funnel_contacts(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of,
                       json_t **out, sy_err *e) {
    sy_arena *a = sy_arena_create();
    if (!a) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    an_q q;
    fplan p;
    int rc = funnel_parse(an, a, actor, body, as_of, 1, &q, &p, e);
    if (rc) {
        sy_arena_destroy(a);
        return rc;
    }
    json_t *st = json_object_get(body, "step");
    const char *status = json_string_value(json_object_get(body, "status"));
    json_t *lim = json_object_get(body, "limit");
    int64_t limit = lim ? json_integer_value(lim) : 50;
    if (!json_is_integer(st) || json_integer_value(st) < 1 || json_integer_value(st) > p.n_steps) {
        rc = sy_err_field(e, SY_E_INVALID, "step", "step must be 1 to %d", p.n_steps);
    } else if (json_object_get(body, "status") &&
               (!status || (strcmp(status, "reached") && strcmp(status, "dropped")))) {
        rc = sy_err_field(e, SY_E_INVALID, "status", "status must be \"reached\" or \"dropped\"");
    } else if (status && strcmp(status, "dropped") == 0 && json_integer_value(st) == 1) {
        rc = sy_err_field(e, SY_E_INVALID, "step", "nobody drops at step 1: it is the entry");
    } else if (lim && (!json_is_integer(lim) || limit < 1 || limit > 500)) {
        rc = sy_err_field(e, SY_E_INVALID, "limit", "limit must be 1 to 500");
    }
    json_t *save = json_object_get(body, "save_as");
    const char *save_name = NULL, *save_desc = NULL;
    if (!rc && save) {
        static const char *const skeys[] = {"name", "description", NULL};
        if (!json_is_object(save) || sy_json_only(save, skeys, e)) {
            rc = sy_err_field(e, SY_E_INVALID, "save_as",
                              "save_as is {\"name\": \"…\", \"description\": \"…\"}");
        } else {
            save_name = json_string_value(json_object_get(save, "name"));
            save_desc = json_string_value(json_object_get(save, "description"));
            if (!save_name || !*save_name ||
                json_string_length(json_object_get(save, "name")) > 100)
                rc = sy_err_field(e, SY_E_INVALID, "save_as.name",
                                  "a segment name of 1 to 100 bytes is required");
            else if (json_object_get(save, "description") &&
                     (!save_desc || json_string_length(json_object_get(save, "description")) > 500))
                rc = sy_err_field(e, SY_E_INVALID, "save_as.description",
                                  "description must be a string of at most 500 bytes");
            else if (!actor || !(actor->perms & SY_PERM_CONTACTS_WRITE))
                rc = sy_err_set(e, SY_E_FORBIDDEN,
                                "saving a segment needs the contacts.write permission");
            else if (!an->tags)
                rc = sy_err_set(e, SY_E_UNAVAILABLE, "saving segments is not available here");
        }
    }
    if (rc) goto done;
    p.want_step = (int)json_integer_value(st);
    p.want_dropped = status && strcmp(status, "dropped") == 0;
    p.bd = AN_BD_NONE; /* a breakdown does not change who is at a step */
    fctx ctx[AN_THREADS];
    void *ptrs[AN_THREADS];
    for (int t = 0; t < AN_THREADS; t++) {
        memset(&ctx[t], 0, sizeof ctx[t]);
        ctx[t].p = &p;
        ctx[t].who = sy_idset_create();
        ptrs[t] = &ctx[t];
    }
    rc = funnel_run(&q, &p, ptrs);
    for (int t = 1; t < AN_THREADS; t++)
        sy_idset_or(ctx[0].who, ctx[t].who);
    int oom = rc != 0;
    for (int t = 0; t < AN_THREADS; t++)
        if (ctx[t].oom) oom = 1;
    if (oom) {
        rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
    } else {
        uint32_t *ids = sy_alloc(a, (size_t)limit * sizeof *ids);
        size_t n = sy_idset_list(ctx[0].who, 0, ids, (size_t)limit);
        json_t *items = json_array();
        int64_t tag_id = 0, seg_id = 0;
        if ((rc = sy_contacts_select_rows(an->contacts, actor, ids, n, items, e)) == 0 &&
            save_name) {
            /* the list lives in a manual tag; the segment targets that tag */
            if ((rc = sy_tags_save_list(an->tags, actor, save_name, ctx[0].who, &tag_id, e)) == 0) {
                json_t *def = json_pack("{s:I}", "tag", (json_int_t)tag_id);
                rc = sy_segments_save(an->segments, actor, save_name,
                                      save_desc ? save_desc : "保存自漏斗分析", def, &seg_id, e);
                json_decref(def);
            }
            if (rc && strncmp(e->field, "name", 4) == 0) {
                char msg[sizeof e->msg];
                snprintf(msg, sizeof msg, "%s", e->msg);
                sy_err_field(e, rc, "save_as.name", "%s", msg);
            }
        }
        if (rc == 0) {
            *out = json_pack("{s:I,s:o,s:i,s:s}", "total", (json_int_t)sy_idset_count(ctx[0].who),
                             "items", items, "step", p.want_step, "status",
                             p.want_dropped ? "dropped" : "reached");
            if (seg_id) {
                json_object_set_new(*out, "segment_id", json_integer(seg_id));
                json_object_set_new(*out, "tag_id", json_integer(tag_id));
            }
        } else {
            json_decref(items);
        }
    }
    for (int t = 0; t < AN_THREADS; t++) {
        sy_idset_destroy(ctx[t].who);
        fctx_free(&ctx[t]);
    }
done:
    an_q_done(&q);
    sy_arena_destroy(a);
    return rc;
}
