# Fairway — build, run and test.
#
#   make dev    install what is missing (containerd, runc, munge), build, and run one controller
#               and one node daemon with a demo job
#   make test   the whole test suite (unit, integration with real raft/containerd/cgroups,
#               end-to-end through the real binaries)
#   make bench  benchmarks (submission throughput through HTTP into raft, FSM apply,
#               one scheduling pass at 1k/10k/100k pending jobs, fair share)
#   make bench-cli  submissions through 16 parallel sbatch processes of the client
#               binary against the HTTP API alone
#   make bench-list  squeue/sacct at 20,000 and 200,000 jobs, memory per job, snapshots, and
#               the real binaries: one ctld restarted on a snapshot of each size, squeue and
#               sacct timed (scale-report/lists.md)
#   make bench-submit  CPU and allocations per submission on three in-process controllers
#   make bench-scale  the scale harness, reduced: 3 controllers on loopback, 500 simulated
#               node daemons in one process, 20,000 jobs at 200/s (cmd/fairway-scale,
#               docs/scale.md); report in scale-report/
#   make ha     the HA fault run: 60 s of submissions through three controllers in network
#               namespaces while the leader is killed, frozen or cut off (cmd/hatest)
#   make cluster  3 controllers and 4 node daemons on this machine, one network namespace
#               each, installed as docs/deploy.md says (contrib/cluster.sh; make cluster-down)
#   make fuzz   every fuzz target (func FuzzX in a _test.go file) for FUZZTIME each,
#               one after the other (make fuzz FUZZTIME=5m FUZZ=FuzzExpand for one)
#
# Binaries: bin/fairway, the static client (sbatch, squeue, ... by argv[0]; also the
# tools binary the node daemon mounts into container jobs), bin/fairwayd, the daemons
# (ctld, noded, dev; cgo for NVML), and bin/fairway-sim, the simulator (make sim).

GO        ?= go
BIN       ?= bin
GOFLAGS   ?=
export CGO_CFLAGS := -Wno-deprecated-declarations
TEST_TIMEOUT ?= 12m
PKGS      ?= ./...

.PHONY: all build sim dev deps test-deps test unit vet lint bench bench-cli bench-list bench-submit bench-scale fuzz clean ha cluster cluster-down

all: build

# CLIENT_TAGS leave urfave/cli's man-page generator and command suggestions out of the
# client (their package initialization is a good part of its start-up time).
CLIENT_TAGS ?= urfave_cli_no_docs,urfave_cli_no_suggest

# build: the static client (fairway, with its Slurm-named links beside it) and the
# daemons (fairwayd). The node daemon mounts the client found beside fairwayd into
# container jobs (scontrol, srun, fairway checkpoint done).
build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS) -tags $(CLIENT_TAGS) -trimpath -ldflags='-s -w' -o $(BIN)/fairway ./cmd/fairway
	$(GO) build $(GOFLAGS) -o $(BIN)/fairwayd ./cmd/fairwayd
	@$(BIN)/fairway install-shims $(BIN) >/dev/null

# sim: the simulator (fairway-sim), its own binary: only it links the chart library.
sim:
	$(GO) build $(GOFLAGS) -o $(BIN)/fairway-sim ./cmd/fairway-sim

# deps installs the system packages the daemons and tests need, when missing.
deps:
	@missing=""; \
	command -v containerd >/dev/null || missing="$$missing containerd"; \
	command -v runc >/dev/null || missing="$$missing runc"; \
	[ -x /bin/busybox ] || missing="$$missing busybox-static"; \
	command -v munged >/dev/null || missing="$$missing munge"; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	command -v iptables >/dev/null || missing="$$missing iptables"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v jq >/dev/null || missing="$$missing jq"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# test-deps: what only the tests need: Prometheus (promtool and the live alert test) and
# Chromium (the dashboard tests).
test-deps: deps
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v chromium >/dev/null || missing="$$missing chromium fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

dev: deps build
	$(BIN)/fairwayd dev

# vet and lint also cover the end-to-end tests (build tag e2e).
vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags e2e $(PKGS)

# test: everything, the end-to-end tests (cmd/e2e, tag e2e) included.
test: test-deps lint
	$(GO) test -tags e2e -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

