/* fuzz_segment.c — libFuzzer target for the segment definition parser
 * (sy_seg_parse: shape only, no workspace lookups). Invariants: the call
 * returns 0 or SY_E_INVALID; an error has a message and a field that is a
 * JSON path starting with "$" (or "definition"); success yields a tree whose
 * groups are non-empty and whose nodes all carry a path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "segments/segments_int.h"

/* Checked in release builds too (the CI replay is built without assert). */
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) abort();                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const seg_node *n, int depth) {
    CHECK(n && n->path && n->path[0] == '$');
    CHECK(depth <= SEG_MAX_DEPTH + 1);
    size_t count = 1;
    if (n->kind == SN_AND || n->kind == SN_OR) CHECK(n->n_kids >= 1);
    if (n->kind == SN_NOT) CHECK(n->n_kids == 1);
    if (n->kind == SN_EVENT) CHECK(n->name && n->name[0]);
    for (size_t i = 0; i < n->n_kids; i++) count += walk(n->kids[i], depth + 1);
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *def = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!def) return 0;
    sy_arena *a = sy_arena_create();
    seg_node *root = NULL;
    sy_err e = {0};
    int rc = sy_seg_parse(a, def, &root, &e);
    CHECK(rc == 0 || rc == SY_E_INVALID);
    if (rc) {
        CHECK(e.msg[0]);
        CHECK(e.field[0] == '$' || strcmp(e.field, "definition") == 0);
    } else {
        CHECK(walk(root, 0) <= SEG_MAX_NODES);
    }
    sy_arena_destroy(a);
    json_decref(def);
    return 0;
}
