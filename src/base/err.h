/* err.h — error codes and the human message that travels with them.
 *
 * Every function that can fail returns int: 0 on success or a negative SY_E_*
 * code, and fills a caller-provided sy_err with a lowercase message that names
 * the offending value. The HTTP layer maps the code to a status and a JSON
 * error code string, and sends the message unchanged, so write messages for
 * the operator who will read them. */
#ifndef SY_ERR_H
#define SY_ERR_H

#include <stddef.h>

enum {
    SY_OK = 0,
    SY_E_INVALID = -1,         /* invalid_argument, 400 */
    SY_E_NOT_FOUND = -2,       /* not_found, 404 */
    SY_E_CONFLICT = -3,        /* conflict, 409 (duplicate identity, stale version) */
    SY_E_UNAUTHENTICATED = -4, /* unauthenticated, 401 */
    SY_E_FORBIDDEN = -5,       /* permission_denied, 403 */
    SY_E_TOO_LARGE = -6,       /* payload_too_large, 413 */
    SY_E_RATE_LIMIT = -7,      /* rate_limited, 429 */
    SY_E_NOMEM = -8,           /* internal, 500 */
    SY_E_IO = -9,              /* internal, 500: disk, database */
    SY_E_INTERNAL = -10,       /* internal, 500: a bug */
    SY_E_UNSUPPORTED = -11,    /* unsupported_media_type / not implemented, 415 */
    SY_E_PRECONDITION = -12,   /* failed_precondition, 412/409 (e.g. newer schema) */
    SY_E_CSRF = -13,           /* csrf_failed, 403 */
    SY_E_METHOD = -14,         /* method_not_allowed, 405 */
    SY_E_UNAVAILABLE = -15,    /* unavailable, 503: shutting down, retry */
};

/* The message buffer a caller passes down. `field` optionally names the
 * request field (JSON pointer-ish, "phone", "rows[3].email") at fault so the
 * console can show the message at the right input. */
typedef struct sy_err {
    int code;
    char msg[512];
    char field[128];
} sy_err;

/* Records code and a printf-style message in e (e may be NULL) and returns
 * code, so that `return sy_err_set(e, SY_E_INVALID, "...")` reads naturally.
 * A second call overwrites the first. */
int sy_err_set(sy_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Same as sy_err_set and also names the offending field. */
int sy_err_field(sy_err *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Clears e to "no error". */
void sy_err_clear(sy_err *e);

/* Stable API string for a code ("invalid_argument", "not_found", ...). */
const char *sy_err_name(int code);

/* HTTP status for a code. */
int sy_err_http_status(int code);

#endif
