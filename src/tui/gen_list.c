/* gen_list: generated pieces, the settings form, the `aurl generate` argv
 * and progress lines (see gen_list.h). */
#include "tui/gen_list.h"

#include <math.h>

#include <dirent.h>

#include "tui/music_panel.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/tokenizer.h"
#include "engine/sample/gen_sidecar.h"

/* ---------- generated pieces ---------- */

void glist_free(glist *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* The list's columns of a read sidecar. */
static void item_from_sidecar(glist_item *it, const gen_sidecar *sc)
{
    it->n_tokens = (long)sc->tokens;
    it->n_notes = (long)sc->notes;
    it->duration = sc->duration_seconds;
    it->seconds_taken = sc->seconds_taken;
    snprintf(it->strategy, sizeof it->strategy, "%s", sc->settings.strategy);
    it->seed = sc->settings.seed;
    it->ok = 1;
    it->error[0] = 0;
}

/* IT as not read (columns unknown), with error "bad sidecar: WHY". */
static void item_bad(glist_item *it, const char *why)
{
    it->ok = 0;
    it->n_tokens = it->n_notes = -1;
    it->duration = it->seconds_taken = -1;
    it->strategy[0] = 0;
    it->seed = -1;
    snprintf(it->error, sizeof it->error, "bad sidecar: %s", why);
}

void glist_parse_sidecar(glist_item *it, const char *text, size_t len)
{
    gen_sidecar *sc = malloc(sizeof *sc);
    char err[AURL_ERR_LEN];
    if (!sc) item_bad(it, "out of memory");
    else if (gen_sidecar_parse(text, len, sc, err)) item_bad(it, err);
    else item_from_sidecar(it, sc);
    free(sc);
}

/* Read IT's sidecar (the row names the piece, so the error leaves out the
 * path that gen_sidecar_read puts first). SC is scratch. */
static void read_sidecar(glist_item *it, gen_sidecar *sc)
{
    char err[AURL_ERR_LEN];
    if (!gen_sidecar_read(it->json_path, sc, err)) {
        item_from_sidecar(it, sc);
        return;
    }
    size_t n = strlen(it->json_path);
    item_bad(it, !strncmp(err, it->json_path, n) && !strncmp(err + n, ": ", 2) ? err + n + 2 : err);
}

static int cmp_items(const void *a, const void *b)
{
    const glist_item *x = a, *y = b;
    if (x->mtime != y->mtime) return x->mtime < y->mtime ? 1 : -1;
    return strcmp(y->name, x->name);
}

long glist_find(const glist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->items[i].name, name)) return (long)i;
    return -1;
}

/* Item for stem NAME (added when new). NULL when out of memory. */
static glist_item *item_for(glist *l, size_t *cap, const char *name)
{
    long i = glist_find(l, name);
    if (i >= 0) return &l->items[i];
    if (l->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        glist_item *p = realloc(l->items, nc * sizeof *p);
        if (!p) return NULL;
        l->items = p;
        *cap = nc;
    }
    glist_item *it = &l->items[l->n++];
    memset(it, 0, sizeof *it);
    snprintf(it->name, sizeof it->name, "%s", name);
    it->n_tokens = it->n_notes = -1;
    it->duration = it->seconds_taken = -1;
    it->seed = -1;
    return it;
}

/* The music metrics of IT from <stem>.music.json beside its .mid (NAN when missing). */
static void read_music(glist_item *it)
{
    msample m;
    char path[4200];
    const char *src = it->mid_path[0] ? it->mid_path : it->json_path;
    const char *dot = strrchr(src, '.');
    snprintf(path, sizeof path, "%.*s.music.json", (int)(dot ? dot - src : (long)strlen(src)), src);
    msample_read_metrics(&m, path);
    it->notes_per_second = m.notes_per_second;
    it->polyphony = m.polyphony;
    it->pc_entropy = m.pc_entropy;
    it->distance = m.distance;
}

