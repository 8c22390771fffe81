/* test_scratch.c — kept buffers: a given-back buffer is handed out again
 * (the smallest that fits), the cache keeps at most SY_SCRATCH_KEEP, and
 * what is handed out holds what is written to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "base/scratch.h"

static void test_reuse_smallest_fit(void **state) {
    (void)state;
    sy_scratch_clear();
    size_t c1, c2, c3;
    char *big = sy_scratch_take(1 << 20, &c1), *small = sy_scratch_take(10000, &c2);
    assert_non_null(big);
    assert_non_null(small);
    assert_true(c1 >= 1 << 20);
    assert_true(c2 >= 10000);
    memset(big, 1, c1);
    memset(small, 2, c2);
    sy_scratch_give(big, c1);
    sy_scratch_give(small, c2);
    /* 5,000 bytes fit both: the smaller comes back, with its size */
    char *p = sy_scratch_take(5000, &c3);
    assert_ptr_equal(p, small);
    assert_int_equal(c3, c2);
    /* more than the small one holds: the big one */
    size_t c4;
    char *q = sy_scratch_take(20000, &c4);
    assert_ptr_equal(q, big);
    assert_int_equal(c4, c1);
    /* nothing kept is large enough: a new buffer */
    size_t c5;
    char *r = sy_scratch_take(2 << 20, &c5);
    assert_non_null(r);
    assert_true(r != big && r != small);
    assert_true(c5 >= (size_t)2 << 20);
    memset(r, 3, c5);
    sy_scratch_give(p, c3);
    sy_scratch_give(q, c4);
    sy_scratch_give(r, c5);
    sy_scratch_give(NULL, 0); /* ignored */
    sy_scratch_clear();
}

static void test_keeps_at_most_keep(void **state) {
    (void)state;
    sy_scratch_clear();
    enum { N = SY_SCRATCH_KEEP + 4 };
    void *given[N];
    size_t caps[N];
    for (int i = 0; i < N; i++) {
        given[i] = sy_scratch_take(4096, &caps[i]);
        assert_non_null(given[i]);
    }
    size_t total = 0, bytes;
    for (int i = 0; i < N; i++) {
        sy_scratch_give(given[i], caps[i]);
        if (i < SY_SCRATCH_KEEP) total += caps[i];
        assert_int_equal(sy_scratch_kept(&bytes), i < SY_SCRATCH_KEEP ? i + 1 : SY_SCRATCH_KEEP);
        assert_int_equal(bytes, total);
    }
    /* taken back one at a time, the cache empties */
    for (int i = 0; i < SY_SCRATCH_KEEP; i++) {
        given[i] = sy_scratch_take(4096, &caps[i]);
        assert_int_equal(sy_scratch_kept(NULL), SY_SCRATCH_KEEP - 1 - i);
    }
    for (int i = 0; i < SY_SCRATCH_KEEP; i++)
        sy_scratch_give(given[i], caps[i]);
    /* a buffer over the byte limit is freed, not kept */
    sy_scratch_clear();
    void *huge = malloc(64);
    sy_scratch_give(huge, SY_SCRATCH_BYTES + 1);
    assert_int_equal(sy_scratch_kept(NULL), 0);
    sy_scratch_clear();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_smallest_fit),
        cmocka_unit_test(test_keeps_at_most_keep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
