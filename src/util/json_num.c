/* json_num: range-checked integers and numbers from cJSON. */
#include "util/json_num.h"

#include <math.h>

int json_num_int(const cJSON *item, double lo, double hi, int64_t *out)
{
    if (!cJSON_IsNumber(item)) return -1;
    double v = item->valuedouble;
    if (hi > JSON_NUM_INT_MAX) hi = JSON_NUM_INT_MAX;
    if (lo < -JSON_NUM_INT_MAX) lo = -JSON_NUM_INT_MAX;
    if (!(v >= lo && v <= hi) || v != floor(v)) return -1;
    *out = (int64_t)v;
    return 0;
}

int json_num_int_field(const cJSON *obj, const char *key, double lo, double hi, int64_t *out)
{
    return json_num_int(cJSON_GetObjectItemCaseSensitive(obj, key), lo, hi, out);
}

double json_num_field(const cJSON *obj, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : dflt;
}
