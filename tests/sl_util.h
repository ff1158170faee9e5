/* Shared by the tests that configure `mpsl run`: a configuration from command-line words,
 * as a user would type them. */
#ifndef MPSL_TESTS_SL_UTIL_H
#define MPSL_TESTS_SL_UTIL_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cli/opts.h"
#include "sl/runconfig.h"
#include "util/err.h"

/* The defaults, then the space-separated arguments of `a` and then of `b` (either may be
 * ""), parsed like `mpsl run`'s command line; a parse error fails the test. */
static inline void sl_test_config(sl_config *c, const char *a, const char *b) {
  mpsl_opts_defaults(&sl_config_opts, c);
  char buf[4096];
  snprintf(buf, sizeof buf, "%s %s", a, b);
  char *argv[128];
  int argc = 0;
  for (char *t = strtok(buf, " "); t && argc < 128; t = strtok(NULL, " ")) argv[argc++] = t;
  int npos = 0;
  ck_assert_msg(mpsl_opts_parse_argv(&sl_config_opts, c, argc, argv, &npos, NULL, 0) == 0, "%s", mpsl_errmsg());
}

#endif
