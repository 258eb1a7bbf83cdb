/* eval_cmd: aurl eval: how good is a checkpoint? The command front end:
 * options, the evaluation data, messages, the report and the exit code.
 *
 * 1. Next-token loss (nats/token), perplexity and accuracy on held-out data
 *    (engine/eval/scoring): the validation windows of the token cache (the
 *    trainer's own val set, data/dataset), or, with --midi DIR, every MIDI
 *    file below DIR (read in isolated children, encoded and windowed the same
 *    way by data/dataset; rejected files are listed).
 * 2. Unigram and bigram baselines (engine/eval/ngram) counted on the cache's
 *    training split and scored on exactly the same targets.
 * 3. N generated pieces (engine/eval/gen_eval): grammar errors before
 *    masking and the music statistics of the masked pieces, compared with
 *    the statistics of the evaluation files.
 * A table for people, or one JSON object with --json. */
#include "cmd/eval_cmd.h"

#include <cjson/cJSON.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/cache.h"
#include "data/dataset.h"
#include "data/midi_worker.h"
#include "data/tokenizer.h"
#include "engine/eval/gen_eval.h"
#include "engine/eval/music_stats.h"
#include "engine/eval/ngram.h"
#include "engine/eval/scoring.h"
#include "engine/model/model_ckpt.h"
#include "engine/model/transformer.h"
#include "engine/train/ckpt_pick.h"
#include "cmd/cli.h"
#include "util/json_num.h"
#include "util/log.h"

#define EVAL_BATCH 8
#define EVAL_MAX_T 1024        /* evaluation windows never longer than this */
#define EVAL_MAX_FILES 100000  /* --midi DIR: files looked at */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aurl eval [--checkpoint F] [--midi DIR] [--pieces N] [--length N] [--seed S]\n"
            "                 [--batches N] [--json]\n"
            "\n"
            "Evaluate a checkpoint: next-token loss (nats/token), perplexity and accuracy on the\n"
            "validation split of the token cache (or on the MIDI files below DIR), next to unigram\n"
            "and bigram baselines of the training tokens; then generate N pieces and report the\n"
            "grammar error rate before masking and music statistics against the data's.\n"
            "\n"
            "  --checkpoint F  checkpoint to evaluate (default: the best of the latest stage)\n"
            "  --midi DIR      evaluate on every .mid/.midi file below DIR instead of the val split\n"
            "  --pieces N      pieces to generate (default 8; 0: skip generation)\n"
            "  --length N      tokens per generated piece (default 512)\n"
            "  --seed S        sampling seed (default 1; piece i uses S + i)\n"
            "  --batches N     evaluate at most N batches of %d windows (default: all)\n"
            "  --json          print one JSON object instead of the table\n",
            EVAL_BATCH);
}

/* ---- evaluation data: token sequences and their windows ---- */

typedef struct {
    const char *label;      /* "validation split of data/cache" or the --midi dir */
    char label_buf[4200];
    dataset_seq *seqs;      /* START ... END each */
    size_t n_seqs;
    uint16_t **owned;       /* --midi: the encoded files (freed at the end) */
    cJSON *rejected;        /* --midi: [{path, reason}] */
    dataset *ds;            /* the windows of seqs */
} eval_data;

/* nftw has no user pointer: the walk's collection lives here. */
static char **walk_paths;
static size_t walk_n, walk_cap;

/* nftw callback: collect .mid/.midi files; nonzero stops the walk. */
static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F) return 0;
    const char *dot = strrchr(path, '.');
    if (!dot || (strcasecmp(dot, ".mid") && strcasecmp(dot, ".midi"))) return 0;
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_free(void)
{
    for (size_t i = 0; i < walk_n; i++) free(walk_paths[i]);
    free(walk_paths);
    walk_paths = NULL;
    walk_n = walk_cap = 0;
}

/* Read and encode file PATH into the next sequence of D, or list it as
 * rejected. 0, or -1 (out of memory). */
