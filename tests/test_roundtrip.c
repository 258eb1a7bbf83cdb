/* Round trip of every real MIDI file under data/midi (fetched by
 * `aurl data fetch`; `make test` fetches it first): read -> tokens ->
 * decode must keep every note's pitch, instrument and velocity bin with
 * onset and offset within 1/128 s of the normalised original, and so must
 * the exported MIDI file read back through libsmf. Reports the worst error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "data/midi_read.h"
#include "data/midi_worker.h"
#include "data/midi_write.h"
#include "data/score.h"
#include "data/tokenizer.h"
#include "testutil.h"

#define MAX_FILES 4096
#define TOLERANCE (1.0 / 128 + 1e-9)

static char *g_files[MAX_FILES];
static int g_n_files;

static int collect(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    size_t n = strlen(path);
    if (flag == FTW_F && n > 4 && !strcasecmp(path + n - 4, ".mid") && g_n_files < MAX_FILES)
        g_files[g_n_files++] = strdup(path);
    return 0;
}

/* Sort key on the quantisation grid so both sides order notes the same way. */
static int cmp_grid(const void *a, const void *b)
{
    const score_note *x = a, *y = b;
    long qa = lround(x->onset * TOK_STEPS_PER_SECOND), qb = lround(y->onset * TOK_STEPS_PER_SECOND);
    if (qa != qb) return qa < qb ? -1 : 1;
    if (x->instrument != y->instrument) return x->instrument - y->instrument;
    if (x->pitch != y->pitch) return x->pitch - y->pitch;
    long oa = lround(x->offset * TOK_STEPS_PER_SECOND), ob = lround(y->offset * TOK_STEPS_PER_SECOND);
    return (oa > ob) - (oa < ob);
}

typedef struct {
    double worst_time;
    char worst_file[512];
    long notes;
    int mismatched_files;
} rt_stats;

/* Compare notes of GOT to EXPECTED; returns the number of bad notes. */
static long compare_scores(const char *file, const char *what, score *expected, score *got, rt_stats *st)
{
    if (expected->n_notes != got->n_notes) {
        print_message("%s: %s: %zu notes expected, %zu got\n", file, what, expected->n_notes, got->n_notes);
        return 1;
    }
    if (got->n_notes == 0) return 0;
    qsort(expected->notes, expected->n_notes, sizeof(score_note), cmp_grid);
    qsort(got->notes, got->n_notes, sizeof(score_note), cmp_grid);
    long bad = 0;
    for (size_t i = 0; i < got->n_notes; i++) {
        const score_note *e = &expected->notes[i], *g = &got->notes[i];
        double err = fmax(fabs(e->onset - g->onset), fabs(e->offset - g->offset));
        if (err > st->worst_time) {
            st->worst_time = err;
            snprintf(st->worst_file, sizeof st->worst_file, "%s (%s)", file, what);
        }
        if (e->pitch != g->pitch || e->instrument != g->instrument ||
            tok_velocity_bin(e->velocity) != tok_velocity_bin(g->velocity) || err > TOLERANCE) {
            if (bad < 3)
                print_message("%s: %s: note %zu: expected p%d i%d v%d %.4f-%.4f, got p%d i%d v%d %.4f-%.4f\n", file,
                              what, i, e->pitch, e->instrument, e->velocity, e->onset, e->offset, g->pitch,
                              g->instrument, g->velocity, g->onset, g->offset);
            bad++;
        }
    }
    return bad;
}

static void test_real_files_round_trip(void **state)
{
    (void)state;
    nftw("data/midi", collect, 16, FTW_PHYS);
    if (g_n_files == 0) {
        print_message("no MIDI under data/midi: run `aurl data fetch` (make test does)\n");
        fail();
    }
    const char *out_path = testutil_path("rt.mid");
    rt_stats st = {0};
    int accepted = 0, rejected = 0;
    long bad_total = 0;
    for (int f = 0; f < g_n_files; f++) {
        char err[AURL_ERR_LEN];
        score orig, decoded, reread;
        score_init(&orig);
        score_init(&decoded);
        score_init(&reread);
        if (midi_read_isolated(g_files[f], &orig, err) != 0) {
            print_message("rejected: %s\n", err);
            rejected++;
            continue;
        }
        accepted++;
        uint16_t *toks;
        size_t n;
        assert_int_equal(tok_encode(&orig, &toks, &n), 0);
        assert_int_equal(tok_decode(toks, n, &decoded), 0);
        free(toks);
        assert_true(tok_normalize(&orig) >= 0);
        st.notes += (long)orig.n_notes;
        long bad = compare_scores(g_files[f], "decode", &orig, &decoded, &st);
        assert_int_equal(midi_write_file(out_path, &decoded, err), 0);
        if (midi_read_file(out_path, &reread, NULL, err) != 0) {
            print_message("%s: exported file unreadable: %s\n", g_files[f], err);
            bad++;
        } else {
            bad += compare_scores(g_files[f], "export", &orig, &reread, &st);
        }
        if (bad) st.mismatched_files++;
        bad_total += bad;
        score_free(&orig);
        score_free(&decoded);
        score_free(&reread);
    }
    print_message("round trip: %d files accepted, %d rejected, %ld notes; worst onset/offset error %.3f ms (%s); "
                  "%d files with mismatches\n",
                  accepted, rejected, st.notes, st.worst_time * 1000, st.worst_file[0] ? st.worst_file : "-",
                  st.mismatched_files);
    for (int f = 0; f < g_n_files; f++) free(g_files[f]);
    assert_true(accepted > 0);
    assert_true(rejected * 10 <= accepted); /* real files: the reader must take nearly all */
    assert_int_equal(bad_total, 0);
    assert_true(st.worst_time <= TOLERANCE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_files_round_trip),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
