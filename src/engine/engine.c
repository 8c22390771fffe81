/* engine.c — columnar event index, per-contact positions, profiles, idsets. */
#define _GNU_SOURCE /* qsort_r */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <roaring/roaring.h>
#include "engine.h"
#include "base/err.h"
#include "engine_int.h"

sy_engine *sy_engine_create(void) {
    sy_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    pthread_rwlock_init(&e->lock, NULL);
    pthread_mutex_init(&e->maint_mu, NULL);
    pthread_cond_init(&e->maint_cv, NULL);
    e->segidx = sy_segidx_create(); /* NULL: behaviour conditions scan the type lists */
    e->days_idx = sy_days_create();
    e->typelists = sy_typelists_create();
    return e;
}

void sy_engine_destroy(sy_engine *e) {
    if (!e) return;
    sy_engine_maint_stop(e);
    for (size_t i = 0; i < e->n_chunks; i++)
        free(e->chunks[i]);
    free(e->chunks);
    free(e->rev);
    for (size_t i = 0; i < e->n_contacts; i++) {
        if (e->contacts[i].slab < 0) free(e->contacts[i].rec);
        free(e->contacts[i].children);
    }
    free(e->contacts);
    for (size_t i = 0; i < e->n_types; i++)
        free(e->by_type[i].pos);
    free(e->by_type);
    for (size_t i = 0; i < e->n_slabs; i++)
        free(e->slabs[i].mem);
    free(e->slabs);
    free(e->own_events);
    pthread_mutex_destroy(&e->maint_mu);
    pthread_cond_destroy(&e->maint_cv);
    sy_segidx_destroy(e->segidx);
    sy_days_destroy(e->days_idx);
    sy_typelists_destroy(e->typelists);
    pthread_rwlock_destroy(&e->lock);
    free(e);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 4;
    while (c < need)
        c *= 2;
    void *np = realloc(*p, c * elem);
    if (!np) return SY_E_NOMEM;
    *p = np;
    *cap = c;
    return 0;
}

static inline int64_t ts_at(const sy_engine *e, uint32_t pos) {
    return e->chunks[pos >> CHUNK_BITS]->ts[pos & (CHUNK - 1)];
}

static int ensure_contact(sy_engine *e, uint32_t id) {
    if (id < e->n_contacts) return 0;
    size_t n = e->n_contacts ? e->n_contacts : 1024;
    while (n <= id)
        n *= 2;
    size_t nr = (n + SLAB_RANGE - 1) >> SLAB_BITS;
    if (nr > e->n_ranges) {
        size_t *oe = realloc(e->own_events, nr * sizeof *oe);
        if (!oe) return SY_E_NOMEM;
        memset(oe + e->n_ranges, 0, (nr - e->n_ranges) * sizeof *oe);
        e->own_events = oe;
        e->n_ranges = nr;
    }
    contact_slot *c = realloc(e->contacts, n * sizeof *c);
    if (!c) return SY_E_NOMEM;
    memset(c + e->n_contacts, 0, (n - e->n_contacts) * sizeof *c);
    for (size_t i = e->n_contacts; i < n; i++)
        c[i].slab = -1;
    e->contacts = c;
    e->n_contacts = n;
    return 0;
}

/* Inserts pos into the contact's position list keeping (ts, pos) order;
 * events mostly arrive in time order, so this is usually an append. */
static int add_position(sy_engine *e, contact_slot *c, uint32_t pos) {
    if (c->n + 1 > c->cap) {
        size_t cap = c->cap ? (size_t)c->cap * 2 : 4;
        crec *nr = c->slab >= 0 ? malloc(cap * sizeof *nr) : realloc(c->rec, cap * sizeof *nr);
        if (!nr) return SY_E_NOMEM;
        if (c->slab >= 0) {
            if (c->n) memcpy(nr, c->rec, c->n * sizeof *nr);
            size_t range = (size_t)(c - e->contacts) >> SLAB_BITS;
            if (range < e->n_ranges) e->own_events[range] += c->n;
            e->own_total += c->n;
            sy_engine_slab_release(e, c->slab);
            c->slab = -1;
        }
        c->rec = nr;
        c->cap = (uint32_t)cap;
    }
    if (c->slab < 0) {
        size_t range = (size_t)(c - e->contacts) >> SLAB_BITS;
        if (range < e->n_ranges) e->own_events[range]++;
        e->own_total++;
    }
    const chunk *ch = e->chunks[pos >> CHUNK_BITS];
    size_t k = pos & (CHUNK - 1);
    crec r = {ch->ts[k], pos, ch->type[k], ch->flags[k], 0};
    uint32_t i = c->n;
    while (i > 0 && c->rec[i - 1].ts > r.ts) {
        c->rec[i] = c->rec[i - 1];
        i--;
    }
    c->rec[i] = r;
    c->n++;
    return 0;
}

