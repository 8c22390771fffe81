/* events_int.h — shared between src/events/ files only. */
#ifndef SY_EVENTS_INT_H
#define SY_EVENTS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include "events.h"

/* Limits of the Segment HTTP API (segment.md §1). */
#define SY_EV_MAX_BODY (500 * 1024)
#define SY_EV_MAX_MESSAGE (32 * 1024)
#define SY_EV_MAX_BATCH 2500
#define SY_EV_MAX_ID 200

enum { SY_MSG_IDENTIFY = 1, SY_MSG_TRACK, SY_MSG_PAGE, SY_MSG_SCREEN, SY_MSG_GROUP, SY_MSG_ALIAS };

/* One validated message. Strings and JSON borrow from the parsed request
 * (alive as long as sy_parsed.root). */
typedef struct sy_msg {
    int type;
    const char *message_id; /* NULL when the sender gave none (no de-duplication) */
    const char *user_id;
    const char *anonymous_id;
    const char *previous_id; /* alias */
    const char *group_id;    /* group */
    const char *name;        /* page / screen name */
    const char *category;    /* page category */
    const char *channel;     /* message-level "channel" (rudder sends "server") */
    const char *event;       /* track name; "$page", "$screen", "$identify", "$group", "$alias" */
    int64_t ts;              /* event time (see segment.c for the rule) */
    json_t *properties;      /* object or NULL */
    json_t *traits;          /* identify/group traits (object or NULL) */
    json_t *context;         /* merged context (object or NULL) */
} sy_msg;

typedef struct sy_parsed {
    json_t *root; /* owns everything the messages borrow */
    sy_msg *msgs; /* arena */
    size_t n;
    const char *write_key; /* from the body's writeKey, or NULL */
} sy_parsed;

/* Parses and validates a request body for endpoint kind ("batch", "track",
 * …). Every bad message is reported in *details as
 * {"errors":[{"index":i,"field":"…","reason":"…"}]} and the call fails
 * with SY_E_INVALID (nothing may be stored). received_at is the server time
 * used for timestamps. On success the caller json_decref's out->root. */
int sy_segment_parse(sy_arena *a, const char *kind, const char *body, size_t len,
                     int64_t received_at, sy_parsed *out, json_t **details, sy_err *e);

/* Event log blocks: encode n messages (already resolved to contacts) into
 * one compressed block; decode a block back into rows. */
typedef struct sy_logrow {
    sy_engine_event ev; /* contact, type id, ts, flags, revenue, dims */
    int64_t received_at;
    int64_t write_key_id;
    uint64_t order_key;     /* hash of the order_id of an order event, else 0 */
    const char *message_id; /* may be NULL */
    const char *name;       /* event name */
    const char *payload;    /* JSON: {"properties":…, "context":…, "traits":…} or NULL */
    size_t payload_len;
} sy_logrow;

/* Encodes rows into a malloc'ed block (*out, *out_len) and its checksum. */
int sy_log_encode(const sy_logrow *rows, size_t n, void **out, size_t *out_len, uint32_t *crc,
                  sy_err *e);
/* Decodes a block; rows and their strings live in arena a. Verifies the
 * checksum first (SY_E_INTERNAL when it fails: stored bytes are untrusted). */
int sy_log_decode(sy_arena *a, const void *blob, size_t len, uint32_t crc, sy_logrow **rows,
                  size_t *n, sy_err *e);

/* Parses a yuan amount (JSON number or decimal string, up to 2 decimals)
 * exactly into fen. Returns 0 or SY_E_INVALID. */
int sy_money_to_fen(json_t *v, int64_t *fen);

/* --- hash containers (ingest.c) --- */

/* Set of non-zero 64-bit keys (messageId and order_id hashes). */
typedef struct u64set {
    uint64_t *slots;
    size_t cap, n;
} u64set;
int u64set_add(u64set *s, uint64_t k); /* 1 added, 0 present, <0 no memory */
int u64set_has(const u64set *s, uint64_t k);
void u64set_free(u64set *s);

/* String → id dictionary (event names, dimension values). Keys are copied. */
typedef struct strdict {
    char **keys;
    uint32_t *vals;
    size_t cap, n;
} strdict;
uint32_t strdict_get(const strdict *d, const char *k); /* 0 when absent */
int strdict_put(strdict *d, const char *k, uint32_t v);
void strdict_free(strdict *d);

uint64_t sy_events_key(int64_t write_key_id, const char *s); /* never 0 */

