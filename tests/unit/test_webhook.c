/* test_webhook.c — the webhook sender's pure pieces (signature against
 * vectors computed independently with `openssl dgst -sha256 -hmac`, the
 * retry schedule, topic patterns, validation) and queueing into the outbox
 * on a real store (publish fans out to subscribers; send_to refuses
 * missing and disabled endpoints; the stored body is the envelope). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "test.h"
#include "store/store.h"
#include "channels/channels_int.h"

/* --- signature --- */

static void test_signature_vectors(void **state) {
    (void)state;
    char sig[SY_WEBHOOK_SIG_MAX];
    /* printf '%s' '1795320000.{"id":42,...}' | openssl dgst -sha256 -hmac
     * 'whsec_test_secret_0123456789' */
    const char *body =
        "{\"id\":42,\"topic\":\"alert.fired\",\"created_at\":1795320000000,\"data\":{\"metric\":"
        "\"dau\",\"value\":123}}";
    sy_webhook_signature("whsec_test_secret_0123456789", 1795320000, body, strlen(body), sig,
                         sizeof sig);
    assert_string_equal(
        sig, "t=1795320000,v1=f6a9740d1214adc8531fd527bb4cad68f039ac1880c60ee5eb44b41d5319f447");
    /* a key longer than SHA-256's 64-byte block is hashed first (RFC 2104) */
    char key[101];
    memset(key, 'x', 100);
    key[100] = '\0';
    sy_webhook_signature(key, 7, "body", 4, sig, sizeof sig);
    assert_string_equal(sig,
                        "t=7,v1=f26e0ec48c92e452482a33c3ed296122a7fc31b1c23a30028331c8afe0ab9afd");
    /* UTF-8 bodies are signed as bytes */
    const char *zh = "{\"a\":\"中文\"}";
    sy_webhook_signature("whsec_0123456789abcdef", 1700000000, zh, strlen(zh), sig, sizeof sig);
    assert_string_equal(
        sig, "t=1700000000,v1=3000d640de887c2eab985899db47c91728433737846115460d5c3ff47614e8c3");
    /* the body length is honoured (no reliance on NUL) */
    sy_webhook_signature("k", 0, "xyz", 0, sig, sizeof sig);
    assert_string_equal(sig,
                        "t=0,v1=6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7");
}

/* --- retry schedule --- */

static void test_backoff(void **state) {
    (void)state;
    const int64_t want[] = {10000, 30000, 120000, 600000, 3600000, 7200000, 14400000};
    for (int i = 1; i < SY_WEBHOOK_MAX_ATTEMPTS; i++)
        assert_int_equal(sy_webhook_backoff_ms(i, 10000), want[i - 1]);
    assert_int_equal(sy_webhook_backoff_ms(SY_WEBHOOK_MAX_ATTEMPTS, 10000), -1);
    assert_int_equal(sy_webhook_backoff_ms(0, 10000), -1);
    assert_int_equal(sy_webhook_backoff_ms(1, 20), 20);
    assert_int_equal(sy_webhook_backoff_ms(2, 20), 60);
    /* strictly increasing */
    for (int i = 2; i < SY_WEBHOOK_MAX_ATTEMPTS; i++)
        assert_true(sy_webhook_backoff_ms(i, 10) > sy_webhook_backoff_ms(i - 1, 10));
}

/* --- topics and validation --- */

static void test_topics(void **state) {
    (void)state;
    assert_true(sy_webhook_topic_match("*", "alert.fired"));
    assert_true(sy_webhook_topic_match("alert.fired", "alert.fired"));
    assert_false(sy_webhook_topic_match("alert.fired", "alert.resolved"));
    assert_true(sy_webhook_topic_match("alert.*", "alert.resolved"));
    assert_false(sy_webhook_topic_match("alert.*", "alert."));
    assert_false(sy_webhook_topic_match("alert.*", "alerts.fired"));
    assert_false(sy_webhook_topic_match("alert.*", "alert"));
    assert_true(sy_wh_topics_match("[\"webhook.test\",\"alert.*\"]", "alert.fired"));
    assert_false(sy_wh_topics_match("[\"webhook.test\"]", "alert.fired"));
    assert_false(sy_wh_topics_match("not json", "alert.fired"));

    sy_err e;
    assert_ok(sy_wh_check_topic("topic", "alert.fired", 0, &e), &e);
    assert_ok(sy_wh_check_topic("topics[0]", "*", 1, &e), &e);
    assert_ok(sy_wh_check_topic("topics[0]", "alert.*", 1, &e), &e);
    assert_int_equal(sy_wh_check_topic("topic", "*", 0, &e), SY_E_INVALID);
    assert_int_equal(sy_wh_check_topic("topic", "Alert", 0, &e), SY_E_INVALID);
    assert_string_equal(e.field, "topic");
    assert_int_equal(sy_wh_check_topic("topics[2]", ".*", 1, &e), SY_E_INVALID);
    assert_string_equal(e.field, "topics[2]");
    assert_int_equal(sy_wh_check_topic("topic", "", 0, &e), SY_E_INVALID);
    char longt[80];
    memset(longt, 'a', 65);
    longt[65] = '\0';
    assert_int_equal(sy_wh_check_topic("topic", longt, 0, &e), SY_E_INVALID);
}

