/* fetch: download Debian packages with sample MIDI, unpack them and install
 * their MIDI files and copyright notices under <data>/midi. External tools
 * run through fork/exec with argv arrays, never a shell. */
#include "data/fetch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/log.h"

#define PATH_LEN 4096
#define MAX_COPY_BYTES ((size_t)64 << 20)
#define MAX_WALK_DEPTH 32


/* Run argv[0] (PATH lookup) in directory CWD; stdout to /dev/null unless
 * TOOL_OUTPUT. Returns the exit status, or -1 with err set when it could
 * not run. */
static int run_tool(char *const argv[], const char *cwd, int tool_output, char err[AURL_ERR_LEN])
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        errmsg_set(err, "%s: pipe: %s", argv[0], strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        errmsg_set(err, "%s: fork: %s", argv[0], strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        int e = 0;
        if (cwd && chdir(cwd) != 0) e = errno;
        if (!e && !tool_output) {
            int dn = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (dn >= 0) dup2(dn, STDOUT_FILENO); /* the copy is not close-on-exec */
        }
        if (!e) {
            execvp(argv[0], argv);
            e = errno;
        }
        ssize_t w = write(pfd[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(pfd[1]);
    int child_errno = 0;
    ssize_t got;
    do got = read(pfd[0], &child_errno, sizeof child_errno);
    while (got < 0 && errno == EINTR);
    close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            errmsg_set(err, "%s: waitpid: %s", argv[0], strerror(errno));
            return -1;
        }
    if (got == (ssize_t)sizeof child_errno) {
        errmsg_set(err, "%s: cannot run: %s%s", argv[0], strerror(child_errno),
                 child_errno == ENOENT ? " (not installed? fetch needs Debian's apt tools)" : "");
        return -1;
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int is_midi_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".mid") == 0 || strcasecmp(dot, ".midi") == 0 ||
                   strcasecmp(dot, ".kar") == 0);
}

typedef struct {
    char **paths; /* relative to the walk root */
    size_t n, cap;
} path_list;

static void path_list_free(path_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->paths[i]);
    free(l->paths);
}

/* Collect MIDI files under ROOT/REL (no symlinks followed). */
static int collect_midi(const char *root, const char *rel, int depth, path_list *l)
{
    char dir[PATH_LEN];
    if (snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel) >= PATH_LEN) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char crel[PATH_LEN], cabs[PATH_LEN * 2];
        if (snprintf(crel, sizeof crel, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >= PATH_LEN)
            continue;
        snprintf(cabs, sizeof cabs, "%s/%s", root, crel);
        struct stat st;
        if (lstat(cabs, &st) != 0) continue;
        if (S_ISDIR(st.st_mode) && depth < MAX_WALK_DEPTH) {
            rc = collect_midi(root, crel, depth + 1, l);
        } else if (S_ISREG(st.st_mode) && is_midi_name(de->d_name)) {
            if (l->n == l->cap) {
                size_t ncap = l->cap ? l->cap * 2 : 64;
                char **p = realloc(l->paths, ncap * sizeof *p);
                if (!p) {
                    rc = -1;
                    break;
                }
                l->paths = p;
                l->cap = ncap;
            }
            if (!(l->paths[l->n] = strdup(crel))) rc = -1;
            else l->n++;
        }
    }
    closedir(d);
    return rc;
}

/* Length of the directory prefix (including its '/') shared by all paths. */
static size_t common_dir_len(const path_list *l)
{
    if (l->n == 0) return 0;
    const char *first = l->paths[0];
    size_t len = 0; /* candidate prefix ends after a '/' */
    for (size_t i = 0; first[i]; i++) {
        if (first[i] != '/') continue;
        for (size_t k = 1; k < l->n; k++)
            if (strncmp(l->paths[k], first, i + 1) != 0) return len;
        len = i + 1;
    }
    return len;
}

/* Copy SRC to DST unless DST already holds the same bytes. */
static int copy_if_changed(const char *src, const char *dst, fetch_result *res,
                           char err[AURL_ERR_LEN])
{
    unsigned char *a, *b;
    size_t na, nb;
    if (file_read_all(src, MAX_COPY_BYTES, &a, &na, err)) return -1;
    if (file_read_all(dst, MAX_COPY_BYTES, &b, &nb, err) == 0) {
        int same = na == nb && memcmp(a, b, na) == 0;
        free(b);
        if (same) {
            free(a);
            res->n_unchanged++;
            return 0;
        }
    }
    char dir[PATH_LEN];
    snprintf(dir, sizeof dir, "%s", dst);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    int rc = (slash && file_mkdirs(dir, err)) || file_write_atomic(dst, a, na, err) ? -1 : 0;
    free(a);
    if (rc == 0) res->n_written++;
    return rc;
}

