/* The helpers of fuzz.h, linked into every target. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[4096];

static void remove_dir(void) {
  DIR *d = opendir(dir);
  if (d) {
    char p[8192];
    for (struct dirent *e; (e = readdir(d)) != NULL;)
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
      }
    closedir(d);
  }
  rmdir(dir);
}

const char *fuzz_dir(void) {
  if (!dir[0]) {
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mpsl-fuzz.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
      perror(dir);
      abort();
    }
    atexit(remove_dir);
  }
  return dir;
}

const char *fuzz_write(const char *name, const uint8_t *data, size_t n, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", fuzz_dir(), name);
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
    perror(path);
    abort();
  }
  return path;
}

char *fuzz_text(const uint8_t *data, size_t n) {
  char *s = malloc(n + 1);
  if (!s) abort();
  memcpy(s, data, n);
  s[n] = '\0';
  return s;
}
