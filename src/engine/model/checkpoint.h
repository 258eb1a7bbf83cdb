/* checkpoint: binary checkpoint files — magic "AURLCKPT", format version,
 * a JSON header (cJSON: free-form metadata such as stage, step, config,
 * RNG and data position, plus the tensor table: name, dtype f32, shape,
 * byte offset), then the raw little-endian float32 tensor data, then a
 * CRC-32 of everything before it. Written atomically; on load every length,
 * offset, shape and the CRC are checked and any problem is reported with
 * the file name, never trusted.
 *
 * Exact layout (all integers little-endian):
 *   offset 0   8 bytes  magic "AURLCKPT"
 *   offset 8   u32      format version (CKPT_VERSION = 1)
 *   offset 12  u32      flags, 0
 *   offset 16  u64      H = header length in bytes
 *   offset 24  u64      D = tensor data length in bytes
 *   offset 32  H bytes  header: UTF-8 JSON object, not NUL-terminated:
 *                       the caller's metadata members plus
 *                       "tensors": [{"name": str, "dtype": "f32",
 *                                    "shape": [d0, ...] (1..4 dims, each > 0),
 *                                    "offset": byte offset in the data area,
 *                                    "nbytes": 4 * product(shape)}, ...]
 *              zero padding up to S = (32 + H) rounded up to a multiple of 64
 *   offset S   D bytes  tensor data: float32 LE; each tensor starts at
 *                       S + offset, offset a multiple of CKPT_ALIGN (64);
 *                       tensors do not overlap; gaps are zero
 *   offset S+D u32      CRC-32 (IEEE/zlib) of bytes [0, S+D)
 * The file size is exactly S + D + 4. Files up to CKPT_MAX_FILE bytes. */
#ifndef AURL_CHECKPOINT_H
#define AURL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "util/fileio.h"

#define CKPT_MAX_DIMS 4
#define CKPT_VERSION 1
#define CKPT_ALIGN 64
#define CKPT_MAX_FILE (4ULL << 30)

typedef struct {
    const char *name;
    int ndim;
    int64_t dims[CKPT_MAX_DIMS];
    const float *data; /* numel = product of dims */
} ckpt_tensor;

/* Write PATH atomically: header_json is a JSON object text (the caller's
 * metadata; ckpt adds "tensors"), then the tensors. 0 or -1 (err set). */
int ckpt_save(const char *path, const char *header_json, const ckpt_tensor *tensors, int n_tensors,
              char err[AURL_ERR_LEN]);

typedef struct ckpt_file ckpt_file;

/* Read and fully verify PATH (magic, version, header JSON, offsets, CRC).
 * 0 or -1 with a message like "outputs/checkpoints/last.ckpt: CRC mismatch
 * (file damaged)". */
int ckpt_open(const char *path, ckpt_file **out, char err[AURL_ERR_LEN]);
/* Free an opened checkpoint (NULL is fine). */
void ckpt_close(ckpt_file *f);
/* The metadata JSON text as saved (without the tensor table). */
const char *ckpt_header_json(const ckpt_file *f);
/* Copy tensor NAME into DST (numel floats). Fails if missing or if its
 * element count differs from numel. */
int ckpt_read_tensor(const ckpt_file *f, const char *name, float *dst, size_t numel,
                     char err[AURL_ERR_LEN]);
/* Number of tensors, and the i-th tensor's name / numel (for listing). */
int ckpt_n_tensors(const ckpt_file *f);
const char *ckpt_tensor_name(const ckpt_file *f, int i);
size_t ckpt_tensor_numel(const ckpt_file *f, int i);
#endif
