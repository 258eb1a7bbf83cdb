/* generate_screen: the Generate screen: a small settings form (strategy,
 * temperature, top-k/p, beams, length, seconds, seed, mode), `g` runs
 * `aurl generate --progress --json` as a child process with a progress bar
 * (Esc/x cancels), the list of generated pieces (newest first), Enter opens
 * a piece as a piano roll with a playhead (each piece with its music
 * metrics: notes/s, polyphony, pitch-class entropy, distance to data), `p` plays it through fluidsynth
 * or, without an audio device, renders a WAV and shows its path. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/audition.h"
#include "data/midi_worker.h"
#include "engine/train/ckpt_pick.h"
#include "tui/gen_list.h"
#include "tui/gen_run.h"
#include "tui/roll_draw.h"
#include "tui/screen.h"
#include "tui/term.h"
#include "tui/widgets.h"

#define ESC 27
#define RESCAN_SECONDS 2.0

typedef enum { FOCUS_FORM, FOCUS_LIST } gs_focus;

typedef struct {
    gform form;
    int field;             /* selected form field */
    int editing;           /* typing a number into the field */
    char edit[32];
    gs_focus focus;
    glist list;
    size_t sel, top;
    double next_scan;
    char ckpt[4096];       /* best checkpoint, "" when none */
    char ckpt_err[AURL_ERR_LEN];
    int ckpt_stage;
    gen_run run;
    int run_reported;      /* the end of the last run was reported */
    audition *play;
    char play_name[256];   /* piece playing */
    int render_pending;    /* ticks until the WAV render (after "rendering..." is shown) */
    char render_mid[4096], render_wav[4096];
    int roll_open;
    char roll_name[256];
    roll_state roll;
    double last_pos;
    int dirty;
} gs_state;


static void check_ckpt(gs_state *st, tui_ctx *c)
{
    st->ckpt_err[0] = 0;
    ckpt_pick_kind kind = st->form.mode == GFORM_MODE_VAE ? CKPT_PICK_VAE : CKPT_PICK_TRANSFORMER;
    if (ckpt_pick_best(c->g->outputs_dir, kind, st->ckpt, sizeof st->ckpt, &st->ckpt_stage, st->ckpt_err) != 0)
        st->ckpt[0] = 0;
}

/* Rescan the generated pieces; 1 when the list changed. Keeps the selection on its piece. */
static int rescan(gs_state *st, tui_ctx *c)
{
    char keep[256] = "";
    if (st->sel < st->list.n) snprintf(keep, sizeof keep, "%s", st->list.items[st->sel].name);
    glist fresh = {0};
    char err[AURL_ERR_LEN];
    if (glist_scan(&fresh, c->g->outputs_dir, err) != 0) return 0;
    int changed = fresh.n != st->list.n;
    for (size_t i = 0; !changed && i < fresh.n; i++)
        changed = strcmp(fresh.items[i].name, st->list.items[i].name) || fresh.items[i].mtime != st->list.items[i].mtime ||
                  fresh.items[i].ok != st->list.items[i].ok;
    if (!changed) {
        glist_free(&fresh);
        return 0;
    }
    glist_free(&st->list);
    st->list = fresh;
    long k = keep[0] ? glist_find(&st->list, keep) : -1;
    st->sel = k >= 0 ? (size_t)k : 0;
    return 1;
}

static void enter(tui_screen *s, tui_ctx *c)
{
    gs_state *st = s->state;
    check_ckpt(st, c);
    rescan(st, c);
    st->next_scan = c->now + RESCAN_SECONDS;
    st->dirty = 1;
}

static void stop_play(gs_state *st)
{
    audition_stop(st->play);
    st->play = NULL;
    st->play_name[0] = 0;
}

static void finish_run(gs_state *st, tui_ctx *c)
{
    gen_run *r = &st->run;
    st->run_reported = 1;
    if (r->cancelled) tui_message(c, 0, "generation cancelled");
    else if (r->exit_code != 0)
        tui_message(c, 1, "generate failed (exit %d): %s", r->exit_code, r->last_error[0] ? r->last_error : "no message");
    else {
        rescan(st, c);
        st->form.s.seed++; /* the next `g` makes a new piece, not a copy of this one */
        st->sel = 0; /* newest first */
        st->focus = FOCUS_LIST;
        if (st->list.n) {
            const glist_item *it = &st->list.items[0];
            tui_message(c, 0, "generated %s: %ld notes, %.1f s of music in %.1f s", it->name, it->n_notes, it->duration,
                it->seconds_taken);
        } else tui_message(c, 0, "generation finished");
    }
}

