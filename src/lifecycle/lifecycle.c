/* lifecycle.c — the stage rules, stored stages and the evaluation thread.
 *
 * Evaluation reads a contact's facts from the engine (profile, first
 * in_group event, any added event) and classifies it. The thread runs an
 * incremental pass whenever the engine grew (checked every POLL_MS): only
 * the contacts of the new events are re-classified, since nothing else about
 * the others changed. Stages that change with time alone (活跃 → 沉默)
 * are kept current by a due time per contact (sy_lc_next_change, recorded
 * when the contact is classified): once the earliest due time has passed,
 * the thread re-classifies just the contacts whose due time has passed
 * (within POLL_MS of it). A full pass over every live
 * contact runs at start, after merges and after new rules. (A full pass
 * every minute used to do the time work; at 1 M contacts it took a core
 * for a second each minute and slowed every question asked meanwhile.) Changed
 * stages are written in chunks of 2000 rows per write job. Slow incremental
 * passes back the thread off to four times their duration (at most 1 s). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lifecycle_int.h"

#define DAY_MS 86400000LL
#define POLL_MS 200
#define CHUNK 2000

static const char *const keys[SY_STAGE_COUNT] = {
    "", "added", "in_group", "retained", "active", "converted", "repurchased", "silent", "churned"};
static const char *const labels[SY_STAGE_COUNT] = {"",       "新加微", "已入群", "留存", "活跃",
                                                   "已转化", "复购",   "沉默",   "流失"};

const char *sy_stage_key(int stage) {
    return stage > 0 && stage < SY_STAGE_COUNT ? keys[stage] : "";
}
const char *sy_stage_label(int stage) {
    return stage > 0 && stage < SY_STAGE_COUNT ? labels[stage] : "";
}
int sy_stage_parse(const char *key) {
    if (!key) return SY_STAGE_NONE;
    for (int i = 1; i < SY_STAGE_COUNT; i++)
        if (strcmp(keys[i], key) == 0) return i;
    return SY_STAGE_NONE;
}

void sy_lc_rules_default(sy_lc_rules *r) {
    memset(r, 0, sizeof *r);
    snprintf(r->added_event, sizeof r->added_event, "%s", "add_wechat");
    snprintf(r->in_group_event, sizeof r->in_group_event, "%s", "join_group");
    r->active_days = 7;
    r->silent_days = 30;
    r->churned_days = 90;
}

/* Day number of ms in the workspace timezone (UTC+8 when tz is unknown). */
static int64_t local_day(const char *tz, int64_t ms) {
    int off = 8 * 3600;
    if (tz && sy_tz_offset(tz, ms, &off)) off = 8 * 3600;
    int64_t l = ms + (int64_t)off * 1000;
    return l / DAY_MS - ((l % DAY_MS) < 0);
}

/* Precedence (first match wins): 流失, 沉默, 复购, 已转化, 活跃, 留存, 已入群,
 * 新加微, none — see docs/lifecycle.md. */
int sy_lc_classify(const sy_lc_rules *r, const sy_lc_facts *f, int64_t now, const char *tz) {
    if (f->last_seen > 0) {
        int64_t idle = now - f->last_seen;
        if (idle >= (int64_t)r->churned_days * DAY_MS) return SY_STAGE_CHURNED;
        if (idle >= (int64_t)r->silent_days * DAY_MS) return SY_STAGE_SILENT;
    }
    if (f->orders >= 2) return SY_STAGE_REPURCHASED;
    if (f->orders >= 1) return SY_STAGE_CONVERTED;
    if (f->last_seen > 0 && now - f->last_seen < (int64_t)r->active_days * DAY_MS)
        return SY_STAGE_ACTIVE;
    if (f->joined_at > 0 && f->last_seen > 0 &&
        local_day(tz, f->last_seen) > local_day(tz, f->joined_at))
        return SY_STAGE_RETAINED;
    if (f->joined_at > 0) return SY_STAGE_IN_GROUP;
    if (f->added) return SY_STAGE_ADDED;
    return SY_STAGE_NONE;
}

