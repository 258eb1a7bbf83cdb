/* vae: encoder, hierarchical latent heads, KL and the latent-conditioned
 * transformer decoder; see vae.h for the model. */
#include "engine/model/vae.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/nn/block.h"
#include "engine/nn/embedding.h"
#include "engine/nn/layernorm.h"
#include "engine/nn/rope.h"
#include "engine/nn/linear.h"
#include "engine/model/model_yaml.h"
#include "util/rng.h"
#include "util/log.h"

const char *const vae_level_names[VAE_LEVELS] = {"global", "segment", "fine"};

/* Latent head tensors of one level, in table order. */
enum { H_MUW, H_MUB, H_LVW, H_LVB, H_PW, H_PB, H_PER_LEVEL };

/* Per-level activations (rows R = B * n_segments). */
typedef struct {
    float *pooled;       /* (R, C) */
    float *mu, *lv, *eps, *z; /* (R, D) */
    float *zc;           /* (R, C) projected z */
    float *kbar;         /* (D) mean KL per dim */
    float *dzc;          /* (R, C) */
    float *dz, *dmu, *dlv; /* (R, D) */
    float *dpooled;      /* (R, C) */
} level_acts;

struct vae {
    model_config mc;
    vae_config vc;
    attn_config enc_attn; /* bidirectional */
    int maxB, maxT;
    transformer *dec;
    /* own parameters: encoder + heads */
    int n_own;
    nn_tensor *own;
    size_t n_own_params;
    float *arena;
    int t_wte, t_wpe, t_layer0, t_lnfw, t_lnfb, t_head0;
    /* every tensor (own + "dec." views) for checkpoints and AdamW */
    int n_all;
    nn_tensor *all;
    adamw_segment *segs;
    /* activations */
    void *act_arena;
    float *pos_table; /* sinusoidal (maxT, C) or NULL */
    float *rope;      /* rotary table (maxT, hs) or NULL: the encoder shares the decoder's positions */
    int32_t *tokens;
    float *x0;           /* (N,C) encoder embeddings */
    block_acts *blocks;
    float *h, *h_mean, *h_rstd;
    level_acts lv[VAE_LEVELS];
    float *cond;         /* (N,C) */
    float *dh, *dres;    /* (N,C) */
    block_work work;
    /* last forward */
    int B, T, have_fwd;
    int kl_B;            /* examples the KL mean is over: B, or the global batch (vae_set_kl_batch) */
    vae_zmode zm;
    float beta;
    vae_stats st;
};

static float *OP(const vae *m, int i) { return m->own[i].param; }
static float *OG(const vae *m, int i) { return m->own[i].grad; }

void vae_config_defaults(vae_config *vc)
{
    memset(vc, 0, sizeof *vc);
    vc->enc_layers = 2;
    int dims[VAE_LEVELS] = {64, 32, 16}, segs[VAE_LEVELS] = {1, 8, 32};
    for (int l = 0; l < VAE_LEVELS; l++) {
        vc->latent_dim[l] = dims[l];
        vc->n_segments[l] = segs[l];
    }
    vc->beta = (beta_schedule){BETA_LINEAR, 10000, 10000, 1.0f};
    vc->free_bits = 0.05f;
}

