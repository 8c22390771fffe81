/* http.c — libmicrohttpd server: routing, body limits, authentication hook,
 * JSON errors, request ids, per-route metrics, the OpenAPI document,
 * /healthz, /metrics and static files for the console. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <microhttpd.h>
#include <zlib.h>
#include "http.h"

#define DEFAULT_BODY_LIMIT (64 * 1024)
#define MAX_ROUTES 512
#define MAX_PARAMS 6
#define N_BUCKETS 10

/* Latency histogram bounds in ms for /metrics. */
static const double bucket_ms[N_BUCKETS] = {1, 2, 5, 10, 25, 50, 100, 250, 1000, 5000};

/* Counters of one route (index i in the route table); the slot past the last
 * route counts unmatched requests. Written from pool threads with atomics. */
typedef struct route_stats {
    _Atomic uint64_t count;
    _Atomic uint64_t errors; /* replies with status >= 400 */
    _Atomic uint64_t micros; /* total latency */
    _Atomic uint64_t bucket[N_BUCKETS];
} route_stats;

typedef struct metrics_hook {
    sy_metrics_hook fn;
    void *ctx;
} metrics_hook;

struct sy_http {
    struct MHD_Daemon *daemon;
    int port;
    const sy_route *routes[MAX_ROUTES];
    size_t n_routes;
    route_stats stats[MAX_ROUTES + 1];
    sy_authenticator authn;
    void *authn_ctx;
    char *static_dir;
    metrics_hook hooks[16];
    size_t n_hooks;
    char *openapi; /* merged document, built at start */
    size_t openapi_len;
    int64_t started_at;
    int listen_fd; /* the listening socket after sy_http_quiesce, else -1 */
};

typedef struct header {
    const char *name, *value;
    struct header *next;
} header;

/* Per-request state behind sy_req.priv. */
typedef struct req_state {
    sy_http *h;
    struct MHD_Connection *conn;
    sy_req req;
    size_t route_index; /* n_routes when unmatched */
    const char *pnames[MAX_PARAMS], *pvalues[MAX_PARAMS];
    int nparams;
    int method_mismatch; /* path matched a route with another method */
    size_t limit;
    sy_buf body;
    int too_large;
    int64_t t0;
    int deferred; /* handler returned SY_DEFERRED; connection suspended */
    int resumed;  /* sy_req_resume called */
    int deferred_rc;
    /* reply */
    int replied;
    int status;
    const char *ctype;
    char *data;
    size_t len;
    header *headers;
} req_state;

/* --- routing --- */

/* Matches path against pattern, filling params. Returns 1 on a match. */
static int match(const char *pattern, const char *path, req_state *rs) {
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            if (!pe) return 0;
            const char *se = strchr(s, '/');
            if (!se) se = s + strlen(s);
            if (se == s || np >= MAX_PARAMS) return 0;
            rs->pnames[np] = sy_strndup(rs->req.arena, p + 1, (size_t)(pe - p - 1));
            rs->pvalues[np] = sy_strndup(rs->req.arena, s, (size_t)(se - s));
            np++;
            p = pe + 1;
            s = se;
        } else {
            if (*p != *s) return 0;
            p++;
            s++;
        }
    }
    if (*p || *s) return 0;
    rs->nparams = np;
    return 1;
}

static void route_request(sy_http *h, req_state *rs) {
    rs->route_index = h->n_routes;
    for (size_t i = 0; i < h->n_routes; i++) {
        if (!match(h->routes[i]->pattern, rs->req.path, rs)) continue;
        const char *m = rs->req.method;
        if (strcmp(h->routes[i]->method, m) == 0 ||
            (strcmp(m, "HEAD") == 0 && strcmp(h->routes[i]->method, "GET") == 0)) {
            rs->route_index = i;
            rs->req.route = h->routes[i];
            rs->req.ctx = h->routes[i]->ctx;
            return;
        }
        rs->method_mismatch = 1;
    }
    rs->nparams = 0;
}

/* --- public request helpers --- */

const char *sy_req_param(sy_req *r, const char *name) {
    req_state *rs = r->priv;
    for (int i = 0; i < rs->nparams; i++)
        if (strcmp(rs->pnames[i], name) == 0) return rs->pvalues[i];
    return NULL;
}

