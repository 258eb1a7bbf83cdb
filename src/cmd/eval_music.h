/* eval_music: the music half of `aurl eval`'s front end.
 *   - `aurl eval --music FILE|DIR ...`: the music metrics of any MIDI files
 *     (no checkpoint) beside the data's (the token cache's training split);
 *   - the one table and JSON of music metrics that both `aurl eval --music`
 *     and `aurl eval`'s generated section print (engine/eval/music_compare);
 *   - the MIDI file lists both read (a file, or the .mid/.midi files below
 *     a folder). */
#ifndef AURL_EVAL_MUSIC_H
#define AURL_EVAL_MUSIC_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/eval/music_stats.h"
#include "util/errmsg.h"
#include "util/globals.h"

/* Append to *paths (*n of them, *cap allocated) the sorted .mid/.midi
 * files below folder PATH, or with ALLOW_FILE PATH itself if it is a file
 * (of any name). AURL_EXIT_OK, AURL_EXIT_USAGE (no such file or folder,
 * unreadable folder) or AURL_EXIT_RUNTIME (out of memory), err set. Free
 * the list with eval_music_paths_free. */
int eval_music_list(const char *path, int allow_file, char ***paths, size_t *n, size_t *cap,
                    char err[AURL_ERR_LEN]);
/* Read MIDI file PATH (in an isolated child) and encode it into *tok (*n
 * tokens, malloc'd). 0; 1 when the file is rejected: {path, reason} is
 * appended to REJECTED and WHY holds the reason (naming the file); -1 out
 * of memory. */
int eval_music_read_tokens(const char *path, cJSON *rejected, uint16_t **tok, size_t *n, char why[AURL_ERR_LEN]);
/* Free a list of eval_music_list. */
void eval_music_paths_free(char **paths, size_t n);

/* V as a JSON number, null when not finite. */
cJSON *eval_music_json_number(double v);
/* Every field of M as a JSON object. */
cJSON *eval_music_stats_json(const music_stats *m);
/* The comparison of GEN with DATA (NULL: none) as JSON: {"metrics": {key:
 * {"generated", "data", "ratio", "term"}}, "distance", "terms"}. */
cJSON *eval_music_compare_json(const music_stats *gen, const music_stats *data);
/* The comparison as a table on stdout: GEN_TITLE heads the first column;
 * without DATA the first column alone. */
void eval_music_print_table(const char *gen_title, const music_stats *gen, const music_stats *data);

/* `aurl eval --music`: the N_INPUTS files/folders INPUTS against the data of
 * G (--data). JSON with AS_JSON. Returns the exit code. */
int eval_music_main(char **inputs, int n_inputs, int as_json, const aurl_globals *g);
#endif
