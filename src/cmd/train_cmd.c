/* train_cmd: `aurl train` (options, --detach), `aurl status` (state file,
 * trainer pid, latest metrics, ETA) and `aurl clear` (with confirmation). */
#include "cmd/train_cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/progress_out.h"
#include "engine/nn/blas_core.h"
#include "engine/train/metrics.h"
#include "engine/train/run_lock.h"
#include "engine/train/train_config.h"
#include "engine/train/train_state.h"
#include "util/dist.h"
#include "engine/train/trainer.h"
#include "cmd/cli.h"
#include "util/fileio.h"
#include "util/log.h"

static void train_usage(FILE *f)
{
    fprintf(f,
            "usage: aurl train [--stage N] [--profile NAME | --config FILE] [--detach]\n"
            "                  [--epochs N] [--max-steps N] [--jobs N]\n"
            "\n"
            "Run the training stages of configs/stages/ from where training_state.json\n"
            "says (a stopped run resumes exactly), or only stage N with --stage.\n"
            "\n"
            "  --stage N        run only stage N (1..3)\n"
            "  --profile NAME   layer configs/profiles/NAME.yaml over each stage\n"
            "                   (speed_test, quick_test, high_quality)\n"
            "  --config FILE    train one stage from this config file\n"
            "  --detach         run in the background, surviving logout; logs go to\n"
            "                   <outputs>/logs/train.log\n"
            "  --epochs N       override every stage's epochs\n"
            "  --max-steps N    override every stage's step limit\n"
            "  --jobs N         parser processes if the token cache must be built\n"
            "\n"
            "Ctrl-C / SIGTERM: finish the step, checkpoint, exit 0. SIGUSR1: checkpoint now.\n");
}

/* Fork twice so the trainer is re-parented to init in its own session,
 * with stdio on /dev/null and the log file. Returns in the grandchild with
 * 0; the original process prints the pid and exits via *exit_code. */
static int detach(const char *outputs_dir, int *exit_code)
{
    char err[AURL_ERR_LEN], logdir[4096];
    snprintf(logdir, sizeof logdir, "%s/logs", outputs_dir);
    if (file_mkdirs(logdir, err) != 0) {
        fprintf(stderr, "aurl: %s\n", err);
        *exit_code = AURL_EXIT_RUNTIME;
        return -1;
    }
    int fds[2];
    if (pipe(fds) != 0) {
        perror("aurl: pipe");
        *exit_code = AURL_EXIT_RUNTIME;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("aurl: fork");
        *exit_code = AURL_EXIT_RUNTIME;
        return -1;
    }
    if (pid > 0) {
        close(fds[1]);
        int gpid = 0;
        ssize_t n = read(fds[0], &gpid, sizeof gpid);
        close(fds[0]);
        waitpid(pid, NULL, 0);
        if (n != sizeof gpid || gpid <= 0) {
            fprintf(stderr, "aurl: could not start the background trainer\n");
            *exit_code = AURL_EXIT_RUNTIME;
        } else {
            printf("trainer started in the background (pid %d); log: %s/train.log; `aurl status` to follow\n",
                   gpid, logdir);
            *exit_code = AURL_EXIT_OK;
        }
        return -1;
    }
    close(fds[0]);
    setsid();
    pid_t g = fork();
    if (g != 0) _exit(g < 0 ? 1 : 0);
    int me = getpid();
    if (write(fds[1], &me, sizeof me) != sizeof me) _exit(1);
    close(fds[1]);
    int devnull = open("/dev/null", O_RDWR);
    char out[4200];
    snprintf(out, sizeof out, "%s/train.out", logdir);
    int logfd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    if (logfd >= 0) {
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
    }
    if (devnull > 2) close(devnull);
    if (logfd > 2) close(logfd);
    return 0;
}

/* The trainer's progress hook (USER: a progress_out): one line redrawn
 * in place on a terminal, else a log line (in the log file only under -q). */
static void show_train_progress(const train_progress *p, void *user)
{
    const progress_out *out = user;
    if (p->kind == TRAIN_PROGRESS_BREAK) {
        progress_out_end_line(out);
        return;
    }
    char best[32] = "-";
    if (isfinite(p->best_val_loss)) snprintf(best, sizeof best, "%.3f", p->best_val_loss);
    double eta = p->eta_seconds;
    if (out->live) {
        char line[256];
        snprintf(line, sizeof line, "stage %d epoch %d step %lld/%lld loss %.3f best val %s %.0f tok/s ETA %dm%02ds",
                 p->stage, p->epoch, p->step, p->total_steps, p->loss, best, p->tokens_per_s, (int)(eta / 60),
                 (int)fmod(eta, 60));
        progress_out_redraw(out, line);
    } else {
        log_info("stage %d epoch %d step %lld/%lld loss %.4f best val %s %.0f tok/s ETA %.0fs", p->stage, p->epoch,
                 p->step, p->total_steps, p->loss, best, p->tokens_per_s, eta);
    }
}

