/* screen: construction and destruction shared by every TUI screen (the
 * interface itself is in screen.h). */
#include "tui/screen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

tui_screen *screen_new(const tui_screen *ops, size_t state_size)
{
    tui_screen *s = malloc(sizeof *s);
    void *state = state_size ? calloc(1, state_size) : NULL;
    if (!s || (state_size && !state)) {
        free(s);
        free(state);
        return NULL;
    }
    *s = *ops;
    s->state = state;
    return s;
}

void screen_free(tui_screen *s)
{
    if (!s) return;
    free(s->state);
    free(s);
}

void tui_message(tui_ctx *c, int is_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
    c->message_is_error = is_error;
}
