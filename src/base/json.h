/* json.h — jansson helpers for strict request bodies.
 *
 * Management API bodies are validated strictly: unknown fields are rejected,
 * types are checked, and each failure names the field. The getters fill an
 * sy_err with code SY_E_INVALID and field set. The returned strings borrow
 * from the json_t and live as long as it does. */
#ifndef SY_JSON_H
#define SY_JSON_H

#include <jansson.h>
#include <stdint.h>
#include "err.h"

/* Parses a request body that must be a JSON object. Errors name line and
 * column. The caller owns *out (json_decref). */
int sy_json_parse_object(const char *body, size_t len, json_t **out, sy_err *e);

/* Rejects any key of obj not in the NULL-terminated list allowed. */
int sy_json_only(json_t *obj, const char *const *allowed, sy_err *e);

/* Optional getters: when the key is absent (or JSON null, where allow_null)
 * *present is 0 and the out value is untouched. Present with the wrong type →
 * SY_E_INVALID "field \"x\" must be a string". present may be NULL. */
int sy_json_str(json_t *obj, const char *key, const char **out, int *present, sy_err *e);
int sy_json_int(json_t *obj, const char *key, int64_t *out, int *present, sy_err *e);
int sy_json_bool(json_t *obj, const char *key, int *out, int *present, sy_err *e);
int sy_json_num(json_t *obj, const char *key, double *out, int *present, sy_err *e);
/* Required variants: absence → SY_E_INVALID "field \"x\" is required". */
int sy_json_req_str(json_t *obj, const char *key, const char **out, sy_err *e);
int sy_json_req_int(json_t *obj, const char *key, int64_t *out, sy_err *e);

/* Serialises v compactly (UTF-8, no ASCII escaping). Caller frees. */
char *sy_json_dump(const json_t *v);

#endif
