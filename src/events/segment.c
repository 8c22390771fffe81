/* segment.c — parsing and validating Segment-spec messages.
 *
 * Accepts what real clients send (segment.md §2): the batch envelope with
 * sentAt, writeKey in the body or not, batch-level context and integrations
 * merged into each item, unknown fields (kept in the JSON, never rejected),
 * userId given as a number. A batch is validated whole and every problem is
 * reported by index and field. */
#include <stdio.h>
#include <string.h>
#include "events_int.h"

typedef struct problems {
    json_t *list;
} problems;

static void problem(problems *p, long index, const char *field, const char *reason) {
    if (json_array_size(p->list) >= 100) return; /* enough to fix a client */
    json_t *o = json_pack("{s:s, s:s}", "field", field, "reason", reason);
    if (index >= 0) json_object_set_new(o, "index", json_integer(index));
    json_array_append_new(p->list, o);
}

static int type_of(const char *s) {
    static const struct {
        const char *name;
        int type;
    } t[] = {{"identify", SY_MSG_IDENTIFY}, {"track", SY_MSG_TRACK}, {"page", SY_MSG_PAGE},
             {"screen", SY_MSG_SCREEN},     {"group", SY_MSG_GROUP}, {"alias", SY_MSG_ALIAS}};
    for (size_t i = 0; i < SY_ARRAY_LEN(t); i++)
        if (s && strcmp(s, t[i].name) == 0) return t[i].type;
    return 0;
}

/* An id may be a non-empty string or a number (some back ends send
 * integer user ids); numbers are kept as their decimal text. */
