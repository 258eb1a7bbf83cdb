/* lr_schedule: linear warmup then cosine decay. */
#include "engine/nn/lr_schedule.h"

#include <math.h>

float lr_schedule_at(const lr_schedule *s, long step)
{
    if (step < 0) step = 0;
    if (step < s->warmup) return (float)((double)s->lr * (double)(step + 1) / (double)s->warmup);
    if (s->total <= s->warmup) return s->lr;
    double progress = (double)(step - s->warmup) / (double)(s->total - s->warmup);
    if (progress > 1.0) progress = 1.0;
    double coeff = 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
    return (float)(s->min_lr + coeff * ((double)s->lr - s->min_lr));
}
