/* Unit tests for engine/: a differential test of the event index against
 * plain loops over the same random events, merges, and idset algebra. */
#include "test.h"
#include "engine/engine.h"

#define N_EV 20000
#define N_CONTACTS 300

static sy_engine_event evs[N_EV];
static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill(sy_engine *e) {
    for (int i = 0; i < N_EV; i++) {
        sy_engine_event *v = &evs[i];
        memset(v, 0, sizeof *v);
        v->contact = 1 + (uint32_t)(next() % N_CONTACTS);
        v->type = (uint16_t)(next() % 7);
        v->ts =
            1700000000000LL + (int64_t)(next() % (90LL * 86400000)); /* out of order on purpose */
        if (v->type == 3) {
            v->flags = SY_EV_ORDER;
            v->revenue_fen = 100 + (int64_t)(next() % 50000);
        }
        if (v->type == 6) v->flags = SY_EV_SYSTEM;
        v->dims[SY_DIM_CATEGORY] = (uint16_t)(next() % 5);
    }
    /* append in uneven batches, as group commits do */
    for (int i = 0; i < N_EV;) {
        int n = 1 + (int)(next() % 500);
        if (i + n > N_EV) n = N_EV - i;
        assert_int_equal(sy_engine_append(e, evs + i, (size_t)n), 0);
        i += n;
    }
}

static void naive_profile(uint32_t c, const uint32_t *canon, sy_engine_profile *p) {
    memset(p, 0, sizeof *p);
    for (int i = 0; i < N_EV; i++) {
        if (canon[evs[i].contact] != c) continue;
        p->events++;
        if (!(evs[i].flags & SY_EV_SYSTEM)) {
            if (!p->first_seen || evs[i].ts < p->first_seen) p->first_seen = evs[i].ts;
            if (evs[i].ts > p->last_seen) p->last_seen = evs[i].ts;
        }
        if (evs[i].flags & SY_EV_ORDER) {
            p->orders++;
            p->spend_fen += evs[i].revenue_fen;
            if (evs[i].ts > p->last_order_at) p->last_order_at = evs[i].ts;
        }
    }
}

static void check_contact(sy_engine *e, uint32_t c, const uint32_t *canon) {
    sy_engine_profile got, want;
    sy_engine_profile_get(e, c, &got);
    naive_profile(c, canon, &want);
    assert_int_equal(got.events, want.events);
    assert_int_equal(got.orders, want.orders);
    assert_int_equal(got.spend_fen, want.spend_fen);
    assert_int_equal(got.first_seen, want.first_seen);
    assert_int_equal(got.last_seen, want.last_seen);
    assert_int_equal(got.last_order_at, want.last_order_at);
    /* events of type 2 in a window, newest first, paged */
    int64_t from = 1700000000000LL + 10LL * 86400000, to = from + 30LL * 86400000;
    size_t want_n = 0;
    int64_t prev = INT64_MAX;
    for (int i = 0; i < N_EV; i++)
        if (canon[evs[i].contact] == c && evs[i].type == 2 && evs[i].ts >= from && evs[i].ts < to)
            want_n++;
    uint32_t pos[4096];
    size_t total = sy_engine_contact_events(e, c, from, to, 2, 0, pos, 4096);
    assert_int_equal(total, want_n);
    for (size_t k = 0; k < total; k++) {
        sy_engine_event ev;
        sy_engine_event_at(e, pos[k], &ev);
        assert_int_equal(ev.type, 2);
        assert_true(ev.ts <= prev);
        assert_true(ev.ts >= from && ev.ts < to);
        assert_int_equal(canon[ev.contact], c);
        prev = ev.ts;
    }
    if (total > 3) { /* offset paging returns the same sequence */
        uint32_t page[2];
        assert_int_equal(sy_engine_contact_events(e, c, from, to, 2, 2, page, 2), total);
        assert_int_equal(page[0], pos[2]);
        assert_int_equal(page[1], pos[3]);
    }
}

