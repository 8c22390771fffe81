/* models_int.h — shared by the models module's files. */
#ifndef SY_MODELS_INT_H
#define SY_MODELS_INT_H

#include <pthread.h>
#include "models.h"
#include "tags/tags.h"

/* Everything computed from one pass over the events before as_of. Arrays
 * are indexed by contact id (n) and category dictionary id (k; 0 = none). */
typedef struct model_state {
    int64_t as_of;
    size_t n;
    int k;
    uint32_t *orders;
    int64_t *spend;
    int64_t *last_order;
    float *interest;    /* n × k time-decayed behaviour scores */
    int64_t *cat_first; /* n × k first / last order time per category */
    int64_t *cat_last;
    uint16_t *cat_cnt;            /* n × k orders per category */
    float *sim;                   /* k × k co-purchase cosine similarity */
    int64_t *tier_p33, *tier_p66; /* per category: interval tertiles (ms) */
    uint32_t *cat_orders;
    int popular[3];
    int64_t r_q[4], f_q[4], m_q[4]; /* quintile boundaries over buyers */
    size_t buyers;
    int refs; /* guarded by sy_models.lock */
} model_state;

struct sy_models {
    sy_store *st;
    sy_staff *staff;
    sy_contacts *contacts;
    sy_engine *engine;
    sy_events *events;
    pthread_mutex_t lock; /* guards cur, cur_gen and states' refs */
    model_state *cur;
    uint64_t cur_gen;
    /* model tags (models_tags.c): the refresher thread */
    sy_tags *tags;
    pthread_t refresher;
    int refresher_running, stopping, refresh_now;
    pthread_cond_t wake;
    int64_t last_refresh_ms; /* duration of the last refresh */
    size_t n_model_tags;
};
int models_refresh_start(sy_models *m);
void models_refresh_stop(sy_models *m);
/* Recomputes every model tag's members now (also from the API). */
int models_refresh_tags(sy_models *m, sy_err *e);

typedef struct model_rfm_t {
    int64_t recency_ms, spend_fen;
    uint32_t orders;
    int r, f, m;
    int group; /* index into model_group_keys */
} model_rfm_t;

extern const char *const model_group_keys[8];
extern const char *const model_group_labels[8];

int model_compute(sy_models *m, int64_t as_of, int truth_days, uint64_t **truth, model_state **out,
                  sy_err *e);
void model_state_free(model_state *s);
int model_current(sy_models *m, model_state **out, sy_err *e);
void model_state_put(sy_models *m, model_state *s);
/* 1 and *out filled when contact c has ordered before as_of, else 0. */
int model_rfm(const model_state *s, uint32_t c, model_rfm_t *out);
/* Tier of c in category k: 1 高频, 2 中频, 3 低频, 0 never bought. */
int model_tier(const model_state *s, uint32_t c, int k, int64_t *mean_interval);
/* Top categories for c (cap at most 3 used), optionally filled with the
 * popular ones; returns how many. */
size_t model_interests(const model_state *s, uint32_t c, int *cats, float *scores, size_t cap,
                       int fill_popular);

#endif
