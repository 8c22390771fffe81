/* engine.h — the in-memory event index and sets of contacts.
 *
 * engine/ holds what analytics and segments need in RAM: for every committed
 * event a row of a few columns (contact, time, type, revenue, four
 * dictionary-encoded dimensions), and for every contact the positions of its
 * events in time order plus computed profile fields. It is derived data:
 * rebuilt from the event log at start and appended to as transactions
 * commit; losing it loses nothing.
 *
 * Threads: sy_engine_append / _merge / _unmerge are called by one thread at a
 * time (the event writer); readers call the query functions from any thread.
 * Each query takes the engine's read lock for its own duration.
 *
 * Only engine/ includes roaring.h; other modules hold sets of contacts
 * through the opaque sy_idset. */
#ifndef SY_ENGINE_H
#define SY_ENGINE_H

#include <stddef.h>
#include <stdint.h>

/* Dimensions kept per event (dictionary ids; 0 = absent). */
enum {
    SY_DIM_CHANNEL = 0,
    SY_DIM_STORE = 1,
    SY_DIM_CATEGORY = 2,
    SY_DIM_SKU = 3,
    SY_DIM_COUNT = 4
};

/* Event flags. */
enum {
    SY_EV_SYSTEM = 1, /* produced by siyu itself: never counts as activity */
    SY_EV_ORDER = 2,  /* an order (revenue_fen > 0 adds to spend) */
    SY_EV_REFUND = 4, /* a refund (revenue_fen subtracts from spend) */
    SY_EV_META = 8,   /* identify / alias / group: profile upkeep, not activity */
};

typedef struct sy_engine_event {
    uint32_t contact;    /* internal contact id at ingestion */
    uint16_t type;       /* event type id (catalog) */
    uint8_t flags;       /* SY_EV_* */
    int64_t ts;          /* event time, UTC ms */
    int64_t revenue_fen; /* order amount (orders and refunds), else 0 */
    uint16_t dims[SY_DIM_COUNT];
} sy_engine_event;

/* Computed profile of one contact (activity excludes system events). */
typedef struct sy_engine_profile {
    int64_t first_seen; /* 0 when the contact has no activity */
    int64_t last_seen;
    int64_t last_order_at;
    uint32_t events; /* all events, system ones included */
    uint32_t orders; /* orders minus refunded orders is not tracked: refunds only subtract spend */
    int64_t spend_fen;
} sy_engine_profile;

typedef struct sy_engine sy_engine;

/* Returns a new empty engine, or NULL when out of memory. */
sy_engine *sy_engine_create(void);
void sy_engine_destroy(sy_engine *e); /* NULL ok */

/* Appends n committed events (copied). Returns 0 or SY_E_NOMEM. */
int sy_engine_append(sy_engine *e, const sy_engine_event *ev, size_t n);
/* Number of events held. */
size_t sy_engine_size(sy_engine *e);

/* Records that contact `loser` was merged into `winner`: from now on the
 * loser's events read as the winner's. sy_engine_unmerge undoes it. */
void sy_engine_merge(sy_engine *e, uint32_t loser, uint32_t winner);
void sy_engine_unmerge(sy_engine *e, uint32_t loser);

/* The contact a (possibly merged) contact's events now belong to. */
uint32_t sy_engine_canonical(sy_engine *e, uint32_t contact);

/* Profile of a contact (zeros when it has no events). */
void sy_engine_profile_get(sy_engine *e, uint32_t contact, sy_engine_profile *out);

/* Event positions of a contact (its own and those of contacts merged into
 * it) with ts in [from, to) and type == type (type < 0: any), newest first,
 * skipping `offset` matches and writing at most cap positions to out.
 * Returns the total number of matches (which may exceed cap). */
size_t sy_engine_contact_events(sy_engine *e, uint32_t contact, int64_t from, int64_t to, int type,
                                size_t offset, uint32_t *out, size_t cap);
