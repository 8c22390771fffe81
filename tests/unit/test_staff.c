/* Unit tests for staff/: password hashing, permission names, scopes, the
 * login rate limiter, the CSRF comparison, and — on a real store in a
 * temporary data dir — actor resolution for every kind of credential. */
#include "test.h"
#include "staff/staff_int.h"

/* ---- pure functions ---- */

static void test_password_hash_verify(void **state) {
    (void)state;
    sy_err e = {0};
    char h[crypto_pwhash_STRBYTES];
    assert_ok(sy_staff_password_hash("correct horse battery", 0, h, &e), &e);
    assert_true(strncmp(h, "$argon2id$", 10) == 0);
    assert_true(sy_staff_password_verify(h, "correct horse battery"));
    assert_false(sy_staff_password_verify(h, "correct horse batterY"));
    assert_false(sy_staff_password_verify(h, ""));
    assert_false(sy_staff_password_verify(NULL, "x"));
    /* the same password hashes differently (random salt) */
    char h2[crypto_pwhash_STRBYTES];
    assert_ok(sy_staff_password_hash("correct horse battery", 1, h2, &e), &e);
    assert_string_not_equal(h, h2);
    assert_true(sy_staff_password_verify(h2, "correct horse battery"));

    assert_int_equal(sy_staff_password_policy("short", &e), SY_E_INVALID);
    assert_string_equal(e.field, "password");
    assert_non_null(strstr(e.msg, "at least 8"));
    assert_int_equal(sy_staff_password_policy("12345678", &e), 0);
}

static void test_perm_names(void **state) {
    (void)state;
    uint64_t seen = 0;
    size_t n = 0;
    for (const sy_perm_name *p = sy_perm_names; p->name; p++, n++) {
        uint64_t bit = 0;
        assert_int_equal(sy_perm_bit(p->name, &bit), 0);
        assert_int_equal(bit, p->bit);
        assert_int_equal(seen & bit, 0); /* bits are unique */
        seen |= bit;
    }
    assert_int_equal(n, 11);
    assert_int_equal(seen, SY_PERM_ALL);
    uint64_t bit;
    assert_int_equal(sy_perm_bit("contacts.fly", &bit), SY_E_NOT_FOUND);

    sy_err e = {0};
    json_t *arr = json_pack("[s,s]", "contacts.read", "audit.read");
    uint64_t bits = 0;
    assert_ok(sy_perm_from_json(arr, &bits, &e), &e);
    assert_int_equal(bits, SY_PERM_CONTACTS_READ | SY_PERM_AUDIT_READ);
    json_t *back = sy_perm_to_json(bits);
    assert_true(json_equal(arr, back));
    json_decref(arr);
    json_decref(back);

    arr = json_pack("[s,s]", "contacts.read", "contacts.fly");
    assert_int_equal(sy_perm_from_json(arr, &bits, &e), SY_E_INVALID);
    assert_string_equal(e.field, "perms[1]");
    assert_non_null(strstr(e.msg, "\"contacts.fly\""));
    json_decref(arr);
    arr = json_pack("[i]", 3);
    assert_int_equal(sy_perm_from_json(arr, &bits, &e), SY_E_INVALID);
    assert_string_equal(e.field, "perms[0]");
    json_decref(arr);
    arr = json_string("contacts.read");
    assert_int_equal(sy_perm_from_json(arr, &bits, &e), SY_E_INVALID);
    assert_string_equal(e.field, "perms");
    json_decref(arr);

    json_t *all = sy_perm_to_json(SY_PERM_ALL);
    assert_int_equal(json_array_size(all), 11);
    json_decref(all);
}

static void test_scopes(void **state) {
    (void)state;
    const char *names[] = {"own", "department", "store", "all"};
    for (int i = 0; i < 4; i++) {
        int s = -1;
        assert_int_equal(sy_scope_parse(names[i], &s), 0);
        assert_int_equal(s, i);
        assert_string_equal(sy_scope_name(i), names[i]);
    }
    int s;
    assert_int_equal(sy_scope_parse("everyone", &s), SY_E_INVALID);
    assert_int_equal(sy_scope_parse(NULL, &s), SY_E_INVALID);
}

