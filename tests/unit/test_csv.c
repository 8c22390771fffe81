/* test_csv.c — csv/: encoding detection on the fixtures in tests/data,
 * parsing (line numbers, line ends, quoting), every error the reader
 * promises, Excel damage detection, writing and formula injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv/csv.h"

/* Reads tests/data/<name> into a malloc'd buffer. */
static char *slurp(const char *name, size_t *n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open fixture %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)len + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    p[len] = 0;
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* Reads a fixture; fails the test with the error message on failure. */
static void read_fixture(sy_arena *a, const char *name, int enc, sy_csv *out) {
    size_t n;
    char *d = slurp(name, &n);
    sy_err e;
    sy_err_clear(&e);
    int rc = sy_csv_read(a, d, n, enc, 40, out, &e);
    free(d);
    if (rc) fail_msg("%s: %s (%s)", name, e.msg, sy_err_name(rc));
}

/* Reads a fixture that must fail; returns the message (static buffer). */
static const char *read_error(const char *name, int enc, size_t max_fields) {
    static sy_err e;
    size_t n;
    char *d = slurp(name, &n);
    sy_arena *a = sy_arena_create();
    sy_csv c;
    sy_err_clear(&e);
    int rc = sy_csv_read(a, d, n, enc, max_fields, &c, &e);
    free(d);
    sy_arena_destroy(a);
    if (rc == 0) fail_msg("%s: read succeeded, expected an error", name);
    assert_int_equal(rc, SY_E_INVALID);
    assert_int_equal(c.n_rows, 0);
    return e.msg;
}

/* Parses an in-memory string; returns rc and fills out/e. */
static int read_str(sy_arena *a, const char *s, size_t max_fields, sy_csv *out, sy_err *e) {
    sy_err_clear(e);
    return sy_csv_read(a, s, strlen(s), SY_CSV_AUTO, max_fields, out, e);
}

