/* How a compute node picks its next task. The queue holds at most one task per data owner
 * it serves (one batch in flight per data owner), in arrival order; in emulation equal
 * arrival times are ordered by data owner, then forward before backward (docs/timing.md),
 * and the policy sees only the tasks that have arrived. */
#ifndef MPSL_SL_SCHEDULER_H
#define MPSL_SL_SCHEDULER_H

typedef struct {
  int copy;       /* which data owner's copy */
  int direction;  /* MPSL_DIR_FWD or MPSL_DIR_BWD */
  double arrival; /* seconds since the run started (model seconds in emulation) */
} sl_task;

/* The queue order: arrival, then data owner (copies are numbered in owner order), then
 * forward before backward. */
static inline int sl_task_before(const sl_task *a, const sl_task *b) {
  if (a->arrival != b->arrival) return a->arrival < b->arrival;
  if (a->copy != b->copy) return a->copy < b->copy;
  return a->direction < b->direction;
}

/* Index in q[0..n) of the task to run next (n > 0). */
typedef int (*sl_pick_fn)(const sl_task *q, int n);

/* "fifo" or "bwd-first"; NULL for an unknown name. */
sl_pick_fn sl_policy_find(const char *name);

#endif