static void test_rate_limiter(void **state) {
    (void)state;
    sy_ratelimit *rl = calloc(1, sizeof *rl);
    sy_ratelimit_init(rl, 5, 300000);
    const char *k = "alice|127.0.0.1";
    int64_t t = 1000000;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sy_ratelimit_check(rl, k, t), 0);
        sy_ratelimit_fail(rl, k, t + i * 1000);
    }
    assert_int_equal(sy_ratelimit_check(rl, k, t + 5000), 0); /* 4 failures: still allowed */
    sy_ratelimit_fail(rl, k, t + 5000);
    int64_t wait = sy_ratelimit_check(rl, k, t + 6000);
    assert_true(wait > 0);
    assert_int_equal(wait, t + 300000 - (t + 6000)); /* until the first failure ages out */
    /* other keys (same user elsewhere, other user) are unaffected */
    assert_int_equal(sy_ratelimit_check(rl, "alice|10.0.0.9", t + 6000), 0);
    assert_int_equal(sy_ratelimit_check(rl, "bob|127.0.0.1", t + 6000), 0);
    /* the window slides: once the first failure is older than 5 min, one more try */
    assert_int_equal(sy_ratelimit_check(rl, k, t + 300001), 0);
    sy_ratelimit_fail(rl, k, t + 300001);
    assert_true(sy_ratelimit_check(rl, k, t + 300002) > 0);
    /* a success forgets the key */
    sy_ratelimit_reset(rl, k);
    assert_int_equal(sy_ratelimit_check(rl, k, t + 300003), 0);

    /* a flood of keys stays within the table and evicts the oldest */
    char key[64];
    for (int i = 0; i < SY_RL_SLOTS * 2; i++) {
        snprintf(key, sizeof key, "user%d|1.2.3.4", i);
        for (int f = 0; f < 5; f++)
            sy_ratelimit_fail(rl, key, t + i);
    }
    snprintf(key, sizeof key, "user%d|1.2.3.4", SY_RL_SLOTS * 2 - 1);
    assert_true(sy_ratelimit_check(rl, key, t + SY_RL_SLOTS * 2) > 0);
    assert_int_equal(sy_ratelimit_check(rl, "user0|1.2.3.4", t + SY_RL_SLOTS * 2), 0);
    sy_ratelimit_release(rl);
    free(rl);
}

static void test_csrf(void **state) {
    (void)state;
    assert_true(sy_staff_csrf_ok("abcdef0123", "abcdef0123"));
    assert_false(sy_staff_csrf_ok("abcdef0123", "abcdef0124"));
    assert_false(sy_staff_csrf_ok("abcdef0123", "abcdef012"));
    assert_false(sy_staff_csrf_ok("abcdef0123", ""));
    assert_false(sy_staff_csrf_ok("abcdef0123", NULL));
    assert_false(sy_staff_csrf_ok("", ""));
    assert_true(sy_staff_method_is_safe("GET"));
    assert_false(sy_staff_method_is_safe("POST"));
    assert_false(sy_staff_method_is_safe("DELETE"));
}

/* ---- on a real store ---- */

typedef struct fixture {
    char *dir;
    sy_store *st;
    sy_staff *staff;
    sy_staff_demo demo;
    sy_arena *a;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    sy_err e = {0};
    f->dir = test_tmpdir();
    assert_ok(sy_store_open(f->dir, &f->st, &e), &e);
    assert_ok(sy_staff_create(f->st, &f->staff, &e), &e);
    assert_ok(sy_staff_demo_seed(f->staff, 7, &f->demo, &e), &e);
    f->a = sy_arena_create();
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    sy_arena_destroy(f->a);
    sy_staff_destroy(f->staff);
    sy_store_close(f->st);
    test_rmdir(f->dir);
    free(f);
    return 0;
}

static const sy_staff_demo_member *member(fixture *f, const char *role) {
    for (size_t i = 0; i < f->demo.n_staff; i++)
        if (strcmp(f->demo.staff[i].role, role) == 0) return &f->demo.staff[i];
    fail_msg("no demo %s", role);
    return NULL;
}

typedef struct session_job {
    int64_t staff_id, idle;
    char token[65], csrf[33];
} session_job;

static int session_run(sy_db *db, void *arg, sy_err *e) {
    session_job *j = arg;
    return sy_staff_session_insert(db, j->staff_id, sy_now_ms(), j->idle, "127.0.0.1", j->token,
                                   j->csrf, e);
}

static int auth(fixture *f, const char *method, const char *cookie, const char *authz,
                const char *csrf, int required, sy_auth *out, sy_err *e) {
    sy_auth_input in = {method, cookie, authz, csrf, "127.0.0.1"};
    return sy_staff_auth(f->staff, f->a, &in, required, out, e);
}

