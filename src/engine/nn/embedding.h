/* embedding: token embedding plus learned or sinusoidal positions.
 * tokens (B, T) ints; wte (V, C); wpe (maxT, C) learned, or a fixed
 * sinusoidal table from embedding_sinusoidal() that gets no gradient. */
#ifndef AURL_EMBEDDING_H
#define AURL_EMBEDDING_H

#include <stdint.h>

/* out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:] (no position term when wpe is NULL:
 * rotary models). Tokens must be in [0, V):
 * callers map anything else first (transformer_forward uses UNK). */
void embedding_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe,
                       int B, int T, int C);
/* Accumulates into dwte and (if not NULL) dwpe. */
void embedding_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens,
                        int B, int T, int C);
/* Fill table (maxT, C) with the sinusoidal encoding of "Attention is all you
 * need": even columns sin(t / 10000^(2i/C)), odd columns cos(...). */
void embedding_sinusoidal(float *table, int maxT, int C);
#endif
