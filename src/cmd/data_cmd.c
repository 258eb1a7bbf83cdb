/* data_cmd: option parsing and output of `aurl data fetch|cache|stats|show`. */
#include "cmd/data_cmd.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/progress_out.h"
#include "data/cache.h"
#include "data/dataset.h"
#include "data/fetch.h"
#include "data/midi_worker.h"
#include "data/midi_write.h"
#include "data/smf_sanitize.h"
#include "data/tokenizer.h"
#include "cmd/cli.h"
#include "util/fileio.h"
#include "util/log.h"

#define NAMES_PER_REASON 10 /* text output lists at most this many files per reject reason */

static const char USAGE[] =
    "usage: aurl data <command> [options]\n"
    "\n"
    "commands:\n"
    "  fetch                  sample MIDI from Debian packages into <data>/midi/\n"
    "  cache [--jobs N]       build/refresh the token cache in <data>/cache/\n"
    "  stats [--json]         files, tokens, durations, splits, rejected files with reasons\n"
    "  show FILE [--export OUT.mid] [--limit N]\n"
    "                         summary and token dump of one MIDI file\n"
    "\n"
    "Run `aurl data <command> --help` for a command's options.\n";

static const char USAGE_FETCH[] =
    "usage: aurl data fetch [-q]\n"
    "Downloads the Debian packages openttd-openmsx and mma with `apt-get download`\n"
    "(no root needed), unpacks them and copies their MIDI files into\n"
    "<data>/midi/<package>/ with the package's copyright as COPYRIGHT.\n"
    "Re-running leaves identical files untouched.\n";

static const char USAGE_CACHE[] =
    "usage: aurl data cache [--jobs N] [-q]\n"
    "Scans <data>/midi recursively, parses new or changed files in isolated worker\n"
    "processes (N at once, default: number of cores) and writes <data>/cache/\n"
    "(tokens.bin + index.json). Unchanged files are not parsed again.\n";

static const char USAGE_STATS[] =
    "usage: aurl data stats [--json]\n"
    "Summarises the token cache: files accepted/rejected (with reasons), train/val\n"
    "split, tokens, hours of music, token-type histogram and unigram entropy.\n";

static const char USAGE_SHOW[] =
    "usage: aurl data show FILE [--export OUT.mid] [--limit N] [--tokenizer v1|v2]\n"
    "Reads FILE (or <data>/midi/FILE) in an isolated worker and prints its summary and\n"
    "token dump (at most N lines, default 200, 0 = all) in the vocabulary models read\n"
    "(--tokenizer, default v2: a DURATION after each NOTE_ON; v1: NOTE_OFF tokens).\n"
    "--export writes decode(encode(FILE)) as MIDI so you can hear what the tokenizer keeps.\n";

/* Bad usage: one line naming the problem, a pointer to --help, exit 2.
 * USAGE is the text of the command concerned (its first line is shown). */
static int usage_error(const char *usage, const char *fmt, const char *arg)
{
    fprintf(stderr, "aurl data: ");
    fprintf(stderr, fmt, arg);
    const char *nl = strchr(usage, '\n');
    fprintf(stderr, "\n%.*s\n(--help for details)\n", (int)(nl ? nl - usage : 0), usage);
    return AURL_EXIT_USAGE;
}

/* ---------- fetch ---------- */

/* fetch_packages' report hook: what it is doing, and each package installed. */
static void show_fetch_event(const fetch_event *ev, void *user)
{
    (void)user;
    if (ev->kind == FETCH_EVENT_DOWNLOADING) {
        log_info("downloading %zu Debian package(s) with apt-get", ev->n_packages);
    } else {
        const fetch_result *one = ev->result;
        printf("fetch: %s: %zu MIDI files (%zu written, %zu unchanged) in %s/%s\n", ev->package, one->n_found,
               one->n_written, one->n_unchanged, ev->midi_dir, ev->package);
    }
}

static int cmd_fetch(int argc, char **argv, const aurl_globals *g)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'}, {"quiet", no_argument, 0, 'q'}, {0, 0, 0, 0}};
    int quiet = g->quiet, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        if (c == 'h') return fputs(USAGE_FETCH, stdout), AURL_EXIT_OK;
        if (c == 'q') quiet = 1;
        else return usage_error(USAGE_FETCH, "fetch: unknown option %s", argv[optind - 1]);
    }
    if (optind < argc) return usage_error(USAGE_FETCH, "fetch: unexpected argument %s", argv[optind]);
    static const char *const pkgs[] = FETCH_PACKAGES;
    char err[AURL_ERR_LEN];
    fetch_result r;
    fetch_opts fo = {.tool_output = !quiet, .on_event = quiet ? NULL : show_fetch_event};
    if (fetch_packages(g->data_dir, pkgs, sizeof pkgs / sizeof *pkgs, &fo, &r, err)) {
        fprintf(stderr, "aurl data fetch: %s\n", err);
        return AURL_EXIT_RUNTIME;
    }
    if (!quiet)
        printf("fetch: %zu MIDI files in %s/midi (%zu written, %zu unchanged)\n", r.n_found,
               g->data_dir, r.n_written, r.n_unchanged);
    return AURL_EXIT_OK;
}

