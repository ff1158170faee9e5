#include "sl/net.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/err.h"

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

void sl_send(sl_net *n, sl_msg_type type, int owner, const void *buf, int64_t bytes, int dst, MPI_Request *req) {
  if (bytes > 0x7fffffff) MPSL_DIE("a message of %lld bytes is larger than one MPI send allows", (long long)bytes);
  if (req)
    MPI_CHECK(MPI_Isend(buf, (int)bytes, MPI_BYTE, dst, SL_TAG(type, owner), n->comm, req));
  else
    MPI_CHECK(MPI_Send(buf, (int)bytes, MPI_BYTE, dst, SL_TAG(type, owner), n->comm));
  n->link_bytes[dst] += bytes;
  n->link_msgs[dst]++;
  if (n->owners && owner >= n->owner_first && owner < n->owner_first + n->owners)
    n->audit[owner - n->owner_first][type]++;
}

void sl_recv(sl_net *n, sl_msg_type type, int owner, void *buf, int64_t bytes, int src) {
  MPI_Status st;
  MPI_CHECK(MPI_Recv(buf, (int)bytes, MPI_BYTE, src, SL_TAG(type, owner), n->comm, &st));
  int got;
  MPI_CHECK(MPI_Get_count(&st, MPI_BYTE, &got));
  if (got != bytes) MPSL_DIE("rank %d: expected %lld bytes from rank %d, got %d", n->rank, (long long)bytes, src, got);
}

int sl_poll(sl_net *n, MPI_Status *st) {
  int flag = 0;
  MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, n->comm, &flag, st));
  return flag;
}

void sl_wait_any(sl_net *n, MPI_Status *st) {
  struct timespec nap = {0, 20000};
  while (!sl_poll(n, st)) nanosleep(&nap, NULL);
}

void sl_done(MPI_Request *req) {
  if (*req != MPI_REQUEST_NULL) MPI_CHECK(MPI_Wait(req, MPI_STATUS_IGNORE));
}