int sy_req_param_id(sy_req *r, const char *name, int64_t *out) {
    const char *v = sy_req_param(r, name);
    int64_t id;
    if (!v || sy_parse_i64(v, &id) || id <= 0)
        return sy_err_field(&r->err, SY_E_INVALID, name,
                            "path parameter \"%s\" must be a positive integer, got \"%s\"", name,
                            v ? v : "");
    *out = id;
    return 0;
}

const char *sy_req_query(sy_req *r, const char *name) {
    req_state *rs = r->priv;
    return MHD_lookup_connection_value(rs->conn, MHD_GET_ARGUMENT_KIND, name);
}

int sy_req_limit(sy_req *r, size_t *out) {
    const char *v = sy_req_query(r, "limit");
    int64_t n = SY_LIST_DEFAULT;
    if (v && (sy_parse_i64(v, &n) || n < 1 || n > SY_LIST_MAX))
        return sy_err_field(&r->err, SY_E_INVALID, "limit",
                            "limit \"%.20s\" must be a whole number from 1 to %d", v, SY_LIST_MAX);
    *out = (size_t)n;
    return 0;
}

const char *sy_req_header(sy_req *r, const char *name) {
    req_state *rs = r->priv;
    return MHD_lookup_connection_value(rs->conn, MHD_HEADER_KIND, name);
}

const char *sy_req_cookie(sy_req *r, const char *name) {
    req_state *rs = r->priv;
    return MHD_lookup_connection_value(rs->conn, MHD_COOKIE_KIND, name);
}

static void free_json(void *p) {
    json_decref(p);
}

int sy_req_json(sy_req *r, json_t **out) {
    int rc = sy_json_parse_object(r->body, r->body_len, out, &r->err);
    if (rc == 0) sy_arena_on_destroy(r->arena, free_json, *out);
    return rc;
}

/* --- replies --- */

void sy_reply_header(sy_req *r, const char *name, const char *value) {
    req_state *rs = r->priv;
    header *hd = sy_alloc(r->arena, sizeof *hd);
    hd->name = sy_strdup(r->arena, name);
    hd->value = sy_strdup(r->arena, value);
    hd->next = rs->headers;
    rs->headers = hd;
}

int sy_reply_raw(sy_req *r, int status, const char *content_type, const void *data, size_t n) {
    req_state *rs = r->priv;
    if (rs->replied) {
        sy_error("msg=\"handler replied twice\" path=%s", r->path);
        return 0;
    }
    rs->replied = 1;
    rs->status = status;
    rs->ctype = sy_strdup(r->arena, content_type);
    rs->data = sy_alloc(r->arena, n + 1);
    if (n) memcpy(rs->data, data, n);
    rs->len = n;
    return 0;
}

int sy_reply_json(sy_req *r, int status, json_t *v) {
    char *s = sy_json_dump(v);
    json_decref(v);
    if (!s) return sy_err_set(&r->err, SY_E_INTERNAL, "cannot encode the reply");
    sy_reply_raw(r, status, "application/json; charset=utf-8", s, strlen(s));
    free(s);
    return 0;
}

json_t *sy_http_error_json(const sy_err *e, json_t *details) {
    if (!details) details = json_object();
    if (e->field[0] && !json_object_get(details, "field"))
        json_object_set_new(details, "field", json_string(e->field));
    json_t *err = json_pack("{s:s, s:s, s:o}", "code", sy_err_name(e->code), "message",
                            e->msg[0] ? e->msg : sy_err_name(e->code), "details", details);
    return json_pack("{s:o}", "error", err);
}

static void reply_error(req_state *rs, int code, const char *fmt, const char *arg) {
    sy_err_set(&rs->req.err, code, fmt, arg);
    rs->replied = 0;
    sy_reply_json(&rs->req, sy_err_http_status(code), sy_http_error_json(&rs->req.err, NULL));
}

/* --- built-in routes --- */

extern const struct {
    const char *name;
    const char *json;
} sy_openapi_parts[];

/* Merges the docs/openapi fragments into one OpenAPI 3 document. A broken
 * fragment is a build defect: it is logged and skipped, and the completeness
 * test then fails. */
