/* channels.c — the channels module: lifecycle, the webhook signature, the
 * retry schedule, validation, and queueing deliveries into the outbox.
 *
 * Queueing and sending are split on purpose: a delivery is a row committed
 * before anyone is told it exists, so a crash between publish and send
 * loses nothing; the sender thread (channels_sender.c) is the only code
 * that talks to the network. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sodium.h>
#include "channels_int.h"

/* --- pure pieces --- */

int64_t sy_webhook_backoff_ms(int attempts_done, int64_t base_ms) {
    /* Multiples of the base: 10 s, 30 s, 2 min, 10 min, 1 h, 2 h, 4 h with
     * the default — about 7.5 hours from the first failure to "failed",
     * long enough to ride out a receiver's deploy or a night-time outage. */
    static const int64_t mult[SY_WEBHOOK_MAX_ATTEMPTS - 1] = {1, 3, 12, 60, 360, 720, 1440};
    if (attempts_done < 1 || attempts_done >= SY_WEBHOOK_MAX_ATTEMPTS) return -1;
    if (base_ms < 1) base_ms = 1;
    return base_ms * mult[attempts_done - 1];
}

void sy_webhook_signature(const char *secret, int64_t t, const char *body, size_t body_len,
                          char *out, size_t out_n) {
    char ts[24];
    int tn = snprintf(ts, sizeof ts, "%lld.", (long long)t);
    /* crypto_auth_hmacsha256 proper takes a 32-byte key; the init/update/
     * final form takes a key of any length, which lets receivers use the
     * secret string as is (Node: createHmac('sha256', secret)). */
    crypto_auth_hmacsha256_state s;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&s, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&s, (const unsigned char *)ts, (unsigned long long)tn);
    crypto_auth_hmacsha256_update(&s, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&s, mac);
    char hex[2 * sizeof mac + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    snprintf(out, out_n, "t=%lld,v1=%s", (long long)t, hex);
}

int sy_webhook_topic_match(const char *pattern, const char *topic) {
    if (!pattern || !topic) return 0;
    if (strcmp(pattern, "*") == 0) return 1;
    size_t n = strlen(pattern);
    if (n >= 2 && pattern[n - 1] == '*' && pattern[n - 2] == '.')
        return strncmp(pattern, topic, n - 1) == 0 && topic[n - 1] != '\0';
    return strcmp(pattern, topic) == 0;
}

int sy_wh_topics_match(const char *topics_json, const char *topic) {
    json_t *a = topics_json ? json_loads(topics_json, 0, NULL) : NULL;
    int hit = 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (json_is_string(v) && sy_webhook_topic_match(json_string_value(v), topic)) {
            hit = 1;
            break;
        }
    }
    json_decref(a);
    return hit;
}

/* --- validation --- */

