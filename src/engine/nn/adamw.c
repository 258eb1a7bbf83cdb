/* adamw: AdamW + clipping + NaN guard over flat parameter segments. */
#include "engine/nn/adamw.h"

#include <math.h>
#include <omp.h>
#ifdef __AVX__
#include <immintrin.h>
#endif
#include <string.h>

#include "util/log.h"

adamw_config adamw_default_config(float lr, float min_lr, long warmup, long total)
{
    adamw_config c;
    c.sched.lr = lr;
    c.sched.min_lr = min_lr;
    c.sched.warmup = warmup;
    c.sched.total = total;
    c.beta1 = 0.9f;
    c.beta2 = 0.95f;
    c.eps = 1e-8f;
    c.weight_decay = 0.1f;
    c.grad_clip = 1.0f;
    return c;
}

void adamw_init(adamw *opt, const adamw_config *cfg)
{
    memset(opt, 0, sizeof *opt);
    opt->cfg = *cfg;
    opt->lr_mult = 1.0f;
}

double adamw_grad_norm(const adamw_segment *segs, int nsegs)
{
    double total = 0.0;
    for (int s = 0; s < nsegs; s++) {
        const float *g = segs[s].grad;
        long n = (long)segs[s].n;
        double acc = 0.0;
#pragma omp parallel for reduction(+ : acc) schedule(static) if (n > 65536)
        for (long i = 0; i < n; i++) acc += (double)g[i] * g[i];
        total += acc;
    }
    return sqrt(total);
}

/* Update elements [lo, hi) of one segment (PyTorch's single-tensor AdamW
 * order). libm's sqrtf keeps GCC from vectorising (errno), so with AVX the
 * body runs on 8 floats at a time with the same operation order. */
static void update_range(float *restrict p, float *restrict m, float *restrict v, const float *restrict g,
                         long lo, long hi, float decay, float b1, float b2, float eps, float step_size,
                         float bc2_sqrt, float clip_coef)
{
    long i = lo;
#ifdef __AVX__
    const __m256 vb1 = _mm256_set1_ps(b1), vb1c = _mm256_set1_ps(1.0f - b1);
    const __m256 vb2 = _mm256_set1_ps(b2), vb2c = _mm256_set1_ps(1.0f - b2);
    const __m256 vclip = _mm256_set1_ps(clip_coef), vbc2 = _mm256_set1_ps(bc2_sqrt);
    const __m256 veps = _mm256_set1_ps(eps), vdecay = _mm256_set1_ps(decay), vstep = _mm256_set1_ps(step_size);
    for (; i + 8 <= hi; i += 8) {
        __m256 gi = _mm256_mul_ps(_mm256_loadu_ps(g + i), vclip);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(vb1c, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(vb2c, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), vbc2), veps);
        __m256 upd = _mm256_div_ps(_mm256_mul_ps(vstep, mi), denom);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), vdecay), upd));
    }
#endif
    for (; i < hi; i++) {
        float gi = g[i] * clip_coef;
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = p[i] * decay - step_size * mi / denom;
    }
}

/* Apply the update to one segment, split over the threads. */
static void update_segment(const adamw_segment *sg, float lr, float wd, float b1, float b2, float eps,
                           float step_size, float bc2_sqrt, float clip_coef)
{
    long n = (long)sg->n;
    float decay = sg->decay ? 1.0f - lr * wd : 1.0f;
#pragma omp parallel if (n > 65536)
    {
        long nt = omp_get_num_threads(), id = omp_get_thread_num();
        long lo = n * id / nt, hi = n * (id + 1) / nt;
        update_range(sg->param, sg->m, sg->v, sg->grad, lo, hi, decay, b1, b2, eps, step_size, bc2_sqrt, clip_coef);
    }
}

adamw_result adamw_step(adamw *opt, const adamw_segment *segs, int nsegs, float loss)
{
    adamw_result r = {0};
    const adamw_config *c = &opt->cfg;
    double norm = adamw_grad_norm(segs, nsegs);
    r.grad_norm = (float)norm;
    long step = opt->step++;
    if (!isfinite(loss) || !isfinite(norm)) {
        for (int s = 0; s < nsegs; s++) memset(segs[s].grad, 0, segs[s].n * sizeof(float));
        opt->lr_mult *= 0.5f;
        opt->n_skipped++;
        log_warn("adamw: step %ld skipped: loss %g, grad norm %g not finite; lr multiplier now %g", step,
                 (double)loss, norm, (double)opt->lr_mult);
        r.skipped = 1;
        r.lr_mult = opt->lr_mult;
        return r;
    }
    float clip_coef = 1.0f;
    if (c->grad_clip > 0.0f) {
        double coef = c->grad_clip / (norm + 1e-6);
        if (coef < 1.0) clip_coef = (float)coef;
    }
    float lr = lr_schedule_at(&c->sched, step) * opt->lr_mult;
    long t = ++opt->t;
    double bc1 = 1.0 - pow(c->beta1, (double)t);
    double bc2 = 1.0 - pow(c->beta2, (double)t);
    float step_size = (float)(lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    for (int s = 0; s < nsegs; s++)
        update_segment(&segs[s], lr, c->weight_decay, c->beta1, c->beta2, c->eps, step_size, bc2_sqrt, clip_coef);
    r.lr = lr;
    r.lr_mult = opt->lr_mult;
    return r;
}
