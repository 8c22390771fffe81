/* test_alerts.c — the rule math of dashboards and alerts: card status from
 * thresholds, when each alert condition fires (edge cases: no value, no or
 * zero trailing mean, boundaries), and the strict parsers of thresholds and
 * conditions (each refusal names its field). */
#include "test.h"
#include <math.h>
#include "analytics/dashboards.h"

static json_t *J(const char *text) {
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) fail_msg("bad test JSON %s: %s", text, je.text);
    return v;
}

static void status_higher_is_better(void **state) {
    (void)state;
    sy_thresholds t = {1, 0.28, 0.20}; /* D7 retention: green at 28%, red below 20% */
    assert_int_equal(sy_card_status(&t, 1, 0.30), SY_CARD_GREEN);
    assert_int_equal(sy_card_status(&t, 1, 0.28), SY_CARD_GREEN); /* reaching green is green */
    assert_int_equal(sy_card_status(&t, 1, 0.25), SY_CARD_YELLOW);
    assert_int_equal(sy_card_status(&t, 1, 0.20), SY_CARD_YELLOW); /* at red: not yet red */
    assert_int_equal(sy_card_status(&t, 1, 0.19), SY_CARD_RED);
    assert_int_equal(sy_card_status(&t, 1, -5), SY_CARD_RED);
    assert_string_equal(sy_card_status_name(sy_card_status(&t, 1, 0.19)), "red");
}

static void status_lower_is_better(void **state) {
    (void)state;
    sy_thresholds t = {0, 800, 1000}; /* CAC in fen: green at or below 8 yuan, red above 10 */
    assert_int_equal(sy_card_status(&t, 1, 500), SY_CARD_GREEN);
    assert_int_equal(sy_card_status(&t, 1, 800), SY_CARD_GREEN);
    assert_int_equal(sy_card_status(&t, 1, 900), SY_CARD_YELLOW);
    assert_int_equal(sy_card_status(&t, 1, 1000), SY_CARD_YELLOW);
    assert_int_equal(sy_card_status(&t, 1, 1000.5), SY_CARD_RED);
}

static void status_edges(void **state) {
    (void)state;
    sy_thresholds t = {1, 10, 10}; /* green == red: no yellow band */
    assert_int_equal(sy_card_status(&t, 1, 10), SY_CARD_GREEN);
    assert_int_equal(sy_card_status(&t, 1, 9.99), SY_CARD_RED);
    assert_int_equal(sy_card_status(NULL, 1, 10), SY_CARD_NONE); /* no thresholds */
    assert_int_equal(sy_card_status(&t, 0, 10), SY_CARD_NONE);   /* no value */
    assert_int_equal(sy_card_status(&t, 1, NAN), SY_CARD_NONE);
    assert_string_equal(sy_card_status_name(SY_CARD_NONE), "none");
    assert_string_equal(sy_card_status_name(SY_CARD_YELLOW), "yellow");
    assert_string_equal(sy_card_status_name(SY_CARD_GREEN), "green");
}

static void check(int type, double cv, int hv, double v, int ht, double m, sy_alert_check *out) {
    sy_alert_condition c = {type, cv};
    sy_alert_check_condition(&c, hv, v, ht, m, out);
}

static void condition_above_below(void **state) {
    (void)state;
    sy_alert_check k;
    check(SY_COND_ABOVE, 0, 1, 1, 0, 0, &k);
    assert_true(k.fires);
    assert_true(k.has_threshold);
    assert_true(k.threshold == 0);
    assert_false(k.has_change);              /* no trailing mean: no change */
    check(SY_COND_ABOVE, 0, 1, 0, 1, 5, &k); /* strictly above */
    assert_false(k.fires);
    assert_string_equal(k.reason, "condition not met");
    assert_true(k.has_change);
    assert_true(fabs(k.change_pct + 100) < 1e-9);
    check(SY_COND_BELOW, 100, 1, 99.5, 1, 100, &k);
    assert_true(k.fires);
    assert_true(fabs(k.change_pct + 0.5) < 1e-9);
    check(SY_COND_BELOW, 100, 1, 100, 1, 100, &k);
    assert_false(k.fires);
    /* no value never fires, whatever the condition */
    check(SY_COND_BELOW, 100, 0, 0, 1, 100, &k);
    assert_false(k.fires);
    assert_string_equal(k.reason, "no value");
    assert_true(k.has_threshold);
    check(SY_COND_ABOVE, -1, 1, NAN, 1, 100, &k);
    assert_false(k.fires);
    assert_string_equal(k.reason, "no value");
}

