/* transformer: parameters, activations, forward and backward of the
 * pre-LN causal decoder, built from the layer functions of src/engine. */
#include "engine/transformer.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/attention.h"
#include "engine/dropout.h"
#include "engine/embedding.h"
#include "engine/gelu.h"
#include "engine/layernorm.h"
#include "engine/linear.h"
#include "engine/loss.h"
#include "engine/model_yaml.h"
#include "engine/rng.h"
#include "util/log.h"

#define ALIGN_BYTES 64
/* The model speaks the tokenizer's vocabulary: its special ids must agree. */
_Static_assert(TRANSFORMER_PAD == TOK_PAD, "TRANSFORMER_PAD must be the tokenizer's PAD");

/* Per-layer parameter tensors, in table order. */
enum {
    P_LN1W, P_LN1B, P_QKVW, P_QKVB, P_PROJW, P_PROJB,
    P_LN2W, P_LN2B, P_FC1W, P_FC1B, P_FC2W, P_FC2B, P_PER_LAYER
};

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

struct transformer {
    model_config cfg;
    int maxB, maxT;
    /* parameters */
    int n_tensors;
    transformer_tensor *tensors;
    adamw_segment *segments;
    size_t n_params;
    float *arena; /* params | grads | m | v */
    size_t param_bytes;
    int t_wte, t_wpe, t_layer0, t_lnfw, t_lnfb; /* tensor indices (t_wpe -1 if sinusoidal) */
    /* activations */
    void *act_arena;
    size_t act_bytes;
    float *pos_table; /* sinusoidal (maxT,C) or NULL */
    int32_t *tokens, *targets;
    float *encoded;
    uint8_t *mask_emb;
    block_acts *blocks;
    float *lnf, *lnf_mean, *lnf_rstd;
    float *logits, *probs;
    float *scratch;          /* (N,C) projection output before dropout/residual */
    float *attn_work;
    float *dres, *dtmp, *dC; /* (N,C) gradient buffers */
    float *dbig1, *dbig2;    /* (N, max(3C,F)), (N,F) */
    float *dlogits;          /* (N,V): aliases probs (xent_backward is elementwise) */
    /* last forward */
    int B, T, training, count, have_targets;
    uint64_t dropout_seed;
};

/* ---- layout helpers ---------------------------------------------------- */

/* Bump allocator over an arena; with base NULL it only counts bytes. */
typedef struct {
    char *base;
    size_t off;
} bump;

