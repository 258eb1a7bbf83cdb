/* tui_main: `aurl` / `aurl tui` — the ncurses workbench loop: header line
 * (run state, stage, epoch, step, profile), the current screen's body,
 * a message line and the function-key bar; global keys, the clear dialog,
 * start/stop/pause of the detached trainer, resize and tiny-terminal
 * notice. Redraws only what changed, one doupdate() per frame. */
#include "tui/tui_main.h"

#include <stdio.h>
#include <stdlib.h>
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

static void usage(FILE *f)
{
    fprintf(f, "usage: aurl [tui] [--ascii]\n\n"
               "The terminal workbench: dashboard of the training run in --outputs (attaches to\n"
               "a running trainer or starts one detached), data, generate, stages and help\n"
               "screens. Quitting never stops training.\n\n"
               "  --ascii   ASCII glyphs only (also when the locale is not UTF-8)\n"
               "NO_COLOR=1 turns colours off.\n");
}

int tui_main(int argc, char **argv, const aurl_globals *g)
{
    int ascii = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ascii")) ascii = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", argv[0], argv[i]);
            usage(stderr);
            return 2;
        }
    }
    static char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) snprintf(self, sizeof self, "%s", "aurl");
    else self[n] = 0;
    tui_ctx c = {.g = g, .self_exe = self, .switch_to = -1};
    app_init(g);
    tui_screen *screens[SCREEN_COUNT] = {dashboard_screen_create(), data_screen_create(), generate_screen_create(),
                                         stages_screen_create(), help_screen_create()};
    for (int i = 0; i < SCREEN_COUNT; i++)
        if (!screens[i]) {
            fprintf(stderr, "%s: out of memory\n", argv[0]);
            return 1;
        }
    if (term_init(ascii) != 0) return 1;
    layout l = {0};
    layout_make(&l);
    int cur = SCREEN_DASHBOARD, full = 1, repaint = 0;
    clear_dialog clr = {0};
    profile_dialog prof = {0};
    c.now = clock_monotonic();
    app_refresh(c.now);
    if (screens[cur]->enter) screens[cur]->enter(screens[cur], &c);
    char last_msg[256] = "";
    run_state shown_state = RUN_IDLE;
    while (!c.quit && !term_quit_requested()) {
        c.now = clock_monotonic();
        int was_stopping = app_get()->stopping_pid;
        int changed = app_refresh(c.now);
        if (was_stopping && !app_get()->stopping_pid)
            set_msg(&c, 0, "%strainer pid %d stopped after writing its checkpoint; F2 resumes", NULL, was_stopping);
        if (app_get()->run.state == RUN_FAILED && shown_state != RUN_FAILED && app_get()->tail.fail_msg[0]) {
            snprintf(c.message, sizeof c.message, "training failed: %s", app_get()->tail.fail_msg);
            c.message_is_error = 1;
        }
        shown_state = app_get()->run.state;
        char line[256];
        while (term_stderr_line(line, sizeof line)) {
            mtail_add_event(&app_get()->tail, 1, line);
            changed = 1;
        }
        tui_screen *s = screens[cur];
        int body_dirty = (s->tick && s->tick(s, &c)) || full;
        if (l.too_small) {
            if (full) {
                werase(stdscr);
                mvwprintw(stdscr, 0, 0, "aurl: terminal %dx%d is too small", l.W, l.H);
                mvwprintw(stdscr, 1, 0, "enlarge the terminal to %dx%d (q quits)", MIN_W, MIN_H);
                wnoutrefresh(stdscr);
                doupdate();
            }
        } else if (body_dirty || changed || strcmp(last_msg, c.message) != 0) {
            if (repaint) clearok(curscr, TRUE);
            draw_header(&l, &c, s->name);
            if (body_dirty || clr.active || prof.active) {
                if (clr.active || prof.active) werase(l.body); /* a global dialog alone, not over another one */
                else s->draw(s, &c, l.body);
                if (clr.active) {
                    char l2[160];
                    snprintf(l2, sizeof l2, "Remove training state, checkpoints and logs in %s?", g->outputs_dir);
                    const char *lines[] = {l2, "Data and the token cache are kept.", "Type yes and Enter; Esc cancels."};
                    widget_dialog(l.body, "Clear", lines, 3, clr.input);
                }
                if (prof.active) profile_draw(&prof, l.body);
                wnoutrefresh(l.body);
            }
            draw_msg(&l, &c, s);
            draw_keys(&l);
            doupdate();
            snprintf(last_msg, sizeof last_msg, "%s", c.message);
        }
        full = repaint = 0;
        int ch = wgetch(l.keys);
        if (ch == ERR) continue;
        if (ch == KEY_RESIZE) {
            layout_make(&l);
            full = repaint = 1;
            continue;
        }
        if (ch == 12) { /* Ctrl-L */
            full = repaint = 1;
            continue;
        }
        c.message[0] = 0;
        if (clr.active) {
            clear_key(&clr, &c, ch);
            full = 1;
            continue;
        }
        if (prof.active) {
            profile_key(&prof, &c, ch);
            full = 1;
            continue;
        }
        if (l.too_small) {
            if (ch == 'q' || ch == KEY_F(10)) c.quit = 1;
            continue;
        }
        c.switch_to = -1;
        int handled = s->key && s->key(s, &c, ch) == SCREEN_KEY_HANDLED;
        if (!handled) {
            switch (ch) {
            case KEY_F(1): case 'h': case '?': c.switch_to = SCREEN_HELP; break;
            case KEY_F(2): case 's': start_or_stop(&c, &prof); break;
            case KEY_F(3): case 'd': c.switch_to = SCREEN_DATA; break;
            case KEY_F(4): case 'g': c.switch_to = SCREEN_GENERATE; break;
            case KEY_F(5): case 't': c.switch_to = SCREEN_STAGES; break;
            case KEY_F(6): case 'p': pause_resume(&c); break;
            case KEY_F(8): case 'c':
                clr.active = 1;
                clr.input[0] = 0;
                break;
            case KEY_F(10): case 'q': c.quit = 1; break;
            case 27: case KEY_BACKSPACE: case 127: c.switch_to = SCREEN_DASHBOARD; break;
            default: break;
            }
        }
        if (c.switch_to >= 0 && c.switch_to < SCREEN_COUNT && c.switch_to != cur) {
            if (s->leave) s->leave(s, &c);
            cur = c.switch_to;
            if (screens[cur]->enter) screens[cur]->enter(screens[cur], &c);
        }
        full = 1;
    }
    layout_free(&l);
    term_end();
    for (int i = 0; i < SCREEN_COUNT; i++)
        if (screens[i]->destroy) screens[i]->destroy(screens[i]);
    app_state *a = app_get();
    run_control_refresh(&a->run, g->outputs_dir, 0);
    if (a->run.pid > 0 && a->run.state == RUN_PAUSED)
        printf("the trainer (pid %d) stays PAUSED in the background: `aurl` and F6 resume it (or kill -CONT %d)\n",
               a->run.pid, a->run.pid);
    else if (a->run.pid > 0)
        printf("training continues in the background (pid %d); `aurl` to reattach, `aurl status` for a summary\n",
               a->run.pid);
    app_free();
    return 0;
}
