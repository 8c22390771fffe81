/* segments.c — the segment definition language: parse (shape only), check
 * (against the workspace), compile and evaluate to contact-set operations.
 * See docs/segments.md for the language. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "segments_int.h"

#define DAY_MS 86400000LL

/* --- parse --- */

typedef struct parser {
    sy_arena *a;
    size_t nodes;
    sy_err *e;
} parser;

static int bad(parser *p, const char *path, const char *fmt, const char *arg) {
    return sy_err_field(p->e, SY_E_INVALID, path, fmt, arg ? arg : "");
}

/* Exact key set check: every key of o must be in allowed. */
static int only_keys(parser *p, json_t *o, const char *path, const char *const *allowed) {
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int ok = 0;
        for (const char *const *x = allowed; *x; x++)
            if (strcmp(*x, k) == 0) ok = 1;
        if (!ok)
            return sy_err_field(p->e, SY_E_INVALID, sy_sprintf(p->a, "%s.%s", path, k),
                                "unknown field \"%s\" in this condition", k);
    }
    return 0;
}

static int pos_id(parser *p, json_t *v, const char *path, const char *what, int64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return sy_err_field(p->e, SY_E_INVALID, path, "%s must be a positive integer id", what);
    *out = json_integer_value(v);
    return 0;
}

/* {"gte": n} and / or {"lte": n} with integers in [lo, hi]. */
static int bound(parser *p, json_t *v, const char *path, int64_t lo, int *hg, int64_t *g, int *hl,
                 int64_t *l) {
    static const char *const keys[] = {"gte", "lte", NULL};
    if (!json_is_object(v) || json_object_size(v) == 0)
        return bad(p, path, "must be an object with \"gte\" and/or \"lte\"%s", NULL);
    int rc = only_keys(p, v, path, keys);
    if (rc) return rc;
    json_t *x;
    if ((x = json_object_get(v, "gte"))) {
        if (!json_is_integer(x) || json_integer_value(x) < lo ||
            json_integer_value(x) > 1000000000000LL)
            return sy_err_field(p->e, SY_E_INVALID, sy_sprintf(p->a, "%s.gte", path),
                                "gte must be a whole number from %lld", (long long)lo);
        *hg = 1, *g = json_integer_value(x);
    }
    if ((x = json_object_get(v, "lte"))) {
        if (!json_is_integer(x) || json_integer_value(x) < 0 ||
            json_integer_value(x) > 1000000000000LL)
            return sy_err_field(p->e, SY_E_INVALID, sy_sprintf(p->a, "%s.lte", path),
                                "lte must be a whole number from 0%s", "");
        *hl = 1, *l = json_integer_value(x);
    }
    if (*hg && *hl && *g > *l)
        return bad(p, path, "gte is above lte: no contact can match%s", NULL);
    return 0;
}

static const char *const dim_names[SY_DIM_COUNT] = {"channel", "store", "category", "sku"};

