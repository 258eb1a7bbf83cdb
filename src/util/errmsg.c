/* errmsg: formatting of one-line error messages. */
#include "util/errmsg.h"

#include <stdarg.h>
#include <stdio.h>

void errmsg_set(char err[AURL_ERR_LEN], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, AURL_ERR_LEN, fmt, ap);
    va_end(ap);
}
