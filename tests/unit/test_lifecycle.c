/* test_lifecycle.c — the stage rules: a contact's facts → stage, at each
 * boundary of each rule, and the {"stage": …} segment condition's parsing. */
#include "test.h"
#include "lifecycle/lifecycle.h"
#include "segments/segments_int.h"

#define DAY 86400000LL
/* 2026-11-22 12:00 Asia/Shanghai (04:00 UTC) */
#define NOW 1795320000000LL

static sy_lc_rules R;

static int stage(int added, int64_t joined, int64_t last, uint32_t orders) {
    sy_lc_facts f = {added, joined, last, orders};
    return sy_lc_classify(&R, &f, NOW, "Asia/Shanghai");
}

static void test_keys(void **state) {
    (void)state;
    for (int s = 1; s < SY_STAGE_COUNT; s++) {
        assert_int_equal(sy_stage_parse(sy_stage_key(s)), s);
        assert_true(strlen(sy_stage_label(s)) > 0);
    }
    assert_int_equal(sy_stage_parse("bogus"), SY_STAGE_NONE);
    assert_int_equal(sy_stage_parse(""), SY_STAGE_NONE);
    assert_int_equal(sy_stage_parse(NULL), SY_STAGE_NONE);
    assert_string_equal(sy_stage_label(SY_STAGE_CONVERTED), "已转化");
}

static void test_funnel(void **state) {
    (void)state;
    sy_lc_rules_default(&R);
    /* nothing at all */
    assert_int_equal(stage(0, 0, 0, 0), SY_STAGE_NONE);
    /* added 8 days ago, nothing since: 新加微 (activity older than 7 days) */
    assert_int_equal(stage(1, 0, NOW - 8 * DAY, 0), SY_STAGE_ADDED);
    /* added just now: active beats added */
    assert_int_equal(stage(1, 0, NOW - 1000, 0), SY_STAGE_ACTIVE);
    /* joined 8 days ago and nothing later: 已入群 */
    assert_int_equal(stage(1, NOW - 8 * DAY, NOW - 8 * DAY, 0), SY_STAGE_IN_GROUP);
    /* joined, active again on a later calendar day, 8 days ago: 留存 */
    assert_int_equal(stage(1, NOW - 10 * DAY, NOW - 8 * DAY, 0), SY_STAGE_RETAINED);
    /* joined and active the same local day only: still 已入群 */
    assert_int_equal(stage(1, NOW - 10 * DAY, NOW - 10 * DAY + 3600000, 0), SY_STAGE_IN_GROUP);
    /* local days: joined 23:30 Shanghai, active 00:30 the next local day */
    int64_t j = NOW - 10 * DAY + 11 * 3600000LL + 1800000; /* 23:30 local */
    assert_int_equal(stage(1, j, j + 3600000, 0), SY_STAGE_RETAINED);
    /* 7-day boundary of 活跃: exactly 7 days idle is no longer active */
    assert_int_equal(stage(1, 0, NOW - 7 * DAY + 1, 0), SY_STAGE_ACTIVE);
    assert_int_equal(stage(1, 0, NOW - 7 * DAY, 0), SY_STAGE_ADDED);
    /* orders */
    assert_int_equal(stage(1, 0, NOW - 8 * DAY, 1), SY_STAGE_CONVERTED);
    assert_int_equal(stage(1, 0, NOW - 1000, 1), SY_STAGE_CONVERTED); /* beats active */
    assert_int_equal(stage(1, 0, NOW - 1000, 2), SY_STAGE_REPURCHASED);
    assert_int_equal(stage(0, 0, NOW - 1000, 7), SY_STAGE_REPURCHASED);
}

static void test_silence(void **state) {
    (void)state;
    sy_lc_rules_default(&R);
    /* 30-day boundary of 沉默, overriding orders */
    assert_int_equal(stage(1, 0, NOW - 30 * DAY + 1, 3), SY_STAGE_REPURCHASED);
    assert_int_equal(stage(1, 0, NOW - 30 * DAY, 3), SY_STAGE_SILENT);
    assert_int_equal(stage(1, NOW - 40 * DAY, NOW - 30 * DAY, 0), SY_STAGE_SILENT);
    /* 90-day boundary of 流失 */
    assert_int_equal(stage(1, 0, NOW - 90 * DAY + 1, 0), SY_STAGE_SILENT);
    assert_int_equal(stage(1, 0, NOW - 90 * DAY, 0), SY_STAGE_CHURNED);
    assert_int_equal(stage(1, 0, NOW - 400 * DAY, 1), SY_STAGE_CHURNED);
    /* events dated in the future count as recent activity */
    assert_int_equal(stage(1, 0, NOW + DAY, 0), SY_STAGE_ACTIVE);
    /* a contact with activity but never added nor joined, 10 days idle: no stage */
    assert_int_equal(stage(0, 0, NOW - 10 * DAY, 0), SY_STAGE_NONE);
}