int vae_config_validate(const vae_config *vc, const model_config *mc, int T, char err[AURL_ERR_LEN])
{
    if (model_config_validate(mc, err) != 0) return -1;
    if (vc->enc_layers < 1 || vc->enc_layers > 1024) {
        snprintf(err, AURL_ERR_LEN, "vae: enc_layers must be in 1..1024, got %d", vc->enc_layers);
        return -1;
    }
    if (T < 1 || T > mc->max_seq_len) {
        snprintf(err, AURL_ERR_LEN, "vae: window %d must be in 1..max_seq_len %d", T, mc->max_seq_len);
        return -1;
    }
    for (int l = 0; l < VAE_LEVELS; l++) {
        if (vc->latent_dim[l] < 1 || vc->latent_dim[l] > 65536) {
            snprintf(err, AURL_ERR_LEN, "vae: latent_dim of level %s must be in 1..65536, got %d", vae_level_names[l],
                     vc->latent_dim[l]);
            return -1;
        }
        if (vc->n_segments[l] < 1 || vc->n_segments[l] > T || T % vc->n_segments[l] != 0) {
            snprintf(err, AURL_ERR_LEN, "vae: n_segments of level %s (%d) must divide the window %d",
                     vae_level_names[l], vc->n_segments[l], T);
            return -1;
        }
    }
    const beta_schedule *b = &vc->beta;
    if (b->kind != BETA_LINEAR && b->kind != BETA_CYCLICAL) {
        snprintf(err, AURL_ERR_LEN, "vae: unknown beta schedule kind %d", (int)b->kind);
        return -1;
    }
    if (!(b->beta_max >= 0.0f && b->beta_max <= 1e6f) || b->warmup_steps < 0 ||
        (b->kind == BETA_CYCLICAL && b->cycle_steps < 1)) {
        snprintf(err, AURL_ERR_LEN, "vae: beta schedule needs beta_max in [0, 1e6], warmup >= 0 and (cyclical) cycle >= 1");
        return -1;
    }
    if (!(vc->free_bits >= 0.0f && vc->free_bits <= 1e3f)) {
        snprintf(err, AURL_ERR_LEN, "vae: free_bits must be in [0, 1000]");
        return -1;
    }
    return 0;
}

/* Parameters of the encoder and heads (not the decoder). */
static size_t own_count(const model_config *c, const vae_config *vc)
{
    size_t C = (size_t)c->d_model, F = (size_t)c->d_ff, V = (size_t)c->vocab_size;
    size_t per_layer = 2 * C + 3 * C * C + 3 * C + C * C + C + 2 * C + F * C + F + C * F + C;
    size_t n = V * C + (c->positions == POS_LEARNED ? (size_t)c->max_seq_len * C : 0) + (size_t)vc->enc_layers * per_layer + 2 * C;
    for (int l = 0; l < VAE_LEVELS; l++) {
        size_t D = (size_t)vc->latent_dim[l];
        n += 2 * (D * C + D) + C * D + C;
    }
    return n;
}

size_t vae_count_params(const model_config *mc, const vae_config *vc, int T)
{
    char err[AURL_ERR_LEN];
    if (vae_config_validate(vc, mc, T, err) != 0) return 0;
    return own_count(mc, vc) + transformer_count_params(mc);
}

/* Assign the activation pointers (or count bytes when b->base is NULL). */
static void layout_acts(vae *m, arena_bump *b)
{
    const model_config *c = &m->mc;
    size_t N = (size_t)m->maxB * m->maxT, C = (size_t)c->d_model;
    m->pos_table = c->positions == POS_SINUSOIDAL ? arena_take(b, (size_t)c->max_seq_len * C * sizeof(float)) : NULL;
    m->rope = c->positions == POS_ROTARY
                  ? arena_take(b, rope_table_size(c->max_seq_len, c->d_model / c->n_heads) * sizeof(float))
                  : NULL;
    m->tokens = arena_take(b, N * sizeof(int32_t));
    m->x0 = arena_take(b, N * C * sizeof(float));
    for (int l = 0; l < m->vc.enc_layers; l++)
        block_acts_layout(&m->blocks[l], b, &m->enc_attn, m->maxB, m->maxT, c->d_model, c->d_ff, c->n_heads, 0);
    m->h = arena_take(b, N * C * sizeof(float));
    m->h_mean = arena_take(b, N * sizeof(float));
    m->h_rstd = arena_take(b, N * sizeof(float));
    for (int l = 0; l < VAE_LEVELS; l++) {
        level_acts *a = &m->lv[l];
        size_t R = (size_t)m->maxB * m->vc.n_segments[l], D = (size_t)m->vc.latent_dim[l];
        a->pooled = arena_take(b, R * C * sizeof(float));
        a->mu = arena_take(b, R * D * sizeof(float));
        a->lv = arena_take(b, R * D * sizeof(float));
        a->eps = arena_take(b, R * D * sizeof(float));
        a->z = arena_take(b, R * D * sizeof(float));
        a->zc = arena_take(b, R * C * sizeof(float));
        a->kbar = arena_take(b, D * sizeof(float));
        a->dzc = arena_take(b, R * C * sizeof(float));
        a->dz = arena_take(b, R * D * sizeof(float));
        a->dmu = arena_take(b, R * D * sizeof(float));
        a->dlv = arena_take(b, R * D * sizeof(float));
        a->dpooled = arena_take(b, R * C * sizeof(float));
    }
    m->cond = arena_take(b, N * C * sizeof(float));
    m->dh = arena_take(b, N * C * sizeof(float));
    m->dres = arena_take(b, N * C * sizeof(float));
    block_work_layout(&m->work, b, &m->enc_attn, m->maxB, m->maxT, c->d_model, c->d_ff, c->n_heads);
}

