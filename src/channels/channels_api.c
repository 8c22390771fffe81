/* channels_api.c — HTTP routes of the webhook sender: endpoints (CRUD,
 * secret rotation, a test delivery), their deliveries and a manual retry,
 * and the /metrics lines. Every route needs settings.manage. Handlers:
 * parse and validate (nothing is written when anything is wrong) → one
 * write job that also records the audit entry → wake the sender → reply.
 * Secrets leave the server only in the answers to create and rotate. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "channels_int.h"

#define CTX(r) ((sy_channels *)(r)->ctx)

#define EP_COLS                                                                                    \
    "id, name, url, topics, enabled, created_at, updated_at, "                                     \
    "(SELECT count(*) FROM webhook_deliveries d WHERE d.endpoint_id = webhook_endpoints.id "       \
    "AND d.status = 'pending'), "                                                                  \
    "(SELECT count(*) FROM webhook_deliveries d WHERE d.endpoint_id = webhook_endpoints.id "       \
    "AND d.status = 'failed')"
#define DL_COLS                                                                                    \
    "id, endpoint_id, topic, status, attempts, next_attempt_at, last_status_code, last_error, "    \
    "created_at, delivered_at, body, finished_at"

static json_t *int_or_null(sy_stmt *st, int i) {
    return sy_stmt_col_type(st, i) == SY_NULL ? json_null() : json_integer(sy_stmt_col_int(st, i));
}
static json_t *text_or_null(sy_stmt *st, int i) {
    const char *s = sy_stmt_col_text(st, i);
    return s ? json_string(s) : json_null();
}

static json_t *ep_row(sy_stmt *st) {
    json_t *topics = json_loads(sy_stmt_col_text(st, 3), 0, NULL);
    return json_pack("{s:I, s:s, s:s, s:o, s:b, s:I, s:I, s:I, s:I}", "id",
                     (json_int_t)sy_stmt_col_int(st, 0), "name", sy_stmt_col_text(st, 1), "url",
                     sy_stmt_col_text(st, 2), "topics", topics ? topics : json_array(), "enabled",
                     (int)sy_stmt_col_int(st, 4), "created_at", (json_int_t)sy_stmt_col_int(st, 5),
                     "updated_at", (json_int_t)sy_stmt_col_int(st, 6), "pending",
                     (json_int_t)sy_stmt_col_int(st, 7), "failed",
                     (json_int_t)sy_stmt_col_int(st, 8));
}

static json_t *dl_row(sy_stmt *st) {
    return json_pack("{s:I, s:I, s:s, s:s, s:I, s:o, s:o, s:o, s:I, s:o, s:s, s:o}", "id",
                     (json_int_t)sy_stmt_col_int(st, 0), "endpoint_id",
                     (json_int_t)sy_stmt_col_int(st, 1), "topic", sy_stmt_col_text(st, 2), "status",
                     sy_stmt_col_text(st, 3), "attempts", (json_int_t)sy_stmt_col_int(st, 4),
                     "next_attempt_at", int_or_null(st, 5), "last_status_code", int_or_null(st, 6),
                     "last_error", text_or_null(st, 7), "created_at",
                     (json_int_t)sy_stmt_col_int(st, 8), "delivered_at", int_or_null(st, 9), "body",
                     sy_stmt_col_text(st, 10), "finished_at", int_or_null(st, 11));
}

/* Reads one endpoint (is_ep) or delivery by id; SY_E_NOT_FOUND when absent. */
static int load_one(sy_db *db, int is_ep, int64_t id, json_t **out, sy_err *e) {
    sy_stmt *st;
    *out = NULL;
    int rc = sy_db_prepare(db,
                           is_ep ? "SELECT " EP_COLS " FROM webhook_endpoints WHERE id = ?1"
                                 : "SELECT " DL_COLS " FROM webhook_deliveries WHERE id = ?1",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    rc = sy_stmt_step(st, e);
    if (rc == SY_ROW) *out = is_ep ? ep_row(st) : dl_row(st);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (!*out)
        return sy_err_set(e, SY_E_NOT_FOUND, "%s %lld not found",
                          is_ep ? "webhook" : "webhook delivery", (long long)id);
    return 0;
}

/* --- body validation --- */

static const char *const create_fields[] = {"name", "url", "topics", "enabled", "secret", NULL};
static const char *const patch_fields[] = {"name", "url", "topics", "enabled", NULL};
static const char *const rotate_fields[] = {"secret", NULL};
static const char *const test_fields[] = {"data", NULL};
static const char *const no_fields[] = {NULL};

static void free_json(void *p) {
    json_decref(p);
}

/* The body as a strict object; an empty body reads as {} where allowed. */
static int body_of(sy_req *r, const char *const *allowed, int empty_ok, json_t **out) {
    if (empty_ok && r->body_len == 0) {
        *out = json_object();
        sy_arena_on_destroy(r->arena, free_json, *out);
        return 0;
    }
    int rc = sy_req_json(r, out);
    if (rc) return rc;
    rc = sy_json_only(*out, allowed, &r->err);
    if (rc && strcmp(r->err.field, "secret") == 0 && allowed == patch_fields)
        sy_err_field(&r->err, SY_E_INVALID, "secret",
                     "field \"secret\" cannot be patched: use POST /api/v1/webhooks/{id}/"
                     "rotate-secret");
    return rc;
}

/* Checks every field present; create requires name and url. The topics
 * array is normalised in place (none given → ["*"] on create). */
static int check_body(sy_req *r, json_t *b, int create) {
    const char *s;
    int present, flag, rc;
    /* null means "not given", as in sy_json_str; drop such keys so that the
     * jobs, which read the body directly, never store a JSON null */
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(b, tmp, key, v) {
        if (json_is_null(v)) json_object_del(b, key);
    }
    if ((rc = sy_json_str(b, "name", &s, &present, &r->err))) return rc;
    if (!present && create)
        return sy_err_field(&r->err, SY_E_INVALID, "name", "field \"name\" is required");
    if (present) {
        size_t i = 0;
        while (s[i] == ' ' || s[i] == '\t')
            i++;
        if (!s[i] || sy_utf8_len(s) > SY_WH_NAME_MAX)
            return sy_err_field(&r->err, SY_E_INVALID, "name",
                                "name \"%.120s\" must be 1–%d characters and not blank", s,
                                SY_WH_NAME_MAX);
    }
    if ((rc = sy_json_str(b, "url", &s, &present, &r->err))) return rc;
    if (!present && create)
        return sy_err_field(&r->err, SY_E_INVALID, "url", "field \"url\" is required");
    if (present && (rc = sy_wh_check_url(s, &r->err))) return rc;
    if ((rc = sy_json_bool(b, "enabled", &flag, &present, &r->err))) return rc;
    if ((rc = sy_json_str(b, "secret", &s, &present, &r->err))) return rc;
    if (present && (rc = sy_wh_check_secret(s, &r->err))) return rc;
    json_t *t = json_object_get(b, "topics");
    if (!t && create) json_object_set_new(b, "topics", t = json_pack("[s]", "*"));
    if (t) {
        size_t n = json_is_array(t) ? json_array_size(t) : 0;
        if (n < 1 || n > SY_WH_TOPICS_MAX)
            return sy_err_field(&r->err, SY_E_INVALID, "topics",
                                "field \"topics\" must be an array of 1–%d topic patterns "
                                "(\"*\" for all)",
                                SY_WH_TOPICS_MAX);
        for (size_t i = 0; i < n; i++) {
            json_t *p = json_array_get(t, i);
            char field[32];
            snprintf(field, sizeof field, "topics[%zu]", i);
            if (!json_is_string(p))
                return sy_err_field(&r->err, SY_E_INVALID, field, "%s must be a string", field);
            if ((rc = sy_wh_check_topic(field, json_string_value(p), 1, &r->err))) return rc;
        }
    }
    return 0;
}

/* --- write jobs --- */

typedef struct op {
    const sy_actor *actor;
    int64_t id;
    json_t *body;   /* validated request body (borrowed) */
    char *secret;   /* create/rotate: the secret stored */
    json_t *result; /* set on success only */
} op;

static int audit(sy_db *db, op *o, const char *action, const char *kind, json_t *detail,
                 sy_err *e) {
    char target[48];
    snprintf(target, sizeof target, "%s:%lld", kind, (long long)o->id);
    return sy_audit_record(db, o->actor, action, target, detail, e);
}

/* The body without its secret, for the audit log. */
static json_t *redacted(json_t *b) {
    json_t *d = json_deep_copy(b);
    if (d && json_object_get(d, "secret")) json_object_set_new(d, "secret", json_string("(set)"));
    return d;
}

static int job_create(sy_db *db, void *arg, sy_err *e) {
    op *o = arg;
    json_t *b = o->body;
    json_t *en = json_object_get(b, "enabled");
    char *topics = sy_json_dump(json_object_get(b, "topics"));
    if (!topics) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "INSERT INTO webhook_endpoints (name, url, secret, topics, enabled, "
                           "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                           &st, e);
    if (rc == 0) {
        sy_stmt_bind_text(st, 1, json_string_value(json_object_get(b, "name")));
        sy_stmt_bind_text(st, 2, json_string_value(json_object_get(b, "url")));
        sy_stmt_bind_text(st, 3, o->secret);
        sy_stmt_bind_text(st, 4, topics);
        sy_stmt_bind_int(st, 5, en ? json_is_true(en) : 1);
        sy_stmt_bind_int(st, 6, sy_now_ms());
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
    }
    free(topics);
    if (rc < 0) return rc;
    o->id = sy_db_last_id(db);
    json_t *d = redacted(b);
    rc = audit(db, o, "webhooks.create", "webhook", d, e);
    json_decref(d);
    return rc ? rc : load_one(db, 1, o->id, &o->result, e);
}

static int job_patch(sy_db *db, void *arg, sy_err *e) {
    op *o = arg;
    json_t *cur;
    int rc = load_one(db, 1, o->id, &cur, e);
    if (rc) return rc;
    json_decref(cur);
    json_t *b = o->body, *v;
    char *topics = (v = json_object_get(b, "topics")) ? sy_json_dump(v) : NULL;
    sy_stmt *st;
    rc = sy_db_prepare(db,
                       "UPDATE webhook_endpoints SET name = coalesce(?2, name), "
                       "url = coalesce(?3, url), topics = coalesce(?4, topics), "
                       "enabled = coalesce(?5, enabled), updated_at = ?6 WHERE id = ?1",
                       &st, e);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, o->id);
        sy_stmt_bind_text(st, 2, json_string_value(json_object_get(b, "name")));
        sy_stmt_bind_text(st, 3, json_string_value(json_object_get(b, "url")));
        sy_stmt_bind_text(st, 4, topics);
        if ((v = json_object_get(b, "enabled")))
            sy_stmt_bind_int(st, 5, json_is_true(v));
        else
            sy_stmt_bind_null(st, 5);
        sy_stmt_bind_int(st, 6, sy_now_ms());
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
    }
    free(topics);
    if (rc < 0) return rc;
    rc = audit(db, o, "webhooks.update", "webhook", b, e);
    return rc ? rc : load_one(db, 1, o->id, &o->result, e);
}

