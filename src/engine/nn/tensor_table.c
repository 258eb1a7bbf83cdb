/* tensor_table: definition, arena binding, GPT-2 initialisation and lookup
 * of named tensor tables (see tensor_table.h). */
#include "engine/nn/tensor_table.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void tensor_table_define(nn_tensor *t, const char *name, int d0, int d1, size_t *off)
{
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndims = d1 > 0 ? 2 : 1;
    t->dims[0] = d0;
    t->dims[1] = d1 > 0 ? d1 : 0;
    t->numel = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
    t->offset = *off;
    t->decay = t->ndims >= 2;
    t->buffer = 0;
    *off += t->numel;
}

int tensor_table_bind(nn_tensor *t, int n, float *arena, size_t n_params, float *bufs, adamw_segment *segs)
{
    int nsegs = 0;
    for (int k = 0; k < n; k++) {
        if (t[k].buffer) {
            t[k].param = bufs + t[k].offset;
            t[k].grad = t[k].m = t[k].v = NULL;
            continue;
        }
        t[k].param = arena + t[k].offset;
        t[k].grad = arena + n_params + t[k].offset;
        t[k].m = arena + 2 * n_params + t[k].offset;
        t[k].v = arena + 3 * n_params + t[k].offset;
        if (segs) segs[nsegs] = (adamw_segment){t[k].param, t[k].grad, t[k].m, t[k].v, t[k].numel, t[k].decay};
        nsegs++;
    }
    return nsegs;
}

void tensor_table_init_gpt2(nn_tensor *tab, int n, int n_layers, rng_state *r)
{
    float proj_std = 0.02f / sqrtf(2.0f * (float)n_layers);
    for (int k = 0; k < n; k++) {
        nn_tensor *t = &tab[k];
        const char *nm = t->name;
        size_t len = strlen(nm);
        int is_ln = strstr(nm, "ln") != NULL;
        int is_bias = len > 5 && !strcmp(nm + len - 5, ".bias");
        if (is_ln && !is_bias) {
            for (size_t j = 0; j < t->numel; j++) t->param[j] = 1.0f;
        } else if (!is_bias) {
            int is_proj = strstr(nm, "attn.proj.weight") || strstr(nm, "mlp.fc2.weight");
            rng_fill_normal(r, t->param, (long)t->numel, 0.0f, is_proj ? proj_std : 0.02f);
        }
    }
}

const nn_tensor *tensor_table_at(const nn_tensor *t, int n, int i) { return i >= 0 && i < n ? &t[i] : NULL; }

const nn_tensor *tensor_table_find(const nn_tensor *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, name)) return &t[i];
    return NULL;
}
