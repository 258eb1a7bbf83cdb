/* rope: rotary position embedding (RoPE, Su et al. 2021, "RoFormer").
 * Within each head of size hs, the pair (x[2i], x[2i+1]) of a query or key
 * at position p is rotated by the angle p * theta_i, theta_i =
 * 10000^(-2i/hs), i = 0 .. hs/2 - 1:
 *   x'[2i]   = x[2i] cos - x[2i+1] sin
 *   x'[2i+1] = x[2i] sin + x[2i+1] cos
 * so q_t . k_s depends on t - s only. Values are not rotated. The
 * backward of the rotation is the inverse rotation (angle -p * theta_i)
 * of the gradient. Applied in place to the q and k thirds of packed qkv
 * rows (q | k | v, C each), as engine/nn/block (training) and
 * engine/sample/kv_cache (decoding) hold them. */
#ifndef AURL_ROPE_H
#define AURL_ROPE_H

#include <stddef.h>

/* Floats of the table for positions 0..maxT-1 and head size hs (even). */
size_t rope_table_size(int maxT, int hs);
/* Fill tab (rope_table_size floats): tab[p * hs + 2i] = cos(p theta_i),
 * tab[p * hs + 2i + 1] = sin(p theta_i), computed in double. */
void rope_table_fill(float *tab, int maxT, int hs);
/* Rotate the q and k parts of n packed qkv rows (row stride 3C, NH heads of
 * C/NH) in place. Row r is at position pos[r], or r % T when pos is NULL
 * (B sequences of T rows, as in training). inverse: rotate by the negative
 * angle (the backward pass, on dq and dk). Every position must be below the
 * table's maxT. */
void rope_apply_qk(float *qkv, int n, int C, int NH, const int *pos, int T, const float *tab, int inverse);
#endif
