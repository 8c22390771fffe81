/* an_metric.c — the metric dictionary (口径) and its computation.
 *
 * Every metric is a ratio num / den (den = 1 for counts) accumulated per
 * period and per breakdown group from one pass over contacts: each contact's
 * events in time order give its active days, orders and cohort, and it adds
 * its share to the periods it belongs to. Cohort sizes that must include
 * contacts without any event (new contacts) come from the contacts module's
 * facts instead. The definitions here and in docs/metrics.md are the same
 * text; tests/e2e/analytics.test.mjs checks that each key is documented. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analytics_int.h"
#include "base/json.h"

enum {
    MX_DAU,
    MX_WAU,
    MX_MAU,
    MX_STICKINESS,
    MX_NEW,
    MX_EFFECTIVE_NEW,
    MX_ACTIVATION_RATE,
    MX_FIRST_ORDER_CONV,
    MX_NEXT_MONTH_REPURCHASE,
    MX_REPURCHASE_RATE,
    MX_REPURCHASE_INTERVAL,
    MX_GMV,
    MX_AOV,
    MX_ARPU,
    MX_ARPPU,
    MX_LTV,
    MX_CART_ABANDON,
    MX_RET_D1,
    MX_RET_D7,
    MX_RET_D30,
    MX_REF_PER_CAPITA,
    MX_REF_CONVERSION,
    MX_REF_NEW_SHARE,
    MX_CAC,
    MX_ROI,
    MX_COUNT
};

typedef struct mdef {
    int id;
    const char *key, *name_zh, *name_en, *unit, *group;
    const char *formula, *day_boundary, *dedup, *edge_cases;
    const char *params; /* JSON array of {"name","default","meaning"} */
} mdef;

#define DAYB "workspace-timezone calendar days (设置 → 工作区), ranges [from, to] inclusive"

