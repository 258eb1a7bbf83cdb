/* kv_cache: per-layer key/value caches and the one-row-at-a-time forward
 * pass (batched over new rows) of the transformer, for sampling. In bf16
 * precision the cache holds bf16 keys and values and decode steps run the
 * bf16 packed weights (kv_linear_forward_bf16); prefill chunks keep the
 * float32 weights either way. */
#include "engine/sample/kv_cache.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/nn/attn_decode.h"
#include "engine/nn/bf16.h"
#include "engine/nn/embedding.h"
#include "engine/nn/gelu.h"
#include "engine/nn/layernorm.h"
#include "engine/nn/linear.h"
#include "engine/nn/rope.h"
#include "engine/sample/kv_linear.h"

/* Below this many multiply-adds an attention pass runs on one thread. */
#define KV_PAR_MIN (1L << 16)

typedef struct {
    const float *ln1w, *ln1b, *qkvw, *qkvb, *projw, *projb, *ln2w, *ln2b, *fc1w, *fc1b, *fc2w, *fc2b;
    kv_packed qkv, proj, fc1, fc2; /* the matrices packed for fp32 decode steps (owned) */
    kv_packed16 qkv16, proj16, fc116, fc216; /* ... for bf16 decode steps (owned) */
} layer_w;

struct kv_cache {
    model_config cfg;
    int n_seq, C, NH, hs, F, V, L, maxT;
    int W;         /* attention window (maxT for full attention) */
    int stride;    /* global stride (hierarchical), 0 otherwise */
    int cap;       /* ring slots per sequence and layer */
    int n_glob;    /* global slots per sequence and layer */
    int max_rows;  /* rows one pass can take */
    kv_precision prec; /* KV_PREC_FP32 or KV_PREC_BF16 (resolved) */
    size_t esz;        /* bytes of a cached element: 4 (float) or 2 (bf16) */
    size_t seq_floats; /* elements of one sequence's K (or V) ring over all layers */
    size_t glob_floats;
    char *k, *v;       /* [n_seq][L][cap][C] elements */
    char *gk, *gv;     /* [n_seq][L][n_glob][C] */
    char *tk, *tv, *tgk, *tgv; /* reorder scratch, same shapes (lazy) */
    int *len;
    const float *wte, *wpe;
    float *pos_table;  /* sinusoidal table (owned) or NULL */
    float *rope;       /* rotary table (owned; engine/nn/rope) or NULL: wpe is then NULL */
    layer_w *lw;
    const float *lnfw, *lnfb;
    kv_packed head;    /* wte packed as the tied output head (owned) */
    kv_packed16 head16;
    int packed;        /* the kv_packed copies exist (made by the first decode step) */
    const float *cond;
    int cond_rows;
    /* scratch for max_rows rows */
    float *x, *ln, *qkv, *atty, *tmp, *fch, *mean, *rstd, *scores;
    int *rseq, *rpos;
    int32_t *rtok;
};

static const float *tensor_param(const transformer *m, const char *name, size_t numel, int *ok)
{
    const nn_tensor *t = transformer_tensor_find(m, name);
    if (!t || t->numel != numel) {
        *ok = 0;
        return NULL;
    }
    return t->param;
}

int kv_precision_parse(const char *name, kv_precision *out)
{
    static const char *const names[] = {"auto", "fp32", "bf16"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i])) {
            *out = (kv_precision)i;
            return 0;
        }
    return -1;
}

const char *kv_precision_name(kv_precision p)
{
    return p == KV_PREC_FP32 ? "fp32" : p == KV_PREC_BF16 ? "bf16" : "auto";
}

kv_precision kv_precision_resolve(kv_precision p)
{
    if (p == KV_PREC_FP32 || p == KV_PREC_BF16) return p;
    return bf16_native() ? KV_PREC_BF16 : KV_PREC_FP32;
}

int kv_cache_create(kv_cache **out, const transformer *m, int n_seq, char err[AURL_ERR_LEN])
{
    return kv_cache_create_prec(out, m, n_seq, KV_PREC_FP32, err);
}

