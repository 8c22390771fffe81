/* main.c — the siyu command line: parses arguments and wires modules.
 * Everything else lives in the siyucore library. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "base/base.h"
#include "store/store.h"
#include "http/http.h"
#include "staff/staff.h"
#include "contacts/contacts.h"
#include "engine/engine.h"
#include "events/events.h"
#include "tags/tags.h"
#include "segments/segments.h"
#include "lifecycle/lifecycle.h"
#include "analytics/analytics.h"
#include "analytics/dashboards.h"
#include "models/models.h"
#include "channels/channels.h"

/* --- argument parsing: --flag VALUE pairs and boolean --flags --- */

typedef struct opt {
    const char *name; /* "--data" */
    int takes_value;
    const char *value; /* filled */
    int set;
} opt;

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
    fprintf(stderr, "siyu %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nrun 'siyu %s --help' for usage\n", cmd);
    return 2;
}

/* Parses argv into opts. Returns 0, 1 for --help, or 2 after printing an error. */
static int parse_opts(const char *cmd, int argc, char **argv, opt *opts, size_t n) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return 1;
        const char *eq = strchr(a, '=');
        size_t alen = eq ? (size_t)(eq - a) : strlen(a);
        opt *o = NULL;
        for (size_t k = 0; k < n; k++)
            if (strlen(opts[k].name) == alen && strncmp(opts[k].name, a, alen) == 0) o = &opts[k];
        if (!o) return usage_error(cmd, "unknown option \"%s\"", a);
        if (o->takes_value) {
            if (eq)
                o->value = eq + 1;
            else if (i + 1 < argc)
                o->value = argv[++i];
            else
                return usage_error(cmd, "option %s needs a value", o->name);
            if (!*o->value) return usage_error(cmd, "option %s needs a non-empty value", o->name);
        } else if (eq) {
            return usage_error(cmd, "option %s takes no value", o->name);
        }
        o->set = 1;
    }
    return 0;
}

static int parse_u64(const char *cmd, const char *name, const char *v, uint64_t max,
                     uint64_t *out) {
    int64_t x;
    if (sy_parse_i64(v, &x) || x < 0 || (uint64_t)x > max) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s must be a whole number from 0 to %llu, got \"%%s\"", name,
                 (unsigned long long)max);
        return usage_error(cmd, msg, v);
    }
    *out = (uint64_t)x;
    return 0;
}

static int fail(const char *cmd, const sy_err *e) {
    fprintf(stderr, "siyu %s: %s\n", cmd, e->msg);
    return 1;
}

/* --- the application: store + modules + http --- */

typedef struct app {
    sy_store *store;
    sy_staff *staff;
    sy_contacts *contacts;
    sy_engine *engine;
    sy_events *events;
    sy_models *models;
    sy_tags *tags;
    sy_segments *segments;
    sy_lifecycle *lifecycle;
    sy_analytics *analytics;
    sy_dashboards *dashboards;
    sy_channels *channels;
    sy_http *http;
} app;

static int app_open(app *a, const char *dir, sy_err *e) {
    memset(a, 0, sizeof *a);
    int rc = sy_store_open(dir, &a->store, e);
    if (rc == 0) rc = sy_staff_create(a->store, &a->staff, e);
    if (rc == 0) rc = sy_channels_create(a->store, a->staff, &a->channels, e);
    if (rc == 0) rc = sy_contacts_create(a->store, a->staff, 0, &a->contacts, e);
    if (rc == 0 && !(a->engine = sy_engine_create()))
        rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
    if (rc == 0) rc = sy_events_create(a->store, a->staff, a->contacts, a->engine, &a->events, e);
    if (rc == 0)
        rc = sy_models_create(a->store, a->staff, a->contacts, a->engine, a->events, &a->models, e);
    if (rc == 0) rc = sy_tags_create(a->store, a->staff, a->contacts, &a->tags, e);
    if (rc == 0) sy_tags_set_events(a->tags, a->events);
    if (rc == 0) sy_models_set_tags(a->models, a->tags);
    if (rc == 0)
        rc = sy_segments_create(a->store, a->staff, a->contacts, a->engine, a->events, a->tags,
                                &a->segments, e);
    if (rc == 0)
        rc = sy_lifecycle_create(a->store, a->staff, a->contacts, a->engine, a->events,
                                 &a->lifecycle, e);
    if (rc == 0) sy_segments_set_lifecycle(a->segments, a->lifecycle);
    if (rc == 0)
        rc = sy_analytics_create(a->store, a->staff, a->contacts, a->engine, a->events, a->segments,
                                 a->lifecycle, &a->analytics, e);
    if (rc == 0) sy_analytics_set_tags(a->analytics, a->tags);
    if (rc == 0)
        rc = sy_dashboards_create(a->store, a->staff, a->analytics, a->channels, &a->dashboards, e);
    return rc;
}