int vae_create(vae **out, const model_config *mc, const vae_config *vc, int B, int T, uint64_t seed,
               char err[AURL_ERR_LEN])
{
    *out = NULL;
    if (vae_config_validate(vc, mc, T, err) != 0) return -1;
    long long widest = 3LL * mc->d_model > mc->d_ff ? 3LL * mc->d_model : mc->d_ff;
    if (B < 1 || (long long)B * T * widest > INT_MAX) {
        snprintf(err, AURL_ERR_LEN, "vae: batch %d x %d invalid or too large", B, T);
        return -1;
    }
    vae *m = calloc(1, sizeof *m);
    if (!m) goto nomem;
    m->mc = *mc;
    m->vc = *vc;
    m->enc_attn = (attn_config){ATTN_BIDIRECTIONAL, T, 1};
    m->maxB = B;
    m->maxT = T;
    if (transformer_create(&m->dec, mc, B, T, seed, err) != 0) {
        vae_free(m);
        return -1;
    }
    int L = vc->enc_layers, C = mc->d_model, F = mc->d_ff, V = mc->vocab_size;
    m->n_own = 1 + (mc->positions == POS_LEARNED ? 1 : 0) + L * BLOCK_N_PARAMS + 2 + VAE_LEVELS * H_PER_LEVEL;
    m->own = calloc((size_t)m->n_own, sizeof *m->own);
    m->blocks = calloc((size_t)L, sizeof *m->blocks);
    int n_dec = transformer_n_tensors(m->dec);
    m->n_all = m->n_own + n_dec;
    m->all = calloc((size_t)m->n_all, sizeof *m->all);
    m->segs = calloc((size_t)m->n_all, sizeof *m->segs);
    if (!m->own || !m->blocks || !m->all || !m->segs) goto nomem;

    size_t off = 0;
    int i = 0;
    char nm[48];
    m->t_wte = i;
    tensor_table_define(&m->own[i++], "enc.wte.weight", V, C, &off);
    m->t_wpe = -1;
    if (mc->positions == POS_LEARNED) {
        m->t_wpe = i;
        tensor_table_define(&m->own[i++], "enc.wpe.weight", mc->max_seq_len, C, &off);
    }
    m->t_layer0 = i;
    for (int l = 0; l < L; l++, i += BLOCK_N_PARAMS) block_tensors_define(&m->own[i], "enc.", l, C, F, &off);
    m->t_lnfw = i;
    tensor_table_define(&m->own[i++], "enc.ln_f.weight", C, 0, &off);
    m->t_lnfb = i;
    tensor_table_define(&m->own[i++], "enc.ln_f.bias", C, 0, &off);
    m->t_head0 = i;
    for (int l = 0; l < VAE_LEVELS; l++) {
        static const char *const hn[H_PER_LEVEL] = {"mu.weight", "mu.bias", "logvar.weight", "logvar.bias",
                                                    "proj.weight", "proj.bias"};
        int D = vc->latent_dim[l];
        int shape[H_PER_LEVEL][2] = {{D, C}, {D, 0}, {D, C}, {D, 0}, {C, D}, {C, 0}};
        for (int k = 0; k < H_PER_LEVEL; k++) {
            snprintf(nm, sizeof nm, "latent.%s.%s", vae_level_names[l], hn[k]);
            tensor_table_define(&m->own[i++], nm, shape[k][0], shape[k][1], &off);
        }
    }
    m->n_own_params = off;
    size_t bytes = 4 * off * sizeof(float);
    m->arena = arena_alloc(&bytes, 1);
    if (!m->arena) goto nomem;
    tensor_table_bind(m->own, m->n_own, m->arena, off, NULL, m->segs);
    for (int k = 0; k < m->n_own; k++) m->all[k] = m->own[k];
    for (int k = 0; k < n_dec; k++) {
        nn_tensor *t = &m->all[m->n_own + k];
        *t = *transformer_tensor_at(m->dec, k);
        snprintf(t->name, sizeof t->name, "dec.%s", transformer_tensor_at(m->dec, k)->name);
        m->segs[m->n_own + k] = (adamw_segment){t->param, t->grad, t->m, t->v, t->numel, t->decay};
    }

    arena_bump b = {NULL, 0};
    layout_acts(m, &b);
    size_t act_bytes = b.off;
    m->act_arena = arena_alloc(&act_bytes, 1);
    if (!m->act_arena) goto nomem;
    b = (arena_bump){m->act_arena, 0};
    layout_acts(m, &b);
    if (m->pos_table) embedding_sinusoidal(m->pos_table, mc->max_seq_len, C);
    if (m->rope) rope_table_fill(m->rope, mc->max_seq_len, C / mc->n_heads);

    rng_state r;
    rng_seed(&r, rng_mix64(seed ^ 0x5641450000000000ull)); /* a stream apart from the decoder's */
    tensor_table_init_gpt2(m->own, m->n_own, L, &r);
    m->beta = beta_at(&vc->beta, 0);
    *out = m;
    return 0;
nomem:
    snprintf(err, AURL_ERR_LEN, "vae: out of memory for d_model %d, batch %d x %d", mc->d_model, B, T);
    vae_free(m);
    return -1;
}

