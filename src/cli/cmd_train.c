/* mpsl train: training in one process, unsplit or cut into parts at --cuts. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "data/data.h"
#include "io/weights.h"
#include "nn/stack.h"
#include "sl/reference.h"
#include "util/err.h"
#include "util/timer.h"

typedef struct {
  char model[40], dataset[16], data_dir[MPSL_PATH_MAX], init[MPSL_PATH_MAX], save[MPSL_PATH_MAX];
  int batch, steps, epochs, test_limit;
  double lr, momentum, weight_decay, width;
  int64_t seed;
  bool shuffle, augment;
  mpsl_intlist cuts;
  mpsl_optmask given;
} train_cfg;

static const mpsl_opt keys[] = {
    {"model", MPSL_OPT_STRING, MPSL_OPT_FIELD(train_cfg, model), "vgg11-cifar", 0, 0, NULL, MPSL_MODEL_HELP, 0},
    {"dataset", MPSL_OPT_ENUM, MPSL_OPT_FIELD(train_cfg, dataset), "fashion-mnist", 0, 0,
     "fashion-mnist|mnist|cifar10|cifar100", "training and test data", 0},
    {"data_dir", MPSL_OPT_STRING, MPSL_OPT_FIELD(train_cfg, data_dir), NULL, 0, 0, NULL,
     "folder of the data files (default: Debian's dataset-fashion-mnist for fashion-mnist)", 0},
    {"batch", MPSL_OPT_INT, MPSL_OPT_FIELD(train_cfg, batch), "128", 1, 65536, NULL, "mini-batch size", 0},
    {"steps", MPSL_OPT_INT, MPSL_OPT_FIELD(train_cfg, steps), "0", 0, 1 << 30, NULL, "training steps (0: use --epochs)",
     0},
    {"epochs", MPSL_OPT_INT, MPSL_OPT_FIELD(train_cfg, epochs), "1", 1, 100000, NULL,
     "epochs over the training set when --steps is 0", 0},
    {"lr", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(train_cfg, lr), "0.01", 0, 100, NULL, "SGD learning rate", 0},
    {"momentum", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(train_cfg, momentum), "0.9", 0, 1, NULL, "SGD momentum", 0},
    {"weight_decay", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(train_cfg, weight_decay), "1e-4", 0, 1, NULL,
     "L2 weight decay (PyTorch's SGD rule)", 0},
    {"seed", MPSL_OPT_INT64, MPSL_OPT_FIELD(train_cfg, seed), "1", 0, 9007199254740992.0, NULL,
     "seed of initial weights, shuffling, augmentation and dropout", 0},
    {"shuffle", MPSL_OPT_BOOL, MPSL_OPT_FIELD(train_cfg, shuffle), "true", 0, 0, NULL,
     "reshuffle the training set every epoch (--no-shuffle: file order)", 0},
    {"augment", MPSL_OPT_BOOL, MPSL_OPT_FIELD(train_cfg, augment), "true", 0, 0, NULL,
     "random crop (padding 4) and horizontal flip (--no-augment: off)", 0},
    {"cuts", MPSL_OPT_INTLIST, MPSL_OPT_FIELD(train_cfg, cuts), NULL, 1, 100000, NULL,
     "layer indices after which a part ends, e.g. 3,7 (empty: unsplit)", 0},
    {"width", MPSL_OPT_DOUBLE, MPSL_OPT_FIELD(train_cfg, width), "1", 0.001, 16, NULL,
     "channel multiplier of the model (1 = the published model)", 0},
    {"test_limit", MPSL_OPT_INT, MPSL_OPT_FIELD(train_cfg, test_limit), "0", 0, 1 << 30, NULL,
     "evaluate on the first N test samples only (0: all)", 0},
    {"init", MPSL_OPT_STRING, MPSL_OPT_FIELD(train_cfg, init), NULL, 0, 0, NULL,
     "start from these weights (HDF5, PyTorch state_dict names)", 0},
    {"save", MPSL_OPT_STRING, MPSL_OPT_FIELD(train_cfg, save), NULL, 0, 0, NULL,
     "write the trained weights here (HDF5, PyTorch state_dict names)", 0},
};
static const mpsl_optset opts = {"train",
                                 NULL,
                                 "Train a model in one process, unsplit or cut into parts.",
                                 keys,
                                 MPSL_NOPTS(keys),
                                 offsetof(train_cfg, given)};
const mpsl_optset *cmd_train_opts(void) { return &opts; }

int cmd_train(int argc, char **argv) {
  train_cfg c;
  int npos = 0, rc = cli_parse(&opts, &c, argc, argv, &npos, NULL, 0);
  if (rc) return rc < 0 ? 0 : rc;
  printf("# mpsl train: resolved configuration\n");
  mpsl_opts_print(&opts, &c, stdout, "# ");
  fflush(stdout);

  mpsl_dataset train = {0}, test = {0};
  mpsl_model m = {0};
  nn_stack s = {0};
  int status = 1;
  float *x = NULL;
  int32_t *y = NULL;
  int64_t *order = NULL, *all = NULL;
  const char *dir = c.data_dir[0] ? c.data_dir : NULL;
  if (mpsl_dataset_load(&train, c.dataset, dir, 1) || mpsl_dataset_load(&test, c.dataset, dir, 0)) goto out;
  mpsl_model_opts mo = {train.classes, train.channels, mpsl_dataset_size(&train), c.width};
  if (mpsl_model_build(&m, c.model, &mo)) goto out;
  if (train.n < c.batch) {
    mpsl_fail("--batch %d is larger than the training set (%lld samples)", c.batch, (long long)train.n);
    goto out;
  }
  if (nn_stack_init(&s, &m, c.cuts.v, c.cuts.n, c.batch)) goto out;
  nn_stack_init_weights(&s, (uint64_t)c.seed);
  nn_stack_set_dropout_seed(&s, (uint64_t)c.seed);
  if (c.init[0]) {
    mpsl_named_tensor *t;
    int nt = nn_stack_tensors(&s, &t);
    if (mpsl_weights_load(c.init, t, nt)) goto out;
    for (int i = 0; i < s.nparts; i++) nn_part_params_changed(s.parts[i]);
  }
  int64_t in = (int64_t)m.channels * m.size * m.size;
  x = mpsl_xalloc_aligned((size_t)c.batch * in * sizeof *x, "batch");
  y = mpsl_xmalloc((size_t)c.batch * sizeof *y, "labels");
  order = mpsl_xmalloc((size_t)train.n * sizeof *order, "order");
  all = mpsl_xmalloc((size_t)train.n * sizeof *all, "order");
  for (int64_t i = 0; i < train.n; i++) all[i] = i;
  int64_t per_epoch = train.n / c.batch; /* the last partial batch is dropped */
  int64_t total = c.steps ? c.steps : per_epoch * c.epochs;
  printf("# %s cut into %d part(s), %lld parameters, %lld steps of %d (%lld per epoch)\n", m.name, s.nparts,
         (long long)mpsl_model_params(&m), (long long)total, c.batch, (long long)per_epoch);
  double t0 = mpsl_now(), loss_sum = 0;
  int64_t hits = 0, seen = 0;
  for (int64_t step = 0; step < total; step++) {
    int64_t epoch = step / per_epoch, k = step % per_epoch;
    if (k == 0) mpsl_epoch_order(order, all, train.n, (uint64_t)c.seed, (uint64_t)epoch, c.shuffle);
    mpsl_augment aug = {c.augment, (uint64_t)c.seed, (uint64_t)step};
    mpsl_dataset_batch(&train, order + k * c.batch, c.batch, x, y, &aug);
    int correct;
    double loss = nn_stack_train_step(&s, x, y, (float)c.lr, (float)c.momentum, (float)c.weight_decay, &correct);
    if (!isfinite(loss)) {
      mpsl_fail("the loss became %g at step %lld: lower --lr", loss, (long long)step + 1);
      goto out;
    }
    loss_sum += loss * c.batch;
    hits += correct;
    seen += c.batch;
    if (k == per_epoch - 1 || step == total - 1) {
      double test_loss, test_acc;
      sl_evaluate(&s, &test, c.test_limit, &test_loss, &test_acc);
      printf("epoch %lld step %lld train_loss=%.4f train_acc=%.4f test_loss=%.4f test_acc=%.4f time_s=%.1f\n",
             (long long)epoch + 1, (long long)step + 1, loss_sum / seen, (double)hits / seen, test_loss, test_acc,
             mpsl_now() - t0);
      fflush(stdout);
      loss_sum = 0;
      hits = seen = 0;
    }
  }
  if (c.save[0]) {
    mpsl_named_tensor *t;
    int nt = nn_stack_tensors(&s, &t);
    if (mpsl_weights_save(c.save, t, nt)) goto out;
    printf("# saved %d tensors to %s\n", nt, c.save);
  }
  status = 0;
out:
  if (status) cli_error("train");
  free(x);
  free(y);
  free(order);
  free(all);
  nn_stack_free(&s);
  mpsl_model_free(&m);
  mpsl_dataset_free(&train);
  mpsl_dataset_free(&test);
  return status;
}
