/* tui_main: placeholder until the module lands (reports "not built yet"). */
#include <stdio.h>

#include "tui/tui_main.h"

int tui_main(int argc, char **argv, const aurl_globals *g)
{
    (void)argc; (void)g;
    fprintf(stderr, "%s: not built yet\n", argv[0]);
    return 1;
}