/* Same, keeping only events of one source: SY_SRC_USER (sent by clients)
 * or SY_SRC_SYSTEM (produced by siyu), or SY_SRC_ALL. */
enum { SY_SRC_ALL = 0, SY_SRC_USER = 1, SY_SRC_SYSTEM = 2 };
size_t sy_engine_contact_events_src(sy_engine *e, uint32_t contact, int64_t from, int64_t to,
                                    int type, int source, size_t offset, uint32_t *out, size_t cap);
/* Copies the event at a position returned above. */
void sy_engine_event_at(sy_engine *e, uint32_t pos, sy_engine_event *out);
/* Per-type event counts of a contact: fills counts[type] for type < n. */
void sy_engine_contact_type_counts(sy_engine *e, uint32_t contact, uint32_t *counts, size_t n);

/* Calls fn for every event in position order (stored order, not time
 * order) with its contact read through merges (canonical id). Holds the
 * engine's read lock throughout: fn must not call back into the engine.
 * Returns the number of events visited. */
typedef void (*sy_engine_scan_fn)(void *ctx, const sy_engine_event *ev);
size_t sy_engine_scan(sy_engine *e, sy_engine_scan_fn fn, void *ctx);

/* Memory held: total bytes and bytes of the base event columns. */
void sy_engine_memory(sy_engine *e, size_t *total, size_t *base_columns);

/* --- sets of contacts (roaring bitmaps) --- */
typedef struct sy_idset sy_idset;
sy_idset *sy_idset_create(void);    /* NULL on out-of-memory */
void sy_idset_destroy(sy_idset *s); /* NULL ok */
sy_idset *sy_idset_copy(const sy_idset *s);
void sy_idset_add(sy_idset *s, uint32_t id);
void sy_idset_remove(sy_idset *s, uint32_t id);
int sy_idset_contains(const sy_idset *s, uint32_t id);
uint64_t sy_idset_count(const sy_idset *s);
void sy_idset_and(sy_idset *s, const sy_idset *other);    /* s ∩= other */
void sy_idset_or(sy_idset *s, const sy_idset *other);     /* s ∪= other */
void sy_idset_andnot(sy_idset *s, const sy_idset *other); /* s −= other */
/* Writes up to cap ids ≥ from, ascending, to out; returns how many. */
size_t sy_idset_list(const sy_idset *s, uint32_t from, uint32_t *out, size_t cap);
/* Contacts with at least one event of type (type < 0: any) in [from, to),
 * counting system events only when include_system. Caller destroys. */
sy_idset *sy_engine_who_did(sy_engine *e, int type, int64_t from, int64_t to, int include_system);

/* Contacts (canonical ids: a merged contact's events count for the contact
 * it was merged into) having, among the events of type `type` (>= 0) with ts
 * in [from, to) whose dimensions equal dims[d] for every d where dims[d] != 0,
 * system and meta events excluded, at least min_count events (>= 1) and a
 * revenue sum (revenue_fen of those events; refunds count positive as stored)
 * of at least min_sum_fen (INT64_MIN: no sum condition). Caller destroys;
 * NULL on out-of-memory. */
sy_idset *sy_engine_who_counts(sy_engine *e, int type, int64_t from, int64_t to,
                               const uint16_t dims[SY_DIM_COUNT], uint32_t min_count,
                               int64_t min_sum_fen);

/* --- analytics scans (engine_scan.c) --- */

/* One event as a contact's list holds it: the columns contact-major scans
 * (funnels, retention, DAU) read, plus the position for everything else. */
typedef struct sy_engine_rec {
    int64_t ts;
    uint32_t pos;
    uint16_t type;
    uint8_t flags;
    uint8_t pad;
} sy_engine_rec;

/* Packs every contact's list into slabs in contact order (one per range of
 * 65,536 contacts, each under its own short write-lock hold), so that a
 * contact-major scan reads memory sequentially. Call after the start-up
 * replay; later appends move a contact's list out of its slab again.
 * Returns 0 or SY_E_NOMEM (ranges not packed stay as they were). */
