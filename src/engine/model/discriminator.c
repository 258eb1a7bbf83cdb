/* discriminator: multi-scale spectrally normalised discriminator over token
 * distributions: forward, backward (parameters and input), AdamW step. */
#include "engine/model/discriminator.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/nn/arena.h"
#include "engine/nn/linear.h"
#include "util/rng.h"
#include "engine/nn/spectral_norm.h"

#define DISC_MAX_TENSORS (1 + DISC_MAX_SCALES * (DISC_MAX_LAYERS + 1) * 4)
#define DISC_INIT_SN_ITERS 15

/* One spectrally normalised linear layer: tensor indices and its W_sn. */
typedef struct {
    int tw, tb, tu, tv;
    int OC, IC;
    float *Wsn, *dWsn; /* (OC, IC), in the activation arena */
    float sigma;
} sn_linear;

typedef struct {
    int s;
    sn_linear layer[DISC_MAX_LAYERS];
    sn_linear head;
    float *pool;                 /* (B*Ts, E); NULL for s == 1 (h0 itself) */
    float *U[DISC_MAX_LAYERS];   /* unfolded inputs (B*Ts, k*in) */
    float *A[DISC_MAX_LAYERS];   /* pre-activations (B*Ts, hidden) */
    float *H[DISC_MAX_LAYERS];   /* LeakyReLU outputs (B*Ts, hidden) */
} disc_scale;

struct disc {
    disc_config cfg;
    int Bmax, Tmax;
    size_t n_params;
    float *arena; /* params | grads | m | v */
    float *bufs;  /* SN u, v vectors */
    float *acts;
    int n_tensors, n_segs;
    size_t n_bufs;
    nn_tensor tensors[DISC_MAX_TENSORS]; /* offsets into the arena (params) or bufs (SN state) */
    adamw_segment segs[DISC_MAX_TENSORS];
    int t_embed;
    disc_scale sc[DISC_MAX_SCALES];
    sn_linear *sn[DISC_MAX_SCALES * (DISC_MAX_LAYERS + 1)];
    int n_sn;
    float *h0, *dh0;     /* (B*T, E) */
    float *feat;         /* (B, S*H) */
    float *slog;         /* (S, B) */
    float *logit;        /* (B) */
    float *dfs;          /* (B, H) */
    float *dX, *dU;      /* backward scratch */
    /* last forward */
    int B, T, have_fwd;
    const float *x;
    const int32_t *tok;
};

disc_config disc_config_default(void)
{
    disc_config c;
    memset(&c, 0, sizeof c);
    c.vocab = TOK_VOCAB_SIZE;
    c.embed = 64;
    c.hidden = 128;
    c.n_layers = 2;
    c.kernel = 3;
    c.n_scales = 3;
    c.scales[0] = 1;
    c.scales[1] = 4;
    c.scales[2] = 16;
    c.leaky = 0.2f;
    c.sn_iters = 1;
    c.lr = 2e-4f;
    c.beta1 = 0.5f;
    c.beta2 = 0.999f;
    c.weight_decay = 0.0f;
    c.grad_clip = 0.0f;
    c.n_critic = 1;
    c.loss = GAN_LOSS_HINGE;
    return c;
}

