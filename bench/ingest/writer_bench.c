/* writer_bench.c — the ingestion load of bench/ingest/batch.lua without
 * HTTP: N threads call sy_events_ingest (parse, validate, queue to the
 * group committer, wait for the commit) with pre-built /v1/batch bodies of
 * 100 track events, every messageId unique. Compared with the HTTP figure it
 * shows what libmicrohttpd, the sockets and the load generator cost.
 * Not part of the CMake build; bench/ingest/run.sh compiles it against
 * libsiyucore.a.
 *
 *   writer_bench DIR [THREADS] [SECONDS] [WARMUP_SECONDS] [USERS]
 *   writer_bench --seed-users DIR [USERS]  (one signup event per user u000001…:
 *                                           creates the contacts; cold path)
 *   writer_bench --parse DIR      (sy_segment_parse alone, one thread)
 *
 * DIR is a workspace made by `siyu demo --days 0` (its demo.json holds the
 * write key). Defaults: 4 threads, 10 s measured after 3 s of warm-up,
 * 100000 users (at most 999999). Each thread pre-builds a pool of body
 * templates and per call only overwrites fixed-width digits: the call
 * counter in every messageId (unique per run) and a random userId per event. Output: key=value lines like siyu's logs. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "contacts/contacts.h"
#include "engine/engine.h"
#include "events/events.h"
#include "events/events_int.h" /* sy_segment_parse, for --parse only */
#include "staff/staff.h"
#include "store/store.h"

#define BATCH 100
#define POOL 32
#define CTR_DIGITS 10 /* width of the per-call counter written into every messageId */
#define USER_DIGITS 6 /* userIds are u000001…u999999, drawn afresh for every call */

/* CPU seconds (user + system) of the whole process so far. */
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift: deterministic bodies per thread */
static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const char *const categories[] = {"护肤", "彩妆", "母婴", "零食", "茶饮", "服饰", "家居", "数码"};
static const char *const channels[] = {"miniprogram", "wecom", "h5", "app"};
static const char *const stores[] = {"SH-001", "SH-002", "BJ-001", "GZ-001", "SZ-003", "HZ-002"};
static const char *const pages[] = {"/home", "/item", "/cart", "/activity/618", "/member", "/coupon"};

/* Same event mix as batch.lua: page_view 40 %, view_item 25, add_to_cart 10,
 * share 6, checkin 6, coupon_claim 5, order_paid 5, form_submitted 3. */
static const char *pick_event(uint64_t *s) {
    static const struct {
        const char *name;
        int w;
    } ev[] = {{"page_view", 40}, {"view_item", 25},   {"add_to_cart", 10}, {"share", 6},
              {"checkin", 6},    {"coupon_claim", 5}, {"order_paid", 5},   {"form_submitted", 3}};
    int r = (int)(rnd(s) % 100), acc = 0;
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
        acc += ev[i].w;
        if (r < acc) return ev[i].name;
    }
    return "page_view";
}

#define PICK(arr, s) arr[rnd(s) % (sizeof arr / sizeof arr[0])]

/* A body template: the request counter goes at every offset in ctr_at. */
typedef struct body {
    char *p;
    size_t len;
    size_t ctr_at[2 * BATCH];
    size_t n_ctr;
    size_t user_at[BATCH];
} body;