static void test_differential(void **state) {
    (void)state;
    sy_engine *e = sy_engine_create();
    fill(e);
    assert_int_equal(sy_engine_size(e), N_EV);
    uint32_t canon[N_CONTACTS + 1];
    for (uint32_t i = 0; i <= N_CONTACTS; i++)
        canon[i] = i;
    for (uint32_t c = 1; c <= N_CONTACTS; c += 7)
        check_contact(e, c, canon);

    /* merge 5 into 9 and 17 into 9; then unmerge 5 */
    sy_engine_merge(e, 5, 9);
    sy_engine_merge(e, 17, 9);
    canon[5] = canon[17] = 9;
    check_contact(e, 9, canon);
    sy_engine_profile p5;
    sy_engine_profile_get(e, 5, &p5);
    assert_int_equal(p5.events, 0);
    sy_engine_unmerge(e, 5);
    canon[5] = 5;
    check_contact(e, 9, canon);
    check_contact(e, 5, canon);

    /* who did type 3 (orders) in the first 30 days, and never system events */
    int64_t from = 1700000000000LL, to = from + 30LL * 86400000;
    sy_idset *s = sy_engine_who_did(e, 3, from, to, 0);
    uint64_t want = 0;
    for (uint32_t c = 1; c <= N_CONTACTS; c++) {
        if (canon[c] != c) continue;
        int did = 0;
        for (int i = 0; i < N_EV && !did; i++)
            did = canon[evs[i].contact] == c && evs[i].type == 3 && evs[i].ts >= from &&
                  evs[i].ts < to;
        want += did;
        assert_int_equal(sy_idset_contains(s, c), did);
    }
    assert_int_equal(sy_idset_count(s), want);
    sy_idset *sys = sy_engine_who_did(e, 6, 0, INT64_MAX, 0);
    assert_int_equal(sy_idset_count(sys), 0);
    sy_idset_destroy(sys);
    sy_idset_destroy(s);

    size_t total, base;
    sy_engine_memory(e, &total, &base);
    assert_true(base >= (size_t)N_EV * 15);
    assert_true(total >= base);
    sy_engine_destroy(e);
}

static void test_idset(void **state) {
    (void)state;
    sy_idset *a = sy_idset_create(), *b = sy_idset_create();
    for (uint32_t i = 0; i < 1000; i += 2)
        sy_idset_add(a, i);
    for (uint32_t i = 0; i < 1000; i += 3)
        sy_idset_add(b, i);
    sy_idset *and = sy_idset_copy(a), * or = sy_idset_copy(a), *not = sy_idset_copy(a);
    sy_idset_and(and, b);
    sy_idset_or(or, b);
    sy_idset_andnot(not, b);
    uint64_t n_and = 0, n_or = 0, n_not = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        n_and += (i % 2 == 0 && i % 3 == 0);
        n_or += (i % 2 == 0 || i % 3 == 0);
        n_not += (i % 2 == 0 && i % 3 != 0);
    }
    assert_int_equal(sy_idset_count(and), n_and);
    assert_int_equal(sy_idset_count(or), n_or);
    assert_int_equal(sy_idset_count(not ), n_not);
    uint32_t out[4];
    assert_int_equal(sy_idset_list(and, 7, out, 4), 4);
    assert_int_equal(out[0], 12);
    assert_int_equal(out[3], 30);
    sy_idset_remove(and, 12);
    assert_false(sy_idset_contains(and, 12));
    sy_idset_destroy(a);
    sy_idset_destroy(b);
    sy_idset_destroy(and);
    sy_idset_destroy(or);
    sy_idset_destroy(not );
    sy_idset_destroy(NULL);
}

/* --- analytics scans: contact-major lists and day sets against plain loops,
 * across merges, packing (sy_engine_compact) and appends after packing --- */

static uint32_t canon_of(const uint32_t *merged_into, uint32_t c) {
    while (merged_into[c])
        c = merged_into[c];
    return c;
}

