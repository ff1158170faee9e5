/* A binary min-heap over an array of any element type: MPSL_HEAP(name, T, less) defines
 * name_push(T *h, int64_t *n, T v), which needs room for one more element, and
 * name_pop(T *h, int64_t *n), which takes the least of *n > 0 elements out; less(a, b)
 * compares two const T *. Ties come out in whatever order less leaves them: a caller that
 * needs a fixed order breaks them in less. */
#ifndef MPSL_UTIL_HEAP_H
#define MPSL_UTIL_HEAP_H

#include <stdint.h>

#define MPSL_HEAP(name, T, less)                            \
  static inline void name##_push(T *h, int64_t *n, T v) {   \
    int64_t i = (*n)++;                                     \
    while (i > 0) {                                         \
      int64_t up = (i - 1) / 2;                             \
      if (!less(&v, &h[up])) break;                         \
      h[i] = h[up];                                         \
      i = up;                                               \
    }                                                       \
    h[i] = v;                                               \
  }                                                         \
  static inline T name##_pop(T *h, int64_t *n) {            \
    T top = h[0], last = h[--*n];                           \
    int64_t i = 0;                                          \
    for (;;) {                                              \
      int64_t c = 2 * i + 1;                                \
      if (c >= *n) break;                                   \
      if (c + 1 < *n && less(&h[c + 1], &h[c])) c++;        \
      if (!less(&h[c], &last)) break;                       \
      h[i] = h[c];                                          \
      i = c;                                                \
    }                                                       \
    if (*n > 0) h[i] = last;                                \
    return top;                                             \
  }

#endif