static int exec_id(sy_db *db, const char *sql, int64_t id, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, sql, &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

static int job_delete(sy_db *db, void *arg, sy_err *e) {
    op *o = arg;
    json_t *cur;
    int rc = load_one(db, 1, o->id, &cur, e);
    if (rc) return rc;
    json_t *d = json_pack("{s:O, s:O}", "name", json_object_get(cur, "name"), "url",
                          json_object_get(cur, "url"));
    json_decref(cur);
    /* Its outbox goes with it: nothing could ever send those rows again. */
    rc = exec_id(db, "DELETE FROM webhook_deliveries WHERE endpoint_id = ?1", o->id, e);
    if (rc == 0) rc = exec_id(db, "DELETE FROM webhook_endpoints WHERE id = ?1", o->id, e);
    if (rc == 0) rc = audit(db, o, "webhooks.delete", "webhook", d, e);
    json_decref(d);
    if (rc == 0) o->result = json_pack("{s:I, s:b}", "id", (json_int_t)o->id, "deleted", 1);
    return rc;
}

static int job_rotate(sy_db *db, void *arg, sy_err *e) {
    op *o = arg;
    json_t *cur;
    int rc = load_one(db, 1, o->id, &cur, e);
    if (rc) return rc;
    json_decref(cur);
    sy_stmt *st;
    rc = sy_db_prepare(
        db, "UPDATE webhook_endpoints SET secret = ?2, updated_at = ?3 WHERE id = ?1", &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, o->id);
    sy_stmt_bind_text(st, 2, o->secret);
    sy_stmt_bind_int(st, 3, sy_now_ms());
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    json_t *d = json_pack("{s:b}", "chosen", json_object_get(o->body, "secret") != NULL);
    rc = audit(db, o, "webhooks.rotate_secret", "webhook", d, e);
    json_decref(d);
    return rc ? rc : load_one(db, 1, o->id, &o->result, e);
}

static int job_retry(sy_db *db, void *arg, sy_err *e) {
    op *o = arg;
    json_t *cur;
    int rc = load_one(db, 0, o->id, &cur, e);
    if (rc) return rc;
    json_t *d = json_pack("{s:O, s:O}", "status", json_object_get(cur, "status"), "attempts",
                          json_object_get(cur, "attempts"));
    json_decref(cur);
    /* A manual retry starts a fresh schedule of attempts; the last error
     * stays visible until the next attempt replaces it. */
    sy_stmt *st;
    rc = sy_db_prepare(db,
                       "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, "
                       "next_attempt_at = ?2, delivered_at = NULL, finished_at = NULL "
                       "WHERE id = ?1",
                       &st, e);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, o->id);
        sy_stmt_bind_int(st, 2, sy_now_ms());
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
    }
    if (rc >= 0) rc = audit(db, o, "webhooks.delivery_retry", "webhook_delivery", d, e);
    json_decref(d);
    return rc ? rc : load_one(db, 0, o->id, &o->result, e);
}

