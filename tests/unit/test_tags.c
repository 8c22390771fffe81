/* test_tags.c — the tags module: taxonomy rules (names, kinds, chunk
 * arithmetic), bulk membership written in chunks of SY_TAGS_CHUNK, and the
 * RAM sets rebuilt at start equal to the contact_tags table, with
 * merged-away contacts left out. */
#include "test.h"
#include "tags/tags_int.h"

/* --- pure rules --- */

static void test_rules(void **state) {
    (void)state;
    sy_err e;
    sy_err_clear(&e);
    assert_int_equal(sy_tags_check_text("name", "高意向", 64, &e), 0);
    assert_int_equal(sy_tags_check_text("name", "  ", 64, &e), SY_E_INVALID);
    assert_string_equal(e.field, "name");
    assert_int_equal(sy_tags_check_text("name", "\xff\xfe", 64, &e), SY_E_INVALID);
    assert_int_equal(sy_tags_check_text("scenario", "一二三四五", 4, &e), SY_E_INVALID);
    assert_string_equal(e.field, "scenario");
    assert_int_equal(sy_tags_check_text("scenario", "一二三四", 4, &e),
                     0); /* characters, not bytes */
    assert_int_equal(sy_tags_check_kind("manual", &e), 0);
    assert_int_equal(sy_tags_check_kind("rule", &e), 0);
    assert_int_equal(sy_tags_check_kind("form", &e), 0);
    assert_int_equal(sy_tags_check_kind("model", &e), SY_E_INVALID);
    assert_non_null(strstr(e.msg, "not supported yet"));
    assert_int_equal(sy_tags_check_kind("magic", &e), SY_E_INVALID);
    assert_non_null(strstr(e.msg, "\"magic\""));
    assert_int_equal(sy_tags_chunks(0), 0);
    assert_int_equal(sy_tags_chunks(1), 1);
    assert_int_equal(sy_tags_chunks(SY_TAGS_CHUNK), 1);
    assert_int_equal(sy_tags_chunks(SY_TAGS_CHUNK + 1), 2);
    assert_int_equal(sy_tags_chunks(4500), 3);
}

/* --- on a real store --- */

typedef struct fixture {
    char *dir;
    sy_store *st;
    sy_staff *staff;
    sy_contacts *c;
    sy_tags *t;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    sy_err e;
    f->dir = test_tmpdir();
    if (sy_store_open(f->dir, &f->st, &e) || sy_staff_create(f->st, &f->staff, &e) ||
        sy_contacts_create(f->st, f->staff, 0, &f->c, &e) ||
        sy_tags_create(f->st, f->staff, f->c, &f->t, &e)) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    sy_tags_destroy(f->t);
    sy_contacts_destroy(f->c);
    sy_staff_destroy(f->staff);
    sy_store_close(f->st);
    test_rmdir(f->dir);
    free(f);
    return 0;
}

#define N_CONTACTS 4500

typedef struct seed_job {
    int64_t ids[N_CONTACTS];
    int64_t tag_id;
} seed_job;

/* A category, a tag and N_CONTACTS empty contacts. */
static int seed_run(sy_db *db, void *arg, sy_err *e) {
    seed_job *j = arg;
    int rc = sy_db_exec(db,
                        "INSERT INTO tag_categories (name, scenario, created_at, updated_at) "
                        "VALUES ('意向', '私信转化', 1, 1);"
                        "INSERT INTO tags (category_id, name, created_at, updated_at) VALUES "
                        "(last_insert_rowid(), '高意向', 1, 1);",
                        e);
    if (rc) return rc;
    j->tag_id = sy_db_last_id(db);
    for (int i = 0; i < N_CONTACTS && rc == 0; i++)
        rc = sy_contacts_ident_create(db, 1000 + i, &j->ids[i], e);
    return rc;
}

typedef struct merge_job {
    int64_t winner, loser;
} merge_job;

static int merge_run(sy_db *db, void *arg, sy_err *e) {
    merge_job *j = arg;
    return sy_contacts_ident_merge(db, j->winner, j->loser, "test", e);
}

static int drop_tag_run(sy_db *db, void *arg, sy_err *e) {
    char sql[80];
    snprintf(sql, sizeof sql, "DELETE FROM tags WHERE id = %lld", (long long)*(int64_t *)arg);
    return sy_db_exec(db, sql, e);
}

