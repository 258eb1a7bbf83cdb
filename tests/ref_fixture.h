/* ref_fixture: shared test helper that loads the PyTorch reference fixtures
 * written by tests/reference/reference_*.py (format: b"AURLREF1", u32 count, then per
 * tensor u32 name length, name, u32 ndims, u32 dims[ndims], float32 LE
 * data) and compares arrays against them. Every failure fails the current
 * cmocka test. */
#ifndef AURL_TEST_REF_FIXTURE_H
#define AURL_TEST_REF_FIXTURE_H

#include <stddef.h>

#define REF_MAX_TENSORS 256

typedef struct {
    char name[96];
    int ndims, dims[4];
    size_t numel;
    float *data;
} ref_tensor;

typedef struct {
    unsigned char *buf;
    int n;
    ref_tensor t[REF_MAX_TENSORS];
} ref_file;

/* Load PATH (fails the test if missing or malformed). */
void ref_load(ref_file *f, const char *path);
void ref_free(ref_file *f);
/* Tensor NAME (fails the test if absent); numel, if not 0, must match. */
const ref_tensor *ref_get(const ref_file *f, const char *name, size_t numel);
/* Max |a - b| over n into *abs_err (NaN counts as failure: returns inf);
 * returns that relative to max |b| (or to 1 if b is all zero). */
double ref_compare(const float *a, const float *b, size_t n, double *abs_err);
#endif
