# scripts/two_hosts.sh — sourced: two simulated hosts for Open MPI. Two network
# namespaces joined by a veth pair, the link shaped on both ends, and an
# mpirun that starts rank 0 in the first and rank 1 in the second, over TCP
# only (--mca btl tcp,self), as two machines on one switch would run.
#
#   two_hosts_up RATE DELAY   # e.g. 1gbit 50us; RATE "" leaves the link unshaped
#   two_hosts_mpirun PROGRAM ARGS...
#   two_hosts_link_stats      # "BYTES OVERLIMITS" sent by the first host
#   two_hosts_down
#
# Needs root (or CAP_NET_ADMIN) and iproute2. two_hosts_up returns 1 with the
# reason in TWO_HOSTS_SKIP when namespaces cannot be made. The rate is a token
# bucket (tbf); the delay needs the kernel's netem qdisc, which some kernels
# lack (TWO_HOSTS_DELAY then says "none: no netem in this kernel" and the
# link keeps the TCP stack's own latency).

two_hosts_up() {
  local rate=$1 delay=$2
  TWO_HOSTS_SKIP=""
  if [ "$(id -u)" -ne 0 ]; then TWO_HOSTS_SKIP="needs root to make network namespaces"; return 1; fi
  if ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
    TWO_HOSTS_SKIP="needs iproute2 (ip, tc)"; return 1
  fi
  # Names and a subnet of this shell's own, so two users of the library do not meet.
  local id=$(( $$ % 200 + 20 ))
  TWO_HOSTS_NS=("graphc-h0-$$" "graphc-h1-$$")
  TWO_HOSTS_IP=("10.213.$id.1" "10.213.$id.2")
  TWO_HOSTS_SUBNET="10.213.$id.0/24"
  TWO_HOSTS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/graphc-two-hosts.XXXXXX")
  TWO_HOSTS_DEV=("gx$$a" "gx$$b")  # the veth ends, in namespace 0 and 1
  local dev=("${TWO_HOSTS_DEV[@]}")
  if ! { ip netns add "${TWO_HOSTS_NS[0]}" && ip netns add "${TWO_HOSTS_NS[1]}" &&
         ip link add "${dev[0]}" type veth peer name "${dev[1]}"; } 2>"$TWO_HOSTS_DIR/err"; then
    TWO_HOSTS_SKIP="cannot make network namespaces here: $(head -1 "$TWO_HOSTS_DIR/err")"
    two_hosts_down; return 1
  fi
  local i
  TWO_HOSTS_DELAY=$delay
  for i in 0 1; do
    ip link set "${dev[$i]}" netns "${TWO_HOSTS_NS[$i]}" &&
    ip -n "${TWO_HOSTS_NS[$i]}" addr add "${TWO_HOSTS_IP[$i]}/24" dev "${dev[$i]}" &&
    ip -n "${TWO_HOSTS_NS[$i]}" link set lo up &&
    ip -n "${TWO_HOSTS_NS[$i]}" link set "${dev[$i]}" up || { TWO_HOSTS_SKIP="cannot set up the veth pair"; two_hosts_down; return 1; }
    # Each end shapes what it sends: a full-duplex link of RATE each way.
    if [ -n "$delay" ] && ip netns exec "${TWO_HOSTS_NS[$i]}" tc qdisc add dev "${dev[$i]}" root netem \
         delay "$delay" ${rate:+rate "$rate"} limit 100000 2>/dev/null; then
      continue
    fi
    [ -n "$delay" ] && TWO_HOSTS_DELAY="none: no netem in this kernel"
    # A bucket of 128 KB: larger than a TSO segment (64 KB), small against the messages timed.
    if [ -n "$rate" ] && ! ip netns exec "${TWO_HOSTS_NS[$i]}" tc qdisc add dev "${dev[$i]}" root tbf \
         rate "$rate" burst 128kb latency 200ms 2>"$TWO_HOSTS_DIR/err"; then
      TWO_HOSTS_SKIP="cannot shape the link to $rate: $(head -1 "$TWO_HOSTS_DIR/err")"; two_hosts_down; return 1
    fi
  done
  # mpirun reaches the second host through this agent instead of ssh: it runs
  # the daemon's command line inside the second namespace.
  cat >"$TWO_HOSTS_DIR/agent" <<EOF
#!/bin/sh
shift  # the host name; there is only one remote host
exec ip netns exec ${TWO_HOSTS_NS[1]} sh -c "\$*"
EOF
  chmod +x "$TWO_HOSTS_DIR/agent"
}

# Each rank unbound (each "host" would pin its rank to its own core 0, and here
# both are the same core), root allowed (CI runs as root), stopped after
# TWO_HOSTS_TIMEOUT seconds (default 600).
two_hosts_mpirun() {
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout "${TWO_HOSTS_TIMEOUT:-600}" \
  ip netns exec "${TWO_HOSTS_NS[0]}" "${TWO_HOSTS_MPIEXEC:-mpirun}" -np 2 -H "${TWO_HOSTS_IP[0]},${TWO_HOSTS_IP[1]}" \
    --bind-to none --mca plm_rsh_agent "$TWO_HOSTS_DIR/agent" --mca btl tcp,self \
    --mca btl_tcp_if_include "$TWO_HOSTS_SUBNET" --mca oob_tcp_if_include "$TWO_HOSTS_SUBNET" "$@"
}

# What the first host's end of the link has sent, and how often its shaper
# held a packet back: "BYTES OVERLIMITS".
two_hosts_link_stats() {
  ip netns exec "${TWO_HOSTS_NS[0]}" tc -s qdisc show dev "${TWO_HOSTS_DEV[0]}" |
    sed -nE 's/.*Sent ([0-9]+) bytes .*overlimits ([0-9]+).*/\1 \2/p' | head -1
}

two_hosts_down() {
  local ns
  for ns in "${TWO_HOSTS_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done  # takes its end of the veth with it
  [ ${#TWO_HOSTS_DEV[@]} -gt 0 ] && { ip link del "${TWO_HOSTS_DEV[0]}" 2>/dev/null || true; }  # a pair never moved into them
  [ -n "${TWO_HOSTS_DIR:-}" ] && rm -rf "$TWO_HOSTS_DIR"
  TWO_HOSTS_NS=() TWO_HOSTS_DEV=()
  return 0
}
