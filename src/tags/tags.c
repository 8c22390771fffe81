/* tags.c — the tags module's core: rules for names and kinds, the RAM member
 * sets (one sy_idset per tag, rebuilt from contact_tags at start) and the
 * chunked, audited membership writes that keep table and RAM in step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tags_int.h"

/* --- rules --- */

int sy_tags_check_text(const char *field, const char *s, size_t max, sy_err *e) {
    if (!sy_utf8_valid(s, strlen(s)))
        return sy_err_field(e, SY_E_INVALID, field, "%s is not valid UTF-8", field);
    int blank = 1;
    for (const char *p = s; *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') blank = 0;
    if (blank) return sy_err_field(e, SY_E_INVALID, field, "%s must not be empty", field);
    if (sy_utf8_len(s) > max)
        return sy_err_field(e, SY_E_INVALID, field, "%s \"%.40s…\" is longer than %zu characters",
                            field, s, max);
    return 0;
}

int sy_tags_check_kind(const char *kind, sy_err *e) {
    if (sy_streq(kind, "manual") || sy_streq(kind, "rule") || sy_streq(kind, "form")) return 0;
    if (sy_streq(kind, "model"))
        return sy_err_field(e, SY_E_INVALID, "kind",
                            "kind \"%s\" is not supported yet (manual, rule or form)", kind);
    return sy_err_field(e, SY_E_INVALID, "kind",
                        "kind \"%.40s\" is not one of manual, rule, form, model", kind);
}

size_t sy_tags_chunks(size_t n) {
    return (n + SY_TAGS_CHUNK - 1) / SY_TAGS_CHUNK;
}

const char *sy_tags_source_of(const sy_actor *actor) {
    return actor && sy_streq(actor->via, "session") ? "staff" : "api";
}

/* --- RAM sets --- */

/* Index of tag_id in t->sets or, when absent, where it would go (*found 0).
 * Caller holds t->lock. */
static size_t find_set(const sy_tags *t, int64_t tag_id, int *found) {
    size_t lo = 0, hi = t->n_sets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->sets[mid].id < tag_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < t->n_sets && t->sets[lo].id == tag_id;
    return lo;
}

/* Caller holds the write lock. */
static int add_tag_locked(sy_tags *t, int64_t tag_id, int rule) {
    int found;
    size_t i = find_set(t, tag_id, &found);
    if (found) return 0;
    if (t->n_sets == t->cap_sets) {
        size_t cap = t->cap_sets ? t->cap_sets * 2 : 64;
        tag_set *n = realloc(t->sets, cap * sizeof *n);
        if (!n) return SY_E_NOMEM;
        t->sets = n;
        t->cap_sets = cap;
    }
    sy_idset *s = sy_idset_create();
    if (!s) return SY_E_NOMEM;
    memmove(&t->sets[i + 1], &t->sets[i], (t->n_sets - i) * sizeof *t->sets);
    t->sets[i].id = tag_id;
    t->sets[i].members = s;
    t->sets[i].rule = rule;
    t->n_sets++;
    return 0;
}

int sy_tags_ram_add_tag(sy_tags *t, int64_t tag_id, int rule) {
    pthread_rwlock_wrlock(&t->lock);
    int rc = add_tag_locked(t, tag_id, rule);
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

int sy_tags_ram_is_rule(sy_tags *t, int64_t tag_id) {
    pthread_rwlock_rdlock(&t->lock);
    int found;
    size_t i = find_set(t, tag_id, &found);
    int r = found ? t->sets[i].rule : -1;
    pthread_rwlock_unlock(&t->lock);
    return r;
}

void sy_tags_ram_drop_tag(sy_tags *t, int64_t tag_id) {
    pthread_rwlock_wrlock(&t->lock);
    int found;
    size_t i = find_set(t, tag_id, &found);
    if (found) {
        sy_idset_destroy(t->sets[i].members);
        memmove(&t->sets[i], &t->sets[i + 1], (t->n_sets - i - 1) * sizeof *t->sets);
        t->n_sets--;
    }
    pthread_rwlock_unlock(&t->lock);
}

/* idsets hold uint32 ids; contact ids beyond that range cannot be members
 * (a workspace would need four billion contacts first). */
static int id_fits(int64_t id) {
    return id > 0 && id <= (int64_t)UINT32_MAX;
}

void sy_tags_ram_apply(sy_tags *t, int64_t tag_id, const int64_t *ids, size_t n, int add) {
    pthread_rwlock_wrlock(&t->lock);
    int found;
    size_t i = find_set(t, tag_id, &found);
    if (found) {
        for (size_t k = 0; k < n; k++) {
            if (!id_fits(ids[k])) continue;
            if (add)
                sy_idset_add(t->sets[i].members, (uint32_t)ids[k]);
            else
                sy_idset_remove(t->sets[i].members, (uint32_t)ids[k]);
        }
    }
    pthread_rwlock_unlock(&t->lock);
}

uint64_t sy_tags_ram_count(sy_tags *t, int64_t tag_id) {
    pthread_rwlock_rdlock(&t->lock);
    int found;
    size_t i = find_set(t, tag_id, &found);
    uint64_t n = found ? sy_idset_count(t->sets[i].members) : 0;
    pthread_rwlock_unlock(&t->lock);
    return n;
}

/* Removes a merged-away contact from every set. */
static void forget_contact(sy_tags *t, int64_t id) {
    if (!id_fits(id)) return;
    pthread_rwlock_wrlock(&t->lock);
    for (size_t i = 0; i < t->n_sets; i++)
        sy_idset_remove(t->sets[i].members, (uint32_t)id);
    pthread_rwlock_unlock(&t->lock);
}

/* Reloads one contact's rows into RAM (after a merge is undone, the loser's
 * own tags count again). */
static int reload_contact(sy_tags *t, int64_t id, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(t->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    rc = sy_db_prepare(db, "SELECT tag_id FROM contact_tags WHERE contact_id = ?1", &st, e);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, id);
        pthread_rwlock_wrlock(&t->lock);
        while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
            int found;
            size_t i = find_set(t, sy_stmt_col_int(st, 0), &found);
            if (found && id_fits(id)) sy_idset_add(t->sets[i].members, (uint32_t)id);
        }
        pthread_rwlock_unlock(&t->lock);
        if (rc == SY_DONE) rc = 0;
    }
    sy_stmt_finalize(st);
    sy_store_read_end(t->st, db);
    return rc;
}

