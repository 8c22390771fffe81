/* ingest.c — the group committer, identity resolution, the writer job that
 * appends one block per commit, and the replay of the log at start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "events_int.h"

/* Most events a single group commit takes; more wait for the next one.
 * Keeps one writer job well under the 100 ms budget. */
#define GROUP_MAX_EVENTS 20000

/* ---- containers -------------------------------------------------------- */

static int u64set_grow(u64set *s) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    uint64_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return SY_E_NOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t k = s->slots[i];
        if (!k) continue;
        size_t j = k & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = k;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

int u64set_add(u64set *s, uint64_t k) {
    if ((s->n + 1) * 2 > s->cap && u64set_grow(s)) return SY_E_NOMEM;
    size_t j = k & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == k) return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = k;
    s->n++;
    return 1;
}

int u64set_has(const u64set *s, uint64_t k) {
    if (!s->cap) return 0;
    size_t j = k & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == k) return 1;
        j = (j + 1) & (s->cap - 1);
    }
    return 0;
}

void u64set_free(u64set *s) {
    free(s->slots);
    memset(s, 0, sizeof *s);
}

static uint64_t hash_str(const char *s) {
    uint64_t h =
        1469598103934665603ULL; /* FNV-1a: keys are trusted-ish names, not attacker-chosen sets */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

uint32_t strdict_get(const strdict *d, const char *k) {
    if (!d->cap) return 0;
    size_t j = hash_str(k) & (d->cap - 1);
    while (d->keys[j]) {
        if (strcmp(d->keys[j], k) == 0) return d->vals[j];
        j = (j + 1) & (d->cap - 1);
    }
    return 0;
}

int strdict_put(strdict *d, const char *k, uint32_t v) {
    if ((d->n + 1) * 2 > d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        char **keys = calloc(cap, sizeof *keys);
        uint32_t *vals = calloc(cap, sizeof *vals);
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return SY_E_NOMEM;
        }
        for (size_t i = 0; i < d->cap; i++) {
            if (!d->keys[i]) continue;
            size_t j = hash_str(d->keys[i]) & (cap - 1);
            while (keys[j])
                j = (j + 1) & (cap - 1);
            keys[j] = d->keys[i];
            vals[j] = d->vals[i];
        }
        free(d->keys);
        free(d->vals);
        d->keys = keys;
        d->vals = vals;
        d->cap = cap;
    }
    size_t j = hash_str(k) & (d->cap - 1);
    while (d->keys[j]) {
        if (strcmp(d->keys[j], k) == 0) {
            d->vals[j] = v;
            return 0;
        }
        j = (j + 1) & (d->cap - 1);
    }
    d->keys[j] = strdup(k);
    if (!d->keys[j]) return SY_E_NOMEM;
    d->vals[j] = v;
    d->n++;
    return 0;
}

void strdict_free(strdict *d) {
    for (size_t i = 0; i < d->cap; i++)
        free(d->keys[i]);
    free(d->keys);
    free(d->vals);
    memset(d, 0, sizeof *d);
}

/* Keyed 64-bit hash of (write key, string) for the de-duplication sets.
 * SipHash with a fixed key: the sets are rebuilt from the log at start, so
 * the key only needs to be the same within one process. */
uint64_t sy_events_key(int64_t write_key_id, const char *s) {
    static const unsigned char key[crypto_shorthash_KEYBYTES] = "siyu-events-key";
    unsigned char out[crypto_shorthash_BYTES];
    unsigned char buf[8 + 256];
    size_t n = strlen(s);
    if (n > 256) n = 256; /* messageIds are at most 200 bytes (validated) */
    memcpy(buf, &write_key_id, 8);
    memcpy(buf + 8, s, n);
    crypto_shorthash(out, buf, 8 + n, key);
    uint64_t h;
    memcpy(&h, out, 8);
    return h ? h : 1;
}

/* ---- identity resolution ---------------------------------------------- */

typedef struct ident {
    const char *type, *value;
} ident;

/* Per-group cache of identity → contact lookups. */
typedef struct job {
    sy_events *ev;
    pending *group;
    sy_arena *arena;
    strdict cache; /* "type\x1fvalue" → contact id */
    sy_logrow *rows;
    size_t n_rows, cap_rows;
    u64set group_seen; /* messageIds within this group */
    u64set group_orders;
    /* merges done by this job, applied to the engine after commit */
    uint32_t *merge_loser, *merge_winner;
    size_t n_merges, cap_merges;
    int64_t now;
    uint64_t gen0;  /* store generation when the job started */
    sy_buf payload; /* reused for each row's payload */
} job;

/* "type\x1fvalue" in arena memory, without printf. */
static char *ident_key(sy_arena *a, const char *type, const char *value) {
    size_t t = strlen(type), v = strlen(value);
    char *k = sy_alloc(a, t + v + 2);
    memcpy(k, type, t);
    k[t] = 0x1f;
    memcpy(k + t + 1, value, v + 1);
    return k;
}

/* Looks an identity up: this group's new links, then the cross-group cache,
 * then the store. Contact ids fit 32 bits (dense ids). */
static int lookup(job *j, sy_db *db, const char *type, const char *value, int64_t *contact,
                  sy_err *e) {
    char *k = ident_key(j->arena, type, value);
    uint32_t c = strdict_get(&j->cache, k);
    if (!c) c = strdict_get(&j->ev->idents, k);
    if (c) {
        *contact = c;
        return 0;
    }
    int rc = sy_contacts_ident_find(db, type, value, contact, e);
    if (rc == 0 && *contact) strdict_put(&j->cache, k, (uint32_t)*contact);
    return rc;
}

static void cache_set(job *j, const char *type, const char *value, int64_t contact) {
    strdict_put(&j->cache, ident_key(j->arena, type, value), (uint32_t)contact);
}

