/* Unit tests of tui/chart: braille/block/ASCII canvas, scaling, ticks,
 * EMA and line plots (no terminal needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "tui/chart.h"

static void test_braille_dots(void **state)
{
    chart_canvas c;
    assert_int_equal(chart_canvas_init(&c, 3, 2, CHART_BRAILLE), 0);
    assert_int_equal(chart_px_w(&c), 6);
    assert_int_equal(chart_px_h(&c), 8);
    chart_canvas_set(&c, 0, 0, 1);           /* dot 1 of cell (0,0) */
    chart_canvas_set(&c, 1, 3, 2);           /* dot 8 of cell (0,0) */
    int style = 0;
    assert_int_equal(chart_cell_glyph(&c, 0, 0, &style), 0x2800 + 0x01 + 0x80);
    assert_int_equal(style, 2);
    assert_int_equal(chart_cell_glyph(&c, 1, 0, &style), 0);
    chart_canvas_set(&c, 5, 7, 3);           /* bottom-right dot of the last cell */
    assert_int_equal(chart_cell_glyph(&c, 2, 1, &style), 0x2800 + 0x80);
    chart_canvas_set(&c, 6, 0, 1);           /* out of range: ignored */
    chart_canvas_set(&c, -1, 0, 1);
    chart_canvas_clear(&c);
    assert_int_equal(chart_cell_glyph(&c, 0, 0, &style), 0);
    chart_canvas_free(&c);
}

static void test_block_and_ascii(void **state)
{
    chart_canvas c;
    assert_int_equal(chart_canvas_init(&c, 2, 1, CHART_BLOCK), 0);
    chart_canvas_set(&c, 0, 0, 1);
    assert_int_equal(chart_cell_glyph(&c, 0, 0, NULL), 0x2580); /* upper half */
    chart_canvas_set(&c, 0, 1, 1);
    assert_int_equal(chart_cell_glyph(&c, 0, 0, NULL), 0x2588); /* full */
    chart_canvas_set(&c, 1, 1, 1);
    assert_int_equal(chart_cell_glyph(&c, 1, 0, NULL), 0x2584);
    chart_canvas_free(&c);
    assert_int_equal(chart_canvas_init(&c, 2, 2, CHART_ASCII), 0);
    chart_canvas_set(&c, 1, 1, 1);
    assert_int_equal(chart_cell_glyph(&c, 1, 1, NULL), '*');
    assert_int_equal(chart_cell_glyph(&c, 0, 0, NULL), 0);
    chart_canvas_free(&c);
}

static void test_autoscale_and_ticks(void **state)
{
    double ys[] = {2.0, NAN, 4.0, INFINITY, 3.0};
    double lo, hi;
    assert_int_equal(chart_autoscale(ys, 5, NULL, 0, 0, &lo, &hi), 0);
    assert_true(lo < 2.0 && lo > 1.8);
    assert_true(hi > 4.0 && hi < 4.2);
    double none[] = {NAN};
    assert_int_equal(chart_autoscale(none, 1, NULL, 0, 0, &lo, &hi), -1);
    assert_true(hi > lo);
    double flat[] = {5, 5};
    assert_int_equal(chart_autoscale(flat, 2, NULL, 0, 0, &lo, &hi), 0);
    assert_true(lo < 5 && hi > 5);
    double neg[] = {-1, 0.01, 100};
    assert_int_equal(chart_autoscale(neg, 3, NULL, 0, 1, &lo, &hi), 0);
    assert_true(lo > 0 && lo < 0.01 && hi > 100);
    double t[8];
    int n = chart_nice_ticks(1.9, 4.1, 0, t, 5);
    assert_true(n >= 2);
    for (int i = 0; i < n; i++) {
        assert_true(t[i] >= 1.9 && t[i] <= 4.1);
        double m = t[i] / 0.5;
        assert_true(fabs(m - round(m)) < 1e-9); /* multiples of 0.5 or 1 */
    }
    n = chart_nice_ticks(0.005, 200, 1, t, 6);
    assert_true(n >= 4);
    assert_true(fabs(t[0] - 0.01) < 1e-12 && fabs(t[n - 1] - 100) < 1e-9);
    char buf[16];
    chart_format_tick(3.5, buf, sizeof buf);
    assert_string_equal(buf, "3.50");
    chart_format_tick(12000, buf, sizeof buf);
    assert_string_equal(buf, "12000");
    chart_format_tick(0, buf, sizeof buf);
    assert_string_equal(buf, "0");
    chart_format_tick(2e6, buf, sizeof buf);
    assert_string_equal(buf, "2.0e+06");
}

