/* A ResNet block: main path (conv-bn-relu-conv-bn[-relu-conv-bn]), optional projection
 * (1x1 conv + bn) on the skip path, residual add, ReLU. */
#include <stdlib.h>
#include <string.h>

#include "nn/internal.h"

typedef struct {
  nn_layer ops[8]; /* main path */
  int nmain;
  nn_layer ds[2]; /* downsample.0, downsample.1 */
  nn_chain main, skip;
  nn_prim *add_fwd, *add_bwd, *relu_fwd, *relu_bwd, *re_id, *re_dskip, *re_dsum_in;
  dnnl_memory_t sum;     /* main + identity, before the last ReLU (main layout) */
  dnnl_memory_t id_tmp;  /* identity reordered to the main layout, when they differ */
  dnnl_memory_t dsum_in; /* gradient of the sum in the input layout, when they differ */
} block_impl;

static void sub(nn_layer *s, nn_layer *blk, int idx, mpsl_layer_kind kind, const char *name, int in_c, int in_hw,
                int out_c, int k, int stride) {
  memset(s, 0, sizeof *s);
  s->part = blk->part;
  s->spec = blk->spec;
  s->index = blk->index;
  s->stream = blk->stream | (uint64_t)(idx + 1);
  snprintf(s->prefix, sizeof s->prefix, "%s.%s", blk->prefix, name);
  s->kind = kind;
  s->in_c = in_c;
  s->in_h = s->in_w = in_hw;
  s->out_c = out_c;
  s->out_h = s->out_w = kind == MPSL_L_CONV ? (in_hw + 2 * (k / 2) - k) / stride + 1 : in_hw;
  s->k = k;
  s->stride = stride;
  s->pad = k / 2;
  s->t_w = s->t_b = s->t_mean = s->t_var = -1;
  nn_layer_setup(s);
}

static void block_declare(nn_layer *l, nn_part_build *b) {
  block_impl *c = mpsl_xcalloc(1, sizeof *c, "block");
  l->impl = c;
  const mpsl_layer *s = l->spec;
  int p = s->planes, hw = s->in_h, st = s->stride, ohw = s->out_h, n = 0;
  if (s->bottleneck) {
    sub(&c->ops[n++], l, 0, MPSL_L_CONV, "conv1", s->in_c, hw, p, 1, 1);
    sub(&c->ops[n++], l, 1, MPSL_L_BN, "bn1", p, hw, p, 0, 1);
    sub(&c->ops[n++], l, 2, MPSL_L_RELU, "relu", p, hw, p, 0, 1);
    sub(&c->ops[n++], l, 3, MPSL_L_CONV, "conv2", p, hw, p, 3, st);
    sub(&c->ops[n++], l, 4, MPSL_L_BN, "bn2", p, ohw, p, 0, 1);
    sub(&c->ops[n++], l, 5, MPSL_L_RELU, "relu", p, ohw, p, 0, 1);
    sub(&c->ops[n++], l, 6, MPSL_L_CONV, "conv3", p, ohw, 4 * p, 1, 1);
    sub(&c->ops[n++], l, 7, MPSL_L_BN, "bn3", 4 * p, ohw, 4 * p, 0, 1);
  } else {
    sub(&c->ops[n++], l, 0, MPSL_L_CONV, "conv1", s->in_c, hw, p, 3, st);
    sub(&c->ops[n++], l, 1, MPSL_L_BN, "bn1", p, ohw, p, 0, 1);
    sub(&c->ops[n++], l, 2, MPSL_L_RELU, "relu", p, ohw, p, 0, 1);
    sub(&c->ops[n++], l, 3, MPSL_L_CONV, "conv2", p, ohw, p, 3, 1);
    sub(&c->ops[n++], l, 4, MPSL_L_BN, "bn2", p, ohw, p, 0, 1);
  }
  c->nmain = n;
  if (s->downsample) {
    sub(&c->ds[0], l, 10, MPSL_L_CONV, "downsample.0", s->in_c, hw, s->out_c, 1, st);
    sub(&c->ds[1], l, 11, MPSL_L_BN, "downsample.1", s->out_c, ohw, s->out_c, 0, 1);
  }
  for (int i = 0; i < n; i++)
    if (c->ops[i].ops->declare) c->ops[i].ops->declare(&c->ops[i], b);
  if (s->downsample)
    for (int i = 0; i < 2; i++) c->ds[i].ops->declare(&c->ds[i], b);
}

static void block_init(nn_layer *l, uint64_t seed) {
  block_impl *c = l->impl;
  for (int i = 0; i < c->nmain; i++)
    if (c->ops[i].ops->init) c->ops[i].ops->init(&c->ops[i], seed);
  if (l->spec->downsample)
    for (int i = 0; i < 2; i++) c->ds[i].ops->init(&c->ds[i], seed);
}

static nn_prim *binary_add(nn_part_build *b, const dnnl_memory_desc_t *md) {
  dnnl_binary_desc_t d;
  dnnl_primitive_desc_t pd;
  DNNL_CHECK(dnnl_binary_desc_init(&d, dnnl_binary_add, md, md, md));
  DNNL_CHECK(dnnl_primitive_desc_create(&pd, &d, nn_attr(), nn_engine(), NULL));
  nn_prim *p = nn_prim_new(b, pd);
  dnnl_primitive_desc_destroy(pd);
  return p;
}

