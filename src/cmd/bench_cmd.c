/* bench: training-step speed of a transformer config. */
#include "cmd/bench_cmd.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "engine/nn/adamw.h"
#include "engine/nn/blas_core.h"
#include "engine/model/model_yaml.h"
#include "util/rng.h"
#include "engine/model/transformer.h"
#include "util/cli.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/threads.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aurl bench [--config FILE] [--steps N] [--batch B] [--seq T]\n"
            "                  [--attention full|sliding_window|hierarchical] [--window W] [--sample N] [--json]\n"
            "\n"
            "Time N training steps (forward, backward, AdamW) of a Transformer on random\n"
            "tokens and print tokens/s, GFLOP/s, step time and peak memory.\n"
            "\n"
            "  --config FILE   model YAML (model keys, optional batch_size); default: the\n"
            "                  reference model (d_model 256, 4 layers, 4 heads, d_ff 1024, T 512, batch 8)\n"
            "  --steps N       timed steps (default 10; one untimed warm-up step runs first)\n"
            "  --batch B       override the batch size\n"
            "  --seq T         sequence length (default max_seq_len; raises max_seq_len if larger)\n"
            "  --attention K   override the attention variant; --window W its window\n"
            "  --sample N      also time greedy sampling of N tokens, no KV cache (default 64, 0: off)\n"
            "  --json          end with one JSON object: tokens_per_s, gflops, peak_rss_mb, step_ms, ...\n");
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

/* Upper bound of bench's integer options. */
#define BENCH_MAX_ARG 1000000

