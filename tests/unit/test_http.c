/* Unit tests for http/: routing and path parameters, body limits, JSON
 * errors, 404/405, request ids, the authenticator hook and permission bits,
 * /healthz and /metrics — against a real server on a free port, with libcurl. */
#include <curl/curl.h>
#include "test.h"
#include "http/http.h"

static int h_echo(sy_req *r) {
    int64_t id;
    if (sy_req_param_id(r, "id", &id)) return r->err.code;
    const char *q = sy_req_query(r, "q");
    return sy_reply_json(r, 200, json_pack("{s:I, s:s?}", "id", (json_int_t)id, "q", q));
}

static int h_body(sy_req *r) {
    json_t *o;
    if (sy_req_json(r, &o)) return r->err.code;
    static const char *const allowed[] = {"name", NULL};
    if (sy_json_only(o, allowed, &r->err)) return r->err.code;
    const char *name;
    if (sy_json_req_str(o, "name", &name, &r->err)) return r->err.code;
    return sy_reply_json(r, 201, json_pack("{s:s}", "name", name));
}

#include <pthread.h>
#include <unistd.h>
#include <zlib.h>

/* Completes a deferred request from another thread, as the event writer does. */
static void *complete_later(void *p) {
    sy_req *r = p;
    usleep(20000);
    sy_reply_json(r, 200, json_pack("{s:s}", "done", "later"));
    sy_req_resume(r, 0);
    return NULL;
}

static int h_defer(sy_req *r) {
    pthread_t t;
    sy_req_defer(r);
    pthread_create(&t, NULL, complete_later, r);
    pthread_detach(t);
    return SY_DEFERRED;
}

static int h_size(sy_req *r) {
    return sy_reply_json(r, 200, json_pack("{s:I}", "len", (json_int_t)r->body_len));
}

static int h_secret(sy_req *r) {
    return sy_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

/* Test authenticator: "Bearer good" is staff with perm bit 1; "Bearer weak" has none. */
static int authn(void *ctx, sy_req *r, int required, sy_auth *out, sy_err *e) {
    (void)ctx;
    (void)required;
    const char *h = sy_req_header(r, "Authorization");
    memset(out, 0, sizeof *out);
    if (!h) return 0;
    if (strcmp(h, "Bearer good") == 0)
        *out = (sy_auth){SY_AUTH_STAFF, 1, NULL};
    else if (strcmp(h, "Bearer weak") == 0)
        *out = (sy_auth){SY_AUTH_STAFF, 0, NULL};
    else
        return sy_err_set(e, SY_E_UNAUTHENTICATED, "unknown token");
    return 0;
}

static const sy_route routes[] = {
    {"GET", "/api/v1/things/{id}", h_echo, NULL, SY_AUTH_NONE, 0, 0, "echo"},
    {"POST", "/api/v1/things", h_body, NULL, SY_AUTH_NONE, 0, 100, "create"},
    {"GET", "/api/v1/secret", h_secret, NULL, SY_AUTH_STAFF, 1, 0, "secret"},
    {"GET", "/api/v1/slow", h_defer, NULL, SY_AUTH_NONE, 0, 0, "deferred"},
    {"POST", "/api/v1/size", h_size, NULL, SY_AUTH_NONE, 0, 2000, "body size", 1},
};

typedef struct reply {
    long status;
    sy_buf body;
    char rid[80];
} reply;

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
    sy_buf_add(&((reply *)ud)->body, p, sz * n);
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
    reply *r = ud;
    if (strncasecmp(p, "X-Request-Id: ", 14) == 0) {
        snprintf(r->rid, sizeof r->rid, "%.*s", (int)(sz * n - 16), p + 14);
    }
    return sz * n;
}

static int port;

