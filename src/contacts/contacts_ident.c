/* contacts_ident.c — the contacts module's interface for identity
 * resolution by the events module, merge listeners and timeline sources. */
#include <string.h>
#include "contacts_int.h"

int sy_contacts_identity_norm(sy_arena *a, const char *type, const char *value, char **out,
                              sy_err *e) {
    return sy_contacts_identity_normalize(a, type, value, out, e);
}

int sy_contacts_ident_find(sy_db *db, const char *type, const char *value, int64_t *id, sy_err *e) {
    sy_stmt *st;
    *id = 0;
    int rc = sy_db_prepare_cached(
        db, "SELECT contact_id FROM contact_identities WHERE type = ?1 AND value = ?2", &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, type);
    sy_stmt_bind_text(st, 2, value);
    rc = sy_stmt_step(st, e);
    int64_t c = rc == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
    sy_stmt_done(st);
    if (rc < 0) return rc;
    /* follow merge tombstones to the live contact (chains are short) */
    for (int hops = 0; c && hops < 32; hops++) {
        if ((rc = sy_db_prepare_cached(db, "SELECT merged_into FROM contacts WHERE id = ?1", &st,
                                       e)))
            return rc;
        sy_stmt_bind_int(st, 1, c);
        rc = sy_stmt_step(st, e);
        int64_t next = rc == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
        int found = rc == SY_ROW;
        sy_stmt_done(st);
        if (rc < 0) return rc;
        if (!found) {
            c = 0;
            break;
        }
        if (!next) break;
        c = next;
    }
    *id = c;
    return 0;
}

