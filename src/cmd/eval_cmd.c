/* eval_cmd: aurl eval: how good is a checkpoint?
 *
 * 1. Next-token loss (nats/token), perplexity and accuracy on held-out data:
 *    the validation windows of the token cache (the trainer's own val set,
 *    data/dataset), or, with --midi DIR, every MIDI file below DIR (read in
 *    isolated children, encoded and windowed the same way: T+1 tokens at
 *    stride T plus a final window ending at END; rejected files are listed).
 * 2. Unigram and bigram baselines (engine/ngram) counted on the cache's
 *    training split and scored on exactly the same targets.
 * 3. N generated pieces (engine/sampler, default top-p 0.9): each piece is
 *    sampled twice with the same seed, once raw (grammar = 0) to count the
 *    tokens the grammar mask would have forbidden, and once masked (what a
 *    user hears) for the music statistics (engine/music_stats), compared
 *    with the statistics of the evaluation files.
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
#include "engine/train/ckpt_pick.h"
#include "engine/model/model_ckpt.h"
#include "engine/eval/music_stats.h"
#include "engine/eval/ngram.h"
#include "engine/sample/sampler.h"
#include "engine/model/transformer.h"
#include "util/cli.h"
#include "util/clock.h"
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

/* ---- evaluation data: windows over token sequences ---- */

typedef struct {
    const uint16_t *tokens; /* START ... END */
    size_t n;
} eval_seq;

typedef struct {
    size_t seq, start; /* window = seq[start .. start+T] (PAD past the end) */
} eval_window;

typedef struct {
    const char *label;      /* "validation split of data/cache" or the --midi dir */
    eval_seq *seqs;
    size_t n_seqs;
    uint16_t **owned;       /* --midi: the encoded files (freed at the end) */
    cJSON *rejected;        /* --midi: [{path, reason}] */
    dataset *ds;            /* cache: the val windows */
    eval_window *win;       /* --midi: our own windows */
    size_t n_win;
} eval_data;

/* The windows of one sequence, as data/dataset makes them. */
static int add_windows(eval_data *d, size_t *cap, size_t seq, size_t n, int T)
{
    size_t W = (size_t)T + 1;
    size_t n_starts = n <= W ? 1 : (n - W) / (size_t)T + 1;
    int tail = n > W && (n - W) % (size_t)T != 0;
    for (size_t k = 0; k < n_starts + (size_t)tail; k++) {
        if (d->n_win == *cap) {
            size_t nc = *cap ? 2 * *cap : 256;
            eval_window *w = realloc(d->win, nc * sizeof *w);
            if (!w) return -1;
            d->win = w;
            *cap = nc;
        }
        d->win[d->n_win++] = (eval_window){seq, k < n_starts ? k * (size_t)T : n - W};
    }
    return 0;
}

static size_t data_n_windows(const eval_data *d)
{
    return d->ds ? dataset_n_windows(d->ds) : d->n_win;
}

/* Batch B of B_ROWS windows (rows past the end are PAD). */
static void data_batch(const eval_data *d, size_t b, int rows, int T, int32_t *in, int32_t *tg)
{
    if (d->ds) {
        dataset_get_batch(d->ds, rows, 0, 0, b, 0, NULL, in, tg);
        return;
    }
    for (int r = 0; r < rows; r++) {
        size_t wi = b * (size_t)rows + (size_t)r;
        for (int t = 0; t < T; t++) {
            int32_t x = TOK_PAD, y = TOK_PAD;
            if (wi < d->n_win) {
                const eval_seq *s = &d->seqs[d->win[wi].seq];
                size_t p = d->win[wi].start + (size_t)t;
                if (p < s->n) x = s->tokens[p];
                if (p + 1 < s->n) y = s->tokens[p + 1];
            }
            in[(size_t)r * T + t] = x;
            tg[(size_t)r * T + t] = y;
        }
    }
}

/* nftw has no user pointer: the walk's collection lives here. */
static char **walk_paths;
static size_t walk_n, walk_cap;

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

/* Read and encode every MIDI file below DIR. Exit code style: 0, or 2 (bad
 * input, err set) / 1 (out of memory). */
