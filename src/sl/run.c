/* One run: roles from the topology, the rounds, and everything the results file holds,
 * gathered to the aggregator at the end of every round. */
#define _GNU_SOURCE /* cpu_set_t, CPU_AND */
#include <hdf5.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "config.h"
#include "nn/replica.h"
#include "sl/emu_pace.h"
#include "sl/internal.h"
#include "sl/memplan.h"
#include "sl/scheduler.h"
#include "sl/sl.h"
#include "util/cpu.h"
#include "util/err.h"

void sl_event(sl_ctx *x, int owner, int64_t batch, int direction, int part, double start, double end, double wait,
              int64_t bytes) {
  if (x->nev == x->cap_ev) sl_abort(x, "more tasks in a round than the protocol allows (%d)", x->cap_ev);
  x->ev[x->nev++] = (mpsl_res_event){
      x->round, x->rank, (int32_t)x->role, owner, (int32_t)batch, direction, part, start, end, wait, bytes};
}

_Noreturn void sl_abort(const sl_ctx *x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "mpsl run: error: rank %d (%s): ", x->rank, sl_role_name(x->role));
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  exit(1);
}

float *sl_buffer(sl_ctx *x, int64_t floats, const char *what) {
  x->buffers += floats * (int64_t)sizeof(float);
  return mpsl_xalloc_aligned((size_t)floats * sizeof(float), what);
}

void sl_mem_add(mpsl_res_memory *r, const nn_part *p) {
  nn_mem_stats m;
  nn_part_memory(p, &m);
  sl_mem_row_add(r, &m, 1);
}

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
    fprintf(stderr, "mpsl run: error: rank %d (%s): %s\n", x->rank, sl_role_name(x->role), mpsl_errmsg());
  return -1;
}

typedef struct {
  sl_ctx *x;
  sl_compute_node *cn;
  sl_owner_host *dor;
  sl_aggregator *agg;
  MPI_Comm world, hop_comm;
  int owner_first, owners;
  sl_memrank mem; /* this rank's memory plan, its cap and baseline RSS */
} sl_run_state;

/* The accounted bytes are what the roles hold now: at run time they are checked against
 * the cap again, so a plan that disagreed with the roles could not let a rank through. */
