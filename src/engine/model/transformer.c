/* transformer: parameters, activations, forward and backward of the
 * pre-LN causal decoder, built from the layer functions of src/engine. */
#include "engine/model/transformer.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/nn/attention.h"
#include "engine/nn/block.h"
#include "engine/nn/dropout.h"
#include "engine/nn/embedding.h"
#include "engine/nn/layernorm.h"
#include "engine/nn/linear.h"
#include "engine/nn/loss.h"
#include "engine/nn/rope.h"
#include "engine/model/model_yaml.h"
#include "util/rng.h"
#include "util/log.h"

/* The model speaks the tokenizer's vocabulary: its special ids must agree. */
_Static_assert(TRANSFORMER_PAD == TOK_PAD, "TRANSFORMER_PAD must be the tokenizer's PAD");

struct transformer {
    model_config cfg;
    int maxB, maxT;
    /* parameters */
    int n_tensors;
    nn_tensor *tensors;
    adamw_segment *segments;
    size_t n_params;
    float *arena; /* params | grads | m | v */
    size_t param_bytes;
    int t_wte, t_wpe, t_layer0, t_lnfw, t_lnfb; /* tensor indices (t_wpe -1 if sinusoidal) */
    /* activations */
    void *act_arena;
    size_t act_bytes;
    float *pos_table; /* sinusoidal (maxT,C) or NULL */
    float *rope;      /* rotary table (maxT, hs) or NULL (engine/nn/rope) */
    int32_t *tokens, *targets;
    float *encoded;
    uint8_t *mask_emb;
    block_acts *blocks;
    float *lnf, *lnf_mean, *lnf_rstd;
    float *logits, *probs;
    block_work work;         /* scratch shared by the blocks */
    float *dres, *dC;        /* (N,C) gradient buffers */
    float *dlogits;          /* (N,V): aliases probs (xent_backward is elementwise) */
    const float *cond;       /* optional (B*T, C) added to the embeddings (transformer_set_cond) */
    const float *dcond;      /* d(loss)/d(summed embeddings) of the last backward */
    /* last forward */
    int B, T, training, count, have_targets;
    uint64_t dropout_seed;
};

/* ---- layout helpers ---------------------------------------------------- */

static float *P(const transformer *m, int idx) { return m->tensors[idx].param; }
static float *G(const transformer *m, int idx) { return m->tensors[idx].grad; }

size_t transformer_count_params(const model_config *c)
{
    char err[AURL_ERR_LEN];
    if (model_config_validate(c, err) != 0) return 0; /* valid sizes cannot overflow a size_t */
    size_t C = (size_t)c->d_model, F = (size_t)c->d_ff, V = (size_t)c->vocab_size;
    size_t per_layer = 2 * C + 3 * C * C + 3 * C + C * C + C + 2 * C + F * C + F + C * F + C;
    size_t n = V * C + (c->positions == POS_LEARNED ? (size_t)c->max_seq_len * C : 0) + (size_t)c->n_layers * per_layer + 2 * C;
    return n;
}

/* Assign activation pointers (or count bytes when b->base is NULL). */
static void layout_acts(transformer *m, arena_bump *b)
{
    const model_config *c = &m->cfg;
    size_t N = (size_t)m->maxB * m->maxT, C = c->d_model, V = c->vocab_size;
    int drop = c->dropout > 0.0f;
    m->pos_table = c->positions == POS_SINUSOIDAL ? arena_take(b, (size_t)c->max_seq_len * C * sizeof(float)) : NULL;
    m->rope = c->positions == POS_ROTARY
                  ? arena_take(b, rope_table_size(c->max_seq_len, c->d_model / c->n_heads) * sizeof(float))
                  : NULL;
    m->tokens = arena_take(b, N * sizeof(int32_t));
    m->targets = arena_take(b, N * sizeof(int32_t));
    m->encoded = arena_take(b, N * C * sizeof(float));
    m->mask_emb = drop ? arena_take(b, N * C) : NULL;
    for (int l = 0; l < c->n_layers; l++)
        block_acts_layout(&m->blocks[l], b, &c->attn, m->maxB, m->maxT, c->d_model, c->d_ff, c->n_heads, drop);
    m->lnf = arena_take(b, N * C * sizeof(float));
    m->lnf_mean = arena_take(b, N * sizeof(float));
    m->lnf_rstd = arena_take(b, N * sizeof(float));
    m->logits = arena_take(b, N * V * sizeof(float));
    m->probs = arena_take(b, N * V * sizeof(float));
    block_work_layout(&m->work, b, &c->attn, m->maxB, m->maxT, c->d_model, c->d_ff, c->n_heads);
    m->dres = arena_take(b, N * C * sizeof(float));
    m->dC = arena_take(b, N * C * sizeof(float));
    m->dlogits = m->probs;
}