static void profile_add(sy_engine_profile *p, const sy_engine_event *ev) {
    p->events++;
    if (!(ev->flags & (SY_EV_SYSTEM | SY_EV_META))) {
        if (!p->first_seen || ev->ts < p->first_seen) p->first_seen = ev->ts;
        if (ev->ts > p->last_seen) p->last_seen = ev->ts;
    }
    if (ev->flags & SY_EV_ORDER) {
        p->orders++;
        p->spend_fen += ev->revenue_fen;
        if (ev->ts > p->last_order_at) p->last_order_at = ev->ts;
    } else if (ev->flags & SY_EV_REFUND) {
        p->spend_fen -= ev->revenue_fen;
    }
}

int sy_engine_append(sy_engine *e, const sy_engine_event *ev, size_t n) {
    int rc = 0;
    pthread_rwlock_wrlock(&e->lock);
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t pos = e->size;
        if (pos >= UINT32_MAX) {
            rc = SY_E_NOMEM;
            break;
        }
        if ((pos >> CHUNK_BITS) >= e->n_chunks) {
            if ((rc =
                     grow((void **)&e->chunks, &e->cap_chunks, e->n_chunks + 1, sizeof *e->chunks)))
                break;
            chunk *c = malloc(sizeof *c);
            if (!c) {
                rc = SY_E_NOMEM;
                break;
            }
            e->chunks[e->n_chunks++] = c;
        }
        chunk *c = e->chunks[pos >> CHUNK_BITS];
        size_t k = pos & (CHUNK - 1);
        c->ts[k] = ev[i].ts;
        c->contact[k] = ev[i].contact;
        c->type[k] = ev[i].type;
        c->flags[k] = ev[i].flags;
        for (int d = 0; d < SY_DIM_COUNT; d++)
            c->dims[d][k] = ev[i].dims[d];
        if (ev[i].revenue_fen) {
            if ((rc = grow((void **)&e->rev, &e->cap_rev, e->n_rev + 1, sizeof *e->rev))) break;
            e->rev[e->n_rev++] = (revenue){(uint32_t)pos, ev[i].revenue_fen};
        }
        if ((rc = ensure_contact(e, ev[i].contact))) break;
        if (ev[i].type >= e->n_types) {
            size_t nt = e->n_types ? e->n_types : 64;
            while (nt <= ev[i].type)
                nt *= 2;
            type_list *tl = realloc(e->by_type, nt * sizeof *tl);
            if (!tl) {
                rc = SY_E_NOMEM;
                break;
            }
            memset(tl + e->n_types, 0, (nt - e->n_types) * sizeof *tl);
            e->by_type = tl;
            e->n_types = nt;
        }
        type_list *tl = &e->by_type[ev[i].type];
        if ((rc = grow((void **)&tl->pos, &tl->cap, tl->n + 1, sizeof *tl->pos))) break;
        tl->pos[tl->n++] = (uint32_t)pos;
        e->size++;
        contact_slot *cs = &e->contacts[ev[i].contact];
        if ((rc = add_position(e, cs, (uint32_t)pos))) break;
        /* The profile belongs to the canonical contact. */
        uint32_t canon = ev[i].contact;
        while (e->contacts[canon].merged_into)
            canon = e->contacts[canon].merged_into;
        profile_add(&e->contacts[canon].p, &ev[i]);
    }
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

size_t sy_engine_size(sy_engine *e) {
    pthread_rwlock_rdlock(&e->lock);
    size_t n = e->size;
    pthread_rwlock_unlock(&e->lock);
    return n;
}

#define revenue_at sy_engine_revenue_at

static void event_at(const sy_engine *e, uint32_t pos, sy_engine_event *out) {
    const chunk *c = e->chunks[pos >> CHUNK_BITS];
    size_t k = pos & (CHUNK - 1);
    out->ts = c->ts[k];
    out->contact = c->contact[k];
    out->type = c->type[k];
    out->flags = c->flags[k];
    for (int d = 0; d < SY_DIM_COUNT; d++)
        out->dims[d] = c->dims[d][k];
    out->revenue_fen = revenue_at(e, pos);
}