int64_t sy_lc_next_change(const sy_lc_rules *r, const sy_lc_facts *f, int64_t now) {
    if (f->last_seen <= 0) return 0;
    int64_t best = 0;
    int days[3] = {r->active_days, r->silent_days, r->churned_days};
    for (int i = 0; i < 3; i++) {
        int64_t t = f->last_seen + (int64_t)days[i] * DAY_MS;
        if (t > now && (best == 0 || t < best)) best = t;
    }
    return best;
}

/* --- settings --- */

json_t *sy_lc_rules_json(const sy_lc_rules *r) {
    return json_pack("{s:s, s:s, s:i, s:i, s:i}", "added_event", r->added_event, "in_group_event",
                     r->in_group_event, "active_days", r->active_days, "silent_days",
                     r->silent_days, "churned_days", r->churned_days);
}

int sy_lc_settings_load(sy_db *db, sy_lc_rules *r, sy_err *e) {
    sy_lc_rules_default(r);
    sy_stmt *st;
    int rc = sy_db_prepare(db, "SELECT value FROM lifecycle_settings WHERE id = 1", &st, e);
    if (rc) return rc;
    if (sy_stmt_step(st, e) == SY_ROW) {
        json_t *v = json_loads(sy_stmt_col_text(st, 0), 0, NULL);
        json_t *x;
        if ((x = json_object_get(v, "added_event")) && json_is_string(x))
            snprintf(r->added_event, sizeof r->added_event, "%s", json_string_value(x));
        if ((x = json_object_get(v, "in_group_event")) && json_is_string(x))
            snprintf(r->in_group_event, sizeof r->in_group_event, "%s", json_string_value(x));
        if ((x = json_object_get(v, "active_days")) && json_is_integer(x))
            r->active_days = (int)json_integer_value(x);
        if ((x = json_object_get(v, "silent_days")) && json_is_integer(x))
            r->silent_days = (int)json_integer_value(x);
        if ((x = json_object_get(v, "churned_days")) && json_is_integer(x))
            r->churned_days = (int)json_integer_value(x);
        json_decref(v);
    }
    sy_stmt_finalize(st);
    return 0;
}

typedef struct settings_job {
    const sy_actor *actor;
    json_t *value;
} settings_job;

static int settings_write(sy_db *db, void *arg, sy_err *e) {
    settings_job *j = arg;
    char *s = json_dumps(j->value, JSON_COMPACT);
    if (!s) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    sy_stmt *st;
    int rc = sy_db_prepare(
        db, "INSERT OR REPLACE INTO lifecycle_settings (id, value) VALUES (1, ?1)", &st, e);
    if (rc == 0) {
        sy_stmt_bind_text(st, 1, s);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
    }
    free(s);
    if (rc < 0) return rc;
    return sy_audit_record(db, j->actor, "lifecycle.settings", "settings:lifecycle", j->value, e);
}

int sy_lc_settings_save(sy_lifecycle *lc, const sy_actor *actor, const sy_lc_rules *r, sy_err *e) {
    settings_job j = {actor, sy_lc_rules_json(r)};
    int rc = sy_store_write(lc->st, settings_write, &j, e);
    json_decref(j.value);
    if (rc) return rc;
    pthread_mutex_lock(&lc->lock);
    lc->rules = *r;
    pthread_mutex_unlock(&lc->lock);
    sy_lc_wake(lc);
    return 0;
}

/* --- stored stages --- */

static int ensure(sy_lifecycle *lc, size_t n) {
    if (n <= lc->cap) return 0;
    size_t c = lc->cap ? lc->cap : 1024;
    while (c < n)
        c *= 2;
    uint8_t *s = realloc(lc->stage, c);
    if (!s) return SY_E_NOMEM;
    lc->stage = s;
    int64_t *t = realloc(lc->since, c * sizeof *t);
    if (!t) return SY_E_NOMEM;
    lc->since = t;
    int64_t *d = realloc(lc->due, c * sizeof *d);
    if (!d) return SY_E_NOMEM;
    lc->due = d;
    memset(lc->stage + lc->cap, 0, c - lc->cap);
    memset(lc->since + lc->cap, 0, (c - lc->cap) * sizeof *t);
    memset(lc->due + lc->cap, 0, (c - lc->cap) * sizeof *d);
    lc->cap = c;
    return 0;
}

