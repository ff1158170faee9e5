#!/bin/sh
# Runs each fuzz target for $FUZZ_SECONDS (default 10) on its seed corpus:
#   smoke.sh BUILD/fuzz SRC/fuzz/corpus NAME...
# New inputs go to a scratch folder (the corpus in the source tree is only read); a
# crash, a leak, a sanitizer report or a timeout fails the run and leaves the input in
# BUILD/fuzz/findings/NAME-*. Prints one line per target: its executions and their rate.
# The mutations are seeded (-seed=1, then 2, 3, ... after each restart below), so that a
# slower machine tries a prefix of the inputs a faster one tries, not other ones.
#
# Debian 12's libhdf5 (1.10.8) itself crashes on some corrupt files, inside its own code
# (a use after free and heap overreads in H5O__attr_exists, reads of wild addresses in
# H5T__conv_struct_opt and H5VM_memcpyvv, a 4 GB malloc in H5C_protect): a report that
# writes nothing and whose innermost frame of libhdf5 or of ours is libhdf5's is counted
# as libhdf5's, its input kept, and the target goes on for the rest of its time. Any
# write (a write past a buffer of ours by H5Aread is one) and any report from our code
# (an allocation of ours too large, say) remain findings.
set -u

# Whether the report in log $1 is a read (or an allocation) that went wrong inside
# libhdf5: of the frames of its first stack that are libhdf5's or of mpsl's sources (the
# sanitizer's, libFuzzer's and libc's are neither), the innermost is libhdf5's.
in_libhdf5() {
  grep -q 'WRITE' "$1" && return 1
  awk '/^ +#[0-9]+ / && (/libhdf5/ || /\/(src|fuzz)\/[^ ]*\.[ch]:[0-9]/) { print; exit }' "$1" | grep -q 'libhdf5'
}
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
  end=$(($(date +%s) + secs)) execs=0 h5crashes=0 ok=1
  while left=$((end - $(date +%s))) && [ "$left" -gt 0 ]; do
    if "$bin/fuzz_$name" -seed=$((h5crashes + 1)) -max_total_time="$left" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$bin/findings/$name-" "$work/$name" "$corpus/$name" >"$log" 2>&1; then
      n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
      execs=$((execs + ${n:-0}))
      break
    fi
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    execs=$((execs + ${n:-0}))
    if in_libhdf5 "$log"; then
      cp "$log" "$bin/findings/$name-libhdf5-$h5crashes.log"
      h5crashes=$((h5crashes + 1))
      continue
    fi
    ok=0
    break
  done
  extra=
  [ "$h5crashes" -gt 0 ] && extra=", $h5crashes crash(es) inside libhdf5 (inputs in $bin/findings/)"
  if [ $ok = 1 ]; then
    echo "fuzz_$name: $execs executions in $secs s, no finding$extra"
  else
    echo "FAIL: fuzz_$name: a finding (input in $bin/findings/$name-*):"
    grep -m1 -E 'ERROR|SUMMARY|runtime error|abort|Assertion|timeout' "$log" || tail -5 "$log"
    tail -40 "$log" >&2
    rc=1
  fi
done
exit $rc
