/* Layers computed in plain layout by our own loops: adaptive average pool (torchvision's
 * window rule), flatten (a reorder to plain), dropout (counter-based masks). */
#include <stdlib.h>
#include <string.h>

#include "nn/internal.h"
#include "util/rng.h"
#include "util/timer.h"

static void free_impl(nn_layer *l) {
  free(l->impl);
  l->impl = NULL;
}

/* ---- adaptive average pool ----------------------------------------------------------- */

/* Window of output i along an axis of length in: [floor(i*in/out), ceil((i+1)*in/out)). */
static int win_lo(int i, int in, int out) { return (i * in) / out; }
static int win_hi(int i, int in, int out) { return ((i + 1) * in + out - 1) / out; }

static void avgpool_build(nn_layer *l, nn_part_build *b, const dnnl_memory_desc_t *in) {
  int n = (int)in->dims[0];
  nn_md_plain(&l->src_md, n, l->in_c, l->in_h, l->in_w, 0);
  nn_md_plain(&l->dst_md, n, l->out_c, l->out_h, l->out_w, 0);
}

static void avgpool_forward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, int train) {
  double t0 = nn_profiling ? mpsl_now() : 0;
  DNNL_CHECK(dnnl_stream_wait(nn_stream()));
  const float *x = nn_mem_ptr(src);
  float *y = nn_mem_ptr(dst);
  int64_t planes = nn_mem_md(src)->dims[0] * l->in_c;
  int H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *xp = x + pl * H * W;
    float *yp = y + pl * OH * OW;
    for (int i = 0; i < OH; i++)
      for (int j = 0; j < OW; j++) {
        int h0 = win_lo(i, H, OH), h1 = win_hi(i, H, OH), w0 = win_lo(j, W, OW), w1 = win_hi(j, W, OW);
        float s = 0.0f;
        for (int h = h0; h < h1; h++)
          for (int w = w0; w < w1; w++) s += xp[h * W + w];
        yp[i * OW + j] = s / (float)((h1 - h0) * (w1 - w0));
      }
  }
  nn_profile_add(l, NN_WORK_OWN, t0);
}

static void avgpool_backward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, dnnl_memory_t ddst,
                             dnnl_memory_t dsrc) {
  if (!dsrc) return;
  double t0 = nn_profiling ? mpsl_now() : 0;
  DNNL_CHECK(dnnl_stream_wait(nn_stream()));
  const float *dy = nn_mem_ptr(ddst);
  float *dx = nn_mem_ptr(dsrc);
  int64_t planes = nn_mem_md(src)->dims[0] * l->in_c;
  int H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < planes; pl++) {
    float *dxp = dx + pl * H * W;
    const float *dyp = dy + pl * OH * OW;
    memset(dxp, 0, (size_t)H * W * sizeof(float));
    for (int i = 0; i < OH; i++)
      for (int j = 0; j < OW; j++) {
        int h0 = win_lo(i, H, OH), h1 = win_hi(i, H, OH), w0 = win_lo(j, W, OW), w1 = win_hi(j, W, OW);
        float g = dyp[i * OW + j] / (float)((h1 - h0) * (w1 - w0));
        for (int h = h0; h < h1; h++)
          for (int w = w0; w < w1; w++) dxp[h * W + w] += g;
      }
  }
  nn_profile_add(l, NN_WORK_OWN, t0);
}

const nn_layer_ops nn_avgpool_ops = {NULL, avgpool_build, avgpool_forward, avgpool_backward, NULL, NULL};

/* ---- flatten ------------------------------------------------------------------------------ */

typedef struct {
  nn_prim *fwd, *bwd;
  dnnl_memory_t view; /* the flat output seen as plain (N, C, H, W) */
} flatten_impl;

