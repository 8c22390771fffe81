/* staff_store.c — SQL shared by the staff module's rules and handlers:
 * resolving an actor, inserting sessions, tokens, write keys and staff, and
 * the audit log that every module writes through sy_audit_record. */
#include <stdlib.h>
#include <string.h>

#include "staff/staff_int.h"

int sy_staff_load_actor(sy_db *db, sy_arena *a, int64_t staff_id, sy_actor *out, sy_err *e) {
    sy_stmt *st;
    /* every authenticated request: kept prepared */
    int rc = sy_db_prepare_cached(db,
                                  "SELECT s.name, s.username, s.role_id, r.perms, r.scope,"
                                  " s.department_id, s.store_id, s.active"
                                  " FROM staff s JOIN roles r ON r.id = s.role_id WHERE s.id = ?1",
                                  &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, staff_id);
    rc = sy_stmt_step(st, e);
    if (rc == SY_DONE)
        rc = sy_err_set(e, SY_E_NOT_FOUND, "staff %lld not found", (long long)staff_id);
    if (rc < 0) {
        sy_stmt_done(st);
        return rc;
    }
    memset(out, 0, sizeof *out);
    out->staff_id = staff_id;
    out->name = sy_strdup(a, sy_stmt_col_text(st, 0));
    out->username = sy_strdup(a, sy_stmt_col_text(st, 1));
    out->role_id = sy_stmt_col_int(st, 2);
    out->perms = (uint64_t)sy_stmt_col_int(st, 3);
    int scope = SY_SCOPE_OWN;
    sy_scope_parse(sy_stmt_col_text(st, 4), &scope);
    out->scope = scope;
    out->department_id = sy_stmt_col_int(st, 5);
    out->store_id = sy_stmt_col_int(st, 6);
    int active = (int)sy_stmt_col_int(st, 7);
    sy_stmt_done(st);
    if (!active)
        return sy_err_set(e, SY_E_UNAUTHENTICATED, "staff account \"%s\" is deactivated",
                          out->username);

    /* Department scope: the ids of everyone in the department (deactivated
     * members too, so their customers stay visible to the department), so
     * that contacts can filter owners with one IN list. Without a
     * department the scope degrades to the person alone. */
    if (out->scope == SY_SCOPE_DEPT && out->department_id) {
        int64_t n = 0;
        rc = sy_db_prepare(db, "SELECT count(*) FROM staff WHERE department_id = ?1", &st, e);
        if (rc) return rc;
        sy_stmt_bind_int(st, 1, out->department_id);
        if ((rc = sy_stmt_step(st, e)) == SY_ROW) n = sy_stmt_col_int(st, 0);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        int64_t *ids = sy_alloc(a, (size_t)(n + 1) * sizeof *ids);
        size_t k = 0;
        rc = sy_db_prepare(db, "SELECT id FROM staff WHERE department_id = ?1 ORDER BY id", &st, e);
        if (rc) return rc;
        sy_stmt_bind_int(st, 1, out->department_id);
        while (k < (size_t)n && (rc = sy_stmt_step(st, e)) == SY_ROW)
            ids[k++] = sy_stmt_col_int(st, 0);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        out->dept_staff = ids;
        out->n_dept_staff = k;
    } else if (out->scope == SY_SCOPE_DEPT) {
        int64_t *ids = sy_alloc(a, sizeof *ids);
        ids[0] = staff_id;
        out->dept_staff = ids;
        out->n_dept_staff = 1;
    }
    return 0;
}

