/* Tests of src/util: atomic writes, bounded reads, checksums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/hash.h"

static void test_crc_known_values(void **state)
{
    (void)state;
    assert_int_equal(hash_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(hash_crc32c(0, "123456789", 9), 0xE3069283u);
    /* incremental == one shot */
    assert_int_equal(hash_crc32(hash_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

static void test_atomic_write_and_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/aurl-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512], err[AURL_ERR_LEN];
    snprintf(path, sizeof path, "%s/a/b/state.json", dir);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    assert_int_equal(file_mkdirs(sub, err), 0);
    assert_int_equal(file_write_atomic(path, "hello", 5, err), 0);
    assert_int_equal(file_write_atomic(path, "world!", 6, err), 0);
    unsigned char *data;
    size_t len;
    assert_int_equal(file_read_all(path, 100, &data, &len, err), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(data, "world!", 6);
    free(data);
    /* limit enforced, message names the file */
    assert_int_equal(file_read_all(path, 3, &data, &len, err), -1);
    assert_non_null(strstr(err, "state.json"));
    /* a directory is not a file */
    assert_int_equal(file_read_all(sub, 100, &data, &len, err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_known_values),
        cmocka_unit_test(test_atomic_write_and_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
