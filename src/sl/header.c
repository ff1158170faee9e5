#include "sl/header.h"

#include <hdf5.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "nn/nn.h"
#include "util/err.h"
#include "util/provenance.h"

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

/* One attribute of group `config` per key, typed as the option table types it; a slot
 * holds its name and list until the file is written. */
typedef struct {
  char name[80];
  int64_t v[MPSL_INTLIST_MAX];
  char text[16 + 12 * MPSL_INTLIST_MAX];
} config_slot;

static void config_attr(const mpsl_opt *o, const void *cfg, config_slot *slot, mpsl_res_attr *a) {
  const char *p = (const char *)cfg + o->offset;
  snprintf(slot->name, sizeof slot->name, "config/%s", o->key);
  switch (o->type) {
    case MPSL_OPT_INT: *a = (mpsl_res_attr)MPSL_ATTR_I(slot->name, *(const int *)(const void *)p); break;
    case MPSL_OPT_INT64: *a = (mpsl_res_attr)MPSL_ATTR_I(slot->name, *(const int64_t *)(const void *)p); break;
    case MPSL_OPT_DOUBLE: *a = (mpsl_res_attr)MPSL_ATTR_R(slot->name, *(const double *)(const void *)p); break;
    case MPSL_OPT_BOOL: *a = (mpsl_res_attr)MPSL_ATTR_B(slot->name, *(const bool *)(const void *)p); break;
    case MPSL_OPT_INTLIST: {
      const mpsl_intlist *l = (const void *)p;
      if (l->plan) { /* chosen later: the word, as the key takes it */
        int k = snprintf(slot->text, sizeof slot->text, l->n ? "plan:" : "plan");
        for (int i = 0; i < l->n; i++)
          k += snprintf(slot->text + k, sizeof slot->text - (size_t)k, "%s%d", i ? "," : "", l->v[i]);
        *a = (mpsl_res_attr)MPSL_ATTR_S(slot->name, slot->text);
      } else {
        for (int i = 0; i < l->n; i++) slot->v[i] = l->v[i];
        *a = (mpsl_res_attr)MPSL_ATTR_L(slot->name, slot->v, l->n);
      }
      break;
    }
    default: /* STRING, ENUM */ *a = (mpsl_res_attr)MPSL_ATTR_S(slot->name, p);
  }
}

int sl_results_header(const char *path, const char *mode, const mpsl_optset *opts, const sl_config *c,
                      const mpsl_model *m, int ranks, const char *profile, const mpsl_res_attr *extra, int n) {
  char h5[32], host[256], mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "", digest[65] = "";
  unsigned maj, min, rel;
  int len = 0;
  H5get_libversion(&maj, &min, &rel);
  snprintf(h5, sizeof h5, "%u.%u.%u", maj, min, rel);
  mpsl_host_name(host, sizeof host);
  MPI_Get_library_version(mpi, &len); /* allowed before MPI_Init: mpsl simulate has none */
  mpi[strcspn(mpi, "\n")] = '\0';     /* Open MPI's ends in a newline */
  int has_profile = profile && profile[0];
  if (has_profile && mpsl_sha256_file(profile, digest)) /* just read by the caller: unlikely */
    fprintf(stderr, "%s: warning: %s; the results file names the profile without its digest\n", mpsl_program(),
            mpsl_errmsg());
  char *ini = mpsl_opts_to_ini(opts, c), trace_digest[65] = "";
  int has_trace = c->availability[0] != '\0';
  if (has_trace && mpsl_sha256_file(c->availability, trace_digest)) { /* the caller read it: unlikely */
    free(ini);
    return mpsl_fail_context("availability = %s", c->availability);
  }
  mpsl_res_attr trace[] = {
      MPSL_ATTR_S("availability", c->availability),
      MPSL_ATTR_S("availability_sha256", trace_digest),
  };
  mpsl_res_attr common[] = {
      MPSL_ATTR_S("program", "mpsl " PACKAGE_VERSION),
      MPSL_ATTR_S("version", PACKAGE_VERSION),
      MPSL_ATTR_S("source_commit", mpsl_source_commit()),
      MPSL_ATTR_S("build_compiler", mpsl_build_compiler()),
      MPSL_ATTR_S("build_cflags", mpsl_build_cflags()),
      MPSL_ATTR_S("command", mpsl_command_line()),
      MPSL_ATTR_S("host", host),
      MPSL_ATTR_S("mode", mode),
      MPSL_ATTR_S("config", ini),
      MPSL_ATTR_S("onednn_version", nn_dnnl_version()),
      MPSL_ATTR_S("hdf5_version", h5),
      MPSL_ATTR_S("mpi_version", mpi),
      MPSL_ATTR_I("seed", c->seed),
      MPSL_ATTR_I("ranks", ranks),
      MPSL_ATTR_S("model", m->name),
      MPSL_ATTR_S("profile", profile ? profile : ""),
      MPSL_ATTR_S("profile_sha256", digest),
  };
  int nc = (int)(sizeof common / sizeof common[0]);
  if (!has_profile)
    nc -= 2;
  else if (!digest[0])
    nc -= 1;
  int skip_commit = !mpsl_source_commit()[0]; /* built from a tarball: the version alone */
  mpsl_res_attr *all = mpsl_xmalloc((size_t)(nc + 2 + opts->n + n) * sizeof *all, "attributes");
  config_slot *slots = mpsl_xcalloc((size_t)opts->n, sizeof *slots, "configuration attributes");
  int k = 0;
  for (int i = 0; i < nc; i++)
    if (!(skip_commit && !strcmp(common[i].key, "source_commit"))) all[k++] = common[i];
  for (int i = 0; has_trace && i < 2; i++) all[k++] = trace[i];
  for (int i = 0; i < opts->n; i++) config_attr(&opts->opts[i], c, &slots[i], &all[k++]);
  for (int i = 0; i < n; i++) all[k++] = extra[i];
  int rc = mpsl_results_create(path, all, k, c->hops + 2);
  free(slots);
  free(all);
  free(ini);
  return rc;
}
