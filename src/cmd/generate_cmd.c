/* generate_cmd: `aurl generate`: load a checkpoint (default: ckpt_pick_best),
 * optionally tokenise a primer MIDI file, sample pieces with the sampler
 * (--count N: up to 16 pieces decoded together as one batch, piece i with
 * seed S+i and the same tokens as alone), and write each as a .mid plus a
 * .json sidecar (settings, checkpoint, token and note counts, duration,
 * timing, grammar errors) under
 * <outputs>/generated/ (or --out).
 * VAE mode (a stage-3 checkpoint, engine/vae_sample): z from the prior, or
 * with --interpolate A B --steps N the posterior means of A's and B's first
 * windows and N+1 points between them (slerp; --lerp for linear), each
 * decoded over one window of T tokens. A transformer-mode run whose
 * checkpoint turns out to be stage 3 samples it from the prior too (its
 * decoder was trained with the latent conditioning).
 * The sidecar's layout belongs to engine/sample/gen_sidecar.
 * Exit codes: AURL_EXIT_OK, AURL_EXIT_RUNTIME (no checkpoint yet, no
 * stage-3 checkpoint for --mode vae, write errors), AURL_EXIT_USAGE (bad
 * usage or input). */
#include "cmd/generate_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/midi_worker.h"
#include "data/midi_write.h"
#include "engine/train/train_sample.h"
#include "data/tokenizer.h"
#include "engine/train/ckpt_pick.h"
#include "engine/model/model_ckpt.h"
#include "engine/sample/gen_sidecar.h"
#include "engine/sample/note_limits.h"
#include "engine/sample/sampler.h"
#include "engine/sample/vae_sample.h"
#include "engine/model/vaegan.h"
#include "cmd/cli.h"
#include "util/fileio.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: aurl generate [--mode transformer|vae] [--strategy greedy|temperature|top_k|top_p|beam]\n"
            "                     [--temperature T] [--top-k K] [--top-p P] [--beams N] [--length-penalty A]\n"
            "                     [--repetition-penalty R] [--length N] [--seconds S] [--min-tokens N]\n"
            "                     [--note-limits data|flat] [--note-age-bias B] [--max-note-seconds S]\n"
            "                     [--mask M] [--no-grammar] [--prime FILE.mid] [--seed S] [--precision P]\n"
            "                     [--checkpoint F] [--out FILE.mid] [--count N] [--json] [--progress]\n"
            "                     [--interpolate A.mid B.mid] [--steps N] [--lerp]\n\n"
            "Sample music from a trained model (KV-cached decoding, grammar-masked so every\n"
            "piece decodes to well-formed MIDI). Writes <outputs>/generated/<checkpoint>_<strategy>_s<seed>.mid\n"
            "(never overwriting: _2, _3, ... are appended) and a .json sidecar beside it.\n\n"
            "  --strategy S          default top_p. top_p, top_k and temperature sample: they make music\n"
            "                        like the data. greedy (argmax) and beam (the likeliest sequence)\n"
            "                        maximise likelihood, and on music the likeliest continuation is\n"
            "                        repetition (few pitches, one voice): use them to continue a --prime\n"
            "                        conservatively or to study what the model finds most probable. Both\n"
            "                        keep the data's note limits, may not rest longer than 90%% of the data's\n"
            "                        gaps between onsets and, with --seconds, may not end early;\n"
            "                        beam draws each beam's candidates from the tempered distribution\n"
            "                        (so --seed matters) and keeps the likeliest\n"
            "  --temperature T       > 0, default 0.9 (temperature, top_k, top_p)\n"
            "  --top-k K             default 40      --top-p P   (0,1], default 0.9\n"
            "  --beams N             beam search width, default 4\n"
            "  --length-penalty A    beam score = log-prob / length^A, default 1.0\n"
            "  --repetition-penalty R  >= 1 (CTRL-style on the last 64 tokens), default 1 (off)\n"
            "  --length N            tokens to generate, default 1024\n"
            "  --seconds S           also stop once the music reaches S seconds\n"
            "  --min-tokens N        no END before N generated tokens, default 64\n"
            "  --note-limits L       data (default): each instrument family's notes are closed at the\n"
            "                        length 99%% of the data's notes stay under, no more notes sound at once\n"
            "                        than 99%% of the data's onsets see, and a note older than its family's\n"
            "                        median length grows likelier to end (from the token cache);\n"
            "                        flat: every note is closed after --max-note-seconds, nothing else\n"
            "  --note-age-bias B     how fast an old note's NOTE_OFF grows likelier (logits per doubling\n"
            "                        of its age past the median), default 0.5; 0 turns it off\n"
            "  --max-note-seconds S  flat limit: notes are closed after S seconds, default 8\n"
            "  --mask M              how the grammar mask applies: typed (default: each token type keeps\n"
            "                        the model's mass for it, and a NOTE_OFF meant for a note on another\n"
            "                        instrument is routed there), plain (forbidden tokens removed, the\n"
            "                        rest renormalised), raw (no mask)\n"
            "  --no-grammar          the same as --mask raw: the model's own tokens (errors are counted)\n"
            "  --prime FILE.mid      continue FILE (its tokens are the prefix; long files keep their end)\n"
            "  --seed S              default 1; piece i of --count uses S+i\n"
            "  --precision P         the KV cache and decode weights: bf16 (half the bytes a token reads),\n"
            "                        fp32, or auto (default: bf16 where the CPU has AVX512_BF16, else fp32)\n"
            "  --checkpoint F        default: the best transformer checkpoint of the latest stage (1-2);\n"
            "                        with --mode vae the stage-3 one\n"
            "  --out FILE.mid        output path (with --count N: FILE_1.mid ...)\n"
            "  --count N             pieces to generate, default 1\n"
            "  --json                print each sidecar as one JSON line on stdout\n"
            "  --progress            print 'progress <done> <total>' lines to stderr\n"
            "\nVAE mode (needs a stage-3 checkpoint, `aurl train --stage 3`):\n"
            "  --mode vae            z ~ N(0, I) from the seed, decoded over one window of the\n"
            "                        model (at most T-1 tokens): <checkpoint>_vae_<strategy>_s<seed>.mid\n"
            "  --interpolate A.mid B.mid  encode the first window of A and of B (posterior means)\n"
            "                        and decode N+1 points between them (t = 0, 1/N, ..., 1, one\n"
            "                        seed for all): <checkpoint>_interp_<A>_<B>_<i>of<N>_s<seed>.mid\n"
            "  --steps N             interpolation steps, default 8\n"
            "  --lerp                interpolate linearly (default: spherical, slerp, which keeps\n"
            "                        the norm typical of the prior between the two ends)\n");
}

