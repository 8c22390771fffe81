/* contacts_store.c — the lead library's queries: insert and update with
 * identity upkeep and change records, reads as JSON, filtered lists with
 * keyset cursors, CSV export rows, merge / unmerge, lead-pool recycling and
 * departure handover. Every read and write names the actor's data scope in
 * its SQL (sy_contacts_scope_sql), so no caller can reach past it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contacts_int.h"
#include "csv/csv.h"

#define COLS                                                                                       \
    "c.id, c.name, c.phone, c.email, c.gender, c.birthday, c.city, c.company, c.status, c.attrs, " \
    "c.source_id, c.owner_id, c.department_id, c.store_id, c.created_at, c.updated_at, "           \
    "c.owned_at, c.pool_claimed_at, c.last_follow_up_at, c.next_follow_up_at, c.returned_at, "     \
    "c.return_reason, c.merged_into"

/* One contact as stored (arena strings). */
typedef struct contact_row {
    int64_t id;
    char *name, *phone, *email, *gender, *birthday, *city, *company, *status, *attrs;
    int64_t source_id, owner_id, department_id, store_id;
    int64_t created_at, updated_at, owned_at, pool_claimed_at, last_follow_up_at, next_follow_up_at,
        returned_at;
    char *return_reason;
    int64_t merged_into;
} contact_row;

static char *col_str(sy_arena *a, sy_stmt *st, int i) {
    const char *s = sy_stmt_col_text(st, i);
    return s ? sy_strdup(a, s) : NULL;
}

static void row_read(sy_stmt *st, sy_arena *a, contact_row *r) {
    r->id = sy_stmt_col_int(st, 0);
    r->name = col_str(a, st, 1);
    r->phone = col_str(a, st, 2);
    r->email = col_str(a, st, 3);
    r->gender = col_str(a, st, 4);
    r->birthday = col_str(a, st, 5);
    r->city = col_str(a, st, 6);
    r->company = col_str(a, st, 7);
    r->status = col_str(a, st, 8);
    r->attrs = col_str(a, st, 9);
    r->source_id = sy_stmt_col_int(st, 10);
    r->owner_id = sy_stmt_col_int(st, 11);
    r->department_id = sy_stmt_col_int(st, 12);
    r->store_id = sy_stmt_col_int(st, 13);
    r->created_at = sy_stmt_col_int(st, 14);
    r->updated_at = sy_stmt_col_int(st, 15);
    r->owned_at = sy_stmt_col_int(st, 16);
    r->pool_claimed_at = sy_stmt_col_int(st, 17);
    r->last_follow_up_at = sy_stmt_col_int(st, 18);
    r->next_follow_up_at = sy_stmt_col_int(st, 19);
    r->returned_at = sy_stmt_col_int(st, 20);
    r->return_reason = col_str(a, st, 21);
    r->merged_into = sy_stmt_col_int(st, 22);
}

/* Loads one contact by id without scope (callers resolved it first). */
static int row_load(sy_db *db, sy_arena *a, int64_t id, contact_row *r, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(db, "SELECT " COLS " FROM contacts c WHERE c.id = ?", &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    rc = sy_stmt_step(st, e);
    if (rc == SY_ROW) row_read(st, a, r);
    sy_stmt_done(st);
    if (rc < 0) return rc;
    if (rc != SY_ROW) return sy_err_set(e, SY_E_NOT_FOUND, "contact %lld not found", (long long)id);
    return 0;
}

static json_t *jtime(int64_t ms) {
    return ms ? json_integer(ms) : json_null();
}

static json_t *row_json(sy_arena *a, const sy_actor *actor, const contact_row *r) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "name", sy_contacts_jstr(r->name));
    json_object_set_new(o, "phone", sy_contacts_jstr(sy_contacts_phone_out(a, actor, r->phone)));
    json_object_set_new(o, "phone_masked",
                        json_boolean(r->phone && actor && !(actor->perms & SY_PERM_PHONE_UNMASK)));
    json_object_set_new(o, "email", sy_contacts_jstr(r->email));
    json_object_set_new(o, "gender", sy_contacts_jstr(r->gender ? r->gender : "unknown"));
    json_object_set_new(o, "birthday", sy_contacts_jstr(r->birthday));
    json_object_set_new(o, "city", sy_contacts_jstr(r->city));
    json_object_set_new(o, "company", sy_contacts_jstr(r->company));
    json_object_set_new(o, "source_id", sy_contacts_jid(r->source_id));
    json_object_set_new(o, "owner_id", sy_contacts_jid(r->owner_id));
    json_object_set_new(o, "department_id", sy_contacts_jid(r->department_id));
    json_object_set_new(o, "store_id", sy_contacts_jid(r->store_id));
    json_object_set_new(o, "status", sy_contacts_jstr(r->status));
    json_object_set_new(o, "status_label", json_string(sy_contacts_status_label(r->status)));
    json_t *attrs = r->attrs ? json_loads(r->attrs, 0, NULL) : NULL;
    json_object_set_new(o, "attributes", attrs && json_is_object(attrs) ? attrs : json_object());
    if (attrs && !json_is_object(attrs)) json_decref(attrs);
    json_object_set_new(o, "created_at", json_integer(r->created_at));
    json_object_set_new(o, "updated_at", json_integer(r->updated_at));
    json_object_set_new(o, "owned_at", jtime(r->owned_at));
    json_object_set_new(o, "pool_claimed_at", jtime(r->pool_claimed_at));
    json_object_set_new(o, "last_follow_up_at", jtime(r->last_follow_up_at));
    json_object_set_new(o, "next_follow_up_at", jtime(r->next_follow_up_at));
    json_object_set_new(o, "returned_at", jtime(r->returned_at));
    json_object_set_new(o, "return_reason", sy_contacts_jstr(r->return_reason));
    return o;
}

/* --- writes --- */

int sy_contacts_timeline_add(sy_db *db, int64_t contact_id, const char *kind, int64_t by,
                             json_t *data, int64_t now, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(
        db, "INSERT INTO contact_timeline(contact_id, kind, at, by_staff, data) VALUES (?,?,?,?,?)",
        &st, e);
    if (rc) return rc;
    char *d = data ? sy_json_dump(data) : NULL;
    sy_stmt_bind_int(st, 1, contact_id);
    sy_stmt_bind_text(st, 2, kind);
    sy_stmt_bind_int(st, 3, now);
    if (by) sy_stmt_bind_int(st, 4, by);
    sy_stmt_bind_text(st, 5, d);
    rc = sy_stmt_step(st, e);
    free(d);
    sy_stmt_done(st);
    return rc < 0 ? rc : 0;
}

static const char *mask_for_msg(const char *type, const char *value, char *buf, size_t n) {
    if (strcmp(type, "phone") == 0) {
        sy_phone_mask(value, buf, n);
        return buf;
    }
    return value;
}

int sy_contacts_add_identity(sy_db *db, int64_t id, const char *type, const char *value,
                             int64_t now, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(
        db, "SELECT contact_id FROM contact_identities WHERE type = ? AND value = ?", &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, type);
    sy_stmt_bind_text(st, 2, value);
    rc = sy_stmt_step(st, e);
    int64_t owner = rc == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
    sy_stmt_done(st);
    if (rc < 0) return rc;
    if (owner == id) return 0;
    char m[32];
    if (owner)
        return sy_err_field(e, SY_E_CONFLICT, type, "%s \"%s\" already belongs to another contact",
                            type, mask_for_msg(type, value, m, sizeof m));
    if ((rc = sy_db_prepare_cached(
             db,
             "INSERT INTO contact_identities(type, value, contact_id, created_at) VALUES (?,?,?,?)",
             &st, e)))
        return rc;
    sy_stmt_bind_text(st, 1, type);
    sy_stmt_bind_text(st, 2, value);
    sy_stmt_bind_int(st, 3, id);
    sy_stmt_bind_int(st, 4, now);
    rc = sy_stmt_step(st, e);
    sy_stmt_done(st);
    if (rc == SY_E_CONFLICT)
        return sy_err_field(e, SY_E_CONFLICT, type, "%s \"%s\" already belongs to another contact",
                            type, mask_for_msg(type, value, m, sizeof m));
    return rc < 0 ? rc : 0;
}

