#!/usr/bin/python3
"""Measure a PyTorch model layer by layer on this host and write an mpsl layer table
(docs/table.md), so that `model = csv:FILE` can simulate, estimate and plan a model that
mpsl itself does not implement.

  /usr/bin/python3 python/torch_profile.py --model resnet101 --batch 128 --output r101.csv
  /usr/bin/python3 python/torch_profile.py --module my_models.py:tiny_vit --size 32

  --model NAME      a torchvision.models classifier (vgg19, resnet101, ...), random weights
  --module MOD:FUNC FUNC() of an importable module or of a .py file returns the model
  --batch 128 --size 32 --channels 3 --classes 10   the input (batch, channels, size, size)
  --device host     the device name of the table's three time columns
  --reps 5 --warmup 1 --threads 2   medians over reps, after warmup unmeasured runs
  --output FILE     instead of standard output

The layers are the ones mpsl's own tables cut at: a torchvision model's direct children in
order, an nn.Sequential child spread into its members (VGG: features.0 .. features.36,
avgpool, flatten, classifier.0 .. classifier.6; ResNet: conv1, bn1, relu, maxpool,
layer1.0 .. layer4.2, avgpool, flatten, fc), with the `flatten` torchvision's forward applies
before a Linear head. A --module model's layers are its direct children as they are, so its
forward must be exactly its children in order: give an nn.Sequential (or a module whose
forward only chains its children). Either way the chain is checked against the model's own
forward before anything is measured, and a model it does not reproduce (Inception, ViT, a
residual model without blocks) is refused rather than profiled wrongly. Every nn.ReLU is
made in-place, as torchvision builds them, before that check.

FUNC is called with whichever of num_classes, channels and size it takes by name. A model
whose input is not an image may carry an `input_shape` attribute: the shape of one sample
(e.g. (tokens, width)); the input is then random of shape (batch, *input_shape).

Each layer runs as its own module in training mode on the output of the layers before it
(random input data), timed for the whole batch: forward; backward of its output with a
random gradient (parameter gradients, and the input gradient except for the first layer,
as in real training); SGD step (lr 0.01, momentum 0.9, weight decay 1e-4) over its
parameters. One whole-model step is timed the same way; the ratio of the sum of the layers
to it goes to standard error and into a comment line of the table.
"""

import argparse
import datetime
import importlib
import importlib.util
import inspect
import math
import os
import platform
import re
import statistics
import sys
import time
import warnings

torch = nn = None  # imported in main after the arguments: a typo is told at once, not in seconds

PROG = "torch_profile.py"
HEAD_NAMES = ("fc", "classifier", "head", "heads")
MAX_NAME = 47  # docs/table.md: a layer name is 1..47 characters
MAX_DEVICE = 31


class Fail(Exception):
    """An error for the user: printed as one line, exit status 1."""


class Parser(argparse.ArgumentParser):
    # argparse prints its usage before the error; one line is what the other tools print
    def error(self, message):
        sys.stderr.write("%s: %s\n" % (PROG, message))
        sys.exit(2)


def count(lo):
    def parse(s):
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError("'%s' is not a whole number" % s)
        if v < lo:
            raise argparse.ArgumentTypeError("'%s' is below %d" % (s, lo))
        return v
    return parse


def device_name(s):
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,%d}" % MAX_DEVICE, s):
        raise argparse.ArgumentTypeError("'%s' is not 1..%d letters, digits, '_', '-' or '.'" % (s, MAX_DEVICE))
    return s


def parse_args(argv):
    ap = Parser(prog=PROG, description=__doc__.split("\n\n")[0],
                epilog="See the top of python/torch_profile.py and docs/table.md.")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a torchvision.models classifier: vgg19, resnet101, ...")
    src.add_argument("--module", metavar="MOD:FUNC", help="FUNC of module MOD (or of file MOD.py) builds the model")
    ap.add_argument("--batch", type=count(1), default=128)
    ap.add_argument("--size", type=count(1), default=32)
    ap.add_argument("--channels", type=count(1), default=3)
    ap.add_argument("--classes", type=count(1), default=10)
    ap.add_argument("--device", type=device_name, default="host")
    ap.add_argument("--reps", type=count(1), default=5)
    ap.add_argument("--warmup", type=count(0), default=1)
    ap.add_argument("--threads", type=count(1), default=2)
    ap.add_argument("--output", metavar="FILE.csv")
    return ap.parse_args(argv)