static void build_openapi(sy_http *h) {
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:{}, s:{s:{}, s:{s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:s, "
        "s:s}}}}",
        "openapi", "3.0.3", "info", "title", "siyu API", "version", SIYU_VERSION, "description",
        "siyu (私域) management API. Errors are {\"error\":{\"code\",\"message\",\"details\"}}.",
        "paths", "components", "schemas", "securitySchemes", "session", "type", "apiKey", "in",
        "cookie", "name", "siyu_session", "bearer", "type", "http", "scheme", "bearer", "writeKey",
        "type", "http", "scheme", "basic");
    json_t *paths = json_object_get(doc, "paths");
    json_t *components = json_object_get(doc, "components");
    json_t *schemas = json_object_get(components, "schemas");
    /* The error shape every route shares. */
    json_object_set_new(schemas, "Error",
                        json_pack("{s:s, s:{s:{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}}}}", "type",
                                  "object", "properties", "error", "type", "object", "properties",
                                  "code", "type", "string", "message", "type", "string", "details",
                                  "type", "object"));
    json_t *responses =
        json_pack("{s:{s:s, s:{s:{s:{s:s}}}}}", "Error", "description",
                  "Error: {\"error\":{\"code\",\"message\",\"details\"}}", "content",
                  "application/json", "schema", "$ref", "#/components/schemas/Error");
    json_object_set_new(components, "responses", responses);
    for (int i = 0; sy_openapi_parts[i].name; i++) {
        json_error_t je;
        json_t *part = json_loads(sy_openapi_parts[i].json, 0, &je);
        if (!part) {
            sy_error("msg=\"bad OpenAPI fragment\" file=%s line=%d error=\"%s\"",
                     sy_openapi_parts[i].name, je.line, je.text);
            continue;
        }
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(part, "paths"), k, v) {
            json_t *existing = json_object_get(paths, k);
            if (existing)
                json_object_update(existing, v);
            else
                json_object_set(paths, k, v);
        }
        json_t *ps = json_object_get(json_object_get(part, "components"), "schemas");
        if (ps) json_object_update(schemas, ps);
        json_t *pr = json_object_get(json_object_get(part, "components"), "responses");
        if (pr) json_object_update(responses, pr);
        json_decref(part);
    }
    h->openapi = json_dumps(doc, JSON_INDENT(1));
    h->openapi_len = h->openapi ? strlen(h->openapi) : 0;
    json_decref(doc);
}

static int h_openapi(sy_req *r) {
    sy_http *h = r->ctx;
    return sy_reply_raw(r, 200, "application/json; charset=utf-8", h->openapi, h->openapi_len);
}

static int h_healthz(sy_req *r) {
    sy_http *h = r->ctx;
    json_t *v = json_pack("{s:s, s:s, s:I}", "status", "ok", "version", SIYU_VERSION, "uptime_ms",
                          (json_int_t)(sy_now_ms() - h->started_at));
    return sy_reply_json(r, 200, v);
}

static int h_metrics(sy_req *r) {
    sy_http *h = r->ctx;
    sy_buf b = SY_BUF_INIT;
    sy_buf_adds(&b, "# HELP siyu_http_requests_total HTTP requests by route and method.\n"
                    "# TYPE siyu_http_requests_total counter\n");
    for (size_t i = 0; i <= h->n_routes; i++) {
        const char *m = i < h->n_routes ? h->routes[i]->method : "ANY";
        const char *p = i < h->n_routes ? h->routes[i]->pattern : "unmatched";
        sy_buf_addf(&b, "siyu_http_requests_total{method=\"%s\",route=\"%s\"} %llu\n", m, p,
                    (unsigned long long)atomic_load(&h->stats[i].count));
    }
    sy_buf_adds(&b, "# HELP siyu_http_errors_total Replies with status >= 400 by route.\n"
                    "# TYPE siyu_http_errors_total counter\n");
    for (size_t i = 0; i <= h->n_routes; i++) {
        uint64_t n = atomic_load(&h->stats[i].errors);
        if (!n) continue;
        const char *m = i < h->n_routes ? h->routes[i]->method : "ANY";
        const char *p = i < h->n_routes ? h->routes[i]->pattern : "unmatched";
        sy_buf_addf(&b, "siyu_http_errors_total{method=\"%s\",route=\"%s\"} %llu\n", m, p,
                    (unsigned long long)n);
    }
    sy_buf_adds(&b, "# HELP siyu_http_request_duration_seconds Request latency by route.\n"
                    "# TYPE siyu_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < h->n_routes; i++) {
        uint64_t count = atomic_load(&h->stats[i].count);
        if (!count) continue;
        const char *m = h->routes[i]->method, *p = h->routes[i]->pattern;
        uint64_t cum = 0;
        for (int k = 0; k < N_BUCKETS; k++) {
            cum += atomic_load(&h->stats[i].bucket[k]);
            sy_buf_addf(&b,
                        "siyu_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le="
                        "\"%g\"} %llu\n",
                        m, p, bucket_ms[k] / 1000.0, (unsigned long long)cum);
        }
        sy_buf_addf(&b,
                    "siyu_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+"
                    "Inf\"} %llu\n",
                    m, p, (unsigned long long)count);
        sy_buf_addf(&b, "siyu_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n",
                    m, p, (double)atomic_load(&h->stats[i].micros) / 1e6);
        sy_buf_addf(&b,
                    "siyu_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
                    m, p, (unsigned long long)count);
    }
    for (size_t i = 0; i < h->n_hooks; i++)
        h->hooks[i].fn(h->hooks[i].ctx, &b);
    sy_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p ? b.p : "", b.len);
    sy_buf_release(&b);
    return 0;
}

