/* tui_main: the ncurses workbench loop behind `aurl` / `aurl tui`
 * (cmd/tui_cmd.c is its command front end): header line
 * (run state, stage, epoch, step, profile), the current screen's body,
 * a message line and the function-key bar; global keys, the clear dialog,
 * start/stop/pause of the detached trainer, resize and tiny-terminal
 * notice. Redraws only what changed, one doupdate() per frame. */
#include "tui/tui_main.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/train/train_config.h"
#include "tui/app.h"
#include "tui/screen.h"
#include "tui/term.h"
#include "tui/widgets.h"
#include "util/clock.h"

#define MIN_W 60
#define MIN_H 18

typedef struct {
    WINDOW *hdr, *body, *msg, *keys;
    int H, W, too_small;
} layout;

static void layout_free(layout *l)
{
    if (l->hdr) delwin(l->hdr);
    if (l->body) delwin(l->body);
    if (l->msg) delwin(l->msg);
    if (l->keys) delwin(l->keys);
    l->hdr = l->body = l->msg = l->keys = NULL;
}

static void layout_make(layout *l)
{
    layout_free(l);
    getmaxyx(stdscr, l->H, l->W);
    l->too_small = l->H < MIN_H || l->W < MIN_W;
    int h = l->H < 4 ? 4 : l->H, w = l->W < 1 ? 1 : l->W;
    l->hdr = newwin(1, w, 0, 0);
    l->body = newwin(h - 3, w, 1, 0);
    l->msg = newwin(1, w, h - 2, 0);
    l->keys = newwin(1, w, h - 1, 0);
    keypad(l->keys, TRUE);
    wtimeout(l->keys, 100);
}

static void draw_header(layout *l, const tui_ctx *c, const char *screen_name)
{
    app_state *a = app_get();
    WINDOW *w = l->hdr;
    werase(w);
    wbkgdset(w, ' ' | term_attr(ROLE_TITLE));
    run_state rs = a->run.state;
    attr_t sa = rs == RUN_RUNNING || rs == RUN_FINISHED ? term_attr(ROLE_GOOD)
                : rs == RUN_PAUSED                     ? term_attr(ROLE_WARN)
                : rs == RUN_FAILED                     ? term_attr(ROLE_BAD)
                                                       : A_NORMAL;
    widget_text(w, 0, 0, l->W, term_attr(ROLE_TITLE), " aurl ");
    char st[32];
    snprintf(st, sizeof st, "[%s]", run_state_name(rs));
    for (char *p = st; *p; p++) *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    widget_text(w, 0, 6, l->W - 6, sa | A_BOLD, st);
    int x = 7 + (int)strlen(st);
    char info[256] = "";
    const train_state *ts = &a->run.st;
    if (a->run.have_state) {
        int cur = ts->current_stage >= 1 && ts->current_stage <= TRAIN_MAX_STAGES ? ts->current_stage : 1;
        const train_stage_state *ss = &ts->stages[cur - 1];
        const char *name = strrchr(ss->config_path, '_');
        char nm[24] = "";
        if (name) snprintf(nm, sizeof nm, " %.*s", (int)strcspn(name + 1, "."), name + 1);
        int64_t step;
        int epoch;
        app_stage_progress(cur, &step, &epoch);
        snprintf(info, sizeof info, "stage %d/%d%s  epoch %d  step %lld/%lld%s%s", cur, TRAIN_MAX_STAGES, nm,
                 epoch + 1, (long long)step, (long long)ss->total_steps, ts->profile[0] ? "  profile " : "",
                 ts->profile);
    } else snprintf(info, sizeof info, "%s", a->run.state_err[0] ? "training_state.json is damaged" : "no training state yet");
    widget_text(w, 0, x, l->W - x, A_NORMAL, info);
    char right[64];
    if (a->run.pid > 0) snprintf(right, sizeof right, " pid %d | %s ", a->run.pid, screen_name);
    else snprintf(right, sizeof right, " %s ", screen_name);
    int rl = (int)strlen(right);
    if (x + (int)strlen(info) + rl < l->W) widget_text(w, 0, l->W - rl, rl, term_attr(ROLE_TITLE), right);
    wnoutrefresh(w);
}

