/* loss: softmax cross-entropy over logits (N, V) with integer targets;
 * targets equal to ignore_index (PAD) contribute nothing. Also the argmax
 * prediction of a row and the accuracy count of argmax predictions. */
#ifndef AURL_LOSS_H
#define AURL_LOSS_H

#include <stdint.h>

/* Writes probs (N, V) (softmax, kept for backward) and returns the mean loss
 * over non-ignored targets (0 if none); *count gets that number. */
float xent_forward(float *probs, const float *logits, const int32_t *targets,
                   int N, int V, int ignore_index, int *count);
/* dlogits = (probs - onehot) * scale / count for non-ignored rows, 0 for
 * ignored rows (overwrites dlogits). scale is dloss (usually 1). */
void xent_backward(float *dlogits, const float *probs, const int32_t *targets,
                   int N, int V, int ignore_index, int count, float scale);
/* Index of the largest of x[0..V) (V >= 1): the first one on ties; a NaN
 * never wins over x[0]. */
int loss_argmax(const float *x, int V);
/* Rows r of logits (N, V) whose argmax equals targets[r], among the rows
 * whose target is not ignore_index (an out-of-range target never matches). */
int loss_argmax_correct(const float *logits, const int32_t *targets, int N, int V, int ignore_index);
#endif
