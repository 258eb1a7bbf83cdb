/* vaegan: VAE + discriminator creation, evaluation and checkpoints; the
 * training step is in vaegan_step.c. See vaegan.h for the model. */
#include "engine/model/vaegan.h"
#include "engine/model/vaegan_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/model/checkpoint.h"
#include "engine/nn/gan_loss.h"
#include "engine/model/model_ckpt.h"
#include "util/rng.h"
#include "util/json_num.h"

void vaegan_config_defaults(vaegan_config *gc)
{
    memset(gc, 0, sizeof *gc);
    gc->use_gan = 1;
    gc->tau = 1.0f;
    gc->tau_min = 0.5f;
    gc->tau_anneal_steps = 0;
    gc->adv_weight = 0.1f;
    gc->adv_weight_max = 10.0f;
    gc->fm_weight = 1.0f;
    gc->start_step = 500;
    gc->opt = adamw_default_config(1e-4f, 1e-5f, 100, 10000);
}

int vaegan_config_validate(const vaegan_config *gc, char err[AURL_ERR_LEN])
{
    const char *bad = NULL;
    if (!(gc->tau >= 1e-3f && gc->tau <= 100.0f)) bad = "tau must be in [0.001, 100]";
    else if (!(gc->tau_min >= 1e-3f && gc->tau_min <= gc->tau)) bad = "tau_min must be in [0.001, tau]";
    else if (gc->tau_anneal_steps < 0) bad = "tau_anneal_steps must be >= 0";
    else if (!(gc->adv_weight >= 0.0f && gc->adv_weight <= 1e3f)) bad = "adv_weight must be in [0, 1000]";
    else if (!(gc->adv_weight_max >= 0.0f && gc->adv_weight_max <= 1e6f)) bad = "adv_weight_max must be in [0, 1e6]";
    else if (!(gc->fm_weight >= 0.0f && gc->fm_weight <= 1e3f)) bad = "fm_weight must be in [0, 1000]";
    else if (gc->start_step < 0) bad = "start_step must be >= 0";
    if (bad) {
        snprintf(err, AURL_ERR_LEN, "gan: %s", bad);
        return -1;
    }
    return 0;
}

void vaegan_free(vaegan *m)
{
    if (!m) return;
    vae_free(m->v);
    disc_free(m->d);
    free(m->soft);
    free(m->work);
    free(m->dadv);
    free(m->dfm);
    free(m->hard);
    free(m->real_logit);
    free(m->fake_logit);
    free(m->dl);
    free(m->dfeat);
    free(m->fm_mean);
    free(m->fm_grow);
    free(m->fsum);
    free(m->kl_sums);
    free(m->vacc[0]);
    free(m->vacc[1]);
    free(m->dacc);
    free(m);
}

