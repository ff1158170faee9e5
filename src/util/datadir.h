/* Where mpsl's shipped data is: the device catalogue (experiments/devices.ini), the
 * experiment and sweep files, the published layer tables (datasets/). The same relative
 * paths hold in the source tree and under the installed $(pkgdatadir), so a caller asks
 * for "experiments/devices.ini" and gets the file of whichever tree this binary belongs to.
 *
 * The directory is, in order:
 *   1. $MPSL_DATADIR, when set and not empty;
 *   2. a build tree's source tree: the path in the file `mpsl.datadir` beside the running
 *      binary, which make writes into the build tree (and never installs);
 *   3. an installed tree wherever it now is: a binary at X/bin/mpsl reads X/share/mpsl
 *      (the configured bindir and pkgdatadir relative to each other), so a staged
 *      DESTDIR install or a moved prefix finds its own data;
 *   4. the configured $(pkgdatadir).
 * No path of the build tree is compiled in. */
#ifndef MPSL_UTIL_DATADIR_H
#define MPSL_UTIL_DATADIR_H

#include <stddef.h>

/* The data directory, resolved once per process; never NULL. */
const char *mpsl_datadir(void);

/* DATADIR/rel into buf (cap bytes, truncated past it); returns buf. */
const char *mpsl_data_file(const char *rel, char *buf, size_t cap);

#endif
