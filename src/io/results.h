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

/* Rounds count from 1 in every table (round 1 is the first round played).
 *
 * One task: role 0 aggregator, 1 compute node, 2 data owner; direction 0 forward, 1
 * backward; part 1..P as in the protocol (1 = M_1, P = M_P); times in seconds since the
 * run started; queue_wait from the arrival of the message that made the task to its start;
 * bytes sent when it ended. In the file, role, direction and part are HDF5 enumerations
 * of int32 that name these codes ("data owner", "backward", "M_1", "hop 2", "M_P"); in
 * memory they are the plain codes. */
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
/* CSV header line and one row, as `mpsl report --csv` prints them: integers (the codes of
 * the enumerations too) and doubles written with the fewest digits that read back to the
 * same double (at most 17), "nan" and "inf" as C prints them. */
void mpsl_res_csv_header(mpsl_res_table t, char *buf, int cap);
void mpsl_res_csv_row(mpsl_res_table t, const void *row, char *buf, int cap);

/* The partition table as CSV: owner,rank,pipeline,samples,labels_0,...,labels_{classes-1}. */
void mpsl_res_partition_csv_header(int classes, char *buf, int cap);
void mpsl_res_partition_csv_row(const int64_t *row, int classes, char *buf, int cap);
/* A double as the CSV writes it: the shortest %.Ng (N <= 17) that reads back exactly. */
void mpsl_res_real_str(double v, char *buf, int cap);

/* A root attribute: text, a 64-bit integer, a double, a boolean (HDF5's enumeration
 * FALSE/TRUE of int8, the one h5py reads as numpy.bool_), or a list of integers (a 1-D
 * int64 array, an empty one a null dataspace). A key "group/name" is attribute `name` of
 * group `group`, made when missing. Initialise with the MPSL_ATTR_* macros. */
typedef enum { MPSL_ATTR_TEXT, MPSL_ATTR_INT, MPSL_ATTR_REAL, MPSL_ATTR_BOOL, MPSL_ATTR_INTS } mpsl_attr_kind;
typedef struct {
  const char *key, *value; /* value: TEXT */
  mpsl_attr_kind kind;
  int64_t i;        /* INT, BOOL */
  double d;         /* REAL */
  const int64_t *v; /* (n) INTS */
  int n;
} mpsl_res_attr;
#define MPSL_ATTR_S(k, s) \
  { (k), (s), MPSL_ATTR_TEXT, 0, 0, NULL, 0 }
#define MPSL_ATTR_I(k, x) \
  { (k), NULL, MPSL_ATTR_INT, (int64_t)(x), 0, NULL, 0 }
#define MPSL_ATTR_R(k, x) \
  { (k), NULL, MPSL_ATTR_REAL, 0, (double)(x), NULL, 0 }
#define MPSL_ATTR_B(k, x) \
  { (k), NULL, MPSL_ATTR_BOOL, (x) ? 1 : 0, 0, NULL, 0 }
#define MPSL_ATTR_L(k, vals, count) \
  { (k), NULL, MPSL_ATTR_INTS, 0, 0, (vals), (count) }

/* The layout of docs/results.md that this program writes, in the root attribute
 * `format_version`: 2 since numbers are typed, codes are enumerations and every table
 * counts rounds from 1 (files without it are older: strings only, and every table but
 * `rounds` counted rounds from 0). */
#define MPSL_RESULTS_FORMAT 2

/* Creates (replaces) the file with its attributes, status "running", `format_version`,
 * `started` (UTC now) and empty tables. parts: P, the model parts that the events' `part`
 * enumeration names (M_1, hop 1..P-2, M_P); below 2, `part` is a plain integer. */
int mpsl_results_create(const char *path, const mpsl_res_attr *attrs, int n, int parts);
int mpsl_results_append(const char *path, mpsl_res_table t, const void *rows, int64_t n);
/* Rows of several tables in one step: all of them are in the file, or (a failed write)
 * none, and the file is as it was. */
typedef struct {
  mpsl_res_table t;
  const void *rows;
  int64_t n;
} mpsl_res_rows;
int mpsl_results_append_many(const char *path, const mpsl_res_rows *sets, int n);
/* rows (K, 4 + classes): owner, rank, pipeline, samples, then the label histogram. */
int mpsl_results_partition(const char *path, const int64_t *rows, int K, int classes);
/* "running", "finished" or "aborted: ..."; any but "running" also sets `ended` (UTC now),
 * "running" removes it (a resumed run). "running" keeps room for the others, which then
 * take no new space in the file: a full disk still takes the status that says so (cut to
 * the room, without `ended`, where it does not fit; the call then fails all the same). */
int mpsl_results_set_status(const char *path, const char *status);
/* The same with attributes `also` written in the same step (a simulation's speed). */
int mpsl_results_set_status_with(const char *path, const char *status, const mpsl_res_attr *also, int n);
/* Cuts every table back to the rows of the first `rounds` rounds (what a resumed run
 * continues from: rows of a round that did not reach its checkpoint are played again). */
int mpsl_results_truncate(const char *path, int rounds);
/* A resumed run takes the file over: the file must be of this format
 * (MPSL_RESULTS_FORMAT: another counts its rounds otherwise); its tables are cut back to
 * `rounds` rounds, its status is "running", `rounds` is appended to the list
 * resumed_after ([2, 4]: resumed after round 2, then after round 4), resumed_command is
 * this command line, and the n attributes `also` replace theirs. -1 with mpsl_fail. */
int mpsl_results_resume(const char *path, int rounds, const mpsl_res_attr *also, int n);
/* Sets (replaces) one text root attribute of an existing results file, or any attributes. */
int mpsl_results_set_attr(const char *path, const char *key, const char *value);
int mpsl_results_set_attrs(const char *path, const mpsl_res_attr *attrs, int n);

/* Reading: rows malloc'd in the structs above (older files too); an attribute as a
 * malloc'd string: text as it is, numbers as mpsl report prints them (integers in
 * decimal, doubles as the CSV does, lists comma-separated, booleans true/false). */
int mpsl_results_read(const char *path, mpsl_res_table t, void **rows, int64_t *n);
int mpsl_results_read_partition(const char *path, int64_t **rows, int *K, int *classes);
int mpsl_results_attr(const char *path, const char *key, char **value);

#endif
