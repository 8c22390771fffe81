/* alert_rules.c — the pure rule math of dashboards and alerts: card status
 * from thresholds, whether an alert condition fires on a headline, and the
 * strict parsers of both. Kept apart from the module (no store, no
 * analytics) so the unit tests link it alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dashboards.h"

#define PCT_MAX 1000000.0 /* a rise of 10,000× is the largest we accept */

int sy_card_status(const sy_thresholds *t, int has_value, double value) {
    if (!t || !has_value || !isfinite(value)) return SY_CARD_NONE;
    if (t->higher_is_better) {
        if (value >= t->green) return SY_CARD_GREEN;
        if (value < t->red) return SY_CARD_RED;
    } else {
        if (value <= t->green) return SY_CARD_GREEN;
        if (value > t->red) return SY_CARD_RED;
    }
    return SY_CARD_YELLOW;
}

const char *sy_card_status_name(int status) {
    switch (status) {
    case SY_CARD_GREEN:
        return "green";
    case SY_CARD_YELLOW:
        return "yellow";
    case SY_CARD_RED:
        return "red";
    default:
        return "none";
    }
}

/* A JSON value shown in a message, e.g. "abc" or [1]. */
static void shown(json_t *v, char *out, size_t n) {
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(out, n, "%s", s ? s : "?");
    free(s);
    if (strlen(out) > 60) snprintf(out + 57, n - 57, "...");
}

/* A finite JSON number (integer or real) at obj.key, required. */
static int number_member(json_t *obj, const char *key, const char *field, double *out, sy_err *e) {
    json_t *v = json_object_get(obj, key);
    char f[128];
    snprintf(f, sizeof f, "%s.%s", field, key);
    if (!v) return sy_err_field(e, SY_E_INVALID, f, "%s is required", f);
    if (!json_is_number(v) || !isfinite(json_number_value(v))) {
        char s[80];
        shown(v, s, sizeof s);
        return sy_err_field(e, SY_E_INVALID, f, "%s %s must be a number", f, s);
    }
    *out = json_number_value(v);
    return 0;
}

/* Rejects members of obj other than allowed, naming "<field>.<member>". */
static int only(json_t *obj, const char *field, const char *const *allowed, sy_err *e) {
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(k, allowed[i]) == 0) ok = 1;
        if (!ok) {
            char f[128];
            snprintf(f, sizeof f, "%s.%s", field, k);
            return sy_err_field(e, SY_E_INVALID, f, "unknown field \"%s\" in %s", k, field);
        }
    }
    return 0;
}

int sy_thresholds_parse(json_t *v, const char *field, sy_thresholds *out, int *present, sy_err *e) {
    *present = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_object(v))
        return sy_err_field(e, SY_E_INVALID, field,
                            "%s must be an object {\"direction\", \"green\", \"red\"} or null",
                            field);
    static const char *const allowed[] = {"direction", "green", "red", NULL};
    int rc = only(v, field, allowed, e);
    if (rc) return rc;
    char f[128];
    snprintf(f, sizeof f, "%s.direction", field);
    json_t *d = json_object_get(v, "direction");
    const char *dir = json_is_string(d) ? json_string_value(d) : NULL;
    sy_thresholds t = {0};
    if (dir && strcmp(dir, "higher_is_better") == 0)
        t.higher_is_better = 1;
    else if (!dir || strcmp(dir, "lower_is_better") != 0) {
        char s[80];
        if (!d) return sy_err_field(e, SY_E_INVALID, f, "%s is required", f);
        shown(d, s, sizeof s);
        return sy_err_field(e, SY_E_INVALID, f,
                            "%s %s must be \"higher_is_better\" or \"lower_is_better\"", f, s);
    }
    if ((rc = number_member(v, "green", field, &t.green, e)) ||
        (rc = number_member(v, "red", field, &t.red, e)))
        return rc;
    snprintf(f, sizeof f, "%s.red", field);
    if (t.higher_is_better && t.red > t.green)
        return sy_err_field(e, SY_E_INVALID, f,
                            "%s %g must not be above green %g when higher is better", f, t.red,
                            t.green);
    if (!t.higher_is_better && t.red < t.green)
        return sy_err_field(e, SY_E_INVALID, f,
                            "%s %g must not be below green %g when lower is better", f, t.red,
                            t.green);
    *out = t;
    *present = 1;
    return 0;
}

