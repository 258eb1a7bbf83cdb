/* mpi_run: helpers of the MPI tests (test_mpi, test_mpi_vae): start
 * `aurl train` under mpirun (with the OpenMPI settings for root, one
 * machine and shared memory) or plainly, wait for it, compare the weights
 * of two runs' last checkpoints, read their train records, and the
 * SIGTERM-then-resume-on-one-rank check. */
#ifndef AURL_TESTS_MPI_RUN_H
#define AURL_TESTS_MPI_RUN_H

#include <stddef.h>
#include <sys/types.h>

/* Start `[mpirun -np RANKS] $BUILD/aurl -q --threads 1 --outputs OUTPUTS
 * train --config CONFIG` (RANKS 0: no mpirun), stdout and stderr into
 * testutil_path(ERR_NAME). */
pid_t mpi_run_spawn(int ranks, const char *outputs, const char *config, const char *err_name);
/* waitpid's status of PID (fails the test if waitpid does). */
int mpi_run_wait(pid_t pid);
/* Spawn and wait: the exit code (128: killed), printing the output on failure. */
int mpi_run(int ranks, const char *outputs, const char *config);
/* Every float (weights and moments) of OUTPUTS' stageSTAGE_last.ckpt (malloc'd, *n). */
float *mpi_run_last_weights(const char *outputs, int stage, size_t *n);
/* Floats that differ between two runs' last checkpoints of STAGE; *max_abs the largest difference. */
size_t mpi_run_count_differing(const char *a_out, const char *b_out, int stage, double *max_abs);
/* The train records' loss and grad_norm per step (1-based, up to MAX); returns the last step seen. */
int mpi_run_read_train(const char *outputs, double *loss, double *gnorm, int max);
/* The newest child of mpirun PID: rank 1 (mpirun starts the ranks in order). */
int mpi_run_newest_child(pid_t pid);
/* Wait until OUTPUTS' metrics show step >= STEP (fails the test after 30 s). */
void mpi_run_wait_for_step(const char *outputs, int step);
/* Writes config NAME (testutil_write_file) with ACCUMULATE and STEPS; returns its path. */
typedef const char *(*mpi_run_config_fn)(const char *name, int accumulate, int steps);
/* SIGTERM to rank 1 of a 2-rank job of STEPS steps (STAGE's config from
 * WRITE_CONFIG, names prefixed TAG) once it passed step 30: one
 * checkpoint at the step both ranks agree on; resumed on 1 rank with 2
 * accumulated micro-batches it ends with the weights of an uninterrupted
 * 1-rank run, bit for bit (fails the test otherwise). */
void mpi_run_sigterm_resume(mpi_run_config_fn write_config, int stage, int steps, const char *tag);
#endif
