/* The truthful status of a run's results file (sl/status.h). */
#define _GNU_SOURCE
#include "sl/status.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/h5util.h"
#include "io/results.h"
#include "util/err.h"

static const int watched[] = {SIGTERM, SIGINT, SIGHUP, SIGXCPU};
static const char *const watched_name[] = {"TERM", "INT", "HUP", "XCPU"};
enum { NWATCHED = sizeof watched / sizeof watched[0] };

static struct {
  char path[4096];
  int live;                   /* between begin and end */
  int caught[NWATCHED];       /* the handler is ours (a signal ignored when the run began stays ignored) */
  sem_t wake;                 /* posted by the handler, or by sl_status_end */
  volatile sig_atomic_t sig;  /* the signal that came (0: none) */
  volatile sig_atomic_t said; /* the watcher wrote what it came for */
  pthread_t thread;
  struct sigaction old[NWATCHED];
} st;

static void on_signal(int sig) {
  if (!st.sig) st.sig = sig;
  sem_post(&st.wake); /* async-signal-safe: the thread does the rest */
}

static void utc_now(char *buf, size_t cap) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void *watch(void *unused) {
  (void)unused;
  while (sem_wait(&st.wake) && errno == EINTR) continue;
  int sig = st.sig;
  if (!sig) return NULL; /* sl_status_end */
  char why[128], when[32];
  int w = 0;
  while (w < NWATCHED && watched[w] != sig) w++;
  utc_now(when, sizeof when);
  snprintf(why, sizeof why, "aborted: signal %s (%d) at %s", w < NWATCHED ? watched_name[w] : "?", sig, when);
  /* HDF5 stays ours from here: the main thread must not be ended inside a write of its own */
  h5_hold();
  mpsl_results_set_status(st.path, why);
  st.said = 1;
  /* then the signal does what it would have done before the run took it */
  if (w < NWATCHED) sigaction(sig, &st.old[w], NULL);
  raise(sig);
  _exit(128 + sig); /* a handler of its own that returned */
}

/* State and start time (clock ticks since boot) of process `pid` from /proc; 0 when it
 * has no entry. */
static int proc_stat(long pid, char *state, unsigned long long *start) {
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  /* the fields after the command name, which is in parentheses and may hold anything */
  char *p = f && fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
  int ok = p && sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", state,
                       start) == 2;
  if (f) fclose(f);
  return ok;
}

static void whoami(char *host, int hcap, char *pid, char *start, int cap) {
  if (gethostname(host, (size_t)hcap)) host[0] = '\0';
  host[hcap - 1] = '\0';
  snprintf(pid, (size_t)cap, "%ld", (long)getpid());
  char state;
  unsigned long long t = 0;
  start[0] = '\0';
  if (proc_stat((long)getpid(), &state, &t)) snprintf(start, (size_t)cap, "%llu", t);
}

int sl_status_writer(const char *path, char *buf, int cap) {
  char *host = NULL, *pid = NULL, *start = NULL, *beat = NULL, me[256], mypid[32], mystart[32];
  mpsl_results_attr(path, "writer_host", &host);
  mpsl_results_attr(path, "writer_pid", &pid);
  mpsl_results_attr(path, "writer_start", &start);
  mpsl_results_attr(path, "heartbeat", &beat);
  whoami(me, sizeof me, mypid, mystart, sizeof mystart);
  int alive = -1;
  if (!host || !pid || !start) {
    snprintf(buf, (size_t)cap, "running (the file names no writer: made by an older mpsl)");
  } else if (strcmp(host, me)) {
    snprintf(buf, (size_t)cap, "running on %s (pid %s), last heartbeat %s: whether it still runs is seen on %s", host,
             pid, beat ? beat : "none", host);
  } else {
    char state = '?', s[32];
    unsigned long long t = 0;
    int there = proc_stat(atol(pid), &state, &t);
    snprintf(s, sizeof s, "%llu", t);
    /* another process under a reused pid, or the writer dead and not yet reaped (zombie) */
    alive = there && !strcmp(s, start) && state != 'Z' && state != 'X';
    snprintf(buf, (size_t)cap, "%s (rank 0 of the run, pid %s on %s, %s; last heartbeat %s)",
             alive ? "running" : "interrupted", pid, host, alive ? "runs" : "is gone", beat ? beat : "none");
  }
  free(host);
  free(pid);
  free(start);
  free(beat);
  return alive;
}

/* A process that exits while the watcher writes (MPI ends it when the other ranks, signalled
 * too, are gone) waits for the watcher first, a bounded while. */
static void wait_watcher(void) {
  for (int i = 0; i < 2000 && st.sig && !st.said; i++) nanosleep(&(struct timespec){0, 1000000}, NULL);
}

int sl_status_begin(const char *out) {
  char host[256], pid[32], start[32];
  whoami(host, sizeof host, pid, start, sizeof start);
  snprintf(st.path, sizeof st.path, "%s", out);
  mpsl_res_attr who[] = {MPSL_ATTR_S("writer_host", host), MPSL_ATTR_I("writer_pid", atoll(pid)),
                         MPSL_ATTR_I("writer_start", strtoull(start, NULL, 10))};
  /* no start time (no /proc): 0, and the writer is never taken for alive */
  if (mpsl_results_set_attrs(out, who, 3) || sl_status_heartbeat()) return -1;
  st.sig = st.said = 0;
  static int hooked;
  if (!hooked++) atexit(wait_watcher);
  sem_init(&st.wake, 0, 0);
  if (pthread_create(&st.thread, NULL, watch, NULL)) return mpsl_fail("cannot start the signal watcher");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < NWATCHED; i++) {
    sigaction(watched[i], NULL, &st.old[i]);
    st.caught[i] = st.old[i].sa_handler != SIG_IGN; /* nohup's SIGHUP stays ignored */
    if (st.caught[i]) sigaction(watched[i], &sa, NULL);
  }
  st.live = 1;
  return 0;
}

int sl_status_heartbeat(void) {
  char when[32];
  utc_now(when, sizeof when);
  return mpsl_results_set_attr(st.path, "heartbeat", when);
}

void sl_status_aborted(const char *why) {
  if (!st.live) return;
  char buf[1200];
  snprintf(buf, sizeof buf, "aborted: %s", why);
  mpsl_results_set_status(st.path, buf);
}

void sl_status_end(void) {
  if (!st.live) return;
  for (int i = 0; i < NWATCHED; i++)
    if (st.caught[i]) sigaction(watched[i], &st.old[i], NULL);
  if (!st.sig) {
    sem_post(&st.wake);
    pthread_join(st.thread, NULL);
  }
  st.live = 0;
}