int fetch_install_tree(const char *root, const char *package, const char *midi_dir,
                       fetch_result *res, char err[AURL_ERR_LEN])
{
    path_list l = {0};
    if (collect_midi(root, "", 0, &l)) {
        path_list_free(&l);
        errmsg_set(err, "%s: out of memory while scanning", root);
        return -1;
    }
    if (l.n == 0) {
        errmsg_set(err, "package %s: no MIDI files found in %s", package, root);
        return -1;
    }
    size_t skip = common_dir_len(&l);
    int rc = 0;
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        char src[PATH_LEN * 2], dst[PATH_LEN * 2];
        snprintf(src, sizeof src, "%s/%s", root, l.paths[i]);
        if (snprintf(dst, sizeof dst, "%s/%s/%s", midi_dir, package, l.paths[i] + skip) >=
            PATH_LEN) {
            log_warn("%s: destination path too long (skipped)", src);
            continue;
        }
        res->n_found++;
        rc = copy_if_changed(src, dst, res, err);
    }
    path_list_free(&l);
    if (rc) return -1;
    char src[PATH_LEN * 2], dst[PATH_LEN * 2];
    snprintf(src, sizeof src, "%s/usr/share/doc/%s/copyright", root, package);
    snprintf(dst, sizeof dst, "%s/%s/COPYRIGHT", midi_dir, package);
    fetch_result ignore = {0};
    if (!file_is_regular(src)) log_warn("package %s: no copyright file at %s", package, src);
    else if (copy_if_changed(src, dst, &ignore, err)) return -1;
    return 0;
}

/* The downloaded .deb of PACKAGE in DIR ("<package>_<version>_<arch>.deb"). */
static int find_deb(const char *dir, const char *package, char out[PATH_LEN])
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    size_t pl = strlen(package);
    struct dirent *de;
    int rc = -1;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > pl + 5 && strncmp(de->d_name, package, pl) == 0 && de->d_name[pl] == '_' &&
            strcmp(de->d_name + n - 4, ".deb") == 0) {
            if (snprintf(out, PATH_LEN, "%s/%s", dir, de->d_name) < PATH_LEN) rc = 0;
            break;
        }
    }
    closedir(d);
    return rc;
}

/* Tell the caller's hook about event EV (if there is a hook). */
static void report(const fetch_opts *o, fetch_event ev)
{
    if (o->on_event) o->on_event(&ev, o->user);
}

static int fetch_in(const char *tmp, const char *midi_dir, const char *const *packages,
                    size_t n, const fetch_opts *o, fetch_result *res, char err[AURL_ERR_LEN])
{
    char *argv[32];
    size_t a = 0;
    argv[a++] = "apt-get";
    argv[a++] = "download";
    if (geteuid() == 0) { /* root: apt's _apt sandbox user cannot write our 0700 temp dir */
        argv[a++] = "-o";
        argv[a++] = "APT::Sandbox::User=root";
    }
    if (!o->tool_output) argv[a++] = "-qq";
    for (size_t i = 0; i < n && a < 31; i++) argv[a++] = (char *)packages[i];
    argv[a] = NULL;
    report(o, (fetch_event){.kind = FETCH_EVENT_DOWNLOADING, .n_packages = n});
    int st = run_tool(argv, tmp, o->tool_output, err);
    if (st < 0) return -1;
    if (st != 0) {
        errmsg_set(err, "apt-get download failed (exit status %d): check network "
                 "access and apt sources (try `apt-get update`)", st);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char deb[PATH_LEN], dest[PATH_LEN];
        if (find_deb(tmp, packages[i], deb)) {
            errmsg_set(err, "apt-get download produced no .deb for %s", packages[i]);
            return -1;
        }
        if (snprintf(dest, sizeof dest, "%s/unpacked-%zu", tmp, i) >= (int)sizeof dest) {
            errmsg_set(err, "%s: path too long", tmp);
            return -1;
        }
        char *xargv[] = {"dpkg-deb", "-x", deb, dest, NULL};
        st = run_tool(xargv, NULL, o->tool_output, err);
        if (st < 0) return -1;
        if (st != 0) {
            errmsg_set(err, "dpkg-deb -x %s failed (exit status %d)", deb, st);
            return -1;
        }
        fetch_result one = {0};
        if (fetch_install_tree(dest, packages[i], midi_dir, &one, err)) return -1;
        report(o, (fetch_event){.kind = FETCH_EVENT_PACKAGE, .package = packages[i], .result = &one,
                                .midi_dir = midi_dir});
        res->n_found += one.n_found;
        res->n_written += one.n_written;
        res->n_unchanged += one.n_unchanged;
    }
    return 0;
}

int fetch_packages(const char *data_dir, const char *const *packages, size_t n, const fetch_opts *opts,
                   fetch_result *res, char err[AURL_ERR_LEN])
{
    static const fetch_opts silent = {0};
    fetch_result r = {0};
    char midi_dir[PATH_LEN];
    if (snprintf(midi_dir, sizeof midi_dir, "%s/midi", data_dir) >= PATH_LEN) {
        errmsg_set(err, "%s: path too long", data_dir);
        return -1;
    }
    if (file_mkdirs(midi_dir, err)) return -1;
    const char *tdir = getenv("TMPDIR");
    char tmp[PATH_LEN];
    snprintf(tmp, sizeof tmp, "%s/aurl-fetch-XXXXXX", tdir && *tdir ? tdir : "/tmp");
    if (!mkdtemp(tmp)) {
        errmsg_set(err, "%s: cannot create temporary directory: %s", tmp,
                 strerror(errno));
        return -1;
    }
    int rc = fetch_in(tmp, midi_dir, packages, n, opts ? opts : &silent, &r, err);
    remove_tree(tmp);
    if (res) *res = r;
    return rc;
}
