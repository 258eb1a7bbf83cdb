/* model_ckpt: transformer + AdamW state <-> checkpoint files. */
#include "engine/model/model_ckpt.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/model/checkpoint.h"
#include "engine/model/model_yaml.h"
#include "util/json_num.h"

#define MODEL_KIND "transformer"
#define TENSOR_NAME_LEN 96 /* prefix + name (< 48) + moment affix */

/* An integer field clamped to -1..INT_MAX (-1 when absent), so a hostile
 * header cannot overflow the conversion. */
static int json_int(const cJSON *obj, const char *key)
{
    int64_t v;
    return json_num_int_field(obj, key, 0, INT_MAX, &v) == 0 ? (int)v : -1;
}

void model_ckpt_config_to_json(cJSON *m, const model_config *mc)
{
    cJSON_AddNumberToObject(m, "vocab_size", mc->vocab_size);
    cJSON_AddNumberToObject(m, "d_model", mc->d_model);
    cJSON_AddNumberToObject(m, "n_layers", mc->n_layers);
    cJSON_AddNumberToObject(m, "n_heads", mc->n_heads);
    cJSON_AddNumberToObject(m, "d_ff", mc->d_ff);
    cJSON_AddNumberToObject(m, "max_seq_len", mc->max_seq_len);
    cJSON_AddStringToObject(m, "attention", attn_kind_name(mc->attn.kind));
    cJSON_AddNumberToObject(m, "window", mc->attn.window);
    cJSON_AddNumberToObject(m, "global_stride", mc->attn.stride);
    cJSON_AddNumberToObject(m, "dropout", mc->dropout);
    cJSON_AddStringToObject(m, "positions", model_pos_name(mc->positions));
    cJSON_AddStringToObject(m, "tokenizer", tok_vocab_name(model_vocab(mc)));
}

/* Full stored names: the tensor itself (j 0) or its moment m (1) / v (2). */
static void tensor_name(char out[TENSOR_NAME_LEN], const model_ckpt_tensor *t, int j, model_ckpt_moments style)
{
    static const char *const pre[3] = {"", "adam_m.", "adam_v."}, *const suf[3] = {"", ".adam_m", ".adam_v"};
    if (style == MODEL_CKPT_MOMENTS_PREFIX) snprintf(out, TENSOR_NAME_LEN, "%s%s%s", pre[j], t->prefix, t->name);
    else snprintf(out, TENSOR_NAME_LEN, "%s%s%s", t->prefix, t->name, suf[j]);
}

int model_ckpt_save_tensors(const char *path, const cJSON *header, const model_ckpt_tensor *t, int n,
                            int with_moments, model_ckpt_moments style, char err[AURL_ERR_LEN])
{
    ckpt_tensor *tens = calloc((size_t)n * 3 + 1, sizeof *tens);
    char(*names)[TENSOR_NAME_LEN] = calloc((size_t)n * 3 + 1, sizeof *names);
    char *json = cJSON_PrintUnformatted(header);
    int rc = -1, k = 0;
    if (!tens || !names || !json) {
        errmsg_set(err, "%s: out of memory writing checkpoint", path);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        ckpt_tensor base = {.ndim = t[i].ndims};
        for (int d = 0; d < t[i].ndims; d++) base.dims[d] = t[i].dims[d];
        const float *data[3] = {t[i].param, t[i].m, t[i].v};
        for (int j = 0; j < (with_moments && t[i].m ? 3 : 1); j++) {
            tensor_name(names[k], &t[i], j, style);
            tens[k] = base;
            tens[k].name = names[k];
            tens[k++].data = data[j];
        }
    }
    rc = ckpt_save(path, json, tens, k, err);
out:
    free(json);
    free(tens);
    free(names);
    return rc;
}

int model_ckpt_read_tensors(ckpt_file *f, const model_ckpt_tensor *t, int n, int with_moments,
                            model_ckpt_moments style, char err[AURL_ERR_LEN])
{
    char name[TENSOR_NAME_LEN];
    for (int i = 0; i < n; i++) {
        float *data[3] = {t[i].param, t[i].m, t[i].v};
        for (int j = 0; j < (with_moments && t[i].m ? 3 : 1); j++) {
            tensor_name(name, &t[i], j, style);
            if (ckpt_read_tensor(f, name, data[j], t[i].numel, err) != 0) return -1;
        }
    }
    return 0;
}