kv_precision kv_cache_precision(const kv_cache *c) { return c->prec; }

int kv_cache_create_prec(kv_cache **out, const transformer *m, int n_seq, kv_precision prec,
                         char err[AURL_ERR_LEN])
{
    *out = NULL;
    const model_config *cfg = transformer_config(m);
    if (n_seq < 1 || n_seq > 4096) {
        errmsg_set(err, "kv_cache: %d sequences (must be 1..4096)", n_seq);
        return -1;
    }
    if (cfg->attn.kind != ATTN_FULL && cfg->attn.kind != ATTN_SLIDING && cfg->attn.kind != ATTN_HIERARCHICAL) {
        errmsg_set(err, "kv_cache: %s attention is not causal: it cannot decode token by token",
                   attn_kind_name(cfg->attn.kind));
        return -1;
    }
    kv_cache *c = calloc(1, sizeof *c);
    if (!c) goto nomem;
    c->cfg = *cfg;
    c->n_seq = n_seq;
    c->prec = kv_precision_resolve(prec);
    c->esz = c->prec == KV_PREC_BF16 ? sizeof(uint16_t) : sizeof(float);
    c->C = cfg->d_model;
    c->NH = cfg->n_heads;
    c->hs = c->C / c->NH;
    c->F = cfg->d_ff;
    c->V = cfg->vocab_size;
    c->L = cfg->n_layers;
    c->maxT = cfg->max_seq_len;
    c->W = c->maxT;
    c->stride = 0;
    c->cap = c->maxT;
    if (cfg->attn.kind != ATTN_FULL) {
        c->W = cfg->attn.window < 1 ? 1 : cfg->attn.window;
        if (c->W > c->maxT) c->W = c->maxT;
        long cap = (long)c->W + KV_CACHE_CHUNK - 1;
        c->cap = cap < c->maxT ? (int)cap : c->maxT;
        if (cfg->attn.kind == ATTN_HIERARCHICAL && cfg->attn.stride >= 1) c->stride = cfg->attn.stride;
    }
    c->n_glob = c->stride > 0 ? c->maxT / c->stride : 0;
    c->max_rows = n_seq > KV_CACHE_CHUNK ? n_seq : KV_CACHE_CHUNK;
    size_t C = (size_t)c->C, R = (size_t)c->max_rows;
    c->seq_floats = (size_t)c->L * c->cap * C;
    c->glob_floats = (size_t)c->L * c->n_glob * C;
    c->k = malloc((size_t)n_seq * c->seq_floats * c->esz);
    c->v = malloc((size_t)n_seq * c->seq_floats * c->esz);
    if (c->n_glob) {
        c->gk = malloc((size_t)n_seq * c->glob_floats * c->esz);
        c->gv = malloc((size_t)n_seq * c->glob_floats * c->esz);
        if (!c->gk || !c->gv) goto nomem;
    }

    c->len = calloc((size_t)n_seq, sizeof *c->len);
    c->lw = calloc((size_t)c->L, sizeof *c->lw);
    c->x = malloc(R * C * sizeof(float));
    c->ln = malloc(R * C * sizeof(float));
    c->qkv = malloc(R * 3 * C * sizeof(float));
    c->atty = malloc(R * C * sizeof(float));
    c->tmp = malloc(R * C * sizeof(float));
    c->fch = malloc(R * (size_t)c->F * sizeof(float));
    c->mean = malloc(R * sizeof(float));
    c->rstd = malloc(R * sizeof(float));
    c->scores = malloc(R * (size_t)c->NH * (size_t)(c->cap + c->n_glob) * sizeof(float));
    c->rseq = malloc(R * sizeof(int));
    c->rpos = malloc(R * sizeof(int));
    c->rtok = malloc(R * sizeof(int32_t));
    if (!c->k || !c->v || !c->len || !c->lw || !c->x || !c->ln || !c->qkv || !c->atty || !c->tmp || !c->fch ||
        !c->mean || !c->rstd || !c->scores || !c->rseq || !c->rpos || !c->rtok)
        goto nomem;

    int ok = 1;
    size_t V = (size_t)c->V, F = (size_t)c->F;
    c->wte = tensor_param(m, "wte.weight", V * C, &ok);
    if (cfg->positions == POS_LEARNED) {
        c->wpe = tensor_param(m, "wpe.weight", (size_t)c->maxT * C, &ok);
    } else if (cfg->positions == POS_ROTARY) {
        c->rope = malloc(rope_table_size(c->maxT, c->hs) * sizeof(float));
        if (!c->rope) goto nomem;
        rope_table_fill(c->rope, c->maxT, c->hs);
    } else {
        c->pos_table = malloc((size_t)c->maxT * C * sizeof(float));
        if (!c->pos_table) goto nomem;
        embedding_sinusoidal(c->pos_table, c->maxT, c->C);
        c->wpe = c->pos_table;
    }
    for (int l = 0; l < c->L; l++) {
        char nm[64];
        layer_w *w = &c->lw[l];
#define W_(field, sfx, n) (snprintf(nm, sizeof nm, "blocks.%d.%s", l, sfx), w->field = tensor_param(m, nm, n, &ok))
        W_(ln1w, "ln1.weight", C);
        W_(ln1b, "ln1.bias", C);
        W_(qkvw, "attn.qkv.weight", 3 * C * C);
        W_(qkvb, "attn.qkv.bias", 3 * C);
        W_(projw, "attn.proj.weight", C * C);
        W_(projb, "attn.proj.bias", C);
        W_(ln2w, "ln2.weight", C);
        W_(ln2b, "ln2.bias", C);
        W_(fc1w, "mlp.fc1.weight", F * C);
        W_(fc1b, "mlp.fc1.bias", F);
        W_(fc2w, "mlp.fc2.weight", C * F);
        W_(fc2b, "mlp.fc2.bias", C);
#undef W_
    }
    c->lnfw = tensor_param(m, "ln_f.weight", C, &ok);
    c->lnfb = tensor_param(m, "ln_f.bias", C, &ok);
    if (!ok) {
        errmsg_set(err, "kv_cache: the model lacks a tensor the decoder needs");
        kv_cache_free(c);
        return -1;
    }
    *out = c;
    return 0;
nomem:
    errmsg_set(err, "kv_cache: out of memory for %d sequences of %d positions", n_seq, cfg->max_seq_len);
    kv_cache_free(c);
    return -1;
}