/* Merges move identities: forget every cached link. */
static void cache_forget(job *j) {
    strdict_free(&j->cache);
    strdict_free(&j->ev->idents);
}

/* The user_id and phone a contact holds (NULL when none), in arena memory. */
typedef struct strong_ids {
    const char *user_id, *phone;
} strong_ids;

static int strong(job *j, sy_db *db, int64_t id, strong_ids *out, sy_err *e) {
    int rc = sy_contacts_ident_value(db, j->arena, id, "user_id", &out->user_id, e);
    if (rc == 0) rc = sy_contacts_ident_value(db, j->arena, id, "phone", &out->phone, e);
    return rc;
}

/* Two contacts belong to different people when they hold different user_ids
 * or different phones: such contacts are never merged automatically. */
static int different_people(const strong_ids *a, const strong_ids *b) {
    return (a->user_id && b->user_id && strcmp(a->user_id, b->user_id) != 0) ||
           (a->phone && b->phone && strcmp(a->phone, b->phone) != 0);
}

static int record_conflict(sy_db *db, job *j, int64_t a, int64_t b, const ident *id,
                           const sy_msg *m, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(
        db,
        "INSERT INTO identity_conflicts(at, contact_a, contact_b, identity_type, "
        "identity_value, message_id) SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS "
        "(SELECT 1 FROM identity_conflicts WHERE status = 'open' AND contact_a = ?2 AND "
        "contact_b = ?3 AND identity_type = ?4 AND identity_value = ?5)",
        &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, j->now);
    sy_stmt_bind_int(st, 2, a);
    sy_stmt_bind_int(st, 3, b);
    sy_stmt_bind_text(st, 4, id->type);
    sy_stmt_bind_text(st, 5, id->value);
    sy_stmt_bind_text(st, 6, m->message_id);
    rc = sy_stmt_step(st, e);
    sy_stmt_done(st);
    return rc < 0 ? rc : 0;
}

static int note_merge(job *j, int64_t loser, int64_t winner) {
    size_t cap = j->cap_merges;
    if (j->n_merges == cap) {
        cap = cap ? cap * 2 : 8;
        uint32_t *l = realloc(j->merge_loser, cap * sizeof *l), *w;
        if (!l) return SY_E_NOMEM;
        j->merge_loser = l;
        w = realloc(j->merge_winner, cap * sizeof *w);
        if (!w) return SY_E_NOMEM;
        j->merge_winner = w;
        j->cap_merges = cap;
    }
    j->merge_loser[j->n_merges] = (uint32_t)loser;
    j->merge_winner[j->n_merges++] = (uint32_t)winner;
    return 0;
}

static const char *const trait_identities[] = {
    "phone", "email", "wechat_unionid", "wechat_openid", "wecom_external_userid", NULL};

/* Resolves the contact a message belongs to, creating, linking and merging
 * by the rules in docs/events.md:
 *  - the contact of the message's user_id wins; when the user_id is new, a
 *    contact found through another id is used only if it holds no other
 *    user_id (else a new contact is made: a shared device or phone is not a
 *    reason to put two people together);
 *  - other contacts found are merged into it unless they belong to a
 *    different person (different user_id or phone): then a conflict is
 *    recorded for review and that id stays where it is. */
