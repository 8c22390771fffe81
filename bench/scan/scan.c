/* scan.c — the memory-bandwidth floor for the analytics benchmark (issue 6
 * §6): how long 2 threads take just to read the columns a question must scan,
 * on this machine, with nothing else done per row.
 *
 *   cc -O2 -pthread bench/scan/scan.c -o scan
 *   scan ROWS RUNS COLUMNS...
 *
 * ROWS is the number of events (the bench dataset's size); each COLUMNS
 * argument is one comma-separated set of columns laid out as siyu's engine
 * keeps them, one array per column:
 *   ts (int64, 8 B), contact (uint32, 4 B), type (uint16, 2 B),
 *   flags (uint8, 1 B), dim (uint16, 2 B: one dictionary-encoded dimension).
 * For each set it prints one line:
 *   scan columns=ts,contact,type rows=… bytes=… threads=2 runs=…
 *        median_ms=… best_ms=… gb_per_s=…   (median)
 *
 *   scan ROWS serve
 *
 * keeps the arrays and answers on stdout one line per column set read from
 * stdin ("ts,contact,type" → "ms=… check=…"): one pass, timed. The bench
 * asks it in every round, right after siyu answers the question, so the
 * floor is measured in the same conditions as the question (see
 * bench/peers/bench.mjs); a fresh process per round would time its page
 * faults instead. Every column is read once before the first answer.
 *
 * The arrays are allocated once and filled with non-zero data (so every page
 * is real memory, not the shared zero page), larger than any cache at the
 * bench's sizes. Each thread reads its half of every column as 64-bit words
 * (the element width does not matter to a bandwidth floor); the sums are
 * printed so the compiler cannot drop the loop. A real query also decides
 * something per row, so this is a floor, not a target. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 2

typedef struct columns {
    size_t rows;
    int64_t *ts;
    uint32_t *contact;
    uint16_t *type;
    uint8_t *flags;
    uint16_t *dim;
} columns;

/* One scan job: a row range and which columns to read. */
typedef struct job {
    const columns *c;
    size_t from, to;
    int use_ts, use_contact, use_type, use_flags, use_dim;
    uint64_t sum;
} job;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Reads n bytes as 64-bit words with four independent sums, so the loop is
 * limited by memory, not by one add per element: a narrow column (type,
 * 2 B) is read as fast as a wide one, as a vectorized engine would. */
static uint64_t sum_words(const void *p, size_t n) {
    const uint64_t *w = p;
    size_t words = n / 8, i = 0;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (; i + 4 <= words; i += 4) {
        a += w[i];
        b += w[i + 1];
        c += w[i + 2];
        d += w[i + 3];
    }
    for (; i < words; i++)
        a += w[i];
    const unsigned char *tail = (const unsigned char *)p + words * 8;
    for (size_t k = 0; k < n % 8; k++)
        a += tail[k];
    return a + b + c + d;
}

/* Each column is read in its own pass over the job's rows, one sequential
 * stream at a time, as a column store reads it. */
static void *scan_range(void *arg) {
    job *j = arg;
    const columns *c = j->c;
    size_t n = j->to - j->from;
    uint64_t s = 0;
    if (j->use_ts) s += sum_words(c->ts + j->from, n * sizeof *c->ts);
    if (j->use_contact) s += sum_words(c->contact + j->from, n * sizeof *c->contact);
    if (j->use_type) s += sum_words(c->type + j->from, n * sizeof *c->type);
    if (j->use_flags) s += sum_words(c->flags + j->from, n * sizeof *c->flags);
    if (j->use_dim) s += sum_words(c->dim + j->from, n * sizeof *c->dim);
    j->sum = s;
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *alloc_filled(size_t n, size_t size, unsigned seed) {
    unsigned char *p = malloc(n * size);
    if (!p) {
        fprintf(stderr, "scan: out of memory for %zu x %zu bytes\n", n, size);
        exit(1);
    }
    for (size_t i = 0; i < n * size; i++)
        p[i] = (unsigned char)(i * 2654435761u + seed) | 1u;
    return p;
}

/* Parses a column set ("ts,contact,type") into proto's use_* flags and
 * the bytes per row; -1 (with a message) for an unknown column. */
static int parse_columns(const char *set, job *proto, size_t *row_bytes) {
    *row_bytes = 0;
    char *spec = strdup(set), *save = NULL;
    if (!spec) return -1;
    int rc = 0;
    for (char *col = strtok_r(spec, ",", &save); col; col = strtok_r(NULL, ",", &save)) {
        if (!strcmp(col, "ts"))
            proto->use_ts = 1, *row_bytes += 8;
        else if (!strcmp(col, "contact"))
            proto->use_contact = 1, *row_bytes += 4;
        else if (!strcmp(col, "type"))
            proto->use_type = 1, *row_bytes += 2;
        else if (!strcmp(col, "flags"))
            proto->use_flags = 1, *row_bytes += 1;
        else if (!strcmp(col, "dim"))
            proto->use_dim = 1, *row_bytes += 2;
        else {
            fprintf(stderr, "scan: unknown column \"%s\" (ts, contact, type, flags, dim)\n", col);
            rc = -1;
            break;
        }
    }
    free(spec);
    return rc;
}

/* One pass of THREADS threads over proto's columns: its time in ms; the
 * threads' sums are added to *check. */
static double one_pass(const columns *c, const job *proto, uint64_t *check) {
    job jobs[THREADS];
    pthread_t th[THREADS];
    double t0 = now_ms();
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = *proto;
        jobs[t].from = c->rows * (size_t)t / THREADS;
        jobs[t].to = c->rows * (size_t)(t + 1) / THREADS;
        pthread_create(&th[t], NULL, scan_range, &jobs[t]);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        *check += jobs[t].sum;
    }
    return now_ms() - t0;
}