static int add_midi_file(eval_data *d, const char *path, int quiet)
{
    score s;
    score_init(&s);
    char why[AURL_ERR_LEN];
    uint16_t *tok = NULL;
    size_t n = 0;
    int rc = 0;
    if (midi_read_isolated(path, &s, why) != 0) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "path", path);
        cJSON_AddStringToObject(r, "reason", why);
        cJSON_AddItemToArray(d->rejected, r);
        if (!quiet) log_warn("skipping %s", why);
    } else if (tok_encode(&s, &tok, &n) != 0) {
        rc = -1;
    } else {
        d->owned[d->n_seqs] = tok;
        d->seqs[d->n_seqs++] = (dataset_seq){tok, n};
    }
    score_free(&s);
    return rc;
}

/* Read, encode and window every MIDI file below DIR. AURL_EXIT_OK, or
 * AURL_EXIT_USAGE (bad input) / AURL_EXIT_RUNTIME (out of memory), err set. */
static int load_midi_dir(eval_data *d, const char *dir, int T, int quiet, char err[AURL_ERR_LEN])
{
    if (!file_is_dir(dir)) {
        errmsg_set(err, "%s: not a directory", dir);
        return AURL_EXIT_USAGE;
    }
    walk_paths = NULL;
    walk_n = walk_cap = 0;
    if (nftw(dir, walk_cb, 16, FTW_PHYS) == -1) {
        walk_free();
        errmsg_set(err, "%s: cannot list the directory", dir);
        return AURL_EXIT_USAGE;
    }
    qsort(walk_paths, walk_n, sizeof *walk_paths, cmp_str);
    d->label = dir;
    d->rejected = cJSON_CreateArray();
    d->seqs = calloc(walk_n + 1, sizeof *d->seqs);
    d->owned = calloc(walk_n + 1, sizeof *d->owned);
    int oom = !(d->rejected && d->seqs && d->owned);
    for (size_t i = 0; i < walk_n && !oom; i++) oom = add_midi_file(d, walk_paths[i], quiet) != 0;
    walk_free();
    if (!oom && d->n_seqs == 0) {
        errmsg_set(err, "%s: no readable MIDI file (.mid/.midi) below it (%d rejected)", dir,
                   cJSON_GetArraySize(d->rejected));
        return AURL_EXIT_USAGE;
    }
    if (oom || dataset_open_seqs(&d->ds, d->seqs, d->n_seqs, T, T, err) != 0) {
        errmsg_set(err, "out of memory reading %s", dir);
        return AURL_EXIT_RUNTIME;
    }
    return AURL_EXIT_OK;
}

/* The validation split of the cache. AURL_EXIT_OK, or AURL_EXIT_RUNTIME with err set. */
static int load_val(eval_data *d, const cache *c, int T, char err[AURL_ERR_LEN])
{
    snprintf(d->label_buf, sizeof d->label_buf, "validation split of %s", cache_dir(c));
    d->label = d->label_buf;
    size_t n = cache_n_entries(c);
    d->seqs = calloc(n + 1, sizeof *d->seqs);
    if (!d->seqs) {
        errmsg_set(err, "out of memory");
        return AURL_EXIT_RUNTIME;
    }
    for (size_t i = 0; i < n; i++) {
        const cache_entry *e = cache_entry_at(c, i);
        if (e->split == CACHE_VAL) d->seqs[d->n_seqs++] = (dataset_seq){e->tokens, e->n_tokens};
    }
    if (d->n_seqs == 0 || dataset_open(&d->ds, c, CACHE_VAL, T, T, err) != 0) {
        errmsg_set(err, "%s: no validation files in the cache: add more MIDI files to the data folder and "
                        "run `aurl data cache`, or evaluate on a folder with --midi DIR", cache_dir(c));
        return AURL_EXIT_RUNTIME;
    }
    return AURL_EXIT_OK;
}

static void data_free(eval_data *d)
{
    if (d->owned)
        for (size_t i = 0; i < d->n_seqs; i++) free(d->owned[i]);
    free(d->owned);
    free(d->seqs);
    dataset_close(d->ds);
    cJSON_Delete(d->rejected);
}

