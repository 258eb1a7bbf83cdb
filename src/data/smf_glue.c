/* smf_glue: glib log routing and a linear-time smf_delete for libsmf 1.3.
 *
 * smf_delete() frees each track's events from last to first with
 * smf_event_delete(), which detaches the event through g_ptr_array_remove()
 * -- a linear search from the front -- so freeing a track of n events costs
 * O(n^2). Here every event is detached and freed directly (an event with
 * track == NULL is just freed) and the arrays are emptied before
 * smf_delete() runs on the now empty tracks. */
#include "data/smf_glue.h"

#include <glib.h>
#include <pthread.h>

#include "util/log.h"

static void glib_to_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user)
{
    (void)user;
    log_level l = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) ? LOG_WARN : LOG_DEBUG;
    log_msg(l, "%s: %s", domain ? domain : "glib", message ? message : "");
}

static void install_handlers(void)
{
    g_log_set_handler("libsmf", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION, glib_to_log, NULL);
    g_log_set_default_handler(glib_to_log, NULL);
}

void smf_glue_route_logs(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT; /* readers may run on several threads */
    pthread_once(&once, install_handlers);
}

void smf_glue_delete(smf_t *smf)
{
    if (!smf) return;
    for (guint t = 0; t < smf->tracks_array->len; t++) {
        smf_track_t *track = g_ptr_array_index(smf->tracks_array, t);
        for (guint i = 0; i < track->events_array->len; i++) {
            smf_event_t *ev = g_ptr_array_index(track->events_array, i);
            ev->track = NULL;
            smf_event_delete(ev);
        }
        g_ptr_array_set_size(track->events_array, 0);
        track->number_of_events = 0;
    }
    smf_delete(smf);
}
