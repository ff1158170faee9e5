#!/usr/bin/python3
"""Writes the golden files the C training engine is checked against: a few SGD steps of
small-width mpsl models in PyTorch, with the inputs, losses, logits, gradients and weights
before and after. See README.md in this folder for the contents of each file.

  /usr/bin/python3 make_golden.py --out DIR [--case NAME ...]
  /usr/bin/python3 make_golden.py --print-table CASE [--width W --channels C --classes K --size S]
  /usr/bin/python3 make_golden.py --self-test
"""

import argparse
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpsl_torch_models as mtm  # noqa: E402

COMMON = dict(size=32, batch=4, steps=3, lr=0.05, momentum=0.9, weight_decay=1e-3, dropout_seed=20240611)

# name: the model as the C side names it; the rest overrides COMMON.
CASES = [
    dict(name="vgg11-cifar", width=1 / 16, channels=3, classes=10, dropout_p=0.0, seed=1),
    dict(name="vgg11_bn-cifar", width=1 / 16, channels=1, classes=10, dropout_p=0.0, seed=2),
    dict(name="vgg11", width=1 / 64, channels=1, classes=10, dropout_p=0.5, seed=3),
    dict(name="vgg11_bn", width=1 / 64, channels=3, classes=10, dropout_p=0.5, seed=4),
    dict(name="resnet18-cifar", width=1 / 16, channels=3, classes=10, dropout_p=0.0, seed=5),
    dict(name="resnet18", width=1 / 16, channels=3, classes=10, dropout_p=0.0, seed=6),
    # 64x64 so that layer4 normalises over more than the 4 values of a 1x1 map at batch 4,
    # where batch norm amplifies rounding noise past any fixed tolerance
    dict(name="resnet50", width=1 / 32, channels=1, classes=7, dropout_p=0.0, seed=7, size=64),
]

BN_BATCHES_TRACKED = 5  # nonzero so that a loader which ignores the stored count is caught


def case_config(name):
    for c in CASES:
        if c["name"] == name:
            return dict(COMMON, **c)
    raise SystemExit("make_golden.py: no case '%s' (cases: %s)" % (name, ", ".join(c["name"] for c in CASES)))


def build(cfg):
    return mtm.build_model(cfg["name"], classes=cfg["classes"], channels=cfg["channels"], size=cfg["size"],
                           width=cfg["width"], dropout_p=cfg["dropout_p"], dropout_seed=cfg["dropout_seed"])


