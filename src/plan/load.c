#include "plan/load.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"

int plan_config_parse(sl_config *c, const char *cmd, const char *summary, int argc, char **argv,
                      const char *extra_help) {
  /* a first pass finds the file (and reports bad flags before the file is read) */
  int npos = 0;
  char *pos[2];
  mpsl_opts_defaults(&sl_config_opts, c);
  int rc = mpsl_opts_parse_argv(&sl_config_opts, c, argc, argv, &npos, pos, 2);
  if (rc == 0 && npos > 1) rc = mpsl_fail("expected at most one CONFIG.ini, got '%s' and '%s'", pos[0], pos[1]);
  if (rc == 0) {
    mpsl_opts_defaults(&sl_config_opts, c);
    if (npos == 1) rc = mpsl_opts_parse_file(&sl_config_opts, c, pos[0]);
    if (rc == 0) rc = mpsl_opts_parse_argv(&sl_config_opts, c, argc, argv, &npos, pos, 2);
  }
  if (rc == 1) {
    mpsl_optset o = sl_config_opts; /* the same keys as mpsl run, under this command's name */
    o.name = cmd;
    o.summary = summary;
    mpsl_opts_help(&o, stdout);
    if (extra_help) fputs(extra_help, stdout);
    return 1;
  }
  if (rc < 0 || mpsl_opts_check_required(&sl_config_opts, c)) return -1;
  return 0;
}

int plan_input_load(plan_input *in) {
  sl_config *c = &in->c;
  int classes, channels, size;
  memset(&in->m, 0, sizeof in->m);
  memset(&in->profile, 0, sizeof in->profile);
  memset(&in->s, 0, sizeof in->s);
  if (sl_config_model(c, &in->m)) return -1;
  if (sl_config_resolve(c, &in->m, &in->t) || sl_dataset_shape(c->dataset, &classes, &channels, &size) ||
      emu_profile_get(c, c->model, c->batch, size, channels, classes, c->width, true, &in->profile))
    return -1;
  if (in->profile.nlayers != in->m.nlayers)
    return mpsl_fail("the profile of %s has %d layers, the model %d", c->model, in->profile.nlayers, in->m.nlayers);
  return emu_scenario_build(&in->s, c, &in->m, &in->t, &in->profile, true);
}

void plan_input_free(plan_input *in) {
  emu_scenario_free(&in->s);
  mpsl_profile_free(&in->profile);
  mpsl_model_free(&in->m);
}
