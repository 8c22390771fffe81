/* events.h — customer events: Segment-compatible ingestion (/v1 endpoints), identity
 * resolution, the append-only event log, the event catalog and schemas.
 *
 * Ingestion path: an HTTP thread parses and validates a whole request
 * (nothing is stored when any message is bad), then hands it to the group
 * committer and suspends the connection. The committer gathers every pending
 * request, and in one writer-thread transaction de-duplicates messageIds,
 * resolves identities to contacts, and appends one zstd-compressed,
 * checksummed block to the event log. Only after that commit are the
 * requests answered 200 and the events appended to the engine index.
 *
 * The engine index, the messageId set and the catalog statistics are rebuilt
 * from the log at start (sy_events_create). */
#ifndef SY_EVENTS_H
#define SY_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include "base/base.h"
#include "store/store.h"
#include "http/http.h"
#include "staff/staff.h"
#include "contacts/contacts.h"
#include "engine/engine.h"

typedef struct sy_events sy_events;

/* Creates the module: loads the catalog and replays the event log into
 * engine (owned by the caller, outlives the module). Starts the group
 * committer thread. Errors: SY_E_IO, SY_E_NOMEM, SY_E_INTERNAL (a block whose
 * checksum fails: the message names it). */
int sy_events_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_engine *engine,
                     sy_events **out, sy_err *e);
/* Commits and answers every pending request, then stops the committer;
 * requests submitted afterwards are answered 503 (unavailable). The module
 * stays usable for reads until destroyed. NULL ok; idempotent. */
void sy_events_stop(sy_events *ev);
/* Stops (as above) and frees the module. Call after the HTTP server has
 * stopped. NULL ok. */
void sy_events_destroy(sy_events *ev);
void sy_events_register(sy_events *ev, sy_http *h);

/* Ingests one Segment-format request body (as POSTed to /v1/<kind>, kind is
 * "batch", "track", "identify", "page", "screen", "group" or "alias") on
 * behalf of a write key, synchronously: returns after commit. For the demo
 * generator, the CLI and tests — the same path HTTP requests take.
 * Errors: SY_E_INVALID (with per-message details in *details when not
 * NULL; caller decrefs), SY_E_TOO_LARGE, SY_E_IO. */
int sy_events_ingest(sy_events *ev, int64_t write_key_id, const char *kind, const char *body,
                     size_t len, int64_t received_at, json_t **details, sy_err *e);

/* Records an event siyu itself produces (tag_added, segment_entered,
 * lifecycle_changed, …) for n contacts: stored in the log like any event,
 * with source "system", which never counts as a contact's activity.
 * properties is borrowed (copied; may be NULL). Queued for the next group
 * commit; returns without waiting (call after the change it reports has
 * committed). Any thread. Errors: SY_E_UNAVAILABLE when stopping, SY_E_NOMEM. */
int sy_events_emit(sy_events *ev, const int64_t *contacts, size_t n, const char *name,
                   json_t *properties, sy_err *e);

/* Writes every stored event as JSON Lines to path. */
int sy_events_export_file(sy_events *ev, const char *path, size_t *rows, sy_err *e);

/* Counters for benchmarks and /metrics. */
typedef struct sy_events_stats {
    uint64_t events;     /* events stored */
    uint64_t duplicates; /* messages acknowledged but not stored again */
    uint64_t commits;    /* group commits */
    uint64_t blocks;     /* blocks in the log */
    int64_t replay_ms;   /* time to rebuild at start */
} sy_events_stats;
void sy_events_get_stats(sy_events *ev, sy_events_stats *out);

/* Demo behaviour: about `days` days of events for every demo contact, sent
 * through the ingestion path (no side door). Deterministic for seed.
 * intensity (>= 1) divides the time between visits: 1 gives about 8 events
 * per contact, about 20 at the bench scale (`siyu demo --scale`). */
int sy_events_demo_seed(sy_events *ev, int64_t write_key_id, uint64_t seed, int days, int intensity,
                        sy_err *e);

/* Catalog lookups for segment definitions (catalog_lookup.c). Any thread.
 * sy_events_type_id: *id gets the type id of event name; SY_E_NOT_FOUND when
 * no such event has been seen or declared. sy_events_dim_id: *id gets the
 * dictionary id of value in dimension dim (SY_DIM_*), 0 when that value has
 * never been seen (no event can match it yet). */
int sy_events_type_id(sy_events *ev, const char *name, int *id, sy_err *e);
void sy_events_dim_id(sy_events *ev, int dim, const char *value, uint16_t *id);
/* The properties of the stored event at engine position pos, as a new
 * object (caller decrefs; an event without properties gives {}). Any
 * thread. Errors: SY_E_NOT_FOUND (no such position), SY_E_INTERNAL (a
 * damaged block), SY_E_IO. */
int sy_events_properties_at(sy_events *ev, uint32_t pos, json_t **props, sy_err *e);
/* The value of dictionary id in dimension dim, copied into out ("" when
 * unknown). */
void sy_events_dim_name(sy_events *ev, int dim, uint16_t id, char *out, size_t n);

#endif
