/* test_csv_corpus.c — replays the CSV fuzz seed corpus (tests/fuzz/corpus/csv)
 * through sy_csv_read in ordinary CI: every input must give 0 or
 * SY_E_INVALID with a message, in every encoding mode, never a crash (ASan
 * and UBSan builds run this too). Inputs libFuzzer finds worth keeping are
 * added to that directory and replayed here from then on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv/csv.h"

#define CORPUS_DIR TEST_DATA_DIR "/../fuzz/corpus/csv"

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)len + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

static void replay_one(const char *path) {
    static const int encs[] = {SY_CSV_AUTO, SY_CSV_UTF8, SY_CSV_GB18030};
    size_t n;
    char *d = slurp(path, &n);
    for (size_t k = 0; k < 3; k++) {
        sy_arena *a = sy_arena_create();
        sy_csv c;
        sy_err e;
        sy_err_clear(&e);
        int rc = sy_csv_read(a, d, n, encs[k], 64, &c, &e);
        if (rc != 0) {
            if (rc != SY_E_INVALID)
                fail_msg("%s (%s): rc %d", path, sy_csv_encoding_name(encs[k]), rc);
            if (!e.msg[0])
                fail_msg("%s (%s): error without a message", path, sy_csv_encoding_name(encs[k]));
            assert_int_equal(c.n_rows, 0);
        } else {
            for (size_t i = 0; i < c.n_rows; i++) {
                assert_true(c.rows[i].n >= 1 && c.rows[i].n <= 64);
                assert_true(i == 0 || c.rows[i].line > c.rows[i - 1].line);
                for (size_t j = 0; j < c.rows[i].n; j++)
                    assert_non_null(c.rows[i].fields[j]);
            }
        }
        sy_arena_destroy(a);
    }
    int enc, bom;
    int rc = sy_csv_detect(d, n, &enc, &bom);
    assert_true(rc == 0 || rc == SY_E_INVALID);
    free(d);
}

static void test_replay_corpus(void **state) {
    (void)state;
    DIR *dir = opendir(CORPUS_DIR);
    if (!dir) fail_msg("cannot open corpus %s", CORPUS_DIR);
    size_t runs = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, de->d_name);
        replay_one(path);
        runs++;
    }
    closedir(dir);
    assert_true(runs >= 10); /* the seeds are there */
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_replay_corpus)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
