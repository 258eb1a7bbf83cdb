/* data_pipeline: speed of the MIDI data path on the files under
 * <data>/midi (default data/): reading (sanitiser + libsmf + note
 * extraction, in-process), tokenisation (tok_encode), decoding
 * (tok_decode), augmentation of 513-token training windows with stage 2's
 * settings, and dataset batch assembly. Prints one line per measurement
 * and, with --json, a final JSON object. Run by bench/run.sh. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "engine/nn/blas_core.h"
#include "data/augment.h"
#include "data/cache.h"
#include "data/dataset.h"
#include "data/midi_read.h"
#include "data/tokenizer.h"
#include "engine/train/train_config.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/log.h"

#define MAX_FILES 8192

static char *g_paths[MAX_FILES];
static int g_n_paths;
static size_t g_bytes; /* total size of the collected files */

/* nftw callback: remember every regular *.mid file (up to MAX_FILES). */
static int collect(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)ftw;
    size_t n = strlen(path);
    if (flag == FTW_F && S_ISREG(sb->st_mode) && n > 4 && !strcasecmp(path + n - 4, ".mid") &&
        g_n_paths < MAX_FILES) {
        char *copy = strdup(path);
        if (!copy) return 1; /* stop the walk: out of memory */
        g_paths[g_n_paths++] = copy;
        g_bytes += (size_t)sb->st_size;
    }
    return 0;
}

/* Exit with a message when an allocation failed. */
static void *need(void *p)
{
    if (!p) {
        fprintf(stderr, "data_pipeline: out of memory\n");
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    blas_core_startup(argv); /* the OpenBLAS kernel aurl itself would run */
    const char *data_dir = "data";
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else data_dir = argv[i];
    }
    log_set_quiet(1);
    char midi_dir[4096], err[AURL_ERR_LEN];
    snprintf(midi_dir, sizeof midi_dir, "%s/midi", data_dir);
    nftw(midi_dir, collect, 16, FTW_PHYS);
    if (g_n_paths == 0) {
        fprintf(stderr, "data_pipeline: no MIDI files under %s (run `aurl data fetch`)\n", midi_dir);
        return 1;
    }

    /* 1. read every file, 3 passes; keep the scores of the last pass */
    score *scores = need(calloc((size_t)g_n_paths, sizeof *scores));
    size_t bytes = g_bytes, notes = 0;
    int passes = 3, ok = 0;
    double t0 = clock_monotonic();
    for (int p = 0; p < passes; p++) {
        for (int i = 0; i < g_n_paths; i++) {
            score_free(&scores[i]);
            if (midi_read_file(g_paths[i], &scores[i], NULL, err) == 0 && p == passes - 1) {
                ok++;
                notes += scores[i].n_notes;
            }
        }
    }
    double read_s = (clock_monotonic() - t0) / passes;

    /* 2. tokenise and 3. decode, 5 passes */
    size_t tokens = 0;
    double enc_s = 0, dec_s = 0;
    for (int p = 0; p < 5; p++) {
        for (int i = 0; i < g_n_paths; i++) {
            uint16_t *toks;
            size_t n;
            double a = clock_monotonic();
            if (tok_encode(&scores[i], &toks, &n) != 0) continue;
            double b = clock_monotonic();
            score back;
            score_init(&back);
            tok_decode(toks, n, &back);
            double c = clock_monotonic();
            enc_s += b - a;
            dec_s += c - b;
            if (p == 0) tokens += n;
            score_free(&back);
            free(toks);
        }
    }
    enc_s /= 5;
    dec_s /= 5;

    /* 4. augmentation of training windows and 5. batches, from the cache */
    cache *c;
    if (cache_ensure(data_dir, 0, NULL, NULL, &c, err) != 0) {
        fprintf(stderr, "data_pipeline: %s\n", err);
        return 1;
    }
    train_config cfg;
    if (train_config_load(&cfg, "configs/stages/stage2_augmented.yaml", NULL, err) != 0) {
        fprintf(stderr, "data_pipeline: %s\n", err);
        return 1;
    }
    int T = 512, B = 8;
    dataset *ds;
    if (dataset_open(&ds, c, CACHE_TRAIN, T, T / 2, err) != 0) {
        fprintf(stderr, "data_pipeline: %s\n", err);
        return 1;
    }
    int32_t *in = need(malloc(sizeof(int32_t) * B * T)), *tg = need(malloc(sizeof(int32_t) * B * T));
    size_t nb = dataset_batches_per_epoch(ds, B);
    double a = clock_monotonic();
    for (size_t b = 0; b < nb; b++) dataset_get_batch(ds, B, 1, 0, b, 1, NULL, in, tg);
    double plain_s = clock_monotonic() - a;
    a = clock_monotonic();
    for (size_t b = 0; b < nb; b++) dataset_get_batch(ds, B, 1, 0, b, 1, &cfg.aug, in, tg);
    double aug_s = clock_monotonic() - a;
    double windows = (double)nb * B;

    printf("data: %d files (%d read), %.2f MB, %zu notes, %zu tokens\n", g_n_paths, ok, bytes / 1e6, notes, tokens);
    printf("read (sanitise + libsmf + notes): %.1f ms for all files, %.1f files/s, %.1f MB/s\n", read_s * 1e3,
           g_n_paths / read_s, bytes / 1e6 / read_s);
    printf("tok_encode: %.2f M tokens/s   tok_decode: %.2f M tokens/s\n", tokens / enc_s / 1e6, tokens / dec_s / 1e6);
    printf("batches of %dx%d: %.0f windows/s plain, %.0f windows/s with stage-2 augmentation\n", B, T + 1,
           windows / plain_s, windows / aug_s);
    if (json)
        printf("{\"files\": %d, \"read_files_per_s\": %.1f, \"read_mb_per_s\": %.2f, \"encode_tokens_per_s\": %.0f, "
               "\"decode_tokens_per_s\": %.0f, \"windows_per_s\": %.0f, \"augmented_windows_per_s\": %.0f}\n",
               g_n_paths, g_n_paths / read_s, bytes / 1e6 / read_s, tokens / enc_s, tokens / dec_s,
               windows / plain_s, windows / aug_s);
    dataset_close(ds);
    cache_close(c);
    for (int i = 0; i < g_n_paths; i++) {
        score_free(&scores[i]);
        free(g_paths[i]);
    }
    free(scores);
    free(in);
    free(tg);
    return 0;
}