static int load(sy_lifecycle *lc, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(lc->st, &db, e);
    if (rc) return rc;
    rc = sy_lc_settings_load(db, &lc->rules, e);
    sy_stmt *st = NULL;
    if (rc == 0)
        rc = sy_db_prepare(db, "SELECT contact_id, stage, since FROM contact_stage", &st, e);
    while (rc == 0 && (rc = sy_stmt_step(st, e)) == SY_ROW) {
        rc = 0;
        int64_t id = sy_stmt_col_int(st, 0);
        int s = sy_stage_parse(sy_stmt_col_text(st, 1));
        if (id <= 0 || id > UINT32_MAX || !s) continue;
        if (ensure(lc, (size_t)id + 1)) {
            rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
            break;
        }
        lc->stage[id] = (uint8_t)s;
        lc->since[id] = sy_stmt_col_int(st, 2);
        if ((size_t)id + 1 > lc->n) lc->n = (size_t)id + 1;
    }
    if (rc == SY_DONE) rc = 0;
    sy_stmt_finalize(st);
    sy_store_read_end(lc->st, db);
    return rc;
}

typedef struct change {
    uint32_t id;
    uint8_t from, to;
} change;

typedef struct write_job {
    const change *c;
    size_t n;
    int64_t at;
} write_job;

static int changes_write(sy_db *db, void *arg, sy_err *e) {
    write_job *j = arg;
    sy_stmt *up = NULL, *del = NULL, *hist = NULL;
    int rc = sy_db_prepare(db,
                           "INSERT OR REPLACE INTO contact_stage (contact_id, stage, since) "
                           "VALUES (?1, ?2, ?3)",
                           &up, e);
    if (rc == 0) rc = sy_db_prepare(db, "DELETE FROM contact_stage WHERE contact_id = ?1", &del, e);
    if (rc == 0)
        rc = sy_db_prepare(db,
                           "INSERT INTO stage_history (contact_id, from_stage, to_stage, at) "
                           "VALUES (?1, ?2, ?3, ?4)",
                           &hist, e);
    for (size_t i = 0; rc == 0 && i < j->n; i++) {
        const change *c = &j->c[i];
        sy_stmt *s = c->to ? up : del;
        sy_stmt_bind_int(s, 1, c->id);
        if (c->to) {
            sy_stmt_bind_text(s, 2, sy_stage_key(c->to));
            sy_stmt_bind_int(s, 3, j->at);
        }
        rc = sy_stmt_step(s, e);
        sy_stmt_reset(s);
        if (rc < 0) break;
        sy_stmt_bind_int(hist, 1, c->id);
        if (c->from)
            sy_stmt_bind_text(hist, 2, sy_stage_key(c->from));
        else
            sy_stmt_bind_null(hist, 2);
        if (c->to)
            sy_stmt_bind_text(hist, 3, sy_stage_key(c->to));
        else
            sy_stmt_bind_null(hist, 3);
        sy_stmt_bind_int(hist, 4, j->at);
        rc = sy_stmt_step(hist, e);
        sy_stmt_reset(hist);
        if (rc > 0) rc = 0;
    }
    if (rc > 0) rc = 0;
    sy_stmt_finalize(up);
    sy_stmt_finalize(del);
    sy_stmt_finalize(hist);
    return rc;
}

/* Facts of one contact from the engine. */
static void facts_of(sy_lifecycle *lc, uint32_t id, int t_added, int t_group, sy_lc_facts *f) {
    sy_engine_profile p;
    sy_engine_profile_get(lc->engine, id, &p);
    memset(f, 0, sizeof *f);
    f->last_seen = p.last_seen;
    f->orders = p.orders;
    uint32_t pos;
    if (t_added >= 0)
        f->added =
            sy_engine_contact_events(lc->engine, id, INT64_MIN, INT64_MAX, t_added, 0, &pos, 0) > 0;
    if (t_group >= 0) {
        size_t n =
            sy_engine_contact_events(lc->engine, id, INT64_MIN, INT64_MAX, t_group, 0, &pos, 0);
        if (n && sy_engine_contact_events(lc->engine, id, INT64_MIN, INT64_MAX, t_group, n - 1,
                                          &pos, 1)) {
            sy_engine_event ev;
            sy_engine_event_at(lc->engine, pos, &ev);
            f->joined_at = ev.ts > 0 ? ev.ts : 1;
        }
    }
}