static void do_render(gs_state *st, tui_ctx *c)
{
    char err[AURL_ERR_LEN];
    double peak = 0;
    if (audition_render_wav(st->render_mid, st->render_wav, NULL, &peak, err) != 0) tui_message(c, 1, "cannot render a WAV: %s", err);
    else tui_message(c, 0, "WAV: %s (no audio device; peak %.2f)", st->render_wav, peak);
}

static int tick(tui_screen *s, tui_ctx *c)
{
    gs_state *st = s->state;
    int changed = st->dirty;
    st->dirty = 0;
    if (st->run.pid > 0 && !st->run_reported) {
        changed |= gen_run_poll(&st->run);
        if (st->run.finished) {
            finish_run(st, c);
            changed = 1;
        }
    }
    if (st->render_pending > 0 && --st->render_pending == 0) {
        do_render(st, c);
        changed = 1;
    }
    if (st->play) {
        if (!audition_playing(st->play)) {
            stop_play(st);
            changed = 1;
        } else {
            double pos = audition_position(st->play);
            if (st->roll_open && !strcmp(st->roll_name, st->play_name)) {
                roll_follow(&st->roll, pos);
                if (pos - st->last_pos > st->roll.v.spc / 2 || pos < st->last_pos) changed = 1;
            } else if (pos - st->last_pos >= 1.0 || pos < st->last_pos) changed = 1;
            if (changed) st->last_pos = pos;
        }
    }
    if (c->now >= st->next_scan) {
        st->next_scan = c->now + RESCAN_SECONDS;
        changed |= rescan(st, c);
        char old[sizeof st->ckpt];
        memcpy(old, st->ckpt, sizeof old);
        check_ckpt(st, c);
        changed |= strcmp(old, st->ckpt) != 0;
    }
    return changed;
}

static void draw_form(gs_state *st, WINDOW *w, int y, int wd)
{
    int colw = wd / 3 > 20 ? wd / 3 : 20;
    for (int f = 0; f < GFORM_N_FIELDS; f++) {
        int row = f % 3, col = f / 3;
        char val[64], line[128];
        if (st->editing && f == st->field) snprintf(val, sizeof val, "%s_", st->edit);
        else gform_value(&st->form, (gform_field)f, val, sizeof val);
        snprintf(line, sizeof line, "%-12s %-*s", gform_label((gform_field)f), colw - 14, val);
        attr_t a = !gform_relevant(&st->form, (gform_field)f) ? term_attr(ROLE_DIM) : A_NORMAL;
        if (f == st->field && st->focus == FOCUS_FORM) a = term_attr(ROLE_SELECTED);
        roll_put(w, y + row, col * colw, colw - 1, a, line);
    }
}

static void draw_progress(gs_state *st, WINDOW *w, int y, int wd)
{
    gen_run *r = &st->run;
    char line[512];
    if (gen_run_active(r) && !st->run_reported) {
        int barw = wd - 46 > 10 ? wd - 46 : 10;
        double frac = r->total > 0 ? (double)r->done / (double)r->total : 0;
        snprintf(line, sizeof line, "Generating %5ld/%-5ld", r->done, r->total);
        roll_put(w, y, 0, 22, term_attr(ROLE_ACCENT), line);
        widget_bar(w, y, 23, barw, frac > 1 ? 1 : frac, term_attr(ROLE_ACCENT));
        roll_put(w, y, 24 + barw, wd - 24 - barw, term_attr(ROLE_DIM), "Esc/x cancel");
    } else if (!st->ckpt[0]) {
        snprintf(line, sizeof line, "No checkpoint yet: train first (F2).");
        roll_put(w, y, 0, wd, term_attr(ROLE_WARN), line);
    } else {
        const char *base = strrchr(st->ckpt, '/');
        snprintf(line, sizeof line, "Checkpoint: %s (stage %d)   g Generate", base ? base + 1 : st->ckpt, st->ckpt_stage);
        roll_put(w, y, 0, wd, term_attr(ROLE_GOOD), line);
    }
}

