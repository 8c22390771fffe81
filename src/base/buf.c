/* buf.c — growable byte buffer (see buf.h for the invariants). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base.h"

void sy_buf_init(sy_buf *b) {
    b->p = NULL;
    b->len = b->cap = 0;
}

void sy_buf_release(sy_buf *b) {
    free(b->p);
    sy_buf_init(b);
}

void sy_buf_grow(sy_buf *b, size_t n) {
    if (b->cap - b->len > n && b->p) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len <= n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        fputs("siyu: out of memory\n", stderr);
        abort();
    }
    b->p = p;
    b->cap = cap;
    b->p[b->len] = 0;
}

void sy_buf_add(sy_buf *b, const void *data, size_t n) {
    sy_buf_grow(b, n);
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
}

void sy_buf_adds(sy_buf *b, const char *s) {
    sy_buf_add(b, s, strlen(s));
}

void sy_buf_addc(sy_buf *b, char c) {
    sy_buf_add(b, &c, 1);
}

void sy_buf_addf(sy_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    sy_buf_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sy_buf_reset(sy_buf *b) {
    b->len = 0;
    if (b->p) b->p[0] = 0;
}

char *sy_buf_detach(sy_buf *b, size_t *len) {
    if (!b->p) sy_buf_grow(b, 0);
    char *p = b->p;
    if (len) *len = b->len;
    sy_buf_init(b);
    return p;
}
