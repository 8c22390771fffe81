/* alerts.c — alert rules on analytics headlines: their HTTP API
 * (/api/v1/alerts, /api/v1/alert-events), evaluation, the fired alerts
 * recorded in the store, delivery as the signed webhook "alert.fired", and
 * the scheduler thread that evaluates the enabled rules every minute.
 *
 * Evaluation of a rule: its question (its card's, read at evaluation time,
 * or its own) is answered at workspace scope (actor NULL) as a headline —
 * the latest complete period's value and the mean of the 7 before — and
 * the condition judged by sy_alert_check_condition. A rule that fires
 * records an alert event in a write job which, for cooldown "period",
 * first checks that the rule has not fired for that period yet (the writer
 * serialises the scheduler and POST …/evaluate, so a period fires once).
 * Delivery runs after that commit (channels' publish runs its own write
 * job, which must not nest), and its outcome (delivery id, queued count or
 * error) is written back to the event. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dashboards_int.h"
#include "channels/channels.h"

#define CTX(r) ((sy_dashboards *)(r)->ctx)
#define TOPIC "alert.fired"

/* --- rules as stored --- */

typedef struct alert_rule {
    int64_t id;
    const char *name;
    int64_t card_id;  /* 0: own question */
    json_t *question; /* own question, or the card's (arena-released) */
    sy_alert_condition cond;
    int64_t webhook_id; /* 0: publish */
    int enabled;
    int cooldown_period; /* 1: once per period; 0: every evaluation */
    int64_t created_by, created_at, updated_at, last_evaluated_at, last_fired_at;
} alert_rule;

static void decref_cleanup(void *p) {
    json_decref(p);
}

#define RULE_COLS                                                                                  \
    "a.id, a.name, a.card_id, coalesce(a.question, c.question), a.condition_type, "                \
    "a.condition_value, a.webhook_id, a.enabled, a.cooldown, a.created_by, a.created_at, "         \
    "a.updated_at, a.last_evaluated_at, a.last_fired_at"
#define RULE_FROM " FROM alert_rules a LEFT JOIN dashboard_cards c ON c.id = a.card_id "

static void rule_from_row(sy_stmt *st, sy_arena *a, alert_rule *r) {
    memset(r, 0, sizeof *r);
    r->id = sy_stmt_col_int(st, 0);
    r->name = sy_strdup(a, sy_stmt_col_text(st, 1));
    r->card_id = sy_stmt_col_int(st, 2);
    const char *q = sy_stmt_col_text(st, 3);
    r->question = q ? json_loads(q, 0, NULL) : NULL;
    if (r->question) sy_arena_on_destroy(a, decref_cleanup, r->question);
    r->cond.type = sy_alert_condition_type(sy_stmt_col_text(st, 4));
    r->cond.value = sy_stmt_col_real(st, 5);
    r->webhook_id = sy_stmt_col_int(st, 6);
    r->enabled = (int)sy_stmt_col_int(st, 7);
    const char *cd = sy_stmt_col_text(st, 8);
    r->cooldown_period = !cd || strcmp(cd, "none") != 0;
    r->created_by = sy_stmt_col_int(st, 9);
    r->created_at = sy_stmt_col_int(st, 10);
    r->updated_at = sy_stmt_col_int(st, 11);
    r->last_evaluated_at = sy_stmt_col_int(st, 12);
    r->last_fired_at = sy_stmt_col_int(st, 13);
}

static json_t *id_or_null(int64_t v) {
    return v ? json_integer(v) : json_null();
}

static json_t *rule_json(const alert_rule *r) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "name", json_string(r->name ? r->name : ""));
    json_object_set_new(o, "card_id", id_or_null(r->card_id));
    json_object_set_new(o, "question",
                        !r->card_id && r->question ? json_deep_copy(r->question) : json_null());
    json_object_set_new(o, "condition", sy_alert_condition_json(&r->cond));
    json_object_set_new(o, "webhook_id", id_or_null(r->webhook_id));
    json_object_set_new(o, "enabled", json_boolean(r->enabled));
    json_object_set_new(o, "cooldown", json_string(r->cooldown_period ? "period" : "none"));
    json_object_set_new(o, "created_by", id_or_null(r->created_by));
    json_object_set_new(o, "created_at", json_integer(r->created_at));
    json_object_set_new(o, "updated_at", json_integer(r->updated_at));
    json_object_set_new(o, "last_evaluated_at", id_or_null(r->last_evaluated_at));
    json_object_set_new(o, "last_fired_at", id_or_null(r->last_fired_at));
    return o;
}

static int rule_load(sy_dashboards *d, sy_arena *a, int64_t id, alert_rule *out, sy_err *e) {
    memset(out, 0, sizeof *out);
    sy_db *db;
    int rc = sy_store_read_begin(d->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "SELECT " RULE_COLS RULE_FROM "WHERE a.id = ?", &st, e)) == 0) {
        sy_stmt_bind_int(st, 1, id);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW)
            rule_from_row(st, a, out), rc = 0;
        else if (rc == SY_DONE)
            rc = sy_err_set(e, SY_E_NOT_FOUND, "alert %lld does not exist", (long long)id);
        sy_stmt_finalize(st);
    }
    sy_store_read_end(d->st, db);
    return rc;
}

