/* contacts_int.h — helpers shared by the contacts module's own files
 * (contacts.c rules, contacts_store.c queries, contacts_import.c CSV import,
 * contacts_api.c HTTP). Nobody outside src/contacts/ (except its unit test)
 * includes this. */
#ifndef SY_CONTACTS_INT_H
#define SY_CONTACTS_INT_H

#include <pthread.h>
#include "contacts.h"

/* A contact row is visible when it is not a merge tombstone and either was
 * not written by an import or its import has been published. The IN
 * sub-select is not correlated, so SQLite evaluates it once per query. */
#define SY_CONTACT_LIVE(a)                                                                         \
    "(" a ".merged_into IS NULL AND (" a ".pending_import IS NULL OR " a ".pending_import IN "     \
    "(SELECT id FROM contact_imports WHERE published_at IS NOT NULL)))"
/* Same, but a tombstone counts (used to resolve merged ids). */
#define SY_CONTACT_PUBLISHED(a)                                                                    \
    "(" a ".pending_import IS NULL OR " a ".pending_import IN "                                    \
    "(SELECT id FROM contact_imports WHERE published_at IS NOT NULL))"

/* Rows per write job for bulk work: keeps each job well under 100 ms. */
#define SY_CONTACTS_CHUNK 1000

struct import_job;

struct sy_contacts {
    sy_store *st;
    sy_staff *staff;
    int64_t recycle_check_ms;
    pthread_t timer;
    int timer_running;
    pthread_mutex_t lock; /* guards stopping, jobs, counters */
    pthread_cond_t cond;  /* timer wake-up and job completion */
    int stopping;
    struct import_job *jobs; /* background imports (joined on destroy) */
    /* Serialises imports and start-up recovery, so two imports never stage
     * the same identity at once. */
    pthread_mutex_t import_lock;
    int recovered; /* start-up import recovery finished (imports wait for it) */
    /* counters for /metrics */
    int64_t n_exports, n_unmasks, n_merges, n_recycled, n_import_rows;
    /* merge listeners (contacts_ident.c): set before serving, read after */
    struct {
        void (*fn)(void *ctx, int64_t winner, int64_t loser, int undo);
        void *ctx;
    } merge_listeners[4];
    int n_merge_listeners;
    /* timeline sources (contacts_ident.c): set before serving, read after */
    struct {
        sy_timeline_source fn;
        void *ctx;
    } timeline_sources[4];
    int n_timeline_sources;
    /* The set of all live contacts, kept between segment evaluations
     * (contacts_select.c) and reused while its fingerprint — highest
     * contact id, merges and undos, published imports — is unchanged:
     * contacts are never deleted, so nothing else changes who is live. */
    pthread_mutex_t live_lock;
    struct sy_idset *live;
    int64_t live_fp[4];
    /* Per-contact facts for analytics (contacts_facts.c): one shared,
     * reference-counted snapshot, reread when older than a few seconds. */
    pthread_mutex_t facts_lock;
    struct sy_contact_facts *facts;
    int64_t facts_at; /* sy_mono_ms of the read */
};

/* Tells the merge listeners (the event index) about a committed merge or
 * undo. Call after the write job committed. */
void sy_contacts_notify_merge(sy_contacts *c, int64_t winner, int64_t loser, int undo);
/* Registers the staff reference check (stores/departments in use). */
void sy_contacts_guard_refs(sy_contacts *c);

/* Follow-up statuses: API key and the Chinese label. */
typedef struct sy_contact_status {
    const char *key;
    const char *label;
} sy_contact_status;
extern const sy_contact_status sy_contact_statuses[];          /* {NULL,NULL}-terminated */
int sy_contacts_status_parse(const char *s, const char **key); /* key or label */
const char *sy_contacts_status_label(const char *key);
int sy_contacts_gender_parse(const char *s, const char **key); /* male/female/unknown, 男/女 … */
extern const char *const sy_identity_types[];                  /* NULL-terminated */
int sy_contacts_identity_type_valid(const char *t);
extern const char *const sy_consent_channels[]; /* wecom, sms, email, phone */
extern const char *const sy_consent_sources[];  /* import, form, sdk, staff */
int sy_contacts_in_list(const char *const *list, const char *s);
/* Normalises an identity value (phone → E.164, email → lowercase, others
 * trimmed, ≤ 256 bytes). out is arena memory. */
int sy_contacts_identity_normalize(sy_arena *a, const char *type, const char *value, char **out,
                                   sy_err *e);
