/* models_api.c — HTTP routes of the models module and its lifecycle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "models_int.h"

#define CTX(r) ((sy_models *)(r)->ctx)
static const char *const tier_keys[4] = {"", "high", "medium", "low"};
static const char *const tier_labels[4] = {"", "高频", "中频", "低频"};

static json_t *category_json(sy_models *m, int k) {
    char name[128];
    sy_events_dim_name(m->events, SY_DIM_CATEGORY, (uint16_t)k, name, sizeof name);
    return json_string(name);
}

/* GET /api/v1/models/rfm — group sizes among the caller's contacts. */
static int h_rfm(sy_req *r) {
    sy_models *m = CTX(r);
    model_state *s;
    int rc = model_current(m, &s, &r->err);
    if (rc) return rc;
    sy_idset *scope = NULL;
    if ((rc = sy_contacts_select_scope(m->contacts, sy_req_actor(r), &scope, &r->err))) {
        model_state_put(m, s);
        return rc;
    }
    size_t counts[8] = {0}, buyers = 0;
    for (size_t c = 0; c < s->n; c++) {
        model_rfm_t x;
        if (!sy_idset_contains(scope, (uint32_t)c) || !model_rfm(s, (uint32_t)c, &x)) continue;
        counts[x.group]++;
        buyers++;
    }
    json_t *groups = json_array();
    for (int g = 0; g < 8; g++)
        json_array_append_new(groups,
                              json_pack("{s:s, s:s, s:I}", "key", model_group_keys[g], "label",
                                        model_group_labels[g], "count", (json_int_t)counts[g]));
    json_t *b =
        json_pack("{s:[I,I,I,I], s:[I,I,I,I], s:[I,I,I,I]}", "recency_ms", (json_int_t)s->r_q[0],
                  (json_int_t)s->r_q[1], (json_int_t)s->r_q[2], (json_int_t)s->r_q[3], "orders",
                  (json_int_t)s->f_q[0], (json_int_t)s->f_q[1], (json_int_t)s->f_q[2],
                  (json_int_t)s->f_q[3], "spend_fen", (json_int_t)s->m_q[0], (json_int_t)s->m_q[1],
                  (json_int_t)s->m_q[2], (json_int_t)s->m_q[3]);
    json_t *o = json_pack("{s:I, s:I, s:o, s:o}", "as_of", (json_int_t)s->as_of, "buyers",
                          (json_int_t)buyers, "quintile_boundaries", b, "groups", groups);
    sy_idset_destroy(scope);
    model_state_put(m, s);
    return sy_reply_json(r, 200, o);
}

/* GET /api/v1/contacts/{id}/models */
static int h_contact(sy_req *r) {
    sy_models *m = CTX(r);
    int64_t id, live;
    if (sy_req_param_id(r, "id", &id)) return r->err.code;
    int rc = sy_contacts_visible(m->contacts, r->arena, sy_req_actor(r), id, &live, &r->err);
    if (rc) return rc;
    model_state *s;
    if ((rc = model_current(m, &s, &r->err))) return rc;
    uint32_t c = (uint32_t)live;
    json_t *o =
        json_pack("{s:I, s:I}", "contact_id", (json_int_t)live, "as_of", (json_int_t)s->as_of);
    model_rfm_t x;
    if (model_rfm(s, c, &x))
        json_object_set_new(o, "rfm",
                            json_pack("{s:i, s:i, s:i, s:s, s:s, s:I, s:I, s:I}", "r", x.r, "f",
                                      x.f, "m", x.m, "group", model_group_keys[x.group], "label",
                                      model_group_labels[x.group], "recency_ms",
                                      (json_int_t)x.recency_ms, "orders", (json_int_t)x.orders,
                                      "spend_fen", (json_int_t)x.spend_fen));
    else
        json_object_set_new(o, "rfm", json_null());
    json_t *tiers = json_array();
    for (int k = 1; k < s->k; k++) {
        int64_t mi = 0;
        int t = model_tier(s, c, k, &mi);
        if (!t) continue;
        json_t *one = json_pack("{s:o, s:s, s:s, s:I}", "category", category_json(m, k), "tier",
                                tier_keys[t], "label", tier_labels[t], "orders",
                                (json_int_t)s->cat_cnt[(size_t)c * (size_t)s->k + (size_t)k]);
        json_object_set_new(one, "mean_interval_ms", mi ? json_integer(mi) : json_null());
        json_array_append_new(tiers, one);
    }
    json_object_set_new(o, "frequency", tiers);
    int cats[3];
    float sc[3];
    size_t n = model_interests(s, c, cats, sc, 3, 0);
    json_t *interests = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(interests, json_pack("{s:o, s:f}", "category",
                                                   category_json(m, cats[i]), "score", sc[i]));
    json_object_set_new(o, "interests", interests);
    model_state_put(m, s);
    return sy_reply_json(r, 200, o);
}

