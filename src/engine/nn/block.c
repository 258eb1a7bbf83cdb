/* block: forward/backward of one pre-LN transformer block, its parameter
 * names/shapes and activation layout, shared by transformer.c and vae.c. */
#include "engine/nn/block.h"

#include <stdio.h>
#include <string.h>

#include "engine/nn/dropout.h"
#include "engine/nn/gelu.h"
#include "engine/nn/layernorm.h"
#include "engine/nn/linear.h"
#include "engine/nn/rope.h"
#include "util/rng.h"

void block_acts_layout(block_acts *a, arena_bump *b, const attn_config *attn, int maxB, int maxT, int C, int F,
                       int NH, int with_dropout)
{
    size_t N = (size_t)maxB * maxT;
    size_t saved = attn_saved_size(attn, maxB, maxT, NH);
    a->ln1 = arena_take(b, N * C * sizeof(float));
    a->ln1_mean = arena_take(b, N * sizeof(float));
    a->ln1_rstd = arena_take(b, N * sizeof(float));
    a->qkv = arena_take(b, N * 3 * C * sizeof(float));
    a->att_saved = arena_take(b, saved * sizeof(float));
    a->atty = arena_take(b, N * C * sizeof(float));
    a->res2 = arena_take(b, N * C * sizeof(float));
    a->ln2 = arena_take(b, N * C * sizeof(float));
    a->ln2_mean = arena_take(b, N * sizeof(float));
    a->ln2_rstd = arena_take(b, N * sizeof(float));
    a->fch = arena_take(b, N * F * sizeof(float));
    a->fch_gelu = arena_take(b, N * F * sizeof(float));
    a->res3 = arena_take(b, N * C * sizeof(float));
    a->mask_attn = with_dropout ? arena_take(b, N * C) : NULL;
    a->mask_mlp = with_dropout ? arena_take(b, N * C) : NULL;
}

void block_work_layout(block_work *w, arena_bump *b, const attn_config *attn, int maxB, int maxT, int C, int F,
                       int NH)
{
    size_t N = (size_t)maxB * maxT;
    size_t big1 = 3 * (size_t)C > (size_t)F ? 3 * (size_t)C : (size_t)F;
    w->scratch = arena_take(b, N * C * sizeof(float));
    w->attn_work = arena_take(b, attn_work_size(attn, maxB, maxT, C, NH) * sizeof(float));
    w->dtmp = arena_take(b, N * C * sizeof(float));
    w->dC = arena_take(b, N * C * sizeof(float));
    w->dbig1 = arena_take(b, N * big1 * sizeof(float));
    w->dbig2 = arena_take(b, N * F * sizeof(float));
}

/* PyTorch names of a block's parameters, in table order. */
static const char *const param_names[BLOCK_N_PARAMS] = {
    "ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
    "ln2.weight", "ln2.bias", "mlp.fc1.weight",  "mlp.fc1.bias",  "mlp.fc2.weight",   "mlp.fc2.bias"};

/* Shape of parameter k for C, F (d1 0 for vectors). */
static void param_shape(int k, int C, int F, int *d0, int *d1)
{
    static const int shape[BLOCK_N_PARAMS][2] = {
        /* in units: 1 = C, 3 = 3C, -1 = F, 0 = none */
        {1, 0}, {1, 0}, {3, 1}, {3, 0}, {1, 1}, {1, 0}, {1, 0}, {1, 0}, {-1, 1}, {-1, 0}, {1, -1}, {1, 0}};
    int u[2];
    for (int i = 0; i < 2; i++) {
        int s = shape[k][i];
        u[i] = s == 1 ? C : s == 3 ? 3 * C : s == -1 ? F : 0;
    }
    *d0 = u[0];
    *d1 = u[1];
}

void block_tensors_define(nn_tensor *t, const char *prefix, int layer, int C, int F, size_t *off)
{
    for (int k = 0; k < BLOCK_N_PARAMS; k++) {
        char nm[sizeof t->name];
        int d0, d1;
        snprintf(nm, sizeof nm, "%sblocks.%d.%s", prefix, layer, param_names[k]);
        param_shape(k, C, F, &d0, &d1);
        tensor_table_define(&t[k], nm, d0, d1, off);
    }
}

uint64_t block_site_seed(uint64_t seed, int site) { return rng_mix64(seed ^ rng_mix64((uint64_t)site + 1)); }

