/* help_screen: the keys and what each screen does. */
#include <stdlib.h>

#include "tui/screen.h"
#include "tui/term.h"
#include "tui/widgets.h"

static const char *const HELP[] = {
    "Global keys (letters work where F-keys do not):",
    "  F1  h ?   this help              F6  p    pause / resume the trainer",
    "  F2  s     start / stop training  F8  c    clear state (type yes)",
    "  F3  d     data screen            F10 q    quit (training continues)",
    "  F4  g     generate screen        Esc      back to the dashboard",
    "  F5  t     stages screen          Ctrl-L   repaint",
    "",
    "Dashboard: stage progress and ETA, resources, loss chart, log tail.",
    "  l log-y   f stage filter (all, 1, 2, 3)   + / - smoothing",
    "Stages: choose a stage, Enter jumps to it (stops and restarts the trainer).",
    "Data: MIDI files, statistics, reject reasons; a file opens as a piano roll.",
    "Generate: one key makes a piece with the best checkpoint; play or render WAV.",
    "",
    "The trainer runs detached (`aurl train --detach`): quitting never stops it.",
    "`aurl status` prints the same summary without the TUI.",
};

static void draw(tui_screen *s, tui_ctx *c, WINDOW *w)
{
    werase(w);
    int H, W;
    getmaxyx(w, H, W);
    widget_box(w, 0, 0, H, W, "Help");
    for (int i = 0; i < (int)(sizeof HELP / sizeof HELP[0]) && i + 1 < H - 1; i++)
        widget_text(w, 1 + i, 2, W - 4, i == 0 ? term_attr(ROLE_TITLE) : A_NORMAL, HELP[i]);
}

static int tick(tui_screen *s, tui_ctx *c) { return 0; }

static const tui_screen OPS = {.name = "Help", .tick = tick, .draw = draw, .destroy = screen_free};

tui_screen *help_screen_create(void) { return screen_new(&OPS, 0); }
