/* tags.h — the tag taxonomy and contact tags (issue 5, first slice).
 *
 * Categories (each stating the business scenario it serves) hold
 * subcategories and tags; a contact carries any number of tags. This slice
 * covers manual tags: add or remove for one contact, a selection of
 * contacts, an uploaded list of phones, or a whole segment (later), in
 * chunks, audited, with member counts. Membership is kept in RAM as one
 * sy_idset per tag, rebuilt from the store at start, so segments can
 * combine tags with bitmap operations.
 *
 * The module owns tables tag_categories, tags and contact_tags and its HTTP
 * routes under /api/v1/tags and /api/v1/tag-categories. */
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

#endif
