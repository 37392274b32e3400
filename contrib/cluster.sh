#!/usr/bin/env bash
# contrib/cluster.sh up|down|status|kill-leader
#
# A whole Fairway cluster on this one machine, as docs/deploy.md installs it on
# many: 3 controllers and 4 node daemons, each "host" a network namespace with
# its own address on a bridge this script creates, its own munged (the cluster's
# munge key copied to it), its own /etc/fairway (config templated from
# contrib/systemd/*.toml, certificates from `fairwayd pki`) and state directory.
# The daemons run the ExecStart line of contrib/systemd/fairway-*.service, read
# from the unit files, with the host's directories for /etc/fairway: the
# documented path is the tested path. The steps follow docs/deploy.md in order:
# PKI, munge key, JWT key, configuration, first controller, the two others
# joining, nodes.
#
#   up           build (make build) if bin/ has no binaries, start everything, wait
#                until 3 controllers agree on a leader and 4 nodes are up; print the
#                export line for the client
#   down         kill every process it started (and the jobs in its namespaces),
#                remove the namespaces, veths, bridge and job cgroups; keep nothing
#                running (the state directory stays for its logs; --purge removes it)
#   status       processes, each controller's view of the leader, the nodes
#   kill-leader  SIGKILL the controller that is the raft leader
#
# Root only; needs iproute2, munge (munged, mungekey), curl and jq. Jobs run as host
# processes (containerd is optional; containers share the root namespace's network).
#
# Environment:
#   FAIRWAY_CLUSTER_DIR     state (default /tmp/fairway-cluster)
#   FAIRWAY_CLUSTER_SUBNET  the first three octets of a private /24 this machine does
#                           not use (default 10.237.7)
#   FAIRWAY_BIN             directory holding fairwayd and fairway (default bin/)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${FAIRWAY_CLUSTER_DIR:-/tmp/fairway-cluster}
NET=${FAIRWAY_CLUSTER_SUBNET:-10.237.7}
BIN=${FAIRWAY_BIN:-$ROOT/bin}
SYSTEMD=$ROOT/contrib/systemd
BRIDGE=fwcbr0
NS_PREFIX=fwc-
VETH_PREFIX=fwcv-
HTTP_PORT=6817
RAFT_PORT=6818
NODE_PORT=6819
CONTROLLERS=(ctl1 ctl2 ctl3)
NODES=(node1 node2 node3 node4)
declare -A ADDR=([ctl1]=$NET.11 [ctl2]=$NET.12 [ctl3]=$NET.13 [node1]=$NET.21 [node2]=$NET.22 [node3]=$NET.23 [node4]=$NET.24)
BRIDGE_ADDR=$NET.1

log() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

controller_urls() {
	local urls=() c
	for c in "${CONTROLLERS[@]}"; do urls+=("https://${ADDR[$c]}:$HTTP_PORT"); done
	(IFS=,; echo "${urls[*]}")
}

# curl_admin PATH URL-BASE: GET an API path with the administrator's certificate.
curl_admin() {
	curl -sf --max-time 3 --cacert "$DIR/pki/ca.pem" \
		--cert "$DIR/pki/admin-admin.pem" --key "$DIR/pki/admin-admin-key.pem" "$2$1"
}

# set_key FILE KEY VALUE: set a TOML key of a config file copied from
# contrib/systemd, uncommenting it when the example has it commented out.
set_key() {
	local file=$1 key=$2 value=$3
	grep -Eq "^#? ?$key = " "$file" || die "$file: no key $key in the example"
	sed -i -E "s|^#? ?$key = .*|$key = $value|" "$file"
}

# template EXAMPLE HOST: the example config with the host's directories for
# /etc/fairway, /var/lib/fairway and the munge socket.
template() {
	local h=$DIR/hosts/$2
	sed -e "s|/etc/fairway/|$h/etc/|g" -e "s|/var/lib/fairway/|$h/var/|g" \
		-e "s|/run/munge/munge.socket.2|$h/munge/munge.sock|g" "$SYSTEMD/$1"
}