static int load_midi_dir(eval_data *d, const char *dir, int T, int quiet, char err[AURL_ERR_LEN])
{
    if (!file_is_dir(dir)) {
        errmsg_set(err, "%s: not a directory", dir);
        return 2;
    }
    walk_paths = NULL;
    walk_n = walk_cap = 0;
    if (nftw(dir, walk_cb, 16, FTW_PHYS) == -1) {
        errmsg_set(err, "%s: cannot list the directory", dir);
        return 2;
    }
    qsort(walk_paths, walk_n, sizeof *walk_paths, cmp_str);
    d->label = dir;
    d->rejected = cJSON_CreateArray();
    d->seqs = calloc(walk_n + 1, sizeof *d->seqs);
    d->owned = calloc(walk_n + 1, sizeof *d->owned);
    int rc = d->rejected && d->seqs && d->owned ? 0 : 1;
    size_t cap = 0;
    for (size_t i = 0; i < walk_n && rc == 0; i++) {
        score s;
        score_init(&s);
        char why[AURL_ERR_LEN];
        uint16_t *tok = NULL;
        size_t n = 0;
        if (midi_read_isolated(walk_paths[i], &s, why) != 0) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "path", walk_paths[i]);
            cJSON_AddStringToObject(r, "reason", why);
            cJSON_AddItemToArray(d->rejected, r);
            if (!quiet) log_warn("skipping %s", why);
        } else if (tok_encode(&s, &tok, &n) != 0) {
            rc = 1;
        } else {
            d->owned[d->n_seqs] = tok;
            d->seqs[d->n_seqs] = (eval_seq){tok, n};
            if (add_windows(d, &cap, d->n_seqs, n, T) != 0) rc = 1;
            d->n_seqs++;
        }
        score_free(&s);
    }
    for (size_t i = 0; i < walk_n; i++) free(walk_paths[i]);
    free(walk_paths);
    walk_paths = NULL;
    if (rc) {
        errmsg_set(err, "out of memory reading %s", dir);
        return 1;
    }
    if (d->n_seqs == 0) {
        errmsg_set(err, "%s: no readable MIDI file (.mid/.midi) below it (%d rejected)", dir,
                   cJSON_GetArraySize(d->rejected));
        return 2;
    }
    return 0;
}

/* The validation split of the cache. 0, or 1 with err set. */
static int load_val(eval_data *d, const cache *c, int T, char err[AURL_ERR_LEN])
{
    static char label[4200];
    snprintf(label, sizeof label, "validation split of %s", cache_dir(c));
    d->label = label;
    size_t n = cache_n_entries(c);
    d->seqs = calloc(n + 1, sizeof *d->seqs);
    if (!d->seqs) {
        errmsg_set(err, "out of memory");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const cache_entry *e = cache_entry_at(c, i);
        if (e->split == CACHE_VAL) d->seqs[d->n_seqs++] = (eval_seq){e->tokens, e->n_tokens};
    }
    if (d->n_seqs == 0 || dataset_open(&d->ds, c, CACHE_VAL, T, T, err) != 0) {
        errmsg_set(err, "%s: no validation files in the cache: add more MIDI files to the data folder and "
                        "run `aurl data cache`, or evaluate on a folder with --midi DIR", cache_dir(c));
        return 1;
    }
    return 0;
}

static void data_free(eval_data *d)
{
    if (d->owned)
        for (size_t i = 0; i < d->n_seqs; i++) free(d->owned[i]);
    free(d->owned);
    free(d->seqs);
    free(d->win);
    dataset_close(d->ds);
    cJSON_Delete(d->rejected);
}

/* ---- scoring ---- */

typedef struct {
    double loss, perplexity, accuracy;
} eval_score;

static eval_score score_of(double nll_sum, double n, double correct)
{
    eval_score s = {NAN, NAN, NAN};
    if (n > 0) {
        s.loss = nll_sum / n;
        s.perplexity = exp(s.loss);
        s.accuracy = correct / n;
    }
    return s;
}

