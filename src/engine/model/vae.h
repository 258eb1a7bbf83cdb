/* vae: the hierarchical-latent VAE of docs/DESIGN.md §8 (stage 3).
 *   encoder:  h = LN_f(blocks_bidirectional(enc_wte[tok] + enc_pos[t]))      (no dropout)
 *   levels l = global (1 segment), segment (8), fine (32) by default; segment
 *     s of level l covers positions [s*T/S_l, (s+1)*T/S_l) of the window:
 *     pooled = mean of h over the segment; mu = Wmu pooled + b; logvar = Wlv pooled + b
 *     z = mu + exp(logvar/2) * eps, eps ~ N(0, I) from a seed (reparameterisation)
 *   decoder:  the transformer of transformer mode (vae_decoder), its
 *     embeddings plus cond[t] = sum_l (Wp_l z_l[segment of t] + bp_l)
 *     (through transformer_set_cond), causal, tied head, cross-entropy.
 *   loss = recon + beta * sum_l kl_pen_l / T
 *     recon: mean cross-entropy per non-PAD target (PAD ignored);
 *     kl_pen_l: level l's KL after free bits (kl.h), nats per example, so
 *     dividing by the window length T puts it on the per-token scale of recon.
 * The encoder shares d_model, n_heads, d_ff, positions and vocabulary with
 * the decoder's model_config; its depth is vae_config.enc_layers.
 * Memory: the encoder/latent parameters (params|grads|m|v) in one arena,
 * their activations in another, sized at creation for B x T; the decoder
 * keeps its own arenas. forward/backward/step never allocate. */
#ifndef AURL_VAE_H
#define AURL_VAE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/nn/adamw.h"
#include "engine/nn/kl.h"
#include "engine/model/model_config.h"
#include "engine/model/transformer.h"
#include "util/fileio.h"

#define VAE_LEVELS 3

typedef struct {
    int enc_layers;                /* bidirectional encoder blocks (default 2) */
    int latent_dim[VAE_LEVELS];    /* per level (default 64, 32, 16) */
    int n_segments[VAE_LEVELS];    /* per level (default 1, 8, 32); the window T must be divisible */
    beta_schedule beta;            /* default linear, warmup 10000, cycle 10000, beta_max 1 */
    float free_bits;               /* nats per latent dimension (default 0.05), see kl.h */
} vae_config;

/* How the decoder's z is made in a forward. */
typedef enum {
    VAE_Z_SAMPLE = 0,    /* z = mu + sigma * eps, eps drawn from the forward's seed (training) */
    VAE_Z_MEAN = 1,      /* z = mu (posterior mean) */
    VAE_Z_PRIOR = 2,     /* z = eps ~ N(0, I): ignores the encoder */
    VAE_Z_SHUFFLE = 3,   /* z of example b = posterior mean of example (b+1) mod B */
    VAE_Z_FIXED_EPS = 4  /* as SAMPLE with the eps the caller wrote into vae_eps() */
} vae_zmode;

/* What the last forward measured (per-example nats; see kl.h). */
typedef struct {
    float loss, recon, beta;
    float kl[VAE_LEVELS];      /* plain KL per level */
    float kl_pen[VAE_LEVELS];  /* after free bits (what the loss penalises, times beta / T) */
    int active[VAE_LEVELS];    /* latent dims with mean KL > KL_ACTIVE_NATS (0.01 nats) */
} vae_stats;

typedef struct vae vae;

/* Level names: "global", "segment", "fine". */
extern const char *const vae_level_names[VAE_LEVELS];

/* Defaults listed in vae_config. */
void vae_config_defaults(vae_config *vc);
/* 0 if vc is usable with model config mc and window T, else -1 and a
 * one-line message in err. */
int vae_config_validate(const vae_config *vc, const model_config *mc, int T, char err[AURL_ERR_LEN]);

/* Build for batches up to B x T (T divisible by every n_segments) with
 * weights from seed (encoder GPT-2 init as transformer.c, heads normal(0,
 * 0.02), biases 0; the decoder is transformer_create(mc, B, T, seed)).
 * Stage 3 then loads stage 2's weights into vae_decoder(). */
int vae_create(vae **out, const model_config *mc, const vae_config *vc, int B, int T, uint64_t seed,
               char err[AURL_ERR_LEN]);
void vae_free(vae *m);

/* The decoder transformer (owned by the VAE): load a transformer checkpoint
 * into it, or sample from it with vae_cond_from_z's conditioning. */
