/* The compute backends (sl/compute.h): "real" and "profiled". */
#include "sl/compute.h"

#include <stdlib.h>
#include <string.h>

#include "nn/replica.h"
#include "sl/batches.h"
#include "sl/memplan.h"

static int real_init(sl_part *pt, const sl_part_env *e, int p, int owner) {
  const sl_topo *t = e->t;
  int B = e->c->batch;
  pt->nn = nn_part_new(e->m, t->first[p], t->last[p], B);
  if (!pt->nn) return -1;
  nn_part_init_weights(pt->nn, (uint64_t)e->c->seed);
  nn_part_set_dropout_seed(pt->nn, sl_owner_dropout_seed(e->c, owner));
  pt->in = nn_part_in_numel(pt->nn) * B;
  pt->out = nn_part_out_numel(pt->nn) * B;
  pt->state = nn_part_state_len(pt->nn);
  return 0;
}

static void real_round(sl_part *pt, uint64_t step, double lr) {
  pt->lr = lr;
  nn_part_reset_momenta(pt->nn);
  nn_part_set_step(pt->nn, step);
}

static void real_forward(sl_part *pt, const float *in, float *out) { nn_part_forward(pt->nn, in, out, 1); }

static void real_backward(sl_part *pt, const float *dout, float *din, const sl_config *c) {
  nn_part_backward(pt->nn, dout, din);
  nn_part_sgd(pt->nn, (float)pt->lr, (float)c->momentum, (float)c->weight_decay);
}

static void real_add(const sl_part *pt, double w, double *acc) { nn_part_state_accumulate(pt->nn, w, acc); }
static void real_load(sl_part *pt, const double *acc) { nn_part_state_load(pt->nn, acc); }
static double real_cost(double profiled, double wall, double speed) { return (void)profiled, wall / speed; }
/* measured: nothing is known before it ran */
static double real_least(double profiled) { return (void)profiled, 0; }

/* The real message sizes, whole floats, from the scenario: M_1 sends the activation at cut
 * 0, hop h receives cut h and sends cut h+1, M_P receives cut H; the data owner's M_1 and
 * M_P travel together as owner_state, a hop as hop_state. */
static int prof_init(sl_part *pt, const sl_part_env *e, int p, int owner) {
  (void)owner;
  const emu_scenario *s = e->s;
  int P = e->t->P;
  pt->nn = NULL;
  pt->in = p == 0 ? 0 : s->cut_bytes[p - 1] / 4;
  pt->out = p == P - 1 ? 0 : s->cut_bytes[p] / 4;
  pt->state = (p == 0 ? s->owner_state : p == P - 1 ? 0 : s->hop_state[p - 1]) / (int64_t)sizeof(double);
  return 0;
}

static void prof_round(sl_part *pt, uint64_t step, double lr) { pt->lr = lr, (void)step; }
static void prof_forward(sl_part *pt, const float *in, float *out) { (void)pt, (void)in, (void)out; }
static void prof_backward(sl_part *pt, const float *dout, float *din, const sl_config *c) {
  (void)pt, (void)dout, (void)din, (void)c;
}
static void prof_add(const sl_part *pt, double w, double *acc) { (void)pt, (void)w, (void)acc; }
static void prof_load(sl_part *pt, const double *acc) { (void)pt, (void)acc; }
static double prof_cost(double profiled, double wall, double speed) { return (void)wall, (void)speed, profiled; }
static double prof_least(double profiled) { return profiled; }

static const sl_compute backends[] = {
    {"real", 1, 1, real_init, real_round, real_forward, real_backward, real_add, real_load, real_cost, real_least},
    {"profiled", 0, 0, prof_init, prof_round, prof_forward, prof_backward, prof_add, prof_load, prof_cost, prof_least},
};

const sl_compute *sl_compute_find(const char *name) {
  for (unsigned i = 0; i < sizeof backends / sizeof backends[0]; i++)
    if (!strcmp(name, backends[i].name)) return &backends[i];
  return NULL;
}

void sl_part_free(sl_part *pt) {
  nn_part_free(pt->nn);
  memset(pt, 0, sizeof *pt);
}

void sl_part_memory(const sl_part *pt, mpsl_res_memory *r) {
  if (!pt->nn) return;
  nn_mem_stats m;
  nn_part_memory(pt->nn, &m);
  sl_mem_row_add(r, &m, 1);
}