static int get_id(sy_arena *a, json_t *m, const char *key, const char **out, problems *p,
                  long idx) {
    json_t *v = json_object_get(m, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        if (n == 0) return 0; /* empty means absent */
        if (n > SY_EV_MAX_ID) {
            problem(p, idx, key, "longer than 200 characters");
            return -1;
        }
        *out = json_string_value(v);
        return 0;
    }
    if (json_is_integer(v)) {
        *out = sy_sprintf(a, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    problem(p, idx, key, "must be a string");
    return -1;
}

static int get_obj(json_t *m, const char *key, json_t **out, problems *p, long idx) {
    json_t *v = json_object_get(m, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_object(v)) {
        problem(p, idx, key, "must be an object");
        return -1;
    }
    *out = v;
    return 0;
}

/* Reads an ISO-8601 time field. Returns 1 when present and valid, 0 when
 * absent, -1 when invalid (problem recorded). */
static int get_time(json_t *m, const char *key, int64_t *ms, problems *p, long idx) {
    json_t *v = json_object_get(m, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) {
        problem(p, idx, key,
                "must be an ISO-8601 date-time string such as \"2026-11-22T09:00:00.000Z\"");
        return -1;
    }
    if (sy_time_parse(json_string_value(v), ms) != 0) {
        char reason[160];
        snprintf(reason, sizeof reason,
                 "\"%.60s\" is not an ISO-8601 date-time such as \"2026-11-22T09:00:00.000Z\"",
                 json_string_value(v));
        problem(p, idx, key, reason);
        return -1;
    }
    return 1;
}

static int parse_one(sy_arena *a, json_t *m, long idx, int forced_type, json_t *batch_ctx,
                     int64_t batch_sent, int has_batch_sent, int64_t received_at, int check_size,
                     sy_msg *out, problems *p) {
    int bad = 0;
    memset(out, 0, sizeof *out);
    if (!json_is_object(m)) {
        problem(p, idx, "message", "must be a JSON object");
        return -1;
    }
    /* Measuring a message means encoding it again: only needed when the
     * whole body is larger than one message may be. */
    size_t size = check_size ? json_dumpb(m, NULL, 0, JSON_COMPACT) : 0;
    if (size > SY_EV_MAX_MESSAGE) {
        problem(p, idx, "message", sy_sprintf(a, "is %zu bytes; the limit is 32 KB", size));
        return -1;
    }
    int type = forced_type;
    if (!type) {
        json_t *t = json_object_get(m, "type");
        if (!json_is_string(t)) {
            problem(p, idx, "type", "is required: identify, track, page, screen, group or alias");
            return -1;
        }
        type = type_of(json_string_value(t));
        if (!type) {
            problem(p, idx, "type",
                    sy_sprintf(a,
                               "\"%s\" is not one of identify, track, page, screen, group, alias",
                               json_string_value(t)));
            return -1;
        }
    }
    out->type = type;
    bad |= get_id(a, m, "userId", &out->user_id, p, idx);
    bad |= get_id(a, m, "anonymousId", &out->anonymous_id, p, idx);
    bad |= get_id(a, m, "messageId", &out->message_id, p, idx);
    bad |= get_obj(m, "properties", &out->properties, p, idx);
    bad |= get_obj(m, "traits", &out->traits, p, idx);
    bad |= get_obj(m, "context", &out->context, p, idx);
    if (type == SY_MSG_ALIAS) {
        bad |= get_id(a, m, "previousId", &out->previous_id, p, idx);
        if (!bad && !out->previous_id) {
            problem(p, idx, "previousId", "is required for alias");
            bad = -1;
        }
        if (!bad && !out->user_id) {
            problem(p, idx, "userId", "is required for alias");
            bad = -1;
        }
    } else if (!out->user_id && !out->anonymous_id && !bad) {
        problem(p, idx, "userId", "userId or anonymousId is required");
        bad = -1;
    }
    switch (type) {
    case SY_MSG_TRACK: {
        json_t *ev = json_object_get(m, "event");
        if (!json_is_string(ev) || json_string_length(ev) == 0) {
            problem(p, idx, "event", "is required for track and must be a non-empty string");
            bad = -1;
        } else if (json_string_length(ev) > SY_EV_MAX_ID) {
            problem(p, idx, "event", "longer than 200 characters");
            bad = -1;
        } else if (json_string_value(ev)[0] == '$') {
            problem(p, idx, "event", "names starting with $ are reserved");
            bad = -1;
        } else {
            out->event = json_string_value(ev);
        }
        break;
    }
    case SY_MSG_PAGE:
        out->event = "$page";
        break;
    case SY_MSG_SCREEN:
        out->event = "$screen";
        break;
    case SY_MSG_IDENTIFY:
        out->event = "$identify";
        break;
    case SY_MSG_ALIAS:
        out->event = "$alias";
        break;
    case SY_MSG_GROUP:
        out->event = "$group";
        bad |= get_id(a, m, "groupId", &out->group_id, p, idx);
        if (!bad && !out->group_id) {
            problem(p, idx, "groupId", "is required for group");
            bad = -1;
        }
        break;
    }
    if (type == SY_MSG_PAGE || type == SY_MSG_SCREEN) {
        json_t *name = json_object_get(m, "name"), *cat = json_object_get(m, "category");
        if (name && !json_is_null(name) && !json_is_string(name)) {
            problem(p, idx, "name", "must be a string");
            bad = -1;
        } else if (json_is_string(name)) {
            out->name = json_string_value(name);
        }
        if (cat && !json_is_null(cat) && !json_is_string(cat)) {
            problem(p, idx, "category", "must be a string");
            bad = -1;
        } else if (json_is_string(cat)) {
            out->category = json_string_value(cat);
        }
    }
    json_t *chan = json_object_get(m, "channel");
    if (json_is_string(chan)) out->channel = json_string_value(chan);
    /* identify may carry traits in context.traits only (rudder copies them). */
    if (type == SY_MSG_IDENTIFY && !out->traits && out->context) {
        json_t *ct = json_object_get(out->context, "traits");
        if (json_is_object(ct)) out->traits = ct;
    }
    /* Timestamps: a sender's `timestamp` is kept unchanged; otherwise
     * originalTimestamp is corrected for clock skew as
     * receivedAt − (sentAt − originalTimestamp); with neither, receivedAt. */
    int64_t ts = 0, orig = 0, sent = 0;
    int has_ts = get_time(m, "timestamp", &ts, p, idx);
    int has_orig = get_time(m, "originalTimestamp", &orig, p, idx);
    int has_sent = get_time(m, "sentAt", &sent, p, idx);
    if (has_ts < 0 || has_orig < 0 || has_sent < 0) bad = -1;
    if (!has_sent && has_batch_sent) {
        sent = batch_sent;
        has_sent = 1;
    }
    if (has_ts > 0)
        out->ts = ts;
    else if (has_orig > 0 && has_sent > 0)
        out->ts = received_at - (sent - orig);
    else if (has_orig > 0)
        out->ts = orig;
    else
        out->ts = received_at;
    /* Batch-level context fills what the item's own context lacks. */
    if (batch_ctx && !bad) {
        if (!out->context) {
            out->context = batch_ctx;
        } else {
            json_t *merged = json_copy(batch_ctx);
            json_object_update(merged, out->context);
            json_object_set_new(m, "context", merged); /* m owns it now */
            out->context = merged;
        }
    }
    return bad;
}

int sy_segment_parse(sy_arena *a, const char *kind, const char *body, size_t len,
                     int64_t received_at, sy_parsed *out, json_t **details, sy_err *e) {
    memset(out, 0, sizeof *out);
    if (details) *details = NULL;
    if (len > SY_EV_MAX_BODY)
        return sy_err_set(e, SY_E_TOO_LARGE, "request body is %zu bytes; the limit is 500 KB", len);
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (!root)
        return sy_err_set(e, SY_E_INVALID, "malformed JSON at line %d, column %d: %s", je.line,
                          je.column, je.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return sy_err_set(e, SY_E_INVALID, "request body must be a JSON object");
    }
    problems p = {json_array()};
    json_t *wk = json_object_get(root, "writeKey");
    if (wk && json_is_string(wk))
        out->write_key = sy_strdup(a, json_string_value(wk)); /* outlives root on errors */
    else if (wk && !json_is_null(wk))
        problem(&p, -1, "writeKey", "must be a string");

    int forced = 0;
    json_t *items;
    json_t *batch_ctx = NULL;
    int64_t batch_sent = 0;
    int has_batch_sent = 0;
    if (strcmp(kind, "batch") == 0) {
        items = json_object_get(root, "batch");
        if (!json_is_array(items)) {
            json_decref(p.list);
            json_decref(root);
            return sy_err_field(e, SY_E_INVALID, "batch",
                                "field \"batch\" is required and must be an array");
        }
        if (json_array_size(items) == 0) {
            json_decref(p.list);
            json_decref(root);
            return sy_err_field(e, SY_E_INVALID, "batch", "field \"batch\" holds no messages");
        }
        if (json_array_size(items) > SY_EV_MAX_BATCH) {
            size_t n = json_array_size(items);
            json_decref(p.list);
            json_decref(root);
            return sy_err_field(e, SY_E_INVALID, "batch",
                                "batch holds %zu messages; the limit is 2500", n);
        }
        json_t *ctx = json_object_get(root, "context");
        if (ctx && json_is_object(ctx))
            batch_ctx = ctx;
        else if (ctx && !json_is_null(ctx))
            problem(&p, -1, "context", "must be an object");
        has_batch_sent = get_time(root, "sentAt", &batch_sent, &p, -1);
        if (has_batch_sent < 0) has_batch_sent = 0;
    } else {
        forced = type_of(kind);
        if (!forced) {
            json_decref(p.list);
            json_decref(root);
            return sy_err_set(e, SY_E_NOT_FOUND, "unknown endpoint /v1/%s", kind);
        }
        items = NULL;
    }
    size_t n = items ? json_array_size(items) : 1;
    out->msgs = sy_alloc(a, (n ? n : 1) * sizeof *out->msgs);
    for (size_t i = 0; i < n; i++) {
        json_t *m = items ? json_array_get(items, i) : root;
        parse_one(a, m, items ? (long)i : -1, forced, batch_ctx, batch_sent, has_batch_sent,
                  received_at, len > SY_EV_MAX_MESSAGE, &out->msgs[i], &p);
    }
    out->n = n;
    out->root = root;
    if (json_array_size(p.list) > 0) {
        json_t *first = json_array_get(p.list, 0);
        json_t *idx = json_object_get(first, "index");
        char where[48] = "";
        if (idx)
            snprintf(where, sizeof where, "message %lld: ", (long long)json_integer_value(idx));
        sy_err_field(e, SY_E_INVALID, json_string_value(json_object_get(first, "field")),
                     "%s%s %s%s", where, json_string_value(json_object_get(first, "field")),
                     json_string_value(json_object_get(first, "reason")),
                     json_array_size(p.list) > 1
                         ? sy_sprintf(a, " (and %zu more problems)", json_array_size(p.list) - 1)
                         : "");
        if (details)
            *details = json_pack("{s:o}", "errors", p.list);
        else
            json_decref(p.list);
        json_decref(root);
        out->root = NULL;
        return SY_E_INVALID;
    }
    json_decref(p.list);
    return 0;
}

int sy_money_to_fen(json_t *v, int64_t *fen) {
    char buf[64];
    if (json_is_integer(v)) {
        json_int_t y = json_integer_value(v);
        if (y > INT64_MAX / 100 || y < -INT64_MAX / 100) return SY_E_INVALID;
        *fen = (int64_t)y * 100;
        return 0;
    }
    if (json_is_real(v)) {
        /* Print with enough digits then parse exactly as a decimal: 19.9 → "19.9". */
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
    } else if (json_is_string(v) && json_string_length(v) < sizeof buf) {
        snprintf(buf, sizeof buf, "%s", json_string_value(v));
    } else {
        return SY_E_INVALID;
    }
    const char *s = buf;
    int neg = 0;
    if (*s == '-') neg = 1, s++;
    if (!*s || *s == '.') return SY_E_INVALID;
    int64_t whole = 0;
    while (*s >= '0' && *s <= '9') {
        if (whole > INT64_MAX / 1000) return SY_E_INVALID;
        whole = whole * 10 + (*s++ - '0');
    }
    int64_t cents = 0;
    if (*s == '.') {
        s++;
        int d = 0;
        while (*s >= '0' && *s <= '9') {
            if (d < 2)
                cents = cents * 10 + (*s - '0');
            else if (*s != '0')
                return SY_E_INVALID; /* more precision than a fen */
            d++, s++;
        }
        if (d == 0) return SY_E_INVALID;
        if (d == 1) cents *= 10;
    }
    if (*s) return SY_E_INVALID;
    *fen = (whole * 100 + cents) * (neg ? -1 : 1);
    return 0;
}
