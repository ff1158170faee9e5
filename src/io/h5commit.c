/* An HDF5 file driver that lets a failed write leave the file as it was (io/h5commit.h).
 *
 * HDF5 keeps no journal: closing a file writes the metadata it changed in place (object
 * headers, B-tree nodes, the superblock) and the new metadata and rows after the old end,
 * in an order of its own. A write that fails half-way (ENOSPC, EDQUOT) leaves a file whose
 * old metadata points at new blocks that were never written, or whose superblock claims
 * an end of file beyond the real one: h5py then refuses the whole file ("addr overflow").
 * Worse, the sec2 driver's failure inside H5Fclose leaves HDF5 holding a half-closed file
 * that it closes again in MPI_Finalize, where it crashes.
 *
 * This driver reads and writes like sec2 but splits every session (an open to its close)
 * in two. Bytes at or after the length the file had when it was opened (`base`) go to
 * the file at once: they change nothing that a reader of the old file looks at. Bytes
 * before it are kept in memory. At close, the new bytes are synced, the space of the
 * in-place bytes is allocated (fallocate, for holes), and only then are the in-place
 * bytes written and synced. A write that fails before that point, and on a file system
 * that overwrites in place (ext4, xfs, tmpfs, and NFS served from one) every ENOSPC or
 * EDQUOT does, cuts the file back to `base`: byte for byte the file that was opened. HDF5
 * itself never sees the error (the metadata it wrote stays in memory for it, so that the
 * session ends normally and HDF5 holds nothing half-done); the caller asks
 * h5_commit_error() after H5Fclose. */
#define _GNU_SOURCE /* fallocate, sync_file_range */
#include "io/h5commit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <H5FDpublic.h>

#define MAXADDR ((haddr_t)INT64_MAX)

typedef struct {
  haddr_t addr;
  size_t len;
  unsigned char *data;
} extent;

typedef struct {
  H5FD_t pub; /* first: HDF5 sees this */
  int fd;
  dev_t dev;
  ino_t ino;
  haddr_t eoa, eof; /* as sec2: the end HDF5 allocated, the end of what was written */
  haddr_t base;     /* the file's length at open: bytes before it are written at close */
  haddr_t want;     /* the length HDF5 asked for at its truncate */
  int truncate;
  int grew; /* bytes went past base */
  int err;  /* the first write's errno that failed: the session is then dropped */
  extent *x;
  size_t nx, capx;
} commit_file;

static hid_t driver_id = H5I_INVALID_HID;
static int last_error, last_torn, defer;

void h5_commit_defer_sync(int on) { defer = on; }

/* The file's bytes to the disk: waited for, or only started (h5_commit_defer_sync). 0 or
 * the errno. */
static int sync_out(int fd) {
  if (defer) return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) && errno != ENOSYS ? errno : 0;
  return fdatasync(fd) ? errno : 0;
}

int h5_commit_error(void) { return last_error; }
int h5_commit_torn(void) { return last_torn; }

static int keep(commit_file *f, haddr_t addr, size_t len, const unsigned char *data) {
  for (size_t i = 0; i < f->nx; i++) /* HDF5 rewrites a block where it was: one copy, */
    if (f->x[i].addr == addr && f->x[i].len == len) {
      extent e = f->x[i];
      memcpy(e.data, data, len);
      /* moved last, so that it overrides every older write it overlaps */
      memmove(f->x + i, f->x + i + 1, (f->nx - i - 1) * sizeof *f->x);
      f->x[f->nx - 1] = e;
      return 0;
    }
  if (f->nx == f->capx) {
    size_t cap = f->capx ? 2 * f->capx : 64;
    extent *x = realloc(f->x, cap * sizeof *x);
    if (!x) return -1;
    f->x = x, f->capx = cap;
  }
  unsigned char *copy = malloc(len ? len : 1);
  if (!copy) return -1;
  memcpy(copy, data, len);
  f->x[f->nx++] = (extent){addr, len, copy};
  return 0;
}