static double parse_num(const char *opt, const char *val, double min, double max, int *bad)
{
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (!*val || *end || errno || !isfinite(v) || v < min || v > max) {
        fprintf(stderr, "aurl generate: %s: expected a number in [%g, %g], got '%s'\n", opt, min, max, val);
        *bad = 1;
    }
    return v;
}

typedef struct {
    int progress;
    int done_before, total;
} progress_ctx;

static int on_progress(void *ctx, int generated, int total)
{
    progress_ctx *p = ctx;
    (void)total;
    if (p->progress) {
        fprintf(stderr, "progress %d %d\n", p->done_before + generated, p->total);
        fflush(stderr);
    }
    return 0;
}

/* Stem of a path: basename without its extension. */
static void path_stem(const char *path, char *out, size_t len)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, len, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

/* Output path of piece i: --out (numbered when count > 1) or a fresh
 * <outputs>/generated/<stem>.mid (_2, _3, ... when taken). Returns 0 or -1
 * (err set). */
static int output_path(const char *outputs_dir, const char *out_opt, int count, int i, const char *stem, char *path,
                       size_t len, char err[AURL_ERR_LEN])
{
    if (out_opt) {
        if (count == 1) {
            snprintf(path, len, "%s", out_opt);
        } else {
            char base[4096];
            snprintf(base, sizeof base, "%s", out_opt);
            char *dot = strrchr(base, '.'), *slash = strrchr(base, '/');
            const char *ext = ".mid";
            if (dot && (!slash || dot > slash)) {
                ext = out_opt + (dot - base);
                *dot = '\0';
            }
            if ((size_t)snprintf(path, len, "%s_%d%s", base, i + 1, ext) >= len) goto toolong;
        }
        char parent[4096];
        snprintf(parent, sizeof parent, "%s", path);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            if (file_mkdirs(parent, err)) return -1;
        }
        return 0;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/generated", outputs_dir);
    if (file_mkdirs(dir, err)) return -1;
    for (int k = 1; k < 100000; k++) {
        int n = k == 1 ? snprintf(path, len, "%s/%s.mid", dir, stem) : snprintf(path, len, "%s/%s_%d.mid", dir, stem, k);
        if ((size_t)n >= len) goto toolong;
        if (!file_is_regular(path) && !file_is_dir(path)) return 0;
    }
    errmsg_set(err, "%s: too many generated files with this name", dir);
    return -1;
toolong:
    errmsg_set(err, "output path too long");
    return -1;
}