static void test_url_and_secret(void **state) {
    (void)state;
    sy_err e;
    assert_ok(sy_wh_check_url("https://example.com/hooks/siyu", &e), &e);
    assert_ok(sy_wh_check_url("http://127.0.0.1:8080/x?y=1", &e), &e);
    assert_ok(sy_wh_check_url("HTTPS://EXAMPLE.COM", &e), &e);
    const char *bad[] = {
        "",         "example.com/hook",     "ftp://example.com/x", "file:///etc/passwd",
        "https://", "https://exa mple.com", "http:///nohost",      "javascript:alert(1)"};
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        sy_err_clear(&e);
        if (sy_wh_check_url(bad[i], &e) != SY_E_INVALID) fail_msg("url \"%s\" accepted", bad[i]);
        assert_string_equal(e.field, "url");
    }
    assert_ok(sy_wh_check_secret("0123456789abcdef", &e), &e);
    assert_int_equal(sy_wh_check_secret("short", &e), SY_E_INVALID);
    assert_int_equal(sy_wh_check_secret("has a space in it ok", &e), SY_E_INVALID);
    assert_string_equal(e.field, "secret");
    char s1[SY_WH_SECRET_BUF], s2[SY_WH_SECRET_BUF];
    sy_wh_new_secret(s1);
    sy_wh_new_secret(s2);
    assert_int_equal(strlen(s1), 70);
    assert_true(strncmp(s1, "whsec_", 6) == 0);
    assert_string_not_equal(s1, s2);
    assert_ok(sy_wh_check_secret(s1, &e), &e);
}

/* --- queueing on a real store --- */

static int seed_endpoints(sy_db *db, void *arg, sy_err *e) {
    (void)arg;
    return sy_db_exec(
        db,
        "INSERT INTO webhook_endpoints (id, name, url, secret, topics, enabled, "
        "created_at, updated_at) VALUES "
        "(1, 'all', 'http://127.0.0.1:9/a', 'whsec_aaaaaaaaaaaaaaaa', '[\"*\"]', 1, 0, 0),"
        "(2, 'alerts', 'http://127.0.0.1:9/b', 'whsec_bbbbbbbbbbbbbbbb', "
        "'[\"alert.*\"]', 1, 0, 0),"
        "(3, 'off', 'http://127.0.0.1:9/c', 'whsec_cccccccccccccccc', '[\"*\"]', 0, 0, 0),"
        "(4, 'tests', 'http://127.0.0.1:9/d', 'whsec_dddddddddddddddd', "
        "'[\"webhook.test\"]', 1, 0, 0)",
        e);
}

/* A store in a fresh directory with the module on it and the four
 * endpoints above. */
static void open_outbox(char **dir, sy_store **st, sy_channels **c) {
    sy_err e;
    *dir = test_tmpdir();
    assert_ok(sy_store_open(*dir, st, &e), &e);
    assert_ok(sy_channels_create(*st, NULL, c, &e), &e);
    assert_ok(sy_store_write(*st, seed_endpoints, NULL, &e), &e);
}

