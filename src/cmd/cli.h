/* cli: helpers shared by the subcommands' command-line option parsing
 * (aurl train, eval, bench, data, ...), so that every integer option is
 * checked the same strict way. */
#ifndef AURL_CLI_H
#define AURL_CLI_H

/* VAL is a whole decimal integer (nothing before or after it) in
 * [min, max]: 0 and *out set, else -1 and *out untouched. */
int cli_parse_int(const char *val, long long min, long long max, long long *out);

/* The value of integer option OPT of `aurl CMD` given as VAL, checked by
 * cli_parse_int. On a bad value prints "aurl CMD: OPT expects an integer
 * in MIN..MAX, got 'VAL'" to stderr, sets *bad to 1 and returns MIN. */
long long cli_int_option(const char *cmd, const char *opt, const char *val, long long min, long long max, int *bad);
#endif
