/* Clocks, pacing and links of the emulation (sl/emu_pace.h). */
#include "sl/emu_pace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/err.h"

/* Between polls for messages: short against the tens of milliseconds a task should last
 * in wall time, long enough that a waiting rank costs its host next to nothing. */
#define NAP_S 0.0005
/* A rank that reaches a task this much wall time after it was due is reported. */
#define LATE_S 0.01
/* Wall time between the slowest rank reaching a round and the round's start. */
#define ROUND_MARGIN_S 0.02

int sl_emu_setup(sl_ctx *x, MPI_Comm world, emu_scenario *s) {
  const sl_config *c = x->c;
  const mpsl_model *m = x->m;
  mpsl_profile prof = {0};
  bool need = emu_needs_profile(c) && mpsl_model_trainable(m); /* a layer table has its own times */
  int rc = 0, first = 0;
  /* rank 0 measures what is missing; the others must not race it to the same files */
  for (int pass = 0; pass < 2; pass++) {
    if ((x->rank == 0) == (pass == 0)) {
      bool measure = x->rank == 0;
      if (need) rc = emu_profile_get(c, c->model, c->batch, m->size, m->channels, m->classes, c->width, measure, &prof);
      if (!rc) rc = emu_scenario_build(s, c, m, x->t, need ? &prof : NULL, measure);
      mpsl_profile_free(&prof);
    }
    if (pass == 0) {
      first = rc;
      MPI_CHECK(MPI_Bcast(&first, 1, MPI_INT, 0, world));
      if (first) {
        if (x->rank != 0) rc = mpsl_fail("rank 0 could not build the timing scenario");
        break;
      }
    }
  }
  if (rc) return -1;
  x->emu = s;
  x->emulated = s->emulated;
  x->engine = sl_engine_find(s->emulated ? "model" : "wall");
  x->compute = sl_compute_find(c->compute); /* the key's values are the backends' names */
  x->scale = s->emulated ? s->time_scale : 1.0;
  if (x->rank == 0 && s->emulated) {
    printf("# emulation: times are model seconds; %g wall seconds per model second\n", s->time_scale);
    emu_scenario_print(s, stdout, "# ");
    fflush(stdout);
  }
  return 0;
}

double sl_emu_sync(MPI_Comm world) {
  enum { PINGS = 8, TAG = 4242 };
  int rank, size;
  MPI_CHECK(MPI_Comm_rank(world, &rank));
  MPI_CHECK(MPI_Comm_size(world, &size));
  double offset = 0; /* rank 0's clock minus this rank's */
  /* MPI may connect a pair of ranks at their first message, which takes far longer than
   * the next ones: connect every pair now rather than in the first round's tasks */
  int *one = mpsl_xcalloc((size_t)size, sizeof *one, "warm-up"),
      *other = mpsl_xcalloc((size_t)size, sizeof *other, "warm-up");
  MPI_CHECK(MPI_Alltoall(one, 1, MPI_INT, other, 1, MPI_INT, world));
  free(one);
  free(other);
  MPI_CHECK(MPI_Barrier(world));
  if (rank == 0) {
    for (int r = 1; r < size; r++)
      for (int i = 0; i < PINGS; i++) {
        int ping;
        MPI_CHECK(MPI_Recv(&ping, 1, MPI_INT, r, TAG, world, MPI_STATUS_IGNORE));
        double now = MPI_Wtime();
        MPI_CHECK(MPI_Send(&now, 1, MPI_DOUBLE, r, TAG, world));
      }
  } else {
    double best = INFINITY;
    for (int i = 0; i < PINGS; i++) {
      int ping = i;
      double a = MPI_Wtime(), root;
      MPI_CHECK(MPI_Send(&ping, 1, MPI_INT, 0, TAG, world));
      MPI_CHECK(MPI_Recv(&root, 1, MPI_DOUBLE, 0, TAG, world, MPI_STATUS_IGNORE));
      double b = MPI_Wtime();
      /* the smallest round trip bounds the error of the midpoint best */
      if (b - a < best) best = b - a, offset = root - (a + b) / 2;
    }
  }
  double origin = MPI_Wtime();
  MPI_CHECK(MPI_Bcast(&origin, 1, MPI_DOUBLE, 0, world));
  return origin - offset;
}