static void draw_keys(layout *l)
{
    app_state *a = app_get();
    WINDOW *w = l->keys;
    werase(w);
    struct {
        const char *k, *label;
    } items[] = {{"F1", "Help"}, {"F2", a->run.pid > 0 ? "Stop" : "Start"}, {"F3", "Data"}, {"F4", "Generate"},
                 {"F5", "Stages"}, {"F6", a->run.state == RUN_PAUSED ? "Resume" : "Pause"}, {"F8", "Clear"},
                 {"F10", "Quit"}};
    int x = 0;
    for (size_t i = 0; i < sizeof items / sizeof items[0] && x < l->W; i++) {
        widget_text(w, 0, x, l->W - x, A_BOLD, items[i].k);
        x += (int)strlen(items[i].k) + 1;
        widget_text(w, 0, x, l->W - x, term_attr(ROLE_KEYBAR), items[i].label);
        x += (int)strlen(items[i].label) + 1;
    }
    wnoutrefresh(w);
}

static void draw_msg(layout *l, const tui_ctx *c, tui_screen *s)
{
    WINDOW *w = l->msg;
    werase(w);
    if (c->message[0]) {
        char m[256];
        int room = l->W - 2;
        if ((int)strlen(c->message) > room && room > 3) /* show that it was cut */
            snprintf(m, sizeof m, "%.*s...", room - 3, c->message);
        else snprintf(m, sizeof m, "%s", c->message);
        widget_text(w, 0, 1, l->W - 1, c->message_is_error ? term_attr(ROLE_BAD) : term_attr(ROLE_ACCENT), m);
    }
    else if (s->keybar) widget_text(w, 0, 1, l->W - 1, term_attr(ROLE_DIM), s->keybar(s));
    wnoutrefresh(w);
}

static void set_msg(tui_ctx *c, int err, const char *fmt, const char *arg, int num)
{
    snprintf(c->message, sizeof c->message, fmt, arg ? arg : "", num);
    c->message_is_error = err;
}

/* The profile chooser F2 opens when there is no training state yet (a
 * resume keeps the profile the state records). */
#define MAX_PROFILES 8
typedef struct {
    int active, sel, n; /* n profiles + the "stage configs" entry */
    char names[MAX_PROFILES][32];
} profile_dialog;

static void start_trainer(tui_ctx *c, const char *profile)
{
    char out[256];
    set_msg(c, 0, "%sstarting the trainer...", NULL, 0);
    int rc = run_control_start(c->self_exe, c->g, 0, profile, out, sizeof out);
    if (rc == 0) /* the trainer's own line names the log path, too long for the message line */
        snprintf(c->message, sizeof c->message, "trainer started (%s); F2 stops it, q quits and leaves it running",
                 profile && profile[0] ? profile : "stage configs");
    else set_msg(c, 1, "%s", out[0] ? out : "could not start the trainer", 0);
    app_invalidate();
}

static void start_or_stop(tui_ctx *c, profile_dialog *pd)
{
    app_state *a = app_get();
    if (a->run.pid > 0) {
        if (a->stopping_pid == a->run.pid)
            set_msg(c, 0, "%sstill waiting for trainer pid %d to write its checkpoint and exit", NULL, a->run.pid);
        else if (run_control_stop(a->run.pid) == 0) {
            a->stopping_pid = a->run.pid;
            set_msg(c, 0, "%sstopping trainer pid %d: it finishes the step and writes a checkpoint", NULL, a->run.pid);
        } else set_msg(c, 1, "%scannot signal pid %d", NULL, a->run.pid);
        app_invalidate();
    } else if (a->run.have_state) {
        start_trainer(c, a->run.st.profile);
    } else {
        char dir[4200];
        train_config_find_dir(c->self_exe, dir, sizeof dir);
        pd->n = run_control_profiles(dir, pd->names, MAX_PROFILES);
        pd->sel = 0;
        for (int i = 0; i < pd->n; i++)
            if (!strcmp(pd->names[i], "quick_test")) pd->sel = i;
        pd->active = 1;
    }
}

