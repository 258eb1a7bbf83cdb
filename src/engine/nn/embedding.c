/* embedding: token plus position embedding, and the fixed sinusoidal table. */
#include "engine/nn/embedding.h"

#include <math.h>
#include <stddef.h>

/* out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:] (wpe NULL: no position term). */
void embedding_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe,
                       int B, int T, int C)
{
    #pragma omp parallel for schedule(static) if ((long)B * T * C > 65536)
    for (int bt = 0; bt < B * T; bt++) {
        int t = bt % T;
        const float *e = wte + (size_t)tokens[bt] * C;
        float *o = out + (size_t)bt * C;
        if (!wpe) {
            for (int i = 0; i < C; i++) o[i] = e[i];
            continue;
        }
        const float *p = wpe + (size_t)t * C;
        for (int i = 0; i < C; i++) o[i] = e[i] + p[i];
    }
}

/* dwte[tokens[b,t],:] += dout[b,t,:]; dwpe[t,:] += dout[b,t,:] when dwpe. Serial:
 * repeated tokens share rows of dwte, and the work is tiny next to the model. */
void embedding_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens,
                        int B, int T, int C)
{
    for (int bt = 0; bt < B * T; bt++) {
        const float *d = dout + (size_t)bt * C;
        float *e = dwte + (size_t)tokens[bt] * C;
        for (int i = 0; i < C; i++) e[i] += d[i];
        if (dwpe) {
            float *p = dwpe + (size_t)(bt % T) * C;
            for (int i = 0; i < C; i++) p[i] += d[i];
        }
    }
}

/* table[t, 2i] = sin(t / 10000^(2i/C)), table[t, 2i+1] = cos(t / 10000^(2i/C)). */
void embedding_sinusoidal(float *table, int maxT, int C)
{
    for (int t = 0; t < maxT; t++) {
        for (int c = 0; c < C; c++) {
            int i2 = c & ~1; /* 2i */
            double angle = (double)t / pow(10000.0, (double)i2 / (double)C);
            table[(size_t)t * C + c] = (float)((c & 1) ? cos(angle) : sin(angle));
        }
    }
}
