/* vaegan_step: the VAE-GAN's training step over micro-batches and ranks
 * (the three passes of vaegan.h: statistics and D's update, the G terms
 * on the updated D, the VAE backward), and the replicas' shared state.
 * Every per-micro-batch part is computed on its own and then added to the
 * running sum, so 2 ranks x 1 micro-batch and 1 rank x 2 accumulated
 * micro-batches add the same two numbers (IEEE addition commutes). */
#include "engine/model/vaegan.h"
#include "engine/model/vaegan_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/nn/gan_loss.h"
#include "engine/nn/gumbel.h"
#include "engine/nn/loss.h"
#include "util/dist.h"
#include "util/hash.h"
#include "util/rng.h"

/* The step's sums reduced after pass 1. */
enum { R_NATS, R_COUNT, R_REC2, R_DLOSS, R_ACC_REAL, R_ACC_FAKE, R_N };
/* m->fsum: G loss, ||dlogits_adv||^2, then the real and fake feature sums. */
enum { F_GADV, F_ADV2, F_FEAT };

/* What one step works on. */
typedef struct {
    const vaegan_split *sp;
    const int32_t *in, *tg; /* this rank's accumulate x micro_b windows */
    int T, Bg;              /* window, global batch */
    long step;
    uint64_t s;             /* the step's seed */
    int gan_on, g_update;
    float tau, w, fm;       /* temperature, adaptive weight, L_fm */
    double sums[R_N];
    char *err;
    size_t err_len;
} step_ctx;

/* Temperature at `step`: tau at start_step, linearly down to tau_min over
 * tau_anneal_steps. */
static float tau_at(const vaegan_config *gc, long step)
{
    if (gc->tau_anneal_steps <= 0) return gc->tau;
    double f = (double)(step - gc->start_step) / (double)gc->tau_anneal_steps;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    return (float)(gc->tau + (gc->tau_min - gc->tau) * f);
}

/* The seed of every random draw of step `step`. */
static uint64_t step_seed(uint64_t seed, long step)
{
    return rng_mix64(seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(step + 1)));
}

/* The decoder's dropout seed of global micro-batch k (0: the full batch's). */
static uint64_t micro_seed(uint64_t s, int k) { return k == 0 ? s : s ^ (0xD1B54A32D192ED2DULL * (uint64_t)k); }

static int global_k(const step_ctx *c, int j) { return c->sp->rank * c->sp->accumulate + j; }
/* Token offset of local micro-batch j in the step's arrays. */
static size_t tok_off(const step_ctx *c, int j) { return (size_t)j * c->sp->micro_b * c->T; }

/* Zero the rows of x (N, V) whose target is PAD (no gradient there). */
static void mask_pad_rows(float *x, const int32_t *targets, int N, int V)
{
    for (int i = 0; i < N; i++)
        if (targets[i] == TOK_PAD) memset(x + (size_t)i * V, 0, (size_t)V * sizeof(float));
}

/* Sum over the ranks (not when the split has one rank: a one-process step
 * under mpirun stays local). */
static int reduce_f64(const step_ctx *c, double *x, size_t n)
{
    return c->sp->ranks > 1 ? dist_allreduce_sum_f64(x, n, c->err, c->err_len) : 0;
}

static int reduce_f32(const step_ctx *c, float *x, size_t n)
{
    return c->sp->ranks > 1 ? dist_allreduce_sum_f32(x, n, c->err, c->err_len) : 0;
}

/* acc = g (first) or acc += g, over n floats. */
static void acc_add(float *acc, const float *g, size_t n, int first)
{
    if (first) memcpy(acc, g, n * sizeof *acc);
    else
        for (size_t i = 0; i < n; i++) acc[i] += g[i];
}

/* Column sums (F) of x (b, F) in double, added to out. */
static void add_feature_sums(double *out, const float *x, int b, int F)
{
    for (int f = 0; f < F; f++) {
        double s = 0.0;
        for (int i = 0; i < b; i++) s += x[(size_t)i * F + f];
        out[f] += s;
    }
}

