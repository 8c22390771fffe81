/* test_contacts.c — the lead library's rules and store queries on a real
 * store in a temporary directory: phone normalisation and masking, email
 * checks, merge + undo, the data-scope filter and list cursors. */
#include <time.h>
#include "test.h"
#include "contacts/contacts_int.h"

/* --- pure rules --- */

static void phone_ok(const char *in, const char *want) {
    char out[32];
    sy_err e;
    sy_err_clear(&e);
    int rc = sy_phone_normalize(in, out, sizeof out, &e);
    if (rc) fail_msg("phone \"%s\" rejected: %s", in, e.msg);
    assert_string_equal(out, want);
}

static void phone_bad(const char *in) {
    char out[32];
    sy_err e;
    sy_err_clear(&e);
    assert_int_equal(sy_phone_normalize(in, out, sizeof out, &e), SY_E_INVALID);
    assert_int_equal(e.code, SY_E_INVALID);
    assert_string_equal(e.field, "phone");
    assert_non_null(strstr(e.msg, in)); /* the message quotes the value */
}

static void test_phone_normalize(void **state) {
    (void)state;
    phone_ok("+86 138-1234-5678", "+8613812345678");
    phone_ok("008615900005678", "+8615900005678");
    phone_ok("13812345678", "+8613812345678");
    phone_ok("8613812345678", "+8613812345678");
    phone_ok("(0086)137-1234-5678", "+8613712345678");
    phone_ok("186 1234 0000", "+8618612340000");
    phone_ok("\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94"
             "\xef\xbc\x95\xef\xbc\x96"
             "\xef\xbc\x97\xef\xbc\x98", /* １３８１２３４５６７８ */
             "+8613812345678");
    phone_ok("'13812345678", "+8613812345678"); /* Excel text prefix */
    phone_ok("+1 415 555 2671", "+14155552671");
    phone_bad("1.38123E+10");
    phone_bad("12345");
    phone_bad("12812345678"); /* second digit 2 */
    phone_bad("+86 12345");
    phone_bad("138abc12345");
    char out[32];
    sy_err e;
    sy_phone_normalize("1.38123E+10", out, sizeof out, &e);
    assert_non_null(strstr(e.msg, "Excel"));
}

static void test_phone_mask(void **state) {
    (void)state;
    char m[32];
    sy_phone_mask("+8613812345678", m, sizeof m);
    assert_string_equal(m, "138****5678");
    sy_phone_mask("+8615900005678", m, sizeof m);
    assert_string_equal(m, "159****5678");
    sy_phone_mask("+14155552671", m, sizeof m);
    assert_string_equal(m, "141****2671");
    sy_phone_mask(NULL, m, sizeof m);
    assert_string_equal(m, "");
}

static void test_email(void **state) {
    (void)state;
    assert_true(sy_email_valid("zhangwei@example.com"));
    assert_true(sy_email_valid("a.b+c@mail.example.cn"));
    assert_false(sy_email_valid("no-at.example.com"));
    assert_false(sy_email_valid("@example.com"));
    assert_false(sy_email_valid("a@b@example.com"));
    assert_false(sy_email_valid("a@example"));
    assert_false(sy_email_valid("a b@example.com"));
    assert_false(sy_email_valid("a@.example.com"));
    assert_false(sy_email_valid("a@example.com."));
    assert_false(sy_email_valid(""));
}

static void test_vocabularies(void **state) {
    (void)state;
    const char *k;
    assert_int_equal(sy_contacts_status_parse("跟进中", &k), 0);
    assert_string_equal(k, "following");
    assert_int_equal(sy_contacts_status_parse("won", &k), 0);
    assert_int_equal(sy_contacts_status_parse("maybe", &k), SY_E_INVALID);
    assert_int_equal(sy_contacts_gender_parse("女", &k), 0);
    assert_string_equal(k, "female");
    char d[16];
    assert_int_equal(sy_contacts_date_parse("1988/3/14", d, sizeof d), 0);
    assert_string_equal(d, "1988-03-14");
    assert_int_equal(sy_contacts_date_parse("1990年11月23日", d, sizeof d), 0);
    assert_string_equal(d, "1990-11-23");
    assert_int_equal(sy_contacts_date_parse("1990-02-30", d, sizeof d), SY_E_INVALID);
    assert_int_equal(sy_contacts_date_parse("32874", d, sizeof d), SY_E_INVALID);
}

