/* One run: the roles from the topology, their setup, the rounds, the end (sl/sl.h); what the
 * results file holds is gathered by sl/gather.c. */
#define _GNU_SOURCE /* cpu_set_t, CPU_AND */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "sl/emu_pace.h"
#include "sl/gather.h"
#include "sl/header.h"
#include "sl/internal.h"
#include "sl/memplan.h"
#include "proto/scheduler.h"
#include "sl/sl.h"
#include "sl/status.h"
#include "util/cpu.h"
#include "util/err.h"

/* Threads of this rank (sl_threads): the CPUs it may run on, shared with the ranks of its
 * host whose CPUs overlap them (all of them unless a launcher bound the ranks apart). */
static int pick_threads(MPI_Comm world, int asked) {
  MPI_Comm local;
  int here = 1;
  MPI_CHECK(MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local));
  MPI_CHECK(MPI_Comm_size(local, &here));
  cpu_set_t mine, both;
  int cores = mpsl_usable_cores(&mine), sharing = 0;
  cpu_set_t *all = mpsl_xmalloc((size_t)here * sizeof *all, "affinity masks");
  MPI_CHECK(MPI_Allgather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, local));
  for (int r = 0; r < here; r++) {
    CPU_AND(&both, &mine, &all[r]);
    sharing += CPU_COUNT(&both) > 0;
  }
  free(all);
  MPI_Comm_free(&local);
  return sl_threads(asked, cores, sharing);
}

/* A setup step every rank went through: the lowest failing rank prints its reason, and
 * all ranks learn whether to go on. */
static int agree(const sl_ctx *x, int rc, MPI_Comm world) {
  int mine = rc ? x->rank : INT_MAX, first;
  MPI_CHECK(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, world));
  if (first == INT_MAX) return 0;
  if (first == x->rank)
    fprintf(stderr, "%s: error: rank %d (%s): %s\n", mpsl_program(), x->rank, sl_role_name(x->role), mpsl_errmsg());
  return -1;
}

static int config_error(int rank, const char *msg) {
  if (rank == 0) fprintf(stderr, "%s: error: %s\n", mpsl_program(), msg);
  return 1;
}

