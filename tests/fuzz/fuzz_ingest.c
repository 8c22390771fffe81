/* fuzz_ingest.c — libFuzzer target for the Segment ingestion parser
 * (sy_segment_parse) and the exact money parser. The first input byte picks
 * the endpoint; the rest is the request body. Invariants checked: the call
 * returns 0, SY_E_INVALID, SY_E_NOT_FOUND or SY_E_TOO_LARGE; an error has a
 * message; success yields 1..2500 messages each with a type, an event name,
 * and an id (userId, anonymousId or, for alias, previousId + userId). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "events/events_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const kinds[] = {"batch", "track", "identify", "page", "screen", "group", "alias", "nope"};
    if (size < 1) return 0;
    const char *kind = kinds[data[0] % 8];
    sy_arena *a = sy_arena_create();
    sy_parsed p;
    sy_err e = {0};
    json_t *details = NULL;
    int rc = sy_segment_parse(a, kind, (const char *)data + 1, size - 1, 1795000000000LL, &p, &details, &e);
    assert(rc == 0 || rc == SY_E_INVALID || rc == SY_E_NOT_FOUND || rc == SY_E_TOO_LARGE);
    if (rc) {
        assert(e.msg[0]);
        assert(p.root == NULL);
    } else {
        assert(p.n >= 1 && p.n <= SY_EV_MAX_BATCH);
        for (size_t i = 0; i < p.n; i++) {
            assert(p.msgs[i].type >= SY_MSG_IDENTIFY && p.msgs[i].type <= SY_MSG_ALIAS);
            assert(p.msgs[i].event && p.msgs[i].event[0]);
            if (p.msgs[i].type == SY_MSG_ALIAS) assert(p.msgs[i].previous_id && p.msgs[i].user_id);
            else assert(p.msgs[i].user_id || p.msgs[i].anonymous_id);
            json_t *amount = p.msgs[i].properties ? json_object_get(p.msgs[i].properties, "amount") : NULL;
            int64_t fen;
            if (amount) (void)sy_money_to_fen(amount, &fen);
        }
        json_decref(p.root);
    }
    json_decref(details);
    sy_arena_destroy(a);
    return 0;
}