static void test_cursor(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    sy_err e;
    char *c = sy_contacts_cursor_encode(a, "name", 0, 42, "王|芳");
    int64_t id;
    const char *v;
    assert_ok(sy_contacts_cursor_decode(a, c, "name", 0, &id, &v, &e), &e);
    assert_int_equal(id, 42);
    assert_string_equal(v, "王|芳");
    assert_int_equal(sy_contacts_cursor_decode(a, c, "created_at", 1, &id, &v, &e), SY_E_INVALID);
    assert_int_equal(sy_contacts_cursor_decode(a, "zz", "name", 0, &id, &v, &e), SY_E_INVALID);
    assert_int_equal(sy_contacts_cursor_decode(a, "", "name", 0, &id, &v, &e), SY_E_INVALID);
    sy_arena_destroy(a);
}

/* --- on a real store --- */

typedef struct fixture {
    char *dir;
    sy_store *st;
    sy_staff *staff;
    sy_contacts *c;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    sy_err e;
    f->dir = test_tmpdir();
    if (sy_store_open(f->dir, &f->st, &e) || sy_staff_create(f->st, &f->staff, &e) ||
        sy_contacts_create(f->st, f->staff, 0, &f->c, &e)) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    sy_contacts_destroy(f->c);
    sy_staff_destroy(f->staff);
    sy_store_close(f->st);
    test_rmdir(f->dir);
    free(f);
    return 0;
}

/* A contact to insert. */
typedef struct seed {
    const char *name, *phone, *email;
    int64_t owner, store, follower;
    int64_t id; /* out */
} seed;

