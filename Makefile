# Fairway — build, run and test.
#
#   make dev    install what is missing (containerd, runc), build, and run one controller
#               and one node daemon with a demo job
#   make test   the whole test suite (unit, integration with real raft/containerd/cgroups,
#               end-to-end through the real binaries)
#   make bench  benchmarks (submission throughput through HTTP into raft, FSM apply,
#               one scheduling pass at 1k/10k/100k pending jobs, fair share)

GO        ?= go
BIN       ?= bin
GOFLAGS   ?=
export CGO_CFLAGS := -Wno-deprecated-declarations
TEST_TIMEOUT ?= 12m
PKGS      ?= ./...

.PHONY: all build dev deps test unit vet lint bench clean

all: build

build:
	$(GO) build $(GOFLAGS) -o $(BIN)/fairway ./cmd/fairway
	@$(BIN)/fairway install-shims $(BIN) >/dev/null

# deps installs the system packages the daemons and tests need, when missing.
deps:
	@missing=""; \
	command -v containerd >/dev/null || missing="$$missing containerd"; \
	command -v runc >/dev/null || missing="$$missing runc"; \
	[ -x /bin/busybox ] || missing="$$missing busybox-static"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

dev: deps build
	$(BIN)/fairway dev

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

test: deps lint
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

# bench: submissions through HTTP into raft (ctld) against the raft apply path
# alone (raftstore) as the baseline measured in the same run.
bench:
	$(GO) test -run '^$$' -bench 'SubmitHTTP|SubmitApply' -benchtime 3s -count 3 ./ctld/ ./raftstore/
	$(GO) test -run '^$$' -bench 'Schedule|Array' -benchtime 3x -count 3 -benchmem ./sched/
	$(GO) test -run '^$$' -bench . -benchmem ./sched/fairshare/

clean:
	rm -rf $(BIN)