# unit: the tests without the end-to-end ones.
unit:
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

# bench: submissions through HTTP into raft (ctld) against the raft apply path
# alone (raftstore) as the baseline measured in the same run.
bench:
	$(GO) test -run '^$$' -bench 'SubmitHTTP|SubmitApply' -benchtime 3s -count 3 ./ctld/ ./raftstore/
	$(GO) test -run '^$$' -bench 'Schedule|Array' -benchtime 3x -count 3 -benchmem ./sched/
	$(GO) test -run '^$$' -bench . -benchmem ./sched/fairshare/

# bench-cli: 1,000 held jobs through 16 parallel sbatch processes of the client binary
# into one controller on loopback, then the HTTP API benchmark for comparison.
bench-cli: build
	contrib/bench-cli.sh $(BIN)

# bench-list: squeue/sacct with 20,000 and 200,000 jobs (the whole command and the
# controller's part), bytes per pending and finished job, snapshot size, write and restore,
# and a controller's restart until it serves reads with 0, 20,000 and 200,000 jobs; then the
# real binaries: fairwayd ctld started on a snapshot of 20,000 and 200,000 jobs, killed -9 and
# restarted, and bin/fairway's squeue and sacct timed (fairway-scale -mode lists).
bench-list: build
	$(GO) test ./ctld -run '^$$' -bench BenchmarkListJobs -benchmem -count 5
	$(GO) test ./raftstore -run '^$$' -bench 'BenchmarkJobMemory|BenchmarkSnapshot200k' -count 3
	$(GO) test ./raftstore -run '^$$' -bench BenchmarkRestart -benchtime 2x
	$(GO) build $(GOFLAGS) -o $(BIN)/fairway-scale ./cmd/fairway-scale
	$(BIN)/fairway-scale -fairwayd $(BIN)/fairwayd -fairway $(BIN)/fairway -mode lists -list-jobs 20000,200000 \
	  -list-runs 5 -out scale-report
	@cat scale-report/lists.md

# bench-submit: CPU per submission through the whole HTTP path on three in-process
# controllers, and through raft and the state machine alone (1 and 16 jobs a command).
bench-submit:
	$(GO) test ./ctld -run '^$$' -bench BenchmarkSubmitCluster -benchtime 3000x -count 6
	$(GO) test ./raftstore -run '^$$' -bench 'BenchmarkSubmitReplicated|BenchmarkSubmitApply' -benchtime 2000x -count 6

# bench-scale: the scale harness, reduced (500 simulated nodes, 20,000 jobs at 200/s,
# 3 controllers on loopback; about 4 minutes on 2 cores); report in scale-report/.
bench-scale: build
	$(GO) build $(GOFLAGS) -o $(BIN)/fairway-scale ./cmd/fairway-scale
	$(BIN)/fairway-scale -fairwayd $(BIN)/fairwayd -fairway $(BIN)/fairway -nodes 500 -jobs 20000 -rate 200 \
	  -mean-runtime 10s -max-runtime 60s -drain 90s -max-run 5m -out scale-report
	@cat scale-report/report.md

# fuzz: each fuzz target for FUZZTIME, one after the other; the packages are
# those with a func Fuzz... in a test file, the targets what go test -list finds
# there (FUZZ narrows them by a regexp, FUZZFLAGS adds flags such as -parallel 1).
# It goes on after a failure and fails at the end. A failing input is written to
# the package's testdata/fuzz/FuzzX/: commit it with the fix, since plain go test
# (make test, make unit) runs those files and the f.Add seeds as regression tests.
FUZZTIME  ?= 30s
FUZZ      ?= .
FUZZFLAGS ?=
fuzz:
	@failed=""; \
	for dir in $$(git grep --untracked -l '^func Fuzz' -- '*_test.go' | xargs -n1 dirname | sort -u); do \
		for t in $$($(GO) test -list '^Fuzz' ./$$dir | grep '^Fuzz' | grep -E -e '$(FUZZ)'); do \
			echo "== ./$$dir $$t for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./$$dir || failed="$$failed ./$$dir:$$t"; \
		done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz failures:$$failed"; exit 1; fi

