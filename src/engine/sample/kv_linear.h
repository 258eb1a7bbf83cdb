/* kv_linear: the linear layer of a decode step (a few rows through one
 * weight matrix), for kv_cache. Three kernels, each batch-invariant (out[r][o]
 * is computed by the same operations in the same order whether r is one row
 * of 1 or of 64, so a sequence decoded in a batch gets bit-for-bit the
 * logits it gets alone): kv_linear_forward on the PyTorch nn.Linear layout
 * (row dot products; small prefill chunks), and kv_linear_forward_packed on
 * a copy packed once into panels (decode steps: no horizontal sums, 1.6x
 * at 16 rows). Both read the weights once per call whatever the rows.
 * kv_linear_forward_bf16 is the packed kernel over bf16 weights (half the
 * bytes a step streams), with float32 inputs and sums. */
#ifndef AURL_KV_LINEAR_H
#define AURL_KV_LINEAR_H

#include <stdint.h>

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

/* ---- bf16 decoding (engine/nn/bf16) ---- */

/* A weight matrix (OC, C) packed in bf16 for decode steps: panel b holds
 * outputs b*KV_PANEL.. as [Cp/2][KV_PANEL][2] (Cp = C rounded up to even;
 * the inputs k = 2i and 2i+1 of one output side by side in one 32-bit
 * word, so a shift and a mask widen them; zero-padded past C and OC).
 * Half the bytes of kv_packed. */
typedef struct {
    uint16_t *p;
    int C, Cp, OC, npanels;
} kv_packed16;

/* Pack weight (OC, C), each element rounded to bf16. Returns 0 or -1 (OOM). */
int kv_linear_pack_bf16(kv_packed16 *pk, const float *weight, int C, int OC);
void kv_packed16_free(kv_packed16 *pk);

/* C rounded up to even. */
static inline int kv_linear_cp(int C) { return (C + 1) & ~1; }

/* out (N, OC) = inp (N, pk->C floats) @ weight^T + bias (NULL for none),
 * the weights widened exactly from bf16, the inputs and every sum float32.
 * Each output is one fused multiply-add chain over k in increasing order,
 * then plus the bias: the AVX-512 kernel (when bf16_native()) and the
 * portable one give the same bits, and a row's result does not depend on
 * N (batch-invariant). (VDPBF16PS, which would take bf16 inputs too, runs
 * at half the FMA rate on this machine's CPU: 1.3 vs 5.4 G/s.) */
void kv_linear_forward_bf16(float *out, const float *inp, const kv_packed16 *pk, const float *bias, int N);
#endif
