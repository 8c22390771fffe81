/* engine_days.c — for every local day, the contacts active that day.
 *
 * DAU, day-N retention and unique-contact trends ask "who did anything (or
 * event E) on day d" for many days; scanning 20 M events for each question
 * costs tens of milliseconds, a set per day costs microseconds. The index
 * files each activity event (not system, not meta) under its day in the
 * workspace timezone, once for "any activity" and once per event type that
 * was asked about. It is built at the first question and kept current
 * lazily: each question first files the positions appended since the
 * previous one (positions never change, so a cursor is enough). A question
 * in another timezone rebuilds it.
 *
 * Contact ids are filed as appended (raw); merges are applied when sets are
 * handed out, so merging and unmerging invalidate nothing. All state is
 * guarded by the index mutex; callers hold the engine's read lock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <roaring/containers/containers.h>
#include "engine_int.h"
#include "base/clock.h"
#include "base/err.h"

#define DAY_MS 86400000LL
#define MAX_SPAN 40000   /* days a key covers (~110 years); events outside are not filed */
#define SLOT_MS 900000LL /* timezone offsets are cached per quarter hour */
#define SLOTS 4096

typedef struct day_key {
    int type;    /* -1: any activity */
    size_t done; /* positions (type -1) or entries of the type's list filed */
    int64_t day0;
    roaring_bitmap_t **days;
    size_t n_days;
    /* type >= 0: time of each raw contact's first event of the type (0 =
     * none), and whether any event of the type is not activity */
    int64_t *first;
    size_t n_first;
    int inactive;
    /* type >= 0: by local day, the raw contacts whose first event of the
     * type falls on it (first-time questions read a few days' sets instead
     * of every contact's first time); unfiled: some first time fell
     * outside MAX_SPAN and is in no set */
    roaring_bitmap_t **fdays;
    int64_t fday0;
    size_t n_fdays;
    int unfiled;
} day_key;

struct day_index {
    pthread_mutex_t lock;
    struct count_index *counts; /* per-day counts by dimension (below) */
    char tz[64];
    day_key *keys;
    size_t n_keys;
    int64_t slot_key[SLOTS];
    int slot_off[SLOTS];
};

struct count_index;
void sy_days_counts_free(struct day_index *x);

struct day_index *sy_days_create(void) {
    struct day_index *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    pthread_mutex_init(&x->lock, NULL);
    return x;
}

static void key_clear(day_key *k) {
    for (size_t i = 0; i < k->n_days; i++)
        if (k->days[i]) roaring_bitmap_free(k->days[i]);
    free(k->days);
    k->days = NULL;
    k->n_days = 0;
    for (size_t i = 0; i < k->n_fdays; i++)
        if (k->fdays[i]) roaring_bitmap_free(k->fdays[i]);
    free(k->fdays);
    k->fdays = NULL;
    k->n_fdays = 0;
    k->unfiled = 0;
    k->done = 0;
    free(k->first);
    k->first = NULL;
    k->n_first = 0;
    k->inactive = 0;
}