static void store_metrics(void *ctx, sy_buf *out) {
    sy_store *s = ctx;
    sy_buf_addf(out,
                "# HELP siyu_database_bytes Size of the workspace database including its WAL.\n"
                "# TYPE siyu_database_bytes gauge\nsiyu_database_bytes %lld\n"
                "# HELP siyu_schema_version Highest migration applied.\n"
                "# TYPE siyu_schema_version gauge\nsiyu_schema_version %d\n",
                (long long)sy_store_size_bytes(s), sy_store_schema_version(s));
}

static int app_http(app *a) {
    a->http = sy_http_create();
    if (!a->http) return SY_E_NOMEM;
    sy_http_add_metrics(a->http, store_metrics, a->store);
    sy_staff_register(a->staff, a->http);
    sy_contacts_register(a->contacts, a->http);
    sy_events_register(a->events, a->http);
    sy_models_register(a->models, a->http);
    sy_tags_register(a->tags, a->http);
    /* stages first: saved segments' first members may use them */
    sy_lifecycle_register(a->lifecycle, a->http);
    sy_segments_register(a->segments, a->http);
    sy_analytics_register(a->analytics, a->http);
    sy_dashboards_register(a->dashboards, a->http);
    sy_channels_register(a->channels, a->http);
    return 0;
}

static void app_close(app *a) {
    /* Stop taking requests, let the event committer answer the ones it
     * holds (their connections are suspended in the server), then stop. */
    sy_http_quiesce(a->http);
    sy_events_stop(a->events);
    sy_http_destroy(a->http);
    sy_dashboards_destroy(a->dashboards); /* its scheduler uses analytics and channels */
    sy_analytics_destroy(a->analytics);
    sy_segments_destroy(a->segments); /* its thread reads stages: first */
    sy_lifecycle_destroy(a->lifecycle);
    sy_models_destroy(a->models); /* its refresher writes tags: before them */
    sy_tags_destroy(a->tags);
    sy_events_destroy(a->events);
    sy_engine_destroy(a->engine);
    sy_contacts_destroy(a->contacts);
    sy_channels_destroy(a->channels); /* its sender reads and writes the store */
    sy_staff_destroy(a->staff);
    sy_store_close(a->store);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Finds the built console: --web, else next to the binary in an installed
 * layout (../share/siyu/web), else the source checkout's web/dist. */
static const char *find_web(const char *flag, char *buf, size_t n) {
    /* buf must hold PATH_MAX bytes */
    if (flag) return flag;
    char exe[PATH_MAX - 64];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(buf, n, "%s/../share/siyu/web", exe);
        if (is_dir(buf)) return buf;
        snprintf(buf, n, "%s/../web/dist", exe);
        if (is_dir(buf)) return buf;
    }
    snprintf(buf, n, "%s/web/dist", SIYU_SOURCE_DIR);
    if (is_dir(buf)) return buf;
    return NULL;
}