static void condition_drop_rise(void **state) {
    (void)state;
    sy_alert_check k;
    /* "conversion down 15%": mean 0.20 → threshold 0.17 */
    check(SY_COND_DROP_PCT, 15, 1, 0.16, 1, 0.20, &k);
    assert_true(k.fires);
    assert_true(fabs(k.threshold - 0.17) < 1e-12);
    assert_true(fabs(k.change_pct + 20) < 1e-9);
    check(SY_COND_DROP_PCT, 15, 1, 0.17, 1, 0.20, &k); /* exactly 15% down: not more than */
    assert_false(k.fires);
    check(SY_COND_DROP_PCT, 15, 1, 0.18, 1, 0.20, &k);
    assert_false(k.fires);
    check(SY_COND_DROP_PCT, 15, 1, 0.30, 1, 0.20, &k); /* a rise is not a drop */
    assert_false(k.fires);
    check(SY_COND_RISE_PCT, 50, 1, 151, 1, 100, &k);
    assert_true(k.fires);
    assert_true(fabs(k.threshold - 150) < 1e-12);
    check(SY_COND_RISE_PCT, 50, 1, 150, 1, 100, &k);
    assert_false(k.fires);
    /* a negative mean (ROI can be negative): percentages of |mean| */
    check(SY_COND_DROP_PCT, 10, 1, -1.2, 1, -1.0, &k);
    assert_true(fabs(k.threshold + 1.1) < 1e-12);
    assert_true(k.fires);
    assert_true(fabs(k.change_pct + 20) < 1e-9);
    check(SY_COND_RISE_PCT, 10, 1, -0.8, 1, -1.0, &k);
    assert_true(k.fires);
}

static void condition_edges(void **state) {
    (void)state;
    sy_alert_check k;
    /* no trailing mean (too little history): pct rules cannot be judged */
    check(SY_COND_DROP_PCT, 15, 1, 0, 0, 0, &k);
    assert_false(k.fires);
    assert_false(k.has_threshold);
    assert_string_equal(k.reason, "no trailing mean");
    check(SY_COND_RISE_PCT, 15, 0, 0, 0, 0, &k);
    assert_false(k.fires);
    assert_string_equal(k.reason, "no value");
    /* a zero mean: threshold 0, change undefined */
    check(SY_COND_RISE_PCT, 15, 1, 3, 1, 0, &k);
    assert_true(k.fires);
    assert_true(k.has_threshold && k.threshold == 0);
    assert_false(k.has_change);
    check(SY_COND_RISE_PCT, 15, 1, 0, 1, 0, &k);
    assert_false(k.fires);
    check(SY_COND_DROP_PCT, 15, 1, 0, 1, 0, &k); /* nothing is below nothing */
    assert_false(k.fires);
    /* trailing mean present, value missing (the latest period has no data) */
    check(SY_COND_DROP_PCT, 15, 0, 0, 1, 10, &k);
    assert_false(k.fires);
    assert_string_equal(k.reason, "no value");
    assert_true(k.has_threshold);
    /* a drop of 100%: only values below 0 would fire */
    check(SY_COND_DROP_PCT, 100, 1, 0, 1, 10, &k);
    assert_false(k.fires);
    check(SY_COND_DROP_PCT, 99, 1, 0, 1, 10, &k);
    assert_true(k.fires);
}

