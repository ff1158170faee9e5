#include "sl/reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/results.h"
#include "nn/replica.h"
#include "sl/batches.h"
#include "util/err.h"
#include "util/timer.h"

/* The partition table of a split run's file, from one process: every data owner on rank 0,
 * pipeline 0. */
static int write_partition(const sl_config *c, const mpsl_dataset *train, const mpsl_partition *part, const char *out) {
  int row = 4 + train->classes;
  int64_t *rows = mpsl_xcalloc((size_t)c->clients * (size_t)row, sizeof *rows, "partition");
  for (int k = 0; k < c->clients; k++) {
    int64_t *r = rows + (size_t)k * (size_t)row;
    r[0] = k, r[3] = part->count[k];
    for (int64_t i = 0; i < part->count[k]; i++) r[4 + train->labels[part->index[k][i]]]++;
  }
  int rc = mpsl_results_partition(out, rows, c->clients, train->classes);
  free(rows);
  return rc;
}

int sl_reference_run(const sl_config *c, const mpsl_model *m, const mpsl_dataset *train, const mpsl_partition *part,
                     const mpsl_dataset *test, nn_stack *global, FILE *log, const char *results) {
  nn_stack worker;
  if (nn_stack_init(global, m, NULL, 0, c->batch)) return -1;
  if (nn_stack_init(&worker, m, NULL, 0, c->batch)) {
    nn_stack_free(global);
    return -1;
  }
  nn_stack_init_weights(global, (uint64_t)c->seed);
  if (results && write_partition(c, train, part, results)) {
    nn_stack_free(&worker);
    return -1;
  }
  nn_part *g = global->parts[0], *w = worker.parts[0];
  int64_t len = nn_part_state_len(g);
  double *state = mpsl_xmalloc((size_t)len * sizeof *state, "global state");
  double *acc = mpsl_xmalloc((size_t)len * sizeof *acc, "average");
  int64_t in = (int64_t)m->channels * m->size * m->size, per_round = (int64_t)c->local_epochs * c->batches;
  float *x = mpsl_xalloc_aligned((size_t)c->batch * in * sizeof *x, "batch");
  int32_t *y = mpsl_xmalloc((size_t)c->batch * sizeof *y, "labels");
  sl_absence absent; /* the engines' own rule: the same owners sit out */
  int rc = sl_absence_load(&absent, c);
  for (int t = 0; t < c->rounds && !rc; t++) {
    double begin = mpsl_now();
    memset(state, 0, (size_t)len * sizeof *state);
    nn_part_state_accumulate(g, 1.0, state);
    memset(acc, 0, (size_t)len * sizeof *acc);
    double loss = 0, lr = sl_round_lr(c, t);
    int64_t total = 0, trained = 0; /* samples and data owners that train this round */
    for (int k = 0; k < c->clients && !rc; k++) {
      if (sl_owner_absent(&absent, t, k)) continue;
      total += part->count[k], trained++;
      sl_batches b;
      sl_batches_init(&b, c, k, part->index[k], part->count[k]);
      nn_part_state_load(w, state);
      nn_part_reset_momenta(w);
      nn_part_set_dropout_seed(w, sl_owner_dropout_seed(c, k));
      nn_part_set_step(w, (uint64_t)(t * per_round));
      for (int e = 0; e < c->local_epochs && !rc; e++) {
        sl_batches_epoch(&b, c, (int64_t)t * c->local_epochs + e);
        for (int i = 0; i < c->batches; i++) {
          int64_t step = t * per_round + (int64_t)e * c->batches + i;
          sl_batches_draw(&b, c, train, i, step, x, y);
          double l = nn_stack_train_step(&worker, x, y, (float)lr, (float)c->momentum, (float)c->weight_decay, NULL);
          if (!isfinite(l)) {
            rc = mpsl_fail("data owner %d: the loss became %g in round %d: lower lr", k, l, t + 1);
            break;
          }
          loss += l;
        }
      }
      nn_part_state_accumulate(w, (double)part->count[k], acc);
      sl_batches_free(&b);
    }
    if (total > 0) { /* none: the global model stays */
      nn_state_average(acc, len, (double)total);
      nn_part_state_load(g, acc);
    }
    if ((log || results) && !rc) {
      double tl = NAN, ta = NAN;
      if (test) sl_evaluate(global, test, c->test_limit, &tl, &ta);
      double mean = loss / (double)(trained * per_round);
      if (log) {
        fprintf(log, "reference round %d train_loss=%.6f", t + 1, mean);
        if (test) fprintf(log, " test_loss=%.6f test_acc=%.4f", tl, ta);
        fprintf(log, "\n");
        fflush(log);
      }
      mpsl_res_round r = {t + 1, mpsl_now() - begin, NAN, mean, tl, ta, 0};
      if (results) rc = mpsl_results_append(results, MPSL_RES_ROUNDS, &r, 1);
    }
  }
  sl_absence_free(&absent);
  free(state);
  free(acc);
  free(x);
  free(y);
  nn_stack_free(&worker);
  if (rc) nn_stack_free(global);
  return rc;
}
