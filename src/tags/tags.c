/* tags.c — placeholder while the module is being written (replaced). */
#include <stdlib.h>
#include "tags.h"

struct sy_tags {
    int unused;
};

int sy_tags_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_tags **out, sy_err *e) {
    (void)st, (void)staff, (void)contacts, (void)e;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : SY_E_NOMEM;
}
void sy_tags_destroy(sy_tags *t) { free(t); }
void sy_tags_register(sy_tags *t, sy_http *h) { (void)t, (void)h; }
sy_idset *sy_tags_members(sy_tags *t, int64_t tag_id, sy_err *e) {
    (void)t;
    sy_err_set(e, SY_E_NOT_FOUND, "tag %lld not found", (long long)tag_id);
    return NULL;
}
int sy_tags_exists(sy_tags *t, int64_t tag_id, sy_err *e) {
    (void)t;
    return sy_err_set(e, SY_E_NOT_FOUND, "tag %lld not found", (long long)tag_id);
}
size_t sy_tags_of_contact(sy_tags *t, int64_t contact_id, int64_t *ids, size_t cap) {
    (void)t, (void)contact_id, (void)ids, (void)cap;
    return 0;
}
