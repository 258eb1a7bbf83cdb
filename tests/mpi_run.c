/* mpi_run: the MPI tests' helpers (see mpi_run.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/train/metrics.h"
#include "engine/train/train_state.h"
#include "util/clock.h"
#include "mpi_run.h"
#include "testutil.h"

/* Start `[mpirun -np RANKS] $BUILD/aurl -q --threads 1 --outputs OUT train
 * --config CONFIG` (RANKS 0: no mpirun) with stderr into ERR_NAME. */
pid_t mpi_run_spawn(int ranks, const char *outputs, const char *config, const char *err_name)
{
    const char *build = getenv("BUILD");
    char exe[256], np[16];
    snprintf(exe, sizeof exe, "%s/aurl", build && *build ? build : "build");
    snprintf(np, sizeof np, "%d", ranks);
    const char *argv[32];
    int n = 0;
    if (ranks > 0) {
        const char *pre[] = {"mpirun", "--oversubscribe", "--bind-to", "none", "-np", np, NULL};
        for (int i = 0; pre[i]; i++) argv[n++] = pre[i];
    }
    const char *rest[] = {exe, "-q", "--threads", "1", "--outputs", outputs, "train", "--config", config, NULL};
    for (int i = 0; rest[i]; i++) argv[n++] = rest[i];
    argv[n] = NULL;
    const char *err = testutil_path(err_name);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
        }
        setenv("OMP_NUM_THREADS", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
        setenv("OMPI_MCA_btl", "self,vader", 1);
        setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
        /* OpenMPI's own allocations outlive MPI_Finalize (in its dlopen'ed
         * components, so no suppression can name them): under SANITIZE=1
         * leak checking is off for MPI runs; the one-process runs keep it */
        if (ranks > 0) {
            char opts[512];
            const char *old = getenv("ASAN_OPTIONS");
            snprintf(opts, sizeof opts, "%s%sdetect_leaks=0", old ? old : "", old && *old ? ":" : "");
            setenv("ASAN_OPTIONS", opts, 1);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int mpi_run_wait(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

int mpi_run(int ranks, const char *outputs, const char *config)
{
    int st = mpi_run_wait(mpi_run_spawn(ranks, outputs, config, "run.err"));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *e = (char *)testutil_read_file(testutil_path("run.err"), NULL);
        print_message("run failed: %s\n", e ? e : "");
        free(e);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

float *mpi_run_last_weights(const char *outputs, int stage, size_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/checkpoints/stage%d_last.ckpt", outputs, stage);
    return testutil_ckpt_read_all(path, n);
}

/* Number of floats (weights and moments) that differ between two runs. */
size_t mpi_run_count_differing(const char *a_out, const char *b_out, int stage, double *max_abs)
{
    size_t na, nb;
    float *a = mpi_run_last_weights(a_out, stage, &na), *b = mpi_run_last_weights(b_out, stage, &nb);
    assert_int_equal(na, nb);
    size_t d = 0;
    *max_abs = 0;
    for (size_t i = 0; i < na; i++) {
        d += memcmp(&a[i], &b[i], sizeof(float)) != 0;
        *max_abs = fmax(*max_abs, fabs((double)a[i] - b[i]));
    }
    free(a);
    free(b);
    return d;
}

/* The train records' loss and grad_norm per step (1-based, up to MAX). */
int mpi_run_read_train(const char *outputs, double *loss, double *gnorm, int max)
{
    char path[512], line[4096], kind[16], names[16][32];
    double vals[16];
    snprintf(path, sizeof path, "%s/logs/metrics.jsonl", outputs);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        int stage;
        int64_t step;
        int k = metrics_parse_line(line, kind, sizeof kind, &stage, &step, names, vals, 16);
        if (k < 0 || strcmp(kind, "train") || step < 1 || step > max) continue;
        for (int i = 0; i < k; i++) {
            if (!strcmp(names[i], "loss")) loss[step - 1] = vals[i];
            if (!strcmp(names[i], "grad_norm")) gnorm[step - 1] = vals[i];
        }
        if (step > n) n = (int)step;
    }
    fclose(f);
    return n;
}

/* The newest child of mpirun PID: rank 1 (mpirun starts the ranks in order). */
int mpi_run_newest_child(pid_t pid)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "pgrep -n -P %d", (int)pid);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int child = 0;
    assert_int_equal(fscanf(p, "%d", &child), 1);
    pclose(p);
    return child;
}

/* Wait until OUTPUTS' metrics show step >= STEP (or 30 s pass). */
void mpi_run_wait_for_step(const char *outputs, int step)
{
    double l[4096], g[4096];
    double t0 = clock_monotonic();
    char path[512];
    snprintf(path, sizeof path, "%s/logs/metrics.jsonl", outputs);
    while (clock_monotonic() - t0 < 30) {
        usleep(20000);
        if (access(path, R_OK) == 0 && mpi_run_read_train(outputs, l, g, 4096) >= step) return;
    }
    fail_msg("no step %d within 30 s", step);
}


void mpi_run_sigterm_resume(mpi_run_config_fn write_config, int stage, int steps, const char *tag)
{
    char name[128], straight[128], resumed[128], acc2[128];
    snprintf(straight, sizeof straight, "%s-straight", tag);
    snprintf(resumed, sizeof resumed, "%s-resumed", tag);
    snprintf(acc2, sizeof acc2, "%s-acc2.yaml", tag);
    snprintf(name, sizeof name, "%s.yaml", tag);
    const char *out_straight = testutil_path(straight), *out_resumed = testutil_path(resumed);
    assert_int_equal(mpi_run(0, out_straight, write_config(acc2, 2, steps)), 0);
    const char *config = write_config(name, 1, steps);
    snprintf(name, sizeof name, "%s.err", tag);
    pid_t pid = mpi_run_spawn(2, out_resumed, config, name);
    mpi_run_wait_for_step(out_resumed, 30);
    /* SIGTERM to rank 1 only (mpirun forwards a SIGTERM to every rank, about
     * a second later): the ranks agree on it at the next step boundary and
     * both stop there, rank 0 writing the checkpoint */
    kill(mpi_run_newest_child(pid), SIGTERM);
    int status = mpi_run_wait(pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char path[512], err[AURL_ERR_LEN];
    train_state st;
    snprintf(path, sizeof path, "%s/training_state.json", out_resumed);
    assert_int_equal(train_state_read(path, &st, err), 1);
    long long stopped = st.stages[stage - 1].step;
    print_message("%s: SIGTERM to rank 1 of the 2-rank job: checkpoint at step %lld of %d\n", tag, stopped, steps);
    assert_true(stopped > 0 && stopped < steps);
    /* resume with one rank accumulating two micro-batches (same config hash) */
    snprintf(name, sizeof name, "%s.yaml", tag);
    write_config(name, 2, steps);
    assert_int_equal(mpi_run(0, out_resumed, config), 0);
    double max_abs;
    size_t d = mpi_run_count_differing(out_straight, out_resumed, stage, &max_abs);
    print_message("%s: resumed on 1 rank vs uninterrupted: %zu floats differ\n", tag, d);
    assert_int_equal(d, 0);
}
