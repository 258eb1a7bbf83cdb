/* Tests of engine/run_lock: one holder per outputs dir across processes,
 * the refusal names the holder's pid, run_lock_owner reports the live
 * holder and 0 after release or after the holder is killed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/train/run_lock.h"
#include "testutil.h"

static void read_lock_file(const char *out_dir, char *buf, size_t cap)
{
    char p[400];
    snprintf(p, sizeof p, "%s/trainer.lock", out_dir);
    char *text = (char *)testutil_read_file(p, NULL);
    snprintf(buf, cap, "%s", text);
    free(text);
}

/* In a child process: try to acquire; exit 0 if refused naming WANT_PID. */
static int child_try_acquire(const char *out_dir, int want_pid)
{
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        run_lock lk;
        char err[AURL_ERR_LEN], want[64];
        if (run_lock_acquire(&lk, out_dir, err) == 0) _exit(1);
        snprintf(want, sizeof want, "(pid %d) is running", want_pid);
        _exit(strstr(err, want) && strstr(err, "trainer.lock") ? 0 : 2);
    }
    int status;
    assert_int_equal(waitpid(c, &status, 0), c);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_exclusive_across_processes(void **state)
{
    (void)state;
    const char *out_dir = testutil_path("outputs/run1"); /* created on demand */
    char err[AURL_ERR_LEN], text[64];
    assert_int_equal(run_lock_owner(out_dir), 0);                 /* no file yet */
    run_lock lk;
    if (run_lock_acquire(&lk, out_dir, err) != 0) fail_msg("%s", err);
    read_lock_file(out_dir, text, sizeof text);
    assert_int_equal(atoi(text), getpid());
    assert_int_equal(run_lock_owner(out_dir), getpid());
    /* another process is refused, with our pid in the message */
    assert_int_equal(child_try_acquire(out_dir, getpid()), 0);
    /* so is a second acquire in this process */
    run_lock again;
    assert_int_equal(run_lock_acquire(&again, out_dir, err), -1);
    assert_non_null(strstr(err, "another trainer"));
    /* asking for the owner does not disturb the holder */
    assert_int_equal(run_lock_owner(out_dir), getpid());
    run_lock_release(&lk);
    assert_int_equal(lk.fd, -1);
    assert_int_equal(run_lock_owner(out_dir), 0);
    read_lock_file(out_dir, text, sizeof text); /* file kept, pid removed */
    assert_string_equal(text, "");
    run_lock_release(&lk); /* twice is harmless */
    /* free again: a child can take it */
    assert_int_equal(child_try_acquire(out_dir, getpid()), 1);
}

static void test_owner_dies(void **state)
{
    (void)state;
    const char *out_dir = testutil_path("outputs2");
    char err[AURL_ERR_LEN], text[64];
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        run_lock lk;
        char ok = run_lock_acquire(&lk, out_dir, err) == 0 ? 'y' : 'n';
        if (write(pipefd[1], &ok, 1) != 1) _exit(3);
        for (;;) pause();
    }
    close(pipefd[1]);
    char ok = 0;
    assert_int_equal(read(pipefd[0], &ok, 1), 1);
    close(pipefd[0]);
    assert_int_equal(ok, 'y');
    assert_int_equal(run_lock_owner(out_dir), c);
    run_lock lk;
    assert_int_equal(run_lock_acquire(&lk, out_dir, err), -1);
    char want[64];
    snprintf(want, sizeof want, "another trainer (pid %d) is running", (int)c);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "outputs2/trainer.lock"));

    /* the holder is killed: its stale pid stays in the file but counts as none */
    assert_int_equal(kill(c, SIGKILL), 0);
    assert_int_equal(waitpid(c, NULL, 0), c);
    read_lock_file(out_dir, text, sizeof text);
    assert_int_equal(atoi(text), c);
    assert_int_equal(run_lock_owner(out_dir), 0);
    if (run_lock_acquire(&lk, out_dir, err) != 0) fail_msg("%s", err);
    read_lock_file(out_dir, text, sizeof text);
    assert_int_equal(atoi(text), getpid()); /* stale pid replaced */
    run_lock_release(&lk);
}

static void test_bad_outputs_dir(void **state)
{
    (void)state;
    const char *file = testutil_write_file("notadir", "");
    char err[AURL_ERR_LEN];
    run_lock lk;
    assert_int_equal(run_lock_acquire(&lk, file, err), -1);
    assert_non_null(strstr(err, "notadir"));
    assert_int_equal(lk.fd, -1);
    assert_int_equal(run_lock_owner(file), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exclusive_across_processes),
        cmocka_unit_test(test_owner_dies),
        cmocka_unit_test(test_bad_outputs_dir),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
