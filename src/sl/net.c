#include "sl/net.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/err.h"

/* A waiting rank polls and sleeps in between: a blocking receive would spin, and on an
 * oversubscribed host take the cores of the rank it waits for. The naps start short and,
 * outside emulation, double up to NAP_MAX_NS while nothing comes: a rank idle while
 * another computes then wakes every half millisecond rather than every 20 us (and the
 * timer's slack), and each wake-up preempts one of the working rank's threads (whose
 * partner then waits at its next barrier). An eager message waits at most one nap for its
 * receiver. In emulation the naps stay short: a message is taken as close to its time as
 * the host allows. */
#define NAP_MIN_NS 20000
#define NAP_MAX_NS 500000

static void nap(const sl_net *n, long *ns) {
  struct timespec t = {0, *ns};
  nanosleep(&t, NULL);
  if (n && !n->stamped) *ns = 2 * *ns < NAP_MAX_NS ? 2 * *ns : NAP_MAX_NS;
}

/* A stamp in flight: its doubles must stay put until MPI is done with them. */
struct sl_stamp {
  double *v;
  int cap;
  MPI_Request req;
};

int sl_net_init(sl_net *n, MPI_Comm world, int owner_first, int owners, int K) {
  memset(n, 0, sizeof *n);
  int *ub, flag = 0;
  MPI_CHECK(MPI_Comm_get_attr(world, MPI_TAG_UB, &ub, &flag));
  if (flag && (int64_t)K * 8 + 7 > *ub)
    return mpsl_fail("%d data owners need message tags up to %lld but this MPI stops at %d", K, (long long)K * 8 + 7,
                     *ub);
  MPI_CHECK(MPI_Comm_dup(world, &n->comm));
  MPI_CHECK(MPI_Comm_rank(n->comm, &n->rank));
  MPI_CHECK(MPI_Comm_size(n->comm, &n->size));
  n->link_bytes = mpsl_xcalloc((size_t)n->size, sizeof *n->link_bytes, "link counts");
  n->link_msgs = mpsl_xcalloc((size_t)n->size, sizeof *n->link_msgs, "link counts");
  n->owner_first = owner_first;
  n->owners = owners;
  n->audit = mpsl_xcalloc((size_t)(owners ? owners : 1), sizeof *n->audit, "audit");
  return 0;
}

void sl_net_free(sl_net *n) {
  for (int i = 0; i < n->nstamps; i++)
    if (n->stamps[i].req != MPI_REQUEST_NULL) MPI_Wait(&n->stamps[i].req, MPI_STATUS_IGNORE);
  for (int i = 0; i < n->nstamps; i++) free(n->stamps[i].v);
  free(n->stamps);
  if (n->comm != MPI_COMM_NULL && n->comm) MPI_Comm_free(&n->comm);
  free(n->link_bytes);
  free(n->link_msgs);
  free(n->audit);
  memset(n, 0, sizeof *n);
}

void sl_net_reset_counts(sl_net *n) {
  memset(n->link_bytes, 0, (size_t)n->size * sizeof *n->link_bytes);
  memset(n->link_msgs, 0, (size_t)n->size * sizeof *n->link_msgs);
  memset(n->audit, 0, (size_t)(n->owners ? n->owners : 1) * sizeof *n->audit);
}

/* Waits for a send to complete by testing it between naps: MPI_Wait, like a blocking send
 * of a message above the eager limit, spins until the receiver takes it. The naps stay
 * short: a large message advances (over TCP, a socket buffer at a time) only when tested. */
static void complete(MPI_Request *req) {
  long ns = NAP_MIN_NS;
  for (;;) {
    int done = 0;
    MPI_CHECK(MPI_Test(req, &done, MPI_STATUS_IGNORE));
    if (done) return;
    nap(NULL, &ns);
  }
}

void sl_send(sl_net *n, sl_msg_type type, int owner, const void *buf, int64_t bytes, int dst, MPI_Request *req) {
  if (bytes > 0x7fffffff) MPSL_DIE("a message of %lld bytes is larger than one MPI send allows", (long long)bytes);
  MPI_Request own = MPI_REQUEST_NULL;
  MPI_CHECK(MPI_Isend(buf, (int)bytes, MPI_BYTE, dst, SL_TAG(type, owner), n->comm, req ? req : &own));
  if (!req) complete(&own);
  n->link_bytes[dst] += bytes;
  n->link_msgs[dst]++;
  if (n->owners && owner >= n->owner_first && owner < n->owner_first + n->owners)
    n->audit[owner - n->owner_first][type]++;
}

/* Waits for a matching message on comm by polling. */
static void await(const sl_net *n, MPI_Comm comm, int src, int tag) {
  long ns = NAP_MIN_NS;
  int flag = 0;
  for (;;) {
    MPI_CHECK(MPI_Iprobe(src, tag, comm, &flag, MPI_STATUS_IGNORE));
    if (flag) return;
    nap(n, &ns);
  }
}

