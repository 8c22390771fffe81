/* test_segments.c — differential test of the segment compiler: random small
 * workspaces (contacts and events sent through the events API, tags faked as
 * idsets) and random definitions, evaluated by the compiler and by plain
 * loops over the same data; the answers must be equal. Also checks the
 * parser's error paths. */
#include "test.h"
#include "segments/segments_int.h"

#define NC 60
#define NEV 600
#define DAY 86400000LL
/* as_of: 2026-11-20T10:30:00Z (18:30 in Shanghai) */
#define AS_OF 1795170600000LL

typedef struct mcontact {
    char uid[16], namebuf[24];
    int64_t id;
    const char *name, *city, *gender, *company;
    char birthday[11];
    int has_phone;
    int tags[3];
} mcontact;

typedef struct mevent {
    int c, type; /* 0 order_paid, 1 view_item, 2 share */
    int64_t ts, fen;
    int cat; /* 0 none, 1..3 */
} mevent;

static const char *const type_names[] = {"order_paid", "view_item", "share"};
static const char *const cities[] = {"上海", "北京", "杭州", NULL};
static const char *const genders[] = {"male", "female", "unknown", NULL};
static const char *const companies[] = {"阿里巴巴", "腾讯科技", NULL};

typedef struct fixture {
    char *dir;
    sy_store *st;
    sy_staff *staff;
    sy_contacts *c;
    sy_engine *eng;
    sy_events *ev;
    mcontact mc[NC];
    mevent me[NEV];
    sy_idset *tags[3];
    json_t *saved; /* segment 1's definition */
    seg_env env;
    uint64_t rng;
} fixture;

static uint32_t rnd(fixture *f, uint32_t n) {
    f->rng = f->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((f->rng >> 33) % n);
}

static sy_idset *fake_tag_members(void *ctx, int64_t id, sy_err *e) {
    fixture *f = ctx;
    if (id < 1 || id > 3) {
        sy_err_set(e, SY_E_NOT_FOUND, "no tag");
        return NULL;
    }
    return sy_idset_copy(f->tags[id - 1]);
}
static int fake_tag_exists(void *ctx, int64_t id, sy_err *e) {
    (void)ctx;
    return id >= 1 && id <= 3 ? 0 : sy_err_set(e, SY_E_NOT_FOUND, "no tag");
}
static int fake_segment_def(void *ctx, int64_t id, json_t **def, sy_err *e) {
    fixture *f = ctx;
    if (id != 1) return sy_err_set(e, SY_E_NOT_FOUND, "no segment");
    *def = json_incref(f->saved);
    return 0;
}
static void fake_tz(void *ctx, char *out, size_t n) {
    (void)ctx;
    snprintf(out, n, "Asia/Shanghai");
}

static void map_id(void *ctx, int64_t id, const char *value) {
    fixture *f = ctx;
    for (int i = 0; i < NC; i++)
        if (strcmp(f->mc[i].uid, value) == 0) f->mc[i].id = id;
}

static void iso(int64_t ms, char *out) {
    sy_time_format(ms, out, 40);
}