static int push(change **v, size_t *n, size_t *cap, change c) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        change *x = realloc(*v, nc * sizeof *x);
        if (!x) return SY_E_NOMEM;
        *v = x, *cap = nc;
    }
    (*v)[(*n)++] = c;
    return 0;
}

static int cmp_pair(const void *a, const void *b) {
    const change *x = a, *y = b;
    int kx = x->from * 16 + x->to, ky = y->from * 16 + y->to;
    if (kx != ky) return kx < ky ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Records lifecycle_changed for the changes (sorted by pair here). */
static void emit_changes(sy_lifecycle *lc, change *c, size_t n) {
    qsort(c, n, sizeof *c, cmp_pair);
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) return;
    for (size_t i = 0; i < n;) {
        size_t k = i;
        while (k < n && c[k].from == c[i].from && c[k].to == c[i].to)
            k++;
        if (c[i].to) { /* a contact merged away has no stage: nothing to report */
            for (size_t m = i; m < k; m++)
                ids[m - i] = c[m].id;
            json_t *props =
                json_pack("{s:o, s:s}", "from",
                          c[i].from ? json_string(sy_stage_key(c[i].from)) : json_null(), "to",
                          sy_stage_key(c[i].to));
            sy_err e;
            if (sy_events_emit(lc->events, ids, k - i, "lifecycle_changed", props, &e))
                sy_warn("msg=\"lifecycle events not recorded\" error=\"%s\"", e.msg);
            json_decref(props);
        }
        i = k;
    }
    free(ids);
}

/* Classifies the live contacts (only: just those of them) and stores and
 * records the changes. A full pass (only == NULL) also takes the stage
 * away from contacts that are no longer live. */
static int evaluate(sy_lifecycle *lc, int emit, const sy_idset *only, sy_err *e) {
    pthread_mutex_lock(&lc->pass_lock);
    int64_t t0 = sy_mono_ms();
    size_t n_live = 0;
    sy_lc_rules r;
    pthread_mutex_lock(&lc->lock);
    r = lc->rules;
    pthread_mutex_unlock(&lc->lock);
    char tz[64] = "Asia/Shanghai";
    sy_staff_timezone(lc->staff, tz, sizeof tz);
    int t_added = -1, t_group = -1;
    sy_err ie;
    if (lc->events) {
        if (sy_events_type_id(lc->events, r.added_event, &t_added, &ie)) t_added = -1;
        if (sy_events_type_id(lc->events, r.in_group_event, &t_group, &ie)) t_group = -1;
    }
    sy_idset *live = NULL;
    int rc = sy_contacts_select_all(lc->contacts, &live, e);
    sy_idset *todo = live;
    if (rc == 0 && only) {
        todo = sy_idset_copy(only);
        if (!todo)
            rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        else
            sy_idset_and(todo, live);
    }
    change *ch = NULL;
    size_t nch = 0, capch = 0;
    int64_t now = sy_now_ms();
    uint32_t ids[4096];
    uint32_t from = 0;
    while (rc == 0) {
        size_t n = sy_idset_list(todo, from, ids, 4096);
        if (!n) break;
        n_live += n;
        for (size_t i = 0; i < n && rc == 0; i++) {
            sy_lc_facts f;
            facts_of(lc, ids[i], t_added, t_group, &f);
            int s = sy_lc_classify(&r, &f, now, tz);
            int64_t due = sy_lc_next_change(&r, &f, now);
            pthread_mutex_lock(&lc->lock);
            int cur = ids[i] < lc->n ? lc->stage[ids[i]] : 0;
            if (ensure(lc, (size_t)ids[i] + 1) == 0) {
                lc->due[ids[i]] = due;
                if (due && (lc->next_due == 0 || due < lc->next_due)) lc->next_due = due;
            } else {
                rc = SY_E_NOMEM;
            }
            pthread_mutex_unlock(&lc->lock);
            if (s != cur) rc = push(&ch, &nch, &capch, (change){ids[i], (uint8_t)cur, (uint8_t)s});
        }
        if (n < 4096 || ids[n - 1] == UINT32_MAX) break;
        from = ids[n - 1] + 1;
    }
    /* contacts that are no longer live (merged away) lose their stage */
    if (rc == 0 && !only) {
        pthread_mutex_lock(&lc->lock);
        for (size_t i = 1; i < lc->n && rc == 0; i++)
            if (lc->stage[i] && !sy_idset_contains(live, (uint32_t)i))
                rc = push(&ch, &nch, &capch, (change){(uint32_t)i, lc->stage[i], 0});
        pthread_mutex_unlock(&lc->lock);
    }
    if (todo != live) sy_idset_destroy(todo);
    sy_idset_destroy(live);
    if (rc == SY_E_NOMEM) sy_err_set(e, rc, "out of memory");
    for (size_t i = 0; rc == 0 && i < nch; i += CHUNK) {
        write_job j = {ch + i, nch - i < CHUNK ? nch - i : CHUNK, now};
        rc = sy_store_write(lc->st, changes_write, &j, e);
        if (rc) break;
        pthread_mutex_lock(&lc->lock);
        for (size_t k = 0; k < j.n; k++) {
            const change *c = &j.c[k];
            if (ensure(lc, (size_t)c->id + 1)) {
                rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
                break;
            }
            lc->stage[c->id] = c->to;
            lc->since[c->id] = c->to ? now : 0;
            if ((size_t)c->id + 1 > lc->n) lc->n = (size_t)c->id + 1;
        }
        pthread_mutex_unlock(&lc->lock);
        if (emit && rc == 0) emit_changes(lc, (change *)j.c, j.n);
    }
    /* Time alone moves a few contacts a second on a large workspace (each
     * pass that finds them would be an info line a second): passes over
     * some contacts that change few and take little are debug lines. */
    long long ms = (long long)(sy_mono_ms() - t0);
    if (nch && (!only || nch >= 1000 || ms >= 100))
        sy_info("msg=\"life-cycle pass\" full=%d contacts=%zu changes=%zu ms=%lld", !only, n_live,
                nch, ms);
    else if (nch)
        sy_debug("msg=\"life-cycle pass\" full=%d contacts=%zu changes=%zu ms=%lld", !only, n_live,
                 nch, ms);
    free(ch);
    pthread_mutex_unlock(&lc->pass_lock);
    return rc;
}

