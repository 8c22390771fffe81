/* fuzz_csv.c — libFuzzer target for the CSV reader (csv/csv.h).
 *
 * Feeds arbitrary bytes through sy_csv_read in every encoding mode, and
 * checks what the reader promises: it returns 0 or SY_E_INVALID with a
 * message; on success every field is NUL-terminated valid UTF-8 without NUL
 * bytes, no row exceeds max_fields, and row lines never go backwards. A row
 * written back with sy_csv_write_row must read back as the same fields
 * (after the formula guard), which exercises the writer too.
 * Build: see README.md in this directory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv/csv.h"

#define MAX_FIELDS 64

static void check(int cond) {
    if (!cond) abort(); /* libFuzzer reports the input that got here */
}

/* Writes row r and reads it back; the fields must match, except that a
 * field starting with a formula character gains a leading '. */
static void round_trip(const sy_csv_row *r) {
    int all_empty = 1;
    for (size_t i = 0; i < r->n; i++)
        if (r->fields[i][0]) all_empty = 0;
    if (all_empty) return; /* such rows are skipped on reading, by design */
    sy_buf b = SY_BUF_INIT;
    sy_csv_write_row(&b, (const char *const *)r->fields, r->n);
    sy_arena *a = sy_arena_create();
    sy_csv back;
    sy_err e;
    int rc = sy_csv_read(a, b.p, b.len, SY_CSV_UTF8, MAX_FIELDS, &back, &e);
    check(rc == 0);
    check(back.n_rows == 1 && back.rows[0].n == r->n);
    for (size_t i = 0; i < r->n; i++) {
        const char *want = r->fields[i], *got = back.rows[0].fields[i];
        if (strchr("=+-@\t\r", want[0]) && want[0]) {
            check(got[0] == '\'');
            got++;
        }
        check(strcmp(want, got) == 0);
    }
    sy_arena_destroy(a);
    sy_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int encs[] = {SY_CSV_AUTO, SY_CSV_UTF8, SY_CSV_GB18030};
    int enc0 = -1, bom0 = -1;
    int drc = sy_csv_detect((const char *)data, size, &enc0, &bom0);
    check(drc == 0 || drc == SY_E_INVALID);
    for (size_t k = 0; k < 3; k++) {
        sy_arena *a = sy_arena_create();
        sy_csv c;
        sy_err e;
        sy_err_clear(&e);
        int rc = sy_csv_read(a, (const char *)data, size, encs[k], MAX_FIELDS, &c, &e);
        if (rc != 0) {
            check(rc == SY_E_INVALID);
            check(e.msg[0] != 0);
            check(c.n_rows == 0);
        } else {
            size_t last = 0;
            for (size_t i = 0; i < c.n_rows; i++) {
                const sy_csv_row *r = &c.rows[i];
                check(r->n >= 1 && r->n <= MAX_FIELDS);
                check(r->line > last);
                last = r->line;
                for (size_t j = 0; j < r->n; j++)
                    check(sy_utf8_valid(r->fields[j], strlen(r->fields[j])));
                if (i < 4) round_trip(r);
            }
        }
        sy_arena_destroy(a);
    }
    /* The mangled-number check takes a C string: give it one. */
    char *z = malloc(size + 1);
    check(z != NULL);
    memcpy(z, data, size);
    z[size] = 0;
    (void)sy_csv_is_excel_mangled(z);
    free(z);
    return 0;
}