static int cmd_serve(int argc, char **argv) {
    opt o[] = {{"--data", 1, "./data", 0},
               {"--listen", 1, "127.0.0.1:8080", 0},
               {"--web", 1, NULL, 0},
               {"--threads", 1, "8", 0}};
    int p = parse_opts("serve", argc, argv, o, SY_ARRAY_LEN(o));
    if (p == 1) {
        puts("usage: siyu serve [--data DIR] [--listen ADDR:PORT] [--web DIR] [--threads N]\n"
             "  Serves the API under /api/v1 and the console at / .\n"
             "  --data DIR        workspace directory (default ./data; created if missing)\n"
             "  --listen A:P      address to listen on (default 127.0.0.1:8080; port 0 picks one)\n"
             "  --web DIR         built console to serve (default: found automatically)\n"
             "  --threads N       HTTP worker threads (default 8)");
        return 0;
    }
    if (p) return p;
    uint64_t threads;
    if (parse_u64("serve", "--threads", o[3].value, 256, &threads)) return 2;
    if (threads == 0)
        return usage_error("serve", "--threads must be at least 1, got \"%s\"", o[3].value);
    if (o[2].value && !is_dir(o[2].value))
        return usage_error("serve", "--web \"%s\" is not a directory", o[2].value);

    /* Block the stop signals in every thread; the main thread waits for them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    sy_err e = {0};
    app a;
    if (app_open(&a, o[0].value, &e) || app_http(&a)) {
        app_close(&a);
        return fail("serve", &e);
    }
    /* A workspace without staff (not made by `siyu demo`) gets an admin
     * whose password is printed once and written to DIR/admin-password.txt. */
    int64_t n_staff = 0;
    if (sy_staff_count(a.staff, &n_staff, &e) == 0 && n_staff == 0) {
        char pw[33];
        int64_t admin_id;
        sy_random_hex(pw, 12);
        if (sy_staff_create_admin(a.staff, "admin", pw, &admin_id, &e)) {
            app_close(&a);
            return fail("serve", &e);
        }
        char path[1024];
        snprintf(path, sizeof path, "%s/admin-password.txt", o[0].value);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "admin %s\n", pw);
            fclose(f);
            chmod(path, 0600);
        }
        fprintf(stderr,
                "siyu: new workspace — admin login: admin / %s (also in %s; change it after "
                "logging in)\n",
                pw, path);
    }
    char webbuf[PATH_MAX];
    const char *web = find_web(o[2].value, webbuf, sizeof webbuf);
    sy_http_set_static_dir(a.http, web);
    if (sy_http_start(a.http, o[1].value, (int)threads, &e)) {
        app_close(&a);
        return fail("serve", &e);
    }
    char host[128];
    snprintf(host, sizeof host, "%s", o[1].value);
    char *colon = strrchr(host, ':');
    if (colon) *colon = 0;
    /* keep the engine's contact lists packed for analytics scans */
    if (sy_engine_start_maintenance(a.engine))
        sy_warn("msg=\"engine maintenance not started: analytics scans will slow down\"");
    sy_analytics_warm(a.analytics);
    sy_info("msg=\"siyu serving\" listening url=http://%s:%d data=%s web=%s version=%s", host,
            sy_http_port(a.http), o[0].value, web ? web : "-", SIYU_VERSION);
    int sig = 0;
    sigwait(&stop, &sig);
    sy_info("msg=\"stopping\" signal=%d", sig);
    app_close(&a);
    return 0;
}

static int write_demo_json(const char *dir, const sy_staff_demo *d, sy_err *e) {
    json_t *staff = json_array();
    for (size_t i = 0; i < d->n_staff; i++) {
        const sy_staff_demo_member *m = &d->staff[i];
        json_array_append_new(staff, json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I}", "id",
                                               (json_int_t)m->id, "username", m->username, "name",
                                               m->name, "password", m->password, "role", m->role,
                                               "department_id", (json_int_t)m->department_id,
                                               "store_id", (json_int_t)m->store_id));
    }
    json_t *stores = json_array(), *depts = json_array();
    for (size_t i = 0; i < d->n_stores; i++)
        json_array_append_new(stores, json_integer(d->store_ids[i]));
    for (size_t i = 0; i < d->n_departments; i++)
        json_array_append_new(depts, json_integer(d->department_ids[i]));
    json_t *doc =
        json_pack("{s:{s:s, s:s, s:s}, s:s, s:o, s:o, s:o}", "admin", "username", d->admin_username,
                  "password", d->admin_password, "api_token", d->api_token, "write_key",
                  d->write_key, "staff", staff, "stores", stores, "departments", depts);
    char path[1024];
    snprintf(path, sizeof path, "%s/demo.json", dir);
    int rc = json_dump_file(doc, path, JSON_INDENT(2));
    json_decref(doc);
    if (rc) return sy_err_set(e, SY_E_IO, "cannot write \"%s\"", path);
    chmod(path, 0600);
    return 0;
}

