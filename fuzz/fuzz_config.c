/* fuzz_config: libFuzzer target for the YAML config path. The input is
 * written as a temp YAML file and loaded as a stage config (alone, and as
 * stage + profile), as a model YAML (model_yaml_load_file) and parsed from
 * memory (yaml_doc_parse). Nothing may crash; an accepted config must
 * satisfy the invariants train_config_load promises (valid model, vocab
 * size, seq_len <= max_seq_len, min_lr <= lr, augmentation min <= max). */
#include <stdint.h>
#include <stdlib.h>

#include "data/tokenizer.h"
#include "engine/model/model_yaml.h"
#include "engine/train/train_config.h"
#include "fuzz_tmp.h"
#include "util/log.h"
#include "util/yaml_doc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_quiet(1);
    return 0;
}

static void check_train_config(const train_config *c)
{
    char msg[AURL_ERR_LEN], hash[32];
    if (model_config_validate(&c->model, msg) != 0 || c->model.vocab_size != TOK_VOCAB_SIZE ||
        c->seq_len > c->model.max_seq_len || c->seq_len < 2 || c->stride < 1 || c->min_lr > c->lr ||
        c->stage < 1 || c->stage > 3 || c->aug.stretch_min > c->aug.stretch_max ||
        c->aug.velocity_min > c->aug.velocity_max || c->batch_size < 1 || c->checkpoint_every < 1)
        abort();
    train_config_hash(c, hash);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[512], path[1024], err[AURL_ERR_LEN];
    fuzz_tmp_dir(dir, sizeof dir);
    fuzz_tmp_write(dir, "config.yaml", data, size, path, sizeof path);

    train_config tc;
    if (train_config_load(&tc, path, NULL, err) == 0) check_train_config(&tc);
    if (train_config_load(&tc, path, path, err) == 0) check_train_config(&tc);

    model_config mc;
    int batch = 7;
    if (model_yaml_load_file(path, &mc, &batch, err) == 0) {
        if (model_config_validate(&mc, err) != 0 || batch < 1) abort();
    }

    yaml_doc d;
    if (yaml_doc_parse(&d, "fuzz", (const char *)data, size, err) == 0) {
        yaml_node_t *root = yaml_doc_root(&d), *m;
        if (yaml_doc_map(&d, root, "model", &m, err) == 0 && m) {
            model_yaml_defaults(&mc);
            (void)model_yaml_apply(&d, m, 0, &mc, err);
        }
        yaml_doc_free(&d);
    }
    fuzz_tmp_rm(dir);
    return 0;
}