typedef struct scan_check {
    uint64_t events, contacts;
    int64_t last_ts;
    uint32_t last_contact;
    int ordered;
    uint64_t per_contact[N_CONTACTS + 1];
} scan_check;

static void scan_fn(void *ctx, uint32_t contact, const sy_engine_rec *r, size_t n) {
    scan_check *c = ctx;
    c->contacts++;
    c->events += n;
    if (contact <= N_CONTACTS) c->per_contact[contact] += n;
    if (contact <= c->last_contact && c->contacts > 1) c->ordered = 0;
    c->last_contact = contact;
    for (size_t i = 1; i < n; i++)
        if (r[i].ts < r[i - 1].ts) c->ordered = 0;
}

static sy_engine_event all_evs[N_EV + 50];

typedef struct counts_check {
    int64_t cnt[92][5], sum[92][5];
} counts_check;

static void counts_fn(void *ctx, int day, uint16_t value, int64_t count, int64_t sum_fen) {
    counts_check *c = ctx;
    assert_true(day >= 0 && day < 92 && value < 5);
    c->cnt[day][value] += count;
    c->sum[day][value] += sum_fen;
}

static void check_scans(sy_engine *e, const uint32_t *merged_into, int n_ev) {
    /* contact-major scan: every event once, under its canonical contact, in time order */
    scan_check a = {0}, b = {0};
    a.ordered = b.ordered = 1;
    void *ctx[2] = {&a, &b};
    assert_int_equal(sy_engine_scan_contacts(e, NULL, 2, scan_fn, ctx), 0);
    assert_int_equal(a.events + b.events, (uint64_t)n_ev);
    assert_true(a.ordered && b.ordered);
    uint64_t want[N_CONTACTS + 1] = {0};
    for (int i = 0; i < n_ev; i++)
        want[canon_of(merged_into, all_evs[i].contact)]++;
    for (uint32_t c = 1; c <= N_CONTACTS; c++)
        assert_int_equal(a.per_contact[c] + b.per_contact[c], want[c]);
    /* day sets: day = floor((ts + 8 h) / 24 h) in Asia/Shanghai */
    int64_t first = (1700000000000LL + 8 * 3600000LL) / 86400000LL;
    enum { DAYS = 92 };
    sy_idset *sets[DAYS];
    /* built ahead (as a server does after loading): every position filed,
     * and the sets below the same as if the question had built them */
    size_t filed = 0;
    assert_int_equal(sy_engine_days_warm(e, "Asia/Shanghai", -1, &filed), 0);
    assert_int_equal(filed, (size_t)n_ev);
    assert_int_equal(sy_engine_active_day_sets(e, "Asia/Shanghai", -1, first, DAYS, sets), 0);
    for (int d = 0; d < DAYS; d++) {
        static uint8_t seen[N_CONTACTS + 1];
        memset(seen, 0, sizeof seen);
        uint64_t n = 0;
        for (int i = 0; i < n_ev; i++) {
            if (all_evs[i].flags & (SY_EV_SYSTEM | SY_EV_META)) continue;
            if ((all_evs[i].ts + 8 * 3600000LL) / 86400000LL != first + d) continue;
            uint32_t c = canon_of(merged_into, all_evs[i].contact);
            if (!seen[c]) {
                seen[c] = 1;
                n++;
                assert_true(sy_idset_contains(sets[d], c));
            }
        }
        assert_int_equal(sy_idset_count(sets[d]), n);
        sy_idset_destroy(sets[d]);
    }
    /* first time of type 2 per canonical contact, within a window */
    uint32_t *fids;
    int64_t *fts;
    size_t nf;
    int all_active;
    const int64_t lo = 1700000000000LL + 10 * 86400000LL, hi = lo + 40 * 86400000LL;
    assert_int_equal(
        sy_engine_first_times(e, "Asia/Shanghai", 2, lo, hi, &fids, &fts, &nf, &all_active), 0);
    assert_true(all_active);
    size_t j = 0;
    for (uint32_t c = 1; c <= N_CONTACTS; c++) {
        int64_t f0 = 0;
        for (int i = 0; i < n_ev; i++)
            if (all_evs[i].type == 2 && canon_of(merged_into, all_evs[i].contact) == c &&
                (!f0 || all_evs[i].ts < f0))
                f0 = all_evs[i].ts;
        if (!f0 || f0 < lo || f0 >= hi) continue;
        assert_true(j < nf);
        assert_int_equal(fids[j], c);
        assert_int_equal(fts[j], f0);
        j++;
    }
    assert_int_equal(j, nf);
    free(fids);
    free(fts);
    assert_int_equal(
        sy_engine_first_times(e, "Asia/Shanghai", 6, 0, INT64_MAX, &fids, &fts, &nf, &all_active),
        0);
    assert_false(all_active); /* type 6 is a system event in fill() */
    free(fids);
    free(fts);
    /* day arrays equal the day sets when nothing is merged */
    {
        uint32_t *arr[DAYS];
        size_t cnt[DAYS];
        sy_idset *odd = sy_idset_create();
        for (uint32_t c = 1; c <= N_CONTACTS; c += 2)
            sy_idset_add(odd, c);
        int r = sy_engine_active_day_arrays(e, "Asia/Shanghai", -1, first, DAYS, odd, arr, cnt);
        int merged = 0;
        for (uint32_t c = 0; c <= N_CONTACTS; c++)
            merged |= merged_into[c] != 0;
        if (merged) {
            assert_int_equal(r, SY_E_UNSUPPORTED);
        } else {
            assert_int_equal(r, 0);
            sy_idset *sets2[DAYS];
            assert_int_equal(sy_engine_active_day_sets(e, "Asia/Shanghai", -1, first, DAYS, sets2),
                             0);
            for (int d = 0; d < DAYS; d++) {
                assert_int_equal(cnt[d], sy_idset_and_count(sets2[d], odd));
                for (size_t i = 0; i < cnt[d]; i++)
                    assert_true(sy_idset_contains(sets2[d], arr[d][i]) && arr[d][i] % 2 == 1);
                free(arr[d]);
                sy_idset_destroy(sets2[d]);
            }
        }
        sy_idset_destroy(odd);
    }
    /* per-day counts and amounts of type 3 (orders) by category */
    static counts_check got, expect;
    memset(&got, 0, sizeof got);
    memset(&expect, 0, sizeof expect);
    assert_int_equal(sy_engine_type_day_counts(e, "Asia/Shanghai", 3, SY_DIM_CATEGORY, first, DAYS,
                                               counts_fn, &got),
                     0);
    for (int i = 0; i < n_ev; i++) {
        if (all_evs[i].type != 3) continue;
        int64_t d = (all_evs[i].ts + 8 * 3600000LL) / 86400000LL - first;
        if (d < 0 || d >= DAYS) continue;
        expect.cnt[d][all_evs[i].dims[SY_DIM_CATEGORY]]++;
        expect.sum[d][all_evs[i].dims[SY_DIM_CATEGORY]] += all_evs[i].revenue_fen;
    }
    assert_memory_equal(&got, &expect, sizeof got);
}

