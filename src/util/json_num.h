/* json_num: checked reads of numbers from cJSON values, shared by every
 * reader of our JSON files (checkpoint headers, the cache index, the
 * training state), so an untrusted file can never push an out-of-range or
 * fractional value into an integer. */
#ifndef AURL_JSON_NUM_H
#define AURL_JSON_NUM_H

#include <cjson/cJSON.h>
#include <stdint.h>

/* Largest integer a JSON number (an IEEE double) holds exactly: 2^53. */
#define JSON_NUM_INT_MAX 9007199254740992.0

/* ITEM is a number with an integral value in [lo, hi] (hi is capped at
 * JSON_NUM_INT_MAX): 0 and *out set, else -1 and *out untouched. */
int json_num_int(const cJSON *item, double lo, double hi, int64_t *out);
/* json_num_int of member KEY of OBJ (-1 when absent). */
int json_num_int_field(const cJSON *obj, const char *key, double lo, double hi, int64_t *out);
/* Member KEY of OBJ if it is a finite number, else DFLT. */
double json_num_field(const cJSON *obj, const char *key, double dflt);
#endif
