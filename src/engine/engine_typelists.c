/* engine_typelists.c — each contact's events of one type, packed by contact.
 *
 * A loose funnel only looks at its steps' events; reading every event of
 * every contact to find them costs most of its time. For each event type a
 * funnel asked about, this index keeps the type's events grouped by contact
 * (offsets + time + position, time order within a contact), built at the
 * first question. Beside the 16-byte events sit the same times as whole
 * seconds (4 bytes) and milliseconds (2 bytes), a bitmap of the contacts
 * with events and the seconds' bounds, which the funnel's own loop reads
 * when the lists are handed out whole (sy_engine_tcol). Events appended
 * since are handled at each question as a small sorted delta merged in
 * contact order (contact by contact, through the callback); when the delta
 * grows past a sixteenth of the type, the type is rebuilt.
 *
 * Contact ids are raw: with merged contacts present the caller scans
 * contacts instead (sy_engine_scan_type_lists returns SY_E_UNSUPPORTED).
 * State is guarded by the index mutex; callers hold the engine read lock
 * while the index is used. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "engine_int.h"
#include "base/bits.h"
#include "base/err.h"

typedef struct tlist {
    int type;
    size_t done;    /* entries of by_type[type] packed */
    uint32_t n_ids; /* contact ids < n_ids have offsets */
    uint32_t *off;  /* n_ids + 1 */
    sy_engine_tev *ev;
    /* ev[i].ts / 1000 and % 1000; NULL when some time is outside [0, 2^32) s */
    uint32_t *sec;
    uint16_t *ms;
    uint64_t *has; /* contacts with events, a bit each (with sec) */
    uint32_t min_sec, max_sec;
} tlist;

struct type_lists {
    pthread_mutex_t lock;
    tlist *lists;
    size_t n_lists;
};

struct type_lists *sy_typelists_create(void) {
    struct type_lists *x = calloc(1, sizeof *x);
    if (x) pthread_mutex_init(&x->lock, NULL);
    return x;
}

static void tlist_free(tlist *t) {
    free(t->off);
    free(t->ev);
    free(t->sec);
    free(t->ms);
    free(t->has);
    t->off = NULL;
    t->ev = NULL;
    t->sec = NULL;
    t->ms = NULL;
    t->has = NULL;
    t->n_ids = 0;
    t->done = 0;
}

