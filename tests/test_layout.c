/* test_layout: the include rule of docs/DESIGN.md §1 (the dependency rule),
 * checked on the source tree. Every .c/.h file under src/ is read and each
 * of its #include lines is checked:
 *   layers  util (0) <- data (1) <- engine/nn (2) <- engine/model (3) <-
 *           engine/train, engine/sample, engine/eval (4, one level: they
 *           may include each other) <- cmd, tui (5, one level) <- main.c (6);
 *           a file may include project headers of its own or a lower level;
 *   cmd/    no library file includes a cmd/ header: only cmd/ and main.c
 *           (so tui, on the same level, still may not);
 *   curses  <curses.h>, <ncurses.h>, <ncursesw/...> (and the other ncurses
 *           headers) only in src/tui;
 *   paths   a quoted include is written from src/ ("util/log.h"), without
 *           "." or ".." components, and must name an existing file; a file
 *           or header outside the known layer folders is a failure too
 *           (a new folder must be given a place in the rule here).
 * Every offending file:line is listed before the test fails. The rule
 * itself is unit-tested on synthetic (file, include) pairs and the line
 * parser on an in-memory text, so the checker can be seen to fail.
 * Runs from the repository root (as tests/run.sh does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SRC_ROOT "src"
#define LAYOUT_PATH_MAX 1024
#define LAYOUT_MAX_DEPTH 16

/* ---- layers ------------------------------------------------------------- */

/* Where a path under src/ sits in the dependency rule. */
typedef enum { GROUP_UNKNOWN = -1, GROUP_UTIL, GROUP_DATA, GROUP_NN, GROUP_MODEL, GROUP_TRAIN, GROUP_SAMPLE,
               GROUP_EVAL, GROUP_CMD, GROUP_TUI, GROUP_MAIN } layout_group;

/* Level of each group (index: layout_group); equal levels may include each other. */
static const int GROUP_LEVEL[] = {0, 1, 2, 3, 4, 4, 4, 5, 5, 6};
static const char *const GROUP_NAME[] = {"util", "data", "engine/nn", "engine/model", "engine/train",
                                         "engine/sample", "engine/eval", "cmd", "tui", "main.c"};

/* Folder prefixes (whole path components) of the groups. */
static const struct {
    const char *dir;
    layout_group group;
} GROUP_DIRS[] = {
    {"util/", GROUP_UTIL},           {"data/", GROUP_DATA},           {"engine/nn/", GROUP_NN},
    {"engine/model/", GROUP_MODEL},  {"engine/train/", GROUP_TRAIN},  {"engine/sample/", GROUP_SAMPLE},
    {"engine/eval/", GROUP_EVAL},    {"cmd/", GROUP_CMD},             {"tui/", GROUP_TUI},
};

/* The group of PATH (relative to src/), GROUP_UNKNOWN if it is in none. */
static layout_group layout_group_of(const char *path)
{
    if (strcmp(path, "main.c") == 0) return GROUP_MAIN;
    for (size_t i = 0; i < sizeof GROUP_DIRS / sizeof GROUP_DIRS[0]; i++) {
        size_t n = strlen(GROUP_DIRS[i].dir);
        if (strncmp(path, GROUP_DIRS[i].dir, n) == 0 && path[n] && !strchr(path + n, '/'))
            return GROUP_DIRS[i].group;
    }
    return GROUP_UNKNOWN;
}

/* 1 if PATH has an empty, "." or ".." component or starts with '/'. */
static int layout_path_unnormal(const char *path)
{
    if (!*path || path[0] == '/') return 1;
    for (const char *s = path; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 1;
        s += n;
        if (*s) s++;
    }
    return 0;
}

/* 1 if the angle-bracket header NAME belongs to (n)curses. */
static int layout_is_curses_header(const char *name)
{
    static const char *const exact[] = {"curses.h", "ncurses.h", "panel.h", "menu.h", "form.h", "term.h"};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcmp(name, exact[i]) == 0) return 1;
    return strncmp(name, "ncursesw/", 9) == 0 || strncmp(name, "ncurses/", 8) == 0;
}

