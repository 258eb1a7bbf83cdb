/* stages_screen: the stages of configs/stages with their state (done,
 * step, best validation loss, running), and "jump to stage N": confirm,
 * stop a running trainer (SIGTERM; it checkpoints) and wait for it to
 * exit, then start `aurl train --detach --stage N`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/train/train_config.h"
#include "engine/train/trainer.h"
#include "tui/app.h"
#include "tui/screen.h"
#include "tui/term.h"
#include "tui/widgets.h"

enum { PH_LIST, PH_CONFIRM, PH_STOPPING };

typedef struct {
    int sel;          /* 0..2 */
    int phase;
    int target;       /* stage to start, 1..3 */
    char cfg[TRAIN_MAX_STAGES][256]; /* config file names, "" if missing */
    unsigned seen_version;
    int dirty;
} stages_state;

static void find_configs(stages_state *st, const tui_ctx *c)
{
    char dir[4200];
    train_config_find_dir(c->self_exe, dir, sizeof dir);
    for (int i = 0; i < TRAIN_MAX_STAGES; i++) {
        char path[4200], err[256];
        st->cfg[i][0] = 0;
        if (trainer_stage_config_path(dir, i + 1, path, sizeof path, err, sizeof err) == 0) {
            const char *b = strrchr(path, '/');
            snprintf(st->cfg[i], sizeof st->cfg[i], "%s", b ? b + 1 : path);
        }
    }
}

static void start_stage(stages_state *st, tui_ctx *c)
{
    char out[256];
    /* keep the profile the run was trained with (the trainer does not reuse it by itself) */
    int rc = run_control_start(c->self_exe, c->g, st->target, app_get()->run.st.profile, out, sizeof out);
    if (rc == 0) snprintf(c->message, sizeof c->message, "stage %d started in the background; F2 stops it, q leaves it running", st->target);
    else snprintf(c->message, sizeof c->message, "%s", out[0] ? out : "could not start the trainer");
    c->message_is_error = rc != 0;
    st->phase = PH_LIST;
    app_invalidate();
}

static int tick(tui_screen *s, tui_ctx *c)
{
    stages_state *st = s->state;
    app_state *a = app_get();
    if (st->phase == PH_STOPPING && a->run.pid == 0) start_stage(st, c), st->dirty = 1;
    if (a->version != st->seen_version || st->dirty) {
        st->seen_version = a->version;
        st->dirty = 0;
        return 1;
    }
    return 0;
}

static void draw(tui_screen *s, tui_ctx *c, WINDOW *w)
{
    stages_state *st = s->state;
    app_state *a = app_get();
    werase(w);
    int H, W;
    getmaxyx(w, H, W);
    widget_box(w, 0, 0, H, W, "Stages");
    widget_text(w, 1, 2, W - 4, term_attr(ROLE_DIM), "Up/Down or 1-3 choose; Enter jumps there (stops, restarts the trainer)");
    widget_textf(w, 3, 2, W - 4, A_BOLD, "  %-3s %-26s %-22s %s", "#", "config", "state", "best val");
    for (int i = 0; i < TRAIN_MAX_STAGES; i++) {
        const train_stage_state *ss = &a->run.st.stages[i];
        char state[64], best[32] = "-";
        int running = a->run.pid > 0 && a->run.st.current_stage == i + 1;
        int64_t step;
        int epoch;
        app_stage_progress(i + 1, &step, &epoch);
        if (running) snprintf(state, sizeof state, "%s %lld/%lld", a->run.state == RUN_PAUSED ? "paused" : "running",
                              (long long)step, (long long)ss->total_steps);
        else if (ss->status == STAGE_COMPLETE) snprintf(state, sizeof state, "done (%lld steps)", (long long)ss->step);
        else if (ss->status == STAGE_PARTIAL) snprintf(state, sizeof state, "partial %lld/%lld", (long long)ss->step, (long long)ss->total_steps);
        else snprintf(state, sizeof state, "not started");
        if (isfinite(ss->best_val_loss) && ss->status != STAGE_NOT_STARTED) snprintf(best, sizeof best, "%.4f @%lld", ss->best_val_loss, (long long)ss->best_step);
        attr_t at = i == st->sel ? term_attr(ROLE_SELECTED) : running ? term_attr(ROLE_GOOD) : A_NORMAL;
        widget_textf(w, 4 + i, 2, W - 4, at, "%c %-3d %-26s %-22s %s", i == st->sel ? '>' : ' ', i + 1,
                     st->cfg[i][0] ? st->cfg[i] : "(missing)", state, best);
    }
    if (st->phase == PH_CONFIRM) {
        char l1[128], l2[128];
        snprintf(l1, sizeof l1, "Jump to stage %d?", st->target);
        snprintf(l2, sizeof l2, a->run.pid > 0 ? "The running trainer (pid %d) is stopped first." : "A trainer starts in the background.", a->run.pid);
        const char *lines[] = {l1, l2, "y: yes    n/Esc: no"};
        widget_dialog(w, "Confirm", lines, 3, NULL);
    } else if (st->phase == PH_STOPPING) {
        const char *lines[] = {"Stopping the trainer: waiting for its checkpoint...", "The new stage starts when it has exited."};
        widget_dialog(w, "Please wait", lines, 2, NULL);
    }
}

