/* test_engine_counts.c — sy_engine_who_counts against a plain loop over the
 * same random events, with merges, system/meta events and dimension filters. */
#include "test.h"
#include "engine/engine.h"

#define N 4000
#define NCON 80

static uint64_t rng = 12345;
static uint32_t rnd(uint32_t n) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rng >> 33) % n);
}

static void test_counts(void **state) {
    (void)state;
    sy_engine *e = sy_engine_create();
    static sy_engine_event ev[N];
    uint32_t canon[NCON + 1];
    for (uint32_t c = 0; c <= NCON; c++)
        canon[c] = c;
    for (int i = 0; i < N; i++) {
        ev[i] = (sy_engine_event){0};
        ev[i].contact = 1 + rnd(NCON);
        ev[i].type = (uint16_t)(1 + rnd(3));
        ev[i].ts = 1000000 + (int64_t)rnd(100000);
        ev[i].flags = rnd(10) == 0 ? SY_EV_SYSTEM : rnd(10) == 0 ? SY_EV_META : 0;
        if (ev[i].type == 1) {
            ev[i].flags |= SY_EV_ORDER;
            ev[i].revenue_fen = 1 + rnd(5000);
        }
        ev[i].dims[SY_DIM_CATEGORY] = (uint16_t)rnd(3);
        ev[i].dims[SY_DIM_STORE] = (uint16_t)rnd(2);
    }
    /* append in two halves with merges in between */
    assert_int_equal(sy_engine_append(e, ev, N / 2), 0);
    for (uint32_t c = 2; c <= NCON; c += 7) {
        sy_engine_merge(e, c, c - 1);
        canon[c] = c - 1;
    }
    assert_int_equal(sy_engine_append(e, ev + N / 2, N - N / 2), 0);
    sy_engine_unmerge(e, 9);
    canon[9] = 9;
    for (int round = 0; round < 300; round++) {
        int type = 1 + (int)rnd(3);
        int64_t from = 1000000 + rnd(60000), to = from + rnd(60000);
        uint16_t dims[SY_DIM_COUNT] = {0};
        if (rnd(2)) dims[SY_DIM_CATEGORY] = (uint16_t)(1 + rnd(2));
        if (rnd(3) == 0) dims[SY_DIM_STORE] = 1;
        uint32_t minc = 1 + rnd(4);
        int64_t mins = rnd(2) ? INT64_MIN : (int64_t)rnd(20000);
        sy_idset *got = sy_engine_who_counts(e, type, from, to, dims, minc, mins);
        assert_non_null(got);
        uint32_t cnt[NCON + 1] = {0};
        int64_t sum[NCON + 1] = {0};
        for (int i = 0; i < N; i++) {
            if (ev[i].type != type || ev[i].ts < from || ev[i].ts >= to) continue;
            if (ev[i].flags & (SY_EV_SYSTEM | SY_EV_META)) continue;
            if (dims[SY_DIM_CATEGORY] && ev[i].dims[SY_DIM_CATEGORY] != dims[SY_DIM_CATEGORY])
                continue;
            if (dims[SY_DIM_STORE] && ev[i].dims[SY_DIM_STORE] != dims[SY_DIM_STORE]) continue;
            uint32_t c = canon[ev[i].contact];
            cnt[c]++;
            sum[c] += ev[i].revenue_fen;
        }
        uint64_t want_n = 0;
        for (uint32_t c = 1; c <= NCON; c++) {
            int want = cnt[c] >= minc && (mins == INT64_MIN || sum[c] >= mins);
            want_n += want;
            if (want != sy_idset_contains(got, c))
                fail_msg("round %d contact %u: want %d", round, c, want);
        }
        assert_int_equal(sy_idset_count(got), want_n);
        sy_idset_destroy(got);
    }
    sy_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_counts)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