static int cmd_demo(int argc, char **argv) {
    opt o[] = {{"--data", 1, "./data", 0},
               {"--seed", 1, "1", 0},
               {"--contacts", 1, "20000", 0},
               {"--days", 1, "90", 0},
               {"--scale", 0, NULL, 0}};
    int p = parse_opts("demo", argc, argv, o, SY_ARRAY_LEN(o));
    if (p == 1) {
        puts("usage: siyu demo [--data DIR] [--seed N] [--contacts N]\n"
             "  Creates a demo workspace in an empty data directory: an admin, departments,\n"
             "  stores, staff, channels and contacts. Prints the admin login and writes\n"
             "  DIR/demo.json (logins, an admin API token and a write key).\n"
             "  --seed N       makes the data deterministic (default 1)\n"
             "  --contacts N   number of contacts (default 20000)\n"
             "  --days N       days of customer behaviour (events) to generate (default 90; 0 = "
             "none)\n"
             "  --scale        benchmark size: 1,000,000 contacts and about 20 million events");
        return 0;
    }
    if (p) return p;
    uint64_t seed, n;
    if (parse_u64("demo", "--seed", o[1].value, UINT32_MAX, &seed)) return 2;
    if (parse_u64("demo", "--contacts", o[2].value, 10000000, &n)) return 2;
    uint64_t days;
    if (parse_u64("demo", "--days", o[3].value, 3650, &days)) return 2;
    int intensity = 1;
    if (o[4].set) {
        if (o[2].set)
            return usage_error("demo", "%s",
                               "--scale sets the number of contacts; drop --contacts");
        n = 1000000;
        intensity = 3;
    }
    char dbpath[1024];
    snprintf(dbpath, sizeof dbpath, "%s/siyu.db", o[0].value);
    if (access(dbpath, F_OK) == 0) {
        fprintf(stderr,
                "siyu demo: \"%s\" already holds a workspace; choose an empty --data directory\n",
                o[0].value);
        return 1;
    }
    sy_err e = {0};
    app a;
    sy_staff_demo d;
    memset(&d, 0, sizeof d);
    int64_t t0 = sy_mono_ms();
    int64_t wk = 0;
    sy_arena *tmp = sy_arena_create();
    if (app_open(&a, o[0].value, &e) || sy_staff_demo_seed(a.staff, seed, &d, &e) ||
        sy_contacts_demo_seed(a.contacts, &d, seed, (size_t)n, &e) ||
        sy_staff_check_write_key(a.staff, tmp, d.write_key, &wk, &e) ||
        (days && sy_events_demo_seed(a.events, wk, seed, (int)days, intensity, &e)) ||
        write_demo_json(o[0].value, &d, &e)) {
        sy_arena_destroy(tmp);
        app_close(&a);
        return fail("demo", &e);
    }
    sy_arena_destroy(tmp);
    sy_events_stats es;
    sy_events_get_stats(a.events, &es);
    app_close(&a);
    printf("demo workspace created in %s (%llu contacts, %llu events, %.1f s)\n", o[0].value,
           (unsigned long long)n, (unsigned long long)es.events,
           (double)(sy_mono_ms() - t0) / 1000.0);
    printf("admin login: %s / %s   (shown once; also in %s/demo.json)\n", d.admin_username,
           d.admin_password, o[0].value);
    return 0;
}

static int cmd_import(int argc, char **argv) {
    opt o[] = {{"--data", 1, "./data", 0},
               {"--file", 1, NULL, 0},
               {"--encoding", 1, "auto", 0},
               {"--strict", 0, NULL, 0},
               {"--dedupe", 1, "update", 0}};
    int p = parse_opts("import", argc, argv, o, SY_ARRAY_LEN(o));
    if (p == 1) {
        puts("usage: siyu import --file FILE.csv [--data DIR] [--encoding auto|utf-8|gbk] "
             "[--strict]\n"
             "                   [--dedupe update|skip]\n"
             "  Imports contacts from a CSV file (UTF-8, UTF-8 with BOM or GBK). Valid rows are\n"
             "  imported and rejected rows reported, unless --strict (then nothing if any row is "
             "bad).");
        return 0;
    }
    if (p) return p;
    if (!o[1].value) return usage_error("import", "%s", "--file is required");
    if (strcmp(o[4].value, "update") && strcmp(o[4].value, "skip"))
        return usage_error("import", "--dedupe must be update or skip, got \"%s\"", o[4].value);
    sy_err e = {0};
    app a;
    sy_buf report = SY_BUF_INIT;
    int64_t t0 = sy_mono_ms();
    if (app_open(&a, o[0].value, &e) ||
        sy_contacts_import_file(a.contacts, o[1].value, o[2].value, o[3].set, o[4].value, &report,
                                &e)) {
        app_close(&a);
        if (report.len) fputs(report.p, stderr);
        sy_buf_release(&report);
        return fail("import", &e);
    }
    app_close(&a);
    if (report.len) fputs(report.p, stdout);
    printf("elapsed_ms=%lld\n", (long long)(sy_mono_ms() - t0));
    sy_buf_release(&report);
    return 0;
}

