/* eval_music: `aurl eval --music`, the shared music table and JSON, and the
 * MIDI file lists of `aurl eval` (see the header).
 *
 * Each input file is read in an isolated child (data/midi_worker: a bad
 * file is named and skipped, the rest still counts) and measured as the
 * model sees music: encoded and decoded by the tokenizer, exactly like the
 * data column, which decodes the cached token sequences of the training
 * split. So a folder of the training files themselves measures (about) the
 * same as the data. */
#include "cmd/eval_music.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/cache.h"
#include "data/dataset.h"
#include "data/midi_worker.h"
#include "data/tokenizer.h"
#include "engine/eval/music_compare.h"
#include "util/fileio.h"

#define EVAL_MAX_FILES 100000 /* files looked at, all inputs together */

/* ---- file lists ---- */

/* nftw has no user pointer: the list being filled lives here during a walk. */
static char **walk_paths;
static size_t walk_n, walk_cap;

/* Append PATH to the walk's list: 0, 1 when the list is full, -1 out of memory. */
static int push_path(const char *path)
{
    if (walk_n == EVAL_MAX_FILES) return 1;
    if (walk_n == walk_cap) {
        size_t nc = walk_cap ? 2 * walk_cap : 64;
        char **p = realloc(walk_paths, nc * sizeof *p);
        if (!p) return -1;
        walk_paths = p;
        walk_cap = nc;
    }
    if (!(walk_paths[walk_n] = strdup(path))) return -1;
    walk_n++;
    return 0;
}

/* nftw callback: collect .mid/.midi files; nonzero stops the walk. */
static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F) return 0;
    const char *dot = strrchr(path, '.');
    if (!dot || (strcasecmp(dot, ".mid") && strcasecmp(dot, ".midi"))) return 0;
    return push_path(path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int eval_music_list(const char *path, int allow_file, char ***paths, size_t *n, size_t *cap,
                    char err[AURL_ERR_LEN])
{
    walk_paths = *paths;
    walk_n = *n;
    walk_cap = *cap;
    size_t first = walk_n;
    int rc = AURL_EXIT_OK;
    if (allow_file && file_is_regular(path)) {
        if (push_path(path) < 0) rc = AURL_EXIT_RUNTIME; /* a full list leaves it out, as a walk would */
    } else if (!file_is_dir(path)) {
        errmsg_set(err, allow_file ? "%s: no such file or folder" : "%s: not a directory", path);
        rc = AURL_EXIT_USAGE;
    } else if (nftw(path, walk_cb, 16, FTW_PHYS) == -1) {
        errmsg_set(err, "%s: cannot list the directory", path);
        rc = AURL_EXIT_USAGE;
    }
    if (rc == AURL_EXIT_RUNTIME) errmsg_set(err, "out of memory listing %s", path);
    if (walk_n > first) qsort(walk_paths + first, walk_n - first, sizeof *walk_paths, cmp_str);
    *paths = walk_paths;
    *n = walk_n;
    *cap = walk_cap;
    walk_paths = NULL;
    walk_n = walk_cap = 0;
    return rc;
}

int eval_music_read_tokens(const char *path, cJSON *rejected, uint16_t **tok, size_t *n, char why[AURL_ERR_LEN])
{
    score s;
    score_init(&s);
    int rc = 0;
    *tok = NULL;
    *n = 0;
    if (midi_read_isolated(path, &s, why) != 0) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "path", path);
        cJSON_AddStringToObject(j, "reason", why);
        cJSON_AddItemToArray(rejected, j);
        rc = 1;
    } else if (tok_encode(&s, tok, n) != 0) {
        rc = -1;
    }
    score_free(&s);
    return rc;
}

