/* log.h — one line per event, key=value, to stderr.
 *
 * Lines look like: ts=2026-11-22T09:00:00.123Z level=info rid=ab12 msg="..."
 * A thread can set the request id that every line it prints carries
 * (sy_log_set_rid); the HTTP layer does so for each request. */
#ifndef SY_LOG_H
#define SY_LOG_H

enum { SY_LOG_DEBUG, SY_LOG_INFO, SY_LOG_WARN, SY_LOG_ERROR };

/* Minimum level printed; set once at start from SIYU_LOG (debug|info|warn|error).
 * Global, written only by main before threads start. */
extern int sy_log_level;

/* Prints one line: fmt should be key=value pairs ("route=%s status=%d"). */
void sy_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets (or clears with NULL) this thread's request id. */
void sy_log_set_rid(const char *rid);

#define sy_info(...) sy_log(SY_LOG_INFO, __VA_ARGS__)
#define sy_warn(...) sy_log(SY_LOG_WARN, __VA_ARGS__)
#define sy_error(...) sy_log(SY_LOG_ERROR, __VA_ARGS__)
#define sy_debug(...) sy_log(SY_LOG_DEBUG, __VA_ARGS__)

#endif
