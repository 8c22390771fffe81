/* lifecycle.h — life-cycle stages of contacts (issue 5 §3).
 *
 * Every contact with activity or a qualifying event has one stage, computed
 * from its events (engine profile and per-type events) by configurable
 * rules; see docs/lifecycle.md for the rules and their precedence. The
 * module owns tables lifecycle_settings, contact_stage (current stage per
 * contact) and stage_history (transitions), and its routes under
 * /api/v1/lifecycle and /api/v1/contacts/{id}/stage.
 *
 * A background thread (started by sy_lifecycle_register, i.e. only in the
 * server) re-evaluates the contacts of newly committed events (checked
 * every 200 ms) and every live contact at least every minute (time-relative
 * stages such as 沉默), after merges and after the rules changed. Each transition is stored in
 * stage_history and recorded as the system event lifecycle_changed {"from","to"}; the first pass
 * after start stores stages and history but records no events (it is not a change). */
#ifndef SY_LIFECYCLE_H
#define SY_LIFECYCLE_H

#include <stdint.h>
#include "base/base.h"
#include "store/store.h"
#include "http/http.h"
#include "staff/staff.h"
#include "contacts/contacts.h"
#include "engine/engine.h"
#include "events/events.h"

/* Stages, in ascending precedence order of the funnel; SY_STAGE_NONE means
 * the contact has no stage (no activity and no qualifying event). */
enum {
    SY_STAGE_NONE = 0,
    SY_STAGE_ADDED,       /* 新加微 */
    SY_STAGE_IN_GROUP,    /* 已入群 */
    SY_STAGE_RETAINED,    /* 留存 */
    SY_STAGE_ACTIVE,      /* 活跃 */
    SY_STAGE_CONVERTED,   /* 已转化 */
    SY_STAGE_REPURCHASED, /* 复购 */
    SY_STAGE_SILENT,      /* 沉默 */
    SY_STAGE_CHURNED,     /* 流失 */
    SY_STAGE_COUNT
};

/* Stable key ("added", …; "" for NONE) and Chinese label of a stage. */
const char *sy_stage_key(int stage);
const char *sy_stage_label(int stage);
/* Stage of a key; SY_STAGE_NONE (0) when key is not a stage key. */
int sy_stage_parse(const char *key);

/* The rules (lifecycle settings). */
typedef struct sy_lc_rules {
    char added_event[201];    /* default "add_wechat" */
    char in_group_event[201]; /* default "join_group" */
    int active_days;          /* default 7 */
    int silent_days;          /* default 30 */
    int churned_days;         /* default 90 */
} sy_lc_rules;
void sy_lc_rules_default(sy_lc_rules *r);

/* What the rules look at for one contact. */
typedef struct sy_lc_facts {
    int added;         /* has at least one added_event */
    int64_t joined_at; /* time of the first in_group_event; 0 when none */
    int64_t last_seen; /* latest activity (engine profile); 0 when none */
    uint32_t orders;   /* engine profile orders */
} sy_lc_facts;

/* The stage of a contact as of now (pure; tz is the workspace timezone,
 * used to tell calendar days apart for 留存). */
int sy_lc_classify(const sy_lc_rules *r, const sy_lc_facts *f, int64_t now, const char *tz);

/* The earliest time after now at which the passage of time alone can change
 * sy_lc_classify's answer for f (one of last_seen + active, silent or
 * churned days); 0 when it never can (no activity, or every threshold is
 * behind). The stage is the same for every t in [now, that time). */
int64_t sy_lc_next_change(const sy_lc_rules *r, const sy_lc_facts *f, int64_t now);

typedef struct sy_lifecycle sy_lifecycle;

/* Creates the module and loads the stored stages and settings. Borrowed
 * modules outlive it. Errors: SY_E_NOMEM, SY_E_IO. */
int sy_lifecycle_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_engine *engine,
                        sy_events *events, sy_lifecycle **out, sy_err *e);
/* Stops the thread and frees the module. Call before sy_events_destroy.
 * NULL ok. */
void sy_lifecycle_destroy(sy_lifecycle *lc);
/* Adds the routes and starts the evaluation thread (server only). */
void sy_lifecycle_register(sy_lifecycle *lc, sy_http *h);

/* Runs one evaluation pass now (tests, CLI); emit != 0 records
 * lifecycle_changed events for the changes. */
int sy_lifecycle_evaluate(sy_lifecycle *lc, int emit, sy_err *e);

/* Same for the given contacts only (those of them that are live): what
 * the thread runs for the contacts of newly committed events. */
int sy_lifecycle_evaluate_contacts(sy_lifecycle *lc, int emit, const sy_idset *ids, sy_err *e);

/* Contacts currently in stage (SY_STAGE_ADDED … SY_STAGE_CHURNED), as of
 * the latest pass. Caller destroys. Any thread. Errors: SY_E_INVALID (not a
 * stage), SY_E_NOMEM. */
int sy_lifecycle_members(sy_lifecycle *lc, int stage, sy_idset **out, sy_err *e);

#endif