static void test_ema(void **state)
{
    double in[] = {NAN, 10, 20, NAN, 20};
    double out[5];
    chart_ema(in, out, 5, 0.5);
    assert_true(isnan(out[0]));
    assert_true(out[1] == 10);
    assert_true(out[2] == 15);
    assert_true(out[3] == 15);
    assert_true(out[4] == 17.5);
    chart_ema(in, in, 5, 1.0); /* alias, no smoothing */
    assert_true(in[2] == 20 && in[3] == 20);
}

/* A rising line: each column's pixel must be at or above the previous one
 * (y grows upwards), and 10000 points fit in a 10-cell canvas. */
static void test_plot_line_downsamples(void **state)
{
    enum { N = 10000 };
    static double xs[N], ys[N];
    for (int i = 0; i < N; i++) xs[i] = i, ys[i] = i;
    chart_canvas c;
    assert_int_equal(chart_canvas_init(&c, 10, 4, CHART_BRAILLE), 0);
    chart_axes a = {.x0 = 0, .x1 = N - 1, .y0 = 0, .y1 = N - 1};
    chart_plot_line(&c, &a, xs, ys, N, 2);
    assert_int_equal(chart_y_to_px(&c, &a, 0), 15);
    assert_int_equal(chart_y_to_px(&c, &a, N - 1), 0);
    assert_int_equal(chart_x_to_px(&c, &a, N - 1), 19);
    /* bottom-left and top-right cells are drawn, top-left and bottom-right are not */
    assert_int_not_equal(chart_cell_glyph(&c, 0, 3, NULL), 0);
    assert_int_not_equal(chart_cell_glyph(&c, 9, 0, NULL), 0);
    assert_int_equal(chart_cell_glyph(&c, 0, 0, NULL), 0);
    assert_int_equal(chart_cell_glyph(&c, 9, 3, NULL), 0);
    /* every column has a dot (connected line) */
    for (int cx = 0; cx < 10; cx++) {
        int any = 0;
        for (int cy = 0; cy < 4; cy++) any |= chart_cell_glyph(&c, cx, cy, NULL) != 0;
        assert_true(any);
    }
    /* log-y: non-positive points are skipped, not plotted at the bottom */
    chart_canvas_clear(&c);
    chart_axes la = {.x0 = 0, .x1 = 1, .y0 = 1, .y1 = 100, .logy = 1};
    double px[] = {0, 1}, py[] = {-5, 0};
    chart_plot_points(&c, &la, px, py, 2, 3);
    for (int cy = 0; cy < 4; cy++)
        for (int cx = 0; cx < 10; cx++) assert_int_equal(chart_cell_glyph(&c, cx, cy, NULL), 0);
    double py2[] = {10, 100};
    chart_plot_points(&c, &la, px, py2, 2, 3);
    assert_int_equal(chart_y_to_px(&c, &la, 10), 8); /* half way in log space: (1-0.5)*15 = 7.5 -> 8 */
    assert_int_not_equal(chart_cell_glyph(&c, 9, 0, NULL), 0);
    chart_canvas_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_braille_dots),         cmocka_unit_test(test_block_and_ascii),
        cmocka_unit_test(test_autoscale_and_ticks),  cmocka_unit_test(test_ema),
        cmocka_unit_test(test_plot_line_downsamples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