/* Parses a date "YYYY-MM-DD", "YYYY/M/D", "YYYY.M.D" or "YYYY年M月D日" into
 * "YYYY-MM-DD" (out >= 11 bytes). */
int sy_contacts_date_parse(const char *s, char *out, size_t n);

/* --- custom attribute definitions --- */
typedef struct attr_def {
    char *key, *label, *type;
    json_t *options; /* array for enum, else NULL (owned by the set's arena cleanup) */
} attr_def;
typedef struct attr_defs {
    attr_def *v;
    size_t n;
} attr_defs;
int sy_contacts_load_defs(sy_db *db, sy_arena *a, attr_defs *out, sy_err *e);
const attr_def *sy_contacts_find_def(const attr_defs *d, const char *key);
/* Validates one value for def (JSON null removes). field names the input. */
int sy_contacts_attr_check(const attr_def *d, json_t *v, const char *field, sy_err *e);

/* --- contact field sets (create, update, import) --- */
enum {
    F_NAME = 1 << 0,
    F_PHONE = 1 << 1,
    F_EMAIL = 1 << 2,
    F_GENDER = 1 << 3,
    F_BIRTHDAY = 1 << 4,
    F_CITY = 1 << 5,
    F_COMPANY = 1 << 6,
    F_SOURCE = 1 << 7,
    F_OWNER = 1 << 8,
    F_STORE = 1 << 9,
    F_STATUS = 1 << 10,
    F_ATTRS = 1 << 11,
};
typedef struct contact_ident {
    const char *type, *value;
} contact_ident;
typedef struct contact_consent {
    const char *channel, *status, *source, *purpose;
    int64_t at;
} contact_consent;
typedef struct contact_fields {
    unsigned set; /* F_* bits present in the input */
    const char *name, *phone, *email, *gender, *birthday, *city, *company, *status;
    int64_t source_id, owner_id, store_id; /* 0 = clear */
    int64_t department_id;                 /* resolved from owner by the caller */
    json_t *attrs;                         /* borrowed object: key → value (null = remove) */
    contact_ident *idents;                 /* extra identities (create/import only) */
    size_t n_idents;
    contact_consent *consent;
    size_t n_consent;
    const char *note; /* first follow-up note (create only) */
} contact_fields;

/* Parses and validates a contact body (create when creating, else patch):
 * strict keys, types, phone/email/gender/birthday/status, attributes against
 * defs. Does not check that owner/store/source exist (see
 * sy_contacts_check_refs). Strings live in a (or in obj). */
int sy_contacts_parse_fields(sy_arena *a, json_t *obj, const attr_defs *defs, int creating,
                             contact_fields *f, sy_err *e);
/* Checks owner (resolving department), store and source exist. */
int sy_contacts_check_refs(sy_contacts *c, sy_db *db, contact_fields *f, sy_err *e);

/* --- scope and visibility SQL --- */
/* SQL boolean for "actor may see contact alias" (integers are inlined:
 * they are formatted int64, never user text). actor NULL = the system. */
char *sy_contacts_scope_sql(sy_arena *a, const sy_actor *actor, const char *alias);
/* Pool visibility: unowned, and for store scope the actor's store or none. */
char *sy_contacts_pool_sql(sy_arena *a, const sy_actor *actor, const char *alias);
/* Resolves a possibly merged id to its live winner, then checks the actor's
 * scope on it. SY_E_NOT_FOUND when missing or outside scope. */
int sy_contacts_resolve(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t id, int64_t *live,
                        sy_err *e);
/* Same as resolve, also accepting a pool contact (claim). */
int sy_contacts_resolve_pool(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t id,
                             int64_t *live, sy_err *e);

/* --- store operations (contacts_store.c). All take the actor for scope and
 * audit; "db" is a write connection inside a job unless noted. --- */
int sy_contacts_insert(sy_db *db, const sy_actor *actor, const contact_fields *f,
                       int64_t pending_import, int64_t now, int64_t *id, sy_err *e);
/* Applies f to contact id, recording a `change` timeline item. on_conflict_skip:
 * a phone/email already used elsewhere leaves that field alone instead of
 * failing. */
int sy_contacts_apply(sy_db *db, const sy_actor *actor, int64_t id, const contact_fields *f,
                      const char *via, int on_conflict_skip, int64_t now, sy_err *e);
int sy_contacts_add_identity(sy_db *db, int64_t id, const char *type, const char *value,
                             int64_t now, sy_err *e);
