/* Headless training smoke test on the real sample data (data/midi, fetched
 * by `make test`): a tiny transformer trained for a couple of hundred steps
 * must bring the validation loss well below the unigram entropy of the
 * data; a run interrupted by SIGINT and resumed must end with exactly the
 * same weights as an uninterrupted run; and `aurl train` must refuse a
 * second trainer on the same outputs directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/cache.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "engine/model/checkpoint.h"
#include "engine/train/train_state.h"
#include "util/log.h"
#include "testutil.h"

static const char *CONFIG =
    "stage: 1\n"
    "name: smoke\n"
    "mode: transformer\n"
    "model: {d_model: 64, n_layers: 2, n_heads: 2, d_ff: 256, max_seq_len: 64, dropout: 0.0}\n"
    "data: {seq_len: 64, stride: 64, augment: false}\n"
    "training:\n"
    "  batch_size: 16\n"
    "  max_steps: %d\n"
    "  lr: 2.0e-3\n"
    "  min_lr: 2.0e-4\n"
    "  warmup_steps: 20\n"
    "  eval_every: 200\n"
    "  eval_batches: 10\n"
    "  checkpoint_every: %d\n"
    "  keep_checkpoints: 1\n"
    "  log_every: 10\n"
    "  seed: 7\n"
    "%s";

/* Writes CONFIG for STEPS steps, a `last` checkpoint every CKPT_EVERY steps
 * and EXTRA training keys to NAME in the temp dir; returns its path. */
static const char *write_config_with(const char *name, int steps, int ckpt_every, const char *extra)
{
    char text[1024];
    assert_true(snprintf(text, sizeof text, CONFIG, steps, ckpt_every, extra) < (int)sizeof text);
    return testutil_write_file(name, text);
}

static const char *write_config(const char *name, int steps) { return write_config_with(name, steps, 50, ""); }

static int setup(void **state)
{
    log_set_quiet(1);
    return testutil_tmpdir_setup(state);
}

/* Start `aurl -q --outputs OUTPUTS train --config CONFIG` (the binary of
 * this build: $BUILD/aurl). Trainers run as separate processes, as users run
 * them: OpenMP's thread pool does not survive fork() without exec. */
static pid_t spawn_trainer(const char *outputs, const char *config)
{
    const char *args[] = {"-q", "--outputs", outputs, "train", "--config", config, NULL};
    return testutil_spawn_aurl(NULL, args, NULL, NULL);
}

/* Like spawn_trainer (without -q), but the trainer may write no file larger
 * than FSIZE_LIMIT bytes (RLIMIT_FSIZE; SIGXFSZ ignored, so writes fail with
 * EFBIG as on a full disk) and its stderr goes to STDERR_PATH. The soft
 * limit and the ignored signal are set here around the spawn (a child
 * inherits both) and restored afterwards. */
