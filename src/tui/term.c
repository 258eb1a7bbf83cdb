/* term: owns the terminal for the TUI (see term.h): curses set-up and
 * teardown (also on SIGSEGV/SIGABRT, after which the signal is re-raised),
 * colours or attribute fallbacks, Unicode or ASCII glyphs, and a pipe over
 * fd 2 so library messages do not scribble over the screen. */
#include "tui/term.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int g_up, g_colors, g_unicode;
static int g_saved_stderr = -1, g_pipe_rd = -1;
static char g_errbuf[4096];
static size_t g_errlen;
static volatile sig_atomic_t g_quit;
static attr_t g_attr[ROLE_COUNT];

attr_t term_attr(term_role role) { return role >= 0 && role < ROLE_COUNT ? g_attr[role] : A_NORMAL; }

term_role term_instrument_role(int family)
{
    if (family >= TOK_DRUM_FAMILY) return ROLE_DRUMS;
    if (family < 0) family = 0;
    return (term_role)(ROLE_INSTR0 + family);
}

int term_unicode(void) { return g_unicode; }
int term_colors(void) { return g_colors; }
int term_quit_requested(void) { return g_quit; }

static void restore_stderr(void)
{
    if (g_saved_stderr >= 0) {
        fflush(stderr);
        dup2(g_saved_stderr, STDERR_FILENO);
        close(g_saved_stderr);
        g_saved_stderr = -1;
    }
    if (g_pipe_rd >= 0) {
        close(g_pipe_rd);
        g_pipe_rd = -1;
    }
}

void term_end(void)
{
    if (!g_up) return;
    g_up = 0;
    endwin();
    restore_stderr();
}

static void on_fatal(int sig)
{
    if (g_up) {
        endwin();
        if (g_saved_stderr >= 0) dup2(g_saved_stderr, STDERR_FILENO);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_quit(int sig)
{
    (void)sig;
    g_quit = 1;
}

/* stderr -> non-blocking pipe (a full pipe drops text instead of blocking). */
static void capture_stderr(void)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
    fflush(stderr);
    g_saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (g_saved_stderr < 0 || dup2(fds[1], STDERR_FILENO) < 0) {
        close(fds[0]);
        close(fds[1]);
        if (g_saved_stderr >= 0) close(g_saved_stderr);
        g_saved_stderr = -1;
        return;
    }
    close(fds[1]);
    g_pipe_rd = fds[0];
}

int term_stderr_line(char *line, size_t len)
{
    if (g_pipe_rd >= 0 && g_errlen < sizeof g_errbuf - 1) {
        ssize_t n = read(g_pipe_rd, g_errbuf + g_errlen, sizeof g_errbuf - 1 - g_errlen);
        if (n > 0) g_errlen += (size_t)n;
    }
    if (!g_errlen) return 0;
    char *nl = memchr(g_errbuf, '\n', g_errlen);
    size_t take = nl ? (size_t)(nl - g_errbuf) : g_errlen;
    if (!nl && g_errlen < sizeof g_errbuf - 1) return 0; /* wait for the rest of the line */
    snprintf(line, len, "%.*s", (int)take, g_errbuf);
    size_t drop = nl ? take + 1 : take;
    memmove(g_errbuf, g_errbuf + drop, g_errlen - drop);
    g_errlen -= drop;
    return 1;
}

static void setup_roles(void)
{
    for (int i = 0; i < ROLE_COUNT; i++) g_attr[i] = A_NORMAL;
    g_attr[ROLE_TITLE] = A_BOLD;
    g_attr[ROLE_DIM] = A_DIM;
    g_attr[ROLE_ACCENT] = A_BOLD;
    g_attr[ROLE_VAL] = A_BOLD;
    g_attr[ROLE_GOOD] = A_BOLD;
    g_attr[ROLE_WARN] = A_BOLD | A_UNDERLINE;
    g_attr[ROLE_BAD] = A_BOLD | A_REVERSE;
    g_attr[ROLE_SELECTED] = A_REVERSE;
    g_attr[ROLE_KEYBAR] = A_REVERSE;
    g_attr[ROLE_PLAYHEAD] = A_REVERSE;
    g_attr[ROLE_DRUMS] = A_BOLD;
    if (!g_colors) return;
    static const short instr[TOK_DRUM_FAMILY] = {COLOR_RED,   COLOR_GREEN, COLOR_YELLOW, COLOR_BLUE, COLOR_MAGENTA,
                                    COLOR_CYAN,  COLOR_WHITE, COLOR_RED,    COLOR_GREEN, COLOR_YELLOW,
                                    COLOR_BLUE,  COLOR_MAGENTA, COLOR_CYAN, COLOR_WHITE, COLOR_GREEN};
    struct {
        term_role r;
        short fg, bg;
        attr_t extra;
    } pairs[] = {
        {ROLE_TITLE, COLOR_CYAN, -1, A_BOLD},     {ROLE_ACCENT, COLOR_YELLOW, -1, A_BOLD},
        {ROLE_VAL, COLOR_MAGENTA, -1, A_BOLD},    {ROLE_GOOD, COLOR_GREEN, -1, A_BOLD},
        {ROLE_WARN, COLOR_YELLOW, -1, A_BOLD},    {ROLE_BAD, COLOR_RED, -1, A_BOLD},
        {ROLE_SELECTED, COLOR_BLACK, COLOR_CYAN, 0}, {ROLE_KEYBAR, COLOR_BLACK, COLOR_CYAN, 0},
        {ROLE_PLAYHEAD, COLOR_BLACK, COLOR_YELLOW, 0}, {ROLE_DRUMS, COLOR_WHITE, -1, A_BOLD},
    };
    short pair = 1;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0] && pair < COLOR_PAIRS; i++, pair++) {
        init_pair(pair, pairs[i].fg, pairs[i].bg);
        g_attr[pairs[i].r] = COLOR_PAIR(pair) | pairs[i].extra;
    }
    for (int f = 0; f < TOK_DRUM_FAMILY && pair < COLOR_PAIRS; f++, pair++) {
        init_pair(pair, instr[f], -1);
        g_attr[ROLE_INSTR0 + f] = COLOR_PAIR(pair) | (f >= 7 ? A_BOLD : 0);
    }
}

int term_init(int force_ascii, char err[AURL_ERR_LEN])
{
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    g_unicode = !force_ascii && cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, AURL_ERR_LEN, "needs a terminal (use `aurl status` for a text summary)");
        return -1;
    }
    setenv("ESCDELAY", "25", 0);
    /* Unicode line drawing instead of the VT100 alternate charset: right on
     * terminals that mishandle ACS in UTF-8 mode, and readable in captures */
    if (g_unicode) setenv("NCURSES_NO_UTF8_ACS", "1", 0);
    if (!newterm(NULL, stdout, stdin)) {
        snprintf(err, AURL_ERR_LEN, "cannot use terminal type '%s'", getenv("TERM") ? getenv("TERM") : "(unset)");
        return -1;
    }
    g_up = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    timeout(100);
    const char *nc = getenv("NO_COLOR");
    g_colors = has_colors() && !(nc && *nc);
    if (g_colors) {
        start_color();
        use_default_colors();
    }
    setup_roles();
    signal(SIGSEGV, on_fatal);
    signal(SIGBUS, on_fatal);
    signal(SIGFPE, on_fatal);
    signal(SIGABRT, on_fatal);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_quit;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    capture_stderr();
    return 0;
}
