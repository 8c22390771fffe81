/* csv_read_bench.c — throughput of the CSV reader (sy_csv_read) alone:
 * detection, GB18030 conversion when needed, libcsv parsing and copying the
 * fields into an arena. Not part of the CMake build; bench/run.sh compiles
 * it against build/libsiyucore.a.
 *
 *   csv_read_bench FILE [RUNS]    (default 5 runs; prints the best)
 *
 * Output, one line per file, key=value like siyu's logs:
 *   csv_read file=… bytes=… rows=… encoding=… best_ms=… mb_per_s=… rows_per_s=… */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv/csv.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: csv_read_bench FILE [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (runs < 1) runs = 1;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        fprintf(stderr, "csv_read_bench: cannot open %s\n", argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)len + 1);
    if (!data || fread(data, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "csv_read_bench: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);

    double best = 1e300;
    size_t rows = 0;
    int enc = 0;
    for (int i = 0; i < runs; i++) {
        sy_arena *a = sy_arena_create();
        sy_csv c;
        sy_err e;
        sy_err_clear(&e);
        double t0 = now_ms();
        int rc = sy_csv_read(a, data, (size_t)len, SY_CSV_AUTO, 200, &c, &e);
        double t = now_ms() - t0;
        if (rc) {
            fprintf(stderr, "csv_read_bench: %s: %s\n", argv[1], e.msg);
            return 1;
        }
        rows = c.n_rows;
        enc = c.encoding;
        sy_arena_destroy(a);
        if (t < best) best = t;
    }
    printf("csv_read file=%s bytes=%ld rows=%zu encoding=%s runs=%d best_ms=%.1f mb_per_s=%.1f "
           "rows_per_s=%.0f\n",
           argv[1], len, rows, sy_csv_encoding_name(enc), runs, best,
           (double)len / 1e6 / (best / 1e3), (double)rows / (best / 1e3));
    free(data);
    return 0;
}
