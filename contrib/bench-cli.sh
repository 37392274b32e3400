#!/usr/bin/env bash
# bench-cli.sh: job submission through the client binary, as a script that
# calls sbatch in a loop pays it, against the HTTP API alone.
#
# It starts one controller (fairwayd ctld, bootstrapped alone on loopback,
# with a temporary data directory, no node daemon), submits JOBS held jobs
# (sbatch -H --wrap true) with PARALLEL sbatch processes of the client binary
# at a time, and prints jobs/s; then runs the HTTP API benchmark
# (BenchmarkSubmitHTTP in ./ctld: 16 concurrent Go clients, one job per
# request, into a controller in the same process) and prints its jobs/s. It
# also prints how many /bin/true processes the same xargs loop starts per
# second: the machine's ceiling for any one-process-per-job client.
#
# Usage: contrib/bench-cli.sh [BIN]   (BIN: where make build put fairwayd,
# fairway and the Slurm-named links; default bin). Run from the repository
# root. Environment: JOBS (default 1000), PARALLEL (default 16), TIMEOUT
# (seconds for the sbatch phase, default 300).
set -euo pipefail

ROOT=$(pwd)
BIN=$(cd "${1:-bin}" && pwd)
JOBS=${JOBS:-1000}
PARALLEL=${PARALLEL:-16}
TIMEOUT=${TIMEOUT:-300}

for b in fairwayd fairway sbatch; do
	[ -x "$BIN/$b" ] || { echo "bench-cli: $BIN/$b is missing (make build)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fairway-bench-cli.XXXXXX")
ctld_pid=""
munged_pid=""
cleanup() {
	if [ -n "$munged_pid" ]; then
		kill -TERM "$munged_pid" 2>/dev/null || true
		wait "$munged_pid" 2>/dev/null || true
	fi
	if [ -n "$ctld_pid" ] && kill -0 "$ctld_pid" 2>/dev/null; then
		kill -TERM "$ctld_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$ctld_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$ctld_pid" 2>/dev/null || true
		wait "$ctld_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# freeport prints a loopback TCP port nothing listens on.
freeport() {
	local p
	for _ in $(seq 50); do
		# Below the kernel's ephemeral range (32768-60999 by default), where
		# outgoing connections can hold a port that nothing listens on.
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "bench-cli: no free port found" >&2
	return 1
}
http_port=$(freeport)
raft_port=$(freeport)
while [ "$raft_port" = "$http_port" ]; do raft_port=$(freeport); done

# Users authenticate with MUNGE, as deployed: a private munged with its own
# key under $tmp (every sbatch gets a credential from it, the controller
# decodes each with it).
mkdir -p "$tmp/munge" && chmod 0755 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$tmp/munge/munge.key"
munged --foreground --force --socket="$tmp/munge/munge.sock" --key-file="$tmp/munge/munge.key" \
	--pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/munged.seed" 2>/dev/null &
munged_pid=$!
export FAIRWAY_MUNGE_SOCKET="$tmp/munge/munge.sock"

# The controller serves TLS, as deployed: every sbatch process pays its
# handshake (with a CA and certificate made by fairwayd pki).
"$BIN/fairwayd" pki init --dir "$tmp/pki" >/dev/null
"$BIN/fairwayd" pki issue --dir "$tmp/pki" --controller bench --host 127.0.0.1 >/dev/null
"$BIN/fairwayd" ctld --id bench --data-dir "$tmp/ctld" --bootstrap \
	--http-addr "127.0.0.1:$http_port" --raft-addr "127.0.0.1:$raft_port" \
	--tls-cert "$tmp/pki/controller-bench.pem" --tls-key "$tmp/pki/controller-bench-key.pem" \
	--tls-ca "$tmp/pki/ca.pem" --munge-socket "$FAIRWAY_MUNGE_SOCKET" \
	>"$tmp/ctld.log" 2>&1 &
ctld_pid=$!
export FAIRWAY_ADDR="https://127.0.0.1:$http_port" FAIRWAY_CA="$tmp/pki/ca.pem"
mkdir -p "$tmp/work"
cd "$tmp/work"

# Ready once it accepts a submission (the leader answers 503 until it has
# applied the initial configuration).
ready=""
for _ in $(seq 150); do
	if "$BIN/sbatch" -H --wrap true >/dev/null 2>&1; then ready=1; break; fi
	kill -0 "$ctld_pid" 2>/dev/null || break
	sleep 0.2
done
if [ -z "$ready" ]; then
	echo "bench-cli: the controller did not accept a job; its log:" >&2
	tail -n 30 "$tmp/ctld.log" >&2
	exit 1
fi

start=$(date +%s.%N)
seq "$JOBS" | timeout "$TIMEOUT" xargs -P "$PARALLEL" -I{} \
	"$BIN/sbatch" -H --parsable -J bench-{} --wrap true >"$tmp/ids" 2>"$tmp/errors" || {
	echo "bench-cli: some submissions failed or the run passed ${TIMEOUT}s:" >&2
	head -n 5 "$tmp/errors" >&2
	exit 1
}
end=$(date +%s.%N)
ok=$(grep -c . "$tmp/ids" || true)
if [ "$ok" -ne "$JOBS" ]; then
	echo "bench-cli: $ok of $JOBS jobs acknowledged" >&2
	exit 1
fi
cli_rate=$(awk -v n="$ok" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')
cli_secs=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
held=$("$BIN/squeue" -h -t PENDING -o %i | wc -l)
printf 'sbatch (client binary): %d held jobs, %d parallel processes, %ss: %s jobs/s (%d pending in squeue)\n' \
	"$ok" "$PARALLEL" "$cli_secs" "$cli_rate" "$held"

start=$(date +%s.%N)
seq "$JOBS" | timeout "$TIMEOUT" xargs -P "$PARALLEL" -I{} true
end=$(date +%s.%N)
true_rate=$(awk -v n="$JOBS" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')
printf 'ceiling: /bin/true through the same loop: %s processes/s\n' "$true_rate"

# Stop the controller before the comparison, so that both runs have the
# machine to themselves.
kill -TERM "$ctld_pid" 2>/dev/null || true
wait "$ctld_pid" 2>/dev/null || true
ctld_pid=""

cd "$ROOT"
unset FAIRWAY_ADDR FAIRWAY_CA FAIRWAY_MUNGE_SOCKET
bench=$(timeout "$TIMEOUT" go test -count=1 -run '^$' -bench 'SubmitHTTP' ./ctld/ 2>&1) || {
	echo "bench-cli: go test -bench SubmitHTTP ./ctld/ failed:" >&2
	echo "$bench" >&2
	exit 1
}
api_rate=$(echo "$bench" | awk '/^BenchmarkSubmitHTTP\/tls\+munge/ { for (i = 1; i < NF; i++) if ($(i+1) == "jobs/s") print $i }' | tail -n 1)
printf 'HTTP API with TLS and MUNGE, as sbatch above (16 Go clients, BenchmarkSubmitHTTP/tls+munge): %s jobs/s\n' "${api_rate:-?}"
echo "$bench" | grep '^BenchmarkSubmitHTTP' || true
