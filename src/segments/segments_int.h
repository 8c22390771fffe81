/* segments_int.h — shared by the segments module's files (segments.c: the
 * definition language; segments_api.c: storage and HTTP) and its tests. */
#ifndef SY_SEGMENTS_INT_H
#define SY_SEGMENTS_INT_H

#include "segments.h"

/* Limits that keep a definition cheap to check and to evaluate. */
#define SEG_MAX_DEPTH 16
#define SEG_MAX_NODES 200
#define SEG_MAX_REF_DEPTH 8 /* segment → segment → … references */

enum {
    SN_AND,
    SN_OR,
    SN_NOT,
    SN_TAG,
    SN_ATTR,
    SN_IDENT,
    SN_OWNER,
    SN_STORE,
    SN_DEPT,
    SN_EVENT,
    SN_SEGMENT,
    SN_STAGE, /* life-cycle stage: id is the SY_STAGE_* value */
};

/* Time windows of an event condition. */
enum { SW_ALL = 0, SW_LAST_DAYS, SW_CALENDAR_DAYS, SW_BETWEEN };

/* A parsed definition node. Strings borrow from the definition JSON (or the
 * arena); path is the node's JSON path ("$.and[1]"). */
typedef struct seg_node {
    int kind;
    const char *path;
    struct seg_node **kids; /* and / or: n_kids; not: 1 */
    size_t n_kids;
    int64_t id;       /* tag, owner, store, department, segment */
    const char *name; /* attribute key, identity type, event name */
    const char *op;   /* attribute operator */
    json_t *value;    /* attribute value (borrowed, may be NULL) */
    /* event */
    int did;
    const char *where[SY_DIM_COUNT]; /* NULL = any */
    int has_count_gte, has_count_lte, has_sum_gte, has_sum_lte;
    int64_t count_gte, count_lte, sum_gte, sum_lte;
    int window;
    int64_t days;          /* last_days / last_calendar_days */
    char from[11], to[11]; /* between dates, workspace timezone */
} seg_node;

/* Parses the shape of a definition (no workspace lookups): node kinds,
 * field types, operators' spelling, numbers in range, real dates.
 * Errors: SY_E_INVALID with e->field the JSON path of the bad part. */
int sy_seg_parse(sy_arena *a, json_t *def, seg_node **out, sy_err *e);

/* What evaluation needs from the rest of siyu; segments.c calls these so
 * that tests can evaluate against stand-ins. */
typedef struct seg_env {
    void *ctx;
    sy_contacts *contacts;
    sy_engine *engine;
    sy_events *events;
    sy_tags *tags;
    sy_staff *staff;
    /* Current definition of a live saved segment (new reference, caller
     * decrefs); SY_E_NOT_FOUND when there is none. */
    int (*segment_def)(void *ctx, int64_t id, json_t **def, sy_err *e);
    /* Members of a tag; NULL when tags are not available (tests). */
    sy_idset *(*tag_members)(void *ctx, int64_t id, sy_err *e);
    int (*tag_exists)(void *ctx, int64_t id, sy_err *e);
    /* Workspace timezone (IANA). */
    void (*timezone)(void *ctx, char *out, size_t n);
    /* Contacts currently in a life-cycle stage (SY_STAGE_*); NULL when
     * stages are not available (tests), which evaluation reports. */
    int (*stage_members)(void *ctx, int stage, sy_idset **out, sy_err *e);
} seg_env;

/* Checks a parsed definition against the workspace (tags, attributes,
 * events, staff, stores, other segments). self is the id of the segment
 * being saved (0 when none): referring back to it, directly or through
 * other segments, is a cycle. */
int sy_seg_check(const seg_env *env, sy_arena *a, seg_node *root, int64_t self, sy_err *e);
/* Evaluates a checked definition as of as_of into a new set. */
int sy_seg_eval(const seg_env *env, sy_arena *a, seg_node *root, int64_t as_of, sy_idset **out,
                sy_err *e);

/* [from, to) in UTC ms of an event node's window as of as_of, for the
 * given workspace timezone. */
void sy_seg_window(const seg_node *n, const char *tz, int64_t as_of, int64_t *from, int64_t *to);

/* segments_api.c */
struct sy_segments {
    sy_store *st;
    sy_staff *staff;
    sy_contacts *contacts;
    sy_engine *engine;
    sy_events *events;
    sy_tags *tags;
    sy_lifecycle *lifecycle; /* may be NULL (CLI): stage conditions then fail */
    seg_env env;
    /* real-time membership (segments_live.c) */
    struct seg_live *live;
};
/* Starts / stops the thread that keeps saved segments' members current and
 * records segment_entered / segment_exited. */
int sy_segments_live_start(sy_segments *s, sy_err *e);
void sy_segments_live_stop(sy_segments *s);
int sy_segments_def_load(void *ctx, int64_t id, json_t **def, sy_err *e);

#endif
