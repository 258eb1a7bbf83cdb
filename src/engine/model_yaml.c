/* model_yaml: model_config from a YAML mapping, with located errors. */
#include "engine/model_yaml.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_YAML_MAX_BYTES (1u << 20)

void model_yaml_defaults(model_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->vocab_size = 774;
    cfg->max_seq_len = 512;
    cfg->attn.kind = ATTN_FULL;
    cfg->attn.window = 256;
    cfg->attn.stride = 64;
    cfg->dropout = 0.0f;
    cfg->learned_pos = 1;
}

int model_config_validate(const model_config *c, char err[AURL_ERR_LEN])
{
    const char *bad = NULL;
    if (c->vocab_size < 4 || c->vocab_size > 1000000) bad = "vocab_size must be in 4..1000000";
    else if (c->d_model < 1 || c->d_model > 65536) bad = "d_model must be in 1..65536";
    else if (c->n_layers < 1 || c->n_layers > 1024) bad = "n_layers must be in 1..1024";
    else if (c->n_heads < 1 || c->n_heads > c->d_model) bad = "n_heads must be in 1..d_model";
    else if (c->d_model % c->n_heads != 0) bad = "n_heads must divide d_model";
    else if (c->d_ff < 1 || c->d_ff > 1048576) bad = "d_ff must be in 1..1048576";
    else if (c->max_seq_len < 1 || c->max_seq_len > 1048576) bad = "max_seq_len must be in 1..1048576";
    else if (c->attn.kind != ATTN_FULL && c->attn.kind != ATTN_SLIDING && c->attn.kind != ATTN_HIERARCHICAL)
        bad = "unknown attention kind";
    else if (c->attn.window < 1) bad = "window must be >= 1";
    else if (c->attn.stride < 1) bad = "global_stride must be >= 1";
    else if (!(c->dropout >= 0.0f && c->dropout < 1.0f)) bad = "dropout must be in [0, 1)";
    if (bad) {
        snprintf(err, AURL_ERR_LEN, "%s", bad);
        return -1;
    }
    return 0;
}

static void set_err(char err[AURL_ERR_LEN], const char *path, yaml_mark_t mark, const char *msg, const char *arg)
{
    snprintf(err, AURL_ERR_LEN, "%.200s:%zu:%zu: %.150s%.100s", path, mark.line + 1, mark.column + 1, msg, arg ? arg : "");
}

static const char *scalar(yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL; }

static int parse_int(const char *s, long lo, long hi, int *out)
{
    if (!s || !*s) return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int parse_float(const char *s, float *out)
{
    if (!s || !*s) return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end) return -1;
    *out = (float)v;
    return 0;
}

/* Marks of the keys' values, for errors found by validation. */
typedef struct {
    yaml_mark_t key[12];
    int seen[12];
} key_marks;

static const char *const KEYS[] = {"vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "max_seq_len",
                                   "attention", "window", "global_stride", "dropout", "positions"};
enum { K_VOCAB, K_DMODEL, K_NLAYERS, K_NHEADS, K_DFF, K_MAXT, K_ATTN, K_WINDOW, K_STRIDE, K_DROPOUT, K_POS, K_COUNT };

