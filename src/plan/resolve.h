/* The planner's choices as configuration: `cuts = plan` (or plan:FIRST,LAST) in run,
 * simulate and estimate is replaced by the exact planner's cuts for pipeline 0 of the
 * configuration's scenario (its devices, speeds and memory caps), before anything runs;
 * `distribution = plan` by the planner's data owners per pipeline. */
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

/* Data owners of pipeline p. */
static inline int mpsl_plan_owners_of(const emu_scenario *s, int p) { return emu_pipe_owners(s, p); }

/* n owners on pipeline p at the input's cuts: n x its period on its devices, INFINITY when
 * they do not fit its memory caps (ignored with memory_check = false). */
double mpsl_plan_load(const emu_input *in, int p, int n);

/* The data owners of each of the R pipelines (n, R entries) that make the slowest
 * pipeline's n_p x period_p least, every pipeline at the input's cuts on its own devices
 * and within their memory caps (mpsl_distribute_owners). -1 with mpsl_fail when they
 * cannot hold K owners, or a pipeline would get none. */
int mpsl_plan_distribution(const emu_input *in, int *n);

/* emu_input_load, and for `cuts = plan` the planned cuts in place of the placeholder, then
 * for `distribution = plan` the planned distribution (the input is then loaded again). -1 with mpsl_fail, also when no
 * cuts fit the memory caps (naming the hop and what it needs). */
int mpsl_plan_input_load(emu_input *in);

/* For commands that take a configuration without loading a scenario (mpsl run): when
 * c->cuts or c->distribution is `plan`, writes the planned values into c. 0 when there is
 * nothing to do. */
int mpsl_plan_config(sl_config *c);

#endif
