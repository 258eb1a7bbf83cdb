/* Tests of engine/nn/blas_core and util/cpu_features: the OpenBLAS core
 * choice over feature sets (pure), the OpenMP wait default, the
 * descriptions; and, through the real binary ($BUILD/aurl), that the
 * re-executed process runs the chosen core when OPENBLAS_CORETYPE is unset,
 * honours a value the user set, and says so in `aurl bench --json` and on
 * the first line of `aurl train`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cblas.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/nn/blas_core.h"
#include "util/cpu_features.h"
#include "testutil.h"

static const char *const ALL_KNOWN[] = {"Cooperlake", "SkylakeX", "Haswell", NULL};
static const char *const NO_COOPERLAKE[] = {"SkylakeX", "Haswell", NULL};
static const char *const NONE_KNOWN[] = {NULL};

static cpu_features avx2_fma(void)
{
    cpu_features f = {.avx = true, .avx2 = true, .fma = true, .os_ymm = true};
    return f;
}

static cpu_features avx512(void)
{
    cpu_features f = avx2_fma();
    f.avx512f = f.avx512cd = f.avx512bw = f.avx512dq = f.avx512vl = true;
    f.os_zmm = true;
    return f;
}

static const char *choose(const cpu_features *f, const char *reported)
{
    return blas_core_choose(f, reported, ALL_KNOWN, NULL);
}

static void test_no_avx_keeps(void **state)
{
    (void)state;
    cpu_features none = {0};
    assert_null(choose(&none, "Prescott"));
    cpu_features avx_only = {.avx = true, .os_ymm = true};
    assert_null(choose(&avx_only, "Prescott"));
}

static void test_avx2_without_fma_keeps(void **state)
{
    (void)state;
    cpu_features f = avx2_fma();
    f.fma = false;
    assert_null(choose(&f, "Prescott"));
}

static void test_avx2_fma_gives_haswell(void **state)
{
    (void)state;
    cpu_features f = avx2_fma();
    assert_string_equal(choose(&f, "Prescott"), "Haswell");
    assert_string_equal(choose(&f, "prescott"), "Haswell"); /* case-insensitive, as OpenBLAS is */
    assert_string_equal(choose(&f, "Sandybridge"), "Haswell");
    assert_string_equal(choose(&f, "Unknown"), "Haswell");
    f.os_ymm = false; /* the OS does not save YMM state: no AVX kernels at all */
    assert_null(choose(&f, "Prescott"));
}

static void test_avx512_gives_skylakex_or_cooperlake(void **state)
{
    (void)state;
    cpu_features f = avx512();
    assert_string_equal(choose(&f, "Prescott"), "SkylakeX");
    assert_string_equal(choose(&f, "Nehalem"), "SkylakeX");
    f.avx512_bf16 = true;
    assert_string_equal(choose(&f, "Prescott"), "Cooperlake");
    /* a library build without the Cooperlake kernels */
    assert_string_equal(blas_core_choose(&f, "Prescott", NO_COOPERLAKE, NULL), "SkylakeX");
}

static void test_avx512_subset_or_os_without_zmm_is_not_skylakex(void **state)
{
    (void)state;
    cpu_features f = avx512();
    f.os_zmm = false;
    assert_string_equal(choose(&f, "Prescott"), "Haswell");
    f.avx512_bf16 = true;
    assert_string_equal(choose(&f, "Prescott"), "Haswell");
    f = avx512();
    f.avx512vl = false; /* F without the whole Skylake-X set (e.g. Knights Landing) */
    assert_string_equal(choose(&f, "Prescott"), "Haswell");
}

static void test_good_reported_core_keeps(void **state)
{
    (void)state;
    cpu_features f = avx512();
    f.avx512_bf16 = true;
    assert_null(choose(&f, "Haswell"));
    assert_null(choose(&f, "SkylakeX"));
    assert_null(choose(&f, "Cooperlake"));
    assert_null(choose(&f, "Zen"));
    assert_null(choose(&f, NULL));
}

static void test_user_value_and_library_without_cores_keep(void **state)
{
    (void)state;
    cpu_features f = avx512();
    assert_null(blas_core_choose(&f, "Prescott", ALL_KNOWN, "Prescott"));
    assert_null(blas_core_choose(&f, "Prescott", ALL_KNOWN, "")); /* empty counts as set */
    assert_null(blas_core_choose(&f, "Prescott", NONE_KNOWN, NULL));
    assert_null(blas_core_choose(&f, "Prescott", NULL, NULL));
}