int transformer_create(transformer **out, const model_config *cfg, int B, int T, uint64_t seed,
                       char err[AURL_ERR_LEN])
{
    *out = NULL;
    if (model_config_validate(cfg, err) != 0) return -1;
    if (B < 1 || T < 1 || T > cfg->max_seq_len) {
        snprintf(err, AURL_ERR_LEN, "transformer: batch %d x %d invalid (T must be 1..max_seq_len %d)", B, T,
                 cfg->max_seq_len);
        return -1;
    }
    /* the layer functions index (B*T) x width arrays with int */
    long long widest = 3LL * cfg->d_model;
    if (cfg->d_ff > widest) widest = cfg->d_ff;
    if (cfg->vocab_size > widest) widest = cfg->vocab_size;
    if ((long long)B * T * widest > INT_MAX) {
        snprintf(err, AURL_ERR_LEN, "transformer: batch %d x %d too large for this model (activations exceed 2^31 floats)",
                 B, T);
        return -1;
    }
    transformer *m = calloc(1, sizeof *m);
    if (!m) goto nomem;
    m->cfg = *cfg;
    m->maxB = B;
    m->maxT = T;
    int L = cfg->n_layers, C = cfg->d_model, F = cfg->d_ff, V = cfg->vocab_size;
    m->n_tensors = 1 + (cfg->positions == POS_LEARNED ? 1 : 0) + L * BLOCK_N_PARAMS + 2;
    m->tensors = calloc((size_t)m->n_tensors, sizeof *m->tensors);
    m->segments = calloc((size_t)m->n_tensors, sizeof *m->segments);
    m->blocks = calloc((size_t)L, sizeof *m->blocks);
    if (!m->tensors || !m->segments || !m->blocks) goto nomem;

    /* parameter table */
    size_t off = 0;
    int i = 0;
    m->t_wte = i;
    tensor_table_define(&m->tensors[i++], "wte.weight", V, C, &off);
    m->t_wpe = -1;
    if (cfg->positions == POS_LEARNED) {
        m->t_wpe = i;
        tensor_table_define(&m->tensors[i++], "wpe.weight", cfg->max_seq_len, C, &off);
    }
    m->t_layer0 = i;
    for (int l = 0; l < L; l++, i += BLOCK_N_PARAMS) block_tensors_define(&m->tensors[i], "", l, C, F, &off);
    m->t_lnfw = i;
    tensor_table_define(&m->tensors[i++], "ln_f.weight", C, 0, &off);
    m->t_lnfb = i;
    tensor_table_define(&m->tensors[i++], "ln_f.bias", C, 0, &off);
    m->n_params = off;

    m->param_bytes = 4 * off * sizeof(float);
    m->arena = arena_alloc(&m->param_bytes, 1);
    if (!m->arena) goto nomem;
    tensor_table_bind(m->tensors, m->n_tensors, m->arena, off, NULL, m->segments);

    /* activations */
    arena_bump b = {NULL, 0};
    layout_acts(m, &b);
    m->act_bytes = b.off;
    m->act_arena = arena_alloc(&m->act_bytes, 0);
    if (!m->act_arena) goto nomem;
    b = (arena_bump){m->act_arena, 0};
    layout_acts(m, &b);
    if (m->pos_table) embedding_sinusoidal(m->pos_table, cfg->max_seq_len, C);
    if (m->rope) rope_table_fill(m->rope, cfg->max_seq_len, C / cfg->n_heads);

    /* initialisation (GPT-2) */
    rng_state r;
    rng_seed(&r, seed);
    tensor_table_init_gpt2(m->tensors, m->n_tensors, L, &r);
    *out = m;
    return 0;
nomem:
    snprintf(err, AURL_ERR_LEN, "transformer: out of memory for d_model %d, %d layers, batch %d x %d",
             cfg->d_model, cfg->n_layers, B, T);
    transformer_free(m);
    return -1;
}

void transformer_free(transformer *m)
{
    if (!m) return;
    free(m->arena);
    free(m->act_arena);
    free(m->tensors);
    free(m->segments);
    free(m->blocks);
    free(m);
}