int vaegan_create(vaegan **out, const model_config *mc, const vae_config *vc, const disc_config *dc,
                  const vaegan_config *gc, int B, int T, uint64_t seed, char err[AURL_ERR_LEN])
{
    *out = NULL;
    if (vaegan_config_validate(gc, err) != 0) return -1;
    if (gc->use_gan) {
        if (disc_config_validate(dc, err) != 0) return -1;
        if (dc->vocab != mc->vocab_size) {
            snprintf(err, AURL_ERR_LEN, "gan: discriminator vocab %d differs from the model's %d", dc->vocab,
                     mc->vocab_size);
            return -1;
        }
    }
    vaegan *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, AURL_ERR_LEN, "vaegan: out of memory");
        return -1;
    }
    m->mc = *mc;
    m->vc = *vc;
    m->dc = dc ? *dc : disc_config_default();
    m->gc = *gc;
    m->maxB = B;
    m->maxT = T;
    adamw_init(&m->opt, &gc->opt);
    if (vae_create(&m->v, mc, vc, B, T, seed, err) != 0) {
        vaegan_free(m);
        return -1;
    }
    if (gc->use_gan) {
        if (disc_create(&m->d, dc, B, T, rng_mix64(seed ^ 0x4449534300000000ull), err) != 0) {
            vaegan_free(m);
            return -1;
        }
        adamw_config dac = disc_adamw_config(dc);
        adamw_init(&m->dopt, &dac);
        size_t nv = (size_t)B * T * mc->vocab_size;
        int F = disc_feature_dim(m->d);
        m->work = malloc(nv * sizeof(float));
        m->dadv = malloc(nv * sizeof(float));
        m->dfm = malloc(nv * sizeof(float));
        m->real_logit = malloc((size_t)B * sizeof(float));
        m->fake_logit = malloc((size_t)B * sizeof(float));
        m->dl = malloc((size_t)B * sizeof(float));
        m->dfeat = malloc((size_t)B * F * sizeof(float));
        m->fm_mean = malloc(2 * (size_t)F * sizeof(float));
        m->fm_grow = malloc((size_t)F * sizeof(float));
        m->fsum = malloc(2 * (2 + 2 * (size_t)F) * sizeof(double)); /* sums, one part */
        if (!m->work || !m->dadv || !m->dfm || !m->real_logit || !m->fake_logit || !m->dl || !m->dfeat ||
            !m->fm_mean || !m->fm_grow || !m->fsum) {
            snprintf(err, AURL_ERR_LEN, "vaegan: out of memory for the GAN buffers (batch %d x %d)", B, T);
            vaegan_free(m);
            return -1;
        }
    }
    m->kl_sums = malloc(2 * (size_t)vae_kl_n_dims(m->v) * sizeof(double)); /* sums, one part */
    vaegan_split one = {0, 1, 1, B};
    if (!m->kl_sums || vaegan_set_split(m, &one, err) != 0) {
        if (!m->kl_sums) snprintf(err, AURL_ERR_LEN, "vaegan: out of memory");
        vaegan_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

vae *vaegan_vae(vaegan *m) { return m->v; }
transformer *vaegan_decoder(vaegan *m) { return vae_decoder(m->v); }
disc *vaegan_disc(vaegan *m) { return m->d; }
const adamw *vaegan_opt(const vaegan *m) { return &m->opt; }
const adamw *vaegan_disc_opt(const vaegan *m) { return m->d ? &m->dopt : NULL; }
size_t vaegan_n_params_vae(const vaegan *m) { return vae_n_params(m->v); }
size_t vaegan_n_params_disc(const vaegan *m) { return m->d ? disc_n_params(m->d) : 0; }

int vaegan_sizes_ok(const vaegan *m, const int32_t *inputs, const int32_t *targets, int B, int T)
{
    if (!inputs || !targets || B < 1 || T < 1 || B > m->maxB || T > m->maxT) return 0;
    for (int l = 0; l < VAE_LEVELS; l++)
        if (T % m->vc.n_segments[l] != 0) return 0;
    return 1;
}

int vaegan_metrics_list(const vaegan_metrics *mt, const char **names, double *values, int max)
{
    static const char *const nm[VAEGAN_N_METRICS] = {
        "loss", "lr", "grad_norm", "recon", "beta", "kl_global", "kl_segment", "kl_fine", "kl_pen_global",
        "kl_pen_segment", "kl_pen_fine", "active_global", "active_segment", "active_fine", "d_loss", "g_adv", "fm",
        "d_acc_real", "d_acc_fake", "adv_weight", "tau", "g_update", "d_lr", "d_grad_norm"};
    double v[VAEGAN_N_METRICS] = {
        mt->loss, mt->lr, mt->grad_norm, mt->recon, mt->beta, mt->kl[0], mt->kl[1], mt->kl[2], mt->kl_pen[0],
        mt->kl_pen[1], mt->kl_pen[2], mt->active[0], mt->active[1], mt->active[2], mt->d_loss, mt->g_adv, mt->fm,
        mt->d_acc_real, mt->d_acc_fake, mt->adv_weight, mt->tau, mt->g_update, mt->d_lr, mt->d_grad_norm};
    for (int i = 0; i < VAEGAN_N_METRICS && i < max; i++) {
        if (names) names[i] = nm[i];
        if (values) values[i] = v[i];
    }
    return VAEGAN_N_METRICS;
}

double vaegan_eval(vaegan *m, const int32_t *inputs, const int32_t *targets, int B, int T, double *recon,
                   double *kl, int *count)
{
    if (!vaegan_sizes_ok(m, inputs, targets, B, T)) return NAN;
    vae_set_beta(m->v, 1.0f);
    float l = vae_forward(m->v, inputs, targets, B, T, 0, VAE_Z_MEAN, 0);
    if (isnan(l)) return NAN;
    const vae_stats *st = vae_last_stats(m->v);
    double k = 0;
    for (int i = 0; i < VAE_LEVELS; i++) k += st->kl[i];
    if (recon) *recon = st->recon;
    if (kl) *kl = k;
    if (count) *count = transformer_target_count(vae_decoder(m->v));
    return st->recon + k / T;
}

/* ---- checkpoints -------------------------------------------------------- */

static void add_int_array(cJSON *o, const char *key, const int *v, int n)
{
    cJSON_AddItemToObject(o, key, cJSON_CreateIntArray(v, n));
}

static void add_opt(cJSON *h, const char *key, const adamw *o)
{
    cJSON *j = cJSON_AddObjectToObject(h, key);
    cJSON_AddNumberToObject(j, "step", (double)o->step);
    cJSON_AddNumberToObject(j, "t", (double)o->t);
    cJSON_AddNumberToObject(j, "lr_mult", o->lr_mult);
    cJSON_AddNumberToObject(j, "n_skipped", (double)o->n_skipped);
}

static int read_opt(const cJSON *h, const char *key, adamw *o)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(h, key);
    double step = json_num_field(j, "step", -1), t = json_num_field(j, "t", -1);
    double mult = json_num_field(j, "lr_mult", -1), skipped = json_num_field(j, "n_skipped", 0);
    if (!(mult > 0 && mult <= 1) || !(step >= 0 && step < 1e15) || !(t >= 0 && t <= step) ||
        !(skipped >= 0 && skipped <= step))
        return -1;
    o->step = (long)step;
    o->t = (long)t;
    o->lr_mult = (float)mult;
    o->n_skipped = (long)skipped;
    return 0;
}

