/* Stage-3 (VAE-GAN) training through the real `aurl train` binary on the
 * sample data (data/midi, fetched by `make test`), with tiny configs: a
 * stage-2 transformer, then stage 3 starting from its decoder; the metrics
 * carry every VAE-GAN term (JSONL and TensorBoard); a run interrupted by
 * SIGINT and resumed ends with bit-identical weights and optimiser state;
 * bad vae/gan keys are configuration errors naming file:line:col; without
 * a stage-2 checkpoint stage 3 warns and starts fresh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/model/checkpoint.h"
#include "engine/train/train_state.h"
#include "util/fileio.h"
#include "util/log.h"
#include "testutil.h"

static const char *STAGE2 =
    "stage: 2\n"
    "name: s2\n"
    "mode: transformer\n"
    "model: {d_model: 32, n_layers: 1, n_heads: 2, d_ff: 64, max_seq_len: 64, dropout: 0.1}\n"
    "data: {seq_len: 64, stride: 64, augment: false}\n"
    "training: {batch_size: 8, max_steps: 20, lr: 2.0e-3, min_lr: 2.0e-4, warmup_steps: 5, eval_every: 20,\n"
    "           eval_batches: 4, checkpoint_every: 20, keep_checkpoints: 0, log_every: 10, seed: 7}\n";

static const char *STAGE3 =
    "stage: 3\n"
    "name: s3\n"
    "mode: vae_gan\n"
    "model: {d_model: 32, n_layers: 1, n_heads: 2, d_ff: 64, max_seq_len: 64, dropout: 0.1}\n"
    "data: {seq_len: 64, stride: 64, augment: true}\n"
    "augmentation: {transpose: {p: 0.5, max: 8}}\n"
    "training: {batch_size: 8, max_steps: %d, lr: 1.0e-3, min_lr: 1.0e-4, warmup_steps: 5, eval_every: 20,\n"
    "           eval_batches: 4, checkpoint_every: 10, keep_checkpoints: 1, log_every: 5, seed: 11}\n"
    "vae:\n"
    "  encoder_layers: 1\n"
    "  latent_global: 8\n"
    "  latent_segment: 4\n"
    "  latent_fine: 2\n"
    "  segments: 4\n"
    "  fine_segments: 8\n"
    "  beta: {schedule: cyclical, max: 0.5, warmup_steps: 10, cycle_steps: 20}\n"
    "gan:\n"
    "  start_step: 5\n"
    "  loss: nonsaturating\n"
    "  n_critic: 2\n"
    "  tau_anneal_steps: 20\n"
    "  embed: 8\n"
    "  hidden: 16\n"
    "  scales: [1, 4]\n"
    "%s";

static const char *write_stage3(const char *name, int steps, const char *extra)
{
    char text[2048];
    assert_true(snprintf(text, sizeof text, STAGE3, steps, extra) < (int)sizeof text);
    return testutil_write_file(name, text);
}

static int setup(void **state)
{
    log_set_quiet(1);
    return testutil_tmpdir_setup(state);
}

/* Start `aurl -q --outputs OUTPUTS train --config CONFIG` ($BUILD/aurl,
 * OMP_NUM_THREADS=1: tiny models, threads only add barrier waits on a busy
 * machine), stderr to STDERR_PATH (NULL: discarded). */
static pid_t spawn_trainer(const char *outputs, const char *config, const char *stderr_path)
{
    const char *args[] = {"-q", "--outputs", outputs, "train", "--config", config, NULL};
    return testutil_spawn_aurl(NULL, args, NULL, stderr_path);
}

static int run_trainer(const char *outputs, const char *config)
{
    return testutil_wait_exit(spawn_trainer(outputs, config, NULL));
}

/* A stage-2 run in OUTPUTS (its best checkpoint seeds stage 3). */
static void run_stage2(const char *outputs)
{
    assert_int_equal(run_trainer(outputs, testutil_write_file("s2.yaml", STAGE2)), 0);
}

static void test_stage3_trains_and_logs_every_term(void **state)
{
    (void)state;
    const char *out = testutil_path("out-s3");
    run_stage2(out);
    assert_int_equal(run_trainer(out, write_stage3("s3.yaml", 30, "")), 0);
    char path[512], err[AURL_ERR_LEN];
    snprintf(path, sizeof path, "%s/training_state.json", out);
    train_state st;
    assert_int_equal(train_state_read(path, &st, err), 1);
    assert_int_equal(st.stages[2].status, 2);
    assert_int_equal(st.stages[2].step, 30);
    assert_non_null(strstr(st.stages[2].best_checkpoint, "stage3_best.ckpt"));
    /* the train log says the decoder came from stage 2 */
    snprintf(path, sizeof path, "%s/logs/train.log", out);
    char *log = (char *)testutil_read_file(path, NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "starting from the previous stage's best weights"));
    assert_non_null(strstr(log, "discriminator"));
    free(log);
    /* metrics: the last stage-3 train record has every term, finite */
    snprintf(path, sizeof path, "%s/logs/metrics.jsonl", out);
    char *m = (char *)testutil_read_file(path, NULL);
    assert_non_null(m);
    const char *train = NULL, *val = NULL;
    for (const char *p = m; (p = strstr(p, "\"kind\":\"train\",\"stage\":3")); p++) train = p;
    for (const char *p = m; (p = strstr(p, "\"kind\":\"val\",\"stage\":3")); p++) val = p;
    assert_non_null(train);
    assert_non_null(val);
    char line[4096];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(train, "\n"), train);
    const char *terms[] = {"loss", "recon", "kl_global", "kl_segment", "kl_fine", "active_global", "active_segment",
                           "active_fine", "beta", "d_loss", "g_adv", "fm", "d_acc_real", "d_acc_fake", "adv_weight",
                           "lr", "grad_norm", "d_lr", "tau", "tokens_per_s"};
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++) {
        char key[64];
        snprintf(key, sizeof key, "\"%s\":", terms[i]);
        const char *at = strstr(line, key);
        if (!at) fprintf(stderr, "train record lacks %s: %s\n", terms[i], line);
        assert_non_null(at);
        assert_true(strncmp(at + strlen(key), "null", 4) != 0);
    }
    snprintf(line, sizeof line, "%.*s", (int)strcspn(val, "\n"), val);
    assert_non_null(strstr(line, "\"recon\":"));
    assert_non_null(strstr(line, "\"kl\":"));
    assert_non_null(strstr(line, "\"loss\":"));
    free(m);
    snprintf(path, sizeof path, "%s/logs/tensorboard/stage3", out);
    assert_true(file_is_dir(path));
    /* the checkpoint is a vae_gan one */
    snprintf(path, sizeof path, "%s/checkpoints/stage3_last.ckpt", out);
    ckpt_file *f;
    assert_int_equal(ckpt_open(path, &f, err), 0);
    assert_non_null(strstr(ckpt_header_json(f), "\"mode\":\"vae_gan\""));
    ckpt_close(f);
}