/* eps of micro-batch j's windows: a stream per level and global window. */
static void fill_eps(vaegan *m, const step_ctx *c, int j)
{
    int b = c->sp->micro_b;
    long first = (long)global_k(c, j) * b;
    for (int l = 0; l < VAE_LEVELS; l++) {
        int n = m->vc.n_segments[l] * m->vc.latent_dim[l];
        float *eps = vae_eps(m->v, l);
        uint64_t base = rng_mix64(c->s ^ (0x4550530000000000ull + (uint64_t)l));
        for (int i = 0; i < b; i++) {
            rng_state r;
            rng_seed(&r, rng_mix64(base + (uint64_t)(first + i)));
            rng_fill_normal(&r, eps + (size_t)i * n, n, 0.0f, 1.0f);
        }
    }
}

/* The VAE forward of local micro-batch j (z sampled, dropout on). */
static void forward_micro(vaegan *m, const step_ctx *c, int j)
{
    fill_eps(m, c, j);
    size_t o = tok_off(c, j);
    vae_forward(m->v, c->in + o, c->tg + o, c->sp->micro_b, c->T, 1, VAE_Z_FIXED_EPS,
                micro_seed(c->s, global_k(c, j)));
}

/* D's gradient of its loss part on micro-batch j (real = the targets, fake
 * = the hard Gumbel tokens), with the D metrics' sums. */
static void disc_part(vaegan *m, step_ctx *c, int j, const int32_t *tg, const int32_t *hard)
{
    int b = c->sp->micro_b, T = c->T;
    gan_loss_kind k = m->dc.loss;
    /* the power iteration runs once per step on every rank: u, v and W are replicated */
    memcpy(m->real_logit, disc_forward_tokens(m->d, tg, b, T, j == 0), (size_t)b * sizeof(float));
    double ld = gan_d_loss_part(k, m->real_logit, NULL, b, c->Bg, m->dl, NULL);
    disc_backward(m->d, m->dl, NULL, 1, NULL);
    memcpy(m->fake_logit, disc_forward_tokens(m->d, hard, b, T, 0), (size_t)b * sizeof(float));
    ld += gan_d_loss_part(k, NULL, m->fake_logit, b, c->Bg, NULL, m->dl);
    disc_backward(m->d, m->dl, NULL, 1, NULL);
    float ar, af;
    gan_accuracy(m->real_logit, b, m->fake_logit, b, &ar, &af);
    c->sums[R_DLOSS] += ld;
    c->sums[R_ACC_REAL] += floor((double)ar * b + 0.5);
    c->sums[R_ACC_FAKE] += floor((double)af * b + 0.5);
    if (c->sp->accumulate > 1) {
        acc_add(m->dacc, disc_grads(m->d), disc_n_params(m->d), j == 0);
        disc_zero_grad(m->d);
    }
}

/* Pass 1 on local micro-batch j: forward, the statistics' sums, the
 * Gumbel-softmax (kept) and D's gradient part. kl_part: vae_kl_n_dims. */
static void pass1_micro(vaegan *m, step_ctx *c, int j, double *kl_part)
{
    int bt = c->sp->micro_b * c->T, V = m->mc.vocab_size;
    size_t o = tok_off(c, j);
    const int32_t *tg = c->tg + o;
    forward_micro(m, c, j);
    transformer *dec = vae_decoder(m->v);
    int n = transformer_target_count(dec);
    c->sums[R_NATS] += (double)vae_last_stats(m->v)->recon * n;
    c->sums[R_COUNT] += n;
    vae_kl_sums(m->v, kl_part);
    for (int i = 0; i < vae_kl_n_dims(m->v); i++) m->kl_sums[i] += kl_part[i];
    if (!c->gan_on) return;
    const float *logits = transformer_logits(dec);
    float *soft = m->soft + o * V;
    int32_t *hard = m->hard + o;
    gumbel_noise_at(m->work, (long)global_k(c, j) * bt * V, (long)bt * V, rng_mix64(c->s ^ 0x47554d42454cull));
    gumbel_softmax_forward(soft, hard, logits, m->work, bt, V, c->tau);
    for (int i = 0; i < bt; i++)
        if (tg[i] == TOK_PAD) hard[i] = TOK_PAD;
    if (c->g_update) {
        /* (probs - onehot): d recon / d logits times the global count, for the balancing ratio */
        int count;
        xent_forward(m->work, logits, tg, bt, V, TOK_PAD, &count);
        xent_backward(m->work, m->work, tg, bt, V, TOK_PAD, 1, 1.0f);
        c->sums[R_REC2] += gan_sum_sq(m->work, (size_t)bt * V);
    }
    disc_part(m, c, j, tg, hard);
}