static int key(tui_screen *s, tui_ctx *c, int ch)
{
    stages_state *st = s->state;
    app_state *a = app_get();
    st->dirty = 1;
    if (st->phase == PH_CONFIRM) {
        if (ch == 'y' || ch == 'Y') {
            if (a->run.pid > 0) {
                run_control_stop(a->run.pid);
                a->stopping_pid = a->run.pid;
                st->phase = PH_STOPPING;
                snprintf(c->message, sizeof c->message, "sent SIGTERM to pid %d: waiting for the checkpoint", a->run.pid);
                app_invalidate();
            } else start_stage(st, c);
        } else st->phase = PH_LIST;
        return SCREEN_KEY_HANDLED; /* the dialog takes every key */
    }
    if (st->phase == PH_STOPPING) {
        if (ch == 27) {
            st->phase = PH_LIST;
            snprintf(c->message, sizeof c->message, "stage jump cancelled (the trainer was still asked to stop)");
            return SCREEN_KEY_HANDLED;
        }
        return ch == KEY_F(10) || ch == 'q' ? SCREEN_KEY_UNHANDLED : SCREEN_KEY_HANDLED;
    }
    switch (ch) {
    case KEY_UP: case 'k': if (st->sel > 0) st->sel--; return SCREEN_KEY_HANDLED;
    case KEY_DOWN: case 'j': if (st->sel < TRAIN_MAX_STAGES - 1) st->sel++; return SCREEN_KEY_HANDLED;
    case '1': case '2': case '3': st->sel = ch - '1'; return SCREEN_KEY_HANDLED;
    case '\n': case '\r': case KEY_ENTER:
        st->target = st->sel + 1;
        st->phase = PH_CONFIRM;
        return SCREEN_KEY_HANDLED;
    }
    return SCREEN_KEY_UNHANDLED;
}

static const char *keybar(tui_screen *s) { return "Enter jump to stage"; }

static void enter(tui_screen *s, tui_ctx *c)
{
    stages_state *st = s->state;
    find_configs(st, c);
    st->dirty = 1;
    app_state *a = app_get();
    if (a->run.st.current_stage >= 1 && a->run.st.current_stage <= 3) st->sel = a->run.st.current_stage - 1;
}

static const tui_screen OPS = {.name = "Stages", .enter = enter, .tick = tick, .draw = draw, .key = key,
                               .keybar = keybar, .destroy = screen_free};

tui_screen *stages_screen_create(void)
{
    tui_screen *s = screen_new(&OPS, sizeof(stages_state));
    if (!s) return NULL;
    return s;
}
