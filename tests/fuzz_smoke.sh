#!/bin/sh
# make fuzz builds every fuzz target of fuzz/ and each runs for a few seconds on its seed
# corpus without a finding (fuzz/smoke.sh). Skipped when configure found no clang with
# libFuzzer. MPSL_FUZZ_SECONDS (default 5) is the time of each target.
. "$(dirname "$0")/testlib.sh"
: "${MAKE:=make}"
if [ -z "${MPSL_FUZZ_CC:-}" ]; then
  echo "skip: configure found no clang with libFuzzer (install clang, libclang-rt-14-dev, libomp-14-dev)"
  exit 77
fi
env -u MAKEFLAGS -u MFLAGS $MAKE -s -C "$MPSL_BUILDDIR" fuzz >"$tmp/build.log" 2>&1 ||
  fail "make fuzz: $(grep -m1 -i 'error' "$tmp/build.log" || tail -3 "$tmp/build.log")"
names=$(sed -n 's/^FUZZ_NAMES = //p' "$MPSL_SRCDIR/fuzz/Makefile.inc")
[ -n "$names" ] || fail "no FUZZ_NAMES in fuzz/Makefile.inc"
# shellcheck disable=SC2086 # one argument per target name
FUZZ_SECONDS=${MPSL_FUZZ_SECONDS:-5} sh "$MPSL_SRCDIR/fuzz/smoke.sh" "$MPSL_BUILDDIR/fuzz" "$MPSL_SRCDIR/fuzz/corpus" \
  $names || fail "a fuzz target found an input that breaks its parser"
