/* ResNet as torchvision defines it (v1.5: the stride of a bottleneck sits on its 3x3
 * convolution), and the -cifar flavour with a 3x3 stride-1 stem and no max pool. */
#include <stdio.h>
#include <string.h>

#include "models/zoo.h"

static int64_t conv_flops(int64_t cin, int64_t cout, int k, int64_t hw) { return 2 * cin * cout * k * k * hw; }

/* Output shape, parameters (convs without bias, two per batch norm) and FLOPs of a block. */
void zoo_block_shape(mpsl_layer *l) {
  int s = l->stride, p = l->planes;
  int out_c = l->bottleneck ? 4 * p : p;
  int oh = (l->in_h - 1) / s + 1, ow = (l->in_w - 1) / s + 1;
  int64_t hw_in = (int64_t)l->in_h * l->in_w, hw = (int64_t)oh * ow;
  int64_t par, fl;
  if (l->bottleneck) {
    par = (int64_t)l->in_c * p + 2 * p + 9LL * p * p + 2 * p + (int64_t)p * out_c + 2 * out_c;
    fl = conv_flops(l->in_c, p, 1, hw_in) + conv_flops(p, p, 3, hw) + conv_flops(p, out_c, 1, hw) +
         2 * (p * hw_in + p * hw + out_c * hw) + (p * hw_in + p * hw);
  } else {
    par = 9LL * l->in_c * p + 2 * p + 9LL * p * p + 2 * p;
    fl = conv_flops(l->in_c, p, 3, hw) + conv_flops(p, p, 3, hw) + 2 * (2 * p * hw) + p * hw;
  }
  if (l->downsample) {
    par += (int64_t)l->in_c * out_c + 2 * out_c;
    fl += conv_flops(l->in_c, out_c, 1, hw) + 2 * out_c * hw;
  }
  fl += 2 * (int64_t)out_c * hw; /* residual add and the last ReLU */
  l->out_c = out_c;
  l->out_h = oh;
  l->out_w = ow;
  l->params = par;
  l->flops = fl;
}

int zoo_resnet(zoo_builder *b) {
  const mpsl_model *m = b->m;
  static const int d18[] = {2, 2, 2, 2}, d34[] = {3, 4, 6, 3}, d101[] = {3, 4, 23, 3}, d152[] = {3, 8, 36, 3};
  int depth = 0;
  sscanf(m->name, "resnet%d", &depth);
  const int *blocks = depth == 18 ? d18 : depth == 34 || depth == 50 ? d34 : depth == 101 ? d101 : d152;
  int bottleneck = depth >= 50;
  mpsl_layer *l = zoo_push(b, MPSL_L_CONV, "conv1");
  l->k = m->cifar ? 3 : 7;
  l->stride = m->cifar ? 1 : 2;
  l->pad = m->cifar ? 1 : 3;
  b->next_c = mpsl_scale_width(64, m->width);
  if (zoo_finish(b, l)) return -1;
  if (zoo_finish(b, zoo_push(b, MPSL_L_BN, "bn1"))) return -1;
  if (zoo_finish(b, zoo_push(b, MPSL_L_RELU, "relu"))) return -1;
  if (!m->cifar) {
    l = zoo_push(b, MPSL_L_MAXPOOL, "maxpool");
    l->k = 3;
    l->stride = 2;
    l->pad = 1;
    if (zoo_finish(b, l)) return -1;
  }
  for (int stage = 0; stage < 4; stage++) {
    int planes = mpsl_scale_width(64 << stage, m->width);
    for (int i = 0; i < blocks[stage]; i++) {
      l = zoo_push(b, MPSL_L_BLOCK, "layer%d.%d", stage + 1, i);
      l->bottleneck = bottleneck;
      l->planes = planes;
      l->stride = (i == 0 && stage > 0) ? 2 : 1;
      l->downsample = i == 0 && (l->stride != 1 || l->in_c != (bottleneck ? 4 * planes : planes));
      if (zoo_finish(b, l)) return -1;
    }
  }
  l = zoo_push(b, MPSL_L_AVGPOOL, "avgpool");
  b->next_h = b->next_w = 1;
  if (zoo_finish(b, l)) return -1;
  if (zoo_finish(b, zoo_push(b, MPSL_L_FLATTEN, "flatten"))) return -1;
  l = zoo_push(b, MPSL_L_LINEAR, "fc");
  l->bias = 1;
  b->next_c = m->classes;
  return zoo_finish(b, l);
}
