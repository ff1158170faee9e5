/* The planner's choices as configuration: `cuts = plan` (or plan:FIRST,LAST) in run,
 * simulate and estimate is replaced by the exact planner's cuts for pipeline 0 of the
 * configuration's scenario (its devices, speeds and memory caps), before anything runs. */
#ifndef MPSL_PLAN_RESOLVE_H
#define MPSL_PLAN_RESOLVE_H

#include "emu/timing.h"
#include "plan/cuts.h"

/* The devices of hops 0..H-1 of a pipeline: entries first.. of the scenario's compute
 * nodes. More hops than the configuration names devices for reuse a single device type;
 * a mix cannot be extended. dev may be NULL. -1 with mpsl_fail. */
int mpsl_plan_hop_devices(const emu_scenario *s, int first, int H, double *speed, int64_t *cap,
                          const mpsl_device **dev);

/* One pipeline of H hops on devices first.. with `copies` data owners, between the input's
 * first and last cuts: the exact plan, and the heuristic one when heur is not NULL. With
 * memory_check = false the devices' memory caps do not bind the plan. keep,
 * when not NULL, receives the problem (free it with mpsl_cut_problem_free). */
int mpsl_plan_pipeline(const emu_input *in, int first, int H, int copies, mpsl_cut_plan *opt, mpsl_cut_plan *heur,
                       mpsl_cut_problem *keep);

/* Data owners of pipeline p (owner k is served by pipeline k % R). */
static inline int mpsl_plan_owners_of(const emu_scenario *s, int p) { return (s->K - p + s->R - 1) / s->R; }

/* emu_input_load, and for `cuts = plan` the planned cuts in place of the placeholder (the
 * input is then loaded again with them). -1 with mpsl_fail, also when no cuts fit the
 * memory caps (naming the hop and what it needs). */
int mpsl_plan_input_load(emu_input *in);

/* For commands that take a configuration without loading a scenario (mpsl run): when
 * c->cuts is `plan`, writes the planned cuts into c->cuts. 0 when there is nothing to do. */
int mpsl_plan_config_cuts(sl_config *c);

#endif