static int64_t table_count(fixture *f, int64_t tag) {
    sy_db *db;
    sy_err e;
    int64_t n = -1;
    char sql[120];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM contact_tags WHERE tag_id = %lld",
             (long long)tag);
    assert_ok(sy_store_read_begin(f->st, &db, &e), &e);
    assert_ok(sy_db_query_int(db, sql, &n, &e), &e);
    sy_store_read_end(f->st, db);
    return n;
}

static void test_bulk_and_rebuild(void **state) {
    fixture *f = *state;
    sy_err e;
    seed_job *s = calloc(1, sizeof *s);
    assert_ok(sy_store_write(f->st, seed_run, s, &e), &e);
    assert_ok(sy_tags_ram_add_tag(f->t, s->tag_id, 0), &e);
    sy_actor sys = {.scope = SY_SCOPE_ALL,
                    .perms = SY_PERM_ALL,
                    .name = "test",
                    .username = "test",
                    .via = "token"};

    /* 4500 rows → three write jobs of at most 2000 */
    size_t changed = 0;
    uint64_t jobs0 = f->t->n_member_jobs;
    assert_ok(sy_tags_write_members(f->t, &sys, s->tag_id, s->ids, N_CONTACTS, 1, &changed, &e),
              &e);
    assert_int_equal(changed, N_CONTACTS);
    assert_int_equal(f->t->n_member_jobs - jobs0, 3);
    /* adding again changes nothing */
    assert_ok(sy_tags_write_members(f->t, &sys, s->tag_id, s->ids, 10, 1, &changed, &e), &e);
    assert_int_equal(changed, 0);
    /* remove 100 */
    assert_ok(sy_tags_write_members(f->t, &sys, s->tag_id, s->ids + 100, 100, 0, &changed, &e), &e);
    assert_int_equal(changed, 100);
    assert_int_equal(sy_tags_ram_count(f->t, s->tag_id), N_CONTACTS - 100);
    assert_int_equal(table_count(f, s->tag_id), N_CONTACTS - 100);

    /* an unknown tag changes nothing */
    assert_int_equal(sy_tags_write_members(f->t, &sys, s->tag_id + 99, s->ids, 5, 1, &changed, &e),
                     SY_E_NOT_FOUND);
    assert_int_equal(table_count(f, s->tag_id + 99), 0);
    assert_null(sy_tags_members(f->t, s->tag_id + 99, &e));
    assert_int_equal(e.code, SY_E_NOT_FOUND);

    /* of_contact */
    int64_t ids[4];
    assert_int_equal(sy_tags_of_contact(f->t, s->ids[0], ids, 4), 1);
    assert_int_equal(ids[0], s->tag_id);
    assert_int_equal(sy_tags_of_contact(f->t, s->ids[150], ids, 4), 0);

    /* rebuild from the table gives the same set */
    sy_idset *before = sy_tags_members(f->t, s->tag_id, &e);
    assert_non_null(before);
    sy_tags_destroy(f->t);
    f->t = NULL;
    assert_ok(sy_tags_create(f->st, f->staff, f->c, &f->t, &e), &e);
    sy_idset *after = sy_tags_members(f->t, s->tag_id, &e);
    assert_non_null(after);
    assert_int_equal(sy_idset_count(after), sy_idset_count(before));
    sy_idset *diff = sy_idset_copy(after);
    sy_idset_andnot(diff, before);
    assert_int_equal(sy_idset_count(diff), 0);
    sy_idset_destroy(diff);

    /* a merged-away contact stops counting after a rebuild; its rows stay */
    merge_job m = {.winner = s->ids[1], .loser = s->ids[0]};
    assert_ok(sy_store_write(f->st, merge_run, &m, &e), &e);
    sy_tags_destroy(f->t);
    f->t = NULL;
    assert_ok(sy_tags_create(f->st, f->staff, f->c, &f->t, &e), &e);
    assert_int_equal(sy_tags_ram_count(f->t, s->tag_id), N_CONTACTS - 101);
    assert_int_equal(table_count(f, s->tag_id), N_CONTACTS - 100);
    sy_idset *merged = sy_tags_members(f->t, s->tag_id, &e);
    assert_false(sy_idset_contains(merged, (uint32_t)s->ids[0]));
    assert_true(sy_idset_contains(merged, (uint32_t)s->ids[1]));

    /* a tag deleted with its rows left behind (a crash mid-sweep): the
     * rebuild ignores the rows and sweeps them in chunks */
    assert_ok(sy_store_write(f->st, drop_tag_run, &s->tag_id, &e), &e);
    sy_tags_destroy(f->t);
    f->t = NULL;
    assert_ok(sy_tags_create(f->st, f->staff, f->c, &f->t, &e), &e);
    assert_int_equal(sy_tags_exists(f->t, s->tag_id, &e), SY_E_NOT_FOUND);
    assert_int_equal(table_count(f, s->tag_id), 0);

    sy_idset_destroy(merged);
    sy_idset_destroy(before);
    sy_idset_destroy(after);
    free(s);
}

