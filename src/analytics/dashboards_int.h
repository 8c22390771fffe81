/* dashboards_int.h — shared by dashboards.c (module, store reads, question
 * checks), dashboards_api.c (HTTP for dashboards and cards) and alerts.c
 * (alert rules, evaluation, the scheduler). Included by nobody outside the
 * folder (tests excepted). */
#ifndef SY_DASHBOARDS_INT_H
#define SY_DASHBOARDS_INT_H

#include <pthread.h>
#include "dashboards.h"

#define SY_DASH_NAME_MAX 100  /* code points: dashboard names, card titles, alert names */
#define SY_DASH_DESC_MAX 1000 /* code points */
#define SY_DASH_CARDS_MAX 50  /* cards per dashboard */
#define SY_ALERTS_MAX 200     /* alert rules per workspace */
#define SY_ALERT_DEFAULT_MS 60000

struct sy_dashboards {
    sy_store *st;
    sy_staff *staff;
    sy_analytics *analytics;
    sy_channels *channels; /* NULL: alerts are recorded, not delivered */

    /* the scheduler */
    pthread_mutex_t lock; /* guards running, stopping, wake */
    pthread_cond_t wake;
    pthread_t thread;
    int running, stopping;
    int64_t interval_ms;       /* SIYU_ALERT_INTERVAL_MS or SY_ALERT_DEFAULT_MS */
    pthread_mutex_t eval_lock; /* one evaluation of a given rule set at a time */
};

/* A card as stored. Strings and question live in the arena / are owned
 * by the struct as noted. */
typedef struct sy_card {
    int64_t id, dashboard_id;
    const char *title, *chart;
    json_t *question; /* owned: released with the arena */
    int has_thresholds;
    sy_thresholds thresholds;
    int64_t position, created_at, updated_at;
} sy_card;

/* A dashboard's access as seen by one caller. */
typedef struct sy_dash_access {
    int64_t owner_id; /* 0 = the workspace */
    int shared, is_default;
    int can_view, can_edit;
} sy_dash_access;

/* Looks dashboard id up and decides what actor may do with it: view when
 * shared, owned or the actor holds settings.manage; edit when owned or
 * settings.manage. SY_E_NOT_FOUND when it is missing or not viewable. */
int sy_dash_access_get(sy_dashboards *d, const sy_actor *actor, int64_t id, sy_dash_access *out,
                       sy_err *e);
/* Loads card card_id of dashboard dashboard_id (0 = any dashboard) into
 * *out (arena memory). SY_E_NOT_FOUND when missing. */
int sy_card_load(sy_dashboards *d, sy_arena *a, int64_t dashboard_id, int64_t card_id, sy_card *out,
                 sy_err *e);
/* Card as JSON (new reference). */
json_t *sy_card_json(const sy_card *c);

/* Validates a question by answering it once (as_of now) for actor; an error
 * names "<prefix>.<field>" (prefix "question") and is always SY_E_INVALID
 * for bad input (an unknown segment included). With headline != 0 the
 * question must also have a headline (alerts). */
int sy_dash_check_question(sy_dashboards *d, const sy_actor *actor, json_t *question,
                           const char *prefix, int headline, sy_err *e);

/* A value as JSON: the number, or null when absent. */
json_t *sy_dash_num(int has, double v);

/* The alert routes (alerts.c) and the scheduler. */
extern sy_route sy_alert_routes[];
extern const size_t sy_alert_routes_n;
void sy_alerts_start(sy_dashboards *d);
void sy_alerts_stop(sy_dashboards *d);
/* 409 when an alert rule watches card_id (or, with card_id 0, any card of
 * dashboard_id); runs inside the delete's write job. */
int sy_alerts_card_in_use(sy_db *db, int64_t dashboard_id, int64_t card_id, sy_err *e);

#endif
