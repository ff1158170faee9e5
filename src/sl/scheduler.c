#include "sl/scheduler.h"

#include <string.h>

#include "io/results.h"

/* Arrival order. */
static int pick_fifo(const sl_task *q, int n) {
  (void)q;
  (void)n;
  return 0;
}

/* The oldest backward task, else the oldest forward one: a backward task releases the
 * activations its copy stored and lets its data owner start the next batch sooner. */
static int pick_bwd_first(const sl_task *q, int n) {
  for (int i = 0; i < n; i++)
    if (q[i].direction == MPSL_DIR_BWD) return i;
  return 0;
}

static const struct {
  const char *name;
  sl_pick_fn pick;
} policies[] = {{"fifo", pick_fifo}, {"bwd-first", pick_bwd_first}};

sl_pick_fn sl_policy_find(const char *name) {
  for (unsigned i = 0; i < sizeof policies / sizeof policies[0]; i++)
    if (!strcmp(name, policies[i].name)) return policies[i].pick;
  return NULL;
}
