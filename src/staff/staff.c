/* staff.c — the rules of the staff module: permission names, passwords, the
 * login rate limiter, secrets, the authenticator, the lookups other modules
 * call, metrics and the demo workspace. SQL lives in staff_store.c, HTTP
 * handlers in staff_api.c. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "staff/staff_int.h"

const sy_perm_name sy_perm_names[] = {
    {SY_PERM_CONTACTS_READ, "contacts.read"},     {SY_PERM_CONTACTS_WRITE, "contacts.write"},
    {SY_PERM_CONTACTS_MERGE, "contacts.merge"},   {SY_PERM_CONTACTS_IMPORT, "contacts.import"},
    {SY_PERM_CONTACTS_EXPORT, "contacts.export"}, {SY_PERM_PHONE_UNMASK, "contacts.phone"},
    {SY_PERM_POOL_MANAGE, "pool.manage"},         {SY_PERM_STAFF_MANAGE, "staff.manage"},
    {SY_PERM_ROLES_MANAGE, "roles.manage"},       {SY_PERM_SETTINGS_MANAGE, "settings.manage"},
    {SY_PERM_AUDIT_READ, "audit.read"},           {0, NULL},
};

/* ---- permissions and scopes ------------------------------------------- */

int sy_perm_bit(const char *name, uint64_t *bit) {
    for (const sy_perm_name *p = sy_perm_names; p->name; p++) {
        if (name && strcmp(p->name, name) == 0) {
            *bit = p->bit;
            return 0;
        }
    }
    return SY_E_NOT_FOUND;
}

int sy_perm_from_json(json_t *arr, uint64_t *bits, sy_err *e) {
    if (!json_is_array(arr))
        return sy_err_field(e, SY_E_INVALID, "perms",
                            "field \"perms\" must be an array of permission names");
    uint64_t acc = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char field[32];
        snprintf(field, sizeof field, "perms[%zu]", i);
        if (!json_is_string(v))
            return sy_err_field(e, SY_E_INVALID, field, "field \"%s\" must be a string", field);
        uint64_t bit;
        if (sy_perm_bit(json_string_value(v), &bit) != 0)
            return sy_err_field(e, SY_E_INVALID, field,
                                "unknown permission \"%s\" (GET /api/v1/permissions lists them)",
                                json_string_value(v));
        acc |= bit;
    }
    *bits = acc;
    return 0;
}

json_t *sy_perm_to_json(uint64_t bits) {
    json_t *arr = json_array();
    for (const sy_perm_name *p = sy_perm_names; p->name; p++)
        if (bits & p->bit) json_array_append_new(arr, json_string(p->name));
    return arr;
}

static const char *const scope_names[] = {"own", "department", "store", "all"};

const char *sy_scope_name(int scope) {
    if (scope < 0 || scope > SY_SCOPE_ALL) return "own";
    return scope_names[scope];
}

int sy_scope_parse(const char *s, int *scope) {
    for (int i = 0; i <= SY_SCOPE_ALL; i++) {
        if (s && strcmp(s, scope_names[i]) == 0) {
            *scope = i;
            return 0;
        }
    }
    return SY_E_INVALID;
}

/* ---- passwords ---------------------------------------------------------- */

int sy_staff_password_policy(const char *pw, sy_err *e) {
    size_t n = pw ? strlen(pw) : 0;
    if (n < 8)
        return sy_err_field(e, SY_E_INVALID, "password",
                            "password must be at least 8 characters (got %zu)", n);
    if (n > 128)
        return sy_err_field(e, SY_E_INVALID, "password",
                            "password must be at most 128 bytes (got %zu)", n);
    return 0;
}

int sy_staff_password_hash(const char *pw, int fast, char out[crypto_pwhash_STRBYTES], sy_err *e) {
    /* Interactive limits (64 MiB, 2 passes) cost ~0.1 s: fine for a login,
     * too slow to seed dozens of demo accounts whose passwords are public. */
    unsigned long long ops =
        fast ? crypto_pwhash_argon2id_OPSLIMIT_MIN : crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
    size_t mem = fast ? (size_t)1 << 20 : crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
    if (crypto_pwhash_argon2id_str(out, pw, strlen(pw), ops, mem) != 0)
        return sy_err_set(e, SY_E_NOMEM, "out of memory hashing a password");
    return 0;
}

int sy_staff_password_verify(const char *hash, const char *pw) {
    if (!hash || !pw) return 0;
    return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

/* ---- secrets ------------------------------------------------------------- */

void sy_staff_secret_hash(const char *secret, char out[65]) {
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)secret, strlen(secret), NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof h);
}

int sy_staff_csrf_ok(const char *expected, const char *got) {
    if (!expected || !got || !*expected) return 0;
    size_t n = strlen(expected);
    if (strlen(got) != n) return 0;
    return sodium_memcmp(expected, got, n) == 0;
}

void sy_staff_new_token(char *out, size_t n) {
    char hex[49];
    sy_random_hex(hex, 24);
    snprintf(out, n, "%s%s", SY_TOKEN_PREFIX, hex);
}

