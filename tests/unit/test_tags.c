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
    assert_int_equal(sy_tags_check_kind("rule", &e), SY_E_INVALID);
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
    assert_ok(sy_tags_ram_add_tag(f->t, s->tag_id), &e);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test_setup_teardown(test_bulk_and_rebuild, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
