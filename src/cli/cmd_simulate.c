/* mpsl simulate: the rounds of `mpsl run` on the same configuration, in virtual time (a
 * discrete-event simulation driven by the host profile; docs/simulate.md). One process,
 * no MPI job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "sim/sim.h"
#include "util/err.h"

const mpsl_optset *cmd_simulate_opts(void) { return sim_config_opts(); }

/* CONFIG.ini (wherever it stands) is read first; flags and --set override it. */
static int parse(sl_config *c, int argc, char **argv) {
  const mpsl_optset *o = sim_config_opts();
  int rc = cli_parse_with_file(o, c, argc, argv, NULL);
  if (rc) return rc;
  /* a run's results stay where they are unless the output is named */
  if (!mpsl_opts_was_set(o, c, "output")) snprintf(c->output, sizeof c->output, "mpsl-simulate.h5");
  return 0;
}

int cmd_simulate(int argc, char **argv) {
  sl_config c;
  int rc = parse(&c, argc, argv);
  if (rc > 0) return 0;
  if (rc < 0 || sim_simulate(&c, stdout)) return cli_error("simulate");
  return 0;
}
