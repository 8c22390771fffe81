/* err.c — error codes, their API names and HTTP statuses. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "base.h"

int sy_err_set(sy_err *e, int code, const char *fmt, ...) {
    if (!e) return code;
    va_list ap;
    va_start(ap, fmt);
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->field[0] = 0;
    return code;
}

int sy_err_field(sy_err *e, int code, const char *field, const char *fmt, ...) {
    if (!e) return code;
    va_list ap;
    va_start(ap, fmt);
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    return code;
}

void sy_err_clear(sy_err *e) {
    if (!e) return;
    e->code = 0;
    e->msg[0] = 0;
    e->field[0] = 0;
}

const char *sy_err_name(int code) {
    switch (code) {
    case SY_OK:
        return "ok";
    case SY_E_INVALID:
        return "invalid_argument";
    case SY_E_NOT_FOUND:
        return "not_found";
    case SY_E_CONFLICT:
        return "conflict";
    case SY_E_UNAUTHENTICATED:
        return "unauthenticated";
    case SY_E_FORBIDDEN:
        return "permission_denied";
    case SY_E_TOO_LARGE:
        return "payload_too_large";
    case SY_E_RATE_LIMIT:
        return "rate_limited";
    case SY_E_UNSUPPORTED:
        return "unsupported_media_type";
    case SY_E_PRECONDITION:
        return "failed_precondition";
    case SY_E_CSRF:
        return "csrf_failed";
    case SY_E_METHOD:
        return "method_not_allowed";
    case SY_E_UNAVAILABLE:
        return "unavailable";
    default:
        return "internal";
    }
}

int sy_err_http_status(int code) {
    switch (code) {
    case SY_OK:
        return 200;
    case SY_E_INVALID:
        return 400;
    case SY_E_NOT_FOUND:
        return 404;
    case SY_E_CONFLICT:
        return 409;
    case SY_E_UNAUTHENTICATED:
        return 401;
    case SY_E_FORBIDDEN:
        return 403;
    case SY_E_CSRF:
        return 403;
    case SY_E_TOO_LARGE:
        return 413;
    case SY_E_RATE_LIMIT:
        return 429;
    case SY_E_UNSUPPORTED:
        return 415;
    case SY_E_PRECONDITION:
        return 409;
    case SY_E_METHOD:
        return 405;
    case SY_E_UNAVAILABLE:
        return 503;
    default:
        return 500;
    }
}
