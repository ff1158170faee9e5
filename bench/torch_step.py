#!/usr/bin/python3
"""Time one SGD training step of a full-width mpsl model in PyTorch, the baseline the C
engine's step time is compared with.

  /usr/bin/python3 bench/torch_step.py --model vgg19_bn-cifar --batch 32 \\
      [--memory-format contiguous|channels_last] [--no-inplace] \\
      [--channels 3 --classes 10 --size 32 --reps 10 --warmup 3 --threads 2]

The network is built as torchvision builds it: ReLU(inplace=True) and in-place residual
additions (--no-inplace: out of place, as the golden files use). --memory-format
channels_last converts the model and the input with .to(memory_format=torch.channels_last),
which lets PyTorch's oneDNN convolutions skip some reorders; contiguous is PyTorch's default.

Prints torch_step_s=<median seconds per step> and
torch_gflops=<3 * forward FLOPs * batch / median / 1e9>, where forward FLOPs count the
multiply-adds (x2) of convolutions and linear layers per sample; 3x stands for forward,
backward-data and backward-weights.
"""

import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
import mpsl_torch_models as mtm  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="one of: " + ", ".join(mtm.model_names()))
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--memory-format", choices=("contiguous", "channels_last"), default="contiguous")
    ap.add_argument("--no-inplace", dest="inplace", action="store_false",
                    help="out-of-place ReLU and residual additions")
    args = ap.parse_args()
    if args.batch < 1 or args.reps < 1 or args.warmup < 0 or args.threads < 1:
        ap.error("batch, reps and threads must be positive, warmup non-negative")

    # Debian's torch starts with one thread whatever the machine has
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    try:
        model = mtm.build_model(args.model, classes=args.classes, channels=args.channels, size=args.size,
                                width=args.width, inplace=args.inplace)
    except ValueError as e:
        ap.error(str(e))
    model.train()

    flops_per_sample = sum(mtm.matmul_flops(model.eval(), torch.zeros(1, args.channels, args.size, args.size))
                           .values())
    model.train()

    fmt = torch.channels_last if args.memory_format == "channels_last" else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x = torch.randn(args.batch, args.channels, args.size, args.size).to(memory_format=fmt)
    y = torch.randint(args.classes, (args.batch,))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                          weight_decay=args.weight_decay)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)

    print("model=%s batch=%d threads=%d reps=%d memory_format=%s inplace=%d torch=%s min_s=%.4f max_s=%.4f "
          "forward_gflop_per_sample=%.4f"
          % (args.model, args.batch, torch.get_num_threads(), args.reps, args.memory_format, args.inplace,
             torch.__version__, min(times), max(times), flops_per_sample / 1e9))
    print("torch_step_s=%.6f" % med)
    print("torch_gflops=%.3f" % (3 * flops_per_sample * args.batch / med / 1e9))
    return 0


if __name__ == "__main__":
    sys.exit(main())