static void profile_key(profile_dialog *pd, tui_ctx *c, int ch)
{
    int n = pd->n + 1;
    if (ch == KEY_UP || ch == 'k') pd->sel = (pd->sel + n - 1) % n;
    else if (ch == KEY_DOWN || ch == 'j' || ch == '\t') pd->sel = (pd->sel + 1) % n;
    else if (ch >= '1' && ch < '1' + n) pd->sel = ch - '1';
    else if (ch == 27 || ch == 'q' || ch == KEY_F(10)) {
        pd->active = 0;
        set_msg(c, 0, "%snothing started", NULL, 0);
    } else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        pd->active = 0;
        start_trainer(c, pd->sel < pd->n ? pd->names[pd->sel] : NULL);
    }
}

static void profile_draw(const profile_dialog *pd, WINDOW *body)
{
    char rows[MAX_PROFILES + 1][64];
    const char *lines[MAX_PROFILES + 4];
    int k = 0;
    lines[k++] = "Train with which profile? (configs/profiles)";
    for (int i = 0; i <= pd->n; i++) {
        snprintf(rows[i], sizeof rows[i], "%c %d  %s", i == pd->sel ? '>' : ' ', i + 1,
                 i < pd->n ? pd->names[i] : "none: the stage configs as written");
        lines[k++] = rows[i];
    }
    char help[64];
    snprintf(help, sizeof help, "Up/Down or 1-%d choose, Enter starts, Esc cancels", pd->n + 1);
    lines[k++] = help;
    widget_dialog(body, "Start training", lines, k, NULL);
}

static void pause_resume(tui_ctx *c)
{
    app_state *a = app_get();
    if (a->run.pid <= 0) set_msg(c, 1, "%sno trainer is running (F2 starts one)", NULL, 0);
    else if (a->run.state == RUN_PAUSED) {
        run_control_resume(a->run.pid);
        set_msg(c, 0, "%sresumed trainer pid %d", NULL, a->run.pid);
    } else {
        run_control_pause(a->run.pid);
        set_msg(c, 0, "%spaused trainer pid %d (SIGSTOP); F6 resumes", NULL, a->run.pid);
    }
    app_invalidate();
}

/* The clear dialog: typed "yes" then Enter runs `aurl clear --yes`. */
typedef struct {
    int active;
    char input[8];
} clear_dialog;

static void clear_key(clear_dialog *d, tui_ctx *c, int ch)
{
    size_t n = strlen(d->input);
    if (ch == 27) {
        d->active = 0;
        set_msg(c, 0, "%snothing cleared", NULL, 0);
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (n) d->input[n - 1] = 0;
    } else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        d->active = 0;
        if (strcmp(d->input, "yes") != 0) {
            set_msg(c, 0, "%snothing cleared (type yes to confirm)", NULL, 0);
            return;
        }
        if (app_get()->run.pid > 0) {
            set_msg(c, 1, "%sa trainer (pid %d) is running: stop it first (F2)", NULL, app_get()->run.pid);
            return;
        }
        const char *args[] = {"clear", "--yes", NULL};
        char out[256];
        int rc = run_control_spawn(c->self_exe, c->g, args, out, sizeof out, 60);
        set_msg(c, rc != 0, "%s", out[0] ? out : rc == 0 ? "cleared" : "clear failed", 0);
        app_invalidate();
    } else if (ch >= 32 && ch < 127 && n + 1 < sizeof d->input) {
        d->input[n] = (char)ch;
        d->input[n + 1] = 0;
    }
}

/* Everything the workbench loop keeps between frames. */
typedef struct {
    tui_ctx c;
    const aurl_globals *g;
    tui_screen *screens[SCREEN_COUNT];
    layout l;
    int cur;         /* index of the visible screen */
    int full;        /* redraw the body this frame */
    int repaint;     /* repaint the whole terminal (resize, Ctrl-L) */
    clear_dialog clr;
    profile_dialog prof;
    char last_msg[256]; /* the message line last drawn */
    run_state shown_state;
} workbench;