int bench_cmd_main(int argc, char **argv, const aurl_globals *g)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"steps", required_argument, 0, 's'},
        {"batch", required_argument, 0, 'b'},  {"seq", required_argument, 0, 't'},
        {"attention", required_argument, 0, 'a'}, {"window", required_argument, 0, 'w'},
        {"json", no_argument, 0, 'j'},         {"help", no_argument, 0, 'h'},
        {"sample", required_argument, 0, 'n'},
        {0, 0, 0, 0}};
    const char *config = NULL, *attn = NULL;
    int steps = 10, batch = 0, seq = 0, window = 0, json = 0, sample = 64, bad = 0;
    optind = 1;
    opterr = 0;
    int c;
    while (!bad && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 's': steps = (int)cli_int_option("bench", "--steps", optarg, 1, BENCH_MAX_ARG, &bad); break;
        case 'b': batch = (int)cli_int_option("bench", "--batch", optarg, 1, BENCH_MAX_ARG, &bad); break;
        case 't': seq = (int)cli_int_option("bench", "--seq", optarg, 1, BENCH_MAX_ARG, &bad); break;
        case 'w': window = (int)cli_int_option("bench", "--window", optarg, 1, BENCH_MAX_ARG, &bad); break;
        case 'a': attn = optarg; break;
        case 'n':
            if (!strcmp(optarg, "0")) sample = 0;
            else sample = (int)cli_int_option("bench", "--sample", optarg, 1, BENCH_MAX_ARG, &bad);
            break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "aurl bench: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (bad) return 2;
    if (optind < argc) {
        fprintf(stderr, "aurl bench: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }

    model_config cfg;
    char err[AURL_ERR_LEN];
    int B = 8;
    if (config) {
        if (model_yaml_load_file(config, &cfg, &B, err) != 0) {
            fprintf(stderr, "aurl bench: %s\n", err);
            return 2;
        }
    } else {
        model_yaml_defaults(&cfg);
        cfg.d_model = 256;
        cfg.n_layers = 4;
        cfg.n_heads = 4;
        cfg.d_ff = 1024;
        cfg.max_seq_len = 512;
    }
    if (batch) B = batch;
    if (attn && attn_kind_parse(attn, &cfg.attn.kind) != 0) {
        fprintf(stderr, "aurl bench: --attention must be full, sliding_window or hierarchical, got '%s'\n", attn);
        return 2;
    }
    if (window) cfg.attn.window = window;
    int T = seq ? seq : cfg.max_seq_len;
    if (T > cfg.max_seq_len) cfg.max_seq_len = T;

    double load[1] = {0.0}; /* before we add our own load */
    if (getloadavg(load, 1) != 1) load[0] = 0.0;
    transformer *m;
    if (transformer_create(&m, &cfg, B, T, 1234, err) != 0) {
        fprintf(stderr, "aurl bench: %s\n", err);
        return 1;
    }
    size_t N = (size_t)B * T;
    int32_t *tok = malloc((N + 1) * sizeof *tok);
    if (!tok) {
        fprintf(stderr, "aurl bench: out of memory\n");
        transformer_free(m);
        return 1;
    }
    rng_state r;
    rng_seed(&r, 42);
    for (size_t i = 0; i <= N; i++) tok[i] = (int32_t)rng_below(&r, (uint64_t)cfg.vocab_size);
    adamw_config oc = adamw_default_config(3e-4f, 3e-5f, 10, 1000);
    adamw opt;
    adamw_init(&opt, &oc);

    if (!json || !(g && g->quiet))
        printf("bench: d_model %d, layers %d, heads %d, d_ff %d, vocab %d, %s attention (window %d), batch %d x %d, "
               "%.2fM params, %d threads\n",
               cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.d_ff, cfg.vocab_size, attn_kind_name(cfg.attn.kind),
               cfg.attn.window, B, T, transformer_n_params(m) / 1e6, threads_count());
    blas_core_info blas;
    blas_core_info_get(&blas);
    char blas_line[160], omp_line[128];
    blas_core_describe(&blas, blas_line, sizeof blas_line);
    blas_core_omp_describe(omp_line, sizeof omp_line);
    if (!json || !(g && g->quiet)) printf("bench: BLAS: %s; OpenMP waiting: %s\n", blas_line, omp_line);
    double t_fwd = 0, t_bwd = 0, t_opt = 0, loss = 0;
    for (int s = -1; s < steps; s++) { /* step -1: untimed warm-up */
        double t0 = clock_monotonic();
        float l = transformer_forward(m, tok, tok + 1, B, T, 1, (uint64_t)s);
        double t1 = clock_monotonic();
        transformer_backward(m);
        double t2 = clock_monotonic();
        transformer_step(m, &opt, l);
        double t3 = clock_monotonic();
        if (s >= 0) {
            t_fwd += t1 - t0;
            t_bwd += t2 - t1;
            t_opt += t3 - t2;
        }
        loss = l;
    }
    /* greedy sampling without a KV cache: each token re-runs the prefix */
    int n_sample = sample < T ? sample : T - 1;
    double t_s0 = clock_monotonic();
    tok[0] = 0; /* START */
    for (int len = 1; len <= n_sample; len++) {
        transformer_forward(m, tok, NULL, 1, len, 0, 0);
        const float *row = transformer_logits(m) + (size_t)(len - 1) * cfg.vocab_size;
        int best = 0;
        for (int v = 1; v < cfg.vocab_size; v++)
            if (row[v] > row[best]) best = v;
        tok[len] = best;
    }
    double sample_tps = n_sample > 0 ? n_sample / (clock_monotonic() - t_s0) : 0.0;
    double total = t_fwd + t_bwd + t_opt;
    double step_ms = 1e3 * total / steps;
    double tps = (double)N * steps / total;
    double gflops = tps * transformer_flops_per_token(&cfg, T) / 1e9;
    double rss = peak_rss_mb();
    if (load[0] > 0.5 * threads_cores())
        printf("bench: note: load average was %.1f on %d cores before the run: other processes compete, timings "
               "are pessimistic\n",
               load[0], threads_cores());
    printf("bench: %d steps, %.1f ms/step (forward %.1f, backward %.1f, adamw %.1f), %.0f tokens/s, %.1f GFLOP/s, "
           "peak RSS %.0f MB, loss %.4f\n",
           steps, step_ms, 1e3 * t_fwd / steps, 1e3 * t_bwd / steps, 1e3 * t_opt / steps, tps, gflops, rss, loss);
    if (n_sample > 0)
        printf("bench: greedy sampling without KV cache, %d tokens from START: %.1f tokens/s\n", n_sample, sample_tps);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "tokens_per_s", tps);
        cJSON_AddNumberToObject(o, "gflops", gflops);
        cJSON_AddNumberToObject(o, "peak_rss_mb", rss);
        cJSON_AddNumberToObject(o, "step_ms", step_ms);
        cJSON_AddNumberToObject(o, "forward_ms", 1e3 * t_fwd / steps);
        cJSON_AddNumberToObject(o, "backward_ms", 1e3 * t_bwd / steps);
        cJSON_AddNumberToObject(o, "adamw_ms", 1e3 * t_opt / steps);
        cJSON_AddNumberToObject(o, "sample_tokens_per_s", sample_tps);
        cJSON_AddNumberToObject(o, "batch", B);
        cJSON_AddNumberToObject(o, "seq_len", T);
        cJSON_AddStringToObject(o, "attention", attn_kind_name(cfg.attn.kind));
        cJSON_AddNumberToObject(o, "window", cfg.attn.window);
        cJSON_AddNumberToObject(o, "params", (double)transformer_n_params(m));
        cJSON_AddNumberToObject(o, "threads", threads_count());
        cJSON_AddNumberToObject(o, "load_avg", load[0]);
        cJSON_AddNumberToObject(o, "steps", steps);
        cJSON_AddNumberToObject(o, "loss", loss);
        cJSON_AddStringToObject(o, "blas_core", blas.core);
        cJSON_AddStringToObject(o, "blas_core_source", blas_core_source_name(blas.source));
        cJSON_AddStringToObject(o, "blas", blas_line);
        cJSON_AddStringToObject(o, "omp_wait", omp_line);
        char *s = cJSON_PrintUnformatted(o);
        if (s) printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
    }
    free(tok);
    transformer_free(m);
    return 0;
}
