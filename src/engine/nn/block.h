/* block: one pre-LayerNorm transformer block, shared by the causal decoder
 * (transformer.c) and the VAE's bidirectional encoder (vae.c):
 *   res2 = x + dropout(proj(attn(rope(qkv(LN1(x))))));   (rope: rotary positions only)  out = res2 + dropout(fc2(gelu(fc1(LN2(res2)))))
 * plus the per-block parameter names and shapes and the layout of a
 * block's activations and scratch in an arena (engine/nn/arena.h). */
#ifndef AURL_BLOCK_H
#define AURL_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "engine/nn/arena.h"
#include "engine/nn/attention.h"
#include "engine/nn/tensor_table.h"

/* Per-block parameter tensors, in table order (see block_tensors_define). */
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
    const float *rope;      /* rotary table (engine/nn/rope, positions 0..T-1) or NULL: q and k
                             * are rotated after the qkv projection, dq and dk back before it */
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

/* Assign one block's activations for N rows (masks only if with_dropout). */
void block_acts_layout(block_acts *a, arena_bump *b, const attn_config *attn, int maxB, int maxT, int C, int F,
                       int NH, int with_dropout);
/* Assign the shared scratch for maxB x maxT. */
void block_work_layout(block_work *w, arena_bump *b, const attn_config *attn, int maxB, int maxT, int C, int F,
                       int NH);

/* Define the BLOCK_N_PARAMS parameter tensors of block `layer` at t[0..]
 * in table order, named "<prefix>blocks.<layer>.<name>" (e.g.
 * "enc.blocks.0.attn.qkv.weight"), shaped for C, F, at offsets from *off
 * (advanced past them). */
void block_tensors_define(nn_tensor *t, const char *prefix, int layer, int C, int F, size_t *off);

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