static int run(sy_req *r, op *o, sy_write_job fn) {
    o->actor = sy_req_actor(r);
    int rc = sy_store_write(CTX(r)->st, fn, o, &r->err);
    if (rc) {
        json_decref(o->result);
        o->result = NULL;
    }
    return rc;
}

/* --- handlers --- */

/* ?limit= and ?cursor= (the last id of the previous page). */
static int page_args(sy_req *r, size_t *limit, int64_t *cursor) {
    *cursor = 0;
    if (sy_req_limit(r, limit)) return r->err.code;
    const char *c = sy_req_query(r, "cursor");
    if (c && (sy_parse_i64(c, cursor) || *cursor < 1))
        return sy_err_field(&r->err, SY_E_INVALID, "cursor", "cursor \"%.40s\" is not valid", c);
    return 0;
}

/* Runs a listing: rows of sql (binds ?1 = after/before id, ?2 = limit + 1,
 * ?3 = arg, ?4 = text arg), total from count_sql (binds ?3, ?4). SQLite
 * ignores a bind beyond a statement's parameters (SQLITE_RANGE), so a
 * query uses only the ones it needs. */
static int list_query(sy_req *r, const char *sql, const char *count_sql, int64_t cursor,
                      size_t limit, int64_t arg, const char *targ, int is_ep) {
    sy_db *db;
    int rc = sy_store_read_begin(CTX(r)->st, &db, &r->err);
    if (rc) return rc;
    json_t *items = json_array();
    int64_t total = 0, last = 0;
    int more = 0;
    sy_stmt *st;
    rc = sy_db_prepare(db, sql, &st, &r->err);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, cursor);
        sy_stmt_bind_int(st, 2, (int64_t)limit + 1);
        sy_stmt_bind_int(st, 3, arg);
        sy_stmt_bind_text(st, 4, targ);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            if (json_array_size(items) == limit) {
                more = 1;
                break;
            }
            last = sy_stmt_col_int(st, 0);
            json_array_append_new(items, is_ep ? ep_row(st) : dl_row(st));
        }
        sy_stmt_finalize(st);
    }
    if (rc >= 0) rc = sy_db_prepare(db, count_sql, &st, &r->err);
    if (rc == 0) {
        sy_stmt_bind_int(st, 3, arg);
        sy_stmt_bind_text(st, 4, targ);
        rc = sy_stmt_step(st, &r->err);
        total = rc == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
        sy_stmt_finalize(st);
    }
    sy_store_read_end(CTX(r)->st, db);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    return sy_reply_json(r, 200,
                         json_pack("{s:o, s:I, s:o}", "items", items, "total", (json_int_t)total,
                                   "next_cursor",
                                   more ? json_sprintf("%lld", (long long)last) : json_null()));
}

