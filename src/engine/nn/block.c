/* block: forward/backward of one pre-LN transformer block and the arena /
 * parameter-table helpers shared by transformer.c and vae.c. */
#include "engine/nn/block.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/nn/dropout.h"
#include "engine/nn/gelu.h"
#include "engine/nn/layernorm.h"
#include "engine/nn/linear.h"

#define ALIGN_BYTES 64

void *block_bump_take(block_bump *b, size_t bytes)
{
    b->off = (b->off + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES;
    void *p = b->base ? b->base + b->off : NULL;
    b->off += bytes;
    return p;
}

void block_acts_layout(block_acts *a, block_bump *b, const attn_config *attn, int maxB, int maxT, int C, int F,
                       int NH, int with_dropout)
{
    size_t N = (size_t)maxB * maxT;
    size_t saved = attn_saved_size(attn, maxB, maxT, NH);
    a->ln1 = block_bump_take(b, N * C * sizeof(float));
    a->ln1_mean = block_bump_take(b, N * sizeof(float));
    a->ln1_rstd = block_bump_take(b, N * sizeof(float));
    a->qkv = block_bump_take(b, N * 3 * C * sizeof(float));
    a->att_saved = block_bump_take(b, saved * sizeof(float));
    a->atty = block_bump_take(b, N * C * sizeof(float));
    a->res2 = block_bump_take(b, N * C * sizeof(float));
    a->ln2 = block_bump_take(b, N * C * sizeof(float));
    a->ln2_mean = block_bump_take(b, N * sizeof(float));
    a->ln2_rstd = block_bump_take(b, N * sizeof(float));
    a->fch = block_bump_take(b, N * F * sizeof(float));
    a->fch_gelu = block_bump_take(b, N * F * sizeof(float));
    a->res3 = block_bump_take(b, N * C * sizeof(float));
    a->mask_attn = with_dropout ? block_bump_take(b, N * C) : NULL;
    a->mask_mlp = with_dropout ? block_bump_take(b, N * C) : NULL;
}

void block_work_layout(block_work *w, block_bump *b, const attn_config *attn, int maxB, int maxT, int C, int F,
                       int NH)
{
    size_t N = (size_t)maxB * maxT;
    size_t big1 = 3 * (size_t)C > (size_t)F ? 3 * (size_t)C : (size_t)F;
    w->scratch = block_bump_take(b, N * C * sizeof(float));
    w->attn_work = block_bump_take(b, attn_work_size(attn, maxB, maxT, C, NH) * sizeof(float));
    w->dtmp = block_bump_take(b, N * C * sizeof(float));
    w->dC = block_bump_take(b, N * C * sizeof(float));
    w->dbig1 = block_bump_take(b, N * big1 * sizeof(float));
    w->dbig2 = block_bump_take(b, N * F * sizeof(float));
}

const char *const block_param_names[BLOCK_N_PARAMS] = {
    "ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
    "ln2.weight", "ln2.bias", "mlp.fc1.weight",  "mlp.fc1.bias",  "mlp.fc2.weight",   "mlp.fc2.bias"};

void block_param_shape(int k, int C, int F, int *d0, int *d1)
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

void block_tensor_define(transformer_tensor *t, const char *name, int d0, int d1, size_t *off)
{
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndims = d1 > 0 ? 2 : 1;
    t->dims[0] = d0;
    t->dims[1] = d1 > 0 ? d1 : 0;
    t->numel = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
    t->offset = *off;
    t->decay = t->ndims >= 2;
    *off += t->numel;
}

void block_tensors_bind(transformer_tensor *t, int n, float *arena, size_t n_params, adamw_segment *segs)
{
    for (int k = 0; k < n; k++) {
        t[k].param = arena + t[k].offset;
        t[k].grad = arena + n_params + t[k].offset;
        t[k].m = arena + 2 * n_params + t[k].offset;
        t[k].v = arena + 3 * n_params + t[k].offset;
        if (segs) segs[k] = (adamw_segment){t[k].param, t[k].grad, t[k].m, t[k].v, t[k].numel, t[k].decay};
    }
}

void block_tensors_init(transformer_tensor *tab, int n, int n_layers, rng_state *r)
{
    float proj_std = 0.02f / sqrtf(2.0f * (float)n_layers);
    for (int k = 0; k < n; k++) {
        transformer_tensor *t = &tab[k];
        const char *nm = t->name;
        size_t len = strlen(nm);
        int is_ln = strstr(nm, "ln") != NULL;
        int is_bias = len > 5 && !strcmp(nm + len - 5, ".bias");
        if (is_ln && !is_bias) {
            for (size_t j = 0; j < t->numel; j++) t->param[j] = 1.0f;
        } else if (!is_bias) {
            int is_proj = strstr(nm, "attn.proj.weight") || strstr(nm, "mlp.fc2.weight");
            rng_fill_normal(r, t->param, (long)t->numel, 0.0f, is_proj ? proj_std : 0.02f);
        }
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
    memset(w->dC, 0, NC * sizeof(float));
    linear_backward(w->dC, g[BLOCK_QKVW], g[BLOCK_QKVB], w->dbig1, a->ln1, p[BLOCK_QKVW], N, C, 3 * C);
    layernorm_backward(dres, g[BLOCK_LN1W], g[BLOCK_LN1B], w->dC, x, p[BLOCK_LN1W], a->ln1_mean, a->ln1_rstd, N, C);
}