static int del_identity(sy_db *db, int64_t id, const char *type, const char *value, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(
        db, "DELETE FROM contact_identities WHERE type = ? AND value = ? AND contact_id = ?", &st,
        e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, type);
    sy_stmt_bind_text(st, 2, value);
    sy_stmt_bind_int(st, 3, id);
    rc = sy_stmt_step(st, e);
    sy_stmt_done(st);
    return rc < 0 ? rc : 0;
}

int sy_contacts_set_consent(sy_db *db, int64_t id, const contact_consent *cs, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(
        db,
        "INSERT INTO contact_consent(contact_id, channel, status, at, source, purpose) VALUES "
        "(?,?,?,?,?,?) "
        "ON CONFLICT(contact_id, channel) DO UPDATE SET status=excluded.status, at=excluded.at, "
        "source=excluded.source, purpose=excluded.purpose",
        &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    sy_stmt_bind_text(st, 2, cs->channel);
    sy_stmt_bind_text(st, 3, cs->status);
    sy_stmt_bind_int(st, 4, cs->at);
    sy_stmt_bind_text(st, 5, cs->source);
    sy_stmt_bind_text(st, 6, cs->purpose);
    rc = sy_stmt_step(st, e);
    sy_stmt_done(st);
    return rc < 0 ? rc : 0;
}

static const char *phone_tail(const char *e164, char *buf) {
    if (!e164) return NULL;
    size_t n = strlen(e164);
    if (n < 4) return NULL;
    memcpy(buf, e164 + n - 4, 5);
    return buf;
}

/* Object of attribute values without nulls, as stored text (NULL if empty). */
static char *attrs_text(json_t *base, json_t *patch) {
    json_t *o = base && json_is_object(base) ? json_deep_copy(base) : json_object();
    const char *k;
    json_t *v;
    if (patch) json_object_foreach(patch, k, v) {
            if (json_is_null(v))
                json_object_del(o, k);
            else
                json_object_set(o, k, v);
        }
    char *s = json_object_size(o) ? sy_json_dump(o) : NULL;
    json_decref(o);
    return s;
}

int sy_contacts_insert(sy_db *db, const sy_actor *actor, const contact_fields *f,
                       int64_t pending_import, int64_t now, int64_t *id, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(
        db,
        "INSERT INTO contacts(name, phone, phone_tail, email, gender, birthday, city, company, "
        "source_id, owner_id, department_id, store_id, status, attrs, created_at, updated_at, "
        "owned_at, pending_import) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        &st, e);
    if (rc) return rc;
    char tail[8];
    char *attrs = f->attrs ? attrs_text(NULL, f->attrs) : NULL;
    sy_stmt_bind_text(st, 1, f->name);
    sy_stmt_bind_text(st, 2, f->phone);
    sy_stmt_bind_text(st, 3, phone_tail(f->phone, tail));
    sy_stmt_bind_text(st, 4, f->email);
    sy_stmt_bind_text(st, 5, f->gender ? f->gender : "unknown");
    sy_stmt_bind_text(st, 6, f->birthday);
    sy_stmt_bind_text(st, 7, f->city);
    sy_stmt_bind_text(st, 8, f->company);
    if (f->source_id) sy_stmt_bind_int(st, 9, f->source_id);
    if (f->owner_id) {
        sy_stmt_bind_int(st, 10, f->owner_id);
        if (f->department_id) sy_stmt_bind_int(st, 11, f->department_id);
        sy_stmt_bind_int(st, 17, now);
    }
    if (f->store_id) sy_stmt_bind_int(st, 12, f->store_id);
    sy_stmt_bind_text(st, 13, f->status ? f->status : "pending");
    sy_stmt_bind_text(st, 14, attrs);
    sy_stmt_bind_int(st, 15, now);
    sy_stmt_bind_int(st, 16, now);
    if (pending_import) sy_stmt_bind_int(st, 18, pending_import);
    rc = sy_stmt_step(st, e);
    free(attrs);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    *id = sy_db_last_id(db);
    if (f->phone && (rc = sy_contacts_add_identity(db, *id, "phone", f->phone, now, e))) return rc;
    if (f->email && (rc = sy_contacts_add_identity(db, *id, "email", f->email, now, e))) return rc;
    for (size_t i = 0; i < f->n_idents; i++)
        if ((rc = sy_contacts_add_identity(db, *id, f->idents[i].type, f->idents[i].value, now, e)))
            return rc;
    for (size_t i = 0; i < f->n_consent; i++) {
        contact_consent cs = f->consent[i];
        if (!cs.at) cs.at = now;
        if ((rc = sy_contacts_set_consent(db, *id, &cs, e))) return rc;
    }
    int64_t by = actor ? actor->staff_id : 0;
    if (!pending_import) {
        json_t *d = json_pack("{s:s}", "via", actor && actor->via ? actor->via : "system");
        rc = sy_contacts_timeline_add(db, *id, "created", by, d, now, e);
        json_decref(d);
        if (rc) return rc;
    }
    if (f->note) {
        json_t *d = json_pack("{s:s}", "note", f->note);
        rc = sy_contacts_timeline_add(db, *id, "follow_up", by, d, now, e);
        json_decref(d);
        if (rc) return rc;
        if ((rc = sy_db_prepare(db, "UPDATE contacts SET last_follow_up_at = ? WHERE id = ?", &st,
                                e)))
            return rc;
        sy_stmt_bind_int(st, 1, now);
        sy_stmt_bind_int(st, 2, *id);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
    }
    return 0;
}

/* Records from → to of one text field in changes when they differ. */
static int text_change(json_t *changes, const char *field, const char *from, const char *to) {
    if ((from == NULL) == (to == NULL) && (!from || strcmp(from, to) == 0)) return 0;
    json_object_set_new(
        changes, field,
        json_pack("{s:o,s:o}", "from", sy_contacts_jstr(from), "to", sy_contacts_jstr(to)));
    return 1;
}

static int id_change(json_t *changes, const char *field, int64_t from, int64_t to) {
    if (from == to) return 0;
    json_object_set_new(
        changes, field,
        json_pack("{s:o,s:o}", "from", sy_contacts_jid(from), "to", sy_contacts_jid(to)));
    return 1;
}

int sy_contacts_apply(sy_db *db, const sy_actor *actor, int64_t id, const contact_fields *f,
                      const char *via, int on_conflict_skip, int64_t now, sy_err *e) {
    sy_arena *a = sy_arena_create();
    contact_row r;
    int rc = row_load(db, a, id, &r, e);
    if (rc) goto out;
    json_t *changes = json_object();
    contact_row n = r;
    if (f->set & F_NAME) n.name = (char *)f->name;
    if (f->set & F_GENDER) n.gender = (char *)(f->gender ? f->gender : "unknown");
    if (f->set & F_BIRTHDAY) n.birthday = (char *)f->birthday;
    if (f->set & F_CITY) n.city = (char *)f->city;
    if (f->set & F_COMPANY) n.company = (char *)f->company;
    if (f->set & F_STATUS) n.status = (char *)f->status;
    if (f->set & F_SOURCE) n.source_id = f->source_id;
    if (f->set & F_STORE) n.store_id = f->store_id;
    if ((f->set & F_OWNER) && f->owner_id != r.owner_id) {
        n.owner_id = f->owner_id;
        n.department_id = f->owner_id ? f->department_id : 0;
        n.owned_at = f->owner_id ? now : 0;
        n.pool_claimed_at = 0;
    }
    /* Phone and email carry identities: the new value's identity is added
     * (a clash is a conflict, or the field is left alone on import), and the
     * old value's identity is removed. */
    if ((f->set & F_PHONE) && !sy_streq(f->phone, r.phone)) {
        int ok = 1;
        if (f->phone && (rc = sy_contacts_add_identity(db, id, "phone", f->phone, now, e))) {
            if (rc != SY_E_CONFLICT || !on_conflict_skip) goto out_changes;
            ok = 0;
            rc = 0;
        }
        if (ok) {
            if (r.phone && (rc = del_identity(db, id, "phone", r.phone, e))) goto out_changes;
            n.phone = (char *)f->phone;
        }
    }
    if ((f->set & F_EMAIL) && !sy_streq(f->email, r.email)) {
        int ok = 1;
        if (f->email && (rc = sy_contacts_add_identity(db, id, "email", f->email, now, e))) {
            if (rc != SY_E_CONFLICT || !on_conflict_skip) goto out_changes;
            ok = 0;
            rc = 0;
        }
        if (ok) {
            if (r.email && (rc = del_identity(db, id, "email", r.email, e))) goto out_changes;
            n.email = (char *)f->email;
        }
    }
    char *attrs = NULL;
    if (f->set & F_ATTRS) {
        json_t *base = r.attrs ? json_loads(r.attrs, 0, NULL) : NULL;
        attrs = attrs_text(base, f->attrs);
        json_t *after = attrs ? json_loads(attrs, 0, NULL) : json_object();
        const char *k;
        json_t *v;
        json_object_foreach(f->attrs, k, v) {
            json_t *old = base ? json_object_get(base, k) : NULL;
            json_t *nw = json_object_get(after, k);
            if (!(old && nw && json_equal(old, nw)) && (old || nw))
                json_object_set_new(changes, sy_sprintf(a, "attributes.%s", k),
                                    json_pack("{s:O?,s:O?}", "from", old, "to", nw));
        }
        json_decref(base);
        json_decref(after);
        n.attrs = attrs;
    }
    text_change(changes, "name", r.name, n.name);
    text_change(changes, "phone", r.phone, n.phone);
    text_change(changes, "email", r.email, n.email);
    text_change(changes, "gender", r.gender, n.gender);
    text_change(changes, "birthday", r.birthday, n.birthday);
    text_change(changes, "city", r.city, n.city);
    text_change(changes, "company", r.company, n.company);
    text_change(changes, "status", r.status, n.status);
    id_change(changes, "source_id", r.source_id, n.source_id);
    id_change(changes, "store_id", r.store_id, n.store_id);
    id_change(changes, "owner_id", r.owner_id, n.owner_id);
    if (json_object_size(changes) == 0) {
        free(attrs);
        rc = 0;
        goto out_changes;
    }
    sy_stmt *st;
    rc = sy_db_prepare(
        db,
        "UPDATE contacts SET name=?, phone=?, phone_tail=?, email=?, gender=?, birthday=?, city=?, "
        "company=?, status=?, attrs=?, source_id=?, owner_id=?, department_id=?, store_id=?, "
        "owned_at=?, pool_claimed_at=?, updated_at=? WHERE id=?",
        &st, e);
    if (rc) {
        free(attrs);
        goto out_changes;
    }
    char tail[8];
    sy_stmt_bind_text(st, 1, n.name);
    sy_stmt_bind_text(st, 2, n.phone);
    sy_stmt_bind_text(st, 3, phone_tail(n.phone, tail));
    sy_stmt_bind_text(st, 4, n.email);
    sy_stmt_bind_text(st, 5, n.gender);
    sy_stmt_bind_text(st, 6, n.birthday);
    sy_stmt_bind_text(st, 7, n.city);
    sy_stmt_bind_text(st, 8, n.company);
    sy_stmt_bind_text(st, 9, n.status);
    sy_stmt_bind_text(st, 10, n.attrs);
    if (n.source_id) sy_stmt_bind_int(st, 11, n.source_id);
    if (n.owner_id) sy_stmt_bind_int(st, 12, n.owner_id);
    if (n.department_id) sy_stmt_bind_int(st, 13, n.department_id);
    if (n.store_id) sy_stmt_bind_int(st, 14, n.store_id);
    if (n.owned_at) sy_stmt_bind_int(st, 15, n.owned_at);
    if (n.pool_claimed_at) sy_stmt_bind_int(st, 16, n.pool_claimed_at);
    sy_stmt_bind_int(st, 17, now);
    sy_stmt_bind_int(st, 18, id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    free(attrs);
    if (rc < 0) goto out_changes;
    json_t *d = json_pack("{s:O,s:s}", "changes", changes, "via", via ? via : "api");
    rc = sy_contacts_timeline_add(db, id, "change", actor ? actor->staff_id : 0, d, now, e);
    json_decref(d);
out_changes:
    json_decref(changes);
out:
    sy_arena_destroy(a);
    return rc;
}

/* --- reads --- */

static json_t *identities_json(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t id,
                               sy_err *e) {
    sy_stmt *st;
    if (sy_db_prepare(db,
                      "SELECT type, value, created_at FROM contact_identities WHERE contact_id = ? "
                      "ORDER BY created_at, type",
                      &st, e))
        return NULL;
    sy_stmt_bind_int(st, 1, id);
    json_t *arr = json_array();
    while (sy_stmt_step(st, e) == SY_ROW) {
        const char *t = sy_stmt_col_text(st, 0), *v = sy_stmt_col_text(st, 1);
        if (strcmp(t, "phone") == 0) v = sy_contacts_phone_out(a, actor, v);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I}", "type", t, "value", v, "created_at",
                                             (json_int_t)sy_stmt_col_int(st, 2)));
    }
    sy_stmt_finalize(st);
    return arr;
}