static void call(const char *method, const char *path, const char *body, const char *auth,
                 reply *out) {
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    memset(out, 0, sizeof *out);
    struct curl_slist *hs = NULL;
    if (auth) {
        char h[128];
        snprintf(h, sizeof h, "Authorization: %s", auth);
        hs = curl_slist_append(hs, h);
    }
    hs = curl_slist_append(hs, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
}

static json_t *body_json(reply *r) {
    json_t *v = json_loadb(r->body.p ? r->body.p : "", r->body.len, 0, NULL);
    assert_non_null(v);
    return v;
}

static const char *err_code(json_t *v) {
    return json_string_value(json_object_get(json_object_get(v, "error"), "code"));
}

static void test_routes(void **state) {
    (void)state;
    reply r;
    call("GET", "/api/v1/things/42?q=%E7%A7%81", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *v = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(v, "id")), 42);
    assert_string_equal(json_string_value(json_object_get(v, "q")), "私");
    assert_int_equal(strlen(r.rid), 16);
    json_decref(v);
    sy_buf_release(&r.body);

    call("GET", "/api/v1/things/abc", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    v = body_json(&r);
    assert_string_equal(err_code(v), "invalid_argument");
    json_decref(v);
    sy_buf_release(&r.body);

    call("GET", "/api/v1/nothing", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    v = body_json(&r);
    assert_string_equal(err_code(v), "not_found");
    json_decref(v);
    sy_buf_release(&r.body);

    call("DELETE", "/api/v1/things/1", NULL, NULL, &r);
    assert_int_equal(r.status, 405);
    sy_buf_release(&r.body);
}

static void test_bodies(void **state) {
    (void)state;
    reply r;
    call("POST", "/api/v1/things", "{\"name\":\"x\"}", NULL, &r);
    assert_int_equal(r.status, 201);
    sy_buf_release(&r.body);
    call("POST", "/api/v1/things", "{\"name\":", NULL, &r);
    assert_int_equal(r.status, 400);
    json_t *v = body_json(&r);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(v, "error"), "message")),
               "malformed JSON"));
    json_decref(v);
    sy_buf_release(&r.body);
    call("POST", "/api/v1/things", "{\"name\":\"x\",\"color\":1}", NULL, &r);
    assert_int_equal(r.status, 400);
    v = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(v, "error"), "details"), "field")),
                        "color");
    json_decref(v);
    sy_buf_release(&r.body);
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    char body[400];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", big);
    call("POST", "/api/v1/things", body, NULL, &r);
    assert_int_equal(r.status, 413);
    v = body_json(&r);
    assert_string_equal(err_code(v), "payload_too_large");
    json_decref(v);
    sy_buf_release(&r.body);
}

static void test_auth(void **state) {
    (void)state;
    reply r;
    call("GET", "/api/v1/secret", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    sy_buf_release(&r.body);
    call("GET", "/api/v1/secret", NULL, "Bearer nope", &r);
    assert_int_equal(r.status, 401);
    sy_buf_release(&r.body);
    call("GET", "/api/v1/secret", NULL, "Bearer weak", &r);
    assert_int_equal(r.status, 403);
    json_t *v = body_json(&r);
    assert_string_equal(err_code(v), "permission_denied");
    json_decref(v);
    sy_buf_release(&r.body);
    call("GET", "/api/v1/secret", NULL, "Bearer good", &r);
    assert_int_equal(r.status, 200);
    sy_buf_release(&r.body);
}

static void test_builtin(void **state) {
    (void)state;
    reply r;
    call("GET", "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    sy_buf_release(&r.body);
    call("GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(
        strstr(r.body.p, "siyu_http_requests_total{method=\"GET\",route=\"/api/v1/things/{id}\"}"));
    assert_non_null(strstr(r.body.p, "siyu_http_request_duration_seconds_bucket"));
    sy_buf_release(&r.body);
    call("GET", "/api/openapi.json", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *v = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(v, "openapi")), "3.0.3");
    json_decref(v);
    sy_buf_release(&r.body);
}

static void test_deferred(void **state) {
    (void)state;
    reply r;
    for (int i = 0; i < 5; i++) {
        call("GET", "/api/v1/slow", NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body.p, "later"));
        sy_buf_release(&r.body);
    }
}

/* Posts raw bytes (no Content-Encoding header: gzip must be sniffed). */
static void post_raw(const char *path, const unsigned char *data, size_t n, reply *out) {
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    memset(out, 0, sizeof *out);
    struct curl_slist *hs =
        curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)n);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
}

static size_t gzip_bytes(const char *in, size_t n, unsigned char *out, size_t cap) {
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (unsigned char *)in;
    z.avail_in = (unsigned)n;
    z.next_out = out;
    z.avail_out = (unsigned)cap;
    deflate(&z, Z_FINISH);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return len;
}

static void test_gzip(void **state) {
    (void)state;
    char plain[1500];
    memset(plain, 'x', sizeof plain);
    unsigned char gz[4096];
    size_t n = gzip_bytes(plain, sizeof plain, gz, sizeof gz);
    reply r;
    post_raw("/api/v1/size", gz, n, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.p, "\"len\":1500"));
    sy_buf_release(&r.body);
    /* decompressing past the route limit is 413, however small the gzip */
    char big[5000];
    memset(big, 'y', sizeof big);
    n = gzip_bytes(big, sizeof big, gz, sizeof gz);
    post_raw("/api/v1/size", gz, n, &r);
    assert_int_equal(r.status, 413);
    sy_buf_release(&r.body);
    /* truncated gzip is 400 */
    n = gzip_bytes(plain, sizeof plain, gz, sizeof gz);
    post_raw("/api/v1/size", gz, n / 2, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body.p, "not valid"));
    sy_buf_release(&r.body);
}

static sy_http *server;

static int setup(void **state) {
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sy_log_level = SY_LOG_WARN;
    server = sy_http_create();
    sy_http_set_authenticator(server, authn, NULL);
    sy_http_add_routes(server, routes, SY_ARRAY_LEN(routes));
    sy_err e = {0};
    assert_ok(sy_http_start(server, "127.0.0.1:0", 2, &e), &e);
    port = sy_http_port(server);
    assert_true(port > 0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    sy_http_destroy(server);
    curl_global_cleanup();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),   cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_auth),     cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_deferred), cmocka_unit_test(test_gzip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
