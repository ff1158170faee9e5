#include "util/bytes.h"

#include <stdio.h>

const char *mpsl_bytes_str(int64_t bytes, char *buf, int cap) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = (double)bytes;
  int u = 0;
  while ((v >= 1024 || v <= -1024) && u < 5) v /= 1024, u++;
  if (u == 0 || v == (double)(int64_t)v)
    snprintf(buf, (size_t)cap, "%lld %s", (long long)v, units[u]);
  else
    snprintf(buf, (size_t)cap, "%.1f %s", v, units[u]);
  return buf;
}
