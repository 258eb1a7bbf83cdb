/* vae_sample: generation from the stage-3 VAE (docs/DESIGN.md §8, "VAE latent
 * sampling and interpolation"), free of the command line:
 *   - z from the prior: seeded N(0, I) of vae_latent_dim floats;
 *   - z from a piece: the posterior mean (vae_encode) of its first window of
 *     T tokens (START first, PAD-padded when shorter), as the dataset's first
 *     window of a file;
 *   - interpolation between two z: spherical (slerp, the default: points of
 *     a high-dimensional N(0, I) live near a sphere, so slerp keeps the norm
 *     typical of the prior between the ends where linear interpolation would
 *     shrink it towards the mean) or linear;
 *   - decoding: z -> cond rows (vae_cond_from_z, T x d_model) -> the
 *     decoder transformer through sampler_generate with cond_rows = T. The
 *     VAE decodes one window of T positions (START + up to T - 1 generated
 *     tokens), so the length is capped at T - 1 tokens and nothing slides.
 * Every function is deterministic given its seed / inputs. */
#ifndef AURL_VAE_SAMPLE_H
#define AURL_VAE_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/sample/sampler.h"
#include "engine/model/vae.h"
#include "util/errmsg.h"

typedef enum { VAE_INTERP_SLERP = 0, VAE_INTERP_LINEAR = 1 } vae_interp;

/* "slerp" / "linear". */
const char *vae_interp_name(vae_interp k);

/* Fill z[0..n) with N(0, 1) draws determined by seed (a stream derived
 * from seed, not the sampler's own token stream for the same seed). */
void vae_sample_prior(float *z, int n, uint64_t seed);

/* out = the point at t in [0, 1] between a (t = 0) and b (t = 1), n floats.
 * Slerp follows the great circle between the directions with the norm
 * interpolated linearly between |a| and |b|; it falls back to linear when
 * either vector is ~0 or they are (anti)parallel within 1e-6. out may alias
 * neither a nor b. */
void vae_sample_interp(const float *a, const float *b, int n, double t, vae_interp kind, float *out);

/* The window the encoder reads: the first T of tokens[0..n) (tokens as
 * tok_encode gives them, START first), PAD after the end. Out-of-vocabulary
 * values become UNK. Returns how many came from tokens (min(n, T)). */
int vae_sample_window(const uint16_t *tokens, size_t n, int T, int32_t *window);

/* Largest window length <= want that every level's segment count divides
 * (the VAE's conditioning is laid out per segment); 0 if none >= 1. */
int vae_sample_window_len(const vae_config *vc, int want);

/* Posterior mean of the first window of tokens[0..n) (vae_sample_window)
 * into mu (vae_latent_dim floats). 0, or -1 with err set (bad T, OOM). */
int vae_sample_encode(vae *m, const uint16_t *tokens, size_t n, int T, float *mu, char err[AURL_ERR_LEN]);

/* Decode latent z (vae_latent_dim floats) with the decoder and settings s
 * over a window of T positions: cond rows from z, then sampler_generate
 * with no prefix. s->max_tokens above T - 1 is lowered to T - 1 (the caller
 * may say so). 0, or -1 with err set. */
int vae_sample_decode(vae *m, int T, const float *z, const sampler_settings *s, sampler_progress_fn progress,
                      void *progress_ctx, sampler_result *out, char err[AURL_ERR_LEN]);

/* What a checkpoint file holds, from its header (the file is verified). */
typedef struct {
    int is_vae;  /* header "mode" is "vae_gan" or "vae" (stage 3) */
    int use_gan; /* "vae_gan" */
    int seq_len; /* training window if the header records it ("vae": {"window"}, else "seq_len" at the
                    top or in "data"), else 0 */
} vae_ckpt_info;

/* Read PATH's header. 0, or -1 with err set (unreadable or damaged). */
int vae_sample_probe(const char *path, vae_ckpt_info *info, char err[AURL_ERR_LEN]);
#endif
