/* Measuring a profile: every layer alone as a one-layer part, then the whole model as one
 * part, each run `warmup` untimed and `reps` timed steps of forward (training mode),
 * backward and SGD on random inputs and random output gradients. The layers' steps are
 * interleaved (step r of every layer of a group, then step r + 1), and the CPU time this
 * process got and the time other processes took on our cores are recorded, so a profile
 * measured on busy cores says so (disturbed = 1). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_ISSET */
#include "emu/profile.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "config.h"
#include "nn/nn.h"
#include "util/bytes.h"
#include "util/cpu.h"
#include "util/err.h"
#include "util/rng.h"
#include "util/timer.h"

/* A small learning rate keeps random-gradient training finite over the repetitions. */
#define PROFILE_LR 1e-4f
#define PROFILE_MOMENTUM 0.9f
#define PROFILE_WD 1e-4f

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double mpsl_median(double *v, int n) {
  if (n <= 0) return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct {
  double fwd, fwd_min, fwd_max, bwd, bwd_min, bwd_max, upd, upd_min, upd_max;
  double step, step_min, step_max;
} part_times;

static void fill(float *x, int64_t n, uint64_t seed, double scale) {
  mpsl_rng r;
  mpsl_rng_init(&r, seed, 5);
  for (int64_t i = 0; i < n; i++) x[i] = (float)(scale * mpsl_rng_normal(&r));
}

/* ---- how busy the cores were ------------------------------------------------------- */

/* Busy and total clock ticks of the cores in `set` from /proc/stat (the per-core `cpuN`
 * lines: busy = user + nice + system + irq + softirq + steal, total = busy + idle +
 * iowait; guest time is already inside user and nice). 0, or -1 when it cannot be read. */
static int read_proc_stat(const cpu_set_t *set, double *busy, double *total) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return -1;
  char line[512];
  int seen = 0;
  *busy = *total = 0;
  while (fgets(line, sizeof line, f)) {
    int cpu;
    unsigned long long v[8] = {0};
    if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9') continue;
    if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &v[6], &v[7]) < 5)
      continue;
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, set)) continue;
    double b = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
    *busy += b;
    *total += b + (double)(v[3] + v[4]);
    seen++;
  }
  fclose(f);
  return seen ? 0 : -1;
}

