/* Tests of src/util/rng's splitmix64: the stateful step rng_splitmix64
 * against the reference sequence, its agreement with the stateless
 * rng_mix64, and the xoshiro seeding built on it (pinned to the formula it
 * has always used, so every seeded stream stays bit-identical). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>

#include "util/rng.h"

#define GAMMA 0x9E3779B97F4A7C15ull

static void test_splitmix64_reference(void **state)
{
    (void)state;
    /* Vigna's splitmix64.c, seed 1234567 */
    uint64_t s = 1234567;
    assert_true(rng_splitmix64(&s) == 6457827717110365317ull);
    assert_true(rng_splitmix64(&s) == 3203168211198807973ull);
    assert_true(rng_splitmix64(&s) == 9817491932198370423ull);
    assert_true(s == 1234567 + 3 * GAMMA);
    /* a step is rng_mix64 of the state before it */
    for (uint64_t x = 0; x < 1000; x += 37) {
        uint64_t st = x * 0x123456789ull;
        uint64_t before = st;
        assert_true(rng_splitmix64(&st) == rng_mix64(before));
        assert_true(st == before + GAMMA);
    }
}

static void test_seed_unchanged(void **state)
{
    (void)state;
    const uint64_t seeds[] = {0, 1, 42, 1234, 0xFFFFFFFFFFFFFFFFull};
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        rng_state r;
        rng_seed(&r, seeds[k]);
        uint64_t x = seeds[k];
        for (int i = 0; i < 4; i++) {
            x += GAMMA;
            assert_true(r.s[i] == rng_mix64(x)); /* the seeding's historical formula */
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splitmix64_reference),
        cmocka_unit_test(test_seed_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