void sy_engine_event_at(sy_engine *e, uint32_t pos, sy_engine_event *out) {
    pthread_rwlock_rdlock(&e->lock);
    if (pos < e->size)
        event_at(e, pos, out);
    else
        memset(out, 0, sizeof *out);
    pthread_rwlock_unlock(&e->lock);
}

/* Recomputes a canonical contact's profile from its events and those of the
 * contacts merged into it. */
static void collect(const sy_engine *e, uint32_t id, uint32_t **list, size_t *n, size_t *cap);

static void recompute_profile(sy_engine *e, uint32_t id) {
    contact_slot *c = &e->contacts[id];
    memset(&c->p, 0, sizeof c->p);
    uint32_t *list = NULL;
    size_t n = 0, cap = 0;
    collect(e, id, &list, &n, &cap);
    for (size_t i = 0; i < n; i++) {
        sy_engine_event ev;
        event_at(e, list[i], &ev);
        profile_add(&c->p, &ev);
    }
    free(list);
}

void sy_engine_merge(sy_engine *e, uint32_t loser, uint32_t winner) {
    if (loser == winner) return;
    pthread_rwlock_wrlock(&e->lock);
    if (ensure_contact(e, loser > winner ? loser : winner) == 0) {
        contact_slot *l = &e->contacts[loser], *w = &e->contacts[winner];
        size_t cap = w->cap_children;
        if (!l->merged_into && grow((void **)&w->children, &cap, (size_t)w->n_children + 1,
                                    sizeof *w->children) == 0) {
            w->cap_children = (uint32_t)cap;
            w->children[w->n_children++] = loser;
            l->merged_into = winner;
            e->merge_gen++, e->n_merged++; /* segment indexes map merged ids at query time */
            memset(&l->p, 0, sizeof l->p);
            recompute_profile(e, winner);
        }
    }
    pthread_rwlock_unlock(&e->lock);
}

void sy_engine_unmerge(sy_engine *e, uint32_t loser) {
    pthread_rwlock_wrlock(&e->lock);
    if (loser < e->n_contacts && e->contacts[loser].merged_into) {
        uint32_t winner = e->contacts[loser].merged_into;
        contact_slot *w = &e->contacts[winner];
        for (uint32_t i = 0; i < w->n_children; i++)
            if (w->children[i] == loser) {
                w->children[i] = w->children[--w->n_children];
                break;
            }
        e->contacts[loser].merged_into = 0;
        e->merge_gen++, e->n_merged--;
        recompute_profile(e, winner);
        recompute_profile(e, loser);
    }
    pthread_rwlock_unlock(&e->lock);
}

uint32_t sy_engine_canonical(sy_engine *e, uint32_t contact) {
    pthread_rwlock_rdlock(&e->lock);
    uint32_t c = contact;
    for (int hops = 0; c < e->n_contacts && e->contacts[c].merged_into && hops < 64; hops++)
        c = e->contacts[c].merged_into;
    pthread_rwlock_unlock(&e->lock);
    return c;
}

void sy_engine_profile_get(sy_engine *e, uint32_t contact, sy_engine_profile *out) {
    pthread_rwlock_rdlock(&e->lock);
    if (contact < e->n_contacts)
        *out = e->contacts[contact].p;
    else
        memset(out, 0, sizeof *out);
    pthread_rwlock_unlock(&e->lock);
}

/* Appends the positions of id and (recursively) of contacts merged into it. */
static void collect(const sy_engine *e, uint32_t id, uint32_t **list, size_t *n, size_t *cap) {
    if (id >= e->n_contacts) return;
    const contact_slot *c = &e->contacts[id];
    if (c->n && grow((void **)list, cap, *n + c->n, sizeof **list) == 0) {
        for (uint32_t i = 0; i < c->n; i++)
            (*list)[*n + i] = c->rec[i].pos;
        *n += c->n;
    }
    for (uint32_t i = 0; i < c->n_children; i++)
        collect(e, c->children[i], list, n, cap);
}

/* qsort_r comparator: newest first, ties by position. */
static int cmp_newest(const void *a, const void *b, void *eng) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int64_t tx = ts_at(eng, x), ty = ts_at(eng, y);
    if (tx != ty) return tx < ty ? 1 : -1;
    return x < y ? 1 : (x > y ? -1 : 0);
}