static int write_all(int fd, haddr_t addr, const unsigned char *p, size_t len) {
  while (len > 0) {
    ssize_t n = pwrite(fd, p, len, (off_t)addr);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : ENOSPC;
    p += n, addr += (haddr_t)n, len -= (size_t)n;
  }
  return 0;
}

static H5FD_t *c_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr) {
  (void)fapl, (void)maxaddr;
  int o = (flags & H5F_ACC_RDWR) ? O_RDWR : O_RDONLY;
  if (flags & H5F_ACC_TRUNC) o |= O_TRUNC;
  if (flags & H5F_ACC_CREAT) o |= O_CREAT;
  if (flags & H5F_ACC_EXCL) o |= O_EXCL;
  last_error = last_torn = 0;
  int fd = open(name, o, 0666);
  struct stat sb;
  if (fd < 0) return NULL;
  commit_file *f = calloc(1, sizeof *f);
  if (!f || fstat(fd, &sb)) {
    free(f);
    close(fd);
    return NULL;
  }
  f->fd = fd;
  f->dev = sb.st_dev;
  f->ino = sb.st_ino;
  f->eof = f->base = (haddr_t)sb.st_size;
  return &f->pub;
}

static void drop(commit_file *f) {
  for (size_t i = 0; i < f->nx; i++) free(f->x[i].data);
  free(f->x);
  free(f);
}

/* Unsupported (EOPNOTSUPP) is no failure: the in-place writes go without it. */
static int reserve(int fd, haddr_t addr, size_t len) {
  if (!fallocate(fd, 0, (off_t)addr, (off_t)len)) return 0;
  return errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL ? 0 : errno;
}

static herr_t c_close(H5FD_t *file) {
  commit_file *f = (commit_file *)file;
  int err = f->err;
  /* the new bytes on the disk before anything old changes (a network file system may
   * tell of a full disk only here) */
  if (!err && f->grew && f->nx > 0) err = sync_out(f->fd);
  for (size_t i = 0; i < f->nx && !err; i++) err = reserve(f->fd, f->x[i].addr, f->x[i].len);
  if (err) {
    /* back to the file as it was opened; what is after base is nothing HDF5 reads */
    if (ftruncate(f->fd, (off_t)f->base)) (void)0;
  } else {
    /* past this point a failure (EIO; ENOSPC on a copy-on-write file system) is not undone */
    for (size_t i = 0; i < f->nx && !err; i++) err = write_all(f->fd, f->x[i].addr, f->x[i].data, f->x[i].len);
    if (!err && f->truncate && ftruncate(f->fd, (off_t)f->want)) err = errno;
    if (!err) err = sync_out(f->fd);
    last_torn = err != 0;
  }
  if (close(f->fd) && !err) err = errno;
  last_error = err;
  drop(f);
  return 0; /* HDF5 closes its side in any case: the caller asks h5_commit_error */
}

static int c_cmp(const H5FD_t *a, const H5FD_t *b) {
  const commit_file *x = (const commit_file *)a, *y = (const commit_file *)b;
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  return 0;
}

static herr_t c_query(const H5FD_t *file, unsigned long *flags) {
  (void)file;
  *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
           H5FD_FEAT_AGGREGATE_SMALLDATA;
  return 0;
}

static haddr_t c_get_eoa(const H5FD_t *file, H5FD_mem_t type) {
  (void)type;
  return ((const commit_file *)file)->eoa;
}

static herr_t c_set_eoa(H5FD_t *file, H5FD_mem_t type, haddr_t addr) {
  (void)type;
  ((commit_file *)file)->eoa = addr;
  return 0;
}

static haddr_t c_get_eof(const H5FD_t *file, H5FD_mem_t type) {
  (void)type;
  return ((const commit_file *)file)->eof;
}