/* Reduce pass 1's sums; D's update on the summed gradient. 0 or -1. */
static int finish_pass1(vaegan *m, step_ctx *c, vaegan_metrics *mt)
{
    if (reduce_f64(c, c->sums, R_N) != 0 || reduce_f64(c, m->kl_sums, (size_t)vae_kl_n_dims(m->v)) != 0) return -1;
    if (!c->gan_on) return 0;
    size_t nd = disc_n_params(m->d);
    if (c->sp->accumulate > 1) memcpy(disc_grads(m->d), m->dacc, nd * sizeof(float));
    if (reduce_f32(c, disc_grads(m->d), nd) != 0) return -1;
    adamw_result r = disc_step(m->d, &m->dopt, (float)c->sums[R_DLOSS]);
    mt->d_loss = (float)c->sums[R_DLOSS];
    mt->d_acc_real = (float)(c->sums[R_ACC_REAL] / c->Bg);
    mt->d_acc_fake = (float)(c->sums[R_ACC_FAKE] / c->Bg);
    mt->d_lr = r.lr;
    mt->d_grad_norm = r.grad_norm;
    return 0;
}

/* The adversarial dlogits of micro-batch j into m->dadv (D fixed): D
 * forward on its hard tokens, the G loss part's gradient back through D
 * and the Gumbel-softmax. Returns the G loss part; D keeps the fake's
 * activations. */
static double adv_dlogits(vaegan *m, const step_ctx *c, int j)
{
    int b = c->sp->micro_b, bt = b * c->T, V = m->mc.vocab_size;
    size_t o = tok_off(c, j);
    const float *lg = disc_forward_tokens(m->d, m->hard + o, b, c->T, 0);
    double g = gan_g_loss_part(m->dc.loss, lg, b, c->Bg, m->dl);
    disc_backward(m->d, m->dl, NULL, 0, m->work);
    mask_pad_rows(m->work, c->tg + o, bt, V);
    gumbel_softmax_backward(m->dadv, m->soft + o * V, m->work, bt, V, c->tau, 1.0f, 0);
    return g;
}

/* Pass 2 on local micro-batch j (G steps, D updated): feature sums of the
 * real and fake windows, the G loss part, ||dlogits_adv||^2; part has
 * F_FEAT + 2F doubles. */
static void pass2_micro(vaegan *m, const step_ctx *c, int j, double *part)
{
    int b = c->sp->micro_b, F = disc_feature_dim(m->d);
    size_t n = F_FEAT + 2 * (size_t)F;
    memset(part, 0, n * sizeof *part);
    disc_forward_tokens(m->d, c->tg + tok_off(c, j), b, c->T, 0);
    add_feature_sums(part + F_FEAT, disc_features(m->d), b, F);
    part[F_GADV] = adv_dlogits(m, c, j);
    add_feature_sums(part + F_FEAT + F, disc_features(m->d), b, F);
    part[F_ADV2] = gan_sum_sq(m->dadv, (size_t)b * c->T * m->mc.vocab_size);
    for (size_t i = 0; i < n; i++) m->fsum[i] += part[i];
}

/* Reduce pass 2's sums: the feature means give L_fm and its row
 * gradient, the two norms the adaptive weight. 0 or -1. */
