/* music_panel: the Music panel's model and the training samples list (see
 * the header). */
#include "tui/music_panel.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/train/train_sample.h"
#include "util/fileio.h"

#define MAX_JSON_BYTES (1u << 20)

static const struct {
    const char *key, *label;
    int decimals, overlap;
} KEYS[MPANEL_KEYS] = {
    {"notes_per_second", "notes/s", 1, 0},        {"polyphony", "polyphony", 2, 0},
    {"pitch_class_entropy", "pc entropy", 2, 0},  {"scale_consistency", "scale", 2, 0},
    {"groove_consistency", "groove", 2, 0},       {"empty_beat_rate", "empty beats", 2, 0},
    {"note_length_overlap", "len overlap", 2, 1}, {"ioi_overlap", "IOI overlap", 2, 1},
};

void mpanel_init(mpanel *p)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < MPANEL_KEYS; i++) p->gen[i] = p->data[i] = NAN;
    p->distance = p->cost = p->duration = p->notes = NAN;
}

/* The number at KEY of O, NAN when missing or not a number. */
static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int mpanel_feed_line(mpanel *p, const char *line)
{
    if (!line || !strstr(line, "\"music\"")) return 0; /* cheap filter before parsing */
    cJSON *o = cJSON_Parse(line);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "music") != 0 || !isfinite(num(o, "step"))) {
        cJSON_Delete(o);
        return 0;
    }
    p->have = 1;
    p->stage = (int)num(o, "stage");
    p->step = (int64_t)num(o, "step");
    for (int i = 0; i < MPANEL_KEYS; i++) p->gen[i] = num(o, KEYS[i].key);
    p->distance = num(o, "distance");
    p->cost = num(o, "sample_seconds");
    p->duration = num(o, "duration");
    p->notes = num(o, "notes");
    if (isfinite(p->cost)) p->cost_sum += p->cost;
    if (p->n_hist == MPANEL_HIST) {
        memmove(p->hx, p->hx + 1, sizeof p->hx - sizeof p->hx[0]);
        memmove(p->hy, p->hy + 1, sizeof p->hy - sizeof p->hy[0]);
        memmove(p->hstage, p->hstage + 1, sizeof p->hstage - sizeof p->hstage[0]);
        p->n_hist--;
    }
    p->hx[p->n_hist] = (double)p->n_samples;
    p->hy[p->n_hist] = p->distance;
    p->hstage[p->n_hist++] = p->stage;
    p->n_samples++;
    cJSON_Delete(o);
    return 1;
}

/* Read PATH (at most MAX_JSON_BYTES) and parse it; NULL with err set. */
static cJSON *read_json(const char *path, char err[AURL_ERR_LEN])
{
    unsigned char *text = NULL;
    size_t len = 0;
    if (file_read_all(path, MAX_JSON_BYTES, &text, &len, err) != 0) return NULL;
    cJSON *o = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        errmsg_set(err, "%s: not a JSON object (damaged?)", path);
        return NULL;
    }
    return o;
}

int mpanel_load_data(mpanel *p, const char *path, char err[AURL_ERR_LEN])
{
    cJSON *o = read_json(path, err);
    if (!o) return -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "values");
    if (!cJSON_IsObject(v)) {
        cJSON_Delete(o);
        errmsg_set(err, "%s: no \"values\" object", path);
        return -1;
    }
    for (int i = 0; i < MPANEL_KEYS; i++) p->data[i] = num(v, KEYS[i].key);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "source");
    snprintf(p->data_source, sizeof p->data_source, "%s", cJSON_IsString(src) ? src->valuestring : "");
    p->have_data = 1;
    cJSON_Delete(o);
    return 0;
}

int mpanel_rows(const mpanel *p, mpanel_row *rows)
{
    if (!p->have) return 0;
    for (int i = 0; i < MPANEL_KEYS; i++) {
        mpanel_row *r = &rows[i];
        r->key = KEYS[i].key;
        r->label = KEYS[i].label;
        r->decimals = KEYS[i].decimals;
        r->gen = p->gen[i];
        r->data = KEYS[i].overlap ? NAN : p->data[i];
        r->ratio = isfinite(r->gen) && isfinite(r->data) && r->data != 0 ? r->gen / r->data : NAN;
        double b = KEYS[i].overlap ? r->gen : r->ratio / 2;
        r->bar = isfinite(b) ? (b < 0 ? 0 : b > 1 ? 1 : b) : NAN;
    }
    return MPANEL_KEYS;
}

