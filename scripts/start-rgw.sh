#!/usr/bin/env bash
# A throwaway single-node Ceph cluster with RGW on 127.0.0.1: one mon, one
# OSD on memstore (RAM only) and radosgw with STS on, no systemd, no mgr.
# The tests of e2e/ and `make run STS=rgw` start it; it runs in the
# foreground until it gets SIGTERM or SIGINT, then stops every daemon and
# removes its directory.
#
#   scripts/start-rgw.sh DIR
#
# When RGW answers S3 and STS it writes DIR/env (shell syntax, also read by
# the Go tests) with:
#   RGW_URL            http://127.0.0.1:PORT (S3 and STS)
#   RGW_ACCESS_KEY     the gateway user's keys (user "gateway", caps
#   RGW_SECRET_KEY       roles=* and oidc-provider=*)
#   RGW_ROLE_ARN       arn:aws:iam:::role/application_abc/component_xyz/S3Access,
#                      which the gateway user may assume; it allows s3:*
#   RGW_USER_ARN       arn:aws:iam:::user/gateway
# RGW_PORT picks the port (default: a free one). Needs Debian's ceph-mon,
# ceph-osd, radosgw and ceph-common (scripts/install-test-deps.sh).
# Measured on 2 cores: ready in 13-18 s, about 130 MB RSS in all.
set -euo pipefail

dir=${1:?usage: start-rgw.sh DIR}
for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
  command -v "$tool" >/dev/null || { echo "start-rgw: $tool is missing (scripts/install-test-deps.sh installs it)" >&2; exit 1; }
done

# shellcheck source=ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

rm -rf "$dir"
mkdir -p "$dir"/{mon,osd,run,log}
dir=$(cd "$dir" && pwd)
conf=$dir/ceph.conf
mon_port=$(free_port)
rgw_port=${RGW_PORT:-$(free_port)}
fsid=$(cat /proc/sys/kernel/random/uuid)

