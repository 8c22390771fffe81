/* test_bits.c — population counts: every level this CPU runs gives the
 * plain loop's answer, on lengths and tails the unrolled loops split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "base/bits.h"

static uint64_t naive(const uint64_t *a, const uint64_t *b, size_t n) {
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 64; j++)
            c += ((a[i] & b[i]) >> j) & 1;
    return c;
}

static void test_levels_agree(void **state) {
    (void)state;
    enum { N = 1100 };
    static uint64_t a[N], b[N];
    uint64_t r = 99;
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < N; i++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            a[i] = round == 3 ? ~0ull : r;
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            b[i] = round == 2 ? r & (r >> 7) : r;
        }
        int levels = sy_bits_levels();
        assert_true(levels >= 1 && levels <= 3);
        for (size_t n = 0; n < 40; n++)
            for (int l = 0; l < levels; l++)
                assert_int_equal(sy_bits_and_count_at(l, a + 3, b + 5, n), naive(a + 3, b + 5, n));
        for (int l = 0; l < levels; l++)
            assert_int_equal(sy_bits_and_count_at(l, a, b, N), naive(a, b, N));
        assert_int_equal(sy_bits_and_count(a, b, 1024), naive(a, b, 1024));
        assert_int_equal(sy_bits_count(a, 1024), naive(a, a, 1024));
    }
}

static void test_alloc_scan(void **state) {
    (void)state;
    size_t sizes[] = {0, 1, 4096, (size_t)5 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = sy_alloc_scan(sizes[i]);
        assert_non_null(p);
        if (sizes[i] >= ((size_t)4 << 20)) assert_int_equal((uintptr_t)p % ((size_t)2 << 20), 0);
        for (size_t j = 0; j < sizes[i]; j += 4096)
            p[j] = (unsigned char)j;
        free(p);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_agree),
        cmocka_unit_test(test_alloc_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
