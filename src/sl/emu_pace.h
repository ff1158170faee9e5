/* Emulation inside `mpsl run` (docs/timing.md, docs/run.md): every rank keeps the times of
 * its devices in model seconds, derived from the timing scenario and from the arrival
 * times that messages carry, and sleeps so that the wall clock follows them at
 * time_scale wall seconds per model second.
 *
 * A device starts a task at max(its input's arrival, the end of its previous task) and
 * ends it a cost later: the profiled cost, or the measured oneDNN time / speed. A message
 * leaves as soon as its data exists, stamped with the time it arrives over its directed
 * link (departure max(end, link free), + bytes / bw + latency); the receiver does not use
 * it before then. A compute node waits until the wall clock reaches the time it picks its
 * next task, so its queue holds exactly the tasks that arrived by then. Model times are
 * thus those of docs/timing.md, as long as the host keeps up; when it does not (a rank
 * reached a task long after its time, or real compute outlasted the device) it is
 * counted and reported. */
#ifndef MPSL_SL_EMU_PACE_H
#define MPSL_SL_EMU_PACE_H

#include <mpi.h>

#include "emu/timing.h"
#include "sl/internal.h"

/* Builds the scenario on every rank: rank 0 first (it may measure and cache profiles),
 * then the others, which only read them. Sets x->emu, x->emulated, x->compute and
 * x->scale; prints the emulation summary on rank 0. Collective; -1 with mpsl_fail. */
int sl_emu_setup(sl_ctx *x, MPI_Comm world, emu_scenario *s);

/* A common time origin: the local MPI_Wtime value of one instant of rank 0's clock, from
 * the ping-pong with the smallest round trip against rank 0. Collective. */
double sl_emu_sync(MPI_Comm world);

/* Sets x->round_start: the end of the previous round, or a little after the slowest rank
 * got here if that is later (results, evaluation). Collective. */
void sl_emu_round_begin(sl_ctx *x, MPI_Comm world, double prev_end);
/* The round's end: the latest x->round_end of any rank. Collective. */
double sl_emu_round_end(sl_ctx *x, MPI_Comm world);
/* Sums x->overruns over the ranks (on rank 0) and resets them. Collective. */
int64_t sl_emu_overruns(sl_ctx *x, MPI_Comm world);
/* Rank 0 prints the warnings of the run: overruns, and ranks that fell behind. Collective. */
void sl_emu_report(sl_ctx *x, MPI_Comm world, int64_t overruns);

/* Wall seconds a compute node waits past the time it picks a task, for messages due at
 * that very time (ties) that are still on their way. */
#define SL_EMU_GRACE_S 0.001

/* Waits until model time `until` (INFINITY: no limit) or a message, whichever comes first:
 * 1 with *st filled if a message is waiting, 0 when the time came. Naps between polls. */
int sl_emu_wait(sl_ctx *x, double until, MPI_Status *st);
/* Sleeps until model time `until`. */
void sl_emu_sleep(const sl_ctx *x, double until);
/* A task due at `at` starts now: counts the rank as late when the wall clock is far past it. */
void sl_emu_start(sl_ctx *x, double at);
/* The end of a task that started at `start` and costs `cost` on its device. With real
 * compute that took `wall` seconds on this host: when that is longer than the device's
 * time played at time_scale, the task ends when the computation did, counted as an
 * overrun. */
double sl_emu_finish(sl_ctx *x, double start, double cost, double wall);

#endif
