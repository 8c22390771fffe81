/* analytics_int.h — shared internals of src/analytics/ (questions, the
 * calendar of workspace-timezone days, parsed parameters). Not included
 * outside src/analytics/ (tests/unit/test_analytics.c excepted). */
#ifndef SY_ANALYTICS_INT_H
#define SY_ANALYTICS_INT_H

#include <pthread.h>
#include <stdint.h>
#include <stddef.h>
#include <jansson.h>
#include "analytics.h"
#include "base/arena.h"

#define AN_DAY_MS 86400000LL
#define AN_MAX_DAYS 400  /* longest range a question may ask for */
#define AN_MAX_STEPS 10  /* funnel steps */
#define AN_MAX_FILTERS 8 /* property filters per event or step */
#define AN_MAX_IDS 32    /* values of one "in" filter */
#define AN_TOP 50        /* breakdown series returned before "other" */
#define AN_THREADS 2     /* scan threads (the machine class has 2 cores) */

struct sy_analytics {
    sy_store *st;
    sy_staff *staff;
    sy_contacts *contacts;
    sy_engine *engine;
    sy_events *events;
    sy_segments *segments;
    sy_lifecycle *lifecycle;
    sy_tags *tags;  /* NULL: funnels cannot be saved as segments */
    pthread_t warm; /* sy_analytics_warm's thread, joined in destroy */
    int warming;
};

/* --- civil days and calendars --- */

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t an_days_from_civil(int y, int m, int d);
void an_civil_from_days(int64_t z, int *y, int *m, int *d);
/* Parses "YYYY-MM-DD" into a day number. Returns 0 or SY_E_INVALID. */
int an_parse_day(const char *s, int64_t *day);
void an_format_day(int64_t day, char out[11]);
/* Workspace-timezone day number of instant ms, and the UTC ms at which
 * local day `day` begins. */
int64_t an_local_day(const char *tz, int64_t ms);
int64_t an_day_start(const char *tz, int64_t day);

enum { AN_DAY = 0, AN_WEEK = 1, AN_MONTH = 2 };

/* Days [first, first + n_days) with their UTC starts, grouped into periods
 * of an interval. Lives in an arena. */
typedef struct an_cal {
    int64_t first; /* day number of day index 0 */
    int n_days;
    int64_t *start; /* n_days + 1 boundaries, UTC ms */
    int uniform;    /* every day is exactly 24 h long (no DST in range) */
    int interval;
    int n_periods;
    int *period_of_day; /* n_days entries */
    int *period_first;  /* n_periods + 1 entries: first day index of each period */
    char (*label)[11];  /* period labels (first day) */
} an_cal;

/* Builds the calendar of days [first, last] (inclusive). */
int an_cal_build(sy_arena *a, const char *tz, int64_t first, int64_t last, int interval,
                 an_cal *out, sy_err *e);