static int finish_pass2(vaegan *m, step_ctx *c)
{
    int F = disc_feature_dim(m->d);
    if (reduce_f64(c, m->fsum, F_FEAT + 2 * (size_t)F) != 0) return -1;
    float *mr = m->fm_mean, *mf = m->fm_mean + F;
    for (int f = 0; f < F; f++) {
        mr[f] = (float)(m->fsum[F_FEAT + f] / c->Bg);
        mf[f] = (float)(m->fsum[F_FEAT + F + f] / c->Bg);
    }
    c->fm = gan_fm_from_means(GAN_FM_L2, mr, mf, F, c->Bg, m->fm_grow);
    double n_rec = c->sums[R_COUNT] > 0 ? sqrt(c->sums[R_REC2]) / c->sums[R_COUNT] : 0.0;
    c->w = gan_adaptive_weight_of_norms(n_rec, sqrt(m->fsum[F_ADV2]), m->gc.adv_weight, m->gc.adv_weight_max);
    m->last_g_adv = (float)m->fsum[F_GADV];
    m->last_fm = c->fm;
    m->last_adv_weight = c->w;
    return 0;
}

/* m->dadv = w * dadv + fm_weight * dfm for micro-batch j, dfm being the
 * feature-matching row gradient back through D (holding the fake's
 * activations) and the Gumbel-softmax. */
static void combine_dlogits(vaegan *m, const step_ctx *c, int j)
{
    int b = c->sp->micro_b, bt = b * c->T, V = m->mc.vocab_size, F = disc_feature_dim(m->d);
    size_t o = tok_off(c, j), nv = (size_t)bt * V;
    for (int i = 0; i < b; i++) memcpy(m->dfeat + (size_t)i * F, m->fm_grow, (size_t)F * sizeof(float));
    disc_backward(m->d, NULL, m->dfeat, 0, m->work);
    mask_pad_rows(m->work, c->tg + o, bt, V);
    gumbel_softmax_backward(m->dfm, m->soft + o * V, m->work, bt, V, c->tau, 1.0f, 0);
    float w = c->w, fw = m->gc.fm_weight;
    for (size_t i = 0; i < nv; i++) m->dadv[i] = w * m->dadv[i] + fw * m->dfm[i];
}

/* Pass 3 on local micro-batch j (from the last down): its VAE backward
 * with the global batch's KL statistics, cross-entropy weight n_j / N and
 * the adversarial dlogits, its gradient added to the rank's sum. */
static void pass3_micro(vaegan *m, const step_ctx *c, int j)
{
    int last = j == c->sp->accumulate - 1; /* its activations (VAE and D) are live */
    if (!last) forward_micro(m, c, j);
    vae_set_kl_batch(m->v, m->kl_sums, c->Bg);
    const float *extra = NULL;
    if (c->g_update) {
        if (!last) adv_dlogits(m, c, j);
        combine_dlogits(m, c, j);
        extra = m->dadv;
    }
    int n = transformer_target_count(vae_decoder(m->v));
    double N = c->sums[R_COUNT];
    vae_backward_with_dlogits(m->v, extra, N > 0 ? (float)n / (float)N : 0.0f);
    if (c->sp->accumulate > 1) {
        for (int d = 0; d < 2; d++) {
            size_t len;
            const float *g = vae_array(m->v, d, VAE_GRADS, &len);
            acc_add(m->vacc[d], g, len, last);
        }
        vae_zero_grad(m->v);
    }
}

/* The summed VAE gradient into the arenas and reduced. 0 or -1. */
static int reduce_vae(vaegan *m, const step_ctx *c)
{
    for (int d = 0; d < 2; d++) {
        size_t len;
        float *g = vae_array(m->v, d, VAE_GRADS, &len);
        if (c->sp->accumulate > 1) memcpy(g, m->vacc[d], len * sizeof(float));
        if (reduce_f32(c, g, len) != 0) return -1;
    }
    return 0;
}

/* The VAE's update and the step's metrics (global batch). Returns the
 * update's skipped flag. */