static const mdef defs[] = {
    {MX_DAU, "dau", "日活跃客户数", "Daily active contacts", "contacts", "activity",
     "distinct contacts with at least one activity event on the day; for a week or month, the "
     "mean of its daily values",
     DAYB, "one contact counts once per day; merged contacts count as the contact they merged into",
     "system events (source=system) and $identify/$alias/$group are not activity", "[]"},
    {MX_WAU, "wau", "周活跃客户数", "Weekly active contacts", "contacts", "activity",
     "distinct contacts with activity in the 7 days ending on the period's last day (a calendar "
     "week for interval=week)",
     DAYB, "one contact counts once per window",
     "the whole-range total is the window ending on `to`", "[]"},
    {MX_MAU, "mau", "月活跃客户数", "Monthly active contacts", "contacts", "activity",
     "distinct contacts with activity in the 30 days ending on the period's last day (the "
     "calendar month for interval=month)",
     DAYB, "one contact counts once per window",
     "the whole-range total is the 30 days ending on `to`", "[]"},
    {MX_STICKINESS, "stickiness", "粘性 (DAU/MAU)", "Stickiness (DAU/MAU)", "ratio", "activity",
     "mean daily active contacts of the period ÷ mau of the period", DAYB, "as dau and mau",
     "null when mau is 0", "[]"},
    {MX_NEW, "new_contacts", "新增客户数", "New contacts", "contacts", "acquisition",
     "live contacts whose created_at falls in the period", DAYB,
     "a merged contact counts once (the surviving record)",
     "contacts of unpublished imports do not count until published", "[]"},
    {MX_EFFECTIVE_NEW, "effective_new_contacts", "有效新增客户数", "Effective new contacts",
     "contacts", "acquisition",
     "new contacts of the period who did the activation event within `days` days of created_at",
     DAYB, "one contact counts once", "activation_event \"$active\" means any activity",
     "[{\"name\":\"activation_event\",\"default\":\"$active\"},{\"name\":\"days\",\"default\":7}]"},
    {MX_ACTIVATION_RATE, "activation_rate", "激活率", "Activation rate", "ratio", "acquisition",
     "effective_new_contacts ÷ new_contacts of the same period", DAYB, "as new_contacts",
     "null when there are no new contacts",
     "[{\"name\":\"activation_event\",\"default\":\"$active\"},{\"name\":\"days\",\"default\":7}]"},
    {MX_FIRST_ORDER_CONV, "first_order_conversion", "首单转化率", "First-order conversion", "ratio",
     "conversion",
     "new contacts of the period whose first order ever is within `days` days of created_at ÷ "
     "new contacts of the period",
     DAYB, "a contact's first order only (orders per 订单规则, each order_id once)",
     "a first order placed before created_at does not count; null without new contacts",
     "[{\"name\":\"days\",\"default\":30}]"},
    {MX_NEXT_MONTH_REPURCHASE, "next_month_repurchase", "次月复购率", "Next-month repurchase",
     "ratio", "conversion",
     "contacts who ordered in calendar month M and again in month M+1 ÷ contacts who ordered in "
     "M (always by month)",
     DAYB, "one contact once per month", "null while month M+1 has not begun", "[]"},
    {MX_REPURCHASE_RATE, "repurchase_rate", "复购率", "Repurchase rate", "ratio", "conversion",
     "contacts with 2 or more orders in the period ÷ contacts with at least 1 order in the period",
     DAYB, "orders per 订单规则, each order_id once", "null when nobody ordered", "[]"},
    {MX_REPURCHASE_INTERVAL, "repurchase_interval", "平均复购间隔", "Mean repurchase interval",
     "days", "conversion",
     "mean time in days between an order placed in the period and the same contact's previous "
     "order",
     DAYB, "first orders have no interval and do not count", "null when no repeat order", "[]"},
    {MX_GMV, "gmv", "成交总额 (GMV)", "GMV", "fen", "revenue",
     "sum of order amounts of orders placed in the period", DAYB,
     "each order_id once; refunds are not subtracted (see ltv)", "amounts in fen", "[]"},
    {MX_AOV, "aov", "客单价 (AOV)", "Average order value", "fen", "revenue",
     "gmv ÷ number of orders in the period", DAYB, "each order_id once", "null without orders",
     "[]"},
    {MX_ARPU, "arpu", "人均收入 (ARPU)", "ARPU", "fen", "revenue",
     "gmv of the period ÷ distinct active contacts of the period", DAYB,
     "a contact once per period", "null without active contacts", "[]"},
    {MX_ARPPU, "arppu", "付费用户人均收入 (ARPPU)", "ARPPU", "fen", "revenue",
     "gmv of the period ÷ distinct contacts who ordered in the period", DAYB,
     "a contact once per period", "null without orders", "[]"},
    {MX_LTV, "ltv", "客户终身价值 (LTV)", "LTV at day N", "fen", "revenue",
     "for contacts created in the period (the cohort): order amounts minus refunds with event "
     "time before created_at + `days` days, ÷ cohort size",
     DAYB, "each order_id once",
     "cohorts younger than `days` are still growing; null for an empty cohort",
     "[{\"name\":\"days\",\"default\":30}]"},
    {MX_CART_ABANDON, "cart_abandonment", "购物车放弃率", "Cart abandonment", "ratio", "conversion",
     "add-to-cart events of the period not followed by an order of the same contact within "
     "`hours` hours ÷ add-to-cart events of the period",
     DAYB, "every add-to-cart event counts", "null without add-to-cart events",
     "[{\"name\":\"cart_event\",\"default\":\"add_to_cart\"},{\"name\":\"hours\",\"default\":24}]"},
    {MX_RET_D1, "retention_d1", "次日留存率", "D1 retention", "ratio", "retention",
     "contacts whose first activity ever was on a day of the period and who were active again "
     "exactly 1 day later ÷ those contacts",
     DAYB, "a contact belongs to one cohort (its first active day)",
     "cohort days whose day N has not ended are left out; null when none is left", "[]"},
    {MX_RET_D7, "retention_d7", "7日留存率", "D7 retention", "ratio", "retention",
     "as retention_d1 with day 7", DAYB, "as retention_d1", "as retention_d1", "[]"},
    {MX_RET_D30, "retention_d30", "30日留存率", "D30 retention", "ratio", "retention",
     "as retention_d1 with day 30", DAYB, "as retention_d1", "as retention_d1", "[]"},
    {MX_REF_PER_CAPITA, "referral_per_capita", "人均推荐数", "Referrals per referrer", "ratio",
     "referral",
     "referral sign-ups (refer_signup events) in the period ÷ distinct contacts who shared "
     "(share events) in the period",
     DAYB, "sign-ups count every event; sharers once per period", "null without sharers",
     "[{\"name\":\"share_event\",\"default\":\"share\"},{\"name\":\"referral_event\",\"default\":"
     "\"refer_signup\"}]"},
    {MX_REF_CONVERSION, "referral_conversion", "推荐转化率", "Referral conversion", "ratio",
     "referral",
     "contacts who shared in the period and brought at least one referral sign-up in the same "
     "period ÷ contacts who shared",
     DAYB, "a contact once per period", "null without sharers",
     "[{\"name\":\"share_event\",\"default\":\"share\"},{\"name\":\"referral_event\",\"default\":"
     "\"refer_signup\"}]"},
    {MX_REF_NEW_SHARE, "referral_new_share", "推荐新客占比", "Share of new contacts from referral",
     "ratio", "referral",
     "new contacts of the period whose acquisition channel is of kind referral ÷ new contacts",
     DAYB, "as new_contacts", "null without new contacts", "[]"},
    {MX_CAC, "cac", "获客成本 (CAC)", "Customer acquisition cost", "fen", "acquisition",
     "channel costs of the period ÷ new contacts of the period (by source: that channel's cost ÷ "
     "its new contacts)",
     DAYB, "a cost entry is spread evenly over its days",
     "null without new contacts or without a recorded cost; other breakdowns than source have no "
     "cost (null)",
     "[]"},
    {MX_ROI, "roi", "投资回报率 (ROI)", "ROI", "ratio", "acquisition",
     "(order amounts minus refunds of the period's new contacts within `days` days of created_at "
     "− channel costs of the period) ÷ channel costs of the period",
     DAYB, "each order_id once", "null when the cost is 0", "[{\"name\":\"days\",\"default\":30}]"},
};

