/* hash: FNV-1a 64, CRC-32 (zlib's) and CRC-32C (table-driven, the table
 * built once). */
#include "util/hash.h"

#include <pthread.h>
#include <zlib.h>

uint64_t hash_fnv1a64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint32_t crc32c_table[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_table(uint32_t *table, uint32_t poly)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (poly ^ (c >> 1)) : (c >> 1);
        table[i] = c;
    }
}

static void build_tables(void) { build_table(crc32c_table, 0x82F63B78u); }

static uint32_t crc_update(const uint32_t *table, uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

uint32_t hash_crc32(uint32_t crc, const void *data, size_t len)
{
    /* zlib's CRC-32 (same polynomial and conditioning), many times faster than a
     * byte table: checkpoints of tens of MB are verified on every open */
    const unsigned char *p = data;
    uLong c = crc;
    while (len > 0) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)c;
}

uint32_t hash_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&tables_once, build_tables);
    return crc_update(crc32c_table, crc, data, len);
}

uint32_t hash_crc32c_masked(const void *data, size_t len)
{
    uint32_t crc = hash_crc32c(0, data, len);
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
