/* hash: checksums used by file formats — FNV-1a 64 for content hashes,
 * CRC-32 (zlib polynomial) for checkpoints and caches, CRC-32C (Castagnoli,
 * masked as TFRecord wants) for TensorBoard event files. */
#ifndef AURL_HASH_H
#define AURL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64-bit hash of LEN bytes, continuing from SEED (use HASH_FNV_SEED). */
#define HASH_FNV_SEED 0xcbf29ce484222325ULL
uint64_t hash_fnv1a64(const void *data, size_t len, uint64_t seed);

/* CRC-32 (IEEE, as zlib's crc32); pass 0 as crc to start. */
uint32_t hash_crc32(uint32_t crc, const void *data, size_t len);

/* CRC-32C (Castagnoli); pass 0 as crc to start. */
uint32_t hash_crc32c(uint32_t crc, const void *data, size_t len);

/* TFRecord's masked CRC-32C. */
uint32_t hash_crc32c_masked(const void *data, size_t len);

#endif