/* scan ROWS serve: a pass per line of stdin, until its end. */
static int serve(const columns *c) {
    job all = {.c = c, .use_ts = 1, .use_contact = 1, .use_type = 1, .use_flags = 1, .use_dim = 1};
    uint64_t check = 0;
    one_pass(c, &all, &check); /* page tables and TLB warm, as in a running server */
    printf("ready\n");
    fflush(stdout);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        job proto = {.c = c};
        size_t row_bytes;
        if (parse_columns(line, &proto, &row_bytes)) {
            printf("error unknown column in \"%s\"\n", line);
        } else {
            double ms = one_pass(c, &proto, &check);
            printf("ms=%.3f check=%llu\n", ms, (unsigned long long)(check & 0xffff));
        }
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv) {
    int serving = argc == 3 && !strcmp(argv[2], "serve");
    if (argc < 4 && !serving) {
        fprintf(stderr, "usage: scan ROWS RUNS COLUMNS... (COLUMNS e.g. ts,contact,type)\n"
                        "       scan ROWS serve  (a pass per column set read from stdin)\n");
        return 2;
    }
    columns c = {0};
    c.rows = strtoull(argv[1], NULL, 10);
    int runs = serving ? 1 : atoi(argv[2]);
    if (c.rows < THREADS || runs < 1 || runs > 1000) {
        fprintf(stderr, "scan: ROWS must be >= %d and RUNS 1..1000\n", THREADS);
        return 2;
    }
    c.ts = alloc_filled(c.rows, sizeof *c.ts, 1);
    c.contact = alloc_filled(c.rows, sizeof *c.contact, 2);
    c.type = alloc_filled(c.rows, sizeof *c.type, 3);
    c.flags = alloc_filled(c.rows, sizeof *c.flags, 4);
    c.dim = alloc_filled(c.rows, sizeof *c.dim, 5);
    if (serving) return serve(&c);
    double *ms = calloc((size_t)runs, sizeof *ms);
    if (!ms) return 1;
    for (int a = 3; a < argc; a++) {
        job proto = {.c = &c};
        size_t row_bytes = 0;
        if (parse_columns(argv[a], &proto, &row_bytes)) return 2;
        uint64_t check = 0;
        /* one untimed pass first: page-table and TLB warm-up, as the engine's
         * columns are warm in a running server */
        for (int r = -1; r < runs; r++) {
            double t = one_pass(&c, &proto, &check);
            if (r >= 0) ms[r] = t;
        }
        qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
        double median = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
        double bytes = (double)c.rows * (double)row_bytes;
        printf("scan columns=%s rows=%zu bytes=%.0f threads=%d runs=%d median_ms=%.2f best_ms=%.2f "
               "gb_per_s=%.1f check=%llu\n",
               argv[a], c.rows, bytes, THREADS, runs, median, ms[0], bytes / median / 1e6,
               (unsigned long long)(check & 0xffff));
    }
    free(ms);
    free(c.ts);
    free(c.contact);
    free(c.type);
    free(c.flags);
    free(c.dim);
    return 0;
}
