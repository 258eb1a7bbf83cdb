/* attention: blocked multi-head self-attention (causal full, sliding window,
 * hierarchical; non-causal bidirectional) with a hand-written backward pass, all products via sgemm.
 *
 * Layout. Queries are processed in blocks of ATTN_BQ rows [q0, q1). A block
 * attends to ng "global" keys (hierarchical only: every g < kw0 with
 * g % stride == stride-1, gathered into a contiguous buffer) followed by the
 * contiguous key range [kw0, q1), kw0 = max(0, q0 - W + 1) (W = T for full).
 * (bidirectional: the key range is [0, T) for every block, no masking).
 * In the causal variants keys above the block are never touched, so full attention does about half
 * the work of T x T, and sliding/hierarchical cost O(T * (W + T/stride)).
 * Within the block each row is masked to exactly the positions its variant
 * allows; the saved probabilities are the blocks' (rows x (ng + nw))
 * matrices, one after another, per (batch, head). */
#include "engine/nn/attention.h"

#include "engine/nn/fastmath.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#ifndef ATTN_BQ
#define ATTN_BQ 64 /* query rows per block (override with -DATTN_BQ=n to tune) */
#endif
#define ATTN_MAX_SLOTS 16  /* per-thread workspace slots (threads used at most) */
/* Below this many score entries x head size (about a quarter of the flops)
 * a call runs on one thread: waking a team costs more than it saves. */
#define ATTN_PAR_MIN (1L << 21)

/* Effective geometry of one variant at sequence length T. */
typedef struct {
    int T;
    int W;      /* window, clamped to [1, T]; T for full attention */
    int stride; /* global stride, 0 when there are no global positions */
    int bidir;  /* 1: every query sees all T keys */
} attn_geom;

static attn_geom geom_make(const attn_config *cfg, int T)
{
    attn_geom g = {T, T, 0, cfg->kind == ATTN_BIDIRECTIONAL};
    if (cfg->kind == ATTN_SLIDING || cfg->kind == ATTN_HIERARCHICAL) {
        g.W = cfg->window < 1 ? 1 : (cfg->window > T ? T : cfg->window);
        if (cfg->kind == ATTN_HIERARCHICAL && cfg->stride >= 1) g.stride = cfg->stride;
    }
    return g;
}

/* Key columns of the block [q0, q1): window keys [kw0, *ke) and global count ng. */
static void block_keys(const attn_geom *g, int q0, int q1, int *kw0, int *ke, int *ng)
{
    int k = q0 - g->W + 1;
    *kw0 = k < 0 ? 0 : k;
    *ke = g->bidir ? g->T : q1;
    *ng = g->stride > 0 ? *kw0 / g->stride : 0;
}

/* Number of global positions g < T (g = stride-1, 2*stride-1, ...). */
static int n_globals(const attn_geom *g) { return g->stride > 0 ? g->T / g->stride : 0; }

/* Saved floats for one (batch, head), and the widest block row. */
static size_t per_head_saved(const attn_geom *g, int *maxw)
{
    size_t total = 0;
    int mw = 0;
    for (int q0 = 0; q0 < g->T; q0 += ATTN_BQ) {
        int q1 = q0 + ATTN_BQ < g->T ? q0 + ATTN_BQ : g->T;
        int kw0, ke, ng;
        block_keys(g, q0, q1, &kw0, &ke, &ng);
        int w = ng + ke - kw0;
        total += (size_t)(q1 - q0) * (size_t)w;
        if (w > mw) mw = w;
    }
    if (maxw) *maxw = mw;
    return total;
}

static int n_slots(int B, int NH)
{
    long items = (long)B * NH;
    return items < ATTN_MAX_SLOTS ? (int)items : ATTN_MAX_SLOTS;
}

/* Floats of one thread's slot: Kg, Vg, dKg, dVg (n_globals x hs each), dP. */
static size_t slot_size(const attn_geom *g, int hs)
{
    int maxw;
    per_head_saved(g, &maxw);
    return 4 * (size_t)n_globals(g) * (size_t)hs + (size_t)ATTN_BQ * (size_t)maxw;
}

/* Saved probabilities: B*NH copies of the per-head block layout. */
size_t attn_saved_size(const attn_config *cfg, int B, int T, int NH)
{
    if (B <= 0 || T <= 0 || NH <= 0) return 0;
    attn_geom g = geom_make(cfg, T);
    return (size_t)B * (size_t)NH * per_head_saved(&g, NULL);
}

