/* channels.h — messages leaving siyu. This first piece is the signed
 * webhook sender (issue 6 §3); the automation issue adds email, WeCom and
 * SMS adapters next to it and reuses its outbox.
 *
 * Model. A webhook endpoint (table webhook_endpoints) is a URL, a secret and
 * the topics it subscribes to ("alert.fired", "alert.*", or "*" for all).
 * Publishing a topic writes one row per subscribed, enabled endpoint into
 * the outbox (table webhook_deliveries) in one transaction; a sender thread
 * POSTs each row with libcurl, signs it (X-Siyu-Signature: t=<unix s>,
 * v1=<hex HMAC-SHA256(secret, "<t>.<body>")>) and retries failures with
 * exponential backoff. Delivery is at least once: a delivery in flight when
 * the process dies is sent again after restart, so receivers de-duplicate
 * by X-Siyu-Delivery. See docs/channels.md for the wire format and how a
 * receiver verifies it.
 *
 * Routes (settings.manage): /api/v1/webhooks…, /api/v1/webhook-deliveries….
 * /metrics: siyu_webhook_deliveries{status="pending"|"failed"}. */
#ifndef SY_CHANNELS_H
#define SY_CHANNELS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "base/base.h"
#include "store/store.h"
#include "http/http.h"
#include "staff/staff.h"

typedef struct sy_channels sy_channels;

/* Creates the module on an open store (borrowed; staff too: both must
 * outlive it). Reads SIYU_WEBHOOK_RETRY_BASE_MS (the first retry delay,
 * default 10000; tests set a few ms). Errors: SY_E_NOMEM, SY_E_IO. */
int sy_channels_create(sy_store *st, sy_staff *staff, sy_channels **out, sy_err *e);
/* Adds the routes and the /metrics lines and starts the sender thread
 * (server only; without it deliveries stay queued until a server runs). */
void sy_channels_register(sy_channels *c, sy_http *h);
/* Stops the sender thread (in-flight attempts finish or are abandoned to
 * retry after restart) and frees. Call before sy_store_close. NULL ok. */
void sy_channels_destroy(sy_channels *c);

/* Queues `data` (borrowed JSON) under `topic` (e.g. "alert.fired") for
 * every enabled endpoint subscribed to topic. Durable: returns after the
 * outbox rows commit, then wakes the sender. *queued (may be NULL) = rows
 * queued (0 when nobody subscribes). Any thread, but must not be called
 * from inside a store write job (it runs one). Errors: SY_E_INVALID (topic
 * not 1–64 chars of [a-z0-9._-]), SY_E_TOO_LARGE (body over 256 KiB),
 * SY_E_NOMEM, SY_E_IO. */
int sy_webhook_publish(sy_channels *c, const char *topic, json_t *data, size_t *queued, sy_err *e);
/* Same for one endpoint (even if it does not subscribe to topic);
 * *delivery_id (may be NULL) gets the outbox row's id. Errors as
 * sy_webhook_publish, plus SY_E_NOT_FOUND when the endpoint is missing or
 * disabled. */
int sy_webhook_send_to(sy_channels *c, int64_t endpoint_id, const char *topic, json_t *data,
                       int64_t *delivery_id, sy_err *e);

/* 0 when endpoint_id names a webhook endpoint, enabled or not (for modules
 * that store a reference to one, e.g. an alert rule's webhook_id). Any
 * thread (one indexed read). Errors: SY_E_NOT_FOUND, SY_E_IO. */
int sy_webhook_endpoint_exists(sy_channels *c, int64_t endpoint_id, sy_err *e);

/* Deletes finished deliveries (delivered, or failed after their last
 * attempt) that finished before before_ms, in write jobs of at most
 * SY_WEBHOOK_PRUNE_BATCH rows so that no job holds the store long; pending
 * ones are never deleted. The sender calls it at start and hourly with
 * now − SIYU_WEBHOOK_KEEP_DAYS (default SY_WEBHOOK_KEEP_DAYS). *removed
 * (may be NULL) = rows deleted. Not from inside a write job. Errors:
 * SY_E_IO (rows deleted by earlier batches stay deleted). */
int sy_webhook_prune(sy_channels *c, int64_t before_ms, int64_t *removed, sy_err *e);
#define SY_WEBHOOK_KEEP_DAYS 30
#define SY_WEBHOOK_PRUNE_BATCH 5000

/* --- pieces exposed for tests and for other channels --- */

/* 1 when a delivery may not connect to address sa unless siyu serve runs
 * with SIYU_WEBHOOK_ALLOW_PRIVATE=1, with its class in *why (may be NULL):
 * "loopback", "private" (RFC 1918, fc00::/7), "link-local" (169.254/16,
 * where clouds answer metadata requests; fe80::/10), "shared" (100.64/10),
 * "unspecified", "multicast", and the IPv4-mapped IPv6 forms of these.
 * Checked on the address actually connected to, after DNS, so a name that
 * resolves inside the network is caught too. 0 for any other address or
 * family. */
struct sockaddr;
int sy_webhook_addr_blocked(const struct sockaddr *sa, const char **why);

/* Attempts per delivery before it is marked failed. */
#define SY_WEBHOOK_MAX_ATTEMPTS 8
/* Delay before attempt attempts_done + 1, after attempts_done failed ones
 * (1 … SY_WEBHOOK_MAX_ATTEMPTS - 1): base × 1, 3, 12, 60, 360, 720, 1440
 * (with the default 10 s base: 10 s, 30 s, 2 min, 10 min, 1 h, 2 h, 4 h).
 * Returns -1 when no attempt is left (attempts_done >= MAX or < 1). */
int64_t sy_webhook_backoff_ms(int attempts_done, int64_t base_ms);
/* Writes the X-Siyu-Signature value for body signed at unix time t into
 * out ("t=<t>,v1=<64 hex>"; out_n >= SY_WEBHOOK_SIG_MAX). Pure; any thread. */
#define SY_WEBHOOK_SIG_MAX 96
void sy_webhook_signature(const char *secret, int64_t t, const char *body, size_t body_len,
                          char *out, size_t out_n);
/* 1 when an endpoint subscribed to `pattern` receives `topic`: equal, "*",
 * or "prefix.*" matching "prefix." followed by anything. */
int sy_webhook_topic_match(const char *pattern, const char *topic);

#endif