void sl_recv(sl_net *n, sl_msg_type type, int owner, void *buf, int64_t bytes, int src) {
  MPI_Status st;
  await(n, n->comm, src, SL_TAG(type, owner));
  MPI_CHECK(MPI_Recv(buf, (int)bytes, MPI_BYTE, src, SL_TAG(type, owner), n->comm, &st));
  int got;
  MPI_CHECK(MPI_Get_count(&st, MPI_BYTE, &got));
  if (got != bytes) MPSL_DIE("rank %d: expected %lld bytes from rank %d, got %d", n->rank, (long long)bytes, src, got);
}

sl_msg_type sl_await_either(sl_net *n, int src, int owner, sl_msg_type a, sl_msg_type b) {
  long ns = NAP_MIN_NS;
  for (;;) {
    int flag = 0;
    MPI_CHECK(MPI_Iprobe(src, SL_TAG(a, owner), n->comm, &flag, MPI_STATUS_IGNORE));
    if (flag) return a;
    MPI_CHECK(MPI_Iprobe(src, SL_TAG(b, owner), n->comm, &flag, MPI_STATUS_IGNORE));
    if (flag) return b;
    nap(n, &ns);
  }
}

int sl_poll(sl_net *n, MPI_Status *st) {
  int flag = 0;
  MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, n->comm, &flag, st));
  return flag;
}

void sl_wait_any(sl_net *n, MPI_Status *st) {
  long ns = NAP_MIN_NS;
  while (!sl_poll(n, st)) nap(n, &ns);
}

void sl_done(MPI_Request *req) {
  if (*req != MPI_REQUEST_NULL) complete(req);
}

/* Zero bytes from rank 0 to every other rank, on world (no protocol poll takes them). */
void sl_gate(const sl_net *n, MPI_Comm world) {
  enum { TAG = 4243 }; /* beside emu_pace.c's clock pings */
  if (n->rank == 0) {
    MPI_Request *r = mpsl_xmalloc((size_t)n->size * sizeof *r, "requests");
    for (int i = 1; i < n->size; i++) MPI_CHECK(MPI_Isend(NULL, 0, MPI_BYTE, i, TAG, world, &r[i]));
    for (int i = 1; i < n->size; i++) complete(&r[i]);
    free(r);
    return;
  }
  await(n, world, 0, TAG);
  MPI_CHECK(MPI_Recv(NULL, 0, MPI_BYTE, 0, TAG, world, MPI_STATUS_IGNORE));
}

/* Doubles of a stamp or a promise, sent without blocking from a buffer of the pool that
 * stays put until MPI is done with it. */
static void send_doubles(sl_net *n, const double *v, int count, int dst, int tag) {
  struct sl_stamp *s = NULL;
  for (int i = 0; i < n->nstamps && !s; i++) {
    int done = 1;
    if (n->stamps[i].req != MPI_REQUEST_NULL) MPI_CHECK(MPI_Test(&n->stamps[i].req, &done, MPI_STATUS_IGNORE));
    if (done) s = &n->stamps[i];
  }
  if (!s) {
    struct sl_stamp *more = realloc(n->stamps, (size_t)(n->nstamps + 1) * sizeof *n->stamps);
    if (!more) MPSL_DIE("out of memory for message stamps");
    n->stamps = more;
    s = &n->stamps[n->nstamps++];
    *s = (struct sl_stamp){NULL, 0, MPI_REQUEST_NULL};
  }
  if (s->cap < count) {
    free(s->v);
    s->v = mpsl_xmalloc((size_t)count * sizeof *s->v, "stamps");
    s->cap = count;
  }
  memcpy(s->v, v, (size_t)count * sizeof *v);
  MPI_CHECK(MPI_Isend(s->v, count, MPI_DOUBLE, dst, tag, n->comm, &s->req));
}

/* MPI keeps the order of two sends from one rank to another on one communicator, so a
 * stamp is always the next message from its sender about that owner after its data. */
void sl_send_at(sl_net *n, sl_msg_type type, int owner, const void *buf, int64_t bytes, int dst, MPI_Request *req,
                const double *arr, int narr) {
  sl_send(n, type, owner, buf, bytes, dst, req);
  if (n->stamped && narr > 0) send_doubles(n, arr, narr, dst, SL_TAG(SL_STAMP, owner));
}

void sl_send_promise(sl_net *n, int dst, double t) { send_doubles(n, &t, 1, dst, SL_TAG(SL_PROMISE, 0)); }

double sl_recv_promise(sl_net *n, int src) {
  double t;
  MPI_CHECK(MPI_Recv(&t, 1, MPI_DOUBLE, src, SL_TAG(SL_PROMISE, 0), n->comm, MPI_STATUS_IGNORE));
  return t;
}

void sl_recv_at(sl_net *n, sl_msg_type type, int owner, void *buf, int64_t bytes, int src, double *arr, int narr) {
  sl_recv(n, type, owner, buf, bytes, src);
  if (!n->stamped || narr <= 0) return;
  MPI_Status st;
  MPI_CHECK(MPI_Recv(arr, narr, MPI_DOUBLE, src, SL_TAG(SL_STAMP, owner), n->comm, &st));
  int got;
  MPI_CHECK(MPI_Get_count(&st, MPI_DOUBLE, &got));
  if (got != narr) MPSL_DIE("rank %d: expected %d arrival times from rank %d, got %d", n->rank, narr, src, got);
}