static int parse_event(parser *p, json_t *o, const char *path, seg_node *n) {
    static const char *const keys[] = {
        "event",   "did", "where", "count", "sum_amount_fen", "last_days", "last_calendar_days",
        "between", NULL};
    int rc = only_keys(p, o, path, keys);
    if (rc) return rc;
    json_t *v = json_object_get(o, "event");
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200)
        return bad(p, sy_sprintf(p->a, "%s.event", path), "event must be a non-empty event name%s",
                   NULL);
    n->kind = SN_EVENT;
    n->name = json_string_value(v);
    n->did = 1;
    if ((v = json_object_get(o, "did"))) {
        if (!json_is_boolean(v))
            return bad(p, sy_sprintf(p->a, "%s.did", path), "did must be true or false%s", NULL);
        n->did = json_is_true(v);
    }
    if ((v = json_object_get(o, "where"))) {
        const char *wp = sy_sprintf(p->a, "%s.where", path);
        if (!json_is_object(v) || json_object_size(v) == 0)
            return bad(p, wp, "where must be a non-empty object of dimensions%s", NULL);
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            int d = -1;
            for (int i = 0; i < SY_DIM_COUNT; i++)
                if (strcmp(dim_names[i], k) == 0) d = i;
            const char *kp = sy_sprintf(p->a, "%s.%s", wp, k);
            if (d < 0)
                return bad(p, kp,
                           "\"%s\" is not a filterable dimension (category, store, channel, sku)",
                           k);
            if (json_is_string(x) && json_string_length(x) > 0 && json_string_length(x) <= 200)
                n->where[d] = json_string_value(x);
            else if (json_is_integer(x))
                n->where[d] = sy_sprintf(p->a, "%lld", (long long)json_integer_value(x));
            else
                return bad(p, kp, "dimension \"%s\" must be a non-empty string or an integer", k);
        }
    }
    if ((v = json_object_get(o, "count")) &&
        (rc = bound(p, v, sy_sprintf(p->a, "%s.count", path), 1, &n->has_count_gte, &n->count_gte,
                    &n->has_count_lte, &n->count_lte)))
        return rc;
    if ((v = json_object_get(o, "sum_amount_fen")) &&
        (rc = bound(p, v, sy_sprintf(p->a, "%s.sum_amount_fen", path), 1, &n->has_sum_gte,
                    &n->sum_gte, &n->has_sum_lte, &n->sum_lte)))
        return rc;
    if (!n->did && (json_object_get(o, "count") || json_object_get(o, "sum_amount_fen")))
        return bad(
            p, sy_sprintf(p->a, "%s.did", path),
            "\"did\": false cannot be combined with count or sum_amount_fen (use count.lte)%s",
            NULL);
    int windows = 0;
    if ((v = json_object_get(o, "last_days"))) {
        windows++;
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3650)
            return bad(p, sy_sprintf(p->a, "%s.last_days", path),
                       "last_days must be a whole number of days from 1 to 3650%s", NULL);
        n->window = SW_LAST_DAYS, n->days = json_integer_value(v);
    }
    if ((v = json_object_get(o, "last_calendar_days"))) {
        windows++;
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3650)
            return bad(p, sy_sprintf(p->a, "%s.last_calendar_days", path),
                       "last_calendar_days must be a whole number of days from 1 to 3650%s", NULL);
        n->window = SW_CALENDAR_DAYS, n->days = json_integer_value(v);
    }
    if ((v = json_object_get(o, "between"))) {
        windows++;
        const char *bp = sy_sprintf(p->a, "%s.between", path);
        if (!json_is_array(v) || json_array_size(v) != 2)
            return bad(p, bp, "between must be [\"YYYY-MM-DD\", \"YYYY-MM-DD\"]%s", NULL);
        for (int i = 0; i < 2; i++) {
            json_t *d = json_array_get(v, (size_t)i);
            const char *ip = sy_sprintf(p->a, "%s[%d]", bp, i);
            if (!json_is_string(d)) return bad(p, ip, "must be a date \"YYYY-MM-DD\"%s", NULL);
            if (sy_date_valid(json_string_value(d)))
                return bad(p, ip, "\"%s\" is not a real date (YYYY-MM-DD)", json_string_value(d));
            snprintf(i ? n->to : n->from, 11, "%s", json_string_value(d));
        }
        if (strcmp(n->from, n->to) >= 0)
            return bad(p, bp, "the end date must be after the start date%s", NULL);
        n->window = SW_BETWEEN;
    }
    if (windows > 1)
        return bad(p, path, "use only one of last_days, last_calendar_days and between%s", NULL);
    return 0;
}

