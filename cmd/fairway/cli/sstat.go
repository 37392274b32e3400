package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// sstatDefaultFormat is sstat's default field list (the fields Fairway's
// nodes measure).
const sstatDefaultFormat = "JobID,MaxVMSize,MaxRSS,AveRSS,AveCPU,NTasks"

func sstatOpts() []*opt {
	return []*opt{
		{long: "jobs", short: 'j', usage: "the running steps to show: JOBID[.STEP] (STEP a number or batch), comma-separated"},
		{long: "format", short: 'o', aliases: []string{"fields"}, usage: "fields to print, e.g. JobID,MaxRSS,AveCPU"},
		{long: "parsable2", short: 'P', kind: optFlag, usage: "fields separated by |, without a trailing |"},
		{long: "parsable", short: 'p', kind: optFlag, usage: "fields separated by |, with a trailing |"},
		{long: "noheader", short: 'n', kind: optFlag, usage: "do not print the header"},
		{long: "allsteps", short: 'a', kind: optFlag, usage: "every running step of the jobs (the default without .STEP)"},
		addrOpt(),
		helpOpt('h'),
	}
}

// sstat prints the live usage of running steps, asking each node of a step
// (its step server) and summing as Slurm does: CPU times and tasks added,
// Max* the largest, AveRSS weighted by tasks.
func sstat(ctx context.Context, inv *invocation) error {
	o := inv.opts
	list := splitList(o.str("jobs"))
	if len(list) == 0 {
		list = inv.args
	}
	if len(list) == 0 {
		return &api.FieldError{Field: "--jobs", Value: "", Msg: "name the running job steps: sstat -j JOBID[.STEP]"}
	}
	format := sstatDefaultFormat
	if o.has("format") {
		format = o.str("format")
	}
	fields, err := parseSacctFormat(format)
	if err != nil {
		return err
	}
	c := inv.client()
	nodesResp, err := c.Nodes(ctx, client.QueryOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	nodes := map[string]api.Node{}
	for _, n := range nodesResp.Nodes {
		nodes[n.Name] = *n
	}
	var rows []sacctRow
	for _, item := range list {
		idPart, stepPart, hasStep := strings.Cut(item, ".")
		ref, err := api.ParseJobRef(idPart)
		if err != nil {
			return &api.FieldError{Field: "--jobs", Value: item, Msg: "must be JOBID or JOBID.STEP"}
		}
		step := -2 // every running step
		if hasStep {
			if stepPart == "batch" {
				step = api.StepBatch
			} else if step, err = strconv.Atoi(stepPart); err != nil || step < 0 {
				return &api.FieldError{Field: "--jobs", Value: item, Msg: "the step is a number or batch"}
			}
		}
		j, err := c.JobRef(ctx, ref)
		if err != nil {
			return fmt.Errorf("job %s: %w", idPart, err)
		}
		if j.State != api.JobRunning {
			return fmt.Errorf("job %s is %s: sstat shows running jobs only (sacct shows finished ones)", idPart, j.State)
		}
		for _, r := range sacctRows(j, false) {
			if r.kind == rowJob || !r.current {
				continue
			}
			if r.kind == rowStep && (r.state != api.JobRunning || step != -2 && step != r.step.ID) || r.kind == rowBatch && step != -2 && step != api.StepBatch {
				continue
			}
			id := api.StepBatch
			if r.kind == rowStep {
				id = r.step.ID
			}
			u, err := liveUsage(ctx, c, nodes, j.ID, id, r.nodes)
			if err != nil {
				return err
			}
			r.usage = u
			rows = append(rows, r)
		}
		if ns := jobNodes(j); step == api.StepBatch && !hasBatchRow(rows, j) && len(ns) > 0 {
			r := sacctRow{job: j, kind: rowBatch, state: api.JobRunning, current: true, nodes: ns[:1]}
			if r.usage, err = liveUsage(ctx, c, nodes, j.ID, api.StepBatch, r.nodes); err != nil {
				return err
			}
			rows = append(rows, r)
		}
	}
	v := inv.view(0)
	_, err = fmt.Fprint(inv.env.Stdout, v.renderSacct(fields, rows, sacctStyle{
		parsable: o.flag("parsable") || o.flag("parsable2"),
		trailing: o.flag("parsable") && !o.flag("parsable2"),
		header:   !o.flag("noheader"),
	}))
	return err
}

// hasBatchRow reports whether rows has job j's batch step.
func hasBatchRow(rows []sacctRow, j *api.Job) bool {
	for _, r := range rows {
		if r.job == j && r.kind == rowBatch {
			return true
		}
	}
	return false
}

// liveUsage asks each node of a step for its live usage and sums it.
func liveUsage(ctx context.Context, c *client.Client, nodes map[string]api.Node, job api.JobID, step int, names []string) (*api.Usage, error) {
	var sum *api.Usage
	for i, name := range names {
		n, ok := nodes[name]
		if !ok {
			return nil, fmt.Errorf("step %s.%d: node %s is not registered", job, step, name)
		}
		u, err := c.NodeUsage(ctx, n, job, step)
		if err != nil {
			return nil, fmt.Errorf("usage of step %s on node %s: %w", stepName(job, step), name, err)
		}
		sum = addUsage(sum, *u, i)
	}
	return sum, nil
}

// stepName is JOB.STEP, JOB.batch for the batch script.
func stepName(job api.JobID, step int) string {
	if step == api.StepBatch {
		return job.String() + ".batch"
	}
	return job.String() + "." + strconv.Itoa(step)
}

// addUsage adds one node's usage to a sum (nil before the first), prior
// being the number of nodes summed before: as the controller merges
// reports.
func addUsage(sum *api.Usage, u api.Usage, prior int) *api.Usage {
	if sum == nil {
		c := u
		return &c
	}
	out := *sum
	wOld, wNew := int64(max(sum.Tasks, prior, 1)), int64(max(u.Tasks, 1))
	out.AveRSSBytes = (sum.AveRSSBytes*wOld + u.AveRSSBytes*wNew) / (wOld + wNew)
	out.MaxRSSBytes = max(out.MaxRSSBytes, u.MaxRSSBytes)
	out.MaxVMSizeBytes = max(out.MaxVMSizeBytes, u.MaxVMSizeBytes)
	out.UserCPUMillis += u.UserCPUMillis
	out.SysCPUMillis += u.SysCPUMillis
	out.GPUs += u.GPUs
	out.Tasks += u.Tasks
	return &out
}