static void draw_list(gs_state *st, WINDOW *w, int y, int h, int wd)
{
    char line[512];
    int strat = wd >= 100; /* room for the strategy column */
    int name_w = wd - 6 - 8 - 8 - 4 - 26 - (strat ? 10 : 0);
    if (name_w < 12) name_w = 12;
    snprintf(line, sizeof line, "%-*s %6s %7s %7s %5s %5s %5s %5s  %s", name_w, "Generated piece", "Notes", "Length",
             "Took", "n/s", "poly", "H", "dist", "");
    roll_put(w, y, 0, wd, A_UNDERLINE | term_attr(ROLE_TITLE), line);
    int rows = h - y - 1;
    if (!st->list.n) {
        roll_put(w, y + 1, 2, wd - 2, term_attr(ROLE_DIM), "Nothing generated yet: press g.");
        return;
    }
    if (st->sel >= st->list.n) st->sel = st->list.n - 1;
    if (st->sel < st->top) st->top = st->sel;
    if (rows > 0 && st->sel >= st->top + (size_t)rows) st->top = st->sel - (size_t)rows + 1;
    for (int i = 0; i < rows && st->top + (size_t)i < st->list.n; i++) {
        size_t k = st->top + (size_t)i;
        const glist_item *it = &st->list.items[k];
        const char *mark = st->play && !strcmp(st->play_name, it->name) ? (term_unicode() ? "\u25b6" : ">") : " ";
        if (it->ok) {
            char dur[32], took[32];
            snprintf(dur, sizeof dur, "%.1fs", it->duration);
            snprintf(took, sizeof took, "%.1fs", it->seconds_taken);
            char m[4][16];
            const double mv[4] = {it->notes_per_second, it->polyphony, it->pc_entropy, it->distance};
            for (int q = 0; q < 4; q++)
                if (isfinite(mv[q])) snprintf(m[q], sizeof m[q], "%.*f", q == 0 ? 1 : 2, mv[q]);
                else snprintf(m[q], sizeof m[q], "-");
            snprintf(line, sizeof line, "%-*.*s %6ld %7s %7s %5s %5s %5s %5s  %s", name_w, name_w, it->name,
                     it->n_notes, it->duration >= 0 ? dur : "?", it->seconds_taken >= 0 ? took : "?", m[0], m[1],
                     m[2], m[3], strat ? it->strategy : "");
        } else
            snprintf(line, sizeof line, "%-*.*s  (%s)", name_w, name_w, it->name, it->error);
        attr_t a = k == st->sel && st->focus == FOCUS_LIST ? term_attr(ROLE_SELECTED)
                   : !it->ok                               ? term_attr(ROLE_BAD)
                                                           : A_NORMAL;
        roll_put(w, y + 1 + i, 0, 2, term_attr(ROLE_PLAYHEAD), mark);
        roll_put(w, y + 1 + i, 2, wd - 2, a, line);
    }
}

static void draw(tui_screen *s, tui_ctx *c, WINDOW *body)
{
    gs_state *st = s->state;
    werase(body);
    int h, wd;
    getmaxyx(body, h, wd);
    if (st->roll_open) {
        double ph = st->play && !strcmp(st->play_name, st->roll_name) ? audition_position(st->play) : -1;
        roll_draw(&st->roll, body, 0, 0, h, wd, ph);
        return;
    }
    roll_put(body, 0, 0, wd, term_attr(ROLE_TITLE), "Settings (Up/Dn field, Left/Right change, Enter type a value, Tab list)");
    draw_form(st, body, 1, wd);
    draw_progress(st, body, 5, wd);
    draw_list(st, body, 7, h, wd);
}

static void start_generate(gs_state *st, tui_ctx *c)
{
    char err[AURL_ERR_LEN];
    if (gen_run_active(&st->run) && !st->run_reported) {
        tui_message(c, 0, "already generating (Esc/x cancels)");
        return;
    }
    check_ckpt(st, c);
    if (!st->ckpt[0]) {
        tui_message(c, 1, "No checkpoint yet: train first (F2). (%s)", st->ckpt_err);
        return;
    }
    if (gform_validate(&st->form, err) != 0) {
        tui_message(c, 1, "%s", err);
        return;
    }
    gen_argv a;
    if (gen_argv_build(&a, c->self_exe, c->g->outputs_dir, c->g->data_dir, &st->form, st->ckpt) != 0) {
        tui_message(c, 1, "generate command line too long");
        return;
    }
    if (gen_run_start(&st->run, a.argv, err) != 0) {
        tui_message(c, 1, "cannot start aurl generate: %s", err);
        return;
    }
    st->run_reported = 0;
    tui_message(c, 0, "generating with %s, seed %llu...", sampler_strategy_name(st->form.s.strategy),
        (unsigned long long)st->form.s.seed);
}