typedef struct lists_check {
    uint64_t n[N_CONTACTS + 1][2];
    int64_t ts_sum[N_CONTACTS + 1][2];
    int ordered;
    int cols_calls;
} lists_check;

static void lists_fn(void *ctx, uint32_t contact, const sy_engine_tev *const *lists,
                     const sy_engine_tsec *secs, const size_t *counts, int n) {
    lists_check *c = ctx;
    assert_int_equal(n, 2);
    assert_non_null(secs); /* every test time is >= 0 */
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < counts[k]; i++) {
            assert_int_equal(secs[k].sec[i], lists[k][i].ts / 1000);
            assert_int_equal(secs[k].ms[i], lists[k][i].ts % 1000);
        }
    assert_true(contact <= N_CONTACTS && counts[0] > 0);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < counts[k]; i++) {
            c->n[contact][k]++;
            c->ts_sum[contact][k] += lists[k][i].ts;
            if (i && lists[k][i].ts < lists[k][i - 1].ts) c->ordered = 0;
        }
}

/* The same through the packed columns: one call per thread. */
static void lists_cols_fn(void *ctx, uint32_t lo, uint32_t hi, const sy_engine_tcol *cols, int n) {
    lists_check *c = ctx;
    c->cols_calls++;
    for (int k = 0; k < n; k++) { /* the bitmaps of who has events, the seconds' bounds */
        uint32_t lo_s = UINT32_MAX, hi_s = 0;
        for (uint32_t id = 0; id < cols[k].n_ids; id++) {
            uint32_t a = cols[k].off[id], b = cols[k].off[id + 1];
            assert_int_equal((cols[k].has[id / 64] >> (id % 64)) & 1, a != b);
            for (uint32_t i = a; i < b; i++) {
                if (cols[k].sec[i] < lo_s) lo_s = cols[k].sec[i];
                if (cols[k].sec[i] > hi_s) hi_s = cols[k].sec[i];
            }
        }
        assert_int_equal(cols[k].min_sec, lo_s);
        assert_int_equal(cols[k].max_sec, hi_s);
    }
    for (uint32_t id = lo; id < hi; id++) {
        if (id >= cols[0].n_ids || cols[0].off[id] == cols[0].off[id + 1]) continue;
        const sy_engine_tev *lists[2];
        sy_engine_tsec secs[2];
        size_t counts[2];
        for (int k = 0; k < n; k++) {
            uint32_t a = id < cols[k].n_ids ? cols[k].off[id] : 0;
            uint32_t b = id < cols[k].n_ids ? cols[k].off[id + 1] : 0;
            lists[k] = cols[k].ev + a;
            secs[k] = (sy_engine_tsec){cols[k].sec + a, cols[k].ms + a};
            counts[k] = b - a;
        }
        lists_fn(ctx, id, lists, secs, counts, n);
    }
}

