/* buf.h — growable byte buffer.
 *
 * Invariants: p is NULL only when cap == 0; when p is not NULL, p[len] == 0,
 * so p can always be used as a C string (it may also hold NUL bytes inside).
 * The buffer owns p (heap); sy_buf_release frees it, sy_buf_detach hands it
 * to the caller. */
#ifndef SY_BUF_H
#define SY_BUF_H

#include <stddef.h>

typedef struct sy_buf {
    char *p;
    size_t len;
    size_t cap;
} sy_buf;

#define SY_BUF_INIT                                                                                \
    { NULL, 0, 0 }

void sy_buf_init(sy_buf *b);
void sy_buf_release(sy_buf *b);
/* Ensures room for n more bytes. Aborts on out-of-memory. */
void sy_buf_grow(sy_buf *b, size_t n);
void sy_buf_add(sy_buf *b, const void *data, size_t n);
void sy_buf_adds(sy_buf *b, const char *s);
void sy_buf_addc(sy_buf *b, char c);
void sy_buf_addf(sy_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sy_buf_reset(sy_buf *b);
/* Returns the buffer's memory (caller frees with free()) and empties b. */
char *sy_buf_detach(sy_buf *b, size_t *len);

#endif
