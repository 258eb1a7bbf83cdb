/* Tests of src/tui/pianoroll: hand-built scores rasterised into cells:
 * pitches land in the right rows and halves, onsets and holds, drums
 * distinct, zoom and scroll, the playhead column, ASCII/one-per-row mode,
 * pitch fitting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tui/pianoroll.h"

static void add(score *s, double on, double off, int pitch, int instr)
{
    score_note n = {on, off, (uint8_t)pitch, 100, (uint8_t)instr};
    assert_int_equal(score_add_note(s, n), 0);
}

static proll_view view(int pitch_lo, int rows, int cols, double spc, int two)
{
    proll_view v = {0};
    v.pitch_lo = pitch_lo, v.rows = rows, v.cols = cols, v.spc = spc, v.two_per_row = two;
    return v;
}

/* Two pitches per row: 60 lower half of the bottom row, 61 upper half,
 * 62 the row above; columns from onset to offset. */
static void test_rows_and_halves(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    add(&s, 0.0, 0.5, 60, 0);  /* cols 0..3 at 0.125 s/col */
    add(&s, 0.25, 0.5, 61, 0); /* cols 2..3 */
    add(&s, 1.0, 1.1, 62, 0);  /* col 8 */
    proll_view v = view(60, 4, 16, 0.125, 1);
    proll_grid g = {0};
    assert_int_equal(proll_render(&s, &v, -1, &g), 0);
    const proll_cell *c = proll_at(&g, 3, 0);
    assert_int_equal(c->half[0], PROLL_ONSET);
    assert_int_equal(c->half[1], PROLL_NONE);
    assert_int_equal(proll_at(&g, 3, 1)->half[0], PROLL_HOLD);
    assert_int_equal(proll_at(&g, 3, 3)->half[0], PROLL_HOLD);
    assert_int_equal(proll_at(&g, 3, 4)->half[0], PROLL_NONE); /* offset 0.5 is the start of col 4: not reached */
    assert_int_equal(proll_at(&g, 3, 2)->half[1], PROLL_ONSET);
    assert_int_equal(proll_at(&g, 3, 1)->half[1], PROLL_NONE);
    assert_int_equal(proll_at(&g, 2, 8)->half[0], PROLL_ONSET);
    assert_int_equal(proll_at(&g, 2, 9)->half[0], PROLL_NONE);
    /* glyphs: lower only, both, upper only */
    assert_string_equal(proll_glyph(proll_at(&g, 3, 1), 1, 1), "\u2584");
    assert_string_equal(proll_glyph(proll_at(&g, 3, 2), 1, 1), "\u2588");
    assert_string_equal(proll_glyph(proll_at(&g, 3, 5), 1, 1), " ");
    assert_string_equal(proll_glyph(proll_at(&g, 3, 2), 0, 1), ":");
    assert_string_equal(proll_glyph(proll_at(&g, 3, 1), 0, 1), ".");
    /* pitch of each row/half */
    assert_int_equal(proll_row_pitch(&v, 3, 0), 60);
    assert_int_equal(proll_row_pitch(&v, 3, 1), 61);
    assert_int_equal(proll_row_pitch(&v, 0, 1), 67);
    /* nothing outside the pitch window is drawn */
    int marked = 0;
    for (int r = 0; r < g.rows; r++)
        for (int k = 0; k < g.cols; k++) marked += proll_at(&g, r, k)->half[0] != 0 || proll_at(&g, r, k)->half[1] != 0;
    assert_int_equal(marked, 4 + 1); /* 4 cols of 60 (2 shared with 61) + 1 col of 62 */
    proll_grid_free(&g);
    score_free(&s);
}

static void test_drums_distinct(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    add(&s, 0.0, 0.1, 36, SCORE_DRUMS);
    add(&s, 0.0, 1.0, 37, 3);           /* guitar in the upper half of the same cell */
    add(&s, 0.5, 0.6, 38, 3);
    proll_view v = view(36, 2, 8, 0.125, 1);
    proll_grid g = {0};
    assert_int_equal(proll_render(&s, &v, -1, &g), 0);
    const proll_cell *c = proll_at(&g, 1, 0);
    assert_int_equal(c->family[0], SCORE_DRUMS);
    assert_int_equal(c->family[1], 3);
    assert_int_equal(proll_cell_family(c), SCORE_DRUMS);
    assert_int_equal(proll_cell_family(proll_at(&g, 1, 1)), 3);
    /* drums use their own glyphs, different from melodic ones */
    assert_string_equal(proll_glyph(c, 1, 1), "\u258c");
    assert_string_not_equal(proll_glyph(c, 1, 1), proll_glyph(proll_at(&g, 1, 1), 1, 1));
    assert_string_equal(proll_glyph(proll_at(&g, 1, 1), 1, 1), "\u2580");
    /* one per row, ASCII: drum x, onset #, hold = */
    proll_view v1 = view(36, 3, 8, 0.125, 0);
    assert_int_equal(proll_render(&s, &v1, -1, &g), 0);
    assert_string_equal(proll_glyph(proll_at(&g, 2, 0), 0, 0), "x");
    assert_string_equal(proll_glyph(proll_at(&g, 1, 0), 0, 0), "#");
    assert_string_equal(proll_glyph(proll_at(&g, 1, 3), 0, 0), "=");
    assert_string_equal(proll_glyph(proll_at(&g, 0, 4), 0, 0), "#"); /* 38 onset at 0.5 s */
    /* a drum hit overrides a melodic note in the same half */
    score_free(&s);
    score_init(&s);
    add(&s, 0.0, 1.0, 40, 0);
    add(&s, 0.25, 0.3, 40, SCORE_DRUMS);
    proll_view v2 = view(40, 1, 8, 0.125, 0);
    assert_int_equal(proll_render(&s, &v2, -1, &g), 0);
    assert_int_equal(proll_at(&g, 0, 2)->family[0], SCORE_DRUMS);
    assert_int_equal(proll_at(&g, 0, 1)->family[0], 0);
    proll_grid_free(&g);
    score_free(&s);
}

