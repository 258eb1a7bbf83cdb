/* blas_core: the OpenBLAS kernel choice (pure), the pre-main re-exec that
 * applies it together with the OpenMP wait default, and the description of
 * what runs. Two environment markers carry the provenance to the re-executed
 * process and to child aurl processes (a detached trainer, the TUI's
 * trainer), which inherit the variables: AURL_BLAS_AUTO="<chosen>
 * <reported>" and AURL_OMP_AUTO="<VAR>=<value>". AURL_REEXEC=1 marks the
 * re-executed process only; it removes it at once so children never see it. */
#include "engine/nn/blas_core.h"

#include <cblas.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ENV_CORETYPE "OPENBLAS_CORETYPE"
#define ENV_WAIT_POLICY "OMP_WAIT_POLICY"
#define ENV_SPINCOUNT "GOMP_SPINCOUNT"
#define ENV_BLAS_AUTO "AURL_BLAS_AUTO"
#define ENV_OMP_AUTO "AURL_OMP_AUTO"
#define ENV_REEXEC "AURL_REEXEC"

/* Provisional default, from the measurements (bench/reference.yaml on
 * 2 cores: passive 8,700 tokens/s alone and 4,500 with one core taken, vs
 * 7,400 and 3,500 for libgomp's default); bench/wait_policy.sh re-measures. */
#define OMP_DEFAULT_VAR ENV_WAIT_POLICY
#define OMP_DEFAULT_VALUE "passive"

/* OpenBLAS 0.3.x x86 core names below Haswell, and the one it reports when
 * it identifies nothing. */
static const char *const GENERIC_CORES[] = {
    "Unknown", "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2", "Penryn",
    "Dunnington", "Nehalem", "Athlon", "Opteron", "Opteron_SSE3", "Barcelona", "Nano", "Sandybridge",
    "Bobcat", NULL};

/* The cores we may choose, best first, with what each needs. */
enum { NEED_AVX2_FMA, NEED_AVX512, NEED_AVX512_BF16 };
static const struct {
    const char *name, *symbol;
    int need;
} CANDIDATES[] = {
    {"Cooperlake", "gotoblas_COOPERLAKE", NEED_AVX512_BF16},
    {"SkylakeX", "gotoblas_SKYLAKEX", NEED_AVX512},
    {"Haswell", "gotoblas_HASWELL", NEED_AVX2_FMA},
};
#define N_CANDIDATES (sizeof CANDIDATES / sizeof CANDIDATES[0])

static int in_list(const char *name, const char *const *list)
{
    for (size_t i = 0; name && list && list[i]; i++)
        if (!strcasecmp(name, list[i])) return 1;
    return 0;
}

int blas_core_is_generic(const char *core) { return in_list(core, GENERIC_CORES); }

static int cpu_meets(const cpu_features *cpu, int need)
{
    switch (need) {
    case NEED_AVX512_BF16: return cpu_features_avx512_usable(cpu) && cpu->avx512_bf16;
    case NEED_AVX512: return cpu_features_avx512_usable(cpu);
    default: return cpu_features_avx2_fma_usable(cpu);
    }
}

const char *blas_core_choose(const cpu_features *cpu, const char *reported_core, const char *const *known_cores,
                             const char *user_value)
{
    if (user_value || !reported_core || !blas_core_is_generic(reported_core)) return NULL;
    for (size_t i = 0; i < N_CANDIDATES; i++)
        if (cpu_meets(cpu, CANDIDATES[i].need) && in_list(CANDIDATES[i].name, known_cores))
            return CANDIDATES[i].name;
    return NULL;
}

int blas_core_omp_default(const char *user_wait_policy, const char *user_spincount, const char **var,
                          const char **value)
{
    if (user_wait_policy || user_spincount) return 0;
    *var = OMP_DEFAULT_VAR;
    *value = OMP_DEFAULT_VALUE;
    return 1;
}

int blas_core_library_cores(const char **known, int cap)
{
    int n = 0;
    for (size_t i = 0; i < N_CANDIDATES && n < cap - 1; i++)
        if (dlsym(RTLD_DEFAULT, CANDIDATES[i].symbol)) known[n++] = CANDIDATES[i].name;
    known[n] = NULL;
    return n;
}

const char *blas_core_choice(const char *user_value, const char **reported_core)
{
    cpu_features cpu;
    cpu_features_read(&cpu);
    const char *known[BLAS_CORE_MAX_KNOWN];
    blas_core_library_cores(known, BLAS_CORE_MAX_KNOWN);
    *reported_core = openblas_get_corename();
    return blas_core_choose(&cpu, *reported_core, known, user_value);
}

