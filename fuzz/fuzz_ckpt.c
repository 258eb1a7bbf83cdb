/* fuzz_ckpt: libFuzzer target for checkpoint files. Each input is tried
 * twice: as-is (so magic, version, lengths and CRC checks are exercised) and
 * with the data length and trailing CRC recomputed from the input's own
 * header length (so mutations reach the JSON header and tensor table
 * instead of stopping at the CRC). Whatever ckpt_open accepts must list
 * tensors that can all be read (and only with their own element count);
 * model_ckpt_read_config must accept only a valid model_config, and
 * vaegan_read_configs (stage-3 checkpoints) only valid model and
 * discriminator configs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model/checkpoint.h"
#include "engine/model/model_ckpt.h"
#include "engine/model/model_yaml.h"
#include "engine/model/vaegan.h"
#include "fuzz_tmp.h"
#include "util/hash.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_quiet(1);
    return 0;
}

static void try_file(const char *dir, const uint8_t *data, size_t size)
{
    char path[1024], err[AURL_ERR_LEN];
    fuzz_tmp_write(dir, "model.ckpt", data, size, path, sizeof path);
    ckpt_file *f;
    if (ckpt_open(path, &f, err) == 0) {
        if (!ckpt_header_json(f)) abort();
        int n = ckpt_n_tensors(f);
        if (n < 0 || ckpt_tensor_name(f, n) != NULL || ckpt_tensor_numel(f, -1) != 0) abort();
        for (int i = 0; i < n; i++) {
            const char *name = ckpt_tensor_name(f, i);
            size_t numel = ckpt_tensor_numel(f, i);
            if (!name || numel == 0 || numel > size / 4) abort();
            float *buf = malloc(numel * sizeof *buf);
            if (!buf) abort();
            if (ckpt_read_tensor(f, name, buf, numel, err) != 0) abort();
            if (ckpt_read_tensor(f, name, buf, numel - 1, err) == 0) abort();
            free(buf);
        }
        ckpt_close(f);
    }
    model_config mc;
    if (model_ckpt_read_config(path, &mc, err) == 0 && model_config_validate(&mc, err) != 0) abort();
    /* stage-3 checkpoints: the configs a loader rebuilds the model from */
    vae_config vc;
    disc_config dc;
    int use_gan;
    if (vaegan_read_configs(path, &mc, &vc, &dc, &use_gan, err) == 0 &&
        (model_config_validate(&mc, err) != 0 || disc_config_validate(&dc, err) != 0))
        abort();
}

static uint64_t rd_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void wr_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void wr_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[512];
    fuzz_tmp_dir(dir, sizeof dir);
    try_file(dir, data, size);
    if (size >= 36) {
        uint64_t hlen = rd_u64(data + 16);
        uint64_t start = hlen <= size ? (32 + hlen + 63) / 64 * 64 : UINT64_MAX;
        if (start <= size - 4) {
            uint8_t *fixed = malloc(size);
            if (!fixed) abort();
            memcpy(fixed, data, size);
            wr_u64(fixed + 24, size - 4 - start);
            wr_u32(fixed + size - 4, hash_crc32(0, fixed, size - 4));
            try_file(dir, fixed, size);
            free(fixed);
        }
    }
    fuzz_tmp_rm(dir);
    return 0;
}