/* Refresh the run state and pull captured stderr into the log; sets the
 * messages for a finished stop and a new failure. 1 when anything changed. */
static int poll_state(workbench *w)
{
    tui_ctx *c = &w->c;
    c->now = clock_monotonic();
    int was_stopping = app_get()->stopping_pid;
    int changed = app_refresh(c->now);
    if (was_stopping && !app_get()->stopping_pid)
        set_msg(c, 0, "%strainer pid %d stopped after writing its checkpoint; F2 resumes", NULL, was_stopping);
    if (app_get()->run.state == RUN_FAILED && w->shown_state != RUN_FAILED && app_get()->tail.fail_msg[0]) {
        snprintf(c->message, sizeof c->message, "training failed: %s", app_get()->tail.fail_msg);
        c->message_is_error = 1;
    }
    w->shown_state = app_get()->run.state;
    char line[256];
    while (term_stderr_line(line, sizeof line)) {
        mtail_add_event(&app_get()->tail, 1, line);
        changed = 1;
    }
    return changed;
}

/* The body: screen S, or one global dialog (clear, profile) alone. */
static void draw_body(workbench *w, tui_screen *s)
{
    WINDOW *body = w->l.body;
    if (w->clr.active || w->prof.active) werase(body); /* a global dialog alone, not over another one */
    else s->draw(s, &w->c, body);
    if (w->clr.active) {
        char l2[160];
        snprintf(l2, sizeof l2, "Remove training state, checkpoints and logs in %s?", w->g->outputs_dir);
        const char *lines[] = {l2, "Data and the token cache are kept.", "Type yes and Enter; Esc cancels."};
        widget_dialog(body, "Clear", lines, 3, w->clr.input);
    }
    if (w->prof.active) profile_draw(&w->prof, body);
    wnoutrefresh(body);
}

/* One frame: the tiny-terminal notice, or whatever of header, body,
 * message line and key bar changed (CHANGED: the run state did), with one
 * doupdate(). */
static void draw_frame(workbench *w, int changed)
{
    layout *l = &w->l;
    tui_screen *s = w->screens[w->cur];
    int body_dirty = (s->tick && s->tick(s, &w->c)) || w->full;
    if (l->too_small) {
        if (w->full) {
            werase(stdscr);
            mvwprintw(stdscr, 0, 0, "aurl: terminal %dx%d is too small", l->W, l->H);
            mvwprintw(stdscr, 1, 0, "enlarge the terminal to %dx%d (q quits)", MIN_W, MIN_H);
            wnoutrefresh(stdscr);
            doupdate();
        }
    } else if (body_dirty || changed || strcmp(w->last_msg, w->c.message) != 0) {
        if (w->repaint) clearok(curscr, TRUE);
        draw_header(l, &w->c, s->name);
        if (body_dirty || w->clr.active || w->prof.active) draw_body(w, s);
        draw_msg(l, &w->c, s);
        draw_keys(l);
        doupdate();
        snprintf(w->last_msg, sizeof w->last_msg, "%s", w->c.message);
    }
}

/* A key no screen took: F-keys and their letter aliases. */
static void global_key(workbench *w, int ch)
{
    tui_ctx *c = &w->c;
    switch (ch) {
    case KEY_F(1): case 'h': case '?': c->switch_to = SCREEN_HELP; break;
    case KEY_F(2): case 's': start_or_stop(c, &w->prof); break;
    case KEY_F(3): case 'd': c->switch_to = SCREEN_DATA; break;
    case KEY_F(4): case 'g': c->switch_to = SCREEN_GENERATE; break;
    case KEY_F(5): case 't': c->switch_to = SCREEN_STAGES; break;
    case KEY_F(6): case 'p': pause_resume(c); break;
    case KEY_F(8): case 'c':
        w->clr.active = 1;
        w->clr.input[0] = 0;
        break;
    case KEY_F(10): case 'q': c->quit = 1; break;
    case 27: case KEY_BACKSPACE: case 127: c->switch_to = SCREEN_DASHBOARD; break;
    default: break;
    }
}