typedef struct {
    const char *mode, *prime, *out, *checkpoint, *interp_a, *interp_b;
    int count, json, progress, steps, length_given, count_given, steps_given, lerp, mode_given;
    int flat_limits;  /* --note-limits flat, or --max-note-seconds given */
    sampler_settings s;
} gen_opts;

/* Sidecar path: the .mid path with .json in place of its extension. */
static void sidecar_path(const char *midi, char *out, size_t len)
{
    snprintf(out, len, "%s", midi);
    char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash)) *dot = '\0';
    size_t n = strlen(out);
    if (n + 6 <= len) memcpy(out + n, ".json", 6);
}

/* The tokens of a MIDI file in vocabulary VOCAB (START ... END; read in the
 * isolated reader). */
static int read_tokens(const char *path, int vocab, uint16_t **tok, size_t *n, char err[AURL_ERR_LEN])
{
    score s;
    score_init(&s);
    if (midi_read_isolated(path, &s, err)) return -1;
    *tok = NULL;
    *n = 0;
    int rc = tok_encode_vocab(&s, vocab, tok, n);
    score_free(&s);
    if (rc) {
        errmsg_set(err, "%s: out of memory while tokenising", path);
        return -1;
    }
    return 0;
}

/* Primer tokens (without START/END), the last part that fits the model. */
static int read_primer(const char *path, int vocab, int max_keep, int32_t **out, int *n_out, char err[AURL_ERR_LEN])
{
    uint16_t *tok = NULL;
    size_t n = 0;
    if (read_tokens(path, vocab, &tok, &n, err)) return -1;
    int body = n >= 2 ? (int)n - 2 : 0; /* without START and END */
    int keep = body < max_keep ? body : max_keep;
    if (keep < body)
        fprintf(stderr, "aurl generate: note: %s has %d tokens; the continuation follows its last %d (the model's context)\n",
                path, body, keep);
    *out = malloc((size_t)(keep > 0 ? keep : 1) * sizeof(int32_t));
    if (!*out) {
        free(tok);
        errmsg_set(err, "%s: out of memory", path);
        return -1;
    }
    for (int i = 0; i < keep; i++) (*out)[i] = tok[1 + body - keep + i];
    *n_out = keep;
    free(tok);
    return 0;
}

/* The options' combinations, after parsing (--interpolate implies --mode
 * vae; --seconds alone sets a token budget). 0, or -1 (message printed). */
static int check_opts(gen_opts *o)
{
    int bad = 0;
    /* --interpolate implies --mode vae (an explicit --mode transformer is refused) */
    if (o->interp_a && !strcmp(o->mode, "transformer") && o->mode_given) {
        fprintf(stderr, "aurl generate: --interpolate needs --mode vae\n");
        bad = 1;
    }
    if (o->interp_a) o->mode = "vae";
    if (!bad && (o->steps_given || o->lerp) && !o->interp_a) {
        fprintf(stderr, "aurl generate: --steps and --lerp go with --interpolate A.mid B.mid\n");
        bad = 1;
    }
    if (!bad && o->interp_a && o->count_given) {
        fprintf(stderr, "aurl generate: --interpolate writes --steps + 1 pieces; --count does not apply\n");
        bad = 1;
    }
    if (!bad && o->prime && !strcmp(o->mode, "vae")) {
        fprintf(stderr, "aurl generate: --prime is for transformer mode (VAE mode decodes a latent z)\n");
        bad = 1;
    }
    /* --seconds alone: a token budget generous for that much music (~200 tokens/s) */
    if (!bad && o->s.max_seconds > 0 && !o->length_given) {
        double budget = o->s.max_seconds * 200.0;
        o->s.max_tokens = budget < 1024 ? 1024 : budget > 1000000 ? 1000000 : (int)budget;
    }
    char err[AURL_ERR_LEN];
    if (!bad && sampler_settings_validate(&o->s, err)) {
        fprintf(stderr, "aurl generate: %s\n", err);
        bad = 1;
    }
    return bad ? -1 : 0;
}