/* GET /api/v1/webhooks */
static int h_list(sy_req *r) {
    size_t limit;
    int64_t cursor;
    int rc = page_args(r, &limit, &cursor);
    if (rc) return rc;
    return list_query(r,
                      "SELECT " EP_COLS " FROM webhook_endpoints WHERE id > ?1 "
                      "ORDER BY id LIMIT ?2",
                      "SELECT count(*) FROM webhook_endpoints", cursor, limit, 0, NULL, 1);
}

/* GET /api/v1/webhooks/{id} */
static int h_get(sy_req *r) {
    int64_t id;
    if (sy_req_param_id(r, "id", &id)) return r->err.code;
    sy_db *db;
    int rc = sy_store_read_begin(CTX(r)->st, &db, &r->err);
    if (rc) return rc;
    json_t *out;
    rc = load_one(db, 1, id, &out, &r->err);
    sy_store_read_end(CTX(r)->st, db);
    return rc ? rc : sy_reply_json(r, 200, out);
}

/* Adds the secret to an endpoint reply (create and rotate only). */
static int reply_with_secret(sy_req *r, int status, op *o) {
    json_object_set_new(o->result, "secret", json_string(o->secret));
    sodium_memzero(o->secret, strlen(o->secret));
    return sy_reply_json(r, status, o->result);
}

