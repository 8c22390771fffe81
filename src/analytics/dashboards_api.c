/* dashboards_api.c — HTTP for dashboards and their cards under
 * /api/v1/dashboards, a card's data (the analytics answer, its headline
 * and its threshold colour), and the registration of every route of the
 * module (the alert routes come from alerts.c).
 *
 * Who may do what: anyone with contacts.read sees shared dashboards and
 * their own, creates dashboards and edits their own; settings.manage sees
 * and edits every dashboard (the seeded 概览 belongs to the workspace, so
 * only they edit it). Someone else's private dashboard answers 404. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dashboards_int.h"

#define CTX(r) ((sy_dashboards *)(r)->ctx)

static const char *const charts[] = {"line", "bar", "number", "table", "funnel", "heatmap", NULL};

/* --- body helpers --- */

/* A string member of 1..max code points (max_len 0: may be empty). absent
 * leaves *present 0; null is refused unless nullable (then *out = NULL). */
static int text_member(sy_req *r, json_t *body, const char *key, size_t max, int nullable,
                       int may_be_empty, const char **out, int *present) {
    json_t *v = json_object_get(body, key);
    *present = 0;
    if (!v) return 0;
    if (json_is_null(v) && nullable) {
        *out = NULL;
        *present = 1;
        return 0;
    }
    if (!json_is_string(v))
        return sy_err_field(&r->err, SY_E_INVALID, key, "%s must be a string", key);
    const char *s = json_string_value(v);
    size_t n = sy_utf8_len(s);
    if ((!may_be_empty && n == 0) || n > max)
        return sy_err_field(&r->err, SY_E_INVALID, key, "%s must be %s%zu characters, got %zu", key,
                            may_be_empty ? "at most " : "1 to ", max, n);
    *out = s;
    *present = 1;
    return 0;
}

static int bool_member(sy_req *r, json_t *body, const char *key, int *out, int *present) {
    json_t *v = json_object_get(body, key);
    *present = 0;
    if (!v) return 0;
    if (!json_is_boolean(v))
        return sy_err_field(&r->err, SY_E_INVALID, key, "%s must be true or false", key);
    *out = json_is_true(v);
    *present = 1;
    return 0;
}

static int chart_member(sy_req *r, json_t *body, const char **out, int *present) {
    json_t *v = json_object_get(body, "chart");
    *present = 0;
    if (!v) return 0;
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    for (size_t i = 0; charts[i]; i++)
        if (strcmp(s, charts[i]) == 0) {
            *out = charts[i];
            *present = 1;
            return 0;
        }
    char *shown = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    const char *text = shown ? shown : "?";
    char *copy = sy_strndup(r->arena, text, strnlen(text, 60)); /* copies exactly n bytes */
    free(shown);
    return sy_err_field(&r->err, SY_E_INVALID, "chart",
                        "chart %s must be one of line, bar, number, table, funnel, heatmap", copy);
}

static int position_member(sy_req *r, json_t *body, int64_t *out, int *present) {
    json_t *v = json_object_get(body, "position");
    *present = 0;
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
        return sy_err_field(&r->err, SY_E_INVALID, "position",
                            "position must be a whole number from 0 to 1000000");
    *out = json_integer_value(v);
    *present = 1;
    return 0;
}

static int64_t cursor_after(sy_req *r, int *bad) {
    const char *cur = sy_req_query(r, "cursor");
    *bad = 0;
    if (!cur) return 0;
    int64_t v;
    if (sy_parse_i64(cur, &v) || v < 0) {
        *bad = sy_err_field(&r->err, SY_E_INVALID, "cursor", "cursor \"%s\" is not valid", cur);
        return 0;
    }
    return v;
}

/* --- reading --- */

#define DASH_COLS                                                                                  \
    "d.id, d.name, d.description, d.owner_id, d.shared, d.is_default, d.created_at, "              \
    "d.updated_at, (SELECT count(*) FROM dashboard_cards c WHERE c.dashboard_id = d.id)"

