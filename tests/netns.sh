# Sourced by the multi-host tests: two hosts on this machine, each a network namespace with
# its own address and, for what runs in it, its own host name (a UTS namespace), joined by
# a veth pair. After testlib.sh (it needs $tmp):
#   hosts_up PREFIX   creates mpsl-a = PREFIX.1 and mpsl-b = PREFIX.2 (PREFIX: three
#                     octets, e.g. 10.231.7), sets ipa, ipb and net; skips the test
#                     (exit 77) when namespaces cannot be made here
#   on_host a|b CMD...  runs CMD on that host
#   hosts_rsh_agent FILE  writes an rsh agent for Open MPI (--mca plm_rsh_agent FILE): called
#                     as "FILE ADDRESS COMMAND...", it runs the command on that host, as ssh
#                     would on a node, inheriting this environment
#   hosts_down        kills what still runs in the two namespaces (only this test's
#                     processes can be there) and removes them (the veth pair goes with
#                     them); hosts_up arranges it on exit, with the removal of $tmp
# Names carry this shell's pid, so two test suites at once do not meet.
nsa=mpsla$$ nsb=mpslb$$
hosts_down() {
  local ns p
  for ns in "$nsa" "$nsb"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  ip link del "va$$" 2>/dev/null # left in this namespace only if moving it failed
}
hosts_up() {
  local p=$1
  [ "$(id -u)" = 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }
  for c in ip unshare; do command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c not found (iproute2, util-linux)"; exit 77; }; done
  ipa=$p.1 ipb=$p.2 net=$p.0/24
  trap 'hosts_down; rm -rf "$tmp"' EXIT
  ip netns add "$nsa" 2>"$tmp/netns.err" || { echo "SKIP: cannot create a network namespace: $(cat "$tmp/netns.err")"; exit 77; }
  ip netns add "$nsb" || fail "a second network namespace"
  ip link add "va$$" type veth peer name "vb$$" || fail "a veth pair"
  ip link set "va$$" netns "$nsa" && ip link set "vb$$" netns "$nsb" || fail "the veth pair into the namespaces"
  ip -n "$nsa" addr add "$ipa/24" dev "va$$" && ip -n "$nsb" addr add "$ipb/24" dev "vb$$" || fail "addresses"
  ip -n "$nsa" link set lo up && ip -n "$nsa" link set "va$$" up || fail "links up on mpsl-a"
  ip -n "$nsb" link set lo up && ip -n "$nsb" link set "vb$$" up || fail "links up on mpsl-b"
}
on_host() {
  local h=$1 ns
  shift
  case $h in a) ns=$nsa ;; b) ns=$nsb ;; *) fail "on_host: no host $h" ;; esac
  # nsenter, not ip netns exec: that remounts /sys, hiding /sys/fs/cgroup from slurmd
  nsenter --net="/run/netns/$ns" unshare --uts sh -c 'hostname "$0" && exec "$@"' "mpsl-$h" "$@"
}
hosts_rsh_agent() {
  cat >"$1" <<AGENT
#!/bin/sh
host=\$1
shift
case \$host in
  $ipa) ns=$nsa name=mpsl-a ;;
  $ipb) ns=$nsb name=mpsl-b ;;
  *) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
exec nsenter --net="/run/netns/\$ns" unshare --uts sh -c "hostname \$name && \$*"
AGENT
  chmod +x "$1"
}
# The veth end of a host, for tc.
host_dev() { case $1 in a) echo "va$$" ;; b) echo "vb$$" ;; esac; }
