#include "cli/cli.h"

#include <stdio.h>

int mpsl_main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "mpsl: no subcommands yet\n");
  return 2;
}
