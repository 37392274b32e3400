package cli

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
)

func seffOpts() []*opt {
	return []*opt{addrOpt(), helpOpt('h')}
}

// seff prints Slurm's seff efficiency report of a job: its CPU time
// against its cores' wall-clock time and its largest memory use against
// its memory, from the usage its batch script and steps reported.
func seff(ctx context.Context, inv *invocation) error {
	args := inv.args
	if len(args) != 1 {
		return &api.FieldError{Field: "jobid", Value: strings.Join(args, " "), Msg: "usage: seff JOBID"}
	}
	ref, err := api.ParseJobRef(args[0])
	if err != nil {
		return &api.FieldError{Field: "jobid", Value: args[0], Msg: "not a job id"}
	}
	j, err := inv.client().JobRef(ctx, ref)
	if err != nil {
		return fmt.Errorf("job %s: %w", args[0], err)
	}
	v := inv.view(0)
	_, err = fmt.Fprint(inv.env.Stdout, v.seffReport(j))
	return err
}

// seffReport is seff's report of a job (its current or last run).
func (v *view) seffReport(j *api.Job) string {
	var b strings.Builder
	rows := sacctRows(j, true)
	row := rows[len(rows)-1]
	nodes := max(len(row.nodes), 1)
	cpus := v.rowCPUs(row)
	fmt.Fprintf(&b, "Job ID: %s\n", j.DisplayID())
	fmt.Fprintf(&b, "Cluster: %s\n", "fairway")
	fmt.Fprintf(&b, "User/Group: %s/%d\n", j.Spec.User, j.Spec.GID)
	fmt.Fprintf(&b, "State: %s (exit code %d)\n", j.State, j.ExitCode)
	if nodes > 1 {
		fmt.Fprintf(&b, "Nodes: %d\nCores per node: %d\n", nodes, cpus/nodes)
	} else {
		fmt.Fprintf(&b, "Cores: %d\n", cpus)
	}
	u, _ := rowUsage(row)
	var maxRSS int64
	if row.run != nil {
		if row.run.Usage != nil {
			maxRSS = row.run.Usage.MaxRSSBytes
		}
		for _, st := range row.run.Steps {
			if st.Usage != nil {
				maxRSS = max(maxRSS, st.Usage.MaxRSSBytes)
			}
		}
	}
	cpuSecs := (u.UserCPUMillis + u.SysCPUMillis) / 1000
	wall := v.elapsed(row)
	coreWall := wall * int64(cpus)
	fmt.Fprintf(&b, "CPU Utilized: %s\n", seffTime(cpuSecs))
	fmt.Fprintf(&b, "CPU Efficiency: %.2f%% of %s core-walltime\n", percent(float64(cpuSecs), float64(coreWall)), seffTime(coreWall))
	fmt.Fprintf(&b, "Job Wall-clock time: %s\n", seffTime(wall))
	fmt.Fprintf(&b, "Memory Utilized: %s\n", kbytes2str(float64(maxRSS)/1024))
	perNodeKB := float64(v.memoryMB(j)) * 1024
	allocKB := perNodeKB * float64(nodes)
	fmt.Fprintf(&b, "Memory Efficiency: %.2f%% of %s (%s/node)\n", percent(float64(maxRSS)/1024, allocKB), kbytes2str(allocKB), kbytes2str(perNodeKB))
	if j.State == api.JobRunning {
		b.WriteString("WARNING: Efficiency statistics may be misleading for RUNNING jobs.\n")
	}
	return b.String()
}

// percent is 100*a/b, 0 when b is 0.
func percent(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return 100 * a / b
}

// seffTime prints seconds as seff does: HH:MM:SS, with D- for days.
func seffTime(secs int64) string {
	d, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	if d > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", d, h, m, s)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
}

// kbytes2str prints kibibytes as seff does: "%.2f %sB" in the largest
// unit of 1024 (0 is "0.00 MB").
func kbytes2str(kb float64) string {
	if kb <= 0 {
		return "0.00 MB"
	}
	exp := min(int(math.Log(kb)/math.Log(1024)), 5)
	exp = max(exp, 0)
	return strconv.FormatFloat(kb/math.Pow(1024, float64(exp)), 'f', 2, 64) + " " + "KMGTPE"[exp:exp+1] + "B"
}
