/* lifecycle_int.h — shared by lifecycle.c (rules, evaluation, thread) and
 * lifecycle_api.c (HTTP). */
#ifndef SY_LIFECYCLE_INT_H
#define SY_LIFECYCLE_INT_H

#include <pthread.h>
#include "lifecycle.h"

struct sy_lifecycle {
    sy_store *st;
    sy_staff *staff;
    sy_contacts *contacts;
    sy_engine *engine;
    sy_events *events;

    pthread_mutex_t lock; /* guards rules, stage, since, due, next_due, n, cap */
    sy_lc_rules rules;
    uint8_t *stage; /* current stage by contact id (index < n) */
    int64_t *since; /* when the contact entered it */
    int64_t *due;   /* when time alone may change it (sy_lc_next_change); 0 never */
    size_t n, cap;

    pthread_mutex_t pass_lock; /* one pass at a time */
    /* the thread */
    pthread_t thread;
    pthread_cond_t wake;
    int running, stopping;
    size_t esize;       /* engine size when the last pass started */
    uint64_t merge_gen; /* engine merge counter then */
    int64_t last_pass_ms;
    int64_t next_due; /* earliest due[] (or earlier); 0 none; under lock */
    int full_wanted;  /* rules changed: a full pass next */
};

/* Reads the settings row (defaults when absent) into *r. */
int sy_lc_settings_load(sy_db *db, sy_lc_rules *r, sy_err *e);
/* Rules as JSON (new reference). */
json_t *sy_lc_rules_json(const sy_lc_rules *r);
/* Saves new rules (audited) and makes them current. */
int sy_lc_settings_save(sy_lifecycle *lc, const sy_actor *actor, const sy_lc_rules *r, sy_err *e);
/* Runs the first pass (no events) and starts the thread. */
int sy_lc_start(sy_lifecycle *lc, sy_err *e);
/* Wakes the evaluation thread (after the rules changed). */
void sy_lc_wake(sy_lifecycle *lc);

#endif