int glist_scan(glist *l, const char *outputs_dir, char err[AURL_ERR_LEN])
{
    glist_free(l);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/generated", outputs_dir);
    DIR *dp = opendir(dir);
    if (!dp) {
        if (errno == ENOENT) return 0;
        errmsg_set(err, "%s: %s", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(dp))) {
        const char *dot = strrchr(de->d_name, '.');
        if (de->d_name[0] == '.' || !dot) continue;
        int is_mid = !strcasecmp(dot, ".mid"), is_json = !strcmp(dot, ".json");
        size_t nl = strlen(de->d_name);
        if ((!is_mid && !is_json) || (nl > 11 && !strcmp(de->d_name + nl - 11, ".music.json"))) continue;
        char stem[256];
        size_t sl = (size_t)(dot - de->d_name);
        if (sl >= sizeof stem) continue;
        memcpy(stem, de->d_name, sl);
        stem[sl] = 0;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        glist_item *it = item_for(l, &cap, stem);
        if (!it) {
            errmsg_set(err, "%s: out of memory", dir);
            rc = -1;
            break;
        }
        if (is_mid) {
            snprintf(it->mid_path, sizeof it->mid_path, "%s", path);
            it->mtime = (int64_t)st.st_mtime;
        } else {
            snprintf(it->json_path, sizeof it->json_path, "%s", path);
            if (!it->mid_path[0]) it->mtime = (int64_t)st.st_mtime;
        }
    }
    closedir(dp);
    if (rc) {
        glist_free(l);
        return -1;
    }
    gen_sidecar *sc = l->n ? malloc(sizeof *sc) : NULL;
    if (l->n && !sc) {
        glist_free(l);
        errmsg_set(err, "%s: out of memory", dir);
        return -1;
    }
    for (size_t i = 0; i < l->n; i++) {
        glist_item *it = &l->items[i];
        if (!it->json_path[0]) {
            snprintf(it->error, sizeof it->error, "no sidecar .json");
            continue;
        }
        read_sidecar(it, sc);
        read_music(it);
        if (it->ok && !it->mid_path[0]) {
            it->ok = 0;
            snprintf(it->error, sizeof it->error, "the .mid is missing");
        }
    }
    free(sc);
    if (l->n > 1) qsort(l->items, l->n, sizeof *l->items, cmp_items);
    return 0;
}

/* ---------- settings form ---------- */

void gform_init(gform *f)
{
    memset(f, 0, sizeof *f);
    sampler_settings_default(&f->s);
    f->s.strategy = SAMPLER_TOP_P;
    f->mode = GFORM_MODE_TRANSFORMER;
}

const char *gform_label(gform_field f)
{
    static const char *labels[GFORM_N_FIELDS] = {"Strategy", "Temperature", "Top-k", "Top-p", "Beams",
                                                 "Length", "Seconds", "Seed", "Mode"};
    return f >= 0 && f < GFORM_N_FIELDS ? labels[f] : "?";
}

int gform_is_numeric(gform_field f)
{
    return f != GFORM_STRATEGY && f != GFORM_MODE && f >= 0 && f < GFORM_N_FIELDS;
}

void gform_value(const gform *f, gform_field fld, char *buf, size_t len)
{
    switch (fld) {
    case GFORM_STRATEGY: snprintf(buf, len, "%s", sampler_strategy_name(f->s.strategy)); break;
    case GFORM_TEMPERATURE: snprintf(buf, len, "%.2f", f->s.temperature); break;
    case GFORM_TOP_K: snprintf(buf, len, "%d", f->s.top_k); break;
    case GFORM_TOP_P: snprintf(buf, len, "%.2f", f->s.top_p); break;
    case GFORM_BEAMS: snprintf(buf, len, "%d", f->s.beams); break;
    case GFORM_LENGTH: snprintf(buf, len, "%d", f->s.max_tokens); break;
    case GFORM_SECONDS:
        if (f->s.max_seconds > 0) snprintf(buf, len, "%g", f->s.max_seconds);
        else snprintf(buf, len, "off");
        break;
    case GFORM_SEED: snprintf(buf, len, "%llu", (unsigned long long)f->s.seed); break;
    case GFORM_MODE: snprintf(buf, len, "%s", f->mode == GFORM_MODE_VAE ? "vae" : "transformer"); break;
    default: snprintf(buf, len, "?"); break;
    }
}

