/* log.c — key=value lines to stderr, one write per line so lines from
 * different threads never interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "base.h"

int sy_log_level = SY_LOG_INFO;

/* Per-thread request id; set by the HTTP layer around each request. */
static _Thread_local char log_rid[40];

void sy_log_set_rid(const char *rid) {
    snprintf(log_rid, sizeof log_rid, "%s", rid ? rid : "");
}

void sy_log(int level, const char *fmt, ...) {
    if (level < sy_log_level) return;
    static const char *names[] = {"debug", "info", "warn", "error"};
    char line[2048];
    char ts[40];
    sy_time_format(sy_now_ms(), ts, sizeof ts);
    int n = snprintf(line, sizeof line, "ts=%s level=%s", ts, names[level & 3]);
    if (log_rid[0] && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, " rid=%s", log_rid);
    if (n < (int)sizeof line - 1) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0) n += m;
    }
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
