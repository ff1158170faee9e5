/* The layers oneDNN computes: convolution, batch norm, ReLU, max pool, linear. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/internal.h"
#include "util/rng.h"
#include "util/timer.h"

static void pd_create(dnnl_primitive_desc_t *pd, const void *desc, const_dnnl_primitive_desc_t hint) {
  DNNL_CHECK(dnnl_primitive_desc_create(pd, desc, nn_attr(), nn_engine(), hint));
}

static const dnnl_memory_desc_t *q(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
  return dnnl_primitive_desc_query_md(pd, what, 0);
}

/* ---- convolution ------------------------------------------------------------------- */

typedef struct {
  nn_prim *fwd, *bwd_data, *bwd_w, *re_w, *re_wb, *re_dw;
  /* w, b, dw, db over the arenas (plain); w_blk for forward and w_bwd for backward-data in
   * the layouts their kernels want (backward-data's is often the transpose of forward's) */
  dnnl_memory_t w, w_blk, w_bwd, b, dw, dw_blk, db;
  uint64_t wver, wver_bwd;
  /* each backward primitive picks its own layouts (forced ones can land on reference
   * kernels, e.g. with few channels): adapters bridge them to the chain's tensors */
  nn_adapter *data_ddst, *w_src, *w_ddst;
  nn_prim *re_dsrc; /* backward-data's own input-gradient layout back to src_md */
  dnnl_memory_t dsrc_own;
  /* backward as matrix products over the batch (conv_gemm): the input plain (nchw), the
   * output gradient as rows of channels (nhwc), the columns of either product, the input
   * gradient plain and its reorder to src_md */
  int gemm;
  nn_adapter *g_src, *g_ddst;
  dnnl_memory_t col, dx_plain;
  nn_prim *re_dx;
} conv_impl;

/* oneDNN 2.6's backward kernels reduce over the batch one image at a time, which is slow
 * when an image's output has few positions (4 or 16 in VGG's and ResNet's last stages at
 * 32x32 inputs: backward-weights took 1.5 to 5 times a forward pass here). There both
 * gradients are one product over the whole batch, with the batch's positions as rows:
 * dW[oc][ic,kh,kw] = dy^T x im2col(x) and dx = col2im(dy x W), each one sgemm. The choice
 * depends on the layer's shape only, so a part computes it the same way wherever it is cut. */
#define CONV_GEMM_TAPS 49
static int conv_gemm(const nn_layer *l) {
  return l->k > 1 && l->k * l->k <= CONV_GEMM_TAPS && l->out_h * l->out_w <= 16;
}

/* Where each tap of the kernel at output (oh, ow) reads in a channel plane of x, -1 where
 * it overhangs the padding. */
static void conv_taps(const nn_layer *l, int oh, int ow, int64_t *off) {
  for (int kh = 0, t = 0; kh < l->k; kh++)
    for (int kw = 0; kw < l->k; kw++, t++) {
      int ih = oh * l->stride - l->pad + kh, iw = ow * l->stride - l->pad + kw;
      off[t] = ih >= 0 && ih < l->in_h && iw >= 0 && iw < l->in_w ? (int64_t)ih * l->in_w + iw : -1;
    }
}

static void conv_declare(nn_layer *l, nn_part_build *b) {
  int64_t wd[4] = {l->out_c, l->in_c, l->k, l->k}, bd[1] = {l->out_c};
  l->t_w = nn_declare(b, l, "weight", 4, wd, 0);
  if (l->bias) l->t_b = nn_declare(b, l, "bias", 1, bd, 0);
}

/* kaiming_normal_(mode="fan_out", nonlinearity="relu"), bias zero: torchvision's choice */
static void conv_init(nn_layer *l, uint64_t seed) {
  nn_part *p = nn_layer_part(l);
  float *w = nn_param_ptr(p, l->t_w);
  int64_t n = nn_tensor_len(p, l->t_w);
  double sd = sqrt(2.0 / ((double)l->out_c * l->k * l->k));
  mpsl_rng r;
  mpsl_rng_init(&r, seed, l->stream);
  for (int64_t i = 0; i < n; i++) w[i] = (float)(sd * mpsl_rng_normal(&r));
  if (l->t_b >= 0) memset(nn_param_ptr(p, l->t_b), 0, (size_t)nn_tensor_len(p, l->t_b) * sizeof(float));
}

