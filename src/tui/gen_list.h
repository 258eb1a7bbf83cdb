/* gen_list: curses-free models behind the TUI's Generate screen: the list
 * of generated pieces in <outputs>/generated (each .mid with its .json
 * sidecar, read by engine/sample/gen_sidecar; a missing or broken
 * sidecar is a row with its error; its music metrics come from
 * <stem>.music.json, see tui/music_panel), the
 * settings form (fields with ranges, stepping, typed numbers, validation by
 * sampler_settings_validate), the argv of `aurl generate`, and parsing of
 * its `progress <done> <total>` lines. */
#ifndef AURL_GEN_LIST_H
#define AURL_GEN_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "engine/sample/sampler.h"
#include "util/errmsg.h"

/* ---------- generated pieces ---------- */

typedef struct {
    char name[256];        /* file stem, e.g. "stage1_best_top_p_s1" */
    char mid_path[4096];   /* "" when only the sidecar exists */
    char json_path[4096];
    int64_t mtime;         /* of the .mid (or the sidecar) */
    int ok;                /* 1 when the sidecar was read */
    char error[160];       /* why not, when !ok */
    long n_tokens, n_notes;  /* sidecar "tokens", "notes"; -1 when unknown */
    double duration;       /* "duration_seconds" (of music), -1 when unknown */
    double seconds_taken;  /* "seconds_taken" (generation time), -1 when unknown */
    char strategy[24];     /* "settings"."strategy", "" when unknown */
    long long seed;        /* "settings"."seed", -1 when unknown */
    /* <stem>.music.json (written by `aurl generate`): NAN when missing */
    double notes_per_second, polyphony, pc_entropy, distance;
} glist_item;

typedef struct {
    glist_item *items;     /* newest first */
    size_t n;
} glist;

/* Scan <outputs_dir>/generated. A missing directory is an empty list.
 * Returns 0, or -1 (out of memory / unreadable directory, err set). */
int glist_scan(glist *l, const char *outputs_dir, char err[AURL_ERR_LEN]);
void glist_free(glist *l);
/* Fill IT from the sidecar JSON TEXT (gen_sidecar_parse: exactly the keys
 * `aurl generate` writes; it->ok, or it->error "bad sidecar: ..."). */
void glist_parse_sidecar(glist_item *it, const char *text, size_t len);
/* Index of the item named NAME, or -1. */
long glist_find(const glist *l, const char *name);

/* ---------- settings form ---------- */

typedef enum {
    GFORM_STRATEGY = 0, GFORM_TEMPERATURE, GFORM_TOP_K, GFORM_TOP_P, GFORM_BEAMS,
    GFORM_LENGTH, GFORM_SECONDS, GFORM_SEED, GFORM_MODE, GFORM_N_FIELDS
} gform_field;

typedef enum { GFORM_MODE_TRANSFORMER = 0, GFORM_MODE_VAE = 1 } gform_mode;

typedef struct {
    sampler_settings s;    /* strategy, temperature, top_k, top_p, beams, max_tokens, max_seconds, seed */
    gform_mode mode;
} gform;

/* Sampler defaults, mode transformer. */
void gform_init(gform *f);
/* Label of field F ("Strategy", "Temperature", ...). */
const char *gform_label(gform_field f);
/* Current value of F as text. */
void gform_value(const gform *f, gform_field fld, char *buf, size_t len);
/* 1 when F is a numeric field that takes typed text. */
int gform_is_numeric(gform_field f);
/* Step F by DIR (+1 / -1) within its range (choices cycle). */
void gform_step(gform *f, gform_field fld, int dir);
/* Set numeric field F from TEXT. Returns 0, or -1 with err set (not a
 * number, out of range, or rejected by sampler_settings_validate); the
 * form is unchanged on error. */
int gform_set_text(gform *f, gform_field fld, const char *text, char err[AURL_ERR_LEN]);
/* Whole-form check (sampler_settings_validate). 0 or -1 with err set. */
int gform_validate(const gform *f, char err[AURL_ERR_LEN]);
/* Whether field F matters for the current strategy (others are dimmed). */
int gform_relevant(const gform *f, gform_field fld);

/* ---------- aurl generate command line ---------- */

#define GEN_ARGV_MAX 40

typedef struct {
    char *argv[GEN_ARGV_MAX + 1];  /* NULL-terminated, pointing into store */
    int argc;
    char store[8192];
    size_t used;
} gen_argv;

/* Build `<self_exe> [--outputs O] [--data D] generate --mode M --strategy S
 * --temperature T --top-k K --top-p P --beams N --length N [--seconds S]
 * --seed S [--checkpoint C] --progress --json`. outputs/data/checkpoint may
 * be NULL. Returns 0, or -1 if it does not fit. */
int gen_argv_build(gen_argv *a, const char *self_exe, const char *outputs_dir, const char *data_dir,
                   const gform *f, const char *checkpoint);

/* Parse a line "progress <done> <total>" (trailing newline/space allowed).
 * Returns 1 and sets *done and *total, or 0 for any other line. */
int gen_parse_progress(const char *line, long *done, long *total);
#endif
