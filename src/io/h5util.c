#define _GNU_SOURCE /* PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP */
#include "io/h5util.h"

#include "io/h5commit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"

static pthread_mutex_t h5_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void quiet_begin(quiet_h5 *q) {
  pthread_mutex_lock(&h5_lock);
  H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5_hold(void) { pthread_mutex_lock(&h5_lock); }

void quiet_end(const quiet_h5 *q) {
  H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
  pthread_mutex_unlock(&h5_lock);
}

static herr_t first_desc(unsigned n, const H5E_error2_t *e, void *out) {
  if (n == 0 && e->desc) snprintf(out, 256, "%s", e->desc);
  return 0;
}

/* on one line: an error is one line (sec2's messages hold a ctime() with its newline) */
static void one_line(char *s) {
  char *w = s;
  for (const char *r = s; *r; r++) {
    char c = *r == '\n' || *r == '\r' || *r == '\t' ? ' ' : *r;
    if (c != ' ' || (w > s && w[-1] != ' ')) *w++ = c;
  }
  while (w > s && w[-1] == ' ') w--;
  *w = '\0';
}

const char *h5_detail(void) {
  static char buf[256];
  buf[0] = '\0';
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_desc, buf);
  one_line(buf);
  return buf;
}

int h5_make_parent(const char *path) {
  char *dir = strdup(path);
  if (!dir) MPSL_DIE("out of memory");
  char *slash = strrchr(dir, '/');
  int rc = 0;
  if (slash && slash != dir) {
    *slash = '\0';
    for (char *s = dir + 1; !rc; s++)
      if (*s == '/' || *s == '\0') {
        char was = *s;
        *s = '\0';
        struct stat sb;
        /* only what is missing: on some network file systems mkdir of a folder that exists fails otherwise */
        if (stat(dir, &sb) && (mkdir(dir, 0777) && errno != EEXIST))
          rc = mpsl_fail("%s: cannot create its folder %s (%s)", path, dir, strerror(errno));
        *s = was;
        if (!was) break;
      }
  }
  free(dir);
  return rc;
}

static int tmp_create(h5_tmpfile *w, const char *path, int unique) {
  if (h5_make_parent(path)) return -1;
  size_t n = strlen(path) + 96;
  w->path = path;
  w->tmp = mpsl_xmalloc(n, "temporary file name");
  if (unique) {
    /* the host too: jobs on two nodes of a shared file system may have the same PID */
    char host[64] = "";
    if (gethostname(host, sizeof host)) host[0] = '\0';
    host[sizeof host - 1] = '\0';
    snprintf(w->tmp, n, "%s.tmp.%s%s%ld", path, host, host[0] ? "." : "", (long)getpid());
  } else {
    snprintf(w->tmp, n, "%s.tmp", path);
  }
  quiet_begin(&w->q);
  errno = 0;
  /* the driver of io/h5commit.h reports a full disk at close, with its errno */
  hid_t fapl = h5_commit_fapl();
  w->file = fapl >= 0 ? H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5I_INVALID_HID;
  if (fapl >= 0) H5Pclose(fapl);
  if (w->file >= 0) return 0;
  mpsl_fail("%s: cannot create (%s)", w->tmp, errno ? strerror(errno) : h5_detail());
  quiet_end(&w->q);
  free(w->tmp);
  return -1;
}

int h5_tmp_create(h5_tmpfile *w, const char *path) { return tmp_create(w, path, 0); }
int h5_tmp_create_unique(h5_tmpfile *w, const char *path) { return tmp_create(w, path, 1); }

int h5_tmp_finish(h5_tmpfile *w, int ok) {
  /* closing flushes: a full disk shows up here. The driver synced the file before its
   * close returned: on the disk before it takes the name, so that a crash of the node
   * does not leave an empty file under the name of a complete one */
  int bad = H5Fclose(w->file) < 0, err = h5_commit_error();
  if ((bad || err) && ok) {
    mpsl_fail("%s: cannot finish writing (%s)", w->tmp, err ? strerror(err) : h5_detail());
    ok = 0;
  }
  if (ok && rename(w->tmp, w->path) != 0) {
    mpsl_fail("%s: cannot rename %s into place (%s)", w->path, w->tmp, strerror(errno));
    ok = 0;
  }
  if (!ok) unlink(w->tmp);
  quiet_end(&w->q);
  free(w->tmp);
  return ok ? 0 : -1;
}