static void parse_thresholds(void **state) {
    (void)state;
    sy_err e = {0};
    sy_thresholds t;
    int present = 7;
    json_t *v = J("{\"direction\":\"lower_is_better\",\"green\":800,\"red\":1000.5}");
    assert_ok(sy_thresholds_parse(v, "thresholds", &t, &present, &e), &e);
    assert_int_equal(present, 1);
    assert_false(t.higher_is_better);
    assert_true(t.green == 800 && t.red == 1000.5);
    json_t *back = sy_thresholds_json(&t);
    assert_string_equal(json_string_value(json_object_get(back, "direction")), "lower_is_better");
    assert_true(json_number_value(json_object_get(back, "red")) == 1000.5);
    json_decref(back);
    json_decref(v);
    assert_ok(sy_thresholds_parse(json_null(), "thresholds", &t, &present, &e), &e);
    assert_int_equal(present, 0);
    assert_ok(sy_thresholds_parse(NULL, "thresholds", &t, &present, &e), &e);
    assert_int_equal(present, 0);

    static const struct {
        const char *json, *field;
    } bad[] = {
        {"[1]", "thresholds"},
        {"{\"direction\":\"up\",\"green\":1,\"red\":0}", "thresholds.direction"},
        {"{\"green\":1,\"red\":0}", "thresholds.direction"},
        {"{\"direction\":\"higher_is_better\",\"red\":0}", "thresholds.green"},
        {"{\"direction\":\"higher_is_better\",\"green\":\"1\",\"red\":0}", "thresholds.green"},
        {"{\"direction\":\"higher_is_better\",\"green\":1}", "thresholds.red"},
        {"{\"direction\":\"higher_is_better\",\"green\":1,\"red\":2}", "thresholds.red"},
        {"{\"direction\":\"lower_is_better\",\"green\":2,\"red\":1}", "thresholds.red"},
        {"{\"direction\":\"higher_is_better\",\"green\":1,\"red\":0,\"amber\":1}",
         "thresholds.amber"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        json_t *b = J(bad[i].json);
        sy_err_clear(&e);
        present = 0;
        assert_int_equal(sy_thresholds_parse(b, "thresholds", &t, &present, &e), SY_E_INVALID);
        assert_string_equal(e.field, bad[i].field);
        assert_int_equal(present, 0);
        assert_true(strlen(e.msg) > 0);
        json_decref(b);
    }
}

static void parse_conditions(void **state) {
    (void)state;
    sy_err e = {0};
    sy_alert_condition c;
    json_t *v = J("{\"type\":\"drop_pct_vs_trailing_7\",\"value\":15}");
    assert_ok(sy_alert_condition_parse(v, "condition", &c, &e), &e);
    assert_int_equal(c.type, SY_COND_DROP_PCT);
    assert_true(c.value == 15);
    json_t *back = sy_alert_condition_json(&c);
    assert_string_equal(json_string_value(json_object_get(back, "type")), "drop_pct_vs_trailing_7");
    json_decref(back);
    json_decref(v);
    v = J("{\"type\":\"below\",\"value\":-3.5}"); /* plain comparisons take any number */
    assert_ok(sy_alert_condition_parse(v, "condition", &c, &e), &e);
    assert_int_equal(c.type, SY_COND_BELOW);
    json_decref(v);
    for (int t = SY_COND_ABOVE; t <= SY_COND_RISE_PCT; t++)
        assert_int_equal(sy_alert_condition_type(sy_alert_condition_name(t)), t);
    assert_int_equal(sy_alert_condition_type("between"), 0);
    assert_null(sy_alert_condition_name(0));

    static const struct {
        const char *json, *field;
    } bad[] = {
        {"\"above\"", "condition"},
        {"{\"value\":1}", "condition.type"},
        {"{\"type\":\"between\",\"value\":1}", "condition.type"},
        {"{\"type\":3,\"value\":1}", "condition.type"},
        {"{\"type\":\"above\"}", "condition.value"},
        {"{\"type\":\"above\",\"value\":null}", "condition.value"},
        {"{\"type\":\"drop_pct_vs_trailing_7\",\"value\":-15}", "condition.value"},
        {"{\"type\":\"rise_pct_vs_trailing_7\",\"value\":0}", "condition.value"},
        {"{\"type\":\"drop_pct_vs_trailing_7\",\"value\":101}", "condition.value"},
        {"{\"type\":\"above\",\"value\":1,\"window\":7}", "condition.window"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        json_t *b = J(bad[i].json);
        sy_err_clear(&e);
        assert_int_equal(sy_alert_condition_parse(b, "condition", &c, &e), SY_E_INVALID);
        assert_string_equal(e.field, bad[i].field);
        json_decref(b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_higher_is_better),
        cmocka_unit_test(status_lower_is_better),
        cmocka_unit_test(status_edges),
        cmocka_unit_test(condition_above_below),
        cmocka_unit_test(condition_drop_rise),
        cmocka_unit_test(condition_edges),
        cmocka_unit_test(parse_thresholds),
        cmocka_unit_test(parse_conditions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