static int resolve(job *j, sy_db *db, const sy_msg *m, int64_t *contact, sy_err *e) {
    ident ids[8];
    size_t n = 0;
    int rc;
    if (m->user_id) ids[n++] = (ident){"user_id", m->user_id};
    if (m->anonymous_id) ids[n++] = (ident){"anonymous_id", m->anonymous_id};
    if (m->type == SY_MSG_IDENTIFY && m->traits) {
        for (const char *const *t = trait_identities; *t; t++) {
            json_t *v = json_object_get(m->traits, *t);
            if (!json_is_string(v) || json_string_length(v) == 0) continue;
            char *norm;
            if (sy_contacts_identity_norm(j->arena, *t, json_string_value(v), &norm, NULL) == 0)
                ids[n++] = (ident){*t, norm};
        }
    }
    if (m->type == SY_MSG_ALIAS) {
        int64_t c = 0;
        if ((rc = lookup(j, db, "user_id", m->previous_id, &c, e))) return rc;
        ids[n++] = (ident){c ? "user_id" : "anonymous_id", m->previous_id};
    }
    int64_t found[8] = {0};
    strong_ids sid[8];
    int have[8] = {0};
    memset(sid, 0, sizeof sid);
    for (size_t i = 0; i < n; i++)
        if ((rc = lookup(j, db, ids[i].type, ids[i].value, &found[i], e))) return rc;
            /* Strong ids are read only when needed: in the common case every id of
             * the message already points at one contact and no query is made. */
#define SID(i) (have[i] ? 0 : (have[i] = 1, strong(j, db, found[i], &sid[i], e)))
    /* What the message says about the person: its user_id and phone. */
    /* An alias legitimately gives a contact a second user_id, so its ids do
     * not contradict the contact's. */
    int is_alias = m->type == SY_MSG_ALIAS;
    strong_ids msg = {0};
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ids[i].type, "user_id") == 0 && i == 0 && !is_alias) msg.user_id = ids[i].value;
        if (strcmp(ids[i].type, "phone") == 0) msg.phone = ids[i].value;
    }
    /* primary: the user_id's contact; else the first contact found that is
     * not someone else by the message's own ids */
    int64_t primary = 0;
    size_t prim_i = n; /* index of an id found on the primary, n when new */
    for (size_t i = 0; i < n && !primary; i++)
        if (found[i] && strcmp(ids[i].type, "user_id") == 0) primary = found[i], prim_i = i;
    for (size_t i = 0; i < n && !primary; i++) {
        if (!found[i]) continue;
        if ((rc = SID(i))) return rc;
        if (!different_people(&sid[i], &msg)) primary = found[i], prim_i = i;
    }
    int is_new = !primary;
    if (is_new) {
        if ((rc = sy_contacts_ident_create(db, j->now, &primary, e))) return rc;
    }
    int need_prim = 0; /* is the primary's strong-id set needed? */
    for (size_t i = 0; i < n; i++)
        if ((found[i] && found[i] != primary) ||
            (!found[i] &&
             (strcmp(ids[i].type, "user_id") == 0 || strcmp(ids[i].type, "phone") == 0)))
            need_prim = 1;
    strong_ids prim = {0};
    if (need_prim && !is_new) {
        if ((rc = SID(prim_i))) return rc;
        prim = sid[prim_i];
    }
    for (size_t i = 0; i < n; i++) {
        int64_t other = found[i];
        if (!other || other == primary) continue;
        if ((rc = SID(i))) return rc;
        if (different_people(&sid[i], &prim) || different_people(&sid[i], &msg)) {
            if ((rc = record_conflict(db, j, primary, other, &ids[i], m, e))) return rc;
            found[i] = -1; /* that id stays with the other person */
            continue;
        }
        /* Not someone else: the contact holding the stronger ids wins. */
        int other_wins =
            (sid[i].user_id && !prim.user_id) || (!prim.user_id && sid[i].phone && !prim.phone);
        int64_t winner = other_wins ? other : primary, loser = other_wins ? primary : other;
        if ((rc = sy_contacts_ident_merge(db, winner, loser, "identify", e))) return rc;
        if ((rc = note_merge(j, loser, winner))) return sy_err_set(e, rc, "out of memory");
        for (size_t k = 0; k < n; k++)
            if (found[k] == loser) found[k] = winner;
        cache_forget(j); /* merged contacts: cached ids may be stale */
        if (other_wins) prim = sid[i];
        if (!prim.user_id) prim.user_id = sid[i].user_id;
        if (!prim.phone) prim.phone = sid[i].phone;
        primary = winner;
    }
    /* Attach identities not yet linked. A second user_id or phone for a
     * contact is a conflict, not a link. */
    for (size_t i = 0; i < n; i++) {
        if (found[i] != 0) continue;
        if ((strcmp(ids[i].type, "user_id") == 0 && prim.user_id && !is_alias) ||
            (strcmp(ids[i].type, "phone") == 0 && prim.phone)) {
            if ((rc = record_conflict(db, j, primary, 0, &ids[i], m, e))) return rc;
            continue;
        }
        rc = sy_contacts_ident_attach(db, primary, ids[i].type, ids[i].value, j->now, e);
        if (rc == SY_E_CONFLICT) {
            if ((rc = record_conflict(db, j, primary, 0, &ids[i], m, e))) return rc;
            continue;
        }
        if (rc) return rc;
        if (strcmp(ids[i].type, "user_id") == 0) prim.user_id = ids[i].value;
        if (strcmp(ids[i].type, "phone") == 0) prim.phone = ids[i].value;
        cache_set(j, ids[i].type, ids[i].value, primary);
    }
    if (m->type == SY_MSG_IDENTIFY && m->traits) {
        json_t *rest = NULL;
        if ((rc = sy_contacts_ident_traits(db, j->arena, primary, m->traits, j->now, &rest, e)))
            return rc;
        if (rest && json_object_size(rest)) {
            sy_stmt *st;
            char *js = json_dumps(rest, JSON_COMPACT);
            rc = sy_db_prepare_cached(
                db,
                "INSERT INTO contact_traits(contact_id, traits, updated_at) VALUES (?1, ?2, ?3) "
                "ON CONFLICT(contact_id) DO UPDATE SET "
                "traits = json_patch(traits, excluded.traits), updated_at = excluded.updated_at",
                &st, e);
            if (rc == 0) {
                sy_stmt_bind_int(st, 1, primary);
                sy_stmt_bind_text(st, 2, js);
                sy_stmt_bind_int(st, 3, j->now);
                rc = sy_stmt_step(st, e);
                sy_stmt_done(st);
            }
            free(js);
            json_decref(rest);
            if (rc < 0) return rc;
        } else if (rest) {
            json_decref(rest);
        }
    }
    *contact = primary;
    return 0;
#undef SID
}

/* ---- one event → one log row -------------------------------------------- */

static const order_rule *match_rule(const order_rule *rules, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(rules[i].event, name) == 0) return &rules[i];
    return NULL;
}

static int dim_id(job *j, sy_db *db, int dim, json_t *v, uint16_t *out, sy_err *e) {
    *out = 0;
    const char *s;
    char num[32];
    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), s = num;
    else
        return 0;
    if (!*s || strlen(s) > 200) return 0;
    sy_events *ev = j->ev;
    uint32_t id = strdict_get(&ev->dims[dim], s);
    if (!id) {
        if (ev->next_dim[dim] >= 65535)
            return 0; /* dictionary full: the value stays in the payload */
        id = ++ev->next_dim[dim];
        sy_stmt *st;
        int rc = sy_db_prepare_cached(
            db, "INSERT INTO event_dims(dim, value, id) VALUES (?1, ?2, ?3)", &st, e);
        if (rc) return rc;
        sy_stmt_bind_int(st, 1, dim);
        sy_stmt_bind_text(st, 2, s);
        sy_stmt_bind_int(st, 3, id);
        rc = sy_stmt_step(st, e);
        sy_stmt_done(st);
        if (rc < 0) return rc;
        if (strdict_put(&ev->dims[dim], s, id)) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    }
    *out = (uint16_t)id;
    return 0;
}