json_t *sy_thresholds_json(const sy_thresholds *t) {
    return json_pack("{s:s, s:f, s:f}", "direction",
                     t->higher_is_better ? "higher_is_better" : "lower_is_better", "green",
                     t->green, "red", t->red);
}

static const char *const cond_names[] = {NULL, "above", "below", "drop_pct_vs_trailing_7",
                                         "rise_pct_vs_trailing_7"};

const char *sy_alert_condition_name(int type) {
    return type >= SY_COND_ABOVE && type <= SY_COND_RISE_PCT ? cond_names[type] : NULL;
}

int sy_alert_condition_type(const char *name) {
    if (!name) return 0;
    for (int t = SY_COND_ABOVE; t <= SY_COND_RISE_PCT; t++)
        if (strcmp(name, cond_names[t]) == 0) return t;
    return 0;
}

int sy_alert_condition_parse(json_t *v, const char *field, sy_alert_condition *out, sy_err *e) {
    if (!v || !json_is_object(v))
        return sy_err_field(e, SY_E_INVALID, field, "%s must be an object {\"type\", \"value\"}",
                            field);
    static const char *const allowed[] = {"type", "value", NULL};
    int rc = only(v, field, allowed, e);
    if (rc) return rc;
    char f[128];
    snprintf(f, sizeof f, "%s.type", field);
    json_t *t = json_object_get(v, "type");
    if (!t) return sy_err_field(e, SY_E_INVALID, f, "%s is required", f);
    sy_alert_condition c = {0};
    c.type = json_is_string(t) ? sy_alert_condition_type(json_string_value(t)) : 0;
    if (!c.type) {
        char s[80];
        shown(t, s, sizeof s);
        return sy_err_field(e, SY_E_INVALID, f,
                            "%s %s must be \"above\", \"below\", \"drop_pct_vs_trailing_7\" or "
                            "\"rise_pct_vs_trailing_7\"",
                            f, s);
    }
    if ((rc = number_member(v, "value", field, &c.value, e))) return rc;
    snprintf(f, sizeof f, "%s.value", field);
    if (c.type == SY_COND_DROP_PCT || c.type == SY_COND_RISE_PCT) {
        if (c.value <= 0)
            return sy_err_field(e, SY_E_INVALID, f, "%s %g must be a percentage above 0", f,
                                c.value);
        if (c.type == SY_COND_DROP_PCT && c.value > 100)
            return sy_err_field(e, SY_E_INVALID, f,
                                "%s %g: a drop is at most 100 percent of the trailing mean", f,
                                c.value);
        if (c.value > PCT_MAX)
            return sy_err_field(e, SY_E_INVALID, f, "%s %g is above %g percent", f, c.value,
                                PCT_MAX);
    }
    *out = c;
    return 0;
}

json_t *sy_alert_condition_json(const sy_alert_condition *c) {
    const char *n = sy_alert_condition_name(c->type);
    return json_pack("{s:s, s:f}", "type", n ? n : "above", "value", c->value);
}

void sy_alert_check_condition(const sy_alert_condition *c, int has_value, double value,
                              int has_trailing, double trailing_mean, sy_alert_check *out) {
    memset(out, 0, sizeof *out);
    out->reason = "";
    int pct = c->type == SY_COND_DROP_PCT || c->type == SY_COND_RISE_PCT;
    if (has_trailing && isfinite(trailing_mean) && trailing_mean != 0 && has_value &&
        isfinite(value)) {
        out->has_change = 1;
        out->change_pct = (value - trailing_mean) / fabs(trailing_mean) * 100.0;
    }
    if (pct) {
        if (!has_trailing || !isfinite(trailing_mean)) {
            out->reason = "no trailing mean";
            if (!has_value) out->reason = "no value";
            return;
        }
        double delta = fabs(trailing_mean) * c->value / 100.0;
        out->has_threshold = 1;
        out->threshold =
            c->type == SY_COND_DROP_PCT ? trailing_mean - delta : trailing_mean + delta;
    } else if (c->type == SY_COND_ABOVE || c->type == SY_COND_BELOW) {
        out->has_threshold = 1;
        out->threshold = c->value;
    } else {
        out->reason = "unknown condition";
        return;
    }
    if (!has_value || !isfinite(value)) {
        out->reason = "no value";
        return;
    }
    if (c->type == SY_COND_ABOVE || c->type == SY_COND_RISE_PCT)
        out->fires = value > out->threshold;
    else
        out->fires = value < out->threshold;
    if (!out->fires) out->reason = "condition not met";
}
