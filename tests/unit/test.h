/* test.h — shared helpers for siyu's cmocka unit tests. */
#ifndef SY_TEST_H
#define SY_TEST_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "base/base.h"

/* Asserts rc == 0 and prints the error's name and message otherwise. */
#define assert_ok(expr, errp)                                                                      \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != 0) fail_msg("%s → %s: %s", #expr, sy_err_name(rc_), (errp)->msg);               \
    } while (0)

/* A fresh temporary directory (caller frees the string; removed by test_rmdir). */
static inline char *test_tmpdir(void) {
    char tmpl[] = "/tmp/siyu-unit-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline void test_rmdir(char *dir) {
    if (!dir) return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
}
/* Feeds every file of a fuzz corpus directory to fn (a libFuzzer entry
 * point whose checks are asserts) and returns how many it read. */
#include <dirent.h>
static inline int test_replay_corpus(const char *dir, int (*fn)(const uint8_t *, size_t)) {
    DIR *d = opendir(dir);
    if (!d) fail_msg("cannot open corpus %s", dir);
    struct dirent *ent;
    int n = 0;
    static uint8_t buf[1 << 20];
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) fail_msg("cannot open %s", path);
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        fn(buf, len);
        n++;
    }
    closedir(d);
    return n;
}
#endif
