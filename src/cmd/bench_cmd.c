/* bench: aurl bench: training-step (and greedy sampling) speed of a
 * Transformer config on random tokens. */
#include "cmd/bench_cmd.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "data/tokenizer.h"
#include "engine/model/model_yaml.h"
#include "engine/model/transformer.h"
#include "engine/nn/adamw.h"
#include "engine/nn/blas_core.h"
#include "engine/nn/loss.h"
#include "engine/sample/kv_cache.h"
#include "cmd/cli.h"
#include "util/clock.h"
#include "util/rng.h"
#include "util/threads.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aurl bench [--config FILE] [--steps N] [--batch B] [--seq T]\n"
            "                  [--attention full|sliding_window|hierarchical] [--window W] [--sample N]\n"
            "                  [--precision auto|fp32|bf16] [--json]\n"
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
            "  --sample N      also time greedy sampling of N tokens, without and with the KV cache\n"
            "                  (tokens/s, time to first token; default 64, 0: off); with the cache at batch 1\n"
            "                  and 16, in both precisions, against the targets (5,000 and 20,000 tokens/s)\n"
            "  --precision P   the KV cache's precision for those: fp32, bf16, or auto (both measured;\n"
            "                  kv_sample_tokens_per_s is the default's, bf16 where the CPU has AVX512_BF16)\n"
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

/* The command line. */
typedef struct {
    const char *config, *attn; /* NULL: the reference model; its attention */
    int steps, batch, seq, window, json, sample;
    kv_precision precision; /* AUTO: both measured */
} bench_opts;

/* Parse the options into O. -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, bench_opts *o)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"steps", required_argument, 0, 's'},
        {"batch", required_argument, 0, 'b'},  {"seq", required_argument, 0, 't'},
        {"attention", required_argument, 0, 'a'}, {"window", required_argument, 0, 'w'},
        {"json", no_argument, 0, 'j'},         {"help", no_argument, 0, 'h'},
        {"sample", required_argument, 0, 'n'}, {"precision", required_argument, 0, 'p'},
        {0, 0, 0, 0}};
    *o = (bench_opts){NULL, NULL, 10, 0, 0, 0, 0, 64, KV_PREC_AUTO};
    int bad = 0;
    optind = 1;
    opterr = 0;
    int c;
    while (!bad && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 's': o->steps = (int)cli_int_option("bench", "--steps", optarg, 1, BENCH_MAX_ARG, &bad); break;
        case 'b': o->batch = (int)cli_int_option("bench", "--batch", optarg, 1, BENCH_MAX_ARG, &bad); break;
        case 't': o->seq = (int)cli_int_option("bench", "--seq", optarg, 1, BENCH_MAX_ARG, &bad); break;
        case 'w': o->window = (int)cli_int_option("bench", "--window", optarg, 1, BENCH_MAX_ARG, &bad); break;
        case 'a': o->attn = optarg; break;
        case 'n':
            if (!strcmp(optarg, "0")) o->sample = 0;
            else o->sample = (int)cli_int_option("bench", "--sample", optarg, 1, BENCH_MAX_ARG, &bad);
            break;
        case 'p':
            if (kv_precision_parse(optarg, &o->precision)) {
                fprintf(stderr, "aurl bench: --precision must be fp32, bf16 or auto, got '%s'\n", optarg);
                bad = 1;
            }
            break;
        case 'j': o->json = 1; break;
        case 'h': usage(stdout); return AURL_EXIT_OK;
        default:
            fprintf(stderr, "aurl bench: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return AURL_EXIT_USAGE;
        }
    }
    if (bad) return AURL_EXIT_USAGE;
    if (optind < argc) {
        fprintf(stderr, "aurl bench: unexpected argument '%s'\n", argv[optind]);
        return AURL_EXIT_USAGE;
    }
    return -1;
}

/* The model config, batch size B and sequence length T the options ask
 * for. An exit code. */
static int bench_config(const bench_opts *o, model_config *cfg, int *B, int *T)
{
    char err[AURL_ERR_LEN];
    *B = 8;
    if (o->config) {
        if (model_yaml_load_file(o->config, cfg, B, err) != 0) {
            fprintf(stderr, "aurl bench: %s\n", err);
            return AURL_EXIT_USAGE;
        }
    } else {
        model_yaml_defaults(cfg);
        cfg->d_model = 256;
        cfg->n_layers = 4;
        cfg->n_heads = 4;
        cfg->d_ff = 1024;
        cfg->max_seq_len = 512;
    }
    if (o->batch) *B = o->batch;
    if (o->attn && attn_kind_parse(o->attn, &cfg->attn.kind) != 0) {
        fprintf(stderr, "aurl bench: --attention must be full, sliding_window or hierarchical, got '%s'\n",
                o->attn);
        return AURL_EXIT_USAGE;
    }
    if (o->window) cfg->attn.window = o->window;
    *T = o->seq ? o->seq : cfg->max_seq_len;
    if (*T > cfg->max_seq_len) cfg->max_seq_len = *T;
    return AURL_EXIT_OK;
}