pids=()
stop() {
  trap - INT TERM EXIT
  local all=("${pids[@]}" ${mon_pid:-} ${rgw_pid:-})
  for pid in "${all[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${all[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap stop INT TERM EXIT

# write_conf: ceph.conf for the current mon_port and rgw_port.
write_conf() {
  cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public network = 127.0.0.0/8
ms bind ipv6 = false
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
keyring = $dir/keyring
mon data = $dir/mon/\$id
osd data = $dir/osd/\$id
# One OSD: every pool has one copy and few placement groups.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
osd crush chooseleaf type = 0
# Pool creation takes 0.2 s instead of 2 s.
paxos propose interval = 0.01
osd objectstore = memstore
memstore device bytes = 1073741824
mon warn on pool no redundancy = false
auth allow insecure global id reclaim = false
[client.admin]
admin socket =
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw sts key = stsgatetestkey16
rgw s3 auth use sts = true
rgw thread pool size = 64
CONF
}
export CEPH_CONF=$conf
write_conf

ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$dir/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null

# The monitor's port is checked free, then bound by ceph-mon a moment later;
# should another process take it in between, ceph-mon gives up after 15 s
# of retries. Then it starts again on a fresh port (a new monmap and mkfs).
for attempt in 1 2 3; do
  write_conf
  rm -rf "$dir/mon/a"
  monmaptool --create --clobber --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null
  ceph-mon --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
  ceph-mon -f -i a &
  mon_pid=$!
  mon_up=
  for _ in $(seq 100); do
    kill -0 "$mon_pid" 2>/dev/null || break
    grep -qs 'unable to bind' "$dir/log/mon.a.log" && break
    if ceph --connect-timeout 2 mon stat >/dev/null 2>&1; then mon_up=1; break; fi
    sleep 0.2
  done
  [[ -n $mon_up ]] && break
  kill -TERM "$mon_pid" 2>/dev/null || true
  wait "$mon_pid" 2>/dev/null || true
  if ((attempt == 3)); then echo "start-rgw: ceph-mon did not bind a port in 3 attempts; logs in $dir/log" >&2; exit 1; fi
  echo "start-rgw: ceph-mon lost 127.0.0.1:$mon_port to another process; trying another port" >&2
  : >"$dir/log/mon.a.log"
  mon_port=$(free_port)
done
pids+=("$mon_pid")

# The OSD's key is added after --mkfs and registered with `ceph osd new`.
osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_key=$(ceph-authtool --gen-print-key)
osd_id=$(echo "{\"cephx_secret\": \"$osd_key\"}" | ceph osd new "$osd_uuid" -i - --connect-timeout 30)
mkdir -p "$dir/osd/$osd_id"
printf '[osd.%s]\n\tkey = %s\n' "$osd_id" "$osd_key" >"$dir/osd/$osd_id/keyring"
ceph-osd -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" --keyring "$dir/osd/$osd_id/keyring" 2>/dev/null
ceph-osd -f -i "$osd_id" --keyring "$dir/osd/$osd_id/keyring" &
pids+=($!)

ceph auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$dir/rgw.keyring"
radosgw -f -n client.rgw.a --keyring "$dir/rgw.keyring" &
rgw_pid=$!
rgw_tries=1

url=http://127.0.0.1:$rgw_port
deadline=$((SECONDS + 120))
until curl -fsS -o /dev/null "$url/" 2>/dev/null; do
  if ((SECONDS > deadline)); then
    echo "start-rgw: RGW did not answer on $url within 120 s; logs in $dir/log" >&2
    tail -n 20 "$dir"/log/*.log >&2 || true
    exit 1
  fi
  # The same race as the monitor's. radosgw stays up when its frontend
  # cannot bind, so its log is what tells.
  if grep -qs 'failed to bind' "$dir/log/client.rgw.a.log"; then
    # It does not stop on SIGTERM in that state either.
    kill -KILL "$rgw_pid" 2>/dev/null || true
    wait "$rgw_pid" 2>/dev/null || true
    if [[ -n ${RGW_PORT:-} ]] || ((rgw_tries == 3)); then
      echo "start-rgw: radosgw could not bind 127.0.0.1:$rgw_port; logs in $dir/log" >&2
      grep 'failed to bind' "$dir/log/client.rgw.a.log" >&2
      exit 1
    fi
    echo "start-rgw: radosgw lost 127.0.0.1:$rgw_port to another process; trying another port" >&2
    : >"$dir/log/client.rgw.a.log"
    rgw_port=$(free_port)
    url=http://127.0.0.1:$rgw_port
    write_conf
    radosgw -f -n client.rgw.a --keyring "$dir/rgw.keyring" &
    rgw_pid=$!
    rgw_tries=$((rgw_tries + 1))
  fi
  for pid in "${pids[@]}" "$rgw_pid"; do
    kill -0 "$pid" 2>/dev/null || { echo "start-rgw: a daemon exited; logs in $dir/log" >&2; tail -n 20 "$dir"/log/*.log >&2 || true; exit 1; }
  done
  sleep 0.2
done

access_key=STSGATEGATEWAY00001
secret_key=stsgate-rgw-gateway-secret-key-0001
radosgw-admin user create --uid=gateway --display-name=gateway \
  --access-key="$access_key" --secret-key="$secret_key" >/dev/null
radosgw-admin caps add --uid=gateway --caps='roles=*;oidc-provider=*' >/dev/null
trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/gateway"]},"Action":["sts:AssumeRole"]}]}'
radosgw-admin role create --role-name=S3Access --path=/application_abc/component_xyz/ \
  --assume-role-policy-doc="$trust" >/dev/null
radosgw-admin role-policy put --role-name=S3Access --policy-name=AllS3 \
  --policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"arn:aws:s3:::*"}]}' >/dev/null

cat >"$dir/env.tmp" <<ENV
RGW_URL=$url
RGW_ACCESS_KEY=$access_key
RGW_SECRET_KEY=$secret_key
RGW_ROLE_ARN=arn:aws:iam:::role/application_abc/component_xyz/S3Access
RGW_USER_ARN=arn:aws:iam:::user/gateway
CEPH_CONF=$conf
ENV
mv "$dir/env.tmp" "$dir/env"
pids+=("$rgw_pid")
echo "start-rgw: RGW answers on $url (ready in ${SECONDS}s)"
wait -n "${pids[@]}" || true
echo "start-rgw: a daemon stopped; logs in $dir/log" >&2
exit 1
