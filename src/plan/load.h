/* What `mpsl estimate` and `mpsl plan` start from: the configuration of `mpsl run`, read
 * the same way (CONFIG.ini, then flags and --set), and the timing scenario built from it
 * with the host profile of its model (measured and cached when missing). */
#ifndef MPSL_PLAN_LOAD_H
#define MPSL_PLAN_LOAD_H

#include "emu/profile.h"
#include "emu/timing.h"
#include "models/model.h"
#include "sl/runconfig.h"

typedef struct {
  sl_config c;
  mpsl_model m;
  sl_topo t;
  mpsl_profile profile;
  emu_scenario s;
} plan_input;

/* argv holds the command's arguments without its own flags. 1 after printing --help
 * (usage under cmd's name and summary, extra_help after the keys), 0, or -1 with mpsl_fail. */
int plan_config_parse(sl_config *c, const char *cmd, const char *summary, int argc, char **argv,
                      const char *extra_help);
/* Model, topology, profile and scenario of a parsed configuration. -1 with mpsl_fail;
 * in is then safe to free. */
int plan_input_load(plan_input *in);
void plan_input_free(plan_input *in);

#endif