void vae_free(vae *m)
{
    if (!m) return;
    transformer_free(m->dec);
    free(m->own);
    free(m->blocks);
    free(m->all);
    free(m->segs);
    free(m->arena);
    free(m->act_arena);
    free(m);
}

transformer *vae_decoder(vae *m) { return m->dec; }
const vae_config *vae_get_config(const vae *m) { return &m->vc; }
void vae_set_step(vae *m, long step) { m->beta = beta_at(&m->vc.beta, step); }
void vae_set_beta(vae *m, float beta) { m->beta = beta; }
const vae_stats *vae_last_stats(const vae *m) { return &m->st; }
float *vae_eps(vae *m, int level) { return level >= 0 && level < VAE_LEVELS ? m->lv[level].eps : NULL; }

/* ---- forward ----------------------------------------------------------- */

static block_run enc_run(const vae *m, int B, int T)
{
    const model_config *c = &m->mc;
    return (block_run){B, T, c->d_model, c->d_ff, c->n_heads, &m->enc_attn, 0.0f, 0, 0, m->rope};
}

static void enc_layer_ptrs(const vae *m, int l, float **p, float **g)
{
    int t0 = m->t_layer0 + l * BLOCK_N_PARAMS;
    for (int k = 0; k < BLOCK_N_PARAMS; k++) {
        p[k] = OP(m, t0 + k);
        g[k] = OG(m, t0 + k);
    }
}