cJSON *model_ckpt_open_header(const char *path, const char *key, const char *const *kinds, const char *what,
                              ckpt_file **f, char err[AURL_ERR_LEN])
{
    if (ckpt_open(path, f, err) != 0) {
        *f = NULL;
        return NULL;
    }
    cJSON *h = cJSON_Parse(ckpt_header_json(*f));
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(h, key);
    int known = 0;
    for (int i = 0; cJSON_IsString(kind) && kinds[i]; i++) known |= strcmp(kind->valuestring, kinds[i]) == 0;
    if (!cJSON_IsObject(h)) {
        errmsg_set(err, "%s: checkpoint header is not a JSON object", path);
    } else if (!known) {
        errmsg_set(err, "%s: not a %s checkpoint", path, what);
    } else if (!(json_num_field(h, "vocab_version", -1) >= TOK_VOCAB_V1 &&
                 json_num_field(h, "vocab_version", -1) <= TOK_VOCAB_MAX)) {
        errmsg_set(err, "%s: made for token vocabulary v%g, this build knows v1..v%d", path,
                   json_num_field(h, "vocab_version", -1), TOK_VOCAB_MAX);
    } else {
        return h;
    }
    cJSON_Delete(h);
    ckpt_close(*f);
    *f = NULL;
    return NULL;
}

model_ckpt_tensor model_ckpt_tensor_of(const nn_tensor *t, const char *prefix)
{
    model_ckpt_tensor e = {.prefix = prefix, .name = t->name, .ndims = t->ndims, .numel = t->numel,
                           .param = t->param, .m = t->buffer ? NULL : t->m, .v = t->buffer ? NULL : t->v};
    for (int d = 0; d < t->ndims; d++) e.dims[d] = t->dims[d];
    return e;
}

/* The transformer's tensors as a model_ckpt_tensor list (malloc'd, *n set). */
static model_ckpt_tensor *transformer_list(const transformer *m, int *n)
{
    *n = transformer_n_tensors(m);
    model_ckpt_tensor *list = calloc((size_t)*n + 1, sizeof *list);
    for (int i = 0; list && i < *n; i++) list[i] = model_ckpt_tensor_of(transformer_tensor_at(m, i), "");
    return list;
}

/* Open PATH and parse its header, checking it holds our model. */
static cJSON *open_header(const char *path, ckpt_file **f, char err[AURL_ERR_LEN])
{
    static const char *const kinds[] = {MODEL_KIND, NULL};
    return model_ckpt_open_header(path, "model", kinds, MODEL_KIND, f, err);
}

int model_ckpt_save(const char *path, const transformer *m, const adamw *opt, const cJSON *meta,
                    char err[AURL_ERR_LEN])
{
    int nt;
    model_ckpt_tensor *list = transformer_list(m, &nt);
    cJSON *h = meta ? cJSON_Duplicate(meta, 1) : cJSON_CreateObject();
    int rc = -1;
    if (!list || !h) {
        errmsg_set(err, "%s: out of memory writing checkpoint", path);
        goto out;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(h, "model");
    cJSON_AddStringToObject(h, "model", MODEL_KIND);
    cJSON_AddNumberToObject(h, "vocab_version", model_vocab(transformer_config(m)));
    model_ckpt_config_to_json(cJSON_AddObjectToObject(h, "model_config"), transformer_config(m));
    if (opt) {
        cJSON *o = cJSON_AddObjectToObject(h, "optimizer");
        cJSON_AddNumberToObject(o, "step", (double)opt->step);
        cJSON_AddNumberToObject(o, "t", (double)opt->t);
        cJSON_AddNumberToObject(o, "lr_mult", opt->lr_mult);
        cJSON_AddNumberToObject(o, "n_skipped", (double)opt->n_skipped);
    }
    rc = model_ckpt_save_tensors(path, h, list, nt, opt != NULL, MODEL_CKPT_MOMENTS_PREFIX, err);
out:
    cJSON_Delete(h);
    free(list);
    return rc;
}

int model_ckpt_load(const char *path, transformer *m, adamw *opt, cJSON **meta, char err[AURL_ERR_LEN])
{
    ckpt_file *f;
    if (meta) *meta = NULL;
    cJSON *h = open_header(path, &f, err);
    if (!h) return -1;
    int rc = -1, nt;
    model_ckpt_tensor *list = transformer_list(m, &nt);
    if (!list) {
        errmsg_set(err, "%s: out of memory reading checkpoint", path);
        goto done;
    }
    int vocab = (int)json_num_field(h, "vocab_version", -1);
    if (vocab != model_vocab(transformer_config(m))) {
        errmsg_set(err, "%s: made for token vocabulary v%d, the model being loaded reads v%d (model.tokenizer)", path,
                   vocab, model_vocab(transformer_config(m)));
        goto done;
    }
    /* sinusoidal and rotary models have the same tensors: the header tells them apart */
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(h, "model_config"), "positions");
    model_pos want = transformer_config(m)->positions, have;
    if (cJSON_IsString(pos) && (model_pos_parse(pos->valuestring, &have) != 0 || have != want)) {
        errmsg_set(err, "%s: made with %s positions, the model being loaded uses %s (model.positions)", path,
                   pos->valuestring, model_pos_name(want));
        goto done;
    }
    if (model_ckpt_read_tensors(f, list, nt, opt != NULL, MODEL_CKPT_MOMENTS_PREFIX, err) != 0) goto done;
    if (opt) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(h, "optimizer");
        double step = json_num_field(o, "step", -1), t = json_num_field(o, "t", -1);
        double mult = json_num_field(o, "lr_mult", -1), skipped = json_num_field(o, "n_skipped", 0);
        if (!(mult > 0 && mult <= 1) || !(step >= 0 && step < 1e15) || !(t >= 0 && t <= step) ||
            !(skipped >= 0 && skipped <= step)) {
            errmsg_set(err, "%s: optimizer state missing or out of range", path);
            goto done;
        }
        opt->step = (long)step;
        opt->t = (long)t;
        opt->lr_mult = (float)mult;
        opt->n_skipped = (long)skipped;
    }
    rc = 0;
