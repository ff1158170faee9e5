/* The two engines of an MPI run, by name (sl/internal.h): "wall" and "model". */
#include <math.h>
#include <string.h>

#include "sl/emu_pace.h"
#include "sl/internal.h"

static int wall_wait(sl_ctx *x, double until, MPI_Status *st) {
  if (until < INFINITY) return sl_poll(&x->net, st);
  sl_wait_any(&x->net, st);
  return 1;
}

static double wall_start(sl_ctx *x, double planned) {
  (void)planned;
  return sl_clock(x);
}

static double wall_end(sl_ctx *x, double start, double cost, double wall) {
  (void)start, (void)cost, (void)wall;
  return sl_clock(x);
}

static double wall_send(sl_ctx *x, sl_msg_type type, int owner, const void *buf, int64_t bytes, int dst,
                        MPI_Request *req, double *free, emu_link l, double at) {
  (void)free, (void)l, (void)at;
  sl_send(&x->net, type, owner, buf, bytes, dst, req);
  return sl_clock(x);
}

static double wall_recv(sl_ctx *x, sl_msg_type type, int owner, void *buf, int64_t bytes, int src) {
  sl_recv(&x->net, type, owner, buf, bytes, src);
  return sl_clock(x);
}

static double model_start(sl_ctx *x, double planned) {
  sl_emu_start(x, planned);
  return planned;
}

static double model_end(sl_ctx *x, double start, double cost, double wall) {
  return sl_emu_finish(x, start, cost, wall);
}

/* The link rule of docs/timing.md; the message leaves now, stamped with its arrival. */
static double model_send(sl_ctx *x, sl_msg_type type, int owner, const void *buf, int64_t bytes, int dst,
                         MPI_Request *req, double *free, emu_link l, double at) {
  double arrival = emu_link_send(free, l, bytes, at);
  sl_send_at(&x->net, type, owner, buf, bytes, dst, req, &arrival, 1);
  return arrival;
}

static double model_recv(sl_ctx *x, sl_msg_type type, int owner, void *buf, int64_t bytes, int src) {
  double arrival;
  sl_recv_at(&x->net, type, owner, buf, bytes, src, &arrival, 1);
  return arrival;
}

static const sl_engine engines[] = {
    {"wall", 0, wall_wait, wall_start, wall_end, wall_send, wall_recv},
    {"model", 1, sl_emu_wait, model_start, model_end, model_send, model_recv},
};

const sl_engine *sl_engine_find(const char *name) {
  for (unsigned i = 0; i < sizeof engines / sizeof engines[0]; i++)
    if (!strcmp(name, engines[i].name)) return &engines[i];
  return NULL;
}
