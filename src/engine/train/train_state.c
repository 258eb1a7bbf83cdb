/* train_state: read/write outputs/training_state.json with cJSON. Reading
 * is tolerant (missing fields keep their defaults) but strict about types
 * and ranges: a wrong field makes the file "damaged", reported by field
 * name and moved aside so the next save cannot destroy the evidence. */
#include "engine/train/train_state.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/json_num.h"

#define STATE_MAX_BYTES (1u << 20)
#define STATE_VERSION 1
#define JSON_INT_LIMIT 9007199254740992.0 /* 2^53: integers exact in a double */

void train_state_init(train_state *st)
{
    memset(st, 0, sizeof *st);
    st->version = STATE_VERSION;
    st->current_stage = 1;
    st->ranks = 1;
    for (int i = 0; i < TRAIN_MAX_STAGES; i++) st->stages[i].best_val_loss = INFINITY;
}

/* ---- writing ---- */

/* Append stage INDEX as an object to ARR. 0 if any allocation failed (a
 * state file missing a field would silently reset it on the next load). */
static int add_stage(cJSON *arr, int index, const train_stage_state *s)
{
    cJSON *o = cJSON_CreateObject();
    return o && cJSON_AddItemToArray(arr, o) && cJSON_AddNumberToObject(o, "stage", index + 1) &&
           cJSON_AddNumberToObject(o, "status", s->status) && cJSON_AddNumberToObject(o, "epoch", s->epoch) &&
           cJSON_AddNumberToObject(o, "step", (double)s->step) &&
           cJSON_AddNumberToObject(o, "total_steps", (double)s->total_steps) &&
           (isfinite(s->best_val_loss) ? cJSON_AddNumberToObject(o, "best_val_loss", s->best_val_loss)
                                       : cJSON_AddNullToObject(o, "best_val_loss")) &&
           cJSON_AddNumberToObject(o, "best_step", (double)s->best_step) &&
           cJSON_AddNumberToObject(o, "evals_since_best", s->evals_since_best) &&
           cJSON_AddBoolToObject(o, "stopped_early", s->stopped_early) &&
           cJSON_AddStringToObject(o, "best_checkpoint", s->best_checkpoint) &&
           cJSON_AddStringToObject(o, "last_checkpoint", s->last_checkpoint) &&
           cJSON_AddStringToObject(o, "config_path", s->config_path) &&
           cJSON_AddStringToObject(o, "config_hash", s->config_hash) &&
           cJSON_AddNumberToObject(o, "started_at", s->started_at) &&
           cJSON_AddNumberToObject(o, "updated_at", s->updated_at) &&
           cJSON_AddNumberToObject(o, "finished_at", s->finished_at);
}

char *train_state_to_json(const train_state *st)
{
    cJSON *root = cJSON_CreateObject(), *arr = NULL;
    int ok = root && cJSON_AddNumberToObject(root, "version", st->version) &&
             cJSON_AddNumberToObject(root, "current_stage", st->current_stage) &&
             cJSON_AddNumberToObject(root, "trainer_pid", st->trainer_pid) &&
             cJSON_AddNumberToObject(root, "ranks", st->ranks) &&
             cJSON_AddStringToObject(root, "profile", st->profile) &&
             (arr = cJSON_AddArrayToObject(root, "stages")) != NULL;
    for (int i = 0; ok && i < TRAIN_MAX_STAGES; i++) ok = add_stage(arr, i, &st->stages[i]);
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return NULL;
    char *copy = strdup(text); /* plain malloc, so callers free() it */
    cJSON_free(text);
    return copy;
}

