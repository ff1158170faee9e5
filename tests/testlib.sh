# Sourced by the shell tests: the mpsl binary of the build, the launcher of MPI jobs, a
# private temporary directory removed on exit, and fail (one line, exit 1).
set -u
: "${MPSL_BUILDDIR:=.}" "${MPSL_SRCDIR:=.}" "${MPSL_LAUNCH:=mpirun --oversubscribe}"
mpsl=$MPSL_BUILDDIR/mpsl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}
# split_run NAME ARGS...: `mpsl run` over MPI of the configuration ARGS, its results in
# $tmp/NAME.h5 and its model in $tmp/NAME.model; ref_run NAME ARGS...: the unsplit
# reference the same way; same_model A B: fails unless the two saved models are equal.
split_run() {
  _name=$1
  shift
  _np=$("$mpsl" run --ranks "$@") || fail "$_name: mpsl run --ranks"
  $MPSL_LAUNCH -np "$_np" "$mpsl" run "$@" --set output="$tmp/$_name.h5" --set save_model="$tmp/$_name.model" \
    >"$tmp/$_name.log" 2>&1 || { cat "$tmp/$_name.log"; fail "$_name: the split run"; }
}
ref_run() {
  _name=$1
  shift
  "$mpsl" run --reference "$@" --set output="$tmp/$_name.h5" --set save_model="$tmp/$_name.model" \
    >"$tmp/$_name.log" 2>&1 || { cat "$tmp/$_name.log"; fail "$_name: the reference"; }
}
same_model() {
  h5diff "$tmp/$1.model" "$tmp/$2.model" >"$tmp/diff" || { head -5 "$tmp/diff"; fail "$1 and $2: the models differ"; }
}