static void test_queue(void **state) {
    (void)state;
    char *dir;
    sy_err e;
    sy_store *st;
    sy_channels *c;
    open_outbox(&dir, &st, &c);

    json_t *data = json_pack("{s:s, s:f}", "metric", "dau", "value", 1.5);
    size_t n = 99;
    assert_ok(sy_webhook_publish(c, "alert.fired", data, &n, &e), &e);
    assert_int_equal(n,
                     2); /* endpoints 1 (*) and 2 (alert.*); 3 is disabled, 4 does not subscribe */
    assert_ok(sy_webhook_publish(c, "contact.created", data, &n, &e), &e);
    assert_int_equal(n, 1);
    assert_int_equal(sy_webhook_publish(c, "Bad Topic", data, &n, &e), SY_E_INVALID);

    assert_ok(sy_webhook_endpoint_exists(c, 3, &e), &e); /* disabled still exists */
    assert_int_equal(sy_webhook_endpoint_exists(c, 99, &e), SY_E_NOT_FOUND);

    int64_t did = 0;
    assert_ok(sy_webhook_send_to(c, 4, "alert.fired", data, &did, &e), &e);
    assert_true(did > 0);
    assert_int_equal(sy_webhook_send_to(c, 3, "alert.fired", data, &did, &e), SY_E_NOT_FOUND);
    assert_int_equal(sy_webhook_send_to(c, 99, "alert.fired", data, &did, &e), SY_E_NOT_FOUND);

    /* a body over 256 KiB is refused and nothing is queued */
    json_t *big = json_object();
    char *blob = malloc(300 * 1024);
    memset(blob, 'x', 300 * 1024 - 1);
    blob[300 * 1024 - 1] = '\0';
    json_object_set_new(big, "blob", json_string(blob));
    free(blob);
    assert_int_equal(sy_webhook_publish(c, "alert.fired", big, &n, &e), SY_E_TOO_LARGE);
    json_decref(big);

    sy_db *db;
    assert_ok(sy_store_read_begin(st, &db, &e), &e);
    int64_t count;
    assert_ok(sy_db_query_int(db, "SELECT count(*) FROM webhook_deliveries", &count, &e), &e);
    assert_int_equal(count, 4);
    assert_ok(sy_db_query_int(db,
                              "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' "
                              "AND attempts = 0 AND next_attempt_at = created_at",
                              &count, &e),
              &e);
    assert_int_equal(count, 4);
    sy_stmt *q;
    assert_ok(sy_db_prepare(db, "SELECT body FROM webhook_deliveries WHERE id = ?1", &q, &e), &e);
    sy_stmt_bind_int(q, 1, did);
    assert_int_equal(sy_stmt_step(q, &e), SY_ROW);
    json_t *body = json_loads(sy_stmt_col_text(q, 0), 0, NULL);
    sy_stmt_finalize(q);
    sy_store_read_end(st, db);
    assert_non_null(body);
    assert_int_equal(json_integer_value(json_object_get(body, "id")), did);
    assert_string_equal(json_string_value(json_object_get(body, "topic")), "alert.fired");
    assert_true(json_integer_value(json_object_get(body, "created_at")) > 1700000000000LL);
    assert_true(json_equal(json_object_get(body, "data"), data));
    json_decref(body);
    json_decref(data);

    sy_channels_destroy(c);
    sy_channels_destroy(NULL);
    sy_store_close(st);
    test_rmdir(dir);
}

/* Deliveries at every state around the cut-off: only finished ones that
 * finished before it go; a batch boundary does not stop the pruning. */
/* One outbox row for endpoint 1; a time < 0 is NULL. */
static int insert_delivery(sy_stmt *st, int64_t id, const char *status, int64_t created,
                           int64_t delivered, int64_t finished, int64_t next, sy_err *e) {
    const int64_t times[] = {created, delivered, finished, next};
    sy_stmt_bind_int(st, 1, id);
    sy_stmt_bind_text(st, 2, status);
    for (int i = 0; i < 4; i++)
        if (times[i] < 0)
            sy_stmt_bind_null(st, 3 + i);
        else
            sy_stmt_bind_int(st, 3 + i, times[i]);
    int rc = sy_stmt_step(st, e);
    sy_stmt_reset(st);
    return rc < 0 ? rc : 0;
}