static void test_generic_cores(void **state)
{
    (void)state;
    assert_true(blas_core_is_generic("Prescott"));
    assert_true(blas_core_is_generic("KATMAI"));
    assert_true(blas_core_is_generic("Core2"));
    assert_false(blas_core_is_generic("Haswell"));
    assert_false(blas_core_is_generic("SkylakeX"));
    assert_false(blas_core_is_generic(NULL));
}

static void test_omp_default(void **state)
{
    (void)state;
    const char *var = NULL, *value = NULL;
    assert_int_equal(blas_core_omp_default(NULL, NULL, &var, &value), 1);
    assert_non_null(var);
    assert_non_null(value);
    assert_int_equal(blas_core_omp_default("active", NULL, &var, &value), 0);
    assert_int_equal(blas_core_omp_default(NULL, "10000", &var, &value), 0);
    assert_int_equal(blas_core_omp_default("", NULL, &var, &value), 0);
}

static void test_describe(void **state)
{
    (void)state;
    char buf[160];
    blas_core_info i = {.library = "OpenBLAS 0.3.21", .core = "SkylakeX", .reported = "Prescott",
                        .source = BLAS_CORE_AUTO};
    blas_core_describe(&i, buf, sizeof buf);
    assert_string_equal(buf, "OpenBLAS 0.3.21 SkylakeX (auto-selected; library reported Prescott)");
    i.source = BLAS_CORE_USER;
    snprintf(i.user_value, sizeof i.user_value, "skylakex");
    blas_core_describe(&i, buf, sizeof buf);
    assert_string_equal(buf, "OpenBLAS 0.3.21 SkylakeX (set by the user: OPENBLAS_CORETYPE=skylakex)");
    i.source = BLAS_CORE_LIBRARY;
    blas_core_describe(&i, buf, sizeof buf);
    assert_string_equal(buf, "OpenBLAS 0.3.21 SkylakeX (the library's own choice)");
    assert_string_equal(blas_core_source_name(BLAS_CORE_AUTO), "auto");
    assert_string_equal(blas_core_source_name(BLAS_CORE_USER), "user");
    assert_string_equal(blas_core_source_name(BLAS_CORE_LIBRARY), "library");
}

static void test_cpu_and_library_readings_are_consistent(void **state)
{
    (void)state;
    cpu_features f;
    cpu_features_read(&f);
    if (cpu_features_avx512_usable(&f)) assert_true(cpu_features_avx2_fma_usable(&f));
    if (f.os_zmm) assert_true(f.os_ymm);
#if defined(__x86_64__)
    assert_true(strlen(f.vendor) == 12);
#endif
    const char *known[BLAS_CORE_MAX_KNOWN];
    int n = blas_core_library_cores(known, BLAS_CORE_MAX_KNOWN);
    assert_null(known[n]);
    if (strstr(openblas_get_config(), "DYNAMIC_ARCH")) { /* Debian's build has every x86 core */
        int haswell = 0;
        for (int k = 0; k < n; k++) haswell |= !strcmp(known[k], "Haswell");
        assert_true(haswell);
    }
}

/* ---- through the binary ------------------------------------------------ */

/* Run `aurl bench` on a tiny model with the environment as it is now and
 * return its JSON object (the caller deletes it). */
static cJSON *bench_json(void)
{
    const char *args[] = {"bench", "--batch", "1", "--seq", "8", "--steps", "1", "--sample", "3", "--json", NULL};
    assert_int_equal(testutil_run_aurl(NULL, args, "bench.out", "bench.err"), 0);
    char *out = (char *)testutil_read_file(testutil_path("bench.out"), NULL);
    char *last = strrchr(out, '{');
    assert_non_null(last);
    cJSON *o = cJSON_Parse(last);
    free(out);
    assert_non_null(o);
    return o;
}

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* What the re-executed aurl must run with OPENBLAS_CORETYPE unset: this test
 * program never re-executes, so its library reports its own choice. */
