/* dist: the distributed layer of data-parallel training (docs/DESIGN.md,
 * "Distributed training"). A thin wrapper over MPI so that another backend
 * (NCCL for a GPU build) can replace it: init, rank/size, in-place sums of
 * floats and doubles, an any-flag, broadcast, a parameter-hash agreement
 * check, barrier, finalize, abort. A process not started by an MPI launcher
 * (no OMPI_COMM_WORLD_SIZE / PMI_SIZE / PMIX_RANK in the environment) never
 * calls MPI_Init: it is rank 0 of 1 and every collective is a no-op. */
#ifndef AURL_DIST_H
#define AURL_DIST_H

#include <stddef.h>
#include <stdint.h>

/* 1 if the environment says an MPI launcher (mpirun, srun, hydra) started us. */
int dist_launched_by_mpi(void);
/* Start the layer (MPI_Init when launched by MPI; errors are returned, not
 * fatal: MPI_ERRORS_RETURN on the world communicator). 0 or -1 (err set). */
int dist_init(char *err, size_t err_len);
/* This process's rank (0..size-1) and the number of ranks (1 without MPI). */
int dist_rank(void);
int dist_size(void);
/* Sum N floats over all ranks, in place (chunked below 2^31 elements).
 * 0 or -1 (err set). */
int dist_allreduce_sum_f32(float *x, size_t n, char *err, size_t err_len);
/* Sum N doubles over all ranks, in place. 0 or -1. */
int dist_allreduce_sum_f64(double *x, size_t n, char *err, size_t err_len);
/* 1 if FLAG is non-zero on any rank (*any set); 0 or -1 (err set). */
int dist_any(int flag, int *any, char *err, size_t err_len);
/* Copy N bytes from rank ROOT's BUF to every rank's BUF. 0 or -1. */
int dist_broadcast(void *buf, size_t n, int root, char *err, size_t err_len);
/* Reduce H with MIN and MAX over the ranks: *same = 1 if every rank has
 * the same value. 0 or -1. */
int dist_agree_u64(uint64_t h, int *same, char *err, size_t err_len);
/* Agree on failure: FAILED is this rank's; if any rank failed, *who gets
 * the lowest failed rank and MSG (LEN bytes) that rank's message on every
 * rank, and 1 is returned; 0 if none failed; -1 if the collective failed
 * (err set). */
int dist_first_failure(int failed, char *msg, size_t len, int *who, char *err, size_t err_len);
/* Wait for every rank. 0 or -1. */
int dist_barrier(char *err, size_t err_len);
/* Seconds spent inside collectives since dist_init (for the bench). */
double dist_comm_seconds(void);
/* The watchdog (a thread, started by dist_init under MPI): a rank that
 * waits in one collective longer than the timeout (AURL_DIST_TIMEOUT
 * seconds, default 600), or longer than 1 s + twice the latest step
 * (dist_note_step_seconds) after *STOP became non-zero (a
 * stop signal: mpirun sends SIGTERM when a rank died), logs an error that
 * names the wait and ends the process with exit code 1. Checkpoints are
 * atomic, so the job resumes from the last one. STOP may be NULL. */
void dist_watch_stop_flag(const volatile int *stop);
/* The duration of the latest training step (sizes the watchdog's grace). */
void dist_note_step_seconds(double s);
/* End the layer (MPI_Finalize when it was started). */
void dist_finalize(void);
/* End every rank of the job now with CODE (MPI_Abort; exit without MPI). */
void dist_abort(int code);
#endif
