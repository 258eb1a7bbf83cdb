/* app: shared run data for the TUI screens (see app.h). */
#include "tui/app.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

static app_state g_app;

app_state *app_get(void) { return &g_app; }

void app_init(const aurl_globals *g)
{
    memset(&g_app, 0, sizeof g_app);
    g_app.g = g;
    g_app.ranks = 1;
    g_app.cpu.total_pct = -1;
    mtail_init(&g_app.tail, g->outputs_dir);
    eta_init(&g_app.rate, 0.2);
    g_app.trainer.cpu_pct = -1;
}

void app_free(void) { mtail_free(&g_app.tail); }

void app_stage_progress(int stage, int64_t *step, int *epoch)
{
    const app_state *a = &g_app;
    *step = 0;
    *epoch = 0;
    if (stage < 1 || stage > TRAIN_MAX_STAGES) return;
    const train_stage_state *ss = &a->run.st.stages[stage - 1];
    *step = ss->step;
    *epoch = ss->epoch;
    if (a->run.pid > 0 && a->tail.have_train && a->tail.last_stage == stage && a->tail.last_step > ss->step &&
        ss->status != STAGE_COMPLETE) {
        *step = a->tail.last_step;
        if (a->tail.last_epoch >= 0 && a->tail.last_epoch < 1e6) *epoch = (int)a->tail.last_epoch;
    }
}

/* "ranks" of OUTPUTS/training_state.json (written by MPI runs); 1 when missing. */
static int read_ranks(const char *outputs_dir)
{
    char path[4200], err[AURL_ERR_LEN];
    unsigned char *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/training_state.json", outputs_dir);
    if (file_read_all(path, 1u << 22, &text, &len, err) != 0) return 1;
    cJSON *o = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "ranks");
    int n = cJSON_IsNumber(r) && r->valuedouble >= 1 && r->valuedouble < 1e6 ? (int)r->valuedouble : 1;
    cJSON_Delete(o);
    return n;
}

/* The Music panel's data column, once samples exist (retried until read). */
static void load_music_data(app_state *a)
{
    if (!a->tail.music.have || a->tail.music.have_data) return;
    char path[4200], err[AURL_ERR_LEN];
    snprintf(path, sizeof path, "%s/samples/data_stats.json", a->g->outputs_dir);
    mpanel_load_data(&a->tail.music, path, err);
}

void app_invalidate(void) { g_app.next_run = g_app.next_res = 0; }

int app_refresh(double now)
{
    app_state *a = &g_app;
    int changed = 0;
    if (now >= a->next_run) {
        a->next_run = now + 0.5;
        unsigned gen = a->tail.generation;
        mtail_poll(&a->tail);
        load_music_data(a);
        for (int i = 0; i < a->tail.n_new_rates; i++) eta_add(&a->rate, a->tail.new_rates[i]);
        a->tail.n_new_rates = 0;
        run_info old = a->run;
        run_control_refresh(&a->run, a->g->outputs_dir, a->tail.failed);
        if (a->stopping_pid && a->run.pid != a->stopping_pid) a->stopping_pid = 0;
        changed |= gen != a->tail.generation || memcmp(&old, &a->run, sizeof old) != 0;
    }
    if (now >= a->next_res) {
        a->next_res = now + 1.0;
        if (a->run.pid > 0) procstat_sample(&a->trainer, a->run.pid, now);
        else memset(&a->trainer, 0, sizeof a->trainer), a->trainer.cpu_pct = -1;
        procstat_cpu_sample(&a->cpu);
        procstat_load(a->load);
        procstat_meminfo(&a->mem_total_kb, &a->mem_avail_kb);
        if (now >= a->next_du) {
            a->next_du = now + 5.0;
            a->disk_bytes = procstat_du(a->g->outputs_dir);
            a->ranks = read_ranks(a->g->outputs_dir);
        }
        changed = 1;
    }
    if (changed) a->version++;
    return changed;
}
