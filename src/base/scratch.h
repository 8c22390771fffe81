/* scratch.h — large working buffers kept from one question to the next.
 *
 * A question that writes megabytes of intermediate values (a funnel's
 * step durations) would get fresh pages from the kernel every time: a page
 * fault per 4 KB on first touch and the kernel zeroing each page (67 to
 * 448 faults per funnel question on the bench data, 1 with these buffers).
 * A buffer given back here stays mapped for the next question.
 * Thread-safe. */
#ifndef SY_SCRATCH_H
#define SY_SCRATCH_H

#include <stddef.h>

/* A buffer of at least want bytes, its true size in *cap: a kept one when
 * one is large enough (the smallest such), else a new one (sy_alloc_scan).
 * Contents undefined. The caller owns it until sy_scratch_give; it may
 * realloc it meanwhile (then it gives back the new pointer and size).
 * NULL when out of memory (*cap 0). */
void *sy_scratch_take(size_t want, size_t *cap);

/* Gives back a buffer of cap bytes from sy_scratch_take (or any malloc'd
 * buffer; NULL is ignored). It is kept when the cache has room
 * (SY_SCRATCH_KEEP buffers, SY_SCRATCH_BYTES in all), else freed. */
void sy_scratch_give(void *p, size_t cap);

/* How many buffers are kept now, and their bytes in *bytes (may be NULL). */
int sy_scratch_kept(size_t *bytes);

/* Frees every kept buffer (tests; a server keeps them until it exits). */
void sy_scratch_clear(void);

#define SY_SCRATCH_KEEP 16
#define SY_SCRATCH_BYTES ((size_t)256 << 20)

#endif