/* POST /api/v1/webhooks */
static int h_create(sy_req *r) {
    op o = {0};
    char secret[SY_WH_SECRET_MAX + SY_WH_SECRET_BUF];
    int rc = body_of(r, create_fields, 0, &o.body);
    if (rc == 0) rc = check_body(r, o.body, 1);
    if (rc) return rc;
    const char *given = json_string_value(json_object_get(o.body, "secret"));
    if (given)
        snprintf(secret, sizeof secret, "%s", given);
    else
        sy_wh_new_secret(secret);
    o.secret = secret;
    if ((rc = run(r, &o, job_create))) return rc;
    return reply_with_secret(r, 201, &o);
}

/* PATCH /api/v1/webhooks/{id} */
static int h_patch(sy_req *r) {
    op o = {0};
    int rc = sy_req_param_id(r, "id", &o.id);
    if (rc == 0) rc = body_of(r, patch_fields, 0, &o.body);
    if (rc == 0) rc = check_body(r, o.body, 0);
    if (rc == 0) rc = run(r, &o, job_patch);
    if (rc) return rc;
    sy_wh_kick(CTX(r)); /* re-enabled: its pending rows are due */
    return sy_reply_json(r, 200, o.result);
}

/* DELETE /api/v1/webhooks/{id} */
static int h_delete(sy_req *r) {
    op o = {0};
    int rc = sy_req_param_id(r, "id", &o.id);
    if (rc == 0) rc = run(r, &o, job_delete);
    return rc ? rc : sy_reply_json(r, 200, o.result);
}

/* POST /api/v1/webhooks/{id}/rotate-secret */
static int h_rotate(sy_req *r) {
    op o = {0};
    char secret[SY_WH_SECRET_MAX + SY_WH_SECRET_BUF];
    int rc = sy_req_param_id(r, "id", &o.id);
    if (rc == 0) rc = body_of(r, rotate_fields, 1, &o.body);
    if (rc == 0) rc = check_body(r, o.body, 0);
    if (rc) return rc;
    const char *given = json_string_value(json_object_get(o.body, "secret"));
    if (given)
        snprintf(secret, sizeof secret, "%s", given);
    else
        sy_wh_new_secret(secret);
    o.secret = secret;
    if ((rc = run(r, &o, job_rotate))) return rc;
    return reply_with_secret(r, 200, &o);
}

/* POST /api/v1/webhooks/{id}/test — queues a webhook.test delivery. */
static int h_test(sy_req *r) {
    int64_t id, did = 0;
    json_t *b;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc == 0) rc = body_of(r, test_fields, 1, &b);
    if (rc) return rc;
    const sy_actor *a = sy_req_actor(r);
    json_t *data = json_pack("{s:s, s:I, s:s}", "message", "test delivery from siyu", "endpoint_id",
                             (json_int_t)id, "by", a && a->username ? a->username : "system");
    json_t *extra = json_object_get(b, "data");
    if (extra) json_object_set(data, "data", extra);
    rc = sy_wh_queue(CTX(r), a, "webhooks.test", id, "webhook.test", data, NULL, &did, &r->err);
    json_decref(data);
    if (rc) return rc;
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    json_t *out;
    rc = load_one(db, 0, did, &out, &r->err);
    sy_store_read_end(CTX(r)->st, db);
    return rc ? rc : sy_reply_json(r, 202, out);
}