json_t *an_metric_dictionary(void) {
    json_t *arr = json_array();
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        const mdef *d = &defs[i];
        json_t *params = json_loads(d->params, 0, NULL);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "key",
                                             d->key, "name_zh", d->name_zh, "name_en", d->name_en,
                                             "unit", d->unit, "formula", d->formula, "day_boundary",
                                             d->day_boundary, "dedup", d->dedup, "edge_cases",
                                             d->edge_cases, "params",
                                             params ? params : json_array(), "group", d->group));
    }
    return arr;
}

/* --- computation --- */

#define EXT_PRE 30  /* days before `from` kept for rolling windows */
#define EXT_POST 62 /* days after `to` kept for day-N retention and month M+1 */
#define MAXW 8      /* words of the per-contact day bitset (≤ 512 days) */

typedef struct mplan {
    const mdef *d;
    an_q *q;
    sy_engine *eng;
    an_cal pc;  /* requested days, grouped into periods */
    an_cal ext; /* days [from - EXT_PRE, to + EXT_POST] */
    int P;
    int width;   /* 3 × (P + 1): num, den, aux; column P = whole range */
    int n_req;   /* requested days */
    int today_x; /* ext index of today (may be outside) */
    const an_cgroups *cg;
    const sy_contact_facts *facts;
    /* parameters */
    int t_act, t_cart, t_share, t_ref; /* event types; -1 = any activity, -2 = none */
    int days, hours, ret_n;
    /* window ext-index ranges per period (wau/mau): [lo, hi] */
    int *win_lo, *win_hi;
    int nm_lo, nm_hi; /* ext indices of the month after the last period */
} mplan;

typedef struct mctx {
    const mplan *p;
    an_groups g;
    int64_t *wrow; /* the workspace row, when no breakdown can move it */
    int oom;
} mctx;

static double fabs_i(int64_t v) {
    return v < 0 ? -(double)v : (double)v;
}

static int64_t *row_add(mctx *c, int64_t key) {
    int64_t *r = an_groups_row(&c->g, key);
    if (!r) c->oom = 1;
    return r;
}

/* ext index → period (or -1 outside the requested days) */
static inline int period_of(const mplan *p, int x) {
    int i = x - EXT_PRE;
    return i >= 0 && i < p->n_req ? p->pc.period_of_day[i] : -1;
}

static inline int bit(const uint64_t *b, int x) {
    return x >= 0 && x < MAXW * 64 && (b[x >> 6] >> (x & 63)) & 1;
}

static int any_bits(const uint64_t *b, int lo, int hi) {
    for (int x = lo < 0 ? 0 : lo; x <= hi && x < MAXW * 64; x++)
        if (bit(b, x)) return 1;
    return 0;
}

/* Adds v to column col (0 = num, 1 = den, 2 = aux) of period per (and of
 * the whole-range column when total) for every key. */
static void put(mctx *c, const int64_t *keys, int nk, int col, int per, int64_t v) {
    const mplan *p = c->p;
    if (nk == 1 && c->wrow) {
        if (per >= 0) c->wrow[col * (p->P + 1) + per] += v;
        return;
    }
    for (int k = 0; k < nk; k++) {
        int64_t *r = row_add(c, keys[k]);
        if (r && per >= 0) r[col * (p->P + 1) + per] += v;
    }
}

static int type_is(int t, const sy_engine_rec *r) {
    return t >= 0 ? r->type == t : t == -1 && AN_ACTIVE(r->flags);
}