static int sizes_ok(const vae *m, int B, int T)
{
    if (B < 1 || T < 1 || B > m->maxB || T > m->maxT) return 0;
    for (int l = 0; l < VAE_LEVELS; l++)
        if (T % m->vc.n_segments[l] != 0) return 0;
    return 1;
}

/* Encoder and heads: tokens -> h -> per level pooled, mu, logvar. */
static void encode(vae *m, const int32_t *inputs, int B, int T)
{
    const model_config *c = &m->mc;
    int C = c->d_model, V = c->vocab_size, N = B * T;
    for (int i = 0; i < N; i++) m->tokens[i] = inputs[i] >= 0 && inputs[i] < V ? inputs[i] : TOK_UNK;
    const float *pos = c->positions == POS_LEARNED ? OP(m, m->t_wpe) : m->pos_table;
    embedding_forward(m->x0, m->tokens, OP(m, m->t_wte), pos, B, T, C);
    block_run run = enc_run(m, B, T);
    const float *x = m->x0;
    for (int l = 0; l < m->vc.enc_layers; l++) {
        float *pl[BLOCK_N_PARAMS], *gl[BLOCK_N_PARAMS];
        enc_layer_ptrs(m, l, pl, gl);
        block_forward(&m->blocks[l], x, pl, &m->work, &run, l);
        x = m->blocks[l].res3;
    }
    layernorm_forward(m->h, m->h_mean, m->h_rstd, x, OP(m, m->t_lnfw), OP(m, m->t_lnfb), N, C);
    for (int l = 0; l < VAE_LEVELS; l++) {
        level_acts *a = &m->lv[l];
        int S = m->vc.n_segments[l], D = m->vc.latent_dim[l], len = T / S, R = B * S;
        float inv = 1.0f / (float)len;
        for (int r = 0; r < R; r++) {
            float *pr = a->pooled + (size_t)r * C;
            memset(pr, 0, (size_t)C * sizeof(float));
            const float *hr = m->h + (size_t)r * len * C; /* rows of segment r = b*S+s start at (b*T + s*len) */
            for (int t = 0; t < len; t++)
                for (int j = 0; j < C; j++) pr[j] += hr[(size_t)t * C + j];
            for (int j = 0; j < C; j++) pr[j] *= inv;
        }
        int h0 = m->t_head0 + l * H_PER_LEVEL;
        linear_forward(a->mu, a->pooled, OP(m, h0 + H_MUW), OP(m, h0 + H_MUB), R, C, D);
        linear_forward(a->lv, a->pooled, OP(m, h0 + H_LVW), OP(m, h0 + H_LVB), R, C, D);
    }
}

/* cond (T x C per example) from the levels' projected zc (rows B*S). */
static void build_cond(vae *m, float *cond, int B, int T)
{
    int C = m->mc.d_model;
    memset(cond, 0, (size_t)B * T * C * sizeof(float));
    for (int l = 0; l < VAE_LEVELS; l++) {
        int S = m->vc.n_segments[l], len = T / S;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                const float *zr = m->lv[l].zc + ((size_t)b * S + (size_t)(t / len)) * C;
                float *o = cond + ((size_t)b * T + t) * C;
                for (int j = 0; j < C; j++) o[j] += zr[j];
            }
    }
}

