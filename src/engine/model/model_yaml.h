/* model_yaml: read a transformer model_config from YAML (libyaml).
 * A file is a mapping; the model keys sit either under a top-level `model:`
 * mapping (then that mapping is read strictly: unknown keys are errors and
 * other top-level keys are left to other readers) or at the top level
 * (unknown keys ignored). Keys: d_model, n_layers, n_heads (required),
 * d_ff (default 4*d_model), max_seq_len (512), vocab_size (774),
 * attention full|sliding_window|hierarchical (full), window (256),
 * global_stride (64), dropout (0), positions learned|sinusoidal|rotary (learned),
 * tokenizer v1|v2 (v2).
 * Errors are one line "FILE:LINE:COL: problem". */
#ifndef AURL_MODEL_YAML_H
#define AURL_MODEL_YAML_H

#include "engine/model/model_config.h"
#include "util/fileio.h"
#include "util/yaml_doc.h"

/* Fill cfg with the defaults above (d_model etc. 0 = unset). */
void model_yaml_defaults(model_config *cfg);

/* Load PATH into cfg. Returns 0, or -1 with err set. */
int model_yaml_load(const char *path, model_config *cfg, char err[AURL_ERR_LEN]);

/* As model_yaml_load, and also reads an optional top-level integer
 * `batch_size` into *batch_size (left unchanged when absent; may be NULL). */
int model_yaml_load_file(const char *path, model_config *cfg, int *batch_size, char err[AURL_ERR_LEN]);

/* For callers that hold a parsed document (e.g. a stage config with a
 * `model:` section, or a profile layered over it): apply the model keys
 * present in mapping MAP on top of cfg (absent keys keep their values; no
 * validation, call model_config_validate after the last layer). strict:
 * unknown keys are errors. Returns 0 or -1 with a FILE:LINE:COL message. */
int model_yaml_apply(yaml_doc *doc, yaml_node_t *map, int strict, model_config *cfg, char err[AURL_ERR_LEN]);

/* Check a config's values (positive sizes, n_heads | d_model, window >= 1,
 * dropout in [0,1), ...). Returns 0, or -1 with a message (no location). */
int model_config_validate(const model_config *cfg, char err[AURL_ERR_LEN]);
/* Parse a positions name (learned | sinusoidal | rotary); returns 0 or -1. */
int model_pos_parse(const char *name, model_pos *pos);
/* The name of pos, as model_pos_parse reads it (and checkpoints record it). */
const char *model_pos_name(model_pos pos);
#endif