static void memory_row(const sl_run_state *s, mpsl_res_memory *r) {
  memset(r, 0, sizeof *r);
  if (s->cn) sl_cn_memory(s->cn, r);
  if (s->dor) sl_do_memory(s->dor, r);
  if (s->agg) sl_agg_memory(s->agg, r);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  r->round = s->x->round;
  r->rank = s->x->rank;
  r->role = (int32_t)s->x->role;
  r->buffers = s->x->buffers;
  r->accounted = sl_mem_row_total(r);
  r->peak_rss = (int64_t)ru.ru_maxrss * 1024;
  r->cap = s->mem.mem.cap;
  r->dataset = s->mem.mem.dataset;
  r->baseline = s->mem.mem.baseline;
  if (s->x->profiled) {
    /* the roles hold no parts: report what the emulated device holds, the plan */
    int64_t rss = r->peak_rss, baseline = r->baseline;
    *r = s->mem.mem;
    r->round = s->x->round;
    r->peak_rss = rss;
    r->baseline = baseline;
    return;
  }
  if (r->cap > 0 && r->accounted > r->cap && !s->mem.over) {
    sl_memrank now = s->mem;
    now.mem.accounted = r->accounted;
    char why[1200];
    sl_memrank_explain(&now, s->x->m, why, sizeof why);
    if (s->x->c->memory_check) {
      fprintf(stderr, "mpsl run: error: %s (at run time, round %d)\n", why, s->x->round + 1);
      fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (s->x->round == 0) fprintf(stderr, "mpsl run: warning: %s (at run time)\n", why);
  }
}

/* Gathers this round's events, memory, links and audit to rank 0 and appends them. */
static void gather_round(sl_run_state *s, const char *out) {
  sl_ctx *x = s->x;
  int size = x->net.size, root = x->rank == 0;
  int *counts = root ? mpsl_xmalloc((size_t)size * sizeof *counts, "counts") : NULL;
  int *displs = root ? mpsl_xmalloc((size_t)size * sizeof *displs, "counts") : NULL;

  /* events */
  int nb = x->nev * (int)sizeof(mpsl_res_event);
  MPI_CHECK(MPI_Gather(&nb, 1, MPI_INT, counts, 1, MPI_INT, 0, s->world));
  int64_t total = 0;
  if (root)
    for (int r = 0; r < size; r++) displs[r] = (int)total, total += counts[r];
  char *ev = root ? mpsl_xmalloc((size_t)(total ? total : 1), "events") : NULL;
  MPI_CHECK(MPI_Gatherv(x->ev, nb, MPI_BYTE, ev, counts, displs, MPI_BYTE, 0, s->world));
  if (root && out[0] && mpsl_results_append(out, MPSL_RES_EVENTS, ev, total / (int64_t)sizeof(mpsl_res_event)))
    sl_abort(x, "%s", mpsl_errmsg());
  free(ev);

  /* memory */
  mpsl_res_memory mine, *mem = root ? mpsl_xmalloc((size_t)size * sizeof *mem, "memory") : NULL;
  memory_row(s, &mine);
  MPI_CHECK(MPI_Gather(&mine, sizeof mine, MPI_BYTE, mem, sizeof mine, MPI_BYTE, 0, s->world));
  if (root && out[0] && mpsl_results_append(out, MPSL_RES_MEMORY, mem, size)) sl_abort(x, "%s", mpsl_errmsg());
  free(mem);

  /* links: this rank's row of the bytes and messages matrices */
  int64_t *lb = root ? mpsl_xmalloc((size_t)size * size * sizeof *lb, "links") : NULL;
  int64_t *lm = root ? mpsl_xmalloc((size_t)size * size * sizeof *lm, "links") : NULL;
  MPI_CHECK(MPI_Gather(x->net.link_bytes, size, MPI_INT64_T, lb, size, MPI_INT64_T, 0, s->world));
  MPI_CHECK(MPI_Gather(x->net.link_msgs, size, MPI_INT64_T, lm, size, MPI_INT64_T, 0, s->world));
  if (root) {
    mpsl_res_link *rows = mpsl_xmalloc((size_t)size * size * sizeof *rows, "links");
    int n = 0;
    for (int a = 0; a < size; a++)
      for (int b = 0; b < size; b++)
        if (lm[a * size + b]) rows[n++] = (mpsl_res_link){x->round, a, b, lb[a * size + b], lm[a * size + b]};
    if (out[0] && mpsl_results_append(out, MPSL_RES_LINKS, rows, n)) sl_abort(x, "%s", mpsl_errmsg());
    free(rows);
  }
  free(lb);
  free(lm);

  /* audit: one row per data owner, from the ranks that host them */
  mpsl_res_audit *au = mpsl_xcalloc((size_t)(s->owners ? s->owners : 1), sizeof *au, "audit");
  for (int i = 0; i < s->owners; i++) {
    const int64_t *a = x->net.audit[i];
    au[i] = (mpsl_res_audit){x->round,        s->owner_first + i, a[SL_MSG_ACTIVATION], a[SL_MSG_GRADIENT],
                             a[SL_MSG_MODEL], a[SL_MSG_INPUT],    a[SL_MSG_LABEL]};
  }
  nb = s->owners * (int)sizeof *au;
  MPI_CHECK(MPI_Gather(&nb, 1, MPI_INT, counts, 1, MPI_INT, 0, s->world));
  total = 0;
  if (root)
    for (int r = 0; r < size; r++) displs[r] = (int)total, total += counts[r];
  mpsl_res_audit *all = root ? mpsl_xmalloc((size_t)(total ? total : 1), "audit") : NULL;
  MPI_CHECK(MPI_Gatherv(au, nb, MPI_BYTE, all, counts, displs, MPI_BYTE, 0, s->world));
  if (root && out[0] && mpsl_results_append(out, MPSL_RES_AUDIT, all, total / (int64_t)sizeof *au))
    sl_abort(x, "%s", mpsl_errmsg());
  free(all);
  free(au);
  free(counts);
  free(displs);
}

/* Root attributes: configuration, versions, hosts, seeds. Collective (host names). */
static int create_results(sl_run_state *s, const char *out, int threads) {
  sl_ctx *x = s->x;
  int size = x->net.size, len;
  char name[MPI_MAX_PROCESSOR_NAME] = {0};
  MPI_CHECK(MPI_Get_processor_name(name, &len));
  char *names = x->rank == 0 ? mpsl_xcalloc((size_t)size, MPI_MAX_PROCESSOR_NAME, "host names") : NULL;
  int *nthreads = x->rank == 0 ? mpsl_xcalloc((size_t)size, sizeof *nthreads, "threads") : NULL;
  MPI_CHECK(MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, s->world));
  MPI_CHECK(MPI_Gather(&threads, 1, MPI_INT, nthreads, 1, MPI_INT, 0, s->world));
  int rc = 0;
  if (x->rank == 0 && out[0]) {
    size_t cap = (size_t)size * (MPI_MAX_PROCESSOR_NAME + 32) + 1;
    char *hosts = mpsl_xcalloc(cap, 1, "hosts"), mpi[MPI_MAX_LIBRARY_VERSION_STRING], h5[32], seed[32], ranks[32];
    size_t k = 0;
    for (int r = 0; r < size; r++)
      k += (size_t)snprintf(hosts + k, cap - k, "%d %s %s %d\n", r, names + (size_t)r * MPI_MAX_PROCESSOR_NAME,
                            sl_role_name(sl_rank_role(x->t, r, &(int){0}, &(int){0})), nthreads[r]);
    MPI_CHECK(MPI_Get_library_version(mpi, &len));
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    snprintf(h5, sizeof h5, "%u.%u.%u", maj, min, rel);
    snprintf(seed, sizeof seed, "%lld", (long long)x->c->seed);
    snprintf(ranks, sizeof ranks, "%d", size);
    char *ini = mpsl_opts_to_ini(&sl_config_opts, x->c);
    mpsl_res_attr attrs[] = {
        {"program", "mpsl " PACKAGE_VERSION},
        {"config", ini},
        {"onednn_version", nn_dnnl_version()},
        {"hdf5_version", h5},
        {"mpi_version", mpi},
        {"hosts", hosts},
        {"seed", seed},
        {"ranks", ranks},
        {"model", x->m->name},
        {"momentum_reset", "every round (optimizer state is not aggregated)"},
    };
    rc = mpsl_results_create(out, attrs, (int)(sizeof attrs / sizeof attrs[0]));
    free(ini);
    free(hosts);
  }
  free(names);
  free(nthreads);
  return rc;
}

