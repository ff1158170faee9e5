/* The services a rank's context gives its role: events, buffers, memory columns, a fatal
 * error (sl/internal.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "sl/internal.h"
#include "sl/memplan.h"
#include "sl/status.h"
#include "util/err.h"

void sl_event(sl_ctx *x, int owner, int64_t batch, int direction, int part, double start, double end, double wait,
              int64_t bytes) {
  if (x->nev == x->cap_ev) sl_abort(x, "more tasks in a round than the protocol allows (%d)", x->cap_ev);
  x->ev[x->nev++] = (mpsl_res_event){
      /* the file counts rounds from 1 */
      x->round + 1, x->rank, (int32_t)x->role, owner, (int32_t)batch, direction, part, start, end, wait, bytes};
}

_Noreturn void sl_abort(const sl_ctx *x, const char *fmt, ...) {
  char why[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s: error: rank %d (%s): %s\n", mpsl_program(), x->rank, sl_role_name(x->role), why);
  fflush(stderr);
  sl_status_aborted(why); /* rank 0's results file says why (the other ranks have none) */
  MPI_Abort(MPI_COMM_WORLD, 1);
  exit(1);
}

float *sl_buffer(sl_ctx *x, int64_t floats, const char *what) {
  if (floats <= 0) return NULL;
  x->buffers += floats * (int64_t)sizeof(float);
  return mpsl_xalloc_aligned((size_t)floats * sizeof(float), what);
}

void sl_alloc_copy(sl_ctx *x, const sl_copy_layout *l, float **in, float **din, float **out, float **dout) {
  *in = sl_buffer(x, l->in, "activation");
  *din = sl_buffer(x, l->in, "gradient");
  *out = sl_buffer(x, l->out, "activation");
  *dout = sl_buffer(x, l->out, "gradient");
}

void sl_alloc_owner(sl_ctx *x, const sl_owner_layout *l, float **xb, float **a1, float **da1, float **ain, float **dain,
                    float **logits, float **dlogits) {
  *xb = sl_buffer(x, l->x, "batch");
  *a1 = sl_buffer(x, l->a1, "activation");
  *da1 = sl_buffer(x, l->a1, "gradient");
  *ain = sl_buffer(x, l->ain, "activation");
  *dain = sl_buffer(x, l->ain, "gradient");
  *logits = sl_buffer(x, l->logits, "logits");
  *dlogits = sl_buffer(x, l->logits, "logits");
}

int sl_part_init(sl_ctx *x, sl_part *pt, int p, int owner) {
  sl_part_env e = {x->c, x->m, x->t, x->emu};
  return x->compute->init(pt, &e, p, owner);
}