static pid_t spawn_trainer_limited(const char *outputs, const char *config, rlim_t fsize_limit,
                                   const char *stderr_path)
{
    struct rlimit old, rl;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    rl = old;
    rl.rlim_cur = fsize_limit;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
    const char *args[] = {"--outputs", outputs, "train", "--config", config, NULL};
    pid_t pid = testutil_spawn_aurl(NULL, args, NULL, stderr_path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    return pid;
}

static int run_trainer(const char *outputs, const char *config)
{
    return testutil_wait_exit(spawn_trainer(outputs, config));
}

static double unigram_entropy(void)
{
    char err[AURL_ERR_LEN];
    cache *c;
    assert_int_equal(cache_ensure("data", 0, NULL, NULL, &c, err), 0);
    static double p[TOK_VOCAB_SIZE];
    dataset_token_unigram(c, CACHE_TRAIN, p);
    double h = 0;
    for (int i = 0; i < TOK_VOCAB_SIZE; i++)
        if (p[i] > 0) h -= p[i] * log(p[i]);
    cache_close(c);
    return h;
}

static void test_loss_falls_below_unigram_entropy(void **state)
{
    (void)state;
    const char *config = write_config("smoke.yaml", 800), *outputs = testutil_path("out-learn");
    char statep[160], err[AURL_ERR_LEN];
    assert_int_equal(run_trainer(outputs, config), 0);
    snprintf(statep, sizeof statep, "%s/training_state.json", outputs);
    train_state st;
    assert_int_equal(train_state_read(statep, &st, err), 1);
    double h = unigram_entropy();
    double best = st.stages[0].best_val_loss;
    print_message("smoke: best val loss %.3f nats after %lld steps; unigram entropy %.3f nats\n", best,
                  (long long)st.stages[0].step, h);
    assert_int_equal(st.stages[0].step, 800);
    assert_int_equal(st.stages[0].status, 2);
    assert_true(isfinite(best));
    assert_true(best < h - 1.0); /* well below: at least 1 nat/token better than unigram */
}

/* Final `last` weights and moments of an outputs dir's stage 1. */
static float *final_weights(const char *outputs, size_t *n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/checkpoints/stage1_last.ckpt", outputs);
    return testutil_ckpt_read_all(path, n);
}

/* The final weights and moments of outputs dirs A and B are bit-identical;
 * WHAT labels the printed count of those that differ. */
static void assert_same_final_weights(const char *a_outputs, const char *b_outputs, const char *what)
{
    size_t na, nb;
    float *a = final_weights(a_outputs, &na), *b = final_weights(b_outputs, &nb);
    assert_int_equal(na, nb);
    size_t differ = 0;
    for (size_t i = 0; i < na; i++) differ += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    print_message("%s: %zu of %zu weights and moments differ\n", what, differ, na);
    assert_int_equal(differ, 0);
    free(a);
    free(b);
}

static void test_interrupted_run_resumes_exactly(void **state)
{
    (void)state;
    const char *config = write_config("resume.yaml", 120);
    const char *straight = testutil_path("out-straight"), *resumed = testutil_path("out-resumed");
    assert_int_equal(run_trainer(straight, config), 0);

    /* Interrupt a second run part-way with SIGINT, then continue it. */
    pid_t pid = spawn_trainer(resumed, config);
    char statep[192], err[AURL_ERR_LEN];
    snprintf(statep, sizeof statep, "%s/training_state.json", resumed);
    train_state st;
    for (int i = 0; i < 2000; i++) { /* wait until it has made some progress */
        if (train_state_read(statep, &st, err) == 1 && st.stages[0].step > 0) break;
        usleep(5000);
    }
    kill(pid, SIGINT);
    assert_int_equal(testutil_wait_exit(pid), 0);
    assert_int_equal(train_state_read(statep, &st, err), 1);
    long long stopped_at = st.stages[0].step;
    print_message("resume: interrupted at step %lld of 120\n", stopped_at);
    assert_true(stopped_at < 120);
    assert_int_equal(run_trainer(resumed, config), 0);
    assert_int_equal(train_state_read(statep, &st, err), 1);
    assert_int_equal(st.stages[0].step, 120);

    assert_same_final_weights(straight, resumed, "resume");
}

/* Temp files of interrupted atomic writes in OUTPUTS and its checkpoints. */
static int count_temp_files(const char *outputs)
{
    int n = 0;
    for (int sub = 0; sub < 2; sub++) {
        char dir[256];
        snprintf(dir, sizeof dir, "%s%s", outputs, sub ? "/checkpoints" : "");
        DIR *d = opendir(dir);
        if (!d) continue;
        for (struct dirent *e; (e = readdir(d)) != NULL;) n += strstr(e->d_name, ".tmp.") != NULL;
        closedir(d);
    }
    return n;
}

/* kill -9 at several moments of a run that checkpoints every step (so some
 * kills land inside a checkpoint write); each restart resumes from the last
 * good checkpoint and the finished run equals the uninterrupted one bit for
 * bit. Runs after test_interrupted_run_resumes_exactly (uses out-straight). */
static void test_kill9_resumes_exactly(void **state)
{
    (void)state;
    const char *config = write_config_with("kill9.yaml", 120, 1, "");
    const char *outputs = testutil_path("out-kill9");
    char statep[192], err[AURL_ERR_LEN];
    snprintf(statep, sizeof statep, "%s/training_state.json", outputs);
    train_state st;
    long long last_step = 0;
    int kills = 0, torn_writes = 0;
    for (int round = 0; round < 4; round++) {
        pid_t pid = spawn_trainer(outputs, config);
        /* wait for progress beyond the previous kill, then a little more */
        for (int i = 0; i < 4000; i++) {
            if (train_state_read(statep, &st, err) == 1 && st.stages[0].step > last_step + 5) break;
            usleep(2000);
        }
        if (round % 2 == 0) {
            /* even rounds: kill the moment a checkpoint or state write is under way */
            double t0 = (double)clock() / CLOCKS_PER_SEC;
            while (count_temp_files(outputs) == 0 && (double)clock() / CLOCKS_PER_SEC - t0 < 5) {
            }
        } else {
            usleep(7000 * (round + 1));
        }
        if (kill(pid, SIGKILL) == 0) kills++;
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (train_state_read(statep, &st, err) == 1) last_step = st.stages[0].step;
        torn_writes += count_temp_files(outputs);
        if (last_step >= 110) break;
    }
    print_message("kill -9: %d kills (%d inside a checkpoint or state write), last at step %lld of 120\n", kills,
                  torn_writes, last_step);
    assert_true(kills >= 2);
    assert_true(torn_writes >= 1); /* at least one kill landed inside a write */
    assert_int_equal(run_trainer(outputs, config), 0);
    assert_int_equal(count_temp_files(outputs), 0); /* the restarted trainer cleaned them up */
    assert_int_equal(train_state_read(statep, &st, err), 1);
    assert_int_equal(st.stages[0].step, 120);
    assert_same_final_weights(testutil_path("out-straight"), outputs, "kill -9");
}

/* A damaged training_state.json is moved aside by the trainer, which then
 * rebuilds the stage's record from its checkpoints instead of training
 * over them: the finished run of out-straight stays finished, same weights,
 * same best. Runs after test_interrupted_run_resumes_exactly. */
static void test_damaged_state_recovered_from_checkpoints(void **state)
{
    (void)state;
    const char *outputs = testutil_path("out-straight");
    char statep[192], err[AURL_ERR_LEN];
    snprintf(statep, sizeof statep, "%s/training_state.json", outputs);
    train_state before, after;
    assert_int_equal(train_state_read(statep, &before, err), 1);
    size_t na, nb;
    float *a = final_weights(outputs, &na);
    testutil_write_file(statep, "{\"current_stage\": 1, \"stages\": [{\"step\": ");
    assert_int_equal(run_trainer(outputs, write_config("resume.yaml", 120)), 0);
    assert_int_equal(train_state_read(statep, &after, err), 1);
    assert_int_equal(after.stages[0].status, 2);
    assert_int_equal(after.stages[0].step, 120);
    assert_true(after.stages[0].best_val_loss == before.stages[0].best_val_loss);
    assert_int_equal(after.stages[0].best_step, before.stages[0].best_step);
    float *b = final_weights(outputs, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    free(a);
    free(b);
}

/* patience: with min_delta so large that only the first validation counts
 * as an improvement, the stage stops after `patience` more validations,
 * records it in the state and logs an early-stop event. */
static void test_early_stopping(void **state)
{
    (void)state;
    const char *config = write_config_with("early.yaml", 400, 50, "  patience: 2\n  min_delta: 50\n");
    /* eval_every 200 in CONFIG is too sparse: override it with a profile-free edit */
    char *text = (char *)testutil_read_file(config, NULL);
    char *at = strstr(text, "eval_every: 200");
    assert_non_null(at);
    memcpy(at, "eval_every: 020", 15);
    testutil_write_file("early.yaml", text);
    free(text);
    const char *outputs = testutil_path("out-early");
    assert_int_equal(run_trainer(outputs, config), 0);
    char path[192], err[AURL_ERR_LEN];
    snprintf(path, sizeof path, "%s/training_state.json", outputs);
    train_state st;
    assert_int_equal(train_state_read(path, &st, err), 1);
    print_message("early stop: stage ended at step %lld of 400\n", (long long)st.stages[0].step);
    assert_int_equal(st.stages[0].step, 60); /* evals at 20 (best), 40, 60 (patience 2 exhausted) */
    assert_int_equal(st.stages[0].status, 2);
    assert_int_equal(st.stages[0].stopped_early, 1);
    assert_int_equal(st.stages[0].best_step, 20);
    snprintf(path, sizeof path, "%s/logs/metrics.jsonl", outputs);
    char *log = (char *)testutil_read_file(path, NULL);
    assert_non_null(strstr(log, "early stop at step 60"));
    free(log);
}

/* A disk that fills up mid-run (every write past 1 MB fails, like ENOSPC):
 * the trainer stops with a clear error naming the file, exits 1, and the
 * previous checkpoint is intact and still resumes. */
static void test_disk_full_keeps_previous_checkpoint(void **state)
{
    (void)state;
    const char *outputs = testutil_path("out-full");
    const char *config = write_config("full.yaml", 600);
    char ckpt[256], statep[256], err[AURL_ERR_LEN];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoints/stage1_last.ckpt", outputs);
    snprintf(statep, sizeof statep, "%s/training_state.json", outputs);
    /* a run stopped part-way (after its step-50 checkpoint) */
    pid_t pid = spawn_trainer(outputs, config);
    train_state st;
    for (int i = 0; i < 4000; i++) {
        if (train_state_read(statep, &st, err) == 1 && st.stages[0].step >= 50) break;
        usleep(2000);
    }
    kill(pid, SIGINT);
    assert_int_equal(testutil_wait_exit(pid), 0);
    assert_int_equal(train_state_read(statep, &st, err), 1);
    long long stopped_at = st.stages[0].step;
    assert_true(stopped_at < 550);
    size_t before_len;
    unsigned char *before = testutil_read_file(ckpt, &before_len);
    assert_true(before_len > (1 << 20)); /* the limit below is smaller than a checkpoint */

    /* resumed on a full disk: its next checkpoint cannot be written */
    const char *errlog = testutil_path("full-stderr.txt");
    assert_int_equal(testutil_wait_exit(spawn_trainer_limited(outputs, config, 1 << 20, errlog)), 1);
    char *msg = (char *)testutil_read_file(errlog, NULL);
    print_message("disk full: %s", strstr(msg, "error") ? strstr(msg, "error") : msg);
    assert_non_null(strstr(msg, "stage1_last.ckpt"));
    assert_non_null(strstr(msg, "File too large"));
    free(msg);

    size_t after_len;
    unsigned char *after = testutil_read_file(ckpt, &after_len);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    free(before);
    free(after);
    assert_int_equal(count_temp_files(outputs), 0);
    ckpt_file *f;
    assert_int_equal(ckpt_open(ckpt, &f, err), 0);
    ckpt_close(f);
    /* with space again the run resumes, here also extended with --max-steps
     * (a stage's length is not part of its configuration hash) */
    const char *args[] = {"--outputs", outputs, "train", "--config", config, "--max-steps", "650", NULL};
    assert_int_equal(testutil_run_aurl(NULL, args, NULL, "extend-stderr.txt"), 0);
    char *log = (char *)testutil_read_file(testutil_path("extend-stderr.txt"), NULL);
    assert_non_null(strstr(log, "resuming at step"));
    assert_null(strstr(log, "configuration changed"));
    free(log);
    assert_int_equal(train_state_read(statep, &st, err), 1);
    assert_int_equal(st.stages[0].step, 650);
}

static void test_second_trainer_refused(void **state)
{
    (void)state;
    const char *config = write_config("lock.yaml", 100000), *outputs = testutil_path("out-lock");
    pid_t pid = spawn_trainer(outputs, config);
    char statep[192], err[AURL_ERR_LEN];
    snprintf(statep, sizeof statep, "%s/training_state.json", outputs);
    train_state st;
    for (int i = 0; i < 2000; i++) {
        if (train_state_read(statep, &st, err) == 1 && st.stages[0].status == 1) break;
        usleep(5000);
    }
    assert_int_equal(run_trainer(outputs, config), 1); /* lock held by the first trainer */
    kill(pid, SIGTERM);
    assert_int_equal(testutil_wait_exit(pid), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_falls_below_unigram_entropy),
        cmocka_unit_test(test_interrupted_run_resumes_exactly),
        cmocka_unit_test(test_kill9_resumes_exactly),
        cmocka_unit_test(test_damaged_state_recovered_from_checkpoints),
        cmocka_unit_test(test_early_stopping),
        cmocka_unit_test(test_disk_full_keeps_previous_checkpoint),
        cmocka_unit_test(test_second_trainer_refused),
    };
    return cmocka_run_group_tests(tests, setup, testutil_tmpdir_teardown);
}
