/* Byte counts for people: the one formatter of every message, table and report. */
#ifndef MPSL_UTIL_BYTES_H
#define MPSL_UTIL_BYTES_H

#include <stdint.h>

/* "81.2 GiB", "16 GiB", "742.3 MiB", "512 B": binary units, one decimal unless whole. */
const char *mpsl_bytes_str(int64_t bytes, char *buf, int cap);

#endif