int sy_engine_compact(sy_engine *e);
/* Starts a thread that every 2 s repacks the contact ranges whose lists
 * have mostly moved out of their slab (appends after the last packing),
 * one range of 65,536 contacts per write-lock hold. Stopped by
 * sy_engine_destroy. Returns 0 or SY_E_INTERNAL. */
int sy_engine_start_maintenance(sy_engine *e);

/* Called once per canonical contact with events: recs are its events and
 * those of contacts merged into it, in (ts, pos) order (valid during the
 * call only). Runs under the engine's read lock: use only the *_unlocked
 * accessors below inside it. */
typedef void (*sy_engine_contact_fn)(void *ctx, uint32_t contact, const sy_engine_rec *recs,
                                     size_t n);
/* Calls fn for every canonical contact with at least one event, restricted
 * to the ids in `only` when not NULL, splitting the id range over `threads`
 * threads (1..8): thread t calls fn with ctx[t] for a contiguous ascending
 * range of ids, so per-thread accumulators need no locking. Returns 0 or
 * SY_E_NOMEM (some contacts may then have been visited). */
int sy_engine_scan_contacts(sy_engine *e, const struct sy_idset *only, int threads,
                            sy_engine_contact_fn fn, void **ctx);

/* Called for events of one type (or every event when type < 0) with ts in
 * [from, to), in position order, with the canonical contact; under the read
 * lock (only *_unlocked accessors inside). Returns the number visited. */
typedef void (*sy_engine_event_fn)(void *ctx, uint32_t contact, const sy_engine_rec *rec);
size_t sy_engine_scan_type(sy_engine *e, int type, int64_t from, int64_t to, sy_engine_event_fn fn,
                           void *ctx);

/* For each local day first_day + i (i < n_days; day numbers since
 * 1970-01-01 in timezone tz), a new set (out[i], caller destroys) of the
 * contacts (canonical ids) with at least one activity event — system and
 * meta events never count — of type `type`, or of any type when type < 0,
 * that day. Served from a per-day index built at the first call and brought
 * up to date at each call (engine_days.c). Returns 0 or SY_E_NOMEM (every
 * out[i] is then NULL). */
int sy_engine_active_day_sets(sy_engine *e, const char *tz, int type, int64_t first_day, int n_days,
                              sy_idset **out);
/* Builds that per-day index for tz and type (< 0: any activity) now, as
 * the first question would: a server calls it once after loading, so that
 * its first DAU, retention or trend question does not wait (0.7 s on 20 M
 * events). Holds the read lock and the index lock meanwhile. *filed (may
 * be NULL) = events filed under the key so far (every position for type
 * < 0, every entry of the type's list otherwise). Returns 0 or
 * SY_E_NOMEM. */
int sy_engine_days_warm(sy_engine *e, const char *tz, int type, size_t *filed);
/* Sets as bitmaps, block by block: for block b (ids b * 65,536 ..
 * b * 65,536 + 65,535), word w of a block bitmap holds ids
 * b * 65,536 + 64 * w + j in bit j. */
#define SY_BLOCK_IDS 65536u
#define SY_BLOCK_WORDS 1024u
/* Called for one block with, per day index i, active[i] (the block's
 * contacts active on day i, as in sy_engine_active_day_sets) and first[i]
 * (the block's contacts whose first event of first_type, ever, falls on
 * local day i of that range); NULL stands for an empty block. Valid during
 * the call only. */
typedef void (*sy_engine_block_fn)(void *ctx, uint32_t block, const uint64_t *const *active,
                                   const uint64_t *const *first);
/* Calls fn(ctx[t], b, active, first) for every block b holding any id of
 * these sets: active covers the n_active days from active_day, first the
 * n_first days from first_day (local days since 1970-01-01 in tz; type < 0:
 * any activity). Two threads take alternate blocks, thread t calling with
 * ctx[t]. Reads the index's bitmaps in place where it can (no copy).
 * Returns 0, SY_E_UNSUPPORTED while contacts are merged, when an event of
 * first_type is not activity or a first time lies outside the index (use
 * the other questions), or SY_E_NOMEM. */
