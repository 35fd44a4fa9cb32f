# Sourced by the scripts that start servers on loopback (run-demo.sh,
# start-rgw.sh): finding free ports on 127.0.0.1.
#
# Ports are drawn from below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range, 32768-60999 by default): that range is where
# every outgoing connection and every Go test's 127.0.0.1:0 listener gets its
# port, so a port picked there can be taken between our check and the
# daemon's bind. CI lost a Ceph monitor to exactly that race.
# internal/testproc.LoopbackAddr picks the same way for the Go tests.

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port [PREFERRED]: PREFERRED when free, else a free port in
# 20000 up to the start of the ephemeral range.
free_port() {
  if [[ -n "${1:-}" ]] && port_free "$1"; then echo "$1"; return; fi
  local low=32768 p
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  ((low > 21000)) || low=32768
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % (low - 20000)))
    if port_free "$p"; then echo "$p"; return; fi
  done
  echo "$(basename "$0"): no free port found on 127.0.0.1" >&2
  return 1
}