static void conv_build(nn_layer *l, nn_part_build *b, const dnnl_memory_desc_t *in) {
  conv_impl *c = mpsl_xcalloc(1, sizeof *c, "conv");
  l->impl = c;
  int n = (int)in->dims[0];
  dnnl_memory_desc_t src, dst, w, wplain, bias;
  nn_md_any(&src, n, l->in_c, l->in_h, l->in_w);
  nn_md_any(&dst, n, l->out_c, l->out_h, l->out_w);
  dnnl_dims_t wd = {l->out_c, l->in_c, l->k, l->k};
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(&w, 4, wd, dnnl_f32, dnnl_format_tag_any));
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(&wplain, 4, wd, dnnl_f32, dnnl_oihw));
  nn_md_1d(&bias, l->out_c);
  dnnl_dims_t st = {l->stride, l->stride}, pad = {l->pad, l->pad};
  dnnl_convolution_desc_t d;
  DNNL_CHECK(dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_direct, &src, &w,
                                                l->bias ? &bias : NULL, &dst, st, pad, pad));
  dnnl_primitive_desc_t fpd, dpd, wpd;
  pd_create(&fpd, &d, NULL);
  l->src_md = *q(fpd, dnnl_query_src_md);
  l->dst_md = *q(fpd, dnnl_query_dst_md);
  dnnl_memory_desc_t wmd = *q(fpd, dnnl_query_weights_md);
  c->fwd = nn_prim_new(b, fpd);

  dnnl_memory_desc_t wbmd = wplain, dwmd = wplain;
  c->gemm = conv_gemm(l);
  if (c->gemm) {
    dnnl_memory_desc_t xplain, dyrows, cols;
    dnnl_dims_t xd = {n, l->in_c, l->in_h, l->in_w}, yd = {n, l->out_c, l->out_h, l->out_w};
    dnnl_dims_t cd = {(int64_t)n * l->out_h * l->out_w, (int64_t)l->in_c * l->k * l->k};
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&xplain, 4, xd, dnnl_f32, dnnl_nchw));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&dyrows, 4, yd, dnnl_f32, dnnl_nhwc));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&cols, 2, cd, dnnl_f32, dnnl_nc));
    c->g_src = nn_adapter_new(b, &l->src_md, &xplain, NN_MEM_ACT);
    c->g_ddst = nn_adapter_new(b, &l->dst_md, &dyrows, NN_MEM_ACT_GRAD);
    c->col = nn_mem_shared(b, &cols);
    if (!nn_md_eq(&xplain, &l->src_md)) {
      c->dx_plain = nn_mem_new(b, &xplain, NN_MEM_ACT_GRAD);
      c->re_dx = nn_reorder_new(b, &xplain, &l->src_md);
    }
  } else {
    /* a 1- or 3-channel input arrives plain; backward-data has fast kernels only for other layouts */
    DNNL_CHECK(dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &src, &w, &dst, st, pad, pad));
    pd_create(&dpd, &d, fpd);
    wbmd = *q(dpd, dnnl_query_weights_md);
    c->bwd_data = nn_prim_new(b, dpd);
    c->data_ddst = nn_adapter_new(b, &l->dst_md, q(dpd, dnnl_query_diff_dst_md), NN_MEM_ACT_GRAD);
    if (!nn_md_eq(q(dpd, dnnl_query_diff_src_md), &l->src_md)) {
      c->dsrc_own = nn_mem_new(b, q(dpd, dnnl_query_diff_src_md), NN_MEM_ACT_GRAD);
      c->re_dsrc = nn_reorder_new(b, q(dpd, dnnl_query_diff_src_md), &l->src_md);
    }
    dnnl_primitive_desc_destroy(dpd);
    DNNL_CHECK(dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &src, &w,
                                                           l->bias ? &bias : NULL, &dst, st, pad, pad));
    pd_create(&wpd, &d, fpd);
    dwmd = *q(wpd, dnnl_query_diff_weights_md);
    c->bwd_w = nn_prim_new(b, wpd);
    c->w_src = nn_adapter_new(b, &l->src_md, q(wpd, dnnl_query_src_md), NN_MEM_ACT);
    c->w_ddst = nn_adapter_new(b, &l->dst_md, q(wpd, dnnl_query_diff_dst_md), NN_MEM_ACT_GRAD);
    dnnl_primitive_desc_destroy(wpd);
  }

  c->w = nn_mem_param(b, l->t_w, &wplain);
  c->dw = nn_mem_grad(b, l->t_w, &wplain);
  if (l->bias) {
    c->b = nn_mem_param(b, l->t_b, &bias);
    c->db = nn_mem_grad(b, l->t_b, &bias);
  }
  if (!nn_md_eq(&wmd, &wplain)) {
    c->w_blk = nn_mem_new(b, &wmd, NN_MEM_PARAM_COPY);
    c->re_w = nn_reorder_new(b, &wplain, &wmd);
  }
  if (c->gemm) {
    /* backward reads the plain weights */
  } else if (nn_md_eq(&wbmd, &wmd)) {
    c->w_bwd = c->w_blk;
  } else if (!nn_md_eq(&wbmd, &wplain)) {
    c->w_bwd = nn_mem_new(b, &wbmd, NN_MEM_PARAM_COPY);
    c->re_wb = nn_reorder_new(b, &wplain, &wbmd);
  }
  if (!nn_md_eq(&dwmd, &wplain)) {
    c->dw_blk = nn_mem_new(b, &dwmd, NN_MEM_PARAM_COPY);
    c->re_dw = nn_reorder_new(b, &dwmd, &wplain);
  }
  dnnl_primitive_desc_destroy(fpd);
}