static void write_partition(sl_run_state *s, const char *out) {
  sl_ctx *x = s->x;
  int classes = x->m->classes, row = 4 + classes, size = x->net.size;
  int64_t *mine = mpsl_xcalloc((size_t)(s->owners ? s->owners : 1) * row, sizeof *mine, "partition");
  if (s->dor) sl_do_partition(s->dor, mine);
  int n = s->owners * row, *counts = NULL, *displs = NULL;
  int64_t *all = NULL;
  if (x->rank == 0) {
    counts = mpsl_xmalloc((size_t)size * sizeof *counts, "counts");
    displs = mpsl_xmalloc((size_t)size * sizeof *displs, "counts");
    all = mpsl_xmalloc((size_t)x->t->K * row * sizeof *all, "partition");
  }
  MPI_CHECK(MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, 0, s->world));
  if (x->rank == 0)
    for (int r = 0, at = 0; r < size; r++) displs[r] = at, at += counts[r];
  MPI_CHECK(MPI_Gatherv(mine, n, MPI_INT64_T, all, counts, displs, MPI_INT64_T, 0, s->world));
  if (x->rank == 0 && out[0] && mpsl_results_partition(out, all, x->t->K, classes)) sl_abort(x, "%s", mpsl_errmsg());
  free(mine);
  free(all);
  free(counts);
  free(displs);
}

static int config_error(int rank, const char *msg) {
  if (rank == 0) fprintf(stderr, "mpsl run: error: %s\n", msg);
  return 1;
}