static int parse_node(parser *p, json_t *o, const char *path, int depth, seg_node **out) {
    if (depth > SEG_MAX_DEPTH)
        return bad(p, path, "the definition is nested too deeply (at most 16 levels)%s", NULL);
    if (++p->nodes > SEG_MAX_NODES)
        return bad(p, path, "the definition has too many conditions (at most 200)%s", NULL);
    if (!json_is_object(o)) return bad(p, path, "a condition must be a JSON object%s", NULL);
    seg_node *n = sy_alloc(p->a, sizeof *n);
    memset(n, 0, sizeof *n);
    n->path = path;
    *out = n;
    int rc;
    json_t *v;
    if ((v = json_object_get(o, "and")) || (v = json_object_get(o, "or"))) {
        int is_and = json_object_get(o, "and") != NULL;
        const char *key = is_and ? "and" : "or";
        if (json_object_size(o) != 1)
            return bad(p, path, "a group holds only its \"%s\" list", key);
        const char *gp = sy_sprintf(p->a, "%s.%s", path, key);
        if (!json_is_array(v)) return bad(p, gp, "\"%s\" must be an array of conditions", key);
        if (json_array_size(v) == 0) return bad(p, gp, "the \"%s\" group is empty", key);
        n->kind = is_and ? SN_AND : SN_OR;
        n->n_kids = json_array_size(v);
        n->kids = sy_alloc(p->a, n->n_kids * sizeof *n->kids);
        for (size_t i = 0; i < n->n_kids; i++)
            if ((rc = parse_node(p, json_array_get(v, i), sy_sprintf(p->a, "%s[%zu]", gp, i),
                                 depth + 1, &n->kids[i])))
                return rc;
        return 0;
    }
    if ((v = json_object_get(o, "not"))) {
        if (json_object_size(o) != 1)
            return bad(p, path, "a \"not\" holds only its condition%s", NULL);
        n->kind = SN_NOT;
        n->n_kids = 1;
        n->kids = sy_alloc(p->a, sizeof *n->kids);
        return parse_node(p, v, sy_sprintf(p->a, "%s.not", path), depth + 1, &n->kids[0]);
    }
    static const struct {
        const char *key;
        int kind;
        const char *what;
    } refs[] = {{"tag", SN_TAG, "tag"},
                {"owner", SN_OWNER, "owner"},
                {"store", SN_STORE, "store"},
                {"department", SN_DEPT, "department"},
                {"segment", SN_SEGMENT, "segment"}};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        if ((v = json_object_get(o, refs[i].key))) {
            const char *const keys[] = {refs[i].key, NULL};
            if ((rc = only_keys(p, o, path, keys))) return rc;
            n->kind = refs[i].kind;
            return pos_id(p, v, sy_sprintf(p->a, "%s.%s", path, refs[i].key), refs[i].what, &n->id);
        }
    if ((v = json_object_get(o, "stage"))) {
        static const char *const keys[] = {"stage", NULL};
        if ((rc = only_keys(p, o, path, keys))) return rc;
        const char *sp = sy_sprintf(p->a, "%s.stage", path);
        if (!json_is_string(v))
            return bad(p, sp,
                       "stage must be a stage key (added, in_group, retained, active, converted, "
                       "repurchased, silent, churned)%s",
                       NULL);
        n->kind = SN_STAGE;
        n->id = sy_stage_parse(json_string_value(v));
        if (!n->id)
            return bad(p, sp,
                       "\"%s\" is not a life-cycle stage (added, in_group, retained, active, "
                       "converted, repurchased, silent, churned)",
                       json_string_value(v));
        return 0;
    }
    if ((v = json_object_get(o, "attribute"))) {
        static const char *const keys[] = {"attribute", "op", "value", NULL};
        if ((rc = only_keys(p, o, path, keys))) return rc;
        if (!json_is_string(v) || json_string_length(v) == 0)
            return bad(p, sy_sprintf(p->a, "%s.attribute", path),
                       "attribute must be an attribute key%s", NULL);
        json_t *op = json_object_get(o, "op");
        if (!json_is_string(op))
            return bad(
                p, sy_sprintf(p->a, "%s.op", path),
                "op is required (=, !=, <, >, in, contains, is_set, not_set, within_last_days)%s",
                NULL);
        n->kind = SN_ATTR;
        n->name = json_string_value(v);
        n->op = json_string_value(op);
        n->value = json_object_get(o, "value");
        return 0;
    }
    if ((v = json_object_get(o, "identity"))) {
        static const char *const keys[] = {"identity", "op", NULL};
        if ((rc = only_keys(p, o, path, keys))) return rc;
        if (!json_is_string(v) || json_string_length(v) == 0)
            return bad(p, sy_sprintf(p->a, "%s.identity", path),
                       "identity must be an identity type%s", NULL);
        json_t *op = json_object_get(o, "op");
        if (!json_is_string(op) || strcmp(json_string_value(op), "has") != 0)
            return bad(p, sy_sprintf(p->a, "%s.op", path),
                       "an identity condition takes \"op\": \"has\"%s", NULL);
        n->kind = SN_IDENT;
        n->name = json_string_value(v);
        return 0;
    }
    if (json_object_get(o, "event")) return parse_event(p, o, path, n);
    if (json_object_size(o) == 0) return bad(p, path, "empty condition%s", NULL);
    const char *k = json_object_iter_key(json_object_iter(o));
    return sy_err_field(p->e, SY_E_INVALID, sy_sprintf(p->a, "%s.%s", path, k),
                        "unknown condition \"%s\" (expected and, or, not, tag, attribute, "
                        "identity, owner, store, department, event, segment or stage)",
                        k);
}