/* Model and baselines over the evaluation windows. */
static int score_windows(transformer *m, const eval_data *d, const ngram *g, int T, size_t max_batches,
                         eval_score *model, eval_score *uni, eval_score *bi, double *n_targets,
                         char err[AURL_ERR_LEN])
{
    int B = EVAL_BATCH, V = transformer_config(m)->vocab_size;
    size_t nb = (data_n_windows(d) + (size_t)B - 1) / (size_t)B;
    if (max_batches > 0 && max_batches < nb) nb = max_batches;
    int32_t *in = malloc((size_t)B * T * sizeof *in), *tg = malloc((size_t)B * T * sizeof *tg);
    if (!in || !tg) {
        free(in);
        free(tg);
        errmsg_set(err, "out of memory");
        return -1;
    }
    double nll = 0, n = 0, correct = 0;
    ngram_score su = {0}, sb = {0};
    for (size_t b = 0; b < nb; b++) {
        data_batch(d, b, B, T, in, tg);
        float loss = transformer_forward(m, in, tg, B, T, 0, 0);
        int cnt = transformer_target_count(m);
        if (cnt == 0) continue;
        nll += (double)loss * cnt;
        n += cnt;
        const float *logits = transformer_logits(m);
        for (size_t i = 0; i < (size_t)B * T; i++) {
            if (tg[i] == TOK_PAD) continue;
            const float *row = logits + i * (size_t)V;
            int best = 0;
            for (int v = 1; v < V; v++)
                if (row[v] > row[best]) best = v;
            correct += best == tg[i];
        }
        if (g) {
            ngram_eval(g, 1, in, tg, (size_t)B * T, &su);
            ngram_eval(g, 2, in, tg, (size_t)B * T, &sb);
        }
    }
    free(in);
    free(tg);
    *model = score_of(nll, n, correct);
    *uni = score_of(su.nll_sum, su.n, su.correct);
    *bi = score_of(sb.nll_sum, sb.n, sb.correct);
    *n_targets = n;
    return 0;
}

/* ---- generation ---- */

typedef struct {
    int pieces, tokens;     /* generated */
    long grammar_errors;    /* raw sampling, before masking */
    double seconds;         /* wall time of all sampling */
    music_stats stats;      /* masked pieces */
} gen_result;