int gform_relevant(const gform *f, gform_field fld)
{
    sampler_strategy s = f->s.strategy;
    switch (fld) {
    case GFORM_TEMPERATURE: return s == SAMPLER_TEMPERATURE || s == SAMPLER_TOP_K || s == SAMPLER_TOP_P;
    case GFORM_TOP_K: return s == SAMPLER_TOP_K;
    case GFORM_TOP_P: return s == SAMPLER_TOP_P;
    case GFORM_BEAMS: return s == SAMPLER_BEAM;
    default: return 1;
    }
}

/* Ranges of the numeric fields (the form keeps values inside them). */
#define TEMP_MIN 0.05
#define TEMP_MAX 5.0
#define TOPK_MAX TOK_VOCAB_SIZE
#define BEAMS_MAX 16
#define LENGTH_MAX 65536
#define SECONDS_MAX 3600.0

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

void gform_step(gform *f, gform_field fld, int dir)
{
    dir = dir < 0 ? -1 : 1;
    sampler_settings *s = &f->s;
    switch (fld) {
    case GFORM_STRATEGY: s->strategy = (sampler_strategy)(((int)s->strategy + dir + 5) % 5); break;
    case GFORM_TEMPERATURE: s->temperature = (float)clampd(round((s->temperature + dir * 0.05) * 100) / 100, TEMP_MIN, TEMP_MAX); break;
    case GFORM_TOP_K: {
        int k = s->top_k;
        int step = k >= 100 ? 10 : k >= 20 ? 5 : 1;
        k += dir * step;
        s->top_k = k < 1 ? 1 : k > TOPK_MAX ? TOPK_MAX : k;
        break;
    }
    case GFORM_TOP_P: s->top_p = (float)clampd(round((s->top_p + dir * 0.05) * 100) / 100, 0.05, 1.0); break;
    case GFORM_BEAMS: s->beams = s->beams + dir < 1 ? 1 : s->beams + dir > BEAMS_MAX ? BEAMS_MAX : s->beams + dir; break;
    case GFORM_LENGTH: {
        long n = s->max_tokens + dir * 128L;
        s->max_tokens = (int)(n < 64 ? 64 : n > LENGTH_MAX ? LENGTH_MAX : n);
        break;
    }
    case GFORM_SECONDS: s->max_seconds = clampd(s->max_seconds + dir * 5.0, 0, SECONDS_MAX); break;
    case GFORM_SEED:
        if (dir > 0 || s->seed > 0) s->seed = (uint64_t)((int64_t)s->seed + dir);
        break;
    case GFORM_MODE: f->mode = f->mode == GFORM_MODE_VAE ? GFORM_MODE_TRANSFORMER : GFORM_MODE_VAE; break;
    default: break;
    }
}

