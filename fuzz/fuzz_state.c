/* fuzz_state: libFuzzer target for outputs/training_state.json. The input is
 * written to a fresh temp dir and loaded with train_state_load (which moves
 * a damaged file aside; the dir is removed after each input). A loaded state
 * must be in range, and must round-trip: saved, loaded again and printed, it
 * gives the same JSON text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/train/train_state.h"
#include "fuzz_tmp.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_quiet(1);
    return 0;
}

static void check_state(const train_state *st)
{
    if (st->version != 1 || st->current_stage < 1 || st->current_stage > TRAIN_MAX_STAGES ||
        memchr(st->profile, 0, sizeof st->profile) == NULL)
        abort();
    for (int i = 0; i < TRAIN_MAX_STAGES; i++) {
        const train_stage_state *s = &st->stages[i];
        if (s->status < 0 || s->status > 2 || s->step < 0 || s->epoch < 0 ||
            !memchr(s->best_checkpoint, 0, sizeof s->best_checkpoint) ||
            !memchr(s->last_checkpoint, 0, sizeof s->last_checkpoint) ||
            !memchr(s->config_path, 0, sizeof s->config_path) || !memchr(s->config_hash, 0, sizeof s->config_hash))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[512], path[1024], err[AURL_ERR_LEN];
    fuzz_tmp_dir(dir, sizeof dir);
    fuzz_tmp_write(dir, "training_state.json", data, size, path, sizeof path);

    train_state st;
    int rc = train_state_load(path, &st, err);
    if (rc < -1 || rc > 1) abort();
    if (rc == 1) {
        check_state(&st);
        char *a = train_state_to_json(&st);
        if (!a) abort();
        char again[1024];
        snprintf(again, sizeof again, "%s/again.json", dir);
        train_state st2;
        if (train_state_save(again, &st, err) != 0 || train_state_load(again, &st2, err) != 1) abort();
        char *b = train_state_to_json(&st2);
        if (!b || strcmp(a, b) != 0) abort(); /* save/load is a fixed point */
        free(a);
        free(b);
    } else {
        /* a failed load leaves a fresh state that still prints and saves */
        char *a = train_state_to_json(&st);
        if (!a) abort();
        free(a);
    }
    fuzz_tmp_rm(dir);
    return 0;
}
