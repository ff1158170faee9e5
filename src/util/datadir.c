#include "util/datadir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MPSL_PKGDATADIR
#error "MPSL_PKGDATADIR (the configured $(pkgdatadir)) must be defined by the build"
#endif
#ifndef MPSL_BINDIR
#error "MPSL_BINDIR (the configured $(bindir)) must be defined by the build"
#endif

static char dir[PATH_MAX];

/* The directory of the running binary (symbolic links resolved), or "" when unknown. */
static void exe_dir(char *buf, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
  if (n <= 0) n = 0;
  buf[n] = '\0';
  char *slash = strrchr(buf, '/');
  if (slash)
    *slash = '\0';
  else
    buf[0] = '\0';
}

/* 2: mpsl.datadir beside the binary, one line naming the source tree. */
static int from_build_tree(const char *exe) {
  char marker[PATH_MAX + 16];
  snprintf(marker, sizeof marker, "%s/mpsl.datadir", exe);
  FILE *f = fopen(marker, "r");
  if (!f) return 0;
  int ok = fgets(dir, sizeof dir, f) != NULL;
  fclose(f);
  if (ok) dir[strcspn(dir, "\r\n")] = '\0';
  return ok && dir[0];
}

/* 3: bindir and pkgdatadir share a leading directory C (bin = C/B, data = C/D); a binary
 * in X/B has its data in X/D. */
static int from_install_tree(const char *exe) {
  const char *bin = MPSL_BINDIR, *data = MPSL_PKGDATADIR;
  size_t common = 0;
  for (size_t i = 0; bin[i] && bin[i] == data[i]; i++)
    if (bin[i] == '/') common = i;
  if (bin[0] != '/' || data[0] != '/') return 0;
  const char *b = bin + common, *d = data + common; /* "/bin", "/share/mpsl" */
  size_t el = strlen(exe), bl = strlen(b);
  if (bl <= 1 || el < bl || strcmp(exe + el - bl, b)) return 0;
  snprintf(dir, sizeof dir, "%.*s%s", (int)(el - bl), exe, d);
  return access(dir, F_OK) == 0;
}

const char *mpsl_datadir(void) {
  if (dir[0]) return dir;
  const char *env = getenv("MPSL_DATADIR");
  if (env && *env) {
    snprintf(dir, sizeof dir, "%s", env);
    return dir;
  }
  char exe[PATH_MAX];
  exe_dir(exe, sizeof exe);
  if (exe[0] && (from_build_tree(exe) || from_install_tree(exe))) return dir;
  snprintf(dir, sizeof dir, "%s", MPSL_PKGDATADIR);
  return dir;
}

const char *mpsl_data_file(const char *rel, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s", mpsl_datadir(), rel);
  return buf;
}