static int insert_job(sy_db *db, void *arg, sy_err *e) {
    seed *s = arg;
    contact_fields f;
    memset(&f, 0, sizeof f);
    f.name = s->name;
    f.phone = s->phone;
    f.email = s->email;
    f.owner_id = s->owner;
    f.store_id = s->store;
    int rc = sy_contacts_insert(db, NULL, &f, 0, sy_now_ms(), &s->id, e);
    if (rc == 0 && s->follower) {
        sy_stmt *st;
        if ((rc = sy_db_prepare(
                 db,
                 "INSERT INTO contact_followers(contact_id, staff_id, created_at) VALUES (?,?,0)",
                 &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, s->id);
        sy_stmt_bind_int(st, 2, s->follower);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        rc = rc < 0 ? rc : 0;
    }
    return rc;
}

static int64_t add(fixture *f, seed s) {
    sy_err e;
    assert_ok(sy_store_write(f->st, insert_job, &s, &e), &e);
    return s.id;
}

static sy_actor actor(int scope, int64_t staff_id, int64_t store_id, const int64_t *dept,
                      size_t n) {
    sy_actor a;
    memset(&a, 0, sizeof a);
    a.staff_id = staff_id;
    a.name = a.username = "t";
    a.perms = SY_PERM_CONTACTS_READ | SY_PERM_CONTACTS_WRITE | SY_PERM_CONTACTS_MERGE;
    a.scope = scope;
    a.store_id = store_id;
    a.dept_staff = dept;
    a.n_dept_staff = n;
    a.via = "test";
    a.ip = "127.0.0.1";
    return a;
}

/* Ids visible to actor through the list query (walking every page). */
static size_t visible(fixture *f, const sy_actor *a, int64_t *ids, size_t cap, int64_t *total) {
    sy_db *db;
    sy_err e;
    assert_ok(sy_store_read_begin(f->st, &db, &e), &e);
    sy_arena *ar = sy_arena_create();
    contact_filter flt;
    memset(&flt, 0, sizeof flt);
    flt.sort = "created_at";
    size_t n = 0;
    const char *cursor = NULL;
    for (;;) {
        json_t *out;
        assert_ok(sy_contacts_list(db, ar, a, &flt, 2, cursor, &out, &e), &e);
        *total = json_integer_value(json_object_get(out, "total"));
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(out, "items"), i, it) if (n < cap) ids[n++] =
            json_integer_value(json_object_get(it, "id"));
        json_t *next = json_object_get(out, "next_cursor");
        cursor = json_is_string(next) ? sy_strdup(ar, json_string_value(next)) : NULL;
        json_decref(out);
        if (!cursor) break;
    }
    sy_arena_destroy(ar);
    sy_store_read_end(f->st, db);
    return n;
}

static int has(const int64_t *ids, size_t n, int64_t id) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

static void test_scope_filter(void **state) {
    fixture *f = *state;
    int64_t a = add(f, (seed){"A", "+8613800000001", NULL, 101, 7, 0, 0});
    int64_t b = add(f, (seed){"B", "+8613800000002", NULL, 102, 8, 101, 0});
    int64_t c = add(f, (seed){"C", "+8613800000003", NULL, 103, 7, 0, 0});
    int64_t d = add(f, (seed){"D", "+8613800000004", NULL, 104, 9, 0, 0});
    int64_t pool = add(f, (seed){"P", "+8613800000005", NULL, 0, 0, 0, 0});
    int64_t ids[16], total;
    size_t n;

    sy_actor own = actor(SY_SCOPE_OWN, 101, 0, NULL, 0);
    n = visible(f, &own, ids, 16, &total);
    assert_int_equal(n, 2);
    assert_int_equal(total, 2);
    assert_true(has(ids, n, a) && has(ids, n, b)); /* owned, and followed */

    int64_t dept_ids[] = {102, 103};
    sy_actor dept = actor(SY_SCOPE_DEPT, 102, 0, dept_ids, 2);
    n = visible(f, &dept, ids, 16, &total);
    assert_int_equal(n, 2);
    assert_true(has(ids, n, b) && has(ids, n, c));

    sy_actor store = actor(SY_SCOPE_STORE, 500, 7, NULL, 0);
    n = visible(f, &store, ids, 16, &total);
    assert_int_equal(n, 2);
    assert_true(has(ids, n, a) && has(ids, n, c));

    sy_actor all = actor(SY_SCOPE_ALL, 1, 0, NULL, 0);
    n = visible(f, &all, ids, 16, &total);
    assert_int_equal(n, 5);
    assert_int_equal(total, 5);
    assert_true(has(ids, n, d) && has(ids, n, pool));

    /* by id: outside the scope is not found */
    sy_db *db;
    sy_err e;
    int64_t live;
    sy_arena *ar = sy_arena_create();
    assert_ok(sy_store_read_begin(f->st, &db, &e), &e);
    assert_int_equal(sy_contacts_resolve(db, ar, &own, d, &live, &e), SY_E_NOT_FOUND);
    assert_ok(sy_contacts_resolve(db, ar, &own, b, &live, &e), &e);
    assert_int_equal(sy_contacts_resolve(db, ar, &store, b, &live, &e), SY_E_NOT_FOUND);
    assert_int_equal(sy_contacts_resolve(db, ar, &own, pool, &live, &e), SY_E_NOT_FOUND);
    assert_ok(sy_contacts_resolve_pool(db, ar, &own, pool, &live, &e), &e);
    sy_store_read_end(f->st, db);
    sy_arena_destroy(ar);
}

static void test_pagination_sorted(void **state) {
    fixture *f = *state;
    const char *names[] = {"e", "b", "d", "a", "c", "b"};
    char phones[6][20];
    for (size_t i = 0; i < 6; i++) {
        snprintf(phones[i], sizeof phones[i], "+86139000000%02zu", i);
        add(f, (seed){names[i], phones[i], NULL, 1, 0, 0, 0});
    }
    sy_actor all = actor(SY_SCOPE_ALL, 1, 0, NULL, 0);
    sy_db *db;
    sy_err e;
    assert_ok(sy_store_read_begin(f->st, &db, &e), &e);
    sy_arena *ar = sy_arena_create();
    contact_filter flt;
    memset(&flt, 0, sizeof flt);
    flt.sort = "name";
    const char *cursor = NULL;
    char got[16] = "";
    int64_t seen[8];
    size_t n = 0, pages = 0;
    do {
        json_t *out;
        assert_ok(sy_contacts_list(db, ar, &all, &flt, 4, cursor, &out, &e), &e);
        assert_int_equal(json_integer_value(json_object_get(out, "total")), 6);
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(out, "items"), i, it) {
            strncat(got, json_string_value(json_object_get(it, "name")), 1);
            int64_t id = json_integer_value(json_object_get(it, "id"));
            assert_false(has(seen, n, id)); /* no item twice across pages */
            seen[n++] = id;
        }
        json_t *next = json_object_get(out, "next_cursor");
        cursor = json_is_string(next) ? sy_strdup(ar, json_string_value(next)) : NULL;
        json_decref(out);
        pages++;
    } while (cursor);
    assert_int_equal(pages, 2);
    assert_string_equal(got, "abbcde");
    /* a cursor made for another sort is refused */
    json_t *out;
    char *c = sy_contacts_cursor_encode(ar, "name", 0, 1, "a");
    flt.sort = "created_at";
    assert_int_equal(sy_contacts_list(db, ar, &all, &flt, 4, c, &out, &e), SY_E_INVALID);
    sy_arena_destroy(ar);
    sy_store_read_end(f->st, db);
}