# ---- the model and its layers -------------------------------------------------------------

def torchvision_model(name, classes):
    try:
        import torchvision.models as tvm
    except ImportError:
        raise Fail("--model needs torchvision (Debian: apt-get install python3-torchvision); "
                   "--module works without it")
    # list_models also lists the detection, segmentation and video builders, whose input and
    # output are no classifier's
    known = sorted(tvm.list_models(module=tvm)) if hasattr(tvm, "list_models") else []
    if name not in known:
        raise Fail("unknown model '%s' (torchvision.models has: %s)" % (name, ", ".join(known)))
    try:
        # some builders warn that their default initialisation will change: not the user's concern
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tvm.get_model(name, weights=None, num_classes=classes)
    except (TypeError, ValueError, RuntimeError) as e:
        raise Fail("cannot build %s with %d classes: %s" % (name, classes, first_line(e)))


def user_model(spec, classes, channels, size):
    mod, sep, func = spec.rpartition(":")
    if not sep or not mod or not func:
        raise Fail("--module '%s' is not MOD:FUNC" % spec)
    try:
        if mod.endswith(".py") or os.sep in mod:
            if not os.path.isfile(mod):
                raise Fail("--module: no file '%s'" % mod)
            loader = importlib.util.spec_from_file_location("torch_profile_user", mod)
            m = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(m)
        else:
            # a module beside the user, not beside this script
            sys.path.insert(0, os.getcwd())
            m = importlib.import_module(mod)
    except Fail:
        raise
    except Exception as e:  # the user's code may raise anything while importing
        raise Fail("--module: cannot import '%s': %s: %s" % (mod, type(e).__name__, first_line(e)))
    factory = getattr(m, func, None)
    if not callable(factory):
        raise Fail("--module: '%s' has no function '%s'" % (mod, func))
    offered = {"num_classes": classes, "channels": channels, "size": size}
    try:
        params = inspect.signature(factory).parameters
        kwargs = {k: v for k, v in offered.items() if k in params}
    except (TypeError, ValueError):
        kwargs = {}
    try:
        model = factory(**kwargs)
    except Exception as e:
        raise Fail("--module: %s(%s) raised %s: %s" % (func, ", ".join("%s=%s" % kv for kv in kwargs.items()),
                                                      type(e).__name__, first_line(e)))
    if not isinstance(model, nn.Module):
        raise Fail("--module: %s returned a %s, not a torch.nn.Module" % (func, type(model).__name__))
    return model


def torchvision_layers(model):
    """Children in order, Sequential children spread one level, a flatten before a Linear head
    that would otherwise meet a feature map (torchvision applies torch.flatten(x, 1) there)."""
    rows = []
    for name, child in model.named_children():
        if isinstance(child, nn.Sequential):
            members = [("%s.%d" % (name, i), m) for i, m in enumerate(child)]
        else:
            members = [(name, child)]
        if name in HEAD_NAMES and members and isinstance(members[0][1], (nn.Linear, nn.Dropout)):
            rows.append(("flatten", nn.Flatten(1)))
        rows += members
    return rows


def user_layers(model):
    rows = list(model.named_children())
    if not rows:
        raise Fail("--module: the model has no child modules to profile as layers")
    return rows


HINT = "give --module a factory of a sequential model (nn.Sequential of its layers)"