size_t sy_engine_contact_events(sy_engine *e, uint32_t contact, int64_t from, int64_t to, int type,
                                size_t offset, uint32_t *out, size_t cap) {
    return sy_engine_contact_events_src(e, contact, from, to, type, SY_SRC_ALL, offset, out, cap);
}

size_t sy_engine_contact_events_src(sy_engine *e, uint32_t contact, int64_t from, int64_t to,
                                    int type, int source, size_t offset, uint32_t *out,
                                    size_t cap) {
    pthread_rwlock_rdlock(&e->lock);
    size_t total = 0;
    if (contact < e->n_contacts) {
        const contact_slot *c = &e->contacts[contact];
        uint32_t *list = NULL;
        size_t n = 0, lcap = 0;
        if (c->n_children == 0) {
            n = c->n; /* own list, already in time order */
        } else {
            collect(e, contact, &list, &n, &lcap);
            if (n > 1) qsort_r(list, n, sizeof *list, cmp_newest, e);
        }
        int newest_first = c->n_children != 0;
        for (size_t k = 0; k < n; k++) {
            uint32_t pos = newest_first ? list[k] : c->rec[n - 1 - k].pos;
            int64_t ts = ts_at(e, pos);
            if (ts < from || ts >= to) continue;
            if (type >= 0 && e->chunks[pos >> CHUNK_BITS]->type[pos & (CHUNK - 1)] != type)
                continue;
            if (source != SY_SRC_ALL) {
                int sys =
                    (e->chunks[pos >> CHUNK_BITS]->flags[pos & (CHUNK - 1)] & SY_EV_SYSTEM) != 0;
                if (sys != (source == SY_SRC_SYSTEM)) continue;
            }
            if (total >= offset && total - offset < cap) out[total - offset] = pos;
            total++;
        }
        if (lcap) free(list);
    }
    pthread_rwlock_unlock(&e->lock);
    return total;
}

void sy_engine_contact_type_counts(sy_engine *e, uint32_t contact, uint32_t *counts, size_t n) {
    memset(counts, 0, n * sizeof *counts);
    pthread_rwlock_rdlock(&e->lock);
    uint32_t *list = NULL;
    size_t m = 0, cap = 0;
    collect(e, contact, &list, &m, &cap);
    for (size_t i = 0; i < m; i++) {
        uint16_t t = e->chunks[list[i] >> CHUNK_BITS]->type[list[i] & (CHUNK - 1)];
        if (t < n) counts[t]++;
    }
    free(list);
    pthread_rwlock_unlock(&e->lock);
}

void sy_engine_memory(sy_engine *e, size_t *total, size_t *base_columns) {
    pthread_rwlock_rdlock(&e->lock);
    /* base columns: ts (8) + contact (4) + type (2) + flags (1) per event, plus sparse revenue */
    size_t base = e->size * (8 + 4 + 2 + 1) + e->n_rev * sizeof(revenue);
    size_t t = e->n_chunks * sizeof(chunk) + e->cap_rev * sizeof(revenue) +
               e->n_contacts * sizeof(contact_slot);
    for (size_t i = 0; i < e->n_contacts; i++)
        t += (e->contacts[i].slab < 0 ? e->contacts[i].cap : e->contacts[i].n) * sizeof(crec);
    for (size_t i = 0; i < e->n_types; i++)
        t += e->by_type[i].cap * sizeof(uint32_t);
    pthread_rwlock_unlock(&e->lock);
    if (total) *total = t;
    if (base_columns) *base_columns = base;
}

/* --- idsets --- */

sy_idset *sy_idset_create(void) {
    sy_idset *s = malloc(sizeof *s);
    if (!s) return NULL;
    s->r = roaring_bitmap_create();
    if (!s->r) {
        free(s);
        return NULL;
    }
    return s;
}

void sy_idset_destroy(sy_idset *s) {
    if (!s) return;
    roaring_bitmap_free(s->r);
    free(s);
}

sy_idset *sy_idset_copy(const sy_idset *s) {
    sy_idset *c = malloc(sizeof *c);
    if (!c) return NULL;
    c->r = roaring_bitmap_copy(s->r);
    if (!c->r) {
        free(c);
        return NULL;
    }
    return c;
}

