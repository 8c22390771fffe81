/* models.h — model tags' computations over the event index (issue 5 §2):
 * RFM scores and the eight classic RFM groups, purchase-frequency tiers per
 * category, and interest prediction per category (time-decayed behaviour
 * spread through category co-purchase similarity), with an offline
 * evaluation against a "most popular categories" baseline. The formulas are
 * in docs/models.md.
 *
 * Results are computed from the engine (derived data) on demand and cached
 * until the store changes or a minute passes, and materialised as model tags
 * (see sy_models_set_tags). */
#ifndef SY_MODELS_H
#define SY_MODELS_H

#include <stdint.h>
#include "base/base.h"
#include "store/store.h"
#include "http/http.h"
#include "staff/staff.h"
#include "contacts/contacts.h"
#include "engine/engine.h"
#include "events/events.h"

typedef struct sy_models sy_models;

int sy_models_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_engine *engine,
                     sy_events *events, sy_models **out, sy_err *e);
void sy_models_destroy(sy_models *m); /* NULL ok */
void sy_models_register(sy_models *m, sy_http *h);

/* Interest-prediction evaluation: predictions from events before as_of,
 * truth = categories ordered in [as_of, as_of + days). precision@3 of the
 * model and of the popular-categories baseline, over contacts that ordered
 * in the window. */
typedef struct sy_models_eval {
    int64_t as_of;
    int days;
    size_t contacts;       /* contacts evaluated */
    double precision_at_3; /* model */
    double baseline_at_3;  /* most popular 3 categories */
} sy_models_eval;
int sy_models_evaluate(sy_models *m, int64_t as_of, int days, sy_models_eval *out, sy_err *e);

/* Model tags: with tags set, the server keeps tags of kind "model" for the
 * RFM groups, purchase-frequency tiers and predicted interests (refreshed
 * before serving, then every five minutes and on POST /api/v1/models/refresh).
 * Call before sy_models_register. */
struct sy_tags;
void sy_models_set_tags(sy_models *m, struct sy_tags *tags);

#endif
