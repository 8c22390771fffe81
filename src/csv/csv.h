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
/* Parses "utf-8"/"utf8", "gbk"/"gb2312"/"gb18030", "auto". SY_E_INVALID otherwise. */
int sy_csv_encoding_parse(const char *s, int *enc);

/* Detects the encoding of data: BOM → UTF-8, valid UTF-8 → UTF-8, else
 * GB18030 (checked to decode). Sets *has_bom. */
int sy_csv_detect(const char *data, size_t n, int *enc, int *has_bom);

/* A parsed file: rows of fields, all UTF-8 and NUL-terminated, in arena
 * memory. Row 0 is the header when the caller treats it so. */
typedef struct sy_csv_row {
    char **fields;
    size_t n;
    size_t line;  /* 1-based line where the row starts in the file */
} sy_csv_row;
typedef struct sy_csv {
    sy_csv_row *rows;
    size_t n_rows;
    int encoding;  /* encoding used */
    int had_bom;
} sy_csv;

/* Decodes (enc = SY_CSV_AUTO to detect) and parses data. Errors
 * (SY_E_INVALID, message naming line and column where known):
 * undecodable bytes for the chosen encoding ("line 4: bytes are not valid
 * GB18030"), broken quoting ("line 7: unterminated quoted field"), a row with
 * more than max_fields fields ("line 9: 41 columns, at most 40").
 * Empty lines are skipped. */
int sy_csv_read(sy_arena *a, const char *data, size_t n, int enc, size_t max_fields, sy_csv *out,
                sy_err *e);

/* 1 when s looks like an Excel-mangled long number ("1.38123E+10",
 * "1.38E+10"): the digits are lost and the value must be rejected. */
int sy_csv_is_excel_mangled(const char *s);

/* Writing. sy_csv_write_bom appends the UTF-8 BOM; sy_csv_write_row appends
 * one row, quoting fields that need it and prefixing a ' to fields starting
 * with = + - @ (formula injection), ending with CRLF. */
void sy_csv_write_bom(sy_buf *out);
void sy_csv_write_row(sy_buf *out, const char *const *fields, size_t n);

#endif