static void block_build(nn_layer *l, nn_part_build *b, const dnnl_memory_desc_t *in) {
  block_impl *c = l->impl;
  l->src_md = *in;
  nn_layer *mp[8], *sp[2] = {&c->ds[0], &c->ds[1]};
  for (int i = 0; i < c->nmain; i++) mp[i] = &c->ops[i];
  nn_chain_build(&c->main, b, mp, c->nmain, in, 1);
  const dnnl_memory_desc_t *m = nn_chain_out_md(&c->main);
  l->dst_md = *m;
  const dnnl_memory_desc_t *idmd = in;
  if (l->spec->downsample) {
    nn_chain_build(&c->skip, b, sp, 2, in, 1);
    idmd = nn_chain_out_md(&c->skip);
    c->re_dskip = nn_reorder_new(b, m, idmd);
  }
  if (!nn_md_eq(idmd, m)) {
    c->re_id = nn_reorder_new(b, idmd, m);
    c->id_tmp = nn_mem_new(b, m, NN_MEM_ACT);
  }
  if (!l->spec->downsample && !nn_md_eq(in, m)) {
    c->re_dsum_in = nn_reorder_new(b, m, in);
    c->dsum_in = nn_mem_new(b, in, NN_MEM_ACT_GRAD);
  }
  c->add_fwd = binary_add(b, m);
  c->add_bwd = binary_add(b, in);
  c->add_bwd->kind = NN_WORK_BWD_DATA; /* the gradients of the two paths summed */
  c->sum = nn_mem_new(b, m, NN_MEM_ACT);
  dnnl_eltwise_desc_t d;
  dnnl_primitive_desc_t fpd, bpd;
  DNNL_CHECK(dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, dnnl_eltwise_relu, m, 0.0f, 0.0f));
  DNNL_CHECK(dnnl_primitive_desc_create(&fpd, &d, nn_attr(), nn_engine(), NULL));
  c->relu_fwd = nn_prim_new(b, fpd);
  DNNL_CHECK(dnnl_eltwise_backward_desc_init(&d, dnnl_eltwise_relu, m, m, 0.0f, 0.0f));
  DNNL_CHECK(dnnl_primitive_desc_create(&bpd, &d, nn_attr(), nn_engine(), fpd));
  c->relu_bwd = nn_prim_new(b, bpd);
  dnnl_primitive_desc_destroy(fpd);
  dnnl_primitive_desc_destroy(bpd);
}

static void block_forward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, int train) {
  block_impl *c = l->impl;
  c->main.in = src;
  nn_chain_forward(&c->main, train);
  dnnl_memory_t id = src;
  if (l->spec->downsample) {
    c->skip.in = src;
    nn_chain_forward(&c->skip, train);
    id = nn_chain_out(&c->skip);
  }
  if (c->re_id) {
    nn_reorder(c->re_id, id, c->id_tmp);
    id = c->id_tmp;
  }
  dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC_0, nn_chain_out(&c->main)}, {DNNL_ARG_SRC_1, id}, {DNNL_ARG_DST, c->sum}};
  nn_exec(c->add_fwd, 3, a);
  dnnl_exec_arg_t r[] = {{DNNL_ARG_SRC, c->sum}, {DNNL_ARG_DST, dst}};
  nn_exec(c->relu_fwd, 2, r);
}

static void block_backward(nn_layer *l, dnnl_memory_t src, dnnl_memory_t dst, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
  block_impl *c = l->impl;
  /* the gradient of the sum goes straight into the main path's last output gradient */
  dnnl_memory_t dsum = c->main.dout[c->main.n - 1];
  dnnl_exec_arg_t r[] = {{DNNL_ARG_SRC, c->sum}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_SRC, dsum}};
  nn_exec(c->relu_bwd, 3, r);
  dnnl_memory_t dskip = dsum;
  if (l->spec->downsample) {
    nn_reorder(c->re_dskip, dsum, c->skip.dout[c->skip.n - 1]);
    dnnl_memory_t keep = c->skip.din;
    if (!dsrc) c->skip.din = NULL;
    nn_chain_backward(&c->skip);
    c->skip.din = keep;
    dskip = c->skip.din;
  } else if (c->re_dsum_in && dsrc) {
    nn_reorder(c->re_dsum_in, dsum, c->dsum_in);
    dskip = c->dsum_in;
  }
  dnnl_memory_t keep = c->main.din;
  if (!dsrc) c->main.din = NULL;
  nn_chain_backward(&c->main);
  c->main.din = keep;
  if (!dsrc) return;
  dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC_0, c->main.din}, {DNNL_ARG_SRC_1, dskip}, {DNNL_ARG_DST, dsrc}};
  nn_exec(c->add_bwd, 3, a);
}

static void block_release(nn_layer *l) {
  block_impl *c = l->impl;
  if (!c) return;
  for (int i = 0; i < c->nmain; i++)
    if (c->ops[i].ops->release) c->ops[i].ops->release(&c->ops[i]);
  if (l->spec->downsample)
    for (int i = 0; i < 2; i++) c->ds[i].ops->release(&c->ds[i]);
  nn_chain_free(&c->main);
  nn_chain_free(&c->skip);
  free(c);
  l->impl = NULL;
}

const nn_layer_ops nn_block_ops = {block_declare,  block_build, block_forward,
                                   block_backward, block_init,  block_release};
