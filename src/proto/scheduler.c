#include "proto/scheduler.h"

#include <string.h>

#include "io/results.h"

/* Arrival order: the older of the two. */
static int pick_fifo(const sl_task *fwd, const sl_task *bwd) {
  if (!bwd) return MPSL_DIR_FWD;
  if (!fwd) return MPSL_DIR_BWD;
  return sl_task_before(bwd, fwd) ? MPSL_DIR_BWD : MPSL_DIR_FWD;
}

/* The oldest backward task, else the oldest forward one: a backward task releases the
 * activations its copy stored and lets its data owner start the next batch sooner. */
static int pick_bwd_first(const sl_task *fwd, const sl_task *bwd) {
  (void)fwd;
  return bwd ? MPSL_DIR_BWD : MPSL_DIR_FWD;
}

static const struct {
  const char *name;
  sl_pick_fn pick;
} policies[] = {{"fifo", pick_fifo}, {"bwd-first", pick_bwd_first}};
enum { NPOLICIES = sizeof policies / sizeof policies[0] };

int sl_policy_index(const char *name) {
  for (int i = 0; i < NPOLICIES; i++)
    if (!strcmp(name, policies[i].name)) return i;
  return -1;
}

sl_pick_fn sl_policy_at(int index) { return index >= 0 && index < NPOLICIES ? policies[index].pick : NULL; }

sl_pick_fn sl_policy_find(const char *name) { return sl_policy_at(sl_policy_index(name)); }
