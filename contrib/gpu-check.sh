#!/usr/bin/env bash
# gpu-check.sh — check Fairway's GPU support on a real NVIDIA machine.
#
# What it shows, each as a PASS or FAIL line (the script exits 1 if any fails):
#   1. the node daemon, with real NVML, discovers the GPUs nvidia-smi -L lists
#      (same UUIDs), and registers them healthy;
#   2. a container job given one GPU runs nvidia-smi and sees exactly that GPU
#      (one /dev/nvidiaN in the container, its UUID in nvidia-smi -L and in
#      FAIRWAY_GPU_UUIDS);
#   3. a host job given one GPU runs nvidia-smi through its device cgroup;
#   4. a host job given no GPU cannot open /dev/nvidiactl ("Operation not
#      permitted"), nor can a container job given no GPU into which the node
#      is bind-mounted;
#   5. /metrics has the per-GPU series;
#   6. optionally (IMAGE=...): a CUDA program in a CUDA/PyTorch image sees the GPU.
#
# It needs no network and installs nothing. It starts its own containerd (with
# its own root, state and socket), one controller and one node daemon, all on
# 127.0.0.1, and stops them at the end. Everything it writes is under WORK.
#
# Usage (as root, from the repository or with FAIRWAY set):
#
#   sudo CARRY=/path/to/debian-binaries contrib/gpu-check.sh
#
# Settings (environment variables):
#   FAIRWAY   the fairway binary (default: bin/fairway next to this script's
#             repository, else fairway on PATH). Build it with `make build`.
#   CARRY     a directory holding containerd, containerd-shim-runc-v2, runc
#             and, if the machine lacks it, libseccomp.so.2 (Debian 12's, which
#             run on Ubuntu 24.04); prepended to PATH and LD_LIBRARY_PATH.
#             Not needed when the machine has containerd and runc.
#   WORK      working directory (default: a new /tmp/fairway-gpu-check.XXXX);
#             kept afterwards, with the daemons' logs and the jobs' output.
#   CDI       "auto" (default: a CDI spec in /etc/cdi or /var/run/cdi naming the
#             GPUs gives containers the driver's user space, else the driver
#             directories do) or "off" (always the driver directories).
#   IMAGE     optional image with CUDA or PyTorch (oci-archive:PATH,
#             docker-archive:PATH; no registry here) for check 6, and
#   IMAGE_CMD the command it runs (default: a PyTorch one-liner).
#   PORT      first of three local ports (default 16817).
#
# Paste the whole output into the issue's closing note.

set -uo pipefail

die() { echo "gpu-check: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "run as root (containerd, cgroups and device nodes need it)"

here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${CARRY:-}" ]; then
	[ -d "$CARRY" ] || die "CARRY=$CARRY is not a directory"
	export PATH="$CARRY:$PATH"
	export LD_LIBRARY_PATH="$CARRY${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# The driver's tools may live outside PATH (here /usr/local/nvidia).
export PATH="$PATH:/usr/local/nvidia/bin"

FAIRWAY=${FAIRWAY:-}
if [ -z "$FAIRWAY" ]; then
	if [ -x "$here/../bin/fairway" ]; then FAIRWAY="$here/../bin/fairway"; else FAIRWAY=$(command -v fairway || true); fi
fi
[ -n "$FAIRWAY" ] && [ -x "$FAIRWAY" ] || die "no fairway binary: run 'make build' or set FAIRWAY"
FAIRWAY=$(readlink -f "$FAIRWAY")
for tool in containerd containerd-shim-runc-v2 runc nvidia-smi curl; do
	command -v "$tool" >/dev/null || die "$tool not found (set CARRY for containerd and runc; nvidia-smi comes with the driver)"
done
[ -e /dev/nvidiactl ] || die "/dev/nvidiactl missing: no NVIDIA driver loaded"

WORK=${WORK:-$(mktemp -d /tmp/fairway-gpu-check.XXXX)}
mkdir -p "$WORK" && chmod 755 "$WORK"
PORT=${PORT:-16817}
CTLD="127.0.0.1:$PORT"
RAFT="127.0.0.1:$((PORT + 1))"
NODE_ADDR="127.0.0.1:$((PORT + 2))"
NODE=gpucheck
NS=fairway-gpucheck
export FAIRWAY_ADDR="http://$CTLD"

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
section() { printf '\n==== %s\n' "$*"; }

pids=()
cleanup() {
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null
		wait "${pids[i]}" 2>/dev/null
	done
	# Unmount what containerd's snapshots left under WORK; remove the node's
	# (empty) parent cgroups.
	grep -o " $WORK/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rmdir /sys/fs/cgroup/{,*/}"$NS/$NODE" 2>/dev/null
	rmdir /sys/fs/cgroup/{,*/}"$NS" 2>/dev/null
	echo
	echo "work directory (logs, job output): $WORK"
}
trap cleanup EXIT

# wait_until SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds.
wait_until() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 4; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	die "timed out after ${secs}s waiting for $what"
}