void sy_idset_add(sy_idset *s, uint32_t id) {
    roaring_bitmap_add(s->r, id);
}
void sy_idset_remove(sy_idset *s, uint32_t id) {
    roaring_bitmap_remove(s->r, id);
}
int sy_idset_contains(const sy_idset *s, uint32_t id) {
    return roaring_bitmap_contains(s->r, id);
}
uint64_t sy_idset_count(const sy_idset *s) {
    return roaring_bitmap_get_cardinality(s->r);
}
void sy_idset_and(sy_idset *s, const sy_idset *o) {
    roaring_bitmap_and_inplace(s->r, o->r);
}
void sy_idset_or(sy_idset *s, const sy_idset *o) {
    roaring_bitmap_or_inplace(s->r, o->r);
}
void sy_idset_andnot(sy_idset *s, const sy_idset *o) {
    roaring_bitmap_andnot_inplace(s->r, o->r);
}

size_t sy_idset_list(const sy_idset *s, uint32_t from, uint32_t *out, size_t cap) {
    size_t n = 0;
    roaring_uint32_iterator_t *it = roaring_create_iterator(s->r);
    if (!it) return 0;
    if (roaring_move_uint32_iterator_equalorlarger(it, from))
        while (it->has_value && n < cap) {
            out[n++] = it->current_value;
            roaring_advance_uint32_iterator(it);
        }
    roaring_free_uint32_iterator(it);
    return n;
}

sy_idset *sy_engine_who_did(sy_engine *e, int type, int64_t from, int64_t to, int include_system) {
    sy_idset *s = sy_idset_create();
    if (!s) return NULL;
    pthread_rwlock_rdlock(&e->lock);
    for (size_t ci = 0; ci < e->n_chunks; ci++) {
        const chunk *c = e->chunks[ci];
        size_t lim = ci + 1 < e->n_chunks ? CHUNK : e->size - ci * CHUNK;
        for (size_t k = 0; k < lim; k++) {
            if (c->ts[k] < from || c->ts[k] >= to) continue;
            if (type >= 0 && c->type[k] != type) continue;
            if (!include_system && (c->flags[k] & (SY_EV_SYSTEM | SY_EV_META))) continue;
            uint32_t id = c->contact[k];
            while (id < e->n_contacts && e->contacts[id].merged_into)
                id = e->contacts[id].merged_into;
            roaring_bitmap_add(s->r, id);
        }
    }
    pthread_rwlock_unlock(&e->lock);
    return s;
}

sy_idset *sy_engine_who_counts(sy_engine *e, int type, int64_t from, int64_t to,
                               const uint16_t dims[SY_DIM_COUNT], uint32_t min_count,
                               int64_t min_sum_fen) {
    if (min_count < 1) min_count = 1;
    int plain = 1; /* no dimension or sum filter: the day buckets answer */
    for (int d = 0; dims && d < SY_DIM_COUNT; d++)
        if (dims[d]) plain = 0;
    if (plain && type >= 0 && min_sum_fen == INT64_MIN && e->segidx) {
        pthread_rwlock_rdlock(&e->lock);
        roaring_bitmap_t *r = sy_segidx_who_counts(e, type, from, to, min_count);
        pthread_rwlock_unlock(&e->lock);
        if (r) {
            sy_idset *s = malloc(sizeof *s);
            if (!s) {
                roaring_bitmap_free(r);
                return NULL;
            }
            s->r = r;
            return s;
        }
        /* out of memory or a threshold beyond the counters: scan */
    }
    sy_idset *s = sy_idset_create();
    if (!s) return NULL;
    pthread_rwlock_rdlock(&e->lock);
    /* Dense per-contact accumulators: one pass over the columns, then one
     * over the contacts touched. Sums are only kept when asked for. */
    size_t n = e->n_contacts;
    uint32_t *cnt = n ? calloc(n, sizeof *cnt) : NULL;
    int64_t *sum = (n && min_sum_fen != INT64_MIN) ? calloc(n, sizeof *sum) : NULL;
    if (n && (!cnt || (min_sum_fen != INT64_MIN && !sum))) {
        pthread_rwlock_unlock(&e->lock);
        free(cnt);
        free(sum);
        sy_idset_destroy(s);
        return NULL;
    }
    size_t rev_i = 0; /* revenue entries are in position order: walk them alongside */
    const type_list *tl = type >= 0 && (size_t)type < e->n_types ? &e->by_type[type] : NULL;
    size_t total = type < 0 ? e->size : tl ? tl->n : 0; /* any type: every position */
    for (size_t t = 0; t < total; t++) {
        uint32_t pos = type < 0 ? (uint32_t)t : tl->pos[t];
        const chunk *c = e->chunks[pos >> CHUNK_BITS];
        size_t k = pos & (CHUNK - 1);
        if (c->ts[k] < from || c->ts[k] >= to) continue;
        if (c->flags[k] & (SY_EV_SYSTEM | SY_EV_META)) continue;
        int ok = 1;
        for (int d = 0; d < SY_DIM_COUNT && ok; d++)
            if (dims && dims[d] && c->dims[d][k] != dims[d]) ok = 0;
        if (!ok) continue;
        uint32_t id = c->contact[k];
        while (e->n_merged && id < n && e->contacts[id].merged_into)
            id = e->contacts[id].merged_into;
        if (id >= n) continue;
        if (cnt[id] < UINT32_MAX) cnt[id]++;
        if (sum) {
            while (rev_i < e->n_rev && e->rev[rev_i].pos < pos)
                rev_i++;
            if (rev_i < e->n_rev && e->rev[rev_i].pos == pos) sum[id] += e->rev[rev_i].fen;
        }
    }
    pthread_rwlock_unlock(&e->lock);
    /* ids come out ascending: add them in runs rather than one by one */
    uint32_t run[4096];
    size_t nr = 0;
    for (size_t id = 0; id < n; id++) {
        if (cnt[id] >= min_count && (!sum || sum[id] >= min_sum_fen)) run[nr++] = (uint32_t)id;
        if (nr == sizeof run / sizeof run[0]) {
            roaring_bitmap_add_many(s->r, nr, run);
            nr = 0;
        }
    }
    if (nr) roaring_bitmap_add_many(s->r, nr, run);
    free(cnt);
    free(sum);
    return s;
}

