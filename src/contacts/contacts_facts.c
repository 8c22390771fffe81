/* contacts_facts.c — per-contact facts (created, owner, store, department,
 * acquisition channel) as dense arrays, for analytics breakdowns and cohorts.
 *
 * Reading a million rows takes a few hundred milliseconds, so one snapshot is
 * shared by concurrent questions and reread only when it is older than
 * SY_CONTACT_FACTS_MAX_AGE_MS (the staleness an operator can see in an
 * owner or channel breakdown right after a handover is documented). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "contacts_int.h"

static void facts_free(sy_contact_facts *f) {
    if (!f) return;
    free(f->created_at);
    free(f->owner);
    free(f->store);
    free(f->department);
    free(f->source);
    free(f->channels);
    free(f);
}

void sy_contacts_facts_release(sy_contact_facts *f) {
    if (!f) return;
    if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) facts_free(f);
}

static int facts_read(sy_contacts *c, sy_contact_facts **out, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    sy_contact_facts *f = calloc(1, sizeof *f);
    int64_t max_id = 0;
    sy_stmt *st = NULL;
    if (!f) {
        rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = sy_db_prepare(db, "SELECT coalesce(max(id), 0) FROM contacts", &st, e))) goto done;
    if ((rc = sy_stmt_step(st, e)) == SY_ROW) max_id = sy_stmt_col_int(st, 0);
    sy_stmt_finalize(st);
    st = NULL;
    if (rc < 0) goto done;
    f->n = (uint32_t)(max_id + 1);
    f->created_at = calloc(f->n, sizeof *f->created_at);
    f->owner = calloc(f->n, sizeof *f->owner);
    f->store = calloc(f->n, sizeof *f->store);
    f->department = calloc(f->n, sizeof *f->department);
    f->source = calloc(f->n, sizeof *f->source);
    if (!f->created_at || !f->owner || !f->store || !f->department || !f->source) {
        rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = sy_db_prepare(db,
                            "SELECT c.id, c.created_at, c.owner_id, c.store_id, c.department_id, "
                            "c.source_id FROM contacts c WHERE " SY_CONTACT_LIVE("c"),
                            &st, e)))
        goto done;
    while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
        int64_t id = sy_stmt_col_int(st, 0);
        if (id <= 0 || id >= (int64_t)f->n) continue;
        f->created_at[id] = sy_stmt_col_int(st, 1);
        if (f->created_at[id] == 0) f->created_at[id] = 1; /* 0 means "not live" */
        f->owner[id] = (int32_t)sy_stmt_col_int(st, 2);
        f->store[id] = (int32_t)sy_stmt_col_int(st, 3);
        f->department[id] = (int32_t)sy_stmt_col_int(st, 4);
        f->source[id] = (int32_t)sy_stmt_col_int(st, 5);
    }
    sy_stmt_finalize(st);
    st = NULL;
    if (rc < 0) goto done;
    if ((rc = sy_db_prepare(db, "SELECT id, name, kind FROM contact_channels ORDER BY id", &st, e)))
        goto done;
    size_t cap = 0;
    while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
        if (f->n_channels == cap) {
            cap = cap ? cap * 2 : 16;
            void *nc = realloc(f->channels, cap * sizeof *f->channels);
            if (!nc) {
                rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
                break;
            }
            f->channels = nc;
        }
        f->channels[f->n_channels].id = (int32_t)sy_stmt_col_int(st, 0);
        const char *nm = sy_stmt_col_text(st, 1), *kd = sy_stmt_col_text(st, 2);
        snprintf(f->channels[f->n_channels].name, sizeof f->channels->name, "%s", nm ? nm : "");
        snprintf(f->channels[f->n_channels].kind, sizeof f->channels->kind, "%s", kd ? kd : "");
        f->n_channels++;
    }
    sy_stmt_finalize(st);
    st = NULL;
    if (rc < 0) goto done;
    rc = 0;
    f->refs = 1;
done:
    sy_store_read_end(c->st, db);
    if (rc) {
        facts_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

int sy_contacts_facts(sy_contacts *c, sy_contact_facts **out, sy_err *e) {
    int64_t now = sy_mono_ms();
    pthread_mutex_lock(&c->facts_lock);
    if (c->facts && now - c->facts_at < SY_CONTACT_FACTS_MAX_AGE_MS) {
        __atomic_add_fetch(&c->facts->refs, 1, __ATOMIC_ACQ_REL);
        *out = c->facts;
        pthread_mutex_unlock(&c->facts_lock);
        return 0;
    }
    pthread_mutex_unlock(&c->facts_lock);
    sy_contact_facts *f;
    int rc = facts_read(c, &f, e);
    if (rc) return rc;
    pthread_mutex_lock(&c->facts_lock);
    sy_contacts_facts_release(c->facts);
    c->facts = f;
    c->facts_at = now;
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&c->facts_lock);
    *out = f;
    return 0;
}