static void test_custom_thresholds(void **state) {
    (void)state;
    sy_lc_rules_default(&R);
    R.active_days = 3, R.silent_days = 14, R.churned_days = 60;
    assert_int_equal(stage(1, 0, NOW - 3 * DAY + 1, 0), SY_STAGE_ACTIVE);
    assert_int_equal(stage(1, 0, NOW - 3 * DAY, 0), SY_STAGE_ADDED);
    assert_int_equal(stage(1, 0, NOW - 14 * DAY, 0), SY_STAGE_SILENT);
    assert_int_equal(stage(1, 0, NOW - 60 * DAY, 0), SY_STAGE_CHURNED);
    assert_string_equal(R.added_event, "add_wechat");
    assert_string_equal(R.in_group_event, "join_group");
}

/* The due time is safe: on [now, due) the stage never changes, so the
 * thread that re-classifies only contacts whose due time has passed misses
 * no change made by time alone; and at due the stage may change (it is one
 * of the thresholds). Checked on random facts and rules, at every
 * threshold, one ms either side of it and at random times. */
static void test_next_change(void **state) {
    (void)state;
    uint64_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t x = (uint32_t)(seed >> 33);
        sy_lc_rules_default(&R);
        R.active_days = 1 + (int)(x % 10);
        R.silent_days = 1 + (int)((x >> 4) % 40);
        R.churned_days = 1 + (int)((x >> 9) % 120);
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t y = seed >> 11;
        sy_lc_facts f = {(int)(y & 1), (y >> 1) & 1 ? NOW - (int64_t)((y >> 2) % 200) * DAY : 0,
                         (y >> 10) % 8 ? NOW - (int64_t)((y >> 13) % (150 * DAY)) : 0,
                         (uint32_t)((y >> 50) % 3)};
        int64_t due = sy_lc_next_change(&R, &f, NOW);
        int s0 = sy_lc_classify(&R, &f, NOW, "Asia/Shanghai");
        int64_t probes[16];
        int np = 0;
        int days[3] = {R.active_days, R.silent_days, R.churned_days};
        for (int i = 0; i < 3; i++) {
            int64_t t = f.last_seen + days[i] * DAY;
            probes[np++] = t - 1, probes[np++] = t, probes[np++] = t + 1;
        }
        for (int i = 0; i < 6; i++)
            probes[np++] = NOW + (int64_t)((seed >> (i * 5)) % (200 * DAY));
        for (int i = 0; i < np; i++) {
            int64_t t = probes[i];
            if (t < NOW || (due && t >= due)) continue;
            assert_int_equal(sy_lc_classify(&R, &f, t, "Asia/Shanghai"), s0);
        }
        if (due) {
            assert_true(due > NOW);
            assert_true(due == f.last_seen + R.active_days * DAY ||
                        due == f.last_seen + R.silent_days * DAY ||
                        due == f.last_seen + R.churned_days * DAY);
        }
    }
    /* a contact active 2 days ago: due when it stops being active (day 7) */
    sy_lc_rules_default(&R);
    sy_lc_facts f = {1, 0, NOW - 2 * DAY, 0};
    assert_int_equal(sy_lc_next_change(&R, &f, NOW), NOW + 5 * DAY);
    f.last_seen = 0;
    assert_int_equal(sy_lc_next_change(&R, &f, NOW), 0);
    f.last_seen = NOW - 100 * DAY; /* churned for good */
    assert_int_equal(sy_lc_next_change(&R, &f, NOW), 0);
}

static void parse_stage(const char *text, int want_rc, const char *field, int want_stage) {
    json_t *d = json_loads(text, 0, NULL);
    assert_non_null(d);
    sy_arena *a = sy_arena_create();
    seg_node *root;
    sy_err e = {0};
    assert_int_equal(sy_seg_parse(a, d, &root, &e), want_rc);
    if (want_rc)
        assert_string_equal(e.field, field);
    else {
        seg_node *n = root->kind == SN_STAGE ? root : root->kids[0];
        assert_int_equal(n->kind, SN_STAGE);
        assert_int_equal(n->id, want_stage);
    }
    sy_arena_destroy(a);
    json_decref(d);
}

static void test_segment_condition(void **state) {
    (void)state;
    parse_stage("{\"stage\":\"converted\"}", 0, NULL, SY_STAGE_CONVERTED);
    parse_stage("{\"not\":{\"stage\":\"churned\"}}", 0, NULL, SY_STAGE_CHURNED);
    parse_stage("{\"and\":[{\"stage\":\"bogus\"}]}", SY_E_INVALID, "$.and[0].stage", 0);
    parse_stage("{\"stage\":3}", SY_E_INVALID, "$.stage", 0);
    parse_stage("{\"stage\":\"active\",\"x\":1}", SY_E_INVALID, "$.x", 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),        cmocka_unit_test(test_funnel),
        cmocka_unit_test(test_silence),     cmocka_unit_test(test_custom_thresholds),
        cmocka_unit_test(test_next_change), cmocka_unit_test(test_segment_condition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
