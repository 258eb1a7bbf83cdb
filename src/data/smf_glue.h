/* smf_glue: what every user of libsmf in aurl needs around the library:
 * its glib log output routed into util/log, and a linear-time free (libsmf
 * 1.3's smf_delete() is quadratic in track length). */
#ifndef AURL_SMF_GLUE_H
#define AURL_SMF_GLUE_H

#include <smf.h>

/* Route glib messages of the "libsmf" domain (and glib's default handler)
 * to util/log: debug/info as DEBUG, warnings and criticals as WARN. Idempotent. */
void smf_glue_route_logs(void);

/* Free SMF and everything in it in time linear in the number of events. */
void smf_glue_delete(smf_t *smf);

#endif
