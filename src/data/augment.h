/* augment: on-the-fly augmentation of one training window of tokens,
 * deterministic from (seed, epoch, window index) so a resumed run sees the
 * same data. Operates on token windows that may start mid-piece. */
#ifndef AURL_AUGMENT_H
#define AURL_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    float transpose_p;  int transpose_max;            /* +-semitones, drums untouched */
    float stretch_p;    float stretch_min, stretch_max;   /* time factor, e.g. 0.85..1.15 */
    float velocity_p;   float velocity_min, velocity_max; /* e.g. 0.7..1.3 */
    float instrument_p;                               /* substitute within melodic families */
    float rhythm_p;     float swing_max;  float humanize_ms; /* swing ratio 0..0.33, jitter */
} augment_config;

/* All probabilities 0: the identity. */
void augment_config_none(augment_config *cfg);

/* Augment IN (n_in tokens) into OUT, exactly n_out tokens: truncated if the
 * result is longer, padded with PAD if shorter. start_instrument is the
 * instrument family current at IN[0] (the last INSTRUMENT token before the
 * window, 0 = piano if none), so drums are recognised mid-piece. Identity
 * when every probability is 0. */
void augment_window(const uint16_t *in, size_t n_in, uint16_t *out, size_t n_out,
                    int start_instrument, const augment_config *cfg, uint64_t seed,
                    uint64_t epoch, uint64_t window_index);
/* The same for a window in token vocabulary VOCAB (augment_window is v1). */
void augment_window_vocab(const uint16_t *in, size_t n_in, uint16_t *out, size_t n_out, int start_instrument,
                          const augment_config *cfg, uint64_t seed, uint64_t epoch, uint64_t window_index,
                          int vocab);
#endif