/* Parse the command line into o. 1 for --help, 0, or -1 (message printed). */
static int parse_args(int argc, char **argv, gen_opts *o)
{
    static const struct option opts[] = {
        {"mode", required_argument, NULL, 'M'},          {"strategy", required_argument, NULL, 'S'},
        {"temperature", required_argument, NULL, 't'},   {"top-k", required_argument, NULL, 'k'},
        {"top-p", required_argument, NULL, 'p'},         {"beams", required_argument, NULL, 'b'},
        {"length-penalty", required_argument, NULL, 'L'}, {"repetition-penalty", required_argument, NULL, 'r'},
        {"length", required_argument, NULL, 'n'},        {"seconds", required_argument, NULL, 's'},
        {"min-tokens", required_argument, NULL, 'm'},    {"max-note-seconds", required_argument, NULL, 'x'},
        {"no-grammar", no_argument, NULL, 'G'},          {"prime", required_argument, NULL, 'P'},
        {"mask", required_argument, NULL, 'K'},          {"note-limits", required_argument, NULL, 'N'},
        {"note-age-bias", required_argument, NULL, 'A'}, {"precision", required_argument, NULL, 'R'},
        {"seed", required_argument, NULL, 'e'},          {"checkpoint", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},           {"count", required_argument, NULL, 'C'},
        {"json", no_argument, NULL, 'j'},                {"progress", no_argument, NULL, 'g'},
        {"interpolate", required_argument, NULL, 'I'},   {"steps", required_argument, NULL, 'T'},
        {"lerp", no_argument, NULL, 'l'},                {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int bad = 0, c;
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'M':
            if (strcmp(optarg, "transformer") && strcmp(optarg, "vae")) {
                fprintf(stderr, "aurl generate: --mode: expected transformer or vae, got '%s'\n", optarg);
                bad = 1;
            }
            o->mode = optarg;
            o->mode_given = 1;
            break;
        case 'S':
            if (sampler_strategy_parse(optarg, &o->s.strategy)) {
                fprintf(stderr, "aurl generate: --strategy: expected greedy, temperature, top_k, top_p or beam, got '%s'\n",
                        optarg);
                bad = 1;
            }
            break;
        case 't': o->s.temperature = (float)parse_num("--temperature", optarg, 1e-6, 1e6, &bad); break;
        case 'k': o->s.top_k = (int)cli_int_option("generate", "--top-k", optarg, 1, 1000000, &bad); break;
        case 'p': o->s.top_p = (float)parse_num("--top-p", optarg, 1e-9, 1.0, &bad); break;
        case 'b': o->s.beams = (int)cli_int_option("generate", "--beams", optarg, 1, 64, &bad); break;
        case 'L': o->s.length_penalty = (float)parse_num("--length-penalty", optarg, 0, 10, &bad); break;
        case 'r': o->s.repetition_penalty = (float)parse_num("--repetition-penalty", optarg, 1, 1e6, &bad); break;
        case 'n':
            o->s.max_tokens = (int)cli_int_option("generate", "--length", optarg, 1, 1000000, &bad);
            o->length_given = 1;
            break;
        case 's': o->s.max_seconds = parse_num("--seconds", optarg, 0, 1e6, &bad); break;
        case 'm':
            o->s.min_tokens = (int)cli_int_option("generate", "--min-tokens", optarg, 0, 1000000, &bad);
            break;
        case 'x':
            o->s.max_note_seconds = parse_num("--max-note-seconds", optarg, 1.0 / 64, 1e6, &bad);
            o->flat_limits = 1;
            break;
        case 'N':
            if (strcmp(optarg, "data") && strcmp(optarg, "flat")) {
                fprintf(stderr, "aurl generate: --note-limits must be data or flat, got '%s'\n", optarg);
                bad = 1;
            }
            o->flat_limits = !strcmp(optarg, "flat");
            break;
        case 'A': o->s.note_age_bias = (float)parse_num("--note-age-bias", optarg, 0, 100, &bad); break;
        case 'G': o->s.grammar = SAMPLER_MASK_RAW; break;
        case 'K':
            if (sampler_mask_parse(optarg, &o->s.grammar) != 0) {
                fprintf(stderr, "aurl generate: --mask must be raw, plain or typed, got '%s'\n", optarg);
                bad = 1;
            }
            break;
        case 'R':
            if (kv_precision_parse(optarg, &o->s.precision) != 0) {
                fprintf(stderr, "aurl generate: --precision must be fp32, bf16 or auto, got '%s'\n", optarg);
                bad = 1;
            }
            break;
        case 'P': o->prime = optarg; break;
        case 'e':
            o->s.seed = (uint64_t)cli_int_option("generate", "--seed", optarg, 0, (long long)1 << 53, &bad);
            break;
        case 'c': o->checkpoint = optarg; break;
        case 'o': o->out = optarg; break;
        case 'C':
            o->count = (int)cli_int_option("generate", "--count", optarg, 1, 10000, &bad);
            o->count_given = 1;
            break;
        case 'j': o->json = 1; break;
        case 'g': o->progress = 1; break;
        case 'I':
            o->interp_a = optarg;
            if (optind < argc && argv[optind][0] != '-') {
                o->interp_b = argv[optind++];
            } else {
                fprintf(stderr, "aurl generate: --interpolate takes two MIDI files: A.mid B.mid\n");
                bad = 1;
            }
            break;
        case 'T':
            o->steps = (int)cli_int_option("generate", "--steps", optarg, 1, 1000, &bad);
            o->steps_given = 1;
            break;
        case 'l': o->lerp = 1; break;
        case 'h': return 1;
        default: bad = 1;
        }
    }
    if (!bad && optind < argc) {
        fprintf(stderr, "aurl generate: unexpected argument '%s'\n", argv[optind]);
        bad = 1;
    }
    return bad || check_opts(o) ? -1 : 0;
}