/* ---- forward / backward ------------------------------------------------ */

/* Parameter (or gradient) pointers of block l, in block table order. */
static void layer_ptrs(const transformer *m, int l, float **p, float **g)
{
    int t0 = m->t_layer0 + l * BLOCK_N_PARAMS;
    for (int k = 0; k < BLOCK_N_PARAMS; k++) {
        p[k] = P(m, t0 + k);
        g[k] = G(m, t0 + k);
    }
}

/* The block geometry of the last (or current) forward. */
static block_run run_of(const transformer *m)
{
    const model_config *c = &m->cfg;
    return (block_run){m->B, m->T, c->d_model, c->d_ff, c->n_heads, &c->attn, c->dropout, m->training, m->dropout_seed,
                       m->rope};
}

void transformer_set_cond(transformer *m, const float *cond) { m->cond = cond; }

float transformer_forward(transformer *m, const int32_t *inputs, const int32_t *targets, int B, int T,
                          int training, uint64_t dropout_seed)
{
    const model_config *c = &m->cfg;
    if (!inputs || B < 1 || T < 1 || B > m->maxB || T > m->maxT) {
        log_error("transformer_forward: batch %d x %d exceeds the created %d x %d", B, T, m->maxB, m->maxT);
        m->have_targets = 0;
        return NAN;
    }
    int C = c->d_model, V = c->vocab_size, N = B * T;
    float p = c->dropout;
    int drop = training && p > 0.0f;
    m->B = B;
    m->T = T;
    m->training = drop;
    m->dropout_seed = dropout_seed;
    m->dcond = NULL;
    for (int i = 0; i < N; i++) m->tokens[i] = inputs[i] >= 0 && inputs[i] < V ? inputs[i] : TOK_UNK;

    const float *pos = c->positions == POS_LEARNED ? P(m, m->t_wpe) : m->pos_table;
    embedding_forward(m->encoded, m->tokens, P(m, m->t_wte), pos, B, T, C);
    if (m->cond) block_add(m->encoded, m->encoded, m->cond, (size_t)N * C);
    if (drop) dropout_forward(m->encoded, m->mask_emb, m->encoded, N * C, p, block_site_seed(dropout_seed, 0), 1);

    block_run run = run_of(m);
    const float *x = m->encoded;
    for (int l = 0; l < c->n_layers; l++) {
        float *pl[BLOCK_N_PARAMS], *gl[BLOCK_N_PARAMS];
        layer_ptrs(m, l, pl, gl);
        block_forward(&m->blocks[l], x, pl, &m->work, &run, l);
        x = m->blocks[l].res3;
    }
    layernorm_forward(m->lnf, m->lnf_mean, m->lnf_rstd, x, P(m, m->t_lnfw), P(m, m->t_lnfb), N, C);
    linear_forward(m->logits, m->lnf, P(m, m->t_wte), NULL, N, C, V);

    m->have_targets = targets != NULL;
    m->count = 0;
    if (!targets) return 0.0f;
    for (int i = 0; i < N; i++) m->targets[i] = targets[i] >= 0 && targets[i] < V ? targets[i] : TRANSFORMER_PAD;
    return xent_forward(m->probs, m->logits, m->targets, N, V, TRANSFORMER_PAD, &m->count);
}

void transformer_zero_grad(transformer *m) { memset(m->arena + m->n_params, 0, m->n_params * sizeof(float)); }

/* Backward from m->dlogits (holding d(loss)/d(logits)) down to the parameters. */
static void backward_from_dlogits(transformer *m)
{
    const model_config *c = &m->cfg;
    int N = m->B * m->T, C = c->d_model, V = c->vocab_size;
    size_t NC = (size_t)N * C;
    block_run run = run_of(m);

    memset(m->dC, 0, NC * sizeof(float));
    linear_backward(m->dC, G(m, m->t_wte), NULL, m->dlogits, m->lnf, P(m, m->t_wte), N, C, V);
    const float *x_last = c->n_layers > 0 ? m->blocks[c->n_layers - 1].res3 : m->encoded;
    memset(m->dres, 0, NC * sizeof(float));
    layernorm_backward(m->dres, G(m, m->t_lnfw), G(m, m->t_lnfb), m->dC, x_last, P(m, m->t_lnfw), m->lnf_mean,
                       m->lnf_rstd, N, C);
    for (int l = c->n_layers - 1; l >= 0; l--) {
        float *pl[BLOCK_N_PARAMS], *gl[BLOCK_N_PARAMS];
        layer_ptrs(m, l, pl, gl);
        const float *x = l > 0 ? m->blocks[l - 1].res3 : m->encoded;
        block_backward(m->dres, &m->blocks[l], x, pl, gl, &m->work, &run);
    }
    const float *demb = block_dropout_grad(&m->work, &run, m->dres, m->mask_emb);
    embedding_backward(G(m, m->t_wte), c->positions == POS_LEARNED ? G(m, m->t_wpe) : NULL, demb, m->tokens, m->B, m->T, C);
    m->dcond = demb;
}