/* Workspace: one slot per thread that may run, each big enough for any head. */
size_t attn_work_size(const attn_config *cfg, int B, int T, int C, int NH)
{
    if (B <= 0 || T <= 0 || NH <= 0 || C < NH) return 0;
    attn_geom g = geom_make(cfg, T);
    return (size_t)n_slots(B, NH) * slot_size(&g, C / NH);
}

/* Threads for the (batch, head) loop: never more than the workspace slots,
 * and one for small problems. */
static int team_size(const attn_geom *g, int B, int NH, int hs)
{
    if ((double)B * NH * (double)per_head_saved(g, NULL) * hs < (double)ATTN_PAR_MIN) return 1;
    int nt = omp_get_max_threads();
    int ns = n_slots(B, NH);
    return nt < ns ? nt : ns;
}

/* What forward and backward derive from their arguments. */
typedef struct {
    int hs, ld, nitems; /* head size, qkv row stride (3C), B * NH */
    float scale;        /* 1 / sqrt(hs) */
    attn_geom g;
    int nG;             /* global positions (hierarchical) */
    size_t per_head;    /* saved floats per (batch, head) */
    size_t slot;        /* workspace floats per thread */
    int threads;
} attn_plan;

static attn_plan plan_make(const attn_config *cfg, int B, int T, int C, int NH)
{
    attn_plan p;
    p.hs = C / NH;
    p.ld = 3 * C;
    p.nitems = B * NH;
    p.scale = 1.0f / sqrtf((float)p.hs);
    p.g = geom_make(cfg, T);
    p.nG = n_globals(&p.g);
    p.per_head = per_head_saved(&p.g, NULL);
    p.slot = slot_size(&p.g, p.hs);
    p.threads = team_size(&p.g, B, NH, p.hs);
    return p;
}

/* Copy the global positions' rows of src (leading dimension ld) into dst (n x hs). */
static void gather_globals(float *dst, const float *src, int ld, int n, int stride, int hs)
{
    for (int i = 0; i < n; i++)
        memcpy(dst + (size_t)i * hs, src + (size_t)((i + 1) * stride - 1) * ld,
               (size_t)hs * sizeof *dst);
}

/* Max of x[0..n). */
static inline float seg_max(const float *x, int n, float mx)
{
    #pragma omp simd reduction(max : mx)
    for (int c = 0; c < n; c++) mx = x[c] > mx ? x[c] : mx;
    return mx;
}

/* x[c] = exp(x[c] - mx) for c in [0, n); returns the sum. */
static inline float seg_exp(float *x, int n, float mx)
{
    float sum = 0.0f;
    #pragma omp simd reduction(+ : sum)
    for (int c = 0; c < n; c++) {
        float e = fastmath_exp_neg(x[c] - mx);
        x[c] = e;
        sum += e;
    }
    return sum;
}

/* Masked softmax of the block rows of S (rows x w, ld w) in place; masked
 * entries become exactly 0. Global columns [0, ng) are always allowed;
 * window column c is key j = kw0 + c - ng, allowed for query t iff j <= t
 * and (j >= t-W+1, or j is a global position: hierarchical only);
 * bidirectional rows allow every column. */
static void block_softmax(float *S, int rows, int w, int ng, int q0, int kw0,
                          const attn_geom *g)
{
    const int st = g->stride;
    for (int r = 0; r < rows; r++) {
        float *row = S + (size_t)r * w;
        int t = q0 + r;
        int lo = t - g->W + 1 > kw0 ? t - g->W + 1 : kw0; /* t's window: keys [lo, t] */
        int cs = ng + lo - kw0, ce = g->bidir ? w : ng + t - kw0 + 1; /* its columns [cs, ce) */
        /* hierarchical: global keys in [kw0, lo) sit in columns [ng, cs) */
        int first_g = 0;
        if (st > 0) first_g = kw0 + ((st - 1 - kw0 % st) % st); /* first global >= kw0 */
        float mx = seg_max(row, ng, -INFINITY);
        mx = seg_max(row + cs, ce - cs, mx);
        if (st > 0)
            for (int j = first_g; j < lo; j += st) {
                float v = row[ng + j - kw0];
                mx = v > mx ? v : mx;
            }
        float sum = seg_exp(row, ng, mx) + seg_exp(row + cs, ce - cs, mx);
        if (st > 0) {
            int j = kw0, next = first_g;
            for (int c = ng; c < cs; c++, j++) {
                if (j == next) {
                    float e = fastmath_exp_neg(row[c] - mx);
                    row[c] = e;
                    sum += e;
                    next += st;
                } else {
                    row[c] = 0.0f;
                }
            }
        } else if (cs > ng) {
            memset(row + ng, 0, (size_t)(cs - ng) * sizeof *row);
        }
        if (w > ce) memset(row + ce, 0, (size_t)(w - ce) * sizeof *row);
        float inv = 1.0f / sum;
        #pragma omp simd
        for (int c = 0; c < w; c++) row[c] *= inv;
    }
}

