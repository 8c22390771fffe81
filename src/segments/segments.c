/* segments.c — placeholder while the module is being written (replaced). */
#include <stdlib.h>
#include "segments.h"

struct sy_segments {
    int unused;
};

int sy_segments_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_engine *engine, sy_events *events,
                       sy_tags *tags, sy_segments **out, sy_err *e) {
    (void)st, (void)staff, (void)contacts, (void)engine, (void)events, (void)tags, (void)e;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : SY_E_NOMEM;
}
void sy_segments_destroy(sy_segments *s) { free(s); }
void sy_segments_register(sy_segments *s, sy_http *h) { (void)s, (void)h; }
int sy_segments_validate(sy_segments *s, json_t *definition, sy_err *e) {
    (void)s, (void)definition;
    return sy_err_set(e, SY_E_UNSUPPORTED, "segments are not available yet");
}
int sy_segments_eval(sy_segments *s, json_t *definition, int64_t as_of, sy_idset **out, sy_err *e) {
    (void)s, (void)definition, (void)as_of, (void)out;
    return sy_err_set(e, SY_E_UNSUPPORTED, "segments are not available yet");
}