int disc_config_validate(const disc_config *c, char err[AURL_ERR_LEN])
{
#define BAD(...)                                   \
    do {                                           \
        snprintf(err, AURL_ERR_LEN, __VA_ARGS__);  \
        return -1;                                 \
    } while (0)
    if (c->vocab < 1 || c->vocab > 1 << 20) BAD("discriminator: vocab %d out of range [1, 1048576]", c->vocab);
    if (c->embed < 1 || c->embed > 4096) BAD("discriminator: embed %d out of range [1, 4096]", c->embed);
    if (c->hidden < 1 || c->hidden > 4096) BAD("discriminator: hidden %d out of range [1, 4096]", c->hidden);
    if (c->n_layers < 1 || c->n_layers > DISC_MAX_LAYERS)
        BAD("discriminator: n_layers %d out of range [1, %d]", c->n_layers, DISC_MAX_LAYERS);
    if (c->kernel < 1 || c->kernel > 15 || c->kernel % 2 == 0)
        BAD("discriminator: kernel %d must be odd in [1, 15]", c->kernel);
    if (c->n_scales < 1 || c->n_scales > DISC_MAX_SCALES)
        BAD("discriminator: n_scales %d out of range [1, %d]", c->n_scales, DISC_MAX_SCALES);
    for (int i = 0; i < c->n_scales; i++) {
        if (c->scales[i] < 1 || c->scales[i] > 4096)
            BAD("discriminator: scale %d out of range [1, 4096]", c->scales[i]);
        for (int j = 0; j < i; j++)
            if (c->scales[j] == c->scales[i]) BAD("discriminator: scale %d listed twice", c->scales[i]);
    }
    if (!(c->leaky >= 0.0f && c->leaky < 1.0f)) BAD("discriminator: leaky slope must be in [0, 1)");
    if (c->sn_iters < 0 || c->sn_iters > 100) BAD("discriminator: sn_iters %d out of range [0, 100]", c->sn_iters);
    if (!(c->lr > 0.0f && c->lr < 1.0f)) BAD("discriminator: lr must be in (0, 1)");
    if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f) || !(c->beta2 >= 0.0f && c->beta2 < 1.0f))
        BAD("discriminator: betas must be in [0, 1)");
    if (!(c->weight_decay >= 0.0f && c->weight_decay < 1.0f)) BAD("discriminator: weight_decay must be in [0, 1)");
    if (!(c->grad_clip >= 0.0f) || !isfinite(c->grad_clip)) BAD("discriminator: grad_clip must be >= 0");
    if (c->n_critic < 1 || c->n_critic > 100) BAD("discriminator: n_critic %d out of range [1, 100]", c->n_critic);
    if (c->loss != GAN_LOSS_HINGE && c->loss != GAN_LOSS_NONSATURATING) BAD("discriminator: unknown loss kind");
    return 0;
#undef BAD
}

adamw_config disc_adamw_config(const disc_config *c)
{
    adamw_config a = adamw_default_config(c->lr, c->lr, 0, 0);
    a.beta1 = c->beta1;
    a.beta2 = c->beta2;
    a.weight_decay = c->weight_decay;
    a.grad_clip = c->grad_clip;
    return a;
}

/* input width of layer l */
static int layer_in(const disc_config *c, int l) { return c->kernel * (l == 0 ? c->embed : c->hidden); }

size_t disc_count_params(const disc_config *c)
{
    char err[AURL_ERR_LEN];
    if (disc_config_validate(c, err)) return 0;
    size_t n = (size_t)c->vocab * c->embed;
    for (int s = 0; s < c->n_scales; s++) {
        for (int l = 0; l < c->n_layers; l++) n += (size_t)c->hidden * layer_in(c, l) + c->hidden;
        n += (size_t)c->hidden + 1;
    }
    return n;
}

/* ---- construction ------------------------------------------------------ */

/* Register a tensor (views are set once the arenas exist). */
static int add_tensor(disc *d, const char *name, int d0, int d1, int buffer)
{
    nn_tensor *t = &d->tensors[d->n_tensors];
    tensor_table_define(t, name, d0, d1, buffer ? &d->n_bufs : &d->n_params);
    t->buffer = buffer;
    t->decay = !buffer && d1 > 0;
    return d->n_tensors++;
}

static void add_sn_linear(disc *d, sn_linear *L, const char *prefix, int OC, int IC)
{
    char name[48];
    L->OC = OC;
    L->IC = IC;
    snprintf(name, sizeof name, "%s.weight", prefix);
    L->tw = add_tensor(d, name, OC, IC, 0);
    snprintf(name, sizeof name, "%s.bias", prefix);
    L->tb = add_tensor(d, name, OC, 0, 0);
    snprintf(name, sizeof name, "%s.weight_u", prefix);
    L->tu = add_tensor(d, name, OC, 0, 1);
    snprintf(name, sizeof name, "%s.weight_v", prefix);
    L->tv = add_tensor(d, name, IC, 0, 1);
    d->sn[d->n_sn++] = L;
}

/* The next n floats of the activation arena (NULL when only counting). */
static float *take(arena_bump *b, size_t n) { return arena_take(b, n * sizeof(float)); }

