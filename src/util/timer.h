#ifndef MPSL_UTIL_TIMER_H
#define MPSL_UTIL_TIMER_H
/* Monotonic wall clock in seconds. */
double mpsl_now(void);
#endif