int sy_wh_check_topic(const char *field, const char *topic, int pattern, sy_err *e) {
    size_t n = topic ? strlen(topic) : 0;
    if (pattern && n == 1 && topic[0] == '*') return 0;
    size_t body = n;
    if (pattern && n >= 2 && topic[n - 1] == '*' && topic[n - 2] == '.') body = n - 2;
    int ok = n >= 1 && n <= SY_WH_TOPIC_MAX && body >= 1;
    for (size_t i = 0; ok && i < body; i++) {
        char ch = topic[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
             ch == '-';
    }
    if (!ok)
        return sy_err_field(e, SY_E_INVALID, field,
                            pattern ? "topic \"%.80s\" is not valid: use 1–64 characters of "
                                      "a-z 0-9 . _ -, optionally ending in \".*\", or \"*\""
                                    : "topic \"%.80s\" is not valid: use 1–64 characters of "
                                      "a-z 0-9 . _ -",
                            topic ? topic : "");
    return 0;
}

int sy_wh_check_url(const char *url, sy_err *e) {
    size_t n = strlen(url);
    if (n == 0 || n > SY_WH_URL_MAX)
        return sy_err_field(e, SY_E_INVALID, "url", "url must be 1–%d characters", SY_WH_URL_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
            return sy_err_field(e, SY_E_INVALID, "url",
                                "url \"%.200s\" contains a space or control character", url);
    /* curl reads "http:///x" as host "x"; an operator who typed three
     * slashes meant something else, so say so. */
    const char *sep = strstr(url, "://");
    if (sep && sep[3] == '/')
        return sy_err_field(e, SY_E_INVALID, "url", "url \"%.200s\" has no host", url);
    CURLU *u = curl_url();
    if (!u) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    char *scheme = NULL, *host = NULL;
    int rc = 0;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
        rc = sy_err_field(e, SY_E_INVALID, "url",
                          "url \"%.200s\" is not an absolute URL such as "
                          "https://example.com/hooks/siyu",
                          url);
    else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
        rc = sy_err_field(e, SY_E_INVALID, "url",
                          "url \"%.200s\" must start with http:// or https://", url);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

int sy_wh_check_secret(const char *secret, sy_err *e) {
    size_t n = strlen(secret);
    int ok = n >= SY_WH_SECRET_MIN && n <= SY_WH_SECRET_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = secret[i] > 0x20 && secret[i] < 0x7f;
    if (!ok)
        return sy_err_field(e, SY_E_INVALID, "secret",
                            "secret must be %d–%d printable ASCII characters without spaces "
                            "(omit it to have one generated)",
                            SY_WH_SECRET_MIN, SY_WH_SECRET_MAX);
    return 0;
}

void sy_wh_new_secret(char out[SY_WH_SECRET_BUF]) {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(out, "whsec_", 6);
    sodium_bin2hex(out + 6, SY_WH_SECRET_BUF - 6, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
}

/* --- queueing --- */

typedef struct queue_job {
    const sy_actor *actor;
    const char *audit_action;
    int64_t endpoint_id; /* 0 = every subscriber */
    const char *topic;
    json_t *data;
    size_t queued;
    int64_t last_id;
} queue_job;

/* Inserts one delivery for endpoint ep: the row first (its id is part of
 * the body), then the body, which is what will be sent byte for byte. */
static int insert_delivery(sy_db *db, queue_job *j, int64_t ep, int64_t now, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(db,
                                  "INSERT INTO webhook_deliveries (endpoint_id, topic, body, "
                                  "status, attempts, next_attempt_at, created_at) "
                                  "VALUES (?1, ?2, '', 'pending', 0, ?3, ?3)",
                                  &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, ep);
    sy_stmt_bind_text(st, 2, j->topic);
    sy_stmt_bind_int(st, 3, now);
    rc = sy_stmt_step(st, e);
    sy_stmt_done(st);
    if (rc < 0) return rc;
    int64_t id = sy_db_last_id(db);
    json_t *env = json_pack("{s:I, s:s, s:I, s:O}", "id", (json_int_t)id, "topic", j->topic,
                            "created_at", (json_int_t)now, "data", j->data ? j->data : json_null());
    char *body = env ? sy_json_dump(env) : NULL;
    json_decref(env);
    if (!body) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    if (strlen(body) > SY_WH_BODY_MAX) {
        free(body);
        return sy_err_field(e, SY_E_TOO_LARGE, "data", "webhook body is over %zu KiB",
                            SY_WH_BODY_MAX / 1024);
    }
    rc = sy_db_prepare_cached(db, "UPDATE webhook_deliveries SET body = ?2 WHERE id = ?1", &st, e);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, id);
        sy_stmt_bind_text(st, 2, body);
        rc = sy_stmt_step(st, e);
        sy_stmt_done(st);
    }
    free(body);
    if (rc < 0) return rc;
    j->queued++;
    j->last_id = id;
    return 0;
}

static int queue_write(sy_db *db, void *arg, sy_err *e) {
    queue_job *j = arg;
    int64_t now = sy_now_ms();
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           j->endpoint_id
                               ? "SELECT id, topics, enabled FROM webhook_endpoints WHERE id = ?1"
                               : "SELECT id, topics, enabled FROM webhook_endpoints "
                                 "WHERE enabled = 1 ORDER BY id",
                           &st, e);
    if (rc) return rc;
    if (j->endpoint_id) sy_stmt_bind_int(st, 1, j->endpoint_id);
    /* Collect first: inserting while the SELECT is open on the same
     * connection works in SQLite, but reading a stable list is clearer. */
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    int found = 0, disabled = 0;
    while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
        found = 1;
        if (!sy_stmt_col_int(st, 2)) {
            disabled = 1;
            continue;
        }
        if (!j->endpoint_id && !sy_wh_topics_match(sy_stmt_col_text(st, 1), j->topic)) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            int64_t *x = realloc(ids, nc * sizeof *x);
            if (!x) {
                rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
                break;
            }
            ids = x, cap = nc;
        }
        ids[n++] = sy_stmt_col_int(st, 0);
    }
    sy_stmt_finalize(st);
    if (rc == SY_DONE && j->endpoint_id && !found)
        rc = sy_err_set(e, SY_E_NOT_FOUND, "webhook %lld not found", (long long)j->endpoint_id);
    else if (rc == SY_DONE && j->endpoint_id && disabled)
        rc = sy_err_set(e, SY_E_PRECONDITION, "webhook %lld is disabled; enable it first",
                        (long long)j->endpoint_id);
    if (rc == SY_DONE) rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = insert_delivery(db, j, ids[i], now, e);
    free(ids);
    if (rc == 0 && j->audit_action) {
        char target[40];
        snprintf(target, sizeof target, "webhook:%lld", (long long)j->endpoint_id);
        json_t *d =
            json_pack("{s:s, s:I}", "topic", j->topic, "delivery_id", (json_int_t)j->last_id);
        rc = sy_audit_record(db, j->actor, j->audit_action, target, d, e);
        json_decref(d);
    }
    return rc;
}

