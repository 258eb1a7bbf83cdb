/* kv_linear: the linear layer of a decode step (a few rows through one
 * weight matrix), for kv_cache. Two kernels, each batch-invariant (out[r][o]
 * is computed by the same operations in the same order whether r is one row
 * of 1 or of 64, so a sequence decoded in a batch gets bit-for-bit the
 * logits it gets alone): kv_linear_forward on the PyTorch nn.Linear layout
 * (row dot products; small prefill chunks), and kv_linear_forward_packed on
 * a copy packed once into panels (decode steps: no horizontal sums, 1.6x
 * at 16 rows). Both read the weights once per call whatever the rows. */
#ifndef AURL_KV_LINEAR_H
#define AURL_KV_LINEAR_H

/* out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC; NULL for none).
 * Each dot product runs over 16 lanes (lane j takes k = j mod 16, in
 * increasing k) reduced by a fixed tree, then the bias is added. */
void kv_linear_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC);

/* Output columns per panel of a packed weight. */
#define KV_PANEL 64

/* A weight matrix (OC, C) repacked for decode steps: panel b holds outputs
 * b*KV_PANEL.. as [C][KV_PANEL] (zero-padded past OC), so a step reads
 * every panel front to back, and each output sits in a vector lane: no
 * horizontal sums. */
typedef struct {
    float *p;
    int C, OC, npanels;
} kv_packed;

/* Pack weight (OC, C) into pk. Returns 0, or -1 when out of memory. */
int kv_linear_pack(kv_packed *pk, const float *weight, int C, int OC);
void kv_packed_free(kv_packed *pk);

/* out (N, OC) = inp (N, pk->C) @ weight^T + bias (NULL for none), from the
 * packed weight. Batch-invariant like kv_linear_forward: out[r][o] is the
 * sum over k in increasing order (one FMA chain per output), plus the bias
 * last, whatever N. */
void kv_linear_forward_packed(float *out, const float *inp, const kv_packed *pk, const float *bias, int N);
#endif
