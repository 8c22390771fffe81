/* staff.h — staff, departments, stores, roles, data scopes, sessions, API
 * tokens, write keys, workspace settings and the audit log.
 *
 * The staff module owns these tables and their HTTP routes. Other modules
 * learn who is calling through sy_actor (filled by this module's
 * authenticator, see sy_staff_authenticate) and record audit entries through
 * sy_audit_record inside their own write jobs. They never read the staff
 * tables directly. */
#ifndef SY_STAFF_H
#define SY_STAFF_H

#include <stdint.h>
#include <stddef.h>
#include "base/base.h"
#include "store/store.h"
#include "http/http.h"

/* Feature permissions held by a role. A route lists the bits it needs in
 * sy_route.perm; the API names (for roles JSON) are in sy_perm_names. */
enum {
    SY_PERM_CONTACTS_READ = 1u << 0,  /* "contacts.read": list, view, timeline */
    SY_PERM_CONTACTS_WRITE = 1u << 1, /* "contacts.write": create, edit, follow-ups, claim/return */
    SY_PERM_CONTACTS_MERGE = 1u << 2, /* "contacts.merge": merge / unmerge */
    SY_PERM_CONTACTS_IMPORT = 1u << 3, /* "contacts.import" */
    SY_PERM_CONTACTS_EXPORT = 1u << 4, /* "contacts.export" */
    SY_PERM_PHONE_UNMASK = 1u << 5,    /* "contacts.phone": see full phone numbers */
    SY_PERM_POOL_MANAGE = 1u << 6,  /* "pool.manage": recycling rules, assign from pool, handover */
    SY_PERM_STAFF_MANAGE = 1u << 7, /* "staff.manage": staff, departments, stores */
    SY_PERM_ROLES_MANAGE = 1u << 8, /* "roles.manage" */
    SY_PERM_SETTINGS_MANAGE =
        1u << 9, /* "settings.manage": workspace, channels, attributes, tokens, write keys */
    SY_PERM_AUDIT_READ = 1u << 10, /* "audit.read" */
    SY_PERM_ALL = (1u << 11) - 1,
};
typedef struct sy_perm_name {
    uint64_t bit;
    const char *name;
} sy_perm_name;
extern const sy_perm_name sy_perm_names[]; /* terminated by {0, NULL} */

/* Data scopes: which contacts a person sees and changes. */
enum {
    SY_SCOPE_OWN = 0,   /* contacts they own or follow */
    SY_SCOPE_DEPT = 1,  /* contacts owned or followed by anyone in their department */
    SY_SCOPE_STORE = 2, /* contacts of their store */
    SY_SCOPE_ALL = 3,
};

/* The authenticated caller. Lives in the request arena. */
typedef struct sy_actor {
    int64_t staff_id; /* 0 for a write key */
    const char *name; /* display name */
    const char *username;
    int64_t role_id;
    uint64_t perms;        /* SY_PERM_* bits */
    int scope;             /* SY_SCOPE_* */
    int64_t department_id; /* 0 = none */
    int64_t store_id;      /* 0 = none */
    /* For SY_SCOPE_DEPT: ids of every staff member of department_id
     * (including this one); resolved at authentication. */
    const int64_t *dept_staff;
    size_t n_dept_staff;
    int64_t write_key_id; /* set when authenticated by a write key */
    const char *via;      /* "session", "token" or "write_key" */
    const char *ip;       /* remote address, for the audit log */
} sy_actor;

/* The actor of an authenticated request (NULL when anonymous). */
static inline const sy_actor *sy_req_actor(const sy_req *r) {
    return (const sy_actor *)r->auth.actor;
}

typedef struct sy_staff sy_staff;

/* Creates the module on an open store. Caller owns *out. */
int sy_staff_create(sy_store *st, sy_staff **out, sy_err *e);
void sy_staff_destroy(sy_staff *s); /* NULL ok */
/* Registers the staff routes and installs the authenticator on h. */
void sy_staff_register(sy_staff *s, sy_http *h);

/* Appends one audit entry inside the caller's write job: who (actor may be
 * NULL for the system), action ("contacts.merge"), target ("contact:42") and
 * a JSON detail (borrowed, may be NULL). */
