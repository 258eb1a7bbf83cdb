/* vae_sample: prior / posterior latents, interpolation and latent-conditioned
 * decoding for the stage-3 VAE (see vae_sample.h). */
#include "engine/sample/vae_sample.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/model/checkpoint.h"
#include "util/rng.h"

/* Mixed into the seed so the prior's stream differs from the sampler's. */
#define PRIOR_SEED_SALT 0x5641455072696f72ull /* "VAEPrior" */

const char *vae_interp_name(vae_interp k)
{
    return k == VAE_INTERP_LINEAR ? "linear" : "slerp";
}

void vae_sample_prior(float *z, int n, uint64_t seed)
{
    rng_state r;
    rng_seed(&r, rng_mix64(seed ^ PRIOR_SEED_SALT));
    rng_fill_normal(&r, z, n, 0.0f, 1.0f);
}

void vae_sample_interp(const float *a, const float *b, int n, double t, vae_interp kind, float *out)
{
    double na = 0, nb = 0, dot = 0;
    for (int i = 0; i < n; i++) {
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
        dot += (double)a[i] * b[i];
    }
    na = sqrt(na);
    nb = sqrt(nb);
    double cosw = na > 1e-12 && nb > 1e-12 ? dot / (na * nb) : 1.0;
    if (cosw > 1) cosw = 1;
    if (cosw < -1) cosw = -1;
    double w = acos(cosw), sw = sin(w);
    if (kind == VAE_INTERP_LINEAR || na <= 1e-12 || nb <= 1e-12 || sw < 1e-6) {
        for (int i = 0; i < n; i++) out[i] = (float)((1 - t) * a[i] + t * b[i]);
        return;
    }
    /* unit directions on the great circle, norm interpolated linearly */
    double ca = sin((1 - t) * w) / sw / na, cb = sin(t * w) / sw / nb, norm = (1 - t) * na + t * nb;
    for (int i = 0; i < n; i++) out[i] = (float)(norm * (ca * a[i] + cb * b[i]));
}

int vae_sample_window(const uint16_t *tokens, size_t n, int T, int32_t *window)
{
    int k = n < (size_t)T ? (int)n : T;
    for (int i = 0; i < k; i++) window[i] = tokens[i] < TOK_VOCAB_SIZE ? tokens[i] : TOK_UNK;
    for (int i = k; i < T; i++) window[i] = TOK_PAD;
    return k;
}

int vae_sample_window_len(const vae_config *vc, int want)
{
    for (int T = want; T >= 1; T--) {
        int ok = 1;
        for (int l = 0; l < VAE_LEVELS && ok; l++) ok = vc->n_segments[l] >= 1 && T % vc->n_segments[l] == 0;
        if (ok) return T;
    }
    return 0;
}

int vae_sample_encode(vae *m, const uint16_t *tokens, size_t n, int T, float *mu, char err[AURL_ERR_LEN])
{
    if (T < 1) {
        errmsg_set(err, "vae_sample: bad window length %d", T);
        return -1;
    }
    int32_t *w = malloc((size_t)T * sizeof *w);
    if (!w) {
        errmsg_set(err, "vae_sample: out of memory");
        return -1;
    }
    vae_sample_window(tokens, n, T, w);
    int rc = vae_encode(m, w, T, mu);
    free(w);
    if (rc) errmsg_set(err, "vae_sample: window of %d tokens does not fit the VAE", T);
    return rc;
}

int vae_sample_decode(vae *m, int T, const float *z, const sampler_settings *s, sampler_progress_fn progress,
                      void *progress_ctx, sampler_result *out, char err[AURL_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    transformer *dec = vae_decoder(m);
    const model_config *mc = transformer_config(dec);
    if (T < 2 || T > mc->max_seq_len) {
        errmsg_set(err, "vae_sample: window %d must be in 2..%d (the decoder's positions)", T, mc->max_seq_len);
        return -1;
    }
    float *cond = malloc((size_t)T * mc->d_model * sizeof(float));
    if (!cond) {
        errmsg_set(err, "vae_sample: out of memory");
        return -1;
    }
    if (vae_cond_from_z(m, z, T, cond)) {
        free(cond);
        errmsg_set(err, "vae_sample: window of %d tokens does not fit the VAE", T);
        return -1;
    }
    sampler_settings ss = *s;
    if (ss.max_tokens > T - 1) ss.max_tokens = T - 1;
    if (ss.min_tokens > ss.max_tokens) ss.min_tokens = ss.max_tokens;
    int rc = sampler_generate(dec, &ss, NULL, 0, cond, T, progress, progress_ctx, out, err);
    free(cond);
    return rc;
}

/* A positive integer member NAME of obj, else 0. */
static int int_member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1) || v->valuedouble > 1e9) return 0;
    return (int)v->valuedouble;
}

int vae_sample_probe(const char *path, vae_ckpt_info *info, char err[AURL_ERR_LEN])
{
    memset(info, 0, sizeof *info);
    ckpt_file *f = NULL;
    if (ckpt_open(path, &f, err)) return -1;
    cJSON *h = cJSON_Parse(ckpt_header_json(f));
    ckpt_close(f);
    if (!cJSON_IsObject(h)) {
        cJSON_Delete(h);
        errmsg_set(err, "%s: checkpoint header is not a JSON object", path);
        return -1;
    }
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(h, "mode");
    if (cJSON_IsString(mode)) {
        info->use_gan = !strcmp(mode->valuestring, "vae_gan");
        info->is_vae = info->use_gan || !strcmp(mode->valuestring, "vae");
    }
    info->seq_len = int_member(cJSON_GetObjectItemCaseSensitive(h, "vae"), "window");
    if (!info->seq_len) info->seq_len = int_member(h, "seq_len");
    if (!info->seq_len) info->seq_len = int_member(cJSON_GetObjectItemCaseSensitive(h, "data"), "seq_len");
    cJSON_Delete(h);
    return 0;
}
