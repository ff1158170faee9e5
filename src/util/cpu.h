/* The cores a process may use. */
#ifndef MPSL_UTIL_CPU_H
#define MPSL_UTIL_CPU_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* cpu_set_t, sched_getaffinity */
#endif
#include <sched.h>

/* The cores this process may run on (its affinity mask: a Slurm job's cpuset, taskset, a
 * launcher's binding), as a count and, when set is not NULL, a set; every online core
 * when the mask cannot be read. */
int mpsl_usable_cores(cpu_set_t *set);

#endif
