/* arena.c — chunked bump allocator with cleanups. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base.h"

#define CHUNK_MIN 8192
#define ALIGN 16

typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    /* memory follows, aligned */
    _Alignas(16) unsigned char mem[];
} chunk;

typedef struct cleanup {
    struct cleanup *next;
    void (*fn)(void *);
    void *arg;
} cleanup;

struct sy_arena {
    chunk *head;       /* current chunk; older ones follow */
    cleanup *cleanups; /* run in reverse registration order */
};

static void oom(void) {
    fputs("siyu: out of memory\n", stderr);
    abort();
}

sy_arena *sy_arena_create(void) {
    return calloc(1, sizeof(sy_arena));
}

void sy_arena_destroy(sy_arena *a) {
    if (!a) return;
    for (cleanup *c = a->cleanups; c; c = c->next)
        c->fn(c->arg);
    chunk *c = a->head;
    while (c) {
        chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

void *sy_alloc(sy_arena *a, size_t n) {
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (n == 0) n = ALIGN;
    chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        if (c && cap < c->cap * 2 && c->cap * 2 <= (1u << 20)) cap = c->cap * 2;
        chunk *nc = malloc(sizeof(chunk) + cap);
        if (!nc) oom();
        nc->cap = cap;
        nc->used = 0;
        nc->next = c;
        a->head = c = nc;
    }
    void *p = c->mem + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *sy_strndup(sy_arena *a, const char *s, size_t n) {
    if (!s) return NULL;
    char *p = sy_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *sy_strdup(sy_arena *a, const char *s) {
    return s ? sy_strndup(a, s, strlen(s)) : NULL;
}

char *sy_sprintf(sy_arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return sy_strdup(a, "");
    char *p = sy_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void sy_arena_on_destroy(sy_arena *a, void (*fn)(void *), void *arg) {
    cleanup *c = sy_alloc(a, sizeof *c);
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
}
