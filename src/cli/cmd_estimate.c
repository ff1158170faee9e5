/* mpsl estimate: the closed-form round time of a configuration (plan/estimate.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "emu/timing.h"
#include "plan/estimate.h"
#include "plan/resolve.h"
#include "util/err.h"

const cli_flag cmd_estimate_flags[] = {
    {"--csv", "print one header line of term names and one row of values"},
    {NULL, NULL},
};

/* the keys of mpsl run, under this command's name */
const mpsl_optset *cmd_estimate_opts(void) {
  static mpsl_optset o;
  if (!o.name) {
    o = sl_config_opts;
    o.name = "estimate";
    o.summary = "The closed-form (EdgeSys'25) round time of the configuration of mpsl run.";
  }
  return &o;
}

int cmd_estimate(int argc, char **argv) {
  char **rest = mpsl_xmalloc((size_t)(argc + 1) * sizeof *rest, "arguments");
  int n = 0, csv = 0;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--csv"))
      csv = 1;
    else
      rest[n++] = argv[i];
  }
  emu_input in = {0};
  int rc = cli_parse_with_file(cmd_estimate_opts(), &in.c, n, rest, cmd_estimate_flags);
  free(rest);
  if (rc > 0) return 0;
  if (rc < 0) return cli_error("estimate");
  mpsl_estimate_terms e = {0};
  rc = mpsl_plan_input_load(&in);
  if (rc == 0) rc = mpsl_estimate(&in.s, &e);
  if (rc == 0) {
    if (csv) {
      mpsl_estimate_csv(&e, stdout);
    } else {
      emu_scenario_print(&in.s, stdout, "# ");
      mpsl_estimate_print(&e, stdout);
    }
  }
  mpsl_estimate_free(&e);
  emu_input_free(&in);
  return rc ? cli_error("estimate") : 0;
}