static cJSON *make_header(const vaegan *m, const cJSON *meta)
{
    cJSON *h = meta ? cJSON_Duplicate(meta, 1) : cJSON_CreateObject();
    if (!h) return NULL;
    const char *own[] = {"mode", "vocab_version", "model", "vae", "disc", "gan", "optimizer", "d_optimizer", "last_g"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) cJSON_DeleteItemFromObjectCaseSensitive(h, own[i]);
    cJSON_AddStringToObject(h, "mode", m->d ? "vae_gan" : "vae");
    cJSON_AddNumberToObject(h, "vocab_version", model_vocab(&m->mc));
    model_ckpt_config_to_json(cJSON_AddObjectToObject(h, "model"), &m->mc);
    cJSON *v = cJSON_AddObjectToObject(h, "vae");
    cJSON_AddNumberToObject(v, "window", m->maxT);
    cJSON_AddNumberToObject(v, "enc_layers", m->vc.enc_layers);
    add_int_array(v, "latent_dim", m->vc.latent_dim, VAE_LEVELS);
    add_int_array(v, "n_segments", m->vc.n_segments, VAE_LEVELS);
    cJSON_AddNumberToObject(v, "free_bits", m->vc.free_bits);
    cJSON_AddStringToObject(v, "beta_schedule", beta_kind_name(m->vc.beta.kind));
    cJSON_AddNumberToObject(v, "beta_max", m->vc.beta.beta_max);
    cJSON_AddNumberToObject(v, "beta_warmup_steps", (double)m->vc.beta.warmup_steps);
    cJSON_AddNumberToObject(v, "beta_cycle_steps", (double)m->vc.beta.cycle_steps);
    if (m->d) {
        const disc_config *c = &m->dc;
        cJSON *d = cJSON_AddObjectToObject(h, "disc");
        cJSON_AddNumberToObject(d, "vocab", c->vocab);
        cJSON_AddNumberToObject(d, "embed", c->embed);
        cJSON_AddNumberToObject(d, "hidden", c->hidden);
        cJSON_AddNumberToObject(d, "n_layers", c->n_layers);
        cJSON_AddNumberToObject(d, "kernel", c->kernel);
        add_int_array(d, "scales", c->scales, c->n_scales);
        cJSON_AddNumberToObject(d, "leaky", c->leaky);
        cJSON_AddNumberToObject(d, "sn_iters", c->sn_iters);
        cJSON_AddNumberToObject(d, "lr", c->lr);
        cJSON_AddNumberToObject(d, "beta1", c->beta1);
        cJSON_AddNumberToObject(d, "beta2", c->beta2);
        cJSON_AddNumberToObject(d, "weight_decay", c->weight_decay);
        cJSON_AddNumberToObject(d, "grad_clip", c->grad_clip);
        cJSON_AddNumberToObject(d, "n_critic", c->n_critic);
        cJSON_AddStringToObject(d, "loss", gan_loss_kind_name(c->loss));
        cJSON *g = cJSON_AddObjectToObject(h, "gan");
        cJSON_AddNumberToObject(g, "tau", m->gc.tau);
        cJSON_AddNumberToObject(g, "tau_min", m->gc.tau_min);
        cJSON_AddNumberToObject(g, "tau_anneal_steps", (double)m->gc.tau_anneal_steps);
        cJSON_AddNumberToObject(g, "adv_weight", m->gc.adv_weight);
        cJSON_AddNumberToObject(g, "adv_weight_max", m->gc.adv_weight_max);
        cJSON_AddNumberToObject(g, "fm_weight", m->gc.fm_weight);
        cJSON_AddNumberToObject(g, "start_step", (double)m->gc.start_step);
        add_opt(h, "d_optimizer", &m->dopt);
        cJSON *lg = cJSON_AddObjectToObject(h, "last_g");
        cJSON_AddNumberToObject(lg, "g_adv", m->last_g_adv);
        cJSON_AddNumberToObject(lg, "fm", m->last_fm);
        cJSON_AddNumberToObject(lg, "adv_weight", m->last_adv_weight);
    }
    add_opt(h, "optimizer", &m->opt);
    return h;
}