static json_t *dash_row_json(sy_stmt *st, const sy_actor *actor) {
    json_t *o = json_object();
    int64_t owner = sy_stmt_col_int(st, 3);
    const char *desc = sy_stmt_col_text(st, 2);
    json_object_set_new(o, "id", json_integer(sy_stmt_col_int(st, 0)));
    json_object_set_new(o, "name", json_string(sy_stmt_col_text(st, 1)));
    json_object_set_new(o, "description", desc ? json_string(desc) : json_null());
    json_object_set_new(o, "owner_id", owner ? json_integer(owner) : json_null());
    json_object_set_new(o, "shared", json_boolean(sy_stmt_col_int(st, 4)));
    json_object_set_new(o, "is_default", json_boolean(sy_stmt_col_int(st, 5)));
    json_object_set_new(o, "created_at", json_integer(sy_stmt_col_int(st, 6)));
    json_object_set_new(o, "updated_at", json_integer(sy_stmt_col_int(st, 7)));
    json_object_set_new(o, "card_count", json_integer(sy_stmt_col_int(st, 8)));
    int can_edit =
        (actor->perms & SY_PERM_SETTINGS_MANAGE) || (actor->staff_id && owner == actor->staff_id);
    json_object_set_new(o, "can_edit", json_boolean(can_edit));
    return o;
}

/* One dashboard with its cards in position order. */
static int dash_get(sy_dashboards *d, const sy_actor *actor, int64_t id, json_t **out, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(d->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    json_t *o = NULL;
    if ((rc = sy_db_prepare(db, "SELECT " DASH_COLS " FROM dashboards d WHERE d.id = ?", &st, e)) ==
        0) {
        sy_stmt_bind_int(st, 1, id);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW)
            o = dash_row_json(st, actor), rc = 0;
        else if (rc == SY_DONE)
            rc = sy_err_set(e, SY_E_NOT_FOUND, "dashboard %lld does not exist", (long long)id);
        sy_stmt_finalize(st);
    }
    json_t *cards = json_array();
    if (rc == 0 &&
        (rc = sy_db_prepare(db,
                            "SELECT id, title, question, chart, thresholds, position, "
                            "created_at, updated_at FROM dashboard_cards WHERE dashboard_id = ? "
                            "ORDER BY position, id",
                            &st, e)) == 0) {
        sy_stmt_bind_int(st, 1, id);
        while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
            json_t *q = json_loads(sy_stmt_col_text(st, 2), 0, NULL);
            const char *th = sy_stmt_col_text(st, 4);
            json_t *t = th ? json_loads(th, 0, NULL) : NULL;
            json_array_append_new(
                cards,
                json_pack("{s:I, s:I, s:s, s:o, s:s, s:o, s:I, s:I, s:I}", "id",
                          (json_int_t)sy_stmt_col_int(st, 0), "dashboard_id", (json_int_t)id,
                          "title", sy_stmt_col_text(st, 1), "question", q ? q : json_null(),
                          "chart", sy_stmt_col_text(st, 3), "thresholds", t ? t : json_null(),
                          "position", (json_int_t)sy_stmt_col_int(st, 5), "created_at",
                          (json_int_t)sy_stmt_col_int(st, 6), "updated_at",
                          (json_int_t)sy_stmt_col_int(st, 7)));
        }
        if (rc == SY_DONE) rc = 0;
        sy_stmt_finalize(st);
    }
    sy_store_read_end(d->st, db);
    if (rc) {
        json_decref(o);
        json_decref(cards);
        return rc;
    }
    json_object_set_new(o, "cards", cards);
    *out = o;
    return 0;
}

