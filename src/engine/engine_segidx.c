/* engine_segidx.c — per-type day buckets for behaviour conditions.
 *
 * A segment condition such as "did view_item in the last 7 days" or
 * "order_paid at least twice in 30 days" should cost in proportion to the
 * events inside its window, not to all events of the type nor to the number
 * of contacts. Positions are in arrival order, which need not be time order
 * (the demo and historical imports append contact by contact), so the
 * per-type position lists cannot be cut by time. This index files each
 * non-system, non-meta event of a type under its UTC day: (contact, ms into
 * the day). A window then reads whole days it covers and filters only the
 * two days at its edges.
 *
 * It is built lazily per type, at the first query on that type, and kept up
 * to date incrementally: each query first indexes the type's positions
 * appended since the previous one (positions are never rewritten, so a
 * cursor into the type's list is enough). Each day also caches the set of
 * contacts who did the event that day, valid while the day's entry count
 * is unchanged: old days keep their sets while today's grows.
 *
 * Contact ids are stored as appended (raw); merges are applied when a query
 * answers, so merging and unmerging invalidate nothing.
 *
 * Memory: 8 bytes per indexed event plus the day sets, only for types that
 * were queried. All state is guarded by the index mutex; callers hold the
 * engine's read lock, so the columns and type lists do not move. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <roaring/roaring.h>
#include "engine_int.h"
#include "base/bits.h"

#define DAY_MS 86400000LL
#define SPAN_DAYS 16384 /* days held in buckets (~45 years); others go to `far` */
#define CNT_MAX 65535u  /* counters saturate here: higher thresholds use the scan */
#define LEVELS 4        /* thresholds up to this count with bit levels, not counters */

typedef struct day_bucket {
    uint32_t *contact; /* raw contact ids */
    uint32_t *ms;      /* ms since the day's UTC midnight */
    uint32_t n, cap;
    roaring_bitmap_t *once; /* who did it that day; valid while once_n == n */
    uint32_t once_n;
} day_bucket;

typedef struct far_ent {
    int64_t ts;
    uint32_t contact;
} far_ent;

typedef struct type_idx {
    size_t done;      /* entries of e->by_type[type] already filed */
    int64_t day0;     /* day number of days[0] */
    day_bucket *days; /* SPAN_DAYS buckets; NULL until the first event */
    int64_t lo, hi;   /* non-empty bucket range (lo > hi: none) */
    far_ent *far;     /* events outside the bucket span (odd timestamps) */
    size_t n_far, cap_far;
} type_idx;

struct seg_index {
    pthread_mutex_t lock;
    type_idx *types;
    size_t n_types;
    /* scratch sized to the engine's contact slots, kept zeroed between uses */
    uint64_t *bits;
    size_t n_words; /* a multiple of 1024 (one roaring container) */
    uint16_t *cnt;
    size_t n_cnt;
    uint64_t *lv; /* LEVELS bitsets of n_words: "seen at least k times" */
    uint32_t *touched;
    size_t cap_touched;
    char *ser; /* serialisation buffer for bits → roaring */
    size_t cap_ser;
    /* merged-away contacts (a bit per contact), rebuilt when merge_gen moves */
    uint64_t *merged;
    size_t n_merged_words;
    uint64_t merged_gen;
    roaring_bitmap_t *merged_set;
};

struct seg_index *sy_segidx_create(void) {
    struct seg_index *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    pthread_mutex_init(&x->lock, NULL);
    x->merged_gen = UINT64_MAX;
    return x;
}