static json_t *followers_json(sy_db *db, int64_t id, sy_err *e) {
    sy_stmt *st;
    if (sy_db_prepare(db,
                      "SELECT staff_id FROM contact_followers WHERE contact_id = ? ORDER BY "
                      "created_at, staff_id",
                      &st, e))
        return NULL;
    sy_stmt_bind_int(st, 1, id);
    json_t *arr = json_array();
    while (sy_stmt_step(st, e) == SY_ROW)
        json_array_append_new(arr, json_integer(sy_stmt_col_int(st, 0)));
    sy_stmt_finalize(st);
    return arr;
}

json_t *sy_contacts_consent_json(sy_db *db, int64_t id, sy_err *e) {
    sy_stmt *st;
    if (sy_db_prepare(db,
                      "SELECT channel, status, at, source, purpose FROM contact_consent WHERE "
                      "contact_id = ? ORDER BY channel",
                      &st, e))
        return NULL;
    sy_stmt_bind_int(st, 1, id);
    json_t *arr = json_array();
    while (sy_stmt_step(st, e) == SY_ROW)
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:I,s:s,s:o}", "channel", sy_stmt_col_text(st, 0), "status",
                           sy_stmt_col_text(st, 1), "at", (json_int_t)sy_stmt_col_int(st, 2),
                           "source", sy_stmt_col_text(st, 3), "purpose",
                           sy_contacts_jstr(sy_stmt_col_text(st, 4))));
    sy_stmt_finalize(st);
    return arr;
}

int sy_contacts_get_json(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t id, int full,
                         json_t **out, sy_err *e) {
    contact_row r;
    int rc = row_load(db, a, id, &r, e);
    if (rc) return rc;
    json_t *o = row_json(a, actor, &r);
    if (full) {
        json_t *x;
        if ((x = identities_json(db, a, actor, id, e))) json_object_set_new(o, "identities", x);
        if ((x = followers_json(db, id, e))) json_object_set_new(o, "followers", x);
        if ((x = sy_contacts_consent_json(db, id, e))) json_object_set_new(o, "consent", x);
        /* ids merged into this one (their reads redirect here) */
        sy_stmt *st;
        if (sy_db_prepare(db, "SELECT id FROM contacts WHERE merged_into = ? ORDER BY id", &st,
                          e) == 0) {
            json_t *arr = json_array();
            sy_stmt_bind_int(st, 1, id);
            while (sy_stmt_step(st, e) == SY_ROW)
                json_array_append_new(arr, json_integer(sy_stmt_col_int(st, 0)));
            sy_stmt_finalize(st);
            json_object_set_new(o, "merged_ids", arr);
        }
    }
    *out = o;
    return 0;
}

/* --- lists --- */

/* Bind values collected while building SQL text. */
typedef struct binds {
    struct {
        int text;
        int64_t i;
        const char *s;
    } v[24];
    int n;
} binds;
static void bind_i(binds *b, int64_t v) {
    b->v[b->n].text = 0;
    b->v[b->n++].i = v;
}
static void bind_s(binds *b, const char *s) {
    b->v[b->n].text = 1;
    b->v[b->n++].s = s;
}
static void binds_apply(const binds *b, sy_stmt *st) {
    for (int i = 0; i < b->n; i++) {
        if (b->v[i].text)
            sy_stmt_bind_text(st, i + 1, b->v[i].s);
        else
            sy_stmt_bind_int(st, i + 1, b->v[i].i);
    }
}

static char *like_pattern(sy_arena *a, const char *q) {
    sy_buf b = SY_BUF_INIT;
    sy_buf_addc(&b, '%');
    for (const char *p = q; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\') sy_buf_addc(&b, '\\');
        sy_buf_addc(&b, *p);
    }
    sy_buf_addc(&b, '%');
    char *s = sy_strdup(a, b.p);
    sy_buf_release(&b);
    return s;
}