static void test_demo_shape(void **state) {
    fixture *f = *state;
    assert_int_equal(f->demo.n_staff, 20);
    assert_int_equal(f->demo.n_stores, 6);
    assert_int_equal(f->demo.n_departments, 3);
    assert_string_equal(f->demo.admin_username, "admin");
    assert_true(strlen(f->demo.admin_password) >= 12);
    assert_true(sy_startswith(f->demo.api_token, SY_TOKEN_PREFIX));
    assert_true(sy_startswith(f->demo.write_key, SY_WRITE_KEY_PREFIX));
    int roles[5] = {0};
    const char *keys[5] = {"operations", "sales", "store_manager", "group_owner", "admin"};
    for (size_t i = 0; i < 20; i++) {
        const sy_staff_demo_member *m = &f->demo.staff[i];
        assert_true(m->id > 0);
        char pw[64];
        snprintf(pw, sizeof pw, "demo-%s", m->username);
        assert_string_equal(m->password, pw);
        for (int k = 0; k < 5; k++)
            if (strcmp(m->role, keys[k]) == 0) roles[k]++;
    }
    assert_true(roles[0] > 0 && roles[1] > 0 && roles[2] > 0 && roles[3] > 0);

    /* same seed → same people in another workspace */
    char *dir = test_tmpdir();
    sy_store *st;
    sy_staff *s2;
    sy_staff_demo d2;
    sy_err e = {0};
    assert_ok(sy_store_open(dir, &st, &e), &e);
    assert_ok(sy_staff_create(st, &s2, &e), &e);
    assert_ok(sy_staff_demo_seed(s2, 7, &d2, &e), &e);
    for (size_t i = 0; i < 20; i++) {
        assert_string_equal(d2.staff[i].username, f->demo.staff[i].username);
        assert_string_equal(d2.staff[i].name, f->demo.staff[i].name);
    }
    /* seeding twice is refused and changes nothing */
    assert_int_equal(sy_staff_demo_seed(s2, 7, &d2, &e), SY_E_CONFLICT);
    int64_t n = 0;
    assert_ok(sy_staff_count(s2, &n, &e), &e);
    assert_int_equal(n, 21);
    sy_staff_destroy(s2);
    sy_store_close(st);
    test_rmdir(dir);
}

static void test_lookups(void **state) {
    fixture *f = *state;
    sy_err e = {0};
    const sy_staff_demo_member *sm = member(f, "store_manager");
    int64_t id = 0, dept = 0, store = 0;
    assert_ok(sy_staff_find_by_name(f->staff, sm->name, &id, &e), &e);
    assert_int_equal(id, sm->id);
    assert_ok(sy_staff_find_by_name(f->staff, sm->username, &id, &e), &e);
    assert_int_equal(id, sm->id);
    assert_int_equal(sy_staff_find_by_name(f->staff, "无此人", &id, &e), SY_E_NOT_FOUND);
    assert_ok(sy_staff_lookup(f->staff, sm->id, &dept, &store, &e), &e);
    assert_int_equal(dept, sm->department_id);
    assert_int_equal(store, sm->store_id);
    assert_int_equal(sy_staff_lookup(f->staff, 99999, NULL, NULL, &e), SY_E_NOT_FOUND);
    assert_ok(sy_staff_store_exists(f->staff, f->demo.store_ids[0], &e), &e);
    assert_int_equal(sy_staff_store_exists(f->staff, 99999, &e), SY_E_NOT_FOUND);
    assert_ok(sy_staff_find_store(f->staff, "上海静安店", &id, &e), &e);
    assert_int_equal(id, f->demo.store_ids[1]);
    assert_ok(sy_staff_find_store(f->staff, "GZ001", &id, &e), &e);
    assert_int_equal(id, f->demo.store_ids[3]);
    assert_int_equal(sy_staff_find_store(f->staff, "北京店", &id, &e), SY_E_NOT_FOUND);
    char tz[64];
    sy_staff_timezone(f->staff, tz, sizeof tz);
    assert_string_equal(tz, "Asia/Shanghai");
}