/* ---- report ---- */

static cJSON *json_num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *json_score(const scoring_metrics *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "loss", json_num(s->loss));
    cJSON_AddItemToObject(o, "perplexity", json_num(s->perplexity));
    cJSON_AddItemToObject(o, "accuracy", json_num(s->accuracy));
    return o;
}

static cJSON *json_stats(const music_stats *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pieces", m->n_pieces);
    cJSON_AddNumberToObject(o, "notes", (double)m->n_notes);
    cJSON_AddNumberToObject(o, "seconds", m->seconds);
    cJSON_AddNumberToObject(o, "notes_per_second", m->notes_per_second);
    cJSON_AddItemToObject(o, "pitch_class_histogram", cJSON_CreateDoubleArray(m->pc_hist, 12));
    cJSON_AddNumberToObject(o, "pitch_min", m->pitch_min);
    cJSON_AddNumberToObject(o, "pitch_max", m->pitch_max);
    cJSON_AddNumberToObject(o, "pitch_span", m->pitch_span);
    cJSON_AddNumberToObject(o, "polyphony_mean", m->polyphony_mean);
    cJSON_AddNumberToObject(o, "polyphony_max", m->polyphony_max);
    cJSON_AddNumberToObject(o, "velocity_mean", m->velocity_mean);
    cJSON_AddNumberToObject(o, "velocity_std", m->velocity_std);
    cJSON_AddNumberToObject(o, "ioi_mean", m->ioi_mean);
    return o;
}

static void print_score_row(const char *name, const scoring_metrics *s)
{
    if (isfinite(s->loss))
        printf("  %-18s %10.4f %12.2f %9.1f%%\n", name, s->loss, s->perplexity, 100 * s->accuracy);
    else
        printf("  %-18s %10s %12s %10s\n", name, "-", "-", "-");
}

static void range_str(const music_stats *m, char *buf, size_t len)
{
    if (m->pitch_min < 0) snprintf(buf, len, "-");
    else snprintf(buf, len, "%d..%d (%d)", m->pitch_min, m->pitch_max, m->pitch_span);
}

static void print_stats_table(const music_stats *gen, const music_stats *dat, double pcd)
{
    char a[64], b[64];
    printf("  %-30s %16s %16s\n", "", "generated", "data");
    printf("  %-30s %16.2f %16.2f\n", "notes per second", gen->notes_per_second, dat->notes_per_second);
    range_str(gen, a, sizeof a);
    range_str(dat, b, sizeof b);
    printf("  %-30s %16s %16s\n", "pitch range (span)", a, b);
    snprintf(a, sizeof a, "%.2f / %d", gen->polyphony_mean, gen->polyphony_max);
    snprintf(b, sizeof b, "%.2f / %d", dat->polyphony_mean, dat->polyphony_max);
    printf("  %-30s %16s %16s\n", "polyphony mean / max", a, b);
    snprintf(a, sizeof a, "%.1f +- %.1f", gen->velocity_mean, gen->velocity_std);
    snprintf(b, sizeof b, "%.1f +- %.1f", dat->velocity_mean, dat->velocity_std);
    printf("  %-30s %16s %16s\n", "velocity mean +- std", a, b);
    printf("  %-30s %16.1f %16.1f\n", "mean inter-onset interval (ms)", 1e3 * gen->ioi_mean, 1e3 * dat->ioi_mean);
    if (isfinite(pcd))
        printf("  %-30s %16.3f\n", "pitch-class distance (JS, bits)", pcd);
    else
        printf("  %-30s %16s\n", "pitch-class distance (JS, bits)", "-");
}

/* ---- command ---- */

typedef struct {
    const char *ckpt, *midi_dir; /* NULL: the best checkpoint; the val split */
    long pieces, length, seed, batches;
    int json;
} eval_opts;

