/* tags.h — the tag taxonomy and contact tags (issue 5).
 *
 * Categories (each stating the business scenario it serves) hold
 * subcategories and tags; a contact carries any number of tags. Kinds:
 * manual (add or remove for one contact, a selection, a list of phones or a
 * whole segment, in chunks, audited), rule (members are whoever matches a
 * definition in the segments language, kept current by the segments
 * module's live thread through sy_tags_set_rule_members) and form (applied
 * by form submissions; also editable by hand). Membership is kept in RAM as
 * one sy_idset per tag, rebuilt from the store at start, so segments can
 * combine tags with bitmap operations.
 *
 * Dependency direction: segments.h includes this header, so the tags module
 * never calls segments directly. The segments module hands it callbacks
 * (sy_tags_set_hooks) for validating rule definitions and reading a
 * segment's members, and its live thread evaluates rule tags.
 *
 * The module owns tables tag_categories, tags, contact_tags, forms and
 * form_submissions and its HTTP routes under /api/v1/tags,
 * /api/v1/tag-categories and /api/v1/forms. */
#ifndef SY_TAGS_H
#define SY_TAGS_H

#include <stdint.h>
#include "base/base.h"
#include "store/store.h"
#include "http/http.h"
#include "staff/staff.h"
#include "contacts/contacts.h"
#include "engine/engine.h"
#include "events/events.h"

typedef struct sy_tags sy_tags;

/* Loads the taxonomy and rebuilds every tag's member set. Caller owns *out. */
int sy_tags_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_tags **out, sy_err *e);
void sy_tags_destroy(sy_tags *t); /* NULL ok */
void sy_tags_register(sy_tags *t, sy_http *h);
/* From now on every membership change is recorded as a system event
 * (tag_added / tag_removed with {"tag_id"}) for journeys. Call before
 * serving. */
void sy_tags_set_events(sy_tags *t, sy_events *ev);

/* A copy of tag_id's members (live contact ids; caller destroys), or NULL
 * with SY_E_NOT_FOUND in e when the tag does not exist. Any thread. */
sy_idset *sy_tags_members(sy_tags *t, int64_t tag_id, sy_err *e);
/* 0 when tag_id exists, else SY_E_NOT_FOUND. */
int sy_tags_exists(sy_tags *t, int64_t tag_id, sy_err *e);
/* Tag ids of one contact (ascending), up to cap; returns how many. */
size_t sy_tags_of_contact(sy_tags *t, int64_t contact_id, int64_t *ids, size_t cap);

/* What the tags module needs from segments (set by the segments module
 * before serving; until then rule tags cannot be created and segment_id
 * bulk adds answer 503). */
typedef struct sy_tags_hooks {
    void *ctx;
    /* Validates a rule definition against the workspace. Errors:
     * SY_E_INVALID with e->field the JSON path ("$.and[0].event"). */
    int (*validate)(void *ctx, json_t *definition, sy_err *e);
    /* Current members of saved segment id (caller destroys *out).
     * Errors: SY_E_NOT_FOUND. */
    int (*segment_members)(void *ctx, int64_t segment_id, sy_idset **out, sy_err *e);
} sy_tags_hooks;
void sy_tags_set_hooks(sy_tags *t, const sy_tags_hooks *h);

/* Every rule tag as a JSON array of {"id","definition"} (new reference, caller
 * decrefs), for the re-evaluation thread. NULL on a read error (in e). */
json_t *sy_tags_rule_defs(sy_tags *t, sy_err *e);
/* Makes rule tag tag_id's members exactly `want` (live contact ids): diffs
 * against the RAM set, writes adds and removes in chunks (source "rule",
 * not audited: tag_added / tag_removed events are the record) and emits
 * the events. *added / *removed count rows changed (may be NULL).
 * Errors: SY_E_NOT_FOUND (tag deleted meanwhile; nothing changed),
 * SY_E_PRECONDITION (not a rule tag), SY_E_IO. */
int sy_tags_set_rule_members(sy_tags *t, int64_t tag_id, const sy_idset *want, size_t *added,
                             size_t *removed, sy_err *e);

/* Applies a form submission: checks answers {question_id: option_id |
 * [option_ids]} against form form_id, records the submission (source:
 * "staff", "api" or "event") and adds the chosen options' tags to the live
 * contact contact_id (already resolved and scope-checked; membership source
 * "form", audited, tag_added events). Tags deleted since the form was saved
 * are skipped. *result: the submission as JSON (caller decrefs). For the
 * API and for the form_submitted event path. Errors: SY_E_NOT_FOUND (form),
 * SY_E_INVALID naming "answers.<question_id>", SY_E_IO. */
int sy_tags_form_submit(sy_tags *t, const sy_actor *actor, int64_t form_id, int64_t contact_id,
                        json_t *answers, const char *source, json_t **result, sy_err *e);

/* Model tags (written by src/models/): finds or creates the top-level
 * category `category` (with its scenario) and in it the tag `name` of kind
 * "model"; *id gets the tag. Any thread. Errors: SY_E_CONFLICT when a tag of
 * that name exists there with another kind, SY_E_IO. */
int sy_tags_ensure_model_tag(sy_tags *t, const char *category, const char *scenario,
                             const char *name, int64_t *id, sy_err *e);
/* Makes a model tag's members exactly `want` (difference written in chunks,
 * source "model", tag_added / tag_removed recorded). Errors: SY_E_NOT_FOUND,
 * SY_E_PRECONDITION (not a model tag), SY_E_IO. */
int sy_tags_set_model_members(sy_tags *t, int64_t tag_id, const sy_idset *want, size_t *added,
                              size_t *removed, sy_err *e);

/* Saves a list of contacts (live ids, already scope-checked) as a new manual
 * tag `name` in the category 分析人群 (created when missing), audited as the
 * actor. Errors: SY_E_CONFLICT with field "name" when that name is taken
 * (nothing saved), SY_E_NOMEM, SY_E_IO. */
int sy_tags_save_list(sy_tags *t, const sy_actor *actor, const char *name, const sy_idset *members,
                      int64_t *tag_id, sy_err *e);

#endif
