# stsgate: the STS Token API inside Caddy and Traefik.
#   make run    a gateway answering /apis/sts/token on a local demo stack
#   make test   every test: core (compiled and interpreted), Caddy, Traefik,
#               MinIO, Ceph RGW, Ory Hydra, a Kubernetes API server, boto3
#               and the aws CLI
#   make bench  side-by-side load run, written to BENCHMARKS.md
#   make build  bin/caddy with the sts_token module

SHELL := /usr/bin/env bash
ROOT  := $(abspath .)
CACHE := $(ROOT)/.cache/bin

# Real binaries the end-to-end tests drive; make test builds each once.
export STSGATE_CADDY    := $(ROOT)/bin/caddy
export STSGATE_TRAEFIK  := $(CACHE)/traefik
export STSGATE_MINIO    := $(CACHE)/minio
export STSGATE_HYDRA    := $(CACHE)/hydra
export STSGATE_XCADDY   := $(CACHE)/xcaddy
export STSGATE_KUBE_APISERVER := $(CACHE)/kube-apiserver
export STSGATE_REQUIRE_BINARIES := 1

# go.work ties the modules together for editors and ad-hoc builds; make
# builds and tests each module with exactly its own go.mod, as xcaddy and
# Traefik users get it.
export GOWORK := off

GO_TEST_FLAGS ?= -count=1

.PHONY: all build run test test-core test-caddy test-e2e bench traefik minio hydra xcaddy kube-apiserver deps vendor-check fmt-check clean

all: build

build:
	cd caddymodule && go build -o $(ROOT)/bin/caddy ./cmd/caddy

traefik:
	scripts/build-traefik.sh

minio:
	scripts/build-minio.sh

hydra:
	scripts/build-hydra.sh

kube-apiserver:
	scripts/build-kube-apiserver.sh

# The pinned xcaddy (tools/xcaddy), for the README test's xcaddy build,
# which runs with module look-ups off (see e2e/readme_test.go): the Caddy
# module's whole module graph is downloaded here first.
xcaddy:
	cd tools/xcaddy && go build -o $(CACHE)/xcaddy github.com/caddyserver/xcaddy/cmd/xcaddy
	cd caddymodule && go mod download

# Debian packages the end-to-end tests run: Ceph (RGW), boto3, the aws CLI.
deps:
	scripts/install-test-deps.sh

run:
	scripts/run-demo.sh

test: fmt-check vendor-check deps test-core build traefik minio hydra xcaddy kube-apiserver test-caddy test-e2e

fmt-check:
	@unformatted=$$(gofmt -l core internal traefikplugin caddymodule e2e scripts 2>/dev/null); \
	if [[ -n "$$unformatted" ]]; then echo "gofmt needed: $$unformatted"; exit 1; fi

# Traefik resolves the plugin's imports from vendor/: it must match go.mod.
vendor-check:
	go build -mod=vendor ./core/ ./traefikplugin/

test-core:
	go vet ./...
	go test $(GO_TEST_FLAGS) -race ./...

test-caddy:
	cd caddymodule && go vet ./... && go test $(GO_TEST_FLAGS) -timeout 30m ./...

# The load run (make bench) builds only with the stsbench tag: vet it, and
# run its own tests, so that it keeps working.
test-e2e:
	cd e2e && go vet ./... && go vet -tags stsbench . && go test $(GO_TEST_FLAGS) -timeout 40m ./...
	cd e2e && go test $(GO_TEST_FLAGS) -tags stsbench -run '^TestRawCall' .

bench: build traefik minio
	BENCH_OUT=BENCHMARKS.md scripts/bench.sh

clean:
	rm -rf bin .cache/demo