float vae_forward(vae *m, const int32_t *inputs, const int32_t *targets, int B, int T, int training, vae_zmode zm,
                  uint64_t seed)
{
    m->have_fwd = 0;
    if (!inputs || !sizes_ok(m, B, T) || zm < VAE_Z_SAMPLE || zm > VAE_Z_FIXED_EPS) {
        log_error("vae_forward: batch %d x %d invalid for the created %d x %d (T must divide into every level's segments)",
                  B, T, m->maxB, m->maxT);
        return NAN;
    }
    int C = m->mc.d_model;
    m->B = B;
    m->T = T;
    m->kl_B = B;
    m->zm = zm;
    encode(m, inputs, B, T);
    double klsum = 0.0;
    for (int l = 0; l < VAE_LEVELS; l++) {
        level_acts *a = &m->lv[l];
        int S = m->vc.n_segments[l], D = m->vc.latent_dim[l], R = B * S;
        size_t n = (size_t)R * D;
        if (zm == VAE_Z_SAMPLE || zm == VAE_Z_PRIOR) {
            rng_state r;
            rng_seed(&r, block_site_seed(seed, 1000 + l));
            rng_fill_normal(&r, a->eps, (long)n, 0.0f, 1.0f);
        }
        for (size_t i = 0; i < n; i++) {
            switch (zm) {
            case VAE_Z_SAMPLE:
            case VAE_Z_FIXED_EPS: a->z[i] = a->mu[i] + expf(0.5f * a->lv[i]) * a->eps[i]; break;
            case VAE_Z_MEAN: a->z[i] = a->mu[i]; break;
            case VAE_Z_PRIOR: a->z[i] = a->eps[i]; break;
            case VAE_Z_SHUFFLE: a->z[i] = a->mu[(i + (size_t)S * D) % n]; break;
            }
        }
        kl_stats ks = kl_forward(a->mu, a->lv, B, S, D, m->vc.free_bits, a->kbar);
        m->st.kl[l] = (float)ks.kl;
        m->st.kl_pen[l] = (float)ks.kl_pen;
        m->st.active[l] = ks.active;
        klsum += ks.kl_pen;
        int h0 = m->t_head0 + l * H_PER_LEVEL;
        linear_forward(a->zc, a->z, OP(m, h0 + H_PW), OP(m, h0 + H_PB), R, D, C);
    }
    build_cond(m, m->cond, B, T);
    transformer_set_cond(m->dec, m->cond);
    float recon = transformer_forward(m->dec, inputs, targets, B, T, training, seed);
    transformer_set_cond(m->dec, NULL);
    m->st.recon = recon;
    m->st.beta = m->beta;
    m->st.loss = (float)(recon + m->beta * klsum / T);
    m->have_fwd = 1;
    return m->st.loss;
}

int vae_kl_n_dims(const vae *m)
{
    int n = 0;
    for (int l = 0; l < VAE_LEVELS; l++) n += m->vc.latent_dim[l];
    return n;
}

void vae_kl_sums(const vae *m, double *sums)
{
    for (int l = 0; l < VAE_LEVELS; l++) {
        int D = m->vc.latent_dim[l];
        kl_dim_sums(m->lv[l].mu, m->lv[l].lv, m->B * m->vc.n_segments[l], D, sums);
        sums += D;
    }
}

void vae_set_kl_batch(vae *m, const double *sums, int B_total)
{
    if (!m->have_fwd || B_total < 1) return;
    double klsum = 0.0;
    for (int l = 0; l < VAE_LEVELS; l++) {
        int S = m->vc.n_segments[l], D = m->vc.latent_dim[l];
        kl_stats ks = kl_from_sums(sums, B_total, S, D, m->vc.free_bits, m->lv[l].kbar);
        m->st.kl[l] = (float)ks.kl;
        m->st.kl_pen[l] = (float)ks.kl_pen;
        m->st.active[l] = ks.active;
        klsum += ks.kl_pen;
        sums += D;
    }
    m->kl_B = B_total;
    m->st.loss = (float)(m->st.recon + m->beta * klsum / m->T);
}

/* ---- backward ---------------------------------------------------------- */

void vae_zero_grad(vae *m)
{
    memset(m->arena + m->n_own_params, 0, m->n_own_params * sizeof(float));
    transformer_zero_grad(m->dec);
}

