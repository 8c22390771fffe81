/* arena.h — bump allocator freed in one step.
 *
 * One arena per HTTP request and per job run: everything the request needs is
 * allocated here and released together when the request ends, so handlers
 * never free individual strings. Things that need a destructor (a prepared
 * statement, a jansson value, a bitmap) register a cleanup, run in reverse
 * order by sy_arena_destroy. Not thread-safe: one arena belongs to one thread
 * at a time. */
#ifndef SY_ARENA_H
#define SY_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct sy_arena sy_arena;

/* Returns a new arena, or NULL when out of memory. */
sy_arena *sy_arena_create(void);
/* Runs cleanups (last registered first) and frees all memory; NULL is a no-op. */
void sy_arena_destroy(sy_arena *a);

/* Returns n bytes aligned for any type, zeroed. Aborts on out-of-memory
 * (a request cannot continue without memory and the process is unusable). */
void *sy_alloc(sy_arena *a, size_t n);
/* Copies s (NULL → NULL) / n bytes of s plus a terminating NUL. */
char *sy_strdup(sy_arena *a, const char *s);
char *sy_strndup(sy_arena *a, const char *s, size_t n);
/* printf into arena memory. */
char *sy_sprintf(sy_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Registers fn(arg) to run when the arena is destroyed. */
void sy_arena_on_destroy(sy_arena *a, void (*fn)(void *), void *arg);

#endif