/* This process's CPU time, all threads, user + system, in seconds. */
static double process_cpu_s(void) {
  struct rusage u;
  if (getrusage(RUSAGE_SELF, &u)) return 0;
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/* What a measurement records about the cores: over the timed stretches, wall time and this
 * process's CPU time (for cpu_ratio); over the whole measurement, at least MIN_WINDOW_S
 * long, the /proc/stat ticks of the usable cores and our CPU time (for others_load). */
typedef struct {
  cpu_set_t cores;
  int ncores;
  double wall, cpu;   /* sums over the timed stretches */
  double wall0, cpu0; /* at the start of the current stretch */
  int stat_ok;        /* /proc/stat read at the start of the window */
  double win_wall0, win_cpu0, busy0, total0;
} load_meter;

/* /proc/stat counts in ticks (10 ms) and our CPU time of a running thread lags by up to a
 * scheduler tick, so a window of 0.25 s on two cores is good to a few per cent; the
 * measurement of a small model is shorter and is followed by a pause that is measured too
 * (other processes' load is what the window shows; we use no CPU in it). */
#define MIN_WINDOW_S 0.25

static void meter_init(load_meter *lm) {
  memset(lm, 0, sizeof *lm);
  lm->ncores = mpsl_usable_cores(&lm->cores);
  lm->stat_ok = read_proc_stat(&lm->cores, &lm->busy0, &lm->total0) == 0;
  lm->win_cpu0 = process_cpu_s();
  lm->win_wall0 = mpsl_now();
}

static void meter_start(load_meter *lm) {
  lm->cpu0 = process_cpu_s();
  lm->wall0 = mpsl_now();
}

static void meter_stop(load_meter *lm) {
  lm->wall += mpsl_now() - lm->wall0;
  lm->cpu += process_cpu_s() - lm->cpu0;
}

/* cpu_ratio = our CPU time / (wall x threads) over the timed steps, threads at most one
 * per usable core (more threads than cores cannot get more than the cores). It is not
 * what decides `disturbed`. oneDNN's OpenMP threads spin when they wait at the barrier
 * that ends each primitive, and spinning counts as our CPU time: on an idle machine a
 * model of large primitives shows 0.98-1 though its threads partly wait, and under
 * contention the spinning threads compete for time slices like any other, so the ratio
 * falls (about 0.5 with a busy process per core). But libgomp's threads spin only briefly
 * (not at all with OMP_WAIT_POLICY=passive) before they sleep, and oneDNN runs a small
 * primitive on one thread, so a small model on an idle machine shows 0.5 with two
 * threads: low CPU time alone cannot tell waiting from being crowded out.
 * others_load = (busy ticks of the usable cores - ours) / all their ticks, over the whole
 * measurement: that is the competition itself. Others may use the cores our threads do
 * not need without slowing us (one thread on two cores, a busy process on the other), so
 * the part that contends is what they take beyond those,
 *   contended = (others_load x cores - (cores - threads)) / threads,
 * which is others_load itself with a thread per core (the default). The profile is
 * disturbed when contended > MPSL_PROFILE_MAX_OTHERS_LOAD, or when our threads missed a
 * quarter of their time (cpu_ratio < MPSL_PROFILE_MIN_CPU_RATIO) while others took more
 * than MPSL_PROFILE_MAX_OTHERS_LOAD of the cores (fewer threads than cores: the scheduler
 * does not keep the others on the cores we leave free). A quarter: an idle machine shows
 * others' loads of 0.00-0.05 here (kernel threads, a shell), one busy process on our two
 * cores 0.4-0.5, and that already makes oneDNN's steps, which wait at every barrier for
 * their slowest thread, 2.5-3 times slower (the measurements: docs/profile.md). Without
 * /proc/stat, cpu_ratio < MPSL_PROFILE_MIN_CPU_RATIO decides alone, knowing that it flags
 * small models on idle machines too. */
static void meter_result(load_meter *lm, int threads, mpsl_profile *p) {
  int t = threads < lm->ncores ? threads : lm->ncores;
  if (t < 1) t = 1;
  p->cpu_ratio = lm->wall > 0 ? lm->cpu / (lm->wall * t) : -1;
  p->others_load = -1;
  double busy, total, left = MIN_WINDOW_S - (mpsl_now() - lm->win_wall0);
  if (lm->stat_ok && left > 0) {
    struct timespec ts = {(time_t)left, (long)(1e9 * (left - (double)(time_t)left))};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) continue;
  }
  if (lm->stat_ok && read_proc_stat(&lm->cores, &busy, &total) == 0 && total > lm->total0) {
    double ours = (process_cpu_s() - lm->win_cpu0) * (double)sysconf(_SC_CLK_TCK);
    double o = (busy - lm->busy0 - ours) / (total - lm->total0);
    p->others_load = o < 0 ? 0 : o > 1 ? 1 : o;
  }
  if (p->others_load >= 0) {
    double c = (p->others_load * lm->ncores - (lm->ncores - t)) / t;
    p->disturbed = c > MPSL_PROFILE_MAX_OTHERS_LOAD ||
                   (p->cpu_ratio < MPSL_PROFILE_MIN_CPU_RATIO && p->others_load > MPSL_PROFILE_MAX_OTHERS_LOAD);
  } else {
    p->disturbed = p->cpu_ratio >= 0 && p->cpu_ratio < MPSL_PROFILE_MIN_CPU_RATIO;
  }
}

/* ---- the timed steps ----------------------------------------------------------------- */

/* Random inputs and output gradients, shared by every part (each uses the first
 * batch x numel values): read-only x and dy, scratch y and dx, so holding a group of
 * parts at once costs no per-layer copies of them. */
