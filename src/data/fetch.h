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

/* Download and unpack PACKAGES (N of them) in a temporary directory (always
 * removed) and install their MIDI files into <data_dir>/midi. Returns 0, or
 * -1 with a message naming what failed (apt-get missing, download failed,
 * unpack failed, no MIDI files). res may be NULL. */
int fetch_packages(const char *data_dir, const char *const *packages, size_t n, int quiet,
                   fetch_result *res, char err[AURL_ERR_LEN]);

/* Copy every *.mid / *.midi / *.kar (any case) found under ROOT (an unpacked
 * package) into MIDI_DIR/PACKAGE/, keeping sub-paths relative to the deepest
 * directory that holds all of them, plus ROOT/usr/share/doc/PACKAGE/copyright
 * as COPYRIGHT. Adds to *res. Returns 0 or -1 (err set). */
int fetch_install_tree(const char *root, const char *package, const char *midi_dir,
                       fetch_result *res, char err[AURL_ERR_LEN]);

#endif
