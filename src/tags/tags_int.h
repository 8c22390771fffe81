/* tags_int.h — shared internals of the tags module (tags.c: RAM sets and
 * rules, tags_store.c: SQL, tags_api.c: HTTP). Included by nobody outside
 * src/tags/ except its unit test. */
#ifndef SY_TAGS_INT_H
#define SY_TAGS_INT_H

#include <pthread.h>
#include "tags.h"

/* Rows per write job for bulk membership changes: a chunk of 2000
 * INSERT/DELETEs on indexed rows keeps a job well under ~100 ms. */
#define SY_TAGS_CHUNK 2000
/* Most contacts or phones one bulk request may name. */
#define SY_TAGS_BULK_MAX 100000
#define SY_TAGS_NAME_MAX 64      /* characters */
#define SY_TAGS_SCENARIO_MAX 200 /* characters */
#define SY_TAGS_DESC_MAX 500     /* characters */

/* One tag's members in RAM. */
typedef struct tag_set {
    int64_t id;
    sy_idset *members; /* live (not merged-away) contact ids */
    int rule;          /* kind "rule": members follow its definition only */
} tag_set;

struct sy_tags {
    sy_store *st;
    sy_staff *staff;
    sy_contacts *contacts;
    /* Guards sets/n_sets/cap_sets: readers (members, counts, listings) take
     * it shared; updates after a commit take it exclusive. */
    pthread_rwlock_t lock;
    tag_set *sets; /* sorted by id */
    size_t n_sets, cap_sets;
    /* Serialises membership writes with their RAM update, so that two
     * concurrent writers cannot apply their changes to RAM in a different
     * order than they committed. */
    pthread_mutex_t write_lock;
    /* Number of membership write jobs run (unit tests check chunking). */
    uint64_t n_member_jobs;
    /* Deleted tags whose rows the rebuild found (swept after start). */
    int64_t orphans[16];
    size_t n_orphans;
    /* where tag_added / tag_removed events go (NULL: not recorded) */
    sy_events *events;
    /* callbacks into segments (sy_tags_set_hooks); zero until set */
    sy_tags_hooks hooks;
};

/* Form limits. */
#define SY_TAGS_FORM_QUESTIONS 100
#define SY_TAGS_FORM_OPTIONS 50
#define SY_TAGS_OPTION_TAGS 20
#define SY_TAGS_FORM_ID_MAX 32 /* question / option id: [A-Za-z0-9_-] */

/* --- rules (tags.c) --- */

/* Trims nothing; checks s is valid UTF-8, not blank and at most max
 * characters. field names the request field. Errors: SY_E_INVALID. */
int sy_tags_check_text(const char *field, const char *s, size_t max, sy_err *e);
/* "manual", "rule" and "form" are accepted ("model" is reserved).
 * Errors: SY_E_INVALID naming "kind". */
int sy_tags_check_kind(const char *kind, sy_err *e);
/* Number of write jobs needed for n rows in chunks of SY_TAGS_CHUNK. */
size_t sy_tags_chunks(size_t n);

/* --- RAM sets (tags.c); the caller holds no lock --- */
int sy_tags_ram_add_tag(sy_tags *t, int64_t tag_id, int rule);
/* 1 when tag_id is a rule tag, 0 when another kind, -1 when unknown. */
int sy_tags_ram_is_rule(sy_tags *t, int64_t tag_id);
/* Writes the difference between a system-managed (rule or model) tag's
 * members and want, with membership source `source`. */
int sy_tags_set_system_members(sy_tags *t, int64_t tag_id, const sy_idset *want, const char *source,
                               size_t *added, size_t *removed, sy_err *e);
void sy_tags_ram_drop_tag(sy_tags *t, int64_t tag_id);
/* Adds (add = 1) or removes ids from tag_id's set. */
void sy_tags_ram_apply(sy_tags *t, int64_t tag_id, const int64_t *ids, size_t n, int add);
/* Member count of tag_id (0 when unknown). */
uint64_t sy_tags_ram_count(sy_tags *t, int64_t tag_id);
/* Clears every set and reloads them from contact_tags, then drops merged-away
 * contacts. */
int sy_tags_rebuild(sy_tags *t, sy_err *e);

/* --- membership writes (tags.c) --- */

/* Source of a membership row from the caller ("staff" for sessions, "api"
 * for tokens and write keys). */
const char *sy_tags_source_of(const sy_actor *actor);
/* Adds (add = 1) or removes tag_id on the live contact ids (already resolved
 * and scope-checked, no duplicates) in chunks of SY_TAGS_CHUNK, each chunk
 * one audited write job; RAM follows each commit. *changed counts rows
 * actually inserted or deleted. Errors: SY_E_NOT_FOUND when the tag does not
 * exist (nothing changed), SY_E_IO. */
int sy_tags_write_members(sy_tags *t, const sy_actor *actor, int64_t tag_id, const int64_t *ids,
                          size_t n, int add, size_t *changed, sy_err *e);

/* Same with an explicit source ("staff", "api", "rule", "form"); rows of
 * source "rule" are not audited. actor may be NULL (the system). */
int sy_tags_write_members_src(sy_tags *t, const sy_actor *actor, int64_t tag_id, const int64_t *ids,
                              size_t n, int add, const char *source, size_t *changed, sy_err *e);
/* The ids in want but not in cur (*add) and in cur but not in want (*del),
 * ascending; caller frees both arrays (NULL when empty). */
int sy_tags_diff(const sy_idset *cur, const sy_idset *want, int64_t **add, size_t *n_add,
                 int64_t **del, size_t *n_del);

/* --- forms (tags_forms.c) --- */
/* Checks the shape of a form's questions (ids, titles, options, tag id
 * lists); does not look tags up. Errors: SY_E_INVALID naming the path
 * ("questions[1].options[0].tag_ids"). */
int sy_tags_form_shape(json_t *questions, sy_err *e);
/* Maps answers {question_id: option_id | [option_ids]} to the union of the
 * chosen options' tag ids (ascending, unique), at most cap. Errors:
 * SY_E_INVALID naming "answers.<question_id>" (unknown question or option,
 * several options for a single-choice question, wrong type) or "answers". */
int sy_tags_form_answer_tags(json_t *questions, json_t *answers, int64_t *tags, size_t cap,
                             size_t *n, sy_err *e);
void sy_tags_forms_register(sy_tags *t, sy_http *h);

/* --- store (tags_store.c), on any connection --- */
/* *exists = 1 when tag_id is a tag. */
int sy_tags_db_tag_exists(sy_db *db, int64_t tag_id, int *exists, sy_err *e);
/* Inserts / deletes contact_tags rows for ids; *changed += rows affected. */
int sy_tags_db_add(sy_db *db, int64_t tag_id, const int64_t *ids, size_t n, int64_t now,
                   int64_t by_staff, const char *source, size_t *changed, sy_err *e);
int sy_tags_db_remove(sy_db *db, int64_t tag_id, const int64_t *ids, size_t n, size_t *changed,
                      sy_err *e);
/* Deletes up to SY_TAGS_CHUNK membership rows of a deleted tag; *more = 1
 * when it hit the limit. */
int sy_tags_db_sweep(sy_db *db, int64_t tag_id, int *more, sy_err *e);
/* Sweeps every row of a deleted tag, one chunk per write job. */
int sy_tags_sweep(sy_tags *t, int64_t tag_id, sy_err *e);

/* Metrics hook registration (tags_api.c). */
void sy_tags_metrics(void *ctx, sy_buf *out);

#endif
