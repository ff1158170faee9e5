#!/bin/sh
# Every figure of the README: runs each sweep of experiments/sweeps (skipping points whose
# results exist) and draws its figures. What `make figures` runs.
#   plots/figures.sh MPSL_BINARY [RESULTS_DIR [FIG_DIR]]
# RESULTS_DIR defaults to results/sweeps, FIG_DIR to docs/img, both in the source tree
# (installed: results/sweeps and results/figures of the current directory);
# host profiles are cached in RESULTS_DIR/../profiles. Exit 1 if any point or figure failed
# (the others are still made).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
mpsl=${1:?usage: plots/figures.sh MPSL_BINARY [RESULTS_DIR [FIG_DIR]]}
if [ -f "$src/configure.ac" ]; then
  res=${2:-$src/results/sweeps} fig=${3:-$src/docs/img}
else
  res=${2:-$PWD/results/sweeps} fig=${3:-$PWD/results/figures}
fi
mkdir -p "$res" "$fig" || exit 1
res=$(cd "$res" && pwd)
prof=$(dirname "$res")/profiles
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
rc=0
start=$(date +%s)
# The EdgeSys'25 experiments on the authors' tables (experiments/reproduce), then the
# paper-scale simulations on the same tables, then the small emulated runs (these measure
# this host's profiles, once).
"$src/experiments/reproduce" --mpsl "$mpsl" --out "$(dirname "$res")/reproduce" --figdir "$fig" all >/dev/null || rc=1
# dropout-time has no figure of its own: dropout-accuracy, after it, draws from both
for s in paper-hops paper-scaling paper-devices gantt validate validate-steady validate-real accuracy-central accuracy \
  dropout-time dropout-accuracy; do
  echo "== $s"
  "$src/experiments/sweep" --mpsl "$mpsl" --out "$res/$s" --set "profile_dir=$prof" "$src/experiments/sweeps/$s.ini" || rc=1
  [ "$s" = dropout-time ] && continue
  "$src/experiments/sweep" --mpsl "$mpsl" --out "$res/$s" --plot --figdir "$fig" "$src/experiments/sweeps/$s.ini" || rc=1
done
echo "figures: done in $(($(date +%s) - start)) s; figures in $fig$([ $rc = 0 ] || echo ', with failures (see above)')"
exit $rc