/* Merge listener. A merged-away contact's rows stay in contact_tags (so an
 * undo restores them) but stop counting; its tags are not copied to the
 * winner (documented in docs/tags.md). */
static void on_merge(void *ctx, int64_t winner, int64_t loser, int undo) {
    sy_tags *t = ctx;
    (void)winner;
    if (!undo) {
        forget_contact(t, loser);
        return;
    }
    sy_err e;
    sy_err_clear(&e);
    if (reload_contact(t, loser, &e))
        sy_error("msg=\"reloading tags after unmerge failed\" contact=%lld err=\"%s\"",
                 (long long)loser, e.msg);
}

static void on_merge_replay(void *ctx, int64_t winner, int64_t loser, int undo) {
    (void)winner;
    if (!undo) forget_contact(ctx, loser);
}

int sy_tags_rebuild(sy_tags *t, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(t->st, &db, e);
    if (rc) return rc;
    pthread_rwlock_wrlock(&t->lock);
    for (size_t i = 0; i < t->n_sets; i++)
        sy_idset_destroy(t->sets[i].members);
    t->n_sets = 0;
    sy_stmt *st = NULL;
    /* rule and model tags are system-managed: members follow their source */
    rc = sy_db_prepare(db, "SELECT id, kind IN ('rule', 'model') FROM tags ORDER BY id", &st, e);
    while (rc == 0 && (rc = sy_stmt_step(st, e)) == SY_ROW)
        rc = add_tag_locked(t, sy_stmt_col_int(st, 0), (int)sy_stmt_col_int(st, 1));
    if (rc == SY_DONE) rc = 0;
    sy_stmt_finalize(st);
    st = NULL;
    /* ordered by tag so consecutive rows hit the same set */
    if (rc == 0)
        rc = sy_db_prepare(db, "SELECT tag_id, contact_id FROM contact_tags ORDER BY tag_id", &st,
                           e);
    int64_t cur = 0;
    sy_idset *set = NULL;
    while (rc == 0 && (rc = sy_stmt_step(st, e)) == SY_ROW) {
        int64_t tag = sy_stmt_col_int(st, 0), contact = sy_stmt_col_int(st, 1);
        if (tag != cur || !set) {
            int found;
            size_t i = find_set(t, tag, &found);
            cur = tag;
            set = found ? t->sets[i].members : NULL;
        }
        if (set && id_fits(contact))
            sy_idset_add(set, (uint32_t)contact);
        else if (!set && (t->n_orphans == 0 || t->orphans[t->n_orphans - 1] != tag) &&
                 t->n_orphans < SY_ARRAY_LEN(t->orphans))
            t->orphans[t->n_orphans++] = tag; /* rows of a deleted tag, left by a crash mid-sweep */
        rc = 0;
    }
    if (rc == SY_DONE) rc = 0;
    sy_stmt_finalize(st);
    pthread_rwlock_unlock(&t->lock);
    sy_store_read_end(t->st, db);
    /* contacts merged away keep their rows but do not count */
    if (rc == 0) rc = sy_contacts_ident_each_merge(t->contacts, on_merge_replay, t, e);
    return rc;
}

