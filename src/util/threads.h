/* threads: one place that decides how many threads the maths uses, so
 * OpenMP loops and OpenBLAS never oversubscribe the cores. */
#ifndef AURL_THREADS_H
#define AURL_THREADS_H

/* N > 0: use N threads for OpenMP and OpenBLAS. N == 0: honour
 * OMP_NUM_THREADS / OPENBLAS_NUM_THREADS if set, else all online cores. */
void threads_configure(int n);
/* The thread count in effect. */
int threads_count(void);
/* Online cores (>= 1). */
int threads_cores(void);
#endif