/* Per-type lists (no merges): every contact with a type-2 event, its type-2
 * and type-4 events, in time order; handed out as columns when nothing was
 * appended since they were packed (want_cols), contact by contact
 * otherwise. */
static void check_lists(sy_engine *e, int n_ev, int want_cols) {
    static lists_check a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.ordered = b.ordered = 1;
    void *ctx[2] = {&a, &b};
    int types[2] = {2, 4};
    assert_int_equal(sy_engine_scan_type_lists(e, types, 2, NULL, 2, lists_fn, lists_cols_fn, ctx),
                     0);
    assert_true(a.ordered && b.ordered);
    if (want_cols)
        assert_int_equal(a.cols_calls + b.cols_calls, 1); /* one range of 16,384 ids */
    else
        assert_int_equal(a.cols_calls + b.cols_calls, 0);
    for (uint32_t c = 1; c <= N_CONTACTS; c++) {
        uint64_t n2 = 0, n4 = 0;
        int64_t s2 = 0, s4 = 0;
        for (int i = 0; i < n_ev; i++) {
            if (all_evs[i].contact != c) continue;
            if (all_evs[i].type == 2) n2++, s2 += all_evs[i].ts;
            if (all_evs[i].type == 4) n4++, s4 += all_evs[i].ts;
        }
        if (!n2) n4 = 0, s4 = 0; /* only contacts with a step-1 event are visited */
        assert_int_equal(a.n[c][0] + b.n[c][0], n2);
        assert_int_equal(a.n[c][1] + b.n[c][1], n4);
        assert_int_equal(a.ts_sum[c][0] + b.ts_sum[c][0], s2);
        assert_int_equal(a.ts_sum[c][1] + b.ts_sum[c][1], s4);
    }
}