/* GET /api/v1/webhooks/{id}/deliveries?status=&limit=&cursor= (newest first) */
static int h_deliveries(sy_req *r) {
    int64_t id, cursor;
    size_t limit;
    if (sy_req_param_id(r, "id", &id)) return r->err.code;
    int rc = page_args(r, &limit, &cursor);
    if (rc) return rc;
    const char *status = sy_req_query(r, "status");
    if (status && strcmp(status, "pending") && strcmp(status, "delivered") &&
        strcmp(status, "failed"))
        return sy_err_field(&r->err, SY_E_INVALID, "status",
                            "status \"%.40s\" is not pending, delivered or failed", status);
    sy_db *db;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    json_t *ep = NULL;
    rc = load_one(db, 1, id, &ep, &r->err);
    json_decref(ep);
    sy_store_read_end(CTX(r)->st, db);
    if (rc) return rc;
    return list_query(r,
                      "SELECT " DL_COLS " FROM webhook_deliveries WHERE endpoint_id = ?3 "
                      "AND (?1 = 0 OR id < ?1) AND (?4 IS NULL OR status = ?4) "
                      "ORDER BY id DESC LIMIT ?2",
                      "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ?3 "
                      "AND (?4 IS NULL OR status = ?4)",
                      cursor, limit, id, status, 0);
}

/* POST /api/v1/webhook-deliveries/{id}/retry */
static int h_retry(sy_req *r) {
    op o = {0};
    int rc = sy_req_param_id(r, "id", &o.id);
    if (rc == 0) rc = body_of(r, no_fields, 1, &o.body);
    if (rc == 0) rc = run(r, &o, job_retry);
    if (rc) return rc;
    sy_wh_kick(CTX(r));
    return sy_reply_json(r, 200, o.result);
}

/* --- /metrics --- */

static void metrics(void *ctx, sy_buf *out) {
    sy_channels *c = ctx;
    int64_t pending = 0, failed = 0;
    sy_db *db;
    sy_err e;
    if (sy_store_read_begin(c->st, &db, &e)) return;
    sy_db_query_int(db, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'",
                    &pending, &e);
    sy_db_query_int(db, "SELECT count(*) FROM webhook_deliveries WHERE status = 'failed'", &failed,
                    &e);
    sy_store_read_end(c->st, db);
    sy_buf_addf(out,
                "# HELP siyu_webhook_deliveries Webhook deliveries in the outbox by status.\n"
                "# TYPE siyu_webhook_deliveries gauge\n"
                "siyu_webhook_deliveries{status=\"pending\"} %lld\n"
                "siyu_webhook_deliveries{status=\"failed\"} %lld\n",
                (long long)pending, (long long)failed);
}

/* --- the route table --- */

#define M SY_PERM_SETTINGS_MANAGE
#define S SY_AUTH_STAFF
#define TEST_LIMIT ((size_t)128 * 1024)

static sy_route routes[] = {
    {"GET", "/api/v1/webhooks", h_list, NULL, S, M, 0, "list webhook endpoints"},
    {"POST", "/api/v1/webhooks", h_create, NULL, S, M, 0,
     "create a webhook endpoint (its secret is shown once)"},
    {"GET", "/api/v1/webhooks/{id}", h_get, NULL, S, M, 0, "read a webhook endpoint"},
    {"PATCH", "/api/v1/webhooks/{id}", h_patch, NULL, S, M, 0, "change a webhook endpoint"},
    {"DELETE", "/api/v1/webhooks/{id}", h_delete, NULL, S, M, 0,
     "delete a webhook endpoint and its deliveries"},
    {"POST", "/api/v1/webhooks/{id}/rotate-secret", h_rotate, NULL, S, M, 0,
     "replace a webhook endpoint's signing secret"},
    {"POST", "/api/v1/webhooks/{id}/test", h_test, NULL, S, M, TEST_LIMIT,
     "queue a webhook.test delivery"},
    {"GET", "/api/v1/webhooks/{id}/deliveries", h_deliveries, NULL, S, M, 0,
     "a webhook endpoint's deliveries, newest first"},
    {"POST", "/api/v1/webhook-deliveries/{id}/retry", h_retry, NULL, S, M, 0,
     "send a delivery again now"},
};

void sy_wh_api_register(sy_channels *c, sy_http *h) {
    /* the table is static; one channels module per process */
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++)
        routes[i].ctx = c;
    sy_http_add_routes(h, routes, SY_ARRAY_LEN(routes));
    sy_http_add_metrics(h, metrics, c);
}