def check_chain(model, rows, x, what):
    """The chain of rows must compute what the model computes, or the table would describe
    another model. In eval mode, so that dropout and batch statistics do not differ."""
    model.eval()
    try:
        with torch.no_grad():
            want = model(x.clone())
            got = x.clone()
            for _, m in rows:
                got = m(got)
    except Exception as e:
        raise Fail("%s: its layers in order do not run (%s: %s); %s" % (what, type(e).__name__, first_line(e), HINT))
    finally:
        model.train()
    if not isinstance(want, torch.Tensor) or want.shape != got.shape or \
            not torch.allclose(want, got, rtol=1e-4, atol=1e-5 * (1 + want.abs().max().item())):
        raise Fail("%s: its forward is not its layers in order; %s" % (what, HINT))


def in_place_relus(model):
    # torchvision builds ReLU(inplace=True); a hand-made model timed with the out-of-place
    # kind would pay a copy that the same model in torchvision does not
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = True


# ---- timing -------------------------------------------------------------------------------

def sgd(params):
    return torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)


def trainable(module):
    return [p for p in module.parameters() if p.requires_grad]


def time_step(module, x, input_grad, reps, warmup):
    """Median forward, backward and optimizer milliseconds of module on x, and its output.

    The input is cloned outside the timed region for every repetition: an in-place layer
    would otherwise overwrite x, and a leaf that requires grad may not be changed in place,
    so the layer sees a non-leaf copy of one."""
    params = trainable(module)
    opt = sgd(params) if params else None
    fwd, bwd, stp = [], [], []
    grad_out, out = None, None
    for r in range(warmup + reps):
        module.zero_grad(set_to_none=True)
        if input_grad:
            leaf = x.detach().clone().requires_grad_()
            inp = leaf.clone()
        else:
            inp = x.detach().clone()
        t0 = time.perf_counter()
        out = module(inp)
        t1 = time.perf_counter()
        if not isinstance(out, torch.Tensor):
            raise Fail("a layer returned a %s, not a tensor; %s" % (type(out).__name__, HINT))
        t2 = t3 = t4 = t5 = 0.0
        # no gradient when nothing in or before the layer needs one (a first ReLU, say)
        if out.requires_grad:
            if grad_out is None or grad_out.shape != out.shape:
                grad_out = torch.randn(out.shape, dtype=out.dtype)
            t2 = time.perf_counter()
            out.backward(grad_out)
            t3 = time.perf_counter()
        if opt is not None:
            t4 = time.perf_counter()
            opt.step()
            t5 = time.perf_counter()
        if r >= warmup:
            fwd.append(t1 - t0)
            bwd.append(t3 - t2)
            stp.append(t5 - t4)
    ms = tuple(1e3 * statistics.median(v) for v in (fwd, bwd, stp))
    return ms, out.detach()


def profile(rows, x, reps, warmup):
    """[(name, activation KiB, parameter KiB, fwd, bwd, opt ms)] layer by layer, each on the
    output of the layers before it, so only two activations are held at a time."""
    table = []
    for i, (name, m) in enumerate(rows):
        try:
            ms, x = time_step(m, x, i > 0, reps, warmup)
        except Fail:
            raise
        except (RuntimeError, ValueError) as e:
            raise Fail("layer %d (%s): %s" % (i + 1, name, first_line(e)))
        params = sum(p.numel() for p in trainable(m))
        table.append((name, x.numel() * 4 / 1024, params * 4 / 1024) + ms)
    return table


# ---- output -------------------------------------------------------------------------------

def first_line(e):
    s = str(e).strip()
    return s.splitlines()[0] if s else type(e).__name__


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def meta(value):
    # a comment line is one line, and "KEY = VALUE" is read up to its first " = "
    return re.sub(r"\s+", " ", str(value)).replace("=", ":").strip()