static void test_analytics_scans(void **state) {
    (void)state;
    sy_engine *e = sy_engine_create();
    fill(e); /* appends every event */
    memcpy(all_evs, evs, sizeof evs);
    static uint32_t merged_into[N_CONTACTS + 1];
    memset(merged_into, 0, sizeof merged_into);
    check_scans(e, merged_into, N_EV);
    assert_int_equal(sy_engine_compact(e), 0);
    check_scans(e, merged_into, N_EV);
    check_lists(e, N_EV, 1); /* builds the lists */
    /* a few appends: served as a delta merged into the packed lists */
    for (int i = 0; i < 50; i++) {
        all_evs[N_EV + i] = evs[(i * 397) % N_EV];
        /* some later, some days earlier: first times move back */
        all_evs[N_EV + i].ts += i % 2 ? 1000 * (i + 1) : -3 * 86400000LL - 1000 * i;
    }
    assert_int_equal(sy_engine_append(e, all_evs + N_EV, 50), 0);
    check_lists(e, N_EV + 50, 0);
    check_scans(e, merged_into, N_EV + 50); /* indexes brought up to date, no merges */
    sy_engine_merge(e, 7, 3);
    merged_into[7] = 3;
    sy_engine_merge(e, 3, 11);
    merged_into[3] = 11;
    check_scans(e, merged_into, N_EV + 50);
    {
        int types[2] = {2, 4};
        void *ctx[2] = {NULL, NULL};
        assert_int_equal(sy_engine_scan_type_lists(e, types, 2, NULL, 2, lists_fn, NULL, ctx),
                         SY_E_UNSUPPORTED); /* merged contacts: callers scan contacts */
    }
    sy_engine_unmerge(e, 7);
    merged_into[7] = 0;
    check_scans(e, merged_into, N_EV + 50);
    assert_int_equal(sy_engine_compact(e), 0);
    check_scans(e, merged_into, N_EV + 50);
    sy_engine_destroy(e);
}

/* sy_engine_day_blocks: every block's bitmaps equal the day sets and the
 * first-day sets, over blocks holding arrays (sparse) and bitsets (dense),
 * with an empty block between; merges and non-activity first types are
 * refused. */
enum { BLK_DAYS = 6 };
typedef struct blocks_check {
    sy_idset *day[BLK_DAYS], *first[BLK_DAYS];
    int calls, bad;
    uint32_t blocks_seen;
} blocks_check;

static void bits_vs_set(blocks_check *c, uint32_t b, const uint64_t *bits, const sy_idset *set) {
    for (uint32_t w = 0; w < SY_BLOCK_WORDS; w++)
        for (uint32_t j = 0; j < 64; j++) {
            uint32_t id = b * SY_BLOCK_IDS + w * 64 + j;
            int got = bits && ((bits[w] >> j) & 1);
            if (got != sy_idset_contains(set, id)) c->bad++;
        }
}

static void blocks_fn(void *ctx, uint32_t b, const uint64_t *const *active,
                      const uint64_t *const *first) {
    blocks_check *c = ctx;
    c->calls++;
    c->blocks_seen |= 1u << b;
    for (int i = 0; i < BLK_DAYS; i++) {
        bits_vs_set(c, b, active[i], c->day[i]);
        bits_vs_set(c, b, first[i], c->first[i]);
    }
}

