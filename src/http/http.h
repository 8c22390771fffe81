/* http.h — the HTTP server, router and JSON replies (libmicrohttpd + jansson).
 *
 * http/ knows nothing of siyu's domains: each domain module hands it a table
 * of routes (method, path pattern, handler, auth kind, required permission
 * bits, body limit, summary) and the staff module installs the authenticator
 * that turns cookies, bearer tokens and write keys into an sy_auth. Every
 * handler has one shape: parse and validate → do → reply through the helpers
 * below; it never touches the socket. A handler returns 0 after replying, or
 * a negative SY_E_* code with r->err filled, and the server sends the JSON
 * error {"error":{"code","message","details"}} with the matching status.
 *
 * Requests are served by libmicrohttpd's thread pool; handlers run on those
 * threads and must be thread-safe. Each request has its own arena
 * (r->arena), destroyed after the reply is sent. */
#ifndef SY_HTTP_H
#define SY_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "base/base.h"

typedef struct sy_http sy_http;
typedef struct sy_req sy_req;

/* Who is calling. Filled by the authenticator; http/ itself only reads
 * `kind` and `perms` (to enforce route.auth and route.perm). `actor` points at
 * the staff module's description of the caller (arena memory). */
enum { SY_AUTH_NONE = 0, SY_AUTH_STAFF = 1, SY_AUTH_WRITE_KEY = 2 };
typedef struct sy_auth {
    int kind;          /* SY_AUTH_NONE when anonymous */
    uint64_t perms;    /* feature permission bits of the caller */
    const void *actor; /* domain-defined (staff.h: sy_actor) */
} sy_auth;

typedef int (*sy_handler)(sy_req *r);

/* One route. pattern uses {name} segments: "/api/v1/contacts/{id}".
 * auth is what the route requires: SY_AUTH_NONE (public), SY_AUTH_STAFF
 * (session or API token; then every bit of perm must be held) or
 * SY_AUTH_WRITE_KEY. body_limit is the largest body accepted in bytes
 * (0 → 64 KiB default); a larger body is answered 413 before the handler
 * runs. summary and tag feed docs and logs. */
typedef struct sy_route {
    const char *method;
    const char *pattern;
    sy_handler fn;
    void *ctx;
    int auth;
    uint64_t perm;
    size_t body_limit;
    const char *summary;
    /* Accept gzip/deflate bodies (Content-Encoding, or gzip magic bytes
     * whatever the headers say, as some SDKs mislabel them); body_limit then
     * bounds both the compressed and the decompressed size. */
    int compressed;
} sy_route;

/* Authenticator: inspects the request (cookies, Authorization header, CSRF
 * header on writes) and fills *out. Returns 0 (possibly with kind NONE when no
 * credentials were sent) or an error (SY_E_UNAUTHENTICATED for a bad or
 * expired session/token, SY_E_CSRF for a missing CSRF token on a cookie
 * write), which is sent as the reply. `required` is the route's auth kind. */
typedef int (*sy_authenticator)(void *ctx, sy_req *r, int required, sy_auth *out, sy_err *e);

/* A request as the handler sees it. Fields are read-only for handlers except
 * err (fill it when returning an error). All strings live in r->arena. */
struct sy_req {
    sy_arena *arena;
    const char *method;
    const char *path; /* without query string */
    const char *rid;  /* request id, also sent as X-Request-Id */
    const char *body; /* NUL-terminated; body_len bytes (may be 0) */
    size_t body_len;
    const char *remote_ip;
    const sy_route *route;
    void *ctx; /* route->ctx */
    sy_auth auth;
    sy_err err;
    json_t *err_details; /* optional: attached to the error reply (stolen) */
    /* private to http/ */
    void *priv;
};

/* Creates a server; routes are added before sy_http_start. */
sy_http *sy_http_create(void);
void sy_http_destroy(sy_http *h); /* stops it first; NULL ok */
void sy_http_set_authenticator(sy_http *h, sy_authenticator fn, void *ctx);
/* Adds n routes (the table must outlive the server). */
void sy_http_add_routes(sy_http *h, const sy_route *routes, size_t n);
/* Serves static files from dir for GET paths outside /api and /v1, with an
 * index.html fallback for client-side routes. NULL disables. */
void sy_http_set_static_dir(sy_http *h, const char *dir);
/* Registers a hook appending lines to GET /metrics (Prometheus text). */
typedef void (*sy_metrics_hook)(void *ctx, sy_buf *out);
void sy_http_add_metrics(sy_http *h, sy_metrics_hook fn, void *ctx);
/* Listens on addr ("127.0.0.1:8080"; port 0 picks a free port) with a pool
 * of threads. Errors: SY_E_INVALID (bad address), SY_E_IO (cannot bind). */
int sy_http_start(sy_http *h, const char *addr, int threads, sy_err *e);
/* Port actually bound (useful with port 0). */
int sy_http_port(const sy_http *h);
void sy_http_stop(sy_http *h);
/* Stops accepting new connections while requests in flight (suspended
 * ones included) can still be answered; call before draining the modules
 * that resume suspended requests, then sy_http_stop. */
void sy_http_quiesce(sy_http *h);
/* The route table, for `siyu routes` and the OpenAPI completeness check. */
size_t sy_http_route_count(const sy_http *h);
const sy_route *sy_http_route_at(const sy_http *h, size_t i);

/* --- reading the request --- */
/* Path parameter {name}; NULL when absent. */
const char *sy_req_param(sy_req *r, const char *name);
/* Path parameter parsed as a positive int64; SY_E_INVALID (r->err filled) otherwise. */
int sy_req_param_id(sy_req *r, const char *name, int64_t *out);
/* Query-string argument (decoded); NULL when absent. */
const char *sy_req_query(sy_req *r, const char *name);
/* The list convention of every /api/v1 listing: ?limit= from 1 to 500,
 * default 50. SY_E_INVALID (r->err names "limit") otherwise. */
#define SY_LIST_DEFAULT 50
#define SY_LIST_MAX 500
int sy_req_limit(sy_req *r, size_t *out);
/* Request header (case-insensitive); NULL when absent. */
const char *sy_req_header(sy_req *r, const char *name);
/* Cookie value; NULL when absent. */
const char *sy_req_cookie(sy_req *r, const char *name);
/* Parses the body as a JSON object (r->err filled: 400 with line/column).
 * The object is released with the arena. */
int sy_req_json(sy_req *r, json_t **out);

/* --- deferred replies ---
 * A handler that must wait for other work (ingestion waits for its group
 * commit) calls sy_req_defer(r) and returns SY_DEFERRED. Its connection is
 * suspended; no pool thread is held. The thread doing the work later fills
 * the reply with sy_reply_json/sy_reply_raw (or sets r->err) and calls
 * sy_req_resume(r, rc) exactly once; rc < 0 sends r->err as the error. After
 * sy_req_resume the request must not be touched again. */
#define SY_DEFERRED 1
void sy_req_defer(sy_req *r);
void sy_req_resume(sy_req *r, int rc);

/* --- replying (each handler replies exactly once) --- */
/* Sends v (stolen) with status. Returns 0. */
int sy_reply_json(sy_req *r, int status, json_t *v);
/* Sends bytes (copied) with a content type. Returns 0. */
int sy_reply_raw(sy_req *r, int status, const char *content_type, const void *data, size_t n);
/* Adds a response header (e.g. Set-Cookie, Content-Disposition); call before replying. */
void sy_reply_header(sy_req *r, const char *name, const char *value);

/* Builds the JSON error object for code/err (used by the server; exposed for tests). */
json_t *sy_http_error_json(const sy_err *e, json_t *details);

#endif
