/* demo.c — believable customer behaviour for the demo workspace, sent
 * through the same ingestion path SDKs use (sy_events_ingest).
 *
 * Every demo contact with a phone is first identified (userId "u<id>" +
 * phone trait, which links the SDK user to the library contact), then gets
 * up to `days` days of events ending today (UTC midnight, so a given seed
 * produces the same data all day): most browse and never buy, some buy once,
 * some repurchase about monthly, some go silent. Each contact prefers two
 * categories; some categories are bought together, so models have signal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "events_int.h"

typedef struct demo_contact {
    int64_t id;
    char phone[24];
} demo_contact;

typedef struct demo_list {
    demo_contact *v;
    size_t n, cap;
} demo_list;

static void collect_phone(void *ctx, int64_t id, const char *value) {
    demo_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        demo_contact *v = realloc(l->v, cap * sizeof *v);
        if (!v) return;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].id = id;
    snprintf(l->v[l->n].phone, sizeof l->v[l->n].phone, "%s", value);
    l->n++;
}

static uint64_t mix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static int pick(uint64_t *s, int n) {
    return (int)(mix(s) % (uint64_t)n);
}
static int chance(uint64_t *s, int pct) {
    return pick(s, 100) < pct;
}

static const char *const categories[] = {"生鲜", "食品", "母婴", "日用",
                                         "美妆", "服饰", "酒水", "家电"};
/* categories bought together: 生鲜↔食品, 母婴↔日用, 美妆↔服饰 */
static const int partner[] = {1, 0, 3, 2, 5, 4, 1, 3};
static const int price_yuan[] = {58, 39, 129, 45, 199, 259, 168, 899};
static const char *const stores[] = {"SH001", "SH002", "SH003", "GZ001", "GZ002", "GZ003"};
static const char *const channels[] = {"miniprogram", "wecom", "app", "h5"};

typedef struct batch {
    sy_buf body;
    size_t n;
    int64_t end; /* no event at or after this time (today 00:00 UTC) */
} batch;

/* Batches in flight: up to IN_FLIGHT requests are queued at once so that
 * group commits share their fsyncs; the committer keeps them in order. */
#define IN_FLIGHT 8

typedef struct flight {
    sy_arena *arena;
    pending *p;
} flight;

static int settle(sy_events *ev, flight *f, sy_err *e) {
    if (!f->p) return 0;
    sy_events_wait(ev, f->p);
    int rc = f->p->rc;
    if (rc) *e = f->p->err;
    json_decref(f->p->parsed.root);
    sy_arena_destroy(f->arena);
    f->p = NULL;
    f->arena = NULL;
    return rc;
}

static int flush(sy_events *ev, int64_t wk, batch *b, flight *fl, size_t *next, sy_err *e) {
    if (!b->n) return 0;
    sy_buf_adds(&b->body, "]}");
    flight *f = &fl[*next % IN_FLIGHT];
    (*next)++;
    int rc = settle(ev, f, e);
    if (rc) return rc;
    f->arena = sy_arena_create();
    pending *p = sy_alloc(f->arena, sizeof *p);
    json_t *details = NULL;
    rc = sy_segment_parse(f->arena, "batch", b->body.p, b->body.len, sy_now_ms(), &p->parsed,
                          &details, e);
    if (rc == 0) rc = sy_events_check(ev, f->arena, &p->parsed, &details, e);
    if (rc) {
        char *d = details ? json_dumps(details, JSON_COMPACT) : NULL;
        sy_error("msg=\"demo batch rejected\" details=%s", d ? d : "");
        free(d);
        json_decref(details);
        json_decref(p->parsed.root);
        sy_arena_destroy(f->arena);
        f->arena = NULL;
        return rc;
    }
    p->write_key_id = wk;
    p->received_at = sy_now_ms();
    p->async = 1;
    if ((rc = sy_events_submit(ev, p))) {
        json_decref(p->parsed.root);
        sy_arena_destroy(f->arena);
        f->arena = NULL;
        return sy_err_set(e, rc, "the event store is shutting down");
    }
    f->p = p;
    sy_buf_reset(&b->body);
    b->n = 0;
    return 0;
}