void vae_backward_with_dlogits(vae *m, const float *dlogits_extra, float xent_weight)
{
    if (!m->have_fwd) return;
    int B = m->B, T = m->T, N = B * T, C = m->mc.d_model;
    size_t NC = (size_t)N * C;
    const float *dcond = NULL;
    if (transformer_backward_with_dlogits(m->dec, dlogits_extra, xent_weight) == 0) dcond = transformer_cond_grad(m->dec);
    int z_path = dcond && (m->zm == VAE_Z_SAMPLE || m->zm == VAE_Z_FIXED_EPS || m->zm == VAE_Z_MEAN);
    memset(m->dh, 0, NC * sizeof(float));
    for (int l = 0; l < VAE_LEVELS; l++) {
        level_acts *a = &m->lv[l];
        int S = m->vc.n_segments[l], D = m->vc.latent_dim[l], R = B * S, len = T / S;
        size_t n = (size_t)R * D;
        int h0 = m->t_head0 + l * H_PER_LEVEL;
        memset(a->dmu, 0, n * sizeof(float));
        memset(a->dlv, 0, n * sizeof(float));
        if (dcond) {
            /* d(zc) = sum of d(cond) over the segment's positions */
            for (int r = 0; r < R; r++) {
                float *d = a->dzc + (size_t)r * C;
                memset(d, 0, (size_t)C * sizeof(float));
                const float *g = dcond + (size_t)r * len * C;
                for (int t = 0; t < len; t++)
                    for (int j = 0; j < C; j++) d[j] += g[(size_t)t * C + j];
            }
            memset(a->dz, 0, n * sizeof(float));
            linear_backward(a->dz, OG(m, h0 + H_PW), OG(m, h0 + H_PB), a->dzc, a->z, OP(m, h0 + H_PW), R, D, C);
            if (z_path)
                for (size_t i = 0; i < n; i++) {
                    a->dmu[i] += a->dz[i];
                    if (m->zm != VAE_Z_MEAN) a->dlv[i] += a->dz[i] * a->eps[i] * 0.5f * expf(0.5f * a->lv[i]);
                }
        }
        kl_backward(a->dmu, a->dlv, a->mu, a->lv, a->kbar, B, S, D, m->vc.free_bits, m->beta / (float)T, m->kl_B);
        memset(a->dpooled, 0, (size_t)R * C * sizeof(float));
        linear_backward(a->dpooled, OG(m, h0 + H_MUW), OG(m, h0 + H_MUB), a->dmu, a->pooled, OP(m, h0 + H_MUW), R, C, D);
        linear_backward(a->dpooled, OG(m, h0 + H_LVW), OG(m, h0 + H_LVB), a->dlv, a->pooled, OP(m, h0 + H_LVW), R, C, D);
        float inv = 1.0f / (float)len;
        for (int r = 0; r < R; r++) {
            const float *d = a->dpooled + (size_t)r * C;
            float *o = m->dh + (size_t)r * len * C;
            for (int t = 0; t < len; t++)
                for (int j = 0; j < C; j++) o[(size_t)t * C + j] += d[j] * inv;
        }
    }
    int L = m->vc.enc_layers;
    const float *x_last = m->blocks[L - 1].res3;
    memset(m->dres, 0, NC * sizeof(float));
    layernorm_backward(m->dres, OG(m, m->t_lnfw), OG(m, m->t_lnfb), m->dh, x_last, OP(m, m->t_lnfw), m->h_mean,
                       m->h_rstd, N, C);
    block_run run = enc_run(m, B, T);
    for (int l = L - 1; l >= 0; l--) {
        float *pl[BLOCK_N_PARAMS], *gl[BLOCK_N_PARAMS];
        enc_layer_ptrs(m, l, pl, gl);
        const float *x = l > 0 ? m->blocks[l - 1].res3 : m->x0;
        block_backward(m->dres, &m->blocks[l], x, pl, gl, &m->work, &run);
    }
    embedding_backward(OG(m, m->t_wte), m->mc.positions == POS_LEARNED ? OG(m, m->t_wpe) : NULL, m->dres, m->tokens, B, T, C);
}

