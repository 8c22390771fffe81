/* util.h — small string helpers and the banned-function list.
 *
 * Every .c file includes this (through base.h), so the unsafe libc functions
 * below fail to compile anywhere in siyu (git's banned.h). */
#ifndef SY_UTIL_H
#define SY_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Length-carrying string view for parsing; p is not NUL-terminated in general. */
typedef struct sy_str {
    const char *p;
    size_t n;
} sy_str;

/* 1 when s is valid UTF-8 (no overlongs or surrogates). */
int sy_utf8_valid(const char *s, size_t n);
/* Number of code points in valid UTF-8 s. */
size_t sy_utf8_len(const char *s);
/* Parses a whole base-10 int64 (no trailing junk). Returns 0 or SY_E_INVALID. */
int sy_parse_i64(const char *s, int64_t *out);
/* Fills out with n random bytes rendered as 2n lowercase hex chars + NUL. */
void sy_random_hex(char *out, size_t nbytes);
/* Case-sensitive equality helpers. */
int sy_streq(const char *a, const char *b);
int sy_startswith(const char *s, const char *prefix);

#define SY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#ifndef SY_ALLOW_BANNED
#undef strcpy
#define strcpy(a, b) sy_banned_strcpy_use_snprintf
#undef strcat
#define strcat(a, b) sy_banned_strcat_use_sy_buf
#undef sprintf
#define sprintf(...) sy_banned_sprintf_use_snprintf
#undef strtok
#define strtok(a, b) sy_banned_strtok_use_strtok_r
#undef gmtime
#define gmtime(t) sy_banned_gmtime_use_gmtime_r
#undef localtime
#define localtime(t) sy_banned_localtime_use_localtime_r
#endif

#endif
