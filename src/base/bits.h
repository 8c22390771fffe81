/* bits.h — word-level helpers for the analytics scans: population counts
 * with the best instruction this CPU has (chosen at run time, so the binary
 * still runs on baseline x86-64), and memory for large arrays that scans
 * read end to end. */
#ifndef SY_BITS_H
#define SY_BITS_H

#include <stddef.h>
#include <stdint.h>

/* Number of set bits in a[0..n). */
uint64_t sy_bits_count(const uint64_t *a, size_t n);
/* Number of set bits in a[i] & b[i] for i in [0, n). */
uint64_t sy_bits_and_count(const uint64_t *a, const uint64_t *b, size_t n);

/* The implementations behind the two above, by level: 0 plain C, 1 the
 * popcnt instruction, 2 AVX-512 VPOPCNTQ. Returns how many levels this CPU
 * runs (1..3); tests compare every level it runs against level 0. */
int sy_bits_levels(void);
uint64_t sy_bits_and_count_at(int level, const uint64_t *a, const uint64_t *b, size_t n);

/* size bytes for an array a scan reads end to end: 2 MB aligned and, from
 * 4 MB up, advised for transparent huge pages (the machine's default is
 * often "madvise"), which spares the scan a TLB miss every 4 KB. Not
 * zeroed. Release with free(). NULL when out of memory. */
void *sy_alloc_scan(size_t size);

#endif