void kv_cache_free(kv_cache *c)
{
    if (!c) return;
    free(c->k);
    free(c->v);
    free(c->gk);
    free(c->gv);
    free(c->tk);
    free(c->tv);
    free(c->tgk);
    free(c->tgv);
    free(c->len);
    for (int l = 0; c->lw && l < c->L; l++) {
        kv_packed_free(&c->lw[l].qkv);
        kv_packed_free(&c->lw[l].proj);
        kv_packed_free(&c->lw[l].fc1);
        kv_packed_free(&c->lw[l].fc2);
        kv_packed16_free(&c->lw[l].qkv16);
        kv_packed16_free(&c->lw[l].proj16);
        kv_packed16_free(&c->lw[l].fc116);
        kv_packed16_free(&c->lw[l].fc216);
    }
    kv_packed_free(&c->head);
    kv_packed16_free(&c->head16);
    free(c->lw);
    free(c->pos_table);
    free(c->rope);
    free(c->x);
    free(c->ln);
    free(c->qkv);
    free(c->atty);
    free(c->tmp);
    free(c->fch);
    free(c->mean);
    free(c->rstd);
    free(c->scores);
    free(c->rseq);
    free(c->rpos);
    free(c->rtok);
    free(c);
}

void kv_cache_set_cond(kv_cache *c, const float *cond, int rows)
{
    c->cond = rows > 0 ? cond : NULL;
    c->cond_rows = cond ? rows : 0;
}