typedef struct {
  float *x, *dx, *y, *dy;
} edge_bufs;

/* One part under measurement and its samples (reps each). */
typedef struct {
  nn_part *p;
  int first; /* the part that starts at layer 1 computes no input gradient (nobody receives it) */
  double *f, *b, *u, *st;
} timed_part;

static void timed_init(timed_part *t, nn_part *p, int first, int reps) {
  t->p = p;
  t->first = first;
  t->f = mpsl_xmalloc(4 * (size_t)reps * sizeof *t->f, "profile times");
  t->b = t->f + reps, t->u = t->f + 2 * reps, t->st = t->f + 3 * reps;
}

/* Step r of part t (r < 0: warm-up, not kept), as a model would run it. */
static void timed_step(timed_part *t, const edge_bufs *e, int r) {
  double t0 = mpsl_now();
  nn_part_forward(t->p, e->x, e->y, 1);
  double t1 = mpsl_now();
  nn_part_backward(t->p, e->dy, t->first > 1 ? e->dx : NULL);
  double t2 = mpsl_now();
  nn_part_sgd(t->p, PROFILE_LR, PROFILE_MOMENTUM, PROFILE_WD);
  double t3 = mpsl_now();
  if (r < 0) return;
  t->f[r] = t1 - t0;
  t->b[r] = t2 - t1;
  t->u[r] = t3 - t2;
  t->st[r] = t3 - t0;
}

/* Median, min and max of the samples (sorts them); frees them. */
static void timed_finish(timed_part *t, int reps, part_times *o) {
  double *f = t->f, *b = t->b, *u = t->u, *st = t->st;
  o->fwd = mpsl_median(f, reps), o->fwd_min = f[0], o->fwd_max = f[reps - 1];
  o->bwd = mpsl_median(b, reps), o->bwd_min = b[0], o->bwd_max = b[reps - 1];
  o->upd = mpsl_median(u, reps), o->upd_min = u[0], o->upd_max = u[reps - 1];
  o->step = mpsl_median(st, reps), o->step_min = st[0], o->step_max = st[reps - 1];
  free(t->f);
  t->f = t->b = t->u = t->st = NULL;
}