/* The columns of x for conv_gemm: row (n, oh, ow) holds the inputs its output reads, in
 * the order (ic, kh, kw) of a plain weight's row, zero where the kernel overhangs. */
static void im2col(nn_layer *l, const float *x, float *col, int64_t rows) {
  const int C = l->in_c, KK = l->k * l->k, OH = l->out_h, OW = l->out_w;
  const int64_t plane = (int64_t)l->in_h * l->in_w, ncol = (int64_t)C * KK;
  double t0 = nn_profiling ? mpsl_now() : 0;
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < rows; m++) {
    int64_t off[CONV_GEMM_TAPS];
    conv_taps(l, (int)(m / OW % OH), (int)(m % OW), off);
    const float *xi = x + m / (OH * OW) * C * plane;
    float *r = col + m * ncol;
    for (int ch = 0; ch < C; ch++, xi += plane)
      for (int t = 0; t < KK; t++) *r++ = off[t] >= 0 ? xi[off[t]] : 0.0f;
  }
  nn_profile_add(l, NN_WORK_OWN, t0);
}

/* conv_gemm's backward: dx = col2im(dy x W) when dsrc is wanted, then dW = dy^T x
 * im2col(x) and db = the column sums of dy. col holds one product's columns at a time. */
static void conv_backward_gemm(nn_layer *l, dnnl_memory_t src, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
  conv_impl *c = l->impl;
  const float *dy = nn_mem_ptr(nn_adapt(c->g_ddst, ddst));
  DNNL_CHECK(dnnl_stream_wait(nn_stream())); /* the reorders are done before our loops read */
  float *col = nn_mem_ptr(c->col);
  const int C = l->in_c, KK = l->k * l->k, OH = l->out_h, OW = l->out_w;
  const int64_t rows = nn_mem_md(c->col)->dims[0], ncol = (int64_t)C * KK, imgs = rows / (OH * OW);
  const int64_t plane = (int64_t)l->in_h * l->in_w;
  double t0;
  if (dsrc) {
    t0 = nn_profiling ? mpsl_now() : 0;
    DNNL_CHECK(dnnl_sgemm('N', 'N', rows, ncol, l->out_c, 1.0f, dy, l->out_c, nn_mem_ptr(c->w), ncol, 0.0f, col, ncol));
    nn_profile_add(l, NN_WORK_BWD_DATA, t0);
    t0 = nn_profiling ? mpsl_now() : 0;
    float *dx = nn_mem_ptr(c->dx_plain ? c->dx_plain : dsrc);
#pragma omp parallel for schedule(static)
    for (int64_t img = 0; img < imgs; img++) {
      float *dxi = dx + img * C * plane;
      memset(dxi, 0, (size_t)(C * plane) * sizeof *dxi);
      for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
          int64_t off[CONV_GEMM_TAPS];
          conv_taps(l, oh, ow, off);
          const float *r = col + ((img * OH + oh) * OW + ow) * ncol;
          float *dc = dxi;
          for (int ch = 0; ch < C; ch++, dc += plane, r += KK)
            for (int t = 0; t < KK; t++)
              if (off[t] >= 0) dc[off[t]] += r[t];
        }
    }
    nn_profile_add(l, NN_WORK_OWN, t0);
    if (c->re_dx) nn_reorder(c->re_dx, c->dx_plain, dsrc);
  }
  const float *x = nn_mem_ptr(nn_adapt(c->g_src, src));
  DNNL_CHECK(dnnl_stream_wait(nn_stream()));
  im2col(l, x, col, rows);
  t0 = nn_profiling ? mpsl_now() : 0;
  DNNL_CHECK(dnnl_sgemm('T', 'N', l->out_c, ncol, rows, 1.0f, dy, l->out_c, col, ncol, 0.0f, nn_mem_ptr(c->dw), ncol));
  nn_profile_add(l, NN_WORK_BWD_WEIGHTS, t0);
  if (l->bias) {
    t0 = nn_profiling ? mpsl_now() : 0;
    float *db = nn_mem_ptr(c->db);
    memset(db, 0, (size_t)l->out_c * sizeof *db);
    for (int64_t m = 0; m < rows; m++)
      for (int oc = 0; oc < l->out_c; oc++) db[oc] += dy[m * l->out_c + oc];
    nn_profile_add(l, NN_WORK_OWN, t0);
  }
}

