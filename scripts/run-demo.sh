#!/usr/bin/env bash
# make run: a gateway answering PUT /apis/sts/token on a local demo stack.
#
# Builds bin/caddy (with the sts_token module) and the dev tool
# .cache/bin/stsdev; starts the STS and S3 backend on 127.0.0.1 with the
# gateway's own keys: the pinned MinIO (STS=minio, the default) or a
# single-node Ceph RGW (STS=rgw, scripts/start-rgw.sh, the backend of HPE
# Cray EX); makes a signing key and JWKS with stsdev; starts
# `bin/caddy run --config Caddyfile.example --adapter caddyfile` on
# 127.0.0.1 with the environment Caddyfile.example reads; waits until it is
# healthy and prints ready-to-paste commands. Ctrl-C stops everything it
# started and exits 0.
#
#   scripts/run-demo.sh            run until Ctrl-C
#   scripts/run-demo.sh --check    run the printed commands once, then stop
#
# STS=minio|rgw picks the backend; GATEWAY=caddy|traefik the gateway (the
# real Traefik loads the plugin from this checkout as a local plugin, with
# the same settings Caddyfile.example reads); STSGATE_DEMO_PORT the
# gateway's port (default: 8080 when free); STSGATE_DEMO_CADDYFILE another
# Caddyfile (default: Caddyfile.example).
set -euo pipefail

# On a terminal, Ctrl-C reaches every process of the foreground group: make
# too, which then reports the demo as interrupted (status 130) however
# cleanly it stopped. So the demo runs as a foreground job of its own (job
# control on), and only it gets Ctrl-C.
if [[ -t 0 && -z "${STSGATE_DEMO_JOB:-}" ]]; then
  set -m
  STSGATE_DEMO_JOB=1 bash "$0" "$@"
  exit $?
fi

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
check=0
[[ "${1:-}" == "--check" ]] && check=1

demo=$root/.cache/demo
bindir=$root/.cache/bin
stsdev=$bindir/stsdev
mkdir -p "$demo" "$bindir"

# One demo at a time: a second would wipe the first's MinIO data under it.
exec 9>"$demo/.lock"
if ! flock -n 9; then
  echo "demo: another make run is using $demo (pid $(cat "$demo/.pid" 2>/dev/null || echo unknown)); stop it (Ctrl-C) before starting another" >&2
  exit 1
fi
echo $$ >"$demo/.pid"
# Secrets the demo writes (credentials, the SDK's token file) live here,
# readable by this user only.
private=$demo/private
mkdir -p "$private"
chmod 700 "$private"

sts=${STS:-minio}
case "$sts" in
  minio|rgw) ;;
  *) echo "demo: STS=$sts: pick minio or rgw" >&2; exit 2 ;;
esac
gateway=${GATEWAY:-caddy}
case "$gateway" in
  caddy|traefik) ;;
  *) echo "demo: GATEWAY=$gateway: pick caddy or traefik" >&2; exit 2 ;;
esac