static void describe_host(mpsl_profile *p) {
  if (gethostname(p->host, sizeof p->host) != 0) snprintf(p->host, sizeof p->host, "unknown");
  p->host[sizeof p->host - 1] = '\0';
  snprintf(p->dnnl_version, sizeof p->dnnl_version, "%s", nn_dnnl_version());
  snprintf(p->mpsl_version, sizeof p->mpsl_version, "%s", PACKAGE_VERSION);
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(p->date, sizeof p->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
#ifdef _OPENMP
  p->threads = omp_get_max_threads();
#else
  p->threads = 1;
#endif
}

static void free_parts(timed_part *t, int n) {
  for (int i = 0; i < n; i++) {
    nn_part_free(t[i].p);
    free(t[i].f);
    t[i].p = NULL, t[i].f = NULL;
  }
}

static void fill_row(mpsl_profile_layer *r, const mpsl_layer *l, int i, nn_part *part, const part_times *t, int batch) {
  nn_mem_stats ms;
  nn_part_memory(part, &ms);
  r->index = i;
  snprintf(r->name, sizeof r->name, "%s", l->name);
  snprintf(r->kind, sizeof r->kind, "%s", mpsl_layer_kind_name(l->kind));
  r->fwd_s = t->fwd, r->fwd_min_s = t->fwd_min, r->fwd_max_s = t->fwd_max;
  r->bwd_s = t->bwd, r->bwd_min_s = t->bwd_min, r->bwd_max_s = t->bwd_max;
  r->update_s = t->upd, r->update_min_s = t->upd_min, r->update_max_s = t->upd_max;
  r->params_bytes = 4 * nn_part_nparams(part);
  r->grads_bytes = ms.grads;
  r->optim_bytes = ms.optim;
  r->act_bytes = ms.activations;
  r->workspace_bytes = ms.scratch + ms.workspace;
  r->out_bytes = 4 * l->out_elems * batch;
  r->flops = l->flops * batch;
  r->stats_bytes = ms.stats;
  r->act_grad_bytes = ms.act_grads;
  r->copy_bytes = ms.weight_copies;
}

int mpsl_profile_measure(mpsl_profile *p, const mpsl_model *m, const mpsl_profile_opts *o) {
  memset(p, 0, sizeof *p);
  if (o->batch < 1) return mpsl_fail("profile: batch must be at least 1 (got %d)", o->batch);
  if (o->reps < 1) return mpsl_fail("profile: reps must be at least 1 (got %d)", o->reps);
  if (o->warmup < 0) return mpsl_fail("profile: warmup must not be negative (got %d)", o->warmup);
  snprintf(p->model, sizeof p->model, "%s", m->name);
  p->batch = o->batch;
  p->classes = m->classes;
  p->channels = m->channels;
  p->size = m->size;
  p->width = m->width;
  p->reps = o->reps;
  p->warmup = o->warmup;
  describe_host(p);
  int n = m->nlayers, reps = o->reps;
  load_meter lm;
  meter_init(&lm);

  /* Sizes first (sizing parts touch no arenas): every layer's part and the whole model's.
   * The layers are measured in groups of consecutive parts held at once, each group as
   * big as fits in the whole model's bytes, which the second phase holds anyway: so the
   * interleaving costs no memory beyond the shared edge buffers (a model's parts sum to
   * 1.2-1.6 times the whole, which gives two groups). */
  int64_t *bytes = mpsl_xmalloc((size_t)n * sizeof *bytes, "profile sizes"), budget = 0, nx = 0, ny = 0;
  for (int i = 0; i <= n; i++) {
    nn_part *sz = i < n ? nn_part_new_sizing(m, i + 1, i + 1, o->batch) : nn_part_new_sizing(m, 1, n, o->batch);
    if (!sz) {
      free(bytes);
      return -1;
    }
    nn_mem_stats ms;
    nn_part_memory(sz, &ms);
    if (i < n) {
      bytes[i] = nn_mem_total(&ms);
      int64_t in = nn_part_in_numel(sz) * o->batch, out = nn_part_out_numel(sz) * o->batch;
      nx = in > nx ? in : nx;
      ny = out > ny ? out : ny;
    } else {
      budget = nn_mem_total(&ms);
    }
    nn_part_free(sz);
  }
  edge_bufs e;
  e.x = mpsl_xalloc_aligned((size_t)nx * sizeof *e.x, "profile input");
  e.dx = mpsl_xalloc_aligned((size_t)nx * sizeof *e.dx, "profile input gradient");
  e.y = mpsl_xalloc_aligned((size_t)ny * sizeof *e.y, "profile output");
  e.dy = mpsl_xalloc_aligned((size_t)ny * sizeof *e.dy, "profile output gradient");
  fill(e.x, nx, 1, 1.0);
  fill(e.dy, ny, 2, 1.0 / o->batch);

  p->nlayers = n;
  p->layers = mpsl_xcalloc((size_t)n, sizeof *p->layers, "profile layers");
  timed_part *parts = mpsl_xcalloc((size_t)n, sizeof *parts, "profile parts");
  for (int lo = 0, hi; lo < n; lo = hi) {
    int64_t held = bytes[lo];
    for (hi = lo + 1; hi < n && held + bytes[hi] <= budget; hi++) held += bytes[hi];
    for (int i = lo; i < hi; i++) {
      nn_part *part = nn_part_new(m, i + 1, i + 1, o->batch);
      if (!part) {
        free_parts(parts + lo, i - lo);
        free(parts), free(bytes), free(e.x), free(e.dx), free(e.y), free(e.dy);
        mpsl_profile_free(p);
        return -1;
      }
      nn_part_init_weights(part, 1);
      nn_part_set_dropout_seed(part, 1);
      timed_init(&parts[i], part, i + 1, reps);
    }
    /* step r of every layer of the group, then step r + 1 */
    for (int r = -o->warmup; r < reps; r++) {
      if (r == 0) meter_start(&lm);
      double t0 = mpsl_now();
      for (int i = lo; i < hi; i++) timed_step(&parts[i], &e, r);
      if (r == reps - 1) meter_stop(&lm);
      if (o->progress) {
        fprintf(o->progress, "profile: layers %d-%d of %d, %s %d/%d: %.3g s\n", lo + 1, hi, n,
                r < 0 ? "warm-up" : "round", r < 0 ? r + o->warmup + 1 : r + 1, r < 0 ? o->warmup : reps,
                mpsl_now() - t0);
        fflush(o->progress);
      }
    }
    for (int i = lo; i < hi; i++) {
      const mpsl_layer *l = &m->layers[i];
      part_times t;
      timed_finish(&parts[i], reps, &t);
      fill_row(&p->layers[i], l, i + 1, parts[i].p, &t, o->batch);
      p->layers_step_s += t.fwd + t.bwd + t.upd;
      nn_part_free(parts[i].p);
      parts[i].p = NULL;
      if (o->progress)
        fprintf(o->progress, "profile: layer %d/%d %-16s fwd %.3g s  bwd %.3g s  update %.3g s\n", i + 1, n, l->name,
                t.fwd, t.bwd, t.upd);
    }
  }
  free(parts);
  free(bytes);

  nn_part *whole = nn_part_new(m, 1, n, o->batch);
  if (!whole) {
    free(e.x), free(e.dx), free(e.y), free(e.dy);
    mpsl_profile_free(p);
    return -1;
  }
  nn_part_init_weights(whole, 1);
  nn_part_set_dropout_seed(whole, 1);
  timed_part w;
  timed_init(&w, whole, 1, reps); /* its edges are layer 1's input and the last layer's output */
  for (int r = -o->warmup; r < reps; r++) {
    if (r == 0) meter_start(&lm);
    timed_step(&w, &e, r);
  }
  meter_stop(&lm);
  part_times t;
  timed_finish(&w, reps, &t);
  nn_mem_stats ms;
  nn_part_memory(whole, &ms);
  p->whole_fwd_s = t.fwd;
  p->whole_bwd_s = t.bwd;
  p->whole_update_s = t.upd;
  p->whole_step_s = t.step;
  p->whole_step_min_s = t.step_min;
  p->whole_step_max_s = t.step_max;
  p->whole_bytes = nn_mem_total(&ms);
  nn_part_free(whole);
  free(e.x), free(e.dx), free(e.y), free(e.dy);
  meter_result(&lm, p->threads, p);
  if (o->progress) {
    fprintf(o->progress, "profile: cpu_ratio %.2f, others' load %.2f: %s\n", p->cpu_ratio, p->others_load,
            p->disturbed ? "disturbed" : "quiet");
    fflush(o->progress);
  }
  return 0;
}

/* A POSIX record lock (fcntl) on the whole file, not flock: NFS (lockd, v4), Lustre mounted
 * with -o flock and GPFS hold record locks across nodes, so array tasks on several nodes
 * that share PROFILE_DIR measure a missing profile once; flock is node-local on some of
 * them. The lock goes with the process: also when it is killed. */
static int lock_file(int fd, int wait) {
  struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  int rc;
  while ((rc = fcntl(fd, wait ? F_SETLKW : F_SETLK, &l)) != 0 && errno == EINTR) continue;
  return rc;
}

int mpsl_profile_lock(const char *path) {
  size_t n = strlen(path) + sizeof ".lock";
  char *lock = mpsl_xmalloc(n, "lock path");
  snprintf(lock, n, "%s.lock", path);
  int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    fprintf(stderr, "mpsl: note: cannot create %s (%s): measuring without the lock\n", lock, strerror(errno));
    free(lock);
    return -1;
  }
  int rc = lock_file(fd, 0);
  if (rc && (errno == EACCES || errno == EAGAIN)) {
    fprintf(stderr, "mpsl: waiting for %s: another process is measuring this profile\n", lock);
    rc = lock_file(fd, 1);
  }
  if (rc) {
    fprintf(stderr, "mpsl: note: cannot lock %s (%s): measuring without the lock\n", lock, strerror(errno));
    close(fd);
    free(lock);
    return -1;
  }
  free(lock);
  return fd;
}

