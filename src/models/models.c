/* models.c — RFM, purchase-frequency tiers and interest prediction computed
 * from the event index; see docs/models.md for the formulas. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "models_int.h"

/* Behaviour weights for interest (event name → weight); orders also feed
 * RFM and frequency. Names follow the demo and Segment's e-commerce spec. */
static const struct {
    const char *event;
    float weight;
} weights[] = {{"page_view", 0.5f},       {"view_item", 1.0f},     {"Product Viewed", 1.0f},
               {"add_to_cart", 3.0f},     {"Product Added", 3.0f}, {"order_paid", 5.0f},
               {"Order Completed", 5.0f}, {"share", 1.0f},         {"coupon_claim", 1.0f}};

#define HALF_LIFE_DAYS 14.0
#define SPREAD 0.5f
#define MAX_CATS 64 /* categories modelled (bit masks); more are ignored */

/* Pass 1: sizes. */
typedef struct sizes {
    uint32_t max_contact;
    uint16_t max_cat;
    uint16_t max_type;
} sizes;

static void size_fn(void *ctx, const sy_engine_event *ev) {
    sizes *z = ctx;
    if (ev->contact > z->max_contact) z->max_contact = ev->contact;
    if (ev->dims[SY_DIM_CATEGORY] > z->max_cat) z->max_cat = ev->dims[SY_DIM_CATEGORY];
    if (ev->type > z->max_type) z->max_type = ev->type;
}

typedef struct acc {
    model_state *s;
    const float *w;   /* weight per type id */
    size_t n_types;   /* entries in w */
    int64_t truth_to; /* evaluation window end (0: none) */
    uint64_t *truth;  /* per contact: categories ordered in [as_of, truth_to) */
} acc;