size_t sy_engine_scan(sy_engine *e, sy_engine_scan_fn fn, void *ctx) {
    pthread_rwlock_rdlock(&e->lock);
    size_t n = e->size;
    for (size_t pos = 0; pos < n; pos++) {
        sy_engine_event ev;
        const chunk *c = e->chunks[pos >> CHUNK_BITS];
        size_t k = pos & (CHUNK - 1);
        ev.ts = c->ts[k];
        ev.contact = c->contact[k];
        while (ev.contact < e->n_contacts && e->contacts[ev.contact].merged_into)
            ev.contact = e->contacts[ev.contact].merged_into;
        ev.type = c->type[k];
        ev.flags = c->flags[k];
        for (int d = 0; d < SY_DIM_COUNT; d++)
            ev.dims[d] = c->dims[d][k];
        ev.revenue_fen =
            (ev.flags & (SY_EV_ORDER | SY_EV_REFUND)) ? revenue_at(e, (uint32_t)pos) : 0;
        fn(ctx, &ev);
    }
    pthread_rwlock_unlock(&e->lock);
    return n;
}

/* --- segment indexes --- */

void sy_engine_contacts_between(sy_engine *e, size_t from, size_t to, sy_idset *out) {
    pthread_rwlock_rdlock(&e->lock);
    if (to > e->size) to = e->size;
    uint32_t run[1024];
    size_t nr = 0;
    for (size_t pos = from; pos < to; pos++) {
        uint32_t id = e->chunks[pos >> CHUNK_BITS]->contact[pos & (CHUNK - 1)];
        for (int hops = 0;
             e->n_merged && id < e->n_contacts && e->contacts[id].merged_into && hops < 64; hops++)
            id = e->contacts[id].merged_into;
        run[nr++] = id;
        if (nr == sizeof run / sizeof run[0]) {
            roaring_bitmap_add_many(out->r, nr, run);
            nr = 0;
        }
    }
    if (nr) roaring_bitmap_add_many(out->r, nr, run);
    pthread_rwlock_unlock(&e->lock);
}

uint64_t sy_engine_merge_gen(sy_engine *e) {
    pthread_rwlock_rdlock(&e->lock);
    uint64_t g = e->merge_gen;
    pthread_rwlock_unlock(&e->lock);
    return g;
}

size_t sy_engine_type_positions(sy_engine *e, int type, size_t from, uint32_t *out, size_t cap) {
    size_t n = 0;
    pthread_rwlock_rdlock(&e->lock);
    if (type >= 0 && (size_t)type < e->n_types) {
        const type_list *tl = &e->by_type[type];
        size_t lo = 0, hi = tl->n; /* first entry >= from */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (tl->pos[mid] < from)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < tl->n && n < cap; i++)
            out[n++] = tl->pos[i];
    }
    pthread_rwlock_unlock(&e->lock);
    return n;
}
