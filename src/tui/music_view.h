/* music_view: the dashboard's Music page — the Music panel (the latest
 * training sample's metrics beside the data's with ratio bars, and the
 * summary distance over the samples as a chart), the Samples list (every
 * training sample by stage and step with its metrics), and the latest or
 * selected sample opened as a piano roll (o / Enter) or played (p; a WAV is
 * rendered when there is no audio device). Data from tui/music_panel. */
#ifndef AURL_TUI_MUSIC_VIEW_H
#define AURL_TUI_MUSIC_VIEW_H

#include <curses.h>

#include "data/audition.h"
#include "tui/music_panel.h"
#include "tui/roll_draw.h"
#include "tui/screen.h"

typedef struct {
    int list;              /* 1: the Samples list instead of the panel */
    msample_list samples;
    size_t sel, top;
    double next_scan;
    int roll_open;
    roll_state roll;
    char roll_path[4200];
    audition *play;
    char play_path[4200];
    int render_pending;
    char render_mid[4200], render_wav[4300];
} music_view;

void music_view_init(music_view *v);
void music_view_free(music_view *v);
/* Rescan the samples when due, poll playback and a pending render. 1 = redraw. */
int music_view_tick(music_view *v, tui_ctx *c);
/* Draw the panel or the list into the region (y, x, h, w) of W. */
void music_view_draw(music_view *v, WINDOW *w, int y, int x, int h, int wd);
/* Draw the open piano roll over all of W (only when v->roll_open). */
void music_view_draw_roll(music_view *v, WINDOW *w);
/* Keys of the Music page: o open the latest sample, p play/stop, v the
 * Samples list (Up/Down, Enter opens), Esc closes the roll or list.
 * SCREEN_KEY_HANDLED or SCREEN_KEY_UNHANDLED. */
int music_view_key(music_view *v, tui_ctx *c, int ch);
#endif
