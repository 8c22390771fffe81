/* channels_sender.c — the thread that POSTs due deliveries of the outbox.
 *
 * One thread drives a libcurl multi handle with up to SY_WH_INFLIGHT
 * requests at once, so one slow receiver (15 s timeout) does not hold up
 * the others. The loop: scan the outbox for due rows when woken (a publish
 * or an API change calls sy_wh_kick → curl_multi_wakeup), when the earliest
 * scheduled retry falls due, or every RESCAN_MS as a safety net; start what
 * fits; let curl work; record the finished attempts in one write job.
 *
 * An attempt is recorded only after it finishes. A crash (or a stop)
 * during one leaves its row pending with its old next_attempt_at, so it is
 * sent again after restart: delivery is at least once and receivers
 * de-duplicate by the X-Siyu-Delivery id. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "channels_int.h"

#define RESCAN_MS 5000
#define PRUNE_MS 3600000 /* finished deliveries are pruned at start and hourly */
#define RESP_KEEP 200

/* One request in flight. */
typedef struct slot {
    int used;
    int64_t id; /* delivery id */
    CURL *easy;
    struct curl_slist *headers;
    char *body; /* the stored body; curl reads it in place (POSTFIELDS) */
    char resp[RESP_KEEP + 1];
    size_t resp_n; /* first bytes of the receiver's answer, for last_error */
    char errbuf[CURL_ERROR_SIZE];
    char blocked[160]; /* why the address was refused (SIYU_WEBHOOK_ALLOW_PRIVATE) */
} slot;

/* One finished attempt, to be recorded. */
typedef struct result {
    int64_t id;
    int ok;    /* a 2xx answer */
    long code; /* HTTP status; 0 when none came */
    char err[320];
} result;

static void slot_release(slot *s) {
    curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->headers);
    free(s->body);
    memset(s, 0, sizeof *s);
}

/* Keeps the first RESP_KEEP bytes of the answer and swallows the rest. */
static size_t on_data(char *p, size_t size, size_t n, void *arg) {
    slot *s = arg;
    size_t len = size * n;
    size_t room = RESP_KEEP - s->resp_n;
    size_t k = len < room ? len : room;
    memcpy(s->resp + s->resp_n, p, k);
    s->resp_n += k;
    s->resp[s->resp_n] = '\0';
    return len;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value) {
    char line[256];
    snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *x = curl_slist_append(l, line);
    if (!x) curl_slist_free_all(l);
    return x;
}

/* curl's socket for each address it tries, refused for loopback, private
 * and link-local ones (sy_webhook_addr_blocked): the check sees the
 * address after DNS, which a check of the URL's host could not. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a) {
    slot *s = arg;
    const char *why = NULL;
    if (purpose == CURLSOCKTYPE_IPCXN && sy_webhook_addr_blocked(&a->addr, &why)) {
        char ip[INET6_ADDRSTRLEN] = "?";
        const void *src = a->family == AF_INET6
                              ? (const void *)&((const struct sockaddr_in6 *)&a->addr)->sin6_addr
                              : (const void *)&((const struct sockaddr_in *)&a->addr)->sin_addr;
        inet_ntop(a->family, src, ip, sizeof ip);
        snprintf(s->blocked, sizeof s->blocked,
                 "%s is a %s address: not delivered (SIYU_WEBHOOK_ALLOW_PRIVATE=1 allows it)", ip,
                 why);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Prepares and adds the request of delivery id. Returns 0 or -1 (then s
 * is released). */