static int finish_step(vaegan *m, const step_ctx *c, vaegan_metrics *mt)
{
    const vae_stats *st = vae_last_stats(m->v);
    double N = c->sums[R_COUNT], klpen = 0;
    mt->recon = N > 0 ? (float)(c->sums[R_NATS] / N) : 0.0f;
    mt->beta = st->beta;
    for (int l = 0; l < VAE_LEVELS; l++) {
        mt->kl[l] = st->kl[l];
        mt->kl_pen[l] = st->kl_pen[l];
        mt->active[l] = st->active[l];
        klpen += st->kl_pen[l];
    }
    float loss = (float)(mt->recon + st->beta * klpen / c->T);
    if (c->g_update) loss += c->w * m->last_g_adv + m->gc.fm_weight * c->fm;
    adamw_result r = vae_step(m->v, &m->opt, loss);
    mt->loss = loss;
    mt->gan_on = c->gan_on;
    mt->g_update = c->g_update;
    mt->tau = c->tau;
    mt->g_adv = m->last_g_adv;
    mt->fm = m->last_fm;
    mt->adv_weight = m->last_adv_weight;
    mt->lr = r.lr;
    mt->grad_norm = r.grad_norm;
    mt->tokens = (int)N;
    return r.skipped;
}

/* The step of split SP (see vaegan.h). 0, 1 (skipped) or -1 (err set). */
static int step_split(vaegan *m, const vaegan_split *sp, const int32_t *inputs, const int32_t *targets, int T,
                      long step, uint64_t seed, vaegan_metrics *out, char *err, size_t err_len)
{
    vaegan_metrics mt;
    memset(&mt, 0, sizeof mt);
    int M = sp->accumulate;
    size_t rows = (size_t)M * sp->micro_b * T;
    if (step < 0 || !vaegan_sizes_ok(m, inputs, targets, sp->micro_b, T) || (m->d && rows > m->store_rows)) {
        snprintf(err, err_len, "vaegan: %d x %d micro-batches of %d x %d do not fit the model (%d x %d)", sp->ranks, M,
                 sp->micro_b, T, m->maxB, m->maxT);
        return -1;
    }
    step_ctx c = {.sp = sp, .in = inputs, .tg = targets, .T = T, .Bg = sp->ranks * M * sp->micro_b, .step = step,
                  .s = step_seed(seed, step), .err = err, .err_len = err_len};
    c.gan_on = m->d && step >= m->gc.start_step;
    c.tau = m->d ? tau_at(&m->gc, step) : 0.0f;
    int n_critic = m->dc.n_critic > 0 ? m->dc.n_critic : 1;
    c.g_update = c.gan_on && (step - m->gc.start_step) % n_critic == 0;
    vae_set_step(m->v, step);
    int nk = vae_kl_n_dims(m->v);
    memset(m->kl_sums, 0, 2 * (size_t)nk * sizeof(double));
    for (int j = 0; j < M; j++) pass1_micro(m, &c, j, m->kl_sums + nk);
    if (finish_pass1(m, &c, &mt) != 0) return -1;
    if (c.g_update) {
        int F = disc_feature_dim(m->d);
        memset(m->fsum, 0, (F_FEAT + 2 * (size_t)F) * sizeof(double));
        for (int j = 0; j < M; j++) pass2_micro(m, &c, j, m->fsum + F_FEAT + 2 * (size_t)F);
        if (finish_pass2(m, &c) != 0) return -1;
    }
    for (int j = M - 1; j >= 0; j--) pass3_micro(m, &c, j);
    if (reduce_vae(m, &c) != 0) return -1;
    int skipped = finish_step(m, &c, &mt);
    if (out) *out = mt;
    return skipped ? 1 : 0;
}

int vaegan_train_step(vaegan *m, const int32_t *inputs, const int32_t *targets, int B, int T, long step,
                      uint64_t seed, vaegan_metrics *mt)
{
    char err[AURL_ERR_LEN];
    vaegan_split one = {0, 1, 1, B};
    return step_split(m, &one, inputs, targets, T, step, seed, mt, err, sizeof err);
}

int vaegan_train_step_split(vaegan *m, const int32_t *inputs, const int32_t *targets, int T, long step,
                            uint64_t seed, vaegan_metrics *mt, char *err, size_t err_len)
{
    return step_split(m, &m->sp, inputs, targets, T, step, seed, mt, err, err_len);
}