/* --- catalog (catalog.c) --- */
typedef struct prop_stat {
    char *name;
    char value_type[8];
    char *example;
    int64_t count;
    int dirty;
} prop_stat;

typedef struct event_type {
    uint32_t id;
    char *name;
    int64_t first_seen, last_seen, count;
    json_t *schema; /* declared schema or NULL */
    char *description;
    prop_stat *props;
    size_t n_props, cap_props;
    int dirty;
} event_type;

/* Order and refund rules (workspace setting). */
typedef struct order_rule {
    char *event;
    char *amount[4];
    size_t n_amount;
} order_rule;

/* A request waiting for the group committer. */
typedef struct pending {
    sy_parsed parsed;
    int64_t write_key_id;
    int64_t received_at;
    sy_req *req; /* NULL for in-process callers */
    int async;   /* in-process caller waits later (sy_events_wait) */
    int done, rc;
    sy_err err;
    uint32_t stored, duplicates;
    /* events siyu produces (sy_events_emit): contacts already known, no
     * parsed request; such a pending is heap memory the committer frees */
    int64_t *sys_contacts;
    size_t sys_n;
    char *sys_name;
    json_t *sys_props;
    struct pending *next;
} pending;

struct sy_events {
    sy_store *st;
    sy_staff *staff;
    sy_contacts *contacts;
    sy_engine *engine;

    /* The queue of pending requests, guarded by lock. */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pending *head, *tail;
    int stopping;
    pthread_t committer;
    int running;

    /* Everything below is guarded by catalog_lock. The committer thread is
     * the only writer of the dictionaries, sets and catalog (it holds the
     * lock for a whole group commit); HTTP threads read the catalog and the
     * block map under it. */
    pthread_mutex_t catalog_lock;

    u64set seen;        /* (write key, messageId) hashes */
    u64set orders;      /* order_id hashes */
    strdict type_ids;   /* event name → type id */
    event_type **types; /* by id (index 0 unused) */
    size_t n_types, cap_types;
    strdict dims[SY_DIM_COUNT];
    /* identity "type\x1fvalue" → contact, across group commits; valid while
     * no other module has written since our last commit (ident_gen) */
    strdict idents;
    uint64_t ident_gen;
    /* how many event types have a declared schema; read without the lock so
     * that ingestion skips schema checks (and the lock, which a group commit
     * holds) when there are none */
    _Atomic int n_schemas;
    uint32_t next_dim[SY_DIM_COUNT];
    order_rule *orders_rules, *refund_rules;
    size_t n_order_rules, n_refund_rules;
    /* position → block map, for reading payloads back */
    int64_t *block_id;     /* block ids in log order */
    uint32_t *block_start; /* first engine position of each block */
    size_t n_blocks, cap_blocks;
    sy_events_stats stats;
};

/* catalog.c */
int sy_catalog_load(sy_events *ev, sy_db *db, sy_err *e);
/* Returns the type for name, creating it (row inserted through db) if new. */
int sy_catalog_type(sy_events *ev, sy_db *db, const char *name, event_type **out, sy_err *e);
void sy_catalog_observe(event_type *t, int64_t ts, json_t *properties);
int sy_catalog_flush(sy_events *ev, sy_db *db, sy_err *e);
/* Checks properties against the declared schema of the event (lock held). */
int sy_catalog_check(sy_events *ev, const char *name, json_t *properties, long index,
                     json_t *problems);
int sy_orders_load(sy_events *ev, sy_db *db, sy_err *e);
void sy_orders_free(sy_events *ev);
void sy_catalog_free(sy_events *ev);

/* api.c */
void sy_events_api_register(sy_events *ev, sy_http *h);
/* Reads the payload of the event at engine position pos. */
int sy_events_payload(sy_events *ev, sy_arena *a, uint32_t pos, sy_logrow *out, sy_err *e);

/* ingest.c */
/* Queues p for the next group commit. HTTP requests (p->req) are answered
 * by the committer; in-process callers wait here unless p->async, in which
 * case they call sy_events_wait later. Requests commit in FIFO order. */
int sy_events_submit(sy_events *ev, pending *p);
void sy_events_wait(sy_events *ev, pending *p);
/* Validation that needs workspace data, done before a request is queued:
 * declared event schemas and contact traits (phone, email, declared custom
 * attributes). Adds problems to *details like sy_segment_parse. */
int sy_events_check(sy_events *ev, sy_arena *a, sy_parsed *p, json_t **details, sy_err *e);

#endif