/* Everything one run of the command holds. */
typedef struct {
    eval_opts o;
    int quiet;
    char picked[4096];          /* the checkpoint ckpt_pick_best chose */
    transformer *m;
    int T;                      /* window length */
    double ck_stage, ck_step;   /* from the checkpoint's metadata, -1 if absent */
    cache *cch;                 /* NULL: none (only with --midi) */
    ngram *gram;                /* baselines (NULL without a cache) */
    eval_data d;
    scoring_result sc;
    music_stats dstats;         /* of the evaluation files */
    gen_eval_result gen;
    double pcd;                 /* pitch-class distance generated vs data */
} eval_run;

/* Parse the options into O. -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, eval_opts *o)
{
    static const struct option opts[] = {
        {"checkpoint", required_argument, 0, 'c'}, {"midi", required_argument, 0, 'm'},
        {"pieces", required_argument, 0, 'p'},     {"length", required_argument, 0, 'l'},
        {"seed", required_argument, 0, 's'},       {"batches", required_argument, 0, 'b'},
        {"json", no_argument, 0, 'j'},             {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    *o = (eval_opts){NULL, NULL, 8, 512, 1, 0, 0};
    int bad = 0;
    optind = 1;
    opterr = 0;
    int c;
    while (!bad && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->ckpt = optarg; break;
        case 'm': o->midi_dir = optarg; break;
        case 'p': o->pieces = (long)cli_int_option("eval", "--pieces", optarg, 0, 10000, &bad); break;
        case 'l': o->length = (long)cli_int_option("eval", "--length", optarg, 1, 1000000, &bad); break;
        case 's': o->seed = (long)cli_int_option("eval", "--seed", optarg, 0, 2147483647L, &bad); break;
        case 'b': o->batches = (long)cli_int_option("eval", "--batches", optarg, 1, 100000000L, &bad); break;
        case 'j': o->json = 1; break;
        case 'h': usage(stdout); return AURL_EXIT_OK;
        default:
            fprintf(stderr, "aurl eval: unknown or incomplete option '%s' (see aurl eval --help)\n",
                    argv[optind - 1]);
            return AURL_EXIT_USAGE;
        }
    }
    if (bad) return AURL_EXIT_USAGE;
    if (optind < argc) {
        fprintf(stderr, "aurl eval: unexpected argument '%s' (see aurl eval --help)\n", argv[optind]);
        return AURL_EXIT_USAGE;
    }
    return -1;
}

/* Find (without --checkpoint) and load the checkpoint. An exit code. */
static int open_model(eval_run *r, const char *outputs)
{
    char err[AURL_ERR_LEN];
    if (!r->o.ckpt) {
        if (ckpt_pick_best(outputs, CKPT_PICK_TRANSFORMER, r->picked, sizeof r->picked, NULL, err) != 0) {
            fprintf(stderr, "aurl eval: %s\n", err);
            return AURL_EXIT_RUNTIME;
        }
        r->o.ckpt = r->picked;
    } else if (!file_is_regular(r->o.ckpt)) {
        fprintf(stderr, "aurl eval: %s: checkpoint not found\n", r->o.ckpt);
        return AURL_EXIT_USAGE;
    }
    cJSON *meta = NULL;
    if (model_ckpt_load_new(r->o.ckpt, EVAL_BATCH, EVAL_MAX_T, &r->m, &meta, err) != 0) {
        fprintf(stderr, "aurl eval: %s\n", err);
        return AURL_EXIT_USAGE;
    }
    const model_config *cfg = transformer_config(r->m);
    r->T = cfg->max_seq_len < EVAL_MAX_T ? cfg->max_seq_len : EVAL_MAX_T;
    r->ck_stage = json_num_field(meta, "stage", -1);
    r->ck_step = json_num_field(meta, "step", -1);
    cJSON_Delete(meta);
    if (cfg->vocab_size != TOK_VOCAB_SIZE) {
        fprintf(stderr, "aurl eval: %s: vocabulary of %d tokens, this build uses %d\n", r->o.ckpt, cfg->vocab_size,
                TOK_VOCAB_SIZE);
        return AURL_EXIT_USAGE;
    }
    return AURL_EXIT_OK;
}