/* The rule for one include line of FILE (relative to src/): INC as written,
 * ANGLE 1 for <...>, INC_EXISTS whether src/INC is a regular file. Returns
 * 1 and writes nothing when allowed, else 0 with the reason in WHY. */
static int layout_check_include(const char *file, const char *inc, int angle, int inc_exists, char *why,
                                size_t why_len)
{
    layout_group fg = layout_group_of(file);
    if (fg == GROUP_UNKNOWN) {
        snprintf(why, why_len, "file outside the layers (util, data, engine/{nn,model,train,sample,eval}, cmd, tui)");
        return 0;
    }
    if (angle) {
        if (layout_is_curses_header(inc) && fg != GROUP_TUI) {
            snprintf(why, why_len, "<%s> outside src/tui (only the TUI uses curses)", inc);
            return 0;
        }
        if (!inc_exists) return 1; /* a system header */
        /* <...> naming a project header: checked like a quoted one */
    }
    if (layout_path_unnormal(inc)) {
        snprintf(why, why_len, "\"%s\": write includes from src/ without . or .. components", inc);
        return 0;
    }
    if (!inc_exists) {
        snprintf(why, why_len, "\"%s\" does not exist under src/ (includes are written from src/)", inc);
        return 0;
    }
    layout_group ig = layout_group_of(inc);
    if (ig == GROUP_UNKNOWN || ig == GROUP_MAIN) {
        snprintf(why, why_len, "\"%s\" is outside the layers", inc);
        return 0;
    }
    if (ig == GROUP_CMD && fg != GROUP_CMD && fg != GROUP_MAIN) {
        snprintf(why, why_len, "%s includes a cmd/ header (\"%s\"): only cmd/ and main.c may", GROUP_NAME[fg], inc);
        return 0;
    }
    if (GROUP_LEVEL[ig] > GROUP_LEVEL[fg]) {
        snprintf(why, why_len, "%s (level %d) includes \"%s\" of %s (level %d)", GROUP_NAME[fg], GROUP_LEVEL[fg],
                 inc, GROUP_NAME[ig], GROUP_LEVEL[ig]);
        return 0;
    }
    return 1;
}

/* ---- library code does not print ---------------------------------------- */

/* Library layers (util, data, engine/...) report through return values,
 * callbacks and the log; only cmd/, tui/ and main.c print. util/log.c is
 * the log's own sink (train.log and stderr), the one exception. */
static int layout_group_may_print(layout_group g)
{
    return g == GROUP_CMD || g == GROUP_TUI || g == GROUP_MAIN;
}

/* 1 if IDENT occurs in LINE as a whole word followed by '(' (a call). */
static int layout_calls(const char *line, const char *ident)
{
    size_t n = strlen(ident);
    for (const char *p = strstr(line, ident); p; p = strstr(p + 1, ident)) {
        int word_start = p == line || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
                                        (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= '0' && p[-1] <= '9'));
        const char *q = p + n;
        while (*q == ' ') q++;
        if (word_start && *q == '(') return 1;
    }
    return 0;
}

/* 1 if LINE (code, comments already cut) writes to the terminal: printf,
 * puts, putchar, perror, or an f* stdio call naming stdout/stderr. */
static int layout_line_prints(const char *line)
{
    static const char *const direct[] = {"printf", "vprintf", "puts", "putchar", "perror"};
    static const char *const streamed[] = {"fprintf", "vfprintf", "fputs", "fputc", "fwrite", "putc"};
    for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++)
        if (layout_calls(line, direct[i])) return 1;
    int names_std = strstr(line, "stdout") || strstr(line, "stderr");
    for (size_t i = 0; names_std && i < sizeof streamed / sizeof streamed[0]; i++)
        if (layout_calls(line, streamed[i])) return 1;
    return 0;
}

/* Lines of TEXT that print, for a file in group G (REL under src/): each
 * reported as PATH:line; returns how many. Block comments and // comments
 * are skipped (string literals are not parsed: none of ours holds a call). */
