/* fuzz_tmp: per-input scratch directories for the file-reading fuzz targets.
 * Each input gets a fresh directory under /dev/shm (or /tmp when /dev/shm
 * is missing) named by pid and a counter, removed with everything in it
 * after the input, so files a loader renames aside (train_state's
 * *.corrupt-<time>) never accumulate and the fuzzer cannot fill the disk.
 * Header-only: every target includes it once. */
#ifndef AURL_FUZZ_TMP_H
#define AURL_FUZZ_TMP_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Make a fresh scratch directory; its path goes to DIR (>= 256 bytes). */
static void fuzz_tmp_dir(char *dir, size_t cap)
{
    static unsigned long counter;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, cap, "%s/aurl-fuzz-%ld-%lu", base, (long)getpid(), counter++);
    if (mkdir(dir, 0700) != 0) {
        perror(dir);
        abort(); /* a harness problem, not a finding */
    }
}

/* Write LEN bytes of DATA to DIR/NAME (no parent creation); returns the path
 * in OUT (>= 512 bytes). */
static void fuzz_tmp_write(const char *dir, const char *name, const void *data, size_t len, char *out,
                           size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
    FILE *fp = fopen(out, "wb");
    if (!fp || (len && fwrite(data, 1, len, fp) != len) || fclose(fp) != 0) {
        perror(out);
        abort();
    }
}

/* Remove PATH and everything below it (links are removed, not followed). */
static void fuzz_tmp_rm(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            fuzz_tmp_rm(sub);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

#endif
