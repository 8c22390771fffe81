/* clock.c — UTC milliseconds, RFC 3339, and timezone offsets read from the
 * tz database (TZif files) so that no thread ever touches the process TZ. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base.h"

int64_t sy_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sy_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days from civil date (Howard Hinnant's algorithm), proleptic Gregorian. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

void sy_time_format(int64_t ms, char *out, size_t n) {
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int msec = (int)(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60), msec);
}

static int digits(const char **s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i])) return -1;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

static int month_days(int y, int m) {
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return md[m - 1];
}

int sy_date_valid(const char *s) {
    int y, m, d;
    const char *p = s;
    if (!s || strlen(s) != 10) return SY_E_INVALID;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &m) || *p++ != '-' || digits(&p, 2, &d))
        return SY_E_INVALID;
    if (m < 1 || m > 12 || d < 1 || d > month_days(y, m)) return SY_E_INVALID;
    return 0;
}

int sy_time_parse(const char *s, int64_t *ms) {
    int y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
    const char *p = s;
    if (!s) return SY_E_INVALID;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return SY_E_INVALID;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo)) return SY_E_INVALID;
    int64_t off = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) return SY_E_INVALID;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &se)) return SY_E_INVALID;
            if (*p == '.') {
                p++;
                int nd = 0;
                while (isdigit((unsigned char)*p)) {
                    if (nd < 3) frac = frac * 10 + (*p - '0');
                    nd++;
                    p++;
                }
                if (nd == 0) return SY_E_INVALID;
                while (nd < 3)
                    frac *= 10, nd++;
            }
        }
        if (h > 23 || mi > 59 || se > 60) return SY_E_INVALID;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (digits(&p, 2, &oh)) return SY_E_INVALID;
            if (*p == ':') p++;
            if (*p && digits(&p, 2, &om)) return SY_E_INVALID;
            off = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p) return SY_E_INVALID;
    int64_t secs =
        days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
    *ms = secs * 1000 + frac;
    return 0;
}

/* --- timezones ---------------------------------------------------------
 * A small cache of parsed TZif files: transitions (UTC seconds) and the UTC
 * offset in force after each. The cache is process-wide, guarded by tz_lock,
 * and only grows (a workspace uses one or two zones). */
typedef struct tzinfo {
    char name[64];
    int valid;
    int64_t *at;     /* transition times, ascending */
    int32_t *offset; /* offset after each transition */
    size_t n;
    int32_t base; /* offset before the first transition */
    struct tzinfo *next;
} tzinfo;
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static tzinfo *tz_cache; /* guarded by tz_lock */

static int64_t be(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    if (n == 4) return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

static void tz_load(tzinfo *z) {
    for (const char *c = z->name; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '/' || *c == '_' || *c == '-' || *c == '+'))
            return;
    if (strstr(z->name, "..") || z->name[0] == '/') return;
    char path[160];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", z->name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (strcmp(z->name, "UTC") == 0 || strcmp(z->name, "Asia/Shanghai") == 0) {
            /* Fixed fallbacks when tzdata is missing: China has had no DST since 1991. */
            z->valid = 1;
            z->base = z->name[0] == 'U' ? 0 : 8 * 3600;
        }
        return;
    }
    static const size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    size_t len = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    if (len < 44 || memcmp(buf, "TZif", 4) != 0) goto out;
    /* v1 header counts: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
    int version = buf[4];
    size_t off = 0;
    int tsize = 4;
    for (int pass = 0; pass < 2; pass++) {
        const unsigned char *h = buf + off;
        if (off + 44 > len) goto out;
        size_t isut = (size_t)be(h + 20, 4), isstd = (size_t)be(h + 24, 4),
               leap = (size_t)be(h + 28, 4), timecnt = (size_t)be(h + 32, 4),
               typecnt = (size_t)be(h + 36, 4), charcnt = (size_t)be(h + 40, 4);
        size_t body = timecnt * (size_t)tsize + timecnt + typecnt * 6 + charcnt +
                      leap * (size_t)(tsize + 4) + isstd + isut;
        if (pass == 0 && version >= '2') {
            off += 44 + body;
            tsize = 8;
            continue;
        }
        if (off + 44 + body > len || typecnt == 0) goto out;
        const unsigned char *t = h + 44, *idx = t + timecnt * (size_t)tsize, *types = idx + timecnt;
        z->at = calloc(timecnt + 1, sizeof *z->at);
        z->offset = calloc(timecnt + 1, sizeof *z->offset);
        if (!z->at || !z->offset) goto out;
        for (size_t i = 0; i < timecnt; i++) {
            z->at[i] = be(t + i * (size_t)tsize, tsize);
            size_t ti = idx[i] < typecnt ? idx[i] : 0;
            z->offset[i] = (int32_t)be(types + ti * 6, 4);
        }
        z->n = timecnt;
        z->base = (int32_t)be(types, 4);
        z->valid = 1;
        break;
    }
out:
    free(buf);
}

static tzinfo *tz_get(const char *name) {
    pthread_mutex_lock(&tz_lock);
    tzinfo *z = tz_cache;
    while (z && strcmp(z->name, name) != 0)
        z = z->next;
    if (!z && strlen(name) < sizeof z->name && (z = calloc(1, sizeof *z))) {
        snprintf(z->name, sizeof z->name, "%s", name);
        tz_load(z);
        z->next = tz_cache;
        tz_cache = z;
    }
    pthread_mutex_unlock(&tz_lock);
    return z;
}

int sy_tz_valid(const char *tz) {
    if (!tz || !*tz) return 0;
    tzinfo *z = tz_get(tz);
    return z && z->valid;
}

int sy_tz_offset(const char *tz, int64_t ms, int *offset_s) {
    tzinfo *z = tz ? tz_get(tz) : NULL;
    if (!z || !z->valid) return SY_E_INVALID;
    int64_t s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    /* Binary search for the last transition at or before s. Past the table
     * the last offset holds (the TZif footer rule is ignored: zones we use
     * in China have no DST). */
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (z->at[mid] <= s)
            lo = mid + 1;
        else
            hi = mid;
    }
    *offset_s = lo == 0 ? z->base : z->offset[lo - 1];
    return 0;
}
