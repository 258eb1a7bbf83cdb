/* fetch: `aurl data fetch` — sample MIDI files from Debian packages
 * (apt-get download + dpkg-deb -x, no root needed) into
 * <data>/midi/<package>/, with the package's copyright file beside them as
 * COPYRIGHT. Idempotent: files already present with the same bytes are left
 * untouched, so a warm token cache stays warm. */
#ifndef AURL_FETCH_H
#define AURL_FETCH_H

#include <stddef.h>

#include "util/fileio.h"

/* The packages `aurl data fetch` downloads. */
#define FETCH_PACKAGES { "openttd-openmsx", "mma" }

typedef struct {
    size_t n_found;     /* MIDI files in the package tree(s) */
    size_t n_written;   /* new or changed files written */
    size_t n_unchanged; /* already present with identical bytes */
} fetch_result;

/* What fetch_packages reports while it runs (see fetch_opts). */
typedef enum {
    FETCH_EVENT_DOWNLOADING, /* apt-get is about to download n_packages packages */
    FETCH_EVENT_PACKAGE      /* one package installed: package, result, midi_dir */
} fetch_event_kind;

typedef struct {
    fetch_event_kind kind;
    size_t n_packages;          /* DOWNLOADING */
    const char *package;        /* PACKAGE: its name */
    const fetch_result *result; /* PACKAGE: what was installed from it */
    const char *midi_dir;       /* PACKAGE: <data>/midi (it went to midi_dir/package) */
} fetch_event;

/* How fetch_packages runs and reports. Fetch itself prints nothing. */
typedef struct {
    int tool_output; /* 1: apt-get and dpkg-deb print their own progress to stdout;
                        0: they are silenced (apt-get -qq, stdout on /dev/null) */
    void (*on_event)(const fetch_event *ev, void *user); /* NULL: no reports */
    void *user;
} fetch_opts;

/* Download and unpack PACKAGES (N of them) in a temporary directory (always
 * removed) and install their MIDI files into <data_dir>/midi. Returns 0, or
 * -1 with a message naming what failed (apt-get missing, download failed,
 * unpack failed, no MIDI files). OPTS NULL: silent tools, no reports. res
 * may be NULL. */
int fetch_packages(const char *data_dir, const char *const *packages, size_t n, const fetch_opts *opts,
                   fetch_result *res, char err[AURL_ERR_LEN]);

/* Copy every *.mid / *.midi / *.kar (any case) found under ROOT (an unpacked
 * package) into MIDI_DIR/PACKAGE/, keeping sub-paths relative to the deepest
 * directory that holds all of them, plus ROOT/usr/share/doc/PACKAGE/copyright
 * as COPYRIGHT. Adds to *res. Returns 0 or -1 (err set). */
int fetch_install_tree(const char *root, const char *package, const char *midi_dir,
                       fetch_result *res, char err[AURL_ERR_LEN]);

#endif
