# Sourced by the scripts that start servers on loopback (run-demo.sh,
# start-rgw.sh): finding free ports on 127.0.0.1.

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port [PREFERRED]: PREFERRED when free, else a free port in 20000-59999.
free_port() {
  if [[ -n "${1:-}" ]] && port_free "$1"; then echo "$1"; return; fi
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p"; then echo "$p"; return; fi
  done
  echo "$(basename "$0"): no free port found on 127.0.0.1" >&2
  return 1
}