def write_table(f, args, model_desc, input_shape, table, check):
    dev = args.device
    f.write("# mpsl layer table\n")
    f.write("# batch = %d\n" % args.batch)
    f.write("# source = %s\n" % meta(
        "python/torch_profile.py: PyTorch %s on the CPU, training mode, %d thread(s), median of %d after %d "
        "warm-up, input %s, SGD lr 0.01 momentum 0.9 weight decay 1e-4"
        % (torch.__version__, torch.get_num_threads(), args.reps, args.warmup, "x".join(map(str, input_shape)))))
    f.write("# model = %s\n" % meta(model_desc))
    f.write("# host = %s\n" % meta("%s, %s, %d CPU(s)" % (platform.node(), cpu_name(), os.cpu_count() or 0)))
    f.write("# date = %s\n" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
    f.write("# %s\n" % meta(check))
    f.write("index,layer,activation_kib,parameter_kib,%s_fwd_ms,%s_bwd_ms,%s_opt_ms\n" % (dev, dev, dev))
    for i, (name, act, par, fw, bw, op) in enumerate(table, 1):
        # repr: KiB are n/256 for whole bytes, exact in a double and printed exactly
        f.write("%d,%s,%r,%r,%.6f,%.6f,%.6f\n" % (i, name, act, par, fw, bw, op))


def main(argv):
    args = parse_args(argv)
    if args.output:
        # say so now rather than after minutes of measuring
        d = os.path.dirname(args.output) or "."
        if os.path.isdir(args.output) or not os.path.isdir(d) or not os.access(d, os.W_OK):
            raise Fail("--output %s: cannot write there" % args.output)
    global torch, nn
    import torch
    import torch.nn as nn
    # Debian's torch starts with one thread whatever the machine has
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    if args.model:
        model = torchvision_model(args.model, args.classes)
        import torchvision
        what = args.model
        desc = "%s (torchvision %s, weights None, %d classes)" % (args.model, torchvision.__version__, args.classes)
        rows = torchvision_layers(model)
    else:
        model = user_model(args.module, args.classes, args.channels, args.size)
        what = args.module
        desc = "%s (%s)" % (args.module, type(model).__name__)
        rows = user_layers(model)
    for name, _ in rows:
        if len(name) > MAX_NAME or "," in name:
            raise Fail("layer name '%s' is longer than %d characters or has a comma (docs/table.md)"
                       % (name, MAX_NAME))
    in_place_relus(model)
    model.train()

    shape = tuple(getattr(model, "input_shape", (args.channels, args.size, args.size)))
    # two samples: enough for batch statistics, cheap for a large model
    check_chain(model, rows, torch.randn((min(args.batch, 2),) + shape), what)

    x = torch.randn((args.batch,) + shape)
    table = profile(rows, x, args.reps, args.warmup)

    # the cross-check: one training step of the model itself, timed as each layer is
    try:
        ms, _ = time_step(model, x, False, args.reps, args.warmup)
    except (RuntimeError, ValueError) as e:
        raise Fail("the whole model: %s" % first_line(e))

    sums = [sum(r[k] for r in table) for k in (3, 4, 5)]
    total, step = sum(sums), sum(ms)
    ratio = total / step if step > 0 else float("nan")
    check = ("whole-model check: sum of the %d layers %.3f ms (fwd %.3f, bwd %.3f, opt %.3f), one whole-model "
             "step %.3f ms (fwd %.3f, bwd %.3f, opt %.3f), ratio %.3f"
             % (len(table), total, sums[0], sums[1], sums[2], step, ms[0], ms[1], ms[2], ratio))
    sys.stderr.write("%s: %s batch %d, %s\n" % (PROG, what, args.batch, check))

    for r in table:
        if not all(math.isfinite(v) and v >= 0 for v in r[1:]):
            raise Fail("layer %s measured a negative or non-finite number: %s" % (r[0], r[1:]))
    if args.output:
        # through a temporary file and a rename: a failed write never leaves a table that
        # looks complete
        tmp = "%s.tmp.%d" % (args.output, os.getpid())
        try:
            with open(tmp, "w") as f:
                write_table(f, args, desc, shape, table, check)
            os.replace(tmp, args.output)
        except OSError as e:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise Fail("%s: %s" % (args.output, e.strerror or e))
    else:
        write_table(sys.stdout, args, desc, shape, table, check)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Fail as e:
        sys.stderr.write("%s: %s\n" % (PROG, e))
        sys.exit(1)