static void test_zoom_scroll_playhead(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    add(&s, 2.0, 2.5, 60, 0);
    add(&s, 9.0, 10.0, 72, 0);
    proll_view v;
    proll_view_init(&v, &s, 10, 40, 1);
    /* fitted: both 60 and 72 visible */
    assert_true(v.pitch_lo <= 60 && v.pitch_lo + proll_pitch_span(&v) > 72);
    assert_true(v.spc == PROLL_DEFAULT_SPC);
    proll_grid g = {0};
    assert_int_equal(proll_render(&s, &v, 1.0, &g), 0);
    /* note at 2.0 s is column 16 at 0.125 s/col; playhead at 1.0 s is column 8 */
    int row60 = v.rows - 1 - (60 - v.pitch_lo) / 2, half60 = (60 - v.pitch_lo) % 2;
    assert_int_equal(proll_at(&g, row60, 16)->half[half60], PROLL_ONSET);
    for (int r = 0; r < v.rows; r++) assert_int_equal(proll_at(&g, r, 8)->playhead, 1);
    assert_int_equal(proll_at(&g, 0, 7)->playhead, 0);
    assert_string_equal(proll_glyph(proll_at(&g, 0, 8), 0, 1), "|");
    /* zoom out x2 around column 0: the note moves to column 8 */
    proll_zoom(&v, 2.0, 0);
    assert_true(v.spc == 0.25);
    assert_int_equal(proll_render(&s, &v, -1, &g), 0);
    assert_int_equal(proll_at(&g, row60, 8)->half[half60], PROLL_ONSET);
    /* zoom clamps */
    for (int i = 0; i < 20; i++) proll_zoom(&v, 0.5, 0);
    assert_true(v.spc == PROLL_MIN_SPC);
    for (int i = 0; i < 20; i++) proll_zoom(&v, 2.0, 0);
    assert_true(v.spc == PROLL_MAX_SPC);
    /* scroll: 8 columns right at 0.25 s/col = 2 s: the note is now at column 0 */
    v.spc = 0.25, v.t0 = 0;
    proll_scroll_time(&v, 8, score_duration(&s));
    assert_true(v.t0 == 2.0);
    assert_int_equal(proll_render(&s, &v, -1, &g), 0);
    assert_int_equal(proll_at(&g, row60, 0)->half[half60], PROLL_ONSET);
    /* scroll clamps at both ends */
    proll_scroll_time(&v, -1000, 10.0);
    assert_true(v.t0 == 0);
    proll_scroll_time(&v, 100000, 10.0);
    assert_true(v.t0 <= 10.0 && v.t0 > 5.0);
    /* a note that started left of the view still shows as held, not as an onset */
    v.t0 = 9.5;
    assert_int_equal(proll_render(&s, &v, -1, &g), 0);
    int row72 = v.rows - 1 - (72 - v.pitch_lo) / 2, half72 = (72 - v.pitch_lo) % 2;
    assert_int_equal(proll_at(&g, row72, 0)->half[half72], PROLL_HOLD);
    /* pitch scroll clamps to 0..127 */
    proll_scroll_pitch(&v, 1000);
    assert_int_equal(v.pitch_lo + proll_pitch_span(&v), 128);
    proll_scroll_pitch(&v, -1000);
    assert_int_equal(v.pitch_lo, 0);
    /* follow: a playhead past the right edge pages the view */
    v.t0 = 0, v.spc = 0.125;
    assert_int_equal(proll_follow(&v, 1.0), 0);
    assert_int_equal(proll_follow(&v, 7.0), 1);
    assert_true(v.t0 < 7.0 && 7.0 < v.t0 + v.cols * v.spc);
    proll_grid_free(&g);
    score_free(&s);
}

static void test_fit_and_names(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    proll_view v;
    proll_view_init(&v, &s, 5, 10, 0); /* empty: centred on middle C */
    assert_true(v.pitch_lo <= 60 && v.pitch_lo + 5 > 60);
    add(&s, 0, 1, 21, 0);
    add(&s, 0, 1, 108, 0);
    proll_fit_pitch(&v, &s); /* taller than the view: from the lowest note */
    assert_int_equal(v.pitch_lo, 21);
    add(&s, 0, 1, 127, 0);
    v.two_per_row = 1;
    v.pitch_lo = 125;
    proll_scroll_pitch(&v, 0);
    assert_int_equal(v.pitch_lo, 118);
    char buf[8];
    proll_pitch_name(60, buf, sizeof buf);
    assert_string_equal(buf, "C4");
    proll_pitch_name(61, buf, sizeof buf);
    assert_string_equal(buf, "C#4");
    proll_pitch_name(21, buf, sizeof buf);
    assert_string_equal(buf, "A0");
    /* a note past the view and one far outside the pitch range never touch memory outside */
    proll_grid g = {0};
    add(&s, 1e6, 1e6 + 1, 60, 0);
    add(&s, -5, -4, 60, 0);
    assert_int_equal(proll_render(&s, &v, 1e9, &g), 0);
    proll_grid_free(&g);
    score_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_and_halves),
        cmocka_unit_test(test_drums_distinct),
        cmocka_unit_test(test_zoom_scroll_playhead),
        cmocka_unit_test(test_fit_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