void mpsl_profile_unlock(int fd) {
  if (fd < 0) return;
  close(fd); /* closing releases the process's record locks on the file */
}

int mpsl_profile_warn(const mpsl_profile *p, const char *path, FILE *f) {
  static char *seen[16]; /* the files already warned about (more: warned again) */
  static int nseen;
  if (p->disturbed != 1) return 0;
  for (int i = 0; i < nseen; i++)
    if (!strcmp(seen[i], path)) return 0;
  if (nseen < 16 && (seen[nseen] = strdup(path))) nseen++;
  char load[32] = "unknown";
  if (p->others_load >= 0) snprintf(load, sizeof load, "%.2f", p->others_load);
  fprintf(f,
          "mpsl: warning: profile %s was measured while the cores were busy (disturbed = 1: cpu_ratio %.2f, "
          "others' load %s); its times are too large or uneven: measure it again on an idle machine\n",
          path, p->cpu_ratio, load);
  fflush(f);
  return 1;
}

void mpsl_profile_free(mpsl_profile *p) {
  free(p->layers);
  memset(p, 0, sizeof *p);
}

void mpsl_profile_scale(const mpsl_profile *host, double speed, mpsl_profile *out) {
  if (!(speed > 0)) MPSL_DIE("mpsl_profile_scale: speed must be positive (got %g)", speed);
  *out = *host;
  out->layers = mpsl_xmalloc((size_t)host->nlayers * sizeof *out->layers, "profile layers");
  memcpy(out->layers, host->layers, (size_t)host->nlayers * sizeof *out->layers);
  for (int i = 0; i < out->nlayers; i++) {
    mpsl_profile_layer *r = &out->layers[i];
    double *t[] = {&r->fwd_s,     &r->fwd_min_s, &r->fwd_max_s,    &r->bwd_s,       &r->bwd_min_s,
                   &r->bwd_max_s, &r->update_s,  &r->update_min_s, &r->update_max_s};
    for (size_t k = 0; k < sizeof t / sizeof *t; k++) *t[k] /= speed;
  }
  double *w[] = {&out->whole_fwd_s,      &out->whole_bwd_s,      &out->whole_update_s, &out->whole_step_s,
                 &out->whole_step_min_s, &out->whole_step_max_s, &out->layers_step_s};
  for (size_t k = 0; k < sizeof w / sizeof *w; k++) *w[k] /= speed;
}

