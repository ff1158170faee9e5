/* A part's whole state as one vector of doubles, for FedAvg and for moving a part between
 * ranks: [parameters (arena_len) | running statistics (stats_len) | num_batches_tracked
 * (one per batch norm)]. Doubles hold every float and every counter exactly, so averaging
 * copies whose counters are equal gives that counter back. */
#ifndef MPSL_NN_REPLICA_H
#define MPSL_NN_REPLICA_H

#include <stdint.h>

#include "nn/nn.h"

int64_t nn_part_state_len(nn_part *p);
/* acc (state_len) += w * state of p. */
void nn_part_state_accumulate(nn_part *p, double w, double *acc);
/* state of p := s (state_len); parameters are rounded to float. */
void nn_part_state_load(nn_part *p, const double *s);
/* FedAvg (SPEC §2), the one place of its arithmetic: the average of states weighted by the
 * data owners' sample counts is acc = sum of w_k * state_k (nn_part_state_accumulate, or
 * nn_state_add for a received state), then nn_state_average with total = sum of w_k. */
void nn_state_add(double *acc, const double *state, int64_t n, double w);
void nn_state_average(double *acc, int64_t n, double total);
/* Zeroes the momenta: optimizer state does not survive an aggregation. */
void nn_part_reset_momenta(nn_part *p);

#endif