static void test_binary_runs_the_chosen_core(void **state)
{
    (void)state;
    if (getenv("OPENBLAS_CORETYPE")) skip(); /* cannot see the library's own choice from here */
    const char *reported;
    const char *pick = blas_core_choice(NULL, &reported);
    char *saved_policy = getenv("OMP_WAIT_POLICY") ? strdup(getenv("OMP_WAIT_POLICY")) : NULL;
    char *saved_spin = getenv("GOMP_SPINCOUNT") ? strdup(getenv("GOMP_SPINCOUNT")) : NULL;
    unsetenv("OMP_WAIT_POLICY");
    unsetenv("GOMP_SPINCOUNT");

    cJSON *o = bench_json();
    print_message("library reports %s; aurl runs: %s; %s\n", reported, json_str(o, "blas"), json_str(o, "omp_wait"));
    if (pick) {
        assert_int_equal(strcasecmp(json_str(o, "blas_core"), pick), 0);
        assert_string_equal(json_str(o, "blas_core_source"), "auto");
        char want[96];
        snprintf(want, sizeof want, "library reported %s", reported);
        assert_non_null(strstr(json_str(o, "blas"), want));
    } else {
        assert_string_equal(json_str(o, "blas_core"), reported);
        assert_string_equal(json_str(o, "blas_core_source"), "library");
    }
    assert_non_null(strstr(json_str(o, "omp_wait"), "(auto)"));
    cJSON_Delete(o);

    /* the user's own wait policy is left alone */
    setenv("OMP_WAIT_POLICY", "active", 1);
    o = bench_json();
    assert_string_equal(json_str(o, "omp_wait"), "OMP_WAIT_POLICY=active (set by the user)");
    cJSON_Delete(o);

    if (saved_policy) setenv("OMP_WAIT_POLICY", saved_policy, 1);
    else unsetenv("OMP_WAIT_POLICY");
    if (saved_spin) setenv("GOMP_SPINCOUNT", saved_spin, 1);
    free(saved_policy);
    free(saved_spin);
}

static void test_binary_honours_the_user_core(void **state)
{
    (void)state;
    char *saved = getenv("OPENBLAS_CORETYPE") ? strdup(getenv("OPENBLAS_CORETYPE")) : NULL;
    setenv("OPENBLAS_CORETYPE", "Prescott", 1);
    cJSON *o = bench_json();
    assert_string_equal(json_str(o, "blas_core"), "Prescott");
    assert_string_equal(json_str(o, "blas_core_source"), "user");
    /* KV-cached sampling speed and time to first token are reported */
    const cJSON *kv = cJSON_GetObjectItemCaseSensitive(o, "kv_sample_tokens_per_s");
    const cJSON *ft = cJSON_GetObjectItemCaseSensitive(o, "first_token_ms");
    assert_true(cJSON_IsNumber(kv) && kv->valuedouble > 0);
    assert_true(cJSON_IsNumber(ft) && ft->valuedouble > 0 && ft->valuedouble < 60e3);
    cJSON_Delete(o);

    /* the first line of `aurl train` says which kernel runs (here before the
     * trainer refuses a profile that does not exist) */
    const char *pre[] = {"--outputs", testutil_path("out"), NULL};
    const char *args[] = {"train", "--profile", "no_such_profile", NULL};
    assert_int_not_equal(testutil_run_aurl(pre, args, "train.out", "train.err"), 0);
    char *err = (char *)testutil_read_file(testutil_path("train.err"), NULL);
    assert_non_null(strstr(err, "BLAS: OpenBLAS"));
    assert_true(strstr(err, "BLAS: OpenBLAS") < strchr(err, '\n'));
    assert_non_null(strstr(err, "Prescott (set by the user: OPENBLAS_CORETYPE=Prescott)"));
    free(err);

    if (saved) setenv("OPENBLAS_CORETYPE", saved, 1);
    else unsetenv("OPENBLAS_CORETYPE");
    free(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_avx_keeps),
        cmocka_unit_test(test_avx2_without_fma_keeps),
        cmocka_unit_test(test_avx2_fma_gives_haswell),
        cmocka_unit_test(test_avx512_gives_skylakex_or_cooperlake),
        cmocka_unit_test(test_avx512_subset_or_os_without_zmm_is_not_skylakex),
        cmocka_unit_test(test_good_reported_core_keeps),
        cmocka_unit_test(test_user_value_and_library_without_cores_keep),
        cmocka_unit_test(test_generic_cores),
        cmocka_unit_test(test_omp_default),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_cpu_and_library_readings_are_consistent),
        cmocka_unit_test(test_binary_runs_the_chosen_core),
        cmocka_unit_test(test_binary_honours_the_user_core),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
