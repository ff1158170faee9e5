#define _GNU_SOURCE
#include "util/cpu.h"

#include <stdlib.h>
#include <unistd.h>

int mpsl_usable_cores(cpu_set_t *set) {
  cpu_set_t mine;
  if (!set) set = &mine;
  CPU_ZERO(set);
  if (sched_getaffinity(0, sizeof *set, set) == 0 && CPU_COUNT(set) > 0) return CPU_COUNT(set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  for (long i = 0; i < n && i < CPU_SETSIZE; i++) CPU_SET((int)i, set);
  return (int)(n < CPU_SETSIZE ? n : CPU_SETSIZE);
}

int mpsl_core_count(void) { return mpsl_usable_cores(NULL); }

void mpsl_omp_limit_spin(char **argv, const char *spins) {
#ifdef _OPENMP
  if (getenv("GOMP_SPINCOUNT") || getenv("OMP_WAIT_POLICY")) return;
  /* the program's own path, so that ps and pgrep still see its name (not "exe") */
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0 || len >= (ssize_t)sizeof self - 1) return;
  self[len] = 0;
  if (setenv("GOMP_SPINCOUNT", spins, 1)) return;
  execv(self, argv);
  unsetenv("GOMP_SPINCOUNT"); /* not executed again: the loaded libgomp keeps its count */
#else
  (void)argv, (void)spins;
#endif
}