/* The cache (baselines, and the val split unless --midi) and the
 * evaluation data. An exit code. */
static int open_data(eval_run *r, const char *data_dir)
{
    char err[AURL_ERR_LEN];
    if (cache_open(data_dir, &r->cch, err) != 0) {
        if (!r->o.midi_dir) {
            fprintf(stderr, "aurl eval: %s\naurl eval: build the token cache with `aurl data cache` (or evaluate "
                            "on a folder with --midi DIR)\n", err);
            return AURL_EXIT_RUNTIME;
        }
        log_warn("eval: no usable token cache (%s): no unigram/bigram baselines", err);
        r->cch = NULL;
    }
    if (r->cch) {
        if (ngram_create(&r->gram, TOK_VOCAB_SIZE) != 0) {
            fprintf(stderr, "aurl eval: out of memory\n");
            return AURL_EXIT_RUNTIME;
        }
        ngram_add_cache_split(r->gram, r->cch, CACHE_TRAIN);
    }
    int rc = r->o.midi_dir ? load_midi_dir(&r->d, r->o.midi_dir, r->T, r->quiet, err)
                           : load_val(&r->d, r->cch, r->T, err);
    if (rc != AURL_EXIT_OK) fprintf(stderr, "aurl eval: %s\n", err);
    return rc;
}

static void on_piece(int done, int total, void *user)
{
    (void)user;
    log_info("eval: generated piece %d/%d", done, total);
}

/* Score the held-out windows, the data's statistics and the generated
 * pieces. An exit code. */
static int evaluate(eval_run *r)
{
    char err[AURL_ERR_LEN];
    if (!r->quiet)
        log_info("eval: %s: %zu files, %zu windows of %d tokens", r->d.label, r->d.n_seqs,
                 dataset_n_windows(r->d.ds), r->T);
    if (scoring_heldout(r->m, r->d.ds, r->gram, EVAL_BATCH, (size_t)r->o.batches, &r->sc, err) != 0) {
        fprintf(stderr, "aurl eval: %s\n", err);
        return AURL_EXIT_RUNTIME;
    }
    if (music_stats_of_sequences(r->d.seqs, r->d.n_seqs, &r->dstats) != 0) {
        fprintf(stderr, "aurl eval: out of memory\n");
        return AURL_EXIT_RUNTIME;
    }
    if (gen_eval_run(r->m, (int)r->o.pieces, (int)r->o.length, (uint64_t)r->o.seed, r->quiet ? NULL : on_piece,
                     NULL, &r->gen, err) != 0) {
        fprintf(stderr, "aurl eval: %s\n", err);
        return AURL_EXIT_RUNTIME;
    }
    r->pcd = gen_eval_pc_distance(&r->gen, &r->dstats);
    return AURL_EXIT_OK;
}