/* Assign the activation pointers (or count bytes when b->base is NULL). */
static void layout_acts(disc *d, arena_bump *b)
{
    const disc_config *c = &d->cfg;
    int B = d->Bmax, T = d->Tmax, E = c->embed, H = c->hidden, S = c->n_scales;
    int wide = E > H ? E : H;
    size_t nmax = 0;
    d->h0 = take(b, (size_t)B * T * E);
    d->dh0 = take(b, (size_t)B * T * E);
    for (int s = 0; s < S; s++) {
        disc_scale *sc = &d->sc[s];
        int Ts = (T + sc->s - 1) / sc->s;
        size_t N = (size_t)B * Ts;
        if (N > nmax) nmax = N;
        sc->pool = sc->s > 1 ? take(b, N * E) : NULL;
        for (int l = 0; l < c->n_layers; l++) {
            sc->U[l] = take(b, N * layer_in(c, l));
            sc->A[l] = take(b, N * H);
            sc->H[l] = take(b, N * H);
        }
    }
    for (int i = 0; i < d->n_sn; i++) {
        size_t n = (size_t)d->sn[i]->OC * d->sn[i]->IC;
        d->sn[i]->Wsn = take(b, n);
        d->sn[i]->dWsn = take(b, n);
    }
    d->feat = take(b, (size_t)B * S * H);
    d->slog = take(b, (size_t)S * B);
    d->logit = take(b, (size_t)B);
    d->dfs = take(b, (size_t)B * H);
    d->dX = take(b, nmax * wide);
    d->dU = take(b, nmax * wide * c->kernel);
}

int disc_create(disc **out, const disc_config *cfg, int B, int T, uint64_t seed, char err[AURL_ERR_LEN])
{
    *out = NULL;
    if (disc_config_validate(cfg, err)) return -1;
    if (B < 1 || T < 1 || (double)B * T > 1e8) {
        snprintf(err, AURL_ERR_LEN, "discriminator: batch %d x %d out of range", B, T);
        return -1;
    }
    disc *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, AURL_ERR_LEN, "discriminator: out of memory");
        return -1;
    }
    d->cfg = *cfg;
    d->Bmax = B;
    d->Tmax = T;
    const disc_config *c = &d->cfg;
    d->t_embed = add_tensor(d, "disc.embed.weight", c->vocab, c->embed, 0);
    for (int s = 0; s < c->n_scales; s++) {
        char prefix[40];
        d->sc[s].s = c->scales[s];
        for (int l = 0; l < c->n_layers; l++) {
            snprintf(prefix, sizeof prefix, "disc.s%d.l%d", s, l);
            add_sn_linear(d, &d->sc[s].layer[l], prefix, c->hidden, layer_in(c, l));
        }
        snprintf(prefix, sizeof prefix, "disc.s%d.head", s);
        add_sn_linear(d, &d->sc[s].head, prefix, 1, c->hidden);
    }
    arena_bump b = {NULL, 0};
    layout_acts(d, &b);
    size_t param_bytes = 4 * d->n_params * sizeof(float), act_bytes = b.off;
    d->arena = arena_alloc(&param_bytes, 1);
    d->bufs = calloc(d->n_bufs, sizeof(float));
    d->acts = arena_alloc(&act_bytes, 1);
    if (!d->arena || !d->bufs || !d->acts) {
        snprintf(err, AURL_ERR_LEN, "discriminator: out of memory (%zu parameters, %zu activation bytes)",
                 d->n_params, act_bytes);
        disc_free(d);
        return -1;
    }
    b = (arena_bump){(char *)d->acts, 0};
    layout_acts(d, &b);
    d->n_segs = tensor_table_bind(d->tensors, d->n_tensors, d->arena, d->n_params, d->bufs, d->segs);
    /* initialisation as PyTorch's nn.Embedding / nn.Linear defaults */
    rng_state r;
    rng_seed(&r, seed);
    nn_tensor *emb = &d->tensors[d->t_embed];
    rng_fill_normal(&r, emb->param, (long)emb->numel, 0.0f, 1.0f);
    for (int i = 0; i < d->n_sn; i++) {
        sn_linear *L = d->sn[i];
        float bound = 1.0f / sqrtf((float)L->IC);
        float *w = d->tensors[L->tw].param, *b = d->tensors[L->tb].param;
        for (size_t k = 0; k < (size_t)L->OC * L->IC; k++) w[k] = (2.0f * rng_uniform(&r) - 1.0f) * bound;
        for (int k = 0; k < L->OC; k++) b[k] = (2.0f * rng_uniform(&r) - 1.0f) * bound;
        sn_init(d->tensors[L->tu].param, d->tensors[L->tv].param, w, L->OC, L->IC, &r, DISC_INIT_SN_ITERS);
    }
    *out = d;
    return 0;
}

void disc_free(disc *d)
{
    if (!d) return;
    free(d->arena);
    free(d->bufs);
    free(d->acts);
    free(d);
}

/* ---- forward ----------------------------------------------------------- */

