/* segments_live.c — real-time membership of saved segments.
 *
 * A thread keeps every saved segment's members in RAM and re-evaluates them
 * whenever the store has changed (any committed write: new events, contact
 * edits, tags), at most every POLL_MS, and at least every minute so that
 * conditions that change with time alone ("no order in 30 days") are
 * current. Contacts that enter or leave are recorded as system events
 * segment_entered / segment_exited {"segment_id","version"} for journeys. The
 * first evaluation of a segment (at start, or when it is created) records
 * nothing: it is not a change. Sets are rebuilt by evaluation at start.
 *
 * Rule tags ride on the same passes: after the segments, every rule tag's
 * definition is evaluated and its membership set through
 * sy_tags_set_rule_members, which diffs against the stored set, writes the
 * changes and records tag_added / tag_removed. Unlike segments, a rule tag's
 * members are stored, so its first evaluation does record events.
 *
 * Cost: one evaluation per saved segment and rule tag per pass (behaviour
 * conditions read only their window's days of the engine's per-type day
 * index, so a pass costs milliseconds); after a slow pass the next waits as
 * long as that pass took (at most a second). form_submitted events are
 * applied by a second thread (form_main), off the membership path. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "segments_int.h"

#define POLL_MS 100
#define FULL_MS 60000

typedef struct live_seg {
    int64_t id, version;
    sy_idset *members;
    int seen; /* still saved in this pass */
} live_seg;

struct seg_live {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    live_seg *segs;
    size_t n, cap;
    uint64_t gen; /* store generation of the last pass */
    int64_t last_full;
    int64_t last_pass_ms;
    size_t form_pos; /* next engine position to look at for form_submitted */
    pthread_t form_thread;
    int form_running;
    size_t esize; /* engine size seen by the last pass */
};

static live_seg *find(struct seg_live *l, int64_t id) {
    for (size_t i = 0; i < l->n; i++)
        if (l->segs[i].id == id) return &l->segs[i];
    return NULL;
}

/* Emits one event per contact of `set` (ascending ids, in chunks). */
static void emit_all(sy_segments *s, const sy_idset *set, const char *name, int64_t seg_id,
                     int64_t version) {
    if (!sy_idset_count(set)) return;
    json_t *props =
        json_pack("{s:I, s:I}", "segment_id", (json_int_t)seg_id, "version", (json_int_t)version);
    uint32_t ids[4096];
    int64_t wide[4096];
    uint32_t from = 0;
    for (;;) {
        size_t n = sy_idset_list(set, from, ids, 4096);
        if (!n) break;
        for (size_t i = 0; i < n; i++)
            wide[i] = ids[i];
        sy_err e;
        if (sy_events_emit(s->events, wide, n, name, props, &e))
            sy_warn("msg=\"segment events not recorded\" segment=%lld error=\"%s\"",
                    (long long)seg_id, e.msg);
        if (n < 4096 || ids[n - 1] == UINT32_MAX) break;
        from = ids[n - 1] + 1;
    }
    json_decref(props);
}

/* Re-evaluates every rule tag (see the file comment). */
static void rule_pass(sy_segments *s) {
    if (!s->tags) return;
    sy_err e;
    json_t *rules = sy_tags_rule_defs(s->tags, &e);
    if (!rules) return;
    int64_t now = sy_now_ms();
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r) {
        int64_t id = json_integer_value(json_object_get(r, "id"));
        sy_idset *set = NULL;
        if (sy_segments_eval(s, json_object_get(r, "definition"), now, &set, &e)) {
            sy_warn("msg=\"rule tag not evaluated; members kept\" tag=%lld error=\"%s\"",
                    (long long)id, e.msg);
            continue;
        }
        if (sy_tags_set_rule_members(s->tags, id, set, NULL, NULL, &e) && e.code != SY_E_NOT_FOUND)
            sy_warn("msg=\"rule tag members not written\" tag=%lld error=\"%s\"", (long long)id,
                    e.msg);
        sy_idset_destroy(set);
    }
    json_decref(rules);
}

/* Applies the tags of forms answered through ingested form_submitted events
 * ({"form_id", "answers"}) that arrived since the last pass. Submissions
 * ingested before this server started were applied by the previous run (a
 * stop between ingestion and the next pass, under a second, can miss one). */
