/* staff_writekey.c — write-key checks for callers outside the HTTP
 * authenticator (the Segment endpoints accept the key in the body), and the
 * reference checks other modules register for store/department deletes. */
#include "staff_int.h"

int sy_staff_check_write_key(sy_staff *s, sy_arena *a, const char *key, int64_t *id, sy_err *e) {
    if (!key || !*key) return sy_err_set(e, SY_E_UNAUTHENTICATED, "a write key is required");
    sy_auth_input in = {
        .method = "POST", .authorization = sy_sprintf(a, "Bearer %s", key), .ip = ""};
    sy_auth out;
    if (!sy_startswith(key, SY_WRITE_KEY_PREFIX))
        return sy_err_set(e, SY_E_UNAUTHENTICATED, "write key is unknown or revoked");
    int rc = sy_staff_auth(s, a, &in, SY_AUTH_WRITE_KEY, &out, e);
    if (rc) return rc;
    *id = ((const sy_actor *)out.actor)->write_key_id;
    return 0;
}

void sy_staff_add_ref_check(sy_staff *s, sy_staff_ref_check fn, void *ctx) {
    if (s->n_ref_checks >= (int)SY_ARRAY_LEN(s->ref_checks)) return;
    s->ref_checks[s->n_ref_checks].fn = fn;
    s->ref_checks[s->n_ref_checks].ctx = ctx;
    s->n_ref_checks++;
}
