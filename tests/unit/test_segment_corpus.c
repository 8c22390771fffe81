/* Replays the segment definition fuzz corpus (tests/fuzz/corpus/segment)
 * through the fuzz target's checks in ordinary CI, without libFuzzer. */
#include <dirent.h>
#include "test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#include "../fuzz/fuzz_segment.c"

static void test_replay(void **state) {
    (void)state;
    const char *dir = TEST_DATA_DIR "/../fuzz/corpus/segment";
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *ent;
    int n = 0;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static uint8_t buf[1 << 20];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        n++;
    }
    closedir(d);
    assert_true(n >= 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_replay)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