static const sy_route builtin_routes[] = {
    {"GET", "/healthz", h_healthz, NULL, SY_AUTH_NONE, 0, 0, "Liveness: 200 while the server runs"},
    {"GET", "/metrics", h_metrics, NULL, SY_AUTH_NONE, 0, 0, "Prometheus metrics"},
    {"GET", "/api/openapi.json", h_openapi, NULL, SY_AUTH_NONE, 0, 0,
     "This API's OpenAPI 3 document"},
};

/* --- static files --- */

static const char *mime_of(const char *path) {
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".mjs", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".json", "application/json"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"},
                 {".jpg", "image/jpeg"},
                 {".ico", "image/x-icon"},
                 {".woff2", "font/woff2"},
                 {".woff", "font/woff"},
                 {".ttf", "font/ttf"},
                 {".map", "application/json"},
                 {".txt", "text/plain; charset=utf-8"},
                 {".csv", "text/csv; charset=utf-8"}};
    const char *dot = strrchr(path, '.');
    if (dot)
        for (size_t i = 0; i < SY_ARRAY_LEN(types); i++)
            if (strcasecmp(dot, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

/* Serves a file under the console directory. Returns 1 when a response was
 * prepared (file or index.html fallback), 0 when nothing matches. */
static int serve_static(sy_http *h, req_state *rs, struct MHD_Response **out, int *status) {
    if (!h->static_dir) return 0;
    const char *path = rs->req.path;
    if (strstr(path, "..") || strchr(path, '\\')) return 0;
    const char *rel = strcmp(path, "/") == 0 ? "/index.html" : path;
    char full[1024];
    snprintf(full, sizeof full, "%s%s", h->static_dir, rel);
    struct stat st;
    int fallback = 0;
    if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
        /* Client-side routes (/contacts/42) get index.html; missing assets 404. */
        const char *last = strrchr(path, '/');
        if (last && strchr(last, '.')) return 0;
        snprintf(full, sizeof full, "%s/index.html", h->static_dir);
        if (stat(full, &st) != 0) return 0;
        fallback = 1;
    }
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return 0;
    }
    MHD_add_response_header(resp, "Content-Type", mime_of(full));
    if (!fallback && strncmp(rel, "/assets/", 8) == 0)
        MHD_add_response_header(resp, "Cache-Control", "public, max-age=31536000, immutable");
    else
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    *out = resp;
    *status = 200;
    return 1;
}

/* --- the request cycle --- */

static int is_api_path(const char *p) {
    return strncmp(p, "/api/", 5) == 0 || strcmp(p, "/api") == 0 || strncmp(p, "/v1/", 4) == 0 ||
           strcmp(p, "/healthz") == 0 || strcmp(p, "/metrics") == 0;
}

