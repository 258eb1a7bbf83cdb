/* mode_step: training-step time of the three model modes on the same stage
 * config: the plain transformer (stages 1-2), the VAE (stage 3 before the
 * GAN starts) and the VAE-GAN (stage 3), with parameter counts, so the cost
 * of the latent and of the discriminator is measured, not assumed.
 * Usage: build/bench/mode_step [STEPS_STAGE_CONFIG [STEPS_QUICK_TEST]] */
#include <stdio.h>
#include <stdlib.h>

#include "engine/nn/blas_core.h"
#include "engine/train/train_config.h"
#include "engine/model/transformer.h"
#include "engine/model/vaegan.h"
#include "util/clock.h"
#include "util/log.h"

/* Time STEPS training steps of each mode for STAGE (+ PROFILE) and print a line per mode. */
static void run(const char *label, const char *stage, const char *profile, int steps)
{
    train_config c;
    char err[AURL_ERR_LEN];
    if (train_config_load(&c, stage, profile, err)) {
        printf("%s\n", err);
        return;
    }
    int B = c.batch_size, T = c.seq_len;
    int32_t *in = malloc(sizeof(int32_t) * B * T), *tg = malloc(sizeof(int32_t) * B * T);
    for (int i = 0; i < B * T; i++) {
        in[i] = 4 + (i * 131) % 700;
        tg[i] = 4 + (i * 131 + 7) % 700;
    }
    transformer *t;
    if (transformer_create(&t, &c.model, B, T, 1, err)) {
        printf("%s\n", err);
        return;
    }
    adamw_config ac = adamw_default_config(1e-4f, 1e-5f, 10, 1000);
    adamw o;
    adamw_init(&o, &ac);
    float l = transformer_forward(t, in, tg, B, T, 1, 0); /* warm-up */
    transformer_backward(t);
    transformer_step(t, &o, l);
    double t0 = clock_monotonic();
    for (int s = 1; s <= steps; s++) {
        l = transformer_forward(t, in, tg, B, T, 1, (uint64_t)s);
        transformer_backward(t);
        transformer_step(t, &o, l);
    }
    double tt = (clock_monotonic() - t0) / steps;
    printf("%-14s transformer  params %9zu                          step %.3f s  (%.0f tok/s)\n", label,
           transformer_n_params(t), tt, B * T / tt);
    transformer_free(t);
    for (int g = 0; g <= 1; g++) {
        vaegan_config gc = c.gan;
        gc.use_gan = g;
        gc.start_step = 0;
        gc.opt = ac;
        vaegan *m;
        if (vaegan_create(&m, &c.model, &c.vae, &c.disc, &gc, B, T, 1, err)) {
            printf("%s\n", err);
            break;
        }
        vaegan_train_step(m, in, tg, B, T, 0, 1, NULL);
        t0 = clock_monotonic();
        for (int s = 1; s <= steps; s++) vaegan_train_step(m, in, tg, B, T, s, 1, NULL);
        double tv = (clock_monotonic() - t0) / steps;
        printf("%-14s %-12s params %9zu (D %7zu)              step %.3f s  (x%.2f the transformer)\n", label,
               g ? "vae_gan" : "vae", vaegan_n_params_vae(m) + vaegan_n_params_disc(m), vaegan_n_params_disc(m), tv,
               tv / tt);
        vaegan_free(m);
    }
    free(in);
    free(tg);
}

int main(int argc, char **argv)
{
    blas_core_startup(argv); /* the OpenBLAS kernel aurl itself would run */
    log_set_quiet(1);
    int steps_stage = argc > 1 ? atoi(argv[1]) : 5, steps_quick = argc > 2 ? atoi(argv[2]) : 20;
    if (steps_stage < 1 || steps_quick < 1) {
        fprintf(stderr, "usage: mode_step [STEPS_STAGE_CONFIG [STEPS_QUICK_TEST]] (positive)\n");
        return 2;
    }
    run("stage configs", "configs/stages/stage3_advanced.yaml", NULL, steps_stage);
    run("quick_test", "configs/stages/stage3_advanced.yaml", "configs/profiles/quick_test.yaml", steps_quick);
    return 0;
}
