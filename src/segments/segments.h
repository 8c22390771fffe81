/* segments.h — audiences: a JSON definition language compiled to set
 * operations over contact sets (issue 5, first slice).
 *
 * A definition is a tree of and / or / not nodes over conditions on tag
 * membership, contact attributes, identities, owner/store/department and
 * behaviour (did / did not do event E, with dimension filters, at least / at
 * most N times or with an amount sum, in the last D days, last D calendar
 * days in the workspace timezone, or between dates), and membership of
 * another segment. Every query takes an optional as_of (UTC ms). Errors
 * point at the bad node by a JSON path ("$.and[1].event").
 *
 * The module owns tables segments and segment_versions (and snapshots) and
 * its routes under /api/v1/segments. */
#ifndef SY_SEGMENTS_H
#define SY_SEGMENTS_H

#include <stdint.h>
#include "base/base.h"
#include "store/store.h"
#include "http/http.h"
#include "staff/staff.h"
#include "contacts/contacts.h"
#include "engine/engine.h"
#include "events/events.h"
#include "tags/tags.h"
#include "lifecycle/lifecycle.h"

typedef struct sy_segments sy_segments;

int sy_segments_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_engine *engine,
                       sy_events *events, sy_tags *tags, sy_segments **out, sy_err *e);
void sy_segments_destroy(sy_segments *s); /* NULL ok */
void sy_segments_register(sy_segments *s, sy_http *h);
/* Gives segments the life-cycle module for {"stage": …} conditions
 * (borrowed; must outlive the segments module's thread). */
void sy_segments_set_lifecycle(sy_segments *s, sy_lifecycle *lc);

/* Validates a definition (JSON) without evaluating it. Errors: SY_E_INVALID
 * with e->field the JSON path of the bad node. */
int sy_segments_validate(sy_segments *s, json_t *definition, sy_err *e);
/* Evaluates a definition as of as_of (UTC ms) into a new set of live
 * contact ids (caller destroys). Not scope-filtered. */
int sy_segments_eval(sy_segments *s, json_t *definition, int64_t as_of, sy_idset **out, sy_err *e);

/* Members of saved segment id as of as_of (UTC ms), not scope-filtered, in a
 * new set (caller destroys). Errors: SY_E_NOT_FOUND (no such segment),
 * SY_E_NOMEM. */
int sy_segments_members(sy_segments *s, int64_t id, int64_t as_of, sy_idset **out, sy_err *e);

/* Saves a new segment (version 1) with a definition validated as the API
 * does, audited as actor. Errors: SY_E_INVALID (field = JSON path),
 * SY_E_CONFLICT with field "name" when the name is taken, SY_E_IO. */
int sy_segments_save(sy_segments *s, const sy_actor *actor, const char *name,
                     const char *description, json_t *definition, int64_t *id, sy_err *e);

#endif
