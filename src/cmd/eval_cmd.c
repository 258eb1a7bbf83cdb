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
 *    masking, by kind, and the music metrics of the masked pieces, compared
 *    with the metrics of the evaluation files (cmd/eval_music's table).
 * A table for people, or one JSON object with --json.
 * `aurl eval --music FILE|DIR ...` (cmd/eval_music) needs no checkpoint:
 * the music metrics of any MIDI files beside the training data's. */
#include "cmd/eval_cmd.h"
#include "cmd/eval_music.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache.h"
#include "data/dataset.h"
#include "data/midi_worker.h"
#include "data/tokenizer.h"
#include "engine/eval/gen_eval.h"
#include "engine/sample/note_limits.h"
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

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aurl eval [--checkpoint F] [--midi DIR] [--pieces N] [--length N] [--seed S]\n"
            "                 [--batches N] [--json]\n"
            "       aurl eval --music FILE|DIR [FILE|DIR ...] [--json]\n"
            "\n"
            "Evaluate a checkpoint: next-token loss (nats/token), perplexity and accuracy on the\n"
            "validation split of the token cache (or on the MIDI files below DIR), next to unigram\n"
            "and bigram baselines of the training tokens; then generate N pieces and report the\n"
            "grammar errors before masking (by kind) and music metrics against the data's.\n"
            "\n"
            "With --music, no checkpoint: the music metrics (notes/s, polyphony, pitch-class\n"
            "entropy, scale and groove consistency, empty beats, note-length and inter-onset\n"
            "histograms, drum share, ...) of the MIDI files given (folders: every .mid/.midi below)\n"
            "beside those of the token cache's training split, with the ratio and one summary\n"
            "distance (0 = like the data). Files are measured as the tokenizer encodes them.\n"
            "\n"
            "  --music         measure the MIDI files/folders given as arguments\n"
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

/* Read and encode file PATH into the next sequence of D, or list it as
 * rejected. 0, or -1 (out of memory). */
static int add_midi_file(eval_data *d, const char *path, int quiet)
{
    char why[AURL_ERR_LEN];
    uint16_t *tok;
    size_t n;
    int rc = eval_music_read_tokens(path, d->rejected, &tok, &n, why);
    if (rc == 1 && !quiet) log_warn("skipping %s", why);
    if (rc == 0) {
        d->owned[d->n_seqs] = tok;
        d->seqs[d->n_seqs++] = (dataset_seq){tok, n};
    }
    return rc < 0 ? -1 : 0;
}

/* Read, encode and window every MIDI file below DIR. AURL_EXIT_OK, or
 * AURL_EXIT_USAGE (bad input) / AURL_EXIT_RUNTIME (out of memory), err set. */
static int load_midi_dir(eval_data *d, const char *dir, int T, int vocab, int quiet, char err[AURL_ERR_LEN])
{
    char **paths = NULL;
    size_t n_paths = 0, cap = 0;
    int rc = eval_music_list(dir, 0, &paths, &n_paths, &cap, err);
    if (rc != AURL_EXIT_OK) {
        eval_music_paths_free(paths, n_paths);
        return rc;
    }
    d->label = dir;
    d->rejected = cJSON_CreateArray();
    d->seqs = calloc(n_paths + 1, sizeof *d->seqs);
    d->owned = calloc(n_paths + 1, sizeof *d->owned);
    int oom = !(d->rejected && d->seqs && d->owned);
    for (size_t i = 0; i < n_paths && !oom; i++) oom = add_midi_file(d, paths[i], quiet) != 0;
    eval_music_paths_free(paths, n_paths);
    if (!oom && d->n_seqs == 0) {
        errmsg_set(err, "%s: no readable MIDI file (.mid/.midi) below it (%d rejected)", dir,
                   cJSON_GetArraySize(d->rejected));
        return AURL_EXIT_USAGE;
    }
    if (oom || dataset_open_seqs_vocab(&d->ds, d->seqs, d->n_seqs, T, T, vocab, err) != 0) {
        errmsg_set(err, "out of memory reading %s", dir);
        return AURL_EXIT_RUNTIME;
    }
    return AURL_EXIT_OK;
}

/* The validation split of the cache (windows in vocabulary VOCAB; seqs stay
 * the cache's v1 tokens, for the music statistics). AURL_EXIT_OK, or
 * AURL_EXIT_RUNTIME with err set. */
static int load_val(eval_data *d, const cache *c, int T, int vocab, char err[AURL_ERR_LEN])
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
    if (d->n_seqs == 0 || dataset_open_vocab(&d->ds, c, CACHE_VAL, T, T, vocab, err) != 0) {
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

static cJSON *json_score(const scoring_metrics *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "loss", eval_music_json_number(s->loss));
    cJSON_AddItemToObject(o, "perplexity", eval_music_json_number(s->perplexity));
    cJSON_AddItemToObject(o, "accuracy", eval_music_json_number(s->accuracy));
    return o;
}

static void print_score_row(const char *name, const scoring_metrics *s)
{
    if (isfinite(s->loss))
        printf("  %-18s %10.4f %12.2f %9.1f%%\n", name, s->loss, s->perplexity, 100 * s->accuracy);
    else
        printf("  %-18s %10s %12s %10s\n", name, "-", "-", "-");
}

/* The grammar errors of the raw pieces by kind, with their share of all errors. */
static void print_error_kinds(const gen_eval_result *gen, int vocab)
{
    if (gen->grammar_errors <= 0) return;
    printf("  %-50s %8s %8s\n", "grammar errors by kind", "tokens", "share");
    for (int k = 1; k < GRAMMAR_N_KINDS; k++)
        if (grammar_kind_applies((grammar_error_kind)k, vocab))
            printf("  %-50s %8ld %7.1f%%\n", grammar_error_label((grammar_error_kind)k), gen->error_kinds[k],
               100.0 * gen->error_kinds[k] / gen->grammar_errors);
    printf("\n");
}

/* ---- command ---- */

typedef struct {
    const char *ckpt, *midi_dir; /* NULL: the best checkpoint; the val split */
    long pieces, length, seed, batches;
    int json;
    int music;                   /* --music: the arguments are MIDI files/folders */
    char **inputs;               /* with --music: the arguments */
    int n_inputs;
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
    const char *data_dir;       /* --data */
    int have_limits;            /* the generated pieces used the data's note limits */
} eval_run;

/* Parse the options into O. -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, eval_opts *o)
{
    static const struct option opts[] = {
        {"checkpoint", required_argument, 0, 'c'}, {"midi", required_argument, 0, 'm'},
        {"pieces", required_argument, 0, 'p'},     {"length", required_argument, 0, 'l'},
        {"seed", required_argument, 0, 's'},       {"batches", required_argument, 0, 'b'},
        {"json", no_argument, 0, 'j'},             {"help", no_argument, 0, 'h'},
        {"music", no_argument, 0, 'M'},            {0, 0, 0, 0}};
    *o = (eval_opts){NULL, NULL, 8, 512, 1, 0, 0, 0, NULL, 0};
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
        case 'M': o->music = 1; break;
        case 'h': usage(stdout); return AURL_EXIT_OK;
        default:
            fprintf(stderr, "aurl eval: unknown or incomplete option '%s' (see aurl eval --help)\n",
                    argv[optind - 1]);
            return AURL_EXIT_USAGE;
        }
    }
    if (bad) return AURL_EXIT_USAGE;
    if (o->music) {
        if (o->ckpt || o->midi_dir) {
            fprintf(stderr, "aurl eval: --music measures MIDI files and takes no --checkpoint or --midi\n");
            return AURL_EXIT_USAGE;
        }
        o->inputs = argv + optind;
        o->n_inputs = argc - optind;
        return -1;
    }
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
        int vocab = model_vocab(transformer_config(r->m));
        size_t n = 0;
        uint16_t *store = NULL;
        dataset_seq *seqs = dataset_split_seqs_vocab(r->cch, CACHE_TRAIN, vocab, &n, &store);
        if (!seqs) {
            fprintf(stderr, "aurl eval: out of memory\n");
            return AURL_EXIT_RUNTIME;
        }
        for (size_t i = 0; i < n; i++) ngram_add_sequence(r->gram, seqs[i].tokens, seqs[i].n);
        free(seqs);
        free(store);
    }
    int vocab = model_vocab(transformer_config(r->m));
    int rc = r->o.midi_dir ? load_midi_dir(&r->d, r->o.midi_dir, r->T, vocab, r->quiet, err)
                           : load_val(&r->d, r->cch, r->T, vocab, err);
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
    note_limits nl;
    char lerr[AURL_ERR_LEN];
    r->have_limits = note_limits_from_cache(r->data_dir, &nl, lerr) == 0;
    if (!r->have_limits && !r->quiet) log_info("eval: %s: generated pieces use the flat 8 s note limit", lerr);
    if (gen_eval_run(r->m, r->have_limits ? &nl.limits : NULL, (int)r->o.pieces, (int)r->o.length, (uint64_t)r->o.seed, r->quiet ? NULL : on_piece,
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
    cJSON_AddItemToObject(o, "stage", eval_music_json_number(r->ck_stage >= 0 ? r->ck_stage : NAN));
    cJSON_AddItemToObject(o, "step", eval_music_json_number(r->ck_step >= 0 ? r->ck_step : NAN));
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
    cJSON_AddItemToObject(gj, "grammar_error_rate", eval_music_json_number(gen->grammar_error_rate));
    cJSON *kj = cJSON_AddObjectToObject(gj, "grammar_error_kinds");
    for (int k = 1; k < GRAMMAR_N_KINDS; k++)
        if (grammar_kind_applies((grammar_error_kind)k, model_vocab(transformer_config(r->m))))
            cJSON_AddNumberToObject(kj, grammar_error_key((grammar_error_kind)k), (double)gen->error_kinds[k]);
    cJSON_AddNumberToObject(gj, "seconds", gen->seconds);
    cJSON_AddItemToObject(gj, "stats", eval_music_stats_json(&gen->stats));
    cJSON_AddItemToObject(gj, "pitch_class_distance", eval_music_json_number(r->pcd));
    if (gen->pieces > 0) cJSON_AddItemToObject(gj, "music", eval_music_compare_json(&gen->stats, &r->dstats));
    cJSON_AddItemToObject(gj, "raw_stats", eval_music_stats_json(&gen->raw_stats));
    if (gen->pieces > 0) cJSON_AddItemToObject(gj, "raw_music", eval_music_compare_json(&gen->raw_stats, &r->dstats));
    cJSON_AddBoolToObject(gj, "data_note_limits", r->have_limits);
    cJSON_AddItemToObject(o, "data_stats", eval_music_stats_json(&r->dstats));
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
        print_error_kinds(gen, model_vocab(transformer_config(r->m)));
        printf("decoded as `aurl generate` does (typed mask, %s note limits):\n", r->have_limits ? "the data's" : "flat 8 s");
        eval_music_print_table("generated", &gen->stats, &r->dstats);
        printf("\nthe model alone (no mask, no limits):\n");
        eval_music_print_table("raw", &gen->raw_stats, &r->dstats);
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
    if (r.o.music) return eval_music_main(r.o.inputs, r.o.n_inputs, r.o.json, g);
    rc = open_model(&r, outputs);
    r.data_dir = data_dir;
    if (rc == AURL_EXIT_OK) rc = open_data(&r, data_dir);
    if (rc == AURL_EXIT_OK) rc = evaluate(&r);
    if (rc == AURL_EXIT_OK) {
        if (r.o.json) print_json(&r);
        else print_table(&r);
    }
    run_free(&r);
    return rc;
}