int sy_lifecycle_evaluate(sy_lifecycle *lc, int emit, sy_err *e) {
    return evaluate(lc, emit, NULL, e);
}

int sy_lifecycle_evaluate_contacts(sy_lifecycle *lc, int emit, const sy_idset *ids, sy_err *e) {
    return evaluate(lc, emit, ids, e);
}

int sy_lifecycle_members(sy_lifecycle *lc, int stage, sy_idset **out, sy_err *e) {
    if (stage <= 0 || stage >= SY_STAGE_COUNT)
        return sy_err_set(e, SY_E_INVALID, "stage %d is not a life-cycle stage", stage);
    sy_idset *s = sy_idset_create();
    if (!s) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    pthread_mutex_lock(&lc->lock);
    for (size_t i = 1; i < lc->n; i++)
        if (lc->stage[i] == stage) sy_idset_add(s, (uint32_t)i);
    pthread_mutex_unlock(&lc->lock);
    *out = s;
    return 0;
}

/* --- the thread --- */

void sy_lc_wake(sy_lifecycle *lc) {
    pthread_mutex_lock(&lc->lock);
    lc->full_wanted = 1;
    pthread_cond_broadcast(&lc->wake);
    pthread_mutex_unlock(&lc->lock);
}

/* The contacts whose due time has passed; recomputes next_due from the
 * others (caller holds lc->lock). */
static sy_idset *due_locked(sy_lifecycle *lc, int64_t now) {
    sy_idset *s = sy_idset_create();
    if (!s) return NULL;
    int64_t next = 0;
    for (size_t i = 1; i < lc->cap; i++) {
        int64_t d = lc->due[i];
        if (!d) continue;
        if (d <= now) {
            /* taken: the pass sets the next due time of those still live
             * (a contact merged away meanwhile would stay due forever) */
            sy_idset_add(s, (uint32_t)i);
            lc->due[i] = 0;
        } else if (next == 0 || d < next)
            next = d;
    }
    lc->next_due = next;
    return s;
}

