/* an_groups.c — breakdown groups: accumulator rows by key, and the
 * contact-level groupings (owner, department, source, store, segments). */
#define _GNU_SOURCE /* qsort_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analytics_int.h"

void an_groups_init(an_groups *g, int width) {
    memset(g, 0, sizeof *g);
    g->width = width;
}

void an_groups_free(an_groups *g) {
    free(g->keys);
    free(g->vals);
    free(g->slots);
    memset(g, 0, sizeof *g);
}

static size_t slot_of(int64_t key, size_t n_slots) {
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (n_slots - 1);
}

static int rehash(an_groups *g, size_t n_slots) {
    uint32_t *s = calloc(n_slots, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < g->n; i++) {
        size_t k = slot_of(g->keys[i], n_slots);
        while (s[k])
            k = (k + 1) & (n_slots - 1);
        s[k] = (uint32_t)(i + 1);
    }
    free(g->slots);
    g->slots = s;
    g->n_slots = n_slots;
    return 0;
}

int64_t *an_groups_row(an_groups *g, int64_t key) {
    if (g->failed) return NULL;
    if (g->n_slots) {
        size_t k = slot_of(key, g->n_slots);
        while (g->slots[k]) {
            size_t i = g->slots[k] - 1;
            if (g->keys[i] == key) return g->vals + i * (size_t)g->width;
            k = (k + 1) & (g->n_slots - 1);
        }
    }
    if ((g->n + 1) * 2 > g->n_slots && rehash(g, g->n_slots ? g->n_slots * 2 : 64)) goto oom;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 32;
        int64_t *k = realloc(g->keys, cap * sizeof *k);
        if (!k) goto oom;
        g->keys = k;
        int64_t *v = realloc(g->vals, cap * (size_t)g->width * sizeof *v);
        if (!v) goto oom;
        g->vals = v;
        g->cap = cap;
    }
    size_t i = g->n++;
    g->keys[i] = key;
    memset(g->vals + i * (size_t)g->width, 0, (size_t)g->width * sizeof *g->vals);
    size_t k = slot_of(key, g->n_slots);
    while (g->slots[k])
        k = (k + 1) & (g->n_slots - 1);
    g->slots[k] = (uint32_t)(i + 1);
    return g->vals + i * (size_t)g->width;
oom:
    g->failed = 1;
    return NULL;
}

void an_groups_merge(an_groups *dst, const an_groups *src) {
    if (src->failed) dst->failed = 1;
    for (size_t i = 0; i < src->n; i++) {
        int64_t *row = an_groups_row(dst, src->keys[i]);
        if (!row) return;
        const int64_t *s = src->vals + i * (size_t)src->width;
        for (int w = 0; w < dst->width; w++)
            row[w] += s[w];
    }
}

static int cmp_rank(const void *a, const void *b, void *rank) {
    const double *r = rank;
    double x = r[*(const size_t *)a], y = r[*(const size_t *)b];
    if (x != y) return x > y ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

size_t *an_groups_order(const an_groups *g, const double *rank) {
    size_t *o = malloc((g->n ? g->n : 1) * sizeof *o);
    if (!o) return NULL;
    for (size_t i = 0; i < g->n; i++)
        o[i] = i;
    qsort_r(o, g->n, sizeof *o, cmp_rank, (void *)rank);
    return o;
}

int an_cgroups_init(an_q *q, an_cgroups *g, sy_err *e) {
    memset(g, 0, sizeof *g);
    g->bd = q->bd;
    if (q->bd == AN_BD_OWNER || q->bd == AN_BD_DEPARTMENT || q->bd == AN_BD_SOURCE ||
        q->bd == AN_BD_CSTORE) {
        sy_contact_facts *f;
        int rc = sy_contacts_facts(q->an->contacts, &f, e);
        if (rc) return rc;
        g->facts = f;
    } else if (q->bd == AN_BD_SEGMENT) {
        for (int i = 0; i < q->n_seg; i++) {
            int rc = sy_segments_members(q->an->segments, q->seg_ids[i], q->as_of, &g->segs[i], e);
            if (rc) {
                an_cgroups_free(g);
                if (rc == SY_E_NOT_FOUND)
                    return sy_err_field(e, SY_E_INVALID, "breakdown.segment_ids",
                                        "segment %lld does not exist", (long long)q->seg_ids[i]);
                return rc;
            }
            g->seg_ids[i] = q->seg_ids[i];
            g->n_seg = i + 1;
        }
    }
    return 0;
}

void an_cgroups_free(an_cgroups *g) {
    sy_contacts_facts_release((sy_contact_facts *)g->facts);
    for (int i = 0; i < g->n_seg; i++)
        sy_idset_destroy(g->segs[i]);
    memset(g, 0, sizeof *g);
}

int an_cgroups_of(const an_cgroups *g, uint32_t c, int64_t *keys) {
    const sy_contact_facts *f = g->facts;
    switch (g->bd) {
    case AN_BD_OWNER:
        keys[0] = c < f->n ? f->owner[c] : 0;
        return 1;
    case AN_BD_DEPARTMENT:
        keys[0] = c < f->n ? f->department[c] : 0;
        return 1;
    case AN_BD_SOURCE:
        keys[0] = c < f->n ? f->source[c] : 0;
        return 1;
    case AN_BD_CSTORE:
        keys[0] = c < f->n ? f->store[c] : 0;
        return 1;
    case AN_BD_SEGMENT: {
        int n = 0;
        for (int i = 0; i < g->n_seg; i++)
            if (sy_idset_contains(g->segs[i], c)) keys[n++] = g->seg_ids[i];
        return n;
    }
    default:
        return 0;
    }
}

void an_cgroups_label(const an_cgroups *g, json_t *names, int64_t key, char *out, size_t n) {
    if (g->bd == AN_BD_SOURCE) {
        if (key == 0) {
            snprintf(out, n, "unattributed");
            return;
        }
        for (size_t i = 0; g->facts && i < g->facts->n_channels; i++)
            if (g->facts->channels[i].id == key) {
                snprintf(out, n, "%s", g->facts->channels[i].name);
                return;
            }
    } else if (key == 0) {
        snprintf(out, n, g->bd == AN_BD_OWNER ? "(pool)" : "(none)");
        return;
    } else if (names) {
        char k[24];
        snprintf(k, sizeof k, "%lld", (long long)key);
        const char *s = json_string_value(json_object_get(names, k));
        if (s) {
            snprintf(out, n, "%s", s);
            return;
        }
    }
    snprintf(out, n, "%lld", (long long)key);
}

json_t *an_num(double v, int ok) {
    if (!ok) return json_null();
    if (v == (double)(int64_t)v && v < 9e15 && v > -9e15) return json_integer((json_int_t)v);
    return json_real(v);
}