/* Seconds spent in each part of the timed training steps. */
typedef struct {
    double fwd, bwd, opt;
    double loss; /* of the last step */
} bench_times;

/* One untimed warm-up step, then STEPS timed training steps on TOK (B*T+1
 * tokens: inputs TOK, targets TOK + 1). */
static bench_times time_steps(transformer *m, const int32_t *tok, int B, int T, int steps)
{
    bench_times bt = {0, 0, 0, 0};
    adamw_config oc = adamw_default_config(3e-4f, 3e-5f, 10, 1000);
    adamw opt;
    adamw_init(&opt, &oc);
    for (int s = -1; s < steps; s++) { /* step -1: untimed warm-up */
        double t0 = clock_monotonic();
        float l = transformer_forward(m, tok, tok + 1, B, T, 1, (uint64_t)s);
        double t1 = clock_monotonic();
        transformer_backward(m);
        double t2 = clock_monotonic();
        transformer_step(m, &opt, l);
        double t3 = clock_monotonic();
        if (s >= 0) {
            bt.fwd += t1 - t0;
            bt.bwd += t2 - t1;
            bt.opt += t3 - t2;
        }
        bt.loss = l;
    }
    return bt;
}

/* Greedy sampling of N tokens from START without a KV cache (each token
 * re-runs the prefix) into TOK (N+1 entries); tokens per second (0 for N 0). */
static double time_sampling(transformer *m, int32_t *tok, int V, int n)
{
    double t0 = clock_monotonic();
    tok[0] = TOK_START;
    for (int len = 1; len <= n; len++) {
        transformer_forward(m, tok, NULL, 1, len, 0, 0);
        tok[len] = loss_argmax(transformer_logits(m) + (size_t)(len - 1) * V, V);
    }
    return n > 0 ? n / (clock_monotonic() - t0) : 0.0;
}

/* Greedy KV-cached decoding of N tokens from START in NSEQ sequences at
 * once, in precision PREC (what `aurl generate --count NSEQ` runs, without
 * the grammar): tokens per second in all and, in *first_ms, the time to the
 * first token (cache creation, the START prefill and its argmax). 0 for N
 * 0 or when the model cannot decode incrementally. */
static double time_kv_sampling(const transformer *m, int V, int n, int nseq, kv_precision prec, double *first_ms)
{
    *first_ms = 0;
    if (n <= 0) return 0.0;
    char err[AURL_ERR_LEN];
    float *logits = malloc((size_t)nseq * V * sizeof(float));
    int32_t tok[KV_BENCH_BATCH];
    kv_cache *c = NULL;
    double t0 = clock_monotonic();
    if (!logits || nseq > KV_BENCH_BATCH || kv_cache_create_prec(&c, m, nseq, prec, err) != 0) {
        free(logits);
        return 0.0;
    }
    for (int s = 0; s < nseq; s++) {
        tok[s] = TOK_START;
        kv_cache_prefill(c, s, &tok[s], 1, logits + (size_t)s * V);
        tok[s] = loss_argmax(logits + (size_t)s * V, V);
        if (s == 0) *first_ms = 1e3 * (clock_monotonic() - t0);
    }
    for (int i = 1; i < n; i++) {
        kv_cache_step(c, tok, nseq, logits);
        for (int s = 0; s < nseq; s++) tok[s] = loss_argmax(logits + (size_t)s * V, V);
    }
    double tps = (double)n * nseq / (clock_monotonic() - t0);
    kv_cache_free(c);
    free(logits);
    return tps;
}

/* What a run measured. */
typedef struct {
    int B, T, steps, n_sample;
    bench_times t;
    double step_ms, tps, gflops, rss, sample_tps, load;
    double kv_tps, kv_first_ms; /* KV-cached greedy decoding of n_sample tokens, default precision */
    kv_precision kv_prec;       /* the default (kv_precision_resolve(AUTO)) */
    double kvp_tps[2], kvp_first_ms[2], kvb_tps[2]; /* [0] fp32, [1] bf16: batch 1, batch KV_BENCH_BATCH */
    int kvp_on[2];                                  /* measured (--precision) */
    blas_core_info blas;  /* the OpenBLAS core this process runs */
    char blas_line[160];  /* blas_core_describe */
    char omp_line[128];   /* blas_core_omp_describe */
} bench_report;

