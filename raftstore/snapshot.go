package raftstore

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

// Snapshot format versions. Version 1 is one JSON object (snapshotData)
// with every job inline, scripts and environments included. Version 2 is
// the same object with two more tables, written before the jobs: "envs",
// the distinct environments, and "scripts", the distinct batch scripts;
// a job whose environment or script is in them has Env and Script empty
// and env_ref or script_ref, the table position plus one. Jobs
// submitted from one shell share one environment, so version 2 is several
// times smaller. Both are written and read one job at a time. Restore
// reads both; a controller that knows only version 1 refuses version 2 (a
// newer controller's snapshot) without applying it.
const (
	snapshotV1      = 1
	snapshotVersion = 2
)

// snapshotHead is a version 2 snapshot's object without its jobs: the
// fields of snapshotData but Jobs, then the tables the jobs refer to.
type snapshotHead struct {
	Version          int                   `json:"version"`
	Index            uint64                `json:"index"`
	NextJobID        api.JobID             `json:"next_job_id"`
	Config           api.ClusterConfig     `json:"config"`
	Nodes            []*api.Node           `json:"nodes"`
	Controllers      []*Controller         `json:"controllers"`
	SubmitKeys       []*SubmitKey          `json:"submit_keys,omitempty"`
	Usage            map[string]float64    `json:"usage,omitempty"`
	UsageAt          int64                 `json:"usage_at,omitempty"`
	UsageFormula     int                   `json:"usage_formula,omitempty"`
	PreemptionTotals []api.PreemptionTotal `json:"preemption_totals,omitempty"`
	Envs             []map[string]string   `json:"envs,omitempty"`
	Scripts          []string              `json:"scripts,omitempty"`
}

// snapJob is a job of a version 2 snapshot: the job's JSON with, in
// place of its environment and script, their positions (plus one) in the
// snapshot's tables.
type snapJob struct {
	*api.Job
	EnvRef    int `json:"env_ref,omitempty"`
	ScriptRef int `json:"script_ref,omitempty"`
}

// snapTables numbers the distinct environments and scripts of a snapshot's
// jobs, in the order of their first job, by content: replicas with equal
// states write equal snapshots however their jobs share memory.
type snapTables struct {
	head      *snapshotHead
	envByKey  map[string]int
	envByMap  map[uintptr]int // the same map again: its number without building its key
	scriptNum map[string]int
	key       strings.Builder
}

// env returns the number (plus one) of an environment; 0 for none.
func (t *snapTables) env(e map[string]string) int {
	if len(e) == 0 {
		return 0
	}
	p := uintptr(reflect.ValueOf(e).UnsafePointer())
	if n, ok := t.envByMap[p]; ok {
		return n
	}
	t.key.Reset()
	for _, k := range slices.Sorted(maps.Keys(e)) {
		t.key.WriteString(k)
		t.key.WriteByte('=')
		t.key.WriteString(e[k])
		t.key.WriteByte(0)
	}
	n, ok := t.envByKey[t.key.String()]
	if !ok {
		t.head.Envs = append(t.head.Envs, e)
		n = len(t.head.Envs)
		t.envByKey[t.key.String()] = n
	}
	t.envByMap[p] = n
	return n
}

// script returns the number (plus one) of a script; 0 for none.
func (t *snapTables) script(s string) int {
	if s == "" {
		return 0
	}
	n, ok := t.scriptNum[s]
	if !ok {
		t.head.Scripts = append(t.head.Scripts, s)
		n = len(t.head.Scripts)
		t.scriptNum[s] = n
	}
	return n
}