int sy_alerts_card_in_use(sy_db *db, int64_t dashboard_id, int64_t card_id, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "SELECT a.id, a.name, c.id FROM alert_rules a JOIN dashboard_cards c "
                           "ON c.id = a.card_id WHERE (?1 = 0 OR c.dashboard_id = ?1) "
                           "AND (?2 = 0 OR c.id = ?2) ORDER BY a.id LIMIT 1",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, dashboard_id);
    sy_stmt_bind_int(st, 2, card_id);
    rc = sy_stmt_step(st, e);
    if (rc == SY_ROW)
        rc = sy_err_set(e, SY_E_CONFLICT,
                        "card %lld is watched by alert %lld \"%s\"; delete the alert or point it "
                        "elsewhere first",
                        (long long)sy_stmt_col_int(st, 2), (long long)sy_stmt_col_int(st, 0),
                        sy_stmt_col_text(st, 1));
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

/* 0 when webhook endpoint id exists (enabled or not: it may be enabled
 * again); a 400 naming webhook_id otherwise. */
static int webhook_exists(sy_dashboards *d, int64_t id, sy_err *e) {
    if (!d->channels)
        return sy_err_field(e, SY_E_INVALID, "webhook_id",
                            "webhook endpoint %lld cannot be used: no webhook sender here",
                            (long long)id);
    sy_err we = {0};
    int rc = sy_webhook_endpoint_exists(d->channels, id, &we);
    if (rc == SY_E_NOT_FOUND)
        return sy_err_field(e, SY_E_INVALID, "webhook_id", "webhook endpoint %lld does not exist",
                            (long long)id);
    if (rc) *e = we;
    return rc;
}

/* --- evaluation --- */

/* The evaluation of one rule (arena strings). */
typedef struct alert_eval {
    const alert_rule *rule;
    int ok; /* the question answered; otherwise err says why */
    sy_err err;
    sy_headline h;
    sy_alert_check check;
    int64_t at;
    /* filled by the record job */
    int fired;
    const char *reason; /* why it did not fire (or "") */
    int64_t event_id;
    const char *message;
    json_t *event; /* the recorded event (owned; NULL when none) */
} alert_eval;

static void fmt_num(double v, char *out, size_t n) {
    if (fabs(v) < 1e15 && v == floor(v))
        snprintf(out, n, "%.0f", v);
    else
        snprintf(out, n, "%.6g", v);
}

static const char *message_of(sy_arena *a, const alert_eval *ev) {
    char v[40], t[40], m[40];
    fmt_num(ev->h.value, v, sizeof v);
    fmt_num(ev->check.threshold, t, sizeof t);
    fmt_num(ev->h.trailing_mean, m, sizeof m);
    const alert_rule *r = ev->rule;
    switch (r->cond.type) {
    case SY_COND_ABOVE:
    case SY_COND_BELOW:
        return sy_sprintf(a, "%s: %s (%s) for %s is %s %s", r->name, v, ev->h.unit, ev->h.period,
                          r->cond.type == SY_COND_ABOVE ? "above" : "below", t);
    default:
        if (ev->check.has_change)
            return sy_sprintf(a,
                              "%s: %s (%s) for %s is %.1f%% %s the trailing 7-period mean %s "
                              "(alert at more than %g%%)",
                              r->name, v, ev->h.unit, ev->h.period, fabs(ev->check.change_pct),
                              r->cond.type == SY_COND_DROP_PCT ? "below" : "above", m,
                              r->cond.value);
        return sy_sprintf(a, "%s: %s (%s) for %s is %s the trailing 7-period mean %s", r->name, v,
                          ev->h.unit, ev->h.period,
                          r->cond.type == SY_COND_DROP_PCT ? "below" : "above", m);
    }
}

/* The workspace-timezone date of ms, "YYYY-MM-DD". */
static void local_date(sy_dashboards *d, int64_t ms, char *out, size_t n) {
    char tz[64] = "Asia/Shanghai", buf[40];
    int off = 8 * 3600;
    sy_staff_timezone(d->staff, tz, sizeof tz);
    if (sy_tz_offset(tz, ms, &off)) off = 8 * 3600;
    sy_time_format(ms + (int64_t)off * 1000, buf, sizeof buf);
    snprintf(out, n, "%.10s", buf);
}

/* Answers a rule's question (no store writes). */
static void evaluate_one(sy_dashboards *d, const alert_rule *r, int64_t now, alert_eval *ev) {
    memset(ev, 0, sizeof *ev);
    ev->rule = r;
    ev->at = now;
    ev->reason = "";
    if (!r->question) {
        sy_err_set(&ev->err, SY_E_INTERNAL, "alert %lld has no question", (long long)r->id);
        return;
    }
    if (sy_analytics_headline(d->analytics, NULL, r->question, now, &ev->h, &ev->err)) return;
    ev->ok = 1;
    /* Retention and attribution headlines cover the question's whole
     * range and name no period: their cooldown period is the workspace
     * day of the evaluation, so such a rule fires at most once a day. */
    if (!ev->h.period[0]) local_date(d, now, ev->h.period, sizeof ev->h.period);
    sy_alert_check_condition(&r->cond, ev->h.has_value, ev->h.value, ev->h.has_trailing,
                             ev->h.trailing_mean, &ev->check);
    ev->reason = ev->check.reason;
}

