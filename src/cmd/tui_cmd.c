/* tui_cmd: `aurl [tui] [--ascii]`: options, usage, exit codes, and the
 * notice about a trainer left running once the workbench closes. */
#include "cmd/tui_cmd.h"

#include <stdio.h>
#include <string.h>

#include "tui/tui_main.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: aurl [tui] [--ascii]\n\n"
               "The terminal workbench: dashboard of the training run in --outputs (attaches to\n"
               "a running trainer or starts one detached), data, generate, stages and help\n"
               "screens. Quitting never stops training.\n\n"
               "  --ascii   ASCII glyphs only (also when the locale is not UTF-8)\n"
               "NO_COLOR=1 turns colours off.\n");
}

int tui_cmd_main(int argc, char **argv, const aurl_globals *g)
{
    tui_options opt = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ascii")) opt.ascii = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AURL_EXIT_OK;
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", argv[0], argv[i]);
            usage(stderr);
            return AURL_EXIT_USAGE;
        }
    }
    tui_result res;
    if (tui_run(&opt, g, &res) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], res.err);
        return AURL_EXIT_RUNTIME;
    }
    if (res.trainer_pid > 0 && res.trainer_paused)
        printf("the trainer (pid %d) stays PAUSED in the background: `aurl` and F6 resume it (or kill -CONT %d)\n",
               res.trainer_pid, res.trainer_pid);
    else if (res.trainer_pid > 0)
        printf("training continues in the background (pid %d); `aurl` to reattach, `aurl status` for a summary\n",
               res.trainer_pid);
    return AURL_EXIT_OK;
}