static void print_report(const bench_report *r, const model_config *cfg, const transformer *m, int json)
{
    int steps = r->steps;
    if (r->load > 0.5 * threads_cores())
        printf("bench: note: load average was %.1f on %d cores before the run: other processes compete, timings "
               "are pessimistic\n",
               r->load, threads_cores());
    printf("bench: %d steps, %.1f ms/step (forward %.1f, backward %.1f, adamw %.1f), %.0f tokens/s, %.1f GFLOP/s, "
           "peak RSS %.0f MB, loss %.4f\n",
           steps, r->step_ms, 1e3 * r->t.fwd / steps, 1e3 * r->t.bwd / steps, 1e3 * r->t.opt / steps, r->tps,
           r->gflops, r->rss, r->t.loss);
    if (r->n_sample > 0)
        printf("bench: greedy sampling without KV cache, %d tokens from START: %.1f tokens/s\n", r->n_sample,
               r->sample_tps);
    for (int p = 0; p < 2 && r->n_sample > 0 && r->kv_tps > 0; p++) {
        if (!r->kvp_on[p]) continue;
        const char *pn = kv_precision_name(p ? KV_PREC_BF16 : KV_PREC_FP32);
        printf("bench: greedy sampling with KV cache (%s%s), %d tokens from START: %.1f tokens/s, first token "
               "%.2f ms; %d at once: %.1f tokens/s in all\n",
               pn, (p ? KV_PREC_BF16 : KV_PREC_FP32) == kv_precision_resolve(KV_PREC_AUTO) ? ", the default" : "",
               r->n_sample,
               r->kvp_tps[p], r->kvp_first_ms[p], KV_BENCH_BATCH, r->kvb_tps[p]);
        printf("bench: %s targets: batch 1 >= %.0f tokens/s %s; batch %d >= %.0f tokens/s %s\n", pn,
               KV_TARGET_B1_TPS, r->kvp_tps[p] >= KV_TARGET_B1_TPS ? "met" : "not met", KV_BENCH_BATCH,
               KV_TARGET_B16_TPS, r->kvb_tps[p] >= KV_TARGET_B16_TPS ? "met" : "not met");
    }
    if (!json) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "tokens_per_s", r->tps);
    cJSON_AddNumberToObject(o, "gflops", r->gflops);
    cJSON_AddNumberToObject(o, "peak_rss_mb", r->rss);
    cJSON_AddNumberToObject(o, "step_ms", r->step_ms);
    cJSON_AddNumberToObject(o, "forward_ms", 1e3 * r->t.fwd / steps);
    cJSON_AddNumberToObject(o, "backward_ms", 1e3 * r->t.bwd / steps);
    cJSON_AddNumberToObject(o, "adamw_ms", 1e3 * r->t.opt / steps);
    cJSON_AddNumberToObject(o, "sample_tokens_per_s", r->sample_tps);
    cJSON_AddNumberToObject(o, "kv_sample_tokens_per_s", r->kv_tps);
    cJSON_AddNumberToObject(o, "first_token_ms", r->kv_first_ms);
    cJSON_AddStringToObject(o, "kv_precision", kv_precision_name(r->kv_prec));
    for (int p = 0; p < 2; p++) {
        if (!r->kvp_on[p]) continue;
        char key[64];
        const char *pn = kv_precision_name(p ? KV_PREC_BF16 : KV_PREC_FP32);
        snprintf(key, sizeof key, "kv_%s_tokens_per_s", pn);
        cJSON_AddNumberToObject(o, key, r->kvp_tps[p]);
        snprintf(key, sizeof key, "kv_%s_first_token_ms", pn);
        cJSON_AddNumberToObject(o, key, r->kvp_first_ms[p]);
        snprintf(key, sizeof key, "kv_%s_batch%d_tokens_per_s", pn, KV_BENCH_BATCH);
        cJSON_AddNumberToObject(o, key, r->kvb_tps[p]);
        snprintf(key, sizeof key, "kv_%s_target_b1_met", pn);
        cJSON_AddBoolToObject(o, key, r->kvp_tps[p] >= KV_TARGET_B1_TPS);
        snprintf(key, sizeof key, "kv_%s_target_batch_met", pn);
        cJSON_AddBoolToObject(o, key, r->kvb_tps[p] >= KV_TARGET_B16_TPS);
    }
    cJSON_AddNumberToObject(o, "batch", r->B);
    cJSON_AddNumberToObject(o, "seq_len", r->T);
    cJSON_AddStringToObject(o, "attention", attn_kind_name(cfg->attn.kind));
    cJSON_AddNumberToObject(o, "window", cfg->attn.window);
    cJSON_AddNumberToObject(o, "params", (double)transformer_n_params(m));
    cJSON_AddNumberToObject(o, "threads", threads_count());
    cJSON_AddNumberToObject(o, "load_avg", r->load);
    cJSON_AddNumberToObject(o, "steps", steps);
    cJSON_AddNumberToObject(o, "loss", r->t.loss);
    cJSON_AddStringToObject(o, "blas_core", r->blas.core);
    cJSON_AddStringToObject(o, "blas_core_source", blas_core_source_name(r->blas.source));
    cJSON_AddStringToObject(o, "blas", r->blas_line);
    cJSON_AddStringToObject(o, "omp_wait", r->omp_line);
    char *s = cJSON_PrintUnformatted(o);
    if (s) printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