typedef struct record_job {
    alert_eval *ev;
    size_t n;
    sy_arena *arena;
} record_job;

static json_t *event_json(int64_t id, const alert_rule *r, const alert_eval *ev) {
    return json_pack("{s:I, s:I, s:s, s:I, s:s, s:f, s:o, s:f, s:s, s:o, s:s}", "id",
                     (json_int_t)id, "alert_id", (json_int_t)r->id, "name", r->name, "fired_at",
                     (json_int_t)ev->at, "period", ev->h.period, "value", ev->h.value,
                     "trailing_mean", sy_dash_num(ev->h.has_trailing, ev->h.trailing_mean),
                     "threshold", ev->check.threshold, "unit", ev->h.unit, "condition",
                     sy_alert_condition_json(&r->cond), "message", ev->message);
}

/* Records what the evaluations found: last_evaluated_at for each, and an
 * event for each that fires and is not cooling down. */
static int record_job_run(sy_db *db, void *arg, sy_err *e) {
    record_job *j = arg;
    sy_stmt *seen = NULL, *ins = NULL, *upd = NULL;
    int rc =
        sy_db_prepare(db, "SELECT 1 FROM alert_events WHERE alert_id = ? AND period = ?", &seen, e);
    if (!rc)
        rc = sy_db_prepare(db,
                           "INSERT INTO alert_events(alert_id, name, fired_at, period, value, "
                           "trailing_mean, threshold, unit, condition, message) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?)",
                           &ins, e);
    if (!rc)
        rc = sy_db_prepare(db,
                           "UPDATE alert_rules SET last_evaluated_at = ?2, "
                           "last_fired_at = CASE WHEN ?3 THEN ?2 ELSE last_fired_at END "
                           "WHERE id = ?1",
                           &upd, e);
    for (size_t i = 0; rc == 0 && i < j->n; i++) {
        alert_eval *ev = &j->ev[i];
        const alert_rule *r = ev->rule;
        ev->fired = 0;
        if (ev->ok && ev->check.fires) {
            int dup = 0;
            if (r->cooldown_period) {
                sy_stmt_reset(seen);
                sy_stmt_bind_int(seen, 1, r->id);
                sy_stmt_bind_text(seen, 2, ev->h.period);
                if ((rc = sy_stmt_step(seen, e)) < 0) break;
                dup = rc == SY_ROW;
            }
            if (dup) {
                ev->reason = sy_sprintf(j->arena, "already fired for period %s", ev->h.period);
            } else {
                ev->message = message_of(j->arena, ev);
                char *cond = NULL;
                json_t *cj = sy_alert_condition_json(&r->cond);
                cond = sy_json_dump(cj);
                json_decref(cj);
                sy_stmt_reset(ins);
                sy_stmt_bind_int(ins, 1, r->id);
                sy_stmt_bind_text(ins, 2, r->name);
                sy_stmt_bind_int(ins, 3, ev->at);
                sy_stmt_bind_text(ins, 4, ev->h.period);
                sy_stmt_bind_real(ins, 5, ev->h.value);
                if (ev->h.has_trailing)
                    sy_stmt_bind_real(ins, 6, ev->h.trailing_mean);
                else
                    sy_stmt_bind_null(ins, 6);
                sy_stmt_bind_real(ins, 7, ev->check.threshold);
                sy_stmt_bind_text(ins, 8, ev->h.unit);
                sy_stmt_bind_text(ins, 9, cond ? cond : "{}");
                sy_stmt_bind_text(ins, 10, ev->message);
                rc = sy_stmt_step(ins, e);
                free(cond);
                if (rc < 0) break;
                ev->event_id = sy_db_last_id(db);
                ev->fired = 1;
                ev->reason = "";
            }
        }
        sy_stmt_reset(upd);
        sy_stmt_bind_int(upd, 1, r->id);
        sy_stmt_bind_int(upd, 2, ev->at);
        sy_stmt_bind_int(upd, 3, ev->fired);
        if ((rc = sy_stmt_step(upd, e)) < 0) break;
        rc = 0;
    }
    sy_stmt_finalize(seen);
    sy_stmt_finalize(ins);
    sy_stmt_finalize(upd);
    if (rc) {
        for (size_t i = 0; i < j->n; i++)
            j->ev[i].fired = 0, j->ev[i].event_id = 0;
    }
    return rc;
}

typedef struct delivery_note {
    int64_t event_id, delivery_id;
    int64_t queued; /* -1: not a publish */
    const char *error;
} delivery_note;

static int delivery_job(sy_db *db, void *arg, sy_err *e) {
    const delivery_note *n = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "UPDATE alert_events SET delivery_id = ?2, queued = ?3, "
                           "delivery_error = ?4 WHERE id = ?1",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, n->event_id);
    if (n->delivery_id)
        sy_stmt_bind_int(st, 2, n->delivery_id);
    else
        sy_stmt_bind_null(st, 2);
    if (n->queued >= 0)
        sy_stmt_bind_int(st, 3, n->queued);
    else
        sy_stmt_bind_null(st, 3);
    sy_stmt_bind_text(st, 4, n->error);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

/* Delivers a recorded event (outside any write job) and notes the outcome
 * on it; ev->event gets the event JSON as delivered. */