int sy_seg_parse(sy_arena *a, json_t *def, seg_node **out, sy_err *e) {
    parser p = {a, 0, e};
    if (!def) return sy_err_field(e, SY_E_INVALID, "definition", "definition is required");
    return parse_node(&p, def, "$", 0, out);
}

/* --- check against the workspace --- */

static void json_free_cb(void *p) {
    json_decref((json_t *)p);
}

static int check_node(const seg_env *env, sy_arena *a, seg_node *n, int64_t self, int64_t *stack,
                      int depth, sy_err *e);

/* Follows a segment reference: the referred definition must exist, must
 * not lead back to anything on the stack (a cycle) and must itself check. */
static int check_segment_ref(const seg_env *env, sy_arena *a, seg_node *n, int64_t self,
                             int64_t *stack, int depth, sy_err *e) {
    if (n->id == self)
        return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.segment", n->path),
                            "segment %lld refers to itself", (long long)self);
    for (int i = 0; i < depth; i++)
        if (stack[i] == n->id)
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.segment", n->path),
                                "segment %lld is part of a cycle of segment references",
                                (long long)n->id);
    if (depth >= SEG_MAX_REF_DEPTH)
        return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.segment", n->path),
                            "segment references nest more than %d deep", SEG_MAX_REF_DEPTH);
    json_t *def = NULL;
    sy_err ie = {0};
    int rc = env->segment_def ? env->segment_def(env->ctx, n->id, &def, &ie) : SY_E_NOT_FOUND;
    if (rc == SY_E_NOT_FOUND)
        return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.segment", n->path),
                            "segment %lld does not exist", (long long)n->id);
    if (rc) {
        *e = ie;
        return rc;
    }
    sy_arena_on_destroy(a, json_free_cb, def);
    seg_node *root;
    if ((rc = sy_seg_parse(a, def, &root, &ie)) == 0) {
        stack[depth] = n->id;
        rc = check_node(env, a, root, self, stack, depth + 1, &ie);
    }
    if (rc) {
        /* a cycle deeper down is reported at this node */
        return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.segment", n->path),
                            "segment %lld: %s", (long long)n->id, ie.msg);
    }
    return 0;
}

