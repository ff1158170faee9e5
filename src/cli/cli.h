#ifndef MPSL_CLI_CLI_H
#define MPSL_CLI_CLI_H
/* The whole program: dispatches argv[1] to a subcommand. */
int mpsl_main(int argc, char **argv);
#endif
