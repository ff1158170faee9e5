#include <stdlib.h>

#include "sl/reference.h"
#include "util/err.h"

void sl_evaluate(nn_stack *s, const mpsl_dataset *test, int limit, double *loss, double *acc) {
  int64_t n = limit > 0 && limit < test->n ? limit : test->n;
  int b = s->batch;
  const mpsl_model *m = s->model;
  float *x = mpsl_xalloc_aligned((size_t)b * m->channels * m->size * m->size * sizeof *x, "test batch");
  float *logits = mpsl_xmalloc((size_t)b * m->classes * sizeof *logits, "logits");
  int32_t *y = mpsl_xmalloc((size_t)b * sizeof *y, "labels");
  int64_t *idx = mpsl_xmalloc((size_t)b * sizeof *idx, "indices");
  double sum = 0;
  int64_t hits = 0;
  for (int64_t at = 0; at < n; at += b) {
    int k = (int)(n - at < b ? n - at : b);
    for (int i = 0; i < b; i++) idx[i] = at + (i < k ? i : 0);
    mpsl_dataset_batch(test, idx, b, x, y, NULL);
    nn_stack_eval(s, x, logits);
    int correct;
    sum += nn_xent(logits, y, k, m->classes, NULL, &correct) * k;
    hits += correct;
  }
  free(x);
  free(logits);
  free(y);
  free(idx);
  *loss = sum / (double)n;
  *acc = (double)hits / (double)n;
}