static void conv_forward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, int train) {
  conv_impl *c = l->impl;
  uint64_t v = nn_weights_version(nn_layer_part(l));
  if (c->re_w && c->wver != v) nn_reorder(c->re_w, c->w, c->w_blk);
  c->wver = v;
  dnnl_exec_arg_t a[] = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, c->w_blk ? c->w_blk : c->w}, {DNNL_ARG_DST, dst}, {DNNL_ARG_BIAS, c->b}};
  nn_exec(c->fwd, l->bias ? 4 : 3, a);
}

static void conv_backward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
  conv_impl *c = l->impl;
  if (c->gemm) {
    conv_backward_gemm(l, src, ddst, dsrc);
    return;
  }
  if (dsrc) {
    uint64_t v = nn_weights_version(nn_layer_part(l));
    if (c->re_wb && c->wver_bwd != v) nn_reorder(c->re_wb, c->w, c->w_bwd);
    c->wver_bwd = v;
    dnnl_exec_arg_t a[] = {{DNNL_ARG_DIFF_DST, nn_adapt(c->data_ddst, ddst)},
                           {DNNL_ARG_WEIGHTS, c->w_bwd ? c->w_bwd : c->w},
                           {DNNL_ARG_DIFF_SRC, c->dsrc_own ? c->dsrc_own : dsrc}};
    nn_exec(c->bwd_data, 3, a);
    if (c->dsrc_own) nn_reorder(c->re_dsrc, c->dsrc_own, dsrc);
  }
  dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, nn_adapt(c->w_src, src)},
                         {DNNL_ARG_DIFF_DST, nn_adapt(c->w_ddst, ddst)},
                         {DNNL_ARG_DIFF_WEIGHTS, c->dw_blk ? c->dw_blk : c->dw},
                         {DNNL_ARG_DIFF_BIAS, c->db}};
  nn_exec(c->bwd_w, l->bias ? 4 : 3, a);
  if (c->re_dw) nn_reorder(c->re_dw, c->dw_blk, c->dw);
}

