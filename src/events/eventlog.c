/* eventlog.c — the append-only event log's block format.
 *
 * A block holds the events of one group commit. Uncompressed layout
 * (little-endian, as written by this machine):
 *   "SYE1", u32 n,
 *   columns: u32 contact[n], u16 type[n], u8 flags[n], i64 ts[n],
 *            i64 received[n], i64 revenue[n], u16 dims[4][n], u32 write_key[n],
 *            u64 order_key[n]
 *   rows:    u16 len + messageId, u16 len + name, u32 len + payload JSON
 * The columns come first so that a restart rebuilds the engine from them
 * without parsing JSON. The whole is compressed with zstd (level 1) and its
 * CRC-32 is stored beside it; a block whose checksum fails is never decoded. */
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include "events_int.h"

static void put(sy_buf *b, const void *p, size_t n) {
    sy_buf_add(b, p, n);
}

int sy_log_encode(const sy_logrow *rows, size_t n, void **out, size_t *out_len, uint32_t *crc,
                  sy_err *e) {
    sy_buf b = SY_BUF_INIT;
    uint32_t n32 = (uint32_t)n;
    put(&b, "SYE1", 4);
    put(&b, &n32, 4);
    for (size_t i = 0; i < n; i++)
        put(&b, &rows[i].ev.contact, 4);
    for (size_t i = 0; i < n; i++)
        put(&b, &rows[i].ev.type, 2);
    for (size_t i = 0; i < n; i++)
        put(&b, &rows[i].ev.flags, 1);
    for (size_t i = 0; i < n; i++)
        put(&b, &rows[i].ev.ts, 8);
    for (size_t i = 0; i < n; i++)
        put(&b, &rows[i].received_at, 8);
    for (size_t i = 0; i < n; i++)
        put(&b, &rows[i].ev.revenue_fen, 8);
    for (int d = 0; d < SY_DIM_COUNT; d++)
        for (size_t i = 0; i < n; i++)
            put(&b, &rows[i].ev.dims[d], 2);
    for (size_t i = 0; i < n; i++) {
        uint32_t wk = (uint32_t)rows[i].write_key_id;
        put(&b, &wk, 4);
    }
    for (size_t i = 0; i < n; i++)
        put(&b, &rows[i].order_key, 8);
    for (size_t i = 0; i < n; i++) {
        uint16_t l = (uint16_t)(rows[i].message_id ? strlen(rows[i].message_id) : 0);
        put(&b, &l, 2);
        put(&b, rows[i].message_id ? rows[i].message_id : "", l);
        l = (uint16_t)strlen(rows[i].name);
        put(&b, &l, 2);
        put(&b, rows[i].name, l);
        uint32_t pl = (uint32_t)rows[i].payload_len;
        put(&b, &pl, 4);
        if (pl) put(&b, rows[i].payload, pl);
    }
    *crc = (uint32_t)crc32(0L, (const Bytef *)b.p, (uInt)b.len);
    size_t cap = ZSTD_compressBound(b.len);
    void *z = malloc(cap);
    if (!z) {
        sy_buf_release(&b);
        return sy_err_set(e, SY_E_NOMEM, "out of memory");
    }
    size_t zn = ZSTD_compress(z, cap, b.p, b.len, 1);
    sy_buf_release(&b);
    if (ZSTD_isError(zn)) {
        free(z);
        return sy_err_set(e, SY_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(zn));
    }
    *out = z;
    *out_len = zn;
    return 0;
}

typedef struct reader {
    const unsigned char *p, *end;
    int bad;
} reader;

static const void *take(reader *r, size_t n) {
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const void *q = r->p;
    r->p += n;
    return q;
}

int sy_log_decode(sy_arena *a, const void *blob, size_t len, uint32_t crc, sy_logrow **rows_out,
                  size_t *n_out, sy_err *e) {
    unsigned long long raw = ZSTD_getFrameContentSize(blob, len);
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > (1ULL << 31))
        return sy_err_set(e, SY_E_INTERNAL, "event block is not a valid zstd frame");
    unsigned char *buf = sy_alloc(a, (size_t)raw + 1);
    size_t got = ZSTD_decompress(buf, (size_t)raw, blob, len);
    if (ZSTD_isError(got) || got != raw)
        return sy_err_set(e, SY_E_INTERNAL, "event block does not decompress");
    if ((uint32_t)crc32(0L, buf, (uInt)got) != crc)
        return sy_err_set(e, SY_E_INTERNAL,
                          "event block checksum mismatch (stored bytes are damaged)");
    reader r = {buf, buf + got, 0};
    const char *magic = take(&r, 4);
    const uint32_t *np = take(&r, 4);
    if (!magic || memcmp(magic, "SYE1", 4) != 0 || !np)
        return sy_err_set(e, SY_E_INTERNAL, "event block has a bad header");
    uint32_t n;
    memcpy(&n, np, 4);
    if (n > (got / 40) + 1)
        return sy_err_set(e, SY_E_INTERNAL, "event block row count is implausible");
    sy_logrow *rows = sy_alloc(a, (n ? n : 1) * sizeof *rows);
    const unsigned char *c;
#define COL(field, width)                                                                          \
    if ((c = take(&r, (size_t)n * (width))))                                                       \
        for (uint32_t i = 0; i < n; i++)                                                           \
            memcpy(&rows[i].field, c + (size_t)i * (width), (width));
    COL(ev.contact, 4)
    COL(ev.type, 2)
    COL(ev.flags, 1)
    COL(ev.ts, 8)
    COL(received_at, 8)
    COL(ev.revenue_fen, 8)
    COL(ev.dims[0], 2)
    COL(ev.dims[1], 2)
    COL(ev.dims[2], 2)
    COL(ev.dims[3], 2)
#undef COL
    if ((c = take(&r, (size_t)n * 4)))
        for (uint32_t i = 0; i < n; i++) {
            uint32_t wk;
            memcpy(&wk, c + (size_t)i * 4, 4);
            rows[i].write_key_id = wk;
        }
    if ((c = take(&r, (size_t)n * 8)))
        for (uint32_t i = 0; i < n; i++)
            memcpy(&rows[i].order_key, c + (size_t)i * 8, 8);
    for (uint32_t i = 0; i < n && !r.bad; i++) {
        uint16_t l;
        const void *q = take(&r, 2);
        if (!q) break;
        memcpy(&l, q, 2);
        const char *s = take(&r, l);
        rows[i].message_id = s && l ? sy_strndup(a, s, l) : NULL;
        if (!(q = take(&r, 2))) break;
        memcpy(&l, q, 2);
        s = take(&r, l);
        rows[i].name = s ? sy_strndup(a, s, l) : "";
        uint32_t pl;
        if (!(q = take(&r, 4))) break;
        memcpy(&pl, q, 4);
        s = take(&r, pl);
        rows[i].payload = s && pl ? sy_strndup(a, s, pl) : NULL;
        rows[i].payload_len = s ? pl : 0;
    }
    if (r.bad) return sy_err_set(e, SY_E_INTERNAL, "event block is truncated");
    *rows_out = rows;
    *n_out = n;
    return 0;
}
