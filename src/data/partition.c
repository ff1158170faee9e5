/* Splitting the training set over the K data owners. Both kinds first give every sample
 * an owner, then list each owner's samples in file order, so shards come out sorted. */
#include "data/data.h"
#include "util/err.h"
#include "util/rng.h"

#include <stdlib.h>
#include <string.h>

/* Stream tags keep partition draws apart from other draws made with the same seed. */
#define IID_TAG 0x4949440000000000ULL       /* "IID" */
#define DIRICHLET_TAG 0x4449520000000000ULL /* "DIR", + attempt */
enum { DIRICHLET_TRIES = 100 };

/* owner (n): a permutation cut into k runs whose lengths differ by at most 1. */
static void assign_iid(int32_t *owner, int64_t n, int k, uint64_t seed) {
  int64_t *perm = mpsl_xmalloc((size_t)n * sizeof *perm, "IID permutation");
  mpsl_rng r;
  mpsl_rng_init(&r, seed, IID_TAG);
  mpsl_rng_permutation(&r, perm, n);
  for (int j = 0; j < k; j++)
    for (int64_t t = n * j / k; t < n * (j + 1) / k; t++) owner[perm[t]] = j;
  free(perm);
}

/* owner (n): each class's samples, shuffled, cut in proportions ~ Dir(alpha) over the k
 * owners (cut points at floor of the cumulative share, as np.split of Hsu et al. 2019).
 * Returns 1 when every owner got at least one sample. */
static int assign_dirichlet(int32_t *owner, const mpsl_dataset *d, int k, double alpha, uint64_t seed,
                            uint64_t attempt) {
  const int64_t n = d->n;
  int64_t *start = mpsl_xcalloc((size_t)d->classes + 1, sizeof *start, "class offsets");
  int64_t *members = mpsl_xmalloc((size_t)n * sizeof *members, "class members");
  int64_t *got = mpsl_xcalloc((size_t)k, sizeof *got, "owner counts");
  double *share = mpsl_xmalloc((size_t)k * sizeof *share, "Dirichlet draw");
  mpsl_rng r;
  mpsl_rng_init(&r, seed, DIRICHLET_TAG + attempt);

  /* members grouped by class in file order: class c is members[start[c] .. start[c+1]) */
  for (int64_t i = 0; i < n; i++) start[d->labels[i] + 1]++;
  for (int c = 0; c < d->classes; c++) start[c + 1] += start[c];
  int64_t *fill = mpsl_xmalloc((size_t)d->classes * sizeof *fill, "class fill");
  memcpy(fill, start, (size_t)d->classes * sizeof *fill);
  for (int64_t i = 0; i < n; i++) members[fill[d->labels[i]]++] = i;
  free(fill);

  for (int c = 0; c < d->classes; c++) {
    int64_t *m = members + start[c], nc = start[c + 1] - start[c];
    for (int64_t i = nc - 1; i > 0; i--) {
      int64_t j = (int64_t)mpsl_rng_below(&r, (uint64_t)i + 1), t = m[i];
      m[i] = m[j];
      m[j] = t;
    }
    double sum = 0;
    for (int j = 0; j < k; j++) sum += share[j] = mpsl_rng_gamma(&r, alpha);
    if (!(sum > 0)) { /* every draw underflowed (tiny alpha): the class goes to one owner */
      for (int j = 0; j < k; j++) share[j] = 0;
      share[mpsl_rng_below(&r, (uint64_t)k)] = sum = 1;
    }
    double cum = 0;
    int64_t from = 0;
    for (int j = 0; j < k; j++) {
      cum += share[j];
      int64_t to = j == k - 1 ? nc : (int64_t)(cum / sum * (double)nc);
      if (to > nc) to = nc;
      for (; from < to; from++) owner[m[from]] = j;
    }
  }
  for (int64_t i = 0; i < n; i++) got[owner[i]]++;
  int ok = 1;
  for (int j = 0; j < k; j++) ok &= got[j] > 0;
  free(start);
  free(members);
  free(got);
  free(share);
  return ok;
}

int mpsl_partition_make(mpsl_partition *p, const mpsl_dataset *d, int k, const char *kind, double alpha,
                        uint64_t seed) {
  memset(p, 0, sizeof *p);
  int dirichlet = kind && strcmp(kind, "dirichlet") == 0;
  if (!dirichlet && !(kind && strcmp(kind, "iid") == 0))
    return mpsl_fail("unknown partition '%s' (expected iid or dirichlet)", kind ? kind : "(null)");
  if (k < 1 || k > d->n)
    return mpsl_fail("cannot split %lld samples of %s over %d data owners (expected 1 to %lld)", (long long)d->n,
                     d->name, k, (long long)d->n);
  if (dirichlet && !(alpha > 0)) return mpsl_fail("Dirichlet alpha %g (expected > 0)", alpha);

  int32_t *owner = mpsl_xmalloc((size_t)d->n * sizeof *owner, "sample owners");
  if (!dirichlet) {
    assign_iid(owner, d->n, k, seed);
  } else {
    int attempt = 0;
    while (attempt < DIRICHLET_TRIES && !assign_dirichlet(owner, d, k, alpha, seed, attempt)) attempt++;
    if (attempt == DIRICHLET_TRIES) {
      free(owner);
      return mpsl_fail(
          "Dirichlet(%g) split of %lld samples of %s over %d data owners left "
          "some owner empty in %d draws (expected a larger alpha or fewer owners)",
          alpha, (long long)d->n, d->name, k, DIRICHLET_TRIES);
    }
  }

  p->k = k;
  p->count = mpsl_xcalloc((size_t)k, sizeof *p->count, "partition counts");
  p->index = mpsl_xcalloc((size_t)k, sizeof *p->index, "partition shards");
  for (int64_t i = 0; i < d->n; i++) p->count[owner[i]]++;
  for (int j = 0; j < k; j++) {
    p->index[j] = mpsl_xmalloc((size_t)p->count[j] * sizeof **p->index, "partition shard");
    p->count[j] = 0;
  }
  for (int64_t i = 0; i < d->n; i++) p->index[owner[i]][p->count[owner[i]]++] = i;
  free(owner);
  return 0;
}

void mpsl_partition_free(mpsl_partition *p) {
  for (int j = 0; p->index && j < p->k; j++) free(p->index[j]);
  free(p->index);
  free(p->count);
  memset(p, 0, sizeof *p);
}

void mpsl_partition_print(const mpsl_partition *p, const mpsl_dataset *d, FILE *f) {
  int64_t *hist = mpsl_xmalloc((size_t)d->classes * sizeof *hist, "label histogram");
  for (int j = 0; j < p->k; j++) {
    memset(hist, 0, (size_t)d->classes * sizeof *hist);
    for (int64_t t = 0; t < p->count[j]; t++) hist[d->labels[p->index[j][t]]]++;
    fprintf(f, "owner %d: %lld samples, labels", j, (long long)p->count[j]);
    for (int c = 0; c < d->classes; c++) fprintf(f, " %lld", (long long)hist[c]);
    fputc('\n', f);
  }
  free(hist);
}
