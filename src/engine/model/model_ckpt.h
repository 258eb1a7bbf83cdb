/* model_ckpt: a transformer (and optionally its AdamW state) to and from a
 * checkpoint file (engine/checkpoint). Tensors are stored under their
 * PyTorch state-dict names; AdamW moments as "adam_m.<name>" and
 * "adam_v.<name>"; the header JSON carries the caller's metadata plus
 * "model": "transformer", "vocab_version", "model_config" and "optimizer". */
#ifndef AURL_MODEL_CKPT_H
#define AURL_MODEL_CKPT_H

#include <cjson/cJSON.h>

#include "engine/nn/adamw.h"
#include "engine/model/checkpoint.h"
#include "engine/model/model_config.h"
#include "engine/model/transformer.h"
#include "util/fileio.h"

/* Write PATH atomically: the parameters of M, plus moments and counters of
 * OPT when it is not NULL, with META (a JSON object of the caller's fields,
 * may be NULL) merged into the header. 0 or -1 (err set). */
int model_ckpt_save(const char *path, const transformer *m, const adamw *opt, const cJSON *meta,
                    char err[AURL_ERR_LEN]);

/* Load PATH into M (built with the same config: every tensor must be
 * present with the same size), and into OPT (moments and counters) when it
 * is not NULL. *meta (may be NULL) receives the parsed header, to be freed
 * with cJSON_Delete. Nothing is trusted before the file verifies; on
 * failure M may hold part of the weights. 0 or -1 (err set). */
int model_ckpt_load(const char *path, transformer *m, adamw *opt, cJSON **meta, char err[AURL_ERR_LEN]);

/* Build a new transformer from the model_config recorded in PATH (batches
 * up to B x min(T, max_seq_len)) and load PATH's weights into it (as
 * model_ckpt_load, without optimizer state). *meta as for model_ckpt_load.
 * 0 and *out set (free with transformer_free), or -1 (err set, *out NULL). */
int model_ckpt_load_new(const char *path, int B, int T, transformer **out, cJSON **meta, char err[AURL_ERR_LEN]);

/* The model_config recorded in PATH's header (for tools that rebuild the
 * model from a checkpoint). 0 or -1 (err set). */
int model_ckpt_read_config(const char *path, model_config *cfg, char err[AURL_ERR_LEN]);

/* The model_config as the members of JSON object OBJ (the header's
 * "model_config"), and back: fills cfg from OBJ and validates it. 0 or -1
 * (err set, no file name). Shared with other checkpoint kinds (vaegan). */
void model_ckpt_config_to_json(cJSON *obj, const model_config *cfg);
int model_ckpt_config_from_json(const cJSON *obj, model_config *cfg, char err[AURL_ERR_LEN]);

/* Where a tensor's AdamW moments are stored next to it: "adam_m.NAME" and
 * "adam_v.NAME" (PREFIX: transformer checkpoints) or "NAME.adam_m" and
 * "NAME.adam_v" (SUFFIX: vaegan checkpoints). */
typedef enum { MODEL_CKPT_MOMENTS_PREFIX, MODEL_CKPT_MOMENTS_SUFFIX } model_ckpt_moments;

/* One tensor of a checkpoint, stored under PREFIX NAME (PREFIX may be ""):
 * NUMEL floats at PARAM in NDIMS dims, with AdamW moments M and V of the
 * same shape (both NULL: a tensor without moments, e.g. a state buffer). */
typedef struct {
    const char *prefix, *name;
    int ndims;
    int dims[CKPT_MAX_DIMS];
    size_t numel;
    float *param, *m, *v;
} model_ckpt_tensor;

/* The checkpoint entry of table tensor T, stored under PREFIX T->name, with
 * its moments unless it is a state buffer. */
model_ckpt_tensor model_ckpt_tensor_of(const nn_tensor *t, const char *prefix);

/* Write PATH atomically: HEADER (a JSON object) and the N tensors T in
 * order, each followed by its moments (named as STYLE says) when
 * WITH_MOMENTS and it has them. Shared by every checkpoint kind. 0 or -1
 * (err set). */
int model_ckpt_save_tensors(const char *path, const cJSON *header, const model_ckpt_tensor *t, int n,
                            int with_moments, model_ckpt_moments style, char err[AURL_ERR_LEN]);

/* Read the N tensors T (and, when WITH_MOMENTS, the moments of those that
 * have them) from the open checkpoint F: each must be present with its
 * size. 0 or -1 (err set); on failure part of the data may be loaded. */
int model_ckpt_read_tensors(ckpt_file *f, const model_ckpt_tensor *t, int n, int with_moments,
                            model_ckpt_moments style, char err[AURL_ERR_LEN]);

/* Open the checkpoint PATH into *f and parse its header, which must be a
 * JSON object whose string member KEY is one of the NULL-terminated KINDS
 * ("PATH: not a WHAT checkpoint" otherwise) and whose vocab_version is this
 * build's. The header (free with cJSON_Delete; *f stays open for the
 * caller to close), or NULL (err set, *f NULL). */
cJSON *model_ckpt_open_header(const char *path, const char *key, const char *const *kinds, const char *what,
                              ckpt_file **f, char err[AURL_ERR_LEN]);
#endif
