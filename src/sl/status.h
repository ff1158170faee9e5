/* What the `status` of a run's results file says, kept true by rank 0 (docs/results.md):
 * `running` while the run runs, `finished`, or `aborted: REASON` when it ends any other way
 * and rank 0 lives to say so: an error (its message), or a signal (SIGTERM, as mpirun and a
 * Slurm time limit send it; SIGINT, SIGHUP, SIGXCPU). Beside it, who writes the file
 * (writer_host, writer_pid, writer_start: the process's start time, so that a reused pid is
 * not taken for it) and a `heartbeat` (UTC) each round. From the writer, a `mpsl report` on
 * the same host tells a run that still runs from one whose rank 0 is gone (killed with
 * SIGKILL, or by the launcher after another rank died): "interrupted". */
#ifndef MPSL_SL_STATUS_H
#define MPSL_SL_STATUS_H

/* Rank 0, once the results file `out` exists: the writer's attributes, a heartbeat, and a
 * thread that writes `aborted: signal ...` when one of those signals comes, then lets it
 * end the process. -1 with mpsl_fail. */
int sl_status_begin(const char *out);
/* The heartbeat, after each round. -1 with mpsl_fail. */
int sl_status_heartbeat(void);
/* `aborted: why` (nothing before sl_status_begin or after sl_status_end). */
void sl_status_aborted(const char *why);
/* Signals get their default action again, before the run writes `finished`. */
void sl_status_end(void);

/* Of a results file marked `running`: 1 while its writer runs, 0 when it is gone, -1 when
 * that cannot be seen from here (another host, or a file that names no writer); what it
 * found, for a person, in buf ("running (rank 0 of the run, pid P on H, runs; ...)",
 * "interrupted (...)"). */
int sl_status_writer(const char *path, char *buf, int cap);

#endif