def init_weights(model, calib):
    """Random everywhere, BN included, so that no term of forward or backward can be
    dropped by the C side without the check noticing. He-normal weights keep the
    activations of the deep plain VGGs of order one; the last layer starts small so
    the loss starts near log(classes) and three steps at lr 0.05 do not diverge.
    Running statistics are those of a calibration batch, perturbed: random ones would
    make evaluation-mode logits of a deep ResNet overflow."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.uniform_(m.bias, -0.1, 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
    linears[-1].weight.mul_(0.1)
    for m in model.modules():
        # a small last BN in each residual branch keeps the blocks near the identity, so the
        # gradients of the stem stay moderate after 16 bottlenecks (cf. zero_init_residual)
        if isinstance(m, mtm.BasicBlock):
            nn.init.uniform_(m.bn2.weight, 0.1, 0.4)
        elif isinstance(m, mtm.Bottleneck):
            nn.init.uniform_(m.bn3.weight, 0.1, 0.4)

    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: one pass gives the batch's own statistics
    model.train()
    model(calib)
    for m in bns:
        m.momentum = 0.1
        m.running_mean.add_(torch.empty_like(m.running_mean).uniform_(-0.1, 0.1) * m.running_var.sqrt())
        m.running_var.mul_(torch.empty_like(m.running_var).uniform_(0.8, 1.25))
        m.num_batches_tracked.fill_(BN_BATCHES_TRACKED)
    for m in model.modules():
        if isinstance(m, mtm.MaskDropout):
            m.step = 0


def state_arrays(model):
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def run_case(cfg):
    """Returns (arrays, groups): top-level datasets and the init/grad0/final dicts."""
    S, N, C, H = cfg["steps"], cfg["batch"], cfg["channels"], cfg["size"]
    torch.manual_seed(cfg["seed"])
    model = build(cfg)
    calib = torch.randn(4 * N, C, H, H, generator=torch.Generator().manual_seed(2000 + cfg["seed"]))
    with torch.no_grad():
        init_weights(model, calib)
    init = state_arrays(model)

    g = torch.Generator().manual_seed(1000 + cfg["seed"])
    x = torch.randn(S, N, C, H, H, generator=g)
    y = torch.randint(cfg["classes"], (S, N), generator=g)

    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"],
                          weight_decay=cfg["weight_decay"])
    model.train()
    losses, logits0, grad0 = [], None, None
    for t in range(S):
        opt.zero_grad()
        logits = model(x[t])
        loss = F.cross_entropy(logits, y[t])
        loss.backward()
        if t == 0:
            logits0 = logits.detach().numpy().copy()
            grad0 = {k: p.grad.detach().numpy().copy() for k, p in model.named_parameters()}
        losses.append(float(loss.item()))
        opt.step()
    final = state_arrays(model)

    model.eval()
    with torch.no_grad():
        eval_logits = model(x[0]).numpy().copy()

    arrays = dict(x=x.numpy(), y=y.numpy().astype(np.int64), loss=np.array(losses, dtype=np.float64),
                  logits0=logits0, eval_logits=eval_logits)
    return arrays, dict(init=init, grad0=grad0, final=final)


# ---- HDF5 without timestamps, so a rerun gives the same bytes ----------------------------

def make_group(parent, name):
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl))


def write_array(parent, name, a):
    a = np.array(a, order="C")  # not ascontiguousarray: it turns a scalar into shape (1,)
    if a.dtype == np.float32 or a.dtype == np.float64 or a.dtype == np.int64:
        dtype = a.dtype.newbyteorder("<")
    else:
        raise TypeError("%s: unexpected dtype %s" % (name, a.dtype))
    kw = dict(track_times=False, dtype=dtype)
    if a.ndim > 0 and a.size >= 64:
        # one chunk per tensor; shuffle + deflate saves about a fifth on random floats
        kw.update(chunks=a.shape, compression="gzip", compression_opts=9, shuffle=True)
    parent.create_dataset(name, data=a, **kw)


def write_case(path, cfg, arrays, groups):
    tmp = path + ".tmp"
    with h5py.File(tmp, "w", libver="earliest") as f:
        f.attrs["model"] = np.bytes_(cfg["name"])
        for k in ("classes", "channels", "size", "batch", "steps"):
            f.attrs[k] = np.int64(cfg[k])
        for k in ("width", "lr", "momentum", "weight_decay", "dropout_p"):
            f.attrs[k] = np.float64(cfg[k])
        f.attrs["dropout_seed"] = np.uint64(cfg["dropout_seed"])
        f.attrs["bn_eps"] = np.float64(1e-5)
        f.attrs["bn_momentum"] = np.float64(0.1)
        f.attrs["torch_version"] = np.bytes_(torch.__version__)
        for k in ("x", "y", "loss", "logits0", "eval_logits"):
            write_array(f, k, arrays[k])
        for gname in ("init", "grad0", "final"):
            grp = make_group(f, gname)
            for k, v in groups[gname].items():
                write_array(grp, k, v)
    os.replace(tmp, path)


def check_gradients(cfg, grad0):
    """A parameter with an all-zero gradient would make the check blind to it."""
    dead = [k for k, v in grad0.items() if not np.any(v)]
    if dead:
        print("warning: %s: zero gradient at step 0 for %s" % (cfg["name"], ", ".join(dead)), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="folder for the <case>.h5 files")
    ap.add_argument("--case", action="append", help="only this case (repeatable)")
    ap.add_argument("--print-table", metavar="CASE", help="print the layer table of a case or model")
    ap.add_argument("--width", type=float, help="with --print-table: override the width")
    ap.add_argument("--channels", type=int, help="with --print-table: override the input channels")
    ap.add_argument("--classes", type=int, help="with --print-table: override the classes")
    ap.add_argument("--size", type=int, help="with --print-table: override the input size")
    ap.add_argument("--self-test", action="store_true", help="check the RNG against the C values and exit")
    args = ap.parse_args()

    mtm.rng_self_test()
    if args.self_test:
        print("rng self-test passed")
        return 0

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    if args.print_table:
        if any(c["name"] == args.print_table for c in CASES):
            cfg = case_config(args.print_table)
        elif args.print_table in mtm.model_names():
            cfg = dict(COMMON, name=args.print_table, width=1.0, channels=3, classes=10, dropout_p=0.5)
        else:
            ap.error("'%s' is neither a case nor a model (models: %s)"
                     % (args.print_table, ", ".join(mtm.model_names())))
        for k in ("width", "channels", "classes", "size"):
            if getattr(args, k) is not None:
                cfg[k] = getattr(args, k)
        print(mtm.format_table(build(cfg), cfg["name"], cfg["classes"], cfg["channels"], cfg["size"],
                               cfg["width"]))
        return 0

    if not args.out:
        ap.error("give --out DIR (or --print-table / --self-test)")
    names = args.case or [c["name"] for c in CASES]
    os.makedirs(args.out, exist_ok=True)
    for name in names:
        cfg = case_config(name)
        arrays, groups = run_case(cfg)
        check_gradients(cfg, groups["grad0"])
        path = os.path.join(args.out, name + ".h5")
        write_case(path, cfg, arrays, groups)
        print("%-16s %8d bytes  loss %s" % (name + ".h5", os.path.getsize(path),
                                            " ".join("%.5f" % v for v in arrays["loss"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