/* The piece's music metrics vs the data, written to <stem>.music.json (the
 * TUI's pieces list reads it) and, without --json, printed as one line. */
static void print_music_line(const gen_opts *o, const aurl_globals *g, const char *mid_path, const score *sc)
{
    char mpath[4200], err[AURL_ERR_LEN], line[256];
    size_t n = strlen(mid_path);
    snprintf(mpath, sizeof mpath, "%.*s.music.json", (int)(n > 4 ? n - 4 : n), mid_path);
    music_compare *c = malloc(sizeof *c);
    if (!c) return;
    if (train_sample_measure(sc, g->data_dir ? g->data_dir : "data", mpath, -1, -1, c, err) != 0)
        fprintf(stderr, "aurl generate: %s\n", err);
    else if (!o->json) {
        train_sample_format_line(c, line, sizeof line);
        printf("  %s\n", line);
    }
    free(c);
}

/* Decode, write and report one sampled piece: the .mid at --out or
 * <outputs>/generated/<stem>.mid, its sidecar (vae: the "vae" member, NULL
 * in transformer mode), a --json line or a summary line (note: appended to
 * it, may be ""). Returns 0 or AURL_EXIT_RUNTIME (message printed). */
static int emit_piece(const gen_opts *o, const aurl_globals *g, const sampler_settings *s, const char *ckpt, int stage,
                      const char *stem, int i, int n_pieces, const sampler_result *r, const gen_sidecar_vae *vae,
                      const char *note)
{
    char err[AURL_ERR_LEN], path[4096], jpath[4200];
    int rc = AURL_EXIT_RUNTIME;
    uint16_t *t16 = malloc((size_t)r->n_tokens * sizeof(uint16_t));
    gen_sidecar *j = malloc(sizeof *j);
    score sc;
    score_init(&sc);
    if (!t16 || !j) {
        fprintf(stderr, "aurl generate: out of memory\n");
        goto done;
    }
    for (int k = 0; k < r->n_tokens; k++)
        t16[k] = (uint16_t)(r->tokens[k] >= 0 && r->tokens[k] < TOK_VOCAB_SIZE ? r->tokens[k] : TOK_UNK);
    if (tok_decode_vocab(t16, (size_t)r->n_tokens, r->vocab, &sc)) {
        fprintf(stderr, "aurl generate: out of memory while decoding\n");
        goto done;
    }
    if (output_path(g->outputs_dir, o->out, n_pieces, i, stem, path, sizeof path, err) ||
        midi_write_file(path, &sc, err)) {
        fprintf(stderr, "aurl generate: %s\n", err);
        goto done;
    }
    sidecar_path(path, jpath, sizeof jpath);
    gen_sidecar_init(j);
    gen_sidecar_fill(j, s, r, &sc);
    snprintf(j->midi, sizeof j->midi, "%s", path);
    snprintf(j->checkpoint, sizeof j->checkpoint, "%s", ckpt);
    j->stage = stage;
    snprintf(j->settings.mode, sizeof j->settings.mode, "%s", vae ? "vae" : "transformer");
    snprintf(j->settings.prime, sizeof j->settings.prime, "%s", o->prime ? o->prime : "");
    if (vae) j->vae = *vae;
    if (gen_sidecar_write(jpath, j, err)) {
        fprintf(stderr, "aurl generate: %s\n", err);
        goto done;
    }
    if (o->json) {
        char *line = gen_sidecar_to_json(j, 0);
        if (!line) {
            fprintf(stderr, "aurl generate: out of memory\n");
            goto done;
        }
        printf("%s\n", line);
        free(line);
    } else {
        printf("%s: %zu notes, %.1f s, %d tokens (%d generated", path, sc.n_notes, j->duration_seconds, r->n_tokens,
               r->n_generated);
        if (r->prime_end > 1) printf("; continuation starts at token %d, %.2f s", r->prime_end, j->prime_seconds);
        printf(") in %.2f s, %.0f tokens/s (%s)%s\n", r->seconds_taken, j->tokens_per_s, j->settings.precision, note);
    }
    print_music_line(o, g, path, &sc);
    fflush(stdout);
    rc = AURL_EXIT_OK;
done:
    score_free(&sc);
    free(j);
    free(t16);
    return rc;
}