static int train_cmd_run(trainer_opts *o, progress_out *out, const aurl_globals *g, int quiet, int do_detach);
static int train_cmd_start(trainer_opts *o, progress_out *out, const aurl_globals *g, int quiet, int do_detach);

int train_cmd_main(int argc, char **argv, const aurl_globals *g)
{
    static const struct option opts[] = {
        {"stage", required_argument, NULL, 's'},  {"profile", required_argument, NULL, 'p'},
        {"config", required_argument, NULL, 'c'}, {"detach", no_argument, NULL, 'd'},
        {"epochs", required_argument, NULL, 'e'}, {"max-steps", required_argument, NULL, 'm'},
        {"jobs", required_argument, NULL, 'j'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    char configs_dir[4096];
    train_config_find_dir(NULL, configs_dir, sizeof configs_dir);
    progress_out out;
    trainer_opts o = {.outputs_dir = g->outputs_dir, .data_dir = g->data_dir, .configs_dir = configs_dir,
                      .jobs = g->threads, .on_progress = show_train_progress,
                      .on_cache_progress = progress_out_cache, .progress_user = &out};
    int quiet = g->quiet;
    int do_detach = 0, bad = 0, c;
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': o.only_stage = (int)cli_int_option("train", "--stage", optarg, 1, 3, &bad); break;
        case 'p': o.profile = optarg; break;
        case 'c': o.config_file = optarg; break;
        case 'd': do_detach = 1; break;
        case 'e': o.epochs = (int)cli_int_option("train", "--epochs", optarg, 1, 1000000, &bad); break;
        case 'm': o.max_steps = cli_int_option("train", "--max-steps", optarg, 1, 1000000000000LL, &bad); break;
        case 'j': o.jobs = (int)cli_int_option("train", "--jobs", optarg, 1, 1024, &bad); break;
        case 'h': train_usage(stdout); return AURL_EXIT_OK;
        default: bad = 1;
        }
    }
    if (!bad && optind < argc) {
        fprintf(stderr, "aurl train: unexpected argument '%s'\n", argv[optind]);
        bad = 1;
    }
    if (!bad && o.profile && o.config_file) {
        fprintf(stderr, "aurl train: give --profile or --config, not both\n");
        bad = 1;
    }
    if (!bad && o.profile && (strchr(o.profile, '/') || !o.profile[0])) {
        fprintf(stderr, "aurl train: --profile takes a name from configs/profiles/, not a path\n");
        bad = 1;
    }
    if (!bad && o.config_file && !file_is_regular(o.config_file)) {
        fprintf(stderr, "aurl train: %s: no such config file\n", o.config_file);
        bad = 1;
    }
    if (bad) {
        train_usage(stderr);
        return AURL_EXIT_USAGE;
    }
    return train_cmd_run(&o, &out, g, quiet, do_detach);
}

/* After the options: start the distributed layer (a no-op without an MPI
 * launcher), check the lock, detach if asked, and run the trainer. */
static int train_cmd_run(trainer_opts *o, progress_out *out, const aurl_globals *g, int quiet, int do_detach)
{
    char err[512];
    if (dist_init(err, sizeof err) != 0) {
        fprintf(stderr, "aurl train: %s\n", err);
        return AURL_EXIT_RUNTIME;
    }
    int rc = train_cmd_start(o, out, g, quiet, do_detach);
    dist_finalize();
    return rc;
}