static void free_impl(nn_layer *l) {
  free(l->impl);
  l->impl = NULL;
}

const nn_layer_ops nn_conv_ops = {conv_declare, conv_build, conv_forward, conv_backward, conv_init, free_impl};

/* ---- batch norm ---------------------------------------------------------------------- */

typedef struct {
  nn_prim *fwd, *eval, *bwd;
  dnnl_memory_t scale, shift, dscale, dshift, mean, var, rmean, rvar;
  int64_t count; /* N*H*W: elements behind each channel's statistics */
} bn_impl;

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

static void bn_declare(nn_layer *l, nn_part_build *b) {
  int64_t d[1] = {l->in_c};
  l->t_w = nn_declare(b, l, "weight", 1, d, 0);
  l->t_b = nn_declare(b, l, "bias", 1, d, 0);
  l->t_mean = nn_declare(b, l, "running_mean", 1, d, 1);
  l->t_var = nn_declare(b, l, "running_var", 1, d, 1);
  l->batches_tracked = nn_declare_counter(b);
}

static void bn_init(nn_layer *l, uint64_t seed) {
  nn_part *p = nn_layer_part(l);
  for (int i = 0; i < l->in_c; i++) {
    nn_param_ptr(p, l->t_w)[i] = 1.0f;
    nn_param_ptr(p, l->t_b)[i] = 0.0f;
    nn_stat_ptr(p, l->t_mean)[i] = 0.0f;
    nn_stat_ptr(p, l->t_var)[i] = 1.0f;
  }
  *l->batches_tracked = 0;
}

static void bn_build(nn_layer *l, nn_part_build *b, const dnnl_memory_desc_t *in) {
  bn_impl *c = mpsl_xcalloc(1, sizeof *c, "bn");
  l->impl = c;
  l->src_md = l->dst_md = *in;
  c->count = in->dims[0] * (in->ndims > 2 ? in->dims[2] * in->dims[3] : 1);
  unsigned flags = dnnl_use_scale | dnnl_use_shift;
  dnnl_batch_normalization_desc_t d;
  dnnl_primitive_desc_t fpd, epd, bpd;
  DNNL_CHECK(dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_training, in, BN_EPS, flags));
  pd_create(&fpd, &d, NULL);
  c->fwd = nn_prim_new(b, fpd);
  DNNL_CHECK(dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_inference, in, BN_EPS,
                                                        flags | dnnl_use_global_stats));
  pd_create(&epd, &d, NULL);
  c->eval = nn_prim_new(b, epd);
  DNNL_CHECK(dnnl_batch_normalization_backward_desc_init(&d, dnnl_backward, in, in, BN_EPS, flags));
  pd_create(&bpd, &d, fpd);
  c->bwd = nn_prim_new(b, bpd);
  dnnl_memory_desc_t v;
  nn_md_1d(&v, l->in_c);
  c->scale = nn_mem_param(b, l->t_w, &v);
  c->shift = nn_mem_param(b, l->t_b, &v);
  c->dscale = nn_mem_grad(b, l->t_w, &v);
  c->dshift = nn_mem_grad(b, l->t_b, &v);
  c->rmean = nn_mem_stat(b, l->t_mean, &v);
  c->rvar = nn_mem_stat(b, l->t_var, &v);
  c->mean = nn_mem_new(b, &v, NN_MEM_WORKSPACE);
  c->var = nn_mem_new(b, &v, NN_MEM_WORKSPACE);
  dnnl_primitive_desc_destroy(fpd);
  dnnl_primitive_desc_destroy(epd);
  dnnl_primitive_desc_destroy(bpd);
}