int sy_wh_queue(sy_channels *c, const sy_actor *actor, const char *audit_action,
                int64_t endpoint_id, const char *topic, json_t *data, size_t *queued,
                int64_t *delivery_id, sy_err *e) {
    int rc = sy_wh_check_topic("topic", topic, 0, e);
    if (rc) return rc;
    queue_job j = {actor, audit_action, endpoint_id, topic, data, 0, 0};
    rc = sy_store_write(c->st, queue_write, &j, e);
    if (rc) return rc;
    if (queued) *queued = j.queued;
    if (delivery_id) *delivery_id = j.last_id;
    if (j.queued) sy_wh_kick(c);
    return 0;
}

static int v4_blocked(uint32_t a, const char **why) {
    static const struct {
        uint32_t net, mask;
        const char *why;
    } nets[] = {
        {0x7f000000, 0xff000000, "loopback"},    {0x0a000000, 0xff000000, "private"},
        {0xac100000, 0xfff00000, "private"},     {0xc0a80000, 0xffff0000, "private"},
        {0xa9fe0000, 0xffff0000, "link-local"},  {0x64400000, 0xffc00000, "shared"},
        {0x00000000, 0xff000000, "unspecified"}, {0xe0000000, 0xf0000000, "multicast"},
        {0xffffffff, 0xffffffff, "broadcast"},
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        if ((a & nets[i].mask) == nets[i].net) {
            if (why) *why = nets[i].why;
            return 1;
        }
    return 0;
}

int sy_webhook_addr_blocked(const struct sockaddr *sa, const char **why) {
    if (!sa) return 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_blocked(ntohl(in->sin_addr.s_addr), why);
    }
    if (sa->sa_family != AF_INET6) return 0;
    const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, mapped, 12) == 0)
        return v4_blocked(
            (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15], why);
    int zero = 1; /* the first 15 bytes */
    for (int i = 0; i < 15; i++)
        zero &= b[i] == 0;
    const char *w = NULL;
    if (zero && b[15] == 1)
        w = "loopback";
    else if (zero && b[15] == 0)
        w = "unspecified";
    else if ((b[0] & 0xfe) == 0xfc)
        w = "private";
    else if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        w = "link-local";
    else if (b[0] == 0xff)
        w = "multicast";
    if (w && why) *why = w;
    return w != NULL;
}

typedef struct prune_job {
    int64_t before_ms;
    int changed;
} prune_job;

static int prune_write(sy_db *db, void *arg, sy_err *e) {
    prune_job *j = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM "
                           "webhook_deliveries WHERE finished_at < ?1 LIMIT ?2)",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->before_ms);
    sy_stmt_bind_int(st, 2, SY_WEBHOOK_PRUNE_BATCH);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    j->changed = sy_db_changes(db);
    return 0;
}

int sy_webhook_prune(sy_channels *c, int64_t before_ms, int64_t *removed, sy_err *e) {
    int64_t n = 0;
    int rc;
    prune_job j = {before_ms, 0};
    do {
        j.changed = 0;
        rc = sy_store_write(c->st, prune_write, &j, e);
        if (rc == 0) n += j.changed;
    } while (rc == 0 && j.changed == SY_WEBHOOK_PRUNE_BATCH);
    if (removed) *removed = n;
    return rc;
}

