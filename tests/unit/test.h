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
        if (rc_ != 0) fail_msg("%s → %s: %s", #expr, sy_err_name(rc_), (errp)->msg);              \
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
#endif
