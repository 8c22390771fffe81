/* analytics.h — the metric dictionary (口径) and the questions operators ask:
 * metrics, trends, funnels, retention and channel attribution.
 *
 * Every answer is computed from the engine (events) and the contacts module
 * (who is live, scope, owner, store, department, source channel) at the time
 * of the call; nothing is cached across calls except what the engine keeps.
 * Definitions live once in docs/metrics.md and in the dictionary returned by
 * GET /api/v1/analytics/metrics; every caller (API, dashboards, alerts)
 * goes through sy_analytics_run, so a metric means one thing everywhere.
 *
 * Threads: every function may be called from any thread. */
#ifndef SY_ANALYTICS_H
#define SY_ANALYTICS_H

#include <jansson.h>
#include <stdint.h>
#include "base/err.h"
#include "store/store.h"
#include "staff/staff.h"
#include "contacts/contacts.h"
#include "engine/engine.h"
#include "events/events.h"
#include "segments/segments.h"
#include "lifecycle/lifecycle.h"
#include "tags/tags.h"

typedef struct sy_analytics sy_analytics;

/* Creates the module (borrowing every argument; they outlive it). Owns the
 * channel-cost table. Errors: SY_E_NOMEM. */
int sy_analytics_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_engine *engine,
                        sy_events *events, sy_segments *segments, sy_lifecycle *lifecycle,
                        sy_analytics **out, sy_err *e);
void sy_analytics_destroy(sy_analytics *a); /* NULL ok */
/* Gives analytics the tags module (borrowed), which holds the lists of
 * contacts a funnel saves as a segment ("save_as"). */
void sy_analytics_set_tags(sy_analytics *a, sy_tags *tags);
void sy_analytics_register(sy_analytics *a, sy_http *h);
/* Builds, on a thread of its own, the per-day index of every activity
 * event in the workspace timezone (sy_engine_days_warm) that the first
 * DAU, retention or trend question would otherwise build while its caller
 * waits; then asks the funnels of saved dashboard cards once (up to 32,
 * answers dropped), which builds their per-type lists. Call once, after
 * the engine is loaded; sy_analytics_destroy waits for the thread. Logs
 * msg="day index built" with the events filed and the time taken, and
 * msg="saved funnels asked ahead" when there were any. */
void sy_analytics_warm(sy_analytics *a);

/* Answers one question. `question` is the JSON body of
 * POST /api/v1/analytics/<kind> plus a member "kind" (one of "metric",
 * "trend", "funnel", "retention", "attribution"); it is validated exactly as
 * the API validates it. actor limits the contacts counted to its data scope
 * (NULL = the whole workspace, for scheduled work such as alerts). as_of
 * (UTC ms; 0 = now) is the moment "today" and default ranges refer to.
 * On success *out is a new JSON answer (caller decrefs), the same body the
 * API returns. Errors: SY_E_INVALID with e->field naming the parameter,
 * SY_E_NOT_FOUND (unknown segment), SY_E_NOMEM. */
int sy_analytics_run(sy_analytics *a, const sy_actor *actor, json_t *question, int64_t as_of,
                     json_t **out, sy_err *e);

/* The headline of a question, for dashboard cards and alert rules: its value
 * on the latest complete period before as_of and the mean of the 7 periods
 * before that one.
 *   metric / trend: the last complete period of the question's interval
 *     (a trend's first series; a metric's workspace series);
 *   funnel: overall conversion (last step / first step) over the question's
 *     range, trailing mean over the 7 preceding ranges of equal length;
 *   retention: the mean period-1 retention rate over its cohorts (no
 *     period, no trailing mean);
 *   attribution: the total conversion rate (no period, no trailing mean).
 * has_value / has_trailing are 0 when there is no data (e.g. a rate with a
 * zero denominator). Errors as sy_analytics_run. */
typedef struct sy_headline {
    double value;
    int has_value;
    double trailing_mean; /* mean of the up to 7 previous periods that have a value */
    int has_trailing;
    char unit[16];   /* "count", "contacts", "fen", "ratio", "days" */
    char period[32]; /* the period of value, e.g. "2026-11-21" */
} sy_headline;
int sy_analytics_headline(sy_analytics *a, const sy_actor *actor, json_t *question, int64_t as_of,
                          sy_headline *out, sy_err *e);

#endif
