/* blas_core: which OpenBLAS kernel family (its "core") runs, and choosing a
 * better one before the first BLAS call. OpenBLAS reads OPENBLAS_CORETYPE
 * and libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT only when they load, so
 * blas_core_startup() (first thing in main) sets them and re-executes aurl
 * once. A CPU that the library does not recognise (it then reports a generic
 * core such as Prescott) but that has AVX-512 or AVX2+FMA gets the matching
 * kernels; a value the user set is always honoured. */
#ifndef AURL_ENGINE_NN_BLAS_CORE_H
#define AURL_ENGINE_NN_BLAS_CORE_H

#include <stddef.h>

#include "util/cpu_features.h"

/* The most cores blas_core_library_cores() lists. */
#define BLAS_CORE_MAX_KNOWN 8

/* Where the core in use came from. */
typedef enum {
    BLAS_CORE_LIBRARY, /* OPENBLAS_CORETYPE unset: the library's own detection */
    BLAS_CORE_AUTO,    /* chosen by blas_core_startup (the library's own was generic) */
    BLAS_CORE_USER     /* OPENBLAS_CORETYPE set by the user (empty counts) */
} blas_core_source;

/* What runs, for display. */
typedef struct {
    char library[32];  /* "OpenBLAS 0.3.21" */
    char core[32];     /* the core in use, as the library names it */
    char reported[32]; /* BLAS_CORE_AUTO: what the library had chosen by itself */
    char user_value[32]; /* BLAS_CORE_USER: the value of OPENBLAS_CORETYPE */
    blas_core_source source;
} blas_core_info;

/* 1 if CORE (case-insensitive) is one of OpenBLAS's generic/older x86 cores
 * (Prescott, Katmai, Core2, Nehalem, Sandybridge, "Unknown", ...): the ones it
 * falls back to on a CPU it does not know. */
int blas_core_is_generic(const char *core);

/* The core to put in OPENBLAS_CORETYPE, or NULL to keep what runs. Pure:
 * NULL when USER_VALUE is non-NULL (the variable is set, even to ""), when
 * REPORTED_CORE is not generic, or when no core of the NULL-terminated list
 * KNOWN_CORES suits CPU; else the best known one CPU can run: Cooperlake
 * (AVX-512 with BF16), SkylakeX (AVX-512 F/CD/BW/DQ/VL with ZMM state saved
 * by the OS), Haswell (AVX2+FMA with YMM state saved). */
const char *blas_core_choose(const cpu_features *cpu, const char *reported_core, const char *const *known_cores,
                             const char *user_value);

/* The OpenMP waiting default to set: 1 with *VAR and *VALUE (static strings,
 * e.g. OMP_WAIT_POLICY=passive) when neither USER_WAIT_POLICY nor
 * USER_SPINCOUNT is set (non-NULL, even ""), else 0. Pure. */
int blas_core_omp_default(const char *user_wait_policy, const char *user_spincount, const char **var,
                          const char **value);

/* Fill KNOWN (CAP >= 2 entries) with the NULL-terminated list of the cores
 * blas_core_choose may pick that the loaded OpenBLAS build contains (a
 * DYNAMIC_ARCH build exports one gotoblas_<CORE> table per core; a build
 * without them lists none). Returns the count. */
int blas_core_library_cores(const char **known, int cap);

/* blas_core_choose for this CPU (cpu_features_read), the loaded library's
 * cores (blas_core_library_cores) and its own choice, which it stores in
 * *REPORTED_CORE (openblas_get_corename(): the core running now). */
const char *blas_core_choice(const char *user_value, const char **reported_core);

/* The pre-main hook: unless this process is already the re-executed one,
 * set OPENBLAS_CORETYPE (blas_core_choose) and the OpenMP wait default
 * (blas_core_omp_default) where they are unset, and if either was set
 * re-execute /proc/self/exe with ARGV (same pid, same open files). Returns
 * when nothing needed changing or the exec failed (the environment is then
 * restored). Call before any BLAS call and before any OpenMP region. */
void blas_core_startup(char **argv);

/* What runs now and where it came from (from the library and the
 * environment that blas_core_startup left). */
void blas_core_info_get(blas_core_info *out);

/* "auto", "user" or "library" for SOURCE (the short form; also the JSON value). */
const char *blas_core_source_name(blas_core_source source);

/* One line for the user, e.g. "OpenBLAS 0.3.21 Cooperlake (auto-selected;
 * library reported Prescott)". */
void blas_core_describe(const blas_core_info *info, char *buf, size_t len);

/* The OpenMP waiting in effect, e.g. "OMP_WAIT_POLICY=passive (auto)",
 * "GOMP_SPINCOUNT=10000 (set by the user)" or "libgomp default". */
void blas_core_omp_describe(char *buf, size_t len);

#endif
