/* threads: configure OpenMP and OpenBLAS thread counts together. */
#include "util/threads.h"

#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

/* From OpenBLAS (cblas.h declares it, but we avoid pulling cblas into util). */
void openblas_set_num_threads(int num_threads);

static int g_threads = 1;

int threads_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int env_int(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    int n = atoi(v);
    return n > 0 ? n : 0;
}

void threads_configure(int n)
{
    if (n <= 0) n = env_int("OMP_NUM_THREADS");
    if (n <= 0) n = env_int("OPENBLAS_NUM_THREADS");
    if (n <= 0) n = threads_cores();
    g_threads = n;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int threads_count(void) { return g_threads; }