int vaegan_set_split(vaegan *m, const vaegan_split *sp, char err[AURL_ERR_LEN])
{
    if (sp->ranks < 1 || sp->rank < 0 || sp->rank >= sp->ranks || sp->accumulate < 1 || sp->micro_b < 1 ||
        sp->micro_b > m->maxB) {
        snprintf(err, AURL_ERR_LEN, "vaegan: split of %d ranks x %d micro-batches of %d windows invalid (created for %d)",
                 sp->ranks, sp->accumulate, sp->micro_b, m->maxB);
        return -1;
    }
    size_t rows = (size_t)sp->accumulate * sp->micro_b * m->maxT, V = (size_t)m->mc.vocab_size;
    if (m->d && rows > m->store_rows) {
        free(m->soft);
        free(m->hard);
        m->soft = malloc(rows * V * sizeof(float));
        m->hard = malloc(rows * sizeof(int32_t));
        m->store_rows = m->soft && m->hard ? rows : 0;
    }
    if (sp->accumulate > 1 && !m->vacc[0]) {
        for (int d = 0; d < 2; d++) {
            size_t len;
            vae_array(m->v, d, VAE_GRADS, &len);
            m->vacc[d] = malloc(len * sizeof(float));
        }
        if (m->d) m->dacc = malloc(disc_n_params(m->d) * sizeof(float));
    }
    if ((m->d && m->store_rows < rows) ||
        (sp->accumulate > 1 && (!m->vacc[0] || !m->vacc[1] || (m->d && !m->dacc)))) {
        snprintf(err, AURL_ERR_LEN, "vaegan: out of memory for %d micro-batches of %d x %d", sp->accumulate,
                 sp->micro_b, m->maxT);
        return -1;
    }
    m->sp = *sp;
    return 0;
}

/* ---- replicas ------------------------------------------------------------ */

/* The arrays every rank must hold alike: VAE (own, decoder) parameters and
 * moments, then D's and its spectral-norm state. Fills up to 12; returns
 * how many. */
static int replica_arrays(vaegan *m, float **p, size_t *n)
{
    static const vae_array_kind kinds[3] = {VAE_PARAMS, VAE_ADAM_M, VAE_ADAM_V};
    int k = 0;
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < 3; i++, k++) p[k] = vae_array(m->v, d, kinds[i], &n[k]);
    if (m->d) {
        float *dp[3] = {disc_params(m->d), disc_adam_m(m->d), disc_adam_v(m->d)};
        for (int i = 0; i < 3; i++, k++) p[k] = dp[i], n[k] = disc_n_params(m->d);
        p[k] = disc_sn_state(m->d, &n[k]);
        k++;
    }
    return k;
}

int vaegan_broadcast(vaegan *m, char *err, size_t err_len)
{
    float *p[12];
    size_t n[12];
    int k = replica_arrays(m, p, n);
    for (int i = 0; i < k; i++)
        if (dist_broadcast(p[i], n[i] * sizeof(float), 0, err, err_len) != 0) return -1;
    float last_g[3] = {m->last_g_adv, m->last_fm, m->last_adv_weight};
    if (dist_broadcast(&m->opt, sizeof m->opt, 0, err, err_len) != 0 ||
        dist_broadcast(&m->dopt, sizeof m->dopt, 0, err, err_len) != 0 ||
        dist_broadcast(last_g, sizeof last_g, 0, err, err_len) != 0)
        return -1;
    m->last_g_adv = last_g[0];
    m->last_fm = last_g[1];
    m->last_adv_weight = last_g[2];
    return 0;
}

uint64_t vaegan_param_hash(vaegan *m)
{
    uint64_t h = HASH_FNV_SEED;
    for (int d = 0; d < 2; d++) {
        size_t n;
        const float *p = vae_array(m->v, d, VAE_PARAMS, &n);
        h = hash_fnv1a64(p, n * sizeof(float), h);
    }
    if (m->d) {
        size_t n;
        const float *sn = disc_sn_state(m->d, &n);
        h = hash_fnv1a64(disc_params(m->d), disc_n_params(m->d) * sizeof(float), h);
        h = hash_fnv1a64(sn, n * sizeof(float), h);
    }
    return h;
}
