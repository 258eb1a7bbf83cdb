/* ref_fixture: loader and comparison for the PyTorch reference fixtures. */
#include "ref_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void ref_load(ref_file *f, const char *path)
{
    size_t len;
    char err[AURL_ERR_LEN];
    memset(f, 0, sizeof *f);
    int rc = file_read_all(path, 16u << 20, &f->buf, &len, err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    assert_true(len > 12);
    assert_memory_equal(f->buf, "AURLREF1", 8);
    uint32_t count = rd32(f->buf + 8);
    assert_true(count <= REF_MAX_TENSORS);
    size_t off = 12;
    for (uint32_t i = 0; i < count; i++) {
        ref_tensor *t = &f->t[i];
        assert_true(off + 4 <= len);
        uint32_t nl = rd32(f->buf + off);
        off += 4;
        assert_true(nl < sizeof t->name && off + nl + 4 <= len);
        memcpy(t->name, f->buf + off, nl);
        t->name[nl] = 0;
        off += nl;
        t->ndims = (int)rd32(f->buf + off);
        off += 4;
        assert_true(t->ndims <= 4 && off + 4u * t->ndims <= len);
        t->numel = 1;
        for (int d = 0; d < t->ndims; d++) {
            t->dims[d] = (int)rd32(f->buf + off);
            t->numel *= (size_t)t->dims[d];
            off += 4;
        }
        assert_true(off + 4 * t->numel <= len);
        t->data = malloc(t->numel * sizeof(float) + 1);
        assert_non_null(t->data);
        memcpy(t->data, f->buf + off, t->numel * sizeof(float)); /* little-endian host */
        off += 4 * t->numel;
        f->n = (int)i + 1;
    }
    assert_int_equal(off, len);
}

void ref_free(ref_file *f)
{
    for (int i = 0; i < f->n; i++) free(f->t[i].data);
    free(f->buf);
    memset(f, 0, sizeof *f);
}

const ref_tensor *ref_get(const ref_file *f, const char *name, size_t numel)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) {
            if (numel && f->t[i].numel != numel) {
                fprintf(stderr, "fixture tensor %s has %zu elements, expected %zu\n", name, f->t[i].numel, numel);
                fail();
            }
            return &f->t[i];
        }
    fprintf(stderr, "fixture has no tensor %s\n", name);
    fail();
    return NULL;
}

double ref_compare(const float *a, const float *b, size_t n, double *abs_err)
{
    double e = 0.0, mx = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= e)) e = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > mx) mx = fabs(b[i]);
    }
    *abs_err = e;
    return e / (mx > 0 ? mx : 1.0);
}