/* The VAE's tensors ("vae.<name>") then, with D, the discriminator's (its
 * spectral-norm buffers without moments) as a model_ckpt_tensor list
 * (malloc'd, *n set; NULL when out of memory). */
static model_ckpt_tensor *tensor_list(const vae *v, const disc *d, int *n)
{
    int nv = vae_n_tensors(v), nd = d ? disc_n_tensors(d) : 0;
    model_ckpt_tensor *list = calloc((size_t)(nv + nd) + 1, sizeof *list);
    *n = nv + nd;
    for (int i = 0; list && i < nv + nd; i++)
        list[i] = i < nv ? model_ckpt_tensor_of(vae_tensor_at(v, i), "vae.")
                         : model_ckpt_tensor_of(disc_tensor_at(d, i - nv), "");
    return list;
}

int vaegan_save(const char *path, const vaegan *m, const cJSON *meta, char err[AURL_ERR_LEN])
{
    int n;
    model_ckpt_tensor *list = tensor_list(m->v, m->d, &n);
    cJSON *h = make_header(m, meta);
    int rc = -1;
    if (!list || !h) errmsg_set(err, "%s: out of memory writing checkpoint", path);
    else rc = model_ckpt_save_tensors(path, h, list, n, 1, MODEL_CKPT_MOMENTS_SUFFIX, err);
    cJSON_Delete(h);
    free(list);
    return rc;
}

/* Open PATH and parse its header; checks it is a vaegan checkpoint of this vocabulary. */
static cJSON *open_header(const char *path, ckpt_file **f, char err[AURL_ERR_LEN])
{
    static const char *const kinds[] = {"vae_gan", "vae", NULL};
    return model_ckpt_open_header(path, "mode", kinds, "vae / vae_gan", f, err);
}

