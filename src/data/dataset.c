/* The dataset table: which format each name is stored in and its constants. */
#include "data/data.h"
#include "data/formats.h"
#include "util/datadir.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  const char *name;
  int (*load)(mpsl_dataset *, const char *, int);
  mpsl_dataset_facts facts;
  float mean[3], std[3];          /* torchvision's customary Normalize constants */
  const char *default_dir, *hint; /* hint: what --data-dir must hold */
} dataset_info;

static const dataset_info datasets[] = {
    {"fashion-mnist",
     mpsl_idx_load,
     {10, 1, 28, 60000, 10000},
     {0.2860f},
     {0.3530f},
     "/usr/share/datasets/fashion-mnist",
     "train-images-idx3-ubyte[.gz] and the other IDX files"},
    {"mnist",
     mpsl_idx_load,
     {10, 1, 28, 60000, 10000},
     {0.1307f},
     {0.3081f},
     "/usr/share/datasets/mnist",
     "train-images-idx3-ubyte[.gz] and the other IDX files"},
    {"cifar10",
     mpsl_cifar_load,
     {10, 3, 32, 50000, 10000},
     {0.4914f, 0.4822f, 0.4465f},
     {0.2470f, 0.2435f, 0.2616f},
     NULL,
     "data_batch_1.bin .. data_batch_5.bin and test_batch.bin"},
    {"cifar100",
     mpsl_cifar_load,
     {100, 3, 32, 50000, 10000},
     {0.5071f, 0.4865f, 0.4409f},
     {0.2673f, 0.2564f, 0.2762f},
     NULL,
     "train.bin and test.bin"},
};
enum { NDATASETS = sizeof datasets / sizeof datasets[0] };

static const dataset_info *lookup(const char *name) {
  for (int i = 0; i < NDATASETS; i++)
    if (name && strcmp(name, datasets[i].name) == 0) return &datasets[i];
  return NULL;
}

int mpsl_dataset_facts_of(const char *name, mpsl_dataset_facts *f) {
  const dataset_info *info = lookup(name);
  if (!info) return mpsl_fail("unknown dataset '%s' (expected fashion-mnist, mnist, cifar10 or cifar100)", name);
  *f = info->facts;
  return 0;
}

const char *mpsl_dataset_default_dir(const char *name) {
  const dataset_info *info = lookup(name);
  struct stat st;
  if (!info || !info->default_dir) return NULL;
  /* Fashion-MNIST's package is a dependency; MNIST's folder is used only when present. */
  if (strcmp(info->name, "fashion-mnist") != 0 && (stat(info->default_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
    return NULL;
  return info->default_dir;
}

int mpsl_dataset_load(mpsl_dataset *d, const char *name, const char *dir, int train) {
  const dataset_info *info = lookup(name);
  memset(d, 0, sizeof *d);
  if (!info)
    return mpsl_fail("unknown dataset '%s' (expected fashion-mnist, mnist, cifar10 or cifar100)",
                     name ? name : "(null)");
  if (!dir || !*dir) dir = mpsl_dataset_default_dir(name);
  if (!dir) {
    char readme[4096], rel[64];
    snprintf(rel, sizeof rel, "datasets/%s/README.md", info->name);
    return mpsl_fail(
        "dataset '%s' has no default location: pass --data-dir DIR (data_dir = DIR in a "
        "configuration), the folder holding %s; how to get it: %s",
        name, info->hint, mpsl_data_file(rel, readme, sizeof readme));
  }
  snprintf(d->name, sizeof d->name, "%s", info->name);
  d->classes = info->facts.classes;
  memcpy(d->mean, info->mean, sizeof d->mean);
  memcpy(d->std, info->std, sizeof d->std);
  if (info->load(d, dir, train) != 0) {
    mpsl_dataset_free(d);
    return -1;
  }
  return 0;
}

void mpsl_dataset_free(mpsl_dataset *d) {
  free(d->images);
  free(d->labels);
  memset(d, 0, sizeof *d);
}

int mpsl_dataset_size(const mpsl_dataset *d) { return d->height < 32 ? 32 : d->height; }
