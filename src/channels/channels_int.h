/* channels_int.h — shared by the channels module's own files: channels.c
 * (module, signature, outbox writes), channels_sender.c (the sender
 * thread) and channels_api.c (HTTP). Included by nobody outside the folder
 * (tests excepted). */
#ifndef SY_CHANNELS_INT_H
#define SY_CHANNELS_INT_H

#include <pthread.h>
#include <curl/curl.h>
#include "channels.h"

#define SY_WH_BODY_MAX ((size_t)256 * 1024) /* largest outbox body */
#define SY_WH_SECRET_MIN 16
#define SY_WH_SECRET_MAX 128
#define SY_WH_NAME_MAX 100 /* code points */
#define SY_WH_URL_MAX 2048
#define SY_WH_TOPIC_MAX 64
#define SY_WH_TOPICS_MAX 32 /* patterns per endpoint */
#define SY_WH_INFLIGHT 16   /* concurrent requests of the sender */
#define SY_WH_DEFAULT_BASE_MS 10000
#define SY_WH_CONNECT_TIMEOUT_MS 10000
#define SY_WH_TOTAL_TIMEOUT_MS 15000

struct sy_channels {
    sy_store *st;
    sy_staff *staff;
    int64_t retry_base_ms; /* first retry delay (SIYU_WEBHOOK_RETRY_BASE_MS) */
    int64_t keep_ms;       /* finished deliveries kept (SIYU_WEBHOOK_KEEP_DAYS) */
    int allow_private;     /* SIYU_WEBHOOK_ALLOW_PRIVATE=1: any address */
    int curl_ready;        /* curl_global_init succeeded (balanced in destroy) */

    pthread_mutex_t lock; /* guards everything below */
    CURLM *multi;         /* the sender's; non-NULL while the thread runs */
    pthread_t thread;
    int running, stopping;
    int kicked; /* something was queued or changed since the sender's last scan */
};

/* Queues one delivery per target inside one write job and wakes the sender.
 * endpoint_id 0 = every enabled endpoint subscribed to topic; otherwise that
 * endpoint only (SY_E_NOT_FOUND when missing, SY_E_PRECONDITION when
 * disabled). When audit_action is set, an audit entry (actor may be NULL)
 * is written in the same transaction. */
int sy_wh_queue(sy_channels *c, const sy_actor *actor, const char *audit_action,
                int64_t endpoint_id, const char *topic, json_t *data, size_t *queued,
                int64_t *delivery_id, sy_err *e);
/* Wakes the sender for a new scan (no-op when it is not running). */
void sy_wh_kick(sy_channels *c);
/* Starts / stops the sender thread (channels_sender.c). */
int sy_wh_sender_start(sy_channels *c, sy_err *e);
void sy_wh_sender_stop(sy_channels *c);

/* Validation shared by the API and the tests; each names its field. */
int sy_wh_check_url(const char *url, sy_err *e);
int sy_wh_check_topic(const char *field, const char *topic, int pattern, sy_err *e);
int sy_wh_check_secret(const char *secret, sy_err *e);
/* A new random secret: "whsec_" + 64 hex chars (libsodium randombytes). */
#define SY_WH_SECRET_BUF 72
void sy_wh_new_secret(char out[SY_WH_SECRET_BUF]);
/* 1 when one of the JSON array's patterns (text as stored) matches topic. */
int sy_wh_topics_match(const char *topics_json, const char *topic);

/* Adds the HTTP routes and the /metrics hook (channels_api.c). */
void sy_wh_api_register(sy_channels *c, sy_http *h);

#endif