int sy_engine_day_blocks(sy_engine *e, const char *tz, int active_type, int64_t active_day,
                         int n_active, int first_type, int64_t first_day, int n_first,
                         sy_engine_block_fn fn, void *const ctx[2]);
/* The ids of set s in block b as a bitmap (see SY_BLOCK_WORDS): a pointer
 * into s, or into scratch (SY_BLOCK_WORDS words) once filled; NULL when the
 * block is empty. Valid while s is unchanged. */
const uint64_t *sy_idset_block(const sy_idset *s, uint32_t b, uint64_t *scratch);
/* 1 when block bitmaps are read from CRoaring's containers in place (its
 * layout checked once at run time), 0 when they are copied out through its
 * public API (slower, same answers). */
int sy_engine_blocks_in_place(void);
/* The contacts (canonical ids, ascending; *ids and *times are new arrays the
 * caller frees, *n entries) whose first event of type (>= 0; system and
 * meta events included) has a time in [lo, hi), with that time;
 * *all_active is 0 when some event of the type is not activity. From the
 * same lazily kept index as the day sets. Returns 0, SY_E_INVALID (type < 0)
 * or SY_E_NOMEM. */
int sy_engine_first_times(sy_engine *e, const char *tz, int type, int64_t lo, int64_t hi,
                          uint32_t **ids, int64_t **times, size_t *n, int *all_active);
/* The day sets of sy_engine_active_day_sets, intersected with `within`
 * when not NULL, as new sorted arrays (out[i] with counts[i] ids; caller
 * frees each), without building sets. Returns
 * SY_E_UNSUPPORTED while merged contacts exist (use the sets: they apply
 * merges), else 0 or SY_E_NOMEM. */
int sy_engine_active_day_arrays(sy_engine *e, const char *tz, int type, int64_t first_day,
                                int n_days, const sy_idset *within, uint32_t **out, size_t *counts);
/* Per local day first_day + i (i < n_days, timezone tz): the number of
 * events of type (>= 0; every event of the type, system ones included) and
 * the sum of their amounts (fen; orders and refunds as stored), grouped by
 * the value of dimension dim (SY_DIM_*; -1: one group, value 0). Calls fn
 * for every non-empty (day, value). Raw ids are not involved (no merges
 * matter). Kept like the day sets. Returns 0, SY_E_INVALID,
 * SY_E_UNSUPPORTED (the dimension has more than 1,024 values: scan
 * instead) or SY_E_NOMEM. */
typedef void (*sy_engine_count_fn)(void *ctx, int day, uint16_t value, int64_t count,
                                   int64_t sum_fen);
int sy_engine_type_day_counts(sy_engine *e, const char *tz, int type, int dim, int64_t first_day,
                              int n_days, sy_engine_count_fn fn, void *ctx);
/* Each contact's events of a few types, for loose funnels: calls
 * fn(ctx[t], contact, lists, secs, counts, n) for every contact (restricted
 * to `only` when not NULL) with at least one event of types[0]; lists[k]
 * holds its counts[k] events of types[k] (all of them, any flags) in (ts,
 * pos) order, valid during the call. secs is NULL, or the same times
 * again as columns: secs[k].sec[i] == lists[k][i].ts / 1000 and
 * secs[k].ms[i] == lists[k][i].ts % 1000 for every k and i (given when
 * every time involved lies in [0, 2^32) seconds). Searching by whole second
 * reads a quarter of the bytes, and a time read from the columns spares a
 * cache miss on lists[k]. Contacts are split over `threads` threads
 * as sy_engine_scan_contacts does. Served from per-type lists packed by
 * contact (engine_typelists.c). Returns 0, SY_E_INVALID (n < 1 or more than
 * SY_TYPELISTS_MAX types), SY_E_UNSUPPORTED (merged contacts exist: scan
 * contacts instead) or SY_E_NOMEM. */