/* WHERE clause (without cursor) for filter f as seen by actor. */
static char *where_sql(sy_arena *a, const sy_actor *actor, const contact_filter *f, binds *b) {
    sy_buf w = SY_BUF_INIT;
    sy_buf_adds(&w, SY_CONTACT_LIVE("c"));
    if (f->pool)
        sy_buf_addf(&w, " AND %s", sy_contacts_pool_sql(a, actor, "c"));
    else
        sy_buf_addf(&w, " AND %s", sy_contacts_scope_sql(a, actor, "c"));
    if (f->q && *f->q) {
        const char *q = f->q;
        size_t ql = strlen(q);
        int digits = ql > 0;
        for (const char *p = q; *p; p++)
            if (*p < '0' || *p > '9') digits = 0;
        char norm[32];
        sy_err ign;
        sy_buf_adds(&w, " AND (c.name LIKE ? ESCAPE '\\' OR c.company LIKE ? ESCAPE '\\'");
        char *lp = like_pattern(a, q);
        bind_s(b, lp);
        bind_s(b, lp);
        if (digits && ql == 4) {
            sy_buf_adds(&w, " OR c.phone_tail = ?");
            bind_s(b, q);
        } else if (sy_phone_normalize(q, norm, sizeof norm, &ign) == 0) {
            sy_buf_adds(&w, " OR c.phone = ?");
            bind_s(b, sy_strdup(a, norm));
        }
        if (strchr(q, '@')) {
            sy_buf_adds(&w, " OR c.email = lower(?)");
            bind_s(b, q);
        }
        sy_buf_adds(&w, ")");
    }
    if (f->unowned)
        sy_buf_adds(&w, " AND c.owner_id IS NULL");
    else if (f->owner_id) {
        sy_buf_adds(&w, " AND c.owner_id = ?");
        bind_i(b, f->owner_id);
    }
    if (f->store_id) {
        sy_buf_adds(&w, " AND c.store_id = ?");
        bind_i(b, f->store_id);
    }
    if (f->department_id) {
        sy_buf_adds(&w, " AND c.department_id = ?");
        bind_i(b, f->department_id);
    }
    if (f->source_id) {
        sy_buf_adds(&w, " AND c.source_id = ?");
        bind_i(b, f->source_id);
    }
    if (f->status) {
        sy_buf_adds(&w, " AND c.status = ?");
        bind_s(b, f->status);
    }
    if (f->has_from) {
        sy_buf_adds(&w, " AND c.created_at >= ?");
        bind_i(b, f->created_from);
    }
    if (f->has_to) {
        sy_buf_adds(&w, " AND c.created_at < ?");
        bind_i(b, f->created_to);
    }
    char *s = sy_strdup(a, w.p);
    sy_buf_release(&w);
    return s;
}

static const char *sort_expr(const char *sort) {
    if (sy_streq(sort, "name")) return "COALESCE(c.name, '')";
    if (sy_streq(sort, "updated_at")) return "c.updated_at";
    return "c.created_at";
}

/* Cursor: hex of "sort|d|id|value" so it is opaque and URL-safe. */
char *sy_contacts_cursor_encode(sy_arena *a, const char *sort, int desc, int64_t id,
                                const char *value) {
    char *raw = sy_sprintf(a, "%s|%d|%lld|%s", sort, desc, (long long)id, value ? value : "");
    size_t n = strlen(raw);
    char *hex = sy_alloc(a, 2 * n + 1);
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = hx[(unsigned char)raw[i] >> 4];
        hex[2 * i + 1] = hx[(unsigned char)raw[i] & 15];
    }
    hex[2 * n] = 0;
    return hex;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int sy_contacts_cursor_decode(sy_arena *a, const char *cur, const char *sort, int desc, int64_t *id,
                              const char **value, sy_err *e) {
    size_t n = strlen(cur);
    if (n == 0 || n % 2 || n > 2048) goto bad;
    char *raw = sy_alloc(a, n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int h = hexval(cur[2 * i]), l = hexval(cur[2 * i + 1]);
        if (h < 0 || l < 0) goto bad;
        raw[i] = (char)(h << 4 | l);
    }
    raw[n / 2] = 0;
    if (strlen(raw) != n / 2) goto bad;
    char *p1 = strchr(raw, '|');
    if (!p1) goto bad;
    *p1++ = 0;
    char *p2 = strchr(p1, '|');
    if (!p2) goto bad;
    *p2++ = 0;
    char *p3 = strchr(p2, '|');
    if (!p3) goto bad;
    *p3++ = 0;
    if (strcmp(raw, sort) != 0 || atoi(p1) != desc)
        return sy_err_field(e, SY_E_INVALID, "cursor",
                            "cursor was made for another sort order; start again without it");
    if (sy_parse_i64(p2, id) || *id <= 0) goto bad;
    *value = p3;
    return 0;
bad:
    return sy_err_field(e, SY_E_INVALID, "cursor", "cursor \"%.40s\" is not valid", cur);
}

int sy_contacts_list(sy_db *db, sy_arena *a, const sy_actor *actor, const contact_filter *f,
                     size_t limit, const char *cursor, json_t **out, sy_err *e) {
    binds b = {.n = 0};
    const char *sort = f->sort ? f->sort : "created_at";
    int desc = f->desc;
    char *where = where_sql(a, actor, f, &b);
    int64_t total = 0;
    sy_stmt *st;
    int rc =
        sy_db_prepare(db, sy_sprintf(a, "SELECT count(*) FROM contacts c WHERE %s", where), &st, e);
    if (rc) return rc;
    binds_apply(&b, st);
    rc = sy_stmt_step(st, e);
    if (rc == SY_ROW) total = sy_stmt_col_int(st, 0);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;

    const char *expr = sort_expr(sort);
    int textual = sy_streq(sort, "name");
    char *sql;
    if (cursor) {
        int64_t cid;
        const char *cval;
        if ((rc = sy_contacts_cursor_decode(a, cursor, sort, desc, &cid, &cval, e))) return rc;
        sql = sy_sprintf(a,
                         "SELECT " COLS
                         " FROM contacts c WHERE %s AND (%s %s ? OR (%s = ? AND c.id %s ?)) "
                         "ORDER BY %s %s, c.id %s LIMIT ?",
                         where, expr, desc ? "<" : ">", expr, desc ? "<" : ">", expr,
                         desc ? "DESC" : "ASC", desc ? "DESC" : "ASC");
        int64_t iv = 0;
        if (!textual && sy_parse_i64(cval, &iv))
            return sy_err_field(e, SY_E_INVALID, "cursor", "cursor is not valid");
        for (int k = 0; k < 2; k++) {
            if (textual)
                bind_s(&b, cval);
            else
                bind_i(&b, iv);
        }
        bind_i(&b, cid);
    } else {
        sql = sy_sprintf(a,
                         "SELECT " COLS " FROM contacts c WHERE %s ORDER BY %s %s, c.id %s LIMIT ?",
                         where, expr, desc ? "DESC" : "ASC", desc ? "DESC" : "ASC");
    }
    bind_i(&b, (int64_t)limit + 1);
    if ((rc = sy_db_prepare(db, sql, &st, e))) return rc;
    binds_apply(&b, st);
    json_t *items = json_array();
    contact_row last = {0};
    size_t n = 0;
    int more = 0;
    while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        contact_row r;
        row_read(st, a, &r);
        json_array_append_new(items, row_json(a, actor, &r));
        last = r;
        n++;
    }
    sy_stmt_finalize(st);
    if (rc < 0) {
        json_decref(items);
        return rc;
    }
    json_t *next = json_null();
    if (more) {
        const char *v =
            textual ? (last.name ? last.name : "")
                    : sy_sprintf(a, "%lld",
                                 (long long)(sy_streq(sort, "updated_at") ? last.updated_at
                                                                          : last.created_at));
        next = json_string(sy_contacts_cursor_encode(a, sort, desc, last.id, v));
    }
    *out =
        json_pack("{s:o,s:I,s:o}", "items", items, "total", (json_int_t)total, "next_cursor", next);
    return 0;
}

static void local_time(int64_t ms, int offset_s, char *out, size_t n) {
    char iso[40];
    sy_time_format(ms + (int64_t)offset_s * 1000, iso, sizeof iso);
    /* "2026-11-22T09:00:00.123Z" → "2026-11-22 09:00:00" */
    snprintf(out, n, "%.10s %.8s", iso, iso + 11);
}