/* Show the screen c.switch_to asks for, if it is another valid one. */
static void switch_screen(workbench *w)
{
    tui_ctx *c = &w->c;
    if (c->switch_to < 0 || c->switch_to >= SCREEN_COUNT || c->switch_to == w->cur) return;
    tui_screen *s = w->screens[w->cur];
    if (s->leave) s->leave(s, c);
    w->cur = c->switch_to;
    if (w->screens[w->cur]->enter) w->screens[w->cur]->enter(w->screens[w->cur], c);
}

/* Dispatch key CH: resize and Ctrl-L, an open dialog, the tiny-terminal
 * notice, the visible screen, then the global keys. Sets what the next
 * frame redraws. */
static void handle_key(workbench *w, int ch)
{
    tui_ctx *c = &w->c;
    if (ch == KEY_RESIZE) {
        layout_make(&w->l);
        w->full = w->repaint = 1;
        return;
    }
    if (ch == 12) { /* Ctrl-L */
        w->full = w->repaint = 1;
        return;
    }
    c->message[0] = 0;
    if (w->clr.active || w->prof.active) {
        if (w->clr.active) clear_key(&w->clr, c, ch);
        else profile_key(&w->prof, c, ch);
        w->full = 1;
        return;
    }
    if (w->l.too_small) {
        if (ch == 'q' || ch == KEY_F(10)) c->quit = 1;
        return;
    }
    c->switch_to = -1;
    tui_screen *s = w->screens[w->cur];
    int handled = s->key && s->key(s, c, ch) == SCREEN_KEY_HANDLED;
    if (!handled) global_key(w, ch);
    switch_screen(w);
    w->full = 1;
}

/* The path of the running binary (for spawning `aurl train` and friends). */
static const char *self_exe(void)
{
    static char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) snprintf(self, sizeof self, "%s", "aurl");
    else self[n] = 0;
    return self;
}

int tui_run(const tui_options *opt, const aurl_globals *g, tui_result *res)
{
    memset(res, 0, sizeof *res);
    workbench wb = {.g = g, .cur = SCREEN_DASHBOARD, .full = 1, .shown_state = RUN_IDLE};
    workbench *w = &wb;
    w->c = (tui_ctx){.g = g, .self_exe = self_exe(), .switch_to = -1};
    app_init(g);
    tui_screen *const made[SCREEN_COUNT] = {dashboard_screen_create(), data_screen_create(),
                                            generate_screen_create(), stages_screen_create(), help_screen_create()};
    for (int i = 0; i < SCREEN_COUNT; i++) {
        w->screens[i] = made[i];
        if (!made[i]) {
            snprintf(res->err, sizeof res->err, "out of memory");
            return -1;
        }
    }
    if (term_init(opt->ascii, res->err) != 0) return -1;
    layout_make(&w->l);
    w->c.now = clock_monotonic();
    app_refresh(w->c.now);
    if (w->screens[w->cur]->enter) w->screens[w->cur]->enter(w->screens[w->cur], &w->c);
    while (!w->c.quit && !term_quit_requested()) {
        int changed = poll_state(w);
        draw_frame(w, changed);
        w->full = w->repaint = 0;
        int ch = wgetch(w->l.keys);
        if (ch != ERR) handle_key(w, ch);
    }
    layout_free(&w->l);
    term_end();
    for (int i = 0; i < SCREEN_COUNT; i++)
        if (w->screens[i]->destroy) w->screens[i]->destroy(w->screens[i]);
    app_state *a = app_get();
    run_control_refresh(&a->run, g->outputs_dir, 0);
    res->trainer_pid = a->run.pid > 0 ? a->run.pid : 0;
    res->trainer_paused = a->run.pid > 0 && a->run.state == RUN_PAUSED;
    app_free();
    return 0;
}
