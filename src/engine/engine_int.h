/* engine_int.h — the engine's internal layout, shared by engine.c and
 * engine_scan.c only (no other module includes it). */
#ifndef SY_ENGINE_INT_H
#define SY_ENGINE_INT_H

#include <pthread.h>
#include <stdint.h>
#include <roaring/roaring.h>
#include "engine.h"

/* The set behind the opaque sy_idset. */
struct sy_idset {
    roaring_bitmap_t *r;
};

/* Columns are stored in fixed-size chunks so that appending never moves
 * events readers may be looking at; only the chunk table grows. */
#define CHUNK_BITS 16
#define CHUNK (1u << CHUNK_BITS)

typedef struct chunk {
    int64_t ts[CHUNK];
    uint32_t contact[CHUNK];
    uint16_t type[CHUNK];
    uint8_t flags[CHUNK];
    uint16_t dims[SY_DIM_COUNT][CHUNK];
} chunk;

/* Revenue is sparse (orders only): (position, fen) pairs in position order. */
typedef struct revenue {
    uint32_t pos;
    int64_t fen;
} revenue;

#define SLAB_BITS 16
#define SLAB_RANGE (1u << SLAB_BITS)

/* A contact's list holds sy_engine_rec (engine.h) entries. */
typedef sy_engine_rec crec;

/* One contact: its own events sorted by (ts, pos) with the columns analytics
 * reads most (so a contact-major scan is sequential, see engine_scan.c),
 * profile fields, and the merge link. */
typedef struct contact_slot {
    crec *rec; /* own events in (ts, pos) order */
    uint32_t n, cap;
    int32_t slab;         /* rec points into e->slabs[slab] (never realloc or free it); -1: own */
    uint32_t merged_into; /* 0 = canonical */
    uint32_t *children;   /* contacts merged into this one */
    uint32_t n_children, cap_children;
    sy_engine_profile p;
} contact_slot;

typedef struct type_list {
    uint32_t *pos;
    size_t n, cap;
} type_list;

struct sy_engine {
    pthread_rwlock_t lock;
    chunk **chunks;
    size_t n_chunks, cap_chunks;
    size_t size;
    revenue *rev;
    size_t n_rev, cap_rev;
    contact_slot *contacts;
    size_t n_contacts; /* slots allocated: ids < n_contacts */
    /* positions of each event type, ascending: a behaviour condition on one
     * type reads only that type's events instead of scanning every column */
    type_list *by_type;
    size_t n_types; /* lists allocated: types < n_types */
    /* Contact lists packed in contact order (engine_scan.c), so that a
     * contact-major scan reads memory sequentially: one slab per range of
     * SLAB_RANGE contacts, freed when no list points into it any more. A
     * list that grows moves out to its own allocation; own_events counts
     * the events in such lists per range, and the maintenance thread
     * repacks ranges where they pile up. */
    struct slab {
        crec *mem;
        size_t refs; /* contacts whose list points into mem */
    } * slabs;
    size_t n_slabs, cap_slabs;
    size_t *own_events; /* per range of SLAB_RANGE contacts */
    size_t n_ranges;
    size_t own_total;
    struct day_index *days_idx;   /* engine_days.c; NULL: day sets unavailable */
    struct type_lists *typelists; /* engine_typelists.c; NULL: unavailable */
    pthread_t maint;
    int maint_running, maint_stop;
    pthread_mutex_t maint_mu;
    pthread_cond_t maint_cv;
    /* --- segment indexes (engine_segidx.c) --- */
    struct seg_index *segidx; /* per-type day buckets for behaviour conditions */
    uint64_t merge_gen;       /* bumped by every merge and unmerge */
    size_t n_merged;          /* contacts currently merged into another */
};

/* --- segment indexes (engine_segidx.c) --- */
struct seg_index;
struct seg_index *sy_segidx_create(void);    /* NULL on out-of-memory */
void sy_segidx_destroy(struct seg_index *x); /* NULL ok */
/* who_counts for a type without dimension or sum filters; called with the
 * engine's read lock held. Returns NULL when out of memory. */
struct roaring_bitmap_s *sy_segidx_who_counts(sy_engine *e, int type, int64_t from, int64_t to,
                                              uint32_t min_count);

/* The contact a (possibly merged) contact's events belong to. Lock held.
 * Free when nothing is merged (the common case on a hot path). */
static inline uint32_t sy_engine_canon_unlocked(const sy_engine *e, uint32_t c) {
    for (int hops = 0; e->n_merged && c < e->n_contacts && e->contacts[c].merged_into && hops < 64;
         hops++)
        c = e->contacts[c].merged_into;
    return c;
}

static inline int64_t sy_engine_ts_at(const sy_engine *e, uint32_t pos) {
    return e->chunks[pos >> CHUNK_BITS]->ts[pos & (CHUNK - 1)];
}

/* Revenue of the event at pos (binary search of the sparse list). */
static inline int64_t sy_engine_revenue_at(const sy_engine *e, uint32_t pos) {
    size_t lo = 0, hi = e->n_rev;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (e->rev[mid].pos < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < e->n_rev && e->rev[lo].pos == pos ? e->rev[lo].fen : 0;
}

struct type_lists *sy_typelists_create(void);    /* NULL on out-of-memory */
void sy_typelists_destroy(struct type_lists *x); /* NULL ok */
struct day_index *sy_days_create(void);          /* NULL on out-of-memory */
void sy_days_destroy(struct day_index *x);       /* NULL ok */

/* Drops a contact's reference to its slab (freeing the slab when it was
 * the last one) after its list moved out; write lock held. */
void sy_engine_slab_release(sy_engine *e, int32_t slab);
/* Stops the maintenance thread if running (engine.c's destroy calls it). */
void sy_engine_maint_stop(sy_engine *e);

#endif