/* ,"key":"value" with JSON string escaping (value is valid UTF-8). */
static void put_str(sy_buf *b, const char *key, const char *v) {
    if (!v) return;
    sy_buf_adds(b, ",\"");
    sy_buf_adds(b, key);
    sy_buf_adds(b, "\":\"");
    for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
        if (*c == '"' || *c == '\\') {
            sy_buf_addc(b, '\\');
            sy_buf_addc(b, (char)*c);
        } else if (*c < 0x20) {
            sy_buf_addf(b, "\\u%04x", *c);
        } else {
            sy_buf_addc(b, (char)*c);
        }
    }
    sy_buf_addc(b, '"');
}

static int dump_to_buf(const char *buffer, size_t size, void *data) {
    sy_buf_add(data, buffer, size);
    return 0;
}

/* ,"key":<json> */
static void put_json(sy_buf *b, const char *key, json_t *v) {
    if (!v) return;
    sy_buf_adds(b, ",\"");
    sy_buf_adds(b, key);
    sy_buf_adds(b, "\":");
    json_dump_callback(v, dump_to_buf, b, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* The useful part of context: channel, ip, user agent, page, campaign (UTM),
 * locale, timezone, library, referrer; a message-level channel fills in. */
static void put_context(sy_buf *b, json_t *ctx, const char *msg_channel) {
    static const char *const keep[] = {"ip",       "userAgent", "page",    "campaign", "locale",
                                       "timezone", "library",   "channel", "referrer", NULL};
    size_t start = b->len;
    int n = 0;
    sy_buf_adds(b, ",\"context\":{");
    for (const char *const *k = keep; *k && ctx; k++) {
        json_t *v = json_object_get(ctx, *k);
        if (!v) continue;
        sy_buf_addf(b, "%s\"%s\":", n++ ? "," : "", *k);
        json_dump_callback(v, dump_to_buf, b, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    if (msg_channel && !(ctx && json_object_get(ctx, "channel"))) {
        put_str(b, "channel", msg_channel);
        if (!n) { /* put_str wrote a leading comma: drop it */
            memmove(b->p + start + 12, b->p + start + 13, b->len - start - 13);
            b->len--;
            b->p[b->len] = 0;
        }
        n++;
    }
    if (!n) {
        b->len = start;
        b->p[b->len] = 0;
        return;
    }
    sy_buf_addc(b, '}');
}

static int add_row(job *j, sy_db *db, pending *p, size_t mi, sy_err *e) {
    sy_events *ev = j->ev;
    sy_msg *m = &p->parsed.msgs[mi];
    int rc;
    uint64_t key = 0;
    if (m->message_id) {
        key = sy_events_key(p->write_key_id, m->message_id);
        if (u64set_has(&ev->seen, key) || u64set_has(&j->group_seen, key)) {
            p->duplicates++;
            return 0;
        }
        if (u64set_add(&j->group_seen, key) < 0) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    }
    int64_t contact;
    if ((rc = resolve(j, db, m, &contact, e))) return rc;
    event_type *t;
    if ((rc = sy_catalog_type(ev, db, m->event, &t, e))) return rc;
    if (j->n_rows == j->cap_rows) {
        size_t cap = j->cap_rows ? j->cap_rows * 2 : 256;
        sy_logrow *r = realloc(j->rows, cap * sizeof *r);
        if (!r) return sy_err_set(e, SY_E_NOMEM, "out of memory");
        j->rows = r;
        j->cap_rows = cap;
    }
    sy_logrow *row = &j->rows[j->n_rows];
    memset(row, 0, sizeof *row);
    row->ev.contact = (uint32_t)contact;
    row->ev.type = (uint16_t)t->id;
    row->ev.ts = m->ts;
    row->received_at = p->received_at;
    row->write_key_id = p->write_key_id;
    row->message_id = m->message_id;
    row->name = m->event;
    if (m->type == SY_MSG_IDENTIFY || m->type == SY_MSG_ALIAS || m->type == SY_MSG_GROUP)
        row->ev.flags |= SY_EV_META;
    json_t *props = m->properties;
    /* orders and refunds, by the workspace rules */
    const order_rule *r = NULL;
    int refund = 0;
    if (m->type == SY_MSG_TRACK && props) {
        r = match_rule(ev->orders_rules, ev->n_order_rules, m->event);
        if (!r && (r = match_rule(ev->refund_rules, ev->n_refund_rules, m->event))) refund = 1;
    }
    if (r) {
        int64_t fen = 0;
        int have = 0;
        for (size_t k = 0; k < r->n_amount && !have; k++) {
            json_t *v = json_object_get(props, r->amount[k]);
            if (v && sy_money_to_fen(v, &fen) == 0) have = 1;
        }
        json_t *oid = json_object_get(props, "order_id");
        uint64_t okey = 0;
        if (json_is_string(oid) || json_is_integer(oid)) {
            char *os = json_is_string(oid)
                           ? sy_strdup(j->arena, json_string_value(oid))
                           : sy_sprintf(j->arena, "%lld", (long long)json_integer_value(oid));
            okey = sy_events_key(refund ? -1 : 0, os);
        }
        int dup_order =
            okey && (u64set_has(&ev->orders, okey) || u64set_has(&j->group_orders, okey));
        if (have && !dup_order) {
            row->ev.flags |= refund ? SY_EV_REFUND : SY_EV_ORDER;
            row->ev.revenue_fen = fen;
            row->order_key = okey;
            if (okey && u64set_add(&j->group_orders, okey) < 0)
                return sy_err_set(e, SY_E_NOMEM, "out of memory");
        }
    }
    json_t *msg_channel = NULL;
    if (props) {
        if ((rc = dim_id(j, db, SY_DIM_STORE, json_object_get(props, "store"),
                         &row->ev.dims[SY_DIM_STORE], e)) ||
            (rc = dim_id(j, db, SY_DIM_CATEGORY, json_object_get(props, "category"),
                         &row->ev.dims[SY_DIM_CATEGORY], e)) ||
            (rc = dim_id(j, db, SY_DIM_SKU, json_object_get(props, "sku"),
                         &row->ev.dims[SY_DIM_SKU], e)))
            return rc;
        msg_channel = json_object_get(props, "channel");
    }
    json_t *chan = m->context ? json_object_get(m->context, "channel") : NULL;
    if (!chan) chan = msg_channel;
    if (chan && (rc = dim_id(j, db, SY_DIM_CHANNEL, chan, &row->ev.dims[SY_DIM_CHANNEL], e)))
        return rc;
    sy_catalog_observe(t, m->ts, props);
    /* payload kept in the log, written straight into a buffer (building a
     * jansson object per event only to encode it cost more than the rest
     * of the row) */
    static const char *const tn[] = {"", "identify", "track", "page", "screen", "group", "alias"};
    sy_buf *pb = &j->payload;
    sy_buf_reset(pb);
    sy_buf_adds(pb, "{\"type\":\"");
    sy_buf_adds(pb, tn[m->type]);
    sy_buf_addc(pb, '"');
    put_str(pb, "userId", m->user_id);
    put_str(pb, "anonymousId", m->anonymous_id);
    put_str(pb, "previousId", m->previous_id);
    put_str(pb, "groupId", m->group_id);
    put_str(pb, "name", m->name);
    put_str(pb, "category", m->category);
    put_json(pb, "properties", props);
    put_json(pb, "traits", m->traits);
    put_context(pb, m->context, m->channel);
    sy_buf_addc(pb, '}');
    row->payload = sy_strndup(j->arena, pb->p, pb->len);
    row->payload_len = pb->len;
    j->n_rows++;
    p->stored++;
    return 0;
}

/* One event siyu produced: the contact is known, there is no messageId and
 * no identity to resolve; flagged system so it never counts as activity. */
static int add_system_row(job *j, sy_db *db, pending *p, size_t i, sy_err *e) {
    event_type *t;
    int rc = sy_catalog_type(j->ev, db, p->sys_name, &t, e);
    if (rc) return rc;
    if (j->n_rows == j->cap_rows) {
        size_t cap = j->cap_rows ? j->cap_rows * 2 : 256;
        sy_logrow *r = realloc(j->rows, cap * sizeof *r);
        if (!r) return sy_err_set(e, SY_E_NOMEM, "out of memory");
        j->rows = r;
        j->cap_rows = cap;
    }
    sy_logrow *row = &j->rows[j->n_rows];
    memset(row, 0, sizeof *row);
    row->ev.contact = (uint32_t)p->sys_contacts[i];
    row->ev.type = (uint16_t)t->id;
    row->ev.flags = SY_EV_SYSTEM;
    row->ev.ts = p->received_at;
    row->received_at = p->received_at;
    row->name = p->sys_name;
    sy_catalog_observe(t, row->ev.ts, p->sys_props);
    sy_buf *pb = &j->payload;
    sy_buf_reset(pb);
    sy_buf_adds(pb, "{\"type\":\"track\",\"source\":\"system\"");
    put_json(pb, "properties", p->sys_props);
    sy_buf_addc(pb, '}');
    row->payload = sy_strndup(j->arena, pb->p, pb->len);
    row->payload_len = pb->len;
    j->n_rows++;
    p->stored++;
    return 0;
}

/* The writer job of one group commit. */
static int group_job(sy_db *db, void *arg, sy_err *e) {
    job *j = arg;
    int rc;
    /* another module wrote since our last commit: identities may have moved */
    j->gen0 = sy_store_generation(j->ev->st);
    if (j->gen0 != j->ev->ident_gen) strdict_free(&j->ev->idents);
    for (pending *p = j->group; p; p = p->next) {
        for (size_t i = 0; i < p->parsed.n; i++)
            if ((rc = add_row(j, db, p, i, e))) return rc;
        for (size_t i = 0; i < p->sys_n; i++)
            if ((rc = add_system_row(j, db, p, i, e))) return rc;
    }
    if (j->n_rows) {
        void *blob;
        size_t len;
        uint32_t crc;
        if ((rc = sy_log_encode(j->rows, j->n_rows, &blob, &len, &crc, e))) return rc;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t i = 0; i < j->n_rows; i++) {
            if (j->rows[i].ev.ts < lo) lo = j->rows[i].ev.ts;
            if (j->rows[i].ev.ts > hi) hi = j->rows[i].ev.ts;
        }
        sy_stmt *st;
        rc = sy_db_prepare_cached(
            db,
            "INSERT INTO event_blocks(n, first_ts, last_ts, committed_at, crc, data) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &st, e);
        if (rc == 0) {
            sy_stmt_bind_int(st, 1, (int64_t)j->n_rows);
            sy_stmt_bind_int(st, 2, lo);
            sy_stmt_bind_int(st, 3, hi);
            sy_stmt_bind_int(st, 4, j->now);
            sy_stmt_bind_int(st, 5, crc);
            sy_stmt_bind_blob(st, 6, blob, len);
            rc = sy_stmt_step(st, e);
            sy_stmt_done(st);
        }
        free(blob);
        if (rc < 0) return rc;
    }
    return sy_catalog_flush(j->ev, db, e);
}

/* Records a committed block in the position → block map. */
static int note_block(sy_events *ev, int64_t block_id, uint32_t start) {
    if (ev->n_blocks == ev->cap_blocks) {
        size_t cap = ev->cap_blocks ? ev->cap_blocks * 2 : 256;
        int64_t *ids = realloc(ev->block_id, cap * sizeof *ids);
        if (!ids) return SY_E_NOMEM;
        ev->block_id = ids;
        uint32_t *st = realloc(ev->block_start, cap * sizeof *st);
        if (!st) return SY_E_NOMEM;
        ev->block_start = st;
        ev->cap_blocks = cap;
    }
    ev->block_id[ev->n_blocks] = block_id;
    ev->block_start[ev->n_blocks++] = start;
    return 0;
}

/* After commit: publish to RAM (engine, sets, block map). */
static void publish(sy_events *ev, job *j, int64_t block_id) {
    uint32_t start = (uint32_t)sy_engine_size(ev->engine);
    for (size_t i = 0; i < j->cache.cap; i++)
        if (j->cache.keys[i]) strdict_put(&ev->idents, j->cache.keys[i], j->cache.vals[i]);
    if (ev->idents.n > 4000000) strdict_free(&ev->idents); /* bound memory: start over */
    ev->ident_gen = j->gen0 + 1;                           /* our own commit, exactly */
    /* every merge listener (our engine included) learns of identify merges */
    for (size_t i = 0; i < j->n_merges; i++)
        sy_contacts_merge_committed(ev->contacts, j->merge_winner[i], j->merge_loser[i]);
    if (j->n_rows) {
        sy_engine_event *evs = malloc(j->n_rows * sizeof *evs);
        if (evs) {
            for (size_t i = 0; i < j->n_rows; i++)
                evs[i] = j->rows[i].ev;
            if (sy_engine_append(ev->engine, evs, j->n_rows))
                sy_error("msg=\"engine append failed: out of memory\"");
            free(evs);
        }
        note_block(ev, block_id, start);
    }
    for (size_t i = 0; i < j->n_rows; i++) {
        if (j->rows[i].message_id)
            u64set_add(&ev->seen, sy_events_key(j->rows[i].write_key_id, j->rows[i].message_id));
        if (j->rows[i].order_key) u64set_add(&ev->orders, j->rows[i].order_key);
    }
    ev->stats.events += j->n_rows;
    ev->stats.commits++;
    if (j->n_rows) ev->stats.blocks++;
}

static void merge_listener(void *ctx, int64_t winner, int64_t loser, int undo) {
    sy_events *ev = ctx;
    /* (the store generation already invalidates the identity cache: a
     * merge is another module's write) */
    if (undo)
        sy_engine_unmerge(ev->engine, (uint32_t)loser);
    else
        sy_engine_merge(ev->engine, (uint32_t)loser, (uint32_t)winner);
}

/* ---- the group committer ---------------------------------------------- */

static void finish_group(sy_events *ev, pending *group, int rc, const sy_err *err) {
    pthread_mutex_lock(&ev->lock);
    pending *p = group;
    while (p) {
        pending *next = p->next;
        p->rc = rc;
        if (rc) p->err = *err;
        if (!rc) __atomic_add_fetch(&ev->stats.duplicates, p->duplicates, __ATOMIC_RELAXED);
        if (p->req) {
            /* The parsed request is freed with the request's arena, on its
             * HTTP thread: freeing a whole DOM here would serialise it on
             * this thread and fight the allocator across threads. */
            sy_req *r = p->req;
            if (rc) {
                r->err = *err;
                sy_req_resume(r, rc);
            } else {
                sy_reply_json(r, 200, json_pack("{s:b}", "success", 1));
                sy_req_resume(r, 0);
            }
            /* p lives in the request arena: not touched after resume */
        } else if (p->sys_name) {
            if (rc)
                sy_warn("msg=\"system events lost\" event=%s n=%zu error=\"%s\"", p->sys_name,
                        p->sys_n, err->msg);
            free(p->sys_contacts);
            free(p->sys_name);
            json_decref(p->sys_props);
            free(p);
        } else {
            p->done = 1;
        }
        p = next;
    }
    pthread_cond_broadcast(&ev->done);
    pthread_mutex_unlock(&ev->lock);
}

static void *committer_main(void *arg) {
    sy_events *ev = arg;
    pthread_mutex_lock(&ev->lock);
    for (;;) {
        while (!ev->head && !ev->stopping)
            pthread_cond_wait(&ev->wake, &ev->lock);
        if (!ev->head) break;
        /* take requests up to the group limit */
        pending *group = ev->head, *last = group;
        size_t n = group->parsed.n + group->sys_n;
        while (last->next && n + last->next->parsed.n + last->next->sys_n <= GROUP_MAX_EVENTS) {
            last = last->next;
            n += last->parsed.n + last->sys_n;
        }
        ev->head = last->next;
        if (!ev->head) ev->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&ev->lock);

        job j;
        memset(&j, 0, sizeof j);
        j.ev = ev;
        j.group = group;
        j.arena = sy_arena_create();
        j.now = sy_now_ms();
        sy_err err = {0};
        /* catalog and dictionaries are only changed by this thread, but HTTP
         * threads read them: hold catalog_lock while the job mutates them. */
        pthread_mutex_lock(&ev->catalog_lock);
        int rc = sy_store_write(ev->st, group_job, &j, &err);
        if (rc == 0) {
            int64_t block_id = 0;
            sy_db *db;
            /* the block id is the newest row: read it back */
            if (j.n_rows && sy_store_read_begin(ev->st, &db, &err) == 0) {
                sy_db_query_int(db, "SELECT max(id) FROM event_blocks", &block_id, &err);
                sy_store_read_end(ev->st, db);
            }
            publish(ev, &j, block_id);
        } else {
            sy_catalog_load(ev, NULL, NULL); /* drop uncommitted catalog changes */
        }
        pthread_mutex_unlock(&ev->catalog_lock);
        if (rc) sy_error("msg=\"group commit failed\" error=\"%s\"", err.msg);
        finish_group(ev, group, rc, &err);
        strdict_free(&j.cache);
        u64set_free(&j.group_seen);
        u64set_free(&j.group_orders);
        free(j.rows);
        free(j.merge_loser);
        free(j.merge_winner);
        sy_buf_release(&j.payload);
        sy_arena_destroy(j.arena);
        pthread_mutex_lock(&ev->lock);
    }
    pthread_mutex_unlock(&ev->lock);
    return NULL;
}

int sy_events_submit(sy_events *ev, pending *p) {
    pthread_mutex_lock(&ev->lock);
    if (ev->stopping) {
        pthread_mutex_unlock(&ev->lock);
        return SY_E_UNAVAILABLE;
    }
    p->next = NULL;
    if (ev->tail)
        ev->tail->next = p;
    else
        ev->head = p;
    ev->tail = p;
    pthread_cond_signal(&ev->wake);
    if (!p->req && !p->async)
        while (!p->done)
            pthread_cond_wait(&ev->done, &ev->lock);
    pthread_mutex_unlock(&ev->lock);
    return 0;
}

int sy_events_emit(sy_events *ev, const int64_t *contacts, size_t n, const char *name,
                   json_t *properties, sy_err *e) {
    if (n == 0) return 0;
    pending *p = calloc(1, sizeof *p);
    if (!p) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    p->sys_contacts = malloc(n * sizeof *p->sys_contacts);
    p->sys_name = strdup(name);
    p->sys_props = properties ? json_deep_copy(properties) : NULL;
    if (!p->sys_contacts || !p->sys_name || (properties && !p->sys_props)) {
        free(p->sys_contacts);
        free(p->sys_name);
        json_decref(p->sys_props);
        free(p);
        return sy_err_set(e, SY_E_NOMEM, "out of memory");
    }
    memcpy(p->sys_contacts, contacts, n * sizeof *contacts);
    p->sys_n = n;
    p->received_at = sy_now_ms();
    p->async = 1;
    int rc = sy_events_submit(ev, p);
    if (rc) {
        free(p->sys_contacts);
        free(p->sys_name);
        json_decref(p->sys_props);
        free(p);
        return sy_err_set(e, rc, "the event store is stopping; \"%s\" not recorded", name);
    }
    return 0;
}

void sy_events_wait(sy_events *ev, pending *p) {
    pthread_mutex_lock(&ev->lock);
    while (!p->done)
        pthread_cond_wait(&ev->done, &ev->lock);
    pthread_mutex_unlock(&ev->lock);
}

int sy_events_ingest(sy_events *ev, int64_t write_key_id, const char *kind, const char *body,
                     size_t len, int64_t received_at, json_t **details, sy_err *e) {
    sy_arena *a = sy_arena_create();
    pending *p = sy_alloc(a, sizeof *p);
    int rc = sy_segment_parse(a, kind, body, len, received_at, &p->parsed, details, e);
    if (rc == 0) rc = sy_events_check(ev, a, &p->parsed, details, e);
    if (rc == 0) {
        p->write_key_id = write_key_id;
        p->received_at = received_at;
        rc = sy_events_submit(ev, p);
        if (rc)
            sy_err_set(e, rc, "the event store is shutting down");
        else if (p->rc) {
            rc = p->rc;
            *e = p->err;
        }
    }
    json_decref(p->parsed.root);
    sy_arena_destroy(a);
    return rc;
}

/* ---- start-up replay ----------------------------------------------------- */

static int replay(sy_events *ev, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(ev->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    rc = sy_db_prepare(db, "SELECT id, n, crc, data FROM event_blocks ORDER BY id", &st, e);
    int64_t t0 = sy_mono_ms();
    sy_engine_event *evs = NULL;
    size_t cap = 0;
    while (rc == 0 && (rc = sy_stmt_step(st, e)) == SY_ROW) {
        rc = 0;
        int64_t id = sy_stmt_col_int(st, 0);
        size_t len;
        const void *blob = sy_stmt_col_blob(st, 3, &len);
        sy_arena *a = sy_arena_create();
        sy_logrow *rows;
        size_t n;
        rc = sy_log_decode(a, blob, len, (uint32_t)sy_stmt_col_int(st, 2), &rows, &n, e);
        if (rc) {
            sy_err_set(e, rc, "event block %lld: %s", (long long)id, e->msg);
            sy_arena_destroy(a);
            break;
        }
        if (n > cap) {
            cap = n;
            free(evs);
            evs = malloc(cap * sizeof *evs);
        }
        if (!evs) rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        uint32_t start = (uint32_t)sy_engine_size(ev->engine);
        for (size_t i = 0; i < n && rc == 0; i++) {
            evs[i] = rows[i].ev;
            if (rows[i].message_id)
                u64set_add(&ev->seen, sy_events_key(rows[i].write_key_id, rows[i].message_id));
            if (rows[i].order_key) u64set_add(&ev->orders, rows[i].order_key);
        }
        if (rc == 0 && sy_engine_append(ev->engine, evs, n))
            rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        if (rc == 0 && note_block(ev, id, start)) rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
        ev->stats.events += n;
        ev->stats.blocks++;
        sy_arena_destroy(a);
    }
    if (rc == SY_DONE) rc = 0;
    free(evs);
    sy_stmt_finalize(st);
    sy_store_read_end(ev->st, db);
    ev->stats.replay_ms = sy_mono_ms() - t0;
    return rc;
}

/* Contact merges recorded by the contacts module (staff merges and earlier
 * identify merges) must be applied to the engine after replay. */
static int replay_merges(sy_events *ev, sy_err *e) {
    return sy_contacts_ident_each_merge(ev->contacts, merge_listener, ev, e);
}

int sy_events_create(sy_store *st, sy_staff *staff, sy_contacts *contacts, sy_engine *engine,
                     sy_events **out, sy_err *e) {
    *out = NULL;
    sy_events *ev = calloc(1, sizeof *ev);
    if (!ev) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    ev->st = st;
    ev->staff = staff;
    ev->contacts = contacts;
    ev->engine = engine;
    pthread_mutex_init(&ev->lock, NULL);
    pthread_mutex_init(&ev->catalog_lock, NULL);
    pthread_cond_init(&ev->wake, NULL);
    pthread_cond_init(&ev->done, NULL);
    int rc = sy_catalog_load(ev, NULL, e);
    if (rc == 0) rc = replay(ev, e);
    if (rc == 0) rc = replay_merges(ev, e);
    /* pack the replayed lists for analytics scans; without it they still work */
    if (rc == 0 && sy_engine_compact(engine))
        sy_warn("msg=\"engine compaction skipped: no memory\"");
    if (rc == 0 && pthread_create(&ev->committer, NULL, committer_main, ev) != 0)
        rc = sy_err_set(e, SY_E_INTERNAL, "cannot start the event committer");
    if (rc) {
        sy_events_destroy(ev);
        return rc;
    }
    ev->running = 1;
    sy_contacts_on_merge(contacts, merge_listener, ev);
    sy_info("msg=\"event log replayed\" events=%llu blocks=%llu ms=%lld",
            (unsigned long long)ev->stats.events, (unsigned long long)ev->stats.blocks,
            (long long)ev->stats.replay_ms);
    *out = ev;
    return 0;
}

void sy_events_stop(sy_events *ev) {
    if (!ev || !ev->running) return;
    pthread_mutex_lock(&ev->lock);
    ev->stopping = 1;
    pthread_cond_broadcast(&ev->wake);
    pthread_mutex_unlock(&ev->lock);
    pthread_join(ev->committer, NULL);
    ev->running = 0;
}

void sy_events_destroy(sy_events *ev) {
    if (!ev) return;
    sy_events_stop(ev);
    u64set_free(&ev->seen);
    u64set_free(&ev->orders);
    strdict_free(&ev->idents);
    sy_catalog_free(ev);
    for (int d = 0; d < SY_DIM_COUNT; d++)
        strdict_free(&ev->dims[d]);
    free(ev->block_id);
    free(ev->block_start);
    pthread_mutex_destroy(&ev->lock);
    pthread_mutex_destroy(&ev->catalog_lock);
    pthread_cond_destroy(&ev->wake);
    pthread_cond_destroy(&ev->done);
    free(ev);
}

void sy_events_get_stats(sy_events *ev, sy_events_stats *out) {
    pthread_mutex_lock(&ev->catalog_lock);
    *out = ev->stats;
    pthread_mutex_unlock(&ev->catalog_lock);
}

/* ---- export ---- */

int sy_events_export_file(sy_events *ev, const char *path, size_t *rows_out, sy_err *e) {
    FILE *f = fopen(path, "w");
    if (!f) return sy_err_set(e, SY_E_IO, "cannot write \"%s\"", path);
    sy_db *db;
    int rc = sy_store_read_begin(ev->st, &db, e);
    size_t total = 0;
    sy_stmt *st = NULL;
    if (rc == 0)
        rc = sy_db_prepare(db, "SELECT id, crc, data FROM event_blocks ORDER BY id", &st, e);
    while (rc == 0 && (rc = sy_stmt_step(st, e)) == SY_ROW) {
        rc = 0;
        size_t len;
        const void *blob = sy_stmt_col_blob(st, 2, &len);
        sy_arena *a = sy_arena_create();
        sy_logrow *rows;
        size_t n;
        rc = sy_log_decode(a, blob, len, (uint32_t)sy_stmt_col_int(st, 1), &rows, &n, e);
        for (size_t i = 0; i < n && rc == 0; i++) {
            json_t *o = json_pack("{s:s?, s:I, s:s, s:I, s:I}", "messageId", rows[i].message_id,
                                  "contact_id",
                                  (json_int_t)sy_engine_canonical(ev->engine, rows[i].ev.contact),
                                  "event", rows[i].name, "timestamp", (json_int_t)rows[i].ev.ts,
                                  "received_at", (json_int_t)rows[i].received_at);
            /* who produced it: peers and exports can tell activity apart */
            json_object_set_new(o, "source",
                                json_string(rows[i].ev.flags & SY_EV_SYSTEM ? "system" : "user"));
            json_t *payload =
                rows[i].payload ? json_loadb(rows[i].payload, rows[i].payload_len, 0, NULL) : NULL;
            if (payload) {
                json_t *p = json_object_get(payload, "properties");
                json_object_set_new(o, "properties", p ? json_incref(p) : json_object());
                json_t *c = json_object_get(payload, "context");
                if (c) json_object_set(o, "context", c);
                json_t *t = json_object_get(payload, "traits");
                if (t) json_object_set(o, "traits", t);
                json_decref(payload);
            }
            char *line = json_dumps(o, JSON_COMPACT);
            json_decref(o);
            if (!line || fprintf(f, "%s\n", line) < 0)
                rc = sy_err_set(e, SY_E_IO, "cannot write \"%s\"", path);
            free(line);
            total++;
        }
        sy_arena_destroy(a);
    }
    if (rc == SY_DONE) rc = 0;
    sy_stmt_finalize(st);
    if (db) sy_store_read_end(ev->st, db);
    if (fclose(f) != 0 && rc == 0) rc = sy_err_set(e, SY_E_IO, "cannot write \"%s\"", path);
    if (rows_out) *rows_out = total;
    return rc;
}