# exec_start UNIT HOST: the unit's ExecStart with this cluster's binary and the
# host's /etc/fairway.
exec_start() {
	local line
	line=$(sed -n 's/^ExecStart=//p' "$SYSTEMD/$1")
	[ -n "$line" ] || die "$1: no ExecStart"
	line=${line//\/usr\/local\/bin\/fairwayd/$BIN/fairwayd}
	echo "${line//\/etc\/fairway\//$DIR/hosts/$2/etc/}"
}

# start HOST NAME CMD...: run CMD in HOST's namespace (or the root namespace for
# HOST "-"), in the background, logging to HOST's NAME.log; record its pid.
start() {
	local host=$1 name=$2
	shift 2
	local logdir=$DIR/hosts/$host
	[ "$host" = - ] && logdir=$DIR/client
	mkdir -p "$logdir" "$DIR/pids"
	if [ "$host" = - ]; then
		setsid "$@" >"$logdir/$name.log" 2>&1 </dev/null &
	else
		# nsenter, not `ip netns exec`: that one also remounts /sys in a new mount
		# namespace, which hides the cgroup file system the node daemon needs.
		setsid nsenter --net="/run/netns/$NS_PREFIX$host" -- "$@" >"$logdir/$name.log" 2>&1 </dev/null &
	fi
	local tag=$host
	[ "$host" = - ] && tag=client
	echo $! >"$DIR/pids/$tag-$name.pid"
}

# wait_for SECONDS WHAT CMD...: retry CMD every 0.5 s.
wait_for() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 2; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	die "timed out after ${secs}s waiting for $what (logs under $DIR/hosts)"
}

leader_of() { curl_admin /v1/status "https://${ADDR[$1]}:$HTTP_PORT" | jq -er 'select(.leader_id != "") | .leader_id'; }
is_leader() { curl_admin /v1/status "https://${ADDR[$1]}:$HTTP_PORT" | jq -e '.leader == true'; }
nodes_up() {
	curl_admin /v1/nodes "https://${ADDR[ctl1]}:$HTTP_PORT" |
		jq -e --argjson n "${#NODES[@]}" '[.nodes[] | select(.state != "DOWN" and .state != "UNKNOWN")] | length == $n'
}

start_munged() {
	local host=$1 d
	if [ "$host" = - ]; then d=$DIR/client/munge; else d=$DIR/hosts/$host/munge; fi
	mkdir -p "$d"
	install -m 0400 "$DIR/munge.key" "$d/munge.key"
	start "$host" munged "$(command -v munged || echo /usr/sbin/munged)" --foreground --force \
		--socket="$d/munge.sock" --key-file="$d/munge.key" --pid-file="$d/munged.pid" \
		--log-file="$d/munged.log" --seed-file="$d/munged.seed"
}