static void *lc_main(void *arg) {
    sy_lifecycle *lc = arg;
    pthread_mutex_lock(&lc->lock);
    while (!lc->stopping) {
        /* back off after slow incremental passes, at most to a second */
        int64_t wait_ms = POLL_MS > lc->last_pass_ms * 4 ? POLL_MS : lc->last_pass_ms * 4;
        if (wait_ms > 1000) wait_ms = 1000;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&lc->wake, &lc->lock, &ts);
        if (lc->stopping) break;
        size_t esize = sy_engine_size(lc->engine);
        uint64_t mgen = sy_engine_merge_gen(lc->engine);
        /* A stage changes with the contact's events, with merges (profiles
         * move), with the rules and with time alone: new events re-classify
         * just their contacts, due times just theirs; merges and new rules
         * re-classify everyone. */
        int full = lc->full_wanted || mgen != lc->merge_gen;
        int64_t wall = sy_now_ms();
        int due = lc->next_due && wall >= lc->next_due;
        if (!full && !due && esize == lc->esize) continue;
        lc->full_wanted = 0;
        /* Taken before the pass: whatever is published during it (the
         * engine grows after its commit) is in the next pass. */
        size_t from = lc->esize;
        lc->esize = esize;
        lc->merge_gen = mgen;
        sy_idset *todo = NULL;
        if (!full) {
            todo = due ? due_locked(lc, wall) : sy_idset_create();
        }
        pthread_mutex_unlock(&lc->lock);
        int64_t t0 = sy_mono_ms();
        sy_err e;
        int rc;
        if (full) {
            rc = sy_lifecycle_evaluate(lc, 1, &e);
        } else if (!todo) {
            rc = sy_err_set(&e, SY_E_NOMEM, "out of memory");
        } else {
            sy_engine_contacts_between(lc->engine, from, esize, todo);
            rc = sy_idset_count(todo) == 0 ? 0 : evaluate(lc, 1, todo, &e);
        }
        sy_idset_destroy(todo);
        if (rc) sy_warn("msg=\"life-cycle pass failed\" error=\"%s\"", e.msg);
        pthread_mutex_lock(&lc->lock);
        if (rc) lc->full_wanted = 1; /* missed contacts: a full pass next */
        if (!full) lc->last_pass_ms = sy_mono_ms() - t0;
    }
    pthread_mutex_unlock(&lc->lock);
    return NULL;
}

int sy_lc_start(sy_lifecycle *lc, sy_err *e) {
    if (lc->running || !lc->events) return 0;
    int rc = sy_lifecycle_evaluate(lc, 0, e); /* initial stages: stored, not recorded as events */
    if (rc) return rc;
    lc->esize = sy_engine_size(lc->engine);
    lc->merge_gen = sy_engine_merge_gen(lc->engine);
    if (pthread_create(&lc->thread, NULL, lc_main, lc) != 0)
        return sy_err_set(e, SY_E_INTERNAL, "cannot start the life-cycle thread");
    lc->running = 1;
    return 0;
}

int sy_lifecycle_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_engine *engine,
                        sy_events *events, sy_lifecycle **out, sy_err *e) {
    sy_lifecycle *lc = calloc(1, sizeof *lc);
    if (!lc) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    lc->st = st, lc->staff = staff, lc->contacts = contacts, lc->engine = engine,
    lc->events = events;
    pthread_mutex_init(&lc->lock, NULL);
    pthread_mutex_init(&lc->pass_lock, NULL);
    pthread_cond_init(&lc->wake, NULL);
    sy_lc_rules_default(&lc->rules);
    int rc = load(lc, e);
    if (rc) {
        sy_lifecycle_destroy(lc);
        return rc;
    }
    *out = lc;
    return 0;
}

void sy_lifecycle_destroy(sy_lifecycle *lc) {
    if (!lc) return;
    if (lc->running) {
        pthread_mutex_lock(&lc->lock);
        lc->stopping = 1;
        pthread_cond_broadcast(&lc->wake);
        pthread_mutex_unlock(&lc->lock);
        pthread_join(lc->thread, NULL);
    }
    pthread_mutex_destroy(&lc->lock);
    pthread_mutex_destroy(&lc->pass_lock);
    pthread_cond_destroy(&lc->wake);
    free(lc->stage);
    free(lc->since);
    free(lc->due);
    free(lc);
}