static void metric_contact(void *vctx, uint32_t contact, const sy_engine_rec *r, size_t n) {
    mctx *c = vctx;
    const mplan *p = c->p;
    const an_cal *ext = &p->ext;
    int P = p->P;
    int64_t keys[11];
    keys[0] = INT64_MIN; /* the workspace row */
    int nk = 1 + (p->cg->bd ? an_cgroups_of(p->cg, contact, keys + 1) : 0);
    int64_t created = p->facts && contact < p->facts->n ? p->facts->created_at[contact] : 0;
    int id = p->d->id;
    uint64_t act[MAXW];
    int first_active_x = -2; /* ext index of the first activity ever; -1 = before ext */
    if (id == MX_DAU) {
        /* events are in time order: each active day once, no bitset */
        int last = -1;
        int64_t lo = ext->start[EXT_PRE], hi = ext->start[EXT_PRE + p->n_req];
        for (size_t i = 0; i < n; i++) {
            if (r[i].ts < lo || !AN_ACTIVE(r[i].flags)) continue;
            if (r[i].ts >= hi) break;
            int x = an_cal_day(ext, r[i].ts);
            if (x == last) continue;
            last = x;
            if (c->wrow && nk == 1) { /* no breakdown: straight into the workspace row */
                c->wrow[period_of(p, x)]++;
                c->wrow[P]++;
                continue;
            }
            put(c, keys, nk, 0, period_of(p, x), 1);
            put(c, keys, nk, 0, P, 1);
        }
        return;
    }
    if (id == MX_WAU || id == MX_MAU || id == MX_STICKINESS || id == MX_ARPU || id == MX_RET_D1 ||
        id == MX_RET_D7 || id == MX_RET_D30) {
        memset(act, 0, sizeof act);
        for (size_t i = 0; i < n; i++) {
            if (!AN_ACTIVE(r[i].flags)) continue;
            int x = an_cal_day(ext, r[i].ts);
            if (first_active_x == -2) first_active_x = x;
            if (x >= 0 && x < ext->n_days) act[x >> 6] |= 1ull << (x & 63);
        }
    }
    switch (id) {
    case MX_STICKINESS:
        for (int x = EXT_PRE; x < EXT_PRE + p->n_req; x++)
            if (bit(act, x)) {
                put(c, keys, nk, 0, period_of(p, x), 1);
                put(c, keys, nk, 0, P, 1);
            }
        /* fall through: stickiness also needs mau (aux) */
        __attribute__((fallthrough));
    case MX_WAU:
    case MX_MAU:
        for (int k = 0; k <= P; k++)
            if (any_bits(act, p->win_lo[k], p->win_hi[k]))
                put(c, keys, nk, id == MX_STICKINESS ? 2 : 0, k, 1);
        break;
    case MX_EFFECTIVE_NEW:
    case MX_ACTIVATION_RATE:
    case MX_FIRST_ORDER_CONV:
    case MX_LTV:
    case MX_ROI: {
        if (!created) break;
        int per = period_of(p, an_cal_day(ext, created));
        if (per < 0) break;
        int64_t end = created + (int64_t)p->days * AN_DAY_MS, v = 0;
        int hit = 0;
        for (size_t i = 0; i < n && !hit; i++) {
            if (id == MX_FIRST_ORDER_CONV) {
                if (r[i].flags & SY_EV_ORDER) { /* the first order ever decides */
                    hit = r[i].ts >= created && r[i].ts < end;
                    break;
                }
            } else if (id == MX_LTV || id == MX_ROI) {
                if (r[i].ts < created || r[i].ts >= end) continue;
                if (r[i].flags & SY_EV_ORDER) v += sy_engine_revenue_unlocked(p->eng, r[i].pos);
                if (r[i].flags & SY_EV_REFUND) v -= sy_engine_revenue_unlocked(p->eng, r[i].pos);
            } else if (r[i].ts >= created && r[i].ts < end && type_is(p->t_act, &r[i])) {
                hit = 1;
            }
        }
        if (id == MX_LTV || id == MX_ROI) {
            put(c, keys, nk, 0, per, v);
            put(c, keys, nk, 0, P, v);
        } else if (hit) {
            put(c, keys, nk, 0, per, 1);
            put(c, keys, nk, 0, P, 1);
        }
        break;
    }
    case MX_NEXT_MONTH_REPURCHASE:
    case MX_REPURCHASE_RATE:
    case MX_ARPPU: {
        int cnt[512 + 1]; /* orders per period (index P = whole range) */
        int64_t fen[512 + 1];
        for (int k = 0; k <= P; k++) {
            cnt[k] = 0;
            fen[k] = 0;
        }
        for (size_t i = 0; i < n; i++) {
            if (!(r[i].flags & SY_EV_ORDER)) continue;
            int x = an_cal_day(ext, r[i].ts), per = period_of(p, x);
            if (id == MX_NEXT_MONTH_REPURCHASE && x >= p->nm_lo && x <= p->nm_hi) {
                /* the month after the last requested month */
                cnt[P]++;
                continue;
            }
            if (per < 0) continue;
            cnt[per]++;
            if (id != MX_NEXT_MONTH_REPURCHASE) cnt[P]++;
            if (id == MX_ARPPU) {
                int64_t f = sy_engine_revenue_unlocked(p->eng, r[i].pos);
                fen[per] += f;
                fen[P] += f;
            }
        }
        if (id == MX_NEXT_MONTH_REPURCHASE) {
            /* column P holds the month after the range (for the last period) */
            for (int k = 0; k < P; k++) {
                if (!cnt[k]) continue;
                put(c, keys, nk, 1, k, 1);
                int next = k + 1 < P ? cnt[k + 1] : cnt[P];
                if (next) put(c, keys, nk, 0, k, 1);
            }
            break;
        }
        for (int k = 0; k <= P; k++) {
            if (!cnt[k]) continue;
            put(c, keys, nk, 1, k, 1);
            if (id == MX_REPURCHASE_RATE && cnt[k] >= 2) put(c, keys, nk, 0, k, 1);
            if (id == MX_ARPPU) put(c, keys, nk, 0, k, fen[k]);
        }
        break;
    }
    case MX_ARPU:
    case MX_GMV:
    case MX_AOV:
    case MX_REPURCHASE_INTERVAL: {
        int64_t prev = INT64_MIN;
        for (size_t i = 0; i < n; i++) {
            if (!(r[i].flags & SY_EV_ORDER)) continue;
            int per = period_of(p, an_cal_day(ext, r[i].ts));
            int64_t last = prev;
            prev = r[i].ts;
            if (per < 0) continue;
            if (id == MX_REPURCHASE_INTERVAL) {
                if (last == INT64_MIN) continue;
                put(c, keys, nk, 0, per, r[i].ts - last);
                put(c, keys, nk, 0, P, r[i].ts - last);
                put(c, keys, nk, 1, per, 1);
                put(c, keys, nk, 1, P, 1);
                continue;
            }
            int64_t f = sy_engine_revenue_unlocked(p->eng, r[i].pos);
            put(c, keys, nk, 0, per, f);
            put(c, keys, nk, 0, P, f);
            if (id == MX_AOV) {
                put(c, keys, nk, 1, per, 1);
                put(c, keys, nk, 1, P, 1);
            }
        }
        if (id == MX_ARPU) {
            int seen[512 + 1];
            for (int k = 0; k <= P; k++)
                seen[k] = 0;
            for (int x = EXT_PRE; x < EXT_PRE + p->n_req; x++)
                if (bit(act, x)) seen[period_of(p, x)] = seen[P] = 1;
            for (int k = 0; k <= P; k++)
                if (seen[k]) put(c, keys, nk, 1, k, 1);
        }
        break;
    }
    case MX_CART_ABANDON:
        for (size_t i = 0; i < n; i++) {
            if (!type_is(p->t_cart, &r[i])) continue;
            int per = period_of(p, an_cal_day(ext, r[i].ts));
            if (per < 0) continue;
            int ordered = 0;
            int64_t end = r[i].ts + (int64_t)p->hours * 3600000LL;
            for (size_t k = i + 1; k < n && r[k].ts < end && !ordered; k++)
                if ((r[k].flags & SY_EV_ORDER) && r[k].ts >= r[i].ts) ordered = 1;
            put(c, keys, nk, 1, per, 1);
            put(c, keys, nk, 1, P, 1);
            if (!ordered) {
                put(c, keys, nk, 0, per, 1);
                put(c, keys, nk, 0, P, 1);
            }
        }
        break;
    case MX_RET_D1:
    case MX_RET_D7:
    case MX_RET_D30: {
        if (first_active_x < EXT_PRE) break;
        int per = period_of(p, first_active_x);
        if (per < 0) break;
        int target = first_active_x + p->ret_n;
        if (target >= p->today_x) break; /* day N has not ended */
        put(c, keys, nk, 1, per, 1);
        put(c, keys, nk, 1, P, 1);
        if (bit(act, target)) {
            put(c, keys, nk, 0, per, 1);
            put(c, keys, nk, 0, P, 1);
        }
        break;
    }
    case MX_REF_PER_CAPITA:
    case MX_REF_CONVERSION: {
        int shared[512 + 1], refs[512 + 1];
        for (int k = 0; k <= P; k++)
            shared[k] = refs[k] = 0;
        for (size_t i = 0; i < n; i++) {
            int s = type_is(p->t_share, &r[i]), f = type_is(p->t_ref, &r[i]);
            if (!s && !f) continue;
            int per = period_of(p, an_cal_day(ext, r[i].ts));
            if (per < 0) continue;
            if (s) shared[per] = shared[P] = 1;
            if (f) {
                refs[per]++;
                refs[P]++;
            }
        }
        for (int k = 0; k <= P; k++) {
            if (id == MX_REF_PER_CAPITA) {
                if (refs[k]) put(c, keys, nk, 0, k, refs[k]);
                if (shared[k]) put(c, keys, nk, 1, k, 1);
            } else if (shared[k]) {
                put(c, keys, nk, 1, k, 1);
                if (refs[k]) put(c, keys, nk, 0, k, 1);
            }
        }
        break;
    }
    default:
        break;
    }
}