/* Pieces of --count decoded in one batch (one KV cache of this many
 * sequences, about 4 MB each for a 512-token context of the reference model). */
#define GEN_BATCH 16

/* Transformer mode: --count pieces from checkpoint ckpt, GEN_BATCH at a time. */
static int run_transformer(const gen_opts *o, const aurl_globals *g, const char *ckpt, int stage)
{
    char err[AURL_ERR_LEN];
    transformer *m;
    if (model_ckpt_load_new(ckpt, 1, 1, &m, NULL, err)) {
        fprintf(stderr, "aurl generate: %s\n", err);
        return AURL_EXIT_USAGE;
    }
    const model_config cfg = *transformer_config(m);
    if (cfg.vocab_size != TOK_VOCAB_SIZE) {
        fprintf(stderr, "aurl generate: %s: model vocabulary %d is not the tokenizer's %d\n", ckpt, cfg.vocab_size,
                TOK_VOCAB_SIZE);
        transformer_free(m);
        return AURL_EXIT_USAGE;
    }
    int32_t *prefix = NULL;
    int n_prefix = 0;
    if (o->prime && read_primer(o->prime, model_vocab(&cfg), cfg.max_seq_len - 1, &prefix, &n_prefix, err)) {
        fprintf(stderr, "aurl generate: --prime: %s\n", err);
        transformer_free(m);
        return AURL_EXIT_USAGE;
    }
    char base[512];
    path_stem(ckpt, base, sizeof base);
    int rc = 0;
    progress_ctx pc = {o->progress, 0, o->count * o->s.max_tokens};
    sampler_result *r = calloc(GEN_BATCH, sizeof *r);
    if (!r) {
        fprintf(stderr, "aurl generate: out of memory\n");
        rc = AURL_EXIT_RUNTIME;
    }
    /* up to GEN_BATCH pieces decode together; piece i has seed S+i either way */
    for (int i0 = 0; i0 < o->count && !rc; i0 += GEN_BATCH) {
        int nb = o->count - i0 < GEN_BATCH ? o->count - i0 : GEN_BATCH;
        sampler_settings s = o->s;
        s.seed = o->s.seed + (uint64_t)i0;
        pc.done_before = i0 * o->s.max_tokens;
        if (sampler_generate_batch(m, &s, prefix, n_prefix, NULL, 0, nb, on_progress, &pc, r, err)) {
            fprintf(stderr, "aurl generate: %s\n", err);
            rc = AURL_EXIT_RUNTIME;
            break;
        }
        for (int k = 0; k < nb; k++) {
            sampler_settings sk = o->s;
            sk.seed = o->s.seed + (uint64_t)(i0 + k);
            char stem[1024];
            snprintf(stem, sizeof stem, "%s_%s_s%llu", base, sampler_strategy_name(sk.strategy),
                     (unsigned long long)sk.seed);
            if (!rc) rc = emit_piece(o, g, &sk, ckpt, stage, stem, i0 + k, o->count, &r[k], NULL, "");
            sampler_result_free(&r[k]);
        }
    }
    free(r);
    free(prefix);
    transformer_free(m);
    return rc;
}

/* Posterior mean of the first window of MIDI file path (the "vae" sidecar
 * member records the file). 0, or AURL_EXIT_USAGE (message printed). */
static int encode_file(vae *m, int T, const char *path, float *mu)
{
    char err[AURL_ERR_LEN];
    uint16_t *tok = NULL;
    size_t n = 0;
    if (read_tokens(path, model_vocab(transformer_config(vae_decoder(m))), &tok, &n, err)) {
        fprintf(stderr, "aurl generate: --interpolate: %s\n", err);
        return AURL_EXIT_USAGE;
    }
    int rc = vae_sample_encode(m, tok, n, T, mu, err);
    free(tok);
    if (rc) {
        fprintf(stderr, "aurl generate: %s: %s\n", path, err);
        return AURL_EXIT_USAGE;
    }
    return 0;
}

/* The VAE of stage-3 checkpoint ckpt, for decoding windows of *T tokens
 * (the training window recorded in the header, else the model's context).
 * 0, or AURL_EXIT_USAGE (message printed). */