/* --- rule tags: the diff between the stored set and the evaluated one --- */

static void test_rule_diff(void **state) {
    (void)state;
    sy_idset *cur = sy_idset_create(), *want = sy_idset_create();
    for (uint32_t i = 1; i <= 10; i++)
        sy_idset_add(cur, i);
    for (uint32_t i = 5; i <= 15; i++)
        sy_idset_add(want, i);
    sy_idset_add(want, 100000);
    int64_t *add, *del;
    size_t na, nd;
    assert_int_equal(sy_tags_diff(cur, want, &add, &na, &del, &nd), 0);
    assert_int_equal(na, 6); /* 11..15, 100000 */
    assert_int_equal(add[0], 11);
    assert_int_equal(add[5], 100000);
    assert_int_equal(nd, 4); /* 1..4 */
    assert_int_equal(del[0], 1);
    assert_int_equal(del[3], 4);
    free(add);
    free(del);
    /* equal sets: nothing to do */
    assert_int_equal(sy_tags_diff(want, want, &add, &na, &del, &nd), 0);
    assert_int_equal(na + nd, 0);
    assert_null(add);
    assert_null(del);
    sy_idset_destroy(cur);
    sy_idset_destroy(want);
}

static int rule_tag_run(sy_db *db, void *arg, sy_err *e) {
    int rc = sy_db_exec(db,
                        "INSERT INTO tags (category_id, name, kind, definition, created_at, "
                        "updated_at) VALUES ((SELECT min(id) FROM tag_categories), '规则', 'rule', "
                        "'{\"tag\":1}', 1, 1)",
                        e);
    *(int64_t *)arg = sy_db_last_id(db);
    return rc;
}

/* sy_tags_set_rule_members writes exactly the difference, in chunks, and
 * refuses tags of other kinds. */
static void test_rule_members(void **state) {
    fixture *f = *state;
    sy_err e;
    seed_job *s = calloc(1, sizeof *s);
    assert_ok(sy_store_write(f->st, seed_run, s, &e), &e);
    int64_t rule;
    assert_ok(sy_store_write(f->st, rule_tag_run, &rule, &e), &e);
    sy_tags_destroy(f->t);
    assert_ok(sy_tags_create(f->st, f->staff, f->c, &f->t, &e), &e);
    assert_int_equal(sy_tags_ram_is_rule(f->t, rule), 1);
    assert_int_equal(sy_tags_ram_is_rule(f->t, s->tag_id), 0);
    sy_idset *want = sy_idset_create();
    for (int i = 0; i < 3000; i++)
        sy_idset_add(want, (uint32_t)s->ids[i]);
    size_t added, removed;
    uint64_t jobs0 = f->t->n_member_jobs;
    assert_ok(sy_tags_set_rule_members(f->t, rule, want, &added, &removed, &e), &e);
    assert_int_equal(added, 3000);
    assert_int_equal(removed, 0);
    assert_int_equal(f->t->n_member_jobs - jobs0, 2);
    /* shift the window: 1000 leave, 500 enter */
    sy_idset_destroy(want);
    want = sy_idset_create();
    for (int i = 1000; i < 3500; i++)
        sy_idset_add(want, (uint32_t)s->ids[i]);
    assert_ok(sy_tags_set_rule_members(f->t, rule, want, &added, &removed, &e), &e);
    assert_int_equal(added, 500);
    assert_int_equal(removed, 1000);
    assert_int_equal(table_count(f, rule), 2500);
    /* unchanged: no write at all */
    jobs0 = f->t->n_member_jobs;
    assert_ok(sy_tags_set_rule_members(f->t, rule, want, &added, &removed, &e), &e);
    assert_int_equal(f->t->n_member_jobs, jobs0);
    assert_int_equal(sy_tags_set_rule_members(f->t, s->tag_id, want, NULL, NULL, &e),
                     SY_E_PRECONDITION);
    assert_int_equal(sy_tags_set_rule_members(f->t, rule + 50, want, NULL, NULL, &e),
                     SY_E_NOT_FOUND);
    json_t *defs = sy_tags_rule_defs(f->t, &e);
    assert_int_equal(json_array_size(defs), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(defs, 0), "id")), rule);
    json_decref(defs);
    sy_idset_destroy(want);
    free(s);
}

