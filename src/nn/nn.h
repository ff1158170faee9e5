/* The training engine: a part is a contiguous range of a model's layer table that owns
 * its parameters, gradients, optimizer state and the activations it stores for backward.
 * Inputs and outputs at a part's edges are plain C-order float tensors, (N, C, H, W) or
 * (N, F): exactly what crosses a cut. Inside, tensors keep oneDNN's blocked layouts. */
#ifndef MPSL_NN_NN_H
#define MPSL_NN_NN_H

#include <stdint.h>
#include <stdio.h>

#include "io/weights.h"
#include "models/model.h"

typedef struct nn_part nn_part;

/* Builds layers first..last (1-based, inclusive) of m for a fixed batch size. Parameters
 * start at zero (running variances at one): nn_part_init_weights or a loaded state gives
 * them values, so sizing a part (the memory plan) costs no random draws.
 * Returns NULL with mpsl_fail on an invalid range. */
nn_part *nn_part_new(const mpsl_model *m, int first, int last, int batch);
/* The same part, for its sizes only (nn_part_memory, nn_part_state_len, edges): its arenas
 * are left untouched and uninitialised, so sizing a large part costs no page faults. It
 * must not run forward or backward. */
nn_part *nn_part_new_sizing(const mpsl_model *m, int first, int last, int batch);
void nn_part_free(nn_part *p);

/* Per-layer seeded initialisation (torchvision's schemes); the draws of a layer depend only
 * on (seed, layer index), so split and unsplit models start identical. */
void nn_part_init_weights(nn_part *p, uint64_t seed);
/* Seed of the dropout masks; the mask of a step depends on (seed, layer, step). */
void nn_part_set_dropout_seed(nn_part *p, uint64_t seed);
/* Training steps taken (forward passes in training mode); dropout masks depend on it. */
uint64_t nn_part_step(const nn_part *p);
void nn_part_set_step(nn_part *p, uint64_t step);

/* x: (N, in); y: (N, out). train=1 stores what backward needs and uses batch statistics;
 * train=0 is evaluation (running statistics, no dropout) and must not be followed by backward. */
void nn_part_forward(nn_part *p, const float *x, float *y, int train);
/* dy: (N, out) gradient of the loss w.r.t. y. dx: (N, in), or NULL when nobody needs it
 * (the first part of a model). Overwrites the parameter gradients. */
void nn_part_backward(nn_part *p, const float *dy, float *dx);
/* PyTorch's SGD: g += wd*w; m = momentum*m + g; w -= lr*m. */
void nn_part_sgd(nn_part *p, float lr, float momentum, float weight_decay);
/* Call after writing into nn_part_params() or the buffers from outside (FedAvg, load). */
void nn_part_params_changed(nn_part *p);

/* Shapes per sample at the edges (C, H, W; a flat edge has H = W = 1). */
int64_t nn_part_in_numel(const nn_part *p);  /* per sample */
int64_t nn_part_out_numel(const nn_part *p); /* per sample */
int nn_part_batch(const nn_part *p);

/* The arenas: parameters, their gradients and momenta share one layout. */
float *nn_part_params(nn_part *p);
float *nn_part_grads(nn_part *p);
float *nn_part_momenta(nn_part *p);
int64_t nn_part_arena_len(const nn_part *p); /* floats in each arena (with alignment gaps) */
int64_t nn_part_nparams(const nn_part *p);   /* trainable parameters, no gaps */
/* Running statistics (float) of the batch norms, one buffer. */
float *nn_part_stats(nn_part *p);
int64_t nn_part_stats_len(const nn_part *p);

/* The state_dict of the part: parameters, running statistics and num_batches_tracked,
 * pointing into the part's memory. kind: 0 all, 1 trainable parameters only. */
int nn_part_tensors(nn_part *p, mpsl_named_tensor **out, int trainable_only);
/* Gradients with the parameters' names. */
int nn_part_grad_tensors(nn_part *p, mpsl_named_tensor **out);

/* Bytes the part holds, as allocated: the parameter, gradient and momentum arenas (with
 * their alignment gaps), running statistics, weights reordered into the layouts oneDNN's
 * kernels want, activations stored for backward (and the part's input copy), activation
 * gradient buffers, the shared scratchpad, and workspaces (max-pool indices, batch
 * statistics). */
typedef struct {
  int64_t params, grads, optim, stats, weight_copies, activations, act_grads, scratch, workspace;
} nn_mem_stats;
void nn_part_memory(const nn_part *p, nn_mem_stats *s);
int64_t nn_mem_total(const nn_mem_stats *s);

/* Softmax cross-entropy, mean over the batch. logits (n, classes); dlogits may be NULL.
 * Returns the mean loss; *correct counts argmax hits when non-NULL. */
double nn_xent(const float *logits, const int32_t *labels, int n, int classes, float *dlogits, int *correct);

/* Where a step's time goes, for `mpsl bench --breakdown`. Off unless switched on; then every
 * oneDNN primitive is timed (monotonic clock around its execution and the stream's wait)
 * and so are mpsl's own loops, each added to its row and kind. Rows: 0 is the part as a
 * whole (the reorders at its plain edges, the input copy, the update), i >= 1 its i-th
 * layer (layer first + i - 1 of the table; a ResNet block's operations are its row). */
enum {
  NN_WORK_FWD,         /* oneDNN forward primitives */
  NN_WORK_BWD_DATA,    /* backward-data (batch norm's backward, which also gives scale and shift gradients) */
  NN_WORK_BWD_WEIGHTS, /* backward-weights */
  NN_WORK_REORDER,     /* reorders: layouts between layers, weights to the kernels' layouts, plain edges */
  NN_WORK_UPDATE,      /* SGD over the part's arena (mpsl's loop) */
  NN_WORK_OWN,         /* mpsl's other loops: adaptive average pool, dropout, running statistics, input copy, im2col/col2im */
  NN_WORK_KINDS
};
#define NN_WORK_DNNL(kind) ((kind) <= NN_WORK_REORDER) /* a kind timed around oneDNN primitives */
void nn_profile_enable(int on);
int nn_part_first(const nn_part *p);
int nn_part_nlayers(const nn_part *p);
/* t[row * NN_WORK_KINDS + kind] = seconds since the last reset, rows 0..nlayers. */
void nn_part_profile(const nn_part *p, double *t);
void nn_part_profile_reset(nn_part *p);

/* oneDNN's version as "major.minor.patch". */
const char *nn_dnnl_version(void);

#endif