static int check_node(const seg_env *env, sy_arena *a, seg_node *n, int64_t self, int64_t *stack,
                      int depth, sy_err *e) {
    int rc = 0;
    sy_err ie = {0};
    switch (n->kind) {
    case SN_AND:
    case SN_OR:
    case SN_NOT:
        for (size_t i = 0; i < n->n_kids; i++)
            if ((rc = check_node(env, a, n->kids[i], self, stack, depth, e))) return rc;
        return 0;
    case SN_TAG:
        if (!env->tag_exists || env->tag_exists(env->ctx, n->id, &ie))
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.tag", n->path),
                                "tag %lld does not exist", (long long)n->id);
        return 0;
    case SN_ATTR:
        if ((rc = sy_contacts_attr_cond_check(env->contacts, n->name, n->op, n->value, &ie)))
            return sy_err_field(
                e, rc, sy_sprintf(a, "%s.%s", n->path, ie.field[0] ? ie.field : "attribute"), "%s",
                ie.msg);
        return 0;
    case SN_IDENT:
        if (!sy_contacts_identity_type_known(n->name))
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.identity", n->path),
                                "identity type \"%s\" is unknown", n->name);
        return 0;
    case SN_OWNER:
        if (sy_staff_lookup(env->staff, n->id, NULL, NULL, &ie))
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.owner", n->path),
                                "staff member %lld does not exist or is deactivated",
                                (long long)n->id);
        return 0;
    case SN_STORE:
        if (sy_staff_store_exists(env->staff, n->id, &ie))
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.store", n->path),
                                "store %lld does not exist", (long long)n->id);
        return 0;
    case SN_DEPT:
        if (sy_staff_department_exists(env->staff, n->id, &ie))
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.department", n->path),
                                "department %lld does not exist", (long long)n->id);
        return 0;
    case SN_EVENT: {
        int t;
        if (!env->events || sy_events_type_id(env->events, n->name, &t, &ie))
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.event", n->path),
                                "event \"%s\" is not in the event catalog", n->name);
        return 0;
    }
    case SN_SEGMENT:
        return check_segment_ref(env, a, n, self, stack, depth, e);
    case SN_STAGE:
        return 0; /* the key was checked by the parser */
    }
    return sy_err_set(e, SY_E_INTERNAL, "unknown node kind %d", n->kind);
}

int sy_seg_check(const seg_env *env, sy_arena *a, seg_node *root, int64_t self, sy_err *e) {
    int64_t stack[SEG_MAX_REF_DEPTH + 1];
    return check_node(env, a, root, self, stack, 0, e);
}

/* --- time windows --- */

static int tz_off_ms(const char *tz, int64_t ms) {
    int off = 0;
    if (sy_tz_offset(tz, ms, &off)) off = 8 * 3600;
    return off;
}

/* UTC instant of local midnight of the local day containing local time L. */
static int64_t local_midnight(const char *tz, int64_t local_day_start) {
    int64_t guess = local_day_start - (int64_t)tz_off_ms(tz, local_day_start) * 1000;
    return local_day_start - (int64_t)tz_off_ms(tz, guess) * 1000;
}