static void bn_forward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, int train) {
  bn_impl *c = l->impl;
  if (!train) {
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, src},        {DNNL_ARG_DST, dst},       {DNNL_ARG_SCALE, c->scale},
                           {DNNL_ARG_SHIFT, c->shift}, {DNNL_ARG_MEAN, c->rmean}, {DNNL_ARG_VARIANCE, c->rvar}};
    nn_exec(c->eval, 6, a);
    return;
  }
  dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, src},        {DNNL_ARG_DST, dst},      {DNNL_ARG_SCALE, c->scale},
                         {DNNL_ARG_SHIFT, c->shift}, {DNNL_ARG_MEAN, c->mean}, {DNNL_ARG_VARIANCE, c->var}};
  nn_exec(c->fwd, 6, a);
  double t0 = nn_profiling ? mpsl_now() : 0;
  DNNL_CHECK(dnnl_stream_wait(nn_stream()));
  /* PyTorch's running statistics: the variance folded in is the unbiased one */
  const float *m = nn_mem_ptr(c->mean), *v = nn_mem_ptr(c->var);
  float *rm = nn_mem_ptr(c->rmean), *rv = nn_mem_ptr(c->rvar);
  float unbias = c->count > 1 ? (float)c->count / (float)(c->count - 1) : 1.0f;
  for (int i = 0; i < l->in_c; i++) {
    rm[i] = (1.0f - BN_MOMENTUM) * rm[i] + BN_MOMENTUM * m[i];
    rv[i] = (1.0f - BN_MOMENTUM) * rv[i] + BN_MOMENTUM * v[i] * unbias;
  }
  (*l->batches_tracked)++;
  nn_profile_add(l, NN_WORK_OWN, t0);
}

static void bn_backward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
  bn_impl *c = l->impl;
  /* without a consumer for the input gradient, write it over ddst (in place is allowed) */
  dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, src},
                         {DNNL_ARG_MEAN, c->mean},
                         {DNNL_ARG_VARIANCE, c->var},
                         {DNNL_ARG_DIFF_DST, ddst},
                         {DNNL_ARG_SCALE, c->scale},
                         {DNNL_ARG_DIFF_SRC, dsrc ? dsrc : ddst},
                         {DNNL_ARG_DIFF_SCALE, c->dscale},
                         {DNNL_ARG_DIFF_SHIFT, c->dshift},
                         {DNNL_ARG_SHIFT, c->shift}};
  nn_exec(c->bwd, 9, a);
}

const nn_layer_ops nn_bn_ops = {bn_declare, bn_build, bn_forward, bn_backward, bn_init, free_impl};

/* ---- ReLU ---------------------------------------------------------------------------- */

typedef struct {
  nn_prim *fwd, *bwd;
} relu_impl;

static void relu_build(nn_layer *l, nn_part_build *b, const dnnl_memory_desc_t *in) {
  relu_impl *c = mpsl_xcalloc(1, sizeof *c, "relu");
  l->impl = c;
  l->src_md = l->dst_md = *in;
  dnnl_eltwise_desc_t d;
  dnnl_primitive_desc_t fpd, bpd;
  DNNL_CHECK(dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, dnnl_eltwise_relu, in, 0.0f, 0.0f));
  pd_create(&fpd, &d, NULL);
  c->fwd = nn_prim_new(b, fpd);
  DNNL_CHECK(dnnl_eltwise_backward_desc_init(&d, dnnl_eltwise_relu, in, in, 0.0f, 0.0f));
  pd_create(&bpd, &d, fpd);
  c->bwd = nn_prim_new(b, bpd);
  dnnl_primitive_desc_destroy(fpd);
  dnnl_primitive_desc_destroy(bpd);
}

static void relu_forward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, int train) {
  relu_impl *c = l->impl;
  dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  nn_exec(c->fwd, 2, a);
}

static void relu_backward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
  relu_impl *c = l->impl;
  if (!dsrc) return;
  dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_SRC, dsrc}};
  nn_exec(c->bwd, 3, a);
}

