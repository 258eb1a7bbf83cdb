/* loss: softmax cross-entropy with an ignore index (PyTorch reduction='mean'),
 * argmax predictions and their accuracy count. */
#include "engine/nn/loss.h"

#include "engine/nn/fastmath.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Targets outside [0, V) are treated like ignore_index: they cannot crash us. */
static int xent_counts(int32_t target, int V, int ignore_index)
{
    return target != ignore_index && target >= 0 && target < V;
}

/* Softmax of one row x into p, max-subtracted. */
static void softmax_row(float *p, const float *x, int V)
{
    float mx = x[0];
    #pragma omp simd reduction(max : mx)
    for (int i = 1; i < V; i++) mx = x[i] > mx ? x[i] : mx;
    float sum = 0.0f;
    #pragma omp simd reduction(+ : sum)
    for (int i = 0; i < V; i++) {
        p[i] = fastmath_exp_neg(x[i] - mx);
        sum += p[i];
    }
    float inv = 1.0f / sum;
    #pragma omp simd
    for (int i = 0; i < V; i++) p[i] *= inv;
}

/* -log softmax(x)[t] from the logits in double (used when p[t] underflowed). */
static double nll_exact(const float *x, int V, int t)
{
    double mx = x[0];
    for (int i = 1; i < V; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < V; i++) sum += exp((double)x[i] - mx);
    return log(sum) + mx - (double)x[t];
}

/* probs = softmax(logits); returns mean of -log p[target] over counted rows. */
float xent_forward(float *probs, const float *logits, const int32_t *targets,
                   int N, int V, int ignore_index, int *count)
{
    int cnt = 0;
    double total = 0.0;
    if (N > 0 && V > 0) {
        #pragma omp parallel for schedule(static) if ((long)N * V > 65536)
        for (int r = 0; r < N; r++)
            softmax_row(probs + (size_t)r * V, logits + (size_t)r * V, V);
        /* serial, fixed order: the loss is reproducible whatever the thread count */
        for (int r = 0; r < N; r++) {
            int32_t t = targets[r];
            if (!xent_counts(t, V, ignore_index)) continue;
            float p = probs[(size_t)r * V + t];
            total += p > 1e-30f ? -log((double)p) : nll_exact(logits + (size_t)r * V, V, t);
            cnt++;
        }
    }
    if (count) *count = cnt;
    return cnt ? (float)(total / cnt) : 0.0f;
}

/* dlogits = (probs - onehot(target)) * scale / count on counted rows, else 0. */
void xent_backward(float *dlogits, const float *probs, const int32_t *targets,
                   int N, int V, int ignore_index, int count, float scale)
{
    if (N <= 0 || V <= 0) return;
    float f = count > 0 ? scale / (float)count : 0.0f;
    #pragma omp parallel for schedule(static) if ((long)N * V > 65536)
    for (int r = 0; r < N; r++) {
        float *d = dlogits + (size_t)r * V;
        int32_t t = targets[r];
        if (count <= 0 || !xent_counts(t, V, ignore_index)) {
            memset(d, 0, (size_t)V * sizeof *d);
            continue;
        }
        const float *p = probs + (size_t)r * V;
        for (int i = 0; i < V; i++) d[i] = p[i] * f;
        d[t] -= f;
    }
}

int loss_argmax(const float *x, int V)
{
    int best = 0;
    for (int v = 1; v < V; v++)
        if (x[v] > x[best]) best = v;
    return best;
}

int loss_argmax_correct(const float *logits, const int32_t *targets, int N, int V, int ignore_index)
{
    int correct = 0;
    for (int r = 0; r < N; r++) {
        if (targets[r] == ignore_index) continue;
        correct += loss_argmax(logits + (size_t)r * V, V) == targets[r];
    }
    return correct;
}