static void *bump_take(bump *b, size_t bytes)
{
    b->off = (b->off + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES;
    void *p = b->base ? b->base + b->off : NULL;
    b->off += bytes;
    return p;
}

static int add_tensor(transformer *m, int idx, const char *name, int d0, int d1, size_t *off)
{
    transformer_tensor *t = &m->tensors[idx];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndims = d1 > 0 ? 2 : 1;
    t->dims[0] = d0;
    t->dims[1] = d1 > 0 ? d1 : 0;
    t->numel = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
    t->offset = *off;
    t->decay = t->ndims >= 2;
    *off += t->numel;
    return idx + 1;
}

static float *P(const transformer *m, int idx) { return m->tensors[idx].param; }
static float *G(const transformer *m, int idx) { return m->tensors[idx].grad; }

size_t transformer_count_params(const model_config *c)
{
    char err[AURL_ERR_LEN];
    if (model_config_validate(c, err) != 0) return 0; /* valid sizes cannot overflow a size_t */
    size_t C = (size_t)c->d_model, F = (size_t)c->d_ff, V = (size_t)c->vocab_size;
    size_t per_layer = 2 * C + 3 * C * C + 3 * C + C * C + C + 2 * C + F * C + F + C * F + C;
    size_t n = V * C + (c->learned_pos ? (size_t)c->max_seq_len * C : 0) + (size_t)c->n_layers * per_layer + 2 * C;
    return n;
}

/* Assign activation pointers (or count bytes when b->base is NULL). */
static void layout_acts(transformer *m, bump *b)
{
    const model_config *c = &m->cfg;
    size_t N = (size_t)m->maxB * m->maxT, C = c->d_model, F = c->d_ff, V = c->vocab_size;
    size_t big1 = 3 * C > F ? 3 * C : F;
    int drop = c->dropout > 0.0f;
    m->pos_table = c->learned_pos ? NULL : bump_take(b, (size_t)c->max_seq_len * C * sizeof(float));
    m->tokens = bump_take(b, N * sizeof(int32_t));
    m->targets = bump_take(b, N * sizeof(int32_t));
    m->encoded = bump_take(b, N * C * sizeof(float));
    m->mask_emb = drop ? bump_take(b, N * C) : NULL;
    size_t saved = attn_saved_size(&c->attn, m->maxB, m->maxT, c->n_heads);
    for (int l = 0; l < c->n_layers; l++) {
        block_acts *a = &m->blocks[l];
        a->ln1 = bump_take(b, N * C * sizeof(float));
        a->ln1_mean = bump_take(b, N * sizeof(float));
        a->ln1_rstd = bump_take(b, N * sizeof(float));
        a->qkv = bump_take(b, N * 3 * C * sizeof(float));
        a->att_saved = bump_take(b, saved * sizeof(float));
        a->atty = bump_take(b, N * C * sizeof(float));
        a->res2 = bump_take(b, N * C * sizeof(float));
        a->ln2 = bump_take(b, N * C * sizeof(float));
        a->ln2_mean = bump_take(b, N * sizeof(float));
        a->ln2_rstd = bump_take(b, N * sizeof(float));
        a->fch = bump_take(b, N * F * sizeof(float));
        a->fch_gelu = bump_take(b, N * F * sizeof(float));
        a->res3 = bump_take(b, N * C * sizeof(float));
        a->mask_attn = drop ? bump_take(b, N * C) : NULL;
        a->mask_mlp = drop ? bump_take(b, N * C) : NULL;
    }
    m->lnf = bump_take(b, N * C * sizeof(float));
    m->lnf_mean = bump_take(b, N * sizeof(float));
    m->lnf_rstd = bump_take(b, N * sizeof(float));
    m->logits = bump_take(b, N * V * sizeof(float));
    m->probs = bump_take(b, N * V * sizeof(float));
    m->scratch = bump_take(b, N * C * sizeof(float));
    m->attn_work = bump_take(b, attn_work_size(&c->attn, m->maxB, m->maxT, c->d_model, c->n_heads) * sizeof(float));
    m->dres = bump_take(b, N * C * sizeof(float));
    m->dtmp = bump_take(b, N * C * sizeof(float));
    m->dC = bump_take(b, N * C * sizeof(float));
    m->dbig1 = bump_take(b, N * big1 * sizeof(float));
    m->dbig2 = bump_take(b, N * F * sizeof(float));
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
    m->n_tensors = 1 + (cfg->learned_pos ? 1 : 0) + L * P_PER_LAYER + 2;
    m->tensors = calloc((size_t)m->n_tensors, sizeof *m->tensors);
    m->segments = calloc((size_t)m->n_tensors, sizeof *m->segments);
    m->blocks = calloc((size_t)L, sizeof *m->blocks);
    if (!m->tensors || !m->segments || !m->blocks) goto nomem;

    /* parameter table */
    size_t off = 0;
    int i = 0;
    m->t_wte = i;
    i = add_tensor(m, i, "wte.weight", V, C, &off);
    m->t_wpe = -1;
    if (cfg->learned_pos) {
        m->t_wpe = i;
        i = add_tensor(m, i, "wpe.weight", cfg->max_seq_len, C, &off);
    }
    m->t_layer0 = i;
    for (int l = 0; l < L; l++) {
        char nm[48];
#define ADD(sfx, d0, d1) (snprintf(nm, sizeof nm, "blocks.%d.%s", l, sfx), i = add_tensor(m, i, nm, d0, d1, &off))
        ADD("ln1.weight", C, 0);
        ADD("ln1.bias", C, 0);
        ADD("attn.qkv.weight", 3 * C, C);
        ADD("attn.qkv.bias", 3 * C, 0);
        ADD("attn.proj.weight", C, C);
        ADD("attn.proj.bias", C, 0);
        ADD("ln2.weight", C, 0);
        ADD("ln2.bias", C, 0);
        ADD("mlp.fc1.weight", F, C);
        ADD("mlp.fc1.bias", F, 0);
        ADD("mlp.fc2.weight", C, F);
        ADD("mlp.fc2.bias", C, 0);
#undef ADD
    }
    m->t_lnfw = i;
    i = add_tensor(m, i, "ln_f.weight", C, 0, &off);
    m->t_lnfb = i;
    i = add_tensor(m, i, "ln_f.bias", C, 0, &off);
    m->n_params = off;

    size_t total = 4 * off * sizeof(float);
    m->param_bytes = (total + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES;
    m->arena = aligned_alloc(ALIGN_BYTES, m->param_bytes);
    if (!m->arena) goto nomem;
    memset(m->arena, 0, m->param_bytes);
    for (int k = 0; k < m->n_tensors; k++) {
        transformer_tensor *t = &m->tensors[k];
        t->param = m->arena + t->offset;
        t->grad = m->arena + off + t->offset;
        t->m = m->arena + 2 * off + t->offset;
        t->v = m->arena + 3 * off + t->offset;
        m->segments[k] = (adamw_segment){t->param, t->grad, t->m, t->v, t->numel, t->decay};
    }

    /* activations */
    bump b = {NULL, 0};
    layout_acts(m, &b);
    m->act_bytes = (b.off + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES;
    m->act_arena = aligned_alloc(ALIGN_BYTES, m->act_bytes);
    if (!m->act_arena) goto nomem;
    b = (bump){m->act_arena, 0};
    layout_acts(m, &b);
    if (m->pos_table) embedding_sinusoidal(m->pos_table, cfg->max_seq_len, C);

    /* initialisation (GPT-2) */
    rng_state r;
    rng_seed(&r, seed);
    float proj_std = 0.02f / sqrtf(2.0f * (float)L);
    for (int k = 0; k < m->n_tensors; k++) {
        transformer_tensor *t = &m->tensors[k];
        const char *nm = t->name;
        size_t len = strlen(nm);
        int is_ln = strstr(nm, "ln") != NULL;
        int is_bias = len > 5 && !strcmp(nm + len - 5, ".bias");
        if (is_ln && !is_bias) {
            for (size_t j = 0; j < t->numel; j++) t->param[j] = 1.0f;
        } else if (!is_bias) {
            int is_proj = strstr(nm, "attn.proj.weight") || strstr(nm, "mlp.fc2.weight");
            rng_fill_normal(&r, t->param, (long)t->numel, 0.0f, is_proj ? proj_std : 0.02f);
        }
    }
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

/* out = a + b over n floats (out may alias a). */
static void add_into(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

static uint64_t site_seed(uint64_t seed, int site) { return rng_mix64(seed ^ rng_mix64((uint64_t)site + 1)); }

float transformer_forward(transformer *m, const int32_t *inputs, const int32_t *targets, int B, int T,
                          int training, uint64_t dropout_seed)
{
    const model_config *c = &m->cfg;
    if (!inputs || B < 1 || T < 1 || B > m->maxB || T > m->maxT) {
        log_error("transformer_forward: batch %d x %d exceeds the created %d x %d", B, T, m->maxB, m->maxT);
        m->have_targets = 0;
        return NAN;
    }
    int C = c->d_model, F = c->d_ff, V = c->vocab_size, NH = c->n_heads, N = B * T;
    float p = c->dropout;
    int drop = training && p > 0.0f;
    m->B = B;
    m->T = T;
    m->training = drop;
    m->dropout_seed = dropout_seed;
    for (int i = 0; i < N; i++) m->tokens[i] = inputs[i] >= 0 && inputs[i] < V ? inputs[i] : TOK_UNK;

    const float *pos = c->learned_pos ? P(m, m->t_wpe) : m->pos_table;
    embedding_forward(m->encoded, m->tokens, P(m, m->t_wte), pos, B, T, C);
    if (drop) dropout_forward(m->encoded, m->mask_emb, m->encoded, N * C, p, site_seed(dropout_seed, 0), 1);

    const float *x = m->encoded;
    for (int l = 0; l < c->n_layers; l++) {
        block_acts *a = &m->blocks[l];
        int t0 = m->t_layer0 + l * P_PER_LAYER;
        layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, x, P(m, t0 + P_LN1W), P(m, t0 + P_LN1B), N, C);
        linear_forward(a->qkv, a->ln1, P(m, t0 + P_QKVW), P(m, t0 + P_QKVB), N, C, 3 * C);
        attn_forward(a->atty, a->att_saved, m->attn_work, a->qkv, &c->attn, B, T, C, NH);
        linear_forward(m->scratch, a->atty, P(m, t0 + P_PROJW), P(m, t0 + P_PROJB), N, C, C);
        if (drop) dropout_forward(m->scratch, a->mask_attn, m->scratch, N * C, p, site_seed(dropout_seed, 1 + 2 * l), 1);
        add_into(a->res2, x, m->scratch, (size_t)N * C);
        layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, P(m, t0 + P_LN2W), P(m, t0 + P_LN2B), N, C);
        linear_forward(a->fch, a->ln2, P(m, t0 + P_FC1W), P(m, t0 + P_FC1B), N, C, F);
        gelu_forward(a->fch_gelu, a->fch, N * F);
        linear_forward(m->scratch, a->fch_gelu, P(m, t0 + P_FC2W), P(m, t0 + P_FC2B), N, F, C);
        if (drop) dropout_forward(m->scratch, a->mask_mlp, m->scratch, N * C, p, site_seed(dropout_seed, 2 + 2 * l), 1);
        add_into(a->res3, a->res2, m->scratch, (size_t)N * C);
        x = a->res3;
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

/* Gradient through an optional dropout: returns the buffer holding
 * d(pre-dropout) given d(post-dropout) in dout. */
static const float *dropout_grad(transformer *m, const float *dout, const uint8_t *mask, size_t n)
{
    if (!m->training) return dout;
    memset(m->dtmp, 0, n * sizeof(float));
    dropout_backward(m->dtmp, dout, mask, (int)n, m->cfg.dropout, 1);
    return m->dtmp;
}

void transformer_backward(transformer *m)
{
    if (!m->have_targets) return;
    const model_config *c = &m->cfg;
    int B = m->B, T = m->T, N = B * T, C = c->d_model, F = c->d_ff, V = c->vocab_size, NH = c->n_heads;
    size_t NC = (size_t)N * C;

    xent_backward(m->dlogits, m->probs, m->targets, N, V, TRANSFORMER_PAD, m->count, 1.0f);
    memset(m->dC, 0, NC * sizeof(float));
    linear_backward(m->dC, G(m, m->t_wte), NULL, m->dlogits, m->lnf, P(m, m->t_wte), N, C, V);
    const float *x_last = c->n_layers > 0 ? m->blocks[c->n_layers - 1].res3 : m->encoded;
    memset(m->dres, 0, NC * sizeof(float));
    layernorm_backward(m->dres, G(m, m->t_lnfw), G(m, m->t_lnfb), m->dC, x_last, P(m, m->t_lnfw), m->lnf_mean,
                       m->lnf_rstd, N, C);

    for (int l = c->n_layers - 1; l >= 0; l--) {
        block_acts *a = &m->blocks[l];
        int t0 = m->t_layer0 + l * P_PER_LAYER;
        const float *x = l > 0 ? m->blocks[l - 1].res3 : m->encoded;
        /* MLP half: dres = d(res3) */
        const float *dproj = dropout_grad(m, m->dres, a->mask_mlp, NC);
        memset(m->dbig1, 0, (size_t)N * F * sizeof(float));
        linear_backward(m->dbig1, G(m, t0 + P_FC2W), G(m, t0 + P_FC2B), dproj, a->fch_gelu, P(m, t0 + P_FC2W), N, F, C);
        memset(m->dbig2, 0, (size_t)N * F * sizeof(float));
        gelu_backward(m->dbig2, a->fch, m->dbig1, N * F);
        memset(m->dC, 0, NC * sizeof(float));
        linear_backward(m->dC, G(m, t0 + P_FC1W), G(m, t0 + P_FC1B), m->dbig2, a->ln2, P(m, t0 + P_FC1W), N, C, F);
        layernorm_backward(m->dres, G(m, t0 + P_LN2W), G(m, t0 + P_LN2B), m->dC, a->res2, P(m, t0 + P_LN2W),
                           a->ln2_mean, a->ln2_rstd, N, C);
        /* attention half: dres = d(res2) */
        dproj = dropout_grad(m, m->dres, a->mask_attn, NC);
        memset(m->dC, 0, NC * sizeof(float));
        linear_backward(m->dC, G(m, t0 + P_PROJW), G(m, t0 + P_PROJB), dproj, a->atty, P(m, t0 + P_PROJW), N, C, C);
        memset(m->dbig1, 0, NC * 3 * sizeof(float));
        attn_backward(m->dbig1, m->attn_work, m->dC, a->qkv, a->att_saved, &c->attn, B, T, C, NH);
        memset(m->dC, 0, NC * sizeof(float));
        linear_backward(m->dC, G(m, t0 + P_QKVW), G(m, t0 + P_QKVB), m->dbig1, a->ln1, P(m, t0 + P_QKVW), N, C, 3 * C);
        layernorm_backward(m->dres, G(m, t0 + P_LN1W), G(m, t0 + P_LN1B), m->dC, x, P(m, t0 + P_LN1W), a->ln1_mean,
                           a->ln1_rstd, N, C);
    }
    const float *demb = dropout_grad(m, m->dres, m->mask_emb, NC);
    embedding_backward(G(m, m->t_wte), c->learned_pos ? G(m, m->t_wpe) : NULL, demb, m->tokens, B, T, C);
}

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

const transformer_tensor *transformer_tensor_at(const transformer *m, int i)
{
    return i >= 0 && i < m->n_tensors ? &m->tensors[i] : NULL;
}

const transformer_tensor *transformer_tensor_find(const transformer *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
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
