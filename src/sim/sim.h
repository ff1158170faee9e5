/* The discrete-event simulator of MP-SL (`mpsl simulate`): the protocol of `mpsl run`
 * played in virtual time on a timing scenario (emu/timing.h), following the rules of
 * docs/timing.md to the letter: task costs, directed links busy while they send, compute
 * node queues and their policies, ties, the end of a round. Nothing is computed and no
 * message is sent; every task becomes a row of the results' `events` table, with the same
 * ranks, parts, batches and bytes `mpsl run` would log.
 *
 * Deterministic: pending events are a binary heap ordered by (time, class, sequence
 * number), compute-node queues by (arrival, data owner, direction); no clock, address or
 * hash order takes part, so the same scenario always gives the same rows. */
#ifndef MPSL_SIM_SIM_H
#define MPSL_SIM_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "emu/timing.h"
#include "io/results.h"
#include "config/runconfig.h"

typedef struct sim sim;

/* Where finished tasks go: called with chunks of up to `chunk` rows, in the order the
 * simulator settles them (not sorted by time). A non-zero return stops the simulation
 * with that value. emit NULL: rows are only counted. */
typedef struct {
  int (*emit)(void *ctx, const mpsl_res_event *rows, int64_t n);
  void *ctx;
  int64_t chunk; /* 0: a default of 2^18 rows */
  int owners;    /* rows of data owners 0 .. owners-1 only, at every device (0: of all) */
} sim_sink;

/* A simulator for scenario s on topology t (both must outlive it). */
sim *sim_new(const emu_scenario *s, const sl_topo *t);
void sim_free(sim *x);

/* Plays round `round` (0-based) from model time t0 (seconds since the run started) to its
 * end (docs/timing.md, "The end of a round"); *time_s is its length. Returns 0, or what
 * the sink returned. */
int sim_round(sim *x, int round, double t0, const sim_sink *sink, double *time_s);

/* Counters of the run so far: tasks logged and events taken off the heap. */
int64_t sim_tasks(const sim *x);
int64_t sim_events(const sim *x);

/* The last round's traffic, as `mpsl run` counts it: bytes and messages per directed rank
 * pair, sorted by (src, dst), only pairs that carried something. *rows is malloc'd;
 * returns the count. */
int64_t sim_links(const sim *x, int round, mpsl_res_link **rows);
/* The data owners that stopped in the last round (their pipeline lost a compute node). */
int sim_stopped(const sim *x);
/* One audit row per data owner (K rows, caller's array). */
void sim_audit(const sim *x, int round, mpsl_res_audit *rows);

/* The option table of `mpsl run` (sl_config_opts) under the name `simulate`. */
const mpsl_optset *sim_config_opts(void);

/* `mpsl simulate`: the configuration (resolved here, c->cuts filled in) through profile,
 * scenario and rounds to the results file c->output (none when empty), with a summary on
 * out. resume: the file exists and the simulation goes on after the rounds it holds (a
 * round's state is its start time alone: every link is free when a round ends). -1 with
 * mpsl_fail. */
int sim_simulate(sl_config *c, int resume, FILE *out);

#endif
