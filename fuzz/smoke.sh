#!/bin/sh
# Runs each fuzz target for $FUZZ_SECONDS (default 10) on its seed corpus:
#   smoke.sh BUILD/fuzz SRC/fuzz/corpus NAME...
# New inputs go to a scratch folder (the corpus in the source tree is only read); a
# crash, a leak, a sanitizer report or a timeout fails the run and leaves the input in
# BUILD/fuzz/findings/NAME-*. Prints one line per target: its executions and their rate.
set -u
bin=$1 corpus=$2
shift 2
secs=${FUZZ_SECONDS:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$bin/findings"
rc=0
for name in "$@"; do
  mkdir -p "$work/$name"
  log=$work/$name.log
  if "$bin/fuzz_$name" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$bin/findings/$name-" "$work/$name" "$corpus/$name" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    echo "fuzz_$name: ${execs:-?} executions in ${secs} s (${rate:-?}/s), no finding"
  else
    echo "FAIL: fuzz_$name: a finding (input in $bin/findings/$name-*):"
    grep -m1 -E 'ERROR|SUMMARY|runtime error|abort|Assertion|timeout' "$log" || tail -5 "$log"
    tail -40 "$log" >&2
    rc=1
  fi
done
exit $rc
