/* Unit tests for events/: the Segment parser and validator, exact money
 * parsing, and the event-log block codec (round trip, damaged blocks). */
#include "test.h"
#include "events/events_int.h"

static const int64_t NOW = 1795000000000LL;

static int parse(sy_arena *a, const char *kind, const char *body, sy_parsed *p, json_t **details,
                 sy_err *e) {
    return sy_segment_parse(a, kind, body, strlen(body), NOW, p, details, e);
}

static void test_batch_ok(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    sy_parsed p;
    sy_err e = {0};
    const char *body =
        "{\"batch\":[{\"type\":\"track\",\"userId\":\"u1\",\"event\":\"order_paid\",\"messageId\":"
        "\"m1\","
        "\"properties\":{\"amount\":19.9},\"timestamp\":\"2026-11-01T08:00:00.000Z\",\"_metadata\":"
        "{\"x\":1}},"
        "{\"type\":\"identify\",\"anonymousId\":\"a1\",\"context\":{\"traits\":{\"phone\":"
        "\"13812345678\"}}},"
        "{\"type\":\"page\",\"userId\":1001,\"originalTimestamp\":\"2026-11-22T00:00:00.000Z\"},"
        "{\"type\":\"alias\",\"previousId\":\"a1\",\"userId\":\"u1\"}],"
        "\"sentAt\":\"2026-11-22T00:00:10.000Z\",\"context\":{\"ip\":\"1.2.3.4\"},\"writeKey\":"
        "\"swk_x\"}";
    assert_ok(parse(a, "batch", body, &p, NULL, &e), &e);
    assert_int_equal(p.n, 4);
    assert_string_equal(p.write_key, "swk_x");
    int64_t ts;
    sy_time_parse("2026-11-01T08:00:00.000Z", &ts);
    assert_int_equal(p.msgs[0].ts, ts); /* sender's timestamp kept unchanged */
    assert_string_equal(p.msgs[0].event, "order_paid");
    assert_non_null(json_object_get(p.msgs[0].context, "ip")); /* batch context merged */
    assert_string_equal(p.msgs[1].event, "$identify");
    assert_non_null(json_object_get(p.msgs[1].traits, "phone")); /* context.traits used */
    assert_string_equal(p.msgs[2].user_id, "1001");              /* numeric id kept as text */
    /* originalTimestamp corrected for a client clock 10 s behind the send: receivedAt - (sentAt -
     * orig) */
    assert_int_equal(p.msgs[2].ts, NOW - 10000);
    assert_int_equal(p.msgs[3].type, SY_MSG_ALIAS);
    assert_string_equal(p.msgs[3].previous_id, "a1");
    json_decref(p.root);
    sy_arena_destroy(a);
}

static void test_batch_errors_listed(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    sy_parsed p;
    sy_err e = {0};
    json_t *details = NULL;
    const char *body =
        "{\"batch\":[{\"type\":\"track\",\"userId\":\"u\"},"
        "{\"type\":\"identify\"},"
        "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"x\",\"timestamp\":\"yesterday\"},"
        "{\"type\":\"warp\",\"userId\":\"u\"},"
        "{\"type\":\"track\",\"userId\":{\"a\":1},\"event\":\"x\"},"
        "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"x\",\"properties\":[1]}]}";
    assert_int_equal(parse(a, "batch", body, &p, &details, &e), SY_E_INVALID);
    assert_null(p.root);
    json_t *errs = json_object_get(details, "errors");
    assert_int_equal(json_array_size(errs), 6);
    const char *fields[] = {"event", "userId", "timestamp", "type", "userId", "properties"};
    for (size_t i = 0; i < 6; i++) {
        json_t *x = json_array_get(errs, i);
        assert_int_equal(json_integer_value(json_object_get(x, "index")), (json_int_t)i);
        assert_string_equal(json_string_value(json_object_get(x, "field")), fields[i]);
    }
    assert_non_null(strstr(e.msg, "message 0"));
    json_decref(details);
    sy_arena_destroy(a);
}

static void test_limits(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    sy_parsed p;
    sy_err e = {0};
    json_t *details = NULL;
    /* a message over 32 KB */
    sy_buf b = SY_BUF_INIT;
    sy_buf_adds(&b, "{\"userId\":\"u\",\"event\":\"big\",\"properties\":{\"blob\":\"");
    for (int i = 0; i < 33 * 1024; i++)
        sy_buf_addc(&b, 'x');
    sy_buf_adds(&b, "\"}}");
    assert_int_equal(sy_segment_parse(a, "track", b.p, b.len, NOW, &p, &details, &e), SY_E_INVALID);
    assert_non_null(strstr(e.msg, "32 KB"));
    json_decref(details);
    sy_buf_reset(&b);
    /* more than 2500 messages */
    sy_buf_adds(&b, "{\"batch\":[");
    for (int i = 0; i < 2501; i++)
        sy_buf_addf(&b, "%s{\"type\":\"track\",\"userId\":\"u\",\"event\":\"e\"}", i ? "," : "");
    sy_buf_adds(&b, "]}");
    assert_int_equal(sy_segment_parse(a, "batch", b.p, b.len, NOW, &p, NULL, &e), SY_E_INVALID);
    assert_non_null(strstr(e.msg, "2500"));
    sy_buf_release(&b);
    assert_int_equal(parse(a, "batch", "{\"batch\":", &p, NULL, &e), SY_E_INVALID);
    assert_non_null(strstr(e.msg, "malformed JSON"));
    assert_int_equal(parse(a, "batch", "[]", &p, NULL, &e), SY_E_INVALID);
    assert_int_equal(parse(a, "batch", "{\"nobatch\":1}", &p, NULL, &e), SY_E_INVALID);
    assert_int_equal(parse(a, "track", "{\"userId\":\"u\",\"event\":\"$page\"}", &p, NULL, &e),
                     SY_E_INVALID);
    sy_arena_destroy(a);
}