static int train_cmd_start(trainer_opts *o, progress_out *out, const aurl_globals *g, int quiet, int do_detach)
{
    int rank = dist_rank(), ranks = dist_size();
    if (do_detach && ranks > 1) {
        if (rank == 0) fprintf(stderr, "aurl train: --detach does not combine with mpirun; run mpirun in the background\n");
        return AURL_EXIT_USAGE;
    }
    int owner = rank == 0 ? run_lock_owner(g->outputs_dir) : 0;
    if (owner > 0) {
        fprintf(stderr, "aurl train: a trainer (pid %d) is already running on %s\n", owner, g->outputs_dir);
        return AURL_EXIT_RUNTIME;
    }
    if (do_detach) {
        int code;
        if (detach(g->outputs_dir, &code) != 0) return code;
        quiet = 1;
    }
    blas_core_info blas;
    blas_core_info_get(&blas);
    char blas_line[160];
    blas_core_describe(&blas, blas_line, sizeof blas_line);
    if (rank == 0) {
        if (ranks > 1) log_info("ranks: %d (MPI data-parallel), threads per rank: %d; BLAS: %s", ranks, g->threads, blas_line);
        else log_info("ranks: 1; BLAS: %s", blas_line);
    }
    progress_out_init(out, quiet || rank != 0);
    return trainer_run(o);
}

/* ---------------------------------------------------------------------- */

/* Latest train and val records from the tail of metrics.jsonl. */
typedef struct {
    int have_train, have_val;
    double train_loss, steps_per_s, tokens_per_s, lr, val_loss;
    int64_t train_step;
} latest_metrics;

static void read_latest_metrics(const char *outputs_dir, int stage, latest_metrics *lm)
{
    memset(lm, 0, sizeof *lm);
    char path[4200];
    snprintf(path, sizeof path, "%s/logs/metrics.jsonl", outputs_dir);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        fseek(f, size > 65536 ? size - 65536 : 0, SEEK_SET);
    }
    char line[4096], kind[16], names[16][32];
    double values[16];
    while (fgets(line, sizeof line, f)) {
        int st;
        int64_t step;
        int n = metrics_parse_line(line, kind, sizeof kind, &st, &step, names, values, 16);
        if (n < 0 || st != stage) continue;
        int is_train = !strcmp(kind, "train"), is_val = !strcmp(kind, "val");
        for (int i = 0; i < n; i++) {
            if (is_train) {
                lm->have_train = 1;
                lm->train_step = step;
                if (!strcmp(names[i], "loss")) lm->train_loss = values[i];
                if (!strcmp(names[i], "steps_per_s")) lm->steps_per_s = values[i];
                if (!strcmp(names[i], "tokens_per_s")) lm->tokens_per_s = values[i];
                if (!strcmp(names[i], "lr")) lm->lr = values[i];
            } else if (is_val && !strcmp(names[i], "loss")) {
                lm->have_val = 1;
                lm->val_loss = values[i];
            }
        }
    }
    fclose(f);
}

static const char *status_word(stage_status s)
{
    return s == STAGE_COMPLETE ? "complete" : s == STAGE_PARTIAL ? "in progress" : "not started";
}