up() {
	[ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
	for tool in ip nsenter curl jq mungekey; do
		command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || die "$tool not found (apt-get install iproute2 curl jq munge)"
	done
	ip link show "$BRIDGE" >/dev/null 2>&1 && die "bridge $BRIDGE exists: the cluster is up (contrib/cluster.sh down first)"
	if ip -4 addr show | grep -q "inet $NET\."; then die "$NET.0/24 is in use on this machine: set FAIRWAY_CLUSTER_SUBNET"; fi
	if ip -4 route show | grep -q "^$NET\."; then die "$NET.0/24 is routed on this machine: set FAIRWAY_CLUSTER_SUBNET"; fi
	if [ ! -x "$BIN/fairwayd" ] || [ ! -x "$BIN/fairway" ]; then
		log "building (make build)"
		make -C "$ROOT" build >/dev/null
	fi
	if [ -e "$DIR" ] && [ ! -e "$DIR/.fairway-cluster" ] && [ -n "$(ls -A "$DIR")" ]; then
		die "$DIR exists and is not a cluster directory: set FAIRWAY_CLUSTER_DIR"
	fi
	rm -rf "$DIR"
	mkdir -p "$DIR/hosts" "$DIR/client" "$DIR/pids"
	touch "$DIR/.fairway-cluster"
	echo "$BRIDGE" >"$DIR/bridge"

	log "network: bridge $BRIDGE $BRIDGE_ADDR/24, one namespace per host"
	ip link add "$BRIDGE" type bridge
	ip addr add "$BRIDGE_ADDR/24" dev "$BRIDGE"
	ip link set "$BRIDGE" up
	# Bridged traffic passes iptables when br_netfilter is loaded: let it through
	# a FORWARD policy of DROP (docker's), and only it.
	if command -v iptables >/dev/null && [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ] &&
		iptables -S FORWARD 2>/dev/null | grep -q '^-P FORWARD DROP'; then
		iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
		touch "$DIR/iptables-rule"
	fi
	local h
	for h in "${CONTROLLERS[@]}" "${NODES[@]}"; do
		ip netns add "$NS_PREFIX$h"
		echo "$NS_PREFIX$h" >>"$DIR/namespaces"
		ip link add "$VETH_PREFIX$h" type veth peer name eth0 netns "$NS_PREFIX$h"
		ip link set "$VETH_PREFIX$h" master "$BRIDGE" up
		ip -n "$NS_PREFIX$h" link set lo up
		ip -n "$NS_PREFIX$h" addr add "${ADDR[$h]}/24" dev eth0
		ip -n "$NS_PREFIX$h" link set eth0 up
		mkdir -p "$DIR/hosts/$h/etc/pki" "$DIR/hosts/$h/var"
	done

	# docs/deploy.md, "The cluster CA and certificates".
	log "PKI: CA and certificates (fairwayd pki)"
	"$BIN/fairwayd" pki init --dir "$DIR/pki" >/dev/null
	for h in "${CONTROLLERS[@]}"; do
		"$BIN/fairwayd" pki issue --dir "$DIR/pki" --controller "$h" --host "${ADDR[$h]}" >/dev/null
		install -m 0644 "$DIR/pki/ca.pem" "$DIR/pki/controller-$h.pem" "$DIR/hosts/$h/etc/pki/"
		install -m 0600 "$DIR/pki/controller-$h-key.pem" "$DIR/hosts/$h/etc/pki/"
	done
	for h in "${NODES[@]}"; do
		"$BIN/fairwayd" pki issue --dir "$DIR/pki" --node "$h" --host "${ADDR[$h]}" >/dev/null
		install -m 0644 "$DIR/pki/ca.pem" "$DIR/pki/node-$h.pem" "$DIR/hosts/$h/etc/pki/"
		install -m 0600 "$DIR/pki/node-$h-key.pem" "$DIR/hosts/$h/etc/pki/"
	done
	"$BIN/fairwayd" pki issue --dir "$DIR/pki" --admin admin >/dev/null

	# docs/deploy.md, "MUNGE": one key, copied to every host and the client.
	log "MUNGE: one key, a munged per host"
	"$(command -v mungekey || echo /usr/sbin/mungekey)" --create --keyfile "$DIR/munge.key"
	for h in "${CONTROLLERS[@]}" "${NODES[@]}"; do start_munged "$h"; done
	start_munged -
	dd if=/dev/urandom of="$DIR/jwt_hs256.key" bs=32 count=1 status=none
	chmod 0600 "$DIR/jwt_hs256.key"

	# docs/deploy.md, "Configuration files": contrib/systemd/*.toml per host.
	local first=${CONTROLLERS[0]} f
	for h in "${CONTROLLERS[@]}"; do
		f=$DIR/hosts/$h/etc/ctld.toml
		template ctld.toml "$h" >"$f"
		install -m 0600 "$DIR/jwt_hs256.key" "$DIR/hosts/$h/etc/jwt_hs256.key"
		set_key "$f" id "\"$h\""
		set_key "$f" http_addr "\"${ADDR[$h]}:$HTTP_PORT\""
		set_key "$f" raft_addr "\"${ADDR[$h]}:$RAFT_PORT\""
		set_key "$f" tls_cert "\"$DIR/hosts/$h/etc/pki/controller-$h.pem\""
		set_key "$f" tls_key "\"$DIR/hosts/$h/etc/pki/controller-$h-key.pem\""
		set_key "$f" data_dir "\"$DIR/hosts/$h/var/ctld\""
		if [ "$h" = "$first" ]; then
			set_key "$f" bootstrap true
		else
			set_key "$f" bootstrap false
			set_key "$f" join "\"https://${ADDR[$first]}:$HTTP_PORT\""
		fi
	done
	for h in "${NODES[@]}"; do
		f=$DIR/hosts/$h/etc/noded.toml
		template noded.toml "$h" >"$f"
		set_key "$f" name "\"$h\""
		set_key "$f" controller "\"$(controller_urls)\""
		set_key "$f" listen "\"${ADDR[$h]}:$NODE_PORT\""
		set_key "$f" state_dir "\"$DIR/hosts/$h/var/noded\""
		set_key "$f" tls_cert "\"$DIR/hosts/$h/etc/pki/node-$h.pem\""
		set_key "$f" tls_key "\"$DIR/hosts/$h/etc/pki/node-$h-key.pem\""
		set_key "$f" checkpoint_dir_base "\"$DIR/hosts/$h/var/checkpoints\""
		set_key "$f" cgroup_parent "\"fairway-cluster\""
		set_key "$f" gpus "\"2:gpu\""
		set_key "$f" nvml "\"off\""
		set_key "$f" cpus 2
		set_key "$f" memory 2048
	done

	# docs/deploy.md, "Bootstrapping the first controller" and "Joining the others".
	log "controllers: $first bootstraps the cluster"
	# shellcheck disable=SC2046 # the unit's ExecStart, split into words as systemd does
	start "$first" ctld $(exec_start fairway-ctld.service "$first")
	wait_for 30 "$first to become leader" is_leader "$first"
	for h in "${CONTROLLERS[@]:1}"; do
		log "controllers: $h joins"
		# shellcheck disable=SC2046
		start "$h" ctld $(exec_start fairway-ctld.service "$h")
	done
	for h in "${CONTROLLERS[@]:1}"; do
		wait_for 30 "$h to follow the leader" leader_of "$h"
	done

	# docs/deploy.md, "Adding nodes".
	log "nodes: ${NODES[*]}"
	for h in "${NODES[@]}"; do
		# shellcheck disable=SC2046
		start "$h" noded $(exec_start fairway-noded.service "$h")
	done
	wait_for 60 "${#NODES[@]} nodes up" nodes_up

	cat >"$DIR/env" <<EOF
export PATH=$BIN:\$PATH FAIRWAY_ADDR=$(controller_urls) FAIRWAY_CA=$DIR/pki/ca.pem FAIRWAY_MUNGE_SOCKET=$DIR/client/munge/munge.sock
EOF
	log "up: ${#CONTROLLERS[@]} controllers (leader $(leader_of "$first")), ${#NODES[@]} nodes; state and logs in $DIR"
	log "for the client, run:"
	cat "$DIR/env"
}

# stop_all PIDFILE...: SIGTERM to each recorded process, SIGKILL to those still
# running after 10 s; the pid files are removed.
stop_all() {
	local f pids=() pid i alive
	for f in "$@"; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		rm -f "$f"
		kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
	done
	for ((i = 0; i < 100; i++)); do
		alive=0
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && return 0
		sleep 0.1
	done
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

down() {
	[ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
	local f pid ns
	# The daemons first (node daemons before controllers), then whatever is
	# still in the namespaces: jobs, munged.
	stop_all "$DIR"/pids/*-noded.pid
	stop_all "$DIR"/pids/*-ctld.pid
	stop_all "$DIR"/pids/*.pid
	if [ -f "$DIR/namespaces" ]; then
		while read -r ns; do
			ip netns list 2>/dev/null | grep -qw "^$ns" || continue
			for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
		done <"$DIR/namespaces"
	fi
	# Job processes that left the namespace's process list but not their cgroup.
	local cg=/sys/fs/cgroup/fairway-cluster
	if [ -d "$cg" ]; then
		find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done
		sleep 0.2
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
	fi
	if [ -f "$DIR/namespaces" ]; then
		while read -r ns; do ip netns del "$ns" 2>/dev/null || true; done <"$DIR/namespaces"
		rm -f "$DIR/namespaces"
	fi
	# Namespaced veth ends go with their namespace; the root ends go with them.
	for f in /sys/class/net/"$VETH_PREFIX"*; do
		if [ -e "$f" ]; then ip link del "$(basename "$f")" 2>/dev/null || true; fi
	done
	if [ -f "$DIR/iptables-rule" ]; then
		iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || true
		rm -f "$DIR/iptables-rule"
	fi
	ip link del "$BRIDGE" 2>/dev/null || true
	if [ "${1:-}" = --purge ]; then rm -rf "$DIR"; fi
	log "down"
}

status() {
	local f h name pid
	[ -d "$DIR/pids" ] || { echo "not up ($DIR)"; return 1; }
	echo "processes:"
	for f in "$DIR"/pids/*.pid; do
		[ -f "$f" ] || continue
		name=$(basename "$f" .pid)
		pid=$(cat "$f")
		if kill -0 "$pid" 2>/dev/null; then echo "  $name pid $pid running"; else echo "  $name pid $pid not running"; fi
	done
	echo "controllers:"
	for h in "${CONTROLLERS[@]}"; do
		printf '  %s %s: ' "$h" "https://${ADDR[$h]}:$HTTP_PORT"
		curl_admin /v1/status "https://${ADDR[$h]}:$HTTP_PORT" |
			jq -r '"leader \(.leader_id)\(if .leader then " (this one)" else "" end), applied index \(.index)"' 2>/dev/null || echo "no answer"
	done
	echo "nodes:"
	for h in "${CONTROLLERS[@]}"; do
		if curl_admin /v1/nodes "https://${ADDR[$h]}:$HTTP_PORT" | jq -r '.nodes[] | "  \(.name) \(.state)"' 2>/dev/null; then
			return 0
		fi
	done
	echo "  no controller answers"
}

kill_leader() {
	local h pid
	for h in "${CONTROLLERS[@]}"; do
		if is_leader "$h" >/dev/null 2>&1; then
			pid=$(cat "$DIR/pids/$h-ctld.pid")
			kill -KILL "$pid"
			log "killed the leader $h (pid $pid, SIGKILL); the others elect a new one (contrib/cluster.sh status)"
			echo "$h"
			return 0
		fi
	done
	die "no controller says it is the leader"
}

case "${1:-}" in
up) up ;;
down) down "${2:-}" ;;
status) status ;;
kill-leader) kill_leader ;;
*)
	echo "usage: $0 up|down [--purge]|status|kill-leader" >&2
	exit 2
	;;
esac
