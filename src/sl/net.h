/* Every point-to-point message of the protocol goes through sl_send, which counts bytes
 * and messages per link and, on a data-owner rank, per data owner and message type: the
 * label-privacy audit. Tags carry the type and the data owner the message is about. */
#ifndef MPSL_SL_NET_H
#define MPSL_SL_NET_H

#include <mpi.h>
#include <stdint.h>

typedef enum {
  SL_MSG_ACTIVATION = 0, /* forward: the activation at a cut */
  SL_MSG_GRADIENT = 1,   /* backward: the gradient of the loss w.r.t. a cut activation */
  SL_MSG_MODEL = 2,      /* a part's state for aggregation, or the global model coming back */
  SL_MSG_INPUT = 3,      /* raw inputs: a data owner must never send one */
  SL_MSG_LABEL = 4,      /* labels: a data owner must never send one */
  SL_MSG_STOP = 5,       /* no bytes: a data owner stops its round early (its pipeline lost a compute node) */
  SL_MSG_NTYPES = 6
} sl_msg_type;

/* Emulation only: the arrival times (model seconds) of the message sent just before it on
 * the same link, one double per data owner it concerns. Not protocol traffic, not counted. */
#define SL_STAMP 7
/* Emulation only, between the hops of a pipeline: a promise, one double: no message from
 * the sender will reach the receiver at a model time before it (docs/timing.md). Not
 * protocol traffic, not counted. Tagged with data owner 0. */
#define SL_PROMISE 6

#define SL_TAG(type, owner) ((int)(owner)*8 + (int)(type))
#define SL_TAG_TYPE(tag) ((sl_msg_type)((tag) % 8))
#define SL_TAG_OWNER(tag) ((tag) / 8)

typedef struct {
  MPI_Comm comm; /* a duplicate of the job's communicator: protocol traffic only */
  int rank, size;
  int64_t *link_bytes;             /* (size) bytes sent from this rank to each rank this round */
  int64_t *link_msgs;              /* (size) messages sent */
  int owner_first, owners;         /* data owners hosted here (0 of them off data-owner ranks) */
  int64_t (*audit)[SL_MSG_NTYPES]; /* (owners) messages sent by each hosted data owner */
  int stamped;                     /* emulation: messages carry their arrival times */
  struct sl_stamp *stamps;         /* (nstamps) stamps whose sends may still be in progress */
  int nstamps;
} sl_net;

/* Checks that tags can name every owner; -1 with mpsl_fail if MPI's tag range is too small. */
int sl_net_init(sl_net *n, MPI_Comm world, int owner_first, int owners, int K);
void sl_net_free(sl_net *n);
void sl_net_reset_counts(sl_net *n);
/* Send of `bytes` bytes; `owner` is the data owner the message is about. With req NULL it
 * blocks; otherwise it starts and *req completes it: tasks pass activations and gradients
 * both ways along a chain, and two hops blocked sending to each other would deadlock once
 * messages outgrow MPI's eager limit. The buffer stays untouched until sl_done(req). */
void sl_send(sl_net *n, sl_msg_type type, int owner, const void *buf, int64_t bytes, int dst, MPI_Request *req);
void sl_done(MPI_Request *req);
void sl_recv(sl_net *n, sl_msg_type type, int owner, void *buf, int64_t bytes, int src);
/* The same, and in emulation (n->stamped) the message's arrival times: the sender passes
 * narr of them (model seconds), the receiver gets them in arr[0..narr). Without emulation
 * these are sl_send and sl_recv and arr is left alone. A receiver must not use a message
 * before its arrival time: messages leave as soon as their data exists, so that they are
 * in place when their time comes, however late the OS wakes the sender. */
void sl_send_at(sl_net *n, sl_msg_type type, int owner, const void *buf, int64_t bytes, int dst, MPI_Request *req,
                const double *arr, int narr);
void sl_recv_at(sl_net *n, sl_msg_type type, int owner, void *buf, int64_t bytes, int src, double *arr, int narr);
/* Waits until a message of type a or b about `owner` from src is waiting; returns which. */
sl_msg_type sl_await_either(sl_net *n, int src, int owner, sl_msg_type a, sl_msg_type b);
/* A promise (SL_PROMISE) to rank dst, sent without blocking; and the one waiting from src. */
void sl_send_promise(sl_net *n, int dst, double t);
double sl_recv_promise(sl_net *n, int src);
/* Waits for the next message from anyone; sleeps between polls, since on an oversubscribed
 * host a spinning rank steals the cores of the rank it is waiting for. */
void sl_wait_any(sl_net *n, MPI_Status *st);
/* Non-blocking check; 1 with *st filled if a message is waiting. */
int sl_poll(sl_net *n, MPI_Status *st);
/* Every rank but 0 waits, sleeping between polls, until rank 0 gets here: before a
 * collective that ranks reach while rank 0 still works, in which they would spin. n's rank
 * and size are world's. */
void sl_gate(const sl_net *n, MPI_Comm world);

#endif
