/* Results of a run gathered to rank 0 (sl/gather.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "models/table.h"
#include "sl/gather.h"
#include "sl/header.h"
#include "sl/status.h"
#include "util/err.h"
#include "util/provenance.h"

/* The accounted bytes are what the roles hold now: at run time they are checked against
 * the cap again, so a plan that disagreed with the roles could not let a rank through. */
static void memory_row(const sl_run_state *s, mpsl_res_memory *r) {
  memset(r, 0, sizeof *r);
  if (s->cn) sl_cn_memory(s->cn, r);
  if (s->dor) sl_do_memory(s->dor, r);
  if (s->agg) sl_agg_memory(s->agg, r);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  r->round = s->x->round + 1; /* every table counts rounds from 1 */
  r->rank = s->x->rank;
  r->role = (int32_t)s->x->role;
  r->buffers = s->x->buffers;
  r->accounted = sl_mem_row_total(r);
  r->peak_rss = (int64_t)ru.ru_maxrss * 1024;
  r->cap = s->mem.mem.cap;
  r->dataset = s->mem.mem.dataset;
  r->baseline = s->mem.mem.baseline;
  if (!s->x->compute->trains) {
    /* the roles hold no parts: report what the emulated device holds, the plan */
    int64_t rss = r->peak_rss, baseline = r->baseline;
    *r = s->mem.mem;
    r->round = s->x->round + 1;
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
      fprintf(stderr, "%s: error: %s (at run time, round %d)\n", mpsl_program(), why, s->x->round + 1);
      fflush(stderr);
      sl_status_aborted(why); /* on rank 0, its results file says so */
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (s->x->round == 0) fprintf(stderr, "%s: warning: %s (at run time)\n", mpsl_program(), why);
  }
}

/* Gathers this round's events, memory, links and audit to rank 0 and appends them in one
 * step: a write that fails (a full disk) leaves none of the round in the file. */
void sl_gather_round(sl_run_state *s, const char *out) {
  sl_ctx *x = s->x;
  int size = x->net.size, root = x->rank == 0;
  int *counts = root ? mpsl_xmalloc((size_t)size * sizeof *counts, "counts") : NULL;
  int *displs = root ? mpsl_xmalloc((size_t)size * sizeof *displs, "counts") : NULL;

  /* events: the tasks of the data owners the events key keeps */
  int keep = sl_events_owners(x->c), kept = 0;
  for (int i = 0; i < x->nev; i++)
    if (x->ev[i].owner < keep) x->ev[kept++] = x->ev[i];
  int nb = kept * (int)sizeof(mpsl_res_event);
  MPI_CHECK(MPI_Gather(&nb, 1, MPI_INT, counts, 1, MPI_INT, 0, s->world));
  int64_t total = 0;
  if (root)
    for (int r = 0; r < size; r++) displs[r] = (int)total, total += counts[r];
  char *ev = root ? mpsl_xmalloc((size_t)(total ? total : 1), "events") : NULL;
  MPI_CHECK(MPI_Gatherv(x->ev, nb, MPI_BYTE, ev, counts, displs, MPI_BYTE, 0, s->world));
  mpsl_res_rows sets[4];
  sets[0] = (mpsl_res_rows){MPSL_RES_EVENTS, ev, total / (int64_t)sizeof(mpsl_res_event)};

  /* memory */
  mpsl_res_memory mine, *mem = root ? mpsl_xmalloc((size_t)size * sizeof *mem, "memory") : NULL;
  memory_row(s, &mine);
  MPI_CHECK(MPI_Gather(&mine, sizeof mine, MPI_BYTE, mem, sizeof mine, MPI_BYTE, 0, s->world));
  sets[1] = (mpsl_res_rows){MPSL_RES_MEMORY, mem, size};

  /* links: this rank's row of the bytes and messages matrices */
  int64_t *lb = root ? mpsl_xmalloc((size_t)size * size * sizeof *lb, "links") : NULL;
  int64_t *lm = root ? mpsl_xmalloc((size_t)size * size * sizeof *lm, "links") : NULL;
  MPI_CHECK(MPI_Gather(x->net.link_bytes, size, MPI_INT64_T, lb, size, MPI_INT64_T, 0, s->world));
  MPI_CHECK(MPI_Gather(x->net.link_msgs, size, MPI_INT64_T, lm, size, MPI_INT64_T, 0, s->world));
  mpsl_res_link *links = NULL;
  if (root) {
    links = mpsl_xmalloc((size_t)size * size * sizeof *links, "links");
    int n = 0;
    for (int a = 0; a < size; a++)
      for (int b = 0; b < size; b++)
        if (lm[a * size + b]) links[n++] = (mpsl_res_link){x->round + 1, a, b, lb[a * size + b], lm[a * size + b]};
    sets[2] = (mpsl_res_rows){MPSL_RES_LINKS, links, n};
  }
  free(lb);
  free(lm);

  /* audit: one row per data owner, from the ranks that host them */
  mpsl_res_audit *au = mpsl_xcalloc((size_t)(s->owners ? s->owners : 1), sizeof *au, "audit");
  for (int i = 0; i < s->owners; i++) {
    const int64_t *a = x->net.audit[i];
    au[i] = (mpsl_res_audit){x->round + 1,    s->owner_first + i, a[SL_MSG_ACTIVATION], a[SL_MSG_GRADIENT],
                             a[SL_MSG_MODEL], a[SL_MSG_INPUT],    a[SL_MSG_LABEL]};
  }
  nb = s->owners * (int)sizeof *au;
  MPI_CHECK(MPI_Gather(&nb, 1, MPI_INT, counts, 1, MPI_INT, 0, s->world));
  total = 0;
  if (root)
    for (int r = 0; r < size; r++) displs[r] = (int)total, total += counts[r];
  mpsl_res_audit *all = root ? mpsl_xmalloc((size_t)(total ? total : 1), "audit") : NULL;
  MPI_CHECK(MPI_Gatherv(au, nb, MPI_BYTE, all, counts, displs, MPI_BYTE, 0, s->world));
  sets[3] = (mpsl_res_rows){MPSL_RES_AUDIT, all, total / (int64_t)sizeof *au};
  if (root && out[0] && mpsl_results_append_many(out, sets, 4)) sl_abort(x, "%s", mpsl_errmsg());
  free(ev);
  free(mem);
  free(links);
  free(all);
  free(au);
  free(counts);
  free(displs);
}