static void form_pass(sy_segments *s, struct seg_live *l) {
    int type;
    sy_err e;
    size_t end = sy_engine_size(s->engine);
    if (sy_events_type_id(s->events, "form_submitted", &type, &e)) {
        l->form_pos = end;
        return;
    }
    /* only form_submitted positions: the engine's list of that type */
    uint32_t poss[256];
    size_t from = l->form_pos, n;
    while (from < end && (n = sy_engine_type_positions(s->engine, type, from, poss, 256)) > 0) {
        for (size_t i = 0; i < n && poss[i] < end; i++) {
            uint32_t pos = poss[i];
            sy_engine_event ev;
            sy_engine_event_at(s->engine, pos, &ev);
            if (ev.flags & SY_EV_SYSTEM) continue;
            json_t *props;
            if (sy_events_properties_at(s->events, pos, &props, &e)) continue;
            json_t *fid = json_object_get(props, "form_id"),
                   *answers = json_object_get(props, "answers");
            int64_t form_id = json_is_integer(fid) ? json_integer_value(fid) : 0;
            if (json_is_string(fid)) sy_parse_i64(json_string_value(fid), &form_id);
            if (form_id > 0 && json_is_object(answers)) {
                json_t *res = NULL;
                if (sy_tags_form_submit(s->tags, NULL, form_id,
                                        sy_engine_canonical(s->engine, ev.contact), answers,
                                        "event", &res, &e))
                    sy_warn("msg=\"form_submitted event not applied\" form=%lld contact=%u "
                            "error=\"%s\"",
                            (long long)form_id, ev.contact, e.msg);
                json_decref(res);
            }
            json_decref(props);
        }
        if (n < 256 || poss[n - 1] + 1 >= end) break;
        from = poss[n - 1] + 1;
    }
    l->form_pos = end;
}

/* One pass: list saved segments, evaluate each, diff, record changes. */
static void pass(sy_segments *s, struct seg_live *l) {
    int64_t t0 = sy_mono_ms();
    sy_db *db;
    sy_err e;
    if (sy_store_read_begin(s->st, &db, &e)) return;
    sy_stmt *st;
    int64_t *ids = NULL, *versions = NULL;
    char **defs = NULL;
    size_t n = 0, cap = 0;
    if (sy_db_prepare(
            db, "SELECT id, version, definition FROM segments WHERE deleted_at IS NULL ORDER BY id",
            &st, &e) == 0) {
        while (sy_stmt_step(st, &e) == SY_ROW) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                ids = realloc(ids, cap * sizeof *ids);
                versions = realloc(versions, cap * sizeof *versions);
                defs = realloc(defs, cap * sizeof *defs);
                if (!ids || !versions || !defs) break;
            }
            ids[n] = sy_stmt_col_int(st, 0);
            versions[n] = sy_stmt_col_int(st, 1);
            defs[n] = strdup(sy_stmt_col_text(st, 2));
            n++;
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(s->st, db);
    int64_t now = sy_now_ms();
    for (size_t i = 0; i < l->n; i++)
        l->segs[i].seen = 0;
    for (size_t i = 0; i < n && ids && versions && defs; i++) {
        json_t *def = defs[i] ? json_loads(defs[i], 0, NULL) : NULL;
        sy_idset *set = NULL;
        if (!def || sy_segments_eval(s, def, now, &set, &e)) {
            json_decref(def);
            live_seg *old = find(l, ids[i]);
            if (old) old->seen = 1; /* keep the last good set */
            continue;
        }
        json_decref(def);
        pthread_mutex_lock(&l->lock);
        live_seg *old = find(l, ids[i]);
        if (!old) {
            if (l->n == l->cap) {
                size_t c2 = l->cap ? l->cap * 2 : 16;
                live_seg *v = realloc(l->segs, c2 * sizeof *v);
                if (!v) {
                    pthread_mutex_unlock(&l->lock);
                    sy_idset_destroy(set);
                    continue;
                }
                l->segs = v;
                l->cap = c2;
            }
            l->segs[l->n++] = (live_seg){ids[i], versions[i], set, 1};
            pthread_mutex_unlock(&l->lock);
            continue;
        }
        sy_idset *entered = sy_idset_copy(set), *exited = sy_idset_copy(old->members);
        if (entered && exited) {
            sy_idset_andnot(entered, old->members);
            sy_idset_andnot(exited, set);
        }
        sy_idset_destroy(old->members);
        old->members = set;
        old->version = versions[i];
        old->seen = 1;
        pthread_mutex_unlock(&l->lock);
        if (entered && exited) {
            emit_all(s, entered, "segment_entered", ids[i], versions[i]);
            emit_all(s, exited, "segment_exited", ids[i], versions[i]);
        }
        sy_idset_destroy(entered);
        sy_idset_destroy(exited);
    }
    /* deleted segments */
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->n;) {
        if (!l->segs[i].seen) {
            sy_idset_destroy(l->segs[i].members);
            l->segs[i] = l->segs[--l->n];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&l->lock);
    for (size_t i = 0; i < n && defs; i++)
        free(defs[i]);
    free(ids);
    free(versions);
    free(defs);
    int64_t t1 = sy_mono_ms();
    rule_pass(s);
    sy_debug("msg=\"segment pass parts\" segments_ms=%lld rules_ms=%lld", (long long)(t1 - t0),
             (long long)(sy_mono_ms() - t1));
}

