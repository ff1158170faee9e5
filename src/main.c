#include "cli/cli.h"

int main(int argc, char **argv) { return mpsl_main(argc, argv); }