static int cmd_export_events(int argc, char **argv) {
    opt o[] = {{"--data", 1, "./data", 0}, {"--to", 1, NULL, 0}};
    int p = parse_opts("export", argc, argv, o, SY_ARRAY_LEN(o));
    if (p == 1) {
        puts("usage: siyu export events --to FILE.jsonl [--data DIR]\n"
             "  Writes every stored event as JSON Lines (messageId, contact_id, event, timestamp,\n"
             "  received_at, properties).");
        return 0;
    }
    if (p) return p;
    if (!o[1].value) return usage_error("export", "%s", "--to is required");
    sy_err e = {0};
    app a;
    size_t rows = 0;
    if (app_open(&a, o[0].value, &e) || sy_events_export_file(a.events, o[1].value, &rows, &e)) {
        app_close(&a);
        return fail("export", &e);
    }
    app_close(&a);
    printf("exported %zu events to %s\n", rows, o[1].value);
    return 0;
}

static int cmd_export(int argc, char **argv) {
    opt o[] = {{"--data", 1, "./data", 0}, {"--to", 1, NULL, 0}, {"--unmask", 0, NULL, 0}};
    if (argc > 0 && strcmp(argv[0], "events") == 0) return cmd_export_events(argc - 1, argv + 1);
    if (argc > 0 && strcmp(argv[0], "contacts") == 0) argc--, argv++;
    int p = parse_opts("export", argc, argv, o, SY_ARRAY_LEN(o));
    if (p == 1) {
        puts("usage: siyu export [contacts] --to FILE.csv [--data DIR] [--unmask]\n"
             "       siyu export events --to FILE.jsonl [--data DIR]\n"
             "  Writes every contact as UTF-8 CSV with BOM (opens in Excel). Phones are masked\n"
             "  unless --unmask. The export is recorded in the audit log.");
        return 0;
    }
    if (p) return p;
    if (!o[1].value) return usage_error("export", "%s", "--to is required");
    sy_err e = {0};
    app a;
    size_t rows = 0;
    if (app_open(&a, o[0].value, &e) ||
        sy_contacts_export_file(a.contacts, o[1].value, o[2].set, &rows, &e)) {
        app_close(&a);
        return fail("export", &e);
    }
    app_close(&a);
    printf("exported %zu contacts to %s\n", rows, o[1].value);
    return 0;
}

static int cmd_backup(int argc, char **argv) {
    opt o[] = {{"--data", 1, "./data", 0}, {"--to", 1, NULL, 0}};
    int p = parse_opts("backup", argc, argv, o, SY_ARRAY_LEN(o));
    if (p == 1) {
        puts("usage: siyu backup --to FILE [--data DIR]\n"
             "  Makes a consistent copy of the workspace database, also while the server runs.");
        return 0;
    }
    if (p) return p;
    if (!o[1].value) return usage_error("backup", "%s", "--to is required");
    char dbpath[1024];
    snprintf(dbpath, sizeof dbpath, "%s/siyu.db", o[0].value);
    if (access(dbpath, F_OK) != 0) {
        fprintf(stderr, "siyu backup: no workspace in \"%s\"\n", o[0].value);
        return 1;
    }
    sy_err e = {0};
    sy_store *s = NULL;
    if (sy_store_open(o[0].value, &s, &e) || sy_store_backup(s, o[1].value, &e)) {
        sy_store_close(s);
        return fail("backup", &e);
    }
    sy_store_close(s);
    printf("backup written to %s\n", o[1].value);
    return 0;
}

