#ifndef MPSL_CLI_INTERNAL_H
#define MPSL_CLI_INTERNAL_H

#include "cli/opts.h"

/* Each subcommand gets the arguments after its name. Returns the exit status. */
int cmd_layers(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Parses argv into cfg with the table; prints help or the one-line error.
 * Returns 0 to go on, or the exit status to return (0 after --help). */
int cli_parse(const mpsl_optset *s, void *cfg, int argc, char **argv, int *npos, char **pos, int maxpos);
/* Prints "mpsl CMD: error: <recorded message>" and returns 1. */
int cli_error(const char *cmd);

#endif
