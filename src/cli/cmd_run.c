/* mpsl run: MP-SL over MPI. `mpsl run --ranks` prints the ranks a configuration needs
 * and `mpsl run --memory` its memory plan (no MPI needed); `mpsl run --reference` trains
 * the same rounds in one process without a split (the model a split run must reproduce). */
#include <mpi.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "config/runconfig.h"
#include "data/data.h"
#include "io/results.h"
#include "io/weights.h"
#include "nn/stack.h"
#include "plan/resolve.h"
#include "sl/header.h"
#include "sl/memplan.h"
#include "sl/reference.h"
#include "sl/sl.h"
#include "sl/status.h"
#include "config/opts.h"
#include "util/cpu.h"
#include "util/err.h"

const cli_flag cmd_run_flags[] = {
    {"--ranks", "print the number of ranks (mpirun -np) the configuration needs, and exit"},
    {"--reference", "train the same rounds unsplit in one process (no MPI job) and save the model"},
    {"--memory", "print what every rank will hold and whether it fits its device (no MPI job), and exit"},
    {"--resume FILE",
     "go on with the run of results file FILE after the last round of its checkpoint FILE.ckpt, with the "
     "configuration stored in FILE (with --ranks: the ranks it needs)"},
    {NULL, NULL},
};
const mpsl_optset *cmd_run_opts(void) { return &sl_config_opts; }

/* CONFIG.ini (wherever it stands) is read first; flags and --set override it. --ranks,
 * --memory and --reference are actions, not configuration, and are taken out of the arguments. */
static int parse(sl_config *c, int argc, char **argv, int *ranks, int *reference, int *memory, const char **resume) {
  char **rest = mpsl_xmalloc((size_t)(argc + 1) * sizeof *rest, "arguments");
  int n = 0;
  *ranks = *reference = *memory = 0;
  *resume = NULL;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--resume") && i + 1 < argc)
      *resume = argv[++i];
    else if (!strcmp(argv[i], "--ranks"))
      *ranks = 1;
    else if (!strcmp(argv[i], "--reference"))
      *reference = 1;
    else if (!strcmp(argv[i], "--memory"))
      *memory = 1;
    else
      rest[n++] = argv[i];
  }
  int rc = 0;
  if (!*resume)
    rc = cli_parse_with_file(&sl_config_opts, c, n, rest, cmd_run_flags);
  else if (n > 0 || *reference || *memory)
    rc = mpsl_fail("command line: --resume %s takes the configuration from the file: expected nothing but --ranks "
                   "beside it, got '%s'",
                   *resume, n > 0 ? rest[0] : *reference ? "--reference" : "--memory");
  free(rest);
  return rc;
}

/* The configuration of results file `path` and where its run goes on: the rounds of its
 * checkpoint (none: from the start). 1 when the run has finished: nothing to resume. */
static int resume_from(const char *path, sl_config *c, sl_resume *r) {
  int rc = cli_resume_config(path, "run", &sl_config_opts, c, c->output, sizeof c->output);
  if (!rc) rc = cli_resume_availability(path, c->availability);
  if (rc) return rc;
  memset(r, 0, sizeof *r);
  sl_checkpoint_path(path, r->path, (int)sizeof r->path);
  mpsl_res_round *rows = NULL;
  int64_t done = 0;
  if (access(r->path, F_OK) == 0 && !(rc = sl_checkpoint_read(r)) &&
      !(rc = mpsl_results_read(path, MPSL_RES_ROUNDS, (void **)&rows, &done)) &&
      (r->rounds_done > c->rounds || r->rounds_done > done))
    rc = mpsl_fail("%s: the checkpoint %s is of round %d but the file holds %lld of %d rounds: not this run's", path,
                   r->path, r->rounds_done, (long long)done, c->rounds);
  free(rows);
  return rc;
}

/* The checks of the run itself (sl_run_validate), after the planning it does first: a
 * count printed is a run that starts. */
static int print_ranks(sl_config *c, const sl_resume *resume) {
  mpsl_model m = {0};
  sl_topo t;
  int rc = mpsl_plan_config(c) || sl_run_validate(c, &m, &t, resume);
  mpsl_model_free(&m);
  if (rc) return cli_error("run");
  printf("%d\n", t.nranks);
  return 0;
}

/* The plan builds one instance of each distinct part, never the copies; the dataset
 * files are not read. oneDNN sizes scratchpads by the threads a primitive may use, so
 * the plan takes the threads a rank of the run would get when all ranks share this host. */
static int print_memory(sl_config *c) {
  mpsl_model m;
  sl_topo t;
  sl_memplan p;
  if (sl_config_model(c, &m)) return cli_error("run");
  int rc = sl_config_resolve(c, &m, &t);
#ifdef _OPENMP
  if (!rc) omp_set_num_threads(sl_threads(c->threads, mpsl_core_count(), t.nranks));
#endif
  rc = rc || sl_memplan_build(&p, c, &m, &t, NULL, -1);
  if (!rc) {
    sl_memplan_print(&p, c, &m, &t, stdout);
    sl_memplan_free(&p);
  }
  mpsl_model_free(&m);
  if (rc) mpsl_opts_fail_where(&sl_config_opts, c); /* a key set in a file: its line */
  return rc ? cli_error("run") : 0;
}