static void test_money(void **state) {
    (void)state;
    struct {
        const char *json;
        int ok;
        int64_t fen;
    } cases[] = {{"19.9", 1, 1990},   {"\"19.90\"", 1, 1990}, {"199", 1, 19900},
                 {"\"0.01\"", 1, 1},  {"0.1", 1, 10},         {"\"-5.5\"", 1, -550},
                 {"\"1.234\"", 0, 0}, {"\"abc\"", 0, 0},      {"\"1.\"", 0, 0},
                 {"true", 0, 0},      {"\"12.30\"", 1, 1230}, {"1e2", 1, 10000}};
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        int64_t fen = 0;
        int rc = sy_money_to_fen(v, &fen);
        if (cases[i].ok) {
            if (rc != 0) fail_msg("%s should parse", cases[i].json);
            assert_int_equal(fen, cases[i].fen);
        } else if (rc == 0) {
            fail_msg("%s should be rejected", cases[i].json);
        }
        json_decref(v);
    }
}

static void test_log_roundtrip(void **state) {
    (void)state;
    sy_logrow rows[300];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < 300; i++) {
        rows[i].ev.contact = (uint32_t)(i * 7 + 1);
        rows[i].ev.type = (uint16_t)(i % 5 + 1);
        rows[i].ev.ts = NOW + i;
        rows[i].ev.flags = i % 3 == 0 ? SY_EV_ORDER : 0;
        rows[i].ev.revenue_fen = i % 3 == 0 ? i * 100 : 0;
        rows[i].ev.dims[SY_DIM_CATEGORY] = (uint16_t)(i % 8);
        rows[i].received_at = NOW + 1000;
        rows[i].write_key_id = 3;
        rows[i].order_key = i % 3 == 0 ? 0xABCDEF00ULL + (uint64_t)i : 0;
        rows[i].message_id = i % 10 == 0 ? NULL : "msg-id";
        rows[i].name = "order_paid";
        rows[i].payload = "{\"properties\":{\"amount\":1}}";
        rows[i].payload_len = strlen(rows[i].payload);
    }
    void *blob;
    size_t len;
    uint32_t crc;
    sy_err e = {0};
    assert_ok(sy_log_encode(rows, 300, &blob, &len, &crc, &e), &e);
    sy_arena *a = sy_arena_create();
    sy_logrow *out;
    size_t n;
    assert_ok(sy_log_decode(a, blob, len, crc, &out, &n, &e), &e);
    assert_int_equal(n, 300);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(out[i].ev.contact, rows[i].ev.contact);
        assert_int_equal(out[i].ev.type, rows[i].ev.type);
        assert_int_equal(out[i].ev.ts, rows[i].ev.ts);
        assert_int_equal(out[i].ev.flags, rows[i].ev.flags);
        assert_int_equal(out[i].ev.revenue_fen, rows[i].ev.revenue_fen);
        assert_int_equal(out[i].ev.dims[SY_DIM_CATEGORY], rows[i].ev.dims[SY_DIM_CATEGORY]);
        assert_int_equal(out[i].order_key, rows[i].order_key);
        assert_int_equal(out[i].write_key_id, 3);
        if (rows[i].message_id)
            assert_string_equal(out[i].message_id, "msg-id");
        else
            assert_null(out[i].message_id);
        assert_string_equal(out[i].payload, rows[i].payload);
    }
    /* a damaged checksum or damaged bytes are refused, never decoded */
    assert_int_equal(sy_log_decode(a, blob, len, crc ^ 1, &out, &n, &e), SY_E_INTERNAL);
    assert_non_null(strstr(e.msg, "checksum"));
    ((unsigned char *)blob)[len / 2] ^= 0x55;
    assert_int_not_equal(sy_log_decode(a, blob, len, crc, &out, &n, &e), 0);
    assert_int_not_equal(sy_log_decode(a, blob, 3, crc, &out, &n, &e), 0);
    free(blob);
    sy_arena_destroy(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_ok),      cmocka_unit_test(test_batch_errors_listed),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_money),
        cmocka_unit_test(test_log_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
