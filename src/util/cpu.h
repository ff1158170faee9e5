/* The cores a process may use. */
#ifndef MPSL_UTIL_CPU_H
#define MPSL_UTIL_CPU_H

#include <sched.h>

/* How many cores this process may run on (its affinity mask: a Slurm job's cpuset,
 * taskset, a launcher's binding); every online core when the mask cannot be read. */
int mpsl_core_count(void);

#ifdef CPU_SETSIZE /* cpu_set_t: define _GNU_SOURCE before the first system header */
/* The same count, and the cores as a set. */
int mpsl_usable_cores(cpu_set_t *set);
#endif

#endif
