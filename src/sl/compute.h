/* What a task computes and what it costs, a backend chosen by name from the `compute` key
 * (SPEC/STYLE: a struct of function pointers). The roles hold their parts of the model as
 * sl_part and never ask which backend they run on:
 *   "real"      each part is an nn_part trained with oneDNN; a task costs the time it took
 *               on this host over its device's speed (docs/timing.md);
 *   "profiled"  a part is its sizes only, so that buffers and messages keep their real bytes;
 *               nothing is computed and a task costs its device's profiled time. */
#ifndef MPSL_SL_COMPUTE_H
#define MPSL_SL_COMPUTE_H

#include <stdint.h>

#include "config/runconfig.h"
#include "emu/timing.h"
#include "io/results.h"
#include "models/model.h"
#include "nn/nn.h"

/* Part p (0 .. P-1 of the topology: M_1, the hops, M_P) as one role holds it. */
typedef struct {
  nn_part *nn;     /* the trained part ("real"), else NULL */
  int64_t in, out; /* floats of one batch at its input and output (the data owner's batch and
                    * logits: 0 where nothing is trained) */
  int64_t state;   /* doubles of its state: what FedAvg averages and the messages carry */
  double lr;       /* the round's learning rate (sl_round_lr), set by round() */
} sl_part;

/* What a backend needs to build a part. */
typedef struct {
  const sl_config *c;
  const mpsl_model *m;
  const sl_topo *t;
  const emu_scenario *s;
} sl_part_env;

typedef struct {
  const char *name;
  int trains;   /* parts hold weights: the data owners read data, there is a loss to report and
                 * a model to evaluate and save */
  int measured; /* a task's time on this host is what it costs (over its device's speed), so a
                 * task that computed longer than its device would have is an overrun */
  /* part p for data owner `owner` (its dropout stream); -1 with mpsl_fail */
  int (*init)(sl_part *pt, const sl_part_env *e, int p, int owner);
  /* a round begins at the owner's batch `step` of the run: momenta restart (SPEC §2), and
   * its SGD steps take learning rate lr */
  void (*round)(sl_part *pt, uint64_t step, double lr);
  void (*forward)(sl_part *pt, const float *in, float *out);
  /* backward and the SGD update (at the round's lr, c's momentum and weight decay); din
   * NULL: the input's gradient is not needed */
  void (*backward)(sl_part *pt, const float *dout, float *din, const sl_config *c);
  /* acc += w * state; the state = acc */
  void (*add)(const sl_part *pt, double w, double *acc);
  void (*load)(sl_part *pt, const double *acc);
  /* model seconds of a task that its device's profile says takes `profiled` and that took
   * `wall` seconds here on a device `speed` times as fast as this host */
  double (*cost)(double profiled, double wall, double speed);
  /* the least a task of that profile can cost (what exact emulation may count on) */
  double (*least)(double profiled);
} sl_compute;

/* "real" or "profiled"; NULL for another name. */
const sl_compute *sl_compute_find(const char *name);
void sl_part_free(sl_part *pt);
/* The memory columns of r += what the part holds (nothing unless it is trained). */
void sl_part_memory(const sl_part *pt, mpsl_res_memory *r);

#endif
