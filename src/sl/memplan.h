/* The memory plan of a configuration (SPEC §7): what every rank of `mpsl run` will hold,
 * computed before training, and the check of each rank against its device's memory.
 *
 * A rank's accounted bytes are exactly what memory_row of the run reports: the nn_part
 * memory (parameters, gradients, momenta, running statistics, reordered weight copies,
 * stored activations, activation gradients, scratchpad, workspaces) of every part copy it
 * holds, plus the protocol buffers, which the roles allocate from the same layouts
 * (sl_copy_layout, sl_owner_layout) the plan counts, and the aggregation accumulators. The plan builds ONE instance of each distinct part at the
 * batch size, reads its memory and frees it, then multiplies by the copies a rank holds:
 * planning a hop that serves 100 data owners never allocates 100 copies.
 *
 *   compute node:     one copy of its hop's part per data owner of its pipeline, and per
 *                     copy its input and output activations and their gradients; one
 *                     double accumulator of the part's state for FedAvg
 *   data-owner rank:  per hosted owner M_1 and M_P, the input batch, the cut activations
 *                     and gradients at both cuts and the logits and their gradient; one
 *                     double buffer of M_1 + M_P's state
 *   aggregator:       the whole model as P parts at the configuration's cuts, and double
 *                     buffers for the average of M_1 + M_P and for a received state
 *
 * Not accounted (reported beside it, so that peak RSS can be compared): the dataset a rank
 * loads (`dataset`) and the process's resident memory before the run allocated anything
 * (`baseline`: libraries, MPI, oneDNN's code). */
#ifndef MPSL_SL_MEMPLAN_H
#define MPSL_SL_MEMPLAN_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "config/runconfig.h"
#include "emu/timing.h"
#include "io/results.h"
#include "models/model.h"
#include "nn/nn.h"

/* The protocol buffers of the roles, in floats of one batch: the one description that a
 * role allocates (sl_alloc_copy, sl_alloc_owner in sl/ctx.c) and that the memory plan
 * counts (the bytes below), so the two cannot differ. A size of 0 is not allocated. */
typedef struct {
  int64_t in, out; /* a compute node's copy: input and output activations, each with its gradient */
} sl_copy_layout;
typedef struct {
  int64_t x;      /* a data owner: its input batch */
  int64_t a1;     /* the activation at its first cut (to hop 1), and its gradient */
  int64_t ain;    /* the activation at its last cut (from the last hop), and its gradient */
  int64_t logits; /* the logits, and their gradient */
} sl_owner_layout;
static inline int64_t sl_copy_layout_bytes(const sl_copy_layout *l) { return 2 * (l->in + l->out) * 4; }
static inline int64_t sl_owner_layout_bytes(const sl_owner_layout *l) {
  return (l->x + 2 * (l->a1 + l->ain + l->logits)) * 4;
}

typedef struct {
  mpsl_res_memory mem; /* round 0, rank, role, accounted by kind; cap; dataset; peak_rss and baseline 0 */
  int pipeline, hop;   /* compute node */
  int owner_first;     /* data-owner rank: hosts owners owner_first .. owner_first + copies - 1 */
  int copies;          /* copies of the part(s): owners served or hosted; 1 for the aggregator */
  int first, last;     /* layers of the rank's part; data-owner rank: M_1's; aggregator: 1..nlayers */
  int first2, last2;   /* data-owner rank: M_P's layers (0 otherwise) */
  int64_t per_copy;    /* data-owner rank: one owner's share (what its own device must hold) */
  char device[40];     /* device name; "mixed" for a data-owner rank hosting different devices */
  int over;            /* 1: needs more than its cap (data-owner rank: some owner's share does) */
  int over_owner;      /* data-owner rank: the first owner over its device's cap */
  int64_t over_cap;    /* the cap that owner exceeds */
  char over_device[32];
} sl_memrank;

typedef struct {
  int n;           /* ranks (t->nranks) */
  sl_memrank *row; /* (n) */
} sl_memplan;

/* Plans every rank (rank < 0) or only that one (the others' rows stay zero, so a rank of a
 * run builds only its own parts). Devices and caps come from the scenario when s is not
 * NULL, else from the configuration's device keys and catalogues. c must be resolved
 * (sl_config_resolve). -1 with mpsl_fail naming the key and value. */
int sl_memplan_build(sl_memplan *p, const sl_config *c, const mpsl_model *m, const sl_topo *t, const emu_scenario *s,
                     int rank);
void sl_memplan_free(sl_memplan *p);

/* "rank 1 (compute node, pipeline 0 hop 1, part layers 3..40 features.2..classifier.5): needs
 * 81.2 GiB for 100 copies but device 'vm8' has 16 GiB" for a rank over its cap. */
void sl_memrank_explain(const sl_memrank *r, const mpsl_model *m, char *buf, int cap);

/* In sl_run, before the roles allocate anything; collective over world. Measures this
 * rank's baseline RSS, plans its own row into *mine and checks it against its cap. Over a
 * cap with memory_check, the lowest such rank prints why ("mpsl run: error: rank 1
 * (compute node, ...): needs ... but device 'vm8' has 16 GiB") and every rank returns -1;
 * with memory_check = false each such rank warns and 0 is returned. A plan that cannot be
 * made (a bad device key) is reported the same way. */
int sl_memplan_enforce(MPI_Comm world, const sl_config *c, const mpsl_model *m, const sl_topo *t, int rank,
                       sl_memrank *mine);

/* The plan as a table, one line per rank (`mpsl run --memory`). */
void sl_memplan_print(const sl_memplan *p, const sl_config *c, const mpsl_model *m, const sl_topo *t, FILE *f);

/* Bytes of the images and labels a dataset's split holds in memory, from its standard
 * size (the files are not read). 0 for an unknown name. */
int64_t sl_dataset_bytes(const char *name, int train);
/* r's memory columns += times x the part memory s; and the accounted sum of r's columns. */
void sl_mem_row_add(mpsl_res_memory *r, const nn_mem_stats *s, int64_t times);
int64_t sl_mem_row_total(const mpsl_res_memory *r);

/* Resident bytes of this process now (/proc/self/statm; 0 where unavailable). */
int64_t sl_rss_now(void);

#endif
