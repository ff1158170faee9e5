#include "io/h5util.h"

#include <stdio.h>

void quiet_begin(quiet_h5 *q) {
  H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void quiet_end(const quiet_h5 *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

static herr_t first_desc(unsigned n, const H5E_error2_t *e, void *out) {
  if (n == 0 && e->desc) snprintf(out, 256, "%s", e->desc);
  return 0;
}

const char *h5_detail(void) {
  static char buf[256];
  buf[0] = '\0';
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_desc, buf);
  return buf;
}
