package raftstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/fairway-hpc/fairway/api"
)

// FuzzDecodeCommand checks that decodeCommand, which reads every raft log
// entry the FSM applies, never panics on arbitrary bytes: it returns either
// an error or a non-nil command whose type byte matches the entry's (the
// ignore-unknown flag aside); an unknown type is an *unknownCommandError.
// A decoded command encodes and decodes again to the same JSON.
func FuzzDecodeCommand(f *testing.F) {
	yes := true
	for _, cmd := range []Command{
		SubmitJobs{Now: 1, Specs: []api.JobSpec{{Name: "a", User: "u", Script: "#!/bin/sh\n", Array: "0-3%2", Requeue: &yes,
			Signal: &api.Signal{Name: "USR1", AtSeconds: 60}, Env: map[string]string{"A": "1"}}}},
		CancelJob{Now: 1, ID: 3, Task: new(int), Reason: "r"},
		HoldJob{ID: 1}, ReleaseJob{ID: 1}, RequeueJob{Now: 1, ID: 1}, EndGrace{Now: 1, ID: 2},
		KillJob{Now: 1, ID: 1, Kill: api.KillRequest{State: api.JobCancelled, GraceSecs: 5}},
		ApplyPlan{Plan: api.Plan{Now: 1, Starts: []api.Start{{JobID: 1, Partition: "gpu", Alloc: []api.NodeAlloc{{Node: "n1", CPUs: 1, GPUs: []int{0}}}}}}},
		JobEvents{Now: 1, Node: "n1", Events: []api.JobEvent{{Kind: api.EventExited, JobID: 1}}},
		RegisterNode{Now: 1, Req: api.RegisterNodeRequest{Name: "n1", Resources: api.NodeResources{CPUs: 4}}},
		MarkNodeDown{Now: 1, Node: "n1", Reason: "x"},
		SetConfig{Config: api.ClusterConfig{Partitions: []api.Partition{{Name: "gpu", Default: true}}, MaxArraySize: 10}},
		SetControllerAddr{ID: "c1", HTTPAddr: "127.0.0.1:1"},
		ExpireJobs{Now: 2, Before: 1}, AccrueUsage{Now: 1, Formula: CurrentUsageFormula}, SignalJob{Now: 1, ID: 1, Signal: "USR1"}, RecordCheckpoint{Now: 1, ID: 2},
	} {
		data, err := encodeCommand(cmd)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"", "\x00", "\x01", "\x01null", "\x01[]", "\x01{\"specs\":5}", "\x81{}", "\xff{}", "\x11{}",
		"\x07{\"plan\":{\"starts\":[{\"alloc\":[{\"gpus\":[-1]}]}]}}", "\x01{\"specs\":[{\"nodes\":1e400}]}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, err := decodeCommand(data)
		if err != nil {
			if cmd != nil {
				t.Fatalf("decodeCommand(%q) = %T and error %v", data, cmd, err)
			}
			var unknown *unknownCommandError
			if len(data) > 0 && newCommand(commandType(data[0]&^flagIgnoreUnknown)) == nil && !errors.As(err, &unknown) {
				t.Fatalf("decodeCommand(%q): unknown type, but error %v is not an *unknownCommandError", data, err)
			}
			return
		}
		if cmd == nil {
			t.Fatalf("decodeCommand(%q) = nil command and no error", data)
		}
		if got, want := cmd.commandType(), commandType(data[0]&^flagIgnoreUnknown); got != want {
			t.Fatalf("decodeCommand(%q) = %T (type %d), want type %d", data, cmd, got, want)
		}
		enc, err := encodeCommand(cmd)
		if err != nil {
			t.Fatalf("decodeCommand(%q) = %T that does not encode: %v", data, cmd, err)
		}
		again, err := decodeCommand(enc)
		if err != nil {
			t.Fatalf("decodeCommand(%q) re-encoded as %q does not decode: %v", data, enc, err)
		}
		j1, _ := json.Marshal(cmd)
		j2, _ := json.Marshal(again)
		if !bytes.Equal(j1, j2) {
			t.Fatalf("decodeCommand(%q): round trip changed the command:\n%s\n%s", data, j1, j2)
		}
	})
}