void transformer_backward(transformer *m)
{
    if (!m->have_targets) return;
    xent_backward(m->dlogits, m->probs, m->targets, m->B * m->T, m->cfg.vocab_size, TRANSFORMER_PAD, m->count,
                  1.0f);
    backward_from_dlogits(m);
}

int transformer_backward_with_dlogits(transformer *m, const float *dlogits_extra, float xent_weight)
{
    if (m->B < 1) return -1; /* no forward yet (or the last one failed) */
    size_t n = (size_t)m->B * m->T * m->cfg.vocab_size;
    if (m->have_targets && xent_weight != 0.0f) {
        xent_backward(m->dlogits, m->probs, m->targets, m->B * m->T, m->cfg.vocab_size, TRANSFORMER_PAD, m->count,
                      xent_weight);
    } else {
        if (!dlogits_extra) return -1;
        memset(m->dlogits, 0, n * sizeof(float));
    }
    if (dlogits_extra) block_add(m->dlogits, m->dlogits, dlogits_extra, n);
    backward_from_dlogits(m);
    return 0;
}

const float *transformer_cond_grad(const transformer *m) { return m->dcond; }

adamw_result transformer_step(transformer *m, adamw *opt, float loss)
{
    adamw_result r = adamw_step(opt, m->segments, m->n_tensors, loss);
    transformer_zero_grad(m);
    return r;
}

/* ---- accessors --------------------------------------------------------- */

const float *transformer_logits(const transformer *m) { return m->logits; }
int transformer_target_count(const transformer *m) { return m->count; }
const model_config *transformer_config(const transformer *m) { return &m->cfg; }
size_t transformer_n_params(const transformer *m) { return m->n_params; }
int transformer_n_tensors(const transformer *m) { return m->n_tensors; }

const nn_tensor *transformer_tensor_at(const transformer *m, int i)
{
    return tensor_table_at(m->tensors, m->n_tensors, i);
}

const nn_tensor *transformer_tensor_find(const transformer *m, const char *name)
{
    return tensor_table_find(m->tensors, m->n_tensors, name);
}

float *transformer_params(transformer *m) { return m->arena; }
float *transformer_grads(transformer *m) { return m->arena + m->n_params; }
float *transformer_adam_m(transformer *m) { return m->arena + 2 * m->n_params; }
float *transformer_adam_v(transformer *m) { return m->arena + 3 * m->n_params; }
size_t transformer_param_bytes(const transformer *m) { return m->param_bytes; }
size_t transformer_act_bytes(const transformer *m) { return m->act_bytes; }

/* Mean number of keys a query attends to over positions 0..T-1. */
static double mean_keys(const attn_config *a, int T)
{
    double sum = 0.0;
    long W = a->window < 1 ? 1 : a->window; /* as attention.c treats an unvalidated config */
    for (long t = 0; t < T; t++) {
        long keys = t + 1;
        if (a->kind != ATTN_FULL && keys > W) {
            keys = W;
            if (a->kind == ATTN_HIERARCHICAL && a->stride >= 1) {
                long before = t - W + 1; /* globals g < before with g % s == s-1 */
                keys += before / a->stride;
            }
        }
        sum += (double)keys;
    }
    return T > 0 ? sum / T : 0.0;
}

double transformer_flops_per_token(const model_config *c, int T)
{
    double C = c->d_model, F = c->d_ff, V = c->vocab_size, L = c->n_layers;
    double matmul = L * (4.0 * C * C + 2.0 * C * F) + V * C; /* multiply-adds per token in linear layers */
    double attn = L * 2.0 * C * mean_keys(&c->attn, T);      /* QK^T and PV multiply-adds per token */
    return 6.0 * (matmul + attn);                            /* 2 flops per MAC, x3 for fwd+bwd */
}