static int slot_start(sy_channels *c, slot *s, int64_t id, const char *topic, const char *url,
                      const char *secret, const char *body) {
    memset(s, 0, sizeof *s);
    s->id = id;
    s->body = strdup(body);
    s->easy = curl_easy_init();
    if (!s->body || !s->easy) goto fail;
    char sig[SY_WEBHOOK_SIG_MAX], idtxt[24];
    /* Signed when sent, not when queued: a retry an hour later carries a
     * fresh timestamp, so receivers may keep a tight replay window. */
    sy_webhook_signature(secret, sy_now_ms() / 1000, body, strlen(body), sig, sizeof sig);
    snprintf(idtxt, sizeof idtxt, "%lld", (long long)id);
    struct curl_slist *h = add_header(NULL, "Content-Type", "application/json");
    if (h) h = add_header(h, "User-Agent", "siyu-webhook/" SIYU_VERSION);
    if (h) h = add_header(h, "X-Siyu-Delivery", idtxt);
    if (h) h = add_header(h, "X-Siyu-Topic", topic);
    if (h) h = add_header(h, "X-Siyu-Signature", sig);
    if (h) h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    if (!h) goto fail;
    s->headers = h;
    CURL *x = s->easy;
    curl_easy_setopt(x, CURLOPT_URL, url);
    curl_easy_setopt(x, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x, CURLOPT_POST, 1L);
    curl_easy_setopt(x, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(x, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(s->body));
    curl_easy_setopt(x, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(x, CURLOPT_CONNECTTIMEOUT_MS, (long)SY_WH_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(x, CURLOPT_TIMEOUT_MS, (long)SY_WH_TOTAL_TIMEOUT_MS);
    curl_easy_setopt(x, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is not a delivery */
    curl_easy_setopt(x, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(x, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(x, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(x, CURLOPT_PRIVATE, s);
    if (!c->allow_private) {
        curl_easy_setopt(x, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        curl_easy_setopt(x, CURLOPT_OPENSOCKETDATA, s);
    }
    if (curl_multi_add_handle(c->multi, x) != CURLM_OK) goto fail;
    s->used = 1;
    return 0;
fail:
    slot_release(s);
    return -1;
}

static int in_flight(const slot *slots, int64_t id) {
    for (int i = 0; i < SY_WH_INFLIGHT; i++)
        if (slots[i].used && slots[i].id == id) return 1;
    return 0;
}

/* Starts due deliveries into free slots (reading up to 64 rows, more than
 * SY_WH_INFLIGHT, so a scan always sees rows not already in flight); *next_due gets the time the
 * earliest waiting one falls due (now + RESCAN_MS when none waits). */
static void scan(sy_channels *c, slot *slots, int *nused, int64_t now, int64_t *next_due) {
    *next_due = now + RESCAN_MS;
    sy_db *db;
    sy_err e;
    if (sy_store_read_begin(c->st, &db, &e)) {
        sy_warn("msg=\"webhook scan failed\" error=\"%s\"", e.msg);
        return;
    }
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "SELECT d.id, d.topic, d.body, e.url, e.secret, d.next_attempt_at "
                           "FROM webhook_deliveries d JOIN webhook_endpoints e "
                           "ON e.id = d.endpoint_id WHERE d.status = 'pending' AND e.enabled = 1 "
                           "ORDER BY d.next_attempt_at, d.id LIMIT 64",
                           &st, &e);
    while (rc == 0 && (rc = sy_stmt_step(st, &e)) == SY_ROW) {
        rc = 0;
        int64_t id = sy_stmt_col_int(st, 0), due = sy_stmt_col_int(st, 5);
        if (in_flight(slots, id)) continue;
        if (due > now) {
            if (due < *next_due) *next_due = due;
            break; /* ordered by due time: the rest wait longer */
        }
        if (*nused >= SY_WH_INFLIGHT) {
            *next_due = now; /* more are due: scan again when a slot frees */
            break;
        }
        int k = 0;
        while (slots[k].used)
            k++;
        if (slot_start(c, &slots[k], id, sy_stmt_col_text(st, 1), sy_stmt_col_text(st, 3),
                       sy_stmt_col_text(st, 4), sy_stmt_col_text(st, 2)) == 0)
            (*nused)++;
        else
            sy_warn("msg=\"webhook request not started\" delivery=%lld", (long long)id);
    }
    if (rc < 0) sy_warn("msg=\"webhook scan failed\" error=\"%s\"", e.msg);
    sy_stmt_finalize(st);
    sy_store_read_end(c->st, db);
}

typedef struct record_job {
    const result *r;
    size_t n;
    int64_t base_ms;
} record_job;

/* Records finished attempts: delivered, or the next attempt's time, or
 * failed after SY_WEBHOOK_MAX_ATTEMPTS. A row deleted meanwhile (its
 * endpoint was) is skipped. */
static int record_write(sy_db *db, void *arg, sy_err *e) {
    record_job *j = arg;
    int64_t now = sy_now_ms();
    sy_stmt *get = NULL, *up = NULL;
    int rc = sy_db_prepare(db, "SELECT attempts FROM webhook_deliveries WHERE id = ?1", &get, e);
    if (rc == 0)
        rc = sy_db_prepare(db,
                           "UPDATE webhook_deliveries SET attempts = ?2, status = ?3, "
                           "next_attempt_at = ?4, last_status_code = ?5, last_error = ?6, "
                           "delivered_at = ?7, finished_at = ?8 WHERE id = ?1",
                           &up, e);
    for (size_t i = 0; rc == 0 && i < j->n; i++) {
        const result *r = &j->r[i];
        sy_stmt_bind_int(get, 1, r->id);
        rc = sy_stmt_step(get, e);
        int64_t attempts = rc == SY_ROW ? sy_stmt_col_int(get, 0) + 1 : 0;
        sy_stmt_reset(get);
        if (rc < 0) break;
        rc = 0;
        if (!attempts) continue;
        int64_t delay = r->ok ? -1 : sy_webhook_backoff_ms((int)attempts, j->base_ms);
        const char *status = r->ok ? "delivered" : delay < 0 ? "failed" : "pending";
        sy_stmt_bind_int(up, 1, r->id);
        sy_stmt_bind_int(up, 2, attempts);
        sy_stmt_bind_text(up, 3, status);
        if (delay >= 0)
            sy_stmt_bind_int(up, 4, now + delay);
        else
            sy_stmt_bind_null(up, 4);
        if (r->code)
            sy_stmt_bind_int(up, 5, r->code);
        else
            sy_stmt_bind_null(up, 5);
        sy_stmt_bind_text(up, 6, r->ok ? NULL : r->err);
        if (r->ok)
            sy_stmt_bind_int(up, 7, now);
        else
            sy_stmt_bind_null(up, 7);
        if (delay < 0) /* delivered or failed: finished now */
            sy_stmt_bind_int(up, 8, now);
        else
            sy_stmt_bind_null(up, 8);
        rc = sy_stmt_step(up, e);
        sy_stmt_reset(up);
        if (rc > 0) rc = 0;
        if (rc == 0 && !r->ok)
            sy_warn("msg=\"webhook attempt failed\" delivery=%lld attempt=%lld status=%s "
                    "error=\"%s\"",
                    (long long)r->id, (long long)attempts, status, r->err);
    }
    sy_stmt_finalize(get);
    sy_stmt_finalize(up);
    return rc;
}

/* Turns a finished transfer into a result. */
static void finish(slot *s, CURLcode cc, result *r) {
    memset(r, 0, sizeof *r);
    r->id = s->id;
    if (cc != CURLE_OK) {
        snprintf(r->err, sizeof r->err, "%s",
                 s->blocked[0]  ? s->blocked
                 : s->errbuf[0] ? s->errbuf
                                : curl_easy_strerror(cc));
        return;
    }
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &r->code);
    r->ok = r->code >= 200 && r->code < 300;
    if (!r->ok) {
        /* keep the receiver's own words, printable ASCII only */
        char text[RESP_KEEP + 1];
        size_t k = 0;
        for (size_t i = 0; i < s->resp_n; i++)
            text[k++] = (s->resp[i] >= 0x20 && s->resp[i] < 0x7f) ? s->resp[i] : ' ';
        text[k] = '\0';
        snprintf(r->err, sizeof r->err, "HTTP %ld%s%s", r->code, k ? ": " : "", text);
    }
}

static void *sender_main(void *arg) {
    sy_channels *c = arg;
    slot slots[SY_WH_INFLIGHT];
    memset(slots, 0, sizeof slots);
    int nused = 0;
    int64_t next_due = 0, last_scan = 0, last_prune = 0;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        int stop = c->stopping, kicked = c->kicked;
        c->kicked = 0;
        pthread_mutex_unlock(&c->lock);
        if (stop) break;
        int64_t now = sy_now_ms();
        if (now - last_prune >= PRUNE_MS) {
            int64_t removed = 0;
            sy_err e;
            if (sy_webhook_prune(c, now - c->keep_ms, &removed, &e))
                sy_warn("msg=\"webhook deliveries not pruned\" error=\"%s\"", e.msg);
            else if (removed)
                sy_info("msg=\"webhook deliveries pruned\" removed=%lld keep_days=%lld",
                        (long long)removed, (long long)(c->keep_ms / 86400000));
            last_prune = now;
        }
        if (nused < SY_WH_INFLIGHT && (kicked || now >= next_due || now - last_scan >= RESCAN_MS)) {
            scan(c, slots, &nused, now, &next_due);
            last_scan = now;
        }
        int running = 0;
        curl_multi_perform(c->multi, &running);
        result res[SY_WH_INFLIGHT];
        size_t nres = 0;
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(c->multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            slot *s = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            CURLcode cc = m->data.result;
            curl_multi_remove_handle(c->multi, m->easy_handle);
            if (!s) continue;
            finish(s, cc, &res[nres++]);
            slot_release(s);
            nused--;
        }
        int wait = RESCAN_MS;
        if (nres) {
            record_job j = {res, nres, c->retry_base_ms};
            sy_err e;
            if (sy_store_write(c->st, record_write, &j, &e)) {
                /* The rows stay due: back off a little rather than resend
                 * in a tight loop while the store refuses writes. */
                sy_warn("msg=\"webhook results not recorded\" error=\"%s\"", e.msg);
                next_due = sy_now_ms() + 1000;
            } else {
                next_due = 0; /* retries may now be due sooner than what we knew */
            }
        }
        if (nused < SY_WH_INFLIGHT) {
            int64_t d = next_due - sy_now_ms();
            if (d < wait) wait = d < 0 ? 0 : (int)d;
        }
        if (wait > 0) curl_multi_poll(c->multi, NULL, 0, wait, NULL);
    }
    /* Stopping: abandon what is in flight; those rows are still pending. */
    for (int i = 0; i < SY_WH_INFLIGHT; i++)
        if (slots[i].used) {
            curl_multi_remove_handle(c->multi, slots[i].easy);
            slot_release(&slots[i]);
        }
    return NULL;
}

int sy_wh_sender_start(sy_channels *c, sy_err *e) {
    pthread_mutex_lock(&c->lock);
    int rc = 0;
    if (!c->running) {
        c->multi = curl_multi_init();
        if (!c->multi) {
            rc = sy_err_set(e, SY_E_NOMEM, "cannot create the curl multi handle");
        } else if (pthread_create(&c->thread, NULL, sender_main, c) != 0) {
            curl_multi_cleanup(c->multi);
            c->multi = NULL;
            rc = sy_err_set(e, SY_E_INTERNAL, "cannot start the webhook sender thread");
        } else {
            c->running = 1;
            c->kicked = 1; /* send what is pending from before a restart */
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void sy_wh_sender_stop(sy_channels *c) {
    pthread_mutex_lock(&c->lock);
    int running = c->running;
    c->stopping = 1;
    if (running) curl_multi_wakeup(c->multi);
    pthread_mutex_unlock(&c->lock);
    if (!running) return;
    pthread_join(c->thread, NULL);
    pthread_mutex_lock(&c->lock);
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    c->running = 0;
    pthread_mutex_unlock(&c->lock);
}

void sy_wh_kick(sy_channels *c) {
    pthread_mutex_lock(&c->lock);
    c->kicked = 1;
    if (c->running) curl_multi_wakeup(c->multi);
    pthread_mutex_unlock(&c->lock);
}
