/* train_sample: music samples during training (docs/DESIGN.md §9,
 * "Samples during training"). At each validation (training.sample_every
 * -1, the default) or every sample_every steps (> 0; 0 = never) the trainer
 * generates one short seeded piece (training.sample_seconds of music,
 *  default sampling settings, seed = the stage's seed) with the model being
 * trained — the transformer, or for a vae / vae_gan stage the VAE's decoder
 * from z ~ N(0, I) over one window (engine/sample/vae_sample) — and writes
 *   <outputs>/samples/stageN/step_XXXXXXX.mid   the piece
 *   <outputs>/samples/stageN/step_XXXXXXX.json  its gen_sidecar
 *   <outputs>/samples/stageN/step_XXXXXXX.music.json  the music_compare
 *       rows: {"distance", "rows": [{key, label, gen, data, ratio, term}]}
 *   <outputs>/samples/data_stats.json  the data column (key -> value) and
 *       its source; the data's statistics are computed once per process
 *       from the token cache's training split and kept in memory
 * and logs a "music" record to metrics.jsonl (each row's gen value by key,
 * "distance", "sample_seconds": the wall time the sample cost), which
 * metrics also writes to TensorBoard as music/<key>. Old samples are kept.
 * A failing sample is a warning in the log (and an "event" record), never a
 * training failure. */
#ifndef AURL_TRAIN_SAMPLE_H
#define AURL_TRAIN_SAMPLE_H

#include <stdint.h>

#include "data/score.h"
#include "engine/eval/music_compare.h"
#include "engine/model/transformer.h"
#include "engine/model/vaegan.h"
#include "engine/train/metrics.h"
#include "engine/train/train_config.h"
#include "util/errmsg.h"

/* 1 when a sample is due after step STEP (EVALUATED: a validation just ran). */
int train_sample_due(const train_config *cfg, long long step, int evaluated);

/* The sample's paths below OUTPUTS_DIR for STAGE and STEP: ext is ".mid",
 * ".json" or ".music.json". */
void train_sample_path(const char *outputs_dir, int stage, long long step, const char *ext, char *out, size_t len);

/* Sample after step STEP when train_sample_due says so, and only when MET is
 * not NULL (the process that writes the metrics, rank 0). MODEL is the
 * transformer of a transformer stage, VG the vaegan of a VAE stage (one of
 * them non-NULL). DATA_DIR holds the token cache (the data column). Errors
 * are logged, never returned: training goes on. */
void train_sample_maybe(const train_config *cfg, const char *outputs_dir, const char *data_dir, long long step,
                        int evaluated, const transformer *model, vaegan *vg, metrics *met);

/* Generate, write and measure one sample now (what train_sample_maybe does
 * when due). *cost_seconds gets its wall time. 0, or -1 with err set. */
int train_sample_run(const train_config *cfg, const char *outputs_dir, const char *data_dir, long long step,
                     const transformer *model, vaegan *vg, metrics *met, double *cost_seconds,
                     char err[AURL_ERR_LEN]);

/* Measure the piece SC against the data (the training split of DATA_DIR's
 * token cache, computed once per process; NULL or no cache: no data column)
 * into OUT and write it as MUSIC_JSON_PATH (the .music.json layout above,
 * with STAGE and STEP; `aurl generate` passes its checkpoint's stage and
 * -1). 0, or -1 with err set. */
int train_sample_measure(const score *sc, const char *data_dir, const char *music_json_path, int stage,
                         long long step, music_compare *out, char err[AURL_ERR_LEN]);

/* The one-line summary `aurl generate` prints and the TUI shows:
 * "music: 29.5 notes/s, polyphony 3.84, pitch-class entropy 3.36 bits,
 * distance to data 1.56". */
void train_sample_format_line(const music_compare *c, char *out, size_t len);
#endif