static void test_session_and_csrf(void **state) {
    fixture *f = *state;
    sy_err e = {0};
    const sy_staff_demo_member *sales = member(f, "sales");
    session_job j = {sales->id, SY_SESSION_IDLE_MS, "", ""};
    assert_ok(sy_store_write(f->st, session_run, &j, &e), &e);
    sy_auth out;
    assert_ok(auth(f, "GET", j.token, NULL, NULL, SY_AUTH_STAFF, &out, &e), &e);
    assert_int_equal(out.kind, SY_AUTH_STAFF);
    const sy_actor *a = out.actor;
    assert_int_equal(a->staff_id, sales->id);
    assert_int_equal(a->scope, SY_SCOPE_OWN);
    assert_int_equal(a->perms, SY_PERM_CONTACTS_READ | SY_PERM_CONTACTS_WRITE);
    assert_int_equal(out.perms, a->perms);
    assert_string_equal(a->via, "session");
    assert_string_equal(a->username, sales->username);
    assert_int_equal(a->store_id, sales->store_id);

    /* writes need the session's CSRF token */
    assert_int_equal(auth(f, "POST", j.token, NULL, NULL, SY_AUTH_STAFF, &out, &e), SY_E_CSRF);
    assert_int_equal(out.kind, SY_AUTH_NONE);
    assert_int_equal(auth(f, "PATCH", j.token, NULL, "nope", SY_AUTH_STAFF, &out, &e), SY_E_CSRF);
    assert_ok(auth(f, "DELETE", j.token, NULL, j.csrf, SY_AUTH_STAFF, &out, &e), &e);

    /* unknown and expired sessions */
    assert_int_equal(auth(f, "GET", "garbage", NULL, NULL, SY_AUTH_STAFF, &out, &e),
                     SY_E_UNAUTHENTICATED);
    assert_non_null(strstr(e.msg, "expired"));
    session_job old = {sales->id, -1, "", ""};
    assert_ok(sy_store_write(f->st, session_run, &old, &e), &e);
    assert_int_equal(auth(f, "GET", old.token, NULL, NULL, SY_AUTH_STAFF, &out, &e),
                     SY_E_UNAUTHENTICATED);
    assert_non_null(strstr(e.msg, "expired"));
    /* on a public route bad credentials just mean anonymous */
    assert_ok(auth(f, "POST", "garbage", NULL, NULL, SY_AUTH_NONE, &out, &e), &e);
    assert_int_equal(out.kind, SY_AUTH_NONE);
    /* nothing at all on a staff route */
    assert_int_equal(auth(f, "GET", NULL, NULL, NULL, SY_AUTH_STAFF, &out, &e),
                     SY_E_UNAUTHENTICATED);
}

static void test_tokens_and_write_keys(void **state) {
    fixture *f = *state;
    sy_err e = {0};
    sy_auth out;
    char h[256];
    snprintf(h, sizeof h, "Bearer %s", f->demo.api_token);
    /* an API token carries its owner's rights and needs no CSRF */
    assert_ok(auth(f, "POST", NULL, h, NULL, SY_AUTH_STAFF, &out, &e), &e);
    const sy_actor *a = out.actor;
    assert_int_equal(out.kind, SY_AUTH_STAFF);
    assert_int_equal(a->perms, SY_PERM_ALL);
    assert_int_equal(a->scope, SY_SCOPE_ALL);
    assert_string_equal(a->via, "token");
    assert_int_equal(auth(f, "GET", NULL, "Bearer syt_0000", NULL, SY_AUTH_STAFF, &out, &e),
                     SY_E_UNAUTHENTICATED);
    assert_int_equal(auth(f, "GET", NULL, "Token abc", NULL, SY_AUTH_STAFF, &out, &e),
                     SY_E_UNAUTHENTICATED);

    /* a write key never passes a staff route, but does pass a write-key route */
    snprintf(h, sizeof h, "Bearer %s", f->demo.write_key);
    assert_int_equal(auth(f, "GET", NULL, h, NULL, SY_AUTH_STAFF, &out, &e), SY_E_FORBIDDEN);
    assert_int_equal(out.kind, SY_AUTH_NONE);
    char userpass[128], b64[200];
    snprintf(userpass, sizeof userpass, "%s:", f->demo.write_key);
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)userpass, strlen(userpass),
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(h, sizeof h, "Basic %s", b64);
    assert_int_equal(auth(f, "POST", NULL, h, NULL, SY_AUTH_STAFF, &out, &e), SY_E_FORBIDDEN);
    assert_ok(auth(f, "POST", NULL, h, NULL, SY_AUTH_WRITE_KEY, &out, &e), &e);
    assert_int_equal(out.kind, SY_AUTH_WRITE_KEY);
    assert_int_equal(out.perms, 0);
    a = out.actor;
    assert_true(a->write_key_id > 0);
    assert_int_equal(a->staff_id, 0);
    assert_int_equal(auth(f, "POST", NULL, "Basic c3drX25vcGU6", NULL, SY_AUTH_WRITE_KEY, &out, &e),
                     SY_E_UNAUTHENTICATED); /* "swk_nope:" */
    assert_int_equal(auth(f, "POST", NULL, NULL, NULL, SY_AUTH_WRITE_KEY, &out, &e),
                     SY_E_UNAUTHENTICATED);
}