static int setup_seed(void **state, uint64_t seed) {
    fixture *f = calloc(1, sizeof *f);
    sy_err e = {0};
    f->rng = seed;
    f->dir = test_tmpdir();
    f->eng = sy_engine_create();
    if (sy_store_open(f->dir, &f->st, &e) || sy_staff_create(f->st, &f->staff, &e) ||
        sy_contacts_create(f->st, f->staff, 0, &f->c, &e) ||
        sy_events_create(f->st, f->staff, f->c, f->eng, &f->ev, &e)) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    /* contacts: identify messages with traits */
    json_t *batch = json_array();
    char ts[40];
    iso(AS_OF - 70 * DAY, ts);
    for (int i = 0; i < NC; i++) {
        mcontact *m = &f->mc[i];
        snprintf(m->uid, sizeof m->uid, "u%d", i);
        snprintf(m->namebuf, sizeof m->namebuf, "客户%d", i);
        m->name = rnd(f, 5) ? m->namebuf : NULL;
        m->city = cities[rnd(f, 4)];
        m->gender = genders[rnd(f, 3)];
        m->company = companies[rnd(f, 3)];
        if (rnd(f, 4))
            snprintf(m->birthday, sizeof m->birthday, "19%02u-%02u-%02u", 70 + rnd(f, 30),
                     1 + rnd(f, 12), 1 + rnd(f, 28));
        m->has_phone = rnd(f, 2);
        json_t *traits = json_object();
        if (m->name) json_object_set_new(traits, "name", json_string(m->name));
        if (m->city) json_object_set_new(traits, "city", json_string(m->city));
        if (m->gender) json_object_set_new(traits, "gender", json_string(m->gender));
        if (m->company) json_object_set_new(traits, "company", json_string(m->company));
        if (m->birthday[0]) json_object_set_new(traits, "birthday", json_string(m->birthday));
        if (m->has_phone) {
            char ph[20];
            snprintf(ph, sizeof ph, "+86138%08d", i);
            json_object_set_new(traits, "phone", json_string(ph));
        }
        char mid[32];
        snprintf(mid, sizeof mid, "id-%d", i);
        json_array_append_new(batch, json_pack("{s:s,s:s,s:s,s:o,s:s}", "type", "identify",
                                               "userId", m->uid, "messageId", mid, "traits", traits,
                                               "timestamp", ts));
    }
    json_t *body = json_pack("{s:o}", "batch", batch);
    char *s = sy_json_dump(body);
    json_t *details = NULL;
    int rc = sy_events_ingest(f->ev, 1, "batch", s, strlen(s), AS_OF, &details, &e);
    free(s);
    json_decref(body);
    if (rc) {
        fprintf(stderr, "identify: %s %s\n", e.msg, details ? sy_json_dump(details) : "");
        return -1;
    }
    sy_contacts_each_identity(f->c, "user_id", map_id, f, &e);
    /* events over the last 60 days, some in the future of as_of */
    batch = json_array();
    for (int i = 0; i < NEV; i++) {
        mevent *x = &f->me[i];
        x->c = (int)rnd(f, NC);
        x->type = (int)rnd(f, 3);
        x->ts = AS_OF - (int64_t)rnd(f, 60 * 24) * 3600000LL + (int64_t)rnd(f, 3600000) +
                (rnd(f, 20) == 0 ? 5 * DAY : 0);
        x->cat = (int)rnd(f, 4);
        json_t *props = json_object();
        if (x->cat)
            json_object_set_new(props, "category",
                                json_string(x->cat == 1   ? "生鲜"
                                            : x->cat == 2 ? "母婴"
                                                          : "美妆"));
        if (x->type == 0) {
            x->fen = 100 + rnd(f, 20000);
            json_object_set_new(props, "amount", json_real((double)x->fen / 100.0));
        }
        char mid[32];
        snprintf(mid, sizeof mid, "ev-%d", i);
        iso(x->ts, ts);
        json_array_append_new(batch,
                              json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "type", "track", "userId",
                                        f->mc[x->c].uid, "messageId", mid, "event",
                                        type_names[x->type], "properties", props, "timestamp", ts));
    }
    body = json_pack("{s:o}", "batch", batch);
    s = sy_json_dump(body);
    rc = sy_events_ingest(f->ev, 1, "batch", s, strlen(s), AS_OF + 10 * DAY, &details, &e);
    free(s);
    json_decref(body);
    if (rc) {
        fprintf(stderr, "track: %s\n", e.msg);
        return -1;
    }
    for (int t = 0; t < 3; t++) {
        f->tags[t] = sy_idset_create();
        for (int i = 0; i < NC; i++)
            if ((f->mc[i].tags[t] = rnd(f, 3) == 0))
                sy_idset_add(f->tags[t], (uint32_t)f->mc[i].id);
        /* a member that is not a live contact (like a merged-away one):
         * evaluation must never answer it */
        sy_idset_add(f->tags[t], 900000 + (uint32_t)t);
    }
    f->saved = json_pack("{s:[{s:s,s:s,s:s},{s:i}]}", "or", "attribute", "city", "op", "=", "value",
                         "上海", "tag", 2);
    f->env = (seg_env){f,
                       f->c,
                       f->eng,
                       f->ev,
                       NULL,
                       f->staff,
                       fake_segment_def,
                       fake_tag_members,
                       fake_tag_exists,
                       fake_tz};
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    for (int t = 0; t < 3; t++)
        sy_idset_destroy(f->tags[t]);
    json_decref(f->saved);
    sy_events_destroy(f->ev);
    sy_contacts_destroy(f->c);
    sy_staff_destroy(f->staff);
    sy_store_close(f->st);
    sy_engine_destroy(f->eng);
    test_rmdir(f->dir);
    free(f);
    return 0;
}

/* --- the plain-loop model --- */

static int64_t date_ms_sh(const char *d) {
    int64_t ms = 0;
    sy_time_parse(d, &ms);
    return ms - 8 * 3600000LL;
}

static int model(fixture *f, json_t *n, int ci);