void eval_music_paths_free(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

/* ---- JSON and table of the metrics ---- */

cJSON *eval_music_json_number(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* N values as a JSON array (null where not finite). */
static cJSON *json_array(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, eval_music_json_number(v[i]));
    return a;
}

cJSON *eval_music_stats_json(const music_stats *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pieces", m->n_pieces);
    cJSON_AddNumberToObject(o, "notes", (double)m->n_notes);
    cJSON_AddNumberToObject(o, "seconds", m->seconds);
    cJSON_AddNumberToObject(o, "notes_per_second", m->notes_per_second);
    cJSON_AddItemToObject(o, "pitch_class_histogram", cJSON_CreateDoubleArray(m->pc_hist, 12));
    cJSON_AddItemToObject(o, "pitch_class_entropy", eval_music_json_number(m->pc_entropy));
    cJSON_AddItemToObject(o, "scale_consistency", eval_music_json_number(m->scale_consistency));
    cJSON_AddNumberToObject(o, "pitch_min", m->pitch_min);
    cJSON_AddNumberToObject(o, "pitch_max", m->pitch_max);
    cJSON_AddNumberToObject(o, "pitch_span", m->pitch_span);
    cJSON_AddNumberToObject(o, "polyphony_mean", m->polyphony_mean);
    cJSON_AddNumberToObject(o, "polyphony_max", m->polyphony_max);
    cJSON_AddItemToObject(o, "polyphony_rate", eval_music_json_number(m->polyphony_rate));
    cJSON *fam = cJSON_AddObjectToObject(o, "families");
    for (int f = 0; f < SCORE_N_INSTRUMENTS; f++) {
        if (m->family_notes[f] == 0) continue;
        cJSON *fj = cJSON_AddObjectToObject(fam, tok_family_name(f));
        cJSON_AddNumberToObject(fj, "notes", (double)m->family_notes[f]);
        cJSON_AddItemToObject(fj, "polyphony", eval_music_json_number(m->family_polyphony[f]));
    }
    cJSON_AddItemToObject(o, "groove_consistency", eval_music_json_number(m->groove_consistency));
    cJSON_AddItemToObject(o, "empty_beat_rate", eval_music_json_number(m->empty_beat_rate));
    double edges[MUSIC_STATS_N_TIME_BINS];
    for (int i = 0; i < MUSIC_STATS_N_TIME_BINS; i++)
        edges[i] = (double)music_stats_time_bin_edge(i) / TOK_STEPS_PER_SECOND;
    cJSON_AddItemToObject(o, "time_bin_edges_s", json_array(edges, MUSIC_STATS_N_TIME_BINS));
    cJSON_AddItemToObject(o, "note_length_histogram", json_array(m->note_len_hist, MUSIC_STATS_N_TIME_BINS));
    cJSON_AddItemToObject(o, "median_note_length", eval_music_json_number(m->median_note_length));
    cJSON_AddItemToObject(o, "ioi_histogram", json_array(m->ioi_hist, MUSIC_STATS_N_TIME_BINS));
    cJSON_AddNumberToObject(o, "ioi_mean", m->ioi_mean);
    cJSON_AddItemToObject(o, "drum_share", eval_music_json_number(m->drum_share));
    cJSON_AddNumberToObject(o, "velocity_mean", m->velocity_mean);
    cJSON_AddNumberToObject(o, "velocity_std", m->velocity_std);
    return o;
}

cJSON *eval_music_compare_json(const music_stats *gen, const music_stats *data)
{
    music_compare c;
    music_compare_stats(gen, data, &c);
    cJSON *o = cJSON_CreateObject();
    cJSON *mj = cJSON_AddObjectToObject(o, "metrics");
    for (int i = 0; i < c.n_rows; i++) {
        const music_compare_row *r = &c.rows[i];
        cJSON *rj = cJSON_AddObjectToObject(mj, r->key);
        cJSON_AddItemToObject(rj, "generated", eval_music_json_number(r->gen));
        cJSON_AddItemToObject(rj, "data", eval_music_json_number(r->data));
        cJSON_AddItemToObject(rj, "ratio", eval_music_json_number(r->ratio));
        cJSON_AddItemToObject(rj, "term", eval_music_json_number(r->term));
    }
    cJSON_AddItemToObject(o, "distance", eval_music_json_number(c.distance));
    cJSON_AddNumberToObject(o, "terms", c.n_terms);
    return o;
}

/* V with DECIMALS digits into BUF, "-" when not finite. */
static const char *fmt(char *buf, size_t len, double v, int decimals)
{
    if (isfinite(v)) snprintf(buf, len, "%.*f", decimals, v);
    else snprintf(buf, len, "-");
    return buf;
}

void eval_music_print_table(const char *gen_title, const music_stats *gen, const music_stats *data)
{
    music_compare c;
    music_compare_stats(gen, data, &c);
    char a[32], b[32], q[32], t[32];
    if (data) printf("  %-34s %12s %12s %9s %7s\n", "", gen_title, "data", "ratio", "term");
    else printf("  %-34s %12s\n", "", gen_title);
    for (int i = 0; i < c.n_rows; i++) {
        const music_compare_row *r = &c.rows[i];
        if (r->comparison && !data) continue; /* a comparison needs the data */
        fmt(a, sizeof a, r->gen, r->decimals);
        if (!data) {
            printf("  %-34s %12s\n", r->label, a);
            continue;
        }
        printf("  %-34s %12s %12s %9s %7s\n", r->label, a, r->comparison ? "" : fmt(b, sizeof b, r->data, r->decimals),
               fmt(q, sizeof q, r->ratio, 2), fmt(t, sizeof t, r->term, 2));
    }
    if (data)
        printf("  %-34s %12s   (mean of %d terms; 0 = the data, 1 = at the tolerance)\n",
               "distance to the data", fmt(a, sizeof a, c.distance, 3), c.n_terms);
}

/* ---- aurl eval --music ---- */

typedef struct {
    music_stats gen, data;
    int have_data;
    char data_label[4200];   /* where the data column comes from, or why there is none */
    size_t n_files, n_read, n_data_files;
    cJSON *rejected;         /* [{path, reason}] */
} music_run;

/* Read file PATH and add it (round trip through the tokenizer) to ACC, or
 * list it in R->rejected. 0, or -1 (out of memory). */
static int add_file(music_run *r, music_stats_acc *acc, const char *path)
{
    char why[AURL_ERR_LEN];
    uint16_t *tok = NULL;
    size_t n = 0;
    int rc = eval_music_read_tokens(path, r->rejected, &tok, &n, why);
    if (rc == 1) fprintf(stderr, "aurl eval: skipping %s\n", why);
    else if (rc == 0 && music_stats_acc_add_tokens(acc, tok, n, TOK_VOCAB_V1) != 0) rc = -1;
    else if (rc == 0) r->n_read++;
    free(tok);
    return rc < 0 ? -1 : 0;
}

/* The data column: the training split of the cache below DATA_DIR. 0, or -1
 * (out of memory); no cache is not an error (have_data stays 0). */
static int load_data(music_run *r, const char *data_dir)
{
    char err[AURL_ERR_LEN];
    cache *c;
    if (cache_open(data_dir, &c, err) != 0) {
        snprintf(r->data_label, sizeof r->data_label,
                 "none: no usable token cache (%s); build it with `aurl data cache`", err);
        return 0;
    }
    size_t n_seqs = 0;
    dataset_seq *seqs = dataset_split_seqs(c, CACHE_TRAIN, &n_seqs);
    int rc = seqs ? 0 : -1;
    r->n_data_files = n_seqs;
    if (rc == 0 && r->n_data_files == 0) {
        snprintf(r->data_label, sizeof r->data_label, "none: the cache %s has no training files", cache_dir(c));
    } else if (rc == 0) {
        rc = music_stats_of_sequences(seqs, r->n_data_files, &r->data);
        r->have_data = rc == 0;
        snprintf(r->data_label, sizeof r->data_label, "training split of %s", cache_dir(c));
    }
    free(seqs);
    cache_close(c);
    return rc;
}

static void print_music_json(const music_run *r, char **inputs, int n_inputs)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *in = cJSON_AddArrayToObject(o, "inputs");
    for (int i = 0; i < n_inputs; i++) cJSON_AddItemToArray(in, cJSON_CreateString(inputs[i]));
    cJSON_AddNumberToObject(o, "files", (double)r->n_read);
    cJSON_AddItemToObject(o, "rejected", cJSON_Duplicate(r->rejected, 1));
    if (r->have_data) {
        cJSON *dj = cJSON_AddObjectToObject(o, "data");
        cJSON_AddStringToObject(dj, "source", r->data_label);
        cJSON_AddNumberToObject(dj, "files", (double)r->n_data_files);
    } else {
        cJSON_AddNullToObject(o, "data");
        cJSON_AddStringToObject(o, "no_data", r->data_label);
    }
    cJSON_AddItemToObject(o, "stats", eval_music_stats_json(&r->gen));
    cJSON_AddItemToObject(o, "data_stats", r->have_data ? eval_music_stats_json(&r->data) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "music", eval_music_compare_json(&r->gen, r->have_data ? &r->data : NULL));
    char *s = cJSON_PrintUnformatted(o);
    if (s) printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

static void print_music_table(const music_run *r)
{
    printf("files       %zu MIDI files read, %.1f min of music", r->n_read, r->gen.seconds / 60);
    int n_rej = cJSON_GetArraySize(r->rejected);
    if (n_rej) printf(", %d rejected", n_rej);
    printf("\n");
    for (int i = 0; i < n_rej; i++)
        printf("  rejected  %s\n",
               cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(r->rejected, i), "reason")));
    if (r->have_data)
        printf("data        %s: %zu files, %.1f min of music\n\n", r->data_label, r->n_data_files,
               r->data.seconds / 60);
    else
        printf("data        %s: the files alone\n\n", r->data_label);
    eval_music_print_table("files", &r->gen, r->have_data ? &r->data : NULL);
}

