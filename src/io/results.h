/* The results file of a run (docs/results.md): root attributes with the resolved
 * configuration, versions, hosts and status; one extendible table (a 1-D dataset of a
 * compound type) per kind of record. Every call opens the file, writes and closes it, so
 * whatever was appended before a crash is on disk and readable. */
#ifndef MPSL_IO_RESULTS_H
#define MPSL_IO_RESULTS_H

#include <stdint.h>

/* wall_s: real seconds the round took (emulation: wall clock on the aggregator, including
 * aggregation and evaluation; simulation: the simulator's own run time). time_s: the
 * protocol's time of the round in model seconds (docs/timing.md): from its start until the
 * last data owner holds the global model; evaluation is not part of it. overruns: tasks
 * whose real compute took longer than the emulated device would have (0 in simulation). */
typedef struct {
  int32_t round;
  double wall_s, time_s, train_loss, test_loss, test_acc;
  int64_t overruns;
} mpsl_res_round;

enum { MPSL_DIR_FWD = 0, MPSL_DIR_BWD = 1 };

/* One task: role 0 aggregator, 1 compute node, 2 data owner; direction 0 forward, 1
 * backward; part 1..P as in the protocol (1 = M_1, P = M_P); times in seconds since the
 * run started; queue_wait from the arrival of the message that made the task to its start;
 * bytes sent when it ended. */
typedef struct {
  int32_t round, rank, role, owner, batch, direction, part;
  double start, end, queue_wait;
  int64_t bytes;
} mpsl_res_event;

typedef struct {
  int32_t round, rank, role;
  int64_t accounted, params, grads, optim, stats, weight_copies, activations, act_grads, scratch, workspace, buffers,
      peak_rss, cap; /* cap: the memory of the rank's device (0: none), for the accounted bytes */
  /* not in accounted, for comparing with peak_rss: the dataset the rank loaded, and the
   * resident bytes of the process before the run allocated anything */
  int64_t dataset, baseline;
} mpsl_res_memory;

typedef struct {
  int32_t round, src, dst;
  int64_t bytes, messages;
} mpsl_res_link;

typedef struct {
  int32_t round, owner;
  int64_t activation, gradient, model, input, label;
} mpsl_res_audit;

typedef enum {
  MPSL_RES_ROUNDS,
  MPSL_RES_EVENTS,
  MPSL_RES_MEMORY,
  MPSL_RES_LINKS,
  MPSL_RES_AUDIT,
  MPSL_RES_NTABLES
} mpsl_res_table;

/* "rounds", "events", ...; MPSL_RES_NTABLES for an unknown name. */
mpsl_res_table mpsl_res_table_find(const char *name);
const char *mpsl_res_table_name(mpsl_res_table t);
/* CSV header line and one row, as `mpsl report --csv` prints them. */
void mpsl_res_csv_header(mpsl_res_table t, char *buf, int cap);
void mpsl_res_csv_row(mpsl_res_table t, const void *row, char *buf, int cap);

typedef struct {
  const char *key, *value;
} mpsl_res_attr;

/* Creates (replaces) the file with its attributes, status "running" and empty tables. */
int mpsl_results_create(const char *path, const mpsl_res_attr *attrs, int n);
int mpsl_results_append(const char *path, mpsl_res_table t, const void *rows, int64_t n);
/* rows (K, 4 + classes): owner, rank, pipeline, samples, then the label histogram. */
int mpsl_results_partition(const char *path, const int64_t *rows, int K, int classes);
int mpsl_results_set_status(const char *path, const char *status);
/* Cuts every table back to the rows of the first `rounds` rounds (what a resumed run
 * continues from: rows of a round that did not reach its checkpoint are played again). */
int mpsl_results_truncate(const char *path, int rounds);
/* A resumed run takes the file over: its tables cut back to `rounds` rounds, status
 * "running", and `rounds` appended to the attribute resumed_after ("2,4": resumed after
 * round 2, then after round 4). */
int mpsl_results_resume(const char *path, int rounds);
/* Sets (replaces) one root attribute of an existing results file. */
int mpsl_results_set_attr(const char *path, const char *key, const char *value);

/* Reading: rows malloc'd in the structs above; attributes as malloc'd strings. */
int mpsl_results_read(const char *path, mpsl_res_table t, void **rows, int64_t *n);
int mpsl_results_read_partition(const char *path, int64_t **rows, int *K, int *classes);
int mpsl_results_attr(const char *path, const char *key, char **value);

#endif
