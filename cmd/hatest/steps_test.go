//go:build e2e

package hatest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/api/munge"
)

// stepCluster is the cluster of the step tests: two nodes of 4 CPUs and 2
// fake GPUs in their own hosts (hostnames n1 and n2), resolvable by name,
// declared DOWN 10 s after they go silent (lease 3 s, grace 2 s).
func stepCluster(t *testing.T) *cluster {
	cfg := api.ClusterConfig{
		Partitions:    []api.Partition{{Name: "main", Default: true, DefaultTimeSecs: 3600, PreemptMode: api.PreemptRequeue}},
		NodeLeaseSecs: fenceLeaseSecs, FenceGraceSecs: fenceGraceSecs,
	}
	return newCluster(t, clusterOpts{nodes: 2, cpus: 4, gpus: "2", hostsFile: true, config: &cfg, nodeDownAfter: fenceDownAfter})
}

// batch submits a script with sbatch from the root namespace, waits for it
// to end and returns its ID, its state and its output file.
func (c *cluster) batch(t *testing.T, name, script string, args ...string) (id, state, output string) {
	t.Helper()
	path := filepath.Join(c.workDir, name+".sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(c.workDir, name+".out")
	stdout, stderr, err := c.run("sbatch", append(append([]string{"--parsable", "-J", name, "-o", out}, args...), path)...)
	if err != nil {
		t.Fatalf("sbatch %s: %v: %s", name, err, stderr)
	}
	id = strings.TrimSpace(stdout)
	c.waitFor("job "+id+" ("+name+") to end", 120*time.Second, func() bool {
		o, _, err := c.run("sacct", "-X", "-n", "-P", "-j", id, "-o", "State")
		state = strings.TrimSpace(o)
		return err == nil && state != "" && state != "PENDING" && state != "RUNNING"
	})
	data, _ := os.ReadFile(out)
	return id, state, string(data)
}

// section returns the lines of out after the line "== name" up to the next
// "== " line.
func section(out, name string) []string {
	var lines []string
	in := false
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		if strings.HasPrefix(line, "== ") {
			in = line == "== "+name
			continue
		}
		if in && line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestStepsAcrossNodes: srun inside a 2-node x 2-task job runs on both
// hosts with Slurm's layouts, and a distributed program rendezvouses across
// them from Slurm's variables and agrees on an all-reduce.
func TestStepsAcrossNodes(t *testing.T) {
	c := stepCluster(t)
	prog := filepath.Join(c.dir, "allreduce")
	build := exec.Command("go", "build", "-o", prog, "./testdata/allreduce")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the distributed test program: %v: %s", err, out)
	}
	script := fmt.Sprintf(`echo "== block"; srun -l hostname | sort
echo "== cyclic"; srun -l -m cyclic hostname | sort
echo "== pick"; srun -N1 -n1 -w n2 hostname
echo "== env"; srun -l sh -c 'echo "$SLURM_PROCID $SLURM_LOCALID $SLURM_NODEID $SLURM_NTASKS $SLURM_STEP_NUM_TASKS $SLURM_JOB_NODELIST $SLURM_STEP_NODELIST $SLURM_TASKS_PER_NODE ${CUDA_VISIBLE_DEVICES-none}"' | sort
echo "== allreduce"; srun -l %s | sort
`, prog)
	_, state, out := c.batch(t, "layout", script, "-N2", "--ntasks-per-node=2", "--gres=gpu:2")
	if state != "COMPLETED" {
		t.Fatalf("layout job ended %s; output:\n%s", state, out)
	}
	tests := []struct {
		section string
		want    []string
	}{
		{"block", []string{"0: n1", "1: n1", "2: n2", "3: n2"}},
		{"cyclic", []string{"0: n1", "1: n2", "2: n1", "3: n2"}},
		{"pick", []string{"n2"}},
		// rank, local rank, node rank, world size, step tasks, job and step
		// node lists, tasks per node in Slurm's form, GPUs of the task.
		{"env", []string{
			"0: 0 0 0 4 4 n[1-2] n[1-2] 2(x2) 0,1",
			"1: 1 1 0 4 4 n[1-2] n[1-2] 2(x2) 0,1",
			"2: 2 0 1 4 4 n[1-2] n[1-2] 2(x2) 0,1",
			"3: 3 1 1 4 4 n[1-2] n[1-2] 2(x2) 0,1",
		}},
		{"allreduce", []string{
			"0: rank=0 world=4 local=0 node=0 main=n1 port=%d sum=6",
			"1: rank=1 world=4 local=1 node=0 main=n1 port=%d sum=6",
			"2: rank=2 world=4 local=0 node=1 main=n1 port=%d sum=6",
			"3: rank=3 world=4 local=1 node=1 main=n1 port=%d sum=6",
		}},
	}
	for _, tt := range tests {
		got := section(out, tt.section)
		want := tt.want
		if tt.section == "allreduce" && len(got) > 0 {
			// The port follows the job ID.
			var port int
			if i := strings.Index(got[0], "port="); i >= 0 {
				fmt.Sscanf(got[0][i:], "port=%d", &port)
			}
			want = nil
			for _, w := range tt.want {
				want = append(want, fmt.Sprintf(w, port))
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("srun %s (-want +got):\n%s\nwhole output:\n%s", tt.section, diff, out)
		}
	}
}

// TestInteractiveSteps: srun and salloc outside an allocation, srun --pty
// on a terminal, Ctrl-C twice leaving no task, --kill-on-bad-exit, and a
// node cut off mid-step named in srun's error.
func TestInteractiveSteps(t *testing.T) {
	c := stepCluster(t)
	t.Run("srun outside an allocation", func(t *testing.T) {
		out, errOut, err := c.run("srun", "-N2", "-l", "hostname")
		if err != nil {
			t.Fatalf("srun -N2 hostname: %v: %s", err, errOut)
		}
		if got := sortedLines(out); !slices.Equal(got, []string{"0: n1", "1: n2"}) {
			t.Errorf("srun -N2 -l hostname printed %q", got)
		}
		if !strings.Contains(errOut, "has been allocated resources") {
			t.Errorf("srun's stderr lacks Slurm's allocation message: %q", errOut)
		}
	})
	t.Run("stdin goes to task 0", func(t *testing.T) {
		cmd := exec.Command(filepath.Join(env.binDir, "srun"), "-N2", "-n2", "-l", "sh", "-c", `if [ "$SLURM_PROCID" = 0 ]; then cat; else echo none; fi`)
		cmd.Env = c.env()
		cmd.Stdin = strings.NewReader("hello\nworld\n")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("srun with stdin: %v: %s", err, stderr.String())
			}
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("srun with stdin still runs after 60s; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		out := stdout.Bytes()
		if got := sortedLines(string(out)); !slices.Equal(got, []string{"0: hello", "0: world", "1: none"}) {
			t.Errorf("srun printed %q, want task 0 to echo its stdin", got)
		}
	})
	t.Run("salloc", func(t *testing.T) {
		out, errOut, err := c.run("salloc", "-N2", "srun", "hostname")
		if err != nil {
			t.Fatalf("salloc -N2 srun hostname: %v: %s", err, errOut)
		}
		if got := sortedLines(out); !slices.Equal(got, []string{"n1", "n2"}) {
			t.Errorf("salloc -N2 srun hostname printed %q", got)
		}
		for _, msg := range []string{"Granted job allocation", "Relinquishing job allocation"} {
			if !strings.Contains(errOut, msg) {
				t.Errorf("salloc's stderr lacks %q: %q", msg, errOut)
			}
		}
	})
	t.Run("srun --pty", func(t *testing.T) {
		// script(1) gives srun a pseudo-terminal, as a user's terminal would.
		cmd := exec.Command("script", "-qec", filepath.Join(env.binDir, "srun")+" --pty sh -c 'tty; exit 3'", "/dev/null")
		cmd.Env = c.env()
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Errorf("srun --pty ... exit 3: %v, want exit status 3; output %q", err, out)
		}
		if !strings.Contains(string(out), "/dev/pts/") {
			t.Errorf("srun --pty: the task has no terminal: %q", out)
		}
	})
	t.Run("Ctrl-C twice leaves no task", func(t *testing.T) {
		const marker = "sleep 3011"
		cmd := exec.Command(filepath.Join(env.binDir, "srun"), append([]string{"-N2", "-n2"}, strings.Fields(marker)...)...)
		cmd.Env = c.env()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c.waitFor("both tasks running", 60*time.Second, func() bool { return processesMatching(marker) == 2 })
		_ = cmd.Process.Signal(syscall.SIGINT)
		time.Sleep(200 * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("srun still runs 30 s after two Ctrl-C; stderr: %s", stderr.String())
		}
		c.waitFor("no task left on any node", 30*time.Second, func() bool { return processesMatching(marker) == 0 })
		if !strings.Contains(stderr.String(), "interrupt") {
			t.Errorf("srun's stderr after Ctrl-C: %q", stderr.String())
		}
	})
	t.Run("kill on bad exit", func(t *testing.T) {
		const marker = "sleep 3012"
		out, errOut, err := c.run("srun", "-N2", "-n4", "-K", "sh", "-c", `[ "$SLURM_PROCID" = 3 ] && exit 1; `+marker)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() < 1 {
			t.Errorf("srun -K with a task exiting 1: %v, want srun to end with a failure; out %q err %q", err, out, errOut)
		}
		c.waitFor("no task left", 30*time.Second, func() bool { return processesMatching(marker) == 0 })
	})
	t.Run("node cut off mid-step", func(t *testing.T) {
		const marker = "sleep 3013"
		cmd := exec.Command(filepath.Join(env.binDir, "srun"), append([]string{"-N2", "-n2"}, strings.Fields(marker)...)...)
		cmd.Env = c.env()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c.waitFor("both tasks running", 60*time.Second, func() bool { return processesMatching(marker) == 2 })
		n2 := c.nodes[1]
		must(t, n2.host.CutAll(t.Context()))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(120 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("srun still runs 120 s after n2 was cut off; stderr: %s", stderr.String())
		}
		must(t, n2.host.Heal(t.Context()))
		if err == nil || !strings.Contains(stderr.String(), "n2") {
			t.Errorf("srun with n2 cut off: %v, stderr %q; want a failure naming n2", err, stderr.String())
		}
		c.waitFor("no task left", 60*time.Second, func() bool { return processesMatching(marker) == 0 })
	})
}

// TestStepAccounting: sacct shows the batch step and two srun steps with
// their usage, seff reports on the job, sstat on a running step.
func TestStepAccounting(t *testing.T) {
	c := stepCluster(t)
	script := `srun -n1 dd if=/dev/zero of=/dev/null bs=100M count=20
srun -n1 sh -c 'end=$(($(date +%s) + 2)); while [ "$(date +%s)" -lt "$end" ]; do :; done; echo "== times"; times'
exit 0
`
	id, state, out := c.batch(t, "usage", script, "-N1", "-n1")
	if state != "COMPLETED" {
		t.Fatalf("usage job ended %s; output:\n%s", state, out)
	}
	sacct, errOut, err := c.run("sacct", "-j", id, "-P", "-o", "JobID,State,ExitCode,MaxRSS,TotalCPU,Elapsed")
	if err != nil {
		t.Fatalf("sacct: %v: %s", err, errOut)
	}
	rows := map[string][]string{}
	for line := range strings.Lines(sacct) {
		f := strings.Split(strings.TrimSpace(line), "|")
		rows[f[0]] = f
	}
	for _, step := range []string{id, id + ".batch", id + ".0", id + ".1"} {
		if _, ok := rows[step]; !ok {
			t.Errorf("sacct has no row %s:\n%s", step, sacct)
		}
	}
	if r := rows[id+".0"]; len(r) == 6 && kib(r[3]) < 90*1024 {
		t.Errorf("step 0 (dd with a 100 MB buffer) MaxRSS %s, want at least 90 MB:\n%s", r[3], sacct)
	}
	// The busy step's CPU time as sacct has it, against what its own
	// shell says it and its children used (times): the machine's load
	// changes both alike.
	if r := rows[id+".1"]; len(r) == 6 {
		own := 0.0
		for _, line := range section(out, "times") {
			for _, f := range strings.Fields(line) {
				var m, sec float64
				if _, err := fmt.Sscanf(f, "%fm%fs", &m, &sec); err == nil {
					own += 60*m + sec
				}
			}
		}
		if got := cpuSecs(r[4]); own < 0.2 || got < own*0.75-0.1 || got > own*1.25+0.3 {
			t.Errorf("step 1 (2 s of busy loop) TotalCPU %s; the step itself counted %.2f s:\n%s\n%s", r[4], own, sacct, out)
		}
	}
	t.Logf("sacct -j %s:\n%s", id, sacct)
	seff, errOut, err := c.run("seff", id)
	if err != nil || !strings.Contains(seff, "Job ID: "+id) || !strings.Contains(seff, "CPU Efficiency") {
		t.Errorf("seff %s: %v %s\n%s", id, err, errOut, seff)
	}
	t.Logf("seff %s:\n%s", id, seff)

	// sstat of a running step.
	const marker = "sleep 3014"
	path := filepath.Join(c.workDir, "sstat.sh")
	must(t, os.WriteFile(path, []byte("#!/bin/sh\nsrun -n1 "+marker+"\n"), 0o755))
	stdout, _, err := c.run("sbatch", "--parsable", "-N1", "-n1", "-o", "/dev/null", path)
	if err != nil {
		t.Fatal(err)
	}
	running := strings.TrimSpace(stdout)
	c.waitFor("the step running", 60*time.Second, func() bool { return processesMatching(marker) == 1 })
	var sstat string
	c.waitFor("sstat of the running step", 30*time.Second, func() bool {
		sstat, _, err = c.run("sstat", "-j", running+".0", "-P", "-n", "-o", "JobID,MaxRSS,NTasks")
		return err == nil && strings.HasPrefix(sstat, running+".0|")
	})
	t.Logf("sstat -j %s.0: %s", running, sstat)
	if _, _, err := c.run("scancel", running); err != nil {
		t.Error(err)
	}
	c.waitFor("the step gone", 60*time.Second, func() bool { return processesMatching(marker) == 0 })
}

// env is the environment of a client command in the root namespace.
func (c *cluster) env() []string {
	return append(os.Environ(), client.EnvAddr+"="+strings.Join(c.urls(), ","), client.EnvCA+"="+c.caFile(),
		client.EnvRetrySecs+"=30", munge.EnvSocket+"="+c.munge, "PATH="+env.binDir+":"+os.Getenv("PATH"))
}

func sortedLines(s string) []string {
	var lines []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	slices.Sort(lines)
	return lines
}

// kib reads sacct's memory form (102400K, 100M, 1.5G) in KiB.
func kib(s string) float64 {
	if s == "" {
		return 0
	}
	mult := map[byte]float64{'K': 1, 'M': 1024, 'G': 1024 * 1024}[s[len(s)-1]]
	if mult == 0 {
		mult = 1.0 / 1024
	} else {
		s = s[:len(s)-1]
	}
	v, _ := strconv.ParseFloat(s, 64)
	return v * mult
}

// cpuSecs reads sacct's CPU time forms ([D-][HH:]MM:SS[.mmm]) in seconds.
func cpuSecs(s string) float64 {
	days := 0.0
	if d, rest, ok := strings.Cut(s, "-"); ok {
		days, _ = strconv.ParseFloat(d, 64)
		s = rest
	}
	total := 0.0
	for _, part := range strings.Split(s, ":") {
		v, _ := strconv.ParseFloat(part, 64)
		total = total*60 + v
	}
	return days*86400 + total
}

// processesMatching counts live processes whose command line starts with s
// (srun's own command line, which contains it, does not count).
func processesMatching(s string) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		if strings.HasPrefix(strings.ReplaceAll(string(cmdline), "\x00", " "), s) {
			n++
		}
	}
	return n
}