static int64_t floor_div(int64_t a, int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

void sy_seg_window(const seg_node *n, const char *tz, int64_t as_of, int64_t *from, int64_t *to) {
    switch (n->window) {
    case SW_LAST_DAYS:
        *from = as_of - n->days * DAY_MS;
        *to = as_of;
        return;
    case SW_CALENDAR_DAYS: {
        /* the D whole days before the day of as_of, in the workspace timezone */
        int64_t local = as_of + (int64_t)tz_off_ms(tz, as_of) * 1000;
        int64_t today = floor_div(local, DAY_MS) * DAY_MS;
        *from = local_midnight(tz, today - n->days * DAY_MS);
        *to = local_midnight(tz, today);
        return;
    }
    case SW_BETWEEN: {
        int64_t f = 0, t = 0;
        sy_time_parse(n->from, &f); /* 00:00 UTC of the date = its local start before shifting */
        sy_time_parse(n->to, &t);
        *from = local_midnight(tz, f);
        *to = local_midnight(tz, t);
        if (*to > as_of) *to = as_of;
        return;
    }
    default:
        *from = INT64_MIN;
        *to = as_of;
    }
}

/* --- evaluation --- */

static int nomem(sy_err *e) {
    return sy_err_set(e, SY_E_NOMEM, "out of memory");
}

/* Evaluation works on "raw" sets: a node's raw set R may hold contacts
 * that are not live (merged away, unpublished imports: tag members, event
 * contacts), and its true answer is R ∩ U, U being the live contacts. And,
 * or and not commute with that intersection, so U is read once per
 * evaluation and applied once at the root. A node may also answer
 * negatively (neg = 1: the answer is U − R): "not", "did": false and
 * upper-bound-only counts. An "and" group then subtracts such children from
 * the intersection of its positive ones instead of materialising U − R,
 * and a double negation costs nothing. */
typedef struct ev_ctx {
    const seg_env *env;
    sy_arena *a;
    int64_t as_of;
    sy_idset *u; /* live contacts, read at first need */
} ev_ctx;

static int get_universe(ev_ctx *c, const sy_idset **out, sy_err *e) {
    if (!c->u) {
        int rc = sy_contacts_select_all(c->env->contacts, &c->u, e);
        if (rc) return rc;
    }
    *out = c->u;
    return 0;
}

/* A copy of U minus r (r destroyed): a negative answer made positive. */
static int materialise(ev_ctx *c, sy_idset *r, sy_idset **out, sy_err *e) {
    const sy_idset *u;
    int rc = get_universe(c, &u, e);
    if (rc) {
        sy_idset_destroy(r);
        return rc;
    }
    sy_idset *m = sy_idset_copy(u);
    if (!m) {
        sy_idset_destroy(r);
        return nomem(e);
    }
    sy_idset_andnot(m, r);
    sy_idset_destroy(r);
    *out = m;
    return 0;
}

static int eval_node(ev_ctx *c, seg_node *n, int depth, sy_idset **out, int *neg, sy_err *e);

static int eval_event(ev_ctx *c, seg_node *n, sy_idset **out, int *neg, sy_err *e) {
    const seg_env *env = c->env;
    int type;
    int rc = sy_events_type_id(env->events, n->name, &type, e);
    if (rc)
        return sy_err_field(e, SY_E_INVALID, n->path, "event \"%s\" is not in the event catalog",
                            n->name);
    uint16_t dims[SY_DIM_COUNT] = {0};
    int impossible = 0;
    for (int d = 0; d < SY_DIM_COUNT; d++)
        if (n->where[d]) {
            sy_events_dim_id(env->events, d, n->where[d], &dims[d]);
            if (!dims[d]) impossible = 1; /* a value never seen: nobody did it with that value */
        }
    char tz[64] = "Asia/Shanghai";
    if (env->timezone) env->timezone(env->ctx, tz, sizeof tz);
    int64_t from, to;
    sy_seg_window(n, tz, c->as_of, &from, &to);
    *neg = 0;
    /* did = at least once; count/sum lower bounds are "at least" sets, an
     * upper bound is the complement of "at least bound + 1" (so an upper
     * bound alone includes contacts who never did it). */
    sy_idset *s;
    int lower = n->has_count_gte || n->has_sum_gte, upper = n->has_count_lte || n->has_sum_lte;
    if (!n->did || (!lower && !upper)) {
        s = impossible ? sy_idset_create()
                       : sy_engine_who_counts(env->engine, type, from, to, dims, 1, INT64_MIN);
        if (!s) return nomem(e);
        *neg = !n->did;
        *out = s;
        return 0;
    }
    if (lower) {
        uint32_t minc = n->has_count_gte
                            ? (uint32_t)(n->count_gte > UINT32_MAX ? UINT32_MAX : n->count_gte)
                            : 1;
        s = impossible ? sy_idset_create()
                       : sy_engine_who_counts(env->engine, type, from, to, dims, minc,
                                              n->has_sum_gte ? n->sum_gte : INT64_MIN);
        if (!s) return nomem(e);
    } else {
        /* upper bounds alone: U minus those above them, answered negatively */
        s = NULL;
        *neg = 1;
    }
    if (upper && !impossible) {
        sy_idset *over_all = NULL;
        if (n->has_count_lte) {
            over_all = n->count_lte >= UINT32_MAX
                           ? sy_idset_create()
                           : sy_engine_who_counts(env->engine, type, from, to, dims,
                                                  (uint32_t)n->count_lte + 1, INT64_MIN);
            if (!over_all) {
                sy_idset_destroy(s);
                return nomem(e);
            }
        }
        if (n->has_sum_lte) {
            sy_idset *over =
                sy_engine_who_counts(env->engine, type, from, to, dims, 1, n->sum_lte + 1);
            if (!over) {
                sy_idset_destroy(s);
                sy_idset_destroy(over_all);
                return nomem(e);
            }
            if (over_all) {
                sy_idset_or(over_all, over);
                sy_idset_destroy(over);
            } else {
                over_all = over;
            }
        }
        if (s) {
            sy_idset_andnot(s, over_all);
            sy_idset_destroy(over_all);
        } else {
            s = over_all; /* negative: U − over */
        }
    }
    if (!s) s = sy_idset_create(); /* negative and impossible: U − ∅ */
    if (!s) return nomem(e);
    *out = s;
    return 0;
}

static int eval_group(ev_ctx *c, seg_node *n, int depth, sy_idset **out, sy_err *e) {
    int rc;
    sy_idset *acc = NULL;
    if (n->kind == SN_OR) {
        for (size_t i = 0; i < n->n_kids; i++) {
            sy_idset *k;
            int kneg;
            if ((rc = eval_node(c, n->kids[i], depth, &k, &kneg, e)) ||
                (kneg && (rc = materialise(c, k, &k, e)))) {
                sy_idset_destroy(acc);
                return rc;
            }
            if (!acc) {
                acc = k;
            } else {
                sy_idset_or(acc, k);
                sy_idset_destroy(k);
            }
        }
        *out = acc;
        return 0;
    }
    /* and: intersect the positive children, then subtract the negative
     * ones (U − R); only when every child is negative does U come in */
    sy_idset **negs = sy_alloc(c->a, n->n_kids * sizeof *negs);
    size_t nn = 0;
    for (size_t i = 0; i < n->n_kids; i++) {
        sy_idset *k;
        int kneg;
        if ((rc = eval_node(c, n->kids[i], depth, &k, &kneg, e))) goto fail;
        if (kneg) {
            negs[nn++] = k;
        } else if (!acc) {
            acc = k;
        } else {
            sy_idset_and(acc, k);
            sy_idset_destroy(k);
        }
    }
    if (!acc) {
        const sy_idset *u;
        if ((rc = get_universe(c, &u, e))) goto fail;
        if (!(acc = sy_idset_copy(u))) {
            rc = nomem(e);
            goto fail;
        }
    }
    for (size_t i = 0; i < nn; i++) {
        sy_idset_andnot(acc, negs[i]);
        sy_idset_destroy(negs[i]);
    }
    *out = acc;
    return 0;
fail:
    for (size_t i = 0; i < nn; i++)
        sy_idset_destroy(negs[i]);
    sy_idset_destroy(acc);
    return rc;
}

static int eval_node(ev_ctx *c, seg_node *n, int depth, sy_idset **out, int *neg, sy_err *e) {
    const seg_env *env = c->env;
    sy_arena *a = c->a;
    int rc;
    *neg = 0;
    switch (n->kind) {
    case SN_AND:
    case SN_OR:
        return eval_group(c, n, depth, out, e);
    case SN_NOT:
        if ((rc = eval_node(c, n->kids[0], depth, out, neg, e))) return rc;
        *neg = !*neg;
        return 0;
    case SN_TAG: {
        sy_err ie = {0};
        sy_idset *s = env->tag_members ? env->tag_members(env->ctx, n->id, &ie) : NULL;
        if (!s)
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.tag", n->path),
                                "tag %lld does not exist", (long long)n->id);
        *out = s;
        return 0;
    }
    case SN_ATTR:
        return sy_contacts_select_attr(env->contacts, n->name, n->op, n->value, c->as_of, out, e);
    case SN_IDENT:
        return sy_contacts_select_identity(env->contacts, n->name, out, e);
    case SN_OWNER:
        return sy_contacts_select_ref(env->contacts, "owner", n->id, out, e);
    case SN_STORE:
        return sy_contacts_select_ref(env->contacts, "store", n->id, out, e);
    case SN_DEPT:
        return sy_contacts_select_ref(env->contacts, "department", n->id, out, e);
    case SN_EVENT:
        return eval_event(c, n, out, neg, e);
    case SN_SEGMENT: {
        if (depth >= SEG_MAX_REF_DEPTH)
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.segment", n->path),
                                "segment references nest more than %d deep", SEG_MAX_REF_DEPTH);
        json_t *def = NULL;
        if (!env->segment_def || env->segment_def(env->ctx, n->id, &def, e))
            return sy_err_field(e, SY_E_INVALID, sy_sprintf(a, "%s.segment", n->path),
                                "segment %lld does not exist", (long long)n->id);
        sy_arena_on_destroy(a, json_free_cb, def);
        seg_node *root;
        if ((rc = sy_seg_parse(a, def, &root, e))) return rc;
        return eval_node(c, root, depth + 1, out, neg, e);
    }
    case SN_STAGE:
        /* the current stage: as_of does not apply (stages are kept for now) */
        if (!env->stage_members)
            return sy_err_field(e, SY_E_UNAVAILABLE, sy_sprintf(a, "%s.stage", n->path),
                                "life-cycle stages are not available here%s", "");
        return env->stage_members(env->ctx, (int)n->id, out, e);
    }
    return sy_err_set(e, SY_E_INTERNAL, "unknown node kind %d", n->kind);
}