static int valid_rid(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static void finish(req_state *rs, int rc);

/* Inflates a gzip or zlib body in place when the route accepts compressed
 * bodies. Returns 0, or an error code with r->err set. */
static int decompress_body(req_state *rs) {
    sy_req *r = &rs->req;
    const char *enc = MHD_lookup_connection_value(rs->conn, MHD_HEADER_KIND, "Content-Encoding");
    int magic = rs->body.len >= 2 && (unsigned char)rs->body.p[0] == 0x1f &&
                (unsigned char)rs->body.p[1] == 0x8b;
    if (enc && strcasecmp(enc, "identity") == 0) enc = NULL;
    if (enc && strcasecmp(enc, "gzip") != 0 && strcasecmp(enc, "deflate") != 0 &&
        strcasecmp(enc, "x-gzip") != 0)
        return sy_err_set(&r->err, SY_E_UNSUPPORTED,
                          "Content-Encoding \"%s\" is not supported; send gzip, deflate or none",
                          enc);
    if (!enc && !magic) return 0;
    if (!r->route->compressed)
        return sy_err_set(&r->err, SY_E_UNSUPPORTED,
                          "this route does not accept compressed bodies");
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) return sy_err_set(&r->err, SY_E_NOMEM, "out of memory");
    sy_buf out = SY_BUF_INIT;
    z.next_in = (unsigned char *)rs->body.p;
    z.avail_in = (unsigned)rs->body.len;
    int zr = Z_OK, rc = 0;
    while (zr != Z_STREAM_END) {
        sy_buf_grow(&out, 64 * 1024);
        z.next_out = (unsigned char *)out.p + out.len;
        z.avail_out = (unsigned)(out.cap - out.len - 1);
        size_t before = z.avail_out;
        zr = inflate(&z, Z_NO_FLUSH);
        out.len += before - z.avail_out;
        if (out.len > rs->limit) {
            rc = sy_err_set(&r->err, SY_E_TOO_LARGE,
                            "decompressed body is larger than the %zu-byte limit", rs->limit);
            break;
        }
        if (zr == Z_STREAM_END) break;
        if (zr != Z_OK || (z.avail_in == 0 && before == z.avail_out)) {
            rc = sy_err_set(&r->err, SY_E_INVALID, "request body is not valid %s data",
                            enc ? enc : "gzip");
            break;
        }
    }
    inflateEnd(&z);
    if (rc) {
        sy_buf_release(&out);
        return rc;
    }
    out.p[out.len] = 0;
    sy_buf_release(&rs->body);
    rs->body = out;
    r->body = out.p;
    r->body_len = out.len;
    return 0;
}

void sy_req_defer(sy_req *r) {
    req_state *rs = r->priv;
    rs->deferred = 1;
    MHD_suspend_connection(rs->conn);
}

void sy_req_resume(sy_req *r, int rc) {
    req_state *rs = r->priv;
    rs->deferred_rc = rc;
    rs->resumed = 1;
    MHD_resume_connection(rs->conn);
}

static void dispatch(sy_http *h, req_state *rs) {
    sy_req *r = &rs->req;
    if (rs->route_index == h->n_routes) {
        if (rs->method_mismatch)
            reply_error(rs, SY_E_METHOD, "method %s is not allowed on this path", r->method);
        else
            reply_error(rs, SY_E_NOT_FOUND, "no route for %s", r->path);
        return;
    }
    if (rs->too_large) {
        sy_err_set(&r->err, SY_E_TOO_LARGE,
                   "request body is larger than the %zu-byte limit of this route", rs->limit);
        sy_reply_json(r, 413, sy_http_error_json(&r->err, NULL));
        return;
    }
    const sy_route *rt = r->route;
    int rc = decompress_body(rs);
    if (rc == 0 && h->authn) rc = h->authn(h->authn_ctx, r, rt->auth, &r->auth, &r->err);
    if (rc == 0 && rt->auth != SY_AUTH_NONE) {
        if (r->auth.kind == SY_AUTH_NONE)
            rc = sy_err_set(&r->err, SY_E_UNAUTHENTICATED,
                            rt->auth == SY_AUTH_WRITE_KEY ? "a write key is required"
                                                          : "sign in or send an API token");
        else if (r->auth.kind != rt->auth)
            rc = sy_err_set(&r->err, SY_E_FORBIDDEN,
                            rt->auth == SY_AUTH_WRITE_KEY ? "this route takes a write key"
                                                          : "write keys can only ingest events");
        else if ((r->auth.perms & rt->perm) != rt->perm)
            rc = sy_err_set(&r->err, SY_E_FORBIDDEN, "your role lacks the permission for %s %s",
                            rt->method, rt->pattern);
    }
    if (rc == 0) rc = rt->fn(r);
    if (rc == SY_DEFERRED && rs->deferred) return;
    finish(rs, rc);
}