const nn_layer_ops nn_relu_ops = {NULL, relu_build, relu_forward, relu_backward, NULL, free_impl};

/* ---- max pool -------------------------------------------------------------------------- */

typedef struct {
  nn_prim *fwd, *bwd;
  dnnl_memory_t ws;
} pool_impl;

static void maxpool_build(nn_layer *l, nn_part_build *b, const dnnl_memory_desc_t *in) {
  pool_impl *c = mpsl_xcalloc(1, sizeof *c, "pool");
  l->impl = c;
  l->src_md = *in;
  dnnl_memory_desc_t dst;
  nn_md_any(&dst, (int)in->dims[0], l->out_c, l->out_h, l->out_w);
  dnnl_dims_t st = {l->stride, l->stride}, k = {l->k, l->k}, pad = {l->pad, l->pad};
  dnnl_pooling_desc_t d;
  dnnl_primitive_desc_t fpd, bpd;
  DNNL_CHECK(dnnl_pooling_forward_desc_init(&d, dnnl_forward_training, dnnl_pooling_max, in, &dst, st, k, pad, pad));
  pd_create(&fpd, &d, NULL);
  l->dst_md = *q(fpd, dnnl_query_dst_md);
  c->fwd = nn_prim_new(b, fpd);
  c->ws = nn_mem_new(b, q(fpd, dnnl_query_workspace_md), NN_MEM_WORKSPACE);
  DNNL_CHECK(dnnl_pooling_backward_desc_init(&d, dnnl_pooling_max, in, &l->dst_md, st, k, pad, pad));
  pd_create(&bpd, &d, fpd);
  c->bwd = nn_prim_new(b, bpd);
  dnnl_primitive_desc_destroy(fpd);
  dnnl_primitive_desc_destroy(bpd);
}

static void maxpool_forward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, int train) {
  pool_impl *c = l->impl;
  dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, c->ws}};
  nn_exec(c->fwd, 3, a);
}

static void maxpool_backward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, dnnl_memory_t ddst,
                             dnnl_memory_t dsrc) {
  pool_impl *c = l->impl;
  if (!dsrc) return;
  dnnl_exec_arg_t a[] = {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WORKSPACE, c->ws}, {DNNL_ARG_DIFF_SRC, dsrc}};
  nn_exec(c->bwd, 3, a);
}

const nn_layer_ops nn_maxpool_ops = {NULL, maxpool_build, maxpool_forward, maxpool_backward, NULL, free_impl};

/* ---- linear ------------------------------------------------------------------------------ */

typedef struct {
  nn_prim *fwd, *bwd_data, *bwd_w;
  dnnl_memory_t w, b, dw, db;
} linear_impl;

static void linear_declare(nn_layer *l, nn_part_build *b) {
  int64_t wd[2] = {l->out_c, l->in_c}, bd[1] = {l->out_c};
  l->t_w = nn_declare(b, l, "weight", 2, wd, 0);
  if (l->bias) l->t_b = nn_declare(b, l, "bias", 1, bd, 0);
}

/* VGG: normal(0, 0.01), bias 0 (torchvision); elsewhere PyTorch's default U(+-1/sqrt(in)). */
static void linear_init(nn_layer *l, uint64_t seed) {
  nn_part *p = nn_layer_part(l);
  float *w = nn_param_ptr(p, l->t_w);
  int64_t n = nn_tensor_len(p, l->t_w);
  int vgg = !strncmp(l->prefix, "classifier", 10);
  double bound = 1.0 / sqrt((double)l->in_c);
  mpsl_rng r;
  mpsl_rng_init(&r, seed, l->stream);
  for (int64_t i = 0; i < n; i++)
    w[i] = vgg ? (float)(0.01 * mpsl_rng_normal(&r)) : (float)(bound * (2.0 * mpsl_rng_double(&r) - 1.0));
  if (l->t_b >= 0) {
    float *bb = nn_param_ptr(p, l->t_b);
    for (int i = 0; i < l->out_c; i++) bb[i] = vgg ? 0.0f : (float)(bound * (2.0 * mpsl_rng_double(&r) - 1.0));
  }
}