static int model_event(fixture *f, json_t *n, int ci) {
    const char *name = json_string_value(json_object_get(n, "event"));
    int type = -1;
    for (int t = 0; t < 3; t++)
        if (strcmp(type_names[t], name) == 0) type = t;
    int64_t from = INT64_MIN, to = AS_OF;
    json_t *v;
    if ((v = json_object_get(n, "last_days"))) from = AS_OF - json_integer_value(v) * DAY;
    if ((v = json_object_get(n, "last_calendar_days"))) {
        int64_t local = AS_OF + 8 * 3600000LL;
        int64_t today = local / DAY * DAY;
        from = today - json_integer_value(v) * DAY - 8 * 3600000LL;
        to = today - 8 * 3600000LL;
    }
    if ((v = json_object_get(n, "between"))) {
        from = date_ms_sh(json_string_value(json_array_get(v, 0)));
        to = date_ms_sh(json_string_value(json_array_get(v, 1)));
        if (to > AS_OF) to = AS_OF;
    }
    const char *cat = (v = json_object_get(n, "where"))
                          ? json_string_value(json_object_get(v, "category"))
                          : NULL;
    int64_t count = 0, sum = 0;
    for (int i = 0; i < NEV; i++) {
        mevent *x = &f->me[i];
        if (x->c != ci || x->type != type || x->ts < from || x->ts >= to) continue;
        if (cat) {
            const char *xc = x->cat == 1   ? "生鲜"
                             : x->cat == 2 ? "母婴"
                             : x->cat == 3 ? "美妆"
                                           : "";
            if (strcmp(xc, cat) != 0) continue;
        }
        count++;
        sum += x->fen;
    }
    json_t *did = json_object_get(n, "did");
    if (did && json_is_false(did)) return count == 0;
    json_t *cnt = json_object_get(n, "count"), *sm = json_object_get(n, "sum_amount_fen");
    if (!cnt && !sm) return count > 0;
    if (cnt && (v = json_object_get(cnt, "gte")) && count < json_integer_value(v)) return 0;
    if (cnt && (v = json_object_get(cnt, "lte")) && count > json_integer_value(v)) return 0;
    if (sm && (v = json_object_get(sm, "gte")) && sum < json_integer_value(v)) return 0;
    if (sm && (v = json_object_get(sm, "lte")) && sum > json_integer_value(v)) return 0;
    return 1;
}

static const char *attr_of(const mcontact *m, const char *k) {
    if (strcmp(k, "city") == 0) return m->city;
    if (strcmp(k, "gender") == 0) return m->gender;
    if (strcmp(k, "company") == 0) return m->company;
    if (strcmp(k, "name") == 0) return m->name;
    if (strcmp(k, "birthday") == 0) return m->birthday[0] ? m->birthday : NULL;
    return NULL;
}

static int model_attr(fixture *f, json_t *n, int ci) {
    const char *v = attr_of(&f->mc[ci], json_string_value(json_object_get(n, "attribute")));
    const char *op = json_string_value(json_object_get(n, "op"));
    json_t *val = json_object_get(n, "value");
    int set = v && *v;
    if (strcmp(op, "is_set") == 0) return set;
    if (strcmp(op, "not_set") == 0) return !set;
    if (!v) return 0;
    if (strcmp(op, "=") == 0) return strcmp(v, json_string_value(val)) == 0;
    if (strcmp(op, "!=") == 0) return strcmp(v, json_string_value(val)) != 0;
    if (strcmp(op, "<") == 0) return strcmp(v, json_string_value(val)) < 0;
    if (strcmp(op, ">") == 0) return strcmp(v, json_string_value(val)) > 0;
    if (strcmp(op, "contains") == 0) return strstr(v, json_string_value(val)) != NULL;
    if (strcmp(op, "in") == 0) {
        size_t i;
        json_t *x;
        json_array_foreach(val, i, x) if (strcmp(v, json_string_value(x)) == 0) return 1;
        return 0;
    }
    fail_msg("model: op %s", op);
    return 0;
}

static int model(fixture *f, json_t *n, int ci) {
    json_t *v;
    size_t i;
    if ((v = json_object_get(n, "and"))) {
        json_array_foreach(v, i, n) if (!model(f, n, ci)) return 0;
        return 1;
    }
    if ((v = json_object_get(n, "or"))) {
        json_array_foreach(v, i, n) if (model(f, n, ci)) return 1;
        return 0;
    }
    if ((v = json_object_get(n, "not"))) return !model(f, v, ci);
    if ((v = json_object_get(n, "tag"))) return f->mc[ci].tags[json_integer_value(v) - 1];
    if ((v = json_object_get(n, "segment"))) return model(f, f->saved, ci);
    if (json_object_get(n, "identity")) return f->mc[ci].has_phone;
    if (json_object_get(n, "attribute")) return model_attr(f, n, ci);
    if (json_object_get(n, "event")) return model_event(f, n, ci);
    fail_msg("model: unknown node");
    return 0;
}

