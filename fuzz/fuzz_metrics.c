/* fuzz_metrics: libFuzzer target for metrics.jsonl lines (read by the TUI and
 * `aurl status`). metrics_parse_line gets the input as one NUL-terminated
 * line; it must return -1 or a count within max, with a terminated kind and
 * terminated names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/train/metrics.h"
#include "util/log.h"

#define MAX_SCALARS 8

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_quiet(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line) return 0;
    memcpy(line, data, size);
    line[size] = 0;
    char kind[16], names[MAX_SCALARS][32];
    double values[MAX_SCALARS];
    int stage = -7;
    int64_t step = 0;
    int n = metrics_parse_line(line, kind, sizeof kind, &stage, &step, names, values, MAX_SCALARS);
    if (n < -1 || n > MAX_SCALARS) abort();
    if (n >= 0) {
        if (!memchr(kind, 0, sizeof kind) || stage < 0 || stage > 1000) abort();
        for (int i = 0; i < n; i++)
            if (!memchr(names[i], 0, sizeof names[i])) abort();
    }
    /* all outputs optional */
    int m = metrics_parse_line(line, NULL, 0, NULL, NULL, NULL, NULL, MAX_SCALARS);
    if (m != n) abort();
    free(line);
    return 0;
}