static const glist_item *selected(gs_state *st)
{
    return st->sel < st->list.n ? &st->list.items[st->sel] : NULL;
}

static void toggle_play(gs_state *st, tui_ctx *c, const glist_item *it)
{
    if (st->play) {
        int same = it && !strcmp(st->play_name, it->name);
        stop_play(st);
        tui_message(c, 0, "stopped");
        if (same || !it) return;
    }
    if (!it || !it->mid_path[0]) {
        tui_message(c, 1, "nothing to play");
        return;
    }
    char err[AURL_ERR_LEN];
    if (audition_play(&st->play, it->mid_path, NULL, err) == 0) {
        snprintf(st->play_name, sizeof st->play_name, "%s", it->name);
        st->last_pos = 0;
        tui_message(c, 0, "playing %s (p stops)", it->name);
        return;
    }
    st->play = NULL;
    snprintf(st->render_mid, sizeof st->render_mid, "%s", it->mid_path);
    snprintf(st->render_wav, sizeof st->render_wav, "%s/generated/%s.wav", c->g->outputs_dir, it->name);
    st->render_pending = 2; /* draw the notice first, render on a later tick */
    tui_message(c, 0, "rendering %s.wav... (%s)", it->name, err);
}

static void open_roll(gs_state *st, tui_ctx *c, const glist_item *it)
{
    if (!it || !it->mid_path[0]) {
        tui_message(c, 1, "%s", it ? it->error : "nothing selected");
        return;
    }
    score sc;
    score_init(&sc);
    char err[AURL_ERR_LEN];
    if (midi_read_isolated(it->mid_path, &sc, err) != 0) {
        tui_message(c, 1, "%s", err);
        score_free(&sc);
        return;
    }
    roll_set(&st->roll, &sc, NULL, 0, it->name);
    snprintf(st->roll_name, sizeof st->roll_name, "%s", it->name);
    st->roll_open = 1;
}

static int is_enter(int ch) { return ch == '\n' || ch == '\r' || ch == KEY_ENTER; }
static int is_backspace(int ch) { return ch == KEY_BACKSPACE || ch == 127 || ch == 8; }