static void deliver(sy_dashboards *d, sy_arena *a, alert_eval *ev) {
    json_t *data = event_json(ev->event_id, ev->rule, ev);
    delivery_note n = {ev->event_id, 0, -1, NULL};
    sy_err e = {0};
    if (!d->channels) {
        n.error = "no webhook sender in this process";
    } else if (ev->rule->webhook_id) {
        if (sy_webhook_send_to(d->channels, ev->rule->webhook_id, TOPIC, data, &n.delivery_id, &e))
            n.error = sy_strdup(a, e.msg);
    } else {
        size_t q = 0;
        if (sy_webhook_publish(d->channels, TOPIC, data, &q, &e))
            n.error = sy_strdup(a, e.msg);
        else
            n.queued = (int64_t)q;
    }
    if (n.error)
        sy_warn("msg=\"alert not delivered\" alert=%lld event=%lld error=\"%s\"",
                (long long)ev->rule->id, (long long)ev->event_id, n.error);
    sy_info("msg=\"alert fired\" alert=%lld event=%lld period=%s value=%g", (long long)ev->rule->id,
            (long long)ev->event_id, ev->h.period, ev->h.value);
    sy_err we = {0};
    if (sy_store_write(d->st, delivery_job, &n, &we))
        sy_warn("msg=\"alert delivery not noted\" event=%lld error=\"%s\"", (long long)n.event_id,
                we.msg);
    json_object_set_new(data, "delivery_id", id_or_null(n.delivery_id));
    json_object_set_new(data, "queued", n.queued >= 0 ? json_integer(n.queued) : json_null());
    json_object_set_new(data, "delivery_error", n.error ? json_string(n.error) : json_null());
    ev->event = data;
}

/* Evaluates rules[0..n), records and delivers. evs has n slots. */
static int evaluate_rules(sy_dashboards *d, sy_arena *a, const alert_rule *rules, size_t n,
                          alert_eval *evs, sy_err *e) {
    int64_t now = sy_now_ms();
    for (size_t i = 0; i < n; i++)
        evaluate_one(d, &rules[i], now, &evs[i]);
    record_job j = {evs, n, a};
    int rc = sy_store_write(d->st, record_job_run, &j, e);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++)
        if (evs[i].fired) deliver(d, a, &evs[i]);
    return 0;
}

static json_t *eval_json(const alert_eval *ev) {
    json_t *o = json_object();
    json_object_set_new(o, "alert_id", json_integer(ev->rule->id));
    json_object_set_new(o, "name", json_string(ev->rule->name));
    json_object_set_new(o, "evaluated_at", json_integer(ev->at));
    json_object_set_new(o, "period", ev->h.period[0] ? json_string(ev->h.period) : json_null());
    json_object_set_new(o, "value", sy_dash_num(ev->h.has_value, ev->h.value));
    json_object_set_new(o, "trailing_mean", sy_dash_num(ev->h.has_trailing, ev->h.trailing_mean));
    json_object_set_new(o, "threshold", sy_dash_num(ev->check.has_threshold, ev->check.threshold));
    json_object_set_new(o, "change_pct", sy_dash_num(ev->check.has_change, ev->check.change_pct));
    json_object_set_new(o, "unit", json_string(ev->h.unit));
    json_object_set_new(o, "condition", sy_alert_condition_json(&ev->rule->cond));
    json_object_set_new(o, "fires", json_boolean(ev->check.fires));
    json_object_set_new(o, "fired", json_boolean(ev->fired));
    json_object_set_new(o, "reason", json_string(ev->reason ? ev->reason : ""));
    json_object_set_new(o, "event", ev->event ? json_incref(ev->event) : json_null());
    return o;
}

int sy_dashboards_evaluate_alerts(sy_dashboards *d, int *fired, sy_err *e) {
    if (fired) *fired = 0;
    pthread_mutex_lock(&d->eval_lock);
    sy_arena *a = sy_arena_create();
    if (!a) {
        pthread_mutex_unlock(&d->eval_lock);
        return sy_err_set(e, SY_E_NOMEM, "out of memory");
    }
    alert_rule *rules = NULL;
    size_t n = 0;
    sy_db *db;
    int rc = sy_store_read_begin(d->st, &db, e);
    if (rc == 0) {
        sy_stmt *st;
        int64_t count = 0;
        rc = sy_db_query_int(db, "SELECT count(*) FROM alert_rules WHERE enabled = 1", &count, e);
        if (rc == 0 && count > 0) {
            rules = sy_alloc(a, (size_t)count * sizeof *rules);
            if ((rc = sy_db_prepare(
                     db, "SELECT " RULE_COLS RULE_FROM "WHERE a.enabled = 1 ORDER BY a.id", &st,
                     e)) == 0) {
                while (n < (size_t)count && (rc = sy_stmt_step(st, e)) == SY_ROW)
                    rule_from_row(st, a, &rules[n++]);
                if (rc >= 0) rc = 0;
                sy_stmt_finalize(st);
            }
        }
        sy_store_read_end(d->st, db);
    }
    if (rc == 0 && n > 0) {
        alert_eval *evs = sy_alloc(a, n * sizeof *evs);
        rc = evaluate_rules(d, a, rules, n, evs, e);
        for (size_t i = 0; i < n; i++) {
            if (!evs[i].ok)
                sy_warn("msg=\"alert not evaluated\" alert=%lld error=\"%s\"",
                        (long long)rules[i].id, evs[i].err.msg);
            if (evs[i].fired && fired) (*fired)++;
            json_decref(evs[i].event);
        }
    }
    sy_arena_destroy(a);
    pthread_mutex_unlock(&d->eval_lock);
    return rc;
}