static void add(body *b, size_t *cap, const char *s) {
    size_t n = strlen(s);
    if (b->len + n + 1 > *cap) {
        while (b->len + n + 1 > *cap) *cap *= 2;
        b->p = realloc(b->p, *cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* Appends a counter placeholder and remembers where it is. */
static void add_ctr(body *b, size_t *cap) {
    b->ctr_at[b->n_ctr++] = b->len;
    add(b, cap, "0000000000");
}

static void build_body(body *b, int tid, const char *run, const char *ts, uint64_t *s) {
    size_t cap = 64 * 1024;
    char tmp[512];
    memset(b, 0, sizeof *b);
    b->p = malloc(cap);
    b->p[0] = 0;
    add(b, &cap, "{\"batch\":[");
    for (int i = 0; i < BATCH; i++) {
        const char *name = pick_event(s);
        const char *cat = PICK(categories, s);
        if (i) add(b, &cap, ",");
        snprintf(tmp, sizeof tmp, "{\"type\":\"track\",\"event\":\"%s\",\"userId\":\"u", name);
        add(b, &cap, tmp);
        b->user_at[i] = b->len;
        add(b, &cap, "000000");
        snprintf(tmp, sizeof tmp, "\",\"messageId\":\"%s-w%d-", run, tid);
        add(b, &cap, tmp);
        add_ctr(b, &cap);
        snprintf(tmp, sizeof tmp, "-%d\",\"timestamp\":\"%s\",\"properties\":", i, ts);
        add(b, &cap, tmp);
        if (strcmp(name, "order_paid") == 0) {
            snprintf(tmp, sizeof tmp, "{\"order_id\":\"O-%s-w%d-", run, tid);
            add(b, &cap, tmp);
            add_ctr(b, &cap);
            snprintf(tmp, sizeof tmp,
                     "-%d\",\"amount\":\"%d.%02d\",\"category\":\"%s\",\"sku\":\"SKU-%04d\",\"store\":\"%s\","
                     "\"channel\":\"%s\"}",
                     i, (int)(rnd(s) % 2990) + 9, (int)(rnd(s) % 100), cat, (int)(rnd(s) % 500) + 1, PICK(stores, s),
                     PICK(channels, s));
        } else if (strcmp(name, "page_view") == 0) {
            snprintf(tmp, sizeof tmp, "{\"path\":\"%s\",\"title\":\"页面%d\",\"channel\":\"%s\"}", PICK(pages, s),
                     (int)(rnd(s) % 50) + 1, PICK(channels, s));
        } else if (strcmp(name, "view_item") == 0 || strcmp(name, "add_to_cart") == 0) {
            snprintf(tmp, sizeof tmp, "{\"sku\":\"SKU-%04d\",\"category\":\"%s\",\"price\":%d.%02d,\"quantity\":%d}",
                     (int)(rnd(s) % 500) + 1, cat, (int)(rnd(s) % 990) + 9, (int)(rnd(s) % 100),
                     (int)(rnd(s) % 3) + 1);
        } else {
            snprintf(tmp, sizeof tmp, "{\"channel\":\"%s\",\"campaign\":\"c%d\"}", PICK(channels, s),
                     (int)(rnd(s) % 20) + 1);
        }
        add(b, &cap, tmp);
        snprintf(tmp, sizeof tmp,
                 ",\"context\":{\"ip\":\"203.0.113.%d\",\"library\":{\"name\":\"writer-bench\",\"version\":\"1\"}}}",
                 (int)(rnd(s) % 254) + 1);
        add(b, &cap, tmp);
    }
    snprintf(tmp, sizeof tmp, "],\"sentAt\":\"%s\"}", ts);
    add(b, &cap, tmp);
}

/* Makes a template a new request: the call counter into every messageId
 * and order_id, a fresh random user into every userId. */
static void stamp(body *b, uint64_t ctr, int users, uint64_t *s) {
    char d[32];
    snprintf(d, sizeof d, "%0*llu", CTR_DIGITS, (unsigned long long)ctr);
    for (size_t i = 0; i < b->n_ctr; i++) memcpy(b->p + b->ctr_at[i], d, CTR_DIGITS);
    for (size_t i = 0; i < BATCH; i++) {
        snprintf(d, sizeof d, "%0*d", USER_DIGITS, (int)(rnd(s) % (uint64_t)users) + 1);
        memcpy(b->p + b->user_at[i], d, USER_DIGITS);
    }
}

typedef struct shared {
    sy_events *ev;
    int64_t wk;
    int users;
    char run[32];
    char ts[32];
    double t_measure, t_end;
    atomic_int failed;
} shared;

typedef struct worker {
    shared *sh;
    int tid;
    uint64_t calls, warm_calls;
    double *lat; /* seconds per measured call */
    size_t n_lat, cap_lat;
    pthread_t th;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    shared *sh = w->sh;
    uint64_t seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(w->tid + 1);
    body pool[POOL];
    for (int i = 0; i < POOL; i++) build_body(&pool[i], w->tid, sh->run, sh->ts, &seed);
    uint64_t ctr = 0;
    for (;;) {
        double t0 = now_s();
        if (t0 >= sh->t_end || atomic_load(&sh->failed)) break;
        body *b = &pool[ctr % POOL];
        stamp(b, ++ctr, sh->users, &seed);
        sy_err e = {0};
        json_t *details = NULL;
        int rc = sy_events_ingest(sh->ev, sh->wk, "batch", b->p, b->len, sy_now_ms(), &details, &e);
        if (rc) {
            char *d = details ? json_dumps(details, JSON_COMPACT) : NULL;
            fprintf(stderr, "writer_bench: ingest failed: %s %s\n", e.msg, d ? d : "");
            free(d);
            json_decref(details);
            atomic_store(&sh->failed, 1);
            break;
        }
        double t1 = now_s();
        if (t0 < sh->t_measure) {
            w->warm_calls++;
            continue;
        }
        w->calls++;
        if (w->n_lat == w->cap_lat) {
            w->cap_lat = w->cap_lat ? w->cap_lat * 2 : 4096;
            w->lat = realloc(w->lat, w->cap_lat * sizeof *w->lat);
            if (!w->lat) abort();
        }
        w->lat[w->n_lat++] = t1 - t0;
    }
    for (int i = 0; i < POOL; i++) free(pool[i].p);
    return NULL;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static char *read_write_key(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/demo.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) {
        fprintf(stderr, "writer_bench: cannot read %s: %s (make it with siyu demo --data %s --days 0)\n", path, je.text,
                dir);
        return NULL;
    }
    const char *k = json_string_value(json_object_get(j, "write_key"));
    char *out = k ? strdup(k) : NULL;
    json_decref(j);
    return out;
}

/* sy_segment_parse alone on one thread: the share of the work that HTTP
 * threads do before a request reaches the committer. */
static int parse_only(int users) {
    uint64_t seed = 42;
    body b;
    build_body(&b, 0, "parse", "2026-01-01T00:00:00.000Z", &seed);
    double t0 = now_s(), t1;
    uint64_t n = 0;
    do {
        sy_arena *a = sy_arena_create();
        sy_parsed p;
        json_t *details = NULL;
        sy_err e = {0};
        stamp(&b, ++n, users, &seed);
        if (sy_segment_parse(a, "batch", b.p, b.len, sy_now_ms(), &p, &details, &e)) {
            fprintf(stderr, "writer_bench: parse failed: %s\n", e.msg);
            return 1;
        }
        json_decref(p.root);
        sy_arena_destroy(a);
        t1 = now_s();
    } while (t1 - t0 < 3.0);
    printf("parse_only threads=1 body_bytes=%zu batches=%llu events_per_s=%.0f us_per_batch=%.1f\n", b.len,
           (unsigned long long)n, (double)n * BATCH / (t1 - t0), (t1 - t0) / (double)n * 1e6);
    free(b.p);
    return 0;
}

typedef struct seeder {
    sy_events *ev;
    int64_t wk;
    int from, to; /* users [from, to) */
    int rc;
    pthread_t th;
} seeder;

/* One "signup" track event per user, 100 per batch: every event creates a
 * contact (the cold path of identity resolution). */
static void *seed_users(void *arg) {
    seeder *sd = arg;
    sy_buf b = SY_BUF_INIT;
    for (int u = sd->from; u < sd->to && !sd->rc;) {
        sy_buf_reset(&b);
        sy_buf_add(&b, "{\"batch\":[", 10);
        for (int i = 0; i < BATCH && u < sd->to; i++, u++)
            sy_buf_addf(&b,
                        "%s{\"type\":\"track\",\"event\":\"signup\",\"userId\":\"u%06d\",\"messageId\":\"seed-u%d\","
                        "\"properties\":{\"channel\":\"miniprogram\"}}",
                        i ? "," : "", u, u);
        sy_buf_add(&b, "]}", 2);
        sy_err e = {0};
        if (sy_events_ingest(sd->ev, sd->wk, "batch", b.p, b.len, sy_now_ms(), NULL, &e)) {
            fprintf(stderr, "writer_bench: seeding users failed: %s\n", e.msg);
            sd->rc = 1;
        }
    }
    sy_buf_release(&b);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "--parse") == 0) return parse_only(100000);
    int seed_mode = argc >= 3 && strcmp(argv[1], "--seed-users") == 0;
    if (seed_mode) argv++, argc--;
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: writer_bench DIR [THREADS] [SECONDS] [WARMUP_SECONDS] [USERS]\n"
                        "       writer_bench --seed-users DIR [USERS]\n"
                        "       writer_bench --parse DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int threads = seed_mode ? 4 : argc > 2 ? atoi(argv[2]) : 4;
    double secs = argc > 3 ? atof(argv[3]) : 10, warm = argc > 4 ? atof(argv[4]) : 3;
    int users = seed_mode ? (argc > 2 ? atoi(argv[2]) : 100000) : argc > 5 ? atoi(argv[5]) : 100000;
    if (threads < 1 || threads > 256 || secs <= 0 || warm < 0 || users < 1 || users > 999999) {
        fprintf(stderr, "writer_bench: bad arguments\n");
        return 2;
    }
    sy_log_level = SY_LOG_WARN;
    char *key = read_write_key(dir);
    if (!key) return 1;

    sy_err e = {0};
    sy_store *st = NULL;
    sy_staff *staff = NULL;
    sy_contacts *contacts = NULL;
    sy_engine *engine = NULL;
    sy_events *ev = NULL;
    sy_arena *a = sy_arena_create();
    shared sh;
    memset(&sh, 0, sizeof sh);
    /* the same sequence as app_open in src/main.c */
    int rc = sy_store_open(dir, &st, &e);
    if (rc == 0) rc = sy_staff_create(st, &staff, &e);
    if (rc == 0) rc = sy_contacts_create(st, staff, 0, &contacts, &e);
    if (rc == 0 && !(engine = sy_engine_create())) rc = sy_err_set(&e, SY_E_NOMEM, "out of memory");
    if (rc == 0) rc = sy_events_create(st, staff, contacts, engine, &ev, &e);
    if (rc == 0) rc = sy_staff_check_write_key(staff, a, key, &sh.wk, &e);
    if (rc) {
        fprintf(stderr, "writer_bench: %s\n", e.msg);
        return 1;
    }
    sy_events_stats before;
    sy_events_get_stats(ev, &before);
    if (seed_mode) {
        seeder sd[4];
        double t0 = now_s();
        int rc_all = 0;
        for (int i = 0; i < 4; i++) {
            sd[i] = (seeder){.ev = ev, .wk = sh.wk, .from = 1 + (int)((int64_t)users * i / 4),
                             .to = 1 + (int)((int64_t)users * (i + 1) / 4)};
            pthread_create(&sd[i].th, NULL, seed_users, &sd[i]);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(sd[i].th, NULL);
            rc_all |= sd[i].rc;
        }
        double t = now_s() - t0;
        printf("seed_users users=%d seconds=%.1f new_contact_events_per_s=%.0f\n", users, t, users / t);
        free(key);
        sy_arena_destroy(a);
        sy_events_destroy(ev);
        sy_engine_destroy(engine);
        sy_contacts_destroy(contacts);
        sy_staff_destroy(staff);
        sy_store_close(st);
        return rc_all;
    }

    sh.ev = ev;
    sh.users = users;
    snprintf(sh.run, sizeof sh.run, "wb%lld", (long long)time(NULL));
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(sh.ts, sizeof sh.ts, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    double t0 = now_s();
    sh.t_measure = t0 + warm + 0.5; /* + time to build the bodies */
    sh.t_end = sh.t_measure + secs;
    worker *w = calloc((size_t)threads, sizeof *w);
    for (int i = 0; i < threads; i++) {
        w[i].sh = &sh;
        w[i].tid = i + 1;
        pthread_create(&w[i].th, NULL, work, &w[i]);
    }
    /* CPU time of the measured window: sampled by this thread at its edges */
    struct timespec nap = {0, 1000000};
    while (now_s() < sh.t_measure) nanosleep(&nap, NULL);
    double cpu0 = cpu_s();
    while (now_s() < sh.t_end && !atomic_load(&sh.failed)) nanosleep(&nap, NULL);
    double cpu1 = cpu_s();
    uint64_t calls = 0, warm_calls = 0;
    size_t n_lat = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].th, NULL);
        calls += w[i].calls;
        warm_calls += w[i].warm_calls;
        n_lat += w[i].n_lat;
    }
    double *lat = malloc((n_lat + 1) * sizeof *lat);
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        if (w[i].n_lat) memcpy(lat + k, w[i].lat, w[i].n_lat * sizeof *lat);
        k += w[i].n_lat;
        free(w[i].lat);
    }
    qsort(lat, n_lat, sizeof *lat, cmp_d);
    double p50 = n_lat ? lat[n_lat / 2] : 0, p99 = n_lat ? lat[(size_t)((double)n_lat * 0.99)] : 0;
    sy_events_stats after;
    sy_events_get_stats(ev, &after);
    uint64_t stored = after.events - before.events, commits = after.commits - before.commits;
    uint64_t acked = (calls + warm_calls) * BATCH;
    int ok = !atomic_load(&sh.failed) && stored == acked && after.duplicates == before.duplicates;
    printf("writer_only threads=%d seconds=%.1f warmup_events=%llu events=%llu events_per_s=%.0f "
           "batch_p50_ms=%.2f batch_p99_ms=%.2f cpu_us_per_event=%.1f commits=%llu events_per_commit=%.0f "
           "stored_check=%s\n",
           threads, secs, (unsigned long long)(warm_calls * BATCH), (unsigned long long)(calls * BATCH),
           (double)calls * BATCH / secs, p50 * 1e3, p99 * 1e3, calls ? (cpu1 - cpu0) * 1e6 / ((double)calls * BATCH) : 0.0,
           (unsigned long long)commits,
           commits ? (double)stored / (double)commits : 0.0, ok ? "ok" : "MISMATCH");
    if (!ok)
        fprintf(stderr, "writer_bench: acknowledged %llu events but %llu stored, %llu duplicates\n",
                (unsigned long long)acked, (unsigned long long)stored,
                (unsigned long long)(after.duplicates - before.duplicates));
    free(lat);
    free(w);
    free(key);
    sy_arena_destroy(a);
    sy_events_destroy(ev);
    sy_engine_destroy(engine);
    sy_contacts_destroy(contacts);
    sy_staff_destroy(staff);
    sy_store_close(st);
    return ok ? 0 : 1;
}
