/* gelu: GELU with the tanh approximation (PyTorch approximate='tanh'). */
#ifndef AURL_GELU_H
#define AURL_GELU_H

/* out[i] = gelu(inp[i]) for n elements (out may equal inp). */
void gelu_forward(float *out, const float *inp, int n);
/* Accumulates (+=) into dinp. */
void gelu_backward(float *dinp, const float *inp, const float *dout, int n);
#endif
