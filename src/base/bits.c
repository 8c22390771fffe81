/* bits.c — see bits.h. */
#include "base/bits.h"
#include <stdlib.h>
#include <sys/mman.h>

static uint64_t and_count_plain(const uint64_t *a, const uint64_t *b, size_t n) {
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = a[i] & b[i];
        x = x - ((x >> 1) & 0x5555555555555555ull);
        x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
        x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
        c += (x * 0x0101010101010101ull) >> 56;
    }
    return c;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SY_BITS_X86 1

/* four accumulators: one popcnt's latency does not serialise the loop */
__attribute__((target("popcnt"))) static uint64_t and_count_popcnt(const uint64_t *a,
                                                                   const uint64_t *b, size_t n) {
    uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        c0 += (uint64_t)__builtin_popcountll(a[i] & b[i]);
        c1 += (uint64_t)__builtin_popcountll(a[i + 1] & b[i + 1]);
        c2 += (uint64_t)__builtin_popcountll(a[i + 2] & b[i + 2]);
        c3 += (uint64_t)__builtin_popcountll(a[i + 3] & b[i + 3]);
    }
    for (; i < n; i++)
        c0 += (uint64_t)__builtin_popcountll(a[i] & b[i]);
    return c0 + c1 + c2 + c3;
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static uint64_t
and_count_avx512(const uint64_t *a, const uint64_t *b, size_t n) {
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i x = _mm512_and_si512(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
        __m512i y = _mm512_and_si512(_mm512_loadu_si512(a + i + 8), _mm512_loadu_si512(b + i + 8));
        acc0 = _mm512_add_epi64(acc0, _mm512_popcnt_epi64(x));
        acc1 = _mm512_add_epi64(acc1, _mm512_popcnt_epi64(y));
    }
    uint64_t c = (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(acc0, acc1));
    for (; i < n; i++)
        c += (uint64_t)__builtin_popcountll(a[i] & b[i]);
    return c;
}

#endif

int sy_bits_levels(void) {
#ifdef SY_BITS_X86
    if (__builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512f")) return 3;
    return __builtin_cpu_supports("popcnt") ? 2 : 1;
#else
    return 1;
#endif
}

uint64_t sy_bits_and_count_at(int level, const uint64_t *a, const uint64_t *b, size_t n) {
#ifdef SY_BITS_X86
    if (level == 2) return and_count_avx512(a, b, n);
    if (level == 1) return and_count_popcnt(a, b, n);
#endif
    (void)level;
    return and_count_plain(a, b, n);
}

uint64_t sy_bits_and_count(const uint64_t *a, const uint64_t *b, size_t n) {
    return sy_bits_and_count_at(sy_bits_levels() - 1, a, b, n);
}

uint64_t sy_bits_count(const uint64_t *a, size_t n) {
    return sy_bits_and_count(a, a, n);
}

void *sy_alloc_scan(size_t size) {
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (size < 2 * huge) return malloc(size ? size : 1);
    if (posix_memalign(&p, huge, size)) return NULL;
    /* advice only: without THP the memory works the same */
    (void)madvise(p, size & ~(huge - 1), MADV_HUGEPAGE);
    return p;
}