/* --- the scheduler --- */

static void *scheduler_main(void *arg) {
    sy_dashboards *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += d->interval_ms / 1000;
        ts.tv_nsec += (d->interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&d->wake, &d->lock, &ts);
        if (d->stopping) break;
        pthread_mutex_unlock(&d->lock);
        sy_err e = {0};
        if (sy_dashboards_evaluate_alerts(d, NULL, &e))
            sy_warn("msg=\"alert evaluation failed\" error=\"%s\"", e.msg);
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

void sy_alerts_start(sy_dashboards *d) {
    if (d->running) return;
    if (pthread_create(&d->thread, NULL, scheduler_main, d) != 0) {
        sy_warn("msg=\"alert scheduler not started\"");
        return;
    }
    d->running = 1;
    sy_info("msg=\"alert scheduler started\" interval_ms=%lld", (long long)d->interval_ms);
}

void sy_alerts_stop(sy_dashboards *d) {
    if (!d->running) return;
    pthread_mutex_lock(&d->lock);
    d->stopping = 1;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    d->running = 0;
}

/* --- HTTP: rules --- */

typedef struct rule_job {
    int op; /* 0 create, 1 update, 2 delete */
    const sy_actor *actor;
    int64_t id, now;
    const char *name;
    int has_name;
    int has_source; /* card_id / question changed */
    int64_t card_id;
    char *question; /* JSON text (own question) or NULL */
    int has_cond;
    sy_alert_condition cond;
    int has_webhook;
    int64_t webhook_id;
    int has_enabled, enabled;
    int has_cooldown;
    const char *cooldown;
} rule_job;

static int rule_job_run(sy_db *db, void *arg, sy_err *e) {
    rule_job *j = arg;
    sy_stmt *st;
    int rc;
    char target[40];
    if (j->op == 0) {
        int64_t n = 0;
        if ((rc = sy_db_query_int(db, "SELECT count(*) FROM alert_rules", &n, e))) return rc;
        if (n >= SY_ALERTS_MAX)
            return sy_err_set(e, SY_E_CONFLICT, "there are already %d alert rules, the most",
                              SY_ALERTS_MAX);
        if ((rc = sy_db_prepare(db,
                                "INSERT INTO alert_rules(name, card_id, question, condition_type, "
                                "condition_value, webhook_id, enabled, cooldown, created_by, "
                                "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                                &st, e)))
            return rc;
        sy_stmt_bind_text(st, 1, j->name);
        if (j->card_id) sy_stmt_bind_int(st, 2, j->card_id);
        sy_stmt_bind_text(st, 3, j->question);
        sy_stmt_bind_text(st, 4, sy_alert_condition_name(j->cond.type));
        sy_stmt_bind_real(st, 5, j->cond.value);
        if (j->webhook_id) sy_stmt_bind_int(st, 6, j->webhook_id);
        sy_stmt_bind_int(st, 7, j->has_enabled ? j->enabled : 1);
        sy_stmt_bind_text(st, 8, j->has_cooldown ? j->cooldown : "period");
        if (j->actor && j->actor->staff_id) sy_stmt_bind_int(st, 9, j->actor->staff_id);
        sy_stmt_bind_int(st, 10, j->now);
        sy_stmt_bind_int(st, 11, j->now);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        j->id = sy_db_last_id(db);
        snprintf(target, sizeof target, "alert:%lld", (long long)j->id);
        return sy_audit_record(db, j->actor, "alerts.create", target, NULL, e);
    }
    snprintf(target, sizeof target, "alert:%lld", (long long)j->id);
    if (j->op == 2) {
        if ((rc = sy_db_prepare(db, "DELETE FROM alert_rules WHERE id = ?", &st, e))) return rc;
        sy_stmt_bind_int(st, 1, j->id);
    } else {
        if ((rc = sy_db_prepare(
                 db,
                 "UPDATE alert_rules SET updated_at = ?2, name = coalesce(?3, name), "
                 "card_id = CASE WHEN ?4 THEN ?5 ELSE card_id END, "
                 "question = CASE WHEN ?4 THEN ?6 ELSE question END, "
                 "condition_type = coalesce(?7, condition_type), "
                 "condition_value = CASE WHEN ?7 IS NOT NULL THEN ?8 ELSE condition_value END, "
                 "webhook_id = CASE WHEN ?9 THEN ?10 ELSE webhook_id END, "
                 "enabled = CASE WHEN ?11 THEN ?12 ELSE enabled END, "
                 "cooldown = coalesce(?13, cooldown) WHERE id = ?1",
                 &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, j->id);
        sy_stmt_bind_int(st, 2, j->now);
        if (j->has_name) sy_stmt_bind_text(st, 3, j->name);
        sy_stmt_bind_int(st, 4, j->has_source);
        if (j->card_id) sy_stmt_bind_int(st, 5, j->card_id);
        sy_stmt_bind_text(st, 6, j->question);
        if (j->has_cond) {
            sy_stmt_bind_text(st, 7, sy_alert_condition_name(j->cond.type));
            sy_stmt_bind_real(st, 8, j->cond.value);
        }
        sy_stmt_bind_int(st, 9, j->has_webhook);
        if (j->webhook_id) sy_stmt_bind_int(st, 10, j->webhook_id);
        sy_stmt_bind_int(st, 11, j->has_enabled);
        sy_stmt_bind_int(st, 12, j->enabled);
        if (j->has_cooldown) sy_stmt_bind_text(st, 13, j->cooldown);
    }
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (sy_db_changes(db) == 0)
        return sy_err_set(e, SY_E_NOT_FOUND, "alert %lld does not exist", (long long)j->id);
    return sy_audit_record(db, j->actor, j->op == 2 ? "alerts.delete" : "alerts.update", target,
                           NULL, e);
}

/* Parses a rule body into j (create requires name, a source and a
 * condition). The question (own or the card's) must have a headline: it is
 * answered once at workspace scope. */
static int rule_fields(sy_req *r, json_t *body, int create, rule_job *j) {
    static const char *const allowed[] = {"name",       "card_id", "question", "condition",
                                          "webhook_id", "enabled", "cooldown", NULL};
    int rc = sy_json_only(body, allowed, &r->err);
    if (rc) return rc;
    json_t *v = json_object_get(body, "name");
    if (v) {
        size_t n = json_is_string(v) ? sy_utf8_len(json_string_value(v)) : 0;
        if (!json_is_string(v) || n == 0 || n > SY_DASH_NAME_MAX)
            return sy_err_field(&r->err, SY_E_INVALID, "name",
                                "name must be a string of 1 to %d characters", SY_DASH_NAME_MAX);
        j->name = json_string_value(v);
        j->has_name = 1;
    } else if (create) {
        return sy_err_field(&r->err, SY_E_INVALID, "name", "name is required");
    }
    if ((v = json_object_get(body, "condition"))) {
        if ((rc = sy_alert_condition_parse(v, "condition", &j->cond, &r->err))) return rc;
        j->has_cond = 1;
    } else if (create) {
        return sy_err_field(&r->err, SY_E_INVALID, "condition",
                            "condition is required: {\"type\", \"value\"}");
    }
    if ((v = json_object_get(body, "cooldown"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "period") != 0 && strcmp(s, "none") != 0)
            return sy_err_field(&r->err, SY_E_INVALID, "cooldown",
                                "cooldown must be \"period\" (fire once per period) or \"none\"");
        j->cooldown = s;
        j->has_cooldown = 1;
    }
    if ((v = json_object_get(body, "enabled"))) {
        if (!json_is_boolean(v))
            return sy_err_field(&r->err, SY_E_INVALID, "enabled", "enabled must be true or false");
        j->enabled = json_is_true(v);
        j->has_enabled = 1;
    }
    if ((v = json_object_get(body, "webhook_id"))) {
        j->has_webhook = 1;
        if (!json_is_null(v)) {
            if (!json_is_integer(v) || json_integer_value(v) <= 0)
                return sy_err_field(&r->err, SY_E_INVALID, "webhook_id",
                                    "webhook_id must be a webhook endpoint id or null");
            j->webhook_id = json_integer_value(v);
            if ((rc = webhook_exists(CTX(r), j->webhook_id, &r->err))) return rc;
        }
    }
    /* the source: exactly one of card_id and question after the change */
    json_t *cv = json_object_get(body, "card_id"), *qv = json_object_get(body, "question");
    int card_set = cv && !json_is_null(cv), q_set = qv && !json_is_null(qv);
    if (card_set && q_set)
        return sy_err_field(&r->err, SY_E_INVALID, "question",
                            "give card_id or question, not both");
    if (cv || qv) {
        if (!card_set && !q_set)
            return sy_err_field(&r->err, SY_E_INVALID, cv ? "card_id" : "question",
                                "an alert watches a card (card_id) or a question; give one");
        j->has_source = 1;
    } else if (create) {
        return sy_err_field(&r->err, SY_E_INVALID, "card_id",
                            "an alert watches a card (card_id) or a question; give one");
    }
    /* Switching source clears the other one (the row keeps exactly one). */
    if (card_set) {
        if (!json_is_integer(cv) || json_integer_value(cv) <= 0)
            return sy_err_field(&r->err, SY_E_INVALID, "card_id", "card_id must be a card id");
        sy_card c;
        sy_err ce = {0};
        rc = sy_card_load(CTX(r), r->arena, 0, json_integer_value(cv), &c, &ce);
        if (rc == SY_E_NOT_FOUND)
            return sy_err_field(&r->err, SY_E_INVALID, "card_id", "card %lld does not exist",
                                (long long)json_integer_value(cv));
        if (rc) {
            r->err = ce;
            return rc;
        }
        j->card_id = c.id;
        sy_err qe = {0};
        if ((rc = sy_dash_check_question(CTX(r), NULL, c.question, "question", 1, &qe)))
            return sy_err_field(&r->err, rc, "card_id", "card %lld cannot be watched: %s",
                                (long long)c.id, qe.msg);
    } else if (q_set) {
        if ((rc = sy_dash_check_question(CTX(r), NULL, qv, "question", 1, &r->err))) return rc;
        char *s = sy_json_dump(qv);
        j->question = sy_strdup(r->arena, s);
        free(s);
    }
    return 0;
}

static int reply_rule(sy_req *r, int status, int64_t id) {
    alert_rule rule;
    int rc = rule_load(CTX(r), r->arena, id, &rule, &r->err);
    return rc ? rc : sy_reply_json(r, status, rule_json(&rule));
}

/* POST /api/v1/alerts */
static int h_create(sy_req *r) {
    json_t *body;
    rule_job j = {0};
    j.actor = sy_req_actor(r);
    int rc = sy_req_json(r, &body);
    if (!rc) rc = rule_fields(r, body, 1, &j);
    if (rc) return rc;
    j.now = sy_now_ms();
    if ((rc = sy_store_write(CTX(r)->st, rule_job_run, &j, &r->err))) return rc;
    return reply_rule(r, 201, j.id);
}

/* PATCH /api/v1/alerts/{id} */
static int h_update(sy_req *r) {
    json_t *body;
    alert_rule cur;
    rule_job j = {0};
    j.op = 1;
    j.actor = sy_req_actor(r);
    int rc = sy_req_param_id(r, "id", &j.id);
    if (!rc) rc = rule_load(CTX(r), r->arena, j.id, &cur, &r->err);
    if (!rc) rc = sy_req_json(r, &body);
    if (!rc) rc = rule_fields(r, body, 0, &j);
    if (rc) return rc;
    j.now = sy_now_ms();
    if ((rc = sy_store_write(CTX(r)->st, rule_job_run, &j, &r->err))) return rc;
    return reply_rule(r, 200, j.id);
}

/* DELETE /api/v1/alerts/{id} — its fired events stay in the history. */
static int h_delete(sy_req *r) {
    rule_job j = {0};
    j.op = 2;
    j.actor = sy_req_actor(r);
    int rc = sy_req_param_id(r, "id", &j.id);
    if (!rc) rc = sy_store_write(CTX(r)->st, rule_job_run, &j, &r->err);
    if (rc) return rc;
    return sy_reply_json(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)j.id, "deleted", 1));
}

/* GET /api/v1/alerts/{id} */
static int h_get(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    return rc ? rc : reply_rule(r, 200, id);
}

/* Parses ?cursor= as a positive id (0 when absent). */
static int cursor_arg(sy_req *r, int64_t *out) {
    const char *cur = sy_req_query(r, "cursor");
    *out = 0;
    if (!cur) return 0;
    if (sy_parse_i64(cur, out) || *out <= 0)
        return sy_err_field(&r->err, SY_E_INVALID, "cursor", "cursor \"%s\" is not valid", cur);
    return 0;
}

/* GET /api/v1/alerts */
static int h_list(sy_req *r) {
    size_t limit;
    int64_t after, total = 0, last = 0;
    int rc = sy_req_limit(r, &limit);
    if (!rc) rc = cursor_arg(r, &after);
    if (rc) return rc;
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    json_t *items = json_array();
    size_t n = 0;
    int more = 0;
    sy_stmt *st;
    if ((rc = sy_db_query_int(db, "SELECT count(*) FROM alert_rules", &total, &r->err)) == 0 &&
        (rc =
             sy_db_prepare(db, "SELECT " RULE_COLS RULE_FROM "WHERE a.id > ? ORDER BY a.id LIMIT ?",
                           &st, &r->err)) == 0) {
        sy_stmt_bind_int(st, 1, after);
        sy_stmt_bind_int(st, 2, (int64_t)limit + 1);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            if (n == limit) {
                more = 1;
                break;
            }
            alert_rule rule;
            rule_from_row(st, r->arena, &rule);
            json_array_append_new(items, rule_json(&rule));
            last = rule.id;
            n++;
        }
        if (rc >= 0) rc = 0;
        sy_stmt_finalize(st);
    }
    sy_store_read_end(CTX(r)->st, db);
    if (rc) {
        json_decref(items);
        return rc;
    }
    json_t *next = more ? json_string(sy_sprintf(r->arena, "%lld", (long long)last)) : json_null();
    return sy_reply_json(r, 200,
                         json_pack("{s:o,s:I,s:o}", "items", items, "total", (json_int_t)total,
                                   "next_cursor", next));
}

/* POST /api/v1/alerts/{id}/evaluate — evaluates now (enabled or not),
 * records and delivers when it fires (cooldown respected), and answers
 * the evaluation. */
static int h_evaluate(sy_req *r) {
    int64_t id;
    alert_rule rule;
    int rc = sy_req_param_id(r, "id", &id);
    if (!rc && r->body_len) {
        json_t *body;
        static const char *const none[] = {NULL};
        if ((rc = sy_req_json(r, &body)) == 0) rc = sy_json_only(body, none, &r->err);
    }
    if (!rc) rc = rule_load(CTX(r), r->arena, id, &rule, &r->err);
    if (rc) return rc;
    alert_eval ev;
    if ((rc = evaluate_rules(CTX(r), r->arena, &rule, 1, &ev, &r->err))) return rc;
    if (!ev.ok) {
        if (ev.err.code == SY_E_INVALID || ev.err.code == SY_E_NOT_FOUND)
            return sy_err_field(&r->err, SY_E_PRECONDITION, rule.card_id ? "card_id" : "question",
                                "alert %lld's question no longer answers: %s", (long long)id,
                                ev.err.msg);
        r->err = ev.err;
        return ev.err.code ? ev.err.code : SY_E_INTERNAL;
    }
    json_t *o = eval_json(&ev);
    json_decref(ev.event);
    return sy_reply_json(r, 200, o);
}

/* GET /api/v1/alert-events?alert_id=&limit=&cursor= — newest first. */
static int h_events(sy_req *r) {
    size_t limit;
    int64_t before, alert_id = 0, total = 0, last = 0;
    int rc = sy_req_limit(r, &limit);
    if (!rc) rc = cursor_arg(r, &before);
    if (rc) return rc;
    const char *a = sy_req_query(r, "alert_id");
    if (a && (sy_parse_i64(a, &alert_id) || alert_id <= 0))
        return sy_err_field(&r->err, SY_E_INVALID, "alert_id", "alert_id \"%s\" is not an id", a);
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    json_t *items = json_array();
    size_t n = 0;
    int more = 0;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "SELECT count(*) FROM alert_events WHERE ?1 = 0 OR alert_id = ?1",
                            &st, &r->err)) == 0) {
        sy_stmt_bind_int(st, 1, alert_id);
        if ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) total = sy_stmt_col_int(st, 0), rc = 0;
        sy_stmt_finalize(st);
    }
    if (rc == 0 &&
        (rc = sy_db_prepare(db,
                            "SELECT id, alert_id, name, fired_at, period, value, trailing_mean, "
                            "threshold, unit, condition, message, delivery_id, queued, "
                            "delivery_error FROM alert_events WHERE (?1 = 0 OR alert_id = ?1) "
                            "AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3",
                            &st, &r->err)) == 0) {
        sy_stmt_bind_int(st, 1, alert_id);
        sy_stmt_bind_int(st, 2, before);
        sy_stmt_bind_int(st, 3, (int64_t)limit + 1);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            if (n == limit) {
                more = 1;
                break;
            }
            json_t *cond = json_loads(sy_stmt_col_text(st, 9), 0, NULL);
            const char *derr = sy_stmt_col_text(st, 13);
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(sy_stmt_col_int(st, 0)));
            json_object_set_new(o, "alert_id", json_integer(sy_stmt_col_int(st, 1)));
            json_object_set_new(o, "name", json_string(sy_stmt_col_text(st, 2)));
            json_object_set_new(o, "fired_at", json_integer(sy_stmt_col_int(st, 3)));
            json_object_set_new(o, "period", json_string(sy_stmt_col_text(st, 4)));
            json_object_set_new(o, "value", json_real(sy_stmt_col_real(st, 5)));
            json_object_set_new(
                o, "trailing_mean",
                sy_dash_num(sy_stmt_col_type(st, 6) != SY_NULL, sy_stmt_col_real(st, 6)));
            json_object_set_new(o, "threshold", json_real(sy_stmt_col_real(st, 7)));
            json_object_set_new(o, "unit", json_string(sy_stmt_col_text(st, 8)));
            json_object_set_new(o, "condition", cond ? cond : json_null());
            json_object_set_new(o, "message", json_string(sy_stmt_col_text(st, 10)));
            json_object_set_new(o, "delivery_id", id_or_null(sy_stmt_col_int(st, 11)));
            json_object_set_new(o, "queued",
                                sy_stmt_col_type(st, 12) == SY_NULL
                                    ? json_null()
                                    : json_integer(sy_stmt_col_int(st, 12)));
            json_object_set_new(o, "delivery_error", derr ? json_string(derr) : json_null());
            json_array_append_new(items, o);
            last = sy_stmt_col_int(st, 0);
            n++;
        }
        if (rc >= 0) rc = 0;
        sy_stmt_finalize(st);
    }
    sy_store_read_end(CTX(r)->st, db);
    if (rc) {
        json_decref(items);
        return rc;
    }
    json_t *next = more ? json_string(sy_sprintf(r->arena, "%lld", (long long)last)) : json_null();
    return sy_reply_json(r, 200,
                         json_pack("{s:o,s:I,s:o}", "items", items, "total", (json_int_t)total,
                                   "next_cursor", next));
}

#define S SY_AUTH_STAFF
#define M SY_PERM_SETTINGS_MANAGE
sy_route sy_alert_routes[] = {
    {"GET", "/api/v1/alerts", h_list, NULL, S, M, 0, "Alert rules", 0},
    {"POST", "/api/v1/alerts", h_create, NULL, S, M, 0, "Create an alert rule", 0},
    {"GET", "/api/v1/alerts/{id}", h_get, NULL, S, M, 0, "An alert rule", 0},
    {"PATCH", "/api/v1/alerts/{id}", h_update, NULL, S, M, 0, "Change an alert rule", 0},
    {"DELETE", "/api/v1/alerts/{id}", h_delete, NULL, S, M, 0,
     "Delete an alert rule (its fired alerts stay)", 0},
    {"POST", "/api/v1/alerts/{id}/evaluate", h_evaluate, NULL, S, M, 0,
     "Evaluate an alert rule now; fires and delivers when its condition holds", 0},
    {"GET", "/api/v1/alert-events", h_events, NULL, S, M, 0, "Fired alerts, newest first", 0},
};
const size_t sy_alert_routes_n = SY_ARRAY_LEN(sy_alert_routes);
#undef S
#undef M