/* GET /api/v1/dashboards */
static int h_list(sy_req *r) {
    const sy_actor *actor = sy_req_actor(r);
    size_t limit;
    int bad, rc = sy_req_limit(r, &limit);
    if (rc) return rc;
    int64_t after = cursor_after(r, &bad);
    if (bad) return bad;
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    sy_stmt *st;
    json_t *items = json_array();
    int64_t total = 0, last = 0;
    size_t n = 0;
    int more = 0;
    int admin = (actor->perms & SY_PERM_SETTINGS_MANAGE) != 0;
#define VISIBLE "(?1 OR d.shared = 1 OR d.owner_id = ?2)"
    if ((rc = sy_db_prepare(db, "SELECT count(*) FROM dashboards d WHERE " VISIBLE, &st,
                            &r->err)) == 0) {
        sy_stmt_bind_int(st, 1, admin);
        sy_stmt_bind_int(st, 2, actor->staff_id);
        if ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) total = sy_stmt_col_int(st, 0), rc = 0;
        sy_stmt_finalize(st);
    }
    if (rc == 0 && (rc = sy_db_prepare(db,
                                       "SELECT " DASH_COLS " FROM dashboards d WHERE " VISIBLE
                                       " AND d.id > ?3 ORDER BY d.id LIMIT ?4",
                                       &st, &r->err)) == 0) {
        sy_stmt_bind_int(st, 1, admin);
        sy_stmt_bind_int(st, 2, actor->staff_id);
        sy_stmt_bind_int(st, 3, after);
        sy_stmt_bind_int(st, 4, (int64_t)limit + 1);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            if (n == limit) {
                more = 1;
                break;
            }
            json_array_append_new(items, dash_row_json(st, actor));
            last = sy_stmt_col_int(st, 0);
            n++;
        }
        if (rc >= 0) rc = 0;
        sy_stmt_finalize(st);
    }
#undef VISIBLE
    sy_store_read_end(CTX(r)->st, db);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    json_t *next = more ? json_string(sy_sprintf(r->arena, "%lld", (long long)last)) : json_null();
    return sy_reply_json(r, 200,
                         json_pack("{s:o,s:I,s:o}", "items", items, "total", (json_int_t)total,
                                   "next_cursor", next));
}

/* GET /api/v1/dashboards/{id} */
static int h_get(sy_req *r) {
    int64_t id;
    sy_dash_access acc;
    json_t *o;
    int rc = sy_req_param_id(r, "id", &id);
    if (!rc) rc = sy_dash_access_get(CTX(r), sy_req_actor(r), id, &acc, &r->err);
    if (!rc) rc = dash_get(CTX(r), sy_req_actor(r), id, &o, &r->err);
    return rc ? rc : sy_reply_json(r, 200, o);
}

/* --- writing --- */

enum {
    OP_DASH_CREATE,
    OP_DASH_UPDATE,
    OP_DASH_DELETE,
    OP_CARD_CREATE,
    OP_CARD_UPDATE,
    OP_CARD_DELETE
};

typedef struct dash_job {
    int op;
    const sy_actor *actor;
    int64_t id, card_id, now;
    const char *name, *description;
    int has_name, has_description, has_shared, shared, has_default, is_default;
    /* cards */
    const char *title, *chart;
    char *question;   /* JSON text; NULL: unchanged */
    char *thresholds; /* JSON text or NULL */
    int has_thresholds, has_position;
    int64_t position;
} dash_job;

static int audit(sy_db *db, const dash_job *j, const char *action, const char *kind, int64_t id,
                 sy_err *e) {
    char target[48];
    snprintf(target, sizeof target, "%s:%lld", kind, (long long)id);
    return sy_audit_record(db, j->actor, action, target, NULL, e);
}