static int load_vae(const char *ckpt, const vae_ckpt_info *info, vae **m, int *T)
{
    char err[AURL_ERR_LEN];
    model_config mc;
    vae_config vc;
    if (vaegan_read_configs(ckpt, &mc, &vc, NULL, NULL, err)) {
        fprintf(stderr, "aurl generate: %s\n", err);
        return AURL_EXIT_USAGE;
    }
    if (mc.vocab_size != TOK_VOCAB_SIZE) {
        fprintf(stderr, "aurl generate: %s: model vocabulary %d is not the tokenizer's %d\n", ckpt, mc.vocab_size,
                TOK_VOCAB_SIZE);
        return AURL_EXIT_USAGE;
    }
    int want = info->seq_len > 0 && info->seq_len <= mc.max_seq_len ? info->seq_len : mc.max_seq_len;
    *T = vae_sample_window_len(&vc, want);
    if (*T < 2) {
        fprintf(stderr, "aurl generate: %s: no window of at most %d tokens fits the VAE's segments\n", ckpt, want);
        return AURL_EXIT_USAGE;
    }
    if (vaegan_load_vae_for_inference(ckpt, 1, *T, m, err)) {
        fprintf(stderr, "aurl generate: %s\n", err);
        return AURL_EXIT_USAGE;
    }
    return 0;
}

/* The "vae" sidecar member of piece i: window T, latent size D, and z from
 * the prior (seed) or the interpolation point t. */
static void vae_member(gen_sidecar_vae *v, const gen_opts *o, int T, int D, int i, double t, uint64_t seed,
                       vae_interp kind)
{
    memset(v, 0, sizeof *v);
    v->present = 1;
    v->window = T;
    v->latent_dim = D;
    snprintf(v->z, sizeof v->z, "%s", o->interp_a ? "interpolation" : "prior");
    if (o->interp_a) {
        snprintf(v->a, sizeof v->a, "%s", o->interp_a);
        snprintf(v->b, sizeof v->b, "%s", o->interp_b);
        v->t = t;
        v->index = i;
        v->steps = o->steps;
        snprintf(v->method, sizeof v->method, "%s", vae_interp_name(kind));
    } else {
        v->z_seed = (long long)seed;
    }
}

/* VAE mode on stage-3 checkpoint ckpt: --count prior samples, or the
 * --steps + 1 points of --interpolate A B. */
static int run_vae(const gen_opts *o, const aurl_globals *g, const char *ckpt, int stage, const vae_ckpt_info *info)
{
    char err[AURL_ERR_LEN];
    vae *m = NULL;
    int T, rc = load_vae(ckpt, info, &m, &T);
    if (rc) return rc;
    int D = vae_latent_dim(m);
    int interp = o->interp_a != NULL, n_pieces = interp ? o->steps + 1 : o->count;
    vae_interp kind = o->lerp ? VAE_INTERP_LINEAR : VAE_INTERP_SLERP;
    float *za = malloc((size_t)D * sizeof(float)), *zb = malloc((size_t)D * sizeof(float)),
          *z = malloc((size_t)D * sizeof(float));
    if (!za || !zb || !z) {
        fprintf(stderr, "aurl generate: out of memory\n");
        rc = AURL_EXIT_RUNTIME;
        goto done;
    }
    if (interp && ((rc = encode_file(m, T, o->interp_a, za)) || (rc = encode_file(m, T, o->interp_b, zb)))) goto done;
    int max_tokens = o->s.max_tokens < T - 1 ? o->s.max_tokens : T - 1;
    if (o->length_given && o->s.max_tokens > T - 1)
        fprintf(stderr, "aurl generate: note: the VAE decodes one window of %d positions: at most %d tokens, not %d\n",
                T, T - 1, o->s.max_tokens);
    if (stage < 1) stage = 3;

    char base[512], sa[256], sb[256];
    path_stem(ckpt, base, sizeof base);
    if (interp) {
        path_stem(o->interp_a, sa, sizeof sa);
        path_stem(o->interp_b, sb, sizeof sb);
    }
    progress_ctx pc = {o->progress, 0, n_pieces * max_tokens};
    gen_sidecar_vae member;
    for (int i = 0; i < n_pieces && !rc; i++) {
        sampler_settings s = o->s;
        s.max_tokens = max_tokens;
        if (s.min_tokens > max_tokens) s.min_tokens = max_tokens; /* as vae_sample_decode would; the sidecar says so */
        s.seed = interp ? o->s.seed : o->s.seed + (uint64_t)i; /* interpolation: only z varies */
        double t = interp ? (double)i / o->steps : 0;
        if (interp) vae_sample_interp(za, zb, D, t, kind, z);
        else vae_sample_prior(z, D, s.seed);
        sampler_result r;
        pc.done_before = i * max_tokens;
        if (vae_sample_decode(m, T, z, &s, on_progress, &pc, &r, err)) {
            fprintf(stderr, "aurl generate: %s\n", err);
            rc = AURL_EXIT_RUNTIME;
            break;
        }
        char stem[1280], note[64] = "";
        if (interp) {
            snprintf(stem, sizeof stem, "%s_interp_%s_%s_%dof%d_s%llu", base, sa, sb, i, o->steps,
                     (unsigned long long)s.seed);
            snprintf(note, sizeof note, " (t = %.3g)", t);
        } else {
            snprintf(stem, sizeof stem, "%s_vae_%s_s%llu", base, sampler_strategy_name(s.strategy),
                     (unsigned long long)s.seed);
        }
        vae_member(&member, o, T, D, i, t, s.seed, kind);
        rc = emit_piece(o, g, &s, ckpt, stage, stem, i, n_pieces, &r, &member, note);
        sampler_result_free(&r);
    }
done:
    free(za);
    free(zb);
    free(z);
    vae_free(m);
    return rc;
}