/* GET /api/v1/models/interest/evaluation?days=14&as_of= */
static int h_eval(sy_req *r) {
    sy_models *m = CTX(r);
    int64_t days = 14, as_of = 0;
    const char *d = sy_req_query(r, "days"), *a = sy_req_query(r, "as_of");
    if (d && (sy_parse_i64(d, &days) || days < 1 || days > 90))
        return sy_err_field(&r->err, SY_E_INVALID, "days",
                            "days \"%s\" must be a whole number from 1 to 90", d);
    if (a && sy_parse_i64(a, &as_of) && sy_time_parse(a, &as_of))
        return sy_err_field(&r->err, SY_E_INVALID, "as_of",
                            "as_of \"%s\" must be epoch ms or an ISO-8601 time", a);
    if (!a) as_of = sy_now_ms() - days * 86400000LL;
    sy_models_eval ev;
    int rc = sy_models_evaluate(m, as_of, (int)days, &ev, &r->err);
    if (rc) return rc;
    return sy_reply_json(r, 200,
                         json_pack("{s:I, s:i, s:I, s:f, s:f}", "as_of", (json_int_t)ev.as_of,
                                   "days", ev.days, "contacts_evaluated", (json_int_t)ev.contacts,
                                   "precision_at_3", ev.precision_at_3, "baseline_precision_at_3",
                                   ev.baseline_at_3));
}

/* POST /api/v1/models/refresh — recompute the model tags now. */
static int h_refresh(sy_req *r) {
    sy_models *m = CTX(r);
    if (r->body_len) {
        json_t *body;
        static const char *const none[] = {NULL};
        if (sy_req_json(r, &body) || sy_json_only(body, none, &r->err)) return r->err.code;
    }
    if (!m->tags) return sy_err_set(&r->err, SY_E_UNAVAILABLE, "model tags are not enabled");
    int rc = models_refresh_tags(m, &r->err);
    if (rc) return rc;
    return sy_reply_json(r, 200,
                         json_pack("{s:I, s:I}", "model_tags", (json_int_t)m->n_model_tags, "ms",
                                   (json_int_t)m->last_refresh_ms));
}

static sy_route routes[] = {
    {"POST", "/api/v1/models/refresh", h_refresh, NULL, SY_AUTH_STAFF, SY_PERM_SETTINGS_MANAGE, 0,
     "Recompute the model tags (RFM groups, frequency tiers, interests) now"},
    {"GET", "/api/v1/models/rfm", h_rfm, NULL, SY_AUTH_STAFF, SY_PERM_CONTACTS_READ, 0,
     "RFM groups among the caller's contacts"},
    {"GET", "/api/v1/contacts/{id}/models", h_contact, NULL, SY_AUTH_STAFF, SY_PERM_CONTACTS_READ,
     0, "A contact's RFM scores, purchase-frequency tiers and predicted interests"},
    {"GET", "/api/v1/models/interest/evaluation", h_eval, NULL, SY_AUTH_STAFF,
     SY_PERM_CONTACTS_READ, 0,
     "Interest prediction precision@3 against the popular-categories baseline"},
};

int sy_models_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_engine *engine,
                     sy_events *events, sy_models **out, sy_err *e) {
    sy_models *m = calloc(1, sizeof *m);
    if (!m) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    m->st = st, m->staff = staff, m->contacts = contacts, m->engine = engine, m->events = events;
    pthread_mutex_init(&m->lock, NULL);
    *out = m;
    return 0;
}

void sy_models_destroy(sy_models *m) {
    if (!m) return;
    models_refresh_stop(m);
    if (m->cur) model_state_free(m->cur);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void sy_models_register(sy_models *m, sy_http *h) {
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        routes[i].ctx = m;
    sy_http_add_routes(h, routes, sizeof routes / sizeof routes[0]);
    if (models_refresh_start(m)) sy_error("msg=\"model tag refresher not started\"");
}