void sl_emu_round_begin(sl_ctx *x, MPI_Comm world, double prev_end) {
  double here = sl_now(x), latest;
  MPI_CHECK(MPI_Allreduce(&here, &latest, 1, MPI_DOUBLE, MPI_MAX, world));
  double start = latest + ROUND_MARGIN_S / x->scale;
  x->round_start = start > prev_end ? start : prev_end;
  x->round_end = x->round_start;
}

double sl_emu_round_end(sl_ctx *x, MPI_Comm world) {
  double end;
  MPI_CHECK(MPI_Allreduce(&x->round_end, &end, 1, MPI_DOUBLE, MPI_MAX, world));
  return end;
}

int64_t sl_emu_overruns(sl_ctx *x, MPI_Comm world) {
  int64_t sum = 0;
  MPI_CHECK(MPI_Reduce(&x->overruns, &sum, 1, MPI_INT64_T, MPI_SUM, 0, world));
  x->overruns = 0;
  return sum;
}

void sl_emu_report(sl_ctx *x, MPI_Comm world, int64_t overruns) {
  int64_t late = 0, missed = 0;
  double worst = 0;
  MPI_CHECK(MPI_Reduce(&x->late, &late, 1, MPI_INT64_T, MPI_SUM, 0, world));
  MPI_CHECK(MPI_Reduce(&x->missed, &missed, 1, MPI_INT64_T, MPI_SUM, 0, world));
  MPI_CHECK(MPI_Reduce(&x->late_max, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, world));
  if (x->rank != 0) return;
  if (overruns)
    fprintf(stderr,
            "%s: warning: %lld task(s) computed longer on this host than on their emulated device "
            "(rounds.overruns); their times are the real ones: raise time_scale\n", mpsl_program(),
            (long long)overruns);
  if (late)
    fprintf(stderr,
            "%s: warning: %lld task(s) began more than %g ms (wall) after their time, by up to %.1f ms: the "
            "host is too busy for time_scale %g; the model times assume they began on time\n", mpsl_program(),
            (long long)late, LATE_S * 1e3, worst * 1e3, x->scale);
  if (missed)
    fprintf(stderr,
            "%s: warning: %lld message(s) reached their compute node after it had picked its next task at a "
            "time not before their arrival: the host delivered them too late for time_scale %g, so tasks may have "
            "run in another order than in the model and the round times differ from mpsl simulate's. Real compute "
            "over hop-to-hop links without bandwidth limit or latency is the one case the emulation cannot keep "
            "exact (docs/timing.md): give cn_cn_lat a value, or raise time_scale\n", mpsl_program(),
            (long long)missed, x->scale);
}

static void nap(double wall_s) {
  if (!(wall_s > 0)) return;
  struct timespec ts = {(time_t)wall_s, (long)((wall_s - floor(wall_s)) * 1e9)};
  nanosleep(&ts, NULL);
}

int sl_emu_wait(sl_ctx *x, double until, MPI_Status *st) {
  for (;;) {
    if (sl_poll(&x->net, st)) return 1;
    double left = (until - sl_now(x)) * x->scale;
    if (left <= 0) return 0;
    nap(left < NAP_S ? left : NAP_S);
  }
}

void sl_emu_sleep(const sl_ctx *x, double until) {
  for (double left; (left = (until - sl_now(x)) * x->scale) > 0;) nap(left);
}

void sl_emu_start(sl_ctx *x, double at) {
  double behind = (sl_now(x) - at) * x->scale;
  if (behind > LATE_S) {
    x->late++;
    if (behind > x->late_max) x->late_max = behind;
  }
}

double sl_emu_finish(sl_ctx *x, double start, double cost, double wall) {
  if (wall <= cost * x->scale) return start + cost;
  x->overruns++;
  return start + wall / x->scale;
}
