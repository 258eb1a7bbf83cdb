/* model_yaml: model_config from a YAML mapping (through util/yaml_doc), with
 * located errors. */
#include "engine/model/model_yaml.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "data/tokenizer.h"

void model_yaml_defaults(model_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->vocab_size = TOK_VOCAB_SIZE;
    cfg->max_seq_len = 512;
    cfg->attn.kind = ATTN_FULL;
    cfg->attn.window = 256;
    cfg->attn.stride = 64;
    cfg->dropout = 0.0f;
    cfg->positions = POS_LEARNED;
    cfg->tokenizer = TOK_VOCAB_V2; /* measured better than v1 (docs/DESIGN.md §5.1) */
}

/* Report a problem about KEY (for config_problem). */
static const char *problem(const char **key, const char *name, const char *msg)
{
    *key = name;
    return msg;
}

/* The first problem of a config as a message, with the YAML key it concerns
 * in *key (so a file's error can point at that key); NULL if valid. */
static const char *config_problem(const model_config *c, const char **key)
{
    if (c->vocab_size < 4 || c->vocab_size > 1000000)
        return problem(key, "vocab_size", "vocab_size must be in 4..1000000");
    if (c->d_model < 1 || c->d_model > 65536) return problem(key, "d_model", "d_model must be in 1..65536");
    if (c->n_layers < 1 || c->n_layers > 1024) return problem(key, "n_layers", "n_layers must be in 1..1024");
    if (c->n_heads < 1 || c->n_heads > c->d_model) return problem(key, "n_heads", "n_heads must be in 1..d_model");
    if (c->d_model % c->n_heads != 0) return problem(key, "n_heads", "n_heads must divide d_model");
    if (c->d_ff < 1 || c->d_ff > 1048576) return problem(key, "d_ff", "d_ff must be in 1..1048576");
    if (c->max_seq_len < 1 || c->max_seq_len > 1048576)
        return problem(key, "max_seq_len", "max_seq_len must be in 1..1048576");
    if (c->attn.kind != ATTN_FULL && c->attn.kind != ATTN_SLIDING && c->attn.kind != ATTN_HIERARCHICAL)
        return problem(key, "attention", "unknown attention kind");
    if (c->attn.window < 1) return problem(key, "window", "window must be >= 1");
    if (c->attn.stride < 1) return problem(key, "global_stride", "global_stride must be >= 1");
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f)) return problem(key, "dropout", "dropout must be in [0, 1)");
    if (c->positions != POS_SINUSOIDAL && c->positions != POS_LEARNED && c->positions != POS_ROTARY)
        return problem(key, "positions", "unknown positions kind");
    if (c->positions == POS_ROTARY && (c->d_model / c->n_heads) % 2 != 0)
        return problem(key, "positions", "rotary positions need an even head size (d_model / n_heads)");
    if (c->tokenizer < 0 || c->tokenizer > TOK_VOCAB_MAX)
        return problem(key, "tokenizer", "tokenizer must be v1 or v2");
    return NULL;
}

/* Map "learned" | "sinusoidal" | "rotary" to model_pos. */
int model_pos_parse(const char *name, model_pos *pos)
{
    for (int p = POS_SINUSOIDAL; p <= POS_ROTARY; p++)
        if (name && !strcmp(name, model_pos_name((model_pos)p))) {
            *pos = (model_pos)p;
            return 0;
        }
    return -1;
}

/* The name model_pos_parse accepts for pos. */
const char *model_pos_name(model_pos pos)
{
    return pos == POS_LEARNED ? "learned" : pos == POS_ROTARY ? "rotary" : "sinusoidal";
}

int model_config_validate(const model_config *c, char err[AURL_ERR_LEN])
{
    const char *key, *bad = config_problem(c, &key);
    if (bad) errmsg_set(err, "%s", bad);
    return bad ? -1 : 0;
}

static const char *const MODEL_KEYS[] = {"vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "max_seq_len",
                                         "attention", "window", "global_stride", "dropout", "positions", "tokenizer", NULL};

