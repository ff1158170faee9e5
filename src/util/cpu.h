/* The cores a process may use. */
#ifndef MPSL_UTIL_CPU_H
#define MPSL_UTIL_CPU_H

#include <sched.h>

/* How many cores this process may run on (its affinity mask: a Slurm job's cpuset,
 * taskset, a launcher's binding); every online core when the mask cannot be read. */
int mpsl_core_count(void);

/* libgomp's threads spin after every parallel region for GOMP_SPINCOUNT rounds (300,000
 * by default: several milliseconds) before they sleep. A rank of an MPI run that has just
 * handed its output on then spins on the cores the next rank computes on. libgomp reads
 * the count when it loads, so without GOMP_SPINCOUNT or OMP_WAIT_POLICY in the environment
 * this sets GOMP_SPINCOUNT=spins and executes the program again (same process, same
 * arguments) before anything else has happened; it returns when there is nothing to do or
 * the execution failed. */
void mpsl_omp_limit_spin(char **argv, const char *spins);

#ifdef CPU_SETSIZE /* cpu_set_t: define _GNU_SOURCE before the first system header */
/* The same count, and the cores as a set. */
int mpsl_usable_cores(cpu_set_t *set);
#endif

#endif