typedef struct merge_job {
    const sy_actor *actor;
    int64_t winner, loser, merge_id;
    int undo;
} merge_job;

static int merge_run(sy_db *db, void *arg, sy_err *e) {
    merge_job *m = arg;
    sy_arena *a = sy_arena_create();
    int rc = m->undo
                 ? sy_contacts_merge_undo(db, a, m->actor, m->merge_id, e)
                 : sy_contacts_merge_apply(db, a, m->actor, m->winner, m->loser, &m->merge_id, e);
    sy_arena_destroy(a);
    return rc;
}

static json_t *get(fixture *f, const sy_actor *a, int64_t id) {
    sy_db *db;
    sy_err e;
    json_t *out = NULL;
    assert_ok(sy_store_read_begin(f->st, &db, &e), &e);
    sy_arena *ar = sy_arena_create();
    int64_t live;
    assert_ok(sy_contacts_resolve(db, ar, a, id, &live, &e), &e);
    assert_ok(sy_contacts_get_json(db, ar, a, live, 1, &out, &e), &e);
    sy_arena_destroy(ar);
    sy_store_read_end(f->st, db);
    return out;
}

static void test_merge_undo(void **state) {
    fixture *f = *state;
    sy_actor all = actor(SY_SCOPE_ALL, 1, 0, NULL, 0);
    all.perms = SY_PERM_ALL;
    int64_t w = add(f, (seed){"王芳", "+8613900001234", NULL, 0, 0, 0, 0});
    int64_t l = add(f, (seed){"Wang Fang", "+8613900009999", "wf@example.cn", 11, 3, 12, 0});
    sy_err e;
    merge_job m = {.actor = &all, .winner = w, .loser = l};
    assert_ok(sy_store_write(f->st, merge_run, &m, &e), &e);
    assert_true(m.merge_id > 0);

    /* the winner keeps its name and phone, takes the blanks and identities */
    json_t *c = get(f, &all, w);
    assert_string_equal(json_string_value(json_object_get(c, "name")), "王芳");
    assert_string_equal(json_string_value(json_object_get(c, "phone")), "+8613900001234");
    assert_string_equal(json_string_value(json_object_get(c, "email")), "wf@example.cn");
    assert_int_equal(json_integer_value(json_object_get(c, "owner_id")), 11);
    assert_int_equal(json_array_size(json_object_get(c, "identities")), 3);
    assert_int_equal(json_array_size(json_object_get(c, "followers")), 1);
    json_decref(c);
    /* the loser is a tombstone: its id reads as the winner */
    int64_t canon;
    assert_ok(sy_contacts_canonical_id(f->c, l, &canon, &e), &e);
    assert_int_equal(canon, w);
    c = get(f, &all, l);
    assert_int_equal(json_integer_value(json_object_get(c, "id")), w);
    json_decref(c);
    /* merging it again is refused */
    merge_job again = {.actor = &all, .winner = w, .loser = l};
    assert_int_equal(sy_store_write(f->st, merge_run, &again, &e), SY_E_INVALID);

    /* undo restores both */
    merge_job u = {.actor = &all, .merge_id = m.merge_id, .undo = 1};
    assert_ok(sy_store_write(f->st, merge_run, &u, &e), &e);
    c = get(f, &all, w);
    assert_true(json_is_null(json_object_get(c, "email")));
    assert_true(json_is_null(json_object_get(c, "owner_id")));
    assert_int_equal(json_array_size(json_object_get(c, "identities")), 1);
    assert_int_equal(json_array_size(json_object_get(c, "followers")), 0);
    json_decref(c);
    c = get(f, &all, l);
    assert_int_equal(json_integer_value(json_object_get(c, "id")), l);
    assert_string_equal(json_string_value(json_object_get(c, "email")), "wf@example.cn");
    assert_int_equal(json_array_size(json_object_get(c, "identities")), 2);
    json_decref(c);
    assert_ok(sy_contacts_canonical_id(f->c, l, &canon, &e), &e);
    assert_int_equal(canon, l);
    /* a second undo is a conflict */
    assert_int_equal(sy_store_write(f->st, merge_run, &u, &e), SY_E_CONFLICT);
}