int sy_contacts_export_rows(sy_db *db, sy_arena *a, const sy_actor *actor, const contact_filter *f,
                            int unmask, sy_buf *out, size_t *rows, sy_err *e) {
    binds b = {.n = 0};
    char *where = where_sql(a, actor, f, &b);
    const char *sort = f->sort ? f->sort : "created_at";
    char *sql = sy_sprintf(
        a,
        "SELECT c.id, c.name, c.phone, c.email, c.gender, c.birthday, c.city, c.company, "
        "ch.name, c.status, c.owner_id, c.store_id, c.created_at, c.attrs "
        "FROM contacts c LEFT JOIN contact_channels ch ON ch.id = c.source_id WHERE %s "
        "ORDER BY %s %s, c.id %s",
        where, sort_expr(sort), f->desc ? "DESC" : "ASC", f->desc ? "DESC" : "ASC");
    sy_stmt *st;
    int rc = sy_db_prepare(db, sql, &st, e);
    if (rc) return rc;
    binds_apply(&b, st);
    /* Workspace-local times: the offset now is used for every row (mainland
     * China has no daylight saving). */
    int offset = 8 * 3600;
    static const char *const header[] = {"ID",       "姓名",   "手机号",   "邮箱",      "性别",
                                         "生日",     "城市",   "公司",     "来源",      "状态",
                                         "负责人ID", "门店ID", "创建时间", "自定义属性"};
    sy_csv_write_bom(out);
    sy_csv_write_row(out, header, SY_ARRAY_LEN(header));
    size_t n = 0;
    while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
        char id[24], owner[24], store[24], created[40], masked[32];
        snprintf(id, sizeof id, "%lld", (long long)sy_stmt_col_int(st, 0));
        const char *phone = sy_stmt_col_text(st, 2);
        if (phone && !unmask) {
            sy_phone_mask(phone, masked, sizeof masked);
            phone = masked;
        } else if (phone && sy_startswith(phone, "+86") && strlen(phone) == 14) {
            /* mainland numbers as the 11 digits operators know: "+86…" would
             * get the formula guard's quote and show as text in Excel */
            phone += 3;
        }
        const char *g = sy_stmt_col_text(st, 4);
        const char *gl = sy_streq(g, "male") ? "男" : sy_streq(g, "female") ? "女" : "";
        int64_t ow = sy_stmt_col_int(st, 10), so = sy_stmt_col_int(st, 11);
        owner[0] = store[0] = 0;
        if (ow) snprintf(owner, sizeof owner, "%lld", (long long)ow);
        if (so) snprintf(store, sizeof store, "%lld", (long long)so);
        local_time(sy_stmt_col_int(st, 12), offset, created, sizeof created);
        const char *f13 = sy_stmt_col_text(st, 13);
        const char *fields[14] = {id,
                                  sy_stmt_col_text(st, 1),
                                  phone,
                                  sy_stmt_col_text(st, 3),
                                  gl,
                                  sy_stmt_col_text(st, 5),
                                  sy_stmt_col_text(st, 6),
                                  sy_stmt_col_text(st, 7),
                                  sy_stmt_col_text(st, 8),
                                  sy_contacts_status_label(sy_stmt_col_text(st, 9)),
                                  owner,
                                  store,
                                  created,
                                  f13};
        for (int i = 0; i < 14; i++)
            if (!fields[i]) fields[i] = "";
        sy_csv_write_row(out, fields, 14);
        n++;
    }
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    *rows = n;
    return 0;
}

/* --- merge --- */

/* Scalar fields considered by a merge, with their row offsets. */
typedef struct mfield {
    const char *name;
    int is_id;
    size_t off;
} mfield;
#define TXT(f)                                                                                     \
    { #f, 0, offsetof(contact_row, f) }
#define IDF(f)                                                                                     \
    { #f, 1, offsetof(contact_row, f) }
static const mfield merge_fields[] = {
    TXT(name), TXT(phone),   TXT(email),     TXT(gender),   TXT(birthday),
    TXT(city), TXT(company), IDF(source_id), IDF(owner_id), IDF(store_id),
};

static const char *row_text(const contact_row *r, const mfield *m) {
    const char *s = *(char *const *)((const char *)r + m->off);
    if (s && strcmp(m->name, "gender") == 0 && strcmp(s, "unknown") == 0) return NULL; /* empty */
    return s;
}
static int64_t row_id(const contact_row *r, const mfield *m) {
    return *(const int64_t *)((const char *)r + m->off);
}

/* Builds the merge plan. Raw values (unmasked) when actor is NULL; the
 * preview passes the caller to mask phones. */
static int plan_build(sy_db *db, sy_arena *a, const sy_actor *display, int64_t winner,
                      int64_t loser, json_t **out, sy_err *e) {
    contact_row w, l;
    int rc;
    if ((rc = row_load(db, a, winner, &w, e)) || (rc = row_load(db, a, loser, &l, e))) return rc;
    json_t *plan = json_object();
    json_t *fields = json_array(), *fills = json_object();
    for (size_t i = 0; i < SY_ARRAY_LEN(merge_fields); i++) {
        const mfield *m = &merge_fields[i];
        json_t *wv, *lv;
        int fill;
        if (m->is_id) {
            int64_t a1 = row_id(&w, m), b1 = row_id(&l, m);
            wv = sy_contacts_jid(a1);
            lv = sy_contacts_jid(b1);
            fill = !a1 && b1;
            if (fill) json_object_set_new(fills, m->name, json_integer(b1));
        } else {
            const char *a1 = row_text(&w, m), *b1 = row_text(&l, m);
            fill = !a1 && b1;
            if (fill) json_object_set_new(fills, m->name, json_string(b1));
            if (strcmp(m->name, "phone") == 0 && display) {
                a1 = sy_contacts_phone_out(a, display, a1);
                b1 = sy_contacts_phone_out(a, display, b1);
            }
            wv = sy_contacts_jstr(a1);
            lv = sy_contacts_jstr(b1);
        }
        if (json_is_null(lv) && json_is_null(wv)) {
            json_decref(wv);
            json_decref(lv);
            continue;
        }
        json_array_append_new(fields, json_pack("{s:s,s:o,s:o,s:s}", "field", m->name, "winner", wv,
                                                "loser", lv, "action", fill ? "fill" : "keep"));
    }
    /* attributes: winner's set keys win; loser fills the rest */
    json_t *wa = w.attrs ? json_loads(w.attrs, 0, NULL) : NULL,
           *la = l.attrs ? json_loads(l.attrs, 0, NULL) : NULL;
    json_t *afill = json_object();
    const char *k;
    json_t *v;
    if (la && json_is_object(la)) json_object_foreach(la, k, v) {
            json_t *cur = wa ? json_object_get(wa, k) : NULL;
            if (!cur || json_is_null(cur)) json_object_set(afill, k, v);
            json_array_append_new(fields, json_pack("{s:s,s:O?,s:O,s:s}", "field",
                                                    sy_sprintf(a, "attributes.%s", k), "winner",
                                                    cur, "loser", v, "action",
                                                    (!cur || json_is_null(cur)) ? "fill" : "keep"));
        }
    json_decref(wa);
    json_decref(la);
    json_object_set_new(plan, "fields", fields);
    json_object_set_new(plan, "fills", fills);
    json_object_set_new(plan, "attributes_filled", afill);

    sy_stmt *st;
    json_t *ids = json_array();
    if ((rc = sy_db_prepare(
             db,
             "SELECT type, value FROM contact_identities WHERE contact_id = ? ORDER BY type, value",
             &st, e)))
        goto fail;
    sy_stmt_bind_int(st, 1, loser);
    while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
        const char *t = sy_stmt_col_text(st, 0), *val = sy_stmt_col_text(st, 1);
        if (display && strcmp(t, "phone") == 0) val = sy_contacts_phone_out(a, display, val);
        json_array_append_new(ids, json_pack("{s:s,s:s}", "type", t, "value", val));
    }
    sy_stmt_finalize(st);
    json_object_set_new(plan, "identities_moved", ids);
    if (rc < 0) goto fail;
    json_t *fol = json_array();
    if ((rc = sy_db_prepare(
             db,
             "SELECT staff_id FROM contact_followers WHERE contact_id = ? AND staff_id NOT IN "
             "(SELECT staff_id FROM contact_followers WHERE contact_id = ?) ORDER BY staff_id",
             &st, e)))
        goto fail_fol;
    sy_stmt_bind_int(st, 1, loser);
    sy_stmt_bind_int(st, 2, winner);
    while ((rc = sy_stmt_step(st, e)) == SY_ROW)
        json_array_append_new(fol, json_integer(sy_stmt_col_int(st, 0)));
    sy_stmt_finalize(st);
fail_fol:
    json_object_set_new(plan, "followers_added", fol);
    if (rc < 0) goto fail;
    /* consent: the more recent record per channel wins (a withdrawal is
     * never lost to an older grant) */
    json_t *cons = json_array();
    if ((rc = sy_db_prepare(
             db,
             "SELECT l.channel, l.status, l.at, l.source, l.purpose, w.status, w.at, w.source, "
             "w.purpose "
             "FROM contact_consent l LEFT JOIN contact_consent w ON w.contact_id = ? AND w.channel "
             "= l.channel "
             "WHERE l.contact_id = ? AND (w.at IS NULL OR l.at > w.at) ORDER BY l.channel",
             &st, e)))
        goto fail_cons;
    sy_stmt_bind_int(st, 1, winner);
    sy_stmt_bind_int(st, 2, loser);
    while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
        json_t *before =
            sy_stmt_col_type(st, 5) == SY_NULL
                ? json_null()
                : json_pack("{s:s,s:I,s:s,s:o}", "status", sy_stmt_col_text(st, 5), "at",
                            (json_int_t)sy_stmt_col_int(st, 6), "source", sy_stmt_col_text(st, 7),
                            "purpose", sy_contacts_jstr(sy_stmt_col_text(st, 8)));
        json_array_append_new(
            cons,
            json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}", "channel", sy_stmt_col_text(st, 0), "status",
                      sy_stmt_col_text(st, 1), "at", (json_int_t)sy_stmt_col_int(st, 2), "source",
                      sy_stmt_col_text(st, 3), "purpose", sy_contacts_jstr(sy_stmt_col_text(st, 4)),
                      "winner_before", before));
    }
    sy_stmt_finalize(st);