/* Day index of instant ts: -1 before the first day, n_days after the last. */
static inline int an_cal_day(const an_cal *c, int64_t ts) {
    if (ts < c->start[0]) return -1;
    if (ts >= c->start[c->n_days]) return c->n_days;
    if (c->uniform) return (int)((ts - c->start[0]) / AN_DAY_MS);
    int lo = 0, hi = c->n_days - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (c->start[mid] <= ts)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* --- parsed parameters --- */

enum { AN_OP_EQ = 0, AN_OP_NE = 1, AN_OP_IN = 2 };
typedef struct an_filter {
    int dim;
    int op;
    int n_ids;
    uint16_t ids[AN_MAX_IDS]; /* 0 = a value never seen (matches nothing for = / in) */
} an_filter;

enum {
    AN_BD_NONE = 0,
    AN_BD_DIM,        /* event dimension (channel, store, category, sku) */
    AN_BD_OWNER,      /* contact's owner */
    AN_BD_DEPARTMENT, /* contact's department */
    AN_BD_SOURCE,     /* contact's acquisition channel */
    AN_BD_CSTORE,     /* contact's store */
    AN_BD_SEGMENT,    /* membership of saved segments (a contact may be in several) */
};

typedef struct an_step {
    int type; /* event type id; -1 = any activity ("$active"); -2 = unknown name (matches nothing)
               */
    int n_filters;
    an_filter filters[AN_MAX_FILTERS];
    const char *name;
} an_step;

/* The common part of every question. */
typedef struct an_q {
    sy_analytics *an;
    sy_arena *arena;
    const sy_actor *actor;
    char tz[64];
    int64_t as_of;
    int64_t today;            /* local day of as_of */
    int64_t from_day, to_day; /* inclusive local days */
    int interval;
    an_filter filters[AN_MAX_FILTERS];
    int n_filters;
    int bd;
    int bd_dim;
    int64_t seg_ids[10];
    int n_seg;
    sy_idset *only; /* contacts counted (scope ∩ segment); NULL = every contact */
} an_q;

/* Parses and validates the common fields of body (which the caller has
 * already checked for unknown keys). want_* say which are allowed. */
enum {
    AN_F_RANGE = 1,
    AN_F_INTERVAL = 2,
    AN_F_FILTERS = 4,
    AN_F_BREAKDOWN = 8,
    AN_F_SEGMENT = 16,
    /* breakdowns group contacts, not events: "channel" is the acquisition
     * channel (source), "store" the contact's store; category and sku
     * are refused (metrics) */
    AN_F_CONTACT_BD = 32
};
int an_q_parse(sy_analytics *an, sy_arena *a, const sy_actor *actor, json_t *body, int64_t as_of,
               int fields, an_q *q, sy_err *e);
void an_q_done(an_q *q);
/* Resolves an event name ("$active" allowed when allow_any) and optional
 * "filters" array (JSON path prefix for errors) into a step. */
int an_step_parse(an_q *q, json_t *event, json_t *filters, const char *path, int allow_any,
                  an_step *out, sy_err *e);
/* 1 when the event (rec + dims read through the engine) passes the filters. */
int an_filters_match(const sy_engine *eng, uint32_t pos, const an_filter *f, int n);
/* Label of a breakdown group value (dim id, staff id, …) into out. */
void an_group_label(an_q *q, int64_t key, char *out, size_t n);
/* Activity: counts as the contact's own behaviour. */
#define AN_ACTIVE(flags) (!((flags) & (SY_EV_SYSTEM | SY_EV_META)))

/* --- questions (each fills *out with the API answer) --- */
int an_trend(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of, json_t **out,
             sy_err *e);
int an_funnel(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of, json_t **out,
              sy_err *e);
/* Contacts at a funnel step: level per contact written to the set (reached
 * step k: level >= k; dropped at k: level == k - 1). */
int an_funnel_contacts(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of,
                       json_t **out, sy_err *e);
int an_retention(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of, json_t **out,
                 sy_err *e);
int an_metric(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of, json_t **out,
              sy_err *e);
int an_attribution(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of,
                   json_t **out, sy_err *e);
/* The metric dictionary: a new JSON array of definitions. */
json_t *an_metric_dictionary(void);
/* Channel cost in fen attributed to days [from, to] (inclusive) per
 * channel id: costs spread evenly over their own days. Fills *costs (a new
 * JSON object {"<channel_id>": fen}). */
int an_channel_costs(sy_analytics *an, int64_t from_day, int64_t to_day, json_t **costs, sy_err *e);
void an_costs_register(sy_analytics *an, sy_http *h);

/* --- pure cores, shared with the differential unit tests --- */

/* Funnel level (0..n_steps) of one contact's events in time order, with
 * ClickHouse windowFunnel semantics when strict == 0 (see docs/metrics.md):
 * timestamps in whole seconds, events ordered by (second, step), a chain
 * starts at every step-1 event and step k extends the chain of step k-1 when
 * it is no more than window_s seconds after that chain's start.
 * match[i] is a bitmask of the steps event i matches. When reach is not
 * NULL it receives, for each step of the level, the index (into ts_ms) of
 * the event of the first chain that reached that level. */
int an_funnel_level(const int64_t *ts_ms, const uint16_t *match, size_t n, int n_steps,
                    int64_t window_ms, int strict, int *reach);

/* The whole second a time in ms falls in, rounded down (before 1970 too:
 * second -1 is [-1000, -1) ms), as loose funnels count seconds. */
static inline int64_t an_floor_sec(int64_t ts_ms) {
    return ts_ms >= 0 ? ts_ms / 1000 : -((-ts_ms + 999) / 1000);
}

/* Tests set this to 1 so that loose funnels search the contacts' lists by
 * their millisecond times instead of the whole-second columns (the answer
 * must not change); nothing else writes it. */
extern int an_funnel_times_only;

/* Asks, with the answers dropped, the distinct funnel questions of saved
 * dashboard cards (at most 32), as the whole workspace: sy_analytics_warm's
 * second step. Returns how many were answered (a card whose question no
 * longer holds is skipped). */
int an_warm_funnels(sy_analytics *a);

/* --- breakdown groups: key → a row of `width` int64 accumulators --- */
typedef struct an_groups {
    int width;
    size_t n, cap;
    int64_t *keys;
    int64_t *vals;   /* n rows of width */
    uint32_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t n_slots;
    int failed; /* out of memory happened: the answer is incomplete */
} an_groups;
void an_groups_init(an_groups *g, int width);
void an_groups_free(an_groups *g);
/* The row of key (created zeroed); NULL when out of memory (g->failed). */
int64_t *an_groups_row(an_groups *g, int64_t key);
/* Adds every row of src into dst. */
void an_groups_merge(an_groups *dst, const an_groups *src);
/* Row indices sorted by rank[i] descending (caller frees). */
size_t *an_groups_order(const an_groups *g, const double *rank);

/* The contact's groups for a contact-level breakdown (owner, department,
 * source, contact store, segments): writes up to 10 keys, returns how many
 * (0 = none: the contact counts only in the workspace totals). */
typedef struct an_cgroups {
    int bd;
    const sy_contact_facts *facts;
    sy_idset *segs[10];
    int n_seg;
    int64_t seg_ids[10];
} an_cgroups;
int an_cgroups_init(an_q *q, an_cgroups *g, sy_err *e);
void an_cgroups_free(an_cgroups *g);
int an_cgroups_of(const an_cgroups *g, uint32_t contact, int64_t *keys);
/* Label of a contact-level group key into out. names: staff/department/store
 * names for owner/department/store breakdowns (from sy_staff_names). */
void an_cgroups_label(const an_cgroups *g, json_t *names, int64_t key, char *out, size_t n);
/* JSON number for a value; null when !ok. */
json_t *an_num(double v, int ok);

#endif
