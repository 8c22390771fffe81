/* json.c — strict request-body helpers over jansson. */
#include <stdlib.h>
#include <string.h>
#include "base.h"

int sy_json_parse_object(const char *body, size_t len, json_t **out, sy_err *e) {
    json_error_t je;
    *out = NULL;
    if (len == 0)
        return sy_err_set(e, SY_E_INVALID, "request body is empty; a JSON object is expected");
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        return sy_err_set(e, SY_E_INVALID, "malformed JSON at line %d, column %d: %s", je.line,
                          je.column, je.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return sy_err_set(e, SY_E_INVALID, "request body must be a JSON object");
    }
    *out = v;
    return 0;
}

int sy_json_only(json_t *obj, const char *const *allowed, sy_err *e) {
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0) {
                ok = 1;
                break;
            }
        if (!ok) return sy_err_field(e, SY_E_INVALID, key, "unknown field \"%s\"", key);
    }
    return 0;
}

static int absent(json_t *obj, const char *key, json_t **v, int *present) {
    *v = json_object_get(obj, key);
    if (present) *present = *v != NULL && !json_is_null(*v);
    return *v == NULL || json_is_null(*v);
}

int sy_json_str(json_t *obj, const char *key, const char **out, int *present, sy_err *e) {
    json_t *v;
    if (absent(obj, key, &v, present)) return 0;
    if (!json_is_string(v))
        return sy_err_field(e, SY_E_INVALID, key, "field \"%s\" must be a string", key);
    *out = json_string_value(v);
    return 0;
}

int sy_json_int(json_t *obj, const char *key, int64_t *out, int *present, sy_err *e) {
    json_t *v;
    if (absent(obj, key, &v, present)) return 0;
    if (!json_is_integer(v))
        return sy_err_field(e, SY_E_INVALID, key, "field \"%s\" must be an integer", key);
    *out = json_integer_value(v);
    return 0;
}

int sy_json_bool(json_t *obj, const char *key, int *out, int *present, sy_err *e) {
    json_t *v;
    if (absent(obj, key, &v, present)) return 0;
    if (!json_is_boolean(v))
        return sy_err_field(e, SY_E_INVALID, key, "field \"%s\" must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

int sy_json_num(json_t *obj, const char *key, double *out, int *present, sy_err *e) {
    json_t *v;
    if (absent(obj, key, &v, present)) return 0;
    if (!json_is_number(v))
        return sy_err_field(e, SY_E_INVALID, key, "field \"%s\" must be a number", key);
    *out = json_number_value(v);
    return 0;
}

int sy_json_req_str(json_t *obj, const char *key, const char **out, sy_err *e) {
    int present = 0;
    int rc = sy_json_str(obj, key, out, &present, e);
    if (rc) return rc;
    if (!present) return sy_err_field(e, SY_E_INVALID, key, "field \"%s\" is required", key);
    return 0;
}

int sy_json_req_int(json_t *obj, const char *key, int64_t *out, sy_err *e) {
    int present = 0;
    int rc = sy_json_int(obj, key, out, &present, e);
    if (rc) return rc;
    if (!present) return sy_err_field(e, SY_E_INVALID, key, "field \"%s\" is required", key);
    return 0;
}

char *sy_json_dump(const json_t *v) {
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12));
}