void sy_segidx_destroy(struct seg_index *x) {
    if (!x) return;
    for (size_t t = 0; t < x->n_types; t++) {
        type_idx *ti = &x->types[t];
        if (ti->days)
            for (size_t d = 0; d < SPAN_DAYS; d++) {
                free(ti->days[d].contact);
                free(ti->days[d].ms);
                if (ti->days[d].once) roaring_bitmap_free(ti->days[d].once);
            }
        free(ti->days);
        free(ti->far);
    }
    free(x->types);
    free(x->bits);
    free(x->cnt);
    free(x->lv);
    free(x->touched);
    free(x->ser);
    free(x->merged);
    if (x->merged_set) roaring_bitmap_free(x->merged_set);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

static int64_t floor_div(int64_t a, int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int grow_arr(void **p, uint32_t *cap, uint32_t need, size_t elem) {
    if (need <= *cap) return 0;
    uint32_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *np = realloc(*p, (size_t)c * elem);
    if (!np) return -1;
    *p = np;
    *cap = c;
    return 0;
}

/* Files the type's positions appended since the last call. */
static int index_type(sy_engine *e, type_idx *t, int type) {
    const type_list *tl = &e->by_type[type];
    for (size_t i = t->done; i < tl->n; i++) {
        uint32_t pos = tl->pos[i];
        const chunk *c = e->chunks[pos >> CHUNK_BITS];
        size_t k = pos & (CHUNK - 1);
        if (c->flags[k] & (SY_EV_SYSTEM | SY_EV_META)) continue;
        int64_t ts = c->ts[k];
        int64_t day = floor_div(ts, DAY_MS);
        if (!t->days) {
            t->days = calloc(SPAN_DAYS, sizeof *t->days);
            if (!t->days) return -1;
            t->day0 = day - SPAN_DAYS / 2;
            t->lo = INT64_MAX, t->hi = INT64_MIN;
        }
        int64_t d = day - t->day0;
        if (d < 0 || d >= SPAN_DAYS) {
            if (t->n_far == t->cap_far) {
                size_t nc = t->cap_far ? t->cap_far * 2 : 16;
                far_ent *f = realloc(t->far, nc * sizeof *f);
                if (!f) return -1;
                t->far = f, t->cap_far = nc;
            }
            t->far[t->n_far++] = (far_ent){ts, c->contact[k]};
            t->done = i + 1;
            continue;
        }
        day_bucket *b = &t->days[d];
        if (b->n == b->cap) {
            uint32_t cap = b->cap;
            if (grow_arr((void **)&b->contact, &cap, b->n + 1, sizeof *b->contact)) return -1;
            cap = b->cap;
            if (grow_arr((void **)&b->ms, &cap, b->n + 1, sizeof *b->ms)) return -1;
            b->cap = cap;
        }
        b->contact[b->n] = c->contact[k];
        b->ms[b->n] = (uint32_t)(ts - day * DAY_MS);
        b->n++;
        if (day < t->lo) t->lo = day;
        if (day > t->hi) t->hi = day;
        t->done = i + 1;
    }
    t->done = tl->n;
    return 0;
}

/* Sizes the scratch to the engine's contact slots (zeroed). */
static int ensure_scratch(sy_engine *e, struct seg_index *x, int need_cnt) {
    size_t words = ((e->n_contacts + 65535) / 65536) * 1024;
    if (words > x->n_words) {
        uint64_t *b = calloc(words, sizeof *b), *l = calloc(words * LEVELS, sizeof *l);
        if (!b || !l) {
            free(b);
            free(l);
            return -1;
        }
        free(x->bits);
        free(x->lv);
        x->bits = b, x->lv = l, x->n_words = words;
    }
    if (need_cnt && e->n_contacts > x->n_cnt) {
        uint16_t *c = calloc(e->n_contacts, sizeof *c);
        if (!c) return -1;
        free(x->cnt);
        x->cnt = c, x->n_cnt = e->n_contacts;
    }
    return 0;
}

static inline void bit_set(uint64_t *w, uint32_t id) {
    w[id >> 6] |= 1ULL << (id & 63);
}

static void put16(char *p, uint16_t v) {
    memcpy(p, &v, 2); /* the portable format is little-endian, as is every target here */
}
static void put32(char *p, uint32_t v) {
    memcpy(p, &v, 4);
}

/* A 1024-word block's cardinality, by the best instruction the CPU has. */
static uint32_t card_of(const uint64_t *w) {
    return (uint32_t)sy_bits_count(w, 1024);
}

/* Turns the scratch bits into a roaring bitmap and clears them. Builds the
 * documented portable serialisation (no run containers: cookie 12346, the
 * container keys and cardinalities, their offsets, then each container as
 * a sorted uint16 array or a 1024-word bitset) and deserialises it, which
 * copies whole containers instead of inserting ids one by one. */
static roaring_bitmap_t *bits_take_from(struct seg_index *x, uint64_t *bits) {
    size_t nc_all = x->n_words / 1024;
    size_t nc = 0, data = 0;
    for (size_t k = 0; k < nc_all; k++) {
        uint32_t c = card_of(bits + k * 1024);
        if (c) nc++, data += c > 4096 ? 8192 : (size_t)c * 2;
    }
    if (!nc) return roaring_bitmap_create();
    size_t need = 8 + nc * 8 + data;
    if (need > x->cap_ser) {
        char *s = realloc(x->ser, need);
        if (!s) return NULL;
        x->ser = s, x->cap_ser = need;
    }
    char *p = x->ser;
    put32(p, 12346);
    put32(p + 4, (uint32_t)nc);
    size_t hdr = 8, offs = 8 + nc * 4, at = 8 + nc * 8, j = 0;
    for (size_t k = 0; k < nc_all; k++) {
        uint64_t *w = bits + k * 1024;
        uint32_t c = card_of(w);
        if (!c) continue;
        put16(p + hdr + j * 4, (uint16_t)k);
        put16(p + hdr + j * 4 + 2, (uint16_t)(c - 1));
        put32(p + offs + j * 4, (uint32_t)at);
        if (c > 4096) {
            memcpy(p + at, w, 8192);
            at += 8192;
        } else {
            for (size_t i = 0; i < 1024; i++) {
                uint64_t v = w[i];
                while (v) {
                    put16(p + at, (uint16_t)(i * 64 + (size_t)__builtin_ctzll(v)));
                    at += 2;
                    v &= v - 1;
                }
            }
        }
        memset(w, 0, 8192);
        j++;
    }
    return roaring_bitmap_portable_deserialize_safe(x->ser, at);
}

static roaring_bitmap_t *bits_take(struct seg_index *x) {
    return bits_take_from(x, x->bits);
}

/* Merged-away contacts as bits and as a set, for the current merge_gen. */
static int refresh_merged(sy_engine *e, struct seg_index *x) {
    if (x->merged_gen == e->merge_gen && x->n_merged_words * 64 >= e->n_contacts) return 0;
    size_t words = (e->n_contacts + 63) / 64;
    uint64_t *m = calloc(words ? words : 1, sizeof *m);
    roaring_bitmap_t *set = roaring_bitmap_create();
    if (!m || !set) {
        free(m);
        if (set) roaring_bitmap_free(set);
        return -1;
    }
    if (e->n_merged)
        for (size_t i = 0; i < e->n_contacts; i++)
            if (e->contacts[i].merged_into) {
                m[i >> 6] |= 1ULL << (i & 63);
                roaring_bitmap_add(set, (uint32_t)i);
            }
    free(x->merged);
    if (x->merged_set) roaring_bitmap_free(x->merged_set);
    x->merged = m, x->n_merged_words = words, x->merged_set = set;
    x->merged_gen = e->merge_gen;
    return 0;
}

static inline uint32_t canon(const sy_engine *e, const struct seg_index *x, uint32_t id) {
    if (!(x->merged[id >> 6] & (1ULL << (id & 63)))) return id;
    for (int hops = 0; id < e->n_contacts && e->contacts[id].merged_into && hops < 64; hops++)
        id = e->contacts[id].merged_into;
    return id;
}

/* The day's "who did it" set, rebuilt when the day grew. */
static roaring_bitmap_t *day_once(struct seg_index *x, day_bucket *b) {
    if (b->once && b->once_n == b->n) return b->once;
    for (uint32_t i = 0; i < b->n; i++)
        bit_set(x->bits, b->contact[i]);
    roaring_bitmap_t *r = bits_take(x);
    if (!r) return NULL;
    if (b->once) roaring_bitmap_free(b->once);
    b->once = r, b->once_n = b->n;
    return r;
}

roaring_bitmap_t *sy_segidx_who_counts(sy_engine *e, int type, int64_t from, int64_t to,
                                       uint32_t min_count) {
    struct seg_index *x = e->segidx;
    if (!x || type < 0 || min_count > CNT_MAX) return NULL;
    if (min_count < 1) min_count = 1;
    pthread_mutex_lock(&x->lock);
    roaring_bitmap_t *res = NULL;
    if ((size_t)type >= x->n_types) {
        size_t n = (size_t)type + 1 > e->n_types ? (size_t)type + 1 : e->n_types;
        type_idx *ti = realloc(x->types, n * sizeof *ti);
        if (!ti) goto out;
        memset(ti + x->n_types, 0, (n - x->n_types) * sizeof *ti);
        x->types = ti, x->n_types = n;
    }
    type_idx *t = &x->types[type];
    if ((size_t)type < e->n_types && index_type(e, t, type)) goto out;
    if (ensure_scratch(e, x, min_count > LEVELS) || refresh_merged(e, x)) goto out;
    if (from >= to || (!t->days && !t->n_far)) {
        res = roaring_bitmap_create();
        goto out;
    }
    int merges = e->n_merged != 0;
    int64_t lo = t->lo, hi = t->hi;
    if (from != INT64_MIN && floor_div(from, DAY_MS) > lo) lo = floor_div(from, DAY_MS);
    if (floor_div(to - 1, DAY_MS) < hi) hi = floor_div(to - 1, DAY_MS);
    if (min_count == 1) {
        /* whole days: their cached sets; edge days and far events: bits */
        size_t nfull = 0;
        const roaring_bitmap_t **full =
            lo <= hi ? malloc((size_t)(hi - lo + 1) * sizeof *full) : NULL;
        if (lo <= hi && !full) goto out;
        int any_bits = 0;
        /* day sets first: building one goes through the scratch bits */
        for (int64_t d = lo; d <= hi; d++) {
            day_bucket *b = &t->days[d - t->day0];
            int64_t start = d * DAY_MS;
            if (!b->n || start < from || start + DAY_MS > to) continue;
            roaring_bitmap_t *o = day_once(x, b);
            if (!o) {
                free(full);
                goto out;
            }
            full[nfull++] = o;
        }
        for (int64_t d = lo; d <= hi; d++) {
            day_bucket *b = &t->days[d - t->day0];
            int64_t start = d * DAY_MS;
            if (!b->n || (start >= from && start + DAY_MS <= to)) continue;
            for (uint32_t i = 0; i < b->n; i++) {
                int64_t ts = start + b->ms[i];
                if (ts >= from && ts < to) bit_set(x->bits, b->contact[i]), any_bits = 1;
            }
        }
        for (size_t i = 0; i < t->n_far; i++)
            if (t->far[i].ts >= from && t->far[i].ts < to)
                bit_set(x->bits, t->far[i].contact), any_bits = 1;
        res = nfull ? roaring_bitmap_or_many(nfull, full) : roaring_bitmap_create();
        free(full);
        if (res && any_bits) {
            roaring_bitmap_t *edge = bits_take(x);
            if (!edge) {
                roaring_bitmap_free(res);
                res = NULL;
                goto out;
            }
            roaring_bitmap_or_inplace(res, edge);
            roaring_bitmap_free(edge);
        }
        /* raw ids of merged-away contacts stand for the contact they
         * were merged into */
        if (res && merges) {
            roaring_bitmap_t *gone = roaring_bitmap_and(res, x->merged_set);
            if (gone && !roaring_bitmap_is_empty(gone)) {
                roaring_bitmap_andnot_inplace(res, gone);
                roaring_uint32_iterator_t *it = roaring_create_iterator(gone);
                while (it && it->has_value) {
                    roaring_bitmap_add(res, canon(e, x, it->current_value));
                    roaring_advance_uint32_iterator(it);
                }
                roaring_free_uint32_iterator(it);
            }
            if (gone) roaring_bitmap_free(gone);
        }
        goto out;
    }
    if (min_count <= LEVELS) {
        /* at least min_count (2..LEVELS): bit levels, level k-1 holding
         * "seen at least k times"; an event climbs its contact one level.
         * The levels are a few bits per contact (they stay in cache, unlike
         * counters), and only the top one is converted into the answer. */
        uint64_t *lv = x->lv;
        size_t nw = x->n_words;
        uint32_t top = min_count - 1;
#define CLIMB(raw)                                                                                 \
    do {                                                                                           \
        uint32_t id_ = merges ? canon(e, x, (raw)) : (raw);                                        \
        size_t w_ = id_ >> 6;                                                                      \
        uint64_t b_ = 1ULL << (id_ & 63);                                                          \
        /* set the first level not yet set, without a branch: the levels                           \
         * are nested, so the bit climbs while the level below had it */                           \
        uint64_t c_ = b_;                                                                          \
        for (uint32_t k_ = 0; k_ <= top; k_++) {                                                   \
            uint64_t o_ = lv[k_ * nw + w_];                                                        \
            lv[k_ * nw + w_] = o_ | c_;                                                            \
            c_ &= o_;                                                                              \
        }                                                                                          \
    } while (0)
        for (int64_t d = lo; d <= hi; d++) {
            day_bucket *b = &t->days[d - t->day0];
            int64_t start = d * DAY_MS;
            const uint32_t *ct = b->contact;
            if (start >= from && start + DAY_MS <= to) {
                for (uint32_t i = 0; i < b->n; i++)
                    CLIMB(ct[i]);
            } else {
                for (uint32_t i = 0; i < b->n; i++) {
                    int64_t ts = start + b->ms[i];
                    if (ts >= from && ts < to) CLIMB(ct[i]);
                }
            }
        }
        for (size_t i = 0; i < t->n_far; i++)
            if (t->far[i].ts >= from && t->far[i].ts < to) CLIMB(t->far[i].contact);
#undef CLIMB
        res = bits_take_from(x, lv + (size_t)top * nw);
        memset(lv, 0, (size_t)min_count * nw * sizeof *lv);
        goto out;
    }
    /* above LEVELS: saturating counters over the events in the window; a
     * contact goes into the answer when its count reaches min_count */
    size_t nt = 0;
    int failed = 0;
#define COUNT(raw)                                                                                 \
    do {                                                                                           \
        uint32_t id_ = merges ? canon(e, x, (raw)) : (raw);                                        \
        uint16_t v_ = x->cnt[id_];                                                                 \
        if (v_ == 0) {                                                                             \
            if (nt == x->cap_touched) {                                                            \
                size_t c_ = x->cap_touched ? x->cap_touched * 2 : 4096;                            \
                uint32_t *p_ = realloc(x->touched, c_ * sizeof *p_);                               \
                if (!p_) {                                                                         \
                    failed = 1;                                                                    \
                    break;                                                                         \
                }                                                                                  \
                x->touched = p_, x->cap_touched = c_;                                              \
            }                                                                                      \
            x->touched[nt++] = id_;                                                                \
        }                                                                                          \
        if (v_ < CNT_MAX) x->cnt[id_] = (uint16_t)(v_ + 1);                                        \
        if ((uint32_t)v_ + 1 == min_count) bit_set(x->bits, id_);                                  \
    } while (0)
    for (int64_t d = lo; d <= hi && !failed; d++) {
        day_bucket *b = &t->days[d - t->day0];
        int64_t start = d * DAY_MS;
        if (start >= from && start + DAY_MS <= to) {
            for (uint32_t i = 0; i < b->n && !failed; i++)
                COUNT(b->contact[i]);
        } else {
            for (uint32_t i = 0; i < b->n && !failed; i++) {
                int64_t ts = start + b->ms[i];
                if (ts >= from && ts < to) COUNT(b->contact[i]);
            }
        }
    }
    for (size_t i = 0; i < t->n_far && !failed; i++)
        if (t->far[i].ts >= from && t->far[i].ts < to) COUNT(t->far[i].contact);
#undef COUNT
    for (size_t i = 0; i < nt; i++)
        x->cnt[x->touched[i]] = 0;
    res = bits_take(x); /* also clears the bits after a failure */
    if (failed && res) {
        roaring_bitmap_free(res);
        res = NULL;
    }
out:
    /* a failure may leave bits set: the scratch must start zeroed */
    if (!res && x->bits) memset(x->bits, 0, x->n_words * sizeof *x->bits);
    if (!res && x->lv) memset(x->lv, 0, (size_t)LEVELS * x->n_words * sizeof *x->lv);
    pthread_mutex_unlock(&x->lock);
    return res;
}