int sl_run(MPI_Comm world, sl_config *c, const sl_resume *resume) {
  int rank, size;
  MPI_CHECK(MPI_Comm_rank(world, &rank));
  MPI_CHECK(MPI_Comm_size(world, &size));
  mpsl_model m = {0};
  sl_topo t;
  /* rank 0 checks what --ranks checks (reading the data files once more than its role
   * does); the others only resolve, which cannot fail where rank 0's check passed */
  int bad = rank == 0 ? sl_run_validate(c, &m, &t, resume) : sl_config_model(c, &m) || sl_config_resolve(c, &m, &t);
  int mine = bad ? rank : INT_MAX, failed;
  MPI_CHECK(MPI_Allreduce(&mine, &failed, 1, MPI_INT, MPI_MIN, world));
  if (failed != INT_MAX) {
    if (failed == rank) fprintf(stderr, "%s: error: %s\n", mpsl_program(), mpsl_errmsg());
    mpsl_model_free(&m);
    return 1;
  }
  if (size != t.nranks) {
    char msg[256];
    snprintf(msg, sizeof msg,
             "this configuration needs %d ranks (1 aggregator + %d x %d compute nodes + %d data-owner ranks) but "
             "the job has %d: mpirun -np %d",
             t.nranks, t.R, t.H, t.owner_ranks, size, t.nranks);
    mpsl_model_free(&m);
    return config_error(rank, msg);
  }
  int threads = pick_threads(world, c->threads);
#ifdef _OPENMP
  omp_set_num_threads(threads);
#else
  threads = 1;
#endif
  sl_ctx x = {0};
  emu_scenario sc = {0}; /* x.emu once built */
  x.scale = 1;
  x.c = c;
  x.t = &t;
  x.m = &m;
  x.rank = rank;
  x.role = sl_rank_role(&t, rank, &x.pipeline, &x.hop);
  x.counts = mpsl_xcalloc((size_t)t.K, sizeof *x.counts, "sample counts");
  x.absent = mpsl_xcalloc((size_t)t.K, 1, "absent owners");
  sl_run_state s = {&x, NULL, NULL, NULL, world, MPI_COMM_NULL, 0, 0, .mem = {.copies = 0}, .resume = resume};
  if (x.role == SL_OWNER) sl_rank_owners(&t, rank, &s.owner_first, &s.owners);
  if (rank == 0) {
    sl_banner(stdout, "run", &sl_config_opts, c, &m, &t);
    fflush(stdout);
  }
  int status = 1;
  /* refused before anything is allocated: a plan over a cap must not start allocating it */
  if (sl_memplan_enforce(world, c, &m, &t, rank, &s.mem)) goto out;
  if (agree(&x, sl_emu_setup(&x, world, &sc), world)) goto out;
  int rc = sl_net_init(&x.net, world, s.owner_first, s.owners, t.K);
  x.net.stamped = x.emulated;
  if (!rc) {
    if (x.role == SL_COMPUTE) rc = (s.cn = sl_cn_new(&x)) ? 0 : -1;
    if (x.role == SL_OWNER) rc = (s.dor = sl_do_new(&x, s.owner_first, s.owners)) ? 0 : -1;
    if (x.role == SL_AGGREGATOR) rc = (s.agg = sl_agg_new(&x)) ? 0 : -1;
  }
  if (agree(&x, rc, world)) goto out;
  MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, x.counts, t.K, MPI_INT64_T, MPI_SUM, world));
  MPI_CHECK(MPI_Comm_split(world, x.role == SL_COMPUTE ? x.hop : MPI_UNDEFINED, x.pipeline, &s.hop_comm));
  int64_t per_round = (int64_t)c->local_epochs * c->batches;
  x.cap_ev = (int)(x.role == SL_COMPUTE ? 2 * per_round * sl_pipeline_owners(&t, x.pipeline)
                   : x.role == SL_OWNER ? 4 * per_round * s.owners
                                        : 1);
  x.ev = mpsl_xmalloc((size_t)x.cap_ev * sizeof *x.ev, "events");
  const char *out = c->output;
  char ckpt[MPSL_PATH_MAX + 8];
  sl_checkpoint_path(out, ckpt, (int)sizeof ckpt);
  rc = sl_gather_header(&s, out, threads);
  /* a new results file has no checkpoint: one left by an earlier run is not its */
  if (!rc && rank == 0 && out[0] && !resume && unlink(ckpt) && errno != ENOENT)
    rc = mpsl_fail("%s: cannot remove an earlier run's checkpoint (%s)", ckpt, strerror(errno));
  if (!rc && rank == 0 && out[0]) rc = sl_status_begin(out); /* the status tells the truth from here on */
  if (agree(&x, rc, world)) goto out;
  /* a backend that trains nothing reads no data; a resumed run has its partition */
  if (x.compute->trains && !resume) sl_gather_partition(&s, out);
  int first = resume ? resume->rounds_done : 0;
  if (first > 0) { /* with no checkpoint the run starts over from the seeded parts */
    /* every rank's parts from the checkpoint; its messages are not a round's traffic */
    if (s.agg) sl_agg_restore(s.agg, resume->path);
    if (s.dor) sl_do_restore(s.dor);
    if (s.cn) sl_cn_restore(s.cn);
    sl_net_reset_counts(&x.net);
  }

  if (x.emulated) {
    x.t0 = sl_emu_sync(world);
  } else {
    MPI_CHECK(MPI_Barrier(world));
    x.t0 = MPI_Wtime();
  }
  /* a resumed run's clock goes on from the checkpoint's */
  double prev_end = resume ? resume->clock : 0;
  x.t0 -= prev_end * x.scale;
  int64_t overruns = 0;
  const char *abort_after = getenv("MPSL_ABORT_AFTER_ROUND"); /* fault injection for tests: docs/run.md */
  for (x.round = first; x.round < c->rounds; x.round++) {
    double begin = sl_clock(&x), loss[2] = {0, 0}, sum[2] = {0, 0}, test_loss = 0, test_acc = 0;
    int64_t nb = 0;
    /* who trains this round: every rank knows it from the seed alone */
    for (int k = 0; k < t.K; k++) x.absent[k] = (char)sl_owner_absent(&x.emu->absence, x.round, k);
    if (x.emulated) sl_emu_round_begin(&x, world, prev_end);
    if (s.cn) {
      sl_cn_round(s.cn);
      sl_cn_aggregate(s.cn, s.hop_comm);
    } else if (s.dor) {
      sl_do_round(s.dor, &loss[0], &nb);
      loss[1] = (double)nb;
    } else {
      sl_agg_aggregate(s.agg);
      sl_agg_evaluate(s.agg, &test_loss, &test_acc);
    }
    /* the others are done before rank 0 has averaged and evaluated: they wait without
     * spinning on its cores in the collectives that follow */
    sl_gate(&x.net, world);
    MPI_CHECK(MPI_Reduce(loss, sum, 2, MPI_DOUBLE, MPI_SUM, 0, world));
    double time_s = 0;
    int64_t over = 0;
    if (x.emulated) {
      prev_end = sl_emu_round_end(&x, world);
      time_s = prev_end - x.round_start;
      over = sl_emu_overruns(&x, world);
      overruns += over;
    }
    sl_gather_round(&s, out);
    if (rank == 0) {
      double wall = sl_clock(&x) - begin;
      mpsl_res_round r = {x.round + 1, wall, x.emulated ? time_s : wall, sum[0] / sum[1], test_loss, test_acc, over};
      if (out[0] && (mpsl_results_append(out, MPSL_RES_ROUNDS, &r, 1) || sl_status_heartbeat()))
        sl_abort(&x, "%s", mpsl_errmsg());
      printf("round %d wall_s=%.3f train_loss=%.6f test_loss=%.6f test_acc=%.4f", r.round, r.wall_s, r.train_loss,
             r.test_loss, r.test_acc);
      if (x.emulated) printf(" time_s=%.4f overruns=%lld", r.time_s, (long long)r.overruns);
      printf("\n");
      fflush(stdout);
    }
    /* after the round's rows: a checkpoint never runs ahead of the file it belongs to; every
     * rank waits for it, so that its writing is in no round's times */
    int done = x.round + 1, every = c->checkpoint_every;
    if (out[0] && every > 0 && (done % every == 0 || done == c->rounds)) {
      if (rank == 0 && sl_agg_checkpoint(s.agg, ckpt, done, x.emulated ? prev_end : sl_clock(&x)))
        sl_abort(&x, "%s", mpsl_errmsg());
      MPI_CHECK(MPI_Barrier(world));
    }
    if (rank == 0 && abort_after && atoi(abort_after) == done)
      sl_abort(&x, "MPSL_ABORT_AFTER_ROUND=%d: stopped on purpose", done);
    x.nev = 0;
    sl_net_reset_counts(&x.net);
  }
  if (x.emulated) sl_emu_report(&x, world, overruns);
  rc = 0;
  if (rank == 0) {
    if (c->save_model[0]) {
      rc = sl_agg_save(s.agg, c->save_model);
      if (!rc) printf("# saved the global model to %s\n", c->save_model);
    }
    if (rc) sl_status_aborted(mpsl_errmsg());
    sl_status_end();
    if (!rc && out[0]) rc = mpsl_results_set_status(out, "finished");
    if (!rc && out[0]) printf("# results in %s\n", out);
  }
  status = agree(&x, rc, world) ? 1 : 0;
out:
  if (s.hop_comm != MPI_COMM_NULL) MPI_Comm_free(&s.hop_comm);
  sl_cn_free(s.cn);
  sl_do_free(s.dor);
  sl_agg_free(s.agg);
  sl_net_free(&x.net);
  emu_scenario_free(&sc);
  free(x.ev);
  free(x.counts);
  free(x.absent);
  mpsl_model_free(&m);
  return status;
}