/* U (B*Ts, k*C): row (b, t) = [X(b, t-r), ..., X(b, t+r)], zeros outside [0, Ts). */
static void unfold(float *U, const float *X, int B, int Ts, int C, int k)
{
    int r = k / 2;
    long N = (long)B * Ts;
#pragma omp parallel for schedule(static) if (N * k * C > 65536)
    for (long n = 0; n < N; n++) {
        int t = (int)(n % Ts);
        float *u = U + (size_t)n * k * C;
        for (int j = 0; j < k; j++) {
            int tt = t + j - r;
            if (tt < 0 || tt >= Ts)
                memset(u + (size_t)j * C, 0, (size_t)C * sizeof *u);
            else
                memcpy(u + (size_t)j * C, X + (size_t)(n + j - r) * C, (size_t)C * sizeof *u);
        }
    }
}

/* Adjoint of unfold: dX (B*Ts, C) = sum of the k blocks of dU that read each row (overwrites). */
static void fold(float *dX, const float *dU, int B, int Ts, int C, int k)
{
    int r = k / 2;
    long N = (long)B * Ts;
#pragma omp parallel for schedule(static) if (N * k * C > 65536)
    for (long n = 0; n < N; n++) {
        int t = (int)(n % Ts);
        float *o = dX + (size_t)n * C;
        memset(o, 0, (size_t)C * sizeof *o);
        /* row n is block j of row n - (j - r) */
        for (int j = 0; j < k; j++) {
            int src = t - (j - r);
            if (src < 0 || src >= Ts) continue;
            const float *g = dU + ((size_t)(n - (j - r)) * k + j) * C;
            for (int c = 0; c < C; c++) o[c] += g[c];
        }
    }
}

/* Average pool h0 (B, T, E) over windows of s into P (B, Ts, E). */
static void pool_forward(float *P, const float *h0, int B, int T, int E, int s)
{
    int Ts = (T + s - 1) / s;
#pragma omp parallel for schedule(static) if ((long)B * T * E > 65536)
    for (long n = 0; n < (long)B * Ts; n++) {
        int b = (int)(n / Ts), j = (int)(n % Ts);
        int t0 = j * s, t1 = t0 + s < T ? t0 + s : T;
        float *p = P + (size_t)n * E;
        memset(p, 0, (size_t)E * sizeof *p);
        for (int t = t0; t < t1; t++) {
            const float *h = h0 + ((size_t)b * T + t) * E;
            for (int e = 0; e < E; e++) p[e] += h[e];
        }
        float inv = 1.0f / (float)(t1 - t0);
        for (int e = 0; e < E; e++) p[e] *= inv;
    }
}

/* dh0 (B, T, E) += unpooled dP (B, Ts, E). */
static void pool_backward(float *dh0, const float *dP, int B, int T, int E, int s)
{
    int Ts = (T + s - 1) / s;
#pragma omp parallel for schedule(static) if ((long)B * T * E > 65536)
    for (long n = 0; n < (long)B * T; n++) {
        int b = (int)(n / T), t = (int)(n % T);
        int j = t / s;
        int t0 = j * s, t1 = t0 + s < T ? t0 + s : T;
        float inv = 1.0f / (float)(t1 - t0);
        const float *g = dP + ((size_t)b * Ts + j) * E;
        float *o = dh0 + (size_t)n * E;
        for (int e = 0; e < E; e++) o[e] += g[e] * inv;
    }
}

static void refresh_sn(disc *d, int update)
{
    for (int i = 0; i < d->n_sn; i++) {
        sn_linear *L = d->sn[i];
        const float *W = d->tensors[L->tw].param;
        float *u = d->tensors[L->tu].param, *v = d->tensors[L->tv].param;
        L->sigma = update ? sn_power_iteration(W, u, v, L->OC, L->IC, d->cfg.sn_iters)
                          : sn_sigma(W, u, v, L->OC, L->IC);
        sn_forward(L->Wsn, W, L->sigma, (size_t)L->OC * L->IC);
    }
}

