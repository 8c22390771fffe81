/* engine_scan.c — contact-major and type-major scans for analytics.
 *
 * A contact's list (crec) already holds the columns funnels, retention and
 * active-day counts need, in time order; after sy_engine_compact those lists
 * lie one after another in contact order, so a scan over contacts streams
 * memory the way a column store streams a table sorted by (contact, ts). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <roaring/roaring.h>
#include "engine_int.h"
#include "base/err.h"

void sy_engine_slab_release(sy_engine *e, int32_t slab) {
    if (slab < 0 || (size_t)slab >= e->n_slabs) return;
    struct slab *sl = &e->slabs[slab];
    if (sl->refs && --sl->refs == 0) {
        free(sl->mem);
        sl->mem = NULL;
    }
}

/* Events held by the lists of a range's contacts. Lock held. */
static size_t range_events(const sy_engine *e, size_t range) {
    size_t lo = range << SLAB_BITS, hi = lo + SLAB_RANGE, n = 0;
    if (hi > e->n_contacts) hi = e->n_contacts;
    for (size_t i = lo; i < hi; i++)
        n += e->contacts[i].n;
    return n;
}

/* Repacks the lists of one range of contacts into a new slab, under the
 * write lock (a range is small enough to copy in a few milliseconds, so
 * ingestion and queries wait at most that long). */
static int compact_range(sy_engine *e, size_t range) {
    pthread_rwlock_wrlock(&e->lock);
    size_t lo = range << SLAB_BITS, hi = lo + SLAB_RANGE;
    if (hi > e->n_contacts) hi = e->n_contacts;
    size_t total = 0;
    for (size_t i = lo; i < hi; i++)
        total += e->contacts[i].n;
    int32_t idx = -1;
    crec *mem = NULL;
    if (total) {
        for (size_t k = 0; k < e->n_slabs; k++)
            if (!e->slabs[k].mem && !e->slabs[k].refs) {
                idx = (int32_t)k;
                break;
            }
        if (idx < 0) {
            if (e->n_slabs == e->cap_slabs) {
                size_t cap = e->cap_slabs ? e->cap_slabs * 2 : 16;
                struct slab *ns = realloc(e->slabs, cap * sizeof *ns);
                if (!ns) {
                    pthread_rwlock_unlock(&e->lock);
                    return SY_E_NOMEM;
                }
                e->slabs = ns;
                e->cap_slabs = cap;
            }
            idx = (int32_t)e->n_slabs++;
            e->slabs[idx] = (struct slab){NULL, 0};
        }
        mem = malloc(total * sizeof *mem);
        if (!mem) {
            pthread_rwlock_unlock(&e->lock);
            return SY_E_NOMEM;
        }
        e->slabs[idx].mem = mem;
    }
    size_t off = 0;
    for (size_t i = lo; i < hi; i++) {
        contact_slot *c = &e->contacts[i];
        if (c->n) memcpy(mem + off, c->rec, c->n * sizeof *mem);
        if (c->slab < 0)
            free(c->rec);
        else
            sy_engine_slab_release(e, c->slab);
        if (c->n) {
            c->rec = mem + off;
            c->cap = c->n;
            c->slab = idx;
            e->slabs[idx].refs++;
        } else {
            c->rec = NULL;
            c->cap = 0;
            c->slab = -1;
        }
        off += c->n;
    }
    if (range < e->n_ranges) {
        e->own_total -= e->own_events[range];
        e->own_events[range] = 0;
    }
    pthread_rwlock_unlock(&e->lock);
    return 0;
}

int sy_engine_compact(sy_engine *e) {
    pthread_rwlock_rdlock(&e->lock);
    size_t n = e->n_ranges;
    pthread_rwlock_unlock(&e->lock);
    for (size_t r = 0; r < n; r++) {
        int rc = compact_range(e, r);
        if (rc) return rc;
    }
    return 0;
}

/* Repacks the ranges where lists that moved out of their slab hold more
 * than an eighth of the range's events. */
static void maintain(sy_engine *e) {
    pthread_rwlock_rdlock(&e->lock);
    size_t n = e->n_ranges;
    pthread_rwlock_unlock(&e->lock);
    for (size_t r = 0; r < n; r++) {
        pthread_rwlock_rdlock(&e->lock);
        size_t own = r < e->n_ranges ? e->own_events[r] : 0;
        int due = own >= 4096 && own * 8 >= range_events(e, r);
        pthread_rwlock_unlock(&e->lock);
        if (due && compact_range(e, r)) return;
    }
}

static void *maint_main(void *arg) {
    sy_engine *e = arg;
    pthread_mutex_lock(&e->maint_mu);
    while (!e->maint_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 2;
        pthread_cond_timedwait(&e->maint_cv, &e->maint_mu, &ts);
        if (e->maint_stop) break;
        pthread_mutex_unlock(&e->maint_mu);
        maintain(e);
        pthread_mutex_lock(&e->maint_mu);
    }
    pthread_mutex_unlock(&e->maint_mu);
    return NULL;
}

int sy_engine_start_maintenance(sy_engine *e) {
    if (e->maint_running) return 0;
    e->maint_stop = 0;
    if (pthread_create(&e->maint, NULL, maint_main, e) != 0) return SY_E_INTERNAL;
    e->maint_running = 1;
    return 0;
}

void sy_engine_maint_stop(sy_engine *e) {
    if (!e->maint_running) return;
    pthread_mutex_lock(&e->maint_mu);
    e->maint_stop = 1;
    pthread_cond_signal(&e->maint_cv);
    pthread_mutex_unlock(&e->maint_mu);
    pthread_join(e->maint, NULL);
    e->maint_running = 0;
}

