/* yaml_doc: load a YAML file with libyaml into a document and read typed,
 * range-checked values from mappings, with errors that name the file and
 * line:column ("configs/stages/stage1_base.yaml:7:12: lr must be > 0"). */
#ifndef AURL_YAML_DOC_H
#define AURL_YAML_DOC_H

#include <yaml.h>

#include "util/fileio.h"

typedef struct {
    yaml_document_t doc;
    char path[1024];
    int loaded;
} yaml_doc;

/* Parse PATH (size-limited). The root must be a mapping (or empty). 0 or -1. */
int yaml_doc_load(yaml_doc *d, const char *path, char err[AURL_ERR_LEN]);
/* Parse a YAML text (NAME is used in messages). 0 or -1. */
int yaml_doc_parse(yaml_doc *d, const char *name, const char *text, size_t len, char err[AURL_ERR_LEN]);
void yaml_doc_free(yaml_doc *d);

/* The root mapping node, or NULL for an empty document. */
yaml_node_t *yaml_doc_root(yaml_doc *d);
/* Value node of KEY in MAP (NULL if MAP is NULL, not a mapping, or lacks KEY). */
yaml_node_t *yaml_doc_get(yaml_doc *d, yaml_node_t *map, const char *key);

/* Typed readers: if KEY is absent the output is left untouched and 0 is
 * returned (so defaults and profile overrides layer naturally); a present
 * key with a bad value gives -1 and a file:line:col message. */
int yaml_doc_int(yaml_doc *d, yaml_node_t *map, const char *key, long min, long max, int *out,
                 char err[AURL_ERR_LEN]);
int yaml_doc_i64(yaml_doc *d, yaml_node_t *map, const char *key, long long min, long long max,
                 long long *out, char err[AURL_ERR_LEN]);
int yaml_doc_double(yaml_doc *d, yaml_node_t *map, const char *key, double min, double max,
                    double *out, char err[AURL_ERR_LEN]);
int yaml_doc_float(yaml_doc *d, yaml_node_t *map, const char *key, double min, double max,
                   float *out, char err[AURL_ERR_LEN]);
int yaml_doc_bool(yaml_doc *d, yaml_node_t *map, const char *key, int *out, char err[AURL_ERR_LEN]);
int yaml_doc_string(yaml_doc *d, yaml_node_t *map, const char *key, char *out, size_t out_len,
                    char err[AURL_ERR_LEN]);
/* A mapping-valued key: *out = node (or NULL if absent); -1 if present but
 * not a mapping. */
int yaml_doc_map(yaml_doc *d, yaml_node_t *map, const char *key, yaml_node_t **out,
                 char err[AURL_ERR_LEN]);
/* Check every key of MAP is one of the NULL-terminated ALLOWED names, so a
 * typo is an error rather than silently ignored, and that none repeats. */
int yaml_doc_check_keys(yaml_doc *d, yaml_node_t *map, const char *const *allowed,
                        char err[AURL_ERR_LEN]);
/* Write "<file>:<line>:<col>: <message>" for NODE into err. */
void yaml_doc_error(yaml_doc *d, yaml_node_t *node, char err[AURL_ERR_LEN], const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#endif
