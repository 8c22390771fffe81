/* staff_int.h — what the staff module's own files (and its unit test) share.
 *
 * Nobody outside src/staff/ includes this header except tests/unit/test_staff.c,
 * which exercises the pieces below directly: password hashing, permission
 * names, the login rate limiter, the CSRF comparison and the authenticator
 * core (which takes plain strings instead of an sy_req, so that it can be
 * driven without an HTTP server). */
#ifndef SY_STAFF_INT_H
#define SY_STAFF_INT_H

#include <pthread.h>
#include <sodium.h>
#include "staff/staff.h"

#define SY_SESSION_COOKIE "siyu_session"
#define SY_TOKEN_PREFIX "syt_"     /* API tokens: "syt_" + 48 hex */
#define SY_WRITE_KEY_PREFIX "swk_" /* write keys: "swk_" + 32 hex */

/* Default session lifetimes: a session dies after 12 h without a request and
 * in any case 7 days after login. SIYU_SESSION_IDLE_SECONDS overrides the idle
 * time (the e2e tests use it to watch a session expire). */
#define SY_SESSION_IDLE_MS (12LL * 3600 * 1000)
#define SY_SESSION_MAX_MS (7LL * 24 * 3600 * 1000)
/* last_seen_at / last_used_at are refreshed at most this often, so that an
 * authenticated request costs a write job only once a minute per session. */
#define SY_TOUCH_EVERY_MS (60LL * 1000)

/* ---- login rate limiter ---------------------------------------------------
 * Counts failed logins per key (user name + remote address) in a sliding
 * window. A fixed table: when it is full, the key idle the longest is
 * forgotten, so memory stays bounded whatever an attacker sends. Thread-safe. */
enum { SY_RL_SLOTS = 512, SY_RL_CAP = 16 };
typedef struct sy_rl_slot {
    char key[192];            /* "" = free */
    int64_t fails[SY_RL_CAP]; /* failure times (ms), oldest first */
    int n;                    /* entries used in fails */
    int64_t last;             /* last failure, for eviction */
} sy_rl_slot;
typedef struct sy_ratelimit {
    pthread_mutex_t mu;
    int max_failures; /* failures allowed inside the window (<= SY_RL_CAP) */
    int64_t window_ms;
    sy_rl_slot slots[SY_RL_SLOTS];
} sy_ratelimit;

void sy_ratelimit_init(sy_ratelimit *rl, int max_failures, int64_t window_ms);
void sy_ratelimit_release(sy_ratelimit *rl);
/* 0 when key may try again at time now (ms), else how many ms it must wait. */
int64_t sy_ratelimit_check(sy_ratelimit *rl, const char *key, int64_t now);
/* Records one failure of key at now. */
void sy_ratelimit_fail(sy_ratelimit *rl, const char *key, int64_t now);
/* Forgets key's failures (after a successful login). */
void sy_ratelimit_reset(sy_ratelimit *rl, const char *key);

/* ---- the module ---------------------------------------------------------- */
struct sy_staff {
    sy_store *st;
    int64_t idle_ms;    /* session idle lifetime */
    int64_t max_age_ms; /* session absolute lifetime */
    sy_ratelimit rl;    /* failed logins per user name + address */
    pthread_mutex_t mu; /* guards tz and dummy_hash */
    char tz[64];        /* cached workspace timezone (settings.timezone) */
    /* A hash verified when the user name is unknown, so that the answer
     * takes as long as for a known one (no user-name probing by timing). */
    char dummy_hash[crypto_pwhash_STRBYTES];
    /* counters for /metrics (atomic builtins) */
    uint64_t logins_ok, logins_failed, logins_limited;
    /* other modules' reference checks, consulted before a store or a
     * department is deleted (set before serving, read after) */
    struct {
        sy_staff_ref_check fn;
        void *ctx;
    } ref_checks[4];
    int n_ref_checks;
};

/* ---- passwords ---- */
/* Password policy: 8..128 bytes. SY_E_INVALID naming field "password". */
int sy_staff_password_policy(const char *pw, sy_err *e);
/* argon2id hash of pw into out. fast = cheap parameters, used only for the
 * demo staff whose passwords are public anyway. Errors: SY_E_NOMEM. */
