/* Shared by the tests that configure and launch `mpsl run`: a configuration from
 * command-line words, as a user would type them, and the suite runner that keeps the
 * runs' logs only when something failed. */
#ifndef MPSL_TESTS_SL_UTIL_H
#define MPSL_TESTS_SL_UTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/opts.h"
#include "config/runconfig.h"
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

/* Runs the suite; the directory of the runs' logs and files (tmpdir) is removed when every
 * test passed and named when one failed. The exit status of the test program. */
static inline int sl_test_run(Suite *s, const char *tmpdir) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (!failed && tmpdir[0] && system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
  if (failed) printf("logs of the runs: %s\n", tmpdir);
  return failed ? 1 : 0;
}

#endif
