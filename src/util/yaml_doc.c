/* yaml_doc: libyaml document loading and checked scalar access. */
#include "util/yaml_doc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define YAML_MAX_BYTES (4u << 20)

int yaml_doc_parse(yaml_doc *d, const char *name, const char *text, size_t len, char err[AURL_ERR_LEN])
{
    memset(d, 0, sizeof *d);
    snprintf(d->path, sizeof d->path, "%s", name);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, AURL_ERR_LEN, "%s: out of memory", name);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &d->doc)) {
        snprintf(err, AURL_ERR_LEN, "%s:%zu:%zu: %s%s%s", name, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML syntax error",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return -1;
    }
    yaml_parser_delete(&parser);
    d->loaded = 1;
    yaml_node_t *root = yaml_document_get_root_node(&d->doc);
    if (root && root->type != YAML_MAPPING_NODE &&
        !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
        yaml_doc_error(d, root, err, "expected a mapping of settings at the top level");
        yaml_doc_free(d);
        return -1;
    }
    return 0;
}

int yaml_doc_load(yaml_doc *d, const char *path, char err[AURL_ERR_LEN])
{
    unsigned char *text;
    size_t len;
    memset(d, 0, sizeof *d);
    if (file_read_all(path, YAML_MAX_BYTES, &text, &len, err) != 0) return -1;
    int rc = yaml_doc_parse(d, path, (const char *)text, len, err);
    free(text);
    return rc;
}

void yaml_doc_free(yaml_doc *d)
{
    if (d->loaded) yaml_document_delete(&d->doc);
    d->loaded = 0;
}

yaml_node_t *yaml_doc_root(yaml_doc *d)
{
    if (!d->loaded) return NULL;
    yaml_node_t *root = yaml_document_get_root_node(&d->doc);
    return root && root->type == YAML_MAPPING_NODE ? root : NULL;
}

void yaml_doc_error(yaml_doc *d, yaml_node_t *node, char err[AURL_ERR_LEN], const char *fmt, ...)
{
    char msg[AURL_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (node)
        snprintf(err, AURL_ERR_LEN, "%s:%zu:%zu: %s", d->path, node->start_mark.line + 1,
                 node->start_mark.column + 1, msg);
    else
        snprintf(err, AURL_ERR_LEN, "%s: %s", d->path, msg);
}

static const char *scalar_text(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

yaml_node_t *yaml_doc_get(yaml_doc *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar_text(yaml_document_get_node(&d->doc, p->key));
        if (k && strcmp(k, key) == 0) return yaml_document_get_node(&d->doc, p->value);
    }
    return NULL;
}

/* Scalar value of KEY: 1 found, 0 absent, -1 present but not a scalar. */
static int get_scalar(yaml_doc *d, yaml_node_t *map, const char *key, yaml_node_t **node,
                      const char **text, char err[AURL_ERR_LEN])
{
    *node = yaml_doc_get(d, map, key);
    if (!*node) return 0;
    *text = scalar_text(*node);
    if (!*text) {
        yaml_doc_error(d, *node, err, "%s: expected a single value", key);
        return -1;
    }
    return 1;
}

int yaml_doc_i64(yaml_doc *d, yaml_node_t *map, const char *key, long long min, long long max,
                 long long *out, char err[AURL_ERR_LEN])
{
    yaml_node_t *n;
    const char *t;
    int r = get_scalar(d, map, key, &n, &t, err);
    if (r <= 0) return r;
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (!*t || *end || errno) {
        yaml_doc_error(d, n, err, "%s: expected a whole number, got '%s'", key, t);
        return -1;
    }
    if (v < min || v > max) {
        yaml_doc_error(d, n, err, "%s: %lld is out of range %lld..%lld", key, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int yaml_doc_int(yaml_doc *d, yaml_node_t *map, const char *key, long min, long max, int *out,
                 char err[AURL_ERR_LEN])
{
    long long v = *out;
    if (yaml_doc_i64(d, map, key, min, max, &v, err) != 0) return -1;
    *out = (int)v;
    return 0;
}

int yaml_doc_double(yaml_doc *d, yaml_node_t *map, const char *key, double min, double max,
                    double *out, char err[AURL_ERR_LEN])
{
    yaml_node_t *n;
    const char *t;
    int r = get_scalar(d, map, key, &n, &t, err);
    if (r <= 0) return r;
    char *end;
    errno = 0;
    double v = strtod(t, &end);
    if (!*t || *end || errno || !isfinite(v)) {
        yaml_doc_error(d, n, err, "%s: expected a number, got '%s'", key, t);
        return -1;
    }
    if (v < min || v > max) {
        yaml_doc_error(d, n, err, "%s: %g is out of range %g..%g", key, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int yaml_doc_float(yaml_doc *d, yaml_node_t *map, const char *key, double min, double max,
                   float *out, char err[AURL_ERR_LEN])
{
    double v = *out;
    if (yaml_doc_double(d, map, key, min, max, &v, err) != 0) return -1;
    *out = (float)v;
    return 0;
}

int yaml_doc_bool(yaml_doc *d, yaml_node_t *map, const char *key, int *out, char err[AURL_ERR_LEN])
{
    yaml_node_t *n;
    const char *t;
    int r = get_scalar(d, map, key, &n, &t, err);
    if (r <= 0) return r;
    if (!strcasecmp(t, "true") || !strcasecmp(t, "yes") || !strcasecmp(t, "on") || !strcmp(t, "1")) *out = 1;
    else if (!strcasecmp(t, "false") || !strcasecmp(t, "no") || !strcasecmp(t, "off") || !strcmp(t, "0")) *out = 0;
    else {
        yaml_doc_error(d, n, err, "%s: expected true or false, got '%s'", key, t);
        return -1;
    }
    return 0;
}

int yaml_doc_string(yaml_doc *d, yaml_node_t *map, const char *key, char *out, size_t out_len,
                    char err[AURL_ERR_LEN])
{
    yaml_node_t *n;
    const char *t;
    int r = get_scalar(d, map, key, &n, &t, err);
    if (r <= 0) return r;
    if (strlen(t) >= out_len) {
        yaml_doc_error(d, n, err, "%s: value too long (max %zu characters)", key, out_len - 1);
        return -1;
    }
    memcpy(out, t, strlen(t) + 1);
    return 0;
}

int yaml_doc_map(yaml_doc *d, yaml_node_t *map, const char *key, yaml_node_t **out, char err[AURL_ERR_LEN])
{
    yaml_node_t *n = yaml_doc_get(d, map, key);
    *out = NULL;
    if (!n) return 0;
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0) return 0; /* "key:" with nothing */
    if (n->type != YAML_MAPPING_NODE) {
        yaml_doc_error(d, n, err, "%s: expected a mapping of settings", key);
        return -1;
    }
    *out = n;
    return 0;
}

int yaml_doc_check_keys(yaml_doc *d, yaml_node_t *map, const char *const *allowed, char err[AURL_ERR_LEN])
{
    if (!map || map->type != YAML_MAPPING_NODE) return 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&d->doc, p->key);
        const char *k = scalar_text(kn);
        int ok = 0;
        for (int i = 0; k && allowed[i]; i++)
            if (!strcmp(k, allowed[i])) ok = 1;
        if (!ok) {
            yaml_doc_error(d, kn, err, "unknown setting '%s'", k ? k : "(not a name)");
            return -1;
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            const char *earlier = scalar_text(yaml_document_get_node(&d->doc, q->key));
            if (earlier && !strcmp(earlier, k)) {
                yaml_doc_error(d, kn, err, "duplicate key: %s", k);
                return -1;
            }
        }
    }
    return 0;
}
