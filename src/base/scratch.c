/* scratch.c — see scratch.h. */
#include "base/scratch.h"
#include <pthread.h>
#include <stdlib.h>
#include "base/bits.h"

/* The kept buffers: process-wide, guarded by lock. Global because every
 * question on every thread draws on them; nothing else reads them. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *p;
    size_t cap;
} kept[SY_SCRATCH_KEEP];
static int n_kept;
static size_t kept_bytes;

void *sy_scratch_take(size_t want, size_t *cap) {
    if (want == 0) want = 1;
    pthread_mutex_lock(&lock);
    int best = -1;
    for (int i = 0; i < n_kept; i++)
        if (kept[i].cap >= want && (best < 0 || kept[i].cap < kept[best].cap)) best = i;
    if (best >= 0) {
        void *p = kept[best].p;
        *cap = kept[best].cap;
        kept_bytes -= kept[best].cap;
        kept[best] = kept[--n_kept];
        pthread_mutex_unlock(&lock);
        return p;
    }
    pthread_mutex_unlock(&lock);
    void *p = sy_alloc_scan(want);
    *cap = p ? want : 0;
    return p;
}

void sy_scratch_give(void *p, size_t cap) {
    if (!p) return;
    pthread_mutex_lock(&lock);
    if (n_kept < SY_SCRATCH_KEEP && kept_bytes + cap <= SY_SCRATCH_BYTES) {
        kept[n_kept].p = p;
        kept[n_kept].cap = cap;
        n_kept++;
        kept_bytes += cap;
        p = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(p);
}

int sy_scratch_kept(size_t *bytes) {
    pthread_mutex_lock(&lock);
    int n = n_kept;
    if (bytes) *bytes = kept_bytes;
    pthread_mutex_unlock(&lock);
    return n;
}

void sy_scratch_clear(void) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_kept; i++)
        free(kept[i].p);
    n_kept = 0;
    kept_bytes = 0;
    pthread_mutex_unlock(&lock);
}