int sl_run(MPI_Comm world, sl_config *c) {
  int rank, size;
  MPI_CHECK(MPI_Comm_rank(world, &rank));
  MPI_CHECK(MPI_Comm_size(world, &size));
  mpsl_model m = {0};
  sl_topo t;
  if (sl_config_model(c, &m) || sl_config_resolve(c, &m, &t) || sl_config_check_run(c, &m) ||
      (!sl_policy_find(c->policy) && mpsl_fail("unknown policy '%s'", c->policy))) {
    mpsl_model_free(&m);
    return config_error(rank, mpsl_errmsg());
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
  sl_run_state s = {&x, NULL, NULL, NULL, world, MPI_COMM_NULL, 0, 0, .mem = {.copies = 0}};
  if (x.role == SL_OWNER) sl_rank_owners(&t, rank, &s.owner_first, &s.owners);
  if (rank == 0) {
    printf("# mpsl run: resolved configuration\n");
    mpsl_opts_print(&sl_config_opts, c, stdout, "# ");
    printf(
        "# %s: %d ranks = 1 aggregator + %d pipeline(s) x %d hop(s) + %d data-owner rank(s) hosting %d data "
        "owner(s); parts:",
        m.name, t.nranks, t.R, t.H, t.owner_ranks, t.K);
    for (int p = 0; p < t.P; p++) printf(" %d..%d", t.first[p], t.last[p]);
    printf("\n");
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
  for (int k = 0; k < t.K; k++) x.total += x.counts[k];
  MPI_CHECK(MPI_Comm_split(world, x.role == SL_COMPUTE ? x.hop : MPI_UNDEFINED, x.pipeline, &s.hop_comm));
  int64_t per_round = (int64_t)c->local_epochs * c->batches;
  x.cap_ev = (int)(x.role == SL_COMPUTE ? 2 * per_round * sl_pipeline_owners(&t, x.pipeline)
                   : x.role == SL_OWNER ? 4 * per_round * s.owners
                                        : 1);
  x.ev = mpsl_xmalloc((size_t)x.cap_ev * sizeof *x.ev, "events");
  const char *out = c->output;
  if (agree(&x, create_results(&s, out, threads), world)) goto out;
  if (!x.profiled) write_partition(&s, out); /* profiled compute reads no data */

  if (x.emulated) {
    x.t0 = sl_emu_sync(world);
  } else {
    MPI_CHECK(MPI_Barrier(world));
    x.t0 = MPI_Wtime();
  }
  double prev_end = 0;
  int64_t overruns = 0;
  for (x.round = 0; x.round < c->rounds; x.round++) {
    double begin = sl_clock(&x), loss[2] = {0, 0}, sum[2] = {0, 0}, test_loss = 0, test_acc = 0;
    int64_t nb = 0;
    if (x.emulated) sl_emu_round_begin(&x, world, prev_end);
    if (s.cn) {
      sl_cn_round(s.cn);
      sl_cn_aggregate(s.cn, s.hop_comm);
    } else if (s.dor) {
      sl_do_round(s.dor, &loss[0], &nb);
      loss[1] = (double)nb;
      sl_do_aggregate(s.dor);
    } else {
      sl_agg_aggregate(s.agg);
      sl_agg_evaluate(s.agg, &test_loss, &test_acc);
    }
    MPI_CHECK(MPI_Reduce(loss, sum, 2, MPI_DOUBLE, MPI_SUM, 0, world));
    double time_s = 0;
    int64_t over = 0;
    if (x.emulated) {
      prev_end = sl_emu_round_end(&x, world);
      time_s = prev_end - x.round_start;
      over = sl_emu_overruns(&x, world);
      overruns += over;
    }
    gather_round(&s, out);
    if (rank == 0) {
      double wall = sl_clock(&x) - begin;
      mpsl_res_round r = {x.round + 1, wall, x.emulated ? time_s : wall, sum[0] / sum[1], test_loss, test_acc, over};
      if (out[0] && mpsl_results_append(out, MPSL_RES_ROUNDS, &r, 1)) sl_abort(&x, "%s", mpsl_errmsg());
      printf("round %d wall_s=%.3f train_loss=%.6f test_loss=%.6f test_acc=%.4f", r.round, r.wall_s, r.train_loss,
             r.test_loss, r.test_acc);
      if (x.emulated) printf(" time_s=%.4f overruns=%lld", r.time_s, (long long)r.overruns);
      printf("\n");
      fflush(stdout);
    }
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
  mpsl_model_free(&m);
  return status;
}
