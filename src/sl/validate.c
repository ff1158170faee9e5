/* Everything `mpsl run` refuses before its first round that needs neither MPI nor a
 * measurement, in one place: `mpsl run --ranks` and rank 0 of sl_run both call it, so
 * that a configuration --ranks accepts is one the run starts (sl/sl.h). */
#include <stdio.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <string.h>
#include <sys/stat.h>

#include "data/data.h"
#include "emu/timing.h"
#include "io/weights.h"
#include "nn/stack.h"
#include "proto/scheduler.h"
#include "sl/compute.h"
#include "sl/memplan.h"
#include "sl/sl.h"
#include "util/cpu.h"
#include "util/err.h"

/* The timing scenario as sl_emu_setup builds it, with a profile that is missing taken as
 * one that would be measured (EMU_PROFILE_ASSUME): devices, mixes, catalogues, links and
 * the profiles that exist are read as the run reads them. */
static int check_scenario(const sl_config *c, const mpsl_model *m, const sl_topo *t, emu_scenario *s) {
  mpsl_profile prof = {0};
  int got = 0;
  if (emu_needs_profile(c) && mpsl_model_trainable(m))
    got = emu_profile_get(c, c->model, c->batch, m->size, m->channels, m->classes, c->width, EMU_PROFILE_ASSUME, &prof);
  if (got < 0) return -1;
  int rc = emu_scenario_build(s, c, m, t, got == 0 && prof.nlayers ? &prof : NULL, EMU_PROFILE_ASSUME);
  mpsl_profile_free(&prof);
  return rc;
}

/* The first rank over its cap, as sl_memplan_enforce reports it, after the key that chose
 * its device (so that a key set in a file is named by its line). oneDNN sizes scratchpads
 * by the threads a primitive may use: the plan takes those a rank of the run would get
 * when all ranks share this host, as `mpsl run --memory` does. */
static int check_memory(const sl_config *c, const mpsl_model *m, const sl_topo *t, const emu_scenario *s) {
  sl_memplan p;
#ifdef _OPENMP
  int before = omp_get_max_threads();
  omp_set_num_threads(sl_threads(c->threads, mpsl_core_count(), t->nranks));
#endif
  int built = sl_memplan_build(&p, c, m, t, s, -1);
#ifdef _OPENMP
  omp_set_num_threads(before);
#endif
  if (built) return -1;
  int rc = 0;
  for (int r = 0; r < p.n && !rc && c->memory_check; r++)
    if (p.row[r].over) {
      char why[1024];
      sl_memrank_explain(&p.row[r], m, why, sizeof why);
      int role = p.row[r].mem.role;
      const char *key = role == SL_COMPUTE ? "cn_devices" : role == SL_OWNER ? "do_devices" : "agg_device";
      const char *value = role == SL_COMPUTE ? c->cn_devices : role == SL_OWNER ? c->do_devices : c->agg_device;
      rc = mpsl_fail("%s = %s: %s (memory_check = false runs it anyway)", key, value, why);
    }
  sl_memplan_free(&p);
  return rc;
}

/* The data a training run reads: both sets, in their format, and the partition of the
 * training set over the data owners. */
static int check_data(const sl_config *c) {
  mpsl_dataset train = {0}, test = {0};
  mpsl_partition part = {0};
  const char *dir = c->data_dir[0] ? c->data_dir : NULL;
  int rc = 0;
  if (mpsl_dataset_load(&test, c->dataset, dir, 0) || mpsl_dataset_load(&train, c->dataset, dir, 1))
    rc = dir ? mpsl_fail_context("data_dir = %s", dir) : mpsl_fail_context("dataset = %s", c->dataset);
  else if (mpsl_partition_make(&part, &train, c->clients, c->partition, c->alpha, (uint64_t)c->seed))
    rc = mpsl_fail_context("partition = %s", c->partition);
  mpsl_partition_free(&part);
  mpsl_dataset_free(&train);
  mpsl_dataset_free(&test);
  return rc;
}

/* The global model of the checkpoint a resumed run goes on from, as the aggregator reads
 * it (sl_agg_restore): every tensor there, of its shape and type, and finite. */
static int check_checkpoint(const sl_config *c, const mpsl_model *m, const sl_resume *r) {
  nn_stack g = {0};
  if (nn_stack_init(&g, m, c->cuts.v, c->cuts.n, c->batch)) return -1;
  mpsl_named_tensor *tt;
  int n = nn_stack_tensors(&g, &tt);
  int rc = mpsl_weights_load(r->path, tt, n);
  nn_stack_free(&g);
  return rc;
}

/* A new run removes the checkpoint an earlier run left beside its output: a folder there
 * could not be. */
static int check_old_checkpoint(const sl_config *c) {
  char ckpt[MPSL_PATH_MAX + 8];
  struct stat st;
  sl_checkpoint_path(c->output, ckpt, (int)sizeof ckpt);
  if (c->output[0] && stat(ckpt, &st) == 0 && S_ISDIR(st.st_mode))
    return mpsl_fail("output = %s: %s is a folder, where the run writes its checkpoint (expected a file or nothing)",
                     c->output, ckpt);
  return 0;
}

static int validate(sl_config *c, mpsl_model *m, sl_topo *t, const sl_resume *resume) {
  if (sl_config_model(c, m) || sl_config_resolve(c, m, t) || sl_config_check_run(c, m)) return -1;
  if (!resume && check_old_checkpoint(c)) return -1;
  if (!sl_policy_find(c->policy)) return mpsl_fail("policy = %s: expected fifo or bwd-first", c->policy);
  const sl_compute *backend = sl_compute_find(c->compute);
  if (!backend) return mpsl_fail("compute = %s: expected real or profiled", c->compute);
  emu_scenario s;
  if (check_scenario(c, m, t, &s)) return -1;
  int rc = check_memory(c, m, t, &s);
  emu_scenario_free(&s);
  if (!rc && backend->trains) rc = check_data(c);
  if (!rc && backend->trains && resume && resume->rounds_done > 0) rc = check_checkpoint(c, m, resume);
  return rc;
}

int sl_run_validate(sl_config *c, mpsl_model *m, sl_topo *t, const sl_resume *resume) {
  memset(m, 0, sizeof *m);
  /* a failure about a key set in a file names its line */
  return validate(c, m, t, resume) ? mpsl_opts_fail_where(&sl_config_opts, c) : 0;
}
