/* cli: strict integer options for the subcommands (see cli.h). */
#include "cmd/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int cli_parse_int(const char *val, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(val, &end, 10);
    if (!*val || *end || errno || v < min || v > max) return -1;
    *out = v;
    return 0;
}

long long cli_int_option(const char *cmd, const char *opt, const char *val, long long min, long long max, int *bad)
{
    long long v;
    if (cli_parse_int(val, min, max, &v) == 0) return v;
    fprintf(stderr, "aurl %s: %s expects an integer in %lld..%lld, got '%s'\n", cmd, opt, min, max, val);
    *bad = 1;
    return min;
}