fail_cons:
    json_object_set_new(plan, "consent_taken", cons);
    if (rc < 0) goto fail;
    json_object_set_new(plan, "winner", row_json(a, display, &w));
    json_object_set_new(plan, "loser", row_json(a, display, &l));
    json_object_set_new(
        plan, "rule",
        json_string("winner's non-empty values win; the loser fills blanks; identities, "
                    "followers and newer consent move to the winner; the loser becomes a "
                    "tombstone (merged_into)"));
    *out = plan;
    return 0;
fail:
    json_decref(plan);
    return rc;
}

static int check_pair(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t *winner,
                      int64_t *loser, sy_err *e) {
    int64_t w, l;
    int rc;
    if (*winner == *loser)
        return sy_err_field(e, SY_E_INVALID, "loser_id",
                            "winner_id and loser_id are the same contact");
    if ((rc = sy_contacts_resolve(db, a, actor, *winner, &w, e))) return rc;
    if ((rc = sy_contacts_resolve(db, a, actor, *loser, &l, e))) return rc;
    if (w == l)
        return sy_err_field(e, SY_E_INVALID, "loser_id", "contact %lld is already merged into %lld",
                            (long long)*loser, (long long)w);
    if (l != *loser)
        return sy_err_field(e, SY_E_INVALID, "loser_id", "contact %lld is already merged into %lld",
                            (long long)*loser, (long long)l);
    *winner = w;
    *loser = l;
    return 0;
}

int sy_contacts_merge_plan(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t winner,
                           int64_t loser, json_t **plan, sy_err *e) {
    int rc = check_pair(db, a, actor, &winner, &loser, e);
    if (rc) return rc;
    rc = plan_build(db, a, actor ? actor : NULL, winner, loser, plan, e);
    if (rc == 0) {
        json_object_del(*plan, "fills");
        json_object_del(*plan, "attributes_filled");
    }
    return rc;
}

static int exec_ids(sy_db *db, const char *sql, int64_t a1, int64_t a2, int64_t a3, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, sql, &st, e);
    if (rc) return rc;
    int n = 0;
    for (const char *p = sql; *p; p++)
        if (*p == '?') n++;
    int64_t v[3] = {a1, a2, a3};
    for (int i = 0; i < n && i < 3; i++)
        sy_stmt_bind_int(st, i + 1, v[i]);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

int sy_contacts_merge_apply(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t winner,
                            int64_t loser, int64_t *merge_id, sy_err *e) {
    int rc = check_pair(db, a, actor, &winner, &loser, e);
    if (rc) return rc;
    json_t *plan;
    if ((rc = plan_build(db, a, NULL, winner, loser, &plan, e))) return rc;
    int64_t now = sy_now_ms();
    sy_stmt *st;
    contact_row w;
    if ((rc = row_load(db, a, winner, &w, e))) goto out;
    /* fill blanks */
    json_t *fills = json_object_get(plan, "fills");
    const char *k;
    json_t *v;
    json_object_foreach(fills, k, v) {
        char *sql = sy_sprintf(a, "UPDATE contacts SET %s = ? WHERE id = ?",
                               k); /* k is one of merge_fields */
        if ((rc = sy_db_prepare(db, sql, &st, e))) goto out;
        if (json_is_integer(v))
            sy_stmt_bind_int(st, 1, json_integer_value(v));
        else
            sy_stmt_bind_text(st, 1, json_string_value(v));
        sy_stmt_bind_int(st, 2, winner);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) goto out;
        if (strcmp(k, "owner_id") == 0 &&
            (rc = exec_ids(db,
                           "UPDATE contacts SET department_id = (SELECT department_id FROM "
                           "contacts WHERE id = ?), "
                           "owned_at = ? WHERE id = ?",
                           loser, now, winner, e)))
            goto out;
    }
    if ((rc = exec_ids(db, "UPDATE contacts SET phone_tail = substr(phone, -4) WHERE id = ?",
                       winner, 0, 0, e)))
        goto out;
    json_t *af = json_object_get(plan, "attributes_filled");
    if (json_object_size(af)) {
        json_t *base = w.attrs ? json_loads(w.attrs, 0, NULL) : NULL;
        char *txt = attrs_text(base, af);
        json_decref(base);
        if ((rc = sy_db_prepare(db, "UPDATE contacts SET attrs = ? WHERE id = ?", &st, e))) {
            free(txt);
            goto out;
        }
        sy_stmt_bind_text(st, 1, txt);
        sy_stmt_bind_int(st, 2, winner);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        free(txt);
        if (rc < 0) goto out;
    }
    if ((rc = exec_ids(db, "UPDATE contact_identities SET contact_id = ? WHERE contact_id = ?",
                       winner, loser, 0, e)) ||
        (rc = exec_ids(db,
                       "INSERT OR IGNORE INTO contact_followers(contact_id, staff_id, created_at) "
                       "SELECT ?, staff_id, ? FROM contact_followers WHERE contact_id = ?",
                       winner, now, loser, e)))
        goto out;
    size_t i;
    json_t *cs;
    json_array_foreach(json_object_get(plan, "consent_taken"), i, cs) {
        contact_consent c = {json_string_value(json_object_get(cs, "channel")),
                             json_string_value(json_object_get(cs, "status")),
                             json_string_value(json_object_get(cs, "source")),
                             json_string_value(json_object_get(cs, "purpose")),
                             json_integer_value(json_object_get(cs, "at"))};
        if ((rc = sy_contacts_set_consent(db, winner, &c, e))) goto out;
    }
    if ((rc =
             exec_ids(db,
                      "UPDATE contacts SET last_follow_up_at = max(COALESCE(last_follow_up_at, 0), "
                      "(SELECT COALESCE(last_follow_up_at, 0) FROM contacts WHERE id = ?)), "
                      "updated_at = ? WHERE id = ?",
                      loser, now, winner, e)) ||
        (rc = exec_ids(
             db,
             "UPDATE contacts SET last_follow_up_at = NULLIF(last_follow_up_at, 0) WHERE id = ?",
             winner, 0, 0, e)) ||
        (rc = exec_ids(db, "UPDATE contacts SET merged_into = ?, updated_at = ? WHERE id = ?",
                       winner, now, loser, e)))
        goto out;
    /* the record keeps raw values so an admin can undo */
    json_t *rec = json_pack("{s:O,s:O,s:O,s:O,s:O}", "fills", fills, "attributes_filled", af,
                            "identities_moved", json_object_get(plan, "identities_moved"),
                            "followers_added", json_object_get(plan, "followers_added"),
                            "consent_taken", json_object_get(plan, "consent_taken"));
    char *txt = sy_json_dump(rec);
    json_decref(rec);
    rc = sy_db_prepare(
        db,
        "INSERT INTO contact_merges(winner_id, loser_id, at, by_staff, data) VALUES (?,?,?,?,?)",
        &st, e);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, winner);
        sy_stmt_bind_int(st, 2, loser);
        sy_stmt_bind_int(st, 3, now);
        if (actor && actor->staff_id) sy_stmt_bind_int(st, 4, actor->staff_id);
        sy_stmt_bind_text(st, 5, txt);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        rc = rc < 0 ? rc : 0;
    }
    free(txt);
    if (rc) goto out;
    *merge_id = sy_db_last_id(db);
    int64_t by = actor ? actor->staff_id : 0;
    json_t *d = json_pack("{s:I,s:I,s:I,s:O}", "merge_id", (json_int_t)*merge_id, "winner_id",
                          (json_int_t)winner, "loser_id", (json_int_t)loser, "filled", fills);
    rc = sy_contacts_timeline_add(db, winner, "merge", by, d, now, e);
    if (rc == 0) rc = sy_contacts_timeline_add(db, loser, "merged_into", by, d, now, e);
    if (rc == 0)
        rc = sy_audit_record(db, actor, "contacts.merge",
                             sy_sprintf(a, "contact:%lld", (long long)winner), d, e);
    json_decref(d);
