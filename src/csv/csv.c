/* csv.c — encoding detection, GB18030 → UTF-8 conversion, strict RFC 4180
 * parsing with libcsv, and Excel-friendly writing.
 *
 * Two headers are called csv.h: ours is "csv/csv.h" (found through -I src),
 * libcsv's is <csv.h> in /usr/include. Angle brackets never search this
 * file's own directory and src/ has no csv.h at its top, so <csv.h> can only
 * be libcsv's; the #error below proves it at compile time. */
#include "csv/csv.h"

#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef CSV_STRICT_FINI
#error "<csv.h> must be libcsv's header (Debian libcsv-dev), not siyu's src/csv/csv.h"
#endif

/* ------------------------------------------------------------------ */
/* Encoding names                                                      */

const char *sy_csv_encoding_name(int enc) {
    switch (enc) {
    case SY_CSV_UTF8:
        return "utf-8";
    case SY_CSV_GB18030:
        return "gb18030";
    default:
        return "auto";
    }
}

int sy_csv_encoding_parse(const char *s, int *enc) {
    /* NULL and "" mean "not given", which is auto-detection. GBK, GB2312 and
     * CP936 are all decoded as GB18030, their superset. */
    static const struct {
        const char *name;
        int enc;
    } names[] = {
        {"auto", SY_CSV_AUTO},      {"utf-8", SY_CSV_UTF8},      {"utf8", SY_CSV_UTF8},
        {"utf-8-sig", SY_CSV_UTF8}, {"gb18030", SY_CSV_GB18030}, {"gbk", SY_CSV_GB18030},
        {"gb2312", SY_CSV_GB18030}, {"cp936", SY_CSV_GB18030},
    };
    if (!s || !*s) {
        *enc = SY_CSV_AUTO;
        return 0;
    }
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *enc = names[i].enc;
            return 0;
        }
    }
    return SY_E_INVALID;
}

/* ------------------------------------------------------------------ */
/* UTF-8 scanning                                                      */

/* Length (1–4) of the valid UTF-8 sequence starting at s[0], or 0 when the
 * bytes there are not valid UTF-8 (overlongs, surrogates and code points
 * above U+10FFFF are rejected, per RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
        if (c == 0xED && s[1] > 0x9F) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && s[1] > 0x8F) return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

/* What a lenient pass over the bytes found: where the first invalid
 * sequence is, how many invalid spots there are, and how many valid
 * sequences of three or four bytes (where CJK text lives in UTF-8). */
typedef struct utf8_stats {
    size_t first_bad; /* offset of the first invalid byte; n when valid */
    size_t n_bad;     /* invalid spots (each skips one byte) */
    size_t n_wide;    /* valid 3- and 4-byte sequences */
} utf8_stats;

/* Scans s. With stop_at_first the scan ends at the first invalid byte
 * (enough for a yes/no answer); otherwise it counts through the end. */