static void acc_fn(void *ctx, const sy_engine_event *ev) {
    acc *a = ctx;
    model_state *s = a->s;
    if (ev->flags & (SY_EV_SYSTEM | SY_EV_META)) return;
    uint32_t c = ev->contact;
    /* events that arrived after the sizing pass may name newer contacts or
     * types: they belong to the next computation */
    if (c >= s->n || ev->type >= a->n_types) return;
    int k = ev->dims[SY_DIM_CATEGORY];
    if (k >= s->k) k = 0;
    if (ev->ts >= s->as_of) {
        if (a->truth && ev->ts < a->truth_to && (ev->flags & SY_EV_ORDER) && k)
            a->truth[c] |= 1ULL << k;
        return;
    }
    if (k && a->w[ev->type] > 0) {
        double age_days = (double)(s->as_of - ev->ts) / 86400000.0;
        s->interest[(size_t)c * s->k + k] +=
            a->w[ev->type] * (float)exp2(-age_days / HALF_LIFE_DAYS);
    }
    if (ev->flags & SY_EV_ORDER) {
        s->orders[c]++;
        s->spend[c] += ev->revenue_fen;
        if (ev->ts > s->last_order[c]) s->last_order[c] = ev->ts;
        if (k) {
            size_t i = (size_t)c * s->k + k;
            if (!s->cat_cnt[i] || ev->ts < s->cat_first[i]) s->cat_first[i] = ev->ts;
            if (ev->ts > s->cat_last[i]) s->cat_last[i] = ev->ts;
            if (s->cat_cnt[i] < UINT16_MAX) s->cat_cnt[i]++;
        }
    } else if (ev->flags & SY_EV_REFUND) {
        s->spend[c] -= ev->revenue_fen;
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Quintile boundaries (20/40/60/80 %) of v (sorted in place). */
static void quintiles(int64_t *v, size_t n, int64_t out[4]) {
    qsort(v, n, sizeof *v, cmp_i64);
    for (int q = 0; q < 4; q++)
        out[q] = n ? v[(size_t)((double)(q + 1) * (double)n / 5.0) < n
                           ? (size_t)((double)(q + 1) * (double)n / 5.0)
                           : n - 1]
                   : 0;
}

void model_state_free(model_state *s) {
    if (!s) return;
    free(s->orders);
    free(s->spend);
    free(s->last_order);
    free(s->interest);
    free(s->cat_first);
    free(s->cat_last);
    free(s->cat_cnt);
    free(s->sim);
    free(s->tier_p33);
    free(s->tier_p66);
    free(s->cat_orders);
    free(s);
}

int model_compute(sy_models *m, int64_t as_of, int truth_days, uint64_t **truth_out,
                  model_state **out, sy_err *e) {
    sizes z = {0};
    sy_engine_scan(m->engine, size_fn, &z);
    model_state *s = calloc(1, sizeof *s);
    if (!s) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    s->as_of = as_of;
    s->n = (size_t)z.max_contact + 1;
    s->k = z.max_cat + 1 > MAX_CATS ? MAX_CATS : z.max_cat + 1;
    size_t nk = s->n * (size_t)s->k;
    s->orders = calloc(s->n, sizeof *s->orders);
    s->spend = calloc(s->n, sizeof *s->spend);
    s->last_order = calloc(s->n, sizeof *s->last_order);
    s->interest = calloc(nk, sizeof *s->interest);
    s->cat_first = calloc(nk, sizeof *s->cat_first);
    s->cat_last = calloc(nk, sizeof *s->cat_last);
    s->cat_cnt = calloc(nk, sizeof *s->cat_cnt);
    s->sim = calloc((size_t)s->k * (size_t)s->k, sizeof *s->sim);
    s->tier_p33 = calloc((size_t)s->k, sizeof *s->tier_p33);
    s->tier_p66 = calloc((size_t)s->k, sizeof *s->tier_p66);
    s->cat_orders = calloc((size_t)s->k, sizeof *s->cat_orders);
    float *w = calloc((size_t)z.max_type + 1, sizeof *w);
    uint64_t *truth = truth_out ? calloc(s->n, sizeof *truth) : NULL;
    if (!s->orders || !s->spend || !s->last_order || !s->interest || !s->cat_first ||
        !s->cat_last || !s->cat_cnt || !s->sim || !s->tier_p33 || !s->tier_p66 || !s->cat_orders ||
        !w || (truth_out && !truth)) {
        free(w);
        free(truth);
        model_state_free(s);
        return sy_err_set(e, SY_E_NOMEM, "out of memory for the models");
    }
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; i++) {
        int t;
        sy_err ig;
        if (sy_events_type_id(m->events, weights[i].event, &t, &ig) == 0 && t <= z.max_type)
            w[t] = weights[i].weight;
    }
    acc a = {s, w, (size_t)z.max_type + 1, truth ? as_of + (int64_t)truth_days * 86400000LL : 0,
             truth};
    sy_engine_scan(m->engine, acc_fn, &a);
    free(w);

    /* co-purchase similarity between categories: cosine over buyers */
    uint32_t *buyers = calloc((size_t)s->k, sizeof *buyers);
    double *co = calloc((size_t)s->k * (size_t)s->k, sizeof *co);
    if (!buyers || !co) {
        free(buyers);
        free(co);
        free(truth);
        model_state_free(s);
        return sy_err_set(e, SY_E_NOMEM, "out of memory for the models");
    }
    for (size_t c = 0; c < s->n; c++) {
        const uint16_t *cc = s->cat_cnt + c * (size_t)s->k;
        for (int i = 1; i < s->k; i++) {
            if (!cc[i]) continue;
            buyers[i]++;
            s->cat_orders[i] += cc[i];
            for (int j = i + 1; j < s->k; j++)
                if (cc[j]) co[(size_t)i * (size_t)s->k + (size_t)j]++;
        }
    }
    for (int i = 1; i < s->k; i++)
        for (int j = i + 1; j < s->k; j++) {
            double d = sqrt((double)buyers[i] * (double)buyers[j]);
            float v = d > 0 ? (float)(co[(size_t)i * (size_t)s->k + (size_t)j] / d) : 0;
            s->sim[(size_t)i * (size_t)s->k + (size_t)j] =
                s->sim[(size_t)j * (size_t)s->k + (size_t)i] = v;
        }
    free(co);
    free(buyers);
    /* popular categories by orders */
    for (int r = 0; r < 3; r++) {
        int best = 0;
        for (int i = 1; i < s->k; i++) {
            int used = 0;
            for (int q = 0; q < r; q++)
                used |= s->popular[q] == i;
            if (!used && (!best || s->cat_orders[i] > s->cat_orders[best])) best = i;
        }
        s->popular[r] = best;
    }
    /* frequency tiers: tertiles of each category's mean purchase interval */
    int64_t *iv = malloc(s->n * sizeof *iv);
    for (int k = 1; k < s->k && iv; k++) {
        size_t n = 0;
        for (size_t c = 0; c < s->n; c++) {
            size_t i = c * (size_t)s->k + (size_t)k;
            if (s->cat_cnt[i] >= 2)
                iv[n++] = (s->cat_last[i] - s->cat_first[i]) / (s->cat_cnt[i] - 1);
        }
        qsort(iv, n, sizeof *iv, cmp_i64);
        s->tier_p33[k] = n ? iv[n / 3] : 0;
        s->tier_p66[k] = n ? iv[(2 * n) / 3 < n ? (2 * n) / 3 : n - 1] : 0;
    }
    /* RFM quintiles over buyers */
    int64_t *rv = malloc(s->n * sizeof *rv), *fv = malloc(s->n * sizeof *fv),
            *mv = malloc(s->n * sizeof *mv);
    size_t nb = 0;
    for (size_t c = 0; c < s->n && rv && fv && mv; c++) {
        if (!s->orders[c]) continue;
        rv[nb] = as_of - s->last_order[c];
        fv[nb] = s->orders[c];
        mv[nb] = s->spend[c];
        nb++;
    }
    if (rv && fv && mv) {
        quintiles(rv, nb, s->r_q);
        quintiles(fv, nb, s->f_q);
        quintiles(mv, nb, s->m_q);
    }
    s->buyers = nb;
    free(rv);
    free(fv);
    free(mv);
    free(iv);
    *out = s;
    if (truth_out) *truth_out = truth;
    return 0;
}

/* Score 1..5 from quintile boundaries: how many boundaries v exceeds (or,
 * for recency, stays under). */
static int score(int64_t v, const int64_t q[4], int lower_is_better) {
    int n = 0;
    for (int i = 0; i < 4; i++)
        n += lower_is_better ? v < q[i] : v > q[i];
    return 1 + n;
}

int model_rfm(const model_state *s, uint32_t c, model_rfm_t *out) {
    if (c >= s->n || !s->orders[c]) return 0;
    out->recency_ms = s->as_of - s->last_order[c];
    out->orders = s->orders[c];
    out->spend_fen = s->spend[c];
    out->r = score(out->recency_ms, s->r_q, 1);
    out->f = score(out->orders, s->f_q, 0);
    out->m = score(out->spend_fen, s->m_q, 0);
    int hr = out->r >= 3, hf = out->f >= 3, hm = out->m >= 3;
    out->group = (hm ? 0 : 4) + (hr ? 0 : 2) + (hf ? 0 : 1);
    return 1;
}

const char *const model_group_keys[8] = {
    "important_value", "important_develop", "important_retain", "important_recall",
    "general_value",   "general_develop",   "general_retain",   "general_recall"};
const char *const model_group_labels[8] = {"重要价值客户", "重要发展客户", "重要保持客户",
                                           "重要挽留客户", "一般价值客户", "一般发展客户",
                                           "一般保持客户", "一般挽留客户"};

int model_tier(const model_state *s, uint32_t c, int k, int64_t *mean_interval) {
    if (c >= s->n || k <= 0 || k >= s->k) return 0;
    size_t i = (size_t)c * (size_t)s->k + (size_t)k;
    if (!s->cat_cnt[i]) return 0;
    if (s->cat_cnt[i] < 2) {
        *mean_interval = 0;
        return 3; /* one purchase: low frequency */
    }
    *mean_interval = (s->cat_last[i] - s->cat_first[i]) / (s->cat_cnt[i] - 1);
    return *mean_interval <= s->tier_p33[k] ? 1 : *mean_interval <= s->tier_p66[k] ? 2 : 3;
}

size_t model_interests(const model_state *s, uint32_t c, int *cats, float *scores, size_t cap,
                       int fill_popular) {
    float final[MAX_CATS] = {0};
    size_t n = 0;
    if (c < s->n) {
        const float *raw = s->interest + (size_t)c * (size_t)s->k;
        for (int j = 1; j < s->k; j++) {
            float v = raw[j];
            for (int i = 1; i < s->k; i++)
                if (i != j) v += SPREAD * raw[i] * s->sim[(size_t)i * (size_t)s->k + (size_t)j];
            final[j] = v;
        }
    }
    for (size_t r = 0; r < cap; r++) {
        int best = 0;
        for (int j = 1; j < s->k; j++) {
            int used = 0;
            for (size_t q = 0; q < n; q++)
                used |= cats[q] == j;
            if (!used && final[j] > 0 && (!best || final[j] > final[best])) best = j;
        }
        if (!best) break;
        cats[n] = best;
        scores[n] = final[best];
        n++;
    }
    /* Few signals: fill the rest with the most popular categories. */
    for (int p = 0; fill_popular && n < cap && p < 3; p++) {
        int used = 0;
        for (size_t q = 0; q < n; q++)
            used |= cats[q] == s->popular[p];
        if (!used && s->popular[p]) {
            cats[n] = s->popular[p];
            scores[n] = 0;
            n++;
        }
    }
    return n;
}

int sy_models_evaluate(sy_models *m, int64_t as_of, int days, sy_models_eval *out, sy_err *e) {
    model_state *s;
    uint64_t *truth;
    int rc = model_compute(m, as_of, days, &truth, &s, e);
    if (rc) return rc;
    double model_hits = 0, base_hits = 0;
    size_t evaluated = 0;
    for (size_t c = 0; c < s->n; c++) {
        if (!truth[c]) continue;
        evaluated++;
        int cats[3];
        float sc[3];
        size_t n = model_interests(s, (uint32_t)c, cats, sc, 3, 1);
        for (size_t i = 0; i < n; i++)
            model_hits += (truth[c] >> cats[i]) & 1;
        for (int i = 0; i < 3; i++)
            base_hits += s->popular[i] ? (double)((truth[c] >> s->popular[i]) & 1) : 0;
    }
    out->as_of = as_of;
    out->days = days;
    out->contacts = evaluated;
    out->precision_at_3 = evaluated ? model_hits / (3.0 * (double)evaluated) : 0;
    out->baseline_at_3 = evaluated ? base_hits / (3.0 * (double)evaluated) : 0;
    free(truth);
    model_state_free(s);
    return 0;
}

/* The current state (as of now), cached until the store changes or a
 * minute passes. States are reference-counted (the cache holds one
 * reference); release with model_state_put. */
int model_current(sy_models *m, model_state **out, sy_err *e) {
    uint64_t gen = sy_store_generation(m->st);
    int64_t now = sy_now_ms();
    pthread_mutex_lock(&m->lock);
    if (m->cur && m->cur_gen == gen && now - m->cur->as_of < 60000) {
        m->cur->refs++;
        *out = m->cur;
        pthread_mutex_unlock(&m->lock);
        return 0;
    }
    pthread_mutex_unlock(&m->lock);
    model_state *s;
    int rc = model_compute(m, now, 0, NULL, &s, e);
    if (rc) return rc;
    s->refs = 2; /* the cache and the caller */
    pthread_mutex_lock(&m->lock);
    model_state *old = m->cur;
    m->cur = s;
    m->cur_gen = gen;
    if (old && --old->refs == 0) model_state_free(old);
    pthread_mutex_unlock(&m->lock);
    *out = s;
    return 0;
}

void model_state_put(sy_models *m, model_state *s) {
    pthread_mutex_lock(&m->lock);
    if (--s->refs == 0) model_state_free(s);
    pthread_mutex_unlock(&m->lock);
}