/* Per (batch, head) in parallel: per query block S = scale Q K^T (sgemm),
 * masked softmax into saved, O = P V (sgemm). */
void attn_forward(float *out, float *saved, float *work, const float *qkv,
                  const attn_config *cfg, int B, int T, int C, int NH)
{
    if (B <= 0 || T <= 0 || NH <= 0 || C < NH) return;
    const attn_plan pl = plan_make(cfg, B, T, C, NH);
    const int hs = pl.hs, ld = pl.ld, nitems = pl.nitems, nG = pl.nG;
    const float scale = pl.scale;
    const attn_geom g = pl.g;

    #pragma omp parallel num_threads(pl.threads)
    {
        float *Kg = work + (size_t)omp_get_thread_num() * pl.slot;
        float *Vg = Kg + (size_t)nG * hs;
        #pragma omp for schedule(dynamic, 1)
        for (int item = 0; item < nitems; item++) {
            int b = item / NH, h = item % NH;
            const float *Q = qkv + (size_t)b * T * ld + (size_t)h * hs;
            const float *K = Q + C, *V = Q + 2 * C;
            float *O = out + (size_t)b * T * C + (size_t)h * hs;
            float *P = saved + (size_t)item * pl.per_head;
            if (nG) {
                gather_globals(Kg, K, ld, nG, g.stride, hs);
                gather_globals(Vg, V, ld, nG, g.stride, hs);
            }
            for (int q0 = 0; q0 < T; q0 += ATTN_BQ) {
                int q1 = q0 + ATTN_BQ < T ? q0 + ATTN_BQ : T, rows = q1 - q0;
                int kw0, ke, ng;
                block_keys(&g, q0, q1, &kw0, &ke, &ng);
                int nw = ke - kw0, w = ng + nw;
                const float *Qb = Q + (size_t)q0 * ld;
                if (ng)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, ng, hs, scale,
                                Qb, ld, Kg, hs, 0.0f, P, w);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, nw, hs, scale, Qb,
                            ld, K + (size_t)kw0 * ld, ld, 0.0f, P + ng, w);
                block_softmax(P, rows, w, ng, q0, kw0, &g);
                float *Ob = O + (size_t)q0 * C;
                if (ng)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hs, ng, 1.0f,
                                P, w, Vg, hs, 0.0f, Ob, C);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hs, nw, 1.0f,
                            P + ng, w, V + (size_t)kw0 * ld, ld, ng ? 1.0f : 0.0f, Ob, C);
                P += (size_t)rows * w;
            }
        }
    }
}

/* Per (batch, head) in parallel: per block dP = dO V^T, dV += P^T dO,
 * dS = P (dP - rowsum(dP P)), dQ += scale dS K, dK += scale dS^T Q. */