void mpsl_profile_print(const mpsl_profile *p, FILE *f) {
  fprintf(f, "# %s, batch %d, %d classes, input %dx%dx%d, width %g\n", p->model, p->batch, p->classes, p->channels,
          p->size, p->size, p->width);
  fprintf(f, "# host %s, %d threads, oneDNN %s, mpsl %s, %s; median of %d runs after %d warm-up\n", p->host, p->threads,
          p->dnnl_version, p->mpsl_version, p->date, p->reps, p->warmup);
  if (p->disturbed < 0) {
    fprintf(f, "# cores while measuring: not recorded (disturbed = -1, unknown: an older profile)\n");
  } else {
    char load[32] = "unknown";
    if (p->others_load >= 0) snprintf(load, sizeof load, "%.2f", p->others_load);
    fprintf(f, "# cores while measuring: cpu_ratio %.2f, others' load %s: disturbed = %d%s\n", p->cpu_ratio, load,
            p->disturbed, p->disturbed ? " (busy: the times are too large or uneven)" : " (quiet)");
  }
  fprintf(f, "# times in ms for the batch (min-max in brackets); bytes at this batch\n");
  fprintf(f, "%5s %-14s %-7s %26s %26s %9s %10s %10s %10s %10s %10s %8s\n", "index", "name", "kind", "fwd_ms [min-max]",
          "bwd_ms [min-max]", "update_ms", "params", "optim", "act", "workspace", "out", "GFLOP");
  int64_t params = 0, grads = 0, optim = 0, act = 0, ws = 0, flops = 0;
  double fwd = 0, bwd = 0, upd = 0;
  for (int i = 0; i < p->nlayers; i++) {
    const mpsl_profile_layer *r = &p->layers[i];
    char fb[32], bb[32], b1[16], b2[16], b3[16], b4[16], b5[16];
    snprintf(fb, sizeof fb, "%.3f [%.3f-%.3f]", 1e3 * r->fwd_s, 1e3 * r->fwd_min_s, 1e3 * r->fwd_max_s);
    snprintf(bb, sizeof bb, "%.3f [%.3f-%.3f]", 1e3 * r->bwd_s, 1e3 * r->bwd_min_s, 1e3 * r->bwd_max_s);
    fprintf(f, "%5d %-14s %-7s %26s %26s %9.3f %10s %10s %10s %10s %10s %8.3f\n", r->index, r->name, r->kind, fb, bb,
            1e3 * r->update_s, mpsl_bytes_str(r->params_bytes, b1, sizeof b1),
            mpsl_bytes_str(r->optim_bytes, b2, sizeof b2), mpsl_bytes_str(r->act_bytes, b3, sizeof b3),
            mpsl_bytes_str(r->workspace_bytes, b4, sizeof b4), mpsl_bytes_str(r->out_bytes, b5, sizeof b5),
            1e-9 * (double)r->flops);
    params += r->params_bytes, grads += r->grads_bytes, optim += r->optim_bytes, act += r->act_bytes;
    ws += r->workspace_bytes, flops += r->flops;
    fwd += r->fwd_s, bwd += r->bwd_s, upd += r->update_s;
  }
  char b1[16], b2[16], b3[16], b4[16], b5[16], b6[16];
  fprintf(f, "sum of layers: fwd %.2f ms, bwd %.2f ms, update %.2f ms, step %.2f ms\n", 1e3 * fwd, 1e3 * bwd, 1e3 * upd,
          1e3 * p->layers_step_s);
  fprintf(f, "whole model:   fwd %.2f ms, bwd %.2f ms, update %.2f ms, step %.2f ms [%.2f-%.2f]\n",
          1e3 * p->whole_fwd_s, 1e3 * p->whole_bwd_s, 1e3 * p->whole_update_s, 1e3 * p->whole_step_s,
          1e3 * p->whole_step_min_s, 1e3 * p->whole_step_max_s);
  if (p->whole_step_s > 0)
    fprintf(f,
            "sum of layers / whole model: %.3f (near 1 expected: one-layer parts add edge reorders, the whole "
            "part bigger working sets; far from 1: too few reps or a busy machine)\n",
            p->layers_step_s / p->whole_step_s);
  fprintf(f,
          "bytes: params %s, grads %s, optim %s, stored activations %s (sum of layers), workspace %s; "
          "whole model as one part %s\n",
          mpsl_bytes_str(params, b1, sizeof b1), mpsl_bytes_str(grads, b2, sizeof b2),
          mpsl_bytes_str(optim, b3, sizeof b3), mpsl_bytes_str(act, b4, sizeof b4), mpsl_bytes_str(ws, b5, sizeof b5),
          mpsl_bytes_str(p->whole_bytes, b6, sizeof b6));
  if (p->whole_step_s > 0)
    fprintf(f, "whole model: %.3g GFLOP per step (3 x forward), %.1f GFLOP/s\n", 3e-9 * (double)flops,
            3e-9 * (double)flops / p->whole_step_s);
}
