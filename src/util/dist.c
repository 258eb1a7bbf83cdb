/* dist: MPI (OpenMPI) behind the small interface of dist.h. Without an MPI
 * launcher nothing here touches MPI, so a plain `aurl train` pays no MPI
 * start-up cost. Errors come back as codes with MPI's own message. */
#include "util/dist.h"

#include <limits.h>
#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/clock.h"
#include "util/log.h"

static int g_mpi;      /* 1 while MPI is initialised by us */
static int g_rank, g_size = 1;
static double g_comm_s;
/* the watchdog: when the current collective started (0: none) */
static _Atomic double g_wait_since;
static const volatile int *g_stop;
static double g_timeout = 600;
static _Atomic double g_step_s;
static pthread_t g_watchdog;
static atomic_int g_watchdog_run;

static void *watchdog_main(void *arg)
{
    (void)arg;
    while (atomic_load(&g_watchdog_run)) {
        usleep(200000);
        double since = atomic_load(&g_wait_since);
        if (since <= 0) continue;
        double waited = clock_monotonic() - since;
        int stopping = g_stop && *g_stop;
        if (waited > g_timeout || (stopping && waited > 1 + 2 * atomic_load(&g_step_s))) {
            log_error("rank %d of %d: no answer from the other ranks for %.0f s%s; a rank probably died (see "
                      "mpirun's message). Ending this rank; the job resumes from its last checkpoint",
                      g_rank, g_size, waited, stopping ? " after a stop signal" : "");
            _exit(1);
        }
    }
    return NULL;
}

void dist_watch_stop_flag(const volatile int *stop) { g_stop = stop; }
void dist_note_step_seconds(double s) { atomic_store(&g_step_s, s); }

static void wait_begin(void) { atomic_store(&g_wait_since, clock_monotonic()); }
static void wait_end(double t0)
{
    atomic_store(&g_wait_since, 0.0);
    g_comm_s += clock_monotonic() - t0;
}

int dist_launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK", NULL};
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

/* Format MPI error RC into err. Always -1. */
static int mpi_fail(int rc, const char *what, char *err, size_t err_len)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "MPI error %d", rc);
    snprintf(err, err_len, "rank %d: %s failed: %s (another rank probably died)", g_rank, what, msg);
    return -1;
}

int dist_init(char *err, size_t err_len)
{
    if (g_mpi || !dist_launched_by_mpi()) return 0;
    int rc = MPI_Init(NULL, NULL);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Init", err, err_len);
    g_mpi = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    const char *t = getenv("AURL_DIST_TIMEOUT");
    if (t && atof(t) > 0) g_timeout = atof(t);
    atomic_store(&g_watchdog_run, 1);
    if (g_size > 1 && pthread_create(&g_watchdog, NULL, watchdog_main, NULL) != 0) atomic_store(&g_watchdog_run, 0);
    return 0;
}

int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }
double dist_comm_seconds(void) { return g_comm_s; }

/* Sum N elements of TYPE (SIZE bytes each) in place, in chunks below 2^31. */
static int allreduce_sum(void *x, size_t n, MPI_Datatype type, size_t size, char *err, size_t err_len)
{
    if (!g_mpi || g_size == 1) return 0;
    double t0 = clock_monotonic();
    char *p = x;
    wait_begin();
    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        int rc = MPI_Allreduce(MPI_IN_PLACE, p, chunk, type, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) {
            wait_end(t0);
            return mpi_fail(rc, "MPI_Allreduce", err, err_len);
        }
        p += (size_t)chunk * size;
        n -= (size_t)chunk;
    }
    wait_end(t0);
    return 0;
}

int dist_allreduce_sum_f32(float *x, size_t n, char *err, size_t err_len)
{
    return allreduce_sum(x, n, MPI_FLOAT, sizeof *x, err, err_len);
}

int dist_allreduce_sum_f64(double *x, size_t n, char *err, size_t err_len)
{
    return allreduce_sum(x, n, MPI_DOUBLE, sizeof *x, err, err_len);
}

int dist_any(int flag, int *any, char *err, size_t err_len)
{
    *any = flag != 0;
    if (!g_mpi || g_size == 1) return 0;
    int v = *any;
    int rc = MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce (flag)", err, err_len);
    *any = v != 0;
    return 0;
}

int dist_broadcast(void *buf, size_t n, int root, char *err, size_t err_len)
{
    if (!g_mpi || g_size == 1) return 0;
    double t0 = clock_monotonic();
    char *p = buf;
    wait_begin();
    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        int rc = MPI_Bcast(p, chunk, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) {
            wait_end(t0);
            return mpi_fail(rc, "MPI_Bcast", err, err_len);
        }
        p += chunk;
        n -= (size_t)chunk;
    }
    wait_end(t0);
    return 0;
}

int dist_agree_u64(uint64_t h, int *same, char *err, size_t err_len)
{
    *same = 1;
    if (!g_mpi || g_size == 1) return 0;
    unsigned long long lo = h, hi = h;
    int rc = MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    if (rc == MPI_SUCCESS) rc = MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce (replica check)", err, err_len);
    *same = lo == hi;
    return 0;
}

int dist_first_failure(int failed, char *msg, size_t len, int *who, char *err, size_t err_len)
{
    *who = failed ? g_rank : g_size;
    if (!g_mpi || g_size == 1) return failed ? 1 : 0;
    int rc = MPI_Allreduce(MPI_IN_PLACE, who, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Allreduce (failure)", err, err_len);
    if (*who >= g_size) return 0;
    if (len > (size_t)INT_MAX) len = INT_MAX;
    rc = MPI_Bcast(msg, (int)len, MPI_CHAR, *who, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Bcast (failure)", err, err_len);
    msg[len - 1] = 0;
    return 1;
}

int dist_barrier(char *err, size_t err_len)
{
    if (!g_mpi || g_size == 1) return 0;
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? 0 : mpi_fail(rc, "MPI_Barrier", err, err_len);
}

void dist_finalize(void)
{
    if (!g_mpi) return;
    if (atomic_exchange(&g_watchdog_run, 0)) pthread_join(g_watchdog, NULL);
    MPI_Finalize();
    g_mpi = 0;
}

void dist_abort(int code)
{
    if (g_mpi && g_size > 1) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}