static int generate(const transformer *m, int pieces, int length, uint64_t seed, int quiet, gen_result *out,
                    char err[AURL_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    music_stats_acc acc;
    music_stats_acc_init(&acc);
    double t0 = clock_monotonic();
    for (int i = 0; i < pieces; i++) {
        sampler_settings s;
        sampler_settings_default(&s);
        s.max_tokens = length;
        s.min_tokens = length < 64 ? length / 2 : 64;
        s.seed = seed + (uint64_t)i;
        for (int masked = 0; masked <= 1; masked++) {
            s.grammar = masked;
            sampler_result r;
            if (sampler_generate(m, &s, NULL, 0, NULL, 0, NULL, NULL, &r, err) != 0) return -1;
            int rc = 0;
            if (!masked) {
                out->grammar_errors += r.grammar_errors;
                out->tokens += r.n_generated;
            } else {
                uint16_t *t16 = malloc(((size_t)r.n_tokens + 1) * sizeof *t16);
                if (!t16) rc = -1;
                for (int k = 0; t16 && k < r.n_tokens; k++)
                    t16[k] = r.tokens[k] >= 0 && r.tokens[k] < TOK_VOCAB_SIZE ? (uint16_t)r.tokens[k] : TOK_UNK;
                if (rc == 0) rc = music_stats_acc_add_tokens(&acc, t16, (size_t)r.n_tokens);
                free(t16);
            }
            sampler_result_free(&r);
            if (rc) {
                errmsg_set(err, "out of memory");
                return -1;
            }
        }
        out->pieces++;
        if (!quiet) log_info("eval: generated piece %d/%d", i + 1, pieces);
    }
    out->seconds = clock_monotonic() - t0;
    music_stats_acc_result(&acc, &out->stats);
    return 0;
}

/* ---- report ---- */

static cJSON *json_num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *json_score(const eval_score *s)
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

static void print_score_row(const char *name, const eval_score *s)
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

int eval_cmd_main(int argc, char **argv, const aurl_globals *g)
{
    static const struct option opts[] = {
        {"checkpoint", required_argument, 0, 'c'}, {"midi", required_argument, 0, 'm'},
        {"pieces", required_argument, 0, 'p'},     {"length", required_argument, 0, 'l'},
        {"seed", required_argument, 0, 's'},       {"batches", required_argument, 0, 'b'},
        {"json", no_argument, 0, 'j'},             {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *ckpt = NULL, *midi_dir = NULL;
    long pieces = 8, length = 512, seed = 1, batches = 0;
    int json = 0, bad = 0;
    optind = 1;
    opterr = 0;
    int c;
    while (!bad && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ckpt = optarg; break;
        case 'm': midi_dir = optarg; break;
        case 'p': pieces = (long)cli_int_option("eval", "--pieces", optarg, 0, 10000, &bad); break;
        case 'l': length = (long)cli_int_option("eval", "--length", optarg, 1, 1000000, &bad); break;
        case 's': seed = (long)cli_int_option("eval", "--seed", optarg, 0, 2147483647L, &bad); break;
        case 'b': batches = (long)cli_int_option("eval", "--batches", optarg, 1, 100000000L, &bad); break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "aurl eval: unknown or incomplete option '%s' (see aurl eval --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (bad) return 2;
    if (optind < argc) {
        fprintf(stderr, "aurl eval: unexpected argument '%s' (see aurl eval --help)\n", argv[optind]);
        return 2;
    }
    int quiet = g && g->quiet;
    const char *data_dir = g && g->data_dir ? g->data_dir : "data";
    const char *outputs = g && g->outputs_dir ? g->outputs_dir : "outputs";
    char err[AURL_ERR_LEN], picked[4096];
    if (!ckpt) {
        if (ckpt_pick_best(outputs, CKPT_PICK_TRANSFORMER, picked, sizeof picked, NULL, err) != 0) {
            fprintf(stderr, "aurl eval: %s\n", err);
            return 1;
        }
        ckpt = picked;
    } else if (!file_is_regular(ckpt)) {
        fprintf(stderr, "aurl eval: %s: checkpoint not found\n", ckpt);
        return 2;
    }

    /* the model */
    transformer *m = NULL;
    cJSON *meta = NULL;
    if (model_ckpt_load_new(ckpt, EVAL_BATCH, EVAL_MAX_T, &m, &meta, err) != 0) {
        fprintf(stderr, "aurl eval: %s\n", err);
        return 2;
    }
    const model_config *cfg = transformer_config(m);
    if (cfg->vocab_size != TOK_VOCAB_SIZE) {
        fprintf(stderr, "aurl eval: %s: vocabulary of %d tokens, this build uses %d\n", ckpt, cfg->vocab_size,
                TOK_VOCAB_SIZE);
        cJSON_Delete(meta);
        transformer_free(m);
        return 2;
    }
    int T = cfg->max_seq_len < EVAL_MAX_T ? cfg->max_seq_len : EVAL_MAX_T;
    double ck_stage = json_num_field(meta, "stage", -1), ck_step = json_num_field(meta, "step", -1);
    cJSON_Delete(meta);

    /* the data: the cache (baselines, and the val split unless --midi) */
    int rc = 0;
    cache *cch = NULL;
    ngram *gram = NULL;
    eval_data d;
    memset(&d, 0, sizeof d);
    if (cache_open(data_dir, &cch, err) != 0) {
        if (!midi_dir) {
            fprintf(stderr, "aurl eval: %s\naurl eval: build the token cache with `aurl data cache` (or evaluate "
                            "on a folder with --midi DIR)\n", err);
            rc = 1;
            goto done;
        }
        log_warn("eval: no usable token cache (%s): no unigram/bigram baselines", err);
        cch = NULL;
    }
    if (cch) {
        if (ngram_create(&gram, TOK_VOCAB_SIZE) != 0) {
            fprintf(stderr, "aurl eval: out of memory\n");
            rc = 1;
            goto done;
        }
        for (size_t i = 0; i < cache_n_entries(cch); i++) {
            const cache_entry *e = cache_entry_at(cch, i);
            if (e->split == CACHE_TRAIN) ngram_add_sequence(gram, e->tokens, e->n_tokens);
        }
    }
    rc = midi_dir ? load_midi_dir(&d, midi_dir, T, quiet, err) : load_val(&d, cch, T, err);
    if (rc) {
        fprintf(stderr, "aurl eval: %s\n", err);
        goto done;
    }

    if (!quiet)
        log_info("eval: %s: %zu files, %zu windows of %d tokens", d.label, d.n_seqs, data_n_windows(&d), T);
    eval_score sm, su, sb;
    double n_targets = 0;
    double t0 = clock_monotonic();
    if (score_windows(m, &d, gram, T, (size_t)batches, &sm, &su, &sb, &n_targets, err) != 0) {
        fprintf(stderr, "aurl eval: %s\n", err);
        rc = 1;
        goto done;
    }
    double eval_seconds = clock_monotonic() - t0;

    music_stats_acc dacc;
    music_stats_acc_init(&dacc);
    for (size_t i = 0; i < d.n_seqs; i++)
        if (music_stats_acc_add_tokens(&dacc, d.seqs[i].tokens, d.seqs[i].n) != 0) {
            fprintf(stderr, "aurl eval: out of memory\n");
            rc = 1;
            goto done;
        }
    music_stats dstats;
    music_stats_acc_result(&dacc, &dstats);

    gen_result gen;
    memset(&gen, 0, sizeof gen);
    music_stats_acc none;
    music_stats_acc_init(&none);
    music_stats_acc_result(&none, &gen.stats); /* what --pieces 0 reports */
    if (pieces > 0 && generate(m, (int)pieces, (int)length, (uint64_t)seed, quiet, &gen, err) != 0) {
        fprintf(stderr, "aurl eval: %s\n", err);
        rc = 1;
        goto done;
    }
    double grammar_rate = gen.tokens > 0 ? (double)gen.grammar_errors / gen.tokens : NAN;
    double pcd = gen.pieces > 0 ? music_stats_pc_distance(gen.stats.pc_hist, dstats.pc_hist) : NAN;

    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "checkpoint", ckpt);
        cJSON_AddItemToObject(o, "stage", json_num(ck_stage >= 0 ? ck_stage : NAN));
        cJSON_AddItemToObject(o, "step", json_num(ck_step >= 0 ? ck_step : NAN));
        cJSON_AddNumberToObject(o, "params", (double)transformer_n_params(m));
        cJSON *dj = cJSON_AddObjectToObject(o, "data");
        cJSON_AddStringToObject(dj, "source", midi_dir ? "midi" : "val");
        cJSON_AddStringToObject(dj, "label", d.label);
        cJSON_AddNumberToObject(dj, "files", (double)d.n_seqs);
        cJSON_AddNumberToObject(dj, "windows", (double)data_n_windows(&d));
        cJSON_AddNumberToObject(dj, "seq_len", T);
        cJSON_AddNumberToObject(dj, "targets", n_targets);
        cJSON_AddItemToObject(dj, "rejected", d.rejected ? cJSON_Duplicate(d.rejected, 1) : cJSON_CreateArray());
        cJSON_AddItemToObject(o, "model", json_score(&sm));
        cJSON *bj = cJSON_AddObjectToObject(o, "baselines");
        cJSON_AddItemToObject(bj, "unigram", json_score(&su));
        cJSON_AddItemToObject(bj, "bigram", json_score(&sb));
        cJSON *gj = cJSON_AddObjectToObject(o, "generation");
        cJSON_AddNumberToObject(gj, "pieces", gen.pieces);
        cJSON_AddNumberToObject(gj, "tokens", gen.tokens);
        cJSON_AddNumberToObject(gj, "grammar_errors", (double)gen.grammar_errors);
        cJSON_AddItemToObject(gj, "grammar_error_rate", json_num(grammar_rate));
        cJSON_AddNumberToObject(gj, "seconds", gen.seconds);
        cJSON_AddItemToObject(gj, "stats", json_stats(&gen.stats));
        cJSON_AddItemToObject(gj, "pitch_class_distance", json_num(pcd));
        cJSON_AddItemToObject(o, "data_stats", json_stats(&dstats));
        cJSON_AddNumberToObject(o, "eval_seconds", eval_seconds);
        char *s = cJSON_PrintUnformatted(o);
        if (s) printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
    } else {
        printf("checkpoint  %s", ckpt);
        if (ck_stage >= 0) printf(" (stage %.0f, step %.0f)", ck_stage, ck_step);
        printf(", %.2fM parameters\n", transformer_n_params(m) / 1e6);
        printf("data        %s: %zu files, %zu windows of %d tokens, %.0f targets\n", d.label, d.n_seqs,
               data_n_windows(&d), T, n_targets);
        for (int i = 0; d.rejected && i < cJSON_GetArraySize(d.rejected); i++) {
            const cJSON *r = cJSON_GetArrayItem(d.rejected, i);
            printf("  rejected  %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(r, "reason")));
        }
        printf("\n  %-18s %10s %12s %10s\n", "next token", "nats/token", "perplexity", "accuracy");
        print_score_row("model", &sm);
        print_score_row("bigram baseline", &sb);
        print_score_row("unigram baseline", &su);
        if (gen.pieces > 0) {
            printf("\ngenerated   %d pieces x %ld tokens (top-p 0.9, seed %ld) in %.1f s; grammar errors before "
                   "masking: %ld of %d tokens (%.2f%%)\n\n",
                   gen.pieces, length, seed, gen.seconds, gen.grammar_errors, gen.tokens, 100 * grammar_rate);
            print_stats_table(&gen.stats, &dstats, pcd);
        }
    }

done:
    data_free(&d);
    ngram_free(gram);
    cache_close(cch);
    transformer_free(m);
    return rc;
}