/* --- membership writes --- */

typedef struct member_job {
    sy_tags *t;
    const sy_actor *actor;
    int64_t tag_id;
    const int64_t *ids;
    size_t n;
    int add;
    const char *source;
    size_t changed; /* rows changed by this chunk */
} member_job;

static int member_job_run(sy_db *db, void *arg, sy_err *e) {
    member_job *j = arg;
    int exists;
    int rc = sy_tags_db_tag_exists(db, j->tag_id, &exists, e);
    if (rc) return rc;
    if (!exists) return sy_err_set(e, SY_E_NOT_FOUND, "tag %lld not found", (long long)j->tag_id);
    j->changed = 0;
    if (j->add)
        rc = sy_tags_db_add(db, j->tag_id, j->ids, j->n, sy_now_ms(),
                            j->actor ? j->actor->staff_id : 0, j->source, &j->changed, e);
    else
        rc = sy_tags_db_remove(db, j->tag_id, j->ids, j->n, &j->changed, e);
    if (rc) return rc;
    j->t->n_member_jobs++;
    if (sy_streq(j->source, "rule")) return 0; /* the system's own: the events record it */
    char target[40];
    snprintf(target, sizeof target, "tag:%lld", (long long)j->tag_id);
    json_t *detail = json_pack("{s:I,s:I}", "contacts", (json_int_t)j->n,
                               j->add ? "added" : "removed", (json_int_t)j->changed);
    if (j->n == 1) json_object_set_new(detail, "contact_id", json_integer(j->ids[0]));
    rc = sy_audit_record(db, j->actor, j->add ? "tags.members.add" : "tags.members.remove", target,
                         detail, e);
    json_decref(detail);
    return rc;
}

int sy_tags_write_members(sy_tags *t, const sy_actor *actor, int64_t tag_id, const int64_t *ids,
                          size_t n, int add, size_t *changed, sy_err *e) {
    return sy_tags_write_members_src(t, actor, tag_id, ids, n, add, sy_tags_source_of(actor),
                                     changed, e);
}

int sy_tags_write_members_src(sy_tags *t, const sy_actor *actor, int64_t tag_id, const int64_t *ids,
                              size_t n, int add, const char *source, size_t *changed, sy_err *e) {
    *changed = 0;
    int rc = 0;
    pthread_mutex_lock(&t->write_lock);
    /* an empty request still checks that the tag exists */
    size_t chunks = n ? sy_tags_chunks(n) : 1;
    for (size_t c = 0; c < chunks && rc == 0; c++) {
        member_job j = {.t = t, .actor = actor, .tag_id = tag_id, .add = add, .source = source};
        j.ids = ids + c * SY_TAGS_CHUNK;
        j.n = n - c * SY_TAGS_CHUNK < SY_TAGS_CHUNK ? n - c * SY_TAGS_CHUNK : SY_TAGS_CHUNK;
        if (n == 0) j.n = 0, j.ids = ids;
        /* which contacts this chunk really changes, from RAM (consistent with
         * the store under write_lock), for the tag_added/removed events */
        int64_t *moved = NULL;
        size_t n_moved = 0;
        if (t->events && j.n && (moved = malloc(j.n * sizeof *moved))) {
            pthread_rwlock_rdlock(&t->lock);
            int found;
            size_t si = find_set(t, tag_id, &found);
            for (size_t k = 0; found && k < j.n; k++) {
                if (!id_fits(j.ids[k])) continue;
                int has = sy_idset_contains(t->sets[si].members, (uint32_t)j.ids[k]);
                int dup = 0;
                for (size_t q = 0; q < n_moved && !dup; q++)
                    dup = moved[q] == j.ids[k];
                if (has != add && !dup) moved[n_moved++] = j.ids[k];
            }
            pthread_rwlock_unlock(&t->lock);
        }
        rc = sy_store_write(t->st, member_job_run, &j, e);
        if (rc == 0) {
            sy_tags_ram_apply(t, tag_id, j.ids, j.n, add);
            *changed += j.changed;
            if (n_moved) {
                json_t *props = json_pack("{s:I}", "tag_id", (json_int_t)tag_id);
                sy_err ee;
                if (sy_events_emit(t->events, moved, n_moved, add ? "tag_added" : "tag_removed",
                                   props, &ee))
                    sy_warn("msg=\"tag events not recorded\" error=\"%s\"", ee.msg);
                json_decref(props);
            }
        }
        free(moved);
    }
    pthread_mutex_unlock(&t->write_lock);
    return rc;
}