void kv_cache_reset(kv_cache *c, int seq)
{
    if (seq >= 0 && seq < c->n_seq) c->len[seq] = 0;
}

int kv_cache_len(const kv_cache *c, int seq) { return seq >= 0 && seq < c->n_seq ? c->len[seq] : 0; }
int kv_cache_n_seq(const kv_cache *c) { return c->n_seq; }

/* Cache row `row` of sequence s, layer l (ring or globals), as bytes. */
static char *ring_k(kv_cache *c, int s, int l, int row)
{
    return c->k + ((size_t)s * c->seq_floats + ((size_t)l * c->cap + row) * c->C) * c->esz;
}
static char *ring_v(kv_cache *c, int s, int l, int row)
{
    return c->v + ((size_t)s * c->seq_floats + ((size_t)l * c->cap + row) * c->C) * c->esz;
}
static char *glob_k(kv_cache *c, int s, int l, int row)
{
    return c->gk + ((size_t)s * c->glob_floats + ((size_t)l * c->n_glob + row) * c->C) * c->esz;
}
static char *glob_v(kv_cache *c, int s, int l, int row)
{
    return c->gv + ((size_t)s * c->glob_floats + ((size_t)l * c->n_glob + row) * c->C) * c->esz;
}

/* One cached row from C floats: copied, or rounded to bf16. */
static void put_row(const kv_cache *c, char *dst, const float *src)
{
    if (c->prec == KV_PREC_BF16) bf16_from_f32_n((uint16_t *)dst, src, (size_t)c->C);
    else memcpy(dst, src, (size_t)c->C * sizeof(float));
}

/* Store the keys and values of the n rows of qkv into layer l's caches. */
static void store_kv(kv_cache *c, int l, int n)
{
    size_t C = (size_t)c->C;
    for (int r = 0; r < n; r++) {
        int s = c->rseq[r], p = c->rpos[r];
        const float *k = c->qkv + (size_t)r * 3 * C + C, *v = k + C;
        int slot = p % c->cap;
        put_row(c, ring_k(c, s, l, slot), k);
        put_row(c, ring_v(c, s, l, slot), v);
        if (c->stride > 0 && p % c->stride == c->stride - 1 && p / c->stride < c->n_glob) {
            put_row(c, glob_k(c, s, l, p / c->stride), k);
            put_row(c, glob_v(c, s, l, p / c->stride), v);
        }
    }
}

/* One row, all heads (engine/nn/attn_decode): the row's visible keys are
 * at most three contiguous slot ranges (the globals, and the window, split
 * where the ring wraps). sc holds NH x (cap + n_glob) scores. */
static void attend_row(kv_cache *c, int l, int r, float *sc)
{
    int s = c->rseq[r], t = c->rpos[r], C = c->C;
    const float *q = c->qkv + (size_t)r * 3 * C;
    int lo = t - c->W + 1 > 0 ? t - c->W + 1 : 0;
    int ng = c->stride > 0 ? lo / c->stride : 0;
    const char *k[3], *v[3]; /* first row of each span */
    int len[3], nr = 0;
    if (ng) k[nr] = glob_k(c, s, l, 0), v[nr] = glob_v(c, s, l, 0), len[nr++] = ng;
    int a = lo % c->cap, b = t % c->cap;
    k[nr] = ring_k(c, s, l, a), v[nr] = ring_v(c, s, l, a), len[nr++] = a <= b ? b - a + 1 : c->cap - a;
    if (a > b) k[nr] = ring_k(c, s, l, 0), v[nr] = ring_v(c, s, l, 0), len[nr++] = b + 1;
    int per = c->cap + c->n_glob;
    float *o = c->atty + (size_t)r * C;
    if (c->prec == KV_PREC_BF16) {
        attn_span16 sp[3];
        for (int i = 0; i < nr; i++) sp[i] = (attn_span16){(const uint16_t *)k[i], (const uint16_t *)v[i], len[i]};
        attn_decode_row_bf16(o, q, sp, nr, c->NH, c->hs, sc, per);
    } else {
        attn_span sp[3];
        for (int i = 0; i < nr; i++) sp[i] = (attn_span){(const float *)k[i], (const float *)v[i], len[i]};
        attn_decode_row(o, q, sp, nr, c->NH, c->hs, sc, per);
    }
}

