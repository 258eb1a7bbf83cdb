/* tensor_table: a model's table of named parameter tensors, each a view
 * into one flat arena laid out as params | grads | m | v (four equal
 * arrays of n_params floats, the last two AdamW's moments), plus optional
 * state buffers (saved with the model, never optimised) in a second array.
 * Helpers to define the table, bind it to the arenas (with the matching
 * AdamW segments), initialise it GPT-2 style and look tensors up by name. */
#ifndef AURL_TENSOR_TABLE_H
#define AURL_TENSOR_TABLE_H

#include <stddef.h>

#include "engine/nn/adamw.h"
#include "util/rng.h"

#define NN_TENSOR_MAX_DIMS 2

/* A named tensor: views into the flat arrays. */
typedef struct {
    char name[48];          /* e.g. "wte.weight", "blocks.0.attn.qkv.weight" (PyTorch state-dict names) */
    int ndims;              /* 1 or 2 */
    int dims[NN_TENSOR_MAX_DIMS];
    size_t numel;
    size_t offset;          /* into the flat arrays (into the buffer array for a buffer) */
    float *param, *grad, *m, *v; /* grad, m, v NULL for a buffer */
    int decay;              /* AdamW weight decay applies (ndims >= 2, not a buffer) */
    int buffer;             /* 1: state buffer (e.g. spectral-norm u/v), not a parameter */
} nn_tensor;

/* Fill table entry t as a parameter: name, shape d0 x d1 (d1 <= 0: a
 * vector of d0), offset *off (advanced by its size), decay for matrices,
 * buffer 0. The views are set later by tensor_table_bind. */
void tensor_table_define(nn_tensor *t, const char *name, int d0, int d1, size_t *off);

/* Point the views of the n tensors at their offsets: parameters into
 * arena = params|grads|m|v (each n_params floats), buffers' param into bufs
 * (their grad/m/v NULL; bufs may be NULL when there are none). Fills segs
 * (may be NULL) with one AdamW segment per parameter, in table order.
 * Returns the number of segments. */
int tensor_table_bind(nn_tensor *t, int n, float *arena, size_t n_params, float *bufs, adamw_segment *segs);

/* GPT-2 initialisation by name: LayerNorm weights 1, biases 0, other
 * tensors normal(0, 0.02), "attn.proj.weight"/"mlp.fc2.weight" normal(0,
 * 0.02/sqrt(2*n_layers)); draws from r in table order. Biases are left as
 * they are (0 in a zeroed arena). */
void tensor_table_init_gpt2(nn_tensor *t, int n, int n_layers, rng_state *r);

/* Entry i of a table of n, or NULL when i is out of range. */
const nn_tensor *tensor_table_at(const nn_tensor *t, int n, int i);
/* The entry named `name` in a table of n, or NULL. */
const nn_tensor *tensor_table_find(const nn_tensor *t, int n, const char *name);
#endif
