/* sgemm_peak: the machine's single-precision matrix-multiply peak as aurl
 * gets it. blas_core_startup() runs first, so the OpenBLAS kernel is the one
 * aurl would pick (or the user's OPENBLAS_CORETYPE); then cblas_sgemm of
 * square N x N matrices, for each size and thread count the best of several
 * timed runs (after one untimed warm-up), in GFLOP/s (2 N^3 per call). Every
 * result is checked against a double-precision reference on sampled entries
 * (error relative to sum_k |a_ik b_kj|). --json ends the output with one JSON
 * line, which bench/run.sh reads.
 *
 *   build/bench/sgemm_peak [--sizes 1024,2048] [--threads 1,2] [--repeats R] [--json]
 *
 * Exit status: 0, 1 when a result is wrong or memory runs out, 2 on usage.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/blas_core.h"
#include "util/clock.h"
#include "util/globals.h"
#include "util/rng.h"
#include "util/threads.h"

#define PEAK_MAX_LIST 8
#define PEAK_CHECK_SAMPLES 2048
#define PEAK_MAX_REL_ERR 1e-4 /* float rounding over N <= 8192 terms stays far below this */

/* One measured size and thread count. */
typedef struct {
    int n, threads;
    double best_s, gflops;
} peak_result;

/* Parse a comma-separated list of positive ints into OUT (at most CAP);
 * returns the count, or 0 when S is malformed. */
static int peak_parse_list(const char *s, int *out, int cap)
{
    int count = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 16384 || count == cap || (*end && *end != ',')) return 0;
        out[count++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return count;
}

/* Worst relative error of C = A B (row-major N x N) over sampled entries,
 * against a double-precision dot product. */
static double peak_check(const float *a, const float *b, const float *c, int n, rng_state *r)
{
    double worst = 0;
    for (int s = 0; s < PEAK_CHECK_SAMPLES; s++) {
        int i = (int)rng_below(r, (uint64_t)n), j = (int)rng_below(r, (uint64_t)n);
        double ref = 0, mag = 0;
        for (int k = 0; k < n; k++) {
            double p = (double)a[(size_t)i * n + k] * (double)b[(size_t)k * n + j];
            ref += p;
            mag += fabs(p);
        }
        double err = fabs((double)c[(size_t)i * n + j] - ref) / (mag > 0 ? mag : 1);
        if (err > worst) worst = err;
    }
    return worst;
}

/* Time sgemm at size N on each of the NT thread counts THREADS (best of
 * REPEATS), filling OUT[0..NT); *WORST_ERR takes the largest check error.
 * Returns 0, or -1 when memory runs out. */
static int peak_measure_size(int n, const int *threads, int nt, int repeats, peak_result *out, double *worst_err)
{
    size_t nn = (size_t)n * n;
    float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return -1;
    }
    rng_state r;
    rng_seed(&r, 12345u + (uint64_t)n);
    for (size_t i = 0; i < nn; i++) {
        a[i] = 2 * rng_uniform(&r) - 1;
        b[i] = 2 * rng_uniform(&r) - 1;
    }
    for (int t = 0; t < nt; t++) {
        threads_configure(threads[t]);
        double best = 1e30;
        for (int rep = -1; rep < repeats; rep++) { /* rep -1: warm-up (thread pool, page faults) */
            double t0 = clock_monotonic();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            double dt = clock_monotonic() - t0;
            if (rep >= 0 && dt < best) best = dt;
        }
        double err = peak_check(a, b, c, n, &r);
        if (err > *worst_err) *worst_err = err;
        out[t] = (peak_result){ n, threads[t], best, 2.0 * n * n * (double)n / best / 1e9 };
    }
    free(a), free(b), free(c);
    return 0;
}

/* Print the results as text and, with JSON, then as one JSON line:
 * gflops_<N>_<T>t per result, peak_<T>t_gflops (best over sizes) per thread
 * count, the kernel (blas_core, blas_core_source, and library_core: the
 * library's own choice when aurl replaced it, else the core in use) and the
 * worst check error (max_rel_err). */
static void peak_print(const peak_result *res, int count, const int *threads, int nt, double worst_err, int json)
{
    blas_core_info info;
    blas_core_info_get(&info);
    char line[160];
    blas_core_describe(&info, line, sizeof line);
    printf("sgemm peak: %s\n", line);
    printf("%6s %8s %10s %10s\n", "N", "threads", "best ms", "GFLOP/s");
    for (int i = 0; i < count; i++)
        printf("%6d %8d %10.2f %10.1f\n", res[i].n, res[i].threads, 1e3 * res[i].best_s, res[i].gflops);
    double peaks[PEAK_MAX_LIST];
    for (int t = 0; t < nt; t++) {
        peaks[t] = 0;
        for (int i = 0; i < count; i++)
            if (res[i].threads == threads[t] && res[i].gflops > peaks[t]) peaks[t] = res[i].gflops;
        printf("peak, %d thread%s: %.1f GFLOP/s\n", threads[t], threads[t] == 1 ? "" : "s", peaks[t]);
    }
    printf("worst relative error vs double precision: %.2g\n", worst_err);
    if (!json) return;
    printf("{\"blas_core\": \"%s\", \"blas_core_source\": \"%s\", \"library_core\": \"%s\"", info.core,
           blas_core_source_name(info.source), info.source == BLAS_CORE_AUTO ? info.reported : info.core);
    for (int i = 0; i < count; i++) printf(", \"gflops_%d_%dt\": %.2f", res[i].n, res[i].threads, res[i].gflops);
    for (int t = 0; t < nt; t++) printf(", \"peak_%dt_gflops\": %.2f", threads[t], peaks[t]);
    printf(", \"max_rel_err\": %.3g}\n", worst_err);
}

int main(int argc, char **argv)
{
    blas_core_startup(argv); /* before any BLAS call: the kernel aurl would run */
    int sizes[PEAK_MAX_LIST] = { 1024, 2048 }, threads[PEAK_MAX_LIST] = { 1, 2 };
    int ns = 2, nt = 2, repeats = 5, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sizes") && i + 1 < argc) ns = peak_parse_list(argv[++i], sizes, PEAK_MAX_LIST);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            nt = peak_parse_list(argv[++i], threads, PEAK_MAX_LIST);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else ns = 0;
        if (ns == 0 || nt == 0 || repeats < 1) {
            fprintf(stderr, "usage: sgemm_peak [--sizes N,N...] [--threads T,T...] [--repeats R] [--json]\n");
            return AURL_EXIT_USAGE;
        }
    }
    peak_result res[PEAK_MAX_LIST * PEAK_MAX_LIST];
    double worst = 0;
    for (int s = 0; s < ns; s++) {
        if (peak_measure_size(sizes[s], threads, nt, repeats, res + s * nt, &worst)) {
            fprintf(stderr, "sgemm_peak: out of memory at N = %d\n", sizes[s]);
            return AURL_EXIT_RUNTIME;
        }
    }
    peak_print(res, ns * nt, threads, nt, worst, json);
    if (worst > PEAK_MAX_REL_ERR) {
        fprintf(stderr, "sgemm_peak: wrong results (relative error %.2g > %.0e)\n", worst, PEAK_MAX_REL_ERR);
        return AURL_EXIT_RUNTIME;
    }
    return AURL_EXIT_OK;
}