/* ---------- cache ---------- */

static int cmd_cache(int argc, char **argv, const aurl_globals *g)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"jobs", required_argument, 0, 'j'},
                                         {0, 0, 0, 0}};
    int quiet = g->quiet, c;
    long long jobs = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hqj:", opts, NULL)) != -1) {
        if (c == 'h') return fputs(USAGE_CACHE, stdout), AURL_EXIT_OK;
        if (c == 'q') quiet = 1;
        else if (c == 'j') {
            if (cli_parse_int(optarg, 1, 1024, &jobs))
                return usage_error(USAGE_CACHE, "cache: --jobs needs a number 1..1024, got %s", optarg);
        } else if (c == ':') {
            return usage_error(USAGE_CACHE, "cache: %s needs a value", argv[optind - 1]);
        } else {
            return usage_error(USAGE_CACHE, "cache: unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error(USAGE_CACHE, "cache: unexpected argument %s", argv[optind]);
    char err[AURL_ERR_LEN];
    progress_out out;
    progress_out_init(&out, quiet);
    if (cache_build_ex(g->data_dir, (int)jobs, progress_out_cache, &out, NULL, err)) {
        fprintf(stderr, "aurl data cache: %s\n", err);
        return AURL_EXIT_RUNTIME;
    }
    return AURL_EXIT_OK;
}

/* ---------- stats ---------- */

static int cmp_reason(const void *a, const void *b)
{
    const cache_entry *x = *(const cache_entry *const *)a, *y = *(const cache_entry *const *)b;
    int r = strcmp(x->reject_reason, y->reject_reason);
    return r ? r : strcmp(x->path, y->path);
}

typedef struct {
    size_t n_files, n_train, n_val, n_rejected, n_tokens;
    double seconds;
    size_t type_counts[TOKT_COUNT];
    double entropy_bits;
    const cache_entry **rejected; /* sorted by (reason, path) */
} data_stats;

static int compute_stats(const cache *c, data_stats *s)
{
    memset(s, 0, sizeof *s);
    s->n_files = cache_n_entries(c);
    s->rejected = malloc((s->n_files ? s->n_files : 1) * sizeof *s->rejected);
    if (!s->rejected) return -1;
    for (size_t i = 0; i < s->n_files; i++) {
        const cache_entry *e = cache_entry_at(c, i);
        if (e->split == CACHE_REJECTED) {
            s->rejected[s->n_rejected++] = e;
            continue;
        }
        if (e->split == CACHE_VAL) s->n_val++;
        else s->n_train++;
        s->n_tokens += e->n_tokens;
        s->seconds += e->duration;
    }
    qsort(s->rejected, s->n_rejected, sizeof *s->rejected, cmp_reason);
    uint64_t counts[TOK_VOCAB_SIZE];
    dataset_token_counts(c, CACHE_REJECTED /* = every accepted file */, counts);
    for (int t = 0; t < TOK_VOCAB_SIZE; t++) {
        s->type_counts[tok_type_of((uint16_t)t)] += (size_t)counts[t];
        double p = s->n_tokens ? (double)counts[t] / (double)s->n_tokens : 0;
        if (p > 0) s->entropy_bits -= p * log2(p);
    }
    return 0;
}

static double pct(size_t a, size_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

static void print_stats_text(const data_stats *s, const char *data_dir)
{
    size_t acc = s->n_train + s->n_val;
    printf("cache:      %s/cache\n", data_dir);
    printf("files:      %zu (%zu accepted, %zu rejected)\n", s->n_files, acc, s->n_rejected);
    printf("split:      %zu train, %zu val\n", s->n_train, s->n_val);
    printf("tokens:     %zu (mean %.1f per accepted file)\n", s->n_tokens,
           acc ? (double)s->n_tokens / (double)acc : 0.0);
    printf("music:      %.3f hours\n", s->seconds / 3600.0);
    printf("entropy:    %.4f bits/token (%.4f nats) unigram\n", s->entropy_bits,
           s->entropy_bits * log(2.0));
    printf("token types:\n");
    for (int t = 0; t < TOKT_COUNT; t++) /* the cache is vocabulary v1: no DURATIONs */
        if (t != TOKT_DURATION)
            printf("  %-12s %10zu  %5.1f%%\n", tok_type_name((tok_type)t), s->type_counts[t],
               pct(s->type_counts[t], s->n_tokens));
    if (s->n_rejected) printf("rejected files:\n");
    for (size_t i = 0; i < s->n_rejected;) {
        size_t j = i;
        while (j < s->n_rejected && strcmp(s->rejected[j]->reject_reason, s->rejected[i]->reject_reason) == 0) j++;
        printf("  %zu x %s\n", j - i, s->rejected[i]->reject_reason);
        for (size_t k = i; k < j && k < i + NAMES_PER_REASON; k++) printf("      %s\n", s->rejected[k]->path);
        if (j - i > NAMES_PER_REASON) printf("      ... and %zu more\n", j - i - NAMES_PER_REASON);
        i = j;
    }
}

static int print_stats_json(const data_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return -1;
    size_t acc = s->n_train + s->n_val;
    cJSON_AddNumberToObject(o, "files", (double)s->n_files);
    cJSON_AddNumberToObject(o, "accepted", (double)acc);
    cJSON_AddNumberToObject(o, "rejected", (double)s->n_rejected);
    cJSON_AddNumberToObject(o, "train_files", (double)s->n_train);
    cJSON_AddNumberToObject(o, "val_files", (double)s->n_val);
    cJSON_AddNumberToObject(o, "tokens", (double)s->n_tokens);
    cJSON_AddNumberToObject(o, "hours", s->seconds / 3600.0);
    cJSON_AddNumberToObject(o, "mean_tokens_per_file", acc ? (double)s->n_tokens / (double)acc : 0.0);
    cJSON_AddNumberToObject(o, "entropy_bits", s->entropy_bits);
    cJSON_AddNumberToObject(o, "entropy_nats", s->entropy_bits * log(2.0));
    cJSON *types = cJSON_AddObjectToObject(o, "token_types");
    for (int t = 0; t < TOKT_COUNT && types; t++) {
        if (t == TOKT_DURATION) continue; /* the cache is vocabulary v1 */
        cJSON *ty = cJSON_AddObjectToObject(types, tok_type_name((tok_type)t));
        if (!ty) break;
        cJSON_AddNumberToObject(ty, "count", (double)s->type_counts[t]);
        cJSON_AddNumberToObject(ty, "percent", pct(s->type_counts[t], s->n_tokens));
    }
    cJSON *reasons = cJSON_AddArrayToObject(o, "rejected_reasons");
    for (size_t i = 0; i < s->n_rejected && reasons;) {
        size_t j = i;
        while (j < s->n_rejected && strcmp(s->rejected[j]->reject_reason, s->rejected[i]->reject_reason) == 0) j++;
        cJSON *r = cJSON_CreateObject(), *files = cJSON_CreateArray();
        if (!r || !files) {
            cJSON_Delete(r);
            cJSON_Delete(files);
            break;
        }
        cJSON_AddStringToObject(r, "reason", s->rejected[i]->reject_reason);
        cJSON_AddNumberToObject(r, "count", (double)(j - i));
        for (size_t k = i; k < j; k++) cJSON_AddItemToArray(files, cJSON_CreateString(s->rejected[k]->path));
        cJSON_AddItemToObject(r, "files", files);
        cJSON_AddItemToArray(reasons, r);
        i = j;
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return -1;
    printf("%s\n", text);
    free(text);
    return 0;
}

static int cmd_stats(int argc, char **argv, const aurl_globals *g)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'}, {"json", no_argument, 0, 'J'}, {0, 0, 0, 0}};
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') return fputs(USAGE_STATS, stdout), AURL_EXIT_OK;
        if (c == 'J') json = 1;
        else return usage_error(USAGE_STATS, "stats: unknown option %s", argv[optind - 1]);
    }
    if (optind < argc) return usage_error(USAGE_STATS, "stats: unexpected argument %s", argv[optind]);
    char err[AURL_ERR_LEN];
    cache *ca;
    if (cache_open(g->data_dir, &ca, err)) {
        fprintf(stderr, "aurl data stats: %s (run `aurl data cache` to build it)\n", err);
        return AURL_EXIT_RUNTIME;
    }
    data_stats s;
    int rc = compute_stats(ca, &s);
    if (rc == 0) {
        if (json) rc = print_stats_json(&s);
        else print_stats_text(&s, g->data_dir);
    }
    if (rc) fprintf(stderr, "aurl data stats: out of memory\n");
    free(s.rejected);
    cache_close(ca);
    return rc ? AURL_EXIT_RUNTIME : AURL_EXIT_OK;
}

/* ---------- show ---------- */

static void print_score_summary(const score *s, const smf_report *rep)
{
    printf("smf:         format %d, %d tracks, division %d, %ld events\n", rep->format,
           rep->tracks, rep->division, rep->events);
    printf("repairs:     %d%s%s\n", rep->repairs, rep->repairs ? " — " : "",
           rep->repairs ? rep->repair_summary : "");
    double dur = score_duration(s);
    printf("notes:       %zu\n", s->n_notes);
    printf("duration:    %d:%04.1f (%.2f s)\n", (int)(dur / 60), fmod(dur, 60.0), dur);
    size_t per[SCORE_N_INSTRUMENTS] = {0};
    for (size_t i = 0; i < s->n_notes; i++) per[s->notes[i].instrument % SCORE_N_INSTRUMENTS]++;
    printf("instruments:");
    const char *sep = " ";
    for (int f = 0; f < SCORE_N_INSTRUMENTS; f++) {
        if (!per[f]) continue;
        char name[64];
        tok_name((uint16_t)(TOK_INSTRUMENT + f), name, sizeof name);
        const char *n = strncmp(name, "INSTRUMENT ", 11) == 0 ? name + 11 : name;
        printf("%s%s: %zu notes", sep, n, per[f]);
        sep = "; ";
    }
    printf("%s\n", s->n_notes ? "" : " none");
    if (s->n_tempos == 0) {
        printf("tempo:       none given (120 BPM)\n");
    } else {
        double lo = s->tempos[0].bpm, hi = lo;
        for (size_t i = 1; i < s->n_tempos; i++) {
            lo = fmin(lo, s->tempos[i].bpm);
            hi = fmax(hi, s->tempos[i].bpm);
        }
        printf("tempo:       %.1f BPM at start, %zu change(s), range %.1f..%.1f BPM\n",
               s->tempos[0].bpm, s->n_tempos - 1, lo, hi);
    }
    printf("sustain:     %zu pedal events\n", s->n_sustains);
}

/* The token dump of TOK (vocabulary VOCAB): counts by type, then up to LIMIT lines. */
static void print_tokens(const uint16_t *tok, size_t n, int vocab, long long limit)
{
    size_t per[TOKT_COUNT] = {0};
    for (size_t i = 0; i < n; i++) per[tok_type_of_vocab(tok[i], vocab)]++;
    printf("tokens:      %zu in vocabulary %s (", n, tok_vocab_name(vocab));
    for (int t = 0, first = 1; t < TOKT_COUNT; t++) {
        if ((t == TOKT_NOTE_OFF && vocab == TOK_VOCAB_V2) || (t == TOKT_DURATION && vocab != TOK_VOCAB_V2)) continue;
        printf("%s%s %zu", first ? "" : ", ", tok_type_name((tok_type)t), per[t]);
        first = 0;
    }
    printf(")\n\n    #     time s    id  token\n");
    double time = 0;
    size_t shown = limit > 0 && (size_t)limit < n ? (size_t)limit : n;
    for (size_t i = 0; i < shown; i++) {
        char name[64];
        tok_name_vocab(tok[i], vocab, name, sizeof name);
        printf("%5zu  %9.3f  %4u  %s\n", i, time, tok[i], name);
        if (tok[i] >= TOK_TIME_SHIFT && tok[i] < TOK_VELOCITY)
            time += (double)(tok[i] - TOK_TIME_SHIFT + 1) / TOK_STEPS_PER_SECOND;
    }
    if (shown < n) printf("... %zu more tokens (--limit 0 shows all)\n", n - shown);
}

/* FILE as given, else relative to <data>/midi. */
static int resolve_midi_path(const char *file, const char *data_dir, char *out, size_t len)
{
    if (file_is_regular(file)) return snprintf(out, len, "%s", file) < (int)len ? 0 : -1;
    if (snprintf(out, len, "%s/midi/%s", data_dir, file) >= (int)len) return -1;
    return file_is_regular(out) ? 0 : -1;
}

static int cmd_show(int argc, char **argv, const aurl_globals *g)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                         {"export", required_argument, 0, 'e'},
                                         {"limit", required_argument, 0, 'n'},
                                         {"tokenizer", required_argument, 0, 't'},
                                         {0, 0, 0, 0}};
    const char *export_path = NULL;
    long long limit = 200;
    int vocab = TOK_VOCAB_V2;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":he:n:t:", opts, NULL)) != -1) {
        if (c == 'h') return fputs(USAGE_SHOW, stdout), AURL_EXIT_OK;
        if (c == 'e') export_path = optarg;
        else if (c == 't') {
            if ((vocab = tok_vocab_parse(optarg)) < 0)
                return usage_error(USAGE_SHOW, "show: --tokenizer must be v1 or v2, got %s", optarg);
        }
        else if (c == 'n') {
            if (cli_parse_int(optarg, 0, 1LL << 40, &limit))
                return usage_error(USAGE_SHOW, "show: --limit needs a number >= 0, got %s", optarg);
        } else if (c == ':') {
            return usage_error(USAGE_SHOW, "show: %s needs a value", argv[optind - 1]);
        } else {
            return usage_error(USAGE_SHOW, "show: unknown option %s", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return usage_error(USAGE_SHOW, "show: %s", optind >= argc ? "FILE is required" : "exactly one FILE expected");
    const char *file = argv[optind];
    char path[4096], err[AURL_ERR_LEN];
    if (resolve_midi_path(file, g->data_dir, path, sizeof path)) {
        fprintf(stderr, "aurl data show: %s: no such file (also looked in %s/midi)\n", file, g->data_dir);
        return AURL_EXIT_USAGE;
    }
    /* The sanitiser is our own bounds-checked parser: safe in-process, and the
     * only source of the repair report. */
    smf_limits lim;
    smf_limits_default(&lim);
    smf_report rep;
    memset(&rep, 0, sizeof rep);
    unsigned char *bytes;
    size_t nbytes;
    if (file_read_all(path, lim.max_bytes, &bytes, &nbytes, err)) {
        fprintf(stderr, "aurl data show: %s\n", err);
        return AURL_EXIT_USAGE;
    }
    uint8_t *canon = NULL;
    size_t ncanon;
    int bad = smf_sanitize(bytes, nbytes, &lim, &canon, &ncanon, &rep, err);
    free(bytes);
    free(canon);
    score s;
    score_init(&s);
    if (bad) {
        fprintf(stderr, "aurl data show: %s: rejected: %s\n", path, err);
        return AURL_EXIT_USAGE;
    }
    if (midi_read_isolated(path, &s, err)) { /* err names the file */
        fprintf(stderr, "aurl data show: rejected: %s\n", err);
        return AURL_EXIT_USAGE;
    }
    uint16_t *tok = NULL;
    size_t ntok = 0;
    int rc = AURL_EXIT_OK;
    if (tok_encode_vocab(&s, vocab, &tok, &ntok)) {
        fprintf(stderr, "aurl data show: %s: out of memory while tokenising\n", path);
        rc = AURL_EXIT_RUNTIME;
        goto out;
    }
    score rt; /* what the tokenizer keeps: decode(encode(s)) */
    score_init(&rt);
    if (tok_decode_vocab(tok, ntok, vocab, &rt)) {
        fprintf(stderr, "aurl data show: out of memory while decoding\n");
        score_free(&rt);
        rc = AURL_EXIT_RUNTIME;
        goto out;
    }
    printf("file:        %s (%zu bytes)\n", path, nbytes);
    print_score_summary(&s, &rep);
    printf("round trip:  %zu of %zu notes kept by the tokenizer\n", rt.n_notes, s.n_notes);
    print_tokens(tok, ntok, vocab, limit);
    if (export_path) {
        if (midi_write_file(export_path, &rt, err)) {
            fprintf(stderr, "aurl data show: %s\n", err);
            rc = AURL_EXIT_RUNTIME;
        } else {
            printf("exported the tokenizer round trip (%zu notes) to %s\n", rt.n_notes, export_path);
        }
    }
    score_free(&rt);
out:
    free(tok);
    score_free(&s);
    return rc;
}

int data_cmd_main(int argc, char **argv, const aurl_globals *g)
{
    aurl_globals local = *g;
    if (!local.data_dir) local.data_dir = "data";
    if (argc < 2) {
        fputs(USAGE, stderr);
        return AURL_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(USAGE, stdout);
        return AURL_EXIT_OK;
    }
    if (strcmp(sub, "fetch") == 0) return cmd_fetch(argc - 1, argv + 1, &local);
    if (strcmp(sub, "cache") == 0) return cmd_cache(argc - 1, argv + 1, &local);
    if (strcmp(sub, "stats") == 0) return cmd_stats(argc - 1, argv + 1, &local);
    if (strcmp(sub, "show") == 0) return cmd_show(argc - 1, argv + 1, &local);
    return usage_error(USAGE, "unknown command \"%s\"", sub);
}
