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

static char g_tmp[64];

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

static void write_config(const char *path, int steps)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, CONFIG, steps);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "/tmp/aurl-smoke-XXXXXX");
    if (!mkdtemp(g_tmp)) return -1;
    log_set_quiet(1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    return system(cmd) == 0 ? 0 : -1;
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
    char config[128], outputs[128], statep[160], err[AURL_ERR_LEN];
    snprintf(config, sizeof config, "%s/smoke.yaml", g_tmp);
    snprintf(outputs, sizeof outputs, "%s/out-learn", g_tmp);
    write_config(config, 800);
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
    char config[128], straight[128], resumed[128];
    snprintf(config, sizeof config, "%s/resume.yaml", g_tmp);
    snprintf(straight, sizeof straight, "%s/out-straight", g_tmp);
    snprintf(resumed, sizeof resumed, "%s/out-resumed", g_tmp);
    write_config(config, 120);
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
    char config[128], outputs[128];
    snprintf(config, sizeof config, "%s/lock.yaml", g_tmp);
    snprintf(outputs, sizeof outputs, "%s/out-lock", g_tmp);
    write_config(config, 100000);
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
    return cmocka_run_group_tests(tests, setup, teardown);
}