void sy_staff_new_write_key(char *out, size_t n) {
    char hex[33];
    sy_random_hex(hex, 16);
    snprintf(out, n, "%s%s", SY_WRITE_KEY_PREFIX, hex);
}

int sy_staff_method_is_safe(const char *method) {
    return method && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
                      strcmp(method, "OPTIONS") == 0);
}

/* ---- rate limiter ------------------------------------------------------ */

void sy_ratelimit_init(sy_ratelimit *rl, int max_failures, int64_t window_ms) {
    memset(rl->slots, 0, sizeof rl->slots);
    pthread_mutex_init(&rl->mu, NULL);
    if (max_failures < 1) max_failures = 1;
    if (max_failures > SY_RL_CAP) max_failures = SY_RL_CAP;
    rl->max_failures = max_failures;
    rl->window_ms = window_ms;
}

void sy_ratelimit_release(sy_ratelimit *rl) {
    pthread_mutex_destroy(&rl->mu);
}

/* Drops failures that left the window. */
static void rl_prune(const sy_ratelimit *rl, sy_rl_slot *sl, int64_t now) {
    int k = 0;
    while (k < sl->n && sl->fails[k] <= now - rl->window_ms)
        k++;
    if (k > 0) {
        memmove(sl->fails, sl->fails + k, (size_t)(sl->n - k) * sizeof sl->fails[0]);
        sl->n -= k;
    }
    if (sl->n == 0) sl->key[0] = 0; /* free again */
}

static sy_rl_slot *rl_find(sy_ratelimit *rl, const char *key) {
    for (int i = 0; i < SY_RL_SLOTS; i++)
        if (rl->slots[i].key[0] && strncmp(rl->slots[i].key, key, sizeof rl->slots[i].key - 1) == 0)
            return &rl->slots[i];
    return NULL;
}

int64_t sy_ratelimit_check(sy_ratelimit *rl, const char *key, int64_t now) {
    int64_t wait = 0;
    pthread_mutex_lock(&rl->mu);
    sy_rl_slot *sl = rl_find(rl, key);
    if (sl) {
        rl_prune(rl, sl, now);
        if (sl->n >= rl->max_failures) {
            /* Allowed again once the oldest of the last max_failures ages out. */
            wait = sl->fails[sl->n - rl->max_failures] + rl->window_ms - now;
            if (wait < 1) wait = 1;
        }
    }
    pthread_mutex_unlock(&rl->mu);
    return wait;
}

void sy_ratelimit_fail(sy_ratelimit *rl, const char *key, int64_t now) {
    pthread_mutex_lock(&rl->mu);
    sy_rl_slot *sl = rl_find(rl, key);
    if (sl) rl_prune(rl, sl, now);
    if (!sl || !sl->key[0]) {
        /* A free slot, or else the one idle the longest. */
        sy_rl_slot *victim = NULL;
        for (int i = 0; i < SY_RL_SLOTS; i++) {
            sy_rl_slot *c = &rl->slots[i];
            if (c->key[0] && c->n > 0 && c->fails[c->n - 1] <= now - rl->window_ms) c->key[0] = 0;
            if (!c->key[0]) {
                victim = c;
                break;
            }
            if (!victim || c->last < victim->last) victim = c;
        }
        sl = victim;
        memset(sl, 0, sizeof *sl);
        snprintf(sl->key, sizeof sl->key, "%s", key);
    }
    if (sl->n == SY_RL_CAP) {
        memmove(sl->fails, sl->fails + 1, (SY_RL_CAP - 1) * sizeof sl->fails[0]);
        sl->n--;
    }
    sl->fails[sl->n++] = now;
    sl->last = now;
    pthread_mutex_unlock(&rl->mu);
}

void sy_ratelimit_reset(sy_ratelimit *rl, const char *key) {
    pthread_mutex_lock(&rl->mu);
    sy_rl_slot *sl = rl_find(rl, key);
    if (sl) memset(sl, 0, sizeof *sl);
    pthread_mutex_unlock(&rl->mu);
}

/* ---- module lifecycle -------------------------------------------------- */

void sy_staff_reload_settings(sy_staff *s) {
    sy_db *db;
    sy_err e;
    char tz[64] = "Asia/Shanghai";
    if (sy_store_read_begin(s->st, &db, &e) == 0) {
        sy_stmt *st;
        if (sy_db_prepare(db, "SELECT timezone FROM settings WHERE id = 1", &st, &e) == 0) {
            if (sy_stmt_step(st, &e) == SY_ROW && sy_stmt_col_text(st, 0))
                snprintf(tz, sizeof tz, "%s", sy_stmt_col_text(st, 0));
            sy_stmt_finalize(st);
        }
        sy_store_read_end(s->st, db);
    }
    pthread_mutex_lock(&s->mu);
    snprintf(s->tz, sizeof s->tz, "%s", tz);
    pthread_mutex_unlock(&s->mu);
}