void vae_backward(vae *m) { vae_backward_with_dlogits(m, NULL, 1.0f); }

adamw_result vae_step(vae *m, adamw *opt, float loss)
{
    adamw_result r = adamw_step(opt, m->segs, m->n_all, loss);
    vae_zero_grad(m);
    return r;
}

/* ---- accessors, encode / decode paths --------------------------------- */

int vae_metrics(const vae *m, const char **names, double *values, int max)
{
    static const char *const fixed[3] = {"loss", "recon", "beta"};
    static const char *const per[VAE_LEVELS][3] = {{"kl_global", "kl_pen_global", "active_global"},
                                                   {"kl_segment", "kl_pen_segment", "active_segment"},
                                                   {"kl_fine", "kl_pen_fine", "active_fine"}};
    double v[VAE_N_METRICS];
    const char *nm[VAE_N_METRICS];
    int k = 0;
    v[k] = m->st.loss, nm[k++] = fixed[0];
    v[k] = m->st.recon, nm[k++] = fixed[1];
    v[k] = m->st.beta, nm[k++] = fixed[2];
    for (int l = 0; l < VAE_LEVELS; l++) {
        v[k] = m->st.kl[l], nm[k++] = per[l][0];
        v[k] = m->st.kl_pen[l], nm[k++] = per[l][1];
        v[k] = m->st.active[l], nm[k++] = per[l][2];
    }
    for (int i = 0; i < k && i < max; i++) {
        if (names) names[i] = nm[i];
        if (values) values[i] = v[i];
    }
    return k;
}

size_t vae_n_params(const vae *m) { return m->n_own_params + transformer_n_params(m->dec); }

float *vae_array(vae *m, int decoder, vae_array_kind what, size_t *n)
{
    if (decoder) {
        transformer *d = m->dec;
        *n = transformer_n_params(d);
        return what == VAE_PARAMS ? transformer_params(d) : what == VAE_GRADS ? transformer_grads(d)
             : what == VAE_ADAM_M ? transformer_adam_m(d) : transformer_adam_v(d);
    }
    *n = m->n_own_params;
    return m->arena + (size_t)what * m->n_own_params; /* params | grads | m | v */
}
int vae_n_tensors(const vae *m) { return m->n_all; }
const nn_tensor *vae_tensor_at(const vae *m, int i) { return tensor_table_at(m->all, m->n_all, i); }

const nn_tensor *vae_tensor_find(const vae *m, const char *name) { return tensor_table_find(m->all, m->n_all, name); }

int vae_latent_dim(const vae *m)
{
    int n = 0;
    for (int l = 0; l < VAE_LEVELS; l++) n += m->vc.n_segments[l] * m->vc.latent_dim[l];
    return n;
}

int vae_encode(vae *m, const int32_t *tokens, int T, float *mu_out)
{
    m->have_fwd = 0;
    if (!tokens || !mu_out || !sizes_ok(m, 1, T)) return -1;
    encode(m, tokens, 1, T);
    for (int l = 0; l < VAE_LEVELS; l++) {
        size_t n = (size_t)m->vc.n_segments[l] * m->vc.latent_dim[l];
        memcpy(mu_out, m->lv[l].mu, n * sizeof(float));
        mu_out += n;
    }
    return 0;
}

int vae_cond_from_z(vae *m, const float *z, int T, float *cond_out)
{
    m->have_fwd = 0;
    if (!z || !cond_out || !sizes_ok(m, 1, T)) return -1;
    for (int l = 0; l < VAE_LEVELS; l++) {
        int S = m->vc.n_segments[l], D = m->vc.latent_dim[l], h0 = m->t_head0 + l * H_PER_LEVEL;
        linear_forward(m->lv[l].zc, z, OP(m, h0 + H_PW), OP(m, h0 + H_PB), S, D, m->mc.d_model);
        z += (size_t)S * D;
    }
    build_cond(m, cond_out, 1, T);
    return 0;
}
