/* csv.h — reading and writing the CSV files operators exchange with Excel.
 *
 * Reading: detects the encoding (UTF-8 with BOM, UTF-8, else GB18030 which
 * covers GBK/GB2312), converts to UTF-8 with iconv, and parses RFC 4180 with
 * libcsv into rows of fields. Writing: UTF-8 with BOM and CRLF line ends, the
 * form Excel in China opens cleanly, with formula-injection protection.
 * csv/ knows nothing of contacts; the contacts module maps columns. */
#ifndef SY_CSV_H
#define SY_CSV_H

#include <stddef.h>
#include <stdint.h>
#include "base/base.h"

enum { SY_CSV_AUTO = 0, SY_CSV_UTF8 = 1, SY_CSV_GB18030 = 2 };

/* Name of an encoding constant: "auto", "utf-8", "gb18030". */
const char *sy_csv_encoding_name(int enc);
/* Parses "utf-8"/"utf8"/"utf-8-sig", "gbk"/"gb2312"/"cp936"/"gb18030", "auto"
 * (case-insensitive; NULL or "" → auto). SY_E_INVALID otherwise. */
int sy_csv_encoding_parse(const char *s, int *enc);

/* Detects the encoding of data: BOM → UTF-8, valid UTF-8 → UTF-8, else
 * GB18030 (checked to decode). Sets *has_bom. Returns 0 when data decodes
 * in *enc; SY_E_INVALID when it decodes in neither (then *enc is the
 * likelier one: UTF-8 for a BOM-marked or mostly-UTF-8 file with a few
 * damaged characters, else GB18030), or when data is UTF-16 (*enc UTF-8).
 * Pure function, any thread; cost: one pass, plus a GB18030 trial
 * conversion for non-UTF-8 input. */
int sy_csv_detect(const char *data, size_t n, int *enc, int *has_bom);

/* A parsed file: rows of fields, all UTF-8 and NUL-terminated, in arena
 * memory. Row 0 is the header when the caller treats it so. */
typedef struct sy_csv_row {
    char **fields;
    size_t n;
    size_t line; /* 1-based line where the row starts in the file */
} sy_csv_row;
typedef struct sy_csv {
    sy_csv_row *rows;
    size_t n_rows;
    int encoding; /* encoding used */
    int had_bom;
} sy_csv;

/* Decodes (enc = SY_CSV_AUTO to detect) and parses data. Errors
 * (SY_E_INVALID, message naming line and column where known):
 * undecodable bytes for the chosen encoding ("line 4: bytes <ff 2c> are not
 * valid GB18030/GBK"), broken quoting ("line 7, column 3: unterminated
 * quoted field", "line 2, column 2: stray quote in an unquoted field", a
 * quoted field that runs on over later lines is reported at the line where
 * it opened), a row with more than max_fields fields ("line 9: 41 columns,
 * at most 40"; max_fields 0 = no limit; extra fields are counted, never
 * stored), a NUL byte, UTF-16 input, a UTF-8 BOM with enc = GB18030.
 * SY_E_NOMEM when memory runs out.
 *
 * Accepted: LF, CRLF and lone-CR line ends; line ends inside quotes (kept in
 * the field); no final line end. Empty lines and rows whose fields are all
 * empty (",,,") are skipped, but count for line numbers. Spaces and tabs
 * around unquoted fields are trimmed (libcsv's rule; it also removes the
 * tab users prefix to keep Excel from mangling numbers); quoted fields are
 * kept exactly. A BOM is stripped and reported in had_bom.
 *
 * On success *out and every string in it live in a until it is destroyed;
 * temporary buffers are freed before returning. On error *out is zeroed
 * (nothing useful is left in a, but it may have grown). Any thread, one
 * arena per thread. Cost: about one pass over the data plus libcsv. */
int sy_csv_read(sy_arena *a, const char *data, size_t n, int enc, size_t max_fields, sy_csv *out,
                sy_err *e);

/* 1 when s looks like an Excel-mangled long number ("1.38123E+10",
 * "1.38E+10", "8.61359E+12", also with a comma decimal or spaces around):
 * the digits are lost and the value must be rejected. NULL → 0. */
int sy_csv_is_excel_mangled(const char *s);

/* Writing. sy_csv_write_bom appends the UTF-8 BOM; sy_csv_write_row appends
 * one row, quoting fields that need it and prefixing a ' to fields starting
 * with = + - @ (formula injection; also tab and CR, per OWASP), ending with
 * CRLF. Fields are quoted when they hold , " CR or LF, start or end with a
 * space or tab, or start with U+FEFF, so sy_csv_read gives back the same
 * text (plus the ' guard). NULL fields are written empty. A row of only
 * empty fields reads back as no row. */
void sy_csv_write_bom(sy_buf *out);
void sy_csv_write_row(sy_buf *out, const char *const *fields, size_t n);

#endif