section "machine"
uname -a
grep PRETTY_NAME /etc/os-release 2>/dev/null
echo "cgroup: $(stat -fc %T /sys/fs/cgroup) (cgroup2fs = v2)"
nvidia-smi --query-gpu=index,uuid,name,driver_version,memory.total --format=csv
echo "/proc/devices:"; grep -i nvidia /proc/devices
ls -l /dev/nvidia* 2>&1
echo "containerd: $(containerd --version)"; echo "runc: $(runc --version | head -1)"
echo "fairway: $FAIRWAY"

section "starting containerd, controller, node daemon (logs in $WORK)"
mkdir -p "$WORK/containerd"
cat >"$WORK/containerd/config.toml" <<EOF
version = 2
root = "$WORK/containerd/root"
state = "$WORK/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$WORK/containerd/containerd.sock"
[ttrpc]
  address = "$WORK/containerd/containerd.sock.ttrpc"
EOF
containerd --config "$WORK/containerd/config.toml" >"$WORK/containerd.log" 2>&1 &
pids+=($!)
wait_until 30 "containerd's socket" test -S "$WORK/containerd/containerd.sock"

mkdir -p "$WORK/bin" "$WORK/jobs" && chmod 777 "$WORK/jobs"
"$FAIRWAY" install-shims "$WORK/bin" >/dev/null || die "install-shims failed"
export PATH="$WORK/bin:$PATH"

"$FAIRWAY" ctld --id c1 --data-dir "$WORK/ctld" --http-addr "$CTLD" --raft-addr "$RAFT" --bootstrap \
	--sched-interval 1s >"$WORK/ctld.log" 2>&1 &
pids+=($!)
wait_until 60 "the controller" curl -sf "$FAIRWAY_ADDR/v1/status"

cdi_args=()
if [ "${CDI:-auto}" = off ]; then cdi_args=(--cdi-dir "$WORK/no-cdi"); fi
"$FAIRWAY" noded --name "$NODE" --controller "$FAIRWAY_ADDR" --listen "$NODE_ADDR" \
	--state-dir "$WORK/noded" --containerd-socket "$WORK/containerd/containerd.sock" \
	--containerd-namespace "$NS" --cgroup-parent "$NS" --heartbeat 2s --debug \
	--nvml on "${cdi_args[@]}" >"$WORK/noded.log" 2>&1 &
pids+=($!)
node_idle() { sinfo -N -h -o '%N %t' | grep -q "^$NODE idle"; }
wait_until 60 "the node to register (see $WORK/noded.log)" node_idle
grep -E 'GPU found|no NVIDIA driver|NVML' "$WORK/noded.log"

section "1. discovered GPUs against nvidia-smi -L"
nvidia-smi -L
smi_uuids=$(nvidia-smi -L | grep -o '(UUID: GPU-[^)]*' | cut -d' ' -f2 | sort)
nodes_json=$(curl -sf "$FAIRWAY_ADDR/v1/nodes")
node_uuids=$(grep -o '"uuid":"GPU-[^"]*"' <<<"$nodes_json" | cut -d'"' -f4 | sort -u)
echo "nvidia-smi: $(echo $smi_uuids)"
echo "fairway:    $(echo $node_uuids)"
if [ -n "$smi_uuids" ] && [ "$smi_uuids" = "$node_uuids" ]; then
	pass "the node registered exactly the GPUs nvidia-smi lists"
