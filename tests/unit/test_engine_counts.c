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

/* The day-bucket path (no dimension or sum filter): events spread over many
 * days in random order, some far outside the bucket span, appended in
 * rounds between queries (cached day sets must follow), merges and unmerges
 * in between, windows with edges inside days and on day boundaries. */
#define DAY 86400000LL
#define NDAYS 40
#define N2 6000

static void test_counts_days(void **state) {
    (void)state;
    sy_engine *e = sy_engine_create();
    static sy_engine_event ev[N2];
    uint32_t canon[NCON + 1];
    for (uint32_t c = 0; c <= NCON; c++)
        canon[c] = c;
    const int64_t base = 20000 * DAY; /* 2024 */
    for (int i = 0; i < N2; i++) {
        ev[i] = (sy_engine_event){0};
        ev[i].contact = 1 + rnd(NCON);
        ev[i].type = (uint16_t)(1 + rnd(3));
        ev[i].ts = base + (int64_t)rnd(NDAYS) * DAY + (int64_t)rnd((uint32_t)DAY);
        if (rnd(200) == 0) ev[i].ts = rnd(2) ? -5 * DAY - 7 : base + 30000 * DAY + 11; /* far */
        ev[i].flags = rnd(10) == 0 ? SY_EV_SYSTEM : rnd(10) == 0 ? SY_EV_META : 0;
    }
    size_t appended = 0;
    for (int round = 0; round < 600; round++) {
        if (round % 50 == 0 && appended < N2) { /* more events arrive */
            size_t n = N2 / 10;
            assert_int_equal(sy_engine_append(e, ev + appended, n), 0);
            appended += n;
        }
        if (round == 150)
            for (uint32_t c = 3; c <= NCON; c += 5) {
                sy_engine_merge(e, c, c - 2);
                canon[c] = canon[c - 2];
            }
        if (round == 400) {
            sy_engine_unmerge(e, 8);
            canon[8] = 8;
        }
        int type = 1 + (int)rnd(3);
        int64_t from, to;
        switch (rnd(4)) {
        case 0: /* day boundaries */
            from = base + (int64_t)rnd(NDAYS) * DAY;
            to = from + (int64_t)rnd(NDAYS) * DAY;
            break;
        case 1: /* everything before a point */
            from = INT64_MIN;
            to = base + (int64_t)rnd(NDAYS + 2) * DAY + rnd(1000);
            break;
        default:
            from = base - DAY + (int64_t)rnd((NDAYS + 1) * 24) * 3600000LL + rnd(3600000);
            to = from + (int64_t)rnd(NDAYS * 24) * 3600000LL + rnd(3600000);
        }
        if (rnd(30) == 0) from = -10 * DAY, to = INT64_MAX; /* the far events too */
        uint32_t minc = rnd(3) ? 1 : 1 + rnd(5);
        sy_idset *got = sy_engine_who_counts(e, type, from, to, NULL, minc, INT64_MIN);
        assert_non_null(got);
        uint32_t cnt[NCON + 1] = {0};
        for (size_t i = 0; i < appended; i++) {
            if (ev[i].type != type || ev[i].ts < from || ev[i].ts >= to) continue;
            if (ev[i].flags & (SY_EV_SYSTEM | SY_EV_META)) continue;
            cnt[canon[ev[i].contact]]++;
        }
        uint64_t want_n = 0;
        for (uint32_t c = 1; c <= NCON; c++) {
            int want = cnt[c] >= minc;
            want_n += want;
            if (want != sy_idset_contains(got, c))
                fail_msg("round %d type %d [%lld, %lld) min %u contact %u: want %d (count %u)",
                         round, type, (long long)from, (long long)to, minc, c, want, cnt[c]);
        }
        assert_int_equal(sy_idset_count(got), want_n);
        sy_idset_destroy(got);
    }
    sy_engine_destroy(e);
}

/* Many contacts (several roaring containers, dense and sparse), so that the
 * bits → set conversion is exercised on both container kinds. */
static void test_counts_wide(void **state) {
    (void)state;
    sy_engine *e = sy_engine_create();
    enum { NW = 300000 };
    sy_engine_event *ev = calloc(NW, sizeof *ev);
    uint8_t *did = calloc(400000, 1), *twice = calloc(400000, 1);
    for (int i = 0; i < NW; i++) {
        /* contacts below 131072 often (bitset containers), above rarely */
        uint32_t c = rnd(4) ? 1 + rnd(131071) : 131072 + rnd(260000);
        ev[i].contact = c;
        ev[i].type = 1;
        ev[i].ts = 20000 * DAY + (int64_t)rnd(10) * DAY + rnd(1000);
        if (did[c]) twice[c] = 1;
        did[c] = 1;
    }
    assert_int_equal(sy_engine_append(e, ev, NW), 0);
    for (uint32_t minc = 1; minc <= 2; minc++) {
        sy_idset *got = sy_engine_who_counts(e, 1, INT64_MIN, INT64_MAX, NULL, minc, INT64_MIN);
        assert_non_null(got);
        uint64_t want_n = 0;
        for (uint32_t c = 0; c < 400000; c++) {
            int want = minc == 1 ? did[c] : twice[c];
            want_n += want;
            if (want != sy_idset_contains(got, c)) fail_msg("min %u contact %u", minc, c);
        }
        assert_int_equal(sy_idset_count(got), want_n);
        sy_idset_destroy(got);
    }
    free(ev);
    free(did);
    free(twice);
    sy_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_counts),
                                       cmocka_unit_test(test_counts_days),
                                       cmocka_unit_test(test_counts_wide)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
