package raftstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/api"
)

// Environment of the child process of TestCrashDurability.
const (
	crashDirEnv  = "RAFTSTORE_CRASH_DIR"
	crashAddrEnv = "RAFTSTORE_CRASH_ADDR"
)

// TestCrashDurability runs a single-voter store in a child process that
// submits jobs as fast as it can and prints each acknowledged job ID; the
// child is killed with SIGKILL mid-stream. Reopening the data directory must
// show every acknowledged job.
func TestCrashDurability(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir, os.Getenv(crashAddrEnv))
		return
	}
	ctx := testCtx(t)
	dir := t.TempDir()
	addr := freeAddrs(t, 1)[0]
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashDurability$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashAddrEnv+"="+addr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []api.JobID
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 200 {
		if id, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			n, err := strconv.ParseUint(id, 10, 64)
			if err != nil {
				t.Fatalf("child printed %q", sc.Text())
			}
			acked = append(acked, api.JobID(n))
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 200 {
		t.Fatalf("child acknowledged only %d jobs before it stopped", len(acked))
	}

	s := open(t, Config{ID: "solo", RaftAddr: addr, DataDir: dir, Bootstrap: true})
	waitLeaderAmong(ctx, t, []*Store{s})
	st := s.State()
	var missing []api.JobID
	for _, id := range acked {
		if _, ok := st.Job(id); !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d acknowledged jobs lost in the crash: %v", len(missing), missing)
	}
	t.Logf("%d jobs acknowledged before SIGKILL, %d in the reopened state", len(acked), len(st.Jobs()))
}

// crashChild submits jobs from several goroutines until it is killed.
func crashChild(dir, addr string) {
	ctx := context.Background()
	s, err := Open(ctx, Config{ID: "solo", RaftAddr: addr, DataDir: dir, Bootstrap: true, Logger: testLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for !<-s.LeaderCh() {
	}
	acks := make(chan api.JobID)
	for range 8 {
		go func() {
			for {
				res, err := s.Apply(ctx, SubmitJobs{Now: 1, Specs: []api.JobSpec{testSpec("crash")}})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				acks <- res.IDs[0]
			}
		}()
	}
	for id := range acks {
		fmt.Printf("ack %d\n", id) // os.Stdout is unbuffered
	}
}
