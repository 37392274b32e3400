package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/slurmdata"
	yaml "go.yaml.in/yaml/v3"
)

// dataOpts are --json and --yaml: print what the command lists in the
// shape of Slurm's data_parser v0.0.41 (the only version Fairway prints;
// --json=v0.0.41 and --json=data_parser/v0.0.41 name it).
func dataOpts() []*opt {
	return []*opt{
		{long: "json", kind: optOptional, def: slurmdata.Version, usage: "print JSON in the shape of Slurm's " + slurmdata.DataParser + " (Slurm 24.05 and 24.11)"},
		{long: "yaml", kind: optOptional, def: slurmdata.Version, usage: "print YAML in the shape of Slurm's " + slurmdata.DataParser},
	}
}

// dataFormat is the data output the options ask for: "json", "yaml", or ""
// for the command's usual text. An unknown data_parser version is an
// error naming the option.
func dataFormat(o optSet) (string, error) {
	format := ""
	for _, f := range []string{"json", "yaml"} {
		v, ok := o.last(f)
		if !ok {
			continue
		}
		if format != "" {
			return "", &api.FieldError{Field: "--" + f, Value: v.value, Msg: "--json and --yaml are exclusive"}
		}
		version := strings.TrimPrefix(strings.TrimPrefix(v.value, "data_parser/"), "+")
		if version != "" && version != slurmdata.Version && version != "latest" {
			return "", &api.FieldError{Field: "--" + f, Value: v.value, Msg: "unsupported data_parser plugin; Fairway prints " + slurmdata.DataParser}
		}
		format = f
	}
	return format, nil
}

// dataOptions are the converters' options for this invocation at now
// (the controller's clock, unix seconds).
func dataOptions(inv *invocation, now int64, format string) slurmdata.Options {
	o := slurmdata.Options{
		Now:       now,
		Cluster:   clusterName(inv),
		Command:   append(append([]string{inv.name}, inv.args...), "--"+format),
		GroupName: inv.env.GroupName,
	}
	if me, err := inv.env.User(); err == nil {
		o.ClientUser = me.Name
		o.ClientGroup = inv.env.GroupName(me.GID)
		if o.ClientGroup == "" {
			o.ClientGroup = fmt.Sprint(me.GID)
		}
	}
	return o
}

// writeData prints v as JSON or YAML (see encodeData).
func writeData(inv *invocation, format string, v any) error {
	b, err := encodeData(format, v)
	if err != nil {
		return err
	}
	_, err = inv.env.Stdout.Write(b)
	return err
}

// encodeData is v as JSON (two-space indent, as Slurm) or YAML (a
// document that starts with "---").
func encodeData(format string, v any) ([]byte, error) {
	var b bytes.Buffer
	switch format {
	case "yaml":
		b.WriteString("---\n")
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("encode YAML: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("encode YAML: %w", err)
		}
	default:
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("encode JSON: %w", err)
		}
	}
	return b.Bytes(), nil
}

// fetchPartitionList is the partitions in the controller's order.
func fetchPartitionList(ctx context.Context, inv *invocation) ([]api.Partition, error) {
	resp, err := inv.client().Partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	return resp.Partitions, nil
}

// nodeValues copies nodes out of their pointers.
func nodeValues(nodes []*api.Node) []api.Node {
	out := make([]api.Node, len(nodes))
	for i, n := range nodes {
		out[i] = *n
	}
	return out
}

// sacctData is sacct --json: one record per job the filters keep (users,
// names, partitions, accounts, the time window, and -s on the job's
// state), of its current or last run.
func sacctData(ctx context.Context, inv *invocation, format string, now int64, jobs []*api.Job, f *sacctFilter) error {
	parts, err := fetchPartitionList(ctx, inv)
	if err != nil {
		return err
	}
	var keep []*api.Job
	for _, j := range jobs {
		if f.job(j) && (f.states == nil || f.states[j.State]) {
			keep = append(keep, j)
		}
	}
	return writeData(inv, format, slurmdata.SlurmdbdJobsResponse(keep, parts, dataOptions(inv, now, format)))
}

// wantsData reports whether --json or --yaml was given.
func wantsData(o optSet) bool { return o.has("json") || o.has("yaml") }

// scontrolData prints what build makes as scontrol show --json or --yaml
// at now (the controller's clock; 0: the local clock). ok is false, and
// nothing printed, when neither option was given.
func scontrolData(inv *invocation, now int64, build func(slurmdata.Options) (any, error)) (ok bool, err error) {
	format, err := dataFormat(inv.opts)
	if err != nil || format == "" {
		return err != nil, err
	}
	if now == 0 {
		now = inv.env.Now().Unix()
	}
	v, err := build(dataOptions(inv, now, format))
	if err != nil {
		return true, err
	}
	return true, writeData(inv, format, v)
}