/* Every tensor (weights, moments, D's spectral-norm state) of a stage-3 `last` checkpoint. */
static float *final_tensors(const char *outputs, size_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/checkpoints/stage3_last.ckpt", outputs);
    return testutil_ckpt_read_all(path, n);
}

static void test_interrupted_stage3_resumes_exactly(void **state)
{
    (void)state;
    const int steps = 60;
    const char *config = write_stage3("s3-resume.yaml", steps, "");
    const char *straight = testutil_path("out-s3-straight"), *resumed = testutil_path("out-s3-resumed");
    run_stage2(straight);
    run_stage2(resumed);
    assert_int_equal(run_trainer(straight, config), 0);

    pid_t pid = spawn_trainer(resumed, config, NULL);
    char statep[512], err[AURL_ERR_LEN];
    snprintf(statep, sizeof statep, "%s/training_state.json", resumed);
    train_state st;
    for (int i = 0; i < 4000; i++) { /* wait for its first checkpoint */
        if (train_state_read(statep, &st, err) == 1 && st.stages[2].step >= 10) break;
        usleep(2000);
    }
    kill(pid, SIGINT);
    assert_int_equal(testutil_wait_exit(pid), 0);
    assert_int_equal(train_state_read(statep, &st, err), 1);
    print_message("stage 3 interrupted at step %lld of %d\n", (long long)st.stages[2].step, steps);
    assert_true(st.stages[2].step < steps);
    assert_int_equal(st.stages[2].status, 1);
    assert_int_equal(run_trainer(resumed, config), 0);

    size_t na, nb;
    float *a = final_tensors(straight, &na), *b = final_tensors(resumed, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    free(a);
    free(b);
}

/* Exit code 2 and a FILE:LINE:COL message naming the key. */
static void expect_config_error(const char *extra, const char *what)
{
    const char *out = testutil_path("out-bad");
    const char *config = write_stage3("s3-bad.yaml", 10, extra);
    const char *errp = testutil_path("bad.stderr");
    assert_int_equal(testutil_wait_exit(spawn_trainer(out, config, errp)), 2);
    char *text = (char *)testutil_read_file(errp, NULL);
    assert_non_null(text);
    char loc[256];
    snprintf(loc, sizeof loc, "s3-bad.yaml:");
    const char *at = strstr(text, loc);
    if (!at || !strstr(text, what)) fprintf(stderr, "unexpected message: %s\n", text);
    assert_non_null(at);
    int line = 0, col = 0;
    assert_int_equal(sscanf(at + strlen(loc), "%d:%d:", &line, &col), 2);
    assert_true(line > 20 && col >= 1);
    assert_non_null(strstr(text, what));
    free(text);
}

static void test_bad_vae_gan_keys(void **state)
{
    (void)state;
    expect_config_error("  bogus_key: 1\n", "bogus_key");   /* unknown key under gan */
    expect_config_error("  d_beta1: 1.5\n", "d_beta1");     /* out of range */
    expect_config_error("  tau: warm\n", "tau");            /* wrong type */
    expect_config_error("  kernel: 4\n", "kernel");         /* must be odd */
    expect_config_error("vea: {latent_fine: 2}\n", "vea");  /* unknown top-level section */
}

static void test_stage3_without_stage2_warns_and_starts_fresh(void **state)
{
    (void)state;
    const char *out = testutil_path("out-s3-fresh");
    assert_int_equal(run_trainer(out, write_stage3("s3-fresh.yaml", 5, "")), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/logs/train.log", out);
    char *log = (char *)testutil_read_file(path, NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "no best checkpoint yet; starting from fresh weights"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stage3_trains_and_logs_every_term),
        cmocka_unit_test(test_interrupted_stage3_resumes_exactly),
        cmocka_unit_test(test_bad_vae_gan_keys),
        cmocka_unit_test(test_stage3_without_stage2_warns_and_starts_fresh),
    };
    return cmocka_run_group_tests(tests, setup, testutil_tmpdir_teardown);
}
