/* Softmax cross-entropy with mean reduction, as F.cross_entropy. */
#include <math.h>

#include "nn/nn.h"

double nn_xent(const float *logits, const int32_t *labels, int n, int classes, float *dlogits, int *correct) {
  double total = 0.0;
  int hits = 0;
  for (int i = 0; i < n; i++) {
    const float *z = logits + (int64_t)i * classes;
    int arg = 0;
    float mx = z[0];
    for (int c = 1; c < classes; c++)
      if (z[c] > mx) mx = z[c], arg = c;
    double sum = 0.0;
    for (int c = 0; c < classes; c++) sum += exp((double)z[c] - mx);
    double lse = mx + log(sum);
    total += lse - z[labels[i]];
    hits += arg == labels[i];
    if (dlogits) {
      float *d = dlogits + (int64_t)i * classes;
      for (int c = 0; c < classes; c++) d[c] = (float)((exp((double)z[c] - lse) - (c == labels[i])) / n);
    }
  }
  if (correct) *correct = hits;
  return total / n;
}