static herr_t c_get_handle(H5FD_t *file, hid_t fapl, void **handle) {
  (void)fapl;
  *handle = &((commit_file *)file)->fd;
  return 0;
}

static herr_t c_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, void *buf) {
  (void)type, (void)dxpl;
  commit_file *f = (commit_file *)file;
  if (addr + size > f->eoa || addr + size < addr) return -1;
  unsigned char *p = buf;
  size_t got = 0;
  while (got < size) {
    ssize_t n = pread(f->fd, p + got, size - got, (off_t)(addr + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += (size_t)n;
  }
  memset(p + got, 0, size - got); /* past the end of the file: zeros, as sec2 */
  /* what this session wrote and has not put in the file, in the order written */
  for (size_t i = 0; i < f->nx; i++) {
    const extent *e = &f->x[i];
    haddr_t lo = e->addr > addr ? e->addr : addr, hi = e->addr + e->len < addr + size ? e->addr + e->len : addr + size;
    if (lo < hi) memcpy(p + (lo - addr), e->data + (lo - e->addr), hi - lo);
  }
  return 0;
}

static herr_t c_write(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, const void *buf) {
  (void)dxpl;
  commit_file *f = (commit_file *)file;
  if (addr + size > f->eoa || addr + size < addr) return -1;
  const unsigned char *p = buf;
  if (addr + size > f->eof) f->eof = addr + size;
  if (!f->err && addr < f->base) { /* in place: at close */
    size_t before = addr + size <= f->base ? size : (size_t)(f->base - addr);
    if (keep(f, addr, before, p)) return -1;
    addr += before, p += before, size -= before;
  }
  if (size == 0) return 0;
  if (!f->err) f->err = write_all(f->fd, addr, p, size), f->grew = 1;
  /* a failed session goes on in memory, so that HDF5 reads back the metadata it wrote
   * and ends it normally; none of it reaches the file. Rows are not kept: HDF5 does not
   * need them to end, and they may be the largest part of a session (a round's events). */
  return f->err && type != H5FD_MEM_DRAW && keep(f, addr, size, p) ? -1 : 0;
}

static herr_t c_truncate(H5FD_t *file, hid_t dxpl, hbool_t closing) {
  (void)dxpl, (void)closing;
  commit_file *f = (commit_file *)file;
  if (f->eoa != f->eof) {
    f->want = f->eoa, f->truncate = 1;
    f->eof = f->eoa;
  }
  return 0;
}

static herr_t c_lock(H5FD_t *file, hbool_t rw) {
  (void)file, (void)rw;
  return 0; /* mpsl's writers open without locks (io/results.c) */
}

static herr_t c_unlock(H5FD_t *file) {
  (void)file;
  return 0;
}

static herr_t c_term(void) {
  driver_id = H5I_INVALID_HID;
  return 0;
}

static const H5FD_class_t commit_class = {
    .name = "mpsl_commit",
    .maxaddr = MAXADDR,
    .fc_degree = H5F_CLOSE_WEAK,
    .terminate = c_term,
    .open = c_open,
    .close = c_close,
    .cmp = c_cmp,
    .query = c_query,
    .get_eoa = c_get_eoa,
    .set_eoa = c_set_eoa,
    .get_eof = c_get_eof,
    .get_handle = c_get_handle,
    .read = c_read,
    .write = c_write,
    .truncate = c_truncate,
    .lock = c_lock,
    .unlock = c_unlock,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

hid_t h5_commit_fapl(void) {
  if (driver_id < 0 || H5Iget_type(driver_id) != H5I_VFL) driver_id = H5FDregister(&commit_class);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0 || driver_id < 0 || H5Pset_driver(fapl, driver_id, NULL) < 0) {
    if (fapl >= 0) H5Pclose(fapl);
    return H5I_INVALID_HID;
  }
  H5Pset_file_locking(fapl, 0, 1);
  return fapl;
}
