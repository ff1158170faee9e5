/* Prints reference values of mpsl_rng_u64 for the self-test of make_golden.py:
 *   gcc -I../../src rng_ref.c ../../src/util/rng.c -lm -o /tmp/rng_ref && /tmp/rng_ref */
#include <inttypes.h>
#include <stdio.h>

#include "util/rng.h"

int main(void) {
  const uint64_t cases[3][3] = {{0, 0, 0}, {1234, (3ULL << 32) | 1, 17}, {0xdeadbeefULL, (38ULL << 32) | 2, 100000}};
  for (int i = 0; i < 3; i++)
    printf("(%" PRIu64 ", 0x%" PRIx64 ", %" PRIu64 ", 0x%016" PRIx64 "),\n", cases[i][0], cases[i][1], cases[i][2],
           mpsl_rng_u64(cases[i][0], cases[i][1], cases[i][2]));
  return 0;
}
