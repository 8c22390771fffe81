/* catalog_lookup.c — read-only catalog lookups for other modules (segments). */
#include <stdio.h>
#include "events_int.h"

int sy_events_type_id(sy_events *ev, const char *name, int *id, sy_err *e) {
    pthread_mutex_lock(&ev->catalog_lock);
    uint32_t t = strdict_get(&ev->type_ids, name);
    pthread_mutex_unlock(&ev->catalog_lock);
    if (!t) return sy_err_set(e, SY_E_NOT_FOUND, "event \"%s\" is not in the event catalog", name);
    *id = (int)t;
    return 0;
}

void sy_events_dim_id(sy_events *ev, int dim, const char *value, uint16_t *id) {
    *id = 0;
    if (dim < 0 || dim >= SY_DIM_COUNT) return;
    pthread_mutex_lock(&ev->catalog_lock);
    uint32_t v = strdict_get(&ev->dims[dim], value);
    pthread_mutex_unlock(&ev->catalog_lock);
    *id = v > UINT16_MAX ? 0 : (uint16_t)v;
}

void sy_events_dim_name(sy_events *ev, int dim, uint16_t id, char *out, size_t n) {
    if (n) out[0] = 0;
    if (dim < 0 || dim >= SY_DIM_COUNT || !id) return;
    pthread_mutex_lock(&ev->catalog_lock);
    const strdict *d = &ev->dims[dim];
    for (size_t i = 0; i < d->cap; i++)
        if (d->keys[i] && d->vals[i] == id) {
            snprintf(out, n, "%s", d->keys[i]);
            break;
        }
    pthread_mutex_unlock(&ev->catalog_lock);
}

int sy_events_properties_at(sy_events *ev, uint32_t pos, json_t **props, sy_err *e) {
    sy_arena *a = sy_arena_create();
    if (!a) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    sy_logrow row;
    int rc = sy_events_payload(ev, a, pos, &row, e);
    if (rc == 0) {
        json_t *payload = row.payload ? json_loadb(row.payload, row.payload_len, 0, NULL) : NULL;
        json_t *p = payload ? json_object_get(payload, "properties") : NULL;
        *props = json_is_object(p) ? json_incref(p) : json_object();
        json_decref(payload);
    }
    sy_arena_destroy(a);
    return rc;
}
