/* dashboards.h — saved dashboards of cards, card thresholds, and alert
 * rules evaluated on a schedule (issue 6 §3).
 *
 * A card is an analytics question (the JSON body of one of the
 * /api/v1/analytics/<kind> endpoints plus "kind") with a chart type and
 * optional thresholds that colour its headline green / yellow / red. Every
 * number a card or an alert shows comes from sy_analytics_run /
 * sy_analytics_headline, so a card means exactly what the analytics API
 * answers for the same question. An alert rule watches a card's question (or
 * its own) at workspace scope and, when its condition holds for the latest
 * complete period, records an alert event and delivers it as the signed
 * webhook "alert.fired" through channels/.
 *
 * The module owns tables dashboards, dashboard_cards, alert_rules and
 * alert_events (migration 0010) and the routes under /api/v1/dashboards,
 * /api/v1/alerts and /api/v1/alert-events; docs/dashboards.md describes
 * them. A scheduler thread (started by sy_dashboards_register, i.e. only in
 * the server) evaluates the enabled rules every minute, or every
 * SIYU_ALERT_INTERVAL_MS milliseconds when that environment variable is set.
 *
 * The rule math (card status, when a condition fires) is pure and exposed
 * below for tests and for anyone who must colour a number the same way. */
#ifndef SY_DASHBOARDS_H
#define SY_DASHBOARDS_H

#include <stdint.h>
#include <jansson.h>
#include "base/base.h"
#include "store/store.h"
#include "http/http.h"
#include "staff/staff.h"
#include "analytics/analytics.h"

typedef struct sy_channels sy_channels; /* channels/channels.h */
typedef struct sy_dashboards sy_dashboards;

/* Creates the module (borrowing every argument; they outlive it). channels
 * may be NULL: alerts are then recorded but not delivered (CLI tools).
 * Reads SIYU_ALERT_INTERVAL_MS (scheduler period, 50 … 86400000; default
 * 60000). Errors: SY_E_NOMEM. */
int sy_dashboards_create(sy_store *st, sy_staff *staff, sy_analytics *analytics,
                         sy_channels *channels, sy_dashboards **out, sy_err *e);
/* Stops the scheduler (waiting for an evaluation in progress) and frees.
 * Call before destroying analytics or channels. NULL ok. */
void sy_dashboards_destroy(sy_dashboards *d);
/* Adds the routes and starts the alert scheduler (server only). */
void sy_dashboards_register(sy_dashboards *d, sy_http *h);

/* Evaluates every enabled alert rule once now, as the scheduler does
 * (tests, CLI). *fired (may be NULL) = alert events recorded. Errors:
 * SY_E_IO; a rule whose question fails is logged and skipped. */
int sy_dashboards_evaluate_alerts(sy_dashboards *d, int *fired, sy_err *e);

/* --- the rule math (pure; any thread) --- */

/* Card thresholds. With higher_is_better, a value at or above green is
 * green, a value below red is red, anything between is yellow (green >= red);
 * lower_is_better mirrors it (at or below green, above red; green <= red). */
typedef struct sy_thresholds {
    int higher_is_better;
    double green, red;
} sy_thresholds;

enum { SY_CARD_NONE = 0, SY_CARD_GREEN, SY_CARD_YELLOW, SY_CARD_RED };
/* Status of a card's headline value: SY_CARD_NONE when t is NULL (no
 * thresholds) or there is no value. */
int sy_card_status(const sy_thresholds *t, int has_value, double value);
/* "none", "green", "yellow", "red". */
const char *sy_card_status_name(int status);

/* Parses a thresholds object {"direction","green","red"} (strict: unknown
 * members refused). field names it in errors ("thresholds" →
 * "thresholds.green"). JSON null → *present = 0. Errors: SY_E_INVALID. */
int sy_thresholds_parse(json_t *v, const char *field, sy_thresholds *out, int *present, sy_err *e);
/* {"direction","green","red"} (new reference). */
json_t *sy_thresholds_json(const sy_thresholds *t);

/* Alert conditions. above/below compare the value with `value`;
 * drop_pct / rise_pct compare it with the trailing mean m of the 7
 * previous periods: the threshold is m − |m|·value/100 (drop) or
 * m + |m|·value/100 (rise) and the rule fires when the value is strictly
 * beyond it. value is a percentage > 0 (at most 100 for a drop). */
enum { SY_COND_ABOVE = 1, SY_COND_BELOW, SY_COND_DROP_PCT, SY_COND_RISE_PCT };
typedef struct sy_alert_condition {
    int type; /* SY_COND_* */
    double value;
} sy_alert_condition;

/* "above", "below", "drop_pct_vs_trailing_7", "rise_pct_vs_trailing_7"
 * (NULL for an unknown type) and back (0 when unknown). */
const char *sy_alert_condition_name(int type);
int sy_alert_condition_type(const char *name);
/* Parses {"type","value"} strictly; errors name "<field>.type" or
 * "<field>.value". Errors: SY_E_INVALID. */
int sy_alert_condition_parse(json_t *v, const char *field, sy_alert_condition *out, sy_err *e);
json_t *sy_alert_condition_json(const sy_alert_condition *c); /* new reference */

/* The outcome of one condition on one headline. */
typedef struct sy_alert_check {
    int fires;
    int has_threshold;  /* 0 when the condition could not be judged */
    double threshold;   /* the value the headline had to pass */
    int has_change;     /* change_pct defined (trailing mean present and non-zero) */
    double change_pct;  /* (value − m) / |m| × 100 */
    const char *reason; /* static text: why it does not fire, or "" */
} sy_alert_check;

/* Judges c on a headline: no value → does not fire ("no value");
 * pct conditions without a trailing mean → does not fire ("no trailing
 * mean"); a trailing mean of 0 gives a threshold of 0 (any rise above 0
 * fires a rise rule, a drop rule cannot fire on non-negative values). */
void sy_alert_check_condition(const sy_alert_condition *c, int has_value, double value,
                              int has_trailing, double trailing_mean, sy_alert_check *out);

#endif