int model_yaml_parse_node(yaml_document_t *doc, yaml_node_t *map, const char *path, int strict,
                          model_config *cfg, char err[AURL_ERR_LEN])
{
    model_yaml_defaults(cfg);
    if (!map || map->type != YAML_MAPPING_NODE) {
        yaml_mark_t m = map ? map->start_mark : (yaml_mark_t){0, 0, 0};
        set_err(err, path, m, "expected a mapping of model settings", NULL);
        return -1;
    }
    key_marks km;
    memset(&km, 0, sizeof km);
    int d_ff_set = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        const char *key = scalar(kn);
        if (!key) {
            set_err(err, path, kn ? kn->start_mark : map->start_mark, "mapping keys must be plain scalars", NULL);
            return -1;
        }
        int k = 0;
        while (k < K_COUNT && strcmp(KEYS[k], key) != 0) k++;
        if (k == K_COUNT) {
            if (strict) {
                set_err(err, path, kn->start_mark, "unknown model key: ", key);
                return -1;
            }
            continue;
        }
        if (km.seen[k]) {
            set_err(err, path, kn->start_mark, "duplicate key: ", key);
            return -1;
        }
        km.seen[k] = 1;
        km.key[k] = vn ? vn->start_mark : kn->start_mark;
        const char *val = scalar(vn);
        if (!val) {
            set_err(err, path, km.key[k], "expected a single value for ", key);
            return -1;
        }
        int ok = 0;
        switch (k) {
        case K_VOCAB: ok = parse_int(val, 4, 1000000, &cfg->vocab_size); break;
        case K_DMODEL: ok = parse_int(val, 1, 65536, &cfg->d_model); break;
        case K_NLAYERS: ok = parse_int(val, 1, 1024, &cfg->n_layers); break;
        case K_NHEADS: ok = parse_int(val, 1, 65536, &cfg->n_heads); break;
        case K_DFF: ok = parse_int(val, 1, 1048576, &cfg->d_ff); d_ff_set = 1; break;
        case K_MAXT: ok = parse_int(val, 1, 1048576, &cfg->max_seq_len); break;
        case K_WINDOW: ok = parse_int(val, 1, INT_MAX, &cfg->attn.window); break;
        case K_STRIDE: ok = parse_int(val, 1, INT_MAX, &cfg->attn.stride); break;
        case K_DROPOUT:
            ok = parse_float(val, &cfg->dropout);
            if (ok == 0 && !(cfg->dropout >= 0.0f && cfg->dropout < 1.0f)) {
                set_err(err, path, km.key[k], "dropout must be in [0, 1), got ", val);
                return -1;
            }
            break;
        case K_ATTN:
            ok = attn_kind_parse(val, &cfg->attn.kind);
            if (ok) {
                set_err(err, path, km.key[k], "attention must be full, sliding_window or hierarchical, got ", val);
                return -1;
            }
            break;
        case K_POS:
            if (!strcmp(val, "learned")) cfg->learned_pos = 1;
            else if (!strcmp(val, "sinusoidal")) cfg->learned_pos = 0;
            else {
                set_err(err, path, km.key[k], "positions must be learned or sinusoidal, got ", val);
                return -1;
            }
            break;
        }
        if (ok) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s must be %s, got ", key,
                     k == K_DROPOUT ? "a number" : k == K_VOCAB ? "an integer in 4..1000000" : "a positive integer in range");
            set_err(err, path, km.key[k], msg, val);
            return -1;
        }
    }
    static const int required[] = {K_DMODEL, K_NLAYERS, K_NHEADS};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!km.seen[required[i]]) {
            set_err(err, path, map->start_mark, "missing required model key: ", KEYS[required[i]]);
            return -1;
        }
    if (!d_ff_set) cfg->d_ff = cfg->d_model <= 262144 ? 4 * cfg->d_model : 1048576;
    char msg[AURL_ERR_LEN];
    if (model_config_validate(cfg, msg) != 0) {
        /* point at the most relevant key */
        int k = strstr(msg, "n_heads") ? K_NHEADS : strstr(msg, "d_ff") ? K_DFF : K_DMODEL;
        set_err(err, path, km.seen[k] ? km.key[k] : map->start_mark, msg, NULL);
        return -1;
    }
    return 0;
}

int model_yaml_load_file(const char *path, model_config *cfg, int *batch_size, char err[AURL_ERR_LEN])
{
    unsigned char *data;
    size_t len;
    if (file_read_all(path, MODEL_YAML_MAX_BYTES, &data, &len, err) != 0) return -1;
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = -1;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, AURL_ERR_LEN, "%s: cannot initialise the YAML parser", path);
        free(data);
        return -1;
    }
    yaml_parser_set_input_string(&parser, data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, AURL_ERR_LEN, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML syntax error");
        yaml_parser_delete(&parser);
        free(data);
        return -1;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        yaml_mark_t m = root ? root->start_mark : (yaml_mark_t){0, 0, 0};
        set_err(err, path, m, "expected a mapping (model settings)", NULL);
        goto done;
    }
    yaml_node_t *model = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&doc, p->value);
        const char *key = scalar(kn);
        if (!key) continue;
        if (!strcmp(key, "model")) {
            if (model) {
                set_err(err, path, kn->start_mark, "duplicate key: model", NULL);
                goto done;
            }
            model = vn;
            if (!model || model->type != YAML_MAPPING_NODE) {
                set_err(err, path, vn ? vn->start_mark : kn->start_mark, "model: expected a mapping", NULL);
                goto done;
            }
        } else if (!strcmp(key, "batch_size") && batch_size) {
            if (parse_int(scalar(vn), 1, 1 << 20, batch_size) != 0) {
                set_err(err, path, vn ? vn->start_mark : kn->start_mark, "batch_size must be an integer in 1..1048576",
                        NULL);
                goto done;
            }
        }
    }
    rc = model ? model_yaml_parse_node(&doc, model, path, 1, cfg, err) : model_yaml_parse_node(&doc, root, path, 0, cfg, err);
done:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(data);
    return rc;
}

int model_yaml_load(const char *path, model_config *cfg, char err[AURL_ERR_LEN])
{
    return model_yaml_load_file(path, cfg, NULL, err);
}