static void attend_rows(kv_cache *c, int l, int n)
{
    long work = 0;
    for (int r = 0; r < n; r++) work += (long)(c->rpos[r] < c->W ? c->rpos[r] + 1 : c->W) * c->C;
    size_t per = (size_t)c->NH * (size_t)(c->cap + c->n_glob);
#pragma omp parallel for schedule(static) if (work > KV_PAR_MIN)
    for (int r = 0; r < n; r++) attend_row(c, l, r, c->scores + (size_t)r * per);
}

/* Pack every matrix for decode steps, once, at the first step: a cache
 * that only prefills (and the time to the first token) does not pay for
 * the ~13 MB copy of the reference model. Returns 0 or -1 (OOM). */
static int pack_weights(kv_cache *c)
{
    if (c->packed) return 0;
    if (c->prec == KV_PREC_BF16) {
        for (int l = 0; l < c->L; l++) {
            layer_w *w = &c->lw[l];
            if (kv_linear_pack_bf16(&w->qkv16, w->qkvw, c->C, 3 * c->C) ||
                kv_linear_pack_bf16(&w->proj16, w->projw, c->C, c->C) ||
                kv_linear_pack_bf16(&w->fc116, w->fc1w, c->C, c->F) ||
                kv_linear_pack_bf16(&w->fc216, w->fc2w, c->F, c->C))
                return -1;
        }
        if (kv_linear_pack_bf16(&c->head16, c->wte, c->C, c->V)) return -1;
        c->packed = 1;
        return 0;
    }
    for (int l = 0; l < c->L; l++) {
        layer_w *w = &c->lw[l];
        if (kv_linear_pack(&w->qkv, w->qkvw, c->C, 3 * c->C) || kv_linear_pack(&w->proj, w->projw, c->C, c->C) ||
            kv_linear_pack(&w->fc1, w->fc1w, c->C, c->F) || kv_linear_pack(&w->fc2, w->fc2w, c->F, c->C))
            return -1;
    }
    if (kv_linear_pack(&c->head, c->wte, c->C, c->V)) return -1;
    c->packed = 1;
    return 0;
}

/* The linear layers of a pass: a decode step (DECODE, any number of rows:
 * one per sequence) always takes the packed weights (kv_linear), whose
 * result for a row does not depend on the other rows, so a batched sequence
 * decodes as it would alone; a prefill chunk of more than KV_GEMV_ROWS rows
 * takes sgemm on the model's own weights, a smaller one kv_linear_forward. */
#define KV_GEMV_ROWS 4
static void rows_linear(kv_cache *c, float *out, const float *inp, const float *w, const kv_packed *pk,
                        const kv_packed16 *pk16, const float *b, int n, int C, int OC, int decode)
{
    if (decode && c->prec == KV_PREC_BF16) kv_linear_forward_bf16(out, inp, pk16, b, n);
    else if (decode) kv_linear_forward_packed(out, inp, pk, b, n);
    else if (n > KV_GEMV_ROWS) linear_forward(out, inp, w, b, n, C, OC);
    else kv_linear_forward(out, inp, w, b, n, C, OC);
}