/* Read the tensors of V and D (may be NULL), moments too when with_opt. */
static int read_tensors(ckpt_file *f, vae *v, disc *d, int with_opt, char err[AURL_ERR_LEN])
{
    int n;
    model_ckpt_tensor *list = tensor_list(v, d, &n);
    if (!list) {
        errmsg_set(err, "out of memory reading checkpoint");
        return -1;
    }
    int rc = model_ckpt_read_tensors(f, list, n, with_opt, MODEL_CKPT_MOMENTS_SUFFIX, err);
    free(list);
    return rc;
}

int vaegan_load(const char *path, vaegan *m, int with_optimizer, cJSON **meta, char err[AURL_ERR_LEN])
{
    ckpt_file *f = NULL;
    if (meta) *meta = NULL;
    cJSON *h = open_header(path, &f, err);
    if (!h) return -1;
    int rc = -1;
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(h, "mode");
    if (!strcmp(mode->valuestring, "vae_gan") != (m->d != NULL)) {
        errmsg_set(err, "%s: checkpoint mode '%s' does not match this model (%s)", path, mode->valuestring,
                   m->d ? "vae_gan" : "vae");
        goto done;
    }
    if (read_tensors(f, m->v, m->d, with_optimizer, err) != 0) goto done;
    if (with_optimizer) {
        if (read_opt(h, "optimizer", &m->opt) != 0 || (m->d && read_opt(h, "d_optimizer", &m->dopt) != 0)) {
            errmsg_set(err, "%s: optimizer state missing or out of range", path);
            goto done;
        }
        const cJSON *lg = cJSON_GetObjectItemCaseSensitive(h, "last_g");
        m->last_g_adv = (float)json_num_field(lg, "g_adv", 0);
        m->last_fm = (float)json_num_field(lg, "fm", 0);
        m->last_adv_weight = (float)json_num_field(lg, "adv_weight", 0);
    }
    rc = 0;
done:
    if (rc == 0 && meta) *meta = h;
    else cJSON_Delete(h);
    ckpt_close(f);
    return rc;
}

/* Integer member KEY in [lo, hi], or -1 (invalid) when absent / out of range. */
static int jint(const cJSON *o, const char *key, double lo, double hi)
{
    int64_t v;
    return json_num_int_field(o, key, lo, hi, &v) == 0 ? (int)v : -1;
}

/* An integer array of exactly n (or, with n_out, 1..max) entries in [1, INT_MAX]. */
static int jint_array(const cJSON *o, const char *key, int *out, int n, int *n_out, int max)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    int len = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n_out ? (len < 1 || len > max) : len != n) return -1;
    for (int i = 0; i < len; i++) {
        int64_t v;
        if (json_num_int(cJSON_GetArrayItem(a, i), 1, INT_MAX, &v) != 0) return -1;
        out[i] = (int)v;
    }
    if (n_out) *n_out = len;
    return 0;
}

