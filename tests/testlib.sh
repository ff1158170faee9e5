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
