/* dashboards.c — the dashboards module: creation, who may see and change a
 * dashboard, reading cards, and checking a card's or an alert's question by
 * asking analytics once. HTTP lives in dashboards_api.c (dashboards and
 * cards) and alerts.c (alert rules and the scheduler). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dashboards_int.h"

/* Releases a json_t with its arena. */
static void decref_cleanup(void *p) {
    json_decref(p);
}

json_t *sy_dash_num(int has, double v) {
    return has ? json_real(v) : json_null();
}

int sy_dash_access_get(sy_dashboards *d, const sy_actor *actor, int64_t id, sy_dash_access *out,
                       sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(d->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, "SELECT owner_id, shared, is_default FROM dashboards WHERE id = ?",
                            &st, e)) == 0) {
        sy_stmt_bind_int(st, 1, id);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW) {
            memset(out, 0, sizeof *out);
            out->owner_id = sy_stmt_col_int(st, 0); /* NULL reads as 0 */
            out->shared = (int)sy_stmt_col_int(st, 1);
            out->is_default = (int)sy_stmt_col_int(st, 2);
            rc = 0;
        } else if (rc == SY_DONE) {
            rc = 1;
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(d->st, db);
    if (rc < 0) return rc;
    if (rc == 0) {
        int admin = actor && (actor->perms & SY_PERM_SETTINGS_MANAGE);
        int own = actor && actor->staff_id && out->owner_id == actor->staff_id;
        out->can_view = out->shared || own || admin;
        out->can_edit = own || admin;
        if (out->can_view) return 0;
    }
    /* Someone else's private dashboard is as good as missing to this caller. */
    return sy_err_set(e, SY_E_NOT_FOUND, "dashboard %lld does not exist", (long long)id);
}

int sy_card_load(sy_dashboards *d, sy_arena *a, int64_t dashboard_id, int64_t card_id, sy_card *out,
                 sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(d->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db,
                            "SELECT id, dashboard_id, title, question, chart, thresholds, "
                            "position, created_at, updated_at FROM dashboard_cards "
                            "WHERE id = ?1 AND (?2 = 0 OR dashboard_id = ?2)",
                            &st, e)) == 0) {
        sy_stmt_bind_int(st, 1, card_id);
        sy_stmt_bind_int(st, 2, dashboard_id);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW) {
            memset(out, 0, sizeof *out);
            out->id = sy_stmt_col_int(st, 0);
            out->dashboard_id = sy_stmt_col_int(st, 1);
            out->title = sy_strdup(a, sy_stmt_col_text(st, 2));
            out->question = json_loads(sy_stmt_col_text(st, 3), 0, NULL);
            out->chart = sy_strdup(a, sy_stmt_col_text(st, 4));
            const char *th = sy_stmt_col_text(st, 5);
            if (th) {
                json_t *tj = json_loads(th, 0, NULL);
                sy_err ie = {0};
                if (sy_thresholds_parse(tj, "thresholds", &out->thresholds, &out->has_thresholds,
                                        &ie))
                    out->has_thresholds = 0; /* written by us: cannot happen */
                json_decref(tj);
            }
            out->position = sy_stmt_col_int(st, 6);
            out->created_at = sy_stmt_col_int(st, 7);
            out->updated_at = sy_stmt_col_int(st, 8);
            if (out->question) {
                sy_arena_on_destroy(a, decref_cleanup, out->question);
                rc = 0;
            } else {
                rc = sy_err_set(e, SY_E_INTERNAL, "card %lld has a corrupt question",
                                (long long)card_id);
            }
        } else if (rc == SY_DONE) {
            rc = sy_err_set(e, SY_E_NOT_FOUND, "card %lld does not exist", (long long)card_id);
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(d->st, db);
    return rc;
}

json_t *sy_card_json(const sy_card *c) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(c->id));
    json_object_set_new(o, "dashboard_id", json_integer(c->dashboard_id));
    json_object_set_new(o, "title", json_string(c->title ? c->title : ""));
    json_object_set_new(o, "question", c->question ? json_deep_copy(c->question) : json_null());
    json_object_set_new(o, "chart", json_string(c->chart ? c->chart : "line"));
    json_object_set_new(o, "thresholds",
                        c->has_thresholds ? sy_thresholds_json(&c->thresholds) : json_null());
    json_object_set_new(o, "position", json_integer(c->position));
    json_object_set_new(o, "created_at", json_integer(c->created_at));
    json_object_set_new(o, "updated_at", json_integer(c->updated_at));
    return o;
}

int sy_dash_check_question(sy_dashboards *d, const sy_actor *actor, json_t *question,
                           const char *prefix, int headline, sy_err *e) {
    if (!question || !json_is_object(question))
        return sy_err_field(e, SY_E_INVALID, prefix,
                            "%s must be an analytics question object with \"kind\"", prefix);
    int rc;
    sy_err ie = {0};
    if (headline) {
        sy_headline h;
        rc = sy_analytics_headline(d->analytics, actor, question, 0, &h, &ie);
    } else {
        json_t *out = NULL;
        rc = sy_analytics_run(d->analytics, actor, question, 0, &out, &ie);
        json_decref(out);
    }
    if (rc == 0) return 0;
    if (rc != SY_E_INVALID && rc != SY_E_NOT_FOUND) {
        *e = ie;
        return rc;
    }
    /* The question is part of our body: its faults are 400s naming the
     * member inside it ("question.metric"), an unknown segment included. */
    char field[sizeof e->field];
    if (ie.field[0])
        snprintf(field, sizeof field, "%s.%.*s", prefix, (int)(sizeof field - strlen(prefix) - 2),
                 ie.field);
    else
        snprintf(field, sizeof field, "%s", prefix);
    return sy_err_field(e, SY_E_INVALID, field, "%s: %s", prefix, ie.msg);
}

/* The scheduler period from the environment (tests shorten it). */
static int64_t interval_from_env(void) {
    const char *v = getenv("SIYU_ALERT_INTERVAL_MS");
    int64_t x;
    if (!v || !*v) return SY_ALERT_DEFAULT_MS;
    if (sy_parse_i64(v, &x) || x < 50 || x > 86400000) {
        sy_warn("msg=\"SIYU_ALERT_INTERVAL_MS ignored\" value=\"%s\" reason=\"not 50 … 86400000\"",
                v);
        return SY_ALERT_DEFAULT_MS;
    }
    return x;
}

int sy_dashboards_create(sy_store *st, sy_staff *staff, sy_analytics *analytics,
                         sy_channels *channels, sy_dashboards **out, sy_err *e) {
    sy_dashboards *d = calloc(1, sizeof *d);
    if (!d) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    d->st = st, d->staff = staff, d->analytics = analytics, d->channels = channels;
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->eval_lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    d->interval_ms = interval_from_env();
    *out = d;
    return 0;
}

void sy_dashboards_destroy(sy_dashboards *d) {
    if (!d) return;
    sy_alerts_stop(d);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->eval_lock);
    pthread_cond_destroy(&d->wake);
    free(d);
}
