/* testutil: shared test helpers for a per-program temporary directory
 * (created and removed as cmocka group setup/teardown) and for writing,
 * reading, counting and removing files in it. Every helper fails the
 * current test (cmocka fail_msg) instead of returning an error. */
#ifndef AURL_TEST_TESTUTIL_H
#define AURL_TEST_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "engine/model/model_config.h"

/* cmocka group setup: creates a fresh /tmp/aurl-<program>-XXXXXX. Returns 0,
 * or -1 if it cannot be created. */
int testutil_tmpdir_setup(void **state);

/* cmocka group teardown: removes the temp dir and everything below it
 * (links are removed, never followed) and frees the paths handed out.
 * Returns 0, or -1 if anything could not be removed. */
int testutil_tmpdir_teardown(void **state);

/* The temp dir made by testutil_tmpdir_setup. */
const char *testutil_tmpdir(void);

/* The path of NAME inside the temp dir (NAME itself if it is absolute).
 * The string is owned by testutil and stays valid and unchanged until
 * teardown; asking twice for one NAME gives the same pointer. */
const char *testutil_path(const char *name);

/* Writes LEN bytes of DATA to testutil_path(NAME), creating missing parent
 * directories and replacing any existing file. Returns that path. */
const char *testutil_write_bytes(const char *name, const void *data, size_t len);

/* testutil_write_bytes of the NUL-terminated TEXT. */
const char *testutil_write_file(const char *name, const char *text);

/* The whole file at PATH in a malloc'd buffer with a NUL byte after its
 * *len bytes (len may be NULL). The caller frees it. */
unsigned char *testutil_read_file(const char *path, size_t *len);

/* Number of entries of the temp dir (not below it) whose name contains SUB
 * ("" counts all); removes those entries if DEL (files only). */
int testutil_count_files(const char *sub, int del);

/* Starts the build's own binary, $BUILD/aurl (build/aurl when BUILD is
 * unset), by fork + exec with the arguments PRE then ARGS (each
 * NULL-terminated; either may be NULL), OMP_NUM_THREADS=1, stdout into
 * testutil_path(OUT_NAME) and stderr into testutil_path(ERR_NAME) (NULL:
 * /dev/null), without waiting for it. The child inherits resource limits
 * and ignored signals. Returns its pid; fails the test if fork fails. */
pid_t testutil_spawn_aurl(const char *const *pre, const char *const *args, const char *out_name,
                          const char *err_name);

/* Waits for the child PID and returns its exit code; fails the test if it
 * does not exit normally. */
int testutil_wait_exit(pid_t pid);

/* testutil_wait_exit(testutil_spawn_aurl(PRE, ARGS, OUT_NAME, ERR_NAME)). */
int testutil_run_aurl(const char *const *pre, const char *const *args, const char *out_name,
                      const char *err_name);

/* Every tensor of the checkpoint at PATH, in file order, concatenated into
 * one malloc'd array of *N floats (the caller frees it); fails the test if
 * the checkpoint cannot be read. */
float *testutil_ckpt_read_all(const char *path, size_t *n);

/* Removes PATH and, for a directory, everything below it, without following
 * links. Returns 0, or -1 if anything remains (a missing PATH is 0). */
int testutil_rm_rf(const char *path);

/* The tiny transformer config of the eval and scoring tests: the defaults
 * with d_model 32, 1 layer, 2 heads, d_ff 64, max_seq_len 64, no dropout. */
void testutil_tiny_model_config(model_config *cfg);

/* Run a shell command made printf-style; returns system()'s status. */
int testutil_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The text of tmux pane SESS on server socket SOCK (a static buffer). */
char *testutil_tmux_capture(const char *sock, const char *sess);
/* Poll pane SESS until it contains TEXT (at most 20 s: generous for a
 * loaded 2-core machine); 1 if it did, else 0 after printing the pane. */
int testutil_tmux_wait(const char *sock, const char *sess, const char *text);
/* For a tmux test program PROG: 0 (after printing that it is skipped) when
 * tmux is not installed; else 1 with the absolute path of $BUILD/aurl
 * (default build/aurl) in EXE. */
int testutil_tmux_start(const char *prog, char *exe, size_t len);
#endif