static void utf8_scan(const unsigned char *s, size_t n, int stop_at_first, utf8_stats *st) {
    size_t i = 0;
    st->first_bad = n;
    st->n_bad = 0;
    st->n_wide = 0;
    while (i < n) {
        /* ASCII dominates CSV files (digits, commas, e-mail addresses): skip it
         * eight bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & UINT64_C(0x8080808080808080)) break;
            i += 8;
        }
        if (i >= n) break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(s + i, n - i);
        if (k == 0) {
            if (st->n_bad++ == 0) st->first_bad = i;
            if (stop_at_first) return;
            i++;
            continue;
        }
        if (k >= 3) st->n_wide++;
        i += k;
    }
}

/* A file that is mostly good UTF-8 Chinese with a few damaged sequences is
 * a damaged UTF-8 file, even when its bytes happen to decode as GB18030
 * mojibake (two UTF-8 bytes often form a valid GBK pair). Real GBK text
 * read as UTF-8 fails on nearly every character and forms few valid 3-byte
 * sequences, so the ratio separates the two cleanly. */
static int looks_like_damaged_utf8(const utf8_stats *st) {
    return st->n_bad > 0 && st->n_wide >= 4 && st->n_wide >= 8 * st->n_bad;
}

/* ------------------------------------------------------------------ */
/* GB18030                                                             */

/* Converts n bytes of GB18030 at in to UTF-8 in a malloc'd buffer (*out,
 * *out_n; NUL-terminated). On undecodable input returns SY_E_INVALID and
 * sets *bad_at to the offset of the first bad byte. out may be NULL to only
 * check. SY_E_INTERNAL when iconv lacks GB18030 (a broken libc install). */
static int gb18030_decode(const char *in, size_t n, char **out, size_t *out_n, size_t *bad_at) {
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    if (cd == (iconv_t)-1) return SY_E_INTERNAL;
    /* GB18030 → UTF-8 grows by at most 3/2 (2-byte hanzi become 3 bytes;
     * 4-byte sequences stay 4 or shrink to 3). When only checking, convert
     * through a fixed scratch buffer instead. */
    char scratch[16384];
    size_t cap = out ? n + n / 2 + 16 : sizeof scratch;
    char *buf = out ? malloc(cap) : scratch;
    if (!buf) {
        iconv_close(cd);
        return SY_E_NOMEM;
    }
    char *ip = (char *)(uintptr_t)in; /* iconv's prototype is not const-correct */
    size_t il = n, used = 0;
    int rc = 0;
    while (il > 0) {
        char *op = buf + used;
        size_t ol = cap - 1 - used;
        size_t r = iconv(cd, &ip, &il, &op, &ol);
        used = (size_t)(op - buf);
        if (r != (size_t)-1) break;
        if (errno == E2BIG) {
            if (!out) {
                used = 0; /* checking only: the output is not needed */
                continue;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = SY_E_NOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
            continue;
        }
        /* EILSEQ: invalid sequence at ip; EINVAL: truncated sequence at the
         * end. Either way ip points at the first byte that did not decode. */
        *bad_at = (size_t)(ip - in);
        rc = SY_E_INVALID;
        break;
    }
    iconv_close(cd);
    if (!out) return rc;
    if (rc) {
        free(buf);
        return rc;
    }
    buf[used] = 0;
    *out = buf;
    *out_n = used;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Detection                                                           */

static int has_utf8_bom(const char *d, size_t n) {
    return n >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0;
}
static int has_utf16_bom(const char *d, size_t n) {
    return n >= 2 && (memcmp(d, "\xFF\xFE", 2) == 0 || memcmp(d, "\xFE\xFF", 2) == 0);
}

/* The outcome of choosing an encoding for a file. */
typedef struct detection {
    int enc;         /* SY_CSV_UTF8 or SY_CSV_GB18030 */
    int bom;         /* a UTF-8 BOM is present (and must be skipped) */
    int utf16;       /* the file is UTF-16 (not supported) */
    int ok;          /* the file decodes in enc */
    size_t bad_at;   /* first undecodable byte when !ok (UTF-16: 0) */
    int both_failed; /* neither UTF-8 nor GB18030 decoded the bytes */
    char *decoded;   /* GB18030 files: the UTF-8 text (malloc'd), when asked */
    size_t decoded_n;
} detection;

/* Applies the rule BOM → UTF-8, valid UTF-8 → UTF-8, else GB18030 when it
 * decodes (unless the bytes look like damaged UTF-8). When keep is set and
 * the answer is GB18030, the converted text is kept in det->decoded so that
 * reading does not convert twice. Returns 0 or SY_E_NOMEM/SY_E_INTERNAL. */
static int detect(const char *data, size_t n, int keep, detection *det) {
    memset(det, 0, sizeof *det);
    det->enc = SY_CSV_UTF8;
    if (has_utf16_bom(data, n)) {
        det->utf16 = 1;
        return 0;
    }
    size_t skip = 0;
    if (has_utf8_bom(data, n)) {
        det->bom = 1;
        skip = 3;
    }
    const unsigned char *u = (const unsigned char *)data + skip;
    utf8_stats st;
    utf8_scan(u, n - skip, 1, &st);
    if (st.n_bad == 0) {
        det->ok = 1;
        return 0;
    }
    if (det->bom) { /* a BOM settles it: this is damaged UTF-8 */
        det->bad_at = skip + st.first_bad;
        return 0;
    }
    utf8_scan(u, n - skip, 0, &st);
    if (looks_like_damaged_utf8(&st)) {
        det->bad_at = st.first_bad;
        return 0;
    }
    size_t gb_bad = 0;
    int rc = gb18030_decode(data, n, keep ? &det->decoded : NULL, &det->decoded_n, &gb_bad);
    if (rc == 0) {
        det->enc = SY_CSV_GB18030;
        det->ok = 1;
        return 0;
    }
    if (rc != SY_E_INVALID) return rc;
    /* Neither decodes. Report in GB18030's terms: the file is not UTF-8 at
     * all, so a Chinese Excel file saved as GBK is the likeliest intent. */
    det->enc = SY_CSV_GB18030;
    det->bad_at = gb_bad;
    det->both_failed = 1;
    return 0;
}

int sy_csv_detect(const char *data, size_t n, int *enc, int *has_bom) {
    detection det;
    int rc = detect(data, n, 0, &det);
    if (rc) return rc;
    *enc = det.enc;
    *has_bom = det.bom;
    return det.ok ? 0 : SY_E_INVALID;
}

/* ------------------------------------------------------------------ */
/* Error helpers                                                       */

/* 1-based line of byte offset off in d: counts LF, and CR not followed by
 * LF (old Mac line ends), before off. d[off] itself is the bad byte, never
 * an LF, so a CR just before it is a line end of its own. */
static size_t line_of(const char *d, size_t off) {
    size_t line = 1;
    for (size_t i = 0; i < off; i++) {
        int crlf_cr = d[i] == '\r' && i + 1 < off && d[i + 1] == '\n';
        if ((d[i] == '\n' || d[i] == '\r') && !crlf_cr) line++;
    }
    return line;
}

/* Writes the count bytes starting at off as hex ("ff 2c") into out. */
static void hex_bytes(const char *d, size_t n, size_t off, size_t count, char *out, size_t cap) {
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = off; i < n && i < off + count && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)d[i];
        if (o) out[o++] = ' ';
        out[o++] = hx[c >> 4];
        out[o++] = hx[c & 15];
    }
    out[o] = 0;
}

/* Copies the line of UTF-8 text starting at s (n bytes available) into out
 * for quoting in a message: stops at the line end, cuts at a character
 * boundary after at most cap-4 bytes and marks the cut with "...". */
static void snippet(const char *s, size_t n, char *out, size_t cap) {
    size_t o = 0, i = 0;
    while (i < n && s[i] != '\n' && s[i] != '\r') {
        size_t k = utf8_seq((const unsigned char *)s + i, n - i);
        if (k == 0) k = 1;
        if (o + k + 4 > cap) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, s + i, k);
        o += k;
        i += k;
    }
    out[o] = 0;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

/* State shared with libcsv's callbacks while one file is parsed. */
typedef struct parse_ctx {
    sy_arena *a;
    size_t max_fields;  /* 0 = no limit */
    char **fields;      /* the current row's fields (malloc'd vector) */
    size_t nf, cap_f;   /* stored fields / capacity */
    size_t nf_total;    /* fields seen in the current row, stored or not */
    size_t fields_seen; /* fields ended in the whole file (detects progress) */
    sy_csv_row *rows;   /* finished rows (malloc'd vector) */
    size_t n_rows, cap_rows;
    size_t row_line;   /* line where the row being parsed started */
    size_t over_line;  /* set when a row had too many fields: its line */
    size_t over_count; /* ... and how many fields it had */
    int nomem;         /* a malloc failed inside a callback */
} parse_ctx;

/* libcsv: end of a field. Copies it into the arena; beyond max_fields only
 * counts, so a hostile row of a million commas costs no memory. */
static void on_field(void *s, size_t len, void *data) {
    parse_ctx *c = data;
    c->fields_seen++;
    c->nf_total++;
    if (c->over_line || c->nomem) return;
    if (c->max_fields && c->nf_total > c->max_fields) return;
    if (c->nf == c->cap_f) {
        size_t cap = c->cap_f ? c->cap_f * 2 : 16;
        char **nf = realloc(c->fields, cap * sizeof *nf);
        if (!nf) {
            c->nomem = 1;
            return;
        }
        c->fields = nf;
        c->cap_f = cap;
    }
    c->fields[c->nf++] = sy_strndup(c->a, s ? s : "", s ? len : 0);
}

/* libcsv: end of a row. Rows whose fields are all empty (",,,," lines that
 * Excel leaves below the data) are dropped like empty lines. */
static void on_row(int term, void *data) {
    (void)term;
    parse_ctx *c = data;
    size_t total = c->nf_total, nf = c->nf;
    c->nf = 0;
    c->nf_total = 0;
    if (c->over_line || c->nomem) return;
    if (c->max_fields && total > c->max_fields) {
        c->over_line = c->row_line;
        c->over_count = total;
        return;
    }
    int empty = 1;
    for (size_t i = 0; i < nf && empty; i++)
        if (c->fields[i][0]) empty = 0;
    if (empty) return;
    if (c->n_rows == c->cap_rows) {
        size_t cap = c->cap_rows ? c->cap_rows * 2 : 256;
        sy_csv_row *nr = realloc(c->rows, cap * sizeof *nr);
        if (!nr) {
            c->nomem = 1;
            return;
        }
        c->rows = nr;
        c->cap_rows = cap;
    }
    sy_csv_row *r = &c->rows[c->n_rows++];
    r->fields = sy_alloc(c->a, nf * sizeof *r->fields);
    memcpy(r->fields, c->fields, nf * sizeof *r->fields);
    r->n = nf;
    r->line = c->row_line;
}

/* Offset just past the line end (LF, CRLF or a lone CR) at or after i, or n.
 * One linear scan for both bytes: searching for LF first and CR before it
 * would rescan the rest of the file for every line of a CR-only file. */
static size_t next_line_end(const char *t, size_t i, size_t n) {
    for (; i < n; i++) {
        if (t[i] == '\n') return i + 1;
        if (t[i] == '\r') return (i + 1 < n && t[i + 1] == '\n') ? i + 2 : i + 1;
    }
    return n;
}

/* Parses UTF-8 text t (tn bytes) into out. Lines are counted from line 1 at
 * t[0]. libcsv reports neither lines nor offsets of rows, so the text is fed
 * one physical line at a time: a row can only begin at the start of a line,
 * and the parser's state at that point (pstate 0 = between rows, a public
 * field of struct csv_parser) says whether one does. */
static int parse_text(sy_arena *a, const char *t, size_t tn, size_t max_fields, sy_csv *out,
                      sy_err *e) {
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return sy_err_set(e, SY_E_NOMEM, "out of memory starting the csv parser");
    parse_ctx c;
    memset(&c, 0, sizeof c);
    c.a = a;
    c.max_fields = max_fields;
    c.row_line = 1;

    int rc = 0;
    size_t pos = 0, line = 1;
    size_t quote_line = 0; /* line where a still-open quoted field began */
    while (pos < tn) {
        size_t end = next_line_end(t, pos, tn);
        if (p.pstate == 0) c.row_line = line;
        size_t seen_before = c.fields_seen;
        size_t k = csv_parse(&p, t + pos, end - pos, on_field, on_row, &c);
        if (c.nomem) {
            rc = sy_err_set(e, SY_E_NOMEM, "out of memory reading the csv file");
            goto done;
        }
        if (c.over_line) break;
        if (k < end - pos) {
            if (csv_error(&p) == CSV_EPARSE) {
                char near[64];
                snippet(t + pos, end - pos, near, sizeof near);
                size_t col = c.nf_total + 1;
                if (quote_line && quote_line < line && c.fields_seen == seen_before)
                    rc = sy_err_set(e, SY_E_INVALID,
                                    "line %zu, column %zu: quoted field is not closed properly; it "
                                    "runs on to line %zu and breaks there (near \"%s\"); check "
                                    "the quotes on line %zu",
                                    quote_line, col, line, near, quote_line);
                else if (t[pos + k] == '"')
                    rc = sy_err_set(e, SY_E_INVALID,
                                    "line %zu, column %zu: stray quote in an unquoted field (near "
                                    "\"%s\"); put the field in quotes and double the quote (\"\")",
                                    line, col, near);
                else
                    rc = sy_err_set(
                        e, SY_E_INVALID,
                        "line %zu, column %zu: text after a closing quote (near \"%s\"); "
                        "a quote inside a quoted field must be doubled (\"\")",
                        line, col, near);
            } else {
                rc = sy_err_set(e, SY_E_NOMEM, "line %zu: %s", line, csv_strerror(csv_error(&p)));
            }
            goto done;
        }
        /* After a line end, a non-zero state with a quoted field means the
         * line end was inside quotes: remember where that field opened. */
        if (p.pstate != 0 && p.quoted) {
            if (!quote_line || c.fields_seen != seen_before) quote_line = line;
        } else {
            quote_line = 0;
        }
        if (end > pos && (t[end - 1] == '\n' || t[end - 1] == '\r')) line++;
        pos = end;
    }
    if (!c.over_line && csv_fini(&p, on_field, on_row, &c) != 0) {
        /* No quote_line means the field opened on the last line, which has
         * no line end (else quote_line would be set). */
        size_t at = quote_line ? quote_line : line;
        rc = sy_err_set(e, SY_E_INVALID,
                        "line %zu, column %zu: unterminated quoted field (its closing quote is "
                        "missing, so it runs to the end of the file)",
                        at, c.nf_total + 1);
        goto done;
    }
    if (c.nomem) {
        rc = sy_err_set(e, SY_E_NOMEM, "out of memory reading the csv file");
        goto done;
    }
    if (c.over_line) {
        rc = sy_err_set(e, SY_E_INVALID, "line %zu: %zu columns, at most %zu", c.over_line,
                        c.over_count, max_fields);
        goto done;
    }
    out->rows = sy_alloc(a, (c.n_rows ? c.n_rows : 1) * sizeof *out->rows);
    if (c.n_rows) memcpy(out->rows, c.rows, c.n_rows * sizeof *out->rows);
    out->n_rows = c.n_rows;
done:
    csv_free(&p);
    free(c.fields);
    free(c.rows);
    return rc;
}

int sy_csv_read(sy_arena *a, const char *data, size_t n, int enc, size_t max_fields, sy_csv *out,
                sy_err *e) {
    memset(out, 0, sizeof *out);
    if (!data) n = 0;
    if (!data) data = "";
    if (has_utf16_bom(data, n))
        return sy_err_set(e, SY_E_INVALID,
                          "line 1: the file is UTF-16 (Excel \"Unicode text\"); save it as \"CSV "
                          "UTF-8\" or \"CSV\" instead");
    if (enc != SY_CSV_AUTO && enc != SY_CSV_UTF8 && enc != SY_CSV_GB18030)
        return sy_err_set(e, SY_E_INVALID, "unknown encoding %d", enc);
    if (n == 0) { /* an empty file is an empty table in any encoding */
        out->encoding = enc == SY_CSV_AUTO ? SY_CSV_UTF8 : enc;
        return 0;
    }

    detection det;
    memset(&det, 0, sizeof det);
    if (enc == SY_CSV_AUTO) {
        int rc = detect(data, n, 1, &det);
        if (rc) return sy_err_set(e, rc, "cannot check the file's encoding (iconv has no gb18030)");
    } else if (enc == SY_CSV_UTF8) {
        det.enc = SY_CSV_UTF8;
        det.bom = has_utf8_bom(data, n);
        size_t skip = det.bom ? 3 : 0;
        utf8_stats st;
        utf8_scan((const unsigned char *)data + skip, n - skip, 1, &st);
        det.ok = st.n_bad == 0;
        det.bad_at = skip + st.first_bad;
    } else {
        det.enc = SY_CSV_GB18030;
        if (has_utf8_bom(data, n))
            return sy_err_set(e, SY_E_INVALID,
                              "line 1: the file starts with a UTF-8 byte-order mark but encoding "
                              "gb18030 was requested; use utf-8 or auto");
        int rc = gb18030_decode(data, n, &det.decoded, &det.decoded_n, &det.bad_at);
        if (rc == SY_E_INVALID)
            det.ok = 0;
        else if (rc)
            return sy_err_set(e, rc, "cannot convert the file from gb18030");
        else
            det.ok = 1;
    }

    if (!det.ok) {
        /* Quote the bad bytes: for UTF-8 the lead byte and the continuation
         * bytes after it (a cut character), otherwise a GB18030 pair. */
        size_t count = 2;
        if (det.enc == SY_CSV_UTF8 && !det.both_failed) {
            count = 1;
            while (count < 4 && det.bad_at + count < n &&
                   ((unsigned char)data[det.bad_at + count] & 0xC0) == 0x80)
                count++;
        }
        char hex[16];
        hex_bytes(data, n, det.bad_at, count, hex, sizeof hex);
        size_t line = line_of(data, det.bad_at);
        if (det.both_failed)
            return sy_err_set(e, SY_E_INVALID,
                              "line %zu: bytes <%s> are neither valid UTF-8 nor GB18030/GBK; "
                              "save the file as \"CSV UTF-8\"",
                              line, hex);
        if (det.enc == SY_CSV_UTF8)
            return sy_err_set(e, SY_E_INVALID, "line %zu: bytes <%s> are not valid UTF-8%s", line,
                              hex,
                              enc == SY_CSV_UTF8 && !det.bom
                                  ? " (if the file came from Excel as GBK, use encoding gb18030)"
                                  : "");
        return sy_err_set(e, SY_E_INVALID, "line %zu: bytes <%s> are not valid GB18030/GBK", line,
                          hex);
    }

    /* The UTF-8 text to parse: the input itself, or the converted copy. */
    const char *t = data;
    size_t tn = n;
    if (det.enc == SY_CSV_GB18030) {
        t = det.decoded;
        tn = det.decoded_n;
    }
    /* A BOM in the input (UTF-8), or a GB18030 BOM (84 31 95 33) that iconv
     * turned into U+FEFF: drop it, or the first header becomes "\uFEFF姓名". */
    if (has_utf8_bom(t, tn)) {
        t += 3;
        tn -= 3;
        det.bom = 1;
    }
    int rc = 0;
    const char *nul = memchr(t, 0, tn);
    if (nul) {
        rc = sy_err_set(e, SY_E_INVALID,
                        "line %zu: the file contains a NUL byte; it is not a text CSV file",
                        line_of(t, (size_t)(nul - t)));
    } else {
        rc = parse_text(a, t, tn, max_fields, out, e);
    }
    free(det.decoded);
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->encoding = det.enc;
    out->had_bom = det.bom;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Excel damage                                                        */

int sy_csv_is_excel_mangled(const char *s) {
    /* Excel shows numbers of 12+ digits in scientific notation and saves
     * them that way: [+-]d[.ddd]E[+-]dd. A comma decimal separator appears
     * with some locales. Surrounding spaces are tolerated. */
    if (!s) return 0;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '+' || *s == '-') s++;
    if (*s < '0' || *s > '9') return 0;
    while (*s >= '0' && *s <= '9')
        s++;
    if (*s == '.' || *s == ',') {
        s++;
        if (*s < '0' || *s > '9') return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s != 'E' && *s != 'e') return 0;
    s++;
    if (*s == '+' || *s == '-') s++;
    if (*s < '0' || *s > '9') return 0;
    while (*s >= '0' && *s <= '9')
        s++;
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == 0;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

void sy_csv_write_bom(sy_buf *out) {
    sy_buf_add(out, "\xEF\xBB\xBF", 3);
}

/* Spreadsheets run a cell starting with one of these as a formula (= + -
 * @), and tab or CR at the start hides such a prefix from naive checks
 * (OWASP "CSV injection"). A leading ' makes Excel treat the cell as text. */
static int formula_start(char c) {
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

void sy_csv_write_row(sy_buf *out, const char *const *fields, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i) sy_buf_addc(out, ',');
        const char *f = fields[i] ? fields[i] : "";
        size_t len = strlen(f);
        if (len == 0) continue;
        int prefix = formula_start(f[0]);
        /* Quote when the field holds a separator, quote or line end, and
         * when it starts or ends with a space or tab, which unquoted fields
         * lose on reading (libcsv trims them, which is what users expect). */
        int quote = strpbrk(f, ",\"\r\n") != NULL || f[0] == ' ' || f[0] == '\t' ||
                    f[len - 1] == ' ' || f[len - 1] == '\t';
        /* A field starting with U+FEFF, written first in a file without a
         * BOM, would be taken for one and dropped on reading; quoted it is
         * data. */
        if (len >= 3 && memcmp(f, "\xEF\xBB\xBF", 3) == 0) quote = 1;
        if (quote) sy_buf_addc(out, '"');
        if (prefix) sy_buf_addc(out, '\'');
        if (!quote) {
            sy_buf_add(out, f, len);
            continue;
        }
        const char *s = f;
        for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1) {
            sy_buf_add(out, s, (size_t)(q - s) + 1);
            sy_buf_addc(out, '"');
        }
        sy_buf_adds(out, s);
        sy_buf_addc(out, '"');
    }
    sy_buf_add(out, "\r\n", 2);
}
