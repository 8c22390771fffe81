/* contacts.h — the lead library (总金库): contacts, identities, custom
 * attributes, staff relations (owner + followers), consent, follow-up records,
 * timeline, the lead pool (公海) with recycling, departure handover, merge and
 * unmerge, CSV import and export.
 *
 * Every read and write is filtered by the caller's data scope inside the
 * store queries (see sy_actor in staff.h), so no route can reach a contact
 * outside it. The module owns its tables and HTTP routes. */
#ifndef SY_CONTACTS_H
#define SY_CONTACTS_H

#include <stdint.h>
#include <stddef.h>
#include "base/base.h"
#include "store/store.h"
#include "http/http.h"
#include "staff/staff.h"

typedef struct sy_contacts sy_contacts;

/* Creates the module. Starts the lead-recycling timer (checked every
 * recycle_check_ms; 0 → 60 s). Caller owns *out. */
int sy_contacts_create(sy_store *st, sy_staff *staff, int64_t recycle_check_ms, sy_contacts **out,
                       sy_err *e);
void sy_contacts_destroy(sy_contacts *c); /* NULL ok; stops the timer */
void sy_contacts_register(sy_contacts *c, sy_http *h);

/* Follows merge tombstones: *out is the live contact that id was merged
 * into (id itself when it was never merged). Ignores data scopes (for
 * modules that map stored ids, such as events). SY_E_NOT_FOUND when id does
 * not exist or belongs to an unpublished import. Any thread. */
int sy_contacts_canonical_id(sy_contacts *c, int64_t id, int64_t *out, sy_err *e);

/* Phone normalisation (china-data.md §4.2): strips spaces, dashes,
 * parentheses, full-width digits; strips +86/0086/86 when 13 digits result;
 * mainland mobiles must match ^1[3-9]\d{9}$ and become "+86XXXXXXXXXXX";
 * other numbers must be "+" followed by 8–15 digits (E.164). Writes the
 * E.164 form into out (>= 20 bytes). Errors: SY_E_INVALID with the value quoted. */
int sy_phone_normalize(const char *in, char *out, size_t n, sy_err *e);
/* Masks an E.164 phone for display: "+8613812345678" → "138****5678". */
void sy_phone_mask(const char *e164, char *out, size_t n);
/* Light email check: one @, non-empty local part, a dot in the domain, no spaces. */
int sy_email_valid(const char *s);

/* Demo data: n contacts (with identities, owners among demo staff, stores,
 * follow-up states, followers, notes, consent, channels), deterministic for
 * seed, committed in chunks. */
int sy_contacts_demo_seed(sy_contacts *c, const sy_staff_demo *staff, uint64_t seed, size_t n,
                          sy_err *e);

/* CLI import/export (siyu import / siyu export) on a stopped or running
 * workspace, acting as the system (scope all, audited as "cli"). */
int sy_contacts_import_file(sy_contacts *c, const char *path, const char *encoding, int strict,
                            const char *dedupe, sy_buf *report, sy_err *e);
int sy_contacts_export_file(sy_contacts *c, const char *path, int unmask, size_t *rows, sy_err *e);

/* --- identity resolution for the events module (contacts_ident.c) ---
 * These run inside the caller's write job on the writer connection (db) and
 * act as the system; the events module resolves every message through them. */

/* Normalises an identity value (phone → E.164, email → lowercase …) into
 * arena memory. Errors: SY_E_INVALID naming the value. */
int sy_contacts_identity_norm(sy_arena *a, const char *type, const char *value, char **out,
                              sy_err *e);
/* Live contact holding identity (type, value), following merges; *id = 0
 * when none. */
int sy_contacts_ident_find(sy_db *db, const char *type, const char *value, int64_t *id, sy_err *e);
/* Creates an empty contact with source channel "SDK". */
int sy_contacts_ident_create(sy_db *db, int64_t now, int64_t *id, sy_err *e);
/* Links identity to contact id; SY_E_CONFLICT when another contact holds it. */
int sy_contacts_ident_attach(sy_db *db, int64_t id, const char *type, const char *value,
                             int64_t now, sy_err *e);
/* *has = 1 when contact id has an identity of type. */
int sy_contacts_ident_has_type(sy_db *db, int64_t id, const char *type, int *has, sy_err *e);
/* First value (by creation) of an identity type on contact id, in arena
 * memory; *value = NULL when it has none. */
int sy_contacts_ident_value(sy_db *db, sy_arena *a, int64_t id, const char *type,
                            const char **value, sy_err *e);
/* Merges loser into winner as the system (recorded, reversible by an admin). */
int sy_contacts_ident_merge(sy_db *db, int64_t winner, int64_t loser, const char *reason,
                            sy_err *e);
/* Applies identify traits: standard ones (name, phone, email, gender,
 * birthday, city, company) to the contact's columns, declared custom
 * attributes to its attributes; *rest gets a new object of every other
 * trait (caller decrefs). Invalid values are skipped (sy_contacts_check_traits
 * rejects them before a request is accepted). */
int sy_contacts_ident_traits(sy_db *db, sy_arena *a, int64_t id, json_t *traits, int64_t now,
                             json_t **rest, sy_err *e);
/* Validates the traits of n messages before ingestion (phone and email
 * formats, declared custom attribute types) with one read of the attribute
 * definitions: errs[i] gets the first problem of traits[i] (code 0 when
 * valid; NULL entries are skipped). Any thread. Returns 0, or SY_E_IO when
 * the definitions cannot be read. */
int sy_contacts_check_traits(sy_contacts *c, sy_arena *a, json_t *const *traits, size_t n,
                             sy_err *errs, sy_err *e);