#define SY_TYPELISTS_MAX 10
typedef struct sy_engine_tev {
    int64_t ts;
    uint32_t pos;
} sy_engine_tev;
typedef struct sy_engine_tsec {
    const uint32_t *sec;
    const uint16_t *ms;
} sy_engine_tsec;
typedef void (*sy_engine_typelists_fn)(void *ctx, uint32_t contact,
                                       const sy_engine_tev *const *lists,
                                       const sy_engine_tsec *secs, const size_t *counts, int n);
/* The packed lists themselves, for a caller's own loop over contacts
 * [lo, hi): contact c has cols[k].off[c + 1] - cols[k].off[c] events of
 * types[k] from index cols[k].off[c] of ev, sec and ms when c <
 * cols[k].n_ids, none otherwise. has holds bit c % 64 of word c / 64 set
 * exactly when c has some ((n_ids + 63) / 64 words), and every event's
 * second lies in [min_sec, max_sec] (min_sec > max_sec: no events). */
typedef struct sy_engine_tcol {
    const uint32_t *off;
    uint32_t n_ids;
    const sy_engine_tev *ev;
    const uint32_t *sec; /* ev[i].ts / 1000 */
    const uint16_t *ms;  /* ev[i].ts % 1000 */
    const uint64_t *has;
    uint32_t min_sec, max_sec;
} sy_engine_tcol;
typedef void (*sy_engine_tcols_fn)(void *ctx, uint32_t lo, uint32_t hi, const sy_engine_tcol *cols,
                                   int n);
/* cols_fn (may be NULL): when the lists can be handed out as they are (no
 * events appended since they were packed, every time in the seconds
 * columns' range, `only` NULL), each thread t calls cols_fn(ctx[t], lo, hi,
 * cols, n) instead of fn for each contact, for ranges [lo, hi) of 16,384
 * contacts that the threads take in turn (so one thread may get most of
 * them, and several calls); the caller visits, among [lo, hi), the
 * contacts with an event of types[0]. */
int sy_engine_scan_type_lists(sy_engine *e, const int *types, int n_types, const sy_idset *only,
                              int threads, sy_engine_typelists_fn fn, sy_engine_tcols_fn cols_fn,
                              void **ctx);
/* |a ∩ b| without building it. */
uint64_t sy_idset_and_count(const sy_idset *a, const sy_idset *b);
/* Writes every id, ascending, to out (sy_idset_count(s) entries). */
void sy_idset_to_array(const sy_idset *s, uint32_t *out);
/* Adds n ids (any order). */
void sy_idset_add_many(sy_idset *s, const uint32_t *ids, size_t n);

/* Inside a scan callback only (the read lock is held): a dimension value
 * and the revenue (fen; 0 when none) of the event at pos. */
uint16_t sy_engine_dim_unlocked(const sy_engine *e, uint32_t pos, int dim);
int64_t sy_engine_revenue_unlocked(const sy_engine *e, uint32_t pos);

/* --- segment indexes --- */
/* Adds to out the contacts (canonical ids) of the events at positions
 * [from, to), to clipped to the size: who a batch of commits touched, for
 * passes that re-evaluate only those contacts. */
void sy_engine_contacts_between(sy_engine *e, size_t from, size_t to, sy_idset *out);
/* A counter moved by every merge and unmerge (profiles of the contacts
 * involved changed without new events). */
uint64_t sy_engine_merge_gen(sy_engine *e);
/* Positions of the events of one type at positions >= from, ascending,
 * up to cap of them into out; returns how many were written. Lets a pass
 * that only cares about one type (form_submitted) skip all others. */
size_t sy_engine_type_positions(sy_engine *e, int type, size_t from, uint32_t *out, size_t cap);

#endif