// write encodes the snapshot (version 2) to w, one job at a time.
func (s *fsmSnapshot) write(w io.Writer) error {
	m := getMeta(s.txn)
	head := &snapshotHead{
		Version: snapshotVersion, Index: m.Index, NextJobID: m.NextJobID, Config: m.Config,
		Usage: m.Usage, UsageAt: m.UsageAt, UsageFormula: m.UsageFormula,
		PreemptionTotals: preemptionTotals(s.txn),
	}
	if it, err := s.txn.Get(tableNodes, indexID); err == nil {
		for raw := it.Next(); raw != nil; raw = it.Next() {
			head.Nodes = append(head.Nodes, raw.(*api.Node))
		}
	}
	if it, err := s.txn.Get(tableControllers, indexID); err == nil {
		for raw := it.Next(); raw != nil; raw = it.Next() {
			head.Controllers = append(head.Controllers, raw.(*Controller))
		}
	}
	if it, err := s.txn.Get(tableSubmitKeys, indexID); err == nil {
		for raw := it.Next(); raw != nil; raw = it.Next() {
			head.SubmitKeys = append(head.SubmitKeys, raw.(*SubmitKey))
		}
	}
	jobs := allJobs(s.txn)
	t := &snapTables{head: head, envByKey: map[string]int{}, envByMap: map[uintptr]int{}, scriptNum: map[string]int{}}
	refs := make([][2]int, len(jobs))
	for i, j := range jobs {
		refs[i] = [2]int{t.env(j.Spec.Env), t.script(j.Spec.Script)}
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	b, err := json.Marshal(head)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	bw.Write(b[:len(b)-1]) // without its closing brace: the jobs follow
	bw.WriteString(`,"jobs":[`)
	enc := json.NewEncoder(bw)
	for i, j := range jobs {
		if i > 0 {
			bw.WriteByte(',')
		}
		c := *j
		c.Spec.Env, c.Spec.Script = nil, ""
		if err := enc.Encode(snapJob{Job: &c, EnvRef: refs[i][0], ScriptRef: refs[i][1]}); err != nil {
			return fmt.Errorf("encode snapshot: job %d: %w", j.ID, err)
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// readSnapshot decodes a snapshot of version 1 or 2 from r, one job at a
// time: each job (its environment and script resolved) is passed to job
// as soon as it is read; the rest is returned. It refuses another version
// before passing any job.
func readSnapshot(r io.Reader, job func(j *api.Job, envRef int) error) (*snapshotHead, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 256<<10))
	head := &snapshotHead{}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	fields := map[string]any{
		"version": &head.Version, "index": &head.Index, "next_job_id": &head.NextJobID, "config": &head.Config,
		"nodes": &head.Nodes, "controllers": &head.Controllers, "submit_keys": &head.SubmitKeys,
		"usage": &head.Usage, "usage_at": &head.UsageAt, "usage_formula": &head.UsageFormula,
		"preemption_totals": &head.PreemptionTotals, "envs": &head.Envs, "scripts": &head.Scripts,
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if key != "version" && head.Version != snapshotV1 && head.Version != snapshotVersion {
			return nil, fmt.Errorf("unsupported version %d (want %d or %d)", head.Version, snapshotV1, snapshotVersion)
		}
		if key != "jobs" {
			ptr, ok := fields[key]
			if !ok {
				var skip json.RawMessage // a field this version does not know
				ptr = &skip
			}
			if err := dec.Decode(ptr); err != nil {
				return nil, fmt.Errorf("field %s: %w", key, err)
			}
			continue
		}
		if err := readSnapshotJobs(dec, head, job); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if head.Version != snapshotV1 && head.Version != snapshotVersion {
		return nil, fmt.Errorf("unsupported version %d (want %d or %d)", head.Version, snapshotV1, snapshotVersion)
	}
	return head, nil
}

// readSnapshotJobs reads the jobs array (or null), resolving each job's
// references to the tables read before it; job gets each job with its
// environment's reference (0: the job carried its own), so that jobs with
// the same reference can share one environment.
func readSnapshotJobs(dec *json.Decoder, head *snapshotHead, job func(j *api.Job, envRef int) error) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("jobs: want an array, got %v", tok)
	}
	for dec.More() {
		sj := snapJob{Job: &api.Job{}}
		if err := dec.Decode(&sj); err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
		if sj.EnvRef < 0 || sj.EnvRef > len(head.Envs) || sj.ScriptRef < 0 || sj.ScriptRef > len(head.Scripts) {
			return fmt.Errorf("job %d: env_ref %d or script_ref %d outside the tables (%d, %d)", sj.ID, sj.EnvRef, sj.ScriptRef, len(head.Envs), len(head.Scripts))
		}
		if sj.EnvRef > 0 {
			// Shared by the jobs with this reference: Restore interns it
			// once, which copies.
			sj.Spec.Env = head.Envs[sj.EnvRef-1]
		}
		if sj.ScriptRef > 0 {
			sj.Spec.Script = head.Scripts[sj.ScriptRef-1]
		}
		if err := job(sj.Job, sj.EnvRef); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

// expectDelim reads one token, which must be the delimiter d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("want %v, got %v", d, tok)
	}
	return nil
}