static int layout_check_prints(const char *rel, layout_group g, const char *text, size_t len, const char *path)
{
    if (layout_group_may_print(g) || strcmp(rel, "util/log.c") == 0) return 0;
    int bad = 0, line_no = 1, in_comment = 0;
    char line[4096];
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, k = 0;
        for (size_t i = pos; i < end && k + 1 < sizeof line; i++) {
            if (in_comment) {
                if (text[i] == '*' && i + 1 < end && text[i + 1] == '/') in_comment = 0, i++;
                continue;
            }
            if (text[i] == '/' && i + 1 < end && text[i + 1] == '*') { in_comment = 1; i++; continue; }
            if (text[i] == '/' && i + 1 < end && text[i + 1] == '/') break;
            line[k++] = text[i];
        }
        line[k] = 0;
        if (layout_line_prints(line)) {
            print_error("%s:%d: library code prints to the terminal (report through a return value, callback or "
                        "util/log; cmd/ and tui/ print)\n", path, line_no);
            bad++;
        }
        pos = end + 1;
        line_no++;
    }
    return bad;
}

/* ---- parsing ------------------------------------------------------------ */

typedef struct {
    char name[LAYOUT_PATH_MAX];
    int angle;
    int line;
} layout_include;

/* Parse one line: 1 and *out filled if it is an #include "x" or <x>
 * directive (spaces allowed around '#'), else 0. */
static int layout_parse_line(const char *line, size_t len, int line_no, layout_include *out)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i >= len || line[i] != '#') return 0;
    i++;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (len - i < 7 || strncmp(line + i, "include", 7) != 0) return 0;
    i += 7;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i >= len || (line[i] != '"' && line[i] != '<')) return 0; /* #include_next, macros */
    char close = line[i] == '"' ? '"' : '>';
    size_t start = ++i;
    while (i < len && line[i] != close) i++;
    if (i >= len || i - start >= sizeof out->name) return 0;
    memcpy(out->name, line + start, i - start);
    out->name[i - start] = 0;
    out->angle = close == '>';
    out->line = line_no;
    return 1;
}

/* Every include directive of TEXT (LEN bytes) into OUT (at most MAX);
 * returns how many were found. */
static int layout_parse_text(const char *text, size_t len, layout_include *out, int max)
{
    int n = 0, line_no = 1;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (n < max && layout_parse_line(text + pos, end - pos, line_no, &out[n])) n++;
        pos = end + 1;
        line_no++;
    }
    return n;
}

/* ---- the walk ----------------------------------------------------------- */

typedef struct {
    int files;       /* .c/.h files checked */
    int includes;    /* include lines checked */
    int failures;
} layout_tally;