/* The "SDK" acquisition channel that contacts created from events carry. */
static int sdk_channel(sy_db *db, int64_t now, int64_t *id, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(db, "SELECT id FROM contact_channels WHERE code = 'sdk'", &st, e);
    if (rc) return rc;
    rc = sy_stmt_step(st, e);
    *id = rc == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
    sy_stmt_done(st);
    if (rc < 0 || *id) return rc < 0 ? rc : 0;
    if ((rc = sy_db_prepare_cached(
             db,
             "INSERT INTO contact_channels(name, kind, code, created_at, updated_at) "
             "VALUES ('SDK', 'other', 'sdk', ?1, ?1)",
             &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, now);
    rc = sy_stmt_step(st, e);
    sy_stmt_done(st);
    if (rc < 0) return rc;
    *id = sy_db_last_id(db);
    return 0;
}

int sy_contacts_ident_create(sy_db *db, int64_t now, int64_t *id, sy_err *e) {
    int64_t source;
    int rc = sdk_channel(db, now, &source, e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare_cached(
             db,
             "INSERT INTO contacts(gender, source_id, status, created_at, updated_at) "
             "VALUES ('unknown', ?1, 'pending', ?2, ?2)",
             &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, source);
    sy_stmt_bind_int(st, 2, now);
    rc = sy_stmt_step(st, e);
    sy_stmt_done(st);
    if (rc < 0) return rc;
    *id = sy_db_last_id(db);
    return 0;
}

int sy_contacts_ident_attach(sy_db *db, int64_t id, const char *type, const char *value,
                             int64_t now, sy_err *e) {
    sy_stmt *st;
    int rc =
        sy_db_prepare_cached(db,
                             "INSERT INTO contact_identities(type, value, contact_id, created_at) "
                             "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(type, value) DO NOTHING",
                             &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, type);
    sy_stmt_bind_text(st, 2, value);
    sy_stmt_bind_int(st, 3, id);
    sy_stmt_bind_int(st, 4, now);
    rc = sy_stmt_step(st, e);
    sy_stmt_done(st);
    if (rc < 0) return rc;
    if (sy_db_changes(db) == 0) {
        int64_t holder;
        if ((rc = sy_contacts_ident_find(db, type, value, &holder, e))) return rc;
        if (holder != id)
            return sy_err_field(e, SY_E_CONFLICT, type,
                                "%s \"%s\" already belongs to another contact", type, value);
    }
    return 0;
}

int sy_contacts_ident_has_type(sy_db *db, int64_t id, const char *type, int *has, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(
        db, "SELECT 1 FROM contact_identities WHERE contact_id = ?1 AND type = ?2 LIMIT 1", &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    sy_stmt_bind_text(st, 2, type);
    rc = sy_stmt_step(st, e);
    *has = rc == SY_ROW;
    sy_stmt_done(st);
    return rc < 0 ? rc : 0;
}

int sy_contacts_ident_merge(sy_db *db, int64_t winner, int64_t loser, const char *reason,
                            sy_err *e) {
    sy_arena *a = sy_arena_create();
    sy_actor sys;
    sy_contacts_system_actor(&sys);
    sys.name = sys.username = sys.via = reason ? reason : "identify";
    int64_t merge_id;
    int rc = sy_contacts_merge_apply(db, a, &sys, winner, loser, &merge_id, e);
    sy_arena_destroy(a);
    return rc;
}

/* Trait names that map to contact columns (Segment's reserved traits and
 * the Chinese CRM fields), with the contact field they feed. */
static const struct {
    const char *trait, *field;
} std_traits[] = {{"name", "name"},      {"phone", "phone"},       {"email", "email"},
                  {"gender", "gender"},  {"birthday", "birthday"}, {"city", "city"},
                  {"company", "company"}};

static const char *std_field(const char *trait) {
    for (size_t i = 0; i < SY_ARRAY_LEN(std_traits); i++)
        if (strcmp(std_traits[i].trait, trait) == 0) return std_traits[i].field;
    return NULL;
}

/* Splits traits into a contact-fields body (standard + declared attributes)
 * and the rest. Values that do not validate are left out of the body. */
static int split_traits(sy_db *db, sy_arena *a, json_t *traits, json_t **body, json_t **rest,
                        sy_err *e) {
    attr_defs defs;
    int rc = sy_contacts_load_defs(db, a, &defs, e);
    if (rc) return rc;
    *body = json_object();
    *rest = json_object();
    json_t *attrs = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(traits, k, v) {
        const char *f = std_field(k);
        if (f && (json_is_string(v) || json_is_null(v))) {
            json_t *one = json_pack("{s:O}", f, v);
            contact_fields cf;
            sy_err ignored;
            if (sy_contacts_parse_fields(a, one, &defs, 0, &cf, &ignored) == 0)
                json_object_set(*body, f, v);
            json_decref(one);
            continue;
        }
        const attr_def *d = sy_contacts_find_def(&defs, k);
        if (d) {
            sy_err ignored;
            if (sy_contacts_attr_check(d, v, k, &ignored) == 0) json_object_set(attrs, k, v);
            continue;
        }
        if (strcmp(k, "address") == 0 && json_is_object(v) &&
            json_is_string(json_object_get(v, "city"))) {
            json_object_set(*body, "city", json_object_get(v, "city"));
        }
        json_object_set(*rest, k, v);
    }
    if (json_object_size(attrs)) json_object_set(*body, "attributes", attrs);
    json_decref(attrs);
    return 0;
}

int sy_contacts_ident_traits(sy_db *db, sy_arena *a, int64_t id, json_t *traits, int64_t now,
                             json_t **rest, sy_err *e) {
    json_t *body;
    *rest = NULL;
    int rc = split_traits(db, a, traits, &body, rest, e);
    if (rc) return rc;
    if (json_object_size(body)) {
        attr_defs defs;
        contact_fields f;
        if ((rc = sy_contacts_load_defs(db, a, &defs, e)) == 0 &&
            (rc = sy_contacts_parse_fields(a, body, &defs, 0, &f, e)) == 0) {
            sy_actor sys;
            sy_contacts_system_actor(&sys);
            sys.name = sys.username = sys.via = "sdk";
            rc = sy_contacts_apply(db, &sys, id, &f, "sdk", 1, now, e);
        }
    }
    json_decref(body);
    return rc;
}

static int check_one(sy_arena *a, const attr_defs *defs, json_t *traits, sy_err *e) {
    const char *k;
    json_t *v;
    json_object_foreach(traits, k, v) {
        const char *f = std_field(k);
        char *field = sy_sprintf(a, "traits.%s", k);
        if (f) {
            if (json_is_null(v)) continue;
            if (!json_is_string(v))
                return sy_err_field(e, SY_E_INVALID, field, "trait \"%s\" must be a string", k);
            json_t *one = json_pack("{s:O}", f, v);
            contact_fields cf;
            int rc = sy_contacts_parse_fields(a, one, defs, 0, &cf, e);
            json_decref(one);
            if (rc) {
                snprintf(e->field, sizeof e->field, "%s", field);
                return rc;
            }
            continue;
        }
        const attr_def *d = sy_contacts_find_def(defs, k);
        int rc;
        if (d && (rc = sy_contacts_attr_check(d, v, field, e))) return rc;
    }
    return 0;
}

int sy_contacts_check_traits(sy_contacts *c, sy_arena *a, json_t *const *traits, size_t n,
                             sy_err *errs, sy_err *e) {
    /* one read of the attribute definitions for the whole request */
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    attr_defs defs;
    rc = sy_contacts_load_defs(db, a, &defs, e);
    sy_store_read_end(c->st, db);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) {
        sy_err_clear(&errs[i]);
        if (traits[i]) check_one(a, &defs, traits[i], &errs[i]);
    }
    return 0;
}

void sy_contacts_on_merge(sy_contacts *c, sy_contacts_merge_fn fn, void *ctx) {
    if (c->n_merge_listeners >= (int)SY_ARRAY_LEN(c->merge_listeners)) return;
    c->merge_listeners[c->n_merge_listeners].fn = fn;
    c->merge_listeners[c->n_merge_listeners].ctx = ctx;
    c->n_merge_listeners++;
}

void sy_contacts_notify_merge(sy_contacts *c, int64_t winner, int64_t loser, int undo) {
    for (int i = 0; i < c->n_merge_listeners; i++)
        c->merge_listeners[i].fn(c->merge_listeners[i].ctx, winner, loser, undo);
}

void sy_contacts_merge_committed(sy_contacts *c, int64_t winner, int64_t loser) {
    sy_contacts_notify_merge(c, winner, loser, 0);
}

int sy_contacts_ident_each_merge(sy_contacts *c, sy_contacts_merge_fn fn, void *ctx, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    rc = sy_db_prepare(
        db, "SELECT winner_id, loser_id FROM contact_merges WHERE undone_at IS NULL ORDER BY id",
        &st, e);
    while (rc == 0 && (rc = sy_stmt_step(st, e)) == SY_ROW) {
        fn(ctx, sy_stmt_col_int(st, 0), sy_stmt_col_int(st, 1), 0);
        rc = 0;
    }
    sy_stmt_finalize(st);
    sy_store_read_end(c->st, db);
    return rc < 0 ? rc : 0;
}

int sy_contacts_visible(sy_contacts *c, sy_arena *a, const sy_actor *actor, int64_t id,
                        int64_t *live, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    rc = sy_contacts_resolve(db, a, actor, id, live, e);
    sy_store_read_end(c->st, db);
    return rc;
}

void sy_contacts_add_timeline_source(sy_contacts *c, sy_timeline_source fn, void *ctx) {
    if (c->n_timeline_sources >= (int)SY_ARRAY_LEN(c->timeline_sources)) return;
    c->timeline_sources[c->n_timeline_sources].fn = fn;
    c->timeline_sources[c->n_timeline_sources].ctx = ctx;
    c->n_timeline_sources++;
}

int sy_contacts_each_identity(sy_contacts *c, const char *type, sy_contacts_identity_fn fn,
                              void *ctx, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    rc = sy_db_prepare(db,
                       "SELECT i.contact_id, i.value FROM contact_identities i JOIN contacts c ON "
                       "c.id = i.contact_id "
                       "WHERE i.type = ?1 AND " SY_CONTACT_LIVE("c") " ORDER BY i.contact_id",
                       &st, e);
    if (rc == 0) {
        sy_stmt_bind_text(st, 1, type);
        while ((rc = sy_stmt_step(st, e)) == SY_ROW)
            fn(ctx, sy_stmt_col_int(st, 0), sy_stmt_col_text(st, 1));
        if (rc == SY_DONE) rc = 0;
    }
    sy_stmt_finalize(st);
    sy_store_read_end(c->st, db);
    return rc;
}

int sy_contacts_ident_value(sy_db *db, sy_arena *a, int64_t id, const char *type,
                            const char **value, sy_err *e) {
    sy_stmt *st;
    *value = NULL;
    int rc = sy_db_prepare_cached(
        db,
        "SELECT value FROM contact_identities WHERE contact_id = ?1 AND type = ?2 "
        "ORDER BY created_at LIMIT 1",
        &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    sy_stmt_bind_text(st, 2, type);
    rc = sy_stmt_step(st, e);
    if (rc == SY_ROW) *value = sy_strdup(a, sy_stmt_col_text(st, 0));
    sy_stmt_done(st);
    return rc < 0 ? rc : 0;
}

/* Staff reference check: contacts still assigned to a store or department
 * (tombstones excluded) keep it from being deleted. */
static int refs_to(void *ctx, sy_db *db, const char *kind, int64_t id, int64_t *count,
                   const char **noun, sy_err *e) {
    (void)ctx;
    *count = 0;
    *noun = "contacts";
    const char *sql =
        strcmp(kind, "store") == 0
            ? "SELECT count(*) FROM contacts WHERE store_id = ?1 AND merged_into IS NULL"
        : strcmp(kind, "department") == 0
            ? "SELECT count(*) FROM contacts WHERE department_id = ?1 AND merged_into IS NULL"
            : NULL;
    if (!sql) return 0;
    sy_stmt *st;
    int rc = sy_db_prepare(db, sql, &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    rc = sy_stmt_step(st, e);
    if (rc == SY_ROW) *count = sy_stmt_col_int(st, 0);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

void sy_contacts_guard_refs(sy_contacts *c) {
    sy_staff_add_ref_check(c->staff, refs_to, c);
}
