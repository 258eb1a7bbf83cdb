/* transformer: the GPT-2-like pre-LayerNorm causal decoder of docs/DESIGN.md §8.
 *   x = dropout(wte[tok] + pos[t])                (pos: learned wpe or sinusoidal)
 *   L x [ x += dropout(proj(attn(qkv(LN1(x)))));  x += dropout(fc2(gelu(fc1(LN2(x))))) ]
 *   logits = LN_f(x) @ wte^T (tied);  loss = cross-entropy, PAD (id 2) targets ignored.
 * Memory: one allocation holds parameters, gradients and the AdamW moments
 * (four equal flat arrays with named tensor views), one holds activations
 * for the (B, T) given at creation. forward/backward/step never allocate. */
#ifndef AURL_TRANSFORMER_H
#define AURL_TRANSFORMER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/nn/adamw.h"
#include "engine/nn/tensor_table.h"
#include "engine/model/model_config.h"
#include "util/fileio.h"

#define TRANSFORMER_PAD 2

typedef struct transformer transformer;

/* Build a model for batches up to B x T (T <= cfg->max_seq_len), weights
 * initialised from `seed`: normal(0, 0.02), residual projections scaled by
 * 1/sqrt(2L), biases 0, LayerNorm 1/0. Returns 0, or -1 with err set. */
int transformer_create(transformer **out, const model_config *cfg, int B, int T, uint64_t seed,
                       char err[AURL_ERR_LEN]);
/* Free the model and its arenas (NULL is fine). */
void transformer_free(transformer *m);

/* Forward pass on inputs (B, T) (B, T at most the created sizes; tokens
 * outside [0, V) are treated as UNK (3)). With targets: returns the mean
 * cross-entropy over non-PAD targets (0 if all are PAD) and keeps what
 * backward needs; without: returns 0 and only logits are meaningful.
 * training=1 enables dropout, with masks drawn from dropout_seed. */
float transformer_forward(transformer *m, const int32_t *inputs, const int32_t *targets, int B, int T,
                          int training, uint64_t dropout_seed);
/* Set every gradient to 0 (backward accumulates). */
void transformer_zero_grad(transformer *m);
/* Accumulate d(loss)/d(params) of the last forward (which had targets). */
void transformer_backward(transformer *m);

/* Conditioning hook (VAE decoder): cond (B*T, C) row-major, added to the
 * token+position embeddings (before embedding dropout) by every later
 * forward until replaced or cleared with NULL. The caller keeps the buffer
 * alive and sized for the forwards' B x T; it is read only during forward. */
void transformer_set_cond(transformer *m, const float *cond);
/* After a backward: d(loss)/d(summed embeddings) (B*T, C), i.e. the
 * gradient with respect to the conditioning input; NULL before any
 * backward of the current forward. Valid until the next forward/backward. */
const float *transformer_cond_grad(const transformer *m);
/* Backward with an extra loss on the logits: d(loss)/d(logits) =
 * xent_weight * d(cross-entropy)/d(logits) + dlogits_extra (B*T, V) (NULL:
 * none). The cross-entropy part needs a forward with targets (otherwise it
 * is skipped and dlogits_extra is required). Accumulates into the
 * gradients like transformer_backward (which equals weight 1, extra NULL)
 * and fills transformer_cond_grad. Returns 0, or -1 when there is nothing
 * to back-propagate (no forward, or no targets and no extra). */
int transformer_backward_with_dlogits(transformer *m, const float *dlogits_extra, float xent_weight);

/* Logits (B*T, V) of the last forward. */
const float *transformer_logits(const transformer *m);
/* Number of non-PAD targets in the last forward. */
int transformer_target_count(const transformer *m);
const model_config *transformer_config(const transformer *m);

size_t transformer_n_params(const transformer *m);
int transformer_n_tensors(const transformer *m);
const nn_tensor *transformer_tensor_at(const transformer *m, int i);
/* Tensor by name, or NULL. */
const nn_tensor *transformer_tensor_find(const transformer *m, const char *name);

/* Flat views (n_params floats each), for checkpoints. */
float *transformer_params(transformer *m);
float *transformer_grads(transformer *m);
float *transformer_adam_m(transformer *m);
float *transformer_adam_v(transformer *m);

/* Bytes of the parameter arena and of the activation arena. */
size_t transformer_param_bytes(const transformer *m);
size_t transformer_act_bytes(const transformer *m);

/* One AdamW step over all tensors (decay on matrices only) with the last
 * forward's loss for the NaN guard. Gradients are zeroed afterwards. */
adamw_result transformer_step(transformer *m, adamw *opt, float loss);

/* Training FLOPs per token (forward + backward, matrix products and
 * attention scores counted as 2 flops per multiply-add; causal attention
 * counts only the keys each query sees). */
double transformer_flops_per_token(const model_config *cfg, int T);
/* Parameter count of a config without building it (0 if the config is
 * invalid, see model_config_validate). */
size_t transformer_count_params(const model_config *cfg);
#endif
