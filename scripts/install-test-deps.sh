#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests run for real, when they
# are missing: Ceph (a single-node RGW, scripts/start-rgw.sh), Python's boto3
# and requests (the Cray CLI's way of calling stsgate), the aws CLI, and etcd
# (under the Kubernetes API server of the workload-identity tests).
# `make test` calls it; it does nothing when all are there.
#
# Measured on 2 cores: about 1.5 minutes cold (ceph: 64 packages, ~69 MB to
# download; the clients: ~60 MB), instant when installed.
set -euo pipefail

# package:command-or-check pairs; a package is missing when its check fails.
need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_py() { /usr/bin/python3 -c "import $1" >/dev/null 2>&1; }
have_cmd make || need+=(make)
have_cmd ceph-mon || need+=(ceph-mon)
have_cmd ceph-osd || need+=(ceph-osd)
have_cmd radosgw || need+=(radosgw)
have_cmd radosgw-admin || need+=(ceph-common)
have_cmd gcc || need+=(gcc libc6-dev)
have_py boto3 || need+=(python3-boto3)
have_py requests || need+=(python3-requests)
[[ -x /usr/bin/aws ]] || need+=(awscli)
have_cmd etcd || need+=(etcd-server)

if ((${#need[@]} == 0)); then
  echo "install-test-deps: everything is installed"
  exit 0
fi
sudo=
if [[ $(id -u) != 0 ]]; then
  if have_cmd sudo; then sudo=sudo; else
    echo "install-test-deps: missing ${need[*]}; install them as root: apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
fi
echo "install-test-deps: installing ${need[*]}"
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "install-test-deps: installed in $((SECONDS - start))s"