out:
    json_decref(plan);
    return rc;
}

int sy_contacts_merge_undo(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t merge_id,
                           sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(
        db, "SELECT winner_id, loser_id, data, undone_at FROM contact_merges WHERE id = ?", &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, merge_id);
    rc = sy_stmt_step(st, e);
    int64_t winner = 0, loser = 0, undone = 0;
    json_t *data = NULL;
    if (rc == SY_ROW) {
        winner = sy_stmt_col_int(st, 0);
        loser = sy_stmt_col_int(st, 1);
        data = json_loads(sy_stmt_col_text(st, 2), 0, NULL);
        undone = sy_stmt_col_int(st, 3);
    }
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (rc != SY_ROW || !data)
        return sy_err_set(e, SY_E_NOT_FOUND, "merge %lld not found", (long long)merge_id);
    sy_arena_on_destroy(a, (void (*)(void *))json_decref, data);
    int64_t w;
    if ((rc = sy_contacts_resolve(db, a, actor, winner, &w, e)))
        return sy_err_set(e, SY_E_NOT_FOUND, "merge %lld not found", (long long)merge_id);
    if (undone)
        return sy_err_set(e, SY_E_CONFLICT, "merge %lld was already undone", (long long)merge_id);
    if (w != winner)
        return sy_err_set(
            e, SY_E_CONFLICT,
            "contact %lld was merged into %lld after merge %lld; undo that merge first",
            (long long)winner, (long long)w, (long long)merge_id);
    int64_t now = sy_now_ms();
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(data, "identities_moved"), i, it) {
        if ((rc = sy_db_prepare(db,
                                "UPDATE contact_identities SET contact_id = ? WHERE type = ? AND "
                                "value = ? AND contact_id = ?",
                                &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, loser);
        sy_stmt_bind_text(st, 2, json_string_value(json_object_get(it, "type")));
        sy_stmt_bind_text(st, 3, json_string_value(json_object_get(it, "value")));
        sy_stmt_bind_int(st, 4, winner);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
    }
    /* Filled fields go back to blank unless someone changed them since. */
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(data, "fills"), k, v) {
        int known = 0;
        for (size_t j = 0; j < SY_ARRAY_LEN(merge_fields); j++)
            if (strcmp(merge_fields[j].name, k) == 0) known = 1;
        if (!known) continue;
        const char *extra =
            strcmp(k, "owner_id") == 0 ? ", department_id = NULL, owned_at = NULL" : "";
        if ((rc = sy_db_prepare(
                 db,
                 sy_sprintf(a, "UPDATE contacts SET %s = NULL%s WHERE id = ? AND %s = ?", k, extra,
                            k),
                 &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, winner);
        if (json_is_integer(v))
            sy_stmt_bind_int(st, 2, json_integer_value(v));
        else
            sy_stmt_bind_text(st, 2, json_string_value(v));
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
    }
    if ((rc = exec_ids(db, "UPDATE contacts SET phone_tail = substr(phone, -4) WHERE id = ?",
                       winner, 0, 0, e)))
        return rc;
    json_t *af = json_object_get(data, "attributes_filled");
    if (json_object_size(af)) {
        contact_row r;
        if ((rc = row_load(db, a, winner, &r, e))) return rc;
        json_t *cur = r.attrs ? json_loads(r.attrs, 0, NULL) : json_object();
        json_object_foreach(af, k, v) {
            json_t *c = json_object_get(cur, k);
            if (c && json_equal(c, v)) json_object_del(cur, k);
        }
        char *txt = json_object_size(cur) ? sy_json_dump(cur) : NULL;
        json_decref(cur);
        rc = sy_db_prepare(db, "UPDATE contacts SET attrs = ? WHERE id = ?", &st, e);
        if (rc == 0) {
            sy_stmt_bind_text(st, 1, txt);
            sy_stmt_bind_int(st, 2, winner);
            rc = sy_stmt_step(st, e);
            sy_stmt_finalize(st);
            rc = rc < 0 ? rc : 0;
        }
        free(txt);
        if (rc) return rc;
    }
    json_array_foreach(json_object_get(data, "followers_added"), i, it) {
        if ((rc =
                 exec_ids(db, "DELETE FROM contact_followers WHERE contact_id = ? AND staff_id = ?",
                          winner, json_integer_value(it), 0, e)))
            return rc;
    }
    json_array_foreach(json_object_get(data, "consent_taken"), i, it) {
        const char *ch = json_string_value(json_object_get(it, "channel"));
        json_t *before = json_object_get(it, "winner_before");
        /* only when the winner's record is still the one the merge wrote */
        if ((rc = sy_db_prepare(
                 db, "DELETE FROM contact_consent WHERE contact_id = ? AND channel = ? AND at = ?",
                 &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, winner);
        sy_stmt_bind_text(st, 2, ch);
        sy_stmt_bind_int(st, 3, json_integer_value(json_object_get(it, "at")));
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        if (sy_db_changes(db) && before && json_is_object(before)) {
            contact_consent c = {ch, json_string_value(json_object_get(before, "status")),
                                 json_string_value(json_object_get(before, "source")),
                                 json_string_value(json_object_get(before, "purpose")),
                                 json_integer_value(json_object_get(before, "at"))};
            if ((rc = sy_contacts_set_consent(db, winner, &c, e))) return rc;
        }
    }
    if ((rc = exec_ids(db, "UPDATE contacts SET merged_into = NULL, updated_at = ? WHERE id = ?",
                       now, loser, 0, e)) ||
        (rc = exec_ids(db, "UPDATE contacts SET updated_at = ? WHERE id = ?", now, winner, 0, e)) ||
        (rc = exec_ids(db, "UPDATE contact_merges SET undone_at = ?, undone_by = ? WHERE id = ?",
                       now, actor ? actor->staff_id : 0, merge_id, e)))
        return rc;
    int64_t by = actor ? actor->staff_id : 0;
    json_t *d = json_pack("{s:I,s:I,s:I}", "merge_id", (json_int_t)merge_id, "winner_id",
                          (json_int_t)winner, "loser_id", (json_int_t)loser);
    rc = sy_contacts_timeline_add(db, winner, "unmerge", by, d, now, e);
    if (rc == 0) rc = sy_contacts_timeline_add(db, loser, "unmerge", by, d, now, e);
    if (rc == 0)
        rc = sy_audit_record(db, actor, "contacts.unmerge",
                             sy_sprintf(a, "contact:%lld", (long long)winner), d, e);
    json_decref(d);
    return rc;
}

/* --- lead pool --- */

static int setting_int(sy_db *db, const char *key, int64_t def, int64_t *out, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, "SELECT value FROM contact_settings WHERE key = ?", &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, key);
    rc = sy_stmt_step(st, e);
    *out = def;
    if (rc == SY_ROW) sy_parse_i64(sy_stmt_col_text(st, 0), out);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

int sy_contacts_pool_settings(sy_db *db, pool_settings *out, sy_err *e) {
    int64_t en = 0;
    int rc;
    if ((rc = setting_int(db, "pool.recycle_enabled", 0, &en, e)) ||
        (rc = setting_int(db, "pool.recycle_days", 30, &out->recycle_days, e)) ||
        (rc = setting_int(db, "pool.claim_limit", 50, &out->claim_limit, e)))
        return rc;
    out->recycle_enabled = en != 0;
    return 0;
}

int sy_contacts_recycle_chunk(sy_db *db, int64_t now, int64_t days, size_t *n, sy_err *e) {
    *n = 0;
    int64_t cutoff = now - days * 86400000;
    sy_stmt *st;
    int rc = sy_db_prepare(
        db,
        "SELECT c.id, c.owner_id FROM contacts c WHERE c.owner_id IS NOT NULL AND c.status IN "
        "('pending','following') AND " SY_CONTACT_LIVE(
            "c") " AND "
                 "COALESCE(c.last_follow_up_at, c.owned_at, c.created_at) < ? LIMIT 500",
        &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, cutoff);
    int64_t ids[500], owners[500];
    size_t k = 0;
    while ((rc = sy_stmt_step(st, e)) == SY_ROW && k < 500) {
        ids[k] = sy_stmt_col_int(st, 0);
        owners[k++] = sy_stmt_col_int(st, 1);
    }
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    json_t *moved = json_array();
    for (size_t i = 0; i < k; i++) {
        if ((rc = exec_ids(
                 db,
                 "UPDATE contacts SET owner_id = NULL, department_id = NULL, pool_claimed_at = "
                 "NULL, "
                 "owned_at = NULL, returned_at = ?, return_reason = 'recycled: no follow-up', "
                 "updated_at = ? WHERE id = ?",
                 now, now, ids[i], e)) ||
            (rc =
                 exec_ids(db, "DELETE FROM contact_followers WHERE contact_id = ? AND staff_id = ?",
                          ids[i], owners[i], 0, e)))
            break;
        json_t *d = json_pack("{s:I,s:I}", "from_owner_id", (json_int_t)owners[i], "days",
                              (json_int_t)days);
        rc = sy_contacts_timeline_add(db, ids[i], "recycle", 0, d, now, e);
        json_decref(d);
        if (rc) break;
        if (json_array_size(moved) < 100) json_array_append_new(moved, json_integer(ids[i]));
    }
    if (rc == 0 && k) {
        json_t *d = json_pack("{s:I,s:I,s:o}", "count", (json_int_t)k, "days", (json_int_t)days,
                              "contact_ids", moved);
        rc = sy_audit_record(db, NULL, "contacts.recycle", "pool", d, e);
        json_decref(d);
    } else {
        json_decref(moved);
    }
    if (rc == 0) *n = k;
    return rc;
}

typedef struct recycle_job {
    int64_t now, days;
    size_t n;
} recycle_job;
static int recycle_job_run(sy_db *db, void *arg, sy_err *e) {
    recycle_job *j = arg;
    return sy_contacts_recycle_chunk(db, j->now, j->days, &j->n, e);
}

int sy_contacts_recycle_run(sy_contacts *c, const sy_actor *actor, int force, size_t *n,
                            sy_err *e) {
    (void)actor; /* chunks are audited as the system: the rule, not a person, moves the leads */
    *n = 0;
    sy_db *db;
    pool_settings ps;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    rc = sy_contacts_pool_settings(db, &ps, e);
    sy_store_read_end(c->st, db);
    if (rc || (!ps.recycle_enabled && !force)) return rc;
    recycle_job j = {.now = sy_now_ms(), .days = ps.recycle_days};
    do {
        if ((rc = sy_store_write(c->st, recycle_job_run, &j, e))) return rc;
        *n += j.n;
    } while (j.n > 0);
    pthread_mutex_lock(&c->lock);
    c->n_recycled += (int64_t)*n;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* --- handover --- */

typedef struct handover_job {
    const sy_actor *actor;
    sy_arena *a;
    int64_t from, to, to_dept;
    size_t n;
    int first;
} handover_job;

static int handover_chunk(sy_db *db, void *arg, sy_err *e) {
    handover_job *j = arg;
    int64_t now = sy_now_ms();
    char *scope = sy_contacts_scope_sql(j->a, j->actor, "c");
    sy_stmt *st;
    int rc = sy_db_prepare(
        db,
        sy_sprintf(
            j->a,
            "SELECT c.id FROM contacts c WHERE c.owner_id = ? AND c.merged_into IS NULL AND %s "
            "UNION SELECT f.contact_id FROM contact_followers f JOIN contacts c ON c.id = "
            "f.contact_id WHERE f.staff_id = ? AND c.merged_into IS NULL AND %s LIMIT 1000",
            scope, scope),
        &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->from);
    sy_stmt_bind_int(st, 2, j->from);
    int64_t *ids = sy_alloc(j->a, 1000 * sizeof *ids);
    size_t k = 0;
    while ((rc = sy_stmt_step(st, e)) == SY_ROW && k < 1000)
        ids[k++] = sy_stmt_col_int(st, 0);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    size_t owned = 0;
    for (size_t i = 0; i < k; i++) {
        if ((rc = sy_db_prepare(db,
                                "UPDATE contacts SET owner_id = ?, department_id = ?, owned_at = "
                                "?, updated_at = ? "
                                "WHERE id = ? AND owner_id = ?",
                                &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, j->to);
        if (j->to_dept) sy_stmt_bind_int(st, 2, j->to_dept);
        sy_stmt_bind_int(st, 3, now);
        sy_stmt_bind_int(st, 4, now);
        sy_stmt_bind_int(st, 5, ids[i]);
        sy_stmt_bind_int(st, 6, j->from);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        int was_owner = sy_db_changes(db) > 0;
        owned += (size_t)was_owner;
        if ((rc = sy_db_prepare(
                 db,
                 "INSERT OR IGNORE INTO contact_followers(contact_id, staff_id, created_at) SELECT "
                 "contact_id, ?, "
                 "created_at FROM contact_followers WHERE contact_id = ? AND staff_id = ?",
                 &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, j->to);
        sy_stmt_bind_int(st, 2, ids[i]);
        sy_stmt_bind_int(st, 3, j->from);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        if ((rc =
                 exec_ids(db, "DELETE FROM contact_followers WHERE contact_id = ? AND staff_id = ?",
                          ids[i], j->from, 0, e)))
            return rc;
        json_t *d = json_pack("{s:I,s:I,s:b}", "from_staff_id", (json_int_t)j->from, "to_staff_id",
                              (json_int_t)j->to, "owner", was_owner);
        rc = sy_contacts_timeline_add(db, ids[i], "handover", j->actor ? j->actor->staff_id : 0, d,
                                      now, e);
        json_decref(d);
        if (rc) return rc;
    }
    if (k || j->first) {
        json_t *d =
            json_pack("{s:I,s:I,s:I,s:I}", "from_staff_id", (json_int_t)j->from, "to_staff_id",
                      (json_int_t)j->to, "contacts", (json_int_t)k, "owned", (json_int_t)owned);
        rc = sy_audit_record(db, j->actor, "contacts.handover",
                             sy_sprintf(j->a, "staff:%lld", (long long)j->from), d, e);
        json_decref(d);
        if (rc) return rc;
    }
    j->first = 0;
    j->n = k;
    return 0;
}

int sy_contacts_handover(sy_contacts *c, const sy_actor *actor, int64_t from, int64_t to, size_t *n,
                         sy_err *e) {
    *n = 0;
    if (from == to)
        return sy_err_field(e, SY_E_INVALID, "to_staff_id",
                            "from_staff_id and to_staff_id are the same");
    int64_t dept = 0;
    if (sy_staff_lookup(c->staff, to, &dept, NULL, e))
        return sy_err_field(e, SY_E_INVALID, "to_staff_id",
                            "to_staff_id %lld is not an active staff member", (long long)to);
    sy_arena *a = sy_arena_create();
    handover_job j = {.actor = actor, .a = a, .from = from, .to = to, .to_dept = dept, .first = 1};
    int rc;
    do {
        if ((rc = sy_store_write(c->st, handover_chunk, &j, e))) break;
        *n += j.n;
    } while (j.n > 0);
    sy_arena_destroy(a);
    return rc;
}
