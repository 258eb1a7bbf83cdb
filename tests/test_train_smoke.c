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
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/cache.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "engine/checkpoint.h"
#include "engine/train_state.h"
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
    "  checkpoint_every: 50\n"
    "  keep_checkpoints: 1\n"
    "  log_every: 10\n"
    "  seed: 7\n";

/* Writes CONFIG for STEPS steps to NAME in the temp dir; returns its path. */
static const char *write_config(const char *name, int steps)
{
    char text[1024];
    assert_true(snprintf(text, sizeof text, CONFIG, steps) < (int)sizeof text);
    return testutil_write_file(name, text);
}

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
    const char *build = getenv("BUILD");
    char exe[256];
    snprintf(exe, sizeof exe, "%s/aurl", build && *build ? build : "build");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(exe, exe, "-q", "--outputs", outputs, "train", "--config", config, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_exit_code(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int run_trainer(const char *outputs, const char *config)
{
    return wait_exit_code(spawn_trainer(outputs, config));
}

static double unigram_entropy(void)
{
    char err[AURL_ERR_LEN];
    cache *c;
    assert_int_equal(cache_ensure("data", 0, 1, &c, err), 0);
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
    assert_int_equal(train_state_load(statep, &st, err), 1);
    double h = unigram_entropy();
    double best = st.stages[0].best_val_loss;
    print_message("smoke: best val loss %.3f nats after %lld steps; unigram entropy %.3f nats\n", best,
                  (long long)st.stages[0].step, h);
    assert_int_equal(st.stages[0].step, 800);
    assert_int_equal(st.stages[0].status, 2);
    assert_true(isfinite(best));
    assert_true(best < h - 1.0); /* well below: at least 1 nat/token better than unigram */
}

/* Final `last` weights of an outputs dir's stage 1. */
static float *final_weights(const char *outputs, size_t *n)
{
    char path[256], err[AURL_ERR_LEN];
    snprintf(path, sizeof path, "%s/checkpoints/stage1_last.ckpt", outputs);
    ckpt_file *f;
    assert_int_equal(ckpt_open(path, &f, err), 0);
    size_t total = 0;
    for (int i = 0; i < ckpt_n_tensors(f); i++) total += ckpt_tensor_numel(f, i);
    float *all = malloc(total * sizeof *all);
    size_t off = 0;
    for (int i = 0; i < ckpt_n_tensors(f); i++) {
        size_t k = ckpt_tensor_numel(f, i);
        assert_int_equal(ckpt_read_tensor(f, ckpt_tensor_name(f, i), all + off, k, err), 0);
        off += k;
    }
    ckpt_close(f);
    *n = total;
    return all;
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
        if (train_state_load(statep, &st, err) == 1 && st.stages[0].step > 0) break;
        usleep(5000);
    }
    kill(pid, SIGINT);
    assert_int_equal(wait_exit_code(pid), 0);
    assert_int_equal(train_state_load(statep, &st, err), 1);
    long long stopped_at = st.stages[0].step;
    print_message("resume: interrupted at step %lld of 120\n", stopped_at);
    assert_true(stopped_at < 120);
    assert_int_equal(run_trainer(resumed, config), 0);
    assert_int_equal(train_state_load(statep, &st, err), 1);
    assert_int_equal(st.stages[0].step, 120);

    size_t na, nb;
    float *a = final_weights(straight, &na), *b = final_weights(resumed, &nb);
    assert_int_equal(na, nb);
    size_t differ = 0;
    for (size_t i = 0; i < na; i++) differ += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    print_message("resume: %zu of %zu weights and moments differ\n", differ, na);
    assert_int_equal(differ, 0);
    free(a);
    free(b);
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
        if (train_state_load(statep, &st, err) == 1 && st.stages[0].status == 1) break;
        usleep(5000);
    }
    assert_int_equal(run_trainer(outputs, config), 1); /* lock held by the first trainer */
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit_code(pid), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_falls_below_unigram_entropy),
        cmocka_unit_test(test_interrupted_run_resumes_exactly),
        cmocka_unit_test(test_second_trainer_refused),
    };
    return cmocka_run_group_tests(tests, setup, testutil_tmpdir_teardown);
}