/* 1 if src/REL is a regular file. */
static int layout_src_file_exists(const char *rel)
{
    char path[LAYOUT_PATH_MAX + 8];
    snprintf(path, sizeof path, SRC_ROOT "/%s", rel);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Check one file, src/REL; failures are printed as src/REL:LINE: reason. */
static void layout_check_file(const char *rel, layout_tally *t)
{
    char path[LAYOUT_PATH_MAX + 8];
    snprintf(path, sizeof path, SRC_ROOT "/%s", rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_error("%s: cannot read\n", path);
        t->failures++;
        return;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc(size > 0 ? (size_t)size : 1);
    size_t len = text && size > 0 ? fread(text, 1, (size_t)size, f) : 0;
    fclose(f);
    static layout_include incs[512];
    int n = text ? layout_parse_text(text, len, incs, 512) : 0;
    t->files++;
    char why[LAYOUT_PATH_MAX + 256];
    layout_group g = layout_group_of(rel);
    if (g == GROUP_UNKNOWN) {
        print_error("%s:1: file outside the layers; give its folder a place in tests/test_layout.c\n", path);
        t->failures++;
        free(text);
        return;
    }
    if (text) t->failures += layout_check_prints(rel, g, text, len, path);
    free(text);
    for (int i = 0; i < n; i++) {
        t->includes++;
        int exists = layout_src_file_exists(incs[i].name);
        if (layout_check_include(rel, incs[i].name, incs[i].angle, exists, why, sizeof why)) continue;
        print_error("%s:%d: %s\n", path, incs[i].line, why);
        t->failures++;
    }
}

/* 1 if NAME ends in .c or .h. */
static int layout_is_source(const char *name)
{
    size_t n = strlen(name);
    return n > 2 && name[n - 2] == '.' && (name[n - 1] == 'c' || name[n - 1] == 'h');
}

/* Walk src/REL (a directory; "" for src/ itself) recursively. */
static void layout_walk(const char *rel, int depth, layout_tally *t)
{
    char dir[LAYOUT_PATH_MAX + 8];
    snprintf(dir, sizeof dir, SRC_ROOT "%s%s", *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d) {
        print_error("%s: cannot open (run the test from the repository root)\n", dir);
        t->failures++;
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char child[LAYOUT_PATH_MAX];
        if ((size_t)snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >= sizeof child) continue;
        char full[LAYOUT_PATH_MAX + 8];
        snprintf(full, sizeof full, SRC_ROOT "/%s", child);
        struct stat st;
        if (lstat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode) && depth < LAYOUT_MAX_DEPTH) layout_walk(child, depth + 1, t);
        else if (S_ISREG(st.st_mode) && layout_is_source(e->d_name)) layout_check_file(child, t);
    }
    closedir(d);
}

/* ---- tests -------------------------------------------------------------- */

/* The rule on synthetic pairs, allowed and forbidden. */
static void test_rule_on_synthetic_pairs(void **state)
{
    (void)state;
    static const struct {
        const char *file, *inc;
        int angle, exists, ok;
    } cases[] = {
        {"util/log.c", "util/log.h", 0, 1, 1},
        {"util/log.c", "data/score.h", 0, 1, 0},             /* upwards */
        {"data/cache.c", "util/hash.h", 0, 1, 1},
        {"data/cache.c", "engine/nn/linear.h", 0, 1, 0},
        {"engine/nn/block.h", "engine/model/transformer.h", 0, 1, 0},
        {"engine/nn/linear.c", "engine/nn/linear.h", 0, 1, 1},
        {"engine/model/vae.c", "engine/nn/kl.h", 0, 1, 1},
        {"engine/model/vae.c", "engine/sample/kv_cache.h", 0, 1, 0},
        {"engine/train/trainer.c", "engine/sample/sampler.h", 0, 1, 1}, /* one level */
        {"engine/eval/scoring.c", "engine/train/ckpt_pick.h", 0, 1, 1},
        {"engine/sample/sampler.c", "engine/eval/ngram.h", 0, 1, 1},
        {"engine/train/trainer.c", "tui/app.h", 0, 1, 0},
        {"engine/eval/x.c", "cmd/eval_cmd.h", 0, 1, 0},
        {"tui/dashboard.c", "engine/train/metrics.h", 0, 1, 1},
        {"tui/app.c", "cmd/train_cmd.h", 0, 1, 0},            /* same level, but cmd/ */
        {"cmd/tui_cmd.c", "tui/tui_main.h", 0, 1, 1},
        {"cmd/generate_cmd.c", "cmd/generate_cmd.h", 0, 1, 1},
        {"main.c", "cmd/train_cmd.h", 0, 1, 1},
        {"main.c", "tui/tui_main.h", 0, 1, 1},
        {"cmd/x.c", "main.c", 0, 1, 0},
        {"tui/term.c", "curses.h", 1, 0, 1},
        {"tui/term.c", "ncursesw/curses.h", 1, 0, 1},
        {"cmd/tui_cmd.c", "curses.h", 1, 0, 0},
        {"engine/nn/x.c", "ncurses.h", 1, 0, 0},
        {"data/x.c", "ncursesw/ncurses.h", 1, 0, 0},
        {"util/x.c", "stdio.h", 1, 0, 1},
        {"util/x.c", "data/score.h", 1, 1, 0},               /* <...> naming a project header */
        {"data/x.c", "data/nope.h", 0, 0, 0},                /* does not exist */
        {"data/x.c", "score.h", 0, 0, 0},                    /* not written from src/ */
        {"data/x.c", "../util/log.h", 0, 1, 0},
        {"data/x.c", "util/./log.h", 0, 1, 0},
        {"engine/x.c", "util/log.h", 0, 1, 0},               /* no layer */
        {"engine/nnx/y.c", "util/log.h", 0, 1, 0},           /* a component, not a prefix */
        {"engine/nn/sub/y.c", "util/log.h", 0, 1, 0},
        {"data/x.c", "engine/other/y.h", 0, 1, 0},
        {"utility/x.c", "util/log.h", 0, 1, 0},
    };
    char why[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        why[0] = 0;
        int ok = layout_check_include(cases[i].file, cases[i].inc, cases[i].angle, cases[i].exists, why, sizeof why);
        if (ok != cases[i].ok)
            fail_msg("%s including %c%s%c: expected %s, got %s (%s)", cases[i].file, cases[i].angle ? '<' : '"',
                     cases[i].inc, cases[i].angle ? '>' : '"', cases[i].ok ? "allowed" : "forbidden",
                     ok ? "allowed" : "forbidden", why);
        if (!ok) assert_true(why[0] != 0); /* a forbidden include always says why */
    }
}

/* The line parser: directives with spacing, quotes and angles; nothing else. */
static void test_parser_on_text(void **state)
{
    (void)state;
    const char *text = "/* header\n"
                       " * #include \"in/comment.h\" (not a directive)\n"
                       " */\n"
                       "#include \"util/log.h\"\n"
                       "  #  include <stdio.h>\n"
                       "#define X 1\n"
                       "#include_next <nope.h>\n"
                       "#include MACRO\n"
                       "// #include \"commented.h\"\n"
                       "#\tinclude\t\"data/score.h\" /* trailing */\n"
                       "#include \"unterminated.h\n"
                       "#include \"last.h\"";
    layout_include inc[8];
    int n = layout_parse_text(text, strlen(text), inc, 8);
    assert_int_equal(n, 4);
    assert_string_equal(inc[0].name, "util/log.h");
    assert_int_equal(inc[0].angle, 0);
    assert_int_equal(inc[0].line, 4);
    assert_string_equal(inc[1].name, "stdio.h");
    assert_int_equal(inc[1].angle, 1);
    assert_int_equal(inc[1].line, 5);
    assert_string_equal(inc[2].name, "data/score.h");
    assert_int_equal(inc[2].line, 10);
    assert_string_equal(inc[3].name, "last.h"); /* no final newline */
    assert_int_equal(inc[3].line, 12);
}

/* The print checker on single lines and on a file of a library layer. */
static void test_print_checker(void **state)
{
    (void)state;
    assert_true(layout_line_prints("    printf(\"x\\n\");"));
    assert_true(layout_line_prints("fprintf(stderr, \"%d\", x);"));
    assert_true(layout_line_prints("fputs(msg, stdout);"));
    assert_true(layout_line_prints("puts (s);"));
    assert_false(layout_line_prints("snprintf(buf, sizeof buf, \"%d\", x);"));
    assert_false(layout_line_prints("fprintf(f, \"%d\", x);"));
    assert_false(layout_line_prints("void errmsg_set(char *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));"));
    assert_false(layout_line_prints("my_printf_like(x);"));
    const char *lib = "/* printf(\"in a comment\") */\nint f(void) { return 0; } // puts(x)\nvoid g(void) { printf(\"no\"); }\n";
    assert_int_equal(layout_check_prints("engine/nn/x.c", GROUP_NN, lib, strlen(lib), "src/engine/nn/x.c"), 1);
    assert_int_equal(layout_check_prints("cmd/x.c", GROUP_CMD, lib, strlen(lib), "src/cmd/x.c"), 0);
    assert_int_equal(layout_check_prints("util/log.c", GROUP_UTIL, lib, strlen(lib), "src/util/log.c"), 0);
}

/* The real tree: every .c/.h under src/ keeps the rule. */
static void test_source_tree_keeps_the_rule(void **state)
{
    (void)state;
    layout_tally t = {0, 0, 0};
    layout_walk("", 0, &t);
    print_message("layout: %d files, %d include lines checked, %d failures\n", t.files, t.includes, t.failures);
    /* a walk that found (almost) nothing is a broken test, not a clean tree */
    assert_true(t.files >= 50);
    assert_true(t.includes >= 200);
    if (t.failures) fail_msg("%d include-rule failure(s), listed above", t.failures);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_on_synthetic_pairs),
        cmocka_unit_test(test_parser_on_text),
        cmocka_unit_test(test_print_checker),
        cmocka_unit_test(test_source_tree_keeps_the_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