int train_state_save(const char *path, const train_state *st, char err[AURL_ERR_LEN])
{
    char *text = train_state_to_json(st);
    if (!text) {
        snprintf(err, AURL_ERR_LEN, "%s: out of memory", path);
        return -1;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* replace the NUL: the file ends with a newline */
    int rc = file_write_atomic(path, text, len + 1, err);
    free(text);
    return rc;
}

/* ---- reading ---- */

/* Reading context: names the field being read for error messages. */
typedef struct {
    const char *path;
    char *err;
    char prefix[32]; /* "" or "stages[N]." */
} reader;

static int bad_field(reader *r, const char *key, const char *problem)
{
    snprintf(r->err, AURL_ERR_LEN, "%s: field \"%s%s\" %s", r->path, r->prefix, key, problem);
    return -1;
}

/* Integer member KEY in [lo, hi]; absent or null keeps *out. */
static int read_int(reader *r, const cJSON *obj, const char *key, double lo, double hi, int64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it || cJSON_IsNull(it)) return 0;
    if (!cJSON_IsNumber(it)) return bad_field(r, key, "is not a number");
    if (json_num_int(it, lo, hi, out) != 0) return bad_field(r, key, "is out of range");
    return 0;
}

static int read_int32(reader *r, const cJSON *obj, const char *key, int lo, int hi, int *out)
{
    int64_t v = *out;
    if (read_int(r, obj, key, lo, hi, &v) != 0) return -1;
    *out = (int)v;
    return 0;
}

/* Finite number; for best_val_loss null means "none" (+inf). */
static int read_double(reader *r, const cJSON *obj, const char *key, int null_is_inf, double *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it) return 0;
    if (cJSON_IsNull(it)) {
        if (null_is_inf) *out = INFINITY;
        return 0;
    }
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble)) return bad_field(r, key, "is not a number");
    *out = it->valuedouble;
    return 0;
}

static int read_bool(reader *r, const cJSON *obj, const char *key, int *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it || cJSON_IsNull(it)) return 0;
    if (!cJSON_IsBool(it)) return bad_field(r, key, "is not true or false");
    *out = cJSON_IsTrue(it);
    return 0;
}

static int read_string(reader *r, const cJSON *obj, const char *key, char *out, size_t cap)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it || cJSON_IsNull(it)) return 0;
    if (!cJSON_IsString(it)) return bad_field(r, key, "is not a string");
    if (strlen(it->valuestring) >= cap) return bad_field(r, key, "is too long");
    memcpy(out, it->valuestring, strlen(it->valuestring) + 1);
    return 0;
}

static int read_stage(reader *r, const cJSON *o, train_stage_state *s)
{
    int status = (int)s->status; /* absent keeps it */
    if (read_int32(r, o, "status", STAGE_NOT_STARTED, STAGE_COMPLETE, &status)) return -1;
    s->status = (stage_status)status;
    return read_int32(r, o, "epoch", 0, 1 << 30, &s->epoch) ||
                   read_int(r, o, "step", 0, JSON_INT_LIMIT, &s->step) ||
                   read_int(r, o, "total_steps", 0, JSON_INT_LIMIT, &s->total_steps) ||
                   read_double(r, o, "best_val_loss", 1, &s->best_val_loss) ||
                   read_int(r, o, "best_step", 0, JSON_INT_LIMIT, &s->best_step) ||
                   read_int32(r, o, "evals_since_best", 0, 1 << 30, &s->evals_since_best) ||
                   read_bool(r, o, "stopped_early", &s->stopped_early) ||
                   read_string(r, o, "best_checkpoint", s->best_checkpoint, sizeof s->best_checkpoint) ||
                   read_string(r, o, "last_checkpoint", s->last_checkpoint, sizeof s->last_checkpoint) ||
                   read_string(r, o, "config_path", s->config_path, sizeof s->config_path) ||
                   read_string(r, o, "config_hash", s->config_hash, sizeof s->config_hash) ||
                   read_double(r, o, "started_at", 0, &s->started_at) ||
                   read_double(r, o, "updated_at", 0, &s->updated_at) ||
                   read_double(r, o, "finished_at", 0, &s->finished_at)
               ? -1
               : 0;
}

