#!/bin/sh
# What make dist packs (make distdir) holds every file git tracks, and the files the README's
# quick start and the tests name: the dist-hook of Makefile.am lists any that are missing.
# Skipped outside a git checkout (the tree of a tarball), where git knows nothing.
. "$(dirname "$0")/testlib.sh"
: "${MAKE:=make}"
# (a tarball unpacked inside some checkout is not one: its top is elsewhere)
top=$(git -C "$MPSL_SRCDIR" rev-parse --show-toplevel 2>/dev/null) || top=
if [ -z "$top" ] || [ "$(cd "$top" && pwd -P)" != "$(cd "$MPSL_SRCDIR" && pwd -P)" ]; then
  echo "skip: $MPSL_SRCDIR is not the top of a git checkout"
  exit 77
fi
d=$tmp/mpsl-dist
env -u MAKEFLAGS -u MFLAGS $MAKE -s -C "$MPSL_BUILDDIR" distdir distdir="$d" >"$tmp/log" 2>&1 ||
  fail "make distdir: $(grep -m1 'missing from the tarball' "$tmp/log" || tail -3 "$tmp/log")"
for f in quickstart configure Makefile.in experiments/demo.ini experiments/emulate.ini experiments/devices.ini \
  docs/run.md docs/results.md docs/sweeps.md docs/img/fig1_round_time.png tests/fixtures/tiny-run.ini; do
  [ -f "$d/$f" ] || fail "the distribution lacks $f"
done
n=$(git -C "$MPSL_SRCDIR" ls-files | wc -l)
echo "distribution: every one of the $n tracked files"