int sy_audit_record(sy_db *db, const sy_actor *actor, const char *action, const char *target,
                    json_t *detail, sy_err *e);

/* Looks up an active staff member's id by exact display name or username
 * (used by CSV import's 负责人 column). SY_E_NOT_FOUND when none. */
int sy_staff_find_by_name(sy_staff *s, const char *name, int64_t *id, sy_err *e);
/* Fills department and store of a staff member; SY_E_NOT_FOUND when unknown
 * or deactivated. Either out pointer may be NULL. */
int sy_staff_lookup(sy_staff *s, int64_t staff_id, int64_t *department_id, int64_t *store_id,
                    sy_err *e);
/* SY_E_NOT_FOUND unless store_id names a store. */
int sy_staff_store_exists(sy_staff *s, int64_t store_id, sy_err *e);
/* SY_E_NOT_FOUND unless department_id names a department. */
int sy_staff_department_exists(sy_staff *s, int64_t department_id, sy_err *e);
/* Looks up a store id by exact name or code; SY_E_NOT_FOUND when none. */
int sy_staff_find_store(sy_staff *s, const char *name, int64_t *id, sy_err *e);
/* Display names by id for kind "staff", "department" or "store": a new
 * JSON object {"<id>": "<name>"} (caller decrefs). Errors: SY_E_INVALID
 * (unknown kind), SY_E_IO. */
int sy_staff_names(sy_staff *s, const char *kind, json_t **out, sy_err *e);
/* Workspace timezone (IANA name) copied into out. */
void sy_staff_timezone(sy_staff *s, char *out, size_t n);

/* Demo workspace: creates admin (random password returned once), 3
 * departments, 6 stores in two cities, 20 staff across the built-in roles
 * (passwords "demo-<username>"), an admin API token and a write key
 * (returned), all deterministic for seed except the admin secrets. */
typedef struct sy_staff_demo_member {
    int64_t id;
    char username[32];
    char name[32];
    char password[32]; /* demo staff get known passwords so tests can log in */
    char role[32];     /* built-in role key: admin, operations, sales, store_manager, group_owner */
    int64_t department_id;
    int64_t store_id; /* 0 = none */
} sy_staff_demo_member;
typedef struct sy_staff_demo {
    char admin_username[64];
    char admin_password[64];
    char api_token[96];
    char write_key[96];
    sy_staff_demo_member staff[32]; /* the 20 staff (admin not included) */
    size_t n_staff;
    int64_t store_ids[8];
    size_t n_stores;
    int64_t department_ids[4];
    size_t n_departments;
} sy_staff_demo;
int sy_staff_demo_seed(sy_staff *s, uint64_t seed, sy_staff_demo *out, sy_err *e);

/* Creates an active staff member with the built-in admin role (for a fresh
 * workspace without demo data, and for tests). Hashes password (argon2id,
 * ~0.1 s) before taking the writer. Errors: SY_E_INVALID (bad username or
 * password, field named), SY_E_CONFLICT (username taken), SY_E_IO. */
int sy_staff_create_admin(sy_staff *s, const char *username, const char *password, int64_t *id,
                          sy_err *e);
/* Number of staff accounts (active or not); 0 on a fresh workspace. */
int sy_staff_count(sy_staff *s, int64_t *n, sy_err *e);

/* Checks a write key (as sent in a Segment body's "writeKey"): *id gets its
 * id. Errors: SY_E_UNAUTHENTICATED when unknown or revoked, SY_E_IO. */
int sy_staff_check_write_key(sy_staff *s, sy_arena *a, const char *key, int64_t *id, sy_err *e);

/* Reference checks: before a store or department is deleted (inside the
 * delete's write job, on db), each registered fn counts what still refers
 * to it (kind is "store" or "department"); any count > 0 refuses the delete
 * with 409 naming it (noun, e.g. "contacts"). */
typedef int (*sy_staff_ref_check)(void *ctx, sy_db *db, const char *kind, int64_t id,
                                  int64_t *count, const char **noun, sy_err *e);
void sy_staff_add_ref_check(sy_staff *s, sy_staff_ref_check fn, void *ctx);

#endif
