/* errmsg: the error convention of aurl — a function that fails returns -1
 * and writes one line naming the file and the problem into a caller's
 * char err[AURL_ERR_LEN]. */
#ifndef AURL_ERRMSG_H
#define AURL_ERRMSG_H

#define AURL_ERR_LEN 512

/* printf into err, truncated to AURL_ERR_LEN. */
void errmsg_set(char err[AURL_ERR_LEN], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
