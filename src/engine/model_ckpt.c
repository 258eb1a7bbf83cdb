/* model_ckpt: transformer + AdamW state <-> checkpoint files. */
#include "engine/model_ckpt.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/checkpoint.h"
#include "engine/model_yaml.h"
#include "util/json_num.h"

#define MODEL_KIND "transformer"
#define MOMENT_NAME_LEN 64

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
    cJSON_AddStringToObject(m, "positions", mc->learned_pos ? "learned" : "sinusoidal");
}

int model_ckpt_save(const char *path, const transformer *m, const adamw *opt, const cJSON *meta,
                    char err[AURL_ERR_LEN])
{
    int nt = transformer_n_tensors(m);
    int per = opt ? 3 : 1;
    ckpt_tensor *tens = calloc((size_t)nt * per, sizeof *tens);
    char(*names)[MOMENT_NAME_LEN] = calloc((size_t)nt * 2, sizeof *names);
    cJSON *h = meta ? cJSON_Duplicate(meta, 1) : cJSON_CreateObject();
    char *json = NULL;
    int rc = -1;
    if (!tens || !names || !h) {
        errmsg_set(err, "%s: out of memory writing checkpoint", path);
        goto out;
    }
    int k = 0;
    for (int i = 0; i < nt; i++) {
        const transformer_tensor *t = transformer_tensor_at(m, i);
        ckpt_tensor base = {.name = t->name, .ndim = t->ndims, .data = t->param};
        for (int d = 0; d < t->ndims; d++) base.dims[d] = t->dims[d];
        tens[k++] = base;
        if (!opt) continue;
        snprintf(names[2 * i], MOMENT_NAME_LEN, "adam_m.%s", t->name);
        snprintf(names[2 * i + 1], MOMENT_NAME_LEN, "adam_v.%s", t->name);
        tens[k] = base;
        tens[k].name = names[2 * i];
        tens[k++].data = t->m;
        tens[k] = base;
        tens[k].name = names[2 * i + 1];
        tens[k++].data = t->v;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(h, "model");
    cJSON_AddStringToObject(h, "model", MODEL_KIND);
    cJSON_AddNumberToObject(h, "vocab_version", TOK_VERSION);
    model_ckpt_config_to_json(cJSON_AddObjectToObject(h, "model_config"), transformer_config(m));
    if (opt) {
        cJSON *o = cJSON_AddObjectToObject(h, "optimizer");
        cJSON_AddNumberToObject(o, "step", (double)opt->step);
        cJSON_AddNumberToObject(o, "t", (double)opt->t);
        cJSON_AddNumberToObject(o, "lr_mult", opt->lr_mult);
        cJSON_AddNumberToObject(o, "n_skipped", (double)opt->n_skipped);
    }
    json = cJSON_PrintUnformatted(h);
    if (!json) {
        errmsg_set(err, "%s: out of memory writing checkpoint", path);
        goto out;
    }
    rc = ckpt_save(path, json, tens, k, err);
out:
    free(json);
    cJSON_Delete(h);
    free(tens);
    free(names);
    return rc;
}

/* Parse the header of an open checkpoint and check it holds our model. */
static cJSON *parse_header(const char *path, ckpt_file *f, char err[AURL_ERR_LEN])
{
    cJSON *h = cJSON_Parse(ckpt_header_json(f));
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(h, "model");
    if (!cJSON_IsObject(h)) {
        errmsg_set(err, "%s: checkpoint header is not a JSON object", path);
    } else if (!cJSON_IsString(kind) || strcmp(kind->valuestring, MODEL_KIND) != 0) {
        errmsg_set(err, "%s: not a %s checkpoint", path, MODEL_KIND);
    } else if (json_num_field(h, "vocab_version", -1) != TOK_VERSION) {
        errmsg_set(err, "%s: made for token vocabulary v%g, this build uses v%d", path,
                   json_num_field(h, "vocab_version", -1), TOK_VERSION);
    } else {
        return h;
    }
    cJSON_Delete(h);
    return NULL;
}

int model_ckpt_load(const char *path, transformer *m, adamw *opt, cJSON **meta, char err[AURL_ERR_LEN])
{
    ckpt_file *f;
    if (meta) *meta = NULL;
    if (ckpt_open(path, &f, err) != 0) return -1;
    int rc = -1;
    cJSON *h = parse_header(path, f, err);
    if (!h) goto done;
    int nt = transformer_n_tensors(m);
    for (int i = 0; i < nt; i++) {
        const transformer_tensor *t = transformer_tensor_at(m, i);
        if (ckpt_read_tensor(f, t->name, t->param, t->numel, err) != 0) goto done;
        if (!opt) continue;
        char name[MOMENT_NAME_LEN];
        snprintf(name, sizeof name, "adam_m.%s", t->name);
        if (ckpt_read_tensor(f, name, t->m, t->numel, err) != 0) goto done;
        snprintf(name, sizeof name, "adam_v.%s", t->name);
        if (ckpt_read_tensor(f, name, t->v, t->numel, err) != 0) goto done;
    }
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
    cfg->learned_pos = strcmp(pos->valuestring, "sinusoidal") != 0;
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
    if (ckpt_open(path, &f, err) != 0) return -1;
    int rc = -1;
    cJSON *h = parse_header(path, f, err);
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(h, "model_config");
    if (!h) goto done;
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