/* Cohort sizes from the contacts' facts (contacts without events count). */
static int facts_pass(const mplan *p, mctx *c, const sy_idset *only) {
    const sy_contact_facts *f = p->facts;
    int id = p->d->id;
    int P = p->P;
    int col = 1;
    for (uint32_t k = 1; k < f->n && !c->oom; k++) {
        if (!f->created_at[k]) continue;
        if (only && !sy_idset_contains(only, k)) continue;
        int per = period_of(p, an_cal_day(&p->ext, f->created_at[k]));
        if (per < 0) continue;
        int64_t keys[11];
        keys[0] = INT64_MIN;
        int nk = 1 + (p->cg->bd ? an_cgroups_of(p->cg, k, keys + 1) : 0);
        put(c, keys, nk, col, per, 1);
        put(c, keys, nk, col, P, 1);
        if (id == MX_NEW) {
            put(c, keys, nk, 0, per, 1);
            put(c, keys, nk, 0, P, 1);
        } else if (id == MX_REF_NEW_SHARE && f->source[k]) {
            for (size_t ch = 0; ch < f->n_channels; ch++)
                if (f->channels[ch].id == f->source[k] &&
                    strcmp(f->channels[ch].kind, "referral") == 0) {
                    put(c, keys, nk, 0, per, 1);
                    put(c, keys, nk, 0, P, 1);
                }
        }
    }
    return c->oom ? -1 : 0;
}

static int param_int(json_t *params, const char *name, int dflt, int lo, int hi, int *out,
                     sy_arena *a, sy_err *e) {
    json_t *v = params ? json_object_get(params, name) : NULL;
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "params.%s", name),
                            "%s must be a whole number from %d to %d", name, lo, hi);
    *out = (int)json_integer_value(v);
    return 0;
}