/* List and read the inputs into R. An exit code (message printed). */
static int read_inputs(music_run *r, char **inputs, int n_inputs)
{
    char err[AURL_ERR_LEN];
    char **paths = NULL;
    size_t n = 0, cap = 0;
    int rc = AURL_EXIT_OK;
    for (int i = 0; i < n_inputs && rc == AURL_EXIT_OK; i++) rc = eval_music_list(inputs[i], 1, &paths, &n, &cap, err);
    music_stats_acc *acc = malloc(sizeof *acc);
    if (rc == AURL_EXIT_OK && !acc) {
        errmsg_set(err, "out of memory");
        rc = AURL_EXIT_RUNTIME;
    }
    if (rc == AURL_EXIT_OK) {
        music_stats_acc_init(acc);
        r->n_files = n;
        for (size_t i = 0; i < n && rc == AURL_EXIT_OK; i++)
            if (add_file(r, acc, paths[i]) != 0) {
                errmsg_set(err, "out of memory reading %s", paths[i]);
                rc = AURL_EXIT_RUNTIME;
            }
        music_stats_acc_result(acc, &r->gen);
    }
    if (rc == AURL_EXIT_OK && r->n_read == 0) {
        errmsg_set(err, "no readable MIDI file (.mid/.midi) among the inputs (%zu rejected)", n);
        rc = AURL_EXIT_USAGE;
    }
    if (rc != AURL_EXIT_OK) fprintf(stderr, "aurl eval: %s\n", err);
    free(acc);
    eval_music_paths_free(paths, n);
    return rc;
}

int eval_music_main(char **inputs, int n_inputs, int as_json, const aurl_globals *g)
{
    if (n_inputs < 1) {
        fprintf(stderr, "aurl eval: --music needs at least one MIDI file or folder (see aurl eval --help)\n");
        return AURL_EXIT_USAGE;
    }
    music_run *r = calloc(1, sizeof *r);
    if (!r || !(r->rejected = cJSON_CreateArray())) {
        fprintf(stderr, "aurl eval: out of memory\n");
        free(r);
        return AURL_EXIT_RUNTIME;
    }
    int rc = read_inputs(r, inputs, n_inputs);
    if (rc == AURL_EXIT_OK && load_data(r, g && g->data_dir ? g->data_dir : "data") != 0) {
        fprintf(stderr, "aurl eval: out of memory\n");
        rc = AURL_EXIT_RUNTIME;
    }
    if (rc == AURL_EXIT_OK) {
        if (as_json) print_music_json(r, inputs, n_inputs);
        else print_music_table(r);
    }
    cJSON_Delete(r->rejected);
    free(r);
    return rc;
}
