/* kv_linear: the linear layer of a decode step (a few rows through one
 * weight matrix, PyTorch nn.Linear layout), for kv_cache. It reads the
 * weights once per step whatever the number of rows (no packing copy, as
 * sgemm makes), and it is batch-invariant: out[r][o] is computed by the same
 * operations in the same order whether r is one row of 1 or of 64, so a
 * sequence decoded in a batch gets bit-for-bit the logits it gets alone. */
#ifndef AURL_KV_LINEAR_H
#define AURL_KV_LINEAR_H

/* out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC; NULL for none).
 * Each dot product runs over 16 lanes (lane j takes k = j mod 16, in
 * increasing k) reduced by a fixed tree, then the bias is added. */
void kv_linear_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC);
#endif
