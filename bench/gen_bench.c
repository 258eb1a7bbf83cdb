/* gen_bench: sampling speed of aurl's KV-cached decoder on the reference
 * model (bench/reference.yaml, random weights): tokens/s generating N
 * tokens (default 1024, past the 512-token context, so the window slides)
 * with top-p sampling and the grammar mask, and the time to the first token.
 *
 *   build/bench/gen_bench [--config bench/reference.yaml] [--tokens N] [--prefix N] [--json]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/model/model_yaml.h"
#include "engine/sample/sampler.h"
#include "engine/model/transformer.h"
#include "util/threads.h"

int main(int argc, char **argv)
{
    const char *config = "bench/reference.yaml";
    int n = 1024, prefix_len = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--prefix") && i + 1 < argc) prefix_len = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else {
            fprintf(stderr, "usage: gen_bench [--config FILE] [--tokens N] [--prefix N] [--json]\n");
            return 2;
        }
    }
    if (n < 1 || prefix_len < 0) return 2;
    threads_configure(0);
    char err[AURL_ERR_LEN];
    model_config cfg;
    transformer *m = NULL;
    if (model_yaml_load_file(config, &cfg, NULL, err) || transformer_create(&m, &cfg, 1, 1, 1, err)) {
        fprintf(stderr, "gen_bench: %s\n", err);
        return 1;
    }
    sampler_settings s;
    sampler_settings_default(&s);
    s.max_tokens = n;
    s.min_tokens = n; /* no early END */
    int32_t *prefix = malloc((size_t)(prefix_len + 1) * sizeof(int32_t));
    for (int i = 0; i < prefix_len; i++) prefix[i] = 180 + i % 64; /* time shifts */
    sampler_result r;
    /* warm-up (thread pool, page faults), then the timed run */
    s.max_tokens = 16;
    s.min_tokens = 16;
    if (sampler_generate(m, &s, prefix, prefix_len, NULL, 0, NULL, NULL, &r, err)) goto fail;
    sampler_result_free(&r);
    s.max_tokens = n;
    s.min_tokens = n;
    clock_t c0 = clock(); /* CPU time of all threads: shows what a loaded machine hides */
    if (sampler_generate(m, &s, prefix, prefix_len, NULL, 0, NULL, NULL, &r, err)) goto fail;
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    int gen = n; /* model steps: min_tokens = n forbids an early END; the closing NOTE_OFFs cost no step */
    double tps = gen / r.seconds_taken;
    if (json)
        printf("{\"tokens\": %d, \"prefix\": %d, \"seconds\": %.4f, \"cpu_seconds\": %.4f, \"tokens_per_s\": %.1f, "
               "\"first_token_ms\": %.3f}\n",
               gen, prefix_len, r.seconds_taken, cpu, tps, r.first_token_seconds * 1e3);
    else
        printf("aurl (KV cache): %d tokens in %.3f s = %.0f tokens/s (CPU %.3f s); first token %.2f ms (prefix %d)\n",
               gen, r.seconds_taken, tps, cpu, r.first_token_seconds * 1e3, prefix_len);
    sampler_result_free(&r);
    free(prefix);
    transformer_free(m);
    return 0;
fail:
    fprintf(stderr, "gen_bench: %s\n", err);
    return 1;
}