static void assert_contains(const char *hay, const char *needle) {
    if (!strstr(hay, needle)) fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void assert_same_rows(const sy_csv *x, const sy_csv *y) {
    assert_int_equal(x->n_rows, y->n_rows);
    for (size_t i = 0; i < x->n_rows; i++) {
        assert_int_equal(x->rows[i].n, y->rows[i].n);
        assert_int_equal(x->rows[i].line, y->rows[i].line);
        for (size_t j = 0; j < x->rows[i].n; j++)
            assert_string_equal(x->rows[i].fields[j], y->rows[i].fields[j]);
    }
}

/* ---- detection ---- */

static void test_detect_fixtures(void **state) {
    (void)state;
    static const struct {
        const char *file;
        int rc, enc, bom;
    } cases[] = {
        {"contacts_utf8.csv", 0, SY_CSV_UTF8, 0},
        {"contacts_utf8_bom.csv", 0, SY_CSV_UTF8, 1},
        {"contacts_gbk.csv", 0, SY_CSV_GB18030, 0},
        {"contacts_gb18030.csv", 0, SY_CSV_GB18030, 0},
        {"contacts_english.csv", 0, SY_CSV_UTF8, 0},
        {"contacts_invalid_bytes.csv", SY_E_INVALID, SY_CSV_UTF8, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        char *d = slurp(cases[i].file, &n);
        int enc = -1, bom = -1;
        int rc = sy_csv_detect(d, n, &enc, &bom);
        free(d);
        if (rc != cases[i].rc || enc != cases[i].enc || bom != cases[i].bom)
            fail_msg("%s: rc %d enc %d bom %d", cases[i].file, rc, enc, bom);
    }
}

static void test_encoding_names(void **state) {
    (void)state;
    int enc = -1;
    assert_int_equal(sy_csv_encoding_parse("GBK", &enc), 0);
    assert_int_equal(enc, SY_CSV_GB18030);
    assert_int_equal(sy_csv_encoding_parse("gb2312", &enc), 0);
    assert_int_equal(enc, SY_CSV_GB18030);
    assert_int_equal(sy_csv_encoding_parse("UTF8", &enc), 0);
    assert_int_equal(enc, SY_CSV_UTF8);
    assert_int_equal(sy_csv_encoding_parse("utf-8", &enc), 0);
    assert_int_equal(enc, SY_CSV_UTF8);
    assert_int_equal(sy_csv_encoding_parse("auto", &enc), 0);
    assert_int_equal(enc, SY_CSV_AUTO);
    assert_int_equal(sy_csv_encoding_parse(NULL, &enc), 0);
    assert_int_equal(enc, SY_CSV_AUTO);
    assert_int_equal(sy_csv_encoding_parse("latin1", &enc), SY_E_INVALID);
    assert_string_equal(sy_csv_encoding_name(SY_CSV_UTF8), "utf-8");
    assert_string_equal(sy_csv_encoding_name(SY_CSV_GB18030), "gb18030");
    assert_string_equal(sy_csv_encoding_name(SY_CSV_AUTO), "auto");
}

/* ---- decoding the fixtures ---- */

static void test_utf8_fixture(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    sy_csv c;
    read_fixture(a, "contacts_utf8.csv", SY_CSV_AUTO, &c);
    assert_int_equal(c.encoding, SY_CSV_UTF8);
    assert_int_equal(c.had_bom, 0);
    assert_int_equal(c.n_rows, 16);
    assert_int_equal(c.rows[0].n, 10);
    assert_string_equal(c.rows[0].fields[0], "姓名");
    assert_string_equal(c.rows[0].fields[9], "门店");
    for (size_t i = 0; i < c.n_rows; i++) {
        assert_int_equal(c.rows[i].line, i + 1);
        assert_int_equal(c.rows[i].n, 10);
    }
    assert_string_equal(c.rows[2].fields[1], "+86 139-0000-1234");
    assert_string_equal(c.rows[3].fields[3], "深圳市南山区星河科技有限公司, 上海分公司");
    assert_string_equal(c.rows[5].fields[3], "成都\"好再来\"火锅店");
    assert_string_equal(c.rows[6].fields[3], "𠮷野家餐饮管理（上海）有限公司");
    assert_string_equal(c.rows[8].fields[2], ""); /* empty e-mail */
    assert_string_equal(c.rows[8].fields[9], ""); /* empty last field */
    sy_arena_destroy(a);
}

static void test_bom_fixture_same_as_utf8(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    sy_csv plain, bom;
    read_fixture(a, "contacts_utf8.csv", SY_CSV_AUTO, &plain);
    read_fixture(a, "contacts_utf8_bom.csv", SY_CSV_AUTO, &bom);
    assert_int_equal(bom.had_bom, 1);
    assert_int_equal(bom.encoding, SY_CSV_UTF8);
    assert_string_equal(bom.rows[0].fields[0], "姓名"); /* no U+FEFF left */
    assert_same_rows(&plain, &bom);
    /* Forcing utf-8 gives the same result. */
    sy_csv forced;
    read_fixture(a, "contacts_utf8_bom.csv", SY_CSV_UTF8, &forced);
    assert_same_rows(&plain, &forced);
    sy_arena_destroy(a);
}

static void test_gbk_fixture_same_as_utf8(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    /* The GBK file was made from contacts_utf8.csv with 𠮷 → 吉 (GBK cannot
     * hold 𠮷); do the same replacement on the UTF-8 text. */
    size_t n;
    char *d = slurp("contacts_utf8.csv", &n);
    char *hit = strstr(d, "𠮷");
    assert_non_null(hit);
    memcpy(hit, "吉", 3); /* 𠮷 is 4 bytes, 吉 is 3 */
    memmove(hit + 3, hit + 4, n - (size_t)(hit + 4 - d) + 1);
    n -= 1;
    sy_csv want, gbk, forced;
    sy_err e;
    assert_int_equal(sy_csv_read(a, d, n, SY_CSV_AUTO, 40, &want, &e), 0);
    free(d);
    read_fixture(a, "contacts_gbk.csv", SY_CSV_AUTO, &gbk);
    assert_int_equal(gbk.encoding, SY_CSV_GB18030);
    assert_int_equal(gbk.had_bom, 0);
    assert_same_rows(&want, &gbk);
    assert_string_equal(gbk.rows[1].fields[0], "张伟");
    read_fixture(a, "contacts_gbk.csv", SY_CSV_GB18030, &forced);
    assert_same_rows(&want, &forced);
    sy_arena_destroy(a);
}

static void test_gb18030_fixture_keeps_supplementary(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    sy_csv plain, gb;
    read_fixture(a, "contacts_utf8.csv", SY_CSV_AUTO, &plain);
    read_fixture(a, "contacts_gb18030.csv", SY_CSV_AUTO, &gb);
    assert_int_equal(gb.encoding, SY_CSV_GB18030);
    assert_same_rows(&plain, &gb);
    assert_string_equal(gb.rows[6].fields[3], "𠮷野家餐饮管理（上海）有限公司");
    sy_arena_destroy(a);
}

static void test_english_fixture(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    sy_csv c;
    read_fixture(a, "contacts_english.csv", SY_CSV_AUTO, &c);
    assert_int_equal(c.n_rows, 13);
    assert_string_equal(c.rows[0].fields[1], "phone");
    assert_string_equal(c.rows[3].fields[3], "Xinghe Technology, Shanghai branch");
    assert_string_equal(c.rows[5].fields[3], "Chengdu \"Haozailai\" Hotpot");
    assert_string_equal(c.rows[11].fields[4], "Xi'an");
    sy_arena_destroy(a);
}

/* ---- errors the reader promises ---- */

static void test_broken_quoting_fixture(void **state) {
    (void)state;
    const char *msg = read_error("contacts_broken.csv", SY_CSV_AUTO, 40);
    assert_contains(msg, "line 5");
    assert_contains(msg, "quoted field");
}

static void test_too_many_columns_fixture(void **state) {
    (void)state;
    const char *msg = read_error("contacts_too_many_columns.csv", SY_CSV_AUTO, 10);
    assert_string_equal(msg, "line 6: 11 columns, at most 10");
    /* With room for 11 the same file reads. */
    sy_arena *a = sy_arena_create();
    sy_csv c;
    read_fixture(a, "contacts_too_many_columns.csv", SY_CSV_AUTO, &c);
    assert_int_equal(c.rows[5].n, 11);
    sy_arena_destroy(a);
}

static void test_invalid_bytes_fixture(void **state) {
    (void)state;
    const char *msg = read_error("contacts_invalid_bytes.csv", SY_CSV_AUTO, 40);
    assert_contains(msg, "line 9:");
    assert_contains(msg, "not valid UTF-8");
    msg = read_error("contacts_invalid_bytes.csv", SY_CSV_UTF8, 40);
    assert_contains(msg, "line 9:");
}

static void test_forced_encoding_mismatch(void **state) {
    (void)state;
    /* A GBK file read as UTF-8: its header already fails. */
    const char *msg = read_error("contacts_gbk.csv", SY_CSV_UTF8, 40);
    assert_contains(msg, "line 1:");
    assert_contains(msg, "not valid UTF-8");
    assert_contains(msg, "gb18030");
    /* A BOM-marked UTF-8 file forced to GB18030. */
    msg = read_error("contacts_utf8_bom.csv", SY_CSV_GB18030, 40);
    assert_contains(msg, "byte-order mark");
}

static void test_gbk_with_bad_byte(void **state) {
    (void)state;
    /* "姓名,手机号\r\n张伟,138\r\n" in GBK, then 0xFF (never valid in GB18030)
     * on line 3. */
    static const char gbk[] = "\xd0\xd5\xc3\xfb,\xca\xd6\xbb\xfa\xba\xc5\r\n"
                              "\xd5\xc5\xce\xb0,13812345678\r\n"
                              "\xc0\xee\xc4\xc8,\xff\xff\r\n";
    sy_arena *a = sy_arena_create();
    sy_csv c;
    sy_err e;
    int rc = sy_csv_read(a, gbk, sizeof gbk - 1, SY_CSV_AUTO, 40, &c, &e);
    assert_int_equal(rc, SY_E_INVALID);
    assert_contains(e.msg, "line 3:");
    assert_contains(e.msg, "<ff ff");
    rc = sy_csv_read(a, gbk, sizeof gbk - 1, SY_CSV_GB18030, 40, &c, &e);
    assert_int_equal(rc, SY_E_INVALID);
    assert_contains(e.msg, "line 3:");
    assert_contains(e.msg, "GB18030");
    /* Without the bad line, the same bytes decode. */
    rc = sy_csv_read(a, gbk, strstr(gbk, "\xc0\xee") - gbk, SY_CSV_AUTO, 40, &c, &e);
    assert_int_equal(rc, 0);
    assert_int_equal(c.encoding, SY_CSV_GB18030);
    assert_string_equal(c.rows[1].fields[0], "张伟");
    sy_arena_destroy(a);
}

static void test_quoting_errors(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    sy_csv c;
    sy_err e;
    /* A quote inside an unquoted field. */
    assert_int_equal(read_str(a, "name,phone\n张伟,138\"123\n", 40, &c, &e), SY_E_INVALID);
    assert_contains(e.msg, "line 2, column 2: stray quote");
    /* Text after a closing quote. */
    assert_int_equal(read_str(a, "a,b\nc,d\n\"x\"y,z\n", 40, &c, &e), SY_E_INVALID);
    assert_contains(e.msg, "line 3, column 1: text after a closing quote");
    /* A quote that is never closed, on the last line without a line end. */
    assert_int_equal(read_str(a, "a,b\nc,\"d", 40, &c, &e), SY_E_INVALID);
    assert_contains(e.msg, "line 2, column 2: unterminated quoted field");
    /* ... and one that swallows the following lines to the end. */
    assert_int_equal(read_str(a, "a,b\r\n\"c,d\r\ne,f\r\ng,h\r\n", 40, &c, &e), SY_E_INVALID);
    assert_contains(e.msg, "line 2, column 1: unterminated quoted field");
    assert_int_equal(c.n_rows, 0);
    sy_arena_destroy(a);
}

static void test_other_rejections(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    sy_csv c;
    sy_err e;
    static const char nul[] = "a,b\nc,d\ne\0f,g\n";
    assert_int_equal(sy_csv_read(a, nul, sizeof nul - 1, SY_CSV_AUTO, 40, &c, &e), SY_E_INVALID);
    assert_contains(e.msg, "line 3: the file contains a NUL byte");
    static const char utf16[] = "\xff\xfe"
                                "a\0,\0b\0";
    assert_int_equal(sy_csv_read(a, utf16, sizeof utf16 - 1, SY_CSV_AUTO, 40, &c, &e),
                     SY_E_INVALID);
    assert_contains(e.msg, "UTF-16");
    /* A row of 100,000 fields is counted, not stored. */
    size_t n = 200000;
    char *wide = malloc(n + 1);
    for (size_t i = 0; i < n; i += 2) {
        wide[i] = 'x';
        wide[i + 1] = ',';
    }
    wide[n - 1] = '\n';
    wide[n] = 0;
    assert_int_equal(read_str(a, wide, 40, &c, &e), SY_E_INVALID);
    assert_string_equal(e.msg, "line 1: 100000 columns, at most 40");
    free(wide);
    sy_arena_destroy(a);
}

/* ---- lines, line ends, empty lines ---- */

static void test_lines_and_line_ends(void **state) {
    (void)state;
    sy_arena *a = sy_arena_create();
    sy_csv c;
    sy_err e;
    /* CRLF, LF, lone CR and no final line end read the same. */
    static const char *forms[] = {"h1,h2\r\n1,2\r\n3,4\r\n", "h1,h2\n1,2\n3,4\n",
                                  "h1,h2\r1,2\r3,4\r", "h1,h2\n1,2\n3,4"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(read_str(a, forms[i], 40, &c, &e), 0);
        assert_int_equal(c.n_rows, 3);
        assert_int_equal(c.rows[2].line, 3);
        assert_string_equal(c.rows[2].fields[1], "4");
    }
    /* A quoted field spanning lines: the row's line is where it starts, and
     * later rows count the lines inside the quotes. Empty lines and rows of
     * empty fields are skipped but counted. */
    const char *s = "姓名,备注\r\n"
                    "张伟,\"第一行\r\n第二行\r\n第三行\"\r\n"
                    "\r\n"
                    ",,\r\n"
                    "王芳,\"多行\n备注\"\n"
                    "李娜,ok\n";
    assert_int_equal(read_str(a, s, 40, &c, &e), 0);
    assert_int_equal(c.n_rows, 4);
    assert_int_equal(c.rows[0].line, 1);
    assert_int_equal(c.rows[1].line, 2);
    assert_string_equal(c.rows[1].fields[1], "第一行\r\n第二行\r\n第三行");
    assert_int_equal(c.rows[2].line, 7);
    assert_string_equal(c.rows[2].fields[1], "多行\n备注");
    assert_int_equal(c.rows[3].line, 9);
    /* An error after a multi-line field names the right line. */
    assert_int_equal(read_str(a, "a,\"b\nc\"\nd,e\"f\n", 40, &c, &e), SY_E_INVALID);
    assert_contains(e.msg, "line 3, column 2");
    /* Spaces around unquoted fields are trimmed (the tab/space prefix users
     * add to keep Excel from mangling long numbers goes away); quoted
     * spaces stay. */
    assert_int_equal(read_str(a, " 13812345678 ,\t张伟,\" x \"\n", 40, &c, &e), 0);
    assert_string_equal(c.rows[0].fields[0], "13812345678");
    assert_string_equal(c.rows[0].fields[1], "张伟");
    assert_string_equal(c.rows[0].fields[2], " x ");
    /* Empty input and only empty lines give no rows. */
    assert_int_equal(read_str(a, "", 40, &c, &e), 0);
    assert_int_equal(c.n_rows, 0);
    assert_int_equal(read_str(a, "\xef\xbb\xbf\r\n\r\n", 40, &c, &e), 0);
    assert_int_equal(c.n_rows, 0);
    assert_int_equal(c.had_bom, 1);
    sy_arena_destroy(a);
}

/* ---- Excel damage ---- */

static void test_excel_mangled(void **state) {
    (void)state;
    static const char *yes[] = {"1.38123E+10", "1.38E+10", "8.61359E+12", " 1.38E+10 ",
                                "1E+10",       "1.5e10",   "1,38123E+10", "-1.2E-05"};
    static const char *no[] = {
        "13812345678", "+86 139-0000-1234", "",   "abc", "1.38E", "E+10", "1.2.3E+4",
        "1.38E+10x",   "008615900005678",   "1.", NULL};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!sy_csv_is_excel_mangled(yes[i])) fail_msg("\"%s\" should be mangled", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (sy_csv_is_excel_mangled(no[i])) fail_msg("\"%s\" should not be mangled", no[i]);

    sy_arena *a = sy_arena_create();
    sy_csv c;
    read_fixture(a, "contacts_mangled.csv", SY_CSV_AUTO, &c);
    size_t flagged[8], nf = 0;
    for (size_t i = 1; i < c.n_rows; i++)
        if (sy_csv_is_excel_mangled(c.rows[i].fields[1])) flagged[nf++] = c.rows[i].line;
    assert_int_equal(nf, 3);
    assert_int_equal(flagged[0], 3);
    assert_int_equal(flagged[1], 6);
    assert_int_equal(flagged[2], 10);
    sy_arena_destroy(a);
}

/* ---- writing ---- */

static void test_write_round_trip(void **state) {
    (void)state;
    static const char *const rows[][6] = {
        {"姓名", "手机号", "公司", "备注", "空", "emoji"},
        {"张伟", "13812345678", "星河科技, 上海分公司", "他说\"你好\"", "", "𠮷"},
        {" 前后空格 ", "\t制表符", "多行\r\n文本", "只有\n换行", "\"", ","},
        {"O'Brien", "a\"\"b", "尾部空格 ", "\"开头引号", "x", "y"},
    };
    sy_buf b = SY_BUF_INIT;
    sy_csv_write_bom(&b);
    for (size_t i = 0; i < 4; i++)
        sy_csv_write_row(&b, rows[i], 6);
    assert_memory_equal(b.p, "\xef\xbb\xbf", 3);
    /* Line ends are CRLF and the quoting is RFC 4180. */
    assert_non_null(
        strstr(b.p, "张伟,13812345678,\"星河科技, 上海分公司\",\"他说\"\"你好\"\"\",,𠮷\r\n"));

    sy_arena *a = sy_arena_create();
    sy_csv c;
    sy_err e;
    assert_int_equal(sy_csv_read(a, b.p, b.len, SY_CSV_AUTO, 40, &c, &e), 0);
    assert_int_equal(c.had_bom, 1);
    assert_int_equal(c.n_rows, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(c.rows[i].n, 6);
        for (size_t j = 0; j < 6; j++) {
            const char *want = rows[i][j];
            if (want[0] == '\t') { /* written with the formula guard */
                assert_int_equal(c.rows[i].fields[j][0], '\'');
                assert_string_equal(c.rows[i].fields[j] + 1, want);
            } else {
                assert_string_equal(c.rows[i].fields[j], want);
            }
        }
    }
    assert_int_equal(c.rows[3].line, 6); /* row 2 holds two quoted line ends */
    sy_buf_release(&b);
    sy_arena_destroy(a);
}

static void test_write_formula_injection(void **state) {
    (void)state;
    const char *const row[] = {"=HYPERLINK(\"http://x\")",
                               "+8613812345678",
                               "-1+2",
                               "@SUM(A1)",
                               "=1,2",
                               "safe",
                               NULL,
                               "a=b"};
    sy_buf b = SY_BUF_INIT;
    sy_csv_write_row(&b, row, 8);
    assert_string_equal(b.p, "\"'=HYPERLINK(\"\"http://x\"\")\",'+8613812345678,'-1+2,'@SUM(A1),"
                             "\"'=1,2\",safe,,a=b\r\n");
    sy_arena *a = sy_arena_create();
    sy_csv c;
    sy_err e;
    assert_int_equal(sy_csv_read(a, b.p, b.len, SY_CSV_AUTO, 40, &c, &e), 0);
    assert_int_equal(c.rows[0].n, 8);
    assert_string_equal(c.rows[0].fields[0], "'=HYPERLINK(\"http://x\")");
    assert_string_equal(c.rows[0].fields[4], "'=1,2");
    assert_string_equal(c.rows[0].fields[6], "");
    sy_buf_release(&b);
    sy_arena_destroy(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_fixtures),
        cmocka_unit_test(test_encoding_names),
        cmocka_unit_test(test_utf8_fixture),
        cmocka_unit_test(test_bom_fixture_same_as_utf8),
        cmocka_unit_test(test_gbk_fixture_same_as_utf8),
        cmocka_unit_test(test_gb18030_fixture_keeps_supplementary),
        cmocka_unit_test(test_english_fixture),
        cmocka_unit_test(test_broken_quoting_fixture),
        cmocka_unit_test(test_too_many_columns_fixture),
        cmocka_unit_test(test_invalid_bytes_fixture),
        cmocka_unit_test(test_forced_encoding_mismatch),
        cmocka_unit_test(test_gbk_with_bad_byte),
        cmocka_unit_test(test_quoting_errors),
        cmocka_unit_test(test_other_rejections),
        cmocka_unit_test(test_lines_and_line_ends),
        cmocka_unit_test(test_excel_mangled),
        cmocka_unit_test(test_write_round_trip),
        cmocka_unit_test(test_write_formula_injection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