/* Turns a handler's result into the reply: errors become JSON errors. */
static void finish(req_state *rs, int rc) {
    sy_req *r = &rs->req;
    const sy_route *rt = r->route;
    if (rc < 0) {
        rs->replied = 0;
        json_t *details = r->err_details;
        r->err_details = NULL;
        if (r->err.code == 0) sy_err_set(&r->err, rc, "%s", sy_err_name(rc));
        if (sy_err_http_status(r->err.code) >= 500)
            sy_error("msg=\"request failed\" route=\"%s %s\" error=\"%s\"", rt->method, rt->pattern,
                     r->err.msg);
        sy_reply_json(r, sy_err_http_status(r->err.code), sy_http_error_json(&r->err, details));
    } else if (!rs->replied) {
        sy_err_set(&r->err, SY_E_INTERNAL, "handler sent no reply");
        sy_reply_json(r, 500, sy_http_error_json(&r->err, NULL));
    }
}

static void record(sy_http *h, req_state *rs, int status) {
    route_stats *st = &h->stats[rs->route_index];
    int64_t us = (sy_mono_ms() - rs->t0) * 1000;
    atomic_fetch_add(&st->count, 1);
    if (status >= 400) atomic_fetch_add(&st->errors, 1);
    atomic_fetch_add(&st->micros, (uint64_t)us);
    double ms = (double)us / 1000.0;
    for (int k = 0; k < N_BUCKETS; k++)
        if (ms <= bucket_ms[k]) {
            atomic_fetch_add(&st->bucket[k], 1);
            break;
        }
}