int sy_staff_create(sy_store *st, sy_staff **out, sy_err *e) {
    *out = NULL;
    if (sodium_init() < 0) return sy_err_set(e, SY_E_INTERNAL, "libsodium failed to initialise");
    sy_staff *s = calloc(1, sizeof *s);
    if (!s) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    s->st = st;
    s->idle_ms = SY_SESSION_IDLE_MS;
    s->max_age_ms = SY_SESSION_MAX_MS;
    const char *idle = getenv("SIYU_SESSION_IDLE_SECONDS");
    int64_t v;
    if (idle && sy_parse_i64(idle, &v) == 0 && v > 0) s->idle_ms = v * 1000;
    sy_ratelimit_init(&s->rl, 5, 5LL * 60 * 1000);
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->tz, sizeof s->tz, "Asia/Shanghai");
    sy_staff_reload_settings(s);
    *out = s;
    return 0;
}

void sy_staff_destroy(sy_staff *s) {
    if (!s) return;
    sy_ratelimit_release(&s->rl);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void sy_staff_timezone(sy_staff *s, char *out, size_t n) {
    pthread_mutex_lock(&s->mu);
    snprintf(out, n, "%s", s->tz);
    pthread_mutex_unlock(&s->mu);
}

/* ---- authenticator ----------------------------------------------------- */

typedef struct touch_job {
    const char *sql; /* UPDATE … SET <time>=?1 [, expires_at=?3] WHERE id=?2 */
    int64_t now, id, expires;
} touch_job;

static int touch_run(sy_db *db, void *arg, sy_err *e) {
    touch_job *j = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(db, j->sql, &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->now);
    sy_stmt_bind_int(st, 2, j->id);
    if (j->expires) sy_stmt_bind_int(st, 3, j->expires);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

/* Refreshes a last-seen time; failure only costs accuracy, so it is logged. */
static void touch(sy_staff *s, const char *sql, int64_t id, int64_t now, int64_t expires) {
    touch_job j = {sql, now, id, expires};
    sy_err e;
    if (sy_store_write(s->st, touch_run, &j, &e) != 0)
        sy_warn("msg=\"could not refresh last-seen time\" err=\"%s\"", e.msg);
}

/* Looks a hashed secret up in db (a read transaction the caller holds):
 * returns SY_ROW with *id, *owner and *last filled, SY_DONE when unknown,
 * or an error. */
static int find_secret_in(sy_db *db, const char *sql, const char *secret, int64_t *id,
                          int64_t *owner, int64_t *last, sy_err *e) {
    char h[65];
    sy_staff_secret_hash(secret, h);
    sy_stmt *st;
    int rc = sy_db_prepare_cached(db, sql, &st, e); /* every request: kept prepared */
    if (rc == 0) {
        sy_stmt_bind_text(st, 1, h);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW) {
            *id = sy_stmt_col_int(st, 0);
            *owner = sy_stmt_col_int(st, 1);
            *last = sy_stmt_col_int(st, 2);
        }
        sy_stmt_done(st);
    }
    return rc;
}

static int find_secret(sy_staff *s, const char *sql, const char *secret, int64_t *id,
                       int64_t *owner, int64_t *last, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(s->st, &db, e);
    if (rc) return rc;
    rc = find_secret_in(db, sql, secret, id, owner, last, e);
    sy_store_read_end(s->st, db);
    return rc;
}

/* The actor of staff_id, read in db; an account gone is unauthenticated. */
static int actor_in(sy_db *db, sy_arena *a, int64_t staff_id, sy_actor *act, sy_err *e) {
    int rc = sy_staff_load_actor(db, a, staff_id, act, e);
    if (rc == SY_E_NOT_FOUND)
        rc = sy_err_set(e, SY_E_UNAUTHENTICATED, "staff account %lld no longer exists",
                        (long long)staff_id);
    return rc;
}

static int load_actor(sy_staff *s, sy_arena *a, int64_t staff_id, sy_actor *act, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(s->st, &db, e);
    if (rc) return rc;
    rc = actor_in(db, a, staff_id, act, e);
    sy_store_read_end(s->st, db);
    return rc;
}

static int auth_write_key(sy_staff *s, sy_arena *a, const sy_auth_input *in, const char *key,
                          int required, sy_auth *out, sy_err *e) {
    int64_t id = 0, unused = 0, last = 0;
    int rc = find_secret(s,
                         "SELECT id, 0, last_used_at FROM write_keys"
                         " WHERE key_hash = ?1 AND revoked_at IS NULL",
                         key, &id, &unused, &last, e);
    if (rc < 0) return rc;
    if (rc != SY_ROW) return sy_err_set(e, SY_E_UNAUTHENTICATED, "write key is unknown or revoked");
    if (required == SY_AUTH_STAFF)
        return sy_err_set(e, SY_E_FORBIDDEN,
                          "a write key can only send events; use a session or an API token "
                          "for the management API");
    sy_actor *act = sy_alloc(a, sizeof *act);
    act->write_key_id = id;
    act->name = "write key";
    act->username = sy_sprintf(a, "write_key:%lld", (long long)id);
    act->via = "write_key";
    act->ip = sy_strdup(a, in->ip);
    out->kind = SY_AUTH_WRITE_KEY;
    out->perms = 0;
    out->actor = act;
    int64_t now = sy_now_ms();
    if (now - last > SY_TOUCH_EVERY_MS)
        touch(s, "UPDATE write_keys SET last_used_at = ?1 WHERE id = ?2", id, now, 0);
    return 0;
}

static int auth_token(sy_staff *s, sy_arena *a, const sy_auth_input *in, const char *tok,
                      sy_auth *out, sy_err *e) {
    int64_t id = 0, staff_id = 0, last = 0;
    /* the token and its owner in one read transaction (each costs) */
    sy_db *db;
    int rc = sy_store_read_begin(s->st, &db, e);
    if (rc) return rc;
    rc = find_secret_in(db,
                        "SELECT id, staff_id, last_used_at FROM api_tokens"
                        " WHERE token_hash = ?1 AND revoked_at IS NULL",
                        tok, &id, &staff_id, &last, e);
    sy_actor *act = sy_alloc(a, sizeof *act);
    if (rc == SY_ROW)
        rc = actor_in(db, a, staff_id, act, e);
    else if (rc >= 0)
        rc = sy_err_set(e, SY_E_UNAUTHENTICATED, "api token is unknown or revoked");
    sy_store_read_end(s->st, db);
    if (rc) return rc;
    act->via = "token";
    act->ip = sy_strdup(a, in->ip);
    out->kind = SY_AUTH_STAFF;
    out->perms = act->perms;
    out->actor = act;
    int64_t now = sy_now_ms();
    if (now - last > SY_TOUCH_EVERY_MS)
        touch(s, "UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2", id, now, 0);
    return 0;
}

static int auth_session(sy_staff *s, sy_arena *a, const sy_auth_input *in, sy_auth *out,
                        sy_err *e) {
    char h[65];
    sy_staff_secret_hash(in->cookie, h);
    sy_db *db;
    int rc = sy_store_read_begin(s->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    int64_t id = 0, staff_id = 0, created = 0, seen = 0, expires = 0;
    char csrf[80] = "";
    rc =
        sy_db_prepare_cached(db,
                             "SELECT id, staff_id, csrf_token, created_at, last_seen_at, expires_at"
                             " FROM sessions WHERE token_hash = ?1",
                             &st, e);
    if (rc == 0) {
        sy_stmt_bind_text(st, 1, h);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW) {
            id = sy_stmt_col_int(st, 0);
            staff_id = sy_stmt_col_int(st, 1);
            snprintf(csrf, sizeof csrf, "%s",
                     sy_stmt_col_text(st, 2) ? sy_stmt_col_text(st, 2) : "");
            created = sy_stmt_col_int(st, 3);
            seen = sy_stmt_col_int(st, 4);
            expires = sy_stmt_col_int(st, 5);
        }
        sy_stmt_done(st);
    }
    sy_store_read_end(s->st, db);
    if (rc < 0) return rc;
    int64_t now = sy_now_ms();
    if (rc != SY_ROW)
        return sy_err_set(e, SY_E_UNAUTHENTICATED,
                          "your session expired or is unknown; log in again");
    if (now >= expires || now >= created + s->max_age_ms)
        return sy_err_set(e, SY_E_UNAUTHENTICATED, "your session expired; log in again");
    if (!sy_staff_method_is_safe(in->method) && !sy_staff_csrf_ok(csrf, in->csrf))
        return sy_err_set(e, SY_E_CSRF,
                          in->csrf && *in->csrf
                              ? "X-CSRF-Token header does not match this session's csrf_token"
                              : "missing X-CSRF-Token header: send the csrf_token returned by "
                                "login with every write");
    sy_actor *act = sy_alloc(a, sizeof *act);
    rc = load_actor(s, a, staff_id, act, e);
    if (rc) return rc;
    act->via = "session";
    act->ip = sy_strdup(a, in->ip);
    out->kind = SY_AUTH_STAFF;
    out->perms = act->perms;
    out->actor = act;
    if (now - seen > SY_TOUCH_EVERY_MS)
        touch(s, "UPDATE sessions SET last_seen_at = ?1, expires_at = ?3 WHERE id = ?2", id, now,
              now + s->idle_ms);
    return 0;
}

/* Decodes "Basic base64(user:pass)" and returns the user part (the write
 * key, as Segment's SDKs send it) in arena memory, or NULL. */
static char *basic_user(sy_arena *a, const char *b64) {
    while (*b64 == ' ')
        b64++;
    size_t n = strlen(b64);
    if (n == 0 || n > 1024) return NULL;
    unsigned char *bin = sy_alloc(a, n + 1);
    size_t len = 0;
    if (sodium_base642bin(bin, n, b64, n, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return NULL;
    bin[len] = 0;
    char *colon = strchr((char *)bin, ':');
    if (colon) *colon = 0;
    return (char *)bin;
}

/* The rules, in order:
 *  - "Authorization: Bearer syt_…" is an API token: the owner's rights, no CSRF.
 *  - "Bearer swk_…" or "Basic base64(swk_…:)" is a write key: accepted only
 *    on SY_AUTH_WRITE_KEY routes; a valid write key on a staff route is 403.
 *  - otherwise the siyu_session cookie: the session must be live, and a write
 *    (not GET/HEAD/OPTIONS) must carry X-CSRF-Token equal to its csrf token.
 *  - no credentials: 401 on protected routes, anonymous on public ones.
 * On a public route (required NONE) failures are ignored: the caller is
 * simply anonymous. */
static int auth_try(sy_staff *s, sy_arena *a, const sy_auth_input *in, int required, sy_auth *out,
                    sy_err *e) {
    const char *authz = in->authorization;
    if (authz && *authz) {
        if (strncasecmp(authz, "Bearer ", 7) == 0) {
            const char *tok = authz + 7;
            while (*tok == ' ')
                tok++;
            if (sy_startswith(tok, SY_WRITE_KEY_PREFIX))
                return auth_write_key(s, a, in, tok, required, out, e);
            return auth_token(s, a, in, tok, out, e);
        }
        if (strncasecmp(authz, "Basic ", 6) == 0) {
            char *key = basic_user(a, authz + 6);
            if (!key || !*key)
                return sy_err_set(
                    e, SY_E_UNAUTHENTICATED,
                    "malformed Basic credentials: send the write key as the user name");
            return auth_write_key(s, a, in, key, required, out, e);
        }
        return sy_err_set(e, SY_E_UNAUTHENTICATED,
                          "unsupported Authorization scheme; use \"Bearer <api token>\"");
    }
    if (in->cookie && *in->cookie) return auth_session(s, a, in, out, e);
    if (required == SY_AUTH_STAFF)
        return sy_err_set(
            e, SY_E_UNAUTHENTICATED,
            "log in first, or send an API token as \"Authorization: Bearer <token>\"");
    if (required == SY_AUTH_WRITE_KEY)
        return sy_err_set(e, SY_E_UNAUTHENTICATED, "send a write key as the HTTP Basic user name");
    return 0;
}

int sy_staff_auth(sy_staff *s, sy_arena *a, const sy_auth_input *in, int required, sy_auth *out,
                  sy_err *e) {
    memset(out, 0, sizeof *out);
    int rc = auth_try(s, a, in, required, out, e);
    if (rc < 0 && required == SY_AUTH_NONE) {
        memset(out, 0, sizeof *out);
        sy_err_clear(e);
        return 0;
    }
    if (rc < 0) memset(out, 0, sizeof *out);
    return rc;
}

static int authenticate(void *ctx, sy_req *r, int required, sy_auth *out, sy_err *e) {
    sy_auth_input in = {
        .method = r->method,
        .cookie = sy_req_cookie(r, SY_SESSION_COOKIE),
        .authorization = sy_req_header(r, "Authorization"),
        .csrf = sy_req_header(r, "X-CSRF-Token"),
        .ip = r->remote_ip,
    };
    return sy_staff_auth(ctx, r->arena, &in, required, out, e);
}

/* ---- metrics ----------------------------------------------------------- */

static void metrics(void *ctx, sy_buf *out) {
    sy_staff *s = ctx;
    int64_t active = 0, sessions = 0;
    sy_db *db;
    sy_err e;
    if (sy_store_read_begin(s->st, &db, &e) == 0) {
        sy_db_query_int(db, "SELECT count(*) FROM staff WHERE active = 1", &active, &e);
        sy_stmt *st;
        if (sy_db_prepare(db, "SELECT count(*) FROM sessions WHERE expires_at > ?1", &st, &e) ==
            0) {
            sy_stmt_bind_int(st, 1, sy_now_ms());
            if (sy_stmt_step(st, &e) == SY_ROW) sessions = sy_stmt_col_int(st, 0);
            sy_stmt_finalize(st);
        }
        sy_store_read_end(s->st, db);
    }
    sy_buf_addf(out,
                "# HELP siyu_staff_active Staff accounts that are active.\n"
                "# TYPE siyu_staff_active gauge\nsiyu_staff_active %lld\n",
                (long long)active);
    sy_buf_addf(out,
                "# HELP siyu_sessions_active Console sessions not yet expired.\n"
                "# TYPE siyu_sessions_active gauge\nsiyu_sessions_active %lld\n",
                (long long)sessions);
    sy_buf_addf(out,
                "# HELP siyu_logins_total Login attempts by result.\n"
                "# TYPE siyu_logins_total counter\n"
                "siyu_logins_total{result=\"ok\"} %llu\n"
                "siyu_logins_total{result=\"failed\"} %llu\n"
                "siyu_logins_total{result=\"rate_limited\"} %llu\n",
                (unsigned long long)__atomic_load_n(&s->logins_ok, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&s->logins_failed, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&s->logins_limited, __ATOMIC_RELAXED));
}

void sy_staff_register(sy_staff *s, sy_http *h) {
    sy_http_set_authenticator(h, authenticate, s);
    sy_http_add_metrics(h, metrics, s);
    sy_staff_api_register(s, h);
}

/* ---- lookups for other modules ----------------------------------------- */

/* Runs sql with one bound value (text when txt, else num) and returns the
 * first column of the first two rows: SY_E_NOT_FOUND without rows. */
static int lookup_ids(sy_staff *s, const char *sql, const char *txt, int64_t num, int64_t ids[2],
                      int *n, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(s->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    *n = 0;
    rc = sy_db_prepare(db, sql, &st, e);
    if (rc == 0) {
        if (txt)
            sy_stmt_bind_text(st, 1, txt);
        else
            sy_stmt_bind_int(st, 1, num);
        while (*n < 2 && (rc = sy_stmt_step(st, e)) == SY_ROW)
            ids[(*n)++] = sy_stmt_col_int(st, 0);
        if (rc > 0) rc = 0;
        sy_stmt_finalize(st);
    }
    sy_store_read_end(s->st, db);
    return rc < 0 ? rc : 0;
}

int sy_staff_find_by_name(sy_staff *s, const char *name, int64_t *id, sy_err *e) {
    int64_t ids[2];
    int n;
    if (!name || !*name) return sy_err_set(e, SY_E_NOT_FOUND, "no active staff member named \"\"");
    /* A user name is unique, so it wins over display names. */
    int rc = lookup_ids(s, "SELECT id FROM staff WHERE active = 1 AND username = ?1", name, 0, ids,
                        &n, e);
    if (rc) return rc;
    if (n == 0) {
        rc = lookup_ids(s, "SELECT id FROM staff WHERE active = 1 AND name = ?1 ORDER BY id", name,
                        0, ids, &n, e);
        if (rc) return rc;
        if (n > 1)
            return sy_err_set(e, SY_E_CONFLICT, "staff name \"%s\" is ambiguous: use the user name",
                              name);
    }
    if (n == 0) return sy_err_set(e, SY_E_NOT_FOUND, "no active staff member named \"%s\"", name);
    *id = ids[0];
    return 0;
}

int sy_staff_lookup(sy_staff *s, int64_t staff_id, int64_t *department_id, int64_t *store_id,
                    sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(s->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    rc = sy_db_prepare(db, "SELECT department_id, store_id FROM staff WHERE id = ?1 AND active = 1",
                       &st, e);
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, staff_id);
        rc = sy_stmt_step(st, e);
        if (rc == SY_ROW) {
            if (department_id) *department_id = sy_stmt_col_int(st, 0);
            if (store_id) *store_id = sy_stmt_col_int(st, 1);
            rc = 0;
        } else if (rc == SY_DONE) {
            rc = sy_err_set(e, SY_E_NOT_FOUND, "staff %lld does not exist or is deactivated",
                            (long long)staff_id);
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(s->st, db);
    return rc;
}

int sy_staff_store_exists(sy_staff *s, int64_t store_id, sy_err *e) {
    int64_t ids[2];
    int n;
    int rc = lookup_ids(s, "SELECT id FROM stores WHERE id = ?1", NULL, store_id, ids, &n, e);
    if (rc) return rc;
    if (n == 0)
        return sy_err_set(e, SY_E_NOT_FOUND, "store %lld does not exist", (long long)store_id);
    return 0;
}

int sy_staff_department_exists(sy_staff *s, int64_t department_id, sy_err *e) {
    int64_t ids[2];
    int n;
    int rc =
        lookup_ids(s, "SELECT id FROM departments WHERE id = ?1", NULL, department_id, ids, &n, e);
    if (rc) return rc;
    if (n == 0)
        return sy_err_set(e, SY_E_NOT_FOUND, "department %lld does not exist",
                          (long long)department_id);
    return 0;
}

int sy_staff_find_store(sy_staff *s, const char *name, int64_t *id, sy_err *e) {
    int64_t ids[2];
    int n;
    int rc = lookup_ids(s, "SELECT id FROM stores WHERE name = ?1 OR code = ?1 ORDER BY id",
                        name ? name : "", 0, ids, &n, e);
    if (rc) return rc;
    if (n == 0) return sy_err_set(e, SY_E_NOT_FOUND, "no store named \"%s\"", name ? name : "");
    *id = ids[0];
    return 0;
}

int sy_staff_count(sy_staff *s, int64_t *n, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(s->st, &db, e);
    if (rc) return rc;
    rc = sy_db_query_int(db, "SELECT count(*) FROM staff", n, e);
    sy_store_read_end(s->st, db);
    return rc;
}

/* ---- creating accounts ------------------------------------------------- */

typedef struct admin_job {
    const char *username, *hash;
    int64_t id;
} admin_job;

static int admin_run(sy_db *db, void *arg, sy_err *e) {
    admin_job *j = arg;
    int rc = sy_staff_insert(db, j->username, "管理员", j->hash, "admin", 0, 0, 0, &j->id, e);
    if (rc) return rc;
    json_t *d = json_pack("{s:s}", "username", j->username);
    rc = sy_audit_record(db, NULL, "staff.create", NULL, d, e);
    json_decref(d);
    return rc;
}

int sy_staff_username_valid(const char *u) {
    size_t n = u ? strlen(u) : 0;
    if (n < 2 || n > 32) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-') return 0;
    }
    return 1;
}

int sy_staff_create_admin(sy_staff *s, const char *username, const char *password, int64_t *id,
                          sy_err *e) {
    if (!sy_staff_username_valid(username))
        return sy_err_field(e, SY_E_INVALID, "username",
                            "username \"%s\" must be 2–32 letters, digits, '.', '_' or '-'",
                            username ? username : "");
    int rc = sy_staff_password_policy(password, e);
    if (rc) return rc;
    char hash[crypto_pwhash_STRBYTES];
    rc = sy_staff_password_hash(password, 0, hash, e);
    if (rc) return rc;
    admin_job j = {username, hash, 0};
    rc = sy_store_write(s->st, admin_run, &j, e);
    if (rc) return rc;
    if (id) *id = j.id;
    return 0;
}

/* ---- demo workspace ---------------------------------------------------- */

/* splitmix64: a tiny deterministic generator, so the same seed gives the
 * same staff on every machine. */
static uint64_t mix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static const struct {
    const char *zh, *py;
} surnames[] = {{"王", "wang"}, {"李", "li"},    {"张", "zhang"}, {"刘", "liu"}, {"陈", "chen"},
                {"杨", "yang"}, {"黄", "huang"}, {"赵", "zhao"},  {"吴", "wu"},  {"周", "zhou"},
                {"徐", "xu"},   {"孙", "sun"},   {"马", "ma"},    {"朱", "zhu"}, {"胡", "hu"},
                {"郭", "guo"},  {"何", "he"},    {"林", "lin"},   {"罗", "luo"}, {"高", "gao"}},
  given[] = {{"伟", "wei"},        {"芳", "fang"},      {"娜", "na"},      {"敏", "min"},
             {"静", "jing"},       {"丽", "li"},        {"强", "qiang"},   {"磊", "lei"},
             {"军", "jun"},        {"洋", "yang"},      {"勇", "yong"},    {"艳", "yan"},
             {"杰", "jie"},        {"娟", "juan"},      {"涛", "tao"},     {"明", "ming"},
             {"超", "chao"},       {"秀英", "xiuying"}, {"霞", "xia"},     {"平", "ping"},
             {"晓东", "xiaodong"}, {"婷", "ting"},      {"子豪", "zihao"}, {"雨桐", "yutong"}};

static const char *const demo_depts[3] = {"华东销售部", "华南销售部", "运营中心"};
static const struct {
    const char *name, *code, *city;
} demo_stores[6] = {{"上海徐汇店", "SH001", "上海"}, {"上海静安店", "SH002", "上海"},
                    {"上海浦东店", "SH003", "上海"}, {"广州天河店", "GZ001", "广州"},
                    {"广州越秀店", "GZ002", "广州"}, {"广州海珠店", "GZ003", "广州"}};

typedef struct demo_job {
    sy_staff_demo *out;
    char admin_hash[crypto_pwhash_STRBYTES];
    char hashes[20][crypto_pwhash_STRBYTES];
} demo_job;

static int demo_exec_id(sy_db *db, const char *sql, const char *a1, const char *a2, const char *a3,
                        int64_t *id, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, sql, &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, a1);
    if (a2) sy_stmt_bind_text(st, 2, a2);
    if (a3) sy_stmt_bind_text(st, 3, a3);
    sy_stmt_bind_int(st, 4, sy_now_ms());
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    *id = sy_db_last_id(db);
    return 0;
}

static int demo_run(sy_db *db, void *arg, sy_err *e) {
    demo_job *j = arg;
    sy_staff_demo *d = j->out;
    int64_t n = 0;
    int rc = sy_db_query_int(db, "SELECT count(*) FROM staff", &n, e);
    if (rc) return rc;
    if (n > 0)
        return sy_err_set(
            e, SY_E_CONFLICT,
            "the workspace already has %lld staff; demo seeds an empty data directory",
            (long long)n);
    for (int i = 0; i < 3; i++) {
        rc = demo_exec_id(db, "INSERT INTO departments (name, created_at) VALUES (?1, ?4)",
                          demo_depts[i], NULL, NULL, &d->department_ids[i], e);
        if (rc) return rc;
    }
    d->n_departments = 3;
    for (int i = 0; i < 6; i++) {
        rc = demo_exec_id(
            db, "INSERT INTO stores (name, code, city, created_at) VALUES (?1, ?2, ?3, ?4)",
            demo_stores[i].name, demo_stores[i].code, demo_stores[i].city, &d->store_ids[i], e);
        if (rc) return rc;
    }
    d->n_stores = 6;
    int64_t admin_id;
    rc = sy_staff_insert(db, d->admin_username, "管理员", j->admin_hash, "admin", 0, 0, 0,
                         &admin_id, e);
    if (rc) return rc;
    for (size_t i = 0; i < d->n_staff; i++) {
        sy_staff_demo_member *m = &d->staff[i];
        /* member fields hold indexes until now; turn them into ids */
        int64_t dept = d->department_ids[m->department_id];
        int64_t store = m->store_id ? d->store_ids[m->store_id - 1] : 0;
        rc = sy_staff_insert(db, m->username, m->name, j->hashes[i], m->role, 0, dept, store,
                             &m->id, e);
        if (rc) return rc;
        m->department_id = dept;
        m->store_id = store;
    }
    int64_t tid;
    rc = sy_staff_token_insert(db, admin_id, "demo admin token", d->api_token, &tid, e);
    if (rc == 0) rc = sy_staff_write_key_insert(db, "demo write key", d->write_key, &tid, e);
    if (rc == 0) {
        json_t *det = json_pack("{s:I,s:I}", "staff", (json_int_t)d->n_staff + 1, "stores",
                                (json_int_t)d->n_stores);
        rc = sy_audit_record(db, NULL, "workspace.demo_seed", NULL, det, e);
        json_decref(det);
    }
    return rc;
}

int sy_staff_demo_seed(sy_staff *s, uint64_t seed, sy_staff_demo *out, sy_err *e) {
    memset(out, 0, sizeof *out);
    demo_job *j = calloc(1, sizeof *j);
    if (!j) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    j->out = out;
    snprintf(out->admin_username, sizeof out->admin_username, "admin");
    sy_random_hex(out->admin_password, 8);
    sy_staff_new_token(out->api_token, sizeof out->api_token);
    sy_staff_new_write_key(out->write_key, sizeof out->write_key);

    /* 20 staff: 3 operations (运营中心), one store manager per store, 8 sales
     * and 3 group owners split between the two regional sales departments,
     * each in a store of their region. department_id/store_id hold indexes
     * here (store 1-based, 0 = none) and become ids inside the job. */
    static const struct {
        const char *role;
        int dept, store;
    } layout[20] = {
        {"operations", 2, 0},    {"operations", 2, 0},    {"operations", 2, 0},
        {"store_manager", 0, 1}, {"store_manager", 0, 2}, {"store_manager", 0, 3},
        {"store_manager", 1, 4}, {"store_manager", 1, 5}, {"store_manager", 1, 6},
        {"sales", 0, 1},         {"sales", 0, 2},         {"sales", 0, 3},
        {"sales", 0, 1},         {"sales", 1, 4},         {"sales", 1, 5},
        {"sales", 1, 6},         {"sales", 1, 4},         {"group_owner", 0, 2},
        {"group_owner", 1, 5},   {"group_owner", 0, 3},
    };
    uint64_t rng = seed ^ 0x5359u;
    for (size_t i = 0; i < 20; i++) {
        sy_staff_demo_member *m = &out->staff[i];
        /* Draw until the display name is new (bounded; then add a digit). */
        for (int attempt = 0;; attempt++) {
            size_t si = mix(&rng) % SY_ARRAY_LEN(surnames);
            size_t gi = mix(&rng) % SY_ARRAY_LEN(given);
            snprintf(m->name, sizeof m->name, "%s%s", surnames[si].zh, given[gi].zh);
            snprintf(m->username, sizeof m->username, "%s%s", surnames[si].py, given[gi].py);
            int dup = 0;
            for (size_t k = 0; k < i; k++)
                if (strcmp(out->staff[k].name, m->name) == 0 ||
                    strcmp(out->staff[k].username, m->username) == 0)
                    dup = 1;
            if (!dup) break;
            if (attempt >= 50) {
                snprintf(m->username, sizeof m->username, "%s%s%zu", surnames[si].py, given[gi].py,
                         i);
                break;
            }
        }
        char pw[40] = "demo-";
        size_t ul = strnlen(m->username, 26);
        memcpy(pw + 5, m->username, ul);
        pw[5 + ul] = 0;
        memcpy(m->password, pw, 6 + ul);
        snprintf(m->role, sizeof m->role, "%s", layout[i].role);
        m->department_id = layout[i].dept;
        m->store_id = layout[i].store;
        int rc = sy_staff_password_hash(m->password, 1, j->hashes[i], e);
        if (rc) {
            free(j);
            return rc;
        }
    }
    out->n_staff = 20;
    int rc = sy_staff_password_hash(out->admin_password, 0, j->admin_hash, e);
    if (rc == 0) rc = sy_store_write(s->st, demo_run, j, e);
    free(j);
    if (rc) {
        sy_staff_demo blank;
        memset(&blank, 0, sizeof blank);
        *out = blank;
    }
    return rc;
}

int sy_staff_names(sy_staff *s, const char *kind, json_t **out, sy_err *e) {
    const char *sql = strcmp(kind, "staff") == 0        ? "SELECT id, name FROM staff"
                      : strcmp(kind, "department") == 0 ? "SELECT id, name FROM departments"
                      : strcmp(kind, "store") == 0      ? "SELECT id, name FROM stores"
                                                        : NULL;
    if (!sql) return sy_err_set(e, SY_E_INVALID, "unknown name kind \"%s\"", kind);
    sy_db *db;
    int rc = sy_store_read_begin(s->st, &db, e);
    if (rc) return rc;
    json_t *o = json_object();
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, sql, &st, e)) == 0) {
        while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
            char key[24];
            snprintf(key, sizeof key, "%lld", (long long)sy_stmt_col_int(st, 0));
            const char *nm = sy_stmt_col_text(st, 1);
            json_object_set_new(o, key, json_string(nm ? nm : key));
        }
        sy_stmt_finalize(st);
    }
    sy_store_read_end(s->st, db);
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}