/* --- random definitions --- */

static json_t *rand_cond(fixture *f) {
    switch (rnd(f, 7)) {
    case 0:
        return json_pack("{s:i}", "tag", 1 + rnd(f, 3));
    case 1: {
        static const char *const ops[] = {"=", "!=", "in", "contains", "is_set", "not_set"};
        const char *op = ops[rnd(f, 6)];
        const char *key = rnd(f, 2) ? "city" : "company";
        json_t *o = json_pack("{s:s,s:s}", "attribute", key, "op", op);
        const char *val = strcmp(key, "city") == 0 ? (rnd(f, 2) ? "上海" : "杭州")
                                                   : (rnd(f, 2) ? "腾讯科技" : "腾讯");
        if (strcmp(op, "in") == 0)
            json_object_set_new(o, "value", json_pack("[s,s]", val, "北京"));
        else if (strcmp(op, "contains") == 0)
            json_object_set_new(o, "value", json_string(rnd(f, 2) ? "海" : "腾讯"));
        else if (strcmp(op, "is_set") && strcmp(op, "not_set"))
            json_object_set_new(o, "value", json_string(val));
        return o;
    }
    case 2: {
        static const char *const ops[] = {"<", ">", "=", "!=", "is_set"};
        const char *op = ops[rnd(f, 5)];
        if (rnd(f, 2))
            return json_pack("{s:s,s:s,s:s}", "attribute", "gender", "op",
                             rnd(f, 2) ? "=" : "!=", "value", genders[rnd(f, 3)]);
        if (strcmp(op, "is_set") == 0)
            return json_pack("{s:s,s:s}", "attribute", "birthday", "op", op);
        return json_pack("{s:s,s:s,s:s}", "attribute", "birthday", "op", op, "value", "1985-06-15");
    }
    case 3:
        return json_pack("{s:s,s:s}", "identity", "phone", "op", "has");
    case 4:
        return json_pack("{s:i}", "segment", 1);
    default: {
        json_t *o = json_pack("{s:s}", "event", type_names[rnd(f, 3)]);
        switch (rnd(f, 4)) {
        case 0:
            json_object_set_new(o, "last_days", json_integer(1 + rnd(f, 40)));
            break;
        case 1:
            json_object_set_new(o, "last_calendar_days", json_integer(1 + rnd(f, 20)));
            break;
        case 2:
            json_object_set_new(
                o, "between",
                json_pack("[s,s]", "2026-10-01", rnd(f, 2) ? "2026-11-01" : "2026-12-31"));
            break;
        default:
            break;
        }
        if (rnd(f, 3) == 0)
            json_object_set_new(o, "where",
                                json_pack("{s:s}", "category", rnd(f, 4) ? "生鲜" : "不存在"));
        switch (rnd(f, 6)) {
        case 0:
            json_object_set_new(o, "did", json_false());
            break;
        case 1:
            json_object_set_new(o, "count", json_pack("{s:i}", "gte", 1 + rnd(f, 4)));
            break;
        case 2:
            json_object_set_new(o, "count", json_pack("{s:i}", "lte", rnd(f, 3)));
            break;
        case 3:
            json_object_set_new(o, "count",
                                json_pack("{s:i,s:i}", "gte", 1 + rnd(f, 2), "lte", 2 + rnd(f, 3)));
            break;
        case 4:
            json_object_set_new(o, "sum_amount_fen",
                                json_pack("{s:i}", rnd(f, 2) ? "gte" : "lte", 1 + rnd(f, 30000)));
            break;
        default:
            break;
        }
        return o;
    }
    }
}

static json_t *rand_node(fixture *f, int depth) {
    uint32_t k = depth >= 3 ? 3 : rnd(f, 6);
    if (k == 0 || k == 1) {
        json_t *arr = json_array();
        uint32_t n = 1 + rnd(f, 3);
        for (uint32_t i = 0; i < n; i++)
            json_array_append_new(arr, rand_node(f, depth + 1));
        return json_pack("{s:o}", k == 0 ? "and" : "or", arr);
    }
    if (k == 2) return json_pack("{s:o}", "not", rand_node(f, depth + 1));
    return rand_cond(f);
}

