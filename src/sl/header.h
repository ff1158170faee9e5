/* What `mpsl run`, `mpsl run --reference` and `mpsl simulate` say before they start: the
 * banner on stdout and the root attributes of the results file (docs/results.md). */
#ifndef MPSL_SL_HEADER_H
#define MPSL_SL_HEADER_H

#include <stdio.h>

#include "config/runconfig.h"
#include "io/results.h"

/* "# mpsl CMD: resolved configuration", every key, then the ranks and parts of t. */
void sl_banner(FILE *f, const char *cmd, const mpsl_optset *opts, const sl_config *c, const mpsl_model *m,
               const sl_topo *t);

/* Creates the results file `path` with the attributes every mode writes (docs/results.md:
 * program, version and build, command line, host, mode, the configuration as text and as
 * the typed attributes of group `config`, library versions, seed, ranks, model; profile and
 * profile_sha256 when `profile` names the profile or layer table the times came from) and
 * then `extra` (n of them). -1 with mpsl_fail. */
int sl_results_header(const char *path, const char *mode, const mpsl_optset *opts, const sl_config *c,
                      const mpsl_model *m, int ranks, const char *profile, const mpsl_res_attr *extra, int n);

#endif
