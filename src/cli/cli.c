/* mpsl: one binary, one subcommand per task. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "config.h"
#include "models/model.h"
#include "nn/nn.h"
#include "util/datadir.h"
#include "util/err.h"

static const struct {
  const char *name;
  int (*run)(int, char **);
  const char *summary;
} commands[] = {
    {"layers", cmd_layers, "print a model's layer table (cut points refer to it)"},
    {"train", cmd_train, "train a model in one process, unsplit or cut into parts"},
    {"bench", cmd_bench, "time a training step and report GFLOP/s"},
    {"profile", cmd_profile, "measure per-layer times and bytes of a model on this host (a profile)"},
    {"run", cmd_run, "run MP-SL over MPI (mpirun -np $(mpsl run --ranks CONFIG) mpsl run CONFIG)"},
    {"report", cmd_report, "summarise a results file of mpsl run (or --csv TABLE)"},
    {"simulate", cmd_simulate, "simulate MP-SL in virtual time (discrete events) from a host profile"},
    {"estimate", cmd_estimate, "the closed-form (EdgeSys) round time of a configuration"},
    {"plan", cmd_plan, "the cuts, hops and data-owner distribution that minimise the pipeline period"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: mpsl COMMAND [options]   (mpsl COMMAND --help for its options)\n\ncommands:\n");
  for (unsigned i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

int cli_parse(const mpsl_optset *s, void *cfg, int argc, char **argv, int *npos, char **pos, int maxpos) {
  mpsl_opts_defaults(s, cfg);
  int rc = mpsl_opts_parse_argv(s, cfg, argc, argv, npos, pos, maxpos);
  if (rc == 1) {
    mpsl_opts_help(s, stdout);
    return -1;
  }
  if (rc < 0 || mpsl_opts_check_required(s, cfg)) return cli_error(s->name);
  return 0;
}

const char *cli_config_path(const char *path, char *buf, size_t cap) {
  if (path[0] == '/' || access(path, F_OK) == 0) return path;
  mpsl_data_file(path, buf, cap);
  return access(buf, F_OK) == 0 ? buf : path;
}

int cli_parse_with_file(const mpsl_optset *s, void *cfg, int argc, char **argv, const char *extra_help) {
  int npos = 0;
  char *pos[2];
  mpsl_opts_defaults(s, cfg);
  int rc = mpsl_opts_parse_argv(s, cfg, argc, argv, &npos, pos, 2);
  if (rc == 0 && npos > 1) rc = mpsl_fail("expected at most one CONFIG.ini, got '%s' and '%s'", pos[0], pos[1]);
  if (rc == 0) {
    mpsl_opts_defaults(s, cfg);
    char shipped[2 * MPSL_PATH_MAX];
    if (npos == 1) rc = mpsl_opts_parse_file(s, cfg, cli_config_path(pos[0], shipped, sizeof shipped));
    if (rc == 0) rc = mpsl_opts_parse_argv(s, cfg, argc, argv, &npos, pos, 2);
  }
  if (rc == 1) {
    mpsl_opts_help(s, stdout);
    if (extra_help) fputs(extra_help, stdout);
    return 1;
  }
  if (rc < 0 || mpsl_opts_check_required(s, cfg)) return -1;
  return 0;
}

int cli_error(const char *cmd) {
  fprintf(stderr, "mpsl %s: error: %s\n", cmd, mpsl_errmsg());
  return 1;
}

int mpsl_main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("mpsl %s (oneDNN %s)\n", PACKAGE_VERSION, nn_dnnl_version());
    return 0;
  }
  for (unsigned i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 2, argv + 2);
  fprintf(stderr, "mpsl: error: unknown command '%s' (mpsl --help lists the commands)\n", argv[1]);
  return 2;
}