transformer *vae_decoder(vae *m);
const vae_config *vae_get_config(const vae *m);

/* Beta for the next forwards: vae_set_step uses the schedule at `step`. */
void vae_set_step(vae *m, long step);
void vae_set_beta(vae *m, float beta);

/* Forward on inputs/targets (B, T) (T divisible by every n_segments; bad
 * tokens become UNK / PAD as in transformer_forward). Returns the loss
 * (recon + beta * KL term; without targets recon is 0) or NAN on bad
 * sizes. seed drives eps and the decoder's dropout (training=1). */
float vae_forward(vae *m, const int32_t *inputs, const int32_t *targets, int B, int T, int training, vae_zmode zm,
                  uint64_t seed);
/* Accumulate d(loss)/d(params) of the last forward (encoder gradients flow
 * through z only in SAMPLE, FIXED_EPS and MEAN modes; KL always). */
void vae_backward(vae *m);
/* As vae_backward with an extra d(loss)/d(logits) (B*T, V) added to
 * xent_weight * d(recon)/d(logits) (see transformer_backward_with_dlogits). */
void vae_backward_with_dlogits(vae *m, const float *dlogits_extra, float xent_weight);
void vae_zero_grad(vae *m);
/* AdamW over every tensor (encoder, heads, decoder); zeroes gradients after. */
adamw_result vae_step(vae *m, adamw *opt, float loss);

/* The KL's per-dimension sums over the last forward's rows (vae_kl_n_dims
 * doubles: the levels' latent_dim concatenated), which micro-batches and
 * ranks add up to the global batch's. */
int vae_kl_n_dims(const vae *m);
void vae_kl_sums(const vae *m, double *sums);
/* After a forward on a micro-batch: take the global batch's KL sums over
 * B_total examples, so the statistics (kl, kl_pen, active, loss) and the
 * next backward (free-bits mask, mean over B_total) are the global batch's
 * (with the micro-batch's own recon). */
void vae_set_kl_batch(vae *m, const double *sums, int B_total);

/* The last forward's loss terms. */
const vae_stats *vae_last_stats(const vae *m);
/* Metric names and values of the last forward ("loss", "recon", "beta",
 * "kl_<level>", "kl_pen_<level>", "active_<level>"): fills up to max
 * entries, returns how many there are (VAE_N_METRICS). */
#define VAE_N_METRICS (3 + 3 * VAE_LEVELS)
int vae_metrics(const vae *m, const char **names, double *values, int max);

/* The flat arrays behind every tensor: the VAE's own (encoder and heads,
 * decoder 0) or its decoder's (1); *n gets the length. */
typedef enum { VAE_PARAMS = 0, VAE_GRADS = 1, VAE_ADAM_M = 2, VAE_ADAM_V = 3 } vae_array_kind;
float *vae_array(vae *m, int decoder, vae_array_kind what, size_t *n);

/* Parameters: encoder + heads + decoder. */
size_t vae_n_params(const vae *m);
/* Count without building (0 if either config is invalid for window T). */
size_t vae_count_params(const model_config *mc, const vae_config *vc, int T);
/* Named tensors for checkpoints: "enc.wte.weight", "enc.blocks.0.attn.qkv.weight",
 * "enc.ln_f.weight", "latent.global.mu.weight", "latent.fine.proj.bias", ...,
 * then the decoder's as "dec.<transformer name>" (same views as the decoder's). */
int vae_n_tensors(const vae *m);
const nn_tensor *vae_tensor_at(const vae *m, int i);
const nn_tensor *vae_tensor_find(const vae *m, const char *name);

/* Total latent floats per window: sum_l n_segments[l] * latent_dim[l];
 * z / mu vectors are the levels concatenated (global, segment, fine), each
 * row-major (segment, dim). */
int vae_latent_dim(const vae *m);
/* Posterior mean of one window tokens[0..T) into mu_out (vae_latent_dim
 * floats). Reuses the activation buffers (the last forward is lost).
 * Returns 0, or -1 on a bad T. */
int vae_encode(vae *m, const int32_t *tokens, int T, float *mu_out);
/* The decoder conditioning (T x C) for latent z (vae_latent_dim floats),
 * for transformer_set_cond(vae_decoder(m), cond_out). Returns 0 or -1. */
int vae_cond_from_z(vae *m, const float *z, int T, float *cond_out);
/* The eps buffer of level l for VAE_Z_FIXED_EPS: B*n_segments[l]*latent_dim[l] floats (created B). */
float *vae_eps(vae *m, int level);
#endif