static int key_edit(gs_state *st, tui_ctx *c, int ch)
{
    size_t n = strlen(st->edit);
    if (ch == ESC) st->editing = 0;
    else if (is_enter(ch)) {
        char err[AURL_ERR_LEN];
        if (gform_set_text(&st->form, (gform_field)st->field, st->edit, err) != 0) tui_message(c, 1, "%s", err);
        else tui_message(c, 0, "%s set", gform_label((gform_field)st->field));
        st->editing = 0;
    } else if (is_backspace(ch)) {
        if (n) st->edit[n - 1] = 0;
    } else if (((ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == 'e') && n + 1 < sizeof st->edit) {
        st->edit[n] = (char)ch, st->edit[n + 1] = 0;
    } else if ((ch >= KEY_F(1) && ch <= KEY_F(12)) || ch == KEY_RESIZE)
        return SCREEN_KEY_UNHANDLED;
    return SCREEN_KEY_HANDLED;
}

static int key(tui_screen *s, tui_ctx *c, int ch)
{
    gs_state *st = s->state;
    st->dirty = 1;
    if (st->editing) return key_edit(st, c, ch);
    int running = gen_run_active(&st->run) && !st->run_reported;
    if (running && (ch == ESC || ch == 'x')) {
        gen_run_cancel(&st->run);
        tui_message(c, 0, "cancelling...");
        return SCREEN_KEY_HANDLED;
    }
    if (st->roll_open) {
        if (ch == ESC || is_backspace(ch)) {
            st->roll_open = 0;
            return SCREEN_KEY_HANDLED;
        }
        if (ch == 'p') {
            long k = glist_find(&st->list, st->roll_name);
            toggle_play(st, c, k >= 0 ? &st->list.items[k] : NULL);
            return SCREEN_KEY_HANDLED;
        }
        if (roll_key(&st->roll, ch)) return SCREEN_KEY_HANDLED;
        st->dirty = 0;
        return SCREEN_KEY_UNHANDLED;
    }
    switch (ch) {
    case 'g': start_generate(st, c); return SCREEN_KEY_HANDLED;
    case 'p': toggle_play(st, c, selected(st)); return SCREEN_KEY_HANDLED;
    case '\t': st->focus = st->focus == FOCUS_FORM ? FOCUS_LIST : FOCUS_FORM; return SCREEN_KEY_HANDLED;
    case 'x':
        if (st->play) {
            stop_play(st);
            return SCREEN_KEY_HANDLED;
        }
        break;
    default: break;
    }
    if (st->focus == FOCUS_FORM) {
        switch (ch) {
        case KEY_UP: st->field = (st->field + GFORM_N_FIELDS - 1) % GFORM_N_FIELDS; return SCREEN_KEY_HANDLED;
        case KEY_DOWN: st->field = (st->field + 1) % GFORM_N_FIELDS; return SCREEN_KEY_HANDLED;
        case KEY_LEFT: gform_step(&st->form, (gform_field)st->field, -1); return SCREEN_KEY_HANDLED;
        case KEY_RIGHT: gform_step(&st->form, (gform_field)st->field, +1); return SCREEN_KEY_HANDLED;
        default:
            if (is_enter(ch)) {
                if (gform_is_numeric((gform_field)st->field)) {
                    st->editing = 1;
                    st->edit[0] = 0;
                } else gform_step(&st->form, (gform_field)st->field, +1);
                return SCREEN_KEY_HANDLED;
            }
            if (ch >= '0' && ch <= '9' && gform_is_numeric((gform_field)st->field)) {
                st->editing = 1;
                st->edit[0] = (char)ch, st->edit[1] = 0;
                return SCREEN_KEY_HANDLED;
            }
        }
    } else {
        size_t n = st->list.n;
        switch (ch) {
        case KEY_UP: if (st->sel) st->sel--; return SCREEN_KEY_HANDLED;
        case KEY_DOWN: if (st->sel + 1 < n) st->sel++; return SCREEN_KEY_HANDLED;
        case KEY_PPAGE: st->sel = st->sel > 10 ? st->sel - 10 : 0; return SCREEN_KEY_HANDLED;
        case KEY_NPAGE: st->sel = st->sel + 10 < n ? st->sel + 10 : (n ? n - 1 : 0); return SCREEN_KEY_HANDLED;
        case KEY_HOME: st->sel = 0; return SCREEN_KEY_HANDLED;
        case KEY_END: st->sel = n ? n - 1 : 0; return SCREEN_KEY_HANDLED;
        default:
            if (is_enter(ch)) {
                open_roll(st, c, selected(st));
                return SCREEN_KEY_HANDLED;
            }
        }
    }
    st->dirty = 0;
    return SCREEN_KEY_UNHANDLED;
}

static const char *keybar(tui_screen *s)
{
    gs_state *st = s->state;
    if (st->editing) return "type a number  Enter set  Esc cancel";
    if (st->roll_open) return "p Play/Stop  <-/-> time  Up/Dn pitch  +/- zoom  Esc back";
    if (gen_run_active(&st->run) && !st->run_reported) return "Esc/x Cancel generation";
    return st->focus == FOCUS_FORM ? "g Generate  Enter Edit  Tab List  p Play" : "g Generate  Enter Roll  p Play/Stop  Tab Form";
}

static void leave(tui_screen *s, tui_ctx *c)
{
    (void)s, (void)c; /* keep generating and playing in the background */
}

static void destroy(tui_screen *s)
{
    gs_state *st = s->state;
    stop_play(st);
    gen_run_free(&st->run);
    glist_free(&st->list);
    roll_free(&st->roll);
    screen_free(s);
}

static const tui_screen OPS = {.name = "Generate", .enter = enter, .leave = leave, .tick = tick, .draw = draw,
                               .key = key, .keybar = keybar, .destroy = destroy};

tui_screen *generate_screen_create(void)
{
    tui_screen *s = screen_new(&OPS, sizeof(gs_state));
    if (!s) return NULL;
    gs_state *st = s->state;
    gform_init(&st->form);
    gen_run_init(&st->run);
    st->run_reported = 1;
    roll_init(&st->roll);
    st->dirty = 1;
    return s;
}