else
	fail "registered GPU UUIDs differ from nvidia-smi -L"
fi
if grep -q '"healthy":false' <<<"$nodes_json"; then fail "a GPU registered unhealthy: $nodes_json"; else pass "every GPU registered healthy"; fi
scontrol show node "$NODE" 2>&1 | sed 's/^/  /'
first_uuid=$(head -1 <<<"$smi_uuids")

section "building a small root filesystem for container jobs (host binaries and their libraries)"
rootfs="$WORK/rootfs"
copy_with_libs() {
	local f=$1 lib
	[ -e "$f" ] || return 0
	mkdir -p "$rootfs$(dirname "$f")"
	cp -L "$f" "$rootfs$f"
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$rootfs$lib" ] && continue
		mkdir -p "$rootfs$(dirname "$lib")"
		cp -L "$lib" "$rootfs$lib"
	done
}
mkdir -p "$rootfs"/{dev,proc,sys,tmp,etc,root} && chmod 1777 "$rootfs/tmp"
for b in /bin/sh /bin/ls /bin/cat /usr/bin/head /usr/bin/env /usr/bin/sort /usr/bin/grep /usr/bin/tr /usr/bin/id; do
	copy_with_libs "$(readlink -f "$b")"
	[ -e "$rootfs$b" ] || { mkdir -p "$rootfs$(dirname "$b")"; cp -L "$b" "$rootfs$b"; }
done
# What nvidia-smi and libnvidia-ml need from glibc (they come in from the node).
copy_with_libs "$(command -v nvidia-smi)"
rm -f "$rootfs$(command -v nvidia-smi)"
for l in /usr/local/nvidia/lib64/libnvidia-ml.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1; do
	[ -e "$l" ] && { copy_with_libs "$l"; rm -f "$rootfs$l"; }
done
echo "root:x:0:0:root:/root:/bin/sh" >"$rootfs/etc/passwd"
echo "$(du -sh "$rootfs" | cut -f1) in $rootfs"

# run_job NAME SBATCH-ARGS... -- SCRIPT: submit, wait, print the output.
run_job() {
	local name=$1
	shift
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	local out="$WORK/jobs/$name.out"
	(cd "$WORK/jobs" && sbatch --wait -J "$name" -o "$out" "${args[@]}" --wrap "$1")
	local rc=$?
	echo "--- $name (sbatch exit $rc), output:"
	sed 's/^/  | /' "$out" 2>/dev/null
	return $rc
}
probe='if msg=$(head -c 1 /dev/nvidiactl 2>&1 >/dev/null); then echo "nvidiactl: opened"; else echo "nvidiactl: ${msg##*: }"; fi'
gpu_env='echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES NVIDIA_VISIBLE_DEVICES=$NVIDIA_VISIBLE_DEVICES"; echo "FAIRWAY_GPU_UUIDS=$FAIRWAY_GPU_UUIDS SLURM_JOB_GPUS=$SLURM_JOB_GPUS GPU_DEVICE_ORDINAL=$GPU_DEVICE_ORDINAL"'

section "2. container job given one GPU runs nvidia-smi"
run_job ctr-gpu --gres=gpu:1 --container-image "dir:$rootfs" -- "$gpu_env
echo \"GPU device nodes: \$(ls /dev | grep -E '^nvidia[0-9]+\$' | tr '\n' ' ')\"
nvidia-smi -L
nvidia-smi --query-gpu=index,uuid,name,memory.total,utilization.gpu --format=csv"
rc=$?
out=$(cat "$WORK/jobs/ctr-gpu.out" 2>/dev/null)
grep 'GPU driver user space' "$WORK/noded.log" | tail -1
job_uuid=$(grep -o 'FAIRWAY_GPU_UUIDS=GPU-[^ ]*' <<<"$out" | cut -d= -f2)
smi_in=$(grep -o '(UUID: GPU-[^)]*' <<<"$out" | cut -d' ' -f2 | sort -u)
nodes_in=$(grep -o 'GPU device nodes: .*' <<<"$out" | wc -w)
if [ $rc = 0 ] && [ -n "$job_uuid" ] && [ "$smi_in" = "$job_uuid" ] && [ "$nodes_in" = 4 ]; then
	pass "the container saw exactly its GPU $job_uuid (one device node, nvidia-smi lists only it)"