/* The data's note-length and polyphony limits into o->s (engine/sample/
 * note_limits), unless flat limits were asked for; without a usable cache
 * a note says the flat limit applies. */
static void load_limits(gen_opts *o, const aurl_globals *g)
{
    if (o->flat_limits || o->s.grammar == SAMPLER_MASK_RAW) return;
    note_limits nl;
    char err[AURL_ERR_LEN];
    if (note_limits_from_cache(g->data_dir, &nl, err) != 0) {
        if (!g->quiet)
            fprintf(stderr, "aurl generate: note: %s; notes are limited to a flat %g s (--note-limits flat)\n", err,
                    o->s.max_note_seconds);
        return;
    }
    o->s.data_limits = 1;
    o->s.limits = nl.limits;
}

int generate_cmd_main(int argc, char **argv, const aurl_globals *g)
{
    gen_opts o = {.mode = "transformer", .count = 1, .steps = 8};
    sampler_settings_default(&o.s);
    int pr = parse_args(argc, argv, &o);
    if (pr == 1) {
        usage(stdout);
        return AURL_EXIT_OK;
    }
    if (pr) {
        usage(stderr);
        return AURL_EXIT_USAGE;
    }
    int want_vae = !strcmp(o.mode, "vae");
    load_limits(&o, g);

    char err[AURL_ERR_LEN], ckpt[4096];
    int stage = 0;
    if (o.checkpoint) {
        if (!file_is_regular(o.checkpoint)) {
            fprintf(stderr, "aurl generate: %s: no such checkpoint file\n", o.checkpoint);
            return AURL_EXIT_USAGE;
        }
        snprintf(ckpt, sizeof ckpt, "%s", o.checkpoint);
    } else if (ckpt_pick_best(g->outputs_dir, want_vae ? CKPT_PICK_VAE : CKPT_PICK_TRANSFORMER, ckpt, sizeof ckpt,
                              &stage, err)) {
        /* transformer mode with only stage-3 checkpoints: their decoder, z from the prior */
        char verr[AURL_ERR_LEN];
        if (want_vae || ckpt_pick_best(g->outputs_dir, CKPT_PICK_VAE, ckpt, sizeof ckpt, &stage, verr)) {
            fprintf(stderr, "aurl generate: %s\n", err);
            return AURL_EXIT_RUNTIME;
        }
    }
    vae_ckpt_info info;
    if (vae_sample_probe(ckpt, &info, err)) {
        fprintf(stderr, "aurl generate: %s\n", err);
        return AURL_EXIT_USAGE;
    }
    if (want_vae && !info.is_vae) {
        if (o.checkpoint) {
            fprintf(stderr, "aurl generate: %s is not a stage-3 (VAE) checkpoint: VAE generation needs one (`aurl train --stage 3`)\n",
                    ckpt);
            return AURL_EXIT_USAGE;
        }
        fprintf(stderr, "aurl generate: VAE generation needs a stage-3 checkpoint: run `aurl train --stage 3` (latest is %s)\n",
                ckpt);
        return AURL_EXIT_RUNTIME;
    }
    if (!want_vae && info.is_vae) {
        if (o.prime) {
            fprintf(stderr, "aurl generate: %s is a stage-3 (VAE) checkpoint: --prime needs a transformer checkpoint (stage 1 or 2, --checkpoint F)\n",
                    ckpt);
            return AURL_EXIT_USAGE;
        }
        fprintf(stderr, "aurl generate: note: %s is a stage-3 (VAE) checkpoint: sampling z from the prior (--mode vae)\n",
                ckpt);
    }
    if (info.is_vae) return run_vae(&o, g, ckpt, stage, &info);
    return run_transformer(&o, g, ckpt, stage);
}