static int cmp_rec(const void *a, const void *b) {
    const crec *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

typedef struct gather {
    crec *buf;
    size_t n, cap;
} gather;

static int gather_add(const sy_engine *e, uint32_t id, gather *g, int depth) {
    if (id >= e->n_contacts || depth > 64) return 0;
    const contact_slot *c = &e->contacts[id];
    if (g->n + c->n > g->cap) {
        size_t cap = g->cap ? g->cap : 256;
        while (cap < g->n + c->n)
            cap *= 2;
        crec *nb = realloc(g->buf, cap * sizeof *nb);
        if (!nb) return SY_E_NOMEM;
        g->buf = nb;
        g->cap = cap;
    }
    if (c->n) memcpy(g->buf + g->n, c->rec, c->n * sizeof *g->buf);
    g->n += c->n;
    for (uint32_t i = 0; i < c->n_children; i++)
        if (gather_add(e, c->children[i], g, depth + 1)) return SY_E_NOMEM;
    return 0;
}

typedef struct part {
    const sy_engine *e;
    const roaring_bitmap_t *only;
    uint32_t lo, hi; /* ids [lo, hi) */
    sy_engine_contact_fn fn;
    void *ctx;
    int rc;
} part;

static int visit(part *p, uint32_t id, gather *g) {
    const contact_slot *c = &p->e->contacts[id];
    if (c->merged_into) return 0;
    if (c->n_children == 0) {
        if (c->n) p->fn(p->ctx, id, c->rec, c->n);
        return 0;
    }
    g->n = 0;
    if (gather_add(p->e, id, g, 0)) return SY_E_NOMEM;
    if (g->n == 0) return 0;
    qsort(g->buf, g->n, sizeof *g->buf, cmp_rec);
    p->fn(p->ctx, id, g->buf, g->n);
    return 0;
}

static void *run_part(void *arg) {
    part *p = arg;
    gather g = {0};
    if (!p->only) {
        for (uint32_t id = p->lo; id < p->hi && p->rc == 0; id++)
            p->rc = visit(p, id, &g);
    } else {
        roaring_uint32_iterator_t *it = roaring_create_iterator(p->only);
        if (!it) {
            p->rc = SY_E_NOMEM;
        } else {
            roaring_move_uint32_iterator_equalorlarger(it, p->lo);
            while (it->has_value && it->current_value < p->hi && p->rc == 0) {
                p->rc = visit(p, it->current_value, &g);
                roaring_advance_uint32_iterator(it);
            }
            roaring_free_uint32_iterator(it);
        }
    }
    free(g.buf);
    return NULL;
}

int sy_engine_scan_contacts(sy_engine *e, const sy_idset *only, int threads,
                            sy_engine_contact_fn fn, void **ctx) {
    if (threads < 1) threads = 1;
    if (threads > 8) threads = 8;
    pthread_rwlock_rdlock(&e->lock);
    uint32_t n = (uint32_t)e->n_contacts;
    part parts[8];
    /* split by events rather than ids: contacts differ a lot in size */
    size_t total = e->size ? e->size : 1, per = total / (size_t)threads + 1, acc = 0;
    uint32_t start = 0;
    int np = 0;
    for (uint32_t id = 0; id < n && np < threads - 1; id++) {
        acc += e->contacts[id].n;
        if (acc >= per) {
            parts[np] = (part){e, only ? only->r : NULL, start, id + 1, fn, ctx[np], 0};
            np++;
            start = id + 1;
            acc = 0;
        }
    }
    parts[np] = (part){e, only ? only->r : NULL, start, n, fn, ctx[np], 0};
    np++;
    pthread_t tid[8];
    int started[8] = {0};
    for (int t = 1; t < np; t++)
        started[t] = pthread_create(&tid[t], NULL, run_part, &parts[t]) == 0;
    run_part(&parts[0]);
    for (int t = 1; t < np; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            run_part(&parts[t]); /* no thread: do its share here */
    }
    pthread_rwlock_unlock(&e->lock);
    int rc = 0;
    for (int t = 0; t < np; t++)
        if (parts[t].rc) rc = parts[t].rc;
    return rc;
}

size_t sy_engine_scan_type(sy_engine *e, int type, int64_t from, int64_t to, sy_engine_event_fn fn,
                           void *ctx) {
    pthread_rwlock_rdlock(&e->lock);
    const type_list *tl = type >= 0 && (size_t)type < e->n_types ? &e->by_type[type] : NULL;
    size_t total = type < 0 ? e->size : tl ? tl->n : 0, seen = 0;
    for (size_t t = 0; t < total; t++) {
        uint32_t pos = type < 0 ? (uint32_t)t : tl->pos[t];
        const chunk *c = e->chunks[pos >> CHUNK_BITS];
        size_t k = pos & (CHUNK - 1);
        if (c->ts[k] < from || c->ts[k] >= to) continue;
        uint32_t id = sy_engine_canon_unlocked(e, c->contact[k]);
        crec r = {c->ts[k], pos, c->type[k], c->flags[k], 0};
        fn(ctx, id, &r);
        seen++;
    }
    pthread_rwlock_unlock(&e->lock);
    return seen;
}

uint16_t sy_engine_dim_unlocked(const sy_engine *e, uint32_t pos, int dim) {
    if (pos >= e->size || dim < 0 || dim >= SY_DIM_COUNT) return 0;
    return e->chunks[pos >> CHUNK_BITS]->dims[dim][pos & (CHUNK - 1)];
}

int64_t sy_engine_revenue_unlocked(const sy_engine *e, uint32_t pos) {
    return sy_engine_revenue_at(e, pos);
}