pids=()
stopped=0
cleanup() {
  local status=$?
  trap - INT TERM EXIT
  ((stopped)) && status=0
  if ((${#pids[@]})); then
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  fi
  rm -rf "$demo/minio-data"
  ((stopped)) && echo "demo: stopped; goodbye"
  exit "$status"
}
# Ctrl-C is how the demo is meant to end: a clean stop, exit status 0.
trap 'stopped=1; echo; cleanup' INT TERM
trap cleanup EXIT

step() { printf '\033[1m== %s\033[0m\n' "$*"; }

# shellcheck source=ports.sh
source "$root/scripts/ports.sh"

# wait_http URL SECONDS [CURL ARGS...]: until URL answers 2xx.
wait_http() {
  local url=$1 limit=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until curl -fsS -o /dev/null "$@" "$url" 2>/dev/null; do
    if ((SECONDS > deadline)); then
      echo "demo: $url did not answer within ${limit}s" >&2
      return 1
    fi
    sleep 0.2
  done
}

if [[ "$gateway" == caddy ]]; then
  step "building bin/caddy and stsdev (the first run compiles Caddy: minutes, then seconds)"
  (cd caddymodule && go build -o ../bin/caddy ./cmd/caddy)
else
  step "building stsdev"
fi
(cd e2e && go build -o "$stsdev" ./cmd/stsdev)

if [[ "$sts" == minio ]]; then
  step "building MinIO (the first run: minutes, then instant)"
  scripts/build-minio.sh
  step "starting MinIO"
  minio_port=$(free_port)
  console_port=$(free_port)
  s3_url=http://127.0.0.1:$minio_port
  export MINIO_ROOT_USER=stsgate-demo-root
  export MINIO_ROOT_PASSWORD=stsgate-demo-root-password
  rm -rf "$demo/minio-data"
  mkdir -p "$demo/minio-data" "$demo/minio-certs"
  MINIO_BROWSER=off MINIO_UPDATE=off "$bindir/minio" server "$demo/minio-data" \
    --address "127.0.0.1:$minio_port" --console-address "127.0.0.1:$console_port" \
    --certs-dir "$demo/minio-certs" --quiet >"$demo/minio.log" 2>&1 &
  pids+=($!)
  wait_http "$s3_url/minio/health/live" 60

  # The gateway's own keys: a MinIO user with the readwrite policy. The
  # temporary credentials it hands out can do what this user can, narrowed
  # by the session policy when one is configured.
  gateway_user=stsgate-demo-gateway
  gateway_secret=stsgate-demo-gateway-secret
  "$stsdev" minio-setup -endpoint "$s3_url" -user "$gateway_user" -secret "$gateway_secret" -policy readwrite
  role_arn=arn:minio:iam:::role/stsgate-demo # MinIO ignores it
  backend="MinIO (S3 and STS; root user $MINIO_ROOT_USER)"
else
  scripts/install-test-deps.sh
  step "starting Ceph RGW (a single-node cluster on 127.0.0.1, about 15 s)"
  rm -f "$demo/rgw/env"
  scripts/start-rgw.sh "$demo/rgw" >"$demo/rgw.log" 2>&1 &
  pids+=($!)
  deadline=$((SECONDS + 150))
  until [[ -f "$demo/rgw/env" ]]; do
    if ((SECONDS > deadline)) || ! kill -0 "${pids[-1]}" 2>/dev/null; then
      echo "demo: RGW did not start; see $demo/rgw.log" >&2
      tail -n 20 "$demo/rgw.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  # shellcheck disable=SC1091
  source "$demo/rgw/env"
  s3_url=$RGW_URL
  gateway_user=$RGW_ACCESS_KEY
  gateway_secret=$RGW_SECRET_KEY
  role_arn=$RGW_ROLE_ARN
  backend="Ceph RGW (S3 and STS; role $RGW_ROLE_ARN)"
fi

step "signing key and JWKS"
"$stsdev" keys -dir "$demo/keys"

# What Caddyfile.example reads from the environment.
issuer=http://stsgate.demo
audience=stsgate-demo
gateway_port=$(free_port "${STSGATE_DEMO_PORT:-8080}")
gateway_url=http://127.0.0.1:$gateway_port
export STSGATE_BIND=127.0.0.1
export STSGATE_PORT=$gateway_port
export STSGATE_ADMIN=127.0.0.1:$(free_port)
export S3_URL=$s3_url
export STS_ENDPOINT=$s3_url
export STS_REGION=us-east-1
export STS_ROLE_ARN=$role_arn
export STS_ACCESS_KEY=$gateway_user
export STS_SECRET_KEY=$gateway_secret
export OIDC_ISSUER=$issuer
export OIDC_JWKS_FILE=$demo/keys/jwks.json
export OIDC_AUDIENCE=$audience

if [[ "$gateway" == caddy ]]; then
  caddyfile=${STSGATE_DEMO_CADDYFILE:-Caddyfile.example}
  gateway_name="Caddy with $caddyfile"
  step "starting Caddy with $caddyfile"
  # Caddy's own state (autosave.json, certificates) stays under .cache/demo.
  XDG_DATA_HOME=$demo/caddy-data XDG_CONFIG_HOME=$demo/caddy-config \
    "$root/bin/caddy" run --config "$caddyfile" --adapter caddyfile >"$demo/gateway.log" 2>&1 &
  pids+=($!)
else
  step "building Traefik (the first run: minutes, then instant)"
  scripts/build-traefik.sh
  gateway_name="Traefik with the plugin from this checkout"
  step "starting Traefik"
  tdir=$demo/traefik
  plugin=$tdir/plugins-local/src/github.com/stsgate/stsgate
  rm -rf "$tdir"
  mkdir -p "$plugin"
  # What Traefik interprets: the manifest, the module and its vendor/.
  cp -r .traefik.yml go.mod go.sum core traefikplugin vendor "$plugin/"
  cat >"$tdir/traefik.yml" <<YAML
global: {checkNewVersion: false, sendAnonymousUsage: false}
entryPoints:
  web: {address: "127.0.0.1:$gateway_port"}
providers:
  file: {filename: dynamic.yml}
experimental:
  localPlugins:
    stsgate: {moduleName: github.com/stsgate/stsgate}
log: {level: INFO, noColor: true}
YAML
  cat >"$tdir/dynamic.yml" <<YAML
http:
  routers:
    sts:
      entryPoints: [web]
      rule: "PathPrefix(\`/apis/sts\`)"
      middlewares: [sts]
      service: noop@internal
  middlewares:
    sts:
      plugin:
        stsgate:
          endpointURL: "$S3_URL"
          stsEndpoint: "$STS_ENDPOINT"
          region: "$STS_REGION"
          roleArn: "$STS_ROLE_ARN"
          accessKey: "$STS_ACCESS_KEY"
          secretKey: "$STS_SECRET_KEY"
          containerCredentials: true
          jwt:
            issuer: "$OIDC_ISSUER"
            jwksFile: "$OIDC_JWKS_FILE"
            audience: "$OIDC_AUDIENCE"
YAML
  (cd "$tdir" && exec "$bindir/traefik" --configFile=traefik.yml) >"$demo/gateway.log" 2>&1 &
  pids+=($!)
fi

# aws_reads_token_file: the aws CLI on PATH reads
# AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (it came with EKS Pod Identity).
aws_reads_token_file() {
  local v
  v=$(aws --version 2>&1) || return 1
  [[ "$v" =~ aws-cli/2\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 15)) && return 0
  [[ "$v" =~ botocore/1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 34)) && return 0
  return 1
}

mint() { "$stsdev" token -dir "$demo/keys" -sub "${1:-jane}" -aud "$audience" -iss "$issuer" -ttl 1h; }
token=$(mint jane)
if ! wait_http "$gateway_url/apis/sts/healthz" 60 -H "Authorization: Bearer $token"; then
  echo "--- gateway.log" >&2
  tail -n 30 "$demo/gateway.log" >&2
  exit 1
fi

creds=$private/creds.json
token_file=$private/authorization
(umask 077 && printf '%s' "$token" >"$token_file")
put_cmd="curl -sS -X PUT $gateway_url/apis/sts/token -H \"Authorization: Bearer $token\""
get_creds="$put_cmd | (umask 077 && tee $creds)"
use_creds="$stsdev s3 -creds $creds put demo/hello.txt"
sdk_env="AWS_CONTAINER_CREDENTIALS_FULL_URI=$gateway_url/apis/sts/credentials AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$token_file AWS_ENDPOINT_URL_S3=$s3_url AWS_DEFAULT_REGION=us-east-1"
sdk_cmd="env $sdk_env aws s3 ls"
cat <<EOF

stsgate demo is up (logs in .cache/demo/*.log)

  gateway   $gateway_url   ($gateway_name, on 127.0.0.1 only)
  token     PUT $gateway_url/apis/sts/token
  backend   $s3_url   $backend

Get temporary S3 credentials for "jane" (the bearer token is valid for 1h):

$get_creds

Use them (the bucket is created if needed):

$use_creds

Or both in one go:

$put_cmd | $stsdev s3 -creds - put demo/hello.txt

Or let an AWS SDK (the aws CLI v2.15+ or on botocore 1.34+, boto3, Go) fetch and refresh
them itself from GET /apis/sts/credentials, with the token file (the raw token, mode 0600)
the demo wrote:

$sdk_cmd

A token for someone else:

$stsdev token -dir $demo/keys -sub bob -aud $audience -iss $issuer

Ctrl-C stops everything.
EOF

if ((check)); then
  step "--check: running the printed commands"
  eval "$get_creds"
  echo
  eval "$use_creds"
  eval "$put_cmd | $stsdev s3 -creds - ls demo"
  echo
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: $(cat "$token_file")" "$gateway_url/apis/sts/credentials")
  [[ "$code" == 200 ]] || { echo "demo: GET /apis/sts/credentials with the token file answered $code" >&2; exit 1; }
  echo "GET /apis/sts/credentials: 200"
  # Only an aws CLI that reads AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (v1
  # on botocore 1.34+, v2.15+; Debian 12's is older) can run the SDK line.
  if aws_reads_token_file; then eval "$sdk_cmd"; else echo "(no aws CLI that reads AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: SDK line skipped)"; fi
  for f in "$creds" "$token_file"; do
    [[ "$(stat -c %a "$f")" == 600 ]] || { echo "demo: $f is not mode 0600" >&2; exit 1; }
  done
  step "--check: ok"
  exit 0
fi

wait -n "${pids[@]}" || true
# On Ctrl-C the processes stop with the script; give its trap the word.
sleep 0.5
echo "demo: a process stopped by itself; see .cache/demo/*.log" >&2
exit 1
