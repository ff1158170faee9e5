/* mpsl: one binary, one subcommand per task. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "config.h"
#include "io/results.h"
#include "models/model.h"
#include "nn/nn.h"
#include "sl/status.h"
#include "util/cpu.h"
#include "util/datadir.h"
#include "util/err.h"
#include "util/provenance.h"

const cli_command cli_commands[] = {
    {"layers", cmd_layers, "print a model's layer table (cut points refer to it)", cmd_layers_opts, NULL},
    {"train", cmd_train, "train a model in one process, unsplit or cut into parts", cmd_train_opts, NULL},
    {"bench", cmd_bench, "time a training step and report GFLOP/s", cmd_bench_opts, NULL},
    {"profile", cmd_profile, "measure per-layer times and bytes of a model on this host (a profile)", cmd_profile_opts,
     NULL},
    {"run", cmd_run, "run MP-SL over MPI (mpirun -np $(mpsl run --ranks CONFIG) mpsl run CONFIG)", cmd_run_opts,
     cmd_run_flags},
    {"report", cmd_report, "summarise a results file of mpsl run (or --csv TABLE)", cmd_report_opts, NULL},
    {"simulate", cmd_simulate, "simulate MP-SL in virtual time (discrete events) from a host profile",
     cmd_simulate_opts, cmd_simulate_flags},
    {"estimate", cmd_estimate, "the closed-form (EdgeSys) round time of a configuration", cmd_estimate_opts,
     cmd_estimate_flags},
    {"plan", cmd_plan, "the cuts, hops and data-owner distribution that minimise the pipeline period", cmd_plan_opts,
     cmd_plan_flags},
};
const int cli_ncommands = (int)(sizeof cli_commands / sizeof cli_commands[0]);

static void usage(FILE *f) {
  fprintf(f, "usage: mpsl COMMAND [options]   (mpsl COMMAND --help for its options)\n\ncommands:\n");
  for (int i = 0; i < cli_ncommands; i++) fprintf(f, "  %-8s %s\n", cli_commands[i].name, cli_commands[i].summary);
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

int cli_parse_with_file(const mpsl_optset *s, void *cfg, int argc, char **argv, const cli_flag *extra) {
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
    for (const cli_flag *x = extra; x && x->flag; x++) printf("  %-13s %s\n", x->flag, x->help);
    return 1;
  }
  if (rc < 0 || mpsl_opts_check_required(s, cfg)) return -1;
  return 0;
}

/* The stored configuration against the digest its run wrote beside it (config_sha256):
 * a file edited since, or one whose digest is gone, is not resumed. */
static int check_config_digest(const char *path, const char *ini) {
  char *want = NULL, got[65];
  if (mpsl_results_attr(path, "config_sha256", &want))
    return mpsl_fail("%s: no config_sha256, the digest of its configuration (a file of an older mpsl, or one edited "
                     "since): refusing to resume a run whose configuration cannot be checked",
                     path);
  mpsl_sha256_hex(ini, strlen(ini), got);
  int rc = 0;
  if (strcmp(want, got))
    rc = mpsl_fail("%s: its configuration does not match its digest (config_sha256 %.16s..., the text's %.16s...): "
                   "the file was changed after its run wrote it; refusing to resume it",
                   path, want, got);
  free(want);
  return rc;
}

int cli_resume_availability(const char *path, const char *availability) {
  if (!availability[0]) return 0;
  char *want = NULL, got[65];
  if (mpsl_results_attr(path, "availability_sha256", &want))
    return mpsl_fail("%s: availability = %s but no availability_sha256: refusing to resume a run whose trace cannot "
                     "be checked",
                     path, availability);
  int rc = mpsl_sha256_file(availability, got) ? mpsl_fail_context("availability = %s", availability) : 0;
  if (!rc && strcmp(want, got))
    rc = mpsl_fail("%s: availability = %s has changed since the run began (now sha256 %.16s..., the results file holds %.16s...): "
                   "expected the trace its rounds so far were played with",
                   path, availability, got, want);
  free(want);
  return rc;
}

int cli_resume_config(const char *path, const char *mode, const mpsl_optset *o, void *cfg, char *output, size_t cap) {
  char *ini = NULL, *status = NULL, *m = NULL, who[1400];
  int rc = mpsl_results_attr(path, "config", &ini) || mpsl_results_attr(path, "status", &status) ? -1 : 0;
  if (!rc && (mpsl_results_attr(path, "mode", &m) || strcmp(m, mode)))
    rc = mpsl_fail("%s: a results file of mpsl %s, not of mpsl %s: nothing to resume", path, m ? m : "?", mode);
  /* a finished file has nothing to resume, whatever its age */
  if (!rc && strcmp(status, "finished")) rc = check_config_digest(path, ini);
  if (!rc) {
    mpsl_opts_defaults(o, cfg);
    char origin[MPSL_PATH_MAX + 16];
    snprintf(origin, sizeof origin, "%s: config", path);
    rc = mpsl_opts_parse_text(o, cfg, ini, origin);
  }
  if (!rc) {
    snprintf(output, cap, "%s", path); /* wherever the file is now */
    if (!strcmp(status, "finished"))
      rc = 1;
    else if (!strcmp(status, "running") && sl_status_writer(path, who, sizeof who) == 1)
      rc = mpsl_fail("%s: its run still runs, %s: two runs would write one file", path, who);
  }
  free(m);
  free(ini);
  free(status);
  return rc;
}

int cli_error(const char *cmd) {
  fprintf(stderr, "mpsl %s: error: %s\n", cmd, mpsl_errmsg());
  return 1;
}

int mpsl_main(int argc, char **argv) {
  /* mpsl help --man: the man page, which the build writes into mpsl.1 (not listed by usage) */
  if (argc == 3 && !strcmp(argv[1], "help") && !strcmp(argv[2], "--man")) {
    cli_man(stdout);
    return fflush(stdout) == 0 ? 0 : 1;
  }
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("mpsl %s (oneDNN %s)\n", PACKAGE_VERSION, nn_dnnl_version());
    return 0;
  }
  /* the ranks of an MPI run take turns on the cores: a rank that waits must not spin */
  if (!strcmp(argv[1], "run")) mpsl_omp_limit_spin(argv, "10000");
  static char program[64];
  mpsl_set_command_line(argc, argv); /* for the results files (util/provenance.h) */
  for (int i = 0; i < cli_ncommands; i++)
    if (!strcmp(argv[1], cli_commands[i].name)) {
      snprintf(program, sizeof program, "mpsl %s", cli_commands[i].name);
      mpsl_set_program(program); /* the library's messages say which command they come from */
      return cli_commands[i].run(argc - 2, argv + 2);
    }
  char shown[120];
  fprintf(stderr, "mpsl: error: unknown command '%s' (mpsl --help lists the commands)\n",
          mpsl_shown(argv[1], shown, sizeof shown));
  return 2;
}
