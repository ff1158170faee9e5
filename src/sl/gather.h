/* What every rank of a run sends to rank 0 for the results file: the header (hosts,
 * threads), the partition, and each round's events, memory, links and audit. */
#ifndef MPSL_SL_GATHER_H
#define MPSL_SL_GATHER_H

#include <mpi.h>

#include "sl/internal.h"
#include "sl/memplan.h"
#include "sl/sl.h"

/* One rank of a run: its context, its role and its memory plan. */
typedef struct {
  sl_ctx *x;
  sl_compute_node *cn;
  sl_owner_host *dor;
  sl_aggregator *agg;
  MPI_Comm world, hop_comm;
  int owner_first, owners;
  sl_memrank mem; /* this rank's memory plan, its cap and baseline RSS */
  const sl_resume *resume; /* NULL: a new run */
} sl_run_state;

/* Creates the results file `out` (none when empty) with the hosts and threads of every
 * rank; resuming, cuts its tables back to the checkpoint's rounds instead and records the
 * hosts of this job. Collective; -1 with mpsl_fail on rank 0. */
int sl_gather_header(sl_run_state *s, const char *out, int threads);
/* The partition table: samples and labels of every data owner. Collective. */
void sl_gather_partition(sl_run_state *s, const char *out);
/* This round's events, memory, links and audit, appended to `out`. Collective. */
void sl_gather_round(sl_run_state *s, const char *out);

#endif