static void print_json(const eval_run *r)
{
    const eval_data *d = &r->d;
    const gen_eval_result *gen = &r->gen;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "checkpoint", r->o.ckpt);
    cJSON_AddItemToObject(o, "stage", json_num(r->ck_stage >= 0 ? r->ck_stage : NAN));
    cJSON_AddItemToObject(o, "step", json_num(r->ck_step >= 0 ? r->ck_step : NAN));
    cJSON_AddNumberToObject(o, "params", (double)transformer_n_params(r->m));
    cJSON *dj = cJSON_AddObjectToObject(o, "data");
    cJSON_AddStringToObject(dj, "source", r->o.midi_dir ? "midi" : "val");
    cJSON_AddStringToObject(dj, "label", d->label);
    cJSON_AddNumberToObject(dj, "files", (double)d->n_seqs);
    cJSON_AddNumberToObject(dj, "windows", (double)dataset_n_windows(d->ds));
    cJSON_AddNumberToObject(dj, "seq_len", r->T);
    cJSON_AddNumberToObject(dj, "targets", r->sc.targets);
    cJSON_AddItemToObject(dj, "rejected", d->rejected ? cJSON_Duplicate(d->rejected, 1) : cJSON_CreateArray());
    cJSON_AddItemToObject(o, "model", json_score(&r->sc.model));
    cJSON *bj = cJSON_AddObjectToObject(o, "baselines");
    cJSON_AddItemToObject(bj, "unigram", json_score(&r->sc.unigram));
    cJSON_AddItemToObject(bj, "bigram", json_score(&r->sc.bigram));
    cJSON *gj = cJSON_AddObjectToObject(o, "generation");
    cJSON_AddNumberToObject(gj, "pieces", gen->pieces);
    cJSON_AddNumberToObject(gj, "tokens", gen->tokens);
    cJSON_AddNumberToObject(gj, "grammar_errors", (double)gen->grammar_errors);
    cJSON_AddItemToObject(gj, "grammar_error_rate", json_num(gen->grammar_error_rate));
    cJSON_AddNumberToObject(gj, "seconds", gen->seconds);
    cJSON_AddItemToObject(gj, "stats", json_stats(&gen->stats));
    cJSON_AddItemToObject(gj, "pitch_class_distance", json_num(r->pcd));
    cJSON_AddItemToObject(o, "data_stats", json_stats(&r->dstats));
    cJSON_AddNumberToObject(o, "eval_seconds", r->sc.seconds);
    char *s = cJSON_PrintUnformatted(o);
    if (s) printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

static void print_table(const eval_run *r)
{
    const eval_data *d = &r->d;
    const gen_eval_result *gen = &r->gen;
    printf("checkpoint  %s", r->o.ckpt);
    if (r->ck_stage >= 0) printf(" (stage %.0f, step %.0f)", r->ck_stage, r->ck_step);
    printf(", %.2fM parameters\n", transformer_n_params(r->m) / 1e6);
    printf("data        %s: %zu files, %zu windows of %d tokens, %.0f targets\n", d->label, d->n_seqs,
           dataset_n_windows(d->ds), r->T, r->sc.targets);
    for (int i = 0; d->rejected && i < cJSON_GetArraySize(d->rejected); i++) {
        const cJSON *rj = cJSON_GetArrayItem(d->rejected, i);
        printf("  rejected  %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(rj, "reason")));
    }
    printf("\n  %-18s %10s %12s %10s\n", "next token", "nats/token", "perplexity", "accuracy");
    print_score_row("model", &r->sc.model);
    print_score_row("bigram baseline", &r->sc.bigram);
    print_score_row("unigram baseline", &r->sc.unigram);
    if (gen->pieces > 0) {
        printf("\ngenerated   %d pieces x %ld tokens (top-p 0.9, seed %ld) in %.1f s; grammar errors before "
               "masking: %ld of %d tokens (%.2f%%)\n\n",
               gen->pieces, r->o.length, r->o.seed, gen->seconds, gen->grammar_errors, gen->tokens,
               100 * gen->grammar_error_rate);
        print_stats_table(&gen->stats, &r->dstats, r->pcd);
    }
}

static void run_free(eval_run *r)
{
    data_free(&r->d);
    ngram_free(r->gram);
    cache_close(r->cch);
    transformer_free(r->m);
}

int eval_cmd_main(int argc, char **argv, const aurl_globals *g)
{
    eval_run r;
    memset(&r, 0, sizeof r);
    int rc = parse_options(argc, argv, &r.o);
    if (rc >= 0) return rc;
    r.quiet = g && g->quiet;
    const char *data_dir = g && g->data_dir ? g->data_dir : "data";
    const char *outputs = g && g->outputs_dir ? g->outputs_dir : "outputs";
    rc = open_model(&r, outputs);
    if (rc == AURL_EXIT_OK) rc = open_data(&r, data_dir);
    if (rc == AURL_EXIT_OK) rc = evaluate(&r);
    if (rc == AURL_EXIT_OK) {
        if (r.o.json) print_json(&r);
        else print_table(&r);
    }
    run_free(&r);
    return rc;
}
