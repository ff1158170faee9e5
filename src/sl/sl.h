/* MP-SL over MPI (SPEC §2): the whole protocol as one library call, so that `mpsl run` is a
 * thin command and tests can drive it with any communicator. */
#ifndef MPSL_SL_SL_H
#define MPSL_SL_SL_H

#include <mpi.h>

#include "config/runconfig.h"

/* Where a run goes on from (mpsl run --resume): the checkpoint that rank 0 writes beside
 * the results file after every checkpoint_every rounds. It holds the global model (the
 * state_dict, as save_model writes it) and two scalars, mpsl.rounds_done and
 * mpsl.clock; every other stream of a run (batch order, augmentation, dropout, jitter) is
 * a function of the round and the batch, so nothing else is needed to continue exactly. */
typedef struct {
  char path[MPSL_PATH_MAX + 8]; /* the checkpoint file */
  int rounds_done;              /* the run goes on with round rounds_done + 1 */
  double clock;                 /* the run's clock when that round ended (model seconds in emulation) */
} sl_resume;

/* The checkpoint of results file `out`: OUT.ckpt. */
void sl_checkpoint_path(const char *out, char *buf, int cap);
/* r from the checkpoint file r->path; -1 with mpsl_fail. */
int sl_checkpoint_read(sl_resume *r);

/* Everything a run refuses before its first round without MPI: the configuration against
 * the model (sl_config_resolve, sl_config_check_run), the timing scenario (devices, mixes,
 * catalogues, links; profiles that exist must be readable and match, one that is missing
 * must be measurable into profile_dir), the memory caps (the first rank over its cap, as
 * the run names it) and, when the compute backend trains, both data sets and the
 * partition, and the model of the checkpoint a resumed run (resume, else NULL) goes on
 * from. Builds *m (the caller frees it, also after -1) and *t, and fills in c's default
 * cuts. `mpsl run --ranks` and rank 0 of sl_run call it: what one accepts, the other
 * starts. -1 with mpsl_fail. */
int sl_run_validate(sl_config *c, mpsl_model *m, sl_topo *t, const sl_resume *resume);

/* Every rank of `world` calls it with the same configuration (and resume, NULL for a new
 * run: then the results file is made anew; else its tables are cut back to the
 * checkpoint's rounds and the run appends to them). Prints progress on rank 0; a mistake
 * in the configuration or a failed setup is reported once, by the lowest failing rank,
 * and every rank returns 1; a failure in the middle of training aborts the job. Returns 0
 * when the run finished. */
int sl_run(MPI_Comm world, sl_config *c, const sl_resume *resume);

#endif