/* --- forms: shape checks and answers → tags --- */

static void test_form_answers(void **state) {
    (void)state;
    sy_err e;
    sy_err_clear(&e);
    json_t *q = json_loads("[{\"id\":\"skin\",\"title\":\"肤质\",\"options\":["
                           "{\"id\":\"dry\",\"label\":\"干\",\"tag_ids\":[7,3]},"
                           "{\"id\":\"oily\",\"label\":\"油\",\"tag_ids\":[4]}]},"
                           "{\"id\":\"care\",\"title\":\"关注\",\"multiple\":true,\"options\":["
                           "{\"id\":\"spf\",\"label\":\"防晒\",\"tag_ids\":[3,9]},"
                           "{\"id\":\"none\",\"label\":\"无\",\"tag_ids\":[]}]}]",
                           0, NULL);
    assert_non_null(q);
    assert_ok(sy_tags_form_shape(q, &e), &e);
    int64_t tags[8];
    size_t n;
    json_t *a = json_loads("{\"skin\":\"dry\",\"care\":[\"spf\",\"none\"]}", 0, NULL);
    assert_ok(sy_tags_form_answer_tags(q, a, tags, 8, &n, &e), &e);
    assert_int_equal(n, 3); /* 3, 7, 9: union, ascending, unique */
    assert_int_equal(tags[0], 3);
    assert_int_equal(tags[1], 7);
    assert_int_equal(tags[2], 9);
    json_decref(a);
    const struct {
        const char *answers, *field;
    } bad[] = {
        {"{\"nope\":\"dry\"}", "answers.nope"},
        {"{\"skin\":\"wet\"}", "answers.skin"},
        {"{\"skin\":[\"dry\",\"oily\"]}", "answers.skin"},
        {"{\"care\":[]}", "answers.care"},
        {"{\"skin\":5}", "answers.skin"},
        {"{}", "answers"},
        {"[]", "answers"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        a = json_loads(bad[i].answers, JSON_DECODE_ANY, NULL);
        assert_int_equal(sy_tags_form_answer_tags(q, a, tags, 8, &n, &e), SY_E_INVALID);
        assert_string_equal(e.field, bad[i].field);
        json_decref(a);
    }
    json_decref(q);
    /* shapes */
    const struct {
        const char *q, *field;
    } shapes[] = {
        {"[]", "questions"},
        {"[{\"id\":\"a "
         "b\",\"title\":\"t\",\"options\":[{\"id\":\"o\",\"label\":\"l\",\"tag_ids\":[]}]}]",
         "questions[0].id"},
        {"[{\"id\":\"a\",\"title\":\"t\",\"options\":[]}]", "questions[0].options"},
        {"[{\"id\":\"a\",\"title\":\"t\",\"x\":1,\"options\":[]}]", "questions[0].x"},
        {"[{\"id\":\"a\",\"title\":\"t\",\"options\":[{\"id\":\"o\",\"label\":\"l\",\"tag_ids\":[0]"
         "}]}]",
         "questions[0].options[0].tag_ids[0]"},
        {"[{\"id\":\"a\",\"title\":\"t\",\"options\":[{\"id\":\"o\",\"label\":\"l\",\"tag_ids\":[]}"
         "]},"
         "{\"id\":\"a\",\"title\":\"t\",\"options\":[{\"id\":\"o\",\"label\":\"l\",\"tag_ids\":[]}]"
         "}]",
         "questions[1].id"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(shapes); i++) {
        q = json_loads(shapes[i].q, 0, NULL);
        assert_non_null(q);
        assert_int_equal(sy_tags_form_shape(q, &e), SY_E_INVALID);
        assert_string_equal(e.field, shapes[i].field);
        json_decref(q);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_rule_diff),
        cmocka_unit_test(test_form_answers),
        cmocka_unit_test_setup_teardown(test_rule_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_and_rebuild, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
