/* block: one pre-LayerNorm transformer block, shared by the causal decoder
 * (transformer.c) and the VAE's bidirectional encoder (vae.c):
 *   res2 = x + dropout(proj(attn(qkv(LN1(x)))));  out = res2 + dropout(fc2(gelu(fc1(LN2(res2)))))
 * plus the small helpers both models use to lay out their arenas and
 * parameter tables (bump allocation, tensor naming, GPT-2 initialisation). */
#ifndef AURL_BLOCK_H
#define AURL_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "engine/nn/attention.h"
#include "util/rng.h"
#include "engine/model/transformer.h"

/* Per-block parameter tensors, in table order (PyTorch names in block_param_names). */
enum {
    BLOCK_LN1W, BLOCK_LN1B, BLOCK_QKVW, BLOCK_QKVB, BLOCK_PROJW, BLOCK_PROJB,
    BLOCK_LN2W, BLOCK_LN2B, BLOCK_FC1W, BLOCK_FC1B, BLOCK_FC2W, BLOCK_FC2B, BLOCK_N_PARAMS
};

/* Geometry and dropout of one pass through a block stack. */
typedef struct {
    int B, T, C, F, NH;
    const attn_config *attn;
    float dropout;          /* p; used only when training */
    int training;           /* 1: dropout active */
    uint64_t dropout_seed;
} block_run;

/* Activations one block saves for its backward pass. */
typedef struct {
    float *ln1, *ln1_mean, *ln1_rstd; /* (N,C), (N), (N) */
    float *qkv;                       /* (N,3C) */
    float *att_saved;                 /* attn_saved_size */
    float *atty;                      /* (N,C) attention output before projection */
    float *res2;                      /* (N,C) residual after the attention half */
    float *ln2, *ln2_mean, *ln2_rstd;
    float *fch, *fch_gelu;            /* (N,F) */
    float *res3;                      /* (N,C) block output */
    uint8_t *mask_attn, *mask_mlp;    /* (N*C) dropout masks (NULL when dropout is 0) */
} block_acts;

/* Scratch shared by all blocks of a stack (not saved between calls). */
typedef struct {
    float *scratch;       /* (N,C) projection output before dropout/residual */
    float *attn_work;     /* attn_work_size */
    float *dtmp, *dC;     /* (N,C) */
    float *dbig1, *dbig2; /* (N, max(3C,F)), (N,F) */
} block_work;

/* Bump allocator over an arena (64-byte aligned pieces); with base NULL it
 * only counts bytes, so a layout function can run twice: size, then assign. */
typedef struct {
    char *base;
    size_t off;
} block_bump;
void *block_bump_take(block_bump *b, size_t bytes);

/* Assign one block's activations for N rows (masks only if with_dropout). */
void block_acts_layout(block_acts *a, block_bump *b, const attn_config *attn, int maxB, int maxT, int C, int F,
                       int NH, int with_dropout);
/* Assign the shared scratch for maxB x maxT. */
void block_work_layout(block_work *w, block_bump *b, const attn_config *attn, int maxB, int maxT, int C, int F,
                       int NH);

/* Name of parameter k (e.g. "attn.qkv.weight") and its shape for C, F (d1 0 for vectors). */
extern const char *const block_param_names[BLOCK_N_PARAMS];
void block_param_shape(int k, int C, int F, int *d0, int *d1);

/* Fill table entry t: name, shape, offset (advancing *off by its size). */
void block_tensor_define(transformer_tensor *t, const char *name, int d0, int d1, size_t *off);
/* Point the tensors' param/grad/m/v views into arena = params|grads|m|v
 * (each n_params floats) and fill the matching AdamW segments (segs may be NULL). */
void block_tensors_bind(transformer_tensor *t, int n, float *arena, size_t n_params, adamw_segment *segs);
/* GPT-2 initialisation by name: LayerNorm weights 1, biases 0, other
 * tensors normal(0, 0.02), "attn.proj.weight"/"mlp.fc2.weight" normal(0,
 * 0.02/sqrt(2*n_layers)); draws from r in table order. */
void block_tensors_init(transformer_tensor *t, int n, int n_layers, rng_state *r);

/* Sub-seed of a dropout site (site 0: embeddings, 1+2l / 2+2l: block l). */
uint64_t block_site_seed(uint64_t seed, int site);

/* out = a + b over n floats (out may alias a). */
void block_add(float *out, const float *a, const float *b, size_t n);

/* Forward of block `layer` on x (N,C) into a->res3; p[k] are its parameters. */
void block_forward(block_acts *a, const float *x, float *const *p, block_work *w, const block_run *r, int layer);
/* Backward of block `layer`: dres holds d(res3) on entry and d(x) on exit
 * (accumulated in place); parameter gradients accumulate into g[k]. */
void block_backward(float *dres, const block_acts *a, const float *x, float *const *p, float *const *g,
                    block_work *w, const block_run *r);
/* The gradient before an optional dropout given the one after it: dout
 * itself when not training, else w->dtmp. */
const float *block_dropout_grad(block_work *w, const block_run *r, const float *dout, const uint8_t *mask);
#endif