/* Everything after h0. */
static const float *forward_scales(disc *d, int B, int T)
{
    const disc_config *c = &d->cfg;
    int E = c->embed, H = c->hidden, S = c->n_scales, k = c->kernel, FD = S * H;
    float slope = c->leaky;
    for (int si = 0; si < S; si++) {
        disc_scale *sc = &d->sc[si];
        int Ts = (T + sc->s - 1) / sc->s;
        long N = (long)B * Ts;
        const float *X = d->h0;
        if (sc->s > 1) {
            pool_forward(sc->pool, d->h0, B, T, E, sc->s);
            X = sc->pool;
        }
        int in = E;
        for (int l = 0; l < c->n_layers; l++) {
            sn_linear *L = &sc->layer[l];
            unfold(sc->U[l], X, B, Ts, in, k);
            linear_forward(sc->A[l], sc->U[l], L->Wsn, d->tensors[L->tb].param, (int)N, L->IC, H);
            float *A = sc->A[l], *Hh = sc->H[l];
#pragma omp parallel for schedule(static) if (N * H > 65536)
            for (long i = 0; i < N * H; i++) Hh[i] = A[i] > 0.0f ? A[i] : slope * A[i];
            X = Hh;
            in = H;
        }
        const float *hw = sc->head.Wsn, *hb = d->tensors[sc->head.tb].param;
        for (int b = 0; b < B; b++) {
            float *f = d->feat + (size_t)b * FD + (size_t)si * H;
            for (int h = 0; h < H; h++) f[h] = 0.0f;
            for (int t = 0; t < Ts; t++) {
                const float *x = X + ((size_t)b * Ts + t) * H;
                for (int h = 0; h < H; h++) f[h] += x[h];
            }
            double lg = hb[0];
            for (int h = 0; h < H; h++) {
                f[h] /= (float)Ts;
                lg += (double)hw[h] * f[h];
            }
            d->slog[(size_t)si * B + b] = (float)lg;
        }
    }
    for (int b = 0; b < B; b++) {
        double s = 0.0;
        for (int si = 0; si < S; si++) s += d->slog[(size_t)si * B + b];
        d->logit[b] = (float)(s / S);
    }
    d->B = B;
    d->T = T;
    d->have_fwd = 1;
    return d->logit;
}

static int check_bt(const disc *d, int B, int T)
{
    return B >= 1 && T >= 1 && B <= d->Bmax && T <= d->Tmax;
}

const float *disc_forward(disc *d, const float *x, int B, int T, int update_sn)
{
    if (!check_bt(d, B, T)) return NULL;
    int V = d->cfg.vocab, E = d->cfg.embed;
    refresh_sn(d, update_sn);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B * T, E, V, 1.0f, x, V,
                d->tensors[d->t_embed].param, E, 0.0f, d->h0, E);
    d->x = x;
    d->tok = NULL;
    return forward_scales(d, B, T);
}

const float *disc_forward_tokens(disc *d, const int32_t *tokens, int B, int T, int update_sn)
{
    if (!check_bt(d, B, T)) return NULL;
    int V = d->cfg.vocab, E = d->cfg.embed;
    refresh_sn(d, update_sn);
    const float *W = d->tensors[d->t_embed].param;
    for (long n = 0; n < (long)B * T; n++) {
        float *h = d->h0 + (size_t)n * E;
        int32_t t = tokens[n];
        if (t >= 0 && t < V)
            memcpy(h, W + (size_t)t * E, (size_t)E * sizeof *h);
        else
            memset(h, 0, (size_t)E * sizeof *h);
    }
    d->x = NULL;
    d->tok = tokens;
    return forward_scales(d, B, T);
}

/* ---- backward ---------------------------------------------------------- */