void sy_typelists_destroy(struct type_lists *x) {
    if (!x) return;
    for (size_t i = 0; i < x->n_lists; i++)
        tlist_free(&x->lists[i]);
    free(x->lists);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

/* ts / 1000 and ts % 1000 when ts fits the seconds column ([0, 2^32) s);
 * 0 otherwise. */
static int sec_of(int64_t ts, uint32_t *sec, uint16_t *ms) {
    if (ts < 0 || ts / 1000 > (int64_t)UINT32_MAX) return 0;
    *sec = (uint32_t)(ts / 1000);
    *ms = (uint16_t)(ts % 1000);
    return 1;
}

static int cmp_tev(const void *a, const void *b) {
    const sy_engine_tev *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

/* Packs every event of the type (counting sort by contact, then time order
 * within each contact). Engine read lock held. */
static int tlist_build(const sy_engine *e, tlist *t) {
    const type_list *tl = (size_t)t->type < e->n_types ? &e->by_type[t->type] : NULL;
    size_t n = tl ? tl->n : 0;
    uint32_t max_id = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t pos = tl->pos[i];
        uint32_t c = e->chunks[pos >> CHUNK_BITS]->contact[pos & (CHUNK - 1)];
        if (c > max_id) max_id = c;
    }
    uint32_t n_ids = n ? max_id + 1 : 0;
    uint32_t *off = sy_alloc_scan(((size_t)n_ids + 1) * sizeof *off);
    sy_engine_tev *ev = sy_alloc_scan((n ? n : 1) * sizeof *ev);
    if (!off || !ev) {
        free(off);
        free(ev);
        return SY_E_NOMEM;
    }
    memset(off, 0, ((size_t)n_ids + 1) * sizeof *off);
    for (size_t i = 0; i < n; i++) {
        uint32_t pos = tl->pos[i];
        off[e->chunks[pos >> CHUNK_BITS]->contact[pos & (CHUNK - 1)] + 1]++;
    }
    for (uint32_t c = 0; c < n_ids; c++)
        off[c + 1] += off[c];
    uint32_t *fill = malloc(((size_t)n_ids ? n_ids : 1) * sizeof *fill);
    if (!fill) {
        free(off);
        free(ev);
        return SY_E_NOMEM;
    }
    memcpy(fill, off, (size_t)n_ids * sizeof *fill);
    for (size_t i = 0; i < n; i++) {
        uint32_t pos = tl->pos[i];
        const chunk *ch = e->chunks[pos >> CHUNK_BITS];
        size_t k = pos & (CHUNK - 1);
        ev[fill[ch->contact[k]]++] = (sy_engine_tev){ch->ts[k], pos};
    }
    free(fill);
    for (uint32_t c = 0; c < n_ids; c++) {
        uint32_t a = off[c], b = off[c + 1];
        /* positions ascend, times mostly do too: sort only when needed */
        for (uint32_t i = a + 1; i < b; i++)
            if (cmp_tev(&ev[i - 1], &ev[i]) > 0) {
                qsort(ev + a, b - a, sizeof *ev, cmp_tev);
                break;
            }
    }
    /* whole seconds beside the times: a funnel searches a contact's lists
     * by second, and four bytes an event stream four times faster than
     * sixteen */
    uint32_t *sec = sy_alloc_scan((n ? n : 1) * sizeof *sec);
    uint16_t *ms = sy_alloc_scan((n ? n : 1) * sizeof *ms);
    int fits = sec && ms;
    for (size_t i = 0; fits && i < n; i++)
        fits = sec_of(ev[i].ts, &sec[i], &ms[i]);
    uint64_t *has = fits ? calloc(((size_t)n_ids + 63) / 64 + 1, sizeof *has) : NULL;
    uint32_t min_sec = UINT32_MAX, max_sec = 0;
    if (!has) { /* out of memory too: the lists work without the columns */
        free(sec);
        free(ms);
        sec = NULL;
        ms = NULL;
    } else {
        for (uint32_t c = 0; c < n_ids; c++)
            if (off[c] != off[c + 1]) has[c >> 6] |= 1ull << (c & 63);
        for (size_t i = 0; i < n; i++) {
            if (sec[i] < min_sec) min_sec = sec[i];
            if (sec[i] > max_sec) max_sec = sec[i];
        }
    }
    tlist_free(t);
    t->off = off;
    t->ev = ev;
    t->sec = sec;
    t->ms = ms;
    t->has = has;
    t->min_sec = min_sec;
    t->max_sec = max_sec;
    t->n_ids = n_ids;
    t->done = n;
    return 0;
}

/* --- the scan --- */

typedef struct delta {
    uint32_t contact;
    sy_engine_tev ev;
} delta;

static int cmp_delta(const void *a, const void *b) {
    const delta *x = a, *y = b;
    if (x->contact != y->contact) return x->contact < y->contact ? -1 : 1;
    return cmp_tev(&x->ev, &y->ev);
}

typedef struct tpart {
    const sy_engine *e;
    tlist *const *lists;
    int n;
    delta *const *dl; /* per list: appended events, by (contact, time) */
    const size_t *n_dl;
    const roaring_bitmap_t *only;
    uint32_t lo, hi;
    sy_engine_typelists_fn fn;
    sy_engine_tcols_fn cols_fn; /* set when the lists are handed out whole */
    void *ctx;
    int rc;
    _Atomic uint32_t *next_range; /* cols_fn: the next range of RANGE_IDS to take */
} tpart;

/* cols_fn's ranges: taken in turn by whichever thread is free, so that a
 * thread the machine starts late (an idle vCPU wakes in milliseconds here)
 * takes fewer instead of finishing last with half the work */
#define RANGE_IDS 16384u

static void *tpart_run(void *arg) {
    tpart *p = arg;
    if (p->cols_fn) {
        sy_engine_tcol cols[SY_TYPELISTS_MAX];
        for (int k = 0; k < p->n; k++) {
            const tlist *t = p->lists[k];
            cols[k] = (sy_engine_tcol){t->off, t->n_ids, t->ev,      t->sec,
                                       t->ms,  t->has,   t->min_sec, t->max_sec};
        }
        for (;;) {
            uint32_t r = atomic_fetch_add(p->next_range, 1);
            if (r >= (p->hi + RANGE_IDS - 1) / RANGE_IDS) break;
            uint32_t lo = r * RANGE_IDS, hi = lo + RANGE_IDS < p->hi ? lo + RANGE_IDS : p->hi;
            p->cols_fn(p->ctx, lo, hi, cols, p->n);
        }
        return NULL;
    }
    const sy_engine_tev *lists[SY_TYPELISTS_MAX];
    sy_engine_tsec secs[SY_TYPELISTS_MAX];
    size_t counts[SY_TYPELISTS_MAX];
    size_t di[SY_TYPELISTS_MAX] = {0};
    sy_engine_tev *merged[SY_TYPELISTS_MAX] = {0};
    uint32_t *merged_sec[SY_TYPELISTS_MAX] = {0};
    uint16_t *merged_ms[SY_TYPELISTS_MAX] = {0};
    size_t cap[SY_TYPELISTS_MAX] = {0};
    int have_sec = 1;
    for (int k = 0; k < p->n; k++)
        have_sec &= p->lists[k]->sec != NULL;
    const tlist *first = p->lists[0];
    /* delta cursors start at the first entry of a contact >= lo */
    for (int k = 0; k < p->n; k++) {
        size_t a = 0, b = p->n_dl[k];
        while (a < b) {
            size_t m = (a + b) / 2;
            if (p->dl[k][m].contact < p->lo)
                a = m + 1;
            else
                b = m;
        }
        di[k] = a;
    }
    /* contacts with a step-1 event: packed ones, and the step-1 delta's */
    size_t d0 = di[0];
    for (uint32_t c = p->lo; c < p->hi && p->rc == 0; c++) {
        int in_packed = c < first->n_ids && first->off[c] != first->off[c + 1];
        int in_delta = d0 < p->n_dl[0] && p->dl[0][d0].contact == c;
        if (!in_packed && !in_delta) {
            /* skip ahead: the next contact that can have a step-1 event */
            if (c >= first->n_ids && (d0 >= p->n_dl[0])) break;
            continue;
        }
        while (d0 < p->n_dl[0] && p->dl[0][d0].contact == c)
            d0++;
        if (p->only && !roaring_bitmap_contains(p->only, c)) continue;
        /* (no merged_into test: these scans run only while nothing is
         * merged, and reading it streamed the whole contacts array) */
        int sec_ok = have_sec;
        for (int k = 0; k < p->n; k++) {
            const tlist *t = p->lists[k];
            const sy_engine_tev *base = c < t->n_ids ? t->ev + t->off[c] : NULL;
            size_t at = c < t->n_ids ? t->off[c] : 0;
            size_t nb = c < t->n_ids ? t->off[c + 1] - t->off[c] : 0;
            while (di[k] < p->n_dl[k] && p->dl[k][di[k]].contact < c)
                di[k]++;
            size_t de = di[k];
            while (de < p->n_dl[k] && p->dl[k][de].contact == c)
                de++;
            size_t nd = de - di[k];
            if (!nd) {
                lists[k] = base;
                if (have_sec) secs[k] = (sy_engine_tsec){t->sec + at, t->ms + at};
                counts[k] = nb;
                continue;
            }
            if (nb + nd > cap[k]) {
                size_t nc = (nb + nd) * 2;
                sy_engine_tev *m = realloc(merged[k], nc * sizeof *m);
                if (m) merged[k] = m;
                uint32_t *ms = realloc(merged_sec[k], nc * sizeof *ms);
                if (ms) merged_sec[k] = ms;
                uint16_t *mm = realloc(merged_ms[k], nc * sizeof *mm);
                if (mm) merged_ms[k] = mm;
                if (!m || !ms || !mm) {
                    p->rc = SY_E_NOMEM;
                    break;
                }
                cap[k] = nc;
            }
            size_t i = 0, j = di[k], o = 0;
            while (i < nb || j < de) {
                if (j >= de || (i < nb && cmp_tev(&base[i], &p->dl[k][j].ev) <= 0))
                    merged[k][o++] = base[i++];
                else
                    merged[k][o++] = p->dl[k][j++].ev;
            }
            for (size_t x = 0; sec_ok && x < o; x++)
                sec_ok = sec_of(merged[k][x].ts, &merged_sec[k][x], &merged_ms[k][x]);
            lists[k] = merged[k];
            secs[k] = (sy_engine_tsec){merged_sec[k], merged_ms[k]};
            counts[k] = o;
            di[k] = de;
        }
        if (p->rc == 0) p->fn(p->ctx, c, lists, sec_ok ? secs : NULL, counts, p->n);
    }
    for (int k = 0; k < p->n; k++) {
        free(merged[k]);
        free(merged_sec[k]);
        free(merged_ms[k]);
    }
    return NULL;
}

int sy_engine_scan_type_lists(sy_engine *e, const int *types, int n_types, const sy_idset *only,
                              int threads, sy_engine_typelists_fn fn, sy_engine_tcols_fn cols_fn,
                              void **ctx) {
    if (n_types < 1 || n_types > SY_TYPELISTS_MAX) return SY_E_INVALID;
    if (threads < 1) threads = 1;
    if (threads > 8) threads = 8;
    pthread_rwlock_rdlock(&e->lock);
    struct type_lists *x = e->typelists;
    if (!x || e->n_merged) { /* raw ids would split merged contacts */
        pthread_rwlock_unlock(&e->lock);
        return x ? SY_E_UNSUPPORTED : SY_E_NOMEM;
    }
    pthread_mutex_lock(&x->lock);
    int rc = 0;
    tlist *lists[SY_TYPELISTS_MAX];
    delta *dl[SY_TYPELISTS_MAX] = {0};
    size_t n_dl[SY_TYPELISTS_MAX] = {0};
    /* every entry first: adding one moves the array */
    size_t at[SY_TYPELISTS_MAX];
    for (int k = 0; k < n_types && rc == 0; k++) {
        size_t i = 0;
        while (i < x->n_lists && x->lists[i].type != types[k])
            i++;
        if (i == x->n_lists) {
            tlist *nl = realloc(x->lists, (x->n_lists + 1) * sizeof *nl);
            if (!nl) {
                rc = SY_E_NOMEM;
                break;
            }
            x->lists = nl;
            memset(&x->lists[i], 0, sizeof *nl);
            x->lists[i].type = types[k];
            x->n_lists++;
        }
        at[k] = i;
    }
    for (int k = 0; k < n_types && rc == 0; k++) {
        tlist *t = &x->lists[at[k]];
        const type_list *tl = (size_t)types[k] < e->n_types ? &e->by_type[types[k]] : NULL;
        size_t n = tl ? tl->n : 0;
        if (!t->off || (n - t->done) * 16 > n) rc = tlist_build(e, t);
        lists[k] = t;
        /* the appended events as a sorted delta */
        size_t m = n - t->done;
        if (rc == 0 && m) {
            dl[k] = malloc(m * sizeof *dl[k]);
            if (!dl[k]) {
                rc = SY_E_NOMEM;
                break;
            }
            for (size_t i = 0; i < m; i++) {
                uint32_t pos = tl->pos[t->done + i];
                const chunk *ch = e->chunks[pos >> CHUNK_BITS];
                size_t j = pos & (CHUNK - 1);
                dl[k][i] = (delta){ch->contact[j], {ch->ts[j], pos}};
            }
            qsort(dl[k], m, sizeof *dl[k], cmp_delta);
            n_dl[k] = m;
        }
    }
    /* the mutex stays held: another question could rebuild a list */
    for (int k = 0; cols_fn && k < n_types; k++)
        if (n_dl[k] || !lists[k]->sec || only) cols_fn = NULL;
    if (rc == 0) {
        /* split the contacts of step 1 evenly by events */
        uint32_t n_ids = lists[0]->n_ids;
        for (size_t i = 0; i < n_dl[0]; i++)
            if (dl[0][i].contact + 1 > n_ids) n_ids = dl[0][i].contact + 1;
        tpart parts[8];
        int np = 0;
        uint32_t start = 0;
        _Atomic uint32_t next_range = 0;
        size_t total = lists[0]->off ? lists[0]->off[lists[0]->n_ids] : 0;
        size_t per = total / (size_t)threads + 1;
        for (uint32_t c = 0; !cols_fn && c < lists[0]->n_ids && np < threads - 1; c++)
            if (lists[0]->off[c + 1] >= per * (size_t)(np + 1)) {
                parts[np] = (tpart){
                    e,  lists,   n_types, dl, n_dl,       only ? only->r : NULL, start, c + 1,
                    fn, cols_fn, ctx[np], 0,  &next_range};
                np++;
                start = c + 1;
            }
        parts[np] =
            (tpart){e,  lists,   n_types, dl, n_dl,       only ? only->r : NULL, start, n_ids,
                    fn, cols_fn, ctx[np], 0,  &next_range};
        np++;
        /* whole lists: every thread takes ranges of [0, n_ids) in turn */
        for (; cols_fn && np < threads; np++)
            parts[np] = (tpart){e,     lists, n_types, dl,      n_dl, NULL,       0,
                                n_ids, fn,    cols_fn, ctx[np], 0,    &next_range};
        pthread_t tid[8];
        int started[8] = {0};
        for (int t = 1; t < np; t++)
            started[t] = pthread_create(&tid[t], NULL, tpart_run, &parts[t]) == 0;
        tpart_run(&parts[0]);
        for (int t = 1; t < np; t++) {
            if (started[t])
                pthread_join(tid[t], NULL);
            else
                tpart_run(&parts[t]);
        }
        for (int t = 0; t < np; t++)
            if (parts[t].rc) rc = parts[t].rc;
    }
    pthread_mutex_unlock(&x->lock);
    for (int k = 0; k < n_types; k++)
        free(dl[k]);
    pthread_rwlock_unlock(&e->lock);
    return rc;
}