void block_add(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 32768)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void block_forward(block_acts *a, const float *x, float *const *p, block_work *w, const block_run *r, int layer)
{
    int N = r->B * r->T, C = r->C, F = r->F;
    int drop = r->training && r->dropout > 0.0f;
    float pd = r->dropout;
    layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, x, p[BLOCK_LN1W], p[BLOCK_LN1B], N, C);
    linear_forward(a->qkv, a->ln1, p[BLOCK_QKVW], p[BLOCK_QKVB], N, C, 3 * C);
    if (r->rope) rope_apply_qk(a->qkv, N, C, r->NH, NULL, r->T, r->rope, 0); /* a->qkv keeps the rotated q, k */
    attn_forward(a->atty, a->att_saved, w->attn_work, a->qkv, r->attn, r->B, r->T, C, r->NH);
    linear_forward(w->scratch, a->atty, p[BLOCK_PROJW], p[BLOCK_PROJB], N, C, C);
    if (drop)
        dropout_forward(w->scratch, a->mask_attn, w->scratch, N * C, pd, block_site_seed(r->dropout_seed, 1 + 2 * layer), 1);
    block_add(a->res2, x, w->scratch, (size_t)N * C);
    layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, p[BLOCK_LN2W], p[BLOCK_LN2B], N, C);
    linear_forward(a->fch, a->ln2, p[BLOCK_FC1W], p[BLOCK_FC1B], N, C, F);
    gelu_forward(a->fch_gelu, a->fch, N * F);
    linear_forward(w->scratch, a->fch_gelu, p[BLOCK_FC2W], p[BLOCK_FC2B], N, F, C);
    if (drop)
        dropout_forward(w->scratch, a->mask_mlp, w->scratch, N * C, pd, block_site_seed(r->dropout_seed, 2 + 2 * layer), 1);
    block_add(a->res3, a->res2, w->scratch, (size_t)N * C);
}

const float *block_dropout_grad(block_work *w, const block_run *r, const float *dout, const uint8_t *mask)
{
    if (!(r->training && r->dropout > 0.0f)) return dout;
    size_t n = (size_t)r->B * r->T * r->C;
    memset(w->dtmp, 0, n * sizeof(float));
    dropout_backward(w->dtmp, dout, mask, (int)n, r->dropout, 1);
    return w->dtmp;
}

void block_backward(float *dres, const block_acts *a, const float *x, float *const *p, float *const *g,
                    block_work *w, const block_run *r)
{
    int N = r->B * r->T, C = r->C, F = r->F;
    size_t NC = (size_t)N * C;
    /* MLP half: dres = d(res3) */
    const float *dproj = block_dropout_grad(w, r, dres, a->mask_mlp);
    memset(w->dbig1, 0, (size_t)N * F * sizeof(float));
    linear_backward(w->dbig1, g[BLOCK_FC2W], g[BLOCK_FC2B], dproj, a->fch_gelu, p[BLOCK_FC2W], N, F, C);
    memset(w->dbig2, 0, (size_t)N * F * sizeof(float));
    gelu_backward(w->dbig2, a->fch, w->dbig1, N * F);
    memset(w->dC, 0, NC * sizeof(float));
    linear_backward(w->dC, g[BLOCK_FC1W], g[BLOCK_FC1B], w->dbig2, a->ln2, p[BLOCK_FC1W], N, C, F);
    layernorm_backward(dres, g[BLOCK_LN2W], g[BLOCK_LN2B], w->dC, a->res2, p[BLOCK_LN2W], a->ln2_mean, a->ln2_rstd,
                       N, C);
    /* attention half: dres = d(res2) */
    dproj = block_dropout_grad(w, r, dres, a->mask_attn);
    memset(w->dC, 0, NC * sizeof(float));
    linear_backward(w->dC, g[BLOCK_PROJW], g[BLOCK_PROJB], dproj, a->atty, p[BLOCK_PROJW], N, C, C);
    memset(w->dbig1, 0, NC * 3 * sizeof(float));
    attn_backward(w->dbig1, w->attn_work, w->dC, a->qkv, a->att_saved, r->attn, r->B, r->T, C, r->NH);
    if (r->rope) rope_apply_qk(w->dbig1, N, C, r->NH, NULL, r->T, r->rope, 1); /* d(q, k) before the rotation */
    memset(w->dC, 0, NC * sizeof(float));
    linear_backward(w->dC, g[BLOCK_QKVW], g[BLOCK_QKVB], w->dbig1, a->ln1, p[BLOCK_QKVW], N, C, 3 * C);
    layernorm_backward(dres, g[BLOCK_LN1W], g[BLOCK_LN1B], w->dC, x, p[BLOCK_LN1W], a->ln1_mean, a->ln1_rstd, N, C);
}
