/* Tests of src/util: atomic writes, bounded reads, checksums; and of the
 * shared test helpers in tests/testutil. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/hash.h"
#include "testutil.h"

static void test_crc_known_values(void **state)
{
    (void)state;
    assert_int_equal(hash_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(hash_crc32c(0, "123456789", 9), 0xE3069283u);
    /* incremental == one shot */
    assert_int_equal(hash_crc32(hash_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

/* A FIFO where a file should be is refused at once, not waited on. */
static void test_fifo_is_refused_without_blocking(void **state)
{
    (void)state;
    const char *fifo = testutil_path("state.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    unsigned char *data;
    size_t len;
    char err[AURL_ERR_LEN];
    assert_int_equal(file_read_all(fifo, 100, &data, &len, err), -1);
    assert_non_null(strstr(err, "not a regular file"));
}

static void test_atomic_write_and_read(void **state)
{
    (void)state;
    const char *path = testutil_path("a/b/state.json"), *sub = testutil_path("a/b");
    char err[AURL_ERR_LEN];
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
}

/* The shared test helpers themselves: stable paths, nested writes, reads,
 * counts, and a recursive remove that never follows links out of the tree. */
static void test_testutil(void **state)
{
    (void)state;
    const char *p = testutil_write_file("x/y/z.txt", "abc");
    assert_ptr_equal(p, testutil_path("x/y/z.txt"));
    assert_string_equal(p + strlen(testutil_tmpdir()), "/x/y/z.txt");
    size_t len;
    unsigned char *b = testutil_read_file(p, &len);
    assert_int_equal(len, 3);
    assert_string_equal((char *)b, "abc");
    free(b);
    assert_int_equal(testutil_count_files("x", 0), 1);
    /* a link to a file outside the removed tree survives the remove */
    const char *keep = testutil_write_file("keep.txt", "");
    assert_int_equal(symlink(keep, testutil_path("x/link")), 0);
    assert_int_equal(symlink("..", testutil_path("x/y/loop")), 0);
    assert_int_equal(testutil_rm_rf(testutil_path("x")), 0);
    assert_int_equal(access(testutil_path("x"), F_OK), -1);
    assert_int_equal(access(keep, F_OK), 0);
    assert_int_equal(testutil_rm_rf(testutil_path("x")), 0); /* already gone */
    assert_int_equal(testutil_count_files("keep", 1), 1);
    assert_int_equal(testutil_count_files("x", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_known_values),
        cmocka_unit_test(test_atomic_write_and_read),
        cmocka_unit_test(test_fifo_is_refused_without_blocking),
        cmocka_unit_test(test_testutil),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