static void *live_main(void *arg) {
    sy_segments *s = arg;
    struct seg_live *l = s->live;
    pthread_mutex_lock(&l->lock);
    while (!l->stopping) {
        /* membership should follow within a second: back off after a slow
         * pass, but never beyond a second */
        int64_t wait_ms = l->last_pass_ms < POLL_MS ? POLL_MS
                          : l->last_pass_ms > 1000  ? 1000
                                                    : l->last_pass_ms;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&l->wake, &l->lock, &ts);
        if (l->stopping) break;
        uint64_t gen = sy_store_generation(s->st);
        int64_t now = sy_mono_ms();
        /* the engine grows after a commit is published: a pass woken by the
         * commit alone may not see its events yet, so both are watched */
        size_t esize = sy_engine_size(s->engine);
        if (gen == l->gen && esize == l->esize && now - l->last_full < FULL_MS) continue;
        l->gen = gen;
        l->esize = esize;
        if (now - l->last_full >= FULL_MS) l->last_full = now;
        pthread_mutex_unlock(&l->lock);
        int64_t t0 = sy_mono_ms();
        pass(s, l);
        pthread_mutex_lock(&l->lock);
        l->last_pass_ms = sy_mono_ms() - t0;
        sy_debug("msg=\"segment pass\" segments=%zu ms=%lld", l->n, (long long)l->last_pass_ms);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

/* Form submissions have their own thread: applying one reads the event's
 * properties from the log and writes tags, which under heavy ingestion
 * queues behind the ingestion batches. On the segment thread that held
 * every membership change back by as long. */
static void *form_main(void *arg) {
    sy_segments *s = arg;
    struct seg_live *l = s->live;
    pthread_mutex_lock(&l->lock);
    while (!l->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&l->wake, &l->lock, &ts);
        if (l->stopping) break;
        pthread_mutex_unlock(&l->lock);
        if (sy_engine_size(s->engine) > l->form_pos) form_pass(s, l);
        pthread_mutex_lock(&l->lock);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int sy_segments_live_start(sy_segments *s, sy_err *e) {
    if (s->live || !s->events) return 0;
    struct seg_live *l = calloc(1, sizeof *l);
    if (!l) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->wake, NULL);
    s->live = l;
    l->form_pos =
        sy_engine_size(s->engine); /* earlier submissions were applied by the previous run */
    pass(s, l);                    /* the first sets: not changes, nothing recorded */
    l->gen = sy_store_generation(s->st);
    l->last_full = sy_mono_ms();
    int started = pthread_create(&l->thread, NULL, live_main, s) == 0;
    if (started && pthread_create(&l->form_thread, NULL, form_main, s) == 0) {
        l->form_running = 1;
    } else if (started) {
        pthread_mutex_lock(&l->lock);
        l->stopping = 1;
        pthread_cond_broadcast(&l->wake);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->thread, NULL);
        started = 0;
    }
    if (!started) {
        s->live = NULL;
        for (size_t i = 0; i < l->n; i++)
            sy_idset_destroy(l->segs[i].members);
        free(l->segs);
        free(l);
        return sy_err_set(e, SY_E_INTERNAL, "cannot start the segment membership thread");
    }
    return 0;
}

void sy_segments_live_stop(sy_segments *s) {
    struct seg_live *l = s->live;
    if (!l) return;
    pthread_mutex_lock(&l->lock);
    l->stopping = 1;
    pthread_cond_broadcast(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    if (l->form_running) pthread_join(l->form_thread, NULL);
    for (size_t i = 0; i < l->n; i++)
        sy_idset_destroy(l->segs[i].members);
    free(l->segs);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->wake);
    free(l);
    s->live = NULL;
}