static void test_merge_scope(void **state) {
    fixture *f = *state;
    int64_t mine = add(f, (seed){"mine", "+8613700000001", NULL, 21, 0, 0, 0});
    int64_t other = add(f, (seed){"other", "+8613700000002", NULL, 22, 0, 0, 0});
    sy_actor own = actor(SY_SCOPE_OWN, 21, 0, NULL, 0);
    sy_err e;
    merge_job m = {.actor = &own, .winner = mine, .loser = other};
    assert_int_equal(sy_store_write(f->st, merge_run, &m, &e), SY_E_NOT_FOUND);
    int64_t canon;
    assert_ok(sy_contacts_canonical_id(f->c, other, &canon, &e), &e);
    assert_int_equal(canon, other); /* nothing changed */
}

static void test_duplicate_identity(void **state) {
    fixture *f = *state;
    add(f, (seed){"x", "+8613600000001", "x@example.com", 1, 0, 0, 0});
    seed dup = {"y", "+8613600000002", "x@example.com", 1, 0, 0, 0};
    sy_err e;
    assert_int_equal(sy_store_write(f->st, insert_job, &dup, &e), SY_E_CONFLICT);
    /* the failed insert left nothing behind */
    sy_db *db;
    int64_t n = 0;
    assert_ok(sy_store_read_begin(f->st, &db, &e), &e);
    assert_ok(sy_db_query_int(db, "SELECT count(*) FROM contacts WHERE name = 'y'", &n, &e), &e);
    sy_store_read_end(f->st, db);
    assert_int_equal(n, 0);
}

static int age_job(sy_db *db, void *arg, sy_err *e) {
    int64_t id = *(int64_t *)arg;
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE contacts SET created_at = created_at - 40*86400000, owned_at = owned_at - "
             "40*86400000 "
             "WHERE id = %lld; UPDATE contact_settings SET value = '1' WHERE key = "
             "'pool.recycle_enabled'",
             (long long)id);
    return sy_db_exec(db, sql, e);
}

/* The timer recycles owned leads without a follow-up for recycle_days. */
static void test_recycle_timer(void **state) {
    fixture *f = *state;
    int64_t idle = add(f, (seed){"idle", "+8613500000001", NULL, 7, 0, 0, 0});
    int64_t fresh = add(f, (seed){"fresh", "+8613500000002", NULL, 7, 0, 0, 0});
    sy_err e;
    assert_ok(sy_store_write(f->st, age_job, &idle, &e), &e);
    sy_contacts *fast;
    assert_ok(sy_contacts_create(f->st, f->staff, 20, &fast, &e), &e);
    sy_actor all = actor(SY_SCOPE_ALL, 1, 0, NULL, 0);
    for (int i = 0; i < 200; i++) {
        json_t *c = get(f, &all, idle);
        int done = json_is_null(json_object_get(c, "owner_id"));
        json_decref(c);
        if (done) break;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    sy_contacts_destroy(fast);
    json_t *c = get(f, &all, idle);
    assert_true(json_is_null(json_object_get(c, "owner_id")));
    assert_string_equal(json_string_value(json_object_get(c, "return_reason")),
                        "recycled: no follow-up");
    json_decref(c);
    c = get(f, &all, fresh);
    assert_int_equal(json_integer_value(json_object_get(c, "owner_id")), 7);
    json_decref(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phone_normalize),
        cmocka_unit_test(test_phone_mask),
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_vocabularies),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test_setup_teardown(test_scope_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pagination_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_undo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recycle_timer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