int status_cmd_main(int argc, char **argv, const aurl_globals *g)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'h') {
            printf("usage: aurl status [--json]\n\nStage, epoch, step, best validation loss, ETA and the pid of\n"
                   "the running trainer for the outputs directory (--outputs).\n");
            return AURL_EXIT_OK;
        } else return AURL_EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "aurl status: unexpected argument '%s'\n", argv[optind]);
        return AURL_EXIT_USAGE;
    }
    char path[4200], err[AURL_ERR_LEN];
    snprintf(path, sizeof path, "%s/training_state.json", g->outputs_dir);
    train_state st;
    int loaded = train_state_read(path, &st, err);
    if (loaded < 0) fprintf(stderr, "aurl: %s\n", err);
    int pid = run_lock_owner(g->outputs_dir);
    int cur = st.current_stage >= 1 && st.current_stage <= TRAIN_MAX_STAGES ? st.current_stage : 1;
    const train_stage_state *ss = &st.stages[cur - 1];
    latest_metrics lm;
    read_latest_metrics(g->outputs_dir, cur, &lm);
    double eta = -1;
    if (pid > 0 && lm.steps_per_s > 0 && ss->total_steps > ss->step)
        eta = (double)(ss->total_steps - ss->step) / lm.steps_per_s;
    if (json) {
        char *state_json = train_state_to_json(&st);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "outputs", g->outputs_dir);
        cJSON_AddBoolToObject(o, "running", pid > 0);
        cJSON_AddNumberToObject(o, "trainer_pid", pid);
        cJSON_AddNumberToObject(o, "ranks", st.ranks);
        cJSON_AddNumberToObject(o, "stage", cur);
        cJSON_AddNumberToObject(o, "epoch", ss->epoch + 1);
        cJSON_AddNumberToObject(o, "step", (double)ss->step);
        cJSON_AddNumberToObject(o, "total_steps", (double)ss->total_steps);
        if (isfinite(ss->best_val_loss)) cJSON_AddNumberToObject(o, "best_val_loss", ss->best_val_loss);
        else cJSON_AddNullToObject(o, "best_val_loss");
        if (eta >= 0) cJSON_AddNumberToObject(o, "eta_seconds", eta);
        else cJSON_AddNullToObject(o, "eta_seconds");
        if (lm.have_train) {
            cJSON_AddNumberToObject(o, "train_loss", lm.train_loss);
            cJSON_AddNumberToObject(o, "tokens_per_s", lm.tokens_per_s);
        }
        cJSON *parsed = state_json ? cJSON_Parse(state_json) : NULL;
        if (parsed) cJSON_AddItemToObject(o, "state", parsed);
        char *text = cJSON_Print(o);
        if (text) puts(text);
        free(text);
        free(state_json);
        cJSON_Delete(o);
        return AURL_EXIT_OK;
    }
    printf("outputs:  %s\n", g->outputs_dir);
    printf("trainer:  %s", pid > 0 ? "running" : "not running");
    if (pid > 0) printf(" (pid %d)", pid);
    if (st.ranks > 1) printf(", %d MPI ranks", st.ranks);
    printf("\n");
    if (loaded == 0) {
        printf("state:    no training yet (`aurl train` starts it)\n");
        return AURL_EXIT_OK;
    }
    if (st.profile[0]) printf("profile:  %s\n", st.profile);
    for (int s = 0; s < TRAIN_MAX_STAGES; s++) {
        const train_stage_state *x = &st.stages[s];
        printf("%s stage %d: %-11s", s + 1 == cur ? ">" : " ", s + 1, status_word(x->status));
        if (x->status != STAGE_NOT_STARTED) {
            printf(" epoch %d step %lld/%lld", x->epoch + 1, (long long)x->step, (long long)x->total_steps);
            if (isfinite(x->best_val_loss)) printf(" best val %.4f (step %lld)", x->best_val_loss, (long long)x->best_step);
        }
        printf("\n");
    }
    if (lm.have_train)
        printf("latest:   train loss %.4f at step %lld, %.0f tokens/s, lr %.2e\n", lm.train_loss,
               (long long)lm.train_step, lm.tokens_per_s, lm.lr);
    if (eta >= 0) printf("ETA:      %dh%02dm for stage %d\n", (int)(eta / 3600), (int)fmod(eta / 60, 60), cur);
    if (ss->best_checkpoint[0]) printf("best:     %s/%s\n", g->outputs_dir, ss->best_checkpoint);
    return AURL_EXIT_OK;
}

/* ---------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT) fprintf(stderr, "aurl clear: %s: %s\n", path, strerror(errno));
    return AURL_EXIT_OK;
}

int clear_cmd_main(int argc, char **argv, const aurl_globals *g)
{
    static const struct option opts[] = {{"yes", no_argument, NULL, 'y'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int yes = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "yh", opts, NULL)) != -1) {
        if (c == 'y') yes = 1;
        else if (c == 'h') {
            printf("usage: aurl clear [--yes]\n\nRemove training_state.json, checkpoints/ and logs/ from the outputs\n"
                   "directory (not data/ or its cache). Asks first unless --yes.\n");
            return AURL_EXIT_OK;
        } else return AURL_EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "aurl clear: unexpected argument '%s'\n", argv[optind]);
        return AURL_EXIT_USAGE;
    }
    int pid = run_lock_owner(g->outputs_dir);
    if (pid > 0) {
        fprintf(stderr, "aurl clear: a trainer (pid %d) is using %s; stop it first (kill %d)\n", pid,
                g->outputs_dir, pid);
        return AURL_EXIT_RUNTIME;
    }
    if (!yes) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "aurl clear: refusing without --yes when not at a terminal\n");
            return AURL_EXIT_USAGE;
        }
        printf("Remove training state, checkpoints and logs in %s? [y/N] ", g->outputs_dir);
        fflush(stdout);
        char answer[16] = "";
        if (!fgets(answer, sizeof answer, stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
            printf("nothing removed\n");
            return AURL_EXIT_OK;
        }
    }
    const char *items[] = {"training_state.json", "checkpoints", "logs"};
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", g->outputs_dir, items[i]);
        struct stat sb;
        if (lstat(path, &sb) != 0) continue;
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (!g->quiet) printf("cleared %s (training state, checkpoints, logs)\n", g->outputs_dir);
    return AURL_EXIT_OK;
}
