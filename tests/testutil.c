/* testutil: shared test helpers for a per-program temporary directory and
 * the files tests write into it (see testutil.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "engine/model/checkpoint.h"
#include "engine/model/model_yaml.h"
#include "util/fileio.h"

static char g_tmpdir[256];

/* Paths handed out by testutil_path, kept until teardown so that every
 * returned pointer stays valid. */
typedef struct path_entry {
    char *name, *path;
    struct path_entry *next;
} path_entry;
static path_entry *g_paths;

int testutil_tmpdir_setup(void **state)
{
    (void)state;
    snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/aurl-%s-XXXXXX", program_invocation_short_name);
    if (!mkdtemp(g_tmpdir)) {
        fprintf(stderr, "testutil: cannot create %s: %s\n", g_tmpdir, strerror(errno));
        g_tmpdir[0] = 0;
        return -1;
    }
    return 0;
}

int testutil_tmpdir_teardown(void **state)
{
    (void)state;
    while (g_paths) {
        path_entry *e = g_paths;
        g_paths = e->next;
        free(e->name);
        free(e->path);
        free(e);
    }
    int rc = g_tmpdir[0] ? testutil_rm_rf(g_tmpdir) : 0;
    if (rc != 0) fprintf(stderr, "testutil: cannot remove %s\n", g_tmpdir);
    g_tmpdir[0] = 0;
    return rc;
}

const char *testutil_tmpdir(void)
{
    if (!g_tmpdir[0]) fail_msg("testutil: no temp dir (group setup testutil_tmpdir_setup missing?)");
    return g_tmpdir;
}

const char *testutil_path(const char *name)
{
    for (path_entry *e = g_paths; e; e = e->next)
        if (strcmp(e->name, name) == 0) return e->path;
    path_entry *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->name = strdup(name);
    if (name[0] == '/') {
        e->path = strdup(name);
    } else {
        const char *dir = testutil_tmpdir();
        e->path = malloc(strlen(dir) + strlen(name) + 2);
        if (e->path) sprintf(e->path, "%s/%s", dir, name);
    }
    assert_non_null(e->name);
    assert_non_null(e->path);
    e->next = g_paths;
    g_paths = e;
    return e->path;
}

const char *testutil_write_bytes(const char *name, const void *data, size_t len)
{
    const char *path = testutil_path(name);
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        char parent[1024], err[AURL_ERR_LEN];
        assert_true((size_t)(slash - path) < sizeof parent);
        memcpy(parent, path, (size_t)(slash - path));
        parent[slash - path] = 0;
        if (file_mkdirs(parent, err) != 0) fail_msg("%s", err);
    }
    FILE *f = fopen(path, "wb");
    if (!f) fail_msg("cannot write %s: %s", path, strerror(errno));
    if (len) assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

const char *testutil_write_file(const char *name, const char *text)
{
    return testutil_write_bytes(name, text, strlen(text));
}

unsigned char *testutil_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot read %s: %s", path, strerror(errno));
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return b;
}

int testutil_count_files(const char *sub, int del)
{
    DIR *d = opendir(testutil_tmpdir());
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (!strstr(e->d_name, sub)) continue;
        n++;
        if (del) {
            char p[sizeof g_tmpdir + 256 + 2];
            snprintf(p, sizeof p, "%s/%s", g_tmpdir, e->d_name);
            if (unlink(p) != 0) fail_msg("cannot remove %s: %s", p, strerror(errno));
        }
    }
    closedir(d);
    return n;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

int testutil_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* In the child: open PATH (or /dev/null) for writing onto descriptor FD. */
static int redirect(const char *path, int fd)
{
    int f = open(path ? path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f < 0 || dup2(f, fd) < 0) return -1;
    if (f != fd) close(f);
    return 0;
}