void disc_backward(disc *d, const float *dlogits, const float *dfeat, int param_grads, float *dinput)
{
    if (!d->have_fwd) return;
    const disc_config *c = &d->cfg;
    int B = d->B, T = d->T, E = c->embed, H = c->hidden, S = c->n_scales, k = c->kernel, V = c->vocab;
    int FD = S * H;
    float slope = c->leaky;
    if (param_grads)
        for (int i = 0; i < d->n_sn; i++)
            memset(d->sn[i]->dWsn, 0, (size_t)d->sn[i]->OC * d->sn[i]->IC * sizeof(float));
    memset(d->dh0, 0, (size_t)B * T * E * sizeof(float));
    for (int si = 0; si < S; si++) {
        disc_scale *sc = &d->sc[si];
        int Ts = (T + sc->s - 1) / sc->s;
        long N = (long)B * Ts;
        const float *hw = sc->head.Wsn;
        float *dhb = d->tensors[sc->head.tb].grad;
        /* head and feature mean */
        for (int b = 0; b < B; b++) {
            float *g = d->dfs + (size_t)b * H;
            const float *f = d->feat + (size_t)b * FD + (size_t)si * H;
            float dl = dlogits ? dlogits[b] / (float)S : 0.0f;
            for (int h = 0; h < H; h++) g[h] = (dfeat ? dfeat[(size_t)b * FD + (size_t)si * H + h] : 0.0f) + dl * hw[h];
            if (param_grads && dlogits) {
                for (int h = 0; h < H; h++) sc->head.dWsn[h] += dl * f[h];
                dhb[0] += dl;
            }
        }
        float *dX = d->dX;
        for (long n = 0; n < N; n++) {
            const float *g = d->dfs + (size_t)(n / Ts) * H;
            float *o = dX + (size_t)n * H;
            for (int h = 0; h < H; h++) o[h] = g[h] / (float)Ts;
        }
        for (int l = c->n_layers - 1; l >= 0; l--) {
            sn_linear *L = &sc->layer[l];
            const float *A = sc->A[l];
#pragma omp parallel for schedule(static) if (N * H > 65536)
            for (long i = 0; i < N * H; i++) dX[i] *= A[i] > 0.0f ? 1.0f : slope; /* now dA */
            int in = l == 0 ? E : H;
            memset(d->dU, 0, (size_t)N * L->IC * sizeof(float));
            linear_backward(d->dU, param_grads ? L->dWsn : NULL, param_grads ? d->tensors[L->tb].grad : NULL, dX,
                            sc->U[l], L->Wsn, (int)N, L->IC, H);
            fold(dX, d->dU, B, Ts, in, k);
        }
        /* dX is now d(pooled input) (N, E) */
        if (sc->s > 1)
            pool_backward(d->dh0, dX, B, T, E, sc->s);
        else
            for (long i = 0; i < (long)B * T * E; i++) d->dh0[i] += dX[i];
    }
    nn_tensor *emb = &d->tensors[d->t_embed];
    if (param_grads) {
        if (d->x)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, E, B * T, 1.0f, d->x, V, d->dh0, E, 1.0f,
                        emb->grad, E);
        else
            for (long n = 0; n < (long)B * T; n++) {
                int32_t t = d->tok[n];
                if (t < 0 || t >= V) continue;
                float *g = emb->grad + (size_t)t * E;
                const float *s = d->dh0 + (size_t)n * E;
                for (int e = 0; e < E; e++) g[e] += s[e];
            }
        for (int i = 0; i < d->n_sn; i++) {
            sn_linear *L = d->sn[i];
            sn_backward(d->tensors[L->tw].grad, L->dWsn, L->Wsn, d->tensors[L->tu].param, d->tensors[L->tv].param,
                        L->sigma, L->OC, L->IC);
        }
    }
    if (dinput)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B * T, V, E, 1.0f, d->dh0, E, emb->param, E, 0.0f,
                    dinput, V);
}

void disc_zero_grad(disc *d) { memset(d->arena + d->n_params, 0, d->n_params * sizeof(float)); }

adamw_result disc_step(disc *d, adamw *opt, float loss)
{
    adamw_result r = adamw_step(opt, d->segs, d->n_segs, loss);
    disc_zero_grad(d);
    return r;
}

/* ---- accessors --------------------------------------------------------- */

const disc_config *disc_get_config(const disc *d) { return &d->cfg; }
const float *disc_logits(const disc *d) { return d->logit; }
const float *disc_scale_logits(const disc *d) { return d->slog; }
const float *disc_features(const disc *d) { return d->feat; }
int disc_feature_dim(const disc *d) { return d->cfg.n_scales * d->cfg.hidden; }
int disc_n_sn(const disc *d) { return d->n_sn; }
float disc_sn_sigma(const disc *d, int i) { return i >= 0 && i < d->n_sn ? d->sn[i]->sigma : 0.0f; }
size_t disc_n_params(const disc *d) { return d->n_params; }
int disc_n_tensors(const disc *d) { return d->n_tensors; }
float *disc_params(disc *d) { return d->arena; }
float *disc_grads(disc *d) { return d->arena + d->n_params; }
float *disc_adam_m(disc *d) { return d->arena + 2 * d->n_params; }
float *disc_adam_v(disc *d) { return d->arena + 3 * d->n_params; }

float *disc_sn_state(disc *d, size_t *n)
{
    *n = d->n_bufs;
    return d->bufs;
}

const nn_tensor *disc_tensor_at(const disc *d, int i) { return tensor_table_at(d->tensors, d->n_tensors, i); }

const nn_tensor *disc_tensor_find(const disc *d, const char *name)
{
    return tensor_table_find(d->tensors, d->n_tensors, name);
}