/* The profile or layer table whose times the run keeps ("" when it trains on real time),
 * as sl_emu_setup found it (emu/timing.h). */
static void run_profile(const sl_ctx *x, char *path, int cap) {
  const sl_config *c = x->c;
  const mpsl_model *m = x->m;
  path[0] = '\0';
  if (m->table)
    snprintf(path, (size_t)cap, "%s", m->table->path);
  else if (emu_needs_profile(c) && c->profile[0])
    snprintf(path, (size_t)cap, "%s", c->profile);
  else if (emu_needs_profile(c))
    emu_profile_path(c, c->model, c->batch, m->size, m->channels, m->classes, c->width, path, cap);
}

/* Root attributes: configuration, versions, hosts, seeds. Collective (host names). */
int sl_gather_header(sl_run_state *s, const char *out, int threads) {
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
    char *hosts = mpsl_xcalloc(cap, 1, "hosts");
    size_t k = 0;
    for (int r = 0; r < size; r++)
      k += (size_t)snprintf(hosts + k, cap - k, "%d %s %s %d\n", r, names + (size_t)r * MPI_MAX_PROCESSOR_NAME,
                            sl_role_name(sl_rank_role(x->t, r, &(int){0}, &(int){0})), nthreads[r]);
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    MPI_CHECK(MPI_Get_library_version(mpi, &len));
    mpi[strcspn(mpi, "\n")] = '\0';
    mpsl_res_attr attrs[] = {
        MPSL_ATTR_S("hosts", hosts),
        MPSL_ATTR_S("mpi_version", mpi),
        MPSL_ATTR_S("momentum_reset", "every round (optimizer state is not aggregated)"),
    };
    if (!s->resume) {
      char profile[MPSL_PATH_MAX];
      run_profile(x, profile, (int)sizeof profile);
      rc = sl_results_header(out, "run", &sl_config_opts, x->c, x->m, size, profile, attrs,
                             (int)(sizeof attrs / sizeof attrs[0]));
    } else {
      /* the rounds after the checkpoint are played again; this job's hosts, MPI and command
       * line replace the last */
      rc = mpsl_results_resume(out, s->resume->rounds_done, attrs, 2);
    }
    free(hosts);
  }
  free(names);
  free(nthreads);
  return rc;
}

void sl_gather_partition(sl_run_state *s, const char *out) {
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