else
	fail "container GPU job: exit $rc, assigned '$job_uuid', nvidia-smi in the container saw '$(echo $smi_in)', device nodes line: $(grep 'GPU device nodes' <<<"$out")"
fi

section "3. host job given one GPU runs nvidia-smi"
run_job host-gpu --gres=gpu:1 -- "$gpu_env
$probe
nvidia-smi -L"
rc=$?
out=$(cat "$WORK/jobs/host-gpu.out" 2>/dev/null)
job_uuid=$(grep -o 'FAIRWAY_GPU_UUIDS=GPU-[^ ]*' <<<"$out" | cut -d= -f2)
if [ $rc = 0 ] && [ -n "$job_uuid" ] && grep -q "$job_uuid" <<<"$(grep '^GPU ' <<<"$out")"; then
	pass "the host job ran nvidia-smi on its GPU $job_uuid"
else
	fail "host GPU job: exit $rc, output above"
fi

section "4. jobs given no GPU cannot open /dev/nvidiactl"
run_job host-cpu -- "$probe
echo \"CUDA_VISIBLE_DEVICES=\${CUDA_VISIBLE_DEVICES-unset}\"
nvidia-smi -L; echo \"nvidia-smi exit \$?\""
out=$(cat "$WORK/jobs/host-cpu.out" 2>/dev/null)
if grep -q 'nvidiactl: Operation not permitted' <<<"$out"; then
	pass "a host job without GPUs gets 'Operation not permitted' on /dev/nvidiactl"
else
	fail "a host job without GPUs could open /dev/nvidiactl, or failed otherwise"
fi
run_job ctr-cpu --container-image "dir:$rootfs" --container-mounts /dev/nvidiactl:/dev/nvidiactl -- "$probe"
out=$(cat "$WORK/jobs/ctr-cpu.out" 2>/dev/null)
if grep -q 'nvidiactl: Operation not permitted' <<<"$out"; then
	pass "a container job without GPUs, /dev/nvidiactl bind-mounted in, gets 'Operation not permitted'"
else
	fail "a container job without GPUs could open a bind-mounted /dev/nvidiactl, or failed otherwise"
fi

section "5. GPU metrics"
metrics=$(curl -sf "http://$NODE_ADDR/metrics" | grep '^fairway_noded_gpu_')
echo "$metrics" | sed 's/^/  /'
if grep -q "fairway_noded_gpu_healthy{gpu=\"0\"" <<<"$metrics" && grep -q 'fairway_noded_gpu_memory_total_bytes' <<<"$metrics"; then
	pass "/metrics has per-GPU series"
else
	fail "/metrics lacks per-GPU series"
fi

if [ -n "${IMAGE:-}" ]; then
	section "6. a CUDA program in $IMAGE"
	cmd=${IMAGE_CMD:-"python3 -c 'import torch; print(\"cuda available:\", torch.cuda.is_available(), \"devices:\", torch.cuda.device_count(), torch.cuda.get_device_name(0)); x = torch.ones(1024, 1024, device=\"cuda\"); print(\"sum on GPU:\", (x @ x).sum().item())'"}
	if run_job image-gpu --gres=gpu:1 --container-image "$IMAGE" -- "$gpu_env
$cmd"; then
		pass "the CUDA program ran"
	else
		fail "the CUDA program failed"
	fi
fi

section "summary"
echo "node daemon's GPU log lines:"
grep -E 'GPU found|GPU unhealthy|GPU events|NVML|NVIDIA driver|driver user space|registered with' "$WORK/noded.log" | tail -20 | sed 's/^/  /'
if [ $failures = 0 ]; then echo "ALL CHECKS PASSED"; else echo "$failures CHECK(S) FAILED"; fi
[ $failures = 0 ]
