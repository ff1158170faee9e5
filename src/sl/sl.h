/* MP-SL over MPI (SPEC §2): the whole protocol as one library call, so that `mpsl run` is a
 * thin command and tests can drive it with any communicator. */
#ifndef MPSL_SL_SL_H
#define MPSL_SL_SL_H

#include <mpi.h>

#include "config/runconfig.h"

/* Every rank of `world` calls it with the same configuration. Prints progress on rank 0;
 * a mistake in the configuration or a failed setup is reported once, by the lowest
 * failing rank, and every rank returns 1; a failure in the middle of training aborts the
 * job. Returns 0 when the run finished. */
int sl_run(MPI_Comm world, sl_config *c);

#endif