typedef struct sweep_job {
    int64_t tag_id;
    int more;
} sweep_job;

static int sweep_run(sy_db *db, void *arg, sy_err *e) {
    sweep_job *j = arg;
    return sy_tags_db_sweep(db, j->tag_id, &j->more, e);
}

int sy_tags_sweep(sy_tags *t, int64_t tag_id, sy_err *e) {
    sweep_job j = {.tag_id = tag_id, .more = 1};
    int rc = 0;
    while (rc == 0 && j.more)
        rc = sy_store_write(t->st, sweep_run, &j, e);
    return rc;
}

/* --- rule tags --- */

/* Lists a set's ids as int64 (ascending); NULL when empty or out of memory. */
static int64_t *set_ids(const sy_idset *s, size_t *n) {
    *n = 0;
    uint64_t c = sy_idset_count(s);
    if (!c) return NULL;
    int64_t *out = malloc(c * sizeof *out);
    uint32_t buf[4096];
    uint32_t from = 0;
    while (out) {
        size_t k = sy_idset_list(s, from, buf, SY_ARRAY_LEN(buf));
        for (size_t i = 0; i < k; i++)
            out[(*n)++] = buf[i];
        if (k < SY_ARRAY_LEN(buf) || buf[k - 1] == UINT32_MAX) break;
        from = buf[k - 1] + 1;
    }
    return out;
}

int sy_tags_diff(const sy_idset *cur, const sy_idset *want, int64_t **add, size_t *n_add,
                 int64_t **del, size_t *n_del) {
    sy_idset *a = sy_idset_copy(want), *d = sy_idset_copy(cur);
    int rc = 0;
    *add = *del = NULL;
    *n_add = *n_del = 0;
    if (!a || !d) {
        rc = SY_E_NOMEM;
    } else {
        sy_idset_andnot(a, cur);
        sy_idset_andnot(d, want);
        *add = set_ids(a, n_add);
        *del = set_ids(d, n_del);
        if ((sy_idset_count(a) && !*add) || (sy_idset_count(d) && !*del)) rc = SY_E_NOMEM;
    }
    sy_idset_destroy(a);
    sy_idset_destroy(d);
    return rc;
}

int sy_tags_set_rule_members(sy_tags *t, int64_t tag_id, const sy_idset *want, size_t *added,
                             size_t *removed, sy_err *e) {
    return sy_tags_set_system_members(t, tag_id, want, "rule", added, removed, e);
}

int sy_tags_set_system_members(sy_tags *t, int64_t tag_id, const sy_idset *want, const char *source,
                               size_t *added, size_t *removed, sy_err *e) {
    size_t a_n = 0, d_n = 0, ch;
    if (added) *added = 0;
    if (removed) *removed = 0;
    int kind = sy_tags_ram_is_rule(t, tag_id);
    if (kind < 0) return sy_err_set(e, SY_E_NOT_FOUND, "tag %lld not found", (long long)tag_id);
    if (!kind)
        return sy_err_set(e, SY_E_PRECONDITION, "tag %lld is not a rule tag", (long long)tag_id);
    sy_idset *cur = sy_tags_members(t, tag_id, e);
    if (!cur) return e->code;
    int64_t *add = NULL, *del = NULL;
    int rc = sy_tags_diff(cur, want, &add, &a_n, &del, &d_n);
    sy_idset_destroy(cur);
    if (rc) sy_err_set(e, rc, "out of memory diffing tag %lld", (long long)tag_id);
    if (rc == 0 && a_n) {
        rc = sy_tags_write_members_src(t, NULL, tag_id, add, a_n, 1, source, &ch, e);
        if (added) *added = ch;
    }
    if (rc == 0 && d_n) {
        rc = sy_tags_write_members_src(t, NULL, tag_id, del, d_n, 0, source, &ch, e);
        if (removed) *removed = ch;
    }
    free(add);
    free(del);
    return rc;
}