static int seed_deliveries(sy_db *db, void *arg, sy_err *e) {
    const int64_t now = *(const int64_t *)arg, day = 86400000;
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "INSERT INTO webhook_deliveries (id, endpoint_id, topic, body, status, "
                           "created_at, delivered_at, finished_at, next_attempt_at) "
                           "VALUES (?1, 1, 'alert.fired', '{}', ?2, ?3, ?4, ?5, ?6)",
                           &st, e);
    if (rc) return rc;
    /* 1 and 2 go; 3, pending 4 and 5 (exactly on the cut) stay */
    rc = insert_delivery(st, 1, "delivered", now - 101 * day, now - 100 * day, now - 100 * day, -1,
                         e);
    if (!rc) rc = insert_delivery(st, 2, "failed", now - 41 * day, -1, now - 40 * day, -1, e);
    if (!rc)
        rc = insert_delivery(st, 3, "delivered", now - 10 * day, now - 10 * day, now - 10 * day, -1,
                             e);
    if (!rc) rc = insert_delivery(st, 4, "pending", now - 100 * day, -1, -1, now, e);
    if (!rc) rc = insert_delivery(st, 5, "failed", now - 31 * day, -1, now - 30 * day, -1, e);
    /* more than two batches of old delivered rows */
    for (int i = 0; rc == 0 && i < 2 * SY_WEBHOOK_PRUNE_BATCH + 3; i++)
        rc = insert_delivery(st, 1000 + i, "delivered", now - 90 * day, now - 90 * day,
                             now - 90 * day, -1, e);
    sy_stmt_finalize(st);
    return rc;
}

static void test_prune(void **state) {
    (void)state;
    char *dir;
    sy_err e;
    sy_store *st;
    sy_channels *c;
    open_outbox(&dir, &st, &c);
    int64_t now = sy_now_ms();
    assert_ok(sy_store_write(st, seed_deliveries, &now, &e), &e);
    int64_t removed = -1;
    assert_ok(sy_webhook_prune(c, now - 30 * 86400000LL, &removed, &e), &e);
    assert_int_equal(removed, 2 + 2 * SY_WEBHOOK_PRUNE_BATCH + 3);
    sy_db *db;
    assert_ok(sy_store_read_begin(st, &db, &e), &e);
    int64_t n = 0;
    assert_ok(sy_db_query_int(db, "SELECT count(*) FROM webhook_deliveries", &n, &e), &e);
    assert_int_equal(n, 3);
    assert_ok(sy_db_query_int(db, "SELECT sum(id) FROM webhook_deliveries", &n, &e), &e);
    assert_int_equal(n, 3 + 4 + 5);
    sy_store_read_end(st, db);
    /* nothing more to prune: a second call removes nothing */
    assert_ok(sy_webhook_prune(c, now - 30 * 86400000LL, &removed, &e), &e);
    assert_int_equal(removed, 0);
    sy_channels_destroy(c);
    sy_store_close(st);
    test_rmdir(dir);
}

static int blocked(const char *ip, const char **why) {
    struct sockaddr_in in = {0};
    struct sockaddr_in6 in6 = {0};
    if (inet_pton(AF_INET, ip, &in.sin_addr) == 1) {
        in.sin_family = AF_INET;
        return sy_webhook_addr_blocked((struct sockaddr *)&in, why);
    }
    assert_int_equal(inet_pton(AF_INET6, ip, &in6.sin6_addr), 1);
    in6.sin6_family = AF_INET6;
    return sy_webhook_addr_blocked((struct sockaddr *)&in6, why);
}

static void test_private_addresses(void **state) {
    (void)state;
    static const struct {
        const char *ip, *why; /* why NULL: allowed */
    } v[] = {
        {"127.0.0.1", "loopback"},
        {"127.255.0.9", "loopback"},
        {"10.1.2.3", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"172.32.0.1", NULL},
        {"172.15.255.255", NULL},
        {"192.168.1.1", "private"},
        {"192.169.0.1", NULL},
        {"169.254.169.254", "link-local"},
        {"100.64.0.1", "shared"},
        {"100.128.0.1", NULL},
        {"0.0.0.0", "unspecified"},
        {"224.0.0.1", "multicast"},
        {"255.255.255.255", "broadcast"},
        {"8.8.8.8", NULL},
        {"203.0.113.5", NULL},
        {"::1", "loopback"},
        {"::", "unspecified"},
        {"fe80::1", "link-local"},
        {"febf::1", "link-local"},
        {"fec0::1", NULL},
        {"fd00::1", "private"},
        {"fc00::1", "private"},
        {"ff02::1", "multicast"},
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:10.0.0.8", "private"},
        {"::ffff:8.8.8.8", NULL},
        {"2001:db8::1", NULL},
        {"2400:3200::1", NULL},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const char *why = NULL;
        int b = blocked(v[i].ip, &why);
        if (!v[i].why) {
            if (b) fail_msg("%s blocked as %s", v[i].ip, why);
        } else {
            if (!b) fail_msg("%s not blocked", v[i].ip);
            assert_string_equal(why, v[i].why);
        }
    }
    assert_int_equal(sy_webhook_addr_blocked(NULL, NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_vectors),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_url_and_secret),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_private_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