int sy_contacts_timeline_add(sy_db *db, int64_t contact_id, const char *kind, int64_t by,
                             json_t *data, int64_t now, sy_err *e);
int sy_contacts_set_consent(sy_db *db, int64_t id, const contact_consent *cs, sy_err *e);
/* Reads: JSON for one contact (full: identities, followers, consent). */
int sy_contacts_get_json(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t id, int full,
                         json_t **out, sy_err *e);

/* List filter (also used by export). Reserved for later issues: tag_ids and
 * segment_id (parsed and rejected until those modules exist). */
typedef struct contact_filter {
    const char *q;
    int64_t owner_id, store_id, department_id, source_id;
    int unowned; /* owner_id=none */
    const char *status;
    int64_t created_from, created_to;
    int has_from, has_to;
    const char *sort; /* created_at, updated_at, name */
    int desc;
    int pool; /* lead pool view */
} contact_filter;
int sy_contacts_list(sy_db *db, sy_arena *a, const sy_actor *actor, const contact_filter *f,
                     size_t limit, const char *cursor, json_t **out, sy_err *e);
/* Writes the filtered contacts as CSV rows into out (header first). */
int sy_contacts_export_rows(sy_db *db, sy_arena *a, const sy_actor *actor, const contact_filter *f,
                            int unmask, sy_buf *out, size_t *rows, sy_err *e);
/* Cursor encoding (exposed for unit tests). */
char *sy_contacts_cursor_encode(sy_arena *a, const char *sort, int desc, int64_t id,
                                const char *value);
int sy_contacts_cursor_decode(sy_arena *a, const char *cur, const char *sort, int desc, int64_t *id,
                              const char **value, sy_err *e);

/* Merge: builds the plan (preview) on any connection; applies it in a job. */
int sy_contacts_merge_plan(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t winner,
                           int64_t loser, json_t **plan, sy_err *e);
int sy_contacts_merge_apply(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t winner,
                            int64_t loser, int64_t *merge_id, sy_err *e);
int sy_contacts_merge_undo(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t merge_id,
                           sy_err *e);

/* Settings. */
typedef struct pool_settings {
    int recycle_enabled;
    int64_t recycle_days;
    int64_t claim_limit;
} pool_settings;
int sy_contacts_pool_settings(sy_db *db, pool_settings *out, sy_err *e);
/* Recycles one chunk; *n gets the count (0 when nothing is left). */
int sy_contacts_recycle_chunk(sy_db *db, int64_t now, int64_t days, size_t *n, sy_err *e);
/* Runs recycling to completion in chunks, audited. Does nothing while
 * recycling is disabled unless force is set (the manual "run now"). */
int sy_contacts_recycle_run(sy_contacts *c, const sy_actor *actor, int force, size_t *n, sy_err *e);
int sy_contacts_handover(sy_contacts *c, const sy_actor *actor, int64_t from, int64_t to, size_t *n,
                         sy_err *e);

/* Imports (contacts_import.c). */
void sy_contacts_import_recover(sy_contacts *c);
void sy_contacts_import_join_all(sy_contacts *c);
/* Blocks until start-up recovery has run (or the module is stopping). */
void sy_contacts_wait_recovered(sy_contacts *c);
int sy_contacts_import_http(sy_req *r, sy_contacts *c, int preview);
int sy_contacts_import_get(sy_contacts *c, const sy_actor *actor, int64_t id, json_t **out,
                           sy_err *e);
int sy_contacts_import_list(sy_contacts *c, const sy_actor *actor, json_t **out, sy_err *e);
int sy_contacts_import_errors_csv(sy_contacts *c, const sy_actor *actor, int64_t id, sy_buf *out,
                                  sy_err *e);
json_t *sy_contacts_consent_json(sy_db *db, int64_t id, sy_err *e);

void sy_contacts_metrics_register(sy_contacts *c, sy_http *h);

/* Small JSON helpers. */
json_t *sy_contacts_jstr(const char *s); /* NULL → json null */
json_t *sy_contacts_jid(int64_t v);      /* 0 → json null */
/* Copies an actor into arena memory (for background threads). */
sy_actor *sy_contacts_actor_copy(sy_arena *a, const sy_actor *src);
/* The system actor used by the CLI (scope all, every permission). */
void sy_contacts_system_actor(sy_actor *out);
/* Display form of a phone for this actor. */
const char *sy_contacts_phone_out(sy_arena *a, const sy_actor *actor, const char *e164);

#endif