static int reference(sl_config *c) {
  mpsl_model m = {0};
  mpsl_dataset train = {0}, test = {0};
  mpsl_partition part = {0};
  nn_stack g = {0};
  sl_topo t;
  sl_absence absent = {0}; /* checked before the results file is made; the run reads it again */
  int rc = -1;
  if (c->fail_round > 0) {
    mpsl_fail("fail_round = %d: the unsplit reference has no compute node to fail; give the data owners that "
              "stopped as an availability trace (docs/run.md, \"Faults on purpose\")",
              c->fail_round);
    goto out;
  }
  if (sl_config_model(c, &m) || sl_config_resolve(c, &m, &t) || sl_absence_load(&absent, c) ||
      mpsl_dataset_load(&train, c->dataset, c->data_dir[0] ? c->data_dir : NULL, 1) ||
      mpsl_dataset_load(&test, c->dataset, c->data_dir[0] ? c->data_dir : NULL, 0) ||
      mpsl_partition_make(&part, &train, c->clients, c->partition, c->alpha, (uint64_t)c->seed))
    goto out;
#ifdef _OPENMP
  /* oneDNN's reductions depend on the thread count: the same `threads` as the split run
   * gives the same model */
  if (c->threads > 0) omp_set_num_threads(c->threads);
#endif
  const char *out = c->output[0] ? c->output : NULL;
  if (out) {
    mpsl_res_attr attrs[] = {MPSL_ATTR_I("hops", 0)}; /* unsplit: every data owner trains the whole model */
    int bad = sl_results_header(out, "reference", &sl_config_opts, c, &m, 1, NULL, attrs, 1);
    if (bad) goto out;
  }
  if (sl_reference_run(c, &m, &train, &part, &test, &g, stdout, out)) goto out;
  if (out) {
    if (mpsl_results_set_status(out, "finished")) goto out;
    printf("# results in %s\n", out);
  }
  if (c->save_model[0]) {
    mpsl_named_tensor *tt;
    int n = nn_stack_tensors(&g, &tt);
    if (mpsl_weights_save(c->save_model, tt, n)) goto out;
    printf("# saved the reference model to %s\n", c->save_model);
  }
  rc = 0;
out:
  sl_absence_free(&absent);
  nn_stack_free(&g);
  mpsl_partition_free(&part);
  mpsl_dataset_free(&train);
  mpsl_dataset_free(&test);
  mpsl_model_free(&m);
  return rc ? cli_error("run") : 0;
}

/* Under a launcher every rank parses the same arguments: only the first one reports. */
static int launched_rank(void) {
  static const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"};
  for (unsigned i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i])) return atoi(getenv(vars[i]));
  return 0;
}

/* cuts = plan, distribution = plan: rank 0 plans (it alone may measure a missing profile)
 * and sends every rank the planned values. */
static int plan_on_rank0(MPI_Comm world, sl_config *c) {
  if (!c->cuts.plan && !c->distribution.plan) return 0;
  int rank, bad = 0;
  MPI_CHECK(MPI_Comm_rank(world, &rank));
  if (rank == 0) bad = mpsl_plan_config(c) ? 1 : 0;
  MPI_CHECK(MPI_Bcast(&bad, 1, MPI_INT, 0, world));
  if (bad) return rank == 0 ? cli_error("run") : 1;
  MPI_CHECK(MPI_Bcast(&c->cuts, (int)sizeof c->cuts, MPI_BYTE, 0, world));
  MPI_CHECK(MPI_Bcast(&c->distribution, (int)sizeof c->distribution, MPI_BYTE, 0, world));
  return 0;
}

/* --resume: rank 0 alone reads the file (the others would race its truncation and the new
 * writer's attributes) and sends every rank the configuration and the checkpoint. 0: go
 * on; 1: an error, reported; -1: the run has finished. */
static int resume_on_rank0(MPI_Comm world, const char *from, sl_config *c, sl_resume *r) {
  int rank, rc = 0;
  MPI_CHECK(MPI_Comm_rank(world, &rank));
  if (rank == 0) rc = resume_from(from, c, r);
  MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, world));
  if (rc < 0) return rank == 0 ? cli_error("run") : 1;
  if (rc == 1) {
    if (rank == 0) printf("# %s: finished, all %d rounds: nothing to resume\n", from, c->rounds);
    return -1;
  }
  MPI_CHECK(MPI_Bcast(c, (int)sizeof *c, MPI_BYTE, 0, world));
  MPI_CHECK(MPI_Bcast(r, (int)sizeof *r, MPI_BYTE, 0, world));
  if (rank == 0) printf("# resuming %s after round %d of %d\n", from, r->rounds_done, c->rounds);
  return 0;
}

int cmd_run(int argc, char **argv) {
  sl_config c;
  sl_resume resume;
  const char *from;
  int ranks, ref, memory;
  int rc = parse(&c, argc, argv, &ranks, &ref, &memory, &from);
  if (rc > 0) return 0;
  if (rc < 0) return launched_rank() == 0 ? cli_error("run") : 1;
  if (from && ranks) {
    if ((rc = resume_from(from, &c, &resume)) < 0) return cli_error("run");
    return print_ranks(&c, &resume);
  }
  if (ranks) return print_ranks(&c, NULL);
  if (memory) return mpsl_plan_config(&c) ? cli_error("run") : print_memory(&c);
  if (ref) return reference(&c);
  MPI_CHECK(MPI_Init(NULL, NULL));
  int status = 0;
  if (from && (status = resume_on_rank0(MPI_COMM_WORLD, from, &c, &resume)) != 0) {
    MPI_Finalize();
    return status < 0 ? 0 : status; /* -1: finished, nothing to resume */
  }
  status = plan_on_rank0(MPI_COMM_WORLD, &c);
  if (status == 0) status = sl_run(MPI_COMM_WORLD, &c, from ? &resume : NULL);
  MPI_Finalize();
  return status;
}
