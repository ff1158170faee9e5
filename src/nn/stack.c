#include "nn/stack.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

int nn_cuts_check(const mpsl_model *m, const int *cuts, int ncuts) {
  for (int i = 0; i < ncuts; i++) {
    if (cuts[i] < 1 || cuts[i] >= m->nlayers)
      return mpsl_fail("cut %d is out of range: %s has %d layers, so a cut lies in 1..%d (see mpsl layers %s)", cuts[i],
                       m->name, m->nlayers, m->nlayers - 1, m->name);
    if (i && cuts[i] <= cuts[i - 1])
      return mpsl_fail("cuts must be strictly increasing: %d follows %d", cuts[i], cuts[i - 1]);
  }
  return 0;
}

int nn_stack_init(nn_stack *s, const mpsl_model *m, const int *cuts, int ncuts, int batch) {
  memset(s, 0, sizeof *s);
  if (nn_cuts_check(m, cuts, ncuts)) return -1;
  s->model = m;
  s->batch = batch;
  s->nparts = ncuts + 1;
  s->parts = mpsl_xcalloc((size_t)s->nparts, sizeof *s->parts, "parts");
  s->first = mpsl_xcalloc((size_t)s->nparts, sizeof *s->first, "parts");
  s->last = mpsl_xcalloc((size_t)s->nparts, sizeof *s->last, "parts");
  s->act = mpsl_xcalloc((size_t)s->nparts, sizeof *s->act, "parts");
  s->grad = mpsl_xcalloc((size_t)s->nparts, sizeof *s->grad, "parts");
  for (int i = 0; i < s->nparts; i++) {
    s->first[i] = i ? cuts[i - 1] + 1 : 1;
    s->last[i] = i < ncuts ? cuts[i] : m->nlayers;
    s->parts[i] = nn_part_new(m, s->first[i], s->last[i], batch);
    if (!s->parts[i]) {
      nn_stack_free(s);
      return -1;
    }
    size_t n = (size_t)nn_part_out_numel(s->parts[i]) * batch;
    s->act[i] = mpsl_xalloc_aligned(n * sizeof(float), "activations");
    s->grad[i] = mpsl_xalloc_aligned(n * sizeof(float), "activation gradients");
  }
  s->dlogits = s->grad[s->nparts - 1];
  return 0;
}

void nn_stack_free(nn_stack *s) {
  for (int i = 0; i < s->nparts; i++) {
    nn_part_free(s->parts[i]);
    free(s->act[i]);
    free(s->grad[i]);
  }
  free(s->parts);
  free(s->first);
  free(s->last);
  free(s->act);
  free(s->grad);
  free(s->tensors);
  memset(s, 0, sizeof *s);
}

void nn_stack_init_weights(nn_stack *s, uint64_t seed) {
  for (int i = 0; i < s->nparts; i++) nn_part_init_weights(s->parts[i], seed);
}

void nn_stack_set_dropout_seed(nn_stack *s, uint64_t seed) {
  for (int i = 0; i < s->nparts; i++) nn_part_set_dropout_seed(s->parts[i], seed);
}

static void forward(nn_stack *s, const float *x, int train) {
  for (int i = 0; i < s->nparts; i++) nn_part_forward(s->parts[i], i ? s->act[i - 1] : x, s->act[i], train);
}

double nn_stack_forward_backward(nn_stack *s, const float *x, const int32_t *y, int *correct) {
  forward(s, x, 1);
  double loss = nn_xent(s->act[s->nparts - 1], y, s->batch, s->model->classes, s->dlogits, correct);
  for (int i = s->nparts - 1; i >= 0; i--) nn_part_backward(s->parts[i], s->grad[i], i ? s->grad[i - 1] : NULL);
  return loss;
}

void nn_stack_sgd(nn_stack *s, float lr, float momentum, float wd) {
  for (int i = 0; i < s->nparts; i++) nn_part_sgd(s->parts[i], lr, momentum, wd);
}

double nn_stack_train_step(nn_stack *s, const float *x, const int32_t *y, float lr, float momentum, float wd,
                           int *correct) {
  double loss = nn_stack_forward_backward(s, x, y, correct);
  nn_stack_sgd(s, lr, momentum, wd);
  return loss;
}

void nn_stack_eval(nn_stack *s, const float *x, float *logits) {
  forward(s, x, 0);
  memcpy(logits, s->act[s->nparts - 1], (size_t)s->batch * s->model->classes * sizeof(float));
}

float *nn_stack_logits(nn_stack *s) { return s->act[s->nparts - 1]; }

static int gather(nn_stack *s, mpsl_named_tensor **out, int grads) {
  int total = 0;
  free(s->tensors);
  s->tensors = NULL;
  for (int i = 0; i < s->nparts; i++) {
    mpsl_named_tensor *t;
    int n = grads ? nn_part_grad_tensors(s->parts[i], &t) : nn_part_tensors(s->parts[i], &t, 0);
    s->tensors = realloc(s->tensors, (size_t)(total + n + 1) * sizeof *s->tensors);
    if (!s->tensors) MPSL_DIE("out of memory");
    memcpy(s->tensors + total, t, (size_t)n * sizeof *t);
    total += n;
  }
  *out = s->tensors;
  return total;
}

int nn_stack_tensors(nn_stack *s, mpsl_named_tensor **out) { return gather(s, out, 0); }
int nn_stack_grad_tensors(nn_stack *s, mpsl_named_tensor **out) { return gather(s, out, 1); }