done:
    free(list);
    if (rc == 0 && meta) *meta = h;
    else cJSON_Delete(h);
    ckpt_close(f);
    return rc;
}

int model_ckpt_config_from_json(const cJSON *mc, model_config *cfg, char err[AURL_ERR_LEN])
{
    if (!cJSON_IsObject(mc)) {
        errmsg_set(err, "no model config object");
        return -1;
    }
    model_yaml_defaults(cfg);
    cfg->vocab_size = json_int(mc, "vocab_size");
    cfg->d_model = json_int(mc, "d_model");
    cfg->n_layers = json_int(mc, "n_layers");
    cfg->n_heads = json_int(mc, "n_heads");
    cfg->d_ff = json_int(mc, "d_ff");
    cfg->max_seq_len = json_int(mc, "max_seq_len");
    cfg->attn.window = json_int(mc, "window");
    cfg->attn.stride = json_int(mc, "global_stride");
    cfg->dropout = (float)json_num_field(mc, "dropout", 0);
    const cJSON *attn = cJSON_GetObjectItemCaseSensitive(mc, "attention");
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(mc, "positions");
    if (!cJSON_IsString(attn) || attn_kind_parse(attn->valuestring, &cfg->attn.kind) != 0 || !cJSON_IsString(pos)) {
        errmsg_set(err, "model_config has a bad attention or positions field");
        return -1;
    }
    if (model_pos_parse(pos->valuestring, &cfg->positions) != 0) {
        errmsg_set(err, "model_config has an unknown positions kind '%s' (learned, sinusoidal or rotary)",
                   pos->valuestring);
        return -1;
    }
    const cJSON *tk = cJSON_GetObjectItemCaseSensitive(mc, "tokenizer"); /* absent before v2: v1 */
    cfg->tokenizer = TOK_VOCAB_V1;
    if (tk && (!cJSON_IsString(tk) || (cfg->tokenizer = tok_vocab_parse(tk->valuestring)) < 0)) {
        errmsg_set(err, "model_config has a bad tokenizer field (v1 or v2)");
        return -1;
    }
    char msg[AURL_ERR_LEN];
    if (model_config_validate(cfg, msg) != 0) {
        errmsg_set(err, "model_config: %s", msg);
        return -1;
    }
    return 0;
}

int model_ckpt_read_config(const char *path, model_config *cfg, char err[AURL_ERR_LEN])
{
    ckpt_file *f;
    cJSON *h = open_header(path, &f, err);
    if (!h) return -1;
    int rc = -1;
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(h, "model_config");
    if (!cJSON_IsObject(mc)) {
        errmsg_set(err, "%s: checkpoint has no model_config", path);
        goto done;
    }
    if (model_ckpt_config_from_json(mc, cfg, err) != 0) {
        char msg[AURL_ERR_LEN];
        snprintf(msg, sizeof msg, "%s", err);
        errmsg_set(err, "%s: %s", path, msg);
        goto done;
    }
    rc = 0;
done:
    cJSON_Delete(h);
    ckpt_close(f);
    return rc;
}

int model_ckpt_load_new(const char *path, int B, int T, transformer **out, cJSON **meta, char err[AURL_ERR_LEN])
{
    model_config cfg;
    transformer *m = NULL;
    *out = NULL;
    if (meta) *meta = NULL;
    if (model_ckpt_read_config(path, &cfg, err) != 0) return -1;
    if (T > cfg.max_seq_len) T = cfg.max_seq_len;
    if (transformer_create(&m, &cfg, B, T, 1, err) != 0 || model_ckpt_load(path, m, NULL, meta, err) != 0) {
        transformer_free(m);
        return -1;
    }
    *out = m;
    return 0;
}
