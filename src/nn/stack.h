/* A model cut into consecutive parts in one process: what `mpsl train --cuts` runs, and
 * the reference the distributed protocol must reproduce. The activation at each cut is
 * copied between parts in plain layout, exactly what a message would carry. */
#ifndef MPSL_NN_STACK_H
#define MPSL_NN_STACK_H

#include "nn/nn.h"

typedef struct {
  const mpsl_model *model;
  int nparts, batch;
  nn_part **parts;
  int *first, *last; /* layer range of each part */
  float **act;       /* act[i]: (batch, out of part i) */
  float **grad;      /* grad[i]: (batch, out of part i) */
  float *dlogits;
  mpsl_named_tensor *tensors;
} nn_stack;

/* cuts: layer indices after which a part ends, strictly increasing in 1..nlayers-1
 * (ncuts 0: one part). Returns -1 with mpsl_fail naming the bad cut. */
int nn_cuts_check(const mpsl_model *m, const int *cuts, int ncuts);
int nn_stack_init(nn_stack *s, const mpsl_model *m, const int *cuts, int ncuts, int batch);
void nn_stack_free(nn_stack *s);
void nn_stack_init_weights(nn_stack *s, uint64_t seed);
void nn_stack_set_dropout_seed(nn_stack *s, uint64_t seed);
/* One SGD step on (x, y); returns the mean loss, *correct the argmax hits. */
double nn_stack_train_step(nn_stack *s, const float *x, const int32_t *y, float lr, float momentum, float wd,
                           int *correct);
/* Forward without training; logits: (batch, classes). */
void nn_stack_eval(nn_stack *s, const float *x, float *logits);
/* Every tensor of every part (the whole state_dict); kept until the next call. */
int nn_stack_tensors(nn_stack *s, mpsl_named_tensor **out);
int nn_stack_grad_tensors(nn_stack *s, mpsl_named_tensor **out);
/* Forward + loss + backward without update (gradients then readable). */
double nn_stack_forward_backward(nn_stack *s, const float *x, const int32_t *y, int *correct);
void nn_stack_sgd(nn_stack *s, float lr, float momentum, float wd);
float *nn_stack_logits(nn_stack *s);

#endif