clean:
	rm -rf $(BIN)

# sim-tables: the simulator's results in the README ("Simulator results"):
# the RLScheduler (SC'20) table on Lublin-1, full-trace replays of three SWF
# logs with four policies, and the Philly-derived GPU study; run outputs go
# to $(SIMOUT), charts to docs/sim/. TRACES is the shared trace folder.
TRACES ?= ../shared/traces
SIMOUT ?= $(BIN)/sim
SWF_TRACES = KTH-SP2.predictsim-filtered SDSC-SP2-1998.first4961 HPC2N-2002.alea-subset
PHILLY = --trace $(TRACES)/gpu/chronus-philly-derived-MIX1.csv --vc-nodes $(TRACES)/gpu/philly-vc-nodes.csv --load 0.85

.PHONY: sim-tables
sim-tables: sim
	$(BIN)/fairway-sim rlscheduler sched/sim/testdata/lublin_256.swf
	@for t in $(SWF_TRACES); do \
		for p in fcfs easy conservative fairway; do \
			$(BIN)/fairway-sim --trace $(TRACES)/$$t.swf --policy $$p --no-charts --out $(SIMOUT)/$$t/$$p >/dev/null || exit 1; \
		done; \
		$(BIN)/fairway-sim compare --markdown $(SIMOUT)/$$t/fcfs $(SIMOUT)/$$t/easy $(SIMOUT)/$$t/conservative $(SIMOUT)/$$t/fairway; \
	done
	$(BIN)/fairway-sim compare --charts docs/sim/kth $(SIMOUT)/KTH-SP2.predictsim-filtered/fcfs $(SIMOUT)/KTH-SP2.predictsim-filtered/easy \
		$(SIMOUT)/KTH-SP2.predictsim-filtered/conservative $(SIMOUT)/KTH-SP2.predictsim-filtered/fairway >/dev/null
	$(BIN)/fairway-sim $(PHILLY) --policy static --out $(SIMOUT)/philly/static >/dev/null
	$(BIN)/fairway-sim $(PHILLY) --policy fcfs --out $(SIMOUT)/philly/fifo >/dev/null
	$(BIN)/fairway-sim $(PHILLY) --policy easy --out $(SIMOUT)/philly/fifo-easy >/dev/null
	$(BIN)/fairway-sim $(PHILLY) --policy fairway --checkpoint-secs -1 --out $(SIMOUT)/philly/fairway >/dev/null
	$(BIN)/fairway-sim $(PHILLY) --policy fairway --checkpoint-secs 0 --out $(SIMOUT)/philly/fairway-no-checkpoint >/dev/null
	$(BIN)/fairway-sim compare --markdown $(SIMOUT)/philly/static $(SIMOUT)/philly/fifo $(SIMOUT)/philly/fifo-easy \
		$(SIMOUT)/philly/fairway $(SIMOUT)/philly/fairway-no-checkpoint
	$(BIN)/fairway-sim compare --charts docs/sim/philly $(SIMOUT)/philly/static $(SIMOUT)/philly/fifo $(SIMOUT)/philly/fifo-easy \
		$(SIMOUT)/philly/fairway >/dev/null
	cp $(SIMOUT)/philly/fairway/accounts.png docs/sim/philly/fairway-accounts.png
	cp $(SIMOUT)/philly/static/accounts.png docs/sim/philly/static-accounts.png

# ha: the full HA fault run (60 s of load at the highest rate this machine takes;
# figures in ha-report.json) and the fencing test.
ha: deps
	FAIRWAY_HA_SECS=60 FAIRWAY_HA_RATE=1000 FAIRWAY_HA_REPORT=$(CURDIR)/ha-report.json \
		$(GO) test -tags e2e -count=1 -v -timeout 10m -run 'TestLeaderFaultsUnderLoad|TestRestartedControllerNeverShowsThePast|TestFencing' ./cmd/hatest/

# cluster: 3 controllers and 4 node daemons on this machine, each in its own network
# namespace, installed as docs/deploy.md says (contrib/cluster.sh; root).
cluster: deps build
	contrib/cluster.sh up
cluster-down:
	contrib/cluster.sh down
