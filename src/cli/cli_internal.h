#ifndef MPSL_CLI_INTERNAL_H
#define MPSL_CLI_INTERNAL_H

#include "config/opts.h"

#define MPSL_MODEL_HELP                                                                              \
  "vgg11, vgg13, vgg16, vgg19 (each also _bn), resnet18, resnet34, resnet50, resnet101, resnet152; " \
  "append -cifar for the 32x32 flavour (mpsl layers MODEL prints its table)"

/* A flag of a command outside its option table (an action such as --ranks): what --help
 * prints after the table and the man page lists with it. Lists end with {NULL, NULL}. */
typedef struct {
  const char *flag; /* "--max-hops N" */
  const char *help;
} cli_flag;

/* Each subcommand gets the arguments after its name. Returns the exit status. */
int cmd_layers(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_estimate(int argc, char **argv);
int cmd_plan(int argc, char **argv);

/* Each subcommand's option table, and its flags outside it where it has any: the one
 * description that parses, prints --help and writes the man page (cli/man.c). */
const mpsl_optset *cmd_layers_opts(void);
const mpsl_optset *cmd_train_opts(void);
const mpsl_optset *cmd_bench_opts(void);
const mpsl_optset *cmd_profile_opts(void);
const mpsl_optset *cmd_run_opts(void);
const mpsl_optset *cmd_report_opts(void);
const mpsl_optset *cmd_simulate_opts(void);
const mpsl_optset *cmd_estimate_opts(void);
const mpsl_optset *cmd_plan_opts(void);
extern const cli_flag cmd_run_flags[], cmd_simulate_flags[], cmd_estimate_flags[], cmd_plan_flags[];

/* The commands of mpsl, in the order mpsl --help lists them. */
typedef struct {
  const char *name;
  int (*run)(int, char **);
  const char *summary;
  const mpsl_optset *(*opts)(void);
  const cli_flag *flags; /* or NULL */
} cli_command;
extern const cli_command cli_commands[];
extern const int cli_ncommands;

/* The man page mpsl(1) in roff, from the tables above: every command and every key. */
void cli_man(FILE *f);

/* Parses argv into cfg with the table; prints help or the one-line error.
 * Returns 0 to go on, or the exit status to return (0 after --help). */
int cli_parse(const mpsl_optset *s, void *cfg, int argc, char **argv, int *npos, char **pos, int maxpos);
/* A CONFIG.ini argument: a relative path that does not exist here is looked for in mpsl's
 * data directory too (util/datadir.h), so `mpsl run experiments/demo.ini` runs the shipped
 * demo from anywhere, as csv:datasets/... does for tables. path itself, or buf. */
const char *cli_config_path(const char *path, char *buf, size_t cap);
/* The command line of a command that reads a configuration file (run, simulate, estimate,
 * plan): CONFIG.ini (cli_config_path), wherever it stands among the arguments, is read
 * first, then flags and --set override it; bad flags are reported before the file is read. 1 after printing
 * --help (the table, then the extra flags, which may be NULL), 0, or -1 with mpsl_fail (required keys checked). */
int cli_parse_with_file(const mpsl_optset *s, void *cfg, int argc, char **argv, const cli_flag *extra);
/* --resume PATH of `mpsl MODE` (run, simulate): the configuration stored in the results file
 * (its output PATH, wherever the file is now), once the file is of MODE and its writer is
 * not still at it. 1 when its run has finished (nothing to resume), 0, or -1 with mpsl_fail. */
int cli_resume_config(const char *path, const char *mode, const mpsl_optset *o, void *cfg, char *output, size_t cap);
/* The availability file of a resumed run (the key's value; "" for none) against the
 * digest its results file holds, availability_sha256: a trace that changed would replay
 * other rounds than the ones it holds. -1 with mpsl_fail. */
int cli_resume_availability(const char *path, const char *availability);
/* Prints "mpsl CMD: error: <recorded message>" and returns 1. */
int cli_error(const char *cmd);

#endif