void attn_backward(float *dqkv, float *work, const float *dout, const float *qkv,
                   const float *saved, const attn_config *cfg, int B, int T, int C, int NH)
{
    if (B <= 0 || T <= 0 || NH <= 0 || C < NH) return;
    const attn_plan pl = plan_make(cfg, B, T, C, NH);
    const int hs = pl.hs, ld = pl.ld, nitems = pl.nitems, nG = pl.nG;
    const float scale = pl.scale;
    const attn_geom g = pl.g;
    const size_t gsz = (size_t)nG * hs;

    #pragma omp parallel num_threads(pl.threads)
    {
        float *Kg = work + (size_t)omp_get_thread_num() * pl.slot;
        float *Vg = Kg + gsz, *dKg = Vg + gsz, *dVg = dKg + gsz, *dP = dVg + gsz;
        #pragma omp for schedule(dynamic, 1)
        for (int item = 0; item < nitems; item++) {
            int b = item / NH, h = item % NH;
            const float *Q = qkv + (size_t)b * T * ld + (size_t)h * hs;
            const float *K = Q + C, *V = Q + 2 * C;
            float *dQ = dqkv + (size_t)b * T * ld + (size_t)h * hs;
            float *dK = dQ + C, *dV = dQ + 2 * C;
            const float *dO = dout + (size_t)b * T * C + (size_t)h * hs;
            const float *P = saved + (size_t)item * pl.per_head;
            if (nG) {
                gather_globals(Kg, K, ld, nG, g.stride, hs);
                gather_globals(Vg, V, ld, nG, g.stride, hs);
                memset(dKg, 0, 2 * gsz * sizeof *dKg);
            }
            for (int q0 = 0; q0 < T; q0 += ATTN_BQ) {
                int q1 = q0 + ATTN_BQ < T ? q0 + ATTN_BQ : T, rows = q1 - q0;
                int kw0, ke, ng;
                block_keys(&g, q0, q1, &kw0, &ke, &ng);
                int nw = ke - kw0, w = ng + nw;
                const float *Qb = Q + (size_t)q0 * ld, *dOb = dO + (size_t)q0 * C;
                float *dQb = dQ + (size_t)q0 * ld;
                const float *Kw = K + (size_t)kw0 * ld, *Vw = V + (size_t)kw0 * ld;
                /* dP = dO V^T */
                if (ng)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, ng, hs, 1.0f,
                                dOb, C, Vg, hs, 0.0f, dP, w);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, nw, hs, 1.0f, dOb,
                            C, Vw, ld, 0.0f, dP + ng, w);
                /* dV += P^T dO */
                if (ng)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ng, hs, rows, 1.0f, P,
                                w, dOb, C, 1.0f, dVg, hs);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nw, hs, rows, 1.0f, P + ng,
                            w, dOb, C, 1.0f, dV + (size_t)kw0 * ld, ld);
                /* dS = P * (dP - rowsum(dP * P)), in place in dP */
                for (int r = 0; r < rows; r++) {
                    const float *p = P + (size_t)r * w;
                    float *d = dP + (size_t)r * w;
                    float s = 0.0f;
                    #pragma omp simd reduction(+ : s)
                    for (int c = 0; c < w; c++) s += d[c] * p[c];
                    #pragma omp simd
                    for (int c = 0; c < w; c++) d[c] = p[c] * (d[c] - s);
                }
                /* dQ += scale dS K;  dK += scale dS^T Q */
                if (ng) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hs, ng, scale,
                                dP, w, Kg, hs, 1.0f, dQb, ld);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ng, hs, rows, scale,
                                dP, w, Qb, ld, 1.0f, dKg, hs);
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hs, nw, scale,
                            dP + ng, w, Kw, ld, 1.0f, dQb, ld);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nw, hs, rows, scale,
                            dP + ng, w, Qb, ld, 1.0f, dK + (size_t)kw0 * ld, ld);
                P += (size_t)rows * w;
            }
            /* scatter the global keys' gradients back to their positions */
            for (int i = 0; i < nG; i++) {
                size_t pos = (size_t)((i + 1) * g.stride - 1) * ld;
                for (int c = 0; c < hs; c++) {
                    dK[pos + c] += dKg[(size_t)i * hs + c];
                    dV[pos + c] += dVg[(size_t)i * hs + c];
                }
            }
        }
    }
}

/* Map the YAML/CLI names to attn_kind. */
int attn_kind_parse(const char *name, attn_kind *kind)
{
    static const struct { const char *name; attn_kind kind; } names[] = {
        {"full", ATTN_FULL}, {"sliding_window", ATTN_SLIDING}, {"hierarchical", ATTN_HIERARCHICAL}};
    if (!name || !kind) return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *kind = names[i].kind;
            return 0;
        }
    return -1;
}

/* The name attn_kind_parse accepts for kind. */
const char *attn_kind_name(attn_kind kind)
{
    switch (kind) {
    case ATTN_FULL: return "full";
    case ATTN_SLIDING: return "sliding_window";
    case ATTN_HIERARCHICAL: return "hierarchical";
    case ATTN_BIDIRECTIONAL: return "bidirectional";
    }
    return "unknown";
}