/* Runs an INSERT whose parameters the caller bound through bind(). */
static int exec_stmt(sy_stmt *st, sy_err *e) {
    int rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

int sy_staff_session_insert(sy_db *db, int64_t staff_id, int64_t now, int64_t idle_ms,
                            const char *ip, char token[65], char csrf[33], sy_err *e) {
    sy_random_hex(token, 32);
    sy_random_hex(csrf, 16);
    char h[65];
    sy_staff_secret_hash(token, h);
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "INSERT INTO sessions (token_hash, staff_id, csrf_token, ip, created_at,"
                           " last_seen_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, h);
    sy_stmt_bind_int(st, 2, staff_id);
    sy_stmt_bind_text(st, 3, csrf);
    sy_stmt_bind_text(st, 4, ip);
    sy_stmt_bind_int(st, 5, now);
    sy_stmt_bind_int(st, 6, now + idle_ms);
    return exec_stmt(st, e);
}

/* "syt_1a2b3c4d…" → "syt_1a2b" shown in lists so people can tell tokens apart. */
static void prefix_of(const char *secret, char out[16]) {
    snprintf(out, 16, "%.8s", secret);
}

int sy_staff_token_insert(sy_db *db, int64_t staff_id, const char *name, const char *token,
                          int64_t *id, sy_err *e) {
    char h[65], pre[16];
    sy_staff_secret_hash(token, h);
    prefix_of(token, pre);
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "INSERT INTO api_tokens (token_hash, prefix, staff_id, name, created_at)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, h);
    sy_stmt_bind_text(st, 2, pre);
    sy_stmt_bind_int(st, 3, staff_id);
    sy_stmt_bind_text(st, 4, name);
    sy_stmt_bind_int(st, 5, sy_now_ms());
    rc = exec_stmt(st, e);
    if (rc == 0) *id = sy_db_last_id(db);
    return rc;
}

int sy_staff_write_key_insert(sy_db *db, const char *name, const char *key, int64_t *id,
                              sy_err *e) {
    char h[65], pre[16];
    sy_staff_secret_hash(key, h);
    prefix_of(key, pre);
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "INSERT INTO write_keys (key_hash, prefix, name, created_at)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, h);
    sy_stmt_bind_text(st, 2, pre);
    sy_stmt_bind_text(st, 3, name);
    sy_stmt_bind_int(st, 4, sy_now_ms());
    rc = exec_stmt(st, e);
    if (rc == 0) *id = sy_db_last_id(db);
    return rc;
}

int sy_staff_insert(sy_db *db, const char *username, const char *name, const char *hash,
                    const char *role_key, int64_t role_id, int64_t department_id, int64_t store_id,
                    int64_t *id, sy_err *e) {
    sy_stmt *st;
    int rc;
    if (role_key) {
        rc = sy_db_prepare(db, "SELECT id FROM roles WHERE key = ?1", &st, e);
        if (rc) return rc;
        sy_stmt_bind_text(st, 1, role_key);
        rc = sy_stmt_step(st, e);
        role_id = rc == SY_ROW ? sy_stmt_col_int(st, 0) : 0;
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        if (!role_id)
            return sy_err_field(e, SY_E_INVALID, "role", "role \"%s\" does not exist", role_key);
    }
    int64_t now = sy_now_ms();
    rc = sy_db_prepare(db,
                       "INSERT INTO staff (username, name, password_hash, role_id, department_id,"
                       " store_id, active, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7)",
                       &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, username);
    sy_stmt_bind_text(st, 2, name);
    sy_stmt_bind_text(st, 3, hash);
    sy_stmt_bind_int(st, 4, role_id);
    if (department_id)
        sy_stmt_bind_int(st, 5, department_id);
    else
        sy_stmt_bind_null(st, 5);
    if (store_id)
        sy_stmt_bind_int(st, 6, store_id);
    else
        sy_stmt_bind_null(st, 6);
    sy_stmt_bind_int(st, 7, now);
    rc = exec_stmt(st, e);
    if (rc == SY_E_CONFLICT)
        return sy_err_field(e, SY_E_CONFLICT, "username", "username \"%s\" is already taken",
                            username);
    if (rc) return rc;
    *id = sy_db_last_id(db);
    return 0;
}

int sy_audit_record(sy_db *db, const sy_actor *actor, const char *action, const char *target,
                    json_t *detail, sy_err *e) {
    sy_stmt *st;
    int rc =
        sy_db_prepare(db,
                      "INSERT INTO audit_log (at, staff_id, username, action, target, detail, ip)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                      &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, sy_now_ms());
    if (actor && actor->staff_id)
        sy_stmt_bind_int(st, 2, actor->staff_id);
    else
        sy_stmt_bind_null(st, 2);
    sy_stmt_bind_text(st, 3, actor && actor->username ? actor->username : "system");
    sy_stmt_bind_text(st, 4, action);
    sy_stmt_bind_text(st, 5, target);
    char *d = detail ? sy_json_dump(detail) : NULL;
    sy_stmt_bind_text(st, 6, d);
    free(d);
    sy_stmt_bind_text(st, 7, actor ? actor->ip : NULL);
    return exec_stmt(st, e);
}