/* Fill ST from the parsed document; -1 with err naming the bad field. */
static int read_state(reader *r, const cJSON *root, train_state *st)
{
    if (!cJSON_IsObject(root)) {
        snprintf(r->err, AURL_ERR_LEN, "%s: not a JSON object (damaged or truncated)", r->path);
        return -1;
    }
    if (read_int32(r, root, "version", 1, 1 << 30, &st->version) != 0) return -1;
    if (st->version > STATE_VERSION) return bad_field(r, "version", "is newer than this build understands");
    if (read_int32(r, root, "current_stage", 1, TRAIN_MAX_STAGES, &st->current_stage) ||
        read_int32(r, root, "trainer_pid", 0, 1 << 30, &st->trainer_pid) ||
        read_int32(r, root, "ranks", 1, 1 << 30, &st->ranks) ||
        read_string(r, root, "profile", st->profile, sizeof st->profile))
        return -1;
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(root, "stages");
    if (!stages || cJSON_IsNull(stages)) return 0;
    if (!cJSON_IsArray(stages)) return bad_field(r, "stages", "is not an array");
    if (cJSON_GetArraySize(stages) > TRAIN_MAX_STAGES) return bad_field(r, "stages", "has too many entries");
    int i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, stages)
    {
        snprintf(r->prefix, sizeof r->prefix, "stages[%d]", i);
        if (!cJSON_IsObject(o)) return bad_field(r, "", "is not an object");
        snprintf(r->prefix, sizeof r->prefix, "stages[%d].", i);
        if (read_stage(r, o, &st->stages[i]) != 0) return -1;
        i++;
    }
    r->prefix[0] = 0;
    return 0;
}

/* Rename the damaged PATH to PATH.corrupt-<unixtime>[-n]; append the new
 * name (or the failure) to err. */
static void move_aside(const char *path, char err[AURL_ERR_LEN])
{
    char dest[4200];
    long now = (long)time(NULL);
    size_t used = strlen(err);
    errno = EEXIST; /* the reason if all 100 names are taken */
    for (int n = 0; n < 100; n++) {
        if (n == 0) snprintf(dest, sizeof dest, "%s.corrupt-%ld", path, now);
        else snprintf(dest, sizeof dest, "%s.corrupt-%ld-%d", path, now, n);
        struct stat sb;
        if (lstat(dest, &sb) == 0) continue;
        if (rename(path, dest) == 0) {
            snprintf(err + used, AURL_ERR_LEN - used, "; moved aside to %s", dest);
            return;
        }
        break;
    }
    snprintf(err + used, AURL_ERR_LEN - used, "; could not move it aside: %s", strerror(errno));
}

/* Load PATH; MOVE_DAMAGED renames a damaged file aside. */
static int load_state(const char *path, train_state *st, int move_damaged, char err[AURL_ERR_LEN])
{
    train_state_init(st);
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    if (stat(path, &sb) != 0 && errno == ENOENT) return 0;
    unsigned char *data;
    size_t len;
    if (file_read_all(path, STATE_MAX_BYTES, &data, &len, err) != 0) {
        /* too large is damage; not-a-file or unreadable is left alone */
        if (move_damaged && S_ISREG(sb.st_mode) && sb.st_size > (off_t)STATE_MAX_BYTES) move_aside(path, err);
        return -1;
    }
    cJSON *root = cJSON_ParseWithLength((const char *)data, len);
    free(data);
    reader r = {.path = path, .err = err, .prefix = ""};
    int rc;
    if (!root) {
        snprintf(err, AURL_ERR_LEN, "%s: not valid JSON (damaged or truncated)", path);
        rc = -1;
    } else {
        rc = read_state(&r, root, st);
    }
    cJSON_Delete(root);
    if (rc != 0) {
        train_state_init(st);
        if (move_damaged) move_aside(path, err);
        return -1;
    }
    return 1;
}

int train_state_load(const char *path, train_state *st, char err[AURL_ERR_LEN])
{
    return load_state(path, st, 1, err);
}

int train_state_read(const char *path, train_state *st, char err[AURL_ERR_LEN])
{
    return load_state(path, st, 0, err);
}