pid_t testutil_spawn_aurl(const char *const *pre, const char *const *args, const char *out_name,
                          const char *err_name)
{
    enum { MAX_ARGS = 64 };
    const char *build = getenv("BUILD");
    char exe[256];
    snprintf(exe, sizeof exe, "%s/aurl", build && *build ? build : "build");
    const char *argv[MAX_ARGS + 1];
    int n = 0;
    argv[n++] = exe;
    for (int k = 0; k < 2; k++) {
        const char *const *list = k == 0 ? pre : args;
        for (int i = 0; list && list[i]; i++) {
            if (n == MAX_ARGS) fail_msg("testutil_spawn_aurl: more than %d arguments", MAX_ARGS - 1);
            argv[n++] = list[i];
        }
    }
    argv[n] = NULL;
    const char *out = out_name ? testutil_path(out_name) : NULL;
    const char *err = err_name ? testutil_path(err_name) : NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) fail_msg("testutil_spawn_aurl: fork: %s", strerror(errno));
    if (pid == 0) {
        if (redirect(out, STDOUT_FILENO) || redirect(err, STDERR_FILENO)) _exit(126);
        setenv("OMP_NUM_THREADS", "1", 1);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int testutil_wait_exit(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid) fail_msg("testutil_wait_exit: waitpid: %s", strerror(errno));
    if (!WIFEXITED(status)) fail_msg("aurl (pid %d) did not exit normally (status %#x)", (int)pid, (unsigned)status);
    return WEXITSTATUS(status);
}

int testutil_run_aurl(const char *const *pre, const char *const *args, const char *out_name,
                      const char *err_name)
{
    return testutil_wait_exit(testutil_spawn_aurl(pre, args, out_name, err_name));
}

float *testutil_ckpt_read_all(const char *path, size_t *n)
{
    char err[AURL_ERR_LEN];
    ckpt_file *f;
    if (ckpt_open(path, &f, err) != 0) fail_msg("%s", err);
    size_t total = 0;
    for (int i = 0; i < ckpt_n_tensors(f); i++) total += ckpt_tensor_numel(f, i);
    float *all = malloc((total ? total : 1) * sizeof *all);
    if (!all) fail_msg("testutil_ckpt_read_all: out of memory");
    size_t off = 0;
    for (int i = 0; i < ckpt_n_tensors(f); i++) {
        size_t k = ckpt_tensor_numel(f, i);
        if (ckpt_read_tensor(f, ckpt_tensor_name(f, i), all + off, k, err) != 0) fail_msg("%s", err);
        off += k;
    }
    ckpt_close(f);
    *n = total;
    return all;
}

void testutil_tiny_model_config(model_config *cfg)
{
    model_yaml_defaults(cfg);
    cfg->d_model = 32;
    cfg->n_layers = 1;
    cfg->n_heads = 2;
    cfg->d_ff = 64;
    cfg->max_seq_len = 64;
    cfg->dropout = 0;
}

int testutil_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

char *testutil_tmux_capture(const char *sock, const char *sess)
{
    static char buf[65536];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "tmux -L %s capture-pane -p -t %s 2>/dev/null", sock, sess);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(buf, 1, sizeof buf - 1, p) : 0;
    if (p) pclose(p);
    buf[n] = 0;
    return buf;
}

int testutil_tmux_wait(const char *sock, const char *sess, const char *text)
{
    for (int i = 0; i < 400; i++) {
        if (strstr(testutil_tmux_capture(sock, sess), text)) return 1;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    fprintf(stderr, "pane %s lacks '%s':\n%s\n", sess, text, testutil_tmux_capture(sock, sess));
    return 0;
}

int testutil_tmux_start(const char *prog, char *exe, size_t len)
{
    if (system("command -v tmux >/dev/null 2>&1") != 0) {
        printf("%s: tmux is not installed: skipped\n", prog);
        return 0;
    }
    const char *build = getenv("BUILD");
    snprintf(exe, len, "%s/aurl", build && *build ? build : "build");
    char *abs = realpath(exe, NULL);
    if (abs) {
        snprintf(exe, len, "%s", abs);
        free(abs);
    }
    return 1;
}
