/* mpsl simulate: the rounds of `mpsl run` on the same configuration, in virtual time (a
 * discrete-event simulation driven by the host profile; docs/simulate.md). One process,
 * no MPI job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "sim/sim.h"
#include "util/err.h"

const cli_flag cmd_simulate_flags[] = {
    {"--resume FILE",
     "go on with the simulation of results file FILE after the last round it holds, with the configuration "
     "stored in FILE"},
    {NULL, NULL},
};
const mpsl_optset *cmd_simulate_opts(void) { return sim_config_opts(); }

/* CONFIG.ini (wherever it stands) is read first; flags and --set override it. With
 * --resume FILE, the configuration is FILE's. 1: nothing more to do. */
static int parse(sl_config *c, int argc, char **argv, const char **resume) {
  const mpsl_optset *o = sim_config_opts();
  *resume = NULL;
  for (int i = 0; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--resume")) *resume = argv[i + 1];
  if (*resume && argc != 2)
    return mpsl_fail("command line: --resume %s takes the configuration from the file: expected nothing beside it",
                     *resume);
  if (*resume) {
    int rc = cli_resume_config(*resume, "simulate", o, c, c->output, sizeof c->output);
    if (rc == 0) rc = cli_resume_availability(*resume, c->availability);
    if (rc == 1) printf("# %s: finished, all %d rounds: nothing to resume\n", *resume, c->rounds);
    return rc;
  }
  int rc = cli_parse_with_file(o, c, argc, argv, cmd_simulate_flags);
  if (rc) return rc;
  /* a run's results stay where they are unless the output is named */
  if (!mpsl_opts_was_set(o, c, "output")) snprintf(c->output, sizeof c->output, "mpsl-simulate.h5");
  return 0;
}

int cmd_simulate(int argc, char **argv) {
  sl_config c;
  const char *resume;
  int rc = parse(&c, argc, argv, &resume);
  if (rc > 0) return 0;
  if (rc < 0 || sim_simulate(&c, resume != NULL, stdout)) return cli_error("simulate");
  return 0;
}