typedef struct dept_job {
    int64_t staff_id, dept;
} dept_job;

/* Gives a staff member a custom department-scoped role. */
static int dept_role_run(sy_db *db, void *arg, sy_err *e) {
    dept_job *j = arg;
    int rc =
        sy_db_exec(db,
                   "INSERT INTO roles (key, name, perms, scope, builtin, created_at, updated_at)"
                   " VALUES ('dept_lead', '部门主管', 3, 'department', 0, 0, 0)",
                   e);
    if (rc) return rc;
    sy_stmt *st;
    rc = sy_db_prepare(db, "UPDATE staff SET role_id = ?1 WHERE id = ?2", &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, sy_db_last_id(db));
    sy_stmt_bind_int(st, 2, j->staff_id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    return sy_audit_record(db, NULL, "roles.create", "role:dept_lead", NULL, e);
}

static void test_scope_resolution(void **state) {
    fixture *f = *state;
    sy_err e = {0};
    sy_actor a;
    sy_db *db;
    const sy_staff_demo_member *sm = member(f, "store_manager");
    assert_ok(sy_store_read_begin(f->st, &db, &e), &e);
    assert_ok(sy_staff_load_actor(db, f->a, sm->id, &a, &e), &e);
    sy_store_read_end(f->st, db);
    assert_int_equal(a.scope, SY_SCOPE_STORE);
    assert_int_equal(a.store_id, sm->store_id);
    assert_int_equal(a.perms,
                     SY_PERM_CONTACTS_READ | SY_PERM_CONTACTS_WRITE | SY_PERM_CONTACTS_EXPORT);

    /* department scope lists everyone in the department, including the actor */
    const sy_staff_demo_member *sales = member(f, "sales");
    dept_job j = {sales->id, sales->department_id};
    assert_ok(sy_store_write(f->st, dept_role_run, &j, &e), &e);
    assert_ok(sy_store_read_begin(f->st, &db, &e), &e);
    assert_ok(sy_staff_load_actor(db, f->a, sales->id, &a, &e), &e);
    sy_store_read_end(f->st, db);
    assert_int_equal(a.scope, SY_SCOPE_DEPT);
    size_t expect = 0;
    for (size_t i = 0; i < f->demo.n_staff; i++)
        if (f->demo.staff[i].department_id == sales->department_id) expect++;
    assert_int_equal(a.n_dept_staff, expect);
    int self = 0;
    for (size_t i = 0; i < a.n_dept_staff; i++) {
        if (a.dept_staff[i] == sales->id) self = 1;
        int in_dept = 0;
        for (size_t k = 0; k < f->demo.n_staff; k++)
            if (f->demo.staff[k].id == a.dept_staff[i] &&
                f->demo.staff[k].department_id == sales->department_id)
                in_dept = 1;
        assert_true(in_dept);
    }
    assert_true(self);
}

static void test_create_admin(void **state) {
    fixture *f = *state;
    sy_err e = {0};
    int64_t id = 0;
    assert_int_equal(sy_staff_create_admin(f->staff, "x", "longenough", &id, &e), SY_E_INVALID);
    assert_string_equal(e.field, "username");
    assert_int_equal(sy_staff_create_admin(f->staff, "root2", "short", &id, &e), SY_E_INVALID);
    assert_ok(sy_staff_create_admin(f->staff, "root2", "longenough", &id, &e), &e);
    assert_true(id > 0);
    assert_int_equal(sy_staff_create_admin(f->staff, "ROOT2", "longenough", &id, &e),
                     SY_E_CONFLICT); /* user names are case-insensitive */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hash_verify),
        cmocka_unit_test(test_perm_names),
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_rate_limiter),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test_setup_teardown(test_demo_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_and_csrf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_and_write_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scope_resolution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_admin, setup, teardown),
    };
    return cmocka_run_group_tests_name("staff", tests, NULL, NULL);
}
