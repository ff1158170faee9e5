#include "sl/header.h"

#include <hdf5.h>
#include <stdlib.h>

#include "config.h"
#include "nn/nn.h"
#include "util/err.h"

void sl_banner(FILE *f, const char *cmd, const mpsl_optset *opts, const sl_config *c, const mpsl_model *m,
               const sl_topo *t) {
  fprintf(f, "# mpsl %s: resolved configuration\n", cmd);
  mpsl_opts_print(opts, c, f, "# ");
  fprintf(f,
          "# %s: %d ranks = 1 aggregator + %d pipeline(s) x %d hop(s) + %d data-owner rank(s) hosting %d data "
          "owner(s); parts:",
          m->name, t->nranks, t->R, t->H, t->owner_ranks, t->K);
  for (int p = 0; p < t->P; p++) fprintf(f, " %d..%d", t->first[p], t->last[p]);
  fprintf(f, "\n");
}

int sl_results_header(const char *path, const char *mode, const mpsl_optset *opts, const sl_config *c,
                      const mpsl_model *m, int ranks, const mpsl_res_attr *extra, int n) {
  char h5[32], seed[32], nranks[32];
  unsigned maj, min, rel;
  H5get_libversion(&maj, &min, &rel);
  snprintf(h5, sizeof h5, "%u.%u.%u", maj, min, rel);
  snprintf(seed, sizeof seed, "%lld", (long long)c->seed);
  snprintf(nranks, sizeof nranks, "%d", ranks);
  char *ini = mpsl_opts_to_ini(opts, c);
  mpsl_res_attr common[] = {
      {"program", "mpsl " PACKAGE_VERSION},
      {"mode", mode},
      {"config", ini},
      {"onednn_version", nn_dnnl_version()},
      {"hdf5_version", h5},
      {"seed", seed},
      {"ranks", nranks},
      {"model", m->name},
  };
  int nc = (int)(sizeof common / sizeof common[0]);
  mpsl_res_attr *all = mpsl_xmalloc((size_t)(nc + n) * sizeof *all, "attributes");
  for (int i = 0; i < nc; i++) all[i] = common[i];
  for (int i = 0; i < n; i++) all[nc + i] = extra[i];
  int rc = mpsl_results_create(path, all, nc + n);
  free(all);
  free(ini);
  return rc;
}