/* Set OPENBLAS_CORETYPE if blas_core_choose picks a core; 1 if it did. */
static int apply_core_choice(void)
{
    const char *user = getenv(ENV_CORETYPE), *reported;
    if (!user) unsetenv(ENV_BLAS_AUTO); /* a stale marker would claim a choice */
    const char *pick = blas_core_choice(user, &reported);
    if (!pick) return 0;
    char mark[80];
    snprintf(mark, sizeof mark, "%s %s", pick, reported);
    return setenv(ENV_CORETYPE, pick, 1) == 0 && setenv(ENV_BLAS_AUTO, mark, 1) == 0;
}

/* Set the OpenMP wait default where the user set neither variable; 1 if set. */
static int apply_omp_default(void)
{
    const char *var, *value;
    const char *policy = getenv(ENV_WAIT_POLICY), *spin = getenv(ENV_SPINCOUNT);
    if (!policy && !spin) unsetenv(ENV_OMP_AUTO);
    if (!blas_core_omp_default(policy, spin, &var, &value)) return 0;
    char mark[80];
    snprintf(mark, sizeof mark, "%s=%s", var, value);
    return setenv(var, value, 1) == 0 && setenv(ENV_OMP_AUTO, mark, 1) == 0;
}

void blas_core_startup(char **argv)
{
    if (getenv(ENV_REEXEC)) { /* we are the re-executed process: never loop */
        unsetenv(ENV_REEXEC);
        return;
    }
    int core_set = apply_core_choice();
    int omp_set = apply_omp_default();
    if (!core_set && !omp_set) return;
    setenv(ENV_REEXEC, "1", 1);
    execv("/proc/self/exe", argv);
    /* no re-exec (no /proc?): run as loaded, and do not claim what did not take effect */
    unsetenv(ENV_REEXEC);
    if (core_set) {
        unsetenv(ENV_CORETYPE);
        unsetenv(ENV_BLAS_AUTO);
    }
    if (omp_set) {
        unsetenv(OMP_DEFAULT_VAR);
        unsetenv(ENV_OMP_AUTO);
    }
}

/* The first two words of openblas_get_config(): "OpenBLAS 0.3.21". */
static void library_name(char *out, size_t len)
{
    const char *cfg = openblas_get_config();
    snprintf(out, len, "%s", cfg ? cfg : "OpenBLAS");
    char *sp = strchr(out, ' ');
    if (sp) sp = strchr(sp + 1, ' ');
    if (sp) *sp = 0;
}

void blas_core_info_get(blas_core_info *out)
{
    memset(out, 0, sizeof *out);
    library_name(out->library, sizeof out->library);
    const char *core = openblas_get_corename();
    snprintf(out->core, sizeof out->core, "%s", core ? core : "unknown");
    const char *user = getenv(ENV_CORETYPE), *mark = getenv(ENV_BLAS_AUTO);
    out->source = user ? BLAS_CORE_USER : BLAS_CORE_LIBRARY;
    if (!user) return;
    snprintf(out->user_value, sizeof out->user_value, "%s", user);
    char chosen[32], reported[32];
    if (mark && sscanf(mark, "%31s %31s", chosen, reported) == 2 && !strcasecmp(chosen, user)) {
        out->source = BLAS_CORE_AUTO;
        snprintf(out->reported, sizeof out->reported, "%s", reported);
    }
}

const char *blas_core_source_name(blas_core_source source)
{
    switch (source) {
    case BLAS_CORE_AUTO: return "auto";
    case BLAS_CORE_USER: return "user";
    default: return "library";
    }
}

void blas_core_describe(const blas_core_info *info, char *buf, size_t len)
{
    switch (info->source) {
    case BLAS_CORE_AUTO:
        snprintf(buf, len, "%s %s (auto-selected; library reported %s)", info->library, info->core, info->reported);
        break;
    case BLAS_CORE_USER:
        snprintf(buf, len, "%s %s (set by the user: " ENV_CORETYPE "=%s)", info->library, info->core,
                 info->user_value);
        break;
    default: snprintf(buf, len, "%s %s (the library's own choice)", info->library, info->core); break;
    }
}

void blas_core_omp_describe(char *buf, size_t len)
{
    const char *policy = getenv(ENV_WAIT_POLICY), *spin = getenv(ENV_SPINCOUNT), *mark = getenv(ENV_OMP_AUTO);
    if (!policy && !spin) {
        snprintf(buf, len, "libgomp default");
        return;
    }
    char set[96];
    snprintf(set, sizeof set, "%s%s%s%s%s", policy ? ENV_WAIT_POLICY "=" : "", policy ? policy : "",
             policy && spin ? " " : "", spin ? ENV_SPINCOUNT "=" : "", spin ? spin : "");
    int is_auto = mark && !strcmp(mark, set);
    snprintf(buf, len, "%s (%s)", set, is_auto ? "auto" : "set by the user");
}