/* Runs one prepared statement to completion. */
static int run(sy_stmt *st, sy_err *e) {
    int rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

static int job_dash(sy_db *db, void *arg, sy_err *e) {
    dash_job *j = arg;
    sy_stmt *st;
    int rc;
    if (j->op == OP_DASH_CREATE) {
        if ((rc = sy_db_prepare(db,
                                "INSERT INTO dashboards(name, description, owner_id, shared, "
                                "is_default, created_at, updated_at) VALUES (?,?,?,?,0,?,?)",
                                &st, e)))
            return rc;
        sy_stmt_bind_text(st, 1, j->name);
        sy_stmt_bind_text(st, 2, j->description);
        if (j->actor->staff_id) sy_stmt_bind_int(st, 3, j->actor->staff_id);
        sy_stmt_bind_int(st, 4, j->shared);
        sy_stmt_bind_int(st, 5, j->now);
        sy_stmt_bind_int(st, 6, j->now);
        if ((rc = run(st, e))) return rc;
        j->id = sy_db_last_id(db);
        return audit(db, j, "dashboards.create", "dashboard", j->id, e);
    }
    if (j->op == OP_DASH_UPDATE) {
        if (j->has_default && j->is_default) {
            /* one default: the one named last */
            if ((rc = sy_db_exec(db, "UPDATE dashboards SET is_default = 0 WHERE is_default = 1",
                                 e)))
                return rc;
        }
        if ((rc = sy_db_prepare(db,
                                "UPDATE dashboards SET updated_at = ?2, "
                                "name = CASE WHEN ?3 THEN ?4 ELSE name END, "
                                "description = CASE WHEN ?5 THEN ?6 ELSE description END, "
                                "shared = CASE WHEN ?7 THEN ?8 ELSE shared END, "
                                "is_default = CASE WHEN ?9 THEN ?10 ELSE is_default END "
                                "WHERE id = ?1",
                                &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, j->id);
        sy_stmt_bind_int(st, 2, j->now);
        sy_stmt_bind_int(st, 3, j->has_name);
        sy_stmt_bind_text(st, 4, j->name);
        sy_stmt_bind_int(st, 5, j->has_description);
        sy_stmt_bind_text(st, 6, j->description);
        sy_stmt_bind_int(st, 7, j->has_shared);
        sy_stmt_bind_int(st, 8, j->shared);
        sy_stmt_bind_int(st, 9, j->has_default);
        sy_stmt_bind_int(st, 10, j->is_default);
        if ((rc = run(st, e))) return rc;
        if (sy_db_changes(db) == 0)
            return sy_err_set(e, SY_E_NOT_FOUND, "dashboard %lld does not exist", (long long)j->id);
        int64_t n_default = 0;
        if ((rc = sy_db_query_int(db, "SELECT count(*) FROM dashboards WHERE is_default = 1",
                                  &n_default, e)))
            return rc;
        if (n_default == 0)
            return sy_err_field(e, SY_E_INVALID, "is_default",
                                "there must be a default dashboard: make another one the default "
                                "instead");
        return audit(db, j, "dashboards.update", "dashboard", j->id, e);
    }
    if (j->op == OP_DASH_DELETE) {
        int64_t is_default = 0;
        if ((rc = sy_db_prepare(db, "SELECT is_default FROM dashboards WHERE id = ?", &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, j->id);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW) is_default = sy_stmt_col_int(st, 0);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        if (rc == SY_DONE)
            return sy_err_set(e, SY_E_NOT_FOUND, "dashboard %lld does not exist", (long long)j->id);
        if (is_default)
            return sy_err_set(e, SY_E_CONFLICT,
                              "dashboard %lld is the default (概览); make another dashboard the "
                              "default before deleting it",
                              (long long)j->id);
        if ((rc = sy_alerts_card_in_use(db, j->id, 0, e))) return rc;
        if ((rc = sy_db_prepare(db, "DELETE FROM dashboards WHERE id = ?", &st, e))) return rc;
        sy_stmt_bind_int(st, 1, j->id);
        if ((rc = run(st, e))) return rc;
        return audit(db, j, "dashboards.delete", "dashboard", j->id, e);
    }
    if (j->op == OP_CARD_CREATE) {
        int64_t n = 0;
        if ((rc = sy_db_prepare(db,
                                "SELECT count(*), coalesce(max(position), 0) FROM dashboard_cards "
                                "WHERE dashboard_id = ?",
                                &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, j->id);
        int64_t maxpos = 0;
        if ((rc = sy_stmt_step(st, e)) == SY_ROW)
            n = sy_stmt_col_int(st, 0), maxpos = sy_stmt_col_int(st, 1);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        if (n >= SY_DASH_CARDS_MAX)
            return sy_err_set(e, SY_E_CONFLICT, "dashboard %lld already has %d cards, the most",
                              (long long)j->id, SY_DASH_CARDS_MAX);
        if (!j->has_position) j->position = maxpos + 1;
        if ((rc = sy_db_prepare(db,
                                "INSERT INTO dashboard_cards(dashboard_id, title, question, chart, "
                                "thresholds, position, created_at, updated_at) "
                                "VALUES (?,?,?,?,?,?,?,?)",
                                &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, j->id);
        sy_stmt_bind_text(st, 2, j->title);
        sy_stmt_bind_text(st, 3, j->question);
        sy_stmt_bind_text(st, 4, j->chart);
        sy_stmt_bind_text(st, 5, j->thresholds);
        sy_stmt_bind_int(st, 6, j->position);
        sy_stmt_bind_int(st, 7, j->now);
        sy_stmt_bind_int(st, 8, j->now);
        if ((rc = run(st, e))) return rc;
        j->card_id = sy_db_last_id(db);
        if ((rc = sy_db_prepare(db, "UPDATE dashboards SET updated_at = ? WHERE id = ?", &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, j->now);
        sy_stmt_bind_int(st, 2, j->id);
        if ((rc = run(st, e))) return rc;
        return audit(db, j, "dashboards.card_create", "card", j->card_id, e);
    }
    if (j->op == OP_CARD_UPDATE) {
        if ((rc = sy_db_prepare(db,
                                "UPDATE dashboard_cards SET updated_at = ?3, "
                                "title = coalesce(?4, title), question = coalesce(?5, question), "
                                "chart = coalesce(?6, chart), "
                                "thresholds = CASE WHEN ?7 THEN ?8 ELSE thresholds END, "
                                "position = CASE WHEN ?9 THEN ?10 ELSE position END "
                                "WHERE id = ?2 AND dashboard_id = ?1",
                                &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, j->id);
        sy_stmt_bind_int(st, 2, j->card_id);
        sy_stmt_bind_int(st, 3, j->now);
        sy_stmt_bind_text(st, 4, j->title);
        sy_stmt_bind_text(st, 5, j->question);
        sy_stmt_bind_text(st, 6, j->chart);
        sy_stmt_bind_int(st, 7, j->has_thresholds);
        sy_stmt_bind_text(st, 8, j->thresholds);
        sy_stmt_bind_int(st, 9, j->has_position);
        sy_stmt_bind_int(st, 10, j->position);
        if ((rc = run(st, e))) return rc;
        if (sy_db_changes(db) == 0)
            return sy_err_set(e, SY_E_NOT_FOUND, "card %lld does not exist", (long long)j->card_id);
        return audit(db, j, "dashboards.card_update", "card", j->card_id, e);
    }
    /* OP_CARD_DELETE */
    if ((rc = sy_alerts_card_in_use(db, 0, j->card_id, e))) return rc;
    if ((rc = sy_db_prepare(db, "DELETE FROM dashboard_cards WHERE id = ? AND dashboard_id = ?",
                            &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, j->card_id);
    sy_stmt_bind_int(st, 2, j->id);
    if ((rc = run(st, e))) return rc;
    if (sy_db_changes(db) == 0)
        return sy_err_set(e, SY_E_NOT_FOUND, "card %lld does not exist", (long long)j->card_id);
    return audit(db, j, "dashboards.card_delete", "card", j->card_id, e);
}

/* Loads the dashboard of the path and insists the caller may change it. */
static int editable(sy_req *r, int64_t *id) {
    sy_dash_access acc;
    int rc = sy_req_param_id(r, "id", id);
    if (!rc) rc = sy_dash_access_get(CTX(r), sy_req_actor(r), *id, &acc, &r->err);
    if (!rc && !acc.can_edit)
        rc = sy_err_set(&r->err, SY_E_FORBIDDEN,
                        "dashboard %lld belongs to someone else; only its owner or someone with "
                        "settings.manage may change it",
                        (long long)*id);
    return rc;
}

/* Parses the dashboard members of a create or update body. */
static int dash_fields(sy_req *r, json_t *body, dash_job *j) {
    static const char *const allowed[] = {"name", "description", "shared", "is_default", NULL};
    int rc = sy_json_only(body, allowed, &r->err);
    if (!rc) rc = text_member(r, body, "name", SY_DASH_NAME_MAX, 0, 0, &j->name, &j->has_name);
    if (!rc)
        rc = text_member(r, body, "description", SY_DASH_DESC_MAX, 1, 1, &j->description,
                         &j->has_description);
    if (!rc) rc = bool_member(r, body, "shared", &j->shared, &j->has_shared);
    if (!rc) rc = bool_member(r, body, "is_default", &j->is_default, &j->has_default);
    return rc;
}

/* POST /api/v1/dashboards */
static int h_create(sy_req *r) {
    json_t *body;
    dash_job j = {OP_DASH_CREATE, sy_req_actor(r)};
    int rc = sy_req_json(r, &body);
    if (!rc) rc = dash_fields(r, body, &j);
    if (rc) return rc;
    if (!j.has_name) return sy_err_field(&r->err, SY_E_INVALID, "name", "name is required");
    if (j.has_default)
        return sy_err_field(&r->err, SY_E_INVALID, "is_default",
                            "is_default is set with PATCH on an existing dashboard");
    j.now = sy_now_ms();
    if ((rc = sy_store_write(CTX(r)->st, job_dash, &j, &r->err))) return rc;
    json_t *o;
    if ((rc = dash_get(CTX(r), j.actor, j.id, &o, &r->err))) return rc;
    return sy_reply_json(r, 201, o);
}

/* PATCH /api/v1/dashboards/{id} */
static int h_update(sy_req *r) {
    json_t *body;
    dash_job j = {OP_DASH_UPDATE, sy_req_actor(r)};
    int rc = editable(r, &j.id);
    if (!rc) rc = sy_req_json(r, &body);
    if (!rc) rc = dash_fields(r, body, &j);
    if (rc) return rc;
    if (j.has_default && !(j.actor->perms & SY_PERM_SETTINGS_MANAGE))
        return sy_err_set(&r->err, SY_E_FORBIDDEN,
                          "choosing the default dashboard needs settings.manage");
    if (j.has_default && j.is_default && j.has_shared && !j.shared)
        return sy_err_field(&r->err, SY_E_INVALID, "shared",
                            "the default dashboard is shown to everyone: it must be shared");
    if (j.has_default && j.is_default) j.has_shared = 1, j.shared = 1;
    j.now = sy_now_ms();
    if ((rc = sy_store_write(CTX(r)->st, job_dash, &j, &r->err))) return rc;
    json_t *o;
    if ((rc = dash_get(CTX(r), j.actor, j.id, &o, &r->err))) return rc;
    return sy_reply_json(r, 200, o);
}

/* DELETE /api/v1/dashboards/{id} */
static int h_delete(sy_req *r) {
    dash_job j = {OP_DASH_DELETE, sy_req_actor(r)};
    int rc = editable(r, &j.id);
    if (!rc) rc = sy_store_write(CTX(r)->st, job_dash, &j, &r->err);
    if (rc) return rc;
    return sy_reply_json(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)j.id, "deleted", 1));
}

/* Parses a card body; `create` requires title, question and chart. The
 * question is checked last, by answering it once for the caller. */
static int card_fields(sy_req *r, json_t *body, int create, dash_job *j) {
    static const char *const allowed[] = {"title",      "question", "chart",
                                          "thresholds", "position", NULL};
    int rc = sy_json_only(body, allowed, &r->err), has_title = 0, has_chart = 0;
    if (!rc) rc = text_member(r, body, "title", SY_DASH_NAME_MAX, 0, 0, &j->title, &has_title);
    if (!rc) rc = chart_member(r, body, &j->chart, &has_chart);
    if (!rc) rc = position_member(r, body, &j->position, &j->has_position);
    if (rc) return rc;
    json_t *tv = json_object_get(body, "thresholds");
    if (tv) {
        sy_thresholds t;
        int present;
        if ((rc = sy_thresholds_parse(tv, "thresholds", &t, &present, &r->err))) return rc;
        j->has_thresholds = 1;
        if (present) {
            json_t *tj = sy_thresholds_json(&t);
            char *s = sy_json_dump(tj);
            j->thresholds = sy_strdup(r->arena, s);
            free(s);
            json_decref(tj);
        }
    }
    json_t *q = json_object_get(body, "question");
    if (create) {
        if (!has_title) return sy_err_field(&r->err, SY_E_INVALID, "title", "title is required");
        if (!q) return sy_err_field(&r->err, SY_E_INVALID, "question", "question is required");
        if (!has_chart) return sy_err_field(&r->err, SY_E_INVALID, "chart", "chart is required");
    }
    if (q) {
        if ((rc = sy_dash_check_question(CTX(r), sy_req_actor(r), q, "question", 0, &r->err)))
            return rc;
        char *s = sy_json_dump(q);
        j->question = sy_strdup(r->arena, s);
        free(s);
    }
    return 0;
}

static int reply_card(sy_req *r, int status, int64_t dashboard_id, int64_t card_id) {
    sy_card c;
    int rc = sy_card_load(CTX(r), r->arena, dashboard_id, card_id, &c, &r->err);
    return rc ? rc : sy_reply_json(r, status, sy_card_json(&c));
}

/* POST /api/v1/dashboards/{id}/cards */
static int h_card_create(sy_req *r) {
    json_t *body;
    dash_job j = {OP_CARD_CREATE, sy_req_actor(r)};
    int rc = editable(r, &j.id);
    if (!rc) rc = sy_req_json(r, &body);
    if (!rc) rc = card_fields(r, body, 1, &j);
    if (rc) return rc;
    j.now = sy_now_ms();
    if ((rc = sy_store_write(CTX(r)->st, job_dash, &j, &r->err))) return rc;
    return reply_card(r, 201, j.id, j.card_id);
}

/* The card of the path, on the dashboard of the path. */
static int path_card(sy_req *r, int64_t dashboard_id, sy_card *c) {
    int64_t card_id;
    int rc = sy_req_param_id(r, "card_id", &card_id);
    return rc ? rc : sy_card_load(CTX(r), r->arena, dashboard_id, card_id, c, &r->err);
}

/* PATCH /api/v1/dashboards/{id}/cards/{card_id} */
static int h_card_update(sy_req *r) {
    json_t *body;
    sy_card c;
    dash_job j = {OP_CARD_UPDATE, sy_req_actor(r)};
    int rc = editable(r, &j.id);
    if (!rc) rc = path_card(r, j.id, &c);
    if (!rc) rc = sy_req_json(r, &body);
    if (!rc) rc = card_fields(r, body, 0, &j);
    if (rc) return rc;
    j.card_id = c.id;
    j.now = sy_now_ms();
    if ((rc = sy_store_write(CTX(r)->st, job_dash, &j, &r->err))) return rc;
    return reply_card(r, 200, j.id, j.card_id);
}

/* DELETE /api/v1/dashboards/{id}/cards/{card_id} */
static int h_card_delete(sy_req *r) {
    sy_card c;
    dash_job j = {OP_CARD_DELETE, sy_req_actor(r)};
    int rc = editable(r, &j.id);
    if (!rc) rc = path_card(r, j.id, &c);
    if (rc) return rc;
    j.card_id = c.id;
    if ((rc = sy_store_write(CTX(r)->st, job_dash, &j, &r->err))) return rc;
    return sy_reply_json(r, 200,
                         json_pack("{s:I, s:b}", "id", (json_int_t)j.card_id, "deleted", 1));
}

/* GET /api/v1/dashboards/{id}/cards/{card_id}/data — the analytics answer
 * for the viewer's data scope, the headline and its threshold colour. */
static int h_card_data(sy_req *r) {
    int64_t id;
    sy_dash_access acc;
    sy_card c;
    const sy_actor *actor = sy_req_actor(r);
    int rc = sy_req_param_id(r, "id", &id);
    if (!rc) rc = sy_dash_access_get(CTX(r), actor, id, &acc, &r->err);
    if (!rc) rc = path_card(r, id, &c);
    if (rc) return rc;
    int64_t as_of = sy_now_ms();
    json_t *result = NULL;
    sy_err qe = {0};
    rc = sy_analytics_run(CTX(r)->analytics, actor, c.question, as_of, &result, &qe);
    if (rc == SY_E_INVALID || rc == SY_E_NOT_FOUND) {
        /* Saved valid; something it names (a segment, an event) has gone. */
        char field[sizeof qe.field];
        snprintf(field, sizeof field, "question%s%.100s", qe.field[0] ? "." : "", qe.field);
        return sy_err_field(&r->err, SY_E_PRECONDITION, field,
                            "card %lld's question no longer answers: %s", (long long)c.id, qe.msg);
    }
    if (rc) {
        r->err = qe;
        return rc;
    }
    sy_headline h;
    memset(&h, 0, sizeof h);
    json_t *headline;
    rc = sy_analytics_headline(CTX(r)->analytics, actor, c.question, as_of, &h, &qe);
    if (rc == 0) {
        headline =
            json_pack("{s:o, s:o, s:o, s:s}", "value", sy_dash_num(h.has_value, h.value),
                      "trailing_mean", sy_dash_num(h.has_trailing, h.trailing_mean), "period",
                      h.period[0] ? json_string(h.period) : json_null(), "unit", h.unit);
    } else if (rc == SY_E_INVALID) {
        headline = json_null(); /* a kind without a headline (attribution tables) */
    } else {
        json_decref(result);
        r->err = qe;
        return rc;
    }
    int status = rc == 0
                     ? sy_card_status(c.has_thresholds ? &c.thresholds : NULL, h.has_value, h.value)
                     : SY_CARD_NONE;
    return sy_reply_json(r, 200,
                         json_pack("{s:I, s:o, s:o, s:s, s:I}", "card_id", (json_int_t)c.id,
                                   "result", result, "headline", headline, "status",
                                   sy_card_status_name(status), "as_of", (json_int_t)as_of));
}

#define S SY_AUTH_STAFF
#define R SY_PERM_CONTACTS_READ
static sy_route routes[] = {
    {"GET", "/api/v1/dashboards", h_list, NULL, S, R, 0,
     "Dashboards the caller can see (shared and own)", 0},
    {"POST", "/api/v1/dashboards", h_create, NULL, S, R, 0,
     "Create a dashboard (owned by the caller)", 0},
    {"GET", "/api/v1/dashboards/{id}", h_get, NULL, S, R, 0, "A dashboard with its cards", 0},
    {"PATCH", "/api/v1/dashboards/{id}", h_update, NULL, S, R, 0,
     "Rename, describe, share or make default a dashboard", 0},
    {"DELETE", "/api/v1/dashboards/{id}", h_delete, NULL, S, R, 0, "Delete a dashboard", 0},
    {"POST", "/api/v1/dashboards/{id}/cards", h_card_create, NULL, S, R, 0,
     "Add a card (question checked by answering it once)", 0},
    {"PATCH", "/api/v1/dashboards/{id}/cards/{card_id}", h_card_update, NULL, S, R, 0,
     "Change a card", 0},
    {"DELETE", "/api/v1/dashboards/{id}/cards/{card_id}", h_card_delete, NULL, S, R, 0,
     "Remove a card", 0},
    {"GET", "/api/v1/dashboards/{id}/cards/{card_id}/data", h_card_data, NULL, S, R, 0,
     "A card's answer, headline and threshold status for the caller's scope", 0},
};
#undef S
#undef R

void sy_dashboards_register(sy_dashboards *d, sy_http *h) {
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++)
        routes[i].ctx = d;
    sy_http_add_routes(h, routes, SY_ARRAY_LEN(routes));
    for (size_t i = 0; i < sy_alert_routes_n; i++)
        sy_alert_routes[i].ctx = d;
    sy_http_add_routes(h, sy_alert_routes, sy_alert_routes_n);
    sy_alerts_start(d);
}