int sy_webhook_publish(sy_channels *c, const char *topic, json_t *data, size_t *queued, sy_err *e) {
    return sy_wh_queue(c, NULL, NULL, 0, topic, data, queued, NULL, e);
}

int sy_webhook_send_to(sy_channels *c, int64_t endpoint_id, const char *topic, json_t *data,
                       int64_t *delivery_id, sy_err *e) {
    if (endpoint_id <= 0)
        return sy_err_set(e, SY_E_NOT_FOUND, "webhook %lld not found", (long long)endpoint_id);
    int rc = sy_wh_queue(c, NULL, NULL, endpoint_id, topic, data, NULL, delivery_id, e);
    if (rc == SY_E_PRECONDITION) /* the contract: disabled reads as missing */
        rc = sy_err_set(e, SY_E_NOT_FOUND, "webhook %lld is disabled", (long long)endpoint_id);
    return rc;
}

int sy_webhook_endpoint_exists(sy_channels *c, int64_t endpoint_id, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "SELECT 1 FROM webhook_endpoints WHERE id = ?1", &st, e)) == 0) {
        sy_stmt_bind_int(st, 1, endpoint_id);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
    }
    sy_store_read_end(c->st, db);
    if (rc < 0) return rc;
    if (rc == SY_DONE)
        return sy_err_set(e, SY_E_NOT_FOUND, "webhook %lld not found", (long long)endpoint_id);
    return 0;
}

/* --- the module --- */

int sy_channels_create(sy_store *st, sy_staff *staff, sy_channels **out, sy_err *e) {
    sy_channels *c = calloc(1, sizeof *c);
    if (!c) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    c->st = st;
    c->staff = staff;
    c->retry_base_ms = SY_WH_DEFAULT_BASE_MS;
    const char *env = getenv("SIYU_WEBHOOK_RETRY_BASE_MS");
    int64_t v;
    if (env && *env) {
        if (sy_parse_i64(env, &v) == 0 && v >= 1 && v <= 86400000)
            c->retry_base_ms = v;
        else
            sy_warn("msg=\"SIYU_WEBHOOK_RETRY_BASE_MS ignored: not 1..86400000\" value=\"%.40s\"",
                    env);
    }
    c->keep_ms = (int64_t)SY_WEBHOOK_KEEP_DAYS * 86400000;
    env = getenv("SIYU_WEBHOOK_KEEP_DAYS");
    if (env && *env) {
        if (sy_parse_i64(env, &v) == 0 && v >= 1 && v <= 3650)
            c->keep_ms = v * 86400000;
        else
            sy_warn("msg=\"SIYU_WEBHOOK_KEEP_DAYS ignored: not 1..3650\" value=\"%.40s\"", env);
    }
    env = getenv("SIYU_WEBHOOK_ALLOW_PRIVATE");
    c->allow_private = env && strcmp(env, "1") == 0;
    if (env && *env && strcmp(env, "0") != 0 && strcmp(env, "1") != 0)
        sy_warn("msg=\"SIYU_WEBHOOK_ALLOW_PRIVATE ignored: not 0 or 1\" value=\"%.40s\"", env);
    pthread_mutex_init(&c->lock, NULL);
    /* Reference-counted by libcurl; thread-safe in the Debian 12 build
     * (7.88, built with atomics), but called here, before any thread of
     * ours uses curl, all the same. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        sy_channels_destroy(c);
        return sy_err_set(e, SY_E_IO, "cannot initialise libcurl");
    }
    c->curl_ready = 1;
    *out = c;
    return 0;
}

void sy_channels_register(sy_channels *c, sy_http *h) {
    sy_wh_api_register(c, h);
    sy_err e;
    if (sy_wh_sender_start(c, &e))
        sy_error("msg=\"webhook sender not started\" error=\"%s\"", e.msg);
}

void sy_channels_destroy(sy_channels *c) {
    if (!c) return;
    sy_wh_sender_stop(c);
    if (c->curl_ready) curl_global_cleanup();
    pthread_mutex_destroy(&c->lock);
    free(c);
}