int model_yaml_apply(yaml_doc *d, yaml_node_t *m, int strict, model_config *cfg, char err[AURL_ERR_LEN])
{
    if (!m) return 0;
    char attention[32] = "", positions[32] = "", tokenizer[32] = "";
    if ((strict && yaml_doc_check_keys(d, m, MODEL_KEYS, err)) ||
        yaml_doc_int(d, m, "vocab_size", 4, 1000000, &cfg->vocab_size, err) ||
        yaml_doc_int(d, m, "d_model", 1, 65536, &cfg->d_model, err) ||
        yaml_doc_int(d, m, "n_layers", 1, 1024, &cfg->n_layers, err) ||
        yaml_doc_int(d, m, "n_heads", 1, 65536, &cfg->n_heads, err) ||
        yaml_doc_int(d, m, "d_ff", 1, 1048576, &cfg->d_ff, err) ||
        yaml_doc_int(d, m, "max_seq_len", 1, 1048576, &cfg->max_seq_len, err) ||
        yaml_doc_int(d, m, "window", 1, INT_MAX, &cfg->attn.window, err) ||
        yaml_doc_int(d, m, "global_stride", 1, INT_MAX, &cfg->attn.stride, err) ||
        yaml_doc_float(d, m, "dropout", 0.0, 0.999, &cfg->dropout, err) ||
        yaml_doc_string(d, m, "attention", attention, sizeof attention, err) ||
        yaml_doc_string(d, m, "positions", positions, sizeof positions, err) ||
        yaml_doc_string(d, m, "tokenizer", tokenizer, sizeof tokenizer, err))
        return -1;
    if (tokenizer[0] && (cfg->tokenizer = tok_vocab_parse(tokenizer)) < 0) {
        yaml_doc_error(d, yaml_doc_get(d, m, "tokenizer"), err, "tokenizer must be v1 or v2, got '%s'", tokenizer);
        return -1;
    }
    if (attention[0] && attn_kind_parse(attention, &cfg->attn.kind) != 0) {
        yaml_doc_error(d, yaml_doc_get(d, m, "attention"), err,
                       "attention must be full, sliding_window or hierarchical, got '%s'", attention);
        return -1;
    }
    if (positions[0] && model_pos_parse(positions, &cfg->positions) != 0) {
        yaml_doc_error(d, yaml_doc_get(d, m, "positions"), err,
                       "positions must be learned, sinusoidal or rotary, got '%s'", positions);
        return -1;
    }
    return 0;
}

int model_yaml_load_file(const char *path, model_config *cfg, int *batch_size, char err[AURL_ERR_LEN])
{
    yaml_doc d;
    if (yaml_doc_load(&d, path, err) != 0) return -1;
    int rc = -1;
    yaml_node_t *root = yaml_doc_root(&d), *model;
    if (!root) {
        yaml_doc_error(&d, NULL, err, "expected a mapping (model settings)");
        goto done;
    }
    if (yaml_doc_map(&d, root, "model", &model, err)) goto done;
    if (batch_size && yaml_doc_int(&d, root, "batch_size", 1, 1 << 20, batch_size, err)) goto done;
    yaml_node_t *section = model ? model : root;
    model_yaml_defaults(cfg);
    if (model_yaml_apply(&d, section, model != NULL, cfg, err)) goto done;
    static const char *const required[] = {"d_model", "n_layers", "n_heads"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!yaml_doc_get(&d, section, required[i])) {
            yaml_doc_error(&d, section, err, "missing required model key: %s", required[i]);
            goto done;
        }
    if (!yaml_doc_get(&d, section, "d_ff")) cfg->d_ff = 4 * cfg->d_model; /* d_model <= 65536: in range */
    const char *key, *bad = config_problem(cfg, &key);
    if (bad) {
        yaml_node_t *at = yaml_doc_get(&d, section, key);
        yaml_doc_error(&d, at ? at : section, err, "%s", bad);
        goto done;
    }
    rc = 0;
done:
    yaml_doc_free(&d);
    return rc;
}

int model_yaml_load(const char *path, model_config *cfg, char err[AURL_ERR_LEN])
{
    return model_yaml_load_file(path, cfg, NULL, err);
}