int vaegan_read_configs(const char *path, model_config *mc_out, vae_config *vc_out, disc_config *dc_out,
                        int *use_gan, char err[AURL_ERR_LEN])
{
    ckpt_file *f = NULL;
    cJSON *h = open_header(path, &f, err);
    if (!h) return -1;
    int rc = -1;
    char msg[AURL_ERR_LEN];
    model_config mc;
    vae_config vc;
    disc_config dc = disc_config_default();
    vae_config_defaults(&vc);
    int gan = !strcmp(cJSON_GetObjectItemCaseSensitive(h, "mode")->valuestring, "vae_gan");
    if (model_ckpt_config_from_json(cJSON_GetObjectItemCaseSensitive(h, "model"), &mc, msg) != 0) {
        errmsg_set(err, "%s: %s", path, msg);
        goto done;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, "vae");
    const cJSON *bs = cJSON_GetObjectItemCaseSensitive(v, "beta_schedule");
    int window = jint(v, "window", 1, INT_MAX);
    vc.enc_layers = jint(v, "enc_layers", 1, 1024);
    vc.free_bits = (float)json_num_field(v, "free_bits", -1);
    vc.beta.beta_max = (float)json_num_field(v, "beta_max", -1);
    vc.beta.warmup_steps = (long)json_num_field(v, "beta_warmup_steps", -1);
    vc.beta.cycle_steps = (long)json_num_field(v, "beta_cycle_steps", -1);
    if (!cJSON_IsObject(v) || jint_array(v, "latent_dim", vc.latent_dim, VAE_LEVELS, NULL, 0) ||
        jint_array(v, "n_segments", vc.n_segments, VAE_LEVELS, NULL, 0) || !cJSON_IsString(bs) ||
        beta_kind_parse(bs->valuestring, &vc.beta.kind) != 0 ||
        vae_config_validate(&vc, &mc, window, msg) != 0) {
        errmsg_set(err, "%s: vae config missing or invalid", path);
        goto done;
    }
    if (gan) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(h, "disc");
        const cJSON *loss = cJSON_GetObjectItemCaseSensitive(d, "loss");
        dc.vocab = jint(d, "vocab", 1, 1 << 20);
        dc.embed = jint(d, "embed", 1, 1 << 20);
        dc.hidden = jint(d, "hidden", 1, 1 << 20);
        dc.n_layers = jint(d, "n_layers", 1, DISC_MAX_LAYERS);
        dc.kernel = jint(d, "kernel", 1, 1 << 10);
        dc.leaky = (float)json_num_field(d, "leaky", -1);
        dc.sn_iters = jint(d, "sn_iters", 0, 1000);
        dc.lr = (float)json_num_field(d, "lr", -1);
        dc.beta1 = (float)json_num_field(d, "beta1", -1);
        dc.beta2 = (float)json_num_field(d, "beta2", -1);
        dc.weight_decay = (float)json_num_field(d, "weight_decay", -1);
        dc.grad_clip = (float)json_num_field(d, "grad_clip", 0);
        dc.n_critic = jint(d, "n_critic", 1, 1000);
        if (!cJSON_IsObject(d) || jint_array(d, "scales", dc.scales, 0, &dc.n_scales, DISC_MAX_SCALES) ||
            !cJSON_IsString(loss) || gan_loss_kind_parse(loss->valuestring, &dc.loss) != 0 ||
            disc_config_validate(&dc, msg) != 0) {
            errmsg_set(err, "%s: disc config missing or invalid", path);
            goto done;
        }
    }
    if (mc_out) *mc_out = mc;
    if (vc_out) *vc_out = vc;
    if (dc_out) *dc_out = dc;
    if (use_gan) *use_gan = gan;
    rc = 0;
done:
    cJSON_Delete(h);
    ckpt_close(f);
    return rc;
}

int vaegan_load_decoder_from(vaegan *m, const char *transformer_ckpt, char err[AURL_ERR_LEN])
{
    return model_ckpt_load(transformer_ckpt, vae_decoder(m->v), NULL, NULL, err);
}

int vaegan_load_vae_for_inference(const char *path, int B, int T, vae **out, char err[AURL_ERR_LEN])
{
    *out = NULL;
    model_config mc;
    vae_config vc;
    char msg[AURL_ERR_LEN];
    if (vaegan_read_configs(path, &mc, &vc, NULL, NULL, err) != 0) return -1;
    vae *v;
    if (vae_create(&v, &mc, &vc, B, T, 0, msg) != 0) {
        errmsg_set(err, "%s: %s", path, msg);
        return -1;
    }
    ckpt_file *f = NULL;
    cJSON *h = open_header(path, &f, err);
    int rc = h && read_tensors(f, v, NULL, 0, err) == 0 ? 0 : -1;
    cJSON_Delete(h);
    ckpt_close(f);
    if (rc != 0) {
        vae_free(v);
        return -1;
    }
    *out = v;
    return 0;
}