int sy_staff_password_hash(const char *pw, int fast, char out[crypto_pwhash_STRBYTES], sy_err *e);
/* 1 when pw matches hash (constant time inside libsodium), else 0. */
int sy_staff_password_verify(const char *hash, const char *pw);

/* Username rule: 2..32 of [A-Za-z0-9._-]. 1 when valid. */
int sy_staff_username_valid(const char *u);

/* ---- permissions and scopes ---- */
/* Bit of a permission name; SY_E_NOT_FOUND when unknown. */
int sy_perm_bit(const char *name, uint64_t *bit);
/* Parses a JSON array of permission names ("perms" field) into bits.
 * Errors: SY_E_INVALID naming "perms" or "perms[i]". */
int sy_perm_from_json(json_t *arr, uint64_t *bits, sy_err *e);
/* New JSON array of the names of bits (in sy_perm_names order). */
json_t *sy_perm_to_json(uint64_t bits);
/* "own", "department", "store", "all". */
const char *sy_scope_name(int scope);
/* SY_E_INVALID when s is not a scope name. */
int sy_scope_parse(const char *s, int *scope);

/* ---- secrets ---- */
/* BLAKE2b-256 of a random secret (session token, API token, write key) as
 * 64 hex chars. Secrets are 128+ random bits, so a fast hash suffices: a
 * stolen database does not reveal usable credentials. */
void sy_staff_secret_hash(const char *secret, char out[65]);
/* 1 when got equals expected (constant time over the length), else 0. NULLs → 0. */
int sy_staff_csrf_ok(const char *expected, const char *got);
/* New API token / write key (random) into out (>= 64 bytes). */
void sy_staff_new_token(char *out, size_t n);
void sy_staff_new_write_key(char *out, size_t n);

/* ---- store helpers (staff_store.c); db is a read or write connection ---- */
/* Fills *out with staff_id's rights, strings copied into a. Errors:
 * SY_E_NOT_FOUND (unknown), SY_E_UNAUTHENTICATED (deactivated). */
int sy_staff_load_actor(sy_db *db, sy_arena *a, int64_t staff_id, sy_actor *out, sy_err *e);
/* Inside a write job: new session for staff_id; token (65) and csrf (33) out. */
int sy_staff_session_insert(sy_db *db, int64_t staff_id, int64_t now, int64_t idle_ms,
                            const char *ip, char token[65], char csrf[33], sy_err *e);
/* Inside a write job: stores an API token (plain text given, hash kept). */
int sy_staff_token_insert(sy_db *db, int64_t staff_id, const char *name, const char *token,
                          int64_t *id, sy_err *e);
int sy_staff_write_key_insert(sy_db *db, const char *name, const char *key, int64_t *id, sy_err *e);
/* Inside a write job: inserts a staff member (password already hashed),
 * resolving the role by key. Errors: SY_E_CONFLICT (username taken). */
int sy_staff_insert(sy_db *db, const char *username, const char *name, const char *hash,
                    const char *role_key, int64_t role_id, int64_t department_id, int64_t store_id,
                    int64_t *id, sy_err *e);

/* ---- authenticator core ---- */
typedef struct sy_auth_input {
    const char *method;        /* "GET", "POST", … */
    const char *cookie;        /* value of the siyu_session cookie or NULL */
    const char *authorization; /* Authorization header or NULL */
    const char *csrf;          /* X-CSRF-Token header or NULL */
    const char *ip;            /* remote address */
} sy_auth_input;
/* Turns credentials into *out (actor in arena a) for a route requiring
 * `required`. See staff.c for the rules. Errors: SY_E_UNAUTHENTICATED,
 * SY_E_CSRF, SY_E_FORBIDDEN (a write key on a staff route), SY_E_IO. */
int sy_staff_auth(sy_staff *s, sy_arena *a, const sy_auth_input *in, int required, sy_auth *out,
                  sy_err *e);

/* Routes (staff_api.c). */
void sy_staff_api_register(sy_staff *s, sy_http *h);
/* Reloads the cached timezone from the settings table. */
void sy_staff_reload_settings(sy_staff *s);
/* Unsafe HTTP methods need a CSRF token when authenticated by cookie. */
int sy_staff_method_is_safe(const char *method);

#endif
