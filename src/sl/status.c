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

#include "io/results.h"
#include "util/err.h"

static const int watched[] = {SIGTERM, SIGINT, SIGHUP, SIGXCPU};
enum { NWATCHED = sizeof watched / sizeof watched[0] };

static struct {
  char path[4096];
  int live;                  /* between begin and end */
  sem_t wake;                /* posted by the handler, or by sl_status_end */
  volatile sig_atomic_t sig; /* the signal that came (0: none) */
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
  utc_now(when, sizeof when);
  snprintf(why, sizeof why, "aborted: signal %s (%d) at %s", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", sig, when);
  mpsl_results_set_status(st.path, why); /* waits for any write of the main thread to end */
  st.said = 1;
  /* then the signal does what it would have done */
  signal(sig, SIG_DFL);
  raise(sig);
  return NULL;
}

void sl_status_whoami(char *host, int hcap, long *pid, char *start, int scap) {
  if (gethostname(host, (size_t)hcap)) host[0] = '\0';
  host[hcap - 1] = '\0';
  *pid = (long)getpid();
  start[0] = '\0';
  /* field 22 of /proc/self/stat, after the command name in parentheses */
  FILE *f = fopen("/proc/self/stat", "r");
  char line[1024];
  if (f && fgets(line, sizeof line, f)) {
    char *p = strrchr(line, ')');
    unsigned long long t = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &t) == 1)
      snprintf(start, (size_t)scap, "%llu", t);
  }
  if (f) fclose(f);
}

/* A process that exits while the watcher writes (MPI ends it when the other ranks, signalled
 * too, are gone) waits for the watcher first, a bounded while. */
static void wait_watcher(void) {
  for (int i = 0; i < 2000 && st.sig && !st.said; i++) nanosleep(&(struct timespec){0, 1000000}, NULL);
}

int sl_status_begin(const char *out) {
  char host[256], pid[32], start[32];
  long p;
  sl_status_whoami(host, sizeof host, &p, start, sizeof start);
  snprintf(pid, sizeof pid, "%ld", p);
  snprintf(st.path, sizeof st.path, "%s", out);
  if (mpsl_results_set_attr(out, "writer_host", host) || mpsl_results_set_attr(out, "writer_pid", pid) ||
      mpsl_results_set_attr(out, "writer_start", start) || sl_status_heartbeat())
    return -1;
  st.sig = st.said = 0;
  static int hooked;
  if (!hooked++) atexit(wait_watcher);
  sem_init(&st.wake, 0, 0);
  if (pthread_create(&st.thread, NULL, watch, NULL)) return mpsl_fail("cannot start the signal watcher");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < NWATCHED; i++) sigaction(watched[i], &sa, &st.old[i]);
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
  for (int i = 0; i < NWATCHED; i++) sigaction(watched[i], &st.old[i], NULL);
  if (!st.sig) {
    sem_post(&st.wake);
    pthread_join(st.thread, NULL);
  }
  st.live = 0;
}
