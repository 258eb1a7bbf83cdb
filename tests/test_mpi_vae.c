/* Data-parallel training of the vae and vae_gan modes over MPI (2 ranks
 * on this machine, shared memory, through the real `aurl train`): 2 ranks
 * x 1 micro-batch == 1 rank x 2 accumulated micro-batches bit for bit
 * (weights, moments of the VAE and the discriminator) after 20 steps,
 * with dropout and augmentation on; 2 ranks vs 1 rank on the full batch:
 * the loss curve within 1e-4 relative and the first step's gradient norm
 * within 1e-5 (dropout off: its masks are drawn per micro-batch). The
 * A vae_gan job of 2 ranks stopped by SIGTERM resumes on 1 rank with 2
 * accumulated micro-batches exactly as an uninterrupted run (the
 * replicas' state: both optimisers, D's spectral-norm vectors). The
 * GAN starts at step 3 with n_critic 2, so D-only and G steps both run;
 * free bits sit near the latents' KL, so the global batch decides the
 * mask. The OpenMPI settings for root and one machine are set by
 * tests/mpi_run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "mpi_run.h"
#include "testutil.h"

#define STEPS 20

static const char *CONFIG =
    "stage: 3\n"
    "name: mpivae\n"
    "mode: %s\n"
    "model: {d_model: 32, n_layers: 1, n_heads: 2, d_ff: 64, max_seq_len: 32, dropout: %s}\n"
    "data: {seq_len: 32, stride: 32, augment: true}\n"
    "augmentation: {transpose: {p: 0.5, max: 8}}\n"
    "training: {batch_size: 4, accumulate: %d, max_steps: %d, lr: 1.0e-3, min_lr: 1.0e-4, warmup_steps: 5,\n"
    "           eval_every: 10, eval_batches: 2, checkpoint_every: 10, keep_checkpoints: 0, log_every: 1,\n"
    "           sample_every: 0, seed: 11, init_from_previous: false}\n"
    "vae: {encoder_layers: 1, latent_global: 8, latent_segment: 4, latent_fine: 2, segments: 4, fine_segments: 8,\n"
    "      free_bits: 0.002, beta: {schedule: linear, max: 0.5, warmup_steps: 5}}\n"
    "gan: {start_step: 3, n_critic: 2, adv_weight_max: 1000, embed: 8, hidden: 16, scales: [1, 4]}\n";

static const char *write_config_steps(const char *name, const char *mode, const char *dropout, int accumulate,
                                      int steps)
{
    char text[2048];
    assert_true(snprintf(text, sizeof text, CONFIG, mode, dropout, accumulate, steps) < (int)sizeof text);
    return testutil_write_file(name, text);
}

static const char *write_config(const char *name, const char *mode, const char *dropout, int accumulate)
{
    return write_config_steps(name, mode, dropout, accumulate, STEPS);
}

/* The vae_gan config with dropout, for mpi_run_sigterm_resume. */
static const char *write_vae_gan(const char *name, int accumulate, int steps)
{
    return write_config_steps(name, "vae_gan", "0.1", accumulate, steps);
}

/* 2 ranks x 1 micro-batch vs 1 rank x 2 accumulated: every float of the
 * last checkpoint equal. */
static void two_ranks_equal_one_rank_accumulating(const char *mode)
{
    char name[64], one[64], two[64];
    snprintf(one, sizeof one, "%s-acc-1rank", mode);
    snprintf(two, sizeof two, "%s-acc-2ranks", mode);
    const char *out1 = testutil_path(one), *out2 = testutil_path(two);
    snprintf(name, sizeof name, "%s-acc2.yaml", mode);
    assert_int_equal(mpi_run(0, out1, write_config(name, mode, "0.1", 2)), 0);
    snprintf(name, sizeof name, "%s-acc1.yaml", mode);
    assert_int_equal(mpi_run(2, out2, write_config(name, mode, "0.1", 1)), 0);
    double max_abs;
    size_t d = mpi_run_count_differing(out1, out2, 3, &max_abs);
    print_message("%s: 2 ranks x 1 vs 1 rank x 2 accumulated, %d steps: %zu floats differ (max |diff| %g)\n", mode,
                  STEPS, d, max_abs);
    assert_int_equal(d, 0);
}

/* 2 ranks vs 1 rank on the full batch (dropout off): loss curve and the
 * first step's gradient norm. */
static void two_ranks_match_full_batch(const char *mode)
{
    char name[64], one[64], two[64];
    snprintf(one, sizeof one, "%s-full-1rank", mode);
    snprintf(two, sizeof two, "%s-full-2ranks", mode);
    snprintf(name, sizeof name, "%s-full.yaml", mode);
    const char *out1 = testutil_path(one), *out2 = testutil_path(two);
    const char *config = write_config(name, mode, "0.0", 1);
    assert_int_equal(mpi_run(0, out1, config), 0);
    assert_int_equal(mpi_run(2, out2, config), 0);
    double l1[STEPS], g1[STEPS], l2[STEPS], g2[STEPS];
    assert_int_equal(mpi_run_read_train(out1, l1, g1, STEPS), STEPS);
    assert_int_equal(mpi_run_read_train(out2, l2, g2, STEPS), STEPS);
    double worst = 0;
    for (int i = 0; i < STEPS; i++) worst = fmax(worst, fabs(l1[i] - l2[i]) / fabs(l1[i]));
    double g_rel = fabs(g1[0] - g2[0]) / g1[0];
    double max_abs;
    size_t d = mpi_run_count_differing(out1, out2, 3, &max_abs);
    print_message("%s: 2 ranks vs 1 rank, full batch: first-step grad norm %.9g vs %.9g (rel %.2g), worst loss rel "
                  "diff over %d steps %.2g; weights after: %zu floats differ, max |diff| %.3g\n",
                  mode, g1[0], g2[0], g_rel, STEPS, worst, d, max_abs);
    assert_true(g_rel < 1e-5);
    assert_true(worst < 1e-4);
}

static void test_vae_gan_two_ranks_equal_one_rank_accumulating(void **state)
{
    (void)state;
    two_ranks_equal_one_rank_accumulating("vae_gan");
}

static void test_vae_two_ranks_equal_one_rank_accumulating(void **state)
{
    (void)state;
    two_ranks_equal_one_rank_accumulating("vae");
}

static void test_vae_gan_two_ranks_match_full_batch(void **state)
{
    (void)state;
    two_ranks_match_full_batch("vae_gan");
}

static void test_vae_two_ranks_match_full_batch(void **state)
{
    (void)state;
    two_ranks_match_full_batch("vae");
}

static void test_vae_gan_sigterm_two_ranks_resume_on_one(void **state)
{
    (void)state;
    mpi_run_sigterm_resume(write_vae_gan, 3, 400, "vae_gan-term");
}

static int setup(void **state)
{
    log_set_quiet(1);
    return testutil_tmpdir_setup(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vae_gan_two_ranks_equal_one_rank_accumulating),
        cmocka_unit_test(test_vae_two_ranks_equal_one_rank_accumulating),
        cmocka_unit_test(test_vae_gan_two_ranks_match_full_batch),
        cmocka_unit_test(test_vae_two_ranks_match_full_batch),
        cmocka_unit_test(test_vae_gan_sigterm_two_ranks_resume_on_one),
    };
    return cmocka_run_group_tests(tests, setup, testutil_tmpdir_teardown);
}
