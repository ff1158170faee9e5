/* The distributed protocol's reference: the same rounds done in one process without any
 * split. Every data owner trains the whole model (one part) from the round's global model
 * on exactly the batches, dropout seed and step counter it has in `mpsl run`, then the
 * models are averaged weighted by sample count. A split run must end at the same model
 * within floating-point reassociation (SPEC §2). */
#ifndef MPSL_SL_REFERENCE_H
#define MPSL_SL_REFERENCE_H

#include <stdio.h>

#include "data/data.h"
#include "nn/stack.h"
#include "config/runconfig.h"

/* Initialises *global (one part, batch c->batch) and trains c->rounds rounds into it.
 * log (may be NULL) gets one line per round with the mean training loss and, when test is
 * not NULL, the loss and accuracy of the global model on it (the split run's numbers).
 * results (may be NULL) is a results file made by mpsl_results_create: each round is
 * appended to its `rounds` table as it finishes (time_s is NaN: nothing is emulated). */
int sl_reference_run(const sl_config *c, const mpsl_model *m, const mpsl_dataset *train, const mpsl_partition *part,
                     const mpsl_dataset *test, nn_stack *global, FILE *log, const char *results);

/* Loss and accuracy of s on the first `limit` samples of test (0: all), in batches of the
 * stack's batch size; the last batch is padded and its padding ignored. */
void sl_evaluate(nn_stack *s, const mpsl_dataset *test, int limit, double *loss, double *acc);

#endif