static void begin(batch *b) {
    if (b->n == 0)
        sy_buf_adds(&b->body, "{\"batch\":[");
    else
        sy_buf_addc(&b->body, ',');
    b->n++;
}

static void track(batch *b, int64_t contact, uint64_t seed, int *seq, int64_t ts, const char *event,
                  const char *props) {
    char t[40];
    if (ts >= b->end) return; /* behaviour that would happen after today */
    sy_time_format(ts, t, sizeof t);
    begin(b);
    sy_buf_addf(&b->body,
                "{\"type\":\"track\",\"userId\":\"u%lld\",\"event\":\"%s\",\"timestamp\":\"%s\","
                "\"messageId\":\"demo-%llu-%lld-%d\",\"properties\":{%s}}",
                (long long)contact, event, t, (unsigned long long)seed, (long long)contact,
                (*seq)++, props);
}

int sy_events_demo_seed(sy_events *ev, int64_t wk, uint64_t seed, int days, int intensity,
                        sy_err *e) {
    if (intensity < 1) intensity = 1;
    demo_list l = {0};
    int rc = sy_contacts_each_identity(ev->contacts, "phone", collect_phone, &l, e);
    if (rc) {
        free(l.v);
        return rc;
    }
    const int64_t day = 86400000LL;
    int64_t now = sy_now_ms();
    int64_t end = now - now % day; /* today 00:00 UTC */
    int64_t start = end - (int64_t)days * day;
    batch b = {SY_BUF_INIT, 0, end};
    flight fl[IN_FLIGHT] = {{0}};
    size_t next = 0;
    char props[256];
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        int64_t c = l.v[i].id;
        uint64_t s = seed * 1000003ULL + (uint64_t)c;
        int seq = 0;
        /* joined at a random day in the window; ms offsets keep times unique */
        int64_t t =
            start + (int64_t)pick(&s, days) * day + 9 * 3600000LL + pick(&s, 12 * 3600) * 1000LL;
        char ts[40];
        sy_time_format(t - 1000, ts, sizeof ts); /* identified a second before adding on WeCom */
        begin(&b);
        sy_buf_addf(&b.body,
                    "{\"type\":\"identify\",\"userId\":\"u%lld\",\"timestamp\":\"%s\","
                    "\"messageId\":\"demo-%llu-%lld-id\","
                    "\"traits\":{\"phone\":\"%s\"}}",
                    (long long)c, ts, (unsigned long long)seed, (long long)c, l.v[i].phone);
        int fav = pick(&s, 8), fav2 = chance(&s, 60) ? partner[fav] : pick(&s, 8);
        const char *chan = channels[pick(&s, 4)];
        const char *store = stores[pick(&s, 6)];
        int kind = pick(&s, 100); /* <55 browse only, <80 buy once, <95 repurchase, else silent */
        snprintf(props, sizeof props, "\"channel\":\"%s\",\"store\":\"%s\"", chan, store);
        track(&b, c, seed, &seq, t, "add_wechat", props);
        if (chance(&s, 60))
            track(&b, c, seed, &seq, t + 3600000 + pick(&s, 3600) * 1000LL, "join_group", props);
        int64_t active_until = kind >= 95 ? t + 7 * day : end;
        int64_t cur = t + day;
        int orders = 0, max_orders = kind < 55 ? 0 : kind < 80 ? 1 : 6;
        while (cur < active_until && rc == 0) {
            int cat = chance(&s, 70) ? (chance(&s, 60) ? fav : fav2) : pick(&s, 8);
            snprintf(props, sizeof props,
                     "\"channel\":\"%s\",\"category\":\"%s\",\"sku\":\"SKU-%d-%02d\"", chan,
                     categories[cat], cat, pick(&s, 20));
            track(&b, c, seed, &seq, cur, "page_view", props);
            track(&b, c, seed, &seq, cur + 60000 + pick(&s, 600) * 1000LL, "view_item", props);
            if (orders < max_orders && chance(&s, 45)) {
                int64_t ot = cur + 1800000 + pick(&s, 3600) * 1000LL;
                track(&b, c, seed, &seq, ot - 600000, "add_to_cart", props);
                int amount = price_yuan[cat] + pick(&s, price_yuan[cat]);
                snprintf(props, sizeof props,
                         "\"order_id\":\"D%llu-%lld-%d\",\"amount\":%d.%02d,\"category\":\"%s\","
                         "\"sku\":\"SKU-%d-%02d\","
                         "\"store\":\"%s\",\"channel\":\"%s\"",
                         (unsigned long long)seed, (long long)c, orders, amount, pick(&s, 100),
                         categories[cat], cat, pick(&s, 20), store, chan);
                track(&b, c, seed, &seq, ot, "order_paid", props);
                orders++;
                /* the partner category is often bought in the same week */
                if (chance(&s, 35)) {
                    int pc = partner[cat];
                    snprintf(props, sizeof props,
                             "\"order_id\":\"D%llu-%lld-%d\",\"amount\":%d,\"category\":\"%s\","
                             "\"sku\":\"SKU-%d-%02d\","
                             "\"store\":\"%s\",\"channel\":\"%s\"",
                             (unsigned long long)seed, (long long)c, orders, price_yuan[pc],
                             categories[pc], pc, pick(&s, 20), store, chan);
                    track(&b, c, seed, &seq, ot + (1 + pick(&s, 5)) * day, "order_paid", props);
                    orders++;
                }
                if (chance(&s, 20)) {
                    snprintf(props, sizeof props, "\"channel\":\"%s\"", chan);
                    track(&b, c, seed, &seq, ot + 7200000, "share", props);
                    if (chance(&s, 30))
                        track(&b, c, seed, &seq, ot + 9000000, "refer_signup", props);
                }
            } else if (chance(&s, 15)) {
                snprintf(props, sizeof props, "\"channel\":\"%s\",\"coupon\":\"C%d\"", chan,
                         pick(&s, 5));
                track(&b, c, seed, &seq, cur + 7200000, "coupon_claim", props);
            }
            if (chance(&s, 10)) {
                snprintf(props, sizeof props, "\"store\":\"%s\"", store);
                track(&b, c, seed, &seq, cur + 10800000, "checkin", props);
            }
            if (chance(&s, 4)) {
                snprintf(props, sizeof props, "\"form\":\"interest\",\"answers\":{\"q1\":\"%s\"}",
                         categories[fav]);
                track(&b, c, seed, &seq, cur + 14400000, "form_submitted", props);
            }
            /* buyers come back about monthly, browsers now and then; intensity
             * (bench scale) makes visits more frequent: the gap is divided by
             * (7 * intensity - 3) / 4, i.e. 1 → 1 (the console demo, about 8
             * events per contact) and 3 → 4.5 (`siyu demo --scale`, about 20
             * per contact: the 20 M events of issues 5 and 6 at 1 M contacts) */
            cur += (max_orders > 1 ? 20 + pick(&s, 20) : 10 + pick(&s, 40)) * day * 4 /
                       (7 * intensity - 3) +
                   pick(&s, 3600) * 1000LL;
        }
        /* batches end between contacts, so one contact's events stay in order in one request */
        if (b.n >= 1000) rc = flush(ev, wk, &b, fl, &next, e);
    }
    if (rc == 0) rc = flush(ev, wk, &b, fl, &next, e);
    for (int i = 0; i < IN_FLIGHT; i++) {
        sy_err e2;
        int r2 = settle(ev, &fl[i], &e2);
        if (r2 && rc == 0) {
            rc = r2;
            *e = e2;
        }
    }
    sy_buf_release(&b.body);
    free(l.v);
    return rc;
}