/* Merge listeners: fn(ctx, winner, loser, undo) after every committed merge
 * or undo (staff merges, identify merges). Register before serving. */
typedef void (*sy_contacts_merge_fn)(void *ctx, int64_t winner, int64_t loser, int undo);
void sy_contacts_on_merge(sy_contacts *c, sy_contacts_merge_fn fn, void *ctx);
/* Tells the merge listeners about merges a caller committed through
 * sy_contacts_ident_merge (call after the commit). */
void sy_contacts_merge_committed(sy_contacts *c, int64_t winner, int64_t loser);
/* Calls fn for every merge in force, oldest first (start-up replay). */
int sy_contacts_ident_each_merge(sy_contacts *c, sy_contacts_merge_fn fn, void *ctx, sy_err *e);
/* Resolves a contact id (following merges) and checks the actor's scope.
 * SY_E_NOT_FOUND when missing or outside it. Any thread. */
int sy_contacts_visible(sy_contacts *c, sy_arena *a, const sy_actor *actor, int64_t id,
                        int64_t *live, sy_err *e);

/* Timeline sources: other modules add items (events, messages) to the one
 * contact timeline. fn appends up to limit items with at < before (ms;
 * INT64_MAX for the newest) to the JSON array items, newest first; items
 * have at least {"kind","at"}. actor is the viewer (the contact is already
 * known to be in scope): sources mask what the viewer may not see, such as
 * phone numbers without contacts.phone. */
typedef int (*sy_timeline_source)(void *ctx, sy_arena *a, const sy_actor *actor, int64_t contact_id,
                                  int64_t before, size_t limit, json_t *items, sy_err *e);
void sy_contacts_add_timeline_source(sy_contacts *c, sy_timeline_source fn, void *ctx);

/* Calls fn for every live contact holding an identity of type, in id
 * order (demo behaviour generation, exports). Any thread. */
typedef void (*sy_contacts_identity_fn)(void *ctx, int64_t contact_id, const char *value);
int sy_contacts_each_identity(sy_contacts *c, const char *type, sy_contacts_identity_fn fn,
                              void *ctx, sy_err *e);

/* --- selections for segments (contacts_select.c) ---
 * Sets of live contact ids (merge tombstones and unpublished imports
 * excluded) matching one condition, for the segments compiler. Any thread;
 * each call reads one snapshot. Caller destroys *out. */
typedef struct sy_idset sy_idset; /* engine/engine.h */
/* Every live contact (the universe "not" subtracts from). */
int sy_contacts_select_all(sy_contacts *c, sy_idset **out, sy_err *e);
/* Every live contact the actor may see (its data scope). */
int sy_contacts_select_scope(sy_contacts *c, const sy_actor *actor, sy_idset **out, sy_err *e);
/* Checks an attribute condition: key is a standard attribute (city, gender,
 * status, source_id, company, name, birthday, created_at) or a declared custom
 * attribute; op one of = != < > in contains is_set not_set within_last_days,
 * allowed for the attribute's type; value of the matching JSON type (absent
 * for is_set / not_set). Errors: SY_E_INVALID with e->field "attribute",
 * "op" or "value" (relative to the condition). */
int sy_contacts_attr_cond_check(sy_contacts *c, const char *key, const char *op, json_t *value,
                                sy_err *e);
/* Contacts matching a checked attribute condition as of as_of (UTC ms;
 * within_last_days counts back from it). "!=" and the comparisons match
 * only contacts where the attribute is set. */
int sy_contacts_select_attr(sy_contacts *c, const char *key, const char *op, json_t *value,
                            int64_t as_of, sy_idset **out, sy_err *e);
/* 1 when type names an identity type (phone, email, wecom_external_userid …). */
int sy_contacts_identity_type_known(const char *type);
/* Contacts holding at least one identity of type. */
int sy_contacts_select_identity(sy_contacts *c, const char *type, sy_idset **out, sy_err *e);
/* Contacts whose owner_id, store_id or department_id (field = "owner",
 * "store" or "department") equals id. */
int sy_contacts_select_ref(sy_contacts *c, const char *field, int64_t id, sy_idset **out,
                           sy_err *e);
/* Display rows for ids (in that order; ids no longer live are skipped),
 * appended to the JSON array items as {id, name, phone (masked unless the
 * actor may see phones), city, status, owner_id, store_id, created_at}. */
int sy_contacts_select_rows(sy_contacts *c, const sy_actor *actor, const uint32_t *ids, size_t n,
                            json_t *items, sy_err *e);

/* --- per-contact facts for analytics (contacts_facts.c) --- */
/* A read-only snapshot of every live contact's grouping facts, indexed by
 * internal id (ids < n). created_at is 0 for ids that are not live contacts
 * (never created, merged away, unpublished import); other fields are 0 when
 * unset. The snapshot is at most SY_CONTACT_FACTS_MAX_AGE_MS old. */
#define SY_CONTACT_FACTS_MAX_AGE_MS 5000
typedef struct sy_contact_facts {
    uint32_t n;
    int64_t *created_at;
    int32_t *owner, *store, *department, *source;
    /* acquisition channels: id, name and kind ("referral", "ads", …) */
    size_t n_channels;
    struct {
        int32_t id;
        char name[64];
        char kind[16];
    } * channels;
    int refs; /* owned by contacts_facts.c */
} sy_contact_facts;
/* Borrows the current snapshot (rereading it when stale). Release it with
 * sy_contacts_facts_release. Any thread. Errors: SY_E_NOMEM, SY_E_IO. */
int sy_contacts_facts(sy_contacts *c, sy_contact_facts **out, sy_err *e);
void sy_contacts_facts_release(sy_contact_facts *f); /* NULL ok */

#endif
