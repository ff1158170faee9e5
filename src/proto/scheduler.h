/* How a compute node picks its next task: the one table of policies that every engine
 * (mpsl run, its emulation, mpsl simulate) asks. A node's queue holds at most one task per
 * data owner it serves (one batch in flight per data owner); the policy sees only tasks
 * that have arrived, each direction in the order of sl_task_before (arrival, then data
 * owner; in emulation and simulation equal arrival times are ordered that way,
 * docs/timing.md), and chooses between the oldest forward and the oldest backward task. */
#ifndef MPSL_PROTO_SCHEDULER_H
#define MPSL_PROTO_SCHEDULER_H

typedef struct {
  int copy;       /* which data owner's copy (copies are numbered in data-owner order) */
  int direction;  /* MPSL_DIR_FWD or MPSL_DIR_BWD */
  double arrival; /* seconds since the run started (model seconds in emulation) */
} sl_task;

/* The queue order: arrival, then data owner, then forward before backward. */
static inline int sl_task_before(const sl_task *a, const sl_task *b) {
  if (a->arrival != b->arrival) return a->arrival < b->arrival;
  if (a->copy != b->copy) return a->copy < b->copy;
  return a->direction < b->direction;
}

/* The direction to serve next (MPSL_DIR_FWD or MPSL_DIR_BWD), from the oldest waiting
 * forward and backward task; NULL where none waits, never both. */
typedef int (*sl_pick_fn)(const sl_task *fwd, const sl_task *bwd);

/* Policies by name ("fifo", "bwd-first") and by index (0, 1: the timing scenario keeps the
 * index); NULL, or -1, for an unknown one. */
sl_pick_fn sl_policy_find(const char *name);
int sl_policy_index(const char *name);
sl_pick_fn sl_policy_at(int index);

#endif
