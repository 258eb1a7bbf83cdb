/* lr_schedule: learning rate as a function of the step: linear warmup from
 * lr/warmup to lr over the first `warmup` steps, then cosine decay to min_lr
 * at step `total`, constant min_lr after. */
#ifndef AURL_LR_SCHEDULE_H
#define AURL_LR_SCHEDULE_H

typedef struct {
    float lr;     /* peak learning rate */
    float min_lr; /* floor reached at `total` */
    long warmup;  /* warmup steps (0 = none) */
    long total;   /* step at which the cosine reaches min_lr (<= warmup: constant lr after warmup) */
} lr_schedule;

/* Learning rate for 0-based step: warmup lr*(step+1)/warmup; then
 * min_lr + (lr-min_lr) * 0.5 * (1 + cos(pi * (step-warmup)/(total-warmup))). */
float lr_schedule_at(const lr_schedule *s, long step);
#endif