static void flatten_build(nn_layer *l, nn_part_build *b, const dnnl_memory_desc_t *in) {
  flatten_impl *c = mpsl_xcalloc(1, sizeof *c, "flatten");
  l->impl = c;
  int n = (int)in->dims[0];
  l->src_md = *in;
  nn_md_plain(&l->dst_md, n, l->in_c, l->in_h, l->in_w, 1);
  dnnl_memory_desc_t plain;
  nn_md_plain(&plain, n, l->in_c, l->in_h, l->in_w, l->flat_in);
  c->fwd = nn_reorder_new(b, in, &plain);
  c->bwd = nn_reorder_new(b, &plain, in);
  DNNL_CHECK(dnnl_memory_create(&c->view, &plain, nn_engine(), DNNL_MEMORY_NONE));
}

static void flatten_forward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, int train) {
  flatten_impl *c = l->impl;
  DNNL_CHECK(dnnl_memory_set_data_handle(c->view, nn_mem_ptr(dst)));
  nn_reorder(c->fwd, src, c->view);
}

static void flatten_backward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, dnnl_memory_t ddst,
                             dnnl_memory_t dsrc) {
  flatten_impl *c = l->impl;
  if (!dsrc) return;
  DNNL_CHECK(dnnl_memory_set_data_handle(c->view, nn_mem_ptr(ddst)));
  nn_reorder(c->bwd, c->view, dsrc);
}

static void flatten_release(nn_layer *l) {
  flatten_impl *c = l->impl;
  if (c) dnnl_memory_destroy(c->view);
  free_impl(l);
}

const nn_layer_ops nn_flatten_ops = {NULL, flatten_build, flatten_forward, flatten_backward, NULL, flatten_release};

/* ---- dropout ---------------------------------------------------------------------------------- */

typedef struct {
  uint64_t stream; /* stream of the last training forward: backward redraws the same mask */
} dropout_impl;

static void dropout_build(nn_layer *l, nn_part_build *b, const dnnl_memory_desc_t *in) {
  l->impl = mpsl_xcalloc(1, sizeof(dropout_impl), "dropout");
  nn_md_plain(&l->src_md, (int)in->dims[0], l->in_c, l->in_h, l->in_w, l->flat_in);
  l->dst_md = l->src_md;
}

/* y = x * keep / (1 - p) with keep = (u >= p), u drawn from (seed, (layer << 32) | step, i). */
static void dropout_apply(nn_layer *l, const float *x, float *y, int64_t n, uint64_t stream) {
  uint64_t seed = nn_dropout_seed(nn_layer_part(l));
  float p = l->p, scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) y[i] = mpsl_rng_uniform(seed, stream, (uint64_t)i) >= p ? x[i] * scale : 0.0f;
}

static void dropout_forward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, int train) {
  dropout_impl *c = l->impl;
  double t0 = nn_profiling ? mpsl_now() : 0;
  DNNL_CHECK(dnnl_stream_wait(nn_stream()));
  int64_t n = (int64_t)(dnnl_memory_desc_get_size(&l->src_md) / sizeof(float));
  if (!train || l->p == 0.0f) {
    memcpy(nn_mem_ptr(dst), nn_mem_ptr(src), (size_t)n * sizeof(float));
  } else {
    c->stream = ((uint64_t)l->index << 32) | nn_forward_count(nn_layer_part(l));
    dropout_apply(l, nn_mem_ptr(src), nn_mem_ptr(dst), n, c->stream);
  }
  nn_profile_add(l, NN_WORK_OWN, t0);
}

static void dropout_backward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, dnnl_memory_t ddst,
                             dnnl_memory_t dsrc) {
  dropout_impl *c = l->impl;
  if (!dsrc) return;
  double t0 = nn_profiling ? mpsl_now() : 0;
  DNNL_CHECK(dnnl_stream_wait(nn_stream()));
  int64_t n = (int64_t)(dnnl_memory_desc_get_size(&l->src_md) / sizeof(float));
  if (l->p == 0.0f)
    memcpy(nn_mem_ptr(dsrc), nn_mem_ptr(ddst), (size_t)n * sizeof(float));
  else
    dropout_apply(l, nn_mem_ptr(ddst), nn_mem_ptr(dsrc), n, c->stream);
  nn_profile_add(l, NN_WORK_OWN, t0);
}

const nn_layer_ops nn_dropout_ops = {NULL, dropout_build, dropout_forward, dropout_backward, NULL, free_impl};