static void linear_build(nn_layer *l, nn_part_build *b, const dnnl_memory_desc_t *in) {
  linear_impl *c = mpsl_xcalloc(1, sizeof *c, "linear");
  l->impl = c;
  int n = (int)in->dims[0];
  dnnl_memory_desc_t w, bias;
  nn_md_plain(&l->src_md, n, l->in_c, 1, 1, 1);
  nn_md_plain(&l->dst_md, n, l->out_c, 1, 1, 1);
  dnnl_dims_t wd = {l->out_c, l->in_c};
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(&w, 2, wd, dnnl_f32, dnnl_oi));
  nn_md_1d(&bias, l->out_c);
  dnnl_inner_product_desc_t d;
  dnnl_primitive_desc_t fpd, dpd, wpd;
  DNNL_CHECK(dnnl_inner_product_forward_desc_init(&d, dnnl_forward_training, &l->src_md, &w, l->bias ? &bias : NULL,
                                                  &l->dst_md));
  pd_create(&fpd, &d, NULL);
  c->fwd = nn_prim_new(b, fpd);
  DNNL_CHECK(dnnl_inner_product_backward_data_desc_init(&d, &l->src_md, &w, &l->dst_md));
  pd_create(&dpd, &d, fpd);
  c->bwd_data = nn_prim_new(b, dpd);
  DNNL_CHECK(dnnl_inner_product_backward_weights_desc_init(&d, &l->src_md, &w, l->bias ? &bias : NULL, &l->dst_md));
  pd_create(&wpd, &d, fpd);
  c->bwd_w = nn_prim_new(b, wpd);
  c->w = nn_mem_param(b, l->t_w, &w);
  c->dw = nn_mem_grad(b, l->t_w, &w);
  if (l->bias) {
    c->b = nn_mem_param(b, l->t_b, &bias);
    c->db = nn_mem_grad(b, l->t_b, &bias);
  }
  dnnl_primitive_desc_destroy(fpd);
  dnnl_primitive_desc_destroy(dpd);
  dnnl_primitive_desc_destroy(wpd);
}

static void linear_forward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, int train) {
  linear_impl *c = l->impl;
  dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, c->w}, {DNNL_ARG_DST, dst}, {DNNL_ARG_BIAS, c->b}};
  nn_exec(c->fwd, l->bias ? 4 : 3, a);
}

static void linear_backward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
  linear_impl *c = l->impl;
  if (dsrc) {
    dnnl_exec_arg_t a[] = {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, c->w}, {DNNL_ARG_DIFF_SRC, dsrc}};
    nn_exec(c->bwd_data, 3, a);
  }
  dnnl_exec_arg_t a[] = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, c->dw}, {DNNL_ARG_DIFF_BIAS, c->db}};
  nn_exec(c->bwd_w, l->bias ? 4 : 3, a);
}

const nn_layer_ops nn_linear_ops = {linear_declare,  linear_build, linear_forward,
                                    linear_backward, linear_init,  free_impl};

void nn_layer_setup(nn_layer *l) {
  switch (l->kind) {
    case MPSL_L_CONV: l->ops = &nn_conv_ops; break;
    case MPSL_L_BN: l->ops = &nn_bn_ops; break;
    case MPSL_L_RELU: l->ops = &nn_relu_ops; break;
    case MPSL_L_MAXPOOL: l->ops = &nn_maxpool_ops; break;
    case MPSL_L_AVGPOOL: l->ops = &nn_avgpool_ops; break;
    case MPSL_L_FLATTEN: l->ops = &nn_flatten_ops; break;
    case MPSL_L_LINEAR: l->ops = &nn_linear_ops; break;
    case MPSL_L_DROPOUT: l->ops = &nn_dropout_ops; break;
    case MPSL_L_BLOCK: l->ops = &nn_block_ops; break;
    case MPSL_L_TABLE: MPSL_DIE("a layer table's row reached the engine (part_new refuses tables)");
  }
}
