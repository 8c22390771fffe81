/* clock.h — UTC milliseconds and workspace-timezone days.
 *
 * All stored times are int64 UTC milliseconds. Business days follow the
 * workspace timezone (default Asia/Shanghai), computed from the tz database
 * without touching the process-wide TZ (thread-safe). */
#ifndef SY_CLOCK_H
#define SY_CLOCK_H

#include <stdint.h>
#include <stddef.h>

/* Current wall-clock time in UTC ms. */
int64_t sy_now_ms(void);
/* Monotonic ms, for durations and rate limits. */
int64_t sy_mono_ms(void);

/* Formats ms as RFC 3339 UTC ("2026-11-22T09:00:00.123Z") into out (>= 32 bytes). */
void sy_time_format(int64_t ms, char *out, size_t n);
/* Parses RFC 3339 / ISO 8601 ("2026-11-22", "2026-11-22T09:00:00Z",
 * "...+08:00", fractional seconds). Date-only means 00:00 UTC.
 * Returns 0 or SY_E_INVALID. */
int sy_time_parse(const char *s, int64_t *ms);
/* Validates a calendar date "YYYY-MM-DD". Returns 0 or SY_E_INVALID. */
int sy_date_valid(const char *s);

/* Offset in seconds east of UTC of timezone tz (an IANA name such as
 * "Asia/Shanghai") at UTC instant ms. Returns 0 on success, SY_E_INVALID when
 * the zone is unknown. */
int sy_tz_offset(const char *tz, int64_t ms, int *offset_s);
/* 1 when tz names a zone this machine knows. */
int sy_tz_valid(const char *tz);

#endif
