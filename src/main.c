/* aurl: command-line entry point. Parses the global options of docs/DESIGN.md §4
 * (they may stand anywhere on the line), then dispatches to a subcommand's
 * *_cmd_main function. Each subcommand prints its own --help. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/data_cmd.h"
#include "cmd/play_cmd.h"
#include "cmd/bench_cmd.h"
#include "cmd/eval_cmd.h"
#include "cmd/generate_cmd.h"
#include "cmd/train_cmd.h"
#include "cmd/tui_cmd.h"
#include "data/tokenizer.h"
#include "engine/nn/blas_core.h"
#include "util/globals.h"
#include "util/log.h"
#include "util/threads.h"

#define AURL_VERSION "0.1.0"

typedef struct {
    const char *name;
    aurl_cmd_fn fn;
    const char *summary;
} subcommand;

static const subcommand SUBCOMMANDS[] = {
    {"train", train_cmd_main, "run the training stages (headless engine)"},
    {"status", status_cmd_main, "stage, epoch, step, best val loss, ETA, trainer pid"},
    {"clear", clear_cmd_main, "remove training state, checkpoints and logs"},
    {"data", data_cmd_main, "fetch sample MIDI, build the token cache, stats, show a file"},
    {"generate", generate_cmd_main, "sample a piece from a checkpoint into outputs/generated/"},
    {"play", play_cmd_main, "audition a MIDI file (audio device, or render a WAV)"},
    {"eval", eval_cmd_main, "held-out loss, accuracy, grammar errors, music statistics"},
    {"tui", tui_cmd_main, "the terminal workbench (also plain `aurl`)"},
    {"bench", bench_cmd_main, "training-step and sampling speed of a model config"},
};
#define N_SUBCOMMANDS (sizeof SUBCOMMANDS / sizeof SUBCOMMANDS[0])

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aurl [global options] <command> [options]\n"
            "\n"
            "Train and sample symbolic-music models on your MIDI collection.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(out, "  %-8s %s\n", SUBCOMMANDS[i].name, SUBCOMMANDS[i].summary);
    fprintf(out,
            "\n"
            "global options:\n"
            "  --data DIR      data directory (default data/: midi/ and cache/)\n"
            "  --outputs DIR   outputs directory (default outputs/, or $AURL_OUTPUTS)\n"
            "  --threads N     worker threads (default: all cores)\n"
            "  -q, --quiet     only errors on stderr\n"
            "  --version       print the version\n"
            "  -h, --help      this help\n"
            "\n"
            "`aurl <command> --help` describes each command.\n");
}

/* Take the global options out of argv wherever they stand (they end at
 * "--"); returns the new argc or -1 on bad usage. */
static int extract_globals(int argc, char **argv, aurl_globals *g, int *want_version, int *want_help)
{
    int out = 1;
    int seen_command = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (strcmp(a, "--") == 0) {
            while (i < argc) argv[out++] = argv[i++];
            break;
        }
        int takes = !strcmp(a, "--data") || !strcmp(a, "--outputs") || !strcmp(a, "--threads");
        int inline_val = !strncmp(a, "--data=", 7) || !strncmp(a, "--outputs=", 10) || !strncmp(a, "--threads=", 10);
        if (takes) {
            if (i + 1 >= argc) {
                fprintf(stderr, "aurl: %s needs a value\n", a);
                return -1;
            }
            val = argv[++i];
        } else if (inline_val) {
            val = strchr(a, '=') + 1;
        }
        if (val) {
            if (!strncmp(a, "--data", 6)) g->data_dir = val;
            else if (!strncmp(a, "--outputs", 9)) g->outputs_dir = val;
            else {
                char *end;
                long n = strtol(val, &end, 10);
                if (*val == 0 || *end || n < 0 || n > 1024) {
                    fprintf(stderr, "aurl: --threads: expected a number 0..1024, got '%s'\n", val);
                    return -1;
                }
                g->threads = (int)n;
            }
            if (!*val) {
                fprintf(stderr, "aurl: %s needs a non-empty value\n", a);
                return -1;
            }
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            g->quiet = 1;
        } else if (!strcmp(a, "--version")) {
            *want_version = 1;
        } else if (!seen_command && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
            *want_help = 1;
        } else {
            if (a[0] != '-') seen_command = 1;
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    return out;
}

int main(int argc, char **argv)
{
    /* before any BLAS call or OpenMP thread: may re-execute aurl once */
    blas_core_startup(argv);
    aurl_globals g = {.data_dir = "data", .outputs_dir = "outputs", .threads = 0, .quiet = 0};
    const char *env_out = getenv("AURL_OUTPUTS");
    if (env_out && *env_out) g.outputs_dir = env_out;
    int want_version = 0, want_help = 0;
    argc = extract_globals(argc, argv, &g, &want_version, &want_help);
    if (argc < 0) return AURL_EXIT_USAGE;
    if (want_version) {
        printf("aurl %s (token vocabularies v1..v%d, %d tokens; cache v%d)\n", AURL_VERSION, TOK_VOCAB_MAX,
               TOK_VOCAB_SIZE, TOK_VERSION);
        return AURL_EXIT_OK;
    }
    log_set_quiet(g.quiet);
    if (want_help) {
        usage(stdout);
        return AURL_EXIT_OK;
    }
    threads_configure(g.threads);
    if (argc < 2 || argv[1][0] == '-') {
        /* plain `aurl [tui options]` opens the workbench */
        char name[] = "aurl tui";
        argv[0] = name;
        return tui_cmd_main(argc, argv, &g);
    }
    for (size_t i = 0; i < N_SUBCOMMANDS; i++) {
        if (strcmp(argv[1], SUBCOMMANDS[i].name) != 0) continue;
        /* getopt names the program by argv[0]: make it "aurl <command>" */
        char name[64];
        snprintf(name, sizeof name, "aurl %s", SUBCOMMANDS[i].name);
        argv[1] = name;
        return SUBCOMMANDS[i].fn(argc - 1, argv + 1, &g);
    }
    fprintf(stderr, "aurl: unknown command '%s' (see aurl --help)\n", argv[1]);
    return AURL_EXIT_USAGE;
}