void mpanel_latest_mid(const mpanel *p, const char *outputs_dir, char *out, size_t len)
{
    if (!p->have) {
        if (len) out[0] = 0;
        return;
    }
    train_sample_path(outputs_dir, p->stage, (long long)p->step, ".mid", out, len);
}

/* ---- samples on disk ---- */

int msample_read_metrics(msample *it, const char *path)
{
    char err[AURL_ERR_LEN];
    it->distance = it->notes_per_second = it->polyphony = it->pc_entropy = NAN;
    cJSON *o = read_json(path, err);
    if (!o) {
        snprintf(it->error, sizeof it->error, "%s", err);
        return -1;
    }
    it->distance = num(o, "distance");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(o, "rows"), *r;
    cJSON_ArrayForEach(r, rows)
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(r, "key");
        if (!cJSON_IsString(k)) continue;
        double g = num(r, "gen");
        if (!strcmp(k->valuestring, "notes_per_second")) it->notes_per_second = g;
        else if (!strcmp(k->valuestring, "polyphony")) it->polyphony = g;
        else if (!strcmp(k->valuestring, "pitch_class_entropy")) it->pc_entropy = g;
    }
    it->error[0] = 0;
    cJSON_Delete(o);
    return 0;
}

static int cmp_sample(const void *a, const void *b)
{
    const msample *x = a, *y = b;
    if (x->stage != y->stage) return x->stage - y->stage;
    return x->step < y->step ? -1 : x->step > y->step;
}

/* Add the samples of one stage directory. 0 or -1 (out of memory). */
static int scan_stage(msample_list *l, size_t *cap, const char *outputs_dir, int stage)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/samples/stage%d", outputs_dir, stage);
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && rc == 0) {
        long long step;
        char tail[32];
        if (sscanf(e->d_name, "step_%lld%31s", &step, tail) != 2 || strcmp(tail, ".music.json") != 0) continue;
        if (l->n == *cap) {
            size_t nc = *cap ? 2 * *cap : 32;
            msample *p = realloc(l->items, nc * sizeof *p);
            if (!p) {
                rc = -1;
                break;
            }
            l->items = p;
            *cap = nc;
        }
        msample *it = &l->items[l->n++];
        memset(it, 0, sizeof *it);
        it->stage = stage;
        it->step = step;
        char mus[4300];
        train_sample_path(outputs_dir, stage, step, ".music.json", mus, sizeof mus);
        train_sample_path(outputs_dir, stage, step, ".mid", it->mid_path, sizeof it->mid_path);
        it->have_mid = access(it->mid_path, R_OK) == 0;
        msample_read_metrics(it, mus);
    }
    closedir(d);
    return rc;
}

int msample_scan(msample_list *l, const char *outputs_dir)
{
    l->items = NULL;
    l->n = 0;
    size_t cap = 0;
    for (int s = 1; s <= 3; s++)
        if (scan_stage(l, &cap, outputs_dir, s) != 0) {
            msample_list_free(l);
            return -1;
        }
    if (l->n) qsort(l->items, l->n, sizeof *l->items, cmp_sample);
    return 0;
}

void msample_list_free(msample_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* V with D decimals, or "-" when not finite. */
static const char *fmtv(char *buf, size_t len, double v, int d)
{
    if (isfinite(v)) snprintf(buf, len, "%.*f", d, v);
    else snprintf(buf, len, "-");
    return buf;
}

void msample_format(const msample *it, char *out, size_t len)
{
    char a[32], b[32], c[32], d[32];
    if (it->error[0]) {
        snprintf(out, len, "stage %d step %7lld  %s", it->stage, it->step, it->error);
        return;
    }
    snprintf(out, len, "stage %d step %7lld  notes/s %5s  poly %5s  H %5s  dist %5s%s", it->stage, it->step,
             fmtv(a, sizeof a, it->notes_per_second, 1), fmtv(b, sizeof b, it->polyphony, 2),
             fmtv(c, sizeof c, it->pc_entropy, 2), fmtv(d, sizeof d, it->distance, 2),
             it->have_mid ? "" : "  (no .mid)");
}