static enum MHD_Result send_reply(sy_http *h, req_state *rs) {
    sy_req *r = &rs->req;
    struct MHD_Response *resp = NULL;
    int status = 0;
    if (rs->route_index == h->n_routes && !rs->method_mismatch && !is_api_path(r->path) &&
        (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) &&
        serve_static(h, rs, &resp, &status)) {
        /* static file */
    } else {
        if (rs->resumed) {
            finish(rs, rs->deferred_rc);
        } else {
            dispatch(h, rs);
            if (rs->deferred) return MHD_YES; /* suspended; answered on resume */
        }
        status = rs->status;
        resp = MHD_create_response_from_buffer(rs->len, rs->data, MHD_RESPMEM_MUST_COPY);
        if (!resp) return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", rs->ctype ? rs->ctype : "application/json");
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        for (header *hd = rs->headers; hd; hd = hd->next)
            MHD_add_response_header(resp, hd->name, hd->value);
    }
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    enum MHD_Result ret = MHD_queue_response(rs->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    record(h, rs, status);
    sy_log(status >= 500 ? SY_LOG_ERROR : SY_LOG_INFO,
           "method=%s path=%s route=\"%s\" status=%d ms=%lld", r->method, r->path,
           r->route ? r->route->pattern : "-", status, (long long)(sy_mono_ms() - rs->t0));
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    (void)version;
    sy_http *h = cls;
    req_state *rs = *con_cls;
    if (!rs) {
        sy_arena *a = sy_arena_create();
        if (!a) return MHD_NO;
        rs = sy_alloc(a, sizeof *rs);
        rs->h = h;
        rs->conn = conn;
        rs->t0 = sy_mono_ms();
        rs->req.arena = a;
        rs->req.priv = rs;
        rs->req.method = sy_strdup(a, method);
        rs->req.path = sy_strdup(a, url);
        const char *in_rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        if (valid_rid(in_rid)) {
            rs->req.rid = sy_strdup(a, in_rid);
        } else {
            char rid[17];
            sy_random_hex(rid, 8);
            rs->req.rid = sy_strdup(a, rid);
        }
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char ip[INET6_ADDRSTRLEN] = "";
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
        }
        rs->req.remote_ip = sy_strdup(a, ip);
        route_request(h, rs);
        rs->limit = rs->req.route && rs->req.route->body_limit ? rs->req.route->body_limit
                                                               : DEFAULT_BODY_LIMIT;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        int64_t n;
        if (cl && sy_parse_i64(cl, &n) == 0 && n > (int64_t)rs->limit) rs->too_large = 1;
        sy_buf_init(&rs->body);
        *con_cls = rs;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!rs->too_large) {
            if (rs->body.len + *upload_size > rs->limit) {
                rs->too_large = 1;
                sy_buf_release(&rs->body);
            } else {
                sy_buf_add(&rs->body, upload, *upload_size);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    sy_log_set_rid(rs->req.rid);
    rs->req.body = rs->body.p ? rs->body.p : "";
    rs->req.body_len = rs->body.len;
    enum MHD_Result ret = send_reply(h, rs);
    sy_log_set_rid(NULL);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    req_state *rs = *con_cls;
    if (!rs) return;
    sy_buf_release(&rs->body);
    sy_arena_destroy(rs->req.arena);
    *con_cls = NULL;
}

/* --- lifecycle --- */

sy_http *sy_http_create(void) {
    sy_http *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->listen_fd = -1;
    sy_route *b = malloc(sizeof builtin_routes);
    if (!b) {
        free(h);
        return NULL;
    }
    memcpy(b, builtin_routes, sizeof builtin_routes);
    for (size_t i = 0; i < SY_ARRAY_LEN(builtin_routes); i++)
        b[i].ctx = h;
    sy_http_add_routes(h, b, SY_ARRAY_LEN(builtin_routes));
    return h;
}

void sy_http_destroy(sy_http *h) {
    if (!h) return;
    sy_http_stop(h);
    free((void *)h->routes[0]); /* the builtin copy is the first table */
    free(h->static_dir);
    free(h->openapi);
    free(h);
}

void sy_http_set_authenticator(sy_http *h, sy_authenticator fn, void *ctx) {
    h->authn = fn;
    h->authn_ctx = ctx;
}

void sy_http_add_routes(sy_http *h, const sy_route *routes, size_t n) {
    for (size_t i = 0; i < n && h->n_routes < MAX_ROUTES; i++)
        h->routes[h->n_routes++] = &routes[i];
}

void sy_http_set_static_dir(sy_http *h, const char *dir) {
    free(h->static_dir);
    h->static_dir = dir ? strdup(dir) : NULL;
}

void sy_http_add_metrics(sy_http *h, sy_metrics_hook fn, void *ctx) {
    if (h->n_hooks < SY_ARRAY_LEN(h->hooks)) h->hooks[h->n_hooks++] = (metrics_hook){fn, ctx};
}

size_t sy_http_route_count(const sy_http *h) {
    return h->n_routes;
}
const sy_route *sy_http_route_at(const sy_http *h, size_t i) {
    return i < h->n_routes ? h->routes[i] : NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n'))
        msg[--n] = 0;
    for (char *c = msg; *c; c++)
        if (*c == '"') *c = '\'';
    sy_warn("component=microhttpd msg=\"%s\"", msg);
}

int sy_http_start(sy_http *h, const char *addr, int threads, sy_err *e) {
    char host[128];
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    int64_t port;
    if (!colon || (size_t)(colon - addr) >= sizeof host || sy_parse_i64(colon + 1, &port) ||
        port < 0 || port > 65535)
        return sy_err_set(e, SY_E_INVALID,
                          "listen address \"%s\" must be HOST:PORT, e.g. 127.0.0.1:8080",
                          addr ? addr : "");
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa.sin_addr) != 1)
        return sy_err_set(e, SY_E_INVALID, "listen host \"%s\" is not an IPv4 address", host);
    build_openapi(h);
    h->started_at = sy_now_ms();
    h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                                     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME,
                                 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                                 NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads > 0 ? threads : 4),
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
    if (!h->daemon)
        return sy_err_set(e, SY_E_IO, "cannot listen on %s (address in use or not permitted)",
                          addr);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : (int)port;
    return 0;
}

int sy_http_port(const sy_http *h) {
    return h->port;
}

void sy_http_quiesce(sy_http *h) {
    if (h && h->daemon && h->listen_fd < 0) {
        MHD_socket fd = MHD_quiesce_daemon(h->daemon);
        /* closed only after MHD_stop_daemon: pool threads may still use it */
        if (fd != MHD_INVALID_SOCKET) h->listen_fd = fd;
    }
}

void sy_http_stop(sy_http *h) {
    if (h && h->daemon) {
        MHD_stop_daemon(h->daemon);
        h->daemon = NULL;
        if (h->listen_fd >= 0) close(h->listen_fd);
        h->listen_fd = -1;
    }
}
