/* From uint8 samples to the float batches a model part consumes, and the order in which
 * a data owner walks its shard. */
#include "data/data.h"
#include "util/rng.h"

#include <string.h>

/* Stream tag keeping epoch shuffles apart from other draws made with the same seed. */
#define SHUFFLE_TAG 0x53485546464c4500ULL /* "SHUFFLE" */

enum { CROP_PAD = 4 };

void mpsl_dataset_batch(const mpsl_dataset *d, const int64_t *idx, int n, float *x, int32_t *y,
                        const mpsl_augment *aug) {
  const int C = d->channels, H = d->height, W = d->width, S = mpsl_dataset_size(d);
  const int pad = (S - H) / 2; /* Pad(2) puts a 28x28 image at (2, 2) of the 32x32 */
  float lut[3][256];           /* Normalize(ToTensor(v)) per channel and byte value */
  for (int c = 0; c < C; c++)
    for (int v = 0; v < 256; v++) lut[c][v] = ((float)v / 255.0f - d->mean[c]) / d->std[c];

  for (int i = 0; i < n; i++) {
    const uint8_t *img = d->images + idx[i] * C * H * W; /* (C, H, W) */
    float *out = x + (int64_t)i * C * S * S;             /* (C, S, S) */
    /* The output pixel (r, s) reads the Pad(2)-ed image at (r + dy, s + dx), mirrored
     * when flipped; RandomCrop's padding reads as zero like Pad's. */
    int dy = 0, dx = 0, flip = 0;
    if (aug && aug->enabled) {
      uint64_t base = (uint64_t)i * 4;
      dy = (int)(mpsl_rng_u64(aug->seed, aug->stream, base + 0) % (2 * CROP_PAD + 1)) - CROP_PAD;
      dx = (int)(mpsl_rng_u64(aug->seed, aug->stream, base + 1) % (2 * CROP_PAD + 1)) - CROP_PAD;
      flip = (int)(mpsl_rng_u64(aug->seed, aug->stream, base + 2) >> 63);
    }
    for (int c = 0; c < C; c++)
      for (int r = 0; r < S; r++) {
        int sy = r + dy - pad; /* row in the stored image */
        for (int s = 0; s < S; s++) {
          int sx = (flip ? S - 1 - s : s) + dx - pad;
          int inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
          out[((int64_t)c * S + r) * S + s] = lut[c][inside ? img[((int64_t)c * H + sy) * W + sx] : 0];
        }
      }
    if (y) y[i] = d->labels[idx[i]];
  }
}

void mpsl_epoch_order(int64_t *order, const int64_t *shard, int64_t n, uint64_t seed, uint64_t epoch, int shuffle) {
  memcpy(order, shard, (size_t)n * sizeof *order);
  if (!shuffle) return;
  mpsl_rng r;
  mpsl_rng_init(&r, seed, SHUFFLE_TAG ^ epoch);
  for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
    int64_t j = (int64_t)mpsl_rng_below(&r, (uint64_t)i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}