static void test_day_blocks(void **state) {
    (void)state;
    sy_engine *e = sy_engine_create();
    const int64_t t0 = 1700000000000LL; /* day sets in Asia/Shanghai */
    const int64_t day0 = (t0 + 8 * 3600000LL) / 86400000LL;
    static sy_engine_event ev[120000];
    size_t n = 0;
    uint64_t r = 7;
    for (int d = 0; d < BLK_DAYS; d++) {
        /* block 0: a few hundred ids a day (arrays); block 1: most of
         * 10,000 ids (bitsets); block 3: a handful; block 2: none */
        for (uint32_t k = 0; k < 10000; k++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            uint32_t x = (uint32_t)(r >> 33);
            uint32_t id = k < 300 ? 1 + k : k < 9000 ? SY_BLOCK_IDS + k : 3 * SY_BLOCK_IDS + k;
            if (k < 300 && x % 3) continue;
            if (k >= 9000 && x % 50) continue;
            sy_engine_event *v = &ev[n++];
            memset(v, 0, sizeof *v);
            v->contact = id;
            v->type = x % 4 == 0 ? 2 : 1;
            v->ts = t0 + d * 86400000LL + (int64_t)(x % 80000000);
        }
    }
    /* one system event of type 5 */
    memset(&ev[n], 0, sizeof ev[n]);
    ev[n].contact = 5;
    ev[n].type = 5;
    ev[n].flags = SY_EV_SYSTEM;
    ev[n++].ts = t0;
    assert_int_equal(sy_engine_append(e, ev, n), 0);
    blocks_check a = {0}, b = {0};
    assert_int_equal(sy_engine_active_day_sets(e, "Asia/Shanghai", -1, day0, BLK_DAYS, a.day), 0);
    for (int d = 0; d < BLK_DAYS; d++)
        a.first[d] = sy_idset_create();
    /* first type-2 day of each contact, by brute force */
    static int64_t first_ts[4 * SY_BLOCK_IDS];
    memset(first_ts, 0, sizeof first_ts);
    for (size_t i = 0; i < n; i++)
        if (ev[i].type == 2 && (!first_ts[ev[i].contact] || ev[i].ts < first_ts[ev[i].contact]))
            first_ts[ev[i].contact] = ev[i].ts;
    for (uint32_t id = 0; id < 4 * SY_BLOCK_IDS; id++) {
        int64_t d = first_ts[id] ? (first_ts[id] + 8 * 3600000LL) / 86400000LL - day0 : -1;
        if (d >= 0 && d < BLK_DAYS) sy_idset_add(a.first[d], id);
    }
    memcpy(b.day, a.day, sizeof a.day);
    memcpy(b.first, a.first, sizeof a.first);
    void *ctx[2] = {&a, &b};
    assert_int_equal(sy_engine_day_blocks(e, "Asia/Shanghai", -1, day0, BLK_DAYS, 2, day0, BLK_DAYS,
                                          blocks_fn, ctx),
                     0);
    assert_int_equal(a.bad + b.bad, 0);
    assert_true(sy_engine_blocks_in_place());                      /* Debian 12's CRoaring 0.2.66 */
    assert_int_equal(a.blocks_seen | b.blocks_seen, 1u | 2u | 8u); /* block 2 is empty */
    assert_int_equal(a.blocks_seen & b.blocks_seen, 0);            /* one thread a block */
    /* an idset's block: in place or spread into the scratch */
    static uint64_t scratch[SY_BLOCK_WORDS];
    blocks_check c = {0};
    for (uint32_t blk = 0; blk < 4; blk++)
        bits_vs_set(&c, blk, sy_idset_block(a.day[2], blk, scratch), a.day[2]);
    assert_int_equal(c.bad, 0);
    assert_null(sy_idset_block(a.day[2], 2, scratch));
    /* refused: a first type that is not activity, and merged contacts */
    assert_int_equal(sy_engine_day_blocks(e, "Asia/Shanghai", -1, day0, BLK_DAYS, 5, day0, BLK_DAYS,
                                          blocks_fn, ctx),
                     SY_E_UNSUPPORTED);
    sy_engine_merge(e, 2, 1);
    assert_int_equal(sy_engine_day_blocks(e, "Asia/Shanghai", -1, day0, BLK_DAYS, 2, day0, BLK_DAYS,
                                          blocks_fn, ctx),
                     SY_E_UNSUPPORTED);
    for (int d = 0; d < BLK_DAYS; d++) {
        sy_idset_destroy(a.day[d]);
        sy_idset_destroy(a.first[d]);
    }
    sy_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_idset),
        cmocka_unit_test(test_analytics_scans),
        cmocka_unit_test(test_day_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