int sy_seg_eval(const seg_env *env, sy_arena *a, seg_node *root, int64_t as_of, sy_idset **out,
                sy_err *e) {
    ev_ctx c = {env, a, as_of, NULL};
    sy_idset *r;
    int neg;
    int rc = eval_node(&c, root, 0, &r, &neg, e);
    if (rc == 0) {
        if (neg) {
            rc = materialise(&c, r, &r, e);
        } else {
            const sy_idset *u;
            if ((rc = get_universe(&c, &u, e)))
                sy_idset_destroy(r);
            else
                sy_idset_and(r, u);
        }
        if (rc == 0) *out = r;
    }
    sy_idset_destroy(c.u);
    return rc;
}

/* --- the module's public functions --- */

static sy_idset *env_tag_members(void *ctx, int64_t id, sy_err *e) {
    sy_segments *s = ctx;
    return s->tags ? sy_tags_members(s->tags, id, e) : NULL;
}
static int env_tag_exists(void *ctx, int64_t id, sy_err *e) {
    sy_segments *s = ctx;
    return s->tags ? sy_tags_exists(s->tags, id, e) : SY_E_NOT_FOUND;
}
static void env_timezone(void *ctx, char *out, size_t n) {
    sy_segments *s = ctx;
    sy_staff_timezone(s->staff, out, n);
}
static int env_stage_members(void *ctx, int stage, sy_idset **out, sy_err *e) {
    sy_segments *s = ctx;
    if (!s->lifecycle)
        return sy_err_set(e, SY_E_UNAVAILABLE, "life-cycle stages are not available here");
    return sy_lifecycle_members(s->lifecycle, stage, out, e);
}

