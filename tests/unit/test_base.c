/* Unit tests for base/: arena, buffers, time, timezones, JSON strictness, UTF-8. */
#include "test.h"

static void test_arena(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    char *s = sy_strdup(a, "私域");
    assert_string_equal(s, "私域");
    char *big = sy_alloc(a, 100000); /* larger than a chunk */
    big[99999] = 'x';
    assert_int_equal(((uintptr_t)sy_alloc(a, 3)) % 16, 0);
    assert_string_equal(sy_sprintf(a, "%d-%s", 42, "x"), "42-x");
    assert_null(sy_strdup(a, NULL));
    sy_arena_destroy(a);
    sy_arena_destroy(NULL);
}

static int cleaned;
static void bump(void *p) {
    cleaned += *(int *)p;
}

static void test_arena_cleanup_order(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    static int one = 1, ten = 10;
    sy_arena_on_destroy(a, bump, &one);
    sy_arena_on_destroy(a, bump, &ten);
    cleaned = 0;
    sy_arena_destroy(a);
    assert_int_equal(cleaned, 11);
}

static void test_buf(void **state) {
    (void)state;
    sy_buf b = SY_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        sy_buf_addf(&b, "%d,", i);
    assert_int_equal(b.p[b.len], 0);
    assert_true(strncmp(b.p, "0,1,2,", 6) == 0);
    size_t n;
    char *p = sy_buf_detach(&b, &n);
    assert_int_equal(strlen(p), n);
    assert_null(b.p);
    free(p);
}

static void test_time_roundtrip(void **state) {
    (void)state;
    int64_t ms;
    char out[40];
    assert_int_equal(sy_time_parse("2026-11-22T09:00:00.123Z", &ms), 0);
    sy_time_format(ms, out, sizeof out);
    assert_string_equal(out, "2026-11-22T09:00:00.123Z");
    assert_int_equal(sy_time_parse("2026-11-22T17:00:00+08:00", &ms), 0);
    sy_time_format(ms, out, sizeof out);
    assert_string_equal(out, "2026-11-22T09:00:00.000Z");
    assert_int_equal(sy_time_parse("1970-01-01", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(sy_time_parse("2024-02-30", &ms), SY_E_INVALID);
    assert_int_equal(sy_time_parse("2024-02-29", &ms), 0);
    assert_int_equal(sy_time_parse("2023-02-29", &ms), SY_E_INVALID);
    assert_int_equal(sy_time_parse("yesterday", &ms), SY_E_INVALID);
    assert_int_equal(sy_time_parse("2026-11-22T09:00:00Zjunk", &ms), SY_E_INVALID);
    sy_time_format(-1, out, sizeof out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    assert_int_equal(sy_date_valid("2026-13-01"), SY_E_INVALID);
    assert_int_equal(sy_date_valid("2026-12-31"), 0);
}

static void test_timezones(void **state) {
    (void)state;
    int off = 0;
    assert_int_equal(sy_tz_offset("Asia/Shanghai", 1763800000000LL, &off), 0);
    assert_int_equal(off, 8 * 3600);
    assert_true(sy_tz_valid("UTC"));
    assert_false(sy_tz_valid("Mars/Olympus"));
    assert_false(sy_tz_valid("../etc/passwd"));
    if (sy_tz_valid("America/New_York")) { /* tzdata installed: check DST */
        int64_t jan, jul;
        sy_time_parse("2025-01-15T12:00:00Z", &jan);
        sy_time_parse("2025-07-15T12:00:00Z", &jul);
        assert_int_equal(sy_tz_offset("America/New_York", jan, &off), 0);
        assert_int_equal(off, -5 * 3600);
        assert_int_equal(sy_tz_offset("America/New_York", jul, &off), 0);
        assert_int_equal(off, -4 * 3600);
    }
}

static void test_json_strict(void **state) {
    (void)state;
    sy_err e = {0};
    json_t *o;
    const char *bad = "{\"name\": \"x\",}";
    assert_int_equal(sy_json_parse_object(bad, strlen(bad), &o, &e), SY_E_INVALID);
    assert_non_null(strstr(e.msg, "line 1"));
    assert_int_equal(sy_json_parse_object("[1]", 3, &o, &e), SY_E_INVALID);
    assert_int_equal(sy_json_parse_object("{\"a\":1,\"a\":2}", 13, &o, &e), SY_E_INVALID);
    const char *good = "{\"name\":\"张三\",\"age\":3,\"vip\":true,\"extra\":1}";
    assert_int_equal(sy_json_parse_object(good, strlen(good), &o, &e), 0);
    static const char *const allowed[] = {"name", "age", "vip", NULL};
    assert_int_equal(sy_json_only(o, allowed, &e), SY_E_INVALID);
    assert_string_equal(e.field, "extra");
    const char *name = NULL;
    int64_t age = 0;
    int present = 0;
    assert_int_equal(sy_json_str(o, "name", &name, &present, &e), 0);
    assert_true(present);
    assert_string_equal(name, "张三");
    assert_int_equal(sy_json_str(o, "age", &name, &present, &e), SY_E_INVALID);
    assert_string_equal(e.field, "age");
    assert_int_equal(sy_json_req_int(o, "age", &age, &e), 0);
    assert_int_equal(age, 3);
    assert_int_equal(sy_json_req_str(o, "missing", &name, &e), SY_E_INVALID);
    assert_non_null(strstr(e.msg, "required"));
    json_decref(o);
}

static void test_utf8(void **state) {
    (void)state;
    assert_true(sy_utf8_valid("私域 𠮷", strlen("私域 𠮷")));
    assert_false(sy_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(sy_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(sy_utf8_valid("\xe7\xa7", 2));         /* truncated */
    assert_false(sy_utf8_valid("\xd5\xc5\xc8\xfd", 4)); /* GBK 张三 */
    assert_int_equal(sy_utf8_len("私域ab"), 4);
    int64_t v;
    assert_int_equal(sy_parse_i64("42", &v), 0);
    assert_int_equal(sy_parse_i64("42x", &v), SY_E_INVALID);
    assert_int_equal(sy_parse_i64("", &v), SY_E_INVALID);
    assert_int_equal(sy_err_http_status(SY_E_CSRF), 403);
    assert_string_equal(sy_err_name(SY_E_TOO_LARGE), "payload_too_large");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),     cmocka_unit_test(test_arena_cleanup_order),
        cmocka_unit_test(test_buf),       cmocka_unit_test(test_time_roundtrip),
        cmocka_unit_test(test_timezones), cmocka_unit_test(test_json_strict),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
