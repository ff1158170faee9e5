/* What the three roles share inside one rank of `mpsl run`. */
#ifndef MPSL_SL_INTERNAL_H
#define MPSL_SL_INTERNAL_H

#include <mpi.h>
#include <stdio.h>

#include "config/runconfig.h"
#include "data/data.h"
#include "emu/timing.h"
#include "io/results.h"
#include "nn/nn.h"
#include "sl/compute.h"
#include "sl/memplan.h"
#include "sl/net.h"

typedef struct sl_ctx sl_ctx;

/* The engine of an MPI run, chosen by name when it starts (sl_engine_find, sl/engine.c):
 * "wall" keeps this host's seconds (mpsl run), "model" the emulated devices' seconds
 * (devices, links, profiled compute; sl/emu_pace.h paces the wall clock after it). The
 * roles' task runners tell time, send and receive through it alone; the third engine, in
 * virtual time, is the simulator's (sim/sim.c). */
typedef struct {
  const char *name;
  int paced; /* model: a task waits for its start in model time, and the wall clock follows */
  /* Waits for a message (1, *st filled) or until a task due at `until` may start (0):
   * wall: at once unless nothing is due (until = INFINITY); model: when the wall clock gets
   * to `until` (sl/emu_pace.h) */
  int (*wait)(sl_ctx *x, double until, MPI_Status *st);
  /* when a task planned for `planned` starts: now (wall), or then (model, which counts
   * the rank as late when the wall clock is far past it) */
  double (*task_start)(sl_ctx *x, double planned);
  /* the end of a task that started at `start`: its device's `cost` (model seconds) after
   * `wall` seconds of compute here that count (0: the backend does not measure, sl/compute.h) */
  double (*task_end)(sl_ctx *x, double start, double cost, double wall);
  /* a message handed at `at` to a directed link of class l free from *free (req NULL:
   * blocking); returns its arrival (wall: now) */
  double (*send)(sl_ctx *x, sl_msg_type type, int owner, const void *buf, int64_t bytes, int dst, MPI_Request *req,
                 double *free, emu_link l, double at);
  /* receives a message; returns its arrival (wall: now) */
  double (*recv)(sl_ctx *x, sl_msg_type type, int owner, void *buf, int64_t bytes, int src);
} sl_engine;

/* "wall" or "model"; NULL for another name. */
const sl_engine *sl_engine_find(const char *name);

struct sl_ctx {
  const sl_config *c;
  const sl_topo *t;
  const mpsl_model *m;
  sl_net net;
  int rank;
  sl_role role;
  int pipeline, hop;  /* compute nodes only */
  double t0;          /* MPI_Wtime when the run started (after a barrier) */
  int round;          /* 0-based */
  int64_t *counts;    /* (K) training samples of each data owner */
  char *absent;       /* (K) the data owners that sit out this round (the absence key) */
  mpsl_res_event *ev; /* (cap_ev) events of this rank in the current round */
  int nev, cap_ev;
  int64_t buffers; /* bytes of message and batch buffers this rank allocated */
  /* emulation (docs/timing.md, sl/emu_pace.h); all times in model seconds since t0 */
  const emu_scenario *emu;      /* the timing scenario, also when nothing is emulated */
  int emulated;                 /* devices, links or the compute backend are emulated */
  const sl_compute *compute;    /* what a task computes and costs (sl/compute.h) */
  double scale;            /* wall seconds per model second (1 without emulation) */
  double round_start;      /* every data owner starts batch 0 of the round then */
  double round_end;        /* this rank's share of the round's end (global model held, hop averaged) */
  int64_t overruns;        /* this round: tasks whose real compute outlasted the device's time */
  int64_t late;            /* this run: tasks this rank reached well after their time */
  double late_max;         /* the worst of them, wall seconds */
  int64_t missed;          /* this run: messages a compute node took after it had picked its task at their arrival */
  const sl_engine *engine; /* "wall", or "model" in emulation */
};

static inline double sl_clock(const sl_ctx *x) { return MPI_Wtime() - x->t0; }
/* Model seconds since t0: wall seconds / time_scale (the same as sl_clock without emulation). */
static inline double sl_now(const sl_ctx *x) { return (MPI_Wtime() - x->t0) / x->scale; }
/* Records one task; the buffer is sized at setup, so nothing is allocated per task. */
void sl_event(sl_ctx *x, int owner, int64_t batch, int direction, int part, double start, double end, double wait,
              int64_t bytes);
/* A failure in the middle of the protocol: prints "mpsl run: error: rank R (ROLE): reason"
 * and takes the whole job down. */
_Noreturn void sl_abort(const sl_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Part p (0 .. P-1) of data owner `owner`, from the run's compute backend; -1 with mpsl_fail. */
int sl_part_init(sl_ctx *x, sl_part *pt, int p, int owner);
/* An aligned buffer of the protocol, counted in the rank's accounted memory (NULL for 0). */
float *sl_buffer(sl_ctx *x, int64_t floats, const char *what);
/* The buffers of a layout (sl/memplan.h): what the memory plan counts, allocated. */
void sl_alloc_copy(sl_ctx *x, const sl_copy_layout *l, float **in, float **din, float **out, float **dout);
void sl_alloc_owner(sl_ctx *x, const sl_owner_layout *l, float **xb, float **a1, float **da1, float **ain, float **dain,
                    float **logits, float **dlogits);

/* ---- the roles: new (NULL with mpsl_fail), train one round, aggregate, free ---- */

typedef struct sl_compute_node sl_compute_node;
sl_compute_node *sl_cn_new(sl_ctx *x);
void sl_cn_round(sl_compute_node *cn);
void sl_cn_aggregate(sl_compute_node *cn, MPI_Comm hop_comm);
void sl_cn_restore(sl_compute_node *cn);
void sl_cn_memory(const sl_compute_node *cn, mpsl_res_memory *r);
void sl_cn_free(sl_compute_node *cn);

typedef struct sl_owner_host sl_owner_host;
sl_owner_host *sl_do_new(sl_ctx *x, int first, int n);
/* Samples and label histogram of each hosted owner: rows (n, 4 + classes) as in results. */
void sl_do_partition(const sl_owner_host *d, int64_t *rows);
void sl_do_round(sl_owner_host *d, double *loss_sum, int64_t *batches);
void sl_do_restore(sl_owner_host *d);
void sl_do_memory(const sl_owner_host *d, mpsl_res_memory *r);
void sl_do_free(sl_owner_host *d);

typedef struct sl_aggregator sl_aggregator;
sl_aggregator *sl_agg_new(sl_ctx *x);
void sl_agg_aggregate(sl_aggregator *a);
void sl_agg_evaluate(sl_aggregator *a, double *loss, double *acc);
int sl_agg_save(sl_aggregator *a, const char *path);
/* The checkpoint after `rounds_done` rounds, at the run's clock (sl/sl.h); -1 with mpsl_fail. */
int sl_agg_checkpoint(sl_aggregator *a, const char *path, int rounds_done, double clock);
/* Resume: the global model from the checkpoint, sent to every rank (sl_do_restore,
 * sl_cn_restore take it); nothing when the backend trains nothing. */
void sl_agg_restore(sl_aggregator *a, const char *path);
void sl_agg_memory(const sl_aggregator *a, mpsl_res_memory *r);
void sl_agg_free(sl_aggregator *a);

#endif