void sy_days_destroy(struct day_index *x) {
    if (!x) return;
    for (size_t i = 0; i < x->n_keys; i++)
        key_clear(&x->keys[i]);
    free(x->keys);
    sy_days_counts_free(x);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

static int64_t local_day(struct day_index *x, int64_t ts) {
    int64_t slot = ts >= 0 ? ts / SLOT_MS : -((-ts + SLOT_MS - 1) / SLOT_MS);
    size_t i = (size_t)slot & (SLOTS - 1);
    if (x->slot_key[i] != slot + 1) { /* +1: a zeroed cache holds no slot */
        int off = 8 * 3600;
        if (sy_tz_offset(x->tz, slot * SLOT_MS, &off)) off = 8 * 3600;
        x->slot_key[i] = slot + 1;
        x->slot_off[i] = off;
    }
    int64_t l = ts + (int64_t)x->slot_off[i] * 1000;
    return l >= 0 ? l / DAY_MS : -((-l + DAY_MS - 1) / DAY_MS);
}

/* Makes (*days)[day - *day0] exist in an array of *n sets; NULL when out
 * of memory or out of span. */
static roaring_bitmap_t *set_of_day(roaring_bitmap_t ***days, int64_t *day0, size_t *n,
                                    int64_t day) {
    if (!*n) {
        *day0 = day;
    } else if (day < *day0) {
        int64_t grow = *day0 - day;
        if ((size_t)grow + *n > MAX_SPAN) return NULL;
        roaring_bitmap_t **d = realloc(*days, ((size_t)grow + *n) * sizeof *d);
        if (!d) return NULL;
        memmove(d + grow, d, *n * sizeof *d);
        memset(d, 0, (size_t)grow * sizeof *d);
        *days = d;
        *n += (size_t)grow;
        *day0 = day;
    }
    size_t i = (size_t)(day - *day0);
    if (i >= *n) {
        if (i >= MAX_SPAN) return NULL;
        size_t nn = i + 1 + 32; /* room for the next days */
        roaring_bitmap_t **d = realloc(*days, nn * sizeof *d);
        if (!d) return NULL;
        memset(d + *n, 0, (nn - *n) * sizeof *d);
        *days = d;
        *n = nn;
    }
    if (!(*days)[i]) (*days)[i] = roaring_bitmap_create();
    return (*days)[i];
}

static roaring_bitmap_t *day_set(day_key *k, int64_t day) {
    return set_of_day(&k->days, &k->day0, &k->n_days, day);
}

/* (days)[d - day0] of an array of n sets; NULL when outside or absent. */
static roaring_bitmap_t *set_at(roaring_bitmap_t *const *days, int64_t day0, size_t n, int64_t d) {
    return n && d >= day0 && d < day0 + (int64_t)n ? days[d - day0] : NULL;
}

/* The active set of day d, the first-event set of day d. */
static const roaring_bitmap_t *key_day(const day_key *k, int64_t d) {
    return set_at(k->days, k->day0, k->n_days, d);
}
static roaring_bitmap_t *key_fday(const day_key *k, int64_t d) {
    return set_at(k->fdays, k->fday0, k->n_fdays, d);
}

/* Moves raw contact id's first time from old (0: none) to ts. */
static void first_move(struct day_index *x, day_key *k, uint32_t id, int64_t old, int64_t ts) {
    roaring_bitmap_t *was = old ? key_fday(k, local_day(x, old)) : NULL;
    if (was) roaring_bitmap_remove(was, id);
    roaring_bitmap_t *r = set_of_day(&k->fdays, &k->fday0, &k->n_fdays, local_day(x, ts));
    if (r)
        roaring_bitmap_add(r, id);
    else
        k->unfiled = 1;
}

/* Files the positions appended since the last call. Engine read lock and
 * index lock held. */
static int key_update(sy_engine *e, struct day_index *x, day_key *k) {
    const type_list *tl =
        k->type >= 0 && (size_t)k->type < e->n_types ? &e->by_type[k->type] : NULL;
    size_t total = k->type < 0 ? e->size : tl ? tl->n : 0;
    for (; k->done < total; k->done++) {
        uint32_t pos = k->type < 0 ? (uint32_t)k->done : tl->pos[k->done];
        const chunk *c = e->chunks[pos >> CHUNK_BITS];
        size_t j = pos & (CHUNK - 1);
        if (k->type >= 0) {
            uint32_t id = c->contact[j];
            if (id >= k->n_first) {
                size_t n = k->n_first ? k->n_first : 1024;
                while (n <= id)
                    n *= 2;
                int64_t *f = realloc(k->first, n * sizeof *f);
                if (!f) return SY_E_NOMEM;
                memset(f + k->n_first, 0, (n - k->n_first) * sizeof *f);
                k->first = f;
                k->n_first = n;
            }
            if (!k->first[id] || c->ts[j] < k->first[id]) {
                first_move(x, k, id, k->first[id], c->ts[j]);
                k->first[id] = c->ts[j];
            }
        }
        if (c->flags[j] & (SY_EV_SYSTEM | SY_EV_META)) {
            k->inactive = 1;
            continue;
        }
        roaring_bitmap_t *r = day_set(k, local_day(x, c->ts[j]));
        if (r) roaring_bitmap_add(r, c->contact[j]);
    }
    return 0;
}

/* Contacts merged into another one (raw ids). Engine read lock held. */
static roaring_bitmap_t *merged_set(const sy_engine *e) {
    roaring_bitmap_t *m = roaring_bitmap_create();
    for (size_t i = 0; m && i < e->n_contacts; i++)
        if (e->contacts[i].merged_into) roaring_bitmap_add(m, (uint32_t)i);
    return m;
}

/* The key of type in timezone tz (another timezone clears every key: its
 * days are other days). Index lock held. NULL when out of memory. */
/* Switches the index to timezone tz: day sets of another timezone hold
 * other days, and the offset cache follows. Index lock held. */
static void index_tz(struct day_index *x, const char *tz) {
    if (strcmp(x->tz, tz) == 0) return;
    for (size_t i = 0; i < x->n_keys; i++)
        key_clear(&x->keys[i]);
    snprintf(x->tz, sizeof x->tz, "%s", tz);
    memset(x->slot_key, 0, sizeof x->slot_key);
}

static day_key *key_get(struct day_index *x, const char *tz, int type) {
    index_tz(x, tz);
    for (size_t i = 0; i < x->n_keys; i++)
        if (x->keys[i].type == type) return &x->keys[i];
    day_key *nk = realloc(x->keys, (x->n_keys + 1) * sizeof *nk);
    if (!nk) return NULL;
    x->keys = nk;
    day_key *k = &x->keys[x->n_keys++];
    memset(k, 0, sizeof *k);
    k->type = type;
    return k;
}

static void key_close(sy_engine *e, struct day_index *x) {
    pthread_mutex_unlock(&x->lock);
    pthread_rwlock_unlock(&e->lock);
}

/* Opens the key of type in timezone tz for a question: takes the engine's
 * read lock and the index lock and files the events appended since the
 * last question. Returns 0 with both held (release with key_close),
 * SY_E_UNSUPPORTED when no_merges and some contact is merged, or
 * SY_E_NOMEM; nothing is held on error. */
static int key_open(sy_engine *e, const char *tz, int type, int no_merges, struct day_index **xo,
                    day_key **ko) {
    pthread_rwlock_rdlock(&e->lock);
    struct day_index *x = e->days_idx;
    int rc = !x ? SY_E_NOMEM : no_merges && e->n_merged ? SY_E_UNSUPPORTED : 0;
    if (rc) {
        pthread_rwlock_unlock(&e->lock);
        return rc;
    }
    pthread_mutex_lock(&x->lock);
    day_key *k = key_get(x, tz, type);
    if (!k || key_update(e, x, k)) {
        key_close(e, x);
        return SY_E_NOMEM;
    }
    *xo = x;
    *ko = k;
    return 0;
}

int sy_engine_days_warm(sy_engine *e, const char *tz, int type, size_t *filed) {
    struct day_index *x;
    day_key *k;
    int rc = key_open(e, tz, type < 0 ? -1 : type, 0, &x, &k);
    if (rc) return rc;
    if (filed) *filed = k->done;
    key_close(e, x);
    return 0;
}

/* sy_engine_first_times from the first-day sets (no merges): the union of
 * the sets of the days [lo, hi) touches, ascending, then the edge days'
 * times filtered. Index lock held. */
static int first_by_days(struct day_index *x, day_key *k, int64_t lo, int64_t hi, uint32_t **ids,
                         int64_t **times, size_t *n) {
    if (!k->n_fdays || lo >= hi) return 0;
    /* far beyond any filed day (MAX_SPAN): clamp before local_day overflows */
    const int64_t far = 4000000000000000LL;
    int64_t dlo = lo < -far ? k->fday0 : local_day(x, lo);
    int64_t dhi = hi > far ? k->fday0 + (int64_t)k->n_fdays - 1 : local_day(x, hi - 1);
    if (dlo < k->fday0) dlo = k->fday0;
    if (dhi >= k->fday0 + (int64_t)k->n_fdays) dhi = k->fday0 + (int64_t)k->n_fdays - 1;
    if (dlo > dhi) return 0;
    const roaring_bitmap_t **sets = malloc((size_t)(dhi - dlo + 1) * sizeof *sets);
    if (!sets) return SY_E_NOMEM;
    size_t ns = 0;
    for (int64_t d = dlo; d <= dhi; d++)
        if (key_fday(k, d)) sets[ns++] = key_fday(k, d);
    roaring_bitmap_t *u = roaring_bitmap_or_many(ns, sets);
    free(sets);
    if (!u) return SY_E_NOMEM;
    size_t c = (size_t)roaring_bitmap_get_cardinality(u);
    uint32_t *oi = malloc((c ? c : 1) * sizeof *oi);
    int64_t *ot = malloc((c ? c : 1) * sizeof *ot);
    if (!oi || !ot) {
        roaring_bitmap_free(u);
        free(oi);
        free(ot);
        return SY_E_NOMEM;
    }
    roaring_bitmap_to_uint32_array(u, oi);
    roaring_bitmap_free(u);
    size_t j = 0;
    for (size_t i = 0; i < c; i++) {
        int64_t t = k->first[oi[i]];
        if (t >= lo && t < hi) {
            oi[j] = oi[i];
            ot[j++] = t;
        }
    }
    *ids = oi;
    *times = ot;
    *n = j;
    return 0;
}

int sy_engine_first_times(sy_engine *e, const char *tz, int type, int64_t lo, int64_t hi,
                          uint32_t **ids, int64_t **times, size_t *n, int *all_active) {
    *ids = NULL;
    *times = NULL;
    *n = 0;
    if (type < 0) return SY_E_INVALID;
    struct day_index *x;
    day_key *k;
    int rc = key_open(e, tz, type, 0, &x, &k);
    if (rc) return rc;
    *all_active = !k->inactive;
    if (!e->n_merged && !k->unfiled) {
        rc = first_by_days(x, k, lo, hi, ids, times, n);
        key_close(e, x);
        return rc;
    }
    size_t have = k->n_first;
    const int64_t *f = k->first;
    int64_t *folded = NULL;
    if (e->n_merged) {
        /* a merged-away contact's first event counts for its survivor */
        size_t m = e->n_contacts > have ? e->n_contacts : have;
        if (!(folded = calloc(m ? m : 1, sizeof *folded))) {
            key_close(e, x);
            return SY_E_NOMEM;
        }
        if (have) memcpy(folded, f, have * sizeof *folded);
        for (size_t i = 0; i < have && i < e->n_contacts; i++) {
            if (!e->contacts[i].merged_into || !folded[i]) continue;
            uint32_t c = sy_engine_canon_unlocked(e, (uint32_t)i);
            if (c < m && (!folded[c] || folded[i] < folded[c])) folded[c] = folded[i];
            folded[i] = 0;
        }
        f = folded;
        have = m;
    }
    size_t cnt = 0;
    for (size_t i = 0; i < have; i++)
        cnt += f[i] && f[i] >= lo && f[i] < hi;
    uint32_t *oi = malloc((cnt ? cnt : 1) * sizeof *oi);
    int64_t *ot = malloc((cnt ? cnt : 1) * sizeof *ot);
    if (oi && ot) {
        size_t j = 0;
        for (size_t i = 0; i < have; i++)
            if (f[i] && f[i] >= lo && f[i] < hi) {
                oi[j] = (uint32_t)i;
                ot[j++] = f[i];
            }
        *ids = oi;
        *times = ot;
        *n = cnt;
    } else {
        free(oi);
        free(ot);
        rc = SY_E_NOMEM;
    }
    free(folded);
    key_close(e, x);
    return rc;
}

/* Runs fn(a) here and fn(b) on a second thread when parallel (or here too
 * when no thread can be started). */
static void run_pair(void *(*fn)(void *), void *a, void *b, int parallel) {
    pthread_t tid;
    int started = parallel && pthread_create(&tid, NULL, fn, b) == 0;
    fn(a);
    if (started)
        pthread_join(tid, NULL);
    else
        fn(b);
}

typedef struct extract_part {
    const day_key *k;
    const sy_idset *within;
    int64_t first_day;
    int lo, hi; /* day indices [lo, hi) */
    uint32_t **out;
    size_t *counts;
    int rc;
} extract_part;

static void *extract_run(void *arg) {
    extract_part *p = arg;
    const day_key *k = p->k;
    for (int i = p->lo; p->rc == 0 && i < p->hi; i++) {
        const roaring_bitmap_t *src = key_day(k, p->first_day + i);
        if (!src) continue;
        /* intersect first: extracting a whole day costs more than the AND */
        roaring_bitmap_t *cut = p->within ? roaring_bitmap_and(src, p->within->r) : NULL;
        const roaring_bitmap_t *use = p->within ? cut : src;
        size_t c = use ? (size_t)roaring_bitmap_get_cardinality(use) : 0;
        if (!use || !(p->out[i] = malloc((c ? c : 1) * sizeof *p->out[i]))) {
            if (cut) roaring_bitmap_free(cut);
            p->rc = SY_E_NOMEM;
            break;
        }
        roaring_bitmap_to_uint32_array(use, p->out[i]);
        p->counts[i] = c;
        if (cut) roaring_bitmap_free(cut);
    }
    return NULL;
}

int sy_engine_active_day_arrays(sy_engine *e, const char *tz, int type, int64_t first_day,
                                int n_days, const sy_idset *within, uint32_t **out,
                                size_t *counts) {
    for (int i = 0; i < n_days; i++) {
        out[i] = NULL;
        counts[i] = 0;
    }
    struct day_index *x;
    day_key *k;
    int rc = key_open(e, tz, type, 1, &x, &k); /* merged contacts: the sets apply them */
    if (rc) return rc;
    /* the key is only read from here on: two threads take half the days */
    extract_part parts[2] = {{k, within, first_day, 0, n_days / 2, out, counts, 0},
                             {k, within, first_day, n_days / 2, n_days, out, counts, 0}};
    run_pair(extract_run, &parts[0], &parts[1], n_days > 8);
    rc = parts[0].rc ? parts[0].rc : parts[1].rc;
    key_close(e, x);
    if (rc)
        for (int i = 0; i < n_days; i++) {
            free(out[i]);
            out[i] = NULL;
            counts[i] = 0;
        }
    return rc;
}

/* --- block bitmaps straight from roaring's containers ---
 * CRoaring 0.2 keeps each block of 65,536 ids in a container: an array, a
 * bitset or runs (roaring_array.h and containers/ of its headers). A bitset
 * container is the block's bitmap itself and is handed out in place; the
 * others are spread into a scratch bitmap. The layout is checked once
 * against the public API; if it ever differs, every block is copied out
 * through the public iterator instead. */

/* A block through the public API only. */
static const uint64_t *block_copy(const roaring_bitmap_t *r, uint32_t b, uint64_t *scratch) {
    roaring_uint32_iterator_t it;
    roaring_init_iterator(r, &it);
    if (!roaring_move_uint32_iterator_equalorlarger(&it, b << 16) || it.current_value >> 16 != b)
        return NULL;
    memset(scratch, 0, SY_BLOCK_WORDS * sizeof *scratch);
    uint32_t buf[256];
    for (;;) {
        uint32_t n = roaring_read_uint32_iterator(&it, buf, 256), i = 0;
        for (; i < n && buf[i] >> 16 == b; i++)
            scratch[(buf[i] & 0xffff) >> 6] |= 1ull << (buf[i] & 63);
        if (i < n || n < 256) break;
    }
    return scratch;
}

/* Through CRoaring's own container accessors and bitset setters. */
static const uint64_t *block_direct(const roaring_bitmap_t *r, uint32_t b, uint64_t *scratch) {
    const roaring_array_t *ra = &r->high_low_container;
    int32_t i = ra_get_index(ra, (uint16_t)b);
    if (i < 0) return NULL;
    uint8_t t;
    const void *c = container_unwrap_shared(ra_get_container_at_index(ra, (uint16_t)i, &t), &t);
    if (t == BITSET_CONTAINER_TYPE_CODE) return ((const bitset_container_t *)c)->array;
    memset(scratch, 0, SY_BLOCK_WORDS * sizeof *scratch);
    if (t == ARRAY_CONTAINER_TYPE_CODE) {
        const array_container_t *a = c;
        bitset_set_list(scratch, a->array, (uint64_t)a->cardinality);
        return a->cardinality ? scratch : NULL;
    }
    if (t == RUN_CONTAINER_TYPE_CODE) {
        const run_container_t *rc = c;
        for (int32_t k = 0; k < rc->n_runs; k++)
            bitset_set_lenrange(scratch, rc->runs[k].value, rc->runs[k].length);
        return rc->n_runs ? scratch : NULL;
    }
    return block_copy(r, b, scratch);
}

/* Written once (pthread_once) by layout_check, read after: whether
 * block_direct reads this CRoaring's containers right. */
static int direct_ok;
static pthread_once_t layout_once = PTHREAD_ONCE_INIT;

static int same_block(const roaring_bitmap_t *r, uint32_t b) {
    static _Thread_local uint64_t s1[SY_BLOCK_WORDS], s2[SY_BLOCK_WORDS];
    const uint64_t *x = block_direct(r, b, s1), *y = block_copy(r, b, s2);
    return x && y ? memcmp(x, y, sizeof s1) == 0 : x == y;
}

static void layout_check(void) {
    roaring_bitmap_t *r = roaring_bitmap_create();
    if (!r) return;
    roaring_bitmap_add(r, 1); /* block 0: an array */
    roaring_bitmap_add(r, 4000);
    for (uint32_t i = 0; i < 6000; i++) /* block 1: a bitset */
        roaring_bitmap_add(r, 65536 + 7 * i);
    roaring_bitmap_add_range(r, 131072 + 10, 131072 + 30000); /* block 2: runs */
    roaring_bitmap_run_optimize(r);
    roaring_bitmap_t *copy = roaring_bitmap_copy(r); /* shared containers, if any */
    int ok = copy != NULL;
    for (uint32_t b = 0; ok && b < 4; b++)
        ok = same_block(r, b) && same_block(copy, b);
    roaring_bitmap_free(copy);
    roaring_bitmap_free(r);
    direct_ok = ok;
}

static const uint64_t *block_bits(const roaring_bitmap_t *r, uint32_t b, uint64_t *scratch) {
    if (!r) return NULL;
    pthread_once(&layout_once, layout_check);
    return direct_ok ? block_direct(r, b, scratch) : block_copy(r, b, scratch);
}

int sy_engine_blocks_in_place(void) {
    pthread_once(&layout_once, layout_check);
    return direct_ok;
}

const uint64_t *sy_idset_block(const sy_idset *s, uint32_t b, uint64_t *scratch) {
    return block_bits(s->r, b, scratch);
}

typedef struct blocks_part {
    const roaring_bitmap_t *const *sets; /* n_active, then n_first */
    int n_active, n;
    uint32_t from, max_block;
    sy_engine_block_fn fn;
    void *ctx;
    int rc;
} blocks_part;

static void *blocks_run(void *arg) {
    blocks_part *p = arg;
    uint64_t *scratch = malloc((size_t)p->n * SY_BLOCK_WORDS * sizeof *scratch);
    const uint64_t **bits = malloc((size_t)p->n * sizeof *bits);
    if (!scratch || !bits) {
        p->rc = SY_E_NOMEM;
    } else {
        for (uint32_t b = p->from; b <= p->max_block; b += 2) {
            int any = 0;
            for (int i = 0; i < p->n; i++)
                any |= (bits[i] = block_bits(p->sets[i], b,
                                             scratch + (size_t)i * SY_BLOCK_WORDS)) != NULL;
            if (any) p->fn(p->ctx, b, bits, bits + p->n_active);
        }
    }
    free(scratch);
    free(bits);
    return NULL;
}

int sy_engine_day_blocks(sy_engine *e, const char *tz, int active_type, int64_t active_day,
                         int n_active, int first_type, int64_t first_day, int n_first,
                         sy_engine_block_fn fn, void *const ctx[2]) {
    if (first_type < 0 || n_active < 0 || n_first < 0) return SY_E_INVALID;
    if (n_active + n_first > 2048) return SY_E_UNSUPPORTED; /* scratch: 8 KB a day */
    struct day_index *x;
    day_key *ka, *kf;
    int rc = key_open(e, tz, active_type, 1, &x, &ka);
    if (rc) return rc;
    /* adding a key may move the keys: look the first one up again */
    if (!(kf = key_get(x, tz, first_type)) || key_update(e, x, kf) ||
        !(ka = key_get(x, tz, active_type))) {
        key_close(e, x);
        return SY_E_NOMEM;
    }
    if (kf->inactive || kf->unfiled) {
        key_close(e, x);
        return SY_E_UNSUPPORTED;
    }
    const roaring_bitmap_t **sets = malloc(((size_t)(n_active + n_first) + 1) * sizeof *sets);
    if (!sets) {
        key_close(e, x);
        return SY_E_NOMEM;
    }
    uint32_t max = 0;
    for (int i = 0; i < n_active + n_first; i++) {
        const roaring_bitmap_t *r =
            i < n_active ? key_day(ka, active_day + i) : key_fday(kf, first_day + (i - n_active));
        if (r && roaring_bitmap_is_empty(r)) r = NULL;
        if (r && roaring_bitmap_maximum(r) > max) max = roaring_bitmap_maximum(r);
        sets[i] = r;
    }
    /* the keys are only read from here on */
    blocks_part parts[2];
    for (int t = 0; t < 2; t++)
        parts[t] = (blocks_part){sets,   n_active, n_active + n_first, (uint32_t)t, max >> 16, fn,
                                 ctx[t], 0};
    run_pair(blocks_run, &parts[0], &parts[1], (max >> 16) > 0);
    rc = parts[0].rc ? parts[0].rc : parts[1].rc;
    free(sets);
    key_close(e, x);
    return rc;
}

int sy_engine_active_day_sets(sy_engine *e, const char *tz, int type, int64_t first_day, int n_days,
                              sy_idset **out) {
    for (int i = 0; i < n_days; i++)
        out[i] = NULL;
    struct day_index *x;
    day_key *k;
    int rc = key_open(e, tz, type, 0, &x, &k);
    if (rc) return rc;
    roaring_bitmap_t *merged = e->n_merged ? merged_set(e) : NULL;
    for (int i = 0; i < n_days && rc == 0; i++) {
        int64_t d = first_day + i;
        sy_idset *s = sy_idset_create();
        if (!s) {
            rc = SY_E_NOMEM;
            break;
        }
        out[i] = s;
        const roaring_bitmap_t *src = key_day(k, d);
        if (!src) continue;
        roaring_bitmap_overwrite(s->r, src);
        if (merged && roaring_bitmap_intersect(src, merged)) {
            /* a merged-away contact's activity belongs to its survivor */
            roaring_bitmap_t *moved = roaring_bitmap_and(src, merged);
            roaring_bitmap_andnot_inplace(s->r, moved);
            roaring_uint32_iterator_t *it = roaring_create_iterator(moved);
            while (it && it->has_value) {
                roaring_bitmap_add(s->r, sy_engine_canon_unlocked(e, it->current_value));
                roaring_advance_uint32_iterator(it);
            }
            roaring_free_uint32_iterator(it);
            roaring_bitmap_free(moved);
        }
    }
    if (merged) roaring_bitmap_free(merged);
    key_close(e, x);
    if (rc)
        for (int i = 0; i < n_days; i++) {
            sy_idset_destroy(out[i]);
            out[i] = NULL;
        }
    return rc;
}

uint64_t sy_idset_and_count(const sy_idset *a, const sy_idset *b) {
    return roaring_bitmap_and_cardinality(a->r, b->r);
}

void sy_idset_add_many(sy_idset *s, const uint32_t *ids, size_t n) {
    roaring_bitmap_add_many(s->r, n, ids);
}

void sy_idset_to_array(const sy_idset *s, uint32_t *out) {
    roaring_bitmap_to_uint32_array(s->r, out);
}

/* --- per-day counts of one event type by one dimension ---
 * Event counts and amount sums per (day, dimension value) answer a trend
 * without reading events; kept like the day sets (lazily, by cursor). */

#define MAX_SLOTS 1024 /* dimension values a count key tracks; more: the caller scans */

typedef struct count_key {
    int type, dim; /* dim -1: no grouping */
    size_t done;
    int64_t day0;
    size_t n_days;
    int64_t **cnt, **sum; /* per day: slot_cap counters */
    int32_t *slot_of;     /* dim value → slot + 1 */
    uint16_t *value_of;   /* slot → dim value */
    size_t n_slots, slot_cap;
    int too_many;
    char tz[64];
} count_key;

struct count_index {
    count_key *keys;
    size_t n_keys;
};

static void count_key_free(count_key *k) {
    for (size_t d = 0; d < k->n_days; d++) {
        free(k->cnt[d]);
        free(k->sum[d]);
    }
    free(k->cnt);
    free(k->sum);
    free(k->slot_of);
    free(k->value_of);
    memset(k, 0, sizeof *k);
}

void sy_days_counts_free(struct day_index *x);

static int count_day(count_key *k, int64_t day, size_t *i) {
    if (!k->n_days) k->day0 = day;
    if (day < k->day0) {
        size_t grow = (size_t)(k->day0 - day);
        if (grow + k->n_days > MAX_SPAN) return -1;
        int64_t **c = realloc(k->cnt, (grow + k->n_days) * sizeof *c);
        if (c) k->cnt = c;
        int64_t **s = realloc(k->sum, (grow + k->n_days) * sizeof *s);
        if (s) k->sum = s;
        if (!c || !s) return -1;
        memmove(k->cnt + grow, k->cnt, k->n_days * sizeof *c);
        memmove(k->sum + grow, k->sum, k->n_days * sizeof *s);
        memset(k->cnt, 0, grow * sizeof *c);
        memset(k->sum, 0, grow * sizeof *s);
        k->n_days += grow;
        k->day0 = day;
    }
    size_t at = (size_t)(day - k->day0);
    if (at >= k->n_days) {
        if (at >= MAX_SPAN) return -1;
        size_t n = at + 1 + 32;
        int64_t **c = realloc(k->cnt, n * sizeof *c);
        if (c) k->cnt = c;
        int64_t **s = realloc(k->sum, n * sizeof *s);
        if (s) k->sum = s;
        if (!c || !s) return -1;
        memset(k->cnt + k->n_days, 0, (n - k->n_days) * sizeof *c);
        memset(k->sum + k->n_days, 0, (n - k->n_days) * sizeof *s);
        k->n_days = n;
    }
    if (!k->cnt[at]) {
        k->cnt[at] = calloc(k->slot_cap, sizeof **k->cnt);
        k->sum[at] = calloc(k->slot_cap, sizeof **k->sum);
        if (!k->cnt[at] || !k->sum[at]) return -1;
    }
    *i = at;
    return 0;
}

static int count_slot(count_key *k, uint16_t v, size_t *slot) {
    if (k->slot_of[v]) {
        *slot = (size_t)k->slot_of[v] - 1;
        return 0;
    }
    if (k->n_slots == MAX_SLOTS) {
        k->too_many = 1;
        return -1;
    }
    if (k->n_slots == k->slot_cap) { /* widen every day's counters */
        size_t cap = k->slot_cap * 2;
        for (size_t d = 0; d < k->n_days; d++) {
            if (!k->cnt[d]) continue;
            int64_t *c = realloc(k->cnt[d], cap * sizeof *c);
            if (c) k->cnt[d] = c;
            int64_t *s = realloc(k->sum[d], cap * sizeof *s);
            if (s) k->sum[d] = s;
            if (!c || !s) return -1;
            memset(c + k->slot_cap, 0, (cap - k->slot_cap) * sizeof *c);
            memset(s + k->slot_cap, 0, (cap - k->slot_cap) * sizeof *s);
        }
        uint16_t *vo = realloc(k->value_of, cap * sizeof *vo);
        if (!vo) return -1;
        k->value_of = vo;
        k->slot_cap = cap;
    }
    k->value_of[k->n_slots] = v;
    k->slot_of[v] = (int32_t)++k->n_slots;
    *slot = k->n_slots - 1;
    return 0;
}

int sy_engine_type_day_counts(sy_engine *e, const char *tz, int type, int dim, int64_t first_day,
                              int n_days, sy_engine_count_fn fn, void *ctx) {
    if (type < 0 || dim >= SY_DIM_COUNT) return SY_E_INVALID;
    pthread_rwlock_rdlock(&e->lock);
    struct day_index *x = e->days_idx;
    if (!x) {
        pthread_rwlock_unlock(&e->lock);
        return SY_E_NOMEM;
    }
    pthread_mutex_lock(&x->lock);
    int rc = 0;
    struct count_index *ci = x->counts;
    if (!ci && !(ci = x->counts = calloc(1, sizeof *ci))) rc = SY_E_NOMEM;
    count_key *k = NULL;
    for (size_t i = 0; rc == 0 && i < ci->n_keys; i++)
        if (ci->keys[i].type == type && ci->keys[i].dim == dim) k = &ci->keys[i];
    if (rc == 0 && !k) {
        count_key *nk = realloc(ci->keys, (ci->n_keys + 1) * sizeof *nk);
        if (!nk) {
            rc = SY_E_NOMEM;
        } else {
            ci->keys = nk;
            k = &ci->keys[ci->n_keys++];
            memset(k, 0, sizeof *k);
            k->type = type;
            k->dim = dim;
        }
    }
    if (rc == 0 && strcmp(k->tz, tz) != 0) { /* (re)start in this timezone */
        count_key_free(k);
        k->type = type;
        k->dim = dim;
        snprintf(k->tz, sizeof k->tz, "%s", tz);
    }
    if (rc == 0 && !k->slot_of) {
        k->slot_of = calloc(65536, sizeof *k->slot_of);
        k->value_of = calloc(4, sizeof *k->value_of);
        k->slot_cap = 4;
        if (!k->slot_of || !k->value_of) rc = SY_E_NOMEM;
    }
    if (rc == 0) index_tz(x, tz); /* local_day reads x->tz */
    const type_list *tl = (size_t)type < e->n_types ? &e->by_type[type] : NULL;
    size_t total = tl ? tl->n : 0;
    for (; rc == 0 && !k->too_many && k->done < total; k->done++) {
        uint32_t pos = tl->pos[k->done];
        const chunk *c = e->chunks[pos >> CHUNK_BITS];
        size_t j = pos & (CHUNK - 1);
        size_t at, slot;
        uint16_t v = dim >= 0 ? c->dims[dim][j] : 0;
        if (count_slot(k, v, &slot)) break;
        if (count_day(k, local_day(x, c->ts[j]), &at)) continue; /* outside the span */
        k->cnt[at][slot]++;
        if (c->flags[j] & (SY_EV_ORDER | SY_EV_REFUND))
            k->sum[at][slot] += sy_engine_revenue_at(e, pos);
    }
    if (rc == 0 && k->too_many) rc = SY_E_UNSUPPORTED;
    for (int i = 0; rc == 0 && i < n_days; i++) {
        int64_t d = first_day + i;
        if (!k->n_days || d < k->day0 || d >= k->day0 + (int64_t)k->n_days) continue;
        size_t at = (size_t)(d - k->day0);
        if (!k->cnt[at]) continue;
        for (size_t s = 0; s < k->n_slots; s++)
            if (k->cnt[at][s]) fn(ctx, i, k->value_of[s], k->cnt[at][s], k->sum[at][s]);
    }
    pthread_mutex_unlock(&x->lock);
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

void sy_days_counts_free(struct day_index *x) {
    struct count_index *ci = x->counts;
    if (!ci) return;
    for (size_t i = 0; i < ci->n_keys; i++)
        count_key_free(&ci->keys[i]);
    free(ci->keys);
    free(ci);
    x->counts = NULL;
}
