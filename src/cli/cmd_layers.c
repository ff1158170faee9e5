/* mpsl layers MODEL: the layer table that cut points refer to. */
#include <stdio.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "models/model.h"
#include "models/table.h"
#include "util/err.h"

typedef struct {
  int classes, channels, size, batch;
  double width;
  mpsl_optmask given;
} layers_cfg;

static const mpsl_opt keys[] = {
    {"classes", MPSL_OPT_INT, MPSL_OPT_FIELD(layers_cfg, classes), "10", 1, 100000, NULL, "output classes", 0},
    {"channels", MPSL_OPT_INT, MPSL_OPT_FIELD(layers_cfg, channels), "3", 1, 3, NULL, "input channels (1 or 3)", 0},
    {"size", MPSL_OPT_INT, MPSL_OPT_FIELD(layers_cfg, size), "32", 8, 4096, NULL, "input height and width", 0},
    {"width", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(layers_cfg, width), "1", 0.001, 16, NULL,
     "channel multiplier (1 = the published model)", 0},
    {"batch", MPSL_OPT_INT, MPSL_OPT_FIELD(layers_cfg, batch), "1", 1, 1 << 20, NULL,
     "batch size used for the activation bytes", 0},
};
static const mpsl_optset opts = {"layers", "MODEL",          "Print the layer table of MODEL: " MPSL_MODEL_HELP ".",
                                 keys,     MPSL_NOPTS(keys), offsetof(layers_cfg, given)};
const mpsl_optset *cmd_layers_opts(void) { return &opts; }

static void human(char *buf, size_t n, double v) {
  const char *u[] = {"", "K", "M", "G", "T"};
  int i = 0;
  while (v >= 1000 && i < 4) v /= 1000, i++;
  snprintf(buf, n, i ? "%.2f%s" : "%.0f%s", v, u[i]);
}

/* A layer table: its bytes and every device's times, as the modes read them. */
static void print_table(const mpsl_model *m) {
  const mpsl_table *t = m->table;
  printf("# %s: a layer table, batch %d (times in ms and bytes for the whole batch)\n", m->name, t->batch);
  if (t->source[0]) printf("# source: %s\n", t->source);
  printf("%5s  %-16s %14s %14s", "index", "name", "act_bytes", "param_bytes");
  for (int d = 0; d < t->ndev; d++) printf("  %26s", t->dev[d].name);
  printf("\n%5s  %-16s %14s %14s", "", "", "", "");
  for (int d = 0; d < t->ndev; d++) printf("  %8s %8s %8s", "fwd", "bwd", "opt");
  printf("\n");
  int64_t params = 0;
  for (int i = 0; i < t->nlayers; i++) {
    printf("%5d  %-16s %14lld %14lld", i + 1, t->layers[i].name, (long long)t->layers[i].act_bytes,
           (long long)t->layers[i].param_bytes);
    for (int d = 0; d < t->ndev; d++)
      printf("  %8.4g %8.4g %8.4g", t->dev[d].ms[3 * i], t->dev[d].ms[3 * i + 1], t->dev[d].ms[3 * i + 2]);
    printf("\n");
    params += t->layers[i].param_bytes;
  }
  printf("total parameter bytes: %lld\n", (long long)params);
  for (int d = 0; d < t->ndev; d++) {
    double f = 0, b = 0, o = 0;
    for (int i = 0; i < t->nlayers; i++)
      f += t->dev[d].ms[3 * i], b += t->dev[d].ms[3 * i + 1], o += t->dev[d].ms[3 * i + 2];
    printf("device %s: the whole model %.4g ms forward, %.4g ms backward, %.4g ms optimizer step: %.4g s per batch\n",
           t->dev[d].name, f, b, o, 1e-3 * (f + b + o));
  }
}

int cmd_layers(int argc, char **argv) {
  layers_cfg c;
  char *pos[2];
  int npos = 0, rc = cli_parse(&opts, &c, argc, argv, &npos, pos, 2);
  if (rc) return rc < 0 ? 0 : rc;
  if (npos != 1) {
    mpsl_fail("expected one MODEL argument, e.g. mpsl layers vgg19_bn-cifar");
    return cli_error("layers");
  }
  mpsl_model m;
  mpsl_model_opts o = {c.classes, c.channels, c.size, c.width};
  if (mpsl_model_build(&m, pos[0], &o)) return cli_error("layers");
  if (m.table) {
    print_table(&m);
    mpsl_model_free(&m);
    return 0;
  }
  printf("# %s: input %dx%dx%d, %d classes, width %g; FLOPs per sample, activation bytes at batch %d\n", m.name,
         m.channels, m.size, m.size, m.classes, m.width, c.batch);
  printf("%5s  %-16s %-8s %-16s %14s %14s %14s\n", "index", "name", "kind", "output", "parameters", "fwd_flops",
         "act_bytes");
  for (int i = 0; i < m.nlayers; i++) {
    const mpsl_layer *l = &m.layers[i];
    char shape[48];
    if (l->flat_out)
      snprintf(shape, sizeof shape, "%d", l->out_c);
    else
      snprintf(shape, sizeof shape, "%dx%dx%d", l->out_c, l->out_h, l->out_w);
    printf("%5d  %-16s %-8s %-16s %14lld %14lld %14lld\n", i + 1, l->name, mpsl_layer_kind_name(l->kind), shape,
           (long long)l->params, (long long)l->flops, (long long)l->out_elems * 4 * c.batch);
  }
  char p[32], f[32];
  human(p, sizeof p, (double)mpsl_model_params(&m));
  human(f, sizeof f, (double)mpsl_model_flops(&m));
  printf("total parameters: %lld\n", (long long)mpsl_model_params(&m));
  printf("total forward FLOPs per sample: %lld (%s parameters, %sFLOP)\n", (long long)mpsl_model_flops(&m), p, f);
  mpsl_model_free(&m);
  return 0;
}
