/* ckpt_pick: the default checkpoint to sample from (see ckpt_pick.h). */
#include "engine/train/ckpt_pick.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "engine/model/checkpoint.h"
#include "engine/train/train_state.h"
#include "util/fileio.h"

/* Stage N of a file named stageN_*.ckpt, else 0. */
static int stage_of_name(const char *name)
{
    int st = 0;
    char c;
    if (sscanf(name, "stage%d%c", &st, &c) == 2 && c == '_' && st >= 1 && st <= TRAIN_MAX_STAGES) return st;
    return 0;
}

int ckpt_pick_is_vae(const char *path)
{
    char err[AURL_ERR_LEN];
    ckpt_file *f;
    if (ckpt_open(path, &f, err) != 0) return 0;
    cJSON *h = cJSON_Parse(ckpt_header_json(f));
    ckpt_close(f);
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(h, "mode");
    int vae = cJSON_IsString(mode) && (!strcmp(mode->valuestring, "vae") || !strcmp(mode->valuestring, "vae_gan"));
    cJSON_Delete(h);
    return vae;
}

/* 1 if PATH is a readable checkpoint of KIND. */
static int is_kind(const char *path, ckpt_pick_kind kind)
{
    if (!file_is_regular(path)) return 0;
    if (kind == CKPT_PICK_VAE) return ckpt_pick_is_vae(path);
    char err[AURL_ERR_LEN];
    ckpt_file *f;
    if (ckpt_open(path, &f, err) != 0) return 0;
    ckpt_close(f);
    return !ckpt_pick_is_vae(path);
}

int ckpt_pick_best(const char *outputs_dir, ckpt_pick_kind kind, char *path, size_t len, int *stage_out,
                   char err[AURL_ERR_LEN])
{
    char buf[4096];
    if (stage_out) *stage_out = 0;
    snprintf(buf, sizeof buf, "%s/training_state.json", outputs_dir);
    train_state st;
    char serr[AURL_ERR_LEN];
    if (train_state_read(buf, &st, serr) == 1) {
        for (int s = TRAIN_MAX_STAGES; s >= 1; s--) {
            const char *best = st.stages[s - 1].best_checkpoint;
            if (!best[0]) continue;
            snprintf(buf, sizeof buf, "%s/%s", outputs_dir, best);
            if (!is_kind(buf, kind)) continue;
            if (strlen(buf) >= len) break;
            snprintf(path, len, "%s", buf);
            if (stage_out) *stage_out = s;
            return 0;
        }
    }
    /* fallback: the newest *.ckpt in checkpoints/ */
    snprintf(buf, sizeof buf, "%s/checkpoints", outputs_dir);
    DIR *d = opendir(buf);
    double newest = -1;
    char pick[4096] = "";
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 6 || strcmp(e->d_name + n - 5, ".ckpt")) continue;
            char full[4096 + 256];
            snprintf(full, sizeof full, "%s/%s", buf, e->d_name);
            struct stat sb;
            if (stat(full, &sb) || !S_ISREG(sb.st_mode) || !is_kind(full, kind)) continue;
            double t = (double)sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec * 1e-9;
            if (t > newest || (t == newest && strcmp(full, pick) > 0)) {
                newest = t;
                snprintf(pick, sizeof pick, "%s", full);
            }
        }
        closedir(d);
    }
    if (!pick[0]) {
        if (kind == CKPT_PICK_VAE)
            errmsg_set(err, "no stage-3 (VAE) checkpoint in %s/checkpoints: VAE generation needs one: run `aurl "
                       "train` through stage 3 (or pass --checkpoint FILE)", outputs_dir);
        else
            errmsg_set(err, "no checkpoint in %s/checkpoints: run `aurl train` first (or pass --checkpoint FILE)",
                       outputs_dir);
        return -1;
    }
    if (strlen(pick) >= len) {
        errmsg_set(err, "%s: checkpoint path too long", pick);
        return -1;
    }
    snprintf(path, len, "%s", pick);
    const char *base = strrchr(pick, '/');
    if (stage_out) *stage_out = stage_of_name(base ? base + 1 : pick);
    return 0;
}