static void add_rows(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

/* The forward pass of the n rows (rseq, rpos, rtok); logits of rows
 * first_logit..n-1 into logits ((n - first_logit) x V). Decoding runs on
 * one thread (OpenMP and OpenBLAS follow omp_set_num_threads): a step's ~30
 * parallel regions of ~20 us cannot amortise waking a team, and when a
 * trainer or anything else keeps the cores busy, spinning teams collapse.
 * Measured on this 2-core machine under load ~4, 1024 tokens of the
 * reference model: 1365 tokens/s on one thread vs 463 with two (whose
 * re-prefills after each slide cost most), and a 256-token prefix's first
 * token in ~30 ms vs 760 ms. */
static void run_rows_mt(kv_cache *c, int n, int first_logit, float *logits, int decode);
static void run_rows(kv_cache *c, int n, int first_logit, float *logits, int decode)
{
    int nt = omp_get_max_threads();
    if (nt == 1 || omp_in_parallel()) {
        run_rows_mt(c, n, first_logit, logits, decode);
        return;
    }
    omp_set_num_threads(1);
    run_rows_mt(c, n, first_logit, logits, decode);
    omp_set_num_threads(nt);
}

static void run_rows_mt(kv_cache *c, int n, int first_logit, float *logits, int decode)
{
    int C = c->C, F = c->F, V = c->V;
    size_t NC = (size_t)n * C;
    for (int r = 0; r < n; r++) {
        int tok = c->rtok[r] >= 0 && c->rtok[r] < V ? c->rtok[r] : TOK_UNK;
        int p = c->rpos[r];
        float *x = c->x + (size_t)r * C;
        const float *e = c->wte + (size_t)tok * C;
        if (c->wpe) {
            const float *pe = c->wpe + (size_t)p * C;
            for (int i = 0; i < C; i++) x[i] = e[i] + pe[i];
        } else {
            memcpy(x, e, (size_t)C * sizeof(float));
        }
        if (c->cond && p < c->cond_rows) add_rows(x, c->cond + (size_t)p * C, (size_t)C);
    }
    for (int l = 0; l < c->L; l++) {
        const layer_w *w = &c->lw[l];
        layernorm_forward(c->ln, c->mean, c->rstd, c->x, w->ln1w, w->ln1b, n, C);
        rows_linear(c, c->qkv, c->ln, w->qkvw, &w->qkv, &w->qkv16, w->qkvb, n, C, 3 * C, decode);
        if (c->rope) rope_apply_qk(c->qkv, n, C, c->NH, c->rpos, 0, c->rope, 0); /* q, k at their positions */
        store_kv(c, l, n);
        attend_rows(c, l, n);
        rows_linear(c, c->tmp, c->atty, w->projw, &w->proj, &w->proj16, w->projb, n, C, C, decode);
        add_rows(c->x, c->tmp, NC);
        layernorm_forward(c->ln, c->mean, c->rstd, c->x, w->ln2w, w->ln2b, n, C);
        rows_linear(c, c->fch, c->ln, w->fc1w, &w->fc1, &w->fc116, w->fc1b, n, C, F, decode);
        if (decode) /* row by row: a row's elements meet the same vector lanes at any n */
            for (int r = 0; r < n; r++) gelu_forward(c->fch + (size_t)r * F, c->fch + (size_t)r * F, F);
        else
            gelu_forward(c->fch, c->fch, n * F);
        rows_linear(c, c->tmp, c->fch, w->fc2w, &w->fc2, &w->fc216, w->fc2b, n, F, C, decode);
        add_rows(c->x, c->tmp, NC);
    }
    int nl = n - first_logit;
    if (!logits || nl <= 0) return;
    const float *xl = c->x + (size_t)first_logit * C;
    layernorm_forward(c->ln, c->mean, c->rstd, xl, c->lnfw, c->lnfb, nl, C);
    rows_linear(c, logits, c->ln, c->wte, &c->head, &c->head16, NULL, nl, C, V, decode);
}

int kv_cache_prefill(kv_cache *c, int seq, const int32_t *tokens, int n, float *logits)
{
    if (seq < 0 || seq >= c->n_seq || n < 0 || c->len[seq] + n > c->maxT || (n > 0 && !tokens)) return -1;
    for (int done = 0; done < n;) {
        int k = n - done < KV_CACHE_CHUNK ? n - done : KV_CACHE_CHUNK;
        for (int r = 0; r < k; r++) {
            c->rseq[r] = seq;
            c->rpos[r] = c->len[seq] + r;
            c->rtok[r] = tokens[done + r];
        }
        int last = done + k == n;
        run_rows(c, k, last ? k - 1 : k, last ? logits : NULL, 0);
        c->len[seq] += k;
        done += k;
    }
    return 0;
}

int kv_cache_step_seqs(kv_cache *c, const int *seqs, const int32_t *tokens, int n, float *logits)
{
    if (n < 1 || n > c->n_seq) return -1;
    for (int r = 0; r < n; r++) {
        int s = seqs[r];
        if (s < 0 || s >= c->n_seq || c->len[s] >= c->maxT) return -1;
        c->rseq[r] = s;
        c->rpos[r] = c->len[s];
        c->rtok[r] = tokens[r];
    }
    if (pack_weights(c)) return -1;
    run_rows(c, n, 0, logits, 1);
    for (int r = 0; r < n; r++) c->len[seqs[r]]++;
    return 0;
}

int kv_cache_step(kv_cache *c, const int32_t *tokens, int n, float *logits)
{
    int seqs[4096];
    if (n < 1 || n > c->n_seq) return -1;
    for (int r = 0; r < n; r++) seqs[r] = r;
    return kv_cache_step_seqs(c, seqs, tokens, n, logits);
}

/* Copy the used part of sequence src's caches (in arrays a, ga) to dst's (in b, gb). */
static void copy_seq(const kv_cache *c, char *b, char *gb, int dst, const char *a, const char *ga, int src, int len)
{
    size_t C = (size_t)c->C * c->esz; /* bytes per row; offsets below are in bytes */
    size_t rows = (size_t)(len < c->cap ? len : c->cap);
    size_t grows = c->stride > 0 ? (size_t)(len / c->stride < c->n_glob ? len / c->stride : c->n_glob) : 0;
    for (int l = 0; l < c->L; l++) {
        size_t off = (size_t)l * c->cap * C;
        size_t sb = c->seq_floats * c->esz;
        memcpy(b + (size_t)dst * sb + off, a + (size_t)src * sb + off, rows * C);
        if (grows) {
            size_t goff = (size_t)l * c->n_glob * C;
            size_t gsb = c->glob_floats * c->esz;
            memcpy(gb + (size_t)dst * gsb + goff, ga + (size_t)src * gsb + goff, grows * C);
        }
    }
}

int kv_cache_reorder(kv_cache *c, const int *src, int n)
{
    if (n < 1 || n > c->n_seq) return -1;
    for (int i = 0; i < n; i++)
        if (src[i] < 0 || src[i] >= n) return -1;
    if (!c->tk) {
        size_t bytes = (size_t)c->n_seq * c->seq_floats * c->esz;
        size_t gbytes = (size_t)c->n_seq * c->glob_floats * c->esz;
        c->tk = malloc(bytes);
        c->tv = malloc(bytes);
        if (gbytes) {
            c->tgk = malloc(gbytes);
            c->tgv = malloc(gbytes);
        }
        if (!c->tk || !c->tv || (gbytes && (!c->tgk || !c->tgv))) {
            free(c->tk);
            free(c->tv);
            free(c->tgk);
            free(c->tgv);
            c->tk = c->tv = c->tgk = c->tgv = NULL;
            return -1;
        }
    }
    int newlen[4096];
    for (int i = 0; i < n; i++) {
        newlen[i] = c->len[src[i]];
        if (src[i] == i) continue;
        copy_seq(c, c->tk, c->tgk, i, c->k, c->gk, src[i], newlen[i]);
        copy_seq(c, c->tv, c->tgv, i, c->v, c->gv, src[i], newlen[i]);
    }
    for (int i = 0; i < n; i++) {
        if (src[i] != i) {
            copy_seq(c, c->k, c->gk, i, c->tk, c->tgk, i, newlen[i]);
            copy_seq(c, c->v, c->gv, i, c->tv, c->tgv, i, newlen[i]);
        }
        c->len[i] = newlen[i];
    }
    return 0;
}