void sy_segments_set_lifecycle(sy_segments *s, sy_lifecycle *lc) {
    s->lifecycle = lc;
}

int sy_segments_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_engine *engine,
                       sy_events *events, sy_tags *tags, sy_segments **out, sy_err *e) {
    sy_segments *s = calloc(1, sizeof *s);
    if (!s) return nomem(e);
    s->st = st, s->staff = staff, s->contacts = contacts, s->engine = engine, s->events = events,
    s->tags = tags;
    s->env = (seg_env){s,
                       contacts,
                       engine,
                       events,
                       tags,
                       staff,
                       sy_segments_def_load,
                       env_tag_members,
                       env_tag_exists,
                       env_timezone,
                       env_stage_members};
    *out = s;
    return 0;
}

void sy_segments_destroy(sy_segments *s) {
    if (!s) return;
    sy_segments_live_stop(s);
    free(s);
}

int sy_segments_validate(sy_segments *s, json_t *definition, sy_err *e) {
    sy_arena *a = sy_arena_create();
    if (!a) return nomem(e);
    seg_node *root;
    int rc = sy_seg_parse(a, definition, &root, e);
    if (!rc) rc = sy_seg_check(&s->env, a, root, 0, e);
    sy_arena_destroy(a);
    return rc;
}

int sy_segments_eval(sy_segments *s, json_t *definition, int64_t as_of, sy_idset **out, sy_err *e) {
    sy_arena *a = sy_arena_create();
    if (!a) return nomem(e);
    seg_node *root;
    int rc = sy_seg_parse(a, definition, &root, e);
    if (!rc) rc = sy_seg_check(&s->env, a, root, 0, e);
    if (!rc) rc = sy_seg_eval(&s->env, a, root, as_of, out, e);
    sy_arena_destroy(a);
    return rc;
}