static int param_event(an_q *q, json_t *params, const char *name, const char *dflt, int strict,
                       int *out, sy_err *e) {
    json_t *v = params ? json_object_get(params, name) : NULL;
    const char *s = v ? json_string_value(v) : dflt;
    if (v && !s)
        return sy_err_field(e, SY_E_INVALID, sy_sprintf(q->arena, "params.%s", name),
                            "%s must be an event name", name);
    if (strcmp(s, "$active") == 0) {
        *out = -1;
        return 0;
    }
    sy_err ie;
    if (sy_events_type_id(q->an->events, s, out, &ie)) {
        if (v || strict)
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(q->arena, "params.%s", name),
                                "event \"%s\" has never been received nor declared", s);
        *out = -2; /* a default event never seen yet: nothing matches */
    }
    return 0;
}

static const char *const params_allowed[] = {
    "activation_event", "days", "cart_event", "hours", "share_event", "referral_event", NULL};

int an_metric(sy_analytics *an, const sy_actor *actor, json_t *body, int64_t as_of, json_t **out,
              sy_err *e) {
    static const char *const keys[] = {"metric",    "from",       "to",     "interval",
                                       "breakdown", "segment_id", "params", NULL};
    if (sy_json_only(body, keys, e)) return SY_E_INVALID;
    const char *key = json_string_value(json_object_get(body, "metric"));
    const mdef *d = NULL;
    for (size_t i = 0; key && i < sizeof defs / sizeof defs[0]; i++)
        if (strcmp(defs[i].key, key) == 0) d = &defs[i];
    if (!d)
        return sy_err_field(
            e, SY_E_INVALID, "metric",
            "metric \"%s\" is not in the dictionary (GET /api/v1/analytics/metrics)",
            key ? key : "");
    json_t *params = json_object_get(body, "params");
    if (params && (!json_is_object(params) || sy_json_only(params, params_allowed, e))) {
        if (!json_is_object(params))
            return sy_err_field(e, SY_E_INVALID, "params", "params must be an object");
        char fld[sizeof e->field + 8], msg[sizeof e->msg];
        snprintf(fld, sizeof fld, "params.%s", e->field);
        snprintf(msg, sizeof msg, "%s", e->msg);
        return sy_err_field(e, SY_E_INVALID, fld, "%s", msg);
    }
    sy_arena *a = sy_arena_create();
    if (!a) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    an_q q;
    mplan p;
    memset(&p, 0, sizeof p);
    an_cgroups cg = {0};
    mctx ctx[AN_THREADS];
    memset(ctx, 0, sizeof ctx);
    json_t *names = NULL;
    sy_contact_facts *facts = NULL;
    int rc = an_q_parse(
        an, a, actor, body, as_of,
        AN_F_RANGE | AN_F_INTERVAL | AN_F_BREAKDOWN | AN_F_CONTACT_BD | AN_F_SEGMENT, &q, e);
    if (rc) {
        sy_arena_destroy(a);
        return rc;
    }
    if (d->id == MX_NEXT_MONTH_REPURCHASE) q.interval = AN_MONTH;
    p.d = d;
    p.q = &q;
    p.eng = an->engine;
    if ((rc = param_int(params, "days",
                        d->id == MX_EFFECTIVE_NEW || d->id == MX_ACTIVATION_RATE ? 7 : 30, 1, 365,
                        &p.days, a, e)) ||
        (rc = param_int(params, "hours", 24, 1, 720, &p.hours, a, e)) ||
        (rc = param_event(&q, params, "activation_event", "$active", 0, &p.t_act, e)) ||
        (rc = param_event(&q, params, "cart_event", "add_to_cart", 0, &p.t_cart, e)) ||
        (rc = param_event(&q, params, "share_event", "share", 0, &p.t_share, e)) ||
        (rc = param_event(&q, params, "referral_event", "refer_signup", 0, &p.t_ref, e)))
        goto done;
    p.ret_n = d->id == MX_RET_D1 ? 1 : d->id == MX_RET_D7 ? 7 : 30;
    if ((rc = an_cal_build(a, q.tz, q.from_day, q.to_day, q.interval, &p.pc, e)) ||
        (rc = an_cal_build(a, q.tz, q.from_day - EXT_PRE, q.to_day + EXT_POST, AN_DAY, &p.ext, e)))
        goto done;
    p.n_req = p.pc.n_days;
    p.P = p.pc.n_periods;
    p.width = 3 * (p.P + 1);
    p.today_x = (int)(q.today - p.ext.first);
    /* rolling windows of wau / mau / stickiness: ext indices */
    p.win_lo = sy_alloc(a, (size_t)(p.P + 1) * sizeof *p.win_lo);
    p.win_hi = sy_alloc(a, (size_t)(p.P + 1) * sizeof *p.win_hi);
    for (int k = 0; k <= p.P; k++) {
        int last = EXT_PRE + (k < p.P ? p.pc.period_first[k + 1] : p.n_req) - 1;
        int len = d->id == MX_WAU ? 7 : 30;
        p.win_hi[k] = last;
        p.win_lo[k] = last - len + 1;
        if (d->id != MX_WAU && q.interval == AN_MONTH && k < p.P) /* the calendar month */
            p.win_lo[k] = EXT_PRE + p.pc.period_first[k];
    }
    {
        int y, m, dd;
        an_civil_from_days(p.pc.first + p.pc.period_first[p.P - 1], &y, &m, &dd);
        int64_t nm0 = an_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1);
        int64_t nm1 = an_days_from_civil(m >= 11 ? y + 1 : y, m >= 11 ? m - 10 : m + 2, 1) - 1;
        p.nm_lo = (int)(nm0 - p.ext.first);
        p.nm_hi = (int)(nm1 - p.ext.first);
    }
    int needs_facts = d->id == MX_NEW || d->id == MX_EFFECTIVE_NEW || d->id == MX_ACTIVATION_RATE ||
                      d->id == MX_FIRST_ORDER_CONV || d->id == MX_LTV || d->id == MX_ROI ||
                      d->id == MX_REF_NEW_SHARE || d->id == MX_CAC;
    if (needs_facts && (rc = sy_contacts_facts(an->contacts, &facts, e))) goto done;
    p.facts = facts;
    if ((rc = an_cgroups_init(&q, &cg, e))) goto done;
    p.cg = &cg;
    void *ptrs[AN_THREADS];
    for (int t = 0; t < AN_THREADS; t++) {
        ctx[t].p = &p;
        an_groups_init(&ctx[t].g, p.width);
        ptrs[t] = &ctx[t];
        /* the workspace row exists even when nothing matches */
        ctx[t].wrow = an_groups_row(&ctx[t].g, INT64_MIN);
        if (!ctx[t].wrow) ctx[t].oom = 1;
        if (q.bd != AN_BD_NONE) ctx[t].wrow = NULL;
    }
    if (d->id == MX_DAU && q.bd == AN_BD_NONE && ctx[0].wrow) {
        /* one set of active contacts per day (engine_days.c): no scan */
        sy_idset **sets = calloc((size_t)p.n_req, sizeof *sets);
        if (!sets || sy_engine_active_day_sets(an->engine, q.tz, -1, q.from_day, p.n_req, sets)) {
            ctx[0].oom = 1;
        } else {
            for (int i = 0; i < p.n_req; i++) {
                int64_t n = (int64_t)(q.only ? sy_idset_and_count(sets[i], q.only)
                                             : sy_idset_count(sets[i]));
                ctx[0].wrow[p.pc.period_of_day[i]] += n;
                ctx[0].wrow[p.P] += n;
                sy_idset_destroy(sets[i]);
            }
        }
        free(sets);
    } else if (d->id != MX_NEW && d->id != MX_REF_NEW_SHARE && d->id != MX_CAC &&
               sy_engine_scan_contacts(an->engine, q.only, AN_THREADS, metric_contact, ptrs)) {
        ctx[0].oom = 1;
    }
    /* cohort sizes (den) from the facts: new contacts without events count */
    if (needs_facts && d->id != MX_EFFECTIVE_NEW) {
        ctx[1 % AN_THREADS].wrow = NULL;
        facts_pass(&p, &ctx[1 % AN_THREADS], q.only);
    }
    for (int t = 0; t < AN_THREADS; t++)
        if (ctx[t].oom || ctx[t].g.failed) {
            rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
            goto done;
        }
    for (int t = 1; t < AN_THREADS; t++)
        an_groups_merge(&ctx[0].g, &ctx[t].g);
    an_groups *g = &ctx[0].g;
    int P = p.P;
    /* costs per channel and period (cac, roi) */
    if (d->id == MX_CAC || d->id == MX_ROI) {
        for (int k = 0; k <= P; k++) {
            int64_t f0 = k < P ? p.pc.first + p.pc.period_first[k] : q.from_day;
            int64_t f1 = k < P ? p.pc.first + p.pc.period_first[k + 1] - 1 : q.to_day;
            json_t *cs = NULL;
            if ((rc = an_channel_costs(an, f0, f1, &cs, e))) goto done;
            const char *ck;
            json_t *cv;
            int64_t all = 0;
            json_object_foreach(cs, ck, cv) {
                all += json_integer_value(cv);
                if (q.bd == AN_BD_SOURCE) {
                    int64_t *row = an_groups_row(g, atoll(ck));
                    if (row) row[2 * (P + 1) + k] += json_integer_value(cv);
                }
            }
            int64_t *row = an_groups_row(g, INT64_MIN);
            if (row) row[2 * (P + 1) + k] += all;
            json_decref(cs);
        }
    }
    int is_ratio = strcmp(d->unit, "ratio") == 0 || d->id == MX_AOV || d->id == MX_ARPU ||
                   d->id == MX_ARPPU || d->id == MX_LTV || d->id == MX_CAC ||
                   d->id == MX_REPURCHASE_INTERVAL;
    if (d->id == MX_EFFECTIVE_NEW) is_ratio = 0;
        /* value of a row at column k */
