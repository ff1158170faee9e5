/* IDX files (http://yann.lecun.com/exdb/mnist/): a big-endian header, magic 0x0000080N
 * with N dimensions, then N uint32 sizes, then the uint8 payload in C order. zlib reads
 * gzip and plain files alike, so FILE.gz and FILE share one path. */
#include "data/formats.h"
#include "util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

enum { IDX_LABELS = 0x00000801, IDX_IMAGES = 0x00000803, IDX_SIDE = 28 };

typedef struct {
  gzFile f;
  char path[4096];
} idx_file;

/* Opens DIR/FILE.gz if it exists, else DIR/FILE. */
static int idx_open(idx_file *x, const char *dir, const char *file) {
  struct stat st;
  if (snprintf(x->path, sizeof x->path, "%s/%s.gz", dir, file) >= (int)sizeof x->path)
    return mpsl_fail("%s/%s: path too long", dir, file);
  if (stat(x->path, &st) != 0) {
    x->path[strlen(x->path) - 3] = '\0';
    if (stat(x->path, &st) != 0)
      return mpsl_fail("%s: not found, nor %s.gz (expected the MNIST-format IDX files in %s)", x->path, file, dir);
  }
  errno = 0;
  x->f = gzopen(x->path, "rb");
  if (!x->f) return mpsl_fail("%s: cannot open: %s", x->path, errno ? strerror(errno) : "zlib error");
  gzbuffer(x->f, 1 << 17);
  return 0;
}

/* Reads up to `want` bytes into buf; returns how many there were (a gzip stream that
 * ends early is a short file), or -1 when the data is corrupt or unreadable. */
static int64_t idx_read(idx_file *x, uint8_t *buf, int64_t want) {
  int64_t got = 0;
  int r = 1, err;
  while (got < want && r > 0) {
    r = gzread(x->f, buf + got, (unsigned)(want - got < (1 << 30) ? want - got : (1 << 30)));
    if (r > 0) got += r;
  }
  const char *msg = gzerror(x->f, &err);
  if (err != Z_OK && err != Z_BUF_ERROR) {
    size_t len = strlen(x->path); /* zlib's message starts with the path */
    if (strncmp(msg, x->path, len) == 0 && msg[len] == ':') msg += len + 2;
    return mpsl_fail("%s: corrupt or unreadable: %s", x->path, msg);
  }
  return got;
}

/* Reads `want` payload bytes into a fresh buffer grown as data arrives, so that a header
 * claiming 4 billion images in a small file fails as "truncated", not as out of memory. */
static int idx_payload(idx_file *x, int64_t want, uint8_t **out, const char *what) {
  int64_t cap = want < (64 << 20) ? want : (64 << 20), got = 0, r;
  uint8_t *buf = mpsl_xmalloc((size_t)cap, what);
  for (;;) {
    r = idx_read(x, buf + got, cap - got);
    if (r < 0) break;
    got += r;
    if (got < cap || cap == want) break;
    cap = cap * 2 < want ? cap * 2 : want;
    uint8_t *grown = realloc(buf, (size_t)cap);
    if (!grown) MPSL_DIE("out of memory allocating %lld bytes for %s", (long long)cap, what);
    buf = grown;
  }
  *out = buf; /* the caller frees it, also on failure */
  if (r < 0) return -1;
  if (got < want)
    return mpsl_fail("%s: truncated: expected %lld bytes of %s, found %lld", x->path, (long long)want, what,
                     (long long)got);
  /* Reading on to the end of a gzip stream checks its CRC; trailing bytes are ignored. */
  uint8_t extra;
  return idx_read(x, &extra, 1) < 0 ? -1 : 0;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the header of 1 + ndims words into hdr, checking the magic. */
static int idx_header(idx_file *x, uint32_t magic, int ndims, uint32_t *hdr, const char *kind) {
  uint8_t raw[16];
  int64_t want = 4 * (1 + ndims), got = idx_read(x, raw, want);
  if (got < 0) return -1;
  if (got >= 4 && be32(raw) != magic)
    return mpsl_fail("%s: bad magic 0x%08x (expected 0x%08x for IDX %s)", x->path, be32(raw), magic, kind);
  if (got < want)
    return mpsl_fail("%s: truncated: expected a %lld-byte IDX header, found %lld bytes", x->path, (long long)want,
                     (long long)got);
  for (int i = 0; i <= ndims; i++) hdr[i] = be32(raw + 4 * i);
  return 0;
}

int mpsl_idx_load(mpsl_dataset *d, const char *dir, int train) {
  const char *split = train ? "train" : "t10k";
  char name[64];
  idx_file lab = {0}, img = {0};
  uint32_t lh[2], ih[4];
  int rc = -1;

  snprintf(name, sizeof name, "%s-labels-idx1-ubyte", split);
  if (idx_open(&lab, dir, name) || idx_header(&lab, IDX_LABELS, 1, lh, "labels")) goto out;
  snprintf(name, sizeof name, "%s-images-idx3-ubyte", split);
  if (idx_open(&img, dir, name) || idx_header(&img, IDX_IMAGES, 3, ih, "images")) goto out;
  if (ih[2] != IDX_SIDE || ih[3] != IDX_SIDE) {
    mpsl_fail("%s: images are %ux%u (expected %dx%d)", img.path, ih[2], ih[3], IDX_SIDE, IDX_SIDE);
    goto out;
  }
  if (ih[1] != lh[1]) {
    mpsl_fail("%s: %u images but %s holds %u labels (expected the same count)", img.path, ih[1], lab.path, lh[1]);
    goto out;
  }
  if (ih[1] == 0) {
    mpsl_fail("%s: holds no images (expected at least 1)", img.path);
    goto out;
  }
  d->n = ih[1];
  d->channels = 1;
  d->height = d->width = IDX_SIDE;
  if (idx_payload(&lab, d->n, &d->labels, "labels")) goto out;
  for (int64_t i = 0; i < d->n; i++)
    if (d->labels[i] >= d->classes) {
      mpsl_fail("%s: label %u at sample %lld (expected < %d)", lab.path, d->labels[i], (long long)i, d->classes);
      goto out;
    }
  if (idx_payload(&img, d->n * IDX_SIDE * IDX_SIDE, &d->images, "pixels")) goto out;
  rc = 0;
out:
  if (lab.f) gzclose(lab.f);
  if (img.f) gzclose(img.f);
  return rc;
}