int bench_cmd_main(int argc, char **argv, const aurl_globals *g)
{
    bench_opts o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0) return rc;
    model_config cfg;
    bench_report r = {0};
    if ((rc = bench_config(&o, &cfg, &r.B, &r.T)) != AURL_EXIT_OK) return rc;
    int B = r.B, T = r.T;
    r.steps = o.steps;

    double load[1] = {0.0}; /* before we add our own load */
    if (getloadavg(load, 1) != 1) load[0] = 0.0;
    r.load = load[0];
    char err[AURL_ERR_LEN];
    transformer *m;
    if (transformer_create(&m, &cfg, B, T, 1234, err) != 0) {
        fprintf(stderr, "aurl bench: %s\n", err);
        return AURL_EXIT_RUNTIME;
    }
    size_t N = (size_t)B * T;
    int32_t *tok = malloc((N + 1) * sizeof *tok);
    if (!tok) {
        fprintf(stderr, "aurl bench: out of memory\n");
        transformer_free(m);
        return AURL_EXIT_RUNTIME;
    }
    rng_state rs;
    rng_seed(&rs, 42);
    for (size_t i = 0; i <= N; i++) tok[i] = (int32_t)rng_below(&rs, (uint64_t)cfg.vocab_size);

    if (!o.json || !(g && g->quiet))
        printf("bench: d_model %d, layers %d, heads %d, d_ff %d, vocab %d, %s attention (window %d), batch %d x %d, "
               "%.2fM params, %d threads\n",
               cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.d_ff, cfg.vocab_size, attn_kind_name(cfg.attn.kind),
               cfg.attn.window, B, T, transformer_n_params(m) / 1e6, threads_count());
    blas_core_info_get(&r.blas);
    blas_core_describe(&r.blas, r.blas_line, sizeof r.blas_line);
    blas_core_omp_describe(r.omp_line, sizeof r.omp_line);
    if (!o.json || !(g && g->quiet)) printf("bench: BLAS: %s; OpenMP waiting: %s\n", r.blas_line, r.omp_line);
    r.t = time_steps(m, tok, B, T, r.steps);
    r.n_sample = o.sample < T ? o.sample : T - 1;
    r.sample_tps = time_sampling(m, tok, cfg.vocab_size, r.n_sample);
    r.kv_prec = kv_precision_resolve(o.precision);
    for (int p = 0; p < 2; p++) {
        kv_precision pr = p ? KV_PREC_BF16 : KV_PREC_FP32;
        if (!(r.kvp_on[p] = o.precision == KV_PREC_AUTO || pr == r.kv_prec)) continue;
        double ignore;
        r.kvp_tps[p] = time_kv_sampling(m, cfg.vocab_size, r.n_sample, 1, pr, &r.kvp_first_ms[p]);
        r.kvb_tps[p] = time_kv_sampling(m, cfg.vocab_size, r.n_sample, KV_BENCH_BATCH, pr, &ignore);
        if (pr == r.kv_prec) r.kv_tps = r.kvp_tps[p], r.kv_first_ms = r.kvp_first_ms[p];
    }
    double total = r.t.fwd + r.t.bwd + r.t.opt;
    r.step_ms = 1e3 * total / r.steps;
    r.tps = (double)N * r.steps / total;
    r.gflops = r.tps * transformer_flops_per_token(&cfg, T) / 1e9;
    r.rss = peak_rss_mb();
    print_report(&r, &cfg, m, o.json);
    free(tok);
    transformer_free(m);
    return AURL_EXIT_OK;
}
