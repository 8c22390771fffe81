/* segments_members.c — members of a saved segment, for other modules
 * (analytics cohorts and breakdowns). */
#include "segments_int.h"

int sy_segments_members(sy_segments *s, int64_t id, int64_t as_of, sy_idset **out, sy_err *e) {
    json_t *def;
    int rc = sy_segments_def_load(s, id, &def, e);
    if (rc) return rc;
    rc = sy_segments_eval(s, def, as_of, out, e);
    json_decref(def);
    return rc;
}
