/* attn_scaling: times attention forward+backward for the three variants.
 * Prints (1) the reference configuration B=8, T=512, C=256, NH=4 and (2) a
 * table over T = 512..4096 at a constant 4096 tokens per batch (B = 4096/T),
 * full vs sliding_window (W=256) vs hierarchical (W=256, stride 64), in
 * milliseconds per call (best of several runs: wall clock, and process CPU
 * time, which stays meaningful when the machine is shared) and saved MB.
 * Built by `make bench` (build/bench/attn_scaling) and run by bench/run.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/nn/blas_core.h"
#include "engine/nn/attention.h"
#include "util/clock.h"

/* Milliseconds of CPU time used by this process (all threads). */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double wall_ms(void) { return clock_monotonic() * 1e3; }

static float *alloc_f(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "attn_scaling: out of memory (%zu floats)\n", n);
        exit(1);
    }
    return p;
}

/* Best-of-reps forward and backward wall times and fwd+bwd CPU time (ms). */
static void time_attn(const attn_config *cfg, int B, int T, int C, int NH, int reps,
                      double *fwd, double *bwd, double *cpu, double *saved_mb)
{
    size_t nqkv = (size_t)B * T * 3 * C, nout = (size_t)B * T * C;
    size_t ns = attn_saved_size(cfg, B, T, NH), nw = attn_work_size(cfg, B, T, C, NH);
    float *qkv = alloc_f(nqkv), *dqkv = alloc_f(nqkv), *out = alloc_f(nout),
          *dout = alloc_f(nout), *saved = alloc_f(ns), *work = alloc_f(nw);
    unsigned s = 12345;
    for (size_t i = 0; i < nqkv; i++) qkv[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f;
    for (size_t i = 0; i < nout; i++) dout[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f;
    memset(dqkv, 0, nqkv * sizeof *dqkv);
    *fwd = *bwd = *cpu = 1e30;
    for (int r = 0; r < reps + 1; r++) { /* first run warms up */
        double c0 = cpu_ms(), t0 = wall_ms();
        attn_forward(out, saved, work, qkv, cfg, B, T, C, NH);
        double t1 = wall_ms();
        attn_backward(dqkv, work, dout, qkv, saved, cfg, B, T, C, NH);
        double t2 = wall_ms(), c2 = cpu_ms();
        if (r > 0) {
            if (t1 - t0 < *fwd) *fwd = t1 - t0;
            if (t2 - t1 < *bwd) *bwd = t2 - t1;
            if (c2 - c0 < *cpu) *cpu = c2 - c0;
        }
    }
    *saved_mb = ns * 4.0 / 1e6;
    free(qkv); free(dqkv); free(out); free(dout); free(saved); free(work);
}

int main(int argc, char **argv)
{
    blas_core_startup(argv); /* the OpenBLAS kernel aurl itself would run */
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1) reps = 1;
    const int C = 256, NH = 4;
    double f, b, cpu, mb;
    attn_config full = {ATTN_FULL, 0, 0};
    time_attn(&full, 8, 512, C, NH, reps, &f, &b, &cpu, &mb);
    printf("attention full B=8 T=512 C=256 NH=4: forward %.2f ms, backward %.2f ms, "
           "total %.2f ms wall (%.2f ms CPU), saved %.1f MB\n\n", f, b, f + b, cpu, mb);

    const attn_config kinds[] = {{ATTN_FULL, 0, 0}, {ATTN_SLIDING, 256, 0},
                                 {ATTN_HIERARCHICAL, 256, 64}};
    const char *labels[] = {"full", "sliding W=256", "hier W=256 s=64"};
    printf("constant 4096 tokens per batch (B = 4096/T), C=256, NH=4;\n"
           "fwd+bwd wall ms / CPU ms (saved MB)\n");
    printf("%6s %4s", "T", "B");
    for (int k = 0; k < 3; k++) printf(" %26s", labels[k]);
    printf("\n");
    for (int T = 512; T <= 4096; T *= 2) {
        int B = 4096 / T;
        printf("%6d %4d", T, B);
        for (int k = 0; k < 3; k++) {
            time_attn(&kinds[k], B, T, C, NH, reps, &f, &b, &cpu, &mb);
            printf(" %7.1f / %7.1f (%5.1f MB)", f + b, cpu, mb);
        }
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