#define NUM(v, k) ((double)(v)[(k)])
#define DEN(v, k) ((double)(v)[(P + 1) + (k)])
#define AUX(v, k) ((double)(v)[2 * (P + 1) + (k)])
    int today_p = q.today < p.pc.first                  ? -1
                  : q.today - p.pc.first >= p.pc.n_days ? P
                                                        : p.pc.period_of_day[q.today - p.pc.first];
    double *vals = malloc((size_t)(P + 1) * sizeof *vals);
    int *oks = malloc((size_t)(P + 1) * sizeof *oks);
    if (!vals || !oks) {
        free(vals);
        free(oks);
        rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        goto done;
    }
    if (q.bd == AN_BD_OWNER) sy_staff_names(an->staff, "staff", &names, e);
    if (q.bd == AN_BD_DEPARTMENT) sy_staff_names(an->staff, "department", &names, e);
    if (q.bd == AN_BD_CSTORE) sy_staff_names(an->staff, "store", &names, e);
    json_t *series = json_array(), *periods = json_array(), *total = json_null();
    for (int k = 0; k < P; k++)
        json_array_append_new(periods, json_string(p.pc.label[k]));
    /* order: workspace row first, then groups by their whole-range numerator */
    double *rank = calloc(g->n + 1, sizeof *rank);
    for (size_t i = 0; rank && i < g->n; i++)
        rank[i] =
            g->keys[i] == INT64_MIN ? 1e300 : fabs_i(g->vals[i * (size_t)g->width + (size_t)P]);
    size_t *ord = rank ? an_groups_order(g, rank) : NULL;
    free(rank);
    size_t shown = 0;
    int truncated = 0;
    for (size_t oi = 0; ord && oi < g->n; oi++) {
        size_t i = ord[oi];
        const int64_t *v = g->vals + i * (size_t)g->width;
        int64_t gk = g->keys[i];
        for (int k = 0; k <= P; k++) {
            double days = k < P ? p.pc.period_first[k + 1] - p.pc.period_first[k] : p.n_req;
            double x = 0;
            int ok = 1;
            switch (d->id) {
            case MX_DAU:
                x = NUM(v, k) / days;
                break;
            case MX_STICKINESS:
                ok = AUX(v, k) > 0;
                x = ok ? NUM(v, k) / days / AUX(v, k) : 0;
                break;
            case MX_CAC:
                ok = DEN(v, k) > 0 && AUX(v, k) > 0 && (gk == INT64_MIN || q.bd == AN_BD_SOURCE);
                x = ok ? AUX(v, k) / DEN(v, k) : 0;
                break;
            case MX_ROI:
                ok = AUX(v, k) > 0 && (gk == INT64_MIN || q.bd == AN_BD_SOURCE);
                x = ok ? (NUM(v, k) - AUX(v, k)) / AUX(v, k) : 0;
                break;
            case MX_REPURCHASE_INTERVAL:
                ok = DEN(v, k) > 0;
                x = ok ? NUM(v, k) / DEN(v, k) / (double)AN_DAY_MS : 0;
                break;
            case MX_NEXT_MONTH_REPURCHASE:
                if (k == P) { /* whole range: months whose next month has begun */
                    double nn = 0, dd = 0;
                    for (int m = 0; m < P; m++)
                        if (m + 1 <= today_p || (m + 1 == P && today_p >= P)) {
                            nn += NUM(v, m);
                            dd += DEN(v, m);
                        }
                    ok = dd > 0;
                    x = ok ? nn / dd : 0;
                    break;
                }
                ok = DEN(v, k) > 0 && k + 1 <= today_p;
                x = ok ? NUM(v, k) / DEN(v, k) : 0;
                break;
            default:
                if (is_ratio) {
                    ok = DEN(v, k) > 0;
                    x = ok ? NUM(v, k) / DEN(v, k) : 0;
                } else {
                    x = NUM(v, k);
                }
            }
            vals[k] = x;
            oks[k] = ok;
        }
        if (gk == INT64_MIN) total = an_num(vals[P], oks[P]);
        if (gk == INT64_MIN && q.bd != AN_BD_NONE) continue; /* the total, not a series */
        if (shown >= AN_TOP) {
            truncated = 1;
            continue;
        }
        shown++;
        json_t *jv = json_array();
        for (int k = 0; k < P; k++)
            json_array_append_new(jv, an_num(vals[k], oks[k]));
        char label[128], keyb[32];
        if (gk == INT64_MIN) {
            snprintf(label, sizeof label, "%s", d->name_zh);
            snprintf(keyb, sizeof keyb, "all");
        } else {
            an_cgroups_label(&cg, names, gk, label, sizeof label);
            snprintf(keyb, sizeof keyb, "%lld", (long long)gk);
        }
        json_array_append_new(series, json_pack("{s:s,s:s,s:o,s:o}", "key", keyb, "label", label,
                                                "values", jv, "total", an_num(vals[P], oks[P])));
    }
    free(ord);
    free(vals);
    free(oks);
    static const char *const inames[] = {"day", "week", "month"};
    *out = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:b}", "metric", d->key, "name", d->name_zh,
                     "unit", d->unit, "interval", inames[q.interval], "periods", periods, "series",
                     series, "total", total, "truncated", truncated);
done:
    for (int t = 0; t < AN_THREADS; t++)
        an_groups_free(&ctx[t].g);
    json_decref(names);
    sy_contacts_facts_release(facts);
    an_cgroups_free(&cg);
    an_q_done(&q);
    sy_arena_destroy(a);
    return rc;
}