static int cmd_restore(int argc, char **argv) {
    opt o[] = {{"--data", 1, "./data", 0}, {"--from", 1, NULL, 0}};
    int p = parse_opts("restore", argc, argv, o, SY_ARRAY_LEN(o));
    if (p == 1) {
        puts("usage: siyu restore --from FILE [--data DIR]\n"
             "  Replaces the workspace database with a backup. Stop the server first.");
        return 0;
    }
    if (p) return p;
    if (!o[1].value) return usage_error("restore", "%s", "--from is required");
    sy_err e = {0};
    if (sy_store_restore(o[0].value, o[1].value, &e)) return fail("restore", &e);
    printf("restored %s into %s\n", o[1].value, o[0].value);
    return 0;
}

/* Prints the route table as JSON lines (method, pattern, auth), for the
 * OpenAPI completeness test. Uses a throwaway data dir. */
static int cmd_routes(int argc, char **argv) {
    opt o[] = {{"--data", 1, NULL, 0}};
    int p = parse_opts("routes", argc, argv, o, SY_ARRAY_LEN(o));
    if (p == 1) {
        puts("usage: siyu routes\n  Prints every HTTP route the server registers, one JSON object "
             "per line.");
        return 0;
    }
    if (p) return p;
    char tmpl[] = "/tmp/siyu-routes-XXXXXX";
    const char *dir = o[0].value ? o[0].value : mkdtemp(tmpl);
    if (!dir) return 1;
    sy_err e = {0};
    app a;
    if (app_open(&a, dir, &e) || app_http(&a)) {
        app_close(&a);
        return fail("routes", &e);
    }
    for (size_t i = 0; i < sy_http_route_count(a.http); i++) {
        const sy_route *r = sy_http_route_at(a.http, i);
        printf("{\"method\":\"%s\",\"path\":\"%s\",\"auth\":%d}\n", r->method, r->pattern, r->auth);
    }
    app_close(&a);
    if (!o[0].value) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "siyu routes: could not remove %s\n", dir);
    }
    return 0;
}

static void main_usage(FILE *f) {
    fputs("usage: siyu <command> [options]\n"
          "commands:\n"
          "  serve     serve the API and the console\n"
          "  demo      create a demo workspace\n"
          "  import    import contacts from CSV\n"
          "  export    export contacts to CSV\n"
          "  backup    copy the workspace database (online)\n"
          "  restore   put a backup back\n"
          "  routes    list the HTTP routes\n"
          "  version   print the version\n"
          "run 'siyu <command> --help' for a command's options\n",
          f);
}

int main(int argc, char **argv) {
    /* Analytics questions allocate per-question arrays of a few MB; glibc
     * would map and unmap each one, and the page faults cost more than the
     * question. Keep such blocks on the heap and reuse them. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    const char *lvl = getenv("SIYU_LOG");
    if (lvl) {
        if (!strcmp(lvl, "debug"))
            sy_log_level = SY_LOG_DEBUG;
        else if (!strcmp(lvl, "warn"))
            sy_log_level = SY_LOG_WARN;
        else if (!strcmp(lvl, "error"))
            sy_log_level = SY_LOG_ERROR;
    }
    if (sodium_init() < 0) {
        fputs("siyu: libsodium failed to initialise\n", stderr);
        return 1;
    }
    if (argc < 2) {
        main_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    int n = argc - 2;
    char **rest = argv + 2;
    if (!strcmp(cmd, "serve")) return cmd_serve(n, rest);
    if (!strcmp(cmd, "demo")) return cmd_demo(n, rest);
    if (!strcmp(cmd, "import")) return cmd_import(n, rest);
    if (!strcmp(cmd, "export")) return cmd_export(n, rest);
    if (!strcmp(cmd, "backup")) return cmd_backup(n, rest);
    if (!strcmp(cmd, "restore")) return cmd_restore(n, rest);
    if (!strcmp(cmd, "routes")) return cmd_routes(n, rest);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("siyu %s\n", SIYU_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        main_usage(stdout);
        return 0;
    }
    fprintf(stderr, "siyu: unknown command \"%s\"\n", cmd);
    main_usage(stderr);
    return 2;
}