json_t *sy_tags_rule_defs(sy_tags *t, sy_err *e) {
    sy_db *db;
    if (sy_store_read_begin(t->st, &db, e)) return NULL;
    sy_stmt *st;
    json_t *out = NULL;
    if (sy_db_prepare(db, "SELECT id, definition FROM tags WHERE kind = 'rule' ORDER BY id", &st,
                      e) == 0) {
        out = json_array();
        int rc;
        while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
            const char *d = sy_stmt_col_text(st, 1);
            json_t *def = d ? json_loads(d, 0, NULL) : NULL;
            if (def)
                json_array_append_new(out, json_pack("{s:I,s:o}", "id",
                                                     (json_int_t)sy_stmt_col_int(st, 0),
                                                     "definition", def));
        }
        sy_stmt_finalize(st);
        if (rc < 0) {
            json_decref(out);
            out = NULL;
        }
    }
    sy_store_read_end(t->st, db);
    return out;
}

void sy_tags_set_hooks(sy_tags *t, const sy_tags_hooks *h) {
    t->hooks = *h;
}

/* --- lifecycle and the public interface --- */

void sy_tags_set_events(sy_tags *t, sy_events *ev) {
    t->events = ev;
}

int sy_tags_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_tags **out, sy_err *e) {
    *out = NULL;
    sy_tags *t = calloc(1, sizeof *t);
    if (!t) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    t->st = st;
    t->staff = staff;
    t->contacts = contacts;
    pthread_rwlock_init(&t->lock, NULL);
    pthread_mutex_init(&t->write_lock, NULL);
    int rc = sy_tags_rebuild(t, e);
    if (rc) {
        sy_tags_destroy(t);
        return rc;
    }
    for (size_t i = 0; i < t->n_orphans && rc == 0; i++)
        rc = sy_tags_sweep(t, t->orphans[i], e);
    if (rc) {
        sy_tags_destroy(t);
        return rc;
    }
    sy_contacts_on_merge(contacts, on_merge, t);
    *out = t;
    return 0;
}

void sy_tags_destroy(sy_tags *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_sets; i++)
        sy_idset_destroy(t->sets[i].members);
    free(t->sets);
    pthread_rwlock_destroy(&t->lock);
    pthread_mutex_destroy(&t->write_lock);
    free(t);
}

sy_idset *sy_tags_members(sy_tags *t, int64_t tag_id, sy_err *e) {
    pthread_rwlock_rdlock(&t->lock);
    int found;
    size_t i = find_set(t, tag_id, &found);
    sy_idset *copy = found ? sy_idset_copy(t->sets[i].members) : NULL;
    pthread_rwlock_unlock(&t->lock);
    if (!found)
        sy_err_set(e, SY_E_NOT_FOUND, "tag %lld not found", (long long)tag_id);
    else if (!copy)
        sy_err_set(e, SY_E_NOMEM, "out of memory copying tag %lld", (long long)tag_id);
    return copy;
}

int sy_tags_exists(sy_tags *t, int64_t tag_id, sy_err *e) {
    pthread_rwlock_rdlock(&t->lock);
    int found;
    find_set(t, tag_id, &found);
    pthread_rwlock_unlock(&t->lock);
    return found ? 0 : sy_err_set(e, SY_E_NOT_FOUND, "tag %lld not found", (long long)tag_id);
}

size_t sy_tags_of_contact(sy_tags *t, int64_t contact_id, int64_t *ids, size_t cap) {
    if (!id_fits(contact_id)) return 0;
    size_t n = 0;
    pthread_rwlock_rdlock(&t->lock);
    for (size_t i = 0; i < t->n_sets && n < cap; i++)
        if (sy_idset_contains(t->sets[i].members, (uint32_t)contact_id)) ids[n++] = t->sets[i].id;
    pthread_rwlock_unlock(&t->lock);
    return n;
}
