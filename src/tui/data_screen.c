/* data_screen: placeholder until the screen lands (shows a notice). */
#include <stdlib.h>

#include "tui/screen.h"

static void draw(tui_screen *s, tui_ctx *c, WINDOW *body)
{
    (void)s; (void)c;
    werase(body);
    mvwaddstr(body, 1, 2, "This screen is not built yet.");
}

static void destroy(tui_screen *s) { free(s); }

tui_screen *data_screen_create(void)
{
    tui_screen *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = "data";
    s->draw = draw;
    s->destroy = destroy;
    return s;
}
