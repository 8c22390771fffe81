/* Replays the segment definition fuzz corpus (tests/fuzz/corpus/segment) through the
 * fuzz target's checks in ordinary CI, without libFuzzer. */
#include "test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#include "../fuzz/fuzz_segment.c"

static void test_replay(void **state) {
    (void)state;
    assert_true(
        test_replay_corpus(TEST_DATA_DIR "/../fuzz/corpus/segment", LLVMFuzzerTestOneInput) >= 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_replay)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
