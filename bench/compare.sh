#!/bin/sh
# One training step (forward, loss, backward, SGD update) of mpsl and of PyTorch, side by
# side in the same invocation on the same machine, for each model and batch size.
#   bench/compare.sh [BUILDDIR] [REPS]
# Prints a Markdown table: median step seconds of each, the ratio mpsl/PyTorch (below 1:
# mpsl is faster) and GFLOP/s of both on PyTorch's FLOP count (conv and linear multiply-adds
# x2, times 3 for forward, backward-data, backward-weights).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
reps=${2:-10}
py=${MPSL_PYTHON:-/usr/bin/python3}
models=${MODELS:-"vgg19_bn-cifar resnet18-cifar"}
batches=${BATCHES:-"32 128"}
echo "| model | batch | mpsl step (s) | PyTorch step (s) | ratio | mpsl GFLOP/s | PyTorch GFLOP/s |"
echo "|---|---|---|---|---|---|---|"
for m in $models; do
  for b in $batches; do
    ours=$("$build/mpsl" bench --model "$m" --batch "$b" --reps "$reps" | sed -n 's/^step_s=//p')
    out=$("$py" "$here/torch_step.py" --model "$m" --batch "$b" --reps "$reps" --threads 2)
    theirs=$(echo "$out" | sed -n 's/^torch_step_s=//p')
    tg=$(echo "$out" | sed -n 's/^torch_gflops=//p')
    awk -v m="$m" -v b="$b" -v o="$ours" -v t="$theirs" -v tg="$tg" 'BEGIN {
      printf "| %s | %d | %.3f | %.3f | %.2f | %.0f | %.0f |\n", m, b, o, t, o / t, tg * t / o, tg }'
  done
done