int gform_set_text(gform *f, gform_field fld, const char *text, char err[AURL_ERR_LEN])
{
    if (!gform_is_numeric(fld)) {
        errmsg_set(err, "%s is chosen with the arrow keys", gform_label(fld));
        return -1;
    }
    while (*text == ' ') text++;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno || !isfinite(v)) {
        if (fld == GFORM_SECONDS && !strcasecmp(text, "off")) v = 0, end = (char *)text + 3;
        else {
            errmsg_set(err, "%s: '%s' is not a number", gform_label(fld), text);
            return -1;
        }
    }
    while (*end == ' ') end++;
    if (*end) {
        errmsg_set(err, "%s: '%s' is not a number", gform_label(fld), text);
        return -1;
    }
    int integral = fld == GFORM_TOP_K || fld == GFORM_BEAMS || fld == GFORM_LENGTH || fld == GFORM_SEED;
    if (integral && v != floor(v)) {
        errmsg_set(err, "%s must be a whole number", gform_label(fld));
        return -1;
    }
    double lo = 0, hi = 0;
    switch (fld) {
    case GFORM_TEMPERATURE: lo = TEMP_MIN, hi = TEMP_MAX; break;
    case GFORM_TOP_K: lo = 1, hi = TOPK_MAX; break;
    case GFORM_TOP_P: lo = 0.01, hi = 1; break;
    case GFORM_BEAMS: lo = 1, hi = BEAMS_MAX; break;
    case GFORM_LENGTH: lo = 1, hi = LENGTH_MAX; break;
    case GFORM_SECONDS: lo = 0, hi = SECONDS_MAX; break;
    case GFORM_SEED: lo = 0, hi = 9007199254740992.0; break;
    default: break;
    }
    if (v < lo || v > hi) {
        errmsg_set(err, "%s must be between %g and %g", gform_label(fld), lo, hi);
        return -1;
    }
    gform next = *f;
    switch (fld) {
    case GFORM_TEMPERATURE: next.s.temperature = (float)v; break;
    case GFORM_TOP_K: next.s.top_k = (int)v; break;
    case GFORM_TOP_P: next.s.top_p = (float)v; break;
    case GFORM_BEAMS: next.s.beams = (int)v; break;
    case GFORM_LENGTH: next.s.max_tokens = (int)v; break;
    case GFORM_SECONDS: next.s.max_seconds = v; break;
    case GFORM_SEED: next.s.seed = (uint64_t)v; break;
    default: break;
    }
    if (gform_validate(&next, err) != 0) return -1;
    *f = next;
    return 0;
}

int gform_validate(const gform *f, char err[AURL_ERR_LEN])
{
    return sampler_settings_validate(&f->s, err);
}

/* ---------- aurl generate command line ---------- */

static int push(gen_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int push(gen_argv *a, const char *fmt, ...)
{
    if (a->argc >= GEN_ARGV_MAX) return -1;
    va_list ap;
    va_start(ap, fmt);
    size_t room = sizeof a->store - a->used;
    int w = vsnprintf(a->store + a->used, room, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= room) return -1;
    a->argv[a->argc++] = a->store + a->used;
    a->argv[a->argc] = NULL;
    a->used += (size_t)w + 1;
    return 0;
}

int gen_argv_build(gen_argv *a, const char *self_exe, const char *outputs_dir, const char *data_dir,
                   const gform *f, const char *checkpoint)
{
    memset(a, 0, sizeof *a);
    const sampler_settings *s = &f->s;
    int rc = push(a, "%s", self_exe);
    if (outputs_dir) rc |= push(a, "--outputs") | push(a, "%s", outputs_dir);
    if (data_dir) rc |= push(a, "--data") | push(a, "%s", data_dir);
    rc |= push(a, "generate");
    rc |= push(a, "--mode") | push(a, "%s", f->mode == GFORM_MODE_VAE ? "vae" : "transformer");
    rc |= push(a, "--strategy") | push(a, "%s", sampler_strategy_name(s->strategy));
    rc |= push(a, "--temperature") | push(a, "%g", (double)s->temperature);
    rc |= push(a, "--top-k") | push(a, "%d", s->top_k);
    rc |= push(a, "--top-p") | push(a, "%g", (double)s->top_p);
    rc |= push(a, "--beams") | push(a, "%d", s->beams);
    rc |= push(a, "--length") | push(a, "%d", s->max_tokens);
    if (s->max_seconds > 0) rc |= push(a, "--seconds") | push(a, "%g", s->max_seconds);
    rc |= push(a, "--seed") | push(a, "%llu", (unsigned long long)s->seed);
    if (checkpoint && checkpoint[0]) rc |= push(a, "--checkpoint") | push(a, "%s", checkpoint);
    rc |= push(a, "--progress") | push(a, "--json");
    return rc ? -1 : 0;
}

int gen_parse_progress(const char *line, long *done, long *total)
{
    long d, t;
    int n = 0;
    if (sscanf(line, "progress %ld %ld%n", &d, &t, &n) != 2) return 0;
    for (const char *p = line + n; *p; p++)
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') return 0;
    if (d < 0 || t < 0) return 0;
    *done = d;
    *total = t;
    return 1;
}