/* Returns 1 when the answer was neither empty nor everyone (a telling case). */
static int check_def(fixture *f, json_t *def) {
    sy_arena *a = sy_arena_create();
    seg_node *root;
    sy_err e = {0};
    sy_idset *got = NULL;
    char *txt = sy_json_dump(def);
    int rc = sy_seg_parse(a, def, &root, &e);
    if (!rc) rc = sy_seg_check(&f->env, a, root, 0, &e);
    if (!rc) rc = sy_seg_eval(&f->env, a, root, AS_OF, &got, &e);
    if (rc) fail_msg("%s: %s (%s)", txt, e.msg, e.field);
    uint64_t want_n = 0;
    for (int i = 0; i < NC; i++) {
        int want = model(f, def, i);
        int have = sy_idset_contains(got, (uint32_t)f->mc[i].id);
        want_n += want;
        if (want != have)
            fail_msg("%s: contact %d (%lld) model %d compiler %d", txt, i, (long long)f->mc[i].id,
                     want, have);
    }
    uint64_t n = sy_idset_count(got);
    /* nothing but live contacts: the fake tags also hold ids of no contact */
    if (n != want_n)
        fail_msg("%s: %llu members, model %llu", txt, (unsigned long long)n,
                 (unsigned long long)want_n);
    free(txt);
    sy_idset_destroy(got);
    sy_arena_destroy(a);
    return n > 0 && n < NC;
}

static void test_differential(void **state) {
    fixture *f = *state;
    for (int i = 0; i < NC; i++)
        assert_true(f->mc[i].id > 0);
    /* every condition kind alone, then random trees */
    int telling = 0;
    for (int i = 0; i < 300; i++) {
        json_t *d = rand_cond(f);
        telling += check_def(f, d);
        json_decref(d);
    }
    assert_true(telling > 150);
    telling = 0;
    for (int i = 0; i < 400; i++) {
        json_t *d = rand_node(f, 0);
        telling += check_def(f, d);
        json_decref(d);
    }
    assert_true(telling > 150);
}

static void test_errors(void **state) {
    fixture *f = *state;
    static const struct {
        const char *def, *field;
    } cases[] = {
        {"{\"and\":[]}", "$.and"},
        {"{\"or\":[{\"tag\":1},{\"not\":{\"and\":[]}}]}", "$.or[1].not.and"},
        {"{\"and\":[{\"tag\":1},{\"event\":\"nope\"}]}", "$.and[1].event"},
        {"{\"tag\":9}", "$.tag"},
        {"{\"segment\":7}", "$.segment"},
        {"{\"attribute\":\"city\",\"op\":\"<\",\"value\":\"x\"}", "$.op"},
        {"{\"attribute\":\"birthday\",\"op\":\"=\",\"value\":\"2026-02-30\"}", "$.value"},
        {"{\"event\":\"share\",\"between\":[\"2026-02-29\",\"2026-03-01\"]}", "$.between[0]"},
        {"{\"event\":\"share\",\"where\":{\"colour\":\"red\"}}", "$.where.colour"},
        {"{\"event\":\"share\",\"count\":{\"gte\":3,\"lte\":2}}", "$.count"},
        {"{\"x\":1}", "$.x"},
        {"{}", "$"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *d = json_loads(cases[i].def, 0, NULL);
        assert_non_null(d);
        sy_arena *a = sy_arena_create();
        seg_node *root;
        sy_err e = {0};
        int rc = sy_seg_parse(a, d, &root, &e);
        if (!rc) rc = sy_seg_check(&f->env, a, root, 0, &e);
        if (rc != SY_E_INVALID) fail_msg("%s: rc %d", cases[i].def, rc);
        if (strcmp(e.field, cases[i].field) != 0)
            fail_msg("%s: field %s, want %s (%s)", cases[i].def, e.field, cases[i].field, e.msg);
        assert_true(e.msg[0] != 0);
        sy_arena_destroy(a);
        json_decref(d);
    }
    /* a cycle through segment 1 when saving segment 1 */
    json_decref(f->saved);
    f->saved = json_pack("{s:[{s:i},{s:i}]}", "or", "tag", 1, "segment", 1);
    json_t *d = json_pack("{s:i}", "segment", 1);
    sy_arena *a = sy_arena_create();
    seg_node *root;
    sy_err e = {0};
    assert_int_equal(sy_seg_parse(a, d, &root, &e), 0);
    assert_int_equal(sy_seg_check(&f->env, a, root, 2, &e), SY_E_INVALID);
    assert_string_equal(e.field, "$.segment");
    sy_arena_destroy(a);
    json_decref(d);
}

static int setup1(void **state) {
    return setup_seed(state, 1);
}
static int setup2(void **state) {
    return setup_seed(state, 77);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_differential, setup1, teardown),
        cmocka_unit_test_setup_teardown(test_differential, setup2, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup1, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
